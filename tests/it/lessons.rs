//! Every shipped lesson is a test of the kernel behaviour it teaches: `mmapscope lesson NAME
//! --check` runs it headless and exits 1 if an `expect` fails. Here each one runs through the
//! real binary, and, when the tests run as root, once more as user nobody, where the only
//! `expect` lines allowed to be skipped are those on root-only fields (kpageflags, PFNs).

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;

use mmapscope::script::lesson::BUILTIN;
use mmapscope::session::ROOT_ONLY;

use crate::common::*;

/// The field an `expect` line looks at: `expect page N FIELD ...` or `expect OBJ FIELD ...`.
fn expect_field(line: &str) -> Option<&str> {
    let mut words = line
        .split_whitespace()
        .skip_while(|w| *w != "expect")
        .skip(1);
    match words.next()? {
        "page" => words.nth(1),
        _ => words.next(),
    }
}

#[test]
fn every_shipped_lesson_passes_its_check() {
    for (name, _) in BUILTIN {
        let stdout = check_passes(mmapscope(&["lesson", name, "--check"]), name, "ourselves");
        // Every step was played, and nothing was skipped that root could have checked.
        assert!(
            stdout.contains("step 1/"),
            "lesson {name} played no step:\n{stdout}"
        );
        if is_root() {
            assert!(
                !stdout.contains("[skip]"),
                "lesson {name} skipped an expect although we are root:\n{stdout}"
            );
        }
    }
}

#[test]
fn every_shipped_lesson_passes_as_user_nobody() {
    const TEST: &str = "every_shipped_lesson_passes_as_user_nobody";
    if !is_root() {
        return skip(
            TEST,
            "not running as root: the other test already ran every lesson unprivileged",
        );
    }
    // A TMPDIR that user nobody can write, for the lessons' fresh demo files (on a disk file
    // system: /var/tmp first; the lessons teach ext4's behaviour, not tmpfs's).
    let tmp = match temp_for_nobody() {
        Ok(t) => t,
        Err(why) => return skip(TEST, &format!("no directory user nobody can reach: {why}")),
    };
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod 0777 the temp dir");
    for (name, _) in BUILTIN {
        let args: [&OsStr; 3] = ["lesson".as_ref(), name.as_ref(), "--check".as_ref()];
        let mut cmd = match as_unprivileged(&args) {
            Ok(c) => c,
            Err(why) => return skip(TEST, &why),
        };
        cmd.env("TMPDIR", tmp.path());
        let stdout = check_passes(cmd, name, "user nobody");
        for line in stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("[skip]"))
        {
            let field = expect_field(line);
            assert!(
                field.is_some_and(|f| ROOT_ONLY.contains(&f)),
                "lesson {name} as user nobody skipped an expect that is not root-only \
                 ({field:?}; root-only: {ROOT_ONLY:?}):\n{line}\n--- stdout:\n{stdout}"
            );
            assert!(
                line.contains("needs root"),
                "a skip says why (needs root): {line}"
            );
        }
    }
}

#[test]
fn expect_field_finds_the_field() {
    assert_eq!(
        expect_field("  [skip] expect page 1 folio_pages == 1: skipped"),
        Some("folio_pages")
    );
    assert_eq!(
        expect_field("  [skip] expect vma kflags == null"),
        Some("kflags")
    );
    assert_eq!(expect_field("  [  ok] read 0 4"), None);
}

/// The fields a step's `expect` and `show` lines look at, as `vma private_dirty` or
/// `page dirty` (the page number dropped).
fn looked_at(step: &mmapscope::script::lesson::LessonStep) -> Vec<String> {
    step.lines
        .iter()
        .filter_map(|l| {
            let mut w = l.text.split_whitespace();
            if !matches!(w.next()?, "expect" | "show") {
                return None;
            }
            let left = match w.next()? {
                "page" => format!("page {}", w.nth(1)?),
                // A change the operation measured counts as reading the counter.
                "result" => match w.next()?.strip_prefix("smaps_delta.") {
                    Some(counter) => format!("vma {}", counter.to_lowercase()),
                    None => return None,
                },
                obj => format!("{obj} {}", w.next()?),
            };
            // `expect vma pss < vma rss` reads both.
            let right = match (w.nth(1), w.next()) {
                (Some("vma"), Some(field)) => Some(format!("vma {field}")),
                _ => None,
            };
            Some(std::iter::once(left).chain(right))
        })
        .flatten()
        .collect()
}

/// What the narration says is on screen is what the step checks: every smaps counter a
/// narration names is listed first in the panel (`# fields:`) and read by an `expect` or
/// `show` of that step; every header letter it points at ("D (dirty)", "C (cow)", "K", "P
/// (present)", "R (resident)") is read from the pages by the same step; and every narration
/// fits three lines of the 78 columns an 80-column terminal gives it.
#[test]
fn every_narration_names_what_its_step_checks() {
    use mmapscope::sys::proc::maps::SmapsField;
    let mut problems = Vec::new();
    for (name, text) in BUILTIN {
        let lesson = mmapscope::script::lesson::parse(name, text).unwrap();
        for (i, step) in lesson.steps.iter().enumerate() {
            let at = format!("{name} step {}", i + 1);
            let looked = looked_at(step);
            let words: Vec<&str> = step
                .say
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .collect();
            for field in SmapsField::ALL {
                if !words.contains(&field.name()) {
                    continue;
                }
                if !step.fields.contains(&field) {
                    problems.push(format!("{at}: names {} without # fields:", field.name()));
                }
                let key = match field {
                    SmapsField::ThpEligible => "thp_eligible".to_string(),
                    SmapsField::AnonHugePages => "anon_huge_pages".to_string(),
                    f => f.name().to_lowercase(),
                };
                if !looked.iter().any(|l| *l == format!("vma {key}")) {
                    problems.push(format!(
                        "{at}: names {} but checks no vma {key}",
                        field.name()
                    ));
                }
            }
            for (letter, field) in [
                ("D (dirty)", "dirty"),
                ("-d (clean)", "dirty"),
                ("C (cow)", "cow"),
                ("K (shared with child)", "shared_with_child"),
                ("P (present)", "present"),
                ("R (resident)", "resident"),
                ("H (huge page)", "thp"),
            ] {
                let page = format!("page {field}");
                let summary = format!("summary {field}");
                if step.say.contains(letter) && !looked.iter().any(|l| *l == page || *l == summary)
                {
                    problems.push(format!(
                        "{at}: points at {letter} but reads no page {field}"
                    ));
                }
            }
            let lines = wrapped_lines(&step.say, 78);
            if lines > 3 {
                problems.push(format!("{at}: {lines} lines at 78 columns (at most 3)"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// How many lines `text` takes when wrapped at word boundaries into `width` columns.
fn wrapped_lines(text: &str, width: usize) -> usize {
    let mut lines = 1;
    let mut used = 0;
    for word in text.split(' ') {
        let n = word.chars().count();
        if used == 0 {
            used = n;
        } else if used + 1 + n <= width {
            used += 1 + n;
        } else {
            lines += 1;
            used = n;
        }
    }
    lines
}
