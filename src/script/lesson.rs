//! Lessons: batch scripts with narration. A `say` line starts a new step; the lines after it,
//! up to the next `say`, are what the step does. Lines before the first `say` set the lesson up.
//! Two comment lines at the top describe it:
//!
//! ```text
//! # lesson: Copy-on-write: a private mapping copies a page on its first store
//! # options: --private --len 16k        (the mapping options of the command line)
//! ```
//!
//! Inside a step, two comment lines tell the screen what the narration points at, so a
//! projector-sized 80x24 terminal still shows it:
//!
//! ```text
//! # show: 0x3060                         (the offset the grid keeps in view)
//! # fields: Private_Dirty Anonymous      (the smaps counters the panel lists first)
//! ```
//!
//! The lesson maps a fresh copy of the demo file (or, with `--anon SIZE` in its options,
//! anonymous memory; or a `# file: PATH` such as /dev/zero). The same lines run in the TUI, one
//! step per key, and headless with `--check`, where every `expect` is a test of the kernel.

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::action::Op;
use crate::options::MapArgs;
use crate::script::{self, Line, ParseError, Step};
use crate::sys::proc::maps::SmapsField;

/// A step: its narration and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonStep {
    pub say: String,
    pub lines: Vec<Line>,
    /// `# show: OFFSET`: the offset the grid keeps in view during this step.
    pub show: Option<u64>,
    /// `# fields: NAME ...`: the smaps counters the panel lists first during this step.
    pub fields: Vec<SmapsField>,
}

/// A parsed lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lesson {
    pub name: String,
    /// The `# lesson:` line, or the name.
    pub title: String,
    /// The mapping options (`# options:`).
    pub map: MapArgs,
    /// A file to map instead of the demo (`# file:`).
    pub file: Option<PathBuf>,
    pub setup: Vec<Line>,
    pub steps: Vec<LessonStep>,
}

#[derive(Debug, Parser)]
#[command(name = "options", no_binary_name = true)]
struct Options {
    #[command(flatten)]
    map: MapArgs,
}

/// The lessons shipped in `assets/lessons/`, in teaching order: (name, text).
pub const BUILTIN: [(&str, &str); 15] = [
    ("pages", include_str!("../../assets/lessons/pages.lesson")),
    ("shared", include_str!("../../assets/lessons/shared.lesson")),
    (
        "private",
        include_str!("../../assets/lessons/private.lesson"),
    ),
    (
        "residency",
        include_str!("../../assets/lessons/residency.lesson"),
    ),
    (
        "protection",
        include_str!("../../assets/lessons/protection.lesson"),
    ),
    (
        "anonymous",
        include_str!("../../assets/lessons/anonymous.lesson"),
    ),
    ("ipc", include_str!("../../assets/lessons/ipc.lesson")),
    ("sigbus", include_str!("../../assets/lessons/sigbus.lesson")),
    ("fork", include_str!("../../assets/lessons/fork.lesson")),
    (
        "address",
        include_str!("../../assets/lessons/address.lesson"),
    ),
    (
        "hugepages",
        include_str!("../../assets/lessons/hugepages.lesson"),
    ),
    (
        "locking",
        include_str!("../../assets/lessons/locking.lesson"),
    ),
    ("malloc", include_str!("../../assets/lessons/malloc.lesson")),
    (
        "touched",
        include_str!("../../assets/lessons/touched.lesson"),
    ),
    (
        "working-set",
        include_str!("../../assets/lessons/working-set.lesson"),
    ),
];

/// A shipped lesson's text by name.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The value of a `# key: value` header line.
fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix('#')
                .map(str::trim)
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix(':'))
                .map(str::trim)
        })
}

