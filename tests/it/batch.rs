//! Kernel behaviour through the batch interface of the real binary, on real files on the real
//! filesystem: every claim is an `expect` line or a check of the JSON lines and of the file on
//! disk, so what these tests prove holds for the keys of the TUI (one code path).

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

fn ps() -> u64 {
    page_size()
}

/// Runs `script` on `path` with `--write` (the test made the file: writing it is allowed)
/// and `extra` options.
fn batch(path: &Path, extra: &[&str], script: &str) -> (Output, Vec<Value>) {
    let mut with_write = vec!["--write"];
    with_write.extend(extra);
    batch_as_given(path, &with_write, script)
}

/// Runs `script` on `path` with exactly the options `extra`.
fn batch_as_given(path: &Path, extra: &[&str], script: &str) -> (Output, Vec<Value>) {
    let dir = path.parent().unwrap();
    let script_path = dir.join(format!("script-{}.txt", std::process::id()));
    std::fs::write(&script_path, script).unwrap();
    let mut args: Vec<&std::ffi::OsStr> = vec!["batch".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(path.as_os_str());
    args.push(script_path.as_os_str());
    let out = run(mmapscope(&args));
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out, lines)
}

/// Expects exit 0 and every line ok, but for failures claimed by the `expect error` after them.
fn all_ok(out: &Output, lines: &[Value]) {
    for (i, l) in lines.iter().enumerate() {
        let claimed = lines
            .get(i + 1)
            .is_some_and(|n| n["cmd"] == "expect error" && n["ok"] == true);
        assert!(
            l["ok"] == true || claimed,
            "{l}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pread(path: &Path, off: u64, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    std::fs::File::open(path)
        .unwrap()
        .read_exact_at(&mut b, off)
        .unwrap();
    b
}

#[test]
fn shared_write_is_in_the_file_before_msync_then_msync_cleans() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(
        &path,
        &[],
        "write 0x10 41 42 ff\n\
         expect file 0x10 == 41\n\
         expect file 0x12 == ff\n\
         expect page 0 dirty == true\n\
         expect page 1 dirty == false\n\
         expect page 0 edited == true\n\
         expect summary dirty == 1\n\
         msync sync\n\
         expect summary dirty == 0\n\
         expect page 0 edited == false\n\
         read 0x10 3\n",
    );
    all_ok(&out, &lines);
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[0]["result"]["old"], "414141");
    assert_eq!(lines[7]["result"]["dirty_before"], 1);
    assert_eq!(lines[7]["result"]["dirty_after"], 0);
    assert!(
        lines[7]["result"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("1 page cleaned")
    );
    assert_eq!(lines[10]["result"]["hex"], "4142ff");
    assert_eq!(pread(&path, 0x10, 3), b"AB\xff");
}

#[test]
fn private_write_is_a_copy_that_mode_shared_and_dontneed_discard() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(
        &path,
        &["--private"],
        "write 0x1000 7a\n\
         expect page 1 cow == true\n\
         expect page 0 cow == false\n\
         expect page 2 cow == false\n\
         expect file 0x1000 == 42\n\
         expect vma anonymous == 4096\n\
         read 0x1000 1\n\
         msync sync\n\
         expect file 0x1000 == 42\n\
         advise dontneed page 1\n\
         read 0x1000 1\n\
         expect page 1 cow == false\n\
         write 0x2000 7a\n\
         expect page 2 cow == true\n\
         mode shared\n\
         read 0x2000 1\n\
         expect mapping mode == \"shared\"\n\
         expect vma perms == \"rw-s\"\n",
    );
    all_ok(&out, &lines);
    assert_eq!(
        lines[6]["result"]["hex"], "7a",
        "the private mapping sees its own write"
    );
    assert_eq!(lines[9]["result"]["cow_before"], 1);
    assert_eq!(lines[9]["result"]["cow_after"], 0);
    assert_eq!(
        lines[10]["result"]["hex"], "42",
        "dontneed brought the file's byte back"
    );
    assert_eq!(
        lines[15]["result"]["hex"], "43",
        "mode shared discarded the private copy"
    );
    assert_eq!(pread(&path, 0x1000, 1), b"B");
    assert_eq!(pread(&path, 0x2000, 1), b"C");
}

