//! `inspect --pid`: the report of one VMA of another process, or of every VMA with the
//! process's totals (by kind and by backing) and each VMA's kind and memory columns.

use std::io::Write;

use serde::Serialize;

use super::{Stream, human};
use crate::sys::SysError;
use crate::sys::probe::prober::Prober;
use crate::sys::proc::maps::{self, Vma};

/// What `inspect --pid` adds to each VMA's report: its kind and its smaps memory in the
/// address-space view's columns (bytes).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct VmaColumns {
    pub kind: &'static str,
    pub pss: u64,
    pub private: u64,
    pub shared: u64,
    pub swap: u64,
}

impl VmaColumns {
    fn of(v: &crate::sys::proc::process::VmaSummary) -> Option<Self> {
        v.mem.map(|m| Self {
            kind: v.kind.json_word(),
            pss: m.pss,
            private: m.private,
            shared: m.shared,
            swap: m.swap,
        })
    }
}

/// `inspect --pid PID [--vma SPEC|all]`: the report of one VMA of another process (the
/// same schema as a file's), or of every VMA (`all`, the default) as one JSON object
/// `{"schema", "pid", "comm", "vmas": [report, ...]}` or one table after another. smaps is
/// read once for all of them; each report goes out as its VMA is scanned.
///
/// # Errors
/// No such process, no VMA for `spec`, no permission (the reason in words), or a failed
/// write (as `SysError` with EPIPE for a closed pipe).
pub fn inspect_process(
    pid: u32,
    spec: Option<&str>,
    json: bool,
    page_flags: bool,
    out: &mut dyn Write,
) -> Result<(), SysError> {
    use crate::sys::attach::foreign::VmaView;
    use crate::sys::attach::handle::ProcessHandle;
    use crate::sys::proc::process;
    // One handle: every file of the process opened once, so a pid reused meanwhile is never
    // read; `mem` is not needed (no bytes are read), so its refusal does not stop a report.
    let handle = std::sync::Arc::new(ProcessHandle::open(pid, false)?);
    let info = handle.info().clone();
    let maps = handle.maps()?;
    let io = |e: std::io::Error| SysError::from_io(&e, "write the report");
    let all = matches!(spec, None | Some("all"));
    let prober = Prober::new().for_handle(&handle)?;
    // Every VMA: kpageflags and kpagecount only when asked (see `without_page_flags`).
    let prober = if all && !page_flags {
        prober.without_page_flags()
    } else {
        prober
    };
    let lines: Vec<&maps::MapsLine> = match spec {
        Some(spec) if !all => vec![
            process::resolve_vma(&maps, spec)
                .map_err(|why| SysError::new(libc::ENOENT, "--vma", why))?,
        ],
        _ => maps.iter().collect(),
    };
    let (smaps, summaries, note) = if all {
        every_vma(&handle, &maps)?
    } else {
        (Vec::new(), Vec::new(), None)
    };
    // One write a chunk (the caller buffers), not one a VMA.
    let out = &mut NoFlush(out);
    if all && json {
        json_head(out, pid, &info.comm, &summaries, note.as_ref()).map_err(io)?;
    }
    // Both in address order: each VMA's counters are found by walking once.
    let mut counters = smaps.iter().peekable();
    for (i, line) in lines.iter().enumerate() {
        let view = VmaView::open(&handle, line, false);
        let mut stream = if all {
            while counters.next_if(|v| v.head.start < line.start).is_some() {}
            let vma = counters.next_if(|v| v.head.start == line.start).cloned();
            Stream::with_vma(&view, &prober, false, vma)?
        } else {
            Stream::new(&view, &prober, false)?
        };
        stream.columns = summaries.get(i).and_then(VmaColumns::of);
        if json {
            if all && i > 0 {
                out.write_all(b",\n").map_err(io)?;
            }
            stream.write_json(out).map_err(io)?;
        } else {
            if all {
                let title = text_title(pid, &info.comm, line, summaries.get(i));
                out.write_all(title.as_bytes()).map_err(io)?;
            }
            stream.write_text(out).map_err(io)?;
        }
    }
    if all && json {
        out.write_all(b"  ]\n}\n").map_err(io)?;
    } else if all {
        out.write_all(text_totals(&summaries, note.as_deref()).as_bytes())
            .map_err(io)?;
    }
    out.0.flush().map_err(io)
}

