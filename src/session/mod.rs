//! A session: the mapping (or the process) looked at, the write gate, the lab's processes, the
//! jobs that outlive a keypress and the model, with the one path every action takes:
//! `update` -> the write gate -> `sys::ops::carry` -> `apply_outcome` -> refresh. The TUI drives it
//! with keys, `batch` and lessons with script lines.
//!
//! Three owners, each in its own file:
//! - the session proper (`Session`, here): what is shown (`subject`), the gate, the lab, the
//!   jobs (`background`: the search and the child code that outlive a keypress), the act path and the refresh (`refresh`) that tells the model,
//!   an address anywhere in the process (`goto`);
//! - the observer (`observer::Observer`, held by the session): every reader of the kernel's
//!   view of what is shown (the probers, the paced /proc readings of `watch`, the pacing of the
//!   minimap and the page map); it reads and returns, and never changes what it looks at;
//! - the script runner (`runner::Runner`, which holds a session): each script line gives one
//!   result, and `expect` checks the report (or the file on disk, or the previous result).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use crate::action::{Action, Command, Event, History, Msg, Op, SpaceAction};
use crate::model::Model;
use crate::report;
use crate::search::job;
use crate::sys::SysError;
use crate::sys::attach::foreign::VmaView;
use crate::sys::attach::handle::ProcessHandle;
use crate::sys::lab::experiments::Lab;
use crate::sys::map::range::Mapped;
use crate::sys::map::region::Region;
use crate::sys::ops::carry::{self, Started};
use crate::sys::ops::gate::{self, Consent, Gate, Origin, Verdict};
use crate::sys::ops::outcome::Outcome;
use crate::sys::probe::prober::Prober;
use crate::update::{apply_outcome, update};

mod background;
mod export;
mod goto;
pub mod lecture;
mod marking;
mod observer;
pub mod recorder;
mod refresh;
mod replayed;
mod replaying;
mod runner;
mod subject;
mod track;
mod watch;

pub use background::SEARCH_SLICE;
pub use export::{Canvas, MAP_COLS, MAP_ROWS, Painter, cell_pages, set_painter};
pub use observer::initial_model;
pub use runner::{LineResult, LineValue, ROOT_ONLY, Runner};

use observer::{Observer, first_model};
use subject::{Attached, Explored, Subject, first_vma, looking_at};

/// The state of a run: what is shown, the gate, the lab, the jobs, the model; its observer
/// reads the kernel for it.
pub struct Session {
    subject: Subject,
    /// The one write gate: consent to write the named file, and the decision for every
    /// operation that could change it or another process.
    gate: Gate,
    pub lab: Lab,
    pub model: Model,
    /// The probers and the paced /proc readers of what is shown.
    observer: Observer,
    /// Code still running in a child, started by `act_live`; `poll_child` brings its outcome.
    running: Option<carry::Running>,
    /// A search running across ticks; `poll_search` advances it.
    finding: Option<job::Job>,
    /// `--also`: a second mapping of the same file, shown beside the first; `swap` trades
    /// the two (the grid and every operation take the one in `subject`).
    also: Option<Region>,
    /// `--force`: every operation may populate, lock or grow memory beyond the bound.
    force: bool,
    /// A script's news of the peer or the child ending on its own, for the JSON of the line
    /// during which it was seen (`LineResult::events`).
    ended: Vec<String>,
    /// `--record OUT`: the frames written as the session goes.
    recording: Option<recorder::Recording>,
}

