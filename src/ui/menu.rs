//! The menus of system calls (`S` msync, `p` mprotect, `a` madvise/fadvise) and the yes/no
//! question asked before something loses the user's edits.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::action::{MenuChoice, MenuKind, menu_items};

use super::theme::{Role, Theme};

/// A `width` x `height` box in the middle of `area` (no larger than it).
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    )
}

/// Draws the menu `kind` with line `selected` highlighted; `all` says the scope of scoped calls,
/// `page` the page under the cursor.
pub fn render_menu(
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    (kind, selected, all, page): (MenuKind, usize, bool, u64),
) {
    let title = match kind {
        MenuKind::Msync => " msync ",
        MenuKind::Protect => " mprotect ",
        MenuKind::Advise => " madvise / fadvise ",
        MenuKind::Child => " the child (fork) ",
        MenuKind::Lock => " mlock ",
        MenuKind::Malloc => " malloc ",
        MenuKind::Snippet => " machine code at the cursor ",
    };
    let items = menu_items(kind);
    let mut lines: Vec<Line> = items
        .iter()
        .enumerate()
        .map(|(i, (label, choice))| {
            let scope = if matches!(choice, MenuChoice::Advise(_)) && !choice.scoped() {
                // Huge-page advice is about 2 MiB ranges: always the whole mapping.
                " · all pages".to_string()
            } else if !choice.scoped() {
                String::new()
            } else if all {
                " · all pages".to_string()
            } else {
                format!(" · page {page}")
            };
            let text = format!(" {}  {label}{scope} ", i + 1);
            if i == selected {
                Line::styled(text, theme.style(Role::Cursor))
            } else {
                Line::raw(text)
            }
        })
        .collect();
    if items.iter().any(|(_, c)| c.scoped()) {
        lines.push(Line::styled(
            " Tab: this page <-> all pages",
            theme.style(Role::Dim),
        ));
    }
    if kind == MenuKind::Snippet {
        lines.push(Line::styled(
            " then p rx (PROT_EXEC) and x to call it",
            theme.style(Role::Dim),
        ));
    }
    lines.push(Line::styled(
        " ↑↓ Enter or 1-9 · Esc cancels",
        theme.style(Role::Dim),
    ));
    let width = lines.iter().map(Line::width).max().unwrap_or(20) as u16 + 2;
    let popup = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(title, theme.style(Role::Title)))),
        popup,
    );
}

/// Draws a yes/no question.
pub fn render_confirm(
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    question: &str,
    default_yes: bool,
) {
    let width = 64.min(area.width);
    // Room for the question wrapped at the inner width (words make it a line or so longer).
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let lines = u16::try_from(question.chars().count().div_ceil(inner) + 1).unwrap_or(8);
    let popup = centered(area, width, (lines + 4).min(area.height));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(vec![
            Line::raw(question.to_string()),
            Line::raw(""),
            Line::from(vec![
                Span::styled(" y ", theme.style(Role::Key)),
                Span::raw("yes   "),
                Span::styled(" n ", theme.style(Role::Key)),
                Span::raw("no (Esc)   "),
                Span::styled(" Enter ", theme.style(Role::Key)),
                Span::raw(if default_yes { "yes" } else { "no" }),
            ]),
        ])
        .wrap(Wrap { trim: true })
        .block(Block::bordered().title(Span::styled(" confirm ", theme.style(Role::Warning)))),
        popup,
    );
}
