//! Per-page kernel state on the real kernel, real files on the real filesystem (not tmpfs unless
//! the test is about tmpfs): dirty per folio from cachestat and kpageflags, msync cleaning,
//! copy-on-write, residency after fadvise against util-linux fincore, and what a non-root user
//! sees.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use std::time::Duration;

use mmapscope::action::{Action, Op, Scope, SyncKind};
use mmapscope::model::{MinimapCell, Model};
use mmapscope::session::Session;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Source};
use mmapscope::sys::probe::chunks::{Bucket, ChunkAsk, Chunks};
use mmapscope::sys::probe::prober::Prober;
use mmapscope::sys::probe::state::{PageState, run_kflags};
use mmapscope::sys::proc::maps;
use rustix::mm::MsyncFlags;
use serde_json::Value;

use crate::common::*;

fn ps() -> u64 {
    page_size()
}

/// A file of `pages` pages written one page per write(2) and synced: 4 KiB folios, clean.
fn file_in_page_writes(dir: &Path, name: &str, pages: u64) -> PathBuf {
    let path = dir.join(name);
    let mut f = File::create(&path).unwrap();
    for i in 0..pages {
        f.write_all(&vec![b'a' + (i % 26) as u8; ps() as usize])
            .unwrap();
    }
    f.sync_all().unwrap();
    path
}

fn map(path: &Path, mode: MapMode) -> Region {
    Region::open(&MapRequest {
        write: true,
        ..MapRequest::file(path.to_path_buf(), mode)
    })
    .unwrap()
}

fn states(prober: &Prober, region: &Region) -> Vec<PageState> {
    let probes = prober.probe(region, 0, region.pages());
    prober.decode(region, &region.geometry().unwrap(), 0, &probes)
}

fn dirty(states: &[PageState]) -> Vec<Option<bool>> {
    states.iter().map(|s| s.writes.dirty).collect()
}

#[test]
fn a_shared_write_dirties_its_folio_and_msync_cleans_it() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 8);
    let region = map(&path, MapMode::Shared);
    let prober = Prober::new();
    let mut all = vec![0u8; 8 * ps() as usize];
    region.read(0, &mut all).unwrap();
    assert_eq!(dirty(&states(&prober, &region)), vec![Some(false); 8]);

    region.write(3 * ps() + 7, b"!").unwrap();
    let after = states(&prober, &region);
    let mut want = vec![Some(false); 8];
    want[3] = Some(true);
    // The file was written a page at a time and synced: every folio here is one page.
    assert_eq!(dirty(&after), want, "only page 3 (its folio) is dirty");
    if prober.kpageflags_readable() {
        assert_eq!(after[3].folio.folio_pages, Some(1));
        let names = mmapscope::sys::probe::state::kflag_names(after[3].folio.kflags.unwrap());
        assert!(
            names.contains(&"DIRTY".to_string()),
            "kpageflags agrees: {names:?}"
        );
        let clean_names = mmapscope::sys::probe::state::kflag_names(after[2].folio.kflags.unwrap());
        assert!(
            !clean_names.contains(&"DIRTY".to_string()),
            "{clean_names:?}"
        );
    } else {
        eprintln!("SKIPPED kpageflags cross-check: not root");
    }

    region.msync(0, region.pages(), MsyncFlags::SYNC).unwrap();
    assert_eq!(
        dirty(&states(&prober, &region)),
        vec![Some(false); 8],
        "msync cleaned it"
    );
    let mut b = [0u8; 1];
    File::open(&path)
        .unwrap()
        .read_exact_at(&mut b, 3 * ps() + 7)
        .unwrap();
    assert_eq!(b[0], b'!');
}

#[test]
fn a_file_written_in_one_go_is_one_large_folio_dirtied_whole() {
    let dir = temp_dir();
    let path = dir.path().join("one-write");
    let mut f = File::create(&path).unwrap();
    f.write_all(&vec![b'x'; 16 * ps() as usize]).unwrap();
    f.sync_all().unwrap();
    let region = map(&path, MapMode::Shared);
    let prober = Prober::new();
    let mut all = vec![0u8; 16 * ps() as usize];
    region.read(0, &mut all).unwrap();
    let folio = states(&prober, &region)[0].folio.folio_pages;
    region.write(0, b"y").unwrap();
    let after = states(&prober, &region);
    // The folio size is the kernel's choice; what must hold is that dirty covers exactly it.
    let dirty_pages = after
        .iter()
        .filter(|s| s.writes.dirty == Some(true))
        .count() as u64;
    match folio {
        Some(n) => {
            assert_eq!(dirty_pages, n, "dirty is per folio ({n} pages)");
            eprintln!("one 16-page write(2) gave a folio of {n} pages");
        }
        None => {
            eprintln!("SKIPPED folio size check: kpageflags needs root");
            assert!(dirty_pages >= 1);
        }
    }
    assert!(
        after[..dirty_pages as usize]
            .iter()
            .all(|s| s.writes.dirty == Some(true))
    );
}

