//! What a session reads of a process's /proc besides the pages on screen: the smaps counters
//! of the VMA explored, the maps text of the side panel, and the address-space view (every
//! VMA with its Rss, from one read of smaps). All of it goes through the process's handle
//! (`sys::attach::handle`), and each kind is read again only when its measured cost allows: in a
//! process of 30,000 VMAs one read of smaps costs the kernel ~100 ms of page-table walking,
//! and so does the smaps of one 8 GiB resident VMA; read every refresh, that was 35-60% of a
//! core for an idle screen. A read waits at least `SMAPS_PACE` (`MAPS_PACE`) times what the
//! last one cost, so such reads take at most 0.5% (0.25%) of a core; the screen says how old
//! the counters are when they are older than a refresh. smaps is read on the reader's thread,
//! the screen never waits for it but on a VMA's first screen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sys::attach::paced::{Pace, SmapsAnswer, SmapsAsk, SmapsReader, SmapsWant};

use crate::sys::attach::handle::ProcessHandle;
use crate::sys::probe::snapshot::Snapshot;
use crate::sys::proc::maps::{self, MapsLine, Vma};
use crate::sys::proc::process::{self, VmaSummary};

/// smaps is read again no sooner than this many times the last read's cost: 0.5% of a core
/// (with the screen's own refresh, about 0.7% of a core idle, and the maps text, an idle
/// explorer stays under 2% however costly the process's smaps).
pub const SMAPS_PACE: u32 = 200;
/// The maps text (the side panel), no sooner than this many times its cost: 0.25% of a core.
pub const MAPS_PACE: u32 = 400;
/// The maps text and the address-space view are read at most once a second.
pub const SPACE_PERIOD: Duration = Duration::from_secs(1);
/// How long a VMA's first screen waits for its counters.
const FIRST_COUNTERS: Duration = Duration::from_millis(200);
/// How long the address-space view's first reading of smaps is waited for; past it the view
/// shows the maps lines (kinds, names, sizes) and the counters follow when read: smaps of
/// 30,000 VMAs is a page-table walk of ~110 ms in the kernel.
const FIRST_SPACE: Duration = Duration::from_millis(25);

/// The explored VMA's counters as last read.
#[derive(Debug)]
struct Counters {
    ask: SmapsAsk,
    vma: Option<Vma>,
    count: usize,
    pace: Pace,
    problem: Option<String>,
}

/// A process's maps text as last read.
#[derive(Debug)]
struct MapsRead {
    handle: Arc<ProcessHandle>,
    pace: Pace,
    maps: Result<Arc<Vec<MapsLine>>, String>,
}

/// The address space as last read, for its view.
#[derive(Debug, Clone)]
pub struct Space {
    pub vmas: Vec<VmaSummary>,
    /// Why the last reading failed, if it did (the VMAs are then the previous ones).
    pub problem: Option<String>,
    /// What it could not find (thread stacks), in words.
    pub note: Option<String>,
    /// When it was read.
    pub read_at: Instant,
}

/// The paced readings of the processes a session looks at. See the module's words.
#[derive(Debug, Default)]
pub struct Watch {
    smaps: SmapsReader,
    counters: Option<Counters>,
    maps: Option<MapsRead>,
    space: Option<(SmapsAsk, Pace, Space)>,
    /// What the address-space view was told last (its reading's time).
    space_told: Option<Instant>,
    /// Where the mapping mmapscope made lies, for the kinds of our own VMAs.
    ours: Option<(u64, u64)>,
    /// The VMA (start, end) whose first counters are not waited for: a jump shows the bytes
    /// at once, the counters follow from the reader thread (in a 30,000-VMA process the first
    /// read of a late VMA walks every VMA before it: up to 200 ms).
    no_wait: Option<(u64, u64)>,
}

impl Watch {
    /// Takes in what the reader thread answered.
    fn take(&mut self, answers: Vec<SmapsAnswer>) {
        for a in answers {
            let mut pace = Pace::default();
            pace.record_at(a.ended, a.took);
            match a.ask.want {
                SmapsWant::Range { .. } => self.take_counters(a.ask, a.read, pace),
                SmapsWant::All => self.take_space(a.ask, a.read, pace, a.ended),
            }
        }
    }

