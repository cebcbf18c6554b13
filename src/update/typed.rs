//! Typed views: switching the view (`T`, `view WORD`), the byte order (`E`), the inspector
//! (`I`), the cursor's moves where a row is not bytes (an instruction in the code view, a
//! printable run in the strings view, an element in a typed one), and `i`/Enter: follow the
//! pointer or jump under the cursor (as `goto ADDR`: the same path as `:`), open a string in
//! the bytes view, or else edit, which always edits bytes (a typed view switches to bytes
//! first, so every write takes the one edit path and its write gate).

use crate::action::{Command, GotoTarget, GridAction, Motion, TypedAction};
use crate::model::{Model, ViewKind};

/// Routes a typed-view action.
pub(super) fn update(model: &mut Model, action: TypedAction) -> Vec<Command> {
    match action {
        TypedAction::Cycle => set(model, model.screen.typed.kind.next()),
        TypedAction::Set(kind) => set(model, kind),
        TypedAction::SwapOrder => {
            model.screen.typed.swapped = !model.screen.typed.swapped;
            let order = model.screen.typed;
            model.log(format!(
                "values read {} ({}; E switches back)",
                if order.big_endian() {
                    "big-endian"
                } else {
                    "little-endian"
                },
                if order.swapped {
                    "not this machine's order"
                } else {
                    "this machine's order"
                }
            ));
        }
        TypedAction::ToggleInspector => {
            let t = &mut model.screen.typed;
            t.inspector = !t.inspector;
            let now = t.shows_inspector();
            model.log(if now {
                "inspector: the value under the cursor in every type"
            } else {
                "inspector: off in the bytes view (typed views always show it)"
            });
        }
    }
    Vec::new()
}

fn set(model: &mut Model, kind: ViewKind) {
    model.screen.typed.kind = kind;
    let size = kind.size();
    let c = model.doc.cursor;
    match model.screen.typed.unaligned {
        Some((exact, aligned)) if aligned == c && size == 1 => {
            model.doc.cursor = exact;
            model.screen.typed.unaligned = None;
        }
        Some((exact, aligned)) if aligned == c => {
            model.doc.cursor = c - c % size;
            model.screen.typed.unaligned = Some((exact, model.doc.cursor));
        }
        _ if !c.is_multiple_of(size) => {
            model.doc.cursor = c - c % size;
            model.screen.typed.unaligned = Some((c, model.doc.cursor));
        }
        _ => model.screen.typed.unaligned = None,
    }
    model.scroll_to_cursor();
    let how = match kind {
        ViewKind::Bytes => "hex bytes and text".to_string(),
        ViewKind::Text => "each byte as a character or its escape (\\n, \\0, hex)".to_string(),
        ViewKind::Strings => format!(
            "printable runs of {} or more bytes in the page under the cursor; Enter shows one",
            crate::model::MIN_RUN
        ),
        ViewKind::Code => crate::model::values::unsupported().unwrap_or_else(|| {
            "x86_64 instructions from the cursor; ↓ next, ↑ back a byte, Enter follows a jump"
                .to_string()
        }),
        _ => format!(
            "{}-byte elements, {}; E: the other byte order; Enter on a → pointer follows it",
            size,
            if model.screen.typed.big_endian() {
                "big-endian"
            } else {
                "little-endian"
            }
        ),
    };
    model.log(format!("view {}: {how}", kind.word()));
}

