//! The docs' examples run: the lesson passes `--check`, the `--also` script reads what its
//! comments say, the table of lessons names the shipped ones, and `inspect` prints the table
//! shown.

use crate::common;

use super::{JSON, LAB, SCRIPTS, code_after, doc};

#[test]
fn the_scripts_lesson_example_passes_its_check() {
    let text = code_after(SCRIPTS, "Two comments at the top describe it:");
    assert!(text.starts_with("# lesson: "), "{text}");
    let dir = common::temp_dir();
    let path = dir.path().join("cow.lesson");
    std::fs::write(&path, &text).expect("write the lesson");
    let out = common::run(common::mmapscope(&[
        "lesson".as_ref(),
        "--file".as_ref(),
        path.as_os_str(),
        "--check".as_ref(),
    ]));
    let stdout = common::text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("every expect held"),
        "{stdout}{}",
        common::text(&out.stderr)
    );
    // Every step ran: as many steps as `say` lines.
    let says = text.lines().filter(|l| l.starts_with("say ")).count();
    assert_eq!(stdout.matches("step ").count(), says, "{stdout}");
}

#[test]
fn the_lab_also_example_reads_what_its_comments_say() {
    let block = code_after(LAB, "diverges, and its writes never reach the file:");
    let script: String = block
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("write "))
        .take_while(|l| *l != "EOF")
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(script.contains("swap"), "{block}");
    let dir = common::temp_dir();
    let file = common::fixture(dir.path());
    let script_path = common::script(dir.path(), &script);
    let out = common::run(common::mmapscope(&[
        "batch".as_ref(),
        "-w".as_ref(),
        "--also".as_ref(),
        "private".as_ref(),
        file.as_os_str(),
        script_path.as_os_str(),
    ]));
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let results: Vec<serde_json::Value> = common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let mut claims = 0;
    for (line, result) in script.lines().zip(&results) {
        let Some((_, comment)) = line.split_once('#') else {
            continue;
        };
        let comment = comment.trim();
        // `# "41": ...` after a read is the byte it returns.
        if let Some(hex) = comment.strip_prefix('"').and_then(|c| c.split('"').next())
            && line.starts_with("read ")
        {
            assert_eq!(result["result"]["hex"], hex, "{line}: {result}");
            claims += 1;
        }
        // `# ... "NOTE"` after a write is a note it logs.
        if let Some(note) = comment
            .split('"')
            .nth(1)
            .filter(|_| line.starts_with("write "))
        {
            let notes = result["result"]["notes"].to_string();
            assert!(notes.contains(note), "{line}: {notes}");
            claims += 1;
        }
    }
    assert_eq!(claims, 3, "the example's claims were all checked: {script}");
}

#[test]
fn the_scripts_table_of_lessons_names_the_shipped_lessons() {
    let text = doc(SCRIPTS);
    let at = text
        .find("| lesson | what it shows |")
        .expect("the table of lessons");
    let names: Vec<&str> = text[at..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('`').nth(1))
        .collect();
    let shipped: Vec<&str> = mmapscope::script::lesson::BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(names, shipped);
}

/// `line` without the words that change from run to run (addresses).
fn without_addresses(line: &str) -> String {
    line.split_whitespace()
        .filter(|w| !w.starts_with("0x"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_json_inspect_example_prints_its_table() {
    if common::page_size() != 4096 {
        println!(
            "SKIPPED the_json_inspect_example_prints_its_table: the example is of 4 KiB pages"
        );
        return;
    }
    let block = code_after(JSON, "## inspect");
    let shown: Vec<&str> = block.lines().skip(1).collect();
    // A file of 12,388 B just written and synced: in the page cache, clean.
    let dir = common::temp_dir();
    let path = dir.path().join("notes.txt");
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(&vec![b'n'; 12_388]).expect("write");
        f.sync_all().expect("sync");
    }
    let out = common::run(common::mmapscope(&[
        "inspect".as_ref(),
        "--len".as_ref(),
        "24k".as_ref(),
        path.as_os_str(),
    ]));
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let stdout = common::text(&out.stdout);
    let printed: Vec<&str> = stdout.lines().collect();
    // The mapping line, but for its address.
    assert_eq!(
        without_addresses(printed[1]),
        without_addresses(shown[1]),
        "{stdout}"
    );
    // The table and the summary, exactly.
    let table = |lines: &[&str]| -> Vec<String> {
        lines
            .iter()
            .skip_while(|l| !l.starts_with("pages "))
            .map(|l| l.to_string())
            .collect()
    };
    assert_eq!(table(&printed), table(&shown), "{stdout}");
    assert!(table(&shown).len() >= 5, "{block}");
}
