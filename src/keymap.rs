//! Keys to actions: a pure function of what has the keys (grid, side panel, an overlay) and the
//! key event. The table in `shared/design.md` is the reference; `ui::help` lists the same keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::action::{Action, Motion, PromptEdit};
use crate::model::{Focus, Overlay};

/// What is receiving keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyContext {
    Grid,
    Panel,
    Help,
    Prompt,
}

impl KeyContext {
    /// The context for a model's focus and overlay.
    pub fn of(focus: Focus, overlay: &Overlay) -> Self {
        match (overlay, focus) {
            (Overlay::Help, _) => Self::Help,
            (Overlay::Goto(_), _) => Self::Prompt,
            (Overlay::None, Focus::Grid) => Self::Grid,
            (Overlay::None, Focus::Panel) => Self::Panel,
        }
    }
}

/// The action for `key` in `ctx`, if any.
pub fn map_key(ctx: KeyContext, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    match ctx {
        KeyContext::Help => Some(Action::CloseOverlay),
        KeyContext::Prompt => match key.code {
            KeyCode::Enter => Some(Action::Prompt(PromptEdit::Submit)),
            KeyCode::Esc => Some(Action::Prompt(PromptEdit::Cancel)),
            KeyCode::Backspace => Some(Action::Prompt(PromptEdit::Backspace)),
            KeyCode::Char(c) if !ctrl => Some(Action::Prompt(PromptEdit::Insert(c))),
            _ => None,
        },
        KeyContext::Panel => match key.code {
            KeyCode::Up | KeyCode::Char('k') => Some(Action::ScrollPanel(-1)),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::ScrollPanel(1)),
            KeyCode::PageUp => Some(Action::ScrollPanel(-10)),
            KeyCode::PageDown => Some(Action::ScrollPanel(10)),
            KeyCode::Home | KeyCode::Char('g') => Some(Action::ScrollPanel(i32::MIN)),
            KeyCode::End | KeyCode::Char('G') => Some(Action::ScrollPanel(i32::MAX)),
            _ => common(key.code),
        },
        KeyContext::Grid => {
            let motion = match key.code {
                KeyCode::Left | KeyCode::Char('h') => Motion::Left,
                KeyCode::Right | KeyCode::Char('l') => Motion::Right,
                KeyCode::Up | KeyCode::Char('k') => Motion::Up,
                KeyCode::Down | KeyCode::Char('j') => Motion::Down,
                KeyCode::PageUp => Motion::PageUp,
                KeyCode::PageDown => Motion::PageDown,
                KeyCode::Home => Motion::RowStart,
                KeyCode::End => Motion::RowEnd,
                KeyCode::Char('g') => Motion::Top,
                KeyCode::Char('G') => Motion::Bottom,
                KeyCode::Char('[') => Motion::PrevPage,
                KeyCode::Char(']') => Motion::NextPage,
                code => return common(code),
            };
            Some(Action::Move(motion))
        }
    }
}

