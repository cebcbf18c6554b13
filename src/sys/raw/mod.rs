//! THE unsafe module: thin shims around the calls that take a raw address, fill a kernel
//! struct, or must run in a forked child, each with a `// SAFETY:` line naming the checked
//! precondition (as rustix and memmap2 do), in files by what they wrap: the mapping
//! (`mapping`), what runs in a forked child (`forked`), single calls that fill a struct
//! (`syscalls`), the pagemap and maps ioctls (`pagemap`, `procmap`), userfaultfd's
//! asynchronous write-protect (`uffd`). Everything else is safe
//! code on top: `map` decides what to map and what to refuse, `contain` owns deadlines,
//! `probe` reads state.
//!
//! The soundness argument, once: a `Mapping` is only ever touched through the kernel
//! (`process_vm_readv`/`writev`, `mincore`, `madvise`, `mprotect`, `msync`, `mlock`,
//! `mremap` and `mmap(MAP_FIXED)` over itself), every address range is checked against the
//! mapping's own bounds first, and
//! no Rust reference into the mapping is ever created, so nothing the kernel does to those
//! pages (protections, truncation by another process, discarding them) can invalidate a
//! reference or make a load fault in this process.

#![allow(unsafe_code)]

pub mod forked;
pub mod mapping;
pub mod pagemap;
pub mod procmap;
pub mod syscalls;
pub mod uffd;

// The shims by what they wrap, reached as `sys::raw::X` from the safe code above.
pub(crate) use forked::*;
pub use mapping::*;
pub use pagemap::*;
pub(crate) use procmap::*;
pub use syscalls::*;
pub use uffd::Uffd;
