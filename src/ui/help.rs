//! The help overlay (`?`): every key the explorer answers to (`keys`), and what each page state
//! means (`legend`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::{Role, Theme};

/// Columns of the keys' column (with the space before it).
const KEY_COLS: usize = 18;

/// Draws the overlay centred in `area`, scrolled down by `scroll` lines: as wide as its
/// longest line needs, up to the whole width; a description longer than that wraps under
/// itself, and a key wider than its column pushes its words to the next line.
pub fn render(frame: &mut Frame, area: Rect, theme: Theme, scroll: u16) {
    let mut rows: Vec<(&str, &str)> = crate::keys::help_lines();
    let split = rows.len();
    rows.extend(crate::legend::help_lines());
    let longest = rows
        .iter()
        .map(|(_, what)| KEY_COLS + what.chars().count())
        .max()
        .unwrap_or(0);
    let width = u16::try_from(longest + 2)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let text_w = usize::from(width.saturating_sub(2));
    let mut lines = Vec::new();
    for (i, (keys, what)) in rows.iter().enumerate() {
        if i == split {
            lines.push(Line::styled(
                "Page states: colour and word, or these letters",
                theme.style(Role::Title),
            ));
        }
        lines.extend(entry(keys, what, text_w, theme));
    }
    for (_, l) in crate::layout::wrap(
        " edited bytes: bold, underlined · changed by another process: reversed",
        text_w,
    ) {
        lines.push(Line::styled(l, theme.style(Role::Dim)));
    }
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let height = total.saturating_add(2).min(area.height);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    let max_scroll = total.saturating_add(2).saturating_sub(height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll.min(max_scroll), 0))
            .block(
                Block::bordered()
                    .title(Span::styled(" help: Keys ", theme.style(Role::Title)))
                    .title_bottom(Span::styled(
                        " ↑↓ scroll · any other key closes this help ",
                        theme.style(Role::Dim),
                    )),
            ),
        popup,
    );
}

/// One key's lines: the keys in their column, the words wrapped beside them (under the keys
/// when the keys are wider than their column, or the overlay too narrow for a column).
fn entry(keys: &str, what: &str, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let key = format!(" {keys}");
    let indent = if width >= KEY_COLS + 20 { KEY_COLS } else { 2 };
    let mut out = Vec::new();
    let words = crate::layout::wrap(what, width.saturating_sub(indent).max(1));
    let mut words = words.into_iter().map(|(_, l)| l);
    if key.chars().count() < indent {
        let first = words.next().unwrap_or_default();
        out.push(Line::from(vec![
            Span::styled(format!("{key:<indent$}"), theme.style(Role::Key)),
            Span::raw(first),
        ]));
    } else {
        out.push(Line::styled(key, theme.style(Role::Key)));
    }
    for w in words {
        out.push(Line::raw(format!("{:indent$}{w}", "")));
    }
    out
}
