//! Debugging another process (`--pid`): the tests start `mmapscope demo-writer`, a small
//! program that maps a file shared, dirties pages of it and grows its heap, and look at it
//! the way a user would: `inspect --pid`, a session attached to it, and the explorer in our
//! own process. What mmapscope says is checked against the kernel's own answers, read here
//! independently (the child's /proc/PID/pagemap, cachestat through the file).

use std::os::unix::fs::FileExt as _;
use std::path::Path;

use mmapscope::action::{Action, Op};
use mmapscope::session::Session;
use serde_json::Value;

mod common;
use common::{Writer, as_unprivileged, clean_file, expand_runs, mmapscope, page_size, run};

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
            mmapscope::sys::region::cachestat(&f, p * ps, ps)
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
        .looking
        .clone()
        .expect("looking at the writer");
    assert_eq!(looking.pid, writer.pid);
    assert!(looking.process.starts_with(&format!("pid {} ", writer.pid)));
    assert!(looking.ended.is_none());
    let addr = session.model.snap.addr;

    // Without --write a write is refused, and the file is unchanged.
    let outcomes = session.act(Action::Do(Op::Write {
        offset: 0,
        bytes: b"X".to_vec(),
    }));
    let err = outcomes[0].result.as_ref().expect_err("read-only");
    assert_eq!(err.errno, libc::EACCES, "{err}");

    writer.end();
    session.refresh();
    let looking = session.model.looking.clone().expect("still looking");
    assert!(
        looking
            .ended
            .as_deref()
            .is_some_and(|w| w.contains("exited")),
        "{looking:?}"
    );
    assert!(
        session.model.log.iter().any(|l| l.text.contains("exited")),
        "the log says the process exited"
    );
    assert_eq!(session.model.snap.addr, addr, "the last state stays");
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
    assert!(outcomes[0].call.starts_with("process_vm_writev(pid "));
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
    let region = mmapscope::sys::region::Region::open(&mmapscope::sys::region::MapRequest {
        source: mmapscope::sys::region::Source::File(file.clone()),
        mode: mmapscope::sys::region::MapMode::Shared,
        offset: 0,
        len: None,
        prot: None,
        write: false,
        place: Default::default(),
    })
    .expect("map");
    let ours = region.addr();
    let mut s = Session::new(region, true, (120, 40));
    s.act(Action::OpenSpace);
    let space = s.model.space.clone();
    let heap = space
        .iter()
        .position(|v| v.line.path == "[heap]")
        .expect("a heap in the address-space view");
    let here = space
        .iter()
        .position(|v| v.line.start <= ours && ours < v.line.end)
        .expect("our mapping in the view");
    assert_eq!(
        s.model.overlay,
        mmapscope::model::Overlay::Space { selected: here },
        "the view opens on the VMA shown"
    );
    s.act(Action::SpaceMove(heap as i64 - here as i64));
    s.act(Action::SpaceOpen);
    let looking = s.model.looking.clone().expect("exploring");
    assert_eq!(looking.vma, "[heap]");
    assert_eq!(s.model.snap.addr, space[heap].line.start);
    assert!(
        s.model.snap.bytes.data.iter().any(Option::is_some),
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
    s.act(Action::ExploreBack);
    assert!(s.model.looking.is_none());
    assert_eq!(s.model.snap.addr, ours, "back on our mapping");
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
