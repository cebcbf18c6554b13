//! A session: the mapping, its probes, the experiments' state and the model, with the one path
//! every action takes: `update` -> `sys::ops::carry` -> `apply_outcome` -> refresh. The TUI drives it
//! with keys, `batch` and lessons with script lines; each script line gives one JSON line, and
//! `expect` checks the report (or the file on disk, or the previous result).

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::action::{Action, Command, History, Looking, Op};
use crate::find::Request;
use crate::model::Model;
use crate::report;
use crate::script::{Cmp, Expect, ExpectPath, Line, Step, Value};
use crate::seek;
use crate::sys::SysError;
use crate::sys::attach::foreign::{VmaFate, VmaView};
use crate::sys::attach::handle::{Gone, ProcessHandle};
use crate::sys::lab::experiments::Lab;
use crate::sys::map::range::Mapped;
use crate::sys::map::region::Region;
use crate::sys::ops::carry::{self, Started};
use crate::sys::ops::gate::{self, Consent, Gate, Origin, Verdict};
use crate::sys::ops::outcome::Outcome;
use crate::sys::probe::chunks::ChunkAsk;
use crate::sys::probe::prober::Prober;
use crate::sys::probe::snapshot::{self, View};
use crate::sys::proc::maps::MapsLine;
use crate::sys::proc::process::{self, ProcessInfo};
use crate::update::{apply_outcome, update};
use crate::watch::Watch;

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
    running: Option<carry::Running>,
    /// A search running across ticks; `poll_search` advances it.
    finding: Option<seek::Job>,
    /// `--also`: a second mapping of the same file, shown beside the first; `swap` trades
    /// the two (the grid and every operation take the one in `subject`).
    also: Option<Region>,
    /// The page map's next cell to read again.
    page_map_next: usize,
    /// smaps and maps of the process explored and the address-space view, read through its
    /// handle at a pace their cost allows.
    watch: Watch,
    /// A handle on our own process, once one of its VMAs is explored or its address space
    /// shown.
    own: Option<Arc<ProcessHandle>>,
    /// When the minimap last spent its budget on chunks nothing changed: once per refresh
    /// interval, however many refreshes keys bring.
    minimap_spent: Option<Instant>,
    /// `--force`: every operation may populate, lock or grow memory beyond the bound.
    force: bool,
    /// A script's news of the peer or the child ending on its own, for the JSON of the line
    /// during which it was seen (`LineResult::events`).
    ended: Vec<String>,
}

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

/// The process `--pid` names, by the handle opened on it once.
struct Attached {
    handle: Arc<ProcessHandle>,
    prober: Prober,
    /// `--write`: writes go through its `mem` (each confirmed in the TUI), only where it may
    /// write itself.
    write: bool,
}

/// A VMA being explored, followed as the process changes it.
struct Explored {
    view: VmaView,
    /// Why it is no longer followed (the process exited, the VMA was unmapped).
    ended: Option<String>,
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
    /// What ended on its own while the line ran (the peer, the child), in the log's words.
    pub events: Vec<String>,
}

