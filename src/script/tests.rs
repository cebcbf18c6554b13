//! The language's parser, line by line: each command's words, its errors, the caps on what
//! is read.

use super::*;
use std::io::Read as _;

fn step(line: &str) -> Step {
    parse_step(line).unwrap().unwrap()
}

#[test]
fn commands_parse_into_ops() {
    let table: &[(&str, Step)] = &[
        (
            "write 0x10 41 42 ff",
            Step::Do(Op::Write {
                offset: 16,
                bytes: vec![0x41, 0x42, 0xff],
            }),
        ),
        (
            "write 4k 4142",
            Step::Do(Op::Write {
                offset: 4096,
                bytes: vec![0x41, 0x42],
            }),
        ),
        (
            "write-text 0 \"hi\\n\\x41 # not a comment\"",
            Step::Do(Op::Write {
                offset: 0,
                bytes: b"hi\nA # not a comment".to_vec(),
            }),
        ),
        ("read 0x10 4", Step::Do(Op::Read { offset: 16, len: 4 })),
        ("mode private", Step::Do(Op::Mode(MapMode::Private))),
        (
            "msync sync",
            Step::Do(Op::Msync(SyncKind::Sync, Scope::All)),
        ),
        (
            "msync invalidate page 3",
            Step::Do(Op::Msync(SyncKind::Invalidate, Scope::Page(3))),
        ),
        ("protect r", Step::Do(Op::Protect(Prot::R))),
        (
            "advise dontneed page 1",
            Step::Do(Op::Advise(MAdvice::DontNeed, Scope::Page(1))),
        ),
        (
            "advise random",
            Step::Do(Op::Advise(MAdvice::Random, Scope::All)),
        ),
        ("fadvise dontneed", Step::Do(Op::Fadvise(FAdvice::DontNeed))),
        ("touch page 2", Step::Do(Op::Touch(2))),
        ("undo", Step::Do(Op::Undo)),
        ("redo   # again", Step::Do(Op::Redo)),
        ("truncate 4096", Step::Do(Op::Truncate(4096))),
        (
            "exec 0x100",
            Step::Do(Op::Exec {
                offset: 256,
                args: (0, 0),
            }),
        ),
        (
            "exec 0x100 20 22",
            Step::Do(Op::Exec {
                offset: 256,
                args: (20, 22),
            }),
        ),
        ("peer start", Step::Do(Op::PeerStart(None))),
        ("peer start 0x40", Step::Do(Op::PeerStart(Some(64)))),
        ("peer stop", Step::Do(Op::PeerStop)),
        ("alloc 64M", Step::Do(Op::Alloc(64 << 20))),
        ("free", Step::Do(Op::Free)),
        ("fork", Step::Do(Op::Fork)),
        ("swap", Step::Do(Op::Swap)),
        (
            "child write 0x10 41 42",
            Step::Do(Op::ChildWrite {
                offset: 16,
                bytes: vec![0x41, 0x42],
            }),
        ),
        (
            "child read 0 4",
            Step::Do(Op::ChildRead { offset: 0, len: 4 }),
        ),
        ("child exit", Step::Do(Op::ChildExit)),
        ("lock", Step::Do(Op::Lock(Scope::All))),
        ("lock page 2", Step::Do(Op::Lock(Scope::Page(2)))),
        ("unlock all", Step::Do(Op::Unlock(Scope::All))),
        ("resize 64k", Step::Do(Op::Resize(64 << 10))),
        ("move 0x7f0000000000", Step::Do(Op::Move(0x7f00_0000_0000))),
        (
            "advise hugepage",
            Step::Do(Op::Advise(MAdvice::HugePage, Scope::All)),
        ),
        (
            "advise collapse page 0",
            Step::Do(Op::Advise(MAdvice::Collapse, Scope::Page(0))),
        ),
        (
            "expect result returned == 42",
            Step::Expect(Expect::Check {
                path: ExpectPath::Object("result".into(), "returned".into()),
                cmp: Cmp::Eq,
                value: Value::Num(42),
            }),
        ),
        ("snapshot", Step::Snapshot),
        (
            "expect vma pss < vma rss",
            Step::Expect(Expect::Check {
                path: ExpectPath::Object("vma".into(), "pss".into()),
                cmp: Cmp::Lt,
                value: Value::Path(Box::new(ExpectPath::Object("vma".into(), "rss".into()))),
            }),
        ),
        (
            "show page 1 dirty",
            Step::Show(ExpectPath::Page(1, "dirty".into())),
        ),
        ("show file 0x10", Step::Show(ExpectPath::File(16))),
        (
            "show vma shared_dirty",
            Step::Show(ExpectPath::Object("vma".into(), "shared_dirty".into())),
        ),
        (
            "expect result smaps_delta.Pss == -4k",
            Step::Expect(Expect::Check {
                path: ExpectPath::Object("result".into(), "smaps_delta.Pss".into()),
                cmp: Cmp::Eq,
                value: Value::Int(-4096),
            }),
        ),
        ("sleep 100", Step::Sleep(100)),
        ("say \"Hello, pages\"", Step::Say("Hello, pages".into())),
        ("expect error", Step::Expect(Expect::Error)),
        (
            "expect page 0 cow == true",
            Step::Expect(Expect::Check {
                path: ExpectPath::Page(0, "cow".into()),
                cmp: Cmp::Eq,
                value: Value::Bool(true),
            }),
        ),
        (
            "expect vma private_dirty >= 4096",
            Step::Expect(Expect::Check {
                path: ExpectPath::Object("vma".into(), "private_dirty".into()),
                cmp: Cmp::Ge,
                value: Value::Num(4096),
            }),
        ),
        (
            "expect file 0x10 == 41",
            Step::Expect(Expect::Check {
                path: ExpectPath::File(16),
                cmp: Cmp::Eq,
                value: Value::Num(0x41),
            }),
        ),
        (
            "expect summary dirty == 0",
            Step::Expect(Expect::Check {
                path: ExpectPath::Object("summary".into(), "dirty".into()),
                cmp: Cmp::Eq,
                value: Value::Num(0),
            }),
        ),
        (
            "expect mapping prot == \"r--\"",
            Step::Expect(Expect::Check {
                path: ExpectPath::Object("mapping".into(), "prot".into()),
                cmp: Cmp::Eq,
                value: Value::Str("r--".into()),
            }),
        ),
    ];
    for (line, want) in table {
        assert_eq!(&step(line), want, "{line}");
    }
}

