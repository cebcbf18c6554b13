//! The pure compare of now with the mark: page states as runs (`compare_runs`, in time with
//! the number of runs, not of pages), one page's states and bytes (`compare_page`), and the
//! VMAs with their counters (`compare_vmas`). No kernel handle: a replay compares two
//! recorded frames with the same functions.

use super::{FlagRun, Flags, MarkVma, Word, Words};

/// Pages whose followed states changed since the mark, all in the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeRun {
    pub first: u64,
    pub count: u64,
    /// Words that were false at the mark and are true now.
    pub became: Words,
    /// Words that were true at the mark and are false now (`resident`: evicted).
    pub stopped: Words,
}

/// What became of a page's bytes since the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BytesChange {
    /// The mark did not keep them: not in memory then, or beyond `MARK_BYTES_MAX`.
    NotKept,
    /// They cannot be read now (not in memory, or not present in another process).
    Unread,
    Same,
    /// This many bytes differ.
    Changed(u64),
}

/// One page now against the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageChange {
    pub became: Words,
    pub stopped: Words,
    pub bytes: BytesChange,
}

impl PageChange {
    /// Anything changed: a state or a byte.
    pub fn any(&self) -> bool {
        !self.became.is_empty()
            || !self.stopped.is_empty()
            || matches!(self.bytes, BytesChange::Changed(_))
    }

    /// The changes in words, `+dirty -resident bytes` style (`bytes` when bytes changed).
    pub fn words(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .became
            .iter()
            .map(|w| format!("+{}", w.name()))
            .collect();
        out.extend(self.stopped.iter().map(|w| format!("-{}", w.name())));
        if matches!(self.bytes, BytesChange::Changed(_)) {
            out.push("bytes".into());
        }
        out
    }
}

/// Words that became true and stopped being true from `then` to `now`, where both know them.
fn transitions(then: Flags, now: Flags) -> (Words, Words) {
    let known = then.known.0 & now.known.0;
    let became = Words(!then.set.0 & now.set.0 & known);
    let stopped = Words(then.set.0 & !now.set.0 & known);
    (became, stopped)
}

/// One page now against the mark: its states (`None`: not known on that side) and its bytes
/// (`then`: kept at the mark; `now`: as read now, `None` for a byte that could not be read).
pub fn compare_page(
    then: Option<Flags>,
    now: Option<Flags>,
    then_bytes: Option<&[u8]>,
    now_bytes: &[Option<u8>],
) -> PageChange {
    let (became, stopped) = match (then, now) {
        (Some(a), Some(b)) => transitions(a, b),
        _ => (Words::default(), Words::default()),
    };
    let bytes = match then_bytes {
        None => BytesChange::NotKept,
        Some(_) if now_bytes.is_empty() || now_bytes.iter().any(Option::is_none) => {
            BytesChange::Unread
        }
        Some(old) => {
            let n = changed_offsets(old, now_bytes)
                .iter()
                .map(|(_, len)| len)
                .sum();
            if n == 0 {
                BytesChange::Same
            } else {
                BytesChange::Changed(n)
            }
        }
    };
    PageChange {
        became,
        stopped,
        bytes,
    }
}

/// The ranges `(offset in page, length)` where `now` differs from `then` (bytes not read now
/// do not count; a shorter side compares over the common length).
pub fn changed_offsets(then: &[u8], now: &[Option<u8>]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (i, (a, b)) in then.iter().zip(now).enumerate() {
        let differs = matches!(b, Some(b) if b != a);
        if !differs {
            continue;
        }
        let i = i as u64;
        match out.last_mut() {
            Some((start, len)) if *start + *len == i => *len += 1,
            _ => out.push((i, 1)),
        }
    }
    out
}

