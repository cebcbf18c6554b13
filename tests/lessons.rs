//! Every shipped lesson is a test of the kernel behaviour it teaches: `mmapscope lesson NAME
//! --check` runs it headless and exits 1 if an `expect` fails. Here each one runs through the
//! real binary, and, when the tests run as root, once more as user nobody, where the only
//! `expect` lines allowed to be skipped are those on root-only fields (kpageflags, PFNs).

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Output};

use mmapscope::lesson::BUILTIN;
use mmapscope::session::ROOT_ONLY;

mod common;
use common::*;

/// Runs `cmd`, and fails with everything it printed unless it exited 0.
fn check_passes(cmd: Command, name: &str, who: &str) -> String {
    let out: Output = run(cmd);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "lesson {name} --check as {who} exited with {:?}\n--- stdout:\n{stdout}\n--- stderr:\n{}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        stdout.contains("lesson checked: every expect held"),
        "lesson {name} as {who}: no success line\n{stdout}"
    );
    stdout
}

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

/// Runs `sync` in a loop until dropped: writeback at any moment, as on a busy machine.
struct SyncLoop {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u32>>,
}

impl SyncLoop {
    fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                rustix::fs::sync();
                n += 1;
            }
            n
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the loop; returns how many syncs it ran.
    fn stop(mut self) -> u32 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .map_or(0, |t| t.join().expect("sync loop"))
    }
}

#[test]
fn every_shipped_lesson_passes_while_another_process_syncs_in_a_loop() {
    // Lessons must not depend on timing the kernel does not promise: a dirty page may be
    // written back at any moment (issue: the ipc lesson failed under `while true; do sync;
    // done`). Twice each, with writeback as frequent as it gets.
    let syncs = SyncLoop::start();
    for round in 0..2 {
        for (name, _) in BUILTIN {
            check_passes(
                mmapscope(&["lesson", name, "--check"]),
                name,
                &format!("ourselves during a sync loop (round {round})"),
            );
        }
    }
    let n = syncs.stop();
    assert!(n > 10, "the sync loop ran only {n} times");
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
