//! The README's screen: drawn from a model made like the demo's, it is the block quoted, exactly;
//! and the real demo in a 100x30 pty draws the same, but for what changes from run to run.

use crate::common;

use mmapscope::action::{Action, GridAction, Motion};
use mmapscope::geometry::Geometry;
use mmapscope::model::Model;
use mmapscope::sys::map::region::CacheStat;
use mmapscope::sys::map::request::{MapMode, Prot};
use mmapscope::sys::probe::chunks::{Bucket, ChunkSlice, Chunks};
use mmapscope::sys::probe::snapshot::{Backing, Snapshot, ViewBytes, VisiblePage};
use mmapscope::sys::probe::state::{DecodeCtx, PageProbe, PageState, Sources};
use mmapscope::sys::proc::maps::{HugeCounters, MapsLine, MemoryCounters, Vma, VmaHead};
use mmapscope::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{ADDR, DEMO, FILE_SIZE, PS, README, block, check_block, doc};

fn maps() -> Vec<MapsLine> {
    let line = |start: u64, len: u64, perms: &str, path: &str| MapsLine {
        start,
        end: start + len,
        perms: perms.into(),
        offset: 0,
        dev: 0,
        inode: 0,
        path: path.into(),
    };
    let gcc = "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1";
    vec![
        line(
            0x5603_9f1e_5000,
            0x6_0000,
            "r--p",
            "/usr/local/bin/mmapscope",
        ),
        line(
            0x5603_9f24_5000,
            0x2a_0000,
            "r-xp",
            "/usr/local/bin/mmapscope",
        ),
        line(0x5603_a0f0_2000, 0x2_1000, "rw-p", "[heap]"),
        line(0x7f1c_0b28_c000, 0x3000, "r--p", gcc),
        line(0x7f1c_0b28_f000, 0x1_7000, "r-xp", gcc),
        line(0x7f1c_0b2a_6000, 0x4000, "r--p", gcc),
        line(0x7f1c_0b2a_a000, 0x1000, "r--p", gcc),
        line(0x7f1c_0b2a_b000, 0x1000, "rw-p", gcc),
        line(ADDR, 4 * PS, "rw-s", DEMO),
        line(ADDR + 4 * PS, 0x1000, "---p", ""),
        line(ADDR + 5 * PS, 0x2000, "rw-p", ""),
        line(0x7ffd_2a4e_1000, 0x2_1000, "rw-p", "[stack]"),
        line(0x7ffd_2a5c_8000, 0x4000, "r--p", "[vvar]"),
        line(0x7ffd_2a5c_c000, 0x2000, "r-xp", "[vdso]"),
    ]
}

