//! Keys to actions: a pure function of what has the keys (grid, side panel, an overlay) and the
//! key event, read from the one key table in `keys` (which the help overlay and the key line
//! read too). Keys whose action depends on the key itself (hex digits, typed text, menu
//! numbers) are computed here.

use crate::action::{AskAction, EditAction, GridAction, ViewAction};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::action::{Action, MenuKey, PromptEdit};
use crate::keys::{self, Key};
use crate::model::{EditState, Focus, Overlay};

pub use crate::keys::KeyContext;

impl KeyContext {
    /// The context for a model's focus, overlay, edit mode and lesson.
    pub fn of(focus: Focus, overlay: &Overlay, edit: Option<EditState>, lesson: bool) -> Self {
        match (overlay, focus, edit) {
            (Overlay::None, Focus::Grid, None) if lesson => Self::Lesson,
            (Overlay::Help, ..) => Self::Help,
            (Overlay::Goto(_) | Overlay::Ask { .. } | Overlay::Find(_), ..) => Self::Prompt,
            (Overlay::PageMap { .. }, ..) => Self::PageMap,
            (Overlay::Menu { .. }, ..) => Self::Menu,
            (Overlay::Confirm { .. }, ..) => Self::Confirm,
            (Overlay::Space { .. }, ..) => Self::Space,
            (Overlay::None, Focus::Panel, _) => Self::Panel,
            (Overlay::None, Focus::Log, _) => Self::Log,
            (Overlay::None, Focus::Grid, Some(e)) => Self::Edit { text: e.text },
            (Overlay::None, Focus::Grid, None) => Self::Grid,
        }
    }

    /// The context for `model`: as `of`, the address-space view's filter while it is typed,
    /// and the grid of a recording replayed.
    pub fn of_model(model: &crate::model::Model) -> Self {
        match Self::of(
            model.screen.focus,
            &model.screen.overlay,
            model.screen.edit,
            model.lesson.is_some(),
        ) {
            Self::Space if model.space.view.typing => Self::SpaceFilter,
            Self::Grid if model.time.replay.is_some() => Self::Replay,
            ctx => ctx,
        }
    }
}

