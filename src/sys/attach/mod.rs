//! What mmapscope looks at without having made it: one handle on a process, opened once
//! (`handle`), and a VMA explored through it, in our process or another (`foreign`).

pub mod foreign;
pub mod handle;
