//! `/proc/PID/maps` and its PROCMAP_QUERY ioctl (Linux >= 6.11): the VMA covering an address,
//! or the next one, without reading the whole file.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

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
}
