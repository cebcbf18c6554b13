//! The minimap's knowledge of the whole mapping: the last answer per chunk, what to probe next
//! within a share of the refresh interval, and the cells drawn.

use std::time::Duration;

use crate::geometry::Geometry;
use crate::sys::probe::chunks::{
    Bucket, ChunkAsk, ChunkSlice, Chunks, LARGEST_FOLIO_BYTES, WHOLE_FIRST_PAGES,
};
use crate::sys::probe::snapshot::Snapshot;

/// Share of the refresh interval, in thousandths, the minimap may spend at each refresh on
/// chunks nothing we did has changed (the stalest first): 0.4% of a core, 1 ms at the default
/// 250 ms, whatever the mapping.
pub const MINIMAP_SHARE_PERMILLE: u64 = 4;

/// Share of the refresh interval, in thousandths, for chunks an action of ours changed, probed
/// first: they show at the next refresh, or the one after on a huge cached file.
pub const MINIMAP_CHANGED_PERMILLE: u64 = 250;

/// What the minimap knows of one chunk of the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkState {
    /// The last answer; `None`: not probed yet.
    pub bucket: Option<Bucket>,
    /// When it was probed, in ms since the start (`Log::now_ms`).
    pub at_ms: u64,
    /// Something we did (or a change of the file's size) may have changed it since.
    pub changed: bool,
}

/// One cell of the minimap: a bucket of whole chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimapCell {
    /// The pages of the cell and their counts (the counts mean nothing when not `known`).
    pub bucket: Bucket,
    /// Every chunk of it was probed (or it lies wholly beyond end of file).
    pub known: bool,
}

/// The minimap's knowledge of the whole mapping: the last answer per chunk. A refresh probes
/// some chunks (those we changed, the cursor's, those never probed, then the stalest) within a
/// time budget, and `update` merges them in, so a refresh costs the same on a huge cached file
/// as on a small one and the first screen does not wait for the whole minimap.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Minimap {
    pub layout: Chunks,
    pub chunks: Vec<ChunkState>,
}

impl Minimap {
    /// Nothing known yet about the chunks of `layout`.
    pub fn new(layout: Chunks) -> Self {
        Self {
            layout,
            chunks: vec![ChunkState::default(); usize::try_from(layout.count).unwrap_or(0)],
        }
    }

    /// Takes in the chunks probed at `now_ms`. A different cut (the mapping's length changed)
    /// forgets everything first.
    pub fn merge(&mut self, slice: &ChunkSlice, now_ms: u64) {
        if slice.layout != self.layout {
            *self = Self::new(slice.layout);
        }
        for (i, bucket) in &slice.probed {
            if let Some(c) = self
                .chunks
                .get_mut(usize::try_from(*i).unwrap_or(usize::MAX))
            {
                *c = ChunkState {
                    bucket: Some(*bucket),
                    at_ms: now_ms,
                    changed: false,
                };
            }
        }
    }

    /// Marks changed the chunks holding pages `first..end` of a mapping shaped as `geometry`
    /// says, widened to whole largest folios (the kernel dirties and cleans whole folios, and
    /// a folio of N pages starts at a file index that is a multiple of N).
    pub fn changed(&mut self, first: u64, end: u64, geometry: &Geometry) {
        if self.chunks.is_empty() {
            return;
        }
        let ps = geometry.page_size.max(1);
        let folio = (LARGEST_FOLIO_BYTES / ps).max(1);
        let skip = geometry.offset / ps;
        let from = ((first + skip) / folio * folio).saturating_sub(skip);
        let to = ((end.max(first + 1) + skip).div_ceil(folio) * folio - 1).saturating_sub(skip);
        let (from, to) = (self.layout.chunk_of(from), self.layout.chunk_of(to));
        let last = self.chunks.len() - 1;
        let (from, to) = (from as usize, (to as usize).min(last));
        for c in self.chunks.iter_mut().take(to + 1).skip(from) {
            c.changed = true;
        }
    }

    /// Takes in a refresh's chunks, probed at `now_ms`, after marking changed the pages
    /// between the file's size `before` and now (cut, or a hole): what the refresh probed is
    /// new whatever changed before it.
    pub fn take(&mut self, snap: &Snapshot, before: Option<u64>, now_ms: u64) {
        let g = &snap.shape.geometry;
        if let (Some(before), Some(after)) = (before, g.file_size)
            && before != after
        {
            let ps = g.page_size.max(1);
            let (lo, hi) = (before.min(after), before.max(after));
            let pages = |bytes: u64| bytes.saturating_sub(g.offset);
            self.changed(pages(lo) / ps, pages(hi).div_ceil(ps), g);
        }
        self.merge(&snap.probed.minimap, now_ms);
    }

