//! The address-space view (`A`): the whole layout of the process as a picture and as a table.
//! One row (or bar) per VMA: its bar (height 1 to 3 rows and length on a log scale of its
//! size, the part resident, smaps Rss, filled solid), its range, permissions and size, its
//! memory in columns (Rss, Pss, USS, shared, swap, huge pages), its kind in words (so it reads
//! in monochrome too) and its name; gaps between VMAs as dim rows with their size. Above them
//! the totals by kind and by backing (they add up to smaps_rollup's); the columns that do not
//! fit drop in `DROP_ORDER` (the name and Rss always stay). The selected VMA is marked with `▶`
//! and drawn reversed; Enter explores it. `o`/`O` sort, `/` filters or finds an address.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::model::time::{MarkVma, VmaChange, VmaChangeKind, compare_vma};
use crate::model::{Model, SpaceColumn, vma_name};
use crate::sys::proc::process::{VmaKind, VmaSummary};
use crate::text::{human, sanitize};

use super::theme::{Role, Theme};

/// Columns of the longest bar.
const BAR: u64 = 16;

/// The colour of a kind (its word says it too).
pub fn kind_role(kind: VmaKind) -> Role {
    match kind {
        VmaKind::Ours => Role::OurMapping,
        VmaKind::Heap | VmaKind::Arena => Role::Dirty,
        VmaKind::Stack | VmaKind::ThreadStack => Role::Cow,
        VmaKind::Kernel => Role::Unreadable,
        VmaKind::Library => Role::Present,
        VmaKind::Program => Role::Resident,
        VmaKind::File => Role::Normal,
        VmaKind::Anonymous => Role::AnonMemory,
        VmaKind::Shmem => Role::SharedMemory,
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

/// The bar's text: solid for the resident part (`▓` for anonymous memory, apart from the
/// heap in monochrome too), shaded for the rest, padded to `BAR`.
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
    let full = if v.kind == VmaKind::Anonymous {
        '▓'
    } else {
        '█'
    };
    let mut s: String = (0..len)
        .map(|i| if i < solid { full } else { fill })
        .collect();
    s.extend((len..BAR).map(|_| ' '));
    s
}

/// A column of the rows besides the name and Rss, which always stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Bar,
    Start,
    End,
    Perms,
    Size,
    Pss,
    Private,
    Shared,
    Swap,
    Huge,
    Kind,
}

/// The order the columns are dropped in when the view is too narrow for them all: the end
/// address first, the USS last; the name and Rss always stay.
pub const DROP_ORDER: [Col; 11] = [
    Col::End,
    Col::Huge,
    Col::Swap,
    Col::Shared,
    Col::Bar,
    Col::Size,
    Col::Perms,
    Col::Start,
    Col::Kind,
    Col::Pss,
    Col::Private,
];

/// Width of a figure column (a space and 5 characters: `1023K`, `9.9M`, `123G`).
const FIG: usize = 6;
/// The name keeps at least this many columns.
const NAME_MIN: usize = 20;

fn col_width(c: Col) -> usize {
    match c {
        Col::Bar => BAR as usize + 1,
        Col::Start => 13,
        Col::End => 13,
        Col::Perms => 5,
        Col::Kind => 8,
        Col::Size | Col::Pss | Col::Private | Col::Shared | Col::Swap | Col::Huge => FIG,
    }
}

/// The columns kept at `width` (the mark, Rss and the name always).
pub fn columns(width: usize) -> Vec<Col> {
    let mut kept: Vec<Col> = DROP_ORDER.to_vec();
    let used = |k: &[Col]| 1 + FIG + NAME_MIN + k.iter().map(|c| col_width(*c)).sum::<usize>();
    for c in DROP_ORDER {
        if used(&kept) <= width {
            break;
        }
        kept.retain(|k| *k != c);
    }
    kept
}

