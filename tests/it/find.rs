//! Finding your way, on the real kernel: `: dirty` lands on the page a write dirtied, byte
//! search finds patterns across page and chunk boundaries, skips pages that are not resident
//! (and `/!` finds them), crosses a sparse 1 TiB file in a blink, reads only present pages of
//! another process; the page map's cells cost what the cells cost. Temp files live under the
//! target directory (ext4 here, not tmpfs, where every page would count as dirty).

use crate::common;
use crate::common::{search, temp_dir};

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmapscope::action::{
    Action, Event, GridAction, Op, PageMapAction, PromptEdit, SearchAction, ViewAction,
};
use mmapscope::search::job::{Job, Step};
use mmapscope::search::query::{Ending, Pattern, Query, Request, StateQuery};
use mmapscope::session::Session;
use mmapscope::sys::attach::foreign::VmaView;
use mmapscope::sys::map::range::Mapped;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Source, page_size};
use mmapscope::sys::probe::prober::Prober;
use mmapscope::sys::proc::maps;

/// A file of `pages` pages of `.`, with `plants` written at their offsets; synced (clean).
/// Written a page at a time, so that its page cache is in single-page folios: dirty and
/// eviction are per folio, and one large folio would make its neighbours dirty too.
fn file(dir: &Path, pages: u64, plants: &[(u64, &[u8])]) -> PathBuf {
    let path = dir.join("f");
    let ps = page_size();
    let mut data = vec![b'.'; (pages * ps) as usize];
    for (off, bytes) in plants {
        data[*off as usize..*off as usize + bytes.len()].copy_from_slice(bytes);
    }
    let mut f = File::create(&path).unwrap();
    for page in data.chunks(ps as usize) {
        f.write_all(page).unwrap();
    }
    f.sync_all().unwrap();
    path
}

fn session(path: &Path, len: Option<u64>) -> Session {
    let region = Region::open(&MapRequest {
        source: Source::File(path.to_path_buf()),
        mode: MapMode::Shared,
        offset: 0,
        len,
        prot: None,
        write: true,
        place: Default::default(),
    })
    .unwrap();
    Session::new(region, false, (120, 40))
}

fn again(s: &mut Session, forward: bool) -> String {
    s.act(Action::Search(SearchAction::Again { forward }));
    s.finish_search();
    common::last_log(s)
}

/// Whether page `page` of the session's file is dirty in the page cache now.
fn dirty_now(s: &Session, page: u64) -> bool {
    let report = serde_json::to_value(s.report().unwrap()).unwrap();
    report["pages"].as_array().unwrap().iter().any(|r| {
        let first = r["first"].as_u64().unwrap();
        (first..first + r["count"].as_u64().unwrap()).contains(&page) && r["dirty"] == true
    })
}

#[test]
fn a_state_search_lands_on_the_page_a_write_dirtied_and_wraps() {
    let dir = temp_dir();
    let ps = page_size();
    let path = file(dir.path(), 16, &[]);
    let mut s = session(&path, None);
    // Writeback (or a `sync` anywhere on the machine) may clean the page between the write
    // and the search: then write again, a few times, before calling it a failure.
    for attempt in 0..5 {
        s.act(Action::Do(Op::Write {
            offset: 9 * ps + 5,
            bytes: vec![b'!'],
        }));
        let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "dirty");
        if s.model.doc.cursor == 9 * ps {
            assert!(line.contains("page 9 is dirty"), "{line}");
            assert!(!line.contains("wrapped"), "{line}");
            // From page 12, the next dirty page is 9 again: after the end, from the start.
            s.act(Event::SelectPage(12));
            let line = again(&mut s, true);
            assert_eq!(s.model.doc.cursor, 9 * ps, "{line}");
            assert!(line.contains("wrapped past the end"), "{line}");
            // And a clean page: `: !dirty` from page 9 is page 10.
            let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "!dirty");
            assert_eq!(s.model.doc.cursor, 10 * ps, "{line}");
            // Backward from 10, the previous clean page wraps past page 9 to page 8.
            let line = again(&mut s, false);
            assert_eq!(s.model.doc.cursor, 8 * ps, "{line}");
            return;
        }
        assert!(
            !dirty_now(&s, 9),
            "attempt {attempt}: page 9 is dirty and `: dirty` said {line}"
        );
    }
    panic!("page 9 was cleaned by writeback before every search");
}

