//! What the session brings in that belongs to no other feature: a probe, a note, the end of
//! the peer or of the forked child.

use crate::model::Model;
use crate::sys::probe::snapshot::Snapshot;

/// A fresh probe at `now_ms`, wall-clock `clock`; `fresh`: the first, whose changes are not
/// news.
pub(super) fn probed(model: &mut Model, snap: Snapshot, now_ms: u64, clock: String, fresh: bool) {
    model.log.clock = clock;
    model.apply_snapshot(snap, now_ms);
    if fresh {
        model.seen.deltas = Default::default();
    }
}

/// A line for the log (an empty one says nothing).
pub(super) fn note(model: &mut Model, text: String) {
    if !text.is_empty() {
        model.log(text);
    }
}

/// The peer process ended on its own.
pub(super) fn peer_ended(model: &mut Model, pid: u32, how: &str) {
    model.lab.peer_running = false;
    model.log(format!(
        "the peer process (pid {pid}) ended on its own: {how}"
    ));
}

/// The child keeping the mapping ended on its own (killed from outside).
pub(super) fn child_ended(model: &mut Model, pid: u32, how: &str) {
    model.lab.child = None;
    model.log(format!(
        "the child keeping the mapping (pid {pid}) ended on its own: {how}"
    ));
}
