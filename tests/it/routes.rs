//! Every message has a route the compiler checks: in `src/update/`, no `match` over a message
//! enum (`Action`, `Event`, `Msg` and each feature's `...Action`, as `src/action.rs` declares
//! them) has a wildcard arm (`_` or a bare binding), so each variant is listed and a new one
//! does not compile until it is routed; and every variant of those enums is named there.

use std::path::Path;

/// The message enums `src/action.rs` declares, with their variants.
fn message_enums(action_rs: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = action_rs;
    while let Some(at) = rest.find("pub enum ") {
        let after = &rest[at + "pub enum ".len()..];
        let name: String = after.chars().take_while(|c| c.is_alphanumeric()).collect();
        let open = after.find('{').expect("an enum has a body");
        let close = matching(after, open).expect("its body closes");
        let body = &after[open + 1..close];
        rest = &after[close..];
        if !(name == "Action" || name == "Event" || name == "Msg" || name.ends_with("Action")) {
            continue;
        }
        let variants = top_level_pieces(&strip(body), ',')
            .into_iter()
            .filter_map(|v| {
                let v = v.trim();
                let ident: String = v.chars().take_while(|c| c.is_alphanumeric()).collect();
                (!ident.is_empty()).then_some(ident)
            })
            .collect();
        out.push((name, variants));
    }
    out
}

/// `text` with comments, strings and char literals blanked (same length, so offsets and line
/// numbers stay).
pub(crate) fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        let blank_to = |out: &mut Vec<u8>, from: usize, to: usize| {
            for c in out.iter_mut().take(to).skip(from) {
                if *c != b'\n' {
                    *c = b' ';
                }
            }
        };
        if b[i..].starts_with(b"//") {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            blank_to(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank_to(&mut out, i + 1, j);
            i = j + 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('x', '"', '\n', '\''); a lifetime has no closing quote.
            let end = text[i + 2..].find('\'').map_or(b.len(), |n| i + 2 + n);
            blank_to(&mut out, i + 1, end);
            i = end + 1;
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8 where it cuts nothing but ASCII")
}

/// The index of the bracket closing the one at `open`.
pub(crate) fn matching(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` cut at `sep` where no bracket is open.
fn top_level_pieces(text: &str, sep: char) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Each `match` of `code` (stripped): the line it starts on and its arms' patterns.
fn matches_in(code: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(n) = code[from..].find("match ") {
        let at = from + n;
        from = at + 6;
        let word_start =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if !word_start {
            continue;
        }
        // The scrutinee ends at the first `{` outside brackets.
        let mut depth = 0i32;
        let mut open = None;
        for (i, c) in code[from..].char_indices() {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                '{' if depth == 0 => {
                    open = Some(from + i);
                    break;
                }
                _ => {}
            }
        }
        let Some(open) = open else { continue };
        let Some(close) = matching(code, open) else {
            continue;
        };
        out.push((
            code[..at].matches('\n').count() + 1,
            arms(&code[open + 1..close]),
        ));
    }
    out
}

/// The patterns of a match body's arms (guards included).
fn arms(body: &str) -> Vec<String> {
    let mut pats = Vec::new();
    let mut pos = 0;
    let b = body.as_bytes();
    loop {
        while pos < b.len() && (b[pos].is_ascii_whitespace() || b[pos] == b',') {
            pos += 1;
        }
        if pos >= b.len() {
            break;
        }
        // The pattern runs to `=>` outside brackets.
        let mut depth = 0i32;
        let mut arrow = None;
        let mut i = pos;
        while i + 1 < b.len() {
            match b[i] {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'=' if depth == 0 && b[i + 1] == b'>' => {
                    arrow = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let Some(arrow) = arrow else { break };
        pats.push(body[pos..arrow].trim().to_string());
        // The arm's body: a block, or an expression up to a `,` outside brackets.
        let mut j = arrow + 2;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < b.len() && b[j] == b'{' {
            j = matching(body, j).map_or(b.len(), |c| c + 1);
        } else {
            let mut depth = 0i32;
            while j < b.len() {
                match b[j] {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth -= 1,
                    b',' if depth == 0 => break,
                    _ => {}
                }
                j += 1;
            }
        }
        pos = j;
    }
    pats
}

/// A pattern that takes whatever is left: `_`, or a bare binding, with or without a guard.
fn is_wildcard(pattern: &str) -> bool {
    let head = pattern.split(" if ").next().unwrap_or(pattern).trim();
    head == "_"
        || (head
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// The wildcard arms of matches over message enums in `code`, as `line: pattern`.
fn wildcard_routes(code: &str, enums: &[(String, Vec<String>)]) -> Vec<String> {
    let names: Vec<String> = enums.iter().map(|(n, _)| format!("{n}::")).collect();
    let is_message = |p: &str| {
        names.iter().any(|n| {
            p.match_indices(n.as_str())
                .any(|(i, _)| i == 0 || !p.as_bytes()[i - 1].is_ascii_alphanumeric())
        })
    };
    let mut bad = Vec::new();
    for (line, pats) in matches_in(code) {
        if pats.iter().any(|p| is_message(p)) {
            for p in pats.iter().filter(|p| is_wildcard(p)) {
                bad.push(format!("line {line}: `{p} =>`"));
            }
        }
    }
    bad
}

/// The code of a file before its `#[cfg(test)]` module (tests may match what they like).
fn code_of(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at])
}

#[test]
fn every_message_has_a_route_the_compiler_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let action_rs = std::fs::read_to_string(root.join("src/action.rs")).expect("src/action.rs");
    let enums = message_enums(&action_rs);
    let names: Vec<&str> = enums.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "Action",
        "Event",
        "Msg",
        "GridAction",
        "PageMapAction",
        "SearchAction",
    ] {
        assert!(names.contains(&want), "{want} not found among {names:?}");
    }
    let mut code = String::new();
    let mut bad = Vec::new();
    let dir = root.join("src/update");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("src/update")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let stripped = strip(code_of(&text));
        for b in wildcard_routes(&stripped, &enums) {
            bad.push(format!("{}: {b}", file.display()));
        }
        code.push_str(&stripped);
    }
    assert!(
        bad.is_empty(),
        "wildcard arms over message enums (list the variants, so the compiler sees a new \
         one):\n{}",
        bad.join("\n")
    );
    // Each variant is named in a route (a wildcard-free match lists them all).
    let mut unrouted = Vec::new();
    for (name, variants) in &enums {
        for v in variants {
            let path = format!("{name}::{v}");
            if !code.contains(&path) {
                unrouted.push(path);
            }
        }
    }
    assert!(
        unrouted.is_empty(),
        "variants with no route in src/update/: {unrouted:?}"
    );
}