#[test]
fn reading_is_bounded() {
    assert_eq!(
        read_capped(&b"read 0 1\nundo"[..]).unwrap(),
        "read 0 1\nundo"
    );
    let zeros = std::io::repeat(0).take(1 << 30);
    let err = read_capped(zeros).unwrap_err();
    assert!(err.contains("line 1 is longer than 64 KiB"), "{err}");
    let err = read_capped(&b"undo\n\xff\n"[..]).unwrap_err();
    assert!(
        err.contains("not UTF-8") && err.contains("offset 5"),
        "{err}"
    );
    let many = std::io::repeat(b'\n').take((4 << 20) + 10);
    let err = read_capped_at(many, MAX_LINE, 4 << 20).unwrap_err();
    assert!(err.contains("larger than 4 MiB"), "{err}");
    assert!(parse_step("sleep 99999T").unwrap_err().contains("at most"));
    assert_eq!(
        parse_step("sleep 60000").unwrap(),
        Some(Step::Sleep(60_000))
    );
}

#[test]
fn a_line_is_kept_without_its_comment() {
    let lines = parse("read 0 2   # a comment\nwrite-text 0 \"a # b \\\" #\" # c\n").unwrap();
    assert_eq!(lines[0].text, "read 0 2");
    assert_eq!(lines[1].text, "write-text 0 \"a # b \\\" #\"");
}

#[test]
fn force_goes_before_lock_resize_and_mode_only() {
    let lines =
        parse("force lock all\nforce  resize 1G # big\nforce mode private\nlock\n").unwrap();
    let forced: Vec<(bool, &str)> = lines.iter().map(|l| (l.force, l.text.as_str())).collect();
    assert_eq!(
        forced,
        [
            (true, "force lock all"),
            (true, "force  resize 1G"),
            (true, "force mode private"),
            (false, "lock")
        ]
    );
    assert_eq!(lines[1].step, Step::Do(Op::Resize(1 << 30)));
    // `forced` is not `force`; nor is `force` a command of its own.
    assert!(parse("forced lock all\n").is_err());
    let errors = parse("force write 0 41\nforce\nforce snapshot\n").unwrap_err();
    assert_eq!(errors.len(), 3);
    assert!(
        errors[0].problem.contains("only the memory bound"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].problem.contains("force lock all"),
        "{}",
        errors[1]
    );
}

