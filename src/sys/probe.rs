//! Page-state probes. For a page range of our mapping, in this order (probe first, copy bytes
//! after, so that looking does not change what is seen):
//!
//! - `mincore(2)`: resident;
//! - `/proc/self/pagemap`: present, swapped, file-backed, exclusive, soft-dirty, PFN;
//! - `cachestat(2)` (Linux >= 6.5): dirty and writeback of the file's page-cache page, for anyone;
//! - `/proc/kpageflags` at the PFN (root only): flag names, folio extent, a dirty cross-check.
//!
//! Each source's availability is detected once and said in `Sources`; a source that cannot
//! answer gives `None`, never a guess. The whole-mapping `scan` behind `inspect` costs in
//! proportion to the cached pages and state changes, not to the file size.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt;

use crate::geometry::{Geometry, PageGeom};

use super::error::SysError;
use super::region::{CacheStat, MapMode, MapRequest, Region, Source, Target};

// pagemap entry bits: Documentation/admin-guide/mm/pagemap.rst
/// Bit 63: page present in our page tables.
pub const PM_PRESENT: u64 = 1 << 63;
/// Bit 62: page swapped.
pub const PM_SWAPPED: u64 = 1 << 62;
/// Bit 61: file page or shared anonymous page.
pub const PM_FILE: u64 = 1 << 61;
/// Bit 56: page exclusively mapped (since Linux 4.2).
pub const PM_EXCLUSIVE: u64 = 1 << 56;
/// Bit 55: soft-dirty (needs CONFIG_MEM_SOFT_DIRTY).
pub const PM_SOFT_DIRTY: u64 = 1 << 55;
/// Bits 0-54: page frame number when present (zero without CAP_SYS_ADMIN).
pub const PM_PFN_MASK: u64 = (1 << 55) - 1;

// kpageflags bits: include/uapi/linux/kernel-page-flags.h, Documentation/admin-guide/mm/pagemap.rst
pub const KPF_DIRTY: u64 = 1 << 4;
pub const KPF_WRITEBACK: u64 = 1 << 8;
pub const KPF_COMPOUND_HEAD: u64 = 1 << 15;
pub const KPF_COMPOUND_TAIL: u64 = 1 << 16;

/// The kpageflags bit names, by bit number.
pub const KPF_NAMES: [(u32, &str); 27] = [
    (0, "LOCKED"),
    (1, "ERROR"),
    (2, "REFERENCED"),
    (3, "UPTODATE"),
    (4, "DIRTY"),
    (5, "LRU"),
    (6, "ACTIVE"),
    (7, "SLAB"),
    (8, "WRITEBACK"),
    (9, "RECLAIM"),
    (10, "BUDDY"),
    (11, "MMAP"),
    (12, "ANON"),
    (13, "SWAPCACHE"),
    (14, "SWAPBACKED"),
    (15, "COMPOUND_HEAD"),
    (16, "COMPOUND_TAIL"),
    (17, "HUGE"),
    (18, "UNEVICTABLE"),
    (19, "HWPOISON"),
    (20, "NOPAGE"),
    (21, "KSM"),
    (22, "THP"),
    (23, "OFFLINE"),
    (24, "ZERO_PAGE"),
    (25, "IDLE"),
    (26, "PGTABLE"),
];

/// The names of the set bits of a kpageflags word.
pub fn kflag_names(flags: u64) -> Vec<String> {
    KPF_NAMES
        .iter()
        .filter(|(bit, _)| flags & (1 << bit) != 0)
        .map(|(_, name)| (*name).to_string())
        .collect()
}

/// The largest folio looked for around a page, in pages: a PMD-sized folio on 4 KiB pages.
const MAX_FOLIO_PAGES: u64 = 512;

/// Pages read per pagemap / mincore call in a scan (4 MiB of address space, 8 KiB of pagemap);
/// above this, cachestat decides whether a range needs looking at.
const LEAF_PAGES: u64 = 1 << 10;

/// Pages faulted in at a time by a touching scan before they are released again: as large as
/// the largest folio looked for, so that (page-cache folios being aligned to their size) no
/// folio is cut by a chunk.
const TOUCH_CHUNK: usize = MAX_FOLIO_PAGES as usize;

/// The `[lo, hi)` runs of `true` in `flags`.
fn runs_of(flags: &[bool]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        if !flags[i] {
            i += 1;
            continue;
        }
        let lo = i;
        while i < flags.len() && flags[i] {
            i += 1;
        }
        runs.push((lo, i));
    }
    runs
}

/// The raw answers of the kernel for one page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageProbe {
    /// `mincore` bit 0; `None` when the call failed.
    pub resident: Option<bool>,
    /// The pagemap word; `None` when pagemap is unreadable.
    pub pagemap: Option<u64>,
    /// cachestat of this page's file range; `None` for anonymous memory or without cachestat.
    pub cache: Option<CacheStat>,
    /// The kpageflags word at the PFN; `None` without root or when not present.
    pub kflags: Option<u64>,
    /// Pages in the folio holding this page (kpageflags COMPOUND_HEAD/TAIL).
    pub folio_pages: Option<u64>,
}

