//! The measures of the restructure into rooms by feature, kept over the whole of `src/`: no
//! file over 900 lines, no struct over 12 named fields (but one that copies a kernel
//! structure's layout), no impl block over 300 lines, no function over 80 lines (outside
//! tests). Run with `--nocapture` it also prints the largest of each.

use std::path::{Path, PathBuf};

use crate::routes::{matching, strip};

const FILE_MAX: usize = 900;
const FIELDS_MAX: usize = 12;
const IMPL_MAX: usize = 300;
const FN_MAX: usize = 80;

/// Structs that copy a kernel structure's layout field for field (`struct procmap_query` of
/// linux/fs.h): their size is the kernel's, not ours to group.
const KERNEL_LAYOUTS: &[&str] = &["struct ProcmapQueryArg"];

/// One measure of one item: what it is, where, and how big.
#[derive(Debug)]
struct Size {
    what: String,
    at: String,
    n: usize,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn line_at(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}

/// Items that start with `keyword` (at a word start) and have a `{ ... }` body: the text up
/// to the body and the body's range.
fn bodies<'a>(code: &'a str, keyword: &str) -> Vec<(&'a str, usize, usize)> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut from = 0;
    while let Some(n) = code[from..].find(keyword) {
        let at = from + n;
        from = at + keyword.len();
        let starts_word = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
        if !starts_word {
            continue;
        }
        // The header runs to the body's `{`; a `;` first means no body (a declaration).
        let Some(open) = code[from..].find(['{', ';']).map(|i| from + i) else {
            continue;
        };
        if b[open] == b';' {
            continue;
        }
        if let Some(close) = matching(code, open) {
            out.push((&code[at..open], open, close));
        }
    }
    out
}

/// The named fields of each struct with braces: `name: Type` at the body's top level.
fn struct_fields(code: &str, file: &str) -> Vec<Size> {
    bodies(code, "struct ")
        .into_iter()
        .filter(|(head, _, _)| !head.contains('('))
        .map(|(head, open, close)| {
            let (mut depth, mut n, mut seg) = (0i32, 0, String::new());
            let count = |seg: &str| usize::from(seg.contains(':') && !seg.trim().is_empty());
            for c in code[open + 1..close].chars() {
                match c {
                    '(' | '[' | '{' | '<' => depth += 1,
                    ')' | ']' | '}' | '>' => depth -= 1,
                    _ => {}
                }
                if c == ',' && depth == 0 {
                    n += count(&seg);
                    seg.clear();
                } else {
                    seg.push(c);
                }
            }
            n += count(&seg);
            Size {
                what: head
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" "),
                at: format!("{file}:{}", line_at(code, open)),
                n,
            }
        })
        .collect()
}

/// The lines of each item of `keyword` (`impl`, `fn`) from its first line to its last.
fn spans(code: &str, keyword: &str, file: &str) -> Vec<Size> {
    bodies(code, keyword)
        .into_iter()
        .map(|(head, open, close)| {
            let start = open - head.len();
            Size {
                what: head.split_whitespace().collect::<Vec<_>>().join(" "),
                at: format!("{file}:{}", line_at(code, start)),
                n: line_at(code, close) - line_at(code, start) + 1,
            }
        })
        .collect()
}

/// Every measure of the files under `paths`: file lines, struct fields, impl lines, fn lines.
fn measure(paths: &[PathBuf]) -> [Vec<Size>; 4] {
    let mut all: [Vec<Size>; 4] = Default::default();
    for p in paths {
        let text = std::fs::read_to_string(p).expect("read");
        let code = strip(&text);
        let file = p.display().to_string();
        all[0].push(Size {
            what: "file".into(),
            at: file.clone(),
            n: text.lines().count(),
        });
        all[1].extend(struct_fields(&code, &file));
        all[2].extend(spans(&code, "impl", &file));
        // Tests may run long (a table of cases): functions of the code only.
        let is_tests = p
            .file_name()
            .is_some_and(|n| n == "tests.rs" || n == "testing.rs");
        if !is_tests {
            let code_only = code
                .find("#[cfg(test)]")
                .map_or(code.as_str(), |at| &code[..at]);
            all[3].extend(spans(code_only, "fn ", &file));
        }
    }
    for v in &mut all {
        v.sort_by_key(|s| std::cmp::Reverse(s.n));
    }
    all
}

const NAMES: [&str; 4] = [
    "file lines",
    "struct fields",
    "impl block lines",
    "fn lines",
];
const LIMITS: [usize; 4] = [FILE_MAX, FIELDS_MAX, IMPL_MAX, FN_MAX];

#[test]
fn every_file_struct_impl_and_function_keeps_the_measures() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut whole = Vec::new();
    rs_files(&src, &mut whole);
    for (name, sizes) in NAMES.iter().zip(measure(&whole)) {
        let top: Vec<String> = sizes
            .iter()
            .take(3)
            .map(|s| format!("{} {} ({})", s.n, s.what, s.at))
            .collect();
        eprintln!("whole crate, largest {name}: {}", top.join("; "));
    }
    assert!(
        whole.len() > 100,
        "the crate holds its files: {}",
        whole.len()
    );
    let mut over = Vec::new();
    for ((name, limit), sizes) in NAMES.iter().zip(LIMITS).zip(measure(&whole)) {
        for s in sizes.iter().filter(|s| s.n > limit) {
            if !KERNEL_LAYOUTS.contains(&s.what.as_str()) {
                over.push(format!("{name} {} > {limit}: {} at {}", s.n, s.what, s.at));
            }
        }
    }
    assert!(over.is_empty(), "over the measures:\n{}", over.join("\n"));
}

#[test]
fn the_measures_count_what_they_say() {
    let code = strip(
        "struct A {\n    a: u8,\n    b: Vec<(u8, u8)>,\n    c: [u8; 2],\n}\nstruct T(u8, u8);\n\
         impl A {\n    fn f(&self) -> u8 {\n        1\n    }\n}\n// struct Z { q: u8 }\n",
    );
    let fields = struct_fields(&code, "x");
    assert_eq!(
        fields.len(),
        1,
        "a tuple struct has no named fields: {fields:?}"
    );
    assert_eq!((fields[0].what.as_str(), fields[0].n), ("struct A", 3));
    let impls = spans(&code, "impl", "x");
    assert_eq!((impls[0].n, impls[0].at.as_str()), (5, "x:7"));
    let fns = spans(&code, "fn ", "x");
    assert_eq!(fns[0].n, 3);
}
