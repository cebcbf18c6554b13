//! Where everything goes on the screen, as a pure function of the terminal size and what is
//! shown: shared by `update` (how far PgDn moves, which rows are visible) and `render`.

use ratatui::layout::Rect;

/// Below this the screen says how large it needs to be instead of drawing.
pub const MIN_COLS: u16 = 60;
pub const MIN_ROWS: u16 = 16;
/// The side panel is shown beside the grid only when it gets at least this many columns.
pub const PANEL_MIN: u16 = 34;

/// Lines the grid and the side panel keep below a lesson's pane (a page header and five rows,
/// or the smaps block's most-named counters).
pub const MIN_BODY: u16 = 8;

/// Columns of the minimap's label (` pages `).
pub const MINIMAP_LABEL: u16 = 7;

/// The screen's areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub header: Rect,
    /// One row under the header: the whole mapping at a glance.
    pub minimap: Rect,
    /// The hex grid's block (with borders).
    pub grid: Rect,
    /// The side panel beside the grid; `None` when the terminal is too narrow (Tab then shows
    /// the panel in the grid's place).
    pub panel: Option<Rect>,
    pub log: Rect,
    pub keys: Rect,
    pub bytes_per_row: u64,
    pub too_small: bool,
    /// The inspector's lines under the grid and the panel (typed views), the whole width.
    pub inspector: Option<Rect>,
    /// A recording's timeline, one row under the grid and the panel, the whole width.
    pub timeline: Option<Rect>,
}

/// Columns the grid block needs for `bpr` bytes a row and an offsets column of `digits`.
pub fn grid_width(bpr: u64, digits: u16) -> u16 {
    // The borders, and the row between them.
    2 + RowColumns { bpr, digits }.width()
}

/// Where a grid row puts each byte, in columns from the grid's inner left edge: the offset
/// (`digits` wide), two spaces, `xx ` per byte with one more space after each group of 8, a
/// space, then one character per byte, and a blank column. `ui::hex_grid` draws rows so (its tests check them
/// against this), and a mouse click is placed with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowColumns {
    pub bpr: u64,
    pub digits: u16,
}

impl RowColumns {
    /// The column of byte `i`'s first hex digit.
    pub fn hex(self, i: u64) -> u16 {
        self.digits + 2 + (3 * i + i / 8) as u16
    }

    /// The column of byte `i`'s character in the text column.
    pub fn text(self, i: u64) -> u16 {
        self.hex(self.bpr) + i as u16
    }

    /// Columns of a whole row, with one blank column after the text.
    pub fn width(self) -> u16 {
        self.text(self.bpr) + 1
    }

    /// The byte of the row shown at column `col`: its hex digits, the space after them, or
    /// its character; the offset column means the row's first byte. `None` past the row.
    pub fn byte_at(self, col: u16) -> Option<u64> {
        let hex0 = self.hex(0);
        if col < hex0 {
            return Some(0);
        }
        let text0 = self.text(0);
        if col >= text0 {
            let i = u64::from(col - text0);
            return (i < self.bpr).then_some(i);
        }
        // 25 columns a group of 8: "xx " eight times and the group's extra space.
        let rel = u64::from(col - hex0);
        let i = rel / 25 * 8 + (rel % 25 / 3).min(7);
        Some(i.min(self.bpr - 1))
    }
}

impl Layout {
    /// The layout of a `cols` x `rows` terminal whose offsets column is `digits` wide.
    pub fn compute(cols: u16, rows: u16, digits: u16) -> Layout {
        Self::with_log(cols, rows, digits, 1)
    }

    /// The lines the event log gets: more when it has focus or the terminal is tall.
    pub fn log_rows(rows: u16, log_focused: bool) -> u16 {
        if log_focused {
            (rows / 2).max(1)
        } else if rows >= 36 {
            3
        } else {
            1
        }
    }

    /// The lines of the narration pane (with the last log line) while a lesson plays, at
    /// least: a third of the screen, from 6 to 14 lines.
    pub fn lesson_rows(rows: u16) -> u16 {
        (rows / 3).clamp(6, 14)
    }

    /// The lines the narration pane takes for `body` lines of narration and results (its
    /// borders and the log line come on top): what they need, from `lesson_rows` up to half
    /// the screen and never so much that the grid and the panel get fewer than `MIN_BODY`
    /// lines. With `log_focused` (Tab) it takes at least half the screen for the log.
    pub fn lesson_pane_rows(rows: u16, body: usize, log_focused: bool) -> u16 {
        let least = Self::lesson_rows(rows);
        let most = rows
            .saturating_sub(3 + MIN_BODY)
            .min(rows / 2 + 1)
            .max(least);
        let want = u16::try_from(body).unwrap_or(u16::MAX).saturating_add(3);
        let want = if log_focused {
            want.max(rows / 2)
        } else {
            want
        };
        want.clamp(least, most)
    }