impl PageProbe {
    fn bit(&self, mask: u64) -> Option<bool> {
        self.pagemap.map(|w| w & mask != 0)
    }

    pub fn present(&self) -> Option<bool> {
        self.bit(PM_PRESENT)
    }

    pub fn swapped(&self) -> Option<bool> {
        self.bit(PM_SWAPPED)
    }

    pub fn file_backed(&self) -> Option<bool> {
        self.bit(PM_FILE)
    }

    pub fn exclusive(&self) -> Option<bool> {
        self.bit(PM_EXCLUSIVE)
    }

    /// The PFN when present and readable (non-zero).
    pub fn pfn(&self) -> Option<u64> {
        self.pagemap
            .filter(|w| w & PM_PRESENT != 0)
            .map(|w| w & PM_PFN_MASK)
            .filter(|&pfn| pfn != 0)
    }
}

/// How the raw answers are read for a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeCtx {
    pub mode: MapMode,
    /// A file mapping (cow and dirty make sense).
    pub file_mapping: bool,
    /// pagemap bit 55 means something on this kernel.
    pub soft_dirty: bool,
    /// The file is on tmpfs, whose page-cache pages are always dirty.
    pub always_dirty: bool,
}

/// The state of one page as reported: geometry plus the kernel's answers, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageState {
    pub geom: PageGeom,
    pub resident: Option<bool>,
    pub present: Option<bool>,
    pub swapped: Option<bool>,
    pub file_backed: Option<bool>,
    pub exclusive: Option<bool>,
    /// A MAP_PRIVATE page we hold a private copy of: present and not file-backed.
    pub cow: Option<bool>,
    /// The file's page-cache page at this offset is dirty (cachestat, else kpageflags).
    pub dirty: Option<bool>,
    pub writeback: Option<bool>,
    pub soft_dirty: Option<bool>,
    pub folio_pages: Option<u64>,
    /// The raw kpageflags word (names via `kflag_names`).
    pub kflags: Option<u64>,
}

impl PageState {
    /// Decodes a probe for a page of a mapping read as `ctx` says.
    pub fn decode(geom: PageGeom, probe: PageProbe, ctx: DecodeCtx) -> Self {
        let present = probe.present();
        let file_backed = probe.file_backed();
        let cow = match (ctx.mode, ctx.file_mapping, present, file_backed) {
            (MapMode::Private, true, Some(p), Some(f)) => Some(p && !f),
            (MapMode::Private, true, _, _) => None,
            _ => Some(false),
        };
        // kpageflags describes the page we map: the file's page only when it is a file page.
        let file_kflags = probe.kflags.filter(|_| file_backed == Some(true));
        // kpageflags reads the folio's own PG_dirty/PG_writeback; cachestat reads the page
        // cache's dirty and writeback tags. They agree for ordinary files, but tmpfs marks its
        // folios dirty without tagging them (cachestat says 0): so kpageflags wins when we have
        // it, and on tmpfs without it a cached page is known to be dirty (it always is).
        let (dirty, writeback) = if !ctx.file_mapping {
            (None, None)
        } else if let Some(k) = file_kflags {
            (Some(k & KPF_DIRTY != 0), Some(k & KPF_WRITEBACK != 0))
        } else if ctx.always_dirty {
            let cached = probe.cache.map(|c| c.nr_cache > 0).or(probe.resident);
            (cached, probe.cache.map(|c| c.nr_writeback > 0))
        } else if let Some(c) = probe.cache {
            (Some(c.nr_dirty > 0), Some(c.nr_writeback > 0))
        } else {
            (None, None)
        };
        Self {
            geom,
            resident: probe.resident,
            present,
            swapped: probe.swapped(),
            file_backed,
            exclusive: probe.exclusive(),
            cow,
            dirty,
            writeback,
            soft_dirty: if ctx.soft_dirty {
                probe.bit(PM_SOFT_DIRTY)
            } else {
                None
            },
            folio_pages: probe.folio_pages,
            kflags: probe.kflags,
        }
    }
}

/// A run of consecutive pages with equal state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateRun {
    pub first: u64,
    pub count: u64,
    pub state: PageState,
}

/// Appends pages, merging each into the previous run when its state is equal.
#[derive(Debug, Default)]
pub struct RunBuilder {
    runs: Vec<StateRun>,
}

impl RunBuilder {
    pub fn push(&mut self, first: u64, count: u64, state: PageState) {
        if count == 0 {
            return;
        }
        if let Some(last) = self.runs.last_mut()
            && last.state == state
            && last.first + last.count == first
        {
            last.count += count;
            return;
        }
        self.runs.push(StateRun {
            first,
            count,
            state,
        });
    }

    pub fn finish(self) -> Vec<StateRun> {
        self.runs
    }
}

/// How each source of page state answers on this machine, as said in the report's `sources`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sources {
    pub mincore: String,
    pub pagemap: String,
    pub pfn: String,
    pub kpageflags: String,
    pub cachestat: String,
    pub soft_dirty: String,
}

/// Reads page state; opened once, reused on every refresh.
#[derive(Debug)]
pub struct Prober {
    pagemap: Result<File, SysError>,
    kpageflags: Result<File, SysError>,
    pfn_readable: bool,
    soft_dirty: Result<(), String>,
}

