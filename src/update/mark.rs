//! The mark (`b`, `mark`, `unmark`) and what changed since it: setting the baseline asks the
//! session to read it (`Command::Mark`), the mark it took and the page states of each refresh
//! come back as news, and `: changed`, `: +WORD`, `: -WORD` (with `n` / `N`) go to the pages
//! that changed.

use crate::action::{Command, TimeAction};
use crate::model::Model;
use crate::model::time::{
    ChangeFilter, FlagRun, MARK_BYTES_MAX, Mark, MarkVma, compare_runs, compare_vmas, first_change,
};

/// What `: changed`, `: +WORD`, `: -WORD` say without a mark.
pub const NO_MARK: &str = "no mark: press b (the script word `mark`) to set one";

/// Routes a time action.
pub(super) fn update(model: &mut Model, action: TimeAction) -> Vec<Command> {
    match action {
        TimeAction::Mark => return vec![Command::Mark],
        TimeAction::Unmark => {
            if let Some(r) = model.time.replay.as_mut() {
                r.mark = None;
            }
            if model.time.mark.take().is_some() {
                model.time.changes.clear();
                model.time.bytes.clear();
                model.time.vmas.clear();
                model.time.last = None;
                model.log("mark dropped: the views show now only (b sets a new one)");
            } else {
                model.log("unmark: there is no mark (b sets one)");
            }
        }
    }
    Vec::new()
}

/// `1 page`, `4,096 pages`.
fn pages(n: u64) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} page{s}", crate::text::thousands(n))
}

/// The mark the session took: the views compare with it from now on.
pub(super) fn marked(model: &mut Model, mark: Mark) {
    // In a replay, the frame shown is the one marked: the timeline shows it (`M`).
    if let Some(r) = model.time.replay.as_mut() {
        r.mark = Some(r.at);
    }
    let kept = mark.kept.len() as u64;
    let kept_bytes: u64 = mark.kept.iter().map(|k| k.bytes.len() as u64).sum();
    let beyond = if mark.unkept > 0 {
        format!(
            "; {} more in memory beyond the {} bound compare by state only",
            pages(mark.unkept),
            crate::text::human(MARK_BYTES_MAX)
        )
    } else {
        String::new()
    };
    let vmas = mark.vmas.as_ref().map_or_else(
        || "VMAs not read".to_string(),
        |v| format!("{} VMAs", crate::text::thousands(v.len() as u64)),
    );
    model.log(format!(
        "mark set: the states of {} ({} runs), the bytes of {} in memory ({}){beyond}, {vmas}; b \
         again re-marks, `: unmark` drops it",
        pages(mark.marked.pages),
        crate::text::thousands(mark.runs.len() as u64),
        pages(kept),
        crate::text::human(kept_bytes),
    ));
    model.time.changes.clear();
    model.time.bytes.clear();
    model.time.bytes_due = None;
    model.time.mark = Some(Box::new(mark));
    space_compared(model);
}

/// The page states now, as runs: compared with the mark (when it is of what is shown).
pub(super) fn compared(model: &mut Model, now: &[FlagRun]) {
    let shown = model.snap.shape.addr;
    let written = model.time.written.as_ref().filter(|w| w.exact);
    model.time.changes = match (&model.time.mark, written) {
        (Some(mark), Some(w)) if mark.is_of(shown) => compare_runs(
            &crate::model::time::with_written(&mark.runs, &[]),
            &crate::model::time::with_written(now, &w.pages),
        ),
        (Some(mark), None) if mark.is_of(shown) => compare_runs(&mark.runs, now),
        _ => Vec::new(),
    };
}

/// The address-space view's VMAs against the mark's (when the mark read them).
pub(super) fn space_compared(model: &mut Model) {
    model.time.vmas = match model.time.mark.as_ref().and_then(|m| m.vmas.as_ref()) {
        Some(then) => {
            let now: Vec<MarkVma> = model.space.vmas.iter().map(MarkVma::of).collect();
            compare_vmas(then, &now)
        }
        None => Vec::new(),
    };
}

/// The words of a change filter as `:` takes them.
pub fn filter_label(filter: ChangeFilter) -> String {
    match filter {
        ChangeFilter::Any => "changed".into(),
        ChangeFilter::Became(w) => format!("+{}", w.name()),
        ChangeFilter::Stopped(w) => format!("-{}", w.name()),
    }
}

