//! The mark, read from the kernel: the states of every page of what is shown as runs
//! (`Prober::scan` without touch: in time with the cached pages and the changes of state, not
//! the file's size), the bytes of the pages in memory up to `MARK_BYTES_MAX` (read as looking
//! reads them: nothing faulted in), and the maps + smaps counters of the process's VMAs. At
//! each refresh with a mark the states are read again for the views' compare; `diff` reads
//! the bytes and VMAs again too and prints the comparison as JSON.

use std::ops::ControlFlow;

use serde_json::{Value as Json, json};

use crate::action::Event;
use crate::model::time::{
    BytesChange, ChangeRun, FlagRun, Flags, KeptPage, MARK_BYTES_MAX, Mark, MarkVma, Marked,
    VmaChange, Word, Written, changed_offsets, compare_runs, compare_vmas, with_written,
};
use crate::sys::map::range::Mapped;
use crate::sys::probe::look;
use crate::sys::probe::prober::Prober;
use crate::update::update;

use super::Session;

/// What `diff` says of `written` when no written set was read since the mark.
pub const WRITTEN_SOURCE: &str = "not tracked: no written set was read since the mark; \
     `changed` has the dirty transitions and the bytes compare instead";

/// The followed states of every page of `shown`, as runs (nothing faulted in). `anon` and
/// `swap` (from smaps) say whether page-table entries may exist outside the page cache where
/// PAGEMAP_SCAN is missing.
fn state_runs(shown: &dyn Mapped, prober: &Prober, anon: bool, swap: bool) -> Vec<FlagRun> {
    let mut out: Vec<FlagRun> = Vec::new();
    let scanned = prober.scan_with(shown, false, anon, swap, &mut |run| {
        let flags = Flags::of(&run.state);
        match out.last_mut() {
            Some(last) if last.flags == flags && last.end() == run.first => {
                last.count += run.count;
            }
            _ => out.push(FlagRun {
                first: run.first,
                count: run.count,
                flags,
            }),
        }
        ControlFlow::Continue(())
    });
    if scanned.is_err() {
        out.clear();
    }
    out
}

/// Whether a page in these states holds bytes in memory.
fn in_memory(flags: Flags) -> bool {
    flags.is(Word::Resident) == Some(true) || flags.is(Word::Present) == Some(true)
}

/// The pages in memory whose bytes a mark keeps: from the cursor's page on, then those
/// before it, at most `cap`; and how many pages are in memory in all.
fn pages_to_keep(runs: &[FlagRun], cursor_page: u64, cap: u64) -> (Vec<u64>, u64) {
    let held = || runs.iter().filter(|r| in_memory(r.flags));
    let total = held().map(|r| r.count).sum();
    let mut out: Vec<u64> = Vec::new();
    // Two passes: the cursor's page and after it, then from the start up to it.
    for (lo, hi) in [(cursor_page, u64::MAX), (0, cursor_page)] {
        for r in held() {
            let room = cap.saturating_sub(out.len() as u64);
            let (from, to) = (r.first.max(lo), r.end().min(hi));
            if from < to {
                out.extend(from..to.min(from.saturating_add(room)));
            }
        }
    }
    out.sort_unstable();
    (out, total)
}

impl Session {
    /// smaps of what is shown says: anonymous pages, swap (both assumed without smaps).
    fn anon_swap(&self) -> (bool, bool) {
        self.model
            .snap
            .readings
            .vma
            .as_ref()
            .map_or((true, true), |v| {
                (v.memory.anonymous > 0, v.memory.swap > 0)
            })
    }

    /// The process's VMAs with their counters, from one read of smaps (`None`: unreadable).
    fn mark_vmas(&mut self) -> Option<Vec<MarkVma>> {
        let handle = self.observer.handle(self.subject.attached()).ok()?;
        let (vmas, lines) = handle.space().ok()?;
        let summaries = crate::sys::proc::process::summaries(lines, &vmas, "", None);
        Some(summaries.iter().map(MarkVma::of).collect())
    }

