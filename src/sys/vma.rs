//! A VMA we explore without having made it: the heap, the stack, a library, another
//! process's file mapping. It is looked at through the kernel's windows on that address
//! space: bytes through `/proc/PID/mem` (else `process_vm_readv`), page tables with `/proc/PID/pagemap`, the file's
//! page cache with cachestat on the file the VMA maps (opened through
//! `/proc/PID/map_files/`, else by its path once device and inode match maps), mincore in
//! our own address space only. It is read-only unless `--write`, and then only in another
//! process (a store at an arbitrary address of ours could change memory Rust owns).

use std::fs::File;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use rustix::mm::Advice;

use crate::geometry::Geometry;

use super::error::SysError;
use super::mapped::Mapped;
use super::procmaps::{MapsLine, Pid};
use super::raw;
use super::region::{CacheStat, FileKind, MapMode, Prot, cachestat, page_size};

/// A VMA of a process, as it was when we opened it.
#[derive(Debug)]
pub struct VmaView {
    pid: Pid,
    /// The numeric pid, for process_vm_readv.
    number: u32,
    line: MapsLine,
    file: Option<(File, FileKind)>,
    /// Why there is no file to ask cachestat, when the VMA maps one.
    file_note: Option<String>,
    may_write: bool,
    write: bool,
    page_size: u64,
    /// `/proc/PID/mem`, for reads: unlike process_vm_readv, which pins the page and so makes
    /// the kernel copy an anonymous page shared copy-on-write after fork (`gup_must_unshare`,
    /// Linux 5.19+), a read of it leaves the page shared: looking does not split it.
    mem: Option<File>,
}

/// How a VMA we explore fares in the process's maps now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmaFate {
    Same,
    /// Grown or shrunk (mremap, brk, the stack), or split: the line that holds its start now.
    Changed(MapsLine),
    Gone,
}

/// The file behind a maps line: the map_files link (any file, deleted ones too, but only
/// for root), else the path when its device and inode match the line.
fn open_backing(pid: Pid, line: &MapsLine) -> Result<(File, FileKind), String> {
    let via_map_files = pid.proc_path(&format!("map_files/{:x}-{:x}", line.start, line.end));
    let file = match File::open(&via_map_files) {
        Ok(f) => f,
        Err(first) => {
            let path = line.path.trim_end_matches(" (deleted)");
            let f = File::open(path).map_err(|e| {
                format!("n/a: neither {via_map_files} ({first}) nor the path ({e}) opens")
            })?;
            let m = f.metadata().map_err(|e| format!("n/a: fstat: {e}"))?;
            if (m.dev(), m.ino()) != (line.dev, line.inode) {
                return Err(
                    "n/a: the path now names another file than the one mapped (device and inode \
                     differ from maps)"
                        .into(),
                );
            }
            f
        }
    };
    let m = file.metadata().map_err(|e| format!("n/a: fstat: {e}"))?;
    let ft = m.file_type();
    let kind = if ft.is_file() {
        FileKind::Regular
    } else if ft.is_block_device() {
        FileKind::Block
    } else {
        FileKind::Zero
    };
    Ok((file, kind))
}

impl VmaView {
    /// The VMA of `line` in process `pid`; `write`: the user allowed writes (`--write`).
    pub fn open(pid: Pid, line: &MapsLine, write: bool) -> Self {
        let number = match pid {
            Pid::Myself => std::process::id(),
            Pid::Other(n) => n,
        };
        let (file, file_note) = if line.inode != 0 && line.path.starts_with('/') {
            match open_backing(pid, line) {
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
            pid,
            number,
            line: line.clone(),
            file,
            file_note,
            may_write,
            write: write && pid != Pid::Myself,
            page_size: page_size(),
            mem: File::open(pid.proc_path("mem")).ok(),
        }
    }

    /// How its bytes are read: `/proc/PID/mem` (it leaves a page shared copy-on-write after
    /// fork shared), else `process_vm_readv` (it pins pages, and so unshares such a page).
    pub fn bytes_via(&self) -> &'static str {
        if self.mem.is_some() {
            "/proc/PID/mem"
        } else {
            "process_vm_readv"
        }
    }

