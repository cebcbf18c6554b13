//! The mapping mmapscope makes (`region`: what is asked, the policy that admits it, the
//! `mmap` itself and the calls on it) and what every probe reads (`range`: the `Mapped` trait,
//! a range of some address space with pages and bytes, of which a `Region` is one).

pub mod range;
pub mod region;
