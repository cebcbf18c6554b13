//! A recording replayed (`mmapscope replay FILE`): the session's subject is a frame of it, not a
//! live mapping. The frame shown is decoded once (`Recording::frame`) and every refresh draws
//! from it: the grid's page states and bytes, the minimap, the side panel's maps and smaps, the
//! address-space view and the page map, all built here from the frame's plain data, so nothing
//! of the kernel is asked. Operations never get this far: the write gate refuses them all
//! (`gate::Shown::Recording`) but `export`, which draws the model into a new file. `:` and `/` search the frame's page-state runs and bytes. The
//! session's side (opening, stepping, the refresh, the hooks) is `replaying.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rustix::mm::Advice;

use crate::action::Event;
use crate::geometry::Geometry;
use crate::model::time::{FlagRun, KeptPage, MARK_BYTES_MAX, Mark, MarkVma, Marked, flag_runs};
use crate::model::{Looking, Model, PageMapSlice, Replay};
use crate::record::{EventKind, Frame, RecordError, RecordedMapping, Recording, Subject as What};
use crate::search::query::{Ending, Finished, Matcher, Query, Request};
use crate::sys::SysError;
use crate::sys::attach::locate::Located;
use crate::sys::map::range::Mapped;
use crate::sys::map::region::CacheStat;
use crate::sys::map::request::{FileKind, MapMode, Prot};
use crate::sys::probe::chunks::{Bucket, Chunks};
use crate::sys::probe::snapshot::{Backing, Snapshot, View, ViewBytes, VisiblePage};
use crate::sys::probe::state::{PageProbe, PageState, StateRun};
use crate::sys::proc::maps::{MapsLine, Pid, Vma};

/// A recording open for replay, and the frame shown.
pub(super) struct Replayed {
    recording: Recording,
    /// The frame shown (`at`), decoded; its maps lines shared with the snapshots drawn.
    pub(super) frame: Frame,
    maps: Arc<Vec<MapsLine>>,
    at: usize,
    /// The VMA shown, by its start address: a recorded mapping, or any VMA of the frame
    /// (explored from the address-space view: its pages were not recorded).
    shown: u64,
    /// Its shape in the frame shown, for the session's readers of what is shown.
    still: Still,
    /// The frame whose VMAs the address-space view has (sent again when another is shown).
    pub(super) space_sent: Option<usize>,
}

impl Replayed {
    /// Opens `path` on its first frame, showing its first recorded mapping.
    ///
    /// # Errors
    /// The recording's own: not one, damaged, a newer schema, I/O.
    pub(super) fn open(path: &Path) -> Result<Self, RecordError> {
        let recording = Recording::open(path)?;
        let mut frame = recording.frame(0)?;
        let shown = first_shown(&frame);
        let maps = Arc::new(std::mem::take(&mut frame.maps));
        let still = Still::of(&frame, &maps, shown, recording.header().page_size);
        Ok(Self {
            recording,
            frame,
            maps,
            at: 0,
            shown,
            still,
            space_sent: None,
        })
    }

    /// The timeline of the recording, for the model.
    pub(super) fn timeline(&self) -> Replay {
        let n = self.recording.len();
        let times = (0..n)
            .map(|i| self.recording.time_ms(i).unwrap_or(0))
            .collect();
        let changes = (0..n).filter(|&i| self.recording.changed(i)).collect();
        let interval = self.recording.header().interval_ms;
        let mut replay = Replay::new(self.title(), times, changes, interval);
        replay.cut_short = self.recording.cut_short().map(|c| {
            format!(
                "cut short: the recorder stopped during a write, and the {} bytes from byte {} \
                 are not a whole frame (the {n} frames before them are shown)",
                crate::text::thousands(c.partial_bytes),
                crate::text::thousands(c.offset)
            )
        });
        replay
    }

    /// What was recorded, in words.
    pub(super) fn title(&self) -> String {
        let h = self.recording.header();
        let what = match &h.subject {
            What::File { path, .. } => crate::text::sanitize(path),
            What::Anon { len } => format!("--anon {}", crate::text::human(*len)),
            What::Process { pid, comm, .. } => {
                format!("pid {pid} {}", crate::text::sanitize(comm))
            }
        };
        format!(
            "recording of {what} by {}",
            crate::text::sanitize(&h.session)
        )
    }

