//! Regression tests on the real binary for what was once found unbounded: mapped code that loops
//! with SIGALRM ignored or blocked, code that forks, a batch killed while such code runs, and
//! `alloc` under an address-space limit. Each run starts in a session of its own (setsid), and
//! each test ends by checking that no process of that session is left alive: the code child
//! and what it forked keep the session even as orphans.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// Machine code that loops forever (`jmp .` / `b .`), for the machines we have it for.
fn endless_loop() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("eb fe"),
        "aarch64" => Some("00 00 00 14"),
        _ => None,
    }
}

/// x86_64: `mov eax, 57 (fork); syscall; test eax, eax; je +2; ud2; jmp .`: the child of the
/// fork loops, the caller dies of SIGILL.
const FORK_THEN_SIGILL: &str = "b8 39 00 00 00 0f 05 85 c0 74 02 0f 0b eb fe";
/// x86_64: `mov eax, 57 (fork); syscall; jmp .`: both loop.
const FORK_THEN_BOTH_LOOP: &str = "b8 39 00 00 00 0f 05 eb fe";

/// `setsid` (util-linux), or why the test cannot run.
fn setsid() -> Result<PathBuf, String> {
    tool("setsid").ok_or_else(|| "setsid(1) (util-linux) is not installed".to_string())
}

/// `batch --anon 4k SCRIPT` in a session of its own, started through `wrapper` (a program and
/// its arguments, which end by exec'ing the rest of the command line).
fn batch_in_session(wrapper: &[&std::ffi::OsStr], script: &Path) -> Command {
    let (first, rest) = wrapper.split_first().expect("a wrapper");
    let mut cmd = Command::new(first);
    cmd.args(rest)
        .arg(BIN)
        .args(["batch", "--anon", "4k"])
        .arg(script)
        .current_dir("/")
        .env("RUST_BACKTRACE", "1");
    cmd
}

fn lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The JSON line of the script's line `n`.
fn line(lines: &[Value], n: u64) -> &Value {
    lines
        .iter()
        .find(|l| l["line"] == n)
        .unwrap_or_else(|| panic!("no output for line {n}: {lines:#?}"))
}

/// Checks the `exec` result of an endless loop: ok, timed out, killed by SIGKILL, after the 2 s
/// deadline and not much later.
fn assert_timed_out(exec: &Value) {
    assert_eq!(exec["ok"], true, "{exec}");
    let r = &exec["result"];
    assert_eq!(r["timed_out"], true, "{exec}");
    assert_eq!(r["signal"], "SIGKILL", "{exec}");
    let elapsed = r["elapsed_us"].as_u64().expect("elapsed_us");
    assert!(
        (2_000_000..6_000_000).contains(&elapsed),
        "killed at the 2 s deadline: {exec}"
    );
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("ran longer than 2 s: killed (with its process group)"),
        "{exec}"
    );
}

