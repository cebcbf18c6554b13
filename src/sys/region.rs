//! THE unsafe module: it owns the mapping and is the only code that hands the kernel a raw address.
//!
//! The mapping is a memmap2 `MmapRaw`: it only gives out raw pointers, and this module never turns
//! them into Rust references. Every byte is copied out or written in with `process_vm_readv` /
//! `process_vm_writev` on our own pid, which fail with `EFAULT` where a load or store would raise
//! SIGBUS (a page past EOF, or cut off by another process's truncate) or SIGSEGV (a protected page).
//! So no access to the mapping can kill the process. The other calls here (`mincore`, `madvise`,
//! `mprotect`, `cachestat`) take the mapping's own address range, checked against its bounds first.
//! Mapped code runs only in a forked child (`spawn_code`), contained before the call; the safe
//! side of that child's life (deadline, group kill, reaping) is `children.rs`.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use memmap2::{MmapOptions, MmapRaw};
use rustix::mm::{Advice, MprotectFlags, MsyncFlags};
use rustix::pipe::PipeFlags;

use super::children::{CALL_TIMEOUT, CodeChild};
use super::error::SysError;

/// How the mapping is shared: the `flags` argument of mmap(2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapMode {
    /// MAP_SHARED: stores go to the page cache, other mappers and the file see them.
    Shared,
    /// MAP_PRIVATE: copy-on-write; stores make a private anonymous copy of the page.
    Private,
}

impl MapMode {
    /// `MAP_SHARED` / `MAP_PRIVATE`, as on screen.
    pub fn flag_name(self) -> &'static str {
        match self {
            Self::Shared => "MAP_SHARED",
            Self::Private => "MAP_PRIVATE",
        }
    }

    /// `shared` / `private`, as in the JSON report and scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Private => "private",
        }
    }
}

/// Page protection: the `prot` argument of mmap(2) and mprotect(2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
        exec: false,
    };
    pub const R: Prot = Prot {
        read: true,
        write: false,
        exec: false,
    };
    pub const RW: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };

    /// Parses `none`, `r`, `rw`, `rx`, `rwx`, or the letter form of /proc/self/maps (`r-x`).
    pub fn parse(text: &str) -> Option<Prot> {
        let t = text.trim().to_ascii_lowercase();
        let p = |read, write, exec| Some(Prot { read, write, exec });
        match t.replace('-', "").as_str() {
            "none" | "" => p(false, false, false),
            "r" => p(true, false, false),
            "rw" => p(true, true, false),
            "rx" => p(true, false, true),
            "rwx" => p(true, true, true),
            _ => None,
        }
    }

    /// The protection as `rwx`-style letters with `-` for absent bits, e.g. `rw-`.
    pub fn letters(self) -> String {
        format!(
            "{}{}{}",
            if self.read { 'r' } else { '-' },
            if self.write { 'w' } else { '-' },
            if self.exec { 'x' } else { '-' }
        )
    }

    fn mprotect_flags(self) -> MprotectFlags {
        let mut f = MprotectFlags::empty();
        if self.read {
            f |= MprotectFlags::READ;
        }
        if self.write {
            f |= MprotectFlags::WRITE;
        }
        if self.exec {
            f |= MprotectFlags::EXEC;
        }
        f
    }
}

/// What to map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file by path (a regular file, or a device such as /dev/zero).
    File(PathBuf),
    /// Anonymous memory of this many bytes.
    Anon(u64),
}

/// A request to map something, as the command line gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRequest {
    pub source: Source,
    pub mode: MapMode,
    /// File offset; must be a multiple of the page size.
    pub offset: u64,
    /// Length in bytes; `None` means from `offset` to end of file.
    pub len: Option<u64>,
    /// Protection; `None` means `rw` when possible.
    pub prot: Option<Prot>,
}

/// What backs the mapping.
#[derive(Debug)]
pub enum Target {
    /// A file, kept open so its size can be re-measured with fstat on every refresh.
    File {
        /// Absolute path, as given (not sanitised: sanitise before display).
        path: PathBuf,
        file: File,
        /// Opened O_RDWR (false: O_RDONLY, so no shared writable mapping is possible).
        writable: bool,
        /// A regular file (false: a device such as /dev/zero, which has no end of file).
        regular: bool,
    },
    /// Anonymous memory (MAP_ANONYMOUS).
    Anon,
}

