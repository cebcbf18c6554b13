//! Kernel behaviour through the mapping core, on real temp files on the real filesystem (the
//! target dir, not tmpfs): shared vs private, signal-free access past EOF and after truncation,
//! our VMA in /proc/self/maps and smaps, the whole-mapping scan.

use crate::common::temp_dir;

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use mmapscope::sys::map::request::{MapMode, MapRequest, Prot, Source, page_size};

use mmapscope::sys::map::region::Region;
use mmapscope::sys::probe::chunks::ChunkAsk;
use mmapscope::sys::probe::prober::Prober;
use mmapscope::sys::probe::snapshot::{self, View};
use mmapscope::sys::proc::maps;

/// The byte at file offset `i` of the files `make_file` writes.
fn pattern(i: u64) -> u8 {
    (i % 251) as u8
}

/// A file of `len` bytes, byte i = i % 251, written in page-sized pieces.
fn make_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    let mut f = File::create(&path).unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    for chunk in data.chunks(page_size() as usize) {
        f.write_all(chunk).unwrap();
    }
    f.sync_all().unwrap();
    path
}

/// A shared file mapping from `offset` with protection `prot` (`None`: the default).
fn request(path: &Path, offset: u64, prot: Option<Prot>) -> MapRequest {
    MapRequest {
        source: Source::File(path.to_path_buf()),
        mode: MapMode::Shared,
        offset,
        len: None,
        prot,
        write: true,
        place: Default::default(),
    }
}

fn map(path: &Path, mode: MapMode, len: Option<u64>) -> Region {
    Region::open(&MapRequest {
        mode,
        len,
        ..request(path, 0, None)
    })
    .expect("map")
}

fn pread(path: &Path, off: u64) -> u8 {
    let mut b = [0u8; 1];
    File::open(path)
        .unwrap()
        .read_exact_at(&mut b, off)
        .unwrap();
    b[0]
}

fn ps() -> u64 {
    page_size()
}

#[test]
fn shared_write_reaches_the_file_private_write_does_not() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", 3 * ps() as usize);
    let shared = map(&path, MapMode::Shared, None);
    let private = map(&path, MapMode::Private, None);
    let original = pread(&path, 10);

    assert_eq!(shared.write(10, &[0xAB]).unwrap(), 1);
    // MAP_SHARED: in the page cache at once, so pread sees it before any msync.
    assert_eq!(pread(&path, 10), 0xAB);
    // The private mapping has not copied page 0 yet: it sees the shared write too.
    let mut b = [0u8; 1];
    private.read(10, &mut b).unwrap();
    assert_eq!(b[0], 0xAB);

    assert_eq!(private.write(20, &[0xCD]).unwrap(), 1);
    private.read(20, &mut b).unwrap();
    assert_eq!(b[0], 0xCD, "the private mapping sees its own write");
    assert_eq!(pread(&path, 20), pattern(20), "the file does not");
    let mut s = [0u8; 1];
    shared.read(20, &mut s).unwrap();
    assert_eq!(s[0], pattern(20), "nor does the shared mapping");

    // After the copy, later shared writes to that page no longer show in the private one.
    shared.write(30, &[0xEE]).unwrap();
    private.read(30, &mut b).unwrap();
    assert_eq!(b[0], pattern(30));
    assert_ne!(original, 0xAB);
}

#[test]
fn private_write_makes_exactly_that_page_cow() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", 4 * ps() as usize);
    let region = map(&path, MapMode::Private, None);
    let prober = Prober::new();
    let mut buf = vec![0u8; 4 * ps() as usize];
    region.read(0, &mut buf).unwrap(); // fault every page in as file pages
    region.write(ps() + 5, &[1]).unwrap();
    let probes = prober.probe(&region, 0, 4);
    let present: Vec<_> = probes.iter().map(|p| p.present()).collect();
    assert_eq!(present, vec![Some(true); 4]);
    let file_backed: Vec<_> = probes.iter().map(|p| p.file_backed()).collect();
    assert_eq!(
        file_backed,
        vec![Some(true), Some(false), Some(true), Some(true)],
        "pagemap bit 61 flips for the written page only"
    );
    let vma =
        maps::total(&maps::read_vmas(region.addr(), region.addr() + region.map_bytes()).unwrap())
            .unwrap();
    assert_eq!(vma.head.perms, "rw-p");
    assert_eq!(vma.memory.anonymous, ps(), "one anonymous copy");
}

