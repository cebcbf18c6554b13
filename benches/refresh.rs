//! Cost of startup and of one refresh, against the size of the mapped file.
//!
//! The requirement: startup to the first full frame, and one refresh (probe of the
//! visible pages, a time-boxed slice of the minimap's chunks, /proc/self/maps and smaps, render
//! into a 200x60 `TestBackend`), cost the same for a small file, a 1 TiB sparse file and a big
//! file that is wholly in the page cache; `inspect` (`report::build`) must not walk the file
//! page by page either.
//!
//! The files are created once per process on the real filesystem (a temporary directory under
//! the crate's target dir, removed at the end): a 4 KiB text file, a 16 KiB file, a 1 TiB
//! sparse file (`set_len(1 << 40)`, like `truncate -s 1T`) and a 4 GiB file written in 4 KiB
//! write(2)s and synced, so that it stays cached, clean, in 4 KiB folios (the most folios the
//! page cache can hold for it: the dearest case for cachestat, one call of which walks them
//! all). `minimap_full_pass` shows what every refresh cost before the minimap was time-boxed,
//! and how long a rotation through all the chunks takes (the most a minimap cell can lag).
//! `MMAPSCOPE_BENCH_CACHED_GIB=N` changes the size of the cached file.
//!
//! Run with `cargo bench --bench refresh`. Allocation counts and sizes per iteration are shown
//! by divan's `AllocProfiler` (a growth with the file size would show there first).

use std::fmt;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use divan::{Bencher, black_box};
use mmapscope::model::Model;
use mmapscope::report;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest};
use mmapscope::sys::probe::prober::Prober;
use mmapscope::sys::probe::snapshot::{self, View};
use mmapscope::sys::proc::maps;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

/// The terminal size of every frame: 200 columns, 60 rows.
const COLS: u16 = 200;
const ROWS: u16 = 60;

/// The files under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    /// 4 KiB of text.
    Text4K,
    /// 16 KiB of data (four pages).
    Data16K,
    /// A 1 TiB file with no data blocks at all.
    Sparse1T,
    /// A file of a few GiB, all of it in the page cache, in 4 KiB folios.
    Cached,
}

impl fmt::Display for Which {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text4K => "4KiB",
            Self::Data16K => "16KiB",
            Self::Sparse1T => "1TiB_sparse",
            Self::Cached => "4KiB_folios_cached",
        })
    }
}

/// Paths of the files, set by `main` before any benchmark runs.
struct Files {
    text_4k: PathBuf,
    data_16k: PathBuf,
    sparse_1t: PathBuf,
    cached: PathBuf,
}

static FILES: OnceLock<Files> = OnceLock::new();

impl Which {
    fn path(self) -> &'static Path {
        let files = FILES.get().expect("files are created by main");
        match self {
            Self::Text4K => &files.text_4k,
            Self::Data16K => &files.data_16k,
            Self::Sparse1T => &files.sparse_1t,
            Self::Cached => &files.cached,
        }
    }
}

/// Creates the files in `dir`, synced so that their creation does not weigh on the runs.
fn create_files(dir: &Path) -> std::io::Result<Files> {
    let text_4k = dir.join("text-4k.txt");
    let line = b"mmapscope bench: the quick brown fox jumps over the lazy dog 0123456789\n";
    let text: Vec<u8> = line.iter().copied().cycle().take(4096).collect();
    let mut f = File::create(&text_4k)?;
    f.write_all(&text)?;
    f.sync_all()?;

    let data_16k = dir.join("data-16k.bin");
    let data: Vec<u8> = (0..16 * 1024).map(|i| (i % 251) as u8).collect();
    let mut f = File::create(&data_16k)?;
    f.write_all(&data)?;
    f.sync_all()?;

    let sparse_1t = dir.join("sparse-1t.bin");
    let f = File::create(&sparse_1t)?;
    f.set_len(1 << 40)?;
    f.sync_all()?;

    let gib: u64 = std::env::var("MMAPSCOPE_BENCH_CACHED_GIB")
        .ok()
        .and_then(|g| g.parse().ok())
        .unwrap_or(4);
    let cached = dir.join(format!("cached-{gib}g.bin"));
    let mut f = File::create(&cached)?;
    let piece: Vec<u8> = (0..4096).map(|i| b'a' + (i % 26) as u8).collect();
    for _ in 0..(gib << 30) / 4096 {
        f.write_all(&piece)?;
    }
    f.sync_all()?;

    Ok(Files {
        text_4k,
        data_16k,
        sparse_1t,
        cached,
    })
}

