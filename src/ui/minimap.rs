//! The minimap: the whole mapping in one row, one cell per page or per bucket of pages, each
//! lettered and coloured by its most notable state, the cursor's cell reversed. A cell whose
//! pages were not all probed yet (a huge cached file fills in over a few refreshes) is blank.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::model::{MinimapCell, Model};
use crate::sys::probe::chunks::Bucket;

use super::theme::{Role, Theme};

/// The letter and role of a bucket: beyond EOF `~`, copy-on-write `C`, dirty `D`, present `P`,
/// resident `R`, not resident `·`, unknown `?`.
pub fn cell(bucket: &Bucket, always_dirty: bool) -> (char, Role) {
    let some = |v: Option<u64>| v.is_some_and(|n| n > 0);
    if bucket.beyond_eof == bucket.pages {
        ('~', Role::BeyondEof)
    } else if some(bucket.cow) {
        ('C', Role::Cow)
    } else if some(bucket.dirty) && !always_dirty {
        ('D', Role::Dirty)
    } else if some(bucket.present) {
        ('P', Role::Present)
    } else if some(bucket.resident) {
        ('R', Role::Resident)
    } else if bucket.resident.is_some() {
        ('·', Role::NotResident)
    } else {
        ('?', Role::Dim)
    }
}

/// What a cell not probed yet shows: nothing.
pub const NOT_YET: (char, Role) = (' ', Role::Dim);

/// Draws the minimap row.
pub fn render(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    let cells = model
        .seen
        .minimap
        .cells(model.layout().minimap_cells(), &model.snap.shape.geometry);
    let cursor_page = model.doc.cursor / model.page_size();
    let mut spans = vec![
        Span::styled(" pages ", theme.style(Role::Dim)),
        Span::raw("▕"),
    ];
    for MinimapCell { bucket: b, known } in &cells {
        let (c, role) = if *known {
            cell(b, model.snap.always_dirty)
        } else {
            NOT_YET
        };
        let mut style = theme.style(role);
        // Pages changed since the mark: the cell keeps its letter, in the changed style.
        if model.time.changed_in(b.first, b.pages) {
            style = style.patch(theme.style(Role::Changed));
        }
        if (b.first..b.first + b.pages).contains(&cursor_page) {
            style = style.patch(theme.style(Role::Cursor));
        }
        spans.push(Span::styled(c.to_string(), style));
    }
    spans.push(Span::raw("▏"));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_pick_the_most_notable_state() {
        let b = Bucket {
            first: 0,
            pages: 4,
            resident: Some(4),
            present: Some(2),
            dirty: Some(1),
            cow: Some(0),
            beyond_eof: 0,
            evicted: None,
        };
        assert_eq!(cell(&b, false).0, 'D');
        assert_eq!(cell(&b, true).0, 'P', "tmpfs dirt is not news");
        assert_eq!(cell(&Bucket { cow: Some(1), ..b }, false).0, 'C');
        assert_eq!(cell(&Bucket { beyond_eof: 4, ..b }, false).0, '~');
        let cold = Bucket {
            resident: Some(0),
            present: None,
            dirty: Some(0),
            cow: None,
            ..b
        };
        assert_eq!(cell(&cold, false).0, '·');
        assert_eq!(
            cell(
                &Bucket {
                    resident: Some(3),
                    ..cold
                },
                false
            )
            .0,
            'R'
        );
        assert_eq!(
            cell(
                &Bucket {
                    resident: None,
                    ..cold
                },
                false
            )
            .0,
            '?'
        );
    }
}
