//! Looking changes nothing, in the page cache too: the grid's refresh (and the `--also` pane
//! beside it), a byte search, `inspect` and `expect file` leave a file's page cache as they found it (cachestat's count and
//! mincore's map of it the same after as before), for shared and private mappings, on a real
//! file under the target directory (ext4 here).
//!
//! The state they look at is the one that used to betray a read: a few cached pages among
//! many that are not, one of them marked for readahead. The kernel's first read of a file
//! (one page at offset 0) reads a small window and marks a page of it (PG_readahead); a later
//! read(2) of that page, even `RWF_NOWAIT` and even after `POSIX_FADV_RANDOM`, starts async
//! readahead (mm/filemap.c). Each test ends by showing that the state was armed: a plain
//! `RWF_NOWAIT` read of the cached pages then grows the page cache.
//!
//! A user who may not write the file learns nothing of its page cache (mincore calls every page
//! resident, cachestat refuses with EPERM): the explorer then reads only the pages it maps.
//!
//! The state is built right before it is measured: a kernel thread here (kdamond) evicts file
//! pages left idle for about a minute.

use crate::common;
use crate::common::{page_size, search, skip, temp_dir};

use crate::common::pty;

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use mmapscope::action::{Action, GotoTarget, GridAction, SearchAction};
use mmapscope::session::Session;
use mmapscope::sys::map::region::{self, Region};
use mmapscope::sys::map::request::{MapMode, MapRequest};

/// The file's pages: 16 MiB, twice the readahead size here.
const PAGES: u64 = 4096;
/// A page read alone after the first read: cached by itself, without a mark.
const MID: u64 = 2048;
/// A page never read: not cached.
const COLD: u64 = 3000;
const WARM_NEEDLE: &[u8] = b"needle-in-a-cached-page";
const COLD_NEEDLE: &[u8] = b"needle-in-a-cold-page";

/// The file: `.` everywhere, one needle in page `MID` and one in page `COLD`; written a MiB at a
/// time and synced, so that it can all be evicted.
fn file(dir: &Path) -> PathBuf {
    let ps = page_size();
    let path = dir.join("looked-at.bin");
    let mut data = vec![b'.'; (PAGES * ps) as usize];
    for (page, needle) in [(MID, WARM_NEEDLE), (COLD, COLD_NEEDLE)] {
        let at = (page * ps + 100) as usize;
        data[at..at + needle.len()].copy_from_slice(needle);
    }
    let mut f = File::create(&path).expect("create");
    for chunk in data.chunks(1 << 20) {
        f.write_all(chunk).expect("write");
    }
    f.sync_all().expect("fsync");
    path
}

/// What the page cache holds of the file: cachestat's count and mincore's map (through a
/// mapping of our own, which faults nothing in; we own the file, so mincore reports the
/// page cache).
#[derive(Debug, PartialEq, Eq)]
struct Cache {
    nr_cache: u64,
    map: Vec<bool>,
}

impl Cache {
    fn cached_pages(&self) -> Vec<u64> {
        (0..PAGES).filter(|&p| self.map[p as usize]).collect()
    }
}

fn cache(path: &Path) -> Cache {
    let f = File::open(path).expect("open");
    let nr_cache = region::cachestat(&f, 0, PAGES * page_size())
        .expect("cachestat")
        .nr_cache;
    let mapping = Region::open(&MapRequest::file(path, MapMode::Shared)).expect("map");
    let mut core = Vec::new();
    mapping.mincore(0, PAGES, &mut core).expect("mincore");
    Cache {
        nr_cache,
        map: core.iter().map(|b| b & 1 != 0).collect(),
    }
}

/// Evicts the whole file, then reads one page at 0 (the kernel's first window, a page of it
/// marked for readahead) and page `MID` (alone), each through a descriptor of its own.
/// Returns the page cache then: a few pages, `MID` among them, `COLD` not.
fn few_cached(path: &Path) -> Cache {
    let ps = page_size();
    let f = File::open(path).expect("open");
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
    assert_eq!(cache(path).nr_cache, 0, "the whole file was evicted");
    let mut buf = vec![0u8; ps as usize];
    for page in [0, MID] {
        let f = File::open(path).expect("open");
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut buf, page * ps).expect("read");
    }
    let before = cache(path);
    let pages = before.cached_pages();
    assert!(
        pages.contains(&0) && pages.contains(&MID) && !pages.contains(&COLD),
        "cached: {pages:?}"
    );
    assert!(before.nr_cache < 64, "a few pages cached: {pages:?}");
    before
}

