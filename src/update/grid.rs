//! The grid: cursor moves, `:` and its prompt (and the `/` prompt's text, which shares it),
//! quiet page selection for lessons and the page map.

use crate::action::{Command, GotoTarget, GridAction, Motion, PromptEdit};
use crate::model::{Model, Overlay, Travel};
use crate::search::query::{Pattern, Query, StateQuery};
use crate::text::echo;

use super::ask::ask_prompt;
use super::jumps::{self, here, moved_from, place_cursor};
use super::search::start_search;

/// Longest text the `:` prompt takes.
pub(super) const PROMPT_MAX: usize = 40;

/// Longest text the `/` prompt takes (a pattern of up to 64 bytes in spaced hex).
const FIND_MAX: usize = 200;

/// Routes a grid action.
pub(super) fn update(model: &mut Model, action: GridAction) -> Vec<Command> {
    match action {
        GridAction::Move(m) => move_cursor(model, m),
        GridAction::GotoPrompt => model.screen.overlay = Overlay::Goto(String::new()),
        GridAction::Prompt(edit) => return prompt(model, edit),
        GridAction::Goto(target) => return goto(model, target),
        GridAction::Count(digit) => super::copy::count(model, digit),
        GridAction::Copy => super::copy::copy(model),
        GridAction::Point(off) => {
            if off <= model.max_cursor() {
                model.doc.cursor = off;
                model.scroll_to_cursor();
            }
        }
        GridAction::JumpBack => return jumps::travel(model, Travel::Back),
        GridAction::JumpForward => return jumps::travel(model, Travel::Forward),
    }
    Vec::new()
}

/// Selects page `page` quietly (a lesson step's page, the page map's Enter): the cursor on
/// it, its header on top, no log.
pub(super) fn select_page(model: &mut Model, page: u64) {
    if page < model.pages() {
        model.doc.cursor = page * model.page_size();
        model.doc.top = page * model.lines_per_page();
        model.scroll_to_cursor();
    }
}

/// The mapping offset at the top of the grid, to keep in place when the row width changes.
pub(super) fn anchor(model: &Model) -> (u64, bool) {
    match model.line_content(model.doc.top) {
        (page, None) => (page * model.page_size(), true),
        (_, Some(off)) => (off, false),
    }
}

pub(super) fn restore_anchor(model: &mut Model, (off, header): (u64, bool)) {
    model.doc.top = model.line_of(off) - u64::from(header);
    model.scroll_to_cursor();
}

pub(super) fn move_cursor(model: &mut Model, motion: Motion) {
    if let Some(at) = super::typed::motion(model, motion) {
        model.doc.cursor = at;
        model.scroll_to_cursor();
        return;
    }
    let bpr = model.bytes_per_row();
    let ps = model.page_size();
    let max = model.max_cursor();
    let c = model.doc.cursor;
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
            model.doc.top = model.doc.top.saturating_sub(screen_rows);
            c.saturating_sub(screen_rows * bpr)
        }
        Motion::PageDown => {
            model.doc.top += screen_rows;
            (c + screen_rows * bpr).min(max)
        }
        Motion::RowStart => c - c % bpr,
        Motion::RowEnd => (c - c % bpr + bpr - 1).min(max),
        Motion::Top => {
            model.doc.top = 0;
            0
        }
        Motion::Bottom => max,
        Motion::PrevPage | Motion::NextPage => {
            let target = if motion == Motion::PrevPage {
                page.saturating_sub(1)
            } else {
                (page + 1).min(model.pages() - 1)
            };
            model.doc.top = target * model.lines_per_page();
            target * ps
        }
    };
    model.doc.cursor = new;
    model.scroll_to_cursor();
}

