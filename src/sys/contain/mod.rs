//! The processes mmapscope starts and their containment (`children`: the keeper of `fork`, the
//! code child of the exec demo, each killed and reaped on any exit), and `exit`: the registry of what must be cleaned up on any way out (their pids and groups, our
//! temporary directories) and the one `install` every front end calls.

pub mod children;
pub mod exit;
