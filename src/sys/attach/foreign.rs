//! A VMA we explore without having made it: the heap, the stack, a library, another
//! process's file mapping. It is looked at through its process's handle (`handle`, opened
//! once): bytes through `/proc/PID/mem`, page tables with `/proc/PID/pagemap`, the file's
//! page cache with cachestat on the file the VMA maps (opened through
//! `/proc/PID/map_files/`, else by its path once device and inode match maps; never
//! blocking, classified on the descriptor), mincore in our own address space only. It is
//! read-only unless `--write`, and then only in another process (a store at an arbitrary
//! address of ours could change memory Rust owns), only where that process could write, and
//! all or nothing.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::mm::Advice;

use crate::geometry::Geometry;

use crate::sys::attach::handle::ProcessHandle;
use crate::sys::error::SysError;
use crate::sys::map::range::Mapped;
use crate::sys::map::region::{CacheStat, cachestat};
use crate::sys::map::request::{FileKind, MapMode, Prot, page_size};
use crate::sys::proc::maps::{MapsLine, Pid, Vma};
use crate::sys::raw;

/// A VMA of a process, as it was when we opened it.
#[derive(Debug)]
pub struct VmaView {
    handle: Arc<ProcessHandle>,
    line: MapsLine,
    file: Option<(File, FileKind)>,
    /// Why there is no file to ask cachestat, when the VMA maps one.
    file_note: Option<String>,
    may_write: bool,
    write: bool,
    page_size: u64,
}

/// How a VMA we explore fares in the process's maps now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmaFate {
    Same,
    /// Grown or shrunk (mremap, brk, the stack), or split: the line that holds its start now.
    Changed(MapsLine),
    Gone,
}

impl VmaView {
    /// The VMA of `line` in the process `handle` holds; `write`: the user allowed writes
    /// (`--write`; never in our own process).
    pub fn open(handle: &Arc<ProcessHandle>, line: &MapsLine, write: bool) -> Self {
        let (file, file_note) = if line.inode != 0 && line.path.starts_with('/') {
            match handle.open_mapped(line) {
                Ok(f) => (Some(f), None),
                Err(why) => (None, Some(why)),
            }
        } else {
            (None, None)
        };
        let may_write = file.as_ref().is_none_or(|(f, _)| {
            use std::os::fd::AsRawFd as _;
            let link = format!("/proc/self/fd/{}", f.as_raw_fd());
            rustix::fs::access(link.as_str(), rustix::fs::Access::WRITE_OK).is_ok()
        });
        Self {
            handle: Arc::clone(handle),
            line: line.clone(),
            file,
            file_note,
            may_write,
            write: write && handle.writable(),
            page_size: page_size(),
        }
    }

