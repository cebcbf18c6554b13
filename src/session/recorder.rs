//! Recording a run: a frame of what is recorded (the mapping we made, or a process with one VMA
//! or all of them) at most once per interval, written through `record::Writer`. A frame holds
//! the maps lines, the smaps counters, every recorded mapping's pages as runs of state (the scan
//! `inspect` makes: nothing faulted in), and the bytes of present pages whose state changed
//! since the frame before (the first frame is the baseline), kept and re-read at each frame
//! while they stay present, up to `record::BYTES_BOUND` bytes (the pages of the
//! largest mappings dropped first, the oldest first among them). Reading state never faults a page in, and bytes are read only from present
//! pages: recording does not disturb what it records.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::record::{
    BYTES_BOUND, Event, EventKind, Frame, Header, KEYFRAME_EVERY, RecordError, RecordedMapping,
    Subject, Writer,
};
use crate::report::record_mapping;
use crate::sys::SysError;
use crate::sys::attach::foreign::VmaView;
use crate::sys::attach::handle::{Gone, ProcessHandle};
use crate::sys::map::range::Mapped;
use crate::sys::ops::op::{Dump, DumpWhat};
use crate::sys::probe::prober::Prober;
use crate::sys::probe::state::{PageState, StateRun};
use crate::sys::proc::maps::{self, MapsLine, Vma};

/// What is recorded, as the caller holds it: a frame is read through it.
pub enum Source<'a> {
    /// A mapping of ours: the one we made (`record FILE`, `record --anon SIZE`, the explorer's),
    /// or a VMA of our own explored.
    Ours(&'a dyn Mapped),
    /// Another process: one VMA (`--vma SPEC`, found again by it at every frame) or all.
    Process {
        handle: &'a Arc<ProcessHandle>,
        vma: Option<String>,
    },
}

/// A recording under way.
pub struct Recorder {
    writer: Writer,
    prober: Prober,
    started: Instant,
    interval: Duration,
    last: Option<Instant>,
    /// The last frame written (its bytes are those held).
    state: Frame,
    /// Addresses of the pages whose bytes are held, oldest first.
    held: VecDeque<u64>,
    /// Events since the last frame.
    events: Vec<Event>,
    /// Pages of our mapping written by this tool since the last msync (the session's edits),
    /// marked `edited` in the next frame's runs.
    pub edited: BTreeSet<u64>,
    /// Addresses of the pages on screen (the explorer's and a lesson's grid): their bytes are
    /// recorded at every frame while present, the last to give way to the bound.
    pub shown: Vec<u64>,
}

impl Recorder {
    /// Starts recording `source` into `out` (refused as a dump's file would be: a file that
    /// exists without `overwrite`, a file mapped by us or by the process recorded, a
    /// non-regular file), a frame at most every `interval`. `session` says what records.
    ///
    /// # Errors
    /// The refusal, or the file could not be created.
    pub fn start(
        source: &Source,
        out: &Path,
        overwrite: bool,
        interval: Duration,
        session: &str,
    ) -> Result<Self, SysError> {
        refusal(source, out, overwrite).map_or(Ok(()), Err)?;
        let prober = match source {
            Source::Ours(_) => Prober::new(),
            Source::Process { handle, vma } => {
                let p = Prober::new().for_handle(handle)?;
                // As `inspect --pid`: every VMA without kpageflags (see `without_page_flags`).
                if vma.is_none() {
                    p.without_page_flags()
                } else {
                    p
                }
            }
        };
        let header = header(source, interval, session);
        let writer = Writer::create(out, header, overwrite).map_err(sys_error)?;
        Ok(Self {
            writer,
            prober,
            started: Instant::now(),
            interval,
            last: None,
            state: Frame::default(),
            held: VecDeque::new(),
            events: Vec::new(),
            edited: BTreeSet::new(),
            shown: Vec::new(),
        })
    }

