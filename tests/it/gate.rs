//! The write gate (`sys::ops::gate`), tried as a careless or hostile user would: generated scripts
//! mixing `--also`, `swap`, `mode`, `protect`, `peer`, `fork` / `child write`, `truncate`,
//! `write`, `undo` / `redo` over a file the user names, run in-process through a `Session`
//! (what `batch` runs), through the real binary as user nobody, and as lessons:
//!
//! - opened without `--write` and with no `protect` line adding PROT_WRITE, the file never
//!   changes: not a byte, not its size, not even its mtime (no store reached it, not even one
//!   put back);
//! - in any script, the file stays as it was until consent (`--write`, or a `protect rw|rwx`
//!   line that ran while the mapping shown was MAP_SHARED), and from then on equals a model
//!   of the writes that reported success (a `child write` that could not complete wrote
//!   nothing);
//! - played as a lesson (`# options:` and `# file:` headers), a lesson that changed the file
//!   has a risk list that says it may write it.
//!
//! 256 cases each by default (`MMAPSCOPE_PROPTEST_CASES=N` for more); a failure prints the
//! shrunk script and the `PROPTEST_RNG_SEED` that replays it.

use crate::common;

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use mmapscope::session::{Runner, Session};
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};

use crate::common::{BIN, page_size as ps};

/// The file and the mapping: `size` bytes; `pages` mapped when given (past EOF too).
#[derive(Debug, Clone)]
struct Setup {
    size: u64,
    shared: bool,
    write: bool,
    /// `--also shared` (true) or `--also private`.
    also: Option<bool>,
    pages: Option<u64>,
}

impl Setup {
    fn options(&self, lesson: bool) -> Vec<String> {
        let mut o = Vec::new();
        if !self.shared {
            o.push("--private".into());
        }
        if self.write {
            o.push("--write".into());
        }
        if let Some(p) = self.pages {
            o.extend(["--len".into(), (p * ps()).to_string()]);
        }
        match self.also {
            Some(shared) if !lesson => {
                o.extend([
                    "--also".into(),
                    if shared { "shared" } else { "private" }.into(),
                ]);
            }
            _ => {}
        }
        o
    }

    fn content(&self) -> Vec<u8> {
        (0..self.size).map(|i| (i * 7 % 251) as u8 + 1).collect()
    }
}

/// One generated line.
#[derive(Debug, Clone)]
enum G {
    Write(u64, Vec<u8>),
    Undo,
    Redo,
    Swap,
    Mode(bool),
    Protect(&'static str),
    Fork,
    ChildWrite(u64, Vec<u8>),
    ChildExit,
    Truncate(u64),
    PeerStart(u64),
    PeerStop,
    Msync,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl G {
    fn text(&self) -> String {
        match self {
            Self::Write(o, b) => format!("write {o} {}", hex(b)),
            Self::Undo => "undo".into(),
            Self::Redo => "redo".into(),
            Self::Swap => "swap".into(),
            Self::Mode(shared) => format!("mode {}", if *shared { "shared" } else { "private" }),
            Self::Protect(p) => format!("protect {p}"),
            Self::Fork => "fork".into(),
            Self::ChildWrite(o, b) => format!("child write {o} {}", hex(b)),
            Self::ChildExit => "child exit".into(),
            Self::Truncate(n) => format!("truncate {n}"),
            Self::PeerStart(o) => format!("peer start {o}"),
            Self::PeerStop => "peer stop".into(),
            Self::Msync => "msync sync all".into(),
        }
    }

    fn consents(&self) -> bool {
        matches!(self, Self::Protect(p) if p.contains('w'))
    }
}

fn setup_strategy(write: bool) -> impl Strategy<Value = Setup> {
    let p = ps();
    (
        prop::sample::select(vec![100, p, 2 * p, p + 100, 3 * p + 100]),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::option::of(1..4u64),
        any::<bool>(),
    )
        .prop_map(move |(size, shared, also, pages, w)| Setup {
            size,
            shared,
            write: write && w,
            also,
            pages,
        })
}

/// Offsets where things happen: page edges, end of file, the padding, past EOF.
fn offset() -> impl Strategy<Value = u64> {
    let p = ps();
    prop::sample::select(vec![
        0,
        1,
        99,
        100,
        p - 2,
        p - 1,
        p,
        p + 99,
        2 * p - 1,
        3 * p + 98,
    ])
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..5)
}

fn line_strategy(protect_w: bool) -> impl Strategy<Value = G> {
    let p = ps();
    let prots: Vec<&'static str> = if protect_w {
        vec!["r", "rw", "none", "rwx"]
    } else {
        vec!["r", "none", "rx"]
    };
    prop_oneof![
        6 => (offset(), bytes()).prop_map(|(o, b)| G::Write(o, b)),
        2 => Just(G::Undo),
        1 => Just(G::Redo),
        3 => Just(G::Swap),
        3 => any::<bool>().prop_map(G::Mode),
        3 => prop::sample::select(prots).prop_map(G::Protect),
        3 => Just(G::Fork),
        4 => (offset(), bytes()).prop_map(|(o, b)| G::ChildWrite(o, b)),
        // Across the end of a page into one beyond end of file: all or nothing.
        3 => (prop::sample::select(vec![p - 2, 2 * p - 2]), Just(vec![0xad, 0xe1, 0xdb]))
            .prop_flat_map(|(o, b)| prop_oneof![
                Just(G::ChildWrite(o, b.clone())),
                Just(G::Write(o, b))
            ]),
        1 => Just(G::ChildExit),
        2 => prop::sample::select(vec![0, 50, p + 10, 5 * p]).prop_map(G::Truncate),
        1 => prop::sample::select(vec![0, 8, p]).prop_map(G::PeerStart),
        1 => Just(G::PeerStop),
        1 => Just(G::Msync),
    ]
}

