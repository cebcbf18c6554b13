//! Attaching to a big process (`--pid`): a target with 1,000 VMAs and 10 GiB mapped, the
//! explorer's first screen and refresh on it, its idle cost, and `inspect --pid --vma all`
//! side by side with `pmap -X` and a plain read of `/proc/PID/smaps` (what people use
//! instead), interleaved, with the ratios.
//!
//! The target is this bench binary re-run with `MMAPSCOPE_BENCH_SPRAWL=DIR`: it maps 900
//! anonymous VMAs of 11.5 MiB (alternately read-only and read-write so that neighbours never
//! merge; 64 pages of each read-write one written) and 100 MiB-sized shared VMAs of a 100 MiB
//! file (cached), says `ready` and waits until its standard input closes.
//!
//! Measured: first screen (in process: `Session::attach` and one frame drawn; and the real
//! binary in a 120x40 pty, spawn to the address-space view on screen), one refresh (the VMA
//! shown; with the address-space view open), CPU while idle for 10 s in the pty, and
//! `inspect --pid PID --vma all --json` wall time (median of interleaved runs) and peak RSS.
//!
//! Run with `cargo bench --bench attach`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmapscope::action::Action;
use mmapscope::session::Session;
use mmapscope::sys::region::{MapMode, MapRequest, Prot, Region, Source};

#[path = "../tests/common/pty.rs"]
mod pty;

const BIN: &str = env!("CARGO_BIN_EXE_mmapscope");
const MIB: u64 = 1 << 20;
const ANON_VMAS: u64 = 900;
const FILE_VMAS: u64 = 100;
const SPRAWL: &str = "MMAPSCOPE_BENCH_SPRAWL";

/// The target's body: map everything, say `ready`, wait for stdin to close.
fn sprawl(dir: &Path) {
    let file = dir.join("sprawl.bin");
    {
        let mut f = std::fs::File::create(&file).expect("create");
        f.write_all(&vec![7u8; (FILE_VMAS * MIB) as usize])
            .expect("write");
        f.sync_all().expect("fsync");
    }
    let anon = (11 * 1024 + 512) * 1024;
    let mut keep = Vec::new();
    for i in 0..ANON_VMAS {
        let rw = i % 2 == 0;
        let region = Region::open(&MapRequest {
            source: Source::Anon(anon),
            mode: MapMode::Private,
            offset: 0,
            len: None,
            prot: Some(if rw { Prot::RW } else { Prot::R }),
            write: true,
            place: Default::default(),
        })
        .expect("map anonymous");
        if rw {
            for p in 0..64 {
                region.write(p * 4096, &[1]).expect("write");
            }
        }
        keep.push(region);
    }
    for i in 0..FILE_VMAS {
        keep.push(
            Region::open(&MapRequest {
                source: Source::File(file.clone()),
                mode: MapMode::Shared,
                offset: i * MIB,
                len: Some(MIB),
                prot: Some(Prot::R),
                write: false,
                place: Default::default(),
            })
            .expect("map the file"),
        );
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    drop(keep);
}

/// The target, running; ended when dropped.
struct Target {
    child: Child,
    pid: u32,
}

impl Target {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("current_exe"))
            .env(SPRAWL, dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the target");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        assert_eq!(line.trim(), "ready");
        let pid = child.id();
        Self { child, pid }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Wall time of one run in ms, output to /dev/null; the run must succeed.
fn time_run(program: &str, args: &[String]) -> f64 {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?}: {status}");
    ms(start.elapsed())
}

/// Peak RSS in KiB of one run (`/usr/bin/time -f %M`).
fn peak_rss(program: &str, args: &[String], dir: &Path) -> Option<u64> {
    let out = dir.join("time.out");
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&out)
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(())?;
    std::fs::read_to_string(&out).ok()?.trim().parse().ok()
}

fn cpu_seconds(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}

/// In process: attach and draw the first frame (the address-space view), in ms.
fn first_screen_in_process(pid: u32) -> f64 {
    let start = Instant::now();
    let session = Session::attach(pid, None, false, true, (120, 40)).expect("attach");
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("tb");
    t.draw(|f| mmapscope::ui::render(&session.model, f))
        .expect("draw");
    ms(start.elapsed())
}

/// Median ms of `n` refreshes of `session`.
fn refreshes(session: &mut Session, n: usize) -> f64 {
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                session.refresh();
                ms(t.elapsed())
            })
            .collect(),
    )
}