/// Keys that mean the same in the grid and the panel.
fn common(code: KeyCode) -> Option<Action> {
    match code {
        KeyCode::Tab | KeyCode::BackTab => Some(Action::ToggleFocus),
        KeyCode::Char(':') => Some(Action::GotoPrompt),
        KeyCode::Char('v') => Some(Action::ToggleOffsets),
        KeyCode::Char('e') => Some(Action::ToggleExplain),
        KeyCode::Char('?') => Some(Action::ToggleHelp),
        KeyCode::Char('r') => Some(Action::Refresh),
        KeyCode::Char('q') => Some(Action::Quit),
        KeyCode::Esc => Some(Action::CloseOverlay),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn grid_keys() {
        use KeyCode::*;
        let table: &[(KeyCode, Action)] = &[
            (Left, Action::Move(Motion::Left)),
            (Char('h'), Action::Move(Motion::Left)),
            (Right, Action::Move(Motion::Right)),
            (Char('l'), Action::Move(Motion::Right)),
            (Up, Action::Move(Motion::Up)),
            (Char('k'), Action::Move(Motion::Up)),
            (Down, Action::Move(Motion::Down)),
            (Char('j'), Action::Move(Motion::Down)),
            (PageUp, Action::Move(Motion::PageUp)),
            (PageDown, Action::Move(Motion::PageDown)),
            (Home, Action::Move(Motion::RowStart)),
            (End, Action::Move(Motion::RowEnd)),
            (Char('g'), Action::Move(Motion::Top)),
            (Char('G'), Action::Move(Motion::Bottom)),
            (Char('['), Action::Move(Motion::PrevPage)),
            (Char(']'), Action::Move(Motion::NextPage)),
            (Char(':'), Action::GotoPrompt),
            (Char('v'), Action::ToggleOffsets),
            (Char('e'), Action::ToggleExplain),
            (Tab, Action::ToggleFocus),
            (Char('?'), Action::ToggleHelp),
            (Char('r'), Action::Refresh),
            (Char('q'), Action::Quit),
        ];
        for (code, want) in table {
            assert_eq!(
                map_key(KeyContext::Grid, key(*code)),
                Some(*want),
                "{code:?}"
            );
        }
        assert_eq!(map_key(KeyContext::Grid, key(Char('Z'))), None);
    }

    #[test]
    fn ctrl_c_quits_everywhere() {
        let k = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for ctx in [
            KeyContext::Grid,
            KeyContext::Panel,
            KeyContext::Help,
            KeyContext::Prompt,
        ] {
            assert_eq!(map_key(ctx, k), Some(Action::Quit));
        }
    }

    #[test]
    fn panel_keys_scroll() {
        assert_eq!(
            map_key(KeyContext::Panel, key(KeyCode::Down)),
            Some(Action::ScrollPanel(1))
        );
        assert_eq!(
            map_key(KeyContext::Panel, key(KeyCode::Char('k'))),
            Some(Action::ScrollPanel(-1))
        );
        assert_eq!(
            map_key(KeyContext::Panel, key(KeyCode::PageDown)),
            Some(Action::ScrollPanel(10))
        );
        assert_eq!(
            map_key(KeyContext::Panel, key(KeyCode::Tab)),
            Some(Action::ToggleFocus)
        );
        assert_eq!(
            map_key(KeyContext::Panel, key(KeyCode::Char('q'))),
            Some(Action::Quit)
        );
    }

    #[test]
    fn prompt_takes_text() {
        assert_eq!(
            map_key(KeyContext::Prompt, key(KeyCode::Char('q'))),
            Some(Action::Prompt(PromptEdit::Insert('q')))
        );
        assert_eq!(
            map_key(KeyContext::Prompt, key(KeyCode::Enter)),
            Some(Action::Prompt(PromptEdit::Submit))
        );
        assert_eq!(
            map_key(KeyContext::Prompt, key(KeyCode::Esc)),
            Some(Action::Prompt(PromptEdit::Cancel))
        );
        assert_eq!(
            map_key(KeyContext::Prompt, key(KeyCode::Backspace)),
            Some(Action::Prompt(PromptEdit::Backspace))
        );
    }

    #[test]
    fn any_key_closes_help_and_releases_are_ignored() {
        assert_eq!(
            map_key(KeyContext::Help, key(KeyCode::Char('x'))),
            Some(Action::CloseOverlay)
        );
        let mut release = key(KeyCode::Char('q'));
        release.kind = KeyEventKind::Release;
        assert_eq!(map_key(KeyContext::Grid, release), None);
    }

    #[test]
    fn context_follows_overlay_then_focus() {
        assert_eq!(
            KeyContext::of(Focus::Panel, &Overlay::Help),
            KeyContext::Help
        );
        assert_eq!(
            KeyContext::of(Focus::Grid, &Overlay::Goto(String::new())),
            KeyContext::Prompt
        );
        assert_eq!(
            KeyContext::of(Focus::Panel, &Overlay::None),
            KeyContext::Panel
        );
    }
}