/// A size in at most 5 characters: `0`, `4K`, `132K`, `1.8M`, `15M`, `2.1G`.
pub fn short(bytes: u64) -> String {
    const UNITS: [char; 5] = ['K', 'M', 'G', 'T', 'P'];
    if bytes == 0 {
        return "0".into();
    }
    let mut unit = 0;
    let mut scale = 1024u64;
    while bytes >= scale * 1024 && unit + 1 < UNITS.len() {
        scale *= 1024;
        unit += 1;
    }
    let tenths = u128::from(bytes) * 10 / u128::from(scale);
    if tenths < 100 && unit > 0 {
        format!("{}.{}{}", tenths / 10, tenths % 10, UNITS[unit])
    } else {
        format!("{}{}", bytes.div_ceil(scale), UNITS[unit])
    }
}

/// The name a row shows: a thread's stack by its thread, an arena as inferred.
fn shown_name(v: &VmaSummary) -> String {
    match (&v.label, v.kind) {
        (Some(l), VmaKind::ThreadStack) => l.clone(),
        (Some(_), VmaKind::Arena) => "glibc arena (inferred)".to_string(),
        _ => vma_name(v),
    }
}

/// The cells of a row in display order: (column, text) for `kept`, with Rss in its place.
fn cells(v: &VmaSummary, kept: &[Col], largest: u64) -> String {
    let fig = |f: Option<u64>| format!("{:>5} ", f.map_or_else(|| "?".into(), short));
    let m = v.mem;
    let mut out = String::new();
    let has = |c: Col| kept.contains(&c);
    if has(Col::Bar) {
        out += &bar_text(v, largest);
        out.push(' ');
    }
    if has(Col::Start) {
        out += &format!("{:012x}", v.line.start);
        out.push(if has(Col::End) { '-' } else { ' ' });
    }
    if has(Col::End) {
        out += &format!("{:012x} ", v.line.end);
    }
    if has(Col::Perms) {
        out += &format!("{} ", v.line.perms);
    }
    if has(Col::Size) {
        out += &fig(Some(v.line.end - v.line.start));
    }
    out += &fig(v.rss);
    for (c, f) in [
        (Col::Pss, m.map(|m| m.pss)),
        (Col::Private, m.map(|m| m.private)),
        (Col::Shared, m.map(|m| m.shared)),
        (Col::Swap, m.map(|m| m.swap)),
        (Col::Huge, m.map(|m| m.huge)),
    ] {
        if has(c) {
            out += &fig(f);
        }
    }
    if has(Col::Kind) {
        out += &format!("{:<7} ", v.kind.word());
    }
    out += &shown_name(v);
    out
}

/// The header row: each column's title, the sorted one marked `▼` (largest first) or `▲`.
fn header(kept: &[Col], sort: SpaceColumn, reverse: bool) -> String {
    let down = sort.descending() != reverse;
    let mark = |c: SpaceColumn| {
        if c == sort {
            if down { "▼" } else { "▲" }
        } else {
            ""
        }
    };
    let title = |c: SpaceColumn, w: usize| format!("{:>w$} ", format!("{}{}", mark(c), c.title()));
    let has = |c: Col| kept.contains(&c);
    let mut out = String::from(" ");
    if has(Col::Bar) {
        out += &format!("{:<17}", "█ Rss ░ size");
    }
    if has(Col::Start) {
        let w = if has(Col::End) { 26 } else { 13 };
        out += &format!("{:<w$}", format!("{}address", mark(SpaceColumn::Address)));
    }
    if has(Col::Perms) {
        out += "perm ";
    }
    if has(Col::Size) {
        out += &title(SpaceColumn::Size, 5);
    }
    out += &title(SpaceColumn::Rss, 5);
    for (c, s) in [
        (Col::Pss, SpaceColumn::Pss),
        (Col::Private, SpaceColumn::Private),
        (Col::Shared, SpaceColumn::Shared),
        (Col::Swap, SpaceColumn::Swap),
        (Col::Huge, SpaceColumn::Huge),
    ] {
        if has(c) {
            out += &title(s, 5);
        }
    }
    if has(Col::Kind) {
        out += &format!("{:<8}", format!("{}kind", mark(SpaceColumn::Kind)));
    }
    out += &format!("{}name", mark(SpaceColumn::Name));
    out
}

