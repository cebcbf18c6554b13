//! Reading page state and bytes without disturbing them: one page's state as data (`state`),
//! the prober that reads it for a range (`prober`: pagemap, kpageflags, mincore, cachestat),
//! the whole-mapping scan behind `inspect` (`scan`), the minimap's chunks (`chunks`), reading
//! bytes only to look at them (`look`), the page map's cells (`cells`) and one refresh's worth
//! of kernel truth (`snapshot`).

pub mod cells;
pub mod chunks;
pub mod look;
pub mod prober;
pub mod scan;
pub mod snapshot;
pub mod state;
