//! The mapping itself, in safe code: opening and mapping what a `MapRequest` asks for (the
//! policy that admits it is `request`'s), what it is (address, length, mode, protection, the
//! file behind it and whether writing it is allowed), and reading it. The calls that take raw
//! addresses are `raw::Mapping`'s, checked against its bounds; the calls on a live mapping are
//! `calls`'s.
//!
//! Every byte is copied out or written in with `process_vm_readv` / `process_vm_writev` on our
//! own pid, which fail with `EFAULT` where a load or store would raise SIGBUS (a page past EOF,
//! or cut off by another process's truncate) or SIGSEGV (a protected page): no access to the
//! mapping can kill the process.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::mm::Advice;

use crate::sys::error::SysError;
use crate::sys::raw::{self, Mapping};

use crate::sys::map::request::*;

pub use crate::sys::contain::children::{ChildEnd, signal_name};
pub use crate::sys::raw::Placement;
pub use crate::sys::raw::{CacheStat, PageRegion, Pagemap, fault_counts};

/// One live mapping and what backs it.
#[derive(Debug)]
pub struct Region {
    pub(crate) map: Mapping,
    /// What was asked for, kept to remap with another mode.
    pub(crate) request: MapRequest,
    pub(crate) target: Target,
    pub(crate) mode: MapMode,
    pub(crate) prot: Prot,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) page_size: u64,
    notes: Vec<String>,
    /// While a forked child shares pages with us: `/proc/self/mem`, to read without pinning
    /// (see `read`).
    mem: Option<File>,
    /// How the memory bound judges the next operation.
    pub(crate) bound: Bound,
    /// For shared anonymous memory and MAP_SHARED /dev/zero: the pages of the shmem object
    /// the kernel made at mmap, which keeps that size when mremap grows the mapping.
    pub(crate) shmem_pages: Option<u64>,
}

/// How the memory bound judges the next operation on a region.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Bound {
    /// The next operation may commit memory beyond the bound (a `force` line, a confirmed
    /// question); set by the session before each operation (see `set_force`).
    pub(crate) force_once: bool,
    /// The MemAvailable the bound judges by, instead of /proc/meminfo's (`judge_by`).
    pub(crate) mem_available: Option<u64>,
}

impl Region {
    /// Opens and maps what `req` asks for.
    ///
    /// # Errors
    /// A `SysError` naming the errno and what to do: missing file, directory, FIFO or socket,
    /// unmappable file (ENODEV), no permission, unaligned offset, zero or impossible length,
    /// mmap failures; a `--populate` or `--locked` mapping beyond the memory bound (see
    /// `limits::judge`) without `--force`.
    pub fn open(req: &MapRequest) -> Result<Region, SysError> {
        Self::open_with(req, req.place.force, None)
    }

    /// As `open`, with the memory bound lifted when `force`, and `line` the script line that
    /// asked for it (a remap: `mode private`), named in a refusal.
    pub(crate) fn open_with(
        req: &MapRequest,
        force: bool,
        line: Option<&str>,
    ) -> Result<Region, SysError> {
        let page_size = page_size();
        check_offset(req.offset, page_size)?;
        if req.len == Some(0) {
            return Err(einval(
                "--len",
                "a mapping needs at least one byte; give a length above 0 (or omit --len)",
            ));
        }
        if let Some(len) = req.len {
            check_len(req.offset, len, page_size)?;
        }
        check_place(req.place, matches!(req.source, Source::Anon(_)), page_size)?;
        let bound = (force, line);
        match &req.source {
            Source::Anon(size) => Self::open_anon(req, *size, page_size, bound),
            Source::File(path) => Self::open_file(req, path, page_size, bound),
        }
    }

