//! Page-state probes. For a page range of our mapping, in this order (probe first, copy bytes
//! after, so that looking does not change what is seen):
//!
//! - `mincore(2)`: resident;
//! - `/proc/self/pagemap`: present, swapped, file-backed, exclusive, soft-dirty, PFN (its
//!   PAGEMAP_SCAN ioctl, Linux >= 6.7, finds where a whole scan needs to read it);
//! - `cachestat(2)` (Linux >= 6.5): dirty and writeback of the file's page-cache page, for anyone;
//! - `/proc/kpageflags` at the PFN (root only): flag names, folio extent, a dirty cross-check;
//!   `/proc/kpagecount` there: how many page tables map the page;
//! - PAGEMAP_SCAN's PAGE_IS_HUGE: the page is part of a PMD-mapped huge page;
//! - with a forked child (the keeper): its pagemap word for the same page, to tell whether
//!   the two still share it (equal PFNs as root; else both present and both file pages, or
//!   both anonymous and neither exclusively mapped: pagemap bit 56).
//!
//! Each source's availability is detected once and said in `Sources`; a source that cannot
//! answer gives `None`, never a guess. The whole-mapping `scan` behind `inspect` costs in
//! proportion to the cached pages and state changes, not to the file size.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use procfs::PhysicalPageFlags;
use procfs::process::MemoryPageFlags;

use crate::geometry::{Geometry, PageGeom};

use crate::sys::contain::children::ChildSpec;
use crate::sys::error::SysError;
use crate::sys::map::range::Mapped;
use crate::sys::map::region::{CacheStat, MapMode, MapRequest, PageRegion, Pagemap, Region};
use crate::sys::proc::maps::Pid;

// pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst), as procfs names them.
/// Bit 63: page present in our page tables.
pub const PM_PRESENT: u64 = MemoryPageFlags::PRESENT.bits();
/// Bit 62: page swapped.
pub const PM_SWAPPED: u64 = MemoryPageFlags::SWAP.bits();
/// Bit 61: file page or shared anonymous page.
pub const PM_FILE: u64 = MemoryPageFlags::FILE.bits();
/// Bit 56: page exclusively mapped (since Linux 4.2).
pub const PM_EXCLUSIVE: u64 = MemoryPageFlags::MMAP_EXCLUSIVE.bits();
/// Bit 55: soft-dirty (needs CONFIG_MEM_SOFT_DIRTY).
pub const PM_SOFT_DIRTY: u64 = MemoryPageFlags::SOFT_DIRTY.bits();
/// Bits 0-54: page frame number when present (zero without CAP_SYS_ADMIN).
pub const PM_PFN_MASK: u64 = MemoryPageFlags::PFN.bits();

// kpageflags bits (include/uapi/linux/kernel-page-flags.h), as procfs names them.
pub const KPF_DIRTY: u64 = PhysicalPageFlags::DIRTY.bits();
pub(crate) const KPF_WRITEBACK: u64 = PhysicalPageFlags::WRITEBACK.bits();
pub(crate) const KPF_COMPOUND_HEAD: u64 = PhysicalPageFlags::COMPOUND_HEAD.bits();
pub(crate) const KPF_COMPOUND_TAIL: u64 = PhysicalPageFlags::COMPOUND_TAIL.bits();

/// A kpageflags word as runs of pages compare and report it: without COMPOUND_HEAD and
/// COMPOUND_TAIL, which `folio_pages` already says (a large folio is one run, not a head run
/// and a tail run).
pub fn run_kflags(flags: u64) -> u64 {
    flags & !(KPF_COMPOUND_HEAD | KPF_COMPOUND_TAIL)
}

/// The names of the set bits of a kpageflags word (procfs's names: the kernel's).
pub fn kflag_names(flags: u64) -> Vec<String> {
    PhysicalPageFlags::from_bits_truncate(flags)
        .iter_names()
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The largest folio looked for around a page, in pages: a PMD-sized folio on 4 KiB pages.
const MAX_FOLIO_PAGES: u64 = 512;

/// Pages of a shmem object (shared anonymous memory, MAP_SHARED /dev/zero) a report asks
/// mincore about where our page tables have no entry (1 GiB of 4 KiB pages): mincore looks
/// each one up in the object, about as long as for a page of a cached file, so this bounds
/// that part of a report's cost whatever the mapping's size.
pub(crate) const SHMEM_MINCORE_PAGES: u64 = 1 << 18;

/// Pages of the smallest range a scan splits with cachestat (512 KiB); a mixed one is read
/// with one mincore.
const LEAF_PAGES: u64 = 128;

/// Pages probed one by one at a time (and, in a touching scan, faulted in at a time before
/// they are released again): a PMD-sized block, the largest folio looked for, so that (page-
/// cache folios being aligned to their size) no folio is cut by a chunk.
const CHUNK_PAGES: u64 = MAX_FOLIO_PAGES;

/// Pages per mincore call where a scan asks mincore for a long run (64 KiB of vector).
const MINCORE_WINDOW: u64 = 1 << 16;

/// Pages per pagemap read where a scan looks for page-table entries without PAGEMAP_SCAN
/// (128 KiB of words).
const PAGEMAP_WINDOW: u64 = 1 << 14;

/// The most kpageflags words one read spans when it merges PFNs into a window (32 KiB).
const KPF_WINDOW_MAX: u64 = 4096;

/// The largest gap between two wanted PFNs that one kpageflags read still spans: reading a
/// few words nobody asked for costs less than another pread.
const KPF_GAP: u64 = 16;

/// `(PFN, index)` of the probes that have a PFN, sorted by PFN.
fn pfn_order(probes: &[PageProbe]) -> Vec<(u64, usize)> {
    let mut order: Vec<(u64, usize)> = probes
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.pfn().map(|pfn| (pfn, i)))
        .collect();
    order.sort_unstable();
    order
}