/// The page-cache counters of `cachestat(2)` for a byte range of a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStat {
    pub nr_cache: u64,
    pub nr_dirty: u64,
    pub nr_writeback: u64,
    pub nr_evicted: u64,
    pub nr_recently_evicted: u64,
}

/// One live mapping and what backs it.
#[derive(Debug)]
pub struct Region {
    map: MmapRaw,
    /// What was asked for, kept to remap with another mode.
    request: MapRequest,
    target: Target,
    mode: MapMode,
    prot: Prot,
    offset: u64,
    len: u64,
    page_size: u64,
    notes: Vec<String>,
}

/// The system page size in bytes.
pub fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

fn einval(context: &str, explanation: impl Into<String>) -> SysError {
    SysError::new(libc::EINVAL, context, explanation)
}

/// Checks that `offset` is page-aligned; the error names the page size and the two nearest
/// valid offsets.
///
/// # Errors
/// EINVAL when it is not a multiple of `page_size`.
pub fn check_offset(offset: u64, page_size: u64) -> Result<(), SysError> {
    if offset.is_multiple_of(page_size) {
        return Ok(());
    }
    let below = offset - offset % page_size;
    let above = below + page_size;
    Err(einval(
        "--offset",
        format!(
            "offset {offset} (0x{offset:x}) is not a multiple of the page size ({page_size} B); \
             the nearest valid offsets are {below} (0x{below:x}) and {above} (0x{above:x})"
        ),
    ))
}

impl Region {
    /// Opens and maps what `req` asks for.
    ///
    /// # Errors
    /// A `SysError` naming the errno and what to do: missing file, directory, FIFO or socket,
    /// unmappable file (ENODEV), no permission, unaligned offset, zero length, mmap failures.
    pub fn open(req: &MapRequest) -> Result<Region, SysError> {
        let page_size = page_size();
        check_offset(req.offset, page_size)?;
        if req.len == Some(0) {
            return Err(einval(
                "--len",
                "a mapping needs at least one byte; give a length above 0 (or omit --len)",
            ));
        }
        match &req.source {
            Source::Anon(size) => Self::open_anon(req, *size, page_size),
            Source::File(path) => Self::open_file(req, path, page_size),
        }
    }

    fn open_anon(req: &MapRequest, size: u64, page_size: u64) -> Result<Region, SysError> {
        let ctx = "mmap anonymous";
        let len = req.len.unwrap_or(size);
        if len == 0 {
            return Err(einval(ctx, "--anon needs a size above 0, e.g. --anon 64k"));
        }
        let ulen = usize::try_from(len).map_err(|_| einval(ctx, "the size does not fit"))?;
        let map = match req.mode {
            // MAP_PRIVATE|MAP_ANONYMOUS, without reserving swap so large sizes map as the kernel allows.
            MapMode::Private => MmapOptions::new()
                .len(ulen)
                .no_reserve_swap()
                .map_anon()
                .map(MmapRaw::from),
            // memmap2 has no MAP_SHARED|MAP_ANONYMOUS. The kernel implements that flag pair by
            // mapping a shmem file "/dev/zero (deleted)" (mm/mmap.c: shmem_zero_setup), and a
            // MAP_SHARED mapping of /dev/zero takes the same path (drivers/char/mem.c: mmap_zero),
            // so the two are the same kernel object and look the same in /proc/self/maps.
            MapMode::Shared => OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/zero")
                .and_then(|zero| MmapOptions::new().len(ulen).map_raw(&zero)),
        }
        .map_err(|e| SysError::from_io(&e, ctx))?;
        let mut region = Region {
            map,
            request: req.clone(),
            target: Target::Anon,
            mode: req.mode,
            prot: Prot::RW,
            offset: 0,
            len,
            page_size,
            notes: Vec::new(),
        };
        if let Some(prot) = req.prot {
            region.mprotect(prot)?;
        }
        Ok(region)
    }