    fn open_anon(
        req: &MapRequest,
        size: u64,
        page_size: u64,
        (force, line): (bool, Option<&str>),
    ) -> Result<Region, SysError> {
        let ctx = "mmap anonymous";
        let len = req.len.unwrap_or(size);
        if len == 0 {
            return Err(einval(ctx, "--anon needs a size above 0, e.g. --anon 64k"));
        }
        check_len(0, len, page_size)?;
        let mut notes = Vec::new();
        let len = if req.place.huge {
            hugetlb_len(len, &mut notes)?
        } else {
            len
        };
        let map_bytes = len.div_ceil(page_size) * page_size;
        admit_placement(req.place, (map_bytes, map_bytes), line, force)?;
        let shared = req.mode == MapMode::Shared;
        // MAP_PRIVATE|MAP_ANONYMOUS without reserving swap, so large sizes map as the kernel
        // allows; MAP_SHARED|MAP_ANONYMOUS as a shared mapping of /dev/zero, the same kernel
        // object ("/dev/zero (deleted)" in /proc/self/maps).
        let map = Mapping::anonymous(len, req.mode == MapMode::Shared, page_size, req.place)
            .map_err(|e| {
                place_refusal(&e, (req.place, false), len, ctx)
                    .unwrap_or_else(|| SysError::from_io(&e, ctx))
            })?;
        notes.extend(placement_note(req.place, map.addr()));
        let mut region = Region {
            map,
            request: req.clone(),
            target: Target::Anon,
            mode: req.mode,
            prot: Prot::RW,
            offset: 0,
            len,
            page_size,
            notes,
            mem: None,
            bound: Bound::default(),
            shmem_pages: (shared && !req.place.huge).then_some(map_bytes / page_size),
        };
        if let Some(prot) = req.prot {
            region.mprotect(prot)?;
        }
        Ok(region)
    }

    fn open_file(
        req: &MapRequest,
        path: &Path,
        page_size: u64,
        (force, line): (bool, Option<&str>),
    ) -> Result<Region, SysError> {
        let shown = crate::text::echo(&path.to_string_lossy());
        let mut notes = Vec::new();
        let opened = open_checked(req, path, &shown, &mut notes)?;
        let size = size_of(&opened.file, opened.kind, &shown)?;
        let len = mapping_len(req, size, page_size, &shown, &mut notes);
        check_len(req.offset, len, page_size)?;
        let prot = req.prot.unwrap_or(
            if req.mode == MapMode::Private || opened.kind == FileKind::Zero || opened.fd_writable {
                Prot::RW
            } else {
                Prot::R
            },
        );
        let shared = req.mode == MapMode::Shared;
        let data = data_bytes(opened.kind, shared, (req.offset, len), size, page_size);
        let map_bytes = len.div_ceil(page_size) * page_size;
        admit_placement(req.place, (data, map_bytes), line, force)?;
        let may_write = may_write(&opened.file);
        let map = Mapping::of_file(
            &opened.file,
            (req.mode == MapMode::Shared, prot.write),
            req.offset,
            len,
            page_size,
            req.place,
        )
        .map_err(|e| {
            file_refusal(
                &e,
                req,
                &opened,
                (&shown, len, page_size),
                (prot, may_write),
            )
        })?;
        notes.extend(placement_note(req.place, map.addr()));
        let base = if prot.write { Prot::RW } else { Prot::R };
        let mut region = Region {
            map,
            request: req.clone(),
            target: Target::File {
                path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
                file: opened.file,
                kind: opened.kind,
                fd_writable: opened.fd_writable,
                may_write,
                dev: opened.dev,
                ino: opened.ino,
            },
            mode: req.mode,
            prot: base,
            offset: req.offset,
            len,
            page_size,
            notes,
            mem: None,
            bound: Bound::default(),
            shmem_pages: (opened.kind == FileKind::Zero && shared).then_some(map_bytes / page_size),
        };
        if prot != base {
            region.mprotect(prot)?;
        }
        Ok(region)
    }

    /// Start address of the mapping.
    pub fn addr(&self) -> u64 {
        self.map.addr()
    }

