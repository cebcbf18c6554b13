//! End-to-end runs of the real `mmapscope` binary in a pseudo-terminal.
//!
//! Each test spawns the binary on a fresh pty (portable-pty), feeds everything it writes to a
//! vt100 emulator on a reader thread, and polls the emulated screen with a deadline: no fixed
//! sleeps decide an outcome. The reader thread answers a cursor-position query (`ESC[6n`) the way
//! a real terminal would, in case crossterm sends one, and records every window title the
//! program tries to set.

use std::path::{Path, PathBuf};

use crate::common::pty;
use crate::common::pty::{Term, text_file as write_text};

use crate::common;
use crate::common::{assert_none_left, forking_snippet_runs, skip, wait_for_session};
use rustix::process::Signal;

fn page_size() -> usize {
    rustix::param::page_size()
}

/// Writes a file of 3 pages + 100 bytes of readable text (`head` first) into `dir`.
fn text_file(dir: &Path, name: &std::ffi::OsStr, head: &[u8]) -> PathBuf {
    let path = dir.join(name);
    write_text(&path, head);
    path
}

/// Every regular file below `dir` named `name`.
fn find_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        let ft = entry.file_type().expect("file type");
        if ft.is_dir() {
            found.extend(find_named(&path, name));
        } else if ft.is_file() && entry.file_name() == name {
            found.push(path);
        }
    }
    found
}

#[test]
fn demo_shows_everything_then_quits_and_restores_the_terminal() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let mut term = Term::spawn(&[], &[("TMPDIR", tmp.path())], 120, 40);
    term.wait_for_all(&[
        "MAP_SHARED",
        "rw-",
        "page 0",
        "/proc/self/maps",
        "smaps",
        "Rss",
        "Private_Dirty",
        "Anonymous",
        "demo.txt",
    ]);
    assert!(
        term.alternate_screen(),
        "the explorer draws on the alternate screen"
    );

    // `]` three times puts page 3's header line (with its padding words) at the top; `G` would
    // put the cursor on the last byte of the padding with the header scrolled away.
    term.send("]]]");
    term.wait_for_all(&["page 3 ·", "padding", "(page 3:"]);

    term.send("?");
    term.wait_for_all(&["Keys", "quit", "closes this help"]);
    // Any key closes the help ('x' rather than Esc, which a terminal cannot tell from Alt-).
    term.send("x");
    term.wait_for("the help overlay to close", |t| {
        !t.contains("closes this help")
    });

    let ps = page_size();
    let demos = find_named(tmp.path(), "demo.txt");
    assert_eq!(demos.len(), 1, "one demo file under TMPDIR: {demos:?}");
    let len = std::fs::metadata(&demos[0]).expect("demo file").len();
    assert_eq!(len, (3 * ps + 100) as u64, "demo file size");

    term.quit_cleanly();
    // What we made goes with us.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("read_dir").collect();
    assert!(left.is_empty(), "nothing left under TMPDIR: {left:?}");
}

#[test]
fn sigterm_restores_the_terminal() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "term.txt".as_ref(), b"sigterm test\n");
    let mut term = Term::spawn(&[file.as_os_str()], &[], 120, 40);
    term.wait_for_all(&["page 0", "term.txt"]);
    assert!(term.alternate_screen());

    // The pid of a child we spawned and have not reaped: it cannot have been reused.
    let pid = rustix::process::Pid::from_raw(term.pid()).expect("a live child's pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill(SIGTERM)");

    let status = term.wait_exit();
    assert!(
        status.signal().is_none(),
        "mmapscope died of a signal instead of restoring the terminal: {status:?}"
    );
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(
        !term.alternate_screen(),
        "the alternate screen is still active after SIGTERM"
    );
}

#[test]
fn tiny_terminal_asks_for_more_room_then_redraws_on_resize() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "tiny.txt".as_ref(), b"tiny terminal\n");
    let mut term = Term::spawn(&[file.as_os_str()], &[], 40, 10);
    // The message wraps at 40 columns: compare with the rows joined and spaces collapsed.
    term.wait_for("the 'needs at least 60x16' message", |t| {
        let flat = t.split_whitespace().collect::<Vec<_>>().join(" ");
        flat.contains("at least") && flat.contains("60x16")
    });
    assert!(!term.contents().contains("page 0"));

    term.wait_for_sigwinch_handler();
    term.resize(120, 40);
    term.wait_for_all(&["page 0", "MAP_SHARED", "/proc/self/maps"]);
    assert!(!term.contents().contains("at least"));

    term.quit_cleanly();
}

#[test]
fn escape_sequences_in_names_and_bytes_never_reach_the_terminal() {
    use std::os::unix::ffi::OsStrExt as _;
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let name = std::ffi::OsStr::from_bytes(b"evil\x1b]0;pwned\x07name.txt");
    // The first row of bytes holds an OSC title sequence, a colour change and a bell.
    let head = b"A\x1b]2;bytes-pwned\x07\x1b[31mZ\x07\n";
    let file = text_file(tmp.path(), name, head);
    let mut term = Term::spawn(&[file.as_os_str()], &[], 120, 40);

    term.wait_for_all(&["page 0", r"evil\x1b]0;pwned\x07name.txt"]);

    // The text column of the first row: 16 bytes (120 columns give 16 bytes a row), with every
    // non-printable byte as '.'.
    let text_col: String = head
        .iter()
        .chain(b"The quick brown fox")
        .take(16)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    assert_eq!(text_col, "A.]2;bytes-pwned");
    term.wait_for_all(&[&text_col, "41 1b 5d 32"]);

    let titles = term.titles();
    assert!(
        titles.iter().all(|t| !t.contains("pwned")),
        "a file name or file bytes changed the window title: {titles:?}"
    );
    assert!(
        titles.is_empty(),
        "mmapscope set a window title: {titles:?}"
    );

    term.quit_cleanly();
}

