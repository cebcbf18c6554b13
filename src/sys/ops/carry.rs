//! Carries out an `Op` against the kernel and says what happened: the system call with its
//! arguments, the result or errno with one sentence, the time it took, the page faults it cost,
//! the smaps counters it moved, and the before/after page states that tell what it did (pages
//! cleaned by msync, copies discarded by madvise, pages made present by a touch).

use std::time::{Duration, Instant};

use rustix::mm::{Advice, MsyncFlags};

use crate::geometry::ByteKind;
use crate::sys::ops::op::{FAdvice, MAdvice, Op, Scope, SyncKind};
use crate::text::json;
use serde::Serialize;

use crate::sys::contain::children::{CALL_TIMEOUT, CodeChild, Reaped};
use crate::sys::error::SysError;
use crate::sys::lab::experiments::{Allocated, Lab, Threshold};
use crate::sys::map::region::{ChildEnd, Region, fault_counts};
use crate::sys::map::request::{MapMode, Prot, Target};
use crate::sys::ops::gate::Permit;
use crate::sys::ops::notes;
use crate::sys::probe::prober::Prober;
use crate::sys::probe::state::{PM_FILE, PM_PRESENT};
use crate::sys::proc::limits::Memlock;
use crate::sys::proc::maps::{self, SmapsField, Vma};

/// What an operation did, for the model, the log and the batch JSON (the `result` of a batch
/// line: each variant serializes as the object of its fields, under their JSON names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Done {
    Wrote {
        offset: u64,
        #[serde(serialize_with = "json::hex")]
        old: Vec<u8>,
        #[serde(serialize_with = "json::hex")]
        new: Vec<u8>,
        /// Bytes that landed in the padding after end of file.
        #[serde(rename = "padding_bytes")]
        padding: u64,
    },
    Read {
        offset: u64,
        #[serde(rename = "hex", serialize_with = "json::hex")]
        bytes: Vec<u8>,
    },
    /// `swap`: the mapping now shown and operated on (`--also`).
    Swapped {
        #[serde(serialize_with = "json::addr")]
        addr: u64,
        mode: MapMode,
    },
    Remapped {
        #[serde(serialize_with = "json::addr")]
        old_addr: u64,
        #[serde(serialize_with = "json::addr")]
        new_addr: u64,
        mode: MapMode,
    },
    Synced {
        #[serde(rename = "flags", serialize_with = "sync_name")]
        kind: SyncKind,
        #[serde(rename = "first_page")]
        first: u64,
        #[serde(rename = "pages")]
        count: u64,
        dirty_before: Option<u64>,
        dirty_after: Option<u64>,
    },
    Protected {},
    Advised {
        #[serde(rename = "first_page")]
        first: u64,
        #[serde(rename = "pages")]
        count: u64,
        resident_before: Option<u64>,
        resident_after: Option<u64>,
        #[serde(rename = "cow_before")]
        copies_before: Option<u64>,
        #[serde(rename = "cow_after")]
        copies_after: Option<u64>,
    },
    Touched {
        page: u64,
        #[serde(rename = "minor_faults")]
        minor: u64,
        #[serde(rename = "major_faults")]
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
        #[serde(flatten)]
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
        #[serde(serialize_with = "json::addr")]
        addr: u64,
        size: u64,
        /// Where it had landed (`mmap`, `heap`, ...).
        landed: &'static str,
        threshold: Threshold,
    },
    /// The keeper was forked.
    Forked {
        pid: u32,
        /// Our present pages, and those the child maps too (`null`: unknown, or a mapping too
        /// large to walk).
        present: Option<u64>,
        shared_with_child: Option<u64>,
    },
    ChildWrote {
        pid: u32,
        offset: u64,
        #[serde(serialize_with = "json::hex")]
        old: Vec<u8>,
        #[serde(serialize_with = "json::hex")]
        new: Vec<u8>,
        /// The page was shared with us before and after the write.
        shared_before: Option<bool>,
        shared_after: Option<bool>,
    },
    ChildRead {
        pid: u32,
        offset: u64,
        #[serde(rename = "hex", serialize_with = "json::hex")]
        bytes: Vec<u8>,
        /// The page is shared with us after the read.
        shared_after: Option<bool>,
    },
    ChildExited {
        pid: u32,
        how: String,
    },
    Locked {
        locked: bool,
        #[serde(rename = "first_page")]
        first: u64,
        pages: u64,
        memlock: Memlock,
    },
    /// mremap: where the mapping is now and how long.
    Resized {
        #[serde(serialize_with = "json::addr")]
        old_addr: u64,
        #[serde(serialize_with = "json::addr")]
        new_addr: u64,
        old_len: u64,
        new_len: u64,
        moved: bool,
        present_before: u64,
        present_after: u64,
    },
    /// Undo or redo with nothing to undo or redo.
    Nothing {},
}

fn sync_name<S: serde::Serializer>(kind: &SyncKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

/// The result of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub op: Op,
    pub result: Result<Done, SysError>,
    pub elapsed: Duration,
    /// Minor and major page faults during the call.
    pub faults: (u64, u64),
    /// smaps counters that changed: (name, bytes after - bytes before).
    pub smaps_delta: Vec<(SmapsField, i64)>,
    /// The call as it would be written in C, with its result: `msync(0x7f.., 16384, MS_SYNC) = 0`.
    pub call: String,
    /// Sentences about what it did or why nothing changed.
    pub notes: Vec<String>,
}