/// The pages whose followed states changed between two sorted run lists (the mark's and
/// now's), as runs; pages only one side covers do not count. Time in proportion to the runs.
pub fn compare_runs(then: &[FlagRun], now: &[FlagRun]) -> Vec<ChangeRun> {
    let mut out: Vec<ChangeRun> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < then.len() && j < now.len() {
        let (a, b) = (&then[i], &now[j]);
        let lo = a.first.max(b.first);
        let hi = a.end().min(b.end());
        if lo < hi {
            let (became, stopped) = transitions(a.flags, b.flags);
            if !became.is_empty() || !stopped.is_empty() {
                match out.last_mut() {
                    Some(last)
                        if last.first + last.count == lo
                            && last.became == became
                            && last.stopped == stopped =>
                    {
                        last.count += hi - lo;
                    }
                    _ => out.push(ChangeRun {
                        first: lo,
                        count: hi - lo,
                        became,
                        stopped,
                    }),
                }
            }
        }
        if a.end() <= b.end() {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// What `: changed`, `: +WORD` and `: -WORD` look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeFilter {
    /// Any state change.
    Any,
    Became(Word),
    Stopped(Word),
}

impl ChangeFilter {
    fn matches(self, run: &ChangeRun) -> bool {
        match self {
            Self::Any => !run.became.is_empty() || !run.stopped.is_empty(),
            Self::Became(w) => run.became.has(w),
            Self::Stopped(w) => run.stopped.has(w),
        }
    }
}

/// The first page after `from` (before it, going back) in a change run that `filter`
/// matches; wrapping once, as the state search does (forward: then from the first page up to
/// `from`; back: then from the last page down to it).
pub fn first_change(
    changes: &[ChangeRun],
    from: u64,
    forward: bool,
    filter: ChangeFilter,
) -> Option<u64> {
    let mut matching = changes.iter().filter(|r| filter.matches(r));
    if forward {
        changes
            .iter()
            .filter(|r| r.first + r.count > from + 1 && filter.matches(r))
            .map(|r| r.first.max(from + 1))
            .next()
            .or_else(|| matching.next().map(|r| r.first).filter(|&p| p <= from))
    } else {
        changes
            .iter()
            .rev()
            .filter(|r| r.first < from && filter.matches(r))
            .map(|r| (r.first + r.count - 1).min(from - 1))
            .next()
            .or_else(|| {
                matching
                    .next_back()
                    .map(|r| r.first + r.count - 1)
                    .filter(|&p| p >= from)
            })
    }
}

/// How a VMA changed since the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmaChangeKind {
    /// The same range; its counters may have moved.
    Same,
    New,
    Grown,
    Shrunk,
    /// Mapped at the mark, not now.
    Gone,
}

impl VmaChangeKind {
    /// The word `diff` and the address-space view use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Same => "same",
            Self::New => "new",
            Self::Grown => "grown",
            Self::Shrunk => "shrunk",
            Self::Gone => "gone",
        }
    }
}

/// One VMA now against the mark: its range then (`None` for a new one) and now (`None` for a
/// gone one), and its counters' deltas in bytes (`None` where either side lacks them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmaChange {
    pub kind: VmaChangeKind,
    pub then: Option<(u64, u64)>,
    pub now: Option<(u64, u64)>,
    pub path: String,
    pub rss: Option<i64>,
    pub pss: Option<i64>,
    pub swap: Option<i64>,
}

impl VmaChange {
    /// Nothing changed: same range, counters equal (or unknown).
    pub fn is_quiet(&self) -> bool {
        self.kind == VmaChangeKind::Same
            && [self.rss, self.pss, self.swap]
                .iter()
                .all(|d| d.is_none_or(|d| d == 0))
    }
}

fn delta(
    then: Option<&MarkVma>,
    now: Option<&MarkVma>,
    f: fn(&super::Counters) -> u64,
) -> Option<i64> {
    let a = then.map_or(Some(0), |v| v.counters.as_ref().map(f))?;
    let b = now.map_or(Some(0), |v| v.counters.as_ref().map(f))?;
    Some(i64::try_from(b).ok()? - i64::try_from(a).ok()?)
}

fn change(kind: VmaChangeKind, then: Option<&MarkVma>, now: Option<&MarkVma>) -> VmaChange {
    VmaChange {
        kind,
        then: then.map(|v| (v.start, v.end)),
        now: now.map(|v| (v.start, v.end)),
        path: now.or(then).map(|v| v.path.clone()).unwrap_or_default(),
        rss: delta(then, now, |c| c.rss),
        pss: delta(then, now, |c| c.pss),
        swap: delta(then, now, |c| c.swap),
    }
}

