//! Time: the mark the views compare with (`b`, the script word `mark`), and what changed since
//! it. A `Mark` is plain data (per-page state as runs, the bytes of pages that were in memory,
//! up to a bound, and the process's VMAs with their smaps counters) and the compare is pure:
//! the session fills a mark from the kernel, a replay builds one from a recorded frame, and
//! both compare with the same functions (`compare_runs`, `compare_page`, `compare_vmas`).
//! The recording replayed, if any, is here too (`Replay`, in `time/replay.rs`).

mod compare;
mod replay;
mod written;

pub use replay::{Play, Replay, SPEED_1X, SPEEDS};

pub use compare::{
    BytesChange, ChangeFilter, ChangeRun, PageChange, VmaChange, VmaChangeKind, changed_offsets,
    compare_page, compare_runs, compare_vma, compare_vmas, first_change,
};

pub use written::{Access, Written, with_written};

use crate::sys::probe::state::PageState;

/// The bytes a mark keeps of pages in memory at the mark: 16 MiB (4,096 pages of 4 KiB). The
/// copy is memory we hold for as long as the mark lives, and copying it is the mark's main
/// cost (a mark on a large cached file would otherwise copy the file); a page beyond the bound
/// compares by state only, and the screen and `diff` say so.
pub const MARK_BYTES_MAX: u64 = 16 << 20;

/// A state word of a page that the compare follows, in the order they are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Word {
    Present,
    Resident,
    Dirty,
    Cow,
    Exclusive,
    /// Written since the mark (where the kernel says exactly: `Time::written`); never read
    /// from a page's state, so a mark's runs and a probe's know it only once folded in
    /// (`with_written`).
    Written,
}

impl Word {
    pub const ALL: [Word; 6] = [
        Self::Present,
        Self::Resident,
        Self::Dirty,
        Self::Cow,
        Self::Exclusive,
        Self::Written,
    ];

    /// The word as `: +WORD`, `diff` and the page headers say it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Resident => "resident",
            Self::Dirty => "dirty",
            Self::Cow => "cow",
            Self::Exclusive => "exclusive",
            Self::Written => "written",
        }
    }

    /// The word named `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of state words (a bit each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Words(pub u8);

impl Words {
    pub fn has(self, w: Word) -> bool {
        self.0 & w.bit() != 0
    }

    pub fn with(self, w: Word) -> Self {
        Self(self.0 | w.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The words in the set, in `Word::ALL`'s order.
    pub fn iter(self) -> impl Iterator<Item = Word> {
        Word::ALL.into_iter().filter(move |w| self.has(*w))
    }

    /// The names, in order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Word::name).collect()
    }
}

/// What is known of a page's followed states: `known` has a bit for each word the kernel
/// answered, `set` the words that are true. A word unknown on either side never counts as a
/// change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Flags {
    pub known: Words,
    pub set: Words,
}

impl Flags {
    /// The followed states of a decoded page.
    pub fn of(state: &PageState) -> Self {
        let p = &state.place;
        let answers = [
            (Word::Present, p.present),
            (Word::Resident, p.resident),
            (Word::Dirty, state.writes.dirty),
            (Word::Cow, p.cow),
            (Word::Exclusive, p.exclusive),
        ];
        let mut flags = Self::default();
        for (w, a) in answers {
            if let Some(v) = a {
                flags.known = flags.known.with(w);
                if v {
                    flags.set = flags.set.with(w);
                }
            }
        }
        flags
    }

    /// Whether word `w` is known and true.
    pub fn is(self, w: Word) -> Option<bool> {
        self.known.has(w).then(|| self.set.has(w))
    }
}

/// Consecutive pages with equal followed states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagRun {
    pub first: u64,
    pub count: u64,
    pub flags: Flags,
}

impl FlagRun {
    pub fn end(&self) -> u64 {
        self.first + self.count
    }
}

/// Runs of followed states from runs of decoded states (as `Prober::scan` and a recorded
/// frame give them), adjacent runs of equal flags merged.
pub fn flag_runs<'a>(runs: impl IntoIterator<Item = (u64, u64, &'a PageState)>) -> Vec<FlagRun> {
    let mut out: Vec<FlagRun> = Vec::new();
    for (first, count, state) in runs {
        let flags = Flags::of(state);
        match out.last_mut() {
            Some(last) if last.flags == flags && last.end() == first => last.count += count,
            _ => out.push(FlagRun {
                first,
                count,
                flags,
            }),
        }
    }
    out
}

/// The followed states of page `page` in `runs` (sorted, as `flag_runs` gives them).
pub fn flags_at(runs: &[FlagRun], page: u64) -> Option<Flags> {
    let i = runs.partition_point(|r| r.end() <= page);
    runs.get(i).filter(|r| r.first <= page).map(|r| r.flags)
}

/// A VMA as the mark keeps it: its maps line's identity and its smaps counters (bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MarkVma {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub inode: u64,
    /// The path or pseudo-path as the kernel wrote it (escape it before display).
    pub path: String,
    /// Rss, Pss and Swap in bytes; `None` where smaps could not say.
    pub counters: Option<Counters>,
}

/// The smaps counters the compare follows, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub rss: u64,
    pub pss: u64,
    pub swap: u64,
}

impl MarkVma {
    /// A VMA of the address-space view's reading.
    pub fn of(v: &crate::sys::proc::process::VmaSummary) -> Self {
        Self {
            start: v.line.start,
            end: v.line.end,
            perms: v.line.perms.clone(),
            offset: v.line.offset,
            inode: v.line.inode,
            path: v.line.path.clone(),
            counters: v.mem.map(|m| Counters {
                rss: m.rss,
                pss: m.pss,
                swap: m.swap,
            }),
        }
    }
}

