//! The address-space view (`A`): the whole layout of the process as a picture. One bar per
//! VMA, its height (1 to 3 rows) and length on a log scale of its size, the part resident
//! (smaps Rss) filled solid; gaps between VMAs as dim rows with their size; each kind of VMA
//! in its own colour and named in words (so it reads in monochrome too); the selected VMA
//! marked with `▶` and drawn reversed. Enter explores it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::model::{Model, Overlay};
use crate::sys::proc::process::{VmaKind, VmaSummary};
use crate::text::{human, sanitize};

use super::theme::{Role, Theme};

/// Columns of the longest bar.
const BAR: u64 = 16;

/// The colour of a kind (its word says it too).
pub fn kind_role(kind: VmaKind) -> Role {
    match kind {
        VmaKind::Ours => Role::OurMapping,
        VmaKind::Heap => Role::Dirty,
        VmaKind::Stack => Role::Cow,
        VmaKind::Kernel => Role::Unreadable,
        VmaKind::Library => Role::Present,
        VmaKind::Program => Role::Resident,
        VmaKind::File => Role::Normal,
        VmaKind::Anonymous => Role::Padding,
        VmaKind::Guard => Role::Dim,
    }
}

/// Rows of a VMA's bar: one, two from 1 MiB, three from 1 GiB.
pub fn bar_rows(size: u64) -> usize {
    1 + usize::from(size >= 1 << 20) + usize::from(size >= 1 << 30)
}

/// Columns of a VMA's bar: log-scaled (in pages) against the largest VMA, at least one.
pub fn bar_len(size: u64, largest: u64) -> u64 {
    let scale = |n: u64| f64::from(65 - (n / 4096).leading_zeros());
    let len = (BAR as f64 * scale(size) / scale(largest.max(size))).ceil();
    // In range: `scale(size) <= scale(largest)`, so `len` lies in 0..=BAR.
    (len as u64).clamp(1, BAR)
}

/// The bar's text: solid for the resident part, shaded for the rest, padded to `BAR`.
fn bar_text(v: &VmaSummary, largest: u64) -> String {
    let size = v.line.end - v.line.start;
    let len = bar_len(size, largest);
    let solid = match v.rss {
        Some(rss) if size > 0 => {
            ((u128::from(len) * u128::from(rss.min(size))).div_ceil(u128::from(size))) as u64
        }
        _ => 0,
    };
    let fill = if v.kind == VmaKind::Guard {
        '·'
    } else {
        '░'
    };
    let mut s: String = (0..len)
        .map(|i| if i < solid { '█' } else { fill })
        .collect();
    s.extend((len..BAR).map(|_| ' '));
    s
}

/// One VMA's rows; `wide`: room for the whole range and the Rss.
fn vma_rows(
    v: &VmaSummary,
    largest: u64,
    selected: bool,
    wide: bool,
    theme: Theme,
) -> Vec<Line<'static>> {
    let size = v.line.end - v.line.start;
    let role = kind_role(v.kind);
    let bar = bar_text(v, largest);
    let rss = v
        .rss
        .map_or_else(|| "rss ?".to_string(), |r| format!("rss {}", human(r)));
    // Files by their name (the maps panel has the whole path); `[heap]` and friends as is.
    let name = match v.line.path.as_str() {
        "" => "[anonymous]".to_string(),
        p if p.starts_with('/') => sanitize(p.rsplit('/').next().unwrap_or(p)),
        p => sanitize(p),
    };
    let label = if wide {
        format!(
            " {:012x}-{:012x} {} {:>9} {:>13} {:<7} {name}",
            v.line.start,
            v.line.end,
            v.line.perms,
            human(size),
            rss,
            v.kind.word()
        )
    } else {
        format!(
            " {:012x} {} {:>9} {:<7} {name}",
            v.line.start,
            v.line.perms,
            human(size),
            v.kind.word()
        )
    };
    let mut label_style = theme.style(Role::Normal);
    if selected {
        label_style = label_style.patch(theme.style(Role::Cursor));
    }
    let mark = if selected { "▶" } else { " " };
    let mut rows = vec![Line::from(vec![
        Span::styled(mark, theme.style(Role::Focused)),
        Span::styled(bar.clone(), theme.style(role)),
        Span::styled(label, label_style),
    ])];
    for _ in 1..bar_rows(size) {
        rows.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(bar.clone(), theme.style(role)),
        ]));
    }
    rows
}

/// The rows of the picture for the VMAs whose indices are in `window`, with the VMA index
/// each row belongs to (`None`: a gap).
pub fn rows(
    model: &Model,
    selected: usize,
    wide: bool,
    theme: Theme,
    window: std::ops::Range<usize>,
) -> Vec<(Line<'static>, Option<usize>)> {
    let largest = model
        .space
        .vmas
        .iter()
        .map(|v| v.line.end - v.line.start)
        .max()
        .unwrap_or(1);
    let mut out = Vec::new();
    let mut prev_end: Option<u64> = None;
    for (i, v) in model
        .space
        .vmas
        .iter()
        .enumerate()
        .take(window.end)
        .skip(window.start)
    {
        if let Some(end) = prev_end
            && v.line.start > end
        {
            out.push((
                Line::styled(
                    format!(
                        " {:>w$}  ┆ gap of {} (nothing mapped)",
                        "",
                        human(v.line.start - end),
                        w = BAR as usize
                    ),
                    theme.style(Role::Dim),
                ),
                None,
            ));
        }
        prev_end = Some(v.line.end);
        for line in vma_rows(v, largest, i == selected, wide, theme) {
            out.push((line, Some(i)));
        }
    }
    out
}

