//! Screens after a mark, from fabricated models (screens.rs's): the grid's page headers and
//! changed bytes, the minimap, the page map and the address-space view, at 80x24 and 120x40,
//! in mono (text, and no colour anywhere) and in colour (the buffer with its styles).

use mmapscope::action::{Action, Event, SpaceAction};
use mmapscope::model::Model;
use mmapscope::model::time::{FlagRun, Flags, KeptPage, Mark, MarkVma, Marked, Word, Words};
use ratatui::style::{Color, Modifier};

use super::screens::{ADDR, PS, draw, model, page_map_model, space_model};

fn flags(set: &[Word]) -> Flags {
    let mut f = Flags {
        known: Words(0b1_1111),
        set: Words(0),
    };
    for w in set {
        f.set = f.set.with(*w);
    }
    f
}

fn run(first: u64, count: u64, set: &[Word]) -> FlagRun {
    FlagRun {
        first,
        count,
        flags: flags(set),
    }
}

/// The page states now, as runs, from the model's visible pages.
fn now_runs(m: &Model) -> Vec<FlagRun> {
    m.snap
        .probed
        .pages
        .iter()
        .map(|p| FlagRun {
            first: p.index,
            count: 1,
            flags: Flags::of(&p.state),
        })
        .collect()
}

/// The demo model (page 0 R P D, page 1 R -p, pages 2-3 R P, 4-5 beyond EOF) marked when page
/// 0 was resident only and clean with other bytes at 0x10..0x14, page 1 present (its bytes
/// beyond the bound), page 2 as now, page 3 not in memory.
fn marked_grid(size: (u16, u16), color: bool) -> Model {
    use Word::{Exclusive, Present, Resident};
    let mut m = model(6, size);
    m.settings.color = color;
    let contents = mmapscope::demo::contents(PS as usize);
    let page = |n: u64| -> Vec<u8> {
        let start = usize::try_from(n * PS).unwrap();
        let mut p: Vec<u8> = contents
            .iter()
            .skip(start)
            .take(PS as usize)
            .copied()
            .collect();
        p.resize(PS as usize, 0);
        p
    };
    let mut zero = page(0);
    for b in &mut zero[0x10..0x14] {
        *b ^= 0x20;
    }
    use Word::Dirty;
    // The whole mapping now, as the session's scan would give it (the screen probes only
    // what is visible): as fake_probe says.
    let now = vec![
        run(0, 1, &[Resident, Present, Dirty]),
        run(1, 1, &[Resident]),
        run(2, 2, &[Resident, Present]),
        run(4, 2, &[]),
    ];
    let mark = Mark {
        marked: Marked {
            addr: ADDR,
            pages: 6,
            page_size: PS,
            at_ms: 0,
            clock: "10:20:51".into(),
        },
        runs: vec![
            run(0, 1, &[Resident]),
            run(1, 1, &[Resident, Present, Exclusive]),
            run(2, 1, &[Resident, Present]),
            run(3, 1, &[]),
            run(4, 2, &[]),
        ],
        kept: vec![
            KeptPage {
                page: 0,
                bytes: zero,
            },
            KeptPage {
                page: 2,
                bytes: page(2),
            },
        ],
        unkept: 1,
        vmas: None,
    };
    for seen in now_runs(&m) {
        let said = mmapscope::model::time::flags_at(&now, seen.first);
        assert_eq!(said, Some(seen.flags), "page {}: as fake_probe", seen.first);
    }
    m.log.now_ms = 12_000;
    mmapscope::update::update(&mut m, Event::Marked(Box::new(mark)));
    mmapscope::update::update(&mut m, Event::Compared(now));
    m
}

fn text_of(m: &Model) -> String {
    format!("{}", draw(m).backend())
}

fn no_colour(m: &Model) {
    for cell in draw(m).backend().buffer().content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
}

