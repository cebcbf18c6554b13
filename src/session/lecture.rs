//! The lesson player: a lesson's steps over a script `Runner` and its `Session`, one at a time
//! in the explorer (next, and back by replaying from a fresh file) or all at once headless
//! (`--check`). Every line runs through the runner's session, the same path as a key or a
//! batch line.

use crate::action::Event;
use crate::model::{LessonPane, LessonResult};
use crate::script::lesson::{Lesson, request};
use crate::script::{Expect, ExpectPath, Line, Step};
use crate::session::{LineResult, LineValue, Runner, Session};
use crate::sys::Region;
use crate::sys::proc::maps::SmapsField;

/// A lesson being played: the script, and where its fresh demo file lives (for replays).
pub struct Lecture {
    pub lesson: Lesson,
    /// Removed with the lecture.
    pub dir: crate::demo::TempDir,
}

/// What a line did, in the words of the narration pane.
pub fn lesson_result(line: &LineResult) -> LessonResult {
    use crate::sys::map::region::{ChildEnd, signal_name};
    use crate::sys::ops::outcome::Done;
    let detail = match &line.result {
        Err(e) => e.clone(),
        Ok(LineValue::Skipped(why)) => format!("skipped: {why}"),
        Ok(LineValue::Checked(v)) => format!("is {v}"),
        Ok(LineValue::Shown(v)) => format!("is {v} now"),
        Ok(LineValue::Done(o)) => match &o.result {
            Ok(Done::Called { end, .. }) => match end {
                ChildEnd::TimedOut => "ran too long: killed".into(),
                ChildEnd::Returned(v) => format!("returned {v}"),
                ChildEnd::Signal(sig) => format!("killed by {}", signal_name(*sig)),
                ChildEnd::Exited(code) => format!("exited with status {code}"),
            },
            Ok(Done::Read { bytes, .. } | Done::ChildRead { bytes, .. }) => {
                crate::text::json::hex_string(bytes)
            }
            _ => String::new(),
        },
        Ok(_) => String::new(),
    };
    LessonResult {
        text: line.text.clone(),
        ok: line.result.is_ok(),
        expected_error: false,
        skipped: matches!(line.result, Ok(LineValue::Skipped(_))),
        detail,
    }
}

/// Shows the lesson's pane before its first step and runs its setup lines.
pub fn start(runner: &mut Runner, lesson: &Lesson) {
    runner.session.act(Event::ShowLesson(Some(LessonPane::start(
        &lesson.name,
        &lesson.title,
        lesson.steps.len(),
    ))));
    for line in &lesson.setup {
        runner.step(line);
    }
}

/// Plays the next step of `lesson`: its narration, its lines through the runner, the page it
/// is about selected.
pub fn next(runner: &mut Runner, lesson: &Lesson) {
    let Some(pane) = runner.session.model.lesson.as_ref() else {
        return;
    };
    let k = pane.step;
    let Some(step) = lesson.steps.get(k) else {
        runner.session.act(Event::Note(
            "the lesson is over: ← goes back a step, q quits".into(),
        ));
        return;
    };
    let mut pane = pane.clone();
    let title = step.say.lines().next().unwrap_or_default();
    let said = format!("step {}: {}", k + 1, title);
    runner
        .session
        .record_tick(Some((crate::record::EventKind::Step, said)));
    let results = run_lines(runner, &step.lines);
    pane.step = k + 1;
    pane.say.clone_from(&step.say);
    pane.results = results;
    pane.show = step.show;
    pane.fields = step_fields(step);
    pane.scroll = 0;
    // The pane first: its height (the step's text) decides how many rows the grid keeps.
    let session = &mut runner.session;
    session.act(Event::ShowLesson(Some(pane)));
    // Then what the step is about, quietly: the log keeps the step's own last action.
    if let Some(offset) = step.show {
        session.act(Event::ShowOffset(offset));
    } else if let Some(page) = crate::script::lesson::focus_page(step, session.model.page_size()) {
        session.act(Event::SelectPage(page));
    }
}

/// The smaps counters a step points at: its `# fields:`, then those its `expect vma` and
/// `show vma` lines look at (the panel lists them first).
pub fn step_fields(step: &crate::script::lesson::LessonStep) -> Vec<SmapsField> {
    let mut fields = step.fields.clone();
    for line in &step.lines {
        let (Step::Expect(Expect::Check {
            path: ExpectPath::Object(obj, key),
            ..
        })
        | Step::Show(ExpectPath::Object(obj, key))) = &line.step
        else {
            continue;
        };
        let field = SmapsField::ALL
            .into_iter()
            .find(|f| obj == "vma" && report_key(*f) == *key);
        if let Some(f) = field.filter(|f| !fields.contains(f)) {
            fields.push(f);
        }
    }
    fields
}

/// The key `inspect` and `expect vma` use for a counter (`Private_Dirty`: `private_dirty`).
fn report_key(f: SmapsField) -> String {
    match f {
        SmapsField::ThpEligible => "thp_eligible".into(),
        _ => {
            let mut key = String::new();
            for (i, c) in f.name().replace('_', "").chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    key.push('_');
                }
                key.push(c.to_ascii_lowercase());
            }
            key
        }
    }
}