#[test]
fn goto_prompt_moves_the_cursor() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "goto.txt".as_ref(), b"goto test\n");
    let mut term = Term::spawn(&[file.as_os_str()], &[], 120, 40);
    term.wait_for_all(&["page 0", "cursor 0x0 "]);

    term.send(":");
    term.wait_for_all(&["goto (offset, @address, p N)"]);
    term.send("p 2\r");
    let ps = page_size();
    let page2 = format!("cursor 0x{:x} (page 2:", 2 * ps);
    term.wait_for_all(&[&page2, "page 2"]);

    term.send(":");
    term.wait_for_all(&["goto (offset, @address, p N)"]);
    term.send("0x1f00\r");
    let there = format!("cursor 0x1f00 (page {}:", 0x1f00 / ps);
    term.wait_for_all(&[&there]);

    term.quit_cleanly();
}

#[test]
fn a_state_search_lands_on_the_page_an_edit_dirtied() {
    // Under the target directory (ext4 here; on tmpfs every cached page counts as dirty),
    // written a page at a time and synced: clean, in single-page folios.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let path = tmp.path().join("dirty.txt");
    let ps = page_size();
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&path).expect("create");
        for page in 0..8 {
            let mut text = format!("page {page} ").into_bytes();
            text.resize(ps, b'.');
            f.write_all(&text).expect("write");
        }
        f.sync_all().expect("fsync");
    }
    let args = [std::ffi::OsStr::new("--write"), path.as_os_str()];
    let mut term = Term::spawn(&args, &[], 120, 40);
    term.wait_for_all(&["page 0", "cursor 0x0 "]);
    let page5 = format!("cursor 0x{:x} (page 5:", 5 * ps);
    // Writeback (or a `sync` anywhere) may clean the page before the search: then again.
    for _ in 0..3 {
        term.send(":");
        term.wait_for_all(&["goto (offset, @address, p N)"]);
        term.send("p 5\r");
        term.wait_for_all(&[&page5]);
        term.send("i");
        term.wait_for_all(&["edit mode"]);
        term.send("41\x1b");
        term.wait_for("the write and the end of edit mode", |t| {
            t.contains("<- 41") && t.contains("i edit")
        });
        term.send("g");
        term.wait_for_all(&["cursor 0x0 "]);
        term.send(":dirty\r");
        term.wait_for("the search to end", |t| {
            t.contains("page 5 is dirty") || t.contains("no page is dirty")
        });
        if term.contents().contains("page 5 is dirty") {
            term.wait_for_all(&[&page5]);
            term.quit_cleanly();
            return;
        }
    }
    panic!(
        "page 5 was cleaned before every search:\n{}",
        term.contents()
    );
}

#[test]
fn editing_a_byte_of_the_demo_then_msync_and_quit_changes_the_file() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let mut term = Term::spawn(&[], &[("TMPDIR", tmp.path())], 120, 40);
    term.wait_for_all(&["page 0", "demo.txt"]);
    // Edit mode, two hex digits: the first byte becomes 0x5a ('Z').
    term.send("i");
    term.wait_for_all(&["edit mode"]);
    term.send("5a");
    term.wait_for_all(&["write 0x0 <- 5a", "cursor 0x1"]);
    // Esc alone (a terminal cannot tell Esc-then-key from Alt-key), then msync.
    term.send("\x1b");
    term.wait_for("edit mode to end", |t| t.contains("i edit"));
    term.send("s");
    term.wait_for_all(&["MS_SYNC", "= 0"]);
    let demos = find_named(tmp.path(), "demo.txt");
    assert_eq!(demos.len(), 1, "{demos:?}");
    let bytes = std::fs::read(&demos[0]).expect("demo file");
    assert_eq!(bytes[0], b'Z', "the edit reached the file");
    assert_eq!(&bytes[1..4], b"== ", "nothing else changed");
    term.quit_cleanly();
    assert!(
        find_named(tmp.path(), "demo.txt").is_empty(),
        "the demo file is removed when mmapscope ends"
    );
}

