//! What runs in a forked child, between fork and exit, async-signal-safe: mapped code with its
//! limits (`code_child`), the keeper serving its orders (`keeper_child`), and the keeper's
//! protocol.

use std::time::Duration;

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
pub(crate) unsafe fn code_child(
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
pub(crate) unsafe fn keeper_child(
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