    /// Whether a frame is due (none yet, or `interval` since the last).
    pub fn due(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= self.interval)
    }

    /// When the next frame is due.
    pub fn next_due(&self) -> Instant {
        self.last.map_or_else(Instant::now, |t| t + self.interval)
    }

    /// Something the session did, written with the next frame.
    pub fn note(&mut self, kind: EventKind, text: impl Into<String>) {
        self.events.push(Event {
            kind,
            text: text.into(),
        });
    }

    /// Frames written so far, and bytes.
    pub fn written(&self) -> (u64, u64) {
        (self.writer.frames(), self.writer.bytes())
    }

    /// Reads the state now and writes a frame.
    ///
    /// # Errors
    /// The process is gone, /proc could not be read, or the write failed.
    pub fn frame(&mut self, source: &Source) -> Result<(), SysError> {
        let at = Instant::now();
        let time_ms = u64::try_from(at.duration_since(self.started).as_millis()).unwrap_or(0);
        let (maps, smaps, mappings) = self.read(source)?;
        let mut frame = Frame {
            time_ms,
            maps,
            smaps,
            mappings,
            bytes: std::mem::take(&mut self.state.bytes),
            events: std::mem::take(&mut self.events),
        };
        self.bytes(source, &mut frame);
        self.writer.push(&frame).map_err(sys_error)?;
        self.last = Some(at);
        self.state = frame;
        Ok(())
    }

    /// Why the process recorded is no longer recorded (it exited or called exec).
    pub fn gone(source: &Source) -> Option<String> {
        match source {
            Source::Ours(_) => None,
            Source::Process { handle, .. } => handle.status().map(|g| match g {
                Gone::Exited => "the process exited".into(),
                Gone::Execed => {
                    "the process called exec (its new memory is not this recording's)".into()
                }
            }),
        }
    }

    /// Ends the recording: the file holds every frame written.
    ///
    /// # Errors
    /// A failed flush.
    pub fn finish(self) -> Result<u64, SysError> {
        self.writer.finish().map_err(sys_error)
    }

    /// The maps lines, smaps entries and recorded mappings now.
    fn read(&self, source: &Source) -> Result<Read, SysError> {
        match source {
            Source::Ours(region) => {
                let (start, end) = (region.addr(), region.addr() + region.map_bytes());
                let maps: Vec<MapsLine> = maps::read_maps()?
                    .into_iter()
                    .filter(|l| l.start < end && l.end > start)
                    .collect();
                let smaps = region.vmas(start, end)?;
                let m = record_mapping(*region, &self.prober, maps::total(&smaps), &self.edited)?;
                Ok((maps, smaps, vec![m]))
            }
            Source::Process { handle, vma } => {
                let maps = handle.maps()?;
                let smaps = handle.vmas(0, u64::MAX)?;
                let lines: Vec<&MapsLine> = match vma {
                    Some(spec) => vec![
                        crate::sys::proc::process::resolve_vma(&maps, spec)
                            .map_err(|why| SysError::new(libc::ENOENT, "--vma", why))?,
                    ],
                    None => maps.iter().collect(),
                };
                let mut mappings = Vec::with_capacity(lines.len());
                for line in lines {
                    let view = VmaView::open(handle, line, false);
                    let own: Vec<Vma> = smaps
                        .iter()
                        .filter(|v| v.head.start < line.end && v.head.end > line.start)
                        .cloned()
                        .collect();
                    let total = maps::total(&own);
                    mappings.push(record_mapping(&view, &self.prober, total, &self.edited)?);
                }
                Ok((maps, smaps, mappings))
            }
        }
    }

    /// Updates the bytes held in `frame`: drops the pages no longer present, re-reads the
    /// others, and adds the present pages whose state changed since the last frame, within
    /// `BYTES_BOUND` (the pages of the largest mappings dropped first: `over_bound`).
    fn bytes(&mut self, source: &Source, frame: &mut Frame) {
        let ps = self.writer.header().page_size;
        let limit = usize::try_from(BYTES_BOUND / ps).unwrap_or(usize::MAX);
        let present = |addr: u64| {
            frame
                .mappings
                .iter()
                .find(|m| addr >= m.addr && addr < m.addr + m.len)
                .is_some_and(|m| page_present(&m.runs, (addr - m.addr) / ps))
        };
        self.held.retain(|&a| present(a));
        frame.bytes.retain(|a, _| present(*a));
        // The pages on screen first, from the first frame on: what the user looked at.
        for &addr in self.shown.iter().filter(|a| present(**a)) {
            if let std::collections::btree_map::Entry::Vacant(e) = frame.bytes.entry(addr) {
                self.held.push_back(addr);
                e.insert(Vec::new());
            }
        }
        // The first frame is the baseline: no page has changed yet.
        let first = self.writer.frames() == 0;
        for m in frame.mappings.iter().filter(|_| !first) {
            let old = self.state.mappings.iter().find(|o| o.addr == m.addr);
            let runs: &[StateRun] = old.map_or(&[], |o| &o.runs);
            for page in changed_present(runs, &m.runs, limit) {
                let addr = m.addr + page * ps;
                if let std::collections::btree_map::Entry::Vacant(e) = frame.bytes.entry(addr) {
                    self.held.push_back(addr);
                    e.insert(Vec::new());
                }
            }
        }
        for old in over_bound(&self.held, &frame.mappings, &self.shown, limit) {
            frame.bytes.remove(&old);
        }
        self.held.retain(|a| frame.bytes.contains_key(a));
        let mut buf = vec![0u8; usize::try_from(ps).unwrap_or(4096)];
        for (&addr, data) in frame.bytes.iter_mut() {
            let within = |m: &&RecordedMapping| addr >= m.addr && addr < m.addr + m.len;
            if let Some(m) = frame.mappings.iter().find(within) {
                let read = read_page(source, m, addr - m.addr, &mut buf);
                data.clear();
                data.extend_from_slice(&buf[..read]);
            }
        }
        frame.bytes.retain(|_, d| !d.is_empty());
    }
}

