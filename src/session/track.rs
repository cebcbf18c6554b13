//! The session's side of tracking since the mark: the written set of the mapping we made
//! (`sys::track::written`, started at the first mark, re-armed at each next one, read at each
//! refresh while a mark stands) and, with `--track-access` on another process, clearing its
//! accessed bits at the mark through the write gate (`sys::track::access`). What they read goes
//! to the model as events; nothing here is read before a mark is set, so a session without
//! one never registers anything (VmFlags stays without `uw`).

use crate::action::Event;
use crate::model::{Access, Written};
use crate::sys::SysError;
use crate::sys::ops::gate;
use crate::sys::track::access;
use crate::sys::track::written::WriteTracker;
use crate::update::update;

use super::Session;
use super::subject::Subject;

/// The written set's state in a session on our own mapping.
#[derive(Debug, Default)]
pub(super) enum Tracking {
    /// No mark yet: nothing registered.
    #[default]
    Off,
    /// Tracking since the mark; the restart note stays until the next mark.
    On {
        tracker: WriteTracker,
        restarted: Option<String>,
    },
    /// The kernel cannot track this mapping: why.
    Cannot(String),
}

/// Why another process's pages have no written set.
const NOT_OURS: &str = "not tracked: userfaultfd write-protects only the caller's own memory; \
                        for another process, --track-access gives the bytes touched per VMA";
/// Why a recording replayed has none.
const NOT_LIVE: &str = "not tracked: a recording keeps page states and bytes, not the pages \
                        written between its frames; `changed` has the dirty transitions";
/// Why a VMA of our own process we did not map has none.
const NOT_MADE: &str = "not tracked: a VMA mmapscope did not map belongs to the program itself; \
                        registering it would change how its writes fault";

impl Session {
    /// `--track-access` (with `--pid`): at each mark, the process's accessed bits are cleared,
    /// so that each VMA's `Referenced` counts what it touched since. The option is the consent.
    ///
    /// # Errors
    /// EINVAL when the session is not on another process.
    pub fn set_track_access(&mut self, on: bool) -> Result<(), SysError> {
        match &mut self.subject {
            Subject::Other { attached, .. } => {
                attached.track_access = on;
                Ok(())
            }
            Subject::Ours { .. } => Err(SysError::new(
                libc::EINVAL,
                "--track-access",
                "--track-access is for another process (--pid): our own mapping tracks writes \
                 exactly",
            )),
            Subject::Recorded(_) => Err(SysError::new(
                libc::EINVAL,
                "--track-access",
                "--track-access is for a live process: a recording replayed changes nothing",
            )),
        }
    }

    /// A mark was set: start the written set (or re-arm it: a new, empty set) on our mapping;
    /// on another process with `--track-access`, clear its accessed bits (through the gate).
    pub fn track_at_mark(&mut self) {
        match &mut self.subject {
            // A VMA of our own process we did not map is not tracked (`read_written` says why),
            // nor a recording (nothing live).
            Subject::Ours {
                explored: Some(_), ..
            }
            | Subject::Recorded(_) => {}
            Subject::Ours { region, track, .. } => {
                let next = match std::mem::take(track) {
                    Tracking::On { mut tracker, .. } => match tracker.rearm(&*region) {
                        Ok(()) => Tracking::On {
                            tracker,
                            restarted: None,
                        },
                        Err(why) => Tracking::Cannot(why),
                    },
                    Tracking::Off | Tracking::Cannot(_) => match WriteTracker::start(&*region) {
                        Ok(tracker) => Tracking::On {
                            tracker,
                            restarted: None,
                        },
                        Err(why) => Tracking::Cannot(why),
                    },
                };
                *track = next;
            }
            Subject::Other { attached, .. } => {
                let handle = &attached.handle;
                // Not asked (no --track-access): nothing cleared, nothing to say at each mark.
                if attached.track_access {
                    let refused = gate::clear_refs_refusal(
                        attached.track_access,
                        Some(handle.pid()),
                        handle.status(),
                    );
                    let cleared = match refused {
                        Some(refused) => Err(refused.to_string()),
                        None => access::clear(handle).map_err(|e| e.to_string()),
                    };
                    let per_page = access::per_page().words();
                    update(&mut self.model, Event::Access(Access { cleared, per_page }));
                }
            }
        }
        self.read_written();
    }

    /// After a refresh without a mark: a written set still running stops (the mark was
    /// dropped).
    pub(super) fn untrack_if_tracking(&mut self) {
        let tracking = matches!(
            &self.subject,
            Subject::Ours {
                track: Tracking::On { .. } | Tracking::Cannot(_),
                ..
            }
        );
        if tracking || self.model.time.written.is_some() {
            self.untrack();
        }
    }

    /// The mark was dropped: the written set stops (the registration goes: VmFlags loses
    /// `uw`).
    pub fn untrack(&mut self) {
        if let Subject::Ours { track, .. } = &mut self.subject {
            *track = Tracking::Off;
        }
        update(&mut self.model, Event::Written(None));
    }

    /// The written set now, into the model (only once a mark started it).
    pub(super) fn read_written(&mut self) {
        let written = match &mut self.subject {
            Subject::Ours {
                track: Tracking::Off,
                ..
            } => return,
            Subject::Ours {
                explored: Some(_), ..
            } => not_known(NOT_MADE),
            Subject::Other { .. } => not_known(NOT_OURS),
            Subject::Recorded(_) => not_known(NOT_LIVE),
            Subject::Ours { region, track, .. } => written_of(track, region),
        };
        update(&mut self.model, Event::Written(Some(written)));
    }
}

impl Session {
    /// `diff`'s `access`: with `--track-access` after a mark, whether the bits were cleared,
    /// what per page says, and each VMA's `Referenced` since (bytes touched, a lower bound)
    /// beside its `Rss`; null otherwise.
    pub(super) fn access_json(&self) -> serde_json::Value {
        let (Some(access), Some(handle)) = (&self.model.time.access, self.subject.attached())
        else {
            return serde_json::Value::Null;
        };
        let vmas = match &access.cleared {
            Ok(()) => access::touched(handle).map_err(|e| e.to_string()),
            Err(why) => Err(why.clone()),
        };
        serde_json::json!({
            "cleared": access.cleared.is_ok(),
            "why_not": vmas.as_ref().err(),
            "per_page": access.per_page,
            "vmas": vmas.as_ref().ok(),
        })
    }
}

/// A written set that is not known, and why.
fn not_known(why: &str) -> Written {
    Written {
        exact: false,
        source: why.to_string(),
        ..Written::default()
    }
}

/// The set `track` reads now on `region`.
fn written_of(track: &mut Tracking, region: &crate::sys::map::region::Region) -> Written {
    let (tracker, restarted) = match track {
        Tracking::Off => return not_known("no mark: press b"),
        Tracking::Cannot(why) => return not_known(why),
        Tracking::On { tracker, restarted } => (tracker, restarted),
    };
    match tracker.written(region) {
        Ok(set) => {
            if set.restarted.is_some() {
                *restarted = set.restarted;
            }
            Written {
                pages: set.runs,
                exact: true,
                source: tracker.source().sentence,
                restarted: restarted.clone(),
            }
        }
        Err(why) => {
            *track = Tracking::Cannot(why.clone());
            not_known(&why)
        }
    }
}
