//! Keystroke-to-screen latency of the real `mmapscope` binary in a pseudo-terminal.
//!
//! The binary runs on a 3-page + 100-byte text file in a 120x40 pty (portable-pty,
//! TERM=xterm-256color); everything it writes goes through a vt100 emulator on a reader thread,
//! which notes when it last changed the emulated screen. Two measurements, each N times:
//!
//! - a cursor move (Right arrow) until the grid title shows the new `cursor 0x..`;
//! - in edit mode, two hex digits written in one go until the grid shows the new byte at its
//!   offset (the byte always differs from the one there; the cursor advances after each byte).
//!   The time until the log line `write 0x<off> <- <hex>` shows is reported as well.
//!
//! A sample is the time from the write to the pty to the reader thread's processing of the
//! output that made the change visible, found by polling the emulated screen every 200 µs
//! (so a sample may be late by one polling interval at most, never early). Between samples the
//! bench waits for the screen to settle, so that a key never queues behind the last frame.
//!
//! Run with `cargo bench --bench latency`; prints min / median / p90 / max in ms.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// Samples per measurement.
const N: usize = 100;
/// Terminal size.
const COLS: u16 = 120;
const ROWS: u16 = 40;
/// How often the emulated screen is looked at while waiting for a change.
const POLL: Duration = Duration::from_micros(200);
/// How long one change may take before the bench gives up.
const DEADLINE: Duration = Duration::from_secs(10);
/// Quiet time after a change before the next key: the rest of the frame has arrived.
const SETTLE: Duration = Duration::from_millis(3);

/// Answers cursor-position queries (`ESC[6n`) like a real terminal.
#[derive(Default)]
struct Callbacks {
    position_queries: usize,
}

impl vt100::Callbacks for Callbacks {
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
    /// When the latest chunk of output was processed.
    fed_at: Instant,
}

type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The binary in a pty.
struct Term {
    screen: Arc<Mutex<Screen>>,
    /// Chunks of output processed so far (bumped after each, outside the lock).
    generation: Arc<AtomicU64>,
    writer: Writer,
    _master: Box<dyn MasterPty + Send>,
    child: Box<dyn Child + Send + Sync>,
    reader: Option<JoinHandle<()>>,
    eof: Arc<AtomicBool>,
}

impl Term {
    fn spawn(file: &Path) -> Term {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_mmapscope"));
        cmd.arg(file);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("RUST_BACKTRACE");
        cmd.env_remove("RUST_LIB_BACKTRACE");
        cmd.cwd(std::env::temp_dir());
        let child = pair.slave.spawn_command(cmd).expect("spawn mmapscope");
        drop(pair.slave);

        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new_with_callbacks(ROWS, COLS, 0, Callbacks::default()),
            fed_at: Instant::now(),
        }));
        let generation = Arc::new(AtomicU64::new(0));
        let writer: Writer = Arc::new(Mutex::new(pair.master.take_writer().expect("writer")));
        let mut reader = pair.master.try_clone_reader().expect("reader");
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
            _master: pair.master,
            child,
            reader: Some(handle),
            eof,
        }
    }

    fn contents(&self) -> String {
        lock(&self.screen).parser.screen().contents()
    }

    /// Writes `keys` to the pty; returns the instant just before the write.
    fn send(&self, keys: &str) -> Instant {
        let mut w = lock(&self.writer);
        let t = Instant::now();
        w.write_all(keys.as_bytes()).expect("write to pty");
        w.flush().expect("flush pty");
        t
    }

    /// Polls until `cond` holds for the screen's text; returns when the reader processed the
    /// output that made it hold (the latest chunk seen at that poll).
    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) -> Instant {
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
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}\n--- screen ---\n{}\n---",
                    self.contents()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until no output has arrived for `SETTLE`.
    fn settle(&self) {
        let mut last = self.generation.load(Ordering::SeqCst);
        let mut since = Instant::now();
        while since.elapsed() < SETTLE {
            std::thread::sleep(POLL);
            let g = self.generation.load(Ordering::SeqCst);
            if g != last {
                last = g;
                since = Instant::now();
            }
        }
    }

    /// Quits with `q` and waits for the child and the reader to finish.
    fn quit(&mut self) {
        self.send("q");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(status.success(), "mmapscope exit status {status:?}");
                break;
            }
            assert!(start.elapsed() < DEADLINE, "mmapscope did not quit");
            std::thread::sleep(Duration::from_millis(5));
        }
        while !self.eof.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < DEADLINE * 2,
                "no end of output after exit"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(h) = self.reader.take() {
            h.join().expect("reader thread");
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The hex token shown for file offset `off` in the grid (16 bytes a row at 120 columns), if
/// its row is on screen.
fn shown_byte(text: &str, off: u64) -> Option<&str> {
    let label = format!("{:08x}  ", off & !15);
    let line = text.lines().find(|l| {
        l.trim_start_matches(|c: char| !c.is_ascii_hexdigit())
            .starts_with(&label)
    })?;
    let at = line.find(&label)? + label.len();
    line[at..].split_whitespace().nth((off & 15) as usize)
}

/// Writes a file of 3 pages + 100 bytes of text into `dir`; returns its path and bytes.
fn text_file(dir: &Path) -> (PathBuf, Vec<u8>) {
    let ps = rustix::param::page_size();
    let head = b"mmapscope latency bench\n";
    let filler = b"The quick brown fox jumps over the lazy dog. ";
    let mut bytes = head.to_vec();
    bytes.extend(filler.iter().cycle().take(3 * ps + 100 - head.len()));
    let path = dir.join("latency.txt");
    std::fs::write(&path, &bytes).expect("write the bench file");
    (path, bytes)
}

/// Prints min / median / p90 / max of `samples` in ms.
fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<28} n={:<4} min {:7.3}  median {:7.3}  p90 {:7.3}  max {:7.3}  (ms)",
        samples.len(),
        ms(samples[0]),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(samples[samples.len() - 1]),
    );
}

