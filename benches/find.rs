//! Cost of finding your way in a big mapping.
//!
//! The target: byte search over a 1 GiB resident mapping at 1 GB/s or more. Measured
//! here end to end, as the TUI runs it (`search::job::Job` reading resident pages as the grid does,
//! through windows on the page cache, 1 MiB at a time, and memchr's memmem over them), shared
//! and private, for a pattern that is not there (the whole GiB is read), hex and text; next
//! to it the matcher alone over memory, and the state searches and page map cells over the
//! same file and a 1 TiB sparse one (their cost must not grow with the mapping).
//!
//! The files are created once per process under the crate's target dir and removed at the
//! end: 1 GiB of pseudo-random bytes (written and then read once, so it is resident), and a
//! 1 TiB sparse file with one page written near its end. Run with `cargo bench --bench find`
//! (divan prints the throughput in bytes per second for the byte searches).
//!
//! The worst case: a state search over `--anon 64T --private` with nothing touched (`: cow`,
//! `: dirty`, `: resident`, `: present`: not found, the whole mapping crossed), as the TUI
//! runs it now (PAGEMAP_SCAN ranges), and as every state search of anonymous memory ran
//! before (page by page, 4,096 pages a probe: the prober without PAGEMAP_SCAN), over 64 GiB:
//! that cost is linear in the pages, so 64 TiB took 1,024 times as long.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use mmapscope::search::job::{Job, Step};
use mmapscope::search::query::{Matcher, Pattern, Query, Request, StateQuery};
use mmapscope::sys::map::range::Mapped;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest};
use mmapscope::sys::probe::prober::Prober;

const GIB: u64 = 1 << 30;

struct Files {
    gib: PathBuf,
    sparse: PathBuf,
}

static FILES: OnceLock<Files> = OnceLock::new();

/// Pseudo-random bytes (a linear congruential generator: reproducible, no crate).
fn noise(seed: &mut u64, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let word = seed.to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

fn create_files(dir: &Path) -> std::io::Result<Files> {
    let gib = dir.join("noise-1g.bin");
    let mut f = File::create(&gib)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut seed = 1;
    for _ in 0..GIB >> 20 {
        noise(&mut seed, &mut buf);
        f.write_all(&buf)?;
    }
    f.sync_all()?;
    // Read it once: resident in the page cache.
    let mut r = File::open(&gib)?;
    while r.read(&mut buf)? > 0 {}
    let sparse = dir.join("sparse-1t.bin");
    let f = File::create(&sparse)?;
    f.set_len(1 << 40)?;
    f.write_all_at(b"deep", (1 << 40) - (10 << 12))?;
    Ok(Files { gib, sparse })
}

fn open(path: &Path, mode: MapMode) -> Region {
    Region::open(&MapRequest::file(path.to_path_buf(), mode)).expect("map the bench file")
}

fn gib(mode: MapMode) -> Region {
    open(&FILES.get().expect("made by main").gib, mode)
}

fn sparse() -> Region {
    open(&FILES.get().expect("made by main").sparse, MapMode::Shared)
}

/// Runs a search to its end, as the TUI would over many ticks.
fn run(mapped: &dyn Mapped, prober: &Prober, query: &Query) -> mmapscope::search::query::Finished {
    let req = Request {
        id: 1,
        query: query.clone(),
        from: 0,
        forward: true,
    };
    let mut job = Job::new(req, mapped);
    loop {
        if let Step::Done(f) = job.step(mapped, prober, Duration::from_secs(3600)) {
            return f;
        }
    }
}

fn bytes(text: &str) -> Query {
    Query::Bytes(Pattern::parse(text).expect("pattern"))
}

/// `/` over 1 GiB of resident pages, for a pattern that is not there: every byte is read
/// and matched. The pages are cached but not mapped by us: they are read from the page cache
/// through windows (`sys::probe::look`), and none is left mapped.
#[divan::bench(args = ["7f 45 4c 46 02 01 01 00", "\"needle in a haystack\""], sample_count = 10, sample_size = 1)]
fn byte_search_1gib_resident(bencher: Bencher, pattern: &str) {
    let region = gib(MapMode::Shared);
    let prober = Prober::new();
    let query = bytes(pattern);
    bencher
        .counter(BytesCount::new(GIB))
        .bench_local(|| black_box(run(&region, &prober, &query)));
}

/// The same over a MAP_PRIVATE mapping of the file (text pattern): the same page-cache
/// reads, after a page-table read and cachestat per MiB to tell our copies (none here) from
/// the file's pages.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn byte_search_1gib_resident_private(bencher: Bencher) {
    let region = gib(MapMode::Private);
    let prober = Prober::new();
    let query = bytes("\"needle in a haystack\"");
    bencher
        .counter(BytesCount::new(GIB))
        .bench_local(|| black_box(run(&region, &prober, &query)));
}

