//! The whole-mapping scan behind `inspect`: every page of a mapping as runs of equal state,
//! at a cost in proportion to the cached pages and the changes of state, not to the file
//! size (PAGEMAP_SCAN finds where our page tables have entries; cachestat splits the rest of a
//! file by halves where its residency is mixed; mincore reads only the mixed leaves).

use std::ops::ControlFlow;

use crate::geometry::{Geometry, PageGeom};

use crate::sys::error::SysError;
use crate::sys::map::range::Mapped;
use crate::sys::map::region::{CacheStat, PageRegion};
use crate::sys::map::request::MapMode;
use crate::sys::probe::prober::*;
use crate::sys::probe::state::*;

impl Prober {
    /// Probes every page of the mapping and returns runs of equal state (see `scan_with`).
    ///
    /// # Errors
    /// A failed fstat of the file.
    pub fn scan(
        &self,
        region: &dyn Mapped,
        touch: bool,
        anon_pages: bool,
        swap: bool,
    ) -> Result<Vec<StateRun>, SysError> {
        let mut runs = Vec::new();
        self.scan_with(region, touch, anon_pages, swap, &mut |run| {
            runs.push(run);
            ControlFlow::Continue(())
        })?;
        Ok(runs)
    }

    /// Probes every page of the mapping and hands `sink` the runs of equal state, in order,
    /// each as soon as it is complete (memory does not grow with the number of runs); `sink`
    /// may stop the scan with `ControlFlow::Break`.
    ///
    /// The kernel is asked about each range once. A file is walked in parts whose size adapts
    /// to the runs found (see `Scan::forward`): a file that is all cached and clean, or not
    /// cached at all, takes a handful of cachestat calls that together walk its page cache
    /// once; a mixed part is split (into 16, or straight into leaves where its boundaries may
    /// be many), each part asked once and the last part's counts derived from its parent's; a
    /// mixed leaf is read with one mincore, which gives dirty and writeback too when they
    /// follow the cached pages, and is bisected with cachestat otherwise. Our own page
    /// tables are read only where they have entries, found with the PAGEMAP_SCAN ioctl
    /// (Linux >= 6.7; before it, pagemap is read where entries may be). Private anonymous
    /// memory without page-table entries holds nothing, whatever its size.
    ///
    /// With `touch`, the pages known to be in the page cache are faulted in, 512 at a time
    /// (MADV_POPULATE_READ under MADV_RANDOM: no readahead, no disk I/O; a PMD-mapped folio
    /// is mapped whole by its first fault), read in pagemap and kpageflags, and released again
    /// (MADV_DONTNEED: the pages stay cached), so memory stays flat.
    ///
    /// `anon_pages` and `swap` (from smaps) matter only without PAGEMAP_SCAN: they say whether
    /// page-table entries may exist outside the page cache.
    ///
    /// # Errors
    /// A failed fstat of the file.
    pub fn scan_with(
        &self,
        region: &dyn Mapped,
        touch: bool,
        anon_pages: bool,
        swap: bool,
        sink: &mut dyn FnMut(StateRun) -> ControlFlow<()>,
    ) -> Result<(), SysError> {
        let geometry = region.geometry()?;
        let cachestat = Self::cachestat_support(region).is_ok();
        let ptes = match self.pte_ranges(region) {
            Some(ranges) => Ptes::Known(ranges),
            None => Ptes::Read {
                only_cached: cachestat && !anon_pages && !swap,
            },
        };
        if touch {
            // Best effort: MADV_RANDOM keeps the fault-ins below from starting readahead.
            let _ = region.madvise(0, region.pages(), rustix::mm::Advice::Random);
        }
        let ps = region.page_size();
        let mut scan = Scan {
            prober: self,
            region,
            geometry,
            ctx: self.ctx(region),
            how: How {
                touch,
                cachestat,
                mincore_is_cache: region.page_cache_file() && region.may_write(),
                mincore_trusted: region.may_write(),
                anon_private: !region.page_cache_file() && region.mode() == MapMode::Private,
            },
            file_base: region.offset() / ps,
            ptes,
            pending: None,
            fine: false,
            mincored: 0,
            runs: RunSink {
                last: None,
                sink,
                stopped: false,
            },
        };
        scan.file_pass();
        scan.runs.finish();
        if touch {
            let _ = region.madvise(0, region.pages(), rustix::mm::Advice::Normal);
        }
        Ok(())
    }

