//! Replay (`mmapscope replay FILE`): a recording written here with the recorder's own writer
//! (fixed addresses, so screens are stable) opened as a session and in a real terminal. Each
//! step, change and jump shows the frame recorded (its page states and bytes); every key that
//! would write or call the kernel is refused by the write gate; the timeline is drawn at 80x24
//! and 120x40 (insta).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mmapscope::action::{
    Action, Ask, AskAction, EditAction, GotoTarget, GridAction, LabAction, MenuKey, PromptEdit,
    ReplayAction, SearchAction, SpaceAction, TimeAction,
};
use mmapscope::geometry::PageGeom;
use mmapscope::input::KeyContext;
use mmapscope::keys::tables;
use mmapscope::model::Overlay;
use mmapscope::record::{
    Event, EventKind, Frame, Header, RecordedFile, RecordedMapping, Subject, Writer,
};
use mmapscope::session::Session;
use mmapscope::sys::ops::op::Op;
use mmapscope::sys::probe::state::{FolioState, PageState, Place, Sources, StateRun, Writes};
use mmapscope::sys::proc::maps::{MapsLine, MemoryCounters, Vma, VmaHead};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::common::pty::Term;

const PS: u64 = 4096;
const ADDR: u64 = 0x7f3a_1c00_0000;
const PAGES: u64 = 4;
/// The file ends 100 bytes into its last page.
const FILE_SIZE: u64 = 3 * PS + 100;
const PATH: &str = "/tmp/rec/data.bin";

fn header() -> Header {
    Header {
        schema: 0,
        tool: "mmapscope test".into(),
        subject: Subject::File {
            path: PATH.into(),
            size: Some(FILE_SIZE),
        },
        session: "record".into(),
        page_size: PS,
        interval_ms: 1000,
        start_unix_ms: 1_800_000_000_000,
        keyframe_every: 4,
        bytes_bound: 1 << 20,
    }
}

fn state(page: u64, present: bool, dirty: bool) -> PageState {
    let valid = if page == PAGES - 1 { 100 } else { PS };
    PageState {
        geom: PageGeom {
            valid_bytes: valid,
            padding_bytes: PS - valid,
            beyond_eof: false,
        },
        place: Place {
            resident: Some(true),
            present: Some(present),
            file_backed: Some(present),
            cow: Some(false),
            ..Place::default()
        },
        writes: Writes {
            dirty: Some(dirty),
            ..Writes::default()
        },
        folio: FolioState::default(),
    }
}

/// The bytes of page `page` in frame `i`: its name, and from frame 4 on page 0 says HELLO.
fn page_bytes(page: u64, i: u64) -> Vec<u8> {
    let mut b = vec![0u8; PS as usize];
    let text = match (page, i) {
        (0, 4..) => "HELLO page zero".to_string(),
        (0, _) => "hello page zero".to_string(),
        _ => format!("bytes of page {page}"),
    };
    b[..text.len()].copy_from_slice(text.as_bytes());
    b
}

