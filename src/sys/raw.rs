//! THE unsafe module: thin shims around the calls that take a raw address, fill a kernel
//! struct, or must run in a forked child, each with a `// SAFETY:` line naming the checked
//! precondition (as rustix and memmap2 do). Everything else is safe code on top: `region`
//! decides what to map and what to refuse, `children` owns deadlines, `probe` reads state.
//!
//! The soundness argument, once: a `Mapping` is only ever touched through the kernel
//! (`process_vm_readv`/`writev`, `mincore`, `madvise`, `mprotect`, `msync`, `mlock`,
//! `mremap` and `mmap(MAP_FIXED)` over itself), every address range is checked against the
//! mapping's own bounds first, and
//! no Rust reference into the mapping is ever created, so nothing the kernel does to those
//! pages (protections, truncation by another process, discarding them) can invalidate a
//! reference or make a load fault in this process.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use rustix::mm::{Advice, MapFlags, MprotectFlags, MremapFlags, MsyncFlags, ProtFlags};

fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

/// Where and how a new mapping is placed: mmap(2)'s `addr` and the flags beyond MAP_SHARED /
/// MAP_PRIVATE. The default asks for nothing: the kernel picks the address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Placement {
    /// The address asked for: a hint, or with `fixed` the only acceptable one.
    pub addr: Option<u64>,
    /// MAP_FIXED_NOREPLACE (Linux >= 4.17): at `addr` or not at all (EEXIST when occupied).
    /// Never MAP_FIXED, which would silently replace whatever is mapped there.
    pub fixed: bool,
    /// MAP_POPULATE: fault every page in now (read-ahead for a file).
    pub populate: bool,
    /// MAP_LOCKED: as mlock(2) right after mapping (RLIMIT_MEMLOCK applies).
    pub locked: bool,
    /// MAP_HUGETLB: anonymous memory from the hugetlb pool.
    pub huge: bool,
    /// Not a flag: `--force`, populating or locking beyond the memory bound
    /// (`limits::judge`) is asked for anyway.
    pub force: bool,
}

impl Placement {
    /// The mmap flags this placement adds.
    fn flags(self) -> MapFlags {
        let mut f = MapFlags::empty();
        if self.fixed {
            f |= MapFlags::FIXED_NOREPLACE;
        }
        if self.populate {
            f |= MapFlags::POPULATE;
        }
        if self.locked {
            f |= MapFlags::LOCKED;
        }
        if self.huge {
            f |= MapFlags::HUGETLB;
        }
        f
    }

    /// The address argument of mmap: the hint or the fixed address, else NULL.
    fn hint(self) -> *mut libc::c_void {
        self.addr.unwrap_or(0) as usize as *mut libc::c_void
    }
}

/// A live mapping, owned: unmapped on drop. Only its address is kept (an integer: no pointer
/// into it ever exists), and every method checks its range against the mapping's bounds.
#[derive(Debug)]
pub(crate) struct Mapping {
    /// Start address.
    addr: usize,
    /// Bytes the kernel maps: the length rounded up to whole pages.
    bytes: u64,
}