/// `changed`, `+dirty`, `-resident`: a change filter; `None` when `text` is none.
pub fn parse_filter(text: &str) -> Option<ChangeFilter> {
    let t = text.trim();
    if t == "changed" {
        return Some(ChangeFilter::Any);
    }
    // `written` alone: a page is never "unwritten" since the mark, so it means `+written`.
    if t == "written" {
        return Some(ChangeFilter::Became(crate::model::time::Word::Written));
    }
    let (became, word) = match t.split_at_checked(1)? {
        ("+", w) => (true, w.trim()),
        ("-", w) => (false, w.trim()),
        _ => return None,
    };
    let word = crate::model::time::Word::parse(word)?;
    Some(if became {
        ChangeFilter::Became(word)
    } else {
        ChangeFilter::Stopped(word)
    })
}

/// Goes to the next (previous) page that changed since the mark as `filter` says.
pub(super) fn goto_change(model: &mut Model, filter: ChangeFilter, forward: bool) -> Vec<Command> {
    let label = filter_label(filter);
    let shown = model.snap.shape.addr;
    match &model.time.mark {
        None => {
            model.log(format!("goto: {label}: {NO_MARK}"));
            return Vec::new();
        }
        Some(m) if !m.is_of(shown) => {
            model.log(format!(
                "goto: {label}: the mark is of another mapping (0x{:x}); b marks this one",
                m.marked.addr
            ));
            return Vec::new();
        }
        Some(_) => {}
    }
    model.time.last = Some(filter);
    model.search.last = None;
    let ps = model.page_size();
    let page = model.doc.cursor / ps;
    let found = first_change(&model.time.changes, page, forward, filter);
    let found = match filter {
        ChangeFilter::Any => nearer(found, next_bytes(model, page, forward), page, forward),
        _ => found,
    };
    let Some(found) = found else {
        let what = match filter {
            ChangeFilter::Any => "changed (state, or bytes the mark kept)".to_string(),
            ChangeFilter::Became(w) => format!("became {}", w.name()),
            ChangeFilter::Stopped(w) => format!("stopped being {}", w.name()),
        };
        model.log(format!("goto: {label}: no page {what} since the mark"));
        return Vec::new();
    };
    let left = super::jumps::here(model);
    model.doc.cursor = found * ps;
    model.doc.top = found * model.lines_per_page();
    model.scroll_to_cursor();
    let words = model
        .time
        .change_at(found)
        .map(|c| {
            let mut w: Vec<String> = c.became.iter().map(|w| format!("+{}", w.name())).collect();
            w.extend(c.stopped.iter().map(|w| format!("-{}", w.name())));
            w.join(" ")
        })
        .unwrap_or_default();
    let words = match (model.time.bytes_in(found, 1), words.is_empty()) {
        (true, true) => "bytes changed".to_string(),
        (true, false) => format!("{words}, bytes changed"),
        (false, _) => words,
    };
    model.log(format!(
        ": {label}: page {found} (0x{:x}) since the mark: {words}",
        found * ps
    ));
    super::jumps::moved_from(model, left);
    Vec::new()
}

/// The next (previous) page after (before) `from` whose bytes changed since the mark, wrapping
/// once as the state search does.
fn next_bytes(model: &Model, from: u64, forward: bool) -> Option<u64> {
    let pages = model.time.bytes.iter().flat_map(|r| r.clone());
    if forward {
        let mut all = pages;
        let first = model.time.bytes.first().map(|r| r.start);
        all.find(|p| *p > from).or(first)
    } else {
        let before = pages.rev().find(|p| *p < from);
        before.or(model.time.bytes.last().map(|r| r.end - 1))
    }
}