/// The VMA of `then` (sorted by start) that `now` continues, and its index: the same start
/// (grown or shrunk at the end, as a heap) or the same end (as a stack grows down), with the
/// same backing.
fn matching(then: &[MarkVma], now: &MarkVma) -> Option<usize> {
    let same = |v: &MarkVma| v.path == now.path && v.inode == now.inode;
    let by_start = then.binary_search_by_key(&now.start, |v| v.start).ok();
    let by_end = then.binary_search_by_key(&now.end, |v| v.end).ok();
    by_start
        .filter(|&i| same(&then[i]))
        .or(by_end.filter(|&i| same(&then[i])))
}

/// One VMA now against the VMAs of the mark (sorted by start).
pub fn compare_vma(then: &[MarkVma], now: &MarkVma) -> VmaChange {
    let Some(i) = matching(then, now) else {
        return change(VmaChangeKind::New, None, Some(now));
    };
    let old = &then[i];
    let (was, is) = (old.end - old.start, now.end - now.start);
    let kind = match is.cmp(&was) {
        std::cmp::Ordering::Equal if old.start == now.start => VmaChangeKind::Same,
        std::cmp::Ordering::Less => VmaChangeKind::Shrunk,
        // Moved at the same size: said as grown from the range it had.
        _ => VmaChangeKind::Grown,
    };
    change(kind, Some(old), Some(now))
}