fn endless_loop_run(test: &str, wrapper: &[&std::ffi::OsStr]) {
    let Some(code) = endless_loop() else {
        return skip(
            test,
            &format!("no endless-loop code for {}", std::env::consts::ARCH),
        );
    };
    let dir = temp_dir();
    let script = script(
        dir.path(),
        &format!("write 0 {code}\nprotect rx\nexec 0\nread 0 1\n"),
    );
    let start = Instant::now();
    let (out, sid) = run_with_pid(batch_in_session(wrapper, &script));
    let lines = lines(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{lines:#?}\n{}",
        text(&out.stderr)
    );
    assert_timed_out(line(&lines, 3));
    assert_eq!(
        line(&lines, 4)["ok"],
        true,
        "the script goes on after the timeout"
    );
    assert!(start.elapsed() < Duration::from_secs(8));
    assert_none_left(sid, test);
}

#[test]
fn an_endless_loop_is_killed_at_the_deadline_with_sigalrm_ignored() {
    let test = "an_endless_loop_is_killed_at_the_deadline_with_sigalrm_ignored";
    let (Ok(setsid), Some(bash)) = (setsid(), tool("bash")) else {
        return skip(test, "setsid(1) or bash is not installed");
    };
    // An ignored signal stays ignored across exec: mmapscope starts with SIGALRM ignored.
    endless_loop_run(
        test,
        &[
            setsid.as_os_str(),
            bash.as_os_str(),
            "-c".as_ref(),
            r#"trap '' ALRM; exec "$0" "$@""#.as_ref(),
        ],
    );
}

#[test]
fn an_endless_loop_is_killed_at_the_deadline_with_sigalrm_blocked() {
    let test = "an_endless_loop_is_killed_at_the_deadline_with_sigalrm_blocked";
    let Some(python) = tool("python3") else {
        return skip(test, "python3 is not installed");
    };
    // A blocked signal stays blocked across exec (the mask is inherited).
    let block = "import os, signal, sys\n\
                 os.setsid()\n\
                 signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\n\
                 os.execv(sys.argv[1], sys.argv[1:])";
    endless_loop_run(test, &[python.as_os_str(), "-c".as_ref(), block.as_ref()]);
}

#[test]
fn what_the_code_forks_is_killed_with_its_process_group() {
    let test = "what_the_code_forks_is_killed_with_its_process_group";
    if let Err(why) = forking_snippet_runs() {
        return skip(test, &why);
    }
    let Ok(setsid) = setsid() else {
        return skip(test, "setsid(1) (util-linux) is not installed");
    };
    let dir = temp_dir();
    let script = script(
        dir.path(),
        &format!(
            "write 0 {FORK_THEN_SIGILL}\nwrite 0x100 {FORK_THEN_BOTH_LOOP}\nprotect rx\n\
             exec 0\nexec 0x100\n"
        ),
    );
    let start = Instant::now();
    let (out, sid) = run_with_pid(batch_in_session(&[setsid.as_os_str()], &script));
    let lines = lines(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{lines:#?}\n{}",
        text(&out.stderr)
    );

    // The caller died at once; its child, looping, held the result pipe open (the old code
    // blocked in read here forever) and is killed with the group.
    let sigill = line(&lines, 4);
    assert_eq!(sigill["ok"], true, "{sigill}");
    assert_eq!(sigill["result"]["signal"], "SIGILL", "{sigill}");
    assert!(
        sigill["result"]["elapsed_us"].as_u64().expect("elapsed") < 1_000_000,
        "no waiting for the grandchild: {sigill}"
    );
    assert!(
        sigill["result"]["notes"]
            .to_string()
            .contains("1 process it forked was still running: killed with its process group"),
        "{sigill}"
    );

    let both = line(&lines, 5);
    assert_timed_out(both);
    assert!(
        both["result"]["notes"]
            .to_string()
            .contains("1 process it forked"),
        "{both}"
    );
    assert!(start.elapsed() < Duration::from_secs(8));
    assert_none_left(sid, test);
}

/// Starts `batch` on a script whose `exec` forks and loops (both sides), waits until the code
/// child and its child run, then sends `signal` to mmapscope. Returns the session.
fn kill_batch_while_code_runs(signal: rustix::process::Signal) -> Result<u32, String> {
    forking_snippet_runs()?;
    let setsid = setsid()?;
    let dir = temp_dir();
    let script = script(
        dir.path(),
        &format!("write 0 {FORK_THEN_BOTH_LOOP}\nprotect rx\nexec 0\n"),
    );
    let mut child = batch_in_session(&[setsid.as_os_str()], &script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn batch");
    let sid = child.id();
    // mmapscope, its code child, and the code child's child.
    wait_for_session(sid, "the code child and its fork", |live| live.len() >= 3);
    let pid = rustix::process::Pid::from_raw(i32::try_from(sid).expect("pid")).expect("pid");
    rustix::process::kill_process(pid, signal).expect("kill mmapscope");
    let status = child.wait().expect("wait");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(signal.as_raw()),
        "mmapscope ends by the signal, as by default: {status:?}"
    );
    Ok(sid)
}

#[test]
fn a_batch_ended_by_sigterm_leaves_no_code_running() {
    let test = "a_batch_ended_by_sigterm_leaves_no_code_running";
    match kill_batch_while_code_runs(rustix::process::Signal::TERM) {
        Ok(sid) => assert_none_left(sid, test),
        Err(why) => skip(test, &why),
    }
}

#[test]
fn a_batch_killed_by_sigkill_leaves_no_spinning_code_for_long() {
    let test = "a_batch_killed_by_sigkill_leaves_no_spinning_code_for_long";
    match kill_batch_while_code_runs(rustix::process::Signal::KILL) {
        // No handler runs on SIGKILL: PR_SET_PDEATHSIG kills the code child, and the hard
        // RLIMIT_CPU (3 s) its fork inherited ends the fork, which nothing else reaches.
        Ok(sid) => {
            let start = Instant::now();
            while !live_in_session(sid).is_empty() && start.elapsed() < Duration::from_secs(6) {
                std::thread::sleep(Duration::from_millis(50));
            }
            assert_none_left(sid, test);
        }
        Err(why) => skip(test, &why),
    }
}

#[test]
fn alloc_beyond_the_address_space_limit_fails_with_enomem_instead_of_aborting() {
    let test = "alloc_beyond_the_address_space_limit_fails_with_enomem_instead_of_aborting";
    let Some(prlimit) = tool("prlimit") else {
        return skip(test, "prlimit(1) (util-linux) is not installed");
    };
    let dir = temp_dir();
    // One block too large, then blocks until the limit is near: each refused cleanly, and the
    // run goes on to the end.
    let mut body = String::from("alloc 1G\n");
    for _ in 0..8 {
        body.push_str("alloc 100M\n");
    }
    body.push_str("alloc 1k\nsnapshot\nfree\nalloc 1k\n");
    let script = script(dir.path(), &body);
    let mut cmd = Command::new(prlimit);
    cmd.arg("--as=600000000")
        .arg(BIN)
        .args(["batch", "--anon", "4k"])
        .arg(&script)
        .current_dir("/");
    let out = run(cmd);
    let lines = lines(&out);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit 1 (a command failed), not an abort: {lines:#?}\n{err}"
    );
    assert!(!err.contains("memory allocation"), "{err}");
    let first = line(&lines, 1);
    assert_eq!(first["ok"], false, "{first}");
    let msg = first["error"].as_str().expect("error");
    assert!(
        msg.starts_with("ENOMEM: malloc(1073741824): ") && msg.contains("RLIMIT_AS"),
        "{first}"
    );
    let refused = lines
        .iter()
        .filter(|l| l["cmd"] == "alloc 100M" && l["ok"] == false)
        .count();
    assert!(
        refused >= 3,
        "600 MB cannot hold 8 blocks of 100 MiB: {lines:#?}"
    );
    assert_eq!(
        lines.len(),
        body.lines().count(),
        "every line ran: {lines:#?}"
    );
    for n in [11, 12] {
        assert_eq!(line(&lines, n)["ok"], true, "{lines:#?}");
    }
}