fn case_strategy(write: bool, protect_w: bool) -> impl Strategy<Value = (Setup, Vec<G>)> {
    (
        setup_strategy(write),
        prop::collection::vec(line_strategy(protect_w), 1..14),
    )
}

/// The file's bytes and its mtime (nanoseconds).
fn state(path: &Path) -> (Vec<u8>, i128) {
    let m = std::fs::metadata(path).expect("stat");
    let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
    (std::fs::read(path).expect("read"), mtime)
}

fn write_file(dir: &Path, setup: &Setup) -> PathBuf {
    let path = dir.join("named file");
    std::fs::write(&path, setup.content()).expect("write the file");
    path
}

fn script_text(lines: &[G]) -> String {
    lines.iter().map(|g| g.text() + "\n").collect()
}

/// What the file should hold: each byte known or not (`None`: a peer's counter, bytes a
/// truncate grew, which may be zeros or the old padding).
struct Known(Vec<Option<u8>>);

impl Known {
    fn apply(&mut self, offset: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            if let Some(slot) = self.0.get_mut(offset as usize + i) {
                *slot = Some(*b);
            }
        }
    }

    fn check(&self, now: &[u8]) -> Result<(), String> {
        if now.len() != self.0.len() {
            return Err(format!("size {} B, expected {} B", now.len(), self.0.len()));
        }
        match self
            .0
            .iter()
            .zip(now)
            .position(|(k, b)| k.is_some_and(|k| k != *b))
        {
            Some(i) => Err(format!(
                "byte {i:#x} is {:02x}, expected {:02x?}",
                now[i], self.0[i]
            )),
            None => Ok(()),
        }
    }
}

