//! One page's state as data: the pagemap and kpageflags bits read (`PM_*`, `KPF_*`,
//! PAGEMAP_SCAN's `PAGE_IS_*`), what the probes answered for a page (`PageProbe`) and what
//! that means (`PageState`, decoded with a `DecodeCtx`), the sources that could answer
//! (`Sources`), and the readers of pagemap words the probers share.

use std::fs::File;
use std::os::unix::fs::FileExt;

use procfs::PhysicalPageFlags;
use procfs::process::MemoryPageFlags;

use crate::geometry::PageGeom;

use crate::sys::map::region::CacheStat;

use crate::sys::map::request::MapMode;

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
pub(crate) const MAX_FOLIO_PAGES: u64 = 512;

/// Pages of a shmem object (shared anonymous memory, MAP_SHARED /dev/zero) a report asks
/// mincore about where our page tables have no entry (1 GiB of 4 KiB pages): mincore looks
/// each one up in the object, about as long as for a page of a cached file, so this bounds
/// that part of a report's cost whatever the mapping's size.
pub(crate) const SHMEM_MINCORE_PAGES: u64 = 1 << 18;

/// Pages of the smallest range a scan splits with cachestat (512 KiB); a mixed one is read
/// with one mincore.
pub(crate) const LEAF_PAGES: u64 = 128;

/// Pages probed one by one at a time (and, in a touching scan, faulted in at a time before
/// they are released again): a PMD-sized block, the largest folio looked for, so that (page-
/// cache folios being aligned to their size) no folio is cut by a chunk.
pub(crate) const CHUNK_PAGES: u64 = MAX_FOLIO_PAGES;

/// Pages per mincore call where a scan asks mincore for a long run (64 KiB of vector).
pub(crate) const MINCORE_WINDOW: u64 = 1 << 16;

/// Pages per pagemap read where a scan looks for page-table entries without PAGEMAP_SCAN
/// (128 KiB of words).
pub(crate) const PAGEMAP_WINDOW: u64 = 1 << 14;

/// The most kpageflags words one read spans when it merges PFNs into a window (32 KiB).
const KPF_WINDOW_MAX: u64 = 4096;

/// The largest gap between two wanted PFNs that one kpageflags read still spans: reading a
/// few words nobody asked for costs less than another pread.
const KPF_GAP: u64 = 16;

/// `(PFN, index)` of the probes that have a PFN, sorted by PFN.
pub(crate) fn pfn_order(probes: &[PageProbe]) -> Vec<(u64, usize)> {
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
pub(crate) fn pfn_windows(order: &[(u64, usize)]) -> Vec<(u64, u64, std::ops::Range<usize>)> {
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
pub(crate) fn runs_of(flags: &[bool]) -> Vec<(usize, usize)> {
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
/// `pages` (the parts flattened, their fields in the order docs/json.md documents them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PageState {
    #[serde(flatten)]
    pub geom: PageGeom,
    #[serde(flatten)]
    pub place: Place,
    #[serde(flatten)]
    pub writes: Writes,
    #[serde(flatten)]
    pub folio: FolioState,
}

/// Where the page is and who maps it: in memory, in our page tables, in swap, whose copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Place {
    pub resident: Option<bool>,
    pub present: Option<bool>,
    pub swapped: Option<bool>,
    pub file_backed: Option<bool>,
    pub exclusive: Option<bool>,
    /// The forked child maps this very page too (`null` without a child).
    pub shared_with_child: Option<bool>,
    /// A MAP_PRIVATE page we hold a private copy of: present and not file-backed.
    pub cow: Option<bool>,
}

/// What is known of writes to the page: the kernel's dirty, writeback and soft-dirty bits,
/// and our own edits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Writes {
    /// The file's page-cache page at this offset is dirty (cachestat, else kpageflags).
    pub dirty: Option<bool>,
    pub writeback: Option<bool>,
    pub soft_dirty: Option<bool>,
    /// Written by this tool since the last msync that covered it (our own knowledge, not the
    /// kernel's; never set by a probe).
    pub edited: bool,
}

/// The physical page in the kernel's own words: its folio, how many page tables map it, its
/// flags (root only, `null` otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct FolioState {
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
            place: Place {
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
            },
            writes: Writes {
                dirty,
                writeback,
                soft_dirty: if ctx.soft_dirty {
                    probe.bit(PM_SOFT_DIRTY)
                } else {
                    None
                },
                edited: false,
            },
            folio: FolioState {
                folio_pages: probe.folio_pages,
                mapcount: probe.mapcount,
                thp: probe.huge,
                kflags: probe.kflags,
            },
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

pub(crate) fn read_words(
    file: &File,
    pos: u64,
    count: u64,
    out: &mut Vec<u64>,
) -> std::io::Result<()> {
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
pub(crate) fn is_tail(flags: u64) -> bool {
    flags & KPF_COMPOUND_TAIL != 0 && flags & KPF_COMPOUND_HEAD == 0
}

/// Folio sizes for a window of kpageflags words of consecutive PFNs: a page that is no
/// compound page is a folio of 1; a head followed by its tails inside the window is measured
/// there. `None` where the window cuts the folio (tails before the first head, or tails that
/// reach the window's end): those need a lookup around the PFN.
pub(crate) fn folio_sizes_in(words: &[u64]) -> Vec<Option<u64>> {
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
pub(crate) const PAGE_IS_FILE: u64 = 1 << 2;
/// The page is present in the page tables.
pub(crate) const PAGE_IS_PRESENT: u64 = 1 << 3;
/// The page is swapped.
pub(crate) const PAGE_IS_SWAPPED: u64 = 1 << 4;
/// The page is PMD-mapped (a transparent huge page) or hugetlb.
pub(crate) const PAGE_IS_HUGE: u64 = 1 << 6;
