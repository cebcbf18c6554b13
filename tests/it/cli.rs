//! The non-interactive command line of the real `mmapscope` binary: `inspect` (JSON and text),
//! the exit status 2 with one clear stderr line for everything that cannot be mapped, the
//! read-only and no-permission cases (run as user nobody when the tests run as root), anonymous
//! memory, /dev/zero, and the explorer refusing to start without a terminal.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::common::*;

/// A file of exactly 3 pages + 100 bytes, written with one write, in `dir`.
fn fixture(dir: &Path) -> PathBuf {
    let ps = usize::try_from(page_size()).expect("page size fits usize");
    let line = b"mmapscope cli fixture: three pages and one hundred bytes.\n";
    let bytes: Vec<u8> = line.iter().copied().cycle().take(3 * ps + 100).collect();
    let path = dir.join("fixture.txt");
    std::fs::write(&path, &bytes).expect("write fixture");
    path
}

fn temp() -> tempfile::TempDir {
    tempfile::TempDir::new().expect("tempdir")
}

#[test]
fn inspect_json_describes_a_three_and_a_bit_page_file() {
    let dir = temp();
    let file = fixture(dir.path());
    let ps = page_size();
    let size = 3 * ps + 100;
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        file.as_os_str(),
    ]));
    let r = json_ok(&out);

    assert_eq!(r["schema"], "mmapscope/1");
    assert_eq!(r["file"]["size"].as_u64(), Some(size));
    assert_eq!(r["file"]["writable"], true);
    let m = &r["mapping"];
    assert_eq!(m["kind"], "file");
    assert_eq!(m["mode"], "shared");
    assert_eq!(
        m["prot"], "r--",
        "a file the user names maps read-only by default"
    );
    assert_eq!(m["pages"].as_u64(), Some(4));
    assert_eq!(m["len"].as_u64(), Some(size));
    assert_eq!(m["offset"].as_u64(), Some(0));
    assert_eq!(m["page_size"].as_u64(), Some(ps));
    assert!(m["addr"].as_str().is_some_and(|a| a.starts_with("0x")));

    let pages = expand_runs(&r);
    assert_eq!(pages.len(), 4);
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p["beyond_eof"], false, "page {i}: {p}");
        if i < 3 {
            assert_eq!(p["valid_bytes"].as_u64(), Some(ps), "page {i}: {p}");
            assert_eq!(p["padding_bytes"].as_u64(), Some(0), "page {i}: {p}");
        } else {
            assert_eq!(p["valid_bytes"].as_u64(), Some(100), "last page: {p}");
            assert_eq!(
                p["padding_bytes"].as_u64(),
                Some(ps - 100),
                "last page: {p}"
            );
        }
    }

    let canonical = std::fs::canonicalize(&file).expect("canonical path");
    assert_eq!(r["vma"]["perms"], "r--s");
    assert_eq!(
        r["vma"]["path"].as_str(),
        Some(canonical.to_str().expect("utf-8 temp path"))
    );
    assert_eq!(r["vma"]["start"], m["addr"]);
    assert_eq!(r["summary"]["pages"].as_u64(), Some(4));
    assert_eq!(r["summary"]["beyond_eof"].as_u64(), Some(0));

    // --write maps it writable, as the user asked.
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        "--write".as_ref(),
        file.as_os_str(),
    ]));
    let r = json_ok(&out);
    assert_eq!(r["mapping"]["prot"], "rw-");
    assert_eq!(r["vma"]["perms"], "rw-s");
}

#[test]
fn inspect_json_len_past_eof_marks_pages_beyond_eof() {
    let dir = temp();
    let file = fixture(dir.path());
    let ps = page_size();
    let len = (6 * ps).to_string();
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        "--len".as_ref(),
        len.as_ref(),
        file.as_os_str(),
    ]));
    let r = json_ok(&out);
    assert_eq!(r["mapping"]["pages"].as_u64(), Some(6));
    assert_eq!(r["mapping"]["len"].as_u64(), Some(6 * ps));
    let pages = expand_runs(&r);
    assert_eq!(pages.len(), 6);
    for (i, p) in pages.iter().enumerate() {
        let beyond = i >= 4;
        assert_eq!(p["beyond_eof"], beyond, "page {i}: {p}");
        if beyond {
            assert_eq!(p["resident"], false, "page {i}: {p}");
            assert_eq!(p["present"], false, "page {i}: {p}");
            assert_eq!(p["valid_bytes"].as_u64(), Some(0), "page {i}: {p}");
        }
    }
    assert_eq!(r["summary"]["pages"].as_u64(), Some(6));
    assert_eq!(r["summary"]["beyond_eof"].as_u64(), Some(2));
}

