//! Whole screens as insta snapshots, drawn from a fabricated model (fixed addresses, fixed
//! /proc contents), so they never depend on the live kernel. Also: key handling through
//! `update` moves the view the way the screens show, and NO_COLOR screens carry no colour.

use mmapscope::action::{
    Action, AskAction, EditAction, Event, GridAction, LabAction, LessonAction, Motion,
    PageMapAction, SearchAction, SpaceAction, ViewAction,
};
use mmapscope::geometry::Geometry;
use mmapscope::model::{Focus, Minimap, Model, Overlay};
use mmapscope::sys::map::region::CacheStat;
use mmapscope::sys::map::request::{MapMode, Prot};
use mmapscope::sys::probe::chunks::{Bucket, ChunkSlice, Chunks};
use mmapscope::sys::probe::snapshot::{Backing, Snapshot, ViewBytes, VisiblePage};
use mmapscope::sys::probe::state::{
    DecodeCtx, KPF_DIRTY, PM_FILE, PM_PRESENT, PageProbe, PageState, Sources,
};
use mmapscope::sys::proc::maps::{HugeCounters, MapsLine, MemoryCounters, Vma, VmaHead};
use mmapscope::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

pub(crate) const PS: u64 = 4096;
pub(crate) const ADDR: u64 = 0x7f3a_1c00_0000;
const FILE_SIZE: u64 = 3 * PS + 100;

pub(crate) fn maps() -> Vec<MapsLine> {
    let line = |start: u64, end: u64, perms: &str, path: &str| MapsLine {
        start,
        end,
        perms: perms.into(),
        offset: 0,
        dev: 0,
        inode: 0,
        path: path.into(),
    };
    vec![
        line(
            0x55d0_0000_0000,
            0x55d0_0002_0000,
            "r--p",
            "/usr/bin/mmapscope",
        ),
        line(
            0x55d0_0002_0000,
            0x55d0_0010_0000,
            "r-xp",
            "/usr/bin/mmapscope",
        ),
        line(0x55d0_0100_0000, 0x55d0_0102_1000, "rw-p", "[heap]"),
        line(
            0x7f3a_1b00_0000,
            0x7f3a_1b1d_0000,
            "r-xp",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
        ),
        line(0x7f3a_1b1d_0000, 0x7f3a_1b1e_0000, "rw-p", ""),
        line(ADDR, ADDR + 6 * PS, "rw-s", "/tmp/mmapscope-demo/demo.txt"),
        line(
            0x7f3a_1c10_0000,
            0x7f3a_1c12_0000,
            "r--p",
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        ),
        line(0x7ffc_0000_0000, 0x7ffc_0002_1000, "rw-p", "[stack]"),
        line(0x7ffc_0003_0000, 0x7ffc_0003_2000, "r-xp", "[vdso]"),
    ]
}

fn vma(rss: u64) -> Vma {
    Vma {
        head: VmaHead {
            start: ADDR,
            end: ADDR + 6 * PS,
            perms: "rw-s".into(),
            path: "/tmp/mmapscope-demo/demo.txt".into(),
        },
        memory: MemoryCounters {
            size: 6 * PS,
            rss,
            pss: rss,
            shared_clean: 0,
            shared_dirty: 0,
            private_clean: rss,
            private_dirty: 0,
            anonymous: 0,
            referenced: rss,
            swap: 0,
            locked: 0,
        },
        huge: HugeCounters {
            anon_huge_pages: 0,
            shmem_pmd_mapped: 0,
            file_pmd_mapped: 0,
            thp_eligible: 0,
        },
        vm_flags: ["rd", "wr", "sh", "mr", "mw", "me", "ms"]
            .map(String::from)
            .to_vec(),
    }
}

/// A mapping of the demo file with `pages` pages (4 hold data; the rest are beyond EOF).
pub(crate) fn model(pages: u64, size: (u16, u16)) -> Model {
    let backing = Backing::File {
        path: "/tmp/mmapscope-demo/demo.txt".into(),
        writable: true,
        regular: true,
    };
    let geometry = Geometry {
        page_size: PS,
        offset: 0,
        len: pages * PS,
        file_size: Some(FILE_SIZE),
    };
    let mut snap = Snapshot::empty(backing, MapMode::Shared, Prot::RW, ADDR, geometry);
    snap.readings.maps = Ok(std::sync::Arc::new(maps()));
    let mut vma = vma(16384);
    vma.head.end = ADDR + pages * PS;
    vma.memory.size = pages * PS;
    snap.readings.vma = Some(vma);
    snap.readings.vma_count = 1;
    snap.sources = Sources {
        mincore: "ok".into(),
        pagemap: "ok".into(),
        pfn: "ok".into(),
        kpageflags: "ok".into(),
        cachestat: "ok".into(),
        soft_dirty: "unsupported by this kernel".into(),
    };
    let mut m = Model::new(snap, size);
    m.log.clock = "10:21:03".into();
    m.settings.color = false;
    m.log("mmap MAP_SHARED rw- at 0x7f3a1c000000: 6 pages");
    fake_probe(&mut m);
    m
}

/// What the kernel would say for the visible part: page 0 present and dirty, page 1 resident
/// only, pages 2-3 present and clean in one folio of 2 pages; page 4+ beyond EOF; the demo
/// file's bytes.
pub(crate) fn fake_probe(m: &mut Model) {
    let view = m.view();
    let contents = mmapscope::demo::contents(PS as usize);
    let g = m.snap.shape.geometry;
    let ctx = DecodeCtx {
        mode: MapMode::Shared,
        file_mapping: true,
        soft_dirty: false,
        always_dirty: false,
    };
    let clean = CacheStat {
        nr_cache: 1,
        ..CacheStat::default()
    };
    m.snap.probed.pages = (view.first_page..view.first_page + view.page_count)
        .map(|index| {
            let geom = g.page(index);
            let probe = match index {
                _ if geom.beyond_eof => PageProbe {
                    resident: Some(false),
                    pagemap: Some(0),
                    cache: Some(CacheStat::default()),
                    ..PageProbe::default()
                },
                0 => PageProbe {
                    resident: Some(true),
                    pagemap: Some(PM_PRESENT | PM_FILE | 0x1234),
                    cache: Some(CacheStat {
                        nr_dirty: 1,
                        ..clean
                    }),
                    kflags: Some(KPF_DIRTY | (1 << 3) | (1 << 5) | (1 << 11)),
                    folio_pages: Some(1),
                    ..PageProbe::default()
                },
                1 => PageProbe {
                    resident: Some(true),
                    pagemap: Some(0),
                    cache: Some(clean),
                    ..PageProbe::default()
                },
                _ => PageProbe {
                    resident: Some(true),
                    pagemap: Some(PM_PRESENT | PM_FILE | (0x2000 + index)),
                    cache: Some(clean),
                    kflags: Some((1 << 3) | (1 << 5) | (1 << 11) | (1 << 15)),
                    folio_pages: Some(2),
                    ..PageProbe::default()
                },
            };
            VisiblePage {
                index,
                state: PageState::decode(geom, probe, ctx),
                probe,
            }
        })
        .collect();
    // The minimap's chunks (one per page up to 1,024 pages): the same states, counted.
    let layout = Chunks::of(g.pages());
    let probed = (0..layout.count)
        .map(|i| {
            let (first, pages) = layout.range(i);
            let data = (first..first + pages).filter(|p| !g.page(*p).beyond_eof);
            let bucket = Bucket {
                first,
                pages,
                resident: Some(data.clone().count() as u64),
                present: Some(data.filter(|p| *p != 1).count() as u64),
                dirty: Some(u64::from(first == 0)),
                cow: Some(0),
                beyond_eof: (first..first + pages)
                    .filter(|p| g.page(*p).beyond_eof)
                    .count() as u64,
                evicted: Some(0),
            };
            (i, bucket)
        })
        .collect();
    let now = m.log.now_ms;
    m.seen.minimap.merge(&ChunkSlice { layout, probed }, now);
    m.snap.probed.bytes = ViewBytes {
        start: view.byte_start,
        data: (view.byte_start..view.byte_start + view.byte_len)
            .map(|off| {
                if g.page(off / PS).beyond_eof {
                    None
                } else {
                    Some(contents.get(off as usize).copied().unwrap_or(0))
                }
            })
            .collect(),
        unread: Vec::new(),
    };
}

