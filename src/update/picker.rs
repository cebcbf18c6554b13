//! The process picker's keys: typing narrows the list, arrows move the selection, Tab switches
//! the order, Enter chooses, Esc gives up. Pure, like the rest of `update`: the loop in `app`
//! reads /proc and the terminal.

use crate::action::PickerAction;
use crate::model::{Picked, Picker};

/// The longest filter kept: it is echoed on screen, and no process line is longer.
const FILTER_MAX: usize = 200;

/// Applies one key of the picker.
pub fn update(p: &mut Picker, action: PickerAction) {
    match action {
        PickerAction::Type(c) => {
            if !c.is_control() && p.filter.chars().count() < FILTER_MAX {
                p.filter.push(c);
                p.selected = 0;
            }
        }
        PickerAction::Erase => {
            p.filter.pop();
            p.selected = 0;
        }
        PickerAction::Move(by) => {
            let last = p.shown().len().saturating_sub(1) as i64;
            let at = i64::try_from(p.selected).unwrap_or(i64::MAX);
            p.selected = usize::try_from(at.saturating_add(by).clamp(0, last)).unwrap_or(0);
        }
        PickerAction::ToggleSort => {
            let pid = p.selection().map(|n| n.pid);
            p.by_pid = !p.by_pid;
            p.selected = pid
                .and_then(|pid| p.shown().iter().position(|n| n.pid == pid))
                .unwrap_or(0);
        }
        PickerAction::Choose => {
            if let Some(n) = p.selection() {
                p.chosen = Some(Picked::Pid(n.pid));
            }
        }
        PickerAction::Cancel => p.chosen = Some(Picked::Nothing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::proc::named::Named;

    fn proc(pid: u32, cmdline: &str, rss: u64) -> Named {
        Named {
            pid,
            user: "root".into(),
            cmdline: cmdline.into(),
            rss,
        }
    }

    fn picker() -> Picker {
        Picker::new(
            vec![
                proc(10, "sleep 100", 1 << 20),
                proc(20, "python3 -c pass", 9 << 20),
                proc(30, "sleep 200", 2 << 20),
            ],
            "",
            None,
        )
    }

    fn pids(p: &Picker) -> Vec<u32> {
        p.shown().iter().map(|n| n.pid).collect()
    }

    #[test]
    fn the_list_is_by_rss_largest_first_and_tab_orders_it_by_pid() {
        let mut p = picker();
        assert_eq!(pids(&p), [20, 30, 10]);
        update(&mut p, PickerAction::Move(1));
        assert_eq!(p.selection().map(|n| n.pid), Some(30));
        update(&mut p, PickerAction::ToggleSort);
        assert_eq!(pids(&p), [10, 20, 30]);
        // The selection stays on the process it was on.
        assert_eq!(p.selection().map(|n| n.pid), Some(30));
    }

    #[test]
    fn typing_filters_on_every_word_and_backspace_widens_again() {
        let mut p = picker();
        for c in "SLEEP 2".chars() {
            update(&mut p, PickerAction::Type(c));
        }
        assert_eq!(pids(&p), [30]);
        update(&mut p, PickerAction::Erase);
        update(&mut p, PickerAction::Erase);
        assert_eq!(pids(&p), [30, 10]);
        // A pid matches too.
        p.filter = "20".into();
        assert_eq!(pids(&p), [20, 30]);
    }

    #[test]
    fn enter_chooses_the_selection_and_nothing_when_the_filter_keeps_none() {
        let mut p = picker();
        update(&mut p, PickerAction::Move(i64::MAX));
        assert_eq!(p.selected, 2);
        update(&mut p, PickerAction::Move(i64::MIN));
        assert_eq!(p.selected, 0);
        update(&mut p, PickerAction::Choose);
        assert_eq!(p.chosen, Some(Picked::Pid(20)));
        let mut none = picker();
        none.filter = "no such".into();
        update(&mut none, PickerAction::Choose);
        assert_eq!(none.chosen, None);
        update(&mut none, PickerAction::Cancel);
        assert_eq!(none.chosen, Some(Picked::Nothing));
    }

    #[test]
    fn a_new_reading_keeps_the_selection_on_its_process() {
        let mut p = picker();
        update(&mut p, PickerAction::Move(1));
        let mut again = p.all.clone();
        again[1].rss = 0;
        p.replace(again);
        assert_eq!(pids(&p), [30, 10, 20]);
        assert_eq!(p.selection().map(|n| n.pid), Some(30));
    }
}
