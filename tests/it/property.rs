//! Property test of the batch language: random scripts run in-process through a `Session` on
//! temp files (ext4 under the target dir, not tmpfs), checked after every step against a byte
//! model of the file built from what each step *reports*.
//!
//! 256 cases by default. More: `MMAPSCOPE_PROPTEST_CASES=5000 cargo test --test it property::`
//! (`--nocapture` shows a summary of what ran). A failure prints the shrunk script with each
//! line's result, ready for `mmapscope batch`, and the `PROPTEST_RNG_SEED=N` that replays it.
//!
//! After every step: no panic; the file on disk equals the model (initial bytes, plus every write
//! that reported ok through a MAP_SHARED mapping, cut to the file size then, plus every truncate
//! that reported ok); a step other than a write or truncate leaves the file as it was, and a
//! write through a private or read-only mapping never changes it; every readable page of the
//! mapping shows the model (shared: the file's page cache; private: our copies of the pages we
//! wrote, the file elsewhere); pages beyond end of file refuse reads; the region's mode and
//! protection match /proc/self/maps. Each line is also checked against the contract's rules:
//! writes outside the mapping or beyond EOF and writes without PROT_WRITE are refused, others
//! succeed and report the bytes they replaced and how many landed in the padding. After an undo
//! or redo the test reads the range back with a `read` line of its own: it must hold exactly the
//! recorded bytes. It adds `expect` lines of its own too (a file byte, a truncate's result, an
//! `expect error` after most failures and now and then after a success) and checks that the run
//! ends failed exactly when a failure went unclaimed; `snapshot` lines must describe the file
//! size and each page's data, padding, beyond-EOF and copy-on-write state as the model does.
//!
//! Kernel behaviour the model follows (each seen on this machine, Linux 6.18 on ext4):
//! - a write into the padding after EOF stays in the page cache only until writeback, which
//!   re-zeroes it on ext4 (msync does): those bytes are "unknown" (0 or the written byte);
//! - a truncate that shrinks zeroes the rest of the page holding the new EOF, and drops our
//!   private copies of the pages wholly beyond it (the copy of the EOF page stays);
//! - a truncate that grows exposes zeros where the old padding was, on kernels that zero the
//!   end-of-file folio on size extension (probed at run time; where not, those bytes are unknown);
//! - `advise dontneed` throws away private copies; `mode` (a remap) drops them all;
//! - madvise on part of the mapping may split its VMA in /proc/self/maps.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::OnceLock;

use mmapscope::action::{FAdvice, MAdvice, Op, Scope, SyncKind};
use mmapscope::script::{Line, Step};
use mmapscope::session::{Runner, Session};
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Prot, Source};
use proptest::prelude::*;

use crate::common;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};
use serde_json::Value;

fn ps() -> u64 {
    mmapscope::sys::map::request::page_size()
}

/// Largest file size a truncate asks for, in pages.
const MAX_FILE_PAGES: u64 = 7;
/// Longest script.
const MAX_LINES: usize = 24;
/// Largest mapping offset and length, in pages.
const MAX_MAP_PAGES: u64 = 5;

// ---------------------------------------------------------------------------------------------
// What a case is: the file and the mapping, then the script.

#[derive(Debug, Clone)]
struct Setup {
    size: u64,
    /// Mapping offset in pages.
    offset_pages: u64,
    len: Option<u64>,
    shared: bool,
    prot: Prot,
    /// Seed of the file's bytes.
    seed: u8,
    /// Written a page at a time (small folios) or in one write (large folios).
    pagewise: bool,
}

impl Setup {
    fn offset(&self) -> u64 {
        self.offset_pages * ps()
    }

    /// Bytes the kernel maps, as `Region::open` computes them.
    fn map_bytes(&self) -> u64 {
        let len = self
            .len
            .unwrap_or_else(|| self.size.saturating_sub(self.offset()));
        let len = if len == 0 { ps() } else { len };
        len.div_ceil(ps()) * ps()
    }

    fn content(&self) -> Vec<u8> {
        (0..self.size)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 13) as u8) ^ self.seed)
            .collect()
    }

    fn describe(&self) -> String {
        let mut args = vec!["mmapscope batch".to_string()];
        if !self.shared {
            args.push("--private".into());
        }
        if self.offset() > 0 {
            args.push(format!("--offset {}", self.offset()));
        }
        if let Some(len) = self.len {
            args.push(format!("--len {len}"));
        }
        args.push(format!("--prot {}", prot_word(self.prot)));
        args.push("FILE SCRIPT".into());
        format!(
            "FILE: {} bytes (byte i = ((i * 2654435761) >> 13) as u8 ^ {}), written {}\n\
             mapping: {}",
            self.size,
            self.seed,
            if self.pagewise {
                "a page at a time"
            } else {
                "in one write"
            },
            args.join(" ")
        )
    }
}

fn prot_word(p: Prot) -> &'static str {
    match (p.read, p.write, p.exec) {
        (false, false, false) => "none",
        (true, false, false) => "r",
        (true, true, false) => "rw",
        (true, false, true) => "rx",
        (true, true, true) => "rwx",
        _ => "?",
    }
}

/// How a number is spelt in the script.
#[derive(Debug, Clone, Copy)]
enum Spell {
    Dec,
    Hex,
    Kilo,
}

fn spell(n: u64, s: Spell) -> String {
    match s {
        Spell::Dec => n.to_string(),
        Spell::Hex => format!("0x{n:x}"),
        Spell::Kilo if n > 0 && n.is_multiple_of(1024) => format!("{}k", n / 1024),
        Spell::Kilo => n.to_string(),
    }
}

/// How hex bytes are spelt: `41 42`, `4142`, `0x41 0x42`, `41 a` (one digit below 0x10).
#[derive(Debug, Clone, Copy)]
enum HexStyle {
    Spaced,
    Joined,
    Prefixed,
    Short,
}

/// One generated script line.
#[derive(Debug, Clone)]
enum G {
    Write(u64, Vec<u8>, Spell, HexStyle),
    WriteText(u64, String, Spell),
    Read(u64, u64),
    Mode(MapMode),
    Msync(SyncKind, Option<u64>),
    Protect(Prot),
    Advise(MAdvice, Option<u64>),
    Fadvise(FAdvice),
    Touch(u64),
    Undo,
    Redo,
    Truncate(u64, Spell),
    Snapshot,
}

fn scope_text(page: Option<u64>) -> String {
    page.map_or_else(|| " all".into(), |p| format!(" page {p}"))
}

fn scope(page: Option<u64>) -> Scope {
    page.map_or(Scope::All, Scope::Page)
}

