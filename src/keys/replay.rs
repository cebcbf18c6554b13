//! The keys of a recording replayed: frames, changes, play and its speed, and the `:` forms
//! that jump to a frame or a time.

use ratatui::crossterm::event::KeyCode::Char;

use super::Key::Code;
use super::{Binding, bind, full, helped};
use crate::action::{Action, ReplayAction};

/// A recording replayed (`mmapscope replay FILE`): frames and changes, before the grid's keys
/// (whose operations the write gate refuses there: a recording is read-only), and in the
/// address-space view and the page map too (they show the frame stepped to).
pub const REPLAY_STEPS: &[Binding] = &[
    full(
        &[Code(Char(','))],
        Action::Replay(ReplayAction::Step(-1)),
        (", / .", "replay: back / forward a frame"),
        (", .", "frame"),
    ),
    bind(&[Code(Char('.'))], Action::Replay(ReplayAction::Step(1))),
    full(
        &[Code(Char('<'))],
        Action::Replay(ReplayAction::Change { forward: false }),
        (
            "< / >",
            "replay: the previous / next frame where something changed",
        ),
        ("< >", "change"),
    ),
    bind(
        &[Code(Char('>'))],
        Action::Replay(ReplayAction::Change { forward: true }),
    ),
];

/// Play and its speed, in the grid of a recording replayed.
pub const REPLAY_PLAY: &[Binding] = &[
    full(
        &[Code(Char(' '))],
        Action::Replay(ReplayAction::PlayPause),
        ("Space", "replay: play / pause at the speed shown"),
        ("Space", "play"),
    ),
    helped(
        &[Code(Char('-'))],
        Action::Replay(ReplayAction::Speed(false)),
        ("- / +", "replay: play slower / faster (0.25x to 16x)"),
    ),
    bind(
        &[Code(Char('+')), Code(Char('='))],
        Action::Replay(ReplayAction::Speed(true)),
    ),
    Binding {
        keys: &[],
        action: None,
        help: Some((
            ": frame N, : t S",
            "replay: go to frame N, or to the time S seconds in",
        )),
        hint: None,
    },
];
