//! The diff as SVG: what `diff` prints (its JSON, docs/json.md "diff"), drawn. The mapping as
//! cells (as the page map's picture: 64 a row, at most 4,096), each coloured by what changed in
//! its pages since the mark (states gained, states lost, both, bytes alone), lettered so that it
//! reads in grey, with the changes as its tooltip; the counts; then the VMAs that changed, with
//! their Rss, Pss and Swap deltas. Drawn from the very JSON `diff` prints, so the picture and
//! the script's answer cannot disagree.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value as Json;

use crate::model::Model;
use crate::session::{MAP_COLS, cell_pages};
use crate::text::thousands;

use super::{CELL, LEFT, LINE, Role, fill, subject_name, svg_open, swatch, width_for, xml_text};

/// Most changed VMAs listed; the picture says how many more.
pub const DIFF_VMAS: usize = 200;

/// What changed in one cell's pages.
#[derive(Debug, Clone, Default)]
struct CellChange {
    /// Pages that gained a state, lost one, had bytes change.
    became: u64,
    stopped: u64,
    bytes: u64,
    /// The change words seen (`+dirty`, `-resident`, `bytes`).
    words: BTreeSet<String>,
}

/// The cell classes: letter, class, legend words, role (for the colour).
const CLASSES: [(char, &str, &str, Role); 5] = [
    (
        '+',
        "became",
        "gained a state (+present, +dirty…)",
        Role::Became,
    ),
    (
        '-',
        "stopped",
        "lost a state (-resident: evicted…)",
        Role::Stopped,
    ),
    ('±', "both", "gained one, lost another", Role::Cow),
    ('b', "bytes", "bytes changed, states alike", Role::Changed),
    (' ', "same", "unchanged", Role::NotResident),
];

impl CellChange {
    fn class(&self) -> (char, &'static str) {
        let i = match (self.became > 0, self.stopped > 0, self.bytes > 0) {
            (true, true, _) => 2,
            (true, false, _) => 0,
            (false, true, _) => 1,
            (false, false, true) => 3,
            (false, false, false) => 4,
        };
        (CLASSES[i].0, CLASSES[i].1)
    }
}

/// A u64 of the JSON at `path` (0 when absent).
fn num(v: &Json, path: &[&str]) -> u64 {
    path.iter().fold(v, |v, k| &v[*k]).as_u64().unwrap_or(0)
}

/// The strings of an array of the JSON.
fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Each cell's changes, from `diff`'s `pages` runs.
fn cells_of(diff: &Json, pages: u64, per: u64) -> Vec<CellChange> {
    let mut cells = vec![CellChange::default(); usize::try_from(pages.div_ceil(per)).unwrap_or(0)];
    for run in diff["pages"].as_array().into_iter().flatten() {
        let (first, count) = (num(run, &["first"]), num(run, &["count"]));
        let changed = strings(&run["changed"]);
        let became = !strings(&run["became"]).is_empty();
        let stopped = !strings(&run["stopped"]).is_empty();
        let bytes = changed.iter().any(|w| w == "bytes");
        let end = first.saturating_add(count).min(pages);
        let mut at = first;
        while at < end {
            let cell = at / per;
            let stop = ((cell + 1) * per).min(end);
            let Some(c) = cells.get_mut(usize::try_from(cell).unwrap_or(usize::MAX)) else {
                break;
            };
            let n = stop - at;
            c.became += if became { n } else { 0 };
            c.stopped += if stopped { n } else { 0 };
            c.bytes += if bytes { n } else { 0 };
            c.words.extend(changed.iter().cloned());
            at = stop;
        }
    }
    cells
}

/// The diff's picture: title, cells, legend, counts, the changed VMAs.
pub fn diff_svg(model: &Model, diff: &Json) -> (String, String) {
    let pages = num(diff, &["mark", "pages"]).max(1);
    let per = cell_pages(pages);
    let cells = cells_of(diff, pages, per);
    let rows = (cells.len() as u64).div_ceil(MAP_COLS).max(1);
    let vmas: Vec<&Json> = diff["vmas"].as_array().into_iter().flatten().collect();
    let listed = vmas.len().min(DIFF_VMAS);
    let top = 48;
    let legend_y = top + rows * CELL + 24;
    let vmas_y = legend_y + 5 * LINE;
    let height = vmas_y + (listed as u64 + 3) * LINE;
    let title = xml_text(&format!(
        "mmapscope · since the mark at {} ({} s ago) · {} · a cell is {}",
        diff["mark"]["clock"].as_str().unwrap_or("?"),
        num(diff, &["mark", "age_ms"]) / 1000,
        subject_name(model),
        crate::ui::pages_word(per),
    ));
    let mut style = String::new();
    for (_, class, _, role) in CLASSES {
        let paint = if class == "same" {
            "#e8e8e8".into()
        } else {
            fill(role)
        };
        let _ = writeln!(style, ".{class} {{ fill: {paint}; }}");
    }
    style.push_str("text.l { font-size: 9px; text-anchor: middle; fill: #000000; }\n");
    let mut out = String::new();
    let width = width_for(LEFT + MAP_COLS * CELL + 24, &title);
    svg_open(&mut out, width, height, &style, &title);
    super::row_labels(&mut out, rows, 0, per, top);
    for (i, c) in cells.iter().enumerate() {
        diff_cell(&mut out, i as u64, c, per, top);
    }
    legend(&mut out, legend_y, diff);
    vma_rows(&mut out, vmas_y, &vmas[..listed], vmas.len());
    out.push_str("</svg>\n");
    let changed = cells.iter().filter(|c| c.class().1 != "same").count();
    let holds = format!(
        "the diff, {} of {} cells changed, {} VMAs changed",
        thousands(changed as u64),
        thousands(cells.len() as u64),
        thousands(vmas.len() as u64)
    );
    (out, holds)
}

