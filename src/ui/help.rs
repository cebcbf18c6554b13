//! The help overlay (`?`): every key the explorer answers to, and what each page state means.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::{Role, Theme};

/// The keys, as (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    ("arrows / h j k l", "move the cursor by a byte or a row"),
    ("PgUp / PgDn", "move by a screen"),
    ("Home / End", "start / end of the row"),
    ("g / G", "start / end of the mapping"),
    ("[ / ]", "previous / next page"),
    (":", "go to an offset (0x1f00, 7936) or a page (p 3)"),
    ("v", "offsets column: file offset <-> virtual address"),
    (
        "Tab",
        "focus the grid or the side panel (the panel scrolls)",
    ),
    ("r", "refresh now"),
    ("?", "this help (any key closes it)"),
    ("q / Ctrl-c", "quit"),
];

/// The page states, as (word on screen, meaning and source).
pub const STATES: &[(&str, &str)] = &[
    ("resident  R", "in the page cache (mincore)"),
    ("present   P", "in our page tables (pagemap bit 63)"),
    ("-r / -p", "not resident / not present"),
    ("cow       C", "our private copy-on-write copy (pagemap)"),
    ("padding", "after EOF in the last page: zeros, never saved"),
    ("beyond EOF ~~", "no file data: would SIGBUS; never read"),
    ("??", "could not be copied (protection, truncation)"),
];

/// Draws the overlay centred in `area`.
pub fn render(frame: &mut Frame, area: Rect, theme: Theme) {
    let height = (KEYS.len() + STATES.len() + 5) as u16;
    let width = 86.min(area.width.saturating_sub(2));
    let popup = Rect::new(
        area.x + (area.width.saturating_sub(width)) / 2,
        area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height.min(area.height),
    );
    let mut lines = vec![Line::styled("Keys", theme.style(Role::Title))];
    for (keys, what) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {keys:<18}"), theme.style(Role::Key)),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::styled(
        "Page states (colour and word)",
        theme.style(Role::Title),
    ));
    for (word, what) in STATES {
        lines.push(Line::from(vec![
            Span::styled(format!("  {word:<18}"), theme.style(Role::Key)),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::styled(
        "any key closes this help",
        theme.style(Role::Dim),
    ));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" help ")),
        popup,
    );
}