fn unhex(v: &serde_json::Value) -> Vec<u8> {
    let s = v.as_str().unwrap_or("");
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The effect on the file of a line that reported success, given what was shown before it.
fn take_in(known: &mut Known, g: &G, r: &serde_json::Value, (shared, child_shared): (bool, bool)) {
    match g {
        G::Write(..) | G::Undo | G::Redo if shared => {
            known.apply(r["offset"].as_u64().expect("offset"), &unhex(&r["new"]));
        }
        G::ChildWrite(o, b) if child_shared => known.apply(*o, b),
        G::Truncate(n) => {
            let old = known.0.len();
            known.0.resize(*n as usize, None);
            known.0.truncate(old.min(*n as usize));
            known.0.resize(*n as usize, None);
        }
        G::PeerStart(_) => {
            let at = r["file_offset"].as_u64().expect("file_offset") as usize;
            for slot in known.0.iter_mut().skip(at).take(8) {
                *slot = None;
            }
        }
        _ => {}
    }
}

/// Runs one case in-process: after every line, the file is as the rules say.
fn run_case(setup: &Setup, lines: &[G], never: bool) -> Result<(), TestCaseError> {
    let dir = common::temp_dir();
    let path = write_file(dir.path(), setup);
    let original = state(&path);
    let fail = |why: String| TestCaseError::fail(why);
    let mode = if setup.shared {
        MapMode::Shared
    } else {
        MapMode::Private
    };
    let req = MapRequest {
        len: setup.pages.map(|p| p * ps()),
        write: setup.write,
        ..MapRequest::file(&path, mode)
    };
    let region = Region::open(&req).map_err(|e| fail(format!("open: {e}")))?;
    let mut runner = Runner::new(Session::new(region, false, (120, 40)));
    runner.session.lab.helper = Some(BIN.into());
    if let Some(also) = setup.also {
        let m = if also {
            MapMode::Shared
        } else {
            MapMode::Private
        };
        runner
            .session
            .add_also(m)
            .map_err(|e| fail(format!("--also: {e}")))?;
    }
    let parsed =
        mmapscope::script::parse(&script_text(lines)).map_err(|e| fail(format!("parse: {e:?}")))?;
    let mut consent = setup.write;
    let mut known = Known(setup.content().into_iter().map(Some).collect());
    // The file offset of the counter of a peer started and not stopped.
    let mut peer: Option<u64> = None;
    for (g, line) in lines.iter().zip(&parsed) {
        let region = runner.session.region().expect("our mapping");
        let shared = region.mode() == MapMode::Shared;
        let child_shared = runner.session.lab.child_spec().is_some_and(|c| c.shared);
        let out = runner.step(line);
        let ok = out["ok"] == true;
        consent |= ok && g.consents() && shared;
        let now = state(&path);
        if !consent {
            if now != original {
                return Err(fail(format!(
                    "`{}` changed the file without consent: {out}",
                    g.text()
                )));
            }
            continue;
        }
        if ok {
            take_in(&mut known, g, &out["result"], (shared, child_shared));
            match g {
                G::PeerStart(_) => peer = out["result"]["file_offset"].as_u64(),
                G::PeerStop => peer = None,
                _ => {}
            }
        }
        // A running peer writes its counter every 150 ms, over whatever a line wrote there:
        // those bytes stay unknown while it runs (a write over them held only until its next
        // tick, so the check raced with the peer).
        if let Some(at) = peer {
            for slot in known.0.iter_mut().skip(at as usize).take(8) {
                *slot = None;
            }
        }
        known
            .check(&now.0)
            .map_err(|why| fail(format!("after `{}` ({out}): {why}", g.text())))?;
    }
    if never && consent {
        return Err(fail("consent came from nowhere".into()));
    }
    Ok(())
}

/// Runs the generated cases through `run`, reporting the shrunk script on failure.
fn check_cases(
    name: &str,
    strategy: impl Strategy<Value = (Setup, Vec<G>)>,
    default_cases: u32,
    run: impl Fn(&Setup, &[G]) -> Result<(), TestCaseError>,
) {
    let (config, cases, seed) = common::proptest_config(default_cases);
    let start = std::time::Instant::now();
    let result = TestRunner::new(config).run(&strategy, |(setup, lines)| run(&setup, &lines));
    match result {
        Ok(()) => eprintln!("{name}: {cases} cases in {:.1?}", start.elapsed()),
        Err(TestError::Fail(why, (setup, lines))) => panic!(
            "{why}\nreplay: PROPTEST_RNG_SEED={seed} MMAPSCOPE_PROPTEST_CASES={cases} cargo \
             test --test it gate::{name}\n\nminimal case: mmapscope batch {} FILE <<END\n{}END\n\
             ({setup:?})",
            setup.options(false).join(" "),
            script_text(&lines)
        ),
        Err(TestError::Abort(why)) => panic!("aborted: {why}"),
    }
}

#[test]
fn without_write_or_protect_rw_a_named_file_never_changes() {
    check_cases(
        "without_write_or_protect_rw_a_named_file_never_changes",
        case_strategy(false, false),
        256,
        |setup, lines| run_case(setup, lines, true),
    );
}

#[test]
fn a_named_file_changes_only_after_consent_and_as_the_writes_said() {
    check_cases(
        "a_named_file_changes_only_after_consent_and_as_the_writes_said",
        case_strategy(true, true),
        256,
        |setup, lines| run_case(setup, lines, false),
    );
}

/// As nobody (when root), through the binary: a file nobody may write, opened without
/// `--write`, is not changed by any generated script.
#[test]
fn as_nobody_through_the_binary_a_named_file_never_changes() {
    let test = "as_nobody_through_the_binary_a_named_file_never_changes";
    let dir = match common::temp_for_nobody() {
        Ok(d) => d,
        Err(why) => return common::skip(test, &why),
    };
    if let Err(why) = common::as_unprivileged(&[]) {
        return common::skip(test, &why);
    }
    let counter = std::sync::atomic::AtomicU32::new(0);
    check_cases(test, case_strategy(false, false), 24, |setup, lines| {
        use std::os::unix::fs::PermissionsExt as _;
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let case = dir.path().join(n.to_string());
        std::fs::create_dir(&case).expect("case dir");
        std::fs::set_permissions(&case, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let path = write_file(&case, setup);
        // Writable by nobody: the gate, not the file's mode, is what keeps it.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let script = case.join("script");
        std::fs::write(&script, script_text(lines)).expect("script");
        let before = state(&path);
        let mut args: Vec<std::ffi::OsString> = vec!["batch".into()];
        args.extend(setup.options(false).into_iter().map(Into::into));
        args.extend([path.clone().into_os_string(), script.into_os_string()]);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(AsRef::as_ref).collect();
        let out = common::run(common::as_unprivileged(&args).expect("nobody"));
        prop_assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            common::text(&out.stderr)
        );
        prop_assert_eq!(state(&path), before, "{}", common::text(&out.stdout));
        Ok(())
    });
}

/// A lesson whose lines changed its `# file:` says so in its risk list.
#[test]
fn a_lesson_that_changes_its_file_lists_the_risk() {
    let strategy = (
        setup_strategy(true),
        prop::collection::vec(line_strategy(true), 1..12),
    );
    check_cases(
        "a_lesson_that_changes_its_file_lists_the_risk",
        strategy,
        64,
        |setup, lines| {
            let dir = common::temp_dir();
            let path = write_file(dir.path(), setup);
            let text = format!(
                "# lesson: generated\n# options: {}\n# file: {}\nsay \"all of it\"\n{}",
                setup.options(true).join(" "),
                path.display(),
                script_text(lines)
            );
            let lesson_path = dir.path().join("g.lesson");
            std::fs::write(&lesson_path, &text).expect("lesson");
            let lesson = mmapscope::script::lesson::load(None, Some(&lesson_path))
                .expect("the lesson parses");
            let risks = mmapscope::script::lesson::risks(&lesson);
            let before = state(&path).0;
            let mut cmd = common::mmapscope(&["lesson", "--check", "--trust", "--file"]);
            cmd.arg(&lesson_path);
            let out = common::run(cmd);
            let changed = state(&path).0 != before;
            prop_assert!(
                !changed || risks.first().is_some_and(|r| r.contains("may write it")),
                "the file changed, and the risks said {risks:?}\n{}",
                common::text(&out.stdout)
            );
            Ok(())
        },
    );
}

/// The rows of the issue that wrote a file named without `--write`, run as they were found.
#[test]
fn the_paths_that_went_around_the_gate_are_refused() {
    let dir = common::temp_dir();
    let setup = Setup {
        size: 3 * ps() + 100,
        shared: true,
        write: false,
        also: None,
        pages: None,
    };
    let path = write_file(dir.path(), &setup);
    let before = state(&path);
    let cases: [(&[&str], &str); 4] = [
        (&["--also", "private"], "swap\ntruncate 100\n"),
        (
            &["--also", "private"],
            "swap\nwrite 0 41\nmode shared\nwrite 0 42\npeer start\n",
        ),
        (
            &["--private", "--also", "shared"],
            "swap\nwrite 0 41\nundo\n",
        ),
        (
            &["--private"],
            "protect rw\nmode shared\nwrite 0 41\ntruncate 5\n",
        ),
    ];
    for (args, script) in cases {
        let script_path = dir.path().join("s");
        std::fs::write(&script_path, script).expect("script");
        let mut all: Vec<&std::ffi::OsStr> = vec!["batch".as_ref()];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        all.extend([path.as_os_str(), script_path.as_os_str()]);
        let out = common::run(common::mmapscope(&all));
        let text = common::text(&out.stdout);
        assert_eq!(
            state(&path),
            before,
            "{args:?} {script:?} changed it:\n{text}"
        );
        assert!(
            text.contains("writing it was not allowed: start with --write"),
            "{text}"
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "an unexpected refusal fails the batch"
        );
    }
}

/// `child write` across the end of file is all or nothing, like `write`: nothing lands, and
/// the result says so (it used to leave the first byte in the file).
#[test]
fn a_child_write_across_end_of_file_writes_nothing() {
    let dir = common::temp_dir();
    let path = dir.path().join("one page");
    std::fs::write(&path, vec![b'a'; ps() as usize]).expect("file");
    let script = dir.path().join("s");
    std::fs::write(
        &script,
        "fork\nchild write 4094 ad e1 db 39\nchild read 4094 2\n",
    )
    .unwrap();
    let mut cmd = common::mmapscope(&["batch", "-w", "--len", "12288"]);
    cmd.args([&path, &script]);
    let out = common::run(cmd);
    let text = common::text(&out.stdout);
    assert!(text.contains("0 bytes landed"), "{text}");
    assert!(
        text.contains(r#""hex":"6161""#),
        "the child still sees aa: {text}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        vec![b'a'; ps() as usize]
    );
}

/// Below the exec layer's check (a page cut off between the check and the store): the
/// keeper puts back what landed.
#[test]
fn the_keeper_puts_back_a_short_write() {
    let dir = common::temp_dir();
    let path = dir.path().join("one page");
    std::fs::write(&path, vec![b'a'; ps() as usize]).expect("file");
    let req = MapRequest {
        len: Some(3 * ps()),
        write: true,
        ..MapRequest::file(&path, MapMode::Shared)
    };
    let region = Region::open(&req).expect("map");
    let mut keeper = region.fork_keeper().expect("fork");
    let err = keeper
        .write(ps() - 2, &[1, 2, 3, 4])
        .expect_err("page 1 lies beyond end of file");
    assert_eq!(err.errno, libc::EFAULT);
    assert!(err.explanation.contains("0 bytes landed"), "{err}");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        vec![b'a'; ps() as usize]
    );
    assert_eq!(keeper.read(ps() - 2, 2).expect("read"), b"aa");
    keeper.exit().expect("exit");
}

fn overlay_question(session: &Session) -> Option<String> {
    match &session.model.screen.overlay {
        mmapscope::model::Overlay::Confirm { question, .. } => Some(question.clone()),
        _ => None,
    }
}

/// Keys ask (the protection menu, the peer, a store through the other mapping of `--also`),
/// and no is no.
#[test]
fn keys_that_would_write_a_named_file_ask_first() {
    use mmapscope::action::{Action, AskAction, EditAction, LabAction, Op};
    use mmapscope::sys::Prot;
    let dir = common::temp_dir();
    let path = dir.path().join("f");
    std::fs::write(&path, vec![b'x'; 100]).expect("file");
    let before = state(&path);
    let open = |mode| Region::open(&MapRequest::file(&path, mode)).expect("map");

    // `p`, rw: a question; no leaves the mapping read-only.
    let mut s = Session::new(open(MapMode::Shared), false, (120, 40));
    s.act_live(Action::Do(Op::Protect(Prot::RW)));
    let q = overlay_question(&s).expect("protect rw asks");
    assert!(q.contains("PROT_WRITE") && q.contains("y/N"), "{q}");
    s.act_live(Action::Ask(AskAction::Confirm(None)));
    assert_eq!(s.region().expect("ours").prot(), Prot::R);
    // The peer writes the file too: it asks.
    s.act_live(Action::Lab(LabAction::Peer));
    let q = overlay_question(&s).expect("the peer asks");
    assert!(q.contains("peer"), "{q}");
    s.act_live(Action::Ask(AskAction::Confirm(Some(false))));
    assert!(s.lab.peer.is_none());
    // Yes to protect rw: writable, and the peer no longer asks (it would start).
    s.act_live(Action::Do(Op::Protect(Prot::RW)));
    s.act_live(Action::Ask(AskAction::Confirm(Some(true))));
    assert_eq!(s.region().expect("ours").prot(), Prot::RW);
    assert_eq!(state(&path), before, "making it writable wrote nothing");

    // `--private --also shared`, `o`, `i`, `5`: the store into the shared one asks.
    let mut s = Session::new(open(MapMode::Private), false, (120, 40));
    s.add_also(MapMode::Shared).expect("also");
    s.act_live(Action::Do(Op::Swap));
    assert_eq!(s.region().expect("ours").mode(), MapMode::Shared);
    s.act_live(Action::Edit(EditAction::Start));
    s.act_live(Action::Edit(EditAction::SwitchColumn));
    s.act_live(Action::Edit(EditAction::Char('a')));
    let q = overlay_question(&s).expect("a store into the shared mapping asks");
    assert!(q.contains("Writes go straight to"), "{q}");
    s.act_live(Action::Ask(AskAction::Confirm(None)));
    assert_eq!(state(&path), before);
}
