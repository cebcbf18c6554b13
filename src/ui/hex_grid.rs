//! The hex grid: a header line per page with its kernel states in words, then rows of offset,
//! hex bytes and text. Padding after end of file is dimmed and marked, pages beyond end of file
//! show `~~` (never read), bytes that could not be copied show `??`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::geometry::ByteKind;
use crate::model::{Focus, Model};
use crate::sys::snapshot::VisiblePage;
use crate::text::{byte_char, thousands};

use super::theme::{Role, Theme};

/// Draws the grid block into `area`.
pub fn render(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    let bpr = model.bytes_per_row();
    let cursor_page = model.cursor / model.page_size();
    let title = format!(
        " hex · {bpr} B/row · cursor 0x{:x} (page {cursor_page}) ",
        model.cursor
    );
    let title_role = if model.focus == Focus::Grid {
        Role::Focused
    } else {
        Role::Title
    };
    let block = Block::bordered().title(Span::styled(title, theme.style(title_role)));
    let inner = block.inner(area);
    let h = u64::from(inner.height);
    let lines: Vec<Line> = (model.top..(model.top + h).min(model.total_lines()))
        .map(|line| match model.line_content(line) {
            (page, None) => page_header(model, page, inner.width, theme),
            (_, Some(off)) => row(model, off, theme),
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The words for a page's states, each with its style: what the header line says.
pub fn state_words(model: &Model, page: u64) -> Vec<(String, Role)> {
    let geom = model.snap.geometry.page(page);
    if geom.beyond_eof {
        return vec![(
            "beyond EOF: touching it would raise SIGBUS, so it is never read".into(),
            Role::BeyondEof,
        )];
    }
    let mut words = Vec::new();
    match model.snap.page(page) {
        None => words.push(("not probed".into(), Role::Dim)),
        Some(VisiblePage { state, .. }) => {
            words.push(match state.resident {
                Some(true) => ("resident".into(), Role::Resident),
                Some(false) => ("not resident".into(), Role::NotResident),
                None => ("resident n/a".into(), Role::Dim),
            });
            words.push(match state.present {
                Some(true) => ("present".into(), Role::Present),
                Some(false) => ("not present".into(), Role::NotResident),
                None => ("present n/a".into(), Role::Dim),
            });
            if state.cow == Some(true) {
                words.push(("cow (private copy)".into(), Role::Cow));
            }
            if state.swapped == Some(true) {
                words.push(("swapped".into(), Role::Warning));
            }
        }
    }
    if !model.snap.prot.read {
        words.push(("no read access (PROT_NONE): not read".into(), Role::Warning));
    }
    if geom.padding_bytes > 0 {
        words.push((
            format!(
                "{} B data + {} B padding",
                thousands(geom.valid_bytes),
                thousands(geom.padding_bytes)
            ),
            Role::Padding,
        ));
    }
    words
}

fn page_header(model: &Model, page: u64, width: u16, theme: Theme) -> Line<'static> {
    let ps = model.page_size();
    let place = if model.show_vaddr {
        format!("addr 0x{:x}", model.snap.addr + page * ps)
    } else {
        format!("offset 0x{:x}", model.snap.geometry.offset + page * ps)
    };
    let mut spans = vec![Span::styled(
        format!("page {page} · {place}"),
        theme.style(Role::Title),
    )];
    for (word, role) in state_words(model, page) {
        spans.push(Span::styled(" · ", theme.style(Role::Dim)));
        spans.push(Span::styled(word, theme.style(role)));
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let fill = usize::from(width).saturating_sub(used + 1);
    if fill > 0 {
        spans.push(Span::styled(
            format!(" {}", "─".repeat(fill)),
            theme.style(Role::Dim),
        ));
    }
    Line::from(spans)
}

fn row(model: &Model, off: u64, theme: Theme) -> Line<'static> {
    let bpr = model.bytes_per_row();
    let digits = usize::from(model.offset_digits());
    let shown = if model.show_vaddr {
        model.snap.addr + off
    } else {
        model.snap.geometry.offset + off
    };
    let mut spans = vec![Span::styled(
        format!("{shown:0digits$x}  "),
        theme.style(Role::Dim),
    )];
    let mut text = Vec::with_capacity(bpr as usize);
    for i in 0..bpr {
        let at = off + i;
        let kind = model.snap.geometry.byte_kind(at);
        let (hex, ch, role) = match (kind, model.snap.bytes.get(at)) {
            (ByteKind::BeyondEof, _) => ("~~".to_string(), ' ', Role::BeyondEof),
            (_, None) => ("??".to_string(), ' ', Role::Unreadable),
            (ByteKind::Padding, Some(b)) => (format!("{b:02x}"), byte_char(b), Role::Padding),
            (ByteKind::Data, Some(b)) => (format!("{b:02x}"), byte_char(b), Role::Normal),
        };
        let style = if at == model.cursor {
            theme.style(role).patch(theme.style(Role::Cursor))
        } else {
            theme.style(role)
        };
        spans.push(Span::styled(hex, style));
        spans.push(Span::raw(if i % 8 == 7 && i + 1 < bpr {
            "  "
        } else {
            " "
        }));
        text.push(Span::styled(ch.to_string(), style));
    }
    spans.push(Span::raw(" "));
    spans.extend(text);
    Line::from(spans)
}
