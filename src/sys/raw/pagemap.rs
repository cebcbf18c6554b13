//! `/proc/PID/pagemap` and its PAGEMAP_SCAN ioctl (Linux >= 6.7): the page-table entries of a
//! range, found without reading a word per page.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

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
pub(super) struct PmScanArg {
    pub(super) size: u64,
    pub(super) flags: u64,
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) walk_end: u64,
    pub(super) vec: u64,
    pub(super) vec_len: u64,
    pub(super) max_pages: u64,
    pub(super) category_inverted: u64,
    pub(super) category_mask: u64,
    pub(super) category_anyof_mask: u64,
    pub(super) return_mask: u64,
}

impl PmScanArg {
    /// A walk of `[start, end)` into `out` (none: no output, the walk covers the whole range).
    pub(super) fn over(start: u64, end: u64, out: Option<&mut [PageRegion]>) -> Self {
        let (vec, vec_len) = match out {
            Some(out) => (out.as_mut_ptr() as u64, out.len() as u64),
            None => (0, 0),
        };
        Self {
            size: std::mem::size_of::<Self>() as u64,
            flags: 0,
            start,
            end,
            walk_end: 0,
            vec,
            vec_len,
            max_pages: 0,
            category_inverted: 0,
            category_mask: 0,
            category_anyof_mask: 0,
            return_mask: 0,
        }
    }
}

/// PAGE_IS_* categories (include/uapi/linux/fs.h): the page was written since it was last
/// write-protected (only meaningful in a range registered for userfaultfd async
/// write-protect), it maps the shared zero page.
pub(crate) const PAGE_IS_WRITTEN: u64 = 1 << 1;
/// See `PAGE_IS_WRITTEN`.
pub(crate) const PAGE_IS_PFNZERO: u64 = 1 << 5;
/// PM_SCAN_* flags: write-protect the pages matched; abort (EPERM) when the walk meets a VMA
/// not registered for userfaultfd async write-protect.
pub(super) const PM_SCAN_WP_MATCHING: u64 = 1 << 0;
/// See `PM_SCAN_WP_MATCHING`.
pub(super) const PM_SCAN_CHECK_WPASYNC: u64 = 1 << 1;

/// `PAGEMAP_SCAN` = `_IOWR('f', 16, struct pm_scan_arg)` (include/uapi/linux/fs.h): direction
/// read|write (3) in bits 30-31, the argument's size (96 bytes) in bits 16-29, type 'f', nr 16.
pub(super) const PAGEMAP_SCAN: u64 =
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagemap_scan_request_number_matches_the_uapi_header() {
        // _IOWR('f', 16, struct pm_scan_arg) with a 96-byte argument, as in linux/fs.h.
        assert_eq!(std::mem::size_of::<PmScanArg>(), 96);
        assert_eq!(PAGEMAP_SCAN, 0xc060_6610);
    }
}
