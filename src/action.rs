//! `Action`: what the user asked for, whether by a key in the TUI or a line of a batch script;
//! `Command`: a side effect `update` wants carried out against the kernel; `Outcome`: what the
//! kernel answered, fed back into the model. One path for keys, scripts and lessons.

pub use crate::find::{Finished, Request, StateQuery};
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

/// The page map's cells as the session read them: `buckets[i]` holds the `per_cell` pages
/// from page `first + i * per_cell` (the last cell of the mapping may hold fewer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageMapData {
    pub first: u64,
    pub per_cell: u64,
    pub buckets: Vec<crate::sys::probe::chunks::Bucket>,
}

/// Cells of the page map read at one refresh: `buckets[i]` is cell `start + i` of the window
/// of `cells` cells of `per_cell` pages from page `first`. The session reads a slice a refresh
/// within a time budget (the whole window when it is cheap), so that the map's cost does not
/// grow with the mapping or with what is cached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageMapSlice {
    pub first: u64,
    pub per_cell: u64,
    pub cells: usize,
    pub start: usize,
    pub buckets: Vec<crate::sys::probe::chunks::Bucket>,
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
    /// `F` while a child keeps the mapping: its orders.
    Child,
    /// `L`: mlock / munlock.
    Lock,
    /// `M`: malloc and free.
    Malloc,
    /// `X`: machine-code snippets to write at the cursor.
    Snippet,
}

/// What a one-line prompt asks for (typed text, Enter submits, Esc cancels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `x`: the two arguments for the code at this offset (`1000 234`; empty: 0 0).
    ExecArgs { offset: u64 },
    /// `M`: a size to malloc.
    AllocSize,
    /// `R`: a new size (mremap), or `move ADDR`.
    Reshape,
    /// `F`: hex bytes the child writes at this offset.
    ChildWrite { offset: u64 },
}

impl Ask {
    /// The prompt's words, before the typed text.
    pub fn title(self) -> String {
        match self {
            Self::ExecArgs { offset } => {
                format!("call fn(A, B) at 0x{offset:x} in a child; A B (Enter: 0 0): ")
            }
            Self::AllocSize => "malloc SIZE (100, 200k, 1M, 64M): ".into(),
            Self::Reshape => "mremap: new SIZE (64k), or move ADDR: ".into(),
            Self::ChildWrite { offset } => format!("the child writes at 0x{offset:x}; hex bytes: "),
        }
    }

    /// The operation the typed text asks for.
    ///
    /// # Errors
    /// A sentence saying what was expected.
    pub fn parse(self, text: &str) -> Result<Op, String> {
        use crate::geometry::parse_size;
        let words: Vec<&str> = text.split_whitespace().collect();
        match (self, words.as_slice()) {
            (Self::ExecArgs { offset }, []) => Ok(Op::Exec {
                offset,
                args: (0, 0),
            }),
            (Self::ExecArgs { offset }, [a, b]) => Ok(Op::Exec {
                offset,
                args: (parse_size(a)?, parse_size(b)?),
            }),
            (Self::ExecArgs { .. }, _) => Err("give two numbers (1000 234), or nothing".into()),
            (Self::AllocSize, [n]) => parse_size(n).map(Op::Alloc),
            (Self::AllocSize, _) => Err("give one size: 100, 200k, 1M".into()),
            (Self::Reshape, [n]) => parse_size(n).map(Op::Resize),
            (Self::Reshape, ["move", a]) => parse_size(a).map(Op::Move),
            (Self::Reshape, _) => {
                Err("give a size (64k) or `move ADDR` (move 0x7f0000000000)".into())
            }
            (Self::ChildWrite { offset }, words) if !words.is_empty() => Ok(Op::ChildWrite {
                offset,
                bytes: crate::text::hex_bytes(text, crate::text::LoneDigit::Byte)?,
            }),
            (Self::ChildWrite { .. }, _) => Err("give hex bytes: 41 42 ff".into()),
        }
    }
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

/// What a lesson line did, for the narration pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonResult {
    pub text: String,
    pub ok: bool,
    /// It failed, and the `expect error` after it said it should: a refusal being taught.
    pub expected_error: bool,
    /// An `expect` on a field only root can read, skipped without root.
    pub skipped: bool,
    /// Why it failed, or what it returned.
    pub detail: String,
}