/// The pages of `held` (oldest first) to drop so that `limit` stay: those of the largest
/// mappings first, the oldest first among pages of one size, so that a process's big
/// allocation does not push out the few pages of a small file it writes (by hand: a python3
/// heap growing 2 MiB every 5 s left none of its 64 KiB file's pages in the frames); the
/// pages on screen (`shown`) last.
fn over_bound(
    held: &VecDeque<u64>,
    mappings: &[RecordedMapping],
    shown: &[u64],
    limit: usize,
) -> Vec<u64> {
    let Some(excess) = held.len().checked_sub(limit).filter(|n| *n > 0) else {
        return Vec::new();
    };
    let len_of = |addr: u64| {
        if shown.contains(&addr) {
            return 0;
        }
        mappings
            .iter()
            .find(|m| addr >= m.addr && addr < m.addr + m.len)
            .map_or(u64::MAX, |m| m.len)
    };
    let mut order: Vec<(u64, usize, u64)> = held
        .iter()
        .enumerate()
        .map(|(age, &a)| (len_of(a), age, a))
        .collect();
    order.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    order.into_iter().take(excess).map(|(_, _, a)| a).collect()
}

/// Reads the page at mapping offset `off` of `m` (present: no fault) into `buf`; the bytes
/// read.
fn read_page(source: &Source, m: &RecordedMapping, off: u64, buf: &mut [u8]) -> usize {
    {
        match source {
            Source::Ours(region) => region.read(off, buf).unwrap_or(0),
            Source::Process { handle, .. } => {
                let line = MapsLine {
                    start: m.addr,
                    end: m.addr + m.len,
                    perms: m.prot.clone(),
                    ..MapsLine::default()
                };
                VmaView::open(handle, &line, false)
                    .read(off, buf)
                    .unwrap_or(0)
            }
        }
    }
}

/// A session's recording (`--record OUT` in the explorer, batch and lessons): the recorder, and
/// the first error that stopped it (said when the session ends).
pub(super) struct Recording {
    recorder: Option<Recorder>,
    out: String,
    failed: Option<SysError>,
}

/// What the session shows, as a recording reads it: the mapping we made or the VMA of ours
/// explored; in another process, the VMA explored (by its address). A replay has nothing live
/// to record.
fn source_of(subject: &super::subject::Subject) -> Result<Source<'_>, SysError> {
    use super::subject::Subject;
    Ok(match subject {
        Subject::Ours { .. } => Source::Ours(subject.mapped()),
        Subject::Other { attached, explored } => Source::Process {
            handle: &attached.handle,
            vma: Some(format!("0x{:x}", explored.view.line().start)),
        },
        Subject::Recorded(_) => {
            return Err(SysError::new(
                libc::EINVAL,
                "--record",
                "a replay shows a recording: there is nothing live to record (the recording \
                 is the file already)",
            ));
        }
    })
}

