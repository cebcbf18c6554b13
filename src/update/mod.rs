//! `update`: applies a message to the `Model` and returns the side effects it needs, and
//! `apply_outcome` takes back what the kernel did. Pure: no terminal, no kernel; the same code
//! serves every key, every script line and every lesson step.
//!
//! One file per feature, each with its tests: `grid` (cursor, `:`, prompts), `jumps`
//! (addresses anywhere in the process, the jump list), `view` (toggles,
//! scrolls, help, resize), `edit` (edit mode, undo, redo), `ask` (quit, menus, questions, an
//! operation's prompt), `lab` (touch, exec, fork, peer), `search`, `page_map`, `space` (the
//! address-space view, exploring), `lesson`, `mark` (the mark and what changed since it),
//! `replay` (moving through a recording), `news` (probes, notes, settings, ends of the
//! lab's processes) and `outcome` (what the kernel did). Every message enum is routed by an
//! exhaustive `match` with no wildcard arm, so a new variant does not compile until it has a
//! route (`tests/it/routes.rs` checks the no-wildcard rule over this folder).

mod ask;
mod copy;
mod edit;
mod grid;
mod jumps;
mod lab;
mod lesson;
pub mod mark;
mod news;
mod outcome;
mod page_map;
pub mod picker;
pub mod replay;
mod search;
mod space;
#[cfg(test)]
mod testing;
mod track;
mod typed;
mod view;

pub use grid::parse_goto;
pub use outcome::apply_outcome;

use crate::action::{Action, Command, EditAction, Event, GridAction, Msg};
use crate::model::Model;

/// Applies `msg` (an intent or news) to `model`; returns the side effects it needs.
pub fn update(model: &mut Model, msg: impl Into<Msg>) -> Vec<Command> {
    match msg.into() {
        Msg::Action(action) => act(model, action),
        Msg::Event(event) => take(model, event),
    }
}

/// Routes what the user asked to its feature.
fn act(model: &mut Model, action: Action) -> Vec<Command> {
    // A half-typed byte belongs where it was started: any other key drops it (news the
    // session brings in, a probe or a note, is not a key and never comes here).
    if !matches!(action, Action::Edit(EditAction::Nibble(_))) {
        drop_pending(model);
    }
    // A count belongs to the command right after it.
    if !matches!(
        action,
        Action::Grid(GridAction::Count(_) | GridAction::Copy)
    ) {
        model.screen.copy.count = None;
    }
    // A jump the session could not carry out (an error, said in the log) is over.
    model.space.jumps.pending = None;
    match action {
        Action::Grid(a) => grid::update(model, a),
        Action::View(a) => view::update(model, a),
        Action::Edit(a) => edit::update(model, a),
        Action::Ask(a) => ask::update(model, a),
        Action::Do(op) => edit::do_op(model, op),
        Action::Lab(a) => lab::update(model, a),
        Action::Search(a) => search::update(model, a),
        Action::PageMap(a) => page_map::update(model, a),
        Action::Space(a) => space::update(model, a),
        Action::Lesson(a) => lesson::update(model, a),
        // The picker runs before any session, in its own loop (`app::pick`, through
        // `picker::update`); a session never has it open, so its keys change nothing here.
        Action::Picker(_) => Vec::new(),
        Action::Typed(a) => typed::update(model, a),
        Action::Replay(a) => replay::update(model, a),
        Action::Time(a) => mark::update(model, a),
    }
}

/// Routes the session's news to its feature.
fn take(model: &mut Model, event: Event) -> Vec<Command> {
    match event {
        Event::ReplayClock { now_ms } => return replay::clock(model, now_ms),
        Event::Probed {
            snap,
            now_ms,
            clock,
            fresh,
        } => news::probed(model, *snap, now_ms, clock, fresh),
        Event::AlsoProbed(snap) => model.lab.also = snap,
        Event::Note(text) => news::note(model, text),
        Event::Written(written) => track::written(model, written),
        Event::Access(access) => track::access(model, access),
        Event::Resize(cols, rows) => view::resize(model, cols, rows),
        Event::Configure {
            refresh_ms,
            color,
            high_contrast,
            mouse,
        } => {
            model.settings.mouse = mouse;
            model.settings.refresh_ms = refresh_ms;
            model.settings.color = color;
            model.settings.high_contrast = high_contrast;
        }
        Event::Question { question, then } => ask::question(model, question, then),
        Event::PeerEnded { pid, how } => news::peer_ended(model, pid, &how),
        Event::ChildEnded { pid, how } => news::child_ended(model, pid, &how),
        Event::SearchProgress { id, done, total } => search::progress(model, id, done, total),
        Event::SearchEnded(f) => search::ended(model, &f),
        Event::PageMapProbed(slice) => page_map::probed(model, slice),
        Event::SpaceProbed {
            vmas,
            title,
            read_ms,
            note,
        } => {
            space::probed(model, vmas, title, read_ms, note);
            mark::space_compared(model);
        }
        Event::Looking(looking) => space::look(model, looking),
        Event::Arrived { addr, base } => jumps::arrived(model, addr, base),
        Event::VmaMoved { old, new, inferred } => space::moved(model, &old, &new, inferred),
        Event::Gap {
            addr,
            before,
            after,
        } => jumps::gap(model, addr, before.as_ref(), after.as_ref()),
        Event::ShowLesson(pane) => lesson::show(model, pane),
        // A lesson step that moves the cursor leaves a half-typed byte behind, as a key does.
        Event::ShowOffset(off) => {
            drop_pending(model);
            lesson::show_offset(model, off);
        }
        Event::SelectPage(page) => {
            drop_pending(model);
            grid::select_page(model, page);
        }
        Event::Marked(mark) => mark::marked(model, *mark),
        Event::Compared(runs) => mark::compared(model, &runs),
        Event::BytesCompared { pages, due_ms } => {
            model.time.bytes = pages;
            model.time.bytes_due = due_ms;
        }
    }
    Vec::new()
}

/// Drops the high nibble typed in edit mode, waiting for its low one.
fn drop_pending(model: &mut Model) {
    if let Some(e) = &mut model.screen.edit {
        e.pending = None;
    }
}
