//! Bounded resources through the real binary and the session: populating, locking and
//! growing memory beyond a quarter of MemAvailable is refused with the numbers (and RLIMIT_MEMLOCK
//! as user nobody), `force` and `--force` let it through, and a report of 64 TiB of shared
//! anonymous memory returns at once.
//!
//! No test here commits a quarter of the machine: a refusal is checked with a size computed
//! from MemAvailable above the bound (refused before anything is faulted in); what is accepted
//! is small, or judged by a MemAvailable given to the mapping (`Region::judge_by`).

use std::ffi::OsStr;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use mmapscope::script;
use mmapscope::session::{Runner, Session};
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest};

use crate::common::pty;

use crate::common::*;

const GIB: u64 = 1 << 30;

/// MemAvailable now, in bytes.
fn mem_available() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    mmapscope::sys::proc::limits::field(&meminfo, "MemAvailable").expect("MemAvailable")
}

/// A size over the bound by a margin (the bound moves as the machine does): a quarter of
/// MemAvailable and 1 GiB, rounded up to a GiB, in the syntax of the command line. Small
/// enough that a regression committing it would not starve the machine.
fn over_the_bound() -> String {
    format!("{}G", (mem_available() / 4 + GIB).div_ceil(GIB))
}

/// The JSON lines of a batch run.
fn lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `mmapscope batch ARGS` with `script` on stdin (run as `cmd`).
fn batch_with(cmd: std::process::Command, script: &str) -> Output {
    run_with_stdin(cmd, script)
}

fn batch(args: &[&str], script: &str) -> Output {
    let mut all = vec!["batch"];
    all.extend(args);
    all.push("-");
    batch_with(mmapscope(&all), script)
}

fn error_of(line: &Value) -> &str {
    line["error"].as_str().unwrap_or_default()
}

/// Each of `words` is in `text`.
fn says(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "{w:?} in: {text}");
    }
}

#[test]
fn populate_and_map_locked_beyond_a_quarter_of_mem_available_are_refused() {
    let test = "populate_and_map_locked_beyond_a_quarter_of_mem_available_are_refused";
    let size = over_the_bound();
    let start = Instant::now();
    let inspect =
        |flag| under_a_data_limit(&["inspect", "--json", "--anon", &size, "--private", flag]);
    let Some(cmd) = inspect("--populate") else {
        return skip(test, "prlimit(1) (util-linux) is not installed");
    };
    let out = run(cmd);
    let line = fails_cleanly(&out, Some("ENOMEM"), &["mmap MAP_POPULATE"]);
    says(
        &line,
        &[
            "fault in",
            "more than a quarter of MemAvailable",
            "a quarter is",
            "add --force",
        ],
    );
    let out = run(inspect("--locked").expect("prlimit"));
    let line = fails_cleanly(&out, None, &["mmap MAP_LOCKED"]);
    if is_root() {
        says(&line, &["lock and fault in", "a quarter is", "--force"]);
    } else {
        says(&line, &["RLIMIT_MEMLOCK", "--force cannot lift it"]);
    }
    // Refused before the kernel was asked: nothing was faulted in meanwhile.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // What is under the bound maps, --force or not.
    for extra in [None, Some("--force")] {
        let mut args = vec![
            "inspect",
            "--json",
            "--anon",
            "64k",
            "--private",
            "--populate",
        ];
        args.extend(extra);
        let report = json_ok(&run(mmapscope(&args)));
        assert_eq!(report["summary"]["present"], 16, "{report}");
    }
}

/// `mmapscope ARGS` under RLIMIT_DATA of 1 GiB (`prlimit --data`): should the bound ever let
/// a commit of more than the machine through, the kernel refuses the private writable memory
/// at mmap or mremap instead of the machine running out of memory (a test must never risk it).
fn under_a_data_limit(args: &[&str]) -> Option<std::process::Command> {
    let mut cmd = std::process::Command::new(tool("prlimit")?);
    cmd.arg(format!("--data={GIB}"))
        .arg(BIN)
        .args(args)
        .current_dir("/");
    Some(cmd)
}

