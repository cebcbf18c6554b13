//! Reports and recordings: a mapping recorded as `inspect` would report it (what a recording's
//! frame keeps of it), and a recorded mapping turned back into `inspect`'s report, so that
//! `replay --json` prints the JSON `inspect` printed at that moment.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use super::{FileInfo, MappingInfo, MappingKind, Report, Tally, head_with, mark_edited};
use crate::record::{Frame, Header, RecordedFile, RecordedMapping, Subject};
use crate::sys::SysError;
use crate::sys::map::range::Mapped;
use crate::sys::map::request::MapMode;
use crate::sys::probe::prober::Prober;
use crate::sys::proc::maps::{self, Vma};

/// Probes the whole mapping (nothing faulted in) as `inspect` does, with its smaps entry
/// already read (`vma`), the pages in `edited` marked as written by this tool (as `snapshot`
/// marks them), and keeps what a frame records of it.
///
/// # Errors
/// fstat or /proc failures.
pub fn record_mapping(
    region: &dyn Mapped,
    prober: &Prober,
    vma: Option<Vma>,
    edited: &BTreeSet<u64>,
) -> Result<RecordedMapping, SysError> {
    let head = head_with(region, prober, vma)?;
    let mut runs = Vec::new();
    prober.scan_with(region, false, head.anon_pages, head.swap, &mut |run| {
        runs.push(run);
        ControlFlow::Continue(())
    })?;
    let m = head.mapping;
    Ok(RecordedMapping {
        addr: m.addr,
        len: m.len,
        offset: m.offset,
        mode: mode_word(m.mode).into(),
        prot: m.prot,
        file: head.file.map(|f| RecordedFile {
            path: f.path,
            size: f.size,
            writable: f.writable,
        }),
        sources: head.sources,
        runs: mark_edited(runs, edited),
    })
}

/// `inspect`'s report of a recorded mapping: its smaps entry is the total of the `smaps`
/// entries it overlaps (as `inspect` reads them), its summary added up from its runs.
pub fn replayed(m: &RecordedMapping, smaps: &[Vma], page_size: u64) -> Report {
    let end = m.addr + m.len.div_ceil(page_size.max(1)) * page_size;
    let overlapping: Vec<Vma> = smaps
        .iter()
        .filter(|v| v.head.start < end && v.head.end > m.addr)
        .cloned()
        .collect();
    let mut tally = Tally::default();
    for run in &m.runs {
        tally.add(run);
    }
    let pages = m.len.div_ceil(page_size.max(1));
    let edited = m
        .runs
        .iter()
        .filter(|r| r.state.writes.edited)
        .map(|r| r.count)
        .sum();
    Report {
        schema: "mmapscope/1",
        file: m.file.as_ref().map(|f| FileInfo {
            path: f.path.clone(),
            size: f.size,
            writable: f.writable,
        }),
        mapping: MappingInfo {
            kind: if m.file.is_some() {
                MappingKind::File
            } else {
                MappingKind::Anonymous
            },
            mode: if m.mode == mode_word(MapMode::Shared) {
                MapMode::Shared
            } else {
                MapMode::Private
            },
            prot: m.prot.clone(),
            addr: m.addr,
            offset: m.offset,
            len: m.len,
            page_size,
            pages,
        },
        vma: maps::total(&overlapping),
        sources: m.sources.clone(),
        pages: m.runs.clone(),
        summary: tally.summary(pages, edited),
    }
}

/// How a mode is recorded: `shared` or `private`, as in the report.
fn mode_word(mode: MapMode) -> &'static str {
    match mode {
        MapMode::Shared => "shared",
        MapMode::Private => "private",
    }
}

/// A frame as `inspect --json` printed it: one recorded mapping's report (a file, anonymous
/// memory, one VMA of a process); every VMA of a process as `{"schema", "pid", "comm", "vmas":
/// [report, ...]}`. A recording keeps no thread stacks, so the totals and each VMA's kind and
/// columns of `inspect --pid --vma all` are left out.
pub fn replayed_json(header: &Header, frame: &Frame) -> String {
    let reports: Vec<Report> = frame
        .mappings
        .iter()
        .map(|m| replayed(m, &frame.smaps, header.page_size))
        .collect();
    let text = match (&header.subject, reports.as_slice()) {
        (Subject::Process { vma, .. }, [one]) if vma != "all" => serde_json::to_string_pretty(one),
        (Subject::Process { pid, comm, .. }, _) => serde_json::to_string_pretty(&Every {
            schema: "mmapscope/1",
            pid: *pid,
            comm,
            vmas: &reports,
        }),
        (_, [one]) => serde_json::to_string_pretty(one),
        (_, _) => serde_json::to_string_pretty(&reports),
    };
    // Serializing plain data into a string cannot fail.
    let mut text = text.unwrap_or_default();
    text.push('\n');
    text
}

/// Every VMA of a process, as `inspect --pid --vma all` prints them (less the totals).
#[derive(serde::Serialize)]
struct Every<'a> {
    schema: &'static str,
    pid: u32,
    comm: &'a str,
    vmas: &'a [Report],
}
