//! The TUI's whole state: the last snapshot of the kernel, the cursor and viewport, overlays, the
//! event log. Plain data; `update` changes it, `ui::render` draws it, and tests fabricate it.
//!
//! The grid is one long document of lines: each page is a header line followed by its rows of
//! `bytes_per_row` bytes. Line numbers are u64 so a 1 TiB mapping scrolls like a 4 KiB one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::action::{Action, Ask, MenuKind};
use crate::find::{Query, Searching};
use crate::geometry::{Geometry, Grown};
use crate::layout::Layout;
use crate::sys::probe::chunks::{
    Bucket, ChunkAsk, ChunkSlice, Chunks, LARGEST_FOLIO_BYTES, WHOLE_FIRST_PAGES,
};
use crate::sys::probe::snapshot::{Snapshot, View};
use crate::text::sanitize;

/// Where keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Grid,
    Panel,
    /// The event log: it grows and scrolls.
    Log,
}

/// What is drawn over the screen and takes the keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Overlay {
    #[default]
    None,
    Help,
    /// The `:` prompt with its text so far.
    Goto(String),
    /// A one-line prompt for an operation's arguments, with its text so far.
    Ask {
        ask: Ask,
        text: String,
    },
    /// The `/` prompt (bytes to find) with its text so far.
    Find(String),
    /// The page map (`P`): the selected cell holds page `selected`; `per_cell` pages a cell;
    /// `top` is the first row drawn.
    PageMap {
        selected: u64,
        per_cell: u64,
        top: u64,
    },
    /// A menu of system calls (`S`, `p`, `a`).
    Menu {
        kind: MenuKind,
        selected: usize,
        /// The call covers the whole mapping (false: the page under the cursor).
        all: bool,
    },
    /// The address-space view (`A`): the whole layout, one VMA selected.
    Space {
        selected: usize,
    },
    /// A yes/no question before something that loses data.
    Confirm {
        question: String,
        then: Box<Action>,
        /// What Enter answers (`y`/`n` always answer themselves).
        default_yes: bool,
    },
}

/// The place and edits of our mapping, kept while another VMA is explored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stash {
    pub cursor: u64,
    pub top: u64,
    pub edits: BTreeSet<u64>,
    pub history: Vec<EditRecord>,
    pub redo: Vec<EditRecord>,
}

/// Edit mode: which column takes the keys, and a typed high nibble waiting for its low one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EditState {
    pub text: bool,
    pub pending: Option<u8>,
}

/// One write in the edit history: enough to undo and redo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRecord {
    pub offset: u64,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

pub use crate::action::{LessonPane, LessonResult, Looking, PageMapData};

/// Which cells of the page map are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapWindow {
    pub per_cell: u64,
    /// Cells a row, and rows drawn.
    pub cols: u64,
    pub rows: u64,
    /// The first row drawn.
    pub top: u64,
    /// Cells of the whole mapping.
    pub total: u64,
    /// The selected cell.
    pub selected: u64,
}

impl MapWindow {
    /// The first cell drawn.
    pub fn first_cell(&self) -> u64 {
        self.top * self.cols
    }

    /// Cells drawn.
    pub fn cells(&self) -> u64 {
        (self.rows * self.cols).min(self.total.saturating_sub(self.first_cell()))
    }

    /// The first page drawn.
    pub fn first_page(&self) -> u64 {
        self.first_cell() * self.per_cell
    }
}

/// How long bytes changed by another process stay highlighted.
pub const FOREIGN_HOLD_MS: u64 = 3000;

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Wall-clock time, `HH:MM:SS`.
    pub time: String,
    pub text: String,
    /// Bytes changed by another process: how many times in a row (one line, counting, so
    /// that a peer writing all the time does not flood the log).
    pub foreign_seen: Option<u64>,
}

pub use crate::sys::proc::maps::SmapsField;

/// How long a changed smaps counter keeps showing its change.
pub const DELTA_HOLD_MS: u64 = 5000;

/// A change of one smaps counter: value before, when it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub before: u64,
    pub at_ms: u64,
}

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
    /// When it was probed, in ms since the start (`Model::now_ms`).
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
        let g = &snap.geometry;
        if let (Some(before), Some(after)) = (before, g.file_size)
            && before != after
        {
            let ps = g.page_size.max(1);
            let (lo, hi) = (before.min(after), before.max(after));
            let pages = |bytes: u64| bytes.saturating_sub(g.offset);
            self.changed(pages(lo) / ps, pages(hi).div_ceil(ps), g);
        }
        self.merge(&snap.minimap, now_ms);
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