/// The reads that cover the sorted PFNs of `order`, as `(first PFN, end PFN, the part of
/// `order` it answers)`: PFNs up to `KPF_GAP` apart share one read (a few words nobody asked
/// for cost less than another pread), at most `KPF_WINDOW_MAX` words long.
fn pfn_windows(order: &[(u64, usize)]) -> Vec<(u64, u64, std::ops::Range<usize>)> {
    let mut windows = Vec::new();
    let mut w = 0;
    while w < order.len() {
        let start = order[w].0;
        let mut j = w + 1;
        while j < order.len()
            && order[j].0 <= order[j - 1].0 + 1 + KPF_GAP
            && order[j].0 < start + KPF_WINDOW_MAX
        {
            j += 1;
        }
        windows.push((start, order[j - 1].0 + 1, w..j));
        w = j;
    }
    windows
}

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
    /// `/proc/kpagecount` at the PFN: page tables mapping it; `None` without root or PFN.
    pub mapcount: Option<u64>,
    /// PAGEMAP_SCAN says PAGE_IS_HUGE (PMD-mapped); `None` where the ioctl is missing.
    pub huge: Option<bool>,
    /// The forked child's pagemap word for the same page of its copy of the mapping; `None`
    /// without a child (or its pagemap unreadable).
    pub child: Option<u64>,
}

/// Whether two pagemap words, ours and the forked child's for the same page, show one
/// physical page mapped by both. With PFNs (root): equal frames. Without: both present and
/// both file pages (one page-cache page per file offset), or both anonymous and neither
/// exclusively mapped (pagemap bit 56: a page only we map is ours alone; an anonymous page
/// only fork can share, and the child is our only fork that lives).
pub(crate) fn shared_pages(ours: u64, child: u64) -> bool {
    let present = |w: u64| w & PM_PRESENT != 0;
    if !present(ours) || !present(child) {
        return false;
    }
    let (a, b) = (ours & PM_PFN_MASK, child & PM_PFN_MASK);
    if a != 0 && b != 0 {
        return a == b;
    }
    match (ours & PM_FILE != 0, child & PM_FILE != 0) {
        (true, true) => true,
        (false, false) => ours & PM_EXCLUSIVE == 0 && child & PM_EXCLUSIVE == 0,
        _ => false,
    }
}

impl PageProbe {
    fn bit(&self, mask: u64) -> Option<bool> {
        self.pagemap.map(|w| w & mask != 0)
    }

    pub fn present(&self) -> Option<bool> {
        self.bit(PM_PRESENT)
    }

    pub(crate) fn swapped(&self) -> Option<bool> {
        self.bit(PM_SWAPPED)
    }

    pub fn file_backed(&self) -> Option<bool> {
        self.bit(PM_FILE)
    }

    pub(crate) fn exclusive(&self) -> Option<bool> {
        self.bit(PM_EXCLUSIVE)
    }

    /// The PFN when present and readable (non-zero).
    pub(crate) fn pfn(&self) -> Option<u64> {
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

/// The state of one page as reported: geometry plus the kernel's answers, decoded, and
/// whether this tool wrote it since the last msync. Serialized as a run of the report's
/// `pages` (the fields in the order the README documents them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PageState {
    #[serde(flatten)]
    pub geom: PageGeom,
    pub resident: Option<bool>,
    pub present: Option<bool>,
    pub swapped: Option<bool>,
    pub file_backed: Option<bool>,
    pub exclusive: Option<bool>,
    /// The forked child maps this very page too (`null` without a child).
    pub shared_with_child: Option<bool>,
    /// A MAP_PRIVATE page we hold a private copy of: present and not file-backed.
    pub cow: Option<bool>,
    /// The file's page-cache page at this offset is dirty (cachestat, else kpageflags).
    pub dirty: Option<bool>,
    pub writeback: Option<bool>,
    pub soft_dirty: Option<bool>,
    /// Written by this tool since the last msync that covered it (our own knowledge, not the
    /// kernel's; never set by a probe).
    pub edited: bool,
    pub folio_pages: Option<u64>,
    /// Page tables mapping the page (`/proc/kpagecount`, root).
    pub mapcount: Option<u64>,
    /// Part of a PMD-mapped huge page (PAGEMAP_SCAN PAGE_IS_HUGE).
    pub thp: Option<bool>,
    /// The raw kpageflags word (names via `kflag_names`).
    #[serde(serialize_with = "kflags_json")]
    pub kflags: Option<u64>,
}

/// kpageflags as the report lists them: the names of the set bits, or `null`.
fn kflags_json<S: serde::Serializer>(kflags: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&kflags.map(kflag_names), s)
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
        // Without mincore (another process's address space): a file page is resident when
        // cachestat counts it in the cache; an anonymous page when it is present.
        let resident = probe.resident.or(if ctx.file_mapping {
            probe.cache.map(|c| c.nr_cache > 0)
        } else {
            present
        });
        Self {
            geom,
            resident,
            present,
            swapped: probe.swapped(),
            file_backed,
            exclusive: probe.exclusive(),
            shared_with_child: probe
                .pagemap
                .zip(probe.child)
                .map(|(ours, child)| shared_pages(ours, child)),
            cow,
            dirty,
            writeback,
            soft_dirty: if ctx.soft_dirty {
                probe.bit(PM_SOFT_DIRTY)
            } else {
                None
            },
            edited: false,
            folio_pages: probe.folio_pages,
            mapcount: probe.mapcount,
            thp: probe.huge,
            kflags: probe.kflags,
        }
    }
}

/// A run of consecutive pages with equal state (a run of the report's `pages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StateRun {
    pub first: u64,
    pub count: u64,
    #[serde(flatten)]
    pub state: PageState,
}

/// How each source of page state answers on this machine, as said in the report's `sources`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
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
    pagemap: Result<Pagemap, SysError>,
    kpageflags: Result<File, SysError>,
    pfn_readable: bool,
    soft_dirty: Result<(), String>,
    /// Find page-table entries with the PAGEMAP_SCAN ioctl where the kernel has it.
    pagemap_scan: bool,
    /// The PAGEMAP_SCAN ioctl answered when tried (Linux >= 6.7).
    scan_works: bool,
    /// `/proc/kpagecount` (root only).
    kpagecount: Result<File, SysError>,
    /// The forked child, whose pagemap tells what it still shares with us.
    child: Option<ChildView>,
}

/// The forked child as the prober sees it: where its copy of the mapping lies, and its pagemap
/// (`None` when it could not be opened).
#[derive(Debug)]
struct ChildView {
    spec: ChildSpec,
    pagemap: Option<Pagemap>,
}

