//! The sentences that say what an operation did, or why nothing changed, or why it was
//! refused: pure functions of what was measured, so each can be tested alone. `exec` measures
//! (before and after each call) and asks these for the words.

use super::children::{CALL_TIMEOUT, ChildEnd, signal_name};
use super::lab::{Allocated, Landing};
use super::ops::{FAdvice, MAdvice, SyncKind};
use super::region::{MapMode, Prot};
use crate::text::{human, thousands};

/// `1 page`, `2 pages`, `1,024 pages`.
pub fn plural(n: u64, what: &str) -> String {
    format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// `1 private copy`, `2 private copies`: for words whose plural is not `s` added.
pub fn plural_as(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Why a write to a mapping without PROT_WRITE is refused. `file`, `shared`: a shared file
/// mapping; `may_write`: we have write permission on the file; `write_allowed`: the user
/// allowed writing it.
pub fn write_refusal(
    file: bool,
    shared: bool,
    may_write: bool,
    write_allowed: bool,
) -> &'static str {
    if file && shared && !may_write {
        "the mapping is read-only because the file is not writable for us: a store would raise \
         SIGSEGV; m (MAP_PRIVATE) gives a writable copy-on-write view whose stores never reach \
         the file"
    } else if file && shared && !write_allowed {
        "the file is mapped read-only (mmapscope opens a file you name read-only unless --write, \
         since a store into a MAP_SHARED page writes the file): a store would raise SIGSEGV; \
         allow writing with --write or `protect rw` (in the explorer, the first edit asks)"
    } else {
        "the mapping's protection has no PROT_WRITE: a store would raise SIGSEGV (SEGV_ACCERR); \
         change it with p (mprotect)"
    }
}

/// What a write did: bytes that landed in the padding, a private copy made.
pub fn wrote(padding: u64, private_file_copy: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if padding > 0 {
        notes.push(format!(
            "{} in the padding after end of file: never reaches the file",
            plural(padding, "byte")
        ));
    }
    if private_file_copy {
        notes.push("MAP_PRIVATE: the page is now our copy; the file is unchanged".into());
    }
    notes
}

/// A read that stopped short.
pub fn short_read(got: usize, asked: usize) -> Option<String> {
    (got < asked).then(|| {
        format!("short read: {got} of {asked} bytes (the rest lies beyond EOF or is protected)")
    })
}

/// What a remap from `was` to `now` did to the contents. `anon`: anonymous memory (or
/// /dev/zero), whose new mapping starts empty.
pub fn remap(anon: bool, was: MapMode, now: MapMode) -> String {
    match (was, now, anon) {
        (_, _, true) => {
            "anonymous memory: the new mapping starts zeroed; the old contents are gone".into()
        }
        (MapMode::Shared, MapMode::Private, false) => {
            "shared edits were already in the page cache: the new private mapping sees them".into()
        }
        (MapMode::Private, MapMode::Shared, false) => {
            "private copies were discarded: the shared mapping shows the file's content".into()
        }
        _ => "the same mode again: a fresh mapping of the same file".into(),
    }
}

/// What a remap did to the protection, when it changed it.
pub fn remap_prot(was: Prot, now: Prot, mode: MapMode) -> Option<String> {
    match (was.write, now.write, mode) {
        (false, true, MapMode::Private) => Some(format!(
            "now {}: a private mapping is writable, and its stores never reach the file",
            now.letters()
        )),
        (true, false, MapMode::Shared) => Some(format!(
            "now {}: stores into a shared mapping would write the file, which was not allowed \
             (--write, or protect rw)",
            now.letters()
        )),
        _ => None,
    }
}

/// What an msync did: pages cleaned (dirty before and after), padding bytes writeback
/// re-zeroed, and what Linux makes of the flavour and the mapping.
pub fn msync(
    kind: SyncKind,
    mode: MapMode,
    always_dirty: bool,
    dirty: (Option<u64>, Option<u64>),
    rezeroed: u64,
) -> Vec<String> {
    let mut notes = Vec::new();
    if rezeroed > 0 {
        notes.push(format!(
            "writeback re-zeroed {} in the padding after end of file (bytes there never reach \
             the file)",
            plural(rezeroed, "byte")
        ));
    }
    if let (Some(b), Some(a)) = dirty {
        notes.push(format!("{} cleaned", plural(b.saturating_sub(a), "page")));
    }
    if mode == MapMode::Private {
        notes.push(
            "MAP_PRIVATE: nothing of ours reaches the file; msync writes only the file's own \
             dirty pages"
                .into(),
        );
    }
    match kind {
        SyncKind::Async => notes
            .push("MS_ASYNC is a no-op on Linux: dirty pages stay dirty until writeback".into()),
        SyncKind::Invalidate => notes.push(
            "MS_INVALIDATE changes nothing visible on Linux (EBUSY if the range is locked)".into(),
        ),
        SyncKind::Sync => {}
    }
    if always_dirty {
        notes.push("tmpfs: its pages stay dirty whatever msync does".into());
    }
    notes
}

/// What an mprotect to `prot` means for the screen.
pub fn protected(prot: Prot) -> Option<String> {
    (!prot.read)
        .then(|| "no access: the grid shows the pages as inaccessible and reads nothing".into())
}

/// What an madvise did: private copies discarded, residency changed, or why it did not.
pub fn advised(
    advice: MAdvice,
    mode: MapMode,
    resident: (Option<u64>, Option<u64>),
    copies: (Option<u64>, Option<u64>),
) -> Vec<String> {
    let mut notes = Vec::new();
    if let (Some(b), Some(a)) = copies
        && b > a
    {
        notes.push(format!(
            "{} discarded: the file's content shows again",
            plural_as(b - a, "private copy", "private copies")
        ));
    }
    match resident {
        (Some(b), Some(a)) if a != b => {
            notes.push(format!("resident {} -> {}", thousands(b), thousands(a)));
        }
        (Some(_), Some(_)) => notes.push(
            match advice {
                MAdvice::DontNeed if mode == MapMode::Shared => {
                    "residency unchanged: DONTNEED drops our page-table entries; the file's \
                     pages stay in the page cache"
                }
                MAdvice::PageOut | MAdvice::Cold => {
                    "residency unchanged: the kernel reclaims only what it can (not dirty or \
                     shared pages at once)"
                }
                MAdvice::WillNeed => "residency unchanged: the pages were already resident",
                _ => "residency unchanged: this advice only changes how the kernel reads ahead",
            }
            .into(),
        ),
        _ => {}
    }
    notes
}

/// Whether an fadvise's notes need the pages we map and whether any are dirty (a DONTNEED
/// that evicted nothing, from resident `before` to `after`).
pub fn fadvise_needs_context(advice: FAdvice, before: u64, after: u64) -> bool {
    advice == FAdvice::DontNeed && before == after && after > 0
}

/// What an fadvise did. `context`: (pages mapped by us, some dirty), when
/// `fadvise_needs_context` asked for it.
pub fn fadvised(
    advice: FAdvice,
    resident: (Option<u64>, Option<u64>),
    context: Option<(u64, bool)>,
) -> Vec<String> {
    let (Some(b), Some(a)) = resident else {
        return Vec::new();
    };
    if a != b {
        return vec![format!("resident {} -> {}", thousands(b), thousands(a))];
    }
    match context {
        Some((mapped, dirty)) if fadvise_needs_context(advice, b, a) => vec![format!(
            "nothing evicted: fadvise(DONTNEED) drops only clean pages that nobody maps ({} \
             mapped by us{})",
            thousands(mapped),
            if dirty { ", some dirty" } else { "" }
        )],
        _ => Vec::new(),
    }
}

/// What a touch cost: faults, fault-around, a read from the file, readahead.
pub fn touched(
    faults: (u64, u64),
    others_present: u64,
    was_resident: bool,
    readahead: u64,
) -> Vec<String> {
    let (minor, major) = faults;
    let mut notes = vec![format!(
        "{minor} minor, {major} major fault{}",
        if minor + major == 1 { "" } else { "s" }
    )];
    if others_present > 0 {
        notes.push(format!(
            "fault-around made {} present too",
            plural(others_present, "other page")
        ));
    }
    if !was_resident {
        notes.push("the page was read in from the file".into());
    }
    if readahead > 0 {
        notes.push(format!(
            "{} more became resident (readahead)",
            plural(readahead, "page")
        ));
    }
    notes
}

/// How a code child ended, in words. `prot`: the mapping's protection when it was forked;
/// `group_killed`: processes it forked that were still running at its end.
pub fn called(end: ChildEnd, prot: Prot, group_killed: usize) -> Vec<String> {
    let mut notes = vec![match end {
        ChildEnd::Returned(v) => format!("returned {v}"),
        ChildEnd::Signal(s) if s == libc::SIGSEGV && !prot.exec => format!(
            "killed by SIGSEGV: the page has no PROT_EXEC ({}); p sets rx",
            prot.letters()
        ),
        ChildEnd::Signal(s) if s == libc::SIGBUS => {
            "killed by SIGBUS: the code lies beyond end of file".into()
        }
        ChildEnd::Signal(s) if s == libc::SIGALRM => {
            "stopped by SIGALRM: it ran too long (an endless loop?)".into()
        }
        ChildEnd::Signal(s) => format!("killed by {}", signal_name(s)),
        ChildEnd::TimedOut => format!(
            "ran longer than {} s: killed (with its process group)",
            CALL_TIMEOUT.as_secs()
        ),
        ChildEnd::Exited(code) => format!("exited with status {code}"),
    }];
    match group_killed {
        0 => {}
        1 => notes
            .push("1 process it forked was still running: killed with its process group".into()),
        n => notes.push(format!(
            "{n} processes it forked were still running: killed with its process group"
        )),
    }
    notes.push("this process never ran the mapped code; only the child did".into());
    notes
}

/// What starting the peer means.
pub fn peer_started(pid: u32, period_ms: u128, private: bool) -> Vec<String> {
    let mut notes = vec![format!(
        "pid {pid} maps the file MAP_SHARED and writes a counter every {period_ms} ms"
    )];
    if private {
        notes.push(
            "you are MAP_PRIVATE: you see its writes until you write that page yourself \
             (copy-on-write)"
                .into(),
        );
    }
    notes
}

/// Where a block landed, in words: what /proc/self/maps showed before and after, never a
/// guess from its size.
pub fn allocated(a: &Allocated) -> String {
    let range = a
        .mapping
        .as_ref()
        .map(|l| format!("{:x}-{:x}", l.start, l.end))
        .unwrap_or_default();
    match a.landed {
        Landing::NewMapping => format!(
            "malloc called mmap: a new anonymous mapping, now {range} in /proc/self/maps \
             (it may have merged with a neighbour)"
        ),
        Landing::HeapGrew(by) => format!("in [heap], which grew by {} (brk) to hold it", human(by)),
        Landing::Heap => "in [heap], in space brk had given before".into(),
        Landing::Existing => format!("inside a mapping that existed before ({range})"),
        Landing::Unknown => "not found in /proc/self/maps".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_write_says_what_would_allow_it() {
        assert!(write_refusal(true, true, false, false).contains("m (MAP_PRIVATE)"));
        assert!(write_refusal(true, true, true, false).contains("--write"));
        assert!(write_refusal(true, true, true, true).contains("mprotect"));
        assert!(
            write_refusal(false, true, true, false).contains("mprotect"),
            "anon"
        );
        assert!(
            write_refusal(true, false, false, false).contains("mprotect"),
            "private"
        );
    }

    #[test]
    fn writes_remaps_and_protections() {
        assert_eq!(wrote(0, false), Vec::<String>::new());
        assert_eq!(wrote(2, true).len(), 2);
        assert!(wrote(1, false)[0].starts_with("1 byte in the padding"));
        assert_eq!(short_read(4, 4), None);
        assert!(short_read(2, 4).unwrap().contains("2 of 4"));
        assert!(remap(true, MapMode::Shared, MapMode::Private).contains("zeroed"));
        assert!(remap(false, MapMode::Private, MapMode::Shared).contains("discarded"));
        assert!(remap(false, MapMode::Shared, MapMode::Private).contains("sees them"));
        assert!(
            remap_prot(Prot::R, Prot::RW, MapMode::Private)
                .unwrap()
                .contains("never reach")
        );
        assert!(
            remap_prot(Prot::RW, Prot::R, MapMode::Shared)
                .unwrap()
                .contains("not allowed")
        );
        assert_eq!(remap_prot(Prot::RW, Prot::RW, MapMode::Shared), None);
        assert!(protected(Prot::NONE).is_some());
        assert!(protected(Prot::R).is_none());
    }

    #[test]
    fn msync_says_what_linux_does() {
        let n = msync(
            SyncKind::Sync,
            MapMode::Shared,
            false,
            (Some(3), Some(0)),
            0,
        );
        assert_eq!(n, ["3 pages cleaned"]);
        let n = msync(SyncKind::Async, MapMode::Private, true, (None, None), 2);
        assert!(n[0].contains("re-zeroed 2 bytes"));
        assert!(n.iter().any(|s| s.contains("MAP_PRIVATE")));
        assert!(n.iter().any(|s| s.contains("no-op")));
        assert!(n.iter().any(|s| s.contains("tmpfs")));
        let n = msync(
            SyncKind::Invalidate,
            MapMode::Shared,
            false,
            (Some(1), Some(1)),
            0,
        );
        assert_eq!(n[0], "0 pages cleaned");
        assert!(n[1].contains("EBUSY"));
    }

    #[test]
    fn advice_says_what_changed_or_why_not() {
        let n = advised(
            MAdvice::DontNeed,
            MapMode::Private,
            (Some(4), Some(4)),
            (Some(2), Some(0)),
        );
        assert!(n[0].starts_with("2 private copies discarded"), "{n:?}");
        assert!(n[1].contains("reads ahead"), "{n:?}");
        let n = advised(
            MAdvice::DontNeed,
            MapMode::Shared,
            (Some(4), Some(4)),
            (None, None),
        );
        assert!(n[0].contains("page cache"));
        let n = advised(
            MAdvice::PageOut,
            MapMode::Shared,
            (Some(4), Some(1)),
            (None, None),
        );
        assert_eq!(n, ["resident 4 -> 1"]);
        assert!(fadvise_needs_context(FAdvice::DontNeed, 3, 3));
        assert!(!fadvise_needs_context(FAdvice::DontNeed, 3, 0));
        assert!(!fadvise_needs_context(FAdvice::WillNeed, 3, 3));
        let n = fadvised(FAdvice::DontNeed, (Some(3), Some(3)), Some((2, true)));
        assert!(n[0].contains("2 mapped by us, some dirty"), "{n:?}");
        assert_eq!(
            fadvised(FAdvice::DontNeed, (Some(3), Some(0)), None),
            ["resident 3 -> 0"]
        );
    }

    #[test]
    fn touches_and_children() {
        let n = touched((1, 0), 0, true, 0);
        assert_eq!(n, ["1 minor, 0 major fault"]);
        let n = touched((1, 1), 3, false, 5);
        assert_eq!(n.len(), 4);
        assert!(n[1].contains("3 other pages"));
        assert!(n[3].starts_with("5 pages more became resident"), "{n:?}");
        let n = called(ChildEnd::Signal(libc::SIGSEGV), Prot::RW, 0);
        assert!(n[0].contains("no PROT_EXEC (rw-)"));
        let n = called(ChildEnd::TimedOut, Prot::R, 2);
        assert!(n[0].contains("killed (with its process group)"));
        assert!(n[1].starts_with("2 processes"));
        assert!(n[2].contains("never ran the mapped code"));
        assert_eq!(called(ChildEnd::Returned(42), Prot::R, 0)[0], "returned 42");
        assert_eq!(peer_started(7, 150, true).len(), 2);
    }
}
