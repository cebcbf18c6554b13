//! The help overlay (`?`): every key the explorer answers to, and what each page state means.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::{Role, Theme};

/// The page states, as (word on screen, meaning and source).
pub const STATES: &[(&str, &str)] = &[
    ("R / -r", "resident or not: in the page cache (mincore)"),
    ("P / -p", "present or not: in our page tables (pagemap)"),
    ("D / -d", "dirty or clean in the page cache (cachestat)"),
    ("C", "cow: our private copy-on-write copy (pagemap)"),
    ("fN", "the page's folio holds N pages (kpageflags)"),
    ("K / -k", "shared with the forked child or not (pagemap)"),
    ("H", "part of a PMD-mapped huge page (PAGEMAP_SCAN)"),
    ("mN", "N page tables map the page (kpagecount, root)"),
    ("padding", "after EOF in the last page: zeros, never saved"),
    ("~~ beyond EOF", "no file data: would SIGBUS; never read"),
    ("??", "could not be copied (protection, truncation)"),
    (
        "minimap",
        "~ C D P R per cell, · cold, ? unknown, blank: not probed yet",
    ),
];

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
    for (word, what) in STATES {
        lines.push(Line::from(vec![
            Span::styled(format!(" {word:<17}"), theme.style(Role::Key)),
            Span::raw(*what),
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