/// One VMA's rows: the cells, and the rest of its bar below them when it has more rows.
fn vma_rows(
    v: &VmaSummary,
    (largest, selected): (u64, bool),
    kept: &[Col],
    (change, touched): (Option<&VmaChange>, Option<(u64, bool)>),
    theme: Theme,
) -> Vec<Line<'static>> {
    let size = v.line.end - v.line.start;
    let role = kind_role(v.kind);
    let text = cells(v, kept, largest);
    let bar_cols = if kept.contains(&Col::Bar) {
        BAR as usize
    } else {
        0
    };
    let (bar, label): (String, String) = {
        let mut chars = text.chars();
        let bar: String = chars.by_ref().take(bar_cols).collect();
        (bar, chars.collect())
    };
    let mut label_style = theme.style(Role::Normal);
    if selected {
        label_style = label_style.patch(theme.style(Role::Cursor));
    }
    let mark = if selected { "▶" } else { " " };
    // Without the bar, the kind's colour goes to the row's Rss figure.
    let spans = if bar_cols > 0 {
        vec![
            Span::styled(mark, theme.style(Role::Focused)),
            Span::styled(bar.clone(), theme.style(role)),
            Span::styled(label, label_style),
        ]
    } else {
        vec![
            Span::styled(mark, theme.style(Role::Focused)),
            Span::styled(label, label_style.patch(theme.style(role))),
        ]
    };
    let mut spans = spans;
    if let Some((words, role)) = change.and_then(change_words) {
        spans.push(Span::styled(words, theme.style(role)));
    }
    // `--track-access`: smaps Referenced since the mark cleared the accessed bits.
    // The VMA shown is read by us through /proc/PID/mem, and those reads set the accessed
    // bits too (measured: 2 pages read, Referenced +8 kB): its count includes them.
    if let Some((bytes, read_by_us)) = touched.filter(|t| t.0 > 0) {
        let ours = if read_by_us { "*" } else { "" };
        spans.push(Span::styled(
            format!("  touched {}{ours}", short(bytes)),
            theme.style(Role::Changed),
        ));
    }
    let mut rows = vec![Line::from(spans)];
    if bar_cols > 0 {
        for _ in 1..bar_rows(size) {
            rows.push(Line::from(vec![
                Span::raw(" "),
                Span::styled(bar.clone(), theme.style(role)),
            ]));
        }
    }
    rows
}

/// A byte delta with its sign: `+12 KiB`, `-4 KiB`.
fn signed(d: i64) -> String {
    let sign = if d < 0 { '-' } else { '+' };
    format!("{sign}{}", human(d.unsigned_abs()))
}

/// What a row says of its VMA since the mark: `new`, `grown`, `shrunk` (said first), and the
/// Rss and Swap deltas; `None` when nothing changed.
fn change_words(c: &VmaChange) -> Option<(String, Role)> {
    let mut words = Vec::new();
    let role = match c.kind {
        VmaChangeKind::New | VmaChangeKind::Grown => {
            words.push(c.kind.name().to_string());
            Role::Became
        }
        VmaChangeKind::Shrunk | VmaChangeKind::Gone => {
            words.push(c.kind.name().to_string());
            Role::Stopped
        }
        VmaChangeKind::Same => Role::Became,
    };
    let new = c.kind == VmaChangeKind::New;
    for (name, d) in [("Rss", c.rss), ("Swap", c.swap)] {
        if let Some(d) = d.filter(|d| *d != 0 && !new) {
            words.push(format!("{name} {}", signed(d)));
        }
    }
    let role = match (c.kind, c.rss) {
        (VmaChangeKind::Same, Some(d)) if d < 0 => Role::Stopped,
        _ => role,
    };
    (!words.is_empty()).then(|| (format!("  Δ {}", words.join(" ")), role))
}