/// Parses a lesson.
///
/// # Errors
/// Every line that does not parse, and bad `# options:`.
pub fn parse(name: &str, text: &str) -> Result<Lesson, Vec<ParseError>> {
    let lines = script::parse(text)?;
    let options = header(text, "options").unwrap_or("");
    let map = Options::try_parse_from(options.split_whitespace())
        .map_err(|e| {
            vec![ParseError {
                number: 1,
                text: format!("# options: {options}"),
                problem: e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("bad options")
                    .to_string(),
            }]
        })?
        .map;
    let mut setup = Vec::new();
    let mut steps: Vec<LessonStep> = Vec::new();
    for line in lines {
        match (&line.step, steps.last_mut()) {
            (Step::Say(text), _) => steps.push(LessonStep {
                say: text.clone(),
                lines: Vec::new(),
                show: None,
                fields: Vec::new(),
            }),
            (_, Some(step)) => step.lines.push(line),
            (_, None) => setup.push(line),
        }
    }
    directives(text, &mut steps)?;
    Ok(Lesson {
        name: name.to_string(),
        title: header(text, "lesson").unwrap_or(name).to_string(),
        map,
        file: header(text, "file").map(PathBuf::from),
        setup,
        steps,
    })
}

/// Reads the `# show:` and `# fields:` lines into the step they are written in (after its
/// `say`). Before the first `say` they belong to no step and are an error, as is an offset
/// that does not parse or a counter smaps does not have.
fn directives(text: &str, steps: &mut [LessonStep]) -> Result<(), Vec<ParseError>> {
    let says: Vec<usize> = script::parse(text)
        .unwrap_or_default()
        .iter()
        .filter(|l| matches!(l.step, Step::Say(_)))
        .map(|l| l.number)
        .collect();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let Some(body) = raw.trim().strip_prefix('#').map(str::trim) else {
            continue;
        };
        let (key, value) = match body.split_once(':') {
            Some((k, v)) if k.trim() == "show" || k.trim() == "fields" => (k.trim(), v.trim()),
            _ => continue,
        };
        let fail = |problem: String| ParseError {
            number,
            text: raw.trim().to_string(),
            problem,
        };
        let Some(step) = says
            .iter()
            .rposition(|&n| n < number)
            .and_then(|k| steps.get_mut(k))
        else {
            errors.push(fail(format!(
                "`# {key}:` belongs inside a step, after its say line"
            )));
            continue;
        };
        if key == "show" {
            match crate::geometry::parse_size(value) {
                Ok(offset) => step.show = Some(offset),
                Err(e) => errors.push(fail(format!("# show: {e}"))),
            }
        } else {
            for name in value.split_whitespace() {
                match SmapsField::from_name(name.as_bytes()) {
                    Some(f) => step.fields.push(f),
                    None => errors.push(fail(format!(
                        "# fields: smaps has no counter `{}`",
                        crate::text::echo(name)
                    ))),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Loads a shipped lesson by name, or a teacher's file.
///
/// # Errors
/// A message: unknown name (with the list), unreadable file, or parse errors.
pub fn load(name: Option<&str>, file: Option<&Path>) -> Result<Lesson, String> {
    let (name, text) = match (name, file) {
        (_, Some(path)) => (
            path.file_stem()
                .map_or("lesson".into(), |s| s.to_string_lossy().into_owned()),
            std::fs::File::open(path)
                .map_err(|e| e.to_string())
                .and_then(crate::script::read_capped)
                .map_err(|e| {
                    format!(
                        "cannot read {}: {e}",
                        crate::text::echo(&path.to_string_lossy())
                    )
                })?,
        ),
        (Some(name), None) => (
            name.to_string(),
            builtin(name)
                .ok_or_else(|| {
                    format!(
                        "no lesson `{}`; there are: {}",
                        crate::text::echo(name),
                        BUILTIN
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?
                .to_string(),
        ),
        (None, None) => return Err("give a lesson name or --file PATH".into()),
    };
    parse(&name, &text).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// What a lesson from outside the shipped set would do beyond its own fresh copy of the demo
/// file: a lesson is a program (it can write the file named in `# file:`, run machine code in
/// a child, start a process), so playing one asks first. Empty: nothing beyond its own file.
/// The file's part is the write gate's own verdict on each line (`file_writes`), so the list
/// cannot disagree with what playing the lesson does.
pub fn risks(lesson: &Lesson) -> Vec<String> {
    let lines = || {
        lesson
            .setup
            .iter()
            .chain(lesson.steps.iter().flat_map(|s| &s.lines))
    };
    let numbers = |pred: &dyn Fn(&Op) -> bool| -> Vec<String> {
        lines()
            .filter(|l| matches!(&l.step, Step::Do(op) if pred(op)))
            .map(|l| l.number.to_string())
            .collect()
    };
    let mut out = Vec::new();
    if let Some(file) = &lesson.file {
        let shown = crate::text::sanitize(&file.to_string_lossy());
        let writes = file_writes(lesson, file, lines());
        if writes.is_empty() {
            out.push(format!("maps {shown} (it does not write it)"));
        } else {
            let consent = lesson
                .map
                .request(Some(file.clone()))
                .is_ok_and(|r| r.write_allowed());
            out.push(format!(
                "maps {shown} and may write it ({}{})",
                writes.join(", "),
                if consent {
                    "; its options allow writing it"
                } else {
                    ""
                }
            ));
        }
    }
    let forced: Vec<String> = lines()
        .filter(|l| l.force)
        .map(|l| l.number.to_string())
        .collect();
    if lesson.map.place.force || !forced.is_empty() {
        out.push(format!(
            "may commit memory past mmapscope's bound (a quarter of MemAvailable): {}",
            if lesson.map.place.force {
                "its options say --force".to_string()
            } else {
                format!("`force` on lines {}", forced.join(", "))
            }
        ));
    }
    let execs = numbers(&|op| matches!(op, Op::Exec { .. }));
    if !execs.is_empty() {
        out.push(format!(
            "runs machine code from the mapping in a child process (lines {})",
            execs.join(", ")
        ));
    }
    out
}

/// The lines of `lesson` that would change `file`, as `line N (what)`: each line walked through
/// the write gate as a script line (`sys::ops::gate`), following what changes its verdict (`mode`,
/// `protect`, `fork`). A line the gate would refuse writes nothing; an undo or redo counts as
/// the write it replays.
fn file_writes<'a>(
    lesson: &Lesson,
    file: &Path,
    lines: impl Iterator<Item = &'a Line>,
) -> Vec<String> {
    use crate::sys::ops::gate::{
        self, Backing, Consent, FileChange, Gate, Origin, Reach, Shown, Verdict,
    };
    let Ok(req) = lesson.map.request(Some(file.to_path_buf())) else {
        return Vec::new();
    };
    // /dev/zero (the one character device mmapscope maps) has no file bytes behind it.
    let memory = std::fs::metadata(file).is_ok_and(|m| {
        use std::os::unix::fs::FileTypeExt as _;
        m.file_type().is_char_device()
    });
    let backing = if memory || lesson.map.anon.is_some() {
        Backing::Memory
    } else {
        Backing::File {
            shown: crate::text::sanitize(&file.to_string_lossy()),
            writable: true,
        }
    };
    let mut gate = Gate::new(req.write_allowed().then_some(Consent::Flag));
    let (mut mode, mut child_mode) = (req.mode, None);
    let mut out = Vec::new();
    for line in lines {
        let Step::Do(op) = &line.step else { continue };
        let op = match op {
            Op::Undo | Op::Redo => Op::Write {
                offset: 0,
                bytes: vec![0],
            },
            op => op.clone(),
        };
        let shown = Shown::Mapping {
            backing: backing.clone(),
            mode,
            prot: crate::sys::Prot::RW,
            child_mode,
        };
        // A dump or an export writes a file of its own choosing: more than the lesson's file.
        let own = match &op {
            Op::Dump(d) => Some(("dump", &d.path)),
            Op::Export(e) => Some(("export", &e.path)),
            _ => None,
        };
        if let Some((word, path)) = own {
            let path = crate::text::echo(&path.to_string_lossy());
            out.push(format!("line {} ({word} writes {path})", line.number));
            continue;
        }
        let reach = gate::reach(&op, &shown);
        if !matches!(
            gate.check(&op, &shown, Origin::Script, false),
            Verdict::Go(_)
        ) {
            continue;
        }
        if let Reach::File(change) = reach {
            let what = match change {
                FileChange::Store => "a store",
                FileChange::ChildStore => "the child's store",
                FileChange::Truncate => "truncate",
                FileChange::Peer => "the peer writes",
                FileChange::MakeWritable => "mprotect with PROT_WRITE",
            };
            out.push(format!("line {} ({what})", line.number));
        }
        match op {
            Op::Mode(m) => mode = m,
            Op::Fork => child_mode = Some(mode),
            Op::ChildExit => child_mode = None,
            _ => {}
        }
    }
    out
}

/// The page a step is about: the last page its operations touch.
pub fn focus_page(step: &LessonStep, page_size: u64) -> Option<u64> {
    step.lines.iter().rev().find_map(|l| match &l.step {
        Step::Do(
            Op::Write { offset, .. }
            | Op::Read { offset, .. }
            | Op::Exec { offset, .. }
            | Op::ChildWrite { offset, .. }
            | Op::ChildRead { offset, .. },
        ) => Some(offset / page_size),
        Step::Do(Op::Touch(p)) => Some(*p),
        Step::Do(Op::PeerStart(Some(off))) => Some(off / page_size),
        Step::Do(
            Op::Msync(_, crate::action::Scope::Page(p))
            | Op::Advise(_, crate::action::Scope::Page(p))
            | Op::Lock(crate::action::Scope::Page(p))
            | Op::Unlock(crate::action::Scope::Page(p)),
        ) => Some(*p),
        Step::Expect(script::Expect::Check {
            path: script::ExpectPath::Page(p, _),
            ..
        })
        | Step::Show(script::ExpectPath::Page(p, _)) => Some(*p),
        _ => None,
    })
}

/// The listing of `mmapscope lesson`: name and title of each shipped lesson.
pub fn listing() -> String {
    let mut out = String::from("Lessons (mmapscope lesson NAME; --check runs one headless):\n");
    for (name, text) in BUILTIN {
        out.push_str(&format!(
            "  {name:<11} {}\n",
            header(text, "lesson").unwrap_or("")
        ));
    }
    out.push_str("Your own: mmapscope lesson --file PATH (the language: docs/scripts.md).\n");
    out
}

/// What a lesson maps: a fresh copy of the demo file in `dir` unless its options say otherwise.
///
/// # Errors
/// The demo file could not be written, or the options are contradictory.
pub fn request(lesson: &Lesson, dir: &Path) -> Result<crate::sys::MapRequest, String> {
    let (file, created) = if lesson.map.anon.is_some() {
        (None, true)
    } else if let Some(f) = &lesson.file {
        (Some(f.clone()), false)
    } else {
        let path = dir.join("demo.txt");
        crate::demo::write_to(&path).map_err(|e| e.to_string())?;
        (Some(path), true)
    };
    let mut req = lesson.map.request(file)?;
    req.write |= created;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_and_fields_belong_to_the_step_they_are_written_in() {
        let text = "# lesson: T\nsay \"one\"\n# show: 0x3060\nread 0 1\nsay \"two\"\n# fields: Private_Dirty Anonymous\nsay \"three\"\n";
        let l = parse("t", text).unwrap();
        assert_eq!(l.steps[0].show, Some(0x3060));
        assert!(l.steps[0].fields.is_empty());
        assert_eq!(l.steps[1].show, None);
        assert_eq!(
            l.steps[1].fields,
            vec![SmapsField::PrivateDirty, SmapsField::Anonymous]
        );
        assert!(l.steps[2].fields.is_empty() && l.steps[2].show.is_none());
    }

    #[test]
    fn bad_show_and_fields_are_refused_with_their_line() {
        let before = parse("t", "# show: 0x10\nsay \"a\"\n").unwrap_err();
        assert_eq!(before[0].number, 1);
        assert!(before[0].problem.contains("inside a step"), "{before:?}");
        let field = parse("t", "say \"a\"\n# fields: Rss Dirtyness\n").unwrap_err();
        assert_eq!(field[0].number, 2);
        assert!(field[0].problem.contains("Dirtyness"), "{field:?}");
        let offset = parse("t", "say \"a\"\n# show: lots\n").unwrap_err();
        assert!(offset[0].problem.starts_with("# show:"), "{offset:?}");
    }

    #[test]
    fn steps_start_at_say() {
        let text = "# lesson: A test\n# options: --private --len 8k\nread 0 1\nsay \"one\"\nwrite 0 41\nexpect page 0 cow == true\nsay \"two\"\nsay \"three\"\nmsync sync\n";
        let l = parse("t", text).unwrap();
        assert_eq!(l.title, "A test");
        assert!(l.map.private);
        assert_eq!(l.map.len, Some(8192));
        assert_eq!(l.setup.len(), 1);
        let shape: Vec<(&str, usize)> = l
            .steps
            .iter()
            .map(|s| (s.say.as_str(), s.lines.len()))
            .collect();
        assert_eq!(shape, vec![("one", 2), ("two", 0), ("three", 1)]);
        assert_eq!(focus_page(&l.steps[0], 4096), Some(0));
    }

    /// The risk list is the write gate's verdict on each line: a private lesson that goes
    /// shared and writes writes nothing (the gate refuses it) unless it says `protect rw`.
    #[test]
    fn the_risk_list_follows_the_gate_through_mode_protect_and_fork() {
        let risks = |body: &str| {
            let text = format!("# options: --private\n# file: /nonexistent/f\nsay \"s\"\n{body}");
            crate::script::lesson::risks(&parse("t", &text).expect("parses"))
        };
        let r = risks("mode shared\nwrite 0 41\ntruncate 5\nundo\n");
        assert_eq!(
            r,
            vec!["maps /nonexistent/f (it does not write it)".to_string()]
        );
        let r = risks("write 0 41\nmode shared\nprotect rw\nwrite 0 41\ntruncate 5\n");
        assert!(
            r[0].contains("line 6 (mprotect with PROT_WRITE), line 7 (a store), line 8 (truncate)"),
            "{r:?}"
        );
        assert!(
            !r[0].contains("line 4"),
            "a private store writes no file: {r:?}"
        );
        // The child keeps the mapping it was forked with.
        let r = risks("fork\nmode shared\nchild write 0 41\n");
        assert!(r[0].contains("does not write it"), "{r:?}");
        let text = "# options: --write\n# file: /nonexistent/f\nsay \"s\"\nfork\nmode private\n\
                    child write 0 41\nforce lock all\n";
        let r = crate::script::lesson::risks(&parse("t", text).expect("parses"));
        assert!(r[0].contains("line 6 (the child's store)"), "{r:?}");
        assert!(r[0].contains("its options allow writing it"), "{r:?}");
        assert!(r[1].contains("`force` on lines 7"), "{r:?}");
    }

    #[test]
    fn bad_options_and_unknown_names_say_so() {
        assert!(parse("t", "# options: --bogus\nsay \"x\"\n").is_err());
        let err = load(Some("nope"), None).unwrap_err();
        assert!(err.contains("pages, shared"), "{err}");
    }

    #[test]
    fn every_shipped_lesson_parses_and_has_5_to_12_steps_with_expects() {
        for (name, text) in BUILTIN {
            let l = parse(name, text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(
                (5..=12).contains(&l.steps.len()),
                "{name}: {} steps",
                l.steps.len()
            );
            let expects = l
                .steps
                .iter()
                .flat_map(|s| &s.lines)
                .filter(|line| matches!(line.step, Step::Expect(_)))
                .count();
            assert!(expects >= 3, "{name}: {expects} expects");
            assert!(header(text, "lesson").is_some(), "{name} has a title");
        }
    }
}