    /// The maps line it was opened from.
    pub fn line(&self) -> &MapsLine {
        &self.line
    }

    /// The process's number.
    pub fn pid_number(&self) -> u32 {
        self.number
    }

    /// Why cachestat has no file to ask, when the VMA maps one.
    pub fn file_note(&self) -> Option<&str> {
        self.file_note.as_deref()
    }

    /// Where this VMA is in `maps` now.
    pub fn fate(&self, maps: &[MapsLine]) -> VmaFate {
        match maps
            .iter()
            .find(|l| (l.start..l.end).contains(&self.line.start))
        {
            None => VmaFate::Gone,
            Some(l) if l.start == self.line.start && l.end == self.line.end => VmaFate::Same,
            Some(l) => VmaFate::Changed(l.clone()),
        }
    }

    /// Writes `data` at offset `off` with process_vm_writev: only with `--write`, only in
    /// another process, and only where its protections allow.
    ///
    /// # Errors
    /// EACCES without `--write`; EPERM in our own process; the kernel's refusal.
    pub fn write(&self, off: u64, data: &[u8]) -> Result<usize, SysError> {
        let ctx = format!("write at 0x{:x}", self.line.start + off);
        if self.pid == Pid::Myself {
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
            .checked_add(data.len() as u64)
            .is_none_or(|e| e > self.map_bytes())
        {
            return Err(SysError::new(libc::EINVAL, ctx, "outside the VMA"));
        }
        raw::write_process(self.number, self.line.start + off, data).map_err(|e| {
            match e.raw_os_error() {
                Some(libc::EPERM) if self.pid == Pid::Myself => SysError::new(
                    libc::EPERM,
                    ctx,
                    "mmapscope never writes into its own process outside the mapping it made: \
                     that memory belongs to the program itself",
                ),
                Some(libc::EFAULT) => SysError::new(
                    libc::EFAULT,
                    ctx,
                    "the page is not writable there: its protection forbids stores, or it \
                     lies beyond end of file",
                ),
                _ => SysError::from_io(&e, ctx),
            }
        })
    }
}

impl Mapped for VmaView {
    fn pid(&self) -> Pid {
        self.pid
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
        self.write
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
        if self.pid != Pid::Myself {
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
        let ctx = format!("read at 0x{:x}", self.line.start + off);
        if off
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.map_bytes())
        {
            return Err(SysError::new(libc::EINVAL, ctx, "outside the VMA"));
        }
        let read = match &self.mem {
            Some(mem) => {
                use std::os::unix::fs::FileExt as _;
                mem.read_at(buf, self.line.start + off)
            }
            None => raw::read_process(self.number, self.line.start + off, buf),
        };
        read.map_err(|e| match e.raw_os_error() {
            // /proc/PID/mem says EIO where process_vm_readv says EFAULT.
            Some(libc::EFAULT | libc::EIO) => SysError::new(
                libc::EFAULT,
                ctx,
                "the page cannot be read: no PROT_READ, beyond end of file, or unmapped \
                 meanwhile (a load would have raised a signal)",
            ),
            Some(libc::ESRCH) => SysError::new(libc::ESRCH, ctx, "the process has exited"),
            _ => SysError::from_io(&e, ctx),
        })
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
        let maps = super::super::procmaps::read_maps().unwrap();
        let heap = maps.iter().find(|l| l.path == "[heap]");
        let Some(heap) = heap else {
            eprintln!("SKIPPED our_own_heap...: no [heap] line in this test process");
            return;
        };
        let v = VmaView::open(Pid::Myself, heap, true);
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
        let maps = super::super::procmaps::read_maps().unwrap();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let line = maps
            .iter()
            .find(|l| Path::new(&l.path) == exe)
            .expect("our executable is mapped");
        let v = VmaView::open(Pid::Myself, line, false);
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
