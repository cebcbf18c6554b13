//! Takes back what the kernel did: the log line, the edit history and marks, the bytes our own
//! operations changed (so a refresh does not blame another process), the minimap's chunks to
//! probe first, the lab's processes; a refusal by the memory bound asks whether to force.

use crate::action::{History, Op, SyncKind};
use crate::model::{EditRecord, Model, Overlay, Then};
use crate::sys::map::request::MapMode;
use crate::sys::ops::outcome::{Done, Outcome};

/// Takes back what the kernel did: the log line, the edit history and marks, the cursor.
pub fn apply_outcome(model: &mut Model, outcome: &Outcome, history: History) {
    model.log(outcome.log_line());
    let done = match &outcome.result {
        Ok(done) => done,
        Err(e) => {
            offer_force(model, &outcome.op, e);
            return;
        }
    };
    let ps = model.page_size();
    minimap_changed(model, done);
    if let Some(range) = own_change(model, done) {
        model.seen.own_writes.push(range);
    }
    if let Done::Truncated { new_size, .. } = done {
        model.seen.own_size = Some(*new_size);
    }
    if let Done::Synced { first, count, .. } = done {
        // Writeback may re-zero the padding after end of file (ext4 does): our own call
        // changed those bytes, not another process (the outcome's notes say so).
        let g = model.snap.shape.geometry;
        let data = g.data_bytes();
        if g.file_size.is_some() && (first * ps..(first + count) * ps).contains(&data) {
            model.seen.own_writes.push((data, ps - data % ps));
        }
    }
    match done {
        Done::Wrote {
            offset, old, new, ..
        } => wrote(model, *offset, old, new, history),
        Done::PeerStarted { .. } => model.lab.peer_running = true,
        Done::PeerStopped { .. } => model.lab.peer_running = false,
        Done::Forked { pid, .. } => model.lab.child = Some(*pid),
        Done::ChildExited { .. } => model.lab.child = None,
        Done::Allocated(a) => model.lab.malloc = Some(a.threshold.clone()),
        Done::Freed { threshold, .. } => model.lab.malloc = Some(threshold.clone()),
        Done::Swapped { .. } => {
            // The marks go with their mapping; the history's records point into the other.
            std::mem::swap(&mut model.doc.edits, &mut model.lab.also_edits);
            model.doc.forget_history();
            model.snap.probed.bytes = Default::default();
            if let Some(also) = &mut model.lab.also {
                also.probed.bytes = Default::default();
            }
        }
        Done::Remapped { .. } => {
            // Old records point into a mapping that is gone; an undo now would write through
            // the new one (perhaps into the file). Start afresh.
            model.doc.forget_edits();
            model.snap.probed.bytes = Default::default();
        }
        Done::Synced {
            kind: SyncKind::Sync,
            first,
            count,
            ..
        } if model.snap.shape.mode == MapMode::Shared => {
            let (lo, hi) = (first * ps, (first + count) * ps);
            model.doc.edits.retain(|off| !(lo..hi).contains(off));
        }
        Done::Advised { first, count, .. }
            if matches!(outcome.op, Op::Advise(crate::action::MAdvice::DontNeed, _))
                && model.snap.shape.mode == MapMode::Private =>
        {
            let (lo, hi) = (first * ps, (first + count) * ps);
            model.doc.edits.retain(|off| !(lo..hi).contains(off));
        }
        _ => {}
    }
}

/// A refusal by the memory bound (the numbers are in the log line too): asks whether to do
/// it anyway, No by default. A script never answers; its line says how to force instead.
fn offer_force(model: &mut Model, op: &Op, e: &crate::sys::error::SysError) {
    if !e.forcible {
        return;
    }
    model.screen.overlay = Overlay::Confirm {
        question: format!(
            "{}: {}. Do it anyway? y/N",
            e.context,
            crate::sys::proc::limits::without_hint(&e.explanation)
        ),
        then: Box::new(Then::Force(op.clone())),
        default_yes: false,
    };
}