#[test]
fn reading_beyond_eof_is_an_error_not_a_signal() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", 3 * ps() as usize + 100);
    let region = map(&path, MapMode::Shared, Some(6 * ps()));
    let g = region.geometry().unwrap();
    assert_eq!(g.pages(), 6);
    assert!(g.page(4).beyond_eof && g.page(5).beyond_eof);
    assert_eq!(g.page(3).valid_bytes, 100);

    // Padding reads as zero.
    let mut tail = vec![0xFFu8; 16];
    region.read(3 * ps() + 100, &mut tail).unwrap();
    assert!(tail.iter().all(|&b| b == 0), "padding reads as zero");

    // A page wholly beyond EOF: EFAULT, and we are still here.
    let mut b = [0u8; 8];
    let err = region.read(4 * ps(), &mut b).unwrap_err();
    assert_eq!(err.errno, libc::EFAULT, "{err}");
    let err = region.write(5 * ps(), &[1]).unwrap_err();
    assert_eq!(err.errno, libc::EFAULT, "{err}");

    // A read spanning the last good page and the first dead one is short.
    let mut span = vec![0u8; 2 * ps() as usize];
    let n = region.read(3 * ps(), &mut span).unwrap();
    assert_eq!(n as u64, ps());

    // Outside the mapping altogether: refused before any system call.
    assert_eq!(
        region.read(6 * ps(), &mut b).unwrap_err().errno,
        libc::EINVAL
    );
}

#[test]
fn truncation_under_the_mapping_is_seen_and_survived() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", 3 * ps() as usize);
    let region = map(&path, MapMode::Shared, None);
    let mut b = [0u8; 4];
    region.read(2 * ps(), &mut b).unwrap();

    // Another process truncates the file to one page (the same inode, so the same effect as
    // any other opener: the kernel unmaps the cut pages from every mapping).
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(ps())
        .unwrap();

    let g = region.geometry().unwrap();
    assert_eq!(g.file_size, Some(ps()));
    assert!(!g.page(0).beyond_eof && g.page(1).beyond_eof && g.page(2).beyond_eof);
    assert_eq!(
        region.read(2 * ps(), &mut b).unwrap_err().errno,
        libc::EFAULT
    );
    region.read(0, &mut b).unwrap();

    // The snapshot never reads the cut pages, and marks them.
    let prober = Prober::new();
    let snap = snapshot::take(
        &region,
        &prober,
        View {
            first_page: 0,
            page_count: 3,
            byte_start: 0,
            byte_len: 3 * ps(),
            minimap: ChunkAsk {
                order: vec![2, 1, 0],
                budget: std::time::Duration::MAX,
                ..ChunkAsk::default()
            },
        },
    );
    assert!(snap.probed.pages[2].state.geom.beyond_eof);
    assert_eq!(snap.probed.pages[2].state.place.resident, Some(false));
    assert_eq!(snap.probed.bytes.get(0), Some(0));
    assert_eq!(snap.probed.bytes.get(2 * ps()), None);
    // The minimap's chunks (one per page here), in the order asked; the cut ones beyond EOF.
    let chunks: Vec<(u64, u64)> = snap
        .probed
        .minimap
        .probed
        .iter()
        .map(|(i, b)| (*i, b.beyond_eof))
        .collect();
    assert_eq!(chunks, [(2, 1), (1, 1), (0, 0)]);

    // Growing the file back makes the pages readable again (zeros: a hole).
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(3 * ps())
        .unwrap();
    region.read(2 * ps(), &mut b).unwrap();
    assert_eq!(b, [0; 4]);
}

