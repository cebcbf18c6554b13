//! The page map (`P`): the whole mapping (or, zoomed in, a window of it) as a grid of cells,
//! one per bucket of pages, lettered and coloured as the minimap's cells; each row labelled
//! with its first page; the counts of each state over the cells drawn, and the selected
//! cell's own. The session reads the cells (`sys::probe::cells`); this only draws them.

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::model::{MapWindow, Model};
use crate::sys::probe::chunks::Bucket;
use crate::text::{human, thousands};

use super::minimap;
use super::theme::{Role, Theme};

/// The bucket read for cell `cell` of the window, if the session has read it.
fn bucket_of<'a>(model: &'a Model, w: &MapWindow, cell: u64) -> Option<&'a Bucket> {
    let data = &model.page_map;
    if data.per_cell != w.per_cell || data.per_cell == 0 {
        return None;
    }
    let i = (cell * w.per_cell).checked_sub(data.first)? / w.per_cell;
    // A cell of zero pages has not been read yet.
    data.buckets
        .get(usize::try_from(i).ok()?)
        .filter(|b| b.pages > 0)
}

/// The buckets added up: their pages, and each state's count (`None` where one of them has no
/// answer).
fn sum<'a>(buckets: impl IntoIterator<Item = &'a Bucket>) -> Bucket {
    let mut total = Bucket::EMPTY;
    for b in buckets {
        total.add_counts(b);
        total.pages += b.pages;
        total.beyond_eof += b.beyond_eof;
    }
    total
}

/// `resident 12  present 3  dirty 0  cow 0  beyond 2`, each word in its colour.
fn count_spans(c: &Bucket, theme: Theme, always_dirty: bool) -> Vec<Span<'static>> {
    let n = |v: Option<u64>| v.map_or_else(|| "?".to_string(), thousands);
    let dirty = if always_dirty {
        "dirty (tmpfs: always)"
    } else {
        "dirty"
    };
    let parts = [
        ("resident", n(c.resident), Role::Resident),
        ("present", n(c.present), Role::Present),
        (dirty, n(c.dirty), Role::Dirty),
        ("cow", n(c.cow), Role::Cow),
        ("beyond", thousands(c.beyond_eof), Role::BeyondEof),
    ];
    let mut spans = Vec::new();
    for (i, (word, value, role)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(format!("{word} {value}"), theme.style(role)));
    }
    spans
}

/// The legend: each cell letter in its colour (a cell shows its most notable page).
fn legend(theme: Theme, marked: bool, room: usize) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (c, word, role) in [
        ('~', "beyond EOF", Role::BeyondEof),
        ('C', "cow", Role::Cow),
        ('D', "dirty", Role::Dirty),
        ('P', "present", Role::Present),
        ('R', "resident", Role::Resident),
        ('·', "cold", Role::NotResident),
        ('?', "unknown", Role::Dim),
    ] {
        spans.push(Span::styled(format!("{c} {word}"), theme.style(role)));
        spans.push(Span::raw("  "));
    }
    // With a mark, where the line has room (the selected cell's line says it anyway).
    let used: usize = spans.iter().map(Span::width).sum();
    if marked && used + 18 <= room {
        spans.push(Span::styled(
            "changed since mark",
            theme.style(Role::Changed),
        ));
    }
    Line::from(spans)
}

/// Pages of `[first, first + count)` whose state changed since the mark.
fn changed_in_cell(model: &Model, first: u64, count: u64) -> u64 {
    let changes = &model.time.changes;
    let from = changes.partition_point(|r| r.first + r.count <= first);
    changes[from..]
        .iter()
        .take_while(|r| r.first < first + count)
        .map(|r| (r.first + r.count).min(first + count) - r.first.max(first))
        .sum()
}