/// The page cache is as `before` found it, after `what`.
fn unchanged(path: &Path, before: &Cache, what: &str) {
    let after = cache(path);
    assert_eq!(
        after.nr_cache,
        before.nr_cache,
        "{what}: cachestat's count changed (cached before: {:?}, after: {:?})",
        before.cached_pages(),
        after.cached_pages()
    );
    assert_eq!(after.map, before.map, "{what}: mincore's map changed");
}

/// The state looked at was one a careless read disturbs: `RWF_NOWAIT` reads of the cached
/// pages alone (no other page asked for) grow the page cache. Run last: it changes the state.
fn armed(path: &Path, before: &Cache) {
    let ps = page_size();
    let f = File::open(path).expect("open");
    let mut buf = vec![0u8; ps as usize];
    for page in before.cached_pages() {
        let _ = rustix::io::preadv2(
            &f,
            &mut [std::io::IoSliceMut::new(&mut buf)],
            page * ps,
            rustix::io::ReadWriteFlags::NOWAIT,
        );
    }
    let after = cache(path).nr_cache;
    assert!(
        after > before.nr_cache,
        "RWF_NOWAIT reads of the {} cached pages started no readahead ({after} cached after): \
         this test's state no longer shows what it is about",
        before.nr_cache
    );
}

fn open(path: &Path, mode: MapMode) -> Region {
    Region::open(&MapRequest::file(path, mode)).expect("map")
}

const MODES: [MapMode; 2] = [MapMode::Shared, MapMode::Private];

#[test]
fn the_grid_shows_cached_pages_without_starting_readahead() {
    let ps = page_size();
    for mode in MODES {
        let dir = temp_dir();
        let path = file(dir.path());
        let before = few_cached(&path);
        let mut s = Session::new(open(&path, mode), true, (120, 40));
        // The pane of `--also` beside the grid: the same file in the other mode, same rows.
        let other = match mode {
            MapMode::Shared => MapMode::Private,
            MapMode::Private => MapMode::Shared,
        };
        s.add_also(other).expect("--also");
        for page in before.cached_pages().into_iter().chain([COLD]) {
            s.act(Action::Grid(GridAction::Goto(GotoTarget::Page(page))));
            s.refresh();
            let also = &s
                .model
                .lab
                .also
                .as_ref()
                .expect("the pane's snapshot")
                .probed
                .bytes;
            for bytes in [&s.model.snap.probed.bytes, also] {
                if page == COLD {
                    assert!(
                        bytes.unread.contains(&COLD),
                        "{mode:?}: page {COLD} not read"
                    );
                    assert_eq!(bytes.get(COLD * ps + 100), None);
                } else {
                    // The page was on screen and its bytes were read.
                    assert_eq!(bytes.get(page * ps), Some(b'.'), "{mode:?}: page {page}");
                }
            }
        }
        let at = MID * ps + 100;
        assert_eq!(
            s.model.snap.probed.bytes.get(at),
            None,
            "page {MID} is off screen now"
        );
        s.act(Action::Grid(GridAction::Goto(GotoTarget::Page(MID))));
        s.refresh();
        assert_eq!(
            s.model.snap.probed.bytes.get(at),
            Some(WARM_NEEDLE[0]),
            "{mode:?}"
        );
        unchanged(
            &path,
            &before,
            &format!("the grid over the cached pages ({mode:?})"),
        );
        drop(s);
        armed(&path, &before);
    }
}

#[test]
fn a_byte_search_reads_cached_pages_without_starting_readahead() {
    let ps = page_size();
    for mode in MODES {
        let dir = temp_dir();
        let path = file(dir.path());
        let before = few_cached(&path);
        let mut s = Session::new(open(&path, mode), false, (120, 40));
        let pattern = |n: &[u8]| format!("\"{}\"", String::from_utf8_lossy(n));
        // Found where it is cached: the search read the page cache.
        let line = search(
            &mut s,
            Action::Search(SearchAction::Prompt),
            &pattern(WARM_NEEDLE),
        );
        assert_eq!(s.model.doc.cursor, MID * ps + 100, "{mode:?}: {line}");
        // Backward, from the start: wraps to the same match.
        s.act(Action::Grid(GridAction::Goto(GotoTarget::Page(0))));
        s.act(Action::Search(SearchAction::Again { forward: false }));
        s.finish_search();
        assert_eq!(s.model.doc.cursor, MID * ps + 100, "{mode:?}: backward");
        // Not found where it is not: every page was passed, the cold ones not read.
        let line = search(
            &mut s,
            Action::Search(SearchAction::Prompt),
            &pattern(COLD_NEEDLE),
        );
        assert!(line.contains("not found"), "{mode:?}: {line}");
        assert!(line.contains("pages not resident were not read"), "{line}");
        unchanged(&path, &before, &format!("byte searches ({mode:?})"));
        drop(s);
        armed(&path, &before);
    }
}

