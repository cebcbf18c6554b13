//! The one exit registry (`sys::contain::exit`) on the real binary: a headless run killed by
//! SIGTERM or SIGINT while it holds children of every kind we track (the peer, the keeper of
//! `fork`) and, for a lesson, its temporary directory, ends by that signal and leaves no process
//! of its session alive and nothing in its TMPDIR. Each run starts in a session of its own
//! (setsid) so that an orphan it left would still be found.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::process::Signal;

use crate::common::*;

/// The lines each run holds its children with: the peer maps the file and writes a counter
/// (the batch is given --write; a lesson's own fresh file is writable), the keeper is a forked
/// copy of us; then a long sleep to be killed in.
const HOLD: &str = "peer start 0x40\nfork\nsleep 20000\n";

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read TMPDIR")
        .map(|e| e.expect("entry").path())
        .collect()
}

/// Starts `args` under setsid with TMPDIR set to `tmp`, waits until it and its two children
/// run (and it made `dirs` directories in `tmp`), sends it `signal`, and checks how it ended
/// and what it left. `Err(why)` when the test cannot run here.
fn kill_while_holding(
    args: &[&std::ffi::OsStr],
    (tmp, dirs): (&Path, usize),
    signal: Signal,
) -> Result<(), String> {
    let setsid = tool("setsid").ok_or("setsid(1) (util-linux) is not installed")?;
    let mut child = Command::new(setsid)
        .arg(BIN)
        .args(args)
        .current_dir("/")
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mmapscope");
    let sid = child.id();
    // mmapscope, the peer and the keeper.
    wait_for_session(sid, "the peer and the keeper", |live| live.len() >= 3);
    assert_eq!(entries(tmp).len(), dirs, "{:?}", entries(tmp));
    let pid = rustix::process::Pid::from_raw(i32::try_from(sid).expect("pid")).expect("pid");
    rustix::process::kill_process(pid, signal).expect("signal mmapscope");
    let status = child.wait().expect("wait");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(signal.as_raw()),
        "mmapscope ends by the signal, as by default: {status:?}"
    );
    assert_none_left(sid, &format!("{args:?} killed by {signal:?}"));
    let left = entries(tmp);
    assert!(left.is_empty(), "left in TMPDIR after {signal:?}: {left:?}");
    Ok(())
}

#[test]
fn a_killed_batch_leaves_no_child_and_no_temp_dir() {
    let test = "a_killed_batch_leaves_no_child_and_no_temp_dir";
    for signal in [Signal::TERM, Signal::INT] {
        let dir = temp_dir();
        let tmp = temp_dir();
        let file = fixture(dir.path());
        let script = script(dir.path(), HOLD);
        let args = [
            "batch".as_ref(),
            "--write".as_ref(),
            file.as_os_str(),
            script.as_os_str(),
        ];
        if let Err(why) = kill_while_holding(&args, (tmp.path(), 0), signal) {
            return skip(test, &why);
        }
    }
}

#[test]
fn a_killed_lesson_check_removes_its_directory_and_children() {
    let test = "a_killed_lesson_check_removes_its_directory_and_children";
    for signal in [Signal::TERM, Signal::INT] {
        let dir = temp_dir();
        let tmp = temp_dir();
        let lesson = dir.path().join("hold.lesson");
        std::fs::write(&lesson, format!("say \"hold\"\n{HOLD}")).expect("write the lesson");
        let args = [
            "lesson".as_ref(),
            "--file".as_ref(),
            lesson.as_os_str(),
            "--check".as_ref(),
            "--trust".as_ref(),
        ];
        // The lesson's directory (with its file) exists while it runs, and goes.
        if let Err(why) = kill_while_holding(&args, (tmp.path(), 1), signal) {
            return skip(test, &why);
        }
    }
}
