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
use std::os::unix::fs::FileExt;

use crate::geometry::Geometry;

use crate::sys::contain::children::ChildSpec;
use crate::sys::error::SysError;
use crate::sys::map::range::Mapped;
use crate::sys::map::region::{PageRegion, Pagemap, Region};
use crate::sys::map::request::{MapMode, MapRequest};
use crate::sys::probe::state::*;
use crate::sys::proc::maps::Pid;

/// Reads page state; opened once, reused on every refresh.
#[derive(Debug)]
pub struct Prober {
    pub(crate) pagemap: Result<Pagemap, SysError>,
    kpageflags: Result<File, SysError>,
    pfn_readable: bool,
    soft_dirty: Result<(), String>,
    /// Find page-table entries with the PAGEMAP_SCAN ioctl where the kernel has it.
    pub(crate) pagemap_scan: bool,
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
    pub(crate) pagemap: Option<Pagemap>,
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
        crate::sys::map::request::page_size(),
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
        let ps = crate::sys::map::request::page_size();
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
    pub(crate) fn child_hole(&self) -> Option<u64> {
        self.child
            .as_ref()
            .filter(|v| v.pagemap.is_some())
            .map(|_| 0)
    }

    /// Whether the PAGEMAP_SCAN ioctl answers here (and is not switched off).
    pub(crate) fn scan_usable(&self) -> bool {
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
    pub(crate) fn add_extras(&self, region: &dyn Mapped, first: u64, probes: &mut [PageProbe]) {
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

    /// This prober without kpageflags and kpagecount (root's folio sizes, map counts and
    /// kernel flags of each present page): `inspect --pid` of every VMA reads them only when
    /// asked (`--page-flags`), since they cost a read per cluster of physical pages, 90% of
    /// the system calls of a report of 1,000 VMAs.
    #[must_use]
    pub fn without_page_flags(mut self) -> Self {
        let off = SysError::new(
            libc::ENODATA,
            "kpageflags",
            "not read for every VMA unless asked: inspect --pid --page-flags (or --vma for one \
             VMA) reads it",
        );
        self.kpagecount = Err(off.clone());
        self.kpageflags = Err(off);
        self
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

    pub(crate) fn ctx(&self, region: &dyn Mapped) -> DecodeCtx {
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
}

impl Prober {
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
    pub(crate) fn add_kflags(&self, probes: &mut [PageProbe]) {
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

#[cfg(test)]
mod tests;