/// Every VMA that changed between the mark's (sorted by start) and now's: new, grown,
/// shrunk, gone, or with moved counters; in address order of now, gone ones after.
pub fn compare_vmas(then: &[MarkVma], now: &[MarkVma]) -> Vec<VmaChange> {
    let mut seen = vec![false; then.len()];
    let mut out = Vec::new();
    for v in now {
        if let Some(i) = matching(then, v) {
            seen[i] = true;
        }
        let c = compare_vma(then, v);
        if !c.is_quiet() {
            out.push(c);
        }
    }
    out.extend(
        then.iter()
            .zip(&seen)
            .filter(|(_, seen)| !**seen)
            .map(|(v, _)| change(VmaChangeKind::Gone, Some(v), None)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Counters, flags_at};
    use super::*;

    fn flags(known: &[Word], set: &[Word]) -> Flags {
        let mut f = Flags::default();
        for w in known {
            f.known = f.known.with(*w);
        }
        for w in set {
            f.set = f.set.with(*w);
        }
        f
    }

    const ALL: [Word; 6] = Word::ALL;

    fn run(first: u64, count: u64, set: &[Word]) -> FlagRun {
        FlagRun {
            first,
            count,
            flags: flags(&ALL, set),
        }
    }

    #[test]
    fn a_page_that_became_dirty_and_stopped_being_resident_says_both() {
        let then = flags(&ALL, &[Word::Resident, Word::Present]);
        let now = flags(&ALL, &[Word::Present, Word::Dirty]);
        let c = compare_page(Some(then), Some(now), None, &[]);
        assert_eq!(c.became.names(), ["dirty"]);
        assert_eq!(c.stopped.names(), ["resident"]);
        assert_eq!(c.bytes, BytesChange::NotKept);
        assert_eq!(c.words(), ["+dirty", "-resident"]);
    }

    #[test]
    fn a_word_unknown_on_either_side_is_no_change() {
        let then = flags(&[Word::Present], &[]);
        let now = flags(&ALL, &[Word::Present, Word::Dirty]);
        let c = compare_page(Some(then), Some(now), None, &[]);
        assert_eq!(c.became.names(), ["present"]);
        assert!(c.stopped.is_empty());
    }

    #[test]
    fn bytes_compare_names_exactly_the_bytes_that_differ() {
        let then = [0u8, 1, 2, 3, 4, 5];
        let now = [Some(0), Some(9), Some(9), Some(3), Some(4), Some(7)];
        assert_eq!(changed_offsets(&then, &now), [(1, 2), (5, 1)]);
        let c = compare_page(None, None, Some(&then), &now);
        assert_eq!(c.bytes, BytesChange::Changed(3));
        assert!(c.any());
        let same: Vec<Option<u8>> = then.iter().map(|b| Some(*b)).collect();
        assert_eq!(
            compare_page(None, None, Some(&then), &same).bytes,
            BytesChange::Same
        );
        let mut unread = same.clone();
        unread[2] = None;
        assert_eq!(
            compare_page(None, None, Some(&then), &unread).bytes,
            BytesChange::Unread
        );
    }

    #[test]
    fn runs_compare_over_the_overlaps_and_merge_equal_changes() {
        // Mark: 0..100 nothing, 100..200 resident. Now: 0..50 nothing, 50..150 resident,
        // 150..200 nothing.
        let then = [run(0, 100, &[]), run(100, 100, &[Word::Resident])];
        let now = [
            run(0, 50, &[]),
            run(50, 100, &[Word::Resident]),
            run(150, 50, &[]),
        ];
        let c = compare_runs(&then, &now);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].first, c[0].count), (50, 50));
        assert_eq!(c[0].became.names(), ["resident"]);
        assert_eq!((c[1].first, c[1].count), (150, 50));
        assert_eq!(c[1].stopped.names(), ["resident"]);
        assert!(compare_runs(&then, &then).is_empty());
    }

    #[test]
    fn first_change_finds_the_next_and_previous_run_by_filter() {
        let then = [run(0, 1 << 40, &[])];
        let now = [
            run(0, 10, &[]),
            run(10, 2, &[Word::Dirty]),
            run(12, 100, &[]),
            run(112, 1, &[Word::Present]),
            run(113, (1 << 40) - 113, &[]),
        ];
        let c = compare_runs(&then, &now);
        let dirty = ChangeFilter::Became(Word::Dirty);
        assert_eq!(first_change(&c, 0, true, ChangeFilter::Any), Some(10));
        assert_eq!(first_change(&c, 10, true, ChangeFilter::Any), Some(11));
        assert_eq!(first_change(&c, 11, true, ChangeFilter::Any), Some(112));
        assert_eq!(
            first_change(&c, 11, true, dirty),
            Some(10),
            "wraps to the first"
        );
        assert_eq!(first_change(&c, 500, false, dirty), Some(11));
        assert_eq!(
            first_change(&c, 5, false, ChangeFilter::Any),
            Some(112),
            "wraps back"
        );
        assert_eq!(
            first_change(&c, 0, true, ChangeFilter::Stopped(Word::Dirty)),
            None
        );
        assert_eq!(flags_at(&now, 111).map(|f| f.set), Some(Words(0)));
    }

    fn vma(start: u64, end: u64, path: &str, rss: u64) -> MarkVma {
        MarkVma {
            start,
            end,
            path: path.into(),
            counters: Some(Counters {
                rss,
                pss: rss,
                swap: 0,
            }),
            ..MarkVma::default()
        }
    }

    #[test]
    fn vmas_new_grown_shrunk_gone_and_counter_deltas() {
        let then = [
            vma(0x1000, 0x3000, "[heap]", 4096),
            vma(0x10000, 0x20000, "/lib/a.so", 8192),
            vma(0x30000, 0x40000, "", 0),
            vma(0x7000_0000, 0x7000_8000, "[stack]", 8192),
        ];
        let now = [
            vma(0x1000, 0x9000, "[heap]", 16384),
            vma(0x10000, 0x20000, "/lib/a.so", 8192),
            vma(0x50000, 0x60000, "/tmp/new", 4096),
            vma(0x6fff_0000, 0x7000_8000, "[stack]", 12288),
        ];
        let c = compare_vmas(&then, &now);
        let kinds: Vec<_> = c.iter().map(|c| (c.kind.name(), c.path.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("grown", "[heap]"),
                ("new", "/tmp/new"),
                ("grown", "[stack]"),
                ("gone", ""),
            ]
        );
        assert_eq!(c[0].rss, Some(12288));
        assert_eq!(c[1].rss, Some(4096));
        assert_eq!(c[2].then, Some((0x7000_0000, 0x7000_8000)));
        let shrunk = compare_vma(&now, &then[0]);
        assert_eq!(shrunk.kind, VmaChangeKind::Shrunk);
        assert_eq!(shrunk.rss, Some(-12288));
    }
}
