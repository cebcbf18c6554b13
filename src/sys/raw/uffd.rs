//! userfaultfd(2) for one job: asynchronous write-protect (`UFFD_FEATURE_WP_ASYNC`, Linux >=
//! 6.7), so that PAGEMAP_SCAN's `PAGE_IS_WRITTEN` says which pages of one of our own mappings
//! were written since they were last write-protected. With WP_ASYNC the kernel resolves a
//! write to a protected page itself (it clears the pte's uffd-wp bit and lets the write go on):
//! nothing ever waits on the descriptor, nothing reads it, and no thread of ours handles faults.
//!
//! Every range registered or protected is a whole mapping of ours (the precondition the
//! calls below check by taking an `Owned`, made only from a mapping that owns its range), and the pagemap walks that re-protect are of
//! `/proc/self/pagemap` only.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::sys::raw::mapping::Mapping;
use crate::sys::raw::pagemap::{
    PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING, PageRegion, Pagemap, PmScanArg,
};

/// A whole mapping of ours, by address and bytes: only made from a `Mapping` or from a
/// `memmap2::MmapMut` borrowed for the making (both own their range and unmap it on drop), so
/// every call below acts on memory this process mapped for itself. Kept after its mapping
/// went, the calls fail (EINVAL, ENOENT), or, where the range was mapped again by us, change
/// only how writes there are resolved (they still land): nothing a store could notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owned {
    start: u64,
    bytes: u64,
}

impl Owned {
    /// Start address.
    pub(crate) fn start(self) -> u64 {
        self.start
    }

    /// Bytes mapped (whole pages).
    pub(crate) fn bytes(self) -> u64 {
        self.bytes
    }

    fn end(self) -> u64 {
        self.start + self.bytes
    }
}

impl From<&Mapping> for Owned {
    fn from(map: &Mapping) -> Self {
        Self {
            start: map.addr(),
            bytes: map.bytes(),
        }
    }
}

impl From<&memmap2::MmapMut> for Owned {
    /// Anonymous or file memory mapped with memmap2 (a benchmark's plain stores), rounded up
    /// to whole pages as the kernel maps it.
    fn from(map: &memmap2::MmapMut) -> Self {
        let ps = rustix::param::page_size() as u64;
        Self {
            start: map.as_ptr() as u64,
            bytes: (map.len() as u64).div_ceil(ps) * ps,
        }
    }
}

/// `UFFD_API` (include/uapi/linux/userfaultfd.h).
const UFFD_API: u64 = 0xAA;
/// userfaultfd(2) flag: only faults raised from user space (Linux >= 5.11); what an
/// unprivileged process may ask for when `vm.unprivileged_userfaultfd` is 0.
const UFFD_USER_MODE_ONLY: libc::c_int = 1;
/// Features (include/uapi/linux/userfaultfd.h): write-protect shmem and hugetlbfs (Linux 5.19).
pub(crate) const FEATURE_WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
/// Never-populated ptes count as write-protected: the kernel puts a marker there (Linux 6.4).
pub(crate) const FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
/// Write faults on protected pages resolved by the kernel, no handler (Linux 6.7).
pub(crate) const FEATURE_WP_ASYNC: u64 = 1 << 15;
/// `UFFDIO_REGISTER_MODE_WP`.
const REGISTER_MODE_WP: u64 = 1 << 1;
/// `UFFDIO_WRITEPROTECT_MODE_WP`.
const WRITEPROTECT_MODE_WP: u64 = 1 << 0;

/// `struct uffdio_api`.
#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

/// `struct uffdio_range`.
#[repr(C)]
#[derive(Clone, Copy)]
struct UffdioRange {
    start: u64,
    len: u64,
}

/// `struct uffdio_register`.
#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}

/// `struct uffdio_writeprotect`.
#[repr(C)]
struct UffdioWriteprotect {
    range: UffdioRange,
    mode: u64,
}