    /// How its bytes are read.
    pub fn bytes_via(&self) -> &'static str {
        "/proc/PID/mem"
    }

    /// The handle on its process.
    pub fn handle(&self) -> &Arc<ProcessHandle> {
        &self.handle
    }

    /// The maps line it was opened from.
    pub fn line(&self) -> &MapsLine {
        &self.line
    }

    /// The process's number.
    pub(crate) fn pid_number(&self) -> u32 {
        self.handle.pid()
    }

    /// Why cachestat has no file to ask, when the VMA maps one.
    #[cfg(test)]
    pub(crate) fn file_note(&self) -> Option<&str> {
        self.file_note.as_deref()
    }

    /// Where this VMA is in `maps`.
    pub fn fate(&self, maps: &[MapsLine]) -> VmaFate {
        self.fate_of(
            maps.iter()
                .find(|l| (l.start..l.end).contains(&self.line.start)),
        )
    }

    /// Where this VMA is now, asked with PROCMAP_QUERY through the handle: `None` where the
    /// kernel cannot say (before Linux 6.11: read the maps text) or the process is gone.
    pub fn fate_now(&self) -> Option<VmaFate> {
        let now = self.handle.query(self.line.start, false).ok()?;
        Some(self.fate_of(now.as_ref()))
    }

    fn fate_of(&self, now: Option<&MapsLine>) -> VmaFate {
        match now {
            None => VmaFate::Gone,
            Some(l) if l.start == self.line.start && l.end == self.line.end => VmaFate::Same,
            Some(l) => VmaFate::Changed(l.clone()),
        }
    }

    fn refuse_write(&self, off: u64, len: usize) -> Result<(), SysError> {
        let ctx = format!("write at 0x{:x}", self.line.start.saturating_add(off));
        if self.handle.which() == Pid::Myself {
            return Err(SysError::new(
                libc::EPERM,
                ctx,
                "mmapscope never writes into its own process outside the mapping it made: that \
                 memory belongs to the program itself",
            ));
        }
        if !self.write {
            return Err(SysError::new(
                libc::EACCES,
                ctx,
                "exploring is read-only: start with --write to write into another process \
                 (each write is confirmed first)",
            ));
        }
        if off
            .checked_add(len as u64)
            .is_none_or(|e| e > self.map_bytes())
        {
            return Err(SysError::new(libc::EINVAL, ctx, "outside the VMA"));
        }
        Ok(())
    }

    /// Whether `len` bytes at offset `off` could be written now, without writing: `--write`,
    /// another process still there, and every byte in a VMA it may write itself.
    ///
    /// # Errors
    /// EPERM in our own process; EACCES without `--write` or where the process may not
    /// write; ESRCH once it exited or called exec.
    pub fn check_write(&self, off: u64, len: u64) -> Result<(), SysError> {
        self.refuse_write(off, usize::try_from(len).unwrap_or(usize::MAX))?;
        if self.handle.status().is_some() {
            return Err(self
                .handle
                .gone_error(format!("write at 0x{:x}", self.line.start + off)));
        }
        self.handle.check_write(self.line.start + off, len)
    }

    /// Writes `data` at offset `off` through the process's `mem`: only with `--write`, only
    /// in another process that is still the one attached to, only where it could write
    /// itself, and all or nothing. Returns the bytes that were there.
    ///
    /// # Errors
    /// As `check_write`, or the kernel's refusal; nothing is written then.
    pub(crate) fn write(&self, off: u64, data: &[u8]) -> Result<Vec<u8>, SysError> {
        self.refuse_write(off, data.len())?;
        self.handle.write(self.line.start + off, data)
    }
}

impl Mapped for VmaView {
    fn pid(&self) -> Pid {
        self.handle.which()
    }
    fn addr(&self) -> u64 {
        self.line.start
    }
    fn len(&self) -> u64 {
        self.line.end - self.line.start
    }
    fn page_size(&self) -> u64 {
        self.page_size
    }
    fn offset(&self) -> u64 {
        if self.file.is_some() {
            self.line.offset
        } else {
            0
        }
    }
    fn mode(&self) -> MapMode {
        if self.line.perms.ends_with('s') {
            MapMode::Shared
        } else {
            MapMode::Private
        }
    }
    fn prot(&self) -> Prot {
        let p = self.line.perms.as_bytes();
        Prot {
            read: p.first() == Some(&b'r'),
            write: p.get(1) == Some(&b'w'),
            exec: p.get(2) == Some(&b'x'),
        }
    }
    fn geometry(&self) -> Result<Geometry, SysError> {
        let file_size = match &self.file {
            Some((f, kind)) if kind.has_size() => Some(
                f.metadata()
                    .map_err(|e| SysError::from_io(&e, "fstat the mapped file"))?
                    .size(),
            ),
            _ => None,
        };
        Ok(Geometry {
            page_size: self.page_size,
            offset: self.offset(),
            len: self.len(),
            file_size,
        })
    }
    fn file_path(&self) -> Option<&Path> {
        (self.line.inode != 0 && self.line.path.starts_with('/'))
            .then(|| Path::new(&self.line.path))
    }
    fn file_kind(&self) -> Option<FileKind> {
        self.file.as_ref().map(|(_, k)| *k)
    }
    fn may_write(&self) -> bool {
        self.may_write
    }
    fn write_allowed(&self) -> bool {
        self.write && self.handle.gone().is_none()
    }
    // f_type's width differs between architectures: the conversion is needed elsewhere.
    #[allow(clippy::useless_conversion)]
    fn always_dirty(&self) -> bool {
        self.file.as_ref().is_some_and(|(f, kind)| {
            *kind == FileKind::Regular
                && rustix::fs::fstatfs(f)
                    .is_ok_and(|st| i64::from(st.f_type) == i64::from(libc::TMPFS_MAGIC))
        })
    }
    fn mincore(&self, first: u64, count: u64, out: &mut Vec<u8>) -> Result<(), SysError> {
        if self.pid() != Pid::Myself {
            return Err(SysError::new(
                libc::ENOSYS,
                "mincore",
                "mincore sees only our own address space: for another process, residency comes \
                 from cachestat on the file, and page tables from its pagemap",
            ));
        }
        if first.checked_add(count).is_none_or(|e| e > self.pages()) {
            return Err(SysError::new(libc::EINVAL, "mincore", "outside the VMA"));
        }
        out.clear();
        out.resize(usize::try_from(count).unwrap_or(0), 0);
        raw::mincore_at(
            self.line.start + first * self.page_size,
            self.page_size,
            out,
        )
        .map_err(|e| SysError::from_io(&e, "mincore"))
    }
    fn madvise(&self, _first: u64, _count: u64, _advice: Advice) -> Result<(), SysError> {
        Err(SysError::new(
            libc::EPERM,
            "madvise",
            "only the mapping mmapscope made is advised, faulted in or released",
        ))
    }
    fn cachestat(&self, file_off: u64, len: u64) -> Result<CacheStat, SysError> {
        match &self.file {
            Some((f, _)) => cachestat(f, file_off, len),
            None => Err(SysError::new(
                libc::EBADF,
                "cachestat",
                self.file_note
                    .clone()
                    .unwrap_or_else(|| "anonymous memory has no file page cache".into()),
            )),
        }
    }
    fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, SysError> {
        if off
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.map_bytes())
        {
            return Err(SysError::new(
                libc::EINVAL,
                format!("read at 0x{:x}", self.line.start.saturating_add(off)),
                "outside the VMA",
            ));
        }
        self.handle.read(self.line.start + off, buf)
    }
    fn vmas(&self, start: u64, end: u64) -> Result<Vec<Vma>, SysError> {
        self.handle.vmas(start, end)
    }
    fn path_note(&self) -> Option<String> {
        None
    }
}

