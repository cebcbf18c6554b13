//! The help overlay (`?`): every key the explorer answers to (`keys`), and what each page state
//! means (`legend`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::{Role, Theme};

/// Draws the overlay centred in `area`, scrolled down by `scroll` lines, as
/// `help::help_text` lays it out.
pub fn render(frame: &mut Frame, area: Rect, theme: Theme, scroll: u16) {
    use crate::help_text::HelpLine;
    let (width, text) = crate::help_text::help_text(area.width);
    let lines: Vec<Line> = text
        .into_iter()
        .map(|l| match l {
            HelpLine::Key(key, words) => Line::from(vec![
                Span::styled(key, theme.style(Role::Key)),
                Span::raw(words),
            ]),
            HelpLine::Words(w) => Line::raw(w),
            HelpLine::Heading(h) => Line::styled(h, theme.style(Role::Title)),
            HelpLine::Note(n) => Line::styled(n, theme.style(Role::Dim)),
        })
        .collect();
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let height = total.saturating_add(2).min(area.height);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((
                scroll.min(crate::help_text::help_max_scroll(area.width, area.height)),
                0,
            ))
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
