//! Draws the process picker: a title with how many processes the filter keeps, why the picker
//! opened, the column names, the list (pid, user, RSS, command line; the selection marked `▶`
//! and highlighted), the filter as typed, and the keys. Pure: the list comes from the model.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::keys::{KeyContext, hints};
use crate::model::Picker;
use crate::text::{echo_within, human};

use super::theme::{Role, Theme};

/// Draws the picker over the whole frame.
pub fn render(p: &Picker, frame: &mut Frame, theme: Theme) {
    let area = frame.area();
    let width = usize::from(area.width);
    let shown = p.shown();
    let order = if p.by_pid { "by pid" } else { "by RSS" };
    let mut lines = vec![Line::from(vec![
        Span::styled(" mmapscope ", theme.style(Role::Title)),
        Span::raw(format!(
            " pick a process: {} of {} shown, {order}",
            shown.len(),
            p.all.len()
        )),
    ])];
    lines.push(match &p.note {
        Some(n) => Line::styled(format!(" {}", echo_within(n, width.saturating_sub(2))), {
            theme.style(Role::Warning)
        }),
        None => Line::raw(""),
    });
    lines.push(Line::styled(
        format!(" {:>8}  {:<10} {:>10}  COMMAND", "PID", "USER", "RSS"),
        theme.style(Role::Dim),
    ));
    // The list starts at `LIST_TOP`, where a click finds it (`Picker::row_at`).
    debug_assert_eq!(lines.len(), usize::from(crate::model::LIST_TOP));
    let first = p.first_row();
    for (i, n) in shown.iter().enumerate().skip(first).take(p.list_rows()) {
        let selected = i == p.selected;
        let room = width.saturating_sub(35).max(8);
        let text = format!(
            "{:>8}  {:<10} {:>10}  {}",
            n.pid,
            echo_within(&n.user, 10),
            human(n.rss),
            echo_within(&n.cmdline, room)
        );
        let mut style = theme.style(Role::Normal);
        if selected {
            style = style.patch(theme.style(Role::Cursor));
        }
        lines.push(Line::from(vec![
            Span::styled(if selected { "▶" } else { " " }, theme.style(Role::Focused)),
            Span::styled(text, style),
        ]));
    }
    if shown.is_empty() {
        lines.push(Line::styled(
            "   no process matches the filter (Backspace widens it)",
            theme.style(Role::Dim),
        ));
    }
    let rows = usize::from(area.height);
    let body = Rect::new(area.x, area.y, area.width, area.height.saturating_sub(2));
    lines.truncate(rows.saturating_sub(2));
    frame.render_widget(Paragraph::new(lines), body);
    if area.height >= 2 {
        let filter = Line::from(vec![
            Span::styled(" filter: ", theme.style(Role::Key)),
            Span::raw(echo_within(&p.filter, width.saturating_sub(11))),
            Span::styled("▏", theme.style(Role::Cursor)),
        ]);
        let at = area.y + area.height;
        frame.render_widget(
            Paragraph::new(filter),
            Rect::new(area.x, at - 2, area.width, 1),
        );
        frame.render_widget(
            Paragraph::new(key_line(width, theme)),
            Rect::new(area.x, at - 1, area.width, 1),
        );
    }
}

/// The picker's keys, from the key table, as many as fit.
fn key_line(width: usize, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (k, what) in hints(KeyContext::Picker) {
        let w = k.chars().count() + 1 + what.chars().count() + 2;
        if used + w > width {
            break;
        }
        spans.push(Span::styled(k, theme.style(Role::Key)));
        spans.push(Span::raw(format!(" {what}  ")));
        used += w;
    }
    Line::from(spans)
}

/// A mouse event in the picker: the wheel moves the selection, a click selects a process, a
/// click on the one selected attaches to it.
pub fn mouse(
    p: &Picker,
    ev: ratatui::crossterm::event::MouseEvent,
) -> Option<crate::action::Action> {
    use crate::action::{Action, PickerAction};
    use ratatui::crossterm::event::{MouseButton, MouseEventKind};
    let a = match ev.kind {
        MouseEventKind::ScrollDown => PickerAction::Move(3),
        MouseEventKind::ScrollUp => PickerAction::Move(-3),
        MouseEventKind::Down(MouseButton::Left) => {
            let i = p.row_at(ev.row)?;
            if i == p.selected {
                PickerAction::Choose
            } else {
                PickerAction::Move(i as i64 - p.selected as i64)
            }
        }
        _ => return None,
    };
    Some(Action::Picker(a))
}