    /// Reads a mark of what is shown and gives it to the model.
    pub(super) fn set_mark(&mut self) {
        if self.mark_recorded() {
            return;
        }
        let vmas = self.mark_vmas();
        let (anon, swap) = self.anon_swap();
        let (shown, prober) = self.shown();
        let runs = state_runs(shown, prober, anon, swap);
        let ps = shown.page_size();
        let cursor_page = self.model.doc.cursor / ps;
        let (pages, in_mem) = pages_to_keep(&runs, cursor_page, MARK_BYTES_MAX / ps);
        let mut kept = Vec::with_capacity(pages.len());
        look::page_bytes(shown, prober, &pages, &mut |page, bytes| {
            if let Some(bytes) = bytes {
                kept.push(KeptPage { page, bytes });
            }
        });
        let mark = Mark {
            marked: Marked {
                addr: shown.addr(),
                pages: shown.pages(),
                page_size: ps,
                at_ms: self.observer.now_ms(),
                clock: crate::text::clock_now(),
            },
            unkept: in_mem - kept.len() as u64,
            runs,
            kept,
            vmas,
        };
        // The written set starts (or re-arms) with the mark; before `Marked`, whose log line
        // a script's `mark` reports.
        self.track_at_mark();
        // The refresh after every command compares the states (`compare_states`).
        update(&mut self.model, Event::Marked(Box::new(mark)));
    }

    /// With a mark of what is shown: its page states now, for the views' compare.
    pub(super) fn compare_states(&mut self) {
        if self.compare_recorded() {
            return;
        }
        let addr = self.shown().0.addr();
        if !self.model.time.mark.as_ref().is_some_and(|m| m.is_of(addr)) {
            if !self.model.time.changes.is_empty() || !self.model.time.bytes.is_empty() {
                update(&mut self.model, Event::Compared(Vec::new()));
                let none = Event::BytesCompared {
                    pages: Vec::new(),
                    due_ms: None,
                };
                update(&mut self.model, none);
            }
            return;
        }
        let (anon, swap) = self.anon_swap();
        let (shown, prober) = self.shown();
        let runs = state_runs(shown, prober, anon, swap);
        update(&mut self.model, Event::Compared(runs));
        let now = self.observer.now_ms();
        if self.model.time.bytes_due.is_none_or(|due| now >= due) {
            let t = std::time::Instant::now();
            let pages = self.kept_bytes_changed();
            let cost = u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX);
            let due_ms = Some(now + cost.saturating_mul(100).max(1000));
            update(&mut self.model, Event::BytesCompared { pages, due_ms });
        }
    }

    /// The pages the mark kept whose bytes differ now, as sorted runs: each kept page read
    /// as looking reads it (nothing faulted in; a page that cannot be read so counts as not
    /// changed), at most `MARK_BYTES_MAX` of them.
    fn kept_bytes_changed(&mut self) -> Vec<std::ops::Range<u64>> {
        let Some(mark) = self.model.time.mark.as_deref() else {
            return Vec::new();
        };
        let pages: Vec<u64> = mark.kept.iter().map(|k| k.page).collect();
        let (shown, prober) = self.shown();
        let mut runs: Vec<std::ops::Range<u64>> = Vec::new();
        look::page_bytes(shown, prober, &pages, &mut |page, now| {
            let differs = now
                .zip(mark.bytes_of(page))
                .is_some_and(|(now, then)| now.as_slice() != then);
            match runs.last_mut() {
                Some(r) if differs && r.end == page => r.end += 1,
                _ if differs => runs.push(page..page + 1),
                _ => {}
            }
        });
        runs
    }

    /// What `diff` compares with the mark, read now: the page states, the bytes of `pages`
    /// (as looking reads them), the VMAs.
    fn live_now(&mut self, pages: &[u64]) -> Now {
        let vmas_now = self.mark_vmas();
        let (anon, swap) = self.anon_swap();
        let (shown, prober) = self.shown();
        let runs = state_runs(shown, prober, anon, swap);
        let mut bytes = Vec::new();
        look::page_bytes(shown, prober, pages, &mut |page, now| {
            bytes.push((page, now));
        });
        (runs, bytes, vmas_now)
    }

    /// `diff`: what changed since the mark, as JSON (docs/json.md "diff").
    ///
    /// # Errors
    /// No mark, or a mark of another mapping than the one shown.
    pub fn diff(&mut self) -> Result<Json, String> {
        let addr = self.shown().0.addr();
        let mark = match &self.model.time.mark {
            None => return Err(crate::update::mark::NO_MARK.into()),
            Some(m) if !m.is_of(addr) => {
                return Err(format!(
                    "the mark is of another mapping (0x{:x}); `mark` marks this one",
                    m.marked.addr
                ));
            }
            Some(m) => m.clone(),
        };
        let pages: Vec<u64> = mark.kept.iter().map(|k| k.page).collect();
        self.read_written();
        let written = self.model.time.written.clone();
        // A replay compares the frame shown; live, the kernel is read.
        let (now, bytes, vmas_now) = match self.recorded_now(&pages) {
            Some(now) => now,
            None => self.live_now(&pages),
        };
        let states = match written.as_ref().filter(|w| w.exact) {
            Some(w) => compare_runs(
                &with_written(&mark.runs, &[]),
                &with_written(&now, &w.pages),
            ),
            None => compare_runs(&mark.runs, &now),
        };
        let bytes = byte_changes(&mark, &bytes);
        let vmas = match (&mark.vmas, &vmas_now) {
            (Some(then), Some(now)) => Some(compare_vmas(then, now)),
            _ => None,
        };
        let age_ms = self.observer.now_ms().saturating_sub(mark.marked.at_ms);
        let mut out = diff_json(&mark, age_ms, &states, &bytes, vmas.as_deref());
        written_json(&mut out, written.as_ref());
        out["access"] = self.access_json();
        Ok(out)
    }
}