/// Frame `i` of six, a second apart: page 0 present and clean throughout; page 1 becomes
/// present and dirty at frame 2 (its bytes recorded from then on); page 0's bytes change at
/// frame 4; frames 1, 3 and 5 repeat the frame before.
fn frame(i: u64) -> Frame {
    let dirty = i >= 2;
    let mut runs = vec![StateRun {
        first: 0,
        count: 1,
        state: state(0, true, false),
    }];
    runs.push(StateRun {
        first: 1,
        count: 1,
        state: state(1, dirty, dirty),
    });
    runs.push(StateRun {
        first: 2,
        count: 1,
        state: state(2, false, false),
    });
    runs.push(StateRun {
        first: 3,
        count: 1,
        state: state(3, false, false),
    });
    let mut bytes = BTreeMap::new();
    bytes.insert(ADDR, page_bytes(0, i));
    if dirty {
        bytes.insert(ADDR + PS, page_bytes(1, i));
    }
    let line = |start: u64, end: u64, perms: &str, path: &str, inode: u64| MapsLine {
        start,
        end,
        perms: perms.into(),
        offset: 0,
        dev: 0x803,
        inode,
        path: path.into(),
    };
    let mut rss = Vma {
        head: VmaHead {
            start: ADDR,
            end: ADDR + PAGES * PS,
            perms: "rw-s".into(),
            path: PATH.into(),
        },
        memory: MemoryCounters {
            size: PAGES * PS,
            rss: PS * (1 + u64::from(dirty)),
            ..MemoryCounters::default()
        },
        ..Vma::default()
    };
    rss.memory.shared_dirty = PS * u64::from(dirty);
    Frame {
        time_ms: i * 1000,
        maps: vec![
            line(
                0x55d0_0000_0000,
                0x55d0_0002_0000,
                "r-xp",
                "/usr/bin/mmapscope",
                11,
            ),
            line(ADDR, ADDR + PAGES * PS, "rw-s", PATH, 12),
            line(0x7ffd_2a4e_1000, 0x7ffd_2a50_2000, "rw-p", "[stack]", 0),
        ],
        smaps: vec![rss],
        mappings: vec![RecordedMapping {
            addr: ADDR,
            len: PAGES * PS,
            offset: 0,
            mode: "shared".into(),
            prot: "rw-".into(),
            file: Some(RecordedFile {
                path: PATH.into(),
                size: Some(FILE_SIZE),
                writable: true,
            }),
            sources: Sources {
                mincore: "ok".into(),
                pagemap: "ok".into(),
                pfn: "ok".into(),
                kpageflags: "ok".into(),
                cachestat: "ok".into(),
                soft_dirty: "unsupported by this kernel".into(),
            },
            runs,
        }],
        bytes,
        events: if i == 2 {
            vec![Event {
                kind: EventKind::Step,
                text: "page 1 is written".into(),
            }]
        } else {
            Vec::new()
        },
    }
}

/// Writes the six frames to `dir/run.mmrec`.
fn recording(dir: &Path) -> PathBuf {
    let path = dir.join("run.mmrec");
    let mut w = Writer::create(&path, header(), false).unwrap();
    for i in 0..6 {
        w.push(&frame(i)).unwrap();
    }
    w.finish().unwrap();
    path
}

fn at(s: &Session) -> usize {
    s.model.time.replay.as_ref().map_or(usize::MAX, |r| r.at)
}

/// Shows page `page` (its header at the top) and reads it as the screen has it: its dirty
/// state, the recorded text at its start (up to the first zero), and whether its bytes were
/// left unread (not recorded).
fn page(s: &mut Session, page: u64) -> (Option<bool>, String, bool) {
    s.act_live(Action::Grid(GridAction::Goto(GotoTarget::Page(page))));
    let off = page * PS;
    let text = (off..off + 32)
        .map_while(|o| s.model.snap.probed.bytes.get(o).filter(|&b| b != 0))
        .map(char::from)
        .collect();
    let dirty = s.model.snap.page(page).and_then(|p| p.state.writes.dirty);
    (
        dirty,
        text,
        s.model.snap.probed.bytes.unread.contains(&page),
    )
}