    fn take_counters(
        &mut self,
        ask: SmapsAsk,
        read: Result<(Vec<Vma>, Vec<MapsLine>), crate::sys::SysError>,
        pace: Pace,
    ) {
        let old = self.counters.take().filter(|c| c.ask == ask);
        self.counters = Some(match read {
            Ok((vmas, _)) => Counters {
                ask,
                vma: maps::total(&vmas),
                count: vmas.len(),
                pace,
                problem: None,
            },
            // The last values stay, with why they are not new.
            Err(e) => Counters {
                ask,
                vma: old.as_ref().and_then(|c| c.vma.clone()),
                count: old.as_ref().map_or(0, |c| c.count),
                pace,
                problem: Some(e.to_string()),
            },
        });
    }

    fn take_space(
        &mut self,
        ask: SmapsAsk,
        read: Result<(Vec<Vma>, Vec<MapsLine>), crate::sys::SysError>,
        pace: Pace,
        read_at: Instant,
    ) {
        let old = self.space.take().filter(|(a, ..)| *a == ask).map(|s| s.2);
        let space = match read {
            Ok((vmas, lines)) => {
                let (vmas, note) = ask.handle.labelled(process::summaries(
                    lines,
                    &vmas,
                    &ask.handle.exe(),
                    self.ours,
                ));
                Space {
                    vmas,
                    problem: None,
                    note,
                    read_at,
                }
            }
            Err(e) => Space {
                note: old.as_ref().and_then(|s| s.note.clone()),
                vmas: old.map(|s| s.vmas).unwrap_or_default(),
                problem: Some(match ask.handle.gone() {
                    Some(g) => format!("{} (last state)", g.header()),
                    None => e.to_string(),
                }),
                read_at,
            },
        };
        self.space = Some((ask, pace, space));
    }