#[test]
fn two_instances_on_one_shared_file_see_each_others_edits_live() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "shared.txt".as_ref(), b"0123456789");
    let mut watcher = Term::spawn(&[file.as_os_str()], &[], 120, 40);
    let mut editor = Term::spawn(&[file.as_os_str()], &[], 120, 40);
    watcher.wait_for_all(&["page 0", "0123456789"]);
    editor.wait_for_all(&["page 0", "0123456789"]);
    editor.send("i");
    editor.wait_for_all(&["edit mode"]);
    editor.send("\t"); // the text column
    // The file was named on the command line: it is mapped read-only, and the first edit asks.
    editor.send("H");
    editor.wait_for_all(&["Writes go straight to", "y/N"]);
    editor.send("y");
    editor.wait_for_all(&["H123456789", "rw-"]);
    editor.send("I");
    editor.wait_for_all(&["HI23456789"]);
    // The other instance sees the bytes at its next refresh (250 ms), highlighted and logged.
    watcher.wait_for_all(&["HI23456789", "changed by another process"]);
    editor.send("\x1b");
    editor.wait_for("edit mode to end", |t| t.contains("i edit"));
    editor.quit_cleanly();
    watcher.quit_cleanly();
}

/// A terminal's screen text with its rows joined and runs of blanks collapsed, so that a log
/// line wrapped over several rows can be searched.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Machine code that loops forever (`jmp .` / `b .`), for the machines we have it for.
fn endless_loop() -> Option<&'static [u8]> {
    match std::env::consts::ARCH {
        "x86_64" => Some(&[0xeb, 0xfe]),
        "aarch64" => Some(&[0x00, 0x00, 0x00, 0x14]),
        _ => None,
    }
}

#[test]
fn code_that_loops_runs_in_the_background_and_is_killed_at_the_deadline() {
    let test = "code_that_loops_runs_in_the_background_and_is_killed_at_the_deadline";
    let Some(code) = endless_loop() else {
        return skip(
            test,
            &format!("no endless-loop code for {}", std::env::consts::ARCH),
        );
    };
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "loop.bin".as_ref(), code);
    let mut term = Term::spawn(
        &[file.as_os_str(), "--prot".as_ref(), "rx".as_ref()],
        &[],
        120,
        40,
    );
    let sid = u32::try_from(term.pid()).expect("pid");
    term.wait_for_all(&["page 0", "r-x", "cursor 0x0 "]);

    term.send("x\r"); // x asks for A B; Enter: 0 0
    term.wait_for_all(&["running as pid"]);
    // A key while the child runs is handled at once: the cursor moves while the log still says
    // the child runs (a blocked loop would only move it after the outcome line).
    term.send("l");
    term.wait_for("the cursor to move while the child runs", |t| {
        t.contains("cursor 0x1 ") && t.contains("running as pid") && !t.contains("forked child ·")
    });

    term.wait_for_all(&["forked child · 2"]);
    // The log's full text: focus it (Tab: panel, Tab: log) so that long lines wrap.
    term.send("\t\t");
    term.wait_for("the timeout in the log", |t| {
        flat(t).contains("ran longer than 2 s: killed (with its process group)")
    });

    // Quitting while another call runs leaves nothing behind.
    term.send("\t");
    term.wait_for("the focus back on the grid", |t| !t.contains("log ("));
    term.send("h");
    term.wait_for_all(&["cursor 0x0 "]);
    term.send("x\r"); // x asks for A B; Enter: 0 0
    wait_for_session(sid, "a second child running", |live| live.len() >= 2);
    term.quit_cleanly();
    assert_none_left(sid, test);
}

#[test]
fn sigterm_while_code_forks_and_a_peer_runs_leaves_no_process() {
    let test = "sigterm_while_code_forks_and_a_peer_runs_leaves_no_process";
    if let Err(why) = forking_snippet_runs() {
        return skip(test, &why);
    }
    let tmp = tempfile::TempDir::new().expect("tempdir");
    // fork, then both sides loop.
    let code = [0xb8, 0x39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe];
    let file = text_file(tmp.path(), "fork.bin".as_ref(), &code);
    let mut term = Term::spawn(
        &[file.as_os_str(), "--prot".as_ref(), "rwx".as_ref()],
        &[],
        120,
        40,
    );
    let sid = u32::try_from(term.pid()).expect("pid");
    term.wait_for_all(&["page 0", "rwx"]);
    // The peer writes its counter on page 1, away from the code.
    term.send("]");
    term.wait_for_all(&["(page 1:"]);
    term.send("f");
    wait_for_session(sid, "the peer", |live| live.len() >= 2);
    term.send("g");
    term.wait_for_all(&["cursor 0x0 "]);
    term.send("x\r"); // x asks for A B; Enter: 0 0
    term.wait_for_all(&["running as pid"]);
    // mmapscope, the peer, the code child and its fork.
    wait_for_session(sid, "the peer, the code child and its fork", |live| {
        live.len() >= 4
    });
    term.signal(Signal::TERM);
    let status = term.wait_exit();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(!term.alternate_screen());
    assert_none_left(sid, test);
}