/// The child's pagemap words for pages `[first, first + count)` of our mapping: the same pages
/// of its copy (page i of ours is page i of its copy: offsets never change, and mremap keeps
/// them), 0 past its copy's end (and everywhere once our mapping is another object). `None`
/// when its pagemap cannot be read (it has ended).
pub(crate) fn child_words(
    pagemap: &Pagemap,
    spec: ChildSpec,
    page_size: u64,
    first: u64,
    count: u64,
) -> Option<Vec<u64>> {
    let mut out = vec![0; usize::try_from(count).ok()?];
    let n = if spec.same_object {
        spec.pages.saturating_sub(first).min(count)
    } else {
        0
    };
    if n > 0 {
        let mut words = Vec::new();
        read_words(pagemap, (spec.addr / page_size + first) * 8, n, &mut words).ok()?;
        out[..words.len()].copy_from_slice(&words);
    }
    Some(out)
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
    let scratch = Region::open(&MapRequest::anon(
        crate::sys::map::region::page_size(),
        MapMode::Private,
    ))
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
        let pagemap =
            Pagemap::of_self().map_err(|e| SysError::from_io(&e, "open /proc/self/pagemap"));
        // A local on our stack is certainly present: a zero PFN for it means PFNs are hidden.
        let probe_local = 0u8;
        let addr = std::ptr::addr_of!(probe_local) as u64;
        let ps = crate::sys::map::region::page_size();
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
        let page = addr / ps * ps;
        let scan_works = pagemap.as_ref().is_ok_and(|f| {
            let mut one = [PageRegion::default(); 1];
            f.scan(page, page + ps, PAGE_IS_PRESENT, PAGE_IS_PRESENT, &mut one)
                .is_ok()
        });
        let kpagecount = File::open("/proc/kpagecount")
            .map_err(|e| SysError::from_io(&e, "open /proc/kpagecount"));
        Self {
            pagemap,
            kpageflags,
            pfn_readable,
            soft_dirty,
            pagemap_scan: true,
            scan_works,
            kpagecount,
            child: None,
        }
    }

    /// Follows the forked child (`None`: there is none now): its pagemap is opened once per
    /// child, and its copy's place updated.
    pub fn follow_child(&mut self, spec: Option<ChildSpec>) {
        match (spec, &mut self.child) {
            (None, _) => self.child = None,
            (Some(s), Some(view)) if view.spec.pid == s.pid => view.spec = s,
            (Some(s), _) => {
                self.child = Some(ChildView {
                    spec: s,
                    pagemap: Pagemap::of(s.pid).ok(),
                });
            }
        }
    }

    /// The child's pagemap words for `count` pages from page `first` (see `child_words`).
    fn child_words(&self, page_size: u64, first: u64, count: u64) -> Option<Vec<u64>> {
        let view = self.child.as_ref()?;
        child_words(view.pagemap.as_ref()?, view.spec, page_size, first, count)
    }

    /// The child's word for a page we have no page-table entry for: whatever it maps, we do
    /// not share it, so its word is not read (0); `None` without a readable child.
    fn child_hole(&self) -> Option<u64> {
        self.child
            .as_ref()
            .filter(|v| v.pagemap.is_some())
            .map(|_| 0)
    }

    /// Whether the PAGEMAP_SCAN ioctl answers here (and is not switched off).
    fn scan_usable(&self) -> bool {
        self.pagemap_scan && self.scan_works && self.pagemap.is_ok()
    }

    /// How many pages of `region` are present in its page tables: PAGEMAP_SCAN over the whole
    /// mapping (one page-table walk that skips what is not mapped, whatever the size); without
    /// it, pagemap words of at most its first 2^20 pages. `None`: pagemap unreadable.
    pub(crate) fn present_count(&self, region: &dyn Mapped) -> Option<u64> {
        let ps = region.page_size();
        let (start, end) = (region.addr(), region.addr() + region.map_bytes());
        if !self.scan_usable() {
            let mut words = Vec::new();
            let n = region.pages().min(1 << 20);
            self.pagemap_words(region, 0, n, &mut words).ok()?;
            return Some(words.iter().filter(|w| *w & PM_PRESENT != 0).count() as u64);
        }
        let file = self.pagemap.as_ref().ok()?;
        let mut buf = [PageRegion::default(); 256];
        let (mut at, mut pages) = (start, 0);
        while at < end {
            let (n, walk_end) = file
                .scan(at, end, PAGE_IS_PRESENT, PAGE_IS_PRESENT, &mut buf)
                .ok()?;
            pages += buf[..n]
                .iter()
                .map(|r| (r.end.min(end) - r.start.max(start)) / ps)
                .sum::<u64>();
            if n < buf.len() || walk_end >= end || walk_end <= at {
                break;
            }
            at = walk_end;
        }
        Some(pages)
    }

    /// For `count` pages from page `first`: part of a PMD-mapped huge page (PAGEMAP_SCAN
    /// PAGE_IS_HUGE, which also covers hugetlb pages); `None` without the ioctl.
    fn huge_flags(&self, region: &dyn Mapped, first: u64, count: u64) -> Option<Vec<bool>> {
        if !self.scan_usable() {
            return None;
        }
        let file = self.pagemap.as_ref().ok()?;
        let ps = region.page_size();
        let start = region.addr() + first * ps;
        let end = start + count * ps;
        let mut flags = vec![false; usize::try_from(count).ok()?];
        let mut buf = [PageRegion::default(); 64];
        let mut at = start;
        while at < end {
            let (n, walk_end) = file
                .scan(at, end, PAGE_IS_HUGE, PAGE_IS_HUGE, &mut buf)
                .ok()?;
            for r in &buf[..n] {
                let lo = (r.start.max(start) - start) / ps;
                let hi = (r.end.min(end) - start).div_ceil(ps);
                flags[lo as usize..hi as usize].fill(true);
            }
            if n < buf.len() || walk_end >= end || walk_end <= at {
                break;
            }
            at = walk_end;
        }
        Some(flags)
    }

    /// `/proc/kpagecount` at the PFN of each probe that has one, read in merged windows of
    /// PFNs (as `add_kflags` does).
    fn add_mapcount(&self, probes: &mut [PageProbe]) {
        let Ok(file) = self.kpagecount.as_ref() else {
            return;
        };
        if !self.pfn_readable {
            return;
        }
        let order = pfn_order(probes);
        let mut words = Vec::new();
        for (start, end, at) in pfn_windows(&order) {
            if read_words(file, start * 8, end - start, &mut words).is_ok() {
                for &(pfn, i) in &order[at] {
                    probes[i].mapcount = Some(words[(pfn - start) as usize]);
                }
            }
        }
    }

    /// What the lab adds to probes of `count` pages from page `first`: map counts, huge-page
    /// mapping, and the child's words.
    fn add_extras(&self, region: &dyn Mapped, first: u64, probes: &mut [PageProbe]) {
        self.add_mapcount(probes);
        let count = probes.len() as u64;
        if let Some(huge) = self.huge_flags(region, first, count) {
            for (p, h) in probes.iter_mut().zip(huge) {
                p.huge = Some(h);
            }
        }
        // The forked child keeps our own mapping only.
        if let Some(words) = self
            .child_words(region.page_size(), first, count)
            .filter(|_| region.ours())
        {
            for (p, w) in probes.iter_mut().zip(words) {
                p.child = Some(w);
            }
        }
    }

    /// A prober for another process's pages: its pagemap as its handle opened it (the same
    /// memory, whatever the pid names later), with what `self` found about this machine
    /// (PFNs, kpageflags, soft-dirty: the same for every process).
    ///
    /// # Errors
    /// The pagemap descriptor could not be duplicated.
    pub fn for_handle(
        &self,
        handle: &crate::sys::attach::handle::ProcessHandle,
    ) -> Result<Self, SysError> {
        let pagemap = Pagemap::from(handle.pagemap()?);
        Ok(Self {
            pagemap: Ok(pagemap),
            kpageflags: match &self.kpageflags {
                Ok(f) => f
                    .try_clone()
                    .map_err(|e| SysError::from_io(&e, "dup /proc/kpageflags")),
                Err(e) => Err(e.clone()),
            },
            pfn_readable: self.pfn_readable,
            soft_dirty: self.soft_dirty.clone(),
            pagemap_scan: self.pagemap_scan,
            scan_works: self.scan_works,
            kpagecount: match &self.kpagecount {
                Ok(f) => f
                    .try_clone()
                    .map_err(|e| SysError::from_io(&e, "dup /proc/kpagecount")),
                Err(e) => Err(e.clone()),
            },
            child: None,
        })
    }

    /// This prober without the PAGEMAP_SCAN ioctl: scans read pagemap as on kernels before
    /// 6.7 (to compare the two ways, or to measure them).
    #[must_use]
    pub fn without_pagemap_scan(mut self) -> Self {
        self.pagemap_scan = false;
        self
    }

    /// Whether kpageflags answers (root, and PFNs readable).
    pub fn kpageflags_readable(&self) -> bool {
        self.pfn_readable && self.kpageflags.is_ok()
    }

    fn ctx(&self, region: &dyn Mapped) -> DecodeCtx {
        DecodeCtx {
            mode: region.mode(),
            file_mapping: region.page_cache_file(),
            soft_dirty: self.soft_dirty.is_ok(),
            always_dirty: region.always_dirty(),
        }
    }

    /// Whether cachestat answers for this region's file: `Err` says why not.
    pub fn cachestat_support(region: &dyn Mapped) -> Result<(), String> {
        let explain = |e: SysError| {
            if e.errno == libc::ENOSYS {
                "n/a: this kernel has no cachestat(2) (Linux >= 6.5)".to_string()
            } else if e.errno == libc::EBADF {
                format!("n/a: {}", e.explanation)
            } else {
                format!("n/a: {e}")
            }
        };
        match region.file_kind() {
            // No file to ask: anonymous memory, or a file we could not open (the error says).
            None => Err(region
                .cachestat(0, 1)
                .err()
                .map_or_else(|| "n/a: no file".to_string(), explain)),
            Some(kind) if !kind.page_cache() => {
                Err("n/a: /dev/zero has no page cache (its pages are anonymous or shmem)".into())
            }
            Some(_) => region.cachestat(0, 1).map(|_| ()).map_err(explain),
        }
    }

    /// What each source says about its availability for `region`.
    pub fn sources(&self, region: &dyn Mapped) -> Sources {
        let mincore = if region.pid() != crate::sys::proc::maps::Pid::Myself {
            "n/a: mincore sees only our own address space; resident comes from cachestat (file \
             pages) or from present (anonymous pages)"
                .to_string()
        } else if region.page_cache_file() && !region.may_write() {
            "ok (file not writable by us: since Linux 5.2 mincore reports only pages mapped by us)"
                .to_string()
        } else if let Some(end) = region
            .shmem_end()
            .map(|e| e.min(region.pages()))
            .filter(|&e| e > SHMEM_MINCORE_PAGES)
        {
            format!(
                "ok where our page tables have an entry and on the shmem object's first {} \
                 pages; on its other {} pages without an entry it is not asked (resident \
                 null): mincore looks each page up in the object, a cost per page whatever is \
                 in memory",
                crate::text::thousands(SHMEM_MINCORE_PAGES),
                crate::text::thousands(end - SHMEM_MINCORE_PAGES)
            )
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
        region: &dyn Mapped,
        first: u64,
        count: u64,
        out: &mut Vec<u64>,
    ) -> Result<(), SysError> {
        let file = self.pagemap.as_ref().map_err(Clone::clone)?;
        let pos = (region.addr() / region.page_size() + first) * 8;
        read_words(file, pos, count, out).map_err(|e| {
            // pagemap_read returns 0 (end of file) once the process's mm is gone.
            if e.kind() == std::io::ErrorKind::UnexpectedEof && region.pid() != Pid::Myself {
                SysError::new(
                    libc::ESRCH,
                    "read pagemap",
                    "the process has exited (its pagemap reads as empty)",
                )
            } else {
                SysError::from_io(&e, "read pagemap")
            }
        })
    }

    /// The runs of pages of `[first, end)` of `region` that have a page-table entry (present
    /// or swapped), as `(first, end)` page pairs in order, appended to `out`, from one
    /// PAGEMAP_SCAN ioctl (a walk of the page tables alone: empty ones cost next to nothing,
    /// whatever the range's size). Returns the page the walk reached: `end`, or less when
    /// more runs were found than one call returns (call again from there).
    ///
    /// # Errors
    /// ENOTTY where the ioctl is missing (before Linux 6.7) or switched off
    /// (`without_pagemap_scan`); ESRCH once the process has exited; pagemap unreadable.
    pub fn entry_runs(
        &self,
        region: &dyn Mapped,
        first: u64,
        end: u64,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<u64, SysError> {
        if !self.scan_usable() {
            return Err(SysError::new(
                libc::ENOTTY,
                "PAGEMAP_SCAN",
                "no PAGEMAP_SCAN ioctl here (Linux >= 6.7): pagemap is read page by page",
            ));
        }
        let file = self.pagemap.as_ref().map_err(Clone::clone)?;
        let ps = region.page_size();
        let (start, stop) = (region.addr() + first * ps, region.addr() + end * ps);
        let mut buf = [PageRegion::default(); 64];
        let (n, walk_end) = file
            .scan(
                start,
                stop,
                PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                &mut buf,
            )
            .map_err(|e| SysError::from_io(&e, "PAGEMAP_SCAN"))?;
        for r in &buf[..n] {
            let lo = (r.start.max(start) - region.addr()) / ps;
            let hi = (r.end.min(stop) - region.addr()).div_ceil(ps);
            match out.last_mut() {
                // Present and swapped runs side by side are one run of entries.
                Some(last) if last.1 == lo => last.1 = hi,
                _ if lo < hi => out.push((lo, hi)),
                _ => {}
            }
        }
        let reached = if n < buf.len() {
            end
        } else {
            (walk_end.clamp(start, stop) - region.addr()) / ps
        };
        Ok(reached)
    }

    /// kpageflags words for `count` consecutive PFNs from `pfn`, in one read.
    fn kflags_words(&self, pfn: u64, count: u64, out: &mut Vec<u64>) -> Option<()> {
        let file = self.kpageflags.as_ref().ok()?;
        read_words(file, pfn * 8, count, out).ok()
    }

    /// The folio holding `pfn` as `(head PFN, pages)`, from COMPOUND_HEAD/TAIL around it.
    /// Reads in windows that double from 16 words, so a small folio costs a small read.
    fn folio_extent(&self, pfn: u64, flags: u64) -> Option<(u64, u64)> {
        if flags & (KPF_COMPOUND_HEAD | KPF_COMPOUND_TAIL) == 0 {
            return Some((pfn, 1));
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
            let run = words.iter().take_while(|w| is_tail(**w)).count() as u64;
            tails += run;
            if run < n || tails + 1 >= MAX_FOLIO_PAGES {
                return Some((head, 1 + tails));
            }
            n = (n * 2).min(MAX_FOLIO_PAGES);
        }
    }

    /// kpageflags and folio sizes for the probes that have a PFN. The PFNs are sorted and read
    /// in merged windows (one pread spans PFNs up to `KPF_GAP` apart), so scattered physical
    /// pages cost one read per cluster, not one per page; a folio is measured inside the
    /// window that holds it, and looked up around its PFN only where a window cuts it.
    fn add_kflags(&self, probes: &mut [PageProbe]) {
        if !self.kpageflags_readable() {
            return;
        }
        let order = pfn_order(probes);
        let mut words = Vec::new();
        // Folios measured by lookups, as (head, pages): the next PFNs are often in them.
        let mut looked_up: Vec<(u64, u64)> = Vec::new();
        for (start, end, at) in pfn_windows(&order) {
            // One word more than wanted: a folio that ends with the window is then seen to end.
            if self
                .kflags_words(start, end + 1 - start, &mut words)
                .is_none()
                && self.kflags_words(start, end - start, &mut words).is_none()
            {
                continue;
            }
            let sizes = folio_sizes_in(&words);
            for &(pfn, i) in &order[at] {
                let at = (pfn - start) as usize;
                let flags = words[at];
                probes[i].kflags = Some(flags);
                probes[i].folio_pages = sizes[at].or_else(|| {
                    if let Some(&(_, n)) = looked_up
                        .iter()
                        .find(|(head, n)| (*head..head + n).contains(&pfn))
                    {
                        return Some(n);
                    }
                    let (head, n) = self.folio_extent(pfn, flags)?;
                    looked_up.push((head, n));
                    Some(n)
                });
            }
        }
    }

    /// All sources for `count` pages from page `first`: mincore, pagemap, cachestat per page,
    /// kpageflags; in that order of calls.
    pub fn probe(&self, region: &dyn Mapped, first: u64, count: u64) -> Vec<PageProbe> {
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
                mapcount: None,
                huge: None,
                child: None,
            })
            .collect();
        self.add_kflags(&mut probes);
        self.add_extras(region, first, &mut probes);
        probes
    }

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
            touch,
            cachestat,
            mincore_is_cache: region.page_cache_file() && region.may_write(),
            mincore_trusted: region.may_write(),
            anon_private: !region.page_cache_file() && region.mode() == MapMode::Private,
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

    /// Decodes probes of pages from `first` of `region`.
    pub fn decode(
        &self,
        region: &dyn Mapped,
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

/// Mappings up to this many pages are probed page by page for the minimap (mincore and
/// pagemap of the whole mapping: microseconds); larger ones with one cachestat call per chunk.
pub(crate) const EXACT_MINIMAP_PAGES: u64 = 4096;

/// Anonymous mappings up to this many pages get mincore per chunk; larger ones say `?`.
const ANON_MINIMAP_PAGES: u64 = 1 << 20;

/// Most chunks a mapping is cut into for the minimap: more than a terminal has columns (a cell
/// is a few whole chunks), few enough that a pass over a sparse file costs well under a
/// millisecond.
pub(crate) const MINIMAP_CHUNKS: u64 = 1024;

/// The largest page-cache folio: a PMD, 2 MiB with 4 KiB pages on x86_64 and arm64
/// (MAX_PAGECACHE_ORDER, include/linux/pagemap.h). A write or an msync dirties or cleans whole
/// folios, so what it changes may reach this far past the pages it names.
pub const LARGEST_FOLIO_BYTES: u64 = 2 << 20;

/// How the minimap cuts a mapping into chunks of consecutive pages: by the mapping's size alone,
/// not by the terminal's, so that what is known survives a resize. Chunk `i` holds the pages
/// from `i * pages / count` to `(i + 1) * pages / count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Chunks {
    pub(crate) pages: u64,
    pub count: u64,
}