/// `_IOWR(0xAA, nr, T)`: direction (read|write: 3) in bits 30-31, size in 16-29.
const fn uffd_ioctl(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | (0xAA << 8) | nr
}
const UFFDIO_API: u64 = uffd_ioctl(3, 0x3F, std::mem::size_of::<UffdioApi>());
const UFFDIO_REGISTER: u64 = uffd_ioctl(3, 0x00, std::mem::size_of::<UffdioRegister>());
const UFFDIO_WRITEPROTECT: u64 = uffd_ioctl(3, 0x06, std::mem::size_of::<UffdioWriteprotect>());

/// A userfaultfd with its API handshake done. Closing it (drop) unregisters every range it
/// registered and clears their uffd-wp bits (fs/userfaultfd.c, userfaultfd_release).
#[derive(Debug)]
pub struct Uffd {
    fd: OwnedFd,
    /// Whether it was opened with UFFD_USER_MODE_ONLY.
    user_mode_only: bool,
}

/// userfaultfd(2) with O_CLOEXEC|O_NONBLOCK and `extra` flags.
fn open_fd(extra: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: userfaultfd takes only flags and returns a new descriptor or -1; the descriptor
    // is owned by the OwnedFd made from it and by nothing else.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_userfaultfd,
            libc::O_CLOEXEC | libc::O_NONBLOCK | extra,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: `fd` was just returned by the kernel, open, and owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A userfaultfd: user-mode-only first (all that write tracking needs, and allowed where
/// `vm.unprivileged_userfaultfd` is 0), plain when the kernel predates that flag (EINVAL).
fn open_any() -> io::Result<(OwnedFd, bool)> {
    match open_fd(UFFD_USER_MODE_ONLY) {
        Ok(fd) => Ok((fd, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => open_fd(0).map(|fd| (fd, false)),
        Err(e) => Err(e),
    }
}

/// The UFFDIO_API handshake asking for `features`; returns what the kernel offers (on
/// success, all of `features`).
fn handshake(fd: &OwnedFd, features: u64) -> io::Result<u64> {
    let mut api = UffdioApi {
        api: UFFD_API,
        features,
        ioctls: 0,
    };
    // SAFETY: `api` is a live #[repr(C)] struct laid out as `struct uffdio_api`, whose size
    // the request number carries; the kernel reads and writes only it; `fd` is a userfaultfd.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), UFFDIO_API as libc::Ioctl, &raw mut api) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(api.features)
}

impl Uffd {
    /// The features this kernel offers (a throwaway descriptor: the handshake is once per
    /// descriptor).
    ///
    /// # Errors
    /// userfaultfd(2) refused (EPERM: not allowed for this user; ENOSYS: not built in).
    pub(crate) fn offered() -> io::Result<u64> {
        let (fd, _) = open_any()?;
        handshake(&fd, 0)
    }

    /// A descriptor with `features` agreed.
    ///
    /// # Errors
    /// userfaultfd(2) refused, or EINVAL when the kernel lacks one of `features`.
    pub(crate) fn open(features: u64) -> io::Result<Self> {
        let (fd, user_mode_only) = open_any()?;
        handshake(&fd, features)?;
        Ok(Self { fd, user_mode_only })
    }

    /// Whether it takes faults from user space only.
    pub(crate) fn user_mode_only(&self) -> bool {
        self.user_mode_only
    }

    /// UFFDIO_REGISTER of the whole of `map` in write-protect mode. From then on its VmFlags
    /// show `uw`; with WP_ASYNC no write ever waits.
    ///
    /// # Errors
    /// EINVAL when the kernel does not register that kind of memory for write-protect; EBUSY
    /// when another userfaultfd holds it.
    pub(crate) fn register_wp(&self, map: Owned) -> io::Result<()> {
        let mut reg = UffdioRegister {
            range: UffdioRange {
                start: map.start(),
                len: map.bytes(),
            },
            mode: REGISTER_MODE_WP,
            ioctls: 0,
        };
        // SAFETY: the range is exactly `map`, a whole mapping of ours; registering changes only
        // how the kernel resolves write faults there (with WP_ASYNC, in the kernel, never
        // blocking, never a signal: a store through a reference into it still just lands); `reg` is a live #[repr(C)] `struct uffdio_register`.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                UFFDIO_REGISTER as libc::Ioctl,
                &raw mut reg,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// UFFDIO_WRITEPROTECT of the whole of `map`: every present page (and, with
    /// WP_UNPOPULATED, every never-populated one: the kernel allocates the page tables to hold
    /// its markers) is protected, so `PAGE_IS_WRITTEN` is clear everywhere until written.
    ///
    /// # Errors
    /// ENOENT/EINVAL when `map` is not registered (a remap dropped it).
    pub(crate) fn protect_all(&self, map: Owned) -> io::Result<()> {
        let mut wp = UffdioWriteprotect {
            range: UffdioRange {
                start: map.start(),
                len: map.bytes(),
            },
            mode: WRITEPROTECT_MODE_WP,
        };
        // SAFETY: the range is exactly `map`, a whole mapping of ours, registered by this
        // descriptor; protecting it changes no byte, only pte bits (a later store is resolved by
        // the kernel, WP_ASYNC); `wp` is a live `struct uffdio_writeprotect`.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                UFFDIO_WRITEPROTECT as libc::Ioctl,
                &raw mut wp,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A PAGEMAP_SCAN walk over `map` in our own `/proc/self/pagemap`, with `flags`, the pages
/// having all of `mask` reported as regions (by `return_mask`) into `out`, when given.
fn scan_own(
    pagemap: &Pagemap,
    map: Owned,
    from: u64,
    flags: u64,
    (mask, return_mask): (u64, u64),
    out: Option<&mut [PageRegion]>,
) -> io::Result<(usize, u64)> {
    let end = map.end();
    if from < map.start() || from > end {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let cap = out.as_ref().map_or(0, |o| o.len());
    let mut arg = PmScanArg::over(from, end, out);
    arg.flags = flags;
    arg.category_mask = mask;
    arg.return_mask = return_mask;
    // SAFETY: `arg` is a live #[repr(C)] `struct pm_scan_arg` whose `size` says so; its
    // vec/vec_len describe `out` (borrowed mutably for the call) or are 0/0 (no output); the
    // range lies inside `map`, ours, so PM_SCAN_WP_MATCHING can only write-protect pages of our
    // own registered mapping (PM_SCAN_CHECK_WPASYNC aborts with EPERM on any other VMA), which
    // changes pte bits, never bytes; the fd is `/proc/self/pagemap`.
    let rc = unsafe {
        libc::ioctl(
            pagemap.as_raw_fd(),
            super::pagemap::PAGEMAP_SCAN as libc::Ioctl,
            &raw mut arg,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = usize::try_from(rc).unwrap_or(0).min(cap);
    Ok((n, arg.walk_end))
}

/// The regions of `map` (from address `from`) whose pages have all of `mask`, split where
/// `return_mask` changes, read from our own `pagemap`; aborts with EPERM when the mapping is
/// not (or no longer) registered for async write-protect. Returns how many were written into
/// `out` and where the walk stopped.
///
/// # Errors
/// EPERM: not registered (a remap dropped it); ENOTTY before Linux 6.7.
pub(crate) fn written_regions(
    pagemap: &Pagemap,
    map: Owned,
    from: u64,
    (mask, return_mask): (u64, u64),
    out: &mut [PageRegion],
) -> io::Result<(usize, u64)> {
    scan_own(
        pagemap,
        map,
        from,
        PM_SCAN_CHECK_WPASYNC,
        (mask, return_mask),
        Some(out),
    )
}

/// Write-protects again every page of `map` with all of `mask` (the pages written since the
/// last protection), in one walk of our own `pagemap` with no output: the re-arm at a mark.
///
/// # Errors
/// EPERM: not registered (a remap dropped it); ENOTTY before Linux 6.7.
pub(crate) fn reprotect(pagemap: &Pagemap, map: Owned, mask: u64) -> io::Result<()> {
    let flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
    scan_own(pagemap, map, map.start(), flags, (mask, mask), None).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_the_uapi_header() {
        // From include/uapi/linux/userfaultfd.h as compiled (C's _IOWR/_IOR).
        assert_eq!(UFFDIO_API, 0xc018_aa3f);
        assert_eq!(UFFDIO_REGISTER, 0xc020_aa00);
        assert_eq!(UFFDIO_WRITEPROTECT, 0xc018_aa06);
    }
}