#[test]
fn sigtstp_and_ctrl_z_give_the_terminal_back_and_fg_redraws() {
    let test = "sigtstp_and_ctrl_z_give_the_terminal_back_and_fg_redraws";
    let Some(bash) = common::tool("bash") else {
        return skip(test, "bash is not installed");
    };
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "stop.txt".as_ref(), b"job control\n");
    // An interactive shell with job control starts mmapscope as a job of its own, as a user
    // would, and brings it back with `fg`.
    let mut term = Term::spawn_program(
        &bash,
        &["--norc".as_ref(), "--noprofile".as_ref(), "-i".as_ref()],
        &[("PS1", "jobs$ ".as_ref())],
        120,
        40,
    );
    let shell = u32::try_from(term.pid()).expect("pid");
    term.wait_for_all(&["jobs$"]);
    term.send(&format!(
        "{} {}\r",
        env!("CARGO_BIN_EXE_mmapscope"),
        file.display()
    ));
    term.wait_for_all(&["page 0", "MAP_SHARED", "cursor 0x0 "]);
    let ours = common::live_descendants(shell);
    let [tui] = ours.as_slice() else {
        panic!("one process under the shell: {ours:#?}");
    };
    let pid = rustix::process::Pid::from_raw(i32::try_from(tui.pid).expect("pid")).expect("pid");

    for how in ["SIGTSTP", "Ctrl-z"] {
        if how == "SIGTSTP" {
            rustix::process::kill_process(pid, Signal::TSTP).expect("kill(SIGTSTP)");
        } else {
            term.send("\x1a");
        }
        pty::wait_for_state(pid.as_raw_nonzero().get(), 'T');
        term.wait_for_screen(&format!("the shell's screen after {how}"), |s| {
            !s.alternate_screen() && !s.hide_cursor() && s.contents().contains("Stopped")
        });
        // Only what mmapscope draws after `fg` will show.
        term.forget_screen();
        term.send("fg\r");
        term.wait_for_all(&["page 0", "MAP_SHARED", "/proc/self/maps"]);
        assert!(
            term.alternate_screen(),
            "back on the alternate screen after {how}"
        );
        // Raw mode again: a key arrives without Enter.
        term.send("l");
        term.wait_for_all(&["cursor 0x1 "]);
        term.send("h");
        term.wait_for_all(&["cursor 0x0 "]);
    }
    term.send("q");
    term.wait_for_screen("the shell's prompt after q", |s| {
        !s.alternate_screen() && !s.hide_cursor() && s.contents().contains("jobs$")
    });
    term.send("exit\r");
    term.wait_exit();
    assert_none_left(shell, test);
}

#[test]
fn without_a_job_control_shell_ctrl_z_and_sigtstp_do_not_stop_it() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "nostop.txt".as_ref(), b"no job control\n");
    // Started straight in the pty, as by a terminal emulator: nobody could `fg` it.
    let mut term = Term::spawn(&[file.as_os_str()], &[], 120, 40);
    term.wait_for_all(&["page 0", "MAP_SHARED"]);
    term.send("\x1a");
    term.wait_for_all(&["not suspended: no job-control shell"]);
    term.send("l");
    term.wait_for_all(&["cursor 0x1 "]);
    term.signal(Signal::TSTP);
    // The log shows its last 3 lines at this size: both refusals.
    term.wait_for("the second refusal", |t| {
        t.matches("not suspended").count() == 2 && t.contains("cursor 0x1 ")
    });
    assert_ne!(pty::process_state(term.pid()), 'T');
    assert!(term.alternate_screen());
    term.quit_cleanly();
}

#[test]
fn looking_at_a_cached_file_maps_nothing_until_a_touch() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "look.txt".as_ref(), b"look, do not touch\n");
    let mut term = Term::spawn(&[file.as_os_str()], &[], 120, 40);
    // Just written: cached, not in our page tables, and its bytes on screen all the same.
    term.wait_for_all(&["(page 0: R -p", "look, do not tou"]);
    // Refreshes come every 250 ms: after several, looking still has mapped nothing.
    std::thread::sleep(std::time::Duration::from_millis(800));
    let screen = term.contents();
    assert!(screen.contains("(page 0: R -p"), "{screen}");
    let minimap = screen
        .lines()
        .find(|l| l.trim_start().starts_with("pages ▕"))
        .unwrap_or_default();
    assert!(
        minimap.contains('▏') && !minimap.contains('P'),
        "no page present: {screen}"
    );
    term.send("t");
    term.wait_for("the touch to map page 0", |t| t.contains("(page 0: R P"));
    term.quit_cleanly();
}

#[test]
fn sigquit_restores_the_terminal() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "quit.txt".as_ref(), b"sigquit test\n");
    let mut term = Term::spawn(&[file.as_os_str()], &[], 120, 40);
    term.wait_for_all(&["page 0", "quit.txt"]);
    term.wait_for_screen("the explorer to hide the cursor", |s| {
        s.alternate_screen() && s.hide_cursor()
    });
    term.signal(Signal::QUIT);
    let status = term.wait_exit();
    assert!(
        status.signal().is_none() && status.success(),
        "mmapscope died of SIGQUIT instead of restoring the terminal: {status:?}"
    );
    assert!(
        !term.alternate_screen(),
        "the alternate screen is still active after SIGQUIT"
    );
    assert!(
        term.cursor_visible(),
        "the cursor is still hidden after SIGQUIT"
    );
}