impl Chunks {
    /// The chunks of a mapping of `pages` pages: one per page, up to `MINIMAP_CHUNKS`.
    pub fn of(pages: u64) -> Self {
        Self {
            pages,
            count: pages.min(MINIMAP_CHUNKS),
        }
    }

    /// First page of chunk `i` (`pages` for `i == count`).
    pub fn first(&self, i: u64) -> u64 {
        let at = u128::from(i) * u128::from(self.pages) / u128::from(self.count.max(1));
        u64::try_from(at).unwrap_or(u64::MAX)
    }

    /// First page and page count of chunk `i`.
    pub fn range(&self, i: u64) -> (u64, u64) {
        let first = self.first(i);
        (first, self.first(i + 1).saturating_sub(first))
    }

    /// The chunk holding `page` (the last chunk for a page past the end).
    pub fn chunk_of(&self, page: u64) -> u64 {
        if self.pages == 0 {
            return 0;
        }
        let page = u128::from(page.min(self.pages - 1));
        // The largest i with first(i) <= page, that is i * pages < (page + 1) * count.
        let i = ((page + 1) * u128::from(self.count) - 1) / u128::from(self.pages);
        u64::try_from(i).unwrap_or(u64::MAX)
    }
}

/// Which chunks a refresh probes, and for how long: the work of one refresh is bounded by
/// time, whatever the size of the mapping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkAsk {
    /// Chunk indexes, most wanted first.
    pub order: Vec<u64>,
    /// The first `at_least` chunks of `order` are probed whatever the time; then the first
    /// `urgent` until `urgent_budget` is spent, the others until `budget` is.
    pub at_least: usize,
    pub urgent: usize,
    pub urgent_budget: Duration,
    pub budget: Duration,
    /// Ask cachestat about the whole mapping first, then about halves (cheap when little of it
    /// is cached, as the asker believes): a range with nothing cached answers for all its
    /// chunks at once, and every chunk is answered in a few calls. Of two halves, the one
    /// without `order[0]` (the cursor's chunk, near which readahead put what is cached) is
    /// asked and the other is the rest.
    pub whole_first: bool,
}