#[test]
fn steps_changes_and_jumps_show_each_frame_as_recorded() {
    let dir = crate::common::temp_dir();
    let mut s = Session::replay(&recording(dir.path()), (120, 40)).unwrap();
    let replay = s.model.time.replay.clone().unwrap();
    assert_eq!(replay.len(), 6);
    assert_eq!(
        &replay.changes[..],
        &[2, 4],
        "the frames that differ from the one before"
    );
    assert_eq!(at(&s), 0);
    let hello = "hello page zero".to_string();
    assert_eq!(page(&mut s, 0), (Some(false), hello.clone(), false));
    assert_eq!(
        page(&mut s, 1),
        (Some(false), String::new(), true),
        "page 1's bytes are not recorded yet"
    );

    s.act_live(Action::Replay(ReplayAction::Step(1)));
    assert_eq!(at(&s), 1);
    assert_eq!(page(&mut s, 1).0, Some(false));

    s.act_live(Action::Replay(ReplayAction::Change { forward: true }));
    assert_eq!(at(&s), 2);
    assert!(
        s.model
            .log
            .lines
            .iter()
            .any(|l| l.text == "frame 2: step: page 1 is written"),
        "the frame's events are said"
    );
    let page1 = "bytes of page 1".to_string();
    assert_eq!(page(&mut s, 1), (Some(true), page1, false));
    assert_eq!(page(&mut s, 0), (Some(false), hello.clone(), false));
    assert_eq!(
        s.model
            .snap
            .readings
            .vma
            .as_ref()
            .map(|v| v.memory.shared_dirty),
        Some(PS),
        "the side panel's counters are the frame's"
    );

    s.act_live(Action::Replay(ReplayAction::Change { forward: true }));
    assert_eq!(at(&s), 4);
    // Page 0 was on screen: its bytes differ from frame 2's, and the log says why (another
    // frame), not that another process wrote them.
    let said: Vec<&str> = s.model.log.lines.iter().map(|l| l.text.as_str()).collect();
    assert!(
        said.iter()
            .any(|t| t.contains("on screen changed since the frame shown before")),
        "{said:?}"
    );
    assert!(
        !said.iter().any(|t| t.contains("by another process")),
        "{said:?}"
    );
    assert_eq!(page(&mut s, 0).1, "HELLO page zero");

    s.act_live(Action::Replay(ReplayAction::Change { forward: false }));
    assert_eq!(at(&s), 2);
    assert_eq!(page(&mut s, 0).1, hello);

    s.act_live(Action::Replay(ReplayAction::At(5_500)));
    assert_eq!(at(&s), 5);
    s.act_live(Action::Replay(ReplayAction::Frame(0)));
    assert_eq!(at(&s), 0);
    assert_eq!(page(&mut s, 1).0, Some(false));
}

/// The screen's text, rows joined.
fn screen_text(s: &Session) -> String {
    let t = draw(s);
    let b = t.backend().buffer();
    let w = usize::from(b.area.width);
    b.content
        .chunks(w)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_mark_on_one_frame_compares_the_frames_after_it() {
    let dir = crate::common::temp_dir();
    let mut s = Session::replay(&recording(dir.path()), (120, 40)).unwrap();
    s.act_live(Action::Time(TimeAction::Mark));
    let replay = s.model.time.replay.clone().unwrap();
    assert_eq!(replay.mark, Some(0), "the timeline marks frame 0");
    assert!(s.model.time.changes.is_empty());
    // Frame 2 against frame 0: page 1 became present and dirty, nothing else.
    s.act_live(Action::Replay(ReplayAction::Frame(2)));
    let changes = s.model.time.changes.clone();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0].first, changes[0].count), (1, 1));
    let became: Vec<&str> = changes[0].became.names();
    assert!(
        became.contains(&"present") && became.contains(&"dirty"),
        "{became:?}"
    );
    page(&mut s, 1);
    let text = screen_text(&s);
    // The page header, in letters at this width: +P +D (and Δ?: no bytes kept of it).
    assert!(text.contains("page 1 · 0x1000 · R P D +P +D Δ?"), "{text}");
    assert!(
        text.contains("mark on frame 0 (0.0 s) · 1 page changed"),
        "{text}"
    );
    assert!(text.contains("▕M─"), "the timeline's M on frame 0: {text}");
    // Frame 4: page 0's bytes differ from frame 0's (hello -> HELLO: 5 bytes).
    s.act_live(Action::Replay(ReplayAction::Frame(4)));
    page(&mut s, 0);
    let text = screen_text(&s);
    assert!(text.contains("(page 0: R P -d Δ5)"), "{text}");
    assert!(text.contains("5 B changed since mark"), "{text}");
    // Back on frame 0: nothing changed since itself.
    s.act_live(Action::Replay(ReplayAction::Frame(0)));
    assert!(s.model.time.changes.is_empty());
    // `: unmark` drops it, from the timeline too.
    prompt(&mut s, Action::Grid(GridAction::GotoPrompt), "unmark");
    assert!(s.model.time.mark.is_none());
    assert_eq!(s.model.time.replay.as_ref().and_then(|r| r.mark), None);
}

