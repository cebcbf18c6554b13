//! Bounded costs of the real `mmapscope` binary.
//!
//! 1. A report (`snapshot` in batch) of 64 TiB of shared anonymous memory and of MAP_SHARED
//!    /dev/zero (16 KiB mapped, grown with `resize 64T`), beside the same of private anonymous
//!    memory (`--anon 64T --private`, the yardstick, and `--anon 16k --private` grown the same
//!    way). Each run is a fresh process, timed from spawn to exit, the four interleaved round
//!    after round; the table gives medians, ratios to `--anon 64T --private`, and for the
//!    shared ones ratios to the private one grown the same way (the same calls: the measure of
//!    "as fast as a private one").
//!    (`--anon 64T` shared itself is refused by the kernel here: MAP_SHARED anonymous memory
//!    is accounted in full at mmap under heuristic overcommit.)
//! 2. The explorer's memory in a pseudo-terminal of 80x24, 300x100, 500x200 and 1000x500 cells
//!    (a fresh process each, on a 3-page + 100-byte file): peak RSS (VmHWM) once the first
//!    screen is drawn and the screen has settled, beside what ratatui's buffers of those cells
//!    take (two buffers of `size_of::<Cell>()` a cell, and the list of changed cells a full
//!    redraw sends: 16 B a cell), and `top -d 0.25` in the same pty as a yardstick. Then one
//!    started at 500x200 and shrunk to 80x24: its RSS after the shrink.
//!
//! Run with `cargo bench --bench bounded`. `MMAPSCOPE_BENCH_ROUNDS=N` sets the rounds of part 1
//! (default 11); `MMAPSCOPE_BENCH_BIN=PATH` measures another build (of an older commit, say),
//! with `MMAPSCOPE_BENCH_TIB=N` for a smaller resize there (`resize NT`: 11.7 s a TiB before).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::median;

// Not every bench uses every helper of the tests' pty driver.
#[allow(dead_code)]
#[path = "../tests/it/common/pty.rs"]
mod pty;

const BIN: &str = env!("CARGO_BIN_EXE_mmapscope");

fn bin() -> PathBuf {
    std::env::var_os("MMAPSCOPE_BENCH_BIN")
        .filter(|b| !b.is_empty())
        .map_or_else(|| BIN.into(), PathBuf::from)
}

/// Wall time in ms of `mmapscope batch ARGS` with `script` as its script file; it must
/// succeed.
fn time_batch(args: &[String], script: &Path) -> f64 {
    let start = Instant::now();
    let status = Command::new(bin())
        .arg("batch")
        .args(args)
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run mmapscope batch");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert!(status.success(), "batch {args:?} failed: {status}");
    ms
}

fn snapshots(dir: &Path, rounds: usize) {
    let tib = std::env::var("MMAPSCOPE_BENCH_TIB").unwrap_or_else(|_| "64".into());
    let plain = dir.join("snapshot.txt");
    std::fs::write(&plain, "snapshot\n").expect("script");
    let grown = dir.join("grown.txt");
    std::fs::write(&grown, format!("resize {tib}T\nsnapshot\n")).expect("script");
    let cases: Vec<(String, Vec<String>, &Path)> = vec![
        (
            format!("--anon {tib}T --private (yardstick)"),
            vec!["--anon".into(), format!("{tib}T"), "--private".into()],
            &plain,
        ),
        (
            format!("--anon 16k --private, resize {tib}T"),
            vec!["--anon".into(), "16k".into(), "--private".into()],
            &grown,
        ),
        (
            format!("--anon 16k (shared), resize {tib}T"),
            vec!["--anon".into(), "16k".into()],
            &grown,
        ),
        (
            format!("--len 16k /dev/zero (shared), resize {tib}T"),
            vec!["--len".into(), "16k".into(), "/dev/zero".into()],
            &grown,
        ),
    ];
    println!("snapshot of {tib} TiB, {rounds} rounds interleaved ...");
    let mut samples = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (i, (_, args, script)) in cases.iter().enumerate() {
            samples[i].push(time_batch(args, script));
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(median).collect();
    println!(
        "{:<48} {:>10} {:>12} {:>18}",
        "case (medians)", "wall", "/yardstick", "/private, resized"
    );
    for (i, ((name, _, _), m)) in cases.iter().zip(&medians).enumerate() {
        // The shared ones do what the private resized one does: its ratio is theirs to meet.
        let same_ops = if i >= 2 {
            format!("{:.2}x", m / medians[1])
        } else {
            "-".into()
        };
        println!(
            "{name:<48} {:>7.2} ms {:>11.2}x {same_ops:>18}",
            m,
            m / medians[0]
        );
    }
}

/// VmHWM and VmRSS of `pid`, in KiB.
fn memory_of(pid: i32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("a VmHWM/VmRSS line")
    };
    (kib("VmHWM:"), kib("VmRSS:"))
}

