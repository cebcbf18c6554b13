//! End-to-end runs of the real `mmapscope` binary in a pseudo-terminal.
//!
//! Each test spawns the binary on a fresh pty (portable-pty), feeds everything it writes to a
//! vt100 emulator on a reader thread, and polls the emulated screen with a deadline: no fixed
//! sleeps decide an outcome. The reader thread answers a cursor-position query (`ESC[6n`) the way
//! a real terminal would, in case crossterm sends one, and records every window title the
//! program tries to set.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How long anything on screen (or an exit) may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);
/// How often the emulated screen is looked at while waiting.
const POLL: Duration = Duration::from_millis(20);

fn page_size() -> usize {
    rustix::param::page_size()
}

/// What the emulated terminal was asked to do besides drawing.
#[derive(Default)]
struct Callbacks {
    /// Every window title and icon name the program set (OSC 0, 1, 2).
    titles: Vec<Vec<u8>>,
    /// Cursor-position reports (`ESC[6n`) asked for and not answered yet.
    position_queries: usize,
}

impl vt100::Callbacks for Callbacks {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(title.to_vec());
    }

    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.titles.push(name.to_vec());
    }

    fn unhandled_csi(
        &mut self,
        _: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        if i1.is_none() && c == 'n' && params.first().and_then(|p| p.first()) == Some(&6) {
            self.position_queries += 1;
        }
    }
}

type Parser = vt100::Parser<Callbacks>;
type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

