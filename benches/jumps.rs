//! Jumping to an address in a big process: the VMA of an address of a target with 30,000 VMAs
//! found with PROCMAP_QUERY through the process's handle (`sys::attach::locate`), beside the same
//! answer from a scan of its `/proc/PID/maps` text (what a kernel before 6.11 leaves, and what a
//! tool reading maps does), an address in a gap (the VMA below it bisected: ~48 ioctls), and the
//! whole jump as a key does it (`Session::act` of a goto to another VMA: locate, open the VMA,
//! probe it, read the rows on screen), alternating between two VMAs far apart.
//!
//! The target is this bench re-run with `MMAPSCOPE_BENCH_JUMPS=N`: N anonymous VMAs of two
//! pages, alternately read-only and read-write (neighbours never merge), the first page of each
//! read-write one written; it says `ready` and waits until its standard input closes.
//!
//! Run with `cargo bench --bench jumps`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use divan::{Bencher, black_box};
use mmapscope::action::{Action, GotoTarget, GridAction};
use mmapscope::session::Session;
use mmapscope::sys::attach::handle::ProcessHandle;
use mmapscope::sys::attach::locate::{Located, locate, locate_by_scan};
use mmapscope::sys::proc::maps::MapsLine;

mod common;

const TARGET: &str = "MMAPSCOPE_BENCH_JUMPS";
const VMAS: u64 = 30_000;

/// The target, its handle and its maps as read once.
struct Big {
    child: Child,
    handle: ProcessHandle,
    maps: Vec<MapsLine>,
}

static BIG: OnceLock<std::sync::Mutex<Big>> = OnceLock::new();

fn big() -> std::sync::MutexGuard<'static, Big> {
    BIG.get().expect("started in main").lock().expect("lock")
}

fn start() -> Big {
    let mut child = Command::new(std::env::current_exe().expect("current_exe"))
        .env(TARGET, VMAS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the target");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(line.trim(), "ready", "the target said {line:?}");
    let handle = ProcessHandle::open(child.id(), false).expect("attach");
    let maps = handle.maps().expect("maps");
    assert!(maps.len() as u64 >= VMAS, "{} VMAs", maps.len());
    Big {
        child,
        handle,
        maps,
    }
}

/// Addresses inside VMAs spread over the whole list (a jump anywhere).
fn inside(maps: &[MapsLine], n: usize) -> Vec<u64> {
    (0..n)
        .map(|i| {
            let l = &maps[i * 7919 % maps.len()];
            l.start + (l.end - l.start) / 2
        })
        .collect()
}

/// An address in a gap with VMAs on both sides.
fn in_a_gap(maps: &[MapsLine]) -> u64 {
    maps.windows(2)
        .find(|w| w[0].end < w[1].start)
        .map(|w| w[0].end + (w[1].start - w[0].end) / 2)
        .expect("a gap")
}

#[divan::bench(sample_count = 200)]
fn locate_by_procmap_query(bencher: Bencher) {
    let b = big();
    let addrs = inside(&b.maps, 64);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % addrs.len();
        let (found, _) = locate(&b.handle, black_box(addrs[i])).expect("locate");
        assert!(matches!(found, Located::Inside(_)));
        found
    });
}

#[divan::bench(sample_count = 100)]
fn locate_a_gap_by_procmap_query(bencher: Bencher) {
    let b = big();
    let addr = in_a_gap(&b.maps);
    bencher.bench_local(|| {
        let (found, _) = locate(&b.handle, black_box(addr)).expect("locate");
        assert!(matches!(
            found,
            Located::Gap {
                before: Some(_),
                after: Some(_)
            }
        ));
        found
    });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn locate_by_maps_scan(bencher: Bencher) {
    let b = big();
    let addrs = inside(&b.maps, 64);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % addrs.len();
        locate_by_scan(&b.handle, black_box(addrs[i])).expect("scan")
    });
}

/// The whole jump, as `:` then Enter does it: between the first VMA and the last, each a
/// different VMA from the one shown.
#[divan::bench(sample_count = 40, sample_size = 1)]
fn goto_another_vma_in_a_session(bencher: Bencher) {
    let b = big();
    let pid = b.child.id();
    let (first, last) = (
        b.maps[0].start + 0x10,
        b.maps[b.maps.len() - 2].start + 0x10,
    );
    let spec = format!("0x{first:x}");
    let mut s = Session::attach(pid, Some(&spec), false, true, (120, 40)).expect("attach");
    let mut to = [last, first].into_iter().cycle();
    bencher.bench_local(|| {
        let addr = to.next().expect("cycle");
        s.act(Action::Grid(GridAction::Goto(GotoTarget::Address(addr))));
        assert_eq!(s.model.snap.shape.addr + s.model.doc.cursor, addr);
    });
}

fn main() {
    if let Some(n) = std::env::var(TARGET).ok().and_then(|n| n.parse().ok()) {
        common::many(n);
        return;
    }
    assert!(
        BIG.set(std::sync::Mutex::new(start())).is_ok(),
        "one target"
    );
    divan::main();
    if let Some(b) = BIG.get() {
        let mut b = b.lock().expect("lock");
        drop(b.child.stdin.take());
        let _ = b.child.kill();
        let _ = b.child.wait();
    }
}
