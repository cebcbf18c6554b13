//! The report of `inspect` (and later `snapshot` in a batch): the JSON object of
//! schema `mmapscope/1` (docs/json.md lists its fields) and a readable text table of the same facts.
//! `inspect` streams it (`Stream`): the runs go out as the scan finds them, so memory does not
//! grow with the number of runs; `build` holds them all, for a batch's `snapshot`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::Write;
use std::ops::ControlFlow;

use serde::Serialize;
use serde::ser::{Error as _, SerializeSeq as _, SerializeStruct as _, Serializer};

use crate::sys::SysError;
use crate::sys::map::range::Mapped;
use crate::sys::map::request::MapMode;
use crate::sys::probe::prober::Prober;
use crate::sys::probe::state::{PageState, Sources, StateRun, Writes};
use crate::sys::proc::maps::{self, Vma};
use crate::text::{human, kb, thousands};

mod process;
mod recorded;
pub use process::{VmaColumns, inspect_process};
pub use recorded::{record_mapping, replayed, replayed_json};

/// The report (schema `mmapscope/1`): the sys types serialize
/// themselves in the JSON's shape.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    pub schema: &'static str,
    pub file: Option<FileInfo>,
    pub mapping: MappingInfo,
    pub vma: Option<Vma>,
    pub sources: Sources,
    pub pages: Vec<StateRun>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileInfo {
    pub path: String,
    /// `null` for a device such as /dev/zero, which has no size.
    pub size: Option<u64>,
    pub writable: bool,
}

/// What is mapped: a file, or anonymous memory.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MappingKind {
    File,
    Anonymous,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MappingInfo {
    pub kind: MappingKind,
    pub mode: MapMode,
    pub prot: String,
    #[serde(serialize_with = "crate::text::json::addr")]
    pub addr: u64,
    pub offset: u64,
    pub len: u64,
    pub page_size: u64,
    pub pages: u64,
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

/// The summary's counts, added up run by run as the scan goes.
#[derive(Debug, Clone, Copy)]
struct Tally {
    resident: u64,
    present: u64,
    cow: u64,
    beyond_eof: u64,
    /// A total only while every page's answer is known (beyond-EOF pages are never dirty).
    dirty: Option<u64>,
    writeback: Option<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            resident: 0,
            present: 0,
            cow: 0,
            beyond_eof: 0,
            dirty: Some(0),
            writeback: Some(0),
        }
    }
}

impl Tally {
    fn add(&mut self, r: &StateRun) {
        let s = &r.state;
        let n = |yes: Option<bool>| if yes == Some(true) { r.count } else { 0 };
        self.resident += n(s.place.resident);
        self.present += n(s.place.present);
        self.cow += n(s.place.cow);
        self.beyond_eof += if s.geom.beyond_eof { r.count } else { 0 };
        if !s.geom.beyond_eof {
            let known = |total: Option<u64>, v: Option<bool>| {
                total.zip(v).map(|(t, v)| t + if v { r.count } else { 0 })
            };
            self.dirty = known(self.dirty, s.writes.dirty);
            self.writeback = known(self.writeback, s.writes.writeback);
        }
    }

    fn summary(&self, pages: u64, edited: u64) -> Summary {
        Summary {
            pages,
            resident: self.resident,
            present: self.present,
            dirty: self.dirty,
            writeback: self.writeback,
            cow: self.cow,
            edited,
            beyond_eof: self.beyond_eof,
        }
    }
}

/// Everything in a report but its pages and summary: known before the scan. smaps is read
/// once, here: it names the VMA, and (on kernels without PAGEMAP_SCAN) says whether the scan
/// may find anonymous or swapped pages. Probing faults nothing in, or releases what it
/// faulted in, so the counters read here are also those after the scan.
struct Head {
    file: Option<FileInfo>,
    mapping: MappingInfo,
    vma: Option<Vma>,
    sources: Sources,
    anon_pages: bool,
    swap: bool,
}

fn head(region: &dyn Mapped, prober: &Prober) -> Result<Head, SysError> {
    let range = (region.addr(), region.addr() + region.map_bytes());
    let vma = maps::total(&region.vmas(range.0, range.1)?);
    head_with(region, prober, vma)
}

