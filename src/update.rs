//! `update`: applies an `Action` to the `Model` and returns the side effects it needs. Pure: no
//! terminal, no kernel; the same code serves every key (and, later, every script line).

use crate::action::{Action, Command, GotoTarget, Motion, PromptEdit};
use crate::model::{Focus, Model, Overlay};

/// Longest text the `:` prompt takes.
const PROMPT_MAX: usize = 40;

/// Applies `action` to `model`.
pub fn update(model: &mut Model, action: Action) -> Vec<Command> {
    match action {
        Action::Move(m) => move_cursor(model, m),
        Action::GotoPrompt => model.overlay = Overlay::Goto(String::new()),
        Action::Prompt(edit) => return prompt(model, edit),
        Action::Goto(target) => goto(model, target),
        Action::ToggleOffsets => {
            let anchor = anchor(model);
            model.show_vaddr = !model.show_vaddr;
            restore_anchor(model, anchor);
            model.log(if model.show_vaddr {
                "offsets column: virtual addresses (v: file offsets)"
            } else {
                "offsets column: file offsets (v: virtual addresses)"
            });
        }
        Action::ToggleExplain => model.explain = !model.explain,
        Action::ToggleFocus => {
            model.focus = match model.focus {
                Focus::Grid => Focus::Panel,
                Focus::Panel => Focus::Grid,
            };
        }
        Action::ScrollPanel(delta) => {
            let lines = model.snap.maps.as_ref().map_or(0, Vec::len);
            let max = u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX);
            let now = i64::from(model.panel_scroll);
            let next = now
                .saturating_add(i64::from(delta))
                .clamp(0, i64::from(max));
            model.panel_scroll = u16::try_from(next).unwrap_or(max);
        }
        Action::ToggleHelp => {
            model.overlay = if model.overlay == Overlay::Help {
                Overlay::None
            } else {
                Overlay::Help
            };
        }
        Action::CloseOverlay => model.overlay = Overlay::None,
        Action::Refresh => {
            model.log("refresh: probed the visible pages and re-read /proc/self/maps and smaps");
            return vec![Command::Refresh];
        }
        Action::Quit => model.quit = true,
        Action::Resize(cols, rows) => {
            let anchor = anchor(model);
            model.size = (cols, rows);
            restore_anchor(model, anchor);
        }
    }
    Vec::new()
}

/// The mapping offset at the top of the grid, to keep in place when the row width changes.
fn anchor(model: &Model) -> (u64, bool) {
    match model.line_content(model.top) {
        (page, None) => (page * model.page_size(), true),
        (_, Some(off)) => (off, false),
    }
}

fn restore_anchor(model: &mut Model, (off, header): (u64, bool)) {
    model.top = model.line_of(off) - u64::from(header);
    model.scroll_to_cursor();
}

fn move_cursor(model: &mut Model, motion: Motion) {
    let bpr = model.bytes_per_row();
    let ps = model.page_size();
    let max = model.max_cursor();
    let c = model.cursor;
    let screen_rows = model.layout().grid_rows().saturating_sub(1).max(1);
    let page = c / ps;
    let new = match motion {
        Motion::Left => c.saturating_sub(1),
        Motion::Right => (c + 1).min(max),
        Motion::Up => c.checked_sub(bpr).unwrap_or(c),
        Motion::Down => {
            if c + bpr <= max {
                c + bpr
            } else {
                c
            }
        }
        Motion::PageUp => {
            model.top = model.top.saturating_sub(screen_rows);
            c.saturating_sub(screen_rows * bpr)
        }
        Motion::PageDown => {
            model.top += screen_rows;
            (c + screen_rows * bpr).min(max)
        }
        Motion::RowStart => c - c % bpr,
        Motion::RowEnd => (c - c % bpr + bpr - 1).min(max),
        Motion::Top => {
            model.top = 0;
            0
        }
        Motion::Bottom => max,
        Motion::PrevPage | Motion::NextPage => {
            let target = if motion == Motion::PrevPage {
                page.saturating_sub(1)
            } else {
                (page + 1).min(model.pages() - 1)
            };
            model.top = target * model.lines_per_page();
            target * ps
        }
    };
    model.cursor = new;
    model.scroll_to_cursor();
}

/// Parses the `:` prompt: an offset (`0x1f00`, `7936`, `4k`) or a page (`p 3`, `page 3`).
///
/// # Errors
/// A sentence saying what is accepted.
pub fn parse_goto(text: &str) -> Result<GotoTarget, String> {
    let t = text.trim();
    let page = t
        .strip_prefix("page")
        .or_else(|| t.strip_prefix('p'))
        .filter(|rest| {
            rest.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        });
    match page {
        Some(rest) => crate::cli::parse_size(rest)
            .map(GotoTarget::Page)
            .map_err(|_| format!("'{t}': a page is 'p N' with N a number")),
        None => crate::cli::parse_size(t)
            .map(GotoTarget::Offset)
            .map_err(|_| {
                format!("'{t}' is not a place: give an offset (0x1f00, 7936) or a page (p 3)")
            }),
    }
}

