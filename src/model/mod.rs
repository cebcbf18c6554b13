//! The TUI's whole state, by feature: the last snapshot of the kernel, the document shown (the
//! place in it and what we wrote into it), what the refreshes saw of it, the screen (size, focus,
//! overlays), the search, the page map, the address space and the VMA explored, the lab's
//! processes, the lesson, the settings and the event log. Plain data; `update` changes it,
//! `ui::render` draws it, and tests fabricate it. Each part lives in its own file with the
//! methods that read it; exploring another VMA swaps one part (`Document`), and a new refresh
//! of another mapping resets another (`Seen`), so nothing is stashed or cleared field by field.
//!
//! The grid is one long document of lines: each page is a header line followed by its rows of
//! `bytes_per_row` bytes. Line numbers are u64 so a 1 TiB mapping scrolls like a 4 KiB one.

mod code;
mod document;
mod grid;
mod jumps;
mod lesson;
mod log;
mod minimap;
mod page_map;
mod picker;
mod screen;
mod seen;
mod space;
pub mod time;
mod typed;

pub use document::{Document, EditRecord, History};
pub use jumps::{JUMPS_KEEP, Jumps, Place, Travel};
pub use lesson::{
    LESSON_RESULTS_WANTED, LessonPane, LessonResult, PaneLine, PaneText, result_text,
};
pub use log::{LOG_KEEP, Log, LogLine};
pub use minimap::{
    ChunkState, MINIMAP_CHANGED_PERMILLE, MINIMAP_SHARE_PERMILLE, Minimap, MinimapCell,
};
pub use page_map::{
    MapWindow, PAGE_MAP_INFO_ROWS, PageMapData, PageMapLayout, PageMapSlice, page_map_at,
};
pub use picker::{LIST_TOP, Picked, Picker};
pub use screen::{Ask, Copy, EditState, Focus, MenuKind, Overlay, Screen, Then};
pub use seen::{DELTA_HOLD_MS, Delta, FOREIGN_HOLD_MS, Seen};
pub use space::{Looking, Space, SpaceColumn, SpaceView, vma_name};
pub use time::{Access, Play, Replay, SPEED_1X, SPEEDS, Time, Written};
pub use typed::{MIN_RUN, Run, Target, Typed, ViewKind};

/// Reading values: typed cells, the inspector, pointers, printable runs, machine code.
pub mod values {
    pub use super::code::{Insn, MAX_INSN, decode, unsupported};
    pub use super::typed::{cell, char_cell, float, inspect, pointer, runs, unsigned};
}

pub use crate::sys::proc::maps::SmapsField;

use crate::layout::Layout;
use crate::search::query::{Query, Searching};
use crate::sys::probe::snapshot::Snapshot;

/// Lines of the inspector under the grid (typed views; `I` in the bytes view) on a terminal
/// `cols` wide: every type with a pointer's name takes about 200 columns (three lines at 80).
pub fn inspector_rows(cols: u16) -> u16 {
    if cols < 110 { 3 } else { 2 }
}

/// The TUI's state: about ten parts, one a feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The kernel's last word on the mapping shown.
    pub snap: Snapshot,
    /// The mapping or VMA shown: the place in it and what we wrote into it.
    pub doc: Document,
    /// What the refreshes saw of it: the minimap, others' changes, our own, counter deltas.
    pub seen: Seen,
    /// How it is looked at: terminal size, focus, overlays, edit mode, scrolls.
    pub screen: Screen,
    pub search: Search,
    /// The page map's cells, as the session last read them.
    pub page_map: PageMapData,
    /// The address-space view, and the VMA explored (if not ours).
    pub space: Space,
    /// The lab's processes and the second mapping.
    pub lab: Lab,
    /// The lesson being played, if any.
    pub lesson: Option<LessonPane>,
    pub settings: Settings,
    pub log: Log,
    /// Time: the mark the views compare with, and the recording being replayed.
    pub time: Time,
}

/// Byte and state searches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Search {
    /// What `n` / `N` repeat.
    pub last: Option<Query>,
    /// A search running across ticks (Esc cancels it).
    pub running: Option<Searching>,
    /// Searches started so far: the id of the last one (news of an older one is stale).
    pub count: u64,
    /// The bytes the last byte search found (offset, length), highlighted.
    pub found: Option<(u64, u64)>,
}

