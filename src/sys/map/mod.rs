//! The mapping mmapscope makes, and what every probe reads: what is asked and the policy that
//! admits it (`request`), the mapping itself, opened, read and looked at (`region`), the calls on
//! a live mapping (`calls`: mprotect, msync, madvise, mremap, mlock, the children that run on
//! it), and the `Mapped` trait (`range`: a range of some address space with pages and bytes, of
//! which a `Region` is one).

pub mod calls;
pub mod range;
pub mod region;
pub mod request;
