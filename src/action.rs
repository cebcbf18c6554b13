//! `Action`: what the user asked for, whether by a key in the TUI or (later) a line of a script;
//! `Command`: the side effect `update` wants the app to carry out against the kernel.

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

/// Everything the user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Tab: focus moves between the grid and the side panel.
    ToggleFocus,
    /// Scroll the side panel by this many lines.
    ScrollPanel(i32),
    ToggleHelp,
    CloseOverlay,
    Refresh,
    Quit,
    Resize(u16, u16),
}

/// A side effect requested by `update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Probe the kernel again now.
    Refresh,
}