/// The most page-cache entries (cached pages, shadows of evicted ones) a mapping may hold for
/// `ChunkAsk::whole_first` to be worth it: each level of halving walks them once (this many
/// cost ~0.1 ms a level).
pub const WHOLE_FIRST_PAGES: u64 = 4096;

/// The chunks probed at one refresh.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkSlice {
    /// How the mapping was cut, from the geometry of this refresh.
    pub layout: Chunks,
    /// Chunk index and state, in the order probed.
    pub probed: Vec<(u64, Bucket)>,
}

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
    /// Pages evicted from the page cache whose shadow entries the kernel keeps (cachestat
    /// `nr_evicted`): a cachestat over the range walks them as it walks cached pages. `None`
    /// where cachestat was not asked about the range itself.
    pub evicted: Option<u64>,
}

impl Bucket {
    /// No pages yet, every count known (0): where a sum starts.
    pub const EMPTY: Bucket = Bucket {
        first: 0,
        pages: 0,
        resident: Some(0),
        present: Some(0),
        dirty: Some(0),
        cow: Some(0),
        beyond_eof: 0,
        evicted: Some(0),
    };

    /// Adds the state counts of `other` to ours; a count either side has no answer for
    /// becomes `None`. Which pages the sum covers is the caller's to say.
    pub fn add_counts(&mut self, other: &Bucket) {
        let add = |a: Option<u64>, b: Option<u64>| Some(a? + b?);
        self.resident = add(self.resident, other.resident);
        self.present = add(self.present, other.present);
        self.dirty = add(self.dirty, other.dirty);
        self.cow = add(self.cow, other.cow);
        self.evicted = add(self.evicted, other.evicted);
    }
}

