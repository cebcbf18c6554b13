//! Debugging another process (`--pid`): the tests start `mmapscope demo-writer`, a small
//! program that maps a file shared, dirties pages of it and grows its heap, and look at it
//! the way a user would: `inspect --pid`, a session attached to it, and the explorer in our
//! own process. What mmapscope says is checked against the kernel's own answers, read here
//! independently (the child's /proc/PID/pagemap, cachestat through the file).

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use mmapscope::action::{Action, EditAction, Op, PageMapAction, SpaceAction, ViewAction};
use mmapscope::session::Session;
use serde_json::Value;

use crate::common;
use crate::common::pty;
use crate::common::{Writer, as_unprivileged, clean_file, expand_runs, mmapscope, page_size, run};

/// The child's VMA of `path` in its maps: (start, end).
fn vma_of(pid: u32, path: &Path) -> (u64, u64) {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let line = maps
        .lines()
        .find(|l| l.ends_with(path.to_str().expect("utf-8 path")))
        .expect("the file is mapped");
    let range = line.split_whitespace().next().expect("range");
    let (a, b) = range.split_once('-').expect("a-b");
    (
        u64::from_str_radix(a, 16).expect("hex"),
        u64::from_str_radix(b, 16).expect("hex"),
    )
}

/// Bit 63 (present) of the child's pagemap for each page of `[start, end)`.
fn present_in_pagemap(pid: u32, start: u64, end: u64) -> Vec<bool> {
    let f = std::fs::File::open(format!("/proc/{pid}/pagemap")).expect("open pagemap");
    let ps = page_size();
    let n = ((end - start) / ps) as usize;
    let mut buf = vec![0u8; n * 8];
    f.read_exact_at(&mut buf, start / ps * 8)
        .expect("read pagemap");
    buf.chunks(8)
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")) & (1 << 63) != 0)
        .collect()
}

/// cachestat's dirty count for each page of the file (through our own descriptor).
fn dirty_in_cache(path: &Path, pages: u64) -> Vec<bool> {
    let f = std::fs::File::open(path).expect("open");
    let ps = page_size();
    (0..pages)
        .map(|p| {
            mmapscope::sys::map::region::cachestat(&f, p * ps, ps)
                .expect("cachestat")
                .nr_dirty
                > 0
        })
        .collect()
}

fn inspect_json(pid: u32, vma: &str) -> Value {
    let out = run({
        let mut c = mmapscope(&["inspect", "--json", "--pid"]);
        c.arg(pid.to_string()).args(["--vma", vma]);
        c
    });
    assert!(
        out.status.success(),
        "inspect --pid {pid} --vma {vma}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn inspect_of_a_writer_agrees_with_its_pagemap_and_with_cachestat() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let pages = 64;
    let file = clean_file(dir.path(), pages);
    let writer = Writer::start(&file, 6);
    assert!(!writer.pages.is_empty());
    let report = inspect_json(writer.pid, file.to_str().expect("utf-8"));
    // Read right after, while the writer waits without touching anything.
    let (start, end) = vma_of(writer.pid, &file);
    let present = present_in_pagemap(writer.pid, start, end);
    let dirty = dirty_in_cache(&file, pages);

    assert_eq!(report["mapping"]["addr"], format!("0x{start:x}"));
    assert_eq!(report["mapping"]["mode"], "shared");
    let per_page = expand_runs(&report);
    assert_eq!(per_page.len() as u64, pages);
    for (p, run) in per_page.iter().enumerate() {
        assert_eq!(
            run["present"].as_bool(),
            Some(present[p]),
            "page {p}: present as the child's own pagemap says"
        );
        assert_eq!(
            run["dirty"].as_bool(),
            Some(dirty[p]),
            "page {p}: dirty as cachestat says"
        );
    }
    for &p in &writer.pages {
        assert!(
            present[p as usize],
            "a page the writer stored into is present"
        );
        assert_eq!(per_page[p as usize]["resident"], true, "page {p}");
    }
    assert!(
        report["sources"]["mincore"]
            .as_str()
            .is_some_and(|s| s.starts_with("n/a")),
        "mincore cannot see another process: {}",
        report["sources"]
    );
}

#[test]
fn the_heap_and_every_vma_are_found() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = clean_file(dir.path(), 8);
    let writer = Writer::start(&file, 4);
    let heap = inspect_json(writer.pid, "[heap]");
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", writer.pid)).expect("maps");
    let line = maps
        .lines()
        .find(|l| l.ends_with("[heap]"))
        .expect("the writer has a heap");
    let start = line.split('-').next().expect("start");
    assert_eq!(heap["mapping"]["addr"], format!("0x{start}"));
    assert_eq!(heap["mapping"]["kind"], "anonymous");
    assert!(
        heap["summary"]["present"].as_u64().expect("present") > 0,
        "the heap the writer filled has present pages: {}",
        heap["summary"]
    );

    let all = inspect_json(writer.pid, "all");
    assert_eq!(all["pid"], writer.pid);
    let vmas = all["vmas"].as_array().expect("vmas");
    assert_eq!(vmas.len(), maps.lines().count(), "one report per maps line");
    assert!(
        vmas.iter()
            .any(|v| v["vma"]["path"] == file.to_str().expect("utf-8"))
    );
    assert!(vmas.iter().any(|v| v["vma"]["path"] == "[heap]"));
}

