//! The one table of keys: what each key does in each context, and the words the help overlay
//! and the key line at the bottom use for it. `input` turns key events into actions from this
//! table, `ui::help` lists it, and the key line shows each context's hints from it, so the
//! three can never disagree.

mod manual;
mod picker;
mod typed;

pub use manual::{MANUAL, manual_lines};
pub use picker::PICKER;
pub use typed::TYPED;

use ratatui::crossterm::event::KeyCode;

use crate::action::{
    Action, Ask, AskAction, CellMove, EditAction, GridAction, LabAction, LessonAction, MenuKey,
    MenuKind, Motion, Op, PageMapAction, PromptEdit, Scope, SearchAction, SpaceAction, SyncKind,
    TimeAction, ViewAction,
};

/// What is receiving keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyContext {
    Grid,
    /// The grid while a lesson plays: → / Space / ← step through it.
    Lesson,
    /// Edit mode; `text` when the text column takes the keys.
    Edit {
        text: bool,
    },
    Panel,
    Log,
    Help,
    Prompt,
    Menu,
    Confirm,
    /// The address-space view.
    Space,
    /// The address-space view while its filter is typed.
    SpaceFilter,
    /// The page map.
    PageMap,
    /// The process picker (`--pick`): characters type into its filter.
    Picker,
}

/// A key: a key code, or a character with Ctrl held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Code(KeyCode),
    Ctrl(char),
}

use Key::{Code, Ctrl};
use KeyCode::{
    BackTab, Backspace, Char, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up,
};

/// One row of the table: the keys, what they do, and how people are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: &'static [Key],
    /// What the keys do; `None` for keys whose action depends on the key itself (hex
    /// digits in edit mode, text in the prompt), handled by `input`, listed here to be told.
    pub action: Option<Action>,
    /// The help overlay's line: (keys as shown, what they do). Bindings that share a line
    /// (the four arrows) carry it on the first of them.
    pub help: Option<(&'static str, &'static str)>,
    /// The key line's hint: (keys as shown, a word or two).
    pub hint: Option<(&'static str, &'static str)>,
}

const fn bind(keys: &'static [Key], action: Action) -> Binding {
    Binding {
        keys,
        action: Some(action),
        help: None,
        hint: None,
    }
}

const fn helped(
    keys: &'static [Key],
    action: Action,
    help: (&'static str, &'static str),
) -> Binding {
    Binding {
        keys,
        action: Some(action),
        help: Some(help),
        hint: None,
    }
}

const fn full(
    keys: &'static [Key],
    action: Action,
    help: (&'static str, &'static str),
    hint: (&'static str, &'static str),
) -> Binding {
    Binding {
        keys,
        action: Some(action),
        help: Some(help),
        hint: Some(hint),
    }
}

/// Keys whose action is computed from the key, described for the help and the key line.
const fn told(
    help: Option<(&'static str, &'static str)>,
    hint: (&'static str, &'static str),
) -> Binding {
    Binding {
        keys: &[],
        action: None,
        help,
        hint: Some(hint),
    }
}

/// Ctrl-c quits from anywhere (asking first when private edits would be lost).
pub const QUIT_ANYWHERE: Key = Ctrl('c');

/// Cursor motions by the named keys, which also move in edit mode.
pub const ARROWS: &[Binding] = &[
    helped(
        &[Code(Left)],
        Action::Grid(GridAction::Move(Motion::Left)),
        ("arrows / h j k l", "move the cursor by a byte or a row"),
    ),
    bind(
        &[Code(Right)],
        Action::Grid(GridAction::Move(Motion::Right)),
    ),
    bind(&[Code(Up)], Action::Grid(GridAction::Move(Motion::Up))),
    bind(&[Code(Down)], Action::Grid(GridAction::Move(Motion::Down))),
    helped(
        &[Code(PageUp)],
        Action::Grid(GridAction::Move(Motion::PageUp)),
        ("PgUp / PgDn", "move by a screen"),
    ),
    bind(
        &[Code(PageDown)],
        Action::Grid(GridAction::Move(Motion::PageDown)),
    ),
    helped(
        &[Code(Home)],
        Action::Grid(GridAction::Move(Motion::RowStart)),
        ("Home / End", "start / end of the row"),
    ),
    bind(&[Code(End)], Action::Grid(GridAction::Move(Motion::RowEnd))),
];

