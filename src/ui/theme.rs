//! Page state -> style, in one place. Every state is also told by a word (page headers) or a
//! letter (legend), so the screen reads on a monochrome projector and with `NO_COLOR` set: the
//! monochrome theme keeps only bold, dim, underline and reverse.

use ratatui::style::{Color, Modifier, Style};

/// What a piece of the screen shows, for choosing its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Normal,
    Title,
    Focused,
    Dim,
    Resident,
    NotResident,
    Present,
    Cow,
    Dirty,
    /// Written by this tool since the last msync that covered it.
    Edited,
    /// Changed by another process a moment ago.
    Foreign,
    /// Bytes the last byte search found.
    Found,
    Padding,
    BeyondEof,
    Unreadable,
    Cursor,
    OurMapping,
    Warning,
    Key,
    /// Anonymous memory in the address-space view (apart from the heap's colour).
    AnonMemory,
    /// Shared memory (shmem) in the address-space view.
    SharedMemory,
    /// Since the mark: a state a page gained, a VMA new or grown (also said as `+WORD`).
    Became,
    /// Since the mark: a state a page lost, a VMA shrunk or gone (also said as `-WORD`).
    Stopped,
    /// Bytes changed since the mark; minimap and page-map cells with changes.
    Changed,
}

// Since the mark, in mono: `+WORD` bold and `-WORD` italic (the words say which), changed
// bytes and cells reversed and underlined (edits are bold underlined, found bytes reversed
// italic, another process's bytes reversed bold).

/// The styles of a session: colour or monochrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    /// For projectors: bright colours, bold, nothing dimmed.
    pub high_contrast: bool,
}

impl Theme {
    pub fn style(self, role: Role) -> Style {
        let s = Style::default();
        if !self.color {
            return mono(role);
        }
        if self.high_contrast {
            let b = Modifier::BOLD;
            return match role {
                Role::Normal => s.fg(Color::White),
                Role::Title => s.fg(Color::LightCyan).add_modifier(b),
                Role::Focused | Role::Warning => s.fg(Color::LightYellow).add_modifier(b),
                Role::Dim | Role::NotResident => s.fg(Color::Gray),
                Role::Resident => s.fg(Color::LightGreen).add_modifier(b),
                Role::Present | Role::Key => s.fg(Color::LightCyan).add_modifier(b),
                Role::Cow => s.fg(Color::LightMagenta).add_modifier(b),
                Role::Dirty => s.fg(Color::LightYellow),
                Role::Edited => s.fg(Color::Black).bg(Color::LightYellow).add_modifier(b),
                Role::Foreign => s.fg(Color::Black).bg(Color::LightMagenta).add_modifier(b),
                Role::Found => s.fg(Color::Black).bg(Color::LightGreen).add_modifier(b),
                Role::Padding => s.fg(Color::Yellow).add_modifier(Modifier::UNDERLINED),
                Role::BeyondEof | Role::Unreadable => s.fg(Color::LightRed).add_modifier(b),
                Role::Cursor => s.add_modifier(Modifier::REVERSED | b),
                Role::OurMapping => s.fg(Color::Black).bg(Color::LightCyan).add_modifier(b),
                Role::AnonMemory => s.fg(Color::LightBlue).add_modifier(b),
                Role::SharedMemory => s.fg(Color::LightMagenta),
                Role::Became => s
                    .fg(Color::LightGreen)
                    .add_modifier(b | Modifier::UNDERLINED),
                Role::Stopped => s.fg(Color::LightRed).add_modifier(b),
                Role::Changed => s.fg(Color::Black).bg(Color::LightBlue).add_modifier(b),
            };
        }
        match role {
            Role::Normal => s,
            Role::Title => s.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Role::Focused => s.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Role::Dim => s.fg(Color::DarkGray),
            Role::Resident => s.fg(Color::Green),
            Role::NotResident => s.fg(Color::DarkGray),
            Role::Present => s.fg(Color::Cyan),
            Role::Cow => s.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            Role::Dirty => s.fg(Color::Yellow),
            Role::AnonMemory => s.fg(Color::Blue).add_modifier(Modifier::BOLD),
            Role::SharedMemory => s.fg(Color::LightMagenta),
            Role::Edited => s
                .fg(Color::LightYellow)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            Role::Foreign => s.fg(Color::Black).bg(Color::LightMagenta),
            Role::Found => s.fg(Color::Black).bg(Color::Green),
            Role::Padding => s.fg(Color::Yellow).add_modifier(Modifier::DIM),
            Role::BeyondEof => s.fg(Color::Red).add_modifier(Modifier::DIM),
            Role::Unreadable => s.fg(Color::Red),
            Role::Cursor => s.add_modifier(Modifier::REVERSED),
            Role::OurMapping => s.fg(Color::Black).bg(Color::Cyan),
            Role::Warning => s.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Role::Key => s.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Role::Became => s.fg(Color::LightGreen).add_modifier(Modifier::BOLD),
            Role::Stopped => s.fg(Color::LightRed).add_modifier(Modifier::BOLD),
            Role::Changed => s.fg(Color::Black).bg(Color::LightBlue),
        }
    }
}

/// The monochrome style of `role` (NO_COLOR): bold, dim, italic, underline and reverse only.
fn mono(role: Role) -> Style {
    let s = Style::default();
    match role {
        Role::Title | Role::Focused | Role::Key | Role::OurMapping | Role::Became => {
            s.add_modifier(Modifier::BOLD)
        }
        Role::Dim | Role::NotResident | Role::Padding | Role::BeyondEof => {
            s.add_modifier(Modifier::DIM)
        }
        Role::Edited => s.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        Role::Foreign => s.add_modifier(Modifier::REVERSED | Modifier::BOLD),
        Role::Found => s.add_modifier(Modifier::REVERSED | Modifier::ITALIC),
        Role::Cow | Role::Warning | Role::Unreadable => s.add_modifier(Modifier::UNDERLINED),
        Role::Cursor => s.add_modifier(Modifier::REVERSED),
        // Apart from the heap (plain) in monochrome too.
        Role::AnonMemory | Role::Stopped => s.add_modifier(Modifier::ITALIC),
        Role::SharedMemory => s.add_modifier(Modifier::ITALIC | Modifier::UNDERLINED),
        Role::Changed => s.add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
        // Dirty is said in words (and D); underlining every dirty byte would hide edits.
        Role::Normal | Role::Resident | Role::Present | Role::Dirty => s,
    }
}
