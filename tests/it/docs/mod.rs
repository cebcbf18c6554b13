//! The docs say what the program does: the guide's key table is `keys::manual_lines`, its
//! table of page states is `legend::STATES`, the README's quoted screen is the screen drawn
//! (from a fabricated model, exactly) and the one the demo draws in a real terminal (but for
//! what changes from run to run), every word and letter a page header can draw is in the
//! legend, and `mmapscope man` has every key and every page state.
//!
//! The docs' examples run: the inspect example prints the table it shows, the JSON schema
//! lists exactly the fields `inspect --json` and `batch` print, the example lesson passes
//! `--check`, the `--also` batch script reads what its comments say, and the table of lessons
//! names the shipped ones. Every link between the documents resolves, and none names a file
//! outside the repository.
//!
//! Generated parts sit between `<!-- begin: NAME -->` and `<!-- end: NAME -->`. When the
//! program changes on purpose, `MMAPSCOPE_BLESS=1 cargo test --test it docs::` rewrites them
//! from the program (then read the diff); otherwise a difference fails, showing it.

use std::path::{Path, PathBuf};

mod examples;
mod json;
mod legend;
mod links;
mod screen;

const PS: u64 = 4096;
const ADDR: u64 = 0x7f1c_0b2a_e000;
const FILE_SIZE: u64 = 3 * PS + 100;
const DEMO: &str = "/tmp/mmapscope-demo-15038-ca8caa6/demo.txt";

/// The documents for readers: the README, the two at the top for contributors, and docs/.
const README: &str = "README.md";
const GUIDE: &str = "docs/guide.md";
const LAB: &str = "docs/lab.md";
const SCRIPTS: &str = "docs/scripts.md";
const JSON: &str = "docs/json.md";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every Markdown document of the repository: the top level's and docs/'s.
fn documents() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [root().to_path_buf(), root().join("docs")] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The text of the document `rel` (a path from the repository's root).
fn doc(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The lines between `<!-- begin: NAME -->` and `<!-- end: NAME -->` of `file`, and where.
fn block(text: &str, file: &str, name: &str) -> (usize, usize, String) {
    let begin = format!("<!-- begin: {name} -->\n");
    let end = format!("<!-- end: {name} -->");
    let start = text
        .find(&begin)
        .unwrap_or_else(|| panic!("{file} has no `{}`", begin.trim()))
        + begin.len();
    let stop = start
        + text[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("{file} has no `{end}`"));
    (start, stop, text[start..stop].to_string())
}

/// Compares the block `name` of the document `file` with `want`; with MMAPSCOPE_BLESS=1,
/// writes `want` there instead.
fn check_block(file: &str, name: &str, want: &str) {
    // The tests run on threads: one read-modify-write of a document at a time.
    static DOCS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = DOCS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = root().join(file);
    let text = doc(file);
    let (start, stop, have) = block(&text, file, name);
    if have == want {
        return;
    }
    if std::env::var_os("MMAPSCOPE_BLESS").is_some_and(|v| v == "1") {
        let mut next = text.clone();
        next.replace_range(start..stop, want);
        std::fs::write(&path, next).unwrap_or_else(|e| panic!("write {file}: {e}"));
        eprintln!("{file}: rewrote the block `{name}`");
        return;
    }
    let diff: Vec<String> = have
        .lines()
        .zip(want.lines().chain(std::iter::repeat("<missing>")))
        .chain(
            want.lines()
                .skip(have.lines().count())
                .map(|w| ("<missing>", w)),
        )
        .filter(|(h, w)| h != w)
        .take(8)
        .map(|(h, w)| format!("  {file}: {h}\n  program: {w}"))
        .collect();
    panic!(
        "{file}'s `{name}` differs from the program (MMAPSCOPE_BLESS=1 cargo test --test it \
         docs:: rewrites it from the program):\n{}",
        diff.join("\n")
    );
}

/// The body of the first code block after the line `after` in the document `file`.
fn code_after(file: &str, after: &str) -> String {
    let text = doc(file);
    let at = text
        .find(after)
        .unwrap_or_else(|| panic!("{file} has no `{after}`"));
    let rest = &text[at..];
    let start = rest.find("```\n").expect("a code block") + 4;
    let len = rest[start..].find("```").expect("its end");
    rest[start..start + len].to_string()
}