#[test]
fn more_than_the_machine_holds_is_refused_even_forced() {
    let test = "more_than_the_machine_holds_is_refused_even_forced";
    let Some(cmd) = under_a_data_limit(&[
        "inspect",
        "--json",
        "--anon",
        "64T",
        "--private",
        "--populate",
        "--force",
    ]) else {
        return skip(test, "prlimit(1) (util-linux) is not installed");
    };
    let line = fails_cleanly(&run(cmd), Some("ENOMEM"), &["mmap MAP_POPULATE"]);
    says(
        &line,
        &[
            "64 TiB",
            "memory and swap together",
            "--force cannot lift this",
        ],
    );
    if is_root() {
        let cmd = under_a_data_limit(&["batch", "--anon", "16k", "--private", "-"]).unwrap();
        let l = lines(&batch_with(
            cmd,
            "lock all\nforce resize 64T\nexpect error\n",
        ));
        says(
            error_of(&l[1]),
            &["mremap(MREMAP_MAYMOVE)", "memory and swap together"],
        );
    } else {
        skip(
            test,
            "not root: the forced growth is refused by RLIMIT_MEMLOCK first",
        );
    }
}

#[test]
fn lock_all_beyond_the_bound_is_refused_with_the_numbers_and_force_is_accepted() {
    let size = over_the_bound();
    let out = batch(
        &["--anon", &size, "--private"],
        "lock all\nexpect error\nforce lock page 3\nexpect vma locked == 4096\nunlock all\n",
    );
    let l = lines(&out);
    let err = error_of(&l[0]);
    if is_root() {
        says(
            err,
            &[
                "ENOMEM: mlock [all]",
                "it would lock",
                "MemAvailable (",
                "a quarter is",
                "`force lock all`",
                "--force",
            ],
        );
    } else {
        says(err, &["RLIMIT_MEMLOCK", "ulimit -l", "CAP_IPC_LOCK"]);
    }
    assert_eq!(l.len(), 5, "{l:#?}");
    assert_eq!(l[2]["ok"], true, "{}", l[2]);
    assert_eq!(l[2]["cmd"], "force lock page 3");
    assert_eq!(out.status.code(), Some(0), "{l:#?}");
}

#[test]
fn force_before_a_write_is_a_parse_error() {
    let out = batch(&["--anon", "16k"], "force write 0 41\n");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    says(&text(&out.stderr), &["only the memory bound"]);
}

#[test]
fn as_nobody_lock_all_of_a_big_mapping_names_rlimit_memlock_whatever_the_force() {
    let test = "as_nobody_lock_all_of_a_big_mapping_names_rlimit_memlock_whatever_the_force";
    let args: Vec<&OsStr> = ["batch", "--anon", "64M", "--private", "--force", "-"]
        .iter()
        .map(OsStr::new)
        .collect();
    let cmd = match as_unprivileged(&args) {
        Ok(c) => c,
        Err(why) => return skip(test, &why),
    };
    if !is_root()
        && rustix::process::getrlimit(rustix::process::Resource::Memlock)
            .current
            .is_none()
    {
        return skip(test, "RLIMIT_MEMLOCK is unlimited for this user");
    }
    let l = lines(&batch_with(cmd, "lock all\nexpect error\n"));
    says(
        error_of(&l[0]),
        &["RLIMIT_MEMLOCK is", "ulimit -l", "--force cannot lift it"],
    );
    assert_eq!(l[1]["ok"], true, "{}", l[1]);
}