/// What ratatui's buffers take for `cells` cells at a full redraw, in bytes: two buffers of
/// cells and the list of the cells that changed (`Buffer::diff`: `(u16, u16, &Cell)`).
fn buffers_need(cells: u64) -> u64 {
    let cell = std::mem::size_of::<ratatui::buffer::Cell>() as u64;
    let change = std::mem::size_of::<(u16, u16, &ratatui::buffer::Cell)>() as u64;
    cells * (2 * cell + change)
}

/// `program args` in a `cols` x `rows` pty, once `ready` holds for its screen and a second
/// has passed: its peak RSS and RSS in KiB.
fn peak_in_pty(
    program: &Path,
    args: &[&std::ffi::OsStr],
    (cols, rows): (u16, u16),
    ready: &dyn Fn(&str) -> bool,
) -> (pty::Term, u64, u64) {
    let mut term = pty::Term::spawn_program(program, args, &[], cols, rows);
    term.wait_for("the first screen", ready);
    // Not `settle`: top redraws every 250 ms and is never quiet.
    std::thread::sleep(Duration::from_secs(1));
    let (hwm, rss) = memory_of(term.pid());
    (term, hwm, rss)
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", (kib * 1024) as f64 / 1e6)
}

fn screens(dir: &Path) {
    let file = dir.join("demo.txt");
    pty::text_file(&file, b"=== bounded bench ===\n");
    let args = [file.as_os_str()];
    let ours = |t: &str| t.contains("page 0") && t.contains("MAP_SHARED");
    let top = Path::new("/usr/bin/top");
    println!(
        "\nthe explorer in a pty (ratatui Cell: {} B; a full redraw also lists 16 B a cell)",
        std::mem::size_of::<ratatui::buffer::Cell>()
    );
    println!(
        "{:<10} {:>10} {:>12} {:>14} {:>16} {:>14}",
        "cells", "peak RSS", "over 80x24", "buffers need", "ours beyond", "top -d 0.25"
    );
    let mut base = None;
    for (cols, rows) in [(80u16, 24u16), (300, 100), (500, 200), (1000, 500)] {
        let (term, hwm, _) = peak_in_pty(Path::new(&bin()), &args, (cols, rows), &ours);
        drop(term);
        // The explorer draws at most 640x400 cells (app.rs MAX_COLS, MAX_ROWS).
        let drawn = u64::from(cols.min(640)) * u64::from(rows.min(400));
        let need = buffers_need(drawn) / 1024;
        let (b_hwm, b_need) = *base.get_or_insert((hwm, need));
        let over = hwm.saturating_sub(b_hwm);
        let beyond = i128::from(over) - i128::from(need) + i128::from(b_need);
        let yardstick = top.exists().then(|| {
            let t_args = [std::ffi::OsStr::new("-d"), std::ffi::OsStr::new("0.25")];
            let (t, hwm, _) = peak_in_pty(top, &t_args, (cols, rows), &|t| t.contains("PID"));
            drop(t);
            mb(hwm)
        });
        println!(
            "{:<10} {:>10} {:>12} {:>14} {:>13.1} MB {:>14}",
            format!("{cols}x{rows}"),
            mb(hwm),
            mb(over),
            mb(need),
            beyond as f64 * 1024.0 / 1e6,
            yardstick.unwrap_or_else(|| "n/i".into())
        );
    }
    let (mut term, hwm, _) = peak_in_pty(Path::new(&bin()), &args, (500, 200), &ours);
    term.resize(80, 24);
    term.wait_for("the 80x24 screen", |t| {
        t.lines().next().is_some_and(|l| l.trim_end().len() <= 80) && t.contains("page 0")
    });
    std::thread::sleep(Duration::from_secs(1));
    let (_, rss) = memory_of(term.pid());
    println!(
        "started at 500x200 (peak {}), shrunk to 80x24: RSS {} (given back: {})",
        mb(hwm),
        mb(rss),
        mb(hwm.saturating_sub(rss))
    );
    term.quit_cleanly();
}

fn main() {
    let rounds: usize = std::env::var("MMAPSCOPE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(11);
    let dir = tempfile::Builder::new()
        .prefix("mmapscope-bounded-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir under the target dir");
    println!(
        "mmapscope {} ({} cores)",
        bin().display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    snapshots(dir.path(), rounds);
    screens(dir.path());
}
