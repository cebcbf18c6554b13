//! The grid as one long document of lines: each page a header line and its rows of
//! `bytes_per_row` bytes; where a line is, what it shows, and keeping the cursor in view.

use super::Model;
use crate::layout::Layout;
use crate::sys::probe::snapshot::View;

impl Model {
    pub fn bytes_per_row(&self) -> u64 {
        // Asked once a row while drawing: from the width alone, not the whole layout (which
        // wraps a lesson's narration to size its pane).
        Layout::columns(self.screen.size.0, self.offset_digits()).0
    }

    pub fn page_size(&self) -> u64 {
        self.snap.shape.geometry.page_size
    }

    pub fn pages(&self) -> u64 {
        self.snap.shape.geometry.pages()
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
        self.snap.shape.geometry.map_bytes().saturating_sub(1)
    }

    /// Moves `top` so that the cursor's row is visible (and its page header when on the first
    /// row of a page), and never past the end of the document.
    pub fn scroll_to_cursor(&mut self) {
        let h = self.layout().grid_rows();
        let line = self.line_of(self.doc.cursor);
        if line < self.doc.top {
            let first_row = (self.doc.cursor % self.page_size()) < self.bytes_per_row();
            self.doc.top = if first_row { line - 1 } else { line };
        } else if line >= self.doc.top + h {
            self.doc.top = line + 1 - h;
        }
        let max_top = self.total_lines().saturating_sub(h);
        self.doc.top = self.doc.top.min(max_top);
    }

    /// The part of the mapping on screen, for the next probe.
    pub fn view(&self) -> View {
        let h = self.layout().grid_rows();
        // The place may belong to another snapshot than the one shown (ours comes back on
        // Backspace before our next probe does): a line past the end asks for the last one.
        let first_line = self.doc.top.min(self.total_lines().saturating_sub(1));
        let last_line = (first_line + h).min(self.total_lines()).saturating_sub(1);
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
        if let Some((start, end)) = self.typed_bytes(h) {
            return self.view_of(start, end);
        }
        let (mut last_page, mut byte_end) = (last_page, byte_end);
        if self.screen.typed.shows_inspector() {
            // The inspector reads 8 bytes from the cursor, which may run past the last row
            // (into a page whose header is not on screen: it is probed too).
            let end = (self.doc.cursor + 8).min(self.snap.shape.geometry.map_bytes());
            if end > byte_end {
                byte_end = end;
                last_page = last_page.max((end - 1) / self.page_size());
            }
        }
        View {
            first_page,
            page_count: last_page - first_page + 1,
            byte_start,
            byte_len: byte_end.saturating_sub(byte_start),
            minimap: self.seen.minimap.ask(
                self.doc.cursor / self.page_size().max(1),
                self.settings.refresh_ms,
            ),
        }
    }
}

impl Model {
    /// The bytes the code and strings views read instead of the rows: the instructions from
    /// the cursor (at most 15 bytes a row), the whole page under the cursor. Bounded by the
    /// rows shown (a page at most), whatever the terminal's size.
    fn typed_bytes(&self, rows: u64) -> Option<(u64, u64)> {
        let ps = self.page_size();
        let c = self.doc.cursor;
        let end = self.snap.shape.geometry.map_bytes();
        match self.screen.typed.kind {
            super::ViewKind::Code => {
                let len = (rows * super::values::MAX_INSN).min(ps);
                Some((c, (c + len).min(end)))
            }
            super::ViewKind::Strings => Some((c / ps * ps, (c / ps * ps + ps).min(end))),
            _ => None,
        }
    }

    /// The probe's view of the bytes `start..end`: their pages and those bytes.
    fn view_of(&self, start: u64, end: u64) -> View {
        let ps = self.page_size();
        let first_page = start / ps;
        let last_page = end.saturating_sub(1).max(start) / ps;
        View {
            first_page,
            page_count: last_page - first_page + 1,
            byte_start: start,
            byte_len: end.saturating_sub(start),
            minimap: self
                .seen
                .minimap
                .ask(self.doc.cursor / ps.max(1), self.settings.refresh_ms),
        }
    }
}
