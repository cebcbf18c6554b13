//! Everything that talks to the kernel: the mapping (`region`; the one module allowed
//! unchecked code is `raw`), page-state probes (`probe`), reading pages only looked at
//! without disturbing them (`look`), our VMA in `/proc/self/maps` and `smaps` (`procmaps`),
//! the processes we start and their containment (`children`, the keeper of `fork` included), the limits the lab runs into
//! (`limits`), the one write gate every change of a named file or another process passes
//! (`gate`), and errors as data (`error`). Nothing here knows about the screen.

pub mod cells;
pub mod children;
pub mod error;
pub mod exec;
pub mod gate;
pub mod handle;
pub mod lab;
pub mod limits;
pub mod look;
pub mod mapped;
pub mod notes;
pub mod ops;
pub mod probe;
pub mod process;
pub mod procmaps;
pub mod raw;
pub mod region;
pub mod snapshot;
pub mod vma;

pub use error::SysError;
pub use region::{MapMode, MapRequest, Placement, Prot, Region, Target};
