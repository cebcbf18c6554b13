//! The address space (`A`) as the session last read it, and the VMA being explored when it is
//! not the mapping we made, with our own document kept aside meanwhile.

use super::Document;

/// The address-space view's reading, and what is explored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Space {
    /// The address space for its view (read while the view is open), and its title.
    pub vmas: Vec<crate::sys::proc::process::VmaSummary>,
    pub title: String,
    /// When it was read (ms since the start, as `Log::now_ms`): the view says its age.
    pub read_ms: u64,
    /// Exploring a VMA we did not map (`None`: our mapping is shown).
    pub looking: Option<Looking>,
    /// Our mapping's document (place and edits) while another VMA is explored.
    pub away: Option<Box<Document>>,
    /// The places left by jumps and VMA changes (Ctrl-o / Ctrl-i).
    pub jumps: super::Jumps,
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