/// Parses the `:` prompt: an offset (`0x1f00`, `7936`, `4k`), a page (`p 3`, `page 3`), a
/// page state to find (`dirty`, `!resident`: see `StateQuery::parse`) or, after `@`, an
/// absolute address (`@0x7f12...`: never read as an offset, whatever the row labels show).
///
/// # Errors
/// A sentence saying what is accepted.
pub fn parse_goto(text: &str) -> Result<GotoTarget, String> {
    // `::dirty` (the key typed twice) means `:dirty`.
    let t = text.trim();
    let t = t.strip_prefix(':').unwrap_or(t).trim();
    if let Some(addr) = t.strip_prefix('@') {
        return crate::geometry::parse_size(addr.trim())
            .map(GotoTarget::Address)
            .map_err(|_| format!("'{}': an address is @ and a number (@0x7f..)", echo(t)));
    }
    if let Some(q) = StateQuery::parse(t) {
        return Ok(GotoTarget::State(q));
    }
    if let Some(filter) = super::mark::parse_filter(t) {
        return Ok(GotoTarget::Change(filter));
    }
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
        Some(rest) => crate::geometry::parse_size(rest)
            .map(GotoTarget::Page)
            .map_err(|_| format!("'{}': a page is 'p N' with N a number", echo(t))),
        None => crate::geometry::parse_size(t)
            .map(GotoTarget::Offset)
            .map_err(|_| {
                format!(
                    "'{}' is not a place: give an offset (0x1f00, 7936), an address (@0x7f..), \
                     a page (p 3), a state (dirty, cow, resident, present, exclusive, beyond; \
                     ! negates) or a change since the mark (changed, +dirty, -resident)",
                    echo(t)
                )
            }),
    }
}

fn prompt(model: &mut Model, edit: PromptEdit) -> Vec<Command> {
    if matches!(model.screen.overlay, Overlay::Ask { .. }) {
        return ask_prompt(model, edit);
    }
    let find = matches!(model.screen.overlay, Overlay::Find(_));
    let (Overlay::Goto(text) | Overlay::Find(text)) = &mut model.screen.overlay else {
        return Vec::new();
    };
    match edit {
        PromptEdit::Insert(c)
            if text.chars().count() < if find { FIND_MAX } else { PROMPT_MAX }
                && !c.is_control() =>
        {
            text.push(c);
        }
        PromptEdit::Insert(_) => {}
        PromptEdit::Backspace => {
            text.pop();
        }
        PromptEdit::Cancel => model.screen.overlay = Overlay::None,
        PromptEdit::Submit => {
            let text = std::mem::take(text);
            model.screen.overlay = Overlay::None;
            if text.trim().is_empty() {
                return Vec::new();
            }
            if find {
                let t = text.trim();
                return match Pattern::parse(t.strip_prefix('/').unwrap_or(t)) {
                    Ok(p) => start_search(model, Query::Bytes(p), true),
                    Err(msg) => {
                        model.log(format!("find: {msg}"));
                        Vec::new()
                    }
                };
            }
            if text.trim().trim_start_matches(':').trim() == "unmark" {
                return super::mark::update(model, crate::action::TimeAction::Unmark);
            }
            match parse_goto(&text) {
                Ok(target) => return goto(model, target),
                Err(msg) => model.log(format!("goto: {msg}")),
            }
        }
    }
    Vec::new()
}

/// `:` with a number: in the coordinates of the row labels, file offsets (from the mapping's
/// file offset on) or, after `v`, virtual addresses; `None` when it is not in the mapping.
fn goto_offset(model: &Model, label: u64) -> Option<u64> {
    label
        .checked_sub(model.label_base())
        .filter(|off| *off <= model.max_cursor())
}

pub(super) fn goto(model: &mut Model, target: GotoTarget) -> Vec<Command> {
    let ps = model.page_size();
    let pages = model.pages();
    let kind = if model.screen.show_vaddr {
        "address"
    } else {
        "offset"
    };
    let left = here(model);
    match target {
        GotoTarget::Offset(label) if let Some(off) = goto_offset(model, label) => {
            place_cursor(model, off);
            model.log(format!("goto {kind} 0x{label:x} (page {})", off / ps));
        }
        GotoTarget::Offset(label) => {
            let (what, other) = if model.screen.show_vaddr {
                ("virtual addresses", "file offsets")
            } else {
                ("file offsets", "addresses")
            };
            let first = model.label_base();
            let last = first.saturating_add(model.max_cursor());
            // Not a row label here: maybe an address elsewhere in the process.
            model.log(format!(
                "goto: {kind} 0x{label:x} is not in the mapping: its rows are {what} \
                 0x{first:x} to 0x{last:x} (v switches to {other}); looking for it as an \
                 address in the process"
            ));
            return jumps::away(model, label, left, Travel::Jump);
        }
        GotoTarget::Page(p) if p < pages => {
            model.doc.cursor = p * ps;
            model.doc.top = p * model.lines_per_page();
            model.scroll_to_cursor();
            model.log(format!("goto page {p}"));
        }
        GotoTarget::Page(p) => model.log(format!(
            "goto: page {p} does not exist; the mapping has pages 0 to {}",
            pages - 1
        )),
        GotoTarget::State(q) => return start_search(model, Query::State(q), true),
        GotoTarget::Address(addr) => return goto_address(model, addr, left),
        GotoTarget::Change(filter) => return super::mark::goto_change(model, filter, true),
    }
    moved_from(model, left);
    Vec::new()
}