/// The TUI's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub snap: Snapshot,
    /// What is known of every chunk of the mapping, for the minimap.
    pub minimap: Minimap,
    /// Cursor as a mapping offset.
    pub cursor: u64,
    /// First visible line of the grid document.
    pub top: u64,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub focus: Focus,
    pub panel_scroll: u16,
    /// Offsets column shows virtual addresses instead of file offsets.
    pub show_vaddr: bool,
    /// The explain pane replaces the side panel.
    pub explain: bool,
    pub overlay: Overlay,
    pub log: Vec<LogLine>,
    /// Time of the last snapshot in ms since the app started (deltas fade with it).
    pub now_ms: u64,
    /// The last change of each smaps counter (indexed by `SmapsField::index`).
    pub deltas: [Option<Delta>; SmapsField::ALL.len()],
    /// Colour on (off with NO_COLOR: states are then told by letters and words alone).
    pub color: bool,
    pub refresh_ms: u64,
    /// Wall-clock time of the last refresh, `HH:MM:SS`, stamped on log lines.
    pub clock: String,
    /// Edit mode, when on.
    pub edit: Option<EditState>,
    /// Offsets written by this tool since the last msync that covered them (MAP_PRIVATE:
    /// since the mapping was made; msync never writes them).
    pub edits: BTreeSet<u64>,
    pub history: Vec<EditRecord>,
    pub redo: Vec<EditRecord>,
    /// Bytes on screen changed by someone else, with when it was seen.
    pub foreign: BTreeMap<u64, u64>,
    /// Ranges this tool wrote since the last snapshot (not someone else's change).
    pub own_writes: Vec<(u64, u64)>,
    /// The file size our own truncate left, until the next snapshot (its log line already
    /// said what the change means).
    pub own_size: Option<u64>,
    /// Lines scrolled back in the log (0: the newest at the bottom).
    pub log_scroll: u16,
    /// Lines scrolled down in the help overlay.
    pub help_scroll: u16,
    /// A peer process is writing into the file.
    pub peer_running: bool,
    /// The address space for its view (read while the view is open), and its title.
    pub space: Vec<crate::sys::proc::process::VmaSummary>,
    pub space_title: String,
    /// When it was read (ms since the start, as `now_ms`): the view says its age.
    pub space_read_ms: u64,
    /// `--also`: the second mapping of the file, probed over the grid's rows.
    pub also: Option<Box<Snapshot>>,
    /// Its edit marks while the grid shows the first (they trade places on `swap`).
    pub also_edits: BTreeSet<u64>,
    /// Exploring a VMA we did not map (`None`: our mapping is shown).
    pub looking: Option<Looking>,
    /// Our mapping's place and edits while another VMA is explored.
    pub stash: Option<Box<Stash>>,
    /// The pid of the forked child keeping the mapping (`F`, `fork`).
    pub child: Option<u32>,
    /// What is known of glibc's mmap threshold, after the last `alloc` or `free`.
    pub malloc: Option<crate::sys::lab::experiments::Threshold>,
    /// The lesson being played, if any.
    pub lesson: Option<LessonPane>,
    /// The high-contrast theme (for projectors).
    pub high_contrast: bool,
    /// What `n` / `N` repeat.
    pub last_search: Option<Query>,
    /// A search running across ticks (Esc cancels it).
    pub searching: Option<Searching>,
    /// Searches started so far: the id of the last one (news of an older one is stale).
    pub searches: u64,
    /// The bytes the last byte search found (offset, length), highlighted.
    pub found: Option<(u64, u64)>,
    /// The page map's cells, as the session last read them.
    pub page_map: PageMapData,
    pub quit: bool,
}

/// Lines of results the lesson pane makes room for beside its narration (more scroll).
pub const LESSON_RESULTS_WANTED: usize = 3;

/// A line of the lesson pane's body: what it belongs to, and its text.
pub type PaneLine = (PaneText, String);

/// What a line of the lesson pane's body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneText {
    /// The step's narration.
    Say,
    /// The result `index`, from its char `from` on; its detail (drawn dim) starts at char
    /// `detail` of the whole result's text.
    Result {
        index: usize,
        from: usize,
        detail: usize,
    },
}

