//! `dump`: writes the bytes of a range of the mapping (or VMA) shown to a file, reading each
//! page the way the grid does (`probe::look`): a present page through the mapping, a page of
//! the page cache through a window on it, untouched private anonymous memory as the zeros it
//! is; a page that is nowhere in memory (or, in another process, not present) is not read, so
//! nothing is faulted in. Pages not written are holes in the file (they read as zeros) and are
//! listed in the result. The file is new (`O_CREAT|O_EXCL`), or the very file the write gate
//! looked at when `overwrite` was asked (checked again by its device and inode once open);
//! nothing is ever written through the mapping.

use std::fs::File;
use std::os::unix::fs::{FileExt as _, MetadataExt as _, OpenOptionsExt as _};

use crate::sys::error::SysError;
use crate::sys::map::range::Mapped;
use crate::sys::ops::op::{Dump, DumpWhat, Export, Found};
use crate::sys::ops::outcome::Done;
use crate::sys::probe::look::{self, Facts, How};
use crate::sys::probe::prober::Prober;

/// Pages probed (and read) at a time: 2 MiB of 4 KiB pages, a 4 KiB pagemap read.
const CHUNK_PAGES: u64 = 512;

/// What the session finds at `path`: nothing, or a file, mapped by any of `mapped` (device,
/// inode) or not.
pub fn look_at(path: &std::path::Path, mapped: &[(u64, u64)]) -> Found {
    match std::fs::metadata(path) {
        Err(_) => Found::Nothing,
        Ok(m) => Found::File {
            dev: m.dev(),
            ino: m.ino(),
            regular: m.file_type().is_file(),
            mapped: mapped.contains(&(m.dev(), m.ino())),
        },
    }
}

/// The mapping offsets `[start, end)` a dump takes, cut at end of file.
///
/// # Errors
/// A page or range outside the mapping, or an empty one.
fn range(mapped: &dyn Mapped, what: DumpWhat) -> Result<(u64, u64), SysError> {
    let geometry = mapped.geometry()?;
    let data = geometry.data_bytes();
    let ps = geometry.page_size;
    let (start, end) = match what {
        DumpWhat::Vma => (0, data),
        DumpWhat::Page(n) => (n.saturating_mul(ps), n.saturating_add(1).saturating_mul(ps)),
        DumpWhat::Range { offset, len } => (offset, offset.saturating_add(len)),
    };
    let end = end.min(data);
    if start >= end {
        return Err(SysError::new(
            libc::EINVAL,
            "dump",
            format!(
                "nothing to dump there: the mapping holds 0x{data:x} bytes of data ({} pages)",
                geometry.pages()
            ),
        ));
    }
    Ok((start, end))
}

/// `fault`: faults `[start, end)` in for reading (MADV_POPULATE_READ: file pages are read
/// from disk into the page cache, untouched anonymous memory maps the zero page), within the
/// memory bound; only in the mapping mmapscope made.
fn fault_in(mapped: &dyn Mapped, dump: &Dump, start: u64, end: u64) -> Result<(), SysError> {
    let name = dump.name();
    if !mapped.ours() {
        return Err(SysError::new(
            libc::EPERM,
            name,
            "fault: only in the mapping mmapscope made; faulting pages in here would change \
             what this process has in memory (dump without `fault` writes what is present)",
        ));
    }
    let ps = mapped.page_size();
    let (first, stop) = (start / ps, end.div_ceil(ps));
    let asked = crate::sys::proc::limits::Asked {
        call: &name,
        verb: "fault in",
        line: None,
    };
    let commit = crate::sys::proc::limits::Commit {
        memory: (stop - first) * ps,
        ..Default::default()
    };
    // Not forcible here: a smaller range is the way.
    crate::sys::proc::limits::admit(&asked, commit, false).map_err(|mut e| {
        if e.forcible {
            e.explanation = format!(
                "{}; dump a smaller range with fault, or without fault what is in memory",
                crate::sys::proc::limits::without_hint(&e.explanation)
            );
            e.forcible = false;
        }
        e
    })?;
    mapped.populate_read(first, stop - first)
}

/// Opens the file to write: a new one, or (`overwrite`) the existing one the gate looked at,
/// emptied once it is known to be that one.
fn open(dump: &Dump) -> Result<File, SysError> {
    open_new(&dump.path, dump.found)
}