/// `head` with the smaps entry already read (`inspect --vma all` reads smaps once).
fn head_with(region: &dyn Mapped, prober: &Prober, vma: Option<Vma>) -> Result<Head, SysError> {
    let (anon_pages, swap) = vma.as_ref().map_or((true, true), |v| {
        (v.memory.anonymous > 0, v.memory.swap > 0)
    });
    let geometry = region.geometry()?;
    let sources = prober.sources(region);
    let file = region.file_path().map(|path| FileInfo {
        path: path.to_string_lossy().into_owned(),
        // A shmem object's size is not the size of the file named (/dev/zero has none).
        size: geometry.file_size.filter(|_| region.shmem_end().is_none()),
        writable: region.may_write(),
    });
    Ok(Head {
        file,
        mapping: MappingInfo {
            kind: if region.file_path().is_some() {
                MappingKind::File
            } else {
                MappingKind::Anonymous
            },
            mode: region.mode(),
            prot: region.prot().letters(),
            addr: region.addr(),
            offset: region.offset(),
            len: region.len(),
            page_size: region.page_size(),
            pages: region.pages(),
        },
        vma,
        sources,
        anon_pages,
        swap,
    })
}

/// Probes the whole mapping and builds the report.
///
/// # Errors
/// fstat or /proc failures.
pub fn build(region: &dyn Mapped, prober: &Prober, touch: bool) -> Result<Report, SysError> {
    build_with_edits(region, prober, touch, &BTreeSet::new())
}

/// `build`, marking as `edited` the pages in `edited` (written by this tool since the last
/// msync that covered them).
///
/// # Errors
/// fstat or /proc failures.
pub fn build_with_edits(
    region: &dyn Mapped,
    prober: &Prober,
    touch: bool,
    edited: &BTreeSet<u64>,
) -> Result<Report, SysError> {
    let head = head(region, prober)?;
    let mut tally = Tally::default();
    let mut pages = Vec::new();
    prober.scan_with(region, touch, head.anon_pages, head.swap, &mut |run| {
        tally.add(&run);
        pages.push(run);
        ControlFlow::Continue(())
    })?;
    Ok(Report {
        schema: "mmapscope/1",
        file: head.file,
        mapping: head.mapping,
        vma: head.vma,
        sources: head.sources,
        summary: tally.summary(region.pages(), edited.len() as u64),
        pages: mark_edited(pages, edited),
    })
}

/// The report of `inspect`, written out while the mapping is scanned: the same JSON text as
/// `serde_json::to_string_pretty(&build(..))`, or the same table as `to_text(&build(..))`,
/// without ever holding the runs.
pub struct Stream<'a> {
    region: &'a dyn Mapped,
    prober: &'a Prober,
    touch: bool,
    head: Head,
    /// A VMA of another process: its kind and memory columns (`inspect --pid`).
    columns: Option<VmaColumns>,
}

impl<'a> Stream<'a> {
    /// Reads what the report says before its pages (smaps, sources, file size).
    ///
    /// # Errors
    /// fstat or /proc failures.
    pub fn new(region: &'a dyn Mapped, prober: &'a Prober, touch: bool) -> Result<Self, SysError> {
        Ok(Self {
            region,
            prober,
            touch,
            head: head(region, prober)?,
            columns: None,
        })
    }

    /// As `new`, with the mapping's smaps entry already read (`None`: smaps has none).
    ///
    /// # Errors
    /// fstat failures.
    pub fn with_vma(
        region: &'a dyn Mapped,
        prober: &'a Prober,
        touch: bool,
        vma: Option<Vma>,
    ) -> Result<Self, SysError> {
        Ok(Self {
            region,
            prober,
            touch,
            head: head_with(region, prober, vma)?,
            columns: None,
        })
    }

    /// Scans the mapping, handing each run to `each` and returning the summary.
    fn scan(
        &self,
        each: &mut dyn FnMut(&StateRun) -> std::io::Result<()>,
    ) -> std::io::Result<Summary> {
        let mut tally = Tally::default();
        let mut failed = None;
        let h = &self.head;
        self.prober
            .scan_with(self.region, self.touch, h.anon_pages, h.swap, &mut |run| {
                tally.add(&run);
                match each(&run) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failed = Some(e);
                        ControlFlow::Break(())
                    }
                }
            })
            .map_err(std::io::Error::other)?;
        match failed {
            Some(e) => Err(e),
            None => Ok(tally.summary(self.region.pages(), 0)),
        }
    }

    /// Writes the report as pretty JSON and a newline.
    ///
    /// # Errors
    /// A failed write (a closed pipe), or a scan that could not start.
    pub fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let summary = RefCell::new(None);
        let mut chunks = Chunks {
            buf: Vec::with_capacity(2 * CHUNK_BYTES),
            out,
        };
        serde_json::to_writer_pretty(
            &mut chunks,
            &JsonReport {
                stream: self,
                summary: &summary,
            },
        )
        .map_err(std::io::Error::from)?;
        chunks.buf.push(b'\n');
        chunks.flush()
    }

    /// Writes the report as the text table of `to_text`.
    ///
    /// # Errors
    /// A failed write (a closed pipe), or a scan that could not start.
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let h = &self.head;
        let mut text = String::new();
        text_head(
            &mut text,
            h.file.as_ref(),
            &h.mapping,
            h.vma.as_ref(),
            &h.sources,
        );
        out.write_all(text.as_bytes())?;
        let summary = self.scan(&mut |run| {
            let mut row = String::new();
            text_row(&mut row, run);
            out.write_all(row.as_bytes())
        })?;
        let mut tail = String::new();
        text_summary(&mut tail, &summary);
        out.write_all(tail.as_bytes())
    }
}

