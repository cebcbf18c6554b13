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
//! The second part, a process of 30,000 VMAs and one with an 8 GiB resident VMA (4 GiB when
//! MemAvailable is under 16 GiB; the bench says which): the idle CPU of the real binary in a pty
//! (utime + stime of /proc/PID/stat over 15 s) exploring `[stack]` (the last VMA), in the
//! address-space view, and with the resident VMA open; and the address-space view's open time
//! (in process: `Session::attach` and the first frame) interleaved with `pmap -X PID` and `cat
//! /proc/PID/smaps` on the 30,000-VMA target, as ratios.
//!
//! Run with `cargo bench --bench attach` (`MMAPSCOPE_BENCH_PART=big` or `=small` runs one part).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmapscope::action::{Action, SpaceAction, ViewAction};
use mmapscope::session::Session;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Prot, Source};

mod common;
use common::median;

// Not every bench uses every helper of the tests' pty driver.
#[allow(dead_code)]
#[path = "../tests/it/common/pty.rs"]
mod pty;

const BIN: &str = env!("CARGO_BIN_EXE_mmapscope");
const MIB: u64 = 1 << 20;
const ANON_VMAS: u64 = 900;
const FILE_VMAS: u64 = 100;
const SPRAWL: &str = "MMAPSCOPE_BENCH_SPRAWL";
/// The target maps this many small VMAs (the 30,000-VMA target).
const MANY: &str = "MMAPSCOPE_BENCH_MANY";
/// The target maps one anonymous VMA of this many bytes and writes every page of it.
const RESIDENT: &str = "MMAPSCOPE_BENCH_RESIDENT";
const MANY_VMAS: u64 = 30_000;
const GIB: u64 = 1 << 30;

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

/// The resident target's body: one anonymous VMA of `bytes`, every page written (1 MiB at a
/// time: page faults, as a program filling its memory takes them); then `ready ADDR`.
fn resident(bytes: u64) {
    let region = Region::open(&MapRequest::anon(bytes, MapMode::Private)).expect("map");
    let chunk = vec![5u8; MIB as usize];
    let mut at = 0;
    while at < bytes {
        region.write(at, &chunk).expect("write");
        at += MIB;
    }
    println!("ready 0x{:x}", region.addr());
    let _ = std::io::stdout().flush();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    drop(region);
}

/// The target, running; ended when dropped.
struct Target {
    child: Child,
    pid: u32,
}

impl Target {
    fn start(dir: &Path) -> Self {
        Self::with_env(SPRAWL, &dir.to_string_lossy()).0
    }