#[test]
fn beyond_and_resident_searches_use_the_geometry_and_probes() {
    let dir = temp_dir();
    let ps = page_size();
    let path = file(dir.path(), 4, &[]);
    // 8 pages mapped over a 4-page file: pages 4-7 are beyond end of file.
    let mut s = session(&path, Some(8 * ps));
    let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "beyond");
    assert_eq!(s.model.doc.cursor, 4 * ps, "{line}");
    let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "!beyond");
    assert_eq!(s.model.doc.cursor, 0, "{line}");
    assert!(line.contains("wrapped past the end"), "{line}");
    // Nothing is present in a script's session (nothing was read): `: present` says so.
    let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "present");
    assert!(line.contains("no page is present"), "{line}");
    assert_eq!(s.model.doc.cursor, 0);
}

#[test]
fn bytes_are_found_across_page_and_chunk_boundaries_both_ways() {
    let dir = temp_dir();
    let ps = page_size();
    // 300 pages: more than one chunk (1 MiB) of the byte search.
    let chunk_edge = mmapscope::search::job::BYTE_CHUNK * ps;
    let plants: &[(u64, &[u8])] = &[
        (21 * ps - 3, b"\x7fELF-boundary"),
        (chunk_edge - 4, b"\x7fELF-chunk"),
        (280 * ps, b"\x7fELF-late"),
    ];
    let path = file(dir.path(), 300, plants);
    // Every page resident (the search reads resident pages only).
    std::fs::read(&path).unwrap();
    let mut s = session(&path, None);
    let line = search(&mut s, Action::Search(SearchAction::Prompt), "7f 45 4c 46");
    assert_eq!(s.model.doc.cursor, 21 * ps - 3, "{line}");
    assert_eq!(s.model.search.found, Some((21 * ps - 3, 4)));
    assert!(line.contains("found at 0x"), "{line}");
    let steps = [
        (true, chunk_edge - 4, ""),
        (true, 280 * ps, ""),
        (true, 21 * ps - 3, "wrapped past the end"),
        (false, 280 * ps, "wrapped past the start"),
        (false, chunk_edge - 4, ""),
    ];
    for (forward, at, says) in steps {
        let line = again(&mut s, forward);
        assert_eq!(s.model.doc.cursor, at, "{line}");
        assert!(line.contains(says), "{line}");
    }
    // From the start, the walk's first chunk ends at `chunk_edge`: "F-chu" spans it.
    s.act(Action::Grid(GridAction::Move(
        mmapscope::action::Motion::Top,
    )));
    let line = search(&mut s, Action::Search(SearchAction::Prompt), "\"F-chu\"");
    assert_eq!(
        s.model.doc.cursor,
        chunk_edge - 1,
        "across the chunk edge: {line}"
    );
    let line = search(
        &mut s,
        Action::Search(SearchAction::Prompt),
        "\"ELF-boundary\"",
    );
    assert_eq!(
        s.model.doc.cursor,
        21 * ps - 2,
        "across the page boundary: {line}"
    );
    let line = search(
        &mut s,
        Action::Search(SearchAction::Prompt),
        "\"no such thing\"",
    );
    assert!(line.contains("not found"), "{line}");
    assert_eq!(
        s.model.doc.cursor,
        21 * ps - 2,
        "not found: the cursor stays"
    );
}

#[test]
fn a_page_not_resident_is_skipped_unless_asked_to_fault_it_in() {
    let dir = temp_dir();
    let ps = page_size();
    let path = file(dir.path(), 64, &[(40 * ps + 100, b"needle-40")]);
    std::fs::read(&path).unwrap();
    let mut s = session(&path, None);
    // Drop page 40 from the page cache (clean, and mapped by no one): it is not resident.
    let f = File::open(&path).unwrap();
    rustix::fs::fadvise(
        &f,
        40 * ps,
        std::num::NonZeroU64::new(ps),
        rustix::fs::Advice::DontNeed,
    )
    .unwrap();
    let cached = |s: &Session| {
        let region = s.region().unwrap();
        region.cachestat(40 * ps, ps).unwrap().nr_cache
    };
    assert_eq!(cached(&s), 0, "page 40 left the page cache");
    let line = search(
        &mut s,
        Action::Search(SearchAction::Prompt),
        "\"needle-40\"",
    );
    assert!(line.contains("not found"), "{line}");
    assert!(
        line.contains("1 pages not resident were not read"),
        "{line}"
    );
    assert_eq!(cached(&s), 0, "the search did not fault page 40 in");
    // The resident pages it read came from the page cache: none is mapped now.
    let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "present");
    assert!(line.contains("no page is present"), "{line}");
    let line = search(
        &mut s,
        Action::Search(SearchAction::Prompt),
        "!\"needle-40\"",
    );
    assert_eq!(s.model.doc.cursor, 40 * ps + 100, "{line}");
    assert_eq!(cached(&s), 1, "/! faulted it in");
}