/// A replay's pictures and `diff` come from the frames: the page map of frame 2 (page 1 dirty),
/// the diff of frame 2 against frame 0 (page 1 became present and dirty), the screen as HTML.
#[test]
fn export_and_diff_in_a_replay_draw_the_frames() {
    use mmapscope::sys::ops::op::Export;
    mmapscope::session::set_painter(mmapscope::ui::export::draw);
    let dir = crate::common::temp_dir();
    let mut s = Session::replay(&recording(dir.path()), (120, 40)).unwrap();
    s.act_live(Action::Time(TimeAction::Mark));
    s.act_live(Action::Replay(ReplayAction::Frame(2)));
    let diff = s.diff().unwrap();
    let text = diff.to_string();
    assert!(text.contains("\"dirty\""), "{text}");
    let pages = diff["pages"].as_array().cloned().unwrap_or_default();
    assert_eq!(pages.len(), 1, "{text}");
    for (what, name) in [("map", "map.svg"), ("diff", "diff.svg")] {
        let path = dir.path().join(name);
        let words = ["svg", what, path.to_str().unwrap()];
        let outcomes = s.act(Action::Do(Op::Export(Export::parse(&words).unwrap())));
        assert!(
            outcomes.iter().all(|o| o.result.is_ok()),
            "{what}: {outcomes:?}"
        );
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(
            svg.starts_with("<?xml") || svg.starts_with("<svg"),
            "{what}"
        );
    }
    let html = dir.path().join("screen.html");
    let words = ["html", html.to_str().unwrap()];
    s.act(Action::Do(Op::Export(Export::parse(&words).unwrap())));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("frame 2/5"),
        "the timeline is on the screen exported"
    );
}

/// Marked on frame 0, shown on frame 4 at page 0: the bytes changed since the mark (mono).
#[test]
fn replay_marked_80x24() {
    let dir = crate::common::temp_dir();
    let mut s = Session::replay(&recording(dir.path()), (80, 24)).unwrap();
    s.model.settings.color = false;
    s.act_live(Action::Time(TimeAction::Mark));
    s.act_live(Action::Replay(ReplayAction::Frame(4)));
    s.model.log = mmapscope::model::Log::default();
    s.model.log.clock = "10:21:03".into();
    s.model.log("mark set on frame 0; frame 4 shown");
    insta::assert_snapshot!(draw(&s).backend());
}

/// Types `text` into the `:` or `/` prompt opened by `open`, and submits it.
fn prompt(s: &mut Session, open: Action, text: &str) {
    s.act_live(open);
    for c in text.chars() {
        s.act_live(Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))));
    }
    s.act_live(Action::Grid(GridAction::Prompt(PromptEdit::Submit)));
}

