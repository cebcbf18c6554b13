//! Recordings written and read back: frames round-trip whole through keyframes and deltas, the
//! index finds changes, and damaged files (truncated, a flipped byte, a wrong magic, a newer
//! schema) give an error that names what is wrong, never a panic.

use std::path::PathBuf;

use proptest::prelude::*;

use super::*;
use crate::geometry::PageGeom;
use crate::sys::probe::state::{FolioState, PageState, Place, Writes};
use crate::sys::proc::maps::{MemoryCounters, VmaHead};

fn header() -> Header {
    Header {
        schema: 0,
        tool: "mmapscope test".into(),
        subject: Subject::Process {
            pid: 42,
            comm: "writer".into(),
            cmdline: vec!["writer".into(), "--dirty".into()],
            vma: "all".into(),
        },
        session: "record".into(),
        page_size: 4096,
        interval_ms: 1000,
        start_unix_ms: 1_800_000_000_000,
        keyframe_every: 4,
        bytes_bound: BYTES_BOUND,
    }
}

fn run(first: u64, count: u64, present: bool, dirty: Option<bool>) -> StateRun {
    StateRun {
        first,
        count,
        state: PageState {
            geom: PageGeom {
                valid_bytes: 4096,
                padding_bytes: 0,
                beyond_eof: false,
            },
            place: Place {
                resident: Some(present),
                present: Some(present),
                exclusive: present.then_some(true),
                ..Place::default()
            },
            writes: Writes {
                dirty,
                ..Writes::default()
            },
            folio: FolioState {
                kflags: Some(0x868),
                ..FolioState::default()
            },
        },
    }
}