#[test]
fn a_private_write_is_a_copy_of_that_page_only() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 4);
    let region = map(&path, MapMode::Private);
    let prober = Prober::new();
    let mut all = vec![0u8; 4 * ps() as usize];
    region.read(0, &mut all).unwrap();
    let vma = |r: &Region| {
        maps::total(&maps::read_vmas(r.addr(), r.addr() + r.map_bytes()).unwrap()).unwrap()
    };
    let before = vma(&region);
    region.write(2 * ps(), b"#").unwrap();
    let cow: Vec<_> = states(&prober, &region)
        .iter()
        .map(|s| s.place.cow)
        .collect();
    assert_eq!(cow, vec![Some(false), Some(false), Some(true), Some(false)]);
    let after = vma(&region);
    assert_eq!(
        after.memory.anonymous - before.memory.anonymous,
        ps(),
        "smaps Anonymous grew by one page"
    );
    let mut b = [0u8; 1];
    File::open(&path)
        .unwrap()
        .read_exact_at(&mut b, 2 * ps())
        .unwrap();
    assert_eq!(b[0], b'c', "the file is unchanged");
    // The file's page-cache page at that offset is still clean: the write went to the copy.
    assert_eq!(states(&prober, &region)[2].writes.dirty, Some(false));
}

fn inspect(path: &Path, extra: &[&str]) -> Value {
    let mut args: Vec<&std::ffi::OsStr> = vec!["inspect".as_ref(), "--json".as_ref()];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    args.push(path.as_os_str());
    json_ok(&run(mmapscope(&args)))
}

fn resident_pages(report: &Value) -> u64 {
    report["summary"]["resident"].as_u64().unwrap()
}

/// Pages in the page cache according to util-linux fincore, or `None` when it is missing.
fn fincore_pages(path: &Path) -> Option<u64> {
    let out = std::process::Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "PAGES"])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn fadvise_dontneed_drops_a_clean_unmapped_file_and_a_read_brings_it_back() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "cold", 32);
    let f = File::open(&path).unwrap();
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    let report = inspect(&path, &[]);
    assert_eq!(resident_pages(&report), 0, "{report:#}");
    assert_eq!(report["summary"]["present"].as_u64(), Some(0));
    if let Some(n) = fincore_pages(&path) {
        assert_eq!(n, 0, "fincore agrees");
    } else {
        eprintln!("SKIPPED fincore comparison: fincore (util-linux) is not installed");
    }

    // Read 4 pages with read(2), under POSIX_FADV_RANDOM so no readahead adds more.
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::Random).unwrap();
    let mut buf = vec![0u8; 4 * ps() as usize];
    (&f).read_exact(&mut buf).unwrap();
    let report = inspect(&path, &[]);
    let resident = resident_pages(&report);
    assert!(
        resident >= 4,
        "the pages read are resident again: {resident}"
    );
    let per_page: Vec<bool> = report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            std::iter::repeat_n(
                r["resident"].as_bool().unwrap(),
                r["count"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert!(per_page[..4].iter().all(|&r| r), "{per_page:?}");
    match fincore_pages(&path) {
        Some(n) => assert_eq!(n, resident, "inspect and fincore count the same pages"),
        None => eprintln!("SKIPPED fincore comparison: fincore (util-linux) is not installed"),
    }
    // Neither inspect (which faults nothing in) nor inspect --fault-in (which faults in only
    // what is resident, under MADV_RANDOM) makes anything new resident.
    assert_eq!(resident_pages(&inspect(&path, &[])), resident);
    assert_eq!(resident_pages(&inspect(&path, &["--fault-in"])), resident);
}

#[test]
fn inspect_fills_every_page_field_and_counts_dirty_pages() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 4);
    // Dirty two pages through write(2) so the report must see them without our help.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(b"D", 0).unwrap();
    f.write_all_at(b"D", 2 * ps()).unwrap();
    // --fault-in: folio sizes and kpageflags need the pages in our page tables.
    let report = inspect(&path, &["--fault-in"]);
    assert_eq!(report["summary"]["dirty"].as_u64(), Some(2), "{report:#}");
    assert_eq!(report["sources"]["cachestat"], "ok");
    let root = is_root();
    for run in report["pages"].as_array().unwrap() {
        for field in [
            "resident",
            "present",
            "dirty",
            "writeback",
            "cow",
            "file_backed",
        ] {
            assert!(run[field].is_boolean(), "{field} in {run}");
        }
        if root {
            assert!(run["folio_pages"].is_u64(), "{run}");
            assert!(run["kflags"].is_array(), "{run}");
        }
    }
    if root {
        assert_eq!(report["sources"]["kpageflags"], "ok");
        assert_eq!(report["sources"]["pfn"], "ok");
    }
    // soft-dirty is detected for real; here the kernel lacks it, elsewhere it may work.
    let sd = report["sources"]["soft_dirty"].as_str().unwrap();
    assert!(sd == "ok" || sd.contains("unsupported"), "{sd}");
    if sd != "ok" {
        assert!(report["pages"][0]["soft_dirty"].is_null());
    }
    f.sync_all().unwrap();
    assert_eq!(inspect(&path, &[])["summary"]["dirty"].as_u64(), Some(0));
}