/// `Region::open` as the command line does it without options: MAP_SHARED of the whole file.
fn open(which: Which) -> Region {
    Region::open(&MapRequest {
        write: true,
        ..MapRequest::file(which.path().to_path_buf(), MapMode::Shared)
    })
    .expect("map the bench file")
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(COLS, ROWS)).expect("test terminal")
}

fn draw(terminal: &mut Terminal<TestBackend>, model: &Model) {
    terminal
        .draw(|frame| mmapscope::ui::render(model, frame))
        .expect("draw");
}

/// A running explorer: the mapping, the prober, the model after startup, a terminal drawn once.
struct Explorer {
    region: Region,
    prober: Prober,
    model: Model,
    terminal: Terminal<TestBackend>,
    /// The clock of the model, one refresh interval a tick.
    now_ms: u64,
}

impl Explorer {
    fn start(which: Which) -> Self {
        let region = open(which);
        let prober = Prober::new();
        let model = mmapscope::session::initial_model(&region, &prober, (COLS, ROWS));
        let mut terminal = terminal();
        draw(&mut terminal, &model);
        Self {
            region,
            prober,
            model,
            terminal,
            now_ms: 0,
        }
    }

    /// What `app::run` does on every tick: probe the view (with the minimap's time-boxed slice
    /// of chunks, the stalest first), apply, draw.
    fn refresh(&mut self) {
        let snap = snapshot::take(&self.region, &self.prober, self.model.view());
        self.now_ms += self.model.settings.refresh_ms;
        self.model.apply_snapshot(snap, self.now_ms);
        draw(&mut self.terminal, &self.model);
    }
}

/// Startup to the first full frame: map, open the prober, the two snapshots of
/// `initial_model`, one draw. The mapping is returned so that its munmap is not timed; one
/// iteration per sample keeps at most one extra 1 TiB mapping alive at a time.
#[divan::bench(args = [Which::Text4K, Which::Sparse1T, Which::Cached], sample_size = 1, sample_count = 200)]
fn startup_first_frame(bencher: Bencher, which: Which) {
    bencher.bench_local(|| {
        let region = open(which);
        let prober = Prober::new();
        let model = mmapscope::session::initial_model(&region, &prober, (COLS, ROWS));
        let mut terminal = terminal();
        draw(&mut terminal, &model);
        (region, prober, model, terminal)
    });
}

/// One refresh of a running explorer: `snapshot::take` (fstat, probe of the visible pages,
/// minimap buckets, byte copy, /proc/self/maps, /proc/self/smaps), apply, draw at 200x60.
#[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
fn refresh(bencher: Bencher, which: Which) {
    let mut explorer = Explorer::start(which);
    bencher.bench_local(|| explorer.refresh());
}

/// The parts of one refresh, to show where the time goes.
#[divan::bench_group]
mod refresh_parts {
    use super::*;

    /// `snapshot::take` alone (everything but apply and draw).
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
    fn snapshot_take(bencher: Bencher, which: Which) {
        let e = Explorer::start(which);
        let view = e.model.view();
        bencher.bench_local(|| snapshot::take(&e.region, &e.prober, view.clone()));
    }

    /// `Prober::probe` of the visible pages: mincore, pagemap, cachestat per page, kpageflags
    /// (and folio extent) when readable.
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
    fn probe_visible(bencher: Bencher, which: Which) {
        let e = Explorer::start(which);
        let view = e.model.view();
        bencher.bench_local(|| e.prober.probe(&e.region, view.first_page, view.page_count));
    }

    /// The minimap's slice of one tick: the chunks the model asks for (the cursor's, then the
    /// stalest), probed until the tick's budget is spent.
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
    fn minimap_slice(bencher: Bencher, which: Which) {
        let e = Explorer::start(which);
        let ask = e.model.view().minimap;
        bencher.bench_local(|| {
            let geometry = e.region.geometry().expect("fstat");
            e.prober.chunks(&e.region, &geometry, &ask)
        });
    }

