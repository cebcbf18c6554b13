//! Time: the mark the views compare with (helper "mark" fills it) and what the kernel says
//! was written since it (the written set, where the kernel can say exactly).

/// The room for the time feature's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Time {}