impl Mapping {
    /// Maps `len` bytes of `file` from `offset`: MAP_SHARED or MAP_PRIVATE (without reserving
    /// swap when writable), read-only or read-write, placed as `place` says.
    ///
    /// # Errors
    /// The kernel's refusal; EEXIST when `place.fixed` and the address is taken.
    pub(crate) fn of_file(
        file: &File,
        (shared, write): (bool, bool),
        offset: u64,
        len: u64,
        page_size: u64,
        place: Placement,
    ) -> io::Result<Self> {
        let ulen = usize::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))?;
        let prot = if write {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        let flags = match (shared, write) {
            (true, _) => MapFlags::SHARED,
            (false, true) => MapFlags::PRIVATE | MapFlags::NORESERVE,
            (false, false) => MapFlags::PRIVATE,
        } | place.flags();
        // SAFETY: a new mapping. Without MAP_FIXED the kernel never replaces an existing one:
        // it picks free space (or honours the hint), or with MAP_FIXED_NOREPLACE refuses an
        // occupied range with EEXIST. No reference into the result is ever made.
        let ptr = unsafe { rustix::mm::mmap(place.hint(), ulen, prot, flags, file, offset) }?;
        Self::placed(ptr, len, page_size, place)
    }

    /// Maps `len` bytes of anonymous memory: MAP_PRIVATE|MAP_ANONYMOUS (without reserving
    /// swap), or MAP_SHARED of `/dev/zero` (the kernel's MAP_SHARED|MAP_ANONYMOUS: the same
    /// shmem object, mm/mmap.c shmem_zero_setup, drivers/char/mem.c mmap_zero); with
    /// `place.huge`, MAP_ANONYMOUS|MAP_HUGETLB (reserving its huge pages at once).
    ///
    /// # Errors
    /// The kernel's refusal.
    pub(crate) fn anonymous(
        len: u64,
        shared: bool,
        page_size: u64,
        place: Placement,
    ) -> io::Result<Self> {
        let ulen = usize::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))?;
        let rw = ProtFlags::READ | ProtFlags::WRITE;
        let ptr = if shared && !place.huge {
            let zero = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/zero")?;
            // SAFETY: as in `of_file`: a new mapping that replaces nothing.
            unsafe {
                rustix::mm::mmap(
                    place.hint(),
                    ulen,
                    rw,
                    MapFlags::SHARED | place.flags(),
                    &zero,
                    0,
                )
            }?
        } else {
            let sharing = match (shared, place.huge) {
                (true, _) => MapFlags::SHARED,
                // Hugetlb pages are reserved at mmap time: a shortage is an error now, not
                // a SIGBUS at the first touch.
                (false, true) => MapFlags::PRIVATE,
                (false, false) => MapFlags::PRIVATE | MapFlags::NORESERVE,
            };
            // SAFETY: as in `of_file`: a new mapping that replaces nothing.
            unsafe { rustix::mm::mmap_anonymous(place.hint(), ulen, rw, sharing | place.flags()) }?
        };
        Self::placed(ptr, len, page_size, place)
    }

    /// Takes charge of a mapping just made. A MAP_FIXED_NOREPLACE that the kernel treated as a
    /// hint (before Linux 4.17 it did) is undone and refused as EEXIST.
    fn placed(
        ptr: *mut libc::c_void,
        len: u64,
        page_size: u64,
        place: Placement,
    ) -> io::Result<Self> {
        let map = Self {
            addr: ptr as usize,
            bytes: len.div_ceil(page_size) * page_size,
        };
        match place.addr {
            // Dropping `map` unmaps what the kernel placed elsewhere.
            Some(want) if place.fixed && map.addr() != want => {
                Err(io::Error::from_raw_os_error(libc::EEXIST))
            }
            _ => Ok(map),
        }
    }

    /// The start address.
    pub(crate) fn addr(&self) -> u64 {
        self.addr as u64
    }

    /// mremap(2) to `new_len` bytes with MREMAP_MAYMOVE: in place when the address space after
    /// the mapping is free, else moved (the kernel moves the page tables: the pages come along
    /// without being copied).
    ///
    /// # Errors
    /// The kernel's refusal; the mapping is then unchanged.
    pub(crate) fn resize(&mut self, new_len: u64, page_size: u64) -> io::Result<()> {
        let new_bytes = new_len.div_ceil(page_size) * page_size;
        let old = self.at(0, self.bytes)?;
        let size = usize::try_from(new_bytes).map_err(|_| einval())?;
        // SAFETY: [old, old + bytes) is exactly our own mapping and no Rust reference points
        // into it. MREMAP_MAYMOVE without MREMAP_FIXED never replaces another mapping; the
        // kernel returns where the mapping now lives, which this Mapping takes over (pages past
        // a shrunk end are unmapped: nothing refers to them).
        let ptr =
            unsafe { rustix::mm::mremap(old, self.bytes as usize, size, MremapFlags::MAYMOVE) }?;
        self.addr = ptr as usize;
        self.bytes = new_bytes;
        Ok(())
    }

    /// Moves the mapping to `to` (page-aligned) with mremap(MREMAP_MAYMOVE|MREMAP_FIXED), first
    /// reserving the target with MAP_FIXED_NOREPLACE: MREMAP_FIXED alone would unmap whatever
    /// lies there (a library, the heap) without a word.
    ///
    /// # Errors
    /// EEXIST when the target range is occupied (our own mapping included); EINVAL for an
    /// unaligned target; the kernel's other refusals. The mapping is then unchanged.
    pub(crate) fn move_to(&mut self, to: u64, page_size: u64) -> io::Result<()> {
        if !to.is_multiple_of(page_size) {
            return Err(einval());
        }
        let old = self.at(0, self.bytes)?;
        let size = usize::try_from(self.bytes).map_err(|_| einval())?;
        let target = to as usize as *mut libc::c_void;
        // SAFETY: a new PROT_NONE placeholder that replaces nothing (MAP_FIXED_NOREPLACE);
        // nothing refers to it.
        let hold = unsafe {
            rustix::mm::mmap_anonymous(
                target,
                size,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE | MapFlags::FIXED_NOREPLACE,
            )
        }?;
        let placeholder = Self {
            addr: hold as usize,
            bytes: self.bytes,
        };
        if placeholder.addr() != to {
            // Before Linux 4.17 the flag was a hint; `placeholder` unmaps on drop.
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        // SAFETY: the source is exactly our own mapping, the target exactly the placeholder
        // just reserved; neither has a Rust reference. MREMAP_FIXED replaces only the
        // placeholder, atomically.
        let moved =
            unsafe { rustix::mm::mremap_fixed(old, size, size, MremapFlags::MAYMOVE, target) };
        match moved {
            Ok(ptr) => {
                // The placeholder's range is ours now: forget it without unmapping.
                std::mem::forget(placeholder);
                self.addr = ptr as usize;
                Ok(())
            }
            // `placeholder` unmaps the reservation on drop.
            Err(e) => Err(e.into()),
        }
    }

    /// mlock(2) over `[off, off + len)`: the kernel faults the pages in and keeps them in RAM.
    ///
    /// # Errors
    /// ENOMEM over RLIMIT_MEMLOCK (or for pages that cannot be faulted in, past EOF), EPERM
    /// when the limit is 0, EAGAIN.
    pub(crate) fn mlock(&self, off: u64, len: u64) -> io::Result<()> {
        let addr = self.at(off, len)?;
        // SAFETY: the range lies inside our mapping (checked by `at`). mlock faults pages in
        // through the kernel (get_user_pages), which fails the call instead of raising a signal
        // in this process for a page past EOF; no Rust reference points into the range.
        unsafe { rustix::mm::mlock(addr, len as usize) }.map_err(io::Error::from)
    }

    /// munlock(2) over `[off, off + len)`.
    ///
    /// # Errors
    /// The kernel's refusal.
    pub(crate) fn munlock(&self, off: u64, len: u64) -> io::Result<()> {
        let addr = self.at(off, len)?;
        // SAFETY: the range lies inside our mapping (checked by `at`); unlocking changes no
        // byte of it.
        unsafe { rustix::mm::munlock(addr, len as usize) }.map_err(io::Error::from)
    }

    /// madvise(MADV_COLLAPSE) over `[off, off + len)` (Linux >= 6.1, include/uapi/asm-generic/
    /// mman-common.h: 25; rustix has no name for it): collapse the range into transparent huge
    /// pages now, synchronously.
    ///
    /// # Errors
    /// EINVAL where the range is not THP-eligible (or the kernel is older), EAGAIN or ENOMEM
    /// when no huge page could be had.
    pub(crate) fn madvise_collapse(&self, off: u64, len: u64) -> io::Result<()> {
        let addr = self.at(off, len)?;
        // SAFETY: the range lies inside our mapping (checked by `at`). A collapse copies the
        // pages' contents into a huge page and remaps them; the bytes stay the same and no
        // Rust reference points into the range.
        let rc = unsafe { libc::madvise(addr, len as usize, libc::MADV_COLLAPSE) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// The address of `[off, off + len)`, checked to lie inside the mapping.
    fn at(&self, off: u64, len: u64) -> io::Result<*mut libc::c_void> {
        match off.checked_add(len) {
            Some(end) if end <= self.bytes => Ok((self.addr() + off) as *mut libc::c_void),
            _ => Err(einval()),
        }
    }

    /// Copies bytes at offset `off` into `buf` with `process_vm_readv` on our own pid, which
    /// fails with EFAULT (or a short count) where a load would raise SIGBUS or SIGSEGV.
    ///
    /// # Errors
    /// EINVAL outside the mapping; EFAULT when the first byte cannot be read.
    pub(crate) fn read(&self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
        let remote_base = self.at(off, buf.len() as u64)?;
        if buf.is_empty() {
            return Ok(0);
        }
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let remote = libc::iovec {
            iov_base: remote_base,
            iov_len: buf.len(),
        };
        // SAFETY: `local` describes `buf`, borrowed mutably for the call; `remote` lies inside
        // our mapping (checked by `at`). The kernel copies without faulting this process.
        let n = unsafe {
            libc::process_vm_readv(libc::getpid(), &raw const local, 1, &raw const remote, 1, 0)
        };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }

    /// Writes `data` at offset `off` as a store would (copy-on-write in a private mapping),
    /// with `process_vm_writev`, which respects protections and fails with EFAULT instead of
    /// raising a signal.
    ///
    /// # Errors
    /// EINVAL outside the mapping; EFAULT when the page cannot be written.
    pub(crate) fn write(&self, off: u64, data: &[u8]) -> io::Result<usize> {
        let remote_base = self.at(off, data.len() as u64)?;
        if data.is_empty() {
            return Ok(0);
        }
        let local = libc::iovec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        };
        let remote = libc::iovec {
            iov_base: remote_base,
            iov_len: data.len(),
        };
        // SAFETY: `local` describes `data`, only read by the kernel; `remote` lies inside our
        // mapping (checked by `at`), which no Rust reference aliases.
        let n = unsafe {
            libc::process_vm_writev(libc::getpid(), &raw const local, 1, &raw const remote, 1, 0)
        };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }

    /// `mincore(2)` over `[off, off + out.len() pages)`: one byte per page.
    ///
    /// # Errors
    /// EINVAL outside the mapping; ENOMEM if the range is no longer mapped.
    pub(crate) fn mincore(&self, off: u64, page_size: u64, out: &mut [u8]) -> io::Result<()> {
        let len = out.len() as u64 * page_size;
        let addr = self.at(off, len)?;
        if out.is_empty() {
            return Ok(());
        }
        // SAFETY: [addr, addr + len) lies inside our mapping (checked by `at`), and `out` has
        // exactly one byte per page of it, as mincore(2) requires.
        let rc = unsafe { libc::mincore(addr, len as usize, out.as_mut_ptr()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// `madvise(2)` over `[off, off + len)`.
    ///
    /// # Errors
    /// EINVAL outside the mapping; the kernel's refusal.
    pub(crate) fn madvise(&self, off: u64, len: u64, advice: Advice) -> io::Result<()> {
        let addr = self.at(off, len)?;
        // SAFETY: the range lies inside our mapping (checked by `at`). No Rust reference points
        // into it, so no advice (even one that discards pages) can invalidate one.
        unsafe { rustix::mm::madvise(addr, len as usize, advice) }.map_err(io::Error::from)
    }

    /// `mprotect(2)` of the whole mapping.
    ///
    /// # Errors
    /// The kernel's refusal (EACCES: PROT_WRITE on a shared mapping of a read-only descriptor).
    pub(crate) fn mprotect(&self, flags: MprotectFlags) -> io::Result<()> {
        let addr = self.at(0, self.bytes)?;
        // SAFETY: exactly our mapping, and no Rust reference points into it, so changing its
        // protection cannot invalidate a reference.
        unsafe { rustix::mm::mprotect(addr, self.bytes as usize, flags) }.map_err(io::Error::from)
    }

    /// `msync(2)` over `[off, off + len)`.
    ///
    /// # Errors
    /// EINVAL outside the mapping or for a bad flag combination; EBUSY; ENOMEM.
    pub(crate) fn msync(&self, off: u64, len: u64, flags: MsyncFlags) -> io::Result<()> {
        let addr = self.at(off, len)?;
        // SAFETY: the range lies inside our mapping (checked by `at`); msync writes back or
        // invalidates page-cache state and changes nothing a Rust reference could see.
        unsafe { rustix::mm::msync(addr, len as usize, flags) }.map_err(io::Error::from)
    }

    /// Maps `file` from `file_offset` MAP_SHARED|MAP_FIXED over this whole mapping, in place:
    /// same address, same page-cache pages (a shared file mapping holds no data of its own).
    ///
    /// # Errors
    /// The kernel's refusal; the mapping is then unchanged.
    pub(crate) fn remap_shared_in_place(
        &self,
        file: &File,
        file_offset: u64,
        prot: ProtFlags,
    ) -> io::Result<()> {
        let addr = self.at(0, self.bytes)?;
        // SAFETY: [addr, addr + bytes) is exactly our own mapping (the range this Mapping
        // unmaps on drop), and no Rust reference points into it. MAP_FIXED replaces it
        // atomically with a mapping of the same length, so this Mapping still owns the range.
        let placed = unsafe {
            rustix::mm::mmap(
                addr,
                self.bytes as usize,
                prot,
                MapFlags::SHARED | MapFlags::FIXED,
                file,
                file_offset,
            )
        }?;
        if placed == addr {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(libc::EFAULT))
        }
    }

    /// Forks a child that calls the code at offset `off` as `extern "C" fn(u64, u64) -> u64`
    /// with `args`, after containing itself (see `code_child`), and writes the result on
    /// `writer`. Returns the child's pid; the child never returns.
    ///
    /// # Errors
    /// EINVAL outside the mapping; fork's refusal.
    pub(crate) fn fork_call(
        &self,
        off: u64,
        args: (u64, u64),
        writer: BorrowedFd<'_>,
        limits: ChildLimits,
    ) -> io::Result<libc::pid_t> {
        let entry = self.at(off, 1)? as u64;
        let parent = rustix::process::getpid().as_raw_nonzero().get();
        // SAFETY: fork has no memory preconditions. The child runs only `code_child`, which
        // takes no lock and allocates nothing before the call (async-signal-safe calls only), so
        // it is sound even when other threads existed at the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: we are the child just forked above, and `entry` lies inside our mapping
            // (checked by `at`).
            unsafe { code_child(entry, args, writer.as_raw_fd(), parent, limits) }
        }
        Ok(pid)
    }

    /// Forks the keeper: a child that keeps every mapping of ours (this one at the same
    /// address) and serves orders read from `orders` (see `keeper_child`), answering on
    /// `answers`; `readable`: the mapping has PROT_READ now (the child's copy keeps the
    /// protection of the fork). Returns its pid; the child never returns.
    ///
    /// # Errors
    /// fork's refusal.
    pub(crate) fn fork_keeper(
        &self,
        orders: BorrowedFd<'_>,
        answers: BorrowedFd<'_>,
        readable: bool,
    ) -> io::Result<libc::pid_t> {
        let parent = rustix::process::getpid().as_raw_nonzero().get();
        let (base, bytes) = (self.addr(), self.bytes);
        // SAFETY: fork has no memory preconditions. The child runs only `keeper_child`, which
        // takes no lock and allocates nothing (async-signal-safe calls only, on fixed buffers),
        // so it is sound even when other threads existed at the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: we are the child just forked above; [base, base + bytes) is this
            // mapping, which the child inherited at the same address.
            unsafe {
                keeper_child(
                    (base, bytes, readable),
                    (orders.as_raw_fd(), answers.as_raw_fd()),
                    parent,
                )
            }
        }
        Ok(pid)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Ok(addr) = self.at(0, self.bytes) {
            // SAFETY: exactly our own mapping, which nothing refers to; after this the
            // Mapping is gone. An error (nothing we could do about it) leaves it mapped.
            let _ = unsafe { rustix::mm::munmap(addr, self.bytes as usize) };
        }
    }
}

/// `mincore(2)` over `[addr, addr + out.len() pages)` of our own address space, any range:
/// the kernel only reports page state into `out` (ENOMEM where nothing is mapped).
///
/// # Errors
/// ENOMEM for a range with an unmapped hole; EINVAL for an unaligned address.
pub(crate) fn mincore_at(addr: u64, page_size: u64, out: &mut [u8]) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let len = usize::try_from(out.len() as u64 * page_size).map_err(|_| einval())?;
    // SAFETY: mincore reads page-table state of [addr, addr + len) without touching that
    // memory, and writes exactly one byte per page into `out`, which has that many.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, out.as_mut_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// What a code child may use: its descendants inherit these (fork keeps rlimits).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildLimits {
    /// Hard RLIMIT_CPU in seconds: a looping grandchild that left the process group ends.
    pub(crate) cpu_seconds: u64,
    /// An `alarm` backstop, should the parent be stopped past its own deadline.
    pub(crate) alarm: Duration,
}