    /// Length as requested (the kernel maps whole pages: see `map_bytes`).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Always false: a region maps at least one byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Length rounded up to whole pages: what the kernel really maps.
    pub fn map_bytes(&self) -> u64 {
        self.pages() * self.page_size
    }

    /// Number of pages mapped.
    pub fn pages(&self) -> u64 {
        self.len.div_ceil(self.page_size)
    }

    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn mode(&self) -> MapMode {
        self.mode
    }

    pub fn prot(&self) -> Prot {
        self.prot
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Messages about how the request was adjusted (read-only file, empty file, device size).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The file's path as given at open, for a file mapping (display only: everything else
    /// goes through the descriptor).
    pub fn path(&self) -> Option<&Path> {
        match &self.target {
            Target::File { path, .. } => Some(path),
            Target::Anon => None,
        }
    }

    /// The kind of file mapped, for a file mapping.
    pub(crate) fn file_kind(&self) -> Option<FileKind> {
        match &self.target {
            Target::File { kind, .. } => Some(*kind),
            Target::Anon => None,
        }
    }

    /// Whether the mapping's pages are a file's page-cache pages (a regular file or a block
    /// device): dirty, writeback and cachestat mean something for them.
    pub fn page_cache_file(&self) -> bool {
        self.file_kind().is_some_and(FileKind::page_cache)
    }

    /// Whether the request this mapping was opened with consented to writing the file
    /// (`--write`, `--prot` with `w`, a file mmapscope created): the write gate's consent at
    /// the start (`sys::ops::gate`). Later consent lives in the gate, not here.
    pub fn consented_at_open(&self) -> bool {
        self.request.write_allowed()
    }

    /// Whether we have write permission on the mapped file (anonymous memory: true).
    pub fn may_write(&self) -> bool {
        match &self.target {
            Target::File { may_write, .. } => *may_write,
            Target::Anon => true,
        }
    }

    /// A path that names the very file we hold open, for a helper process:
    /// `/proc/PID/fd/N`. Opening it reaches our inode whatever the original path names now.
    pub(crate) fn fd_path(&self) -> Option<PathBuf> {
        use std::os::fd::AsRawFd;
        match &self.target {
            Target::File { file, .. } => Some(PathBuf::from(format!(
                "/proc/{}/fd/{}",
                std::process::id(),
                file.as_raw_fd()
            ))),
            Target::Anon => None,
        }
    }
}

impl Region {
    /// What the path given at open names now: the same file, another one, or nothing.
    pub(crate) fn path_status(&self) -> PathStatus {
        match &self.target {
            Target::File { path, dev, ino, .. } => match std::fs::metadata(path) {
                Ok(m) if (m.dev(), m.ino()) == (*dev, *ino) => PathStatus::Same,
                Ok(m) => PathStatus::Replaced {
                    dev: m.dev(),
                    ino: m.ino(),
                },
                Err(_) => PathStatus::Gone,
            },
            Target::Anon => PathStatus::Same,
        }
    }

    /// A sentence when the path given at open no longer names the file we hold: what we did
    /// went to our file, never to the new one.
    pub(crate) fn path_note(&self) -> Option<String> {
        let path = crate::text::sanitize(&self.path()?.to_string_lossy());
        match self.path_status() {
            PathStatus::Same => None,
            PathStatus::Replaced { ino, .. } => Some(format!(
                "{path} now names another file (inode {ino}): mmapscope keeps to the file it opened \
                 and never acts on the new one"
            )),
            PathStatus::Gone => Some(format!(
                "{path} no longer exists (deleted or renamed): mmapscope keeps to the file it opened"
            )),
        }
    }

