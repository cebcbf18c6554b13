//! What the tests of every feature file share: models of a few pages, and the messages and
//! outcomes they feed in.

pub(crate) use super::{apply_outcome, parse_goto, update};
pub(crate) use crate::action::*;
pub(crate) use crate::geometry::Geometry;
pub(crate) use crate::model::*;
pub(crate) use crate::search::query::{Ending, Finished, Pattern, Query, Request, StateQuery};
pub(crate) use crate::sys::map::request::{MapMode, Prot};
pub(crate) use crate::sys::ops::outcome::{Done, Outcome};
pub(crate) use crate::sys::probe::snapshot::{Backing, Snapshot};

pub(crate) const PS: u64 = 4096;

pub(crate) fn model(pages: u64, size: (u16, u16)) -> Model {
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

pub(crate) fn cursor_visible(m: &Model) -> bool {
    let line = m.line_of(m.doc.cursor);
    line >= m.doc.top && line < m.doc.top + m.layout().grid_rows()
}

pub(crate) fn type_prompt(m: &mut Model, open: Action, text: &str) -> Vec<Command> {
    update(m, open);
    for c in text.chars() {
        update(m, Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))));
    }
    update(m, Action::Grid(GridAction::Prompt(PromptEdit::Submit)))
}

pub(crate) fn only_search(cmds: Vec<Command>) -> Request {
    match cmds.as_slice() {
        [Command::Search(req)] => req.clone(),
        other => panic!("expected one Search, got {other:?}"),
    }
}

/// The end of the search shown, as the session would say it.
pub(crate) fn ended(m: &mut Model, query: Query, ending: Ending) {
    let id = m.search.running.as_ref().map_or(0, |s| s.id);
    update(m, ended_id(id, query, ending));
}

pub(crate) fn ended_id(id: u64, query: Query, ending: Ending) -> Event {
    Event::SearchEnded(Box::new(Finished {
        id,
        query,
        forward: true,
        ending,
        examined: 4,
        cleared: 0,
        skipped: 0,
        bytes: 0,
        elapsed_us: 10,
        note: None,
    }))
}

pub(crate) fn back_query() -> Query {
    Query::Bytes(Pattern::parse("\"ab\"").unwrap())
}

pub(crate) fn wrote(offset: u64, old: &[u8], new: &[u8]) -> Outcome {
    Outcome {
        op: Op::Write {
            offset,
            bytes: new.to_vec(),
        },
        result: Ok(Done::Wrote {
            offset,
            old: old.to_vec(),
            new: new.to_vec(),
            padding: 0,
        }),
        elapsed: std::time::Duration::from_micros(5),
        faults: (1, 0),
        smaps_delta: vec![(crate::sys::proc::maps::SmapsField::PrivateDirty, 4096)],
        call: format!("write 0x{offset:x}"),
        notes: Vec::new(),
    }
}

pub(crate) fn only_exec(cmds: Vec<Command>) -> (Op, History) {
    match cmds.as_slice() {
        [Command::Exec { op, history, .. }] => (op.clone(), *history),
        other => panic!("expected one Exec, got {other:?}"),
    }
}

/// An msync of page `first` that cleaned it.
pub(crate) fn msynced(first: u64) -> Outcome {
    Outcome {
        op: Op::Msync(SyncKind::Sync, Scope::Page(first)),
        result: Ok(Done::Synced {
            kind: SyncKind::Sync,
            first,
            count: 1,
            dirty_before: Some(1),
            dirty_after: Some(0),
        }),
        ..wrote(0, &[], &[])
    }
}

pub(crate) fn typed(m: &mut Model, text: &str) -> Vec<Command> {
    for c in text.chars() {
        update(m, Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))));
    }
    update(m, Action::Grid(GridAction::Prompt(PromptEdit::Submit)))
}

/// A probe of `m`'s mapping with `bytes` from offset 0 and the file `size`.
pub(crate) fn probed(m: &mut Model, bytes: &[u8], size: Option<u64>, now_ms: u64) {
    let mut snap = m.snap.clone();
    snap.probed.bytes = crate::sys::probe::snapshot::ViewBytes {
        start: 0,
        data: bytes.iter().map(|b| Some(*b)).collect(),
        unread: Vec::new(),
    };
    snap.shape.geometry.file_size = size;
    update(
        m,
        Event::Probed {
            snap: Box::new(snap),
            now_ms,
            clock: "00:00:01".into(),
            fresh: false,
        },
    );
}

pub(crate) fn outcome(op: Op, done: Done) -> Outcome {
    Outcome {
        op,
        result: Ok(done),
        elapsed: std::time::Duration::from_micros(5),
        faults: (0, 0),
        smaps_delta: Vec::new(),
        call: "call".into(),
        notes: Vec::new(),
    }
}

pub(crate) fn file_model(pages: u64, size: u64) -> Model {
    let mut m = model(pages, (80, 24));
    m.snap.shape.backing = Backing::File {
        path: "/tmp/demo.txt".into(),
        writable: true,
        regular: true,
    };
    m.snap.shape.mode = MapMode::Private;
    m.snap.shape.geometry.file_size = Some(size);
    m
}

pub(crate) fn logged(m: &Model) -> Vec<&str> {
    m.log.lines.iter().map(|l| l.text.as_str()).collect()
}

/// The text of the newest log line (the tests' model has one after every key they check).
pub(crate) fn last_log(m: &Model) -> &str {
    &m.log.lines.last().expect("a log line").text
}