fn prompt(model: &mut Model, edit: PromptEdit) -> Vec<Command> {
    let Overlay::Goto(text) = &mut model.overlay else {
        return Vec::new();
    };
    match edit {
        PromptEdit::Insert(c) if text.chars().count() < PROMPT_MAX && !c.is_control() => {
            text.push(c);
        }
        PromptEdit::Insert(_) => {}
        PromptEdit::Backspace => {
            text.pop();
        }
        PromptEdit::Cancel => model.overlay = Overlay::None,
        PromptEdit::Submit => {
            let text = std::mem::take(text);
            model.overlay = Overlay::None;
            if text.trim().is_empty() {
                return Vec::new();
            }
            match parse_goto(&text) {
                Ok(target) => goto(model, target),
                Err(msg) => model.log(format!("goto: {}", crate::text::sanitize(&msg))),
            }
        }
    }
    Vec::new()
}

fn goto(model: &mut Model, target: GotoTarget) {
    let ps = model.page_size();
    let pages = model.pages();
    match target {
        GotoTarget::Offset(off) if off <= model.max_cursor() => {
            model.cursor = off;
            let h = model.layout().grid_rows();
            model.top = model.line_of(off).saturating_sub(h / 3);
            model.scroll_to_cursor();
            model.log(format!("goto offset 0x{off:x} (page {})", off / ps));
        }
        GotoTarget::Offset(off) => model.log(format!(
            "goto: offset 0x{off:x} is past the mapping, which ends at 0x{:x}",
            model.max_cursor() + 1
        )),
        GotoTarget::Page(p) if p < pages => {
            model.cursor = p * ps;
            model.top = p * model.lines_per_page();
            model.scroll_to_cursor();
            model.log(format!("goto page {p}"));
        }
        GotoTarget::Page(p) => model.log(format!(
            "goto: page {p} does not exist; the mapping has pages 0 to {}",
            pages - 1
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Geometry;
    use crate::sys::region::{MapMode, Prot};
    use crate::sys::snapshot::{Backing, Snapshot};

    const PS: u64 = 4096;

    fn model(pages: u64, size: (u16, u16)) -> Model {
        let geometry = Geometry {
            page_size: PS,
            offset: 0,
            len: pages * PS,
            file_size: None,
        };
        let snap = Snapshot::empty(
            Backing::Anon,
            MapMode::Shared,
            Prot::RW,
            0x7f00_0000_0000,
            geometry,
        );
        Model::new(snap, size)
    }

    fn cursor_visible(m: &Model) -> bool {
        let line = m.line_of(m.cursor);
        line >= m.top && line < m.top + m.layout().grid_rows()
    }

    #[test]
    fn byte_and_row_moves_stay_in_the_mapping() {
        let mut m = model(2, (80, 24));
        assert_eq!(m.bytes_per_row(), 8);
        update(&mut m, Action::Move(Motion::Left));
        assert_eq!(m.cursor, 0);
        update(&mut m, Action::Move(Motion::Up));
        assert_eq!(m.cursor, 0);
        update(&mut m, Action::Move(Motion::Right));
        update(&mut m, Action::Move(Motion::Down));
        assert_eq!(m.cursor, 9);
        update(&mut m, Action::Move(Motion::RowEnd));
        assert_eq!(m.cursor, 15);
        update(&mut m, Action::Move(Motion::RowStart));
        assert_eq!(m.cursor, 8);
        update(&mut m, Action::Move(Motion::Bottom));
        assert_eq!(m.cursor, 2 * PS - 1);
        assert!(cursor_visible(&m));
        update(&mut m, Action::Move(Motion::Right));
        update(&mut m, Action::Move(Motion::Down));
        assert_eq!(m.cursor, 2 * PS - 1);
        update(&mut m, Action::Move(Motion::Top));
        assert_eq!((m.cursor, m.top), (0, 0));
    }

    #[test]
    fn page_moves_put_the_page_header_on_top() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Move(Motion::NextPage));
        assert_eq!(m.cursor, PS);
        assert_eq!(m.top, m.lines_per_page());
        assert_eq!(m.line_content(m.top), (1, None));
        update(&mut m, Action::Move(Motion::NextPage));
        update(&mut m, Action::Move(Motion::NextPage));
        update(&mut m, Action::Move(Motion::NextPage));
        assert_eq!(m.cursor, 3 * PS, "stops at the last page");
        update(&mut m, Action::Move(Motion::PrevPage));
        assert_eq!(m.cursor, 2 * PS);
        assert!(cursor_visible(&m));
    }

    #[test]
    fn screen_moves_keep_the_cursor_visible() {
        let mut m = model(3, (120, 40));
        let motions = [
            Motion::PageDown,
            Motion::PageDown,
            Motion::Down,
            Motion::PageUp,
            Motion::NextPage,
            Motion::Up,
            Motion::Up,
            Motion::PageDown,
            Motion::Bottom,
            Motion::PageUp,
            Motion::PrevPage,
            Motion::Left,
        ];
        for motion in motions {
            update(&mut m, Action::Move(motion));
            assert!(
                cursor_visible(&m),
                "{motion:?}: cursor {} top {}",
                m.cursor,
                m.top
            );
            assert!(m.top + m.layout().grid_rows() <= m.total_lines().max(m.layout().grid_rows()));
        }
    }

    #[test]
    fn goto_parses_offsets_and_pages() {
        assert_eq!(parse_goto("0x1f00"), Ok(GotoTarget::Offset(0x1f00)));
        assert_eq!(parse_goto("7936"), Ok(GotoTarget::Offset(7936)));
        assert_eq!(parse_goto("4k"), Ok(GotoTarget::Offset(4096)));
        assert_eq!(parse_goto("p 3"), Ok(GotoTarget::Page(3)));
        assert_eq!(parse_goto("p3"), Ok(GotoTarget::Page(3)));
        assert_eq!(parse_goto(" page 2 "), Ok(GotoTarget::Page(2)));
        assert!(parse_goto("pear").is_err());
        assert!(parse_goto("p x").is_err());
        assert!(parse_goto("zz").is_err());
    }

    #[test]
    fn goto_prompt_round_trip() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::GotoPrompt);
        for c in "0x1f00".chars() {
            update(&mut m, Action::Prompt(PromptEdit::Insert(c)));
        }
        assert_eq!(m.overlay, Overlay::Goto("0x1f00".into()));
        update(&mut m, Action::Prompt(PromptEdit::Submit));
        assert_eq!(m.overlay, Overlay::None);
        assert_eq!(m.cursor, 0x1f00);
        assert!(cursor_visible(&m));

        update(&mut m, Action::GotoPrompt);
        update(&mut m, Action::Prompt(PromptEdit::Insert('p')));
        update(&mut m, Action::Prompt(PromptEdit::Insert('9')));
        update(&mut m, Action::Prompt(PromptEdit::Submit));
        assert_eq!(
            m.cursor, 0x1f00,
            "a page that does not exist leaves the cursor"
        );
        assert!(m.log.last().unwrap().text.contains("pages 0 to 3"));

        update(&mut m, Action::GotoPrompt);
        update(&mut m, Action::Prompt(PromptEdit::Insert('x')));
        update(&mut m, Action::Prompt(PromptEdit::Backspace));
        update(&mut m, Action::Prompt(PromptEdit::Insert('\u{1b}')));
        assert_eq!(
            m.overlay,
            Overlay::Goto(String::new()),
            "control characters are not taken"
        );
        update(&mut m, Action::Prompt(PromptEdit::Cancel));
        assert_eq!(m.overlay, Overlay::None);

        update(&mut m, Action::Goto(GotoTarget::Offset(4 * PS)));
        assert!(m.log.last().unwrap().text.contains("past the mapping"));
    }

    #[test]
    fn resize_keeps_the_top_row_and_the_cursor() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Goto(GotoTarget::Offset(0x2345)));
        let (_, top_off) = m.line_content(m.top);
        update(&mut m, Action::Resize(80, 24));
        assert_eq!(m.bytes_per_row(), 8);
        assert!(cursor_visible(&m));
        let (_, new_top) = m.line_content(m.top);
        assert!(new_top.unwrap() <= 0x2345 && top_off.unwrap() <= 0x2345);
        update(&mut m, Action::Resize(200, 60));
        assert_eq!(m.bytes_per_row(), 32);
        assert!(cursor_visible(&m));
    }

    #[test]
    fn toggles_focus_help_offsets_scroll_refresh_quit() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::ToggleFocus);
        assert_eq!(m.focus, Focus::Panel);
        update(&mut m, Action::ToggleFocus);
        assert_eq!(m.focus, Focus::Grid);
        update(&mut m, Action::ToggleHelp);
        assert_eq!(m.overlay, Overlay::Help);
        update(&mut m, Action::CloseOverlay);
        assert_eq!(m.overlay, Overlay::None);
        update(&mut m, Action::ToggleOffsets);
        assert!(m.show_vaddr);
        update(&mut m, Action::ToggleExplain);
        assert!(m.explain);
        assert_eq!(m.offset_digits(), 12);
        update(&mut m, Action::ScrollPanel(5));
        assert_eq!(m.panel_scroll, 0, "nothing to scroll");
        assert_eq!(update(&mut m, Action::Refresh), vec![Command::Refresh]);
        update(&mut m, Action::Quit);
        assert!(m.quit);
    }
}
