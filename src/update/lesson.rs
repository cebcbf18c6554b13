//! The lesson pane: its steps are played by the lesson player (which holds the script); here
//! the pane shown, its scroll, and the offset a step keeps in view.

use crate::action::{Command, LessonAction};
use crate::model::{LessonPane, Model};

/// Routes a lesson key.
pub(super) fn update(model: &mut Model, action: LessonAction) -> Vec<Command> {
    match action {
        // Played by the lesson player, which holds the lesson's script; nothing to change here.
        LessonAction::Next | LessonAction::Back => {}
        LessonAction::Scroll(delta) => {
            let max = model.lesson_scroll_max();
            if let Some(pane) = &mut model.lesson {
                let next = (i64::from(pane.scroll) + i64::from(delta))
                    .clamp(0, i64::try_from(max).unwrap_or(0));
                pane.scroll = u16::try_from(next).unwrap_or(0);
            }
        }
    }
    Vec::new()
}

/// The lesson pane to show (`None`: no lesson).
pub(super) fn show(model: &mut Model, pane: Option<LessonPane>) {
    model.lesson = pane;
    // The pane's height follows its text: the grid's rows change with it.
    model.scroll_to_cursor();
}

/// Keeps `off` in view, quietly (a step's `# show:`): the page's header on top when the
/// offset's row fits under it, else the row a third of the way down.
pub(super) fn show_offset(model: &mut Model, off: u64) {
    if off > model.max_cursor() {
        return;
    }
    let h = model.layout().grid_rows();
    let header = model.line_of(off - off % model.page_size()) - 1;
    let line = model.line_of(off);
    model.doc.cursor = off;
    model.doc.top = if line < header + h {
        header
    } else {
        line.saturating_sub(h / 3)
    };
    model.scroll_to_cursor();
}
