//! `Action`: what the user asked for, whether by a key in the TUI or a line of a batch script;
//! `Command`: a side effect `update` wants carried out against the kernel; `Outcome`: what the
//! kernel answered, fed back into the model. One path for keys, scripts and lessons.

pub use crate::sys::ops::{FAdvice, MAdvice, Op, Scope, SyncKind};
use crate::sys::region::Prot;

/// A cursor motion in the hex grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    Left,
    Right,
    Up,
    Down,
    PageUp,
    PageDown,
    RowStart,
    RowEnd,
    Top,
    Bottom,
    PrevPage,
    NextPage,
}

/// Where `:` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GotoTarget {
    /// A mapping offset in bytes.
    Offset(u64),
    /// A page index.
    Page(u64),
}

/// An edit of the `:` prompt's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptEdit {
    Insert(char),
    Backspace,
    Submit,
    Cancel,
}

/// Which menu is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuKind {
    /// `S`: msync flavours.
    Msync,
    /// `p`: protections.
    Protect,
    /// `a`: madvise and fadvise.
    Advise,
}

/// A key inside a menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuKey {
    Up,
    Down,
    /// Switch between "this page" and "all".
    ToggleScope,
    Choose,
    /// Choose the item with this number (1-based).
    Number(u8),
    Cancel,
}

/// Everything the user can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Move(Motion),
    /// Open the `:` prompt.
    GotoPrompt,
    Prompt(PromptEdit),
    Goto(GotoTarget),
    /// `v`: offsets column shows file offsets or virtual addresses.
    ToggleOffsets,
    /// `e`: the explain pane for the page under the cursor.
    ToggleExplain,
    /// Tab: focus moves between the grid, the side panel and the log.
    ToggleFocus,
    /// Scroll the side panel by this many lines.
    ScrollPanel(i32),
    /// Scroll the log by this many lines (positive: older).
    ScrollLog(i32),
    ToggleHelp,
    /// Scroll the help overlay by this many lines.
    ScrollHelp(i32),
    CloseOverlay,
    Refresh,
    Quit,
    Resize(u16, u16),
    /// `i` / Enter: enter edit mode.
    EditStart,
    /// A hex digit typed in edit mode (0-15).
    EditNibble(u8),
    /// A character typed into the text column in edit mode.
    EditChar(char),
    /// Tab in edit mode: hex column <-> text column.
    EditSwitchColumn,
    /// Esc in edit mode.
    EditStop,
    /// `m`: switch MAP_SHARED <-> MAP_PRIVATE (asks first when private edits would be lost).
    SwitchMode,
    OpenMenu(MenuKind),
    Menu(MenuKey),
    /// The answer to a confirmation question (`None`: Enter, the question's default).
    Confirm(Option<bool>),
    /// The user allowed writing the file: make the mapping writable, then carry out `op`.
    AllowWriteThen(Box<Op>),
    /// `t`: touch the page under the cursor.
    TouchCursor,
    /// `x`: call the code at the cursor in a forked child.
    ExecCursor,
    /// `f`: start or stop the peer process (at the cursor).
    TogglePeer,
    /// Quit without asking (after a confirmation).
    QuitNow,
    /// Lessons: the next step (→, Space).
    LessonNext,
    /// Lessons: back a step (←), replayed from the start.
    LessonBack,
    /// Something that changes the mapping, carried out by `sys::exec`.
    Do(Op),
}

/// What a menu line does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuChoice {
    Msync(SyncKind),
    Protect(Prot),
    Advise(MAdvice),
    Fadvise(FAdvice),
}

impl MenuChoice {
    /// Whether the choice applies to "this page or all".
    pub fn scoped(self) -> bool {
        matches!(self, Self::Msync(_) | Self::Advise(_))
    }
}

/// The lines of a menu: label and choice.
pub fn menu_items(kind: MenuKind) -> Vec<(String, MenuChoice)> {
    match kind {
        MenuKind::Msync => [SyncKind::Sync, SyncKind::Async, SyncKind::Invalidate]
            .into_iter()
            .map(|k| (k.name().to_string(), MenuChoice::Msync(k)))
            .collect(),
        MenuKind::Protect => ["none", "r", "rw", "rx", "rwx"]
            .into_iter()
            .filter_map(|t| {
                Prot::parse(t).map(|p| (format!("{t:<4} {}", p.letters()), MenuChoice::Protect(p)))
            })
            .collect(),
        MenuKind::Advise => MAdvice::ALL
            .into_iter()
            .map(|a| (format!("madvise {}", a.name()), MenuChoice::Advise(a)))
            .chain([FAdvice::DontNeed, FAdvice::WillNeed].into_iter().map(|a| {
                (
                    format!("posix_fadvise {}", a.name()),
                    MenuChoice::Fadvise(a),
                )
            }))
            .collect(),
    }
}

/// A side effect requested by `update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Probe the kernel again now.
    Refresh,
    /// Carry out an operation; `undo` marks a write that is an undo or a redo.
    Exec { op: Op, history: History },
}

/// Whether an executed write enters the edit history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Not a write, or a write recorded as new (clears the redo stack).
    Record,
    /// An undo: the record moves to the redo stack.
    Undo,
    /// A redo: the record moves back to the undo stack.
    Redo,
}