    /// Reads file bytes at `file_off` on our descriptor: what any reader of the file sees.
    /// A page-cache file through a window (`window_read`): a page the page cache holds is
    /// copied without readahead, one it does not hold is read from disk alone. /dev/zero with
    /// pread (no page cache). Returns how many bytes were read: 0 at or after end of file.
    ///
    /// # Errors
    /// No file (anonymous memory), a failed fstat, or the read failed.
    pub fn read_file(&self, file_off: u64, buf: &mut [u8]) -> Result<usize, SysError> {
        use std::os::unix::fs::FileExt as _;
        let ctx = || format!("read of the file at 0x{file_off:x}");
        let file = match &self.target {
            Target::File { file, kind, .. } if kind.page_cache() => file,
            Target::File { file, .. } => {
                return file
                    .read_at(buf, file_off)
                    .map_err(|e| SysError::from_io(&e, ctx()));
            }
            Target::Anon => {
                return Err(SysError::new(
                    libc::EINVAL,
                    ctx(),
                    "anonymous memory has no file",
                ));
            }
        };
        let size = self.file_size_now()?.unwrap_or(0);
        let n = size.saturating_sub(file_off).min(buf.len() as u64) as usize;
        if n == 0 {
            return Ok(0);
        }
        window_read(file, file_off, &mut buf[..n], self.page_size)
            .map_err(|e| SysError::from_io(&e, ctx()))
    }

    /// The file's size now, or `None` when it has no end of file (anonymous memory,
    /// /dev/zero): fstat for a file, lseek(SEEK_END) for a block device.
    ///
    /// # Errors
    /// A failed fstat.
    pub(crate) fn file_size_now(&self) -> Result<Option<u64>, SysError> {
        match &self.target {
            Target::File { file, kind, .. } => size_of(file, *kind, "the mapped file"),
            Target::Anon => Ok(None),
        }
    }

    /// The geometry of the mapping with the file size measured now. For shared anonymous
    /// memory and MAP_SHARED /dev/zero the end is the shmem object's, fixed at mmap: mremap
    /// grows the mapping, never the object, and the pages past it are beyond its end of file
    /// (a load there raises SIGBUS: mm/shmem.c, shmem_fault past i_size).
    ///
    /// # Errors
    /// A failed fstat.
    pub fn geometry(&self) -> Result<crate::geometry::Geometry, SysError> {
        let file_size = match self.shmem_end() {
            Some(end) => Some(self.offset + end * self.page_size),
            None => self.file_size_now()?,
        };
        Ok(crate::geometry::Geometry {
            page_size: self.page_size,
            offset: self.offset,
            len: self.len,
            file_size,
        })
    }

    pub(crate) fn check_range(&self, off: u64, len: u64, what: &str) -> Result<(), SysError> {
        match off.checked_add(len) {
            Some(end) if end <= self.map_bytes() => Ok(()),
            _ => Err(einval(
                what,
                format!(
                    "range 0x{off:x}+{len} is outside the mapping (0x{:x} bytes)",
                    self.map_bytes()
                ),
            )),
        }
    }

    /// Copies bytes at mapping offset `off` into `buf` without touching the mapping directly.
    /// Returns how many bytes were copied: short when the range runs into a dead page.
    ///
    /// # Errors
    /// EFAULT when the first byte cannot be read (past EOF, truncated away, PROT_NONE); EINVAL
    /// when the range is outside the mapping.
    pub fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, SysError> {
        self.check_range(off, buf.len() as u64, "read")?;
        if let Some(mem) = &self.mem {
            return self.read_unpinned(mem, off, buf);
        }
        self.map.read(off, buf).map_err(|e| {
            let err = read_error(e, off, self.prot.read);
            match self.shmem_end() {
                Some(end) if err.errno == libc::EFAULT && off / self.page_size >= end => {
                    SysError::new(
                        libc::EFAULT,
                        err.context,
                        "the page lies past the shmem object: shared anonymous memory (and \
                         MAP_SHARED /dev/zero) keeps the size it was first mapped with, and \
                         mremap grew only the mapping: a load would have raised SIGBUS",
                    )
                }
                _ => err,
            }
        })
    }