impl Default for Prober {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether soft-dirty tracking works here, tried for real: clear the bits, store into a scratch
/// page, read its pagemap bit 55. (Kernels without CONFIG_MEM_SOFT_DIRTY accept the clear and
/// never set the bit.)
fn detect_soft_dirty(pagemap: &File) -> Result<(), String> {
    let scratch = Region::open(&MapRequest {
        source: Source::Anon(super::region::page_size()),
        mode: MapMode::Private,
        offset: 0,
        len: None,
        prot: None,
        write: true,
    })
    .map_err(|e| format!("n/a: no scratch page ({e})"))?;
    scratch.write(0, &[1]).map_err(|e| e.to_string())?;
    OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut f| f.write_all(b"4"))
        .map_err(|e| format!("n/a: cannot write /proc/self/clear_refs ({e})"))?;
    scratch.write(0, &[2]).map_err(|e| e.to_string())?;
    let mut word = [0u8; 8];
    pagemap
        .read_exact_at(&mut word, scratch.addr() / scratch.page_size() * 8)
        .map_err(|e| format!("n/a: pagemap unreadable ({e})"))?;
    if u64::from_le_bytes(word) & PM_SOFT_DIRTY != 0 {
        Ok(())
    } else {
        Err("unsupported by this kernel (CONFIG_MEM_SOFT_DIRTY is off: the bit never sets)".into())
    }
}

impl Prober {
    /// Opens `/proc/self/pagemap` and `/proc/kpageflags`, and detects whether PFNs read as real
    /// numbers (CAP_SYS_ADMIN) and whether soft-dirty works.
    pub fn new() -> Self {
        let pagemap = File::open("/proc/self/pagemap")
            .map_err(|e| SysError::from_io(&e, "open /proc/self/pagemap"));
        // A local on our stack is certainly present: a zero PFN for it means PFNs are hidden.
        let probe_local = 0u8;
        let addr = std::ptr::addr_of!(probe_local) as u64;
        let ps = super::region::page_size();
        let pfn_readable = pagemap.as_ref().is_ok_and(|f| {
            let mut word = [0u8; 8];
            f.read_exact_at(&mut word, addr / ps * 8).is_ok()
                && u64::from_le_bytes(word) & PM_PFN_MASK != 0
        });
        std::hint::black_box(&probe_local);
        let kpageflags = File::open("/proc/kpageflags")
            .map_err(|e| SysError::from_io(&e, "open /proc/kpageflags"));
        let soft_dirty = match &pagemap {
            Ok(f) => detect_soft_dirty(f),
            Err(e) => Err(format!("n/a: {e}")),
        };
        Self {
            pagemap,
            kpageflags,
            pfn_readable,
            soft_dirty,
        }
    }

    /// Whether PFNs (and so kpageflags) can be read by this process.
    pub fn pfn_readable(&self) -> bool {
        self.pfn_readable
    }

    /// Whether kpageflags answers (root, and PFNs readable).
    pub fn kpageflags_readable(&self) -> bool {
        self.pfn_readable && self.kpageflags.is_ok()
    }

    fn ctx(&self, region: &Region) -> DecodeCtx {
        DecodeCtx {
            mode: region.mode(),
            file_mapping: region.page_cache_file(),
            soft_dirty: self.soft_dirty.is_ok(),
            always_dirty: region.always_dirty(),
        }
    }

    /// Whether cachestat answers for this region's file: `Err` says why not.
    pub fn cachestat_support(region: &Region) -> Result<(), String> {
        match region.target() {
            Target::Anon => Err("n/a: anonymous memory has no file page cache".into()),
            Target::File { .. } if !region.page_cache_file() => {
                Err("n/a: /dev/zero has no page cache (its pages are anonymous or shmem)".into())
            }
            Target::File { .. } => region.cachestat(0, 1).map(|_| ()).map_err(|e| {
                if e.errno == libc::ENOSYS {
                    "n/a: this kernel has no cachestat(2) (Linux >= 6.5)".into()
                } else {
                    format!("n/a: {e}")
                }
            }),
        }
    }

