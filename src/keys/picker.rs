//! The process picker's keys (`--pick`): characters type into its filter, so its commands are
//! on named keys only. A room of its own beside the explorer's tables in `keys`.

use ratatui::crossterm::event::KeyCode::{
    BackTab, Backspace, Down, End, Enter, Esc, Home, PageDown, PageUp, Tab, Up,
};

use super::Key::Code;
use super::{Binding, bind, told};
use crate::action::{Action, PickerAction};

/// The process picker: characters type into the filter, named keys do the rest.
pub const PICKER: &[Binding] = &[
    told(None, ("type", "filter")),
    Binding {
        keys: &[Code(Up)],
        action: Some(Action::Picker(PickerAction::Move(-1))),
        help: None,
        hint: Some(("↑↓", "select")),
    },
    bind(&[Code(Down)], Action::Picker(PickerAction::Move(1))),
    bind(&[Code(PageUp)], Action::Picker(PickerAction::Move(-10))),
    bind(&[Code(PageDown)], Action::Picker(PickerAction::Move(10))),
    bind(&[Code(Home)], Action::Picker(PickerAction::Move(i64::MIN))),
    bind(&[Code(End)], Action::Picker(PickerAction::Move(i64::MAX))),
    Binding {
        keys: &[Code(Enter)],
        action: Some(Action::Picker(PickerAction::Choose)),
        help: None,
        hint: Some(("Enter", "attach")),
    },
    Binding {
        keys: &[Code(Tab), Code(BackTab)],
        action: Some(Action::Picker(PickerAction::ToggleSort)),
        help: None,
        hint: Some(("Tab", "by RSS / pid")),
    },
    bind(&[Code(Backspace)], Action::Picker(PickerAction::Erase)),
    Binding {
        keys: &[Code(Esc)],
        action: Some(Action::Picker(PickerAction::Cancel)),
        help: None,
        hint: Some(("Esc", "quit")),
    },
];
