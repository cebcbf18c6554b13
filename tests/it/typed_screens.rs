//! The typed views (`T`) and the inspector as whole screens, drawn from a fabricated model
//! (fixed addresses and maps, bytes planted where each view has something to show: the lab's
//! two snippets, a pointer into `[heap]` and one into libc's code, a float, strings), at 80x24
//! and 120x40. Also: what the screen says is what the bytes are (a u64 cell and the inspector
//! agree with the bytes planted; the pointer's name is the VMA's).

use mmapscope::action::{Action, EditAction, GridAction, Motion, TypedAction, ViewKind};
use mmapscope::geometry::Geometry;
use mmapscope::model::Model;
use mmapscope::sys::map::request::{MapMode, Prot};
use mmapscope::sys::probe::snapshot::{Backing, Snapshot, ViewBytes, VisiblePage};
use mmapscope::sys::probe::state::{DecodeCtx, PM_PRESENT, PageProbe, PageState};
use mmapscope::sys::proc::maps::{MapsLine, Vma};
use mmapscope::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PS: u64 = 4096;
const ADDR: u64 = 0x7f3a_1c00_0000;
const HEAP: u64 = 0x55d0_0100_0000;
const LIBC: u64 = 0x7f3a_1b00_0000;

fn maps() -> Vec<MapsLine> {
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
            0x55d0_0002_0000,
            0x55d0_0010_0000,
            "r-xp",
            "/usr/bin/python3",
        ),
        line(HEAP, HEAP + 0x21000, "rw-p", "[heap]"),
        line(
            LIBC,
            LIBC + 0x1d_0000,
            "r-xp",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
        ),
        line(ADDR, ADDR + 2 * PS, "rw-p", ""),
        line(0x7ffc_0000_0000, 0x7ffc_0002_1000, "rw-p", "[stack]"),
    ]
}

/// The bytes planted in page 0 (the rest is zero).
fn page0() -> Vec<u8> {
    let mut b = vec![0u8; PS as usize];
    let mut put = |at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
    put(0x00, &[0xb8, 0x2a, 0, 0, 0, 0xc3]); // ret42: mov eax, 42; ret
    put(0x10, &[0x48, 0x8d, 0x04, 0x37, 0xc3]); // add: lea rax, [rdi+rsi]; ret
    put(0x20, &(HEAP + 0x1230).to_le_bytes());
    put(0x28, &(LIBC + 0x2_a1c0).to_le_bytes());
    put(0x30, &std::f64::consts::PI.to_le_bytes());
    put(0x38, &(-2.5f32).to_le_bytes());
    put(0x3c, &0xdead_beefu32.to_le_bytes());
    put(0x40, b"hello, typed world\0");
    put(0x58, &(-42i64).to_le_bytes());
    put(0x60, b"libc.so.6\0\tGLIBC_2.34\0ab\0");
    b
}

/// An anonymous private mapping of 2 pages, both present, whose bytes were all read.
fn model(size: (u16, u16)) -> Model {
    let geometry = Geometry {
        page_size: PS,
        offset: 0,
        len: 2 * PS,
        file_size: None,
    };
    let mut snap = Snapshot::empty(Backing::Anon, MapMode::Private, Prot::RW, ADDR, geometry);
    snap.readings.maps = Ok(std::sync::Arc::new(maps()));
    let mut vma = Vma::default();
    vma.head.start = ADDR;
    vma.head.end = ADDR + 2 * PS;
    vma.head.perms = "rw-p".into();
    vma.memory.size = 2 * PS;
    vma.memory.rss = 2 * PS;
    vma.memory.private_dirty = 2 * PS;
    vma.memory.anonymous = 2 * PS;
    snap.readings.vma = Some(vma);
    snap.readings.vma_count = 1;
    let ctx = DecodeCtx {
        mode: MapMode::Private,
        file_mapping: false,
        soft_dirty: false,
        always_dirty: false,
    };
    snap.probed.pages = (0..2)
        .map(|index| {
            let probe = PageProbe {
                resident: Some(true),
                pagemap: Some(PM_PRESENT | (0x3000 + index)),
                ..PageProbe::default()
            };
            VisiblePage {
                index,
                state: PageState::decode(geometry.page(index), probe, ctx),
                probe,
            }
        })
        .collect();
    let mut data: Vec<Option<u8>> = page0().into_iter().map(Some).collect();
    data.extend(std::iter::repeat_n(Some(0), PS as usize));
    snap.probed.bytes = ViewBytes {
        start: 0,
        data,
        unread: Vec::new(),
    };
    let mut m = Model::new(snap, size);
    m.log.clock = "10:21:03".into();
    m.settings.color = false;
    m
}

fn draw(m: &Model) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(m.screen.size.0, m.screen.size.1)).unwrap();
    t.draw(|f| mmapscope::ui::render(m, f)).unwrap();
    t
}

