//! A session: the mapping, its probes, the experiments' state and the model, with the one path
//! every action takes: `update` -> `sys::exec` -> `apply_outcome` -> refresh. The TUI drives it
//! with keys, `batch` and lessons with script lines; each script line gives one JSON line, and
//! `expect` checks the report (or the file on disk, or the previous result).

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Instant;

use serde_json::{Value as Json, json};

use crate::action::{Action, Command, History, Op};
use crate::model::Model;
use crate::report;
use crate::script::{Cmp, Expect, ExpectPath, Line, Step, Value};
use crate::sys::SysError;
use crate::sys::exec::{self, Outcome, Started};
use crate::sys::lab::Lab;
use crate::sys::probe::Prober;
use crate::sys::region::Region;
use crate::sys::snapshot::{self, View};
use crate::update::{apply_outcome, update};

/// The state of a run: the mapping, the probes, the experiments, the model.
pub struct Session {
    pub region: Region,
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
}

/// The terminal size a session's model starts with, until the terminal says its own.
pub const DEFAULT_SIZE: (u16, u16) = (120, 40);

/// Report fields only root can read: an `expect` on them is skipped, and says so, without root.
pub const ROOT_ONLY: [&str; 5] = ["kflags", "folio_pages", "pfn", "kpageflags", "mapcount"];

/// A view of nothing: the mapping's shape is taken, no page probed, no byte read.
const SHAPE_ONLY: View = View {
    first_page: 0,
    page_count: 0,
    byte_start: 0,
    byte_len: 0,
    minimap_cells: 1,
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

/// The initial model: a first snapshot of page 0, then one of the real view.
pub fn initial_model(region: &Region, prober: &Prober, size: (u16, u16)) -> Model {
    let first = snapshot::take(
        region,
        prober,
        View {
            first_page: 0,
            page_count: 1,
            byte_start: 0,
            byte_len: 0,
            minimap_cells: 1,
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

impl Session {
    /// A session on `region`, its model sized for a `size` terminal. `interactive` refreshes
    /// read the bytes on screen; otherwise nothing is read that nobody looks at.
    pub fn new(region: Region, interactive: bool, size: (u16, u16)) -> Self {
        let prober = Prober::new();
        let model = if interactive {
            initial_model(&region, &prober, size)
        } else {
            let snap = snapshot::take(&region, &prober, SHAPE_ONLY);
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
        };
        Self {
            region,
            prober,
            lab: Lab::default(),
            model,
            interactive,
            start: Instant::now(),
            pending_failure: false,
            last_result: Json::Null,
            failed: false,
            running: None,
        }
    }

    /// Probes the kernel into the model. Interactive: the visible pages and bytes. Scripted: the
    /// mapping's shape (address, mode, protection, file size) without reading a byte, since in a
    /// script nobody is looking and a read would change page state.
    pub fn refresh(&mut self) {
        let view = if self.interactive {
            self.model.view()
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
        self.region.read_without_pinning(self.lab.keeper.is_some());
        let snap = snapshot::take(&self.region, &self.prober, view);
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
    }

    /// Pages holding bytes written by us since the last msync that covered them.
    pub fn edited_pages(&self) -> BTreeSet<u64> {
        let ps = self.region.page_size();
        self.model.edits.iter().map(|off| off / ps).collect()
    }

    /// The report as `snapshot` gives it (no faulting in: observing does not disturb).
    ///
    /// # Errors
    /// fstat or /proc failures.
    pub fn report(&self) -> Result<report::Report, SysError> {
        report::build_with_edits(&self.region, &self.prober, false, &self.edited_pages())
    }

    /// Runs an action through `update` and the executor; returns the outcomes.
    pub fn act(&mut self, action: Action) -> Vec<Outcome> {
        self.act_with(action, false)
    }

    /// As `act`, for the TUI: code that `exec` calls keeps running in its child while the
    /// screen stays live (a log line says so); `poll_child` brings its outcome in. Another
    /// `exec` meanwhile is refused (EBUSY).
    pub fn act_live(&mut self, action: Action) -> Vec<Outcome> {
        self.act_with(action, true)
    }

    fn act_with(&mut self, action: Action, live: bool) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for command in update(&mut self.model, action) {
            let Command::Exec { op, history } = command;
            let mut outcome = match (&self.running, live) {
                (_, false) => exec::execute(&mut self.region, &self.prober, &mut self.lab, op),
                (Some(running), true) if matches!(op, Op::Exec { .. }) => running.refuse(op),
                (_, true) => match exec::start(&mut self.region, &self.prober, &mut self.lab, op) {
                    Started::Done(outcome) => outcome,
                    Started::Running(running) => {
                        update(&mut self.model, Action::Note(running.running_line()));
                        self.running = Some(running);
                        continue;
                    }
                },
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
                // pread on our own descriptor: the file we mapped, whatever its path names now.
                let mut b = [0u8; 1];
                match self.region.pread(*off, &mut b) {
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