pub(crate) fn draw(m: &Model) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(m.screen.size.0, m.screen.size.1)).unwrap();
    t.draw(|f| mmapscope::ui::render(m, f)).unwrap();
    t
}

pub(crate) fn act<M: Into<mmapscope::action::Msg> + Clone>(m: &mut Model, actions: &[M]) {
    for a in actions {
        update(m, a.clone());
    }
    fake_probe(m);
}

#[test]
fn start_80x24() {
    let m = model(4, (80, 24));
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn start_120x40() {
    let m = model(4, (120, 40));
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn padding_page_and_beyond_eof_120x40() {
    let mut m = model(6, (120, 40));
    // The end of page 3 (padding) and page 4, wholly beyond EOF.
    act(
        &mut m,
        &[const { Action::Grid(GridAction::Move(Motion::NextPage)) }; 4],
    );
    act(
        &mut m,
        &[const { Action::Grid(GridAction::Move(Motion::Up)) }; 3],
    );
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn padding_page_80x24() {
    let mut m = model(4, (80, 24));
    act(
        &mut m,
        &[Action::Grid(GridAction::Goto(
            mmapscope::action::GotoTarget::Page(3),
        ))],
    );
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn help_overlay_80x24() {
    let mut m = model(4, (80, 24));
    act(&mut m, &[Action::View(ViewAction::ToggleHelp)]);
    assert_eq!(m.screen.overlay, Overlay::Help);
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn goto_prompt_and_virtual_addresses_120x40() {
    let mut m = model(4, (120, 40));
    act(
        &mut m,
        &[
            Action::View(ViewAction::ToggleOffsets),
            Action::Grid(GridAction::GotoPrompt),
        ],
    );
    for c in "p 2".chars() {
        act(
            &mut m,
            &[Action::Grid(GridAction::Prompt(
                mmapscope::action::PromptEdit::Insert(c),
            ))],
        );
    }
    insta::assert_snapshot!("goto_prompt_typing", draw(&m).backend());
    act(
        &mut m,
        &[Action::Grid(GridAction::Prompt(
            mmapscope::action::PromptEdit::Submit,
        ))],
    );
    assert_eq!(m.doc.cursor, 2 * PS);
    insta::assert_snapshot!("goto_page_2_vaddr", draw(&m).backend());
}

#[test]
fn narrow_terminal_shows_the_panel_on_tab() {
    let mut m = model(4, (70, 24));
    assert!(m.layout().panel.is_none());
    act(&mut m, &[Action::View(ViewAction::ToggleFocus)]);
    assert_eq!(m.screen.focus, Focus::Panel);
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn too_small_terminal_says_so() {
    let m = model(4, (50, 12));
    let t = draw(&m);
    let text = format!("{}", t.backend());
    assert!(text.contains("at least 60x16"), "{text}");
    assert!(text.contains("50x12"), "{text}");
}

#[test]
fn smaps_changes_are_shown_then_fade() {
    let mut m = model(4, (120, 40));
    let mut next = m.snap.clone();
    next.readings.vma = Some(vma(16384 + 8192));
    m.apply_snapshot(next.clone(), 1000);
    let text = format!("{}", draw(&m).backend());
    assert!(text.contains("Rss                24 kB (+8)"), "{text}");
    m.apply_snapshot(next, 1000 + mmapscope::model::DELTA_HOLD_MS);
    let text = format!("{}", draw(&m).backend());
    assert!(!text.contains("(+8)"), "{text}");
}

/// A VMA larger than our mapping (merged with a like neighbour) counts the neighbour's
/// pages too: the smaps title says so, at 80 and at 120 columns.
#[test]
fn a_vma_merged_with_a_neighbour_is_said_to_be() {
    for size in [(80, 24), (120, 40)] {
        let mut m = model(6, size);
        let text = format!("{}", draw(&m).backend());
        assert!(!text.contains("neighbour"), "{text}");
        let mut v = m.snap.readings.vma.clone().unwrap();
        v.head.end += 0x20_0000;
        m.snap.readings.vma = Some(v);
        let text = format!("{}", draw(&m).backend());
        assert!(text.contains(" smaps: our mapping + neighbour "), "{text}");
    }
}

#[test]
fn no_color_means_no_colour_anywhere() {
    let mut m = model(6, (120, 40));
    act(
        &mut m,
        &[const { Action::Grid(GridAction::Move(Motion::NextPage)) }; 3],
    );
    let t = draw(&m);
    for cell in t.backend().buffer().content() {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, Color::Reset, "{cell:?}");
    }
    m.settings.color = true;
    let t = draw(&m);
    assert!(
        t.backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
}

#[test]
fn hostile_bytes_and_names_never_reach_the_terminal() {
    let mut m = model(4, (120, 40));
    m.snap.probed.bytes.data[0] = Some(0x1b);
    m.snap.probed.bytes.data[1] = Some(0x07);
    m.snap.probed.bytes.data[2] = Some(0x9b);
    let evil = "/tmp/evil\x1b]0;pwned\x07\u{9b}2J.txt".to_string();
    m.snap.shape.backing = Backing::File {
        path: evil.clone(),
        writable: true,
        regular: true,
    };
    if let Ok(maps) = &mut m.snap.readings.maps {
        std::sync::Arc::make_mut(maps)[5].path = evil.clone();
    }
    m.snap.readings.vma.as_mut().unwrap().head.path = evil;
    let t = draw(&m);
    let text = format!("{}", t.backend());
    assert!(text.contains("evil\\x1b]0;pwned\\x07"), "{text}");
    for cell in t.backend().buffer().content() {
        assert!(
            cell.symbol().chars().all(|c| !c.is_control()),
            "control character in {cell:?}"
        );
    }
}

#[test]
fn a_file_shrinking_under_the_mapping_is_logged_and_drawn_beyond_eof() {
    let mut m = model(4, (120, 40));
    let mut next = m.snap.clone();
    next.shape.geometry.file_size = Some(PS);
    m.apply_snapshot(next, 10);
    let last = &m.log.lines.last().unwrap().text;
    assert!(
        last.contains("shrank") && last.contains("12,388 B -> 4,096 B"),
        "{last}"
    );
    assert!(last.contains("pages 1-3 are now beyond EOF"), "{last}");
    fake_probe(&mut m);
    act(&mut m, &[Action::Grid(GridAction::Move(Motion::NextPage))]);
    let text = format!("{}", draw(&m).backend());
    assert!(
        text.contains("page 1 · offset 0x1000 · beyond EOF"),
        "{text}"
    );
    assert!(text.contains("~~ ~~"), "{text}");
}

/// The explain pane's lines as one text.
fn explain_text(m: &Model) -> String {
    mmapscope::ui::explain::lines(m)
        .into_iter()
        .map(|(t, _)| t)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn explain_pane_120x40() {
    let mut m = model(4, (120, 40));
    act(&mut m, &[Action::View(ViewAction::ToggleExplain)]);
    insta::assert_snapshot!(draw(&m).backend());
    let text = explain_text(&m);
    assert!(text.contains("pagemap: 0xa000000000001234"), "{text}");
    assert!(text.contains("present 1 · swapped 0 · file 1"), "{text}");
    assert!(text.contains("cachestat: cache 1 · dirty 1"), "{text}");
    assert!(
        text.contains("kpageflags: UPTODATE DIRTY LRU MMAP"),
        "{text}"
    );
    assert!(text.contains("msync(MS_SYNC)"), "{text}");
}

#[test]
fn explain_pane_of_a_page_beyond_eof_says_sigbus() {
    let mut m = model(6, (120, 40));
    act(
        &mut m,
        &[
            Action::View(ViewAction::ToggleExplain),
            Action::Grid(GridAction::Goto(mmapscope::action::GotoTarget::Page(5))),
        ],
    );
    let text = explain_text(&m);
    assert!(text.contains("wholly beyond end of file"), "{text}");
    assert!(text.contains("SIGBUS"), "{text}");
}

#[test]
fn tmpfs_says_always_dirty_instead_of_dirty() {
    let mut m = model(4, (120, 40));
    m.snap.always_dirty = true;
    let text = format!("{}", draw(&m).backend());
    assert!(text.contains("tmpfs: always dirty"), "{text}");
    assert!(!text.contains("· dirty"), "{text}");
    assert!(
        text.contains("▕PRPP▏"),
        "the minimap does not call tmpfs pages dirty: {text}"
    );
}

/// The minimap row of a drawn screen, between its brackets.
fn minimap_row(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let row: String = (0..buf.area.width)
        .map(|x| buf[(x, 1)].symbol().to_string())
        .collect();
    let open = row.find('▕').expect("the minimap's left bracket") + '▕'.len_utf8();
    let close = row.rfind('▏').expect("the minimap's right bracket");
    row[open..close].to_string()
}

/// `count` chunks from `from` of a cached file, resident; chunk 5 dirty.
fn cached_chunks(layout: Chunks, from: u64, count: u64) -> ChunkSlice {
    let probed = (from..from + count)
        .map(|i| {
            let (first, pages) = layout.range(i);
            let bucket = Bucket {
                first,
                pages,
                resident: Some(pages),
                present: None,
                dirty: Some(if i == 5 { 3 } else { 0 }),
                cow: None,
                beyond_eof: 0,
                evicted: Some(0),
            };
            (i, bucket)
        })
        .collect();
    ChunkSlice { layout, probed }
}

#[test]
fn minimap_of_a_big_file_fills_in_blank_cells_not_probed_yet_120x40() {
    let mut m = model(4, (120, 40));
    let pages = 8 << 18; // 8 GiB, cached
    m.snap.shape.geometry.len = pages * PS;
    m.snap.shape.geometry.file_size = Some(pages * PS);
    let layout = Chunks::of(pages);
    m.seen.minimap = Minimap::new(layout);
    let blank = minimap_row(&draw(&m));
    assert!(
        blank.chars().all(|c| c == ' '),
        "nothing probed yet: every cell blank, none guessed: {blank:?}"
    );

    // The first refreshes probed 300 of the 1024 chunks: their cells show, the others wait.
    m.seen.minimap.merge(&cached_chunks(layout, 0, 300), 250);
    let t = draw(&m);
    insta::assert_snapshot!(t.backend());
    let row = minimap_row(&t);
    let cells: Vec<char> = row.chars().collect();
    assert_eq!(cells.len(), 111, "{row:?}");
    assert_eq!(cells[0], 'D', "chunk 5 is dirty: {row:?}");
    let known = cells.iter().take_while(|c| **c != ' ').count();
    // A cell is 9 or 10 chunks: the cells wholly inside the first 300 are known.
    assert_eq!(known, 32, "{row:?}");
    assert!(cells[1..known].iter().all(|c| *c == 'R'), "{row:?}");
    assert!(cells[known..].iter().all(|c| *c == ' '), "{row:?}");

    // The rest arrives: no blank cell is left.
    m.seen.minimap.merge(&cached_chunks(layout, 300, 724), 500);
    let row = minimap_row(&draw(&m));
    assert!(row.chars().all(|c| c == 'R' || c == 'D'), "{row:?}");
}

fn wrote(offset: u64, new: &[u8]) -> mmapscope::sys::ops::outcome::Outcome {
    use mmapscope::action::Op;
    use mmapscope::sys::ops::outcome::{Done, Outcome};
    Outcome {
        op: Op::Write {
            offset,
            bytes: new.to_vec(),
        },
        result: Ok(Done::Wrote {
            offset,
            old: vec![0; new.len()],
            new: new.to_vec(),
            padding: 0,
        }),
        elapsed: std::time::Duration::from_micros(42),
        faults: (1, 0),
        smaps_delta: vec![(mmapscope::sys::proc::maps::SmapsField::PrivateDirty, 4096)],
        call: format!(
            "write 0x{offset:x} <- {}",
            new.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        notes: Vec::new(),
    }
}

#[test]
fn edit_mode_with_a_pending_nibble_and_edited_bytes_120x40() {
    let mut m = model(4, (120, 40));
    act(&mut m, &[Action::Edit(EditAction::Start)]);
    mmapscope::update::apply_outcome(
        &mut m,
        &wrote(0, &[0x41, 0x42]),
        mmapscope::action::History::Record,
    );
    assert_eq!(m.doc.cursor, 2, "typing moved the cursor on");
    act(&mut m, &[Action::Edit(EditAction::Nibble(0xc))]);
    // What the next refresh reads back from the mapping.
    m.snap.probed.bytes.data[0] = Some(0x41);
    m.snap.probed.bytes.data[1] = Some(0x42);
    let t = draw(&m);
    insta::assert_snapshot!(t.backend());
    let text = format!("{}", t.backend());
    assert!(text.contains("41 42 c_"), "{text}");
    assert!(
        text.contains(
            "write 0x0 <- 41 42 · 0.04 ms · faults 1 minor, 0 major · Private_Dirty +4 kB"
        ),
        "{text}"
    );
    // Edited bytes are bold and underlined (also without colour).
    let buf = t.backend().buffer();
    // Row 4 of the screen is offset 0: border, 8 offset digits, 2 spaces, then "41".
    let cell = &buf[(11, 4)];
    assert_eq!(cell.symbol(), "4");
    assert!(
        cell.modifier.contains(ratatui::style::Modifier::UNDERLINED),
        "{cell:?}"
    );
    let plain = &buf[(11, 5)];
    assert!(
        !plain
            .modifier
            .contains(ratatui::style::Modifier::UNDERLINED),
        "{plain:?}"
    );
}

#[test]
fn msync_menu_80x24() {
    let mut m = model(4, (80, 24));
    act(
        &mut m,
        &[Action::Ask(AskAction::OpenMenu(
            mmapscope::action::MenuKind::Msync,
        ))],
    );
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn advise_menu_120x40() {
    let mut m = model(4, (120, 40));
    act(
        &mut m,
        &[
            Action::Grid(GridAction::Goto(mmapscope::action::GotoTarget::Page(1))),
            Action::Ask(AskAction::OpenMenu(mmapscope::action::MenuKind::Advise)),
        ],
    );
    let text = format!("{}", draw(&m).backend());
    assert!(text.contains("madvise MADV_DONTNEED · page 1"), "{text}");
    assert!(text.contains("posix_fadvise POSIX_FADV_DONTNEED"), "{text}");
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn confirm_before_losing_private_edits_80x24() {
    let mut m = model(4, (80, 24));
    m.snap.shape.mode = MapMode::Private;
    mmapscope::update::apply_outcome(
        &mut m,
        &wrote(0, &[0x41]),
        mmapscope::action::History::Record,
    );
    act(&mut m, &[Action::Ask(AskAction::SwitchMode)]);
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn focused_log_scrolls_120x40() {
    let mut m = model(4, (120, 40));
    for i in 0..30 {
        m.log(format!("event number {i}"));
    }
    act(
        &mut m,
        &[
            Action::View(ViewAction::ToggleFocus),
            Action::View(ViewAction::ToggleFocus),
            Action::View(ViewAction::ScrollLog(5)),
        ],
    );
    let text = format!("{}", draw(&m).backend());
    assert!(text.contains("event number 24"), "{text}");
    assert!(!text.contains("event number 29"), "scrolled back: {text}");
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn bytes_changed_by_another_process_are_highlighted_then_fade() {
    let mut m = model(4, (120, 40));
    let mut next = m.snap.clone();
    next.probed.bytes.data[3] = Some(b'!');
    m.apply_snapshot(next.clone(), 100);
    assert!(m.seen.foreign.contains_key(&3));
    assert!(
        m.log
            .lines
            .last()
            .unwrap()
            .text
            .contains("1 byte on screen changed by another process")
    );
    let t = draw(&m);
    let reversed = t
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| c.symbol() == "!" && c.modifier.contains(ratatui::style::Modifier::REVERSED))
        .count();
    assert_eq!(reversed, 1, "the changed byte's text cell is reversed");
    // A second change updates that log line instead of adding one.
    let lines = m.log.lines.len();
    let mut again = next.clone();
    again.probed.bytes.data[3] = Some(b'?');
    m.apply_snapshot(again.clone(), 200);
    assert_eq!(m.log.lines.len(), lines);
    assert!(
        m.log.lines.last().unwrap().text.ends_with("seen 2 times"),
        "{:?}",
        m.log.lines.last()
    );
    m.apply_snapshot(again, 200 + mmapscope::model::FOREIGN_HOLD_MS);
    assert!(m.seen.foreign.is_empty());
    // Our own writes are not someone else's.
    mmapscope::update::apply_outcome(&mut m, &wrote(5, b"?"), mmapscope::action::History::Record);
    let mut mine = m.snap.clone();
    mine.probed.bytes.data[5] = Some(b'?');
    m.apply_snapshot(mine, 5000);
    assert!(m.seen.foreign.is_empty());
}

fn lesson_model(size: (u16, u16)) -> Model {
    use mmapscope::model::{LessonPane, LessonResult};
    let mut m = model(4, size);
    m.lesson = Some(LessonPane {
        name: "private".into(),
        title: "Copy-on-write".into(),
        step: 3,
        total: 8,
        say: "The first store into a MAP_PRIVATE page copies it: look at page 1's header, it now \
              says cow, and at smaps: Anonymous grew by one page. The file on disk did not change."
            .into(),
        results: vec![
            LessonResult {
                text: "write 0x1000 7a".into(),
                ok: true,
                expected_error: false,
                skipped: false,
                detail: String::new(),
            },
            LessonResult {
                text: "expect page 1 cow == true".into(),
                ok: true,
                expected_error: false,
                skipped: false,
                detail: "is true".into(),
            },
            LessonResult {
                text: "expect vma anonymous == 4096".into(),
                ok: false,
                expected_error: false,
                skipped: false,
                detail: "expect failed: vma anonymous is 0, expected == 4096".into(),
            },
        ],
        show: None,
        fields: Vec::new(),
        scroll: 0,
    });
    m
}

#[test]
fn lesson_screen_80x24_colour() {
    let mut m = lesson_model((80, 24));
    m.settings.color = true;
    let t = draw(&m);
    let text = format!("{}", t.backend());
    assert!(text.contains("lesson private · step 3/8"), "{text}");
    assert!(text.contains("copies it"), "the narration wraps: {text}");
    assert!(
        t.backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn lesson_screen_80x24_no_color() {
    let m = lesson_model((80, 24));
    let t = draw(&m);
    for cell in t.backend().buffer().content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn high_contrast_dims_nothing() {
    let mut m = model(6, (120, 40));
    m.settings.color = true;
    m.settings.high_contrast = true;
    act(
        &mut m,
        &[Action::Grid(GridAction::Goto(
            mmapscope::action::GotoTarget::Page(3),
        ))],
    );
    let t = draw(&m);
    for cell in t.backend().buffer().content() {
        assert!(
            !cell.modifier.contains(ratatui::style::Modifier::DIM),
            "nothing dimmed for a projector: {cell:?}"
        );
    }
}

#[test]
fn a_file_we_may_not_write_says_mapped_by_us_not_resident() {
    let mut m = model(4, (120, 40));
    m.snap.shape.backing = Backing::File {
        path: "/etc/ro.txt".into(),
        writable: false,
        regular: true,
    };
    let text = format!("{}", draw(&m).backend());
    assert!(
        text.contains("page 0 · offset 0x0 · mapped by us"),
        "{text}"
    );
    assert!(!text.contains("· resident"), "{text}");
}

/// After `fork` on a MAP_PRIVATE mapping of the demo file: page 0 a private copy still shared
/// with the child (same frame, mapped twice), page 1 a file page only we map, page 2 a copy our
/// write split off (ours alone), page 3 a file page both map; Pss halved for what is shared.
fn fork_model(size: (u16, u16)) -> Model {
    let mut m = model(4, size);
    m.snap.shape.mode = MapMode::Private;
    m.lab.child = Some(4242);
    let ctx = DecodeCtx {
        mode: MapMode::Private,
        file_mapping: true,
        soft_dirty: false,
        always_dirty: false,
    };
    let words: [(u64, u64, u64); 4] = [
        (PM_PRESENT | 0x5000, PM_PRESENT | 0x5000, 2),
        (PM_PRESENT | PM_FILE | 0x6000, 0, 1),
        (PM_PRESENT | 0x7001, PM_PRESENT | 0x7000, 1),
        (
            PM_PRESENT | PM_FILE | 0x8000,
            PM_PRESENT | PM_FILE | 0x8000,
            2,
        ),
    ];
    let clean = CacheStat {
        nr_cache: 1,
        ..CacheStat::default()
    };
    m.snap.probed.pages = (0..4u64)
        .map(|index| {
            let (ours, theirs, count) = words[index as usize];
            let probe = PageProbe {
                resident: Some(true),
                pagemap: Some(ours),
                cache: Some(clean),
                child: Some(theirs),
                mapcount: Some(count),
                ..PageProbe::default()
            };
            VisiblePage {
                index,
                state: PageState::decode(m.snap.shape.geometry.page(index), probe, ctx),
                probe,
            }
        })
        .collect();
    let mut vma = m.snap.readings.vma.clone().expect("the model's VMA");
    vma.head.perms = "rw-p".into();
    vma.memory.pss = 8192;
    vma.memory.shared_clean = 4096;
    vma.memory.shared_dirty = 4096;
    vma.memory.private_clean = 4096;
    vma.memory.private_dirty = 4096;
    vma.memory.anonymous = 8192;
    m.snap.readings.vma = Some(vma);
    m.log(
        "fork() · 0.33 ms · Pss -8 kB, Shared_Dirty +4 kB · pid 4242 keeps every mapping of ours",
    );
    m.log("write 0x2000 <- 41 · copy-on-write after fork: page 2 was shared with the child; your write copied it");
    m
}

#[test]
fn fork_view_120x40() {
    let m = fork_model((120, 40));
    let text = format!("{}", draw(&m).backend());
    assert!(text.contains("fork: child pid 4242"), "{text}");
    assert!(text.contains("page 0 · 0x0 · R P C -d m2 K"), "{text}");
    let words = |page| {
        mmapscope::ui::hex_grid::state_words(&m, page)
            .into_iter()
            .map(|w| w.long)
            .collect::<Vec<_>>()
    };
    assert!(words(0).contains(&"shared with child".to_string()));
    assert!(words(0).contains(&"mapped 2 times".to_string()));
    assert!(
        words(1).contains(&"not shared with child".to_string()),
        "{:?}",
        words(1)
    );
    assert!(
        words(2).contains(&"not shared with child".to_string()),
        "{:?}",
        words(2)
    );
    assert!(
        words(3).contains(&"shared with child".to_string()),
        "{:?}",
        words(3)
    );
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn fork_view_explained_and_the_child_menu_80x24() {
    let mut m = fork_model((120, 40));
    update(&mut m, Action::View(ViewAction::ToggleExplain));
    let text = explain_text(&m);
    assert!(
        text.contains("child pid 4242 pagemap: 0x8000000000005000"),
        "{text}"
    );
    assert!(text.contains("kpagecount: 2"), "{text}");
    assert!(
        text.contains("shared with the child: one physical page"),
        "{text}"
    );
    let mut m = fork_model((80, 24));
    update(&mut m, Action::Lab(LabAction::Fork));
    assert!(
        matches!(m.screen.overlay, Overlay::Menu { .. }),
        "F with a child: its menu"
    );
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn an_operation_prompt_shows_what_it_asks_120x40() {
    let mut m = model(4, (120, 40));
    update(&mut m, Action::Lab(LabAction::Exec));
    for c in "1000 234".chars() {
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(mmapscope::action::PromptEdit::Insert(c))),
        );
    }
    let text = format!("{}", draw(&m).backend());
    assert!(
        text.contains("call fn(A, B) at 0x0 in a child; A B (Enter: 0 0): 1000 234"),
        "{text}"
    );
}
/// The address-space view of `maps()` with Rss, as the session would hand it over.
pub(crate) fn space_model(size: (u16, u16)) -> Model {
    use mmapscope::sys::proc::process::{VmaMemory, VmaSummary, kind_of};
    let mut m = model(6, size);
    let vmas = maps()
        .into_iter()
        .map(|line| {
            let size = line.end - line.start;
            VmaSummary {
                kind: kind_of(&line, "/usr/bin/mmapscope", Some((ADDR, ADDR + 6 * PS))),
                rss: Some(size / 2),
                mem: Some(VmaMemory {
                    rss: size / 2,
                    pss: size / 4,
                    private: size / 8,
                    shared: size / 2 - size / 8,
                    anonymous: if line.path.starts_with('/') {
                        0
                    } else {
                        size / 2
                    },
                    ..VmaMemory::default()
                }),
                label: None,
                line,
            }
        })
        .collect();
    update(&mut m, Action::Space(SpaceAction::Open));
    update(
        &mut m,
        Event::SpaceProbed {
            vmas,
            title: "pid 4242 mmapscope (this process) · 9 VMAs".into(),
            read_ms: 0,
            note: None,
        },
    );
    m
}

#[test]
fn address_space_view_80x24_mono() {
    let m = space_model((80, 24));
    assert_eq!(
        m.screen.overlay,
        Overlay::Space { selected: 5 },
        "opens on ours"
    );
    let t = draw(&m);
    for cell in t.backend().buffer().content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn address_space_view_120x40_colour() {
    let mut m = space_model((120, 40));
    m.settings.color = true;
    update(&mut m, Action::Space(SpaceAction::Move(-3)));
    assert_eq!(m.screen.overlay, Overlay::Space { selected: 2 }, "the heap");
    let t = draw(&m);
    let text = format!("{}", t.backend());
    for word in [
        "heap", "library", "program", "stack", "kernel", "ours", "gap of",
    ] {
        assert!(text.contains(word), "{word}: {text}");
    }
    // Each kind in its own colour: the bars of the heap, a library and the stack differ.
    let buf = t.backend().buffer();
    let bar_colour = |needle: &str| {
        let row = text
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {text}"));
        // The bar starts after the frame and the selection mark.
        buf[(4, row as u16)].fg
    };
    let (heap, lib, stack) = (
        bar_colour("[heap]"),
        bar_colour("libc.so.6"),
        bar_colour("[stack]"),
    );
    assert!(
        heap != lib && lib != stack && heap != stack,
        "{heap:?} {lib:?} {stack:?}"
    );
    insta::assert_snapshot!(t.backend());
}

/// Sorted by Rss and filtered by a kind, at 80x24 and 120x40: the columns that fit, the
/// totals, and what the filter kept.
#[test]
fn address_space_view_sorted_and_filtered() {
    for size in [(80, 24), (120, 40)] {
        let mut m = space_model(size);
        update(&mut m, Action::Space(SpaceAction::SortNext));
        update(&mut m, Action::Space(SpaceAction::FilterStart));
        for c in "library".chars() {
            update(
                &mut m,
                Action::Space(SpaceAction::Filter(mmapscope::action::PromptEdit::Insert(
                    c,
                ))),
            );
        }
        let t = draw(&m);
        let text = format!("{}", t.backend());
        assert!(text.contains("/library█  2 of 9 VMAs"), "{text}");
        assert!(text.contains("▼Rss"), "{text}");
        assert!(text.contains("Rss 1.6M"), "the totals: {text}");
        let libc = text.find("libc.so.6").expect("libc");
        let ld = text.find("ld-linux").expect("ld.so");
        assert!(libc < ld, "the larger Rss first");
        assert!(!text.contains("[heap]"), "filtered out");
        insta::assert_snapshot!(
            format!("space_sorted_filtered_{}x{}", size.0, size.1),
            t.backend()
        );
    }
}

/// An address typed in the filter selects its VMA and says where it is; in a gap, what is
/// around it.
#[test]
fn address_space_view_finds_an_address_80x24() {
    let mut m = space_model((80, 24));
    update(&mut m, Action::Space(SpaceAction::FilterStart));
    for c in "0x7f3a1b1d0010".chars() {
        update(
            &mut m,
            Action::Space(SpaceAction::Filter(mmapscope::action::PromptEdit::Insert(
                c,
            ))),
        );
    }
    assert_eq!(m.screen.overlay, Overlay::Space { selected: 4 });
    let text = format!("{}", draw(&m).backend());
    assert!(
        text.contains("0x7f3a1b1d0010 is in [anonymous] (+0x10)"),
        "{text}"
    );
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn a_vma_of_another_process_names_it_in_the_header_and_keeps_its_end() {
    let mut m = model(4, (120, 40));
    let looking = mmapscope::model::Looking {
        pid: 4242,
        process: "pid 4242 python3".into(),
        other: true,
        vma: "[heap]".into(),
        via: "/proc/PID/mem".into(),
        start: ADDR,
        back: false,
        ended: None,
        reopen: false,
    };
    update(&mut m, Event::Looking(Some(looking.clone())));
    m.snap.shape.backing = Backing::Anon;
    update(
        &mut m,
        Event::Looking(Some(mmapscope::model::Looking {
            ended: Some("the process has exited".into()),
            ..looking
        })),
    );
    let text = format!("{}", draw(&m).backend());
    let header = text.lines().next().unwrap_or_default();
    assert!(header.contains("pid 4242 python3"), "{header}");
    assert!(
        header.contains("the process has exited (last state)"),
        "{header}"
    );
    assert!(header.contains("[heap]"), "{header}");
    assert!(text.contains("/proc/4242/maps"), "{text}");
    assert!(text.contains("smaps of this VMA"), "{text}");
    assert!(
        m.log
            .lines
            .iter()
            .any(|l| l.text.contains("exited; the last state stays")),
        "{:?}",
        m.log
    );
    update(&mut m, Action::Space(SpaceAction::Back));
    assert!(
        m.space.looking.is_some(),
        "no mapping of ours to go back to with --pid"
    );
}

/// Pages of the page map's mapping: 5,000, the file ending at page 4,800.
const MAP_PAGES: u64 = 5000;

/// What the kernel would say of page `p` of that mapping: resident up to 3,000 and here and
/// there after, present 1,000-1,599, dirty 1,200-1,259 and 2,500, beyond EOF from 4,800.
fn map_page(p: u64) -> (bool, bool, bool, bool) {
    let beyond = p >= 4800;
    let resident = !beyond && (p < 3000 || p % 97 < 10);
    let present = (1000..1600).contains(&p);
    let dirty = (1200..1260).contains(&p) || p == 2500;
    (resident, present, dirty, beyond)
}

/// The page map's cells as the session would read them for the window open now.
fn fill_page_map(m: &mut Model) {
    let w = m.page_map_window().expect("the page map is open");
    let buckets = (w.first_cell()..w.first_cell() + w.cells())
        .map(|cell| {
            let first = cell * w.per_cell;
            let pages = w.per_cell.min(MAP_PAGES - first);
            let states: Vec<_> = (first..first + pages).map(map_page).collect();
            let n = |f: fn(&(bool, bool, bool, bool)) -> bool| {
                states.iter().filter(|s| f(s)).count() as u64
            };
            Bucket {
                first,
                pages,
                resident: Some(n(|s| s.0)),
                present: Some(n(|s| s.1)),
                dirty: Some(n(|s| s.2)),
                cow: Some(0),
                beyond_eof: n(|s| s.3),
                evicted: None,
            }
        })
        .collect();
    m.page_map = mmapscope::model::PageMapData {
        first: w.first_page(),
        per_cell: w.per_cell,
        buckets,
    };
}

pub(crate) fn page_map_model(size: (u16, u16), actions: &[Action]) -> Model {
    let mut m = model(MAP_PAGES, size);
    m.snap.shape.geometry.file_size = Some(4800 * PS);
    act(
        &mut m,
        &[Action::Grid(GridAction::Goto(
            mmapscope::action::GotoTarget::Page(1230),
        ))],
    );
    update(&mut m, Action::PageMap(PageMapAction::Open));
    for a in actions {
        update(&mut m, a.clone());
    }
    fill_page_map(&mut m);
    m
}

#[test]
fn page_map_80x24() {
    let m = page_map_model((80, 24), &[]);
    let t = draw(&m);
    let text = format!("{}", t.backend());
    assert!(
        text.contains("page map · 1 cell = 8 pages (32 KiB)"),
        "{text}"
    );
    assert!(
        text.contains("all 5,000 pages: resident 3,190  present 600  dirty 61"),
        "{text}"
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn page_map_80x24_colour() {
    let mut m = page_map_model((80, 24), &[]);
    m.settings.color = true;
    let t = draw(&m);
    let dirty = t
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| c.symbol() == "D" && c.fg == Color::Yellow)
        .count();
    assert!(dirty >= 8, "dirty cells are yellow: {dirty}");
    insta::assert_debug_snapshot!(t.backend().buffer());
}

/// Zoomed in twice (to one page a cell at 120x40) and moved: a window of the mapping, the
/// selection kept.
fn zoomed(size: (u16, u16)) -> Model {
    use mmapscope::action::CellMove;
    page_map_model(
        size,
        &[
            Action::PageMap(PageMapAction::Zoom(true)),
            Action::PageMap(PageMapAction::Zoom(true)),
            Action::PageMap(PageMapAction::Move(CellMove::Down)),
            Action::PageMap(PageMapAction::Move(CellMove::Right)),
        ],
    )
}

#[test]
fn page_map_120x40() {
    let m = zoomed((120, 40));
    let t = draw(&m);
    let text = format!("{}", t.backend());
    assert!(text.contains("1 cell = 1 page (4 KiB)"), "{text}");
    assert!(text.contains("shown: "), "a window, not all: {text}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn page_map_120x40_colour() {
    let mut m = zoomed((120, 40));
    m.settings.color = true;
    let t = draw(&m);
    insta::assert_debug_snapshot!(t.backend().buffer());
}

#[test]
fn a_search_shows_its_progress_and_the_find_prompt_its_text() {
    let mut m = model(6, (120, 40));
    update(&mut m, Action::Search(SearchAction::Prompt));
    for c in "\"ab".chars() {
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(mmapscope::action::PromptEdit::Insert(c))),
        );
    }
    let text = format!("{}", draw(&m).backend());
    assert!(
        text.contains("find (hex 7f 45, \"text\"; ! faults pages in): \"ab█"),
        "{text}"
    );
    update(
        &mut m,
        Action::Grid(GridAction::Prompt(mmapscope::action::PromptEdit::Insert(
            '"',
        ))),
    );
    update(
        &mut m,
        Action::Grid(GridAction::Prompt(mmapscope::action::PromptEdit::Submit)),
    );
    let id = m.search.running.as_ref().expect("a search runs").id;
    update(
        &mut m,
        Event::SearchProgress {
            id,
            done: 3,
            total: 6,
        },
    );
    let text = format!("{}", draw(&m).backend());
    assert!(
        text.contains("searching /\"ab\": 50% (3 of 6 pages) · Esc stops"),
        "{text}"
    );
}

/// At 80x24 the progress of a search over 64 TiB keeps its pages done, its total and Esc on
/// one line; a long pattern is cut (with a marker) to make room.
#[test]
fn a_search_over_64_tib_shows_its_progress_at_80x24() {
    let mut m = model(6, (80, 24));
    let total = 1u64 << 34;
    let progress = |m: &mut mmapscope::model::Model, done| {
        let id = m.search.running.as_ref().expect("a search runs").id;
        update(m, Event::SearchProgress { id, done, total });
    };
    update(
        &mut m,
        Action::Grid(GridAction::Goto(mmapscope::action::GotoTarget::State(
            mmapscope::search::query::StateQuery::parse("resident").unwrap(),
        ))),
    );
    progress(&mut m, 1 << 31);
    let text = format!("{}", draw(&m).backend());
    assert!(
        text.contains(
            " searching : resident: 12% (2,147,483,648 of 17,179,869,184 pages) · Esc stops"
        ),
        "{text}"
    );
    update(&mut m, Action::Search(SearchAction::Prompt));
    // Typed as the prompt takes it: an escaped ESC (`\x1b`), which the label shows escaped.
    let pattern = format!("\"{}\\x1b[31m\"", "needle ".repeat(20));
    for c in pattern.chars() {
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(mmapscope::action::PromptEdit::Insert(c))),
        );
    }
    update(
        &mut m,
        Action::Grid(GridAction::Prompt(mmapscope::action::PromptEdit::Submit)),
    );
    progress(&mut m, 1 << 33);
    let text = format!("{}", draw(&m).backend());
    let line = text
        .lines()
        .find(|l| l.contains("searching"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(
            " searching /\"needle ne…: 50% (8,589,934,592 of 17,179,869,184 pages) · Esc stops"
        ),
        "{line}"
    );
}

#[test]
fn also_pane_beside_the_grid_marks_the_bytes_that_differ_120x40() {
    let mut m = model(4, (120, 40));
    let mut also = m.snap.clone();
    also.shape.mode = MapMode::Private;
    also.shape.addr = 0x7f3a_1d00_0000;
    // The private copy diverged at offset 0x12: its byte and its page's state.
    let at = 0x12 - also.probed.bytes.start;
    also.probed.bytes.data[at as usize] = Some(b'Z');
    if let Some(p) = also.probed.pages.iter_mut().find(|p| p.index == 0) {
        p.state.place.cow = Some(true);
    }
    update(&mut m, Event::AlsoProbed(Some(Box::new(also))));
    let t = draw(&m);
    let text = format!("{}", t.backend());
    assert!(text.contains("also: MAP_PRIVATE"), "{text}");
    assert!(text.contains("≠1"), "one byte differs on that row: {text}");
    assert!(text.contains("page 0: R P C"), "{text}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn bytes_left_unread_show_dots_and_bytes_that_failed_show_question_marks() {
    let mut m = model(4, (120, 40));
    // No bytes for page 0's first two rows: left unread on purpose they show `..`, a copy that
    // failed shows `??`.
    m.snap.probed.bytes.unread = vec![0];
    for b in m.snap.probed.bytes.data.iter_mut().take(32) {
        *b = None;
    }
    let text = format!("{}", draw(&m).backend());
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("00000000  ") || l.contains("00000010  "))
        .collect();
    assert!(
        rows.iter()
            .all(|r| r.contains(".. .. ..") && !r.contains("??")),
        "unread page: {rows:?}"
    );
    m.snap.probed.bytes.unread.clear();
    let text = format!("{}", draw(&m).backend());
    assert!(
        text.lines()
            .any(|l| l.contains("00000000  ") && l.contains("?? ?? ??")),
        "a failed copy: {text}"
    );
}

#[test]
fn counters_and_the_address_space_read_seconds_ago_say_so_at_80x24() {
    let mut m = model(4, (80, 24));
    m.snap.readings.vma_age_ms = 7_400;
    let text = format!("{}", draw(&m).backend());
    assert!(text.contains("smaps of our mapping · 7 s ago"), "{text}");
    // Fresh (within two refreshes): nothing said.
    m.snap.readings.vma_age_ms = 400;
    let text = format!("{}", draw(&m).backend());
    assert!(!text.contains("ago"), "{text}");

    let mut m = space_model((80, 24));
    m.log.now_ms = 12_000;
    let text = format!("{}", draw(&m).backend());
    assert!(text.contains("9 VMAs · smaps 12 s ago"), "{text}");
}

/// The screen's rows as text.
fn rows_of(m: &Model) -> Vec<String> {
    format!("{}", draw(m).backend())
        .lines()
        .map(|l| l.trim_matches('"').to_string())
        .collect()
}

#[test]
fn the_header_keeps_the_page_count_and_the_key_line_cuts_no_hint() {
    for cols in [60, 70, 80, 100, 120, 200, 300] {
        let mut m = model(1, (cols, 24));
        m.snap.shape.backing = Backing::File {
            path: "/tmp/a-rather-long-directory/and-a-long-file-name-for-a-projector.txt".into(),
            writable: true,
            regular: true,
        };
        let rows = rows_of(&m);
        assert!(rows[0].contains(" 1 page"), "{cols}: {}", rows[0]);
        assert!(!rows[0].contains("1 pages"), "{cols}: {}", rows[0]);
        // Every hint on the key line is whole: its words are those of a hint, and a cut
        // one is replaced by `…`.
        let keys = rows.last().unwrap();
        let ctx = mmapscope::input::KeyContext::of(m.screen.focus, &Overlay::None, None, false);
        let hints = mmapscope::keys::hints(ctx);
        let shown: Vec<&str> = keys
            .split("  ")
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        for h in &shown {
            assert!(
                *h == "…" || hints.iter().any(|(k, w)| format!("{k} {w}") == *h),
                "{cols}: `{h}` is not a whole hint: {keys}"
            );
        }
        let all_fit = shown.len() == hints.len();
        assert!(all_fit || keys.trim_end().ends_with('…'), "{cols}: {keys}");
    }
}

#[test]
fn help_wraps_inside_the_overlay_at_80_and_uses_the_width_at_200() {
    let mut m = model(4, (80, 24));
    act(&mut m, &[Action::View(ViewAction::ToggleHelp)]);
    // Scroll through: every word of every description shows up inside the borders.
    let mut seen = String::new();
    for _ in 0..40 {
        for r in rows_of(&m) {
            seen.push_str(&r);
            seen.push('\n');
        }
        update(&mut m, Action::View(ViewAction::ScrollHelp(10)));
    }
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let inside: Vec<String> = seen
        .lines()
        .filter(|l| l.starts_with('│'))
        .flat_map(|l| words(l.trim_matches('│')))
        .collect();
    for (_, what) in mmapscope::keys::help_lines() {
        for w in words(what) {
            assert!(inside.contains(&w), "`{w}` of `{what}` never shows");
        }
    }
    let mut wide = model(4, (200, 50));
    act(&mut wide, &[Action::View(ViewAction::ToggleHelp)]);
    let rows = rows_of(&wide);
    let top = rows.iter().find(|r| r.contains("help: Keys")).unwrap();
    let width = top.trim().chars().count();
    assert!(
        width > 86,
        "the overlay takes the width its lines need: {width}"
    );
    assert!(
        rows.iter().all(|r| !r.contains("(needs PROT_EXE│")),
        "{rows:#?}"
    );
}

#[test]
fn a_long_prompt_scrolls_to_keep_what_is_typed_in_view() {
    let mut m = model(4, (120, 40));
    act(&mut m, &[Action::Search(SearchAction::Prompt)]);
    let typed: String = (0..100)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for c in typed.chars() {
        update(
            &mut m,
            Action::Grid(GridAction::Prompt(mmapscope::action::PromptEdit::Insert(c))),
        );
    }
    let rows = rows_of(&m);
    let line = rows.iter().find(|r| r.contains("find (hex")).unwrap();
    assert!(
        line.contains(&format!("{}█", &typed[typed.len() - 40..])),
        "{line}"
    );
    assert!(
        line.contains("): …"),
        "what went off to the left is marked: {line}"
    );
    assert!(line.chars().count() <= 120);
}

#[test]
fn a_lesson_pane_shows_the_whole_narration_and_scrolls_its_results_80x24() {
    let mut m = lesson_model((80, 24));
    let pane = m.lesson.as_mut().unwrap();
    pane.say = "word ".repeat(60);
    for i in 0..12 {
        pane.results.push(mmapscope::model::LessonResult {
            text: format!("expect page {i} present == true"),
            ok: true,
            expected_error: false,
            skipped: false,
            detail: "is true".into(),
        });
    }
    let rows = rows_of(&m);
    let text = rows.join("\n");
    assert_eq!(text.matches("word").count(), 60, "{text}");
    assert!(text.contains("J K scroll"), "{text}");
    assert!(!text.contains("expect page 11 "), "{text}");
    for _ in 0..30 {
        update(&mut m, Action::Lesson(LessonAction::Scroll(1)));
    }
    let text = rows_of(&m).join("\n");
    assert!(
        text.contains("expect page 11 present == true  is true"),
        "{text}"
    );
    assert!(text.contains("of 16 · J K scroll"), "{text}");
    assert_eq!(
        text.matches("word").count(),
        60,
        "the narration stays: {text}"
    );
    insta::assert_snapshot!(draw(&m).backend());
    // Tab twice: the log takes the results' place, in more lines.
    for l in 0..20 {
        m.log(format!("log line {l} with enough words to wrap at eighty columns when it is shown whole in the pane"));
    }
    update(&mut m, Action::View(ViewAction::ToggleFocus));
    update(&mut m, Action::View(ViewAction::ToggleFocus));
    let text = rows_of(&m).join("\n");
    assert!(text.contains("log: ↑↓ scroll · Tab back"), "{text}");
    assert!(text.contains("shown whole in the pane"), "{text}");
    assert!(text.contains("log line 19 "), "{text}");
}

#[test]
fn a_step_shows_its_offset_and_lists_its_fields_first_80x24() {
    use mmapscope::sys::proc::maps::SmapsField;
    let mut m = lesson_model((80, 24));
    let pane = m.lesson.clone().unwrap();
    update(
        &mut m,
        Event::ShowLesson(Some(mmapscope::model::LessonPane {
            fields: vec![SmapsField::Locked, SmapsField::ThpEligible],
            show: Some(0x3030),
            ..pane
        })),
    );
    act(&mut m, &[Event::ShowOffset(0x3030)]);
    let text = rows_of(&m).join("\n");
    assert!(text.contains("00003030  "), "{text}");
    assert!(
        text.contains("page 3 ·"),
        "the page's header stays on top when the row fits under it: {text}"
    );
    // Deeper in the page (row 14 at 8 bytes a row): the row, a third of the way down.
    act(&mut m, &[Event::ShowOffset(0x3070)]);
    let rows = rows_of(&m);
    let text = rows.join("\n");
    assert!(text.contains("00003070  "), "{text}");
    assert!(!text.contains("00003000  "), "{text}");
    assert!(
        !text.contains(" pa┐"),
        "the grid's title cuts no state in the middle: {text}"
    );
    let locked = rows.iter().position(|r| r.contains("Locked")).unwrap();
    let thp = rows.iter().position(|r| r.contains("THPeligible")).unwrap();
    let size = rows
        .iter()
        .position(|r| r.contains("│Size "))
        .unwrap_or(usize::MAX);
    assert!(locked < thp && thp < size, "{text}");
}

/// `:` to an address in the heap of our own process: the heap opens with the cursor on the
/// address (the log says where, and that Ctrl-o goes back), and its smaps counters, not waited
/// for after a jump, are said to be being read.
fn jumped(size: (u16, u16)) -> Model {
    use mmapscope::action::GotoTarget;
    const HEAP: u64 = 0x55d0_0100_0000;
    let mut m = model(4, size);
    let cmds = update(
        &mut m,
        Action::Grid(GridAction::Goto(GotoTarget::Address(HEAP + 0x1048))),
    );
    assert_eq!(
        cmds,
        vec![mmapscope::action::Command::GotoAddress(HEAP + 0x1048)]
    );
    let looking = mmapscope::model::Looking {
        pid: 4242,
        process: "pid 4242 mmapscope".into(),
        vma: "[heap]".into(),
        via: "process_vm_readv".into(),
        start: HEAP,
        back: true,
        ..Default::default()
    };
    update(&mut m, Event::Looking(Some(looking)));
    update(
        &mut m,
        Event::Arrived {
            addr: HEAP + 0x1048,
            base: HEAP,
        },
    );
    let mut snap = m.snap.clone();
    snap.shape.addr = HEAP;
    snap.shape.backing = Backing::Anon;
    snap.shape.mode = MapMode::Private;
    snap.shape.geometry = Geometry {
        page_size: PS,
        offset: 0,
        len: 0x21 * PS,
        file_size: None,
    };
    snap.readings.vma = None;
    snap.readings.vma_pending = true;
    update(
        &mut m,
        Event::Probed {
            snap: Box::new(snap),
            now_ms: 300,
            clock: "10:21:04".into(),
            fresh: false,
        },
    );
    fake_probe(&mut m);
    m
}

#[test]
fn a_jump_to_an_address_in_another_vma_80x24() {
    let m = jumped((80, 24));
    assert_eq!(m.doc.cursor, 0x1048);
    insta::assert_snapshot!(draw(&m).backend());
}

#[test]
fn a_jump_to_an_address_in_another_vma_120x40() {
    let m = jumped((120, 40));
    let text = format!("{}", draw(&m).backend());
    assert!(text.contains("its smaps is being read"), "{text}");
    insta::assert_snapshot!(draw(&m).backend());
}