#[test]
fn growing_a_locked_mapping_is_bounded_and_a_small_growth_says_it_was_locked() {
    let test = "growing_a_locked_mapping_is_bounded_and_a_small_growth_says_it_was_locked";
    if !is_root() {
        // Locking 1 MiB is within RLIMIT_MEMLOCK, but the refusal below is RLIMIT_MEMLOCK's.
        return skip(
            test,
            "not root: the growth is refused by RLIMIT_MEMLOCK first",
        );
    }
    let size = over_the_bound();
    let Some(cmd) = under_a_data_limit(&["batch", "--anon", "16k", "--private", "-"]) else {
        return skip(test, "prlimit(1) (util-linux) is not installed");
    };
    let out = batch_with(
        cmd,
        &format!(
            "lock all\nresize {size}\nexpect error\nresize 1M\nexpect vma locked == 1048576\n"
        ),
    );
    let l = lines(&out);
    assert_eq!(out.status.code(), Some(0), "{l:#?}");
    says(
        error_of(&l[1]),
        &[
            "mremap(MREMAP_MAYMOVE)",
            "the mapping is locked",
            "a quarter is",
            &format!("`force resize {size}`"),
        ],
    );
    let notes = l[3]["result"]["notes"].to_string();
    says(
        &notes,
        &["mremap locked its new part too", "Locked +1008 KiB"],
    );
    // Unlocked, the same growth of private anonymous memory commits nothing: no bound.
    let l = lines(&batch(
        &["--anon", "16k", "--private"],
        &format!("resize {size}\n"),
    ));
    assert_eq!(l[0]["ok"], true, "{}", l[0]);
}

/// A script runner over a session on `pages` of private anonymous memory whose bound is
/// judged by a MemAvailable of `avail` bytes.
fn judged_session(pages: u64, avail: u64, force: bool) -> Runner {
    let mut req = MapRequest::anon(pages * page_size(), MapMode::Private);
    req.place.force = force;
    let mut region = Region::open(&req).expect("map");
    region.judge_by(avail);
    Runner::new(Session::new(region, false, (120, 40)))
}

fn run_lines(runner: &mut Runner, text: &str) -> Vec<Result<(), String>> {
    script::parse(text)
        .expect("parses")
        .iter()
        .map(|l| runner.run_line(l).result.map(|_| ()))
        .collect()
}

#[test]
fn force_and_dash_dash_force_let_the_session_past_the_bound() {
    // 64 pages against a quarter of 32 pages: over the bound, yet small.
    let avail = 128 * page_size();
    let mut s = judged_session(64, avail, false);
    let r = run_lines(
        &mut s,
        "lock all\nforce lock all\nexpect vma locked == 262144\n",
    );
    assert!(
        r[0].as_ref().is_err_and(|e| e.contains("a quarter is")),
        "{r:?}"
    );
    assert_eq!(r[1..], [Ok(()), Ok(())], "{r:?}");
    // The question, in the explorer: y forces the same call.
    let mut s = judged_session(64, avail, false);
    run_lines(&mut s, "lock all\n");
    assert!(matches!(
        s.session.model.overlay,
        mmapscope::model::Overlay::Confirm { .. }
    ));
    let outcomes = s
        .session
        .act(mmapscope::action::Action::Confirm(Some(true)));
    assert!(outcomes[0].result.is_ok(), "{:?}", outcomes[0]);
    // A refusal forced once does not force the next line.
    run_lines(&mut s, "unlock all\n");
    assert!(run_lines(&mut s, "lock all\n")[0].is_err());
    // --force: every line.
    let mut s = judged_session(64, avail, true);
    assert_eq!(
        run_lines(&mut s, "lock all\nunlock all\n"),
        [Ok(()), Ok(())]
    );
}

/// The run of the report's `pages` that holds page `page` (the runs are not expanded: a
/// 64 TiB mapping has 2^34 pages).
fn run_of(report: &Value, page: u64) -> &Value {
    report["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .find(|r| {
            let first = r["first"].as_u64().unwrap();
            (first..first + r["count"].as_u64().unwrap()).contains(&page)
        })
        .unwrap_or_else(|| panic!("no run holds page {page}: {report}"))
}

