//! Jumps: an absolute address anywhere in the process (`:`, `goto`, a followed pointer),
//! the session's answer (arrived in a VMA, or a gap with its neighbours), and the jump list
//! (Ctrl-o back, Ctrl-i or Ctrl-n forward) over every goto and change of VMA.

use crate::action::Command;
use crate::model::{Model, Place, Travel};
use crate::sys::proc::maps::MapsLine;

/// Where the cursor is, as a place to come back to.
pub(super) fn here(model: &Model) -> Place {
    Place {
        addr: model.snap.shape.addr.saturating_add(model.doc.cursor),
        vma: model
            .space
            .looking
            .as_ref()
            .map_or_else(|| "our mapping".to_string(), |l| l.vma.clone()),
    }
}

/// The offset of absolute address `addr` in the mapping shown, if it is in it.
fn offset_of(model: &Model, addr: u64) -> Option<u64> {
    addr.checked_sub(model.snap.shape.addr)
        .filter(|off| *off <= model.max_cursor())
}

/// Puts the cursor on offset `off` with a third of the grid above it.
pub(super) fn place_cursor(model: &mut Model, off: u64) {
    model.doc.cursor = off;
    let h = model.layout().grid_rows();
    model.doc.top = model.line_of(off).saturating_sub(h / 3);
    model.scroll_to_cursor();
}

/// A goto moved the cursor from `left`: recorded as a jump (nothing when it did not move).
pub(super) fn moved_from(model: &mut Model, left: Place) {
    if left.addr != here(model).addr {
        model.space.jumps.record(left, Travel::Jump);
    }
}

/// Asks the session for the VMA of `addr` (outside the mapping shown); the place left is
/// recorded once it arrives.
pub(super) fn away(model: &mut Model, addr: u64, left: Place, travel: Travel) -> Vec<Command> {
    model.space.jumps.pending = Some((left, travel));
    vec![Command::GotoAddress(addr)]
}

/// Ctrl-o (`Travel::Back`) or forward: to the last place left that way.
pub(super) fn travel(model: &mut Model, travel: Travel) -> Vec<Command> {
    let Some(to) = model.space.jumps.take(travel) else {
        model.log(match travel {
            Travel::Back => "jump list: no place to go back to (gotos and VMA changes record one)",
            _ => "jump list: no place ahead (Ctrl-o goes back first)",
        });
        return Vec::new();
    };
    let left = here(model);
    let way = if travel == Travel::Back {
        "back"
    } else {
        "forward"
    };
    match offset_of(model, to.addr) {
        Some(off) => {
            place_cursor(model, off);
            model.space.jumps.record(left, travel);
            model.log(format!(
                "jump {way} to 0x{:x} ({}, page {})",
                to.addr,
                to.vma,
                off / model.page_size()
            ));
            Vec::new()
        }
        // The session's answer says where it arrived (or the gap the place is in now).
        None => away(model, to.addr, left, travel),
    }
}

/// The session opened the VMA holding `addr`, which starts at `base`: the cursor goes there
/// (the next probe brings the VMA's shape) and the jump is recorded.
pub(super) fn arrived(model: &mut Model, addr: u64, base: u64) {
    let off = addr.saturating_sub(base);
    model.doc.cursor = off;
    let h = model.layout().grid_rows();
    // Not scrolled against the snapshot still shown (the VMA left): the probe does that.
    model.doc.top = model.line_of(off).saturating_sub(h / 3);
    let how = match model.space.jumps.pending.as_ref().map(|(_, t)| *t) {
        Some(Travel::Back) => "jump back to",
        Some(Travel::Forward) => "jump forward to",
        Some(Travel::Jump) | None => "goto address",
    };
    model.space.jumps.arrived();
    let vma = here(model).vma;
    model.log(format!(
        "{how} 0x{addr:x}: {vma} at 0x{base:x}, offset 0x{off:x} (page {}); Ctrl-o goes back",
        off / model.page_size()
    ));
}

