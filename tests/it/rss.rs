//! The RSS explained, against the real kernel: the totals of a child's VMAs (smaps, one entry
//! each) equal what the kernel sums in `/proc/PID/smaps_rollup`; thread stacks are named by
//! their thread; `inspect --pid --json` carries the totals and each VMA's columns.
//!
//! The child is python3 (a program nobody here wrote) with three threads blocked on an event,
//! 2 MiB of `MAP_SHARED|MAP_ANONYMOUS` memory and 1 MiB of private anonymous memory written,
//! and a file mapped; it waits on its standard input. Tests skip (saying so) without python3.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use mmapscope::sys::attach::handle::ProcessHandle;
use mmapscope::sys::proc::maps::Vma;
use mmapscope::sys::proc::{process, rss};

use crate::common::{mmapscope, run, skip, tool};

const CHILD: &str = r#"
import mmap, os, sys, threading
shared = mmap.mmap(-1, 2 << 20)
shared.write(b"s" * (2 << 20))
private = mmap.mmap(-1, 1 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
private.write(b"p" * (1 << 20))
f = open(sys.argv[1], "rb")
mapped = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
total = sum(mapped[i] for i in range(0, len(mapped), 4096))
ev = threading.Event()
threads = [threading.Thread(target=ev.wait) for _ in range(3)]
for t in threads:
    t.start()
print("ready", flush=True)
sys.stdin.read()
ev.set()
"#;

/// The python3 child, running; killed when dropped.
struct Child3 {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Child3 {
    fn start(test: &str) -> Option<Self> {
        let Some(python) = tool("python3") else {
            skip(test, "python3 is not installed");
            return None;
        };
        let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
        let file = dir.path().join("data.bin");
        std::fs::write(&file, vec![7u8; 256 * 1024]).expect("write");
        let mut child = Command::new(python)
            .args(["-c", CHILD])
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        assert_eq!(line.trim(), "ready", "the child said {line:?}");
        Some(Self { child, _dir: dir })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Child3 {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The counters the rollup and the totals both have, in bytes: Rss, Pss, Private (clean +
/// dirty), Shared (clean + dirty), Swap, AnonHugePages, Anonymous.
fn rollup_figures(r: &Vma) -> [u64; 7] {
    let m = &r.memory;
    [
        m.rss,
        m.pss,
        m.private_clean + m.private_dirty,
        m.shared_clean + m.shared_dirty,
        m.swap,
        r.huge.anon_huge_pages,
        m.anonymous,
    ]
}

#[test]
fn totals_of_a_childs_vmas_equal_its_smaps_rollup() {
    let Some(child) = Child3::start("totals_of_a_childs_vmas_equal_its_smaps_rollup") else {
        return;
    };
    let handle = Arc::new(ProcessHandle::open(child.pid(), false).expect("attach"));
    // The kernel's numbers may move between two reads (a page reclaimed, a shared library
    // page mapped by another process meanwhile): read the rollup before and after the smaps of
    // every VMA, and compare only a reading the two rollups agree around (5 tries).
    let mut agreed = None;
    for _ in 0..5 {
        let before = handle.rollup().expect("rollup");
        let vmas = handle.vmas(0, u64::MAX).expect("smaps");
        let maps = handle.maps().expect("maps");
        let after = handle.rollup().expect("rollup");
        if rollup_figures(&before) == rollup_figures(&after) {
            agreed = Some((after, vmas, maps));
            break;
        }
    }
    let (rollup, vmas, maps) = agreed.expect("the rollup held still around one reading");
    let n = vmas.len() as u64;
    let summaries = process::summaries(maps, &vmas, &handle.exe(), None);
    let (summaries, note) = handle.labelled(summaries);
    let t = rss::totals(&summaries);
    let [r_rss, r_pss, r_private, r_shared, r_swap, r_huge, r_anon] = rollup_figures(&rollup);
    assert_eq!(t.rss, r_rss, "Rss");
    assert_eq!(t.private, r_private, "Private_Clean + Private_Dirty");
    assert_eq!(t.shared, r_shared, "Shared_Clean + Shared_Dirty");
    assert_eq!(t.swap, r_swap, "Swap");
    assert_eq!(t.anon_huge, r_huge, "AnonHugePages");
    assert_eq!(t.by_backing.anon, r_anon, "anonymous = Anonymous");
    // smaps prints each VMA's Pss cut to whole kB; the rollup sums before cutting once: the
    // sum of the cut values is below it by less than 1 kB a VMA.
    assert!(
        t.pss <= r_pss && r_pss - t.pss < n * 1024,
        "Pss {} against the rollup's {r_pss} ({n} VMAs)",
        t.pss
    );
    let kinds: u64 = t.by_kind.named().iter().map(|(_, b)| b).sum();
    let b = t.by_backing;
    assert_eq!(kinds, t.rss, "the kinds add up to Rss");
    assert_eq!(
        b.file + b.anon + b.shmem,
        t.rss,
        "the backings add up to Rss"
    );
    // What the child made: 2 MiB of shmem written, 1 MiB of private anonymous memory.
    assert!(b.shmem >= 2 << 20, "shmem {}", b.shmem);
    assert!(t.by_kind.shmem >= 2 << 20, "{:?}", t.by_kind);
    assert!(b.anon >= 1 << 20, "anon {}", b.anon);
    // Three threads blocked on an event: each stack named by its thread where readable.
    let named = summaries
        .iter()
        .filter(|v| v.kind == process::VmaKind::ThreadStack)
        .count();
    match note {
        None => assert_eq!(
            named,
            3,
            "{:?}",
            summaries.iter().map(|v| &v.label).collect::<Vec<_>>()
        ),
        Some(why) => eprintln!("thread stacks not all found: {why} ({named} named)"),
    }
    assert!(t.by_kind.thread_stack > 0 || named == 0);
}

#[test]
fn inspect_pid_json_has_the_totals_and_each_vmas_columns() {
    let Some(child) = Child3::start("inspect_pid_json_has_the_totals_and_each_vmas_columns") else {
        return;
    };
    let out = run(mmapscope(&[
        "inspect",
        "--json",
        "--pid",
        &child.pid().to_string(),
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let t = &all["totals"];
    let rss = t["rss"].as_u64().expect("totals.rss");
    assert!(rss > 3 << 20, "{t}");
    let sum = |o: &serde_json::Value| -> u64 {
        o.as_object()
            .expect("an object")
            .values()
            .map(|v| v.as_u64().expect("bytes"))
            .sum()
    };
    for key in [
        "program",
        "heap",
        "anon",
        "stack",
        "thread_stack",
        "library",
        "file",
        "shmem",
        "kernel",
    ] {
        assert!(t["by_kind"][key].is_u64(), "by_kind.{key}: {t}");
    }
    assert_eq!(sum(&t["by_kind"]), rss, "{t}");
    assert_eq!(sum(&t["by_backing"]), rss, "{t}");
    let vmas = all["vmas"].as_array().expect("vmas");
    let mut rss_of_vmas = 0;
    for v in vmas {
        for key in ["pss", "private", "shared", "swap"] {
            assert!(v[key].is_u64(), "{key} in {}", v["vma"]);
        }
        assert!(v["kind"].is_string());
        rss_of_vmas += v["vma"]["rss"].as_u64().unwrap_or(0);
    }
    assert_eq!(rss_of_vmas, rss, "the totals are the sum of the VMAs shown");
    assert!(
        vmas.iter().any(|v| v["kind"] == "shmem"),
        "the shared anonymous memory is shmem"
    );
    // The text report ends with the same totals, in words.
    let text = run(mmapscope(&["inspect", "--pid", &child.pid().to_string()]));
    let said = String::from_utf8_lossy(&text.stdout);
    let tail = &said[said.rfind("== totals:").expect("a totals line")..];
    assert!(
        tail.contains("by kind:") && tail.contains("shmem") && tail.contains("by backing: file"),
        "{tail}"
    );
}

/// The real binary in an 80x24 terminal on the python3 child: the view's totals, its threads'
/// stacks found by the filter, an address typed selects its VMA, `o` sorts by Rss.
#[test]
fn the_view_in_a_terminal_names_thread_stacks_and_finds_an_address() {
    let Some(child) =
        Child3::start("the_view_in_a_terminal_names_thread_stacks_and_finds_an_address")
    else {
        return;
    };
    let pid = child.pid().to_string();
    let heap = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .expect("maps")
        .lines()
        .find(|l| l.ends_with("[heap]"))
        .and_then(|l| l.split('-').next())
        .map(|s| u64::from_str_radix(s, 16).expect("hex"))
        .expect("python3 has a heap");
    let mut term = crate::common::pty::Term::spawn(&["--pid".as_ref(), pid.as_ref()], &[], 80, 24);
    term.wait_for("the view with its totals (smaps read)", |t| {
        t.contains("address space ·") && t.contains("file-backed") && t.contains("USS ")
    });
    term.send("/thread");
    term.wait_for("the three threads' stacks", |t| {
        t.matches("stack of thread").count() == 3 && t.contains("3 of ")
    });
    // Esc alone: a key right after it would read as Alt and that key.
    let esc = |term: &mut crate::common::pty::Term| {
        term.send("\x1b");
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    esc(&mut term);
    term.wait_for("the filter cleared", |t| !t.contains("/thread"));
    term.send(&format!("/0x{:x}", heap + 0x10));
    term.wait_for("the heap found by its address", |t| {
        t.contains(&format!("0x{:x} is in [heap] (+0x10)", heap + 0x10))
    });
    term.send("\r");
    term.send("o");
    term.wait_for("sorted by Rss", |t| t.contains("▼Rss"));
    esc(&mut term);
    term.quit_cleanly();
}
