//! Moving through a recording (`mmapscope replay FILE`): a step (`,` `.`), the previous or next
//! change (`<` `>`), play and pause (Space) at a speed (`-` `+`), a jump to a frame or a time
//! (`: frame 40`, `: t 12.5`), and the clock that moves the frame while playing. The timeline
//! (`model.time.replay`) moves here; the session shows the frame it names
//! (`Command::ShowFrame`). In a live session these keys say what they are for.

use crate::action::{Command, ReplayAction};
use crate::model::{Model, Play, Replay, SPEEDS};

/// What the keys say in a live session.
const LIVE: &str = "not a recording: , . < > Space step through one (mmapscope replay FILE)";

/// Applies a move through the recording.
pub(super) fn update(model: &mut Model, action: ReplayAction) -> Vec<Command> {
    let now_ms = model.log.now_ms;
    let Some(replay) = model.time.replay.as_mut() else {
        model.log(LIVE.to_string());
        return Vec::new();
    };
    let to = match action {
        ReplayAction::Step(by) => Some(replay.stepped(by)),
        ReplayAction::Change { forward } => {
            let found = replay.change_from(forward);
            if found.is_none() {
                let way = if forward { "after" } else { "before" };
                let at = replay.at;
                model.log(format!("no change {way} frame {at}"));
                return Vec::new();
            }
            found
        }
        ReplayAction::PlayPause => {
            toggle_play(replay, now_ms);
            let said = say_play(replay);
            model.log(said);
            return Vec::new();
        }
        ReplayAction::Speed(faster) => {
            speed(replay, faster, now_ms);
            let said = format!("play speed {}", speed_words(replay.speed_percent()));
            model.log(said);
            return Vec::new();
        }
        ReplayAction::Frame(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > replay.last() {
                let last = replay.last();
                model.log(format!("frame {n}: the recording's frames are 0 to {last}"));
                return Vec::new();
            }
            Some(n)
        }
        ReplayAction::At(ms) => Some(replay.frame_at(ms)),
    };
    match to {
        Some(n) => show(replay, n, now_ms),
        None => Vec::new(),
    }
}

/// Moves the timeline to frame `n` (play, if on, goes on from there).
fn show(replay: &mut Replay, n: usize, now_ms: u64) -> Vec<Command> {
    replay.at = n;
    if replay.play.is_some() {
        replay.play = Some(Play {
            from_now_ms: now_ms,
            from_frame_ms: replay.time_of(n),
        });
    }
    vec![Command::ShowFrame(n)]
}

/// The replay's clock: while playing, the frame due now; at the last frame play stops.
pub(super) fn clock(model: &mut Model, now_ms: u64) -> Vec<Command> {
    let Some(replay) = model.time.replay.as_mut() else {
        return Vec::new();
    };
    let Some(due) = replay.due(now_ms) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if due != replay.at {
        replay.at = due;
        out.push(Command::ShowFrame(due));
    }
    if due == replay.last() {
        replay.play = None;
        let (n, secs) = (replay.last(), replay.seconds(replay.duration_ms()));
        model.log(format!("played to the end: frame {n} at {secs} s"));
    }
    out
}

fn toggle_play(replay: &mut Replay, now_ms: u64) {
    if replay.play.take().is_some() {
        return;
    }
    // Play from the end starts again from the first frame.
    if replay.at == replay.last() {
        replay.at = 0;
    }
    replay.play = Some(Play {
        from_now_ms: now_ms,
        from_frame_ms: replay.time_of(replay.at),
    });
}

fn say_play(replay: &Replay) -> String {
    match replay.play {
        Some(_) => format!(
            "playing from frame {} at {}",
            replay.at,
            speed_words(replay.speed_percent())
        ),
        None => format!("paused at frame {}", replay.at),
    }
}

fn speed(replay: &mut Replay, faster: bool, now_ms: u64) {
    replay.speed = if faster {
        (replay.speed + 1).min(SPEEDS.len() - 1)
    } else {
        replay.speed.saturating_sub(1)
    };
    // Playing goes on from the frame shown, at the new pace.
    if replay.play.is_some() {
        replay.play = Some(Play {
            from_now_ms: now_ms,
            from_frame_ms: replay.time_of(replay.at),
        });
    }
}

/// A speed in hundredths as people say it: `0.25x`, `1x`, `16x`.
pub fn speed_words(percent: u32) -> String {
    if percent.is_multiple_of(100) {
        format!("{}x", percent / 100)
    } else {
        format!("{}x", f64::from(percent) / 100.0)
    }
}

/// Where `replay FILE --frame N` or `--at SECONDS` starts: frame N, or the frame at that time
/// (a time before the start, or not a number, is the first frame, as `: t` takes it).
pub fn start_at(frame: Option<usize>, at: Option<f64>) -> Option<ReplayAction> {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "not negative (max 0), rounded to ms; NaN and beyond u64 saturate"
    )]
    let ms = |s: f64| (s.max(0.0) * 1000.0).round() as u64;
    match (frame, at) {
        (Some(n), _) => Some(ReplayAction::Frame(u64::try_from(n).unwrap_or(u64::MAX))),
        (None, Some(s)) => Some(ReplayAction::At(ms(s))),
        (None, None) => None,
    }
}

