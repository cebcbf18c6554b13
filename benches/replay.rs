//! The interactive replay's own cost, at the sizes users reach, beside a live refresh of the same
//! size in the same run:
//!
//! - `step`: one frame forward or back (`.` `,`: decode the frame, build the rows on screen, the
//!   minimap and the counters from it) and the screen drawn at 300x100, on a recording of a 1 TiB
//!   sparse file (600 frames a second apart, 16 pages resident, 4 of them written in turn, their
//!   bytes recorded); beside it `live_refresh_1tib`: a live refresh of a 1 TiB sparse file (the
//!   probes of the rows and the minimap, maps, smaps) drawn at 300x100, the cost the replay
//!   stands in for;
//! - `step_30k_vmas`: the same with the address-space view open on a frame of 30,000 VMAs
//!   (maps lines and smaps counters: the view's rows are built again for each frame);
//! - `open_one_hour`: `Session::replay` on a recording of 3,600 frames (an hour at 1 Hz): open
//!   its index, build the timeline, decode frame 0, draw; then `jump_one_hour`: `: frame N` to a
//!   frame far from the one shown (a keyframe and up to 31 deltas decoded).
//!
//! Run with `cargo bench --bench replay`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use divan::Bencher;
use mmapscope::action::{Action, ReplayAction, SpaceAction};
use mmapscope::geometry::PageGeom;
use mmapscope::record::{Frame, Header, RecordedFile, RecordedMapping, Subject, Writer};
use mmapscope::session::Session;
use mmapscope::sys::probe::state::{FolioState, PageState, Place, Sources, StateRun, Writes};
use mmapscope::sys::proc::maps::{MapsLine, MemoryCounters, Vma, VmaHead};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PS: u64 = 4096;
const TIB: u64 = 1 << 40;
const ADDR: u64 = 0x7f00_0000_0000;
const SIZE: (u16, u16) = (300, 100);

fn main() {
    divan::main();
}

fn dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp");
        std::fs::create_dir_all(&base).expect("target/tmp");
        tempfile::TempDir::new_in(base).expect("temp dir")
    })
    .path()
}

fn header(pid: bool) -> Header {
    Header {
        schema: 0,
        tool: "mmapscope bench".into(),
        subject: if pid {
            Subject::Process {
                pid: 4242,
                comm: "many".into(),
                cmdline: vec!["many".into()],
                vma: "0x7f0000000000".into(),
            }
        } else {
            Subject::File {
                path: "/bench/sparse-1t".into(),
                size: Some(TIB),
            }
        },
        session: "record".into(),
        page_size: PS,
        interval_ms: 1000,
        start_unix_ms: 1_800_000_000_000,
        keyframe_every: 32,
        bytes_bound: 1 << 20,
    }
}

