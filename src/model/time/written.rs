//! What the kernel says was written (our own mapping) or accessed (another process,
//! `--track-access`) since the mark, as plain data: the session's trackers read it
//! (`session::track`), and the compare folds the written set in as the word `written`
//! (`with_written`).

use std::ops::Range;

use super::{FlagRun, Word};

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

/// `runs` with the word `written` known on every page and true on the pages of `written`
/// (sorted runs of page numbers), split where it changes: the mark's runs with no page written
/// and a probe's with the set read now compare to `+written` exactly where a page was written.
/// Time in proportion to the runs of both.
pub fn with_written(runs: &[FlagRun], written: &[Range<u64>]) -> Vec<FlagRun> {
    let mut out: Vec<FlagRun> = Vec::with_capacity(runs.len() + 2 * written.len());
    let mut w = 0;
    for r in runs {
        let mut at = r.first;
        while at < r.end() {
            while written.get(w).is_some_and(|x| x.end <= at) {
                w += 1;
            }
            let (inside, until) = match written.get(w) {
                Some(x) if x.start <= at => (true, x.end),
                Some(x) => (false, x.start),
                None => (false, u64::MAX),
            };
            let end = until.min(r.end());
            let mut flags = r.flags;
            flags.known = flags.known.with(Word::Written);
            if inside {
                flags.set = flags.set.with(Word::Written);
            }
            out.push(FlagRun {
                first: at,
                count: end - at,
                flags,
            });
            at = end;
        }
    }
    out
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

    #[test]
    fn folding_the_written_set_in_gives_plus_written_exactly_there() {
        use super::super::{Flags, compare_runs};
        let run = |first, count| FlagRun {
            first,
            count,
            flags: Flags::default(),
        };
        let then = with_written(&[run(0, 10), run(10, 90)], &[]);
        let now = with_written(&[run(0, 50), run(50, 50)], &[3..5, 9..12, 99..100]);
        let changes = compare_runs(&then, &now);
        let got: Vec<(u64, u64)> = changes.iter().map(|c| (c.first, c.count)).collect();
        assert_eq!(got, [(3, 2), (9, 3), (99, 1)]);
        assert!(changes.iter().all(|c| c.became.names() == ["written"]));
        assert!(changes.iter().all(|c| c.stopped.is_empty()));
    }
}