#[test]
fn inspect_json_private_is_a_private_mapping() {
    let dir = temp();
    let file = fixture(dir.path());
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        "--private".as_ref(),
        file.as_os_str(),
    ]));
    let r = json_ok(&out);
    assert_eq!(r["mapping"]["mode"], "private");
    assert_eq!(r["mapping"]["prot"], "rw-");
    assert_eq!(r["vma"]["perms"], "rw-p");
}

#[test]
fn inspect_text_prints_a_table_with_a_summary() {
    let dir = temp();
    let file = fixture(dir.path());
    let out = run(mmapscope(&["inspect".as_ref(), file.as_os_str()]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("summary:"), "{table}");
    assert!(table.contains("MAP_SHARED r--"), "{table}");
    assert!(table.contains("12,388 B") || page_size() != 4096, "{table}");
}

#[test]
fn a_missing_file_is_enoent() {
    let dir = temp();
    let missing = dir.path().join("no-such-file");
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        missing.as_os_str(),
    ]));
    fails_cleanly(&out, Some("ENOENT"), &["no-such-file"]);
}

#[test]
fn a_directory_is_refused() {
    let dir = temp();
    let out = run(mmapscope(&["inspect".as_ref(), dir.path().as_os_str()]));
    fails_cleanly(&out, Some("ENODEV"), &["directory"]);
}

#[test]
fn a_fifo_is_refused_without_hanging() {
    let dir = temp();
    let fifo = dir.path().join("pipe");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
    // `run` kills the child and fails the test if it blocks (opening a FIFO waits for a writer).
    let out = run(mmapscope(&["inspect".as_ref(), fifo.as_os_str()]));
    fails_cleanly(&out, Some("ENODEV"), &["FIFO"]);
}

#[test]
fn a_proc_file_cannot_be_mapped() {
    let out = run(mmapscope(&["inspect", "/proc/self/status"]));
    fails_cleanly(&out, Some("ENODEV"), &["/proc/self/status"]);
}

#[test]
fn an_unaligned_offset_names_the_page_size_and_its_neighbours() {
    let dir = temp();
    let file = fixture(dir.path());
    let ps = page_size();
    let below = 5000 - 5000 % ps;
    let above = below + ps;
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--offset".as_ref(),
        "5000".as_ref(),
        file.as_os_str(),
    ]));
    let msg = fails_cleanly(&out, Some("EINVAL"), &["5000"]);
    for n in [ps, below, above] {
        assert!(msg.contains(&n.to_string()), "the message names {n}: {msg}");
    }
    assert!(
        msg.contains(&format!("{ps} B")),
        "names the page size: {msg}"
    );
}

#[test]
fn a_zero_length_is_refused() {
    let dir = temp();
    let file = fixture(dir.path());
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--len".as_ref(),
        "0".as_ref(),
        file.as_os_str(),
    ]));
    fails_cleanly(&out, Some("EINVAL"), &["--len"]);
}

#[test]
fn inspect_needs_a_file_or_anon() {
    // A usage error, not a failed system call: no errno to name, but one line saying what to give.
    for args in [&["inspect"][..], &["inspect", "--json"][..]] {
        let out = run(mmapscope(args));
        fails_cleanly(&out, None, &["FILE", "--anon"]);
    }
}

#[test]
fn no_permission_is_eacces() {
    let dir = match temp_for_nobody() {
        Ok(d) => d,
        Err(why) => return skip("no_permission_is_eacces", &why),
    };
    let file = fixture(dir.path());
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    let cmd = match as_unprivileged(&["inspect".as_ref(), "--json".as_ref(), file.as_os_str()]) {
        Ok(c) => c,
        Err(why) => return skip("no_permission_is_eacces", &why),
    };
    let out = run(cmd);
    fails_cleanly(&out, Some("EACCES"), &["fixture.txt"]);
}

