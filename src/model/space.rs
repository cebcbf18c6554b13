//! The address space (`A`) as the session last read it, how its view orders and filters it,
//! and the VMA being explored when it is not the mapping we made, with our own document kept
//! aside meanwhile.

use super::Document;
use crate::sys::proc::process::VmaSummary;
use crate::sys::proc::rss::Totals;

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
    /// The totals of `vmas` by kind and backing.
    pub totals: Totals,
    /// What the reading could not find (thread stacks whose stack pointer is unreadable).
    pub note: Option<String>,
    /// How the view shows `vmas`: sorted, filtered.
    pub view: SpaceView,
    /// The places left by jumps and VMA changes (Ctrl-o / Ctrl-i).
    pub jumps: super::Jumps,
}

/// A column of the address-space view, to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpaceColumn {
    #[default]
    Address,
    Rss,
    Pss,
    Private,
    Shared,
    Swap,
    Huge,
    Size,
    Kind,
    Name,
}

impl SpaceColumn {
    /// The order `o` cycles through.
    pub const CYCLE: [SpaceColumn; 10] = [
        Self::Address,
        Self::Rss,
        Self::Pss,
        Self::Private,
        Self::Shared,
        Self::Swap,
        Self::Huge,
        Self::Size,
        Self::Kind,
        Self::Name,
    ];

    /// Its title in the view's header (and in the log).
    pub fn title(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Rss => "Rss",
            Self::Pss => "Pss",
            Self::Private => "USS",
            Self::Shared => "shared",
            Self::Swap => "swap",
            Self::Huge => "huge",
            Self::Size => "size",
            Self::Kind => "kind",
            Self::Name => "name",
        }
    }

    /// The next column of the cycle.
    pub fn next(self) -> Self {
        let i = Self::CYCLE.iter().position(|c| *c == self).unwrap_or(0);
        Self::CYCLE[(i + 1) % Self::CYCLE.len()]
    }

    /// A figure sorts largest first, a word or an address in its natural order.
    pub fn descending(self) -> bool {
        !matches!(self, Self::Address | Self::Kind | Self::Name)
    }

    /// The figure of `v` in this column (`None`: smaps did not say).
    pub fn figure(self, v: &VmaSummary) -> Option<u64> {
        let m = v.mem;
        match self {
            Self::Address => Some(v.line.start),
            Self::Size => Some(v.line.end - v.line.start),
            Self::Rss => v.rss,
            Self::Pss => m.map(|m| m.pss),
            Self::Private => m.map(|m| m.private),
            Self::Shared => m.map(|m| m.shared),
            Self::Swap => m.map(|m| m.swap),
            Self::Huge => m.map(|m| m.huge),
            Self::Kind | Self::Name => None,
        }
    }
}

/// How the address-space view shows the VMAs: sorted by a column, filtered by text (a name, a
/// kind, a label) or pointed at an address, and the order that gives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpaceView {
    pub sort: SpaceColumn,
    /// The column's order reversed (`O`).
    pub reverse: bool,
    /// The filter's text (`/`).
    pub filter: String,
    /// The filter is being typed: keys go to it.
    pub typing: bool,
    /// Indices into `Space::vmas` in the order shown (those the filter keeps).
    pub order: Vec<usize>,
    /// What an address typed in the filter is in: its VMA, or the gap around it.
    pub said: Option<String>,
}

/// The VMA's name as the view shows it: its file's name (the maps panel has the path), its
/// pseudo-path (`[heap]`), or `[anonymous]`.
pub fn vma_name(v: &VmaSummary) -> String {
    match v.line.path.as_str() {
        "" => "[anonymous]".to_string(),
        p if p.starts_with('/') => crate::text::sanitize(p.rsplit('/').next().unwrap_or(p)),
        p => crate::text::sanitize(p),
    }
}

/// An address typed in the filter: `0x` and hex digits (`@` before it too).
pub fn filter_address(text: &str) -> Option<u64> {
    let t = text.trim().trim_start_matches('@');
    let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
    u64::from_str_radix(&hex.replace('_', ""), 16).ok()
}

/// What `addr` is in among `vmas` (in address order): the index of its VMA, and the words.
pub fn locate(vmas: &[VmaSummary], addr: u64) -> (Option<usize>, String) {
    let i = vmas.partition_point(|v| v.line.end <= addr);
    match vmas.get(i) {
        Some(v) if v.line.start <= addr => (
            Some(i),
            format!(
                "0x{addr:x} is in {} (+0x{:x}), {} {}",
                vmas_label(v),
                addr - v.line.start,
                v.line.perms,
                v.kind.word()
            ),
        ),
        next => {
            let before = i.checked_sub(1).and_then(|j| vmas.get(j)).map_or_else(
                || "nothing".to_string(),
                |b| format!("{} (ends 0x{:x})", vmas_label(b), b.line.end),
            );
            let after = next.map_or_else(
                || "nothing".to_string(),
                |n| format!("{} (starts 0x{:x})", vmas_label(n), n.line.start),
            );
            (
                None,
                format!("0x{addr:x} is in a gap: after {before}, before {after}"),
            )
        }
    }
}

fn vmas_label(v: &VmaSummary) -> String {
    v.label.clone().unwrap_or_else(|| vma_name(v))
}

impl SpaceView {
    /// Orders and filters `vmas` as the view's settings say; an address in the filter keeps
    /// every VMA and says where it is. Returns the VMA an address points at.
    pub fn arrange(&mut self, vmas: &[VmaSummary]) -> Option<usize> {
        let mut hit = None;
        self.said = None;
        let needle = self.filter.trim().to_lowercase();
        self.order = if let Some(addr) = filter_address(&needle) {
            let (i, words) = locate(vmas, addr);
            hit = i;
            self.said = Some(words);
            (0..vmas.len()).collect()
        } else if needle.is_empty() {
            (0..vmas.len()).collect()
        } else {
            (0..vmas.len())
                .filter(|&i| matches(&vmas[i], &needle))
                .collect()
        };
        let col = self.sort;
        if col != SpaceColumn::Address {
            let key = |i: &usize| {
                let v = &vmas[*i];
                (
                    col.figure(v).unwrap_or(0),
                    match col {
                        SpaceColumn::Kind => v.kind.word().to_string(),
                        SpaceColumn::Name => vmas_label(v).to_lowercase(),
                        _ => String::new(),
                    },
                )
            };
            let mut keyed: Vec<_> = self.order.iter().map(|i| (key(i), *i)).collect();
            // Stable: equal figures stay in address order, whichever way the column sorts.
            if col.descending() {
                keyed.sort_by(|a, b| b.0.cmp(&a.0));
            } else {
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
            }
            self.order = keyed.into_iter().map(|(_, i)| i).collect();
        }
        if self.reverse {
            self.order.reverse();
        }
        hit
    }
}

/// Whether `v` matches a lowercase filter: its name, path, kind or label holds it.
fn matches(v: &VmaSummary, needle: &str) -> bool {
    v.kind.word() == needle
        || v.kind.json_word() == needle
        || v.line.path.to_lowercase().contains(needle)
        || (v.line.path.is_empty() && "[anonymous]".contains(needle))
        || v.label
            .as_ref()
            .is_some_and(|l| l.to_lowercase().contains(needle))
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