/// The real binary in a pty: spawn to the address-space view, then idle CPU over 10 s.
fn tui(pid: u32) -> (f64, f64) {
    let pid_arg = pid.to_string();
    let start = Instant::now();
    let mut term = pty::Term::spawn(&["--pid".as_ref(), pid_arg.as_ref()], &[], 120, 40);
    let shown = term.wait_for("the address-space view", |t| {
        t.contains("address space ·") && t.contains("VMAs")
    });
    let first = ms(shown.saturating_duration_since(start));
    // Close the view: idle on the grid of a VMA, as a user reading it would.
    term.send("\x1b");
    std::thread::sleep(Duration::from_secs(1));
    let before = cpu_seconds(term.pid());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let cpu = (cpu_seconds(term.pid()) - before) / t0.elapsed().as_secs_f64() * 100.0;
    term.quit_cleanly();
    (first, cpu)
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    if let Some(dir) = std::env::var_os(SPRAWL) {
        sprawl(Path::new(&dir));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once as a test: skip.
    if !std::env::args().any(|a| a == "--bench") {
        println!("attach bench: run with `cargo bench --bench attach`");
        return;
    }
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let target = Target::start(dir.path());
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", target.pid)).expect("maps");
    let status = std::fs::read_to_string(format!("/proc/{}/status", target.pid)).expect("st");
    let vm = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap_or_default()
            .to_string()
    };
    println!(
        "target pid {}: {} VMAs; {}; {}",
        target.pid,
        maps.lines().count(),
        vm("VmSize:")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        vm("VmRSS:")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );

    let first = median(
        (0..11)
            .map(|_| first_screen_in_process(target.pid))
            .collect(),
    );
    let spec = format!("{}", PathBuf::from(dir.path()).join("sprawl.bin").display());
    let mut on_file =
        Session::attach(target.pid, Some(&spec), false, true, (120, 40)).expect("attach");
    let refresh_vma = refreshes(&mut on_file, 200);
    on_file.act(Action::OpenSpace);
    // Open, the view is read again once a second: the cost of one such read, and of a
    // refresh in between.
    let refresh_space = median(
        (0..20)
            .map(|_| {
                on_file.act(Action::CloseOverlay);
                let t = Instant::now();
                on_file.act(Action::OpenSpace);
                ms(t.elapsed())
            })
            .collect(),
    );
    let refresh_space_between = refreshes(&mut on_file, 50);
    let pid_of = mmapscope::sys::procmaps::Pid::Other(target.pid);
    let read_maps = median(
        (0..100)
            .map(|_| {
                let t = Instant::now();
                let _ = mmapscope::sys::procmaps::read_maps_of(pid_of);
                ms(t.elapsed())
            })
            .collect(),
    );
    let shown = on_file.model.snap.addr;
    let read_smaps = median(
        (0..100)
            .map(|_| {
                let t = Instant::now();
                let _ = mmapscope::sys::procmaps::read_vmas_of(pid_of, shown, shown + 1);
                ms(t.elapsed())
            })
            .collect(),
    );
    let mut on_stack =
        Session::attach(target.pid, Some("[stack]"), false, true, (120, 40)).expect("attach");
    let refresh_stack = refreshes(&mut on_stack, 100);
    println!("first screen (attach + address-space view drawn, in process): {first:.2} ms");
    println!("one refresh, [stack] shown (the last VMA): {refresh_stack:.3} ms");
    println!(
        "  of a refresh: maps read {read_maps:.3} ms, smaps up to the VMA shown {read_smaps:.3} ms"
    );
    println!("one refresh, a file VMA shown:            {refresh_vma:.3} ms");
    println!("opening the address-space view (all smaps): {refresh_space:.3} ms");
    println!("one refresh, the view open (read 1/s):    {refresh_space_between:.3} ms");

    let pid = target.pid.to_string();
    let mut tools: Vec<(&str, String, Vec<String>)> = vec![(
        "mmapscope inspect --vma all --json",
        BIN.to_string(),
        ["inspect", "--json", "--pid", &pid, "--vma", "all"]
            .map(String::from)
            .to_vec(),
    )];
    if installed("pmap") {
        tools.push(("pmap -X", "pmap".into(), vec!["-X".into(), pid.clone()]));
    }
    tools.push((
        "cat /proc/PID/smaps",
        "cat".into(),
        vec![format!("/proc/{pid}/smaps")],
    ));
    let mut samples = vec![Vec::new(); tools.len()];
    for _ in 0..11 {
        for (i, (_, program, args)) in tools.iter().enumerate() {
            samples[i].push(time_run(program, args));
        }
    }
    let medians: Vec<f64> = samples.into_iter().map(median).collect();
    println!("\n{:<36} {:>10} {:>12}", "tool", "median", "ratio");
    for ((name, _, _), m) in tools.iter().zip(&medians) {
        println!(
            "{name:<36} {:>7.1} ms {:>11.2}x",
            m,
            m / medians[medians.len() - 1]
        );
    }
    let rss = peak_rss(BIN, &tools[0].2, dir.path());
    println!(
        "peak RSS of inspect --vma all: {}",
        rss.map_or("n/a (/usr/bin/time missing)".into(), |k| format!(
            "{:.1} MB",
            k as f64 / 1024.0
        ))
    );

    let (tui_first, idle) = tui(target.pid);
    println!(
        "\nTUI in a pty: spawn to address-space view {tui_first:.0} ms; idle CPU {idle:.2}% of a core"
    );
    println!(
        "\ntargets: first screen < 50 ms: {}; refresh < 3 ms: {}; idle < 2%: {}; inspect all < 0.5 s: {}; RSS < 16 MB: {}",
        first < 50.0,
        refresh_vma < 3.0,
        idle < 2.0,
        medians[0] < 500.0,
        rss.is_some_and(|k| k < 16 * 1024)
    );
}