#[test]
fn a_sparse_terabyte_is_crossed_by_cachestat_in_a_blink() {
    let dir = temp_dir();
    let ps = page_size();
    let path = dir.path().join("sparse");
    let f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let len = 1u64 << 40;
    f.set_len(len).unwrap();
    let page = len / ps - 10;
    f.write_all_at(b"deep needle", page * ps + 7).unwrap();
    let mut s = session(&path, None);
    let t = Instant::now();
    let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "resident");
    assert_eq!(s.model.doc.cursor, page * ps, "{line}");
    let line = search(
        &mut s,
        Action::Search(SearchAction::Prompt),
        "\"deep needle\"",
    );
    assert_eq!(s.model.doc.cursor, page * ps + 7, "{line}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "two searches of 1 TiB took {:?}",
        t.elapsed()
    );
    // The page map at its fitted zoom: one cell a bucket, whatever the size.
    let t = Instant::now();
    s.act(Action::PageMap(PageMapAction::Open));
    let w = s.model.page_map_window().unwrap();
    assert_eq!(s.model.page_map.buckets.len() as u64, w.cells());
    assert_eq!(s.model.page_map.per_cell, w.per_cell);
    let last = s
        .model
        .page_map
        .buckets
        .iter()
        .rev()
        .find(|b| b.resident > Some(0));
    assert!(
        last.is_some_and(|b| (b.first..b.first + b.pages).contains(&page)),
        "the resident page's cell: {last:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// Runs a search job on `mapped` to its end.
fn run(mapped: &dyn Mapped, prober: &Prober, req: Request) -> mmapscope::search::query::Finished {
    let mut job = Job::new(req, mapped);
    loop {
        if let Step::Done(f) = job.step(mapped, prober, Duration::from_millis(25)) {
            return f;
        }
    }
}

#[test]
fn in_a_vma_not_ours_only_present_pages_are_read() {
    let dir = temp_dir();
    let ps = page_size();
    let path = file(dir.path(), 8, &[(2 * ps, b"here"), (6 * ps, b"here")]);
    std::fs::read(&path).unwrap();
    // A mapping of ours that mmapscope did not make, looked at as a VMA: page 6 present (read
    // while page 2 was out of the page cache, so that fault-around could not map it), page 2
    // back in the page cache but not mapped.
    let other = session(&path, None);
    let f = File::open(&path).unwrap();
    let evict = |page: u64| {
        rustix::fs::fadvise(
            &f,
            page * ps,
            std::num::NonZeroU64::new(ps),
            rustix::fs::Advice::DontNeed,
        )
        .unwrap();
    };
    evict(2);
    let region = other.region().unwrap();
    let mut b = [0u8; 1];
    region.read(6 * ps, &mut b).unwrap();
    f.read_exact_at(&mut b, 2 * ps).unwrap();
    let maps = maps::read_maps().unwrap();
    let line = maps
        .iter()
        .find(|l| l.start == region.addr())
        .expect("the mapping in maps");
    let me = std::sync::Arc::new(mmapscope::sys::attach::handle::ProcessHandle::myself().unwrap());
    let view = VmaView::open(&me, line, false);
    assert!(!view.ours());
    let prober = Prober::new();
    let words = |p| {
        let mut w = Vec::new();
        prober.pagemap_words(&view, p, 1, &mut w).unwrap();
        w[0] >> 63 == 1
    };
    if words(2) {
        eprintln!("SKIPPED in_a_vma_not_ours...: page 2 is present (fault-around)");
        return;
    }
    let req = |forward| Request {
        id: 1,
        query: Query::Bytes(Pattern::parse("\"here\"").unwrap()),
        from: 0,
        forward,
    };
    let f = run(&view, &prober, req(true));
    assert_eq!(
        f.ending,
        Ending::Found {
            offset: 6 * ps,
            len: 4,
            wrapped: false
        }
    );
    assert!(f.skipped > 0, "{f:?}");
    assert!(!words(2), "page 2 was not faulted in");
    let f = run(&view, &prober, req(false));
    assert!(
        matches!(f.ending, Ending::Found { offset, .. } if offset == 6 * ps),
        "{f:?}"
    );
    assert!(
        f.sentence(ps).contains("not present were not read"),
        "{f:?}"
    );
}

/// `mmapscope demo-writer FILE`, killed when dropped.
struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a process that dirties a page of FILE (then sleeps for long); returns it once it
/// has written, with the page it wrote.
fn writer(path: &Path) -> (Writer, u64) {
    let mut child = Writer(
        Command::new(env!("CARGO_BIN_EXE_mmapscope"))
            .args(["demo-writer", "--period", "600000"])
            .arg(path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let out = BufReader::new(child.0.stdout.take().unwrap());
    for line in out.lines() {
        if let Some(p) = line.unwrap().strip_prefix("write page ") {
            return (child, p.parse().unwrap());
        }
    }
    panic!("demo-writer wrote nothing");
}

#[test]
fn attached_to_another_process_dirty_and_bytes_are_found_where_it_wrote() {
    let dir = temp_dir();
    let ps = page_size();
    let path = file(dir.path(), 64, &[]);
    let (child, wrote) = writer(&path);
    let mut s = Session::attach(
        child.0.id(),
        Some(path.to_str().unwrap()),
        false,
        false,
        (120, 40),
    )
    .expect("attach");
    let line = search(&mut s, Action::Search(SearchAction::Prompt), "\"*\"");
    assert_eq!(s.model.doc.cursor, wrote * ps, "{line}");
    if wrote > 0 {
        assert!(line.contains("not present were not read"), "{line}");
    }
    let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "dirty");
    if line.contains("is dirty") {
        assert_eq!(s.model.doc.cursor, wrote * ps, "{line}");
    } else {
        eprintln!("SKIPPED the dirty half: writeback cleaned the page first ({line})");
    }
    s.act(Action::PageMap(PageMapAction::Open));
    let cells = &s.model.page_map.buckets;
    let cell = cells
        .iter()
        .find(|b| (b.first..b.first + b.pages).contains(&wrote))
        .expect("a cell holds the page written");
    assert!(cell.present >= Some(1), "{cells:?}");
}

fn state_req(word: &str, from: u64, forward: bool) -> Request {
    Request {
        id: 7,
        query: Query::State(StateQuery::parse(word).unwrap()),
        from,
        forward,
    }
}

/// Whether the PAGEMAP_SCAN ioctl answers for `region` (Linux >= 6.7); says SKIPPED when not.
fn page_tables_scannable(test: &str, prober: &Prober, region: &Region) -> bool {
    match prober.entry_runs(region, 0, 1, &mut Vec::new()) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            false
        }
    }
}