    fn open_file(req: &MapRequest, path: &Path, page_size: u64) -> Result<Region, SysError> {
        let shown = crate::text::sanitize(&path.to_string_lossy());
        let meta =
            std::fs::metadata(path).map_err(|e| SysError::from_io(&e, format!("open {shown}")))?;
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            Some("a directory")
        } else if ft.is_fifo() {
            Some("a FIFO (named pipe)")
        } else if ft.is_socket() {
            Some("a socket")
        } else {
            None
        };
        if let Some(kind) = kind {
            return Err(SysError::new(
                libc::ENODEV,
                format!("mmap {shown}"),
                format!(
                    "{shown} is {kind}: it has no pages to map; give the path of a regular file"
                ),
            ));
        }
        let regular = ft.is_file();
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());

        // O_NONBLOCK: never hang on a device that would block on open.
        let open = |write: bool| {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new()
                .read(true)
                .write(write)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
        };
        let mut notes = Vec::new();
        let (file, writable) = match open(true) {
            Ok(f) => (f, true),
            Err(rw_err) => {
                let file =
                    open(false).map_err(|e| SysError::from_io(&e, format!("open {shown}")))?;
                let why = SysError::from_io(&rw_err, "open O_RDWR");
                notes.push(match req.mode {
                    MapMode::Shared => format!(
                        "{shown} is read-only for us ({}): a shared writable mapping is \
                         impossible, so MAP_SHARED maps it read-only; --private gives a writable \
                         copy-on-write mapping",
                        why.name()
                    ),
                    MapMode::Private => format!(
                        "{shown} is read-only for us ({}): MAP_PRIVATE still maps it writable, \
                         copy-on-write; no write can reach the file",
                        why.name()
                    ),
                });
                (file, false)
            }
        };

        let size = if regular {
            Some(file_size(&file, &shown)?)
        } else {
            None
        };
        let len = match (req.len, size) {
            (Some(len), _) => len,
            (None, Some(size)) if size > req.offset => size - req.offset,
            (None, Some(_)) => {
                notes.push(format!(
                    "{shown} has no bytes at offset {}: one page mapped, wholly beyond end of file \
                     (touching it would raise SIGBUS; it is never read)",
                    req.offset
                ));
                page_size
            }
            (None, None) => {
                let len = 16 * page_size;
                notes.push(format!(
                    "{shown} is a device with no size: mapping {} B (choose with --len)",
                    crate::text::thousands(len)
                ));
                len
            }
        };
        let ctx = format!("mmap {shown}");
        let ulen = usize::try_from(len).map_err(|_| einval(&ctx, "the length does not fit"))?;
        if req.offset.checked_add(len).is_none() {
            return Err(einval(&ctx, "offset + length overflows"));
        }

        let prot = match req.prot {
            Some(p) => p,
            None if writable || req.mode == MapMode::Private => Prot::RW,
            None => Prot::R,
        };
        let mut opts = MmapOptions::new();
        opts.offset(req.offset).len(ulen);
        // SAFETY: memmap2 marks file mappings unsafe because another process may change the file
        // under a `&[u8]`. This module never creates a reference into the mapping: `MmapRaw` hands
        // out raw pointers only, and the `MmapMut`/`Mmap` of `map_copy*` are converted to `MmapRaw`
        // before anything could dereference them.
        let mapped = unsafe {
            match (req.mode, prot.write) {
                (MapMode::Shared, true) => opts.map_raw(&file),
                (MapMode::Shared, false) => opts.map_raw_read_only(&file),
                (MapMode::Private, true) => {
                    opts.no_reserve_swap().map_copy(&file).map(MmapRaw::from)
                }
                (MapMode::Private, false) => opts.map_copy_read_only(&file).map(MmapRaw::from),
            }
        };
        let map = mapped.map_err(|e| {
            let err = SysError::from_io(&e, ctx.clone());
            if err.errno == libc::EACCES && !writable && req.mode == MapMode::Shared {
                SysError::new(
                    libc::EACCES,
                    ctx.clone(),
                    "the file is open read-only, so a shared writable mapping is impossible; \
                     use --prot r, or --private for a writable copy-on-write mapping",
                )
            } else {
                err
            }
        })?;
        let base = if prot.write { Prot::RW } else { Prot::R };
        let mut region = Region {
            map,
            request: req.clone(),
            target: Target::File {
                path: abs,
                file,
                writable,
                regular,
            },
            mode: req.mode,
            prot: base,
            offset: req.offset,
            len,
            page_size,
            notes,
        };
        if prot != base {
            region.mprotect(prot)?;
        }
        Ok(region)
    }

    /// Start address of the mapping.
    pub fn addr(&self) -> u64 {
        self.map.as_ptr() as u64
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

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Messages about how the request was adjusted (read-only file, empty file, device size).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The file's path, for a file mapping.
    pub fn path(&self) -> Option<&Path> {
        match &self.target {
            Target::File { path, .. } => Some(path),
            Target::Anon => None,
        }
    }

    /// The file's size now (fstat), or `None` when it has no end of file (anonymous, device).
    ///
    /// # Errors
    /// A failed fstat.
    pub fn file_size_now(&self) -> Result<Option<u64>, SysError> {
        match &self.target {
            Target::File {
                file,
                regular: true,
                ..
            } => file_size(file, "the mapped file").map(Some),
            _ => Ok(None),
        }
    }

    /// The geometry of the mapping with the file size measured now.
    ///
    /// # Errors
    /// A failed fstat.
    pub fn geometry(&self) -> Result<crate::geometry::Geometry, SysError> {
        Ok(crate::geometry::Geometry {
            page_size: self.page_size,
            offset: self.offset,
            len: self.len,
            file_size: self.file_size_now()?,
        })
    }

    fn check_range(&self, off: u64, len: u64, what: &str) -> Result<(), SysError> {
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
        if buf.is_empty() {
            return Ok(0);
        }
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let remote = libc::iovec {
            iov_base: (self.addr() + off) as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: `local` describes `buf`, which we own mutably for this call; `remote` lies inside
        // our mapping (check_range above). process_vm_readv never faults in this process: an
        // unreadable remote page makes it return a short count or -1/EFAULT.
        let n = unsafe {
            libc::process_vm_readv(libc::getpid(), &raw const local, 1, &raw const remote, 1, 0)
        };
        if n < 0 {
            return Err(read_error(io::Error::last_os_error(), off, self.prot.read));
        }
        Ok(n.cast_unsigned())
    }

    /// Writes `data` at mapping offset `off` as a store would (triggering copy-on-write in a
    /// private mapping), without a store instruction that could fault.
    /// Returns how many bytes were written: short when the range runs into a dead page.
    ///
    /// # Errors
    /// EFAULT when the page is not writable (protection, beyond EOF, truncated); EINVAL outside
    /// the mapping.
    pub fn write(&self, off: u64, data: &[u8]) -> Result<usize, SysError> {
        self.check_range(off, data.len() as u64, "write")?;
        if data.is_empty() {
            return Ok(0);
        }
        let local = libc::iovec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        };
        let remote = libc::iovec {
            iov_base: (self.addr() + off) as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: `local` describes `data`, only read by the kernel; `remote` lies inside our
        // mapping (check_range above), which no Rust reference aliases. process_vm_writev respects
        // page protections and fails with EFAULT instead of raising a signal.
        let n = unsafe {
            libc::process_vm_writev(libc::getpid(), &raw const local, 1, &raw const remote, 1, 0)
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return Err(match err.raw_os_error() {
                Some(libc::EFAULT) => SysError::new(
                    libc::EFAULT,
                    format!("write at 0x{off:x}"),
                    "the page is not writable here: its protection forbids stores, or it lies beyond \
                     end of file (a store would have raised SIGSEGV or SIGBUS)",
                ),
                _ => SysError::from_io(&err, format!("write at 0x{off:x}")),
            });
        }
        Ok(n.cast_unsigned())
    }

    /// `mincore(2)` for `count` pages starting at page `first`: one byte per page, bit 0 set when
    /// the page is resident (in the page cache for a file, in memory for anonymous memory).
    ///
    /// # Errors
    /// EINVAL outside the mapping; ENOMEM if the range is no longer mapped.
    pub fn mincore(&self, first: u64, count: u64, out: &mut Vec<u8>) -> Result<(), SysError> {
        self.check_range(first * self.page_size, count * self.page_size, "mincore")?;
        let n = usize::try_from(count).map_err(|_| einval("mincore", "too many pages"))?;
        out.clear();
        out.resize(n, 0);
        if n == 0 {
            return Ok(());
        }
        let addr = (self.addr() + first * self.page_size) as *mut libc::c_void;
        // SAFETY: the range [addr, addr + n pages) lies inside our mapping (check_range above) and
        // `out` has exactly one byte per page, as mincore(2) requires.
        let rc = unsafe { libc::mincore(addr, n * self.page_size as usize, out.as_mut_ptr()) };
        if rc != 0 {
            return Err(SysError::from_io(&io::Error::last_os_error(), "mincore"));
        }
        Ok(())
    }

    /// `madvise(2)` over `count` pages starting at page `first`.
    ///
    /// # Errors
    /// The kernel's refusal (EINVAL for advice it does not know, ...).
    pub fn madvise(&self, first: u64, count: u64, advice: Advice) -> Result<(), SysError> {
        self.check_range(first * self.page_size, count * self.page_size, "madvise")?;
        let addr = (self.addr() + first * self.page_size) as *mut libc::c_void;
        let len = (count * self.page_size) as usize;
        // SAFETY: the range lies inside our mapping (check_range above). Only advice that keeps
        // memory safe reaches this function from safe callers: none of it is exposed as a way to
        // free memory that Rust references (there are none into this mapping).
        unsafe { rustix::mm::madvise(addr, len, advice) }
            .map_err(|e| SysError::from_rustix(e, format!("madvise({advice:?})")))
    }

    /// Changes the protection of the whole mapping with `mprotect(2)`, on the live mapping
    /// (memmap2's consuming `make_*` calls would unmap it on failure).
    ///
    /// # Errors
    /// EACCES when the file's open mode forbids the protection (PROT_WRITE on a read-only file
    /// mapped shared), and the kernel's other refusals.
    pub fn mprotect(&mut self, prot: Prot) -> Result<(), SysError> {
        let addr = self.addr() as *mut libc::c_void;
        let len = self.map_bytes() as usize;
        // SAFETY: [addr, addr + len) is exactly our mapping, and no Rust reference points into it,
        // so changing its protection cannot invalidate a reference.
        unsafe { rustix::mm::mprotect(addr, len, prot.mprotect_flags()) }.map_err(|e| {
            let mut err = SysError::from_rustix(e, format!("mprotect({})", prot.letters()));
            if err.errno == libc::EACCES {
                err.explanation = "the file is open read-only, so a shared mapping of it can never \
                                   be made writable; map it --private for a writable copy-on-write view"
                    .into();
            }
            err
        })?;
        self.prot = prot;
        Ok(())
    }

    /// `cachestat(2)` (Linux >= 6.5) over a byte range of the mapped file.
    ///
    /// # Errors
    /// ENOSYS on older kernels; EBADF for anonymous memory (no file); EOPNOTSUPP for files
    /// without a page cache.
    pub fn cachestat(&self, file_off: u64, len: u64) -> Result<CacheStat, SysError> {
        let Target::File { file, .. } = &self.target else {
            return Err(SysError::new(
                libc::EBADF,
                "cachestat",
                "anonymous memory has no file page cache",
            ));
        };
        cachestat(file, file_off, len)
    }

    /// Maps the same thing again with `mode`, keeping offset, length and protection, and
    /// replaces this mapping with the new one. On failure this mapping is left as it was.
    ///
    /// # Errors
    /// Whatever mapping the new mode refuses (EACCES: a read-only file cannot be mapped shared
    /// and writable).
    pub fn remap(&mut self, mode: MapMode) -> Result<(), SysError> {
        let mut req = self.request.clone();
        req.mode = mode;
        req.len = Some(self.len);
        req.prot = Some(self.prot);
        let new = Region::open(&req)?;
        *self = new;
        Ok(())
    }

    /// `msync(2)` over `count` pages from page `first`.
    ///
    /// # Errors
    /// EINVAL for a bad flag combination (MS_SYNC|MS_ASYNC), EBUSY for MS_INVALIDATE on locked
    /// pages, ENOMEM when part of the range is no longer mapped.
    pub fn msync(&self, first: u64, count: u64, flags: MsyncFlags) -> Result<(), SysError> {
        self.check_range(first * self.page_size, count * self.page_size, "msync")?;
        let addr = (self.addr() + first * self.page_size) as *mut libc::c_void;
        let len = (count * self.page_size) as usize;
        // SAFETY: the range lies inside our mapping (check_range above); msync only writes back
        // or invalidates page-cache state and never changes what a Rust reference could see
        // (there are none into the mapping).
        unsafe { rustix::mm::msync(addr, len, flags) }
            .map_err(|e| SysError::from_rustix(e, format!("msync({flags:?})")))
    }

    /// `posix_fadvise(2)` over the mapped range of the file.
    ///
    /// # Errors
    /// EBADF for anonymous memory; ESPIPE for a pipe; the kernel's other refusals.
    pub fn fadvise(&self, advice: rustix::fs::Advice) -> Result<(), SysError> {
        let Target::File { file, .. } = &self.target else {
            return Err(SysError::new(
                libc::EBADF,
                "posix_fadvise",
                "anonymous memory has no file to advise",
            ));
        };
        let len = std::num::NonZeroU64::new(self.map_bytes());
        rustix::fs::fadvise(file, self.offset, len, advice)
            .map_err(|e| SysError::from_rustix(e, format!("posix_fadvise({advice:?})")))
    }

    /// Whether the file lives on tmpfs (or is shared memory), where page-cache pages are always
    /// dirty: msync never cleans them and fadvise never drops them.
    // f_type's width differs between architectures: the conversion is needed elsewhere.
    #[allow(clippy::useless_conversion)]
    pub fn always_dirty(&self) -> bool {
        // TMPFS_MAGIC: include/uapi/linux/magic.h
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        match &self.target {
            Target::File { file, .. } => {
                rustix::fs::fstatfs(file).is_ok_and(|st| i64::from(st.f_type) == TMPFS_MAGIC)
            }
            Target::Anon => false,
        }
    }

    /// Pre-faults resident pages into our page tables with MADV_POPULATE_READ (Linux >= 5.14),
    /// which fails with an error, not a signal, on a page past EOF.
    ///
    /// # Errors
    /// EINVAL on kernels without MADV_POPULATE_READ, EFAULT for pages that cannot be read.
    pub fn populate_read(&self, first: u64, count: u64) -> Result<(), SysError> {
        self.madvise(first, count, Advice::LinuxPopulateRead)
    }
}

/// How code run by `Region::spawn_code` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    /// The function returned this value (rax / x0).
    Returned(u64),
    /// A signal killed the child (SIGSEGV without PROT_EXEC, SIGBUS past EOF, SIGILL for
    /// garbage; SIGALRM only when this process could not keep the deadline, being stopped).
    Signal(i32),
    /// It ran past `children::CALL_TIMEOUT`: this process killed it and its process group
    /// with SIGKILL.
    TimedOut,
    /// The child exited without reporting a value (the code called exit itself).
    Exited(i32),
}