/// Takes back a write: the edit marks, the bytes shown at once (the next refresh reads them
/// back from the mapping), the edit history, and the cursor after a typed byte.
fn wrote(model: &mut Model, offset: u64, old: &[u8], new: &[u8], history: History) {
    let len = new.len() as u64;
    model.seen.own_writes.push((offset, len));
    model.doc.edits.extend(offset..offset + len);
    for (i, b) in new.iter().enumerate() {
        let off = offset + i as u64;
        if let Some(idx) = off.checked_sub(model.snap.probed.bytes.start)
            && let Some(slot) = model.snap.probed.bytes.data.get_mut(idx as usize)
        {
            *slot = Some(*b);
        }
    }
    let record = EditRecord {
        offset,
        old: old.to_vec(),
        new: new.to_vec(),
    };
    match history {
        History::Record => {
            model.doc.history.push(record);
            model.doc.redo.clear();
            if model.screen.edit.is_some() && offset == model.doc.cursor {
                model.doc.cursor = (model.doc.cursor + len).min(model.max_cursor());
                model.scroll_to_cursor();
            }
        }
        History::Undo => {
            if let Some(r) = model.doc.history.pop() {
                model.doc.redo.push(r);
            }
        }
        History::Redo => {
            if let Some(r) = model.doc.redo.pop() {
                model.doc.history.push(r);
            }
        }
    }
}

/// The bytes (offset, length) an operation of ours other than a write may have changed,
/// so that the next refresh does not blame another process for them: the advised pages
/// (DONTNEED drops a private copy, the file's bytes show again; on anonymous memory, zeros),
/// a child's write, and the whole mapping after a truncate (the bytes past the new end of
/// file read as zeros or not at all), a remap, a resize or code run in a child. Reads,
/// protection, locks, touches, forks and the peer's own stores change none of ours.
fn own_change(model: &Model, done: &Done) -> Option<(u64, u64)> {
    let ps = model.page_size().max(1);
    match done {
        Done::Advised { first, count, .. } => Some((first * ps, count * ps)),
        Done::ChildWrote { offset, new, .. } => Some((*offset, new.len() as u64)),
        Done::Truncated { .. }
        | Done::Remapped { .. }
        | Done::Resized { .. }
        | Done::Swapped { .. }
        | Done::Called { .. } => Some((0, u64::MAX)),
        _ => None,
    }
}

