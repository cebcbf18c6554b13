//! The crate's layering (`src/lib.rs` draws it), kept true: every `crate::` path in `src/` points to a
//! module lower in `ORDER` than the module it is written in. A new upward import (the core
//! reaching into the screen, `sys` into the actions) fails this test, naming the file and line.
//!
//! Within `sys/` each submodule is a room of its own; `ui/` is one room; tests inside a file
//! (`#[cfg(test)]` and below) may import what they like.

use std::path::{Path, PathBuf};

/// The allowed order, bottom first: a module may use only modules before it.
const ORDER: &[&str] = &[
    // Leaf helpers.
    "text",
    "geometry",
    // The kernel: errors, the unsafe shims, the mapping, /proc, probes, the operations.
    "sys::error",
    "sys::raw",
    "sys::children",
    "sys::procmaps",
    "sys::limits",
    "sys::region",
    "sys::process",
    "sys::handle",
    "sys::mapped",
    "sys::vma",
    "sys::probe",
    "sys::look",
    "sys::cells",
    "sys::snapshot",
    "sys::ops",
    "sys::lab",
    "sys::notes",
    "sys::gate",
    "sys::exec",
    "sys",
    // Files we make, the pure core, the script language, lessons (parsing).
    "demo",
    "options",
    "find",
    "action",
    "keys",
    "legend",
    "layout",
    "model",
    "update",
    "keymap",
    "script",
    "lesson",
    // Results as data, the one path of every action, the lesson player.
    "report",
    "seek",
    "session",
    "player",
    // The screen, the terminal, the command line.
    "ui",
    "app",
    "cli",
];

/// The room a source file belongs to: `sys::probe` for src/sys/probe.rs, `ui` for anything
/// under src/ui, `model` for src/model.rs.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        [dir, file] if dir == "sys" && file == "mod" => "sys".into(),
        [dir, file] if dir == "sys" => format!("sys::{file}"),
        [dir, ..] => dir.clone(),
        [] => unreachable!("a file has a name"),
    }
}

const SYS_ROOMS: &[&str] = &[
    "error", "raw", "children", "procmaps", "limits", "region", "process", "handle", "mapped",
    "vma", "probe", "cells", "snapshot", "ops", "lab", "notes", "exec",
];

/// The rooms a line of code names: `crate::x::...` (and, inside `sys`, `super::x`).
fn targets(line: &str, in_sys: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name == "sys" {
            let after = &rest["sys".len()..];
            let sub = after.strip_prefix("::").and_then(|a| {
                let n: String = a
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                SYS_ROOMS.contains(&n.as_str()).then_some(n)
            });
            match sub {
                Some(n) => out.push(format!("sys::{n}")),
                None => out.push("sys".into()),
            }
            // Paths inside braces: `crate::sys::{probe::Prober, region::Region}`.
            if let Some(group) = after.strip_prefix("::{") {
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    let n = item.trim().split("::").next().unwrap_or("");
                    if SYS_ROOMS.contains(&n) && item.contains("::") {
                        out.push(format!("sys::{n}"));
                    }
                }
            }
        } else if !name.is_empty() {
            out.push(name);
        }
    }
    if in_sys {
        let mut rest = line;
        while let Some(i) = rest.find("super::") {
            rest = &rest[i + "super::".len()..];
            let n: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if SYS_ROOMS.contains(&n.as_str()) {
                out.push(format!("sys::{n}"));
            }
        }
    }
    out
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

/// Every upward or sideways edge in `src/`, as `file:line: from -> to`.
fn violations() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let rank = |m: &str| ORDER.iter().position(|o| *o == m);
    let mut bad = Vec::new();
    for file in files {
        let from = module_of(&src, &file);
        // The binary's entry point sits above everything; lib.rs only declares modules.
        if from == "main" || from == "lib" {
            continue;
        }
        let Some(from_rank) = rank(&from) else {
            bad.push(format!(
                "{}: module `{from}` is not in ORDER",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            for to in targets(code, from.starts_with("sys")) {
                if to == from || (from == "ui" && to == "ui") {
                    continue;
                }
                match rank(&to) {
                    Some(r) if r < from_rank => {}
                    Some(_) => bad.push(format!(
                        "{}:{}: `{from}` uses `{to}`, which is not below it",
                        file.display(),
                        n + 1
                    )),
                    None => bad.push(format!(
                        "{}:{}: `{from}` uses `{to}`, which is not in ORDER",
                        file.display(),
                        n + 1
                    )),
                }
            }
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
    // into sys is not, and braces inside `crate::sys::{...}` are read.
    assert_eq!(targets("use crate::ui::layout::Layout;", false), vec!["ui"]);
    assert_eq!(
        targets("use crate::sys::{probe::Prober, SysError};", false),
        vec!["sys", "sys::probe"]
    );
    assert_eq!(targets("use super::exec::Done;", true), vec!["sys::exec"]);
    assert_eq!(
        targets("use super::exec::Done;", false),
        Vec::<String>::new()
    );
    let rank = |m: &str| ORDER.iter().position(|o| *o == m).unwrap();
    assert!(rank("ui") > rank("model"), "ui sits above the model");
    assert!(
        rank("sys::exec") < rank("action"),
        "sys knows nothing of actions"
    );
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
    files.push(root.join("README.md"));
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
/// proper (`mod.rs` with `subject`, `jobs` and `refresh`) nothing of the runner, which holds
/// a session and sits on top. `mod x;` and `pub use` (what callers see) are not uses.
const SESSION_ROOMS: &[(&str, &[&str])] = &[
    ("watch", &["watch"]),
    ("observer", &["observer"]),
    ("session", &["mod", "subject", "jobs", "refresh"]),
    ("runner", &["runner"]),
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
    let re =
        session_reexports("pub use runner::{LineResult, Runner};\npub use jobs::SEARCH_SLICE;\n");
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