/// What the buckets of one refresh are read from, set up once.
struct BucketSource<'a> {
    region: &'a dyn Mapped,
    geometry: &'a Geometry,
    ctx: DecodeCtx,
    /// A file with a page cache.
    file: bool,
    /// cachestat answers for the file.
    cachestat: bool,
    /// mincore and pagemap of the whole mapping, when it is small.
    core: Option<Vec<u8>>,
    words: Option<Vec<u64>>,
    /// One cachestat over the whole (small) mapping found no dirty page: no call per chunk.
    clean: bool,
    /// Every chunk's cachestat, found by halving the mapping (`ChunkAsk::whole_first`).
    halved: Option<Vec<CacheStat>>,
}

impl<'a> BucketSource<'a> {
    fn new(
        prober: &Prober,
        region: &'a dyn Mapped,
        geometry: &'a Geometry,
        ask: &ChunkAsk,
    ) -> Self {
        let pages = geometry.pages();
        let file = region.page_cache_file();
        let cachestat = file && Prober::cachestat_support(region).is_ok();
        let exact = pages <= EXACT_MINIMAP_PAGES;
        let mut core = Vec::new();
        let mut words = Vec::new();
        let core = (exact && region.mincore(0, pages, &mut core).is_ok()).then_some(core);
        let words =
            (exact && prober.pagemap_words(region, 0, pages, &mut words).is_ok()).then_some(words);
        // A small mapping: the call is cheap, and mincore says the rest.
        let whole = (cachestat && exact)
            .then(|| {
                region
                    .cachestat(region.offset(), pages * geometry.page_size)
                    .ok()
            })
            .flatten();
        let near = ask.order.first().copied().unwrap_or(0);
        let halved = (cachestat && !exact && ask.whole_first)
            .then(|| halved(region, geometry, near))
            .flatten();
        Self {
            region,
            geometry,
            ctx: prober.ctx(region),
            file,
            cachestat,
            core,
            words,
            clean: whole.is_some_and(|st| st.nr_dirty == 0),
            halved,
        }
    }

    /// The state of chunk `i`, `count` pages from `first`.
    fn bucket(&self, i: u64, first: u64, count: u64) -> Bucket {
        let (region, geometry) = (self.region, self.geometry);
        let ps = geometry.page_size;
        let end = first + count;
        let data_pages = geometry.data_bytes().div_ceil(ps);
        let beyond_eof = if geometry.file_size.is_some() {
            end.saturating_sub(first.max(data_pages))
        } else {
            0
        };
        let stat = if let Some(halved) = &self.halved {
            halved.get(i as usize).copied()
        } else if self.cachestat && !(self.clean && self.core.is_some()) {
            region
                .cachestat(region.offset() + first * ps, count * ps)
                .ok()
        } else {
            None
        };
        let range = first as usize..end as usize;
        let resident = if let Some(core) = &self.core {
            Some(core[range.clone()].iter().filter(|c| *c & 1 != 0).count() as u64)
        } else if let Some(st) = stat {
            // For a file, resident means in the page cache: what cachestat counts.
            Some(st.nr_cache.min(count))
        } else if !self.file && geometry.pages() <= ANON_MINIMAP_PAGES {
            let mut c = Vec::new();
            region
                .mincore(first, count, &mut c)
                .ok()
                .map(|()| c.iter().filter(|x| *x & 1 != 0).count() as u64)
        } else {
            None
        };
        let (present, cow) = match &self.words {
            Some(words) => {
                let words = &words[range];
                let present = words.iter().filter(|w| *w & PM_PRESENT != 0).count() as u64;
                let cow = (first..end)
                    .zip(words)
                    .filter(|(page, w)| {
                        let p = PageProbe {
                            pagemap: Some(**w),
                            ..PageProbe::default()
                        };
                        PageState::decode(geometry.page(*page), p, self.ctx).cow == Some(true)
                    })
                    .count() as u64;
                (Some(present), Some(cow))
            }
            None => (None, None),
        };
        let dirty = if self.clean {
            Some(0)
        } else {
            stat.map(|st| st.nr_dirty.min(count))
        };
        Bucket {
            first,
            pages: count,
            resident,
            present,
            dirty,
            cow,
            beyond_eof,
            evicted: stat.map(|st| st.nr_evicted),
        }
    }
}

