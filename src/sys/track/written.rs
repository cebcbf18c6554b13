//! The pages of our own mapping written since the mark, exactly, where the kernel can say:
//! userfaultfd asynchronous write-protect (`UFFD_FEATURE_WP_ASYNC`, Linux >= 6.7) registered
//! over the whole mapping, every page protected at the mark, and PAGEMAP_SCAN's
//! `PAGE_IS_WRITTEN` read back as runs (a write clears the pte's uffd-wp bit, in the kernel,
//! without waking anyone). Re-armed at each mark by one PAGEMAP_SCAN walk that protects again
//! exactly the pages written (`PM_SCAN_WP_MATCHING`): cost in proportion to the pages written,
//! not the mapping's size.
//!
//! What the kernel does here (mm/userfaultfd.c, fs/proc/task_mmu.c; measured on Linux 6.18 by
//! `tests/it/track.rs`):
//! - A read of a never-touched private anonymous page maps the shared zero page and leaves it
//!   protected: not written. Pages mapping the zero page are left out of the set all the same
//!   (`PAGE_IS_PFNZERO`: such a page holds no write), in case a kernel reports them.
//! - A read of a never-touched shmem page (shared anonymous, MAP_SHARED /dev/zero) or file page
//!   maps a real page: only a marker left in the empty pte (`UFFD_FEATURE_WP_UNPOPULATED`,
//!   Linux 6.4) keeps it protected, and placing markers allocates the page tables of the whole
//!   range (1/512 of its size), hence `MARKER_LIMIT`.
//! - With WP_ASYNC the kernel registers any kind of memory for write-protect (mm/userfaultfd.c,
//!   vma_can_userfault: "If wp async enabled, and WP is the only mode enabled, allow any memory
//!   type"), regular files included: whether it does is found by trying, at the mark. There the
//!   set is the pages written through this mapping; a write(2) to the file, or another
//!   process's store, changes bytes without touching our page-table entries.
//! - mremap (our `resize`, `move`), a remap in another mode and `swap` leave a mapping the
//!   registration does not cover: moved or grown (its range differs from the one registered),
//!   or new at the same place (a walk with `PM_SCAN_CHECK_WPASYNC` fails with EPERM). The set
//!   then restarts, saying so. No UFFD_FEATURE_EVENT_REMAP is asked, so no event is ever
//!   queued on the descriptor for anyone to read.
//! - Registration shows in smaps as VmFlags `uw`; closing the descriptor unregisters.

use std::io;
use std::ops::Range;

use crate::sys::map::region::Region;
use crate::sys::map::request::{FileKind, MapMode};
use crate::sys::raw::pagemap::{PAGE_IS_PFNZERO, PAGE_IS_WRITTEN, PageRegion, Pagemap};
use crate::sys::raw::uffd::{
    self, FEATURE_WP_ASYNC, FEATURE_WP_HUGETLBFS_SHMEM, FEATURE_WP_UNPOPULATED, Owned, Uffd,
};

/// The largest mapping that gets unpopulated markers (shmem, files): 8 GiB, whose page tables
/// (1/512 of it: 16 MiB) the first arm allocates, as much memory as the mark may hold of bytes
/// (`model::time::MARK_BYTES_MAX`). Beyond it the set is not tracked, saying so.
pub const MARKER_LIMIT: u64 = 8 << 30;

/// What memory the mapping is, for write tracking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// MAP_PRIVATE anonymous memory or /dev/zero.
    PrivateAnon,
    /// Shared anonymous memory or MAP_SHARED /dev/zero: a shmem object.
    Shmem,
    /// A regular file or block device: page cache.
    File,
}

impl Memory {
    /// What `region` is.
    pub fn of(region: &Region) -> Self {
        match (region.file_kind(), region.mode()) {
            (None | Some(FileKind::Zero), MapMode::Private) => Self::PrivateAnon,
            (None | Some(FileKind::Zero), MapMode::Shared) => Self::Shmem,
            (Some(_), _) => Self::File,
        }
    }

    /// In words, for the sentences below.
    pub fn words(self) -> &'static str {
        match self {
            Self::PrivateAnon => "private anonymous memory",
            Self::Shmem => "shared memory (shmem)",
            Self::File => "a file mapping",
        }
    }

    /// The userfaultfd features tracking needs here.
    fn features(self) -> u64 {
        match self {
            Self::PrivateAnon => FEATURE_WP_ASYNC,
            Self::Shmem => FEATURE_WP_ASYNC | FEATURE_WP_UNPOPULATED | FEATURE_WP_HUGETLBFS_SHMEM,
            Self::File => FEATURE_WP_ASYNC | FEATURE_WP_UNPOPULATED,
        }
    }
}

/// What a tracker follows: a whole mapping of ours, what memory it is, its page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    owned: Owned,
    memory: Memory,
    page_size: u64,
}

impl From<&Region> for Span {
    fn from(region: &Region) -> Self {
        Self {
            owned: Owned::from(&region.map),
            memory: Memory::of(region),
            page_size: region.page_size(),
        }
    }
}