/// The life of a child forked by `fork_call`: contain it, call the code, report, exit. Until
/// the call, only async-signal-safe functions (signal-safety(7)): the parent may have had other
/// threads at the fork, whose locks this copy would wait for forever.
///
/// # Safety
/// Only in a child just forked, with `entry` inside a live mapping and `writer` the write end
/// of the result pipe.
unsafe fn code_child(
    entry: u64,
    args: (u64, u64),
    writer: libc::c_int,
    parent: libc::pid_t,
    limits: ChildLimits,
) -> ! {
    // SAFETY: each call below is async-signal-safe and gets valid pointers to locals. What the
    // mapped bytes do can only harm this child and its own descendants: the kernel kills it on
    // a fault (SIGSEGV/SIGBUS/SIGILL); the parent kills its process group at the deadline, and
    // PR_SET_PDEATHSIG kills it if the parent dies first.
    unsafe {
        default_signals();
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
            rlim_cur: limits.cpu_seconds as libc::rlim_t,
            rlim_max: limits.cpu_seconds as libc::rlim_t,
        };
        libc::setrlimit(libc::RLIMIT_CPU, &raw const cpu);
        // Nothing of ours for the code to write on (the screen, batch's JSON stream) or to keep
        // open after we end: stdio from /dev/null, every other descriptor closed but the pipe.
        only_fds(&mut [writer]);
        libc::alarm(u32::try_from(limits.alarm.as_secs()).unwrap_or(3));
        let f: extern "C" fn(u64, u64) -> u64 = std::mem::transmute(entry as usize);
        let value = f(args.0, args.1).to_le_bytes();
        libc::write(writer, value.as_ptr().cast(), value.len());
        libc::_exit(0);
    }
}

