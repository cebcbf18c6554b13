//! The minimap's chunks: a mapping cut into at most `MINIMAP_CHUNKS` runs of pages by its size
//! alone, each probed as one `Bucket` (page by page for a small mapping, one cachestat per chunk
//! for a large file), in the order the minimap asks, within a time budget.

use std::time::{Duration, Instant};

use crate::geometry::Geometry;

use crate::sys::map::range::Mapped;
use crate::sys::map::region::CacheStat;
use crate::sys::map::request::MapMode;
use crate::sys::probe::prober::*;
use crate::sys::probe::scan::minus;
use crate::sys::probe::state::*;

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
    /// Private anonymous memory: a page without a page-table entry holds nothing in memory.
    anon_private: bool,
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
            anon_private: !file && region.mode() == MapMode::Private,
            core,
            words,
            clean: whole.is_some_and(|st| st.nr_dirty == 0),
            halved,
        }
    }

    /// How many of the `count` pages from `first` are resident: mincore of the whole (small)
    /// mapping, else the file's cachestat `stat`, else (anonymous memory) pagemap or mincore.
    fn resident(&self, first: u64, count: u64, stat: Option<CacheStat>) -> Option<u64> {
        let range = first as usize..(first + count) as usize;
        if let Some(core) = &self.core {
            Some(core[range.clone()].iter().filter(|c| *c & 1 != 0).count() as u64)
        } else if let Some(st) = stat {
            // For a file, resident means in the page cache: what cachestat counts.
            Some(st.nr_cache.min(count))
        } else if self.anon_private
            && let Some(words) = &self.words
        {
            // Another process's private anonymous memory, where mincore cannot ask: a page in
            // memory is in its page tables (swapped or never touched: not resident).
            Some(
                words[range.clone()]
                    .iter()
                    .filter(|w| *w & PM_PRESENT != 0)
                    .count() as u64,
            )
        } else if !self.file && self.geometry.pages() <= ANON_MINIMAP_PAGES {
            let mut c = Vec::new();
            self.region
                .mincore(first, count, &mut c)
                .ok()
                .map(|()| c.iter().filter(|x| *x & 1 != 0).count() as u64)
        } else {
            None
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
        let resident = self.resident(first, count, stat);
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
                        PageState::decode(geometry.page(*page), p, self.ctx)
                            .place
                            .cow
                            == Some(true)
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
}