/// The status line's summary of the VMAs since the mark: counts by change, Rss moved.
fn since_mark(model: &Model) -> Option<String> {
    let mark = model.time.mark.as_ref()?;
    if mark.vmas.is_none() {
        return Some(" since the mark: its VMAs could not be read".into());
    }
    let n = |k: VmaChangeKind| model.time.vmas.iter().filter(|c| c.kind == k).count();
    let rss: i64 = model.time.vmas.iter().filter_map(|c| c.rss).sum();
    let touched = if touched_since_mark(model) {
        let sum: u64 = model
            .space
            .vmas
            .iter()
            .filter_map(|v| v.mem)
            .map(|m| m.referenced)
            .sum();
        // The row of the VMA shown has a `*`: its count includes our reads of its pages.
        let star = model.space.vmas.iter().any(|v| {
            (v.line.start..v.line.end).contains(&model.snap.shape.addr)
                && v.mem.is_some_and(|m| m.referenced > 0)
        });
        let star = if star { " (*: with our reads)" } else { "" };
        format!(" touched {}{star} ·", human(sum))
    } else {
        String::new()
    };
    Some(format!(
        " since mark ({} ago):{touched} {} new, {} grown, {} shrunk, {} gone · Rss {}",
        mark.age(model.log.now_ms),
        n(VmaChangeKind::New),
        n(VmaChangeKind::Grown),
        n(VmaChangeKind::Shrunk),
        n(VmaChangeKind::Gone),
        signed(rss)
    ))
}

/// Whether `--track-access` cleared the accessed bits at the mark: smaps `Referenced` then
/// counts what the process touched since.
fn touched_since_mark(model: &Model) -> bool {
    model.time.mark.is_some()
        && model
            .time
            .access
            .as_ref()
            .is_some_and(|a| a.cleared.is_ok())
}

/// The rows of the view for the VMAs shown at positions `window` of the view's order, with
/// the VMA index each row belongs to (`None`: a gap). Gaps show in address order only.
pub fn rows(
    model: &Model,
    selected: usize,
    width: usize,
    theme: Theme,
    window: std::ops::Range<usize>,
) -> Vec<(Line<'static>, Option<usize>)> {
    let space = &model.space;
    let largest = space
        .vmas
        .iter()
        .map(|v| v.line.end - v.line.start)
        .max()
        .unwrap_or(1);
    let kept = columns(width);
    let v = &space.view;
    let gaps = v.sort == SpaceColumn::Address && !v.reverse && v.order.len() == space.vmas.len();
    let gap_indent = if kept.contains(&Col::Bar) {
        BAR as usize
    } else {
        0
    };
    let mut out = Vec::new();
    let mut prev_end: Option<u64> = None;
    for &i in v.order.iter().take(window.end).skip(window.start) {
        let Some(vma) = space.vmas.get(i) else {
            continue;
        };
        if let Some(end) = prev_end
            && gaps
            && vma.line.start > end
        {
            out.push((
                Line::styled(
                    format!(
                        " {:>w$}  ┆ gap of {} (nothing mapped)",
                        "",
                        human(vma.line.start - end),
                        w = gap_indent
                    ),
                    theme.style(Role::Dim),
                ),
                None,
            ));
        }
        prev_end = Some(vma.line.end);
        let change = model
            .time
            .mark
            .as_ref()
            .and_then(|m| m.vmas.as_deref())
            .map(|then| compare_vma(then, &MarkVma::of(vma)));
        let shown = (vma.line.start..vma.line.end).contains(&model.snap.shape.addr);
        let touched = touched_since_mark(model)
            .then(|| vma.mem.map(|m| (m.referenced, shown)))
            .flatten();
        let since = (change.as_ref(), touched);
        for line in vma_rows(vma, (largest, i == selected), &kept, since, theme) {
            out.push((line, Some(i)));
        }
    }
    out
}

/// The legend: each kind in its colour.
fn legend(theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(" kinds: ", theme.style(Role::Dim))];
    for k in VmaKind::ALL {
        spans.push(Span::styled(
            format!("█ {}", k.word()),
            theme.style(kind_role(k)),
        ));
        spans.push(Span::raw("  "));
    }
    Line::from(spans)
}