impl LessonResult {
    /// The mark the pane puts before it: `✓`, `✓ refused, as it should be:` or `✗`.
    pub fn mark(&self) -> &'static str {
        match (self.ok, self.expected_error) {
            (true, true) => "✓ refused, as it should be:",
            (true, false) => "✓",
            (false, _) => "✗",
        }
    }

    /// Marks each failure that the `expect error` right after it claims as expected.
    pub fn claim_expected_errors(results: &mut [LessonResult]) {
        for i in 1..results.len() {
            if results[i].text.trim() == "expect error" && results[i].ok && !results[i - 1].ok {
                results[i - 1].ok = true;
                results[i - 1].expected_error = true;
            }
        }
    }
}

/// The lesson being played: where we are and what the last step said and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonPane {
    pub name: String,
    pub title: String,
    /// Steps played so far (0: not started).
    pub step: usize,
    pub total: usize,
    pub say: String,
    pub results: Vec<LessonResult>,
    /// The step's `# show:` offset (the grid keeps it in view).
    pub show: Option<u64>,
    /// The step's `# fields:` (the smaps panel lists them first).
    pub fields: Vec<crate::sys::proc::maps::SmapsField>,
    /// Lines the pane's narration and results are scrolled down (J / K).
    pub scroll: u16,
}

impl LessonPane {
    /// The pane before the first step of the lesson `name`, titled `title`, of `total` steps.
    pub fn start(name: &str, title: &str, total: usize) -> Self {
        Self {
            name: name.to_string(),
            title: title.to_string(),
            step: 0,
            total,
            say: format!("{title}. Press → or Space for the first step."),
            results: Vec::new(),
            show: None,
            fields: Vec::new(),
            scroll: 0,
        }
    }
}

