//! The report of `inspect` (and later `snapshot` in a batch): the JSON object of
//! `shared/design.md` (schema `mmapscope/1`) and a readable text table of the same facts.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::sys::SysError;
use crate::sys::probe::{Prober, StateRun};
use crate::sys::procmaps::{self, Vma};
use crate::sys::region::{Region, Target};
use crate::text::{human, kb, thousands};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    pub schema: &'static str,
    pub file: Option<FileInfo>,
    pub mapping: MappingInfo,
    pub vma: Option<VmaInfo>,
    pub sources: SourcesInfo,
    pub pages: Vec<PageRun>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileInfo {
    pub path: String,
    /// `null` for a device such as /dev/zero, which has no size.
    pub size: Option<u64>,
    pub writable: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MappingInfo {
    pub kind: &'static str,
    pub mode: &'static str,
    pub prot: String,
    pub addr: String,
    pub offset: u64,
    pub len: u64,
    pub page_size: u64,
    pub pages: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VmaInfo {
    pub start: String,
    pub end: String,
    pub perms: String,
    pub path: String,
    pub rss: u64,
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub anonymous: u64,
    pub referenced: u64,
    pub swap: u64,
    pub locked: u64,
    pub vm_flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourcesInfo {
    pub mincore: String,
    pub pagemap: String,
    pub pfn: String,
    pub kpageflags: String,
    pub cachestat: String,
    pub soft_dirty: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PageRun {
    pub first: u64,
    pub count: u64,
    pub valid_bytes: u64,
    pub padding_bytes: u64,
    pub beyond_eof: bool,
    pub resident: Option<bool>,
    pub present: Option<bool>,
    pub swapped: Option<bool>,
    pub file_backed: Option<bool>,
    pub exclusive: Option<bool>,
    pub cow: Option<bool>,
    pub dirty: Option<bool>,
    pub writeback: Option<bool>,
    pub soft_dirty: Option<bool>,
    pub edited: bool,
    pub folio_pages: Option<u64>,
    pub kflags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub pages: u64,
    pub resident: u64,
    pub present: u64,
    pub dirty: Option<u64>,
    pub writeback: Option<u64>,
    pub cow: u64,
    pub edited: u64,
    pub beyond_eof: u64,
}

fn vma_info(v: &Vma) -> VmaInfo {
    VmaInfo {
        start: format!("0x{:x}", v.start),
        end: format!("0x{:x}", v.end),
        perms: v.perms.clone(),
        path: v.path.clone(),
        rss: v.rss,
        pss: v.pss,
        shared_clean: v.shared_clean,
        shared_dirty: v.shared_dirty,
        private_clean: v.private_clean,
        private_dirty: v.private_dirty,
        anonymous: v.anonymous,
        referenced: v.referenced,
        swap: v.swap,
        locked: v.locked,
        vm_flags: v.vm_flags.clone(),
    }
}

fn page_run(run: &StateRun) -> PageRun {
    let s = &run.state;
    PageRun {
        first: run.first,
        count: run.count,
        valid_bytes: s.geom.valid_bytes,
        padding_bytes: s.geom.padding_bytes,
        beyond_eof: s.geom.beyond_eof,
        resident: s.resident,
        present: s.present,
        swapped: s.swapped,
        file_backed: s.file_backed,
        exclusive: s.exclusive,
        cow: s.cow,
        dirty: s.dirty,
        writeback: s.writeback,
        soft_dirty: s.soft_dirty,
        edited: false,
        folio_pages: s.folio_pages,
        kflags: s.kflags.map(crate::sys::probe::kflag_names),
    }
}

fn summary(pages: u64, runs: &[StateRun]) -> Summary {
    let count = |f: &dyn Fn(&StateRun) -> bool| runs.iter().filter(|r| f(r)).map(|r| r.count).sum();
    // A total only when every page's answer is known (beyond-EOF pages are never dirty).
    let known = |f: &dyn Fn(&StateRun) -> Option<bool>| {
        runs.iter()
            .filter(|r| !r.state.geom.beyond_eof)
            .try_fold(0, |n, r| f(r).map(|d| n + if d { r.count } else { 0 }))
    };
    Summary {
        pages,
        resident: count(&|r| r.state.resident == Some(true)),
        present: count(&|r| r.state.present == Some(true)),
        dirty: known(&|r| r.state.dirty),
        writeback: known(&|r| r.state.writeback),
        cow: count(&|r| r.state.cow == Some(true)),
        edited: 0,
        beyond_eof: count(&|r| r.state.geom.beyond_eof),
    }
}

/// Probes the whole mapping and builds the report.
///
/// # Errors
/// fstat or /proc failures.
pub fn build(region: &Region, prober: &Prober, touch: bool) -> Result<Report, SysError> {
    build_with_edits(region, prober, touch, &BTreeSet::new())
}

/// `build`, marking as `edited` the pages in `edited` (written by this tool since the last
/// msync that covered them).
///
/// # Errors
/// fstat or /proc failures.
pub fn build_with_edits(
    region: &Region,
    prober: &Prober,
    touch: bool,
    edited: &BTreeSet<u64>,
) -> Result<Report, SysError> {
    let range = (region.addr(), region.addr() + region.map_bytes());
    let before = procmaps::total(&procmaps::read_vmas(range.0, range.1)?);
    let (anon_pages, swap) = before
        .as_ref()
        .map_or((true, true), |v| (v.anonymous > 0, v.swap > 0));
    let runs = prober.scan(region, touch, anon_pages, swap)?;
    let vma = procmaps::total(&procmaps::read_vmas(range.0, range.1)?);
    let geometry = region.geometry()?;
    let sources = prober.sources(region);
    let file = match region.target() {
        Target::Anon => None,
        Target::File { path, .. } => Some(FileInfo {
            path: path.to_string_lossy().into_owned(),
            size: geometry.file_size,
            writable: region.may_write(),
        }),
    };
    Ok(Report {
        schema: "mmapscope/1",
        file,
        mapping: MappingInfo {
            kind: if matches!(region.target(), Target::Anon) {
                "anonymous"
            } else {
                "file"
            },
            mode: region.mode().as_str(),
            prot: region.prot().letters(),
            addr: format!("0x{:x}", region.addr()),
            offset: region.offset(),
            len: region.len(),
            page_size: region.page_size(),
            pages: region.pages(),
        },
        vma: vma.as_ref().map(vma_info),
        sources: SourcesInfo {
            mincore: sources.mincore,
            pagemap: sources.pagemap,
            pfn: sources.pfn,
            kpageflags: sources.kpageflags,
            cachestat: sources.cachestat,
            soft_dirty: sources.soft_dirty,
        },
        summary: Summary {
            edited: edited.len() as u64,
            ..summary(region.pages(), &runs)
        },
        pages: mark_edited(runs.iter().map(page_run).collect(), edited),
    })
}

/// Splits the runs so that each page in `edited` is in a run with `edited: true`, merging
/// neighbours that end up equal.
fn mark_edited(runs: Vec<PageRun>, edited: &BTreeSet<u64>) -> Vec<PageRun> {
    if edited.is_empty() {
        return runs;
    }
    let mut out: Vec<PageRun> = Vec::with_capacity(runs.len() + 2 * edited.len());
    let mut push = |run: PageRun| {
        if let Some(last) = out.last_mut() {
            let mut probe = run.clone();
            probe.first = last.first;
            probe.count = last.count;
            if *last == probe && last.first + last.count == run.first {
                last.count += run.count;
                return;
            }
        }
        out.push(run);
    };
    for run in runs {
        let end = run.first + run.count;
        let mut at = run.first;
        for &page in edited.range(run.first..end) {
            if page > at {
                push(PageRun {
                    first: at,
                    count: page - at,
                    ..run.clone()
                });
            }
            push(PageRun {
                first: page,
                count: 1,
                edited: true,
                ..run.clone()
            });
            at = page + 1;
        }
        if at < end {
            push(PageRun {
                first: at,
                count: end - at,
                ..run.clone()
            });
        }
    }
    out
}

fn yes_no(v: Option<bool>, yes: &str, no: &str) -> String {
    match v {
        Some(true) => yes.into(),
        Some(false) => no.into(),
        None => format!("{yes} n/a"),
    }
}

/// The report as a readable text table (control characters in paths escaped).
pub fn to_text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let name = r.file.as_ref().map_or_else(
        || "[anonymous]".to_string(),
        |f| crate::text::sanitize(&f.path),
    );
    let size = r.file.as_ref().map_or_else(String::new, |f| match f.size {
        Some(s) => format!("  {} B", thousands(s)),
        None => "  (device, no size)".into(),
    });
    let m = &r.mapping;
    let _ = writeln!(
        out,
        "{name}{size}\n{} {}  {}  offset {}  len {}  {} pages of {}",
        if m.mode == "shared" {
            "MAP_SHARED"
        } else {
            "MAP_PRIVATE"
        },
        m.prot,
        m.addr,
        m.offset,
        thousands(m.len),
        thousands(m.pages),
        human(m.page_size)
    );
    if let Some(v) = &r.vma {
        let _ = writeln!(
            out,
            "VMA {}-{} {}  Rss {}  Pss {}  Private_Dirty {}  Shared_Dirty {}  Anonymous {}  VmFlags {}",
            v.start,
            v.end,
            v.perms,
            kb(v.rss),
            kb(v.pss),
            kb(v.private_dirty),
            kb(v.shared_dirty),
            kb(v.anonymous),
            v.vm_flags.join(" ")
        );
    }
    let s = &r.sources;
    let _ = writeln!(
        out,
        "sources: mincore {}; pagemap {}; pfn {}; kpageflags {}; cachestat {}; soft-dirty {}",
        s.mincore, s.pagemap, s.pfn, s.kpageflags, s.cachestat, s.soft_dirty
    );
    let _ = writeln!(
        out,
        "\n{:<23} {:>12} {:>6} {:>7}  state",
        "pages", "count", "data", "padding"
    );
    for p in &r.pages {
        let range = if p.count == 1 {
            p.first.to_string()
        } else {
            format!("{}-{}", p.first, p.first + p.count - 1)
        };
        let state = if p.beyond_eof {
            "beyond EOF (never touched)".to_string()
        } else {
            let mut words = vec![
                yes_no(p.resident, "resident", "not resident"),
                yes_no(p.present, "present", "not present"),
            ];
            if p.cow == Some(true) {
                words.push("cow".into());
            }
            match p.dirty {
                Some(true) => words.push("dirty".into()),
                Some(false) => words.push("clean".into()),
                None => {}
            }
            if p.writeback == Some(true) {
                words.push("writeback".into());
            }
            if let Some(n) = p.folio_pages {
                words.push(format!("folio {n}p"));
            }
            if p.swapped == Some(true) {
                words.push("swapped".into());
            }
            words.join(" ")
        };
        let _ = writeln!(
            out,
            "{range:<23} {:>12} {:>6} {:>7}  {state}",
            thousands(p.count),
            p.valid_bytes,
            p.padding_bytes
        );
    }
    let sm = &r.summary;
    let _ = writeln!(
        out,
        "\nsummary: {} pages, {} resident, {} present, {} dirty, {} cow, {} beyond EOF",
        thousands(sm.pages),
        thousands(sm.resident),
        thousands(sm.present),
        sm.dirty.map_or_else(|| "n/a".to_string(), thousands),
        thousands(sm.cow),
        thousands(sm.beyond_eof)
    );
    out
}
