//! Carries out an `Op` against the kernel and says what happened: the system call with its
//! arguments, the result or errno with one sentence, the time it took, the page faults it cost,
//! the smaps counters it moved, and the before/after page states that tell what it did (pages
//! cleaned by msync, copies discarded by madvise, pages made present by a touch).

use std::time::{Duration, Instant};

use rustix::mm::{Advice, MsyncFlags};

use crate::action::{FAdvice, History, MAdvice, Op, Scope, SyncKind};
use crate::geometry::ByteKind;
use crate::text::thousands;

use super::error::SysError;
use super::lab::{Allocated, Lab};
use super::probe::{PM_FILE, PM_PRESENT, Prober};
use super::procmaps::{self, SMAPS_FIELDS, Vma, smaps_value};
use super::region::{ChildEnd, MapMode, Region, Target, fault_counts, signal_name};

/// What an operation did, for the model, the log and the batch JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Wrote {
        offset: u64,
        old: Vec<u8>,
        new: Vec<u8>,
        /// Bytes that landed in the padding after end of file.
        padding: u64,
    },
    Read {
        offset: u64,
        bytes: Vec<u8>,
    },
    Remapped {
        old_addr: u64,
        new_addr: u64,
        mode: MapMode,
    },
    Synced {
        kind: SyncKind,
        first: u64,
        count: u64,
        dirty_before: Option<u64>,
        dirty_after: Option<u64>,
    },
    Protected,
    Advised {
        first: u64,
        count: u64,
        resident_before: Option<u64>,
        resident_after: Option<u64>,
        copies_before: Option<u64>,
        copies_after: Option<u64>,
    },
    Touched {
        page: u64,
        minor: u64,
        major: u64,
        /// Pages around the touched one that became present (fault-around).
        newly_present: Vec<u64>,
        resident_before: Option<u64>,
        resident_after: Option<u64>,
    },
    Truncated {
        old_size: u64,
        new_size: u64,
    },
    /// Code called in a forked child.
    Called {
        offset: u64,
        end: ChildEnd,
    },
    PeerStarted {
        pid: u32,
        file_offset: u64,
    },
    PeerStopped {
        pid: u32,
    },
    Allocated(Allocated),
    Freed {
        addr: u64,
        size: u64,
    },
    /// Undo or redo with nothing to undo or redo.
    Nothing,
}

/// The result of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub op: Op,
    pub history: History,
    pub result: Result<Done, SysError>,
    pub elapsed: Duration,
    /// Minor and major page faults during the call.
    pub faults: (u64, u64),
    /// smaps counters that changed: (name, bytes after - bytes before).
    pub smaps_delta: Vec<(&'static str, i64)>,
    /// The call as it would be written in C, with its result: `msync(0x7f.., 16384, MS_SYNC) = 0`.
    pub call: String,
    /// Sentences about what it did or why nothing changed.
    pub notes: Vec<String>,
}

impl Outcome {
    /// One log line: the call, time, faults, smaps changes, and the notes.
    pub fn log_line(&self) -> String {
        let mut line = self.call.clone();
        if let Err(e) = &self.result {
            line = format!("{line}: {e}");
        }
        let us = self.elapsed.as_micros();
        line.push_str(&format!(" · {}.{:02} ms", us / 1000, (us % 1000) / 10));
        if self.faults != (0, 0) {
            line.push_str(&format!(
                " · faults {} minor, {} major",
                self.faults.0, self.faults.1
            ));
        }
        if !self.smaps_delta.is_empty() {
            let deltas: Vec<String> = self
                .smaps_delta
                .iter()
                .map(|(name, d)| {
                    format!(
                        "{name} {}{} kB",
                        if *d > 0 { "+" } else { "-" },
                        d.unsigned_abs() / 1024
                    )
                })
                .collect();
            line.push_str(&format!(" · {}", deltas.join(", ")));
        }
        for n in &self.notes {
            line.push_str(" · ");
            line.push_str(n);
        }
        line
    }
}

