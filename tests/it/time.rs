//! Mark and compare against the real kernel: batch scripts on real temp files and anonymous
//! memory (`mark`, writes through the mapping, `diff`: the pages and bytes changed are exactly
//! those written; a page evicted says `-resident`), `: +dirty` / `: -resident` navigation, and
//! a `--pid` mark of the writer child's file VMA.

use std::collections::BTreeSet;
use std::os::unix::fs::FileExt;

use mmapscope::action::{Action, TimeAction};
use mmapscope::session::Session;
use serde_json::Value;

use crate::common::{Writer, clean_file, mmapscope, page_size, run, script, temp_dir, text};

/// Runs a batch script; returns its JSON lines.
fn batch(args: &[&str], lines: &str) -> Vec<Value> {
    let dir = temp_dir();
    let path = script(dir.path(), lines);
    let mut all: Vec<&str> = vec!["batch"];
    all.extend(args);
    all.push(path.to_str().expect("utf-8"));
    let out = run(mmapscope(&all));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The line of `cmd`'s result, asserting it went well.
fn result<'a>(lines: &'a [Value], cmd: &str) -> &'a Value {
    let line = lines
        .iter()
        .find(|l| l["cmd"] == cmd)
        .unwrap_or_else(|| panic!("no line `{cmd}` in {lines:?}"));
    assert_eq!(line["ok"], true, "{line}");
    &line["result"]
}

/// The pages of `diff` whose `changed` has `word`.
fn pages_with(diff: &Value, word: &str) -> BTreeSet<u64> {
    diff["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .filter(|p| {
            p["changed"]
                .as_array()
                .is_some_and(|c| c.contains(&word.into()))
        })
        .flat_map(|p| {
            let first = p["first"].as_u64().expect("first");
            first..first + p["count"].as_u64().expect("count")
        })
        .collect()
}

