//! The timeline of a recording replayed, one row above the log: play or pause, the frame shown
//! and its time, then a bar of the whole recording by time where `|` marks a change, `M` the
//! frame marked (`b`) and `●` the frame shown (`─` recorded time, blank a gap where no frame
//! was taken), and the play speed. Letters carry the meaning
//! without colour (NO_COLOR).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::model::{Model, Replay};
use crate::update::replay::speed_words;

use super::theme::{Role, Theme};

/// What one cell of the bar shows, most notable first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The frame shown falls in it.
    At,
    /// The frame marked falls in it.
    Mark,
    /// A frame where something changed falls in it.
    Change,
    /// Frames, none of them a change.
    Frames,
    /// No frame was taken in its time.
    Empty,
}

impl Cell {
    fn glyph(self) -> (char, Role) {
        match self {
            Self::At => ('●', Role::Cursor),
            Self::Mark => ('M', Role::Found),
            Self::Change => ('|', Role::Dirty),
            Self::Frames => ('─', Role::Dim),
            Self::Empty => (' ', Role::Dim),
        }
    }
}

/// The cell of a bar `width` cells wide that time `ms` of a recording `duration` long falls in.
fn cell_of(ms: u64, duration: u64, width: usize) -> usize {
    if duration == 0 || width == 0 {
        return 0;
    }
    let w = width as u64;
    usize::try_from((ms.min(duration) * w / (duration + 1)).min(w - 1)).unwrap_or(0)
}

/// The bar's cells for `replay` at `width`: by time, so a pause in recording shows as a gap.
/// Work in proportion to the width and the changes, not to the frames' count.
pub fn cells(replay: &Replay, width: usize) -> Vec<Cell> {
    let mut out = vec![Cell::Empty; width];
    if width == 0 {
        return out;
    }
    let duration = replay.duration_ms();
    // A cell is recorded time when frames were being taken at its start (the next one came
    // within twice the interval), or when a frame falls in it.
    for (i, c) in out.iter_mut().enumerate() {
        let start = (i as u64 * (duration + 1)).div_ceil(width as u64);
        let n = replay.times_ms.partition_point(|&t| t < start);
        let holds = replay
            .times_ms
            .get(n)
            .is_some_and(|&t| cell_of(t, duration, width) == i);
        if holds || replay.recording_at(start) {
            *c = Cell::Frames;
        }
    }
    for &f in replay.changes.iter() {
        out[cell_of(replay.time_of(f), duration, width)] = Cell::Change;
    }
    if let Some(m) = replay.mark {
        out[cell_of(replay.time_of(m), duration, width)] = Cell::Mark;
    }
    out[cell_of(replay.time_of(replay.at), duration, width)] = Cell::At;
    out
}

/// The words before the bar: `▶ frame 40/120 12.5 s`.
fn left(replay: &Replay) -> String {
    let state = if replay.play.is_some() {
        "▶"
    } else {
        "❚❚"
    };
    format!(
        " {state} frame {}/{} {} s ",
        replay.at,
        replay.last(),
        replay.seconds(replay.time_of(replay.at))
    )
}

/// The words after the bar: the recording's length, the speed, the mark.
fn right(replay: &Replay) -> String {
    let mark = match replay.mark {
        Some(m) => format!(" vs {m}"),
        None => String::new(),
    };
    format!(
        " {} s {}{mark} ",
        replay.seconds(replay.duration_ms()),
        speed_words(replay.speed_percent())
    )
}

/// The timeline as a line `width` columns wide.
pub fn line(replay: &Replay, width: u16, theme: Theme) -> Line<'static> {
    let (l, r) = (left(replay), right(replay));
    let used = l.chars().count() + r.chars().count() + 2;
    let bar = usize::from(width).saturating_sub(used);
    let mut spans = vec![
        Span::styled(l, theme.style(Role::Title)),
        Span::styled("▕", theme.style(Role::Dim)),
    ];
    for c in cells(replay, bar) {
        let (g, role) = c.glyph();
        spans.push(Span::styled(g.to_string(), theme.style(role)));
    }
    spans.push(Span::styled("▏", theme.style(Role::Dim)));
    spans.push(Span::styled(r, theme.style(Role::Dim)));
    Line::from(spans)
}

/// Draws the timeline row, when a recording is replayed.
pub fn render(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    if let Some(replay) = &model.time.replay {
        frame.render_widget(Paragraph::new(line(replay, area.width, theme)), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn the_bar_shows_frames_changes_the_mark_and_where_we_are_by_time() {
        // Ten frames a second apart, then a 10 s pause, then one more frame.
        let mut times: Vec<u64> = (0..10).map(|i| i * 1000).collect();
        times.push(19_000);
        let mut r = Replay::new("t".into(), times, vec![0, 4, 10], 1000);
        r.at = 2;
        r.mark = Some(7);
        let c = cells(&r, 20);
        assert_eq!(c[0], Cell::Change);
        assert_eq!(c[2], Cell::At);
        assert_eq!(c[4], Cell::Change);
        assert_eq!(c[7], Cell::Mark);
        assert_eq!(c[1], Cell::Frames);
        assert!(c[8..10].iter().all(|&x| x == Cell::Frames), "{c:?}");
        // The pause: no frame between 10 s and 19 s.
        assert!(c[11..18].iter().all(|&x| x == Cell::Empty), "{c:?}");
        assert_eq!(c[19], Cell::Change);
    }

    #[test]
    fn the_line_fits_its_width_and_says_the_frame_time_and_speed() {
        let times: Vec<u64> = (0..121).map(|i| i * 500).collect();
        let mut r = Replay::new("t".into(), times, vec![3, 40], 500);
        r.at = 40;
        let theme = Theme {
            color: false,
            high_contrast: false,
        };
        for width in [80u16, 120, 300] {
            let l = line(&r, width, theme);
            let t = text(&l);
            assert_eq!(t.chars().count(), usize::from(width), "{t}");
            assert!(t.starts_with(" ❚❚ frame 40/120 20.0 s ▕"), "{t}");
            assert!(t.ends_with("▏ 60.0 s 1x "), "{t}");
        }
        r.play = Some(crate::model::Play {
            from_now_ms: 0,
            from_frame_ms: 0,
        });
        r.mark = Some(3);
        let t = text(&line(&r, 80, theme));
        assert!(t.starts_with(" ▶ frame 40/120"), "{t}");
        assert!(t.ends_with(" 1x vs 3 "), "{t}");
    }

    #[test]
    fn one_frame_is_one_cell() {
        let r = Replay::new("t".into(), vec![0], vec![0], 1000);
        assert_eq!(cells(&r, 5)[0], Cell::At);
        assert_eq!(cells(&r, 0), Vec::new());
    }
}