/// Words joined with ` · ` as long as they fit `width`, `…` when some do not.
fn fitted(parts: &[String], width: usize) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { " · " };
        if out.chars().count() + sep.len() + p.chars().count() + 2 > width {
            out.push_str(" …");
            break;
        }
        out.push_str(sep);
        out.push_str(p);
    }
    out
}

/// The two totals lines: Rss by kind; Rss by backing, then Pss, USS, shared, swap, huge.
fn totals_lines(model: &Model, width: usize, theme: Theme) -> [Line<'static>; 2] {
    let t = &model.space.totals;
    if t.counted == 0 {
        return [
            Line::styled(" totals: smaps not read yet", theme.style(Role::Dim)),
            Line::default(),
        ];
    }
    // The largest first: what fits a narrow line is what matters most.
    let mut named: Vec<(&str, u64)> = t
        .by_kind
        .named()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    named.sort_by_key(|b| std::cmp::Reverse(b.1));
    let mut kinds = vec![format!("Rss {}", short(t.rss))];
    kinds.extend(
        named
            .iter()
            .map(|(name, n)| format!("{name} {}", short(*n))),
    );
    let b = &t.by_backing;
    let backing = vec![
        format!("file-backed {}", short(b.file)),
        format!("anonymous {}", short(b.anon)),
        format!("shmem {}", short(b.shmem)),
        format!("Pss {}", short(t.pss)),
        format!("USS {}", short(t.private)),
        format!("shared {}", short(t.shared)),
        format!("swap {}", short(t.swap)),
        format!("huge {}", short(t.anon_huge)),
    ];
    [
        Line::styled(
            format!(" {}", fitted(&kinds, width.saturating_sub(1))),
            theme.style(Role::Title),
        ),
        Line::styled(
            format!(" {}", fitted(&backing, width.saturating_sub(1))),
            theme.style(Role::Normal),
        ),
    ]
}

/// The status line: the filter being typed or kept (and how many VMAs it keeps), what an
/// address is in, or what the reading could not find.
fn status_line(model: &Model, theme: Theme) -> Line<'static> {
    let v = &model.space.view;
    let all = model.space.vmas.len();
    let text = if v.typing || !v.filter.is_empty() {
        let caret = if v.typing { "█" } else { "" };
        let what = v.said.clone().unwrap_or_else(|| {
            format!(
                "{} of {} VMAs",
                crate::text::thousands(v.order.len() as u64),
                crate::text::thousands(all as u64)
            )
        });
        format!(" /{}{caret}  {what}", sanitize(&v.filter))
    } else if let Some(since) = since_mark(model) {
        return Line::styled(since, theme.style(Role::Became));
    } else if let Some(note) = &model.space.note {
        format!(" {}", sanitize(note))
    } else {
        format!(
            " sorted by {}{}",
            v.sort.title(),
            if v.reverse { ", reversed" } else { "" }
        )
    };
    Line::styled(text, theme.style(Role::Dim))
}

/// The view's places on a screen of `area`: its box, and inside it the legend, the two
/// totals lines, the column names, the VMAs' rows and the status line. `None` when the box
/// has no room for them. `render` draws there, and a click is placed there.
struct Places {
    box_area: Rect,
    inner: Rect,
    legend: Rect,
    totals: Rect,
    header: Rect,
    body: Rect,
    status: Rect,
}

fn places(area: Rect) -> Places {
    let box_area = area.centered(
        Constraint::Length(area.width.saturating_sub(2).max(1)),
        Constraint::Length(area.height.saturating_sub(2).max(1)),
    );
    let inner = Block::bordered().inner(box_area);
    let [legend, totals, header, body, status] = ratatui::layout::Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    Places {
        box_area,
        inner,
        legend,
        totals,
        header,
        body,
        status,
    }
}