/// Another process's private anonymous memory: mincore cannot ask, but a page that is not in
/// its page tables holds nothing in memory, so the minimap knows residency there (it drew `?`
/// for the untouched pages of a heap before) and it equals the present pages.
#[test]
fn the_minimap_of_another_processs_heap_knows_residency_from_its_page_tables() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = clean_file(dir.path(), 2);
    let writer = Writer::start(&file, 1);
    let session =
        Session::attach(writer.pid, Some("[heap]"), false, true, (120, 40)).expect("attach");
    let buckets: Vec<_> = session
        .model
        .seen
        .minimap
        .chunks
        .iter()
        .filter_map(|c| c.bucket)
        .collect();
    assert!(!buckets.is_empty(), "the heap's minimap was probed");
    for b in &buckets {
        assert!(b.present.is_some(), "{b:?}");
        assert_eq!(b.resident, b.present, "{b:?}");
    }
    assert!(buckets.iter().any(|b| b.present > Some(0)), "{buckets:?}");
}

#[test]
fn a_session_follows_the_writer_until_it_exits_and_keeps_the_last_state() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = clean_file(dir.path(), 8);
    let mut writer = Writer::start(&file, 3);
    let spec = file.to_str().expect("utf-8");
    let mut session =
        Session::attach(writer.pid, Some(spec), false, true, (120, 40)).expect("attach");
    let looking = session
        .model
        .space
        .looking
        .clone()
        .expect("looking at the writer");
    assert_eq!(looking.pid, writer.pid);
    assert!(looking.process.starts_with(&format!("pid {} ", writer.pid)));
    assert!(looking.ended.is_none());
    let addr = session.model.snap.shape.addr;

    // Without --write a write is refused, and the file is unchanged.
    let outcomes = session.act(Action::Do(Op::Write {
        offset: 0,
        bytes: b"X".to_vec(),
    }));
    let err = outcomes[0].result.as_ref().expect_err("read-only");
    assert_eq!(err.errno, libc::EACCES, "{err}");

    writer.end();
    session.refresh();
    let looking = session.model.space.looking.clone().expect("still looking");
    assert!(
        looking
            .ended
            .as_deref()
            .is_some_and(|w| w.contains("exited")),
        "{looking:?}"
    );
    assert!(
        session
            .model
            .log
            .lines
            .iter()
            .any(|l| l.text.contains("exited")),
        "the log says the process exited"
    );
    assert_eq!(session.model.snap.shape.addr, addr, "the last state stays");
}

#[test]
fn with_write_a_store_goes_into_the_process_and_reaches_its_shared_file() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = clean_file(dir.path(), 4);
    let writer = Writer::start(&file, 1);
    let spec = file.to_str().expect("utf-8");
    let mut session =
        Session::attach(writer.pid, Some(spec), true, false, (120, 40)).expect("attach");
    let outcomes = session.act(Action::Do(Op::Write {
        offset: page_size() + 8,
        bytes: b"OK".to_vec(),
    }));
    let done = outcomes[0].result.as_ref().expect("written");
    let json = serde_json::to_value(done).expect("json");
    assert_eq!(json["old"], "2e2e", "what was there: {json}");
    assert!(
        outcomes[0].call.starts_with("pwrite(/proc/"),
        "{}",
        outcomes[0].call
    );
    let mut back = [0u8; 2];
    std::fs::File::open(&file)
        .expect("open")
        .read_exact_at(&mut back, page_size() + 8)
        .expect("read");
    assert_eq!(
        &back, b"OK",
        "the writer's MAP_SHARED page is the file's page"
    );
    // Everything else belongs to the mapping we make, not to another process's VMA.
    let outcomes = session.act(Action::Do(Op::Touch(0)));
    let err = outcomes[0].result.as_ref().expect_err("not ours");
    assert_eq!(err.errno, libc::EPERM, "{err}");
}

