//! What a mapping is asked to be (`MapRequest`: its source, mode, protection, offset, length,
//! placement) and the policy that admits it, in safe code: what to open and what to refuse
//! (directories, FIFOs, devices other than /dev/zero, unaligned offsets, impossible lengths),
//! where it may be placed (`--addr`, MAP_FIXED_NOREPLACE, `--huge`), the memory bound on what
//! it commits, and every refusal in words.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::mm::MprotectFlags;

use crate::sys::error::SysError;
use crate::sys::raw::Placement;

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

    pub(crate) fn mprotect_flags(self) -> MprotectFlags {
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

/// The system page size in bytes.
pub fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

pub(crate) fn einval(context: &str, explanation: impl Into<String>) -> SysError {
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
pub(crate) fn check_len(offset: u64, len: u64, page_size: u64) -> Result<(), SysError> {
    check_len_of(offset, len, page_size, None)
}

/// `check_len` for the length `what` asks for (`Some("resize")`: a new size for a mapping that
/// exists, whose offset is not the user's to change), the words naming it.
pub(crate) fn check_len_of(
    offset: u64,
    len: u64,
    page_size: u64,
    what: Option<&str>,
) -> Result<(), SysError> {
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
pub(crate) fn open_path(path: &Path, write: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Whether we may write the file behind `file`: faccessat on `/proc/self/fd/N`, a link to the
/// inode we hold, not whatever the original path names now.
pub(crate) fn may_write(file: &File) -> bool {
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
pub(crate) fn size_of(file: &File, kind: FileKind, shown: &str) -> Result<Option<u64>, SysError> {
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
pub(crate) struct Opened {
    pub(crate) file: File,
    pub(crate) kind: FileKind,
    pub(crate) fd_writable: bool,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

/// Classifies `path` (before opening: opening a FIFO or a device can block or act), opens it,
/// and checks that the descriptor is the file that was classified (the path may have been
/// swapped in between).
pub(crate) fn open_checked(
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
pub(crate) fn mapping_len(
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
pub(crate) fn map_refusal(
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
pub(crate) fn check_place(place: Placement, anon: bool, page_size: u64) -> Result<(), SysError> {
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
pub(crate) fn occupants(addr: u64, len: u64) -> Vec<String> {
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
pub(crate) fn place_refusal(
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
pub(crate) fn below_min_addr(addr: u64, ctx: &str) -> Option<SysError> {
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
pub(crate) fn hugetlb_len(len: u64, notes: &mut Vec<String>) -> Result<u64, SysError> {
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
pub(crate) fn placement_note(place: Placement, got: u64) -> Option<String> {
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
pub(crate) fn admit_placement(
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
pub(crate) fn data_bytes(
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

pub(crate) fn file_size(file: &File, shown: &str) -> Result<u64, SysError> {
    file.metadata()
        .map(|m| m.size())
        .map_err(|e| SysError::from_io(&e, format!("fstat {shown}")))
}
