//! `update`: applies an `Action` to the `Model` and returns the side effects it needs, and
//! `apply_outcome` takes back what the kernel did. Pure: no terminal, no kernel; the same code
//! serves every key, every script line and every lesson step.

use crate::action::{
    Action, Ask, CellMove, Command, GotoTarget, History, MenuChoice, MenuKey, MenuKind, Motion, Op,
    PromptEdit, Scope, SyncKind, menu_items,
};
use crate::find::{Ending, Finished, Pattern, Query, Request, Searching, StateQuery};
use crate::model::{EditRecord, EditState, Focus, Looking, Minimap, Model, Overlay, Stash};
use crate::sys::map::request::MapMode;
use crate::sys::ops::outcome::{Done, Outcome};
use crate::sys::probe::snapshot::Backing;
use crate::text::echo;

/// Longest text the `:` prompt takes.
const PROMPT_MAX: usize = 40;
/// Longest text the `/` prompt takes (a pattern of up to 64 bytes in spaced hex).
const FIND_MAX: usize = 200;

/// Applies `action` to `model`; returns the side effects it needs.
pub fn update(model: &mut Model, action: Action) -> Vec<Command> {
    // A half-typed byte belongs where it was started: any other key drops it (what the
    // session brings in, a probe or a note, is not a key).
    if !matches!(action, Action::EditNibble(_))
        && !action.from_session()
        && let Some(e) = &mut model.edit
    {
        e.pending = None;
    }
    match action {
        // After exec, Enter reopens the process instead of editing the memory that is gone.
        Action::EditStart if model.looking.as_ref().is_some_and(|l| l.reopen) => {
            vec![Command::Reattach]
        }
        Action::EditStart
        | Action::EditStop
        | Action::EditSwitchColumn
        | Action::EditNibble(_)
        | Action::EditChar(_) => edit(model, action),
        Action::Quit
        | Action::QuitNow
        | Action::SwitchMode
        | Action::OpenMenu(_)
        | Action::Menu(_)
        | Action::Question { .. }
        | Action::Confirmed { .. }
        | Action::Confirm(_) => ask(model, action),
        Action::ExecCursor
        | Action::TogglePeer
        | Action::TouchCursor
        | Action::ForkKey
        | Action::OpenAsk(_)
        | Action::Do(_) => operate(model, action),
        Action::ForceThen(op) => {
            let mut cmds = vec![Command::Force];
            cmds.extend(update(model, Action::Do(*op)));
            cmds
        }
        Action::Probed { .. }
        | Action::Note(_)
        | Action::PeerEnded { .. }
        | Action::ChildEnded { .. }
        | Action::SelectPage(_)
        | Action::ShowOffset(_)
        | Action::ShowLesson(_)
        | Action::AlsoProbed(_)
        | Action::Configure { .. }
        | Action::Refresh => {
            news(model, action);
            Vec::new()
        }
        Action::Prompt(edit) => prompt(model, edit),
        Action::Goto(target) => goto(model, target),
        Action::CloseOverlay if model.overlay == Overlay::None && model.searching.is_some() => {
            let id = model.searching.as_ref().map_or(0, |s| s.id);
            vec![Command::CancelSearch { id }]
        }
        Action::FindPrompt
        | Action::SearchAgain { .. }
        | Action::SearchProgress { .. }
        | Action::SearchEnded(_) => finding(model, action),
        Action::OpenPageMap
        | Action::PageMapMove(_)
        | Action::PageMapZoom(_)
        | Action::PageMapOpen
        | Action::PageMapProbed(_) => {
            page_map(model, action);
            Vec::new()
        }
        Action::OpenSpace
        | Action::SpaceProbed { .. }
        | Action::SpaceMove(_)
        | Action::SpaceOpen
        | Action::ExplorePanelLine
        | Action::ExploreBack
        | Action::Looking(_) => explore(model, action),
        // Played by the lesson player, which holds the lesson's script; nothing to change here.
        Action::LessonNext | Action::LessonBack => Vec::new(),
        view_action => {
            view(model, view_action);
            Vec::new()
        }
    }
}

/// The address-space view and exploring: open it, take the session's reading, move the
/// selection, explore a VMA (from the view or the maps panel), come back.
fn explore(model: &mut Model, action: Action) -> Vec<Command> {
    match action {
        Action::OpenSpace => {
            // The session reads the address space at once; until then nothing is selected
            // and the first reading selects the VMA shown.
            model.space.clear();
            model.overlay = Overlay::Space {
                selected: usize::MAX,
            };
        }
        Action::SpaceProbed {
            vmas,
            title,
            read_ms,
        } => {
            if let Overlay::Space { selected } = &mut model.overlay {
                *selected = if *selected == usize::MAX {
                    let here = model.snap.addr;
                    vmas.iter()
                        .position(|v| (v.line.start..v.line.end).contains(&here))
                        .unwrap_or(0)
                } else {
                    (*selected).min(vmas.len().saturating_sub(1))
                };
            }
            model.space = vmas;
            model.space_title = title;
            model.space_read_ms = read_ms;
        }
        Action::SpaceMove(delta) => {
            if let Overlay::Space { selected } = &mut model.overlay {
                let max = model.space.len().saturating_sub(1);
                let next = i64::try_from(*selected)
                    .unwrap_or(0)
                    .saturating_add(delta)
                    .clamp(0, i64::try_from(max).unwrap_or(0));
                *selected = usize::try_from(next).unwrap_or(0);
            }
        }
        Action::SpaceOpen => {
            if let Overlay::Space { selected } = model.overlay {
                model.overlay = Overlay::None;
                if let Some(v) = model.space.get(selected) {
                    return vec![Command::Explore(v.line.clone())];
                }
            }
        }
        Action::ExplorePanelLine => {
            let line = model.snap.maps.as_ref().ok().and_then(|m| {
                let i = usize::from(model.panel_scroll).min(m.len().saturating_sub(1));
                m.get(i).cloned()
            });
            if let Some(line) = line {
                return vec![Command::Explore(line)];
            }
        }
        Action::ExploreBack if model.looking.as_ref().is_some_and(|l| l.back) => {
            return vec![Command::ExploreBack];
        }
        Action::ExploreBack => {
            model.log(if model.looking.is_some() {
                "Backspace returns to the mapping mmapscope made: there is none here (--pid)"
            } else {
                "Backspace returns from a VMA explored with Enter (maps panel) or A; this is our \
                 own mapping already"
            });
        }
        Action::Looking(looking) => look(model, looking),
        _ => {}
    }
    Vec::new()
}

/// The session shows another VMA (or ours again): our mapping's place and edits are kept
/// aside while away, bytes seen before are forgotten (a new mapping changes nothing).
fn look(model: &mut Model, looking: Option<Looking>) {
    // Followed, the same VMA keeps its place; one that had ended and is shown again (a
    // process reopened after exec) is another.
    let same_vma = match (&model.looking, &looking) {
        (Some(a), Some(b)) => {
            (a.pid, a.start, &a.vma) == (b.pid, b.start, &b.vma)
                && (a.ended.is_none() || b.ended.is_some())
        }
        _ => false,
    };
    if let Some(l) = &looking
        && same_vma
    {
        // The same VMA followed: only its end (exit, unmapped) is news.
        if l.ended.is_some() && model.looking.as_ref().is_some_and(|o| o.ended.is_none()) {
            model.log(format!(
                "{}: {}; the last state stays on screen{}",
                l.process,
                l.ended.clone().unwrap_or_default(),
                if l.other {
                    "; writes are refused from now on"
                } else {
                    ""
                }
            ));
        }
        model.looking = looking;
        return;
    }
    // Another VMA shown: what the minimap knew was about the one left.
    if model.looking.is_some() || looking.as_ref().is_some_and(|l| l.back) {
        model.minimap = Minimap::default();
    }
    match (&model.looking, &looking) {
        (None, Some(l)) if !l.back => {}
        (None, Some(_)) => {
            model.stash = Some(Box::new(Stash {
                cursor: model.cursor,
                top: model.top,
                edits: std::mem::take(&mut model.edits),
                history: std::mem::take(&mut model.history),
                redo: std::mem::take(&mut model.redo),
            }));
            model.cursor = 0;
            model.top = 0;
        }
        (Some(_), None) => {
            if let Some(stash) = model.stash.take() {
                model.cursor = stash.cursor;
                model.top = stash.top;
                model.edits = stash.edits;
                model.history = stash.history;
                model.redo = stash.redo;
            }
        }
        (Some(_), Some(_)) => {
            model.cursor = 0;
            model.top = 0;
            model.edits.clear();
            model.history.clear();
            model.redo.clear();
        }
        (None, None) => {}
    }
    model.edit = None;
    model.foreign.clear();
    model.own_writes.clear();
    model.deltas = Default::default();
    model.snap.bytes = Default::default();
    model.snap.vma = None;
    model.log(match &looking {
        Some(l) => format!(
            "exploring {} of {}: {}; Backspace returns",
            l.vma,
            l.process,
            if l.other {
                format!(
                    "bytes through {} (present pages only), pages from its pagemap",
                    l.via
                )
            } else {
                "bytes of present pages only (a read elsewhere would fault them in)".to_string()
            }
        ),
        None => "back to our mapping".to_string(),
    });
    model.looking = looking;
}

/// What is shown and where: cursor moves, the prompt, toggles, scrolling, overlays, resizes.
fn view(model: &mut Model, action: Action) {
    match action {
        Action::Move(m) => move_cursor(model, m),
        Action::GotoPrompt => model.overlay = Overlay::Goto(String::new()),
        Action::ToggleOffsets => {
            let anchor = anchor(model);
            model.show_vaddr = !model.show_vaddr;
            restore_anchor(model, anchor);
            model.log(if model.show_vaddr {
                "offsets column: virtual addresses (v: file offsets)"
            } else {
                "offsets column: file offsets (v: virtual addresses)"
            });
        }
        Action::ToggleExplain => model.explain = !model.explain,
        Action::ToggleFocus => {
            model.focus = match model.focus {
                Focus::Grid => Focus::Panel,
                Focus::Panel => Focus::Log,
                Focus::Log => Focus::Grid,
            };
            model.log_scroll = 0;
        }
        Action::ScrollLog(delta) => {
            let max = i64::try_from(model.log.len().saturating_sub(1)).unwrap_or(0);
            let next = (i64::from(model.log_scroll) + i64::from(delta)).clamp(0, max);
            model.log_scroll = u16::try_from(next).unwrap_or(u16::MAX);
        }
        Action::ScrollLesson(delta) => {
            let max = model.lesson_scroll_max();
            if let Some(pane) = &mut model.lesson {
                let next = (i64::from(pane.scroll) + i64::from(delta))
                    .clamp(0, i64::try_from(max).unwrap_or(0));
                pane.scroll = u16::try_from(next).unwrap_or(0);
            }
        }
        Action::ScrollPanel(delta) => {
            let lines = model.snap.maps.as_ref().map_or(0, |m| m.len());
            let max = u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX);
            let now = i64::from(model.panel_scroll);
            let next = now
                .saturating_add(i64::from(delta))
                .clamp(0, i64::from(max));
            model.panel_scroll = u16::try_from(next).unwrap_or(max);
        }
        Action::ToggleHelp => {
            model.help_scroll = 0;
            model.overlay = if model.overlay == Overlay::Help {
                Overlay::None
            } else {
                Overlay::Help
            };
        }
        Action::ScrollHelp(delta) => {
            // Up to the overlay's last line, so ↑ answers at once after PgDn at the end.
            let max = crate::layout::help_max_scroll(model.size.0, model.size.1);
            let next = (i64::from(model.help_scroll) + i64::from(delta)).clamp(0, i64::from(max));
            model.help_scroll = u16::try_from(next).unwrap_or(0);
        }
        Action::CloseOverlay => model.overlay = Overlay::None,
        Action::Resize(cols, rows) => {
            let anchor = anchor(model);
            model.size = (cols, rows);
            restore_anchor(model, anchor);
        }
        _ => {}
    }
}