/// A result as the pane writes it, `✓ expect ...  is 4096`, and the char where its detail
/// starts (its length when it has none).
pub fn result_text(r: &LessonResult) -> (String, usize) {
    let head = format!("{} {}", r.mark(), sanitize(&r.text));
    let detail_at = head.chars().count();
    if r.detail.is_empty() {
        (head, detail_at)
    } else {
        (format!("{head}  {}", sanitize(&r.detail)), detail_at)
    }
}

/// Most log lines kept.
pub const LOG_KEEP: usize = 500;

impl Model {
    /// A model showing `snap` on a `size` terminal, cursor at the start.
    pub fn new(snap: Snapshot, size: (u16, u16)) -> Self {
        let mut minimap = Minimap::new(snap.minimap.layout);
        minimap.merge(&snap.minimap, 0);
        Self {
            snap,
            minimap,
            cursor: 0,
            top: 0,
            size,
            focus: Focus::Grid,
            panel_scroll: 0,
            show_vaddr: false,
            explain: false,
            overlay: Overlay::None,
            log: Vec::new(),
            now_ms: 0,
            deltas: [None; SmapsField::ALL.len()],
            color: true,
            refresh_ms: crate::options::DEFAULT_REFRESH_MS,
            clock: String::from("00:00:00"),
            edit: None,
            edits: BTreeSet::new(),
            history: Vec::new(),
            redo: Vec::new(),
            foreign: BTreeMap::new(),
            own_writes: Vec::new(),
            own_size: None,
            log_scroll: 0,
            help_scroll: 0,
            peer_running: false,
            space: Vec::new(),
            space_title: String::new(),
            space_read_ms: 0,
            looking: None,
            stash: None,
            also: None,
            also_edits: BTreeSet::new(),
            child: None,
            malloc: None,
            lesson: None,
            high_contrast: false,
            last_search: None,
            searching: None,
            searches: 0,
            found: None,
            page_map: PageMapData::default(),
            quit: false,
        }
    }

    /// The page map's places on this terminal.
    pub fn page_map_layout(&self) -> crate::layout::PageMapLayout {
        crate::layout::page_map(self.size.0, self.size.1, self.pages())
    }

    /// The fewest pages a cell (a power of two) with which the whole mapping fits the page map.
    pub fn page_map_fit(&self) -> u64 {
        let cells = self.page_map_layout().cells;
        let capacity = (u64::from(cells.width) * u64::from(cells.height)).max(1);
        let mut per_cell = 1u64;
        while self.pages().div_ceil(per_cell) > capacity {
            per_cell *= 2;
        }
        per_cell
    }

    /// The page map's window when it is open.
    pub fn page_map_window(&self) -> Option<MapWindow> {
        match self.overlay {
            Overlay::PageMap {
                selected,
                per_cell,
                top,
            } => Some(self.map_window(selected, per_cell, top)),
            _ => None,
        }
    }

    /// The window with page `selected` selected, `per_cell` pages a cell, scrolled from row
    /// `top` as little as keeps the selection in view.
    pub fn map_window(&self, selected: u64, per_cell: u64, top: u64) -> MapWindow {
        let cells = self.page_map_layout().cells;
        let cols = u64::from(cells.width).max(1);
        let rows = u64::from(cells.height).max(1);
        let per_cell = per_cell.max(1);
        let total = self.pages().div_ceil(per_cell).max(1);
        let selected = (selected / per_cell).min(total - 1);
        let sel_row = selected / cols;
        let mut top = top.min(total.div_ceil(cols).saturating_sub(rows));
        if sel_row < top {
            top = sel_row;
        } else if sel_row >= top + rows {
            top = sel_row + 1 - rows;
        }
        MapWindow {
            per_cell,
            cols,
            rows,
            top,
            total,
            selected,
        }
    }

    /// Where the row labels (and `:`) count from: the mapping's address after `v`, else its
    /// file offset. A label is this plus the offset in the mapping.
    pub fn label_base(&self) -> u64 {
        if self.show_vaddr {
            self.snap.addr
        } else {
            self.snap.geometry.offset
        }
    }

    /// Width of the offsets column in hex digits.
    pub fn offset_digits(&self) -> u16 {
        let last = self.label_base() + self.snap.geometry.map_bytes().saturating_sub(1);
        let digits = (64 - last.leading_zeros()).div_ceil(4) as u16;
        digits.max(8)
    }

