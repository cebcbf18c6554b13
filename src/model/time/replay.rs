//! A recording being replayed (`mmapscope replay FILE`): when each frame was taken, the frames
//! where something changed, the frame shown, play and its speed, the frame marked. Plain data
//! with pure reads (which frame is due while playing, the next change); `update::replay` moves
//! it, `ui::timeline` draws it, and the session shows the frame it names.

use std::sync::Arc;

/// The play speeds, in hundredths (`-` / `+` step through them): a quarter to sixteen times
/// the recorded pace.
pub const SPEEDS: [u32; 7] = [25, 50, 100, 200, 400, 800, 1600];
/// The index in `SPEEDS` of the recorded pace.
pub const SPEED_1X: usize = 2;

/// A recording being replayed: its frames on a timeline and where we are on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// What was recorded, in words (the file, `--anon`, or the process and its command line).
    pub title: String,
    /// When each frame was taken, in ms since the recording started (non-decreasing).
    pub times_ms: Arc<[u64]>,
    /// The frames where something differs from the frame before (ascending).
    pub changes: Arc<[usize]>,
    /// The frame shown.
    pub at: usize,
    /// Playing: the frame shown follows the clock from `Play`'s anchor.
    pub play: Option<Play>,
    /// Index in `SPEEDS`.
    pub speed: usize,
    /// `b` on a frame: the views compare the frame shown with it.
    pub mark: Option<usize>,
    /// The recording ended before its last frame was whole (a killed recorder), in words.
    pub cut_short: Option<String>,
    /// The time asked between frames, in ms: a longer wait between two frames is a gap.
    pub interval_ms: u64,
}

/// Where play started: the session's clock then (`Log::now_ms`) and the frame's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Play {
    pub from_now_ms: u64,
    pub from_frame_ms: u64,
}

impl Replay {
    /// A replay of frames taken at `times_ms` (at least one) about `interval_ms` apart, changes
    /// at `changes`, on frame 0.
    pub fn new(title: String, times_ms: Vec<u64>, changes: Vec<usize>, interval_ms: u64) -> Self {
        Self {
            title,
            times_ms: times_ms.into(),
            changes: changes.into(),
            at: 0,
            play: None,
            speed: SPEED_1X,
            mark: None,
            cut_short: None,
            interval_ms,
        }
    }

    /// How many frames.
    pub fn len(&self) -> usize {
        self.times_ms.len()
    }

    /// No frames (a recording always has one: its first).
    pub fn is_empty(&self) -> bool {
        self.times_ms.is_empty()
    }

    /// The last frame's index.
    pub fn last(&self) -> usize {
        self.len().saturating_sub(1)
    }

    /// The time of frame `n` (clamped to the last), in ms since the start.
    pub fn time_of(&self, n: usize) -> u64 {
        self.times_ms.get(n.min(self.last())).copied().unwrap_or(0)
    }

    /// How long the recording lasts, in ms (its last frame's time).
    pub fn duration_ms(&self) -> u64 {
        self.time_of(self.last())
    }

    /// Whether time `ms` lies between two frames no more than twice the interval apart (or
    /// at the last frame): frames were being taken then.
    pub fn recording_at(&self, ms: u64) -> bool {
        let n = self.frame_at(ms);
        match self.times_ms.get(n + 1) {
            Some(&next) => next - self.time_of(n) <= self.interval_ms.saturating_mul(2),
            None => ms == self.time_of(n),
        }
    }

    /// The last frame taken at or before `ms` (the first frame for a time before it).
    pub fn frame_at(&self, ms: u64) -> usize {
        self.times_ms
            .partition_point(|&t| t <= ms)
            .saturating_sub(1)
    }

    /// The frame `by` frames from the one shown, within the recording.
    pub fn stepped(&self, by: i64) -> usize {
        let at = i64::try_from(self.at).unwrap_or(i64::MAX);
        usize::try_from(at.saturating_add(by).max(0))
            .unwrap_or(0)
            .min(self.last())
    }

    /// The next frame after the one shown where something changed (`forward`), or the last
    /// one before it; `None` when there is none that way.
    pub fn change_from(&self, forward: bool) -> Option<usize> {
        if forward {
            self.changes.iter().copied().find(|&c| c > self.at)
        } else {
            self.changes.iter().rev().copied().find(|&c| c < self.at)
        }
    }

    /// A time of this recording in seconds as the timeline says it: one decimal, or
    /// milliseconds where frames come faster than ten a second (`12.5`, `0.043`).
    pub fn seconds(&self, ms: u64) -> String {
        if self.interval_ms < 100 {
            format!("{}.{:03}", ms / 1000, ms % 1000)
        } else {
            format!("{}.{}", ms / 1000, (ms % 1000) / 100)
        }
    }

    /// The play speed, in hundredths of the recorded pace.
    pub fn speed_percent(&self) -> u32 {
        SPEEDS[self.speed.min(SPEEDS.len() - 1)]
    }

    /// While playing, the frame due at the session's clock `now_ms`.
    pub fn due(&self, now_ms: u64) -> Option<usize> {
        let play = self.play?;
        let ran = now_ms.saturating_sub(play.from_now_ms);
        let moved = ran.saturating_mul(u64::from(self.speed_percent())) / 100;
        Some(self.frame_at(play.from_frame_ms.saturating_add(moved)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay() -> Replay {
        Replay::new(
            "test".into(),
            vec![0, 1000, 2000, 2500, 4000],
            vec![0, 2, 4],
            1000,
        )
    }

    #[test]
    fn frames_by_time_and_steps_stay_inside() {
        let r = replay();
        assert_eq!(r.frame_at(0), 0);
        assert_eq!(r.frame_at(1999), 1);
        assert_eq!(r.frame_at(2500), 3);
        assert_eq!(r.frame_at(99_999), 4);
        assert_eq!(r.stepped(-3), 0);
        assert_eq!(r.stepped(2), 2);
        assert_eq!(r.stepped(40), 4);
        assert_eq!(r.duration_ms(), 4000);
        assert!(r.recording_at(2700));
        let gap = Replay::new("t".into(), vec![0, 1000, 9000], vec![], 1000);
        assert!(gap.recording_at(500));
        assert!(!gap.recording_at(1500));
        assert!(gap.recording_at(9000));
        assert_eq!(gap.seconds(12_540), "12.5");
        let fast = Replay::new("t".into(), vec![0, 43], vec![], 1);
        assert_eq!(fast.seconds(43), "0.043");
    }

    #[test]
    fn changes_either_way() {
        let mut r = replay();
        assert_eq!(r.change_from(true), Some(2));
        assert_eq!(r.change_from(false), None);
        r.at = 3;
        assert_eq!(r.change_from(true), Some(4));
        assert_eq!(r.change_from(false), Some(2));
        r.at = 4;
        assert_eq!(r.change_from(true), None);
    }

    #[test]
    fn play_follows_the_clock_at_its_speed() {
        let mut r = replay();
        assert_eq!(r.due(5000), None);
        r.play = Some(Play {
            from_now_ms: 10_000,
            from_frame_ms: 1000,
        });
        assert_eq!(r.due(10_999), Some(1));
        assert_eq!(r.due(11_000), Some(2));
        r.speed = SPEED_1X + 1;
        assert_eq!(r.due(10_750), Some(3));
        assert_eq!(r.due(60_000), Some(4));
    }
}