/// Bytes gathered before they go to the output in one write.
const CHUNK_BYTES: usize = 64 * 1024;

/// A writer that gathers serde's many small writes in a buffer (an inlined copy each) and
/// passes them on in chunks.
struct Chunks<'o> {
    buf: Vec<u8>,
    out: &'o mut dyn Write,
}

impl Write for Chunks<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK_BYTES {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write(bytes).map(|_| ())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

/// The report as serde sees it while streaming: its pages are a sequence serialized as the
/// scan goes, and the summary (after them) is what the scan added up.
struct JsonReport<'s, 'a> {
    stream: &'s Stream<'a>,
    summary: &'s RefCell<Option<Summary>>,
}

struct JsonPages<'s, 'a>(&'s JsonReport<'s, 'a>);

impl Serialize for JsonReport<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let h = &self.stream.head;
        let mut st = serializer.serialize_struct("Report", 12)?;
        st.serialize_field("schema", "mmapscope/1")?;
        st.serialize_field("file", &h.file)?;
        st.serialize_field("mapping", &h.mapping)?;
        st.serialize_field("vma", &h.vma)?;
        if let Some(c) = &self.stream.columns {
            st.serialize_field("kind", c.kind)?;
            st.serialize_field("pss", &c.pss)?;
            st.serialize_field("private", &c.private)?;
            st.serialize_field("shared", &c.shared)?;
            st.serialize_field("swap", &c.swap)?;
        }
        st.serialize_field("sources", &h.sources)?;
        st.serialize_field("pages", &JsonPages(self))?;
        st.serialize_field("summary", &*self.summary.borrow())?;
        st.end()
    }
}