#[test]
fn exploring_our_own_heap_and_coming_back() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = clean_file(dir.path(), 4);
    let region =
        mmapscope::sys::map::region::Region::open(&mmapscope::sys::map::request::MapRequest {
            source: mmapscope::sys::map::request::Source::File(file.clone()),
            mode: mmapscope::sys::map::request::MapMode::Shared,
            offset: 0,
            len: None,
            prot: None,
            write: false,
            place: Default::default(),
        })
        .expect("map");
    let ours = region.addr();
    let mut s = Session::new(region, true, (120, 40));
    s.act(Action::Space(SpaceAction::Open));
    let space = s.model.space.vmas.clone();
    let heap = space
        .iter()
        .position(|v| v.line.path == "[heap]")
        .expect("a heap in the address-space view");
    let here = space
        .iter()
        .position(|v| v.line.start <= ours && ours < v.line.end)
        .expect("our mapping in the view");
    assert_eq!(
        s.model.screen.overlay,
        mmapscope::model::Overlay::Space { selected: here },
        "the view opens on the VMA shown"
    );
    s.act(Action::Space(SpaceAction::Move(heap as i64 - here as i64)));
    s.act(Action::Space(SpaceAction::Explore));
    let looking = s.model.space.looking.clone().expect("exploring");
    assert_eq!(looking.vma, "[heap]");
    assert_eq!(s.model.snap.shape.addr, space[heap].line.start);
    assert!(
        s.model.snap.probed.bytes.data.iter().any(Option::is_some),
        "present heap bytes are read"
    );
    // Never a store into our own memory outside the mapping we made.
    let outcomes = s.act(Action::Do(Op::Write {
        offset: 0,
        bytes: vec![0],
    }));
    assert_eq!(
        outcomes[0].result.as_ref().expect_err("refused").errno,
        libc::EPERM
    );
    s.act(Action::Space(SpaceAction::Back));
    assert!(s.model.space.looking.is_none());
    assert_eq!(s.model.snap.shape.addr, ours, "back on our mapping");
}

#[test]
fn another_users_process_is_refused_with_the_reason() {
    // pid 1 belongs to root; run unprivileged (nobody when we are root).
    let cmd = match as_unprivileged(&["inspect".as_ref(), "--pid".as_ref(), "1".as_ref()]) {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIPPED another_users_process_is_refused...: {why}");
            return;
        }
    };
    let out = run(cmd);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("belongs to user 0") || err.contains("ptrace_scope"),
        "names the reason: {err}"
    );
    assert!(out.stdout.is_empty(), "nothing half-written");
}

#[test]
fn pid_1_refused_to_root_says_why_without_run_as_root() {
    const TEST: &str = "pid_1_refused_to_root_says_why_without_run_as_root";
    if !common::is_root() {
        return common::skip(TEST, "not root: the refusal rightly says to run as root");
    }
    let out = run(mmapscope(&["inspect", "--pid", "1", "--vma", "all"]));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        return common::skip(TEST, "pid 1 may be looked into here: nothing is refused");
    }
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("pid 1 ("), "names the process: {err}");
    assert!(!err.contains("run as root"), "we are root: {err}");
    assert!(
        err.contains("CAP_SYS_PTRACE"),
        "says what root holds or lacks: {err}"
    );
    // What it says of capabilities is what /proc says: pid 1's beyond our bounding set.
    let caps = |pid: &str, field: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix(field))
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            })
            .unwrap_or(0)
    };
    let beyond = caps("1", "CapPrm:") & !caps("self", "CapBnd:");
    assert_eq!(
        err.contains("outside this process's bounding set"),
        beyond != 0,
        "{err}"
    );
}

