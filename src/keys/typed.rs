//! The typed views' keys, in the grid (and in a lesson): `T` cycles the view, `E` swaps the
//! byte order, `I` shows the inspector in the bytes view. Enter on a pointer, a jump or a
//! string is `i` / Enter of the grid's table (edit mode starts where there is none).

use ratatui::crossterm::event::KeyCode::Char;

use super::Key::Code;
use super::{Binding, bind, helped};
use crate::action::{Action, TypedAction};

/// The typed views' keys, one help row for the three.
pub const TYPED: &[Binding] = &[
    helped(
        &[Code(Char('T'))],
        Action::Typed(TypedAction::Cycle),
        (
            "T / E / I",
            "views u16..f64 text strings code; E byte order; I inspector",
        ),
    ),
    bind(&[Code(Char('E'))], Action::Typed(TypedAction::SwapOrder)),
    bind(
        &[Code(Char('I'))],
        Action::Typed(TypedAction::ToggleInspector),
    ),
];

#[cfg(test)]
mod tests {
    use super::TYPED;

    #[test]
    fn the_typed_keys_are_told_in_the_help_and_the_manual() {
        let help = super::super::help_lines();
        assert!(help.iter().any(|(k, _)| *k == "T / E / I"), "{help:?}");
        assert_eq!(TYPED.iter().filter(|b| b.help.is_some()).count(), 1);
        assert!(super::super::MANUAL.iter().any(|(k, _)| *k == "T / E / I"));
    }
}