    /// Bytes per row and the side panel's width for a screen `cols` wide (the panel is 0 on
    /// a narrow screen, where the grid takes the whole width at the widest row that fits).
    /// Only the width decides them: the grid's rows are drawn without laying out the rest.
    pub fn columns(cols: u16, digits: u16) -> (u64, u16) {
        for candidate in [32u64, 16, 8] {
            let w = grid_width(candidate, digits);
            if cols >= w + PANEL_MIN {
                return (candidate, cols - w);
            }
        }
        let bpr = if grid_width(16, digits) <= cols {
            16
        } else {
            8
        };
        (bpr, 0)
    }

    /// The layout with `log_rows` lines of event log.
    pub fn with_log(cols: u16, rows: u16, digits: u16, log_rows: u16) -> Layout {
        let too_small = cols < MIN_COLS || rows < MIN_ROWS;
        let full = Rect::new(0, 0, cols, rows);
        let log_rows = log_rows.min(rows.saturating_sub(8)).max(1);
        let body_h = rows.saturating_sub(3 + log_rows);
        let (bpr, panel_w) = Self::columns(cols, digits);
        let grid_w = cols - panel_w;
        Layout {
            header: Rect::new(0, 0, cols, 1).intersection(full),
            minimap: Rect::new(0, 1, cols, 1).intersection(full),
            grid: Rect::new(0, 2, grid_w, body_h),
            panel: (panel_w > 0).then(|| Rect::new(grid_w, 2, panel_w, body_h)),
            log: Rect::new(0, 2 + body_h, cols, log_rows).intersection(full),
            keys: Rect::new(0, 2 + body_h + log_rows, cols, 1).intersection(full),
            bytes_per_row: bpr,
            too_small,
            inspector: None,
            timeline: None,
        }
    }

    /// This layout with `rows` lines for the inspector taken from the bottom of the grid and
    /// the panel; unchanged when the grid would keep fewer than `MIN_BODY` lines.
    #[must_use]
    pub fn with_inspector(mut self, rows: u16) -> Layout {
        let h = self.grid.height;
        if h < MIN_BODY + rows {
            return self;
        }
        self.grid.height = h - rows;
        if let Some(p) = &mut self.panel {
            p.height = h - rows;
        }
        self.inspector = Some(Rect::new(
            0,
            self.grid.y + h - rows,
            self.header.width,
            rows,
        ));
        self
    }

    /// This layout with one row for a recording's timeline taken from the bottom of the grid
    /// and the panel (the inspector, if any, moves up a row): a 24-row screen gives up one grid
    /// row. Unchanged when the grid would keep no row between its borders.
    #[must_use]
    pub fn with_timeline(mut self) -> Layout {
        let h = self.grid.height;
        if h < 4 {
            return self;
        }
        self.grid.height = h - 1;
        if let Some(p) = &mut self.panel {
            p.height = h - 1;
        }
        if let Some(i) = &mut self.inspector {
            i.y -= 1;
        }
        self.timeline = Some(Rect::new(0, self.grid.y + h - 1, self.header.width, 1));
        self
    }

    /// Cells of the minimap (the row less its label and brackets).
    pub fn minimap_cells(&self) -> u64 {
        u64::from(self.minimap.width.saturating_sub(MINIMAP_LABEL + 2)).max(1)
    }

    /// Rows of the grid between its borders.
    pub fn grid_rows(&self) -> u64 {
        u64::from(self.grid.height.saturating_sub(2)).max(1)
    }
}

/// `text` broken into lines of at most `width` characters, at spaces; a word longer than a
/// line is split across lines (nothing is lost). Each line comes with the index (in chars) of
/// its first character in `text`, so a caller can style parts of it. Newlines break lines.
pub fn wrap(text: &str, width: usize) -> Vec<(usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    wrap_ranges(&chars, width)
        .into_iter()
        .map(|(a, b)| (a, chars[a..b].iter().collect()))
        .collect()
}

/// How many lines `wrap` makes of `text` (without making them: the layout asks this on
/// every call while a lesson plays).
pub fn wrap_count(text: &str, width: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    wrap_ranges(&chars, width).len()
}

