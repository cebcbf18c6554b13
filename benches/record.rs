//! Recording and replay costs (docs/recording.md, "Costs"):
//!
//! - recording a process of 1,000 VMAs (`common::many`, this bench re-run as the target),
//!   every VMA: CPU per frame (user + system time of this process, so % of a core at 1 Hz),
//!   bytes on disk per frame while the process is steady (so bytes per second at 1 Hz, over two
//!   keyframe cycles), interleaved with what people would do instead: `cat /proc/PID/smaps`
//!   into a file once a second (its CPU per run and its bytes);
//! - recording our own mapping of a 1 TiB sparse file against a 4 KiB file: CPU per frame,
//!   interleaved, and the ratio;
//! - a one-hour recording (3,600 frames of the 1,000-VMA process, its frames taken from the
//!   real process once and then changed a little at each frame: one VMA's counters, a page's
//!   bytes, a heap that grows every 10 frames): `Recording::open` plus `frame(n)` for frames
//!   far from their keyframe and at random, median of fresh opens (the file in the page cache).
//!
//! Run with `cargo bench --bench record`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mmapscope::record::{Frame, Header, Recording, Writer};
use mmapscope::session::recorder::{Recorder, Source};
use mmapscope::sys::attach::handle::ProcessHandle;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Source as MapSource};

mod common;
use common::median;

const TARGET: &str = "MMAPSCOPE_BENCH_RECORD_TARGET";
const VMAS: u64 = 1000;
const ROUNDS: usize = 64;

/// CPU time this thread has used (`/proc/thread-self/schedstat`, nanoseconds on a CPU).
fn cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .expect("ns");
    Duration::from_nanos(ns)
}

/// CPU time (user + system) of the children we waited for (`/proc/self/stat` cutime +
/// cstime: clock ticks of 10 ms, so summed over many runs).
fn cpu_children() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[13].parse::<u64>().expect("cutime") + f[14].parse::<u64>().expect("cstime");
    Duration::from_millis(ticks * 10)
}

struct Target(Child);

