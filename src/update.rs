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