    /// Our file, for a read of `len` bytes at mapping offset `off` that goes around the
    /// mapping: only a file with a page cache, only inside the mapping.
    fn page_cache_file_for(&self, off: u64, len: usize) -> Option<&File> {
        match &self.target {
            Target::File { file, kind, .. }
                if kind.page_cache() && self.check_range(off, len as u64, "read").is_ok() =>
            {
                Some(file)
            }
            _ => None,
        }
    }

    /// Copies bytes at mapping offset `off` from the file's page cache without disturbing it
    /// (`window_read`): no readahead starts, nothing stays mapped, and the mapping on screen
    /// gains no page-table entry. The last page's padding after end of file reads as zeros,
    /// as a mapping shows it. Returns how many bytes it copied (short where a page cannot be
    /// read: truncated away); `None` where it copied nothing (no page-cache file, outside the
    /// mapping, the kernel refused). The one reader of pages only looked at (`sys::probe::look`).
    /// Only for pages the page cache holds now: one evicted since it was probed would be read
    /// back from disk, alone.
    pub(crate) fn read_cached(&self, off: u64, buf: &mut [u8]) -> Option<usize> {
        let file = self.page_cache_file_for(off, buf.len())?;
        let pos = self.offset().checked_add(off)?;
        window_read(file, pos, buf, self.page_size)
            .ok()
            .filter(|&n| n > 0)
    }

    /// Reads through `/proc/self/mem` instead of process_vm_readv while `on` (a forked child
    /// shares pages with us). process_vm_readv pins the pages it reads (FOLL_PIN), and pinning
    /// an anonymous page shared copy-on-write makes the kernel copy it first ("unshare", mm/gup.c
    /// gup_must_unshare, Linux >= 5.19): merely looking would split every page shown. A read of
    /// /proc/self/mem takes a plain reference instead and leaves the page shared.
    pub fn read_without_pinning(&mut self, on: bool) {
        if !on {
            self.mem = None;
        } else if self.mem.is_none() {
            self.mem = File::open("/proc/self/mem").ok();
        }
    }