/// Goes back a step: a fresh copy of the lesson's file, mapped anew, replayed up to the step
/// before this one, by a runner of its own. `None` when at the start or when the replay
/// cannot map.
pub fn back(runner: &Runner, lecture: &Lecture) -> Option<Runner> {
    let session = &runner.session;
    let pane = session.model.lesson.as_ref()?;
    let target = pane.step.checked_sub(1)?;
    let req = request(&lecture.lesson, lecture.dir.path()).ok()?;
    let region = Region::open(&req).ok()?;
    let mut fresh = Runner::new(Session::new(region, true, session.model.screen.size));
    let m = &session.model;
    fresh.session.act(Event::Configure {
        refresh_ms: m.settings.refresh_ms,
        color: m.settings.color,
        high_contrast: m.settings.high_contrast,
        mouse: m.settings.mouse,
    });
    start(&mut fresh, &lecture.lesson);
    for _ in 0..target {
        next(&mut fresh, &lecture.lesson);
    }
    fresh.session.act(Event::Note(format!(
        "back to step {target}: replayed from a fresh copy of the file"
    )));
    Some(fresh)
}

/// Runs `lines` through the runner and says what each did; a refusal that the `expect error`
/// after it claims counts as expected.
pub fn run_lines(runner: &mut Runner, lines: &[Line]) -> Vec<LessonResult> {
    let mut results: Vec<LessonResult> = lines
        .iter()
        .map(|line| lesson_result(&runner.run_line(line)))
        .collect();
    LessonResult::claim_expected_errors(&mut results);
    results
}

/// Runs a lesson headless: every step's narration and every line's result as text on `out`
/// (`[ok]`, `[err]` for a refusal the lesson expects, `[skip]` for a root-only check without
/// root, `[FAIL]`). Returns whether every `expect` held and nothing failed unexpectedly.
///
/// # Errors
/// The target could not be mapped, or `out` failed.
pub fn check(
    lesson: &Lesson,
    out: &mut impl std::io::Write,
    record: Option<(&std::path::Path, std::time::Duration)>,
) -> Result<bool, String> {
    let dir = crate::demo::TempDir::new().map_err(|e| e.to_string())?;
    let req = request(lesson, dir.path())?;
    let region = crate::sys::Region::open(&req).map_err(|e| e.to_string())?;
    let mut session = Session::new(region, false, crate::session::DEFAULT_SIZE);
    if let Some((path, every)) = record {
        let what = format!("lesson {}", lesson.name);
        session
            .record(path, every, &what)
            .map_err(|e| e.to_string())?;
    }
    let mut runner = Runner::new(session);
    let io = |e: std::io::Error| e.to_string();
    // A lesson file is anyone's text: what it says reaches the terminal escaped and cut.
    let clean = crate::text::clean_lines;
    writeln!(
        out,
        "lesson {}: {}",
        clean(&lesson.name),
        clean(&lesson.title)
    )
    .map_err(io)?;
    let print = |results: &[LessonResult], out: &mut dyn std::io::Write| -> std::io::Result<()> {
        for r in results {
            let mark = match (r.ok, r.expected_error) {
                (true, true) => "err",
                (true, false) if r.skipped => "skip",
                (true, false) => "ok",
                (false, _) => "FAIL",
            };
            let detail = if r.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", clean(&r.detail))
            };
            writeln!(out, "  [{mark:>4}] {}{detail}", clean(&r.text))?;
        }
        Ok(())
    };
    print(&run_lines(&mut runner, &lesson.setup), out).map_err(io)?;
    for (i, step) in lesson.steps.iter().enumerate() {
        let say = clean(&step.say);
        let title = step.say.lines().next().unwrap_or_default();
        let step_said = (
            crate::record::EventKind::Step,
            format!("step {}: {title}", i + 1),
        );
        runner.session.record_tick(Some(step_said));
        writeln!(out, "step {}/{}: {say}", i + 1, lesson.steps.len()).map_err(io)?;
        print(&run_lines(&mut runner, &step.lines), out).map_err(io)?;
    }
    let ok = runner.finish();
    match runner.session.stop_recording() {
        Some(Ok(said)) => writeln!(out, "{}", clean(&said)).map_err(io)?,
        Some(Err(e)) => writeln!(
            out,
            "the recording stopped early: {}",
            clean(&e.to_string())
        )
        .map_err(io)?,
        None => {}
    }
    writeln!(
        out,
        "{}",
        if ok {
            "lesson checked: every expect held"
        } else {
            "lesson FAILED"
        }
    )
    .map_err(io)?;
    drop(runner);
    drop(dir);
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_keys_are_the_serialized_names() {
        let keys: Vec<String> = SmapsField::ALL.into_iter().map(report_key).collect();
        assert_eq!(
            keys,
            [
                "size",
                "rss",
                "pss",
                "shared_clean",
                "shared_dirty",
                "private_clean",
                "private_dirty",
                "anonymous",
                "referenced",
                "swap",
                "locked",
                "anon_huge_pages",
                "shmem_pmd_mapped",
                "file_pmd_mapped",
                "thp_eligible"
            ]
        );
    }

    #[test]
    fn a_step_points_at_its_declared_fields_then_those_it_expects() {
        let l = crate::script::lesson::parse(
            "t",
            "say \"a\"\n# fields: Locked\nexpect vma anonymous == 0\nshow vma locked\n\
             expect mapping pages == 4\nshow vma thp_eligible\n",
        )
        .unwrap();
        assert_eq!(
            step_fields(&l.steps[0]),
            [
                SmapsField::Locked,
                SmapsField::Anonymous,
                SmapsField::ThpEligible
            ]
        );
    }
}
