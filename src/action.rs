//! The messages: `Action`, what the user asked for (by a key in the TUI or a line of a batch
//! script or lesson), one enum per feature; `Event`, what the session brings in (the kernel's
//! answers, a job's news, the terminal's size); `Command`, a side effect `update` wants carried
//! out against the kernel. One path for keys, scripts and lessons.

pub use crate::model::{Ask, History, MenuKind, ViewKind};
use crate::model::{LessonPane, Looking, PageMapSlice, Then};
pub use crate::search::query::{Finished, Request, StateQuery};
use crate::sys::map::request::Prot;
pub use crate::sys::ops::op::{FAdvice, MAdvice, Op, Scope, SyncKind};

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
    /// The next page in a state (`: dirty`, `: !resident`): a search over the whole mapping.
    State(StateQuery),
    /// A virtual address in the process shown (a followed pointer, `goto ADDR`), whatever the
    /// row labels show.
    Address(u64),
    /// The next page changed since the mark (`: changed`, `: +dirty`, `: -resident`).
    Change(crate::model::time::ChangeFilter),
}

/// An edit of the `:` prompt's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptEdit {
    Insert(char),
    Backspace,
    Submit,
    Cancel,
}

/// A move of the page map's selection, in cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellMove {
    Left,
    Right,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
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

/// What the user asked for, by a key in the TUI or a line of a batch script or lesson, by
/// feature: each feature's intents are one enum, routed by `update` to that feature's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The cursor, `:` and the prompts.
    Grid(GridAction),
    /// Toggles, focus, scrolls, help, refresh.
    View(ViewAction),
    /// Edit mode.
    Edit(EditAction),
    /// Quitting, menus, questions and the prompts before an operation.
    Ask(AskAction),
    /// Something that changes the mapping, carried out by `sys::ops::carry`.
    Do(Op),
    /// The keys that start the lab's experiments at the cursor.
    Lab(LabAction),
    /// Byte and state searches.
    Search(SearchAction),
    /// The page map (`P`).
    PageMap(PageMapAction),
    /// The address-space view (`A`) and exploring other VMAs.
    Space(SpaceAction),
    /// The lesson being played.
    Lesson(LessonAction),
    /// The process picker (`--pick`), before any session: its own loop takes these.
    Picker(PickerAction),
    /// Typed views, the inspector, Enter on what the cursor is on.
    Typed(TypedAction),
    /// Moving through a recording (`mmapscope replay FILE`).
    Replay(ReplayAction),
    /// Time: the mark the views compare with.
    Time(TimeAction),
}

/// The mark (`b`, the script words `mark` and `unmark`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAction {
    /// Set the baseline (again): the session reads the mapping's states, bytes in memory and
    /// the process's VMAs.
    Mark,
    /// Drop the mark: the views show now only.
    Unmark,
}

/// The cursor, `:` and the one-line prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridAction {
    Move(Motion),
    /// Open the `:` prompt.
    GotoPrompt,
    /// A key in the prompt that is open (`:`, `/` or an operation's arguments).
    Prompt(PromptEdit),
    Goto(GotoTarget),
    /// A digit typed before a command (`16y`).
    Count(u8),
    /// `y`: the address under the cursor to the clipboard; with a count, that many bytes
    /// from the cursor as hex.
    Copy,
    /// A click on a byte: the cursor to this mapping offset, the view kept where it is.
    Point(u64),
    /// Ctrl-o: back to the place the last jump left (the jump list).
    JumpBack,
    /// Ctrl-i (where the terminal tells it from Tab) or Ctrl-n: forward again.
    JumpForward,
}

/// How the screen is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewAction {
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
}

/// Edit mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditAction {
    /// `i` / Enter: enter edit mode.
    Start,
    /// A hex digit typed in edit mode (0-15).
    Nibble(u8),
    /// A character typed into the text column in edit mode.
    Char(char),
    /// Tab in edit mode: hex column <-> text column.
    SwitchColumn,
    /// Esc in edit mode.
    Stop,
}