    /// `read` through /proc/self/mem: pread at the page's address. It reads past PROT_NONE
    /// (FOLL_FORCE), so the protection is checked first; a page past EOF answers EIO, said as
    /// the EFAULT process_vm_readv gives.
    fn read_unpinned(&self, mem: &File, off: u64, buf: &mut [u8]) -> Result<usize, SysError> {
        use std::os::unix::fs::FileExt as _;
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.prot.read {
            return Err(read_error(
                io::Error::from_raw_os_error(libc::EFAULT),
                off,
                false,
            ));
        }
        match mem.read_at(buf, self.addr() + off) {
            Ok(0) => Err(read_error(
                io::Error::from_raw_os_error(libc::EFAULT),
                off,
                true,
            )),
            Ok(n) => Ok(n),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Err(read_error(
                io::Error::from_raw_os_error(libc::EFAULT),
                off,
                true,
            )),
            Err(e) => Err(read_error(e, off, true)),
        }
    }
}

/// Copies `buf.len()` bytes of `file` at `file_off` through a window: a private, read-only
/// mapping of just the pages holding them, made for this read and unmapped after it, under
/// MADV_RANDOM. Why not pread: a read(2) that meets a page marked for readahead starts async
/// readahead (mm/filemap.c filemap_readahead, even with RWF_NOWAIT, even after
/// POSIX_FADV_RANDOM), so copying cached pages made more pages cached; and RWF_NOWAIT on a
/// page not cached still reads it in. A fault in a VMA with VM_RAND_READ starts none
/// (`do_async_mmap_readahead` returns early; a page not cached is read alone), and
/// fault-around maps only pages already cached and up to date (`filemap_map_pages`).
/// Returns how many bytes were copied: short where a page cannot be read (past end of file).
///
/// # Errors
/// The window could not be mapped or advised (then nothing was read), or the first byte
/// cannot be read.
fn window_read(file: &File, file_off: u64, buf: &mut [u8], ps: u64) -> io::Result<usize> {
    let too_big = || io::Error::from_raw_os_error(libc::EOVERFLOW);
    let first = file_off / ps * ps;
    let end = file_off
        .checked_add(buf.len() as u64)
        .and_then(|e| e.checked_next_multiple_of(ps))
        .ok_or_else(too_big)?;
    if buf.is_empty() {
        return Ok(0);
    }
    let window = raw::Mapping::of_file(
        file,
        (false, false),
        first,
        end - first,
        ps,
        Placement::default(),
    )?;
    window.madvise(0, end - first, Advice::Random)?;
    window.read(file_off - first, buf)
}

fn read_error(err: io::Error, off: u64, readable: bool) -> SysError {
    match err.raw_os_error() {
        Some(libc::EFAULT) if !readable => SysError::new(
            libc::EFAULT,
            format!("read at 0x{off:x}"),
            "the mapping's protection forbids reading (no PROT_READ): a load would have raised \
             SIGSEGV; p changes the protection",
        ),
        Some(libc::EFAULT) => SysError::new(
            libc::EFAULT,
            format!("read at 0x{off:x}"),
            "the page lies beyond end of file (or was cut off by a truncate): a load would have \
             raised SIGBUS",
        ),
        _ => SysError::from_io(&err, format!("read at 0x{off:x}")),
    }
}

/// `cachestat(2)` over `[off, off + len)` of `file`; `len == 0` means to end of file.
///
/// # Errors
/// ENOSYS on kernels before 6.5, EOPNOTSUPP for files without a page cache (hugetlbfs).
pub fn cachestat(file: &File, off: u64, len: u64) -> Result<CacheStat, SysError> {
    raw::cachestat(file, off, len).map_err(|e| SysError::from_io(&e, "cachestat"))
}

/// Why mmap of a file failed: a placement the kernel refused, or the file's mode, the
/// descriptor or the filesystem (a private read-only map of one page tells them apart).
fn file_refusal(
    e: &std::io::Error,
    req: &MapRequest,
    opened: &Opened,
    (shown, len, page_size): (&str, u64, u64),
    (prot, may_write): (Prot, bool),
) -> SysError {
    place_refusal(e, (req.place, true), len, &format!("mmap {shown}")).unwrap_or_else(|| {
        let private_read = || {
            let one = len.min(page_size);
            let place = Placement::default();
            Mapping::of_file(
                &opened.file,
                (false, false),
                req.offset,
                one,
                page_size,
                place,
            )
            .is_ok()
        };
        map_refusal(
            e,
            shown,
            (req.mode, prot.write),
            (opened.fd_writable, may_write),
            private_read,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::map::calls::*;
    use crate::sys::proc::maps;
    use rustix::mm::MsyncFlags;

    /// The locking lesson's refused MS_INVALIDATE showed `msync(MsyncFlags(INVALIDATE))`: the
    /// kernel's refusals name the call as C does.
    #[test]
    fn refusals_name_flags_and_advice_as_c_does() {
        let r = anon(1, MapMode::Shared);
        let e = r
            .msync(0, 1, MsyncFlags::SYNC | MsyncFlags::ASYNC)
            .unwrap_err();
        assert_eq!(e.errno, libc::EINVAL);
        assert_eq!(e.context, "msync(MS_SYNC|MS_ASYNC)");
        assert_eq!(msync_names(MsyncFlags::INVALIDATE), "MS_INVALIDATE");
        assert_eq!(madvice_name(Advice::LinuxDontNeed), "MADV_DONTNEED");
        let e = r.fadvise(rustix::fs::Advice::WillNeed).unwrap_err();
        assert!(!e.to_string().contains("WillNeed"), "{e}");
        assert_eq!(
            fadvice_name(rustix::fs::Advice::DontNeed),
            "POSIX_FADV_DONTNEED"
        );
    }

    #[test]
    fn eacces_says_writing_only_when_writing_was_asked() {
        let e = io::Error::from_raw_os_error(libc::EACCES);
        let said = |asked, fd, probe: bool| map_refusal(&e, "/f", asked, fd, || probe).explanation;
        let shared_rw = said((MapMode::Shared, true), (false, true), true);
        assert!(
            shared_rw.contains("could not be opened for writing"),
            "{shared_rw}"
        );
        let shared_r = said((MapMode::Shared, false), (false, true), true);
        assert!(!shared_r.contains("writ"), "{shared_r}");
        assert!(
            shared_r.contains("own mmap refused a MAP_SHARED r--"),
            "{shared_r}"
        );
        assert!(shared_r.contains("use --private --prot r"), "{shared_r}");
        // The private read-only mapping is offered only when it was tried and worked.
        let no_alternative = said((MapMode::Shared, false), (false, true), false);
        assert!(!no_alternative.contains("--private"), "{no_alternative}");
        let private_r = map_refusal(&e, "/f", (MapMode::Private, false), (false, true), || {
            panic!("the mapping asked is the one it would try")
        });
        assert!(
            private_r.explanation.contains("MAP_PRIVATE r--"),
            "{private_r}"
        );
    }

    #[test]
    fn offset_alignment_message_names_neighbours() {
        assert!(check_offset(8192, 4096).is_ok());
        let err = check_offset(5000, 4096).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL);
        assert!(err.explanation.contains("4096 B"), "{err}");
        assert!(err.explanation.contains("4096 (0x1000)"), "{err}");
        assert!(err.explanation.contains("8192 (0x2000)"), "{err}");
    }

    fn anon(pages: u64, mode: MapMode) -> Region {
        Region::open(&MapRequest {
            source: Source::Anon(pages * page_size()),
            mode,
            offset: 0,
            len: None,
            prot: None,
            write: true,
            place: Placement::default(),
        })
        .unwrap()
    }

    #[test]
    fn locking_and_growing_a_locked_mapping_are_bounded_unless_forced() {
        let ps = page_size();
        let mut r = anon(16, MapMode::Private);
        // A quarter of this "MemAvailable" is 8 pages: the whole mapping is over it.
        r.judge_by(32 * ps);
        let e = r.lock(0, 16).unwrap_err();
        assert!(
            e.forcible && e.explanation.contains("`force lock all`"),
            "{e}"
        );
        r.lock(0, 1).unwrap();
        // Page 0 is locked already: mlock does not count it again, nor does the bound. So
        // 10 pages are 9 more (over 8), 9 pages 8 more (the quarter itself: allowed).
        assert!(r.lock(0, 10).unwrap_err().forcible);
        r.lock(0, 9).unwrap();
        r.set_force(true);
        r.lock(0, 16).unwrap();
        r.set_force(false);
        // Locked: mremap would lock (and fault in) the new part too.
        let e = r.resize(32 * ps).unwrap_err();
        assert!(
            e.explanation.contains("`force resize 128k`") || ps != 4096,
            "{e}"
        );
        assert_eq!(r.pages(), 16, "refused before the call");
        r.set_force(true);
        r.resize(32 * ps).unwrap();
        r.set_force(false);
        let locked: u64 = maps::read_vmas(r.addr(), r.addr() + r.map_bytes())
            .unwrap()
            .iter()
            .map(|v| v.memory.locked)
            .sum();
        assert_eq!(locked, 32 * ps);
        r.unlock(0, 32).unwrap();
        // Unlocked private anonymous memory costs nothing until touched: not bounded.
        r.resize(1 << 40).unwrap();
        r.resize(ps).unwrap();
    }

    #[test]
    fn a_grown_shared_anonymous_mapping_ends_its_object_where_it_was_mapped() {
        let ps = page_size();
        let mut r = anon(4, MapMode::Shared);
        assert_eq!(r.shmem_end(), Some(4));
        r.resize(64 * ps).unwrap();
        assert_eq!(
            r.shmem_end(),
            Some(4),
            "mremap grows the mapping, not the object"
        );
        let mut buf = [0u8; 1];
        r.read(3 * ps, &mut buf).unwrap();
        let e = r.read(5 * ps, &mut buf).unwrap_err();
        assert!(e.explanation.contains("past the shmem object"), "{e}");
        assert_eq!(anon(4, MapMode::Private).shmem_end(), None);
    }

    #[test]
    fn the_keeper_keeps_its_own_copy_and_exits_when_told() {
        let r = anon(2, MapMode::Private);
        r.write(0, b"old").unwrap();
        let mut k = r.fork_keeper().unwrap();
        assert_eq!(k.read(0, 3).unwrap(), b"old");
        r.write(0, b"new").unwrap();
        assert_eq!(k.read(0, 3).unwrap(), b"old", "copy-on-write after fork");
        assert_eq!(k.write(0, b"kid").unwrap(), b"old");
        let mut buf = [0u8; 3];
        r.read(0, &mut buf).unwrap();
        assert_eq!(&buf, b"new");
        let err = k.read(2 * page_size() - 1, 2).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL, "outside its copy: {err}");
        let pid = k.pid();
        assert_eq!(k.exit().unwrap(), "exited with status 0");
        assert!(std::fs::metadata(format!("/proc/{pid}")).is_err(), "reaped");
    }

    #[test]
    fn a_shared_mapping_shows_the_keepers_writes_and_drop_kills_it() {
        let r = anon(1, MapMode::Shared);
        let mut k = r.fork_keeper().unwrap();
        k.write(8, b"hi").unwrap();
        let mut buf = [0u8; 2];
        r.read(8, &mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        let pid = k.pid();
        drop(k);
        assert!(
            std::fs::metadata(format!("/proc/{pid}")).is_err(),
            "killed and reaped"
        );
    }

    #[test]
    fn resize_grows_in_place_or_moves_and_move_refuses_an_occupied_target() {
        let mut r = anon(2, MapMode::Private);
        r.write(0, b"keep").unwrap();
        r.resize(8 * page_size()).unwrap();
        assert_eq!((r.len(), r.pages()), (8 * page_size(), 8));
        let mut buf = [0u8; 4];
        r.read(0, &mut buf).unwrap();
        assert_eq!(&buf, b"keep", "the pages came along");
        r.write(7 * page_size(), b"x").unwrap();
        let other = anon(1, MapMode::Private);
        let err = r.move_to(other.addr()).unwrap_err();
        assert_eq!(err.errno, libc::EEXIST, "{err}");
        // (An anonymous neighbour may have merged with it into one line.)
        assert!(err.explanation.contains("(anonymous)"), "{err}");
        let err = r.move_to(other.addr() + 1).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL);
        // A free place: where `other` was, once it is gone.
        let free = other.addr();
        drop(other);
        r.resize(page_size()).unwrap();
        r.move_to(free).unwrap();
        assert_eq!(r.addr(), free);
        r.read(0, &mut buf).unwrap();
        assert_eq!(&buf, b"keep");
    }

    #[test]
    fn a_fixed_address_that_is_taken_is_refused_naming_the_occupant() {
        let taken = anon(1, MapMode::Private);
        let err = Region::open(&MapRequest {
            source: Source::Anon(page_size()),
            mode: MapMode::Private,
            offset: 0,
            len: None,
            prot: None,
            write: true,
            place: Placement {
                addr: Some(taken.addr()),
                fixed: true,
                ..Placement::default()
            },
        })
        .unwrap_err();
        assert_eq!(err.errno, libc::EEXIST);
        assert!(err.explanation.contains("(anonymous)"), "{err}");
        assert!(err.explanation.contains("MAP_FIXED_NOREPLACE"), "{err}");
    }

    #[test]
    fn prot_letters_round_trip() {
        for text in ["none", "r", "rw", "rx", "rwx"] {
            let p = Prot::parse(text).unwrap();
            assert_eq!(Prot::parse(&p.letters()), Some(p));
        }
    }
}