/// The pages of what is shown written by this tool since the last msync.
/// The addresses of the pages on screen, as the last refresh probed them.
fn shown_pages(model: &crate::model::Model) -> Vec<u64> {
    let ps = model.snap.shape.geometry.page_size.max(1);
    (model.snap.probed.pages.iter())
        .map(|p| model.snap.shape.addr + p.index * ps)
        .collect()
}

fn edited_pages(subject: &super::subject::Subject, model: &crate::model::Model) -> BTreeSet<u64> {
    let ps = subject.mapped().page_size().max(1);
    model.doc.edits.iter().map(|off| off / ps).collect()
}

impl super::Session {
    /// Records the session into `out` from now on: a frame now, then at most every
    /// `interval` as the session refreshes or runs lines (`record_tick`). `what` says what
    /// records (`explorer`, `batch`, `lesson NAME`).
    ///
    /// # Errors
    /// `out` is refused (it exists, or is mapped by us or by the process shown), or cannot be
    /// created; or the first frame could not be read.
    pub fn record(&mut self, out: &Path, interval: Duration, what: &str) -> Result<(), SysError> {
        let source = source_of(&self.subject)?;
        let mut recorder = Recorder::start(&source, out, false, interval, what)?;
        recorder.shown = shown_pages(&self.model);
        recorder.frame(&source)?;
        self.recording = Some(Recording {
            recorder: Some(recorder),
            out: crate::text::echo(&out.to_string_lossy()),
            failed: None,
        });
        Ok(())
    }

    /// Notes what the session did (`event`, written with the next frame) and writes a frame if
    /// one is due. A failed frame stops the recording (the frames before it stay whole); the
    /// error is said at the end (`stop_recording`).
    pub fn record_tick(&mut self, event: Option<(EventKind, String)>) {
        let Some(rec) = self.recording.as_mut() else {
            return;
        };
        let Some(recorder) = rec.recorder.as_mut() else {
            return;
        };
        if let Some((kind, text)) = event {
            recorder.note(kind, text);
        }
        if !recorder.due() {
            return;
        }
        recorder.edited = edited_pages(&self.subject, &self.model);
        recorder.shown = shown_pages(&self.model);
        if let Err(e) = source_of(&self.subject).and_then(|s| recorder.frame(&s)) {
            rec.failed = Some(e);
            if let Some(r) = rec.recorder.take() {
                let _ = r.finish();
            }
        }
    }

    /// Takes over `old`'s recording (a lesson gone back a step plays on a fresh session): the
    /// next frames record this session, after a note saying why the mapping moved.
    pub fn carry_recording(&mut self, old: &mut super::Session, why: &str) {
        self.recording = old.recording.take();
        if let Some(r) = self.recording.as_mut().and_then(|r| r.recorder.as_mut()) {
            r.note(EventKind::Note, why);
        }
    }

    /// Ends the recording with a last frame (the state at the end); says what was written,
    /// or why it stopped early. `None` when the session was not recorded.
    pub fn stop_recording(&mut self) -> Option<Result<String, SysError>> {
        let mut rec = self.recording.take()?;
        if let Some(mut recorder) = rec.recorder.take() {
            recorder.edited = edited_pages(&self.subject, &self.model);
            recorder.shown = shown_pages(&self.model);
            if let Err(e) = source_of(&self.subject).and_then(|s| recorder.frame(&s)) {
                rec.failed.get_or_insert(e);
            }
            let (frames, bytes) = recorder.written();
            if let Err(e) = recorder.finish() {
                rec.failed.get_or_insert(e);
            }
            if rec.failed.is_none() {
                return Some(Ok(format!(
                    "recorded {frames} frames ({}) to {}",
                    crate::text::human(bytes),
                    rec.out
                )));
            }
        }
        Some(Err(rec.failed.unwrap_or_else(|| {
            SysError::new(libc::EIO, "record", "the recording stopped")
        })))
    }
}

