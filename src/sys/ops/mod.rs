//! The operations on a mapping: what they are, as data (`op`), the sentences that say what
//! happened (`notes`), the one write gate each passes (`gate`), what an operation did and the
//! measures before and after (`outcome`), carrying out the operations on the mapping itself
//! (`on_mapping`) and those of the lab that involve another process or the allocator
//! (`on_lab`), `dump` (a range's present bytes to a file), and `carry`: the one entry that carries out any operation, and starts mapped code
//! the explorer polls.

pub mod carry;
pub mod dump;
pub mod gate;
pub mod notes;
pub mod on_lab;
pub mod on_mapping;
pub mod op;
pub mod outcome;
