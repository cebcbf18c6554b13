//! What mmapscope looks at without having made it: one handle on a process, opened once
//! (`handle`), /proc read off the screen's path at a pace its cost allows (`paced`), and a VMA
//! explored through the handle, in our process or another (`foreign`), and the VMA (or gap)
//! of any address of it (`locate`).

pub mod foreign;
pub mod handle;
pub mod locate;
pub mod paced;
