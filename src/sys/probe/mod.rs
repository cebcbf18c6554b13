//! Reading page state and bytes without disturbing them: the page-state prober (`state`:
//! pagemap, kpageflags, mincore, cachestat), reading bytes only to look at them (`look`), the
//! page map's cells (`cells`) and one refresh's worth of kernel truth (`snapshot`).

pub mod cells;
pub mod look;
pub mod snapshot;
pub mod state;