#[test]
fn blanks_and_comments_are_skipped() {
    assert_eq!(parse_step("").unwrap(), None);
    assert_eq!(parse_step("   # just a comment").unwrap(), None);
}

#[test]
fn errors_name_the_line_and_the_problem() {
    let script = "write 0 41\nwrte 0 41\nmsync sometimes\nwrite 0 4g\nexpect page x cow == true\nsay unquoted\n";
    let errors = parse(script).unwrap_err();
    let lines: Vec<usize> = errors.iter().map(|e| e.number).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6]);
    assert!(
        errors[0]
            .to_string()
            .starts_with("line 2: wrte 0 41: unknown command `wrte`")
    );
    assert!(errors[1].problem.contains("sync|async|invalidate"));
    assert!(
        errors[2].problem.contains("not hex"),
        "{}",
        errors[2].problem
    );
    assert!(errors[3].problem.contains("page number"));
    assert!(errors[4].problem.contains("say"));
    assert!(
        parse_step("write-text 0 \"open")
            .unwrap_err()
            .contains("not closed")
    );
    assert!(parse_step("exec").is_err());
    assert!(parse_step("exec 0 1").unwrap_err().contains("usage"));
    assert!(parse_step("peer go").is_err());
    assert!(
        parse_step("write-snippet 0 nope")
            .unwrap_err()
            .contains("ret42")
    );
    assert!(parse_step("protect w").is_err());
    assert!(
        parse_step("child")
            .unwrap_err()
            .contains("child write OFFSET")
    );
    assert!(parse_step("child read 0").is_err());
    assert!(parse_step("child exit now").is_err());
    assert!(parse_step("fork 2").is_err());
    assert!(
        parse_step("lock page")
            .unwrap_err()
            .contains("lock [all | page N]")
    );
    assert!(
        parse_step("resize")
            .unwrap_err()
            .contains("usage: resize SIZE")
    );
    assert!(parse_step("move 1 2").is_err());
    assert!(parse_step("write 0").is_err());
}

/// `/`, a script's `write` and `child write`, and the child-write prompt read hex bytes
/// alike (one parser, `text::hex_bytes`): the same bytes, the same refusals; only a lone
/// digit differs, and only for `/`.
#[test]
fn every_hex_entry_reads_bytes_alike() {
    use crate::action::Ask;
    use crate::search::query::Pattern;
    let entries = |hex: &str| -> [Result<Vec<u8>, String>; 4] {
        let op = |line: String| match parse_step(&line)? {
            Some(Step::Do(Op::Write { bytes, .. } | Op::ChildWrite { bytes, .. })) => Ok(bytes),
            other => Err(format!("{other:?}")),
        };
        let prompt = match (Ask::ChildWrite { offset: 0 }).parse(hex) {
            Ok(Op::ChildWrite { bytes, .. }) => Ok(bytes),
            other => other.and_then(|op| Err(format!("{op:?}"))),
        };
        [
            Pattern::parse(hex).map(|p| p.bytes),
            op(format!("write 0 {hex}")),
            op(format!("child write 0 {hex}")),
            prompt,
        ]
    };
    for (hex, want) in [
        ("7f 45 4c46", &b"\x7fELF"[..]),
        ("0x7f454c46", b"\x7fELF"),
        ("0x41 0X42 ff", b"AB\xff"),
    ] {
        for got in entries(hex) {
            assert_eq!(got.as_deref(), Ok(want), "{hex:?}");
        }
    }
    for bad in ["7f4", "0x0x41", "+f", "4g", "41 \"x\""] {
        for got in entries(bad) {
            assert!(got.unwrap_err().contains("not hex bytes"), "{bad:?}");
        }
    }
    let [find, rest @ ..] = entries("7f 4");
    assert!(find.unwrap_err().contains("`4` is not hex bytes"));
    for got in rest {
        assert_eq!(got.as_deref(), Ok(&[0x7f, 4][..]));
    }
    let byte = |v: &str| parse_step(&format!("expect file 0 == {v}"));
    assert_eq!(byte("0x41").unwrap(), byte("41").unwrap());
    assert_eq!(byte("4").unwrap(), byte("04").unwrap());
    assert!(byte("4142").is_err());
    assert!(byte("+4").is_err());
}
