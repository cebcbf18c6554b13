//! Edit mode (typing bytes at the cursor, asking first when the file was not allowed to be
//! written), and the operations as the user asks them: undo and redo from the edit history,
//! every other one to be carried out.

use crate::action::{Command, EditAction, History, Op};
use crate::model::{EditState, Model};
use crate::sys::map::request::MapMode;
use crate::sys::probe::snapshot::Backing;

/// Routes an edit-mode action.
pub(super) fn update(model: &mut Model, action: EditAction) -> Vec<Command> {
    match action {
        // After exec, Enter reopens the process instead of editing the memory that is gone.
        EditAction::Start if model.space.looking.as_ref().is_some_and(|l| l.reopen) => {
            return vec![Command::Reattach];
        }
        // In a typed view, on a pointer, a jump or a string: go there instead.
        EditAction::Start if let Some(commands) = super::typed::enter(model) => return commands,
        EditAction::Start => {
            super::typed::bytes_for_edit(model);
            model.screen.edit = Some(EditState::default());
            let words = start_words(model);
            model.log(words);
        }
        EditAction::Stop => model.screen.edit = None,
        EditAction::SwitchColumn => {
            if let Some(e) = &mut model.screen.edit {
                e.text = !e.text;
                e.pending = None;
            }
        }
        EditAction::Nibble(n) => {
            let Some(e) = &mut model.screen.edit else {
                return Vec::new();
            };
            match e.pending.take() {
                None => e.pending = Some(n & 0xf),
                Some(high) => return edit_write(model, vec![(high << 4) | (n & 0xf)]),
            }
        }
        EditAction::Char(c) if model.screen.edit.is_some() => {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes().to_vec();
            return edit_write(model, bytes);
        }
        EditAction::Char(_) => {}
    }
    Vec::new()
}

/// What entering edit mode says: how the writes will go here.
fn start_words(model: &Model) -> &'static str {
    if model.time.replay.is_some() {
        "edit mode: a recording is read-only; every write is refused (Esc leaves)"
    } else if model
        .space
        .looking
        .as_ref()
        .is_some_and(|_| !model.snap.write_allowed)
    {
        "edit mode: this VMA is only looked at; writes are refused (another process: start with \
         --write)"
    } else if model.space.looking.is_some() {
        "edit mode: each write into the process asks first (Esc leaves)"
    } else if model.snap.shape.prot.write {
        "edit mode: type hex digits to write bytes at the cursor; Tab: text column; Esc leaves"
    } else if read_only_until_asked(model) {
        "edit mode: the file is mapped read-only; your first write asks before it goes to the \
         file (Esc leaves)"
    } else {
        "edit mode: this mapping has no PROT_WRITE, so writes will be refused (p changes it)"
    }
}

/// A shared mapping of a file the user named, mapped read-only because writing was not
/// allowed yet, where the first write asks (the write gate, `sys::ops::gate`, does the asking).
fn read_only_until_asked(model: &Model) -> bool {
    let s = &model.snap;
    s.shape.mode == MapMode::Shared
        && !s.shape.prot.write
        && !s.write_allowed
        && matches!(s.shape.backing, Backing::File { writable: true, .. })
}

/// A write typed in edit mode (or a snippet): the write gate decides whether it goes at
/// once, is asked about (the first write to a named file, every write into another process)
/// or is refused (our own process outside our mapping, a read-only view).
pub(super) fn edit_write(model: &Model, bytes: Vec<u8>) -> Vec<Command> {
    exec(Op::Write {
        offset: model.doc.cursor,
        bytes,
    })
}

pub(super) fn exec(op: Op) -> Vec<Command> {
    vec![Command::Exec {
        op,
        history: History::Record,
        confirmed: false,
    }]
}