#[test]
fn the_watchdog_exit_restores_the_terminal_and_leaves_no_process() {
    let test = "the_watchdog_exit_restores_the_terminal_and_leaves_no_process";
    if let Err(why) = forking_snippet_runs() {
        return skip(test, &why);
    }
    let tmp = tempfile::TempDir::new().expect("tempdir");
    // A lesson step runs its lines to the end before the loop looks at signals again: here
    // an `exec` that forks and loops, which holds the loop for the 2 s deadline. A SIGTERM
    // meanwhile is the watchdog's (after 1 s), which exits without any destructor.
    let lesson = tmp.path().join("watchdog.lesson");
    std::fs::write(
        &lesson,
        "# lesson: watchdog\nsay \"fork and loop\"\nwrite 0 b8 39 00 00 00 0f 05 eb fe\n\
         protect rx\nexec 0\n",
    )
    .expect("write lesson");
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["lesson".as_ref(), "--file".as_ref(), lesson.as_os_str()];
    // Lessons from outside assets/lessons may need consent.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_mmapscope"))
        .args(["lesson", "--help"])
        .output()
        .expect("lesson --help");
    if String::from_utf8_lossy(&help.stdout).contains("--trust") {
        args.push("--trust".as_ref());
    }
    let mut term = Term::spawn(&args, &[], 120, 40);
    let sid = u32::try_from(term.pid()).expect("pid");
    term.wait_for_all(&["watchdog", "page 0"]);
    term.send("\x1b[C");
    // mmapscope, the code child and its fork.
    wait_for_session(sid, "the code child and its fork", |live| live.len() >= 3);
    term.wait_for_screen("the cursor hidden", |s| s.hide_cursor());
    term.signal(Signal::TERM);
    let status = term.wait_exit();
    assert!(status.success(), "exit status: {status:?}");
    assert!(
        !term.alternate_screen(),
        "the alternate screen is still active"
    );
    assert!(term.cursor_visible(), "the cursor is still hidden");
    assert_none_left(sid, test);
}

#[test]
fn ctrl_c_quits_from_edit_mode_even_with_a_half_typed_byte() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = text_file(tmp.path(), "ctrlc.txt".as_ref(), b"ctrl-c test\n");
    let before = std::fs::read(&file).expect("file");
    for column in ["", "\t"] {
        let mut term = Term::spawn(&[file.as_os_str()], &[], 120, 40);
        term.wait_for_all(&["page 0", "ctrlc.txt"]);
        term.send("i");
        term.wait_for_all(&["edit mode"]);
        term.send(column);
        // A half-typed byte (hex column) or nothing yet (text column), then Ctrl-c.
        term.send("4");
        term.send("\x03");
        let status = term.wait_exit();
        assert!(status.success(), "Ctrl-c quits: {status:?}");
        assert!(!term.alternate_screen(), "terminal restored");
    }
    assert!(
        std::fs::read(&file).expect("file") == before,
        "nothing was written (a named file is read-only; nothing was allowed)"
    );
}

#[test]
fn f_forks_a_child_that_keeps_the_page_until_we_write_and_quitting_reaps_it() {
    let test = "f_forks_a_child_that_keeps_the_page_until_we_write_and_quitting_reaps_it";
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let mut term = Term::spawn(&["--private".as_ref()], &[("TMPDIR", tmp.path())], 120, 40);
    let sid = u32::try_from(term.pid()).expect("pid");
    term.wait_for_all(&["page 0", "MAP_PRIVATE"]);
    // Our own copy of page 0 first (cow), then the fork.
    term.send("i");
    term.wait_for_all(&["edit mode"]);
    term.send("5a");
    term.wait_for_all(&["write 0x0 <- 5a"]);
    term.send("\x1b");
    term.wait_for("edit mode to end", |t| t.contains("i edit"));
    term.send("F");
    term.wait_for_all(&["fork: child pid", "fork()"]);
    wait_for_session(sid, "the child keeping the mapping", |live| live.len() >= 2);
    // Page 0 is shared with the child (K), and the screen reading it did not split it.
    term.wait_for("page 0 shared with the child", |t| {
        t.contains("(page 0: R P C") && t.contains(" K)")
    });
    // Our write copies it: the page is ours alone again (-k), the child keeps the old byte.
    term.send("g");
    term.send("i");
    term.wait_for_all(&["edit mode"]);
    term.send("41");
    term.wait_for_all(&["write 0x0 <- 41"]);
    term.wait_for("page 0 split off", |t| t.contains(" -k)"));
    term.send("\x1b");
    term.wait_for("edit mode to end", |t| t.contains("i edit"));
    term.send("g");
    term.send("F");
    term.wait_for_all(&["the child (fork)", "the child reads 16 bytes here"]);
    term.send("2");
    term.wait_for("the child's read in the log", |t| {
        t.contains("the child sees 5a")
    });
    // Quitting (the private edits ask first) reaps the child.
    term.send("q");
    term.wait_for_all(&["Quit?"]);
    term.send("y");
    let status = term.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert!(!term.alternate_screen());
    assert_none_left(sid, test);
}