/// The legend: each kind in its colour.
fn legend(theme: Theme, wide: bool) -> Line<'static> {
    let mut spans = vec![Span::styled(" kinds: ", theme.style(Role::Dim))];
    for k in [
        VmaKind::Ours,
        VmaKind::Program,
        VmaKind::Heap,
        VmaKind::Anonymous,
        VmaKind::Library,
        VmaKind::File,
        VmaKind::Stack,
        VmaKind::Kernel,
        VmaKind::Guard,
    ] {
        spans.push(Span::styled(
            format!("█ {}", k.word()),
            theme.style(kind_role(k)),
        ));
        spans.push(Span::raw("  "));
    }
    if wide {
        spans.push(Span::styled(
            "█ resident (Rss)  ░ mapped",
            theme.style(Role::Dim),
        ));
    }
    Line::from(spans)
}

/// Draws the view over `area`.
pub fn render(model: &Model, frame: &mut Frame, area: Rect, theme: Theme, selected: usize) {
    let box_area = box_of(area);
    frame.render_widget(Clear, box_area);
    let title = if model.space.title.is_empty() {
        " address space (reading /proc/PID/maps and smaps...) ".to_string()
    } else {
        format!(
            " address space · {}{} ",
            sanitize(&model.space.title),
            super::side_panel::age_note(
                model.log.now_ms.saturating_sub(model.space.read_ms),
                model.settings.refresh_ms,
                "smaps "
            )
        )
    };
    let block = Block::bordered()
        .title(Span::styled(title, theme.style(Role::Title)))
        .title_bottom(Span::styled(
            " ↑↓ PgUp PgDn select · Enter explore · Esc close · bar: log size, █ resident ",
            theme.style(Role::Dim),
        ));
    frame.render_widget(block, box_area);
    let Some((legend_area, body, shown)) = placed(model, area, theme, selected) else {
        return;
    };
    let wide = legend_area.width >= 100;
    frame.render_widget(Paragraph::new(legend(theme, wide)), legend_area);
    let lines: Vec<Line> = shown.into_iter().map(|(l, _)| l).collect();
    frame.render_widget(Paragraph::new(lines), body);
}

/// A row of the view, with the index of its VMA (`None`: a gap).
type Row = (Line<'static>, Option<usize>);

/// The view's box on a screen of `area`: a column and a row in from each edge.
fn box_of(area: Rect) -> Rect {
    area.centered(
        Constraint::Length(area.width.saturating_sub(2).max(1)),
        Constraint::Length(area.height.saturating_sub(2).max(1)),
    )
}

/// Where the view goes on a screen of `area`: its legend line, its body, and the rows shown
/// in the body from its top, each with the index of its VMA (`None`: a gap). `None` when the
/// box has no room for them. `render` draws these rows and a click is placed on them.
fn placed(
    model: &Model,
    area: Rect,
    theme: Theme,
    selected: usize,
) -> Option<(Rect, Rect, Vec<Row>)> {
    let inner = Block::bordered().inner(box_of(area));
    if inner.height < 2 {
        return None;
    }
    let [legend_area, body] =
        ratatui::layout::Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let wide = inner.width >= 100;
    // Only the VMAs that can reach the screen: a process of 30,000 VMAs drew every one at each
    // refresh (10% of a core); each VMA is at least one row, so `height` of them on either
    // side of the selection cover the rows shown.
    let height = usize::from(body.height);
    let window = selected.saturating_sub(height)..selected.saturating_add(height + 1);
    let all = rows(model, selected, wide, theme, window);
    let sel_row = all
        .iter()
        .position(|(_, i)| *i == Some(selected))
        .unwrap_or(0);
    let first = sel_row
        .saturating_sub(height / 2)
        .min(all.len().saturating_sub(height));
    let shown = all.into_iter().skip(first).take(height).collect();
    Some((legend_area, body, shown))
}

/// The index of the VMA whose row is drawn at `at` on the whole screen, if the view is open.
pub fn vma_at(model: &Model, at: ratatui::layout::Position) -> Option<usize> {
    let Overlay::Space { selected } = model.screen.overlay else {
        return None;
    };
    let (w, h) = model.screen.size;
    let theme = Theme {
        color: false,
        high_contrast: false,
    };
    let (_, body, shown) = placed(model, Rect::new(0, 0, w, h), theme, selected)?;
    if !body.contains(at) {
        return None;
    }
    shown.get(usize::from(at.y - body.y))?.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_grow_with_the_log_of_the_size() {
        assert_eq!(bar_rows(4096), 1);
        assert_eq!(bar_rows(2 << 20), 2);
        assert_eq!(bar_rows(4 << 30), 3);
        let big = 1u64 << 40;
        assert_eq!(bar_len(big, big), BAR);
        assert!(bar_len(4096, big) < bar_len(1 << 30, big));
        assert!(bar_len(4096, big) >= 1);
        assert_eq!(bar_len(0, big), 1, "never empty");
    }
}
