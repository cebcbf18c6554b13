//! A session: the mapping, its probes, the experiments' state and the model, with the one path
//! every action takes: `update` -> `sys::exec` -> `apply_outcome` -> refresh. The TUI drives it
//! with keys, `batch` and lessons with script lines; each script line gives one JSON line, and
//! `expect` checks the report (or the file on disk, or the previous result).

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::action::{Action, Command, History, Looking, Op};
use crate::find::Request;
use crate::model::Model;
use crate::report;
use crate::script::{Cmp, Expect, ExpectPath, Line, Step, Value};
use crate::seek;
use crate::sys::SysError;
use crate::sys::exec::{self, Outcome, Started};
use crate::sys::gate::{self, Consent, Gate, Origin, Verdict};
use crate::sys::lab::Lab;
use crate::sys::mapped::Mapped;
use crate::sys::probe::{ChunkAsk, Prober};
use crate::sys::process::{self, ProcessInfo};
use crate::sys::procmaps::{self, MapsLine, Pid};
use crate::sys::region::Region;
use crate::sys::snapshot::{self, View};
use crate::sys::vma::{VmaFate, VmaView};
use crate::update::{apply_outcome, update};

/// The state of a run: the mapping, the probes, the experiments, the model.
pub struct Session {
    subject: Subject,
    /// The one write gate: consent to write the named file, and the decision for every
    /// operation that could change it or another process.
    gate: Gate,
    /// Probes of our own process.
    pub prober: Prober,
    pub lab: Lab,
    pub model: Model,
    /// Refreshes read the bytes on screen (the TUI); a script reads none.
    interactive: bool,
    start: Instant,
    /// The previous command failed and no `expect error` has claimed it yet.
    pending_failure: bool,
    /// The previous command's result, for `expect result ...`.
    last_result: Json,
    /// Something failed unexpectedly or an expect failed.
    pub failed: bool,
    /// Code still running in a child, started by `act_live`; `poll_child` brings its outcome.
    running: Option<exec::Running>,
    /// When the address-space view was last read (it is read at most once a second: all of
    /// smaps, for every VMA, costs milliseconds in a big process).
    space_read: Option<Instant>,
    /// A search running across ticks; `poll_search` advances it.
    finding: Option<seek::Job>,
    /// `--also`: a second mapping of the same file, shown beside the first; `swap` trades
    /// the two (the grid and every operation take the one in `subject`).
    also: Option<Region>,
    /// smaps of a VMA not ours, read off the refresh's path; the last answer for it.
    smaps: procmaps::SmapsReader,
    /// The page map's next cell to read again.
    page_map_next: usize,
    smaps_last: Option<(procmaps::SmapsAsk, Option<crate::sys::procmaps::Vma>, usize)>,
    /// The maps of the process explored, as last read, and when.
    maps_read: Option<(Pid, Instant, Result<Vec<MapsLine>, String>)>,
    /// Its maps file, open for PROCMAP_QUERY lookups.
    maps_file: Option<(Pid, procmaps::MapsFile)>,
    /// When the minimap last spent its budget on chunks nothing changed: once per refresh
    /// interval, however many refreshes keys bring.
    minimap_spent: Option<Instant>,
}

/// How often the open address-space view is read again.
const SPACE_PERIOD: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a search works per keypress or tick before the screen is drawn again.
pub const SEARCH_SLICE: Duration = Duration::from_millis(25);

/// What the session looks at.
enum Subject {
    /// The mapping we made, or a VMA of our own process explored instead of it.
    Ours {
        region: Region,
        explored: Option<Explored>,
    },
    /// Another process (`--pid`) and the VMA of it shown.
    Other {
        attached: Attached,
        explored: Explored,
    },
}

/// The process `--pid` names.
struct Attached {
    info: ProcessInfo,
    prober: Prober,
    /// `--write`: writes go through process_vm_writev (each confirmed in the TUI).
    write: bool,
}

/// A VMA being explored, followed as the process changes it.
struct Explored {
    view: VmaView,
    /// Why it is no longer followed (the process exited, the VMA was unmapped).
    ended: Option<String>,
}

/// What a search says when the VMA it searched is no longer followed, from why it ended
/// (`Explored::ended`): the process has exited (however that was learnt), or the reason as
/// it is.
fn seek_stop(ended: &str) -> &str {
    if ended.starts_with(seek::EXITED) {
        seek::EXITED
    } else {
        ended
    }
}

/// The terminal size a session's model starts with, until the terminal says its own.
pub const DEFAULT_SIZE: (u16, u16) = (120, 40);

/// Report fields only root can read: an `expect` on them is skipped, and says so, without root.
pub const ROOT_ONLY: [&str; 5] = ["kflags", "folio_pages", "pfn", "kpageflags", "mapcount"];

/// No minimap chunk probed.
const NO_CHUNKS: ChunkAsk = ChunkAsk {
    order: Vec::new(),
    at_least: 0,
    urgent: 0,
    urgent_budget: Duration::ZERO,
    budget: Duration::ZERO,
    whole_first: false,
};

/// A view of nothing: the mapping's shape is taken, no page probed, no byte read.
const SHAPE_ONLY: View = View {
    first_page: 0,
    page_count: 0,
    byte_start: 0,
    byte_len: 0,
    minimap: NO_CHUNKS,
};

