//! The keys that start an experiment at the cursor: touch the page, call code in a child (a
//! prompt asks for its arguments), fork a child that keeps the mapping (or open its menu while
//! it does), start or stop the peer.

use crate::action::{Action, AskAction, Command, LabAction, Op};
use crate::model::{Ask, MenuKind, Model};

use super::ask::ask_for;
use super::edit::do_op;

/// Routes a lab key.
pub(super) fn update(model: &mut Model, action: LabAction) -> Vec<Command> {
    let op = match action {
        LabAction::Exec => {
            let offset = model.doc.cursor;
            return ask_for(model, Ask::ExecArgs { offset });
        }
        LabAction::Fork if model.lab.child.is_some() => {
            return super::update(model, Action::Ask(AskAction::OpenMenu(MenuKind::Child)));
        }
        LabAction::Fork => Op::Fork,
        LabAction::Peer if model.lab.peer_running => Op::PeerStop,
        LabAction::Peer => Op::PeerStart(Some(model.doc.cursor)),
        LabAction::Touch => Op::Touch(model.doc.cursor / model.page_size()),
    };
    do_op(model, op)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn f_forks_then_opens_the_childs_menu_until_it_exits() {
        let mut m = model(4, (120, 40));
        update(
            &mut m,
            Action::Grid(GridAction::Goto(GotoTarget::Offset(0x1010))),
        );
        assert_eq!(
            only_exec(update(&mut m, Action::Lab(LabAction::Fork))).0,
            Op::Fork
        );
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
        assert_eq!(m.lab.child, Some(77));
        assert!(update(&mut m, Action::Lab(LabAction::Fork)).is_empty());
        assert!(matches!(
            m.screen.overlay,
            Overlay::Menu {
                kind: MenuKind::Child,
                ..
            }
        ));
        assert_eq!(
            only_exec(update(
                &mut m,
                Action::Ask(AskAction::Menu(MenuKey::Number(2)))
            ))
            .0,
            Op::ChildRead {
                offset: 0x1010,
                len: 16
            }
        );
        update(&mut m, Action::Lab(LabAction::Fork));
        assert!(update(&mut m, Action::Ask(AskAction::Menu(MenuKey::Number(1)))).is_empty());
        assert_eq!(
            only_exec(typed(&mut m, "41 4243")).0,
            Op::ChildWrite {
                offset: 0x1010,
                bytes: vec![0x41, 0x42, 0x43]
            }
        );
        update(
            &mut m,
            Event::ChildEnded {
                pid: 77,
                how: "killed by SIGKILL".into(),
            },
        );
        assert_eq!(m.lab.child, None);
        assert!(last_log(&m).contains("ended on its own"));
    }
}
