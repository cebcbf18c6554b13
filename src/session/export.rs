//! `export`: before the write gate decides, the session chooses the picture (the address-space
//! view when it is open, else the diff when there is a mark of what is shown, else the page
//! map), reads what it needs of the kernel (the page map's cells of the whole mapping, at most
//! 64 x 64; the address space when it has not been read; the comparison `diff` prints), and
//! has it drawn. The session sits below the screen, which draws: the
//! program hands it the screen's drawing function once at start (`set_painter`), as it hands
//! it a terminal size. The file is then written by `sys::ops::dump::export`, through the gate.

use std::sync::OnceLock;

use crate::action::Op;
use crate::model::{Model, Overlay, PageMapData};
use crate::sys::SysError;
use crate::sys::ops::op::{Export, ExportFormat, ExportWhat};

use super::Session;

/// What the session read for a picture, beyond the model: the page map's cells of the whole
/// mapping (for `svg map`), `diff`'s JSON (for `svg diff`).
#[derive(Debug, Clone, Default)]
pub struct Canvas {
    pub cells: PageMapData,
    pub diff: Option<serde_json::Value>,
}

/// The screen's drawing of an export: the document and a few words of what it holds, or why
/// this picture is not drawn in this format.
pub type Painter = fn(&Model, &Export, &Canvas) -> Result<(Vec<u8>, String), String>;

/// The cells of the page map's picture: `MAP_COLS` a row, at most `MAP_ROWS` rows (a 16:9
/// slide holds 64 x 36 legibly; 4,096 cells at most, however large the mapping).
pub const MAP_COLS: u64 = 64;
pub const MAP_ROWS: u64 = 64;

static PAINTER: OnceLock<Painter> = OnceLock::new();

/// Gives sessions the screen's drawing of exports (`ui::export::draw`); the first call wins.
pub fn set_painter(painter: Painter) {
    let _ = PAINTER.set(painter);
}

/// The fewest pages a cell (a power of two) with which `pages` pages fit `MAP_COLS` x
/// `MAP_ROWS` cells.
pub fn cell_pages(pages: u64) -> u64 {
    let capacity = MAP_COLS * MAP_ROWS;
    let mut per = 1u64;
    while pages.div_ceil(per) > capacity {
        per *= 2;
    }
    per
}

impl Session {
    /// An export with its picture chosen and drawn (`Export::drawn`); any other operation as it
    /// is.
    ///
    /// # Errors
    /// No painter was given, or the picture is not drawn in this format (the operation comes
    /// back with the error, for the log).
    pub(super) fn draw_export(&mut self, op: Op) -> Result<Op, Box<(Op, SysError)>> {
        let Op::Export(mut export) = op else {
            return Ok(op);
        };
        let marked = self.model.time.mark_of(self.shown().0.addr()).is_some();
        let what = export
            .what
            .unwrap_or(match (export.format, &self.model.screen.overlay) {
                (ExportFormat::Html, _) => ExportWhat::Screen,
                (ExportFormat::Svg, Overlay::Space { .. }) => ExportWhat::Space,
                (ExportFormat::Svg, _) if marked => ExportWhat::Diff,
                (ExportFormat::Svg, _) => ExportWhat::PageMap,
            });
        export.what = Some(what);
        let mut canvas = Canvas::default();
        match what {
            ExportWhat::PageMap => canvas.cells = self.export_cells(),
            ExportWhat::Space => self.probe_space(),
            // The very comparison `diff` prints (no mark: its sentence, `no mark: press b`).
            ExportWhat::Diff => match self.diff() {
                Ok(json) => canvas.diff = Some(json),
                Err(why) => {
                    let err = SysError::new(libc::EINVAL, export.name(), why);
                    return Err(Box::new((Op::Export(export), err)));
                }
            },
            ExportWhat::Screen => {}
        }
        let Some(paint) = PAINTER.get() else {
            let err = SysError::new(
                libc::ENOSYS,
                export.name(),
                "this run has no screen to draw with: nothing written",
            );
            return Err(Box::new((Op::Export(export), err)));
        };
        match paint(&self.model, &export, &canvas) {
            Ok(drawn) => {
                export.drawn = Some(drawn);
                Ok(Op::Export(export))
            }
            Err(why) => {
                let err = SysError::new(libc::EINVAL, export.name(), why);
                Err(Box::new((Op::Export(export), err)))
            }
        }
    }

    /// Every cell of the mapping (or VMA) shown, at a cost bounded by the 4,096 cells, not by
    /// the mapping: a mapping of up to `cells::EXACT_PAGES` pages in one read page by page;
    /// a larger one in groups of cells just over that many pages, which `cells::buckets` reads
    /// a cell at a time (one cachestat or mincore each) instead of page by page.
    fn export_cells(&self) -> PageMapData {
        use crate::sys::probe::cells::{EXACT_PAGES, buckets};
        let (shown, prober) = self.shown();
        let geometry = self.model.snap.shape.geometry;
        let pages = geometry.pages();
        let per = cell_pages(pages);
        let cells = pages.div_ceil(per);
        let group = if per.saturating_mul(cells) <= EXACT_PAGES {
            cells.max(1)
        } else {
            EXACT_PAGES / per + 1
        };
        let mut read = Vec::new();
        let mut at = 0;
        while at < cells {
            let n = group.min(cells - at);
            read.extend(buckets(shown, prober, &geometry, at * per, per, n));
            at += n;
        }
        let buckets = read;
        PageMapData {
            first: 0,
            per_cell: per,
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_holds_the_fewest_pages_that_fit_the_picture() {
        assert_eq!(cell_pages(0), 1);
        assert_eq!(cell_pages(4096), 1);
        assert_eq!(cell_pages(4097), 2);
        // 1 TiB of 4 KiB pages: 2^28 pages in 4,096 cells of 2^16.
        assert_eq!(cell_pages(1 << 28), 1 << 16);
        for pages in [1, 3, 5000, 1 << 20, (1 << 34) + 7] {
            let per = cell_pages(pages);
            assert!(pages.div_ceil(per) <= MAP_COLS * MAP_ROWS);
            assert!(per == 1 || pages.div_ceil(per / 2) > MAP_COLS * MAP_ROWS);
        }
    }
}