    /// Every chunk of the mapping at once, as every refresh did before the minimap was
    /// time-boxed (one cachestat per chunk for a large file, mincore + pagemap of every page
    /// for a small one). Divided by the tick's budget, it is how many ticks a rotation takes.
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached], sample_count = 20)]
    fn minimap_full_pass(bencher: Bencher, which: Which) {
        let e = Explorer::start(which);
        let ask = mmapscope::sys::probe::chunks::ChunkAsk {
            order: (0..e.model.seen.minimap.layout.count).collect(),
            budget: std::time::Duration::MAX,
            ..Default::default()
        };
        bencher.bench_local(|| {
            let geometry = e.region.geometry().expect("fstat");
            e.prober.chunks(&e.region, &geometry, &ask)
        });
    }

    /// The copy of the visible bytes (process_vm_readv, page by page as `snapshot` does).
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
    fn copy_visible(bencher: Bencher, which: Which) {
        let e = Explorer::start(which);
        let View {
            byte_start,
            byte_len,
            ..
        } = e.model.view();
        let end = (byte_start + byte_len).min(e.region.map_bytes());
        let ps = e.region.page_size();
        let mut buf = vec![0u8; ps as usize];
        bencher.bench_local(|| {
            let mut at = byte_start;
            while at < end {
                let chunk_end = ((at / ps + 1) * ps).min(end);
                let n = (chunk_end - at) as usize;
                let _ = black_box(e.region.read(at, &mut buf[..n]));
                at = chunk_end;
            }
        });
    }

    /// /proc/self/maps, parsed with procfs.
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
    fn proc_maps(bencher: Bencher, which: Which) {
        let _e = Explorer::start(which);
        bencher.bench_local(maps::read_maps);
    }

    /// /proc/self/smaps, parsed with procfs, filtered to our mapping.
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
    fn proc_smaps(bencher: Bencher, which: Which) {
        let e = Explorer::start(which);
        let (start, end) = (e.region.addr(), e.region.addr() + e.region.map_bytes());
        bencher.bench_local(|| maps::read_vmas(start, end));
    }

    /// `ui::render` into the 200x60 TestBackend, the model unchanged (ratatui then diffs a
    /// frame equal to the last one, as in a refresh where nothing changed).
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
    fn render(bencher: Bencher, which: Which) {
        let mut e = Explorer::start(which);
        bencher.bench_local(|| draw(&mut e.terminal, &e.model));
    }

    /// A first frame: a new 200x60 TestBackend terminal and one draw (the whole screen goes to
    /// the backend), as at startup.
    #[divan::bench(args = [Which::Data16K, Which::Sparse1T, Which::Cached])]
    fn render_fresh_terminal(bencher: Bencher, which: Which) {
        let e = Explorer::start(which);
        bencher.bench_local(|| {
            let mut t = terminal();
            draw(&mut t, &e.model);
            t
        });
    }
}

/// The whole-mapping probe behind `mmapscope inspect --json --fault-in` (resident pages faulted
/// in and released; plain `inspect` no longer does that), without the JSON serialisation.
#[divan::bench(args = [Which::Data16K, Which::Sparse1T])]
fn inspect_report(bencher: Bencher, which: Which) {
    let region = open(which);
    let prober = Prober::new();
    bencher.bench_local(|| report::build(&region, &prober, true).expect("report"));
}

/// `inspect_report` plus `serde_json::to_string_pretty`: everything `inspect --json --fault-in`
/// does after mapping the file and before writing to stdout.
#[divan::bench(args = [Which::Data16K, Which::Sparse1T])]
fn inspect_json(bencher: Bencher, which: Which) {
    let region = open(which);
    let prober = Prober::new();
    bencher.bench_local(|| {
        let r = report::build(&region, &prober, true).expect("report");
        serde_json::to_string_pretty(&r).expect("json")
    });
}

/// A frame at 80x24 while a lesson plays (hugepages step 3, a long narration and its
/// results: the pane wraps them to size itself), and the same model with the lesson pane
/// closed: the ratio is what the lesson pane costs a frame.
#[divan::bench(args = [true, false])]
fn render_lesson_80x24(bencher: Bencher, lesson: bool) {
    let l = mmapscope::script::lesson::load(Some("hugepages"), None).expect("the shipped lesson");
    let dir = mmapscope::demo::TempDir::new().expect("temp dir");
    let req = mmapscope::script::lesson::request(&l, dir.path()).expect("its request");
    let region = Region::open(&req).expect("map it");
    let session = mmapscope::session::Session::new(region, true, (80, 24));
    let mut r = mmapscope::session::Runner::new(session);
    mmapscope::session::lecture::start(&mut r, &l);
    for _ in 0..3 {
        mmapscope::session::lecture::next(&mut r, &l);
    }
    let s = &mut r.session;
    if !lesson {
        s.model.lesson = None;
    }
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    bencher.bench_local(|| draw(&mut t, &s.model));
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("mmapscope-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir under the target dir");
    let files = create_files(dir.path()).expect("create the bench files");
    assert!(FILES.set(files).is_ok(), "files are created once");
    divan::main();
    drop(dir);
}
