//! Screens of what was written and touched since the mark, from fabricated models
//! (screens.rs's): `+written` in the page headers (`+W` when narrow) and the page's minimap
//! cell marked, and the address-space view's `touched` per VMA and in its status line while
//! `--track-access` cleared the accessed bits at the mark; at 80x24 and 120x40, in mono.

use mmapscope::action::{Event, SpaceAction};
use mmapscope::model::time::{FlagRun, Flags, Mark, MarkVma, Marked, Word};
use mmapscope::model::{Access, Model, Written};
use mmapscope::update::update;
use ratatui::style::Color;

use super::screens::{ADDR, PS, draw, model, space_model};

fn text_of(m: &Model) -> String {
    format!("{}", draw(m).backend())
}

fn no_colour(m: &Model) {
    for cell in draw(m).backend().buffer().content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
}

/// The demo model marked as it is now (no state changed), then pages 0 and 2 written: the
/// written set read by the tracker, folded into the compare.
fn written_grid(size: (u16, u16)) -> Model {
    let mut m = model(6, size);
    // States unknown on both sides: only the written set can change.
    let now = vec![FlagRun {
        first: 0,
        count: 6,
        flags: Flags::default(),
    }];
    let mark = Mark {
        marked: Marked {
            addr: ADDR,
            pages: 6,
            page_size: PS,
            at_ms: 0,
            clock: "10:20:51".into(),
        },
        runs: now.clone(),
        ..Mark::default()
    };
    m.log.now_ms = 7_000;
    update(&mut m, Event::Marked(Box::new(mark)));
    update(
        &mut m,
        Event::Written(Some(Written {
            pages: vec![0..1, 2..3],
            exact: true,
            source: "exact: userfaultfd async write-protect".into(),
            restarted: None,
        })),
    );
    update(&mut m, Event::Compared(now));
    m
}

#[test]
fn written_pages_after_a_mark_80x24() {
    let m = written_grid((80, 24));
    let changed: Vec<u64> = m.time.changes.iter().map(|c| c.first).collect();
    assert_eq!(changed, [0, 2], "only the pages written changed");
    assert!(
        m.time
            .changes
            .iter()
            .all(|c| c.became.names() == ["written"] && c.stopped.is_empty())
    );
    let text = text_of(&m);
    assert!(text.contains("+W"), "page 0's narrow header: {text}");
    assert!(text.contains("2 changed state"), "{text}");
    no_colour(&m);
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn written_pages_after_a_mark_120x40() {
    let m = written_grid((120, 40));
    let text = text_of(&m);
    assert!(
        text.contains("page 0 · offset 0x0 · resident · present · dirty · +written"),
        "page 0's header: {text}"
    );
    assert!(!text.contains("-written"), "{text}");
    insta::assert_snapshot!(draw(&m).backend());
}

/// The address space marked as it is now, with `--track-access`'s bits cleared at the mark:
/// our mapping touched 12 KiB since, the heap 4 KiB.
fn touched_space(size: (u16, u16)) -> Model {
    let mut m = space_model(size);
    let then: Vec<MarkVma> = m.space.vmas.iter().map(MarkVma::of).collect();
    let mark = Mark {
        marked: Marked {
            addr: ADDR,
            ..Marked::default()
        },
        vmas: Some(then),
        ..Mark::default()
    };
    m.log.now_ms = 5_000;
    update(&mut m, Event::Marked(Box::new(mark)));
    update(
        &mut m,
        Event::Access(Access {
            cleared: Ok(()),
            per_page: "per page: n/a (this kernel has neither)".into(),
        }),
    );
    for v in &mut m.space.vmas {
        if let Some(mem) = v.mem.as_mut() {
            mem.referenced = match (v.line.start == ADDR, v.line.path.as_str()) {
                (true, _) => 12 << 10,
                (_, "[heap]") => 4 << 10,
                _ => 0,
            };
        }
    }
    update(
        &mut m,
        mmapscope::action::Action::Space(SpaceAction::Move(0)),
    );
    m
}

#[test]
fn touched_since_the_mark_in_the_address_space_80x24() {
    let m = touched_space((80, 24));
    let text = text_of(&m);
    // The VMA shown is read by us: its row's count has a `*`, which the status line explains.
    assert!(text.contains("touched 12K*"), "our mapping's row: {text}");
    assert!(
        text.contains("since mark (5 s ago): touched 16 KiB (*: with our reads) · "),
        "{text}"
    );
    assert!(
        m.log
            .lines
            .iter()
            .any(|l| l.text.contains("--track-access"))
    );
    no_colour(&m);
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn touched_since_the_mark_in_the_address_space_120x40() {
    let m = touched_space((120, 40));
    let text = text_of(&m);
    assert!(text.contains("touched 4K"), "the heap's row: {text}");
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn without_track_access_nothing_says_touched() {
    let mut m = touched_space((120, 40));
    m.time.access = None;
    assert!(!text_of(&m).contains("touched"));
    let _ = Word::Written;
}
