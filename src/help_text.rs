//! The help overlay laid out: the key table (`keys`) and the page states' legend (`legend`)
//! wrapped to the screen, and how far it scrolls. Above the keys, so that `layout` (which the
//! model uses) needs nothing that names an `Action`.

use crate::layout::wrap;

/// Columns of the help overlay's keys column (with the space before it).
const HELP_KEY_COLS: usize = 18;

/// What a line of the help overlay is: a key and the start of its words, a continuation of
/// the words, the page states' heading, or the closing note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpLine {
    /// The keys (padded to their column, or alone when wider) and the first words.
    Key(String, String),
    Words(String),
    Heading(String),
    Note(String),
}

/// The help overlay laid out for a screen `cols` wide: its width (as wide as its longest line
/// needs, up to the screen) and its lines, every description wrapped inside it (under itself,
/// or under its keys when they are wider than their column or the overlay is too narrow).
/// The drawing and the scroll bound both come from here, so they cannot disagree.
pub fn help_text(cols: u16) -> (u16, Vec<HelpLine>) {
    let mut rows: Vec<(&str, &str)> = crate::keys::help_lines();
    let split = rows.len();
    rows.extend(crate::legend::help_lines());
    let longest = rows
        .iter()
        .map(|(_, what)| HELP_KEY_COLS + what.chars().count())
        .max()
        .unwrap_or(0);
    let width = u16::try_from(longest + 2).unwrap_or(u16::MAX).min(cols);
    let text_w = usize::from(width.saturating_sub(2));
    let indent = if text_w >= HELP_KEY_COLS + 20 {
        HELP_KEY_COLS
    } else {
        2
    };
    let mut lines = Vec::new();
    for (i, (keys, what)) in rows.iter().enumerate() {
        if i == split {
            let heading = "Page states: colour and word, or these letters";
            lines.extend(
                wrap(heading, text_w.max(1))
                    .into_iter()
                    .map(|(_, l)| HelpLine::Heading(l)),
            );
        }
        let key = format!(" {keys}");
        let mut words = wrap(what, text_w.saturating_sub(indent).max(1))
            .into_iter()
            .map(|(_, l)| l);
        if key.chars().count() < indent {
            let first = words.next().unwrap_or_default();
            lines.push(HelpLine::Key(format!("{key:<indent$}"), first));
        } else {
            lines.push(HelpLine::Key(key, String::new()));
        }
        lines.extend(words.map(|w| HelpLine::Words(format!("{:indent$}{w}", ""))));
    }
    for (_, l) in wrap(
        " edited bytes: bold, underlined · changed by another process: reversed",
        text_w,
    ) {
        lines.push(HelpLine::Note(l));
    }
    (width, lines)
}

/// How far the help overlay scrolls on a `cols` x `rows` screen: its lines less the rows
/// its box gives them.
pub fn help_max_scroll(cols: u16, rows: u16) -> u16 {
    let total = u16::try_from(help_text(cols).1.len()).unwrap_or(u16::MAX);
    let height = total.saturating_add(2).min(rows);
    total.saturating_add(2).saturating_sub(height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_wraps_inside_its_box_and_scrolls_to_its_last_line() {
        for (cols, rows) in [(80u16, 24u16), (120, 40), (200, 50), (40, 12)] {
            let (width, lines) = help_text(cols);
            assert!(width <= cols);
            for l in &lines {
                let (a, b) = match l {
                    HelpLine::Key(k, w) => (k.as_str(), w.as_str()),
                    HelpLine::Words(w) | HelpLine::Heading(w) | HelpLine::Note(w) => {
                        (w.as_str(), "")
                    }
                };
                let n = a.chars().count() + b.chars().count();
                assert!(n <= usize::from(width - 2), "{cols}: {n} > {width}: {l:?}");
            }
            let max = help_max_scroll(cols, rows);
            assert_eq!(
                usize::from(max) + usize::from(rows) - 2,
                lines.len().max(usize::from(rows) - 2),
                "{cols}x{rows}: the last line shows at the largest scroll"
            );
        }
        assert_eq!(help_max_scroll(200, 200), 0, "room for it all: no scroll");
    }
}