/// What `diff` compares with the mark: page states as runs, bytes of kept pages, the VMAs.
pub(super) type Now = (
    Vec<FlagRun>,
    Vec<(u64, Option<Vec<u8>>)>,
    Option<Vec<MarkVma>>,
);

/// A kept page's bytes now against the mark: its change and the ranges that differ.
type PageBytes = (u64, BytesChange, Vec<(u64, u64)>);

fn byte_changes(mark: &Mark, now: &[(u64, Option<Vec<u8>>)]) -> Vec<PageBytes> {
    now.iter()
        .filter_map(|(page, now)| {
            let then = mark.bytes_of(*page)?;
            let Some(now) = now else {
                return Some((*page, BytesChange::Unread, Vec::new()));
            };
            let now: Vec<Option<u8>> = now.iter().map(|b| Some(*b)).collect();
            let ranges = changed_offsets(then, &now);
            let n: u64 = ranges.iter().map(|r| r.1).sum();
            Some(if n == 0 {
                (*page, BytesChange::Same, ranges)
            } else {
                (*page, BytesChange::Changed(n), ranges)
            })
        })
        .collect()
}

/// The written set into `diff`'s JSON: each page entry's `written` (true / false where the
/// set is exact: entries are runs of pages changed alike, `written` folded in, so one answer
/// holds for a whole entry) and `written_source`; the summary's `written_source` and
/// `written_restarted`.
fn written_json(out: &mut Json, written: Option<&Written>) {
    let source = written.map_or(WRITTEN_SOURCE, |w| w.source.as_str());
    if let Some(pages) = out["pages"].as_array_mut() {
        for p in pages {
            let first = p["first"].as_u64().unwrap_or(0);
            p["written"] = json!(written.and_then(|w| w.page(first)));
            p["written_source"] = json!(source);
        }
    }
    out["summary"]["written_source"] = json!(source);
    out["summary"]["written_restarted"] = json!(written.and_then(|w| w.restarted.clone()));
}

/// One entry of `diff`'s `pages`: a run of pages changed alike.
fn page_entry(
    first: u64,
    count: u64,
    states: Option<&ChangeRun>,
    bytes: Option<&PageBytes>,
) -> Json {
    let became = states.map(|s| s.became.names()).unwrap_or_default();
    let stopped = states.map(|s| s.stopped.names()).unwrap_or_default();
    let mut changed: Vec<String> = became.iter().map(|w| format!("+{w}")).collect();
    changed.extend(stopped.iter().map(|w| format!("-{w}")));
    let (bytes_changed, ranges) = match bytes {
        Some((_, BytesChange::Changed(n), ranges)) => {
            changed.push("bytes".into());
            (json!(n), json!(ranges))
        }
        Some((_, BytesChange::Same, _)) => (json!(0), json!([])),
        _ => (Json::Null, Json::Null),
    };
    json!({
        "first": first,
        "count": count,
        "changed": changed,
        "became": became,
        "stopped": stopped,
        "bytes_changed": bytes_changed,
        "ranges": ranges,
        "written": null,
        "written_source": WRITTEN_SOURCE,
    })
}

