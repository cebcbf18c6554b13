//! Page-state probes: `mincore(2)` (resident) and `/proc/self/pagemap` (present, swapped,
//! file-backed, exclusive, soft-dirty, PFN) for a page range of our mapping, and the whole-mapping
//! scan behind `inspect`, whose cost grows with the cached pages and not with the file size.
//!
//! Probes run before any byte is copied out, so that looking does not change what is seen.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::geometry::{Geometry, PageGeom};

use super::error::SysError;
use super::region::{MapMode, Region, Target};

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

/// Pages read per pagemap / mincore call in a scan: 64 MiB of address space, 128 KiB of pagemap.
const LEAF_PAGES: u64 = 1 << 14;

/// The raw answers of the kernel for one page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageProbe {
    /// `mincore` bit 0; `None` when the call failed.
    pub resident: Option<bool>,
    /// The pagemap word; `None` when pagemap is unreadable.
    pub pagemap: Option<u64>,
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
}

impl PageState {
    /// Decodes a probe for a page of a mapping in `mode` backed by `target`.
    pub fn decode(geom: PageGeom, probe: PageProbe, mode: MapMode, file_mapping: bool) -> Self {
        let present = probe.present();
        let file_backed = probe.file_backed();
        let cow = match (mode, file_mapping, present, file_backed) {
            (MapMode::Private, true, Some(p), Some(f)) => Some(p && !f),
            (MapMode::Private, true, _, _) => None,
            _ => Some(false),
        };
        Self {
            geom,
            resident: probe.resident,
            present,
            swapped: probe.swapped(),
            file_backed,
            exclusive: probe.exclusive(),
            cow,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub mincore: String,
    pub pagemap: String,
    pub pfn: String,
}

/// Reads page state; opened once, reused on every refresh.
#[derive(Debug)]
pub struct Prober {
    pagemap: Result<File, SysError>,
    pfn_readable: bool,
}

impl Default for Prober {
    fn default() -> Self {
        Self::new()
    }
}

impl Prober {
    /// Opens `/proc/self/pagemap` and detects whether PFNs read as real numbers (CAP_SYS_ADMIN).
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
        Self {
            pagemap,
            pfn_readable,
        }
    }

    /// Whether PFNs (and so kpageflags) can be read by this process.
    pub fn pfn_readable(&self) -> bool {
        self.pfn_readable
    }

    /// What each source says about its availability.
    pub fn sources(&self, region: &Region) -> Sources {
        let mincore = match region.target() {
            Target::File {
                writable: false, ..
            } => "ok (file not writable by us: since Linux 5.2 mincore reports only pages mapped by us)"
                .to_string(),
            _ => "ok".to_string(),
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
        Sources {
            mincore,
            pagemap,
            pfn,
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
        let ps = region.page_size();
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        let mut bytes = vec![0u8; n * 8];
        let pos = (region.addr() / ps + first) * 8;
        file.read_exact_at(&mut bytes, pos)
            .map_err(|e| SysError::from_io(&e, "read /proc/self/pagemap"))?;
        out.clear();
        out.extend(
            bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())),
        );
        Ok(())
    }

    /// mincore and pagemap for `count` pages from page `first`, in that order of calls.
    pub fn probe(&self, region: &Region, first: u64, count: u64) -> Vec<PageProbe> {
        let mut core = Vec::new();
        let resident_ok = region.mincore(first, count, &mut core).is_ok();
        let mut words = Vec::new();
        let words_ok = self.pagemap_words(region, first, count, &mut words).is_ok();
        (0..count as usize)
            .map(|i| PageProbe {
                resident: resident_ok.then(|| core[i] & 1 != 0),
                pagemap: words_ok.then(|| words[i]),
            })
            .collect()
    }

    /// Probes every page of the mapping and returns runs of equal state.
    ///
    /// Only what can hold resident pages is examined page by page: for a file mapping, cachestat
    /// over large ranges finds the cached parts first and the scan splits only where the answer
    /// says there is something. With `touch`, pages that mincore reports resident are faulted in
    /// (MADV_POPULATE_READ under MADV_RANDOM, so no readahead or disk I/O starts) so that
    /// pagemap can describe them.
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
        let file_mapping = matches!(region.target(), Target::File { .. });
        // Pruning with cachestat is exact only when every resident page of ours is a page of the
        // file's page cache: not for anonymous memory, private copies, or swapped pages.
        let prune = file_mapping && !anon_pages && !swap && region.cachestat(0, 1).is_ok();
        if touch {
            // Best effort: MADV_RANDOM keeps the fault-ins below from starting readahead.
            let _ = region.madvise(0, region.pages(), rustix::mm::Advice::Random);
        }
        let mut scan = Scan {
            prober: self,
            region,
            geometry,
            file_mapping,
            touch,
            swap,
            prune,
            runs: RunBuilder::default(),
        };
        scan.range(0, region.pages());
        if touch {
            let _ = region.madvise(0, region.pages(), rustix::mm::Advice::Normal);
        }
        Ok(scan.runs.finish())
    }
}