/// Motions by letters, in the grid only (in edit mode letters type).
pub const LETTER_MOTIONS: &[Binding] = &[
    bind(
        &[Code(Char('h'))],
        Action::Grid(GridAction::Move(Motion::Left)),
    ),
    bind(
        &[Code(Char('l'))],
        Action::Grid(GridAction::Move(Motion::Right)),
    ),
    bind(
        &[Code(Char('k'))],
        Action::Grid(GridAction::Move(Motion::Up)),
    ),
    bind(
        &[Code(Char('j'))],
        Action::Grid(GridAction::Move(Motion::Down)),
    ),
    helped(
        &[Code(Char('g'))],
        Action::Grid(GridAction::Move(Motion::Top)),
        ("g / G, [ / ]", "start / end of mapping; prev / next page"),
    ),
    bind(
        &[Code(Char('G'))],
        Action::Grid(GridAction::Move(Motion::Bottom)),
    ),
    bind(
        &[Code(Char('['))],
        Action::Grid(GridAction::Move(Motion::PrevPage)),
    ),
    bind(
        &[Code(Char(']'))],
        Action::Grid(GridAction::Move(Motion::NextPage)),
    ),
];

/// The grid's commands.
pub const GRID: &[Binding] = &[
    full(
        &[Code(Char('i')), Code(Enter)],
        Action::Edit(EditAction::Start),
        (
            "i / Enter",
            "edit: hex digits write bytes; Tab text column; Esc leaves",
        ),
        ("i", "edit"),
    ),
    full(
        &[Code(Char('u'))],
        Action::Do(Op::Undo),
        (
            "u / Ctrl-r",
            "undo / redo an edit (an undo is itself a write)",
        ),
        ("u", "undo"),
    ),
    bind(&[Ctrl('r')], Action::Do(Op::Redo)),
    full(
        &[Code(Char('m'))],
        Action::Ask(AskAction::SwitchMode),
        ("m", "MAP_SHARED <-> MAP_PRIVATE (asks before losing edits)"),
        ("m", "shared/private"),
    ),
    full(
        &[Code(Char('s'))],
        Action::Do(Op::Msync(SyncKind::Sync, Scope::All)),
        ("s", "msync(MS_SYNC) of the whole mapping"),
        ("s", "msync"),
    ),
    full(
        &[Code(Char('S'))],
        Action::Ask(AskAction::OpenMenu(MenuKind::Msync)),
        ("S", "msync menu: MS_SYNC / ASYNC / INVALIDATE, page or all"),
        ("S", "menu"),
    ),
    full(
        &[Code(Char('p'))],
        Action::Ask(AskAction::OpenMenu(MenuKind::Protect)),
        ("p", "protection menu: none, r, rw, rx, rwx (mprotect)"),
        ("p", "protect"),
    ),
    full(
        &[Code(Char('a'))],
        Action::Ask(AskAction::OpenMenu(MenuKind::Advise)),
        ("a", "advice menu: madvise willneed ... collapse; fadvise"),
        ("a", "advise"),
    ),
    full(
        &[Code(Char('t'))],
        Action::Lab(LabAction::Touch),
        ("t", "touch the page under the cursor: faults it cost"),
        ("t", "touch"),
    ),
    full(
        &[Code(Char('x'))],
        Action::Lab(LabAction::Exec),
        (
            "x",
            "run the code at the cursor in a child (PROT_EXEC); asks A B",
        ),
        ("x", "exec"),
    ),
    helped(
        &[Code(Char('X'))],
        Action::Ask(AskAction::OpenMenu(MenuKind::Snippet)),
        (
            "X",
            "machine-code snippets: write ret42 or add at the cursor",
        ),
    ),
    full(
        &[Code(Char('F'))],
        Action::Lab(LabAction::Fork),
        (
            "F",
            "fork a child keeping the mapping (cow); F again: its menu",
        ),
        ("F", "fork"),
    ),
    helped(
        &[Code(Char('L'))],
        Action::Ask(AskAction::OpenMenu(MenuKind::Lock)),
        ("L", "mlock / munlock menu, page or all (RLIMIT_MEMLOCK)"),
    ),
    helped(
        &[Code(Char('R'))],
        Action::Ask(AskAction::OpenAsk(Ask::Reshape)),
        ("R", "mremap: resize to SIZE, or move ADDR"),
    ),
    helped(
        &[Code(Char('M'))],
        Action::Ask(AskAction::OpenMenu(MenuKind::Malloc)),
        (
            "M",
            "malloc / free: where a block lands, glibc's mmap threshold",
        ),
    ),
    full(
        &[Code(Char('f'))],
        Action::Lab(LabAction::Peer),
        (
            "f",
            "start / stop a peer process writing a counter at the cursor",
        ),
        ("f", "peer"),
    ),
    helped(
        &[Code(Char('o'))],
        Action::Do(Op::Swap),
        (
            "o",
            "with --also: the grid shows, keys act on, the other mapping",
        ),
    ),
    // Out of the screen: copy, count, dump.
    helped(
        &[Code(Char('y'))],
        Action::Grid(GridAction::Copy),
        (
            "y / 16y",
            "to the clipboard: the cursor's address / 16 bytes as hex",
        ),
    ),
    helped(
        &[Code(Char('D'))],
        Action::Ask(AskAction::OpenAsk(Ask::Dump)),
        (
            "D",
            "dump bytes in memory to a new file: vma|page N|OFF LEN FILE",
        ),
    ),
    helped(
        &[Code(Char('C'))],
        Action::Ask(AskAction::OpenAsk(Ask::Export)),
        (
            "C",
            "export a picture: svg map|space|diff FILE (slides), html FILE (screen)",
        ),
    ),
    // Time: the mark the views compare with.
    helped(
        &[Code(Char('b'))],
        Action::Time(TimeAction::Mark),
        (
            "b",
            "mark: views show changes since it (: changed, : +dirty; : unmark drops it)",
        ),
    ),
];