/// What the session brings in: a probe, a note, a peer's end, a lesson's page and pane, the
/// settings.
fn news(model: &mut Model, action: Action) {
    match action {
        // The session probes after every action; saying so is all there is to do.
        Action::Refresh => {
            model.minimap.changed_all();
            model.log("refresh: probed the visible pages and re-read /proc/self/maps and smaps");
        }
        Action::Probed {
            snap,
            now_ms,
            clock,
            fresh,
        } => {
            model.clock = clock;
            model.apply_snapshot(*snap, now_ms);
            if fresh {
                model.deltas = Default::default();
            }
        }
        Action::Note(text) if !text.is_empty() => model.log(text),
        Action::PeerEnded { pid, how } => {
            model.peer_running = false;
            model.log(format!(
                "the peer process (pid {pid}) ended on its own: {how}"
            ));
        }
        Action::ChildEnded { pid, how } => {
            model.child = None;
            model.log(format!(
                "the child keeping the mapping (pid {pid}) ended on its own: {how}"
            ));
        }
        Action::SelectPage(page) if page < model.pages() => {
            model.cursor = page * model.page_size();
            model.top = page * model.lines_per_page();
            model.scroll_to_cursor();
        }
        Action::ShowOffset(off) if off <= model.max_cursor() => {
            // The page's header on top when the offset's row fits under it, else the row a
            // third of the way down.
            let h = model.layout().grid_rows();
            let header = model.line_of(off - off % model.page_size()) - 1;
            let line = model.line_of(off);
            model.cursor = off;
            model.top = if line < header + h {
                header
            } else {
                line.saturating_sub(h / 3)
            };
            model.scroll_to_cursor();
        }
        Action::ShowLesson(pane) => {
            model.lesson = pane;
            // The pane's height follows its text: the grid's rows change with it.
            model.scroll_to_cursor();
        }
        Action::AlsoProbed(snap) => model.also = snap,
        Action::Configure {
            refresh_ms,
            color,
            high_contrast,
        } => {
            model.refresh_ms = refresh_ms;
            model.color = color;
            model.high_contrast = high_contrast;
        }
        _ => {}
    }
}

/// Edit mode: typing bytes (asking first when the file was not allowed to be written).
fn edit(model: &mut Model, action: Action) -> Vec<Command> {
    match action {
        Action::EditStart => {
            model.edit = Some(EditState::default());
            model.log(if model.looking.as_ref().is_some_and(|_| !model.snap.write_allowed) {
                "edit mode: this VMA is only looked at; writes are refused (another process: \
                 start with --write)"
            } else if model.looking.is_some() {
                "edit mode: each write into the process asks first (Esc leaves)"
            } else if model.snap.prot.write {
                "edit mode: type hex digits to write bytes at the cursor; Tab: text column; Esc leaves"
            } else if read_only_until_asked(model) {
                "edit mode: the file is mapped read-only; your first write asks before it goes to \
                 the file (Esc leaves)"
            } else {
                "edit mode: this mapping has no PROT_WRITE, so writes will be refused (p changes it)"
            });
        }
        Action::EditStop => model.edit = None,
        Action::EditSwitchColumn => {
            if let Some(e) = &mut model.edit {
                e.text = !e.text;
                e.pending = None;
            }
        }
        Action::EditNibble(n) => {
            let Some(e) = &mut model.edit else {
                return Vec::new();
            };
            match e.pending.take() {
                None => e.pending = Some(n & 0xf),
                Some(high) => return edit_write(model, vec![(high << 4) | (n & 0xf)]),
            }
        }
        Action::EditChar(c) if model.edit.is_some() => {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes().to_vec();
            return edit_write(model, bytes);
        }
        _ => {}
    }
    Vec::new()
}