    /// What each source says about its availability for `region`.
    pub fn sources(&self, region: &Region) -> Sources {
        let mincore = if region.page_cache_file() && !region.may_write() {
            "ok (file not writable by us: since Linux 5.2 mincore reports only pages mapped by us)"
                .to_string()
        } else {
            "ok".to_string()
        };
        let pagemap = match &self.pagemap {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        let pfn = if self.pagemap.is_err() {
            "n/a: pagemap unreadable".to_string()
        } else if self.pfn_readable {
            "ok".to_string()
        } else {
            "n/a: needs CAP_SYS_ADMIN (root); the kernel reports PFN 0".to_string()
        };
        let kpageflags = match (&self.kpageflags, self.pfn_readable) {
            (Ok(_), true) => "ok".to_string(),
            (Err(e), _) if e.errno == libc::EACCES || e.errno == libc::EPERM => {
                "n/a: needs root (/proc/kpageflags is root-only)".to_string()
            }
            (Err(e), _) => format!("n/a: {e}"),
            (Ok(_), false) => "n/a: needs CAP_SYS_ADMIN to read PFNs".to_string(),
        };
        let mut cachestat = match Self::cachestat_support(region) {
            Ok(()) => "ok".to_string(),
            Err(why) => why,
        };
        if region.always_dirty() {
            cachestat.push_str(
                " (tmpfs: its pages are always dirty but untagged, so cachestat counts 0 dirty; \
                 dirty comes from kpageflags, or from residency without root)",
            );
        }
        Sources {
            mincore,
            pagemap,
            pfn,
            kpageflags,
            cachestat,
            soft_dirty: match &self.soft_dirty {
                Ok(()) => "ok".to_string(),
                Err(why) => why.clone(),
            },
        }
    }

    /// Raw pagemap words for `count` pages from page `first` of the mapping, in one read.
    ///
    /// # Errors
    /// pagemap unreadable, or the read failed.
    pub fn pagemap_words(
        &self,
        region: &Region,
        first: u64,
        count: u64,
        out: &mut Vec<u64>,
    ) -> Result<(), SysError> {
        let file = self.pagemap.as_ref().map_err(Clone::clone)?;
        let pos = (region.addr() / region.page_size() + first) * 8;
        read_words(file, pos, count, out)
            .map_err(|e| SysError::from_io(&e, "read /proc/self/pagemap"))
    }

    /// kpageflags words for `count` consecutive PFNs from `pfn`, in one read.
    fn kflags_words(&self, pfn: u64, count: u64, out: &mut Vec<u64>) -> Option<()> {
        let file = self.kpageflags.as_ref().ok()?;
        read_words(file, pfn * 8, count, out).ok()
    }

    /// The number of pages in the folio holding `pfn`, from COMPOUND_HEAD/TAIL around it.
    /// Reads in windows that double from 16 words, so a small folio costs a small read.
    fn folio_extent(&self, pfn: u64, flags: u64) -> Option<u64> {
        if flags & (KPF_COMPOUND_HEAD | KPF_COMPOUND_TAIL) == 0 {
            return Some(1);
        }
        let mut words = Vec::new();
        let head = if flags & KPF_COMPOUND_HEAD != 0 {
            pfn
        } else {
            // Back to the head: the nearest COMPOUND_HEAD below.
            let mut n = 16;
            loop {
                let from = pfn.saturating_sub(n);
                self.kflags_words(from, pfn - from, &mut words)?;
                if let Some(back) = words.iter().rposition(|w| w & KPF_COMPOUND_HEAD != 0) {
                    break from + back as u64;
                }
                if n >= MAX_FOLIO_PAGES || from == 0 {
                    return None;
                }
                n *= 2;
            }
        };
        // Forward over the tails.
        let mut tails = 0;
        let mut n = 16;
        loop {
            self.kflags_words(head + 1 + tails, n, &mut words)?;
            let run = words
                .iter()
                .take_while(|w| *w & KPF_COMPOUND_TAIL != 0 && *w & KPF_COMPOUND_HEAD == 0)
                .count() as u64;
            tails += run;
            if run < n || tails + 1 >= MAX_FOLIO_PAGES {
                return Some(1 + tails);
            }
            n = (n * 2).min(MAX_FOLIO_PAGES);
        }
    }

    /// kpageflags and folio sizes for probes that have a PFN; consecutive PFNs in one read.
    fn add_kflags(&self, probes: &mut [PageProbe]) {
        if !self.kpageflags_readable() {
            return;
        }
        let mut words = Vec::new();
        let mut i = 0;
        while i < probes.len() {
            let Some(start) = probes[i].pfn() else {
                i += 1;
                continue;
            };
            let mut j = i + 1;
            while j < probes.len() && probes[j].pfn() == Some(start + (j - i) as u64) {
                j += 1;
            }
            if self
                .kflags_words(start, (j - i) as u64, &mut words)
                .is_some()
            {
                for (k, w) in words.iter().enumerate() {
                    probes[i + k].kflags = Some(*w);
                }
                // A run that ends before the slice does ends where the physical pages stop
                // being consecutive: no folio continues past it.
                let cut = j == probes.len();
                self.add_folios(&mut probes[i..j], cut);
            }
            i = j;
        }
    }

    /// Folio sizes for a run of pages with consecutive PFNs and known flags: a head followed by
    /// its tails inside the run is counted there; a folio cut by the run's ends is looked up.
    fn add_folios(&self, run: &mut [PageProbe], cut: bool) {
        let tail = |p: &PageProbe| {
            let f = p.kflags.unwrap_or(0);
            f & KPF_COMPOUND_TAIL != 0 && f & KPF_COMPOUND_HEAD == 0
        };
        let mut i = 0;
        while i < run.len() {
            let flags = run[i].kflags.unwrap_or(0);
            let Some(pfn) = run[i].pfn() else {
                i += 1;
                continue;
            };
            // This page and the tails after it in the run belong to one folio.
            let mut end = i + 1;
            while end < run.len() && tail(&run[end]) {
                end += 1;
            }
            // A head whose tails end inside the run (or at a run's end that is not the end of
            // what was probed) is measured here; a folio cut by the probed range (it starts
            // with tails, or its tails reach the range's end) is looked up once.
            let size = if flags & (KPF_COMPOUND_HEAD | KPF_COMPOUND_TAIL) == 0 {
                Some(1)
            } else if flags & KPF_COMPOUND_HEAD != 0 && (end < run.len() || !cut) {
                Some((end - i) as u64)
            } else {
                self.folio_extent(pfn, flags)
            };
            for p in &mut run[i..end] {
                p.folio_pages = size;
            }
            i = end;
        }
    }

    /// All sources for `count` pages from page `first`: mincore, pagemap, cachestat per page,
    /// kpageflags; in that order of calls.
    pub fn probe(&self, region: &Region, first: u64, count: u64) -> Vec<PageProbe> {
        let mut core = Vec::new();
        let resident_ok = region.mincore(first, count, &mut core).is_ok();
        let mut words = Vec::new();
        let words_ok = self.pagemap_words(region, first, count, &mut words).is_ok();
        let ps = region.page_size();
        let cached = Self::cachestat_support(region).is_ok();
        let mut probes: Vec<PageProbe> = (0..count as usize)
            .map(|i| PageProbe {
                resident: resident_ok.then(|| core[i] & 1 != 0),
                pagemap: words_ok.then(|| words[i]),
                cache: if cached {
                    let off = region.offset() + (first + i as u64) * ps;
                    region.cachestat(off, ps).ok()
                } else {
                    None
                },
                kflags: None,
                folio_pages: None,
            })
            .collect();
        self.add_kflags(&mut probes);
        probes
    }

    /// Probes every page of the mapping and returns runs of equal state.
    ///
    /// Only what can hold resident pages is examined page by page: for a file mapping, cachestat
    /// over large ranges finds the cached parts first and the scan splits only where the answer
    /// says there is something; dirty pages are found the same way. With `touch`, pages that
    /// mincore reports resident are faulted in (MADV_POPULATE_READ under MADV_RANDOM, so no
    /// readahead or disk I/O starts) so that pagemap and kpageflags can describe them, and
    /// released again right after (the pages stay cached), so memory use stays flat.
    ///
    /// `anon_pages` and `swap` say whether our VMA holds anonymous pages (private copies) or
    /// swapped pages, which cachestat cannot see.
    ///
    /// # Errors
    /// A failed fstat of the file.
    pub fn scan(
        &self,
        region: &Region,
        touch: bool,
        anon_pages: bool,
        swap: bool,
    ) -> Result<Vec<StateRun>, SysError> {
        let geometry = region.geometry()?;
        let cachestat = Self::cachestat_support(region).is_ok();
        // Pruning with cachestat is exact only when every resident page of ours is a page of the
        // file's page cache: not for anonymous memory, private copies, or swapped pages.
        let prune = cachestat && !anon_pages && !swap;
        if touch {
            // Best effort: MADV_RANDOM keeps the fault-ins below from starting readahead.
            let _ = region.madvise(0, region.pages(), rustix::mm::Advice::Random);
        }
        let mut scan = Scan {
            prober: self,
            region,
            geometry,
            ctx: self.ctx(region),
            touch,
            swap,
            prune,
            cachestat,
            mincore_is_cache: region.page_cache_file()
                && region.may_write()
                && region.mode() == MapMode::Shared,
            runs: RunBuilder::default(),
        };
        scan.range(0, region.pages());
        if touch {
            let _ = region.madvise(0, region.pages(), rustix::mm::Advice::Normal);
        }
        Ok(scan.runs.finish())
    }

    /// Decodes probes of pages from `first` of `region`.
    pub fn decode(
        &self,
        region: &Region,
        geometry: &Geometry,
        first: u64,
        probes: &[PageProbe],
    ) -> Vec<PageState> {
        let ctx = self.ctx(region);
        probes
            .iter()
            .enumerate()
            .map(|(i, p)| PageState::decode(geometry.page(first + i as u64), *p, ctx))
            .collect()
    }
}

/// Mappings up to this many pages are probed page by page for the minimap on every refresh;
/// larger ones are aggregated with one cachestat call per bucket.
pub const EXACT_MINIMAP_PAGES: u64 = 4096;

/// Anonymous mappings up to this many pages get mincore per bucket; larger ones say `?`.
const ANON_MINIMAP_PAGES: u64 = 1 << 20;

/// The state of a bucket of consecutive pages, for the minimap: counts of pages in each state,
/// `None` where no source answers at this size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bucket {
    pub first: u64,
    pub pages: u64,
    pub resident: Option<u64>,
    pub present: Option<u64>,
    pub dirty: Option<u64>,
    pub cow: Option<u64>,
    pub beyond_eof: u64,
}

