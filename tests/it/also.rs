//! `--also private|shared`: a second mapping of the same file in the same process, beside the
//! first. A shared write shows through a private mapping until it copies the page; a private
//! write diverges and never reaches the file. Checked on real temp files through the session
//! (as keys and script lines drive it) and through the binary.

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use mmapscope::action::{Action, EditAction, Op};
use mmapscope::session::Session;
use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest};
use mmapscope::sys::ops::outcome::Done;

use crate::common::{mmapscope, run};

fn file(dir: &Path) -> PathBuf {
    let path = dir.join("also.txt");
    std::fs::write(&path, b"hello world\n".repeat(700)).expect("write");
    path
}

fn session(path: &Path, also: MapMode) -> Session {
    let region = Region::open(&MapRequest {
        write: true,
        ..MapRequest::file(path.to_path_buf(), MapMode::Shared)
    })
    .expect("map");
    let mut s = Session::new(region, true, (120, 40));
    s.add_also(also).expect("--also");
    s
}

fn read(s: &mut Session, offset: u64) -> u8 {
    let out = s.act(Action::Do(Op::Read { offset, len: 1 }));
    match out[0].result.as_ref().expect("read") {
        Done::Read { bytes, .. } => bytes[0],
        other => panic!("{other:?}"),
    }
}

fn on_disk(path: &Path, offset: u64) -> u8 {
    let mut b = [0u8; 1];
    std::fs::File::open(path)
        .expect("open")
        .read_exact_at(&mut b, offset)
        .expect("read");
    b[0]
}

#[test]
fn a_shared_write_shows_through_until_the_private_mapping_copies_the_page() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let path = file(dir.path());
    let mut s = session(&path, MapMode::Private);
    let also = s
        .model
        .lab
        .also
        .clone()
        .expect("the second mapping is probed");
    assert_eq!(also.shape.mode, MapMode::Private);
    assert_ne!(
        also.shape.addr, s.model.snap.shape.addr,
        "a mapping of its own"
    );

    s.act(Action::Do(Op::Write {
        offset: 0,
        bytes: vec![b'A'],
    }));
    assert_eq!(
        s.model.lab.also.as_ref().expect("also").probed.bytes.get(0),
        Some(b'A')
    );
    let swapped = s.act(Action::Do(Op::Swap));
    assert!(matches!(
        swapped[0].result,
        Ok(Done::Swapped {
            mode: MapMode::Private,
            ..
        })
    ));
    assert_eq!(
        s.model.snap.shape.mode,
        MapMode::Private,
        "the grid shows the private one"
    );
    assert_eq!(read(&mut s, 0), b'A', "the shared write shows through");
    let page0 = s.model.snap.page(0).expect("page 0").state;
    assert_eq!(page0.place.cow, Some(false), "no private copy yet");

    s.act(Action::Do(Op::Write {
        offset: 0,
        bytes: vec![b'Z'],
    }));
    assert_eq!(
        s.model.snap.page(0).expect("page 0").state.place.cow,
        Some(true)
    );
    assert_eq!(read(&mut s, 0), b'Z');
    assert_eq!(
        on_disk(&path, 0),
        b'A',
        "a private write never reaches the file"
    );
    s.act(Action::Do(Op::Swap));
    assert_eq!(
        read(&mut s, 0),
        b'A',
        "the shared mapping kept the file's byte"
    );
    assert_eq!(
        s.model.lab.also.as_ref().expect("also").probed.bytes.get(0),
        Some(b'Z')
    );

    // Now the shared side writes again: the private copy no longer sees it.
    s.act(Action::Do(Op::Write {
        offset: 0,
        bytes: vec![b'B'],
    }));
    assert_eq!(
        s.model.lab.also.as_ref().expect("also").probed.bytes.get(0),
        Some(b'Z'),
        "diverged"
    );
    assert_eq!(on_disk(&path, 0), b'B');
}

#[test]
fn two_shared_mappings_are_one_page_cache_page() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let path = file(dir.path());
    let mut s = session(&path, MapMode::Shared);
    s.act(Action::Do(Op::Swap));
    s.act(Action::Do(Op::Write {
        offset: 5,
        bytes: vec![b'!'],
    }));
    s.act(Action::Do(Op::Swap));
    assert_eq!(read(&mut s, 5), b'!', "written through the other mapping");
    assert_eq!(on_disk(&path, 5), b'!');
}

#[test]
fn typed_bytes_land_while_the_second_mapping_is_probed() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let path = file(dir.path());
    let mut s = session(&path, MapMode::Private);
    // The refresh after the first nibble brings the second mapping's probe: a half-typed byte
    // must survive it.
    s.act_live(Action::Edit(EditAction::Start));
    s.act_live(Action::Edit(EditAction::Nibble(0x7)));
    let out = s.act_live(Action::Edit(EditAction::Nibble(0x7)));
    assert_eq!(out.len(), 1, "{:?}", s.model.log);
    assert_eq!(on_disk(&path, 0), 0x77);
}

#[test]
fn also_needs_a_file_and_swap_needs_also() {
    let out = run(mmapscope(&[
        "batch",
        "--anon",
        "8k",
        "--also",
        "private",
        "/dev/null",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--also"), "{err}");

    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let path = file(dir.path());
    let script = dir.path().join("s.txt");
    std::fs::write(&script, "swap\nexpect error\n").expect("script");
    let out = run({
        let mut c = mmapscope(&["batch"]);
        c.arg(&path).arg(&script);
        c
    });
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("--also private|shared"));
}