impl Region {
    /// Calls the code at mapping offset `off` as `extern "C" fn(u64, u64) -> u64` in a forked
    /// child and returns at once; the `CodeChild` owns the deadline and reaps the child
    /// (`try_end`, `wait`, or its Drop). This process never executes mapped bytes: only the
    /// child does, and whatever it does (crash, loop, fork, garbage) ends with its process group.
    ///
    /// # Errors
    /// EINVAL outside the mapping; fork or pipe failures.
    pub fn spawn_code(&self, off: u64, args: (u64, u64)) -> Result<CodeChild, SysError> {
        use std::os::fd::AsRawFd;
        self.check_range(off, 1, "exec")?;
        let entry = self.addr() + off;
        // Non-blocking: a grandchild may hold the write end open forever, so the parent never
        // waits on this pipe; close-on-exec: helpers we start later must not hold it either.
        let (reader, writer) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)
            .map_err(|e| SysError::from_rustix(e, "pipe"))?;
        let parent = rustix::process::getpid().as_raw_nonzero().get();
        // SAFETY: fork has no memory preconditions. The child runs only `code_child`, which
        // takes no lock and allocates nothing before the call (async-signal-safe calls only), so
        // it is sound even when other threads existed at the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(SysError::from_io(&io::Error::last_os_error(), "fork"));
        }
        if pid == 0 {
            // SAFETY: we are the child just forked above, and `entry` lies inside our mapping
            // (check_range above).
            unsafe { code_child(entry, args, writer.as_raw_fd(), parent) }
        }
        drop(writer);
        let pid = rustix::process::Pid::from_raw(pid)
            .ok_or_else(|| SysError::new(libc::ECHILD, "fork", "fork returned no child pid"))?;
        Ok(CodeChild::adopt(pid, reader))
    }
}