#[test]
fn our_vma_is_found_by_address_and_rss_grows_when_touched() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", 8 * ps() as usize);
    for (mode, perms) in [(MapMode::Shared, "rw-s"), (MapMode::Private, "rw-p")] {
        let region = map(&path, mode, None);
        let (start, end) = (region.addr(), region.addr() + region.map_bytes());
        let vmas = maps::read_vmas(start, end).unwrap();
        assert_eq!(vmas.len(), 1);
        let vma = &vmas[0];
        assert_eq!((vma.head.start, vma.head.end), (start, end));
        assert_eq!(vma.head.perms, perms);
        assert_eq!(
            vma.head.path,
            fs::canonicalize(&path).unwrap().to_string_lossy()
        );
        assert_eq!(vma.memory.rss, 0, "nothing touched yet");
        assert!(vma.vm_flags.contains(&"rd".to_string()));
        assert_eq!(
            vma.vm_flags.contains(&"sh".to_string()),
            mode == MapMode::Shared
        );

        let mut b = [0u8; 1];
        region.read(0, &mut b).unwrap();
        let after = maps::total(&maps::read_vmas(start, end).unwrap()).unwrap();
        assert!(after.memory.rss >= ps(), "Rss grew: {}", after.memory.rss);

        let maps = maps::read_maps().unwrap();
        let line = maps
            .iter()
            .find(|l| l.start == start)
            .expect("our line in maps");
        assert_eq!(line.perms, perms);
        assert!(
            maps.iter()
                .any(|l| l.path == "[heap]" || l.path == "[stack]")
        );
    }
}

#[test]
fn protection_none_refuses_reads_without_a_signal() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", ps() as usize);
    let region = Region::open(&request(&path, 0, Some(Prot::NONE))).unwrap();
    assert_eq!(region.prot().letters(), "---");
    let mut b = [0u8; 1];
    assert_eq!(region.read(0, &mut b).unwrap_err().errno, libc::EFAULT);
    let vma = &maps::read_vmas(region.addr(), region.addr() + 1).unwrap()[0];
    assert_eq!(vma.head.perms, "---s");
}

#[test]
fn read_only_protection_refuses_writes_and_the_file_is_unchanged() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", ps() as usize);
    let region = Region::open(&request(&path, 0, Some(Prot::R))).unwrap();
    let err = region.write(3, &[0x55]).unwrap_err();
    assert_eq!(err.errno, libc::EFAULT);
    assert_eq!(pread(&path, 3), 3);
}

#[test]
fn offset_mappings_and_unaligned_offsets() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", 3 * ps() as usize + 100);
    let region = Region::open(&request(&path, 2 * ps(), None)).unwrap();
    assert_eq!(region.len(), ps() + 100);
    assert_eq!(region.pages(), 2);
    let mut b = [0u8; 1];
    region.read(0, &mut b).unwrap();
    assert_eq!(
        u64::from(b[0]),
        (2 * ps()) % 251,
        "byte 0 of the mapping is file byte 2*ps"
    );

    let err = Region::open(&request(&path, 100, None)).unwrap_err();
    assert_eq!(err.errno, libc::EINVAL);
    assert!(err.explanation.contains(&format!("({} B)", ps())), "{err}");
}

#[test]
fn empty_file_maps_one_page_beyond_eof() {
    let dir = temp_dir();
    let path = dir.path().join("empty");
    File::create(&path).unwrap();
    let region = map(&path, MapMode::Shared, None);
    assert_eq!(region.pages(), 1);
    assert!(region.geometry().unwrap().page(0).beyond_eof);
    assert!(
        region
            .notes()
            .iter()
            .any(|n| n.contains("beyond end of file"))
    );
    let mut b = [0u8; 1];
    assert_eq!(region.read(0, &mut b).unwrap_err().errno, libc::EFAULT);
}