/// The lines above the cells: legend, counts over the cells drawn, the selected cell.
fn info(model: &Model, w: &MapWindow, theme: Theme) -> Vec<Line<'static>> {
    let shown: Vec<&Bucket> = (w.first_cell()..w.first_cell() + w.cells())
        .filter_map(|c| bucket_of(model, w, c))
        .collect();
    let counts = sum(shown.iter().copied());
    let always_dirty = model.snap.always_dirty;
    let whole = w.cells() == w.total;
    let mut total = vec![Span::styled(
        format!(
            " {} {}: ",
            if whole { "all" } else { "shown:" },
            super::pages_word(counts.pages)
        ),
        theme.style(Role::Title),
    )];
    total.extend(count_spans(&counts, theme, always_dirty));
    let ps = model.page_size();
    let first = w.selected * w.per_cell;
    let last = (first + w.per_cell).min(model.pages()) - 1;
    let place = if first == last {
        format!(" ▶ page {} @0x{:x}: ", thousands(first), first * ps)
    } else {
        format!(
            " ▶ {}-{} @0x{:x}: ",
            thousands(first),
            thousands(last),
            first * ps
        )
    };
    let mut selected = vec![Span::styled(place, theme.style(Role::Key))];
    let changed = changed_in_cell(model, w.selected * w.per_cell, w.per_cell);
    if changed > 0 {
        selected.push(Span::styled(
            format!("Δ {} since mark", thousands(changed)),
            theme.style(Role::Changed),
        ));
        selected.push(Span::raw("  "));
    }
    match bucket_of(model, w, w.selected) {
        Some(b) => selected.extend(count_spans(b, theme, always_dirty)),
        None => selected.push(Span::styled("reading…", theme.style(Role::Dim))),
    }
    let marked = model.time.mark_of(model.snap.shape.addr).is_some();
    let room = usize::from(model.screen.size.0).saturating_sub(6);
    vec![
        legend(theme, marked, room),
        Line::from(total),
        Line::from(selected),
    ]
}

/// One row of cells from cell `first`.
fn cell_row(model: &Model, w: &MapWindow, first: u64, theme: Theme) -> Line<'static> {
    let end = (first + w.cols).min(w.total);
    let spans = (first..end)
        .map(|c| {
            let (ch, role) = match bucket_of(model, w, c) {
                Some(b) => minimap::cell(b, model.snap.always_dirty),
                None => minimap::NOT_YET,
            };
            let mut style = theme.style(role);
            if model.time.changed_in(c * w.per_cell, w.per_cell) {
                style = style.patch(theme.style(Role::Changed));
            }
            if c == w.selected {
                style = style.patch(theme.style(Role::Cursor));
            }
            Span::styled(ch.to_string(), style)
        })
        .collect::<Vec<_>>();
    Line::from(spans)
}

/// Draws the page map over the screen.
pub fn render(model: &Model, frame: &mut Frame, theme: Theme) {
    let Some(w) = model.page_map_window() else {
        return;
    };
    let l = model.page_map_layout();
    frame.render_widget(Clear, l.outer);
    let ps = model.page_size();
    let per = if w.per_cell == 1 {
        format!("1 page ({})", human(ps))
    } else {
        format!(
            "{} pages ({})",
            thousands(w.per_cell),
            human(w.per_cell.saturating_mul(ps))
        )
    };
    let title = format!(
        " page map · 1 cell = {per} · {} · zoom + - ",
        super::pages_word(model.pages())
    );
    let block = Block::bordered()
        .title(Span::styled(title, theme.style(Role::Title)))
        .title_bottom(Span::styled(
            " ←↑↓→ select · + - zoom · Enter open the page · Esc close ",
            theme.style(Role::Dim),
        ));
    frame.render_widget(block, l.outer);
    frame.render_widget(Paragraph::new(info(model, &w, theme)), l.info);
    let rows = w.rows.min(w.total.div_ceil(w.cols).saturating_sub(w.top));
    let label_w = usize::from(l.labels.width.saturating_sub(1));
    let (mut labels, mut cells) = (Vec::new(), Vec::new());
    for r in 0..rows {
        let first = (w.top + r) * w.cols;
        labels.push(Line::styled(
            format!("{:>label_w$}", thousands(first * w.per_cell)),
            theme.style(Role::Dim),
        ));
        cells.push(cell_row(model, &w, first, theme));
    }
    frame.render_widget(Paragraph::new(labels), l.labels);
    frame.render_widget(Paragraph::new(cells), l.cells);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_say_unknown() {
        let b = Bucket {
            pages: 4,
            resident: Some(4),
            present: Some(2),
            dirty: Some(1),
            cow: Some(0),
            beyond_eof: 1,
            ..Bucket::default()
        };
        let c = sum([&b, &b]);
        assert_eq!(
            (c.pages, c.resident, c.present, c.dirty, c.beyond_eof),
            (8, Some(8), Some(4), Some(2), 2)
        );
        let unknown = Bucket { present: None, ..b };
        assert_eq!(sum([&b, &unknown]).present, None);
        assert_eq!(sum([]).resident, Some(0));
    }
}
