//! The page map's state (`P`): its cells as the session read them, the slices a refresh reads,
//! and the window of cells drawn, with the methods that place it on this terminal.

use ratatui::layout::Rect;

use super::{Model, Overlay};

/// The page map's cells as the session read them: `buckets[i]` holds the `per_cell` pages
/// from page `first + i * per_cell` (the last cell of the mapping may hold fewer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageMapData {
    pub first: u64,
    pub per_cell: u64,
    pub buckets: Vec<crate::sys::probe::chunks::Bucket>,
}

/// Cells of the page map read at one refresh: `buckets[i]` is cell `start + i` of the window
/// of `cells` cells of `per_cell` pages from page `first`. The session reads a slice a refresh
/// within a time budget (the whole window when it is cheap), so that the map's cost does not
/// grow with the mapping or with what is cached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageMapSlice {
    pub first: u64,
    pub per_cell: u64,
    pub cells: usize,
    pub start: usize,
    pub buckets: Vec<crate::sys::probe::chunks::Bucket>,
}

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

impl Model {
    /// The page map's places on this terminal.
    pub fn page_map_layout(&self) -> PageMapLayout {
        page_map_at(self.screen.size.0, self.screen.size.1, self.pages())
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
        match self.screen.overlay {
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
}

/// Lines of the page map above its cells: the legend, the counts, the selected cell.
pub const PAGE_MAP_INFO_ROWS: u16 = 3;

/// The page map overlay's places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageMapLayout {
    /// The bordered box.
    pub outer: Rect,
    /// The lines above the cells.
    pub info: Rect,
    /// Each row's first page.
    pub labels: Rect,
    /// One cell a column.
    pub cells: Rect,
}

/// Where the page map of a mapping of `pages` pages goes on a `cols` x `rows` terminal.
pub fn page_map_at(cols: u16, rows: u16, pages: u64) -> PageMapLayout {
    let outer = Rect::new(1, 1, cols.saturating_sub(2), rows.saturating_sub(2));
    let inner = Rect::new(
        outer.x + 1,
        outer.y + 1,
        outer.width.saturating_sub(2),
        outer.height.saturating_sub(2),
    );
    let info_h = PAGE_MAP_INFO_ROWS.min(inner.height);
    let digits = crate::text::thousands(pages.saturating_sub(1)).len();
    let label_w = (u16::try_from(digits).unwrap_or(u16::MAX) + 1).min(inner.width / 3);
    let body = Rect::new(
        inner.x,
        inner.y + info_h,
        inner.width,
        inner.height - info_h,
    );
    PageMapLayout {
        outer,
        info: Rect::new(inner.x, inner.y, inner.width, info_h),
        labels: Rect::new(body.x, body.y, label_w, body.height),
        cells: Rect::new(body.x + label_w, body.y, body.width - label_w, body.height),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_map_leaves_room_for_labels_and_info() {
        let l = page_map_at(80, 24, 262_144);
        assert_eq!(l.outer, Rect::new(1, 1, 78, 22));
        assert_eq!((l.info.y, l.info.height), (2, PAGE_MAP_INFO_ROWS));
        assert_eq!(l.labels.width, "262,143".len() as u16 + 1);
        assert_eq!(l.cells.x, l.labels.x + l.labels.width);
        assert_eq!(l.cells.width + l.labels.width, 76);
        assert_eq!(l.cells.height, 22 - 2 - PAGE_MAP_INFO_ROWS);
        let tiny = page_map_at(3, 3, 1);
        assert_eq!(tiny.cells.height, 0);
    }
}