impl Span {
    /// Private anonymous memory mapped with `memmap2::MmapMut::map_anon` (a benchmark's plain
    /// stores into it).
    pub fn anon_memmap(map: &memmap2::MmapMut) -> Self {
        Self {
            owned: Owned::from(map),
            memory: Memory::PrivateAnon,
            page_size: crate::sys::map::request::page_size(),
        }
    }
}

/// Where the written set comes from, or why there is none: the sentence `diff` prints as
/// `"written_source"` and the screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The set is exact (true), or there is none (false).
    pub exact: bool,
    pub sentence: String,
}

/// The pages written since the mark, as runs of page numbers (from the mapping's first page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrittenSet {
    pub runs: Vec<Range<u64>>,
    /// Set when the registration had been lost (a remap) and tracking restarted: the words.
    pub restarted: Option<String>,
}

impl WrittenSet {
    /// Whether page `page` was written.
    pub fn contains(&self, page: u64) -> bool {
        let i = self.runs.partition_point(|r| r.end <= page);
        self.runs.get(i).is_some_and(|r| r.contains(&page))
    }

    /// How many pages were written.
    pub fn pages(&self) -> u64 {
        self.runs.iter().map(|r| r.end - r.start).sum()
    }
}

/// Write tracking on one mapping of ours. Dropping it unregisters (the descriptor closes).
#[derive(Debug)]
pub struct WriteTracker {
    uffd: Uffd,
    pagemap: Pagemap,
    /// The mapping it registered (a remap moves it, or drops the registration: see `written`).
    span: Span,
}

/// Why there is no tracker on `region`, in one sentence, from the errno of the refused step.
fn refusal(memory: Memory, step: &str, e: &io::Error) -> String {
    let errno = e.raw_os_error().unwrap_or(0);
    let name = crate::sys::error::errno_name(errno);
    match (memory, errno) {
        (Memory::File, libc::EINVAL) => format!(
            "not tracked: this kernel does not write-protect {} ({step}: EINVAL), and soft-dirty \
             is not compiled in; the dirty transitions since the mark are shown instead",
            memory.words()
        ),
        (_, libc::EPERM) => format!(
            "not tracked: userfaultfd is not allowed here ({step}: EPERM; vm.unprivileged_userfaultfd \
             is 0 and this kernel refused UFFD_USER_MODE_ONLY)"
        ),
        (_, libc::ENOSYS) => "not tracked: this kernel has no userfaultfd (ENOSYS)".to_string(),
        _ => format!(
            "not tracked: {step} refused with {name} ({})",
            crate::sys::error::errno_sentence(errno)
        ),
    }
}

impl WriteTracker {
    /// Registers the whole mapping for async write-protect and protects every page: from now
    /// on, a page written is in `written` until the next `rearm`.
    ///
    /// # Errors
    /// The sentence saying why it cannot be tracked here (a kernel without the features, a
    /// kind of memory the kernel will not write-protect, a mapping over `MARKER_LIMIT`).
    pub fn start(span: impl Into<Span>) -> Result<Self, String> {
        let span = span.into();
        let memory = span.memory;
        let bytes = span.owned.bytes();
        if memory != Memory::PrivateAnon && bytes > MARKER_LIMIT {
            return Err(format!(
                "not tracked: {} of {} would need {} of page tables for the kernel's markers \
                 (tracked up to {})",
                memory.words(),
                crate::geometry::size_word(bytes),
                crate::geometry::size_word(bytes / 512),
                crate::geometry::size_word(MARKER_LIMIT),
            ));
        }
        let offered = Uffd::offered().map_err(|e| refusal(memory, "userfaultfd", &e))?;
        let missing = memory.features() & !offered;
        if missing & FEATURE_WP_ASYNC != 0 {
            return Err("not tracked: this kernel has no UFFD_FEATURE_WP_ASYNC (Linux 6.7)".into());
        }
        if missing != 0 {
            return Err(format!(
                "not tracked: this kernel cannot write-protect never-touched pages of {} \
                 (UFFD_FEATURE_WP_UNPOPULATED, Linux 6.4)",
                memory.words()
            ));
        }
        let uffd = Uffd::open(memory.features()).map_err(|e| refusal(memory, "UFFDIO_API", &e))?;
        let pagemap = Pagemap::of_self().map_err(|e| refusal(memory, "pagemap", &e))?;
        let tracker = Self {
            uffd,
            pagemap,
            span,
        };
        tracker.register()?;
        Ok(tracker)
    }

    fn register(&self) -> Result<(), String> {
        let memory = self.span.memory;
        self.uffd
            .register_wp(self.span.owned)
            .map_err(|e| refusal(memory, "UFFDIO_REGISTER", &e))?;
        self.uffd
            .protect_all(self.span.owned)
            .map_err(|e| refusal(memory, "UFFDIO_WRITEPROTECT", &e))
    }