#[test]
fn attach_to_a_process_pick_its_file_in_the_address_space_view_and_open_it() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = common::clean_file(dir.path(), 16);
    let writer = common::Writer::start(&file, 3);
    let pid = writer.pid.to_string();
    let mut term = Term::spawn(&["--pid".as_ref(), pid.as_ref()], &[], 120, 40);
    // Without --vma the explorer opens on the address-space view, the heap selected.
    term.wait_for_all(&["address space", &format!("pid {pid}"), "data.bin", "[heap]"]);
    let selected_line = |t: &str| {
        t.lines()
            .find(|l| l.contains('▶'))
            .unwrap_or_default()
            .to_string()
    };
    let mut presses = 0;
    while !selected_line(&term.contents()).contains("data.bin") {
        assert!(
            presses < 60,
            "data.bin is never selected: {}",
            term.contents()
        );
        let before = selected_line(&term.contents());
        term.send("j");
        term.wait_for("the selection to move", |t| selected_line(t) != before);
        presses += 1;
    }
    term.send("\r");
    term.wait_for("the file's VMA to open", |t| {
        let header = t.lines().next().unwrap_or_default();
        header.contains("data.bin")
            && header.contains(&format!("pid {pid}"))
            && !t.contains("address space ·")
    });
    term.wait_for_all(&[
        &format!("/proc/{pid}/maps"),
        "smaps of this VMA",
        "MAP_SHARED",
    ]);
    // `: dirty` lands on a page the writer stored into (the file was clean before it ran).
    term.send(":dirty\r");
    term.wait_for("the search to end", |t| {
        t.contains(" is dirty") || t.contains("no page is dirty")
    });
    let text = term.contents();
    let landed = text
        .split("page ")
        .filter_map(|rest| rest.strip_suffix_once(" is dirty"))
        .last();
    match landed {
        Some(page) => {
            assert!(
                writer.pages.contains(&page),
                "landed on page {page}, the writer wrote {:?}:\n{text}",
                writer.pages
            );
            let cursor = format!("cursor 0x{:x} (page {page}:", page * page_size() as u64);
            term.wait_for_all(&[&cursor]);
        }
        None => {
            // Writeback cleaned them first: then the page cache must agree.
            let f = std::fs::File::open(&file).expect("open");
            let dirty = mmapscope::sys::map::region::cachestat(&f, 0, 16 * page_size() as u64)
                .expect("cachestat")
                .nr_dirty;
            assert_eq!(dirty, 0, "the search found no dirty page:\n{text}");
            eprintln!("note: writeback cleaned the writer's pages before `: dirty` ran");
        }
    }
    term.quit_cleanly();
    drop(writer);
}

/// `text` up to the first `suffix`, when the number before it parses.
trait StripOnce {
    fn strip_suffix_once(&self, suffix: &str) -> Option<u64>;
}

impl StripOnce for str {
    fn strip_suffix_once(&self, suffix: &str) -> Option<u64> {
        self.split_once(suffix)?.0.trim().parse().ok()
    }
}

#[test]
fn also_private_a_shared_write_shows_in_both_a_private_one_only_there() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let path = text_file(tmp.path(), "two.txt".as_ref(), b"hello world\n");
    let args = [
        std::ffi::OsStr::new("--also"),
        "private".as_ref(),
        "--write".as_ref(),
        path.as_os_str(),
    ];
    let mut term = Term::spawn(&args, &[], 120, 40);
    term.wait_for_all(&["also: MAP_PRIVATE", "hello world", "smaps", "grid shared"]);
    // The grid's (shared) first byte: both show it.
    term.send("i");
    term.wait_for_all(&["edit mode"]);
    term.send("4a\x1b");
    term.wait_for("the write shown on both sides", |t| {
        t.matches("Jello world").count() >= 2 && t.contains("i edit")
    });
    // The private one takes the grid; its first byte: only there.
    term.send("o");
    term.wait_for_all(&["also: MAP_SHARED", "grid private"]);
    term.send("g");
    term.wait_for_all(&["cursor 0x0 "]);
    term.send("i");
    term.wait_for_all(&["edit mode"]);
    term.send("59\x1b");
    term.wait_for("the private copy to diverge", |t| {
        t.contains("Yello world") && t.contains("Jello world") && t.contains("≠1")
    });
    // Quitting asks first: the private byte would be lost.
    term.send("q");
    term.wait_for_all(&["Quit? 1 byte(s) you wrote in private copy-on-write pages"]);
    term.send("y");
    assert!(term.wait_exit().success());
    let on_disk = std::fs::read(&path).expect("read");
    assert!(
        on_disk.starts_with(b"Jello"),
        "the private write never reached the file"
    );
}

#[test]
fn with_pid_and_write_every_store_undo_included_asks_first() {
    use std::os::unix::fs::FileExt as _;
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = common::clean_file(dir.path(), 4);
    let writer = common::Writer::start(&file, 1);
    let pid = writer.pid.to_string();
    let args: [&std::ffi::OsStr; 5] = [
        "--pid".as_ref(),
        pid.as_ref(),
        "--vma".as_ref(),
        file.as_os_str(),
        "--write".as_ref(),
    ];
    let mut term = Term::spawn(&args, &[], 120, 40);
    term.wait_for_all(&[&format!("pid {pid}"), "data.bin", "MAP_SHARED"]);
    let byte0 = || {
        let mut b = [0u8; 1];
        std::fs::File::open(&file)
            .expect("open")
            .read_exact_at(&mut b, 0)
            .expect("read");
        b[0]
    };
    let orig = byte0();
    let undo_question = format!("Write {orig:02x}");
    term.send("i");
    term.wait_for_all(&["edit mode"]);
    term.send("\t");
    term.send("Z");
    term.wait_for_all(&["Write 5a", &format!("pid {pid}"), "y/N"]);
    term.send("y");
    term.wait_for("the store", |t| t.contains("Z....") && !t.contains("y/N"));
    assert_eq!(byte0(), b'Z', "{}", term.contents());
    term.send("\x1b");
    term.wait_for("edit mode to end", |t| t.contains("i edit"));
    // Undo is a write into the process too: asked, and no is no.
    term.send("u");
    term.wait_for_all(&[&undo_question, "y/N"]);
    term.send("n");
    term.wait_for_all(&["cancelled"]);
    assert_eq!(byte0(), b'Z');
    term.send("u");
    term.wait_for_all(&[&undo_question, "y/N"]);
    term.send("y");
    term.wait_for("the undo", |t| t.contains("undo:") && !t.contains("y/N"));
    assert_eq!(byte0(), orig);
    term.quit_cleanly();
}