    /// Fills `snap` with the smaps counters of the VMA of `line` in the process of `handle`:
    /// the first time asked and waited for a moment (a first screen says the counters), then
    /// read again in the background when the last read's cost allows, never within a
    /// `refresh` interval. `ask`: whether reading is wanted at all (not while the
    /// address-space view covers the counters: the view's own reading is not kept waiting
    /// behind them). The snapshot says how old they are.
    pub fn counters(
        &mut self,
        handle: &Arc<ProcessHandle>,
        line: &MapsLine,
        refresh: Duration,
        ask: bool,
        snap: &mut Snapshot,
    ) {
        let answers = self.smaps.answers();
        self.take(answers);
        let want = SmapsAsk {
            handle: Arc::clone(handle),
            want: SmapsWant::Range {
                start: line.start,
                end: line.end,
            },
        };
        let known = self.counters.as_ref().filter(|c| c.ask == want);
        let hurry = self.no_wait == Some((line.start, line.end));
        if known.is_none() && ask && hurry {
            // Asked (once: the reader drops a repeat); a later refresh takes the answer in.
            self.smaps.ask(&want);
            snap.readings.vma_pending = true;
        } else if known.is_none() && ask {
            self.smaps.ask(&want);
            let answers = self.smaps.wait_for(&want, FIRST_COUNTERS);
            self.take(answers);
        } else if ask
            && handle.gone().is_none()
            && known.is_some_and(|c| c.pace.due(refresh, SMAPS_PACE))
        {
            self.smaps.ask(&want);
        }
        if let Some(c) = self.counters.as_ref().filter(|c| c.ask == want) {
            snap.readings.vma.clone_from(&c.vma);
            snap.readings.vma_count = c.count;
            snap.readings.vma_age_ms = c
                .pace
                .age()
                .map_or(0, |a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX));
            if let Some(p) = &c.problem {
                snap.notes.problem.get_or_insert_with(|| p.clone());
            }
        }
    }

    /// The first counters of the VMA `start..end` are not waited for (a jump to it).
    pub fn no_wait(&mut self, start: u64, end: u64) {
        self.no_wait = Some((start, end));
    }

    /// The maps of the process of `handle`, through it: read again when the last read's cost
    /// allows (and at most once a second), or at once when `changed` (the VMA explored is
    /// not as it was) or another process is shown.
    pub fn maps(
        &mut self,
        handle: &Arc<ProcessHandle>,
        changed: bool,
    ) -> Result<Arc<Vec<MapsLine>>, String> {
        let due = match &self.maps {
            Some(m) if Arc::ptr_eq(&m.handle, handle) => {
                changed || (handle.gone().is_none() && m.pace.due(SPACE_PERIOD, MAPS_PACE))
            }
            _ => true,
        };
        if due {
            let started = Instant::now();
            let maps = handle.maps().map(Arc::new).map_err(|e| e.to_string());
            let mut pace = Pace::default();
            pace.record(started);
            self.maps = Some(MapsRead {
                handle: Arc::clone(handle),
                pace,
                maps,
            });
        }
        self.maps
            .as_ref()
            .map_or_else(|| Ok(Arc::default()), |m| m.maps.clone())
    }

    /// Takes `maps` of the process of `handle`, read since `started`, as the last reading.
    pub fn seed_maps(
        &mut self,
        handle: &Arc<ProcessHandle>,
        maps: Vec<MapsLine>,
        started: Instant,
    ) {
        let mut pace = Pace::default();
        pace.record(started);
        self.maps = Some(MapsRead {
            handle: Arc::clone(handle),
            pace,
            maps: Ok(Arc::new(maps)),
        });
    }

    /// The address space of the process of `handle` for its view (`ours`: the mapping
    /// mmapscope made, in our own process): the first time waited for, then read again in
    /// the background when its cost allows. Returns a reading the view has not been given
    /// yet (all of it when `again`: the view was opened anew and holds none).
    pub fn space(
        &mut self,
        handle: &Arc<ProcessHandle>,
        ours: Option<(u64, u64)>,
        again: bool,
    ) -> Option<Space> {
        self.ours = ours;
        let answers = self.smaps.answers();
        self.take(answers);
        let want = SmapsAsk {
            handle: Arc::clone(handle),
            want: SmapsWant::All,
        };
        let known = self.space.as_ref().filter(|(a, ..)| *a == want);
        if known.is_none() {
            if !self.smaps.asked(&want) {
                self.smaps.ask(&want);
            }
            // Only a view that has nothing to show waits, and only a moment.
            if again {
                let answers = self.smaps.wait_for(&want, FIRST_SPACE);
                self.take(answers);
                if self.space.as_ref().filter(|(a, ..)| *a == want).is_none() {
                    return self.space_from_maps(handle);
                }
            }
        } else if handle.gone().is_none()
            && known.is_some_and(|(_, pace, _)| pace.due(SPACE_PERIOD, SMAPS_PACE))
        {
            self.smaps.ask(&want);
        }
        let (_, _, space) = self.space.as_ref().filter(|(a, ..)| *a == want)?;
        if !again && self.space_told == Some(space.read_at) {
            return None;
        }
        self.space_told = Some(space.read_at);
        Some(space.clone())
    }

    /// The address space from the maps text alone (kinds, names, sizes; no counters yet),
    /// for a view opened before smaps is read.
    fn space_from_maps(&mut self, handle: &Arc<ProcessHandle>) -> Option<Space> {
        let lines = self.maps(handle, false).ok()?;
        let read_at = Instant::now();
        let (vmas, _) = handle.labelled(process::summaries(
            lines.to_vec(),
            &[],
            &handle.exe(),
            self.ours,
        ));
        Some(Space {
            vmas,
            problem: None,
            note: Some(
                "Rss, Pss, USS: reading smaps (a page-table walk of every VMA in the kernel)"
                    .into(),
            ),
            read_at,
        })
    }

    /// Forgets every reading (a process reopened after exec is another memory).
    pub fn forget(&mut self) {
        self.counters = None;
        self.maps = None;
        self.space = None;
        self.space_told = None;
    }
}