/// The binary running in a pty, with its emulated screen.
struct Term {
    parser: Arc<Mutex<Parser>>,
    writer: Writer,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn Child + Send + Sync>,
    reader: Option<JoinHandle<()>>,
    /// Set by the reader thread when the pty reports end of output (the child and every other
    /// holder of the slave side have closed it).
    eof: Arc<AtomicBool>,
    status: Option<ExitStatus>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide the screen from the next assertion.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Term {
    /// Starts the binary with `args` in a `cols` x `rows` pty, with `envs` added to the
    /// environment and TERM=xterm-256color.
    fn spawn(args: &[&std::ffi::OsStr], envs: &[(&str, &Path)], cols: u16, rows: u16) -> Term {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_mmapscope"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("RUST_BACKTRACE");
        cmd.env_remove("RUST_LIB_BACKTRACE");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.cwd(std::env::temp_dir());
        let child = pair
            .slave
            .spawn_command(cmd)
            .expect("spawn mmapscope in a pty");
        // Our copy of the slave side must go, or the reader never sees the end of output.
        drop(pair.slave);

        let parser = Arc::new(Mutex::new(Parser::new_with_callbacks(
            rows,
            cols,
            0,
            Callbacks::default(),
        )));
        let writer: Writer = Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let eof = Arc::new(AtomicBool::new(false));
        let handle = {
            let parser = Arc::clone(&parser);
            let writer = Arc::clone(&writer);
            let eof = Arc::clone(&eof);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            let replies: Vec<String> = {
                                let mut p = lock(&parser);
                                p.process(&buf[..n]);
                                let queries =
                                    std::mem::take(&mut p.callbacks_mut().position_queries);
                                let (row, col) = p.screen().cursor_position();
                                (0..queries)
                                    .map(|_| format!("\x1b[{};{}R", row + 1, col + 1))
                                    .collect()
                            };
                            for reply in replies {
                                let mut w = lock(&writer);
                                let _ = w.write_all(reply.as_bytes());
                                let _ = w.flush();
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        // EIO: the slave side is closed (the child exited).
                        Err(_) => break,
                    }
                }
                eof.store(true, Ordering::SeqCst);
            })
        };
        Term {
            parser,
            writer,
            master: pair.master,
            child,
            reader: Some(handle),
            eof,
            status: None,
        }
    }

    /// The screen's text, rows joined with newlines.
    fn contents(&self) -> String {
        lock(&self.parser).screen().contents()
    }

    /// Window titles and icon names set so far, as text.
    fn titles(&self) -> Vec<String> {
        lock(&self.parser)
            .callbacks()
            .titles
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect()
    }

    fn alternate_screen(&self) -> bool {
        lock(&self.parser).screen().alternate_screen()
    }

    /// Waits until `cond` holds for the screen's text; fails with the screen on timeout.
    fn wait_for(&mut self, what: &str, cond: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let text = self.contents();
            if cond(&text) {
                return;
            }
            if start.elapsed() > DEADLINE {
                let exited = self.child.try_wait().ok().flatten();
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}; child exit: {exited:?}\n\
                     --- screen ---\n{text}\n--------------"
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen shows every one of `needles`.
    fn wait_for_all(&mut self, needles: &[&str]) {
        let what = format!("{needles:?} on screen");
        self.wait_for(&what, |text| needles.iter().all(|n| text.contains(n)));
    }

    /// Types `text` into the terminal.
    fn send(&self, text: &str) {
        let mut w = lock(&self.writer);
        w.write_all(text.as_bytes()).expect("write to pty");
        w.flush().expect("flush pty");
    }

    /// Waits for the child to exit, then for the reader to drain everything it wrote.
    fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if start.elapsed() > DEADLINE {
                let text = self.contents();
                let _ = self.child.kill();
                panic!(
                    "mmapscope did not exit within {DEADLINE:?}\n--- screen ---\n{text}\n\
                     --------------"
                );
            }
            std::thread::sleep(POLL);
        };
        self.status = Some(status.clone());
        while !self.eof.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() <= DEADLINE * 2,
                "the pty never reported end of output after the child exited"
            );
            std::thread::sleep(POLL);
        }
        if let Some(h) = self.reader.take() {
            h.join().expect("reader thread");
        }
        status
    }

    /// Resizes both the emulated screen and the pty (which sends SIGWINCH to the child).
    fn resize(&self, cols: u16, rows: u16) {
        lock(&self.parser).screen_mut().set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize pty");
    }

    /// Waits until the child catches SIGWINCH (crossterm installs its handler when the event
    /// loop first polls), so that a resize cannot arrive before anyone listens for it.
    fn wait_for_sigwinch_handler(&mut self) {
        let status = format!("/proc/{}/status", self.pid());
        let bit = 1u64 << (libc::SIGWINCH - 1);
        let start = Instant::now();
        loop {
            let caught = std::fs::read_to_string(&status)
                .ok()
                .and_then(|s| {
                    let line = s.lines().find(|l| l.starts_with("SigCgt:"))?.to_string();
                    u64::from_str_radix(line["SigCgt:".len()..].trim(), 16).ok()
                })
                .is_some_and(|mask| mask & bit != 0);
            if caught {
                return;
            }
            assert!(
                start.elapsed() <= DEADLINE,
                "the child never installed a SIGWINCH handler ({status})"
            );
            std::thread::sleep(POLL);
        }
    }

    fn pid(&self) -> libc::pid_t {
        let pid = self.child.process_id().expect("child pid");
        libc::pid_t::try_from(pid).expect("pid fits pid_t")
    }

    /// Quits with `q`, expects a clean exit and a restored terminal.
    fn quit_cleanly(&mut self) {
        self.send("q");
        let status = self.wait_exit();
        assert!(status.success(), "exit status {status:?}");
        assert!(
            !self.alternate_screen(),
            "the alternate screen is still active after exit"
        );
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        if self.status.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes a file of 3 pages + 100 bytes of readable text (`head` first) into `dir`.
fn text_file(dir: &Path, name: &std::ffi::OsStr, head: &[u8]) -> PathBuf {
    let ps = page_size();
    let mut bytes: Vec<u8> = head.to_vec();
    let filler = b"The quick brown fox jumps over the lazy dog. ";
    bytes.extend(filler.iter().cycle().take(3 * ps + 100 - head.len()));
    let path = dir.join(name);
    std::fs::write(&path, &bytes).expect("write test file");
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

    term.quit_cleanly();

    let ps = page_size();
    let demos = find_named(tmp.path(), "demo.txt");
    assert_eq!(demos.len(), 1, "one demo file under TMPDIR: {demos:?}");
    let len = std::fs::metadata(&demos[0]).expect("demo file").len();
    assert_eq!(len, (3 * ps + 100) as u64, "demo file size");
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
    term.wait_for_all(&["goto (offset or p N)"]);
    term.send("p 2\r");
    let ps = page_size();
    let page2 = format!("cursor 0x{:x} (page 2:", 2 * ps);
    term.wait_for_all(&[&page2, "page 2"]);

    term.send(":");
    term.wait_for_all(&["goto (offset or p N)"]);
    term.send("0x1f00\r");
    let there = format!("cursor 0x1f00 (page {}:", 0x1f00 / ps);
    term.wait_for_all(&[&there]);

    term.quit_cleanly();
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
    term.quit_cleanly();
    let demos = find_named(tmp.path(), "demo.txt");
    assert_eq!(demos.len(), 1, "{demos:?}");
    let bytes = std::fs::read(&demos[0]).expect("demo file");
    assert_eq!(bytes[0], b'Z', "the edit reached the file");
    assert_eq!(&bytes[1..4], b"== ", "nothing else changed");
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
    editor.send("HI");
    editor.wait_for_all(&["HI23456789"]);
    // The other instance sees the bytes at its next refresh (250 ms), highlighted and logged.
    watcher.wait_for_all(&["HI23456789", "changed by another process"]);
    editor.send("\x1b");
    editor.wait_for("edit mode to end", |t| t.contains("i edit"));
    editor.quit_cleanly();
    watcher.quit_cleanly();
}