impl LineResult {
    /// The batch's JSON line; `"events"` only when something ended meanwhile.
    pub fn json(&self) -> Json {
        let mut j = match &self.result {
            Ok(v) => json!({"line": self.number, "cmd": self.text, "ok": true, "result": v.json()}),
            Err(e) => json!({"line": self.number, "cmd": self.text, "ok": false, "error": e}),
        };
        if !self.events.is_empty() {
            j["events"] = json!(self.events);
        }
        j
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
    // A number, or an address as the report writes it ("0x7f..."): compared exactly, as u64
    // where both are integers (an address does not fit an f64's 53 bits everywhere).
    let number = |v: &Json| -> Option<f64> {
        v.as_f64().or_else(|| {
            let hex = v.as_str()?.strip_prefix("0x")?;
            u64::from_str_radix(hex, 16).ok().map(|n| n as f64)
        })
    };
    let exact = |v: &Json| -> Option<u64> {
        v.as_u64()
            .or_else(|| u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok())
    };
    match cmp {
        Cmp::Eq => actual == expected,
        Cmp::Ne => actual != expected,
        Cmp::Has => match (actual, expected) {
            (Json::Array(items), e) => items.contains(e),
            (Json::String(text), Json::String(e)) => text.contains(e.as_str()),
            _ => false,
        },
        _ => {
            let ord = match (exact(actual), exact(expected)) {
                (Some(a), Some(e)) => a.partial_cmp(&e),
                _ => number(actual)
                    .zip(number(expected))
                    .and_then(|(a, e)| a.partial_cmp(&e)),
            };
            ord.is_some_and(|o| match cmp {
                Cmp::Lt => o.is_lt(),
                Cmp::Le => o.is_le(),
                Cmp::Gt => o.is_gt(),
                Cmp::Ge => o.is_ge(),
                Cmp::Eq | Cmp::Ne | Cmp::Has => unreachable!("handled above"),
            })
        }
    }
}

/// One line in the log (`--log FILE`) for an operation carried out: the call as made, how
/// long it took, and its error when it failed.
fn log_outcome(outcome: &Outcome) {
    let elapsed_us = u64::try_from(outcome.elapsed.as_micros()).unwrap_or(u64::MAX);
    match &outcome.result {
        Ok(_) => tracing::info!(
            op = %outcome.op.name(),
            call = %outcome.call,
            elapsed_us,
            "done"
        ),
        Err(e) => tracing::info!(
            op = %outcome.op.name(),
            call = %outcome.call,
            elapsed_us,
            error = %e,
            "failed"
        ),
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
        vma: crate::text::sanitize(
            &crate::sys::attach::foreign::vma_name(view.line()).to_string_lossy(),
        ),
        start: view.line().start,
        via: view.bytes_via().to_string(),
        back,
        ended: None,
        reopen: false,
    }
}

/// The VMA `spec` names in `maps` of process `pid` (an address inside it, a path or a name);
/// without one, its heap, else its first VMA.
fn first_vma(pid: u32, maps: &[MapsLine], spec: Option<&str>) -> Result<MapsLine, SysError> {
    let line = match spec {
        Some(spec) => process::resolve_vma(maps, spec)
            .map_err(|why| SysError::new(libc::ENOENT, "--vma", why))?,
        None => maps
            .iter()
            .find(|l| l.path == "[heap]")
            .or_else(|| maps.first())
            .ok_or_else(|| {
                SysError::new(
                    libc::ESRCH,
                    format!("--pid {pid}"),
                    "the process has no memory mappings (it has exited, or is a kernel thread)",
                )
            })?,
    };
    Ok(line.clone())
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
        let force = region.placement().force;
        let mut session = Self::with(
            Subject::Ours {
                region,
                explored: None,
            },
            prober,
            model,
            interactive,
        );
        session.force = force;
        session
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
            finding: None,
            also: None,
            page_map_next: 0,
            watch: Watch::default(),
            own: None,
            minimap_spent: interactive.then(Instant::now),
            force: false,
            ended: Vec::new(),
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
        // Opening its `mem` checked ptrace access: nothing is read to try it (a read of a page
        // not present would fault it in, in the process looked at).
        let handle = Arc::new(ProcessHandle::open(pid, write)?);
        if let Some(refused) = handle.mem_refusal() {
            return Err(refused.clone());
        }
        let started = Instant::now();
        let maps = handle.maps()?;
        let line = first_vma(pid, &maps, spec)?;
        let own = Prober::new();
        let prober = own.for_handle(&handle)?;
        let view = VmaView::open(&handle, &line, write);
        let mut model = first_model(&view, &prober, interactive, size);
        let looking = looking_at(handle.info(), &view, true, false);
        update(&mut model, Action::Looking(Some(looking)));
        if spec.is_none() && interactive {
            update(&mut model, Action::OpenSpace);
        }
        let shared = Arc::clone(&handle);
        let mut session = Self::with(
            Subject::Other {
                attached: Attached {
                    handle,
                    prober,
                    write,
                },
                explored: Explored { view, ended: None },
            },
            own,
            model,
            interactive,
        );
        // The maps just read serve the side panel too.
        session.watch.seed_maps(&shared, maps, started);
        session.refresh();
        Ok(session)
    }

