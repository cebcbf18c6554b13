//! Single calls that fill a kernel struct: getrusage (our fault counts), malloc_trim, and
//! cachestat (no libc wrapper yet: the raw syscall).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

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