fn our_vma(region: &Region) -> Option<Vma> {
    procmaps::total(&procmaps::read_vmas(region.addr(), region.addr() + region.map_bytes()).ok()?)
}

fn delta(before: Option<&Vma>, after: Option<&Vma>) -> Vec<(&'static str, i64)> {
    let (Some(b), Some(a)) = (before, after) else {
        return Vec::new();
    };
    SMAPS_FIELDS
        .iter()
        .filter(|f| **f != "Size")
        .filter_map(|f| {
            let d = smaps_value(a, f) as i64 - smaps_value(b, f) as i64;
            (d != 0).then_some((*f, d))
        })
        .collect()
}

fn scope_pages(region: &Region, scope: Scope) -> Result<(u64, u64), SysError> {
    match scope {
        Scope::All => Ok((0, region.pages())),
        Scope::Page(p) if p < region.pages() => Ok((p, 1)),
        Scope::Page(p) => Err(SysError::new(
            libc::EINVAL,
            format!("page {p}"),
            format!("the mapping has pages 0 to {}", region.pages() - 1),
        )),
    }
}

/// `msync(0x7f.., 16384, MS_SYNC) [all]`: a call on a range of the mapping, as in C.
fn range_call(region: &Region, name: &str, flag: &str, scope: Scope) -> String {
    let ps = region.page_size();
    let (first, count) = scope_pages(region, scope).unwrap_or((0, 0));
    let which = match scope {
        Scope::All => "all".to_string(),
        Scope::Page(p) => format!("page {p}"),
    };
    format!(
        "{name}(0x{:x}, {}, {flag}) [{which}]",
        region.addr() + first * ps,
        count * ps
    )
}

/// Dirty pages of the file's page cache over mapping pages `[first, first + count)`.
fn dirty_pages(region: &Region, first: u64, count: u64) -> Option<u64> {
    let ps = region.page_size();
    region
        .cachestat(region.offset() + first * ps, count * ps)
        .ok()
        .map(|c| c.nr_dirty)
}

/// Resident pages over `[first, first + count)` (mincore, in chunks so memory stays flat).
fn resident_pages(region: &Region, first: u64, count: u64) -> Option<u64> {
    const CHUNK: u64 = 1 << 16;
    if count > 1 << 24 {
        // A huge range: the file's page cache says it without walking it.
        let ps = region.page_size();
        return region
            .cachestat(region.offset() + first * ps, count * ps)
            .ok()
            .map(|c| c.nr_cache);
    }
    let mut total = 0;
    let mut buf = Vec::new();
    let mut at = first;
    while at < first + count {
        let n = CHUNK.min(first + count - at);
        region.mincore(at, n, &mut buf).ok()?;
        total += buf.iter().filter(|b| *b & 1 != 0).count() as u64;
        at += n;
    }
    Some(total)
}

/// Private copies (present, not file pages) over a range, for file mappings; bounded ranges only.
fn private_copies(region: &Region, prober: &Prober, first: u64, count: u64) -> Option<u64> {
    if region.mode() != MapMode::Private || !matches!(region.target(), Target::File { .. }) {
        return Some(0);
    }
    if count > 1 << 20 {
        return None;
    }
    let mut words = Vec::new();
    prober
        .pagemap_words(region, first, count, &mut words)
        .ok()?;
    Some(
        words
            .iter()
            .filter(|w| *w & PM_PRESENT != 0 && *w & PM_FILE == 0)
            .count() as u64,
    )
}

