//! The page map: open it (the whole mapping fits, the cursor's cell selected), move, zoom,
//! open a page, take the session's reading.

use crate::action::{CellMove, Command, PageMapAction};
use crate::model::{Model, Overlay, PageMapSlice};

use super::grid::select_page;

/// Routes a page-map action: open it (the whole mapping fits, the cursor's cell selected),
/// move, zoom, open a page.
pub(super) fn update(model: &mut Model, action: PageMapAction) -> Vec<Command> {
    if action == PageMapAction::Open {
        model.page_map = Default::default();
        let page = model.doc.cursor / model.page_size();
        let w = model.map_window(page, model.page_map_fit(), 0);
        show_map(
            model,
            page,
            w.per_cell,
            (w.selected / w.cols).saturating_sub(w.rows / 2),
        );
        return Vec::new();
    }
    let (Some(w), Overlay::PageMap { selected, .. }) =
        (model.page_map_window(), &model.screen.overlay)
    else {
        return Vec::new();
    };
    // The page selected, exactly: zooming out and in again comes back to it.
    let page = *selected;
    match action {
        PageMapAction::Move(m) => show_map(model, moved(&w, m) * w.per_cell, w.per_cell, w.top),
        PageMapAction::Zoom(zoom_in) => {
            let per = if zoom_in {
                (w.per_cell / 2).max(1)
            } else {
                (w.per_cell * 2).min(model.page_map_fit().max(w.per_cell))
            };
            // The selected page stays, its row in the middle.
            let row = page / per / w.cols;
            show_map(model, page, per, row.saturating_sub(w.rows / 2));
        }
        PageMapAction::OpenCell => {
            let page = w.selected * w.per_cell;
            model.screen.overlay = Overlay::None;
            model.log(format!("page map: opened page {page}"));
            let left = super::jumps::here(model);
            select_page(model, page);
            super::jumps::moved_from(model, left);
        }
        // Opened above.
        PageMapAction::Open => {}
    }
    Vec::new()
}

/// The page map's cells as the session read them: a slice of the window's cells.
pub(super) fn probed(model: &mut Model, slice: PageMapSlice) {
    let map = &mut model.page_map;
    // Another window (moved, zoomed): its cells start unread (drawn blank).
    if (map.first, map.per_cell, map.buckets.len()) != (slice.first, slice.per_cell, slice.cells) {
        *map = crate::model::PageMapData {
            first: slice.first,
            per_cell: slice.per_cell,
            buckets: vec![crate::sys::probe::chunks::Bucket::default(); slice.cells],
        };
    }
    for (i, b) in slice.buckets.into_iter().enumerate() {
        if let Some(cell) = map.buckets.get_mut(slice.start + i) {
            *cell = b;
        }
    }
}

/// The page map with page `page` selected, `per_cell` pages a cell, scrolled from row `top`
/// as little as keeps the selection in view.
fn show_map(model: &mut Model, page: u64, per_cell: u64, top: u64) {
    let w = model.map_window(page, per_cell, top);
    model.screen.overlay = Overlay::PageMap {
        selected: page.min(model.pages().saturating_sub(1)),
        per_cell: w.per_cell,
        top: w.top,
    };
}

/// The cell a move selects.
fn moved(w: &crate::model::MapWindow, m: CellMove) -> u64 {
    let last = w.total - 1;
    let screen = w.rows * w.cols;
    let c = w.selected;
    match m {
        CellMove::Left => c.saturating_sub(1),
        CellMove::Right => (c + 1).min(last),
        CellMove::Up => c.checked_sub(w.cols).unwrap_or(c),
        CellMove::Down if c + w.cols <= last => c + w.cols,
        CellMove::Down => c,
        CellMove::PageUp => c.saturating_sub(screen),
        CellMove::PageDown => (c + screen).min(last),
        CellMove::First => 0,
        CellMove::Last => last,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn the_page_map_opens_fitted_moves_zooms_and_opens_a_page() {
        // 80x24: the cells' area is 70 x 17 (labels of "4,095" and a space).
        let mut m = model(4096, (80, 24));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Page(100))),
        );
        update(&mut m, Action::PageMap(PageMapAction::Open));
        let w = m.page_map_window().expect("open");
        assert_eq!((w.cols, w.rows), (70, 17));
        assert_eq!(w.per_cell, 4, "4096 pages in 1190 cells: 4 a cell");
        assert_eq!((w.total, w.selected, w.top), (1024, 25, 0));
        update(&mut m, Action::PageMap(PageMapAction::Move(CellMove::Down)));
        update(
            &mut m,
            Action::PageMap(PageMapAction::Move(CellMove::Right)),
        );
        assert_eq!(m.page_map_window().unwrap().selected, 25 + 70 + 1);
        update(&mut m, Action::PageMap(PageMapAction::Move(CellMove::Last)));
        let w = m.page_map_window().unwrap();
        assert_eq!(w.selected, 1023);
        update(&mut m, Action::PageMap(PageMapAction::Zoom(false)));
        assert_eq!(m.page_map_window().unwrap().per_cell, 4, "fits already");
        update(&mut m, Action::PageMap(PageMapAction::Zoom(true)));
        update(&mut m, Action::PageMap(PageMapAction::Zoom(true)));
        let w = m.page_map_window().unwrap();
        assert_eq!(
            (w.per_cell, w.selected),
            (1, 4092),
            "the same page, zoomed in"
        );
        assert!(w.selected / w.cols >= w.top && w.selected / w.cols < w.top + w.rows);
        assert_eq!(w.cells(), (w.total - w.first_cell()).min(70 * 17));
        update(
            &mut m,
            Action::PageMap(PageMapAction::Move(CellMove::First)),
        );
        assert_eq!(m.page_map_window().unwrap().top, 0);
        update(
            &mut m,
            Action::PageMap(PageMapAction::Move(CellMove::PageDown)),
        );
        update(&mut m, Action::PageMap(PageMapAction::Move(CellMove::Left)));
        let b = |first| crate::sys::probe::chunks::Bucket {
            first,
            pages: 1,
            resident: Some(1),
            ..Default::default()
        };
        let slice = |start: usize, buckets| crate::model::PageMapSlice {
            first: 0,
            per_cell: 1,
            cells: 4,
            start,
            buckets,
        };
        update(&mut m, Event::PageMapProbed(slice(1, vec![b(1), b(2)])));
        assert_eq!(
            m.page_map.buckets.len(),
            4,
            "the window's cells, unread ones blank"
        );
        assert_eq!(m.page_map.buckets[0].pages, 0, "not read yet");
        assert_eq!(m.page_map.buckets[2], b(2));
        update(&mut m, Event::PageMapProbed(slice(3, vec![b(3)])));
        assert_eq!(m.page_map.buckets[1], b(1), "earlier slices stay");
        assert_eq!(m.page_map.buckets[3], b(3));
        update(&mut m, Action::PageMap(PageMapAction::OpenCell));
        assert_eq!(m.screen.overlay, Overlay::None);
        let page = 70 * 17 - 1;
        assert_eq!(m.doc.cursor, page * PS);
        assert_eq!(m.line_content(m.doc.top), (page, None));
        update(&mut m, Action::PageMap(PageMapAction::Open));
        update(&mut m, Action::View(ViewAction::CloseOverlay));
        assert_eq!(m.screen.overlay, Overlay::None);
    }
}