/// Quitting, menus and questions: what comes before an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskAction {
    Quit,
    /// Quit without asking (after a confirmation).
    QuitNow,
    /// `m`: switch MAP_SHARED <-> MAP_PRIVATE (asks first when private edits would be lost).
    SwitchMode,
    OpenMenu(MenuKind),
    Menu(MenuKey),
    /// The answer to a confirmation question (`None`: Enter, the question's default).
    Confirm(Option<bool>),
    /// The user said yes to the gate's question about `op`: carry it out (after setting
    /// `protect_first`, for a store into a read-only shared mapping), confirmed.
    Confirmed {
        op: Op,
        history: History,
        protect_first: Option<Prot>,
    },
    /// Carry out `op` beyond the memory bound that refused it (a confirmed question, a
    /// `force` script line).
    ForceThen(Box<Op>),
    /// A one-line prompt for an operation's arguments.
    OpenAsk(Ask),
}

/// The keys that start an experiment at the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabAction {
    /// `t`: touch the page under the cursor.
    Touch,
    /// `x`: call the code at the cursor in a forked child (a prompt asks for its arguments).
    Exec,
    /// `F`: fork a child that keeps the mapping, or (while one does) its menu of orders.
    Fork,
    /// `f`: start or stop the peer process (at the cursor).
    Peer,
}

/// Byte and state searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchAction {
    /// `/`: open the byte-search prompt.
    Prompt,
    /// `n` / `N`: the last search again, forward / backward from the cursor.
    Again { forward: bool },
}

/// The page map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageMapAction {
    /// `P`: the page map of the whole mapping.
    Open,
    /// Move the selection.
    Move(CellMove),
    /// `+` (true) / `-`: fewer / more pages per cell.
    Zoom(bool),
    /// Enter: open the selected cell's first page in the grid.
    OpenCell,
    /// A click on the cell holding this page: select it (a click on the cell selected opens
    /// it).
    Click(u64),
}

/// The address-space view and exploring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceAction {
    /// `A`: the address-space view of the process.
    Open,
    /// Move the selection by this many VMAs.
    Move(i64),
    /// Enter in the view: explore the selected VMA.
    Explore,
    /// Enter in the maps panel: explore the VMA of its selected (top) line.
    ExplorePanelLine,
    /// Backspace: back to the mapping we made.
    Back,
    /// A click on the VMA of this index in the view: select it (a click on the VMA selected
    /// explores it).
    Click(usize),
    /// `/` in the view: type a filter (a name, a kind, or `0x` and an address, which selects
    /// the VMA that holds it).
    FilterStart,
    /// A key while the filter is typed: a character, Backspace, Enter (keep it), Esc (clear).
    Filter(PromptEdit),
    /// `o`: sort by the next column (address, Rss, Pss, USS, shared, swap, huge, size, kind,
    /// name).
    SortNext,
    /// `O`: the other way round.
    SortReverse,
}

/// Typed views (`T`, `view WORD`), the byte order, the inspector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedAction {
    /// `T`: the next view (bytes, u16 ... f64, text, strings, code, bytes).
    Cycle,
    /// `view WORD`: this view.
    Set(ViewKind),
    /// `E`: values in the other byte order than the machine's.
    SwapOrder,
    /// `I`: the inspector line in the bytes view too.
    ToggleInspector,
}

/// The lesson being played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LessonAction {
    /// The next step (→, Space).
    Next,
    /// Back a step (←), replayed from the start.
    Back,
    /// J / K: scroll the pane's narration and results by this many lines.
    Scroll(i32),
}

/// Moving through a recording: a step, a change, play, a jump (`: t 12.5`, `: frame 40`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayAction {
    /// `,` / `.`: this many frames back (negative) or forward.
    Step(i64),
    /// `<` / `>`: the previous / next frame where something changed.
    Change { forward: bool },
    /// Space: play from the frame shown at the speed chosen, or pause.
    PlayPause,
    /// `+` (true) / `-`: play faster / slower.
    Speed(bool),
    /// `: frame N`: frame N (counted from 0).
    Frame(u64),
    /// `: t SECONDS`: the last frame taken at or before this time, in ms since the start.
    At(u64),
}