pub(super) fn do_op(model: &mut Model, op: Op) -> Vec<Command> {
    match op {
        Op::Undo => match model.doc.history.last() {
            Some(r) => vec![Command::Exec {
                op: Op::Write {
                    offset: r.offset,
                    bytes: r.old.clone(),
                },
                history: History::Undo,
                confirmed: false,
            }],
            None => {
                model.log("undo: nothing to undo");
                Vec::new()
            }
        },
        Op::Redo => match model.doc.redo.last() {
            Some(r) => vec![Command::Exec {
                op: Op::Write {
                    offset: r.offset,
                    bytes: r.new.clone(),
                },
                history: History::Redo,
                confirmed: false,
            }],
            None => {
                model.log("redo: nothing to redo");
                Vec::new()
            }
        },
        op => exec(op),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn typing_two_nibbles_writes_a_byte_and_advances_on_success() {
        let mut m = model(1, (120, 40));
        assert!(
            update(&mut m, Action::Edit(EditAction::Nibble(4))).is_empty(),
            "not in edit mode"
        );
        update(&mut m, Action::Edit(EditAction::Start));
        assert!(update(&mut m, Action::Edit(EditAction::Nibble(4))).is_empty());
        assert_eq!(m.screen.edit.unwrap().pending, Some(4));
        let (op, history) = only_exec(update(&mut m, Action::Edit(EditAction::Nibble(1))));
        assert_eq!(
            op,
            Op::Write {
                offset: 0,
                bytes: vec![0x41]
            }
        );
        assert_eq!(history, History::Record);
        apply_outcome(&mut m, &wrote(0, &[0], &[0x41]), History::Record);
        assert_eq!(m.doc.cursor, 1);
        assert!(m.edited(0));
        assert!(last_log(&m).contains("Private_Dirty +4 kB"));
        update(&mut m, Action::Edit(EditAction::SwitchColumn));
        let (op, _) = only_exec(update(&mut m, Action::Edit(EditAction::Char('é'))));
        assert_eq!(
            op,
            Op::Write {
                offset: 1,
                bytes: "é".as_bytes().to_vec()
            }
        );
        update(&mut m, Action::Edit(EditAction::Stop));
        assert!(m.screen.edit.is_none());
    }

    #[test]
    fn a_half_typed_byte_does_not_follow_the_cursor() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::Edit(EditAction::Start));
        update(&mut m, Action::Edit(EditAction::Nibble(5)));
        update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
        assert_eq!(
            m.screen.edit.unwrap().pending,
            None,
            "the move dropped the 5"
        );
        assert!(
            update(&mut m, Action::Edit(EditAction::Nibble(6))).is_empty(),
            "6 starts a new byte"
        );
        let (op, _) = only_exec(update(&mut m, Action::Edit(EditAction::Nibble(7))));
        assert_eq!(
            op,
            Op::Write {
                offset: 1,
                bytes: vec![0x67]
            }
        );
    }

    #[test]
    fn a_probe_between_two_nibbles_keeps_the_first() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::Edit(EditAction::Start));
        update(&mut m, Action::Edit(EditAction::Nibble(5)));
        let snap = Box::new(m.snap.clone());
        update(
            &mut m,
            Event::Probed {
                snap,
                now_ms: 10,
                clock: "00:00:01".into(),
                fresh: false,
            },
        );
        assert_eq!(m.screen.edit.unwrap().pending, Some(5));
        let (op, _) = only_exec(update(&mut m, Action::Edit(EditAction::Nibble(0xa))));
        assert_eq!(
            op,
            Op::Write {
                offset: 0,
                bytes: vec![0x5a]
            }
        );
    }

    #[test]
    fn news_keeps_a_half_typed_byte_and_a_lesson_step_that_moves_drops_it() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Edit(EditAction::Start));
        update(&mut m, Action::Edit(EditAction::Nibble(5)));
        update(&mut m, Event::Note("a note".into()));
        update(&mut m, Event::Resize(100, 30));
        assert_eq!(m.screen.edit.unwrap().pending, Some(5), "news is not a key");
        update(&mut m, Event::SelectPage(2));
        assert_eq!(m.screen.edit.unwrap().pending, None, "the cursor moved");
        update(&mut m, Action::Edit(EditAction::Nibble(7)));
        update(&mut m, Event::ShowOffset(0x10));
        assert_eq!(m.screen.edit.unwrap().pending, None, "the cursor moved");
        update(&mut m, Action::Edit(EditAction::Nibble(7)));
        update(&mut m, Action::View(ViewAction::ToggleExplain));
        assert_eq!(
            m.screen.edit.unwrap().pending,
            None,
            "any other key drops it"
        );
    }

    #[test]
    fn undo_and_redo_write_the_recorded_bytes() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::Do(Op::Undo));
        assert!(last_log(&m).contains("nothing to undo"));
        apply_outcome(&mut m, &wrote(8, &[1, 2], &[3, 4]), History::Record);
        let (op, h) = only_exec(update(&mut m, Action::Do(Op::Undo)));
        assert_eq!(
            (op, h),
            (
                Op::Write {
                    offset: 8,
                    bytes: vec![1, 2]
                },
                History::Undo
            )
        );
        apply_outcome(&mut m, &wrote(8, &[3, 4], &[1, 2]), History::Undo);
        assert!(m.doc.history.is_empty());
        assert_eq!(m.doc.redo.len(), 1);
        let (op, h) = only_exec(update(&mut m, Action::Do(Op::Redo)));
        assert_eq!(
            (op, h),
            (
                Op::Write {
                    offset: 8,
                    bytes: vec![3, 4]
                },
                History::Redo
            )
        );
        apply_outcome(&mut m, &wrote(8, &[1, 2], &[3, 4]), History::Redo);
        assert_eq!((m.doc.history.len(), m.doc.redo.len()), (1, 0));
        // A failed undo leaves the history as it was.
        let mut failed = wrote(8, &[3, 4], &[1, 2]);
        failed.result = Err(crate::sys::error::SysError::new(
            libc::EACCES,
            "write",
            "read-only",
        ));
        apply_outcome(&mut m, &failed, History::Undo);
        assert_eq!((m.doc.history.len(), m.doc.redo.len()), (1, 0));
        assert!(last_log(&m).contains("EACCES"));
    }
}