/// The CPU seconds any process descended from a code child may use: its hard RLIMIT_CPU, which
/// fork passes on and an unprivileged process cannot raise. It catches a looping grandchild
/// that left the process group (setsid) before the group kill could reach it.
const CHILD_CPU_LIMIT_S: libc::rlim_t = 3;

/// The life of a child forked by `spawn_code`: contain it, call the code, report, exit. Until
/// the call, only async-signal-safe functions (signal-safety(7)): the parent may have had
/// other threads at the fork, whose locks this copy would wait for forever.
///
/// # Safety
/// Only in a child just forked, with `entry` inside a live mapping and `writer` the write end
/// of the result pipe.
unsafe fn code_child(entry: u64, args: (u64, u64), writer: libc::c_int, parent: libc::pid_t) -> ! {
    // SAFETY: each call below is async-signal-safe and gets valid pointers to locals. What the
    // mapped bytes do can only harm this child and its own descendants: the kernel kills it on
    // a fault (SIGSEGV/SIGBUS/SIGILL); the parent kills its process group at the deadline, and
    // PR_SET_PDEATHSIG kills it if the parent dies first.
    unsafe {
        // Default dispositions and an empty mask: a parent that ignores or blocks SIGALRM, or
        // handles SIGTERM, must not pass that on. 1..=64 covers _NSIG on Linux
        // (arch/x86/include/asm/signal.h, include/uapi/asm-generic/signal.h); glibc's two
        // internal signals and SIGKILL/SIGSTOP refuse with EINVAL, harmlessly.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..=64 {
            libc::sigaction(sig, &raw const dfl, std::ptr::null_mut());
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const none, std::ptr::null_mut());
        // Its own process group, so that one kill(-pgid) ends it with everything it forks.
        // (The parent makes the same call: whichever runs first, the group exists.)
        libc::setpgid(0, 0);
        // Die with the parent; if the parent died before this took effect, no signal will
        // come: getppid then names whoever adopted us.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(127);
        }
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &raw const no_core);
        let cpu = libc::rlimit {
            rlim_cur: CHILD_CPU_LIMIT_S,
            rlim_max: CHILD_CPU_LIMIT_S,
        };
        libc::setrlimit(libc::RLIMIT_CPU, &raw const cpu);
        // Nothing of ours for the code to write on (the screen, batch's JSON stream) or to keep
        // open after we end: stdio from /dev/null, every other descriptor closed but the pipe.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                if fd != writer && fd != null {
                    libc::dup2(null, fd);
                }
            }
            if null > 2 {
                libc::close(null);
            }
        }
        // close_range(2) (Linux >= 5.9; ENOSYS before, and then the descriptors stay) by its
        // syscall number: glibc has a wrapper only since 2.34.
        let close_range = |first: libc::c_uint, last: libc::c_uint| {
            libc::syscall(libc::SYS_close_range, first, last, 0 as libc::c_uint)
        };
        let first = if writer >= 3 {
            close_range(3, writer.cast_unsigned() - 1);
            writer.cast_unsigned() + 1
        } else {
            3
        };
        close_range(first, libc::c_uint::MAX);
        // A backstop should this process be stopped past the deadline (the parent suspended).
        libc::alarm(u32::try_from(CALL_TIMEOUT.as_secs()).unwrap_or(2) + 1);
        let f: extern "C" fn(u64, u64) -> u64 = std::mem::transmute(entry as usize);
        let value = f(args.0, args.1).to_le_bytes();
        libc::write(writer, value.as_ptr().cast(), value.len());
        libc::_exit(0);
    }
}

