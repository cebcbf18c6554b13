//! Every shipped lesson, played step by step on a real session (a fresh demo file or memory,
//! the real kernel) and drawn at 80x24 and 120x40, as a class sees it on a projector. For
//! every step: the whole narration is on screen at once, every result line can be reached
//! (visible, or by scrolling the pane with J), the header shows the page count, every smaps
//! counter the narration names is in the smaps panel, and the offset the step names
//! (`# show:`) or the page it works on is in the grid. Every failure of every lesson is
//! listed before the test fails, so the texts can be fixed in one pass.
//!
//! The narration as drawn is kept as an insta snapshot per lesson and size; the rest of the
//! screen (addresses, times, counters the kernel decides) differs from run to run and is
//! asserted, not snapshotted.

use mmapscope::action::{Action, LessonAction};
use mmapscope::model::{Model, PaneText, result_text};
use mmapscope::script::lesson::{BUILTIN, Lesson, LessonStep, focus_page, parse, request};
use mmapscope::session::{Runner, Session};
use mmapscope::sys::proc::maps::SmapsField;
use mmapscope::text::{sanitize, thousands};
use mmapscope::ui::render;
use mmapscope::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

/// The screen's rows as text.
fn screen(m: &Model) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(m.screen.size.0, m.screen.size.1)).unwrap();
    t.draw(|f| render(m, f)).unwrap();
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

/// The text of `rows` inside `area` (its borders left out when `inner`).
fn inside(rows: &[String], area: Rect, inner: bool) -> Vec<String> {
    let b = u16::from(inner);
    (area.y + b..area.y + area.height - b)
        .map(|y| {
            rows[usize::from(y)]
                .chars()
                .skip(usize::from(area.x + b))
                .take(usize::from(area.width - 2 * b))
                .collect()
        })
        .collect()
}

/// Words separated by single spaces.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `text` names `word` as a whole word (not inside another, `Rss` in `RssAnon`).
fn names(text: &str, word: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(part)
            && !text[i + word.len()..].chars().next().is_some_and(part)
    })
}

/// The lesson pane's body lines (narration and results) as drawn now.
fn pane_body(m: &Model) -> Vec<String> {
    let pane = m.layout().log;
    let rows = screen(m);
    let mut body = inside(&rows, pane, true);
    body.pop(); // the log line
    body
}

/// What is wrong with the screen of step `k` (1-based) just played; empty when nothing.
fn check_step(s: &mut Session, lesson: &Lesson, k: usize, step: &LessonStep) -> Vec<String> {
    let (cols, rows_n) = s.model.screen.size;
    let at = format!("{} step {k} at {cols}x{rows_n}", lesson.name);
    let mut wrong = Vec::new();
    let rows = screen(&s.model);

    // The whole narration at once.
    let body = pane_body(&s.model);
    let say = words(&sanitize(&step.say));
    if !words(&body.join(" ")).contains(&say) {
        let needs = s
            .model
            .lesson_body()
            .iter()
            .filter(|(p, _)| *p == PaneText::Say)
            .count();
        wrong.push(format!(
            "{at}: narration needs {needs} lines, the pane gives {} ({} chars: shorten or split it)",
            body.len(),
            step.say.chars().count()
        ));
    }

    wrong.extend(check_results(s, &at, &say, body.len(), &rows));
    update(&mut s.model, Action::Lesson(LessonAction::Scroll(i32::MIN)));

    // The page count in the header.
    let pages = s.model.pages();
    let count = format!(
        "{} {}",
        thousands(pages),
        if pages == 1 { "page" } else { "pages" }
    );
    if !names(&rows[0], &count) {
        wrong.push(format!(
            "{at}: the header lacks `{count}`: {}",
            rows[0].trim()
        ));
    }

    wrong.extend(check_panel_and_grid(s, step, &at, &rows));
    wrong
}

/// Every result line can be reached by scrolling one line at a time (J), the narration
/// staying put when it fits, and the border says J K when there is more than shows.
fn check_results(
    s: &mut Session,
    at: &str,
    say: &str,
    rows_n: usize,
    rows: &[String],
) -> Vec<String> {
    let mut wrong = Vec::new();
    let layout = s.model.layout();
    // Every result line, by scrolling one line at a time (J): the narration stays put when
    // it fits, and under it line i of the scrolled part is the first shown at scroll i; the
    // last view shows the rest.
    let say_lines = s
        .model
        .lesson_body()
        .iter()
        .filter(|(p, _)| *p == PaneText::Say)
        .count();
    let fixed = if say_lines < rows_n { say_lines } else { 0 };
    let all = s.model.lesson_body().len() - fixed;
    let mut seen: Vec<String> = Vec::new();
    for i in 0..=all {
        let view: Vec<String> = pane_body(&s.model).into_iter().skip(fixed).collect();
        let scroll = s.model.lesson.as_ref().map_or(0, |p| usize::from(p.scroll));
        if scroll < i || i == all {
            seen.extend(view.into_iter().skip(seen.len().saturating_sub(scroll)));
            break;
        }
        seen.push(view[0].clone());
        update(&mut s.model, Action::Lesson(LessonAction::Scroll(1)));
        let still = words(&pane_body(&s.model).join(" "));
        if fixed > 0 && !still.contains(say) {
            wrong.push(format!("{at}: scrolling the results moved the narration"));
            break;
        }
    }
    let seen = words(&seen.join(" "));
    let pane = s.model.lesson.clone().unwrap();
    for r in &pane.results {
        let (text, _) = result_text(r);
        if !seen.contains(&words(&text)) {
            wrong.push(format!("{at}: result `{}` cannot be reached", r.text));
        }
    }
    if all > rows_n - fixed {
        let border = &rows[usize::from(layout.log.y + layout.log.height - 1)];
        if !border.contains("J K scroll") {
            wrong.push(format!(
                "{at}: {all} lines to scroll in a pane of fewer, and no word of J K"
            ));
        }
    }
    wrong
}