/// The two keys everyone needs first, in the grid, the panel and the log.
pub const COMMON_FIRST: &[Binding] = &[
    full(
        &[Code(Char('?'))],
        Action::View(ViewAction::ToggleHelp),
        ("?", "this help"),
        ("?", "help"),
    ),
    full(
        &[Code(Char('q'))],
        Action::Ask(AskAction::Quit),
        (
            "q / Ctrl-c",
            "quit (asks first when private edits would be lost)",
        ),
        ("q", "quit"),
    ),
];

/// Keys that mean the same in the grid, the panel and the log.
pub const COMMON: &[Binding] = &[
    helped(
        &[Code(Char(':'))],
        Action::Grid(GridAction::GotoPrompt),
        (
            ":",
            "go to an offset as the rows label it (0x1f00), a page (p 3) or any address \
             (@0x7f..)",
        ),
    ),
    full(
        &[Code(Char('e'))],
        Action::View(ViewAction::ToggleExplain),
        ("e", "explain: every source's raw answer for the page"),
        ("e", "explain"),
    ),
    helped(
        &[Code(Char('v'))],
        Action::View(ViewAction::ToggleOffsets),
        ("v", "offsets column: file offset <-> virtual address"),
    ),
    full(
        &[Code(Tab), Code(BackTab)],
        Action::View(ViewAction::ToggleFocus),
        ("Tab", "focus grid -> side panel -> log (they scroll)"),
        ("Tab", "panels"),
    ),
    helped(
        &[Code(Char('r'))],
        Action::View(ViewAction::Refresh),
        ("r", "refresh now"),
    ),
    full(
        &[Code(Char('A'))],
        Action::Space(SpaceAction::Open),
        (
            "A",
            "address space: every VMA of the process; Enter explores one",
        ),
        ("A", "address space"),
    ),
    helped(
        &[Code(Backspace)],
        Action::Space(SpaceAction::Back),
        (
            "Backspace",
            "back from a VMA explored (A, or Enter in the maps panel)",
        ),
    ),
    helped(
        &[Ctrl('o')],
        Action::Grid(GridAction::JumpBack),
        (
            "Ctrl-o / Ctrl-n",
            "jump list: back / forward (Ctrl-i too, if not read as Tab)",
        ),
    ),
    bind(
        &[Ctrl('n'), Ctrl('i')],
        Action::Grid(GridAction::JumpForward),
    ),
    bind(&[Code(Esc)], Action::View(ViewAction::CloseOverlay)),
];