impl Prober {
    /// The mapping in at most `cells` buckets. Its cost does not grow with the mapping: small
    /// mappings are probed page by page, large file mappings with one cachestat per bucket.
    pub fn buckets(&self, region: &Region, geometry: &Geometry, cells: u64) -> Vec<Bucket> {
        let pages = geometry.pages();
        let n = cells.clamp(1, pages.max(1));
        let data_pages = geometry.data_bytes().div_ceil(geometry.page_size);
        let file = region.page_cache_file();
        let cachestat = Self::cachestat_support(region).is_ok();
        let ps = geometry.page_size;
        let mut core = Vec::new();
        let mut words = Vec::new();
        let exact = pages <= EXACT_MINIMAP_PAGES;
        let all_core = exact && region.mincore(0, pages, &mut core).is_ok();
        let all_words = exact && self.pagemap_words(region, 0, pages, &mut words).is_ok();
        let ctx = self.ctx(region);
        (0..n)
            .map(|b| {
                let first = b * pages / n;
                let end = (b + 1) * pages / n;
                let count = end - first;
                let beyond_eof = if geometry.file_size.is_some() {
                    end.saturating_sub(first.max(data_pages))
                } else {
                    0
                };
                let stat = (file && cachestat)
                    .then(|| {
                        region
                            .cachestat(region.offset() + first * ps, count * ps)
                            .ok()
                    })
                    .flatten();
                let range = first as usize..end as usize;
                let resident = if all_core {
                    Some(core[range.clone()].iter().filter(|c| *c & 1 != 0).count() as u64)
                } else if let Some(st) = stat {
                    // For a file, resident means in the page cache: what cachestat counts.
                    Some(st.nr_cache.min(count))
                } else if !file && pages <= ANON_MINIMAP_PAGES {
                    let mut c = Vec::new();
                    region
                        .mincore(first, count, &mut c)
                        .ok()
                        .map(|()| c.iter().filter(|x| *x & 1 != 0).count() as u64)
                } else {
                    None
                };
                let (present, cow) = if all_words {
                    let present = words[range.clone()]
                        .iter()
                        .filter(|w| *w & PM_PRESENT != 0)
                        .count() as u64;
                    let cow = words[range]
                        .iter()
                        .filter(|w| {
                            let p = PageProbe {
                                pagemap: Some(**w),
                                ..PageProbe::default()
                            };
                            PageState::decode(geometry.page(first), p, ctx).cow == Some(true)
                        })
                        .count() as u64;
                    (Some(present), Some(cow))
                } else {
                    (None, None)
                };
                Bucket {
                    first,
                    pages: count,
                    resident,
                    present,
                    dirty: stat.map(|st| st.nr_dirty.min(count)),
                    cow,
                    beyond_eof,
                }
            })
            .collect()
    }
}

