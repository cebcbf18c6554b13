//! Tracking since the mark what the kernel can say was written or accessed: the pages of our
//! own mapping written (`written`: userfaultfd async write-protect + PAGEMAP_SCAN, exact), and
//! the bytes another process referenced per VMA (`access`: `clear_refs` + smaps `Referenced`,
//! only when asked with `--track-access`).

pub mod access;
pub mod written;