/// Finding your way: state and byte searches, the page map (in the grid, the panel and the
/// log; a lesson keeps `n` for its next step).
pub const FIND: &[Binding] = &[
    Binding {
        keys: &[],
        action: None,
        help: Some((
            ": state",
            "next page in it: dirty cow resident present exclusive beyond",
        )),
        hint: None,
    },
    helped(
        &[Code(Char('/'))],
        Action::Search(SearchAction::Prompt),
        (
            "/",
            "find bytes in memory: / 7f 45 4c 46 or /\"text\"; /! faults in",
        ),
    ),
    helped(
        &[Code(Char('n'))],
        Action::Search(SearchAction::Again { forward: true }),
        (
            "n / N",
            "the last search (: state or / bytes) forward / backward",
        ),
    ),
    bind(
        &[Code(Char('N'))],
        Action::Search(SearchAction::Again { forward: false }),
    ),
    helped(
        &[Code(Char('P'))],
        Action::PageMap(PageMapAction::Open),
        (
            "P",
            "page map: cells by state; arrows, + - zoom, Enter opens",
        ),
    ),
];

/// A lesson's steps, before the grid's keys.
pub const LESSON: &[Binding] = &[
    full(
        &[Code(Right), Code(Char(' ')), Code(Char('n'))],
        Action::Lesson(LessonAction::Next),
        ("→ Space / ←", "lessons: next step / back a step"),
        ("→ Space", "next step"),
    ),
    Binding {
        keys: &[Code(Left), Code(Char('b'))],
        action: Some(Action::Lesson(LessonAction::Back)),
        help: None,
        hint: Some(("←", "back")),
    },
    helped(
        &[Code(Char('J'))],
        Action::Lesson(LessonAction::Scroll(1)),
        (
            "J / K",
            "lessons: scroll the narration pane down / up (its bottom border says when there is more)",
        ),
    ),
    bind(&[Code(Char('K'))], Action::Lesson(LessonAction::Scroll(-1))),
];

/// Edit mode: the named motions (`ARROWS`), then these; hex digits or text are computed.
pub const EDIT: &[Binding] = &[
    told(None, ("0-9a-f", "write byte")),
    told(None, ("←↑↓→", "move")),
    Binding {
        keys: &[Code(Tab), Code(BackTab)],
        action: Some(Action::Edit(EditAction::SwitchColumn)),
        help: None,
        hint: Some(("Tab", "text column")),
    },
    bind(
        &[Code(Backspace)],
        Action::Grid(GridAction::Move(Motion::Left)),
    ),
    Binding {
        keys: &[Ctrl('r')],
        action: Some(Action::Do(Op::Redo)),
        help: None,
        hint: Some(("Ctrl-r", "redo")),
    },
    Binding {
        keys: &[Code(Esc)],
        action: Some(Action::Edit(EditAction::Stop)),
        help: None,
        hint: Some(("Esc", "leave edit mode")),
    },
];

