//! What the refreshes saw of the mapping shown (the minimap, bytes changed by another process,
//! the changes that were our own, the smaps counters' deltas), reset as one when another
//! mapping is shown, and how a new snapshot is taken into the model (what it logs).

use std::collections::BTreeMap;

use super::{Minimap, Model};
use crate::geometry::Grown;
use crate::sys::probe::snapshot::Snapshot;
use crate::sys::proc::maps::SmapsField;

/// How long bytes changed by another process stay highlighted.
pub const FOREIGN_HOLD_MS: u64 = 3000;

/// How long a changed smaps counter keeps showing its change.
pub const DELTA_HOLD_MS: u64 = 5000;

/// What the refreshes saw of the mapping shown; it means nothing for another one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seen {
    /// What is known of every chunk of the mapping, for the minimap.
    pub minimap: Minimap,
    /// Bytes on screen changed by someone else, with when it was seen.
    pub foreign: BTreeMap<u64, u64>,
    /// Ranges this tool wrote since the last snapshot (not someone else's change).
    pub own_writes: Vec<(u64, u64)>,
    /// The file size our own truncate left, until the next snapshot (its log line already
    /// said what the change means).
    pub own_size: Option<u64>,
    /// The last change of each smaps counter (indexed by `SmapsField::index`).
    pub deltas: [Option<Delta>; SmapsField::ALL.len()],
}

/// A change of one smaps counter: value before, when it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub before: u64,
    pub at_ms: u64,
}

impl Model {
    /// Takes a new snapshot, recording which smaps counters changed since the previous one.
    pub fn apply_snapshot(&mut self, snap: Snapshot, now_ms: u64) {
        if let (Some(old), Some(new)) = (&self.snap.readings.vma, &snap.readings.vma) {
            for field in SmapsField::ALL {
                let (before, after) = (field.of(old), field.of(new));
                if before != after {
                    self.seen.deltas[field.index()] = Some(Delta {
                        before,
                        at_ms: now_ms,
                    });
                }
            }
        }
        if snap.notes.path_note.is_some() && snap.notes.path_note != self.snap.notes.path_note {
            let note = snap.notes.path_note.clone().unwrap_or_default();
            self.log(note);
        }
        // Sizes are compared within one mapping only: exploring another VMA (ld.so after the
        // demo file), or coming back, changes no file.
        let same = self.snap.shape.addr == snap.shape.addr
            && self.snap.shape.backing == snap.shape.backing;
        let (before, after) = if same {
            (
                self.snap.shape.geometry.file_size,
                snap.shape.geometry.file_size,
            )
        } else {
            (None, None)
        };
        let ours = self.seen.own_size.take().is_some_and(|s| after == Some(s));
        self.seen.minimap.take(&snap, before, now_ms);
        let changed = self.foreign_changes(&snap);
        self.snap = snap;
        self.log.now_ms = now_ms;
        self.seen.own_writes.clear();
        self.seen
            .foreign
            .retain(|_, at| now_ms.saturating_sub(*at) < FOREIGN_HOLD_MS);
        if !changed.is_empty() {
            let first = changed[0];
            // In a replay the bytes differ because another frame is shown, not because a
            // process wrote them now.
            let by = if self.time.replay.is_some() {
                "since the frame shown before"
            } else {
                "by another process"
            };
            let text = format!(
                "{} on screen changed {by} (highlighted), first at 0x{first:x}",
                if changed.len() == 1 {
                    "1 byte".to_string()
                } else {
                    format!("{} bytes", changed.len())
                }
            );
            // A peer writing all the time would flood the log: one line, counting the changes.
            match self.log.lines.last_mut() {
                Some(last) if last.foreign_seen.is_some() => {
                    let seen = last.foreign_seen.unwrap_or(1) + 1;
                    last.text = format!("{text} · seen {seen} times");
                    last.foreign_seen = Some(seen);
                    last.time.clone_from(&self.log.clock);
                }
                _ => {
                    self.log(text);
                    if let Some(last) = self.log.lines.last_mut() {
                        last.foreign_seen = Some(1);
                    }
                }
            }
            for off in changed {
                self.seen.foreign.insert(off, now_ms);
            }
        }
        if !ours {
            self.log_size_change(before, after);
        }
        // The file may have shrunk or grown; the mapping's length does not change.
        self.doc.cursor = self.doc.cursor.min(self.max_cursor());
        self.scroll_to_cursor();
    }

    /// Logs a change of the file's size from `before` to `after` seen by a refresh, in words
    /// from what the new bytes on screen hold (`Grown`).
    fn log_size_change(&mut self, before: Option<u64>, after: Option<u64>) {
        let (Some(before), Some(after)) = (before, after) else {
            return;
        };
        if before == after {
            return;
        }
        let g = self.snap.shape.geometry;
        let grown = Grown::of(
            g.grown_bytes(before, after)
                .map(|o| self.snap.probed.bytes.get(o)),
        );
        let verb = if after < before { "shrank" } else { "grew" };
        let notes = g.size_change(before, after, grown);
        self.log(format!(
            "the file {verb} under the mapping: {} B -> {} B; {}",
            crate::text::thousands(before),
            crate::text::thousands(after),
            notes.join("; ")
        ));
    }

    /// Offsets visible in both the current and the new snapshot whose bytes differ, and that
    /// this tool did not write: someone else's stores (another process's shared mapping, or
    /// write(2) to the file).
    fn foreign_changes(&self, new: &Snapshot) -> Vec<u64> {
        let old = &self.snap.probed.bytes;
        if self.snap.shape.addr != new.shape.addr {
            return Vec::new();
        }
        let start = old.start.max(new.probed.bytes.start);
        let end = (old.start + old.data.len() as u64)
            .min(new.probed.bytes.start + new.probed.bytes.data.len() as u64);
        (start..end)
            .filter(|&off| {
                let (a, b) = (old.get(off), new.probed.bytes.get(off));
                a.is_some() && b.is_some() && a != b
            })
            .filter(|off| {
                !self
                    .seen
                    .own_writes
                    .iter()
                    .any(|(o, n)| (*o..o.saturating_add(*n)).contains(off))
            })
            .collect()
    }
}