fn state(resident: bool, dirty: bool) -> PageState {
    PageState {
        geom: PageGeom {
            valid_bytes: PS,
            padding_bytes: 0,
            beyond_eof: false,
        },
        place: Place {
            resident: Some(resident),
            present: Some(resident),
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

fn line(start: u64, end: u64, path: &str) -> MapsLine {
    MapsLine {
        start,
        end,
        perms: "rw-s".into(),
        offset: 0,
        dev: 0x803,
        inode: u64::from(!path.is_empty()),
        path: path.into(),
    }
}

fn smaps(start: u64, end: u64, rss: u64) -> Vma {
    Vma {
        head: VmaHead {
            start,
            end,
            perms: "rw-s".into(),
            path: String::new(),
        },
        memory: MemoryCounters {
            size: end - start,
            rss,
            ..MemoryCounters::default()
        },
        ..Vma::default()
    }
}

/// Frame `i`: 16 resident pages at the start of a 1 TiB mapping, page `i % 4` dirty, with
/// `vmas` more VMAs of two pages around it.
fn frame(i: u64, vmas: u64) -> Frame {
    let dirty = i % 4;
    let mut runs = Vec::new();
    for p in 0..16 {
        runs.push(StateRun {
            first: p,
            count: 1,
            state: state(true, p == dirty),
        });
    }
    runs.push(StateRun {
        first: 16,
        count: TIB / PS - 16,
        state: state(false, false),
    });
    let bytes: BTreeMap<u64, Vec<u8>> = (0..16)
        .map(|p| {
            (
                ADDR + p * PS,
                vec![u8::try_from((p + i) % 251).unwrap_or(0); PS as usize],
            )
        })
        .collect();
    let mut maps = vec![line(ADDR, ADDR + TIB, "/bench/sparse-1t")];
    let mut counters = vec![smaps(ADDR, ADDR + TIB, 16 * PS)];
    for v in 0..vmas {
        let start = 0x1000_0000 + v * 4 * PS;
        maps.push(line(start, start + 2 * PS, ""));
        counters.push(smaps(start, start + 2 * PS, PS * ((v + i) % 2)));
    }
    maps.sort_by_key(|l| l.start);
    counters.sort_by_key(|v| v.head.start);
    Frame {
        time_ms: i * 1000,
        maps,
        smaps: counters,
        mappings: vec![RecordedMapping {
            addr: ADDR,
            len: TIB,
            offset: 0,
            mode: "shared".into(),
            prot: "rw-".into(),
            file: Some(RecordedFile {
                path: "/bench/sparse-1t".into(),
                size: Some(TIB),
                writable: false,
            }),
            sources: Sources::default(),
            runs,
        }],
        bytes,
        events: Vec::new(),
    }
}

/// A recording of `frames` frames with `vmas` more VMAs each, written once.
fn recording(name: &str, frames: u64, vmas: u64) -> PathBuf {
    let path = dir().join(name);
    if !path.exists() {
        let mut w = Writer::create(&path, header(vmas > 0), false).expect("create");
        for i in 0..frames {
            w.push(&frame(i, vmas)).expect("push");
        }
        w.finish().expect("finish");
    }
    path
}

fn draw(terminal: &mut Terminal<TestBackend>, session: &Session) {
    terminal
        .draw(|f| mmapscope::ui::render(&session.model, f))
        .expect("draw");
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).expect("terminal")
}

/// Steps back and forth between two frames (each step decodes the other).
fn stepping(bencher: Bencher, session: &mut Session) {
    let mut term = terminal();
    let mut forward = true;
    bencher.bench_local(|| {
        let by = if forward { 1 } else { -1 };
        forward = !forward;
        session.act_live(Action::Replay(ReplayAction::Step(by)));
        draw(&mut term, session);
    });
}

#[divan::bench(sample_count = 100)]
fn step(bencher: Bencher) {
    let path = recording("sparse-1t.mmrec", 600, 0);
    let mut session = Session::replay(&path, SIZE).expect("replay");
    session.act_live(Action::Replay(ReplayAction::Frame(300)));
    stepping(bencher, &mut session);
}

#[divan::bench(sample_count = 100)]
fn live_refresh_1tib(bencher: Bencher) {
    use mmapscope::sys::map::region::Region;
    use mmapscope::sys::map::request::{MapMode, MapRequest};
    let path = dir().join("sparse-1t");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(TIB).expect("set_len 1 TiB");
    let region = Region::open(&MapRequest::file(path, MapMode::Shared)).expect("map 1 TiB");
    let mut session = Session::new(region, true, SIZE);
    let mut term = terminal();
    bencher.bench_local(|| {
        session.refresh();
        draw(&mut term, &session);
    });
}

#[divan::bench(sample_count = 20)]
fn step_30k_vmas(bencher: Bencher) {
    let path = recording("vmas-30k.mmrec", 64, 30_000);
    let mut session = Session::replay(&path, SIZE).expect("replay");
    session.act_live(Action::Replay(ReplayAction::Frame(40)));
    session.act_live(Action::Space(SpaceAction::Open));
    assert!(session.model.space.vmas.len() > 30_000);
    stepping(bencher, &mut session);
}

#[divan::bench(sample_count = 20)]
fn open_one_hour(bencher: Bencher) {
    let path = recording("one-hour.mmrec", 3600, 0);
    let mut term = terminal();
    bencher.bench_local(|| {
        let session = Session::replay(&path, SIZE).expect("replay");
        draw(&mut term, &session);
        session
    });
}

#[divan::bench(sample_count = 50)]
fn jump_one_hour(bencher: Bencher) {
    let path = recording("one-hour.mmrec", 3600, 0);
    let mut session = Session::replay(&path, SIZE).expect("replay");
    let mut term = terminal();
    let mut n = 0u64;
    bencher.bench_local(|| {
        // Frames 31 apart: the deltas before the next keyframe, the most decoded.
        n = (n + 1831) % 3600;
        session.act_live(Action::Replay(ReplayAction::Frame(n / 32 * 32 + 31)));
        draw(&mut term, &session);
    });
}

/// The recording's own share of `step_30k_vmas`: decoding the two frames it steps between
/// (`Recording::frame`), nothing built or drawn.
#[divan::bench(sample_count = 20)]
fn decode_30k_vmas(bencher: Bencher) {
    let path = recording("vmas-30k.mmrec", 64, 30_000);
    let rec = mmapscope::record::Recording::open(&path).expect("open");
    let mut n = 40;
    bencher.bench_local(|| {
        n = if n == 40 { 41 } else { 40 };
        rec.frame(n).expect("frame")
    });
}

/// The recording's own share of `step`: decoding the two frames it steps between.
#[divan::bench(sample_count = 100)]
fn decode_1tib(bencher: Bencher) {
    let path = recording("sparse-1t.mmrec", 600, 0);
    let rec = mmapscope::record::Recording::open(&path).expect("open");
    let mut n = 300;
    bencher.bench_local(|| {
        n = if n == 300 { 301 } else { 300 };
        rec.frame(n).expect("frame")
    });
}