/// The side panel: scrolling, then `COMMON`.
pub const PANEL: &[Binding] = &[
    full(
        &[Code(Enter)],
        Action::Space(SpaceAction::ExplorePanelLine),
        (
            "Enter (maps)",
            "in the maps panel: explore the VMA on its top line",
        ),
        ("Enter", "explore VMA"),
    ),
    bind(
        &[Code(Up), Code(Char('k'))],
        Action::View(ViewAction::ScrollPanel(-1)),
    ),
    bind(
        &[Code(Down), Code(Char('j'))],
        Action::View(ViewAction::ScrollPanel(1)),
    ),
    bind(&[Code(PageUp)], Action::View(ViewAction::ScrollPanel(-10))),
    bind(&[Code(PageDown)], Action::View(ViewAction::ScrollPanel(10))),
    bind(
        &[Code(Home), Code(Char('g'))],
        Action::View(ViewAction::ScrollPanel(i32::MIN)),
    ),
    bind(
        &[Code(End), Code(Char('G'))],
        Action::View(ViewAction::ScrollPanel(i32::MAX)),
    ),
];

/// The event log: scrolling (up is older), then `COMMON`.
pub const LOG: &[Binding] = &[
    Binding {
        keys: &[Code(Up), Code(Char('k'))],
        action: Some(Action::View(ViewAction::ScrollLog(1))),
        help: None,
        hint: Some(("↑↓ PgUp PgDn", "scroll the log")),
    },
    Binding {
        keys: &[Code(Tab), Code(BackTab)],
        action: Some(Action::View(ViewAction::ToggleFocus)),
        help: None,
        hint: Some(("Tab", "back to the grid")),
    },
    bind(
        &[Code(Down), Code(Char('j'))],
        Action::View(ViewAction::ScrollLog(-1)),
    ),
    bind(&[Code(PageUp)], Action::View(ViewAction::ScrollLog(10))),
    bind(&[Code(PageDown)], Action::View(ViewAction::ScrollLog(-10))),
    bind(
        &[Code(Home), Code(Char('g'))],
        Action::View(ViewAction::ScrollLog(i32::MAX)),
    ),
    bind(
        &[Code(End), Code(Char('G'))],
        Action::View(ViewAction::ScrollLog(i32::MIN)),
    ),
];

/// The help overlay: scrolling; any other key closes it.
pub const HELP: &[Binding] = &[
    bind(
        &[Code(Up), Code(Char('k'))],
        Action::View(ViewAction::ScrollHelp(-1)),
    ),
    bind(
        &[Code(Down), Code(Char('j'))],
        Action::View(ViewAction::ScrollHelp(1)),
    ),
    bind(&[Code(PageUp)], Action::View(ViewAction::ScrollHelp(-10))),
    bind(&[Code(PageDown)], Action::View(ViewAction::ScrollHelp(10))),
];

/// The `:` prompt; other characters are typed.
pub const PROMPT: &[Binding] = &[
    bind(
        &[Code(Enter)],
        Action::Grid(GridAction::Prompt(PromptEdit::Submit)),
    ),
    bind(
        &[Code(Esc)],
        Action::Grid(GridAction::Prompt(PromptEdit::Cancel)),
    ),
    bind(
        &[Code(Backspace)],
        Action::Grid(GridAction::Prompt(PromptEdit::Backspace)),
    ),
];

/// A menu; digits choose a line.
pub const MENU: &[Binding] = &[
    bind(
        &[Code(Up), Code(Char('k'))],
        Action::Ask(AskAction::Menu(MenuKey::Up)),
    ),
    bind(
        &[Code(Down), Code(Char('j'))],
        Action::Ask(AskAction::Menu(MenuKey::Down)),
    ),
    bind(
        &[Code(Tab), Code(Left), Code(Right)],
        Action::Ask(AskAction::Menu(MenuKey::ToggleScope)),
    ),
    bind(
        &[Code(Enter)],
        Action::Ask(AskAction::Menu(MenuKey::Choose)),
    ),
    bind(
        &[Code(Esc), Code(Char('q'))],
        Action::Ask(AskAction::Menu(MenuKey::Cancel)),
    ),
];