/// Frame `i` of a process whose heap grows by a page every third frame and whose pages 0..i
/// become dirty, with a new file mapped from frame 5 on and the bytes of one page changing.
fn frame(i: u64) -> Frame {
    let heap_end = 0x60_0000 + 0x1000 * (4 + i / 3);
    let mut maps = vec![
        MapsLine::sample(0x40_0000, 0x40_1000, "r-xp", "/usr/bin/writer"),
        MapsLine::sample(0x60_0000, heap_end, "rw-p", "[heap]"),
    ];
    if i >= 5 {
        maps.push(MapsLine {
            offset: 0x2000,
            dev: 0x803,
            inode: 77,
            ..MapsLine::sample(
                0x7f00_0000_0000,
                0x7f00_0000_4000,
                "rw-s",
                "/tmp/new n\u{1}",
            )
        });
    }
    let smaps = maps
        .iter()
        .map(|l| Vma {
            head: VmaHead {
                start: l.start,
                end: l.end,
                perms: l.perms.clone(),
                path: l.path.clone(),
            },
            memory: MemoryCounters {
                size: l.end - l.start,
                rss: 4096 * i.min(4),
                private_dirty: 4096 * i.min(4),
                ..MemoryCounters::default()
            },
            vm_flags: vec!["rd".into(), "wr".into()],
            ..Vma::default()
        })
        .collect();
    let pages = (heap_end - 0x60_0000) / 4096;
    let dirty = i.min(pages);
    let mut runs = vec![run(0, dirty, true, Some(true))];
    if pages > dirty {
        runs.push(run(dirty, pages - dirty, false, None));
    }
    runs.retain(|r| r.count > 0);
    let heap = RecordedMapping {
        addr: 0x60_0000,
        len: heap_end - 0x60_0000,
        offset: 0,
        mode: "private".into(),
        prot: "rw-".into(),
        file: (i % 2 == 1).then(|| RecordedFile {
            path: "/tmp/x".into(),
            size: Some(i),
            writable: true,
        }),
        sources: Sources {
            mincore: "ok".into(),
            ..Sources::default()
        },
        runs,
    };
    let mut bytes = BTreeMap::new();
    bytes.insert(0x60_0000, vec![i as u8; 4096]);
    if i < 6 {
        bytes.insert(0x60_1000, (0..4096).map(|b| (b % 251) as u8).collect());
    }
    // Frames 7 and 8 are alike: frame 8 changes nothing.
    let i = if i == 8 { 7 } else { i };
    let mut out = Frame {
        time_ms: i * 1000 + 3,
        maps,
        smaps,
        mappings: vec![heap],
        bytes,
        events: vec![Event {
            kind: EventKind::Line,
            text: format!("line {i}"),
        }],
    };
    if i == 7 {
        out.mappings[0].file = None;
        out.bytes.insert(0x60_0000, vec![0xee; 4096]);
    }
    out
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mmapscope-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn write(path: &Path, frames: u64) -> Vec<Frame> {
    let mut w = Writer::create(path, header(), true).expect("create");
    let all: Vec<Frame> = (0..frames).map(frame).collect();
    for f in &all {
        w.push(f).expect("push");
    }
    assert_eq!(w.finish().expect("finish"), frames);
    all
}

use std::path::Path;

#[test]
fn frames_round_trip_through_keyframes_and_deltas() {
    let path = temp("round-trip.mmrec");
    let written = write(&path, 11);
    let rec = Recording::open(&path).expect("open");
    let mut want = header();
    want.schema = SCHEMA;
    assert_eq!(rec.header(), &want);
    assert_eq!(rec.len(), 11);
    assert_eq!(rec.cut_short(), None);
    // Read backwards too: each frame is decoded from its keyframe, not from the last read.
    for n in (0..11).rev() {
        assert_eq!(rec.frame(n).expect("frame"), written[n], "frame {n}");
        assert_eq!(rec.time_ms(n), Some(written[n].time_ms));
    }
    assert!(matches!(
        rec.frame(11),
        Err(RecordError::NoFrame { frame: 11, len: 11 })
    ));
    std::fs::remove_file(&path).expect("rm");
}

#[test]
fn the_index_finds_changes_and_times() {
    let path = temp("changes.mmrec");
    write(&path, 10);
    let rec = Recording::open(&path).expect("open");
    // Every frame changes something but frame 8 (equal to 7 but for its events), and frame 0
    // is no change.
    assert!(!rec.changed(0));
    assert!(!rec.changed(8));
    let changed: Vec<bool> = (0..10).map(|n| rec.changed(n)).collect();
    assert_eq!(
        changed,
        [false, true, true, true, true, true, true, true, false, true]
    );
    assert_eq!(rec.next_change(7), Some(9));
    assert_eq!(rec.prev_change(9), Some(7));
    assert_eq!(rec.next_change(9), None);
    assert_eq!(rec.prev_change(1), None);
    assert_eq!(rec.frame_at(0), Some(0));
    assert_eq!(rec.frame_at(2_500), Some(2));
    assert_eq!(rec.frame_at(3_003), Some(3));
    assert_eq!(rec.frame_at(u64::MAX), Some(9));
    std::fs::remove_file(&path).expect("rm");
}

#[test]
fn an_existing_file_is_refused_unless_overwrite() {
    let path = temp("exists.mmrec");
    std::fs::write(&path, b"keep me").expect("write");
    let err = Writer::create(&path, header(), false).expect_err("refused");
    assert!(
        matches!(
            err,
            RecordError::Io {
                errno: libc::EEXIST,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).expect("read"), b"keep me");
    std::fs::remove_file(&path).expect("rm");
}

#[test]
fn a_recording_cut_short_keeps_its_whole_frames() {
    let path = temp("cut.mmrec");
    let written = write(&path, 6);
    let full = std::fs::read(&path).expect("read");
    let rec = Recording::open(&path).expect("open");
    let last_start = rec.index_offset(5);
    drop(rec);
    // Cut inside the last frame's block header, then inside its payload.
    for cut in [last_start + 10, full.len() as u64 - 3] {
        std::fs::write(&path, &full[..cut as usize]).expect("write");
        let rec = Recording::open(&path).expect("open cut");
        assert_eq!(rec.len(), 5, "cut at {cut}");
        let short = rec.cut_short().expect("says it was cut");
        assert_eq!(short.offset, last_start);
        assert_eq!(short.partial_bytes, cut - last_start);
        assert_eq!(rec.frame(4).expect("frame 4"), written[4]);
    }
    std::fs::remove_file(&path).expect("rm");
}

#[test]
fn a_wrong_magic_and_a_newer_schema_are_named() {
    let path = temp("magic.mmrec");
    write(&path, 2);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[0] = b'X';
    std::fs::write(&path, &bytes).expect("write");
    let err = Recording::open(&path).expect_err("not a recording");
    assert!(matches!(err, RecordError::NotARecording { .. }));
    assert!(err.to_string().contains("not an mmapscope recording"));
    bytes[0] = MAGIC[0];
    bytes[8..12].copy_from_slice(&(SCHEMA + 1).to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    let err = Recording::open(&path).expect_err("newer");
    assert_eq!(
        err,
        RecordError::NewerSchema {
            path: path.display().to_string(),
            found: SCHEMA + 1,
            supported: SCHEMA
        }
    );
    assert!(err.to_string().contains(&format!("version {}", SCHEMA + 1)));
    std::fs::write(&path, b"").expect("write");
    assert!(matches!(
        Recording::open(&path),
        Err(RecordError::NotARecording { .. })
    ));
    std::fs::remove_file(&path).expect("rm");
}

#[test]
fn a_flipped_byte_in_a_block_is_caught() {
    let path = temp("flip.mmrec");
    write(&path, 6);
    let good = std::fs::read(&path).expect("read");
    let rec = Recording::open(&path).expect("open");
    let (head, payload) = (rec.index_offset(3), rec.payload_offset(3));
    drop(rec);
    // In a block header: open says where.
    let mut bytes = good.clone();
    bytes[head as usize + 5] ^= 0x40;
    std::fs::write(&path, &bytes).expect("write");
    let err = Recording::open(&path).expect_err("damaged header");
    assert!(
        matches!(&err, RecordError::Corrupt { offset, .. } if *offset == head),
        "{err}"
    );
    // In a payload: the frames decoded from it say so; those before it do not.
    let mut bytes = good;
    bytes[payload as usize + 7] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");
    let rec = Recording::open(&path).expect("open");
    assert!(rec.frame(2).is_ok());
    let err = rec.frame(3).expect_err("damaged payload");
    assert!(err.to_string().contains("frame 3"), "{err}");
    std::fs::remove_file(&path).expect("rm");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Any byte changed or any cut: opening and reading every frame ends in frames or errors,
    /// never a panic; a frame read whole equals the one written.
    #[test]
    fn random_damage_never_panics(at in 0usize..100_000, xor in 1u8..=255, cut in any::<bool>()) {
        let path = temp(&format!("fuzz-{at}-{xor}-{cut}.mmrec"));
        let written = write(&path, 5);
        let mut bytes = std::fs::read(&path).expect("read");
        let at = at % bytes.len();
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] ^= xor;
        }
        std::fs::write(&path, &bytes).expect("write");
        if let Ok(rec) = Recording::open(&path) {
            for (n, want) in written.iter().enumerate().take(rec.len()) {
                if let Ok(f) = rec.frame(n) {
                    // A flipped byte inside a JSON string could in principle still parse, but
                    // the zstd checksum covers every payload byte.
                    prop_assert_eq!(&f, want);
                }
            }
        }
        std::fs::remove_file(&path).expect("rm");
    }
}