/// The smaps counters the narration names are in the panel; the step's offset or page is in
/// the grid.
fn check_panel_and_grid(s: &Session, step: &LessonStep, at: &str, rows: &[String]) -> Vec<String> {
    let mut wrong = Vec::new();
    let layout = s.model.layout();
    let pages = s.model.pages();
    // Every smaps counter the narration names, in the panel with its value.
    let panel = layout
        .panel
        .map(|p| inside(rows, p, true))
        .unwrap_or_default();
    for f in SmapsField::ALL {
        if !names(&step.say, f.name()) {
            continue;
        }
        let shown = panel.iter().any(|l| {
            l.trim_start_matches(['│', ' '])
                .strip_prefix(f.name())
                .is_some_and(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        });
        if !shown {
            wrong.push(format!(
                "{at}: the narration names {} and the smaps panel does not show it{}",
                f.name(),
                if step.fields.is_empty() {
                    " (the step has no `# fields:` line)"
                } else {
                    ""
                }
            ));
        }
    }

    if names(&step.say, "VmFlags") && !panel.iter().any(|l| l.contains("VmFlags ")) {
        wrong.push(format!(
            "{at}: the narration names VmFlags and the smaps panel does not show it"
        ));
    }

    // The offset the step shows, or the page it is about, in the grid.
    let grid = inside(rows, layout.grid, true).join("\n");
    let ps = s.model.page_size();
    if let Some(off) = step.show {
        let digits = usize::from(s.model.offset_digits());
        let bpr = s.model.bytes_per_row();
        let label = format!(
            "{:0digits$x}  ",
            s.model.snap.shape.geometry.offset + off - off % bpr
        );
        if !grid.contains(&label) {
            wrong.push(format!("{at}: # show: 0x{off:x} is not in the grid"));
        }
    } else if let Some(p) = focus_page(step, ps).filter(|p| *p < pages) {
        let header = format!("page {p} ·");
        if !grid.lines().any(|l| l.starts_with(&header)) {
            wrong.push(format!(
                "{at}: page {p}, which the step works on, is not in the grid"
            ));
        }
    }
    wrong
}

/// Plays `name` at `size`: every step checked; the narration as drawn, for the snapshot.
fn play(name: &str, text: &str, size: (u16, u16)) -> (Vec<String>, String) {
    let lesson = parse(name, text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let dir = mmapscope::demo::TempDir::new().unwrap();
    let req = request(&lesson, dir.path()).unwrap();
    let region = mmapscope::sys::Region::open(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut r = Runner::new(Session::new(region, true, size));
    r.session.lab.helper = Some(env!("CARGO_BIN_EXE_mmapscope").into());
    mmapscope::session::lecture::start(&mut r, &lesson);
    let mut wrong = Vec::new();
    let mut drawn = String::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        mmapscope::session::lecture::next(&mut r, &lesson);
        let s = &mut r.session;
        assert_eq!(s.model.lesson.as_ref().map(|p| p.step), Some(i + 1));
        wrong.extend(check_step(s, &lesson, i + 1, step));
        drawn.push_str(&format!("step {}:\n", i + 1));
        let says = s
            .model
            .lesson_body()
            .iter()
            .filter(|(p, _)| *p == PaneText::Say)
            .count();
        for l in pane_body(&s.model).into_iter().take(says) {
            drawn.push_str(&format!("  |{}|\n", l.trim_end()));
        }
    }
    drop(r);
    drop(dir);
    (wrong, drawn)
}

fn every_lesson_at(size: (u16, u16)) {
    let mut wrong = Vec::new();
    for (name, text) in BUILTIN {
        let (w, drawn) = play(name, text, size);
        wrong.extend(w);
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), drawn);
    }
    assert!(
        wrong.is_empty(),
        "{} problems:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The checks can fail: a made-up lesson whose first narration is too long for 80x24, whose
/// second names a counter it neither declares nor expects (and the smaps block has no room
/// for at 80x24 once the first lines are taken), and whose third has more results than the
/// pane, reached by scrolling.
#[test]
fn the_checks_catch_a_long_narration_and_a_counter_not_shown() {
    let long = "word ".repeat(200);
    let text = format!(
        "# lesson: made up\n\
         say \"{long}\"\n\
         say \"Referenced and Swap and FilePmdMapped are what this says.\"\n\
         say \"many results\"\n{}",
        "expect mapping pages == 4\n".repeat(30)
    );
    let (wrong, _) = play("madeup", &text, (80, 24));
    assert!(
        wrong.iter().any(|w| w
            .starts_with("madeup step 1 at 80x24: narration needs 14 lines, the pane gives 10 ")),
        "{wrong:#?}"
    );
    assert!(
        wrong
            .iter()
            .any(|w| w.contains("madeup step 2 at 80x24: the narration names FilePmdMapped")),
        "{wrong:#?}"
    );
    assert!(
        !wrong.iter().any(|w| w.contains("step 3")),
        "30 results scroll into view: {wrong:#?}"
    );
}

#[test]
fn every_lesson_is_readable_at_80x24() {
    every_lesson_at((80, 24));
}

#[test]
fn every_lesson_is_readable_at_120x40() {
    every_lesson_at((120, 40));
}

#[test]
fn every_lesson_is_readable_at_300x100() {
    every_lesson_at((300, 100));
}