struct Scan<'a> {
    prober: &'a Prober,
    region: &'a Region,
    geometry: Geometry,
    file_mapping: bool,
    touch: bool,
    swap: bool,
    prune: bool,
    runs: RunBuilder,
}

impl Scan<'_> {
    fn range(&mut self, first: u64, count: u64) {
        if count <= LEAF_PAGES {
            self.leaf(first, count);
            return;
        }
        if self.prune {
            let ps = self.region.page_size();
            let off = self.region.offset() + first * ps;
            if let Ok(stat) = self.region.cachestat(off, count * ps)
                && stat.nr_cache == 0
            {
                self.uniform(
                    first,
                    count,
                    PageProbe {
                        resident: Some(false),
                        pagemap: Some(0),
                    },
                );
                return;
            }
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
        let mut at = first;
        for run in self.geometry.runs() {
            let (lo, hi) = (run.first.max(at), (run.first + run.count).min(end));
            if lo < hi {
                let state =
                    PageState::decode(run.geom, probe, self.region.mode(), self.file_mapping);
                self.runs.push(lo, hi - lo, state);
                at = hi;
            }
        }
    }

    fn leaf(&mut self, first: u64, count: u64) {
        let mut core = Vec::new();
        let resident_ok = self.region.mincore(first, count, &mut core).is_ok();
        let any_resident = resident_ok && core.iter().any(|b| b & 1 != 0);
        if resident_ok && !any_resident && !self.swap {
            // Nothing resident and nothing swapped: no page-table entry can exist here.
            self.uniform(
                first,
                count,
                PageProbe {
                    resident: Some(false),
                    pagemap: Some(0),
                },
            );
            return;
        }
        if self.touch && any_resident {
            let mut i = 0usize;
            while i < core.len() {
                if core[i] & 1 == 0 {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < core.len() && core[i] & 1 != 0 {
                    i += 1;
                }
                // Errors (a page truncated meanwhile) just leave those pages not present.
                let _ = self
                    .region
                    .populate_read(first + start as u64, (i - start) as u64);
            }
        }
        let mut words = Vec::new();
        let words_ok = self
            .prober
            .pagemap_words(self.region, first, count, &mut words)
            .is_ok();
        for i in 0..count as usize {
            let probe = PageProbe {
                resident: resident_ok.then(|| core[i] & 1 != 0),
                pagemap: words_ok.then(|| words[i]),
            };
            let page = first + i as u64;
            let state = PageState::decode(
                self.geometry.page(page),
                probe,
                self.region.mode(),
                self.file_mapping,
            );
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

    #[test]
    fn pagemap_bits_decode() {
        let p = PageProbe {
            resident: Some(true),
            pagemap: Some(PM_PRESENT | PM_FILE | PM_EXCLUSIVE | 0x1234),
        };
        assert_eq!(p.present(), Some(true));
        assert_eq!(p.file_backed(), Some(true));
        assert_eq!(p.exclusive(), Some(true));
        assert_eq!(p.swapped(), Some(false));
        assert_eq!(p.pfn(), Some(0x1234));
        let hidden = PageProbe {
            resident: Some(true),
            pagemap: Some(PM_PRESENT),
        };
        assert_eq!(hidden.pfn(), None);
    }

    #[test]
    fn cow_is_private_present_and_not_file() {
        let copy = PageProbe {
            resident: Some(true),
            pagemap: Some(PM_PRESENT),
        };
        let file = PageProbe {
            resident: Some(true),
            pagemap: Some(PM_PRESENT | PM_FILE),
        };
        assert_eq!(
            PageState::decode(geom(), copy, MapMode::Private, true).cow,
            Some(true)
        );
        assert_eq!(
            PageState::decode(geom(), file, MapMode::Private, true).cow,
            Some(false)
        );
        assert_eq!(
            PageState::decode(geom(), copy, MapMode::Shared, true).cow,
            Some(false)
        );
        // Anonymous memory is never a copy of a file page.
        assert_eq!(
            PageState::decode(geom(), copy, MapMode::Private, false).cow,
            Some(false)
        );
    }

    #[test]
    fn run_builder_merges_equal_neighbours_only() {
        let a = PageState::decode(geom(), PageProbe::default(), MapMode::Shared, true);
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
