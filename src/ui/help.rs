//! The help overlay (`?`): every key the explorer answers to (`keys`), and what each page state
//! means (`legend`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::{Role, Theme};

/// Draws the overlay centred in `area`, scrolled down by `scroll` lines.
pub fn render(frame: &mut Frame, area: Rect, theme: Theme, scroll: u16) {
    let mut lines = Vec::new();
    for (keys, what) in crate::keys::help_lines() {
        lines.push(Line::from(vec![
            Span::styled(format!(" {keys:<17}"), theme.style(Role::Key)),
            Span::raw(what),
        ]));
    }
    lines.push(Line::styled(
        "Page states: colour and word, or these letters",
        theme.style(Role::Title),
    ));
    for (word, what) in crate::legend::help_lines() {
        lines.push(Line::from(vec![
            Span::styled(format!(" {word:<17}"), theme.style(Role::Key)),
            Span::raw(what),
        ]));
    }
    lines.push(Line::styled(
        " edited bytes: bold, underlined · changed by another process: reversed",
        theme.style(Role::Dim),
    ));
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 86.min(area.width);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    let max_scroll = (lines.len() as u16 + 2).saturating_sub(height);
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
