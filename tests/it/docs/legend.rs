//! The guide's key table and page states are the program's, every word and letter a page
//! header or the minimap can draw is in the legend, and `mmapscope man` tells every key and
//! every page state.

use std::process::Command;

use mmapscope::model::Model;
use mmapscope::sys::map::request::Prot;
use mmapscope::sys::probe::chunks::Bucket;
use mmapscope::sys::probe::snapshot::{Backing, VisiblePage};
use mmapscope::sys::probe::state::{FolioState, PageProbe, PageState, Place, Writes};
use mmapscope::ui::hex_grid::state_words;

use super::screen::{decode_ctx, demo_model};
use super::{DEMO, GUIDE, PS, check_block};

/// A Markdown table cell: `|` escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[test]
fn the_guide_key_table_is_the_key_table_of_the_program() {
    let mut want = String::from("| key | action |\n|---|---|\n");
    for (keys, what) in mmapscope::keys::manual_lines() {
        want += &format!("| `{}` | {} |\n", cell(keys), cell(what));
    }
    check_block(GUIDE, "keys", &want);
}

#[test]
fn the_guide_page_states_are_the_legend_of_the_program() {
    let mut want = String::from("| word (letter) | meaning | source |\n|---|---|---|\n");
    for s in mmapscope::legend::STATES {
        want += &format!(
            "| {} | {} | {} |\n",
            cell(s.words),
            cell(s.meaning),
            cell(s.source)
        );
    }
    check_block(GUIDE, "page-states", &want);
}

/// Every word (and letter) of `words` is in the legend: numbers read as `N`.
fn in_legend(word: &str) -> bool {
    let mut general = String::new();
    let mut in_number = false;
    for c in word.chars() {
        let digit = c.is_ascii_digit() || (in_number && c == ',');
        if digit && !in_number {
            general.push('N');
        } else if !digit {
            general.push(c);
        }
        in_number = digit;
    }
    let quoted = format!("`{general}`");
    mmapscope::legend::STATES
        .iter()
        .any(|s| s.words.contains(&quoted))
}

/// The page header's words for `state` in a model made by `tweak`.
fn words_of(state: PageState, tweak: impl Fn(&mut Model)) -> Vec<(String, String)> {
    let mut m = demo_model((120, 30));
    tweak(&mut m);
    m.snap.probed.pages = vec![VisiblePage {
        index: 0,
        state,
        probe: PageProbe::default(),
    }];
    state_words(&m, 0)
        .into_iter()
        .map(|w| (w.long, w.short))
        .collect()
}

#[test]
fn every_word_and_letter_a_page_header_draws_is_in_the_legend() {
    let g = demo_model((120, 30)).snap.shape.geometry;
    let base = PageState::decode(g.page(0), PageProbe::default(), decode_ctx());
    let yes_no = [Some(true), Some(false), None];
    let mut drawn = Vec::new();
    for resident in yes_no {
        for present in yes_no {
            for dirty in yes_no {
                for cow in [Some(true), Some(false)] {
                    let s = PageState {
                        place: Place {
                            resident,
                            present,
                            cow,
                            swapped: Some(true),
                            shared_with_child: cow,
                            ..base.place
                        },
                        writes: Writes {
                            dirty,
                            writeback: Some(true),
                            soft_dirty: Some(true),
                            ..base.writes
                        },
                        folio: FolioState {
                            folio_pages: Some(4),
                            mapcount: Some(3),
                            thp: Some(true),
                            ..base.folio
                        },
                        ..base
                    };
                    drawn.extend(words_of(s, |_| {}));
                    // A file we may not write; tmpfs; no read access.
                    drawn.extend(words_of(s, |m| {
                        m.snap.shape.backing = Backing::File {
                            path: DEMO.into(),
                            writable: false,
                            regular: true,
                        };
                        m.snap.always_dirty = true;
                        m.snap.shape.prot = Prot::NONE;
                    }));
                }
            }
        }
    }
    let m = demo_model((120, 30));
    // The last page (padding) and a page beyond EOF; a page not probed.
    let mut long = demo_model((120, 30));
    long.snap.shape.geometry.len = 6 * PS;
    drawn.extend(state_words(&m, 3).into_iter().map(|w| (w.long, w.short)));
    drawn.extend(state_words(&long, 5).into_iter().map(|w| (w.long, w.short)));
    let mut unprobed = demo_model((120, 30));
    unprobed.snap.probed.pages.clear();
    drawn.extend(
        state_words(&unprobed, 0)
            .into_iter()
            .map(|w| (w.long, w.short)),
    );
    drawn.sort();
    drawn.dedup();
    assert!(
        drawn.len() >= 25,
        "the combinations drew too few: {drawn:?}"
    );
    let missing: Vec<&(String, String)> = drawn
        .iter()
        .filter(|(long, short)| !in_legend(long) || !in_legend(short))
        .collect();
    assert!(
        missing.is_empty(),
        "page-header words not in src/legend.rs: {missing:?}"
    );
}