/// 64 TiB of private anonymous memory with two pages written: a state search crosses the
/// untouched space by PAGEMAP_SCAN's ranges (counted as cleared in bulk), probing only the
/// two pages; a byte search reads only them. Both ways, with wrapping.
#[test]
fn sixty_four_tib_of_untouched_private_memory_is_searched_by_its_page_tables() {
    const TEST: &str = "sixty_four_tib_of_untouched_private_memory_is_searched_by_its_page_tables";
    let ps = page_size();
    let region = match Region::open(&MapRequest::anon(64 << 40, MapMode::Private)) {
        Ok(r) => r,
        Err(e) => return eprintln!("SKIPPED {TEST}: no 64 TiB of address space ({e})"),
    };
    let prober = Prober::new();
    if !page_tables_scannable(TEST, &prober, &region) {
        return;
    }
    let pages = region.pages();
    let (near, far) = (5, pages - 1000);
    region.write(near * ps, b"x").unwrap();
    region.write(far * ps + 9, b"needle").unwrap();
    let found = |page: u64, wrapped| Ending::Found {
        offset: page * ps,
        len: ps,
        wrapped,
    };
    for word in ["present", "resident", "exclusive"] {
        for (from, forward, want) in [
            (0, true, found(near, false)),
            (near, true, found(far, false)),
            (far, true, found(near, true)),
            (far, false, found(near, false)),
            (near, false, found(far, true)),
        ] {
            let f = run(&region, &prober, state_req(word, from * ps, forward));
            assert_eq!(
                f.ending, want,
                "{word} from {from} forward {forward}: {f:?}"
            );
            assert_eq!(f.id, 7);
        }
    }
    // Anonymous memory has no private copies of a file, and no dirty state: nothing to find,
    // and all but the two written pages were passed without a probe.
    for word in ["cow", "dirty"] {
        let f = run(&region, &prober, state_req(word, 0, true));
        assert_eq!(f.ending, Ending::NotFound, "{word}: {f:?}");
        assert_eq!(f.examined, pages, "{f:?}");
        assert!(f.examined - f.cleared <= 2, "{f:?}");
        assert!(f.sentence(ps).contains("cleared in bulk"), "{f:?}");
    }
    let f = run(&region, &prober, state_req("!present", near * ps, true));
    assert_eq!(f.ending, found(near + 1, false), "{f:?}");
    let req = Request {
        id: 8,
        query: Query::Bytes(Pattern::parse("\"needle\"").unwrap()),
        from: 0,
        forward: true,
    };
    let f = run(&region, &prober, req);
    assert!(
        matches!(f.ending, Ending::Found { offset, .. } if offset == far * ps + 9),
        "{f:?}"
    );
    assert_eq!(
        f.bytes,
        2 * ps,
        "only the two written pages were read: {f:?}"
    );
    assert!(f.skipped >= far - 1, "the others were not read: {f:?}");
}