#[test]
fn the_route_checker_sees_a_wildcard() {
    let enums = message_enums(
        "pub enum PageMapAction { Open, Move(CellMove), Zoom(bool) }\n\
         pub enum Overlay { None, Help }",
    );
    assert_eq!(enums.len(), 1, "only message enums: {enums:?}");
    assert_eq!(enums[0].1, ["Open", "Move", "Zoom"]);
    let wild = "fn f(a: PageMapAction) {\n    match a {\n        PageMapAction::Open => {}\n        \
                _ => {}\n    }\n}\n";
    assert_eq!(wildcard_routes(wild, &enums), ["line 2: `_ =>`"]);
    let bound = "match a { PageMapAction::Zoom(z) if z => g(), other => f(other), }";
    assert_eq!(wildcard_routes(bound, &enums), ["line 1: `other =>`"]);
    // A wildcard over something else (an overlay, an outcome) is no route of a message.
    let other = "match o { Overlay::Help => 1, _ => 0 }";
    assert!(wildcard_routes(other, &enums).is_empty());
    let listed = "match a { PageMapAction::Open | PageMapAction::Zoom(_) => {}\n \
                  PageMapAction::Move(m) => { match m { _ => {} } } }";
    assert!(
        wildcard_routes(&strip(listed), &enums).is_empty(),
        "`_` inside a variant and a match over a cell move are fine"
    );
    assert_eq!(
        strip("a // _ =>\nb \"_ =>\" '\"'"),
        "a        \nb \"    \" ' '"
    );
}
