//! The batch runner: a parsed script played against a real mapping, headless, through the same
//! `update` -> `sys::exec` -> `apply_outcome` path as the keys of the TUI. Each command prints
//! one JSON line; `expect` checks the report (or the file on disk) and fails the run when false.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::FileExt as _;

use serde_json::{Value as Json, json};

use crate::action::{Action, Command};
use crate::model::Model;
use crate::report;
use crate::script::{Cmp, Expect, ExpectPath, Line, Step};
use crate::sys::SysError;
use crate::sys::exec::{self, Done, Outcome};
use crate::sys::probe::Prober;
use crate::sys::region::Region;
use crate::sys::snapshot::{self, View};
use crate::update::{apply_outcome, update};

/// The state of a run: the mapping, the probes, the model the actions go through.
pub struct Runner<'a> {
    pub region: &'a mut Region,
    pub prober: Prober,
    pub model: Model,
    /// The previous command failed and no `expect error` has claimed it yet.
    pending_failure: bool,
    /// Something failed unexpectedly or an expect failed.
    pub failed: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn snapshot_view(_region: &Region) -> View {
    View {
        first_page: 0,
        page_count: 0,
        byte_start: 0,
        byte_len: 0,
        minimap_cells: 1,
    }
}

/// The JSON `result` of an outcome.
pub fn outcome_json(o: &Outcome) -> Json {
    let mut r = match o.result.as_ref() {
        Ok(Done::Wrote {
            offset,
            old,
            new,
            padding,
        }) => json!({"offset": offset, "old": hex(old), "new": hex(new), "padding_bytes": padding}),
        Ok(Done::Read { offset, bytes }) => json!({"offset": offset, "hex": hex(bytes)}),
        Ok(Done::Remapped {
            old_addr,
            new_addr,
            mode,
        }) => {
            json!({"old_addr": format!("0x{old_addr:x}"), "new_addr": format!("0x{new_addr:x}"), "mode": mode.as_str()})
        }
        Ok(Done::Synced {
            kind,
            first,
            count,
            dirty_before,
            dirty_after,
        }) => json!({"flags": kind.name(), "first_page": first, "pages": count,
                     "dirty_before": dirty_before, "dirty_after": dirty_after}),
        Ok(Done::Protected) => json!({}),
        Ok(Done::Advised {
            first,
            count,
            resident_before,
            resident_after,
            copies_before,
            copies_after,
        }) => json!({"first_page": first, "pages": count, "resident_before": resident_before,
                     "resident_after": resident_after, "cow_before": copies_before,
                     "cow_after": copies_after}),
        Ok(Done::Touched {
            page,
            minor,
            major,
            newly_present,
            resident_before,
            resident_after,
        }) => json!({"page": page, "minor_faults": minor, "major_faults": major,
                     "newly_present": newly_present, "resident_before": resident_before,
                     "resident_after": resident_after}),
        Ok(Done::Truncated { old_size, new_size }) => {
            json!({"old_size": old_size, "new_size": new_size})
        }
        Ok(Done::Nothing) | Err(_) => json!({}),
    };
    if let Some(obj) = r.as_object_mut() {
        obj.insert("call".into(), json!(o.call));
        obj.insert("elapsed_us".into(), json!(o.elapsed.as_micros() as u64));
        obj.insert(
            "faults".into(),
            json!({"minor": o.faults.0, "major": o.faults.1}),
        );
        let deltas: serde_json::Map<String, Json> = o
            .smaps_delta
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect();
        obj.insert("smaps_delta".into(), Json::Object(deltas));
        obj.insert("notes".into(), json!(o.notes));
    }
    r
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

impl<'a> Runner<'a> {
    /// A runner on `region`.
    pub fn new(region: &'a mut Region) -> Self {
        let prober = Prober::new();
        let snap = snapshot::take(region, &prober, snapshot_view(region));
        let mut model = Model::new(snap, (120, 40));
        model.clock = crate::app::clock_now();
        Self {
            region,
            prober,
            model,
            pending_failure: false,
            failed: false,
        }
    }

    /// Takes the mapping's shape into the model (address, mode, protection, file size) without
    /// reading a byte: in a script nobody is looking, and a read would change page state.
    fn refresh(&mut self) {
        let snap = snapshot::take(self.region, &self.prober, snapshot_view(self.region));
        let now = self.model.now_ms;
        self.model.apply_snapshot(snap, now);
    }

    /// Pages holding bytes written by us since the last msync that covered them.
    pub fn edited_pages(&self) -> BTreeSet<u64> {
        let ps = self.region.page_size();
        self.model.edits.keys().map(|off| off / ps).collect()
    }

    /// The report as `snapshot` gives it (no faulting in: observing does not disturb).
    ///
    /// # Errors
    /// fstat or /proc failures.
    pub fn report(&self) -> Result<report::Report, SysError> {
        report::build_with_edits(self.region, &self.prober, false, &self.edited_pages())
    }

    /// Runs an action through `update` and the executor; returns the outcomes.
    pub fn act(&mut self, action: Action) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for command in update(&mut self.model, action) {
            if let Command::Exec { op, history } = command {
                let outcome = exec::execute(self.region, &self.prober, op, history);
                apply_outcome(&mut self.model, &outcome);
                outcomes.push(outcome);
            }
        }
        self.refresh();
        outcomes
    }

    fn expect(&mut self, e: &Expect) -> Result<Json, String> {
        let Expect::Check { path, cmp, value } = e else {
            let claimed = std::mem::take(&mut self.pending_failure);
            return if claimed {
                Ok(json!({"previous_failed": true}))
            } else {
                Err("expect error: the previous command did not fail".into())
            };
        };
        let actual = match path {
            ExpectPath::File(off) => {
                let path = self
                    .region
                    .path()
                    .ok_or("expect file: anonymous memory has no file")?;
                let mut b = [0u8; 1];
                std::fs::File::open(path)
                    .and_then(|f| f.read_exact_at(&mut b, *off))
                    .map_err(|e| format!("expect file: pread at 0x{off:x}: {e}"))?;
                json!(b[0])
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
            ExpectPath::Object(obj, field) => {
                let report = serde_json::to_value(self.report().map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                report[obj.as_str()]
                    .get(field.as_str())
                    .cloned()
                    .ok_or_else(|| format!("`{obj}` has no field `{field}`"))?
            }
        };
        let expected = value.json();
        let shown_expected = match (path, &expected) {
            (ExpectPath::File(_), Json::Number(n)) => {
                json!(format!("{:02x}", n.as_u64().unwrap_or(0)))
            }
            _ => expected.clone(),
        };
        let shown_actual = match (path, &actual) {
            (ExpectPath::File(_), Json::Number(n)) => {
                json!(format!("{:02x}", n.as_u64().unwrap_or(0)))
            }
            _ => actual.clone(),
        };
        if compare(&actual, *cmp, &expected) {
            Ok(json!({"actual": shown_actual}))
        } else {
            Err(format!(
                "expect failed: {path} is {shown_actual}, expected {} {shown_expected}",
                cmp.symbol()
            ))
        }
    }

    /// Runs one line; returns its JSON line.
    pub fn step(&mut self, line: &Line) -> Json {
        // A failure not claimed by the `expect error` right after it is unexpected.
        let claims = matches!(line.step, Step::Expect(Expect::Error));
        if self.pending_failure && !claims {
            self.failed = true;
            self.pending_failure = false;
        }
        let result: Result<Json, String> = match &line.step {
            Step::Do(op) => {
                let outcomes = self.act(Action::Do(op.clone()));
                match outcomes.last() {
                    None => Err(self
                        .model
                        .log
                        .last()
                        .map_or_else(|| "nothing done".into(), |l| l.text.clone())),
                    Some(o) => match &o.result {
                        Ok(_) => Ok(outcome_json(o)),
                        Err(e) => Err(e.to_string()),
                    },
                }
            }
            Step::Snapshot => self
                .report()
                .map_err(|e| e.to_string())
                .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string())),
            Step::Sleep(ms) => {
                std::thread::sleep(std::time::Duration::from_millis(*ms));
                self.refresh();
                Ok(json!({"slept_ms": ms}))
            }
            Step::Say(text) => Ok(json!({"say": text})),
            Step::Expect(e) => {
                let r = self.expect(e);
                if r.is_err() {
                    self.failed = true;
                }
                r
            }
        };
        match result {
            Ok(r) => json!({"line": line.number, "cmd": line.text, "ok": true, "result": r}),
            Err(e) => {
                if !matches!(line.step, Step::Expect(_)) {
                    self.pending_failure = true;
                }
                json!({"line": line.number, "cmd": line.text, "ok": false, "error": e})
            }
        }
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
        if self.pending_failure {
            self.failed = true;
        }
        Ok(!self.failed)
    }
}