/// The lines of `wrap` as ranges of `chars` (trailing spaces left out).
fn wrap_ranges(chars: &[char], width: usize) -> Vec<(usize, usize)> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        // A paragraph ends at a newline.
        let para_end = chars[start..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(chars.len(), |p| start + p);
        let mut at = start;
        while at < para_end {
            if para_end - at <= width {
                out.push((at, para_end));
                break;
            }
            // The last space within the width (a space just past it ends the word too).
            let cut = (at + 1..=at + width)
                .rev()
                .find(|&i| chars[i] == ' ')
                .map_or(at + width, |i| i);
            let mut end = cut;
            while end > at && chars[end - 1] == ' ' {
                end -= 1;
            }
            out.push((at, end));
            at = cut;
            while at < para_end && chars[at] == ' ' {
                at += 1;
            }
        }
        if para_end == start {
            out.push((start, start));
        }
        start = para_end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_pick_bytes_per_row() {
        assert_eq!(grid_width(8, 8), 46);
        assert_eq!(grid_width(16, 8), 79);
        let cases = [
            (80, 8, true),
            (120, 16, true),
            (200, 32, true),
            (70, 8, false),
            (60, 8, false),
        ];
        for (cols, bpr, panel) in cases {
            let l = Layout::compute(cols, 24, 8);
            assert_eq!(l.bytes_per_row, bpr, "{cols} cols");
            assert_eq!(l.panel.is_some(), panel, "{cols} cols");
            let panel_w = l.panel.map_or(0, |p| p.width);
            assert_eq!(l.grid.width + panel_w, cols);
        }
    }

    #[test]
    fn wrap_breaks_at_spaces_and_keeps_every_character() {
        let w = |t: &str, n| -> Vec<String> { wrap(t, n).into_iter().map(|(_, l)| l).collect() };
        assert_eq!(w("one two three", 7), ["one two", "three"]);
        assert_eq!(w("one two three", 8), ["one two", "three"]);
        assert_eq!(w("abcdefghij k", 4), ["abcd", "efgh", "ij k"]);
        assert_eq!(w("a\nb c", 10), ["a", "b c"]);
        assert_eq!(w("", 10), Vec::<String>::new());
        let text = "The demo file is mapped MAP_PRIVATE this time: the top line says MAP_PRIVATE";
        for n in 1..40 {
            let lines = wrap(text, n);
            assert!(lines.iter().all(|(_, l)| l.chars().count() <= n), "{n}");
            let joined: String = lines.iter().map(|(_, l)| l.replace(' ', "")).collect();
            assert_eq!(joined, text.replace(' ', ""), "{n}");
            for (at, l) in &lines {
                assert!(text[*at..].starts_with(l.as_str()), "{n}: {at} {l}");
            }
            assert_eq!(wrap_count(text, n), lines.len());
        }
    }

    #[test]
    fn the_inspector_takes_its_rows_from_the_grid_and_the_panel_not_the_log() {
        let l = Layout::compute(80, 24, 8);
        let i = l.with_inspector(2);
        assert_eq!(i.grid.height, l.grid.height - 2);
        assert_eq!(i.panel.map(|p| p.height), l.panel.map(|p| p.height - 2));
        assert_eq!(
            i.inspector,
            Some(Rect::new(0, 2 + l.grid.height - 2, 80, 2))
        );
        assert_eq!((i.log, i.keys), (l.log, l.keys));
        // A grid too short to give rows keeps them.
        let small = Layout::compute(60, 16, 8);
        assert_eq!(small.with_inspector(small.grid.height), small);
    }

    #[test]
    fn a_lesson_pane_grows_with_its_text_but_leaves_the_grid_its_rows() {
        assert_eq!(Layout::lesson_pane_rows(24, 2, false), 8);
        assert_eq!(Layout::lesson_pane_rows(24, 7, false), 10);
        assert_eq!(Layout::lesson_pane_rows(24, 40, false), 13);
        assert_eq!(Layout::lesson_pane_rows(40, 40, false), 21);
        assert_eq!(Layout::lesson_pane_rows(40, 1, true), 20);
        assert_eq!(Layout::lesson_pane_rows(16, 40, false), 6);
    }

    #[test]
    fn vertical_split() {
        let l = Layout::compute(80, 24, 8);
        assert_eq!(l.header.y, 0);
        assert_eq!(l.minimap.y, 1);
        assert_eq!((l.grid.y, l.grid.height), (2, 20));
        assert_eq!(l.log.y, 22);
        assert_eq!(l.keys.y, 23);
        assert_eq!(l.grid_rows(), 18);
        assert!(!l.too_small);
        assert!(Layout::compute(59, 24, 8).too_small);
        assert!(Layout::compute(80, 15, 8).too_small);
    }
}