/// The path of a VMA's file for display, or its pseudo-name (`[heap]`), or `[anonymous]`.
pub fn vma_name(line: &MapsLine) -> PathBuf {
    if line.path.is_empty() {
        PathBuf::from("[anonymous]")
    } else {
        PathBuf::from(&line.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_heap_is_read_and_probed_but_never_written() {
        let maps = crate::sys::proc::maps::read_maps().unwrap();
        let heap = maps.iter().find(|l| l.path == "[heap]");
        let Some(heap) = heap else {
            eprintln!("SKIPPED our_own_heap...: no [heap] line in this test process");
            return;
        };
        let me = Arc::new(ProcessHandle::myself().unwrap());
        let v = VmaView::open(&me, heap, true);
        assert_eq!(v.prot().letters(), heap.perms[..3]);
        assert_eq!(v.mode(), MapMode::Private);
        let mut b = [0u8; 16];
        assert_eq!(v.read(0, &mut b).unwrap(), 16);
        let mut core = Vec::new();
        v.mincore(0, 1, &mut core).unwrap();
        assert_eq!(core.len(), 1);
        assert_eq!(v.write(0, &[0]).unwrap_err().errno, libc::EPERM);
        assert_eq!(v.fate(&maps), VmaFate::Same);
        assert!(v.cachestat(0, 4096).is_err(), "no file");
        assert!(v.madvise(0, 1, Advice::Normal).is_err());
    }

    #[test]
    fn a_file_mapping_of_ours_finds_its_file() {
        let maps = crate::sys::proc::maps::read_maps().unwrap();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let line = maps
            .iter()
            .find(|l| Path::new(&l.path) == exe)
            .expect("our executable is mapped");
        let me = Arc::new(ProcessHandle::myself().unwrap());
        let v = VmaView::open(&me, line, false);
        assert_eq!(
            v.file_kind(),
            Some(FileKind::Regular),
            "{:?}",
            v.file_note()
        );
        assert!(v.cachestat(v.offset(), v.map_bytes()).is_ok());
        assert!(v.geometry().unwrap().file_size.is_some());
        assert_eq!(
            v.write(0, &[0]).unwrap_err().errno,
            libc::EPERM,
            "never into ourselves"
        );
    }
}