/// `addr` is in no VMA: the log says what is below and above it; no jump is recorded.
pub(super) fn gap(
    model: &mut Model,
    addr: u64,
    before: Option<&MapsLine>,
    after: Option<&MapsLine>,
) {
    model.space.jumps.cancel();
    let side = |l: Option<&MapsLine>| match l {
        Some(l) => format!(
            "{} 0x{:x}-0x{:x} {}",
            crate::text::sanitize(&crate::sys::attach::foreign::vma_name(l).to_string_lossy()),
            l.start,
            l.end,
            l.perms
        ),
        None => "nothing".to_string(),
    };
    let lo = before.map_or(0, |l| l.end);
    let room = after.map_or_else(
        || "up to the top of the address space".to_string(),
        |a| format!("{} free", crate::text::human(a.start - lo)),
    );
    model.log(format!(
        "goto: 0x{addr:x} is in no VMA (a gap from 0x{lo:x}, {room}): below it {}, above it {}",
        side(before),
        side(after)
    ));
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::sys::proc::maps::MapsLine;

    fn line(start: u64, end: u64, path: &str) -> MapsLine {
        MapsLine::sample(start, end, "rw-p", path)
    }

    /// Our process's heap at 0x5555_0000_0000, explored (Backspace returns).
    fn heap() -> Looking {
        Looking {
            pid: 1,
            process: "pid 1 x".into(),
            vma: "[heap]".into(),
            start: 0x5555_0000_0000,
            back: true,
            ..Looking::default()
        }
    }

    #[test]
    fn an_address_elsewhere_asks_the_session_and_the_arrival_is_a_jump_back() {
        let mut m = model(4, (120, 40));
        let base = m.snap.shape.addr;
        update(&mut m, Action::Grid(GridAction::Goto(GotoTarget::Page(2))));
        let cmds = update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Address(0x5555_0000_1234))),
        );
        assert_eq!(cmds, vec![Command::GotoAddress(0x5555_0000_1234)]);
        // The session opens the heap at 0x5555_0000_0000 and says so.
        let heap = heap();
        update(&mut m, Event::Looking(Some(heap)));
        update(
            &mut m,
            Event::Arrived {
                addr: 0x5555_0000_1234,
                base: 0x5555_0000_0000,
            },
        );
        assert_eq!(m.doc.cursor, 0x1234);
        assert!(
            last_log(&m).contains("[heap] at 0x555500000000, offset 0x1234"),
            "{}",
            last_log(&m)
        );
        let mut heap = m.snap.clone();
        heap.shape.addr = 0x5555_0000_0000;
        update(
            &mut m,
            Event::Probed {
                snap: Box::new(heap),
                now_ms: 20,
                clock: "00:00:02".into(),
                fresh: false,
            },
        );
        assert_eq!(m.doc.cursor, 0x1234, "the probe keeps the place");
        let back = &m.space.jumps.back;
        assert_eq!(back.last().map(|p| p.addr), Some(base + 2 * PS), "{back:?}");
        // Ctrl-o: our mapping is elsewhere, so the session is asked again.
        let cmds = update(&mut m, Action::Grid(GridAction::JumpBack));
        assert_eq!(cmds, vec![Command::GotoAddress(base + 2 * PS)]);
    }

    #[test]
    fn back_and_forward_inside_the_mapping_move_at_once() {
        let mut m = model(4, (120, 40));
        let base = m.snap.shape.addr;
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Offset(0x10))),
        );
        update(&mut m, Action::Grid(GridAction::Goto(GotoTarget::Page(3))));
        assert_eq!(m.doc.cursor, 3 * PS);
        assert!(update(&mut m, Action::Grid(GridAction::JumpBack)).is_empty());
        assert_eq!(m.doc.cursor, 0x10);
        assert!(
            last_log(&m).starts_with("jump back to 0x"),
            "{}",
            last_log(&m)
        );
        update(&mut m, Action::Grid(GridAction::JumpBack));
        assert_eq!(m.doc.cursor, 0);
        update(&mut m, Action::Grid(GridAction::JumpBack));
        assert!(last_log(&m).contains("no place to go back to"));
        update(&mut m, Action::Grid(GridAction::JumpForward));
        assert_eq!(m.doc.cursor, 0x10);
        update(&mut m, Action::Grid(GridAction::JumpForward));
        assert_eq!(m.doc.cursor, 3 * PS);
        update(&mut m, Action::Grid(GridAction::JumpForward));
        assert!(last_log(&m).contains("no place ahead"));
        assert_eq!(m.space.jumps.back.last().map(|p| p.addr), Some(base + 0x10));
    }

    #[test]
    fn exploring_and_backspace_record_the_place_left_and_ctrl_o_returns() {
        let mut m = model(4, (120, 40));
        let base = m.snap.shape.addr;
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Offset(0x30))),
        );
        let heap = heap();
        // Explored from the address-space view: no jump pending, the place left is recorded.
        update(&mut m, Event::Looking(Some(heap)));
        let left = m.space.jumps.back.last().cloned().expect("recorded");
        assert_eq!((left.addr, left.vma.as_str()), (base + 0x30, "our mapping"));
        let ours = m.snap.clone();
        let mut snap = m.snap.clone();
        snap.shape.addr = 0x5555_0000_0000;
        let probed = |snap: &crate::sys::probe::snapshot::Snapshot| Event::Probed {
            snap: Box::new(snap.clone()),
            now_ms: 20,
            clock: "00:00:02".into(),
            fresh: false,
        };
        update(&mut m, probed(&snap));
        // Backspace: the heap's place is recorded too.
        update(&mut m, Event::Looking(None));
        update(&mut m, probed(&ours));
        let left = m.space.jumps.back.last().cloned().expect("recorded");
        assert_eq!((left.addr, left.vma.as_str()), (0x5555_0000_0000, "[heap]"));
        assert_eq!(m.space.jumps.back.len(), 3, "the goto's, ours, the heap's");
        // A jump the session carries out records once, when it arrives.
        let cmds = update(&mut m, Action::Grid(GridAction::JumpBack));
        assert_eq!(cmds, vec![Command::GotoAddress(0x5555_0000_0000)]);
        update(
            &mut m,
            Event::Looking(Some(Looking {
                pid: 1,
                vma: "[heap]".into(),
                start: 0x5555_0000_0000,
                back: true,
                ..Looking::default()
            })),
        );
        assert_eq!(
            m.space.jumps.back.len(),
            2,
            "not recorded by the VMA change"
        );
        update(
            &mut m,
            Event::Arrived {
                addr: 0x5555_0000_0000,
                base: 0x5555_0000_0000,
            },
        );
        assert_eq!(m.space.jumps.forward.len(), 1, "the place left waits ahead");
        assert!(
            last_log(&m).starts_with("jump back to 0x555500000000"),
            "{}",
            last_log(&m)
        );
    }

    #[test]
    fn a_gap_says_its_neighbours_and_records_nothing() {
        let mut m = model(4, (120, 40));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Address(0x7000))),
        );
        update(
            &mut m,
            Event::Gap {
                addr: 0x7000,
                before: Some(line(0x1000, 0x2000, "/usr/bin/x")),
                after: Some(line(0x9000, 0xa000, "")),
            },
        );
        let said = last_log(&m);
        assert!(
            said.contains(
                "0x7000 is in no VMA (a gap from 0x2000, 28 KiB free): below it /usr/bin/x \
                 0x1000-0x2000 rw-p, above it [anonymous] 0x9000-0xa000 rw-p"
            ),
            "{said}"
        );
        assert!(m.space.jumps.back.is_empty());
        assert!(m.space.jumps.pending.is_none());
    }
}