/// The cachestat of every chunk of the mapping, by halving: one call for the whole, then for
/// one half of each range that holds page-cache entries (the one without chunk `near`; the
/// other is the rest), down to single chunks; a range with none answers for all its chunks.
/// Each call costs in proportion to the entries it walks: cached folios and the shadows of
/// evicted pages. `None` when there are more than `WHOLE_FIRST_PAGES` (asking chunk by chunk
/// within the time budget costs less then) or a call fails.
fn halved(region: &dyn Mapped, geometry: &Geometry, near: u64) -> Option<Vec<CacheStat>> {
    let layout = Chunks::of(geometry.pages());
    let ps = geometry.page_size;
    let stat = |lo: u64, hi: u64| {
        let (first, end) = (layout.first(lo), layout.first(hi));
        region
            .cachestat(region.offset() + first * ps, (end - first) * ps)
            .ok()
    };
    let whole = stat(0, layout.count)?;
    if whole.nr_cache + whole.nr_evicted > WHOLE_FIRST_PAGES {
        return None;
    }
    let mut out = vec![CacheStat::default(); usize::try_from(layout.count).ok()?];
    let mut ranges = vec![(0, layout.count, whole)];
    while let Some((lo, hi, st)) = ranges.pop() {
        if st.nr_cache == 0 && st.nr_evicted == 0 {
            // No entry: nothing cached, dirty or under writeback.
            continue;
        }
        if hi - lo == 1 {
            out[lo as usize] = st;
            continue;
        }
        let mid = lo + (hi - lo) / 2;
        let (left, right) = if near < mid {
            let right = stat(mid, hi)?;
            (minus(st, right), right)
        } else {
            let left = stat(lo, mid)?;
            (left, minus(st, left))
        };
        ranges.push((lo, mid, left));
        ranges.push((mid, hi, right));
    }
    Some(out)
}