/// `i` / Enter in a typed view: follow the pointer or jump under the cursor, or show the
/// string in the bytes view; `None` when there is none of these (edit mode then starts).
pub(super) fn enter(model: &mut Model) -> Option<Vec<Command>> {
    let c = model.doc.cursor;
    let (addr, words) = match model.screen.typed.kind {
        ViewKind::Bytes => return None,
        ViewKind::Strings => {
            set(model, ViewKind::Bytes);
            return Some(Vec::new());
        }
        ViewKind::Code => model.code_rows(1).first().and_then(|i| {
            let what = if i.target.is_some() {
                "the jump"
            } else {
                "the memory operand"
            };
            let at = model.label_base() + c;
            i.goes_to()
                .map(|t| (t, format!("followed {what} at 0x{at:x} to 0x{t:x}")))
        })?,
        _ => model.pointer_at(c).map(|t| {
            (
                t.addr,
                format!("followed the pointer 0x{:x} {}", t.addr, t.label()),
            )
        })?,
    };
    model.log(words);
    Some(super::grid::update(
        model,
        GridAction::Goto(GotoTarget::Address(addr)),
    ))
}

/// Edit mode edits bytes: a typed view says so and shows them first.
pub(super) fn bytes_for_edit(model: &mut Model) {
    if model.screen.typed.kind != ViewKind::Bytes {
        model.screen.typed.kind = ViewKind::Bytes;
        model.log("view bytes: edit mode writes bytes (T goes back to a typed view)");
    }
}

/// The cursor's move in a view whose rows are not bytes: `None` leaves it to the grid's.
pub(super) fn motion(model: &Model, motion: Motion) -> Option<u64> {
    let c = model.doc.cursor;
    let max = model.max_cursor();
    match model.screen.typed.kind {
        ViewKind::Code => code_motion(model, motion),
        ViewKind::Strings => strings_motion(model, motion),
        k if k.numeric() => {
            let s = k.size();
            let at = c - c % s;
            let bpr = model.bytes_per_row();
            match motion {
                Motion::Left => Some(at.saturating_sub(s)),
                Motion::Right => Some(if at + s <= max { at + s } else { at }),
                Motion::RowEnd => Some((at - at % bpr + bpr - s).min(max - max % s)),
                Motion::Bottom => Some(max - max % s),
                _ => None,
            }
        }
        _ => None,
    }
}

fn code_motion(model: &Model, motion: Motion) -> Option<u64> {
    let c = model.doc.cursor;
    let max = model.max_cursor();
    let rows = model.layout().grid_rows();
    match motion {
        // Down: past the instruction (a byte when none decodes); x86 cannot be decoded
        // backwards, so up goes back a byte and a screen back goes back by the bytes shown.
        Motion::Down | Motion::Right => {
            let len = model.code_rows(1).first().map_or(1, |i| i.bytes.len());
            Some((c + len as u64).min(max))
        }
        Motion::Up | Motion::Left => Some(c.saturating_sub(1)),
        Motion::PageDown | Motion::PageUp => {
            let span: u64 = model
                .code_rows(rows)
                .iter()
                .map(|i| i.bytes.len() as u64)
                .sum::<u64>()
                .max(1);
            Some(if motion == Motion::PageDown {
                (c + span).min(max)
            } else {
                c.saturating_sub(span)
            })
        }
        _ => None,
    }
}

