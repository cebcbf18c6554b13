//! The classroom experiments that need state beyond the mapping: the peer, the keeper after
//! `fork`, buffers from the allocator, the machine code of the exec demo (`experiments`).

pub mod experiments;