/// Marks the minimap's chunks that `done` may have changed, to be probed first: the pages an
/// operation names when it names some, else the whole mapping (a remap, a touch and its
/// readahead, a truncate, a peer, code run in a child).
fn minimap_changed(model: &mut Model, done: &Done) {
    let g = model.snap.shape.geometry;
    let ps = g.page_size.max(1);
    match done {
        Done::Wrote { offset, new, .. } => {
            let end = offset + new.len() as u64;
            model
                .seen
                .minimap
                .changed(offset / ps, end.div_ceil(ps), &g);
        }
        Done::Synced { first, count, .. } | Done::Advised { first, count, .. } => {
            model.seen.minimap.changed(*first, first + count, &g);
        }
        // A dump reads what the grid reads, and changes nothing of the mapping.
        Done::Nothing {} | Done::Dumped { .. } | Done::Exported { .. } => {}
        _ => model.seen.minimap.changed_all(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn msync_clears_the_edit_marks_it_covers() {
        let mut m = model(2, (120, 40));
        apply_outcome(&mut m, &wrote(5, &[0], &[1]), History::Record);
        apply_outcome(&mut m, &wrote(PS + 5, &[0], &[1]), History::Record);
        let synced = msynced(0);
        apply_outcome(&mut m, &synced, History::Record);
        assert!(!m.edited(5) && m.edited(PS + 5));
    }

    #[test]
    fn what_we_change_is_probed_first_by_the_minimap() {
        // 4 GiB: 1024 chunks of 1024 pages.
        let mut m = model(1 << 20, (120, 40));
        let changed = |m: &Model| -> Vec<usize> {
            let states = m.seen.minimap.chunks.iter().enumerate();
            states.filter(|(_, c)| c.changed).map(|(i, _)| i).collect()
        };
        assert!(changed(&m).is_empty());
        // A write in the middle of chunk 300 marks it alone (its folio is inside it).
        apply_outcome(
            &mut m,
            &wrote(300 * 1024 * PS + 512 * PS, &[0], &[1]),
            History::Record,
        );
        assert_eq!(changed(&m), [300]);
        assert_eq!(m.view().minimap.order[0], 300);
        // A refused call changed nothing.
        let refused = Outcome {
            result: Err(crate::sys::error::SysError::new(
                libc::EACCES,
                "write",
                "read-only",
            )),
            ..wrote(0, &[0], &[1])
        };
        apply_outcome(&mut m, &refused, History::Record);
        assert_eq!(changed(&m), [300]);
        // msync of page 5000: its chunk 4, which holds the whole 2 MiB around it.
        let synced = msynced(5000);
        apply_outcome(&mut m, &synced, History::Record);
        assert_eq!(changed(&m), [4, 300]);
        // A remap (or `r`) changes what every chunk may say.
        let remapped = Outcome {
            op: Op::Mode(MapMode::Private),
            result: Ok(Done::Remapped {
                old_addr: 0,
                new_addr: 0,
                mode: MapMode::Private,
            }),
            ..wrote(0, &[], &[])
        };
        apply_outcome(&mut m, &remapped, History::Record);
        assert_eq!(changed(&m).len(), 1024);
    }

    /// The private lesson's DONTNEED: HELLO at 0x1004 turns back into the file's demo. Our own
    /// call changed those bytes, not another process.
    #[test]
    fn bytes_our_dontneed_brought_back_are_not_another_process_s() {
        let mut m = file_model(4, 12388);
        let mut page = vec![0u8; 3 * PS as usize];
        page[0x1004..0x1009].copy_from_slice(b"HELLO");
        probed(&mut m, &page, Some(12388), 10);
        let advised = Done::Advised {
            first: 1,
            count: 1,
            resident_before: Some(1),
            resident_after: Some(1),
            copies_before: Some(1),
            copies_after: Some(0),
        };
        let op = Op::Advise(
            crate::action::MAdvice::DontNeed,
            crate::sys::ops::op::Scope::Page(1),
        );
        apply_outcome(&mut m, &outcome(op, advised), History::Record);
        page[0x1004..0x1009].copy_from_slice(b"demo ");
        probed(&mut m, &page, Some(12388), 20);
        assert!(m.seen.foreign.is_empty(), "{:?}", m.seen.foreign);
        assert!(
            !logged(&m).iter().any(|l| l.contains("another process")),
            "{:?}",
            logged(&m)
        );
        // The same change with no call of ours is another process's.
        page[0x1004..0x1009].copy_from_slice(b"HELLO");
        probed(&mut m, &page, Some(12388), 30);
        assert_eq!(m.seen.foreign.len(), 5);
        assert!(
            logged(&m)
                .last()
                .unwrap()
                .starts_with("5 bytes on screen changed by another")
        );
    }

    /// Our truncate to 0 and back zeroes the file's bytes; its own log line says so, and the
    /// next probe neither blames another process nor says the growth a second time.
    #[test]
    fn bytes_and_size_our_truncate_changed_are_ours() {
        let mut m = file_model(4, 12388);
        probed(&mut m, &[b'x'; 100], Some(12388), 10);
        let done = Done::Truncated {
            old_size: 12388,
            new_size: 20000,
        };
        apply_outcome(&mut m, &outcome(Op::Truncate(20000), done), History::Record);
        let before = m.log.lines.len();
        probed(&mut m, &[0; 100], Some(20000), 20);
        assert_eq!(m.log.lines.len(), before, "{:?}", logged(&m));
        assert!(m.seen.foreign.is_empty());
    }

    /// A file another process appended to: the grid shows its bytes, so the log does not
    /// call them a hole; zeros are said to be zeros; bytes not read are not described.
    #[test]
    fn growth_by_another_process_is_told_by_the_bytes() {
        let mut m = file_model(4, 100);
        let mut bytes = vec![0u8; 2 * PS as usize];
        probed(&mut m, &bytes, Some(100), 10);
        bytes[5000] = b'S';
        probed(&mut m, &bytes, Some(6000), 20);
        let last = logged(&m).last().unwrap().to_string();
        assert!(
            last.starts_with("the file grew under the mapping: 100 B -> 6,000 B"),
            "{last}"
        );
        assert!(last.contains("hold data another process wrote"), "{last}");
        assert!(!last.contains("a hole that"), "{last}");
        probed(&mut m, &bytes, Some(7000), 30);
        let last = logged(&m).last().unwrap().to_string();
        assert!(
            last.contains("read as zeros (a hole, or zeros written"),
            "{last}"
        );
        probed(&mut m, &bytes[..10], Some(9000), 40);
        let last = logged(&m).last().unwrap().to_string();
        assert!(last.ends_with("9,000 B; page 2 now holds data"), "{last}");
        assert_eq!(last.matches("grew").count(), 1, "said once: {last}");
    }
}