/// In a child just forked: default dispositions and an empty mask, so that a parent that
/// ignores or blocks SIGALRM, or handles SIGTERM (batch mode kills its children from a
/// handler), passes none of it on. 1..=64 covers _NSIG on Linux (arch/x86/include/asm/
/// signal.h, include/uapi/asm-generic/signal.h); glibc's two internal signals and SIGKILL/
/// SIGSTOP refuse with EINVAL, harmlessly.
///
/// # Safety
/// Only in a child just forked (async-signal-safe calls on locals).
unsafe fn default_signals() {
    // SAFETY: sigaction and sigprocmask are async-signal-safe and get valid pointers to locals.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..=64 {
            libc::sigaction(sig, &raw const dfl, std::ptr::null_mut());
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const none, std::ptr::null_mut());
    }
}

/// In a child just forked: stdin, stdout and stderr from /dev/null and every other descriptor
/// closed but those in `keep` (sorted here in place: no allocation), so that the child holds
/// nothing of ours (the terminal, batch's JSON stream, other children's pipes) open.
///
/// # Safety
/// Only in a child just forked, with `keep` the descriptors it still needs.
unsafe fn only_fds(keep: &mut [libc::c_int]) {
    keep.sort_unstable();
    // SAFETY: open, dup2, close and syscall(close_range) are async-signal-safe; the descriptors
    // closed are the child's own copies.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                if !keep.contains(&fd) && fd != null {
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
        let mut first: libc::c_uint = 3;
        for &fd in keep.iter().filter(|&&fd| fd >= 3) {
            let fd = fd.cast_unsigned();
            if fd > first {
                close_range(first, fd - 1);
            }
            first = first.max(fd + 1);
        }
        close_range(first, libc::c_uint::MAX);
    }
}