/// The rows drawn in `body` from its top, each with the index of its VMA (`None`: a gap):
/// the selection about the middle.
fn shown_rows(
    model: &Model,
    body: Rect,
    theme: Theme,
    selected: usize,
) -> Vec<(Line<'static>, Option<usize>)> {
    // Only the VMAs that can reach the screen: a process of 30,000 VMAs drew every one at each
    // refresh (10% of a core); each VMA is at least one row, so `height` of them on either
    // side of the selection cover the rows shown.
    let height = usize::from(body.height);
    let at = model
        .space
        .view
        .order
        .iter()
        .position(|i| *i == selected)
        .unwrap_or(0);
    let window = at.saturating_sub(height)..at.saturating_add(height + 1);
    let all = rows(model, selected, usize::from(body.width), theme, window);
    let sel_row = all
        .iter()
        .position(|(_, i)| *i == Some(selected))
        .unwrap_or(0);
    let first = sel_row
        .saturating_sub(height / 2)
        .min(all.len().saturating_sub(height));
    all.into_iter().skip(first).take(height).collect()
}

/// The index of the VMA whose row is drawn at `at` on the whole screen, if the view is open.
pub fn vma_at(model: &Model, at: ratatui::layout::Position) -> Option<usize> {
    let crate::model::Overlay::Space { selected } = model.screen.overlay else {
        return None;
    };
    let (w, h) = model.screen.size;
    let p = places(Rect::new(0, 0, w, h));
    if p.inner.height < 6 || !p.body.contains(at) {
        return None;
    }
    // Rows are placed alike in any theme.
    let theme = Theme {
        color: false,
        high_contrast: false,
    };
    shown_rows(model, p.body, theme, selected)
        .get(usize::from(at.y - p.body.y))?
        .1
}

/// Draws the view over `area`.
pub fn render(model: &Model, frame: &mut Frame, area: Rect, theme: Theme, selected: usize) {
    let p = places(area);
    frame.render_widget(Clear, p.box_area);
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
            " ↑↓ select · Enter explore · o O sort · / filter or 0xADDR · Esc close ",
            theme.style(Role::Dim),
        ));
    frame.render_widget(block, p.box_area);
    if p.inner.height < 6 {
        return;
    }
    let width = usize::from(p.inner.width);
    frame.render_widget(Paragraph::new(legend(theme)), p.legend);
    frame.render_widget(
        Paragraph::new(totals_lines(model, width, theme).to_vec()),
        p.totals,
    );
    let kept = columns(width);
    let v = &model.space.view;
    frame.render_widget(
        Paragraph::new(Line::styled(
            header(&kept, v.sort, v.reverse),
            theme.style(Role::Dim),
        )),
        p.header,
    );
    frame.render_widget(Paragraph::new(status_line(model, theme)), p.status);
    let lines: Vec<Line> = shown_rows(model, p.body, theme, selected)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    frame.render_widget(Paragraph::new(lines), p.body);
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

    #[test]
    fn short_sizes_fit_five_characters() {
        for (n, want) in [
            (0, "0"),
            (4096, "4K"),
            (135_168, "132K"),
            (1_887_437, "1.8M"),
            (15 << 20, "15M"),
            (1023 << 20, "1023M"),
            (2_684_354_560, "2.5G"),
        ] {
            assert_eq!(short(n), want, "{n}");
        }
        assert!((0..64).all(|b| short(1u64 << b).len() <= 5));
    }

    #[test]
    fn columns_drop_in_order_and_the_name_and_rss_stay() {
        let wide = columns(200);
        assert_eq!(wide.len(), DROP_ORDER.len());
        let narrow = columns(76);
        assert!(!narrow.contains(&Col::End) && !narrow.contains(&Col::Huge));
        assert!(narrow.contains(&Col::Pss) && narrow.contains(&Col::Private));
        assert!(columns(10).is_empty(), "only the mark, Rss and the name");
        // Each narrower width keeps a subset of the wider one's columns.
        for w in 10..200 {
            let (a, b) = (columns(w), columns(w + 1));
            assert!(a.iter().all(|c| b.contains(c)), "{w}");
        }
    }
}
