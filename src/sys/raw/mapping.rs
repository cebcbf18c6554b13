//! The mapping: `mmap` and every call on the mapped range (`process_vm_readv`/`writev`,
//! mincore, madvise, mprotect, msync, mlock, mremap, MAP_FIXED over itself), each range checked
//! against the mapping's own bounds first, and the forks that run on it (their children's code is
//! `forked`'s).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::mm::{Advice, MapFlags, MprotectFlags, MremapFlags, MsyncFlags, ProtFlags};

use crate::sys::raw::forked::*;

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

    /// The bytes the kernel maps (the length rounded up to whole pages).
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
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
}

impl Mapping {
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

#[cfg(test)]
mod tests {
    use super::*;

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