#[test]
fn a_read_only_file_maps_read_only_with_a_note() {
    let test = "a_read_only_file_maps_read_only_with_a_note";
    let dir = match temp_for_nobody() {
        Ok(d) => d,
        Err(why) => return skip(test, &why),
    };
    let file = fixture(dir.path());
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).expect("chmod 444");

    let cmd = match as_unprivileged(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        "--write".as_ref(),
        file.as_os_str(),
    ]) {
        Ok(c) => c,
        Err(why) => return skip(test, &why),
    };
    let out = run(cmd);
    let r = json_ok(&out);
    assert_eq!(r["mapping"]["prot"], "r--");
    assert_eq!(r["mapping"]["mode"], "shared");
    assert_eq!(r["file"]["writable"], false);
    assert_eq!(r["vma"]["perms"], "r--s");
    let err = text(&out.stderr);
    assert!(
        err.contains("shared writable mapping is impossible") && err.contains("--private"),
        "stderr explains the read-only mapping and names --private: {err}"
    );

    let cmd = as_unprivileged(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        "--private".as_ref(),
        file.as_os_str(),
    ])
    .expect("checked above");
    let r = json_ok(&run(cmd));
    assert_eq!(r["mapping"]["mode"], "private");
    assert_eq!(r["mapping"]["prot"], "rw-");
    assert_eq!(r["vma"]["perms"], "rw-p");
    assert_eq!(r["file"]["writable"], false);
}

#[test]
fn an_empty_file_is_one_page_beyond_eof_with_a_note() {
    let dir = temp();
    let file = dir.path().join("empty");
    std::fs::write(&file, b"").expect("create empty file");
    let out = run(mmapscope(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        file.as_os_str(),
    ]));
    let r = json_ok(&out);
    assert_eq!(r["file"]["size"].as_u64(), Some(0));
    assert_eq!(r["mapping"]["pages"].as_u64(), Some(1));
    let pages = expand_runs(&r);
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0]["beyond_eof"], true);
    assert_eq!(r["summary"]["beyond_eof"].as_u64(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("note") && err.contains("beyond end of file"),
        "stderr explains the empty file: {err}"
    );
}

#[test]
fn anonymous_memory_shared_and_private() {
    let ps = page_size();
    let out = run(mmapscope(&["inspect", "--anon", "64k", "--json"]));
    let r = json_ok(&out);
    assert_eq!(r["file"], Value::Null);
    assert_eq!(r["mapping"]["kind"], "anonymous");
    assert_eq!(r["mapping"]["mode"], "shared");
    assert_eq!(r["mapping"]["pages"].as_u64(), Some(65536 / ps));
    assert_eq!(r["mapping"]["len"].as_u64(), Some(65536));
    assert_eq!(r["vma"]["perms"], "rw-s");
    let pages = expand_runs(&r);
    assert!(pages.iter().all(|p| p["beyond_eof"] == false));

    let r = json_ok(&run(mmapscope(&[
        "inspect",
        "--anon",
        "64k",
        "--private",
        "--json",
    ])));
    assert_eq!(r["mapping"]["kind"], "anonymous");
    assert_eq!(r["mapping"]["mode"], "private");
    assert_eq!(r["vma"]["perms"], "rw-p");
}

#[test]
fn dev_zero_maps_without_an_end_of_file() {
    let ps = page_size();
    let r = json_ok(&run(mmapscope(&[
        "inspect",
        "--json",
        "--len",
        "16k",
        "/dev/zero",
    ])));
    assert_eq!(r["mapping"]["pages"].as_u64(), Some(16384_u64.div_ceil(ps)));
    let pages = expand_runs(&r);
    assert!(
        pages.iter().all(|p| p["beyond_eof"] == false),
        "no page of /dev/zero is beyond EOF: {:#?}",
        r["pages"]
    );
    assert_eq!(r["summary"]["beyond_eof"].as_u64(), Some(0));

    let r = json_ok(&run(mmapscope(&[
        "inspect",
        "--json",
        "--private",
        "--len",
        "16k",
        "/dev/zero",
    ])));
    assert_eq!(r["mapping"]["mode"], "private");
    assert_eq!(r["vma"]["perms"], "rw-p");
}

