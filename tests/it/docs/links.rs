//! Every link between the documents resolves (the file, and the heading when one is named),
//! the README leads to every document, and none names a file outside the repository.

use super::{GUIDE, JSON, LAB, README, SCRIPTS, doc, documents, root};

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of `text` outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The anchors of `text`'s headings.
fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .into_iter()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

/// The targets of the Markdown links `[..](target)` in `text`'s prose.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let Some(end) = tail.find(')') else { break };
            out.push(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    out
}

#[test]
fn every_link_between_the_docs_resolves() {
    let docs = documents();
    for name in [
        "README.md",
        "ARCHITECTURE.md",
        "CONTRIBUTING.md",
        GUIDE,
        LAB,
        SCRIPTS,
        JSON,
    ] {
        assert!(docs.contains(&root().join(name)), "{name} is missing");
    }
    assert!(docs.contains(&root().join("docs/benchmarks.md")));
    let mut broken = Vec::new();
    let mut checked = 0;
    for from in &docs {
        let text = std::fs::read_to_string(from).expect("a document");
        for target in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let to = if file.is_empty() {
                from.clone()
            } else {
                from.parent().expect("a directory").join(file)
            };
            checked += 1;
            let Ok(to_text) = std::fs::read_to_string(&to) else {
                broken.push(format!("{}: {target} (no such file)", from.display()));
                continue;
            };
            if !fragment.is_empty() && !anchors(&to_text).iter().any(|a| a == fragment) {
                broken.push(format!("{}: {target} (no such heading)", from.display()));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    assert!(
        checked >= 10,
        "the documents link to each other: {checked} links"
    );
    // The README leads to every other document.
    let readme_links = links(&doc(README));
    for d in &docs {
        let rel = d.strip_prefix(root()).expect("in the repository");
        let rel = rel.to_str().expect("a UTF-8 name");
        assert!(
            rel == README
                || readme_links
                    .iter()
                    .any(|l| l.split('#').next() == Some(rel)),
            "README.md does not link to {rel}"
        );
    }
}