/// In batch mode, where nothing else handles them: SIGTERM, SIGINT, SIGHUP and SIGQUIT still
/// end the process as by default, but first kill the code child's process group and the peer.
/// (A code child gets SIGKILL from PR_SET_PDEATHSIG anyway; what it forked does not.)
///
/// # Errors
/// A handler could not be installed.
pub fn kill_children_on_fatal_signals() -> io::Result<()> {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: the handler calls only async-signal-safe code: `kill_leftovers` loads two
        // atomics and calls kill(2); `emulate_default_handler` is documented async-signal-safe
        // (it restores the default disposition and raises the signal again).
        unsafe {
            signal_hook::low_level::register(sig, move || {
                super::children::kill_leftovers();
                let _ = signal_hook::low_level::emulate_default_handler(sig);
            })
        }?;
    }
    Ok(())
}

/// The name of a signal number (`SIGSEGV`).
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGALRM => "SIGALRM".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGTRAP => "SIGTRAP".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// This thread's minor and major page-fault counts so far (`getrusage(RUSAGE_THREAD)`).
/// Faults taken inside `process_vm_readv` on our own memory count here too.
pub fn fault_counts() -> (u64, u64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable rusage for the call; RUSAGE_THREAD needs nothing
    // else and cannot fail with valid arguments.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    if rc != 0 {
        return (0, 0);
    }
    // SAFETY: getrusage returned 0, so it filled the struct (and it was zeroed before anyway).
    let usage = unsafe { usage.assume_init() };
    (
        u64::try_from(usage.ru_minflt).unwrap_or(0),
        u64::try_from(usage.ru_majflt).unwrap_or(0),
    )
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

