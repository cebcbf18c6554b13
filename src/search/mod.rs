//! Searches: what a search looks for and the byte matcher (`query`, pure), and a search run
//! over a mapping across ticks of the event loop, within a time budget per tick (`job`).

pub mod job;
pub mod query;