/// The lab: processes we started around the mapping, and the second mapping of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lab {
    /// The pid of the forked child keeping the mapping (`F`, `fork`).
    pub child: Option<u32>,
    /// What is known of glibc's mmap threshold, after the last `alloc` or `free`.
    pub malloc: Option<crate::sys::lab::experiments::Threshold>,
    /// A peer process is writing into the file.
    pub peer_running: bool,
    /// `--also`: the second mapping of the file, probed over the grid's rows.
    pub also: Option<Box<Snapshot>>,
    /// Its edit marks while the grid shows the first (they trade places on `swap`).
    pub also_edits: std::collections::BTreeSet<u64>,
}

/// How the screen behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Colour on (off with NO_COLOR: states are then told by letters and words alone).
    pub color: bool,
    /// The high-contrast theme (for projectors).
    pub high_contrast: bool,
    pub refresh_ms: u64,
    /// The terminal reports mouse clicks and the wheel to us (`--no-mouse`: it keeps them,
    /// for its own selection).
    pub mouse: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            color: true,
            high_contrast: false,
            refresh_ms: crate::options::DEFAULT_REFRESH_MS,
            mouse: true,
        }
    }
}

impl Model {
    /// A model showing `snap` on a `size` terminal, cursor at the start.
    pub fn new(snap: Snapshot, size: (u16, u16)) -> Self {
        let mut minimap = Minimap::new(snap.probed.minimap.layout);
        minimap.merge(&snap.probed.minimap, 0);
        Self {
            snap,
            doc: Document::default(),
            seen: Seen {
                minimap,
                ..Seen::default()
            },
            screen: Screen::new(size),
            search: Search::default(),
            page_map: PageMapData::default(),
            space: Space::default(),
            lab: Lab::default(),
            lesson: None,
            settings: Settings::default(),
            log: Log::default(),
            time: Time::default(),
        }
    }

    /// Where the row labels (and `:`) count from: the mapping's address after `v`, else its
    /// file offset. A label is this plus the offset in the mapping.
    pub fn label_base(&self) -> u64 {
        if self.screen.show_vaddr {
            self.snap.shape.addr
        } else {
            self.snap.shape.geometry.offset
        }
    }

    /// Width of the offsets column in hex digits.
    pub fn offset_digits(&self) -> u16 {
        let last = self.label_base() + self.snap.shape.geometry.map_bytes().saturating_sub(1);
        let digits = (64 - last.leading_zeros()).div_ceil(4) as u16;
        digits.max(8)
    }

    pub fn layout(&self) -> Layout {
        let (cols, rows) = self.screen.size;
        let log_focused = self.screen.focus == Focus::Log;
        let log_rows = if self.lesson.is_some() {
            Layout::lesson_pane_rows(rows, self.lesson_wants(), log_focused)
        } else {
            Layout::log_rows(rows, log_focused)
        };
        let layout = Layout::with_log(cols, rows, self.offset_digits(), log_rows);
        let layout = if self.screen.typed.shows_inspector() {
            layout.with_inspector(inspector_rows(cols))
        } else {
            layout
        };
        if self.time.replay.is_some() {
            layout.with_timeline()
        } else {
            layout
        }
    }

    /// Private edits that a remap or quit would lose.
    pub fn private_edits(&self) -> usize {
        if self.snap.shape.mode == crate::sys::map::request::MapMode::Private {
            self.doc.edits.len()
        } else {
            0
        }
    }

    /// Whether the byte at `off` was written by this tool and not yet covered by an msync.
    pub fn edited(&self, off: u64) -> bool {
        self.doc.edits.contains(&off)
    }

    /// The change of smaps counter `field` still on display, as (before, now).
    pub fn delta(&self, field: SmapsField) -> Option<(u64, u64)> {
        let d = self.seen.deltas.get(field.index()).copied().flatten()?;
        let vma = self.snap.readings.vma.as_ref()?;
        (self.log.now_ms.saturating_sub(d.at_ms) < DELTA_HOLD_MS).then(|| (d.before, field.of(vma)))
    }
}