#[test]
fn anonymous_and_dev_zero_mappings() {
    let cases = [
        (Source::Anon(4 * ps()), MapMode::Private, "rw-p"),
        (Source::Anon(4 * ps()), MapMode::Shared, "rw-s"),
        (Source::File("/dev/zero".into()), MapMode::Private, "rw-p"),
        (Source::File("/dev/zero".into()), MapMode::Shared, "rw-s"),
    ];
    for (source, mode, perms) in cases {
        let region = Region::open(&MapRequest {
            source: source.clone(),
            mode,
            offset: 0,
            len: Some(4 * ps()),
            prot: None,
            write: true,
            place: Default::default(),
        })
        .unwrap();
        // Private: no end of file. Shared: the shmem object's end, its size at mmap.
        let g = region.geometry().unwrap();
        let end = (mode == MapMode::Shared).then_some(4 * ps());
        assert_eq!(g.file_size, end, "{source:?} {mode:?}");
        assert!(!g.page(3).beyond_eof, "{source:?} {mode:?}");
        region.write(ps() + 1, &[7]).unwrap();
        let mut b = [9u8; 2];
        region.read(ps(), &mut b).unwrap();
        assert_eq!(b, [0, 7], "{source:?} {mode:?}");
        let vma = &maps::read_vmas(region.addr(), region.addr() + region.map_bytes()).unwrap()[0];
        assert_eq!(vma.head.perms, perms, "{source:?} {mode:?}");
        if mode == MapMode::Shared {
            assert!(
                vma.head.path.starts_with("/dev/zero"),
                "shmem: {}",
                vma.head.path
            );
        }
    }
}

#[test]
fn scan_reports_runs_that_cover_every_page() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "f", 3 * ps() as usize + 100);
    let region = map(&path, MapMode::Shared, Some(6 * ps()));
    let prober = Prober::new();
    let runs = prober.scan(&region, true, false, false).unwrap();
    let mut next = 0;
    for r in &runs {
        assert_eq!(r.first, next);
        next += r.count;
    }
    assert_eq!(next, 6);
    let beyond: u64 = runs
        .iter()
        .filter(|r| r.state.geom.beyond_eof)
        .map(|r| r.count)
        .sum();
    assert_eq!(beyond, 2);
    // The file was just written, so it is cached: with touch, its pages become present.
    for r in runs.iter().filter(|r| !r.state.geom.beyond_eof) {
        assert_eq!(r.state.place.resident, Some(true));
        assert_eq!(r.state.place.present, Some(true));
    }
    for r in runs.iter().filter(|r| r.state.geom.beyond_eof) {
        assert_eq!(
            (r.state.place.resident, r.state.place.present),
            (Some(false), Some(false))
        );
    }
}

#[test]
fn scan_of_a_huge_sparse_file_is_cheap_and_exact() {
    let dir = temp_dir();
    let path = dir.path().join("sparse");
    let f = File::create(&path).unwrap();
    f.set_len(1 << 40).unwrap();
    // Two cached pages far apart: page 0 and page 2^27.
    f.write_all_at(b"x", 0).unwrap();
    f.write_all_at(b"y", (1u64 << 27) * ps()).unwrap();
    let region = map(&path, MapMode::Shared, None);
    let prober = Prober::new();
    let runs = prober.scan(&region, false, false, false).unwrap();
    assert!(runs.len() <= 8, "a handful of runs, got {}", runs.len());
    let resident: Vec<u64> = runs
        .iter()
        .filter(|r| r.state.place.resident == Some(true))
        .flat_map(|r| r.first..r.first + r.count)
        .collect();
    assert_eq!(resident, vec![0, 1 << 27]);
    assert_eq!(
        runs.iter().map(|r| r.count).sum::<u64>(),
        (1u64 << 40) / ps()
    );
}

/// `pages` pages of anonymous memory.
fn anon_pages(pages: u64, mode: MapMode) -> Region {
    Region::open(&MapRequest::anon(pages * ps(), mode)).unwrap()
}

/// A snapshot of `pages` pages from page 0, bytes included, with no minimap work.
fn look(region: &Region, pages: u64) -> snapshot::Snapshot {
    snapshot::take(
        region,
        &Prober::new(),
        View {
            first_page: 0,
            page_count: pages,
            byte_start: 0,
            byte_len: pages * ps(),
            minimap: ChunkAsk::default(),
        },
    )
}

