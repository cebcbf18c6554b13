//! Everything that talks to the kernel, in rooms by role, bottom first (each room uses only
//! rooms before it; `tests/it/layering.rs` keeps it so):
//!
//! - `error`: errors as data (`SysError`: an errno and what it means);
//! - `raw`: the one room with unchecked code, each `unsafe` block with its precondition, in
//!   files by what they wrap;
//! - `proc`: the `/proc` and `/sys` readers (maps and smaps, process status, limits);
//! - `contain`: the processes we start and their containment, and the one registry of what
//!   must be cleaned up on any way out (`exit`);
//! - `map`: what is asked and the policy that admits it (`request`), the mapping we make
//!   (`region`), the calls on it (`calls`), and the `Mapped` trait every probe reads (`range`);
//! - `attach`: what we look at without having made it (a process handle, /proc read at a
//!   pace, a foreign VMA);
//! - `probe`: one page's state, the prober, the whole-mapping scan, the minimap's chunks,
//!   bytes read only to look, the page map's cells, the snapshot;
//! - `lab`: the classroom experiments' state (peer, keeper, allocator, code);
//! - `track`: what was written (our mapping) or accessed (another process) since the mark;
//! - `ops`: the operations as data, their notes, the write gate, what an operation did, and
//!   carrying them out (`on_mapping`, `on_lab`, and `carry`, the one entry).
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
pub mod track;

pub use error::SysError;
pub use map::region::{Placement, Region};
pub use map::request::{MapMode, MapRequest, Prot};
