//! Byte search and state search: the `/` prompt, `n` / `N`, what the session says of a search
//! running across ticks, and how it ended.

use crate::action::{Command, Request, SearchAction};
use crate::model::{Model, Overlay};
use crate::search::query::{Ending, Finished, Query, Searching};

/// Routes a search action.
pub(super) fn update(model: &mut Model, action: SearchAction) -> Vec<Command> {
    match action {
        SearchAction::Prompt => model.screen.overlay = Overlay::Find(String::new()),
        SearchAction::Again { forward } => match model.search.last.clone() {
            Some(query) => return start_search(model, query, forward),
            None if let Some(filter) = model.time.last => {
                return super::mark::goto_change(model, filter, forward);
            }
            None => model.log(
                "n / N repeat the last search, and there is none yet: try : dirty, : !resident, \
                 / 7f 45 4c 46 or /\"text\"",
            ),
        },
    }
    Vec::new()
}

/// Esc with nothing open: stop the search running (its end comes back as news).
pub(super) fn cancel(model: &Model) -> Vec<Command> {
    let id = model.search.running.as_ref().map_or(0, |s| s.id);
    vec![Command::CancelSearch { id }]
}

/// The search `id` has looked at `done` pages of `total`. News of a search that is no longer
/// the one shown (replaced by a newer one) changes nothing.
pub(super) fn progress(model: &mut Model, id: u64, done: u64, total: u64) {
    if let Some(s) = model.search.running.as_mut().filter(|s| s.id == id) {
        s.done = done;
        s.total = total;
    }
}

/// A search ended; the end of one that is no longer the one shown is only logged.
pub(super) fn ended(model: &mut Model, f: &Finished) {
    if model.search.running.as_ref().is_some_and(|s| s.id == f.id) {
        search_ended(model, f);
    } else {
        model.log(f.sentence(model.page_size()));
    }
}

/// Starts a search, with a new id: the one running (if any) is replaced, and the session's
/// news of it (its end) no longer touches the model's search.
pub(super) fn start_search(model: &mut Model, query: Query, forward: bool) -> Vec<Command> {
    model.search.count += 1;
    let id = model.search.count;
    model.search.last = Some(query.clone());
    model.time.last = None;
    model.search.found = None;
    model.search.running = Some(Searching {
        id,
        label: query.label(),
        from: model.doc.cursor,
        done: 0,
        total: model.pages(),
    });
    vec![Command::Search(Request {
        id,
        query,
        from: model.doc.cursor,
        forward,
    })]
}

