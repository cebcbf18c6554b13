//! Write tracking's cost to the program written: a loop that stores one byte into every page
//! of a 1 GiB private anonymous mapping (plain stores through `memmap2::MmapMut::map_anon`),
//! with the written set tracked (userfaultfd async write-protect registered over the mapping,
//! every page protected, as at a mark: `sys::track::written`) and without.
//!
//! Two cases: the first touch of a fresh mapping (each store faults a page in either way;
//! tracking adds the uffd-wp bookkeeping), and a second pass over pages already written
//! (without tracking no store faults; with it, each page's first store after the mark takes a
//! write-protect fault that the kernel resolves itself, WP_ASYNC). Then both again,
//! interleaved (off, on, off, on, ...) over 9 rounds: the medians and the ratios on/off.
//! Reading the set back (PAGEMAP_SCAN) and re-arming are timed last.
//!
//! Run with `cargo bench --bench track`.

use std::time::Instant;

use divan::Bencher;
use memmap2::MmapMut;
use mmapscope::sys::track::written::{Span, WriteTracker};

mod common;
use common::median;

const GIB: usize = 1 << 30;

fn page() -> usize {
    rustix::param::page_size()
}

fn fresh() -> MmapMut {
    MmapMut::map_anon(GIB).expect("map 1 GiB")
}

/// One byte stored into every page.
fn store_every_page(map: &mut MmapMut, byte: u8) {
    let ps = page();
    for i in (0..map.len()).step_by(ps) {
        map[i] = byte;
    }
    divan::black_box(&map[..]);
}

/// The mapping (all written first when `warm`) and, when `tracked`, its tracker, armed.
fn prepared(warm: bool, tracked: bool) -> (MmapMut, Option<WriteTracker>) {
    let mut map = fresh();
    if warm {
        store_every_page(&mut map, 1);
    }
    let tracker = tracked.then(|| WriteTracker::start(Span::anon_memmap(&map)).expect("tracking"));
    (map, tracker)
}

#[divan::bench(args = [false, true], sample_count = 7, sample_size = 1)]
fn first_touch(bencher: Bencher, tracked: bool) {
    bencher
        .with_inputs(|| prepared(false, tracked))
        .bench_local_refs(|(map, _)| store_every_page(map, 2));
}

#[divan::bench(args = [false, true], sample_count = 7, sample_size = 1)]
fn rewrite(bencher: Bencher, tracked: bool) {
    bencher
        .with_inputs(|| prepared(true, tracked))
        .bench_local_refs(|(map, _)| store_every_page(map, 2));
}

/// Milliseconds of one pass over a prepared mapping.
fn one_pass(warm: bool, tracked: bool) -> f64 {
    let (mut map, tracker) = prepared(warm, tracked);
    let t = Instant::now();
    store_every_page(&mut map, 2);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    drop(tracker);
    ms
}

fn interleaved() {
    const ROUNDS: usize = 9;
    println!("\ninterleaved, {ROUNDS} rounds, median ms of one pass over 1 GiB (262,144 pages):");
    for (name, warm) in [("first touch", false), ("rewrite", true)] {
        let (mut off, mut on) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            off.push(one_pass(warm, false));
            on.push(one_pass(warm, true));
        }
        let (off, on) = (median(off), median(on));
        println!(
            "  {name:<12} off {off:8.1} ms   on {on:8.1} ms   on/off {:.2}x",
            on / off
        );
    }
}

fn read_and_rearm() {
    let (mut map, tracker) = prepared(true, true);
    let mut tracker = tracker.expect("tracker");
    store_every_page(&mut map, 3);
    let t = Instant::now();
    let set = tracker.written(Span::anon_memmap(&map)).expect("set");
    let read = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    tracker.rearm(Span::anon_memmap(&map)).expect("rearm");
    let rearm = t.elapsed().as_secs_f64() * 1e3;
    let empty = tracker.written(Span::anon_memmap(&map)).expect("set");
    println!(
        "written set of 1 GiB all written: {} pages in {} runs read in {read:.2} ms; re-arm \
         {rearm:.2} ms; after it {} pages",
        set.pages(),
        set.runs.len(),
        empty.pages()
    );
}

fn main() {
    if WriteTracker::start(Span::anon_memmap(&MmapMut::map_anon(page()).expect("map"))).is_err() {
        println!("no userfaultfd async write-protect here: nothing to measure");
        return;
    }
    divan::main();
    interleaved();
    read_and_rearm();
}