    pub fn layout(&self) -> Layout {
        let log_rows = if self.lesson.is_some() {
            Layout::lesson_pane_rows(self.size.1, self.lesson_wants(), self.focus == Focus::Log)
        } else {
            Layout::log_rows(self.size.1, self.focus == Focus::Log)
        };
        Layout::with_log(self.size.0, self.size.1, self.offset_digits(), log_rows)
    }

    /// The lesson pane's body (narration, then what each line did), wrapped to the pane's
    /// width: each line with what it belongs to and its text (escaped).
    pub fn lesson_body(&self) -> Vec<(PaneText, String)> {
        let Some(pane) = &self.lesson else {
            return Vec::new();
        };
        let width = usize::from(self.size.0.saturating_sub(2));
        let wrap = crate::layout::wrap;
        let mut out: Vec<(PaneText, String)> = wrap(&sanitize(&pane.say), width)
            .into_iter()
            .map(|(_, l)| (PaneText::Say, l))
            .collect();
        for (index, r) in pane.results.iter().enumerate() {
            let (text, detail) = result_text(r);
            for (from, l) in wrap(&text, width) {
                out.push((
                    PaneText::Result {
                        index,
                        from,
                        detail,
                    },
                    l,
                ));
            }
        }
        out
    }

    /// The body lines the lesson pane asks room for: the whole narration and up to
    /// `LESSON_RESULTS_WANTED` lines of results (the rest scroll), so the grid keeps its rows.
    pub fn lesson_wants(&self) -> usize {
        let Some(pane) = &self.lesson else {
            return 0;
        };
        let width = usize::from(self.size.0.saturating_sub(2));
        let count = crate::layout::wrap_count;
        let mut results = 0;
        for r in &pane.results {
            if results >= LESSON_RESULTS_WANTED {
                break;
            }
            results += count(&result_text(r).0, width);
        }
        count(&sanitize(&pane.say), width) + results.min(LESSON_RESULTS_WANTED)
    }

    /// The lines of the lesson pane's body on screen, and the first and last (1-based) of
    /// the scrolled part with its length when not all of it shows. The narration stays put
    /// and the results scroll under it; a narration too long for the pane scrolls with them.
    pub fn lesson_visible(&self) -> (Vec<PaneLine>, Option<(usize, usize, usize)>) {
        let (body, fixed, room) = self.lesson_split();
        let scrolled = body.len() - fixed;
        let scroll = self
            .lesson
            .as_ref()
            .map_or(0, |p| usize::from(p.scroll))
            .min(scrolled.saturating_sub(room));
        let shown = room.min(scrolled - scroll);
        let mut out: Vec<PaneLine> = body[..fixed].to_vec();
        out.extend_from_slice(&body[fixed + scroll..fixed + scroll + shown]);
        let note = (scrolled > room).then_some((scroll + 1, scroll + shown, scrolled));
        (out, note)
    }

    /// How far the lesson pane scrolls (J): the scrolled part less the lines it gets.
    pub fn lesson_scroll_max(&self) -> usize {
        let (body, fixed, room) = self.lesson_split();
        (body.len() - fixed).saturating_sub(room)
    }

    /// The pane's body, how many of its first lines stay put (the narration, when it fits with
    /// a line to spare), and the rows left for the part that scrolls.
    fn lesson_split(&self) -> (Vec<PaneLine>, usize, usize) {
        let body = self.lesson_body();
        let rows = self.lesson_body_rows();
        let say = body.iter().filter(|(p, _)| *p == PaneText::Say).count();
        let fixed = if say < rows { say } else { 0 };
        (body, fixed, rows - fixed)
    }

    /// The lines of the lesson pane the body gets (between its borders, above the log line).
    pub fn lesson_body_rows(&self) -> usize {
        usize::from(self.layout().log.height.saturating_sub(3))
    }

    pub fn bytes_per_row(&self) -> u64 {
        // Asked once a row while drawing: from the width alone, not the whole layout (which
        // wraps a lesson's narration to size its pane).
        Layout::columns(self.size.0, self.offset_digits()).0
    }

    pub fn page_size(&self) -> u64 {
        self.snap.geometry.page_size
    }

    pub fn pages(&self) -> u64 {
        self.snap.geometry.pages()
    }

    /// Rows of bytes per page.
    pub fn rows_per_page(&self) -> u64 {
        self.page_size() / self.bytes_per_row()
    }

    /// Lines per page in the grid document: the header and the rows.
    pub fn lines_per_page(&self) -> u64 {
        1 + self.rows_per_page()
    }

