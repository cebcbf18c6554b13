//! The mark (`b`, the script word `mark`): what setting it costs, and what it adds to a
//! refresh.
//!
//! - Mark of a 4 KiB file and of a 1 TiB sparse file (`set_len(1 << 40)`): the page states are
//!   read as runs (`Prober::scan`), so both should cost the same; the bytes of pages in memory
//!   are copied (none in the sparse file). Interleaved, medians and the ratio.
//! - Mark of another process with 30,000 VMAs (`--pid`, the `[stack]` VMA shown): dominated by
//!   one read of its smaps (every VMA's counters); interleaved with `cat /proc/PID/smaps` (what
//!   people would read instead), as a ratio.
//! - A refresh of the explorer at 300x100 on a 256 MiB file in the page cache, with a mark and
//!   without, and the frame drawn at 300x100 with a mark and without: the compare's cost.
//!
//! Run with `cargo bench --bench mark`. The timings are medians of interleaved runs (these
//! machines are shared and noisy: the ratios are what counts).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use mmapscope::action::{Action, TimeAction};
use mmapscope::session::Session;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Prot, Source};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

mod common;
use common::median;

const MANY: &str = "MMAPSCOPE_BENCH_MANY";
const MIB: u64 = 1 << 20;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A session on `path` mapped MAP_SHARED read-only; `interactive` reads the bytes shown.
fn session_on(path: &Path, interactive: bool, size: (u16, u16)) -> Session {
    let region = Region::open(&MapRequest {
        source: Source::File(path.to_path_buf()),
        mode: MapMode::Shared,
        offset: 0,
        len: None,
        prot: Some(Prot::R),
        write: false,
        place: Default::default(),
    })
    .expect("map");
    Session::new(region, interactive, size)
}

/// Median ms of setting a mark in each session, interleaved, `n` rounds.
fn marks(sessions: &mut [&mut Session], n: usize) -> Vec<f64> {
    let mut samples = vec![Vec::new(); sessions.len()];
    for _ in 0..n {
        for (s, out) in sessions.iter_mut().zip(&mut samples) {
            let t = Instant::now();
            s.act(Action::Time(TimeAction::Mark));
            out.push(ms(t));
        }
    }
    samples.into_iter().map(median).collect()
}

fn files(dir: &Path) {
    let small = dir.join("small.txt");
    std::fs::write(&small, vec![b'a'; 4096]).expect("small");
    let sparse = dir.join("sparse.bin");
    std::fs::File::create(&sparse)
        .and_then(|f| f.set_len(1 << 40))
        .expect("sparse");
    let mut a = session_on(&small, false, (120, 40));
    let mut b = session_on(&sparse, false, (120, 40));
    let got = marks(&mut [&mut a, &mut b], 41);
    println!(
        "mark, 4 KiB file: {:.3} ms; 1 TiB sparse file: {:.3} ms; ratio {:.2}",
        got[0],
        got[1],
        got[1] / got[0]
    );
}

/// The 30,000-VMA target: this bench re-run with `MMAPSCOPE_BENCH_MANY=30000`.
struct Target(Child);

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn many() {
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .env(MANY, "30000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready");
    let target = Target(child);
    let pid = target.0.id();
    let mut s = Session::attach(pid, Some("[stack]"), false, false, (120, 40)).expect("attach");
    let smaps = format!("/proc/{pid}/smaps");
    let (mut mark, mut cat) = (Vec::new(), Vec::new());
    for _ in 0..11 {
        let t = Instant::now();
        s.act(Action::Time(TimeAction::Mark));
        mark.push(ms(t));
        let t = Instant::now();
        let out = Command::new("cat").arg(&smaps).output().expect("cat");
        cat.push(ms(t));
        assert!(out.stdout.len() > 1 << 20);
    }
    let vmas = s
        .model
        .time
        .mark
        .as_ref()
        .and_then(|m| m.vmas.as_ref())
        .map_or(0, Vec::len);
    let (mark, cat) = (median(mark), median(cat));
    println!(
        "mark of a process with {vmas} VMAs: {mark:.1} ms; cat /proc/PID/smaps: {cat:.1} ms; \
         ratio {:.2}",
        mark / cat
    );
}

fn draw(s: &Session) -> f64 {
    let mut t = Terminal::new(TestBackend::new(300, 100)).expect("terminal");
    let start = Instant::now();
    t.draw(|f| mmapscope::ui::render(&s.model, f))
        .expect("draw");
    ms(start)
}

fn refresh(dir: &Path) {
    let cached = dir.join("cached.bin");
    {
        let mut f = std::fs::File::create(&cached).expect("create");
        let chunk = vec![3u8; MIB as usize];
        for _ in 0..256 {
            f.write_all(&chunk).expect("write");
        }
        f.sync_all().expect("sync");
    }
    let mut plain = session_on(&cached, true, (300, 100));
    let mut marked = session_on(&cached, true, (300, 100));
    marked.act(Action::Time(TimeAction::Mark));
    let kept = marked.model.time.mark.as_ref().map_or(0, |m| m.kept.len());
    // Warm both up (the minimap fills over the first refreshes), then alternate which goes
    // first, so that neither always pays for the other's cache misses.
    for _ in 0..20 {
        plain.refresh();
        marked.refresh();
    }
    let (mut a, mut b, mut da, mut db) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..201 {
        let one = |s: &mut Session, out: &mut Vec<f64>, drawn: &mut Vec<f64>| {
            let t = Instant::now();
            s.refresh();
            out.push(ms(t));
            drawn.push(draw(s));
        };
        if i % 2 == 0 {
            one(&mut plain, &mut a, &mut da);
            one(&mut marked, &mut b, &mut db);
        } else {
            one(&mut marked, &mut b, &mut db);
            one(&mut plain, &mut a, &mut da);
        }
    }
    // The refreshes that compare the kept bytes (paced: the session runs one at most once
    // per 100 times its cost, and at least 1 s apart), forced here by clearing the due time.
    let mut full = Vec::new();
    for _ in 0..21 {
        marked.model.time.bytes_due = None;
        let t = Instant::now();
        marked.refresh();
        full.push(ms(t));
    }
    println!(
        "a refresh that also compares the {kept} kept pages' bytes: {:.3} ms (paced to 1% of a \
         core)",
        median(full)
    );
    let (a, b, da, db) = (median(a), median(b), median(da), median(db));
    println!(
        "refresh at 300x100 of a cached 256 MiB file: {a:.3} ms without a mark, {b:.3} ms with \
         one ({kept} pages' bytes kept); ratio {:.2}",
        b / a
    );
    println!(
        "frame drawn at 300x100: {da:.3} ms without a mark, {db:.3} ms with one; ratio {:.2}",
        db / da
    );
}

fn main() {
    if let Some(n) = std::env::var(MANY).ok().and_then(|n| n.parse().ok()) {
        common::many(n);
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("mark bench: run with `cargo bench --bench mark`");
        return;
    }
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    files(dir.path());
    many();
    refresh(dir.path());
}
