//! The mapping and its policy, in safe code: what to open (and what to refuse), with which
//! mode and protection, when writing the file is allowed, how to remap, and every refusal in
//! words. The calls that take raw addresses are `raw::Mapping`'s, checked against its bounds.
//!
//! Every byte is copied out or written in with `process_vm_readv` / `process_vm_writev` on our
//! own pid, which fail with `EFAULT` where a load or store would raise SIGBUS (a page past EOF,
//! or cut off by another process's truncate) or SIGSEGV (a protected page): no access to the
//! mapping can kill the process. Mapped code runs only in a forked child (`spawn_code`); the
//! safe side of that child's life (deadline, group kill, reaping) is `children.rs`, as is the
//! keeper's (`fork_keeper`). The lab's calls on the live mapping are here too: where it is
//! placed (`--addr`, MAP_FIXED_NOREPLACE, `--huge`), mremap (`resize`, `move_to`), mlock.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::mm::{Advice, MprotectFlags, MsyncFlags};
use rustix::pipe::PipeFlags;

use crate::sys::contain::children::{CALL_TIMEOUT, CodeChild, Keeper};
use crate::sys::error::SysError;
use crate::sys::raw::{self, Mapping};

pub use crate::sys::contain::children::{ChildEnd, signal_name};
pub use crate::sys::raw::Placement;
pub use crate::sys::raw::{CacheStat, PageRegion, Pagemap, fault_counts};

/// How the mapping is shared: the `flags` argument of mmap(2). In JSON: `shared`, `private`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
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
        if t.is_empty() {
            return None;
        }
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
    /// A file by path (a regular file, a block device, or /dev/zero).
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
    /// Protection; `None` means the default: `r` for a shared mapping of a file without
    /// `write`, `rw` otherwise.
    pub prot: Option<Prot>,
    /// The user allows stores into a shared mapping of the file to reach it (`--write`, a file
    /// mmapscope created, or a protection with `w`). Without it a named file opens read-only.
    pub write: bool,
    /// Where and how to place it: `--addr`, `--fixed`, `--populate`, `--locked`, `--huge`.
    pub place: Placement,
}

impl MapRequest {
    /// All of the file at `path`, as the command line maps it by default: offset 0, the
    /// default protection, placed by the kernel, and not allowed to write the file (`write`).
    pub fn file(path: impl Into<PathBuf>, mode: MapMode) -> Self {
        Self {
            source: Source::File(path.into()),
            mode,
            offset: 0,
            len: None,
            prot: None,
            write: false,
            place: Placement::default(),
        }
    }

    /// `len` bytes of anonymous memory, read-write, placed by the kernel.
    pub fn anon(len: u64, mode: MapMode) -> Self {
        Self {
            source: Source::Anon(len),
            ..Self::file(PathBuf::new(), mode)
        }
    }

    /// Whether this request consents to writing the file through a shared mapping.
    pub fn write_allowed(&self) -> bool {
        self.write || self.prot.is_some_and(|p| p.write)
    }
}

/// What kind of file backs a file mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file: it has an end of file and a page cache.
    Regular,
    /// A block device: its size is its end (BLKGETSIZE64, read with lseek), and it has a page
    /// cache like a file.
    Block,
    /// `/dev/zero`: no end of file; MAP_PRIVATE is anonymous memory, MAP_SHARED a shmem object.
    Zero,
}

impl FileKind {
    /// Whether the file has an end (and so padding and pages beyond it).
    pub(crate) fn has_size(self) -> bool {
        !matches!(self, Self::Zero)
    }

    /// Whether the mapping's pages are the file's page-cache pages (dirty, cachestat, ...).
    pub(crate) fn page_cache(self) -> bool {
        !matches!(self, Self::Zero)
    }
}

/// What backs the mapping.
#[derive(Debug)]
pub(crate) enum Target {
    /// A file, kept open for the whole session: every later step (fstat, cachestat, remap,
    /// truncate, the peer, `expect file`) goes through this descriptor, never the path again.
    File {
        /// Absolute path as given at open (for display only: sanitise before showing it).
        path: PathBuf,
        file: File,
        kind: FileKind,
        /// The descriptor is open O_RDWR (false: O_RDONLY, so a shared mapping stays
        /// read-only until writing is allowed and the descriptor reopened).
        fd_writable: bool,
        /// We have write permission on the file (faccessat on the descriptor): labels only.
        may_write: bool,
        /// The file's identity at open: device and inode.
        dev: u64,
        ino: u64,
    },
    /// Anonymous memory (MAP_ANONYMOUS).
    Anon,
}

/// What the path given at open names now, compared with the file we hold open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathStatus {
    /// The same file (device and inode), or no path at all (anonymous memory).
    Same,
    /// Another file: a rename, a symlink swap, a replace-by-rename.
    Replaced { dev: u64, ino: u64 },
    /// Nothing (deleted or renamed away).
    Gone,
}

/// One live mapping and what backs it.
#[derive(Debug)]
pub struct Region {
    map: Mapping,
    /// What was asked for, kept to remap with another mode.
    request: MapRequest,
    target: Target,
    mode: MapMode,
    prot: Prot,
    offset: u64,
    len: u64,
    page_size: u64,
    notes: Vec<String>,
    /// While a forked child shares pages with us: `/proc/self/mem`, to read without pinning
    /// (see `read`).
    mem: Option<File>,
    /// The next operation may commit memory beyond the bound (a `force` line, a confirmed
    /// question); set by the session before each operation (see `set_force`).
    force_once: bool,
    /// For shared anonymous memory and MAP_SHARED /dev/zero: the pages of the shmem object
    /// the kernel made at mmap, which keeps that size when mremap grows the mapping.
    shmem_pages: Option<u64>,
    /// The MemAvailable the bound judges by, instead of /proc/meminfo's (`judge_by`).
    mem_available: Option<u64>,
}

/// The system page size in bytes.
pub fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

fn einval(context: &str, explanation: impl Into<String>) -> SysError {
    SysError::new(libc::EINVAL, context, explanation)
}

/// The largest mapping length we ask for: the kernel's own limit is the user address space
/// (47 bits on x86_64 with 4-level page tables, 48 on aarch64); memmap2 refuses above isize.
const MAX_LEN: u64 = 1 << 56;

/// Checks that `offset` is page-aligned; the error names the page size and the nearest valid
/// offsets (one when the other would not fit in 64 bits).
///
/// # Errors
/// EINVAL when it is not a multiple of `page_size`.
pub(crate) fn check_offset(offset: u64, page_size: u64) -> Result<(), SysError> {
    if offset.is_multiple_of(page_size) {
        return Ok(());
    }
    let below = offset - offset % page_size;
    let nearest = match below.checked_add(page_size) {
        Some(above) => {
            format!("the nearest valid offsets are {below} (0x{below:x}) and {above} (0x{above:x})")
        }
        None => format!("the nearest valid offset is {below} (0x{below:x})"),
    };
    Err(einval(
        "--offset",
        format!(
            "offset {offset} (0x{offset:x}) is not a multiple of the page size ({page_size} B); \
             {nearest}"
        ),
    ))
}