fn file_size(file: &File, shown: &str) -> Result<u64, SysError> {
    file.metadata()
        .map(|m| m.size())
        .map_err(|e| SysError::from_io(&e, format!("fstat {shown}")))
}

/// The kernel's `struct cachestat_range` (include/uapi/linux/mman.h).
#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

/// The kernel's `struct cachestat` (include/uapi/linux/mman.h).
#[repr(C)]
#[derive(Default)]
struct CachestatRaw {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

/// `cachestat(2)` syscall number: 451 on both x86_64 and aarch64 (the unified syscall table,
/// arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h).
const SYS_CACHESTAT: libc::c_long = 451;

/// `cachestat(2)` over `[off, off + len)` of `file`; `len == 0` means to end of file.
///
/// # Errors
/// ENOSYS on kernels before 6.5, EOPNOTSUPP for files without a page cache (hugetlbfs).
pub fn cachestat(file: &File, off: u64, len: u64) -> Result<CacheStat, SysError> {
    use std::os::fd::AsRawFd;
    let range = CachestatRange { off, len };
    let mut raw = CachestatRaw::default();
    // SAFETY: `range` and `raw` are live, properly laid out (#[repr(C)], as the uapi header) and
    // outlive the call; the fd is open for the duration of the borrow of `file`; flags must be 0.
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            file.as_raw_fd(),
            &raw const range,
            &raw mut raw,
            0u32,
        )
    };
    if rc != 0 {
        return Err(SysError::from_io(&io::Error::last_os_error(), "cachestat"));
    }
    Ok(CacheStat {
        nr_cache: raw.nr_cache,
        nr_dirty: raw.nr_dirty,
        nr_writeback: raw.nr_writeback,
        nr_evicted: raw.nr_evicted,
        nr_recently_evicted: raw.nr_recently_evicted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_alignment_message_names_neighbours() {
        assert!(check_offset(8192, 4096).is_ok());
        let err = check_offset(5000, 4096).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL);
        assert!(err.explanation.contains("4096 B"), "{err}");
        assert!(err.explanation.contains("4096 (0x1000)"), "{err}");
        assert!(err.explanation.contains("8192 (0x2000)"), "{err}");
    }

    #[test]
    fn prot_letters_round_trip() {
        for text in ["none", "r", "rw", "rx", "rwx"] {
            let p = Prot::parse(text).unwrap();
            assert_eq!(Prot::parse(&p.letters()), Some(p));
        }
    }
}
