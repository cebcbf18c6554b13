//! Reading bytes only to look at them, so that looking changes nothing: which way each page is
//! read, and the read. The grid (`snapshot`) and the byte search (`search::job`) both read here.
//!
//! A page of our mapping that holds a file's page-cache page (present or not) is copied through
//! a window on the page cache (`Mapped::read_cached`: no readahead, nothing left mapped); our
//! own private copy of a page, and anonymous memory in our page tables, through the mapping
//! (present: no fault). A page that is nowhere in memory is not read (that would be disk I/O
//! or a swap-in), and untouched private anonymous memory reads as the zeros it would be. In
//! another process only present pages are read: a read of any other page would fault it in
//! there.

use std::cell::OnceCell;

use crate::geometry::Geometry;

use crate::sys::error::SysError;
use crate::sys::map::range::Mapped;
use crate::sys::map::request::MapMode;
use crate::sys::probe::state::{PM_FILE, PM_PRESENT, PM_SWAPPED, PageProbe};

/// What the kernel said about one page, as far as choosing how to read it goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// The pagemap word (present, swapped, file page); `None` where pagemap is unreadable.
    pub pagemap: Option<u64>,
    /// In the file's page cache (cachestat); `None` without a page-cache file or cachestat.
    pub cached: Option<bool>,
    /// mincore's bit: our pages, or a file's page cache where we may write the file (else
    /// every page of it reads as resident).
    pub resident: Option<bool>,
}

impl Facts {
    /// The facts in a page's probe.
    pub fn of(probe: &PageProbe) -> Self {
        Self {
            pagemap: probe.pagemap,
            cached: probe.cache.map(|c| c.nr_cache > 0),
            resident: probe.resident,
        }
    }

    fn bit(&self, mask: u64) -> Option<bool> {
        self.pagemap.map(|w| w & mask != 0)
    }
}

/// How one page is read so that reading it changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Through the mapping: the page is in its page tables (our private copy, anonymous
    /// memory, a present page of another process), or nothing says it is not.
    Mapping,
    /// From the file's page cache through a window (`Mapped::read_cached`): a page-cache page,
    /// mapped by us or not. The last page's padding after end of file reads as zeros there, as
    /// through a mapping.
    Cached,
    /// A private anonymous page never touched (or discarded) reads as zeros: mmap(2) fills it
    /// with zeros on first touch. Reading it would map the shared zero page.
    Zeros,
    /// Not read: it is not in memory (reading would be disk I/O or a swap-in), or, in another
    /// process, not present (reading would fault it in there).
    Unread,
    /// Nothing to read: beyond end of file.
    Skip,
}

impl How {
    /// Bytes come out of it.
    pub fn reads(self) -> bool {
        matches!(self, Self::Mapping | Self::Cached | Self::Zeros)
    }
}

/// How to read page `index` of `mapped`, from what the kernel said of it (`None`: nothing).
/// `swap`: whether swap could hold pages, read from /proc at most once (`limits`).
pub fn how(
    mapped: &dyn Mapped,
    geometry: &Geometry,
    index: u64,
    facts: Option<&Facts>,
    swap: &OnceCell<bool>,
) -> How {
    if geometry.page(index).beyond_eof {
        return How::Skip;
    }
    let Some(f) = facts else {
        return How::Mapping;
    };
    let present = f.bit(PM_PRESENT);
    if !mapped.ours() {
        return if present == Some(true) {
            How::Mapping
        } else {
            How::Unread
        };
    }
    if f.bit(PM_SWAPPED) == Some(true) {
        return How::Unread;
    }
    if present.is_none() {
        // Whether the page is in our page tables is unknown: through the mapping, unless
        // mincore says it is not in memory (the read would be disk I/O).
        return if f.resident == Some(false) {
            How::Unread
        } else {
            How::Mapping
        };
    }
    if mapped.page_cache_file() {
        // mincore says every page of a file we may not write is resident (mm/mincore.c
        // can_do_mincore), and cachestat refuses such a file (EPERM): then only the pages we
        // map are known to be in memory.
        let cached = f.cached.or(f.resident.filter(|_| mapped.may_write()));
        return match (present, f.bit(PM_FILE)) {
            // Our private copy: only the mapping holds it.
            (Some(true), Some(false)) => How::Mapping,
            // A file page we map is a page-cache page.
            (Some(true), _) => How::Cached,
            _ if cached == Some(true) => How::Cached,
            _ => How::Unread,
        };
    }
    if present == Some(true) {
        return How::Mapping;
    }
    if mapped.mode() == MapMode::Private {
        // Private anonymous memory, or a private mapping of /dev/zero.
        return How::Zeros;
    }
    // Shared anonymous memory is shmem: a page in memory but unmapped (DONTNEED) is read
    // through the mapping (a minor fault: no window reaches the hidden shmem file); one not in
    // memory is a hole, zeros, unless swap could hold it. Past the shmem object (a mapping
    // grown by mremap) a load would raise SIGBUS: the read fails with EFAULT (`??`),
    // allocating nothing.
    if mapped.shmem_end().is_some_and(|end| index >= end) {
        return How::Mapping;
    }
    match f.resident {
        Some(true) | None => How::Mapping,
        Some(false) if *swap.get_or_init(crate::sys::proc::limits::swap_configured) => How::Unread,
        Some(false) => How::Zeros,
    }
}