    pub fn total_lines(&self) -> u64 {
        self.pages() * self.lines_per_page()
    }

    /// The document line of the row holding mapping offset `off`.
    pub fn line_of(&self, off: u64) -> u64 {
        let page = off / self.page_size();
        let row = (off % self.page_size()) / self.bytes_per_row();
        page * self.lines_per_page() + 1 + row
    }

    /// What document line `line` shows: `(page, None)` for the page header, `(page, Some(off))`
    /// for the row starting at mapping offset `off`.
    pub fn line_content(&self, line: u64) -> (u64, Option<u64>) {
        let lpp = self.lines_per_page();
        let page = line / lpp;
        match line % lpp {
            0 => (page, None),
            r => (
                page,
                Some(page * self.page_size() + (r - 1) * self.bytes_per_row()),
            ),
        }
    }

    /// Last valid cursor offset (the last byte of the last mapped page).
    pub fn max_cursor(&self) -> u64 {
        self.snap.geometry.map_bytes().saturating_sub(1)
    }

    /// Moves `top` so that the cursor's row is visible (and its page header when on the first
    /// row of a page), and never past the end of the document.
    pub fn scroll_to_cursor(&mut self) {
        let h = self.layout().grid_rows();
        let line = self.line_of(self.cursor);
        if line < self.top {
            let first_row = (self.cursor % self.page_size()) < self.bytes_per_row();
            self.top = if first_row { line - 1 } else { line };
        } else if line >= self.top + h {
            self.top = line + 1 - h;
        }
        let max_top = self.total_lines().saturating_sub(h);
        self.top = self.top.min(max_top);
    }

    /// The part of the mapping on screen, for the next probe.
    pub fn view(&self) -> View {
        let h = self.layout().grid_rows();
        let first_line = self.top;
        let last_line = (self.top + h).min(self.total_lines()).saturating_sub(1);
        let (first_page, _) = self.line_content(first_line);
        let (last_page, _) = self.line_content(last_line);
        let byte_start = first_page * self.page_size()
            + match self.line_content(first_line).1 {
                Some(off) => off % self.page_size(),
                None => 0,
            };
        let byte_end = match self.line_content(last_line).1 {
            Some(off) => off + self.bytes_per_row(),
            None => last_page * self.page_size(),
        };
        View {
            first_page,
            page_count: last_page - first_page + 1,
            byte_start,
            byte_len: byte_end.saturating_sub(byte_start),
            minimap: self
                .minimap
                .ask(self.cursor / self.page_size().max(1), self.refresh_ms),
        }
    }

    /// Appends a log line stamped with the clock of the last refresh: escaped and cut to
    /// `text::LINE_MAX` characters, whatever it echoes (each value is cut shorter where it is
    /// echoed, with `text::echo`).
    pub fn log(&mut self, text: impl Into<String>) {
        self.log.push(LogLine {
            time: self.clock.clone(),
            text: crate::text::clean_lines(&text.into()),
            foreign_seen: None,
        });
        if self.log.len() > LOG_KEEP {
            self.log.drain(..self.log.len() - LOG_KEEP);
        }
    }

    /// Takes a new snapshot, recording which smaps counters changed since the previous one.
    pub fn apply_snapshot(&mut self, snap: Snapshot, now_ms: u64) {
        if let (Some(old), Some(new)) = (&self.snap.vma, &snap.vma) {
            for field in SmapsField::ALL {
                let (before, after) = (field.of(old), field.of(new));
                if before != after {
                    self.deltas[field.index()] = Some(Delta {
                        before,
                        at_ms: now_ms,
                    });
                }
            }
        }
        if snap.path_note.is_some() && snap.path_note != self.snap.path_note {
            let note = snap.path_note.clone().unwrap_or_default();
            self.log(note);
        }
        // Sizes are compared within one mapping only: exploring another VMA (ld.so after the
        // demo file), or coming back, changes no file.
        let same = self.snap.addr == snap.addr && self.snap.backing == snap.backing;
        let (before, after) = if same {
            (self.snap.geometry.file_size, snap.geometry.file_size)
        } else {
            (None, None)
        };
        let ours = self.own_size.take().is_some_and(|s| after == Some(s));
        self.minimap.take(&snap, before, now_ms);
        let changed = self.foreign_changes(&snap);
        self.snap = snap;
        self.now_ms = now_ms;
        self.own_writes.clear();
        self.foreign
            .retain(|_, at| now_ms.saturating_sub(*at) < FOREIGN_HOLD_MS);
        if !changed.is_empty() {
            let first = changed[0];
            let text = format!(
                "{} on screen changed by another process (highlighted), first at 0x{first:x}",
                if changed.len() == 1 {
                    "1 byte".to_string()
                } else {
                    format!("{} bytes", changed.len())
                }
            );
            // A peer writing all the time would flood the log: one line, counting the changes.
            match self.log.last_mut() {
                Some(last) if last.foreign_seen.is_some() => {
                    let seen = last.foreign_seen.unwrap_or(1) + 1;
                    last.text = format!("{text} · seen {seen} times");
                    last.foreign_seen = Some(seen);
                    last.time.clone_from(&self.clock);
                }
                _ => {
                    self.log(text);
                    if let Some(last) = self.log.last_mut() {
                        last.foreign_seen = Some(1);
                    }
                }
            }
            for off in changed {
                self.foreign.insert(off, now_ms);
            }
        }
        if !ours {
            self.log_size_change(before, after);
        }
        // The file may have shrunk or grown; the mapping's length does not change.
        self.cursor = self.cursor.min(self.max_cursor());
        self.scroll_to_cursor();
    }

