//! What the probes, the snapshot and the report look at: a range of some address space with
//! pages, bytes and (perhaps) a file behind it. The mapping mmapscope made (`Region`) is one;
//! a VMA explored in our own process or in another (`foreign::VmaView`) is another. Only a
//! `Region` can be changed by the operations (`ops`); every view can be probed and read.

use std::path::Path;

use rustix::mm::Advice;

use crate::geometry::Geometry;

use crate::sys::error::SysError;
use crate::sys::map::region::{CacheStat, Region};
use crate::sys::map::request::{FileKind, MapMode, Prot};
use crate::sys::proc::maps::{self, Pid, Vma};

/// A mapped range the probes can look at.
pub trait Mapped {
    /// Whose address space it is in.
    fn pid(&self) -> Pid;
    /// Start address.
    fn addr(&self) -> u64;
    /// Length in bytes as mapped (the kernel maps whole pages: `map_bytes`).
    fn len(&self) -> u64;
    /// Never: a mapping has at least one byte.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn page_size(&self) -> u64;
    /// Pages mapped.
    fn pages(&self) -> u64 {
        self.len().div_ceil(self.page_size())
    }
    /// Length rounded up to whole pages.
    fn map_bytes(&self) -> u64 {
        self.pages() * self.page_size()
    }
    /// File offset of the first page (0 for anonymous memory).
    fn offset(&self) -> u64;
    fn mode(&self) -> MapMode;
    fn prot(&self) -> Prot;
    /// The geometry with the file's size measured now.
    ///
    /// # Errors
    /// A failed fstat.
    fn geometry(&self) -> Result<Geometry, SysError>;
    /// The file behind it, if any, as its path was given or found (display only).
    fn file_path(&self) -> Option<&Path>;
    /// What kind of file is behind it, if any.
    fn file_kind(&self) -> Option<FileKind>;
    /// Its pages are a file's page-cache pages (dirty, cachestat mean something).
    fn page_cache_file(&self) -> bool {
        self.file_kind().is_some_and(FileKind::page_cache)
    }
    /// We have write permission on the file behind it (anonymous memory: true).
    fn may_write(&self) -> bool;
    /// For a shmem object we mapped (shared anonymous memory, MAP_SHARED /dev/zero): the first
    /// page past its end (see `Region::shmem_end`); `None` when unknown or not shmem.
    fn shmem_end(&self) -> Option<u64> {
        None
    }
    /// Stores into it may reach the file (the user allowed writing).
    fn write_allowed(&self) -> bool;
    /// The file is on tmpfs, whose pages are always dirty.
    fn always_dirty(&self) -> bool;
    /// `mincore(2)` for `count` pages from page `first`.
    ///
    /// # Errors
    /// Where mincore cannot see (another process's address space), or the kernel's refusal.
    fn mincore(&self, first: u64, count: u64, out: &mut Vec<u8>) -> Result<(), SysError>;
    /// `madvise(2)` over pages (only our own mapping may be advised).
    ///
    /// # Errors
    /// EPERM for anything but our own mapping; the kernel's refusal.
    fn madvise(&self, first: u64, count: u64, advice: Advice) -> Result<(), SysError>;
    /// `cachestat(2)` over a byte range of the file behind it.
    ///
    /// # Errors
    /// No file (EBADF), no cachestat (ENOSYS), no permission.
    fn cachestat(&self, file_off: u64, len: u64) -> Result<CacheStat, SysError>;
    /// Copies bytes at offset `off` into `buf` without ever faulting; returns how many.
    ///
    /// # Errors
    /// EFAULT where nothing can be read; no access to the process.
    fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, SysError>;
    /// Copies bytes at offset `off` from the file's page cache without disturbing it: no
    /// readahead, nothing left mapped (see `Region::read_cached`); how many, `None` for none.
    /// Only our own mapping has a file we opened to read it with.
    fn read_cached(&self, _off: u64, _buf: &mut [u8]) -> Option<usize> {
        None
    }
    /// A sentence when the file's path no longer names the file we hold.
    fn path_note(&self) -> Option<String>;
    /// The smaps entries of the VMAs of its process overlapping `[start, end)` (another
    /// process's through its handle, opened once).
    ///
    /// # Errors
    /// /proc unreadable; the process gone.
    fn vmas(&self, start: u64, end: u64) -> Result<Vec<Vma>, SysError> {
        maps::read_vmas_of(self.pid(), start, end)
    }
    /// Faults pages in for reading (`MADV_POPULATE_READ`; only our own mapping).
    ///
    /// # Errors
    /// EPERM for anything but our own mapping; the kernel's refusal.
    fn populate_read(&self, first: u64, count: u64) -> Result<(), SysError> {
        self.madvise(first, count, Advice::LinuxPopulateRead)
    }
    /// It is the mapping mmapscope made. Anything else is only looked at: its bytes are read
    /// only where its page is present (a read elsewhere would fault the page in, changing
    /// what we look at).
    fn ours(&self) -> bool {
        false
    }
}

impl Mapped for Region {
    fn pid(&self) -> Pid {
        Pid::Myself
    }
    fn ours(&self) -> bool {
        true
    }
    fn addr(&self) -> u64 {
        Region::addr(self)
    }
    fn len(&self) -> u64 {
        Region::len(self)
    }
    fn page_size(&self) -> u64 {
        Region::page_size(self)
    }
    fn offset(&self) -> u64 {
        Region::offset(self)
    }
    fn mode(&self) -> MapMode {
        Region::mode(self)
    }
    fn prot(&self) -> Prot {
        Region::prot(self)
    }
    fn geometry(&self) -> Result<Geometry, SysError> {
        Region::geometry(self)
    }
    fn file_path(&self) -> Option<&Path> {
        Region::path(self)
    }
    fn file_kind(&self) -> Option<FileKind> {
        Region::file_kind(self)
    }
    fn may_write(&self) -> bool {
        Region::may_write(self)
    }
    fn shmem_end(&self) -> Option<u64> {
        Region::shmem_end(self)
    }
    fn write_allowed(&self) -> bool {
        // Consent given later is the write gate's: the session stamps it on the snapshot.
        Region::consented_at_open(self)
    }
    fn always_dirty(&self) -> bool {
        Region::always_dirty(self)
    }
    fn mincore(&self, first: u64, count: u64, out: &mut Vec<u8>) -> Result<(), SysError> {
        Region::mincore(self, first, count, out)
    }
    fn madvise(&self, first: u64, count: u64, advice: Advice) -> Result<(), SysError> {
        Region::madvise(self, first, count, advice)
    }
    fn cachestat(&self, file_off: u64, len: u64) -> Result<CacheStat, SysError> {
        Region::cachestat(self, file_off, len)
    }
    fn read(&self, off: u64, buf: &mut [u8]) -> Result<usize, SysError> {
        Region::read(self, off, buf)
    }
    fn read_cached(&self, off: u64, buf: &mut [u8]) -> Option<usize> {
        Region::read_cached(self, off, buf)
    }
    fn path_note(&self) -> Option<String> {
        Region::path_note(self)
    }
}