/// The changed pages: state runs, split where a page's bytes changed too, and the pages whose
/// bytes alone changed; in page order.
fn page_entries(states: &[ChangeRun], bytes: &[PageBytes]) -> Vec<(u64, Json)> {
    let changed: Vec<&PageBytes> = bytes
        .iter()
        .filter(|b| matches!(b.1, BytesChange::Changed(_)))
        .collect();
    let mut out = Vec::new();
    for s in states {
        let mut at = s.first;
        let end = s.first + s.count;
        let from = changed.partition_point(|b| b.0 < s.first);
        for b in changed[from..].iter().take_while(|b| b.0 < end) {
            if at < b.0 {
                out.push((at, page_entry(at, b.0 - at, Some(s), None)));
            }
            out.push((b.0, page_entry(b.0, 1, Some(s), Some(b))));
            at = b.0 + 1;
        }
        if at < end {
            out.push((at, page_entry(at, end - at, Some(s), None)));
        }
    }
    for b in changed {
        let i = states.partition_point(|s| s.first + s.count <= b.0);
        if states.get(i).is_none_or(|s| s.first > b.0) {
            out.push((b.0, page_entry(b.0, 1, None, Some(b))));
        }
    }
    out.sort_by_key(|(first, _)| *first);
    out
}

fn vma_json(c: &VmaChange) -> Json {
    let range = |r: Option<(u64, u64)>| {
        r.map(|(s, e)| json!({"start": format!("0x{s:x}"), "end": format!("0x{e:x}")}))
    };
    json!({
        "change": c.kind.name(),
        "path": c.path,
        "then": range(c.then),
        "now": range(c.now),
        "rss_delta": c.rss,
        "pss_delta": c.pss,
        "swap_delta": c.swap,
    })
}

/// Pages per word in change runs, the words in order.
fn word_counts(states: &[ChangeRun], became: bool) -> Json {
    let mut out = serde_json::Map::new();
    for w in Word::ALL {
        let n: u64 = states
            .iter()
            .filter(|s| {
                if became {
                    s.became.has(w)
                } else {
                    s.stopped.has(w)
                }
            })
            .map(|s| s.count)
            .sum();
        out.insert(w.name().into(), json!(n));
    }
    Json::Object(out)
}

fn diff_json(
    mark: &Mark,
    age_ms: u64,
    states: &[ChangeRun],
    bytes: &[PageBytes],
    vmas: Option<&[VmaChange]>,
) -> Json {
    let count = |f: fn(&BytesChange) -> bool| bytes.iter().filter(|b| f(&b.1)).count();
    let kind_count = |k: &str| vmas.map(|v| v.iter().filter(|c| c.kind.name() == k).count());
    let pages: Vec<Json> = page_entries(states, bytes)
        .into_iter()
        .map(|e| e.1)
        .collect();
    json!({
        "mark": {
            "address": format!("0x{:x}", mark.marked.addr),
            "pages": mark.marked.pages,
            "clock": mark.marked.clock,
            "age_ms": age_ms,
            "runs": mark.runs.len(),
            "bytes_kept_pages": mark.kept.len(),
            "bytes_not_kept_pages": mark.unkept,
            "bytes_bound": MARK_BYTES_MAX,
        },
        "summary": {
            "became": word_counts(states, true),
            "stopped": word_counts(states, false),
            "bytes_changed_pages": count(|b| matches!(b, BytesChange::Changed(_))),
            "bytes_unread_pages": count(|b| matches!(b, BytesChange::Unread)),
            "vmas_new": kind_count("new"),
            "vmas_grown": kind_count("grown"),
            "vmas_shrunk": kind_count("shrunk"),
            "vmas_gone": kind_count("gone"),
        },
        "pages": pages,
        "vmas": vmas.map(|v| v.iter().map(vma_json).collect::<Vec<_>>()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::Words;

    fn run(first: u64, count: u64, resident: bool) -> FlagRun {
        FlagRun {
            first,
            count,
            flags: Flags {
                known: Words(0b11),
                set: Words(u8::from(resident) << 1),
            },
        }
    }

    #[test]
    fn the_bytes_kept_start_at_the_cursor_and_stop_at_the_cap() {
        let runs = [
            run(0, 10, true),
            run(10, 90, false),
            run(100, 1 << 40, true),
        ];
        let (pages, total) = pages_to_keep(&runs, 5, 8);
        assert_eq!(total, 10 + (1 << 40));
        assert_eq!(pages, [5, 6, 7, 8, 9, 100, 101, 102]);
        let (pages, _) = pages_to_keep(&runs, 200, 4);
        assert_eq!(pages, [200, 201, 202, 203]);
        let (pages, _) = pages_to_keep(&runs[..1], 8, 4);
        assert_eq!(
            pages,
            [0, 1, 8, 9],
            "after the cursor first, then from the start"
        );
    }
}