    /// What it tracks.
    pub fn memory(&self) -> Memory {
        self.span.memory
    }

    /// Where the set comes from, in words.
    pub fn source(&self) -> Source {
        let mode = if self.uffd.user_mode_only() {
            " (UFFD_USER_MODE_ONLY)"
        } else {
            ""
        };
        let file = if self.span.memory == Memory::File {
            "; stores through this mapping only: write(2) and other processes' stores show as \
             bytes changed"
        } else {
            ""
        };
        Source {
            exact: true,
            sentence: format!(
                "exact: userfaultfd async write-protect{mode} + PAGEMAP_SCAN PAGE_IS_WRITTEN on {} \
                 (VmFlags shows uw while tracked){file}",
                self.span.memory.words(),
            ),
        }
    }

    /// Starts a new set: protects again the pages written since the last arm (one walk, in
    /// proportion to those pages). After a remap, registers the mapping anew.
    ///
    /// # Errors
    /// Why tracking could not go on (the tracker should then be dropped).
    pub fn rearm(&mut self, now: impl Into<Span>) -> Result<(), String> {
        let now = now.into();
        let redone =
            now == self.span && uffd::reprotect(&self.pagemap, now.owned, PAGE_IS_WRITTEN).is_ok();
        if !redone {
            *self = Self::start(now)?;
        }
        Ok(())
    }

    /// The pages written since the last arm, as runs. When the registration was lost (a
    /// remap), registers again and says so in `restarted` (the set is then empty: it starts
    /// now).
    ///
    /// # Errors
    /// Why tracking could not go on.
    pub fn written(&mut self, now: impl Into<Span>) -> Result<WrittenSet, String> {
        let now = now.into();
        if now == self.span {
            match self.scan() {
                Ok(runs) => {
                    return Ok(WrittenSet {
                        runs,
                        restarted: None,
                    });
                }
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
                Err(e) => return Err(refusal(self.span.memory, "PAGEMAP_SCAN", &e)),
            }
        }
        *self = Self::start(now)?;
        Ok(WrittenSet {
            runs: Vec::new(),
            restarted: Some(
                "the written set restarted: the mapping is not the one registered at the mark \
                 (mremap, a mode switch or swap; mremap drops the userfaultfd registration)"
                    .to_string(),
            ),
        })
    }

    /// One pass of PAGEMAP_SCAN over the mapping: written pages, the zero page's left out.
    fn scan(&self) -> io::Result<Vec<Range<u64>>> {
        let map = self.span.owned;
        let ps = self.span.page_size;
        let end = map.start() + map.bytes();
        let mut runs: Vec<Range<u64>> = Vec::new();
        let mut buf = vec![PageRegion::default(); 512];
        let mut at = map.start();
        while at < end {
            let masks = (PAGE_IS_WRITTEN, PAGE_IS_WRITTEN | PAGE_IS_PFNZERO);
            let (n, walk_end) = uffd::written_regions(&self.pagemap, map, at, masks, &mut buf)?;
            for r in buf
                .iter()
                .take(n)
                .filter(|r| r.categories & PAGE_IS_PFNZERO == 0)
            {
                let run = (r.start - map.start()) / ps..(r.end - map.start()).div_ceil(ps);
                match runs.last_mut() {
                    Some(last) if last.end == run.start => last.end = run.end,
                    _ => runs.push(run),
                }
            }
            if walk_end <= at || walk_end >= end {
                break;
            }
            at = walk_end;
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::map::request::{MapRequest, page_size};

    #[test]
    fn a_remap_restarts_the_set_and_says_so() {
        let ps = page_size();
        let mut region = Region::open(&MapRequest::anon(8 * ps, MapMode::Private)).expect("map");
        let Ok(mut t) = WriteTracker::start(&region) else {
            eprintln!("SKIPPED a_remap_restarts_the_set_and_says_so: no async write-protect here");
            return;
        };
        region.write(ps, b"x").expect("write");
        let pages = |set: WrittenSet| set.runs.into_iter().flatten().collect::<Vec<u64>>();
        assert_eq!(pages(t.written(&region).expect("set")), [1]);
        // mremap drops the registration (no EVENT_REMAP asked): grown in place or moved.
        region.resize(4096 * ps).expect("mremap");
        let set = t.written(&region).expect("set");
        assert!(set.restarted.is_some(), "{set:?}");
        assert!(set.runs.is_empty());
        region.write(3 * ps, b"y").expect("write");
        let set = t.written(&region).expect("set");
        assert_eq!(set.restarted, None);
        assert_eq!(pages(set), [3]);
    }

    #[test]
    fn written_set_answers_by_page() {
        let set = WrittenSet {
            runs: vec![1..3, 7..8],
            restarted: None,
        };
        let pages: Vec<u64> = (0..10).filter(|&p| set.contains(p)).collect();
        assert_eq!(pages, vec![1, 2, 7]);
        assert_eq!(set.pages(), 3);
    }
}