impl Prober {
    /// Probes chunks of the mapping in the order `ask` gives, until its time is spent: the
    /// minimap keeps the answers and asks for the stalest next, so a refresh costs the same on
    /// a huge cached file as on a small one. A small mapping is read page by page (mincore and
    /// pagemap of the whole mapping), a large file with one cachestat per chunk.
    pub fn chunks(&self, region: &dyn Mapped, geometry: &Geometry, ask: &ChunkAsk) -> ChunkSlice {
        let layout = Chunks::of(geometry.pages());
        let mut probed = Vec::new();
        if ask.order.is_empty() || layout.count == 0 {
            return ChunkSlice { layout, probed };
        }
        let source = BucketSource::new(self, region, geometry, ask);
        let start = Instant::now();
        // Halved, every answer is at hand already: no time to watch.
        let timed = source.halved.is_none();
        for (n, &i) in ask.order.iter().enumerate() {
            let limit = if n < ask.urgent {
                ask.urgent_budget
            } else {
                ask.budget
            };
            if timed && n >= ask.at_least && start.elapsed() >= limit {
                break;
            }
            if i < layout.count {
                let (first, count) = layout.range(i);
                probed.push((i, source.bucket(i, first, count)));
            }
        }
        ChunkSlice { layout, probed }
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

/// A tail page of a compound folio (and not a head: a head never carries both bits, but a
/// corrupt word must not extend a folio).
fn is_tail(flags: u64) -> bool {
    flags & KPF_COMPOUND_TAIL != 0 && flags & KPF_COMPOUND_HEAD == 0
}

/// Folio sizes for a window of kpageflags words of consecutive PFNs: a page that is no
/// compound page is a folio of 1; a head followed by its tails inside the window is measured
/// there. `None` where the window cuts the folio (tails before the first head, or tails that
/// reach the window's end): those need a lookup around the PFN.
fn folio_sizes_in(words: &[u64]) -> Vec<Option<u64>> {
    let mut sizes = vec![None; words.len()];
    let mut i = 0;
    while i < words.len() {
        if words[i] & (KPF_COMPOUND_HEAD | KPF_COMPOUND_TAIL) == 0 {
            sizes[i] = Some(1);
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < words.len() && is_tail(words[end]) {
            end += 1;
        }
        if words[i] & KPF_COMPOUND_HEAD != 0 && end < words.len() {
            sizes[i..end].fill(Some((end - i) as u64));
        }
        i = end;
    }
    sizes
}

// PAGEMAP_SCAN categories: include/uapi/linux/fs.h, Documentation/admin-guide/mm/pagemap.rst
/// The page is a file page (not anonymous).
const PAGE_IS_FILE: u64 = 1 << 2;
/// The page is present in the page tables.
const PAGE_IS_PRESENT: u64 = 1 << 3;
/// The page is swapped.
const PAGE_IS_SWAPPED: u64 = 1 << 4;
/// The page is PMD-mapped (a transparent huge page) or hugetlb.
const PAGE_IS_HUGE: u64 = 1 << 6;

/// Pages with a page-table entry of ours, `[first, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PteRange {
    first: u64,
    end: u64,
    /// Some page here is not the file's page-cache page (a private copy, anonymous memory, a
    /// swap entry): mincore there says nothing about the page cache.
    not_cache: bool,
}

/// Appends a range, merging it into the previous one when they touch and agree.
fn push_pte(out: &mut Vec<PteRange>, first: u64, end: u64, not_cache: bool) {
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
fn minus(a: CacheStat, b: CacheStat) -> CacheStat {
    CacheStat {
        nr_cache: a.nr_cache.saturating_sub(b.nr_cache),
        nr_dirty: a.nr_dirty.saturating_sub(b.nr_dirty),
        nr_writeback: a.nr_writeback.saturating_sub(b.nr_writeback),
        nr_evicted: a.nr_evicted.saturating_sub(b.nr_evicted),
        nr_recently_evicted: a.nr_recently_evicted.saturating_sub(b.nr_recently_evicted),
    }
}

/// Merges runs of equal state and hands each completed run to the sink.
struct RunSink<'a> {
    last: Option<StateRun>,
    sink: &'a mut dyn FnMut(StateRun) -> ControlFlow<()>,
    /// The sink asked to stop.
    stopped: bool,
}

impl RunSink<'_> {
    fn push(&mut self, first: u64, count: u64, state: PageState) {
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

    fn finish(&mut self) {
        if let Some(done) = self.last.take()
            && !self.stopped
        {
            self.stopped = (self.sink)(done).is_break();
        }
    }
}

struct Scan<'a> {
    prober: &'a Prober,
    region: &'a dyn Mapped,
    geometry: Geometry,
    ctx: DecodeCtx,
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
        if self.cachestat {
            self.forward(pages);
        } else if let Some(end) = self.region.shmem_end() {
            self.shmem_pass(pages, end.min(pages));
        } else if self.anon_private {
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
            resident: self.mincore_is_cache.then_some(cached),
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
        if !self.mincore_is_cache || self.not_cache_ptes_in(first, first + count) {
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
        if self.touch && (run.cached || (run.resident.is_none() && self.mincore_trusted)) {
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
        if self.touch && !had_ptes {
            // Without PAGEMAP_SCAN, a page may have an entry we did not know of: look first.
            let before_ok = !matches!(self.ptes, Ptes::Read { .. })
                || self
                    .prober
                    .pagemap_words(self.region, first, count, &mut words)
                    .is_ok();
            for (i, w) in wanted.iter_mut().enumerate() {
                let cached = run.cached
                    || (run.resident.is_none()
                        && self.mincore_trusted
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
        state.kflags = state.kflags.map(run_kflags);
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
fn overlapping(ranges: &[PteRange], first: u64, end: u64) -> impl Iterator<Item = &PteRange> {
    let from = ranges.partition_point(|r| r.end <= first);
    ranges[from..].iter().take_while(move |r| r.first < end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_tile_the_mapping_and_find_their_pages() {
        for pages in [1, 3, 1023, 1024, 1025, 4096, 5000, 1 << 28, (1 << 34) + 7] {
            let c = Chunks::of(pages);
            assert_eq!(c.count, pages.min(MINIMAP_CHUNKS));
            assert_eq!(c.first(0), 0);
            assert_eq!(c.first(c.count), pages);
            let mut end = 0;
            for i in 0..c.count {
                let (first, count) = c.range(i);
                assert_eq!(first, end, "{pages} pages, chunk {i}");
                assert!(count >= 1);
                assert_eq!(c.chunk_of(first), i);
                assert_eq!(c.chunk_of(first + count - 1), i);
                end = first + count;
            }
            assert_eq!(end, pages);
            assert_eq!(c.chunk_of(pages + 10), c.count - 1);
        }
        assert_eq!(Chunks::default().chunk_of(5), 0);
    }

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
    fn folios_inside_a_window_are_measured_without_lookups() {
        let (h, t) = (KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL);
        // A 4-page folio, a plain page, a 2-page folio, then the window ends inside a folio
        // (its tails reach the end) after a window that began with tails of an earlier one.
        let words = [t, t, h, t, t, t, 0, h, t, 0, h, t];
        let sizes = folio_sizes_in(&words);
        assert_eq!(
            sizes,
            [
                None,
                None,
                Some(4),
                Some(4),
                Some(4),
                Some(4),
                Some(1),
                Some(2),
                Some(2),
                Some(1),
                None,
                None
            ]
        );
        assert_eq!(folio_sizes_in(&[]), Vec::<Option<u64>>::new());
    }

    #[test]
    fn run_flags_leave_out_head_and_tail() {
        let (h, t) = (KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL);
        let lru = 1 << 5;
        assert_eq!(run_kflags(h | lru), run_kflags(t | lru));
        assert_eq!(run_kflags(h | lru), lru);
        assert!(!kflag_names(run_kflags(h | t | KPF_DIRTY)).contains(&"COMPOUND_HEAD".to_string()));
    }

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

    #[test]
    fn overlapping_ranges_are_found_by_bisection() {
        let r = |first, end| PteRange {
            first,
            end,
            not_cache: false,
        };
        let ranges = vec![r(0, 2), r(5, 9), r(20, 21)];
        let got: Vec<_> = overlapping(&ranges, 1, 6)
            .map(|p| (p.first, p.end))
            .collect();
        assert_eq!(got, vec![(0, 2), (5, 9)]);
        assert_eq!(overlapping(&ranges, 9, 20).count(), 0);
        assert_eq!(overlapping(&ranges, 20, 100).count(), 1);
        let mut merged = Vec::new();
        push_pte(&mut merged, 0, 2, false);
        push_pte(&mut merged, 2, 4, false);
        push_pte(&mut merged, 4, 5, true);
        push_pte(&mut merged, 7, 7, true);
        assert_eq!(
            merged,
            vec![
                r(0, 4),
                PteRange {
                    first: 4,
                    end: 5,
                    not_cache: true
                }
            ]
        );
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
    fn runs_merge_equal_neighbours_only_and_stop_when_asked() {
        let a = PageState::decode(geom(), PageProbe::default(), ctx(MapMode::Shared, true));
        let mut b = a;
        b.resident = Some(true);
        let mut runs = Vec::new();
        let mut sink = |run: StateRun| {
            runs.push(run);
            ControlFlow::Continue(())
        };
        let mut rb = RunSink {
            last: None,
            sink: &mut sink,
            stopped: false,
        };
        rb.push(0, 2, a);
        rb.push(2, 3, a);
        rb.push(5, 1, b);
        rb.push(6, 0, a);
        rb.push(7, 1, b); // not contiguous with the previous run: a new run
        rb.finish();
        let shape: Vec<_> = runs.iter().map(|r| (r.first, r.count)).collect();
        assert_eq!(shape, vec![(0, 5), (5, 1), (7, 1)]);

        let mut handed = 0;
        let mut stop = |_: StateRun| {
            handed += 1;
            ControlFlow::Break(())
        };
        let mut rb = RunSink {
            last: None,
            sink: &mut stop,
            stopped: false,
        };
        rb.push(0, 1, a);
        rb.push(1, 1, b);
        assert!(rb.stopped, "the sink said stop");
        rb.push(2, 1, a);
        rb.finish();
        assert_eq!(handed, 1, "nothing is handed on after a stop");
    }
}