    /// The page-table ranges of `region` (pages with an entry: present or swapped), from the
    /// PAGEMAP_SCAN ioctl; `None` where the kernel lacks it (before 6.7) or pagemap is
    /// unreadable.
    fn pte_ranges(&self, region: &dyn Mapped) -> Option<Vec<PteRange>> {
        if !self.pagemap_scan {
            return None;
        }
        let file = self.pagemap.as_ref().ok()?;
        let ps = region.page_size();
        let (start, end) = (region.addr(), region.addr() + region.map_bytes());
        let mut buf = [PageRegion::default(); 256];
        let mut out: Vec<PteRange> = Vec::new();
        let mut at = start;
        while at < end {
            let (n, walk_end) = file
                .scan(
                    at,
                    end,
                    PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                    PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_FILE,
                    &mut buf,
                )
                .ok()?;
            for r in &buf[..n] {
                let first = (r.start.max(start) - start) / ps;
                let last = (r.end.min(end) - start).div_ceil(ps);
                let not_cache = r.categories & PAGE_IS_SWAPPED != 0
                    || r.categories & PAGE_IS_FILE == 0
                    || !region.page_cache_file();
                push_pte(&mut out, first, last, not_cache);
            }
            if n < buf.len() || walk_end >= end || walk_end <= at {
                break;
            }
            at = walk_end;
        }
        Some(out)
    }
}

/// Pages with a page-table entry of ours, `[first, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PteRange {
    pub(crate) first: u64,
    pub(crate) end: u64,
    /// Some page here is not the file's page-cache page (a private copy, anonymous memory, a
    /// swap entry): mincore there says nothing about the page cache.
    pub(crate) not_cache: bool,
}

/// Appends a range, merging it into the previous one when they touch and agree.
pub(crate) fn push_pte(out: &mut Vec<PteRange>, first: u64, end: u64, not_cache: bool) {
    if first >= end {
        return;
    }
    match out.last_mut() {
        Some(last) if last.end == first && last.not_cache == not_cache => last.end = end,
        _ => out.push(PteRange {
            first,
            end,
            not_cache,
        }),
    }
}

/// Where our page tables have entries.
enum Ptes {
    /// Listed by PAGEMAP_SCAN: sorted and disjoint.
    Known(Vec<PteRange>),
    /// Not listed (a kernel before 6.7): pagemap is read where entries may be. `only_cached`:
    /// entries can exist only on pages in the page cache (a file mapping that smaps says holds
    /// no anonymous and no swapped pages).
    Read { only_cached: bool },
}

/// What the file's page cache says about a run of pages, before our page tables are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileRun {
    /// What mincore says for a page of the run without a page-table entry; `None`: ask it.
    resident: Option<bool>,
    /// cachestat of each page (counts of 0 or 1); `None` without cachestat.
    cache: Option<CacheStat>,
    /// Every page of the run is known to be in the page cache (cachestat or a mincore that
    /// answers the page cache said so): faulting it in causes no I/O.
    cached: bool,
    /// Residency not asked where our page tables have no entry: shmem past the part that
    /// mincore may cost a report (`SHMEM_MINCORE_PAGES`).
    unasked: bool,
}

/// Counts of `a` minus those of `b` (of a part of `a`'s range): the rest of the range.
pub(crate) fn minus(a: CacheStat, b: CacheStat) -> CacheStat {
    CacheStat {
        nr_cache: a.nr_cache.saturating_sub(b.nr_cache),
        nr_dirty: a.nr_dirty.saturating_sub(b.nr_dirty),
        nr_writeback: a.nr_writeback.saturating_sub(b.nr_writeback),
        nr_evicted: a.nr_evicted.saturating_sub(b.nr_evicted),
        nr_recently_evicted: a.nr_recently_evicted.saturating_sub(b.nr_recently_evicted),
    }
}

