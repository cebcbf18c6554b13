//! The `--also` pane, beside the grid in the side panel's place: the second mapping of the
//! same file over the grid's rows, line for line. Each page header gives that page's states in
//! letters; each row gives its bytes (hex when there is room, else text), a byte that differs
//! from the grid's highlighted: a shared write shows through, a private copy diverges.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::model::Model;
use crate::sys::snapshot::Snapshot;
use crate::text::byte_char;

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
        flag(s.resident, "R", "r"),
        flag(s.present, "P", "-p"),
        flag(s.cow, "C", "-c"),
        flag(s.dirty, "D", "-d"),
    ]
    .join(" ")
}

/// Bytes of the row at `off` that differ between the grid's mapping and the second one.
pub fn differing(model: &Model, also: &Snapshot, off: u64) -> Vec<u64> {
    (off..off + model.bytes_per_row())
        .filter(|&at| match (model.snap.bytes.get(at), also.bytes.get(at)) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        })
        .collect()
}

fn row(model: &Model, also: &Snapshot, off: u64, width: u16, theme: Theme) -> Line<'static> {
    let bpr = model.bytes_per_row();
    let hex = u64::from(width) >= bpr * 4 + 2;
    let mut hex_spans = Vec::new();
    let mut text_spans = Vec::new();
    for at in off..off + bpr {
        let byte = also.bytes.get(at);
        let other = model.snap.bytes.get(at);
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

/// Draws the pane into `area`, its rows level with the grid's.
pub fn render(model: &Model, also: &Snapshot, frame: &mut Frame, area: Rect, theme: Theme) {
    let title = format!(" also: {} 0x{:x} · o ", also.mode.flag_name(), also.addr);
    let block = Block::bordered().title(Span::styled(title, theme.style(Role::Title)));
    let inner = block.inner(area);
    let h = u64::from(inner.height);
    let lines: Vec<Line> = (model.top..(model.top + h).min(model.total_lines()))
        .map(|line| match model.line_content(line) {
            (page, None) => Line::styled(
                format!(" page {page}: {}", letters(also, page)),
                theme.style(Role::Dim),
            ),
            (_, Some(off)) => row(model, also, off, inner.width, theme),
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