fn main() {
    // The arguments `cargo bench` passes (`--bench`, a filter) select nothing here.
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("mmapscope-latency-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir under the target dir");
    let (file, mut bytes) = text_file(dir.path());

    let mut term = Term::spawn(&file);
    term.wait_for("the first screen", |t| {
        t.contains("page 0") && t.contains("cursor 0x0 ")
    });
    term.settle();

    // Cursor moves: Right arrow, N times, until the title shows the new offset.
    let mut moves = Vec::with_capacity(N);
    for i in 1..=N {
        let title = format!("cursor 0x{i:x} ");
        let sent = term.send("\x1b[C");
        let seen = term.wait_for(&title, |t| t.contains(&title));
        moves.push(seen.saturating_duration_since(sent));
        term.settle();
    }

    // Edit mode, then N bytes at successive offsets from the cursor.
    term.send("i");
    term.wait_for("edit mode", |t| t.contains("edit mode"));
    term.settle();
    let mut writes = Vec::with_capacity(N);
    let mut logs = Vec::with_capacity(N);
    for i in 0..N {
        let off = (N + i) as u64;
        let old = bytes[off as usize];
        let mut new = if i % 2 == 0 { 0x41 } else { 0x42 };
        if new == old {
            new ^= 0x03;
        }
        let hex = format!("{new:02x}");
        let log = format!("write 0x{off:x} <- {hex}");
        let sent = term.send(&hex);
        let shown = term.wait_for(&format!("{hex} at 0x{off:x}"), |t| {
            shown_byte(t, off) == Some(hex.as_str())
        });
        let logged = term.wait_for(&log, |t| t.contains(&log));
        writes.push(shown.saturating_duration_since(sent));
        logs.push(logged.saturating_duration_since(sent));
        bytes[off as usize] = new;
        term.settle();
    }
    term.send("\x1b");
    term.wait_for("edit mode to end", |t| t.contains("i edit"));
    term.quit();

    let on_disk = std::fs::read(&file).expect("read the bench file back");
    assert_eq!(on_disk, bytes, "the file holds exactly the bytes written");

    println!(
        "mmapscope keystroke-to-screen latency, {COLS}x{ROWS} pty, {} B file, polled every {} µs",
        bytes.len(),
        POLL.as_micros()
    );
    report("cursor move (Right)", &mut moves);
    report("edit byte: byte in grid", &mut writes);
    report("edit byte: log line", &mut logs);
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}
