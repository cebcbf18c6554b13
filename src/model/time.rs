//! Time: what the views compare "now" with. The mark (a baseline taken with `b` or the script
//! word `mark`) and the recording being replayed live here, so that the feature's state is in
//! one room; so does what the kernel says was written (our own mapping) or accessed (another
//! process, `--track-access`) since the mark.

use std::ops::Range;

/// The room for the time feature's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Time {
    /// The pages of the mapping shown written since the mark, or why that is not known
    /// (`None`: no mark, or not asked yet).
    pub written: Option<Written>,
    /// `--track-access`: the accessed bits were cleared at the mark; what per page says.
    pub access: Option<Access>,
}

/// Pages written since the mark, as the session last read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Runs of page numbers (from the mapping's first page); empty when not `exact`.
    pub pages: Vec<Range<u64>>,
    /// The set is exact (the kernel tracked every store); false: there is no set, `source`
    /// says why.
    pub exact: bool,
    /// Where the set comes from, or why there is none, in one sentence.
    pub source: String,
    /// Set when tracking restarted since the mark (a remap): the words.
    pub restarted: Option<String>,
}

impl Written {
    /// Whether page `page` was written since the mark: `None` where not known.
    pub fn page(&self, page: u64) -> Option<bool> {
        if !self.exact {
            return None;
        }
        let i = self.pages.partition_point(|r| r.end <= page);
        Some(self.pages.get(i).is_some_and(|r| r.contains(&page)))
    }

    /// How many pages were written (0 where not known).
    pub fn count(&self) -> u64 {
        self.pages.iter().map(|r| r.end - r.start).sum()
    }

    /// The first written page at or after `from` (then wrapping to the start), for `: written`.
    pub fn next_from(&self, from: u64) -> Option<u64> {
        let i = self.pages.partition_point(|r| r.end <= from);
        match self.pages.get(i) {
            Some(r) => Some(r.start.max(from)),
            None => self.pages.first().map(|r| r.start),
        }
    }
}

/// `--track-access` at the mark: whether the process's accessed bits were cleared, and what
/// the kernel can say per page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `Ok`: cleared at the mark, so each VMA's `Referenced` counts what was touched since;
    /// `Err`: why not (the gate's refusal, the process gone).
    pub cleared: Result<(), String>,
    /// Per page: `n/a` and why, on this kernel.
    pub per_page: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_pages_answer_only_where_exact() {
        let w = Written {
            pages: vec![2..4, 9..10],
            exact: true,
            ..Written::default()
        };
        let got: Vec<Option<bool>> = (0..5).map(|p| w.page(p)).collect();
        assert_eq!(
            got,
            [
                Some(false),
                Some(false),
                Some(true),
                Some(true),
                Some(false)
            ]
        );
        assert_eq!(w.count(), 3);
        assert_eq!(w.next_from(0), Some(2));
        assert_eq!(w.next_from(3), Some(3));
        assert_eq!(w.next_from(4), Some(9));
        assert_eq!(w.next_from(10), Some(2), "wraps");
        let unknown = Written {
            exact: false,
            source: "not tracked".into(),
            ..Written::default()
        };
        assert_eq!(unknown.page(2), None);
    }
}
