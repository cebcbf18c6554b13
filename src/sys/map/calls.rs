//! The calls on a live mapping, each checked against its bounds and refused in words: writes
//! as a store would make them, mincore, madvise, mprotect (and reopening a file read-write when
//! writing is allowed), msync, fadvise, remapping in another mode, mremap (`resize`,
//! `move_to`), mlock, khugepaged collapse, and the two children that run on it: mapped code
//! (`spawn_code`) and the keeper of `fork` (`fork_keeper`).

use std::io;
use std::os::unix::fs::MetadataExt;

use rustix::mm::{Advice, MsyncFlags};
use rustix::pipe::PipeFlags;

use crate::sys::contain::children::{CALL_TIMEOUT, CodeChild, Keeper};
use crate::sys::error::SysError;
use crate::sys::raw::{self, Mapping};

use crate::sys::map::region::*;
use crate::sys::map::request::*;

impl Region {
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
    /// gate has the user's consent (`sys::ops::gate`; `sys::ops::on_mapping::protect` calls it with a permit
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
}

impl Region {
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
        self.bound.force_once = once;
    }

    fn force_allowed(&self) -> bool {
        self.bound.force_once || self.request.place.force
    }

    /// Judges later locks and growth by this MemAvailable instead of the one /proc/meminfo
    /// says at the time: a bound small enough for a test to cross without committing a
    /// quarter of the machine.
    pub fn judge_by(&mut self, mem_available: u64) {
        self.bound.mem_available = Some(mem_available);
    }

    /// The memory bound (`limits::judge`) on what this mapping is about to commit.
    fn admit(
        &self,
        asked: &crate::sys::proc::limits::Asked,
        commit: crate::sys::proc::limits::Commit,
    ) -> Result<(), SysError> {
        let mut budget = crate::sys::proc::limits::Budget::now();
        if self.bound.mem_available.is_some() {
            budget.mem_available = self.bound.mem_available;
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
            .map(|v| v.head.end.min(b).saturating_sub(v.head.start.max(a)))
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
                    (v.head.start.max(base) - base) / ps,
                    (v.head.end.min(end) - base) / ps,
                );
                let pages = if b - a == 1 {
                    format!("page {a}")
                } else {
                    format!("pages {a}-{}", b - 1)
                };
                let lo = if locked(v) { " locked" } else { "" };
                format!("{pages} {}{lo}", v.head.perms)
            })
            .collect();
        let differ = |f: &dyn Fn(&crate::sys::proc::maps::Vma) -> String| {
            vmas.iter().any(|v| f(v) != f(&vmas[0]))
        };
        let fix = if differ(&|v| locked(v).to_string()) {
            "`unlock all` (or `lock all`) makes it one VMA again"
        } else if differ(&|v| v.head.perms.clone()) {
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
}

impl Region {
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

/// msync flags as C writes them (`MS_SYNC|MS_INVALIDATE`), for error contexts: never a Rust
/// debug string.
pub(crate) fn msync_names(flags: MsyncFlags) -> String {
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
pub(crate) fn madvice_name(advice: Advice) -> &'static str {
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
pub(crate) fn fadvice_name(advice: rustix::fs::Advice) -> &'static str {
    match advice {
        rustix::fs::Advice::DontNeed => "POSIX_FADV_DONTNEED",
        rustix::fs::Advice::WillNeed => "POSIX_FADV_WILLNEED",
        rustix::fs::Advice::Random => "POSIX_FADV_RANDOM",
        rustix::fs::Advice::Sequential => "POSIX_FADV_SEQUENTIAL",
        rustix::fs::Advice::Normal => "POSIX_FADV_NORMAL",
        rustix::fs::Advice::NoReuse => "POSIX_FADV_NOREUSE",
    }
}