/// Checks a mapping length (and offset + length) against what can be mapped at all.
fn check_len(offset: u64, len: u64, page_size: u64) -> Result<(), SysError> {
    check_len_of(offset, len, page_size, None)
}

/// `check_len` for the length `what` asks for (`Some("resize")`: a new size for a mapping that
/// exists, whose offset is not the user's to change), the words naming it.
fn check_len_of(offset: u64, len: u64, page_size: u64, what: Option<&str>) -> Result<(), SysError> {
    let rounded = len.div_ceil(page_size).checked_mul(page_size);
    if len > MAX_LEN || rounded.is_none() {
        let most = crate::text::human(MAX_LEN);
        let (ctx, why) = match what {
            None => (
                "--len".to_string(),
                format!(
                    "a length of {len} B (0x{len:x}) is larger than any address space \
                     ({most} at most): give a smaller --len"
                ),
            ),
            Some(w) => (
                w.to_string(),
                format!(
                    "a size of {len} B (0x{len:x}) is impossible: no address space holds more \
                     than {most}, so no mapping can have it; give a size up to {most}"
                ),
            ),
        };
        return Err(SysError::new(libc::ENOMEM, ctx, why));
    }
    if offset
        .checked_add(len)
        .is_none_or(|end| end > i64::MAX as u64)
    {
        let (ctx, tail) = match what {
            None => ("--offset + --len".to_string(), "a smaller offset or length"),
            Some(w) => (
                format!("{w}: the mapping's offset + the new size"),
                "a smaller size",
            ),
        };
        return Err(SysError::new(
            libc::EINVAL,
            ctx,
            format!(
                "offset 0x{offset:x} + length 0x{len:x} passes the largest file offset \
                 (2^63 - 1): give {tail}"
            ),
        ));
    }
    Ok(())
}

/// `/dev/zero`'s device number: major 1, minor 5 (Documentation/admin-guide/devices.txt).
pub(crate) fn is_dev_zero(rdev: u64) -> bool {
    rustix::fs::major(rdev) == 1 && rustix::fs::minor(rdev) == 5
}

/// What kind of file `meta` describes, or why it cannot be mapped.
fn classify(meta: &std::fs::Metadata, shown: &str) -> Result<FileKind, SysError> {
    let ft = meta.file_type();
    let refuse = |what: String, errno: i32| {
        Err(SysError::new(
            errno,
            format!("mmap {shown}"),
            format!("{shown} is {what}"),
        ))
    };
    if ft.is_file() {
        Ok(FileKind::Regular)
    } else if ft.is_block_device() {
        Ok(FileKind::Block)
    } else if ft.is_char_device() && is_dev_zero(meta.rdev()) {
        Ok(FileKind::Zero)
    } else if ft.is_dir() {
        refuse(
            "a directory: it has no pages to map; give the path of a regular file".into(),
            libc::ENODEV,
        )
    } else if ft.is_fifo() {
        refuse(
            "a FIFO (named pipe): it has no pages to map; give the path of a regular file".into(),
            libc::ENODEV,
        )
    } else if ft.is_socket() {
        refuse(
            "a socket: it has no pages to map; give the path of a regular file".into(),
            libc::ENODEV,
        )
    } else {
        let rdev = meta.rdev();
        refuse(
            format!(
                "a character device ({}:{}): opening one can have side effects (a watchdog \
                 arms, a tape rewinds), so mmapscope maps only regular files, block devices and \
                 /dev/zero",
                rustix::fs::major(rdev),
                rustix::fs::minor(rdev)
            ),
            libc::ENODEV,
        )
    }
}