/// Everything the user can ask for (and every change the session brings in: a probe, a
/// lesson step, a note): the one way the model changes.
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
    /// The write gate asks (`sys::ops::gate`): a question, and what a yes does.
    Question {
        question: String,
        then: Box<Action>,
    },
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
    /// `t`: touch the page under the cursor.
    TouchCursor,
    /// `x`: call the code at the cursor in a forked child (a prompt asks for its arguments).
    ExecCursor,
    /// A one-line prompt for an operation's arguments.
    OpenAsk(Ask),
    /// `F`: fork a child that keeps the mapping, or (while one does) its menu of orders.
    ForkKey,
    /// `f`: start or stop the peer process (at the cursor).
    TogglePeer,
    /// Quit without asking (after a confirmation).
    QuitNow,
    /// Lessons: the next step (→, Space).
    LessonNext,
    /// Lessons: back a step (←), replayed from the start.
    LessonBack,
    /// Something that changes the mapping, carried out by `sys::ops::carry`.
    Do(Op),
    /// A fresh probe of the kernel, at `now_ms` since the session started and wall-clock
    /// `clock`. `fresh`: the first one, whose changes are not news.
    Probed {
        snap: Box<crate::sys::probe::snapshot::Snapshot>,
        now_ms: u64,
        clock: String,
        fresh: bool,
    },
    /// A line for the log (what the session says: an intro, a child still running).
    Note(String),
    /// The peer process ended on its own.
    PeerEnded {
        pid: u32,
        how: String,
    },
    /// The child keeping the mapping ended on its own (killed from outside).
    ChildEnded {
        pid: u32,
        how: String,
    },
    /// Select a page quietly (a lesson step's page): cursor and its header on top, no log.
    SelectPage(u64),
    /// The lesson pane to show (`None`: no lesson).
    ShowLesson(Option<LessonPane>),
    /// J / K: scroll the lesson pane's narration and results by this many lines.
    ScrollLesson(i32),
    /// Keep this offset in view, quietly (a lesson step's `# show:`): the cursor on it.
    ShowOffset(u64),
    /// `A`: the address-space view of the process.
    OpenSpace,
    /// `--also`: the second mapping's snapshot of the grid's rows (`None`: no second one).
    AlsoProbed(Option<Box<crate::sys::probe::snapshot::Snapshot>>),
    /// The address space as the session read it (for the view), with its title and when
    /// it was read (ms since the session started, as `Model::now_ms`).
    SpaceProbed {
        vmas: Vec<crate::sys::proc::process::VmaSummary>,
        title: String,
        read_ms: u64,
    },
    /// Move the selection in the address-space view by this many VMAs.
    SpaceMove(i64),
    /// Enter in the address-space view: explore the selected VMA.
    SpaceOpen,
    /// Enter in the maps panel: explore the VMA of its selected (top) line.
    ExplorePanelLine,
    /// The session now shows this VMA (`None`: our mapping again).
    Looking(Option<Looking>),
    /// Backspace: back to the mapping we made.
    ExploreBack,
    /// `/`: open the byte-search prompt.
    FindPrompt,
    /// `n` / `N`: the last search again, forward / backward from the cursor.
    SearchAgain {
        forward: bool,
    },
    /// The search `id` (running across ticks) has looked at `done` pages of `total`.
    SearchProgress {
        id: u64,
        done: u64,
        total: u64,
    },
    /// A search ended (found, not found, cancelled, stopped); `Finished::id` says which.
    SearchEnded(Box<Finished>),
    /// `P`: the page map of the whole mapping.
    OpenPageMap,
    /// Move the page map's selection.
    PageMapMove(CellMove),
    /// `+` (true) / `-`: fewer / more pages per cell.
    PageMapZoom(bool),
    /// Enter in the page map: open the selected cell's first page in the grid.
    PageMapOpen,
    /// The page map's cells as the session read them.
    PageMapProbed(PageMapSlice),
    /// How the screen behaves: refresh interval and colours.
    Configure {
        refresh_ms: u64,
        color: bool,
        high_contrast: bool,
    },
}

impl Action {
    /// Brought in by the session (a probe, a note, settings, a lesson's pane, a resize), not
    /// typed by the user.
    pub fn from_session(&self) -> bool {
        matches!(
            self,
            Self::Probed { .. }
                | Self::SpaceProbed { .. }
                | Self::SearchProgress { .. }
                | Self::SearchEnded(_)
                | Self::PageMapProbed(_)
                | Self::AlsoProbed(_)
                | Self::ChildEnded { .. }
                | Self::Looking(_)
                | Self::Note(_)
                | Self::Question { .. }
                | Self::PeerEnded { .. }
                | Self::ShowLesson(_)
                | Self::ShowOffset(_)
                | Self::Configure { .. }
                | Self::Resize(..)
        )
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

/// What is shown when it is not the mapping we made: a VMA of our own process or of another.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Looking {
    pub pid: u32,
    /// The process as the header names it: `pid 4242 python3`.
    pub process: String,
    /// Another process than mmapscope.
    pub other: bool,
    /// The VMA's name: its path, `[heap]`, `[stack]`, `[anonymous]`.
    pub vma: String,
    /// How its bytes are read: `/proc/PID/mem`, through the process's handle.
    pub via: String,
    /// Its start address when it was opened.
    pub start: u64,
    /// There is a mapping of ours to go back to (Backspace); not when attached with `--pid`.
    pub back: bool,
    /// Why the view stopped following (the process exited, the VMA is gone): the last state
    /// stays on screen.
    pub ended: Option<String>,
    /// The process called exec: Enter reopens it (a new handle on its new memory).
    pub reopen: bool,
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
    /// Open the process again after it called exec (a new handle).
    Reattach,
    /// Start a search (dropping one still running).
    Search(Request),
    /// Stop the search `id` if it still runs (Esc while it was the one shown).
    CancelSearch { id: u64 },
    /// The next `Exec` of these commands may commit memory beyond the bound (`ForceThen`).
    Force,
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