fn present_pages(prober: &Prober, region: &Region, first: u64, count: u64) -> Vec<u64> {
    let mut words = Vec::new();
    if prober
        .pagemap_words(region, first, count, &mut words)
        .is_err()
    {
        return Vec::new();
    }
    words
        .iter()
        .enumerate()
        .filter(|(_, w)| *w & PM_PRESENT != 0)
        .map(|(i, _)| first + i as u64)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Carries out `op` on `region` (and `lab`, for the experiments that keep state).
pub fn execute(
    region: &mut Region,
    prober: &Prober,
    lab: &mut Lab,
    op: Op,
    history: History,
) -> Outcome {
    let vma_before = our_vma(region);
    let faults_before = fault_counts();
    let start = Instant::now();
    let mut notes = Vec::new();
    let (call, result) = run(region, prober, lab, &op, &mut notes);
    let elapsed = start.elapsed();
    let faults_after = fault_counts();
    let vma_after = our_vma(region);
    Outcome {
        op,
        history,
        result,
        elapsed,
        faults: (
            faults_after.0.saturating_sub(faults_before.0),
            faults_after.1.saturating_sub(faults_before.1),
        ),
        smaps_delta: delta(vma_before.as_ref(), vma_after.as_ref()),
        call,
        notes,
    }
}

fn run(
    region: &mut Region,
    prober: &Prober,
    lab: &mut Lab,
    op: &Op,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let addr = region.addr();
    let ps = region.page_size();
    match op {
        Op::Write { offset, bytes } => {
            let call = format!("write 0x{offset:x} <- {}", hex(bytes));
            (call, write(region, *offset, bytes, notes))
        }
        Op::Read { offset, len } => {
            let call = format!("read 0x{offset:x} +{len}");
            let result = usize::try_from(*len)
                .ok()
                .filter(|&n| n <= 1 << 20)
                .ok_or_else(|| SysError::new(libc::EINVAL, "read", "read at most 1 MiB at a time"))
                .and_then(|n| {
                    let mut buf = vec![0u8; n];
                    let got = region.read(*offset, &mut buf)?;
                    buf.truncate(got);
                    if got < n {
                        notes.push(format!(
                            "short read: {got} of {n} bytes (the rest lies beyond EOF or is protected)"
                        ));
                    }
                    Ok(Done::Read {
                        offset: *offset,
                        bytes: buf,
                    })
                });
            (call, result)
        }
        Op::Undo | Op::Redo => (format!("{op:?}").to_lowercase(), Ok(Done::Nothing)),
        Op::Mode(mode) => {
            let call = format!("mmap({}) again", mode.flag_name());
            let old_addr = addr;
            let was = region.mode();
            let result = region.remap(*mode).map(|()| Done::Remapped {
                old_addr,
                new_addr: region.addr(),
                mode: *mode,
            });
            if result.is_ok() {
                notes.push(remap_note(region, was, *mode));
            }
            (call, result)
        }
        Op::Msync(kind, scope) => {
            let flags = match kind {
                SyncKind::Sync => MsyncFlags::SYNC,
                SyncKind::Async => MsyncFlags::ASYNC,
                SyncKind::Invalidate => MsyncFlags::INVALIDATE,
            };
            let result = scope_pages(region, *scope).and_then(|(first, count)| {
                let before = dirty_pages(region, first, count);
                region.msync(first, count, flags)?;
                let after = dirty_pages(region, first, count);
                Ok(Done::Synced {
                    kind: *kind,
                    first,
                    count,
                    dirty_before: before,
                    dirty_after: after,
                })
            });
            if let Ok(Done::Synced {
                dirty_before: Some(b),
                dirty_after: Some(a),
                ..
            }) = &result
            {
                notes.push(format!("{} cleaned", plural(b.saturating_sub(*a), "page")));
            }
            if region.mode() == MapMode::Private {
                notes.push("MAP_PRIVATE: nothing of ours reaches the file; msync writes only the file's own dirty pages".into());
            }
            match kind {
                SyncKind::Async => notes.push(
                    "MS_ASYNC is a no-op on Linux: dirty pages stay dirty until writeback".into(),
                ),
                SyncKind::Invalidate => notes.push(
                    "MS_INVALIDATE changes nothing visible on Linux (EBUSY if the range is locked)"
                        .into(),
                ),
                SyncKind::Sync => {}
            }
            if region.always_dirty() {
                notes.push("tmpfs: its pages stay dirty whatever msync does".into());
            }
            let call = range_call(region, "msync", kind.name(), *scope);
            (with_rc(call, &result), result)
        }
        Op::Protect(prot) => {
            let result = region.mprotect(*prot).map(|()| Done::Protected);
            let call = format!(
                "mprotect(0x{addr:x}, {}, {})",
                region.map_bytes(),
                prot_flags(*prot)
            );
            if result.is_ok() && !prot.read {
                notes.push(
                    "no access: the grid shows the pages as inaccessible and reads nothing".into(),
                );
            }
            (with_rc(call, &result), result)
        }
        Op::Advise(advice, scope) => {
            let result = scope_pages(region, *scope).and_then(|(first, count)| {
                let resident_before = resident_pages(region, first, count);
                let copies_before = private_copies(region, prober, first, count);
                region.madvise(first, count, madvice(*advice))?;
                Ok(Done::Advised {
                    first,
                    count,
                    resident_before,
                    resident_after: resident_pages(region, first, count),
                    copies_before,
                    copies_after: private_copies(region, prober, first, count),
                })
            });
            if let Ok(d) = &result {
                advise_notes(region, *advice, d, notes);
            }
            let call = range_call(region, "madvise", advice.name(), *scope);
            (with_rc(call, &result), result)
        }
        Op::Fadvise(advice) => {
            let pages = region.pages();
            let before = resident_pages(region, 0, pages);
            let result = region.fadvise(fadvice(*advice)).map(|()| Done::Advised {
                first: 0,
                count: pages,
                resident_before: before,
                resident_after: resident_pages(region, 0, pages),
                copies_before: None,
                copies_after: None,
            });
            if let Ok(d) = &result {
                fadvise_notes(region, prober, *advice, d, notes);
            }
            let call = format!(
                "posix_fadvise(fd, {}, {}, {})",
                region.offset(),
                region.map_bytes(),
                advice.name()
            );
            (with_rc(call, &result), result)
        }
        Op::Touch(page) => {
            // Checked: the page number comes from the user and may be anything.
            let call = match page.checked_mul(ps).and_then(|off| off.checked_add(addr)) {
                Some(at) => format!("touch page {page} (read 1 byte at 0x{at:x})"),
                None => format!("touch page {page}"),
            };
            (call, touch(region, prober, *page, notes))
        }
        Op::Truncate(size) => {
            let call = format!("ftruncate(file, {size}) from another process");
            (call, truncate(region, lab, *size, notes))
        }
        Op::Exec { offset, args } => {
            let call = format!(
                "call 0x{:x}({}, {}) in a forked child",
                addr + offset,
                args.0,
                args.1
            );
            let result = region.call_in_child(*offset, *args).map(|end| {
                notes.push(match end {
                    ChildEnd::Returned(v) => format!("returned {v}"),
                    ChildEnd::Signal(s) if s == libc::SIGSEGV && !region.prot().exec => format!(
                        "killed by SIGSEGV: the page has no PROT_EXEC ({}); p sets rx",
                        region.prot().letters()
                    ),
                    ChildEnd::Signal(s) if s == libc::SIGBUS => {
                        "killed by SIGBUS: the code lies beyond end of file".into()
                    }
                    ChildEnd::Signal(s) if s == libc::SIGALRM => {
                        "stopped by SIGALRM: it ran too long (an endless loop?)".into()
                    }
                    ChildEnd::Signal(s) => format!("killed by {}", signal_name(s)),
                    ChildEnd::Exited(code) => format!("exited with status {code}"),
                });
                notes.push("this process never ran the mapped code; only the child did".into());
                Done::Called {
                    offset: *offset,
                    end,
                }
            });
            (call, result)
        }
        Op::PeerStart(at) => {
            let offset = at.unwrap_or(0);
            let call = format!("peer start at 0x{offset:x}");
            let result = lab.start_peer(region, offset).map(|peer| {
                notes.push(format!(
                    "pid {} maps the file MAP_SHARED and writes a counter every {} ms",
                    peer.pid(),
                    super::lab::PEER_PERIOD.as_millis()
                ));
                if region.mode() == MapMode::Private {
                    notes.push(
                        "you are MAP_PRIVATE: you see its writes until you write that page yourself (copy-on-write)"
                            .into(),
                    );
                }
                Done::PeerStarted {
                    pid: peer.pid(),
                    file_offset: peer.file_offset,
                }
            });
            (call, result)
        }
        Op::PeerStop => {
            let result = lab
                .stop_peer()
                .map(|pid| Done::PeerStopped { pid })
                .ok_or_else(|| SysError::new(libc::ESRCH, "peer stop", "no peer is running"));
            ("peer stop".into(), result)
        }
        Op::Alloc(size) => {
            let call = format!("malloc({size})");
            let result = lab.alloc(*size).map(|a| {
                notes.push(match (&a.mapping, a.new_mapping) {
                    (Some((s, e, _, _)), true) => format!(
                        "a new anonymous mapping {s:x}-{e:x}: large blocks come straight from mmap"
                    ),
                    (Some((_, _, _, p)), false) if p == "[heap]" => {
                        "inside [heap]: small blocks come from the heap (brk)".into()
                    }
                    (Some(_), false) => "inside an existing mapping (an arena)".into(),
                    (None, _) => "not found in /proc/self/maps".into(),
                });
                Done::Allocated(a)
            });
            (call, result)
        }
        Op::Free => {
            let result = lab
                .free()
                .map(|(addr, size)| Done::Freed { addr, size })
                .ok_or_else(|| SysError::new(libc::EINVAL, "free", "nothing allocated to free"));
            let call = match &result {
                Ok(Done::Freed { addr, .. }) => format!("free(0x{addr:x})"),
                _ => "free".into(),
            };
            (call, result)
        }
    }
}

fn plural(n: u64, what: &str) -> String {
    format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
}

fn with_rc(call: String, result: &Result<Done, SysError>) -> String {
    match result {
        Ok(_) => format!("{call} = 0"),
        Err(e) => format!("{call} = -1 {}", e.name()),
    }
}

fn prot_flags(p: super::region::Prot) -> String {
    let mut parts = Vec::new();
    if p.read {
        parts.push("PROT_READ");
    }
    if p.write {
        parts.push("PROT_WRITE");
    }
    if p.exec {
        parts.push("PROT_EXEC");
    }
    if parts.is_empty() {
        "PROT_NONE".into()
    } else {
        parts.join("|")
    }
}

fn madvice(a: MAdvice) -> Advice {
    match a {
        MAdvice::WillNeed => Advice::WillNeed,
        MAdvice::DontNeed => Advice::LinuxDontNeed,
        MAdvice::Cold => Advice::LinuxCold,
        MAdvice::PageOut => Advice::LinuxPageOut,
        MAdvice::Sequential => Advice::Sequential,
        MAdvice::Random => Advice::Random,
        MAdvice::Normal => Advice::Normal,
    }
}

fn fadvice(a: FAdvice) -> rustix::fs::Advice {
    match a {
        FAdvice::DontNeed => rustix::fs::Advice::DontNeed,
        FAdvice::WillNeed => rustix::fs::Advice::WillNeed,
        FAdvice::Random => rustix::fs::Advice::Random,
    }
}

fn write(
    region: &Region,
    offset: u64,
    bytes: &[u8],
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let geometry = region.geometry()?;
    let end = offset
        .checked_add(bytes.len() as u64)
        .filter(|&e| e <= region.map_bytes())
        .ok_or_else(|| {
            SysError::new(
                libc::EINVAL,
                format!("write at 0x{offset:x}"),
                format!("the mapping ends at 0x{:x}", region.map_bytes()),
            )
        })?;
    if (offset..end).any(|o| geometry.byte_kind(o) == ByteKind::BeyondEof) {
        return Err(SysError::new(
            libc::EFAULT,
            format!("write at 0x{offset:x}"),
            "the page lies beyond end of file: a store there would raise SIGBUS, so nothing was written",
        ));
    }
    let prot = region.prot();
    if !prot.write {
        let why = match region.target() {
            Target::File {
                writable: false, ..
            } if region.mode() == MapMode::Shared => {
                "the mapping is read-only and the file is open read-only: a store would raise \
                 SIGSEGV; remap it MAP_PRIVATE (m) for a writable copy-on-write view"
            }
            _ => {
                "the mapping's protection has no PROT_WRITE: a store would raise SIGSEGV \
                 (SEGV_ACCERR); change it with p (mprotect)"
            }
        };
        return Err(SysError::new(
            libc::EACCES,
            format!("write at 0x{offset:x} ({})", prot.letters()),
            why,
        ));
    }
    let mut old = vec![0u8; bytes.len()];
    // With PROT_WRITE but without PROT_READ (not offered, but possible via the kernel's rules)
    // the old bytes are unknown: the undo record then restores zeros. Say so.
    if region.read(offset, &mut old).ok() != Some(bytes.len()) {
        notes.push("the old bytes could not be read: undo would write zeros".into());
        old.fill(0);
    }
    let n = region.write(offset, bytes)?;
    if n < bytes.len() {
        return Err(SysError::new(
            libc::EFAULT,
            format!("write at 0x{offset:x}"),
            format!(
                "only {n} of {} bytes were written: the rest lies on a page cut off meanwhile",
                bytes.len()
            ),
        ));
    }
    let padding = (offset..end)
        .filter(|&o| geometry.byte_kind(o) == ByteKind::Padding)
        .count() as u64;
    if padding > 0 {
        notes.push(format!(
            "{} in the padding after end of file: never reaches the file",
            plural(padding, "byte")
        ));
    }
    if region.mode() == MapMode::Private && matches!(region.target(), Target::File { .. }) {
        notes.push("MAP_PRIVATE: the page is now our copy; the file is unchanged".into());
    }
    Ok(Done::Wrote {
        offset,
        old,
        new: bytes.to_vec(),
        padding,
    })
}

fn remap_note(region: &Region, was: MapMode, now: MapMode) -> String {
    let anon = matches!(region.target(), Target::Anon);
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

fn advise_notes(region: &Region, advice: MAdvice, done: &Done, notes: &mut Vec<String>) {
    let Done::Advised {
        resident_before,
        resident_after,
        copies_before,
        copies_after,
        ..
    } = done
    else {
        return;
    };
    if let (Some(b), Some(a)) = (copies_before, copies_after)
        && b > a
    {
        notes.push(format!(
            "{} discarded: the file's content shows again",
            plural(b - a, "private copy")
        ));
    }
    match (resident_before, resident_after) {
        (Some(b), Some(a)) if a != b => notes.push(format!(
            "resident {} -> {}",
            thousands(*b),
            thousands(*a)
        )),
        (Some(_), Some(_)) => notes.push(match advice {
            MAdvice::DontNeed if region.mode() == MapMode::Shared => {
                "residency unchanged: DONTNEED drops our page-table entries; the file's pages stay in the page cache".into()
            }
            MAdvice::PageOut | MAdvice::Cold => {
                "residency unchanged: the kernel reclaims only what it can (not dirty or shared pages at once)".into()
            }
            MAdvice::WillNeed => "residency unchanged: the pages were already resident".into(),
            _ => "residency unchanged: this advice only changes how the kernel reads ahead".into(),
        }),
        _ => {}
    }
}

fn fadvise_notes(
    region: &Region,
    prober: &Prober,
    advice: FAdvice,
    done: &Done,
    notes: &mut Vec<String>,
) {
    let Done::Advised {
        resident_before: Some(b),
        resident_after: Some(a),
        ..
    } = done
    else {
        return;
    };
    if a != b {
        notes.push(format!("resident {} -> {}", thousands(*b), thousands(*a)));
        return;
    }
    if advice == FAdvice::DontNeed && *a > 0 {
        let mapped = present_pages(prober, region, 0, region.pages().min(1 << 20)).len();
        notes.push(format!(
            "nothing evicted: fadvise(DONTNEED) drops only clean pages that nobody maps ({} mapped by us{})",
            thousands(mapped as u64),
            if dirty_pages(region, 0, region.pages()).is_some_and(|d| d > 0) {
                ", some dirty"
            } else {
                ""
            }
        ));
    }
}

fn touch(
    region: &Region,
    prober: &Prober,
    page: u64,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let pages = region.pages();
    if page >= pages {
        return Err(SysError::new(
            libc::EINVAL,
            format!("touch page {page}"),
            format!("the mapping has pages 0 to {}", pages - 1),
        ));
    }
    // A window around the page shows fault-around (up to 16 pages each side).
    let lo = page.saturating_sub(16);
    let n = (page + 17).min(pages) - lo;
    let present_before = present_pages(prober, region, lo, n);
    let resident_before = resident_pages(region, 0, pages);
    let page_was_resident = resident_pages(region, page, 1) == Some(1);
    let (min0, maj0) = fault_counts();
    let mut b = [0u8; 1];
    let read = region.read(page * region.page_size(), &mut b);
    let (min1, maj1) = fault_counts();
    read.map_err(|mut e| {
        e.explanation = format!(
            "{} (a plain load here would have killed a naive program)",
            e.explanation
        );
        e
    })?;
    let present_after = present_pages(prober, region, lo, n);
    let newly_present: Vec<u64> = present_after
        .into_iter()
        .filter(|p| !present_before.contains(p))
        .collect();
    let resident_after = resident_pages(region, 0, pages);
    let (minor, major) = (min1 - min0, maj1 - maj0);
    notes.push(format!(
        "{} minor, {} major fault{}",
        minor,
        major,
        if minor + major == 1 { "" } else { "s" }
    ));
    let around: Vec<u64> = newly_present
        .iter()
        .copied()
        .filter(|&p| p != page)
        .collect();
    if !around.is_empty() {
        notes.push(format!(
            "fault-around made {} present too",
            plural(around.len() as u64, "other page")
        ));
    }
    if !page_was_resident {
        notes.push("the page was read in from the file".into());
    }
    // Pages other than the touched one that came into the cache: readahead.
    let others = match (resident_before, resident_after) {
        (Some(b), Some(a)) => a
            .saturating_sub(b)
            .saturating_sub(u64::from(!page_was_resident)),
        _ => 0,
    };
    if others > 0 {
        notes.push(format!(
            "{} more became resident (readahead)",
            plural(others, "page")
        ));
    }
    Ok(Done::Touched {
        page,
        minor,
        major,
        newly_present,
        resident_before,
        resident_after,
    })
}

fn truncate(
    region: &Region,
    lab: &Lab,
    size: u64,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let Some(path) = region.path().map(std::path::Path::to_path_buf) else {
        return Err(SysError::new(
            libc::EINVAL,
            "truncate",
            "anonymous memory has no file to truncate",
        ));
    };
    let old_size = region
        .file_size_now()?
        .ok_or_else(|| SysError::new(libc::EINVAL, "truncate", "a device has no size to change"))?;
    let exe = lab.helper_binary()?;
    let status = std::process::Command::new(exe)
        .arg("internal-truncate")
        .arg(&path)
        .arg(size.to_string())
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| SysError::from_io(&e, "spawn the truncating process"))?;
    if !status.success() {
        return Err(SysError::new(
            libc::EIO,
            "truncate",
            format!("the truncating process failed ({status}); see its message above"),
        ));
    }
    let new_size = region.file_size_now()?.unwrap_or(size);
    let g = region.geometry()?;
    let data_pages = g.data_bytes().div_ceil(g.page_size);
    notes.push(format!(
        "pages {}.. are now beyond EOF: a load there would raise SIGBUS; mmapscope only reports them",
        data_pages
    ));
    if new_size > old_size {
        notes.push("the file grew: the new part reads as zeros (a hole)".into());
    }
    Ok(Done::Truncated { old_size, new_size })
}

/// Cuts or extends `path` to `size` bytes: the body of the helper process behind `truncate`.
///
/// # Errors
/// The file could not be opened for writing or resized.
pub fn truncate_file(path: &std::path::Path, size: u64) -> Result<(), SysError> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(size))
        .map_err(|e| {
            SysError::from_io(
                &e,
                format!(
                    "ftruncate {}",
                    crate::text::sanitize(&path.to_string_lossy())
                ),
            )
        })
}
