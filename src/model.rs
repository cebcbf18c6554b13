//! The TUI's whole state: the last snapshot of the kernel, the cursor and viewport, overlays, the
//! event log. Plain data; `update` changes it, `ui::render` draws it, and tests fabricate it.
//!
//! The grid is one long document of lines: each page is a header line followed by its rows of
//! `bytes_per_row` bytes. Line numbers are u64 so a 1 TiB mapping scrolls like a 4 KiB one.

use std::collections::{BTreeMap, BTreeSet};

use crate::action::{Action, Ask, MenuKind};
use crate::find::{Query, Searching};
use crate::layout::Layout;
use crate::sys::snapshot::{Snapshot, View};

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

pub use crate::sys::procmaps::SmapsField;

/// How long a changed smaps counter keeps showing its change.
pub const DELTA_HOLD_MS: u64 = 5000;

/// A change of one smaps counter: value before, when it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub before: u64,
    pub at_ms: u64,
}

/// The TUI's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub snap: Snapshot,
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
    /// Lines scrolled back in the log (0: the newest at the bottom).
    pub log_scroll: u16,
    /// Lines scrolled down in the help overlay.
    pub help_scroll: u16,
    /// A peer process is writing into the file.
    pub peer_running: bool,
    /// The address space for its view (read while the view is open), and its title.
    pub space: Vec<crate::sys::process::VmaSummary>,
    pub space_title: String,
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
    pub malloc: Option<crate::sys::lab::Threshold>,
    /// The lesson being played, if any.
    pub lesson: Option<LessonPane>,
    /// The high-contrast theme (for projectors).
    pub high_contrast: bool,
    /// What `n` / `N` repeat.
    pub last_search: Option<Query>,
    /// A search running across ticks (Esc cancels it).
    pub searching: Option<Searching>,
    /// The bytes the last byte search found (offset, length), highlighted.
    pub found: Option<(u64, u64)>,
    /// The page map's cells, as the session last read them.
    pub page_map: PageMapData,
    pub quit: bool,
}

/// Most log lines kept.
pub const LOG_KEEP: usize = 500;

impl Model {
    /// A model showing `snap` on a `size` terminal, cursor at the start.
    pub fn new(snap: Snapshot, size: (u16, u16)) -> Self {
        Self {
            snap,
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
            log_scroll: 0,
            help_scroll: 0,
            peer_running: false,
            space: Vec::new(),
            space_title: String::new(),
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

    /// Width of the offsets column in hex digits.
    pub fn offset_digits(&self) -> u16 {
        let last = if self.show_vaddr {
            self.snap.end_addr().saturating_sub(1)
        } else {
            self.snap.geometry.offset + self.snap.geometry.map_bytes().saturating_sub(1)
        };
        let digits = (64 - last.leading_zeros()).div_ceil(4) as u16;
        digits.max(8)
    }

    pub fn layout(&self) -> Layout {
        let log_rows = if self.lesson.is_some() {
            Layout::lesson_rows(self.size.1)
        } else {
            Layout::log_rows(self.size.1, self.focus == Focus::Log)
        };
        Layout::with_log(self.size.0, self.size.1, self.offset_digits(), log_rows)
    }

    pub fn bytes_per_row(&self) -> u64 {
        self.layout().bytes_per_row
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
            minimap_cells: self.layout().minimap_cells(),
        }
    }

    /// Appends a log line stamped with the clock of the last refresh.
    pub fn log(&mut self, text: impl Into<String>) {
        self.log.push(LogLine {
            time: self.clock.clone(),
            text: text.into(),
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
        let (before, after) = (self.snap.geometry.file_size, snap.geometry.file_size);
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
        if let (Some(before), Some(after)) = (before, after)
            && before != after
        {
            let notes = self.snap.geometry.size_change(before, after);
            self.log(format!(
                "the file {} under the mapping: {} B -> {} B; {}",
                if after < before { "shrank" } else { "grew" },
                crate::text::thousands(before),
                crate::text::thousands(after),
                notes.join("; ")
            ));
        }
        // The file may have shrunk or grown; the mapping's length does not change.
        self.cursor = self.cursor.min(self.max_cursor());
        self.scroll_to_cursor();
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
                    .any(|(o, n)| (*o..o + n).contains(off))
            })
            .collect()
    }

    /// Private edits that a remap or quit would lose.
    pub fn private_edits(&self) -> usize {
        if self.snap.mode == crate::sys::region::MapMode::Private {
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
    use super::LessonResult;

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