/// The action for `key` in `ctx`, if any.
pub fn map_key(ctx: KeyContext, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let k = match key.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c),
        code => Key::Code(code),
    };
    if k == keys::QUIT_ANYWHERE {
        return Some(Action::Ask(AskAction::Quit));
    }
    let bound = keys::tables(ctx)
        .iter()
        .flat_map(|t| t.iter())
        .find(|b| b.keys.contains(&k))
        .and_then(|b| b.action.clone());
    if bound.is_some() {
        return bound;
    }
    match (ctx, k) {
        (KeyContext::Edit { text: true }, Key::Code(KeyCode::Char(c))) => {
            Some(Action::Edit(EditAction::Char(c)))
        }
        (KeyContext::Edit { text: false }, Key::Code(KeyCode::Char(c))) => c
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .map(|n| Action::Edit(EditAction::Nibble(n))),
        (KeyContext::Prompt, Key::Code(KeyCode::Char(c))) => {
            Some(Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))))
        }
        (
            KeyContext::Grid | KeyContext::Lesson | KeyContext::Replay,
            Key::Code(KeyCode::Char(c @ '0'..='9')),
        ) => Some(Action::Grid(GridAction::Count(c as u8 - b'0'))),
        (KeyContext::Picker, Key::Code(KeyCode::Char(c))) => {
            Some(Action::Picker(crate::action::PickerAction::Type(c)))
        }
        (KeyContext::SpaceFilter, Key::Code(KeyCode::Char(c))) => Some(Action::Space(
            crate::action::SpaceAction::Filter(PromptEdit::Insert(c)),
        )),
        (KeyContext::Menu, Key::Code(KeyCode::Char(c @ '1'..='9'))) => Some(Action::Ask(
            AskAction::Menu(MenuKey::Number(c as u8 - b'0')),
        )),
        // Any other key closes the help.
        (KeyContext::Help, _) => Some(Action::View(ViewAction::CloseOverlay)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{
        AskAction, EditAction, GridAction, LabAction, LessonAction, PageMapAction, SearchAction,
        ViewAction,
    };
    use crate::action::{MenuKind, Motion, Op, Scope, SyncKind};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn grid_keys_cover_the_design_table() {
        use KeyCode::*;
        let table: Vec<(KeyCode, Action)> = vec![
            (Left, Action::Grid(GridAction::Move(Motion::Left))),
            (Char('h'), Action::Grid(GridAction::Move(Motion::Left))),
            (Right, Action::Grid(GridAction::Move(Motion::Right))),
            (Char('l'), Action::Grid(GridAction::Move(Motion::Right))),
            (Up, Action::Grid(GridAction::Move(Motion::Up))),
            (Char('k'), Action::Grid(GridAction::Move(Motion::Up))),
            (Down, Action::Grid(GridAction::Move(Motion::Down))),
            (Char('j'), Action::Grid(GridAction::Move(Motion::Down))),
            (PageUp, Action::Grid(GridAction::Move(Motion::PageUp))),
            (PageDown, Action::Grid(GridAction::Move(Motion::PageDown))),
            (Home, Action::Grid(GridAction::Move(Motion::RowStart))),
            (End, Action::Grid(GridAction::Move(Motion::RowEnd))),
            (Char('g'), Action::Grid(GridAction::Move(Motion::Top))),
            (Char('G'), Action::Grid(GridAction::Move(Motion::Bottom))),
            (Char('['), Action::Grid(GridAction::Move(Motion::PrevPage))),
            (Char(']'), Action::Grid(GridAction::Move(Motion::NextPage))),
            (Char(':'), Action::Grid(GridAction::GotoPrompt)),
            (Char('i'), Action::Edit(EditAction::Start)),
            (Enter, Action::Edit(EditAction::Start)),
            (Char('u'), Action::Do(Op::Undo)),
            (Char('m'), Action::Ask(AskAction::SwitchMode)),
            (Char('s'), Action::Do(Op::Msync(SyncKind::Sync, Scope::All))),
            (Char('S'), Action::Ask(AskAction::OpenMenu(MenuKind::Msync))),
            (
                Char('p'),
                Action::Ask(AskAction::OpenMenu(MenuKind::Protect)),
            ),
            (
                Char('a'),
                Action::Ask(AskAction::OpenMenu(MenuKind::Advise)),
            ),
            (Char('t'), Action::Lab(LabAction::Touch)),
            (Char('x'), Action::Lab(LabAction::Exec)),
            (
                Char('X'),
                Action::Ask(AskAction::OpenMenu(MenuKind::Snippet)),
            ),
            (Char('F'), Action::Lab(LabAction::Fork)),
            (Char('L'), Action::Ask(AskAction::OpenMenu(MenuKind::Lock))),
            (
                Char('R'),
                Action::Ask(AskAction::OpenAsk(crate::action::Ask::Reshape)),
            ),
            (
                Char('M'),
                Action::Ask(AskAction::OpenMenu(MenuKind::Malloc)),
            ),
            (Char('f'), Action::Lab(LabAction::Peer)),
            (Char('e'), Action::View(ViewAction::ToggleExplain)),
            (Char('v'), Action::View(ViewAction::ToggleOffsets)),
            (Tab, Action::View(ViewAction::ToggleFocus)),
            (Char('r'), Action::View(ViewAction::Refresh)),
            (Char('?'), Action::View(ViewAction::ToggleHelp)),
            (Char('q'), Action::Ask(AskAction::Quit)),
        ];
        for (code, want) in table {
            assert_eq!(map_key(KeyContext::Grid, key(code)), Some(want), "{code:?}");
        }
        assert_eq!(
            map_key(KeyContext::Grid, ctrl('r')),
            Some(Action::Do(Op::Redo))
        );
        assert_eq!(map_key(KeyContext::Grid, key(Char('Z'))), None);
    }

    #[test]
    fn edit_mode_types_instead_of_commanding() {
        let hex = KeyContext::Edit { text: false };
        assert_eq!(
            map_key(hex, key(KeyCode::Char('a'))),
            Some(Action::Edit(EditAction::Nibble(0xa)))
        );
        assert_eq!(
            map_key(hex, key(KeyCode::Char('F'))),
            Some(Action::Edit(EditAction::Nibble(0xf)))
        );
        assert_eq!(
            map_key(hex, key(KeyCode::Char('7'))),
            Some(Action::Edit(EditAction::Nibble(7)))
        );
        assert_eq!(
            map_key(hex, key(KeyCode::Char('q'))),
            None,
            "not a hex digit"
        );
        assert_eq!(
            map_key(hex, key(KeyCode::Char('j'))),
            None,
            "letters do not move here"
        );
        assert_eq!(
            map_key(hex, key(KeyCode::Down)),
            Some(Action::Grid(GridAction::Move(Motion::Down)))
        );
        assert_eq!(
            map_key(hex, key(KeyCode::Tab)),
            Some(Action::Edit(EditAction::SwitchColumn))
        );
        assert_eq!(
            map_key(hex, key(KeyCode::Esc)),
            Some(Action::Edit(EditAction::Stop))
        );
        assert_eq!(map_key(hex, ctrl('r')), Some(Action::Do(Op::Redo)));
        let text = KeyContext::Edit { text: true };
        assert_eq!(
            map_key(text, key(KeyCode::Char('q'))),
            Some(Action::Edit(EditAction::Char('q')))
        );
        assert_eq!(
            map_key(text, key(KeyCode::Char(' '))),
            Some(Action::Edit(EditAction::Char(' ')))
        );
        assert_eq!(map_key(text, ctrl('c')), Some(Action::Ask(AskAction::Quit)));
    }

    #[test]
    fn menus_and_questions() {
        let m = KeyContext::Menu;
        assert_eq!(
            map_key(m, key(KeyCode::Down)),
            Some(Action::Ask(AskAction::Menu(MenuKey::Down)))
        );
        assert_eq!(
            map_key(m, key(KeyCode::Up)),
            Some(Action::Ask(AskAction::Menu(MenuKey::Up)))
        );
        assert_eq!(
            map_key(m, key(KeyCode::Tab)),
            Some(Action::Ask(AskAction::Menu(MenuKey::ToggleScope)))
        );
        assert_eq!(
            map_key(m, key(KeyCode::Enter)),
            Some(Action::Ask(AskAction::Menu(MenuKey::Choose)))
        );
        assert_eq!(
            map_key(m, key(KeyCode::Char('3'))),
            Some(Action::Ask(AskAction::Menu(MenuKey::Number(3))))
        );
        assert_eq!(
            map_key(m, key(KeyCode::Esc)),
            Some(Action::Ask(AskAction::Menu(MenuKey::Cancel)))
        );
        let c = KeyContext::Confirm;
        assert_eq!(
            map_key(c, key(KeyCode::Char('y'))),
            Some(Action::Ask(AskAction::Confirm(Some(true))))
        );
        assert_eq!(
            map_key(c, key(KeyCode::Enter)),
            Some(Action::Ask(AskAction::Confirm(None)))
        );
        assert_eq!(
            map_key(c, key(KeyCode::Char('n'))),
            Some(Action::Ask(AskAction::Confirm(Some(false))))
        );
        assert_eq!(
            map_key(c, key(KeyCode::Esc)),
            Some(Action::Ask(AskAction::Confirm(Some(false))))
        );
        assert_eq!(map_key(c, key(KeyCode::Char('x'))), None);
    }

    #[test]
    fn ctrl_c_quits_everywhere() {
        for ctx in crate::keys::tests::CONTEXTS {
            assert_eq!(
                map_key(ctx, ctrl('c')),
                Some(Action::Ask(AskAction::Quit)),
                "{ctx:?}"
            );
        }
    }

    #[test]
    fn panel_and_log_keys_scroll() {
        let p = KeyContext::Panel;
        assert_eq!(
            map_key(p, key(KeyCode::Down)),
            Some(Action::View(ViewAction::ScrollPanel(1)))
        );
        assert_eq!(
            map_key(p, key(KeyCode::Char('k'))),
            Some(Action::View(ViewAction::ScrollPanel(-1)))
        );
        assert_eq!(
            map_key(p, key(KeyCode::PageDown)),
            Some(Action::View(ViewAction::ScrollPanel(10)))
        );
        assert_eq!(
            map_key(p, key(KeyCode::Tab)),
            Some(Action::View(ViewAction::ToggleFocus))
        );
        assert_eq!(
            map_key(p, key(KeyCode::Char('q'))),
            Some(Action::Ask(AskAction::Quit))
        );
        let l = KeyContext::Log;
        assert_eq!(
            map_key(l, key(KeyCode::Up)),
            Some(Action::View(ViewAction::ScrollLog(1))),
            "up is older"
        );
        assert_eq!(
            map_key(l, key(KeyCode::Down)),
            Some(Action::View(ViewAction::ScrollLog(-1)))
        );
        assert_eq!(
            map_key(l, key(KeyCode::Tab)),
            Some(Action::View(ViewAction::ToggleFocus))
        );
    }

    #[test]
    fn prompt_takes_text() {
        assert_eq!(
            map_key(KeyContext::Prompt, key(KeyCode::Char('q'))),
            Some(Action::Grid(GridAction::Prompt(PromptEdit::Insert('q'))))
        );
        assert_eq!(
            map_key(KeyContext::Prompt, key(KeyCode::Enter)),
            Some(Action::Grid(GridAction::Prompt(PromptEdit::Submit)))
        );
        assert_eq!(
            map_key(KeyContext::Prompt, key(KeyCode::Esc)),
            Some(Action::Grid(GridAction::Prompt(PromptEdit::Cancel)))
        );
        assert_eq!(
            map_key(KeyContext::Prompt, key(KeyCode::Backspace)),
            Some(Action::Grid(GridAction::Prompt(PromptEdit::Backspace)))
        );
    }

    #[test]
    fn help_scrolls_then_any_key_closes_and_releases_are_ignored() {
        assert_eq!(
            map_key(KeyContext::Help, key(KeyCode::Down)),
            Some(Action::View(ViewAction::ScrollHelp(1)))
        );
        assert_eq!(
            map_key(KeyContext::Help, key(KeyCode::Char('x'))),
            Some(Action::View(ViewAction::CloseOverlay))
        );
        let mut release = key(KeyCode::Char('q'));
        release.kind = KeyEventKind::Release;
        assert_eq!(map_key(KeyContext::Grid, release), None);
    }

    #[test]
    fn context_follows_overlay_then_focus_then_edit() {
        let edit = Some(EditState::default());
        assert_eq!(
            KeyContext::of(Focus::Panel, &Overlay::Help, None, false),
            KeyContext::Help
        );
        assert_eq!(
            KeyContext::of(Focus::Grid, &Overlay::Goto(String::new()), edit, false),
            KeyContext::Prompt
        );
        assert_eq!(
            KeyContext::of(Focus::Panel, &Overlay::None, edit, false),
            KeyContext::Panel
        );
        assert_eq!(
            KeyContext::of(Focus::Log, &Overlay::None, None, false),
            KeyContext::Log
        );
        assert_eq!(
            KeyContext::of(Focus::Grid, &Overlay::None, edit, true),
            KeyContext::Edit { text: false }
        );
        assert_eq!(
            KeyContext::of(Focus::Grid, &Overlay::None, None, false),
            KeyContext::Grid
        );
        assert_eq!(
            KeyContext::of(Focus::Grid, &Overlay::None, None, true),
            KeyContext::Lesson
        );
        let l = KeyContext::Lesson;
        assert_eq!(
            map_key(l, key(KeyCode::Right)),
            Some(Action::Lesson(LessonAction::Next))
        );
        assert_eq!(
            map_key(l, key(KeyCode::Char(' '))),
            Some(Action::Lesson(LessonAction::Next))
        );
        assert_eq!(
            map_key(l, key(KeyCode::Left)),
            Some(Action::Lesson(LessonAction::Back))
        );
        assert_eq!(
            map_key(l, key(KeyCode::Char('j'))),
            Some(Action::Grid(GridAction::Move(Motion::Down)))
        );
        // J / K scroll the narration pane's results; the grid keeps j / k.
        assert_eq!(
            map_key(l, key(KeyCode::Char('J'))),
            Some(Action::Lesson(LessonAction::Scroll(1)))
        );
        assert_eq!(
            map_key(l, key(KeyCode::Char('K'))),
            Some(Action::Lesson(LessonAction::Scroll(-1)))
        );
    }

    #[test]
    fn finding_keys_and_the_page_map() {
        use crate::action::CellMove;
        use KeyCode::*;
        for ctx in [KeyContext::Grid, KeyContext::Panel, KeyContext::Log] {
            assert_eq!(
                map_key(ctx, key(Char('/'))),
                Some(Action::Search(SearchAction::Prompt))
            );
            assert_eq!(
                map_key(ctx, key(Char('n'))),
                Some(Action::Search(SearchAction::Again { forward: true }))
            );
            assert_eq!(
                map_key(ctx, key(Char('N'))),
                Some(Action::Search(SearchAction::Again { forward: false }))
            );
            assert_eq!(
                map_key(ctx, key(Char('P'))),
                Some(Action::PageMap(PageMapAction::Open))
            );
        }
        let lesson = KeyContext::Lesson;
        assert_eq!(
            map_key(lesson, key(Char('n'))),
            Some(Action::Lesson(LessonAction::Next))
        );
        assert_eq!(
            map_key(lesson, key(Char('N'))),
            Some(Action::Search(SearchAction::Again { forward: false }))
        );
        let pm = KeyContext::PageMap;
        let table = [
            (Left, Action::PageMap(PageMapAction::Move(CellMove::Left))),
            (
                Char('l'),
                Action::PageMap(PageMapAction::Move(CellMove::Right)),
            ),
            (Up, Action::PageMap(PageMapAction::Move(CellMove::Up))),
            (
                Char('j'),
                Action::PageMap(PageMapAction::Move(CellMove::Down)),
            ),
            (
                PageDown,
                Action::PageMap(PageMapAction::Move(CellMove::PageDown)),
            ),
            (
                Char('g'),
                Action::PageMap(PageMapAction::Move(CellMove::First)),
            ),
            (End, Action::PageMap(PageMapAction::Move(CellMove::Last))),
            (Char('+'), Action::PageMap(PageMapAction::Zoom(true))),
            (Char('='), Action::PageMap(PageMapAction::Zoom(true))),
            (Char('-'), Action::PageMap(PageMapAction::Zoom(false))),
            (Enter, Action::PageMap(PageMapAction::OpenCell)),
            (Esc, Action::View(ViewAction::CloseOverlay)),
            (Char('P'), Action::View(ViewAction::CloseOverlay)),
        ];
        for (code, want) in table {
            assert_eq!(map_key(pm, key(code)), Some(want), "{code:?}");
        }
        assert_eq!(map_key(pm, key(Char('x'))), None);
        let map = Overlay::PageMap {
            selected: 0,
            per_cell: 1,
            top: 0,
        };
        assert_eq!(KeyContext::of(Focus::Grid, &map, None, false), pm);
        let find = Overlay::Find(String::new());
        assert_eq!(
            KeyContext::of(Focus::Log, &find, None, true),
            KeyContext::Prompt
        );
    }

    #[test]
    fn the_help_lists_every_grid_key() {
        let listed: String = crate::keys::help_lines()
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(" ");
        for k in [
            "i", "u", "Ctrl-r", "m", "s", "S", "p", "a", "t", "x", "f", "e", "v", "Tab", "r", "?",
            "q", ":", "[", "g / G",
        ] {
            assert!(listed.contains(k), "help lists {k}: {listed}");
        }
    }
}