/// The process picker: typing filters, so its commands are on named keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerAction {
    /// A character typed into the filter.
    Type(char),
    /// Backspace: the filter's last character off.
    Erase,
    /// Move the selection by this many processes.
    Move(i64),
    /// Tab: by RSS (largest first) <-> by pid.
    ToggleSort,
    /// Enter: attach to the process selected.
    Choose,
    /// Esc: attach to nothing.
    Cancel,
}

/// What the session brings in, not asked by a key: the kernel's answers, a job's news, the
/// terminal's size, the lesson player's pane, the write gate's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A fresh probe of the kernel, at `now_ms` since the session started and wall-clock
    /// `clock`. `fresh`: the first one, whose changes are not news.
    Probed {
        snap: Box<crate::sys::probe::snapshot::Snapshot>,
        now_ms: u64,
        clock: String,
        fresh: bool,
    },
    /// `--also`: the second mapping's snapshot of the grid's rows (`None`: no second one).
    AlsoProbed(Option<Box<crate::sys::probe::snapshot::Snapshot>>),
    /// A line for the log (what the session says: an intro, a child still running).
    Note(String),
    /// The pages written since the mark (or why not known), read by the session's tracker;
    /// `None`: the mark was dropped.
    Written(Option<crate::model::Written>),
    /// `--track-access`: what happened to the accessed bits at the mark.
    Access(crate::model::Access),
    /// The terminal's new size.
    Resize(u16, u16),
    /// How the screen behaves: refresh interval, colours, the mouse.
    Configure {
        refresh_ms: u64,
        color: bool,
        high_contrast: bool,
        mouse: bool,
    },
    /// The write gate asks (`sys::ops::gate`): a question, and what a yes does.
    Question { question: String, then: Then },
    /// The peer process ended on its own.
    PeerEnded { pid: u32, how: String },
    /// The child keeping the mapping ended on its own (killed from outside).
    ChildEnded { pid: u32, how: String },
    /// The search `id` (running across ticks) has looked at `done` pages of `total`.
    SearchProgress { id: u64, done: u64, total: u64 },
    /// A search ended (found, not found, cancelled, stopped); `Finished::id` says which.
    SearchEnded(Box<Finished>),
    /// The page map's cells as the session read them.
    PageMapProbed(PageMapSlice),
    /// The address space as the session read it (for the view), with its title and when
    /// it was read (ms since the session started, as `Log::now_ms`).
    SpaceProbed {
        vmas: Vec<crate::sys::proc::process::VmaSummary>,
        title: String,
        read_ms: u64,
        /// What the reading could not find (thread stacks), in words.
        note: Option<String>,
    },
    /// The session now shows this VMA (`None`: our mapping again).
    Looking(Option<Looking>),
    /// `Command::GotoAddress` found `addr` in the VMA now shown, which starts at `base`.
    Arrived { addr: u64, base: u64 },
    /// The VMA explored was unmapped and found again at `new` (the same file's offsets;
    /// `inferred`: the one new anonymous VMA of its size and permissions).
    VmaMoved {
        old: crate::sys::proc::maps::MapsLine,
        new: crate::sys::proc::maps::MapsLine,
        inferred: bool,
    },
    /// `Command::GotoAddress` found `addr` in no VMA: the nearest below and above it.
    Gap {
        addr: u64,
        before: Option<crate::sys::proc::maps::MapsLine>,
        after: Option<crate::sys::proc::maps::MapsLine>,
    },
    /// The lesson pane to show (`None`: no lesson).
    ShowLesson(Option<LessonPane>),
    /// Keep this offset in view, quietly (a lesson step's `# show:`): the cursor on it.
    ShowOffset(u64),
    /// Select a page quietly (a lesson step's page): cursor and its header on top, no log.
    SelectPage(u64),
    /// A replay's clock, at `now_ms` since the session started: while playing, the frame due
    /// then is shown.
    ReplayClock { now_ms: u64 },
    /// The mark the session just took (`Command::Mark`).
    Marked(Box<crate::model::time::Mark>),
    /// The page states of the whole mapping now, as runs, to compare with the mark.
    Compared(Vec<crate::model::time::FlagRun>),
    /// The pages the mark kept whose bytes differ now (sorted runs of page numbers).
    BytesCompared {
        pages: Vec<std::ops::Range<u64>>,
        due_ms: Option<u64>,
    },
}

