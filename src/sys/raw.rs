//! THE unsafe module: thin shims around the calls that take a raw address, fill a kernel
//! struct, or must run in a forked child, each with a `// SAFETY:` line naming the checked
//! precondition (as rustix and memmap2 do). Everything else is safe code on top: `region`
//! decides what to map and what to refuse, `children` owns deadlines, `probe` reads state.
//!
//! The soundness argument, once: a `Mapping` is only ever touched through the kernel
//! (`process_vm_readv`/`writev`, `mincore`, `madvise`, `mprotect`, `msync`, `mmap(MAP_FIXED)`
//! over itself), every address range is checked against the mapping's own bounds first, and
//! no Rust reference into the mapping is ever created, so nothing the kernel does to those
//! pages (protections, truncation by another process, discarding them) can invalidate a
//! reference or make a load fault in this process.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use memmap2::{MmapOptions, MmapRaw};
use rustix::mm::{Advice, MapFlags, MprotectFlags, MsyncFlags, ProtFlags};

fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

/// A live mapping, owned: unmapped on drop (memmap2's `MmapRaw`, which hands out raw pointers
/// only). Every method checks its range against the mapping's bounds.
#[derive(Debug)]
pub struct Mapping {
    map: MmapRaw,
    /// Bytes the kernel maps: the length rounded up to whole pages.
    bytes: u64,
}