    /// Logs a change of the file's size from `before` to `after` seen by a refresh, in words
    /// from what the new bytes on screen hold (`Grown`).
    fn log_size_change(&mut self, before: Option<u64>, after: Option<u64>) {
        let (Some(before), Some(after)) = (before, after) else {
            return;
        };
        if before == after {
            return;
        }
        let g = self.snap.geometry;
        let grown = Grown::of(g.grown_bytes(before, after).map(|o| self.snap.bytes.get(o)));
        let verb = if after < before { "shrank" } else { "grew" };
        let notes = g.size_change(before, after, grown);
        self.log(format!(
            "the file {verb} under the mapping: {} B -> {} B; {}",
            crate::text::thousands(before),
            crate::text::thousands(after),
            notes.join("; ")
        ));
    }

    /// Offsets visible in both the current and the new snapshot whose bytes differ, and that
    /// this tool did not write: someone else's stores (another process's shared mapping, or
    /// write(2) to the file).
    fn foreign_changes(&self, new: &Snapshot) -> Vec<u64> {
        let old = &self.snap.bytes;
        if self.snap.addr != new.addr {
            return Vec::new();
        }
        let start = old.start.max(new.bytes.start);
        let end =
            (old.start + old.data.len() as u64).min(new.bytes.start + new.bytes.data.len() as u64);
        (start..end)
            .filter(|&off| {
                let (a, b) = (old.get(off), new.bytes.get(off));
                a.is_some() && b.is_some() && a != b
            })
            .filter(|off| {
                !self
                    .own_writes
                    .iter()
                    .any(|(o, n)| (*o..o.saturating_add(*n)).contains(off))
            })
            .collect()
    }

    /// Private edits that a remap or quit would lose.
    pub fn private_edits(&self) -> usize {
        if self.snap.mode == crate::sys::map::request::MapMode::Private {
            self.edits.len()
        } else {
            0
        }
    }

    /// Whether the byte at `off` was written by this tool and not yet covered by an msync.
    pub fn edited(&self, off: u64) -> bool {
        self.edits.contains(&off)
    }

    /// The change of smaps counter `field` still on display, as (before, now).
    pub fn delta(&self, field: SmapsField) -> Option<(u64, u64)> {
        let d = self.deltas.get(field.index()).copied().flatten()?;
        let vma = self.snap.vma.as_ref()?;
        (self.now_ms.saturating_sub(d.at_ms) < DELTA_HOLD_MS).then(|| (d.before, field.of(vma)))
    }
}

#[cfg(test)]
mod tests {
    use super::{Bucket, ChunkSlice, Chunks, Geometry, LessonResult, Minimap};

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

    fn r(text: &str, ok: bool) -> LessonResult {
        LessonResult {
            text: text.into(),
            ok,
            expected_error: false,
            skipped: false,
            detail: String::new(),
        }
    }

    #[test]
    fn an_expect_error_claims_the_failure_before_it_only() {
        let mut results = vec![
            r("write 0 41", false),
            r("expect error", true),
            r("read 0 1", false),
            r("expect page 0 cow == true", true),
        ];
        LessonResult::claim_expected_errors(&mut results);
        assert!(results[0].ok && results[0].expected_error);
        assert!(!results[2].ok && !results[2].expected_error);
    }
}