impl Target {
    fn start() -> Self {
        let mut child = Command::new(std::env::current_exe().expect("current_exe"))
            .env(TARGET, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the target");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        assert_eq!(line.trim(), "ready");
        Self(child)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Recording every VMA of a 1,000-VMA process: CPU per frame and bytes per frame, against
/// `cat /proc/PID/smaps > file`.
fn process(dir: &Path) {
    let target = Target::start();
    let pid = target.0.id();
    let handle = Arc::new(ProcessHandle::open(pid, false).expect("attach"));
    let vmas = handle.maps().expect("maps").len();
    let out = dir.join("process.mmrec");
    let source = Source::Process {
        handle: &handle,
        vma: None,
    };
    let mut rec =
        Recorder::start(&source, &out, true, Duration::from_secs(1), "record").expect("start");
    rec.frame(&source).expect("first frame");
    let (_, first_bytes) = rec.written();
    let smaps_out = dir.join("smaps.txt");
    let (mut ours, mut cat_bytes) = (Vec::new(), 0u64);
    let mut cat_cpu = Duration::ZERO;
    for _ in 0..ROUNDS {
        let before = cpu();
        rec.frame(&source).expect("frame");
        ours.push((cpu() - before).as_secs_f64() * 1e3);
        let before = cpu_children();
        let file = std::fs::File::create(&smaps_out).expect("create");
        let status = Command::new("cat")
            .arg(format!("/proc/{pid}/smaps"))
            .stdout(file)
            .status()
            .expect("cat");
        assert!(status.success());
        cat_cpu += cpu_children() - before;
        cat_bytes += std::fs::metadata(&smaps_out).expect("stat").len();
    }
    let (frames, bytes) = rec.written();
    rec.finish().expect("finish");
    let per_frame = (bytes - first_bytes) as f64 / ROUNDS as f64;
    let o = median(&mut ours);
    let c = cat_cpu.as_secs_f64() * 1e3 / ROUNDS as f64;
    println!(
        "record --pid (every VMA, {vmas} VMAs): CPU per frame {o:.2} ms (median of {ROUNDS}) = \
         {:.2}% of a core at 1 Hz; cat /proc/PID/smaps > file {c:.2} ms (mean; {:.2}x ours)",
        o / 10.0,
        c / o
    );
    println!(
        "  on disk while steady: {per_frame:.0} B per frame over {ROUNDS} frames (keyframes \
         included) = {:.2} KB/s at 1 Hz; first frame {first_bytes} B; {frames} frames; \
         smaps copies {:.0} B each",
        per_frame / 1000.0,
        cat_bytes as f64 / ROUNDS as f64
    );
}

/// CPU per frame recording our mapping of a 1 TiB sparse file against a 4 KiB file.
fn sparse(dir: &Path) {
    let mk = |name: &str, len: u64| {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).expect("create");
        f.set_len(len).expect("set_len");
        path
    };
    let files = [mk("small.bin", 4096), mk("huge.bin", 1 << 40)];
    let regions: Vec<Region> = files
        .iter()
        .map(|f| {
            Region::open(&MapRequest {
                source: MapSource::File(f.clone()),
                ..MapRequest::anon(0, MapMode::Shared)
            })
            .expect("map")
        })
        .collect();
    let mut recs: Vec<Recorder> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let out = dir.join(format!("sparse{i}.mmrec"));
            Recorder::start(&Source::Ours(r), &out, true, Duration::ZERO, "record").expect("start")
        })
        .collect();
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (i, r) in recs.iter_mut().enumerate() {
            let start = Instant::now();
            r.frame(&Source::Ours(&regions[i])).expect("frame");
            times[i].push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let bytes: Vec<u64> = recs.iter().map(|r| r.written().1).collect();
    let [small, huge] = times.map(median);
    println!(
        "record FILE: 4 KiB file {small:.3} ms per frame, 1 TiB sparse file {huge:.3} ms \
         ({:.2}x); {} B and {} B after {ROUNDS} frames",
        huge / small,
        bytes[0],
        bytes[1]
    );
}

/// A one-hour recording: open it and decode frames.
fn hour(dir: &Path) {
    let target = Target::start();
    let handle = Arc::new(ProcessHandle::open(target.0.id(), false).expect("attach"));
    let probe = dir.join("probe.mmrec");
    let source = Source::Process {
        handle: &handle,
        vma: None,
    };
    let mut rec =
        Recorder::start(&source, &probe, true, Duration::from_secs(1), "record").expect("start");
    rec.frame(&source).expect("frame");
    rec.finish().expect("finish");
    let base = Recording::open(&probe)
        .and_then(|r| r.frame(0))
        .expect("frame 0");
    let path = dir.join("hour.mmrec");
    let header = Recording::open(&probe).expect("open").header().clone();
    let made = Instant::now();
    write_hour(&path, header, base);
    let size = std::fs::metadata(&path).expect("stat").len();
    let made = made.elapsed();
    let mut opens = Vec::new();
    let mut far = Vec::new();
    let mut any = Vec::new();
    for i in 0..21u64 {
        let start = Instant::now();
        let r = Recording::open(&path).expect("open");
        opens.push(start.elapsed().as_secs_f64() * 1e3);
        // The 31st frame after a keyframe: the most deltas to apply.
        let n = (i as usize * 171 % 112) * 32 + 31;
        r.frame(n).expect("frame");
        far.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        let r = Recording::open(&path).expect("open");
        r.frame((i as usize * 2_654_435_761) % r.len())
            .expect("frame");
        any.push(start.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "one hour (3,600 frames of {} VMAs, {:.1} MiB, written in {:.1} s): open {:.2} ms, \
         open + a frame 31 deltas from its keyframe {:.2} ms, open + a frame at random {:.2} ms \
         (medians of 21)",
        Recording::open(&path)
            .expect("open")
            .frame(0)
            .expect("f")
            .smaps
            .len(),
        size as f64 / f64::from(1 << 20),
        made.as_secs_f64(),
        median(&mut opens),
        median(&mut far),
        median(&mut any)
    );
}

/// 3,600 frames from `base`: one VMA's counters change every frame, one page's bytes, and the
/// last VMA grows by a page every 10 frames.
fn write_hour(path: &Path, header: Header, base: Frame) {
    let mut w = Writer::create(path, header, true).expect("create");
    let mut f = base;
    for n in 0..3600u64 {
        f.time_ms = n * 1000;
        let k = (n as usize * 7) % f.smaps.len();
        f.smaps[k].memory.rss = (n % 17) * 4096;
        f.bytes
            .insert(0x1000 * (n % 64), vec![(n % 251) as u8; 4096]);
        if n % 10 == 0
            && let Some(last) = f.maps.last_mut()
        {
            last.end += 4096;
        }
        w.push(&f).expect("push");
    }
    w.finish().expect("finish");
}

fn main() {
    if std::env::var_os(TARGET).is_some() {
        common::many(VMAS);
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let dir = tempfile::tempdir_in(&root).expect("temp dir under target/");
    process(dir.path());
    sparse(dir.path());
    hour(dir.path());
}
