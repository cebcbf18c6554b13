//! The mouse, placed with the geometry the drawing uses: a click on a byte of the grid moves
//! the cursor there (`layout::RowColumns`, the columns `hex_grid` draws a row in, inside the
//! same bordered block; the bytes view only: typed rows are laid out by `typed`), on a page
//! header to the page's first byte; a click on a minimap cell
//! goes to its first page (the cells `minimap` draws); in the page map a click selects a cell
//! and a click on the cell selected opens it (`page_map_layout`, where `page_map` draws
//! them); the wheel scrolls what is under it (the grid, the side panel, the log or the lesson
//! pane, the page map, the address-space view, the help). Pure: an event and the model in,
//! actions out, the same actions keys give.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Block;

use crate::action::{
    Action, CellMove, GotoTarget, GridAction, LessonAction, Motion, PageMapAction, SpaceAction,
    ViewAction,
};
use crate::layout::{MINIMAP_LABEL, RowColumns};
use crate::model::{Focus, Model, Overlay, ViewKind};

/// Lines (or VMAs, or page-map rows) one notch of the wheel scrolls.
const WHEEL: i32 = 3;

/// The actions a mouse event asks for, in order (none for one that means nothing here).
pub fn actions(model: &Model, ev: MouseEvent) -> Vec<Action> {
    let at = Position::new(ev.column, ev.row);
    let wheel = match ev.kind {
        MouseEventKind::ScrollDown => WHEEL,
        MouseEventKind::ScrollUp => -WHEEL,
        MouseEventKind::Down(MouseButton::Left) => return click(model, at),
        _ => return Vec::new(),
    };
    scroll(model, at, wheel)
}

/// A left click at `at`.
fn click(model: &Model, at: Position) -> Vec<Action> {
    let action = match &model.screen.overlay {
        Overlay::PageMap { .. } => {
            page_map_page(model, at).map(|p| Action::PageMap(PageMapAction::Click(p)))
        }
        Overlay::Space { .. } => {
            super::space::vma_at(model, at).map(|i| Action::Space(SpaceAction::Click(i)))
        }
        Overlay::None => grid_offset(model, at)
            .map(|off| Action::Grid(GridAction::Point(off)))
            .or_else(|| {
                minimap_page(model, at).map(|p| Action::Grid(GridAction::Goto(GotoTarget::Page(p))))
            }),
        // Help, menus, questions and prompts take keys.
        _ => None,
    };
    action.into_iter().collect()
}

/// The wheel, `lines` down (up when negative), over `at`.
fn scroll(model: &Model, at: Position, lines: i32) -> Vec<Action> {
    let n = lines.unsigned_abs() as usize;
    let down = lines > 0;
    match &model.screen.overlay {
        Overlay::Help => return vec![Action::View(ViewAction::ScrollHelp(lines))],
        Overlay::Space { .. } => return vec![Action::Space(SpaceAction::Move(i64::from(lines)))],
        Overlay::PageMap { .. } => {
            let m = if down { CellMove::Down } else { CellMove::Up };
            return vec![Action::PageMap(PageMapAction::Move(m)); n];
        }
        Overlay::None => {}
        _ => return Vec::new(),
    }
    let layout = model.layout();
    if layout.too_small {
        return Vec::new();
    }
    if layout.log.contains(at) {
        return vec![match model.lesson {
            Some(_) => Action::Lesson(LessonAction::Scroll(lines)),
            // Up is older in the log.
            None => Action::View(ViewAction::ScrollLog(-lines)),
        }];
    }
    let panel_in_grid =
        layout.panel.is_none() && (model.screen.focus == Focus::Panel || model.screen.explain);
    if layout.panel.is_some_and(|p| p.contains(at)) || (panel_in_grid && layout.grid.contains(at)) {
        return vec![Action::View(ViewAction::ScrollPanel(lines))];
    }
    if layout.grid.contains(at) {
        let m = if down { Motion::Down } else { Motion::Up };
        return vec![Action::Grid(GridAction::Move(m)); n];
    }
    Vec::new()
}

/// The mapping offset of the byte drawn at `at` in the grid, if the grid is drawn there: a
/// byte's hex digits or character, a row's offset (its first byte), a page header (the
/// page's first byte).
pub fn grid_offset(model: &Model, at: Position) -> Option<u64> {
    let layout = model.layout();
    let panel_in_grid =
        layout.panel.is_none() && (model.screen.focus == Focus::Panel || model.screen.explain);
    if layout.too_small || panel_in_grid {
        return None;
    }
    // The block `hex_grid::render` draws the rows in.
    let inner: Rect = Block::bordered().inner(layout.grid);
    if !inner.contains(at) {
        return None;
    }
    // The code and strings views draw lines of their own; the typed values' rows are laid out
    // by `ui::typed::row`: a click places only the bytes view's rows and page headers.
    let kind = model.screen.typed.kind;
    if matches!(kind, ViewKind::Code | ViewKind::Strings) {
        return None;
    }
    let line = model.doc.top + u64::from(at.y - inner.y);
    if line >= model.total_lines() {
        return None;
    }
    let off = match model.line_content(line) {
        (page, None) => page * model.page_size(),
        (_, Some(_)) if kind != ViewKind::Bytes => return None,
        (_, Some(row)) => {
            let cols = RowColumns {
                bpr: model.bytes_per_row(),
                digits: model.offset_digits(),
            };
            row + cols.byte_at(at.x - inner.x)?
        }
    };
    Some(off.min(model.max_cursor()))
}