/// What a script line gave, typed; `json` is the `result` of its batch line.
#[derive(Debug, Clone)]
pub enum LineValue {
    /// An operation ran: what the kernel did.
    Done(Box<Outcome>),
    /// `snapshot`: the report.
    Report(Box<report::Report>),
    Slept(u64),
    Said(String),
    /// An `expect` held; the value it saw.
    Checked(Json),
    /// An `expect` on a root-only field without root, and why.
    Skipped(String),
    /// `expect error` claimed the previous line's failure.
    Claimed,
    /// `show`: the value now.
    Shown(Json),
}

impl LineValue {
    /// The `result` object of the batch line.
    pub fn json(&self) -> Json {
        match self {
            Self::Done(o) => serde_json::to_value(o).unwrap_or(Json::Null),
            Self::Report(r) => serde_json::to_value(r).unwrap_or(Json::Null),
            Self::Slept(ms) => json!({"slept_ms": ms}),
            Self::Said(text) => json!({"say": text}),
            Self::Checked(actual) => json!({"actual": actual}),
            Self::Skipped(why) => json!({"skipped": why}),
            Self::Claimed => json!({"previous_failed": true}),
            Self::Shown(value) => json!({"value": value}),
        }
    }
}

/// One line's result: its number and text, and what it gave or why it failed.
#[derive(Debug, Clone)]
pub struct LineResult {
    pub number: usize,
    pub text: String,
    pub result: Result<LineValue, String>,
}

impl LineResult {
    /// The batch's JSON line.
    pub fn json(&self) -> Json {
        match &self.result {
            Ok(v) => json!({"line": self.number, "cmd": self.text, "ok": true, "result": v.json()}),
            Err(e) => json!({"line": self.number, "cmd": self.text, "ok": false, "error": e}),
        }
    }
}

/// A value as a line shows it: file bytes in hex.
fn shown(path: &ExpectPath, value: &Json) -> Json {
    match (path, value) {
        (ExpectPath::File(_), Json::Number(n)) => json!(format!("{:02x}", n.as_u64().unwrap_or(0))),
        _ => value.clone(),
    }
}

fn compare(actual: &Json, cmp: Cmp, expected: &Json) -> bool {
    match cmp {
        Cmp::Eq => actual == expected,
        Cmp::Ne => actual != expected,
        _ => match (actual.as_f64(), expected.as_f64()) {
            (Some(a), Some(e)) => match cmp {
                Cmp::Lt => a < e,
                Cmp::Le => a <= e,
                Cmp::Gt => a > e,
                Cmp::Ge => a >= e,
                Cmp::Eq | Cmp::Ne => unreachable!("handled above"),
            },
            _ => false,
        },
    }
}

/// The initial model: a first snapshot of page 0, then one of the real view (with one
/// refresh's budget of minimap chunks: the first screen does not wait for the whole minimap).
pub fn initial_model(region: &dyn Mapped, prober: &Prober, size: (u16, u16)) -> Model {
    let first = snapshot::take(
        region,
        prober,
        View {
            first_page: 0,
            page_count: 1,
            byte_start: 0,
            byte_len: 0,
            minimap: NO_CHUNKS,
        },
    );
    let mut model = Model::new(first, size);
    let snap = snapshot::take(region, prober, model.view());
    update(
        &mut model,
        Action::Probed {
            snap: Box::new(snap),
            now_ms: 0,
            clock: crate::text::clock_now(),
            // The first probe saw nothing mapped yet; its change is not news.
            fresh: true,
        },
    );
    model
}

/// The model a session starts with: interactive, the visible pages; scripted, the shape only.
fn first_model(shown: &dyn Mapped, prober: &Prober, interactive: bool, size: (u16, u16)) -> Model {
    if interactive {
        return initial_model(shown, prober, size);
    }
    let snap = snapshot::take(shown, prober, SHAPE_ONLY);
    let mut m = Model::new(snap.clone(), size);
    update(
        &mut m,
        Action::Probed {
            snap: Box::new(snap),
            now_ms: 0,
            clock: crate::text::clock_now(),
            fresh: true,
        },
    );
    m
}

/// How the model is told what it shows.
fn looking_at(info: &ProcessInfo, view: &VmaView, other: bool, back: bool) -> Looking {
    Looking {
        pid: info.pid,
        process: format!("pid {} {}", info.pid, crate::text::sanitize(&info.comm)),
        other,
        vma: crate::text::sanitize(&crate::sys::vma::vma_name(view.line()).to_string_lossy()),
        start: view.line().start,
        via: view.bytes_via().to_string(),
        back,
        ended: None,
    }
}

/// The log's line when a VMA followed changed size or place.
fn changed_note(old: &MapsLine, new: &MapsLine) -> String {
    let (a, b) = (old.end - old.start, new.end - new.start);
    format!(
        "the VMA {} now 0x{:x}-0x{:x} ({} -> {})",
        match a.cmp(&b) {
            std::cmp::Ordering::Less => "grew:",
            std::cmp::Ordering::Greater => "shrank:",
            std::cmp::Ordering::Equal => "changed:",
        },
        new.start,
        new.end,
        crate::text::human(a),
        crate::text::human(b)
    )
}

