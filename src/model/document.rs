//! The document shown: the mapping (or the VMA explored) with the place in it and what this
//! tool wrote into it, as helix keeps a `Document` apart from its `View`. Exploring another VMA
//! swaps the whole struct (`Space::away` keeps ours), so nothing is stashed field by field, and
//! the edits, the history and the redo stack are forgotten together in one place.

use std::collections::BTreeSet;

/// The place in the mapping shown and what we wrote into it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Cursor as a mapping offset.
    pub cursor: u64,
    /// First visible line of the grid document.
    pub top: u64,
    /// Offsets written by this tool since the last msync that covered them (MAP_PRIVATE:
    /// since the mapping was made; msync never writes them).
    pub edits: BTreeSet<u64>,
    pub history: Vec<EditRecord>,
    pub redo: Vec<EditRecord>,
}

impl Document {
    /// Forgets the edit marks and both stacks: the records point into a mapping that is gone
    /// (remapped, swapped, another VMA), where an undo would write elsewhere.
    pub fn forget_edits(&mut self) {
        self.edits.clear();
        self.forget_history();
    }

    /// Forgets the undo and redo stacks, keeping the marks (they go with their mapping).
    pub fn forget_history(&mut self) {
        self.history.clear();
        self.redo.clear();
    }
}

/// One write in the edit history: enough to undo and redo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRecord {
    pub offset: u64,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

/// Whether an executed write enters the edit history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Not a write, or a write recorded as new (clears the redo stack).
    Record,
    /// An undo: the record moves to the redo stack.
    Undo,
    /// A redo: the record moves back to the undo stack.
    Redo,
}
