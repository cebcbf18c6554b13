//! The `--also` pane, beside the grid in the side panel's place: the second mapping of the
//! same file over the grid's rows, line for line. Each page header gives that page's states in
//! letters; each row gives its bytes (hex when there is room, else text), a byte that differs
//! from the grid's highlighted: a shared write shows through, a private copy diverges. Below,
//! the smaps counters of both mappings side by side (Pss halves, Private_Dirty and Anonymous
//! grow on the private side when it copies a page).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::model::Model;
use crate::sys::probe::snapshot::Snapshot;
use crate::sys::proc::maps::SmapsField;
use crate::text::{byte_char, kb};

use super::theme::{Role, Theme};

/// The states of page `page` of `also` in letters: `R`/`r` resident, `P` present, `C` a
/// private copy, `D` dirty (`?` where no source answered).
pub fn letters(also: &Snapshot, page: u64) -> String {
    let Some(p) = also.page(page) else {
        return "?".into();
    };
    let s = p.state;
    let flag = |v: Option<bool>, yes: &str, no: &str| match v {
        Some(true) => yes.to_string(),
        Some(false) => no.to_string(),
        None => "?".to_string(),
    };
    [
        flag(s.place.resident, "R", "r"),
        flag(s.place.present, "P", "-p"),
        flag(s.place.cow, "C", "-c"),
        flag(s.writes.dirty, "D", "-d"),
    ]
    .join(" ")
}

/// Bytes of the row at `off` that differ between the grid's mapping and the second one.
pub fn differing(model: &Model, also: &Snapshot, off: u64) -> Vec<u64> {
    (off..off + model.bytes_per_row())
        .filter(
            |&at| match (model.snap.probed.bytes.get(at), also.probed.bytes.get(at)) {
                (Some(a), Some(b)) => a != b,
                _ => false,
            },
        )
        .collect()
}

fn row(model: &Model, also: &Snapshot, off: u64, width: u16, theme: Theme) -> Line<'static> {
    let bpr = model.bytes_per_row();
    let hex = u64::from(width) >= bpr * 4 + 2;
    let mut hex_spans = Vec::new();
    let mut text_spans = Vec::new();
    for at in off..off + bpr {
        let byte = also.probed.bytes.get(at);
        let other = model.snap.probed.bytes.get(at);
        let role = match (byte, other) {
            (Some(a), Some(b)) if a != b => Role::Cow,
            (None, _) => Role::Unreadable,
            _ => Role::Normal,
        };
        let style = theme.style(role);
        let (h, c) = byte.map_or(("??".to_string(), ' '), |b| {
            (format!("{b:02x}"), byte_char(b))
        });
        hex_spans.push(Span::styled(h, style));
        hex_spans.push(Span::raw(" "));
        text_spans.push(Span::styled(c.to_string(), style));
    }
    let mut spans = vec![Span::raw(" ")];
    if hex {
        spans.extend(hex_spans);
    }
    spans.extend(text_spans);
    let n = differing(model, also, off).len();
    if n > 0 {
        spans.push(Span::styled(format!(" ≠{n}"), theme.style(Role::Cow)));
    }
    Line::from(spans)
}

/// The counters compared below the rows, grid's mapping beside the second one.
const COMPARED: [SmapsField; 8] = [
    SmapsField::Rss,
    SmapsField::Pss,
    SmapsField::SharedClean,
    SmapsField::SharedDirty,
    SmapsField::PrivateClean,
    SmapsField::PrivateDirty,
    SmapsField::Anonymous,
    SmapsField::Locked,
];

/// Rows of the smaps block: its borders, a heading and the counters.
const SMAPS_ROWS: u16 = 2 + 1 + COMPARED.len() as u16;

/// The smaps counters of both mappings, side by side: one block each, in two columns.
fn smaps_lines(model: &Model, also: &Snapshot, theme: Theme) -> Vec<Line<'static>> {
    let mode = |s: &Snapshot| match s.shape.mode {
        crate::sys::MapMode::Shared => "shared",
        crate::sys::MapMode::Private => "private",
    };
    let mut lines = vec![Line::styled(
        format!(
            "{:<14}{:>10}{:>10}",
            "",
            format!("grid {}", mode(&model.snap)),
            mode(also)
        ),
        theme.style(Role::Title),
    )];
    for field in COMPARED {
        let value = |s: &Snapshot| {
            s.readings
                .vma
                .as_ref()
                .map_or_else(|| "?".into(), |v| kb(field.of(v)))
        };
        let (a, b) = (value(&model.snap), value(also));
        let role = if a == b { Role::Normal } else { Role::Cow };
        lines.push(Line::from(vec![
            Span::raw(format!("{:<14}", field.name())),
            Span::raw(format!("{a:>10}")),
            Span::styled(format!("{b:>10}"), theme.style(role)),
        ]));
    }
    lines
}

/// Draws the pane into `area`: the second mapping's rows level with the grid's (the cursor's
/// row pinned at the bottom when the grid shows it lower down), the smaps of both below.
pub fn render(model: &Model, also: &Snapshot, frame: &mut Frame, area: Rect, theme: Theme) {
    let smaps_h = if area.height >= SMAPS_ROWS + 6 {
        SMAPS_ROWS
    } else {
        0
    };
    let [rows_area, smaps_area] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Min(3),
        ratatui::layout::Constraint::Length(smaps_h),
    ])
    .areas(area);
    let title = format!(
        " also: {} 0x{:x} · o ",
        also.shape.mode.flag_name(),
        also.shape.addr
    );
    let block = Block::bordered().title(Span::styled(title, theme.style(Role::Title)));
    let inner = block.inner(rows_area);
    let h = u64::from(inner.height);
    let line_of = |line: u64| match model.line_content(line) {
        (page, None) => Line::styled(
            format!(" page {page}: {}", letters(also, page)),
            theme.style(Role::Dim),
        ),
        (_, Some(off)) => row(model, also, off, inner.width, theme),
    };
    let end = (model.doc.top + h).min(model.total_lines());
    let mut lines: Vec<Line> = (model.doc.top..end).map(line_of).collect();
    let cursor_line = model.line_of(model.doc.cursor);
    if cursor_line >= end && h >= 2 {
        lines.truncate(usize::try_from(h - 1).unwrap_or(0));
        let mut pinned = line_of(cursor_line);
        pinned.spans.insert(
            0,
            Span::styled(
                format!("@{:x}", model.doc.cursor),
                theme.style(Role::Focused),
            ),
        );
        lines.push(pinned);
    }
    frame.render_widget(Paragraph::new(lines).block(block), rows_area);
    if smaps_h > 0 {
        let block = Block::bordered().title(Span::styled(" smaps ", theme.style(Role::Title)));
        frame.render_widget(
            Paragraph::new(smaps_lines(model, also, theme)).block(block),
            smaps_area,
        );
    }
}
