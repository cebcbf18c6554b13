//! How the mapping is looked at: offsets or addresses, the explain pane, focus, the scrolls of
//! the side panel, the log and help, closing an overlay (or the search running), a refresh, and
//! the terminal's size.

use crate::action::{Command, ViewAction};
use crate::model::{Focus, Model, Overlay};

use super::grid::{anchor, restore_anchor};

/// Routes a view action.
pub(super) fn update(model: &mut Model, action: ViewAction) -> Vec<Command> {
    match action {
        ViewAction::ToggleOffsets => {
            let anchor = anchor(model);
            model.screen.show_vaddr = !model.screen.show_vaddr;
            restore_anchor(model, anchor);
            model.log(if model.screen.show_vaddr {
                "offsets column: virtual addresses (v: file offsets)"
            } else {
                "offsets column: file offsets (v: virtual addresses)"
            });
        }
        ViewAction::ToggleExplain => model.screen.explain = !model.screen.explain,
        ViewAction::ToggleFocus => {
            model.screen.focus = match model.screen.focus {
                Focus::Grid => Focus::Panel,
                Focus::Panel => Focus::Log,
                Focus::Log => Focus::Grid,
            };
            model.screen.log_scroll = 0;
        }
        ViewAction::ScrollLog(delta) => {
            let max = i64::try_from(model.log.lines.len().saturating_sub(1)).unwrap_or(0);
            let next = (i64::from(model.screen.log_scroll) + i64::from(delta)).clamp(0, max);
            model.screen.log_scroll = u16::try_from(next).unwrap_or(u16::MAX);
        }
        ViewAction::ScrollPanel(delta) => scroll_panel(model, delta),
        ViewAction::ToggleHelp => {
            model.screen.help_scroll = 0;
            model.screen.overlay = if model.screen.overlay == Overlay::Help {
                Overlay::None
            } else {
                Overlay::Help
            };
        }
        ViewAction::ScrollHelp(delta) => {
            // Up to the overlay's last line, so ↑ answers at once after PgDn at the end.
            let (cols, rows) = model.screen.size;
            let max = crate::help_text::help_max_scroll(cols, rows);
            let next =
                (i64::from(model.screen.help_scroll) + i64::from(delta)).clamp(0, i64::from(max));
            model.screen.help_scroll = u16::try_from(next).unwrap_or(0);
        }
        // Esc with nothing open stops the search running, if any.
        ViewAction::CloseOverlay
            if model.screen.overlay == Overlay::None && model.search.running.is_some() =>
        {
            return super::search::cancel(model);
        }
        ViewAction::CloseOverlay => model.screen.overlay = Overlay::None,
        // The session probes after every action; saying so is all there is to do.
        ViewAction::Refresh => {
            model.seen.minimap.changed_all();
            model.log("refresh: probed the visible pages and re-read /proc/self/maps and smaps");
        }
    }
    Vec::new()
}

fn scroll_panel(model: &mut Model, delta: i32) {
    let lines = model.snap.readings.maps.as_ref().map_or(0, |m| m.len());
    let max = u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX);
    let now = i64::from(model.screen.panel_scroll);
    let next = now
        .saturating_add(i64::from(delta))
        .clamp(0, i64::from(max));
    model.screen.panel_scroll = u16::try_from(next).unwrap_or(max);
}

/// The terminal's new size: the row at the top stays.
pub(super) fn resize(model: &mut Model, cols: u16, rows: u16) {
    let anchor = anchor(model);
    model.screen.size = (cols, rows);
    restore_anchor(model, anchor);
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn resize_keeps_the_top_row_and_the_cursor() {
        let mut m = model(4, (120, 40));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Offset(0x2345))),
        );
        let (_, top_off) = m.line_content(m.doc.top);
        update(&mut m, Event::Resize(80, 24));
        assert_eq!(m.bytes_per_row(), 8);
        assert!(cursor_visible(&m));
        let (_, new_top) = m.line_content(m.doc.top);
        assert!(new_top.unwrap() <= 0x2345 && top_off.unwrap() <= 0x2345);
        update(&mut m, Event::Resize(200, 60));
        assert_eq!(m.bytes_per_row(), 32);
        assert!(cursor_visible(&m));
    }

    #[test]
    fn toggles_focus_help_offsets_scroll_refresh_quit() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::View(ViewAction::ToggleFocus));
        assert_eq!(m.screen.focus, Focus::Panel);
        update(&mut m, Action::View(ViewAction::ToggleFocus));
        assert_eq!(m.screen.focus, Focus::Log);
        assert!(m.layout().log.height > 1, "the focused log grows");
        update(&mut m, Action::View(ViewAction::ToggleFocus));
        assert_eq!(m.screen.focus, Focus::Grid);
        update(&mut m, Action::View(ViewAction::ToggleHelp));
        assert_eq!(m.screen.overlay, Overlay::Help);
        update(&mut m, Action::View(ViewAction::CloseOverlay));
        assert_eq!(m.screen.overlay, Overlay::None);
        update(&mut m, Action::View(ViewAction::ToggleOffsets));
        assert!(m.screen.show_vaddr);
        update(&mut m, Action::View(ViewAction::ToggleExplain));
        assert!(m.screen.explain);
        assert_eq!(m.offset_digits(), 12);
        update(&mut m, Action::View(ViewAction::ScrollPanel(5)));
        assert_eq!(m.screen.panel_scroll, 0, "nothing to scroll");
        assert!(update(&mut m, Action::View(ViewAction::Refresh)).is_empty());
        assert!(last_log(&m).starts_with("refresh"));
        update(&mut m, Action::Ask(AskAction::Quit));
        assert!(m.screen.quit);
    }

    #[test]
    fn help_scrolls_no_further_than_its_last_line() {
        let mut m = model(4, (80, 24));
        update(&mut m, Action::View(ViewAction::ToggleHelp));
        let max = crate::help_text::help_max_scroll(80, 24);
        assert!(max > 0, "the help is longer than 24 rows at 80 columns");
        for _ in 0..50 {
            update(&mut m, Action::View(ViewAction::ScrollHelp(20)));
        }
        assert_eq!(m.screen.help_scroll, max);
        update(&mut m, Action::View(ViewAction::ScrollHelp(-1)));
        assert_eq!(
            m.screen.help_scroll,
            max - 1,
            "one ↑ after PgDn at the end moves at once"
        );
    }
}