#[test]
fn a_64_tib_shared_anonymous_snapshot_returns_and_knows_its_object() {
    // The measure is `cargo bench --bench bounded`; this deadline is only a safety net.
    let deadline = Duration::from_secs(30);
    for args in [vec!["--anon", "16k"], vec!["--len", "16k", "/dev/zero"]] {
        let start = Instant::now();
        let out = batch(
            &args,
            "write 0x1000 41\nadvise dontneed page 1\nresize 64T\nsnapshot\nread 0x4000 1\n\
             expect error\n",
        );
        assert!(
            start.elapsed() < deadline,
            "{args:?}: {:?}",
            start.elapsed()
        );
        let l = lines(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {l:#?}");
        let report = &l[3]["result"];
        let total = (64u64 << 40) / page_size();
        assert_eq!(report["mapping"]["pages"], total);
        // Page 1: discarded from our page tables, still in the shmem object.
        assert_eq!(run_of(report, 1)["resident"], true, "{report}");
        assert_eq!(run_of(report, 1)["present"], false, "{report}");
        // Past the object (its 4 pages), nothing can be in memory.
        for p in [4, 5, total - 1] {
            assert_eq!(run_of(report, p)["resident"], false, "page {p}: {report}");
        }
        assert_eq!(report["sources"]["mincore"], "ok", "{}", report["sources"]);
        // Past the object every page is beyond its end, whatever the mapping's length.
        assert_eq!(run_of(report, 3)["beyond_eof"], false, "{report}");
        for p in [4, total - 1] {
            assert_eq!(run_of(report, p)["beyond_eof"], true, "page {p}: {report}");
        }
        assert_eq!(report["summary"]["beyond_eof"], total - 4, "{report}");
        says(error_of(&l[4]), &["past the shmem object"]);
    }
}

#[test]
fn a_grown_shared_anonymous_mapping_is_beyond_eof_past_its_object() {
    // The shmem object keeps the 8 KiB it was made with; mremap grows only the mapping, so
    // pages 2-3 are beyond its end: a load there raises SIGBUS.
    for args in [vec!["--anon", "8k"], vec!["--len", "8k", "/dev/zero"]] {
        let out = batch(
            &args,
            "write 0x1000 41\nresize 16k\nsnapshot\nexpect page 1 beyond_eof == false\n\
             expect page 2 beyond_eof == true\nexpect summary beyond_eof == 2\n\
             read 0x2000 1\nexpect error\ntouch page 3\nexpect error\n\
             write 0x2000 42\nexpect error\nread 0x1000 1\n",
        );
        let l = lines(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {l:#?}");
        let notes = l[1]["result"]["notes"].to_string();
        says(
            &notes,
            &["pages 2-3 are beyond the end of the shmem object"],
        );
        assert!(!notes.contains("??"), "{notes}");
        let report = &l[2]["result"];
        assert_eq!(run_of(report, 1)["beyond_eof"], false, "{report}");
        assert_eq!(run_of(report, 1)["present"], true, "{report}");
        assert_eq!(run_of(report, 2)["beyond_eof"], true, "{report}");
        assert_eq!(run_of(report, 2)["valid_bytes"], 0, "{report}");
        for i in [6, 8] {
            says(error_of(&l[i]), &["SIGBUS"]);
        }
        says(error_of(&l[10]), &["beyond"]);
        // The page before the end still reads, and the refused write landed nothing.
        assert_eq!(l[12]["result"]["hex"], "41", "{l:#?}");
    }
}

#[test]
fn the_lock_menu_over_the_bound_asks_and_enter_locks_nothing() {
    let size = over_the_bound();
    let test = "the_lock_menu_over_the_bound_asks_and_enter_locks_nothing";
    if !is_root() {
        return skip(
            test,
            "not root: RLIMIT_MEMLOCK refuses first, with nothing to force",
        );
    }
    let args: Vec<&OsStr> = ["--anon", size.as_str(), "--private"]
        .into_iter()
        .map(OsStr::new)
        .collect();
    let mut term = pty::Term::spawn(&args, &[], 80, 24);
    term.wait_for("the grid", |t| t.contains("page 0"));
    term.send("L");
    term.wait_for("the lock menu", |t| t.contains("mlock"));
    term.send("1");
    term.wait_for("the question", |t| {
        t.contains("a quarter is") && t.contains("Do it anyway?") && t.contains("y/N")
    });
    term.send("\r");
    term.wait_for("cancelled", |t| t.contains("cancelled"));
    term.quit_cleanly();
}
