//! The crate's layering (`src/lib.rs` draws it), kept true: every `crate::` path in `src/` points to a
//! module lower in `ORDER` than the module it is written in. A new upward import (the core
//! reaching into the screen, `sys` into the actions) fails this test, naming the file and line.
//!
//! Within `sys/` each folder is a room, and each file in it a room of its own in the folder's
//! order; `ui/` is one room; tests inside a file
//! (`#[cfg(test)]` and below) may import what they like.

use std::path::{Path, PathBuf};

/// The allowed order, bottom first: a module may use only modules before it.
const ORDER: &[&str] = &[
    // Leaf helpers.
    "text",
    "geometry",
    // The kernel, room by room (each folder a room whose files keep this order too): errors,
    // the unsafe shims, the /proc readers, the children we start, the mapping, what we attach
    // to, the probes, the lab, the operations.
    "sys::error",
    "sys::raw::forked",
    "sys::raw::mapping",
    "sys::raw::syscalls",
    "sys::raw::pagemap",
    "sys::raw::procmap",
    "sys::raw::uffd",
    "sys::raw",
    "sys::proc::maps",
    "sys::proc::elf",
    "sys::proc::process",
    "sys::proc::rss",
    "sys::proc::limits",
    "sys::proc::named",
    "sys::proc",
    "sys::contain::exit",
    "sys::contain::children",
    "sys::contain",
    "sys::map::request",
    "sys::map::region",
    "sys::map::calls",
    "sys::map::range",
    "sys::map",
    "sys::attach::handle",
    "sys::attach::locate",
    "sys::attach::paced",
    "sys::attach::foreign",
    "sys::attach",
    "sys::probe::state",
    "sys::probe::prober",
    "sys::probe::scan",
    "sys::probe::chunks",
    "sys::probe::look",
    "sys::probe::cells",
    "sys::probe::snapshot",
    "sys::probe",
    "sys::lab::experiments",
    "sys::lab",
    "sys::track::written",
    "sys::track::access",
    "sys::track",
    "sys::ops::op",
    "sys::ops::notes",
    "sys::ops::gate",
    "sys::ops::outcome",
    "sys::ops::on_mapping",
    "sys::ops::on_lab",
    "sys::ops::dump",
    "sys::ops::carry",
    "sys::ops",
    "sys",
    // Recordings: frames written to a file and read back (data and file I/O, no screen).
    "record",
    // Files we make, the pure core, the script language, lessons (parsing).
    "demo",
    "options",
    "search",
    "layout",
    "model",
    "action",
    "keys",
    "legend",
    "help_text",
    "update",
    "input",
    "script",
    // Results as data, the one path of every action (its lesson lecture on top).
    "report",
    "session",
    // The screen, the terminal, the command line.
    "ui",
    "app",
    "cli",
];

/// The room a source file belongs to: `sys::probe::state` for src/sys/probe/state.rs,
/// `sys::probe` for src/sys/probe/mod.rs, `ui` for anything under src/ui, `model` for
/// anything under src/model.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        [dir, rest @ ..] if dir == "sys" => {
            let mut room = vec!["sys"];
            room.extend(rest.iter().map(String::as_str).filter(|p| *p != "mod"));
            room.join("::")
        }
        [dir, ..] => dir.clone(),
        [] => unreachable!("a file has a name"),
    }
}

/// The room a path names: its longest prefix that is a room in `ORDER` (`sys::proc::maps` for
/// `sys::proc::maps::read_maps`), else its first segment (reported as not in ORDER).
fn room_of(segments: &[String]) -> Option<String> {
    let first = segments.first()?.clone();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|p| ORDER.contains(&p.as_str()))
        .or(Some(first))
}