/// The terminal size a session's model starts with, until the terminal says its own.
pub const DEFAULT_SIZE: (u16, u16) = (120, 40);

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
                track: track::Tracking::Off,
            },
            Observer::new(prober, None, interactive),
            model,
        );
        session.force = force;
        session
    }

    fn with(subject: Subject, observer: Observer, model: Model) -> Self {
        let consent = match &subject {
            Subject::Ours { region, .. } => region.consented_at_open().then_some(Consent::Flag),
            Subject::Other { .. } | Subject::Recorded(_) => None,
        };
        Self {
            subject,
            gate: Gate::new(consent),
            lab: Lab::default(),
            model,
            observer,
            running: None,
            finding: None,
            also: None,
            force: false,
            ended: Vec::new(),
            recording: None,
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
        update(&mut model, Event::Looking(Some(looking)));
        // `--vma 0x7f..`: the cursor on that address, not on the VMA's first byte.
        if let Some(addr) = spec.and_then(subject::spec_address) {
            let base = line.start;
            update(&mut model, Event::Arrived { addr, base });
        }
        if spec.is_none() && interactive {
            update(&mut model, Action::Space(SpaceAction::Open));
        }
        let shared = Arc::clone(&handle);
        let mut session = Self::with(
            Subject::Other {
                attached: Attached {
                    handle,
                    write,
                    track_access: false,
                },
                explored: Explored { view, ended: None },
            },
            Observer::new(own, Some(prober), interactive),
            model,
        );
        // The maps just read serve the side panel too.
        session.observer.seed_maps(&shared, maps, started);
        session.refresh();
        Ok(session)
    }

    /// The mapping we made, if this session made one.
    pub fn region(&self) -> Option<&Region> {
        self.subject.region()
    }

    /// What is shown, with the prober for its process.
    fn shown(&self) -> (&dyn Mapped, &Prober) {
        (self.subject.mapped(), self.observer.prober())
    }

    /// Pages holding bytes written by us since the last msync that covered them.
    pub fn edited_pages(&self) -> BTreeSet<u64> {
        let ps = self.shown().0.page_size();
        self.model.doc.edits.iter().map(|off| off / ps).collect()
    }

    /// The report as `snapshot` gives it (no faulting in: observing does not disturb).
    ///
    /// # Errors
    /// fstat or /proc failures.
    pub fn report(&self) -> Result<report::Report, SysError> {
        if matches!(self.subject, Subject::Recorded(_)) {
            return Err(SysError::new(
                libc::EPERM,
                "report",
                "a recording is not probed: `mmapscope replay FILE --json --frame N` prints a \
                 frame's report",
            ));
        }
        let (shown, prober) = self.shown();
        report::build_with_edits(shown, prober, false, &self.edited_pages())
    }

    /// Runs an action through `update` and the executor, as a script line does (the write
    /// gate refuses what needs consent instead of asking); returns the outcomes.
    pub fn act(&mut self, msg: impl Into<Msg>) -> Vec<Outcome> {
        self.act_with(msg.into(), Origin::Script, false)
    }

    /// As `act`, for a key in the TUI: the write gate may ask (a question on screen; the
    /// answer comes back as a key), and code that `exec` calls keeps running in its child
    /// while the screen stays live (a log line says so); `poll_child` brings its outcome in.
    /// Another `exec` meanwhile is refused (EBUSY).
    pub fn act_live(&mut self, msg: impl Into<Msg>) -> Vec<Outcome> {
        self.act_with(msg.into(), Origin::Key, true)
    }

    fn act_with(&mut self, msg: Msg, origin: Origin, live: bool) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        let mut force_next = false;
        for command in update(&mut self.model, msg) {
            let Some((op, history, confirmed)) = self.steer(command, &mut force_next) else {
                continue;
            };
            // An export is drawn first, then its file looked at, just before the gate.
            let op = match self.draw_export(op) {
                Ok(op) => self.look_before_dump(op),
                Err(refused) => {
                    let (op, err) = *refused;
                    tracing::info!(op = %op.name(), error = %err, "not drawn");
                    let outcome = carry::refused(op, err);
                    apply_outcome(&mut self.model, &outcome, history);
                    outcomes.push(outcome);
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
                    let then = crate::model::Then::Confirmed {
                        op,
                        history,
                        protect_first,
                    };
                    update(&mut self.model, Event::Question { question, then });
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

    /// Carries out a command that is not an operation (exploring, a search, `force` for the
    /// next operation); returns an operation's parts, for the gate.
    fn steer(&mut self, command: Command, force_next: &mut bool) -> Option<(Op, History, bool)> {
        match command {
            Command::Exec {
                op,
                history,
                confirmed,
            } => return Some((op, history, confirmed)),
            Command::Force => *force_next = true,
            Command::ShowFrame(n) => self.show_frame(n),
            Command::Explore(line) => self.explore(&line),
            Command::ExploreBack => self.explore_back(),
            Command::GotoAddress(addr) => self.goto_address(addr),
            Command::Reattach => self.reattach(),
            Command::Search(req) => self.start_search(req),
            Command::Mark => self.set_mark(),
            Command::CancelSearch { id } => {
                if self.finding.as_ref().is_some_and(|job| job.id() == id) {
                    self.cancel_search();
                }
            }
        }
        None
    }

    /// Carries out what the gate allowed, on the mapping or VMA shown; `None` when code keeps
    /// running in a child (`live`), whose outcome `poll_child` brings later.
    fn carry_out(&mut self, permit: gate::Permit, live: bool) -> Option<Outcome> {
        if matches!(permit.op(), Op::Dump(_) | Op::Export(_)) {
            let (shown, prober) = self.shown();
            return Some(carry::dump(shown, prober, permit));
        }
        Some(match (&mut self.subject, &self.running, live) {
            // The gate refuses every operation on a recording: none reaches here.
            (Subject::Recorded(_), ..) => carry::refused(
                permit.into_op(),
                SysError::new(libc::EPERM, "replay", gate::RECORDING_READ_ONLY),
            ),
            (
                Subject::Ours {
                    region,
                    explored: None,
                    ..
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
                carry::execute(region, self.observer.own_prober(), &mut self.lab, permit)
            }
            (_, Some(running), true) if matches!(permit.op(), Op::Exec { .. }) => {
                running.refuse(permit.into_op())
            }
            (Subject::Ours { region, .. }, _, true) => {
                match carry::start(region, self.observer.own_prober(), &mut self.lab, permit) {
                    Started::Done(outcome) => outcome,
                    Started::Running(running) => {
                        update(&mut self.model, Event::Note(running.running_line()));
                        self.running = Some(running);
                        return None;
                    }
                }
            }
        })
    }
}