/// Merges runs of equal state and hands each completed run to the sink.
pub(crate) struct RunSink<'a> {
    pub(crate) last: Option<StateRun>,
    pub(crate) sink: &'a mut dyn FnMut(StateRun) -> ControlFlow<()>,
    /// The sink asked to stop.
    pub(crate) stopped: bool,
}

impl RunSink<'_> {
    pub(crate) fn push(&mut self, first: u64, count: u64, state: PageState) {
        if count == 0 || self.stopped {
            return;
        }
        if let Some(last) = self.last.as_mut()
            && last.state == state
            && last.first + last.count == first
        {
            last.count += count;
            return;
        }
        if let Some(done) = self.last.replace(StateRun {
            first,
            count,
            state,
        }) {
            self.stopped = (self.sink)(done).is_break();
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(done) = self.last.take()
            && !self.stopped
        {
            self.stopped = (self.sink)(done).is_break();
        }
    }
}

/// How a scan reads the mapping's pages: which sources answer, and what they mean here.
struct How {
    touch: bool,
    /// cachestat answers for this file.
    cachestat: bool,
    /// mincore of a page without a page-table entry of ours answers the file's page cache: a
    /// page-cache file we may write. (For a file we may not write, the kernel reports every
    /// page resident: mm/mincore.c, can_do_mincore.)
    mincore_is_cache: bool,
    /// mincore answers truthfully: anonymous memory, or a file we may write.
    mincore_trusted: bool,
    /// Private anonymous memory (or /dev/zero mapped private): a page without a page-table
    /// entry holds nothing.
    anon_private: bool,
}

struct Scan<'a> {
    prober: &'a Prober,
    region: &'a dyn Mapped,
    geometry: Geometry,
    ctx: DecodeCtx,
    how: How,
    /// The file page index of page 0 of the mapping: chunks and splits align to the file,
    /// where folios are aligned.
    file_base: u64,
    ptes: Ptes,
    /// The file run not handed on yet (it grows while the next ones are equal).
    pending: Option<(u64, u64, FileRun)>,
    /// Residency was found mixed finely in the last mixed part: most of its leaves (3 in 4)
    /// were mixed. A mixed part is then read whole with one mincore instead of being split
    /// with cachestat first, which would walk most of its page cache twice.
    fine: bool,
    /// Pages read with mincore so far (how much of a split part had to be).
    mincored: u64,
    runs: RunSink<'a>,
}

