//! The processes mmapscope starts and their containment: the keeper of `fork`, the code child
//! of the exec demo, the peer, each in its own process group, killed and reaped on any exit.

pub mod children;