/// Bytes of data one keeper order carries: a read's length at most, a write's bytes.
pub(crate) const KEEPER_DATA: usize = 4096;
/// A keeper order on its pipe: kind, mapping offset and length (u64 little-endian each), then
/// `KEEPER_DATA` bytes (a write's). Fixed-size, so the child never allocates.
pub(crate) const ORDER_LEN: usize = 24 + KEEPER_DATA;
/// A keeper answer: the result (i64: bytes done, or -errno), the old bytes' result before a
/// write (i64, the same way), then `KEEPER_DATA` bytes (what was read, or the old bytes).
pub(crate) const ANSWER_LEN: usize = 16 + KEEPER_DATA;
/// Order kinds.
pub(crate) const ORDER_READ: u64 = 1;
pub(crate) const ORDER_WRITE: u64 = 2;
pub(crate) const ORDER_EXIT: u64 = 3;

/// The life of the keeper forked by `fork_keeper`: contain itself (default signals, die with
/// the parent, no descriptor of ours but its two pipes), then serve orders until `ORDER_EXIT`,
/// end of file on `orders` (the parent closed it, or died) or a failed answer. Only
/// async-signal-safe calls on fixed buffers: the parent may have had other threads at the
/// fork (the TUI's watchdog), whose locks (malloc's among them) this copy would wait for
/// forever.
///
/// # Safety
/// Only in a child just forked, with `[base, base + bytes)` the mapping it inherited and the
/// two pipe ends its own.
unsafe fn keeper_child(
    (base, bytes, readable): (u64, u64, bool),
    (orders, answers): (libc::c_int, libc::c_int),
    parent: libc::pid_t,
) -> ! {
    // SAFETY: each call is async-signal-safe and gets valid pointers to locals; `keeper_serve`
    // touches the mapping only through the kernel.
    unsafe {
        default_signals();
        // Die with the parent; if the parent died before this took effect, no signal will
        // come: getppid then names whoever adopted us.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(127);
        }
        only_fds(&mut [orders, answers]);
        // Reads go through /proc/self/mem: process_vm_readv would pin the page, and pinning an
        // anonymous page shared with the parent copies it first (see Region::read_without_
        // pinning). -1 (no /proc): reads fail with EBADF.
        let mem = if readable {
            libc::open(c"/proc/self/mem".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC)
        } else {
            -1
        };
        let me = libc::getpid();
        let mut order = [0u8; ORDER_LEN];
        let mut answer = [0u8; ANSWER_LEN];
        while fd_read_full(orders, &mut order) {
            let word = |i: usize| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&order[i * 8..i * 8 + 8]);
                u64::from_le_bytes(w)
            };
            let (kind, off, len) = (word(0), word(1), word(2));
            if kind == ORDER_EXIT {
                break;
            }
            answer.fill(0);
            let (done, old) = keeper_serve(
                (me, mem),
                (base, bytes),
                (kind, off, len),
                &order[24..],
                &mut answer[16..],
            );
            answer[..8].copy_from_slice(&done.to_le_bytes());
            answer[8..16].copy_from_slice(&old.to_le_bytes());
            if !fd_write_full(answers, &answer) {
                break;
            }
        }
        libc::_exit(0);
    }
}