/// `: frame N` and `: t SECONDS` (`None`: the text is neither, for `:`'s other forms).
///
/// # Errors
/// A sentence when the text starts as one of them but its number does not parse.
pub fn parse_jump(text: &str) -> Option<Result<ReplayAction, String>> {
    let t = text.trim();
    let t = t.strip_prefix(':').unwrap_or(t).trim();
    if let Some(rest) = t.strip_prefix("frame") {
        return Some(
            rest.trim()
                .parse::<u64>()
                .map(ReplayAction::Frame)
                .map_err(|_| format!("'{t}': a frame is 'frame N' with N a whole number")),
        );
    }
    let rest = t.strip_prefix("t ")?;
    let secs = rest.trim().trim_end_matches('s');
    Some(match secs.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => {
            // Whole milliseconds: a recording's clock has no finer grain.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "finite, non-negative, rounded to ms; beyond u64 saturates"
            )]
            let ms = (s * 1000.0).round() as u64;
            Ok(ReplayAction::At(ms))
        }
        _ => Err(format!(
            "'{t}': a time is 't SECONDS' from the start (t 12.5)"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SPEED_1X;
    use crate::update::testing::model;

    fn model_with_pages(pages: u64) -> Model {
        model(pages, (80, 24))
    }

    fn replaying() -> Model {
        let mut m = model_with_pages(4);
        m.time.replay = Some(Replay::new(
            "pid 7 writer".into(),
            vec![0, 1000, 2000, 3000, 4000, 5000],
            vec![0, 2, 5],
            1000,
        ));
        m
    }

    fn at(m: &Model) -> usize {
        m.time.replay.as_ref().map_or(usize::MAX, |r| r.at)
    }

    #[test]
    fn steps_and_changes_move_the_timeline_and_ask_for_the_frame() {
        let mut m = replaying();
        assert_eq!(
            update(&mut m, ReplayAction::Step(1)),
            vec![Command::ShowFrame(1)]
        );
        assert_eq!(
            update(&mut m, ReplayAction::Change { forward: true }),
            vec![Command::ShowFrame(2)]
        );
        assert_eq!(
            update(&mut m, ReplayAction::Change { forward: true }),
            vec![Command::ShowFrame(5)]
        );
        assert!(update(&mut m, ReplayAction::Change { forward: true }).is_empty());
        assert!(
            m.log
                .lines
                .last()
                .is_some_and(|l| l.text.contains("no change after frame 5"))
        );
        assert_eq!(
            update(&mut m, ReplayAction::Step(-1)),
            vec![Command::ShowFrame(4)]
        );
        assert_eq!(
            update(&mut m, ReplayAction::Change { forward: false }),
            vec![Command::ShowFrame(2)]
        );
        update(&mut m, ReplayAction::Step(-9));
        assert_eq!(at(&m), 0);
    }

    #[test]
    fn jumps_by_frame_and_time() {
        let mut m = replaying();
        assert_eq!(
            update(&mut m, ReplayAction::At(2500)),
            vec![Command::ShowFrame(2)]
        );
        assert!(update(&mut m, ReplayAction::Frame(6)).is_empty());
        assert_eq!(at(&m), 2);
        assert_eq!(
            update(&mut m, ReplayAction::Frame(4)),
            vec![Command::ShowFrame(4)]
        );
        assert_eq!(parse_jump(": t 12.5"), Some(Ok(ReplayAction::At(12_500))));
        assert_eq!(parse_jump("frame 40"), Some(Ok(ReplayAction::Frame(40))));
        assert!(matches!(parse_jump("t x"), Some(Err(_))));
        assert!(matches!(parse_jump("frame -1"), Some(Err(_))));
        assert_eq!(parse_jump("dirty"), None);
        assert_eq!(parse_jump("0x1000"), None);
    }

    #[test]
    fn play_follows_the_clock_and_stops_at_the_end() {
        let mut m = replaying();
        m.log.now_ms = 10_000;
        assert!(update(&mut m, ReplayAction::PlayPause).is_empty());
        assert!(clock(&mut m, 10_500).is_empty());
        assert_eq!(clock(&mut m, 11_000), vec![Command::ShowFrame(1)]);
        m.log.now_ms = 11_000;
        update(&mut m, ReplayAction::Speed(true));
        assert_eq!(m.time.replay.as_ref().map(|r| r.speed), Some(SPEED_1X + 1));
        assert_eq!(clock(&mut m, 12_000), vec![Command::ShowFrame(3)]);
        assert_eq!(clock(&mut m, 20_000), vec![Command::ShowFrame(5)]);
        assert!(m.time.replay.as_ref().is_some_and(|r| r.play.is_none()));
        assert!(clock(&mut m, 30_000).is_empty());
        // Space at the end plays again from the start.
        update(&mut m, ReplayAction::PlayPause);
        assert_eq!(at(&m), 0);
        update(&mut m, ReplayAction::PlayPause);
        assert!(m.time.replay.as_ref().is_some_and(|r| r.play.is_none()));
    }

    #[test]
    fn live_sessions_say_what_the_keys_are_for() {
        let mut m = model_with_pages(4);
        assert!(update(&mut m, ReplayAction::Step(1)).is_empty());
        assert!(
            m.log
                .lines
                .last()
                .is_some_and(|l| l.text.contains("not a recording"))
        );
    }

    #[test]
    fn the_command_line_starts_at_a_frame_or_a_time() {
        assert_eq!(start_at(Some(3), Some(9.0)), Some(ReplayAction::Frame(3)));
        assert_eq!(start_at(None, Some(12.5)), Some(ReplayAction::At(12_500)));
        assert_eq!(start_at(None, Some(-1.0)), Some(ReplayAction::At(0)));
        assert_eq!(start_at(None, None), None);
    }

    #[test]
    fn speeds_in_words() {
        assert_eq!(speed_words(25), "0.25x");
        assert_eq!(speed_words(100), "1x");
        assert_eq!(speed_words(1600), "16x");
    }
}