#[test]
fn goto_and_searches_work_over_the_frame() {
    let dir = crate::common::temp_dir();
    let mut s = Session::replay(&recording(dir.path()), (120, 40)).unwrap();
    prompt(&mut s, Action::Grid(GridAction::GotoPrompt), "frame 3");
    assert_eq!(at(&s), 3);
    prompt(&mut s, Action::Grid(GridAction::GotoPrompt), "t 4.2");
    assert_eq!(at(&s), 4);
    prompt(&mut s, Action::Grid(GridAction::GotoPrompt), "dirty");
    assert_eq!(
        s.model.doc.cursor / PS,
        1,
        "{}",
        crate::common::last_log(&s)
    );
    assert!(crate::common::last_log(&s).contains("in frame 4 as recorded"));
    prompt(&mut s, Action::Search(SearchAction::Prompt), "\"HELLO\"");
    assert_eq!(s.model.doc.cursor, 0, "{}", crate::common::last_log(&s));
    prompt(
        &mut s,
        Action::Search(SearchAction::Prompt),
        "\"of page 1\"",
    );
    assert_eq!(
        s.model.doc.cursor,
        PS + 6,
        "{}",
        crate::common::last_log(&s)
    );
    // An address of the frame's maps: its VMA (not recorded page by page) opens there.
    prompt(
        &mut s,
        Action::Grid(GridAction::GotoPrompt),
        "@0x7ffd2a4e1010",
    );
    assert_eq!(s.model.snap.shape.addr, 0x7ffd_2a4e_1000);
    assert_eq!(s.model.doc.cursor, 0x10);
    assert!(s.model.snap.probed.pages.is_empty());
    let problem = s.model.snap.notes.problem.clone().unwrap_or_default();
    assert!(
        problem.contains("pages of this VMA were not recorded"),
        "{problem}"
    );
    s.act_live(Action::Space(SpaceAction::Back));
    assert_eq!(s.model.snap.shape.addr, ADDR);
    // The address-space view lists the frame's VMAs.
    s.act_live(Action::Space(SpaceAction::Open));
    assert!(matches!(s.model.screen.overlay, Overlay::Space { .. }));
    assert_eq!(s.model.space.vmas.len(), 3);
}

/// Every key of the replay's context that starts an operation, carried through to the point
/// where the gate decides (a menu's second line chosen, two hex digits typed, a prompt
/// answered, a question confirmed).
fn writing_keys() -> Vec<Vec<Action>> {
    let mut out = Vec::new();
    for b in tables(KeyContext::Replay).iter().flat_map(|t| t.iter()) {
        let Some(a) = b.action.clone() else { continue };
        let then: Vec<Action> = match &a {
            // x asks for the code's two arguments first (Enter alone: 0 0).
            Action::Lab(LabAction::Exec) => {
                vec![Action::Grid(GridAction::Prompt(PromptEdit::Submit))]
            }
            Action::Do(_) | Action::Lab(_) => vec![],
            Action::Ask(AskAction::SwitchMode) => {
                vec![Action::Ask(AskAction::Confirm(Some(true)))]
            }
            // The second line: malloc's first asks for a size.
            Action::Ask(AskAction::OpenMenu(_)) => vec![
                Action::Ask(AskAction::Menu(MenuKey::Down)),
                Action::Ask(AskAction::Menu(MenuKey::Choose)),
            ],
            // `C` draws what is shown into a new file, not the subject: allowed in a replay
            // (export_and_diff_in_a_replay_draw_the_frames).
            Action::Ask(AskAction::OpenAsk(Ask::Export)) => continue,
            Action::Ask(AskAction::OpenAsk(ask)) => {
                let answer = match ask {
                    Ask::Reshape => "64k",
                    Ask::Dump => "0 4096 /tmp/rec-dump.bin",
                    _ => "",
                };
                answer
                    .chars()
                    .map(|c| Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))))
                    .chain([Action::Grid(GridAction::Prompt(PromptEdit::Submit))])
                    .collect()
            }
            Action::Edit(EditAction::Start) => vec![
                Action::Edit(EditAction::Nibble(4)),
                Action::Edit(EditAction::Nibble(1)),
            ],
            _ => continue,
        };
        out.push([vec![a], then].concat());
    }
    out
}