/// The JSON `result` of a batch line: what it did (`Done`'s fields), the call, the time in
/// microseconds, the page faults, the smaps counters it moved and the notes.
impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Faults {
            minor: u64,
            major: u64,
        }
        #[derive(Serialize)]
        struct Flat<'a> {
            #[serde(flatten)]
            done: Option<&'a Done>,
            call: &'a str,
            elapsed_us: u64,
            faults: Faults,
            smaps_delta: std::collections::BTreeMap<&'static str, i64>,
            notes: &'a [String],
        }
        Flat {
            done: self.result.as_ref().ok(),
            call: &self.call,
            elapsed_us: u64::try_from(self.elapsed.as_micros()).unwrap_or(u64::MAX),
            faults: Faults {
                minor: self.faults.0,
                major: self.faults.1,
            },
            smaps_delta: self
                .smaps_delta
                .iter()
                .map(|(field, d)| (field.name(), *d))
                .collect(),
            notes: &self.notes,
        }
        .serialize(s)
    }
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
                .map(|(field, d)| {
                    let sign = if *d > 0 { "+" } else { "-" };
                    if field.is_size() {
                        format!("{} {sign}{} kB", field.name(), d.unsigned_abs() / 1024)
                    } else {
                        format!("{} {sign}{}", field.name(), d.unsigned_abs())
                    }
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
    maps::total(&maps::read_vmas(region.addr(), region.addr() + region.map_bytes()).ok()?)
}

/// Our VMA's THPeligible and its huge-page bytes (AnonHugePages + ShmemPmdMapped +
/// FilePmdMapped), 0 when smaps cannot be read.
fn thp_counters(region: &Region) -> (u64, u64) {
    our_vma(region).map_or((0, 0), |v| {
        (
            v.thp_eligible,
            v.anon_huge_pages + v.shmem_pmd_mapped + v.file_pmd_mapped,
        )
    })
}

fn delta(before: Option<&Vma>, after: Option<&Vma>) -> Vec<(SmapsField, i64)> {
    let (Some(b), Some(a)) = (before, after) else {
        return Vec::new();
    };
    SmapsField::ALL
        .into_iter()
        .filter(|f| *f != SmapsField::Size)
        .filter_map(|f| {
            let d = f.of(a).cast_signed() - f.of(b).cast_signed();
            (d != 0).then_some((f, d))
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

/// The padding bytes after end of file in pages `[first, first + count)`, as the mapping shows
/// them now (empty when no such page is in the range, or it is not in our page tables: then
/// we wrote nothing there, and reading it would fault it in).
fn padding_bytes(region: &Region, prober: &Prober, first: u64, count: u64) -> Vec<u8> {
    let Ok(g) = region.geometry() else {
        return Vec::new();
    };
    let data = g.data_bytes();
    let page = data / g.page_size;
    if g.file_size.is_none()
        || data % g.page_size == 0
        || !(first..first + count).contains(&page)
        || present_pages(prober, region, page, 1).is_empty()
    {
        return Vec::new();
    }
    let mut buf = vec![0u8; (g.page_size - data % g.page_size) as usize];
    match region.read(data, &mut buf) {
        Ok(n) if n == buf.len() => buf,
        _ => Vec::new(),
    }
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

/// Pages `first..first + count` that lie inside end of file: the most that can be resident.
fn cacheable_pages(region: &Region, first: u64, count: u64) -> u64 {
    let Ok(g) = region.geometry() else {
        return count;
    };
    let inside = g.data_bytes().div_ceil(g.page_size.max(1));
    (first + count).min(inside).saturating_sub(first)
}

/// Private copies (present, not file pages) over a range, for file mappings; bounded ranges only.
fn private_copies(region: &Region, prober: &Prober, first: u64, count: u64) -> Option<u64> {
    if region.mode() != MapMode::Private || !region.page_cache_file() {
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

/// Carries out the operation `permit` allows (the write gate made it: `sys::ops::gate`) on `region`
/// (and `lab`, for the experiments that keep state).
pub fn execute(region: &mut Region, prober: &Prober, lab: &mut Lab, permit: Permit) -> Outcome {
    let vma_before = our_vma(region);
    let faults_before = fault_counts();
    let start = Instant::now();
    let mut notes = Vec::new();
    let (call, result) = run(region, prober, lab, &permit, &mut notes);
    let op = permit.into_op();
    let elapsed = start.elapsed();
    let faults_after = fault_counts();
    let vma_after = our_vma(region);
    if matches!(
        op,
        Op::Mode(_) | Op::Truncate(_) | Op::PeerStart(_) | Op::Fadvise(_)
    ) && let Some(note) = region.path_note()
    {
        notes.push(note);
    }
    let smaps_delta = delta(vma_before.as_ref(), vma_after.as_ref());
    if let (Op::Resize(_), Ok(_)) = (&op, &result)
        && let Some((_, grew)) = smaps_delta
            .iter()
            .find(|(f, d)| *f == SmapsField::Locked && *d > 0)
    {
        notes.push(format!(
            "the mapping is locked (VmFlags lo): mremap locked its new part too, faulting it in \
             at once (Locked +{})",
            crate::text::human(grew.unsigned_abs())
        ));
    }
    let child_related = matches!(
        op,
        Op::Fork | Op::ChildExit | Op::ChildRead { .. } | Op::ChildWrite { .. }
    ) || (matches!(op, Op::Write { .. }) && lab.keeper.is_some());
    if result.is_ok() && child_related {
        notes.extend(notes::smaps_moved_by_child(&smaps_delta));
    }
    Outcome {
        op,
        result,
        elapsed,
        faults: (
            faults_after.0.saturating_sub(faults_before.0),
            faults_after.1.saturating_sub(faults_before.1),
        ),
        smaps_delta,
        call,
        notes,
    }
}

/// `swap`, done by the session (it holds both mappings of `--also`): the outcome naming the
/// mapping now shown.
pub fn swapped(shown: &Region, other: &Region) -> Outcome {
    let (addr, mode) = (shown.addr(), shown.mode());
    Outcome {
        op: Op::Swap,
        result: Ok(Done::Swapped { addr, mode }),
        elapsed: Duration::ZERO,
        faults: (0, 0),
        smaps_delta: Vec::new(),
        call: format!(
            "swap: the grid shows the {} mapping at 0x{addr:x} (the {} one at 0x{:x} beside it)",
            mode.flag_name(),
            other.mode().flag_name(),
            other.addr()
        ),
        notes: vec![
            "keys and script lines now act on this mapping; o (or `swap`) switches back".into(),
        ],
    }
}

/// An operation on a VMA explored rather than made by us: reads and writes go through the
/// process's handle (its `/proc/PID/mem`, opened once; writes only with `--write` and the
/// gate's permit, only where the process may write, all or nothing, never into ourselves);
/// every other operation belongs to the mapping we made.
pub fn execute_on_view(view: &crate::sys::attach::foreign::VmaView, permit: Permit) -> Outcome {
    use crate::sys::map::range::Mapped as _;
    let op = permit.into_op();
    let start = Instant::now();
    let mut notes = Vec::new();
    let (call, result) = match &op {
        Op::Write { offset, bytes } => {
            // Through the process's handle: only where it may write itself, all or nothing.
            let call = format!(
                "pwrite(/proc/{}/mem, 0x{:x}, {})",
                view.pid_number(),
                view.addr().saturating_add(*offset),
                hex(bytes)
            );
            let result = view.write(*offset, bytes).map(|old| Done::Wrote {
                offset: *offset,
                old,
                new: bytes.clone(),
                padding: 0,
            });
            (call, result)
        }
        Op::Read { offset, len } => read(view, *offset, *len, &mut notes),
        Op::Undo | Op::Redo => (op.name(), Ok(Done::Nothing {})),
        other => (
            other.name(),
            Err(SysError::new(
                libc::EPERM,
                other.name(),
                format!(
                    "this VMA (pid {}, 0x{:x}) is only looked at: msync, mprotect, madvise, \
                     remapping, touching and the lab act on the mapping mmapscope made",
                    view.pid_number(),
                    view.addr()
                ),
            )),
        ),
    };
    Outcome {
        op,
        result,
        elapsed: start.elapsed(),
        faults: (0, 0),
        smaps_delta: Vec::new(),
        call,
        notes,
    }
}

fn run(
    region: &mut Region,
    prober: &Prober,
    lab: &mut Lab,
    permit: &Permit,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let writable = permit.file_writable();
    match permit.op() {
        Op::Write { offset, bytes } => (
            format!("write 0x{offset:x} <- {}", hex(bytes)),
            write_after_fork(region, (prober, lab), *offset, bytes, (writable, notes)),
        ),
        Op::Read { offset, len } => read(region, *offset, *len, notes),
        op @ (Op::Undo | Op::Redo) => (op.name(), Ok(Done::Nothing {})),
        Op::Mode(mode) => {
            let anon = !region.page_cache_file();
            let out = remap(region, prober, *mode, writable, notes);
            if out.1.is_ok()
                && let Some(pid) = lab.mapping_replaced(anon)
            {
                notes.push(format!(
                    "pid {pid} keeps the mapping as it was at the fork: {}",
                    if anon {
                        "this new anonymous memory is ours alone"
                    } else {
                        "the file's page-cache pages are still the same for both"
                    }
                ));
            }
            out
        }
        Op::Msync(kind, scope) => msync(region, prober, *kind, *scope, notes),
        Op::Protect(prot) => protect(region, *prot, writable, notes),
        Op::Advise(advice, scope) => advise(region, prober, *advice, *scope, notes),
        Op::Fadvise(advice) => fadvise(region, prober, *advice, notes),
        Op::Touch(page) => touch_op(region, prober, *page, notes),
        Op::Truncate(size) => (
            format!("ftruncate(file, {size}) from another process"),
            truncate(region, lab, *size, notes),
        ),
        Op::Lock(scope) => lock(region, true, *scope, notes),
        Op::Unlock(scope) => lock(region, false, *scope, notes),
        Op::Resize(len) => mremap(region, prober, Reshape::Len(*len), notes),
        Op::Move(addr) => mremap(region, prober, Reshape::To(*addr), notes),
        op => run_lab(region, prober, lab, op, notes),
    }
}

/// `touch page N`, with the call as in C.
fn touch_op(
    region: &Region,
    prober: &Prober,
    page: u64,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    // Checked: the page number comes from the user and may be anything.
    let at = page
        .checked_mul(region.page_size())
        .and_then(|off| off.checked_add(region.addr()));
    let call = match at {
        Some(at) => format!("touch page {page} (read 1 byte at 0x{at:x})"),
        None => format!("touch page {page}"),
    };
    (call, touch(region, prober, page, notes))
}

/// The experiments with processes and the allocator: code in a child, the peer, malloc, and
/// the keeper.
fn run_lab(
    region: &mut Region,
    prober: &Prober,
    lab: &mut Lab,
    op: &Op,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    match op {
        Op::Exec { offset, args } => {
            let prot = region.prot();
            let result = region
                .spawn_code(*offset, *args)
                .and_then(CodeChild::wait)
                .map(|reaped| called(*offset, prot, reaped, notes));
            (exec_call(region.addr(), *offset, *args), result)
        }
        Op::PeerStart(at) => peer_start(region, lab, at.unwrap_or(0), notes),
        Op::PeerStop => {
            // A peer that ended on its own is not stopped by us: `no_peer` says how it ended.
            let _ = lab.reap_peer();
            let result = lab
                .stop_peer()
                .map(|pid| Done::PeerStopped { pid })
                .ok_or_else(|| lab.no_peer());
            ("peer stop".into(), result)
        }
        Op::Alloc(size) => {
            let result = lab.alloc(*size).map(|a| {
                notes.push(notes::allocated(&a));
                notes.push(notes::threshold(&a.threshold));
                Done::Allocated(a)
            });
            (format!("malloc({size})"), result)
        }
        Op::Free => free(lab, notes),
        Op::Fork => ("fork()".into(), fork(region, prober, lab, notes)),
        // The session swaps when there is a second mapping; here there is none.
        Op::Swap => (
            "swap".into(),
            Err(SysError::new(
                libc::EINVAL,
                "swap",
                "there is no second mapping to swap with: start with --also private|shared \
                 (a second mapping of the same file, shown beside the first)",
            )),
        ),
        Op::ChildWrite { offset, bytes } => (
            format!("child: write 0x{offset:x} <- {}", hex(bytes)),
            child_write(region, prober, lab, *offset, bytes, notes),
        ),
        Op::ChildRead { offset, len } => (
            format!("child: read 0x{offset:x} +{len}"),
            child_read(region, prober, lab, *offset, *len, notes),
        ),
        Op::ChildExit => child_exit(lab, notes),
        other => (
            other.name(),
            Err(SysError::new(libc::EINVAL, "exec", "not an experiment")),
        ),
    }
}

/// `free`: the last block `alloc` made, and where it went back to.
fn free(lab: &mut Lab, notes: &mut Vec<String>) -> (String, Result<Done, SysError>) {
    let result = lab
        .free()
        .map(|(addr, size, landed)| {
            notes.push(notes::freed(size, landed));
            notes.push(notes::threshold(&lab.threshold));
            Done::Freed {
                addr,
                size,
                landed: landed.word(),
                threshold: lab.threshold.clone(),
            }
        })
        .ok_or_else(|| SysError::new(libc::EINVAL, "free", "nothing allocated to free"));
    let call = match &result {
        Ok(Done::Freed { addr, .. }) => format!("free(0x{addr:x})"),
        _ => "free".into(),
    };
    (call, result)
}

/// `child exit`: the keeper ends and is reaped.
fn child_exit(lab: &mut Lab, notes: &mut Vec<String>) -> (String, Result<Done, SysError>) {
    let result = lab.end_child().map(|(pid, how)| {
        notes.push(format!(
            "pid {pid} {how}: its page tables are gone, so the pages it shared are ours alone \
             again"
        ));
        Done::ChildExited { pid, how }
    });
    ("child exit".into(), result)
}

/// Whether our page `page` is shared with the keeper now; `None` without a keeper, or when a
/// pagemap could not be read.
fn shared_with_child(region: &Region, prober: &Prober, lab: &Lab, page: u64) -> Option<bool> {
    let keeper = lab.keeper.as_ref()?;
    let child = crate::sys::probe::prober::child_words(
        keeper.pagemap().ok()?,
        keeper.spec(),
        region.page_size(),
        page,
        1,
    )?;
    let mut ours = Vec::new();
    prober.pagemap_words(region, page, 1, &mut ours).ok()?;
    Some(crate::sys::probe::state::shared_pages(ours[0], child[0]))
}

/// Our present pages, and how many of them the keeper maps too (`None`: unknown, or a
/// mapping too large to walk here).
fn count_shared(region: &Region, prober: &Prober, lab: &Lab) -> (Option<u64>, Option<u64>) {
    const WINDOW: u64 = 1 << 14;
    let pages = region.pages();
    let keeper = lab.keeper.as_ref();
    let (mut present, mut shared) = (0, Some(0));
    if pages > 1 << 20 {
        return (None, None);
    }
    let mut at = 0;
    let mut ours = Vec::new();
    while at < pages {
        let n = WINDOW.min(pages - at);
        if prober.pagemap_words(region, at, n, &mut ours).is_err() {
            return (None, None);
        }
        let theirs = keeper.and_then(|k| {
            crate::sys::probe::prober::child_words(
                k.pagemap().ok()?,
                k.spec(),
                region.page_size(),
                at,
                n,
            )
        });
        present += ours.iter().filter(|w| *w & PM_PRESENT != 0).count() as u64;
        shared = match (shared, theirs) {
            (Some(s), Some(t)) => Some(
                s + ours
                    .iter()
                    .zip(&t)
                    .filter(|(o, c)| crate::sys::probe::state::shared_pages(**o, **c))
                    .count() as u64,
            ),
            _ => None,
        };
        at += n;
    }
    (Some(present), shared)
}

/// `fork`: the keeper, and what it shares with us at once.
fn fork(
    region: &Region,
    prober: &Prober,
    lab: &mut Lab,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let pid = lab.fork(region)?.pid();
    let (present, shared) = count_shared(region, prober, lab);
    notes.extend(notes::forked(
        pid,
        region.mode(),
        present.unwrap_or(0),
        shared.filter(|_| present.is_some()),
    ));
    Ok(Done::Forked {
        pid,
        present,
        shared_with_child: shared,
    })
}

/// A write of ours: as before, and when a child keeps the mapping, whether it split a page
/// the two shared.
fn write_after_fork(
    region: &Region,
    (prober, lab): (&Prober, &Lab),
    offset: u64,
    bytes: &[u8],
    (writable, notes): (bool, &mut Vec<String>),
) -> Result<Done, SysError> {
    let page = offset / region.page_size();
    let before = shared_with_child(region, prober, lab, page);
    let done = write(region, offset, bytes, writable, notes)?;
    let after = shared_with_child(region, prober, lab, page);
    let spec = lab
        .keeper
        .as_ref()
        .map(crate::sys::contain::children::Keeper::spec);
    if region.mode() == MapMode::Shared && spec.is_some_and(|c| c.shared && c.same_object) {
        // The page may be in neither page table yet: the store went to the object both map.
        notes.push(format!(
            "MAP_SHARED: your write went to the object the child maps too: page {page} of its \
             copy holds your bytes"
        ));
    } else {
        notes.extend(notes::split(page, region.mode(), (before, after), false));
    }
    Ok(done)
}

/// `child write`: the keeper stores into its copy; what that did to the page we shared.
fn child_write(
    region: &Region,
    prober: &Prober,
    lab: &mut Lab,
    offset: u64,
    bytes: &[u8],
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let page = offset / region.page_size();
    refuse_beyond_eof(&region.geometry()?, offset, bytes.len(), "child write")?;
    let before = shared_with_child(region, prober, lab, page);
    let keeper = lab.child()?;
    let (pid, spec) = (keeper.pid(), keeper.spec());
    let old = keeper.write(offset, bytes)?;
    let after = shared_with_child(region, prober, lab, page);
    if spec.shared {
        notes.push(child_shared_write(
            region,
            prober,
            spec.same_object,
            offset,
            bytes,
        ));
    } else {
        notes.extend(notes::split(page, MapMode::Private, (before, after), true));
    }
    Ok(Done::ChildWrote {
        pid,
        offset,
        old,
        new: bytes.to_vec(),
        shared_before: before,
        shared_after: after,
    })
}

/// Where a store by the child into its MAP_SHARED copy went: to the object behind it (the
/// file's page cache, or the shmem object of shared anonymous memory), whether or not either
/// page table maps the page yet. What we see of it is measured where that disturbs nothing:
/// our bytes are read back only from a page our page tables map already (a read of any other
/// would fault it in).
fn child_shared_write(
    region: &Region,
    prober: &Prober,
    same_object: bool,
    offset: u64,
    bytes: &[u8],
) -> String {
    let page = offset / region.page_size();
    if !same_object {
        return format!(
            "the child's MAP_SHARED write went to the object it was forked with; yours was \
             mapped afresh since, so page {page} of yours does not see it"
        );
    }
    if region.mode() == MapMode::Private {
        return format!(
            "the child's MAP_SHARED write went to the file; yours is MAP_PRIVATE now: page \
             {page} shows it only while you hold no private copy of it"
        );
    }
    let mut words = Vec::new();
    let present = prober.pagemap_words(region, page, 1, &mut words).is_ok()
        && words.first().is_some_and(|w| w & PM_PRESENT != 0);
    let mut ours = vec![0u8; bytes.len()];
    let seen = if present {
        region.read(offset, &mut ours).ok() == Some(bytes.len())
    } else {
        false
    };
    match (present, seen && ours == bytes) {
        (true, true) => format!(
            "MAP_SHARED: the child's write went to the one page both map: you read {} there \
             too",
            hex(&ours)
        ),
        (true, false) => format!(
            "MAP_SHARED: the child wrote into the page both map, yet your read there gives {}",
            if seen { hex(&ours) } else { "nothing".into() }
        ),
        (false, _) => format!(
            "MAP_SHARED: the child's write went to the object both map; page {page} is not in \
             your page tables yet, and your next read maps that page, with the child's bytes"
        ),
    }
}

/// `child read`: the keeper's bytes (its page may fault in, and be shared with us then).
fn child_read(
    region: &Region,
    prober: &Prober,
    lab: &mut Lab,
    offset: u64,
    len: u64,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let page = offset / region.page_size();
    let before = shared_with_child(region, prober, lab, page);
    let keeper = lab.child()?;
    let pid = keeper.pid();
    let n = usize::try_from(len).unwrap_or(usize::MAX);
    let bytes = keeper.read(offset, n)?;
    notes.push(format!("the child sees {}", hex(&bytes)));
    let after = shared_with_child(region, prober, lab, page);
    if before == Some(false) && after == Some(true) {
        notes.push(format!(
            "the child's read mapped page {page} into its page tables: it shares our page now"
        ));
    }
    notes.extend(notes::short_read(bytes.len(), n));
    Ok(Done::ChildRead {
        pid,
        offset,
        bytes,
        shared_after: after,
    })
}

/// `lock` / `unlock`: mlock or munlock of a scope; the limits in the result.
fn lock(
    region: &Region,
    on: bool,
    scope: Scope,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let result = scope_pages(region, scope).and_then(|(first, count)| {
        if on {
            region.lock(first, count)?;
        } else {
            region.unlock(first, count)?;
        }
        let memlock = crate::sys::proc::limits::memlock();
        notes.push(notes::locked(on, count, memlock.exempt));
        Ok(Done::Locked {
            locked: on,
            first,
            pages: count,
            memlock,
        })
    });
    let call = range_call_plain(region, if on { "mlock" } else { "munlock" }, scope);
    (with_rc(call, &result), result)
}

/// `mlock(0x7f.., 16384) [all]`: a call on a range of the mapping without flags.
fn range_call_plain(region: &Region, name: &str, scope: Scope) -> String {
    let ps = region.page_size();
    let (first, count) = scope_pages(region, scope).unwrap_or((0, 0));
    let which = match scope {
        Scope::All => "all".to_string(),
        Scope::Page(p) => format!("page {p}"),
    };
    format!(
        "{name}(0x{:x}, {}) [{which}]",
        region.addr() + first * ps,
        count * ps
    )
}

/// What an mremap asks for: a new length (may move), or a new address (same length).
#[derive(Debug, Clone, Copy)]
enum Reshape {
    Len(u64),
    To(u64),
}

/// `resize` / `move`: mremap, and what came along.
fn mremap(
    region: &mut Region,
    prober: &Prober,
    how: Reshape,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let (old_addr, old_len) = (region.addr(), region.len());
    let old_bytes = region.map_bytes();
    let present_before = prober.present_count(region).unwrap_or(0);
    let (call, result) = match how {
        Reshape::Len(len) => (
            format!("mremap(0x{old_addr:x}, {old_bytes}, {len}, MREMAP_MAYMOVE)"),
            region.resize(len),
        ),
        Reshape::To(to) => (
            format!(
                "mremap(0x{old_addr:x}, {old_bytes}, {old_bytes}, MREMAP_MAYMOVE|MREMAP_FIXED, 0x{to:x})"
            ),
            region.move_to(to),
        ),
    };
    let result = result.map(|()| {
        let present_after = prober.present_count(region).unwrap_or(0);
        // Grown past the shmem object made at mmap (shared anonymous memory, /dev/zero).
        let shmem = region.shmem_end().is_some_and(|end| region.pages() > end);
        notes.extend(notes::remapped(
            (old_addr, region.addr()),
            (old_len, region.len()),
            (present_before, present_after),
            shmem,
        ));
        if let Ok(g) = region.geometry()
            && g.file_size.is_some()
            && region.len() > old_len
        {
            let first = g.data_bytes().div_ceil(g.page_size).min(g.pages());
            let beyond = g.pages() - first;
            if beyond > 0 {
                let span = match beyond {
                    1 => format!("page {first} is"),
                    _ => format!("pages {first}-{} are", first + beyond - 1),
                };
                notes.push(if shmem {
                    format!("{span} beyond the end of the shmem object now (never read)")
                } else {
                    format!(
                        "{span} beyond the end of the file now (never read: a load there would \
                         raise SIGBUS)"
                    )
                });
            }
        }
        Done::Resized {
            old_addr,
            new_addr: region.addr(),
            old_len,
            new_len: region.len(),
            moved: old_addr != region.addr(),
            present_before,
            present_after,
        }
    });
    let call = match &result {
        Ok(Done::Resized { new_addr, .. }) => format!("{call} = 0x{new_addr:x}"),
        Ok(_) => call,
        Err(e) => refused_call(call, e),
    };
    (call, result)
}

/// `read OFFSET LEN`: the bytes, copied without a load that could fault (`Mapped::read`).
fn read(
    region: &dyn crate::sys::map::range::Mapped,
    offset: u64,
    len: u64,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let result = usize::try_from(len)
        .ok()
        .filter(|&n| n <= 1 << 20)
        .ok_or_else(|| SysError::new(libc::EINVAL, "read", "read at most 1 MiB at a time"))
        .and_then(|n| {
            let mut bytes = vec![0u8; n];
            let got = region.read(offset, &mut bytes)?;
            bytes.truncate(got);
            notes.extend(notes::short_read(got, n));
            Ok(Done::Read { offset, bytes })
        });
    (format!("read 0x{offset:x} +{len}"), result)
}

/// `mode shared|private`: mmap again with the other sharing mode; a shared mapping of the
/// named file is writable only when the gate says writing it is allowed (`writable`).
fn remap(
    region: &mut Region,
    prober: &Prober,
    mode: MapMode,
    writable: bool,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let (old_prot, was, old_addr) = (region.prot(), region.mode(), region.addr());
    let copies = private_copies(region, prober, 0, region.pages());
    let call = format!(
        "mmap({}, {}) again",
        mode.flag_name(),
        prot_flags(region.remap_prot(mode, writable))
    );
    let result = region.remap(mode, writable).map(|()| Done::Remapped {
        old_addr,
        new_addr: region.addr(),
        mode,
    });
    if result.is_ok() {
        notes.push(notes::remap(!region.page_cache_file(), was, mode, copies));
        notes.extend(notes::remap_prot(old_prot, region.prot(), region.mode()));
    }
    (call, result)
}

/// `msync`: dirty pages before and after, and the padding writeback may re-zero.
fn msync(
    region: &Region,
    prober: &Prober,
    kind: SyncKind,
    scope: Scope,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let flags = match kind {
        SyncKind::Sync => MsyncFlags::SYNC,
        SyncKind::Async => MsyncFlags::ASYNC,
        SyncKind::Invalidate => MsyncFlags::INVALIDATE,
    };
    let result = scope_pages(region, scope).and_then(|(first, count)| {
        let dirty_before = dirty_pages(region, first, count);
        let padding_before = padding_bytes(region, prober, first, count);
        region.msync(first, count, flags)?;
        let dirty_after = dirty_pages(region, first, count);
        let padding_after = padding_bytes(region, prober, first, count);
        let rezeroed = padding_before
            .iter()
            .zip(&padding_after)
            .filter(|(b, a)| b != a)
            .count() as u64;
        notes.extend(notes::msync(
            kind,
            region.mode(),
            region.always_dirty(),
            (dirty_before, dirty_after),
            rezeroed,
        ));
        Ok(Done::Synced {
            kind,
            first,
            count,
            dirty_before,
            dirty_after,
        })
    });
    let call = range_call(region, "msync", kind.name(), scope);
    (with_rc(call, &result), result)
}

/// `protect`: PROT_WRITE on a shared mapping of the named file only with the gate's consent
/// (`writable`; a script's `protect rw` line is that consent, a key asks first); the
/// descriptor is then reopened read-write where it was not.
fn protect(
    region: &mut Region,
    prot: Prot,
    writable: bool,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let named_shared = region.page_cache_file() && region.mode() == MapMode::Shared;
    let allowed = match (prot.write && named_shared, writable) {
        (false, _) => Ok(None),
        (true, true) => region.allow_write(),
        (true, false) => Err(SysError::new(
            libc::EACCES,
            "mprotect",
            "writing this file was not allowed: PROT_WRITE on its MAP_SHARED mapping would let \
             every store write the file",
        )),
    };
    let result = allowed.and_then(|note| {
        notes.extend(note);
        region.mprotect(prot).map(|()| Done::Protected {})
    });
    if result.is_ok() {
        notes.extend(notes::protected(prot));
    }
    let call = format!(
        "mprotect(0x{:x}, {}, {})",
        region.addr(),
        region.map_bytes(),
        prot_flags(prot)
    );
    (with_rc(call, &result), result)
}

/// `advise`: residency and private copies before and after.
fn advise(
    region: &Region,
    prober: &Prober,
    advice: MAdvice,
    scope: Scope,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let result = scope_pages(region, scope).and_then(|(first, count)| {
        let resident_before = resident_pages(region, first, count);
        let copies_before = private_copies(region, prober, first, count);
        let thp_before = thp_counters(region);
        if advice == MAdvice::Collapse {
            region.collapse(first, count)?;
        } else {
            region.madvise(first, count, madvice(advice))?;
        }
        let resident_after = resident_pages(region, first, count);
        let copies_after = private_copies(region, prober, first, count);
        if matches!(
            advice,
            MAdvice::HugePage | MAdvice::NoHugePage | MAdvice::Collapse
        ) {
            let after = thp_counters(region);
            notes.extend(notes::thp_advised(
                advice,
                (thp_before.0, after.0),
                (thp_before.1, after.1),
            ));
        } else {
            notes.extend(notes::advised(
                advice,
                region.page_cache_file(),
                cacheable_pages(region, first, count),
                (resident_before, resident_after),
                (copies_before, copies_after),
            ));
        }
        Ok(Done::Advised {
            first,
            count,
            resident_before,
            resident_after,
            copies_before,
            copies_after,
        })
    });
    let call = range_call(region, "madvise", advice.name(), scope);
    (with_rc(call, &result), result)
}

/// `fadvise`: residency before and after; what kept pages cached when nothing was evicted.
fn fadvise(
    region: &Region,
    prober: &Prober,
    advice: FAdvice,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let pages = region.pages();
    let before = resident_pages(region, 0, pages);
    let result = region.fadvise(fadvice(advice)).map(|()| {
        let after = resident_pages(region, 0, pages);
        let context = match (before, after) {
            (Some(b), Some(a)) if notes::fadvise_needs_context(advice, b, a) => Some((
                present_pages(prober, region, 0, pages.min(1 << 20)).len() as u64,
                dirty_pages(region, 0, pages).is_some_and(|d| d > 0),
            )),
            _ => None,
        };
        let cacheable = cacheable_pages(region, 0, pages);
        notes.extend(notes::fadvised(advice, cacheable, (before, after), context));
        Done::Advised {
            first: 0,
            count: pages,
            resident_before: before,
            resident_after: after,
            copies_before: None,
            copies_after: None,
        }
    });
    let call = format!(
        "posix_fadvise(fd, {}, {}, {})",
        region.offset(),
        region.map_bytes(),
        advice.name()
    );
    (with_rc(call, &result), result)
}

/// `peer start`: a second process writing a counter into the file.
fn peer_start(
    region: &Region,
    lab: &mut Lab,
    offset: u64,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let result = lab.start_peer(region, offset).map(|peer| {
        notes.extend(notes::peer_started(
            peer.pid(),
            crate::sys::lab::experiments::PEER_PERIOD.as_millis(),
            region.mode() == MapMode::Private,
        ));
        Done::PeerStarted {
            pid: peer.pid(),
            file_offset: peer.file_offset,
        }
    });
    (format!("peer start at 0x{offset:x}"), result)
}

fn with_rc(call: String, result: &Result<Done, SysError>) -> String {
    match result {
        Ok(_) => format!("{call} = 0"),
        Err(e) => refused_call(call, e),
    }
}

/// The call as written after a refusal: `= -1 ERRNO`, or, refused by the memory bound
/// before the kernel was asked, `not called`.
fn refused_call(call: String, e: &SysError) -> String {
    if e.forcible {
        format!("{call} not called (over the memory bound)")
    } else {
        format!("{call} = -1 {}", e.name())
    }
}

/// `call 0x7f..(1, 2) in a forked child`.
fn exec_call(addr: u64, offset: u64, args: (u64, u64)) -> String {
    format!(
        "call 0x{:x}({}, {}) in a forked child",
        addr + offset,
        args.0,
        args.1
    )
}

/// The `Done` of a code child's end, and notes saying how it ended. `prot`: the mapping's
/// protection when the child was forked.
fn called(offset: u64, prot: Prot, reaped: Reaped, notes: &mut Vec<String>) -> Done {
    notes.extend(notes::called(reaped.end, prot, reaped.group_killed));
    Done::Called {
        offset,
        end: reaped.end,
    }
}

/// An `exec` whose child still runs: the TUI keeps it and polls it on every tick, so the
/// screen stays live; its outcome comes when the child ends or is killed at the deadline.
/// Dropping it kills the child and its process group.
#[derive(Debug)]
pub struct Running {
    child: CodeChild,
    op: Op,
    call: String,
    offset: u64,
    /// The protection when the child was forked.
    prot: Prot,
    /// Faults and smaps changes of the fork itself, measured around it.
    faults: (u64, u64),
    smaps_delta: Vec<(SmapsField, i64)>,
}

/// What `start` did: the outcome, or a child still running.
#[derive(Debug)]
pub enum Started {
    Done(Outcome),
    Running(Running),
}

/// As `execute`, but an `exec` returns at once with its child still running.
pub fn start(region: &mut Region, prober: &Prober, lab: &mut Lab, permit: Permit) -> Started {
    let Op::Exec { offset, args } = *permit.op() else {
        return Started::Done(execute(region, prober, lab, permit));
    };
    let op = permit.into_op();
    let vma_before = our_vma(region);
    let faults_before = fault_counts();
    let start = Instant::now();
    let spawned = region.spawn_code(offset, args);
    let faults_after = fault_counts();
    let faults = (
        faults_after.0.saturating_sub(faults_before.0),
        faults_after.1.saturating_sub(faults_before.1),
    );
    let smaps_delta = delta(vma_before.as_ref(), our_vma(region).as_ref());
    let call = exec_call(region.addr(), offset, args);
    match spawned {
        Ok(child) => Started::Running(Running {
            child,
            op,
            call,
            offset,
            prot: region.prot(),
            faults,
            smaps_delta,
        }),
        Err(e) => Started::Done(Outcome {
            op,
            result: Err(e),
            elapsed: start.elapsed(),
            faults,
            smaps_delta,
            call,
            notes: Vec::new(),
        }),
    }
}

impl Running {
    pub(crate) fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The log line while it runs.
    pub fn running_line(&self) -> String {
        format!(
            "{}: running as pid {} (killed after {} s)",
            self.call,
            self.pid(),
            CALL_TIMEOUT.as_secs()
        )
    }

    /// Without blocking: the outcome once the child has ended, or has been killed at its
    /// deadline; `None` while it runs.
    pub fn poll(&mut self) -> Option<Outcome> {
        let result = match self.child.try_end() {
            Ok(None) => return None,
            Ok(Some(reaped)) => Ok(reaped),
            Err(e) => Err(e),
        };
        let mut notes = Vec::new();
        let result = result.map(|r| called(self.offset, self.prot, r, &mut notes));
        Some(Outcome {
            op: self.op.clone(),
            result,
            elapsed: self.child.started().elapsed(),
            faults: self.faults,
            smaps_delta: self.smaps_delta.clone(),
            call: self.call.clone(),
            notes,
        })
    }

    /// The refusal of another operation that needs the child slot while this one runs.
    pub fn refuse(&self, op: Op) -> Outcome {
        Outcome {
            call: match &op {
                Op::Exec { offset, args } => format!("call +0x{offset:x}({}, {})", args.0, args.1),
                other => other.name(),
            },
            op,
            result: Err(SysError::new(
                libc::EBUSY,
                "exec",
                format!(
                    "pid {} still runs the previous call; it ends or is killed within {} s",
                    self.pid(),
                    CALL_TIMEOUT.as_secs()
                ),
            )),
            elapsed: Duration::ZERO,
            faults: (0, 0),
            smaps_delta: Vec::new(),
            notes: Vec::new(),
        }
    }
}

fn prot_flags(p: crate::sys::map::request::Prot) -> String {
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
        MAdvice::HugePage => Advice::LinuxHugepage,
        MAdvice::NoHugePage => Advice::LinuxNoHugepage,
        // Not a rustix advice: `advise` calls Region::collapse instead.
        MAdvice::Collapse => Advice::Normal,
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
    writable: bool,
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
    refuse_beyond_eof(&geometry, offset, bytes.len(), "write")?;
    let prot = region.prot();
    if !prot.write {
        let why = notes::write_refusal(
            matches!(region.target(), Target::File { .. }),
            region.mode() == MapMode::Shared,
            region.may_write(),
            writable,
        );
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
        // All or nothing: the bytes that landed before the dead page are put back.
        let restored = n == 0 || region.write(offset, &old[..n]).ok() == Some(n);
        return Err(SysError::new(
            libc::EFAULT,
            format!("write at 0x{offset:x}"),
            format!(
                "only {n} of {} bytes could be stored (the rest lies on a page cut off \
                 meanwhile), so nothing was written: {} bytes landed{}",
                bytes.len(),
                if restored { 0 } else { n },
                if restored {
                    ""
                } else {
                    " (they could not be put back)"
                }
            ),
        ));
    }
    let padding = (offset..end)
        .filter(|&o| geometry.byte_kind(o) == ByteKind::Padding)
        .count() as u64;
    notes.extend(notes::wrote(
        padding,
        region.mode() == MapMode::Private && region.page_cache_file(),
    ));
    Ok(Done::Wrote {
        offset,
        old,
        new: bytes.to_vec(),
        padding,
    })
}

/// EFAULT when any of `len` bytes at `offset` lies on a page beyond end of file: a store
/// there would raise SIGBUS, so nothing is written (not even the bytes before it).
fn refuse_beyond_eof(
    geometry: &crate::geometry::Geometry,
    offset: u64,
    len: usize,
    what: &str,
) -> Result<(), SysError> {
    let end = offset.saturating_add(len as u64);
    if let Some(o) = (offset..end).find(|&o| geometry.byte_kind(o) == ByteKind::BeyondEof) {
        return Err(SysError::new(
            libc::EFAULT,
            format!("{what} at 0x{offset:x}"),
            format!(
                "byte 0x{o:x} lies on a page beyond end of file: a store there would raise \
                 SIGBUS, so nothing was written (0 bytes landed)"
            ),
        ));
    }
    Ok(())
}

/// The outcome of an operation the write gate refused: nothing was called.
pub fn refused(op: Op, err: SysError) -> Outcome {
    Outcome {
        call: "refused by the write gate".into(),
        op,
        result: Err(err),
        elapsed: Duration::ZERO,
        faults: (0, 0),
        smaps_delta: Vec::new(),
        notes: Vec::new(),
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
    let others_present = newly_present.iter().filter(|&&p| p != page).count() as u64;
    // Pages other than the touched one that came into the cache: readahead.
    let readahead = match (resident_before, resident_after) {
        (Some(b), Some(a)) => a
            .saturating_sub(b)
            .saturating_sub(u64::from(!page_was_resident)),
        _ => 0,
    };
    notes.extend(notes::touched(
        (minor, major),
        others_present,
        page_was_resident,
        readahead,
    ));
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
    // The helper opens /proc/PID/fd/N: the very file we hold, whatever its path names now.
    // (Writing the file was allowed: the gate gave the permit.)
    let Some(fd_path) = region.fd_path().filter(|_| region.page_cache_file()) else {
        return Err(SysError::new(
            libc::EINVAL,
            "truncate",
            "only a file has a size to change; anonymous memory and /dev/zero have none",
        ));
    };
    let old_size = region
        .file_size_now()?
        .ok_or_else(|| SysError::new(libc::EINVAL, "truncate", "this file has no size"))?;
    if region.file_kind() == Some(crate::sys::map::request::FileKind::Block) {
        return Err(SysError::new(
            libc::EINVAL,
            "truncate",
            "a block device's size is the device's: it cannot be truncated",
        ));
    }
    let exe = lab.helper_binary()?;
    let status = std::process::Command::new(exe)
        .arg("internal-truncate")
        .arg(&fd_path)
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
    let change = region
        .geometry()?
        .size_change(old_size, new_size, crate::geometry::Grown::Hole)
        .join("; ");
    notes.push(match new_size.cmp(&old_size) {
        std::cmp::Ordering::Less => format!("the file shrank: {change}"),
        std::cmp::Ordering::Greater => format!("the file grew: {change}"),
        std::cmp::Ordering::Equal => change,
    });
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