impl Scan<'_> {
    fn file_range(&self, first: u64, count: u64) -> (u64, u64) {
        let ps = self.region.page_size();
        (self.region.offset() + first * ps, count * ps)
    }

    fn stat(&self, first: u64, count: u64) -> Option<CacheStat> {
        let (off, len) = self.file_range(first, count);
        self.region.cachestat(off, len).ok()
    }

    /// A run whose pages the kernel does not tell apart: mincore decides.
    fn ask_mincore(&self) -> FileRun {
        FileRun {
            resident: None,
            cache: None,
            cached: false,
            unasked: false,
        }
    }

    /// The whole mapping, from the page cache's side, handed on in order.
    fn file_pass(&mut self) {
        let pages = self.region.pages();
        if self.how.cachestat {
            self.forward(pages);
        } else if let Some(end) = self.region.shmem_end() {
            self.shmem_pass(pages, end.min(pages));
        } else if self.how.anon_private {
            self.file_run(
                0,
                pages,
                FileRun {
                    resident: Some(false),
                    cache: None,
                    cached: false,
                    unasked: false,
                },
            );
        } else {
            self.file_run(0, pages, self.ask_mincore());
        }
        if let Some((first, count, run)) = self.pending.take() {
            self.stretch(first, count, run);
        }
    }

    /// Shared anonymous memory or MAP_SHARED /dev/zero, whose shmem object ends at page `end`
    /// (mremap grows the mapping, not the object). A page without a page-table entry of ours
    /// may still be in the object (discarded by MADV_DONTNEED, written by a forked child), and
    /// only mincore says so, at the cost of a lookup in the object per page whatever is in
    /// memory: it is asked for the object's first `SHMEM_MINCORE_PAGES` pages, and the rest
    /// is left unknown (`Sources::mincore` says so). Past the object nothing can be in memory.
    fn shmem_pass(&mut self, pages: u64, end: u64) {
        let asked = end.min(SHMEM_MINCORE_PAGES);
        self.file_run(0, asked, self.ask_mincore());
        let known = |resident: Option<bool>, unasked| FileRun {
            resident,
            cache: None,
            cached: false,
            unasked,
        };
        self.file_run(asked, end - asked, known(None, true));
        self.file_run(end, pages - end, known(Some(false), false));
    }

    /// The file from start to end in parts aligned to their size, each asked once with
    /// cachestat, the size adapting to the runs found: a uniform part equal to the one before
    /// doubles the next part (a uniform file is covered in a handful of calls that together
    /// walk its page cache once, as one call over the whole file would); a mixed part is
    /// described inside and halves the next one. Runs of similar length (every other MiB
    /// evicted) settle on parts of their length, so the file is walked about once, where a
    /// first call over the whole file would have walked it once more for nothing.
    fn forward(&mut self, pages: u64) {
        let mut size = LEAF_PAGES.max(prev_power_of_two(pages / 64));
        let mut last = None;
        let mut at = 0;
        while at < pages && !self.runs.stopped {
            let boundary = ((self.file_base + at) / size + 1) * size - self.file_base;
            let n = boundary.min(pages) - at;
            let Some(st) = self.stat(at, n) else {
                self.file_run(at, n, self.ask_mincore());
                last = None;
                at += n;
                continue;
            };
            match self.uniform_run(st, n) {
                Some(run) => {
                    if last == Some(run) && (self.file_base + at + n).is_multiple_of(2 * size) {
                        size *= 2;
                    }
                    last = Some(run);
                    self.file_run(at, n, run);
                }
                None => {
                    let (was_fine, before) = (self.fine, self.mincored);
                    self.describe(at, n, st);
                    if !was_fine {
                        // Split: fine when mincore had to read 3 in 4 of its pages anyway.
                        self.fine = 4 * (self.mincored - before) >= 3 * n;
                    }
                    // Finely mixed parts are read whole with mincore: they need not shrink.
                    if !self.fine {
                        size = (size / 2).max(LEAF_PAGES);
                    }
                    last = None;
                }
            }
            at += n;
        }
    }

    /// The file run of `count` pages whose cachestat is `st`, if every page answers alike.
    fn uniform_run(&self, st: CacheStat, count: u64) -> Option<FileRun> {
        let alike = |n: u64| n == 0 || n >= count;
        if count > 1 && !(alike(st.nr_cache) && alike(st.nr_dirty) && alike(st.nr_writeback)) {
            return None;
        }
        let cached = st.nr_cache > 0;
        Some(FileRun {
            resident: self.how.mincore_is_cache.then_some(cached),
            cache: Some(CacheStat {
                nr_cache: u64::from(cached),
                nr_dirty: u64::from(st.nr_dirty > 0),
                nr_writeback: u64::from(st.nr_writeback > 0),
                nr_evicted: 0,
                nr_recently_evicted: 0,
            }),
            cached,
            unasked: false,
        })
    }

    /// Describes `count` pages from `first`, whose cachestat `st` is known: done when uniform,
    /// else split, each part asked once (the last part's counts are what its siblings leave).
    fn describe(&mut self, first: u64, count: u64, st: CacheStat) {
        if self.runs.stopped {
            return;
        }
        if let Some(run) = self.uniform_run(st, count) {
            self.file_run(first, count, run);
            return;
        }
        if count <= LEAF_PAGES {
            self.leaf(first, count, st);
            return;
        }
        // Finely mixed: splitting would walk the part's page cache again with cachestat only
        // to mincore most of it after; one mincore walks it once.
        if self.fine && count <= MINCORE_WINDOW && self.mincore_runs(first, count, st) {
            return;
        }
        // The range holds at most 2 * min(cached, uncached) + 1 boundaries between cached and
        // uncached pages. Split into about four times as many parts (at least 16, at most
        // leaves), so that most parts come back uniform and the next level, which costs in
        // proportion to the mixed parts, stays small: a file with a few holes is split 16
        // ways, one with every other MiB evicted goes straight to leaves in one pass.
        let boundaries = 2 * st.nr_cache.min(count - st.nr_cache.min(count)) + 1;
        let parts = boundaries
            .saturating_mul(4)
            .max(16)
            .min((count / LEAF_PAGES).max(2));
        let step = (count / parts).next_power_of_two().max(LEAF_PAGES);
        let end = first + count;
        let mut rest = Some(st);
        let mut at = first;
        while at < end && !self.runs.stopped {
            let boundary = ((self.file_base + at) / step + 1) * step - self.file_base;
            let n = boundary.min(end) - at;
            let part = if at + n == end {
                rest.or_else(|| self.stat(at, n))
            } else {
                let part = self.stat(at, n);
                rest = rest.zip(part).map(|(r, p)| minus(r, p));
                part
            };
            match part {
                Some(s) => self.describe(at, n, s),
                None => self.file_run(at, n, self.ask_mincore()),
            }
            at += n;
        }
    }

    /// Whether a page-table entry in `[first, end)` is not the file's page (mincore there
    /// would not answer the page cache).
    fn not_cache_ptes_in(&self, first: u64, end: u64) -> bool {
        match &self.ptes {
            Ptes::Known(ranges) => overlapping(ranges, first, end).any(|r| r.not_cache),
            Ptes::Read { only_cached: true } => false,
            Ptes::Read { only_cached: false } => {
                self.read_ptes(first, end).iter().any(|r| r.not_cache)
            }
        }
    }

    /// A mixed range of at most `LEAF_PAGES` pages: one mincore gives which pages are cached,
    /// and dirty and writeback follow when they are all-or-none of the cached pages; else
    /// cachestat bisects.
    fn leaf(&mut self, first: u64, count: u64, st: CacheStat) {
        if !self.mincore_runs(first, count, st) {
            self.bisect(first, count, st);
        }
    }

    /// Describes `count` pages from `first`, whose cachestat `st` is known, with one mincore:
    /// which pages are cached, and dirty and writeback when they are all-or-none of the cached
    /// pages. Learns from the runs found whether residency is mixed finely (see `fine`).
    /// Returns false, having described nothing, where mincore cannot answer for the page
    /// cache or does not agree with `st`.
    fn mincore_runs(&mut self, first: u64, count: u64, st: CacheStat) -> bool {
        if !self.how.mincore_is_cache || self.not_cache_ptes_in(first, first + count) {
            return false;
        }
        let mut core = Vec::new();
        if self.region.mincore(first, count, &mut core).is_err() {
            return false;
        }
        let cached = core.iter().filter(|b| *b & 1 != 0).count() as u64;
        let follows = |n: u64| n == 0 || n == st.nr_cache;
        if cached != st.nr_cache || !follows(st.nr_dirty) || !follows(st.nr_writeback) {
            return false;
        }
        let mut i = 0;
        while i < core.len() {
            let c = core[i] & 1 != 0;
            let mut j = i + 1;
            while j < core.len() && (core[j] & 1 != 0) == c {
                j += 1;
            }
            let run = FileRun {
                resident: Some(c),
                cache: Some(CacheStat {
                    nr_cache: u64::from(c),
                    nr_dirty: u64::from(c && st.nr_dirty > 0),
                    nr_writeback: u64::from(c && st.nr_writeback > 0),
                    nr_evicted: 0,
                    nr_recently_evicted: 0,
                }),
                cached: c,
                unasked: false,
            };
            self.file_run(first + i as u64, (j - i) as u64, run);
            i = j;
        }
        self.mincored += count;
        if count > LEAF_PAGES {
            // Read whole: still fine while 3 in 4 of its leaves were mixed.
            let leaves: Vec<&[u8]> = core.chunks(LEAF_PAGES as usize).collect();
            let mixed = leaves
                .iter()
                .filter(|l| l.iter().any(|b| (b & 1) != (l[0] & 1)))
                .count();
            self.fine = 4 * mixed >= 3 * leaves.len();
        }
        true
    }

    /// Halves a small mixed range with cachestat until each part is uniform.
    fn bisect(&mut self, first: u64, count: u64, st: CacheStat) {
        if let Some(run) = self.uniform_run(st, count) {
            self.file_run(first, count, run);
            return;
        }
        let half = count / 2;
        match self.stat(first, half) {
            Some(a) => {
                self.bisect(first, half, a);
                self.bisect(first + half, count - half, minus(st, a));
            }
            None => self.file_run(first, count, self.ask_mincore()),
        }
    }
}