/// The matcher alone over 64 MiB in memory: the ceiling of the search.
#[divan::bench(sample_count = 20)]
fn memmem_64mib(bencher: Bencher) {
    let mut hay = vec![0u8; 64 << 20];
    noise(&mut 7, &mut hay);
    let m = Matcher::new(b"needle in a haystack");
    bencher
        .counter(BytesCount::new(hay.len()))
        .bench_local(|| black_box(m.find(&hay)));
}

/// State searches that find nothing, over the whole mapping: `: dirty` on a clean shared
/// 1 GiB (cachestat clears it in large steps), `: cow` on a private one (a private copy has
/// a page-table entry: PAGEMAP_SCAN finds none), `: exclusive` on the sparse 1 TiB.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn state_search_dirty_shared_1gib(bencher: Bencher) {
    let region = gib(MapMode::Shared);
    let prober = Prober::new();
    let q = Query::State(StateQuery::parse("dirty").expect("word"));
    bencher.bench_local(|| black_box(run(&region, &prober, &q)));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn state_search_cow_private_1gib(bencher: Bencher) {
    let region = gib(MapMode::Private);
    let prober = Prober::new();
    let q = Query::State(StateQuery::parse("cow").expect("word"));
    bencher.bench_local(|| black_box(run(&region, &prober, &q)));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn state_search_exclusive_sparse_1tib(bencher: Bencher) {
    let region = sparse();
    let prober = Prober::new();
    let q = Query::State(StateQuery::parse("exclusive").expect("word"));
    bencher.bench_local(|| black_box(run(&region, &prober, &q)));
}

/// 64 TiB (or 64 GiB) of private anonymous memory, untouched.
fn anon_private(len: u64) -> Region {
    Region::open(&MapRequest::anon(len, MapMode::Private)).expect("map anonymous memory")
}

/// A state search over 64 TiB of untouched private anonymous memory, to its end (nothing
/// found): PAGEMAP_SCAN says there is no page-table entry, in a few calls.
#[divan::bench(args = ["cow", "dirty", "resident", "present"], sample_count = 20)]
fn state_search_64tib_private_anon(bencher: Bencher, word: &str) {
    let region = anon_private(64 << 40);
    let prober = Prober::new();
    let q = Query::State(StateQuery::parse(word).expect("word"));
    bencher.bench_local(|| black_box(run(&region, &prober, &q)));
}

/// The same search over 64 GiB, page by page (the prober without PAGEMAP_SCAN), as every
/// state search of anonymous memory ran before: 64 TiB took 1,024 times this.
#[divan::bench(args = ["cow", "dirty"], sample_count = 3, sample_size = 1)]
fn state_search_64gib_private_anon_page_by_page(bencher: Bencher, word: &str) {
    let region = anon_private(64 << 30);
    let prober = Prober::new().without_pagemap_scan();
    let q = Query::State(StateQuery::parse(word).expect("word"));
    bencher.bench_local(|| black_box(run(&region, &prober, &q)));
}

/// The page map's cells as a refresh reads them at 120x40, fitted (the whole mapping) and
/// zoomed in to a page a cell: the cost follows the cells, not the mapping.
#[divan::bench(args = [1, 0], sample_count = 20)]
fn page_map_cells_1gib(bencher: Bencher, per_cell: u64) {
    page_map_cells(bencher, &gib(MapMode::Shared), per_cell);
}

#[divan::bench(args = [1, 0], sample_count = 20)]
fn page_map_cells_sparse_1tib(bencher: Bencher, per_cell: u64) {
    page_map_cells(bencher, &sparse(), per_cell);
}

/// `per_cell` 0: the fitted zoom.
fn page_map_cells(bencher: Bencher, region: &Region, per_cell: u64) {
    let prober = Prober::new();
    let geometry = region.geometry().expect("fstat");
    let mut model = mmapscope::session::initial_model(region, &prober, (120, 40));
    mmapscope::update::update(
        &mut model,
        mmapscope::action::Action::PageMap(mmapscope::action::PageMapAction::Open),
    );
    let fit = model.page_map_fit();
    let w = model.map_window(0, if per_cell == 0 { fit } else { per_cell }, 0);
    bencher.bench_local(|| {
        black_box(mmapscope::sys::probe::cells::buckets(
            region,
            &prober,
            &geometry,
            w.first_page(),
            w.per_cell,
            w.cells(),
        ))
    });
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("mmapscope-bench-find-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir under the target dir");
    let files = create_files(dir.path()).expect("create the bench files");
    assert!(FILES.set(files).is_ok(), "files are created once");
    divan::main();
    drop(dir);
}
