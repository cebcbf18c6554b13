//! The screen: terminal size, where keys go, what is drawn over the grid (prompts, menus, the
//! page map, the address-space view, a question) and edit mode, with the types they carry (which
//! menu, what a prompt asks, what a yes does).

use crate::sys::map::request::Prot;
use crate::sys::ops::op::Op;

use super::History;

/// How the mapping is looked at: size, focus, the overlay, edit mode and the scrolls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub focus: Focus,
    pub overlay: Overlay,
    /// Edit mode, when on.
    pub edit: Option<EditState>,
    /// The explain pane replaces the side panel.
    pub explain: bool,
    /// Offsets column shows virtual addresses instead of file offsets.
    pub show_vaddr: bool,
    pub panel_scroll: u16,
    /// Lines scrolled back in the log (0: the newest at the bottom).
    pub log_scroll: u16,
    /// Lines scrolled down in the help overlay.
    pub help_scroll: u16,
    /// `y`: the count typed before it, and what it put on the clipboard for the terminal.
    pub copy: Copy,
    /// How the grid shows the bytes: bytes, a type, text, strings or code (`T`).
    pub typed: super::Typed,
    /// The user asked to quit (and answered any question about it): the loop ends.
    pub quit: bool,
}

/// `y` and its count: `16y` copies 16 bytes. The text copied waits here until the terminal
/// loop sends it (OSC 52): `update` is pure and never writes to the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Copy {
    /// Digits typed in the grid, waiting for `y` (any other key drops them).
    pub count: Option<u64>,
    /// Text for the clipboard, not yet sent.
    pub outbox: Option<String>,
}

impl Screen {
    /// The screen of a `size` terminal: the grid focused, nothing over it.
    pub fn new(size: (u16, u16)) -> Self {
        Self {
            size,
            focus: Focus::Grid,
            overlay: Overlay::None,
            edit: None,
            explain: false,
            show_vaddr: false,
            panel_scroll: 0,
            log_scroll: 0,
            help_scroll: 0,
            copy: Copy::default(),
            typed: super::Typed::default(),
            quit: false,
        }
    }
}

/// What a yes to a question carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// Quit without asking again.
    Quit,
    /// Carry out the operation.
    Do(Op),
    /// Carry out the operation beyond the memory bound that refused it.
    Force(Op),
    /// The write gate asked about `op`: carry it out confirmed (after `protect_first`, for a
    /// store into a read-only shared mapping).
    Confirmed {
        op: Op,
        history: History,
        protect_first: Option<Prot>,
    },
}

/// Where keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Grid,
    Panel,
    /// The event log: it grows and scrolls.
    Log,
}

/// What is drawn over the screen and takes the keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Overlay {
    #[default]
    None,
    Help,
    /// The `:` prompt with its text so far.
    Goto(String),
    /// A one-line prompt for an operation's arguments, with its text so far.
    Ask {
        ask: Ask,
        text: String,
    },
    /// The `/` prompt (bytes to find) with its text so far.
    Find(String),
    /// The page map (`P`): the selected cell holds page `selected`; `per_cell` pages a cell;
    /// `top` is the first row drawn.
    PageMap {
        selected: u64,
        per_cell: u64,
        top: u64,
    },
    /// A menu of system calls (`S`, `p`, `a`).
    Menu {
        kind: MenuKind,
        selected: usize,
        /// The call covers the whole mapping (false: the page under the cursor).
        all: bool,
    },
    /// The address-space view (`A`): the whole layout, one VMA selected.
    Space {
        selected: usize,
    },
    /// A yes/no question before something that loses data.
    Confirm {
        question: String,
        then: Box<Then>,
        /// What Enter answers (`y`/`n` always answer themselves).
        default_yes: bool,
    },
}

/// Edit mode: which column takes the keys, and a typed high nibble waiting for its low one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EditState {
    pub text: bool,
    pub pending: Option<u8>,
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
    /// `D`: what to dump (`vma`, `page N`, `OFFSET LEN`) and the file.
    Dump,
    /// `C`: what to export (`svg [map|space]`, `html`) and the file.
    Export,
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
            Self::Dump => "dump vma | page N | OFF LEN, then FILE: ".into(),
            Self::Export => "export svg map|space|diff, html (screen), then FILE: ".into(),
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
            (Self::Dump, words) => crate::sys::ops::op::Dump::parse(words).map(Op::Dump),
            (Self::Export, words) => crate::sys::ops::op::Export::parse(words).map(Op::Export),
        }
    }
}