/// The bytes of one page at the mark (a page's worth, or less for the last page's file data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPage {
    pub page: u64,
    pub bytes: Vec<u8>,
}

/// What was marked: the mapping or VMA, where and how big, at what time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Marked {
    /// Start address of the mapping or VMA marked (a mark of another VMA compares nothing).
    pub addr: u64,
    pub pages: u64,
    pub page_size: u64,
    /// Ms since the session started (as `Log::now_ms`), for the mark's age.
    pub at_ms: u64,
    /// Wall-clock time, `HH:MM:SS`.
    pub clock: String,
}

/// The baseline: per-page states as runs, the bytes of pages in memory (up to
/// `MARK_BYTES_MAX`), and the process's VMAs with their counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mark {
    pub marked: Marked,
    pub runs: Vec<FlagRun>,
    /// Pages whose bytes were kept, sorted by page.
    pub kept: Vec<KeptPage>,
    /// Pages in memory at the mark whose bytes were not kept (beyond `MARK_BYTES_MAX`).
    pub unkept: u64,
    /// The process's VMAs at the mark, sorted by start; `None` where maps could not be read.
    pub vmas: Option<Vec<MarkVma>>,
}

impl Mark {
    /// The bytes of page `page` at the mark, if kept.
    pub fn bytes_of(&self, page: u64) -> Option<&[u8]> {
        self.kept
            .binary_search_by_key(&page, |k| k.page)
            .ok()
            .map(|i| self.kept[i].bytes.as_slice())
    }

    /// Whether this mark is of the mapping or VMA starting at `addr` with `pages` pages.
    pub fn is_of(&self, addr: u64) -> bool {
        self.marked.addr == addr
    }

    /// The followed states of `page` at the mark.
    pub fn flags(&self, page: u64) -> Option<Flags> {
        flags_at(&self.runs, page)
    }

    /// The mark's age in words at `now_ms` (`12 s`, `3 min 4 s`).
    pub fn age(&self, now_ms: u64) -> String {
        let s = now_ms.saturating_sub(self.marked.at_ms) / 1000;
        match s {
            0..60 => format!("{s} s"),
            60..3600 => format!("{} min {} s", s / 60, s % 60),
            _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
        }
    }
}

/// Time's state: the mark, and what changed since it at the last refresh.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Time {
    /// The baseline the views compare with (`b`; `B` drops it).
    pub mark: Option<Box<Mark>>,
    /// The page-state changes since the mark, as the last refresh found them (sorted runs;
    /// bytes compare where shown).
    pub changes: Vec<ChangeRun>,
    /// What `n` / `N` repeat after `: changed`, `: +WORD` or `: -WORD` (a byte or state
    /// search clears it).
    pub last: Option<ChangeFilter>,
    /// The process's VMAs against the mark's, as the address-space view last read them.
    pub vmas: Vec<VmaChange>,
    /// The pages of the mapping shown written since the mark, or why that is not known
    /// (`None`: no mark, or not read yet); folded into the compare as the word `written`.
    pub written: Option<Written>,
    /// `--track-access`: whether the accessed bits were cleared at the mark, and what per
    /// page says.
    pub access: Option<Access>,
    /// `mmapscope replay FILE`: the recording shown instead of a live mapping.
    pub replay: Option<Replay>,
    /// Pages whose bytes differ from the bytes the mark kept, as the last refresh read them
    /// (sorted runs of page numbers): a change of bytes without a change of state, which the
    /// state compare cannot see, for `: changed`, the minimap, the page map and the mark line.
    pub bytes: Vec<std::ops::Range<u64>>,
    /// When (the session's clock, ms) the kept bytes are compared next: reading 16 MiB of
    /// kept pages costs tens of ms, so the compare is paced to 1% of a core (at most once a
    /// second); `None`: at the next refresh (a new mark).
    pub bytes_due: Option<u64>,
}

impl Time {
    /// Whether any page of `[first, first + count)` changed state since the mark.
    pub fn changed_in(&self, first: u64, count: u64) -> bool {
        let i = self.changes.partition_point(|r| r.first + r.count <= first);
        let end = first.saturating_add(count);
        self.changes.get(i).is_some_and(|r| r.first < end) || self.bytes_in(first, count)
    }

    /// Whether the bytes of any page of `[first, first + count)` changed since the mark (of
    /// the pages it kept).
    pub fn bytes_in(&self, first: u64, count: u64) -> bool {
        let i = self.bytes.partition_point(|r| r.end <= first);
        self.bytes
            .get(i)
            .is_some_and(|r| r.start < first.saturating_add(count))
    }

    /// Pages whose bytes changed since the mark without a change of state (those with one
    /// are counted among the changes already).
    pub fn bytes_only(&self) -> u64 {
        self.bytes
            .iter()
            .flat_map(|r| r.clone())
            .filter(|p| self.change_at(*p).is_none())
            .count() as u64
    }

    /// The mark, when it is of the mapping or VMA at `addr` (the one shown).
    pub fn mark_of(&self, addr: u64) -> Option<&Mark> {
        self.mark.as_deref().filter(|m| m.is_of(addr))
    }

    /// The change of page `page` since the mark by state, if any.
    pub fn change_at(&self, page: u64) -> Option<&ChangeRun> {
        let i = self.changes.partition_point(|r| r.first + r.count <= page);
        self.changes.get(i).filter(|r| r.first <= page)
    }
}