/// The last lines of `inspect --pid` text for every VMA: the totals by kind and by backing.
fn text_totals(summaries: &[crate::sys::proc::process::VmaSummary], note: Option<&str>) -> String {
    let t = crate::sys::proc::rss::totals(summaries);
    let kinds: Vec<String> = t
        .by_kind
        .named()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {}", human(*n)))
        .collect();
    let b = &t.by_backing;
    format!(
        "\n== totals: Rss {}, Pss {}, USS (private) {}, shared {}, swap {}, huge {}\n\
         by kind: {}\nby backing: file {}, anonymous {}, shmem {}\n{}",
        human(t.rss),
        human(t.pss),
        human(t.private),
        human(t.shared),
        human(t.swap),
        human(t.anon_huge),
        kinds.join(", "),
        human(b.file),
        human(b.anon),
        human(b.shmem),
        note.map_or_else(String::new, |n| format!("{}\n", crate::text::sanitize(n)))
    )
}

/// Every VMA's smaps entry (read once), the VMAs in the view's columns with their kinds, and
/// what could not be found (thread stacks).
///
/// # Errors
/// smaps unreadable.
#[allow(clippy::type_complexity)]
fn every_vma(
    handle: &crate::sys::attach::handle::ProcessHandle,
    maps: &[maps::MapsLine],
) -> Result<
    (
        Vec<Vma>,
        Vec<crate::sys::proc::process::VmaSummary>,
        Option<String>,
    ),
    SysError,
> {
    let smaps = handle.vmas(0, u64::MAX)?;
    let (summaries, note) = handle.labelled(crate::sys::proc::process::summaries(
        maps.to_vec(),
        &smaps,
        &handle.exe(),
        None,
    ));
    Ok((smaps, summaries, note))
}

/// The head of `inspect --pid --json` for every VMA: the process, and the totals of its
/// VMAs (`note`: the thread stacks that could not be found), before the reports.
fn json_head(
    out: &mut dyn Write,
    pid: u32,
    comm: &str,
    summaries: &[crate::sys::proc::process::VmaSummary],
    note: Option<&String>,
) -> std::io::Result<()> {
    let totals = crate::sys::proc::rss::totals(summaries);
    let totals = serde_json::to_string_pretty(&totals)
        .unwrap_or_default()
        .replace('\n', "\n  ");
    write!(
        out,
        "{{\n  \"schema\": \"mmapscope/1\",\n  \"pid\": {pid},\n  \"comm\": {},\n  \"totals\": \
         {totals},\n  \"totals_note\": {},\n  \"vmas\": [\n",
        serde_json::to_string(comm).unwrap_or_default(),
        serde_json::to_string(&note).unwrap_or_default()
    )
}

/// The line before each VMA's table in `inspect --pid` text: the process, the VMA, its kind.
fn text_title(
    pid: u32,
    comm: &str,
    line: &maps::MapsLine,
    summary: Option<&crate::sys::proc::process::VmaSummary>,
) -> String {
    let kind = summary.map_or_else(String::new, |v| {
        let label = v
            .label
            .as_ref()
            .map_or_else(String::new, |l| format!(": {}", crate::text::sanitize(l)));
        format!("  ({}{label})", v.kind.word())
    });
    format!(
        "== pid {pid} {}: {:x}-{:x} {} {}{kind}\n",
        crate::text::sanitize(comm),
        line.start,
        line.end,
        line.perms,
        crate::text::sanitize(&line.path)
    )
}

/// A writer whose flush waits for the writer under it to be flushed by its owner: each
/// report's last chunk goes into the buffer, not out in a write of its own.
struct NoFlush<'w, W: Write + ?Sized>(&'w mut W);

impl<W: Write + ?Sized> Write for NoFlush<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