    /// Marks every chunk changed.
    pub fn changed_all(&mut self) {
        for c in &mut self.chunks {
            c.changed = true;
        }
    }

    /// What to probe next: the changed chunks (the cursor's first), then the cursor's chunk,
    /// then chunks never probed, then the stalest; for shares of a `refresh_ms` interval, and
    /// two chunks at least (the cursor's and the stalest, when nothing changed), so that every
    /// refresh moves the rotation on.
    pub fn ask(&self, cursor_page: u64, refresh_ms: u64) -> ChunkAsk {
        if self.chunks.is_empty() {
            return ChunkAsk::default();
        }
        let n = self.chunks.len() as u64;
        let cursor = self.layout.chunk_of(cursor_page).min(n - 1);
        let state = |i: u64| self.chunks[i as usize];
        let others = || (0..n).filter(move |&i| i != cursor);
        let mut order = Vec::with_capacity(self.chunks.len());
        if state(cursor).changed {
            order.push(cursor);
        }
        order.extend(others().filter(|&i| state(i).changed));
        let urgent = order.len();
        if !state(cursor).changed {
            order.push(cursor);
        }
        let mut rest: Vec<u64> = others().filter(|&i| !state(i).changed).collect();
        // Stable: equally old chunks go in index order, so the passes rotate.
        rest.sort_by_key(|&i| (state(i).bucket.is_some(), state(i).at_ms));
        order.extend(rest);
        let share = |permille: u64| Duration::from_micros(refresh_ms.saturating_mul(permille));
        // A sparse or little cached file: a few calls answer for every chunk. What a call
        // costs follows the page-cache entries it walks: cached pages and evicted ones' shadows.
        let entries = self.chunks.iter().try_fold(0u64, |sum, c| {
            let b = c.bucket?;
            Some(sum + b.resident? + b.evicted?)
        });
        ChunkAsk {
            order,
            at_least: 2,
            urgent,
            urgent_budget: share(MINIMAP_CHANGED_PERMILLE),
            budget: share(MINIMAP_SHARE_PERMILLE),
            whole_first: entries.is_some_and(|n| n <= WHOLE_FIRST_PAGES),
        }
    }