#[test]
fn the_explorer_needs_a_terminal() {
    let dir = temp();
    let file = fixture(dir.path());
    let start = Instant::now();
    let out = run(mmapscope(&[file.as_os_str()]));
    fails_cleanly(&out, None, &["needs a terminal", "inspect"]);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn the_demo_needs_a_terminal_too() {
    let dir = temp();
    let mut cmd = mmapscope::<&str>(&[]);
    cmd.env("TMPDIR", dir.path());
    let out = run(cmd);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    assert!(err.contains("needs a terminal"), "stderr: {err}");
    assert!(!err.to_lowercase().contains("panicked"), "stderr: {err}");
}

#[test]
fn completions_and_the_manual_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(mmapscope(&["completions", shell]));
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(
            script.contains("mmapscope") && script.contains("inspect") && script.contains("write"),
            "{shell}"
        );
    }
    let out = run(mmapscope(&["man"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH mmapscope 1"),
        "roff: {page}"
    );
    assert!(
        page.contains("\\-\\-write") || page.contains("write"),
        "options listed"
    );
}

/// Whether `bytes` could drive a terminal: a C0 control other than a line break, DEL, or a C1
/// control (U+0080-U+009F, two bytes in UTF-8).
fn has_controls(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f)
        || bytes
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..0xa0).contains(&w[1]))
}

/// Runs `args` and expects exit 2 with a short stderr (under 1,000 bytes a line, `lines` lines
/// at most) holding no control character; returns it.
fn short_and_clean(args: &[&std::ffi::OsStr], lines: usize) -> String {
    let out = run(mmapscope(args));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!has_controls(&out.stderr), "{:?}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.lines().count() <= lines, "{err}");
    assert!(err.lines().all(|l| l.len() < 1000), "{err}");
    err
}

/// Nothing a user gave reaches the terminal raw, and no value is echoed at any length: a
/// `--vma` spec, a clap value, a path and a script line holding ESC and BEL are echoed
/// escaped, and 100 KB of any of them gives a short line with `…` where the value was cut.
#[test]
fn values_echoed_in_errors_are_escaped_and_cut() {
    let dir = temp();
    let file = clean_file(dir.path(), 4);
    let writer = Writer::start(&file, 1);
    let pid = writer.pid.to_string();
    let os = std::ffi::OsStr::new;
    let red = "\x1b[31mRED\x07";
    let long = format!("{red}{}", "A".repeat(100_000));
    let spec = |spec: &str| {
        short_and_clean(
            &[os("inspect"), os("--pid"), os(&pid), os("--vma"), os(spec)],
            1,
        )
    };
    let err = spec(red);
    assert!(
        err.starts_with("mmapscope: ENOENT: --vma: no VMA is `\\x1b[31mRED\\x07`"),
        "{err}"
    );
    let err = spec(&long);
    assert!(
        err.contains("`\\x1b[31mRED\\x07AAA") && err.contains("A…`"),
        "{err}"
    );
    assert!(spec(&format!("0x{long}")).contains("is not an address"));
    // clap's own errors: the value as given, escaped and cut.
    let err = short_and_clean(&[os("inspect"), os("--len"), os(red), file.as_os_str()], 3);
    assert!(err.contains("invalid value '\\x1b[31mRED\\x07'"), "{err}");
    let err = short_and_clean(
        &[os("inspect"), os("--len"), os(&long), file.as_os_str()],
        3,
    );
    assert!(err.contains("A…'"), "{err}");
    let err = short_and_clean(&[os("inspect"), os(&format!("/tmp/{long}"))], 1);
    assert!(
        err.contains("ENAMETOOLONG") && err.contains("/tmp/\\x1b[31mRED"),
        "{err}"
    );
    assert!(short_and_clean(&[os("lesson"), os(&long)], 1).contains("no lesson `\\x1b"));
    // A script line with control bytes, 60 KB long (the most a line may be is 64 KiB), and
    // one of 100 KB.
    for (line, says) in [
        (format!("write 0 {}", &long[..60_000]), "is not hex"),
        (format!("say {long}"), "longer than 64 KiB"),
    ] {
        let script = common::script(dir.path(), &format!("{line}\n"));
        let err = short_and_clean(
            &[os("batch"), os("--anon"), os("4k"), script.as_os_str()],
            1,
        );
        assert!(err.contains(says), "{err}");
    }
}