#[test]
fn no_such_process_and_no_such_vma_are_clear_errors() {
    let out = run({
        let mut c = mmapscope(&["inspect", "--pid"]);
        c.arg(i32::MAX.to_string());
        c
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such process"));

    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = clean_file(dir.path(), 2);
    let writer = Writer::start(&file, 1);
    let out = run({
        let mut c = mmapscope(&["inspect", "--pid"]);
        c.arg(writer.pid.to_string())
            .args(["--vma", "no-such-library.so"]);
        c
    });
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-library.so"), "{err}");
}

/// The status field `name` of process `pid` (`State:` -> `Z (zombie)`).
fn status_of(pid: u32, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
}

/// `inspect --pid PID` and the explorer's attach both refuse with `words`.
fn refused_both_ways(pid: u32, words: &[&str]) {
    let out = run({
        let mut c = mmapscope(&["inspect", "--pid"]);
        c.arg(pid.to_string());
        c
    });
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "nothing half-written: {err}");
    let attached = Session::attach(pid, None, false, false, (80, 24))
        .err()
        .expect("attach refused")
        .to_string();
    for text in [&err, &attached] {
        for w in words {
            assert!(text.contains(w), "{w:?} in: {text}");
        }
        assert!(!text.contains("the kernel refused"), "{text}");
    }
}

#[test]
fn a_zombie_and_a_kernel_thread_are_named_not_a_refused_pagemap() {
    // A child of ours that has exited and is not reaped yet is a zombie.
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    let deadline = std::time::Instant::now() + common::DEADLINE;
    while !status_of(pid, "State:").is_some_and(|s| s.starts_with('Z')) {
        assert!(
            std::time::Instant::now() < deadline,
            "pid {pid} never exited"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    refused_both_ways(pid, &["has exited", "zombie", "until its parent reaps it"]);
    child.wait().expect("reap");

    // A kernel thread: any task whose status says `Kthread: 1` (none in some containers).
    let kthread = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|&p| status_of(p, "Kthread:").as_deref() == Some("1"));
    match kthread {
        Some(pid) => refused_both_ways(pid, &["is a kernel thread", "no address space"]),
        None => common::skip(
            "a_zombie_and_a_kernel_thread_are_named_not_a_refused_pagemap (kernel thread part)",
            "no task with `Kthread: 1` is visible in /proc here",
        ),
    }
}

/// A process that maps something and waits: `mmapscope batch` with `args` running a script of
/// sleeps (nothing in it touches the mapping), started through `wrap` (`setarch -R`, `setpriv
/// ...`) when given; killed and reaped when dropped.
struct Sleeper {
    child: std::process::Child,
    pid: u32,
}

impl Sleeper {
    fn start(dir: &Path, wrap: &[&std::ffi::OsStr], args: &[&str]) -> Self {
        Self::start_bin(Path::new(common::BIN), dir, wrap, args)
    }

    fn start_bin(bin: &Path, dir: &Path, wrap: &[&std::ffi::OsStr], args: &[&str]) -> Self {
        let script = dir.join(format!("sleep-{}.txt", args.join("_").replace('/', "_")));
        std::fs::write(&script, "sleep 60000\n".repeat(5)).expect("script");
        let (program, first) = match wrap.split_first() {
            Some((p, rest)) => (std::ffi::OsStr::new(p), rest.to_vec()),
            None => (bin.as_os_str(), Vec::new()),
        };
        let mut cmd = std::process::Command::new(program);
        cmd.args(first);
        if !wrap.is_empty() {
            cmd.arg(bin);
        }
        let child = cmd
            .arg("batch")
            .args(args)
            .arg(&script)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the sleeper");
        let pid = child.id();
        Self { child, pid }
    }

    /// Waits until its maps show a VMA starting at `addr` (it has mapped what it was asked).
    fn wait_for_vma(&self, addr: u64) -> (u64, u64) {
        let deadline = std::time::Instant::now() + common::DEADLINE;
        loop {
            if let Some(range) = std::fs::read_to_string(format!("/proc/{}/maps", self.pid))
                .ok()
                .and_then(|m| {
                    m.lines().find_map(|l| {
                        let (a, b) = l.split_whitespace().next()?.split_once('-')?;
                        let a = u64::from_str_radix(a, 16).ok()?;
                        (a == addr).then(|| (a, u64::from_str_radix(b, 16).unwrap_or(a)))
                    })
                })
            {
                return range;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pid {} never mapped 0x{addr:x}",
                self.pid
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the sleepers put their mappings (MAP_FIXED_NOREPLACE: the same address in any
/// process, whatever ASLR does).
const ANON_AT: u64 = 0x3000_0000_0000;
const NONE_AT: u64 = 0x3100_0000_0000;
const FILE_AT: u64 = 0x3200_0000_0000;

/// The child's present pages of `[start, end)`, from its own pagemap.
fn present_count(pid: u32, start: u64, end: u64) -> usize {
    present_in_pagemap(pid, start, end)
        .into_iter()
        .filter(|p| *p)
        .count()
}

/// Every way the explorer opens one VMA of `pid` (at `addr`): attached with `--vma`, with
/// refreshes, a key refresh and the page map; and attached without (the address-space view),
/// the VMA chosen there and opened with Enter, refreshed again.
fn explore_every_way(pid: u32, addr: u64) {
    let spec = format!("0x{addr:x}");
    let mut s = Session::attach(pid, Some(&spec), false, true, (120, 40)).expect("attach");
    assert_eq!(s.model.snap.shape.addr, addr);
    for _ in 0..3 {
        s.refresh();
    }
    s.act(Action::View(ViewAction::Refresh));
    s.act(Action::PageMap(PageMapAction::Open));
    s.act(Action::View(ViewAction::CloseOverlay));
    drop(s);
    let mut s = Session::attach(pid, None, false, true, (120, 40)).expect("attach");
    let at = s
        .model
        .space
        .vmas
        .iter()
        .position(|v| v.line.start == addr)
        .expect("the VMA in the address-space view");
    let here = match s.model.screen.overlay {
        mmapscope::model::Overlay::Space { selected } => selected,
        ref other => panic!("the address-space view is open: {other:?}"),
    };
    s.act(Action::Space(SpaceAction::Move(at as i64 - here as i64)));
    s.act(Action::Space(SpaceAction::Explore));
    assert_eq!(s.model.snap.shape.addr, addr, "Enter explores it");
    for _ in 0..3 {
        s.refresh();
    }
}

#[test]
fn looking_through_the_explorer_faults_nothing_in_and_reads_no_file() {
    let dir = common::temp_dir();
    let ps = page_size();
    let file = dir.path().join("cold.bin");
    std::fs::write(&file, vec![b'c'; (256 * ps) as usize]).expect("write");
    let f = std::fs::File::open(&file).expect("open");
    f.sync_all().expect("fsync");
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).expect("evict");
    let cached = || {
        mmapscope::sys::map::region::cachestat(&f, 0, 256 * ps)
            .expect("cachestat")
            .nr_cache
    };
    let before_cache = cached();
    let anon = Sleeper::start(
        dir.path(),
        &[],
        &[
            "--anon",
            "64k",
            "--private",
            "--addr",
            "0x300000000000",
            "--fixed",
        ],
    );
    let none = Sleeper::start(
        dir.path(),
        &[],
        &[
            "--anon",
            "64k",
            "--private",
            "--prot",
            "none",
            "--addr",
            "0x310000000000",
            "--fixed",
        ],
    );
    let path = file.to_str().expect("utf-8");
    let mapped = Sleeper::start(
        dir.path(),
        &[],
        &["--addr", "0x320000000000", "--fixed", path],
    );
    for (who, addr) in [(&anon, ANON_AT), (&none, NONE_AT), (&mapped, FILE_AT)] {
        let (start, end) = who.wait_for_vma(addr);
        assert_eq!(
            present_count(who.pid, start, end),
            0,
            "pid {}: untouched before we look",
            who.pid
        );
        explore_every_way(who.pid, addr);
        assert_eq!(
            present_count(who.pid, start, end),
            0,
            "pid {} 0x{addr:x}: looking made a page present",
            who.pid
        );
    }
    assert_eq!(
        cached(),
        before_cache,
        "the mapped file's page cache is as it was: nothing was read from it"
    );
}

/// `/proc/sys/kernel/ns_last_pid` set so that the next process gets `pid`, then `start`ed;
/// retried when another process takes the pid first. `None` when it never got it.
fn start_at_pid<T>(pid: u32, start: impl Fn() -> T, pid_of: impl Fn(&T) -> u32) -> Option<T> {
    for _ in 0..200 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).ok()?;
        let t = start();
        if pid_of(&t) == pid {
            return Some(t);
        }
    }
    None
}

/// The byte at `addr` in process `pid`, read by the test itself.
fn byte_of(pid: u32, addr: u64) -> u8 {
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open mem");
    let mut b = [0u8; 1];
    mem.read_exact_at(&mut b, addr).expect("read mem");
    b[0]
}

#[test]
fn a_pid_reused_after_exit_is_never_read_or_written() {
    const TEST: &str = "a_pid_reused_after_exit_is_never_read_or_written";
    if !common::is_root() {
        return common::skip(TEST, "choosing the next pid (ns_last_pid) needs root");
    }
    let dir = common::temp_dir();
    let args = [
        "--anon",
        "64k",
        "--private",
        "--addr",
        "0x300000000000",
        "--fixed",
    ];
    let mut first = Sleeper::start(dir.path(), &[], &args);
    first.wait_for_vma(ANON_AT);
    let mut s = Session::attach(first.pid, Some("0x300000000000"), true, false, (120, 40))
        .expect("attach with --write");
    let wrote = s.act(Action::Do(Op::Write {
        offset: 0,
        bytes: vec![0x5a],
    }));
    assert!(
        wrote[0].result.is_ok(),
        "a write while it lives: {:?}",
        wrote[0].result
    );
    assert_eq!(byte_of(first.pid, ANON_AT), 0x5a);
    let pid = first.pid;
    let _ = first.child.kill();
    let _ = first.child.wait();
    let Some(second) = start_at_pid(
        pid,
        || Sleeper::start(dir.path(), &[], &args),
        |t: &Sleeper| t.pid,
    ) else {
        return common::skip(
            TEST,
            &format!("pid {pid} was always taken by another process"),
        );
    };
    let (start, end) = second.wait_for_vma(ANON_AT);
    s.refresh();
    let looking = s.model.space.looking.clone().expect("looking");
    assert_eq!(looking.ended.as_deref(), Some("exited"), "{looking:?}");
    assert!(!looking.reopen, "an exit is not reopened");
    assert!(
        s.model
            .log
            .lines
            .iter()
            .any(|l| l.text.contains("exited") && l.text.contains("writes are refused")),
        "the log says it: {:?}",
        s.model.log.lines.last()
    );
    // A new write, and the undo of the first one: both would land at 0x300000000000 of the
    // new process if they went by pid.
    for action in [
        Action::Do(Op::Write {
            offset: 0,
            bytes: vec![0x77],
        }),
        Action::Do(Op::Undo),
    ] {
        let out = s.act(action);
        let err = out
            .last()
            .and_then(|o| o.result.as_ref().err())
            .unwrap_or_else(|| panic!("refused: {out:?}"));
        assert_eq!(err.errno, libc::ESRCH, "{err}");
        assert!(err.explanation.contains("0 bytes landed"), "{err}");
    }
    assert_eq!(
        present_count(second.pid, start, end),
        0,
        "nothing reached the new process's page (it is still untouched)"
    );
    assert_eq!(byte_of(second.pid, ANON_AT), 0, "its memory is its own");
}

#[test]
fn a_target_that_calls_exec_is_said_never_written_and_enter_reopens_it() {
    const TEST: &str = "a_target_that_calls_exec_is_said_never_written_and_enter_reopens_it";
    let Some(setarch) = common::tool("setarch") else {
        return common::skip(TEST, "setarch(8) (util-linux) is not installed");
    };
    // Without address randomization the old and the new program's stacks share their top.
    let mut child = Killed(
        std::process::Command::new(setarch)
            .args(["-R", "sh", "-c", "read x; exec sleep 1000"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn sh"),
    );
    let pid = child.0.id();
    let comm = || {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let wait_comm = |want: &str| {
        let deadline = std::time::Instant::now() + common::DEADLINE;
        while comm() != want {
            assert!(
                std::time::Instant::now() < deadline,
                "pid {pid} is {}",
                comm()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    wait_comm("sh");
    let mut s = Session::attach(pid, Some("[stack]"), true, true, (120, 40)).expect("attach");
    let old_stack = (s.model.snap.shape.addr, s.model.snap.end_addr());
    std::io::Write::write_all(child.0.stdin.as_mut().expect("stdin"), b"go\n").expect("go");
    wait_comm("sleep");
    let new_stack = common::vma_range(pid, "[stack]");
    let top = old_stack.1 - 8;
    assert!(
        (new_stack.0..new_stack.1).contains(&top),
        "both stacks hold 0x{top:x}: old {old_stack:x?}, new {new_stack:x?}"
    );
    let before = byte_of(pid, top);
    s.refresh();
    let looking = s.model.space.looking.clone().expect("looking");
    assert_eq!(
        looking.ended.as_deref(),
        Some("called exec: Enter reopens it"),
        "{looking:?}"
    );
    assert!(looking.reopen);
    let header = draw_header(&s);
    assert!(header.contains("called exec: Enter reopens it"), "{header}");
    let out = s.act(Action::Do(Op::Write {
        offset: top - old_stack.0,
        bytes: vec![before ^ 0xff],
    }));
    let err = out[0].result.as_ref().expect_err("refused after exec");
    assert_eq!(err.errno, libc::ESRCH, "{err}");
    assert!(err.explanation.contains("called exec"), "{err}");
    assert_eq!(
        byte_of(pid, top),
        before,
        "the new program's stack is untouched"
    );
    // Enter reopens: a new handle on the same process, its new program.
    s.act(Action::Edit(EditAction::Start));
    let looking = s.model.space.looking.clone().expect("looking");
    assert_eq!(looking.ended, None, "{looking:?}");
    assert_eq!(looking.process, format!("pid {pid} sleep"));
    assert!(
        s.model
            .log
            .lines
            .iter()
            .any(|l| l.text.contains("reopened after exec")),
        "{:?}",
        s.model.log.lines.last()
    );
}

/// A child killed and reaped when dropped (a failing test leaves nothing running).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line of the screen drawn from the session's model.
fn draw_header(s: &Session) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("tb");
    t.draw(|f| mmapscope::ui::render(&s.model, f))
        .expect("draw");
    let buf = t.backend().buffer().clone();
    (0..buf.area.width)
        .map(|x| buf[(x, 0)].symbol().to_string())
        .collect()
}

#[test]
fn writes_land_only_where_the_process_may_write_and_all_or_nothing() {
    let dir = common::temp_dir();
    let ps = page_size();
    let file = dir.path().join("short.bin");
    std::fs::write(&file, vec![b'.'; ps as usize]).expect("write");
    // 4 pages of a 1-page file, shared and writable: pages 1-3 lie beyond end of file.
    let sleeper = Sleeper::start(
        dir.path(),
        &[],
        &[
            "--write",
            "--len",
            "16k",
            "--addr",
            "0x320000000000",
            "--fixed",
            file.to_str().expect("utf-8"),
        ],
    );
    sleeper.wait_for_vma(FILE_AT);
    let program = std::fs::read_link(format!("/proc/{}/exe", sleeper.pid)).expect("exe");
    let text = common::vma_range(sleeper.pid, program.to_str().expect("utf-8"));
    let spec = format!("0x{:x}", text.0);
    let mut s = Session::attach(sleeper.pid, Some(&spec), true, false, (120, 40)).expect("attach");
    let before = byte_of(sleeper.pid, text.0);
    let out = s.act(Action::Do(Op::Write {
        offset: 0,
        bytes: vec![before ^ 0xff],
    }));
    let err = out[0].result.as_ref().expect_err("a read-only VMA");
    assert_eq!(err.errno, libc::EACCES, "{err}");
    assert!(
        err.explanation.contains("could not store there itself")
            && err.explanation.contains("0 bytes landed"),
        "{err}"
    );
    assert_eq!(
        byte_of(sleeper.pid, text.0),
        before,
        "FOLL_FORCE never used"
    );

    // Across end of file: the first byte could land, the second could not; neither does.
    let mut s = Session::attach(sleeper.pid, Some("0x320000000000"), true, false, (120, 40))
        .expect("attach");
    let out = s.act(Action::Do(Op::Write {
        offset: ps - 1,
        bytes: vec![b'X', b'Y'],
    }));
    let err = out[0].result.as_ref().expect_err("past end of file");
    assert!(err.explanation.contains("0 bytes landed"), "{err}");
    let mut last = [0u8; 1];
    std::fs::File::open(&file)
        .expect("open")
        .read_exact_at(&mut last, ps - 1)
        .expect("read");
    assert_eq!(&last, b".", "all or nothing: the file is unchanged");
    // Within the file, it lands; the result says what was there.
    let out = s.act(Action::Do(Op::Write {
        offset: 8,
        bytes: b"ok".to_vec(),
    }));
    let json = serde_json::to_value(out[0].result.as_ref().expect("written")).expect("json");
    assert_eq!(json["old"], "2e2e", "{json}");
}

/// `setpriv` with the arguments that make what follows run as user nobody (when we are
/// root), the binary nobody can run, or why not.
fn as_nobody() -> Result<(Vec<std::ffi::OsString>, PathBuf), String> {
    if !common::is_root() {
        return Ok((Vec::new(), PathBuf::from(common::BIN)));
    }
    let setpriv = common::tool("setpriv").ok_or("setpriv(1) (util-linux) is not installed")?;
    let id = common::NOBODY;
    let wrap = vec![
        setpriv.into_os_string(),
        format!("--reuid={id}").into(),
        format!("--regid={id}").into(),
        "--clear-groups".into(),
    ];
    Ok((wrap, common::binary_for_nobody()?))
}

#[test]
fn a_fifo_at_a_deleted_files_path_is_refused_at_once_and_q_still_quits() {
    const TEST: &str = "a_fifo_at_a_deleted_files_path_is_refused_at_once_and_q_still_quits";
    let (wrap, bin) = match as_nobody() {
        Ok(w) => w,
        Err(why) => return common::skip(TEST, &why),
    };
    let dir = match common::temp_for_nobody() {
        Ok(d) => d,
        Err(why) => return common::skip(TEST, &format!("no directory nobody can reach: {why}")),
    };
    let file = dir.path().join("data.bin");
    std::fs::write(&file, vec![b'.'; 4 * page_size() as usize]).expect("write");
    let wrap_ref: Vec<&std::ffi::OsStr> = wrap.iter().map(std::ffi::OsString::as_os_str).collect();
    let path = file.to_str().expect("utf-8");
    let target = Sleeper::start_bin(
        &bin,
        dir.path(),
        &wrap_ref,
        &["--addr", "0x320000000000", "--fixed", path],
    );
    target.wait_for_vma(FILE_AT);
    // The file goes; a FIFO takes its path (an open for reading would wait for a writer).
    std::fs::remove_file(&file).expect("rm");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &file,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o666),
        0,
    )
    .expect("mkfifo");

    let pid = target.pid.to_string();
    let args: Vec<&std::ffi::OsStr> = ["inspect", "--json", "--pid", pid.as_str()]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .collect();
    let cmd = common::as_unprivileged(&args).expect("as nobody");
    // `run` fails the test when it takes longer than its deadline.
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let vma = all["vmas"]
        .as_array()
        .and_then(|v| {
            v.iter()
                .find(|r| r["mapping"]["addr"] == format!("0x{FILE_AT:x}"))
        })
        .expect("the deleted file's VMA is reported");
    let said = vma["sources"]["cachestat"].as_str().unwrap_or_default();
    assert!(said.contains("a FIFO, not the file mapped"), "{said}");

    // The explorer: the address-space view, down to that VMA, Enter; then q.
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let index = |f: &dyn Fn(&str) -> bool| maps.lines().position(f).expect("a line");
    let heap = index(&|l| l.ends_with("[heap]"));
    let ours = index(&|l| l.starts_with(&format!("{FILE_AT:x}-")));
    let mut args: Vec<std::ffi::OsString> = wrap.clone();
    args.extend(["--pid".into(), pid.clone().into()]);
    let (program, rest) = if wrap.is_empty() {
        (bin.clone(), args)
    } else {
        let mut rest = args[1..].to_vec();
        rest.insert(wrap.len() - 1, bin.clone().into_os_string());
        (PathBuf::from(&args[0]), rest)
    };
    let rest: Vec<&std::ffi::OsStr> = rest.iter().map(std::ffi::OsString::as_os_str).collect();
    let mut term = pty::Term::spawn_program(&program, &rest, &[], 100, 30);
    term.wait_for("the address-space view", |t| t.contains("VMAs"));
    let key = if ours > heap { "\x1b[B" } else { "\x1b[A" };
    term.send(&key.repeat(ours.abs_diff(heap)));
    term.send("\r");
    term.wait_for("the VMA explored, named in the header", |t| {
        t.lines().next().is_some_and(|h| h.contains("data.bin"))
    });
    eprintln!("{}", term.contents());
    term.quit_cleanly();
}

/// Children killed and reaped when the test ends, however it ends.
struct Sleepers(Vec<std::process::Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `--pid NAME`: one process of that name is attached (the same report as by its pid), several
/// are listed with their pids and the run exits 2, none says so. The name is a copy of
/// `sleep` under a name no other process has.
#[test]
fn a_name_finds_the_one_process_and_lists_several() {
    let dir = common::temp_dir();
    // 15 bytes at most: the kernel's command name keeps no more.
    let name = format!("msc-named-{}", std::process::id() % 100_000);
    let exe = dir.path().join(&name);
    std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
    let start = || {
        std::process::Command::new(&exe)
            .arg("60")
            .spawn()
            .expect("start the copy of sleep")
    };
    let mut kids = Sleepers(vec![start()]);
    let first = kids.0[0].id();
    // The child has exec'd once its command name is the copy's.
    let comm = format!("/proc/{first}/comm");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&comm).map_or(true, |c| c.trim() != name) {
        assert!(std::time::Instant::now() < deadline, "the child never ran");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let by_name = run(mmapscope(&["inspect", "--pid", &name]));
    let by_pid = run(mmapscope(&["inspect", "--pid", &first.to_string()]));
    assert!(
        by_name.status.success(),
        "{}",
        common::text(&by_name.stderr)
    );
    let said = common::text(&by_name.stdout);
    assert!(said.contains(&format!("== pid {first} ")), "{said}");
    assert_eq!(
        said.lines().next(),
        common::text(&by_pid.stdout).lines().next(),
        "the same process as by its pid"
    );
    kids.0.push(start());
    let second = kids.0[1].id();
    let comm = format!("/proc/{second}/comm");
    while std::fs::read_to_string(&comm).map_or(true, |c| c.trim() != name) {
        assert!(
            std::time::Instant::now() < deadline,
            "the second child never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let several = run(mmapscope(&["inspect", "--pid", &name]));
    assert_eq!(several.status.code(), Some(2));
    let err = common::text(&several.stderr);
    assert!(
        err.contains("2 processes have this name: give one pid"),
        "{err}"
    );
    for pid in [first, second] {
        assert!(
            err.lines()
                .any(|l| l.trim_start().starts_with(&format!("{pid} "))
                    && l.contains(&format!("{name} 60"))),
            "pid {pid} is listed with its command line:\n{err}"
        );
    }
    drop(kids);
    let none = run(mmapscope(&["inspect", "--pid", &name]));
    assert_eq!(none.status.code(), Some(2));
    let err = common::text(&none.stderr);
    assert!(
        err.contains("ESRCH") && err.contains("no process has this name"),
        "{err}"
    );
}