/// Questions and menus: quitting or remapping (asking first when edits would be lost), the
/// menus of calls, the answers.
fn ask(model: &mut Model, action: Action) -> Vec<Command> {
    match action {
        Action::Quit if model.private_edits() > 0 => {
            model.overlay = Overlay::Confirm {
                question: format!(
                    "Quit? {} byte(s) you wrote in private copy-on-write pages will be lost: \
                     MAP_PRIVATE writes never reach the file.",
                    model.private_edits()
                ),
                default_yes: true,
                then: Box::new(Action::QuitNow),
            };
        }
        Action::Quit | Action::QuitNow => model.quit = true,
        Action::SwitchMode => {
            let target = match model.snap.mode {
                MapMode::Shared => MapMode::Private,
                MapMode::Private => MapMode::Shared,
            };
            let lost = model.private_edits();
            if lost == 0 {
                return update(model, Action::Do(Op::Mode(target)));
            }
            model.overlay = Overlay::Confirm {
                question: format!(
                    "Remap {}? {lost} byte(s) you wrote will be lost: they live only in this \
                     mapping's copy-on-write pages.",
                    target.flag_name()
                ),
                default_yes: true,
                then: Box::new(Action::Do(Op::Mode(target))),
            };
        }
        Action::OpenMenu(kind) => {
            model.overlay = Overlay::Menu {
                kind,
                selected: 0,
                all: !matches!(kind, MenuKind::Advise),
            };
            if kind == MenuKind::Malloc {
                let seen =
                    model
                        .malloc
                        .clone()
                        .unwrap_or(crate::sys::lab::experiments::Threshold {
                            at_least: None,
                            at_most: None,
                            fixed_by: None,
                        });
                model.log(crate::sys::ops::notes::threshold(&seen));
            }
        }
        Action::Menu(key) => return menu(model, key),
        Action::Question { question, then } => {
            model.overlay = Overlay::Confirm {
                question,
                default_yes: false,
                then,
            };
        }
        Action::Confirmed {
            op,
            history,
            protect_first,
        } => {
            let mut cmds: Vec<Command> = protect_first
                .map(|p| Command::Exec {
                    op: Op::Protect(p),
                    history: History::Record,
                    confirmed: true,
                })
                .into_iter()
                .collect();
            cmds.push(Command::Exec {
                op,
                history,
                confirmed: true,
            });
            return cmds;
        }
        Action::Confirm(answer) => {
            if let Overlay::Confirm {
                then, default_yes, ..
            } = std::mem::take(&mut model.overlay)
            {
                if answer.unwrap_or(default_yes) {
                    return update(model, *then);
                }
                model.log("cancelled");
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Operations on the mapping, and the keys that make one at the cursor (or ask for its
/// arguments first).
fn operate(model: &mut Model, action: Action) -> Vec<Command> {
    let op = match action {
        Action::ExecCursor => {
            return ask_for(
                model,
                Ask::ExecArgs {
                    offset: model.cursor,
                },
            );
        }
        Action::OpenAsk(ask) => return ask_for(model, ask),
        Action::ForkKey if model.child.is_some() => {
            return update(model, Action::OpenMenu(MenuKind::Child));
        }
        Action::ForkKey => Op::Fork,
        Action::TogglePeer if model.peer_running => Op::PeerStop,
        Action::TogglePeer => Op::PeerStart(Some(model.cursor)),
        Action::TouchCursor => Op::Touch(model.cursor / model.page_size()),
        Action::Do(op) => op,
        _ => return Vec::new(),
    };
    do_op(model, op)
}

/// A shared mapping of a file the user named, mapped read-only because writing was not
/// allowed yet, where the first write asks (the write gate, `sys::ops::gate`, does the asking).
fn read_only_until_asked(model: &Model) -> bool {
    let s = &model.snap;
    s.mode == MapMode::Shared
        && !s.prot.write
        && !s.write_allowed
        && matches!(s.backing, Backing::File { writable: true, .. })
}

/// A write typed in edit mode (or a snippet): the write gate decides whether it goes at
/// once, is asked about (the first write to a named file, every write into another process)
/// or is refused (our own process outside our mapping, a read-only view).
fn edit_write(model: &Model, bytes: Vec<u8>) -> Vec<Command> {
    exec(Op::Write {
        offset: model.cursor,
        bytes,
    })
}

fn exec(op: Op) -> Vec<Command> {
    vec![Command::Exec {
        op,
        history: History::Record,
        confirmed: false,
    }]
}

fn do_op(model: &mut Model, op: Op) -> Vec<Command> {
    match op {
        Op::Undo => match model.history.last() {
            Some(r) => vec![Command::Exec {
                op: Op::Write {
                    offset: r.offset,
                    bytes: r.old.clone(),
                },
                history: History::Undo,
                confirmed: false,
            }],
            None => {
                model.log("undo: nothing to undo");
                Vec::new()
            }
        },
        Op::Redo => match model.redo.last() {
            Some(r) => vec![Command::Exec {
                op: Op::Write {
                    offset: r.offset,
                    bytes: r.new.clone(),
                },
                history: History::Redo,
                confirmed: false,
            }],
            None => {
                model.log("redo: nothing to redo");
                Vec::new()
            }
        },
        op => exec(op),
    }
}

fn menu(model: &mut Model, key: MenuKey) -> Vec<Command> {
    let Overlay::Menu {
        kind,
        selected,
        all,
    } = &mut model.overlay
    else {
        return Vec::new();
    };
    let items = menu_items(*kind);
    let chosen = match key {
        MenuKey::Up => {
            *selected = selected.checked_sub(1).unwrap_or(items.len() - 1);
            None
        }
        MenuKey::Down => {
            *selected = (*selected + 1) % items.len();
            None
        }
        MenuKey::ToggleScope => {
            *all = !*all;
            None
        }
        MenuKey::Cancel => {
            model.overlay = Overlay::None;
            return Vec::new();
        }
        MenuKey::Choose => items.get(*selected).map(|(_, c)| *c),
        MenuKey::Number(n) => items.get(usize::from(n).wrapping_sub(1)).map(|(_, c)| *c),
    };
    let Some(choice) = chosen else {
        return Vec::new();
    };
    let scope = if *all {
        Scope::All
    } else {
        Scope::Page(model.cursor / model.page_size())
    };
    model.overlay = Overlay::None;
    let op = match choice {
        MenuChoice::Msync(k) => Op::Msync(k, scope),
        MenuChoice::Protect(p) => Op::Protect(p),
        MenuChoice::Advise(a) if choice.scoped() => Op::Advise(a, scope),
        MenuChoice::Advise(a) => Op::Advise(a, Scope::All),
        MenuChoice::Fadvise(a) => Op::Fadvise(a),
        MenuChoice::Lock(true) => Op::Lock(scope),
        MenuChoice::Lock(false) => Op::Unlock(scope),
        MenuChoice::ChildRead => Op::ChildRead {
            offset: model.cursor,
            len: 16.min(model.max_cursor() + 1 - model.cursor),
        },
        MenuChoice::ChildExit => Op::ChildExit,
        MenuChoice::Alloc(Some(n)) => Op::Alloc(n),
        MenuChoice::Free => Op::Free,
        MenuChoice::ChildWrite => {
            let offset = model.cursor;
            return ask_for(model, Ask::ChildWrite { offset });
        }
        MenuChoice::Alloc(None) => return ask_for(model, Ask::AllocSize),
        MenuChoice::Snippet(name) => match crate::sys::lab::experiments::snippet(name) {
            // As typed bytes are: asking first when the file was not allowed to be written.
            Ok(bytes) => return edit_write(model, bytes.to_vec()),
            Err(e) => {
                model.log(e.to_string());
                return Vec::new();
            }
        },
    };
    update(model, Action::Do(op))
}

/// Opens the one-line prompt `ask`.
fn ask_for(model: &mut Model, ask: Ask) -> Vec<Command> {
    model.overlay = Overlay::Ask {
        ask,
        text: String::new(),
    };
    Vec::new()
}

/// A key in an operation's prompt: typing, or on Enter the operation it asks for (an error
/// in what was typed is logged and the prompt stays).
fn ask_prompt(model: &mut Model, edit: PromptEdit) -> Vec<Command> {
    let Overlay::Ask { ask, text } = &mut model.overlay else {
        return Vec::new();
    };
    match edit {
        PromptEdit::Insert(c) if text.chars().count() < PROMPT_MAX && !c.is_control() => {
            text.push(c);
        }
        PromptEdit::Insert(_) => {}
        PromptEdit::Backspace => {
            text.pop();
        }
        PromptEdit::Cancel => model.overlay = Overlay::None,
        PromptEdit::Submit => match ask.parse(text) {
            Ok(op) => {
                model.overlay = Overlay::None;
                return update(model, Action::Do(op));
            }
            Err(msg) => {
                let msg = format!("{}{}", ask.title(), crate::text::sanitize(&msg));
                model.log(msg);
            }
        },
    }
    Vec::new()
}

/// Takes back what the kernel did: the log line, the edit history and marks, the cursor.
pub fn apply_outcome(model: &mut Model, outcome: &Outcome, history: History) {
    model.log(outcome.log_line());
    let done = match &outcome.result {
        Ok(done) => done,
        Err(e) => {
            offer_force(model, &outcome.op, e);
            return;
        }
    };
    let ps = model.page_size();
    minimap_changed(model, done);
    if let Some(range) = own_change(model, done) {
        model.own_writes.push(range);
    }
    if let Done::Truncated { new_size, .. } = done {
        model.own_size = Some(*new_size);
    }
    if let Done::Synced { first, count, .. } = done {
        // Writeback may re-zero the padding after end of file (ext4 does): our own call
        // changed those bytes, not another process (the outcome's notes say so).
        let g = model.snap.geometry;
        let data = g.data_bytes();
        if g.file_size.is_some() && (first * ps..(first + count) * ps).contains(&data) {
            model.own_writes.push((data, ps - data % ps));
        }
    }
    match done {
        Done::Wrote {
            offset, old, new, ..
        } => wrote(model, *offset, old, new, history),
        Done::PeerStarted { .. } => model.peer_running = true,
        Done::PeerStopped { .. } => model.peer_running = false,
        Done::Forked { pid, .. } => model.child = Some(*pid),
        Done::ChildExited { .. } => model.child = None,
        Done::Allocated(a) => model.malloc = Some(a.threshold.clone()),
        Done::Freed { threshold, .. } => model.malloc = Some(threshold.clone()),
        Done::Swapped { .. } => {
            // The marks go with their mapping; the history's records point into the other.
            std::mem::swap(&mut model.edits, &mut model.also_edits);
            model.history.clear();
            model.redo.clear();
            model.snap.bytes = Default::default();
            if let Some(also) = &mut model.also {
                also.bytes = Default::default();
            }
        }
        Done::Remapped { .. } => {
            // Old records point into a mapping that is gone; an undo now would write through
            // the new one (perhaps into the file). Start afresh.
            model.edits.clear();
            model.history.clear();
            model.redo.clear();
            model.snap.bytes = Default::default();
        }
        Done::Synced {
            kind: SyncKind::Sync,
            first,
            count,
            ..
        } if model.snap.mode == MapMode::Shared => {
            let (lo, hi) = (first * ps, (first + count) * ps);
            model.edits.retain(|off| !(lo..hi).contains(off));
        }
        Done::Advised { first, count, .. }
            if matches!(outcome.op, Op::Advise(crate::action::MAdvice::DontNeed, _))
                && model.snap.mode == MapMode::Private =>
        {
            let (lo, hi) = (first * ps, (first + count) * ps);
            model.edits.retain(|off| !(lo..hi).contains(off));
        }
        _ => {}
    }
}

/// A refusal by the memory bound (the numbers are in the log line too): asks whether to do
/// it anyway, No by default. A script never answers; its line says how to force instead.
fn offer_force(model: &mut Model, op: &Op, e: &crate::sys::SysError) {
    if !e.forcible {
        return;
    }
    model.overlay = Overlay::Confirm {
        question: format!(
            "{}: {}. Do it anyway? y/N",
            e.context,
            crate::sys::proc::limits::without_hint(&e.explanation)
        ),
        then: Box::new(Action::ForceThen(Box::new(op.clone()))),
        default_yes: false,
    };
}

/// Takes back a write: the edit marks, the bytes shown at once (the next refresh reads them
/// back from the mapping), the edit history, and the cursor after a typed byte.
fn wrote(model: &mut Model, offset: u64, old: &[u8], new: &[u8], history: History) {
    let len = new.len() as u64;
    model.own_writes.push((offset, len));
    model.edits.extend(offset..offset + len);
    for (i, b) in new.iter().enumerate() {
        let off = offset + i as u64;
        if let Some(idx) = off.checked_sub(model.snap.bytes.start)
            && let Some(slot) = model.snap.bytes.data.get_mut(idx as usize)
        {
            *slot = Some(*b);
        }
    }
    let record = EditRecord {
        offset,
        old: old.to_vec(),
        new: new.to_vec(),
    };
    match history {
        History::Record => {
            model.history.push(record);
            model.redo.clear();
            if model.edit.is_some() && offset == model.cursor {
                model.cursor = (model.cursor + len).min(model.max_cursor());
                model.scroll_to_cursor();
            }
        }
        History::Undo => {
            if let Some(r) = model.history.pop() {
                model.redo.push(r);
            }
        }
        History::Redo => {
            if let Some(r) = model.redo.pop() {
                model.history.push(r);
            }
        }
    }
}

/// Marks the minimap's chunks that `done` may have changed, to be probed first: the pages an
/// operation names when it names some, else the whole mapping (a remap, a touch and its
/// readahead, a truncate, a peer, code run in a child).
/// The bytes (offset, length) an operation of ours other than a write may have changed,
/// so that the next refresh does not blame another process for them: the advised pages
/// (DONTNEED drops a private copy, the file's bytes show again; on anonymous memory, zeros),
/// a child's write, and the whole mapping after a truncate (the bytes past the new end of
/// file read as zeros or not at all), a remap, a resize or code run in a child. Reads,
/// protection, locks, touches, forks and the peer's own stores change none of ours.
fn own_change(model: &Model, done: &Done) -> Option<(u64, u64)> {
    let ps = model.page_size().max(1);
    match done {
        Done::Advised { first, count, .. } => Some((first * ps, count * ps)),
        Done::ChildWrote { offset, new, .. } => Some((*offset, new.len() as u64)),
        Done::Truncated { .. }
        | Done::Remapped { .. }
        | Done::Resized { .. }
        | Done::Swapped { .. }
        | Done::Called { .. } => Some((0, u64::MAX)),
        _ => None,
    }
}

fn minimap_changed(model: &mut Model, done: &Done) {
    let g = model.snap.geometry;
    let ps = g.page_size.max(1);
    match done {
        Done::Wrote { offset, new, .. } => {
            let end = offset + new.len() as u64;
            model.minimap.changed(offset / ps, end.div_ceil(ps), &g);
        }
        Done::Synced { first, count, .. } | Done::Advised { first, count, .. } => {
            model.minimap.changed(*first, first + count, &g);
        }
        Done::Nothing {} => {}
        _ => model.minimap.changed_all(),
    }
}

/// The mapping offset at the top of the grid, to keep in place when the row width changes.
fn anchor(model: &Model) -> (u64, bool) {
    match model.line_content(model.top) {
        (page, None) => (page * model.page_size(), true),
        (_, Some(off)) => (off, false),
    }
}

fn restore_anchor(model: &mut Model, (off, header): (u64, bool)) {
    model.top = model.line_of(off) - u64::from(header);
    model.scroll_to_cursor();
}

fn move_cursor(model: &mut Model, motion: Motion) {
    let bpr = model.bytes_per_row();
    let ps = model.page_size();
    let max = model.max_cursor();
    let c = model.cursor;
    let screen_rows = model.layout().grid_rows().saturating_sub(1).max(1);
    let page = c / ps;
    let new = match motion {
        Motion::Left => c.saturating_sub(1),
        Motion::Right => (c + 1).min(max),
        Motion::Up => c.checked_sub(bpr).unwrap_or(c),
        Motion::Down => {
            if c + bpr <= max {
                c + bpr
            } else {
                c
            }
        }
        Motion::PageUp => {
            model.top = model.top.saturating_sub(screen_rows);
            c.saturating_sub(screen_rows * bpr)
        }
        Motion::PageDown => {
            model.top += screen_rows;
            (c + screen_rows * bpr).min(max)
        }
        Motion::RowStart => c - c % bpr,
        Motion::RowEnd => (c - c % bpr + bpr - 1).min(max),
        Motion::Top => {
            model.top = 0;
            0
        }
        Motion::Bottom => max,
        Motion::PrevPage | Motion::NextPage => {
            let target = if motion == Motion::PrevPage {
                page.saturating_sub(1)
            } else {
                (page + 1).min(model.pages() - 1)
            };
            model.top = target * model.lines_per_page();
            target * ps
        }
    };
    model.cursor = new;
    model.scroll_to_cursor();
}

/// Parses the `:` prompt: an offset (`0x1f00`, `7936`, `4k`), a page (`p 3`, `page 3`) or a
/// page state to find (`dirty`, `!resident`: see `StateQuery::parse`).
///
/// # Errors
/// A sentence saying what is accepted.
pub fn parse_goto(text: &str) -> Result<GotoTarget, String> {
    // `::dirty` (the key typed twice) means `:dirty`.
    let t = text.trim();
    let t = t.strip_prefix(':').unwrap_or(t).trim();
    if let Some(q) = StateQuery::parse(t) {
        return Ok(GotoTarget::State(q));
    }
    let page = t
        .strip_prefix("page")
        .or_else(|| t.strip_prefix('p'))
        .filter(|rest| {
            rest.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        });
    match page {
        Some(rest) => crate::geometry::parse_size(rest)
            .map(GotoTarget::Page)
            .map_err(|_| format!("'{}': a page is 'p N' with N a number", echo(t))),
        None => crate::geometry::parse_size(t)
            .map(GotoTarget::Offset)
            .map_err(|_| {
                format!(
                    "'{}' is not a place: give an offset (0x1f00, 7936), a page (p 3) or a state \
                     (dirty, cow, resident, present, exclusive, beyond; ! negates)",
                    echo(t)
                )
            }),
    }
}

fn prompt(model: &mut Model, edit: PromptEdit) -> Vec<Command> {
    if matches!(model.overlay, Overlay::Ask { .. }) {
        return ask_prompt(model, edit);
    }
    let find = matches!(model.overlay, Overlay::Find(_));
    let (Overlay::Goto(text) | Overlay::Find(text)) = &mut model.overlay else {
        return Vec::new();
    };
    match edit {
        PromptEdit::Insert(c)
            if text.chars().count() < if find { FIND_MAX } else { PROMPT_MAX }
                && !c.is_control() =>
        {
            text.push(c);
        }
        PromptEdit::Insert(_) => {}
        PromptEdit::Backspace => {
            text.pop();
        }
        PromptEdit::Cancel => model.overlay = Overlay::None,
        PromptEdit::Submit => {
            let text = std::mem::take(text);
            model.overlay = Overlay::None;
            if text.trim().is_empty() {
                return Vec::new();
            }
            if find {
                let t = text.trim();
                return match Pattern::parse(t.strip_prefix('/').unwrap_or(t)) {
                    Ok(p) => start_search(model, Query::Bytes(p), true),
                    Err(msg) => {
                        model.log(format!("find: {msg}"));
                        Vec::new()
                    }
                };
            }
            match parse_goto(&text) {
                Ok(target) => return goto(model, target),
                Err(msg) => model.log(format!("goto: {msg}")),
            }
        }
    }
    Vec::new()
}

/// `:` with a number: in the coordinates of the row labels, file offsets (from the mapping's
/// file offset on) or, after `v`, virtual addresses; `None` when it is not in the mapping.
fn goto_offset(model: &Model, label: u64) -> Option<u64> {
    label
        .checked_sub(model.label_base())
        .filter(|off| *off <= model.max_cursor())
}

fn goto(model: &mut Model, target: GotoTarget) -> Vec<Command> {
    let ps = model.page_size();
    let pages = model.pages();
    let kind = if model.show_vaddr {
        "address"
    } else {
        "offset"
    };
    match target {
        GotoTarget::Offset(label) if let Some(off) = goto_offset(model, label) => {
            model.cursor = off;
            let h = model.layout().grid_rows();
            model.top = model.line_of(off).saturating_sub(h / 3);
            model.scroll_to_cursor();
            model.log(format!("goto {kind} 0x{label:x} (page {})", off / ps));
        }
        GotoTarget::Offset(label) => {
            let (what, other) = if model.show_vaddr {
                ("virtual addresses", "file offsets")
            } else {
                ("file offsets", "addresses")
            };
            let first = model.label_base();
            let last = first.saturating_add(model.max_cursor());
            model.log(format!(
                "goto: {kind} 0x{label:x} is not in the mapping: its rows are {what} \
                 0x{first:x} to 0x{last:x} (v switches to {other})"
            ));
        }
        GotoTarget::Page(p) if p < pages => {
            model.cursor = p * ps;
            model.top = p * model.lines_per_page();
            model.scroll_to_cursor();
            model.log(format!("goto page {p}"));
        }
        GotoTarget::Page(p) => model.log(format!(
            "goto: page {p} does not exist; the mapping has pages 0 to {}",
            pages - 1
        )),
        GotoTarget::State(q) => return start_search(model, Query::State(q), true),
    }
    Vec::new()
}

/// Byte search and state search: the `/` prompt, `n` / `N`, what the session says of a
/// search running across ticks, and how it ended.
fn finding(model: &mut Model, action: Action) -> Vec<Command> {
    match action {
        Action::FindPrompt => model.overlay = Overlay::Find(String::new()),
        Action::SearchAgain { forward } => match model.last_search.clone() {
            Some(query) => return start_search(model, query, forward),
            None => model.log(
                "n / N repeat the last search, and there is none yet: try : dirty, : !resident, \
                 / 7f 45 4c 46 or /\"text\"",
            ),
        },
        // News of a search that is no longer the one shown (replaced by a newer one) changes
        // nothing: its end is only logged.
        Action::SearchProgress { id, done, total } => {
            if let Some(s) = model.searching.as_mut().filter(|s| s.id == id) {
                s.done = done;
                s.total = total;
            }
        }
        Action::SearchEnded(f) if model.searching.as_ref().is_some_and(|s| s.id == f.id) => {
            search_ended(model, &f);
        }
        Action::SearchEnded(f) => model.log(f.sentence(model.page_size())),
        _ => {}
    }
    Vec::new()
}

/// Starts a search, with a new id: the one running (if any) is replaced, and the session's
/// news of it (its end) no longer touches the model's search.
fn start_search(model: &mut Model, query: Query, forward: bool) -> Vec<Command> {
    model.searches += 1;
    let id = model.searches;
    model.last_search = Some(query.clone());
    model.found = None;
    model.searching = Some(Searching {
        id,
        label: query.label(),
        from: model.cursor,
        done: 0,
        total: model.pages(),
    });
    vec![Command::Search(Request {
        id,
        query,
        from: model.cursor,
        forward,
    })]
}

/// A search ended: the log says how; a page found is opened with its header on top, bytes
/// found get the cursor and are highlighted.
fn search_ended(model: &mut Model, f: &Finished) {
    let moved = model
        .searching
        .take()
        .is_some_and(|s| s.from != model.cursor);
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
            model.found = Some((offset, len));
        }
        return;
    }
    match f.query {
        Query::State(_) => {
            let page = offset / model.page_size();
            model.cursor = page * model.page_size();
            model.top = page * model.lines_per_page();
        }
        Query::Bytes(_) => {
            model.cursor = offset;
            let h = model.layout().grid_rows();
            model.top = model.line_of(offset).saturating_sub(h / 3);
            model.found = Some((offset, len));
        }
    }
    model.scroll_to_cursor();
}

/// The page map: open it (the whole mapping fits, the cursor's cell selected), move, zoom,
/// open a page, take the session's reading.
fn page_map(model: &mut Model, action: Action) {
    if let Action::PageMapProbed(slice) = action {
        let map = &mut model.page_map;
        // Another window (moved, zoomed): its cells start unread (drawn blank).
        if (map.first, map.per_cell, map.buckets.len())
            != (slice.first, slice.per_cell, slice.cells)
        {
            *map = crate::action::PageMapData {
                first: slice.first,
                per_cell: slice.per_cell,
                buckets: vec![crate::sys::probe::chunks::Bucket::default(); slice.cells],
            };
        }
        for (i, b) in slice.buckets.into_iter().enumerate() {
            if let Some(cell) = map.buckets.get_mut(slice.start + i) {
                *cell = b;
            }
        }
        return;
    }
    if action == Action::OpenPageMap {
        model.page_map = Default::default();
        let page = model.cursor / model.page_size();
        let w = model.map_window(page, model.page_map_fit(), 0);
        show_map(
            model,
            page,
            w.per_cell,
            (w.selected / w.cols).saturating_sub(w.rows / 2),
        );
        return;
    }
    let (Some(w), Overlay::PageMap { selected, .. }) = (model.page_map_window(), &model.overlay)
    else {
        return;
    };
    // The page selected, exactly: zooming out and in again comes back to it.
    let page = *selected;
    match action {
        Action::PageMapMove(m) => show_map(model, moved(&w, m) * w.per_cell, w.per_cell, w.top),
        Action::PageMapZoom(zoom_in) => {
            let per = if zoom_in {
                (w.per_cell / 2).max(1)
            } else {
                (w.per_cell * 2).min(model.page_map_fit().max(w.per_cell))
            };
            // The selected page stays, its row in the middle.
            let row = page / per / w.cols;
            show_map(model, page, per, row.saturating_sub(w.rows / 2));
        }
        Action::PageMapOpen => {
            let page = w.selected * w.per_cell;
            model.overlay = Overlay::None;
            model.log(format!("page map: opened page {page}"));
            news(model, Action::SelectPage(page));
        }
        _ => {}
    }
}

/// The page map with page `page` selected, `per_cell` pages a cell, scrolled from row `top`
/// as little as keeps the selection in view.
fn show_map(model: &mut Model, page: u64, per_cell: u64, top: u64) {
    let w = model.map_window(page, per_cell, top);
    model.overlay = Overlay::PageMap {
        selected: page.min(model.pages().saturating_sub(1)),
        per_cell: w.per_cell,
        top: w.top,
    };
}

/// The cell a move selects.
fn moved(w: &crate::model::MapWindow, m: CellMove) -> u64 {
    let last = w.total - 1;
    let screen = w.rows * w.cols;
    let c = w.selected;
    match m {
        CellMove::Left => c.saturating_sub(1),
        CellMove::Right => (c + 1).min(last),
        CellMove::Up => c.checked_sub(w.cols).unwrap_or(c),
        CellMove::Down if c + w.cols <= last => c + w.cols,
        CellMove::Down => c,
        CellMove::PageUp => c.saturating_sub(screen),
        CellMove::PageDown => (c + screen).min(last),
        CellMove::First => 0,
        CellMove::Last => last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Geometry;
    use crate::sys::map::request::Prot;
    use crate::sys::probe::snapshot::{Backing, Snapshot};

    const PS: u64 = 4096;

    fn model(pages: u64, size: (u16, u16)) -> Model {
        let geometry = Geometry {
            page_size: PS,
            offset: 0,
            len: pages * PS,
            file_size: None,
        };
        let snap = Snapshot::empty(
            Backing::Anon,
            MapMode::Shared,
            Prot::RW,
            0x7f00_0000_0000,
            geometry,
        );
        Model::new(snap, size)
    }

    fn cursor_visible(m: &Model) -> bool {
        let line = m.line_of(m.cursor);
        line >= m.top && line < m.top + m.layout().grid_rows()
    }

    #[test]
    fn byte_and_row_moves_stay_in_the_mapping() {
        let mut m = model(2, (80, 24));
        assert_eq!(m.bytes_per_row(), 8);
        update(&mut m, Action::Move(Motion::Left));
        assert_eq!(m.cursor, 0);
        update(&mut m, Action::Move(Motion::Up));
        assert_eq!(m.cursor, 0);
        update(&mut m, Action::Move(Motion::Right));
        update(&mut m, Action::Move(Motion::Down));
        assert_eq!(m.cursor, 9);
        update(&mut m, Action::Move(Motion::RowEnd));
        assert_eq!(m.cursor, 15);
        update(&mut m, Action::Move(Motion::RowStart));
        assert_eq!(m.cursor, 8);
        update(&mut m, Action::Move(Motion::Bottom));
        assert_eq!(m.cursor, 2 * PS - 1);
        assert!(cursor_visible(&m));
        update(&mut m, Action::Move(Motion::Right));
        update(&mut m, Action::Move(Motion::Down));
        assert_eq!(m.cursor, 2 * PS - 1);
        update(&mut m, Action::Move(Motion::Top));
        assert_eq!((m.cursor, m.top), (0, 0));
    }

    #[test]
    fn page_moves_put_the_page_header_on_top() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Move(Motion::NextPage));
        assert_eq!(m.cursor, PS);
        assert_eq!(m.top, m.lines_per_page());
        assert_eq!(m.line_content(m.top), (1, None));
        update(&mut m, Action::Move(Motion::NextPage));
        update(&mut m, Action::Move(Motion::NextPage));
        update(&mut m, Action::Move(Motion::NextPage));
        assert_eq!(m.cursor, 3 * PS, "stops at the last page");
        update(&mut m, Action::Move(Motion::PrevPage));
        assert_eq!(m.cursor, 2 * PS);
        assert!(cursor_visible(&m));
    }

    #[test]
    fn screen_moves_keep_the_cursor_visible() {
        let mut m = model(3, (120, 40));
        let motions = [
            Motion::PageDown,
            Motion::PageDown,
            Motion::Down,
            Motion::PageUp,
            Motion::NextPage,
            Motion::Up,
            Motion::Up,
            Motion::PageDown,
            Motion::Bottom,
            Motion::PageUp,
            Motion::PrevPage,
            Motion::Left,
        ];
        for motion in motions {
            update(&mut m, Action::Move(motion));
            assert!(
                cursor_visible(&m),
                "{motion:?}: cursor {} top {}",
                m.cursor,
                m.top
            );
            assert!(m.top + m.layout().grid_rows() <= m.total_lines().max(m.layout().grid_rows()));
        }
    }

    #[test]
    fn goto_parses_offsets_and_pages() {
        assert_eq!(parse_goto("0x1f00"), Ok(GotoTarget::Offset(0x1f00)));
        assert_eq!(parse_goto("7936"), Ok(GotoTarget::Offset(7936)));
        assert_eq!(parse_goto("4k"), Ok(GotoTarget::Offset(4096)));
        assert_eq!(parse_goto("p 3"), Ok(GotoTarget::Page(3)));
        assert_eq!(parse_goto("p3"), Ok(GotoTarget::Page(3)));
        assert_eq!(parse_goto(" page 2 "), Ok(GotoTarget::Page(2)));
        assert_eq!(
            parse_goto(" !resident "),
            Ok(GotoTarget::State(StateQuery::parse("!resident").unwrap()))
        );
        assert_eq!(
            parse_goto("present"),
            Ok(GotoTarget::State(StateQuery::parse("present").unwrap())),
            "a state, not p + digits"
        );
        assert!(parse_goto("dirt").unwrap_err().contains("a state (dirty"));
        assert_eq!(parse_goto(":p 2"), Ok(GotoTarget::Page(2)));
        assert!(parse_goto("pear").is_err());
        assert!(parse_goto("p x").is_err());
        assert!(parse_goto("zz").is_err());
    }

    #[test]
    fn goto_prompt_round_trip() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::GotoPrompt);
        for c in "0x1f00".chars() {
            update(&mut m, Action::Prompt(PromptEdit::Insert(c)));
        }
        assert_eq!(m.overlay, Overlay::Goto("0x1f00".into()));
        update(&mut m, Action::Prompt(PromptEdit::Submit));
        assert_eq!(m.overlay, Overlay::None);
        assert_eq!(m.cursor, 0x1f00);
        assert!(cursor_visible(&m));

        update(&mut m, Action::GotoPrompt);
        update(&mut m, Action::Prompt(PromptEdit::Insert('p')));
        update(&mut m, Action::Prompt(PromptEdit::Insert('9')));
        update(&mut m, Action::Prompt(PromptEdit::Submit));
        assert_eq!(
            m.cursor, 0x1f00,
            "a page that does not exist leaves the cursor"
        );
        assert!(m.log.last().unwrap().text.contains("pages 0 to 3"));

        update(&mut m, Action::GotoPrompt);
        update(&mut m, Action::Prompt(PromptEdit::Insert('x')));
        update(&mut m, Action::Prompt(PromptEdit::Backspace));
        update(&mut m, Action::Prompt(PromptEdit::Insert('\u{1b}')));
        assert_eq!(
            m.overlay,
            Overlay::Goto(String::new()),
            "control characters are not taken"
        );
        update(&mut m, Action::Prompt(PromptEdit::Cancel));
        assert_eq!(m.overlay, Overlay::None);

        update(&mut m, Action::Goto(GotoTarget::Offset(4 * PS)));
        assert!(m.log.last().unwrap().text.contains("is not in the mapping"));
    }

    fn type_prompt(m: &mut Model, open: Action, text: &str) -> Vec<Command> {
        update(m, open);
        for c in text.chars() {
            update(m, Action::Prompt(PromptEdit::Insert(c)));
        }
        update(m, Action::Prompt(PromptEdit::Submit))
    }

    fn only_search(cmds: Vec<Command>) -> Request {
        match cmds.as_slice() {
            [Command::Search(req)] => req.clone(),
            other => panic!("expected one Search, got {other:?}"),
        }
    }

    /// The end of the search shown, as the session would say it.
    fn ended(m: &mut Model, query: Query, ending: Ending) {
        let id = m.searching.as_ref().map_or(0, |s| s.id);
        update(m, ended_id(id, query, ending));
    }

    fn ended_id(id: u64, query: Query, ending: Ending) -> Action {
        Action::SearchEnded(Box::new(Finished {
            id,
            query,
            forward: true,
            ending,
            examined: 4,
            cleared: 0,
            skipped: 0,
            bytes: 0,
            elapsed_us: 10,
            note: None,
        }))
    }

    #[test]
    fn a_state_word_in_the_goto_prompt_starts_a_search_from_the_cursor() {
        let mut m = model(8, (120, 40));
        update(&mut m, Action::Goto(GotoTarget::Offset(0x1234)));
        let req = only_search(type_prompt(&mut m, Action::GotoPrompt, ": dirty"));
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
        assert_eq!(m.overlay, Overlay::None);
        assert_eq!(m.last_search, Some(dirty.clone()));
        assert_eq!(m.searching.as_ref().map(|s| s.total), Some(8));
        update(
            &mut m,
            Action::SearchProgress {
                id: 1,
                done: 4,
                total: 8,
            },
        );
        assert_eq!(m.searching.as_ref().map(|s| s.done), Some(4));
        // Esc with nothing open stops the search; the session says how it ended.
        assert_eq!(
            update(&mut m, Action::CloseOverlay),
            vec![Command::CancelSearch { id: 1 }]
        );
        let found = Ending::Found {
            offset: 5 * PS,
            len: PS,
            wrapped: false,
        };
        ended(&mut m, dirty, found);
        assert!(m.searching.is_none());
        assert_eq!(m.cursor, 5 * PS);
        assert_eq!(m.line_content(m.top), (5, None), "its header on top");
        assert!(m.found.is_none(), "a page is not highlighted");
        assert!(m.log.last().unwrap().text.contains("page 5 is dirty"));
        assert!(
            update(&mut m, Action::CloseOverlay).is_empty(),
            "nothing to stop"
        );
    }

    #[test]
    fn a_second_search_replaces_the_first_and_news_of_the_first_is_stale() {
        let mut m = model(8, (120, 40));
        let cow = Query::State(StateQuery::parse("cow").unwrap());
        let dirty = Query::State(StateQuery::parse("dirty").unwrap());
        let first = only_search(type_prompt(&mut m, Action::GotoPrompt, ": cow"));
        let second = only_search(type_prompt(&mut m, Action::GotoPrompt, ": dirty"));
        assert!(second.id > first.id, "{first:?} {second:?}");
        let shown = |m: &Model| {
            m.searching
                .as_ref()
                .map(|s| (s.id, s.label.clone(), s.done))
        };
        assert_eq!(shown(&m), Some((second.id, ": dirty".into(), 0)));
        // The session ends the first as it starts the second: that end is logged, and the
        // second is still the one shown (with its progress).
        update(&mut m, ended_id(first.id, cow.clone(), Ending::Cancelled));
        assert_eq!(shown(&m), Some((second.id, ": dirty".into(), 0)));
        assert!(m.log.last().unwrap().text.starts_with(": cow: cancelled"));
        // Progress of the first (stale) changes nothing; the second's shows.
        let progress = |id, done| Action::SearchProgress { id, done, total: 8 };
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
        assert_eq!((m.cursor, shown(&m).map(|s| s.0)), (0, Some(second.id)));
        // Esc stops the one shown, by its id.
        assert_eq!(
            update(&mut m, Action::CloseOverlay),
            vec![Command::CancelSearch { id: second.id }]
        );
        ended(&mut m, dirty, Ending::Cancelled);
        assert!(m.searching.is_none());
        assert!(m.log.last().unwrap().text.starts_with(": dirty: cancelled"));
        assert!(update(&mut m, Action::CloseOverlay).is_empty());
    }

    #[test]
    fn a_log_line_is_escaped_and_cut_whatever_it_echoes() {
        let mut m = model(8, (120, 40));
        m.log(format!("say \x1b]0;title\x07{}", "x".repeat(100_000)));
        let last = &m.log.last().unwrap().text;
        assert!(last.starts_with("say \\x1b]0;title\\x07xxx"), "{last}");
        assert_eq!(last.chars().count(), crate::text::LINE_MAX);
        assert!(last.ends_with('…'));
    }

    #[test]
    fn a_search_stopped_because_the_process_exited_says_so() {
        let mut m = model(8, (120, 40));
        let req = only_search(type_prompt(&mut m, Action::GotoPrompt, ": present"));
        let mut f = match ended_id(req.id, req.query, Ending::Stopped) {
            Action::SearchEnded(f) => f,
            other => panic!("{other:?}"),
        };
        f.note = Some("the process has exited".into());
        update(&mut m, Action::SearchEnded(f));
        assert!(m.searching.is_none());
        assert_eq!(m.cursor, 0);
        let last = &m.log.last().unwrap().text;
        assert!(
            last.starts_with(": present: the process has exited · "),
            "{last}"
        );
    }

    #[test]
    fn a_search_that_ends_after_the_cursor_moved_leaves_the_cursor_there() {
        let mut m = model(8, (120, 40));
        let dirty = Query::State(StateQuery::parse("dirty").unwrap());
        only_search(type_prompt(&mut m, Action::GotoPrompt, ": dirty"));
        update(&mut m, Action::Goto(GotoTarget::Offset(0x20)));
        let found = Ending::Found {
            offset: 5 * PS,
            len: PS,
            wrapped: false,
        };
        ended(&mut m, dirty, found);
        assert!(m.searching.is_none());
        assert_eq!(m.cursor, 0x20, "the user's place kept");
        let last = &m.log.last().unwrap().text;
        assert!(
            last.contains("cursor moved") && last.contains(": 0x5000"),
            "{last}"
        );
        assert!(
            m.log.iter().any(|l| l.text.contains("page 5 is dirty")),
            "the finding is still said"
        );
    }

    #[test]
    fn the_find_prompt_takes_hex_or_text_and_n_repeats() {
        let mut m = model(8, (120, 40));
        assert!(update(&mut m, Action::SearchAgain { forward: true }).is_empty());
        assert!(m.log.last().unwrap().text.contains("none yet"));
        assert!(type_prompt(&mut m, Action::FindPrompt, "7f 4").is_empty());
        assert!(m.log.last().unwrap().text.starts_with("find: "));
        let req = only_search(type_prompt(&mut m, Action::FindPrompt, "/\"ab\""));
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
        assert_eq!((m.cursor, m.found), (0x2ffe, Some((0x2ffe, 2))));
        assert!(cursor_visible(&m));
        assert!(m.log.last().unwrap().text.contains("wrapped past the end"));
        let back = only_search(update(&mut m, Action::SearchAgain { forward: false }));
        assert_eq!(
            (back.query, back.from, back.forward),
            (req.query, 0x2ffe, false)
        );
        assert!(m.found.is_none(), "a new search forgets the old match");
        ended(&mut m, back_query(), Ending::NotFound);
        assert_eq!(m.cursor, 0x2ffe, "not found: the cursor stays");
        assert!(m.log.last().unwrap().text.contains("not found"));
    }

    fn back_query() -> Query {
        Query::Bytes(Pattern::parse("\"ab\"").unwrap())
    }

    #[test]
    fn the_page_map_opens_fitted_moves_zooms_and_opens_a_page() {
        // 80x24: the cells' area is 70 x 17 (labels of "4,095" and a space).
        let mut m = model(4096, (80, 24));
        update(&mut m, Action::Goto(GotoTarget::Page(100)));
        update(&mut m, Action::OpenPageMap);
        let w = m.page_map_window().expect("open");
        assert_eq!((w.cols, w.rows), (70, 17));
        assert_eq!(w.per_cell, 4, "4096 pages in 1190 cells: 4 a cell");
        assert_eq!((w.total, w.selected, w.top), (1024, 25, 0));
        update(&mut m, Action::PageMapMove(CellMove::Down));
        update(&mut m, Action::PageMapMove(CellMove::Right));
        assert_eq!(m.page_map_window().unwrap().selected, 25 + 70 + 1);
        update(&mut m, Action::PageMapMove(CellMove::Last));
        let w = m.page_map_window().unwrap();
        assert_eq!(w.selected, 1023);
        update(&mut m, Action::PageMapZoom(false));
        assert_eq!(m.page_map_window().unwrap().per_cell, 4, "fits already");
        update(&mut m, Action::PageMapZoom(true));
        update(&mut m, Action::PageMapZoom(true));
        let w = m.page_map_window().unwrap();
        assert_eq!(
            (w.per_cell, w.selected),
            (1, 4092),
            "the same page, zoomed in"
        );
        assert!(w.selected / w.cols >= w.top && w.selected / w.cols < w.top + w.rows);
        assert_eq!(w.cells(), (w.total - w.first_cell()).min(70 * 17));
        update(&mut m, Action::PageMapMove(CellMove::First));
        assert_eq!(m.page_map_window().unwrap().top, 0);
        update(&mut m, Action::PageMapMove(CellMove::PageDown));
        update(&mut m, Action::PageMapMove(CellMove::Left));
        let b = |first| crate::sys::probe::chunks::Bucket {
            first,
            pages: 1,
            resident: Some(1),
            ..Default::default()
        };
        let slice = |start: usize, buckets| crate::action::PageMapSlice {
            first: 0,
            per_cell: 1,
            cells: 4,
            start,
            buckets,
        };
        update(&mut m, Action::PageMapProbed(slice(1, vec![b(1), b(2)])));
        assert_eq!(
            m.page_map.buckets.len(),
            4,
            "the window's cells, unread ones blank"
        );
        assert_eq!(m.page_map.buckets[0].pages, 0, "not read yet");
        assert_eq!(m.page_map.buckets[2], b(2));
        update(&mut m, Action::PageMapProbed(slice(3, vec![b(3)])));
        assert_eq!(m.page_map.buckets[1], b(1), "earlier slices stay");
        assert_eq!(m.page_map.buckets[3], b(3));
        update(&mut m, Action::PageMapOpen);
        assert_eq!(m.overlay, Overlay::None);
        let page = 70 * 17 - 1;
        assert_eq!(m.cursor, page * PS);
        assert_eq!(m.line_content(m.top), (page, None));
        update(&mut m, Action::OpenPageMap);
        update(&mut m, Action::CloseOverlay);
        assert_eq!(m.overlay, Overlay::None);
    }

    #[test]
    fn resize_keeps_the_top_row_and_the_cursor() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Goto(GotoTarget::Offset(0x2345)));
        let (_, top_off) = m.line_content(m.top);
        update(&mut m, Action::Resize(80, 24));
        assert_eq!(m.bytes_per_row(), 8);
        assert!(cursor_visible(&m));
        let (_, new_top) = m.line_content(m.top);
        assert!(new_top.unwrap() <= 0x2345 && top_off.unwrap() <= 0x2345);
        update(&mut m, Action::Resize(200, 60));
        assert_eq!(m.bytes_per_row(), 32);
        assert!(cursor_visible(&m));
    }

    #[test]
    fn toggles_focus_help_offsets_scroll_refresh_quit() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::ToggleFocus);
        assert_eq!(m.focus, Focus::Panel);
        update(&mut m, Action::ToggleFocus);
        assert_eq!(m.focus, Focus::Log);
        assert!(m.layout().log.height > 1, "the focused log grows");
        update(&mut m, Action::ToggleFocus);
        assert_eq!(m.focus, Focus::Grid);
        update(&mut m, Action::ToggleHelp);
        assert_eq!(m.overlay, Overlay::Help);
        update(&mut m, Action::CloseOverlay);
        assert_eq!(m.overlay, Overlay::None);
        update(&mut m, Action::ToggleOffsets);
        assert!(m.show_vaddr);
        update(&mut m, Action::ToggleExplain);
        assert!(m.explain);
        assert_eq!(m.offset_digits(), 12);
        update(&mut m, Action::ScrollPanel(5));
        assert_eq!(m.panel_scroll, 0, "nothing to scroll");
        assert!(update(&mut m, Action::Refresh).is_empty());
        assert!(m.log.last().unwrap().text.starts_with("refresh"));
        update(&mut m, Action::Quit);
        assert!(m.quit);
    }

    fn wrote(offset: u64, old: &[u8], new: &[u8]) -> Outcome {
        Outcome {
            op: Op::Write {
                offset,
                bytes: new.to_vec(),
            },
            result: Ok(Done::Wrote {
                offset,
                old: old.to_vec(),
                new: new.to_vec(),
                padding: 0,
            }),
            elapsed: std::time::Duration::from_micros(5),
            faults: (1, 0),
            smaps_delta: vec![(crate::sys::proc::maps::SmapsField::PrivateDirty, 4096)],
            call: format!("write 0x{offset:x}"),
            notes: Vec::new(),
        }
    }

    fn only_exec(cmds: Vec<Command>) -> (Op, History) {
        match cmds.as_slice() {
            [Command::Exec { op, history, .. }] => (op.clone(), *history),
            other => panic!("expected one Exec, got {other:?}"),
        }
    }

    #[test]
    fn typing_two_nibbles_writes_a_byte_and_advances_on_success() {
        let mut m = model(1, (120, 40));
        assert!(
            update(&mut m, Action::EditNibble(4)).is_empty(),
            "not in edit mode"
        );
        update(&mut m, Action::EditStart);
        assert!(update(&mut m, Action::EditNibble(4)).is_empty());
        assert_eq!(m.edit.unwrap().pending, Some(4));
        let (op, history) = only_exec(update(&mut m, Action::EditNibble(1)));
        assert_eq!(
            op,
            Op::Write {
                offset: 0,
                bytes: vec![0x41]
            }
        );
        assert_eq!(history, History::Record);
        apply_outcome(&mut m, &wrote(0, &[0], &[0x41]), History::Record);
        assert_eq!(m.cursor, 1);
        assert!(m.edited(0));
        assert!(m.log.last().unwrap().text.contains("Private_Dirty +4 kB"));
        update(&mut m, Action::EditSwitchColumn);
        let (op, _) = only_exec(update(&mut m, Action::EditChar('é')));
        assert_eq!(
            op,
            Op::Write {
                offset: 1,
                bytes: "é".as_bytes().to_vec()
            }
        );
        update(&mut m, Action::EditStop);
        assert!(m.edit.is_none());
    }

    #[test]
    fn a_half_typed_byte_does_not_follow_the_cursor() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::EditStart);
        update(&mut m, Action::EditNibble(5));
        update(&mut m, Action::Move(Motion::Right));
        assert_eq!(m.edit.unwrap().pending, None, "the move dropped the 5");
        assert!(
            update(&mut m, Action::EditNibble(6)).is_empty(),
            "6 starts a new byte"
        );
        let (op, _) = only_exec(update(&mut m, Action::EditNibble(7)));
        assert_eq!(
            op,
            Op::Write {
                offset: 1,
                bytes: vec![0x67]
            }
        );
    }

    #[test]
    fn a_probe_between_two_nibbles_keeps_the_first() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::EditStart);
        update(&mut m, Action::EditNibble(5));
        let snap = Box::new(m.snap.clone());
        update(
            &mut m,
            Action::Probed {
                snap,
                now_ms: 10,
                clock: "00:00:01".into(),
                fresh: false,
            },
        );
        assert_eq!(m.edit.unwrap().pending, Some(5));
        let (op, _) = only_exec(update(&mut m, Action::EditNibble(0xa)));
        assert_eq!(
            op,
            Op::Write {
                offset: 0,
                bytes: vec![0x5a]
            }
        );
    }

    #[test]
    fn a_typed_write_goes_to_the_gate_whose_question_enter_declines() {
        let mut m = model(1, (120, 40));
        m.snap.backing = Backing::File {
            path: "/tmp/x".into(),
            writable: true,
            regular: true,
        };
        m.snap.prot = Prot::R;
        m.snap.write_allowed = false;
        update(&mut m, Action::EditStart);
        assert!(m.log.last().unwrap().text.contains("asks"));
        update(&mut m, Action::EditNibble(4));
        // The write is a command like any other: the session's gate decides (sys::ops::gate).
        let cmds = update(&mut m, Action::EditNibble(1));
        let write = Op::Write {
            offset: 0,
            bytes: vec![0x41],
        };
        assert_eq!(
            cmds,
            vec![Command::Exec {
                op: write.clone(),
                history: History::Record,
                confirmed: false
            }]
        );
        // The gate asked: a question whose default is no.
        let confirmed = Action::Confirmed {
            op: write.clone(),
            history: History::Record,
            protect_first: Some(Prot::RW),
        };
        let ask = Action::Question {
            question: "writes /tmp/x: allow? y/N".into(),
            then: Box::new(confirmed),
        };
        assert!(update(&mut m, ask.clone()).is_empty());
        assert!(matches!(
            &m.overlay,
            Overlay::Confirm {
                default_yes: false,
                question,
                ..
            } if question.contains("/tmp/x")
        ));
        assert!(
            update(&mut m, Action::Confirm(None)).is_empty(),
            "Enter: no"
        );
        assert_eq!(m.overlay, Overlay::None);
        update(&mut m, ask);
        let cmds = update(&mut m, Action::Confirm(Some(true)));
        assert_eq!(
            cmds,
            vec![
                Command::Exec {
                    op: Op::Protect(Prot::RW),
                    history: History::Record,
                    confirmed: true
                },
                Command::Exec {
                    op: write,
                    history: History::Record,
                    confirmed: true
                }
            ]
        );
    }

    #[test]
    fn undo_and_redo_write_the_recorded_bytes() {
        let mut m = model(1, (120, 40));
        update(&mut m, Action::Do(Op::Undo));
        assert!(m.log.last().unwrap().text.contains("nothing to undo"));
        apply_outcome(&mut m, &wrote(8, &[1, 2], &[3, 4]), History::Record);
        let (op, h) = only_exec(update(&mut m, Action::Do(Op::Undo)));
        assert_eq!(
            (op, h),
            (
                Op::Write {
                    offset: 8,
                    bytes: vec![1, 2]
                },
                History::Undo
            )
        );
        apply_outcome(&mut m, &wrote(8, &[3, 4], &[1, 2]), History::Undo);
        assert!(m.history.is_empty());
        assert_eq!(m.redo.len(), 1);
        let (op, h) = only_exec(update(&mut m, Action::Do(Op::Redo)));
        assert_eq!(
            (op, h),
            (
                Op::Write {
                    offset: 8,
                    bytes: vec![3, 4]
                },
                History::Redo
            )
        );
        apply_outcome(&mut m, &wrote(8, &[1, 2], &[3, 4]), History::Redo);
        assert_eq!((m.history.len(), m.redo.len()), (1, 0));
        // A failed undo leaves the history as it was.
        let mut failed = wrote(8, &[3, 4], &[1, 2]);
        failed.result = Err(crate::sys::SysError::new(
            libc::EACCES,
            "write",
            "read-only",
        ));
        apply_outcome(&mut m, &failed, History::Undo);
        assert_eq!((m.history.len(), m.redo.len()), (1, 0));
        assert!(m.log.last().unwrap().text.contains("EACCES"));
    }

    #[test]
    fn leaving_private_with_edits_asks_first() {
        let mut m = model(1, (120, 40));
        assert_eq!(
            only_exec(update(&mut m, Action::SwitchMode)).0,
            Op::Mode(MapMode::Private),
            "no edits: no question"
        );
        m.snap.mode = MapMode::Private;
        apply_outcome(&mut m, &wrote(0, &[0], &[1]), History::Record);
        assert!(update(&mut m, Action::SwitchMode).is_empty());
        assert!(matches!(m.overlay, Overlay::Confirm { .. }));
        assert!(update(&mut m, Action::Confirm(Some(false))).is_empty());
        assert_eq!(m.overlay, Overlay::None);
        update(&mut m, Action::SwitchMode);
        assert_eq!(
            only_exec(update(&mut m, Action::Confirm(Some(true)))).0,
            Op::Mode(MapMode::Shared)
        );
        // Quitting asks too; QuitNow does not.
        update(&mut m, Action::Quit);
        assert!(!m.quit && matches!(m.overlay, Overlay::Confirm { .. }));
        update(&mut m, Action::Confirm(Some(true)));
        assert!(m.quit);
    }

    /// An msync of page `first` that cleaned it.
    fn msynced(first: u64) -> Outcome {
        Outcome {
            op: Op::Msync(SyncKind::Sync, Scope::Page(first)),
            result: Ok(Done::Synced {
                kind: SyncKind::Sync,
                first,
                count: 1,
                dirty_before: Some(1),
                dirty_after: Some(0),
            }),
            ..wrote(0, &[], &[])
        }
    }

    #[test]
    fn msync_clears_the_edit_marks_it_covers() {
        let mut m = model(2, (120, 40));
        apply_outcome(&mut m, &wrote(5, &[0], &[1]), History::Record);
        apply_outcome(&mut m, &wrote(PS + 5, &[0], &[1]), History::Record);
        let synced = msynced(0);
        apply_outcome(&mut m, &synced, History::Record);
        assert!(!m.edited(5) && m.edited(PS + 5));
    }

    #[test]
    fn a_refusal_by_the_memory_bound_asks_to_force_and_no_is_the_default() {
        let mut m = model(4, (80, 24));
        let op = Op::Lock(Scope::All);
        let refused = |e: crate::sys::SysError| Outcome {
            op: op.clone(),
            result: Err(e),
            ..wrote(0, &[], &[])
        };
        // The kernel's refusal (or an rlimit's) asks nothing: forcing would not help.
        let kernel = crate::sys::SysError::new(libc::ENOMEM, "mlock [all]", "RLIMIT_MEMLOCK");
        apply_outcome(&mut m, &refused(kernel), History::Record);
        assert_eq!(m.overlay, Overlay::None);
        let bound = crate::sys::SysError::forcible(
            libc::ENOMEM,
            "mlock [all]",
            "it would lock 8 GiB at once, more than a quarter of MemAvailable (20 GiB now in \
             /proc/meminfo; a quarter is 5 GiB): that could starve the whole machine; to do it \
             anyway, write `force lock all`",
        );
        apply_outcome(&mut m, &refused(bound.clone()), History::Record);
        let Overlay::Confirm {
            question,
            default_yes,
            ..
        } = &m.overlay
        else {
            panic!("no question: {:?}", m.overlay);
        };
        assert!(!default_yes);
        assert!(question.contains("a quarter is 5 GiB"), "{question}");
        assert!(question.ends_with("Do it anyway? y/N"), "{question}");
        assert!(!question.contains("force lock all"), "{question}");
        // Enter: no, nothing runs.
        assert!(update(&mut m, Action::Confirm(None)).is_empty());
        assert_eq!(m.overlay, Overlay::None);
        // y: the same call, forced.
        apply_outcome(&mut m, &refused(bound), History::Record);
        let cmds = update(&mut m, Action::Confirm(Some(true)));
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert!(matches!(cmds[0], Command::Force));
        assert_eq!(only_exec(cmds[1..].to_vec()), (op, History::Record));
    }

    #[test]
    fn what_we_change_is_probed_first_by_the_minimap() {
        // 4 GiB: 1024 chunks of 1024 pages.
        let mut m = model(1 << 20, (120, 40));
        let changed = |m: &Model| -> Vec<usize> {
            let states = m.minimap.chunks.iter().enumerate();
            states.filter(|(_, c)| c.changed).map(|(i, _)| i).collect()
        };
        assert!(changed(&m).is_empty());
        // A write in the middle of chunk 300 marks it alone (its folio is inside it).
        apply_outcome(
            &mut m,
            &wrote(300 * 1024 * PS + 512 * PS, &[0], &[1]),
            History::Record,
        );
        assert_eq!(changed(&m), [300]);
        assert_eq!(m.view().minimap.order[0], 300);
        // A refused call changed nothing.
        let refused = Outcome {
            result: Err(crate::sys::SysError::new(
                libc::EACCES,
                "write",
                "read-only",
            )),
            ..wrote(0, &[0], &[1])
        };
        apply_outcome(&mut m, &refused, History::Record);
        assert_eq!(changed(&m), [300]);
        // msync of page 5000: its chunk 4, which holds the whole 2 MiB around it.
        let synced = msynced(5000);
        apply_outcome(&mut m, &synced, History::Record);
        assert_eq!(changed(&m), [4, 300]);
        // A remap (or `r`) changes what every chunk may say.
        let remapped = Outcome {
            op: Op::Mode(MapMode::Private),
            result: Ok(Done::Remapped {
                old_addr: 0,
                new_addr: 0,
                mode: MapMode::Private,
            }),
            ..wrote(0, &[], &[])
        };
        apply_outcome(&mut m, &remapped, History::Record);
        assert_eq!(changed(&m).len(), 1024);
    }

    #[test]
    fn the_minimap_forgets_what_it_knew_when_another_vma_is_shown() {
        use crate::sys::probe::chunks::{Bucket, ChunkSlice};
        let mut m = model(16, (120, 40));
        let known = |m: &Model| {
            m.minimap
                .chunks
                .iter()
                .filter(|c| c.bucket.is_some())
                .count()
        };
        let probed = (0..16)
            .map(|first| {
                let b = Bucket {
                    first,
                    pages: 1,
                    ..Bucket::default()
                };
                (first, b)
            })
            .collect();
        let slice = ChunkSlice {
            layout: m.minimap.layout,
            probed,
        };
        m.minimap.merge(&slice, 0);
        assert_eq!(known(&m), 16);
        let heap = Looking {
            pid: 1,
            process: "pid 1 mmapscope".into(),
            other: false,
            vma: "[heap]".into(),
            via: "/proc/PID/mem".into(),
            start: 0x1000,
            back: true,
            ended: None,
            reopen: false,
        };
        update(&mut m, Action::Looking(Some(heap.clone())));
        assert_eq!(
            known(&m),
            0,
            "the heap is another VMA, even of the same length"
        );
        m.minimap.merge(&slice, 0);
        // The same VMA followed (it ended): still what it was.
        let ended = Looking {
            ended: Some("the VMA was unmapped".into()),
            ..heap
        };
        update(&mut m, Action::Looking(Some(ended)));
        assert_eq!(known(&m), 16);
        update(&mut m, Action::Looking(None));
        assert_eq!(known(&m), 0, "back to our mapping");
    }

    #[test]
    fn menus_build_the_call_with_its_scope() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Goto(GotoTarget::Page(2)));
        update(&mut m, Action::OpenMenu(MenuKind::Msync));
        update(&mut m, Action::Menu(MenuKey::Down));
        let (op, _) = only_exec(update(&mut m, Action::Menu(MenuKey::Choose)));
        assert_eq!(op, Op::Msync(SyncKind::Async, Scope::All));
        update(&mut m, Action::OpenMenu(MenuKind::Msync));
        update(&mut m, Action::Menu(MenuKey::ToggleScope));
        let (op, _) = only_exec(update(&mut m, Action::Menu(MenuKey::Number(3))));
        assert_eq!(op, Op::Msync(SyncKind::Invalidate, Scope::Page(2)));
        update(&mut m, Action::OpenMenu(MenuKind::Advise));
        let (op, _) = only_exec(update(&mut m, Action::Menu(MenuKey::Number(2))));
        assert_eq!(
            op,
            Op::Advise(crate::action::MAdvice::DontNeed, Scope::Page(2))
        );
        update(&mut m, Action::OpenMenu(MenuKind::Protect));
        update(&mut m, Action::Menu(MenuKey::Up));
        let (op, _) = only_exec(update(&mut m, Action::Menu(MenuKey::Choose)));
        assert_eq!(
            op,
            Op::Protect(crate::sys::map::request::Prot::parse("rwx").unwrap())
        );
        update(&mut m, Action::OpenMenu(MenuKind::Protect));
        assert!(update(&mut m, Action::Menu(MenuKey::Cancel)).is_empty());
        assert_eq!(m.overlay, Overlay::None);
        assert_eq!(
            only_exec(update(&mut m, Action::TouchCursor)).0,
            Op::Touch(2)
        );
    }

    fn typed(m: &mut Model, text: &str) -> Vec<Command> {
        for c in text.chars() {
            update(m, Action::Prompt(PromptEdit::Insert(c)));
        }
        update(m, Action::Prompt(PromptEdit::Submit))
    }

    #[test]
    fn f_forks_then_opens_the_childs_menu_until_it_exits() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Goto(GotoTarget::Offset(0x1010)));
        assert_eq!(only_exec(update(&mut m, Action::ForkKey)).0, Op::Fork);
        let forked = Outcome {
            op: Op::Fork,
            result: Ok(Done::Forked {
                pid: 77,
                present: Some(1),
                shared_with_child: Some(1),
            }),
            ..wrote(0, &[], &[])
        };
        apply_outcome(&mut m, &forked, History::Record);
        assert_eq!(m.child, Some(77));
        assert!(update(&mut m, Action::ForkKey).is_empty());
        assert!(matches!(
            m.overlay,
            Overlay::Menu {
                kind: MenuKind::Child,
                ..
            }
        ));
        assert_eq!(
            only_exec(update(&mut m, Action::Menu(MenuKey::Number(2)))).0,
            Op::ChildRead {
                offset: 0x1010,
                len: 16
            }
        );
        update(&mut m, Action::ForkKey);
        assert!(update(&mut m, Action::Menu(MenuKey::Number(1))).is_empty());
        assert_eq!(
            only_exec(typed(&mut m, "41 4243")).0,
            Op::ChildWrite {
                offset: 0x1010,
                bytes: vec![0x41, 0x42, 0x43]
            }
        );
        update(
            &mut m,
            Action::ChildEnded {
                pid: 77,
                how: "killed by SIGKILL".into(),
            },
        );
        assert_eq!(m.child, None);
        assert!(m.log.last().unwrap().text.contains("ended on its own"));
    }

    #[test]
    fn help_scrolls_no_further_than_its_last_line() {
        let mut m = model(4, (80, 24));
        update(&mut m, Action::ToggleHelp);
        let max = crate::layout::help_max_scroll(80, 24);
        assert!(max > 0, "the help is longer than 24 rows at 80 columns");
        for _ in 0..50 {
            update(&mut m, Action::ScrollHelp(20));
        }
        assert_eq!(m.help_scroll, max);
        update(&mut m, Action::ScrollHelp(-1));
        assert_eq!(
            m.help_scroll,
            max - 1,
            "one ↑ after PgDn at the end moves at once"
        );
    }

    #[test]
    fn goto_takes_the_coordinates_of_the_row_labels() {
        let mut m = model(4, (120, 40));
        m.snap.geometry.offset = 0x26000;
        update(&mut m, Action::GotoPrompt);
        typed(&mut m, "0x26010");
        assert_eq!(m.cursor, 0x10, "{:?}", m.log.last());
        assert!(
            m.log
                .last()
                .unwrap()
                .text
                .starts_with("goto offset 0x26010")
        );
        update(&mut m, Action::GotoPrompt);
        typed(&mut m, "0x10");
        assert_eq!(m.cursor, 0x10);
        let said = &m.log.last().unwrap().text;
        assert!(
            said.contains("0x10 is not in the mapping: its rows are file offsets 0x26000 to"),
            "{said}"
        );
        update(&mut m, Action::ToggleOffsets);
        update(&mut m, Action::GotoPrompt);
        let addr = format!("0x{:x}", m.snap.addr + 0x2001);
        typed(&mut m, &addr);
        assert_eq!(m.cursor, 0x2001);
        assert!(m.log.last().unwrap().text.starts_with("goto address 0x"));
        update(&mut m, Action::GotoPrompt);
        typed(&mut m, "0x26010");
        assert_eq!(m.cursor, 0x2001, "a file offset is not an address");
        assert!(
            m.log
                .last()
                .unwrap()
                .text
                .contains("v switches to file offsets")
        );
    }

    #[test]
    fn prompts_ask_for_arguments_and_keep_what_was_typed_when_it_is_wrong() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Goto(GotoTarget::Offset(0x20)));
        assert!(update(&mut m, Action::ExecCursor).is_empty());
        assert_eq!(
            only_exec(typed(&mut m, "1000 234")).0,
            Op::Exec {
                offset: 0x20,
                args: (1000, 234)
            }
        );
        update(&mut m, Action::ExecCursor);
        assert_eq!(
            only_exec(typed(&mut m, "")).0,
            Op::Exec {
                offset: 0x20,
                args: (0, 0)
            },
            "Enter alone: 0 0"
        );
        update(&mut m, Action::OpenAsk(Ask::Reshape));
        assert!(typed(&mut m, "lots").is_empty());
        assert!(matches!(m.overlay, Overlay::Ask { .. }), "the prompt stays");
        assert!(m.log.last().unwrap().text.contains("mremap"));
        update(&mut m, Action::Prompt(PromptEdit::Cancel));
        update(&mut m, Action::OpenAsk(Ask::Reshape));
        assert_eq!(only_exec(typed(&mut m, "64k")).0, Op::Resize(64 << 10));
        update(&mut m, Action::OpenAsk(Ask::Reshape));
        assert_eq!(
            only_exec(typed(&mut m, "move 0x7f0000000000")).0,
            Op::Move(0x7f00_0000_0000)
        );
    }

    #[test]
    fn lock_malloc_and_snippet_menus() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Goto(GotoTarget::Page(3)));
        update(&mut m, Action::OpenMenu(MenuKind::Advise));
        assert_eq!(
            only_exec(update(&mut m, Action::Menu(MenuKey::Number(8)))).0,
            Op::Advise(crate::action::MAdvice::HugePage, Scope::All),
            "huge-page advice covers the mapping, whatever the menu's scope"
        );
        update(&mut m, Action::OpenMenu(MenuKind::Lock));
        assert_eq!(
            only_exec(update(&mut m, Action::Menu(MenuKey::Choose))).0,
            Op::Lock(Scope::All)
        );
        update(&mut m, Action::OpenMenu(MenuKind::Lock));
        update(&mut m, Action::Menu(MenuKey::ToggleScope));
        assert_eq!(
            only_exec(update(&mut m, Action::Menu(MenuKey::Number(2)))).0,
            Op::Unlock(Scope::Page(3))
        );
        update(&mut m, Action::OpenMenu(MenuKind::Malloc));
        assert!(m.log.last().unwrap().text.contains("mmap threshold"));
        assert_eq!(
            only_exec(update(&mut m, Action::Menu(MenuKey::Number(5)))).0,
            Op::Alloc(64 << 20)
        );
        update(&mut m, Action::OpenMenu(MenuKind::Malloc));
        update(&mut m, Action::Menu(MenuKey::Number(1)));
        assert_eq!(only_exec(typed(&mut m, "200k")).0, Op::Alloc(200 << 10));
        update(&mut m, Action::OpenMenu(MenuKind::Malloc));
        assert_eq!(
            only_exec(update(&mut m, Action::Menu(MenuKey::Number(6)))).0,
            Op::Free
        );
        update(&mut m, Action::OpenMenu(MenuKind::Snippet));
        let cmds = update(&mut m, Action::Menu(MenuKey::Number(1)));
        if let Ok(bytes) = crate::sys::lab::experiments::snippet("ret42") {
            assert_eq!(
                only_exec(cmds).0,
                Op::Write {
                    offset: 3 * PS,
                    bytes: bytes.to_vec()
                }
            );
        }
    }

    /// A probe of `m`'s mapping with `bytes` from offset 0 and the file `size`.
    fn probed(m: &mut Model, bytes: &[u8], size: Option<u64>, now_ms: u64) {
        let mut snap = m.snap.clone();
        snap.bytes = crate::sys::probe::snapshot::ViewBytes {
            start: 0,
            data: bytes.iter().map(|b| Some(*b)).collect(),
            unread: Vec::new(),
        };
        snap.geometry.file_size = size;
        update(
            m,
            Action::Probed {
                snap: Box::new(snap),
                now_ms,
                clock: "00:00:01".into(),
                fresh: false,
            },
        );
    }

    fn outcome(op: Op, done: Done) -> Outcome {
        Outcome {
            op,
            result: Ok(done),
            elapsed: std::time::Duration::from_micros(5),
            faults: (0, 0),
            smaps_delta: Vec::new(),
            call: "call".into(),
            notes: Vec::new(),
        }
    }

    fn file_model(pages: u64, size: u64) -> Model {
        let mut m = model(pages, (80, 24));
        m.snap.backing = Backing::File {
            path: "/tmp/demo.txt".into(),
            writable: true,
            regular: true,
        };
        m.snap.mode = MapMode::Private;
        m.snap.geometry.file_size = Some(size);
        m
    }

    fn logged(m: &Model) -> Vec<&str> {
        m.log.iter().map(|l| l.text.as_str()).collect()
    }

    /// The private lesson's DONTNEED: HELLO at 0x1004 turns back into the file's demo. Our own
    /// call changed those bytes, not another process.
    #[test]
    fn bytes_our_dontneed_brought_back_are_not_another_process_s() {
        let mut m = file_model(4, 12388);
        let mut page = vec![0u8; 3 * PS as usize];
        page[0x1004..0x1009].copy_from_slice(b"HELLO");
        probed(&mut m, &page, Some(12388), 10);
        let advised = Done::Advised {
            first: 1,
            count: 1,
            resident_before: Some(1),
            resident_after: Some(1),
            copies_before: Some(1),
            copies_after: Some(0),
        };
        let op = Op::Advise(
            crate::action::MAdvice::DontNeed,
            crate::sys::ops::op::Scope::Page(1),
        );
        apply_outcome(&mut m, &outcome(op, advised), History::Record);
        page[0x1004..0x1009].copy_from_slice(b"demo ");
        probed(&mut m, &page, Some(12388), 20);
        assert!(m.foreign.is_empty(), "{:?}", m.foreign);
        assert!(
            !logged(&m).iter().any(|l| l.contains("another process")),
            "{:?}",
            logged(&m)
        );
        // The same change with no call of ours is another process's.
        page[0x1004..0x1009].copy_from_slice(b"HELLO");
        probed(&mut m, &page, Some(12388), 30);
        assert_eq!(m.foreign.len(), 5);
        assert!(
            logged(&m)
                .last()
                .unwrap()
                .starts_with("5 bytes on screen changed by another")
        );
    }

    /// Our truncate to 0 and back zeroes the file's bytes; its own log line says so, and the
    /// next probe neither blames another process nor says the growth a second time.
    #[test]
    fn bytes_and_size_our_truncate_changed_are_ours() {
        let mut m = file_model(4, 12388);
        probed(&mut m, &[b'x'; 100], Some(12388), 10);
        let done = Done::Truncated {
            old_size: 12388,
            new_size: 20000,
        };
        apply_outcome(&mut m, &outcome(Op::Truncate(20000), done), History::Record);
        let before = m.log.len();
        probed(&mut m, &[0; 100], Some(20000), 20);
        assert_eq!(m.log.len(), before, "{:?}", logged(&m));
        assert!(m.foreign.is_empty());
    }

    /// Exploring a VMA of our own process (ld.so) and coming back: another mapping, not a
    /// file that grew or shrank.
    #[test]
    fn exploring_another_vma_and_back_compares_no_sizes() {
        let mut m = file_model(4, 12388);
        probed(&mut m, b"demo", Some(12388), 10);
        let looking = Looking {
            pid: 1,
            process: "pid 1 mmapscope".into(),
            other: false,
            vma: "/usr/lib/ld-linux-x86-64.so.2".into(),
            via: "process_vm_readv".into(),
            start: 0x7f00_1000_0000,
            back: true,
            ended: None,
            reopen: false,
        };
        update(&mut m, Action::Looking(Some(looking)));
        let mut ld = m.snap.clone();
        ld.addr = 0x7f00_1000_0000;
        ld.backing = Backing::File {
            path: "/usr/lib/ld-linux-x86-64.so.2".into(),
            writable: false,
            regular: true,
        };
        ld.geometry.file_size = Some(215_000);
        let demo = m.snap.clone();
        for snap in [ld, demo] {
            update(
                &mut m,
                Action::Probed {
                    snap: Box::new(snap),
                    now_ms: 20,
                    clock: "00:00:02".into(),
                    fresh: false,
                },
            );
        }
        update(&mut m, Action::Looking(None));
        let log = logged(&m);
        assert!(
            !log.iter()
                .any(|l| l.contains("grew") || l.contains("shrank")),
            "{log:?}"
        );
    }

    /// A file another process appended to: the grid shows its bytes, so the log does not
    /// call them a hole; zeros are said to be zeros; bytes not read are not described.
    #[test]
    fn growth_by_another_process_is_told_by_the_bytes() {
        let mut m = file_model(4, 100);
        let mut bytes = vec![0u8; 2 * PS as usize];
        probed(&mut m, &bytes, Some(100), 10);
        bytes[5000] = b'S';
        probed(&mut m, &bytes, Some(6000), 20);
        let last = logged(&m).last().unwrap().to_string();
        assert!(
            last.starts_with("the file grew under the mapping: 100 B -> 6,000 B"),
            "{last}"
        );
        assert!(last.contains("hold data another process wrote"), "{last}");
        assert!(!last.contains("a hole that"), "{last}");
        probed(&mut m, &bytes, Some(7000), 30);
        let last = logged(&m).last().unwrap().to_string();
        assert!(
            last.contains("read as zeros (a hole, or zeros written"),
            "{last}"
        );
        probed(&mut m, &bytes[..10], Some(9000), 40);
        let last = logged(&m).last().unwrap().to_string();
        assert!(last.ends_with("9,000 B; page 2 now holds data"), "{last}");
        assert_eq!(last.matches("grew").count(), 1, "said once: {last}");
    }
}