/// Opens `path` for reading, and for writing too when `write`; never blocks (O_NONBLOCK) and
/// never takes a controlling terminal (O_NOCTTY).
fn open_path(path: &Path, write: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Whether we may write the file behind `file`: faccessat on `/proc/self/fd/N`, a link to the
/// inode we hold, not whatever the original path names now.
fn may_write(file: &File) -> bool {
    use rustix::fs::{Access, AtFlags};
    use std::os::fd::AsRawFd;
    let link = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::accessat(
        rustix::fs::CWD,
        link.as_str(),
        Access::WRITE_OK,
        AtFlags::EACCESS,
    )
    .is_ok()
}

/// The size of a file or block device now.
fn size_of(file: &File, kind: FileKind, shown: &str) -> Result<Option<u64>, SysError> {
    match kind {
        FileKind::Regular => file_size(file, shown).map(Some),
        // A block device's size is where its end is: lseek(SEEK_END) (the same number as the
        // BLKGETSIZE64 ioctl); it does not disturb our reads, which use offsets.
        FileKind::Block => rustix::fs::seek(file, rustix::fs::SeekFrom::End(0))
            .map(Some)
            .map_err(|e| SysError::from_rustix(e, format!("lseek {shown}"))),
        FileKind::Zero => Ok(None),
    }
}

/// A file opened for mapping: its descriptor (read-write when a shared writable mapping was
/// asked for and allowed), what it is, and its identity.
struct Opened {
    file: File,
    kind: FileKind,
    fd_writable: bool,
    dev: u64,
    ino: u64,
}

/// Classifies `path` (before opening: opening a FIFO or a device can block or act), opens it,
/// and checks that the descriptor is the file that was classified (the path may have been
/// swapped in between).
fn open_checked(
    req: &MapRequest,
    path: &Path,
    shown: &str,
    notes: &mut Vec<String>,
) -> Result<Opened, SysError> {
    let meta =
        std::fs::metadata(path).map_err(|e| SysError::from_io(&e, format!("open {shown}")))?;
    let kind = classify(&meta, shown)?;
    // A shared mapping that may write needs the file open O_RDWR; anything else reads.
    // /dev/zero is opened read-write always: MAP_SHARED of it is memory, never a file.
    let want_rw = (req.write_allowed() && req.mode == MapMode::Shared) || kind == FileKind::Zero;
    let read_only =
        || open_path(path, false).map_err(|e| SysError::from_io(&e, format!("open {shown}")));
    let (file, fd_writable) = match want_rw.then(|| open_path(path, true)) {
        Some(Ok(f)) => (f, true),
        Some(Err(rw_err)) => {
            notes.push(format!(
                "{shown} is read-only for us ({}): a shared writable mapping is impossible, so \
                 MAP_SHARED maps it read-only; --private gives a writable copy-on-write mapping",
                SysError::from_io(&rw_err, "open O_RDWR").name()
            ));
            (read_only()?, false)
        }
        None => (read_only()?, false),
    };
    let fmeta = file
        .metadata()
        .map_err(|e| SysError::from_io(&e, format!("fstat {shown}")))?;
    if (fmeta.dev(), fmeta.ino()) != (meta.dev(), meta.ino()) {
        return Err(SysError::new(
            libc::ESTALE,
            format!("open {shown}"),
            "the path was replaced by another file while it was being opened; try again",
        ));
    }
    Ok(Opened {
        file,
        kind,
        fd_writable,
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

/// The mapping's length: as asked, else to the end of the file (a page wholly beyond it when
/// there is nothing at the offset; 16 pages of a file without a size).
fn mapping_len(
    req: &MapRequest,
    size: Option<u64>,
    page_size: u64,
    shown: &str,
    notes: &mut Vec<String>,
) -> u64 {
    match (req.len, size) {
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
                "{shown} has no size: mapping {} B (choose with --len)",
                crate::text::thousands(len)
            ));
            len
        }
    }
}

/// mmap's refusal in words. EACCES for a shared writable mapping of a read-only descriptor
/// says why and what to do. EACCES for a mapping the descriptor allows (a read-only one, or a
/// private one: the file was opened for reading) is the file's own mmap refusing it: files of
/// sysfs, procfs and devices choose which mappings they allow (kernel/bpf/sysfs_btf.c refuses
/// MAP_SHARED and any writable mapping of /sys/kernel/btf/vmlinux); `private_read` tries a
/// private read-only mapping of the file (mapped and unmapped at once) to offer it when it
/// works.
fn map_refusal(
    e: &io::Error,
    shown: &str,
    (mode, write): (MapMode, bool),
    (fd_writable, may_write): (bool, bool),
    private_read: impl FnOnce() -> bool,
) -> SysError {
    let ctx = format!("mmap {shown}");
    let err = SysError::from_io(e, ctx.clone());
    if err.errno != libc::EACCES {
        return err;
    }
    if mode == MapMode::Shared && write && !fd_writable {
        return SysError::new(
            libc::EACCES,
            ctx,
            if may_write {
                "the file could not be opened for writing, so a shared writable mapping is \
                 impossible; use --prot r, or --private for a writable copy-on-write mapping"
            } else {
                "the file is not writable for us, so a shared writable mapping is impossible; \
                 use --prot r, or --private for a writable copy-on-write mapping"
            },
        );
    }
    let asked = format!("{} {}", mode.flag_name(), if write { "rw-" } else { "r--" });
    let alternative = if (mode, write) != (MapMode::Private, false) && private_read() {
        "; a MAP_PRIVATE read-only mapping of it is allowed (tried just now): use --private \
         --prot r"
    } else {
        ""
    };
    SysError::new(
        libc::EACCES,
        ctx,
        format!(
            "the file's own mmap refused a {asked} mapping, which its open mode (read) allows: \
             files of sysfs, procfs and devices choose which mappings they allow{alternative}"
        ),
    )
}

/// Checks a placement before mapping: an address a multiple of the page size, `--fixed` with
/// an address, `--huge` for anonymous memory only.
fn check_place(place: Placement, anon: bool, page_size: u64) -> Result<(), SysError> {
    if let Some(addr) = place.addr
        && !addr.is_multiple_of(page_size)
    {
        let below = addr - addr % page_size;
        return Err(einval(
            "--addr",
            format!(
                "0x{addr:x} is not a multiple of the page size ({page_size} B): try 0x{below:x}"
            ),
        ));
    }
    if place.fixed && place.addr.is_none() {
        return Err(einval(
            "--fixed",
            "--fixed places the mapping at --addr ADDR: give one",
        ));
    }
    if place.huge && !anon {
        return Err(einval(
            "--huge",
            "MAP_HUGETLB maps anonymous memory (or hugetlbfs files): use it with --anon SIZE",
        ));
    }
    Ok(())
}

/// The lines of /proc/self/maps that overlap `[addr, addr + len)`, as `start-end perms path`.
fn occupants(addr: u64, len: u64) -> Vec<String> {
    let end = addr.saturating_add(len.max(1));
    crate::sys::proc::maps::read_maps()
        .unwrap_or_default()
        .iter()
        .filter(|l| l.start < end && l.end > addr)
        .map(|l| {
            let path = if l.path.is_empty() {
                "(anonymous)".to_string()
            } else {
                crate::text::sanitize(&l.path)
            };
            format!("{:x}-{:x} {} {path}", l.start, l.end, l.perms)
        })
        .collect()
}

/// A refusal that the placement explains: EEXIST at a fixed address names what is there (from
/// /proc/self/maps), EAGAIN/EPERM/ENOMEM with MAP_LOCKED the memlock limit, ENOMEM with
/// MAP_HUGETLB the pool. `None`: the plain errno says it.
fn place_refusal(
    e: &io::Error,
    (place, file): (Placement, bool),
    len: u64,
    ctx: &str,
) -> Option<SysError> {
    let errno = e.raw_os_error()?;
    let why = match errno {
        libc::EEXIST if place.fixed => {
            let addr = place.addr.unwrap_or(0);
            let there = occupants(addr, len);
            format!(
                "MAP_FIXED_NOREPLACE at 0x{addr:x}: the range is taken by {} (MAP_FIXED would \
                have replaced it without a word); choose a free --addr, or drop --fixed to \
                make it a hint",
                if there.is_empty() {
                    "a mapping".to_string()
                } else {
                    there.join(", ")
                }
            )
        }
        libc::EAGAIN | libc::EPERM | libc::ENOMEM if place.locked => format!(
            "MAP_LOCKED: {}",
            crate::sys::proc::limits::memlock_why(&crate::sys::proc::limits::memlock(), len, file)
        ),
        libc::ENOMEM if place.huge => "MAP_HUGETLB: the hugetlb pool has too few free huge \
                                       pages for it (see HugePages_Free in /proc/meminfo)"
            .into(),
        libc::EPERM if place.fixed => return below_min_addr(place.addr.unwrap_or(0), ctx),
        _ => return None,
    };
    Some(SysError::new(errno, ctx, why))
}

/// EPERM for a mapping placed at `addr`, when `addr` lies below `vm.mmap_min_addr` (read
/// now): mapping there needs CAP_SYS_RAWIO (security/commoncap.c, cap_mmap_addr), so that a
/// NULL pointer dereference in the kernel cannot reach memory a user placed. `None` when the
/// address is above it, or the sysctl cannot be read: then EPERM has another reason.
fn below_min_addr(addr: u64, ctx: &str) -> Option<SysError> {
    let path = "/proc/sys/vm/mmap_min_addr";
    let min: u64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (addr < min).then(|| {
        SysError::new(
            libc::EPERM,
            ctx,
            format!(
                "0x{addr:x} is below vm.mmap_min_addr ({min}, 0x{min:x}, read from {path} just \
                 now): only a process with CAP_SYS_RAWIO may map there, which keeps a kernel \
                 NULL-pointer bug from reaching user memory; choose an address at or above \
                 0x{min:x}"
            ),
        )
    })
}

/// For `--huge`: the mapping length rounded up to whole huge pages, or why the hugetlb pool
/// cannot serve it (checked before asking: MAP_HUGETLB with an empty pool only says ENOMEM).
fn hugetlb_len(len: u64, notes: &mut Vec<String>) -> Result<u64, SysError> {
    let pool = crate::sys::proc::limits::hugetlb_pool()?;
    let ps = pool.page_size.max(1);
    let rounded = len.div_ceil(ps) * ps;
    if pool.free == 0 || pool.free < rounded / ps {
        let thp = crate::sys::proc::limits::thp("enabled").unwrap_or_else(|| "absent".into());
        return Err(SysError::new(
            libc::ENOMEM,
            "--huge",
            format!(
                "the hugetlb pool has {} free huge pages of {} (HugePages_Total {}, \
                HugePages_Free {} in /proc/meminfo) and this mapping needs {}: an \
                administrator reserves them (sysctl vm.nr_hugepages=N). Transparent huge \
                pages need no pool (THP enabled: {thp}): map --anon 4M and use `advise \
                hugepage` (a key in the a menu)",
                pool.free,
                crate::text::human(ps),
                pool.total,
                pool.free,
                rounded / ps
            ),
        ));
    }
    if rounded != len {
        notes.push(format!(
            "MAP_HUGETLB: the length is rounded up to whole huge pages of {}: {} B",
            crate::text::human(ps),
            crate::text::thousands(rounded)
        ));
    }
    Ok(rounded)
}

/// What became of `--addr`: a hint the kernel may not follow says where it went instead.
fn placement_note(place: Placement, got: u64) -> Option<String> {
    let want = place.addr?;
    Some(if got == want {
        format!(
            "mmap at 0x{want:x} as asked{}",
            if place.fixed {
                " (MAP_FIXED_NOREPLACE)"
            } else {
                ": the hint was free"
            }
        )
    } else {
        format!(
            "asked for 0x{want:x} (a hint) and got 0x{got:x}: the range was taken or outside \
            the address space the kernel hands out; --fixed would have refused instead"
        )
    })
}

/// What mapping `map_bytes` with `place` commits at once, `data_bytes` of them able to hold
/// memory (a file's pages before its end; hugetlb pages come from their pool, reserved
/// already, so they add no memory).
fn placement_commit(
    place: Placement,
    data_bytes: u64,
    map_bytes: u64,
) -> crate::sys::proc::limits::Commit {
    let faulted = place.populate || place.locked;
    crate::sys::proc::limits::Commit {
        memory: if faulted && !place.huge {
            data_bytes
        } else {
            0
        },
        locked: if place.locked { map_bytes } else { 0 },
        address_space: map_bytes,
    }
}

/// The bound on a new mapping with `place`, before it is made (`limits::admit`).
fn admit_placement(
    place: Placement,
    (data_bytes, map_bytes): (u64, u64),
    line: Option<&str>,
    force: bool,
) -> Result<(), SysError> {
    let call = match (place.populate, place.locked) {
        (_, true) => "mmap MAP_LOCKED",
        (true, false) => "mmap MAP_POPULATE",
        (false, false) => "mmap",
    };
    let asked = crate::sys::proc::limits::Asked {
        call,
        verb: if place.locked {
            "lock and fault in"
        } else {
            "fault in"
        },
        line,
    };
    crate::sys::proc::limits::admit(
        &asked,
        placement_commit(place, data_bytes, map_bytes),
        force,
    )
}

/// Bytes of a new mapping of `len` bytes at `offset` that can hold memory: for a file with an
/// end, the pages before it; for MAP_SHARED /dev/zero, the shmem object's pages the offset
/// leaves (its page `offset / page_size` is the mapping's first); else all.
fn data_bytes(
    kind: FileKind,
    shared: bool,
    (offset, len): (u64, u64),
    size: Option<u64>,
    ps: u64,
) -> u64 {
    let map_bytes = len.div_ceil(ps) * ps;
    match (kind, size) {
        (FileKind::Zero, _) if shared => map_bytes.saturating_sub(offset),
        (_, Some(size)) => size
            .saturating_sub(offset)
            .div_ceil(ps)
            .saturating_mul(ps)
            .min(map_bytes),
        _ => map_bytes,
    }
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
    fn open_with(req: &MapRequest, force: bool, line: Option<&str>) -> Result<Region, SysError> {
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
            force_once: false,
            shmem_pages: (shared && !req.place.huge).then_some(map_bytes / page_size),
            mem_available: None,
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
            place_refusal(&e, (req.place, true), len, &format!("mmap {shown}")).unwrap_or_else(
                || {
                    let private_read = || {
                        let place = Placement::default();
                        let one = len.min(page_size);
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
                        &e,
                        &shown,
                        (req.mode, prot.write),
                        (opened.fd_writable, may_write),
                        private_read,
                    )
                },
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
            force_once: false,
            shmem_pages: (opened.kind == FileKind::Zero && shared).then_some(map_bytes / page_size),
            mem_available: None,
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

    /// Writes `data` at mapping offset `off` as a store would (triggering copy-on-write in a
    /// private mapping), without a store instruction that could fault.
    /// Returns how many bytes were written: short when the range runs into a dead page.
    ///
    /// # Errors
    /// EFAULT when the page is not writable (protection, beyond EOF, truncated); EINVAL outside
    /// the mapping.
    pub fn write(&self, off: u64, data: &[u8]) -> Result<usize, SysError> {
        self.check_range(off, data.len() as u64, "write")?;
        self.map.write(off, data).map_err(|err| match err.raw_os_error() {
            Some(libc::EFAULT) => SysError::new(
                libc::EFAULT,
                format!("write at 0x{off:x}"),
                "the page is not writable here: its protection forbids stores, or it lies beyond \
                 end of file (a store would have raised SIGSEGV or SIGBUS)",
            ),
            _ => SysError::from_io(&err, format!("write at 0x{off:x}")),
        })
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
        self.map
            .mincore(first * self.page_size, self.page_size, out)
            .map_err(|e| SysError::from_io(&e, "mincore"))
    }

    /// `madvise(2)` over `count` pages starting at page `first`.
    ///
    /// # Errors
    /// The kernel's refusal (EINVAL for advice it does not know, ...).
    pub fn madvise(&self, first: u64, count: u64, advice: Advice) -> Result<(), SysError> {
        self.check_range(first * self.page_size, count * self.page_size, "madvise")?;
        self.map
            .madvise(first * self.page_size, count * self.page_size, advice)
            .map_err(|e| SysError::from_io(&e, format!("madvise({})", madvice_name(advice))))
    }

    /// Changes the protection of the whole mapping with `mprotect(2)`, on the live mapping
    /// (memmap2's consuming `make_*` calls would unmap it on failure).
    ///
    /// # Errors
    /// EACCES when the file's open mode forbids the protection (PROT_WRITE on a read-only file
    /// mapped shared), and the kernel's other refusals.
    pub(crate) fn mprotect(&mut self, prot: Prot) -> Result<(), SysError> {
        self.map.mprotect(prot.mprotect_flags()).map_err(|e| {
            let mut err = SysError::from_io(&e, format!("mprotect({})", prot.letters()));
            if err.errno == libc::EACCES {
                err.explanation = "the file is open read-only, so a shared mapping of it cannot \
                                   be made writable; map it --private for a writable \
                                   copy-on-write view"
                    .into();
            }
            err
        })?;
        self.prot = prot;
        Ok(())
    }

    /// Reopens our descriptor read-write through `/proc/self/fd/N` (the same inode, whatever
    /// the path names now), keeping the mapping as it is.
    fn reopen_rw(&mut self) -> Result<(), SysError> {
        let fd_path = self.fd_path();
        let Target::File {
            file,
            fd_writable,
            dev,
            ino,
            path,
            ..
        } = &mut self.target
        else {
            return Ok(());
        };
        if *fd_writable {
            return Ok(());
        }
        let shown = crate::text::echo(&path.to_string_lossy());
        let ctx = format!("open {shown} O_RDWR");
        let fd_path = fd_path.ok_or_else(|| einval(&ctx, "no descriptor"))?;
        let rw = open_path(&fd_path, true).map_err(|e| {
            let err = SysError::from_io(&e, ctx.clone());
            match err.errno {
                libc::EACCES | libc::EPERM | libc::EROFS => SysError::new(
                    err.errno,
                    ctx.clone(),
                    format!(
                        "{shown} is not writable for us ({}): a shared mapping of it stays \
                         read-only; m (MAP_PRIVATE) or --private gives a writable copy-on-write \
                         view whose stores never reach the file",
                        err.name()
                    ),
                ),
                _ => err,
            }
        })?;
        let meta = rw
            .metadata()
            .map_err(|e| SysError::from_io(&e, format!("fstat {shown}")))?;
        if (meta.dev(), meta.ino()) != (*dev, *ino) {
            return Err(SysError::new(
                libc::ESTALE,
                ctx,
                "reopening our descriptor reached another file; nothing was changed",
            ));
        }
        *file = rw;
        *fd_writable = true;
        Ok(())
    }

    /// Lets a later mprotect add PROT_WRITE to a shared mapping of a file opened read-only:
    /// the descriptor is reopened read-write and the same range mapped again in place
    /// (MAP_FIXED: same address, same page-cache pages, nothing lost). Only once the write
    /// gate has the user's consent (`sys::ops::gate`; `sys::ops::carry::protect` calls it with a permit
    /// that says so). Returns a sentence saying what was done, if anything.
    ///
    /// # Errors
    /// EACCES (and the like) when the file is not writable for us; the mmap's refusal.
    pub(crate) fn allow_write(&mut self) -> Result<Option<String>, SysError> {
        let needs_fd = self.mode == MapMode::Shared
            && matches!(
                self.target,
                Target::File {
                    fd_writable: false,
                    ..
                }
            );
        if !needs_fd {
            return Ok(None);
        }
        self.reopen_rw()?;
        let Target::File { file, .. } = &self.target else {
            return Ok(None);
        };
        let prot = rustix::mm::ProtFlags::from_bits_truncate(self.prot.mprotect_flags().bits());
        self.map
            .remap_shared_in_place(file, self.offset, prot)
            .map_err(|e| SysError::from_io(&e, "mmap MAP_SHARED|MAP_FIXED"))?;
        Ok(Some(
            "the file was open read-only: reopened read-write through its descriptor \
             (/proc/self/fd) and mapped again in place (MAP_FIXED, same address and pages)"
                .into(),
        ))
    }

    /// A second mapping of the same file (`--also`), opened through our descriptor (the
    /// same file, whatever its path names now), with the same offset and length, in `mode`:
    /// private, read-write (its stores never reach the file); shared, with this mapping's
    /// protection, PROT_WRITE only when `writable` (the write gate's consent for the file:
    /// both mappings share it).
    ///
    /// # Errors
    /// Anonymous memory (there is no file to map twice); the mmap's refusal.
    pub fn also(&self, mode: MapMode, writable: bool) -> Result<Region, SysError> {
        let (Target::File { path, kind, .. }, Some(fd_path)) = (&self.target, self.fd_path())
        else {
            return Err(einval(
                "--also",
                "a second mapping of the same file needs a file: give FILE (not --anon)",
            ));
        };
        if !kind.page_cache() {
            return Err(einval(
                "--also",
                "/dev/zero has no page cache to share: two mappings of it are two separate \
                 anonymous mappings; give a regular file",
            ));
        }
        // A private mapping is read-write by default, without consent to write the file (its
        // stores never reach it); a shared one gets PROT_WRITE only with the consent.
        let shared = mode == MapMode::Shared;
        let mut also = Region::open(&MapRequest {
            source: Source::File(fd_path),
            mode,
            offset: self.offset,
            len: Some(self.len),
            prot: shared.then_some(Prot {
                write: self.prot.write && writable,
                ..self.prot
            }),
            write: shared && writable,
            place: Placement::default(),
        })?;
        if let Target::File { path: shown, .. } = &mut also.target {
            shown.clone_from(path);
        }
        Ok(also)
    }

    /// `cachestat(2)` (Linux >= 6.5) over a byte range of the mapped file.
    ///
    /// # Errors
    /// ENOSYS on older kernels; EBADF for anonymous memory (no file); EOPNOTSUPP for files
    /// without a page cache.
    pub(crate) fn cachestat(&self, file_off: u64, len: u64) -> Result<CacheStat, SysError> {
        let Target::File { file, .. } = &self.target else {
            return Err(SysError::new(
                libc::EBADF,
                "cachestat",
                "anonymous memory has no file page cache",
            ));
        };
        cachestat(file, file_off, len)
    }

    /// The protection a remap to `mode` gets: a private mapping is writable (its stores
    /// never reach the file); a shared one keeps PROT_WRITE only where writing the file was
    /// allowed (`writable`: the write gate's consent). PROT_NONE stays PROT_NONE; PROT_EXEC
    /// is kept.
    pub(crate) fn remap_prot(&self, mode: MapMode, writable: bool) -> Prot {
        let p = self.prot;
        if p == Prot::NONE {
            return p;
        }
        match mode {
            MapMode::Private => Prot { write: true, ..p },
            MapMode::Shared if matches!(self.target, Target::Anon) => p,
            MapMode::Shared => Prot {
                write: p.write && writable,
                ..p
            },
        }
    }

    /// Maps the same thing again with `mode` (same descriptor, offset and length; protection
    /// as `remap_prot` says with `writable`) and replaces this mapping with the new one. On
    /// failure this mapping is left as it was.
    ///
    /// # Errors
    /// Whatever mapping the new mode refuses.
    pub(crate) fn remap(&mut self, mode: MapMode, writable: bool) -> Result<(), SysError> {
        let prot = self.remap_prot(mode, writable);
        // Anywhere: the old mapping still holds the address it was given.
        let place = Placement {
            addr: None,
            fixed: false,
            ..self.request.place
        };
        let line = format!("mode {}", mode.as_str());
        if matches!(self.target, Target::Anon) {
            let mut req = self.request.clone();
            req.mode = mode;
            req.len = Some(self.len);
            req.prot = Some(prot);
            req.place = place;
            *self = Region::open_with(&req, self.force_allowed(), Some(&line))?;
            return Ok(());
        }
        let (kind, size) = (self.file_kind(), self.file_size_now()?);
        let shared = mode == MapMode::Shared;
        let data = kind.map_or(0, |k| {
            data_bytes(k, shared, (self.offset, self.len), size, self.page_size)
        });
        admit_placement(
            place,
            (data, self.map_bytes()),
            Some(&line),
            self.force_allowed(),
        )?;
        if mode == MapMode::Shared && prot.write {
            self.reopen_rw()?;
        }
        let Target::File { file, path, .. } = &self.target else {
            return Ok(());
        };
        let ctx = format!("mmap {}", crate::text::echo(&path.to_string_lossy()));
        let map = Mapping::of_file(
            file,
            (mode == MapMode::Shared, prot.write),
            self.offset,
            self.len,
            self.page_size,
            place,
        )
        .map_err(|e| SysError::from_io(&e, ctx))?;
        self.map = map;
        self.mode = mode;
        self.request.mode = mode;
        self.shmem_pages = (kind == Some(FileKind::Zero) && shared).then_some(self.pages());
        self.prot = if prot.write { Prot::RW } else { Prot::R };
        if prot != self.prot {
            self.mprotect(prot)?;
        }
        Ok(())
    }

    /// `msync(2)` over `count` pages from page `first`.
    ///
    /// # Errors
    /// EINVAL for a bad flag combination (MS_SYNC|MS_ASYNC), EBUSY for MS_INVALIDATE on locked
    /// pages, ENOMEM when part of the range is no longer mapped.
    pub fn msync(&self, first: u64, count: u64, flags: MsyncFlags) -> Result<(), SysError> {
        self.check_range(first * self.page_size, count * self.page_size, "msync")?;
        self.map
            .msync(first * self.page_size, count * self.page_size, flags)
            .map_err(|e| SysError::from_io(&e, format!("msync({})", msync_names(flags))))
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
        rustix::fs::fadvise(file, self.offset, len, advice).map_err(|e| {
            SysError::from_rustix(e, format!("posix_fadvise({})", fadvice_name(advice)))
        })
    }

    /// Whether the file is a regular file on tmpfs, where page-cache pages are always dirty:
    /// msync never cleans them and fadvise never drops them. (A device node on devtmpfs is
    /// not: its pages are the device's, not tmpfs's.)
    // f_type's width differs between architectures: the conversion is needed elsewhere.
    #[allow(clippy::useless_conversion)]
    pub fn always_dirty(&self) -> bool {
        match &self.target {
            Target::File {
                file,
                kind: FileKind::Regular,
                ..
            } => rustix::fs::fstatfs(file)
                .is_ok_and(|st| i64::from(st.f_type) == i64::from(libc::TMPFS_MAGIC)),
            _ => false,
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

impl Region {
    /// Calls the code at mapping offset `off` as `extern "C" fn(u64, u64) -> u64` in a forked
    /// child and returns at once; the `CodeChild` owns the deadline and reaps the child
    /// (`try_end`, `wait`, or its Drop). This process never executes mapped bytes: only the
    /// child does, and whatever it does (crash, loop, fork, garbage) ends with its process group.
    ///
    /// # Errors
    /// EINVAL outside the mapping; fork or pipe failures.
    pub(crate) fn spawn_code(&self, off: u64, args: (u64, u64)) -> Result<CodeChild, SysError> {
        use std::os::fd::AsFd;
        self.check_range(off, 1, "exec")?;
        // Non-blocking: a grandchild may hold the write end open forever, so the parent never
        // waits on this pipe; close-on-exec: helpers we start later must not hold it either.
        let (reader, writer) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)
            .map_err(|e| SysError::from_rustix(e, "pipe"))?;
        let limits = raw::ChildLimits {
            cpu_seconds: CHILD_CPU_LIMIT_S,
            alarm: CALL_TIMEOUT + std::time::Duration::from_secs(1),
        };
        let pid = self
            .map
            .fork_call(off, args, writer.as_fd(), limits)
            .map_err(|e| SysError::from_io(&e, "fork"))?;
        drop(writer);
        let pid = rustix::process::Pid::from_raw(pid)
            .ok_or_else(|| SysError::new(libc::ECHILD, "fork", "fork returned no child pid"))?;
        Ok(CodeChild::adopt(pid, reader))
    }
}

impl Region {
    /// How the mapping was placed (`--addr`, `--fixed`, `--populate`, `--locked`, `--huge`,
    /// `--force`).
    pub fn placement(&self) -> Placement {
        self.request.place
    }

    /// Lets the next operation (or not) populate, lock or grow memory beyond the bound of
    /// `limits::judge`: a `force` line or a confirmed question. The session sets it before
    /// every operation; `--force` (the placement's `force`) lets every one through.
    pub fn set_force(&mut self, once: bool) {
        self.force_once = once;
    }

    fn force_allowed(&self) -> bool {
        self.force_once || self.request.place.force
    }

    /// Judges later locks and growth by this MemAvailable instead of the one /proc/meminfo
    /// says at the time: a bound small enough for a test to cross without committing a
    /// quarter of the machine.
    pub fn judge_by(&mut self, mem_available: u64) {
        self.mem_available = Some(mem_available);
    }

    /// The memory bound (`limits::judge`) on what this mapping is about to commit.
    fn admit(
        &self,
        asked: &crate::sys::proc::limits::Asked,
        commit: crate::sys::proc::limits::Commit,
    ) -> Result<(), SysError> {
        let mut budget = crate::sys::proc::limits::Budget::now();
        if self.mem_available.is_some() {
            budget.mem_available = self.mem_available;
        }
        crate::sys::proc::limits::judge(asked, commit, &budget, self.force_allowed())
    }

    /// For shared anonymous memory and MAP_SHARED /dev/zero: the first page of the mapping
    /// past the shmem object made at mmap (mremap grows the mapping, never the object): no
    /// page from there on can be in memory, and a touch there raises SIGBUS. `None` for
    /// other mappings.
    pub(crate) fn shmem_end(&self) -> Option<u64> {
        self.shmem_pages
            .map(|n| n.saturating_sub(self.offset / self.page_size))
    }

    /// How many of `count` pages from page `first` can hold memory: the pages before end of
    /// file (a file with an end) or before the shmem object's end (`shmem_end`); all others.
    fn data_pages_in(&self, first: u64, count: u64) -> u64 {
        let end = first.saturating_add(count);
        let limit = match (self.shmem_end(), self.file_size_now()) {
            (Some(e), _) => e,
            (None, Ok(Some(size))) => size.saturating_sub(self.offset).div_ceil(self.page_size),
            (None, _) => u64::MAX,
        };
        end.min(limit).saturating_sub(first)
    }

    /// Bytes of `[addr + off, + len)` in VMAs that are locked already (VmFlags `lo`): mlock
    /// does not count them again (mm/mlock.c, count_mm_mlocked_page_nr).
    fn locked_bytes_in(&self, off: u64, len: u64) -> u64 {
        let (a, b) = (self.addr() + off, self.addr() + off + len);
        crate::sys::proc::maps::read_vmas(a, b)
            .unwrap_or_default()
            .iter()
            .filter(|v| v.vm_flags.iter().any(|f| f == "lo"))
            .map(|v| v.end.min(b).saturating_sub(v.start.max(a)))
            .sum()
    }

    /// Grows or shrinks the mapping to `new_len` bytes with mremap(MREMAP_MAYMOVE): in place
    /// when the address space after it is free, else at a new address the kernel picks (the
    /// pages move with their page tables, uncopied). The length, and the length a later remap
    /// uses, follow.
    ///
    /// # Errors
    /// EINVAL for a zero or impossible length; the kernel's refusal (ENOMEM: no room, or an
    /// mlocked mapping over RLIMIT_MEMLOCK); the mapping is then unchanged.
    pub(crate) fn resize(&mut self, new_len: u64) -> Result<(), SysError> {
        if new_len == 0 {
            return Err(einval(
                "resize",
                "give a size above 0 (munmap is not offered)",
            ));
        }
        check_len_of(self.offset, new_len, self.page_size, Some("resize"))?;
        let huge = self.request.place.huge;
        if huge && new_len != self.len {
            return Err(einval(
                "resize",
                "a MAP_HUGETLB mapping keeps its size here: its huge pages were reserved at mmap",
            ));
        }
        self.admit_growth(new_len)?;
        self.map
            .resize(new_len, self.page_size)
            .map_err(|e| self.resize_refused(&e))?;
        self.len = new_len;
        self.request.len = Some(new_len);
        Ok(())
    }

    /// Why mremap refused a resize. EFAULT with the mapping split into several VMAs (a lock
    /// or protect of part of it) is mremap's refusal to grow across a VMA boundary
    /// (mm/mremap.c, vma_to_resize: "We can't remap across vm area boundaries"); the VMAs
    /// are named from /proc/self/smaps, with what makes them differ and how to join them.
    fn resize_refused(&self, e: &io::Error) -> SysError {
        let ctx = "mremap(MREMAP_MAYMOVE)";
        let (base, end) = (self.addr(), self.addr() + self.map_bytes());
        let vmas = crate::sys::proc::maps::read_vmas(base, end).unwrap_or_default();
        if e.raw_os_error() != Some(libc::EFAULT) || vmas.len() < 2 {
            return SysError::from_io(e, ctx);
        }
        let locked = |v: &crate::sys::proc::maps::Vma| v.vm_flags.iter().any(|f| f == "lo");
        let ps = self.page_size;
        let parts: Vec<String> = vmas
            .iter()
            .map(|v| {
                let (a, b) = (
                    (v.start.max(base) - base) / ps,
                    (v.end.min(end) - base) / ps,
                );
                let pages = if b - a == 1 {
                    format!("page {a}")
                } else {
                    format!("pages {a}-{}", b - 1)
                };
                let lo = if locked(v) { " locked" } else { "" };
                format!("{pages} {}{lo}", v.perms)
            })
            .collect();
        let differ = |f: &dyn Fn(&crate::sys::proc::maps::Vma) -> String| {
            vmas.iter().any(|v| f(v) != f(&vmas[0]))
        };
        let fix = if differ(&|v| locked(v).to_string()) {
            "`unlock all` (or `lock all`) makes it one VMA again"
        } else if differ(&|v| v.perms.clone()) {
            "`protect` the whole mapping alike to make it one VMA again"
        } else {
            "make its parts alike (protection, lock, advice) to make it one VMA again"
        };
        SysError::new(
            libc::EFAULT,
            ctx,
            format!(
                "the mapping is {} VMAs now ({}), and mremap grows only a range inside one VMA; \
                 {fix}",
                vmas.len(),
                parts.join(", ")
            ),
        )
    }

    /// The bound on growing to `new_len`: the address space added (RLIMIT_AS), and when the
    /// mapping is locked (VmFlags `lo`), the new part, which mremap locks and faults in at once
    /// (mm/mremap.c: mm_populate of the new range of a VM_LOCKED mapping).
    fn admit_growth(&self, new_len: u64) -> Result<(), SysError> {
        let (old_pages, new_pages) = (self.pages(), new_len.div_ceil(self.page_size));
        if new_pages <= old_pages {
            return Ok(());
        }
        let grown = (new_pages - old_pages) * self.page_size;
        let locked = self.locked_bytes_in(0, self.page_size) > 0;
        let data = self.data_pages_in(old_pages, new_pages - old_pages) * self.page_size;
        let line = format!("resize {}", crate::geometry::size_word(new_len));
        let asked = crate::sys::proc::limits::Asked {
            call: "mremap(MREMAP_MAYMOVE)",
            verb: "lock and fault in (the mapping is locked, and mremap locks its new part)",
            line: Some(&line),
        };
        let commit = crate::sys::proc::limits::Commit {
            memory: if locked { data } else { 0 },
            locked: if locked { grown } else { 0 },
            address_space: grown,
        };
        self.admit(&asked, commit)
    }

    /// Moves the mapping to address `to` with mremap(MREMAP_MAYMOVE|MREMAP_FIXED), after
    /// reserving the target range (MAP_FIXED_NOREPLACE), so that nothing mapped there is
    /// replaced.
    ///
    /// # Errors
    /// EINVAL for an unaligned address, EEXIST (naming what is there) for an occupied range,
    /// the kernel's other refusals; the mapping is then unchanged.
    pub(crate) fn move_to(&mut self, to: u64) -> Result<(), SysError> {
        let ctx = "mremap(MREMAP_MAYMOVE|MREMAP_FIXED)";
        if !to.is_multiple_of(self.page_size) {
            return Err(einval(
                ctx,
                format!(
                    "0x{to:x} is not a multiple of the page size ({} B): try 0x{:x}",
                    self.page_size,
                    to - to % self.page_size
                ),
            ));
        }
        let bytes = self.map_bytes();
        self.map
            .move_to(to, self.page_size)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::EEXIST) => {
                    let there = occupants(to, bytes);
                    SysError::new(
                        libc::EEXIST,
                        ctx,
                        format!(
                            "0x{to:x}-0x{:x} is taken by {}: mmapscope reserves the target first \
                            (MAP_FIXED_NOREPLACE), since MREMAP_FIXED alone would unmap whatever \
                            lies there; choose a free address",
                            to.saturating_add(bytes),
                            if there.is_empty() {
                                "a mapping".to_string()
                            } else {
                                there.join(", ")
                            }
                        ),
                    )
                }
                Some(libc::EPERM) => {
                    below_min_addr(to, ctx).unwrap_or_else(|| SysError::from_io(&e, ctx))
                }
                _ => SysError::from_io(&e, ctx),
            })
    }

    /// mlock(2) of `count` pages from page `first`.
    ///
    /// # Errors
    /// ENOMEM/EPERM/EAGAIN explained with RLIMIT_MEMLOCK, VmLck and CAP_IPC_LOCK.
    pub(crate) fn lock(&self, first: u64, count: u64) -> Result<(), SysError> {
        let (off, len) = (first * self.page_size, count * self.page_size);
        self.check_range(off, len, "mlock")?;
        let newly = len.saturating_sub(self.locked_bytes_in(off, len));
        let line = if count == self.pages() && first == 0 {
            "lock all".to_string()
        } else {
            format!("lock page {first}")
        };
        let call = format!("mlock [{}]", &line[5..]);
        let asked = crate::sys::proc::limits::Asked {
            call: &call,
            verb: "lock",
            line: Some(&line),
        };
        let commit = crate::sys::proc::limits::Commit {
            memory: newly.min(self.data_pages_in(first, count) * self.page_size),
            locked: newly,
            address_space: 0,
        };
        self.admit(&asked, commit)?;
        self.map.mlock(off, len).map_err(|e| {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            let why = match errno {
                libc::ENOMEM | libc::EPERM | libc::EAGAIN => crate::sys::proc::limits::memlock_why(
                    &crate::sys::proc::limits::memlock(),
                    len,
                    self.page_cache_file(),
                ),
                _ => crate::sys::error::errno_sentence(errno).to_string(),
            };
            SysError::new(errno, "mlock", why)
        })
    }

    /// munlock(2) of `count` pages from page `first`.
    ///
    /// # Errors
    /// The kernel's refusal.
    pub(crate) fn unlock(&self, first: u64, count: u64) -> Result<(), SysError> {
        let (off, len) = (first * self.page_size, count * self.page_size);
        self.check_range(off, len, "munlock")?;
        self.map
            .munlock(off, len)
            .map_err(|e| SysError::from_io(&e, "munlock"))
    }

    /// madvise(MADV_COLLAPSE) of `count` pages from page `first`.
    ///
    /// # Errors
    /// EINVAL where the range is not THP-eligible or the kernel predates 6.1; EAGAIN/ENOMEM.
    pub(crate) fn collapse(&self, first: u64, count: u64) -> Result<(), SysError> {
        let (off, len) = (first * self.page_size, count * self.page_size);
        self.check_range(off, len, "madvise")?;
        self.map.madvise_collapse(off, len).map_err(|e| {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            let why = match errno {
                libc::EINVAL => {
                    "MADV_COLLAPSE (Linux >= 6.1) refuses a range that is not THP-eligible: \
                    transparent huge pages `never`, MADV_NOHUGEPAGE, or a file system without \
                    large folios"
                }
                libc::EAGAIN | libc::ENOMEM => {
                    "no huge page could be had now (memory fragmented or short): try again"
                }
                _ => crate::sys::error::errno_sentence(errno),
            };
            SysError::new(errno, "madvise(MADV_COLLAPSE)", why)
        })
    }

    /// Forks the keeper: a child that keeps every mapping of ours (this one at the same
    /// address) and waits for orders; see `children::Keeper`.
    ///
    /// # Errors
    /// pipe or fork failures.
    pub fn fork_keeper(&self) -> Result<Keeper, SysError> {
        use std::os::fd::AsFd;
        // Close-on-exec: helpers we start later (the peer) must not hold them.
        let (orders_rd, orders_wr) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)
            .map_err(|e| SysError::from_rustix(e, "pipe"))?;
        let (answers_rd, answers_wr) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)
            .map_err(|e| SysError::from_rustix(e, "pipe"))?;
        let pid = self
            .map
            .fork_keeper(orders_rd.as_fd(), answers_wr.as_fd(), self.prot.read)
            .map_err(|e| SysError::from_io(&e, "fork"))?;
        // The child's ends: only the child holds them now, so its exit closes them.
        drop((orders_rd, answers_wr));
        let pid = rustix::process::Pid::from_raw(pid)
            .ok_or_else(|| SysError::new(libc::ECHILD, "fork", "fork returned no child pid"))?;
        Ok(Keeper::adopt(
            pid,
            (orders_wr, answers_rd),
            (self.addr(), self.pages()),
            self.mode == MapMode::Shared,
        ))
    }
}

