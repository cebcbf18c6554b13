//! The operations on a mapping: what they are, as data (`op`), the one write gate each passes
//! (`gate`), carrying them out and measuring before and after (`carry`), and the sentences that
//! say what happened (`notes`).

pub mod carry;
pub mod gate;
pub mod notes;
pub mod op;