/// A frame's reading: the maps lines, the smaps entries, the recorded mappings.
type Read = (Vec<MapsLine>, Vec<Vma>, Vec<RecordedMapping>);

/// Records until `duration` has passed, `stop` says so (a quit signal), or the process
/// recorded ends; says which.
///
/// # Errors
/// A frame could not be read or written (the frames before it are in the file).
pub fn run(
    rec: &mut Recorder,
    source: &Source,
    duration: Option<Duration>,
    stop: &dyn Fn() -> bool,
) -> Result<String, SysError> {
    let start = Instant::now();
    loop {
        if stop() {
            return Ok("stopped by a signal".into());
        }
        if let Some(d) = duration.filter(|d| start.elapsed() >= *d) {
            return Ok(format!("--duration {} s reached", d.as_secs_f64()));
        }
        if rec.due() {
            if let Some(gone) = Recorder::gone(source) {
                return Ok(gone);
            }
            if let Err(e) = rec.frame(source) {
                // A process that ends between two reads ends the recording, not in error.
                return Recorder::gone(source).ok_or(e);
            }
        }
        let mut wait = rec.next_due().saturating_duration_since(Instant::now());
        if let Some(d) = duration {
            wait = wait.min(d.saturating_sub(start.elapsed()));
        }
        // Short naps: a quit signal is honoured within 50 ms.
        std::thread::sleep(wait.clamp(Duration::from_millis(1), Duration::from_millis(50)));
    }
}

/// Whether page `page` is present in `runs`.
fn page_present(runs: &[StateRun], page: u64) -> bool {
    let i = runs.partition_point(|r| r.first + r.count <= page);
    runs.get(i)
        .is_some_and(|r| r.first <= page && r.state.place.present == Some(true))
}

/// The part of a page's state that says its bytes may have changed: present, a private copy
/// or the file's page, swapped, dirty. (Exclusive and the map count change when another
/// process maps or unmaps a library: its bytes do not.)
fn content(s: &PageState) -> [Option<bool>; 6] {
    let (p, w) = (s.place, s.writes);
    [
        p.present,
        p.file_backed,
        p.cow,
        p.swapped,
        w.dirty,
        w.soft_dirty,
    ]
}

/// Up to `limit` pages present in `new` whose content state (`content`) differs from `old`'s
/// (or that `old` does not have), in order. Walks both run lists once: cost in proportion to the runs, not the pages.
fn changed_present(old: &[StateRun], new: &[StateRun], limit: usize) -> Vec<u64> {
    let mut out = Vec::new();
    let mut j = 0;
    for r in new.iter().filter(|r| r.state.place.present == Some(true)) {
        let mut at = r.first;
        let end = r.first + r.count;
        while at < end && out.len() < limit {
            while j < old.len() && old[j].first + old[j].count <= at {
                j += 1;
            }
            let (same, upto) = match old.get(j) {
                Some(o) if o.first <= at => (
                    content(&o.state) == content(&r.state),
                    (o.first + o.count).min(end),
                ),
                Some(o) => (false, o.first.min(end)),
                None => (false, end),
            };
            if !same {
                out.extend((at..upto).take(limit - out.len()));
            }
            at = upto;
        }
    }
    out
}

/// Why `out` may not be written, as a dump's file would be refused (`gate::dump_refusal`):
/// the files mapped by us or by the process recorded are never written.
fn refusal(source: &Source, out: &Path, overwrite: bool) -> Option<SysError> {
    let ours = maps::read_maps().unwrap_or_default();
    let theirs = match source {
        Source::Process { handle, .. } => handle.maps().unwrap_or_default(),
        Source::Ours(_) => Vec::new(),
    };
    let mapped: Vec<(u64, u64)> = ours
        .iter()
        .chain(&theirs)
        .filter(|l| l.inode != 0)
        .map(|l| (l.dev, l.inode))
        .collect();
    let dump = Dump {
        what: DumpWhat::Vma,
        path: out.to_path_buf(),
        overwrite,
        fault: false,
        found: Some(crate::sys::ops::dump::look_at(out, &mapped)),
    };
    let refused = crate::sys::ops::gate::dump_refusal(&dump)?;
    let path = crate::text::echo(&out.to_string_lossy());
    let why = match refused.errno {
        libc::EPERM => format!(
            "{path} is mapped by the process recorded (or by mmapscope): a recording never \
             writes a mapped file; give another path"
        ),
        libc::EEXIST => {
            format!("{path} exists: a recording writes a new file; add --overwrite to replace it")
        }
        _ => format!("{path} is not a regular file: a recording writes a regular file of its own"),
    };
    Some(SysError::new(refused.errno, "record -o", why))
}