#[test]
fn read_only_protection_refuses_writes_and_the_file_is_unchanged() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(
        &path,
        &[],
        "protect r\n\
         write 0 58\n\
         expect error\n\
         expect mapping prot == \"r--\"\n\
         expect file 0 == 41\n\
         read 0 1\n\
         protect rw\n\
         write 0 58\n\
         expect file 0 == 58\n",
    );
    all_ok(&out, &lines);
    let err = lines[1]["error"].as_str().unwrap();
    assert!(
        err.starts_with("EACCES") || err.starts_with("EFAULT"),
        "{err}"
    );
    assert!(
        err.contains("SIGSEGV"),
        "the refusal says what a store would have done: {err}"
    );
}

#[test]
fn an_unexpected_failure_or_a_false_expect_exits_1() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(&path, &[], "protect r\nwrite 0 58\nread 0 1\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines[1]["ok"], false);
    assert_eq!(lines[2]["ok"], true, "an error does not stop the script");
    let (out, lines) = batch(&path, &[], "expect file 0 == 42\n");
    assert_eq!(out.status.code(), Some(1));
    let err = lines[0]["error"].as_str().unwrap();
    assert!(
        err.contains("file 0x0 is \"41\", expected == \"42\""),
        "{err}"
    );
    let (out, _) = batch(&path, &[], "read 0 1\nexpect error\n");
    assert_eq!(
        out.status.code(),
        Some(1),
        "expect error after a success fails"
    );
}

#[test]
fn truncation_by_another_process_is_survived_and_reported() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(
        &path,
        &["--len", "12k"],
        &format!(
            "read 0x2000 4\n\
             truncate {}\n\
             expect file size == {}\n\
             expect page 0 beyond_eof == false\n\
             expect page 1 beyond_eof == true\n\
             expect page 2 beyond_eof == true\n\
             read 0x2000 1\n\
             expect error\n\
             write 0x1000 00\n\
             expect error\n\
             expect summary beyond_eof == 2\n\
             read 0 1\n",
            ps(),
            ps()
        ),
    );
    all_ok(&out, &lines);
    assert_eq!(lines[0]["result"]["hex"], "43434343");
    assert_eq!(lines[1]["result"]["new_size"], ps());
    assert!(lines[6]["error"].as_str().unwrap().contains("SIGBUS"));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), ps());
}

#[test]
fn a_write_into_the_padding_never_reaches_the_file() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let size = 3 * ps() + 100;
    let (out, lines) = batch(
        &path,
        &[],
        &format!(
            "write 0x{:x} 55 66\n\
             read 0x{:x} 2\n\
             msync sync\n\
             expect file size == {size}\n",
            size + 10,
            size + 10
        ),
    );
    all_ok(&out, &lines);
    assert_eq!(lines[0]["result"]["padding_bytes"], 2);
    assert!(
        lines[0]["result"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("never reaches the file")
    );
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), size, "the size is unchanged");
    assert_eq!(pread(&path, size - 1, 1), b"z");
}

#[test]
fn undo_and_redo_restore_the_exact_bytes() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(
        &path,
        &[],
        "write 0 01 02 03\n\
         write 1 ff\n\
         expect file 1 == ff\n\
         undo\n\
         expect file 1 == 02\n\
         undo\n\
         expect file 0 == 41\n\
         expect file 2 == 41\n\
         redo\n\
         expect file 2 == 03\n\
         redo\n\
         expect file 1 == ff\n\
         read 0 3\n",
    );
    all_ok(&out, &lines);
    assert_eq!(lines[12]["result"]["hex"], "01ff03");
    let (out, lines) = batch(&path, &[], "redo\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("nothing to redo")
    );
}

#[test]
fn a_parse_error_names_the_line_and_the_problem_and_runs_nothing() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(&path, &[], "write 0 58\nwrte 0 41\nmsync often\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(lines.is_empty(), "nothing ran");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2: wrte 0 41: unknown command `wrte`"),
        "{err}"
    );
    assert!(err.contains("line 3: msync often: usage: msync"), "{err}");
    assert_eq!(pread(&path, 0, 1), b"A", "the first line did not run");
}

#[test]
fn touch_reports_faults_and_fault_around() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(
        &path,
        &[],
        "fadvise dontneed\n\
         expect summary resident == 0\n\
         touch page 1\n\
         expect page 1 present == true\n\
         touch page 1\n",
    );
    all_ok(&out, &lines);
    let first = &lines[2]["result"];
    let faults = first["minor_faults"].as_u64().unwrap() + first["major_faults"].as_u64().unwrap();
    assert!(faults >= 1, "the first touch faulted: {first}");
    assert!(
        first["newly_present"]
            .as_array()
            .unwrap()
            .contains(&Value::from(1)),
        "{first}"
    );
    let again = &lines[4]["result"];
    assert_eq!(
        again["minor_faults"], 0,
        "a present page costs no fault: {again}"
    );
    assert_eq!(again["major_faults"], 0);
}