/// One order in the keeper: read `len` bytes at mapping offset `off` into `out` (pread of
/// /proc/self/mem, `mem`: a plain reference, which leaves a page shared with the parent
/// shared; -1 when the copy is not readable), or write `data[..len]` there after reading the
/// old bytes into `out` (process_vm_writev on its own pid, which respects the protection and
/// copies a shared page as a store would). A page past EOF or without the protection fails
/// with an errno, never a signal. Returns (bytes done or -errno, old bytes read or -errno).
///
/// # Safety
/// Only in the keeper; `[base, base + bytes)` its copy of the mapping.
unsafe fn keeper_serve(
    (me, mem): (libc::pid_t, libc::c_int),
    (base, bytes): (u64, u64),
    (kind, off, len): (u64, u64, u64),
    data: &[u8],
    out: &mut [u8],
) -> (i64, i64) {
    let inside = off.checked_add(len).is_some_and(|end| end <= bytes);
    if !inside || len as usize > KEEPER_DATA || len == 0 {
        return (-i64::from(libc::EINVAL), 0);
    }
    let n = len as usize;
    let at = base + off;
    // SAFETY: `out` and `data` hold at least `n` bytes (checked against KEEPER_DATA above) and
    // are borrowed for the calls; the remote range lies inside the mapping (checked above).
    unsafe {
        match kind {
            ORDER_READ => (mem_read(mem, out.as_mut_ptr(), at, n), 0),
            ORDER_WRITE => {
                let old = mem_read(mem, out.as_mut_ptr(), at, n);
                let done = vm_copy(me, true, data.as_ptr().cast_mut(), at, n);
                (done, old)
            }
            _ => (-i64::from(libc::EINVAL), 0),
        }
    }
}

/// pread(2) of `len` bytes at address `at` of `mem` (/proc/self/mem) into `local`, by its
/// syscall number (a bare syscall: async-signal-safe): bytes read, or -errno (EIO past EOF,
/// EBADF when `mem` is -1).
///
/// # Safety
/// `local` must be valid for writing `len` bytes.
unsafe fn mem_read(mem: libc::c_int, local: *mut u8, at: u64, len: usize) -> i64 {
    if mem < 0 {
        return -i64::from(libc::EFAULT);
    }
    // SAFETY: `local` is valid for `len` bytes (the caller's promise); errno is this thread's.
    unsafe {
        let n = libc::syscall(libc::SYS_pread64, mem, local, len, at as libc::off_t);
        if n < 0 {
            -i64::from(*libc::__errno_location())
        } else {
            n
        }
    }
}