    /// Shows frame `n` (decoded here; the one shown already costs nothing).
    ///
    /// # Errors
    /// The frame could not be decoded (the file was damaged after it was opened).
    pub(super) fn show(&mut self, n: usize) -> Result<(), RecordError> {
        if n == self.at {
            return Ok(());
        }
        let mut frame = self.recording.frame(n)?;
        self.maps = Arc::new(std::mem::take(&mut frame.maps));
        self.frame = frame;
        self.at = n;
        self.reshape();
        Ok(())
    }

    /// Shows the VMA that starts at `start` (a line of the frame's maps).
    pub(super) fn explore(&mut self, start: u64) {
        self.shown = start;
        self.reshape();
    }

    /// Back to the first recorded mapping.
    pub(super) fn explore_back(&mut self) {
        self.explore(first_shown(&self.frame));
    }

    fn reshape(&mut self) {
        let ps = self.recording.header().page_size;
        self.still = Still::of(&self.frame, &self.maps, self.shown, ps);
    }

    /// The shape of what is shown, for the session's readers.
    pub(super) fn still(&self) -> &Still {
        &self.still
    }

    /// The maps line holding `addr` in the frame shown, or the lines either side of the gap.
    pub(super) fn locate(&self, addr: u64) -> Located {
        let i = self.maps.partition_point(|l| l.end <= addr);
        match self.maps.get(i) {
            Some(l) if l.start <= addr => Located::Inside(l.clone()),
            after => Located::Gap {
                before: i.checked_sub(1).and_then(|j| self.maps.get(j)).cloned(),
                after: after.cloned(),
            },
        }
    }

    /// How the model is told what is shown: for a process, its VMA; in a recording of a file
    /// or anonymous memory, a VMA other than the recorded mapping, as exploring one of our own
    /// says it (Backspace comes back); the recorded mapping is named by the header as live.
    pub(super) fn looking(&self) -> Option<Looking> {
        let (pid, process, other) = match &self.recording.header().subject {
            What::Process { pid, comm, .. } => (
                *pid,
                format!("pid {pid} {}", crate::text::sanitize(comm)),
                true,
            ),
            _ if self.shown == first_shown(&self.frame) => return None,
            _ => (0, "mmapscope (recording)".to_string(), false),
        };
        let line = self.maps.iter().find(|l| l.start == self.shown)?;
        Some(Looking {
            pid,
            process,
            other,
            vma: crate::text::sanitize(
                &crate::sys::attach::foreign::vma_name(line).to_string_lossy(),
            ),
            start: line.start,
            via: "the recording (the bytes of the pages it holds)".to_string(),
            back: !other,
            ended: None,
            reopen: false,
        })
    }
}

/// What the frame shown gives: a mark of it, its events, and the views built from it.
impl Replayed {
    /// A mark of the VMA shown in the frame shown (`b` in a replay): its page states as runs,
    /// the bytes the frame holds of its pages (up to `MARK_BYTES_MAX`), the frame's VMAs with
    /// their counters. Later frames compare with it as live refreshes compare with a mark.
    pub(super) fn mark(&self, at_ms: u64) -> Mark {
        let s = &self.still;
        let ps = s.geometry.page_size.max(1);
        let end = s.addr + s.geometry.map_bytes();
        let cap = usize::try_from(MARK_BYTES_MAX / ps).unwrap_or(usize::MAX);
        let held = self.frame.bytes.range(s.addr..end);
        let kept: Vec<KeptPage> = held
            .clone()
            .take(cap)
            .map(|(a, b)| KeptPage {
                page: (a - s.addr) / ps,
                bytes: b.clone(),
            })
            .collect();
        let unkept = (held.count() - kept.len()) as u64;
        Mark {
            marked: Marked {
                addr: s.addr,
                pages: s.geometry.pages(),
                page_size: ps,
                at_ms,
                clock: crate::text::clock_now(),
            },
            runs: self.flag_runs(),
            kept,
            unkept,
            vmas: Some(self.mark_vmas()),
        }
    }

    /// The frame's VMAs with their counters, as a mark keeps them.
    pub(super) fn mark_vmas(&self) -> Vec<MarkVma> {
        let (maps, smaps) = (self.maps.to_vec(), &self.frame.smaps);
        let vmas = crate::sys::proc::process::summaries(maps, smaps, "", None);
        vmas.iter().map(MarkVma::of).collect()
    }

