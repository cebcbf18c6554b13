//! The process picker's state (`mmapscope --pick`, or `--pid NAME` in a terminal when no
//! process or several have that name): the processes read from /proc, the filter typed, the
//! order, the selection, and what the user chose. Plain data: `update::picker` changes it,
//! `ui::picker` draws it, the picker's loop in `app` reads /proc into it.

use crate::sys::proc::named::Named;

/// The screen row of the list's first process (under the title, the note, the column names).
pub const LIST_TOP: u16 = 3;

/// The picker: every process listed, and how the user narrows it down.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Picker {
    /// Every process read (ourselves and kernel threads left out), by pid.
    pub all: Vec<Named>,
    /// The filter typed: every blank-separated word of it must be in the line (pid, user,
    /// command line), ignoring case.
    pub filter: String,
    /// Index of the selection in `shown()`.
    pub selected: usize,
    /// Listed by pid instead of by RSS (largest first).
    pub by_pid: bool,
    /// Why the picker opened (`3 processes are named sleep`), shown above the list.
    pub note: Option<String>,
    /// The terminal's size (columns, rows).
    pub size: (u16, u16),
    /// What the user chose; the loop ends once it is set.
    pub chosen: Option<Picked>,
}

/// How the picker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picked {
    /// Attach to this pid.
    Pid(u32),
    /// Esc, q or Ctrl-c: nothing.
    Nothing,
}

impl Picker {
    /// A picker over `all`, filtered on `filter`.
    pub fn new(all: Vec<Named>, filter: &str, note: Option<String>) -> Self {
        Self {
            all,
            filter: filter.to_string(),
            note,
            size: (80, 24),
            ..Self::default()
        }
    }

    /// The processes the filter keeps, in the order shown.
    pub fn shown(&self) -> Vec<&Named> {
        let words: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut out: Vec<&Named> = self
            .all
            .iter()
            .filter(|n| {
                let line = format!("{} {} {}", n.pid, n.user, n.cmdline).to_lowercase();
                words.iter().all(|w| line.contains(w.as_str()))
            })
            .collect();
        if self.by_pid {
            out.sort_by_key(|n| n.pid);
        } else {
            out.sort_by(|a, b| b.rss.cmp(&a.rss).then(a.pid.cmp(&b.pid)));
        }
        out
    }

    /// The process selected, if the filter keeps any.
    pub fn selection(&self) -> Option<&Named> {
        self.shown().get(self.selected).copied()
    }

    /// Rows of the list that fit on screen (the title, the note, the column names, the
    /// filter line and the key line take five).
    pub fn list_rows(&self) -> usize {
        usize::from(self.size.1.saturating_sub(5)).max(1)
    }

    /// The index in `shown()` of the process drawn on screen row `y`, if one is.
    pub fn row_at(&self, y: u16) -> Option<usize> {
        let row = usize::from(y.checked_sub(LIST_TOP)?);
        let i = self.first_row() + row;
        (row < self.list_rows() && i < self.shown().len()).then_some(i)
    }

    /// The first row of `shown()` drawn: the selection stays in view.
    pub fn first_row(&self) -> usize {
        let rows = self.list_rows();
        self.selected.saturating_sub(rows - 1)
    }

    /// Keeps the selection on the process it was on when the list is read again (by pid), or
    /// in range.
    pub fn replace(&mut self, all: Vec<Named>) {
        let pid = self.selection().map(|n| n.pid);
        self.all = all;
        let shown = self.shown();
        self.selected = pid
            .and_then(|p| shown.iter().position(|n| n.pid == p))
            .unwrap_or(self.selected)
            .min(shown.len().saturating_sub(1));
    }
}
