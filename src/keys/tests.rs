//! The key table's own checks: every context, one meaning a key, hints and help lines.

use super::*;

/// Every context a key can be read in.
pub(crate) const CONTEXTS: [KeyContext; 14] = [
    KeyContext::Picker,
    KeyContext::Space,
    KeyContext::SpaceFilter,
    KeyContext::PageMap,
    KeyContext::Grid,
    KeyContext::Lesson,
    KeyContext::Edit { text: false },
    KeyContext::Edit { text: true },
    KeyContext::Panel,
    KeyContext::Log,
    KeyContext::Help,
    KeyContext::Prompt,
    KeyContext::Menu,
    KeyContext::Confirm,
];

#[test]
fn every_manual_entry_names_a_key_of_the_help_once() {
    let help: Vec<&str> = help_lines().iter().map(|(k, _)| *k).collect();
    for (i, (keys, _)) in MANUAL.iter().enumerate() {
        assert!(help.contains(keys), "{keys} is not a help line: {help:?}");
        assert!(!MANUAL[..i].iter().any(|(k, _)| k == keys), "{keys} twice");
    }
    assert_eq!(manual_lines().len(), help.len());
}

#[test]
fn a_key_means_one_thing_in_a_context_but_where_a_lesson_takes_the_arrows() {
    let mut shadowed = Vec::new();
    for ctx in CONTEXTS {
        let mut seen: Vec<(Key, &Option<Action>)> = Vec::new();
        for b in tables(ctx).iter().flat_map(|t| t.iter()) {
            for k in b.keys {
                match seen.iter().find(|(s, _)| s == k) {
                    Some((_, first)) if *first != &b.action => shadowed.push((ctx, *k)),
                    Some(_) => {}
                    None => seen.push((*k, &b.action)),
                }
            }
        }
    }
    assert_eq!(
        shadowed,
        vec![
            (KeyContext::Lesson, Code(Left)),
            (KeyContext::Lesson, Code(Right)),
            // A lesson keeps `b` for its step back; the mark is `b` in the grid only.
            (KeyContext::Lesson, Code(Char('b'))),
            // A lesson keeps `n` for its next step; `N` still searches backward.
            (KeyContext::Lesson, Code(Char('n'))),
        ]
    );
}

#[test]
fn every_context_with_keys_to_tell_has_hints_and_the_help_has_every_grid_command() {
    for ctx in [
        KeyContext::Grid,
        KeyContext::Lesson,
        KeyContext::Edit { text: false },
        KeyContext::Panel,
        KeyContext::Log,
    ] {
        assert!(hints(ctx).len() >= 3, "{ctx:?}: {:?}", hints(ctx));
    }
    let help: Vec<&str> = help_lines().iter().map(|(k, _)| *k).collect();
    for b in GRID.iter().chain(COMMON).chain(COMMON_FIRST).chain(FIND) {
        if let Some(Key::Code(Char(c))) = b.keys.first() {
            assert!(
                help.iter()
                    .any(|h| *h == c.to_string()
                        || h.split([' ', '/']).any(|w| w == c.to_string())),
                "{c} is in the help: {help:?}"
            );
        }
    }
}
