//! Everything that talks to the kernel, in rooms by role, bottom first (each room uses only
//! rooms before it; `tests/it/layering.rs` keeps it so):
//!
//! - `error`: errors as data (`SysError`: an errno and what it means);
//! - `raw`: the one module with unchecked code, each `unsafe` block with its precondition;
//! - `proc`: the `/proc` and `/sys` readers (maps and smaps, process status, limits);
//! - `contain`: the processes we start and their containment;
//! - `map`: the mapping we make (`region`) and the `Mapped` trait every probe reads (`range`);
//! - `attach`: what we look at without having made it (a process handle, a foreign VMA);
//! - `probe`: page state, bytes read only to look, the page map's cells, the snapshot;
//! - `lab`: the classroom experiments' state (peer, keeper, allocator, code);
//! - `ops`: the operations as data, the write gate, carrying them out, their notes.
//!
//! Nothing here knows about the screen.

pub mod attach;
pub mod contain;
pub mod error;
pub mod lab;
pub mod map;
pub mod ops;
pub mod probe;
pub mod proc;
pub mod raw;

pub use error::SysError;
pub use map::region::{Placement, Region};
pub use map::request::{MapMode, MapRequest, Prot};