fn strings_motion(model: &Model, motion: Motion) -> Option<u64> {
    let c = model.doc.cursor;
    let ps = model.page_size();
    let runs = model.page_runs();
    let page_start = c / ps * ps;
    match motion {
        // The next run, else the next page (its runs come with the next refresh).
        Motion::Down | Motion::Right => Some(
            runs.iter()
                .find(|r| r.offset > c)
                .map_or_else(|| (page_start + ps).min(model.max_cursor()), |r| r.offset),
        ),
        Motion::Up | Motion::Left => Some(
            runs.iter()
                .rev()
                .find(|r| r.offset < c)
                .map_or_else(|| page_start.saturating_sub(ps), |r| r.offset),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::action::{TypedAction, ViewKind};
    use crate::sys::proc::maps::MapsLine;

    fn typed(m: &mut Model, a: TypedAction) -> Vec<Command> {
        update(m, Action::Typed(a))
    }

    #[test]
    fn t_cycles_every_view_and_aligns_the_cursor_to_the_element() {
        let mut m = model(2, (120, 40));
        m.doc.cursor = 0x13;
        let mut seen = Vec::new();
        for _ in 0..ViewKind::ALL.len() {
            typed(&mut m, TypedAction::Cycle);
            seen.push(m.screen.typed.kind);
            if m.screen.typed.kind == ViewKind::U64 {
                assert_eq!(m.doc.cursor, 0x10, "aligned down to 8");
                assert!(last_log(&m).starts_with("view u64: 8-byte elements"));
            }
        }
        assert_eq!(seen.last(), Some(&ViewKind::Bytes));
        assert_eq!(seen.len(), 10);
        assert_eq!(m.doc.cursor, 0x13, "a view of bytes is back on the byte");
    }

    /// A return address followed in the u64 view, then T to the code view through the
    /// aligned views: the code starts at the address, not at the element holding it.
    #[test]
    fn views_of_single_bytes_return_to_the_byte_an_alignment_left() {
        let mut m = model(2, (120, 40));
        typed(&mut m, TypedAction::Set(ViewKind::U64));
        m.doc.cursor = 0x1ba3;
        typed(&mut m, TypedAction::Set(ViewKind::F32));
        assert_eq!(m.doc.cursor, 0x1ba0);
        typed(&mut m, TypedAction::Set(ViewKind::F64));
        assert_eq!(m.doc.cursor, 0x1ba0);
        typed(&mut m, TypedAction::Set(ViewKind::Code));
        assert_eq!(m.doc.cursor, 0x1ba3);
        // Once the cursor moved, the aligned place is where it is.
        typed(&mut m, TypedAction::Set(ViewKind::U32));
        update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
        typed(&mut m, TypedAction::Set(ViewKind::Text));
        assert_eq!(m.doc.cursor, 0x1ba4);
    }

    #[test]
    fn the_cursor_moves_by_the_element_and_rows_stay_rows() {
        let mut m = model(2, (120, 40));
        typed(&mut m, TypedAction::Set(ViewKind::U32));
        update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
        assert_eq!(m.doc.cursor, 4);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
        update(&mut m, Action::Grid(GridAction::Move(Motion::Left)));
        assert_eq!(m.doc.cursor, 4);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Down)));
        assert_eq!(m.doc.cursor, 4 + m.bytes_per_row());
        update(&mut m, Action::Grid(GridAction::Move(Motion::RowEnd)));
        assert_eq!(m.doc.cursor, 2 * m.bytes_per_row() - 4);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Bottom)));
        assert_eq!(m.doc.cursor, 2 * 4096 - 4);
    }

    #[test]
    fn editing_a_typed_view_edits_bytes_and_e_swaps_the_order() {
        let mut m = model(1, (120, 40));
        typed(&mut m, TypedAction::Set(ViewKind::F64));
        typed(&mut m, TypedAction::SwapOrder);
        assert!(m.screen.typed.swapped);
        assert!(last_log(&m).contains("not this machine's order"));
        update(&mut m, Action::Edit(EditAction::Start));
        assert_eq!(m.screen.typed.kind, ViewKind::Bytes);
        assert!(m.screen.edit.is_some());
    }

    /// A model whose bytes at 0x10 hold `value` and whose maps have a `[heap]` at 0x5000.
    fn with_pointer(value: u64) -> Model {
        let mut m = model(1, (120, 40));
        let mut data = vec![Some(0u8); 64];
        for (i, b) in value.to_ne_bytes().into_iter().enumerate() {
            data[0x10 + i] = Some(b);
        }
        m.snap.probed.bytes = crate::sys::probe::snapshot::ViewBytes {
            start: 0,
            data,
            unread: Vec::new(),
        };
        let heap = MapsLine {
            start: 0x5000,
            end: 0x9000,
            perms: "rw-p".into(),
            offset: 0,
            dev: 0,
            inode: 0,
            path: "[heap]".into(),
        };
        m.snap.readings.maps = Ok(std::sync::Arc::new(vec![heap]));
        m.doc.cursor = 0x10;
        m
    }

    #[test]
    fn enter_on_a_pointer_goes_to_its_address_and_elsewhere_edits() {
        let mut m = with_pointer(0x6230);
        typed(&mut m, TypedAction::Set(ViewKind::U64));
        assert_eq!(
            m.pointer_at(0x10).map(|t| t.label()).as_deref(),
            Some("→ [heap]+0x1230")
        );
        update(&mut m, Action::Edit(EditAction::Start));
        let log: Vec<&str> = m.log.lines.iter().map(|l| l.text.as_str()).collect();
        assert!(
            log.iter()
                .any(|l| l.starts_with("followed the pointer 0x6230 → [heap]+0x1230")),
            "{log:?}"
        );
        assert!(m.screen.edit.is_none(), "a pointer is followed, not edited");
        // Not a pointer: Enter edits, in the bytes view.
        let mut m = with_pointer(0x4fff);
        typed(&mut m, TypedAction::Set(ViewKind::U64));
        assert_eq!(m.pointer_at(0x10), None);
        update(&mut m, Action::Edit(EditAction::Start));
        assert!(m.screen.edit.is_some());
        assert_eq!(m.screen.typed.kind, ViewKind::Bytes);
    }

    #[test]
    fn strings_move_between_runs_and_enter_shows_one_in_bytes() {
        let mut m = model(1, (120, 40));
        let mut data = vec![Some(0u8); 4096];
        for (at, text) in [(0x20usize, &b"first run"[..]), (0x300, b"second")] {
            for (i, b) in text.iter().enumerate() {
                data[at + i] = Some(*b);
            }
        }
        m.snap.probed.bytes.data = data;
        typed(&mut m, TypedAction::Set(ViewKind::Strings));
        assert_eq!(m.page_runs().len(), 2);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Down)));
        assert_eq!(m.doc.cursor, 0x20);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Down)));
        assert_eq!(m.doc.cursor, 0x300);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Up)));
        assert_eq!(m.doc.cursor, 0x20);
        update(&mut m, Action::Edit(EditAction::Start));
        assert_eq!(m.screen.typed.kind, ViewKind::Bytes);
        assert_eq!(m.doc.cursor, 0x20);
        assert!(m.screen.edit.is_none());
    }

    #[test]
    fn the_inspector_reads_eight_bytes_from_the_cursor_and_keeps_the_pages_probed() {
        let mut m = model(4, (80, 24));
        let plain = m.view();
        // The cursor on the last byte shown: its u64 runs past the rows.
        m.doc.cursor = plain.byte_start + plain.byte_len - 1;
        typed(&mut m, TypedAction::ToggleInspector);
        let v = m.view();
        assert!(v.byte_start + v.byte_len >= m.doc.cursor + 8, "{v:?}");
        assert_eq!(v.first_page, plain.first_page);
        assert!(v.page_count >= plain.page_count, "{v:?} {plain:?}");
        assert!(m.layout().inspector.is_some());
        typed(&mut m, TypedAction::ToggleInspector);
        assert_eq!(m.layout().inspector, None);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn code_moves_by_the_instruction_and_reads_the_bytes_it_needs() {
        let mut m = model(1, (120, 40));
        // mov eax, 42 (5 bytes); ret.
        let code = [0xb8u8, 42, 0, 0, 0, 0xc3];
        m.snap.probed.bytes.data = code.iter().map(|&b| Some(b)).collect();
        typed(&mut m, TypedAction::Set(ViewKind::Code));
        let v = m.view();
        assert_eq!(v.byte_start, 0);
        assert!(v.byte_len >= 15 * 10, "{v:?}");
        update(&mut m, Action::Grid(GridAction::Move(Motion::Down)));
        assert_eq!(m.doc.cursor, 5);
        update(&mut m, Action::Grid(GridAction::Move(Motion::Up)));
        assert_eq!(m.doc.cursor, 4);
    }
}