/// The first page of the minimap cell drawn at `at`.
pub fn minimap_page(model: &Model, at: Position) -> Option<u64> {
    let layout = model.layout();
    if layout.too_small || !layout.minimap.contains(at) {
        return None;
    }
    // ` pages ` then `▕`, then a cell a column (as `minimap::render` draws them).
    let i = at.x.checked_sub(layout.minimap.x + MINIMAP_LABEL + 1)?;
    let cells = model
        .seen
        .minimap
        .cells(layout.minimap_cells(), &model.snap.shape.geometry);
    cells.get(usize::from(i)).map(|c| c.bucket.first)
}

/// The first page of the page map's cell drawn at `at`.
pub fn page_map_page(model: &Model, at: Position) -> Option<u64> {
    let w = model.page_map_window()?;
    let cells = model.page_map_layout().cells;
    if !cells.contains(at) {
        return None;
    }
    let (col, row) = (u64::from(at.x - cells.x), u64::from(at.y - cells.y));
    let cell = (w.top + row) * w.cols + col;
    (col < w.cols && cell < w.total).then(|| cell * w.per_cell)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Geometry;
    use crate::sys::map::request::{MapMode, Prot};
    use crate::sys::probe::snapshot::{Backing, Snapshot, ViewBytes};
    use ratatui::crossterm::event::KeyModifiers;

    /// A model of `pages` anonymous pages on a `size` terminal, every byte read (its value
    /// its offset's low byte).
    fn model(pages: u64, size: (u16, u16)) -> Model {
        let geometry = Geometry {
            page_size: 4096,
            offset: 0,
            len: pages * 4096,
            file_size: None,
        };
        let mut snap = Snapshot::empty(
            Backing::Anon,
            MapMode::Private,
            Prot::RW,
            0x7f00_0000_0000,
            geometry,
        );
        snap.probed.bytes = ViewBytes {
            start: 0,
            data: (0..pages * 4096).map(|i| Some(i as u8)).collect(),
            unread: Vec::new(),
        };
        let mut m = Model::new(snap, size);
        m.settings.color = false;
        m
    }

    fn press(col: u16, row: u16) -> MouseEvent {
        MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: col,
            row,
            modifiers: KeyModifiers::NONE,
        }
    }

    fn wheel(down: bool, col: u16, row: u16) -> MouseEvent {
        MouseEvent {
            kind: if down {
                MouseEventKind::ScrollDown
            } else {
                MouseEventKind::ScrollUp
            },
            ..press(col, row)
        }
    }

    /// Every byte of every row drawn, clicked where its hex digits and its character are
    /// drawn (found in the rendered screen), is the byte the click moves the cursor to.
    #[test]
    fn a_click_lands_on_the_byte_drawn_under_it_at_every_width() {
        for size in [(80, 24), (120, 40), (200, 60)] {
            let m = model(2, size);
            let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(size.0, size.1))
                .expect("terminal");
            t.draw(|f| crate::ui::render(&m, f)).expect("draw");
            let buf = t.backend().buffer().clone();
            let layout = m.layout();
            let inner = Block::bordered().inner(layout.grid);
            let bpr = m.bytes_per_row();
            let cols = RowColumns {
                bpr,
                digits: m.offset_digits(),
            };
            for y in inner.y + 1..inner.y + inner.height {
                let (_, Some(row)) = m.line_content(m.doc.top + u64::from(y - inner.y)) else {
                    continue;
                };
                for i in 0..bpr {
                    let off = row + i;
                    let x = inner.x + cols.hex(i);
                    let drawn: String = (0..2)
                        .map(|k| buf[(x + k, y)].symbol().to_string())
                        .collect();
                    assert_eq!(
                        drawn,
                        format!("{:02x}", off as u8),
                        "{size:?} byte {off:#x}"
                    );
                    for at in [x, x + 1, inner.x + cols.text(i)] {
                        assert_eq!(
                            actions(&m, press(at, y)),
                            [Action::Grid(GridAction::Point(off))],
                            "{size:?} byte {off:#x} at column {at}"
                        );
                    }
                }
                // Past the text column: nothing.
                assert_eq!(actions(&m, press(inner.x + cols.width(), y)), []);
            }
            // A page header: the page's first byte.
            assert_eq!(
                actions(&m, press(inner.x + 3, inner.y)),
                [Action::Grid(GridAction::Point(0))]
            );
        }
    }

    #[test]
    fn the_wheel_scrolls_what_is_under_it() {
        let m = model(2, (120, 40));
        let layout = m.layout();
        let grid = layout.grid;
        assert_eq!(
            actions(&m, wheel(true, grid.x + 5, grid.y + 5)),
            vec![Action::Grid(GridAction::Move(Motion::Down)); 3]
        );
        let panel = layout.panel.expect("a panel at 120 columns");
        assert_eq!(
            actions(&m, wheel(false, panel.x + 2, panel.y + 2)),
            [Action::View(ViewAction::ScrollPanel(-3))]
        );
        assert_eq!(
            actions(&m, wheel(false, 3, layout.log.y)),
            [Action::View(ViewAction::ScrollLog(3))],
            "up is older"
        );
        assert_eq!(actions(&m, wheel(true, 3, layout.keys.y)), []);
    }

    #[test]
    fn a_click_in_the_page_map_selects_a_cell_and_a_second_opens_it() {
        let mut m = model(64, (80, 24));
        crate::update::update(&mut m, Action::PageMap(PageMapAction::Open));
        let cells = m.page_map_layout().cells;
        let w = m.page_map_window().expect("open");
        let at = Position::new(cells.x + 5, cells.y);
        let page = 5 * w.per_cell;
        assert_eq!(
            actions(&m, press(at.x, at.y)),
            [Action::PageMap(PageMapAction::Click(page))]
        );
        crate::update::update(&mut m, Action::PageMap(PageMapAction::Click(page)));
        assert_eq!(m.page_map_window().map(|w| w.selected), Some(5));
        crate::update::update(&mut m, Action::PageMap(PageMapAction::Click(page)));
        assert_eq!(m.screen.overlay, Overlay::None, "opened");
        assert_eq!(m.doc.cursor, page * 4096);
        // Outside the cells: nothing.
        crate::update::update(&mut m, Action::PageMap(PageMapAction::Open));
        assert_eq!(actions(&m, press(0, 0)), []);
    }

    #[test]
    fn a_click_in_the_address_space_view_selects_the_vma_drawn_there_and_a_second_explores() {
        use crate::sys::proc::maps::MapsLine;
        use crate::sys::proc::process::{VmaKind, VmaSummary};
        let mut m = model(1, (120, 40));
        crate::update::update(&mut m, Action::Space(SpaceAction::Open));
        let vma = |start: u64, size: u64, path: &str| VmaSummary {
            line: MapsLine {
                start,
                end: start + size,
                perms: "rw-p".into(),
                offset: 0,
                dev: 0,
                inode: 0,
                path: path.into(),
            },
            kind: VmaKind::Anonymous,
            rss: Some(4096),
            mem: None,
            label: None,
        };
        // A gap between the second and the third: a row of its own, naming no VMA.
        let vmas = vec![
            vma(0x1000, 0x1000, "a"),
            vma(0x2000, 0x1000, "b"),
            vma(0x10_0000, 0x1000, "c"),
        ];
        crate::update::update(
            &mut m,
            crate::action::Event::SpaceProbed {
                vmas,
                title: "pid 1 test".into(),
                read_ms: 0,
                note: None,
            },
        );
        let mut t =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
        t.draw(|f| crate::ui::render(&m, f)).expect("draw");
        let buf = t.backend().buffer().clone();
        // Find each VMA's row on the screen by its address, and click on it.
        let row_of = |hex: &str| {
            (0..40u16)
                .find(|&y| {
                    let line: String = (0..120u16)
                        .map(|x| buf[(x, y)].symbol().to_string())
                        .collect();
                    line.contains(hex)
                })
                .expect("drawn")
        };
        let (a, c) = (row_of("000000001000"), row_of("000000100000"));
        assert_eq!(vma_at(&m, a), Some(0));
        assert_eq!(vma_at(&m, c), Some(2));
        assert_eq!(vma_at(&m, c - 1), None, "the gap's row");
        assert_eq!(
            actions(&m, press(30, c)),
            [Action::Space(SpaceAction::Click(2))]
        );
        crate::update::update(&mut m, Action::Space(SpaceAction::Click(2)));
        assert_eq!(m.screen.overlay, Overlay::Space { selected: 2 });
        let cmds = crate::update::update(&mut m, Action::Space(SpaceAction::Click(2)));
        assert!(
            matches!(cmds.as_slice(), [crate::action::Command::Explore(l)] if l.start == 0x10_0000),
            "{cmds:?}"
        );
    }

    /// `vma_at` at row `y`, column 30.
    fn vma_at(m: &Model, y: u16) -> Option<usize> {
        super::super::space::vma_at(m, Position::new(30, y))
    }
}