/// The CPU seconds any process descended from a code child may use: its hard RLIMIT_CPU, which
/// fork passes on and an unprivileged process cannot raise. It catches a looping grandchild
/// that left the process group (setsid) before the group kill could reach it.
const CHILD_CPU_LIMIT_S: u64 = 3;

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

fn file_size(file: &File, shown: &str) -> Result<u64, SysError> {
    file.metadata()
        .map(|m| m.size())
        .map_err(|e| SysError::from_io(&e, format!("fstat {shown}")))
}

/// `cachestat(2)` over `[off, off + len)` of `file`; `len == 0` means to end of file.
///
/// # Errors
/// ENOSYS on kernels before 6.5, EOPNOTSUPP for files without a page cache (hugetlbfs).
pub fn cachestat(file: &File, off: u64, len: u64) -> Result<CacheStat, SysError> {
    raw::cachestat(file, off, len).map_err(|e| SysError::from_io(&e, "cachestat"))
}

/// msync flags as C writes them (`MS_SYNC|MS_INVALIDATE`), for error contexts: never a Rust
/// debug string.
fn msync_names(flags: MsyncFlags) -> String {
    let names: Vec<&str> = [
        (MsyncFlags::SYNC, "MS_SYNC"),
        (MsyncFlags::ASYNC, "MS_ASYNC"),
        (MsyncFlags::INVALIDATE, "MS_INVALIDATE"),
    ]
    .into_iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, name)| name)
    .collect();
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