/// The bulk way (PAGEMAP_SCAN ranges) and page by page (the prober without the ioctl, as on
/// a kernel before 6.7) give the same answer for every state word and its negation, from
/// several places, both ways: in private anonymous memory with runs of pages written, in a
/// private mapping of a file with pages read in (file pages) and written (private copies), and
/// in shared anonymous memory with pages unmapped after they were written.
#[test]
fn page_table_ranges_give_the_answers_page_by_page_probing_gives() {
    const TEST: &str = "page_table_ranges_give_the_answers_page_by_page_probing_gives";
    let ps = page_size();
    let dir = temp_dir();
    let fast = Prober::new();
    let slow = Prober::new().without_pagemap_scan();
    let pages = 3 * mmapscope::search::job::STATE_CHUNK + 17;
    let anon = Region::open(&MapRequest::anon(pages * ps, MapMode::Private)).unwrap();
    if !page_tables_scannable(TEST, &fast, &anon) {
        return;
    }
    // A hundred runs of one page: more than one PAGEMAP_SCAN call returns (64), so a
    // backward walk looks at the window's top part first.
    for p in [0, 1, 2, 4100, 4101, pages - 1]
        .into_iter()
        .chain(8000..8010)
        .chain((9000..9200).step_by(2))
    {
        anon.write(p * ps, b"w").unwrap();
    }
    let path = file(dir.path(), 300, &[]);
    let private = Region::open(&MapRequest::file(path, MapMode::Private)).unwrap();
    let mut buf = [0u8; 1];
    for p in (10..20).chain([150]) {
        private.read(p * ps, &mut buf).unwrap();
    }
    for p in (15..25).chain([299]) {
        private.write(p * ps, b"c").unwrap();
    }
    // Shared anonymous memory (shmem): pages written, and some of them unmapped again with
    // MADV_DONTNEED (resident in shmem, without a page-table entry).
    let shmem = Region::open(&MapRequest::anon(600 * ps, MapMode::Shared)).unwrap();
    for p in (40..60).chain([7, 500]) {
        shmem.write(p * ps, b"s").unwrap();
    }
    shmem
        .madvise(45, 10, rustix::mm::Advice::LinuxDontNeed)
        .unwrap();
    let words = ["present", "resident", "exclusive", "cow", "dirty", "beyond"];
    for region in [&anon, &private, &shmem] {
        let last = region.pages() - 1;
        for word in words.iter().flat_map(|w| [w.to_string(), format!("!{w}")]) {
            for from in [0, 3, 21, 44, 50, 4099, 8005, 9101, 9300, last] {
                for forward in [true, false] {
                    let req = state_req(&word, from.min(last) * ps, forward);
                    let (a, b) = (run(region, &fast, req.clone()), run(region, &slow, req));
                    assert_eq!(
                        a.ending, b.ending,
                        "{word} from page {from} forward {forward}: {a:?} vs {b:?}"
                    );
                }
            }
        }
    }
}