impl Session {
    /// A session on `region`, its model sized for a `size` terminal. `interactive` refreshes
    /// read the bytes on screen; otherwise nothing is read that nobody looks at.
    pub fn new(region: Region, interactive: bool, size: (u16, u16)) -> Self {
        let prober = Prober::new();
        let model = first_model(&region, &prober, interactive, size);
        Self::with(
            Subject::Ours {
                region,
                explored: None,
            },
            prober,
            model,
            interactive,
        )
    }

    fn with(subject: Subject, prober: Prober, model: Model, interactive: bool) -> Self {
        let consent = match &subject {
            Subject::Ours { region, .. } => region.consented_at_open().then_some(Consent::Flag),
            Subject::Other { .. } => None,
        };
        Self {
            subject,
            gate: Gate::new(consent),
            prober,
            lab: Lab::default(),
            model,
            interactive,
            start: Instant::now(),
            pending_failure: false,
            last_result: Json::Null,
            failed: false,
            running: None,
            space_read: None,
            finding: None,
            also: None,
            smaps: procmaps::SmapsReader::new(),
            page_map_next: 0,
            smaps_last: None,
            maps_read: None,
            maps_file: None,
            minimap_spent: interactive.then(Instant::now),
        }
    }

    /// A session on process `pid` (`--pid`): the VMA `spec` names (an address, a path or
    /// name; `None`: its heap, else its first VMA), read-only unless `write`. Without a
    /// `spec` an interactive session opens on the address-space view.
    ///
    /// # Errors
    /// No such process, no VMA for `spec`, or no permission (the reason in words).
    pub fn attach(
        pid: u32,
        spec: Option<&str>,
        write: bool,
        interactive: bool,
        size: (u16, u16),
    ) -> Result<Self, SysError> {
        let info = process::describe(pid)?;
        let refused = |what: &str, e: SysError| {
            process::refusal(&info, what, &std::io::Error::from_raw_os_error(e.errno))
        };
        let maps = procmaps::read_maps_of(Pid::Other(pid)).map_err(|e| refused("maps", e))?;
        let line = match spec {
            Some(spec) => process::resolve_vma(&maps, spec)
                .map_err(|why| SysError::new(libc::ENOENT, "--vma", why))?,
            None => maps
                .iter()
                .find(|l| l.path == "[heap]")
                .or_else(|| maps.first())
                .ok_or_else(|| {
                    SysError::new(
                        libc::ESRCH,
                        format!("--pid {pid}"),
                        "the process has no memory mappings (it has exited, or is a kernel \
                         thread)",
                    )
                })?,
        }
        .clone();
        let own = Prober::new();
        let prober = own.for_pid(pid).map_err(|e| refused("pagemap", e))?;
        let view = VmaView::open(Pid::Other(pid), &line, write);
        // process_vm_readv needs more than maps does (ptrace attach, not read): try it now.
        let mut probe = [0u8; 1];
        if let Err(e) = view.read(0, &mut probe)
            && (e.errno == libc::EPERM || e.errno == libc::EACCES)
        {
            return Err(refused("memory", e));
        }
        let mut model = first_model(&view, &prober, interactive, size);
        let looking = looking_at(&info, &view, true, false);
        update(&mut model, Action::Looking(Some(looking)));
        if spec.is_none() && interactive {
            update(&mut model, Action::OpenSpace);
        }
        let mut session = Self::with(
            Subject::Other {
                attached: Attached {
                    info,
                    prober,
                    write,
                },
                explored: Explored { view, ended: None },
            },
            own,
            model,
            interactive,
        );
        session.refresh();
        Ok(session)
    }

    /// The mapping we made, if this session made one.
    pub fn region(&self) -> Option<&Region> {
        match &self.subject {
            Subject::Ours { region, .. } => Some(region),
            Subject::Other { .. } => None,
        }
    }

    /// What is shown, with the prober for its process.
    fn shown(&self) -> (&dyn Mapped, &Prober) {
        match &self.subject {
            Subject::Ours {
                explored: Some(e), ..
            } => (&e.view, &self.prober),
            Subject::Ours { region, .. } => (region, &self.prober),
            Subject::Other { attached, explored } => (&explored.view, &attached.prober),
        }
    }

    /// The VMA explored, if any.
    fn explored_mut(&mut self) -> Option<&mut Explored> {
        match &mut self.subject {
            Subject::Ours { explored, .. } => explored.as_mut(),
            Subject::Other { explored, .. } => Some(explored),
        }
    }

