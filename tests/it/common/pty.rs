//! The real `mmapscope` binary in a pseudo-terminal, for the end-to-end tests and the latency
//! bench: a reader thread feeds everything the program writes to a vt100 emulator (answering
//! cursor-position queries `ESC[6n` as a real terminal would, recording window titles), and
//! notes when it last fed the screen, so a wait can say when a change became visible.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How long anything on screen (or an exit) may take before the caller fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// What the emulated terminal was asked to do besides drawing.
#[derive(Default)]
pub struct Callbacks {
    /// Every window title and icon name the program set (OSC 0, 1, 2).
    titles: Vec<Vec<u8>>,
    /// Cursor-position reports (`ESC[6n`) asked for and not answered yet.
    position_queries: usize,
    /// What the program put on the clipboard (OSC 52), as base64, in order.
    clipboard: Vec<Vec<u8>>,
}

impl vt100::Callbacks for Callbacks {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(title.to_vec());
    }

    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.titles.push(name.to_vec());
    }

    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, _ty: &[u8], data: &[u8]) {
        self.clipboard.push(data.to_vec());
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

/// The emulated screen and when the reader last fed it.
struct Screen {
    parser: vt100::Parser<Callbacks>,
    fed_at: Instant,
}

type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking thread must not hide the screen from the next assertion.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The binary running in a pty, with its emulated screen.
pub struct Term {
    screen: Arc<Mutex<Screen>>,
    /// Chunks of output processed so far.
    generation: Arc<AtomicU64>,
    writer: Writer,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn Child + Send + Sync>,
    reader: Option<JoinHandle<()>>,
    /// Set by the reader when the pty reports end of output.
    eof: Arc<AtomicBool>,
    status: Option<ExitStatus>,
    /// How often the screen is looked at while waiting.
    pub poll: Duration,
}

impl Term {
    /// Starts the binary with `args` in a `cols` x `rows` pty, with `envs` added to the
    /// environment and TERM=xterm-256color.
    pub fn spawn(args: &[&std::ffi::OsStr], envs: &[(&str, &Path)], cols: u16, rows: u16) -> Term {
        let bin = Path::new(env!("CARGO_BIN_EXE_mmapscope"));
        Self::spawn_program(bin, args, envs, cols, rows)
    }

    /// Starts `program` (a shell, say) with `args` in a pty, as `spawn` does the binary.
    pub fn spawn_program(
        program: &Path,
        args: &[&std::ffi::OsStr],
        envs: &[(&str, &Path)],
        cols: u16,
        rows: u16,
    ) -> Term {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(program);
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

        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new_with_callbacks(rows, cols, 0, Callbacks::default()),
            fed_at: Instant::now(),
        }));
        let generation = Arc::new(AtomicU64::new(0));
        let writer: Writer = Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let eof = Arc::new(AtomicBool::new(false));
        let handle = {
            let (screen, generation) = (Arc::clone(&screen), Arc::clone(&generation));
            let (writer, eof) = (Arc::clone(&writer), Arc::clone(&eof));
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            let replies: Vec<String> = {
                                let mut s = lock(&screen);
                                s.parser.process(&buf[..n]);
                                s.fed_at = Instant::now();
                                let p = &mut s.parser;
                                let queries =
                                    std::mem::take(&mut p.callbacks_mut().position_queries);
                                let (row, col) = p.screen().cursor_position();
                                (0..queries)
                                    .map(|_| format!("\x1b[{};{}R", row + 1, col + 1))
                                    .collect()
                            };
                            generation.fetch_add(1, Ordering::SeqCst);
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
            screen,
            generation,
            writer,
            master: pair.master,
            child,
            reader: Some(handle),
            eof,
            status: None,
            poll: Duration::from_millis(20),
        }
    }

    /// What the program put on the clipboard with OSC 52 so far (base64, as sent), in order.
    pub fn clipboard(&self) -> Vec<String> {
        lock(&self.screen)
            .parser
            .callbacks()
            .clipboard
            .iter()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .collect()
    }

    /// The screen's text, rows joined with newlines.
    pub fn contents(&self) -> String {
        lock(&self.screen).parser.screen().contents()
    }

    /// Window titles and icon names set so far, as text.
    pub fn titles(&self) -> Vec<String> {
        lock(&self.screen)
            .parser
            .callbacks()
            .titles
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect()
    }

    pub fn alternate_screen(&self) -> bool {
        lock(&self.screen).parser.screen().alternate_screen()
    }

    /// Whether the terminal shows the cursor (DECTCEM, `CSI ? 25 h`/`l`).
    pub fn cursor_visible(&self) -> bool {
        !lock(&self.screen).parser.screen().hide_cursor()
    }

    /// Forgets everything on the emulated screen (a fresh emulator of the same size, in the
    /// main screen): from now on it shows only what the program draws anew.
    pub fn forget_screen(&self) {
        let mut s = lock(&self.screen);
        let (rows, cols) = s.parser.screen().size();
        let callbacks = std::mem::take(s.parser.callbacks_mut());
        s.parser = vt100::Parser::new_with_callbacks(rows, cols, 0, callbacks);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Waits until `cond` holds for the emulated screen (modes included, not only text).
    pub fn wait_for_screen(&self, what: &str, cond: impl Fn(&vt100::Screen) -> bool) {
        let start = Instant::now();
        while !cond(lock(&self.screen).parser.screen()) {
            assert!(
                start.elapsed() <= DEADLINE,
                "timed out after {DEADLINE:?} waiting for {what}\n--- screen ---\n{}\n\
                 --------------",
                self.contents()
            );
            std::thread::sleep(self.poll);
        }
    }

    /// Sends `sig` to the program.
    pub fn signal(&self, sig: rustix::process::Signal) {
        // The pid of a child we spawned and have not reaped: it cannot have been reused.
        let pid = rustix::process::Pid::from_raw(self.pid()).expect("a live child's pid");
        rustix::process::kill_process(pid, sig).expect("kill");
    }

    /// Waits until `cond` holds for the screen's text; returns when the reader processed the
    /// output that made it hold. Fails with the screen on timeout.
    pub fn wait_for(&mut self, what: &str, cond: impl Fn(&str) -> bool) -> Instant {
        let start = Instant::now();
        let mut seen = u64::MAX;
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            if generation != seen {
                seen = generation;
                let s = lock(&self.screen);
                if cond(&s.parser.screen().contents()) {
                    return s.fed_at;
                }
            }
            if start.elapsed() > DEADLINE {
                let exited = self.child.try_wait().ok().flatten();
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}; child exit: {exited:?}\n\
                     --- screen ---\n{}\n--------------",
                    self.contents()
                );
            }
            std::thread::sleep(self.poll);
        }
    }

    /// Waits until the screen shows every one of `needles`.
    pub fn wait_for_all(&mut self, needles: &[&str]) {
        let what = format!("{needles:?} on screen");
        self.wait_for(&what, |text| needles.iter().all(|n| text.contains(n)));
    }

    /// Waits until no output has arrived for `quiet`.
    #[allow(
        dead_code,
        reason = "the latency bench waits for a quiet screen; no test does"
    )]
    pub fn settle(&self, quiet: Duration) {
        let mut last = self.generation.load(Ordering::SeqCst);
        let mut since = Instant::now();
        while since.elapsed() < quiet {
            std::thread::sleep(self.poll);
            let g = self.generation.load(Ordering::SeqCst);
            if g != last {
                last = g;
                since = Instant::now();
            }
        }
    }

    /// Types `text` into the terminal; returns the instant just before the write.
    pub fn send(&self, text: &str) -> Instant {
        let mut w = lock(&self.writer);
        let t = Instant::now();
        w.write_all(text.as_bytes()).expect("write to pty");
        w.flush().expect("flush pty");
        t
    }

    /// Waits for the child to exit, then for the reader to drain everything it wrote.
    pub fn wait_exit(&mut self) -> ExitStatus {
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
            std::thread::sleep(self.poll);
        };
        self.status = Some(status.clone());
        while !self.eof.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() <= DEADLINE * 2,
                "the pty never reported end of output after the child exited"
            );
            std::thread::sleep(self.poll);
        }
        if let Some(h) = self.reader.take() {
            h.join().expect("reader thread");
        }
        status
    }

    /// Resizes both the emulated screen and the pty (which sends SIGWINCH to the child).
    pub fn resize(&self, cols: u16, rows: u16) {
        lock(&self.screen).parser.screen_mut().set_size(rows, cols);
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
    pub fn wait_for_sigwinch_handler(&mut self) {
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
            std::thread::sleep(self.poll);
        }
    }

    pub fn pid(&self) -> libc::pid_t {
        let pid = self.child.process_id().expect("child pid");
        libc::pid_t::try_from(pid).expect("pid fits pid_t")
    }

    /// Quits with `q`, expects a clean exit and a restored terminal.
    pub fn quit_cleanly(&mut self) {
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

/// The state letter of process `pid` in /proc/PID/stat (`T`: stopped).
pub fn process_state(pid: libc::pid_t) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The fields resume after the command name's closing parenthesis.
    stat[stat.rfind(')').expect("comm") + 1..]
        .split_whitespace()
        .next()
        .and_then(|s| s.chars().next())
        .expect("state")
}

/// Waits until process `pid` is in state `state`.
pub fn wait_for_state(pid: libc::pid_t, state: char) {
    let start = Instant::now();
    while process_state(pid) != state {
        assert!(
            start.elapsed() <= DEADLINE,
            "process {pid} never reached state {state} (it is {})",
            process_state(pid)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes a file of 3 pages + 100 bytes of readable text (`head` first) at `path`; returns
/// its bytes.
pub fn text_file(path: &Path, head: &[u8]) -> Vec<u8> {
    let ps = rustix::param::page_size();
    let mut bytes: Vec<u8> = head.to_vec();
    let filler = b"The quick brown fox jumps over the lazy dog. ";
    bytes.extend(filler.iter().cycle().take(3 * ps + 100 - head.len()));
    std::fs::write(path, &bytes).expect("write test file");
    bytes
}