/// An madvise advice as C writes it.
fn madvice_name(advice: Advice) -> &'static str {
    match advice {
        Advice::WillNeed => "MADV_WILLNEED",
        Advice::LinuxDontNeed => "MADV_DONTNEED",
        Advice::LinuxCold => "MADV_COLD",
        Advice::LinuxPageOut => "MADV_PAGEOUT",
        Advice::Sequential => "MADV_SEQUENTIAL",
        Advice::Random => "MADV_RANDOM",
        Advice::Normal => "MADV_NORMAL",
        Advice::LinuxHugepage => "MADV_HUGEPAGE",
        Advice::LinuxNoHugepage => "MADV_NOHUGEPAGE",
        _ => "advice",
    }
}

/// A posix_fadvise advice as C writes it.
fn fadvice_name(advice: rustix::fs::Advice) -> &'static str {
    match advice {
        rustix::fs::Advice::DontNeed => "POSIX_FADV_DONTNEED",
        rustix::fs::Advice::WillNeed => "POSIX_FADV_WILLNEED",
        rustix::fs::Advice::Random => "POSIX_FADV_RANDOM",
        rustix::fs::Advice::Sequential => "POSIX_FADV_SEQUENTIAL",
        rustix::fs::Advice::Normal => "POSIX_FADV_NORMAL",
        rustix::fs::Advice::NoReuse => "POSIX_FADV_NOREUSE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::proc::maps;

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
            .map(|v| v.locked)
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