    /// The page states of the VMA shown in the frame shown, as the mark compares them (none
    /// where its pages were not recorded).
    pub(super) fn flag_runs(&self) -> Vec<FlagRun> {
        self.mapping().map_or_else(Vec::new, |m| {
            flag_runs(m.runs.iter().map(|r| (r.first, r.count, &r.state)))
        })
    }

    /// The events recorded with the frame shown (lesson steps, script lines, notes), in
    /// words, escaped.
    pub(super) fn events(&self) -> Vec<String> {
        self.frame
            .events
            .iter()
            .map(|e| {
                let kind = match e.kind {
                    EventKind::Step => "step",
                    EventKind::Line => "line",
                    EventKind::Note => "note",
                };
                format!("{kind}: {}", crate::text::sanitize(&e.text))
            })
            .collect()
    }

    /// The recorded mapping shown, if its pages were recorded.
    fn mapping(&self) -> Option<&RecordedMapping> {
        self.frame.mappings.iter().find(|m| m.addr == self.shown)
    }

    /// The frame's counters of the VMA shown.
    fn smaps(&self) -> Option<&Vma> {
        self.frame.smaps.iter().find(|v| v.head.start == self.shown)
    }

    /// The snapshot of the rows `view` shows, from the frame: what a refresh draws.
    pub(super) fn snapshot(&self, view: &View) -> Snapshot {
        let s = &self.still;
        let mut snap = Snapshot::empty(s.backing.clone(), s.mode, s.prot, s.addr, s.geometry);
        snap.readings.maps = Ok(Arc::clone(&self.maps));
        snap.readings.vma = self.smaps().cloned();
        snap.readings.vma_count = usize::from(snap.readings.vma.is_some());
        snap.foreign = true;
        snap.write_allowed = false;
        let layout = Chunks::of(s.geometry.pages());
        snap.probed.minimap.layout = layout;
        let Some(m) = self.mapping() else {
            let here = self.maps.iter().any(|l| l.start == self.shown);
            snap.notes.problem = Some(if here {
                format!(
                    "the pages of this VMA were not recorded (frame {}): its maps line and \
                     counters are",
                    self.at
                )
            } else {
                format!(
                    "no VMA starts at 0x{:x} in frame {}: it was unmapped or moved by then \
                     (A lists the frame's VMAs)",
                    self.shown, self.at
                )
            });
            return snap;
        };
        snap.sources = m.sources.clone();
        let pages = s.geometry.pages();
        let first = view.first_page.min(pages);
        let end = first.saturating_add(view.page_count).min(pages);
        snap.probed.pages = (first..end)
            .filter_map(|index| {
                let state = state_at(&m.runs, index)?;
                Some(VisiblePage {
                    index,
                    state,
                    probe: PageProbe::default(),
                })
            })
            .collect();
        snap.probed.bytes = self.bytes(view);
        snap.probed.minimap.probed = (0..layout.count)
            .map(|i| {
                let (f, n) = layout.range(i);
                (i, bucket(&m.runs, &s.geometry, f, n))
            })
            .collect();
        snap
    }

    /// The recorded bytes of the rows `view` shows; pages without recorded bytes are listed
    /// as unread (the grid says they were not recorded).
    fn bytes(&self, view: &View) -> ViewBytes {
        let ps = self.still.geometry.page_size.max(1);
        let len = view.byte_len.min(
            self.still
                .geometry
                .map_bytes()
                .saturating_sub(view.byte_start),
        );
        let mut out = ViewBytes {
            start: view.byte_start,
            data: Vec::with_capacity(usize::try_from(len).unwrap_or(0)),
            unread: Vec::new(),
        };
        for off in view.byte_start..view.byte_start + len {
            let page = off / ps;
            let held = self.frame.bytes.get(&(self.still.addr + page * ps));
            if held.is_none() && out.unread.last() != Some(&page) {
                out.unread.push(page);
            }
            out.data
                .push(held.and_then(|b| b.get(usize::try_from(off % ps).ok()?).copied()));
        }
        out
    }