#[test]
fn grid_after_a_mark_80x24() {
    let m = marked_grid((80, 24), false);
    let text = text_of(&m);
    assert!(text.contains("+P +D Δ4"), "page 0's letters: {text}");
    assert!(
        text.contains("mark 12 s · 3 changed state · :unmark"),
        "{text}"
    );
    no_colour(&m);
    // Mono: the changed style (reversed, underlined) on the minimap's cells of pages 0, 1
    // and 3, and on the four bytes changed (two hex digits and a character each).
    let t = draw(&m);
    let buf = t.backend().buffer();
    let changed_in_row = |y: u16| {
        (0..buf.area.width)
            .filter(|&x| {
                buf[(x, y)]
                    .modifier
                    .contains(Modifier::REVERSED | Modifier::UNDERLINED)
            })
            .count()
    };
    assert_eq!(changed_in_row(1), 3, "the minimap");
    let grid: usize = (3..buf.area.height).map(changed_in_row).sum();
    assert_eq!(
        grid,
        4 * 2 + 4 + 2,
        "4 bytes (2 hex digits and a character each) and `Δ4` in page 0's header"
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn grid_after_a_mark_120x40() {
    let mut m = marked_grid((120, 40), false);
    let text = text_of(&m);
    for words in [
        "page 0 · 0x0 · R P D +P +D Δ4",
        "mark set 12 s ago · 3 pages changed state · b re-marks · : unmark drops",
    ] {
        assert!(text.contains(words), "{words}: {text}");
    }
    insta::assert_snapshot!(draw(&m).backend());
    // Page 1 lost present and exclusive (its bytes were beyond the bound); page 3 came into
    // memory.
    super::screens::act(
        &mut m,
        &[Action::Grid(mmapscope::action::GridAction::Goto(
            mmapscope::action::GotoTarget::Page(1),
        ))],
    );
    let text = text_of(&m);
    assert!(
        text.contains("page 1 · 0x1000 · R -p -d -P -E Δ?"),
        "{text}"
    );
    super::screens::act(
        &mut m,
        &[Action::Grid(mmapscope::action::GridAction::Goto(
            mmapscope::action::GotoTarget::Page(3),
        ))],
    );
    let text = text_of(&m);
    assert!(text.contains("page 3 · 0x3000 · R P -d f2 +P +R"), "{text}");
    insta::assert_snapshot!("grid_after_a_mark_120x40_page_3", draw(&m).backend());
}

#[test]
fn grid_after_a_mark_120x40_colour() {
    let m = marked_grid((120, 40), true);
    let t = draw(&m);
    let changed = t
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| c.bg == Color::LightBlue)
        .count();
    assert!(changed >= 4 * 2 + 4, "the changed bytes, and minimap cells");
    insta::assert_debug_snapshot!(t.backend().buffer());
}

/// The page map with pages 1,200-1,259 dirty since the mark (the selected cell among them).
fn marked_page_map(size: (u16, u16), color: bool) -> Model {
    use Word::{Dirty, Resident};
    let mut m = page_map_model(size, &[]);
    m.settings.color = color;
    let mark = Mark {
        marked: Marked {
            addr: ADDR,
            pages: 5000,
            page_size: PS,
            ..Marked::default()
        },
        runs: vec![run(0, 5000, &[Resident])],
        ..Mark::default()
    };
    mmapscope::update::update(&mut m, Event::Marked(Box::new(mark)));
    let now = vec![
        run(0, 1200, &[Resident]),
        run(1200, 60, &[Resident, Dirty]),
        run(1260, 3740, &[Resident]),
    ];
    mmapscope::update::update(&mut m, Event::Compared(now));
    m
}

#[test]
fn page_map_after_a_mark_80x24() {
    let m = marked_page_map((80, 24), false);
    let text = text_of(&m);
    assert!(text.contains("Δ 8 since mark"), "{text}");
    no_colour(&m);
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn page_map_after_a_mark_120x40_colour() {
    let m = marked_page_map((120, 40), true);
    insta::assert_debug_snapshot!(draw(&m).backend().buffer());
}

/// The address space marked when the heap was smaller (grown since), with the VMA after our
/// mapping not yet there (new), one VMA since gone, and our mapping's Rss 8 KiB lower.
fn marked_space(size: (u16, u16), color: bool) -> Model {
    let mut m = space_model(size);
    m.settings.color = color;
    let mut then: Vec<MarkVma> = m.space.vmas.iter().map(MarkVma::of).collect();
    let heap = then
        .iter_mut()
        .find(|v| v.path == "[heap]")
        .expect("a heap");
    heap.end -= 0x21000;
    let ours = then.iter_mut().find(|v| v.start == ADDR).expect("ours");
    if let Some(c) = ours.counters.as_mut() {
        c.rss -= 8192;
    }
    let after = then.iter().position(|v| v.start == ADDR).expect("ours") + 1;
    then.remove(after);
    then.insert(
        0,
        MarkVma {
            start: 0x1000,
            end: 0x3000,
            path: "/tmp/gone.bin".into(),
            ..MarkVma::default()
        },
    );
    let mark = Mark {
        marked: Marked {
            addr: ADDR,
            ..Marked::default()
        },
        vmas: Some(then),
        ..Mark::default()
    };
    m.log.now_ms = 65_000;
    mmapscope::update::update(&mut m, Event::Marked(Box::new(mark)));
    mmapscope::update::update(&mut m, Action::Space(SpaceAction::Move(0)));
    m
}

#[test]
fn address_space_after_a_mark_80x24() {
    let m = marked_space((80, 24), false);
    let text = text_of(&m);
    assert!(
        text.contains("since mark (1 min 5 s ago): 1 new, 1 grown, 0 shrunk, 1 gone"),
        "{text}"
    );
    assert!(text.contains("Δ grown"), "{text}");
    no_colour(&m);
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn address_space_after_a_mark_120x40_colour() {
    let m = marked_space((120, 40), true);
    let text = text_of(&m);
    assert!(text.contains("Δ new"), "{text}");
    assert!(text.contains("Δ Rss +8 KiB"), "{text}");
    insta::assert_debug_snapshot!(draw(&m).backend().buffer());
}