impl Mapping {
    /// Maps `len` bytes of `file` from `offset`: MAP_SHARED or MAP_PRIVATE (without reserving
    /// swap), read-only or read-write.
    ///
    /// # Errors
    /// The kernel's refusal.
    pub fn of_file(
        file: &File,
        shared: bool,
        write: bool,
        offset: u64,
        len: u64,
        page_size: u64,
    ) -> io::Result<Self> {
        let ulen = usize::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))?;
        let mut opts = MmapOptions::new();
        opts.offset(offset).len(ulen);
        // SAFETY: memmap2 marks file mappings unsafe because another process may change the
        // file under a `&[u8]`. No reference into this mapping is ever made: `MmapRaw` hands out
        // raw pointers only, and the `MmapMut`/`Mmap` of `map_copy*` become `MmapRaw` at once.
        let map = unsafe {
            match (shared, write) {
                (true, true) => opts.map_raw(file),
                (true, false) => opts.map_raw_read_only(file),
                (false, true) => opts.no_reserve_swap().map_copy(file).map(MmapRaw::from),
                (false, false) => opts.map_copy_read_only(file).map(MmapRaw::from),
            }
        }?;
        Ok(Self::wrap(map, len, page_size))
    }

    /// Maps `len` bytes of anonymous memory: MAP_PRIVATE|MAP_ANONYMOUS (without reserving
    /// swap), or MAP_SHARED of `/dev/zero` (the kernel's MAP_SHARED|MAP_ANONYMOUS: the same
    /// shmem object, mm/mmap.c shmem_zero_setup, drivers/char/mem.c mmap_zero).
    ///
    /// # Errors
    /// The kernel's refusal.
    pub fn anonymous(len: u64, shared: bool, page_size: u64) -> io::Result<Self> {
        let ulen = usize::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))?;
        let map = if shared {
            let zero = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/zero")?;
            MmapOptions::new().len(ulen).map_raw(&zero)?
        } else {
            MmapOptions::new()
                .len(ulen)
                .no_reserve_swap()
                .map_anon()
                .map(MmapRaw::from)?
        };
        Ok(Self::wrap(map, len, page_size))
    }

    fn wrap(map: MmapRaw, len: u64, page_size: u64) -> Self {
        Self {
            map,
            bytes: len.div_ceil(page_size) * page_size,
        }
    }

    /// The start address.
    pub fn addr(&self) -> u64 {
        self.map.as_ptr() as u64
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
    pub fn read(&self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
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
    pub fn write(&self, off: u64, data: &[u8]) -> io::Result<usize> {
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
    pub fn mincore(&self, off: u64, page_size: u64, out: &mut [u8]) -> io::Result<()> {
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
    pub fn madvise(&self, off: u64, len: u64, advice: Advice) -> io::Result<()> {
        let addr = self.at(off, len)?;
        // SAFETY: the range lies inside our mapping (checked by `at`). No Rust reference points
        // into it, so no advice (even one that discards pages) can invalidate one.
        unsafe { rustix::mm::madvise(addr, len as usize, advice) }.map_err(io::Error::from)
    }

    /// `mprotect(2)` of the whole mapping.
    ///
    /// # Errors
    /// The kernel's refusal (EACCES: PROT_WRITE on a shared mapping of a read-only descriptor).
    pub fn mprotect(&self, flags: MprotectFlags) -> io::Result<()> {
        let addr = self.at(0, self.bytes)?;
        // SAFETY: exactly our mapping, and no Rust reference points into it, so changing its
        // protection cannot invalidate a reference.
        unsafe { rustix::mm::mprotect(addr, self.bytes as usize, flags) }.map_err(io::Error::from)
    }

    /// `msync(2)` over `[off, off + len)`.
    ///
    /// # Errors
    /// EINVAL outside the mapping or for a bad flag combination; EBUSY; ENOMEM.
    pub fn msync(&self, off: u64, len: u64, flags: MsyncFlags) -> io::Result<()> {
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
    pub fn remap_shared_in_place(
        &self,
        file: &File,
        file_offset: u64,
        prot: ProtFlags,
    ) -> io::Result<()> {
        let addr = self.at(0, self.bytes)?;
        // SAFETY: [addr, addr + bytes) is exactly our own mapping (the MmapRaw's range, which it
        // unmaps on drop), and no Rust reference points into it. MAP_FIXED replaces it
        // atomically with a mapping of the same length, so the MmapRaw still owns the range.
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
    pub fn fork_call(
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
}

/// Copies bytes at address `addr` of process `pid` (ourselves included) into `buf` with
/// `process_vm_readv`: a page that cannot be read gives EFAULT or a short count, never a
/// signal. The kernel checks ptrace access (PTRACE_MODE_ATTACH_REALCREDS) for another process.
///
/// # Errors
/// EFAULT, EPERM/EACCES (no access), ESRCH (no such process).
pub fn read_process(pid: u32, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: `local` describes `buf`, borrowed mutably for the call; the kernel only reads
    // `remote` (any address: it checks it and fails with EFAULT, it never faults here), so
    // no memory of ours but `buf` changes.
    let n = unsafe { libc::process_vm_readv(pid, &raw const local, 1, &raw const remote, 1, 0) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Writes `data` at address `addr` of another process `pid` with `process_vm_writev` (which
/// respects its page protections). Never our own process: a store at an arbitrary address of
/// ours could change memory Rust owns (our own mapping is written through `Mapping::write`).
///
/// # Errors
/// EPERM for our own pid; EFAULT, EPERM/EACCES, ESRCH from the kernel.
pub fn write_process(pid: u32, addr: u64, data: &[u8]) -> io::Result<usize> {
    if pid == std::process::id() {
        return Err(io::Error::from_raw_os_error(libc::EPERM));
    }
    if data.is_empty() {
        return Ok(0);
    }
    let local = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: data.len(),
    };
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: `local` describes `data`, only read by the kernel; `remote` is in another
    // process (checked above: never ours), so no memory of this process changes.
    let n = unsafe { libc::process_vm_writev(pid, &raw const local, 1, &raw const remote, 1, 0) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `mincore(2)` over `[addr, addr + out.len() pages)` of our own address space, any range:
/// the kernel only reports page state into `out` (ENOMEM where nothing is mapped).
///
/// # Errors
/// ENOMEM for a range with an unmapped hole; EINVAL for an unaligned address.
pub fn mincore_at(addr: u64, page_size: u64, out: &mut [u8]) -> io::Result<()> {
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
pub struct ChildLimits {
    /// Hard RLIMIT_CPU in seconds: a looping grandchild that left the process group ends.
    pub cpu_seconds: u64,
    /// An `alarm` backstop, should the parent be stopped past its own deadline.
    pub alarm: Duration,
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
            rlim_cur: limits.cpu_seconds as libc::rlim_t,
            rlim_max: limits.cpu_seconds as libc::rlim_t,
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
        libc::alarm(u32::try_from(limits.alarm.as_secs()).unwrap_or(3));
        let f: extern "C" fn(u64, u64) -> u64 = std::mem::transmute(entry as usize);
        let value = f(args.0, args.1).to_le_bytes();
        libc::write(writer, value.as_ptr().cast(), value.len());
        libc::_exit(0);
    }
}

/// In batch mode, where nothing else handles them: SIGTERM, SIGINT, SIGHUP and SIGQUIT still
/// end the process as by default, but first kill the process groups in `groups` and the pid
/// in `peer` (0: none) with SIGKILL.
///
/// # Errors
/// A handler could not be installed.
pub fn kill_on_fatal_signals(
    groups: &'static [AtomicI32],
    peer: &'static AtomicI32,
) -> io::Result<()> {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: the handler calls only async-signal-safe code: atomic loads and kill(2), then
        // `emulate_default_handler`, documented async-signal-safe (it restores the default
        // disposition and raises the signal again).
        unsafe {
            signal_hook::low_level::register(sig, move || {
                for slot in groups {
                    let pgid = slot.load(Ordering::SeqCst);
                    if pgid > 0 {
                        libc::kill(-pgid, libc::SIGKILL);
                    }
                }
                let pid = peer.load(Ordering::SeqCst);
                if pid > 0 {
                    libc::kill(pid, libc::SIGKILL);
                }
                let _ = signal_hook::low_level::emulate_default_handler(sig);
            })
        }?;
    }
    Ok(())
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
pub fn cachestat(file: &File, off: u64, len: u64) -> io::Result<CacheStat> {
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
    pub start: u64,
    pub end: u64,
    pub categories: u64,
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
    pub fn of_self() -> io::Result<Self> {
        File::open("/proc/self/pagemap").map(Self)
    }

    /// Another process's: `/proc/PID/pagemap` (the kernel checks ptrace access).
    ///
    /// # Errors
    /// No such process, or no permission.
    pub fn of(pid: u32) -> io::Result<Self> {
        File::open(format!("/proc/{pid}/pagemap")).map(Self)
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
    pub fn scan(
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
pub struct QueriedVma {
    pub start: u64,
    pub end: u64,
    /// PROCMAP_QUERY_VMA_READABLE (1), WRITABLE (2), EXECUTABLE (4), SHARED (8).
    pub flags: u64,
    pub offset: u64,
    pub inode: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Its name as maps writes it (a path, `[heap]`, or empty).
    pub name: Vec<u8>,
}

/// An open `/proc/PID/maps`, for the PROCMAP_QUERY ioctl: one VMA looked up by address
/// without reading (or the kernel generating) the whole text.
#[derive(Debug)]
pub struct MapsFile(File);

impl MapsFile {
    /// Opens `path` (a `/proc/.../maps`).
    ///
    /// # Errors
    /// No such process, or no permission (the kernel checks ptrace read access).
    pub fn open(path: &str) -> io::Result<Self> {
        File::open(path).map(Self)
    }

    /// The VMA covering `addr` (with `next`: or the first one after it); `None` when there
    /// is none.
    ///
    /// # Errors
    /// ENOTTY before Linux 6.11; ESRCH once the process has exited.
    pub fn query(&self, addr: u64, next: bool) -> io::Result<Option<QueriedVma>> {
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
    fn another_process_is_read_but_never_ourselves_written() {
        let local = [7u8, 8, 9];
        let mut buf = [0u8; 3];
        let me = std::process::id();
        assert_eq!(
            read_process(me, local.as_ptr() as u64, &mut buf).unwrap(),
            3
        );
        assert_eq!(buf, [7, 8, 9]);
        assert!(read_process(me, 8, &mut buf).is_err(), "EFAULT, no signal");
        assert_eq!(
            write_process(me, buf.as_ptr() as u64, &[1])
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EPERM)
        );
        let ps = rustix::param::page_size() as u64;
        let mut core = [0u8; 1];
        let page = local.as_ptr() as u64 & !(ps - 1);
        mincore_at(page, ps, &mut core).unwrap();
        assert_eq!(core[0] & 1, 1, "our stack is resident");
    }

    #[test]
    fn every_range_is_checked_against_the_mapping() {
        let ps = rustix::param::page_size() as u64;
        let m = Mapping::anonymous(2 * ps, false, ps).unwrap();
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
