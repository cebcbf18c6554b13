//! The script runner: a batch script's or a lesson's lines over a `Session`, one at a time.
//! Each line gives one result (one JSON line in a batch); `expect` checks the report (or the
//! file on disk, or the previous result), and a failure counts unless the `expect error` right
//! after it claims it. The runner owns what only scripts have: the previous result, the failure
//! not yet claimed, and whether anything went wrong; the session runs every action.

use std::io::Write;

use serde_json::{Value as Json, json};

use crate::action::{Action, AskAction};
use crate::report;
use crate::script::{Cmp, Expect, ExpectPath, Line, Step, Value};
use crate::sys::ops::outcome::Outcome;

use super::Session;

/// Report fields only root can read: an `expect` on them is skipped, and says so, without root.
pub const ROOT_ONLY: [&str; 5] = ["kflags", "folio_pages", "pfn", "kpageflags", "mapcount"];

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
    /// `goto`: where the cursor is now, and what the log said.
    Went(Json),
    /// `mark`, `unmark`: what the log said; `diff`: the comparison.
    Time(Json),
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
            Self::Went(place) | Self::Time(place) => place.clone(),
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

/// What `view WORD` gives: the view, the values at the cursor in every type, the pointer the
/// u64 there holds, and the rows of the code or strings view.
fn viewed(model: &crate::model::Model) -> Json {
    use crate::model::{ViewKind, values};
    let t = model.screen.typed;
    let c = model.doc.cursor;
    let values: serde_json::Map<String, Json> =
        values::inspect(&model.bytes_at(c, 8), t.big_endian())
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
    let mut j = json!({
        "view": t.kind.word(),
        "order": t.order(),
        "offset": format!("0x{c:x}"),
        "values": values,
        "pointer": model.pointer_at(c).map(|p| p.label()),
    });
    match t.kind {
        ViewKind::Code => {
            j["code"] = model
                .code_rows(16)
                .iter()
                .map(|i| json!({"offset": format!("0x{:x}", i.offset), "text": i.text}))
                .collect();
            j["unsupported"] = json!(values::unsupported());
        }
        ViewKind::Strings => {
            j["strings"] = model
                .page_runs()
                .iter()
                .map(|r| json!({"offset": format!("0x{:x}", r.offset), "text": r.text}))
                .collect();
        }
        _ => {}
    }
    j
}

/// A value as a line shows it: file bytes in hex.
fn shown(path: &ExpectPath, value: &Json) -> Json {
    match (path, value) {
        (ExpectPath::File(_), Json::Number(n)) => json!(format!("{:02x}", n.as_u64().unwrap_or(0))),
        _ => value.clone(),
    }
}

/// Whether `actual cmp expected` holds.
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

/// A script being run over a session: the session, and the script's own state.
pub struct Runner {
    /// The session every line runs through (the TUI's keys and the lesson pane use it too).
    pub session: Session,
    /// The previous command failed and no `expect error` has claimed it yet.
    pending_failure: bool,
    /// The previous command's result, for `expect result ...`.
    last_result: Json,
    /// Something failed unexpectedly or an expect failed.
    failed: bool,
}

impl Runner {
    /// A runner over `session`, nothing run yet.
    pub fn new(session: Session) -> Self {
        Self {
            session,
            pending_failure: false,
            last_result: Json::Null,
            failed: false,
        }
    }