fn screen_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let w = buf.area.width as usize;
    buf.content
        .chunks(w)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The model in view `kind` with the cursor at `at`.
fn viewing(kind: ViewKind, at: u64, size: (u16, u16)) -> Model {
    let mut m = model(size);
    update(
        &mut m,
        Action::Grid(GridAction::Goto(mmapscope::action::GotoTarget::Offset(at))),
    );
    update(&mut m, Action::Typed(TypedAction::Set(kind)));
    m
}

#[test]
fn every_typed_view_at_80x24_and_120x40() {
    for size in [(80, 24), (120, 40)] {
        for (kind, at) in [
            (ViewKind::U16, 0x38),
            (ViewKind::U32, 0x3c),
            (ViewKind::U64, 0x20),
            (ViewKind::I64, 0x58),
            (ViewKind::F32, 0x38),
            (ViewKind::F64, 0x30),
            (ViewKind::Text, 0x40),
            (ViewKind::Strings, 0x60),
        ] {
            let m = viewing(kind, at, size);
            let name = format!("{}_{}x{}", kind.word(), size.0, size.1);
            insta::assert_snapshot!(name, draw(&m).backend());
        }
    }
}

#[test]
fn the_shipped_snippets_disassembled_at_80x24_and_120x40() {
    if let Some(why) = mmapscope::model::values::unsupported() {
        eprintln!("SKIPPED the_shipped_snippets_disassembled: {why}");
        return;
    }
    for size in [(80, 24), (120, 40)] {
        for (name, at) in [("ret42", 0), ("add", 0x10)] {
            let m = viewing(ViewKind::Code, at, size);
            let text = screen_text(&draw(&m));
            let first = if name == "ret42" {
                "mov eax,2Ah"
            } else {
                "lea rax,[rdi+rsi]"
            };
            assert!(text.contains(first), "{name}: {text}");
            insta::assert_snapshot!(
                format!("code_{name}_{}x{}", size.0, size.1),
                draw(&m).backend()
            );
        }
    }
}

#[test]
fn the_inspector_in_the_bytes_view_at_80x24_and_120x40() {
    for size in [(80, 24), (120, 40)] {
        let mut m = viewing(ViewKind::Bytes, 0x28, size);
        update(&mut m, Action::Typed(TypedAction::ToggleInspector));
        insta::assert_snapshot!(
            format!("inspector_{}x{}", size.0, size.1),
            draw(&m).backend()
        );
    }
}

#[test]
fn what_the_views_say_is_what_the_bytes_are() {
    let m = viewing(ViewKind::U64, 0x20, (120, 40));
    let text = screen_text(&draw(&m));
    // The cell of the u64 at 0x20 is marked and its row names the VMA; the inspector too.
    assert!(text.contains(&format!("→{:016x}", HEAP + 0x1230)), "{text}");
    assert!(text.contains("→ [heap]+0x1230"), "{text}");
    assert!(text.contains("u64 0x55d001001230"), "{text}");
    let m = viewing(ViewKind::U64, 0x28, (120, 40));
    let text = screen_text(&draw(&m));
    assert!(text.contains("→ libc.so.6 r-xp+0x2a1c0"), "{text}");
    // f64 and f32 read back the values planted; the other order reads other values.
    let mut m = viewing(ViewKind::F64, 0x30, (120, 40));
    assert!(screen_text(&draw(&m)).contains("3.141592653589793"));
    update(&mut m, Action::Typed(TypedAction::SwapOrder));
    let swapped = screen_text(&draw(&m));
    assert!(!swapped.contains("3.141592653589793") && swapped.contains("f64 BE"));
    let m = viewing(ViewKind::F32, 0x38, (120, 40));
    assert!(screen_text(&draw(&m)).contains("-2.5"));
    let m = viewing(ViewKind::U32, 0x3c, (120, 40));
    assert!(screen_text(&draw(&m)).contains("deadbeef"));
    // Strings: the three runs of 4 or more, not "ab".
    let m = viewing(ViewKind::Strings, 0x60, (120, 40));
    let text = screen_text(&draw(&m));
    for s in ["hello, typed world", "libc.so.6", " GLIBC_2.34", "3 runs"] {
        assert!(text.contains(s), "{s}: {text}");
    }
    // Enter on the heap pointer follows it: the log says where.
    let mut m = viewing(ViewKind::U64, 0x20, (120, 40));
    update(&mut m, Action::Edit(EditAction::Start));
    assert!(
        m.log.lines.iter().any(|l| l
            .text
            .contains("followed the pointer 0x55d001001230 → [heap]+0x1230")),
        "{:?}",
        m.log.lines
    );
    // And the cursor moves by the element.
    let mut m = viewing(ViewKind::U64, 0x20, (120, 40));
    update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
    assert_eq!(m.doc.cursor, 0x28);
}