impl G {
    /// The line as a user would write it.
    fn text(&self) -> String {
        match self {
            G::Write(off, bytes, sp, style) => {
                let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let hex = match style {
                    HexStyle::Spaced => hex.join(" "),
                    HexStyle::Joined => hex.concat(),
                    HexStyle::Prefixed => hex
                        .iter()
                        .map(|h| format!("0x{h}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    HexStyle::Short => bytes
                        .iter()
                        .map(|b| format!("{b:x}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                };
                format!("write {} {hex}", spell(*off, *sp))
            }
            G::WriteText(off, text, sp) => {
                let mut quoted = String::new();
                for c in text.chars() {
                    match c {
                        '"' => quoted.push_str("\\\""),
                        '\\' => quoted.push_str("\\\\"),
                        '\n' => quoted.push_str("\\n"),
                        '\t' => quoted.push_str("\\t"),
                        c if c.is_ascii_control() => {
                            let _ = write!(quoted, "\\x{:02x}", c as u32);
                        }
                        c => quoted.push(c),
                    }
                }
                format!("write-text {} \"{quoted}\"", spell(*off, *sp))
            }
            G::Read(off, len) => format!("read {off} {len}"),
            G::Mode(m) => format!("mode {}", m.as_str()),
            G::Msync(k, page) => {
                let word = match k {
                    SyncKind::Sync => "sync",
                    SyncKind::Async => "async",
                    SyncKind::Invalidate => "invalidate",
                };
                format!("msync {word}{}", scope_text(*page))
            }
            G::Protect(p) => format!("protect {}", prot_word(*p)),
            G::Advise(a, page) => format!("advise {}{}", a.word(), scope_text(*page)),
            G::Fadvise(a) => format!("fadvise {}", a.word()),
            G::Touch(p) => format!("touch page {p}"),
            G::Undo => "undo".into(),
            G::Redo => "redo".into(),
            G::Truncate(size, sp) => format!("truncate {}", spell(*size, *sp)),
            G::Snapshot => "snapshot".into(),
        }
    }

    /// The step the parser must make of `text()`.
    fn step(&self) -> Step {
        match self {
            G::Snapshot => Step::Snapshot,
            g => Step::Do(g.op()),
        }
    }

    fn op(&self) -> Op {
        match self {
            G::Write(off, bytes, ..) => Op::Write {
                offset: *off,
                bytes: bytes.clone(),
            },
            G::WriteText(off, text, _) => Op::Write {
                offset: *off,
                bytes: text.as_bytes().to_vec(),
            },
            G::Read(offset, len) => Op::Read {
                offset: *offset,
                len: *len,
            },
            G::Mode(m) => Op::Mode(*m),
            G::Msync(k, page) => Op::Msync(*k, scope(*page)),
            G::Protect(p) => Op::Protect(*p),
            G::Advise(a, page) => Op::Advise(*a, scope(*page)),
            G::Fadvise(a) => Op::Fadvise(*a),
            G::Touch(p) => Op::Touch(*p),
            G::Undo => Op::Undo,
            G::Redo => Op::Redo,
            G::Truncate(size, _) => Op::Truncate(*size),
            G::Snapshot => unreachable!("a step of the script, not an op"),
        }
    }
}

const PROTS: [Prot; 5] = [
    Prot::NONE,
    Prot::R,
    Prot::RW,
    Prot {
        read: true,
        write: false,
        exec: true,
    },
    Prot {
        read: true,
        write: true,
        exec: true,
    },
];

fn setup_strategy() -> impl Strategy<Value = Setup> {
    let p = ps();
    let size = prop_oneof![
        1 => Just(0u64),
        1 => Just(1u64),
        3 => prop::sample::select(vec![p - 1, p, p + 1, 2 * p, 3 * p + 100, 5 * p]),
        6 => 0..=MAX_MAP_PAGES * p,
    ];
    size.prop_flat_map(move |size| {
        // Mostly where the file has data; sometimes at or past its end.
        let last = size.div_ceil(p).min(MAX_MAP_PAGES);
        let offset_pages = prop_oneof![
            6 => Just(0u64),
            3 => 0..=last,
            1 => 0..=MAX_MAP_PAGES,
        ];
        let len = prop_oneof![
            4 => Just(None),
            2 => prop::sample::select(vec![
                1,
                p - 1,
                p,
                p + 1,
                2 * p,
                3 * p + 100,
                MAX_MAP_PAGES * p
            ])
            .prop_map(Some),
            3 => (1..=MAX_MAP_PAGES * p).prop_map(Some),
        ];
        let prot = prop_oneof![
            16 => Just(Prot::RW),
            2 => Just(Prot::R),
            2 => prop::sample::select(PROTS.to_vec()),
        ];
        (
            Just(size),
            offset_pages,
            len,
            any::<bool>(),
            prot,
            any::<u8>(),
            any::<bool>(),
        )
    })
    .prop_map(
        |(size, offset_pages, len, shared, prot, seed, pagewise)| Setup {
            size,
            offset_pages,
            // A mapping of at most MAX_MAP_PAGES pages, whatever the file's size.
            len: len.or(
                (size.saturating_sub(offset_pages * ps()) > MAX_MAP_PAGES * ps())
                    .then_some(MAX_MAP_PAGES * ps()),
            ),
            shared,
            prot,
            seed,
            pagewise,
        },
    )
}

/// Mapping offsets worth hitting: page boundaries and their neighbours, the initial end of file
/// and end of mapping, in file positions shifted to the mapping.
fn interesting_offsets(setup: &Setup) -> Vec<u64> {
    let p = ps();
    let base = setup.offset();
    let mut file_points = Vec::new();
    for k in 0..=MAX_FILE_PAGES + MAX_MAP_PAGES {
        if k * p <= base + setup.map_bytes() {
            file_points.push(k * p);
        }
    }
    file_points.push(setup.size);
    file_points.push(base + setup.len.unwrap_or(0));
    file_points.push(base + setup.map_bytes());
    let mut out = Vec::new();
    for fp in file_points {
        for d in [-3i64, -2, -1, 0, 1] {
            if let Some(off) = fp.checked_add_signed(d).and_then(|f| f.checked_sub(base)) {
                out.push(off);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn offset_strategy(setup: &Setup) -> BoxedStrategy<u64> {
    let span = setup.map_bytes() + 64;
    prop_oneof![
        10 => prop::sample::select(interesting_offsets(setup)),
        8 => 0..span,
        1 => prop::sample::select(vec![u64::MAX, u64::MAX - 1, 1 << 63, 0xffff_ffff_ffff_f000]),
    ]
    .boxed()
}

fn size_strategy(setup: &Setup) -> BoxedStrategy<u64> {
    let p = ps();
    let mut points = vec![0, 1, setup.size];
    for k in 0..=MAX_FILE_PAGES {
        points.extend([k * p, (k * p).saturating_sub(1), k * p + 1]);
    }
    for d in [1, 2, 100] {
        points.push(setup.size.saturating_sub(d));
        points.push(setup.size + d);
    }
    points.retain(|&s| s <= MAX_FILE_PAGES * p);
    prop_oneof![
        3 => prop::sample::select(points),
        2 => 0..=MAX_FILE_PAGES * p,
    ]
    .boxed()
}

fn page_strategy(setup: &Setup) -> BoxedStrategy<Option<u64>> {
    let pages = setup.map_bytes() / ps();
    prop_oneof![
        2 => Just(None),
        4 => (0..pages + 2).prop_map(Some),
        1 => Just(Some(u64::MAX)),
    ]
    .boxed()
}

fn spell_strategy() -> impl Strategy<Value = Spell> {
    prop_oneof![Just(Spell::Dec), Just(Spell::Hex), Just(Spell::Kilo)]
}

fn bytes_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(any::<u8>(), 1..=4),
        3 => prop::collection::vec(any::<u8>(), 5..=64),
        1 => prop::collection::vec(any::<u8>(), 65..=300),
    ]
}

fn text_strategy() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a', 'Z', '0', ' ', '#', '"', '\\', '\n', '\t', '\u{1}', '\u{7f}', 'é', '→',
    ]);
    prop::collection::vec(chars, 1..=12).prop_map(|v| v.into_iter().collect())
}

fn line_strategy(setup: &Setup) -> BoxedStrategy<G> {
    let off = offset_strategy(setup);
    let page = page_strategy(setup);
    let hex_style = prop_oneof![
        Just(HexStyle::Spaced),
        Just(HexStyle::Joined),
        Just(HexStyle::Prefixed),
        Just(HexStyle::Short)
    ];
    let read_len = prop_oneof![
        6 => 0..=16u64,
        2 => 0..=2 * ps() + 1,
        1 => prop::sample::select(vec![(1u64 << 20) + 1, u64::MAX]),
    ];
    prop_oneof![
        30 => (off.clone(), bytes_strategy(), spell_strategy(), hex_style)
            .prop_map(|(o, b, s, h)| G::Write(o, b, s, h)),
        5 => (off.clone(), text_strategy(), spell_strategy())
            .prop_map(|(o, t, s)| G::WriteText(o, t, s)),
        6 => (off, read_len).prop_map(|(o, l)| G::Read(o, l)),
        10 => Just(G::Undo),
        8 => Just(G::Redo),
        5 => prop_oneof![Just(MapMode::Shared), Just(MapMode::Private)].prop_map(G::Mode),
        6 => (
            prop_oneof![
                Just(SyncKind::Sync),
                Just(SyncKind::Async),
                Just(SyncKind::Invalidate)
            ],
            page.clone()
        )
            .prop_map(|(k, p)| G::Msync(k, p)),
        6 => prop_oneof![
            3 => Just(Prot::RW),
            2 => prop::sample::select(PROTS.to_vec()),
        ]
        .prop_map(G::Protect),
        // MADV_COLLAPSE may be refused whenever the kernel finds no huge page: it is no part
        // of the byte model's contract (the lab's tests check it).
        8 => (
            prop::sample::select(
                MAdvice::ALL
                    .into_iter()
                    .filter(|a| *a != MAdvice::Collapse)
                    .collect::<Vec<_>>()
            ),
            page.clone()
        )
            .prop_map(|(a, p)| G::Advise(a, p)),
        3 => prop::sample::select(vec![FAdvice::DontNeed, FAdvice::WillNeed, FAdvice::Random])
            .prop_map(G::Fadvise),
        4 => page.prop_map(|p| G::Touch(p.unwrap_or(0))),
        6 => (size_strategy(setup), spell_strategy()).prop_map(|(s, sp)| G::Truncate(s, sp)),
        3 => Just(G::Snapshot),
    ]
    .boxed()
}

fn case_strategy() -> impl Strategy<Value = (Setup, Vec<G>)> {
    setup_strategy().prop_flat_map(|setup| {
        // Mostly single lines; sometimes a run of undo and redo, to walk the history.
        let chunk = prop_oneof![
            12 => line_strategy(&setup).prop_map(|g| vec![g]),
            1 => prop::collection::vec(prop_oneof![Just(G::Undo), Just(G::Redo)], 2..=4),
        ];
        let lines = prop::collection::vec(chunk, 1..=MAX_LINES).prop_map(|chunks| {
            let mut lines: Vec<G> = chunks.into_iter().flatten().collect();
            lines.truncate(MAX_LINES);
            lines
        });
        (Just(setup), lines)
    })
}

// ---------------------------------------------------------------------------------------------
// The model.

/// An edit as the session's history records it.
#[derive(Debug, Clone)]
struct Rec {
    offset: u64,
    old: Vec<u8>,
    new: Vec<u8>,
}

/// What the file, its page cache and our private copies hold. `None`: the kernel allows more
/// than one value (a padding byte written through a shared mapping: 0 once written back).
struct Model {
    ps: u64,
    /// File offset of the mapping.
    base: u64,
    map_bytes: u64,
    mode: MapMode,
    prot: Prot,
    size: u64,
    /// By file offset: the file's bytes below `size`, the page cache's padding above it.
    cache: Vec<Option<u8>>,
    /// Our private copies, by mapping page.
    cow: BTreeMap<u64, Vec<Option<u8>>>,
    history: Vec<Rec>,
    redo: Vec<Rec>,
    grow_zeroes_padding: bool,
    /// Writing the file was allowed (safe by default: a mapping that starts writable, or a
    /// `protect` with PROT_WRITE of a shared mapping since): a truncate needs it.
    write_ok: bool,
}

impl Model {
    fn new(setup: &Setup, content: &[u8]) -> Self {
        let ps = ps();
        let cap = (MAX_FILE_PAGES + 2 * MAX_MAP_PAGES + 2) * ps;
        let mut cache = vec![Some(0u8); cap as usize];
        for (i, b) in content.iter().enumerate() {
            cache[i] = Some(*b);
        }
        Self {
            ps,
            base: setup.offset(),
            map_bytes: setup.map_bytes(),
            mode: if setup.shared {
                MapMode::Shared
            } else {
                MapMode::Private
            },
            prot: setup.prot,
            size: setup.size,
            cache,
            cow: BTreeMap::new(),
            history: Vec::new(),
            redo: Vec::new(),
            grow_zeroes_padding: grow_zeroes_padding(),
            write_ok: setup.prot.write,
        }
    }

    fn pages(&self) -> u64 {
        self.map_bytes / self.ps
    }

    /// Mapping bytes backed by the file.
    fn data_bytes(&self) -> u64 {
        self.size.saturating_sub(self.base).min(self.map_bytes)
    }

    /// Mapping pages holding file data (the rest lie beyond EOF).
    fn data_pages(&self) -> u64 {
        self.data_bytes().div_ceil(self.ps)
    }

    /// What the mapping shows at mapping offset `off` (of a page that is not beyond EOF).
    fn view(&self, off: u64) -> Option<u8> {
        let page = off / self.ps;
        match self.cow.get(&page) {
            Some(copy) if self.mode == MapMode::Private => copy[(off % self.ps) as usize],
            _ => self.cache[(self.base + off) as usize],
        }
    }

    /// What the mapping shows on page `page` (not beyond EOF).
    fn page_view(&self, page: u64) -> &[Option<u8>] {
        match self.cow.get(&page) {
            Some(copy) if self.mode == MapMode::Private => copy,
            _ => {
                let start = (self.base + page * self.ps) as usize;
                &self.cache[start..start + self.ps as usize]
            }
        }
    }

    /// Whether a write of `len` bytes at `off` must succeed, by the contract.
    fn write_allowed(&self, off: u64, len: u64) -> bool {
        let Some(end) = off.checked_add(len) else {
            return false;
        };
        len > 0
            && end <= self.map_bytes
            && self.prot.write
            && (end - 1) / self.ps < self.data_pages()
    }

    /// Bytes of a write at `off` that land in the padding after EOF.
    fn padding_in(&self, off: u64, len: u64) -> u64 {
        (off..off + len)
            .filter(|&o| self.base + o >= self.size)
            .count() as u64
    }

    fn apply_write(&mut self, off: u64, bytes: &[u8]) {
        match self.mode {
            MapMode::Shared => {
                for (i, b) in bytes.iter().enumerate() {
                    let f = (self.base + off) as usize + i;
                    // Padding: ours until writeback re-zeroes it.
                    self.cache[f] = if (f as u64) < self.size {
                        Some(*b)
                    } else {
                        None
                    };
                }
            }
            MapMode::Private => {
                for (i, b) in bytes.iter().enumerate() {
                    let o = off + i as u64;
                    let page = o / self.ps;
                    if !self.cow.contains_key(&page) {
                        let start = self.base + page * self.ps;
                        let copy = self.cache[start as usize..(start + self.ps) as usize].to_vec();
                        self.cow.insert(page, copy);
                    }
                    self.cow.get_mut(&page).expect("copy")[(o % self.ps) as usize] = Some(*b);
                }
            }
        }
    }

    fn apply_truncate(&mut self, new: u64) {
        let ps = self.ps;
        let old = self.size;
        if new < old {
            // The EOF page's tail is zeroed; pages beyond it leave the cache (holes read zero).
            for b in &mut self.cache[new as usize..] {
                *b = Some(0);
            }
            // Private copies of pages wholly beyond the new EOF go too.
            let hole = new.div_ceil(ps) * ps;
            let base = self.base;
            self.cow.retain(|page, _| base + page * ps < hole);
        } else if new > old && self.grow_zeroes_padding {
            let end = old.div_ceil(ps) * ps;
            for b in &mut self.cache[old as usize..end as usize] {
                *b = Some(0);
            }
        }
        self.size = new;
    }
}

/// Whether growing a file by truncate shows zeros where a shared mapping wrote into the padding
/// of its last page (checked once, on this machine's kernel and filesystem).
fn grow_zeroes_padding() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| {
        let dir = temp_dir();
        let mut zeroes = true;
        for (size, at, grow) in [
            (100u64, 0x70u64, 200u64),
            (100, 0xff0, 8192),
            (5000, 0x1800, 8000),
        ] {
            let path = dir.path().join(format!("probe-{size}-{at}"));
            std::fs::write(&path, vec![0x5au8; size as usize]).expect("write probe file");
            let region = Region::open(&request(&path, MapMode::Shared, 0, None, Prot::RW))
                .expect("map probe file");
            assert_eq!(region.write(at, &[0x41, 0x42]).expect("padding write"), 2);
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(grow))
                .expect("grow probe file");
            let after = std::fs::read(&path).expect("read probe file");
            zeroes &= after[at as usize..at as usize + 2] == [0, 0];
        }
        eprintln!(
            "kernel: a grow after a padding write shows {}",
            if zeroes {
                "zeros (modelled as zeros)"
            } else {
                "the written bytes at least once (modelled as unknown)"
            }
        );
        zeroes
    })
}

// ---------------------------------------------------------------------------------------------
// Running a case.

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("property-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

fn request(path: &Path, mode: MapMode, offset: u64, len: Option<u64>, prot: Prot) -> MapRequest {
    MapRequest {
        source: Source::File(path.to_path_buf()),
        mode,
        offset,
        len,
        prot: Some(prot),
        // Writing the file is allowed when the mapping starts writable; a read-only start
        // needs a `protect rw` line (consent), as the safe default says.
        write: prot.write,
        place: Default::default(),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex in a result"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn shown(bytes: &[Option<u8>]) -> String {
    bytes
        .iter()
        .map(|b| b.map_or_else(|| "??".into(), |b| format!("{b:02x}")))
        .collect()
}

/// The case so far, for the failure message.
struct Transcript {
    setup: String,
    lines: Vec<String>,
}

impl Transcript {
    fn push(&mut self, text: &str, out: &Value) {
        let r = &out["result"];
        let mut what = String::new();
        if out["ok"] == true {
            what.push_str("ok");
            for key in [
                "offset",
                "old",
                "new",
                "padding_bytes",
                "hex",
                "old_size",
                "new_size",
                "first_page",
                "pages",
                "cow_before",
                "cow_after",
                "mode",
            ] {
                if let Some(v) = r.get(key) {
                    let mut v = v.to_string();
                    if v.len() > 80 {
                        v = format!("{}...\"", &v[..76]);
                    }
                    let _ = write!(what, " {key}={v}");
                }
            }
        } else {
            let _ = write!(what, "ERR {}", out["error"].as_str().unwrap_or("?"));
        }
        self.lines.push(format!("{text:<44} # -> {what}"));
    }

    fn fail(&self, problem: impl std::fmt::Display) -> TestCaseError {
        let mut msg = format!("{problem}\n{}\nscript so far", self.setup);
        msg.push_str(" (the last line is where it failed; `# ->` is what each line reported):\n");
        for l in &self.lines {
            let _ = writeln!(msg, "    {l}");
        }
        TestCaseError::fail(msg)
    }
}

thread_local! {
    /// Where and why the last panic happened (the hook set by the test keeps it quiet).
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs one line, turning a panic into a failure that shows the script.
fn step(runner: &mut Runner, line: &Line, t: &mut Transcript) -> Result<Value, TestCaseError> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| runner.step(line))) {
        Ok(out) => {
            t.push(&line.text, &out);
            Ok(out)
        }
        Err(_) => {
            let what = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default();
            t.lines.push(format!("{:<44} # -> PANIC", line.text));
            Err(t.fail(format!("the step panicked: {what}")))
        }
    }
}

fn parse_one(text: &str) -> Line {
    let mut lines = mmapscope::script::parse(text).expect("the test's own line parses");
    lines.pop().expect("one line")
}

/// Checks the file on disk, the mapping's readable pages and our VMA against the model.
fn check_state(
    session: &Session,
    model: &Model,
    path: &Path,
    t: &Transcript,
) -> Result<Vec<u8>, TestCaseError> {
    let region = session.region().expect("our mapping");
    if region.mode() != model.mode || region.prot() != model.prot {
        return Err(t.fail(format!(
            "the region says {} {}, the script made it {} {}",
            region.mode().as_str(),
            region.prot().letters(),
            model.mode.as_str(),
            model.prot.letters()
        )));
    }
    if region.map_bytes() != model.map_bytes || region.offset() != model.base {
        return Err(t.fail(format!(
            "the mapping changed shape: offset {} len {} (was {} {})",
            region.offset(),
            region.map_bytes(),
            model.base,
            model.map_bytes
        )));
    }
    // The kernel's view of our mapping: VMAs that cover it exactly, with the region's protection
    // and mode (madvise of part of it may split it into several).
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    let (start, end) = (region.addr(), region.addr() + region.map_bytes());
    let perms = format!(
        "{}{}",
        model.prot.letters(),
        if model.mode == MapMode::Shared {
            's'
        } else {
            'p'
        }
    );
    let mut covered = start;
    let mut ours = Vec::new();
    for l in maps.lines() {
        let mut words = l.split_whitespace();
        let range = words.next().unwrap_or("");
        let p = words.next().unwrap_or("");
        let (s, e) = range.split_once('-').unwrap_or(("0", "0"));
        let (s, e) = (
            u64::from_str_radix(s, 16).unwrap_or(0),
            u64::from_str_radix(e, 16).unwrap_or(0),
        );
        if s < end && e > start {
            ours.push(l.to_string());
            if s == covered && e <= end && p == perms {
                covered = e;
            }
        }
    }
    if covered != end || ours.len() as u64 > model.pages() {
        return Err(t.fail(format!(
            "/proc/self/maps shows {ours:#?} for our mapping 0x{start:x}-0x{end:x}, expected {perms}"
        )));
    }

    let file = std::fs::read(path).expect("read the file");
    if file.len() as u64 != model.size {
        return Err(t.fail(format!(
            "the file is {} bytes, the model {}",
            file.len(),
            model.size
        )));
    }
    if let Some(i) = (0..file.len()).find(|&i| model.cache[i].is_some_and(|b| b != file[i])) {
        let lo = i.saturating_sub(4);
        let hi = (i + 8).min(file.len());
        return Err(t.fail(format!(
            "file byte 0x{i:x} is {:02x}, the model says {}; file[0x{lo:x}..0x{hi:x}] = {}, model {}",
            file[i],
            shown(&model.cache[i..=i]),
            hex(&file[lo..hi]),
            shown(&model.cache[lo..hi])
        )));
    }

    if model.prot.read {
        let ps = model.ps;
        let mut buf = vec![0u8; ps as usize];
        for page in 0..model.pages() {
            let got = region.read(page * ps, &mut buf);
            if page >= model.data_pages() {
                if let Ok(n) = got {
                    return Err(t.fail(format!(
                        "page {page} lies beyond EOF (file {} bytes) but {n} bytes of it read",
                        model.size
                    )));
                }
                continue;
            }
            match got {
                Ok(n) if n == ps as usize => {}
                other => {
                    return Err(t.fail(format!(
                        "page {page} holds file data but reading it gave {other:?}"
                    )));
                }
            }
            let want = model.page_view(page);
            if let Some(i) = (0..buf.len()).find(|&i| want[i].is_some_and(|v| v != buf[i])) {
                let (off, b) = (page * ps + i as u64, buf[i]);
                let lo = off.saturating_sub(4);
                let hi = (off + 8).min((page + 1) * ps);
                let mut seen = vec![0u8; (hi - lo) as usize];
                let _ = region.read(lo, &mut seen);
                let expected: Vec<Option<u8>> = (lo..hi).map(|o| model.view(o)).collect();
                return Err(t.fail(format!(
                    "the mapping shows {b:02x} at offset 0x{off:x} (file offset 0x{:x}), the \
                     model {}; mapping[0x{lo:x}..0x{hi:x}] = {}, model {} ({} mapping, page \
                     {page} {})",
                    model.base + off,
                    shown(&[model.view(off)]),
                    hex(&seen),
                    shown(&expected),
                    model.mode.as_str(),
                    if model.cow.contains_key(&page) {
                        "is our private copy"
                    } else {
                        "shows the file"
                    }
                )));
            }
        }
    }
    Ok(file)
}

/// Checks a `snapshot` report against the model: the file's size, the mapping, each page's
/// geometry (data, padding, beyond EOF) and, for a private mapping, which pages are our copies.
fn check_report(out: &Value, model: &Model, t: &Transcript) -> Result<(), TestCaseError> {
    let r = &out["result"];
    if out["ok"] != true {
        return Err(t.fail("snapshot failed"));
    }
    let mode = model.mode.as_str();
    let prot = model.prot.letters();
    if r["file"]["size"] != model.size
        || r["mapping"]["mode"] != mode
        || r["mapping"]["prot"] != prot.as_str()
        || r["mapping"]["offset"] != model.base
        || r["mapping"]["pages"] != model.pages()
        || r["summary"]["pages"] != model.pages()
    {
        return Err(t.fail(format!(
            "snapshot says file {} mapping {}, expected size {} mode {mode} prot {prot} offset \
             {} pages {}",
            r["file"],
            r["mapping"],
            model.size,
            model.base,
            model.pages()
        )));
    }
    let runs = r["pages"].as_array().cloned().unwrap_or_default();
    let mut next = 0;
    let mut beyond = 0;
    for run in &runs {
        let (first, count) = (
            run["first"].as_u64().unwrap_or(u64::MAX),
            run["count"].as_u64().unwrap_or(0),
        );
        if first != next || count == 0 {
            return Err(t.fail(format!("snapshot runs are not consecutive: {runs:?}")));
        }
        for page in first..first + count {
            let start = page * model.ps;
            let valid = model.data_bytes().saturating_sub(start).min(model.ps);
            let is_beyond = page >= model.data_pages();
            let padding = if is_beyond { 0 } else { model.ps - valid };
            beyond += u64::from(is_beyond);
            // Our copies, unless swapped out (there is no swap here).
            let cow = model.mode == MapMode::Private && model.cow.contains_key(&page);
            let cow_ok = run["swapped"] == true || run["cow"].is_null() || run["cow"] == cow;
            if run["valid_bytes"] != valid
                || run["padding_bytes"] != padding
                || run["beyond_eof"] != is_beyond
                || !cow_ok
            {
                return Err(t.fail(format!(
                    "snapshot page {page}: {run}; expected valid_bytes {valid} padding_bytes \
                     {padding} beyond_eof {is_beyond} cow {cow}"
                )));
            }
        }
        next = first + count;
    }
    if next != model.pages() || r["summary"]["beyond_eof"] != beyond {
        return Err(t.fail(format!(
            "snapshot runs cover {next} pages, summary {}; expected {} pages, {beyond} beyond EOF",
            r["summary"],
            model.pages()
        )));
    }
    Ok(())
}

/// Statistics over all cases run, for the summary.
#[derive(Default)]
struct Stats {
    cases: u64,
    lines: u64,
    /// Per command word: (ok, refused, time in the session's steps).
    per_cmd: BTreeMap<String, (u64, u64, std::time::Duration)>,
    undo_checked: u64,
    padding_writes: u64,
    cow_writes: u64,
    shrinks_dropping_copies: u64,
    snapshots: u64,
    /// Why writes (and undo/redo) were refused: outside the mapping, beyond EOF, no PROT_WRITE.
    refused_writes: [u64; 3],
}

fn word(text: &str) -> String {
    text.split_whitespace().next().unwrap_or("").to_string()
}

fn run_case(setup: &Setup, script: &[G], stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    let dir = temp_dir();
    let path = dir.path().join("f");
    let content = setup.content();
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&path).expect("create");
        if setup.pagewise {
            for chunk in content.chunks(ps() as usize) {
                f.write_all(chunk).expect("write");
            }
        } else {
            f.write_all(&content).expect("write");
        }
    }
    let mut t = Transcript {
        setup: setup.describe(),
        lines: Vec::new(),
    };
    let mode = if setup.shared {
        MapMode::Shared
    } else {
        MapMode::Private
    };
    let region = Region::open(&request(&path, mode, setup.offset(), setup.len, setup.prot))
        .map_err(|e| t.fail(format!("mapping failed: {e}")))?;
    let mut runner = Runner::new(Session::new(region, false, (120, 40)));
    // The truncate helper must be the real binary, not this test program.
    runner.session.lab.helper = Some(env!("CARGO_BIN_EXE_mmapscope").into());
    let mut model = Model::new(setup, &content);
    if runner.session.region().expect("our mapping").map_bytes() != model.map_bytes {
        return Err(t.fail(format!(
            "mapped {} bytes, expected {}",
            runner.session.region().expect("our mapping").map_bytes(),
            model.map_bytes
        )));
    }

    // The whole script is parsed at once, as `batch` does, and must give the intended ops.
    // With comments and blank lines here and there, as people write scripts.
    let mut text = String::from("# generated by tests/it/property.rs\n\n");
    for (i, g) in script.iter().enumerate() {
        text.push_str(&g.text());
        text.push_str(if i % 3 == 1 { "   # a comment\n" } else { "\n" });
    }
    let lines = mmapscope::script::parse(&text)
        .map_err(|e| t.fail(format!("the script does not parse: {e:?}\n{text}")))?;
    if lines.len() != script.len() {
        return Err(t.fail(format!("{} lines parsed of {}", lines.len(), script.len())));
    }
    for (g, line) in script.iter().zip(&lines) {
        if line.step != g.step() {
            return Err(t.fail(format!(
                "`{}` parsed as {:?}, expected {:?}",
                line.text,
                line.step,
                g.step()
            )));
        }
    }

    let mut file = check_state(&runner.session, &model, &path, &t)?;
    let (mut unclaimed, mut wrongly_claimed) = (0, 0);
    for (index, line) in lines.iter().enumerate() {
        if line.step == Step::Snapshot {
            let out = step(&mut runner, line, &mut t)?;
            check_report(&out, &model, &t)?;
            stats.borrow_mut().snapshots += 1;
            continue;
        }
        let Step::Do(op) = &line.step else {
            unreachable!("only ops and snapshots are generated")
        };
        let t0 = std::time::Instant::now();
        let out = step(&mut runner, line, &mut t)?;
        let ok = out["ok"] == true;
        let r = &out["result"];
        {
            let mut s = stats.borrow_mut();
            s.lines += 1;
            let e = s.per_cmd.entry(word(&line.text)).or_default();
            e.2 += t0.elapsed();
            if ok {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let before_size = model.size;
        let was = (model.mode, model.prot);
        let expect_ok = model.must_succeed(op);
        if ok != expect_ok {
            return Err(t.fail(format!(
                "`{}` {} but the contract says it {} ({} {}, file {} bytes, mapping offset {} \
                 of {} bytes, {} data page(s))",
                line.text,
                if ok { "succeeded" } else { "was refused" },
                if expect_ok {
                    "must succeed"
                } else {
                    "must be refused"
                },
                was.0.as_str(),
                was.1.letters(),
                before_size,
                model.base,
                model.map_bytes,
                model.data_pages()
            )));
        }
        if ok {
            apply(&mut runner, &mut model, op, r, &mut t, stats)?;
        } else if let Op::Write { offset, bytes } = op {
            let len = bytes.len() as u64;
            let why = if offset.checked_add(len).is_none_or(|e| e > model.map_bytes) {
                0
            } else if (offset + len - 1) / model.ps >= model.data_pages() {
                1
            } else {
                2
            };
            stats.borrow_mut().refused_writes[why] += 1;
        }

        let now = check_state(&runner.session, &model, &path, &t)?;
        // Only a shared write (or undo/redo) with PROT_WRITE, or a truncate, changes the file.
        let may_change = match op {
            Op::Truncate(_) => true,
            Op::Write { .. } | Op::Undo | Op::Redo => was.0 == MapMode::Shared && was.1.write,
            _ => false,
        };
        if !may_change && now != file {
            return Err(t.fail(format!(
                "the file changed although the step was `{}` on a {} {} mapping",
                line.text,
                was.0.as_str(),
                was.1.letters()
            )));
        }
        file = now;

        // `expect` lines of our own: the session's checks agree with the model, and a failure
        // not claimed by the `expect error` right after it makes the run fail at the end.
        let mut expects: Vec<(String, bool)> = Vec::new();
        if ok {
            if let Some(off) = r["offset"].as_u64().filter(|_| r.get("new").is_some()) {
                let f = model.base + off;
                if let Some(b) = model.cache.get(f as usize).copied().flatten()
                    && f < model.size
                {
                    expects.push((format!("expect file 0x{f:x} == {b:02x}"), true));
                }
            }
            if let Op::Truncate(size) = op {
                expects.push((format!("expect result new_size == {size}"), true));
                expects.push((format!("expect file size == {size}"), true));
            }
            if index % 7 == 6 {
                expects.push(("expect error".into(), false));
                wrongly_claimed += 1;
            }
        } else if index % 4 == 3 {
            unclaimed += 1;
        } else {
            expects.push(("expect error".into(), true));
        }
        for (text, must_pass) in expects {
            let out = step(&mut runner, &parse_one(&text), &mut t)?;
            if (out["ok"] == true) != must_pass {
                return Err(t.fail(format!(
                    "`{text}` {} but {}",
                    if must_pass { "failed" } else { "passed" },
                    if must_pass {
                        "the model says it holds"
                    } else {
                        "the previous command succeeded"
                    }
                )));
            }
        }
    }
    let all_well = runner.finish();
    if all_well != (unclaimed == 0 && wrongly_claimed == 0) {
        return Err(t.fail(format!(
            "the run ended {} with {unclaimed} failure(s) no `expect error` claimed and \
             {wrongly_claimed} `expect error` after a success",
            if all_well { "well" } else { "failed" }
        )));
    }
    stats.borrow_mut().cases += 1;
    Ok(())
}

impl Model {
    /// Whether `op` must succeed now, by the contract (and the kernel's rules for the rest).
    fn must_succeed(&self, op: &Op) -> bool {
        match op {
            Op::Write { offset, bytes } => self.write_allowed(*offset, bytes.len() as u64),
            Op::Undo => self
                .history
                .last()
                .is_some_and(|r| self.write_allowed(r.offset, r.old.len() as u64)),
            Op::Redo => self
                .redo
                .last()
                .is_some_and(|r| self.write_allowed(r.offset, r.new.len() as u64)),
            Op::Read { offset, len } => {
                offset
                    .checked_add(*len)
                    .is_some_and(|e| e <= self.map_bytes)
                    && *len <= 1 << 20
                    && (*len == 0 || (self.prot.read && offset / self.ps < self.data_pages()))
            }
            Op::Msync(_, Scope::Page(p)) | Op::Advise(_, Scope::Page(p)) => *p < self.pages(),
            Op::Touch(p) => *p < self.pages() && self.prot.read && *p < self.data_pages(),
            // Safe by default: truncating writes the file, which needs consent.
            Op::Truncate(_) => self.write_ok,
            _ => true,
        }
    }
}

/// Takes into the model what a step that succeeded reports, checking the report on the way.
fn apply(
    runner: &mut Runner,
    model: &mut Model,
    op: &Op,
    r: &Value,
    t: &mut Transcript,
    stats: &RefCell<Stats>,
) -> Result<(), TestCaseError> {
    match op {
        Op::Write { offset, bytes } => {
            wrote(model, r, *offset, bytes, t, stats)?;
            model.history.push(Rec {
                offset: *offset,
                old: unhex(r["old"].as_str().unwrap_or("")),
                new: bytes.clone(),
            });
            model.redo.clear();
        }
        Op::Undo | Op::Redo => {
            let undo = matches!(op, Op::Undo);
            let what = if undo { "undo" } else { "redo" };
            let rec = if undo {
                model.history.pop()
            } else {
                model.redo.pop()
            }
            .ok_or_else(|| t.fail(format!("{what} reported ok with nothing to {what}")))?;
            let bytes = if undo { &rec.old } else { &rec.new };
            wrote(model, r, rec.offset, bytes, t, stats)?;
            // Read the range back with a line of our own: exactly the recorded bytes.
            let read = parse_one(&format!("read {} {}", rec.offset, bytes.len()));
            let got = step(runner, &read, t)?;
            if got["ok"] != true {
                return Err(t.fail(format!("reading back the range after {what} failed")));
            }
            let seen = unhex(got["result"]["hex"].as_str().unwrap_or(""));
            let exact = seen.len() == bytes.len()
                && seen.iter().zip(bytes).enumerate().all(|(i, (s, b))| {
                    // A shared padding byte may have been written back (zeroed) since.
                    let padding = model.mode == MapMode::Shared
                        && model.base + rec.offset + i as u64 >= model.size;
                    s == b || (padding && *s == 0)
                });
            if !exact {
                return Err(t.fail(format!(
                    "after {what}, the mapping holds {} at 0x{:x}, not the recorded {}",
                    hex(&seen),
                    rec.offset,
                    hex(bytes)
                )));
            }
            // In the file too, when shared: the part of the range below EOF.
            if model.mode == MapMode::Shared {
                let file = std::fs::read(
                    runner
                        .session
                        .region()
                        .expect("our mapping")
                        .path()
                        .expect("a file"),
                )
                .expect("read");
                let from = model.base + rec.offset;
                let upto = (from + bytes.len() as u64).min(model.size);
                if from < upto
                    && file[from as usize..upto as usize] != bytes[..(upto - from) as usize]
                {
                    return Err(t.fail(format!(
                        "after {what}, the file holds {} at 0x{from:x}, not the recorded {}",
                        hex(&file[from as usize..upto as usize]),
                        hex(&bytes[..(upto - from) as usize])
                    )));
                }
            }
            if undo {
                model.redo.push(rec);
            } else {
                model.history.push(rec);
            }
            stats.borrow_mut().undo_checked += 1;
        }
        Op::Read { offset, len } => {
            let seen = unhex(r["hex"].as_str().unwrap_or(""));
            let want_len = (*len).min((model.data_pages() * model.ps).saturating_sub(*offset));
            if seen.len() as u64 != want_len {
                return Err(t.fail(format!(
                    "read gave {} bytes, expected {want_len} (up to the first page beyond EOF)",
                    seen.len()
                )));
            }
            for (i, b) in seen.iter().enumerate() {
                let o = offset + i as u64;
                if model.view(o).is_some_and(|v| v != *b) {
                    return Err(t.fail(format!(
                        "read shows {b:02x} at 0x{o:x}, the model {}",
                        shown(&[model.view(o)])
                    )));
                }
            }
        }
        Op::Mode(m) => {
            if r["mode"] != m.as_str() {
                return Err(t.fail(format!("mode reported {}", r["mode"])));
            }
            model.mode = *m;
            // The protection a remap keeps is the session's business (safe by default may
            // drop to read-only): take what the region says; /proc/self/maps checks it.
            model.prot = runner.session.region().expect("our mapping").prot();
            model.cow.clear();
            model.history.clear();
            model.redo.clear();
        }
        Op::Msync(_, sc) | Op::Advise(_, sc) => {
            let (first, count) = match sc {
                Scope::All => (0, model.pages()),
                Scope::Page(p) => (*p, 1),
            };
            if r["first_page"] != first || r["pages"] != count {
                return Err(t.fail(format!(
                    "the call covered pages {}+{}, not {first}+{count}",
                    r["first_page"], r["pages"]
                )));
            }
            if matches!(op, Op::Advise(MAdvice::DontNeed, _)) && model.mode == MapMode::Private {
                model.cow.retain(|p, _| !(first..first + count).contains(p));
            }
        }
        Op::Protect(p) => {
            model.prot = *p;
            // `protect` with PROT_WRITE on a shared mapping is consent to writing the file (on
            // a private one it writes nothing of the file, and consents to nothing).
            model.write_ok |= p.write && model.mode == MapMode::Shared;
        }
        Op::Truncate(size) => {
            if r["old_size"] != model.size || r["new_size"] != *size {
                return Err(t.fail(format!(
                    "truncate reported {} -> {}, expected {} -> {size}",
                    r["old_size"], r["new_size"], model.size
                )));
            }
            let ps = model.ps;
            let hole = size.div_ceil(ps) * ps;
            if model.mode == MapMode::Private
                && model.cow.keys().any(|p| model.base + p * ps >= hole)
            {
                stats.borrow_mut().shrinks_dropping_copies += 1;
            }
            model.apply_truncate(*size);
        }
        Op::Fadvise(_) | Op::Touch(_) => {}
        other => unreachable!("not generated: {other:?}"),
    }
    Ok(())
}

/// Checks a write's report against the model and applies it.
fn wrote(
    model: &mut Model,
    r: &Value,
    offset: u64,
    bytes: &[u8],
    t: &Transcript,
    stats: &RefCell<Stats>,
) -> Result<(), TestCaseError> {
    let len = bytes.len() as u64;
    let old: Vec<Option<u8>> = (offset..offset + len).map(|o| model.view(o)).collect();
    let reported_old = unhex(r["old"].as_str().unwrap_or(""));
    let old_ok = reported_old.len() == old.len()
        && old
            .iter()
            .zip(&reported_old)
            .all(|(m, b)| m.is_none_or(|m| m == *b));
    if r["offset"] != offset || r["new"] != hex(bytes) || !old_ok {
        return Err(t.fail(format!(
            "the write reported offset {} old {} new {}, expected offset {offset} old {} new {}",
            r["offset"],
            r["old"],
            r["new"],
            shown(&old),
            hex(bytes)
        )));
    }
    let padding = model.padding_in(offset, len);
    if r["padding_bytes"] != padding {
        return Err(t.fail(format!(
            "the write reported {} padding bytes, expected {padding}",
            r["padding_bytes"]
        )));
    }
    {
        let mut s = stats.borrow_mut();
        if padding > 0 {
            s.padding_writes += 1;
        }
        if model.mode == MapMode::Private {
            s.cow_writes += 1;
        }
    }
    model.apply_write(offset, bytes);
    Ok(())
}

#[test]
fn random_scripts_keep_the_file_equal_to_the_model() {
    let (config, cases, seed) = common::proptest_config(256);
    let mut runner = TestRunner::new(config);
    let stats = RefCell::new(Stats::default());
    let start = std::time::Instant::now();
    // Panics on this thread are kept, not printed: shrinking would print hundreds of them. The
    // hook is the process's, shared with the other tests of the crate running meanwhile: theirs
    // still go to the previous hook (else a failing test would lose its message).
    let previous = std::sync::Arc::new(std::panic::take_hook());
    let to_previous = std::sync::Arc::clone(&previous);
    let here = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == here {
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
        } else {
            to_previous(info);
        }
    }));
    let result = runner.run(&case_strategy(), |(setup, script)| {
        run_case(&setup, &script, &stats)
    });
    std::panic::set_hook(Box::new(move |info| previous(info)));
    match result {
        Ok(()) => {
            let s = stats.borrow();
            let mut summary = format!(
                "{} cases, {} lines in {:.1?}; undo/redo read back: {}, padding writes: {}, \
                 private writes: {}, truncates dropping private copies: {}, snapshots: {}\n",
                s.cases,
                s.lines,
                start.elapsed(),
                s.undo_checked,
                s.padding_writes,
                s.cow_writes,
                s.shrinks_dropping_copies,
                s.snapshots
            );
            let _ = writeln!(
                summary,
                "  writes refused: {} outside the mapping, {} beyond EOF, {} without PROT_WRITE",
                s.refused_writes[0], s.refused_writes[1], s.refused_writes[2]
            );
            for (cmd, (ok, refused, time)) in &s.per_cmd {
                let _ = writeln!(
                    summary,
                    "  {cmd:<11} ok {ok:>6}  refused {refused:>6}  {:>6.2} ms each",
                    time.as_secs_f64() * 1000.0 / (ok + refused).max(1) as f64
                );
            }
            eprintln!("{summary}");
        }
        Err(TestError::Fail(why, (setup, script))) => panic!(
            "{why}\n(last panic: {})\nreplay: PROPTEST_RNG_SEED={seed} \
             MMAPSCOPE_PROPTEST_CASES={cases} cargo test --test it property::\n\n\
             minimal case: {setup:?}\n{}",
            LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "none".into()),
            script.iter().map(G::text).collect::<Vec<_>>().join("\n")
        ),
        Err(TestError::Abort(why)) => panic!("aborted: {why}"),
    }
}
