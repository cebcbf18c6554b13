//! Time: what the views compare "now" with. The mark (a baseline taken with `b` or the script
//! word `mark`) and the recording being replayed live here, so that the feature's state is in
//! one room.

/// The views' memory of earlier moments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Time {}