/// An absolute address: inside the mapping shown it moves the cursor there; elsewhere the
/// session finds its VMA (and opens it there) or the gap it is in.
fn goto_address(model: &mut Model, addr: u64, left: crate::model::Place) -> Vec<Command> {
    let base = model.snap.shape.addr;
    match addr
        .checked_sub(base)
        .filter(|off| *off <= model.max_cursor())
    {
        Some(off) => {
            place_cursor(model, off);
            model.log(format!(
                "goto address 0x{addr:x} (page {})",
                off / model.page_size()
            ));
            moved_from(model, left);
            Vec::new()
        }
        None => {
            model.log(format!(
                "goto: address 0x{addr:x} is outside the mapping shown (0x{base:x} to 0x{:x}): \
                 finding its VMA",
                base.saturating_add(model.max_cursor())
            ));
            jumps::away(model, addr, left, Travel::Jump)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn byte_and_row_moves_stay_in_the_mapping() {
        let mut m = model(2, (80, 24));
        assert_eq!(m.bytes_per_row(), 8);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Left)));
        assert_eq!(m.doc.cursor, 0);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Up)));
        assert_eq!(m.doc.cursor, 0);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
        update(&mut m, Action::Grid(GridAction::Move(Motion::Down)));
        assert_eq!(m.doc.cursor, 9);
        update(&mut m, Action::Grid(GridAction::Move(Motion::RowEnd)));
        assert_eq!(m.doc.cursor, 15);
        update(&mut m, Action::Grid(GridAction::Move(Motion::RowStart)));
        assert_eq!(m.doc.cursor, 8);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Bottom)));
        assert_eq!(m.doc.cursor, 2 * PS - 1);
        assert!(cursor_visible(&m));
        update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
        update(&mut m, Action::Grid(GridAction::Move(Motion::Down)));
        assert_eq!(m.doc.cursor, 2 * PS - 1);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Top)));
        assert_eq!((m.doc.cursor, m.doc.top), (0, 0));
    }

    #[test]
    fn page_moves_put_the_page_header_on_top() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Grid(GridAction::Move(Motion::NextPage)));
        assert_eq!(m.doc.cursor, PS);
        assert_eq!(m.doc.top, m.lines_per_page());
        assert_eq!(m.line_content(m.doc.top), (1, None));
        update(&mut m, Action::Grid(GridAction::Move(Motion::NextPage)));
        update(&mut m, Action::Grid(GridAction::Move(Motion::NextPage)));
        update(&mut m, Action::Grid(GridAction::Move(Motion::NextPage)));
        assert_eq!(m.doc.cursor, 3 * PS, "stops at the last page");
        update(&mut m, Action::Grid(GridAction::Move(Motion::PrevPage)));
        assert_eq!(m.doc.cursor, 2 * PS);
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
            update(&mut m, Action::Grid(GridAction::Move(motion)));
            assert!(
                cursor_visible(&m),
                "{motion:?}: cursor {} top {}",
                m.doc.cursor,
                m.doc.top
            );
            assert!(
                m.doc.top + m.layout().grid_rows() <= m.total_lines().max(m.layout().grid_rows())
            );
        }
    }

    #[test]
    fn an_address_inside_the_mapping_moves_there_whatever_the_labels_show() {
        let mut m = model(3, (120, 40));
        let base = m.snap.shape.addr;
        assert!(!m.screen.show_vaddr);
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Address(base + 0x1234))),
        );
        assert_eq!(m.doc.cursor, 0x1234);
        assert!(cursor_visible(&m));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Address(base + 0x10_0000))),
        );
        assert_eq!(m.doc.cursor, 0x1234, "an address outside does not move");
        assert!(
            last_log(&m).contains("outside the mapping shown"),
            "{}",
            last_log(&m)
        );
    }

    #[test]
    fn goto_parses_offsets_and_pages() {
        assert_eq!(parse_goto("0x1f00"), Ok(GotoTarget::Offset(0x1f00)));
        assert_eq!(parse_goto("7936"), Ok(GotoTarget::Offset(7936)));
        assert_eq!(parse_goto("4k"), Ok(GotoTarget::Offset(4096)));
        assert_eq!(parse_goto("p 3"), Ok(GotoTarget::Page(3)));
        assert_eq!(parse_goto("p3"), Ok(GotoTarget::Page(3)));
        assert_eq!(parse_goto(" page 2 "), Ok(GotoTarget::Page(2)));
        assert_eq!(
            parse_goto(" !resident "),
            Ok(GotoTarget::State(StateQuery::parse("!resident").unwrap()))
        );
        assert_eq!(
            parse_goto("present"),
            Ok(GotoTarget::State(StateQuery::parse("present").unwrap())),
            "a state, not p + digits"
        );
        assert!(parse_goto("dirt").unwrap_err().contains("a state (dirty"));
        assert_eq!(parse_goto(":p 2"), Ok(GotoTarget::Page(2)));
        assert!(parse_goto("pear").is_err());
        assert!(parse_goto("p x").is_err());
        assert!(parse_goto("zz").is_err());
    }

    #[test]
    fn goto_prompt_round_trip() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Grid(GridAction::GotoPrompt));
        for c in "0x1f00".chars() {
            update(
                &mut m,
                Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))),
            );
        }
        assert_eq!(m.screen.overlay, Overlay::Goto("0x1f00".into()));
        update(&mut m, Action::Grid(GridAction::Prompt(PromptEdit::Submit)));
        assert_eq!(m.screen.overlay, Overlay::None);
        assert_eq!(m.doc.cursor, 0x1f00);
        assert!(cursor_visible(&m));

        update(&mut m, Action::Grid(GridAction::GotoPrompt));
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(PromptEdit::Insert('p'))),
        );
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(PromptEdit::Insert('9'))),
        );
        update(&mut m, Action::Grid(GridAction::Prompt(PromptEdit::Submit)));
        assert_eq!(
            m.doc.cursor, 0x1f00,
            "a page that does not exist leaves the cursor"
        );
        assert!(last_log(&m).contains("pages 0 to 3"));

        update(&mut m, Action::Grid(GridAction::GotoPrompt));
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(PromptEdit::Insert('x'))),
        );
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(PromptEdit::Backspace)),
        );
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(PromptEdit::Insert('\u{1b}'))),
        );
        assert_eq!(
            m.screen.overlay,
            Overlay::Goto(String::new()),
            "control characters are not taken"
        );
        update(&mut m, Action::Grid(GridAction::Prompt(PromptEdit::Cancel)));
        assert_eq!(m.screen.overlay, Overlay::None);

        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Offset(4 * PS))),
        );
        assert!(last_log(&m).contains("is not in the mapping"));
    }

    #[test]
    fn goto_takes_the_coordinates_of_the_row_labels() {
        let mut m = model(4, (120, 40));
        m.snap.shape.geometry.offset = 0x26000;
        update(&mut m, Action::Grid(GridAction::GotoPrompt));
        typed(&mut m, "0x26010");
        assert_eq!(m.doc.cursor, 0x10, "{:?}", m.log.lines.last());
        assert!(last_log(&m).starts_with("goto offset 0x26010"));
        update(&mut m, Action::Grid(GridAction::GotoPrompt));
        typed(&mut m, "0x10");
        assert_eq!(m.doc.cursor, 0x10);
        let said = last_log(&m);
        assert!(
            said.contains("0x10 is not in the mapping: its rows are file offsets 0x26000 to"),
            "{said}"
        );
        update(&mut m, Action::View(ViewAction::ToggleOffsets));
        update(&mut m, Action::Grid(GridAction::GotoPrompt));
        let addr = format!("0x{:x}", m.snap.shape.addr + 0x2001);
        typed(&mut m, &addr);
        assert_eq!(m.doc.cursor, 0x2001);
        assert!(last_log(&m).starts_with("goto address 0x"));
        update(&mut m, Action::Grid(GridAction::GotoPrompt));
        typed(&mut m, "0x26010");
        assert_eq!(m.doc.cursor, 0x2001, "a file offset is not an address");
        assert!(last_log(&m).contains("v switches to file offsets"));
    }

    #[test]
    fn a_log_line_is_escaped_and_cut_whatever_it_echoes() {
        let mut m = model(8, (120, 40));
        m.log(format!("say \x1b]0;title\x07{}", "x".repeat(100_000)));
        let last = last_log(&m);
        assert!(last.starts_with("say \\x1b]0;title\\x07xxx"), "{last}");
        assert_eq!(last.chars().count(), crate::text::LINE_MAX);
        assert!(last.ends_with('…'));
    }
}
