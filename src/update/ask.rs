//! Questions, menus and prompts before an operation: quitting or remapping (asking first when
//! edits would be lost), the menus of calls, the write gate's questions and their answers, an
//! operation's one-line prompt.

use crate::action::{
    Action, Ask, AskAction, Command, History, MenuChoice, MenuKey, MenuKind, Op, PromptEdit, Scope,
    menu_items,
};
use crate::model::{Model, Overlay, Then};
use crate::sys::map::request::MapMode;

use super::edit::edit_write;
use super::grid::PROMPT_MAX;

/// Routes a question or a menu: quitting or remapping (asking first when edits would be
/// lost), the menus of calls, the answers, a forced operation, an operation's prompt.
pub(super) fn update(model: &mut Model, action: AskAction) -> Vec<Command> {
    match action {
        AskAction::Quit if model.private_edits() > 0 => {
            model.screen.overlay = Overlay::Confirm {
                question: format!(
                    "Quit? {} byte(s) you wrote in private copy-on-write pages will be lost: \
                     MAP_PRIVATE writes never reach the file.",
                    model.private_edits()
                ),
                default_yes: true,
                then: Box::new(Then::Quit),
            };
        }
        AskAction::Quit | AskAction::QuitNow => model.screen.quit = true,
        AskAction::SwitchMode => return switch_mode(model),
        AskAction::OpenMenu(kind) => open_menu(model, kind),
        AskAction::Menu(key) => return menu(model, key),
        AskAction::Confirmed {
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
        AskAction::Confirm(answer) => {
            if let Overlay::Confirm {
                then, default_yes, ..
            } = std::mem::take(&mut model.screen.overlay)
            {
                if answer.unwrap_or(default_yes) {
                    return super::update(model, confirmed(*then));
                }
                model.log("cancelled");
            }
        }
        AskAction::ForceThen(op) => {
            let mut cmds = vec![Command::Force];
            cmds.extend(super::update(model, Action::Do(*op)));
            return cmds;
        }
        AskAction::OpenAsk(ask) => return ask_for(model, ask),
    }
    Vec::new()
}

/// `m`: remap the other way, asking first when private edits would be lost.
fn switch_mode(model: &mut Model) -> Vec<Command> {
    let target = match model.snap.shape.mode {
        MapMode::Shared => MapMode::Private,
        MapMode::Private => MapMode::Shared,
    };
    let lost = model.private_edits();
    if lost == 0 {
        return super::update(model, Action::Do(Op::Mode(target)));
    }
    model.screen.overlay = Overlay::Confirm {
        question: format!(
            "Remap {}? {lost} byte(s) you wrote will be lost: they live only in this \
             mapping's copy-on-write pages.",
            target.flag_name()
        ),
        default_yes: true,
        then: Box::new(Then::Do(Op::Mode(target))),
    };
    Vec::new()
}

/// Opens the menu `kind` (the malloc menu says what is known of glibc's threshold).
fn open_menu(model: &mut Model, kind: MenuKind) {
    model.screen.overlay = Overlay::Menu {
        kind,
        selected: 0,
        all: !matches!(kind, MenuKind::Advise),
    };
    if kind == MenuKind::Malloc {
        let seen = model
            .lab
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

/// The write gate asks: a question whose default is no, and what a yes does.
pub(super) fn question(model: &mut Model, question: String, then: Then) {
    model.screen.overlay = Overlay::Confirm {
        question,
        default_yes: false,
        then: Box::new(then),
    };
}

/// What a yes to a question carries out, as the action that does it.
fn confirmed(then: Then) -> Action {
    match then {
        Then::Quit => Action::Ask(AskAction::QuitNow),
        Then::Do(op) => Action::Do(op),
        Then::Force(op) => Action::Ask(AskAction::ForceThen(Box::new(op))),
        Then::Confirmed {
            op,
            history,
            protect_first,
        } => Action::Ask(AskAction::Confirmed {
            op,
            history,
            protect_first,
        }),
    }
}

fn menu(model: &mut Model, key: MenuKey) -> Vec<Command> {
    let Overlay::Menu {
        kind,
        selected,
        all,
    } = &mut model.screen.overlay
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
            model.screen.overlay = Overlay::None;
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
        Scope::Page(model.doc.cursor / model.page_size())
    };
    model.screen.overlay = Overlay::None;
    let op = match choice {
        MenuChoice::Msync(k) => Op::Msync(k, scope),
        MenuChoice::Protect(p) => Op::Protect(p),
        MenuChoice::Advise(a) if choice.scoped() => Op::Advise(a, scope),
        MenuChoice::Advise(a) => Op::Advise(a, Scope::All),
        MenuChoice::Fadvise(a) => Op::Fadvise(a),
        MenuChoice::Lock(true) => Op::Lock(scope),
        MenuChoice::Lock(false) => Op::Unlock(scope),
        MenuChoice::ChildRead => Op::ChildRead {
            offset: model.doc.cursor,
            len: 16.min(model.max_cursor() + 1 - model.doc.cursor),
        },
        MenuChoice::ChildExit => Op::ChildExit,
        MenuChoice::Alloc(Some(n)) => Op::Alloc(n),
        MenuChoice::Free => Op::Free,
        MenuChoice::ChildWrite => {
            let offset = model.doc.cursor;
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
    super::update(model, Action::Do(op))
}

/// Opens the one-line prompt `ask`.
pub(super) fn ask_for(model: &mut Model, ask: Ask) -> Vec<Command> {
    model.screen.overlay = Overlay::Ask {
        ask,
        text: String::new(),
    };
    Vec::new()
}

/// A key in an operation's prompt: typing, or on Enter the operation it asks for (an error
/// in what was typed is logged and the prompt stays).
pub(super) fn ask_prompt(model: &mut Model, edit: PromptEdit) -> Vec<Command> {
    let Overlay::Ask { ask, text } = &mut model.screen.overlay else {
        return Vec::new();
    };
    match edit {
        // A dump's prompt holds a path.
        PromptEdit::Insert(c)
            if text.chars().count()
                < if matches!(ask, Ask::Dump | Ask::Export) {
                    160
                } else {
                    PROMPT_MAX
                }
                && !c.is_control() =>
        {
            text.push(c);
        }
        PromptEdit::Insert(_) => {}
        PromptEdit::Backspace => {
            text.pop();
        }
        PromptEdit::Cancel => model.screen.overlay = Overlay::None,
        PromptEdit::Submit => match ask.parse(text) {
            Ok(op) => {
                model.screen.overlay = Overlay::None;
                return super::update(model, Action::Do(op));
            }
            Err(msg) => {
                let msg = format!("{}{}", ask.title(), crate::text::sanitize(&msg));
                model.log(msg);
            }
        },
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn a_typed_write_goes_to_the_gate_whose_question_enter_declines() {
        let mut m = model(1, (120, 40));
        m.snap.shape.backing = Backing::File {
            path: "/tmp/x".into(),
            writable: true,
            regular: true,
        };
        m.snap.shape.prot = Prot::R;
        m.snap.write_allowed = false;
        update(&mut m, Action::Edit(EditAction::Start));
        assert!(last_log(&m).contains("asks"));
        update(&mut m, Action::Edit(EditAction::Nibble(4)));
        // The write is a command like any other: the session's gate decides (sys::ops::gate).
        let cmds = update(&mut m, Action::Edit(EditAction::Nibble(1)));
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
        let confirmed = crate::model::Then::Confirmed {
            op: write.clone(),
            history: History::Record,
            protect_first: Some(Prot::RW),
        };
        let ask = Event::Question {
            question: "writes /tmp/x: allow? y/N".into(),
            then: confirmed,
        };
        assert!(update(&mut m, ask.clone()).is_empty());
        assert!(matches!(
            &m.screen.overlay,
            Overlay::Confirm {
                default_yes: false,
                question,
                ..
            } if question.contains("/tmp/x")
        ));
        assert!(
            update(&mut m, Action::Ask(AskAction::Confirm(None))).is_empty(),
            "Enter: no"
        );
        assert_eq!(m.screen.overlay, Overlay::None);
        update(&mut m, ask);
        let cmds = update(&mut m, Action::Ask(AskAction::Confirm(Some(true))));
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
    fn leaving_private_with_edits_asks_first() {
        let mut m = model(1, (120, 40));
        assert_eq!(
            only_exec(update(&mut m, Action::Ask(AskAction::SwitchMode))).0,
            Op::Mode(MapMode::Private),
            "no edits: no question"
        );
        m.snap.shape.mode = MapMode::Private;
        apply_outcome(&mut m, &wrote(0, &[0], &[1]), History::Record);
        assert!(update(&mut m, Action::Ask(AskAction::SwitchMode)).is_empty());
        assert!(matches!(m.screen.overlay, Overlay::Confirm { .. }));
        assert!(update(&mut m, Action::Ask(AskAction::Confirm(Some(false)))).is_empty());
        assert_eq!(m.screen.overlay, Overlay::None);
        update(&mut m, Action::Ask(AskAction::SwitchMode));
        assert_eq!(
            only_exec(update(&mut m, Action::Ask(AskAction::Confirm(Some(true))))).0,
            Op::Mode(MapMode::Shared)
        );
        // Quitting asks too; QuitNow does not.
        update(&mut m, Action::Ask(AskAction::Quit));
        assert!(!m.screen.quit && matches!(m.screen.overlay, Overlay::Confirm { .. }));
        update(&mut m, Action::Ask(AskAction::Confirm(Some(true))));
        assert!(m.screen.quit);
    }

    #[test]
    fn a_refusal_by_the_memory_bound_asks_to_force_and_no_is_the_default() {
        let mut m = model(4, (80, 24));
        let op = Op::Lock(Scope::All);
        let refused = |e: crate::sys::error::SysError| Outcome {
            op: op.clone(),
            result: Err(e),
            ..wrote(0, &[], &[])
        };
        // The kernel's refusal (or an rlimit's) asks nothing: forcing would not help.
        let kernel =
            crate::sys::error::SysError::new(libc::ENOMEM, "mlock [all]", "RLIMIT_MEMLOCK");
        apply_outcome(&mut m, &refused(kernel), History::Record);
        assert_eq!(m.screen.overlay, Overlay::None);
        let bound = crate::sys::error::SysError::forcible(
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
        } = &m.screen.overlay
        else {
            panic!("no question: {:?}", m.screen.overlay);
        };
        assert!(!default_yes);
        assert!(question.contains("a quarter is 5 GiB"), "{question}");
        assert!(question.ends_with("Do it anyway? y/N"), "{question}");
        assert!(!question.contains("force lock all"), "{question}");
        // Enter: no, nothing runs.
        assert!(update(&mut m, Action::Ask(AskAction::Confirm(None))).is_empty());
        assert_eq!(m.screen.overlay, Overlay::None);
        // y: the same call, forced.
        apply_outcome(&mut m, &refused(bound), History::Record);
        let cmds = update(&mut m, Action::Ask(AskAction::Confirm(Some(true))));
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert!(matches!(cmds[0], Command::Force));
        assert_eq!(only_exec(cmds[1..].to_vec()), (op, History::Record));
    }

    #[test]
    fn menus_build_the_call_with_its_scope() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Grid(GridAction::Goto(GotoTarget::Page(2))));
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Msync)));
        update(&mut m, Action::Ask(AskAction::Menu(MenuKey::Down)));
        let (op, _) = only_exec(update(
            &mut m,
            Action::Ask(AskAction::Menu(MenuKey::Choose)),
        ));
        assert_eq!(op, Op::Msync(SyncKind::Async, Scope::All));
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Msync)));
        update(&mut m, Action::Ask(AskAction::Menu(MenuKey::ToggleScope)));
        let (op, _) = only_exec(update(
            &mut m,
            Action::Ask(AskAction::Menu(MenuKey::Number(3))),
        ));
        assert_eq!(op, Op::Msync(SyncKind::Invalidate, Scope::Page(2)));
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Advise)));
        let (op, _) = only_exec(update(
            &mut m,
            Action::Ask(AskAction::Menu(MenuKey::Number(2))),
        ));
        assert_eq!(
            op,
            Op::Advise(crate::action::MAdvice::DontNeed, Scope::Page(2))
        );
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Protect)));
        update(&mut m, Action::Ask(AskAction::Menu(MenuKey::Up)));
        let (op, _) = only_exec(update(
            &mut m,
            Action::Ask(AskAction::Menu(MenuKey::Choose)),
        ));
        assert_eq!(
            op,
            Op::Protect(crate::sys::map::request::Prot::parse("rwx").unwrap())
        );
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Protect)));
        assert!(update(&mut m, Action::Ask(AskAction::Menu(MenuKey::Cancel))).is_empty());
        assert_eq!(m.screen.overlay, Overlay::None);
        assert_eq!(
            only_exec(update(&mut m, Action::Lab(LabAction::Touch))).0,
            Op::Touch(2)
        );
    }

    #[test]
    fn prompts_ask_for_arguments_and_keep_what_was_typed_when_it_is_wrong() {
        let mut m = model(4, (120, 40));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Offset(0x20))),
        );
        assert!(update(&mut m, Action::Lab(LabAction::Exec)).is_empty());
        assert_eq!(
            only_exec(typed(&mut m, "1000 234")).0,
            Op::Exec {
                offset: 0x20,
                args: (1000, 234)
            }
        );
        update(&mut m, Action::Lab(LabAction::Exec));
        assert_eq!(
            only_exec(typed(&mut m, "")).0,
            Op::Exec {
                offset: 0x20,
                args: (0, 0)
            },
            "Enter alone: 0 0"
        );
        update(&mut m, Action::Ask(AskAction::OpenAsk(Ask::Reshape)));
        assert!(typed(&mut m, "lots").is_empty());
        assert!(
            matches!(m.screen.overlay, Overlay::Ask { .. }),
            "the prompt stays"
        );
        assert!(last_log(&m).contains("mremap"));
        update(&mut m, Action::Grid(GridAction::Prompt(PromptEdit::Cancel)));
        update(&mut m, Action::Ask(AskAction::OpenAsk(Ask::Reshape)));
        assert_eq!(only_exec(typed(&mut m, "64k")).0, Op::Resize(64 << 10));
        update(&mut m, Action::Ask(AskAction::OpenAsk(Ask::Reshape)));
        assert_eq!(
            only_exec(typed(&mut m, "move 0x7f0000000000")).0,
            Op::Move(0x7f00_0000_0000)
        );
    }

    #[test]
    fn lock_malloc_and_snippet_menus() {
        let mut m = model(4, (120, 40));
        update(&mut m, Action::Grid(GridAction::Goto(GotoTarget::Page(3))));
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Advise)));
        assert_eq!(
            only_exec(update(
                &mut m,
                Action::Ask(AskAction::Menu(MenuKey::Number(8)))
            ))
            .0,
            Op::Advise(crate::action::MAdvice::HugePage, Scope::All),
            "huge-page advice covers the mapping, whatever the menu's scope"
        );
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Lock)));
        assert_eq!(
            only_exec(update(
                &mut m,
                Action::Ask(AskAction::Menu(MenuKey::Choose))
            ))
            .0,
            Op::Lock(Scope::All)
        );
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Lock)));
        update(&mut m, Action::Ask(AskAction::Menu(MenuKey::ToggleScope)));
        assert_eq!(
            only_exec(update(
                &mut m,
                Action::Ask(AskAction::Menu(MenuKey::Number(2)))
            ))
            .0,
            Op::Unlock(Scope::Page(3))
        );
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Malloc)));
        assert!(last_log(&m).contains("mmap threshold"));
        assert_eq!(
            only_exec(update(
                &mut m,
                Action::Ask(AskAction::Menu(MenuKey::Number(5)))
            ))
            .0,
            Op::Alloc(64 << 20)
        );
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Malloc)));
        update(&mut m, Action::Ask(AskAction::Menu(MenuKey::Number(1))));
        assert_eq!(only_exec(typed(&mut m, "200k")).0, Op::Alloc(200 << 10));
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Malloc)));
        assert_eq!(
            only_exec(update(
                &mut m,
                Action::Ask(AskAction::Menu(MenuKey::Number(6)))
            ))
            .0,
            Op::Free
        );
        update(&mut m, Action::Ask(AskAction::OpenMenu(MenuKind::Snippet)));
        let cmds = update(&mut m, Action::Ask(AskAction::Menu(MenuKey::Number(1))));
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
}