/// process_vm_readv (or, with `write`, process_vm_writev) of `len` bytes between `local` and
/// the address `remote` of process `pid`: bytes done, or -errno.
///
/// # Safety
/// `local` must be valid for `len` bytes (written for a read, only read for a write).
unsafe fn vm_copy(pid: libc::pid_t, write: bool, local: *mut u8, remote: u64, len: usize) -> i64 {
    let l = libc::iovec {
        iov_base: local.cast(),
        iov_len: len,
    };
    let r = libc::iovec {
        iov_base: remote as usize as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: `l` describes `len` valid bytes (the caller's promise); the kernel checks the
    // remote range and fails with EFAULT instead of faulting; errno is this thread's.
    unsafe {
        let n = if write {
            libc::process_vm_writev(pid, &raw const l, 1, &raw const r, 1, 0)
        } else {
            libc::process_vm_readv(pid, &raw const l, 1, &raw const r, 1, 0)
        };
        if n < 0 {
            -i64::from(*libc::__errno_location())
        } else {
            n as i64
        }
    }
}

/// Reads exactly `buf.len()` bytes from `fd` (raw read(2), retried on EINTR): false at end of
/// file or on an error.
///
/// # Safety
/// Async-signal-safe; `fd` is any descriptor.
unsafe fn fd_read_full(fd: libc::c_int, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the pointer and length describe the unfilled rest of `buf`.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        // SAFETY: errno of this thread.
        if n < 0 && unsafe { *libc::__errno_location() } == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        got += n as usize;
    }
    true
}

/// Writes all of `buf` to `fd` (raw write(2), retried on EINTR): false on an error.
///
/// # Safety
/// Async-signal-safe; `fd` is any descriptor.
unsafe fn fd_write_full(fd: libc::c_int, buf: &[u8]) -> bool {
    let mut put = 0;
    while put < buf.len() {
        // SAFETY: the pointer and length describe the unwritten rest of `buf`.
        let n = unsafe { libc::write(fd, buf[put..].as_ptr().cast(), buf.len() - put) };
        // SAFETY: errno of this thread.
        if n < 0 && unsafe { *libc::__errno_location() } == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        put += n as usize;
    }
    true
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

/// Gives the allocator's free memory back to the system: glibc's `malloc_trim(0)` returns
/// the free pages of every arena (MADV_DONTNEED), not only the top of the heap. Returns
/// whether any memory was released. Elsewhere (musl) it does nothing.
pub fn trim_heap() -> bool {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: malloc_trim only walks glibc's own free lists under the arenas' locks; it
        // takes no pointer of ours and frees nothing still allocated.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(target_env = "gnu"))]
    {
        false
    }
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
pub(crate) fn cachestat(file: &File, off: u64, len: u64) -> io::Result<CacheStat> {
    let range = CachestatRange { off, len };
    let mut raw = CachestatRaw::default();
    // SAFETY: `range` and `raw` are live, laid out as the uapi header says (#[repr(C)]) and
    // outlive the call; the fd is open for the duration of the borrow of `file`; flags are 0.
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
        return Err(io::Error::last_os_error());
    }
    Ok(CacheStat {
        nr_cache: raw.nr_cache,
        nr_dirty: raw.nr_dirty,
        nr_writeback: raw.nr_writeback,
        nr_evicted: raw.nr_evicted,
        nr_recently_evicted: raw.nr_recently_evicted,
    })
}

/// The kernel's `struct page_region` (include/uapi/linux/fs.h, Linux >= 6.7): the pages
/// `[start, end)` (addresses) share the PAGE_IS_* `categories` asked for in `return_mask`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageRegion {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) categories: u64,
}

/// The kernel's `struct pm_scan_arg` (include/uapi/linux/fs.h, Linux >= 6.7).
#[repr(C)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `PAGEMAP_SCAN` = `_IOWR('f', 16, struct pm_scan_arg)` (include/uapi/linux/fs.h): direction
/// read|write (3) in bits 30-31, the argument's size (96 bytes) in bits 16-29, type 'f', nr 16.
const PAGEMAP_SCAN: u64 =
    (3 << 30) | ((std::mem::size_of::<PmScanArg>() as u64) << 16) | (0x66 << 8) | 16;

/// An open `/proc/PID/pagemap` (Documentation/admin-guide/mm/pagemap.rst): read it as a
/// `File` (it derefs to one) for the 64-bit words, or `scan` it with PAGEMAP_SCAN. Only such a
/// file is ever sent that ioctl.
#[derive(Debug)]
pub struct Pagemap(File);

impl Pagemap {
    /// Our own: `/proc/self/pagemap`.
    ///
    /// # Errors
    /// /proc unreadable.
    pub(crate) fn of_self() -> io::Result<Self> {
        File::open("/proc/self/pagemap").map(Self)
    }

    /// Another process's: `/proc/PID/pagemap` (the kernel checks ptrace access).
    ///
    /// # Errors
    /// No such process, or no permission.
    pub(crate) fn of(pid: u32) -> io::Result<Self> {
        File::open(format!("/proc/{pid}/pagemap")).map(Self)
    }
}

impl From<File> for Pagemap {
    /// A pagemap file opened elsewhere (a process handle's, dup'ed).
    fn from(file: File) -> Self {
        Self(file)
    }
}

impl std::ops::Deref for Pagemap {
    type Target = File;
    fn deref(&self) -> &File {
        &self.0
    }
}

impl Pagemap {
    /// `ioctl(PAGEMAP_SCAN)` (Linux >= 6.7, Documentation/admin-guide/mm/pagemap.rst): the
    /// page-table walk of `[start, end)` (addresses of that process)
    /// fills `out` with the regions whose pages have any of the PAGE_IS_* categories `anyof`,
    /// split where the categories in `return_mask` change. Returns how many regions were written
    /// and the address where the walk stopped (`end` unless `out` filled up first: call again from
    /// there). It only reads page tables: no flags are passed (no PM_SCAN_WP_MATCHING).
    ///
    /// # Errors
    /// ENOTTY (or EINVAL for an unknown argument size) on kernels before 6.7; EFAULT for a range
    /// outside the address space.
    pub(crate) fn scan(
        &self,
        start: u64,
        end: u64,
        anyof: u64,
        return_mask: u64,
        out: &mut [PageRegion],
    ) -> io::Result<(usize, u64)> {
        let mut arg = PmScanArg {
            size: std::mem::size_of::<PmScanArg>() as u64,
            flags: 0,
            start,
            end,
            walk_end: 0,
            vec: out.as_mut_ptr() as u64,
            vec_len: out.len() as u64,
            max_pages: 0,
            category_inverted: 0,
            category_mask: 0,
            category_anyof_mask: anyof,
            return_mask,
        };
        // SAFETY: `arg` is a live #[repr(C)] struct laid out as the uapi header and its `size`
        // field says so (a kernel with another layout refuses with EINVAL); `vec`/`vec_len`
        // describe `out`, borrowed mutably for the call, and the kernel writes at most `vec_len`
        // regions into it; with no flags the kernel only reads page tables, so no memory of ours
        // changes but `arg` and `out`; the fd is an open pagemap file (the only kind a `Pagemap`
        // holds), open for the borrow of `self`.
        let rc = unsafe {
            libc::ioctl(
                self.0.as_raw_fd(),
                PAGEMAP_SCAN as libc::Ioctl,
                &raw mut arg,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = usize::try_from(rc).unwrap_or(0).min(out.len());
        Ok((n, arg.walk_end))
    }
}

/// `struct procmap_query` of linux/fs.h (Linux >= 6.11).
#[repr(C)]
#[derive(Default)]
struct ProcmapQueryArg {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// `_IOWR('f', 17, struct procmap_query)`.
const PROCMAP_QUERY: u64 = 0xc068_6611;
const PROCMAP_QUERY_COVERING_OR_NEXT_VMA: u64 = 0x10;

/// One VMA as PROCMAP_QUERY describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueriedVma {
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// PROCMAP_QUERY_VMA_READABLE (1), WRITABLE (2), EXECUTABLE (4), SHARED (8).
    pub(crate) flags: u64,
    pub(crate) offset: u64,
    pub(crate) inode: u64,
    pub(crate) dev_major: u32,
    pub(crate) dev_minor: u32,
    /// Its name as maps writes it (a path, `[heap]`, or empty).
    pub(crate) name: Vec<u8>,
}

/// An open `/proc/PID/maps`, for the PROCMAP_QUERY ioctl: one VMA looked up by address
/// without reading (or the kernel generating) the whole text.
#[derive(Debug)]
pub(crate) struct MapsFile(File);

impl MapsFile {
    /// Opens `path` (a `/proc/.../maps`).
    ///
    /// # Errors
    /// No such process, or no permission (the kernel checks ptrace read access).
    #[cfg(test)]
    pub(crate) fn open(path: &str) -> io::Result<Self> {
        File::open(path).map(Self)
    }

    /// A maps file opened elsewhere (a process handle's); only ever a maps file.
    pub(crate) fn from_maps(file: File) -> Self {
        Self(file)
    }

    /// The open maps file, for reading its text.
    pub(crate) fn file(&self) -> &File {
        &self.0
    }

    /// The VMA covering `addr` (with `next`: or the first one after it); `None` when there
    /// is none.
    ///
    /// # Errors
    /// ENOTTY before Linux 6.11; ESRCH once the process has exited.
    pub(crate) fn query(&self, addr: u64, next: bool) -> io::Result<Option<QueriedVma>> {
        let mut name = vec![0u8; 4096];
        let mut arg = ProcmapQueryArg {
            size: std::mem::size_of::<ProcmapQueryArg>() as u64,
            query_flags: if next {
                PROCMAP_QUERY_COVERING_OR_NEXT_VMA
            } else {
                0
            },
            query_addr: addr,
            vma_name_size: name.len() as u32,
            vma_name_addr: name.as_mut_ptr() as u64,
            ..ProcmapQueryArg::default()
        };
        // SAFETY: `arg` is a `struct procmap_query` of the size it says, borrowed mutably for
        // the call; the kernel writes at most `vma_name_size` bytes to `vma_name_addr`, which
        // points into `name`, alive and unaliased across the call; no build id is asked for
        // (size 0, address 0). The fd is an open maps file (the only kind `MapsFile` holds).
        let rc = unsafe {
            libc::ioctl(
                self.0.as_raw_fd(),
                PROCMAP_QUERY as libc::Ioctl,
                &raw mut arg,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::ENOENT) => Ok(None),
                _ => Err(err),
            };
        }
        // The size written counts the terminating NUL (0 when the VMA has no name).
        name.truncate(
            (arg.vma_name_size as usize)
                .saturating_sub(1)
                .min(name.len()),
        );
        Ok(Some(QueriedVma {
            start: arg.vma_start,
            end: arg.vma_end,
            flags: arg.vma_flags,
            offset: arg.vma_offset,
            inode: arg.inode,
            dev_major: arg.dev_major,
            dev_minor: arg.dev_minor,
            name,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procmap_query_has_the_uapi_layout() {
        // _IOWR('f', 17, struct procmap_query) with a 104-byte argument, as in linux/fs.h.
        assert_eq!(std::mem::size_of::<ProcmapQueryArg>(), 104);
        assert_eq!(
            PROCMAP_QUERY,
            (3 << 30) | (104 << 16) | (u64::from(b'f') << 8) | 17
        );
    }

    #[test]
    fn pagemap_scan_request_number_matches_the_uapi_header() {
        // _IOWR('f', 16, struct pm_scan_arg) with a 96-byte argument, as in linux/fs.h.
        assert_eq!(std::mem::size_of::<PmScanArg>(), 96);
        assert_eq!(PAGEMAP_SCAN, 0xc060_6610);
    }

    #[test]
    fn mincore_at_reports_our_stack_resident() {
        let local = [7u8, 8, 9];
        let ps = rustix::param::page_size() as u64;
        let mut core = [0u8; 1];
        let page = local.as_ptr() as u64 & !(ps - 1);
        mincore_at(page, ps, &mut core).unwrap();
        assert_eq!(core[0] & 1, 1, "our stack is resident");
    }

    #[test]
    fn every_range_is_checked_against_the_mapping() {
        let ps = rustix::param::page_size() as u64;
        let m = Mapping::anonymous(2 * ps, false, ps, Placement::default()).unwrap();
        let mut buf = [0u8; 4];
        assert!(m.read(2 * ps - 4, &mut buf).is_ok());
        assert_eq!(
            m.read(2 * ps - 3, &mut buf).unwrap_err().raw_os_error(),
            Some(libc::EINVAL)
        );
        assert!(m.write(u64::MAX - 1, &buf).is_err(), "no overflow");
        assert!(m.madvise(ps, 2 * ps, Advice::LinuxDontNeed).is_err());
        let mut core = [0u8; 3];
        assert!(
            m.mincore(0, ps, &mut core).is_err(),
            "3 pages of a 2-page mapping"
        );
        assert_eq!(m.write(0, b"hi").unwrap(), 2);
        assert_eq!(m.read(0, &mut buf[..2]).unwrap(), 2);
        assert_eq!(&buf[..2], b"hi");
    }
}