#[test]
fn without_root_pfn_and_kpageflags_are_null_and_dirty_still_comes_from_cachestat() {
    let dir = match temp_for_nobody() {
        Ok(d) => d,
        Err(why) => return skip("without_root", &why),
    };
    let path = file_in_page_writes(dir.path(), "f", 4);
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(b"D", ps()).unwrap();
    let args = ["inspect".as_ref(), "--json".as_ref(), path.as_os_str()];
    let cmd = match as_unprivileged(&args) {
        Ok(c) => c,
        Err(why) => return skip("without_root", &why),
    };
    let report = json_ok(&run(cmd));
    let sources = &report["sources"];
    assert!(
        sources["pfn"].as_str().unwrap().contains("needs"),
        "{sources}"
    );
    assert!(
        sources["kpageflags"].as_str().unwrap().contains("root"),
        "{sources}"
    );
    assert_eq!(sources["cachestat"], "ok");
    for run in report["pages"].as_array().unwrap() {
        assert!(
            run["kflags"].is_null() && run["folio_pages"].is_null(),
            "{run}"
        );
    }
    assert_eq!(report["summary"]["dirty"].as_u64(), Some(1), "{report:#}");
}

#[test]
fn tmpfs_pages_are_always_dirty_and_say_so() {
    let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
        return skip("tmpfs", "/dev/shm is not available");
    };
    let path = dir.path().join("shm");
    std::fs::write(&path, vec![1u8; 2 * ps() as usize]).unwrap();
    let region = map(&path, MapMode::Shared);
    if !region.always_dirty() {
        return skip("tmpfs", "/dev/shm is not tmpfs here");
    }
    region.msync(0, 2, MsyncFlags::SYNC).unwrap();
    let prober = Prober::new();
    assert_eq!(
        dirty(&states(&prober, &region)),
        vec![Some(true); 2],
        "msync does not clean tmpfs"
    );
    assert!(prober.sources(&region).cachestat.contains("tmpfs"));
}

// ---- The whole-mapping scan against a page-by-page probe ----------------------------------

/// Every page's state the slow way: mincore, pagemap, cachestat and kpageflags asked page by
/// page (`Prober::probe`), with the kpageflags that runs report (no COMPOUND_HEAD/TAIL).
fn per_page(prober: &Prober, region: &Region) -> Vec<PageState> {
    let geometry = region.geometry().unwrap();
    let mut out = Vec::new();
    let mut first = 0;
    while first < region.pages() {
        let n = (region.pages() - first).min(4096);
        let probes = prober.probe(region, first, n);
        out.extend(
            prober
                .decode(region, &geometry, first, &probes)
                .into_iter()
                .map(|mut s| {
                    s.folio.kflags = s.folio.kflags.map(run_kflags);
                    s
                }),
        );
        first += n;
    }
    out
}

/// The scan's runs, checked to cover every page once and in order, expanded to pages.
fn scanned(prober: &Prober, region: &Region, touch: bool) -> Vec<PageState> {
    // The smaps hints say "anything may be there": they matter only without PAGEMAP_SCAN.
    let runs = prober.scan(region, touch, true, true).unwrap();
    let mut next = 0;
    let mut out = Vec::new();
    for r in &runs {
        assert_eq!(r.first, next, "runs cover the mapping in order");
        assert!(r.count > 0);
        next += r.count;
        out.extend(std::iter::repeat_n(r.state, r.count as usize));
    }
    assert_eq!(next, region.pages(), "runs cover every page");
    for pair in runs.windows(2) {
        assert_ne!(pair[0].state, pair[1].state, "equal neighbours are one run");
    }
    out
}