    /// This bench re-run with `key=value`; returns it and the rest of its `ready` line.
    fn with_env(key: &str, value: &str) -> (Self, String) {
        let mut child = Command::new(std::env::current_exe().expect("current_exe"))
            .env(key, value)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the target");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        let rest = line
            .trim()
            .strip_prefix("ready")
            .unwrap_or_else(|| panic!("the target said {line:?}"))
            .trim()
            .to_string();
        let pid = child.id();
        (Self { child, pid }, rest)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// In process, the address-space view open on `pid`: the median ms of one key of its filter
/// (`/`, then each character: the view sorts, filters and draws again), for a word and for an
/// address; and of `o` (sort by the next column) with the frame drawn.
fn filter_keys(pid: u32) -> (f64, f64, f64) {
    use mmapscope::action::PromptEdit;
    let mut session = Session::attach(pid, None, false, true, (120, 40)).expect("attach");
    // The counters come from smaps, read on the reader's thread after the first screen.
    let start = Instant::now();
    while session.model.space.totals.counted == 0 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
        session.refresh();
    }
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("tb");
    let mut key = |session: &mut Session, action: Action| {
        let start = Instant::now();
        session.act(action);
        t.draw(|f| mmapscope::ui::render(&session.model, f))
            .expect("draw");
        ms(start.elapsed())
    };
    let mut typed = |session: &mut Session, text: &str| {
        let mut times = vec![key(session, Action::Space(SpaceAction::FilterStart))];
        for c in text.chars() {
            times.push(key(
                session,
                Action::Space(SpaceAction::Filter(PromptEdit::Insert(c))),
            ));
        }
        key(
            session,
            Action::Space(SpaceAction::Filter(PromptEdit::Cancel)),
        );
        times
    };
    let addr = format!("0x{:x}", session.model.space.vmas[15_000].line.start + 5);
    let mut word = Vec::new();
    let mut at = Vec::new();
    for _ in 0..5 {
        word.extend(typed(&mut session, "anon"));
        at.extend(typed(&mut session, &addr));
    }
    let sort = (0..20)
        .map(|_| key(&mut session, Action::Space(SpaceAction::SortNext)))
        .collect::<Vec<_>>();
    (median(word), median(at), median(sort))
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
            .collect::<Vec<_>>(),
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

/// The real binary in a 120x40 pty with `args`: once `ready` holds on screen and 3 s more
/// have passed (first reads done), its CPU over `secs` seconds, in % of a core.
fn idle_cpu(args: &[&str], ready: impl Fn(&str) -> bool, secs: u64) -> f64 {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let mut term = pty::Term::spawn(&args, &[], 120, 40);
    term.wait_for("the screen of the case measured", ready);
    std::thread::sleep(Duration::from_secs(3));
    let before = cpu_seconds(term.pid());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let cpu = (cpu_seconds(term.pid()) - before) / t0.elapsed().as_secs_f64() * 100.0;
    // Esc closes the address-space view (where `q` would close it too, and not quit).
    term.send("\x1b");
    std::thread::sleep(Duration::from_millis(300));
    term.quit_cleanly();
    cpu
}

fn mem_available() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The second part: 30,000 VMAs, and a resident VMA of 8 GiB (or 4).
fn big() {
    let (target, _) = Target::with_env(MANY, &MANY_VMAS.to_string());
    let count = std::fs::read_to_string(format!("/proc/{}/maps", target.pid))
        .expect("maps")
        .lines()
        .count();
    println!("\n30,000-VMA target pid {}: {count} VMAs", target.pid);
    let pid = target.pid.to_string();
    let stack = idle_cpu(
        &["--pid", &pid, "--vma", "[stack]"],
        |t| t.contains("[stack]") && t.contains("smaps of"),
        15,
    );
    println!("idle CPU exploring [stack]:            {stack:.2}% of a core");
    let space = idle_cpu(
        &["--pid", &pid],
        |t| t.contains("address space ·") && t.contains("VMAs"),
        15,
    );
    println!("idle CPU in the address-space view:    {space:.2}% of a core");
    // Open time of the view, interleaved with what people use instead.
    let mut tools: Vec<(&str, String, Vec<String>)> = Vec::new();
    if installed("pmap") {
        tools.push(("pmap -X", "pmap".into(), vec!["-X".into(), pid.clone()]));
    }
    tools.push((
        "cat /proc/PID/smaps",
        "cat".into(),
        vec![format!("/proc/{pid}/smaps")],
    ));
    let mut ours = Vec::new();
    let mut theirs = vec![Vec::new(); tools.len()];
    for _ in 0..9 {
        ours.push(first_screen_in_process(target.pid));
        for (i, (_, program, args)) in tools.iter().enumerate() {
            theirs[i].push(time_run(program, args));
        }
    }
    let ours = median(ours);
    println!("address-space view open (attach + first frame, in process): {ours:.1} ms");
    for ((name, _, _), t) in tools.iter().zip(theirs) {
        let t = median(t);
        println!("  {name:<22} {t:>8.1} ms   view / {name}: {:.2}x", ours / t);
    }
    let (word, at, sort) = filter_keys(target.pid);
    println!(
        "a key of the view's filter, frame drawn: a word {word:.2} ms, an address {at:.2} ms; \
         o (sort) {sort:.2} ms"
    );
    let inspect = inspect_vs_pmap(&pid);
    println!(
        "\ntargets: view open < 100 ms: {}; filter key < 20 ms: {}; idle in the view < 2%: {}; \
         inspect <= 1.0x pmap -X: {}",
        ours < 100.0,
        word.max(at) < 20.0,
        space < 2.0,
        inspect.is_some_and(|r| r <= 1.0)
    );
    drop(target);

    let bytes = if mem_available() >= 16 * GIB {
        8 * GIB
    } else {
        4 * GIB
    };
    let (target, addr) = Target::with_env(RESIDENT, &bytes.to_string());
    let pid = target.pid.to_string();
    let t = Instant::now();
    let _ = std::fs::read(format!("/proc/{pid}/smaps"));
    println!(
        "\nresident target pid {pid}: {} GiB written at {addr}; one read of its smaps {:.0} ms",
        bytes / GIB,
        ms(t.elapsed())
    );
    let open = idle_cpu(
        &["--pid", &pid, "--vma", &addr],
        |t| t.contains("smaps of") && t.contains("Rss"),
        15,
    );
    println!("idle CPU with the resident VMA open:   {open:.2}% of a core");
    println!(
        "\ntargets (< 2% of a core): [stack] {}; address-space view {}; resident VMA {}",
        stack < 2.0,
        space < 2.0,
        open < 2.0
    );
}

/// `inspect --pid PID --json` and `pmap -X PID`, interleaved (9 pairs): prints the medians
/// and returns the median of the pairs' ratios (`None` without pmap).
fn inspect_vs_pmap(pid: &str) -> Option<f64> {
    if !installed("pmap") {
        return None;
    }
    let ours: Vec<String> = ["inspect", "--json", "--pid", pid]
        .map(String::from)
        .to_vec();
    let theirs = vec!["-X".to_string(), pid.to_string()];
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..9 {
        let x = time_run(BIN, &ours);
        let y = time_run("pmap", &theirs);
        a.push(x);
        b.push(y);
        r.push(x / y);
    }
    let ratio = median(r);
    println!(
        "inspect --pid PID --json {:.1} ms, pmap -X {:.1} ms: {ratio:.2}x (median of pairs)",
        median(a),
        median(b)
    );
    Some(ratio)
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
    if let Some(n) = std::env::var(MANY).ok().and_then(|n| n.parse().ok()) {
        common::many(n);
        return;
    }
    if let Some(n) = std::env::var(RESIDENT).ok().and_then(|n| n.parse().ok()) {
        resident(n);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once as a test: skip.
    if !std::env::args().any(|a| a == "--bench") {
        println!("attach bench: run with `cargo bench --bench attach`");
        return;
    }
    let part = std::env::var("MMAPSCOPE_BENCH_PART").unwrap_or_default();
    if part != "small" {
        big();
    }
    if part == "big" {
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
            .collect::<Vec<_>>(),
    );
    let spec = format!("{}", PathBuf::from(dir.path()).join("sprawl.bin").display());
    let mut on_file =
        Session::attach(target.pid, Some(&spec), false, true, (120, 40)).expect("attach");
    let refresh_vma = refreshes(&mut on_file, 200);
    on_file.act(Action::Space(SpaceAction::Open));
    // Open, the view is read again when its cost allows (the reading is kept meanwhile):
    // reopening it within that time, and a refresh in between.
    let refresh_space = median(
        (0..20)
            .map(|_| {
                on_file.act(Action::View(ViewAction::CloseOverlay));
                let t = Instant::now();
                on_file.act(Action::Space(SpaceAction::Open));
                ms(t.elapsed())
            })
            .collect::<Vec<_>>(),
    );
    let refresh_space_between = refreshes(&mut on_file, 50);
    let pid_of = mmapscope::sys::proc::maps::Pid::Other(target.pid);
    let read_maps = median(
        (0..100)
            .map(|_| {
                let t = Instant::now();
                let _ = mmapscope::sys::proc::maps::read_maps_of(pid_of);
                ms(t.elapsed())
            })
            .collect::<Vec<_>>(),
    );
    let shown = on_file.model.snap.shape.addr;
    let read_smaps = median(
        (0..100)
            .map(|_| {
                let t = Instant::now();
                let _ = mmapscope::sys::proc::maps::read_vmas_of(pid_of, shown, shown + 1);
                ms(t.elapsed())
            })
            .collect::<Vec<_>>(),
    );
    let mut on_stack =
        Session::attach(target.pid, Some("[stack]"), false, true, (120, 40)).expect("attach");
    let refresh_stack = refreshes(&mut on_stack, 100);
    println!("first screen (attach + address-space view drawn, in process): {first:.2} ms");
    println!("one refresh, [stack] shown (the last VMA): {refresh_stack:.3} ms");
    println!(
        "  reads paced by their cost: maps {read_maps:.3} ms, smaps up to the VMA shown {read_smaps:.3} ms"
    );
    println!("one refresh, a file VMA shown:            {refresh_vma:.3} ms");
    println!("reopening the address-space view (its reading kept): {refresh_space:.3} ms");
    println!("one refresh, the view open (smaps paced by cost): {refresh_space_between:.3} ms");

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

    let inspect = inspect_vs_pmap(&pid);
    println!(
        "inspect --pid PID --json <= 1.0x pmap -X: {}",
        inspect.is_some_and(|r| r <= 1.0)
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