/// CPU time (user + system) the process has used, in clock ticks.
fn cpu_ticks(pid: libc::pid_t) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // After the command name in parentheses: fields 3 on; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
}

/// The share of one core the process used over `span` (a check that nothing is still
/// running, not a benchmark).
fn cpu_share(pid: libc::pid_t, span: std::time::Duration) -> f64 {
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let before = cpu_ticks(pid);
    std::thread::sleep(span);
    (cpu_ticks(pid) - before) as f64 / hz / span.as_secs_f64()
}

/// The issue's case: `--anon 64T --private`, `: cow` then `: dirty`. Each is answered from
/// the page tables (nothing was touched) within moments, and mmapscope idles after.
#[test]
fn state_searches_over_64_tib_of_private_memory_end_at_once() {
    let args = ["--anon", "64T", "--private"].map(std::ffi::OsStr::new);
    let mut term = Term::spawn(&args, &[], 80, 24);
    term.wait_for_all(&["page 0", "17,179,869,184"]);
    term.send(":cow\r");
    term.wait_for_all(&[": cow: no page is cow · 17,179,869,184 pages"]);
    term.send(":dirty\r");
    term.wait_for_all(&[": dirty: no page is dirty · 17,179,869,184 pages"]);
    let share = cpu_share(term.pid(), std::time::Duration::from_secs(2));
    assert!(share < 0.5, "{share:.2} of a core after the searches ended");
    term.quit_cleanly();
}

/// Searches that are probed page by page (a private mapping of a 1 TiB sparse file: its pages
/// may be private copies, so cachestat cannot clear ranges) run for many slices: the first
/// one's progress is on the screen at 80x24, a second one replaces it (its label and progress
/// shown in the one row the log has at this size), Esc ends the second within a second (its
/// end logged), and mmapscope is idle afterwards.
#[test]
fn a_second_search_replaces_the_first_and_esc_ends_it() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let path = tmp.path().join("sparse");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(1 << 40))
        .expect("a sparse file");
    let args = [std::ffi::OsStr::new("--private"), path.as_os_str()];
    let mut term = Term::spawn(&args, &[], 80, 24);
    term.wait_for_all(&["page 0"]);
    term.send(":resident\r");
    term.wait_for("the first search's progress", |t| {
        t.contains(" searching : resident: ") && t.contains(" of 268,435,456 pages) · Esc stops")
    });
    term.send("/41\r");
    term.wait_for(
        "the second search's progress in place of the first's",
        |t| {
            t.contains(" searching / 41: ")
                && t.contains(" of 268,435,456 pages) · Esc stops")
                && !t.contains("searching : resident")
        },
    );
    let esc = std::time::Instant::now();
    term.send("\x1b");
    term.wait_for("Esc to end the search", |t| {
        t.contains("/ 41: cancelled") && !t.contains("searching")
    });
    assert!(
        esc.elapsed() < std::time::Duration::from_secs(1),
        "Esc took {:?}",
        esc.elapsed()
    );
    let share = cpu_share(term.pid(), std::time::Duration::from_secs(2));
    assert!(share < 0.5, "{share:.2} of a core after Esc");
    term.quit_cleanly();
}

/// Quits with `q`, answering yes if it asks first (private edits would be lost).
fn quit_answering_yes(term: &mut Term) {
    term.send("q");
    term.wait_for("quit, or its question", |t| {
        t.contains("Quit?") || t.is_empty()
    });
    if term.contents().contains("Quit?") {
        term.send("y");
    }
    let status = term.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert!(!term.alternate_screen());
}

/// The private lesson at 80x24: our own madvise(DONTNEED) brings the file's bytes back over
/// our copy; the log said "5 bytes on screen changed by another process" and highlighted
/// "demo ". The refresh after the call runs in the same step, so the frame that shows the
/// step's line shows that refresh's log.
#[test]
fn the_private_lesson_s_dontneed_is_not_blamed_on_another_process() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let mut term = Term::spawn(
        &["lesson".as_ref(), "private".as_ref()],
        &[("TMPDIR", tmp.path())],
        80,
        24,
    );
    term.wait_for_all(&["lesson private", "MAP_PRIVATE"]);
    let mut steps = 0;
    while !term.contents().contains("advise dontneed page 1") {
        steps += 1;
        assert!(steps <= 20, "no DONTNEED step: {}", term.contents());
        let title = format!("step {steps}/");
        term.send(" ");
        term.wait_for(&title, |t| t.contains(&title));
    }
    term.wait_for_all(&["✓ advise dontneed page 1", "MADV_DONTNEED"]);
    let screen = term.contents();
    assert!(!screen.contains("another process"), "{screen}");
    // The next step reads 0x1004 again after more refreshes: still nobody else.
    let title = format!("step {}/", steps + 1);
    term.send(" ");
    term.wait_for(&title, |t| t.contains(&title));
    term.wait_for_all(&["read 0x1004"]);
    let screen = term.contents();
    assert!(!screen.contains("another process"), "{screen}");
    quit_answering_yes(&mut term);
}