#[test]
fn inspect_leaves_the_page_cache_as_it_was() {
    for mode in MODES {
        let dir = temp_dir();
        let path = file(dir.path());
        let before = few_cached(&path);
        let s = Session::new(open(&path, mode), false, (120, 40));
        let report = s.report().expect("report");
        let resident = report.summary.resident;
        assert_eq!(
            resident, before.nr_cache,
            "{mode:?}: the report counts them"
        );
        drop(s);
        let mut args = vec!["inspect", "--json"];
        if mode == MapMode::Private {
            args.push("--private");
        }
        let path_arg = path.to_str().expect("utf-8 path");
        args.push(path_arg);
        let report = common::json_ok(&common::run(common::mmapscope(&args)));
        assert_eq!(report["summary"]["resident"], before.nr_cache, "{mode:?}");
        unchanged(&path, &before, &format!("inspect ({mode:?})"));
        armed(&path, &before);
    }
}

#[test]
fn expect_file_reads_a_cached_byte_without_starting_readahead() {
    let ps = page_size();
    for mode in MODES {
        let dir = temp_dir();
        let path = file(dir.path());
        let before = few_cached(&path);
        // Every cached page's first byte, and the needle in page MID.
        let mut lines: Vec<String> = before
            .cached_pages()
            .iter()
            .map(|p| format!("expect file 0x{:x} == 2e", p * ps))
            .collect();
        lines.push(format!(
            "expect file 0x{:x} == {:02x}",
            MID * ps + 100,
            WARM_NEEDLE[0]
        ));
        let script = common::script(dir.path(), &(lines.join("\n") + "\n"));
        let mut args = vec!["batch"];
        if mode == MapMode::Private {
            args.push("--private");
        }
        args.extend([path.to_str().unwrap(), script.to_str().unwrap()]);
        let out = common::run(common::mmapscope(&args));
        let stdout = common::text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{mode:?}: {stdout}");
        assert_eq!(
            stdout.matches("\"ok\":true").count(),
            lines.len(),
            "{stdout}"
        );
        unchanged(&path, &before, &format!("expect file ({mode:?})"));
        armed(&path, &before);
    }
}

#[test]
fn for_a_user_who_may_not_write_the_file_the_explorer_reads_only_what_it_maps() {
    const TEST: &str = "for_a_user_who_may_not_write_the_file_the_explorer_reads_only_what_it_maps";
    if !common::is_root() {
        skip(
            TEST,
            "needs root, to make a file the explorer (run as nobody) may not write",
        );
        return;
    }
    let dir = match common::temp_for_nobody() {
        Ok(dir) => dir,
        Err(why) => return skip(TEST, &why),
    };
    let tmpfs = rustix::fs::statfs(dir.path()).expect("statfs").f_type == 0x0102_1994;
    if tmpfs {
        return skip(
            TEST,
            "the only directory nobody can reach is on tmpfs, never evicted",
        );
    }
    // Ours (root's), mode 0644: nobody may read it, not write it.
    let path = file(dir.path());
    for mode in MODES {
        let before = few_cached(&path);
        let mut args = vec![path.as_os_str()];
        if mode == MapMode::Private {
            args.insert(0, "--private".as_ref());
        }
        let cmd = match common::as_unprivileged(&args) {
            Ok(cmd) => cmd,
            Err(why) => return skip(TEST, &why),
        };
        let argv: Vec<&std::ffi::OsStr> = cmd.get_args().collect();
        let program = std::path::Path::new(cmd.get_program());
        let mut t = pty::Term::spawn_program(program, &argv, &[], 120, 40);
        t.wait_for("the grid", |s| s.contains("page 0 ·"));
        // Over the cached pages, one marked for readahead among them.
        for page in 1..=4 {
            t.send("]");
            t.wait_for("the next page", |s| s.contains(&format!("page {page} ·")));
        }
        let pattern = format!("\"{}\"", String::from_utf8_lossy(WARM_NEEDLE));
        t.send("/");
        t.send(&format!("{pattern}\r"));
        let ended = format!("/{pattern}: ");
        t.wait_for("the search's end", |s| s.contains(&ended));
        // Page MID is cached, but nothing can say so: it is not read.
        let screen = t.contents();
        assert!(
            screen.contains(&format!("{ended}not found")),
            "{mode:?}:\n{screen}"
        );
        t.quit_cleanly();
        unchanged(
            &path,
            &before,
            &format!("the explorer as nobody ({mode:?})"),
        );
        armed(&path, &before);
    }
}