#[test]
fn snapshot_is_the_report_with_edited_pages() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(&path, &[], "write 0x1000 00\nsnapshot\n");
    all_ok(&out, &lines);
    let report = &lines[1]["result"];
    assert_eq!(report["schema"], "mmapscope/1");
    assert_eq!(report["summary"]["edited"], 1);
    let edited: Vec<u64> = report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["edited"] == true)
        .flat_map(|r| {
            let first = r["first"].as_u64().unwrap();
            first..first + r["count"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(edited, vec![1]);
}

/// Starts a batch that writes, then sleeps; kills it with SIGKILL once the write is reported.
fn write_then_sigkill(path: &Path, extra: &[&str]) -> Value {
    let script = path.parent().unwrap().join("kill-script.txt");
    std::fs::write(&script, "write 0x20 4b\nsleep 30000\n").unwrap();
    let mut args: Vec<&std::ffi::OsStr> = vec!["batch".as_ref(), "--write".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(path.as_os_str());
    args.push(script.as_os_str());
    let mut child = mmapscope(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let start = Instant::now();
    reader.read_line(&mut line).unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    child.kill().unwrap(); // SIGKILL: no chance to msync or clean up
    let status = child.wait().unwrap();
    assert!(!status.success());
    serde_json::from_str(&line).unwrap()
}

#[test]
fn a_shared_edit_survives_sigkill_and_a_private_one_does_not() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let first = write_then_sigkill(&path, &[]);
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(
        pread(&path, 0x20, 1),
        b"K",
        "already in the page cache, so in the file"
    );
    let first = write_then_sigkill(&path, &["--private"]);
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(
        pread(&path, 0x20, 1),
        b"K",
        "unchanged by the private write"
    );
    let (out, lines) = batch(
        &path,
        &["--private"],
        "write 0x21 50\nexpect file 0x21 == 41\n",
    );
    all_ok(&out, &lines);
}

#[test]
fn anonymous_memory_runs_scripts_too() {
    let dir = temp_dir();
    let script = dir.path().join("anon.txt");
    std::fs::write(
        &script,
        "write 0 2a\nread 0 1\nexpect mapping kind == \"anonymous\"\nexpect page 0 dirty == null\n",
    )
    .unwrap();
    let out = run(mmapscope(&[
        "batch".as_ref(),
        "--anon".as_ref(),
        "16k".as_ref(),
        script.as_os_str(),
    ]));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    all_ok(&out, &lines);
    assert_eq!(lines[1]["result"]["hex"], "2a");
}

#[test]
fn a_peer_that_dies_after_truncate_is_reported_when_it_dies_and_peer_stop_says_so() {
    let dir = temp_dir();
    let path = fixture(dir.path());
    let (out, lines) = batch(
        &path,
        &[],
        "peer start 0\nsleep 300\ntruncate 0\nsleep 800\npeer stop\nexpect error\n",
    );
    all_ok(&out, &lines);
    let pid = lines[0]["result"]["pid"].as_u64().expect("the peer's pid");
    // It writes every 150 ms: its next write after the cut fails, during `truncate` or the
    // sleep after it, and that line's JSON says so.
    let told: Vec<&Value> = lines.iter().filter(|l| l.get("events").is_some()).collect();
    assert_eq!(told.len(), 1, "told once: {lines:#?}");
    assert!(
        told[0]["cmd"] == "truncate 0" || told[0]["cmd"] == "sleep 800",
        "{lines:#?}"
    );
    let event = told[0]["events"].to_string();
    let who = format!("the peer process (pid {pid}) ended on its own");
    for w in [who.as_str(), "exited with status 2", "the file is 0 B now"] {
        assert!(event.contains(w), "{w:?} in {event}");
    }
    let stop = lines[4]["error"].as_str().expect("peer stop fails");
    assert!(
        stop.contains(&format!(
            "the peer (pid {pid}) had already ended on its own"
        )) && stop.contains("the file is 0 B now"),
        "{stop}"
    );
    assert!(!stop.contains("no peer is running"), "{stop}");
    // A peer stopped by us is not said to have ended on its own.
    let path = fixture(dir.path());
    let (out, lines) = batch(
        &path,
        &[],
        "peer start 0\nsleep 200\npeer stop\npeer stop\nexpect error\n",
    );
    all_ok(&out, &lines);
    assert!(
        lines.iter().all(|l| l.get("events").is_none()),
        "{lines:#?}"
    );
    assert_eq!(lines[3]["error"], "ESRCH: peer stop: no peer is running");
}