/// One cell: its class, letter and tooltip (its pages and what changed in them).
fn diff_cell(out: &mut String, i: u64, c: &CellChange, per: u64, top: u64) {
    let (letter, class) = c.class();
    let (x, y) = (LEFT + (i % MAP_COLS) * CELL, top + (i / MAP_COLS) * CELL);
    let words: Vec<&str> = c.words.iter().map(String::as_str).collect();
    let what = if words.is_empty() {
        "unchanged".into()
    } else {
        words.join(" ")
    };
    let _ = write!(
        out,
        "<g class=\"{class}\"><rect x=\"{x}\" y=\"{y}\" width=\"{CELL}\" height=\"{CELL}\" \
         stroke=\"#ffffff\"><title>pages {}-{}: {}</title></rect>",
        thousands(i * per),
        thousands((i + 1) * per - 1),
        xml_text(&what),
    );
    if letter != ' ' {
        let _ = write!(
            out,
            "<text class=\"l\" x=\"{}\" y=\"{}\">{}</text>",
            x + CELL / 2,
            y + CELL - 4,
            xml_text(&letter.to_string())
        );
    }
    out.push_str("</g>\n");
}

/// The legend and the counts of `diff`'s summary.
fn legend(out: &mut String, y: u64, diff: &Json) {
    for (i, (letter, class, word, _)) in CLASSES.iter().enumerate() {
        let (x, y) = (12 + (i as u64 % 3) * 330, y + (i as u64 / 3) * LINE);
        swatch(out, (x, y), class, *letter, word);
    }
    let words = |side: &str| {
        crate::model::time::Word::ALL
            .iter()
            .map(|w| {
                let n = num(diff, &["summary", side, w.name()]);
                format!("{} {}", w.name(), thousands(n))
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let s = |k: &str| thousands(num(diff, &["summary", k]));
    for (i, line) in [
        format!("became: {}", words("became")),
        format!(
            "stopped: {}  ·  bytes changed in {} pages",
            words("stopped"),
            s("bytes_changed_pages")
        ),
    ]
    .iter()
    .enumerate()
    {
        let _ = writeln!(
            out,
            "<text x=\"12\" y=\"{}\">{}</text>",
            y + (2 + i as u64) * LINE + 6,
            xml_text(line)
        );
    }
}

/// A signed byte count in the address-space view's short form: `+4K`, `-1.8M`, `0`.
fn delta(v: &Json) -> String {
    match v.as_i64() {
        None => "?".into(),
        Some(0) => "0".into(),
        Some(n) => format!(
            "{}{}",
            if n > 0 { "+" } else { "-" },
            super::super::space::short(n.unsigned_abs())
        ),
    }
}

/// The VMAs that changed, `listed` of `total`.
fn vma_rows(out: &mut String, y: u64, listed: &[&Json], total: usize) {
    let heads = [
        (12, "start", "VMA change"),
        (110, "start", "range (now, else then)"),
        (430, "end", "Rss Δ"),
        (490, "end", "Pss Δ"),
        (550, "end", "Swap Δ"),
        (570, "start", "name"),
    ];
    for (x, anchor, word) in heads {
        let _ = writeln!(
            out,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"{anchor}\" font-weight=\"bold\">{}</text>",
            xml_text(word)
        );
    }
    let range = |r: &Json| match (r["start"].as_str(), r["end"].as_str()) {
        (Some(s), Some(e)) => Some(format!("{s}-{e}")),
        _ => None,
    };
    for (i, v) in listed.iter().enumerate() {
        let y = y + (i as u64 + 1) * LINE;
        let (now, then) = (range(&v["now"]), range(&v["then"]));
        let change = v["change"].as_str().unwrap_or("?");
        // Darker than the cells' green and red: words on white must read.
        let colour = match change {
            "new" | "grown" => "#007a00",
            "shrunk" | "gone" => "#c00000",
            _ => "#000000",
        };
        let path = v["path"].as_str().unwrap_or("");
        let _ = writeln!(
            out,
            "<g><title>then {} · now {}</title>\
             <text x=\"12\" y=\"{y}\" fill=\"{colour}\" font-weight=\"bold\">{}</text>\
             <text x=\"110\" y=\"{y}\">{}</text>\
             <text x=\"430\" y=\"{y}\" text-anchor=\"end\">{}</text>\
             <text x=\"490\" y=\"{y}\" text-anchor=\"end\">{}</text>\
             <text x=\"550\" y=\"{y}\" text-anchor=\"end\">{}</text>\
             <text x=\"570\" y=\"{y}\">{}</text></g>",
            then.as_deref().unwrap_or("-"),
            now.as_deref().unwrap_or("-"),
            xml_text(change),
            now.as_deref().or(then.as_deref()).unwrap_or("-"),
            delta(&v["rss_delta"]),
            delta(&v["pss_delta"]),
            delta(&v["swap_delta"]),
            xml_text(if path.is_empty() { "(anonymous)" } else { path }),
        );
    }
    if total > listed.len() {
        let _ = writeln!(
            out,
            "<text x=\"12\" y=\"{}\">… and {} more changed VMAs (diff in a script lists them all)</text>",
            y + (listed.len() as u64 + 1) * LINE,
            thousands((total - listed.len()) as u64)
        );
    }
}