/// Copies bytes at offset `off` of `mapped` into `buf`, all of whose pages are read `how`;
/// returns how many (short where a page cannot be read), `None` where none.
pub fn read(mapped: &dyn Mapped, how: How, off: u64, buf: &mut [u8]) -> Option<usize> {
    match how {
        How::Mapping => mapped.read(off, buf).ok(),
        How::Cached => mapped.read_cached(off, buf),
        How::Zeros => {
            buf.fill(0);
            Some(buf.len())
        }
        How::Unread | How::Skip => None,
    }
}

/// Which of the `count` pages from page `first` of `mapped` are in its file's page cache,
/// into `out`: cachestat over the range, halved where only part of it is cached, so a range
/// all cached or all not costs one call.
///
/// # Errors
/// No file, no cachestat (ENOSYS before Linux 6.5), no permission.
pub fn cached_pages(
    mapped: &dyn Mapped,
    first: u64,
    count: u64,
    out: &mut Vec<bool>,
) -> Result<(), SysError> {
    let len = usize::try_from(count).unwrap_or(0);
    out.clear();
    out.resize(len, false);
    let ps = mapped.page_size();
    let mut todo = vec![(0, len)];
    while let Some((a, b)) = todo.pop() {
        let off = mapped.offset() + (first + a as u64) * ps;
        let cached = mapped.cachestat(off, (b - a) as u64 * ps)?.nr_cache;
        if cached == 0 {
            continue;
        }
        if cached >= (b - a) as u64 || b - a == 1 {
            out[a..b].fill(true);
            continue;
        }
        let mid = a + (b - a) / 2;
        todo.push((mid, b));
        todo.push((a, mid));
    }
    Ok(())
}

/// The bytes of `pages` (sorted page numbers) of `mapped`, read as looking reads them (a page
/// is probed first and read only where that changes nothing, `how`): `sink` gets each page
/// with its `page_size` bytes, or `None` where it could not be read that way. Consecutive
/// pages are probed together, 512 at a time.
pub fn page_bytes(
    mapped: &dyn Mapped,
    prober: &crate::sys::probe::prober::Prober,
    pages: &[u64],
    sink: &mut dyn FnMut(u64, Option<Vec<u8>>),
) {
    let Ok(geometry) = mapped.geometry() else {
        pages.iter().for_each(|p| sink(*p, None));
        return;
    };
    let swap = OnceCell::new();
    let ps = usize::try_from(mapped.page_size()).unwrap_or(4096);
    let mut i = 0;
    while i < pages.len() {
        let first = pages[i];
        let mut n = 1;
        while i + n < pages.len() && n < 512 && pages[i + n] == first + n as u64 {
            n += 1;
        }
        let probes = prober.probe(mapped, first, n as u64);
        for (k, probe) in probes.iter().enumerate() {
            let page = first + k as u64;
            let facts = Facts::of(probe);
            let way = how(mapped, &geometry, page, Some(&facts), &swap);
            let mut buf = vec![0u8; ps];
            let got = read(mapped, way, page * ps as u64, &mut buf);
            sink(page, (got == Some(ps)).then_some(buf));
        }
        i += n;
    }
}