    /// Probes the kernel into the model. Interactive: the visible pages and bytes. Scripted: the
    /// mapping's shape (address, mode, protection, file size) without reading a byte, since in a
    /// script nobody is looking and a read would change page state. An explored VMA is
    /// followed: grown, shrunk, moved away; once it or its process is gone, the last state
    /// stays.
    pub fn refresh(&mut self) {
        let view = if self.interactive {
            self.paced(self.model.view())
        } else {
            SHAPE_ONLY
        };
        if let Some((pid, status)) = self.lab.reap_peer() {
            update(
                &mut self.model,
                Action::PeerEnded {
                    pid,
                    how: status.to_string(),
                },
            );
        }
        if let Some((pid, how)) = self.lab.reap_child() {
            update(&mut self.model, Action::ChildEnded { pid, how });
        }
        // The prober compares our pages with the child's, while there is one; and reading
        // bytes must not split the pages we share with it.
        self.prober.follow_child(self.lab.child_spec());
        if let Subject::Ours { region, .. } = &mut self.subject {
            region.read_without_pinning(self.lab.keeper.is_some());
        }
        let stale = self.model.space.is_empty()
            || self
                .space_read
                .is_none_or(|at| at.elapsed() >= SPACE_PERIOD);
        if matches!(self.model.overlay, crate::model::Overlay::Space { .. }) && stale {
            self.space_read = Some(Instant::now());
            self.probe_space();
        }
        if self.explored_mut().is_some_and(|e| e.ended.is_some()) {
            return;
        }
        // The rows of the grid, for the second mapping's pane (its minimap is not drawn).
        let rows = View {
            minimap: NO_CHUNKS,
            ..view
        };
        let (shown, prober) = self.shown();
        let mut snap = snapshot::take(shown, prober, view);
        if !shown.ours() {
            let ask = procmaps::SmapsAsk {
                pid: shown.pid(),
                start: shown.addr(),
                end: shown.addr() + shown.map_bytes(),
            };
            self.counters_of(ask, &mut snap);
            snap.maps = self.maps_of(ask);
        }
        if matches!(self.subject, Subject::Ours { explored: None, .. }) {
            snap.write_allowed = self.gate.file_writable();
        }
        // The snapshot's maps say how the VMA explored fares: a snapshot of a VMA or a
        // process gone is not shown (the last state stays).
        if !self.follow(&snap.maps) {
            return;
        }
        let now_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        update(
            &mut self.model,
            Action::Probed {
                snap: Box::new(snap),
                now_ms,
                clock: crate::text::clock_now(),
                fresh: false,
            },
        );
        self.probe_page_map();
        self.probe_also(rows);
    }

    /// The maps of the process of a VMA not ours: read in full at most once a second (the
    /// panel), and at once when PROCMAP_QUERY says the VMA `ask` names is not as it was
    /// (grown, shrunk, gone, the process exited) or cannot say (a kernel before 6.11).
    fn maps_of(&mut self, ask: procmaps::SmapsAsk) -> Result<Vec<MapsLine>, String> {
        let pid = ask.pid;
        if self.maps_file.as_ref().is_none_or(|(p, _)| *p != pid) {
            self.maps_file = procmaps::MapsFile::open(&pid.proc_path("maps"))
                .ok()
                .map(|f| (pid, f));
        }
        let same = self.maps_file.as_ref().is_some_and(|(_, f)| {
            matches!(procmaps::query_line(f, ask.start),
                Ok(Some(l)) if l.start == ask.start && l.end == ask.end)
        });
        let fresh = self
            .maps_read
            .as_ref()
            .is_some_and(|(p, at, _)| *p == pid && at.elapsed() < SPACE_PERIOD);
        if !(same && fresh) {
            let maps = procmaps::read_maps_of(pid).map_err(|e| e.to_string());
            self.maps_read = Some((pid, Instant::now(), maps));
        }
        self.maps_read
            .as_ref()
            .map_or_else(|| Ok(Vec::new()), |(_, _, m)| m.clone())
    }

    /// Fills the smaps counters of a VMA not ours from the reader thread: its newest answer
    /// for `ask` (the first time, waited for: a first screen says the counters), then asks
    /// again for the next refresh.
    fn counters_of(&mut self, ask: procmaps::SmapsAsk, snap: &mut snapshot::Snapshot) {
        let fresh = if self.smaps_last.as_ref().is_some_and(|(a, ..)| *a == ask) {
            self.smaps.latest()
        } else {
            self.smaps.ask(ask);
            self.smaps.wait(std::time::Duration::from_millis(200))
        };
        match fresh {
            Some((a, Ok(vmas))) if a == ask => {
                self.smaps_last = Some((ask, procmaps::total(&vmas), vmas.len()));
            }
            Some((a, Err(e))) if a == ask => {
                snap.problem.get_or_insert(e.to_string());
            }
            _ => {}
        }
        if let Some((a, vma, count)) = &self.smaps_last
            && *a == ask
        {
            snap.vma.clone_from(vma);
            snap.vma_count = *count;
        }
        self.smaps.ask(ask);
    }

    /// `--also`: adds a second mapping of our file, in `mode`, shown beside the first.
    ///
    /// # Errors
    /// No file of ours (anonymous memory, `--pid`), or the mmap's refusal.
    pub fn add_also(&mut self, mode: crate::sys::MapMode) -> Result<(), SysError> {
        let Subject::Ours { region, .. } = &self.subject else {
            return Err(SysError::new(
                libc::EINVAL,
                "--also",
                "a second mapping is made of a file we map, not of another process",
            ));
        };
        let also = region.also(mode, self.gate.file_writable())?;
        update(
            &mut self.model,
            Action::Note(format!(
                "--also: the same file mapped again, {} at 0x{:x}, shown beside the grid; o \
                 (or `swap`) makes it the one the grid shows and keys act on",
                mode.flag_name(),
                also.addr()
            )),
        );
        self.also = Some(also);
        self.refresh();
        Ok(())
    }

