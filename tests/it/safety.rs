//! Regressions of "safe by default and unbreakable", on the real binary: each test
//! reproduces a defect that was found (data loss through a swapped path, writes outside the
//! mapping, unbounded input, files left behind, lessons as programs) and shows it is gone,
//! and the new default (a file you name opens read-only) holds.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// A file of `pages` pages of 'A', 'B', ... written a page at a time.
fn file_of(dir: &Path, name: &str, pages: u8) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for p in 0..pages {
        f.write_all(&vec![b'A' + p; page_size() as usize]).unwrap();
    }
    f.sync_all().unwrap();
    path
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Runs `batch ARGS FILE SCRIPT` (the script in a file next to `file`).
fn batch(file: &Path, args: &[&str], script: &str) -> (Output, Vec<Value>) {
    let script_path = file.with_extension("script");
    std::fs::write(&script_path, script).unwrap();
    let mut all: Vec<&std::ffi::OsStr> = vec!["batch".as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.push(file.as_os_str());
    all.push(script_path.as_os_str());
    let out = run(mmapscope(&all));
    let lines = json_lines(&out);
    (out, lines)
}

/// Starts `batch ARGS FILE` with `script` on stdin and waits until it has printed `lines`
/// JSON lines (the script should then be sleeping); returns the child and what it printed.
fn batch_until(
    file: &Path,
    args: &[&str],
    script: &str,
    lines: usize,
) -> (std::process::Child, Vec<Value>) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["batch".as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.push(file.as_os_str());
    let mut child = mmapscope(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < lines {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "batch ended early"
        );
        got.push(serde_json::from_str(&line).unwrap());
        assert!(start.elapsed() < DEADLINE, "batch too slow");
    }
    // The rest of the output, read when the child ends.
    let rest = std::thread::spawn(move || {
        reader
            .lines()
            .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
            .collect::<Vec<_>>()
    });
    REST.with(|r| *r.borrow_mut() = Some(rest));
    (child, got)
}

thread_local! {
    static REST: std::cell::RefCell<Option<std::thread::JoinHandle<Vec<Value>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Waits for the child started by `batch_until` and returns the JSON lines printed after the
/// first ones.
fn finish(mut child: std::process::Child) -> Vec<Value> {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < DEADLINE, "batch did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    REST.with(|r| r.borrow_mut().take())
        .map(|h| h.join().unwrap())
        .unwrap_or_default()
}

#[test]
fn a_path_swapped_for_a_symlink_never_redirects_truncate() {
    let dir = temp_dir();
    let path = file_of(dir.path(), "f", 3);
    let keep = dir.path().join("f.keep");
    std::fs::hard_link(&path, &keep).unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious data, not to be cut\n").unwrap();
    let victim_len = std::fs::metadata(&victim).unwrap().len();

    let (child, first) = batch_until(&path, &["--write"], "read 0 1\nsleep 1000\ntruncate 5\n", 1);
    assert_eq!(first[0]["ok"], true, "{first:?}");
    // During the sleep, the path becomes a symlink to another file.
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let rest = finish(child);
    let truncate = rest.iter().find(|l| l["cmd"] == "truncate 5").unwrap();
    assert_eq!(truncate["ok"], true, "{truncate}");
    assert_eq!(
        std::fs::metadata(&victim).unwrap().len(),
        victim_len,
        "the file the path now names is untouched"
    );
    assert_eq!(
        std::fs::metadata(&keep).unwrap().len(),
        5,
        "the file we opened was truncated"
    );
    let notes = truncate["result"]["notes"].to_string();
    assert!(notes.contains("now names another file"), "{notes}");
}

#[test]
fn after_a_rename_replace_remap_and_writes_stay_with_our_file() {
    let dir = temp_dir();
    let path = file_of(dir.path(), "f", 2);
    let keep = dir.path().join("f.keep");
    std::fs::hard_link(&path, &keep).unwrap();
    let other = file_of(dir.path(), "other", 2);
    let other_keep = dir.path().join("other.keep");
    std::fs::hard_link(&other, &other_keep).unwrap();

    let script =
        "read 0 1\nsleep 800\nmode private\nmode shared\nwrite 0 5a\nexpect file 0 == 5a\n";
    let (child, _) = batch_until(&path, &["--write"], script, 1);
    // An editor's save: write a new file, rename it over the path.
    std::fs::rename(&other, &path).unwrap();
    let rest = finish(child);
    for l in &rest {
        assert_eq!(l["ok"], true, "{l}");
    }
    let remap = rest.iter().find(|l| l["cmd"] == "mode private").unwrap();
    assert!(
        remap["result"]["notes"]
            .to_string()
            .contains("now names another file"),
        "{remap}"
    );
    assert_eq!(
        std::fs::read(&keep).unwrap()[0],
        0x5a,
        "our file got the write"
    );
    assert_eq!(
        std::fs::read(&other_keep).unwrap()[0],
        b'A',
        "the file now at the path did not"
    );
}

#[test]
fn a_named_file_opens_read_only_until_writing_is_allowed() {
    let dir = temp_dir();
    let path = file_of(dir.path(), "f", 2);
    // Without --write: the mapping is r--, a write is refused and says how to allow it; a
    // peer or a truncate (which write the file too) are refused the same way.
    let (out, lines) = batch(
        &path,
        &[],
        "write 0 5a\nexpect error\nexpect mapping prot == \"r--\"\ntruncate 5\nexpect error\npeer start\nexpect error\n",
    );
    assert_eq!(out.status.code(), Some(0), "{lines:?}");
    let refusal = lines[0]["error"].as_str().unwrap();
    assert!(
        refusal.contains("EACCES") && refusal.contains("--write"),
        "{refusal}"
    );
    assert!(
        lines[3]["error"].as_str().unwrap().contains("--write"),
        "{lines:?}"
    );
    assert!(
        lines[5]["error"].as_str().unwrap().contains("--write"),
        "{lines:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap()[0], b'A');
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * page_size());

    // `protect rw` is consent: the descriptor is reopened read-write and the range mapped
    // again in place (same address), then the write goes through.
    let (out, lines) = batch(
        &path,
        &[],
        "snapshot\nprotect rw\nwrite 0 5a\nexpect file 0 == 5a\nsnapshot\n",
    );
    assert_eq!(out.status.code(), Some(0), "{lines:?}");
    assert_eq!(
        lines[0]["result"]["mapping"]["addr"], lines[4]["result"]["mapping"]["addr"],
        "same address"
    );
    assert_eq!(lines[4]["result"]["vma"]["perms"], "rw-s");
    assert!(
        lines[1]["result"]["notes"]
            .to_string()
            .contains("MAP_FIXED")
    );

    // --private is writable from the start, and never reaches the file.
    let (out, lines) = batch(
        &path,
        &["--private"],
        "write 0 41\nexpect page 0 cow == true\nexpect file 0 == 5a\n",
    );
    assert_eq!(out.status.code(), Some(0), "{lines:?}");
}

#[test]
fn switching_modes_keeps_a_named_file_safe() {
    let dir = temp_dir();
    let path = file_of(dir.path(), "f", 2);
    // Shared read-only -> private: writable (copy-on-write) -> shared: read-only again.
    let (out, lines) = batch(
        &path,
        &[],
        "mode private\nexpect mapping prot == \"rw-\"\nwrite 0 5a\nmode shared\nexpect mapping prot == \"r--\"\nexpect file 0 == 41\nread 0 1\nexpect result hex == \"41\"\n",
    );
    assert_eq!(out.status.code(), Some(0), "{lines:?}");
    assert_eq!(
        std::fs::read(&path).unwrap()[0],
        b'A',
        "the private write never reached the file"
    );
    let notes = lines[3]["result"]["notes"].to_string();
    assert!(notes.contains("not allowed"), "{notes}");
}

#[test]
fn the_peer_cannot_write_outside_the_mapping() {
    let dir = temp_dir();
    let path = file_of(dir.path(), "f", 4);
    let before = std::fs::read(&path).unwrap();
    let (out, lines) = batch(
        &path,
        &["--write", "--offset", "8k", "--len", "4k"],
        "peer start 0xfffffffffffff000\nexpect error\npeer start 0xffc\nexpect error\n",
    );
    assert_eq!(out.status.code(), Some(0), "{lines:?}");
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("inside the mapping"),
        "{lines:?}"
    );
    assert!(lines[2]["error"].as_str().unwrap().contains("EINVAL"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing was written");
}

#[test]
fn huge_offsets_and_lengths_get_clear_messages() {
    let dir = temp_dir();
    let path = file_of(dir.path(), "f", 1);
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--offset".as_ref(),
        "0xffffffffffffffff".as_ref(),
        path.as_os_str(),
    ]));
    let line = fails_cleanly(&out, Some("EINVAL"), &["0xfffffffffffff000"]);
    assert!(
        !line.contains("0 (0x0)"),
        "no wrapped-around neighbour: {line}"
    );
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--len".as_ref(),
        "0xffffffffffffffff".as_ref(),
        path.as_os_str(),
    ]));
    fails_cleanly(&out, Some("ENOMEM"), &["--len", "larger than"]);
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--offset".as_ref(),
        "0xfffffffffffff000".as_ref(),
        "--len".as_ref(),
        "8k".as_ref(),
        path.as_os_str(),
    ]));
    fails_cleanly(&out, Some("EINVAL"), &["largest file offset"]);
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--prot".as_ref(),
        "".as_ref(),
        path.as_os_str(),
    ]));
    assert_eq!(out.status.code(), Some(2), "an empty --prot is refused");
    assert!(text(&out.stderr).contains("not a protection"));
}