impl Serialize for JsonPages<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut failed = None;
        let summary = self.0.stream.scan(&mut |run| {
            seq.serialize_element(run).map_err(|e| {
                let io = std::io::Error::other(e.to_string());
                failed = Some(e);
                io
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        *self.0.summary.borrow_mut() = Some(summary.map_err(S::Error::custom)?);
        seq.end()
    }
}

/// Splits the runs so that each page in `edited` is in a run marked `edited`, merging
/// neighbours that end up equal.
fn mark_edited(runs: Vec<StateRun>, edited: &BTreeSet<u64>) -> Vec<StateRun> {
    if edited.is_empty() {
        return runs;
    }
    let mut out: Vec<StateRun> = Vec::with_capacity(runs.len() + 2 * edited.len());
    let mut push = |first: u64, count: u64, state: PageState| match out.last_mut() {
        _ if count == 0 => {}
        Some(last) if last.state == state && last.first + last.count == first => {
            last.count += count;
        }
        _ => out.push(StateRun {
            first,
            count,
            state,
        }),
    };
    for run in runs {
        let end = run.first + run.count;
        let mut at = run.first;
        for &page in edited.range(run.first..end) {
            push(at, page - at, run.state);
            push(
                page,
                1,
                PageState {
                    writes: Writes {
                        edited: true,
                        ..run.state.writes
                    },
                    ..run.state
                },
            );
            at = page + 1;
        }
        push(at, end - at, run.state);
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
    let mut out = String::new();
    text_head(
        &mut out,
        r.file.as_ref(),
        &r.mapping,
        r.vma.as_ref(),
        &r.sources,
    );
    for p in &r.pages {
        text_row(&mut out, p);
    }
    text_summary(&mut out, &r.summary);
    out
}

/// The table's lines before its rows: file, mapping, VMA, sources, column titles.
fn text_head(
    out: &mut String,
    file: Option<&FileInfo>,
    m: &MappingInfo,
    vma: Option<&Vma>,
    s: &Sources,
) {
    use std::fmt::Write as _;
    let name = file.map_or_else(
        || "[anonymous]".to_string(),
        |f| crate::text::sanitize(&f.path),
    );
    let size = file.map_or_else(String::new, |f| match f.size {
        Some(s) => format!("  {} B", thousands(s)),
        None => "  (device, no size)".into(),
    });
    let _ = writeln!(
        out,
        "{name}{size}\n{} {}  0x{:x}  offset {}  len {}  {} pages of {}",
        m.mode.flag_name(),
        m.prot,
        m.addr,
        m.offset,
        thousands(m.len),
        thousands(m.pages),
        human(m.page_size)
    );
    if let Some(v) = vma {
        let _ = writeln!(
            out,
            "VMA 0x{:x}-0x{:x} {}  Rss {}  Pss {}  Private_Dirty {}  Shared_Dirty {}  Anonymous {}  VmFlags {}",
            v.head.start,
            v.head.end,
            v.head.perms,
            kb(v.memory.rss),
            kb(v.memory.pss),
            kb(v.memory.private_dirty),
            kb(v.memory.shared_dirty),
            kb(v.memory.anonymous),
            v.vm_flags.join(" ")
        );
    }
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
}

/// One row of the table: a run of pages and its state in words.
fn text_row(out: &mut String, run: &StateRun) {
    use std::fmt::Write as _;
    let p = &run.state;
    let range = if run.count == 1 {
        run.first.to_string()
    } else {
        format!("{}-{}", run.first, run.first + run.count - 1)
    };
    let state = state_words(p);
    let _ = writeln!(
        out,
        "{range:<23} {:>12} {:>6} {:>7}  {state}",
        thousands(run.count),
        p.geom.valid_bytes,
        p.geom.padding_bytes
    );
}

/// A page's state in words. Dirty is the file's page-cache page: over a private copy (cow),
/// which smaps counts as Private_Dirty whatever the file's page is, it says whose state it is
/// (RELRO pages were "cow clean").
fn state_words(p: &PageState) -> String {
    if p.geom.beyond_eof {
        return "beyond EOF (never touched)".to_string();
    }
    let mut words = vec![
        yes_no(p.place.resident, "resident", "not resident"),
        yes_no(p.place.present, "present", "not present"),
    ];
    let copy = p.place.cow == Some(true);
    if copy {
        words.push("cow".into());
    }
    match (p.writes.dirty, copy) {
        (Some(true), true) => words.push("file's page dirty".into()),
        (Some(false), true) => words.push("file's page clean".into()),
        (Some(true), false) => words.push("dirty".into()),
        (Some(false), false) => words.push("clean".into()),
        (None, _) => {}
    }
    if p.writes.writeback == Some(true) {
        words.push("writeback".into());
    }
    if let Some(n) = p.folio.folio_pages {
        words.push(format!("folio {n}p"));
    }
    if p.place.swapped == Some(true) {
        words.push("swapped".into());
    }
    if p.folio.thp == Some(true) {
        words.push("huge (PMD)".into());
    }
    if let Some(n) = p.folio.mapcount.filter(|&n| n > 1) {
        words.push(format!("mapped {n}x"));
    }
    if p.place.shared_with_child == Some(true) {
        words.push("shared with child".into());
    }
    words.join(" ")
}

/// The table's last line.
fn text_summary(out: &mut String, sm: &Summary) {
    use std::fmt::Write as _;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::PageGeom;
    use crate::sys::probe::state::{FolioState, Place};

    fn page(cow: bool, dirty: bool) -> PageState {
        PageState {
            geom: PageGeom {
                valid_bytes: 4096,
                padding_bytes: 0,
                beyond_eof: false,
            },
            place: Place {
                resident: Some(true),
                present: Some(true),
                swapped: Some(false),
                file_backed: Some(!cow),
                exclusive: Some(true),
                shared_with_child: None,
                cow: Some(cow),
            },
            writes: Writes {
                dirty: Some(dirty),
                writeback: Some(false),
                soft_dirty: None,
                edited: false,
            },
            folio: FolioState {
                folio_pages: Some(1),
                mapcount: None,
                thp: None,
                kflags: None,
            },
        }
    }

    /// libc's RELRO pages of a running `sleep` (r--p, smaps Private_Dirty 16 kB, Anonymous
    /// 16 kB) were reported "resident present cow clean": clean is the file's page, not ours.
    #[test]
    fn a_private_copy_is_not_called_clean() {
        let relro = state_words(&page(true, false));
        assert_eq!(relro, "resident present cow file's page clean folio 1p");
        assert_eq!(
            state_words(&page(false, false)),
            "resident present clean folio 1p"
        );
        assert_eq!(
            state_words(&page(false, true)),
            "resident present dirty folio 1p"
        );
        assert_eq!(
            state_words(&page(true, true)),
            "resident present cow file's page dirty folio 1p"
        );
    }
}
