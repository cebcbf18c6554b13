//! The sentences that say what an operation did, or why nothing changed, or why it was
//! refused: pure functions of what was measured, so each can be tested alone. `carry` measures
//! (before and after each call) and asks these for the words.

use crate::sys::contain::children::{CALL_TIMEOUT, ChildEnd, signal_name};
use crate::sys::lab::experiments::{Allocated, Landing, THRESHOLD_MAX, THRESHOLD_START, Threshold};
use crate::sys::map::request::{MapMode, Prot};
use crate::sys::ops::op::{FAdvice, MAdvice, SyncKind};
use crate::sys::proc::maps::SmapsField;
use crate::text::{human, thousands};

/// `1 page`, `2 pages`, `1,024 pages`.
pub(crate) fn plural(n: u64, what: &str) -> String {
    format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// `1 private copy`, `2 private copies`: for words whose plural is not `s` added.
pub(crate) fn plural_as(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Why a write to a mapping without PROT_WRITE is refused. `file`, `shared`: a shared file
/// mapping; `may_write`: we have write permission on the file; `write_allowed`: the user
/// allowed writing it.
pub(crate) fn write_refusal(
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

/// What a MAP_SHARED mapping just made lets a store reach, when that needs saying. `file`:
/// a file with a page cache; `prot`: the protection it was mapped with; `asks`: a file we may
/// write but were not allowed to at open (the first edit asks).
pub fn opened_shared(file: bool, prot: Prot, asks: bool) -> Option<String> {
    if file && !prot.write && asks {
        Some(
            "mapped read-only: a store into a MAP_SHARED page writes the file itself, so a file \
             you name opens read-only; your first edit asks before writing (or start with \
             --write)"
                .into(),
        )
    } else if !file && prot.write {
        Some(format!(
            "mapped {}: shared memory with no file behind it; a store changes only this \
             memory, which a child forked (f) shares, and reaches no file",
            prot.letters()
        ))
    } else {
        None
    }
}

/// What a write did: bytes that landed in the padding, a private copy made.
pub(crate) fn wrote(padding: u64, private_file_copy: bool) -> Vec<String> {
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
pub(crate) fn short_read(got: usize, asked: usize) -> Option<String> {
    (got < asked).then(|| {
        format!("short read: {got} of {asked} bytes (the rest lies beyond EOF or is protected)")
    })
}

/// What a remap from `was` to `now` did to the contents. `anon`: anonymous memory (or
/// /dev/zero), whose new mapping starts empty; `copies`: the private copies the old mapping
/// held (`None`: not counted).
pub(crate) fn remap(anon: bool, was: MapMode, now: MapMode, copies: Option<u64>) -> String {
    let discarded = |then: &str| match copies {
        Some(0) => format!("no private copy to discard: {then}"),
        Some(n) => format!(
            "{} discarded: {then}",
            plural_as(n, "private copy", "private copies")
        ),
        None => format!("private copies, if any, were discarded: {then}"),
    };
    match (was, now, anon) {
        (_, _, true) => {
            "anonymous memory: the new mapping starts zeroed; the old contents are gone".into()
        }
        (MapMode::Shared, MapMode::Private, false) => {
            "the new private mapping reads the same page-cache pages: every store made through \
             the shared one shows in it"
                .into()
        }
        (MapMode::Private, MapMode::Shared, false) => {
            discarded("the shared mapping shows the file's content")
        }
        (MapMode::Private, MapMode::Private, false) => {
            discarded("a fresh mapping of the same file")
        }
        _ => "the same mode again: a fresh mapping of the same file".into(),
    }
}

/// What a remap did to the protection, when it changed it.
pub(crate) fn remap_prot(was: Prot, now: Prot, mode: MapMode) -> Option<String> {
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
pub(crate) fn msync(
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
pub(crate) fn protected(prot: Prot) -> Option<String> {
    (!prot.read)
        .then(|| "no access: the grid shows the pages as inaccessible and reads nothing".into())
}

/// What an madvise did: private copies discarded, residency changed, or why it did not.
/// `file`: the pages are a file's page cache; `pages`: how many pages of the range lie inside
/// end of file (the most that can be resident).
pub(crate) fn advised(
    advice: MAdvice,
    file: bool,
    pages: u64,
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
        (Some(n), Some(_)) => notes.push(match advice {
            MAdvice::WillNeed => willneed_unchanged(n, pages),
            _ if n == 0 => "residency unchanged: no page of the range was resident".into(),
            MAdvice::DontNeed if file => format!(
                "residency unchanged ({n} resident): DONTNEED drops our page-table entries; the \
                 file's pages stay in the page cache"
            ),
            MAdvice::PageOut | MAdvice::Cold => format!(
                "residency unchanged ({n} resident): the kernel reclaims only what it can (not \
                 dirty or shared pages at once)"
            ),
            MAdvice::Sequential | MAdvice::Random | MAdvice::Normal => {
                "residency unchanged: this advice only changes how the kernel reads ahead".into()
            }
            _ => format!("residency unchanged: {n} resident before and after"),
        }),
        _ => {}
    }
    notes
}

/// Why a WILLNEED left residency as it was, from the `resident` count (before and after)
/// and the `pages` that can be resident: all of them already were, or the reads it started
/// had not finished when counted (they finish in the background).
fn willneed_unchanged(resident: u64, pages: u64) -> String {
    if resident >= pages {
        format!(
            "residency unchanged: {} already resident",
            if pages == 1 {
                "the page was".to_string()
            } else {
                format!("all {} were", plural(pages, "page"))
            }
        )
    } else {
        format!(
            "residency unchanged so far: {} of {} resident before and right after the call; \
             WILLNEED only starts the reads, and the pages arrive in the background",
            thousands(resident),
            plural(pages, "page")
        )
    }
}

/// Whether an fadvise's notes need the pages we map and whether any are dirty (a DONTNEED
/// that evicted nothing, from resident `before` to `after`).
pub(crate) fn fadvise_needs_context(advice: FAdvice, before: u64, after: u64) -> bool {
    advice == FAdvice::DontNeed && before == after && after > 0
}

/// What an fadvise did. `context`: (pages mapped by us, some dirty), when
/// `fadvise_needs_context` asked for it; `pages`: the mapped pages inside end of file.
pub(crate) fn fadvised(
    advice: FAdvice,
    pages: u64,
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
        _ if advice == FAdvice::WillNeed => vec![willneed_unchanged(b, pages)],
        _ => Vec::new(),
    }
}

/// What a touch cost: faults, fault-around, a read from the file, readahead.
pub(crate) fn touched(
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
pub(crate) fn called(end: ChildEnd, prot: Prot, group_killed: usize) -> Vec<String> {
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
pub(crate) fn peer_started(pid: u32, period_ms: u128, private: bool) -> Vec<String> {
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
pub(crate) fn allocated(a: &Allocated) -> String {
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

/// What glibc's mmap threshold is known to be: inferred from where blocks landed and from
/// glibc's documented rule, never read (glibc keeps it private).
pub fn threshold(t: &Threshold) -> String {
    let kib = |b: u64| format!("{} KiB", thousands(b.div_ceil(1024)));
    if let Some(env) = &t.fixed_by {
        return format!(
            "glibc's mmap threshold is fixed by the environment ({env}): it never slides"
        );
    }
    let bounds = match (t.at_least, t.at_most) {
        (Some(lo), Some(hi)) => format!(
            "at least {}, and at most {} when a block was last mmapped",
            kib(lo),
            kib(hi)
        ),
        (Some(lo), None) => format!("at least {}", kib(lo)),
        (None, Some(hi)) => format!("at most {} when a block was last mmapped", kib(hi)),
        (None, None) => {
            return format!(
                "glibc's mmap threshold: {} at start (mallopt(3)); it rises when an mmapped block \
                up to {} is freed, mmapscope's own included: not observed yet (glibc keeps it \
                private)",
                kib(THRESHOLD_START),
                human(THRESHOLD_MAX)
            );
        }
    };
    format!(
        "glibc's mmap threshold: {bounds} (inferred from where the last blocks landed and glibc's \
        rule, mallopt(3); glibc keeps it private)"
    )
}

/// What a free did: a block malloc had mmapped goes back to the kernel (munmap) and, up to
/// 32 MiB, raises the threshold to its size; a heap block stays in the heap for reuse.
pub(crate) fn freed(size: u64, landed: Landing) -> String {
    match landed {
        Landing::NewMapping if size <= THRESHOLD_MAX => format!(
            "malloc had mmapped it: free unmaps it, and glibc raises its mmap threshold to this \
            block's size ({}), so blocks below that now come from the heap",
            human(size)
        ),
        Landing::NewMapping => format!(
            "malloc had mmapped it: free unmaps it (above {}, the threshold does not move)",
            human(THRESHOLD_MAX)
        ),
        _ => "it was in the heap: free keeps the space for reuse (the heap shrinks only when its \
              top is free beyond glibc's trim threshold)"
            .into(),
    }
}

/// What a fork did. `present`: our present pages; `shared`: those the child now maps too
/// (`None` when its pagemap could not be read).
pub(crate) fn forked(pid: u32, mode: MapMode, present: u64, shared: Option<u64>) -> Vec<String> {
    let mut notes = vec![format!(
        "pid {pid} keeps every mapping of ours (this one at the same address) and waits for \
        orders: child read, child write, child exit (F in the explorer)"
    )];
    if let Some(n) = shared {
        notes.push(format!(
            "{} of {} present {} {} shared with the child: {}",
            thousands(n),
            thousands(present),
            if present == 1 { "page" } else { "pages" },
            if n == 1 { "is" } else { "are" },
            match mode {
                MapMode::Private => {
                    "copy-on-write: the first write by either side copies the page, and only \
                    then do the two differ"
                }
                MapMode::Shared => "MAP_SHARED: one page for both; writes show through",
            }
        ));
        if n < present {
            notes.push(format!(
                "the kernel did not copy the page-table entries of {} (a file mapping without \
                private copies: mm/memory.c vma_needs_copy); the child maps them when it \
                touches them (child read)",
                plural(present - n, "page")
            ));
        }
    }
    notes
}

/// Why smaps moved when a child came or went: Pss splits a page among its mappers, and
/// "private" in smaps means mapped by one process.
pub(crate) fn smaps_moved_by_child(delta: &[(SmapsField, i64)]) -> Vec<String> {
    let moved = |f: SmapsField| delta.iter().find(|(g, _)| *g == f).map(|(_, d)| *d);
    let mut notes = Vec::new();
    if let Some(d) = moved(SmapsField::Pss) {
        notes.push(format!(
            "Pss {}{} kB: a page mapped by two processes counts half to each (proportional set \
            size); Rss counts it whole in both",
            if d > 0 { "+" } else { "-" },
            d.unsigned_abs() / 1024
        ));
    }
    let shared_up = [SmapsField::SharedClean, SmapsField::SharedDirty]
        .into_iter()
        .any(|f| moved(f).is_some_and(|d| d > 0));
    let shared_down = [SmapsField::SharedClean, SmapsField::SharedDirty]
        .into_iter()
        .any(|f| moved(f).is_some_and(|d| d < 0));
    if shared_up || shared_down {
        notes.push(format!(
            "Private_* {} Shared_*: in smaps, private means mapped by this process only (not \
            MAP_PRIVATE), shared mapped by more than one",
            if shared_up { "->" } else { "<-" }
        ));
    }
    notes
}

/// What a write did to a page the child may share: `shared` before and after (`None`: not
/// known). `by_child`: the child wrote, else we did.
pub(crate) fn split(
    page: u64,
    mode: MapMode,
    shared: (Option<bool>, Option<bool>),
    by_child: bool,
) -> Option<String> {
    let (who, other) = if by_child {
        ("the child's", "yours")
    } else {
        ("your", "the child's")
    };
    match (mode, shared) {
        (MapMode::Shared, (Some(true), _)) => Some(format!(
            "MAP_SHARED: {who} write went to the one page both map: {other} shows it too"
        )),
        (MapMode::Private, (Some(true), Some(false))) => Some(format!(
            "copy-on-write after fork: page {page} was shared with the child; {who} write copied \
            it, so {other} keeps the old bytes (and is exclusive again)"
        )),
        (_, (Some(false), _)) => Some(format!(
            "page {page} was not shared with the child: {who} write went to {} own page",
            if by_child { "its" } else { "your" }
        )),
        _ => None,
    }
}

/// What a lock or unlock did.
pub(crate) fn locked(lock: bool, pages: u64, exempt: bool) -> String {
    if lock {
        format!(
            "{} locked: {} faulted in now and {} in RAM (VmFlags lo; smaps Locked){}",
            plural(pages, "page"),
            if pages == 1 { "it is" } else { "they are" },
            if pages == 1 { "stays" } else { "stay" },
            if exempt {
                "; this process has CAP_IPC_LOCK (root): RLIMIT_MEMLOCK does not bind it"
            } else {
                ""
            }
        )
    } else {
        format!(
            "{} unlocked: the kernel may reclaim them again",
            plural(pages, "page")
        )
    }
}

/// What an mremap did: in place or moved, and the pages that came along.
pub(crate) fn remapped(
    (old_addr, new_addr): (u64, u64),
    (old_len, new_len): (u64, u64),
    present: (u64, u64),
    shmem: bool,
) -> Vec<String> {
    let mut notes = Vec::new();
    let grew = new_len > old_len;
    notes.push(match (old_addr == new_addr, grew) {
        (true, true) => "grew in place: the address space after it was free".into(),
        (true, false) if new_len < old_len => {
            "shrank in place: the pages past the new end are unmapped".into()
        }
        (true, false) => "stayed where it was".into(),
        (false, _) => format!(
            "moved from 0x{old_addr:x} to 0x{new_addr:x}{}",
            if grew && old_len != new_len {
                ": the address space after it was taken"
            } else {
                ""
            }
        ),
    });
    if old_addr != new_addr && present.0 > 0 {
        notes.push(format!(
            "{} present before, {} after: the kernel moved the page-table entries, the pages were \
            not copied (as root, the PFNs are the same)",
            thousands(present.0),
            thousands(present.1)
        ));
    }
    if shmem && grew {
        notes.push(
            "MAP_SHARED anonymous memory (and MAP_SHARED /dev/zero) is a shmem object of the \
            size first mapped: mremap grew the mapping, never the object, and a load past the \
            object's end raises SIGBUS"
                .into(),
        );
    }
    notes
}

/// What transparent-huge-page advice did, from THPeligible and the huge-page bytes mapped
/// (AnonHugePages, ShmemPmdMapped, FilePmdMapped) before and after.
pub(crate) fn thp_advised(
    advice: MAdvice,
    eligible: (u64, u64),
    anon_huge: (u64, u64),
) -> Vec<String> {
    let mut notes = Vec::new();
    if eligible.0 != eligible.1 {
        notes.push(format!("THPeligible {} -> {}", eligible.0, eligible.1));
    }
    notes.push(
        match advice {
            MAdvice::HugePage => {
                "MADV_HUGEPAGE: a fault in an aligned 2 MiB range of this mapping may now get a \
                huge page (AnonHugePages); pages already mapped stay small until khugepaged or \
                advise collapse gathers them"
            }
            MAdvice::NoHugePage => {
                "MADV_NOHUGEPAGE: no new huge pages here; huge pages already mapped stay"
            }
            _ => "MADV_COLLAPSE: the kernel gathered the range into huge pages now, where it could",
        }
        .into(),
    );
    if anon_huge.0 != anon_huge.1 {
        notes.push(format!(
            "huge pages mapped {} -> {}",
            human(anon_huge.0),
            human(anon_huge.1)
        ));
    }
    notes
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
        assert!(remap(true, MapMode::Shared, MapMode::Private, Some(0)).contains("zeroed"));
        assert!(remap(false, MapMode::Shared, MapMode::Private, Some(0)).contains("shows in it"));
        // Private to shared said "private copies were discarded" whether or not there were.
        assert_eq!(
            remap(false, MapMode::Private, MapMode::Shared, Some(1)),
            "1 private copy discarded: the shared mapping shows the file's content"
        );
        assert_eq!(
            remap(false, MapMode::Private, MapMode::Shared, Some(0)),
            "no private copy to discard: the shared mapping shows the file's content"
        );
        assert!(remap(false, MapMode::Private, MapMode::Private, None).contains("if any"));
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

    /// `--len 16k /dev/zero` is mapped rw-s: it says writable and that stores reach no file,
    /// not that a file you name opens read-only.
    #[test]
    fn a_shared_mapping_says_what_a_store_reaches() {
        let zero = opened_shared(false, Prot::RW, false).unwrap();
        assert!(
            zero.starts_with("mapped rw-: shared memory with no file"),
            "{zero}"
        );
        assert!(!zero.contains("read-only"), "{zero}");
        let named = opened_shared(true, Prot::R, true).unwrap();
        assert!(named.starts_with("mapped read-only: a store into a MAP_SHARED page"));
        assert_eq!(opened_shared(true, Prot::RW, false), None);
        assert_eq!(opened_shared(true, Prot::R, false), None);
        assert_eq!(opened_shared(false, Prot::R, false), None);
    }

    #[test]
    fn advice_says_what_changed_or_why_not() {
        let n = advised(
            MAdvice::DontNeed,
            true,
            4,
            (Some(4), Some(4)),
            (Some(2), Some(0)),
        );
        assert!(n[0].starts_with("2 private copies discarded"), "{n:?}");
        assert!(
            n[1].contains("page cache") && !n[1].contains("reads ahead"),
            "{n:?}"
        );
        let n = advised(MAdvice::DontNeed, true, 4, (Some(4), Some(4)), (None, None));
        assert!(n[0].contains("page cache"));
        let n = advised(MAdvice::PageOut, true, 4, (Some(4), Some(1)), (None, None));
        assert_eq!(n, ["resident 4 -> 1"]);
        let n = advised(MAdvice::PageOut, true, 4, (Some(0), Some(0)), (None, None));
        assert_eq!(
            n,
            ["residency unchanged: no page of the range was resident"]
        );
        let n = advised(MAdvice::Random, true, 4, (Some(2), Some(2)), (None, None));
        assert!(n[0].contains("reads ahead"), "{n:?}");
        assert!(fadvise_needs_context(FAdvice::DontNeed, 3, 3));
        assert!(!fadvise_needs_context(FAdvice::DontNeed, 3, 0));
        assert!(!fadvise_needs_context(FAdvice::WillNeed, 3, 3));
        let n = fadvised(FAdvice::DontNeed, 4, (Some(3), Some(3)), Some((2, true)));
        assert!(n[0].contains("2 mapped by us, some dirty"), "{n:?}");
        assert_eq!(
            fadvised(FAdvice::DontNeed, 4, (Some(3), Some(0)), None),
            ["resident 3 -> 0"]
        );
    }

    /// The residency lesson's WILLNEED: 0 resident before and 0 right after is not "already
    /// resident" (madvise and fadvise alike); all resident is.
    #[test]
    fn willneed_says_already_resident_only_when_every_page_was() {
        for n in [
            advised(MAdvice::WillNeed, true, 4, (Some(0), Some(0)), (None, None)),
            fadvised(FAdvice::WillNeed, 4, (Some(0), Some(0)), None),
        ] {
            assert_eq!(
                n,
                [
                    "residency unchanged so far: 0 of 4 pages resident before and right after \
                     the call; WILLNEED only starts the reads, and the pages arrive in the \
                     background"
                ]
            );
        }
        let n = advised(MAdvice::WillNeed, true, 4, (Some(4), Some(4)), (None, None));
        assert_eq!(
            n,
            ["residency unchanged: all 4 pages were already resident"]
        );
        let n = fadvised(FAdvice::WillNeed, 1, (Some(1), Some(1)), None);
        assert_eq!(n, ["residency unchanged: the page was already resident"]);
        let n = fadvised(FAdvice::WillNeed, 4, (Some(1), Some(1)), None);
        assert!(
            n[0].starts_with("residency unchanged so far: 1 of 4 pages"),
            "{n:?}"
        );
        assert_eq!(
            fadvised(FAdvice::WillNeed, 4, (Some(0), Some(4)), None),
            ["resident 0 -> 4"]
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

    #[test]
    fn fork_notes_say_what_is_shared_and_why_smaps_moved() {
        let n = forked(42, MapMode::Private, 3, Some(1));
        assert!(n[0].starts_with("pid 42 keeps every mapping"));
        assert!(n[1].starts_with("1 of 3 present pages is shared"), "{n:?}");
        assert!(forked(1, MapMode::Private, 4, Some(4))[1].starts_with("4 of 4 present pages are"));
        assert!(n[1].contains("copy-on-write"));
        assert!(
            n[2].contains("did not copy the page-table entries of 2 pages"),
            "{n:?}"
        );
        assert_eq!(forked(1, MapMode::Shared, 2, None).len(), 1);
        let n = smaps_moved_by_child(&[
            (SmapsField::Pss, -4096),
            (SmapsField::SharedDirty, 4096),
            (SmapsField::PrivateDirty, -4096),
        ]);
        assert!(n[0].starts_with("Pss -4 kB: a page mapped by two"), "{n:?}");
        assert!(n[1].starts_with("Private_* -> Shared_*"), "{n:?}");
        assert!(smaps_moved_by_child(&[(SmapsField::Rss, 4096)]).is_empty());
    }

    #[test]
    fn writes_after_fork_say_who_keeps_the_old_bytes() {
        let n = split(2, MapMode::Private, (Some(true), Some(false)), false).unwrap();
        assert!(n.contains("page 2 was shared") && n.contains("the child's keeps the old bytes"));
        let n = split(2, MapMode::Private, (Some(true), Some(false)), true).unwrap();
        assert!(n.contains("yours keeps the old bytes"), "{n}");
        assert!(
            split(0, MapMode::Shared, (Some(true), Some(true)), true)
                .unwrap()
                .contains("yours shows it too")
        );
        assert!(
            split(0, MapMode::Private, (Some(false), Some(false)), true)
                .unwrap()
                .contains("its own page")
        );
        assert_eq!(split(0, MapMode::Private, (None, None), false), None);
    }

    #[test]
    fn locks_remaps_and_huge_pages() {
        assert!(locked(true, 4, false).starts_with("4 pages locked"));
        assert!(locked(true, 1, true).contains("CAP_IPC_LOCK"));
        assert!(locked(false, 1, false).contains("unlocked"));
        let n = remapped((0x1000, 0x1000), (4096, 8192), (1, 1), false);
        assert_eq!(n, ["grew in place: the address space after it was free"]);
        let n = remapped((0x1000, 0x9000), (4096, 8192), (1, 1), true);
        assert!(
            n[0].starts_with("moved from 0x1000 to 0x9000: the address space after it was taken")
        );
        assert!(n[1].contains("not copied"));
        assert!(n[2].contains("SIGBUS"));
        assert!(remapped((1, 1), (8192, 4096), (0, 0), false)[0].starts_with("shrank"));
        let n = thp_advised(MAdvice::HugePage, (0, 1), (0, 2 << 20));
        assert_eq!(n[0], "THPeligible 0 -> 1");
        assert!(n[1].starts_with("MADV_HUGEPAGE"));
        assert_eq!(n[2], "huge pages mapped 0 B -> 2 MiB");
    }

    #[test]
    fn the_threshold_is_said_to_be_inferred_never_read() {
        let t = |lo, hi| Threshold {
            at_least: lo,
            at_most: hi,
            fixed_by: None,
        };
        assert!(threshold(&t(None, None)).contains("128 KiB at start"));
        let s = threshold(&t(Some(1028 << 10), None));
        assert!(
            s.contains("at least 1,028 KiB") && s.contains("inferred"),
            "{s}"
        );
        assert!(
            threshold(&t(Some(1 << 10), Some(2 << 10)))
                .contains("at least 1 KiB, and at most 2 KiB when a block was last mmapped")
        );
        let fixed = Threshold {
            fixed_by: Some("MALLOC_MMAP_THRESHOLD_=4096".into()),
            ..t(None, None)
        };
        assert!(threshold(&fixed).contains("never slides"));
        assert!(freed(1 << 20, Landing::NewMapping).contains("raises its mmap threshold"));
        assert!(freed(64 << 20, Landing::NewMapping).contains("does not move"));
        assert!(freed(100, Landing::Heap).contains("in the heap"));
    }
}