    /// The mapping in at most `cells` cells of whole chunks, for display; beyond end of file
    /// is taken from `geometry` (this refresh's fstat), so a cut file shows at once.
    pub fn cells(&self, cells: u64, geometry: &Geometry) -> Vec<MinimapCell> {
        let r = self.chunks.len() as u64;
        let n = cells.max(1).min(r);
        let data_pages = geometry.data_bytes().div_ceil(geometry.page_size.max(1));
        (0..n)
            .map(|c| {
                let (lo, hi) = (c * r / n, (c + 1) * r / n);
                let first = self.layout.first(lo);
                let pages = self.layout.first(hi) - first;
                let beyond_eof = if geometry.file_size.is_some() {
                    (first + pages).saturating_sub(first.max(data_pages))
                } else {
                    0
                };
                let mut bucket = Bucket {
                    first,
                    pages,
                    beyond_eof,
                    ..Bucket::EMPTY
                };
                let mut known = true;
                for state in &self.chunks[lo as usize..hi as usize] {
                    match &state.bucket {
                        Some(b) => bucket.add_counts(b),
                        None => known = false,
                    }
                }
                MinimapCell {
                    bucket,
                    known: known || beyond_eof == pages,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Bucket, ChunkSlice, Chunks, Geometry, Minimap};

    /// Chunks of a cached file, all resident, each with `dirty` dirty pages.
    fn slice(layout: Chunks, chunks: impl Iterator<Item = u64>, dirty: u64) -> ChunkSlice {
        let probed = chunks
            .map(|i| {
                let (first, pages) = layout.range(i);
                let bucket = Bucket {
                    first,
                    pages,
                    resident: Some(pages),
                    present: None,
                    dirty: Some(dirty.min(pages)),
                    cow: None,
                    beyond_eof: 0,
                    evicted: Some(0),
                };
                (i, bucket)
            })
            .collect();
        ChunkSlice { layout, probed }
    }

    fn geometry(pages: u64, file_pages: u64) -> Geometry {
        Geometry {
            page_size: 4096,
            offset: 0,
            len: pages * 4096,
            file_size: Some(file_pages * 4096),
        }
    }

    #[test]
    fn the_minimap_asks_for_changed_chunks_then_the_cursor_then_unknown_then_the_stalest() {
        let layout = Chunks::of(1 << 20);
        assert_eq!(layout.count, 1024);
        let mut m = Minimap::new(layout);
        // Nothing known: the cursor's chunk, then every other in order.
        let ask = m.ask(layout.first(7), 250);
        assert_eq!(ask.order[..3], [7, 0, 1]);
        assert_eq!(ask.order.len(), 1024);
        assert_eq!((ask.urgent, ask.at_least), (0, 2));
        assert_eq!(ask.budget, std::time::Duration::from_millis(1));
        assert_eq!(ask.urgent_budget, std::time::Duration::from_micros(62_500));
        assert!(!ask.whole_first, "nothing known: no whole-file call");

        // Chunks 0..500 probed at 250 ms, 500..1024 at 500 ms: 0.. are the stalest now.
        m.merge(&slice(layout, 0..500, 0), 250);
        let ask = m.ask(layout.first(7), 250);
        assert_eq!(
            ask.order[..3],
            [7, 500, 501],
            "the unknown before the known"
        );
        m.merge(&slice(layout, 500..1024, 0), 500);
        m.merge(&slice(layout, 0..10, 0), 750);
        let ask = m.ask(layout.first(7), 250);
        assert_eq!(
            ask.order[..3],
            [7, 10, 11],
            "rotation goes on where it stopped"
        );
        assert!(
            !ask.whole_first,
            "4 GiB cached: one whole-file call would be dear"
        );

        // We wrote to page 599,600 of chunk 585 (pages 599,040..600,064): its 2 MiB folio
        // (pages 599,552..600,064, 512-aligned) is inside, so that chunk alone goes first.
        let mut g = geometry(1 << 20, 1 << 20);
        m.changed(599_600, 599_601, &g);
        let ask = m.ask(layout.first(7), 250);
        assert_eq!(ask.urgent, 1);
        assert_eq!(ask.order[..3], [585, 7, 10]);
        m.merge(&slice(layout, 585..586, 0), 1000);
        // Mapped from file page 256, page 600,000 is file page 600,256, whose folio (file
        // 600,064..600,576) is mapping pages 599,808..600,320: chunks 585 and 586.
        g.offset = 256 * 4096;
        m.changed(600_000, 600_001, &g);
        let ask = m.ask(layout.first(7), 250);
        assert_eq!(ask.order[..3], [585, 586, 7]);
        assert_eq!(ask.urgent, 2);
        m.merge(&slice(layout, 585..587, 0), 1000);
        g.offset = 0;
        // A write in the last folio of a chunk: that chunk only, whatever the folio.
        m.changed(layout.first(20) - 1, layout.first(20), &g);
        let ask = m.ask(layout.first(7), 250);
        assert_eq!(ask.order[..3], [19, 7, 10]);
        m.changed_all();
        let ask = m.ask(layout.first(7), 250);
        assert_eq!(
            (ask.urgent, ask.order[0]),
            (1024, 7),
            "the cursor's chunk first"
        );
        m.merge(&slice(layout, 0..1024, 0), 1250);
        assert_eq!(m.ask(0, 250).urgent, 0, "a probe clears the mark");
    }

    #[test]
    fn an_uncached_mapping_is_asked_about_as_a_whole() {
        let layout = Chunks::of(1 << 28);
        let mut m = Minimap::new(layout);
        let mut none = slice(layout, 0..1024, 0);
        for (_, b) in &mut none.probed {
            b.resident = Some(0);
        }
        m.merge(&none, 250);
        assert!(m.ask(0, 250).whole_first);
        // Evicted pages leave shadow entries that each call walks too: dear again.
        let mut shadows = none.clone();
        shadows.probed[7].1.evicted = Some(100_000);
        m.merge(&shadows, 300);
        assert!(!m.ask(0, 250).whole_first);
        // Anonymous memory too big to ask: resident unknown, no whole call either.
        for (_, b) in &mut none.probed {
            b.resident = None;
        }
        m.merge(&none, 500);
        assert!(!m.ask(0, 250).whole_first);
    }

    #[test]
    fn cells_are_whole_chunks_known_only_when_all_their_chunks_are() {
        let layout = Chunks::of(2048);
        let mut m = Minimap::new(layout);
        let g = geometry(2048, 2048);
        assert!(m.cells(100, &g).iter().all(|c| !c.known));
        m.merge(&slice(layout, 0..512, 1), 250);
        let cells = m.cells(100, &g);
        assert_eq!(cells.len(), 100);
        // The cells tile the mapping exactly.
        assert_eq!(cells[0].bucket.first, 0);
        for w in cells.windows(2) {
            assert_eq!(w[0].bucket.first + w[0].bucket.pages, w[1].bucket.first);
        }
        let last = cells[99].bucket;
        assert_eq!(last.first + last.pages, 2048);
        // 512 of 1024 chunks known: cells 0..50 (10 or 11 chunks each) are, cell 50 is not.
        let known: Vec<bool> = cells.iter().map(|c| c.known).collect();
        assert_eq!(known.iter().filter(|k| **k).count(), 50);
        assert!(known[..50].iter().all(|k| *k) && !known[50]);
        let b = cells[0].bucket;
        assert_eq!((b.resident, b.dirty), (Some(b.pages), Some(b.pages / 2)));
        // More cells than chunks: one cell per chunk.
        assert_eq!(m.cells(5000, &g).len(), 1024);
    }

    #[test]
    fn a_change_of_the_file_size_marks_the_chunks_between_the_two_ends() {
        use crate::sys::map::request::{MapMode, Prot};
        use crate::sys::probe::snapshot::{Backing, Snapshot};
        // 4 GiB mapped, 1024 chunks of 1024 pages; the file is cut from 4 GiB to 1000 pages.
        let layout = Chunks::of(1 << 20);
        let mut m = Minimap::new(layout);
        m.merge(&slice(layout, 0..1024, 0), 250);
        let snap = Snapshot::empty(
            Backing::Anon,
            MapMode::Shared,
            Prot::RW,
            0,
            geometry(1 << 20, 1000),
        );
        m.take(&snap, Some((1 << 20) * 4096), 500);
        let changed: Vec<usize> = (0..1024).filter(|i| m.chunks[*i].changed).collect();
        assert_eq!(
            changed,
            (0..1024).collect::<Vec<_>>(),
            "pages 1000.. all changed"
        );
        m.merge(&slice(layout, 0..1024, 0), 750);
        // It grows back by one page: the chunk of page 1000 only.
        let snap = Snapshot::empty(
            Backing::Anon,
            MapMode::Shared,
            Prot::RW,
            0,
            geometry(1 << 20, 1001),
        );
        m.take(&snap, Some(1000 * 4096), 1000);
        let changed: Vec<usize> = (0..1024).filter(|i| m.chunks[*i].changed).collect();
        assert_eq!(changed, [0]);
        // The same size: nothing.
        m.merge(&slice(layout, 0..1, 0), 1250);
        m.take(&snap, Some(1001 * 4096), 1500);
        assert!(m.chunks.iter().all(|c| !c.changed));
    }

    #[test]
    fn a_shrunk_file_shows_beyond_eof_without_a_probe_and_a_new_cut_forgets() {
        let layout = Chunks::of(2048);
        let mut m = Minimap::new(layout);
        // Cut to 1000 pages: cells past page 1000 are beyond EOF, known with no probe.
        let cells = m.cells(8, &geometry(2048, 1000));
        let eof: Vec<(bool, bool)> = cells
            .iter()
            .map(|c| (c.known, c.bucket.beyond_eof == c.bucket.pages))
            .collect();
        assert_eq!(eof[..3], [(false, false); 3]);
        assert_eq!(eof[3], (false, false), "pages 768..1024 straddle the end");
        assert!(eof[4..].iter().all(|e| *e == (true, true)), "{eof:?}");
        m.merge(&slice(layout, 0..1024, 0), 250);
        // The mapping was remapped at another length: another cut, nothing known.
        m.merge(&slice(Chunks::of(4096), 0..1, 0), 500);
        assert_eq!(m.layout, Chunks::of(4096));
        assert_eq!(m.chunks.iter().filter(|c| c.bucket.is_some()).count(), 1);
    }
}
