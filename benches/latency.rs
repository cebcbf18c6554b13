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

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// Not every bench uses every helper of the tests' pty driver.
#[allow(dead_code)]
#[path = "../tests/it/common/pty.rs"]
mod pty;
use pty::Term;

/// Samples per measurement.
const N: usize = 100;
/// Terminal size.
const COLS: u16 = 120;
const ROWS: u16 = 40;
/// How often the emulated screen is looked at while waiting for a change.
const POLL: Duration = Duration::from_micros(200);
/// Quiet time after a change before the next key: the rest of the frame has arrived.
const SETTLE: Duration = Duration::from_millis(3);

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
    let path = dir.join("latency.txt");
    let bytes = pty::text_file(&path, b"mmapscope latency bench\n");
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

    let mut term = Term::spawn(&[file.as_os_str()], &[], COLS, ROWS);
    term.poll = POLL;
    term.wait_for("the first screen", |t| {
        t.contains("page 0") && t.contains("cursor 0x0 ")
    });
    term.settle(SETTLE);

    // Cursor moves: Right arrow, N times, until the title shows the new offset.
    let mut moves = Vec::with_capacity(N);
    for i in 1..=N {
        let title = format!("cursor 0x{i:x} ");
        let sent = term.send("\x1b[C");
        let seen = term.wait_for(&title, |t| t.contains(&title));
        moves.push(seen.saturating_duration_since(sent));
        term.settle(SETTLE);
    }

    // Edit mode, then N bytes at successive offsets from the cursor.
    term.send("i");
    term.wait_for("edit mode", |t| t.contains("edit mode"));
    term.settle(SETTLE);
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
        term.settle(SETTLE);
    }
    term.send("\x1b");
    term.wait_for("edit mode to end", |t| t.contains("i edit"));
    term.quit_cleanly();

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