    /// The second mapping's snapshot, of the `rows` of the grid, for the pane beside it.
    fn probe_also(&mut self, rows: View) {
        let snap = match (&self.also, &self.subject) {
            (Some(also), Subject::Ours { explored: None, .. }) => {
                let mut snap = snapshot::take(also, &self.prober, rows);
                snap.write_allowed = self.gate.file_writable();
                Some(Box::new(snap))
            }
            _ => None,
        };
        if snap.is_some() || self.model.also.is_some() {
            update(&mut self.model, Action::AlsoProbed(snap));
        }
    }

    /// Checks the explored VMA against its process's `maps` (just read): reopened where it
    /// changed, ended where it or the process is gone. Returns whether the snapshot taken with
    /// these maps is to be shown.
    fn follow(&mut self, maps: &Result<Vec<MapsLine>, String>) -> bool {
        let Some(e) = self.explored_mut() else {
            return true;
        };
        let pid = e.view.pid();
        let (ended, note) = match maps {
            // A process that has exited has no maps (a zombie's are empty).
            Ok(maps) if maps.is_empty() => (Some("the process has exited".to_string()), None),
            Err(err) => (Some(format!("the process has exited ({err})")), None),
            Ok(maps) => match e.view.fate(maps) {
                VmaFate::Same => (None, None),
                VmaFate::Gone => (Some("the VMA was unmapped".to_string()), None),
                VmaFate::Changed(line) => {
                    let old = e.view.line().clone();
                    e.view = VmaView::open(pid, &line, e.view.write_allowed());
                    (None, Some(changed_note(&old, &line)))
                }
            },
        };
        e.ended.clone_from(&ended);
        if let Some(note) = note {
            update(&mut self.model, Action::Note(note));
        }
        if let Some(why) = ended {
            if let Some(mut looking) = self.model.looking.clone() {
                looking.ended = Some(why);
                update(&mut self.model, Action::Looking(Some(looking)));
            }
            return false;
        }
        true
    }

    /// Reads the address space of the process shown, for its view.
    fn probe_space(&mut self) {
        let (pid, ours, comm) = match &self.subject {
            Subject::Ours { region, .. } => (
                Pid::Myself,
                Some((region.addr(), region.addr() + region.map_bytes())),
                format!("pid {} mmapscope (this process)", std::process::id()),
            ),
            Subject::Other { attached, .. } => (
                Pid::Other(attached.info.pid),
                None,
                format!("pid {} {}", attached.info.pid, attached.info.comm),
            ),
        };
        let (vmas, title) = match process::address_space(pid, ours) {
            Ok(vmas) => {
                let title = format!("{comm} · {} VMAs", vmas.len());
                (vmas, title)
            }
            Err(e) => (self.model.space.clone(), format!("{comm} · {e}")),
        };
        update(&mut self.model, Action::SpaceProbed { vmas, title });
    }

    /// Explores the VMA of `line` of the process shown: ours again when it is our mapping.
    fn explore(&mut self, line: &MapsLine) {
        // Offsets found in one mapping mean nothing in another.
        self.cancel_search();
        let (looking, view) = match &self.subject {
            Subject::Ours { region, .. } => {
                if line.start < region.addr() + region.map_bytes() && line.end > region.addr() {
                    self.explore_back();
                    return;
                }
                let info = ProcessInfo {
                    pid: std::process::id(),
                    comm: "mmapscope".into(),
                    uid: rustix::process::getuid().as_raw(),
                };
                let view = VmaView::open(Pid::Myself, line, false);
                (looking_at(&info, &view, false, true), view)
            }
            Subject::Other { attached, .. } => {
                let view = VmaView::open(Pid::Other(attached.info.pid), line, attached.write);
                (looking_at(&attached.info, &view, true, false), view)
            }
        };
        match &mut self.subject {
            Subject::Ours { explored, .. } => *explored = Some(Explored { view, ended: None }),
            Subject::Other { explored, .. } => *explored = Explored { view, ended: None },
        }
        update(&mut self.model, Action::Looking(Some(looking)));
    }

    /// Back to the mapping we made.
    fn explore_back(&mut self) {
        self.cancel_search();
        if let Subject::Ours { explored, .. } = &mut self.subject
            && explored.take().is_some()
        {
            update(&mut self.model, Action::Looking(None));
        }
    }

    /// `view` with the minimap's budget for unchanged chunks taken away when it was spent less
    /// than half a refresh interval ago (it still probes what we changed, the cursor's chunk
    /// and the stalest one). Holding a key down refreshes many times an interval; idling, once.
    fn paced(&mut self, mut view: View) -> View {
        let interval = Duration::from_millis(self.model.refresh_ms);
        if self
            .minimap_spent
            .is_some_and(|at| at.elapsed() < interval / 2)
        {
            view.minimap.budget = Duration::ZERO;
        } else {
            self.minimap_spent = Some(Instant::now());
        }
        view
    }

    /// Pages holding bytes written by us since the last msync that covered them.
    pub fn edited_pages(&self) -> BTreeSet<u64> {
        let ps = self.shown().0.page_size();
        self.model.edits.iter().map(|off| off / ps).collect()
    }

    /// The report as `snapshot` gives it (no faulting in: observing does not disturb).
    ///
    /// # Errors
    /// fstat or /proc failures.
    pub fn report(&self) -> Result<report::Report, SysError> {
        let (shown, prober) = self.shown();
        report::build_with_edits(shown, prober, false, &self.edited_pages())
    }