/// The header of a recording of `source`.
fn header(source: &Source, interval: Duration, session: &str) -> Header {
    let (subject, page_size) = match source {
        Source::Ours(region) => (
            match region.file_path() {
                Some(p) => Subject::File {
                    path: p.to_string_lossy().into_owned(),
                    size: region.geometry().ok().and_then(|g| g.file_size),
                },
                None => Subject::Anon { len: region.len() },
            },
            region.page_size(),
        ),
        Source::Process { handle, vma } => (
            Subject::Process {
                pid: handle.pid(),
                comm: handle.info().comm.clone(),
                cmdline: handle.cmdline(),
                vma: vma.clone().unwrap_or_else(|| "all".into()),
            },
            rustix::param::page_size() as u64,
        ),
    };
    let start_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    Header {
        schema: crate::record::SCHEMA,
        tool: format!("mmapscope {}", env!("CARGO_PKG_VERSION")),
        subject,
        session: session.into(),
        page_size,
        interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        start_unix_ms,
        keyframe_every: KEYFRAME_EVERY,
        bytes_bound: BYTES_BOUND,
    }
}

/// A recording's error as the program's errors are: errno, what, and what it means.
pub fn sys_error(e: RecordError) -> SysError {
    let errno = match &e {
        RecordError::Io { errno, .. } => *errno,
        RecordError::NotARecording { .. } | RecordError::Corrupt { .. } => libc::EINVAL,
        RecordError::NewerSchema { .. } => libc::ENOTSUP,
        RecordError::NoFrame { .. } => libc::ERANGE,
    };
    let context = match &e {
        RecordError::Io { context, .. } => context.clone(),
        _ => "recording".into(),
    };
    let text = match &e {
        RecordError::Io { message, .. } => message.clone(),
        other => other.to_string(),
    };
    SysError::new(errno, context, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::probe::state::Place;

    fn run(first: u64, count: u64, present: bool, dirty: bool) -> StateRun {
        StateRun {
            first,
            count,
            state: PageState {
                place: Place {
                    present: Some(present),
                    exclusive: Some(first.is_multiple_of(2)),
                    ..Place::default()
                },
                writes: crate::sys::probe::state::Writes {
                    dirty: Some(dirty),
                    ..Default::default()
                },
                geom: crate::geometry::PageGeom {
                    valid_bytes: 4096,
                    padding_bytes: 0,
                    beyond_eof: false,
                },
                folio: crate::sys::probe::state::FolioState::default(),
            },
        }
    }

    #[test]
    fn changed_pages_are_those_whose_content_state_moved() {
        // 1 TiB of pages in a handful of runs: the walk never goes page by page.
        let tib = 1 << 28;
        let old = vec![run(0, 10, true, false), run(10, tib - 10, false, false)];
        let new = vec![
            // Exclusive flipped only: not a change of content.
            run(0, 3, true, false),
            run(3, 2, true, true),
            run(5, 5, true, false),
            run(10, 2, true, false),
            run(12, tib - 12, false, false),
        ];
        assert_eq!(changed_present(&old, &new, 100), vec![3, 4, 10, 11]);
        assert_eq!(changed_present(&old, &new, 3), vec![3, 4, 10]);
        assert_eq!(changed_present(&[], &new, 4), vec![0, 1, 2, 3]);
        assert!(page_present(&new, 11));
        assert!(!page_present(&new, 12));
        assert!(!page_present(&new, tib));
    }
}