    /// The address-space view's VMAs of the frame shown, once a frame (`None`: sent already).
    pub(super) fn space(&mut self, model: &Model, now_ms: u64) -> Option<Event> {
        if self.space_sent == Some(self.at) && !model.space.vmas.is_empty() {
            return None;
        }
        self.space_sent = Some(self.at);
        let header = self.recording.header();
        let (who, ours) = match &header.subject {
            What::Process { pid, comm, .. } => {
                (format!("pid {pid} {}", crate::text::sanitize(comm)), None)
            }
            _ => (
                "mmapscope (recording)".to_string(),
                Some((
                    self.still.addr,
                    self.still.addr + self.still.geometry.map_bytes(),
                )),
            ),
        };
        let exe = self
            .maps
            .first()
            .map(|l| l.path.clone())
            .unwrap_or_default();
        let vmas =
            crate::sys::proc::process::summaries(self.maps.to_vec(), &self.frame.smaps, &exe, ours);
        let title = format!(
            "{who} · {} VMAs · frame {}",
            crate::text::thousands(vmas.len() as u64),
            self.at
        );
        Some(Event::SpaceProbed {
            vmas,
            title,
            read_ms: now_ms,
            note: None,
        })
    }

    /// The page map's cells for its window, from the frame.
    pub(super) fn page_map(&self, model: &Model) -> Option<Event> {
        let w = model.page_map_window()?;
        let cells = usize::try_from(w.cells()).unwrap_or(usize::MAX);
        let g = &self.still.geometry;
        let per = w.per_cell.max(1);
        let no_runs = Vec::new();
        let runs = self.mapping().map_or(&no_runs, |m| &m.runs);
        let buckets = (0..w.cells())
            .map(|i| {
                let first = w.first_page().saturating_add(i * per).min(g.pages());
                let n = per.min(g.pages() - first);
                bucket(runs, g, first, n)
            })
            .collect();
        Some(Event::PageMapProbed(PageMapSlice {
            first: w.first_page(),
            per_cell: per,
            cells,
            start: 0,
            buckets,
        }))
    }
}

/// `:` and `/` over the frame shown.
impl Replayed {
    /// The whole VMA shown in cells of `per` pages, from the frame's runs.
    pub(super) fn cells(&self, per: u64) -> crate::model::PageMapData {
        let g = &self.still.geometry;
        let per = per.max(1);
        let no_runs = Vec::new();
        let runs = self.mapping().map_or(&no_runs, |m| &m.runs);
        let buckets = (0..g.pages().div_ceil(per))
            .map(|i| {
                let first = i * per;
                bucket(runs, g, first, per.min(g.pages() - first))
            })
            .collect();
        crate::model::PageMapData {
            first: 0,
            per_cell: per,
            buckets,
        }
    }

    /// A search over the frame shown: a page state over its runs, bytes over its recorded
    /// bytes, from the request's place, wrapping once.
    pub(super) fn find(&self, req: &Request) -> Finished {
        let started = Instant::now();
        let ps = self.still.geometry.page_size.max(1);
        let pages = self.still.geometry.pages();
        let (found, examined, bytes) = match &req.query {
            Query::State(q) => {
                let runs = self.mapping().map_or(&[][..], |m| &m.runs[..]);
                let hit = find_state(runs, pages, req.from / ps, req.forward, |s| q.matches(s));
                (hit.map(|(p, w)| (p * ps, ps, w)), pages, 0)
            }
            Query::Bytes(p) => {
                let (hit, read) = self.find_bytes(&p.bytes, req.from, req.forward);
                (
                    hit.map(|(o, w)| (o, p.bytes.len() as u64, w)),
                    read / ps,
                    read,
                )
            }
        };
        let ending = match found {
            Some((offset, len, wrapped)) => Ending::Found {
                offset,
                len,
                wrapped,
            },
            None => Ending::NotFound,
        };
        Finished {
            id: req.id,
            query: req.query.clone(),
            forward: req.forward,
            ending,
            examined,
            cleared: examined,
            skipped: 0,
            bytes,
            elapsed_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            note: Some(format!("in frame {} as recorded", self.at)),
        }
    }