    /// Runs an action through `update` and the executor, as a script line does (the write
    /// gate refuses what needs consent instead of asking); returns the outcomes.
    pub fn act(&mut self, action: Action) -> Vec<Outcome> {
        self.act_with(action, Origin::Script, false)
    }

    /// As `act`, for a key in the TUI: the write gate may ask (a question on screen; the
    /// answer comes back as a key), and code that `exec` calls keeps running in its child
    /// while the screen stays live (a log line says so); `poll_child` brings its outcome in.
    /// Another `exec` meanwhile is refused (EBUSY).
    pub fn act_live(&mut self, action: Action) -> Vec<Outcome> {
        self.act_with(action, Origin::Key, true)
    }

    fn act_with(&mut self, action: Action, origin: Origin, live: bool) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for command in update(&mut self.model, action) {
            let (op, history, confirmed) = match command {
                Command::Exec {
                    op,
                    history,
                    confirmed,
                } => (op, history, confirmed),
                Command::Explore(line) => {
                    self.explore(&line);
                    continue;
                }
                Command::ExploreBack => {
                    self.explore_back();
                    continue;
                }
                Command::Search(req) => {
                    self.start_search(req);
                    continue;
                }
                Command::CancelSearch { id } => {
                    if self.finding.as_ref().is_some_and(|job| job.id() == id) {
                        self.cancel_search();
                    }
                    continue;
                }
            };
            let permit = match self.gate.check(&op, &self.gate_facts(), origin, confirmed) {
                Verdict::Go(permit) => permit,
                Verdict::Ask {
                    question,
                    protect_first,
                } => {
                    let then = Box::new(Action::Confirmed {
                        op,
                        history,
                        protect_first,
                    });
                    update(&mut self.model, Action::Question { question, then });
                    continue;
                }
                Verdict::Refuse(err) => {
                    let outcome = exec::refused(op, err);
                    apply_outcome(&mut self.model, &outcome, history);
                    outcomes.push(outcome);
                    continue;
                }
            };
            let Some(mut outcome) = self.carry_out(permit, live) else {
                continue;
            };
            // The edit history is the session's: an undo or redo says so in its call.
            match history {
                History::Record => {}
                History::Undo => outcome.call = format!("undo: {}", outcome.call),
                History::Redo => outcome.call = format!("redo: {}", outcome.call),
            }
            apply_outcome(&mut self.model, &outcome, history);
            outcomes.push(outcome);
        }
        self.refresh();
        outcomes
    }

    /// Carries out what the gate allowed, on the mapping or VMA shown; `None` when code keeps
    /// running in a child (`live`), whose outcome `poll_child` brings later.
    fn carry_out(&mut self, permit: gate::Permit, live: bool) -> Option<Outcome> {
        Some(match (&mut self.subject, &self.running, live) {
            (
                Subject::Ours {
                    region,
                    explored: None,
                },
                ..,
            ) if *permit.op() == Op::Swap && self.also.is_some() => {
                let also = self.also.as_mut()?;
                std::mem::swap(region, also);
                exec::swapped(region, also)
            }
            (
                Subject::Ours {
                    explored: Some(e), ..
                }
                | Subject::Other { explored: e, .. },
                ..,
            ) => exec::execute_on_view(&e.view, permit),
            (Subject::Ours { region, .. }, _, false) => {
                exec::execute(region, &self.prober, &mut self.lab, permit)
            }
            (_, Some(running), true) if matches!(permit.op(), Op::Exec { .. }) => {
                running.refuse(permit.into_op())
            }
            (Subject::Ours { region, .. }, _, true) => {
                match exec::start(region, &self.prober, &mut self.lab, permit) {
                    Started::Done(outcome) => outcome,
                    Started::Running(running) => {
                        update(&mut self.model, Action::Note(running.running_line()));
                        self.running = Some(running);
                        return None;
                    }
                }
            }
        })
    }

    /// What the write gate needs to know of what is shown: the mapping we made (its file, mode
    /// and protection, the fork child's copy), a VMA of our own, or another process's.
    fn gate_facts(&self) -> gate::Shown {
        match &self.subject {
            Subject::Ours {
                explored: Some(_), ..
            } => gate::Shown::OwnVma,
            Subject::Ours { region, .. } => gate::Shown::Mapping {
                backing: match region.path().filter(|_| region.page_cache_file()) {
                    Some(path) => gate::Backing::File {
                        shown: crate::text::sanitize(&path.to_string_lossy()),
                        writable: region.may_write(),
                    },
                    None => gate::Backing::Memory,
                },
                mode: region.mode(),
                prot: region.prot(),
                child_mode: self.lab.child_spec().map(|c| {
                    if c.shared {
                        crate::sys::MapMode::Shared
                    } else {
                        crate::sys::MapMode::Private
                    }
                }),
            },
            Subject::Other { attached, explored } => gate::Shown::Process {
                pid: attached.info.pid,
                name: format!(
                    "pid {} {}",
                    attached.info.pid,
                    crate::text::sanitize(&attached.info.comm)
                ),
                vma: crate::text::sanitize(
                    &crate::sys::vma::vma_name(explored.view.line()).to_string_lossy(),
                ),
                start: explored.view.line().start,
                write: attached.write,
                alive: explored.ended.clone().map_or(Ok(()), Err),
            },
        }
    }

    /// Starts a search (ending one still running: its end carries its own id, so the model
    /// takes it for news of the old search, not the new one) and works on it for a slice at
    /// once, so that a small mapping answers within the keypress and a large one shows its
    /// progress from the first slice.
    fn start_search(&mut self, req: Request) {
        self.cancel_search();
        let (shown, _) = self.shown();
        self.finding = Some(seek::Job::new(req, shown));
        self.step_search(SEARCH_SLICE);
    }

    /// Works on the search for about `budget`; returns whether it still runs. A search of a
    /// VMA no longer followed (its process exited, it was unmapped) ends, saying why.
    fn step_search(&mut self, budget: Duration) -> bool {
        let Some(mut job) = self.finding.take() else {
            return false;
        };
        let why = self
            .explored_mut()
            .and_then(|e| e.ended.as_deref())
            .map(|ended| seek_stop(ended).to_string());
        let step = match why {
            Some(why) => seek::Step::Done(job.stopped(&why)),
            None => {
                let (shown, prober) = self.shown();
                job.step(shown, prober, budget)
            }
        };
        match step {
            seek::Step::Running { done, total } => {
                let id = job.id();
                update(&mut self.model, Action::SearchProgress { id, done, total });
                self.finding = Some(job);
                true
            }
            seek::Step::Done(finished) => {
                update(&mut self.model, Action::SearchEnded(Box::new(finished)));
                false
            }
        }
    }

    /// Stops the search running, and says so.
    fn cancel_search(&mut self) {
        if let Some(job) = self.finding.take() {
            update(
                &mut self.model,
                Action::SearchEnded(Box::new(job.cancelled())),
            );
        }
    }

    /// Whether a search still runs (the TUI's loop then calls `poll_search` without waiting).
    pub fn search_running(&self) -> bool {
        self.finding.is_some()
    }

    /// Works on the running search for a slice; once it ends, its result is in the model and
    /// the screen's view is probed again. Returns whether it still runs.
    pub fn poll_search(&mut self) -> bool {
        if self.finding.is_none() {
            return false;
        }
        let running = self.step_search(SEARCH_SLICE);
        if !running {
            self.refresh();
        }
        running
    }

    /// Runs the search to its end (scripts and tests).
    pub fn finish_search(&mut self) {
        while self.poll_search() {}
    }

    /// Reads the page map's cells for its window.
    fn probe_page_map(&mut self) {
        let Some(w) = self.model.page_map_window() else {
            self.page_map_next = 0;
            return;
        };
        let geometry = self.model.snap.geometry;
        let cells = usize::try_from(w.cells()).unwrap_or(usize::MAX);
        let same = self.model.page_map.first == w.first_page()
            && self.model.page_map.per_cell == w.per_cell
            && self.model.page_map.buckets.len() == cells;
        // A new window (or one with cells still blank) is read with a quarter of the refresh
        // interval a refresh; once whole, again a slice at a time: 1% of the interval.
        let unread = self.model.page_map.buckets.iter().any(|b| b.pages == 0);
        let from = if same {
            self.page_map_next % cells.max(1)
        } else {
            0
        };
        let budget = if same && !unread {
            self.model.refresh_ms * 10
        } else {
            self.model.refresh_ms * 250
        };
        let budget = Duration::from_micros(budget);
        let (shown, prober) = self.shown();
        let started = Instant::now();
        let mut buckets = Vec::new();
        let mut at = from;
        while at < cells && (at == from || started.elapsed() < budget) {
            // A cheap window (page by page in one read) goes whole.
            let n = if w.per_cell.saturating_mul(w.cells()) <= crate::sys::cells::EXACT_PAGES {
                cells - at
            } else {
                1
            };
            let first = w.first_page() + at as u64 * w.per_cell;
            buckets.extend(crate::sys::cells::buckets(
                shown, prober, &geometry, first, w.per_cell, n as u64,
            ));
            at += n;
        }
        self.page_map_next = if at >= cells { 0 } else { at };
        let slice = crate::action::PageMapSlice {
            first: w.first_page(),
            per_cell: w.per_cell,
            cells,
            start: from,
            buckets,
        };
        update(&mut self.model, Action::PageMapProbed(slice));
    }

    /// Whether code started by `act_live` still runs in its child.
    pub fn child_running(&self) -> bool {
        self.running.is_some()
    }

    /// Without blocking: once the child started by `act_live` has ended (or has been killed at
    /// its deadline), applies its outcome and returns it.
    pub fn poll_child(&mut self) -> Option<Outcome> {
        let outcome = self.running.as_mut()?.poll()?;
        self.running = None;
        apply_outcome(&mut self.model, &outcome, History::Record);
        self.refresh();
        Some(outcome)
    }

    fn expect(&mut self, e: &Expect) -> Result<LineValue, String> {
        let Expect::Check { path, cmp, value } = e else {
            let claimed = std::mem::take(&mut self.pending_failure);
            return if claimed {
                Ok(LineValue::Claimed)
            } else {
                Err("expect error: the previous command did not fail".into())
            };
        };
        let actual = self.value_at(path)?;
        let field = match path {
            ExpectPath::Page(_, f) | ExpectPath::Object(_, f) => f.as_str(),
            ExpectPath::File(_) => "",
        };
        if actual.is_null() && ROOT_ONLY.contains(&field) && !self.prober.kpageflags_readable() {
            return Ok(LineValue::Skipped(format!(
                "`{field}` needs root (kpageflags, PFNs)"
            )));
        }
        let expected = match value {
            Value::Path(other) => self.value_at(other)?,
            literal => literal.json(),
        };
        let shown_expected = shown(path, &expected);
        let shown_actual = shown(path, &actual);
        if compare(&actual, *cmp, &expected) {
            Ok(LineValue::Checked(shown_actual))
        } else {
            Err(format!(
                "expect failed: {path} is {shown_actual}, expected {} {shown_expected}",
                cmp.symbol()
            ))
        }
    }

    /// The value `path` names now: a field of the report (probed without faulting anything
    /// in), of the previous result, or a byte of the file.
    fn value_at(&mut self, path: &ExpectPath) -> Result<Json, String> {
        Ok(match path {
            ExpectPath::File(off) => {
                // Through our own descriptor: the file we mapped, whatever its path names now
                // (without readahead: a window on the page cache, `Region::read_file`).
                let mut b = [0u8; 1];
                let Some(region) = self.region() else {
                    return Err("expect file: only with a mapping mmapscope made".into());
                };
                match region.read_file(*off, &mut b) {
                    Ok(1) => json!(b[0]),
                    Ok(_) => return Err(format!("expect file 0x{off:x}: past end of file")),
                    Err(e) => return Err(format!("expect file: {e}")),
                }
            }
            ExpectPath::Page(page, field) => {
                let report = serde_json::to_value(self.report().map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                let run = report["pages"]
                    .as_array()
                    .and_then(|runs| {
                        runs.iter().find(|r| {
                            let first = r["first"].as_u64().unwrap_or(0);
                            (first..first + r["count"].as_u64().unwrap_or(0)).contains(page)
                        })
                    })
                    .ok_or_else(|| format!("page {page} is not in the mapping"))?;
                run.get(field.as_str())
                    .cloned()
                    .ok_or_else(|| format!("a page has no field `{field}`"))?
            }
            ExpectPath::Object(obj, field) if obj == "result" => field
                .split('.')
                .try_fold(&self.last_result, |v, key| v.get(key))
                .cloned()
                .ok_or_else(|| format!("the previous result has no field `{field}`"))?,
            ExpectPath::Object(obj, field) => {
                let report = serde_json::to_value(self.report().map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                report[obj.as_str()]
                    .get(field.as_str())
                    .cloned()
                    .ok_or_else(|| format!("`{obj}` has no field `{field}`"))?
            }
        })
    }

    /// Runs one line; returns its JSON line (`{"line", "cmd", "ok", "result" | "error"}`).
    pub fn step(&mut self, line: &Line) -> Json {
        self.run_line(line).json()
    }

    /// Runs one line; returns what it gave, typed.
    pub fn run_line(&mut self, line: &Line) -> LineResult {
        // A failure not claimed by the `expect error` right after it is unexpected.
        let claims = matches!(line.step, Step::Expect(Expect::Error));
        if self.pending_failure && !claims {
            self.failed = true;
            self.pending_failure = false;
        }
        let result: Result<LineValue, String> = match &line.step {
            Step::Do(op) => {
                let outcomes = self.act(Action::Do(op.clone()));
                match outcomes.into_iter().last() {
                    None => Err(self
                        .model
                        .log
                        .last()
                        .map_or_else(|| "nothing done".into(), |l| l.text.clone())),
                    Some(o) => match &o.result {
                        Ok(_) => Ok(LineValue::Done(Box::new(o))),
                        Err(e) => Err(e.to_string()),
                    },
                }
            }
            Step::Snapshot => self
                .report()
                .map(|r| LineValue::Report(Box::new(r)))
                .map_err(|e| e.to_string()),
            Step::Sleep(ms) => {
                std::thread::sleep(std::time::Duration::from_millis(*ms));
                self.refresh();
                Ok(LineValue::Slept(*ms))
            }
            Step::Say(text) => Ok(LineValue::Said(text.clone())),
            Step::Show(path) => self
                .value_at(path)
                .map(|v| LineValue::Shown(shown(path, &v))),
            Step::Expect(e) => {
                let r = self.expect(e);
                if r.is_err() {
                    self.failed = true;
                }
                r
            }
        };
        if !matches!(line.step, Step::Expect(_) | Step::Show(_)) {
            self.last_result = result.as_ref().map_or(Json::Null, LineValue::json);
        }
        if result.is_err() && !matches!(line.step, Step::Expect(_)) {
            self.pending_failure = true;
        }
        LineResult {
            number: line.number,
            text: line.text.clone(),
            result,
        }
    }

    /// Ends a run: a failure that no `expect error` claimed counts. Returns whether all went as
    /// expected.
    pub fn finish(&mut self) -> bool {
        if std::mem::take(&mut self.pending_failure) {
            self.failed = true;
        }
        !self.failed
    }

    /// Runs every line, writing one JSON line each; returns whether all went as expected.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn run(&mut self, lines: &[Line], out: &mut impl Write) -> std::io::Result<bool> {
        for line in lines {
            let j = self.step(line);
            writeln!(out, "{j}")?;
            out.flush()?;
        }
        Ok(self.finish())
    }
}