/// One message for `update`: an intent or news. Keys and script lines give `Action`s, the
/// session `Event`s; both convert, so the session's one entry point takes either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Action(Action),
    Event(Event),
}

impl From<Action> for Msg {
    fn from(a: Action) -> Self {
        Self::Action(a)
    }
}

impl From<Event> for Msg {
    fn from(e: Event) -> Self {
        Self::Event(e)
    }
}

/// What a menu line does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuChoice {
    Msync(SyncKind),
    Protect(Prot),
    Advise(MAdvice),
    Fadvise(FAdvice),
    /// mlock (true) or munlock.
    Lock(bool),
    /// The child writes at the cursor (a prompt asks for the bytes).
    ChildWrite,
    /// The child reads 16 bytes at the cursor.
    ChildRead,
    ChildExit,
    /// malloc this many bytes (`None`: a prompt asks).
    Alloc(Option<u64>),
    Free,
    /// Write this snippet at the cursor.
    Snippet(&'static str),
}

impl MenuChoice {
    /// Whether the choice applies to "this page or all". Huge-page advice is about 2 MiB
    /// ranges: on one page it would only split the mapping, so it always covers all.
    pub fn scoped(self) -> bool {
        match self {
            Self::Advise(a) => !matches!(
                a,
                MAdvice::HugePage | MAdvice::NoHugePage | MAdvice::Collapse
            ),
            _ => matches!(self, Self::Msync(_) | Self::Lock(_)),
        }
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
        MenuKind::Child => vec![
            (
                "the child writes here (hex bytes)".into(),
                MenuChoice::ChildWrite,
            ),
            (
                "the child reads 16 bytes here".into(),
                MenuChoice::ChildRead,
            ),
            (
                "the child exits (and is reaped)".into(),
                MenuChoice::ChildExit,
            ),
        ],
        MenuKind::Lock => vec![
            ("mlock: keep in RAM".into(), MenuChoice::Lock(true)),
            ("munlock".into(), MenuChoice::Lock(false)),
        ],
        MenuKind::Malloc => vec![
            ("malloc(SIZE)…".into(), MenuChoice::Alloc(None)),
            ("malloc(100)".into(), MenuChoice::Alloc(Some(100))),
            ("malloc(200 KiB)".into(), MenuChoice::Alloc(Some(200 << 10))),
            ("malloc(1 MiB)".into(), MenuChoice::Alloc(Some(1 << 20))),
            ("malloc(64 MiB)".into(), MenuChoice::Alloc(Some(64 << 20))),
            ("free the newest block".into(), MenuChoice::Free),
        ],
        MenuKind::Snippet => ["ret42", "add"]
            .into_iter()
            .map(|name| {
                (
                    format!(
                        "write {name} here ({})",
                        if name == "add" {
                            "returns A + B"
                        } else {
                            "returns 42"
                        }
                    ),
                    MenuChoice::Snippet(name),
                )
            })
            .collect(),
    }
}

/// A side effect requested by `update` (the session probes the kernel again after each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Carry out an operation; `history` says how a write enters the edit history;
    /// `confirmed`: the user has just said yes to the write gate's question about it.
    Exec {
        op: Op,
        history: History,
        confirmed: bool,
    },
    /// Explore the VMA of this maps line (of the process being looked at).
    Explore(crate::sys::proc::maps::MapsLine),
    /// Back to the mapping we made.
    ExploreBack,
    /// Find the VMA holding this absolute address in the process shown and open it there
    /// (answered with `Event::Arrived` or `Event::Gap`).
    GotoAddress(u64),
    /// Open the process again after it called exec (a new handle).
    Reattach,
    /// Start a search (dropping one still running).
    Search(Request),
    /// Stop the search `id` if it still runs (Esc while it was the one shown).
    CancelSearch { id: u64 },
    /// The next `Exec` of these commands may commit memory beyond the bound (`ForceThen`).
    Force,
    /// Show frame N of the recording replayed (the model's timeline is on it already).
    ShowFrame(usize),
    /// Take a mark of what is shown (answered with `Event::Marked`).
    Mark,
}