/// Of two pages found searching from `from`, the one met first going `forward` (or back),
/// counting a page reached by wrapping past the end as after every page before it.
fn nearer(a: Option<u64>, b: Option<u64>, from: u64, forward: bool) -> Option<u64> {
    let distance = |p: u64| -> (bool, u64) {
        if forward {
            (p <= from, p.wrapping_sub(from))
        } else {
            (p >= from, from.wrapping_sub(p))
        }
    };
    match (a, b) {
        (Some(a), Some(b)) => Some(if distance(a) <= distance(b) { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::{marked, parse_filter};
    use crate::model::time::{ChangeFilter, FlagRun, Flags, Mark, Word, Words};

    fn run(first: u64, count: u64, set: &[Word]) -> FlagRun {
        let mut flags = Flags {
            known: Words(0b1_1111),
            set: Words(0),
        };
        for w in set {
            flags.set = flags.set.with(*w);
        }
        FlagRun {
            first,
            count,
            flags,
        }
    }

    fn marked_model() -> Model {
        let mut m = model(8, (120, 40));
        let mark = Mark {
            marked: crate::model::time::Marked {
                addr: m.snap.shape.addr,
                pages: 8,
                page_size: 4096,
                ..Default::default()
            },
            runs: vec![run(0, 8, &[Word::Resident])],
            ..Mark::default()
        };
        marked(&mut m, mark);
        m
    }

    #[test]
    fn without_a_mark_change_words_say_press_b() {
        let mut m = model(8, (120, 40));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(crate::action::GotoTarget::Change(
                ChangeFilter::Any,
            ))),
        );
        assert!(
            m.log
                .lines
                .last()
                .unwrap()
                .text
                .contains("no mark: press b")
        );
        assert_eq!(m.doc.cursor, 0);
    }

    #[test]
    fn plus_dirty_goes_to_the_next_page_that_became_dirty_and_n_repeats() {
        let mut m = marked_model();
        update(
            &mut m,
            crate::action::Event::Compared(vec![
                run(0, 2, &[Word::Resident]),
                run(2, 1, &[Word::Resident, Word::Dirty]),
                run(3, 2, &[]),
                run(5, 1, &[Word::Resident, Word::Dirty]),
                run(6, 2, &[Word::Resident]),
            ]),
        );
        let dirty = parse_filter("+dirty").unwrap();
        update(
            &mut m,
            Action::Grid(GridAction::Goto(crate::action::GotoTarget::Change(dirty))),
        );
        assert_eq!(m.doc.cursor, 2 * 4096);
        update(
            &mut m,
            Action::Search(SearchAction::Again { forward: true }),
        );
        assert_eq!(m.doc.cursor, 5 * 4096);
        let evicted = parse_filter("-resident").unwrap();
        update(
            &mut m,
            Action::Grid(GridAction::Goto(crate::action::GotoTarget::Change(evicted))),
        );
        assert_eq!(m.doc.cursor, 3 * 4096, "wrapped to the first page evicted");
        update(
            &mut m,
            Action::Search(SearchAction::Again { forward: false }),
        );
        assert_eq!(m.doc.cursor, 4 * 4096, "wrapped back to the last one");
        update(&mut m, Action::Time(TimeAction::Unmark));
        assert!(m.time.mark.is_none() && m.time.changes.is_empty());
    }

    #[test]
    fn changed_finds_pages_whose_bytes_alone_changed_nearest_first_wrapping_once() {
        use super::nearer;
        // From page 10: 12 (ahead) before 3 (wrapped); going back, 3 before 12 (wrapped).
        assert_eq!(nearer(Some(3), Some(12), 10, true), Some(12));
        assert_eq!(nearer(Some(3), Some(12), 10, false), Some(3));
        // Both wrapped: the first met after the end going forward, the last going back.
        assert_eq!(nearer(Some(2), Some(5), 10, true), Some(2));
        assert_eq!(nearer(Some(20), Some(30), 10, false), Some(30));
        assert_eq!(nearer(None, Some(7), 10, true), Some(7));
        let mut m = marked_model();
        m.time.changes.clear();
        m.time.bytes.push(6..7);
        update(
            &mut m,
            Action::Grid(crate::action::GridAction::Goto(
                crate::action::GotoTarget::Change(ChangeFilter::Any),
            )),
        );
        assert_eq!(m.doc.cursor / m.page_size(), 6, "{:?}", m.log.lines);
        assert!(
            m.log
                .lines
                .last()
                .is_some_and(|l| l.text.contains("bytes changed"))
        );
    }

    #[test]
    fn filters_parse_as_typed() {
        assert_eq!(parse_filter("changed"), Some(ChangeFilter::Any));
        assert_eq!(
            parse_filter("+dirty"),
            Some(ChangeFilter::Became(Word::Dirty))
        );
        assert_eq!(
            parse_filter("- resident"),
            Some(ChangeFilter::Stopped(Word::Resident))
        );
        assert_eq!(parse_filter("+beyond"), None);
        assert_eq!(parse_filter("0x100"), None);
    }
}
