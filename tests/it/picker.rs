//! `--pid NAME` in a terminal and `--pick`: one process of that name is attached at once;
//! several open the process picker filtered on the name (a pty, as a user sees it), Enter on
//! one attaches to it; without a terminal the matches are listed and the run exits 2. The
//! processes are copies of `sleep` under a name no other process has.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{self, mmapscope, pty, run};

/// Copies of `sleep` killed and reaped when the test ends, however it ends.
struct Sleepers(Vec<std::process::Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Sleepers {
    /// Starts one more copy of `exe` (`exe 60`), and waits until it has exec'd (its command
    /// name is the copy's); returns its pid.
    fn start(&mut self, exe: &Path, name: &str) -> u32 {
        let child = std::process::Command::new(exe)
            .arg("60")
            .spawn()
            .expect("start the copy of sleep");
        let pid = child.id();
        self.0.push(child);
        let comm = format!("/proc/{pid}/comm");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&comm).map_or(true, |c| c.trim() != name) {
            assert!(Instant::now() < deadline, "the child never ran");
            std::thread::sleep(Duration::from_millis(10));
        }
        pid
    }
}

/// A name no other process has (15 bytes at most: the kernel's command name keeps no more),
/// and a copy of sleep under it.
fn named_sleep(dir: &Path, tag: &str) -> (String, std::path::PathBuf) {
    let name = format!("msc-{tag}-{}", std::process::id() % 100_000);
    let exe = dir.join(&name);
    std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
    (name, exe)
}

/// The explorer's header names the pid it attached to; it opens on the address-space view.
fn attached_to(term: &mut pty::Term, pid: u32) {
    term.wait_for("the explorer attached, its header naming the pid", |t| {
        t.lines()
            .next()
            .is_some_and(|h| h.contains(&format!("pid {pid} ")))
            && t.contains(&format!("address space · pid {pid} "))
    });
}

/// Closes the address-space view, then quits.
fn close_and_quit(term: &mut pty::Term) {
    term.send("q");
    term.wait_for("the grid again", |t| !t.contains("address space · pid"));
    term.quit_cleanly();
}

#[test]
fn one_process_of_the_name_is_attached_at_once() {
    let dir = common::temp_dir();
    let (name, exe) = named_sleep(dir.path(), "one");
    let mut kids = Sleepers(Vec::new());
    let pid = kids.start(&exe, &name);
    let mut term = pty::Term::spawn(&["--pid".as_ref(), name.as_ref()], &[], 80, 24);
    attached_to(&mut term, pid);
    assert!(
        !term.contents().contains("pick a process"),
        "no picker for one match"
    );
    close_and_quit(&mut term);
}

#[test]
fn several_open_the_picker_in_a_terminal_and_are_listed_without_one() {
    let dir = common::temp_dir();
    let (name, exe) = named_sleep(dir.path(), "two");
    let mut kids = Sleepers(Vec::new());
    let first = kids.start(&exe, &name);
    let second = kids.start(&exe, &name);

    // No terminal: the list, and exit 2.
    let listed = run(mmapscope(&["--pid", &name]));
    assert_eq!(listed.status.code(), Some(2));
    let err = common::text(&listed.stderr);
    assert!(err.contains("2 processes have this name"), "{err}");
    for pid in [first, second] {
        assert!(err.contains(&format!("{pid} ")), "{pid} listed:\n{err}");
    }

    // A terminal: the picker, filtered on the name, both listed with their command lines
    // (at 160 columns nothing of them is cut).
    let mut term = pty::Term::spawn(&["--pid".as_ref(), name.as_ref()], &[], 160, 24);
    term.wait_for("the picker with both processes", |t| {
        t.contains(&format!("2 processes are named {name}: pick one"))
            && [first, second].iter().all(|pid| {
                t.lines()
                    .any(|l| l.contains(&format!(" {pid} ")) && l.contains(&format!("{name} 60")))
            })
    });
    let screen = term.contents();
    assert!(screen.contains(&format!("filter: {name}")), "{screen}");
    assert!(screen.contains("2 of "), "{screen}");
    // Tab lists by pid: the first child first. Down selects the second; Enter attaches.
    term.send("\t");
    term.wait_for("by pid", |t| t.contains("by pid"));
    term.send("\x1b[B");
    term.send("\r");
    attached_to(&mut term, second);
    close_and_quit(&mut term);
}

#[test]
fn the_picker_filters_as_typed_and_esc_attaches_nothing() {
    let dir = common::temp_dir();
    let (name, exe) = named_sleep(dir.path(), "pick");
    let mut kids = Sleepers(Vec::new());
    let pid = kids.start(&exe, &name);
    let mut term = pty::Term::spawn(&["--pick".as_ref()], &[], 80, 24);
    term.wait_for("the picker", |t| t.contains("pick a process"));
    term.send(&name);
    term.wait_for("only the copy of sleep left", |t| {
        t.contains("1 of ") && t.contains(&format!(" {pid} "))
    });
    term.send("\x1b");
    let status = term.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(!term.alternate_screen(), "the terminal is restored");
}
