//! The classroom experiments on the real kernel: mapped code run in a forked child, the peer
//! process writing into a shared file, and the global allocator's use of mmap.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use mmapscope::action::{Action, Op};
use mmapscope::session::Session;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Prot};
use mmapscope::sys::ops::outcome::Done;
use serde_json::Value;

use mmapscope::sys::lab::experiments::Landing;

use crate::common::*;

fn session(path: &Path, mode: MapMode) -> Session {
    let region = Region::open(&MapRequest {
        write: true,
        ..MapRequest::file(path.to_path_buf(), mode)
    })
    .unwrap();
    let mut s = Session::new(region, false, (120, 40));
    // Helper processes (the peer) run the real binary, not this test program.
    s.lab.helper = Some(env!("CARGO_BIN_EXE_mmapscope").into());
    s
}

fn file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("f");
    mmapscope::demo::write_to(&path).unwrap();
    path
}

fn done(s: &mut Session, op: Op) -> Done {
    let outcomes = s.act(Action::Do(op.clone()));
    let o = outcomes
        .last()
        .unwrap_or_else(|| panic!("{op:?} did nothing"));
    o.result.clone().unwrap_or_else(|e| panic!("{op:?}: {e}"))
}

#[test]
fn the_snippet_for_this_machine_returns_42_only_with_prot_exec() {
    let Ok(ret42) = mmapscope::sys::lab::experiments::snippet("ret42") else {
        return skip(
            "exec",
            &format!("no snippet for {}", std::env::consts::ARCH),
        );
    };
    let dir = temp_dir();
    let mut s = session(&file(dir.path()), MapMode::Shared);
    done(
        &mut s,
        Op::Write {
            offset: 0x100,
            bytes: ret42.to_vec(),
        },
    );
    let end = |d: Done| match d {
        Done::Called { end, .. } => end,
        other => panic!("{other:?}"),
    };
    use mmapscope::sys::map::region::ChildEnd;
    let without = end(done(
        &mut s,
        Op::Exec {
            offset: 0x100,
            args: (0, 0),
        },
    ));
    assert_eq!(
        without,
        ChildEnd::Signal(libc::SIGSEGV),
        "no PROT_EXEC: SIGSEGV"
    );
    done(&mut s, Op::Protect(Prot::parse("rx").unwrap()));
    let with = end(done(
        &mut s,
        Op::Exec {
            offset: 0x100,
            args: (0, 0),
        },
    ));
    assert_eq!(with, ChildEnd::Returned(42));
    // add(a, b) with arguments.
    done(&mut s, Op::Protect(Prot::parse("rwx").unwrap()));
    done(
        &mut s,
        Op::Write {
            offset: 0x200,
            bytes: mmapscope::sys::lab::experiments::snippet("add")
                .unwrap()
                .to_vec(),
        },
    );
    let sum = end(done(
        &mut s,
        Op::Exec {
            offset: 0x200,
            args: (1000, 234),
        },
    ));
    assert_eq!(sum, ChildEnd::Returned(1234));
    // Garbage (text) dies of a signal in the child; we are still here to say so.
    let garbage = end(done(
        &mut s,
        Op::Exec {
            offset: 0x10,
            args: (0, 0),
        },
    ));
    assert!(matches!(garbage, ChildEnd::Signal(_)), "{garbage:?}");
}

fn counter(s: &mut Session) -> String {
    match done(
        s,
        Op::Read {
            offset: 0x40,
            len: 8,
        },
    ) {
        Done::Read { bytes, .. } => String::from_utf8_lossy(&bytes).into_owned(),
        other => panic!("{other:?}"),
    }
}

/// Distinct values read at 0x40 over `window`, sampled every 50 ms.
fn observe(s: &mut Session, window: Duration) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let start = Instant::now();
    while start.elapsed() < window {
        seen.insert(counter(s));
        std::thread::sleep(Duration::from_millis(50));
    }
    seen
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}

#[test]
fn a_peer_is_seen_live_under_shared_and_not_after_our_private_copy() {
    let dir = temp_dir();
    let path = file(dir.path());
    let mut s = session(&path, MapMode::Shared);
    let pid = match done(&mut s, Op::PeerStart(Some(0x40))) {
        Done::PeerStarted { pid, .. } => pid,
        other => panic!("{other:?}"),
    };
    let seen = observe(&mut s, Duration::from_secs(2));
    assert!(
        seen.len() >= 3,
        "at least three counter values in 2 s: {seen:?}"
    );
    assert!(
        seen.iter().all(|v| v.bytes().all(|b| b.is_ascii_digit())),
        "{seen:?}"
    );

    // MAP_PRIVATE: the peer's writes still show until we write that page ourselves.
    done(&mut s, Op::Mode(MapMode::Private));
    let before = observe(&mut s, Duration::from_millis(800));
    assert!(before.len() >= 2, "still live before the copy: {before:?}");
    done(
        &mut s,
        Op::Write {
            offset: 0x100,
            bytes: b"mine".to_vec(),
        },
    );
    let after = observe(&mut s, Duration::from_millis(1500));
    assert_eq!(after.len(), 1, "frozen at the copy-on-write: {after:?}");
    assert!(alive(pid), "the peer runs on");
    done(&mut s, Op::PeerStop);
    assert!(!alive(pid), "gone after peer stop");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "and reaped"
    );
}

#[test]
fn the_peer_goes_away_with_its_parent_even_on_sigkill() {
    let dir = temp_dir();
    let path = file(dir.path());
    let script = dir.path().join("peer.txt");
    std::fs::write(&script, "peer start 0x40\nsleep 30000\n").unwrap();
    let mut child = mmapscope(&[
        "batch".as_ref(),
        "--write".as_ref(),
        path.as_os_str(),
        script.as_os_str(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .stdin(Stdio::null())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let j: Value = serde_json::from_str(&line).unwrap();
    let pid = u32::try_from(j["result"]["pid"].as_u64().unwrap()).unwrap();
    assert!(alive(pid));
    child.kill().unwrap(); // SIGKILL: no destructor runs in the parent
    child.wait().unwrap();
    let start = Instant::now();
    while alive(pid) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(pid),
        "the peer died with its parent (PR_SET_PDEATHSIG)"
    );
}

#[test]
fn malloc_uses_mmap_for_large_blocks_and_the_heap_for_small_ones() {
    let dir = temp_dir();
    let mut s = session(&file(dir.path()), MapMode::Shared);
    let big = match done(&mut s, Op::Alloc(64 << 20)) {
        Done::Allocated(a) => a,
        other => panic!("{other:?}"),
    };
    assert!(big.new_mapping(), "{big:?}");
    let line = big.mapping.clone().unwrap();
    let (start, end) = (line.start, line.end);
    let listed = |s: &Session| {
        s.model
            .snap
            .readings
            .maps
            .as_ref()
            .unwrap()
            .iter()
            .any(|l| l.start == start && l.end == end)
    };
    assert!(listed(&s), "the maps panel shows it");
    done(&mut s, Op::Free);
    assert!(!listed(&s), "and not after free");
    let small = match done(&mut s, Op::Alloc(64)) {
        Done::Allocated(a) => a,
        other => panic!("{other:?}"),
    };
    assert!(!small.new_mapping(), "{small:?}");
    // In [heap] from the main thread; a test thread's malloc uses its own arena (a mapping
    // that existed before): never a new mapping either way.
    assert!(
        matches!(
            small.landed,
            Landing::Heap | Landing::HeapGrew(_) | Landing::Existing
        ),
        "{small:?}"
    );
}