/// Opens `path` to write: a new file (`O_CREAT|O_EXCL`), or, where the gate looked and found
/// one (and allowed it: `overwrite`), that very file by its device and inode, emptied.
fn open_new(path: &std::path::Path, found: Option<Found>) -> Result<File, SysError> {
    let ctx = format!("open {}", crate::text::echo(&path.to_string_lossy()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY);
    let file = match found {
        Some(Found::File { dev, ino, .. }) => {
            let f = opts.open(path).map_err(|e| SysError::from_io(&e, &ctx))?;
            let m = f.metadata().map_err(|e| SysError::from_io(&e, &ctx))?;
            if (m.dev(), m.ino()) != (dev, ino) || !m.file_type().is_file() {
                return Err(SysError::new(
                    libc::EAGAIN,
                    ctx,
                    "the path names another file than the one looked at a moment ago: nothing \
                     written; try again",
                ));
            }
            f.set_len(0).map_err(|e| SysError::from_io(&e, &ctx))?;
            f
        }
        _ => opts
            .create_new(true)
            .mode(0o644)
            .open(path)
            .map_err(|e| SysError::from_io(&e, &ctx))?,
    };
    Ok(file)
}

/// `export`: writes the picture the session drew (`Export::drawn`) to its file, new or the
/// one the gate allowed; the mapping is not read here at all.
///
/// # Errors
/// Nothing drawn, or the file's open or write failed.
pub fn export(export: &Export) -> Result<Done, SysError> {
    let Some((bytes, holds)) = &export.drawn else {
        return Err(SysError::new(
            libc::EINVAL,
            export.name(),
            "nothing was drawn to export: nothing written",
        ));
    };
    let file = open_new(&export.path, export.found)?;
    let ctx = format!(
        "write {}",
        crate::text::echo(&export.path.to_string_lossy())
    );
    file.write_all_at(bytes, 0)
        .map_err(|e| SysError::from_io(&e, &ctx))?;
    Ok(Done::Exported {
        file: export.path.to_string_lossy().into_owned(),
        bytes: bytes.len() as u64,
        holds: holds.clone(),
    })
}

/// Runs of pages, for the result: `[first, last]` pairs, appended as pages come in order.
fn add_page(runs: &mut Vec<(u64, u64)>, page: u64) {
    match runs.last_mut() {
        Some((_, last)) if *last + 1 == page => *last = page,
        _ => runs.push((page, page)),
    }
}

/// How each page of `[first, first + n)` is read (`look::how`, from pagemap, and for our own
/// mapping cachestat and mincore, as the byte search does).
fn hows(mapped: &dyn Mapped, prober: &Prober, first: u64, n: u64) -> Result<Vec<How>, SysError> {
    let geometry = mapped.geometry()?;
    let mut words = Vec::new();
    let words = prober
        .pagemap_words(mapped, first, n, &mut words)
        .map(|()| words);
    if let Err(e) = &words
        && e.errno == libc::ESRCH
    {
        return Err(e.clone());
    }
    let mut cached = Vec::new();
    let cached = (mapped.ours() && mapped.page_cache_file())
        .then(|| look::cached_pages(mapped, first, n, &mut cached).map(|()| cached))
        .and_then(Result::ok);
    let mut core = Vec::new();
    let core = (mapped.ours() && cached.is_none())
        .then(|| mapped.mincore(first, n, &mut core).map(|()| core))
        .and_then(Result::ok);
    let swap = std::cell::OnceCell::new();
    Ok((0..n as usize)
        .map(|k| {
            let facts = Facts {
                pagemap: words.as_ref().ok().map(|w| w[k]),
                cached: cached.as_ref().map(|c| c[k]),
                resident: core.as_ref().map(|c| c[k] & 1 != 0),
            };
            look::how(mapped, &geometry, first + k as u64, Some(&facts), &swap)
        })
        .collect())
}

/// Writes the dump's bytes; returns what was written and what was left as holes.
///
/// # Errors
/// A range outside the mapping; the file cannot be opened or written; the process exited.
pub fn dump(mapped: &dyn Mapped, prober: &Prober, dump: &Dump) -> Result<Done, SysError> {
    let (start, end) = range(mapped, dump.what)?;
    if dump.fault {
        fault_in(mapped, dump, start, end)?;
    }
    let mut out = Out {
        file: open(dump)?,
        ctx: format!("write {}", crate::text::echo(&dump.path.to_string_lossy())),
        range: (start, end),
        buf: vec![0u8; usize::try_from(mapped.page_size()).unwrap_or(4096)],
        done: Dumped::default(),
    };
    let ps = mapped.page_size();
    let (first, stop) = (start / ps, end.div_ceil(ps));
    // Where a page without a page-table entry holds nothing to read (untouched private
    // anonymous memory of ours is zeros; in another process only present pages are read),
    // one PAGEMAP_SCAN finds the pages that do: a 64 GiB mapping with one page touched is
    // one ioctl, not 16 million pagemap words.
    let sparse = !mapped.page_cache_file()
        && (!mapped.ours() || mapped.mode() == crate::sys::map::request::MapMode::Private);
    let mut page = first;
    while page < stop {
        let mut runs = Vec::new();
        let reached = match sparse.then(|| prober.entry_runs(mapped, page, stop, &mut runs)) {
            Some(Ok(reached)) if reached > page => reached,
            Some(Err(e)) if e.errno == libc::ESRCH => return Err(e),
            // No PAGEMAP_SCAN (or nothing found by it): page by page.
            _ => {
                let n = (stop - page).min(CHUNK_PAGES);
                out.pages(mapped, prober, page, page + n)?;
                page += n;
                continue;
            }
        };
        for (a, b) in runs {
            out.no_entries(mapped, page, a);
            out.pages(mapped, prober, a, b)?;
            page = b;
        }
        out.no_entries(mapped, page, reached);
        page = reached;
    }
    // Holes at the end are part of the range too.
    out.file
        .set_len(end - start)
        .map_err(|e| SysError::from_io(&e, &out.ctx))?;
    Ok(out.done.into_done(dump, start, end - start))
}

/// The file being written, and what went into it.
struct Out {
    file: File,
    /// `write FILE`, for errors.
    ctx: String,
    /// The mapping offsets dumped.
    range: (u64, u64),
    /// A page's bytes.
    buf: Vec<u8>,
    done: Dumped,
}

impl Out {
    /// Pages `[a, b)` without a page-table entry (`sparse` in `dump`): zeros in our private
    /// anonymous memory, not read in another process's.
    fn no_entries(&mut self, mapped: &dyn Mapped, a: u64, b: u64) {
        if mapped.ours() {
            self.done.zero_pages += b.saturating_sub(a);
        } else if a < b {
            match self.done.absent.last_mut() {
                Some((_, last)) if *last + 1 == a => *last = b - 1,
                _ => self.done.absent.push((a, b - 1)),
            }
        }
    }

    /// Pages `[first, end)`, each read as `look::how` says, in chunks; a run of pages read
    /// the same way is one read and one write.
    fn pages(
        &mut self,
        mapped: &dyn Mapped,
        prober: &Prober,
        first: u64,
        end: u64,
    ) -> Result<(), SysError> {
        let mut page = first;
        while page < end {
            let n = (end - page).min(CHUNK_PAGES);
            let hows = hows(mapped, prober, page, n)?;
            let mut k = 0;
            while k < hows.len() {
                let run = hows[k..].iter().take_while(|h| **h == hows[k]).count();
                let p = page + k as u64;
                match hows[k] {
                    // Untouched private anonymous memory is zeros: so is a hole.
                    How::Zeros => self.done.zero_pages += run as u64,
                    How::Unread | How::Skip => {
                        (p..p + run as u64).for_each(|q| add_page(&mut self.done.absent, q));
                    }
                    how => self.copy(mapped, how, p, p + run as u64)?,
                }
                k += run;
            }
            page += n;
        }
        Ok(())
    }

    /// Copies pages `[first, end)`, all read `how`, into the file: in one read where it
    /// reads them all, else (a read that stopped short) page by page from where it stopped.
    fn copy(
        &mut self,
        mapped: &dyn Mapped,
        how: How,
        first: u64,
        end: u64,
    ) -> Result<(), SysError> {
        let ps = mapped.page_size();
        let (start, stop) = self.range;
        let (a, b) = ((first * ps).max(start), (end * ps).min(stop));
        let len = (b - a) as usize;
        self.buf.resize(self.buf.len().max(len), 0);
        let got = look::read(mapped, how, a, &mut self.buf[..len]).unwrap_or(0);
        // A read that stopped short keeps the whole pages before where it stopped.
        let whole = if got == len {
            got
        } else {
            usize::try_from(((a + got as u64) / ps * ps).saturating_sub(a)).unwrap_or(0)
        };
        self.file
            .write_all_at(&self.buf[..whole], a - start)
            .map_err(|e| SysError::from_io(&e, &self.ctx))?;
        self.done.written += whole as u64;
        if whole > 0 {
            self.done.pages += (a + whole as u64 - 1) / ps - a / ps + 1;
        }
        if whole == len {
            return Ok(());
        }
        // Page by page from the page where the read stopped.
        for p in (a + whole as u64) / ps..end {
            let (pa, pb) = ((p * ps).max(start), ((p + 1) * ps).min(stop));
            let plen = (pb - pa) as usize;
            let got = look::read(mapped, how, pa, &mut self.buf[..plen]).unwrap_or(0);
            if got < plen {
                add_page(&mut self.done.unreadable, p);
            }
            self.file
                .write_all_at(&self.buf[..got], pa - start)
                .map_err(|e| SysError::from_io(&e, &self.ctx))?;
            self.done.written += got as u64;
            self.done.pages += u64::from(got > 0);
        }
        Ok(())
    }
}

/// What a dump found, page by page.
#[derive(Default)]
struct Dumped {
    written: u64,
    pages: u64,
    zero_pages: u64,
    absent: Vec<(u64, u64)>,
    unreadable: Vec<(u64, u64)>,
}

impl Dumped {
    fn into_done(self, dump: &Dump, offset: u64, len: u64) -> Done {
        let file = std::path::absolute(&dump.path).unwrap_or_else(|_| dump.path.clone());
        Done::Dumped {
            file: crate::text::sanitize(&file.to_string_lossy()),
            offset,
            len,
            written: self.written,
            pages_written: self.pages,
            zero_pages: self.zero_pages,
            absent: self.absent,
            unreadable: self.unreadable,
        }
    }
}

/// Runs of pages as a person reads them: `3-7, 12`, at most eight, then how many more.
fn runs_text(runs: &[(u64, u64)]) -> String {
    let mut parts: Vec<String> = runs
        .iter()
        .take(8)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if runs.len() > 8 {
        parts.push(format!("and {} more runs", runs.len() - 8));
    }
    parts.join(", ")
}

/// The sentences of a dump's result: what was written, and every page left as a hole.
/// `ours`: the mapping mmapscope made (else a VMA only looked at, whose pages are read only
/// where present).
pub fn notes(done: &Done, ours: bool) -> Vec<String> {
    let Done::Dumped {
        file,
        offset,
        len,
        written,
        pages_written,
        zero_pages,
        absent,
        unreadable,
    } = done
    else {
        return Vec::new();
    };
    let mut out = vec![format!(
        "{file}: {} bytes, mapping offset 0x{offset:x} to 0x{:x}; {} bytes from \
         {pages_written} page(s) in memory",
        crate::text::thousands(*len),
        offset + len,
        crate::text::thousands(*written)
    )];
    if *zero_pages > 0 {
        out.push(format!(
            "{zero_pages} untouched anonymous page(s) left as holes: they are zeros, as the \
             holes read"
        ));
    }
    if !absent.is_empty() && ours {
        out.push(format!(
            "pages {} not read (not in memory; reading would fault them in): holes in the \
             file, reading as zeros; `fault` after the file name brings them in first",
            runs_text(absent)
        ));
    } else if !absent.is_empty() {
        out.push(format!(
            "pages {} not read (not present in the process: reading would fault them in \
             there): holes in the file, reading as zeros",
            runs_text(absent)
        ));
    }
    if !unreadable.is_empty() {
        out.push(format!(
            "pages {} could be read only in part: holes from where the read stopped",
            runs_text(unreadable)
        ));
    }
    out
}
