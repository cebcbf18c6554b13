//! docs/json.md lists exactly the fields `inspect --json` (of a file, of anonymous memory, of
//! another process) and `batch` print.

use std::process::Command;

use crate::common;

use super::{JSON, doc};

/// The key paths of a JSON value: `a`, `a.b`, and `a[].b` inside arrays of objects.
fn json_paths(
    value: &serde_json::Value,
    prefix: &str,
    out: &mut std::collections::BTreeSet<String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let path = format!("{prefix}{key}");
                out.insert(path.clone());
                json_paths(v, &format!("{path}."), out);
            }
        }
        serde_json::Value::Array(items) => {
            let inner = format!("{}[].", prefix.trim_end_matches('.'));
            for item in items {
                json_paths(item, &inner, out);
            }
        }
        _ => {}
    }
}

/// The paths in the first column of the table between `<!-- fields: NAME -->` and
/// `<!-- end fields -->` of docs/json.md.
fn documented_fields(name: &str) -> std::collections::BTreeSet<String> {
    let text = doc(JSON);
    let begin = format!("<!-- fields: {name} -->");
    let at = text
        .find(&begin)
        .unwrap_or_else(|| panic!("{JSON} has no `{begin}`"));
    let rest = &text[at..];
    let stop = rest.find("<!-- end fields -->").expect("its end");
    let fields: std::collections::BTreeSet<String> = rest[..stop]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .map(String::from)
        .collect();
    assert!(fields.len() >= 4, "{name}: {fields:?}");
    fields
}

fn json_of(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = common::run(common::mmapscope(args));
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    serde_json::from_str(&common::text(&out.stdout)).expect("one JSON document")
}

/// The report's fields, as docs/json.md lists them, are what `inspect --json` prints: of a
/// file (with `--fault-in`, so that folios and kpageflags are there as root) and of anonymous
/// memory (`file` is null). A field the program adds or drops without the doc fails here.
#[test]
fn the_json_schema_lists_every_field_inspect_prints() {
    let dir = common::temp_dir();
    let path = dir.path().join("notes.txt");
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(&vec![b'n'; 12_388]).expect("write");
        f.sync_all().expect("sync");
    }
    let mut printed = std::collections::BTreeSet::new();
    let file = json_of(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        "--fault-in".as_ref(),
        "--len".as_ref(),
        "24k".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(file["schema"], "mmapscope/1", "{file}");
    json_paths(&file, "", &mut printed);
    let anon = json_of(&[
        "inspect".as_ref(),
        "--json".as_ref(),
        "--anon".as_ref(),
        "64k".as_ref(),
    ]);
    assert!(anon["file"].is_null(), "{anon}");
    json_paths(&anon, "", &mut printed);
    let documented = documented_fields("report");
    let undocumented: Vec<&String> = printed.difference(&documented).collect();
    let never_printed: Vec<&String> = documented.difference(&printed).collect();
    assert!(
        undocumented.is_empty() && never_printed.is_empty(),
        "{JSON}: printed but not documented {undocumented:?}; documented but not printed \
         {never_printed:?}"
    );
}

/// `inspect --pid --json` is docs/json.md's process report: its own fields, and a report
/// (the fields above) per VMA.
#[test]
fn the_json_schema_lists_every_field_of_a_process_report() {
    let mut child = Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("start sleep");
    let pid = child.id().to_string();
    let args: [&std::ffi::OsStr; 4] = [
        "inspect".as_ref(),
        "--json".as_ref(),
        "--pid".as_ref(),
        pid.as_ref(),
    ];
    let out = common::run(common::mmapscope(&args));
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&common::text(&out.stdout)).expect("one JSON document");
    let top: std::collections::BTreeSet<String> = report
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    assert_eq!(top, documented_fields("process"), "{JSON}");
    let mut totals = std::collections::BTreeSet::new();
    json_paths(&report["totals"], "", &mut totals);
    assert_eq!(totals, documented_fields("totals"), "{JSON}");
    let vmas = report["vmas"].as_array().expect("vmas");
    assert!(vmas.len() >= 3, "{report}");
    let mut documented = documented_fields("report");
    documented.extend(documented_fields("process-vma"));
    for vma in vmas {
        let mut printed = std::collections::BTreeSet::new();
        json_paths(vma, "", &mut printed);
        let undocumented: Vec<&String> = printed.difference(&documented).collect();
        assert!(undocumented.is_empty(), "{JSON}: {undocumented:?} in {vma}");
    }
}

/// A batch line's fields, as docs/json.md lists them: a line that ran and one that failed.
#[test]
fn the_json_schema_lists_every_field_of_a_batch_line() {
    let dir = common::temp_dir();
    let file = common::fixture(dir.path());
    let script = common::script(dir.path(), "read 0 1\nwrite 0 41\nexpect error\n");
    let out = common::run(common::mmapscope(&[
        "batch".as_ref(),
        file.as_os_str(),
        script.as_os_str(),
    ]));
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let mut printed = std::collections::BTreeSet::new();
    let mut failed = 0;
    for line in common::text(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        failed += usize::from(v["ok"] == false);
        for key in v.as_object().expect("an object").keys() {
            printed.insert(key.clone());
        }
    }
    // The write is refused: the file was not named with --write.
    assert_eq!(failed, 1, "{}", common::text(&out.stdout));
    assert_eq!(printed, documented_fields("batch-line"), "{JSON}");
}

/// `diff`'s fields, as docs/json.md lists them, after a mark and a write to a clean file (the
/// page changes state and bytes, and our mapping's VMA its Rss: every part is there).
#[test]
fn the_json_schema_lists_every_field_of_diff() {
    let dir = common::temp_dir();
    let file = common::clean_file(dir.path(), 4);
    let script = common::script(dir.path(), "mark\nwrite 0x10 41\ndiff\n");
    let out = common::run(common::mmapscope(&[
        "batch".as_ref(),
        "--write".as_ref(),
        file.as_os_str(),
        script.as_os_str(),
    ]));
    assert!(out.status.success(), "{}", common::text(&out.stdout));
    let text = common::text(&out.stdout);
    let line = text.lines().last().expect("the diff line");
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    let mut printed = std::collections::BTreeSet::new();
    json_paths(&v["result"], "", &mut printed);
    assert_eq!(printed, documented_fields("diff"), "{JSON}: {line}");
}
