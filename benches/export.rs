//! `export`, whole, through a session (choose, read the kernel, draw, the gate, write the file
//! with `overwrite`): the page map as SVG of a 4 KiB file, a 1 GiB and a 1 TiB sparse file
//! (the cost must not grow with the file: at most 4,096 cells, read a cachestat a cell past
//! 65,536 pages); the address space as SVG with 30,000 VMAs in the process (500 drawn); the
//! screen as HTML at 80x24 and at 300x100; the diff after a mark and a one-page write, of a
//! 4 KiB and a 1 TiB sparse file.
//!
//! Run with `cargo bench --bench export`. Against the tool people would use instead (`fincore`,
//! a residency count with no picture), interleaved by farm-bench: see the commit message.

use std::path::Path;

use divan::Bencher;
use mmapscope::action::{Action, Op};
use mmapscope::session::Session;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Prot};
use mmapscope::sys::ops::op::Export;

fn main() {
    mmapscope::session::set_painter(mmapscope::ui::export::draw);
    divan::main();
}

/// A session on a file of `len` bytes (sparse beyond its first page), on a `size` terminal.
fn session_on(len: u64, size: (u16, u16)) -> (Session, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let file = dir.path().join("f.bin");
    std::fs::write(&file, vec![b'.'; 4096]).expect("write");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_len(len))
        .expect("size");
    // Writable, for the diff's one-page write (the write gate wants the consent up front).
    let region = Region::open(&MapRequest {
        write: true,
        prot: Some(Prot::RW),
        ..MapRequest::file(&file, MapMode::Shared)
    })
    .expect("map");
    (Session::new(region, false, size), dir)
}

/// Exports `words` then `FILE overwrite` in `dir`; panics unless it went.
fn export(session: &mut Session, words: &[&str], out: &Path) {
    let mut all: Vec<&str> = words.to_vec();
    all.push(out.to_str().expect("utf-8"));
    all.push("overwrite");
    let op = Op::Export(Export::parse(&all).expect("words"));
    let outcomes = session.act(Action::Do(op));
    assert!(outcomes[0].result.is_ok(), "{:?}", outcomes[0].result);
}

#[divan::bench(args = [4 << 10, 1 << 30, 1 << 40], sample_count = 20)]
fn svg_page_map(bencher: Bencher, len: u64) {
    let (mut session, dir) = session_on(len, (120, 40));
    let out = dir.path().join("map.svg");
    bencher.bench_local(|| export(&mut session, &["svg", "map"], &out));
}

#[divan::bench(args = [(80, 24), (300, 100)], sample_count = 20)]
fn html_screen(bencher: Bencher, size: (u16, u16)) {
    let (mut session, dir) = session_on(4 << 10, size);
    let out = dir.path().join("screen.html");
    bencher.bench_local(|| export(&mut session, &["html"], &out));
}

/// 30,000 VMAs of two pages, alternately read-only and read-write (they never merge), kept
/// while the bench runs.
fn many_vmas() -> Vec<Region> {
    (0..30_000)
        .map(|i| {
            Region::open(&MapRequest {
                prot: Some(if i % 2 == 0 { Prot::RW } else { Prot::R }),
                ..MapRequest::anon(2 * 4096, MapMode::Private)
            })
            .expect("map anonymous")
        })
        .collect()
}

#[divan::bench(sample_count = 10)]
fn svg_space_30000_vmas(bencher: Bencher) {
    let _keep = many_vmas();
    let (mut session, dir) = session_on(4 << 10, (120, 40));
    let out = dir.path().join("space.svg");
    bencher.bench_local(|| export(&mut session, &["svg", "space"], &out));
}

/// The diff's picture after a mark and a write of one page: `diff`'s comparison (page states as
/// runs against runs, the kept bytes, the VMAs from smaps) and its drawing.
#[divan::bench(args = [4 << 10, 1 << 40], sample_count = 20)]
fn svg_diff(bencher: Bencher, len: u64) {
    let (mut session, dir) = session_on(len, (120, 40));
    session.act(Action::Time(mmapscope::action::TimeAction::Mark));
    let wrote = session.act(Action::Do(Op::Write {
        offset: 0,
        bytes: vec![0x41],
    }));
    assert!(wrote[0].result.is_ok(), "{:?}", wrote[0].result);
    let out = dir.path().join("diff.svg");
    bencher.bench_local(|| export(&mut session, &["svg", "diff"], &out));
}
