//! `SysError`: a failed system call (or a request refused before one) as data: the errno's name,
//! what we were doing, and one sentence saying what it means and what to do. The UI shows it in the
//! log, batch prints it as JSON, and only `main` turns it into an exit code.

use std::fmt;
use std::io;

/// A refused or failed kernel operation, ready to be shown to a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SysError {
    /// The errno value (`libc::EACCES`, ...); a refusal of ours uses the errno the kernel would give.
    pub errno: i32,
    /// What was being done, e.g. `mmap /tmp/x`.
    pub context: String,
    /// One sentence: what it means and what to do.
    pub explanation: String,
    /// A refusal of ours that the user may override (the memory bound of `limits::judge`:
    /// `--force`, a `force` line, a confirmed question); the kernel was not asked.
    pub forcible: bool,
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            errno_name(self.errno),
            self.context,
            self.explanation
        )
    }
}

impl SysError {
    /// An error with an explicit explanation.
    pub fn new(errno: i32, context: impl Into<String>, explanation: impl Into<String>) -> Self {
        Self {
            errno,
            context: context.into(),
            explanation: explanation.into(),
            forcible: false,
        }
    }

    /// A refusal of ours that asking again with force would let through (see `forcible`).
    pub fn forcible(
        errno: i32,
        context: impl Into<String>,
        explanation: impl Into<String>,
    ) -> Self {
        Self {
            forcible: true,
            ..Self::new(errno, context, explanation)
        }
    }

    /// An error whose explanation is the generic sentence for its errno.
    pub(crate) fn from_errno(errno: i32, context: impl Into<String>) -> Self {
        Self::new(errno, context, errno_sentence(errno))
    }

    /// From a `std::io::Error` (raw OS error when there is one, else EIO with its text).
    pub fn from_io(err: &io::Error, context: impl Into<String>) -> Self {
        match err.raw_os_error() {
            Some(code) => Self::from_errno(code, context),
            None => Self::new(libc::EIO, context, err.to_string()),
        }
    }

    /// From a rustix errno.
    pub(crate) fn from_rustix(err: rustix::io::Errno, context: impl Into<String>) -> Self {
        Self::from_errno(err.raw_os_error(), context)
    }

    /// The errno's symbolic name, e.g. `EACCES`.
    pub(crate) fn name(&self) -> &'static str {
        errno_name(self.errno)
    }
}

/// The symbolic name of an errno value (`EINVAL`), or `E?` for one this table does not know.
pub(crate) fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EPIPE => "EPIPE",
        libc::ESTALE => "ESTALE",
        libc::ENOTTY => "ENOTTY",
        _ => "E?",
    }
}

/// One generic sentence for an errno, used when the caller has nothing more specific to say.
pub(crate) fn errno_sentence(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => {
            "the operation is not permitted for this process (a capability or an immutable file)"
        }
        libc::ENOENT => "there is no such file or directory; check the path",
        libc::EIO => "the kernel reported an I/O error",
        libc::ENXIO => "no such device or address",
        libc::EBADF => "the file descriptor is not open in the needed mode",
        libc::EAGAIN => "the resource is temporarily unavailable; try again",
        libc::ENOMEM => {
            "the kernel refused the memory (address space, overcommit limit, or a hole in the range)"
        }
        libc::EACCES => "permission denied: the file's mode or its open mode does not allow this",
        libc::EFAULT => {
            "the address is not accessible: beyond end of file, cut off by a truncate, or protected"
        }
        libc::EBUSY => "the range is busy (for example locked in memory)",
        libc::ENODEV => {
            "this kind of file cannot be memory-mapped (directories, pipes, sockets and most /proc files)"
        }
        libc::ENOTDIR => "a component of the path is not a directory",
        libc::EISDIR => "this is a directory; give the path of a regular file",
        libc::EINVAL => "an argument is invalid (alignment, length or flags)",
        libc::EMFILE | libc::ENFILE => "too many open files",
        libc::ETXTBSY => "the file is being executed and cannot be opened for writing",
        libc::EFBIG | libc::EOVERFLOW => "the size or offset is too large for this file",
        libc::EROFS => "the file system is mounted read-only",
        libc::ENAMETOOLONG => "the path is too long",
        libc::ENOSYS => "this kernel does not implement the system call",
        libc::ELOOP => "too many symbolic links in the path",
        _ => "the kernel refused the request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_starts_with_errno_name() {
        let e = SysError::from_errno(libc::EACCES, "open /x");
        assert!(
            e.to_string()
                .starts_with("EACCES: open /x: permission denied")
        );
        assert_eq!(e.name(), "EACCES");
    }

    #[test]
    fn io_errors_keep_their_errno() {
        let io = io::Error::from_raw_os_error(libc::ENODEV);
        let e = SysError::from_io(&io, "mmap");
        assert_eq!(e.errno, libc::ENODEV);
        assert!(e.explanation.contains("cannot be memory-mapped"));
    }
}