#[test]
fn looking_at_pages_maps_nothing_and_reads_nothing_from_disk() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "look.bin", 4 * ps() as usize);
    for mode in [MapMode::Shared, MapMode::Private] {
        // In the page cache again (the shared round evicted it): read(2) it whole.
        assert_eq!(fs::read(&path).unwrap().len(), 4 * ps() as usize);
        let region = map(&path, mode, None);
        // Cached (just written) but not in our page tables: the bytes come from the page cache.
        let first = look(&region, 4);
        assert!(first.probed.bytes.unread.is_empty(), "{mode:?}");
        for off in [0, ps() + 7, 4 * ps() - 1] {
            assert_eq!(
                first.probed.bytes.get(off),
                Some(pattern(off)),
                "{mode:?} at {off}"
            );
        }
        let again = look(&region, 4);
        for p in &again.probed.pages {
            assert_eq!(
                p.state.place.present,
                Some(false),
                "{mode:?}: looking mapped page {}",
                p.index
            );
        }

        // Evicted from the page cache: the bytes are left unread, and it stays evicted.
        region.fadvise(rustix::fs::Advice::DontNeed).unwrap();
        let cold = look(&region, 4);
        if cold.probed.pages[1].state.place.resident == Some(true) {
            eprintln!(
                "SKIPPED eviction half ({mode:?}): POSIX_FADV_DONTNEED left page 1 cached here"
            );
            continue;
        }
        assert!(
            cold.probed.bytes.unread.contains(&1),
            "{mode:?}: {:?}",
            cold.probed.bytes.unread
        );
        assert_eq!(cold.probed.bytes.get(ps()), None);
        let after = look(&region, 4);
        assert_eq!(
            after.probed.pages[1].state.place.resident,
            Some(false),
            "{mode:?}: looking read it in"
        );
        assert_eq!(after.probed.pages[1].state.place.present, Some(false));
    }

    // Private anonymous memory never touched reads as zeros, and stays unallocated.
    let anon = anon_pages(4, MapMode::Private);
    let shown = look(&anon, 4);
    assert_eq!(shown.probed.bytes.get(5), Some(0));
    assert!(shown.probed.bytes.unread.is_empty());
    let after = look(&anon, 4);
    assert!(
        after
            .probed
            .pages
            .iter()
            .all(|p| p.state.place.present == Some(false))
    );
    // A written page is present and read through the mapping.
    anon.write(ps() + 3, &[0x41]).unwrap();
    assert_eq!(look(&anon, 4).probed.bytes.get(ps() + 3), Some(0x41));
}

#[test]
fn looking_at_shared_anonymous_memory_allocates_nothing() {
    let anon = anon_pages(4, MapMode::Shared);
    let shown = look(&anon, 4);
    if mmapscope::sys::proc::limits::swap_configured() {
        // A page not in memory could be in swap: it is left unread.
        assert!(
            shown.probed.bytes.unread.contains(&0),
            "{:?}",
            shown.probed.bytes.unread
        );
    } else {
        assert_eq!(shown.probed.bytes.get(7), Some(0));
    }
    let after = look(&anon, 4);
    assert!(
        after
            .probed
            .pages
            .iter()
            .all(|p| p.state.place.resident == Some(false)),
        "looking allocated shmem pages"
    );
    anon.write(3, &[0x7f]).unwrap();
    assert_eq!(look(&anon, 4).probed.bytes.get(3), Some(0x7f));
}

#[test]
fn the_last_pages_padding_is_read_through_a_window_and_nothing_gets_mapped() {
    let dir = temp_dir();
    let path = make_file(dir.path(), "pad.bin", ps() as usize + 100);
    let region = map(&path, MapMode::Shared, None);
    // A store into the padding stays in the page cache page (it never reaches the file).
    region.write(ps() + 200, &[0x41]).unwrap();
    region
        .madvise(1, 1, rustix::mm::Advice::LinuxDontNeed)
        .unwrap();
    let shown = look(&region, 2);
    assert_eq!(shown.probed.pages[1].state.place.present, Some(false));
    assert_eq!(
        shown.probed.bytes.get(ps() + 99),
        Some(pattern(ps() + 99)),
        "data"
    );
    assert_eq!(shown.probed.bytes.get(ps() + 100), Some(0), "padding");
    assert_eq!(
        shown.probed.bytes.get(ps() + 200),
        Some(0x41),
        "what the page cache page holds"
    );
    let after = look(&region, 2);
    assert_eq!(
        after.probed.pages[1].state.place.present,
        Some(false),
        "the window left no entry"
    );
    assert_eq!(
        after.probed.pages[0].state.place.present,
        Some(false),
        "nor did fault-around"
    );
    assert_eq!(fs::metadata(&path).unwrap().len(), ps() + 100);
}
