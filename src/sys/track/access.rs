//! What another process touched since the mark, by the wss method (Brendan Gregg's working set
//! size tools): at the mark, `clear_refs` 1 clears the accessed bits of every page of the
//! process (through its handle, after the write gate's `clear_refs_refusal`); from then on
//! smaps `Referenced` of each VMA counts the bytes of the pages touched since. Only with
//! `--track-access`: clearing the bits makes every page look unused to reclaim until touched.
//!
//! `Referenced` is a lower bound: clear_refs clears the accessed bits without flushing the
//! TLBs (fs/proc/task_mmu.c), so a page whose translation a CPU still caches can be touched
//! without the bit being set again (measured here once: 58 of 64 pages read were counted).
//! Pages mmapscope itself reads through `/proc/PID/mem` (the bytes on screen) count as
//! touched: the kernel's remote access marks them accessed (mm/gup.c: FOLL_TOUCH).
//! Per page the kernel can say the same only with idle page tracking
//! (`/sys/kernel/mm/page_idle/bitmap`, CONFIG_IDLE_PAGE_TRACKING) or soft-dirty for writes
//! (pagemap bit 55, CONFIG_MEM_SOFT_DIRTY): `per_page` finds out at run time.

use std::os::unix::fs::FileExt as _;

use crate::sys::attach::handle::ProcessHandle;
use crate::sys::error::SysError;
use crate::sys::map::region::Region;
use crate::sys::map::request::{MapMode, MapRequest};
use crate::sys::proc::maps::Vma;
use crate::sys::raw::pagemap::Pagemap;

/// The file idle page tracking is read through.
pub const PAGE_IDLE: &str = "/sys/kernel/mm/page_idle/bitmap";

/// Starts a new "since": clears the process's accessed bits.
///
/// # Errors
/// The handle's refusal (exited, exec, no permission).
pub fn clear(handle: &ProcessHandle) -> Result<(), SysError> {
    handle.clear_referenced()
}

/// One VMA's bytes touched since the clear: its smaps `Referenced`, beside its `Rss`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Touched {
    #[serde(serialize_with = "crate::text::json::addr")]
    pub start: u64,
    #[serde(serialize_with = "crate::text::json::addr")]
    pub end: u64,
    pub path: String,
    /// Bytes of pages referenced since the clear.
    pub referenced: u64,
    pub rss: u64,
}

impl Touched {
    /// From a VMA read from smaps after the clear.
    pub fn of(vma: &Vma) -> Self {
        Self {
            start: vma.head.start,
            end: vma.head.end,
            path: vma.head.path.clone(),
            referenced: vma.memory.referenced,
            rss: vma.memory.rss,
        }
    }
}

/// Every VMA's bytes touched since the clear, from one read of its smaps.
///
/// # Errors
/// ESRCH once it exited or called exec.
pub fn touched(handle: &ProcessHandle) -> Result<Vec<Touched>, SysError> {
    Ok(handle.vmas(0, u64::MAX)?.iter().map(Touched::of).collect())
}

/// What the kernel can say per page about another process's accesses since the mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerPage {
    /// Idle page tracking is there (root reads and writes its bitmap by PFN).
    IdleTracking,
    /// Soft-dirty is compiled in: writes per page, not reads.
    SoftDirty,
    /// Neither: why, in one sentence (`n/a` on screen).
    NotAvailable(String),
}

impl PerPage {
    /// In words, for the screen and `diff`.
    pub fn words(&self) -> String {
        match self {
            // Not read yet: the kernel has them, mmapscope counts per VMA only (said, not hidden).
            Self::IdleTracking => format!(
                "per page: n/a (idle page tracking is here, {PAGE_IDLE}, but mmapscope reads \
                 accesses per VMA only)"
            ),
            Self::SoftDirty => "per page: n/a (soft-dirty is here, but mmapscope reads accesses \
                                per VMA only)"
                .to_string(),
            Self::NotAvailable(why) => format!("per page: n/a ({why})"),
        }
    }
}

/// Whether soft-dirty is compiled in: a page just written in a new mapping of ours reports
/// pagemap bit 55 (new VMAs are all soft-dirty) only where CONFIG_MEM_SOFT_DIRTY is set.
fn soft_dirty_works() -> bool {
    let Ok(page) = Region::open(&MapRequest::anon(1, MapMode::Private)) else {
        return false;
    };
    if page.write(0, b"s").is_err() {
        return false;
    }
    let Ok(pagemap) = Pagemap::of_self() else {
        return false;
    };
    let mut word = [0u8; 8];
    let at = page.addr() / page.page_size() * 8;
    pagemap.read_exact_at(&mut word, at).is_ok() && u64::from_le_bytes(word) & (1 << 55) != 0
}

/// What this kernel offers per page, found now.
pub fn per_page() -> PerPage {
    if std::path::Path::new(PAGE_IDLE).exists() {
        PerPage::IdleTracking
    } else if soft_dirty_works() {
        PerPage::SoftDirty
    } else {
        PerPage::NotAvailable(
            "this kernel has neither idle page tracking (no /sys/kernel/mm/page_idle) nor \
             soft-dirty (pagemap bit 55 stays clear on a page just written)"
                .to_string(),
        )
    }
}