fn read_words(file: &File, pos: u64, count: u64, out: &mut Vec<u64>) -> std::io::Result<()> {
    let n = usize::try_from(count).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut bytes = vec![0u8; n * 8];
    file.read_exact_at(&mut bytes, pos)?;
    out.clear();
    out.extend(bytes.chunks_exact(8).map(|c| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    }));
    Ok(())
}

struct Scan<'a> {
    prober: &'a Prober,
    region: &'a Region,
    geometry: Geometry,
    ctx: DecodeCtx,
    touch: bool,
    swap: bool,
    prune: bool,
    cachestat: bool,
    /// mincore answers the page cache (a file we may write): cachestat can stand in for it.
    mincore_is_cache: bool,
    runs: RunBuilder,
}

impl Scan<'_> {
    /// Faults in the resident pages of a chunk that are not mapped yet (MADV_POPULATE_READ: no
    /// I/O for resident pages), reads their pagemap and kpageflags while mapped, then drops the
    /// page-table entries it made (MADV_DONTNEED on file pages unmaps them; the pages stay in
    /// the page cache), so memory stays flat however much of the file is cached.
    fn touch_chunk(&self, leaf_first: u64, at: usize, chunk: &mut [PageProbe]) {
        let first = leaf_first + at as u64;
        let wanted = |p: &PageProbe| p.resident == Some(true) && p.present() == Some(false);
        let before: Vec<bool> = chunk.iter().map(wanted).collect();
        if !before.iter().any(|&w| w) {
            self.prober.add_kflags(chunk);
            return;
        }
        for (lo, hi) in runs_of(&before) {
            // Errors (a page truncated meanwhile) just leave those pages not present.
            let _ = self
                .region
                .populate_read(first + lo as u64, (hi - lo) as u64);
        }
        let mut words = Vec::new();
        if self
            .prober
            .pagemap_words(self.region, first, chunk.len() as u64, &mut words)
            .is_ok()
        {
            for (p, w) in chunk.iter_mut().zip(&words) {
                p.pagemap = Some(*w);
            }
        }
        self.prober.add_kflags(chunk);
        // Release only what we mapped, and only file pages: never a private copy.
        let ours: Vec<bool> = chunk
            .iter()
            .zip(&before)
            .map(|(p, &b)| b && p.present() == Some(true) && p.file_backed() == Some(true))
            .collect();
        for (lo, hi) in runs_of(&ours) {
            let _ = self.region.madvise(
                first + lo as u64,
                (hi - lo) as u64,
                rustix::mm::Advice::LinuxDontNeed,
            );
        }
    }

    fn file_range(&self, first: u64, count: u64) -> (u64, u64) {
        let ps = self.region.page_size();
        (self.region.offset() + first * ps, count * ps)
    }

    fn range(&mut self, first: u64, count: u64) {
        let mut all_cached = false;
        if self.prune {
            let (off, len) = self.file_range(first, count);
            let stat = self.region.cachestat(off, len);
            all_cached = stat.as_ref().is_ok_and(|s| s.nr_cache >= count);
            if let Ok(stat) = stat
                && stat.nr_cache == 0
            {
                self.uniform(
                    first,
                    count,
                    PageProbe {
                        resident: Some(false),
                        pagemap: Some(0),
                        cache: Some(CacheStat::default()),
                        kflags: None,
                        folio_pages: None,
                    },
                );
                return;
            }
        }
        if count <= LEAF_PAGES {
            self.leaf(first, count, all_cached && self.mincore_is_cache);
            return;
        }
        let step = (count / 16).max(LEAF_PAGES).div_ceil(LEAF_PAGES) * LEAF_PAGES;
        let mut at = first;
        while at < first + count {
            let n = step.min(first + count - at);
            self.range(at, n);
            at += n;
        }
    }

    /// Pages whose probe is known without asking per page, split by geometry.
    fn uniform(&mut self, first: u64, count: u64, probe: PageProbe) {
        let end = first + count;
        for run in self.geometry.runs() {
            let (lo, hi) = (run.first.max(first), (run.first + run.count).min(end));
            if lo < hi {
                let state = PageState::decode(run.geom, probe, self.ctx);
                self.runs.push(lo, hi - lo, state);
            }
        }
    }

    /// Per-page dirty/writeback from cachestat, splitting only ranges with something dirty.
    fn dirty_split(&self, first: u64, count: u64, out: &mut [CacheStat]) {
        let (off, len) = self.file_range(first, count);
        let Ok(stat) = self.region.cachestat(off, len) else {
            return;
        };
        let uniform = |n: u64| n == 0 || n == count;
        if count == 1 || (uniform(stat.nr_dirty) && uniform(stat.nr_writeback)) {
            let per_page = CacheStat {
                nr_cache: u64::from(stat.nr_cache > 0),
                nr_dirty: u64::from(stat.nr_dirty > 0),
                nr_writeback: u64::from(stat.nr_writeback > 0),
                nr_evicted: u64::from(stat.nr_evicted > 0),
                nr_recently_evicted: u64::from(stat.nr_recently_evicted > 0),
            };
            out.fill(per_page);
            return;
        }
        let half = count / 2;
        let (a, b) = out.split_at_mut(half as usize);
        self.dirty_split(first, half, a);
        self.dirty_split(first + half, count - half, b);
    }

    /// Probes a leaf page by page. `all_cached`: cachestat already says every page is in the
    /// page cache, and mincore would only say the same.
    fn leaf(&mut self, first: u64, count: u64, all_cached: bool) {
        let mut core = Vec::new();
        let resident_ok = if all_cached {
            core.resize(count as usize, 1);
            true
        } else {
            self.region.mincore(first, count, &mut core).is_ok()
        };
        let any_resident = resident_ok && core.iter().any(|b| b & 1 != 0);
        let clean = CacheStat::default();
        if resident_ok && !any_resident && !self.swap {
            // Nothing resident and nothing swapped: no page-table entry can exist here, and
            // nothing uncached can be dirty.
            self.uniform(
                first,
                count,
                PageProbe {
                    resident: Some(false),
                    pagemap: Some(0),
                    cache: self.cachestat.then_some(clean),
                    kflags: None,
                    folio_pages: None,
                },
            );
            return;
        }
        let mut words = Vec::new();
        let words_ok = self
            .prober
            .pagemap_words(self.region, first, count, &mut words)
            .is_ok();
        let mut caches = vec![clean; count as usize];
        if self.cachestat {
            self.dirty_split(first, count, &mut caches);
        }
        let mut probes: Vec<PageProbe> = (0..count as usize)
            .map(|i| PageProbe {
                resident: resident_ok.then(|| core[i] & 1 != 0),
                pagemap: words_ok.then(|| words[i]),
                cache: self.cachestat.then(|| caches[i]),
                kflags: None,
                folio_pages: None,
            })
            .collect();
        if self.touch && any_resident && words_ok {
            let mut at = 0usize;
            while at < probes.len() {
                let end = (at + TOUCH_CHUNK).min(probes.len());
                self.touch_chunk(first, at, &mut probes[at..end]);
                at = end;
            }
        } else {
            self.prober.add_kflags(&mut probes);
        }
        for (i, probe) in probes.into_iter().enumerate() {
            let page = first + i as u64;
            let state = PageState::decode(self.geometry.page(page), probe, self.ctx);
            self.runs.push(page, 1, state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom() -> PageGeom {
        PageGeom {
            valid_bytes: 4096,
            padding_bytes: 0,
            beyond_eof: false,
        }
    }

    fn ctx(mode: MapMode, file_mapping: bool) -> DecodeCtx {
        DecodeCtx {
            mode,
            file_mapping,
            soft_dirty: false,
            always_dirty: false,
        }
    }

    fn probe(resident: bool, pagemap: u64) -> PageProbe {
        PageProbe {
            resident: Some(resident),
            pagemap: Some(pagemap),
            ..PageProbe::default()
        }
    }

    #[test]
    fn pagemap_bits_decode() {
        let p = probe(true, PM_PRESENT | PM_FILE | PM_EXCLUSIVE | 0x1234);
        assert_eq!(p.present(), Some(true));
        assert_eq!(p.file_backed(), Some(true));
        assert_eq!(p.exclusive(), Some(true));
        assert_eq!(p.swapped(), Some(false));
        assert_eq!(p.pfn(), Some(0x1234));
        assert_eq!(probe(true, PM_PRESENT).pfn(), None);
    }

    #[test]
    fn cow_is_private_present_and_not_file() {
        let copy = probe(true, PM_PRESENT);
        let file = probe(true, PM_PRESENT | PM_FILE);
        let private = ctx(MapMode::Private, true);
        assert_eq!(PageState::decode(geom(), copy, private).cow, Some(true));
        assert_eq!(PageState::decode(geom(), file, private).cow, Some(false));
        assert_eq!(
            PageState::decode(geom(), copy, ctx(MapMode::Shared, true)).cow,
            Some(false)
        );
        // Anonymous memory is never a copy of a file page.
        assert_eq!(
            PageState::decode(geom(), copy, ctx(MapMode::Private, false)).cow,
            Some(false)
        );
    }

    #[test]
    fn dirty_comes_from_kpageflags_then_cachestat_and_never_for_anon() {
        let mut p = probe(true, PM_PRESENT | PM_FILE | 7);
        p.cache = Some(CacheStat {
            nr_cache: 1,
            ..CacheStat::default()
        });
        let shared = ctx(MapMode::Shared, true);
        assert_eq!(PageState::decode(geom(), p, shared).dirty, Some(false));
        p.kflags = Some(KPF_DIRTY);
        assert_eq!(
            PageState::decode(geom(), p, shared).dirty,
            Some(true),
            "the folio's own flag wins"
        );
        // tmpfs without kpageflags: cached means dirty, whatever the dirty tag says.
        p.kflags = None;
        let tmpfs = DecodeCtx {
            always_dirty: true,
            ..shared
        };
        assert_eq!(PageState::decode(geom(), p, tmpfs).dirty, Some(true));
        assert_eq!(
            PageState::decode(geom(), p, ctx(MapMode::Shared, false)).dirty,
            None
        );
        // A private copy's kpageflags describe the anonymous copy, not the file's page.
        let mut copy = probe(true, PM_PRESENT | 9);
        copy.kflags = Some(KPF_DIRTY);
        assert_eq!(
            PageState::decode(geom(), copy, ctx(MapMode::Private, true)).dirty,
            None
        );
    }

    #[test]
    fn soft_dirty_only_when_supported() {
        let p = probe(true, PM_PRESENT | PM_SOFT_DIRTY);
        assert_eq!(
            PageState::decode(geom(), p, ctx(MapMode::Shared, true)).soft_dirty,
            None
        );
        let supported = DecodeCtx {
            soft_dirty: true,
            ..ctx(MapMode::Shared, true)
        };
        assert_eq!(
            PageState::decode(geom(), p, supported).soft_dirty,
            Some(true)
        );
    }

    #[test]
    fn folios_inside_a_run_are_measured_without_lookups() {
        let page = |pfn: u64, flags: u64| PageProbe {
            resident: Some(true),
            pagemap: Some(PM_PRESENT | PM_FILE | pfn),
            kflags: Some(flags),
            ..PageProbe::default()
        };
        let (h, t) = (KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL);
        // A 4-page folio, a plain page, a 2-page folio that ends the run where the physical
        // pages stop being consecutive (`cut` false): all measured from the run itself.
        let mut run = vec![
            page(100, h),
            page(101, t),
            page(102, t),
            page(103, t),
            page(104, 0),
            page(105, h),
            page(106, t),
        ];
        Prober::new().add_folios(&mut run, false);
        let sizes: Vec<_> = run.iter().map(|p| p.folio_pages).collect();
        assert_eq!(sizes, [4, 4, 4, 4, 1, 2, 2].map(Some));
    }

    #[test]
    fn kflag_names_by_bit() {
        assert_eq!(
            kflag_names(KPF_DIRTY | (1 << 3) | (1 << 11)),
            vec!["UPTODATE", "DIRTY", "MMAP"]
        );
        assert!(kflag_names(0).is_empty());
    }

    #[test]
    fn run_builder_merges_equal_neighbours_only() {
        let a = PageState::decode(geom(), PageProbe::default(), ctx(MapMode::Shared, true));
        let mut b = a;
        b.resident = Some(true);
        let mut rb = RunBuilder::default();
        rb.push(0, 2, a);
        rb.push(2, 3, a);
        rb.push(5, 1, b);
        rb.push(6, 0, a);
        rb.push(7, 1, b); // not contiguous with the previous run: a new run
        let runs = rb.finish();
        let shape: Vec<_> = runs.iter().map(|r| (r.first, r.count)).collect();
        assert_eq!(shape, vec![(0, 5), (5, 1), (7, 1)]);
    }
}