/// A yes/no question; Enter answers the question's default.
pub const CONFIRM: &[Binding] = &[
    bind(
        &[Code(Char('y')), Code(Char('Y'))],
        Action::Ask(AskAction::Confirm(Some(true))),
    ),
    bind(&[Code(Enter)], Action::Ask(AskAction::Confirm(None))),
    bind(
        &[Code(Char('n')), Code(Char('N')), Code(Esc)],
        Action::Ask(AskAction::Confirm(Some(false))),
    ),
];

/// The address-space view: move the selection, Enter explores it.
pub const SPACE: &[Binding] = &[
    Binding {
        keys: &[Code(Up), Code(Char('k'))],
        action: Some(Action::Space(SpaceAction::Move(-1))),
        help: None,
        hint: Some(("↑↓ PgUp PgDn", "select a VMA")),
    },
    bind(
        &[Code(Down), Code(Char('j'))],
        Action::Space(SpaceAction::Move(1)),
    ),
    bind(&[Code(PageUp)], Action::Space(SpaceAction::Move(-10))),
    bind(&[Code(PageDown)], Action::Space(SpaceAction::Move(10))),
    bind(
        &[Code(Home), Code(Char('g'))],
        Action::Space(SpaceAction::Move(i64::MIN)),
    ),
    bind(
        &[Code(End), Code(Char('G'))],
        Action::Space(SpaceAction::Move(i64::MAX)),
    ),
    Binding {
        keys: &[Code(Enter)],
        action: Some(Action::Space(SpaceAction::Explore)),
        help: None,
        hint: Some(("Enter", "explore it")),
    },
    Binding {
        keys: &[Code(Char('/'))],
        action: Some(Action::Space(SpaceAction::FilterStart)),
        help: None,
        hint: Some(("/", "filter: name, kind or 0xADDR")),
    },
    Binding {
        keys: &[Code(Char('o'))],
        action: Some(Action::Space(SpaceAction::SortNext)),
        help: None,
        hint: Some(("o O", "sort by column, reverse")),
    },
    bind(&[Code(Char('O'))], Action::Space(SpaceAction::SortReverse)),
    Binding {
        keys: &[Code(Esc), Code(Char('A')), Code(Char('q'))],
        action: Some(Action::View(ViewAction::CloseOverlay)),
        help: None,
        hint: Some(("Esc", "close")),
    },
];

/// The address-space view's filter being typed: characters go to it (`input` adds them),
/// the arrows still move the selection.
pub const SPACE_FILTER: &[Binding] = &[
    Binding {
        keys: &[Code(Enter)],
        action: Some(Action::Space(SpaceAction::Filter(PromptEdit::Submit))),
        help: None,
        hint: Some(("Enter", "keep the filter")),
    },
    Binding {
        keys: &[Code(Esc)],
        action: Some(Action::Space(SpaceAction::Filter(PromptEdit::Cancel))),
        help: None,
        hint: Some(("Esc", "clear it")),
    },
    bind(
        &[Code(Backspace)],
        Action::Space(SpaceAction::Filter(PromptEdit::Backspace)),
    ),
    bind(&[Code(Up)], Action::Space(SpaceAction::Move(-1))),
    bind(&[Code(Down)], Action::Space(SpaceAction::Move(1))),
    bind(&[Code(PageUp)], Action::Space(SpaceAction::Move(-10))),
    bind(&[Code(PageDown)], Action::Space(SpaceAction::Move(10))),
];