impl Scan<'_> {
    /// Takes the next file run, merging it into the pending one when equal.
    fn file_run(&mut self, first: u64, count: u64, run: FileRun) {
        if let Some((f, c, r)) = self.pending.as_mut()
            && *r == run
            && *f + *c == first
        {
            *c += count;
            return;
        }
        if let Some((f, c, r)) = self.pending.replace((first, count, run)) {
            self.stretch(f, c, r);
        }
    }

    /// The page-table ranges in `[first, end)`, read from pagemap (without PAGEMAP_SCAN).
    fn read_ptes(&self, first: u64, end: u64) -> Vec<PteRange> {
        let mut out = Vec::new();
        let mut words = Vec::new();
        let mut at = first;
        while at < end {
            let n = (end - at).min(PAGEMAP_WINDOW);
            if self
                .prober
                .pagemap_words(self.region, at, n, &mut words)
                .is_err()
            {
                // Unreadable: say every page may have an entry, so it is read page by page.
                push_pte(&mut out, at, end, true);
                break;
            }
            for (i, w) in words.iter().enumerate() {
                if w & (PM_PRESENT | PM_SWAPPED) != 0 {
                    let page = at + i as u64;
                    let not_cache =
                        w & PM_SWAPPED != 0 || w & PM_FILE == 0 || !self.region.page_cache_file();
                    push_pte(&mut out, page, page + 1, not_cache);
                }
            }
            at += n;
        }
        out
    }

    /// A run of pages with one file state: plain where our page tables have no entry, page by
    /// page where they do.
    fn stretch(&mut self, first: u64, count: u64, run: FileRun) {
        let end = first + count;
        let ptes: Vec<PteRange> = match &self.ptes {
            Ptes::Known(ranges) => overlapping(ranges, first, end).copied().collect(),
            Ptes::Read { only_cached } if *only_cached && run.resident == Some(false) => Vec::new(),
            Ptes::Read { .. } => self.read_ptes(first, end),
        };
        let mut at = first;
        for p in ptes {
            let (lo, hi) = (p.first.max(first), p.end.min(end));
            if at < lo {
                self.without_ptes(at, lo, run);
            }
            self.detailed(lo, hi, run, true);
            at = hi;
        }
        if at < end {
            self.without_ptes(at, end, run);
        }
    }

    /// Pages without a page-table entry of ours: their pagemap words are holes, and the file
    /// run (or mincore) says the rest, unless they are to be touched.
    fn without_ptes(&mut self, first: u64, end: u64, run: FileRun) {
        if run.unasked {
            let probe = PageProbe {
                pagemap: self.hole_word(first),
                ..self.hole_probe()
            };
            self.uniform(first, end - first, probe);
            return;
        }
        if self.how.touch && (run.cached || (run.resident.is_none() && self.how.mincore_trusted)) {
            self.detailed(first, end, run, false);
            return;
        }
        if let Some(resident) = run.resident {
            let probe = PageProbe {
                resident: Some(resident),
                pagemap: self.hole_word(first),
                cache: run.cache,
                ..self.hole_probe()
            };
            self.uniform(first, end - first, probe);
            return;
        }
        let mut core = Vec::new();
        let mut at = first;
        while at < end && !self.runs.stopped {
            let n = (end - at).min(MINCORE_WINDOW);
            let ok = self.region.mincore(at, n, &mut core).is_ok();
            let hole = self.hole_word(at);
            let mut i = 0;
            while i < n as usize {
                let r = ok.then(|| core[i] & 1 != 0);
                let mut j = i + 1;
                while j < n as usize && ok.then(|| core[j] & 1 != 0) == r {
                    j += 1;
                }
                let probe = PageProbe {
                    resident: r,
                    pagemap: hole,
                    cache: run.cache,
                    ..self.hole_probe()
                };
                self.uniform(at + i as u64, (j - i) as u64, probe);
                i = j;
            }
            at += n;
        }
    }

    /// What the lab's sources say of a page without a page-table entry of ours: not part of a
    /// huge page, not shared with the child, no map count to read.
    fn hole_probe(&self) -> PageProbe {
        PageProbe {
            huge: self.prober.scan_usable().then_some(false),
            child: self.prober.child_hole(),
            ..PageProbe::default()
        }
    }

    /// The pagemap word of a page without a page-table entry: 0, but for the soft-dirty bit,
    /// which the kernel sets on holes of a VMA flagged VM_SOFTDIRTY (read it where it works).
    fn hole_word(&self, page: u64) -> Option<u64> {
        if self.prober.pagemap.is_err() {
            return None;
        }
        if !self.ctx.soft_dirty {
            return Some(0);
        }
        let mut words = Vec::new();
        self.prober
            .pagemap_words(self.region, page, 1, &mut words)
            .ok()
            .map(|()| words[0])
    }

    /// Pages probed one by one, in chunks aligned to the file's 512-page (PMD-sized) blocks,
    /// so that no folio is cut by a chunk. `had_ptes`: the pages had page-table entries before
    /// the scan (they are never touched, nor released).
    fn detailed(&mut self, first: u64, end: u64, run: FileRun, had_ptes: bool) {
        let mut at = first;
        while at < end && !self.runs.stopped {
            let boundary = ((self.file_base + at) / CHUNK_PAGES + 1) * CHUNK_PAGES - self.file_base;
            let n = boundary.min(end) - at;
            self.chunk(at, n, run, had_ptes);
            at += n;
        }
    }

    /// Probes `count` pages from `first` page by page. With `touch`, the cached pages among
    /// them without a page-table entry are faulted in (MADV_POPULATE_READ: no I/O for cached
    /// pages) and their page-table entries dropped again (MADV_DONTNEED on file pages unmaps
    /// them; they stay in the page cache).
    fn chunk(&mut self, first: u64, count: u64, run: FileRun, had_ptes: bool) {
        let n = count as usize;
        // Pages without a page-table entry whose residency the file run knows need no mincore.
        let mut core = Vec::new();
        let resident_ok = match run.resident {
            Some(r) if !had_ptes => {
                core.resize(n, u8::from(r));
                true
            }
            _ => self.region.mincore(first, count, &mut core).is_ok(),
        };
        let mut words = Vec::new();
        let mut wanted = vec![false; n];
        if self.how.touch && !had_ptes {
            // Without PAGEMAP_SCAN, a page may have an entry we did not know of: look first.
            let before_ok = !matches!(self.ptes, Ptes::Read { .. })
                || self
                    .prober
                    .pagemap_words(self.region, first, count, &mut words)
                    .is_ok();
            for (i, w) in wanted.iter_mut().enumerate() {
                let cached = run.cached
                    || (run.resident.is_none()
                        && self.how.mincore_trusted
                        && resident_ok
                        && core[i] & 1 != 0);
                let free = match self.ptes {
                    Ptes::Known(_) => true,
                    Ptes::Read { .. } => before_ok && words[i] & (PM_PRESENT | PM_SWAPPED) == 0,
                };
                *w = cached && free;
            }
            for (lo, hi) in runs_of(&wanted) {
                // Errors (a page truncated meanwhile) just leave those pages not present.
                let _ = self
                    .region
                    .populate_read(first + lo as u64, (hi - lo) as u64);
            }
        }
        let words_ok = self
            .prober
            .pagemap_words(self.region, first, count, &mut words)
            .is_ok();
        let mut probes: Vec<PageProbe> = (0..n)
            .map(|i| PageProbe {
                resident: resident_ok.then(|| core[i] & 1 != 0),
                pagemap: words_ok.then(|| words[i]),
                cache: run.cache,
                kflags: None,
                folio_pages: None,
                mapcount: None,
                huge: None,
                child: None,
            })
            .collect();
        self.prober.add_kflags(&mut probes);
        self.prober.add_extras(self.region, first, &mut probes);
        if wanted.iter().any(|&w| w) {
            // Release only what we mapped, and only file pages: never a private copy.
            let ours: Vec<bool> = probes
                .iter()
                .zip(&wanted)
                .map(|(p, &w)| w && p.present() == Some(true) && p.file_backed() == Some(true))
                .collect();
            for (lo, hi) in runs_of(&ours) {
                let _ = self.region.madvise(
                    first + lo as u64,
                    (hi - lo) as u64,
                    rustix::mm::Advice::LinuxDontNeed,
                );
            }
        }
        self.hand_on(first, &probes);
    }

    /// Hands on the probes of pages from `first`: pages whose answers differ only in their
    /// PFN (which the state does not keep) are decoded once, as a run.
    fn hand_on(&mut self, first: u64, probes: &[PageProbe]) {
        let n = probes.len();
        let same = |a: &PageProbe, b: &PageProbe| {
            let strip = |p: &PageProbe| PageProbe {
                pagemap: p.pagemap.map(|w| w & !PM_PFN_MASK),
                child: p.child.map(|w| w & !PM_PFN_MASK),
                ..*p
            };
            // Without its PFN the child's word still decides sharing by the frames compared.
            let shares = |p: &PageProbe| p.pagemap.zip(p.child).map(|(o, c)| shared_pages(o, c));
            strip(a) == strip(b) && shares(a) == shares(b)
        };
        let mut i = 0;
        while i < n {
            let mut j = i + 1;
            while j < n && same(&probes[i], &probes[j]) {
                j += 1;
            }
            self.uniform(first + i as u64, (j - i) as u64, probes[i]);
            i = j;
        }
    }

    /// A page's reported state. The folio's size is `folio_pages`, so COMPOUND_HEAD and
    /// COMPOUND_TAIL are left out of the flags: a large folio is one run, not a head run and
    /// a tail run.
    fn state(&self, geom: PageGeom, probe: PageProbe) -> PageState {
        let mut state = PageState::decode(geom, probe, self.ctx);
        state.folio.kflags = state.folio.kflags.map(run_kflags);
        state
    }

    /// Pages whose probe is known without asking per page, split by geometry.
    fn uniform(&mut self, first: u64, count: u64, probe: PageProbe) {
        let end = first + count;
        for run in self.geometry.runs() {
            let (lo, hi) = (run.first.max(first), (run.first + run.count).min(end));
            if lo < hi {
                let state = self.state(run.geom, probe);
                self.runs.push(lo, hi - lo, state);
            }
        }
    }
}

/// The largest power of two not above `n` (1 for 0).
fn prev_power_of_two(n: u64) -> u64 {
    if n == 0 {
        1
    } else {
        1 << (63 - n.leading_zeros())
    }
}

/// The ranges of a sorted, disjoint list that overlap `[first, end)`.
pub(crate) fn overlapping(
    ranges: &[PteRange],
    first: u64,
    end: u64,
) -> impl Iterator<Item = &PteRange> {
    let from = ranges.partition_point(|r| r.end <= first);
    ranges[from..].iter().take_while(move |r| r.first < end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cachestat_counts_of_the_rest_never_go_below_zero() {
        let whole = CacheStat {
            nr_cache: 10,
            nr_dirty: 3,
            nr_writeback: 0,
            nr_evicted: 1,
            nr_recently_evicted: 0,
        };
        let part = CacheStat {
            nr_cache: 4,
            nr_dirty: 5,
            ..CacheStat::default()
        };
        let rest = minus(whole, part);
        assert_eq!((rest.nr_cache, rest.nr_dirty, rest.nr_evicted), (6, 0, 1));
    }
}