/// An identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The paths a use tree spells from `s[*at..]` on, each as its segments after `base`:
/// `a::b::X`, and inside braces every item (`map::{region::Region, range::Mapped}`, nested too).
fn paths(base: &[String], s: &str, at: &mut usize, out: &mut Vec<Vec<String>>) {
    let mut segs = base.to_vec();
    loop {
        if s[*at..].starts_with('{') {
            *at += 1;
            loop {
                *at += s[*at..].len() - s[*at..].trim_start_matches([' ', ',']).len();
                if *at >= s.len() || s[*at..].starts_with('}') {
                    *at += 1;
                    return;
                }
                let before = *at;
                paths(&segs, s, at, out);
                if *at == before {
                    *at += s[*at..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        let name = ident(&s[*at..]);
        if name.is_empty() {
            break;
        }
        segs.push(name.to_string());
        *at += name.len();
        if !s[*at..].starts_with("::") {
            break;
        }
        *at += 2;
    }
    if segs.len() > base.len() {
        out.push(segs);
    }
}

/// The rooms a line of code names: `crate::x::...` (braces read), and `super::x` resolved from
/// `from`, the room the line is written in (`super::carry` in `sys::ops::gate` is
/// `sys::ops::carry`).
fn targets(line: &str, from: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        paths(&[], rest, &mut 0, &mut found);
    }
    let mut rest = line;
    while let Some(i) = rest.find("super::") {
        rest = &rest[i + "super::".len()..];
        let mut parent: Vec<String> = from.split("::").map(String::from).collect();
        parent.pop();
        if !parent.is_empty() && !rest.starts_with('*') {
            paths(&parent, rest, &mut 0, &mut found);
        }
    }
    found.iter().filter_map(|p| room_of(p)).collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every upward or sideways edge in the code of room `from` (before its tests), as
/// `line: from -> to`.
fn check_file(from: &str, text: &str) -> Vec<String> {
    let rank = |m: &str| ORDER.iter().position(|o| *o == m);
    let Some(from_rank) = rank(from) else {
        return vec![format!("module `{from}` is not in ORDER")];
    };
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        for to in targets(code, from) {
            if to == from || (from == "ui" && to == "ui") {
                continue;
            }
            match rank(&to) {
                Some(r) if r < from_rank => {}
                Some(_) => bad.push(format!(
                    "{}: `{from}` uses `{to}`, which is not below it",
                    n + 1
                )),
                None => bad.push(format!(
                    "{}: `{from}` uses `{to}`, which is not in ORDER",
                    n + 1
                )),
            }
        }
    }
    bad
}

/// Whether `file` is `tests.rs` and its parent module (`dir.rs` beside its folder, or the
/// folder's `mod.rs`) declares it only under `#[cfg(test)]`.
fn is_test_module(file: &Path) -> bool {
    if file.file_name().is_none_or(|n| n != "tests.rs") {
        return false;
    }
    let dir = file.parent().expect("a file is in a folder");
    let parents = [dir.with_extension("rs"), dir.join("mod.rs")];
    parents
        .iter()
        .any(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("#[cfg(test)]\nmod tests;")))
}

/// Every upward or sideways edge in `src/`, as `file:line: from -> to`.
fn violations() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for file in files {
        let from = module_of(&src, &file);
        // The binary's entry point sits above everything; lib.rs only declares modules.
        if from == "main" || from == "lib" {
            continue;
        }
        // A file of tests declared by its parent under `#[cfg(test)]` is test code, which may
        // import what it likes, as the tests inside a file may.
        if is_test_module(&file) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        for b in check_file(&from, &text) {
            bad.push(format!("{}:{b}", file.display()));
        }
    }
    bad
}

#[test]
fn every_crate_import_points_down() {
    let bad = violations();
    assert!(
        bad.is_empty(),
        "{} upward or unknown imports:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_checker_sees_an_upward_import() {
    // The checker itself: an edge from the model up into the screen is caught, one down
    // into sys is not, and braces inside `crate::sys::{...}` are read, nested too.
    assert_eq!(
        targets("use crate::ui::layout::Layout;", "model"),
        vec!["ui"]
    );
    assert_eq!(
        targets(
            "use crate::sys::{probe::prober::Prober, SysError};",
            "model"
        ),
        vec!["sys::probe::prober", "sys"]
    );
    assert_eq!(
        targets(
            "use crate::sys::map::{request::{MapMode, Prot}, region::Region, range::Mapped};",
            "sys::probe::look"
        ),
        vec![
            "sys::map::request",
            "sys::map::request",
            "sys::map::region",
            "sys::map::range"
        ]
    );
    assert_eq!(
        targets("use super::carry::Done;", "sys::ops::gate"),
        vec!["sys::ops::carry"]
    );
    assert_eq!(
        targets("use super::*;", "sys::ops::gate"),
        Vec::<String>::new()
    );
    let rank = |m: &str| ORDER.iter().position(|o| *o == m).unwrap();
    assert!(rank("ui") > rank("model"), "ui sits above the model");
    assert!(
        rank("model") < rank("action"),
        "the state knows nothing of actions"
    );
    assert!(
        rank("sys::ops::carry") < rank("action"),
        "sys knows nothing of actions"
    );
    // Inside a folder, a file below may not use one above it: the mapping knows nothing of
    // the probes, the /proc readers nothing of the mapping.
    let bad = check_file(
        "sys::map::region",
        "use crate::sys::probe::prober::Prober;\n",
    );
    assert_eq!(bad.len(), 1, "{bad:?}");
    let bad = check_file("sys::map::request", "use super::region::Region;\n");
    assert_eq!(bad.len(), 1, "{bad:?}");
    let bad = check_file("sys::proc::maps", "use super::limits::Asked;\n");
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(check_file("sys::proc::limits", "use super::maps::Vma;\n").is_empty());
}

/// Each folder of `sys` is one room: its files sit together in `ORDER`, the folder itself (its
/// `mod.rs`) right after them, so a file may use the files before it in its folder and the
/// rooms below the folder, nothing above.
#[test]
fn each_sys_folder_is_one_room() {
    let sys: Vec<&str> = ORDER
        .iter()
        .copied()
        .filter(|m| m.starts_with("sys::"))
        .collect();
    let folder = |m: &str| m.split("::").nth(1).unwrap_or("").to_string();
    let mut seen: Vec<String> = Vec::new();
    for pair in sys.windows(2) {
        let (a, b) = (folder(pair[0]), folder(pair[1]));
        if a != b {
            assert!(
                !seen.contains(&b),
                "folder `{b}` is split in ORDER at `{}`",
                pair[1]
            );
            seen.push(a);
        }
    }
    for m in &sys {
        let parts: Vec<&str> = m.split("::").collect();
        if parts.len() == 3 {
            let at = sys.iter().position(|x| x == m).unwrap();
            let dir = format!("sys::{}", parts[1]);
            let end = sys
                .iter()
                .position(|x| *x == dir)
                .expect("the folder is in ORDER");
            assert!(at < end, "`{m}` sits after its folder `{dir}`");
        }
    }
}

/// The repository stands on its own: no source, test, bench, lesson or document names a file
/// outside it (the team's design notes, "issue N" of a tracker) as if a reader had it.
#[test]
fn nothing_refers_to_files_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    for doc in ["README.md", "ARCHITECTURE.md", "CONTRIBUTING.md"] {
        files.push(root.join(doc));
    }
    let docs = std::fs::read_dir(root.join("docs")).expect("docs/");
    files.extend(docs.filter_map(|e| e.ok().map(|e| e.path())));
    assert!(
        files.len() > 150,
        "the sources and documents are read: {}",
        files.len()
    );
    if let Ok(lessons) = std::fs::read_dir(root.join("assets/lessons")) {
        files.extend(lessons.filter_map(|e| e.ok().map(|e| e.path())));
    }
    // Spelled in two halves so that this file does not name them itself.
    let outside = [
        format!("{}/{}", "shared", "design"),
        format!("{}/{}", "shared", "style"),
        format!("{}{}", "kernel-", "facts.md"),
        format!("{}{}", "design", ".md"),
        format!("{}{}", "style", ".md"),
    ];
    let mut found = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let issue = lower
                .match_indices("issue ")
                .any(|(i, _)| lower[i + 6..].starts_with(|c: char| c.is_ascii_digit()));
            if issue || outside.iter().any(|o| line.contains(o.as_str())) {
                found.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Inside `session/`, the three owners point down too, bottom first: the observer (and
/// `watch`, its paced /proc readings) knows nothing of the session or the runner; the session
/// proper (`mod.rs` with `subject`, `background` and `refresh`) nothing of the runner, which holds
/// a session; a lesson's lecture plays its steps through a runner and sits on top. `mod x;`
/// and `pub use` (what callers see) are not uses.
const SESSION_ROOMS: &[(&str, &[&str])] = &[
    ("watch", &["watch"]),
    ("observer", &["observer"]),
    ("session", &["mod", "subject", "background", "refresh"]),
    ("runner", &["runner"]),
    ("lecture", &["lecture"]),
];

/// The owner a file of `session/` (its stem) or an item named through `super::` belongs to:
/// an item `mod.rs` re-exports (`pub use runner::Runner`) is its file's; any other name that
/// is no file's is an item of `mod.rs`, the session proper.
fn session_room(name: &str, reexports: &[(String, usize)]) -> usize {
    if let Some((_, room)) = reexports.iter().find(|(item, _)| item == name) {
        return *room;
    }
    SESSION_ROOMS
        .iter()
        .position(|(_, files)| files.contains(&name))
        .unwrap_or(2)
}

/// The items `mod.rs` re-exports (`pub use x::{a, b};`), with the owner of the file they
/// come from.
fn session_reexports(mod_rs: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for line in mod_rs.lines() {
        let Some(path) = line.strip_prefix("pub use ") else {
            continue;
        };
        let Some((file, items)) = path.trim_end_matches(';').split_once("::") else {
            continue;
        };
        let room = session_room(file, &[]);
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            out.push((item.trim().to_string(), room));
        }
    }
    out
}

/// The owners a line of `session/` names: `super::x` (and `super::{x, y}`) from a file under
/// it, `x::` at the head of a `use` in `mod.rs`.
fn session_targets(line: &str, in_mod: bool, reexports: &[(String, usize)]) -> Vec<usize> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    if line.starts_with("pub use ") || line.starts_with("mod ") || line.starts_with("pub mod ") {
        return out;
    }
    let mut rest = line;
    while let Some(i) = rest.find("super::") {
        rest = &rest[i + "super::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = group.split('}').next().unwrap_or("");
                let rooms = group
                    .split(',')
                    .map(|i| session_room(&ident(i.trim()), reexports));
                out.extend(rooms);
            }
            None => out.push(session_room(&ident(rest), reexports)),
        }
    }
    if in_mod && let Some(path) = line.strip_prefix("use ") {
        let head = ident(path);
        if SESSION_ROOMS
            .iter()
            .any(|(_, f)| f.contains(&head.as_str()))
        {
            out.push(session_room(&head, reexports));
        }
    }
    out
}

#[test]
fn the_session_owners_point_down() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/session");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    files.sort();
    assert!(files.len() >= 4, "session/ holds its owners: {files:?}");
    let reexports =
        session_reexports(&std::fs::read_to_string(dir.join("mod.rs")).expect("mod.rs"));
    assert!(
        reexports
            .iter()
            .any(|(item, room)| item == "Runner" && *room == 3),
        "{reexports:?}"
    );
    let mut bad = Vec::new();
    for file in &files {
        let stem = file.file_stem().map(|s| s.to_string_lossy().to_string());
        let stem = stem.unwrap_or_default();
        let from = session_room(&stem, &[]);
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            for to in session_targets(code, stem == "mod", &reexports) {
                if to > from {
                    bad.push(format!(
                        "{}:{}: `{}` uses `{}`, which is above it",
                        file.display(),
                        n + 1,
                        SESSION_ROOMS[from].0,
                        SESSION_ROOMS[to].0
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_session_checker_sees_an_owner_reaching_up() {
    let rank = |name: &str| SESSION_ROOMS.iter().position(|(r, _)| *r == name).unwrap();
    let re = session_reexports(
        "pub use runner::{LineResult, Runner};\npub use background::SEARCH_SLICE;\n",
    );
    assert_eq!(re[1], ("Runner".to_string(), rank("runner")));
    // The observer naming the session, the session naming the runner: both above them.
    let at = |line: &str, in_mod: bool| session_targets(line, in_mod, &re);
    assert_eq!(at("use super::Session;", false), [rank("session")]);
    assert_eq!(at("use super::Runner;", false), [rank("runner")]);
    assert_eq!(
        at("use super::{Session, log_outcome};", false),
        [rank("session"), rank("session")]
    );
    assert_eq!(at("use super::watch::Watch;", false), [rank("watch")]);
    assert_eq!(at("use runner::Runner;", true), [rank("runner")]);
    // What callers see is not a use.
    assert!(at("pub use runner::{LineResult, Runner};", true).is_empty());
    assert!(at("mod runner;", true).is_empty());
    assert!(rank("observer") < rank("session") && rank("session") < rank("runner"));
}

/// All unchecked code is in one module, `sys::raw` (a file per thing it wraps): the crate
/// denies `unsafe_code`, `sys/raw/mod.rs` alone allows it, and no other source file holds an
/// `unsafe` block, function or impl.
#[test]
fn unsafe_code_lives_only_in_sys_raw() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let raw = src.join("sys").join("raw");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    let mut allows = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        if text.contains("allow(unsafe_code)") {
            allows.push(file.clone());
        }
        let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
        let uses = code.into_iter().any(|l| {
            l.contains("unsafe {") || l.contains("unsafe fn") || l.contains("unsafe impl")
        });
        if uses && !file.starts_with(&raw) {
            found.push(file.display().to_string());
        }
    }
    assert!(found.is_empty(), "unsafe outside sys/raw: {found:?}");
    assert_eq!(allows, [raw.join("mod.rs")], "the one allowance");
    for root in ["lib.rs", "main.rs"] {
        let text = std::fs::read_to_string(src.join(root)).expect("crate root");
        assert!(
            text.contains("#![deny(unsafe_code)]"),
            "{root} denies unsafe_code"
        );
    }
}
