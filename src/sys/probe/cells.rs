//! The page map's cells: a window of a mapping as buckets of `per` pages (the minimap's
//! `Bucket`s, for any window and bucket size), at a cost bounded by the cells drawn, never by
//! the mapping: a window of up to `EXACT_PAGES` pages is read page by page (one mincore, one
//! pagemap read); a larger one gets one cachestat per cell for a file (resident and dirty) and
//! one mincore per cell for anonymous memory up to `ANON_PAGES`, else `?`.

use crate::geometry::Geometry;

use crate::sys::map::range::Mapped;
use crate::sys::probe::chunks::Bucket;
use crate::sys::probe::prober::Prober;
use crate::sys::probe::state::{DecodeCtx, PM_PRESENT, PageProbe, PageState};

/// Windows of up to this many pages are read page by page.
pub const EXACT_PAGES: u64 = 1 << 16;

/// Anonymous windows of up to this many pages get one mincore per cell; larger say `?`.
pub(crate) const ANON_PAGES: u64 = 1 << 20;

/// Counts of pages matching a predicate over a slice.
fn count<T>(items: &[T], pred: impl Fn(&T) -> bool) -> u64 {
    items.iter().filter(|x| pred(x)).count() as u64
}

/// What a window read once tells about each page.
struct Window {
    first: u64,
    /// mincore bytes for the window, when it was read page by page.
    core: Option<Vec<u8>>,
    /// pagemap words for the window, when it was read page by page.
    words: Option<Vec<u64>>,
}

impl Window {
    fn read(region: &dyn Mapped, prober: &Prober, first: u64, pages: u64) -> Self {
        let exact = pages <= EXACT_PAGES;
        let mut core = Vec::new();
        let mut words = Vec::new();
        let core_ok = exact && region.mincore(first, pages, &mut core).is_ok();
        let words_ok = exact
            && prober
                .pagemap_words(region, first, pages, &mut words)
                .is_ok();
        Self {
            first,
            core: core_ok.then_some(core),
            words: words_ok.then_some(words),
        }
    }

    fn range(&self, first: u64, pages: u64) -> std::ops::Range<usize> {
        let lo = usize::try_from(first - self.first).unwrap_or(usize::MAX);
        lo..lo.saturating_add(usize::try_from(pages).unwrap_or(usize::MAX))
    }
}

/// `cells` buckets of `per` pages from page `first` (fewer where the mapping ends).
// `Bucket` may gain counts this reader does not fill: they stay at their default.
#[allow(clippy::needless_update)]
pub fn buckets(
    region: &dyn Mapped,
    prober: &Prober,
    geometry: &Geometry,
    first: u64,
    per: u64,
    cells: u64,
) -> Vec<Bucket> {
    let pages = geometry.pages();
    let first = first.min(pages);
    let per = per.max(1);
    let end = first.saturating_add(per.saturating_mul(cells)).min(pages);
    let window = Window::read(region, prober, first, end - first);
    let file = region.page_cache_file();
    let cachestat = file && Prober::cachestat_support(region).is_ok();
    let ctx = DecodeCtx {
        mode: region.mode(),
        file_mapping: file,
        soft_dirty: false,
        always_dirty: region.always_dirty(),
    };
    let data_pages = geometry.data_bytes().div_ceil(geometry.page_size);
    let ps = geometry.page_size;
    (first..end)
        .step_by(usize::try_from(per).unwrap_or(usize::MAX))
        .map(|bf| {
            let n = per.min(end - bf);
            let stat = cachestat
                .then(|| region.cachestat(region.offset() + bf * ps, n * ps).ok())
                .flatten();
            let range = window.range(bf, n);
            let words = window.words.as_ref().and_then(|w| w.get(range.clone()));
            let present = words.map(|w| count(w, |w| w & PM_PRESENT != 0));
            let cow = words.map(|w| {
                count(w, |w| {
                    let probe = PageProbe {
                        pagemap: Some(*w),
                        ..PageProbe::default()
                    };
                    PageState::decode(geometry.page(bf), probe, ctx).place.cow == Some(true)
                })
            });
            let resident = match window.core.as_ref().and_then(|c| c.get(range)) {
                Some(core) => Some(count(core, |c| c & 1 != 0)),
                // For a file, resident means in the page cache: what cachestat counts.
                None if file => stat.map(|st| st.nr_cache.min(n)),
                // Anonymous memory of another process: resident is present.
                None if present.is_some() => present,
                None if end - first <= ANON_PAGES => {
                    let mut c = Vec::new();
                    region
                        .mincore(bf, n, &mut c)
                        .ok()
                        .map(|()| count(&c, |x| x & 1 != 0))
                }
                None => None,
            };
            Bucket {
                first: bf,
                pages: n,
                resident,
                present,
                dirty: stat.map(|st| st.nr_dirty.min(n)),
                cow,
                beyond_eof: if geometry.file_size.is_some() {
                    (bf + n).saturating_sub(bf.max(data_pages))
                } else {
                    0
                },
                ..Bucket::default()
            }
        })
        .collect()
}
