//! The typed views next to the hex grid: one refresh (probe of what the view shows, copy of
//! its bytes, /proc/self/maps and smaps, apply, draw at 200x60) and one frame drawn into a
//! fresh 200x60 terminal (every cell goes to the backend), for each view. `bytes` is the hex
//! grid: the others should cost about as much (the goal: under 2 ms a refresh at 200x60). A
//! typed view's refresh also builds the index of the ELF sections mapped, as the session does.
//!
//! The mapping is 16 KiB of anonymous memory, written so that each view has work: every
//! eighth u64 a pointer into our own heap (named by a binary search over the maps), the rest
//! text and x86_64 code (the code view decodes a screen of instructions).
//!
//! Run with `cargo bench --bench views`.

use divan::Bencher;
use mmapscope::model::{Model, ViewKind};
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest};
use mmapscope::sys::probe::prober::Prober;
use mmapscope::sys::probe::snapshot;
use mmapscope::sys::proc::elf::SectionCache;
use mmapscope::sys::proc::maps::MapsLine;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const COLS: u16 = 200;
const ROWS: u16 = 60;
const LEN: u64 = 16 << 10;

fn main() {
    divan::main();
}

/// The views benched: the hex grid first.
const VIEWS: &[&str] = &[
    "bytes", "u16", "u32", "u64", "i64", "f32", "f64", "text", "strings", "code",
];

struct Explorer {
    region: Region,
    prober: Prober,
    model: Model,
    terminal: Terminal<TestBackend>,
    now_ms: u64,
    /// Keeps the heap block the pointers point to.
    _block: Vec<u8>,
    sections: SectionCache,
}

fn draw(terminal: &mut Terminal<TestBackend>, model: &Model) {
    terminal
        .draw(|frame| mmapscope::ui::render(model, frame))
        .expect("draw");
}

impl Explorer {
    fn start(view: &str) -> Self {
        let region = Region::open(&MapRequest::anon(LEN, MapMode::Private)).expect("anon");
        let block = vec![7u8; 4096];
        let heap = block.as_ptr() as u64;
        // ret42 (mov eax, 42; ret), text, and a heap pointer, over and over.
        let mut piece = vec![0xb8, 0x2a, 0, 0, 0, 0xc3, 0x90, 0x90];
        piece.extend_from_slice(b"mmapscope typed views bench text");
        piece.extend_from_slice(&(heap + 0x40).to_le_bytes());
        piece.extend_from_slice(&[0x48, 0x8d, 0x04, 0x37, 0xc3, 0x90, 0x90, 0x90]);
        piece.extend_from_slice(&1.5f64.to_le_bytes());
        let bytes: Vec<u8> = piece.iter().copied().cycle().take(LEN as usize).collect();
        region.write(0, &bytes).expect("fill the mapping");
        let prober = Prober::new();
        let mut model = mmapscope::session::initial_model(&region, &prober, (COLS, ROWS));
        model.screen.typed.kind = ViewKind::parse(view).expect("a view");
        let mut e = Self {
            region,
            prober,
            model,
            terminal: Terminal::new(TestBackend::new(COLS, ROWS)).expect("terminal"),
            now_ms: 0,
            _block: block,
            sections: SectionCache::default(),
        };
        e.refresh();
        e
    }

    fn refresh(&mut self) {
        let mut snap = snapshot::take(&self.region, &self.prober, self.model.view());
        // As the session does while pointers are named: the sections of the ELF files
        // mapped (each read once; the index is built again for each new maps reading).
        if self.model.screen.typed.shows_inspector()
            && let Ok(maps) = &snap.readings.maps
        {
            let open = |l: &MapsLine| std::fs::File::open(&l.path).ok();
            snap.readings.sections = self.sections.index(maps, open);
        }
        self.now_ms += self.model.settings.refresh_ms;
        self.model.apply_snapshot(snap, self.now_ms);
        draw(&mut self.terminal, &self.model);
    }
}

/// One refresh in the view: probe, copy, /proc, apply, draw.
#[divan::bench(args = VIEWS)]
fn refresh(bencher: Bencher, view: &str) {
    let mut e = Explorer::start(view);
    bencher.bench_local(|| e.refresh());
}

/// One whole frame of the view into a fresh terminal (no diff with the last frame).
#[divan::bench(args = VIEWS)]
fn render_fresh_terminal(bencher: Bencher, view: &str) {
    let e = Explorer::start(view);
    bencher.bench_local(|| {
        let mut t = Terminal::new(TestBackend::new(COLS, ROWS)).expect("terminal");
        draw(&mut t, &e.model);
        t
    });
}