/// A lesson file is anyone's text: `lesson --check` prints its narration and lines escaped.
#[test]
fn a_lesson_checked_prints_its_text_escaped() {
    let dir = temp();
    let lesson = dir.path().join("odd.lesson");
    std::fs::write(
        &lesson,
        "say \"hello \x1b]0;pwned\x07 there\"\nwrite 0 41 # \x1b[2J\n",
    )
    .expect("write the lesson");
    let out = run(mmapscope(&[
        "lesson".as_ref(),
        "--check".as_ref(),
        "--trust".as_ref(),
        "--file".as_ref(),
        lesson.as_os_str(),
    ]));
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(!has_controls(&out.stdout), "{said:?}");
    assert!(said.contains("hello \\x1b]0;pwned\\x07 there"), "{said}");
}

#[test]
fn a_file_whose_own_mmap_refuses_a_read_only_mapping_is_not_said_unwritable() {
    // /sys/kernel/btf/vmlinux (Linux 6.16+) may be mapped only MAP_PRIVATE and read-only
    // (kernel/bpf/sysfs_btf.c): read-only was asked, so "could not be opened for writing"
    // would be false.
    const TEST: &str = "a_file_whose_own_mmap_refuses_a_read_only_mapping_is_not_said_unwritable";
    let btf = "/sys/kernel/btf/vmlinux";
    if !Path::new(btf).exists() {
        return skip(TEST, "no /sys/kernel/btf/vmlinux (a kernel without BTF)");
    }
    let out = run(mmapscope(&["inspect", btf]));
    if out.status.success() || !text(&out.stderr).contains("EACCES") {
        return skip(
            TEST,
            &format!(
                "this kernel's BTF file does not refuse MAP_SHARED with EACCES: {}",
                text(&out.stderr).trim()
            ),
        );
    }
    let line = fails_cleanly(
        &out,
        Some("EACCES"),
        &["refused a MAP_SHARED r-- mapping", "use --private --prot r"],
    );
    assert!(!line.contains("for writing"), "{line}");
    // What it offers works, and was measured: the private read-only mapping maps.
    let ok = run(mmapscope(&["inspect", "--private", "--prot", "r", btf]));
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let private_rw = run(mmapscope(&["inspect", "--private", btf]));
    fails_cleanly(&private_rw, Some("EACCES"), &["MAP_PRIVATE rw-"]);
}

/// `--log FILE` (or `MMAPSCOPE_LOG=FILE`) appends what was done to FILE: the start, each
/// operation with its call and time, each refusal of the write gate; a log that cannot be
/// written is refused before anything runs.
#[test]
fn a_log_file_records_each_operation_and_refusal() {
    let dir = temp();
    let file = fixture(dir.path());
    let log = dir.path().join("log.txt");
    let script = common::script(dir.path(), "write 0 41\nmsync sync\n");
    let mut cmd = mmapscope(&["batch", "--log"]);
    cmd.arg(&log).arg(&file).arg(&script);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "the write is refused: {out:?}");
    let logged = std::fs::read_to_string(&log).expect("the log was written");
    assert!(logged.contains("mmapscope started"), "{logged}");
    assert!(
        logged.contains("refused by the write gate op=write at 0x0"),
        "{logged}"
    );
    assert!(
        logged.contains("done op=msync(MS_SYNC) [all] call=msync(0x"),
        "{logged}"
    );
    assert!(logged.contains("elapsed_us="), "{logged}");
    // The environment variable, appended to the same file.
    let mut cmd = mmapscope(&["inspect"]);
    cmd.arg(&file).env("MMAPSCOPE_LOG", &log);
    assert!(run(cmd).status.success());
    let again = std::fs::read_to_string(&log).unwrap();
    assert_eq!(again.matches("mmapscope started").count(), 2, "{again}");
    // A log that cannot be written: a clear refusal, and nothing done.
    let mut cmd = mmapscope(&["inspect", "--log"]);
    cmd.arg(dir.path()).arg(&file);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).contains("cannot write the log"),
        "{out:?}"
    );
    // The file being mapped is never the log: it would be written around the write gate.
    let before = std::fs::read(&file).unwrap();
    for args in [&["inspect", "--log"][..], &["--log"][..]] {
        let mut cmd = mmapscope(args);
        cmd.arg(&file).arg(&file);
        let out = run(cmd);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            text(&out.stderr).contains("is the file mmapscope would map or read"),
            "{out:?}"
        );
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file is unchanged"
    );
}