/// The first pages where two page lists differ, for a failure message.
fn differences(a: &[PageState], b: &[PageState]) -> String {
    a.iter()
        .zip(b)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .take(3)
        .map(|(i, (x, y))| format!("page {i}:\n  scan      {x:?}\n  per page  {y:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scan (with PAGEMAP_SCAN, and reading pagemap as before 6.7) says for every page what
/// the page-by-page probe says. The page cache may move under a test (kdamond evicts cold
/// pages, writeback cleans), so a comparison counts only between two equal scans, and a
/// mismatch must repeat to fail.
fn assert_scan_is_per_page(what: &str, region: &Region) -> Vec<PageState> {
    let mut states = Vec::new();
    for (how, prober) in [
        ("PAGEMAP_SCAN", Prober::new()),
        ("pagemap reads", Prober::new().without_pagemap_scan()),
    ] {
        let mut last = String::new();
        let mut matched = false;
        for _ in 0..4 {
            let before = scanned(&prober, region, false);
            let slow = per_page(&prober, region);
            let after = scanned(&prober, region, false);
            if before != after {
                last = format!(
                    "the page cache moved between two scans:\n{}",
                    differences(&before, &after)
                );
                continue;
            }
            if before == slow {
                matched = true;
                states = before;
                break;
            }
            last = differences(&before, &slow);
        }
        assert!(matched, "{what} ({how}): scan != per-page probe\n{last}");
    }
    states
}

/// How many pages have `field` equal to `value`.
fn count(states: &[PageState], field: impl Fn(&PageState) -> Option<bool>, value: bool) -> usize {
    states.iter().filter(|s| field(s) == Some(value)).count()
}

/// Evicts pages `[first, first + count)` of `path` from the page cache (clean ones only).
fn evict(path: &Path, first: u64, count: u64) {
    let f = File::open(path).unwrap();
    let len = std::num::NonZeroU64::new(count * ps());
    rustix::fs::fadvise(&f, first * ps(), len, rustix::fs::Advice::DontNeed).unwrap();
}

/// Reads pages one read(2) each under POSIX_FADV_RANDOM: each comes back as a one-page folio.
fn read_pages(path: &Path, pages: impl Iterator<Item = u64>) {
    let f = File::open(path).unwrap();
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::Random).unwrap();
    let mut buf = vec![0u8; ps() as usize];
    for p in pages {
        f.read_exact_at(&mut buf, p * ps()).unwrap();
    }
}

#[test]
fn scan_matches_a_per_page_probe_on_file_layouts() {
    let dir = temp_dir();
    let d = dir.path();

    // Sparse: a few cached pages in 64 MiB of holes.
    let sparse = d.join("sparse");
    let f = File::create(&sparse).unwrap();
    f.set_len(64 << 20).unwrap();
    for p in [0, 1, 2, 700, 4095, 16383] {
        f.write_all_at(b"s", p * ps()).unwrap();
    }
    f.sync_all().unwrap();
    let states = assert_scan_is_per_page("sparse", &map(&sparse, MapMode::Shared));
    assert_eq!(
        count(&states, |s| s.place.resident, true),
        6,
        "the layout: 6 cached pages"
    );

    // Half evicted: every other 64 pages of a file written a page at a time.
    let half = file_in_page_writes(d, "half", 4096);
    for block in (0..4096).step_by(128) {
        evict(&half, block, 64);
    }
    let states = assert_scan_is_per_page("half evicted", &map(&half, MapMode::Shared));
    assert_eq!(
        count(&states, |s| s.place.resident, false),
        2048,
        "the layout: half evicted"
    );

    // Finely mixed: every third page evicted (runs shorter than a leaf: parts are read whole
    // with one mincore), and dirty pages in some parts (there dirty is not all-or-none of the
    // cached pages: those parts are split with cachestat instead).
    // (128 MiB: the scan's parts are larger than a leaf.)
    let fine = file_in_page_writes(d, "fine", 32768);
    for p in (0..32768).step_by(3) {
        evict(&fine, p, 1);
    }
    let w = std::fs::OpenOptions::new().write(true).open(&fine).unwrap();
    for p in [1, 2000, 2001, 32767] {
        w.write_all_at(b"D", p * ps() + 5).unwrap();
    }
    let states = assert_scan_is_per_page("finely mixed", &map(&fine, MapMode::Shared));
    // The kernel may evict more meanwhile (memory pressure, kdamond), never less.
    let uncached = count(&states, |s| s.place.resident, false);
    let switches = states
        .windows(2)
        .filter(|w| w[0].place.resident != w[1].place.resident)
        .count();
    assert!(
        uncached >= 10922 && switches >= 20000,
        "the layout: every third page evicted, one written back in: {uncached} evicted, \
         {switches} switches"
    );
    assert_eq!(
        count(&states, |s| s.writes.dirty, true),
        4,
        "the layout: 4 dirty"
    );

    // Mixed folios: one 16 MiB write (large folios), two 2 MiB blocks evicted and read back,
    // one every other page as single pages, the other with readahead.
    let mixed = d.join("mixed");
    let mut f = File::create(&mixed).unwrap();
    f.write_all(&vec![b'm'; 16 << 20]).unwrap();
    f.sync_all().unwrap();
    evict(&mixed, 512, 512);
    evict(&mixed, 1536, 512);
    read_pages(&mixed, (512..1024).step_by(2));
    let mut buf = vec![0u8; 2 << 20];
    File::open(&mixed)
        .unwrap()
        .read_exact_at(&mut buf, 1536 * ps())
        .unwrap();
    let states = assert_scan_is_per_page("mixed folios", &map(&mixed, MapMode::Shared));
    let uncached = count(&states, |s| s.place.resident, false);
    assert!(
        (256..=512).contains(&uncached),
        "the layout: {uncached} pages not cached"
    );

    // Dirty pages here and there, in a file with a few evicted pages (evicted first: fadvise
    // starts writeback of dirty pages in its range).
    let dirty = file_in_page_writes(d, "dirty", 4096);
    for p in [9, 10, 11, 900, 3000] {
        evict(&dirty, p, 1);
    }
    let w = std::fs::OpenOptions::new()
        .write(true)
        .open(&dirty)
        .unwrap();
    for p in [0, 3, 100, 101, 2047, 4095] {
        w.write_all_at(b"D", p * ps() + 5).unwrap();
    }
    let shared = map(&dirty, MapMode::Shared);
    // One page at a time: a fault on an uncached page must not read the file ahead.
    shared
        .madvise(0, shared.pages(), rustix::mm::Advice::Random)
        .unwrap();
    let states = assert_scan_is_per_page("dirty here and there", &shared);
    assert_eq!(
        count(&states, |s| s.writes.dirty, true),
        6,
        "the layout: 6 dirty pages"
    );
    assert_eq!(
        count(&states, |s| s.place.resident, false),
        5,
        "the layout: 5 evicted"
    );

    // Our own page tables: pages read and written through the shared mapping.
    let mut page = vec![0u8; ps() as usize];
    for p in [1, 2, 50, 4000] {
        shared.read(p * ps(), &mut page).unwrap();
    }
    shared.write(60 * ps(), b"w").unwrap();
    let states = assert_scan_is_per_page("shared, some pages mapped", &shared);
    // Fault-around maps neighbours too: the pages we touched are among those mapped.
    for p in [1, 2, 50, 60, 4000] {
        assert_eq!(
            states[p].place.present,
            Some(true),
            "the layout: page {p} mapped"
        );
    }

    // A private mapping with copy-on-write pages, mapped file pages, and an evicted page that
    // has a private copy (mincore says resident, the page cache does not hold it).
    let private = map(&dirty, MapMode::Private);
    private
        .madvise(0, private.pages(), rustix::mm::Advice::Random)
        .unwrap();
    for p in [5, 6, 9, 3000, 4095] {
        private.write(p * ps() + 1, b"c").unwrap();
    }
    for p in [7, 8, 200] {
        private.read(p * ps(), &mut page).unwrap();
    }
    // The file's pages under two copies leave the page cache; the copies stay ours.
    evict(&dirty, 5, 1);
    evict(&dirty, 9, 1);
    let states = assert_scan_is_per_page("private with cow pages", &private);
    assert_eq!(
        count(&states, |s| s.place.cow, true),
        5,
        "the layout: 5 private copies"
    );
    for p in [7, 8, 200] {
        assert_eq!(
            states[p].place.present,
            Some(true),
            "the layout: page {p} mapped"
        );
    }

    // An offset, and a length past end of file (padding, pages beyond EOF).
    let tail = d.join("tail");
    std::fs::write(&tail, vec![b't'; 100 * ps() as usize + 100]).unwrap();
    evict(&tail, 10, 20);
    let region = Region::open(&MapRequest {
        source: Source::File(tail.clone()),
        mode: MapMode::Shared,
        offset: 4 * ps(),
        len: Some(200 * ps()),
        prot: None,
        write: false,
        place: Default::default(),
    })
    .unwrap();
    let states = assert_scan_is_per_page("offset and past EOF", &region);
    assert_eq!(
        states.iter().filter(|s| s.geom.beyond_eof).count(),
        103,
        "the layout: 97 pages of data from page 4, then 103 beyond EOF"
    );
}

#[test]
fn scan_matches_a_per_page_probe_on_memory() {
    let open = |source: Source, mode| {
        Region::open(&MapRequest {
            source,
            mode,
            offset: 0,
            len: Some(16 << 20),
            prot: None,
            write: true,
            place: Default::default(),
        })
        .unwrap()
    };
    for (what, source) in [
        ("anonymous", Source::Anon(16 << 20)),
        ("/dev/zero", Source::File("/dev/zero".into())),
    ] {
        for mode in [MapMode::Private, MapMode::Shared] {
            let region = open(source.clone(), mode);
            for p in [0, 1, 2, 300, 4095] {
                region.write(p * ps(), b"a").unwrap();
            }
            let mut page = vec![0u8; ps() as usize];
            region.read(1000 * ps(), &mut page).unwrap();
            // Shared memory keeps its pages when our page-table entries go: resident, not
            // present.
            region
                .madvise(1, 2, rustix::mm::Advice::LinuxDontNeed)
                .unwrap();
            let states = assert_scan_is_per_page(&format!("{what} {mode:?}"), &region);
            assert_eq!(
                count(&states, |s| s.place.present, true),
                4,
                "{what} {mode:?}"
            );
            // Shared memory keeps pages 1 and 2 in its cache; private memory drops them.
            let resident = if mode == MapMode::Shared { 6 } else { 4 };
            assert_eq!(
                count(&states, |s| s.place.resident, true),
                resident,
                "{what} {mode:?}"
            );
        }
    }
    // tmpfs: every cached page is dirty.
    if let Ok(dir) = tempfile::tempdir_in("/dev/shm") {
        let path = dir.path().join("shm");
        std::fs::write(&path, vec![1u8; 64 * ps() as usize]).unwrap();
        let region = map(&path, MapMode::Shared);
        region.write(3 * ps(), b"x").unwrap();
        assert_scan_is_per_page("tmpfs", &region);
    } else {
        skip("scan on tmpfs", "/dev/shm is not available");
    }
}

/// When this variable names a file, the test below runs as the child it started as user
/// nobody and compares there.
const NOBODY_FILE: &str = "MMAPSCOPE_TEST_SCAN_FILE";

#[test]
fn scan_matches_a_per_page_probe_on_a_file_we_may_not_write() {
    if let Some(path) = std::env::var_os(NOBODY_FILE) {
        let region = Region::open(&MapRequest::file(path, MapMode::Shared)).unwrap();
        assert!(
            !region.may_write(),
            "the child runs as a user who may not write"
        );
        assert_scan_is_per_page("a file we may not write", &region);
        // mincore answers "resident" for every page here whatever the page cache holds, so a
        // touching scan has nothing it may fault in without reading the disk: the parent
        // checks that the page cache did not grow.
        Prober::new().scan(&region, true, true, true).unwrap();
        return;
    }
    if !is_root() {
        return skip(
            "scan as nobody",
            "needs root to make a file nobody may not write",
        );
    }
    let dir = match temp_for_nobody() {
        Ok(d) => d,
        Err(why) => return skip("scan as nobody", &why),
    };
    let path = file_in_page_writes(dir.path(), "ro", 1024);
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    for block in (0..1024).step_by(128) {
        evict(&path, block, 64);
    }
    // This test binary, where nobody can run it.
    let exe = dir.path().join("it");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args([
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".into(),
    ])
    .arg(&exe)
    .args([
        "--exact",
        "page_state::scan_matches_a_per_page_probe_on_a_file_we_may_not_write",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(NOBODY_FILE, &path)
    .current_dir("/");
    let cached = || {
        let f = File::open(&path).unwrap();
        mmapscope::sys::map::region::cachestat(&f, 0, 0)
            .unwrap()
            .nr_cache
    };
    let before = cached();
    let out = run(cmd);
    assert!(
        cached() <= before,
        "a touching scan read uncached pages from disk ({before} -> {} cached)",
        cached()
    );
    assert!(
        out.status.success(),
        "the comparison as nobody failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("1 passed"),
        "the child ran the comparison: {}",
        text(&out.stdout)
    );
}

#[test]
fn a_touching_scan_agrees_and_leaves_nothing_mapped() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "t", 2048);
    for block in (0..2048).step_by(256) {
        evict(&path, block, 100);
    }
    let mut f = File::create(dir.path().join("large")).unwrap();
    f.write_all(&vec![b'l'; 8 << 20]).unwrap();
    drop(f);
    for (what, file) in [
        ("4 KiB folios", path),
        ("large folios", dir.path().join("large")),
    ] {
        let region = map(&file, MapMode::Shared);
        let prober = Prober::new();
        let plain = scanned(&prober, &region, false);
        let touched = scanned(&prober, &region, true);
        for (i, (p, t)) in plain.iter().zip(&touched).enumerate() {
            assert_eq!(
                (p.place.resident, p.writes.dirty, p.writes.writeback),
                (t.place.resident, t.writes.dirty, t.writes.writeback),
                "{what} page {i}: touching changes no page-cache answer"
            );
            // Every cached page was faulted in while it was probed.
            assert_eq!(t.place.present, t.place.resident, "{what} page {i}");
            if prober.kpageflags_readable() && t.place.resident == Some(true) {
                assert!(
                    t.folio.folio_pages.is_some() && t.folio.kflags.is_some(),
                    "{what} page {i}"
                );
                let names = mmapscope::sys::probe::state::kflag_names(t.folio.kflags.unwrap());
                assert!(
                    !names.iter().any(|n| n.starts_with("COMPOUND")),
                    "{what}: folio extent is folio_pages, not flags: {names:?}"
                );
            }
        }
        // What was faulted in was released: nothing of the file stays in our page tables.
        assert!(
            scanned(&prober, &region, false)
                .iter()
                .all(|s| s.place.present == Some(false)),
            "{what}: nothing stays mapped"
        );
        let vma = maps::total(
            &maps::read_vmas(region.addr(), region.addr() + region.map_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(vma.memory.rss, 0, "{what}: smaps Rss back to 0");
        if prober.kpageflags_readable() && what == "large folios" {
            let runs = prober.scan(&region, true, false, false).unwrap();
            assert!(
                runs.len() <= 8,
                "{what}: large folios merge into few runs, got {}",
                runs.len()
            );
        }
    }
}

/// A writer that takes `room` bytes, then fails as a closed pipe does.
struct ClosedAfter {
    room: usize,
}

impl std::io::Write for ClosedAfter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let n = bytes.len().min(self.room);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_streamed_report_is_the_built_one() {
    use mmapscope::report;
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 2048);
    for block in (0..2048).step_by(100) {
        evict(&path, block, 37);
    }
    let w = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    w.write_all_at(b"D", 1050 * ps()).unwrap();
    let region = map(&path, MapMode::Private);
    // A cached page: a fault on an uncached one would read the whole file ahead.
    region.write(50 * ps(), b"c").unwrap();
    let prober = Prober::new();
    let mut same = false;
    for _ in 0..4 {
        let built = report::build(&region, &prober, false).unwrap();
        assert!(
            built.pages.len() > 20,
            "a layout of many runs: {}",
            report::to_text(&built)
        );
        let json = serde_json::to_string_pretty(&built).unwrap() + "\n";
        let text = report::to_text(&built);
        let stream = report::Stream::new(&region, &prober, false).unwrap();
        let (mut streamed_json, mut streamed_text) = (Vec::new(), Vec::new());
        stream.write_json(&mut streamed_json).unwrap();
        stream.write_text(&mut streamed_text).unwrap();
        // The page cache may move between the two scans (kdamond): look again then.
        if streamed_json == json.as_bytes() && streamed_text == text.as_bytes() {
            same = true;
            break;
        }
    }
    assert!(
        same,
        "streaming writes the report that build makes, JSON and text"
    );
    // A reader that goes away stops the scan with the write's error, not a panic.
    let stream = report::Stream::new(&region, &prober, false).unwrap();
    let err = stream
        .write_json(&mut ClosedAfter { room: 100 })
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    let err = stream
        .write_text(&mut ClosedAfter { room: 2000 })
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
}

/// The minimap's chunks of `region`, every one, asked at once, from chunk `from` on (the
/// first asked is the one a whole-first pass halves around), in index order.
fn chunks_from(
    prober: &Prober,
    region: &Region,
    whole_first: bool,
    from: u64,
) -> Vec<(u64, Bucket)> {
    let geometry = region.geometry().unwrap();
    let count = Chunks::of(geometry.pages()).count;
    let ask = ChunkAsk {
        order: (from..count).chain(0..from).collect(),
        budget: Duration::MAX,
        whole_first,
        ..ChunkAsk::default()
    };
    let mut probed = prober.chunks(region, &geometry, &ask).probed;
    probed.sort_by_key(|(i, _)| *i);
    probed
}

fn all_chunks(prober: &Prober, region: &Region, whole_first: bool) -> Vec<(u64, Bucket)> {
    chunks_from(prober, region, whole_first, 0)
}

/// Each chunk's counts against the per-page probe of the same pages.
fn assert_chunks_match_pages(what: &str, chunks: &[(u64, Bucket)], pages: &[PageState]) {
    let layout = Chunks::of(pages.len() as u64);
    assert_eq!(chunks.len() as u64, layout.count, "{what}");
    for (i, b) in chunks {
        let (first, count) = layout.range(*i);
        assert_eq!((b.first, b.pages), (first, count), "{what}: chunk {i}");
        let of = &pages[first as usize..(first + count) as usize];
        let n = |f: fn(&PageState) -> Option<bool>| Some(count_of(of, f));
        assert_eq!(
            b.resident,
            n(|s| s.place.resident),
            "{what}: chunk {i} resident"
        );
        assert_eq!(b.dirty, n(|s| s.writes.dirty), "{what}: chunk {i} dirty");
        if b.present.is_some() {
            assert_eq!(
                b.present,
                n(|s| s.place.present),
                "{what}: chunk {i} present"
            );
            assert_eq!(b.cow, n(|s| s.place.cow), "{what}: chunk {i} cow");
        }
    }
}

fn count_of(states: &[PageState], field: fn(&PageState) -> Option<bool>) -> u64 {
    count(states, field, true) as u64
}

/// Another writer (a second descriptor: the page cache is the same as for another process).
fn write_elsewhere(path: &Path, page: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(b"elsewhere", page * ps()).unwrap();
}

#[test]
fn minimap_chunks_agree_with_a_per_page_probe() {
    let dir = temp_dir();
    // Large: more pages than are read page by page, so one cachestat per chunk (of 4 or 5
    // pages); a hole of evicted pages, one page dirtied by another writer.
    let path = file_in_page_writes(dir.path(), "large", 5000);
    evict(&path, 1000, 2000);
    write_elsewhere(&path, 4500);
    let region = map(&path, MapMode::Shared);
    let prober = Prober::new();
    let pages = states(&prober, &region);
    assert!(count_of(&pages, |s| s.writes.dirty) >= 1);
    assert!(count_of(&pages, |s| s.place.resident) <= 3000);
    let chunks = all_chunks(&prober, &region, false);
    assert!(
        chunks.iter().all(|(_, b)| b.present.is_none()),
        "large: no pagemap"
    );
    assert_chunks_match_pages("large", &chunks, &pages);
    // 3,000 pages cached: few enough to be asked about by halves, around any chunk.
    for from in [0, 300, 1023] {
        let halved = chunks_from(&prober, &region, true, from);
        let differ = halved.iter().zip(&chunks).find(|(a, b)| a != b);
        assert!(differ.is_none(), "halved around chunk {from}: {differ:?}");
        assert_eq!(halved.len(), chunks.len());
    }

    // Nothing cached: the one whole-file call answers for all, as the calls per chunk would.
    evict(&path, 0, 5000);
    if count_of(&states(&prober, &region), |s| s.place.resident) == 0 {
        let chunks = all_chunks(&prober, &region, true);
        assert!(chunks.iter().all(|(_, b)| b.resident == Some(0)));
        assert_eq!(chunks, all_chunks(&prober, &region, false));
    }

    // Small: page by page (mincore, pagemap), a page touched (present) and one dirtied.
    let path = file_in_page_writes(dir.path(), "small", 16);
    let region = map(&path, MapMode::Private);
    region.read(3 * ps(), &mut [0u8; 1]).unwrap();
    region.write(5 * ps(), b"x").unwrap();
    write_elsewhere(&path, 9);
    let pages = states(&prober, &region);
    let chunks = all_chunks(&prober, &region, false);
    assert_eq!(chunks[5].1.cow, Some(1), "{chunks:?}");
    assert_eq!(chunks[9].1.dirty, Some(1), "{chunks:?}");
    assert!(chunks[3].1.present == Some(1), "{chunks:?}");
    assert_chunks_match_pages("small", &chunks, &pages);
}

#[test]
fn minimap_chunks_are_probed_in_the_order_asked_within_the_time_given() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 5000);
    let region = map(&path, MapMode::Shared);
    let prober = Prober::new();
    let geometry = region.geometry().unwrap();
    let probed = |ask: ChunkAsk| -> Vec<u64> {
        let slice = prober.chunks(&region, &geometry, &ask);
        assert_eq!(slice.layout, Chunks::of(5000));
        slice.probed.iter().map(|(i, _)| *i).collect()
    };
    let order = vec![5, 9, 2, 7, 4000, 1];
    // No time at all: the ones asked for at least.
    let ask = ChunkAsk {
        order: order.clone(),
        at_least: 2,
        ..ChunkAsk::default()
    };
    assert_eq!(probed(ask), [5, 9]);
    // The urgent ones have time of their own; an index past the end is skipped.
    let ask = ChunkAsk {
        order: order.clone(),
        urgent: 5,
        urgent_budget: Duration::MAX,
        ..ChunkAsk::default()
    };
    assert_eq!(probed(ask), [5, 9, 2, 7]);
    let ask = ChunkAsk {
        order,
        budget: Duration::MAX,
        ..ChunkAsk::default()
    };
    assert_eq!(probed(ask), [5, 9, 2, 7, 1]);
    assert!(probed(ChunkAsk::default()).is_empty());
}

/// The minimap cell of `model` holding `page`.
fn cell_of(model: &Model, page: u64) -> MinimapCell {
    let cells = model
        .seen
        .minimap
        .cells(model.layout().minimap_cells(), &model.snap.shape.geometry);
    *cells
        .iter()
        .find(|c| (c.bucket.first..c.bucket.first + c.bucket.pages).contains(&page))
        .expect("a cell holds every page")
}

/// Refreshes until `done` holds, at most `limit` times; returns how many it took.
fn refresh_until(session: &mut Session, limit: usize, done: impl Fn(&Model) -> bool) -> usize {
    for n in 0..=limit {
        if done(&session.model) {
            return n;
        }
        session.refresh();
    }
    panic!("not within {limit} refreshes");
}

#[test]
fn the_minimap_follows_other_writers_within_a_rotation_and_us_at_once() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 5000);
    let region = map(&path, MapMode::Shared);
    let mut session = Session::new(region, true, (120, 40));
    let chunks = session.model.seen.minimap.layout.count as usize;
    assert_eq!(chunks, 1024);
    // Every refresh probes one chunk more than the cursor's at least: a rotation is at most
    // as many refreshes as there are chunks (a cheap file like this one takes one).
    let all_known = |m: &Model| m.seen.minimap.chunks.iter().all(|c| c.bucket.is_some());
    refresh_until(&mut session, chunks, all_known);
    let dirty = |page: u64| move |m: &Model| cell_of(m, page).bucket.dirty > Some(0);
    assert!(!dirty(4000)(&session.model));

    // Another writer dirties page 4000, far from the cursor: seen within a rotation.
    write_elsewhere(&path, 4000);
    refresh_until(&mut session, chunks, dirty(4000));

    // Our own write shows with the refresh that follows it.
    session.act(Action::Do(Op::Write {
        offset: 2500 * ps(),
        bytes: vec![0x41],
    }));
    assert!(dirty(2500)(&session.model));

    // msync of the whole mapping: every chunk is probed again first, and all show clean.
    session.act(Action::Do(Op::Msync(SyncKind::Sync, Scope::All)));
    let settled = |m: &Model| m.seen.minimap.chunks.iter().all(|c| !c.changed);
    assert!(refresh_until(&mut session, 2, settled) <= 2);
    assert!(!dirty(2500)(&session.model) && !dirty(4000)(&session.model));

    // Another process cuts the file: the cells past the new end show it at the next refresh.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1000 * ps())
        .unwrap();
    session.refresh();
    let cut = cell_of(&session.model, 4000);
    assert!(cut.known && cut.bucket.beyond_eof == cut.bucket.pages);
    assert_eq!(cell_of(&session.model, 10).bucket.beyond_eof, 0);
}