#[test]
fn every_writing_key_is_refused_a_recording_is_read_only() {
    let dir = crate::common::temp_dir();
    let path = recording(dir.path());
    let before = std::fs::read(&path).unwrap();
    let mut refused = 0;
    for actions in writing_keys() {
        let mut s = Session::replay(&path, (120, 40)).unwrap();
        s.act_live(Action::Replay(ReplayAction::Frame(2)));
        let shown = s.model.snap.clone();
        let mut outcomes = Vec::new();
        for a in &actions {
            outcomes.extend(s.act_live(a.clone()));
        }
        // A question the gate would ask first is never reached: it refuses before asking.
        assert!(
            !matches!(s.model.screen.overlay, Overlay::Confirm { .. }),
            "{actions:?}"
        );
        // Undo and redo with no edit have nothing to ask the gate (the log says so).
        if outcomes.is_empty() {
            assert!(
                matches!(actions[0], Action::Do(Op::Undo | Op::Redo)),
                "{actions:?} reached no decision"
            );
            continue;
        }
        refused += 1;
        for o in &outcomes {
            let err = o.result.as_ref().err().map(ToString::to_string);
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains("a recording is read-only")),
                "{actions:?}: {err:?}"
            );
        }
        assert!(crate::common::last_log(&s).contains("a recording is read-only"));
        s.refresh();
        assert_eq!(
            s.model.snap.probed, shown.probed,
            "{actions:?} changed the frame shown"
        );
    }
    // i, m, s, S, p, a, t, x, X, F, L, R, M, f, o, D.
    assert!(refused >= 16, "{refused} keys refused");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the recording is unchanged"
    );
    assert!(!Path::new("/tmp/rec-dump.bin").exists());
}

fn draw(s: &Session) -> Terminal<TestBackend> {
    let (cols, rows) = s.model.screen.size;
    let mut t = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    t.draw(|f| mmapscope::ui::render(&s.model, f)).unwrap();
    t
}

/// A replay moved to its first change (frame 2) showing `page`, with the log's clock fixed.
fn screen(size: (u16, u16), page: u64) -> Session {
    let dir = crate::common::temp_dir();
    let mut s = Session::replay(&recording(dir.path()), size).unwrap();
    s.model.settings.color = false;
    s.act_live(Action::Replay(ReplayAction::Change { forward: true }));
    s.act_live(Action::Grid(GridAction::Goto(GotoTarget::Page(page))));
    s.model.log = mmapscope::model::Log::default();
    s.model.log.clock = "10:21:03".into();
    s.model
        .log("recording of /tmp/rec/data.bin by record: 6 frames over 5.0 s");
    s
}

/// Page 2: in memory but not present, its bytes not recorded (`..`, `no bytes`).
#[test]
fn replay_screen_80x24() {
    let s = screen((80, 24), 2);
    insta::assert_snapshot!(draw(&s).backend());
}

/// Page 1, dirty since this frame, with its recorded bytes.
#[test]
fn replay_screen_120x40() {
    let s = screen((120, 40), 1);
    insta::assert_snapshot!(draw(&s).backend());
}

/// The real binary in an 80x24 terminal: the text column shows 8 bytes a row.
#[test]
fn replay_in_a_terminal_steps_to_the_changes_recorded() {
    let dir = crate::common::temp_dir();
    let path = recording(dir.path());
    let mut term = Term::spawn(&["replay".as_ref(), path.as_os_str()], &[], 80, 24);
    term.wait_for_all(&["frame 0/5", "hello pa", "data.bin", "page 0: R P -d"]);
    term.send(">");
    term.wait_for_all(&["frame 2/5"]);
    term.send("]");
    term.wait_for_all(&["page 1: R P D", "bytes of"]);
    term.send(">");
    term.wait_for_all(&["frame 4/5"]);
    term.send("g");
    term.wait_for_all(&["HELLO pa"]);
    term.send(",");
    term.wait_for_all(&["frame 3/5", "hello pa"]);
    term.send("s");
    term.wait_for_all(&["refused by the write gate: EPERM: msync"]);
    // The log, focused (Tab twice), has the room for the whole sentence.
    term.send("\t\t");
    term.wait_for("the refusal's reason", |t| {
        t.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("a recording is read-only")
    });
    term.send("\t");
    term.send(" ");
    term.wait_for_all(&["▶ frame"]);
    term.wait_for_all(&["played to the end", "❚❚ frame 5/5"]);
    term.send("q");
    let status = term.wait_exit();
    assert!(status.success(), "{status:?}");
}