/// The page map: move the selection, zoom, Enter opens the page.
pub const PAGE_MAP: &[Binding] = &[
    Binding {
        keys: &[Code(Left), Code(Char('h'))],
        action: Some(Action::PageMap(PageMapAction::Move(CellMove::Left))),
        help: None,
        hint: Some(("←↑↓→", "select")),
    },
    bind(
        &[Code(Right), Code(Char('l'))],
        Action::PageMap(PageMapAction::Move(CellMove::Right)),
    ),
    bind(
        &[Code(Up), Code(Char('k'))],
        Action::PageMap(PageMapAction::Move(CellMove::Up)),
    ),
    bind(
        &[Code(Down), Code(Char('j'))],
        Action::PageMap(PageMapAction::Move(CellMove::Down)),
    ),
    bind(
        &[Code(PageUp)],
        Action::PageMap(PageMapAction::Move(CellMove::PageUp)),
    ),
    bind(
        &[Code(PageDown)],
        Action::PageMap(PageMapAction::Move(CellMove::PageDown)),
    ),
    bind(
        &[Code(Home), Code(Char('g'))],
        Action::PageMap(PageMapAction::Move(CellMove::First)),
    ),
    bind(
        &[Code(End), Code(Char('G'))],
        Action::PageMap(PageMapAction::Move(CellMove::Last)),
    ),
    Binding {
        keys: &[Code(Char('+')), Code(Char('='))],
        action: Some(Action::PageMap(PageMapAction::Zoom(true))),
        help: None,
        hint: Some(("+ -", "zoom")),
    },
    bind(
        &[Code(Char('-'))],
        Action::PageMap(PageMapAction::Zoom(false)),
    ),
    Binding {
        keys: &[Code(Enter)],
        action: Some(Action::PageMap(PageMapAction::OpenCell)),
        help: None,
        hint: Some(("Enter", "open the page")),
    },
    Binding {
        keys: &[Code(Esc), Code(Char('P')), Code(Char('q'))],
        action: Some(Action::View(ViewAction::CloseOverlay)),
        help: None,
        hint: Some(("Esc", "close")),
    },
];

/// The tables searched, in order, for a key in `ctx`.
pub fn tables(ctx: KeyContext) -> &'static [&'static [Binding]] {
    match ctx {
        KeyContext::Grid => &[
            ARROWS,
            LETTER_MOTIONS,
            COMMON_FIRST,
            GRID,
            TYPED,
            COMMON,
            FIND,
        ],
        KeyContext::Lesson => &[
            LESSON,
            ARROWS,
            LETTER_MOTIONS,
            COMMON_FIRST,
            GRID,
            TYPED,
            COMMON,
            FIND,
        ],
        KeyContext::Edit { .. } => &[EDIT, ARROWS],
        KeyContext::Panel => &[PANEL, COMMON_FIRST, COMMON, FIND],
        KeyContext::Log => &[LOG, COMMON_FIRST, COMMON, FIND],
        KeyContext::Help => &[HELP],
        KeyContext::Prompt => &[PROMPT],
        KeyContext::Menu => &[MENU],
        KeyContext::Confirm => &[CONFIRM],
        KeyContext::Space => &[SPACE],
        KeyContext::SpaceFilter => &[SPACE_FILTER],
        KeyContext::PageMap => &[PAGE_MAP],
        KeyContext::Picker => &[PICKER],
    }
}

/// The help overlay's lines, in order: every key of the grid and of lessons, help and quit
/// first (on a screen too short for the whole list they stay in view).
pub fn help_lines() -> Vec<(&'static str, &'static str)> {
    [
        COMMON_FIRST,
        ARROWS,
        LETTER_MOTIONS,
        COMMON,
        GRID,
        TYPED,
        FIND,
        PANEL,
        LESSON,
    ]
    .iter()
    .flat_map(|t| t.iter())
    .filter_map(|b| b.help)
    .collect()
}

/// The key line's hints for `ctx`, in table order; the first binding of a label wins.
pub fn hints(ctx: KeyContext) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for (label, what) in tables(ctx)
        .iter()
        .flat_map(|t| t.iter())
        .filter_map(|b| b.hint)
    {
        if !out.iter().any(|(l, _)| *l == label) {
            out.push((label, what));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