/// With a mark: every word a page header says of what changed since it is in the legend.
#[test]
fn every_word_a_page_header_draws_since_the_mark_is_in_the_legend() {
    use mmapscope::model::time::{FlagRun, Flags, KeptPage, Mark, Marked};
    let g = demo_model((120, 30)).snap.shape.geometry;
    let base = PageState::decode(g.page(0), PageProbe::default(), decode_ctx());
    let all = |set: bool| PageState {
        place: Place {
            resident: Some(set),
            present: Some(set),
            cow: Some(set),
            exclusive: Some(set),
            ..base.place
        },
        writes: Writes {
            dirty: Some(set),
            ..base.writes
        },
        ..base
    };
    let mut drawn = Vec::new();
    for (then, now) in [(false, true), (true, false)] {
        drawn.extend(words_of(all(now), |m| {
            let kept = m
                .snap
                .probed
                .bytes
                .data
                .iter()
                .map(|b| !b.unwrap_or(0))
                .collect();
            m.time.mark = Some(Box::new(Mark {
                marked: Marked {
                    addr: m.snap.shape.addr,
                    ..Marked::default()
                },
                runs: vec![FlagRun {
                    first: 0,
                    count: 1,
                    flags: Flags::of(&all(then)),
                }],
                kept: if then {
                    vec![KeptPage {
                        page: 0,
                        bytes: kept,
                    }]
                } else {
                    Vec::new()
                },
                ..Mark::default()
            }));
        }));
    }
    // A page in memory at the mark whose bytes were not kept.
    drawn.extend(words_of(all(true), |m| {
        m.time.mark = Some(Box::new(Mark {
            marked: Marked {
                addr: m.snap.shape.addr,
                ..Marked::default()
            },
            runs: vec![FlagRun {
                first: 0,
                count: 1,
                flags: Flags::of(&all(true)),
            }],
            ..Mark::default()
        }));
    }));
    // A page written since the mark, where the written set is exact.
    drawn.extend(words_of(all(true), |m| {
        m.time.mark = Some(Box::new(Mark {
            marked: Marked {
                addr: m.snap.shape.addr,
                ..Marked::default()
            },
            runs: vec![FlagRun {
                first: 0,
                count: 1,
                flags: Flags::of(&all(true)),
            }],
            ..Mark::default()
        }));
        m.time.written = Some(mmapscope::model::Written {
            pages: std::iter::once(0..1).collect(),
            exact: true,
            ..Default::default()
        });
    }));
    for w in [
        "+written",
        "+dirty",
        "-resident (evicted)",
        "B changed since mark",
        "beyond the mark",
    ] {
        assert!(
            drawn.iter().any(|(long, _)| long.contains(w)),
            "{w} drawn: {drawn:?}"
        );
    }
    let missing: Vec<&(String, String)> = drawn
        .iter()
        .filter(|(long, short)| !in_legend(long) || !in_legend(short))
        .collect();
    assert!(missing.is_empty(), "not in src/legend.rs: {missing:?}");
}

#[test]
fn every_minimap_letter_is_in_the_legend() {
    let minimap = mmapscope::legend::STATES
        .iter()
        .find(|s| s.letters == "minimap")
        .expect("the minimap's row");
    let counts = [None, Some(0), Some(1)];
    let mut drawn = vec![mmapscope::ui::minimap::NOT_YET.0];
    for resident in counts {
        for present in counts {
            for dirty in counts {
                for cow in counts {
                    for beyond_eof in [0, 1, 2] {
                        let bucket = Bucket {
                            first: 0,
                            pages: 2,
                            resident,
                            present,
                            dirty,
                            cow,
                            beyond_eof,
                            evicted: Some(0),
                        };
                        for always_dirty in [false, true] {
                            drawn.push(mmapscope::ui::minimap::cell(&bucket, always_dirty).0);
                        }
                    }
                }
            }
        }
    }
    drawn.sort_unstable();
    drawn.dedup();
    assert_eq!(drawn.len(), 8, "{drawn:?}");
    for c in drawn {
        let told = if c == ' ' {
            minimap.words.contains("blank")
        } else {
            minimap.words.contains(&format!("`{c}`"))
        };
        assert!(
            told,
            "minimap cell {c:?} is not in the legend: {}",
            minimap.words
        );
    }
}

/// roff text back to plain text: the escapes `cli::manual_page` writes.
fn unroff(text: &str) -> String {
    text.replace("\\&", "")
        .replace("\\fB", "")
        .replace("\\fR", "")
        .replace("\\-", "-")
        .replace("\\e", "\\")
}

#[test]
fn man_tells_every_key_and_every_page_state() {
    let out = Command::new(env!("CARGO_BIN_EXE_mmapscope"))
        .arg("man")
        .output()
        .expect("run mmapscope man");
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8(out.stdout).expect("UTF-8");
    let keys_at = page.find(".SH KEYS").expect("a KEYS section");
    let states_at = page
        .find(".SH \"PAGE STATES\"")
        .expect("a PAGE STATES section");
    assert!(page.contains(".SH SYNOPSIS") && page.contains(".SH OPTIONS"));
    assert!(keys_at < states_at);
    let text = unroff(&page);
    for (keys, what) in mmapscope::keys::manual_lines() {
        assert!(
            text.contains(&format!("\n{keys}\n{what}\n")),
            "man lacks `{keys}`: {what}"
        );
    }
    for s in mmapscope::legend::STATES {
        let words = s.words.replace('`', "");
        assert!(text.contains(&format!("\n{words}\n")), "man lacks {words}");
        assert!(
            text.contains(&s.meaning.replace('`', "")),
            "man lacks {}",
            s.meaning
        );
    }
    // No line of ours starts a roff request by accident (ours end where clap's VERSION is).
    let ours_end = page.find(".SH VERSION").unwrap_or(page.len());
    assert!(states_at < ours_end);
    for line in page[keys_at..ours_end].lines() {
        assert!(
            line.starts_with(".TP")
                || line.starts_with(".SH")
                || line.starts_with(".SS")
                || line.starts_with("\\&"),
            "{line}"
        );
    }
}