#[test]
fn diff_names_exactly_the_pages_and_bytes_written_since_the_mark() {
    let dir = temp_dir();
    let file = clean_file(dir.path(), 8);
    let ps = page_size();
    let lines = batch(
        &["--write", file.to_str().expect("utf-8")],
        &format!(
            "mark\nwrite 0x{:x} 41 42 43\nwrite 0x{:x} 7a\ndiff\ngoto +dirty\ngoto +dirty\n",
            ps + 0x10,
            5 * ps + ps - 2
        ),
    );
    let mark = result(&lines, "mark");
    assert_eq!(mark["marked"], true, "{mark}");
    let diff = result(&lines, "diff");
    assert_eq!(pages_with(diff, "bytes"), BTreeSet::from([1, 5]), "{diff}");
    let page = |n: u64| {
        diff["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["first"] == n && p["count"] == 1)
            .unwrap_or_else(|| panic!("page {n} alone in {diff}"))
            .clone()
    };
    assert_eq!(page(1)["ranges"], serde_json::json!([[16, 3]]));
    assert_eq!(page(1)["bytes_changed"], 3);
    assert_eq!(page(5)["ranges"], serde_json::json!([[ps - 2, 1]]));
    // The written set (userfaultfd async write-protect) is exact on this kernel for a file
    // mapping too: both pages written, by the test's stores through the mapping.
    assert_eq!(page(1)["written"], Value::Bool(true));
    assert_eq!(page(5)["written"], Value::Bool(true));
    assert!(
        page(1)["written_source"]
            .as_str()
            .unwrap()
            .starts_with("exact: ")
    );
    assert_eq!(diff["summary"]["bytes_changed_pages"], 2);
    // A clean file's page written through a shared mapping becomes dirty, and no other does
    // (one page per folio: `clean_file`).
    // (cachestat tells dirty for a file we may write, root or not.)
    assert_eq!(pages_with(diff, "+dirty"), BTreeSet::from([1, 5]), "{diff}");
    assert_eq!(diff["summary"]["became"]["dirty"], 2);
    let went: Vec<u64> = lines
        .iter()
        .filter(|l| l["cmd"] == "goto +dirty")
        .map(|l| l["result"]["offset"].as_u64().expect("went"))
        .collect();
    assert_eq!(went, [ps, 5 * ps], "goto +dirty goes to the pages written");
}

#[test]
fn a_page_evicted_since_the_mark_says_minus_resident() {
    let dir = temp_dir();
    let file = clean_file(dir.path(), 4);
    let lines = batch(
        &[file.to_str().expect("utf-8")],
        "mark\nfadvise dontneed\ndiff\ngoto -resident\n",
    );
    let diff = result(&lines, "diff");
    let evicted = result(&lines, "fadvise dontneed")["resident_before"].as_u64();
    let gone = pages_with(diff, "-resident");
    assert_eq!(Some(gone.len() as u64), evicted, "{diff}");
    assert!(
        !gone.is_empty(),
        "the clean file was cached, then evicted: {diff}"
    );
    assert!(
        pages_with(diff, "bytes").is_empty(),
        "nothing written: {diff}"
    );
    assert_eq!(diff["summary"]["stopped"]["resident"], gone.len());
    let went = result(&lines, "goto -resident");
    assert!(gone.contains(&(went["offset"].as_u64().unwrap() / page_size())));
}

#[test]
fn anonymous_memory_discarded_since_the_mark_stopped_being_present_and_reads_zeros() {
    let ps = page_size();
    let lines = batch(
        &["--anon", "16k", "--private"],
        &format!(
            "write 0 01\nwrite 0x{ps:x} 02\nmark\nadvise dontneed page 0\nwrite 0x{:x} 07\n\
             diff\nunmark\ngoto changed\n",
            ps + 5
        ),
    );
    let diff = result(&lines, "diff");
    assert_eq!(pages_with(diff, "-present"), BTreeSet::from([0]), "{diff}");
    assert_eq!(pages_with(diff, "-resident"), BTreeSet::from([0]), "{diff}");
    // Page 0 reads as zeros now (its 01 is gone); page 1 got 07 at byte 5.
    assert_eq!(pages_with(diff, "bytes"), BTreeSet::from([0, 1]), "{diff}");
    assert!(
        result(&lines, "unmark")["said"]
            .as_str()
            .unwrap()
            .contains("mark dropped")
    );
    let after = lines.iter().find(|l| l["cmd"] == "goto changed").unwrap();
    assert_eq!(after["ok"], false);
    assert!(
        after["error"]
            .as_str()
            .unwrap()
            .contains("no mark: press b")
    );
}

/// `--pid`: a mark of the writer's file VMA; bytes the file gets afterwards (by our own
/// pwrite, seen through its shared mapping) are exactly the bytes `diff` says changed.
#[test]
fn a_mark_of_another_processs_vma_sees_the_bytes_that_changed_there() {
    let dir = temp_dir();
    let file = clean_file(dir.path(), 8);
    let writer = Writer::start(&file, 3);
    let spec = file.to_str().expect("utf-8");
    let mut session =
        Session::attach(writer.pid, Some(spec), false, false, (120, 40)).expect("attach");
    session.act(Action::Time(TimeAction::Mark));
    let mark = session.model.time.mark.as_ref().expect("a mark");
    // Only pages present in the writer are read there: the ones it wrote.
    let kept: BTreeSet<u64> = mark.kept.iter().map(|k| k.page).collect();
    let page = writer.pages[0];
    assert!(
        kept.contains(&page),
        "page {page} written by it, kept: {kept:?}"
    );
    assert!(mark.vmas.as_ref().is_some_and(|v| v.len() > 3));
    let ps = page_size();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .expect("open");
    f.write_all_at(b"#mark#", page * ps + 100).expect("pwrite");
    let diff = session.diff().expect("diff");
    assert_eq!(pages_with(&diff, "bytes"), BTreeSet::from([page]), "{diff}");
    let entry = diff["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["first"] == page)
        .expect("the page");
    assert_eq!(entry["bytes_changed"], 6, "{entry}");
    assert_eq!(entry["ranges"], serde_json::json!([[100, 6]]));
    assert!(diff["vmas"].is_array(), "{diff}");
    // The views see it too, not only `diff`: a refresh compares the kept bytes, and
    // `: changed` goes to the page even where its state did not change (compared at most
    // once a second: the refresh after the mark's compared already).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    session.refresh();
    assert!(
        session.model.time.bytes.iter().any(|r| r.contains(&page)),
        "bytes changed {:?}",
        session.model.time.bytes
    );
    session.model.doc.cursor = if page == 0 { ps } else { 0 };
    session.act(Action::Grid(mmapscope::action::GridAction::Goto(
        mmapscope::action::GotoTarget::Change(mmapscope::model::time::ChangeFilter::Any),
    )));
    let landed = session.model.doc.cursor / ps;
    let found: BTreeSet<u64> = session
        .model
        .time
        .changes
        .iter()
        .flat_map(|c| c.first..c.first + c.count)
        .collect();
    assert!(
        landed == page || found.contains(&landed),
        "landed on page {landed}; bytes changed on {page}, states on {found:?}"
    );
}