/// `--len 16k /dev/zero` is mapped rw-s: the log says writable and what a store reaches
/// (it said "mapped read-only: ... a file you name opens read-only"), and a write goes
/// through without a question.
#[test]
fn dev_zero_shared_says_writable_and_a_write_needs_no_question() {
    let mut term = Term::spawn(
        &["--len".as_ref(), "16k".as_ref(), "/dev/zero".as_ref()],
        &[],
        80,
        24,
    );
    term.wait_for_all(&["MAP_SHARED rw-", "mapped rw-: shared memory with no file"]);
    let screen = term.contents();
    assert!(!screen.contains("read-only"), "{screen}");
    term.send("i");
    term.wait_for_all(&["edit mode"]);
    term.send("41");
    term.wait_for_all(&["write 0x0 <- 41"]);
    let screen = term.contents();
    assert!(
        !screen.contains("y/N") && !screen.contains("read-only"),
        "{screen}"
    );
    term.send("\x1b");
    term.wait_for("edit mode to end", |t| t.contains("i edit"));
    term.quit_cleanly();
}

/// Exploring ld.so from the demo at 80x24 and coming back: another mapping each time, not a
/// file that grew ("12,388 B -> 215,000 B ... a hole") or shrank.
#[test]
fn exploring_ld_so_from_the_demo_and_back_logs_no_growth() {
    let test = "exploring_ld_so_from_the_demo_and_back_logs_no_growth";
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let mut term = Term::spawn(&[], &[("TMPDIR", tmp.path())], 80, 24);
    term.wait_for_all(&["demo.txt", "/proc/self/maps"]);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", term.pid())).expect("maps");
    let loader = maps.lines().position(|l| {
        l.rsplit('/')
            .next()
            .is_some_and(|name| name.starts_with("ld-") && name.contains(".so"))
    });
    let Some(index) = loader else {
        skip(
            test,
            "the binary has no dynamic loader mapped (static build)",
        );
        term.quit_cleanly();
        return;
    };
    // Tab focuses the maps panel, whose top line is the one Enter explores.
    term.send("\t");
    term.wait_for_all(&["Enter explore VMA"]);
    term.send(&"\x1b[B".repeat(index));
    term.wait_for("the loader's line at the panel's top", |t| {
        t.lines()
            .find(|l| l.contains("/proc/self/maps"))
            .and_then(|_| {
                t.lines()
                    .skip_while(|l| !l.contains("/proc/self/maps"))
                    .nth(1)
            })
            .is_some_and(|l| l.contains(" ld-"))
    });
    term.send("\r");
    term.wait_for("the loader's size in the header", |t| {
        t.lines()
            .next()
            // At 80 columns the loader's name gives way before its size: `…x86-64.so.2`.
            .is_some_and(|l| l.contains(".so") && l.contains(" B "))
    });
    term.send("\x7f");
    term.wait_for("the demo file's header again", |t| {
        t.lines()
            .next()
            .is_some_and(|l| l.contains("demo.txt") && l.contains("12,388 B"))
    });
    // The whole log, expanded: Tab from the panel focuses it.
    term.send("\t");
    term.wait_for_all(&["log (", "exploring", "back to our mapping"]);
    let screen = term.contents();
    assert!(
        !screen.contains("grew") && !screen.contains("shrank"),
        "{screen}"
    );
    term.quit_cleanly();
}

/// A file another process appends to with write(2): the grid shows the appended bytes, and
/// the log says so (it said "a hole that reads as zeros").
#[test]
fn bytes_another_process_appended_are_not_called_a_hole() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = tmp.path().join("grow.txt");
    std::fs::write(&file, b"sixteen bytes..\n").expect("write file");
    let mut term = Term::spawn(
        &["--len".as_ref(), "16k".as_ref(), file.as_os_str()],
        &[],
        80,
        24,
    );
    term.wait_for_all(&["grow.txt", "sixteen "]);
    // This test is the other process: write(2) at the end, as a logger or SQLite does.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .expect("open to append");
    std::io::Write::write_all(&mut f, b"APPENDED by another process").expect("append");
    drop(f);
    term.wait_for("the growth in the log", |t| t.contains("the file grew"));
    term.wait_for_all(&["APPENDED"]);
    // The whole log: Tab twice (the maps panel, then the log).
    term.send("\t\t");
    term.wait_for("the whole log", |t| {
        t.contains("log (") && t.contains("another process wrote")
    });
    let screen = term.contents();
    assert!(!screen.contains("hole"), "{screen}");
    term.quit_cleanly();
}