/// The choice behind every read above, page by page, on a private mapping of a file of 3 pages
/// and 100 bytes mapped as 5 pages: a file page we map and one we do not are read from the
/// page cache, our copy through the mapping, an evicted page not at all, nothing beyond end of
/// file; untouched anonymous memory reads as zeros. cachestat's halving agrees with cachestat
/// page by page.
#[test]
fn each_page_is_read_the_way_its_state_allows() {
    use mmapscope::sys::probe::look::{self, Facts, How};
    use mmapscope::sys::probe::prober::Prober;
    let ps = page_size();
    let dir = temp_dir();
    let path = dir.path().join("small.bin");
    let mut f = File::create(&path).expect("create");
    for c in [b'a', b'b', b'c'] {
        f.write_all(&vec![c; ps as usize]).expect("write");
    }
    f.write_all(&[b'z'; 100]).expect("write");
    f.sync_all().expect("fsync");
    let region = Region::open(&MapRequest {
        len: Some(5 * ps),
        ..MapRequest::file(&path, MapMode::Private)
    })
    .expect("map");
    // Page 2 leaves the page cache; under MADV_RANDOM the faults below read nothing back.
    region
        .madvise(0, 5, rustix::mm::Advice::Random)
        .expect("MADV_RANDOM");
    let file = File::open(&path).expect("open");
    let len = std::num::NonZeroU64::new(ps);
    rustix::fs::fadvise(&file, 2 * ps, len, rustix::fs::Advice::DontNeed).expect("fadvise");
    let mut b = [0u8; 1];
    region.read(0, &mut b).expect("page 0 mapped");
    region.write(ps, b"B").expect("page 1 copied");
    let prober = Prober::new();
    let geometry = region.geometry().expect("geometry");
    let probes = prober.probe(&region, 0, 5);
    let swap = std::cell::OnceCell::new();
    let how = |page: u64| {
        let facts = Facts::of(&probes[page as usize]);
        look::how(&region, &geometry, page, Some(&facts), &swap)
    };
    let hows: Vec<How> = (0..5).map(how).collect();
    assert_eq!(
        hows,
        [
            How::Cached,
            How::Mapping,
            How::Unread,
            How::Cached,
            How::Skip
        ],
        "{probes:?}"
    );
    // Each read gives what the mapping holds: the file, our copy, the last page's padding.
    let mut buf = vec![0u8; ps as usize];
    for (page, first, last) in [(0, b'a', b'a'), (1, b'B', b'b'), (3, b'z', 0)] {
        let n = look::read(&region, hows[page as usize], page * ps, &mut buf);
        assert_eq!(n, Some(ps as usize), "page {page}");
        assert_eq!((buf[0], buf[ps as usize - 1]), (first, last), "page {page}");
    }
    assert_eq!(look::read(&region, How::Skip, 4 * ps, &mut buf), None);

    // cachestat halving: the same answer as one cachestat per page.
    let mut halved = Vec::new();
    look::cached_pages(&region, 0, 4, &mut halved).expect("cachestat");
    let one_by_one: Vec<bool> = (0..4)
        .map(|p| {
            region::cachestat(&file, p * ps, ps)
                .expect("cachestat")
                .nr_cache
                > 0
        })
        .collect();
    assert_eq!(halved, one_by_one);
    assert_eq!(halved, [true, true, false, true]);

    // Private anonymous memory: untouched reads as zeros, written through the mapping.
    let anon = Region::open(&MapRequest::anon(2 * ps, MapMode::Private)).expect("anon");
    anon.write(ps, b"x").expect("write");
    let g = anon.geometry().expect("geometry");
    let probes = prober.probe(&anon, 0, 2);
    let hows: Vec<How> = (0..2)
        .map(|p| look::how(&anon, &g, p, Some(&Facts::of(&probes[p as usize])), &swap))
        .collect();
    assert_eq!(hows, [How::Zeros, How::Mapping]);
}
