//! What an operation did, as data: `Done` (each operation's own result) and `Outcome` (the
//! call, its result or errno, the time and faults it cost, the smaps counters it moved, the
//! notes), and the measures taken before and after a call that the notes are made of (dirty,
//! resident and present pages, private copies, THP counters).

use std::time::Duration;

use crate::sys::ops::op::{Op, Scope, SyncKind};
use crate::text::json;
use serde::Serialize;

use crate::sys::error::SysError;
use crate::sys::lab::experiments::{Allocated, Threshold};
use crate::sys::map::region::{ChildEnd, Region};
use crate::sys::map::request::MapMode;
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
    /// `child track`: the child's accessed bits were cleared; what the kernel can say per page.
    ChildTracked {
        pid: u32,
        per_page: String,
    },
    /// `child touched`: its copy of the mapping, bytes referenced since `child track` and
    /// resident.
    ChildTouched {
        pid: u32,
        referenced: u64,
        rss: u64,
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
    /// `dump`: the file written, the range of the mapping it holds, and the pages whose
    /// bytes it does not (holes in the file, reading as zeros).
    Dumped {
        file: String,
        /// Mapping offset of the file's first byte, and the file's length.
        offset: u64,
        len: u64,
        /// Bytes copied from memory, in `pages_written` pages.
        written: u64,
        pages_written: u64,
        /// Untouched private anonymous pages: zeros, left as holes (which read as zeros).
        zero_pages: u64,
        /// Runs of pages (`[first, last]`, mapping page numbers) not read, so as not to fault
        /// them in: nowhere in memory, or (another process) not present. Holes in the file.
        absent: Vec<(u64, u64)>,
        /// Runs of pages whose read failed part-way (EFAULT: past end of file, a protection):
        /// holes from where it stopped.
        unreadable: Vec<(u64, u64)>,
    },
    /// `export`: the file written, its length, and what the picture holds.
    Exported {
        file: String,
        bytes: u64,
        holds: String,
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

pub(crate) fn our_vma(region: &Region) -> Option<Vma> {
    maps::total(&maps::read_vmas(region.addr(), region.addr() + region.map_bytes()).ok()?)
}

/// Our VMA's THPeligible and its huge-page bytes (AnonHugePages + ShmemPmdMapped +
/// FilePmdMapped), 0 when smaps cannot be read.
pub(crate) fn thp_counters(region: &Region) -> (u64, u64) {
    our_vma(region).map_or((0, 0), |v| {
        (
            v.huge.thp_eligible,
            v.huge.anon_huge_pages + v.huge.shmem_pmd_mapped + v.huge.file_pmd_mapped,
        )
    })
}

pub(crate) fn delta(before: Option<&Vma>, after: Option<&Vma>) -> Vec<(SmapsField, i64)> {
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

pub(crate) fn scope_pages(region: &Region, scope: Scope) -> Result<(u64, u64), SysError> {
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
pub(crate) fn range_call(region: &Region, name: &str, flag: &str, scope: Scope) -> String {
    range_call_with(region, name, Some(flag), scope)
}

/// A call on a range of the mapping, with its flags if it takes any, and which range.
pub(crate) fn range_call_with(
    region: &Region,
    name: &str,
    flag: Option<&str>,
    scope: Scope,
) -> String {
    let ps = region.page_size();
    let (first, count) = scope_pages(region, scope).unwrap_or((0, 0));
    let which = match scope {
        Scope::All => "all".to_string(),
        Scope::Page(p) => format!("page {p}"),
    };
    let flag = flag.map(|f| format!(", {f}")).unwrap_or_default();
    format!(
        "{name}(0x{:x}, {}{flag}) [{which}]",
        region.addr() + first * ps,
        count * ps
    )
}

/// Dirty pages of the file's page cache over mapping pages `[first, first + count)`.
pub(crate) fn dirty_pages(region: &Region, first: u64, count: u64) -> Option<u64> {
    let ps = region.page_size();
    region
        .cachestat(region.offset() + first * ps, count * ps)
        .ok()
        .map(|c| c.nr_dirty)
}

/// The padding bytes after end of file in pages `[first, first + count)`, as the mapping shows
/// them now (empty when no such page is in the range, or it is not in our page tables: then
/// we wrote nothing there, and reading it would fault it in).
pub(crate) fn padding_bytes(region: &Region, prober: &Prober, first: u64, count: u64) -> Vec<u8> {
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
pub(crate) fn resident_pages(region: &Region, first: u64, count: u64) -> Option<u64> {
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
pub(crate) fn cacheable_pages(region: &Region, first: u64, count: u64) -> u64 {
    let Ok(g) = region.geometry() else {
        return count;
    };
    let inside = g.data_bytes().div_ceil(g.page_size.max(1));
    (first + count).min(inside).saturating_sub(first)
}

/// Private copies (present, not file pages) over a range, for file mappings; bounded ranges only.
pub(crate) fn private_copies(
    region: &Region,
    prober: &Prober,
    first: u64,
    count: u64,
) -> Option<u64> {
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

pub(crate) fn present_pages(prober: &Prober, region: &Region, first: u64, count: u64) -> Vec<u64> {
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn with_rc(call: String, result: &Result<Done, SysError>) -> String {
    match result {
        Ok(_) => format!("{call} = 0"),
        Err(e) => refused_call(call, e),
    }
}

/// The call as written after a refusal: `= -1 ERRNO`, or, refused by the memory bound
/// before the kernel was asked, `not called`.
pub(crate) fn refused_call(call: String, e: &SysError) -> String {
    if e.forcible {
        format!("{call} not called (over the memory bound)")
    } else {
        format!("{call} = -1 {}", e.name())
    }
}