    /// Checks an `expect` line: a value against another or a literal, or `expect error`
    /// claiming the previous line's failure.
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
        if actual.is_null()
            && ROOT_ONLY.contains(&field)
            && !self.session.observer.kpageflags_readable()
        {
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
                let Some(region) = self.session.region() else {
                    return Err("expect file: only with a mapping mmapscope made".into());
                };
                match region.read_file(*off, &mut b) {
                    Ok(1) => json!(b[0]),
                    Ok(_) => return Err(format!("expect file 0x{off:x}: past end of file")),
                    Err(e) => return Err(format!("expect file: {e}")),
                }
            }
            ExpectPath::Page(page, field) => {
                let report =
                    serde_json::to_value(self.session.report().map_err(|e| e.to_string())?)
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
                let report =
                    serde_json::to_value(self.session.report().map_err(|e| e.to_string())?)
                        .map_err(|e| e.to_string())?;
                report[obj.as_str()]
                    .get(field.as_str())
                    .cloned()
                    .ok_or_else(|| format!("`{obj}` has no field `{field}`"))?
            }
        })
    }

    /// `goto PLACE`: moves the cursor as `:` does (a state search runs to its end); the
    /// result says where it is: `{"offset", "address", "vma", "said"}`; a place not found
    /// (a gap, no such page, no page in that state) is the line's error, in the log's words.
    fn goto(&mut self, target: crate::action::GotoTarget) -> Result<LineValue, String> {
        let logged = self.session.model.log.lines.len();
        self.session
            .act(Action::Grid(crate::action::GridAction::Goto(target)));
        while self.session.search_running() {
            self.session.poll_search();
        }
        let m = &self.session.model;
        let said: Vec<&str> = m
            .log
            .lines
            .iter()
            .skip(logged)
            .map(|l| l.text.as_str())
            .collect();
        let last = said.last().copied().unwrap_or_default();
        // `goto:` starts every sentence of a place not found; a state search says `no page`.
        let missed = said.is_empty() || last.starts_with("goto:") || last.contains(": no page is ");
        if missed {
            return Err(if said.is_empty() {
                "nothing moved".into()
            } else {
                last.to_string()
            });
        }
        Ok(LineValue::Went(json!({
            "offset": m.doc.cursor,
            "address": format!("0x{:x}", m.snap.shape.addr + m.doc.cursor),
            "vma": m.space.looking.as_ref().map(|l| l.vma.clone()),
            "said": last,
        })))
    }

    /// `mark` / `unmark`: what the log said (a mark that could not be read says why).
    fn time(&mut self, action: crate::action::TimeAction) -> Result<LineValue, String> {
        self.session.act(Action::Time(action));
        let m = &self.session.model;
        // `update` logs one line for each: the mark set or dropped, or why not.
        let said = m.log.lines.iter().map(|l| l.text.as_str()).next_back();
        match (action, said) {
            (crate::action::TimeAction::Mark, _) if m.time.mark.is_none() => {
                Err(said.unwrap_or("the mark could not be read").to_string())
            }
            (_, said) => Ok(LineValue::Time(json!({
                "marked": m.time.mark.is_some(),
                "said": said.unwrap_or_default(),
            }))),
        }
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
                let outcomes = self.session.act(if line.force {
                    Action::Ask(AskAction::ForceThen(Box::new(op.clone())))
                } else {
                    Action::Do(op.clone())
                });
                match outcomes.into_iter().last() {
                    None => Err(self
                        .session
                        .model
                        .log
                        .lines
                        .last()
                        .map_or_else(|| "nothing done".into(), |l| l.text.clone())),
                    Some(o) => match &o.result {
                        Ok(_) => Ok(LineValue::Done(Box::new(o))),
                        Err(e) => Err(e.to_string()),
                    },
                }
            }
            Step::Snapshot => self
                .session
                .report()
                .map(|r| LineValue::Report(Box::new(r)))
                .map_err(|e| e.to_string()),
            Step::Sleep(ms) => {
                std::thread::sleep(std::time::Duration::from_millis(*ms));
                self.session.refresh();
                Ok(LineValue::Slept(*ms))
            }
            Step::Say(text) => Ok(LineValue::Said(text.clone())),
            Step::Goto(target) => self.goto(*target),
            Step::Time(a) => self.time(*a),
            Step::Diff => self.session.diff().map(LineValue::Time),
            Step::Show(path) => self
                .value_at(path)
                .map(|v| LineValue::Shown(shown(path, &v))),
            Step::View(kind) => {
                self.session
                    .act(Action::Typed(crate::action::TypedAction::Set(*kind)));
                Ok(LineValue::Shown(viewed(&self.session.model)))
            }
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
        let done = (crate::record::EventKind::Line, line.text.clone());
        self.session.record_tick(Some(done));
        LineResult {
            number: line.number,
            text: line.text.clone(),
            result,
            // A peer that died during this line is told with it, not lines later.
            events: self.session.ended_news(),
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