#[test]
fn non_utf8_paths_do_not_break_smaps() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = temp_dir();
    let odd = std::ffi::OsStr::from_bytes(b"n\xff");
    let path = dir.path().join(odd);
    std::fs::write(&path, b"bytes\n").unwrap();
    let r = json_ok(&run(mmapscope(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        path.as_os_str(),
    ])));
    assert_eq!(r["vma"]["perms"], "r--s", "{r}");
    // The binary itself in such a directory: every path in our maps is then non-UTF-8.
    let bindir = dir.path().join(std::ffi::OsStr::from_bytes(b"bin\xfe"));
    std::fs::create_dir(&bindir).unwrap();
    let bin = bindir.join("mmapscope");
    std::fs::copy(BIN, &bin).unwrap();
    let out = run({
        let mut c = std::process::Command::new(&bin);
        c.args(["inspect".as_ref(), "--json".as_ref(), path.as_os_str()]);
        c
    });
    let r = json_ok(&out);
    assert!(r["vma"]["rss"].is_u64(), "{r}");
}

#[test]
fn unbounded_input_is_refused_quickly() {
    let dir = temp_dir();
    let path = file_of(dir.path(), "f", 1);
    let start = Instant::now();
    let out = run(mmapscope(&[
        "batch".as_ref(),
        path.as_os_str(),
        "/dev/zero".as_ref(),
    ]));
    fails_cleanly(&out, None, &["longer than 64 KiB"]);
    let (out, _) = batch(&path, &[], "sleep 99999T\n");
    assert_eq!(out.status.code(), Some(2), "a script that does not parse");
    assert!(text(&out.stderr).contains("at most 60000 ms"));
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// Every entry of `dir`, for "nothing left behind" checks.
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn a_failing_lesson_leaves_nothing_behind() {
    let tmp = temp_dir();
    let work = temp_dir();
    let lesson = work.path().join("bad.lesson");
    std::fs::write(
        &lesson,
        "# lesson: fails\nsay \"one\"\nwrite 0 41\nexpect file 0 == 42\n",
    )
    .unwrap();
    let mut cmd = mmapscope(&[
        "lesson".as_ref(),
        "--file".as_ref(),
        lesson.as_os_str(),
        "--check".as_ref(),
    ]);
    cmd.env("TMPDIR", tmp.path());
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));

    // A lesson whose options cannot be mapped fails before or after making its directory:
    // either way nothing stays.
    std::fs::write(&lesson, "# options: --offset 1\nsay \"x\"\n").unwrap();
    let mut cmd = mmapscope(&[
        "lesson".as_ref(),
        "--file".as_ref(),
        lesson.as_os_str(),
        "--check".as_ref(),
    ]);
    cmd.env("TMPDIR", tmp.path());
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));

    // Killed with SIGTERM in the middle of a sleep: the directory goes too.
    std::fs::write(&lesson, "say \"wait\"\nsleep 20000\n").unwrap();
    let mut child = mmapscope(&[
        "lesson".as_ref(),
        "--file".as_ref(),
        lesson.as_os_str(),
        "--check".as_ref(),
    ])
    .env("TMPDIR", tmp.path())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(
        entries(tmp.path()).len(),
        1,
        "the lesson made its directory"
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

#[test]
fn a_lesson_file_that_touches_a_named_file_or_runs_code_needs_trust() {
    let work = temp_dir();
    let target = file_of(work.path(), "target", 1);
    let lesson = work.path().join("l.lesson");
    std::fs::write(
        &lesson,
        format!(
            "# file: {}\n# options: --write\nsay \"x\"\nwrite 0 41\nexec 0\n",
            target.display()
        ),
    )
    .unwrap();
    let args = [
        "lesson".as_ref(),
        "--file".as_ref(),
        lesson.as_os_str(),
        "--check".as_ref(),
    ];
    let out = run(mmapscope(&args));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("may write it") && err.contains("machine code") && err.contains("--trust"),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap()[0], b'A', "nothing ran");
    let mut with_trust = args.to_vec();
    with_trust.push("--trust".as_ref());
    let out = run(mmapscope(&with_trust));
    assert!(
        text(&out.stdout).contains("write 0 41"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read(&target).unwrap()[0], 0x41, "trusted: it ran");

    // A lesson that only uses its own fresh demo file plays without asking.
    std::fs::write(&lesson, "say \"x\"\nwrite 0 41\nexpect file 0 == 41\n").unwrap();
    let out = run(mmapscope(&args));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_block_device_has_its_size_and_no_tmpfs_claim() {
    const TEST: &str = "a_block_device_has_its_size_and_no_tmpfs_claim";
    if !is_root() {
        return skip(TEST, "needs root to attach a loop device");
    }
    let dir = temp_dir();
    let backing = file_of(dir.path(), "disk.img", 16);
    let out = std::process::Command::new("losetup")
        .args(["--find", "--show"])
        .arg(&backing)
        .output();
    let dev = match out {
        Ok(o) if o.status.success() => text(&o.stdout).trim().to_string(),
        Ok(o) => return skip(TEST, &format!("losetup failed: {}", text(&o.stderr).trim())),
        Err(e) => return skip(TEST, &format!("losetup not available: {e}")),
    };
    struct Detach(String);
    impl Drop for Detach {
        fn drop(&mut self) {
            let _ = std::process::Command::new("losetup")
                .args(["-d", &self.0])
                .status();
        }
    }
    let _detach = Detach(dev.clone());
    let r = json_ok(&run(mmapscope(&["inspect", "--json", &dev])));
    assert_eq!(
        r["file"]["size"].as_u64(),
        Some(16 * page_size()),
        "the device's size: {r}"
    );
    assert_eq!(r["mapping"]["pages"].as_u64(), Some(16));
    assert!(
        !r["sources"]["cachestat"].to_string().contains("tmpfs"),
        "{}",
        r["sources"]
    );
    let meta = std::fs::metadata(&dev).unwrap();
    assert!(meta.rdev() != 0);
}

#[test]
fn a_character_device_other_than_dev_zero_is_never_opened() {
    let out = run(mmapscope(&["inspect", "/dev/null"]));
    fails_cleanly(&out, Some("ENODEV"), &["character device", "side effects"]);
    let r = json_ok(&run(mmapscope(&[
        "inspect",
        "--json",
        "--len",
        "8k",
        "/dev/zero",
    ])));
    assert_eq!(r["mapping"]["prot"], "rw-");
    assert!(!r["sources"]["cachestat"].to_string().contains("tmpfs"));
}

#[test]
fn where_malloc_put_a_block_is_judged_from_maps_not_assumed() {
    let dir = temp_dir();
    let script = dir.path().join("alloc.txt");
    std::fs::write(
        &script,
        "alloc 100\nexpect result in_heap == true\nexpect result new_mapping == false\nalloc 64M\nexpect result landed == \"mmap\"\nexpect result in_heap == false\n",
    )
    .unwrap();
    let out = run(mmapscope(&[
        "batch".as_ref(),
        "--anon".as_ref(),
        "4k".as_ref(),
        script.as_os_str(),
    ]));
    let lines = json_lines(&out);
    assert_eq!(out.status.code(), Some(0), "{lines:#?}");
    // The landing's own sentence (the next one is about glibc's mmap threshold).
    let note = lines[0]["result"]["notes"][0].to_string();
    assert!(note.contains("[heap]") && !note.contains("mmap"), "{note}");
    let note = lines[3]["result"]["notes"].to_string();
    assert!(note.contains("malloc called mmap"), "{note}");
}

/// A run killed with SIGKILL cannot remove its demo directory; the next run that makes one
/// removes it, and only it: a directory of a live process (ours, here), one holding a
/// subdirectory, and one not named as ours stay.
#[test]
fn a_demo_directory_left_by_a_killed_run_is_removed_by_the_next() {
    let tmp = std::env::temp_dir();
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let dead = child.id();
    child.wait().expect("wait");
    let stale = tmp.join(format!("mmapscope-demo-{dead}-1f2e3d"));
    let live = tmp.join(format!("mmapscope-demo-{}-4c5b6a", std::process::id()));
    let nested = tmp.join(format!("mmapscope-demo-{dead}-7a8b9c"));
    let foreign = tmp.join(format!("mmapscope-demo-{dead}-notours"));
    for d in [&stale, &live, &nested, &foreign] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("demo.txt"), b"left behind").unwrap();
    }
    std::fs::create_dir(nested.join("sub")).unwrap();
    let out = run(mmapscope(&["lesson", "pages", "--check"]));
    let kept: Vec<bool> = [&stale, &live, &nested, &foreign]
        .iter()
        .map(|d| d.exists())
        .collect();
    for d in [&stale, &live, &nested, &foreign] {
        let _ = std::fs::remove_dir_all(d);
    }
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        kept,
        [false, true, true, true],
        "stale, live, nested, foreign"
    );
}