    /// The recorded bytes of the mapping shown, in runs of consecutive pages, searched for
    /// `needle` after (or before) mapping offset `from`, wrapping once. Returns the offset
    /// found with whether it wrapped, and the bytes looked at.
    fn find_bytes(&self, needle: &[u8], from: u64, forward: bool) -> (Option<(u64, bool)>, u64) {
        let s = &self.still;
        let (start, end) = (s.addr, s.addr + s.geometry.map_bytes());
        // Runs of consecutive recorded pages: (mapping offset, bytes).
        let mut runs: Vec<(u64, Vec<u8>)> = Vec::new();
        for (&addr, b) in self.frame.bytes.range(start..end) {
            let off = addr - start;
            match runs.last_mut() {
                Some((o, v)) if *o + v.len() as u64 == off => v.extend_from_slice(b),
                _ => runs.push((off, b.clone())),
            }
        }
        let read: u64 = runs.iter().map(|(_, v)| v.len() as u64).sum();
        let m = Matcher::new(needle);
        let mut hits = runs
            .iter()
            .flat_map(|(o, v)| all_matches(&m, v).into_iter().map(move |i| o + i as u64));
        let found = if forward {
            let all: Vec<u64> = hits.collect();
            all.iter()
                .find(|&&h| h > from)
                .map(|&h| (h, false))
                .or_else(|| all.first().map(|&h| (h, true)))
        } else {
            let mut last_before = None;
            let mut last = None;
            for h in hits.by_ref() {
                if h < from {
                    last_before = Some(h);
                }
                last = Some(h);
            }
            last_before.map(|h| (h, false)).or(last.map(|h| (h, true)))
        };
        (found, read)
    }
}

/// Every place `m` matches in `hay`.
fn all_matches(m: &Matcher, hay: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = hay.get(at..).and_then(|h| m.find(h)) {
        out.push(at + i);
        at += i + 1;
    }
    out
}

/// The page after (or before) page `from` whose state matches, wrapping once; with whether it
/// wrapped. Over runs: the cost is the runs', not the pages'.
fn find_state(
    runs: &[StateRun],
    pages: u64,
    from: u64,
    forward: bool,
    hit: impl Fn(&PageState) -> bool,
) -> Option<(u64, bool)> {
    let matching = || runs.iter().filter(|r| hit(&r.state) && r.first < pages);
    if forward {
        let after = matching()
            .filter(|r| r.first + r.count > from + 1)
            .map(|r| r.first.max(from + 1))
            .next();
        after
            .map(|p| (p, false))
            .or_else(|| matching().next().map(|r| (r.first, true)))
    } else {
        let before = matching()
            .filter(|r| r.first < from)
            .map(|r| (r.first + r.count - 1).min(from - 1))
            .last();
        before.map(|p| (p, false)).or_else(|| {
            matching()
                .last()
                .map(|r| ((r.first + r.count - 1).min(pages - 1), true))
        })
    }
}

/// The recorded state of page `index`, if a run covers it.
fn state_at(runs: &[StateRun], index: u64) -> Option<PageState> {
    let i = runs.partition_point(|r| r.first <= index).checked_sub(1)?;
    let r = runs.get(i)?;
    (index < r.first + r.count).then_some(r.state)
}

/// The counts of pages `first..first + n` by state, from the runs (a page no run covers, or a
/// state a run does not know, makes that count unknown).
pub(super) fn bucket(runs: &[StateRun], g: &Geometry, first: u64, n: u64) -> Bucket {
    let end = first + n;
    let data_pages = g.data_bytes().div_ceil(g.page_size.max(1));
    let mut b = Bucket {
        first,
        pages: n,
        beyond_eof: end.saturating_sub(first.max(data_pages)),
        evicted: None,
        ..Bucket::EMPTY
    };
    let add = |count: &mut Option<u64>, v: Option<bool>, k: u64| {
        *count = match v {
            Some(true) => count.map(|c| c + k),
            Some(false) => *count,
            None => None,
        };
    };
    let mut covered = 0;
    let i = runs.partition_point(|r| r.first + r.count <= first);
    for r in runs[i..].iter().take_while(|r| r.first < end) {
        let k = (r.first + r.count).min(end) - r.first.max(first);
        covered += k;
        let s = &r.state;
        add(&mut b.resident, s.place.resident, k);
        add(&mut b.present, s.place.present, k);
        add(&mut b.dirty, s.writes.dirty, k);
        add(&mut b.cow, s.place.cow, k);
    }
    if covered < n {
        b.resident = None;
        b.present = None;
        b.dirty = None;
        b.cow = None;
    }
    b
}

/// The VMA a replay opens on, as `--pid` opens: the heap where its pages were recorded (`--vma
/// all`), else the first recorded mapping, else the first VMA.
fn first_shown(frame: &Frame) -> u64 {
    let heap = frame
        .maps
        .iter()
        .find(|l| l.path == "[heap]")
        .map(|l| l.start)
        .filter(|&a| frame.mappings.iter().any(|m| m.addr == a));
    heap.or_else(|| frame.mappings.first().map(|m| m.addr))
        .or_else(|| frame.maps.first().map(|l| l.start))
        .unwrap_or(0)
}