/// A search ended: the log says how; a page found is opened with its header on top, bytes
/// found get the cursor and are highlighted.
fn search_ended(model: &mut Model, f: &Finished) {
    let moved = model
        .search
        .running
        .take()
        .is_some_and(|s| s.from != model.doc.cursor);
    model.log(f.sentence(model.page_size()));
    let Ending::Found { offset, len, .. } = f.ending else {
        return;
    };
    if offset > model.max_cursor() {
        return;
    }
    if moved {
        // The user went elsewhere while it ran: say where the match is, do not pull them there.
        model.log(format!(
            "the cursor moved while searching, so it stays: `: 0x{offset:x}` goes to the match"
        ));
        if let Query::Bytes(_) = f.query {
            model.search.found = Some((offset, len));
        }
        return;
    }
    let left = super::jumps::here(model);
    match f.query {
        Query::State(_) => {
            let page = offset / model.page_size();
            model.doc.cursor = page * model.page_size();
            model.doc.top = page * model.lines_per_page();
        }
        Query::Bytes(_) => {
            model.doc.cursor = offset;
            let h = model.layout().grid_rows();
            model.doc.top = model.line_of(offset).saturating_sub(h / 3);
            model.search.found = Some((offset, len));
        }
    }
    model.scroll_to_cursor();
    super::jumps::moved_from(model, left);
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn a_state_word_in_the_goto_prompt_starts_a_search_from_the_cursor() {
        let mut m = model(8, (120, 40));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Offset(0x1234))),
        );
        let req = only_search(type_prompt(
            &mut m,
            Action::Grid(GridAction::GotoPrompt),
            ": dirty",
        ));
        let dirty = Query::State(StateQuery::parse("dirty").unwrap());
        assert_eq!(
            req,
            Request {
                id: 1,
                query: dirty.clone(),
                from: 0x1234,
                forward: true
            }
        );
        assert_eq!(m.screen.overlay, Overlay::None);
        assert_eq!(m.search.last, Some(dirty.clone()));
        assert_eq!(m.search.running.as_ref().map(|s| s.total), Some(8));
        update(
            &mut m,
            Event::SearchProgress {
                id: 1,
                done: 4,
                total: 8,
            },
        );
        assert_eq!(m.search.running.as_ref().map(|s| s.done), Some(4));
        // Esc with nothing open stops the search; the session says how it ended.
        assert_eq!(
            update(&mut m, Action::View(ViewAction::CloseOverlay)),
            vec![Command::CancelSearch { id: 1 }]
        );
        let found = Ending::Found {
            offset: 5 * PS,
            len: PS,
            wrapped: false,
        };
        ended(&mut m, dirty, found);
        assert!(m.search.running.is_none());
        assert_eq!(m.doc.cursor, 5 * PS);
        assert_eq!(m.line_content(m.doc.top), (5, None), "its header on top");
        assert!(m.search.found.is_none(), "a page is not highlighted");
        assert!(last_log(&m).contains("page 5 is dirty"));
        assert!(
            update(&mut m, Action::View(ViewAction::CloseOverlay)).is_empty(),
            "nothing to stop"
        );
    }

    #[test]
    fn a_second_search_replaces_the_first_and_news_of_the_first_is_stale() {
        let mut m = model(8, (120, 40));
        let cow = Query::State(StateQuery::parse("cow").unwrap());
        let dirty = Query::State(StateQuery::parse("dirty").unwrap());
        let first = only_search(type_prompt(
            &mut m,
            Action::Grid(GridAction::GotoPrompt),
            ": cow",
        ));
        let second = only_search(type_prompt(
            &mut m,
            Action::Grid(GridAction::GotoPrompt),
            ": dirty",
        ));
        assert!(second.id > first.id, "{first:?} {second:?}");
        let shown = |m: &Model| {
            m.search
                .running
                .as_ref()
                .map(|s| (s.id, s.label.clone(), s.done))
        };
        assert_eq!(shown(&m), Some((second.id, ": dirty".into(), 0)));
        // The session ends the first as it starts the second: that end is logged, and the
        // second is still the one shown (with its progress).
        update(&mut m, ended_id(first.id, cow.clone(), Ending::Cancelled));
        assert_eq!(shown(&m), Some((second.id, ": dirty".into(), 0)));
        assert!(last_log(&m).starts_with(": cow: cancelled"));
        // Progress of the first (stale) changes nothing; the second's shows.
        let progress = |id, done| Event::SearchProgress { id, done, total: 8 };
        update(&mut m, progress(first.id, 7));
        assert_eq!(shown(&m), Some((second.id, ": dirty".into(), 0)));
        update(&mut m, progress(second.id, 3));
        assert_eq!(shown(&m), Some((second.id, ": dirty".into(), 3)));
        // Even a stale end that found something moves nothing.
        let found = Ending::Found {
            offset: 6 * PS,
            len: PS,
            wrapped: false,
        };
        update(&mut m, ended_id(first.id, cow, found));
        assert_eq!((m.doc.cursor, shown(&m).map(|s| s.0)), (0, Some(second.id)));
        // Esc stops the one shown, by its id.
        assert_eq!(
            update(&mut m, Action::View(ViewAction::CloseOverlay)),
            vec![Command::CancelSearch { id: second.id }]
        );
        ended(&mut m, dirty, Ending::Cancelled);
        assert!(m.search.running.is_none());
        assert!(last_log(&m).starts_with(": dirty: cancelled"));
        assert!(update(&mut m, Action::View(ViewAction::CloseOverlay)).is_empty());
    }

    #[test]
    fn a_search_stopped_because_the_process_exited_says_so() {
        let mut m = model(8, (120, 40));
        let req = only_search(type_prompt(
            &mut m,
            Action::Grid(GridAction::GotoPrompt),
            ": present",
        ));
        let mut f = match ended_id(req.id, req.query, Ending::Stopped) {
            Event::SearchEnded(f) => f,
            other => panic!("{other:?}"),
        };
        f.note = Some("the process has exited".into());
        update(&mut m, Event::SearchEnded(f));
        assert!(m.search.running.is_none());
        assert_eq!(m.doc.cursor, 0);
        let last = last_log(&m);
        assert!(
            last.starts_with(": present: the process has exited · "),
            "{last}"
        );
    }

    #[test]
    fn a_search_that_ends_after_the_cursor_moved_leaves_the_cursor_there() {
        let mut m = model(8, (120, 40));
        let dirty = Query::State(StateQuery::parse("dirty").unwrap());
        only_search(type_prompt(
            &mut m,
            Action::Grid(GridAction::GotoPrompt),
            ": dirty",
        ));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Offset(0x20))),
        );
        let found = Ending::Found {
            offset: 5 * PS,
            len: PS,
            wrapped: false,
        };
        ended(&mut m, dirty, found);
        assert!(m.search.running.is_none());
        assert_eq!(m.doc.cursor, 0x20, "the user's place kept");
        let last = last_log(&m);
        assert!(
            last.contains("cursor moved") && last.contains(": 0x5000"),
            "{last}"
        );
        assert!(
            m.log
                .lines
                .iter()
                .any(|l| l.text.contains("page 5 is dirty")),
            "the finding is still said"
        );
    }

    #[test]
    fn the_find_prompt_takes_hex_or_text_and_n_repeats() {
        let mut m = model(8, (120, 40));
        assert!(
            update(
                &mut m,
                Action::Search(SearchAction::Again { forward: true })
            )
            .is_empty()
        );
        assert!(last_log(&m).contains("none yet"));
        assert!(type_prompt(&mut m, Action::Search(SearchAction::Prompt), "7f 4").is_empty());
        assert!(last_log(&m).starts_with("find: "));
        let req = only_search(type_prompt(
            &mut m,
            Action::Search(SearchAction::Prompt),
            "/\"ab\"",
        ));
        let Query::Bytes(p) = &req.query else {
            panic!("{req:?}")
        };
        assert_eq!(
            (p.bytes.as_slice(), p.fault_in, req.forward),
            (&b"ab"[..], false, true)
        );
        ended(
            &mut m,
            req.query.clone(),
            Ending::Found {
                offset: 0x2ffe,
                len: 2,
                wrapped: true,
            },
        );
        assert_eq!((m.doc.cursor, m.search.found), (0x2ffe, Some((0x2ffe, 2))));
        assert!(cursor_visible(&m));
        assert!(last_log(&m).contains("wrapped past the end"));
        let back = only_search(update(
            &mut m,
            Action::Search(SearchAction::Again { forward: false }),
        ));
        assert_eq!(
            (back.query, back.from, back.forward),
            (req.query, 0x2ffe, false)
        );
        assert!(
            m.search.found.is_none(),
            "a new search forgets the old match"
        );
        ended(&mut m, back_query(), Ending::NotFound);
        assert_eq!(m.doc.cursor, 0x2ffe, "not found: the cursor stays");
        assert!(last_log(&m).contains("not found"));
    }
}