    /// After exec (Enter on `called exec`): a new handle on the same process, its new
    /// program shown from its heap (the address-space view opened, interactive). Only while
    /// the process attached to has not exited: then no other process can hold its pid.
    fn reattach(&mut self) {
        let Subject::Other { attached, explored } = &mut self.subject else {
            return;
        };
        let old = Arc::clone(&attached.handle);
        if old.status() != Some(Gone::Execed) {
            return;
        }
        let pid = old.pid();
        let opened = ProcessHandle::open(pid, attached.write).and_then(|h| {
            if old.status() == Some(Gone::Execed) {
                Ok(Arc::new(h))
            } else {
                Err(old.gone_error(format!("reopen pid {pid}")))
            }
        });
        let new = opened.and_then(|h| {
            let line = first_vma(pid, &h.maps()?, None)?;
            let prober = self.prober.for_handle(&h)?;
            Ok((h, line, prober))
        });
        let (handle, line, prober) = match new {
            Ok(n) => n,
            Err(e) => {
                update(
                    &mut self.model,
                    Action::Note(format!("reopening pid {pid}: {e}")),
                );
                return;
            }
        };
        let view = VmaView::open(&handle, &line, attached.write);
        let looking = looking_at(handle.info(), &view, true, false);
        update(
            &mut self.model,
            Action::Note(format!(
                "pid {pid} reopened after exec: {}, a new handle on its new memory",
                crate::text::sanitize(&handle.info().comm)
            )),
        );
        *explored = Explored { view, ended: None };
        attached.handle = handle;
        attached.prober = prober;
        self.watch.forget();
        update(&mut self.model, Action::Looking(Some(looking)));
        if self.interactive {
            // Probed first: the view opens on the VMA shown, the new program's heap.
            self.refresh();
            update(&mut self.model, Action::OpenSpace);
        }
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

    /// The peer and the child that ended on their own since the last look, reaped and logged;
    /// a script also keeps the log line for the JSON of the line it ended during (`ended`).
    fn reap_ended(&mut self) {
        let mut news = Vec::new();
        if let Some((pid, how)) = self.lab.reap_peer() {
            tracing::info!(pid, %how, "the peer ended");
            news.push(Action::PeerEnded { pid, how });
        }
        if let Some((pid, how)) = self.lab.reap_child() {
            tracing::info!(pid, %how, "the forked child ended");
            news.push(Action::ChildEnded { pid, how });
        }
        for action in news {
            update(&mut self.model, action);
            if !self.interactive {
                self.ended
                    .extend(self.model.log.last().map(|l| l.text.clone()));
            }
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
        self.reap_ended();
        // The prober compares our pages with the child's, while there is one; and reading
        // bytes must not split the pages we share with it.
        self.prober.follow_child(self.lab.child_spec());
        if let Subject::Ours { region, .. } = &mut self.subject {
            region.read_without_pinning(self.lab.keeper.is_some());
        }
        let space = matches!(self.model.overlay, crate::model::Overlay::Space { .. });
        if space {
            self.probe_space();
        }
        if self.explored_mut().is_some_and(|e| e.ended.is_some()) || self.process_gone() {
            return;
        }
        // The VMA explored, asked of the kernel by PROCMAP_QUERY (cheap: one VMA).
        let fate = self.explored_mut().and_then(|e| e.view.fate_now());
        // The rows of the grid, for the second mapping's pane (its minimap is not drawn).
        let rows = View {
            minimap: NO_CHUNKS,
            ..view
        };
        let (shown, prober) = self.shown();
        let mut snap = snapshot::take(shown, prober, view);
        if let Some(e) = self.explored_mut() {
            let (handle, line) = (Arc::clone(e.view.handle()), e.view.line().clone());
            let changed = fate.as_ref().is_some_and(|f| *f != VmaFate::Same);
            snap.maps = self.watch.maps(&handle, changed);
            let refresh = Duration::from_millis(self.model.refresh_ms);
            // The address-space view covers the counters: they are not read for it.
            self.watch
                .counters(&handle, &line, refresh, !space, &mut snap);
        }
        if matches!(self.subject, Subject::Ours { explored: None, .. }) {
            snap.write_allowed = self.gate.file_writable();
        }
        // Where the kernel has no PROCMAP_QUERY (before 6.11), the maps text says how the
        // VMA fares; a snapshot of a VMA gone is not shown (the last state stays).
        let fate = fate.or_else(|| {
            let maps = snap.maps.as_ref().ok()?;
            Some(self.explored_mut()?.view.fate(maps))
        });
        // A VMA not found may be a process that went meanwhile: that is said instead.
        if !matches!(fate, Some(VmaFate::Same)) && self.process_gone() {
            return;
        }
        if !self.follow(fate) {
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

    /// Follows the explored VMA by its `fate` (`None`: no answer this time): reopened where
    /// it changed, ended where it is gone. Returns whether this refresh's snapshot is shown.
    fn follow(&mut self, fate: Option<VmaFate>) -> bool {
        let Some(e) = self.explored_mut() else {
            return true;
        };
        let (ended, note) = match fate {
            None | Some(VmaFate::Same) => (None, None),
            Some(VmaFate::Gone) => (Some("the VMA was unmapped".to_string()), None),
            Some(VmaFate::Changed(line)) => {
                let old = e.view.line().clone();
                e.view = VmaView::open(e.view.handle(), &line, e.view.write_allowed());
                (None, Some(changed_note(&old, &line)))
            }
        };
        e.ended.clone_from(&ended);
        if let Some(note) = note {
            update(&mut self.model, Action::Note(note));
        }
        match ended {
            Some(why) => {
                self.end_looking(why, false);
                false
            }
            None => true,
        }
    }

    /// The header and the log say why the view stopped following (once: the model logs the
    /// change); `reopen`: Enter reopens the process (after exec).
    fn end_looking(&mut self, why: String, reopen: bool) {
        if let Some(mut looking) = self.model.looking.clone() {
            looking.ended = Some(why);
            looking.reopen = reopen;
            update(&mut self.model, Action::Looking(Some(looking)));
        }
    }

    /// Whether the process of the VMA explored is gone from under its handle: exited, or
    /// called exec. Then the view stops (the last state stays), the header says which, and
    /// the handle refuses every write from then on.
    fn process_gone(&mut self) -> bool {
        let Some(e) = self.explored_mut() else {
            return false;
        };
        let Some(gone) = e.view.handle().status() else {
            return false;
        };
        let why = gone.header().to_string();
        e.ended = Some(why.clone());
        self.end_looking(why, gone == Gone::Execed);
        true
    }

    /// The handle on the process shown: the one attached to, or our own (opened once).
    fn process_handle(&mut self) -> Result<Arc<ProcessHandle>, SysError> {
        if let Subject::Other { attached, .. } = &self.subject {
            return Ok(Arc::clone(&attached.handle));
        }
        if let Some(h) = &self.own {
            return Ok(Arc::clone(h));
        }
        let h = Arc::new(ProcessHandle::myself()?);
        self.own = Some(Arc::clone(&h));
        Ok(h)
    }

    /// The address space of the process shown, for its view: every VMA with its Rss, from
    /// one read of smaps (`watch`: read again when its cost allows; the view says how old).
    fn probe_space(&mut self) {
        let ours = match &self.subject {
            Subject::Ours { region, .. } => {
                Some((region.addr(), region.addr() + region.map_bytes()))
            }
            Subject::Other { .. } => None,
        };
        let handle = match self.process_handle() {
            Ok(h) => h,
            Err(e) => {
                let (vmas, read_ms) = (self.model.space.clone(), self.model.now_ms);
                let title = format!("pid {} · {e}", std::process::id());
                update(
                    &mut self.model,
                    Action::SpaceProbed {
                        vmas,
                        title,
                        read_ms,
                    },
                );
                return;
            }
        };
        let again = self.model.space.is_empty();
        let Some(space) = self.watch.space(&handle, ours, again) else {
            return;
        };
        let info = handle.info();
        let comm = if ours.is_some() {
            format!("pid {} mmapscope (this process)", info.pid)
        } else {
            format!("pid {} {}", info.pid, info.comm)
        };
        let title = match &space.problem {
            None => format!(
                "{comm} · {} VMAs",
                crate::text::thousands(space.vmas.len() as u64)
            ),
            Some(p) => format!("{comm} · {p}"),
        };
        let since = space.read_at.saturating_duration_since(self.start);
        let read_ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
        update(
            &mut self.model,
            Action::SpaceProbed {
                vmas: space.vmas,
                title,
                read_ms,
            },
        );
    }

    /// Explores the VMA of `line` of the process shown: ours again when it is our mapping.
    fn explore(&mut self, line: &MapsLine) {
        tracing::info!(
            start = format_args!("{:#x}", line.start),
            end = format_args!("{:#x}", line.end),
            perms = %line.perms,
            "explore a VMA"
        );
        // Offsets found in one mapping mean nothing in another.
        self.cancel_search();
        if let Subject::Ours { region, .. } = &self.subject
            && line.start < region.addr() + region.map_bytes()
            && line.end > region.addr()
        {
            self.explore_back();
            return;
        }
        let handle = match self.process_handle() {
            Ok(h) => h,
            Err(e) => {
                update(&mut self.model, Action::Note(e.to_string()));
                return;
            }
        };
        let (other, write) = match &self.subject {
            Subject::Ours { .. } => (false, false),
            Subject::Other { attached, .. } => (true, attached.write),
        };
        let view = VmaView::open(&handle, line, write);
        let looking = looking_at(handle.info(), &view, other, !other);
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
        let mut force_next = false;
        for command in update(&mut self.model, action) {
            let (op, history, confirmed) = match command {
                Command::Exec {
                    op,
                    history,
                    confirmed,
                } => (op, history, confirmed),
                Command::Force => {
                    force_next = true;
                    continue;
                }
                Command::Explore(line) => {
                    self.explore(&line);
                    continue;
                }
                Command::ExploreBack => {
                    self.explore_back();
                    continue;
                }
                Command::Reattach => {
                    self.reattach();
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
            // A forced line may commit memory beyond the bound (limits::judge): this command
            // only, or the whole run with --force.
            let force = std::mem::take(&mut force_next) || self.force;
            let permit = match self
                .gate
                .check(&op, &self.gate_facts(&op), origin, confirmed)
            {
                Verdict::Go(permit) => permit,
                Verdict::Ask {
                    question,
                    protect_first,
                } => {
                    tracing::info!(op = %op.name(), %question, "asked first");
                    let then = Box::new(Action::Confirmed {
                        op,
                        history,
                        protect_first,
                    });
                    update(&mut self.model, Action::Question { question, then });
                    continue;
                }
                Verdict::Refuse(err) => {
                    tracing::info!(op = %op.name(), error = %err, "refused by the write gate");
                    let outcome = carry::refused(op, err);
                    apply_outcome(&mut self.model, &outcome, history);
                    outcomes.push(outcome);
                    continue;
                }
            };
            if let Subject::Ours { region, .. } = &mut self.subject {
                region.set_force(force);
            }
            let Some(mut outcome) = self.carry_out(permit, live) else {
                continue;
            };
            // The edit history is the session's: an undo or redo says so in its call.
            match history {
                History::Record => {}
                History::Undo => outcome.call = format!("undo: {}", outcome.call),
                History::Redo => outcome.call = format!("redo: {}", outcome.call),
            }
            log_outcome(&outcome);
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
                carry::swapped(region, also)
            }
            (
                Subject::Ours {
                    explored: Some(e), ..
                }
                | Subject::Other { explored: e, .. },
                ..,
            ) => carry::execute_on_view(&e.view, permit),
            (Subject::Ours { region, .. }, _, false) => {
                carry::execute(region, &self.prober, &mut self.lab, permit)
            }
            (_, Some(running), true) if matches!(permit.op(), Op::Exec { .. }) => {
                running.refuse(permit.into_op())
            }
            (Subject::Ours { region, .. }, _, true) => {
                match carry::start(region, &self.prober, &mut self.lab, permit) {
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

    /// What the write gate needs to know of what is shown, for `op`: the mapping we made (its
    /// file, mode and protection, the fork child's copy), a VMA of our own, or another
    /// process's (and whether a write there could land now).
    fn gate_facts(&self, op: &Op) -> gate::Shown {
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
            Subject::Other { attached, explored } => {
                let info = attached.handle.info();
                let view = &explored.view;
                let lands = match (op, &explored.ended) {
                    (_, Some(why)) => Err(SysError::new(
                        libc::ESRCH,
                        "write",
                        format!("{why}: nothing is written there any more"),
                    )),
                    (Op::Write { offset, bytes }, None) => {
                        view.check_write(*offset, bytes.len() as u64)
                    }
                    _ => Ok(()),
                };
                gate::Shown::Process {
                    pid: info.pid,
                    name: format!("pid {} {}", info.pid, crate::text::sanitize(&info.comm)),
                    vma: crate::text::sanitize(
                        &crate::sys::attach::foreign::vma_name(view.line()).to_string_lossy(),
                    ),
                    start: view.line().start,
                    write: attached.write,
                    lands,
                }
            }
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
        // Why the VMA is no longer followed, in the search's words: the handle says whether
        // the process went; else the reason as it is (the VMA was unmapped).
        let why = self.explored_mut().and_then(|e| {
            let ended = e.ended.as_deref()?;
            Some(match e.view.handle().gone() {
                Some(Gone::Exited) => seek::EXITED.to_string(),
                Some(Gone::Execed) => "the process called exec".to_string(),
                None => ended.to_string(),
            })
        });
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
            let n = if w.per_cell.saturating_mul(w.cells()) <= crate::sys::probe::cells::EXACT_PAGES
            {
                cells - at
            } else {
                1
            };
            let first = w.first_page() + at as u64 * w.per_cell;
            buckets.extend(crate::sys::probe::cells::buckets(
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
        log_outcome(&outcome);
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
                let outcomes = self.act(if line.force {
                    Action::ForceThen(Box::new(op.clone()))
                } else {
                    Action::Do(op.clone())
                });
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
        // A peer that died during this line is told with it, not lines later.
        self.reap_ended();
        LineResult {
            number: line.number,
            text: line.text.clone(),
            result,
            events: std::mem::take(&mut self.ended),
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

#[cfg(test)]
mod compare_tests {
    use super::{Cmp, compare};
    use serde_json::json;

    #[test]
    fn addresses_compare_as_numbers_and_has_looks_inside() {
        let (low, high) = (json!("0x200000000000"), json!("0x5570324cb260"));
        assert!(compare(&high, Cmp::Gt, &low));
        assert!(!compare(&low, Cmp::Gt, &high));
        assert!(compare(
            &json!("0xffffffffffffff01"),
            Cmp::Gt,
            &json!("0xffffffffffffff00")
        ));
        assert!(compare(&json!(4096), Cmp::Le, &json!(4096)));
        assert!(
            !compare(&json!("rw-p"), Cmp::Lt, &json!(1)),
            "text is not a number"
        );
        let flags = json!(["rd", "wr", "lo"]);
        assert!(compare(&flags, Cmp::Has, &json!("lo")));
        assert!(!compare(&flags, Cmp::Has, &json!("hg")));
        assert!(compare(
            &json!("/dev/zero (deleted)"),
            Cmp::Has,
            &json!("deleted")
        ));
    }
}