/// The shape of the VMA shown in the frame shown: what the session's readers of "what is
/// shown" ask (its address, pages, mode). Its kernel calls all refuse: it is not live.
pub(super) struct Still {
    addr: u64,
    geometry: Geometry,
    mode: MapMode,
    prot: Prot,
    backing: Backing,
    path: Option<PathBuf>,
}

impl Still {
    fn of(frame: &Frame, maps: &[MapsLine], shown: u64, page_size: u64) -> Self {
        let mapping = frame.mappings.iter().find(|m| m.addr == shown);
        let line = maps.iter().find(|l| l.start == shown);
        let perms = line.map_or("", |l| l.perms.as_str());
        let p = perms.as_bytes();
        let prot = match mapping {
            Some(m) => Prot {
                read: m.prot.starts_with('r'),
                write: m.prot.get(1..2) == Some("w"),
                exec: m.prot.get(2..3) == Some("x"),
            },
            None => Prot {
                read: p.first() == Some(&b'r'),
                write: p.get(1) == Some(&b'w'),
                exec: p.get(2) == Some(&b'x'),
            },
        };
        let shared = mapping.map_or(perms.ends_with('s'), |m| m.mode == "shared");
        let (len, offset, file) = match (mapping, line) {
            (Some(m), _) => (
                m.len,
                m.offset,
                m.file
                    .as_ref()
                    .map(|f| (f.path.clone(), f.size, f.writable)),
            ),
            (None, Some(l)) => (
                l.end - l.start,
                l.offset,
                (l.inode != 0 && l.path.starts_with('/')).then(|| (l.path.clone(), None, false)),
            ),
            (None, None) => (page_size, 0, None),
        };
        let backing = match &file {
            Some((path, size, writable)) => Backing::File {
                path: path.clone(),
                writable: *writable,
                regular: size.is_some(),
            },
            None => Backing::Anon,
        };
        Self {
            addr: shown,
            geometry: Geometry {
                page_size,
                offset: if file.is_some() { offset } else { 0 },
                len: len.max(1),
                file_size: file.as_ref().and_then(|f| f.1),
            },
            mode: if shared {
                MapMode::Shared
            } else {
                MapMode::Private
            },
            prot,
            backing,
            path: file.map(|f| PathBuf::from(f.0)),
        }
    }
}

/// Why a recording's VMA answers no kernel call.
fn not_live(what: &str) -> SysError {
    SysError::new(
        libc::EPERM,
        what.to_string(),
        crate::sys::ops::gate::RECORDING_READ_ONLY,
    )
}

impl Mapped for Still {
    fn pid(&self) -> Pid {
        Pid::Myself
    }
    fn addr(&self) -> u64 {
        self.addr
    }
    fn len(&self) -> u64 {
        self.geometry.len
    }
    fn page_size(&self) -> u64 {
        self.geometry.page_size
    }
    fn offset(&self) -> u64 {
        self.geometry.offset
    }
    fn mode(&self) -> MapMode {
        self.mode
    }
    fn prot(&self) -> Prot {
        self.prot
    }
    fn geometry(&self) -> Result<Geometry, SysError> {
        Ok(self.geometry)
    }
    fn file_path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    fn file_kind(&self) -> Option<FileKind> {
        self.path.as_ref().map(|_| FileKind::Regular)
    }
    fn may_write(&self) -> bool {
        false
    }
    fn write_allowed(&self) -> bool {
        false
    }
    fn always_dirty(&self) -> bool {
        false
    }
    fn mincore(&self, _first: u64, _count: u64, _out: &mut Vec<u8>) -> Result<(), SysError> {
        Err(not_live("mincore"))
    }
    fn madvise(&self, _first: u64, _count: u64, _advice: Advice) -> Result<(), SysError> {
        Err(not_live("madvise"))
    }
    fn cachestat(&self, _file_off: u64, _len: u64) -> Result<CacheStat, SysError> {
        Err(not_live("cachestat"))
    }
    fn read(&self, _off: u64, _buf: &mut [u8]) -> Result<usize, SysError> {
        Err(not_live("read"))
    }
    fn path_note(&self) -> Option<String> {
        None
    }
    fn vmas(&self, _start: u64, _end: u64) -> Result<Vec<Vma>, SysError> {
        Err(not_live("smaps"))
    }
}