/// smaps of the demo's mapping freshly opened: nothing mapped into our page tables yet.
fn vma() -> Vma {
    Vma {
        head: VmaHead {
            start: ADDR,
            end: ADDR + 4 * PS,
            perms: "rw-s".into(),
            path: DEMO.into(),
        },
        memory: MemoryCounters {
            size: 4 * PS,
            rss: 0,
            pss: 0,
            shared_clean: 0,
            shared_dirty: 0,
            private_clean: 0,
            private_dirty: 0,
            anonymous: 0,
            referenced: 0,
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

pub(super) fn decode_ctx() -> DecodeCtx {
    DecodeCtx {
        mode: MapMode::Shared,
        file_mapping: true,
        soft_dirty: false,
        always_dirty: false,
    }
}

/// The demo as it opens, as root: every page in the page cache and clean, none mapped in
/// our page tables yet (mmap is lazy, and looking maps nothing).
fn fresh_demo_probe(m: &mut Model) {
    let view = m.view();
    let g = m.snap.shape.geometry;
    let contents = mmapscope::demo::contents(PS as usize);
    let probe = PageProbe {
        resident: Some(true),
        pagemap: Some(0),
        cache: Some(CacheStat {
            nr_cache: 1,
            ..CacheStat::default()
        }),
        ..PageProbe::default()
    };
    m.snap.probed.pages = (view.first_page..view.first_page + view.page_count)
        .map(|index| VisiblePage {
            index,
            state: PageState::decode(g.page(index), probe, decode_ctx()),
            probe,
        })
        .collect();
    let layout = Chunks::of(g.pages());
    let probed = (0..layout.count)
        .map(|i| {
            let (first, pages) = layout.range(i);
            let bucket = Bucket {
                first,
                pages,
                resident: Some(pages),
                present: Some(0),
                dirty: Some(0),
                cow: Some(0),
                beyond_eof: 0,
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
            .map(|off| Some(contents.get(off as usize).copied().unwrap_or(0)))
            .collect(),
        unread: Vec::new(),
    };
}

pub(super) fn demo_model(size: (u16, u16)) -> Model {
    let backing = Backing::File {
        path: DEMO.into(),
        writable: true,
        regular: true,
    };
    // The demo maps the file's length (the kernel rounds it up to 4 pages).
    let geometry = Geometry {
        page_size: PS,
        offset: 0,
        len: FILE_SIZE,
        file_size: Some(FILE_SIZE),
    };
    let mut snap = Snapshot::empty(backing, MapMode::Shared, Prot::RW, ADDR, geometry);
    snap.readings.maps = Ok(std::sync::Arc::new(maps()));
    snap.readings.vma = Some(vma());
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
    m.log.clock = "05:49:21".into();
    m.settings.color = false;
    m.log(format!(
        "demo file created: {DEMO} (removed when mmapscope ends)"
    ));
    fresh_demo_probe(&mut m);
    m
}

/// The buffer's text, a line per row, trailing blanks trimmed (as Markdown keeps it). The test
/// backend's own text (what insta snapshots hold) is a quoted line per row, wide characters
/// drawn once.
fn screen_text(m: &Model) -> String {
    let mut t =
        Terminal::new(TestBackend::new(m.screen.size.0, m.screen.size.1)).expect("test terminal");
    t.draw(|f| mmapscope::ui::render(m, f)).expect("draw");
    let mut out = String::new();
    for row in t.backend().to_string().lines() {
        let inner = row
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or_else(|| panic!("a row of the test backend is quoted: {row}"));
        out += inner.trim_end();
        out.push('\n');
    }
    out
}

#[test]
fn the_readme_screen_is_the_screen_drawn() {
    // "The demo, after `]` three times (100x30)".
    let mut m = demo_model((100, 30));
    for _ in 0..3 {
        update(&mut m, Action::Grid(GridAction::Move(Motion::NextPage)));
        fresh_demo_probe(&mut m);
    }
    let screen = screen_text(&m);
    // The model is the demo's: a drawing of something else would prove nothing.
    assert!(
        screen.contains("demo.txt  12,388 B  MAP_SHARED rw-"),
        "{screen}"
    );
    assert!(screen.contains("page 3"), "{screen}");
    // Its VMA is its 4 pages, no more: no neighbour is counted in smaps.
    assert!(screen.contains(" smaps of our mapping "), "{screen}");
    check_block(README, "screen", &format!("```\n{screen}```\n"));
}

/// `line` with what changes from run to run masked: addresses (12 hex digits or more) and the
/// demo's temporary directory (the word that holds it, up to its `/`); runs of blanks as one.
fn masked(line: &str) -> String {
    let mut out = String::new();
    let mut hex = String::new();
    let flush = |hex: &mut String, out: &mut String| {
        *out += if hex.len() >= 12 {
            "ADDR"
        } else {
            hex.as_str()
        };
        hex.clear();
    };
    for c in line.chars() {
        if c.is_ascii_hexdigit() {
            hex.push(c);
        } else {
            flush(&mut hex, &mut out);
            out.push(c);
        }
    }
    flush(&mut hex, &mut out);
    let words: Vec<String> = out
        .split_whitespace()
        .map(|w| match w.find("mmapscope-demo-") {
            Some(at) => {
                let end = w[at..].find('/').map_or(w.len(), |e| at + e);
                // The directory, whole or cut at the panel's edge (`…`).
                format!("DEMO-DIR{}", &w[end..])
            }
            None => w.to_string(),
        })
        .collect();
    words.join(" ")
}

/// The README's screen is what the demo draws in a real terminal: the real binary in a 100x30
/// pty, `]` three times, compared row by row with the README's block. What differs from run to
/// run is left out: addresses and the temporary directory are masked, the maps panel's lines
/// (this machine's libraries) and the log line's clock are not compared.
#[test]
fn the_readme_screen_is_what_the_demo_draws_in_a_terminal() {
    let text = doc(README);
    let (_, _, quoted) = block(&text, README, "screen");
    let want: Vec<&str> = quoted.lines().filter(|l| !l.starts_with("```")).collect();
    assert_eq!(want.len(), 30, "{quoted}");
    // The grid's column: everything left of the side panels.
    let split = want[2].find("┐┌").expect("the panels' corners");
    let left_chars = want[2][..split].chars().count() + 1;
    let left = |l: &str| l.chars().take(left_chars).collect::<String>();
    let tmp = common::temp_dir();
    let mut term = common::pty::Term::spawn(&[], &[("TMPDIR", tmp.path())], 100, 30);
    term.wait_for_all(&["page 0", "demo.txt", "Rss", "▕RRRR▏"]);
    term.send("]]]");
    // The new page's frame has begun to arrive once its header and last row are there.
    let last_row = left(want[27]);
    term.wait_for_all(&["cursor 0x3000", "page 3 ·", last_row.trim_end()]);
    // A frame can be caught half drawn on a loaded machine (the bytes of one frame arrive in
    // several reads): the screen must come to equal the README's, and the last one read is
    // what the failure shows.
    let start = std::time::Instant::now();
    let (screen, differ) = loop {
        let screen = term.contents();
        let differ = readme_differences(&want, &screen, left_chars);
        if differ.is_empty() || start.elapsed() > std::time::Duration::from_secs(10) {
            break (screen, differ);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    term.quit_cleanly();
    assert!(
        differ.is_empty(),
        "the README's screen differs from the demo's:\n{}\n--- screen ---\n{screen}",
        differ.join("\n")
    );
}

/// The rows where `screen` (a 100x30 terminal's text) differs from the README's block `want`,
/// with what changes from run to run left out (see the test above); `left_chars` is the grid
/// column's width.
fn readme_differences(want: &[&str], screen: &str, left_chars: usize) -> Vec<String> {
    let left = |l: &str| l.chars().take(left_chars).collect::<String>();
    let have: Vec<&str> = screen.lines().collect();
    if have.len() != 30 {
        return vec![format!("{} rows, not 30", have.len())];
    }
    // The side panels, borders as blanks (a path cut at the edge meets the border).
    let right = |l: &str| {
        l.chars()
            .skip(left_chars)
            .collect::<String>()
            .replace('│', " ")
    };
    let mut differ = Vec::new();
    let mut in_smaps = false;
    for (i, (w, h)) in want.iter().zip(&have).enumerate() {
        let same = match i {
            // The header and the minimap, addresses masked.
            0 | 1 => masked(w) == masked(h),
            // The log line: its clock and where the temporary directory's name is cut differ.
            28 => h.starts_with(" log: ") && h.contains("demo file created: /"),
            29 => w.trim_end() == h.trim_end(),
            _ => {
                if right(w).starts_with("┌ smaps") {
                    in_smaps = true;
                }
                let panel = !in_smaps || masked(&right(w)) == masked(&right(h));
                if right(w).starts_with("└") {
                    in_smaps = false;
                }
                panel && left(w) == left(h)
            }
        };
        if !same {
            differ.push(format!("row {i}:\n  README:   {w}\n  terminal: {h}"));
        }
    }
    differ
}