/// A search of a VMA whose process has exited ends with "the process has exited": found by
/// the search's own probes (PAGEMAP_SCAN says ESRCH, pagemap reads as empty) before the
/// session has looked, and at once when the session has followed the exit.
#[test]
fn a_search_in_a_process_that_exited_ends_saying_so() {
    let dir = temp_dir();
    let path = file(dir.path(), 64, &[]);
    let (mut child, _) = writer(&path);
    let mut s = Session::attach(
        child.0.id(),
        Some(path.to_str().unwrap()),
        false,
        false,
        (120, 40),
    )
    .expect("attach");
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    for (open, text) in [
        (Action::Grid(GridAction::GotoPrompt), "present"),
        (Action::Grid(GridAction::GotoPrompt), "!present"),
        (Action::Grid(GridAction::GotoPrompt), "resident"),
        (Action::Search(SearchAction::Prompt), "\"*\""),
    ] {
        let line = search(&mut s, open, text);
        assert!(line.ends_with(": the process has exited"), "{text}: {line}");
        assert!(s.model.search.running.is_none());
    }
    s.refresh();
    let ended = s.model.space.looking.as_ref().and_then(|l| l.ended.clone());
    assert!(ended.is_some_and(|w| w.contains("exited")), "followed");
    let line = search(&mut s, Action::Grid(GridAction::GotoPrompt), "!exclusive");
    assert_eq!(
        line, ": !exclusive: the process has exited",
        "nothing was probed"
    );
}

/// A 1 TiB sparse file mapped private: `: resident` and `/ 41` are probed page by page there
/// (cachestat cannot clear ranges of a private mapping, whose pages may be private copies),
/// so they run for many slices. A second search replaces the first; Esc ends the second.
#[test]
fn a_second_search_replaces_the_first_and_esc_ends_the_one_shown() {
    let dir = temp_dir();
    let path = dir.path().join("sparse");
    File::create(&path).unwrap().set_len(1 << 40).unwrap();
    let region = Region::open(&MapRequest::file(path, MapMode::Private)).unwrap();
    let mut s = Session::new(region, false, (120, 40));
    let type_in = |s: &mut Session, open: Action, text: &str| {
        s.act(open);
        for c in text.chars() {
            s.act(Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))));
        }
        s.act(Action::Grid(GridAction::Prompt(PromptEdit::Submit)));
    };
    type_in(&mut s, Action::Grid(GridAction::GotoPrompt), ": resident");
    let shown = |s: &Session| {
        s.model
            .search
            .running
            .as_ref()
            .map(|r| (r.id, r.label.clone()))
    };
    assert_eq!(shown(&s), Some((1, ": resident".into())));
    assert!(s.search_running());
    assert!(s.poll_search(), "a terabyte takes more than two slices");
    let done = s.model.search.running.as_ref().unwrap().done;
    assert!(done > 0, "its progress is shown from the first slices");
    type_in(&mut s, Action::Search(SearchAction::Prompt), "41");
    assert_eq!(shown(&s), Some((2, "/ 41".into())));
    assert!(s.search_running(), "the second one runs");
    assert!(
        s.model
            .log
            .lines
            .iter()
            .any(|l| l.text.starts_with(": resident: cancelled")),
        "the first one's end is said"
    );
    assert!(s.poll_search());
    assert!(s.model.search.running.as_ref().unwrap().done > 0);
    s.act(Action::View(ViewAction::CloseOverlay));
    assert!(!s.search_running(), "Esc ended it");
    assert!(s.model.search.running.is_none());
    let last = &s.model.log.lines.last().unwrap().text;
    assert!(last.starts_with("/ 41: cancelled"), "{last}");
    assert!(!s.poll_search());
}
