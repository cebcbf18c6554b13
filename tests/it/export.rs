//! `export`: the page map and the address space as SVG (parsed as XML here, with roxmltree,
//! which refuses any control character XML 1.0 forbids), the screen as HTML. Pictures of a
//! fabricated model check the drawing (each cell's class and colour, the screen's text and
//! colours, hostile names escaped); batch runs on real temp files check what the kernel said
//! reaches the picture, and that the file goes through the write gate's rule for files of our
//! own (new, or `overwrite`; never mapped; never a non-regular file).

use std::path::Path;

use mmapscope::geometry::Geometry;
use mmapscope::model::{Model, PageMapData};
use mmapscope::session::Canvas;
use mmapscope::sys::map::request::{MapMode, Prot};
use mmapscope::sys::ops::op::{Export, ExportWhat};
use mmapscope::sys::probe::chunks::Bucket;
use mmapscope::sys::probe::snapshot::{Backing, Snapshot};
use mmapscope::sys::proc::maps::MapsLine;
use mmapscope::sys::proc::process::{VmaKind, VmaSummary};
use mmapscope::ui::export::{css, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;

use crate::common::{self, mmapscope};

const PS: u64 = 4096;

/// A model of a file mapping named `path`, `pages` pages, on a `size` terminal.
fn model(path: &str, pages: u64, size: (u16, u16), color: bool) -> Model {
    let backing = Backing::File {
        path: path.into(),
        writable: true,
        regular: true,
    };
    let geometry = Geometry {
        page_size: PS,
        offset: 0,
        len: pages * PS,
        file_size: Some(pages * PS),
    };
    let snap = Snapshot::empty(
        backing,
        MapMode::Shared,
        Prot::RW,
        0x7f3a_1c00_0000,
        geometry,
    );
    let mut m = Model::new(snap, size);
    m.settings.color = color;
    m
}

fn export(words: &[&str]) -> Export {
    Export::parse(words).expect("export words")
}

/// The picture as text, and parsed.
fn svg(m: &Model, words: &[&str], cells: &PageMapData) -> String {
    let canvas = Canvas {
        cells: cells.clone(),
        ..Canvas::default()
    };
    let (bytes, _) = draw(m, &export(words), &canvas).expect("drawn");
    String::from_utf8(bytes).expect("utf-8")
}

/// The classes of the page map's cells, in order (`<g class=...>` holding a cell's rect).
fn cell_classes(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("g") && n.children().any(|c| c.has_tag_name("rect")))
        .filter(|n| {
            n.children()
                .any(|c| c.has_tag_name("rect") && c.children().any(|t| t.has_tag_name("title")))
        })
        .map(|n| n.attribute("class").unwrap_or("").to_string())
        .collect()
}

/// The fill the SVG's style gives `class`.
fn fill_of(text: &str, class: &str) -> String {
    let rule = format!(".{class} {{ fill: ");
    let at = text.find(&rule).expect("a rule for the class") + rule.len();
    text[at..at + 7].to_string()
}

fn bucket(first: u64, resident: u64, present: u64, dirty: u64, cow: u64) -> Bucket {
    Bucket {
        first,
        pages: 1,
        resident: Some(resident),
        present: Some(present),
        dirty: Some(dirty),
        cow: Some(cow),
        beyond_eof: 0,
        evicted: Some(0),
    }
}

#[test]
fn a_page_maps_cells_carry_their_state_as_class_letter_and_colour() {
    let m = model("/tmp/f.bin", 7, (120, 40), true);
    let mut beyond = bucket(5, 0, 0, 0, 0);
    beyond.beyond_eof = 1;
    let mut unknown = bucket(6, 0, 0, 0, 0);
    unknown.resident = None;
    let cells = PageMapData {
        first: 0,
        per_cell: 1,
        buckets: vec![
            bucket(0, 1, 1, 1, 0),
            bucket(1, 1, 1, 0, 1),
            bucket(2, 1, 1, 0, 0),
            bucket(3, 1, 0, 0, 0),
            bucket(4, 0, 0, 0, 0),
            beyond,
            unknown,
        ],
    };
    let text = svg(&m, &["svg", "map", "m.svg"], &cells);
    let doc = roxmltree::Document::parse(&text).expect("the SVG is XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(
        cell_classes(&doc),
        [
            "dirty", "cow", "present", "resident", "cold", "beyond", "unknown"
        ]
    );
    // Colours are the theme's: dirty yellow, cow magenta, present cyan, resident green.
    use ratatui::style::Color;
    for (class, colour) in [
        ("dirty", Color::Yellow),
        ("cow", Color::Magenta),
        ("present", Color::Cyan),
        ("resident", Color::Green),
    ] {
        assert_eq!(fill_of(&text, class), css(colour).unwrap(), "{class}");
    }
    // Each cell says its counts; the legend names every state; the letters read on paper.
    assert!(text.contains("<title>pages 1-1: resident 1 present 1 dirty 0 cow 1 beyond 0</title>"));
    for word in [
        "beyond EOF",
        "copy-on-write",
        "dirty",
        "not in memory",
        "unknown",
    ] {
        assert!(text.contains(&format!(">{word}")), "legend lacks {word}");
    }
    let letters: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("l"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        &letters[..6],
        ["D", "C", "P", "R", "~", "?"],
        "cold has none"
    );
    assert!(
        text.contains("all 7 pages: resident ? "),
        "one unknown makes the sum unknown"
    );
}

#[test]
fn control_bytes_and_markup_in_names_are_escaped() {
    let hostile = "/tmp/a\u{1}b\u{1b}[31m<&>\"'\u{fffe}.bin";
    let m = model(hostile, 1, (80, 24), true);
    let cells = PageMapData {
        first: 0,
        per_cell: 1,
        buckets: vec![bucket(0, 0, 0, 0, 0)],
    };
    let text = svg(&m, &["svg", "map", "m.svg"], &cells);
    let doc = roxmltree::Document::parse(&text).expect("XML despite the name");
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .expect("a title");
    assert!(
        title.contains("a\\x01b\\x1b[31m<&>\"'\\u{fffe}.bin"),
        "title: {title}"
    );
    // The address space's rows: a maps path with a control byte (the kernel escapes only
    // the newline) and markup.
    let mut m = model("/tmp/f", 1, (80, 24), true);
    let line = |start: u64, path: &str| VmaSummary {
        line: MapsLine {
            start,
            end: start + PS,
            perms: "rw-p".into(),
            offset: 0,
            dev: 0,
            inode: 0,
            path: path.into(),
        },
        kind: VmaKind::File,
        rss: Some(PS),
        mem: None,
        label: None,
    };
    m.space.vmas = vec![line(0x1000, "/x/\u{7}bell</text>&.so")];
    let text = svg(&m, &["svg", "space", "s.svg"], &PageMapData::default());
    let doc = roxmltree::Document::parse(&text).expect("XML despite the path");
    assert!(
        doc.descendants()
            .filter_map(|n| n.text())
            .any(|t| t == "file · /x/\\x07bell</text>&.so"),
        "{text}"
    );
    let (html, _) = draw(
        &model(hostile, 1, (80, 24), true),
        &export(&["html", "h"]),
        &Canvas::default(),
    )
    .expect("html");
    let html = String::from_utf8(html).expect("utf-8");
    assert!(
        !html.bytes().any(|b| b < 0x20 && b != b'\n'),
        "a raw control byte"
    );
    assert!(html.contains("a\\x01b\\x1b[31m&lt;&amp;&gt;"));
}

/// `s`'s text: tags dropped, entities read.
fn unhtml(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[test]
fn html_holds_the_screens_text_and_colours() {
    for color in [true, false] {
        let m = model("/tmp/demo.txt", 4, (80, 24), color);
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| mmapscope::ui::render(&m, f)).unwrap();
        let buffer = t.backend().buffer().clone();
        let (html, holds) =
            draw(&m, &export(&["html", "h.html"]), &Canvas::default()).expect("html");
        assert_eq!(holds, "the screen, 80x24 cells");
        let html = String::from_utf8(html).expect("utf-8");
        let pre = &html[html.find("<pre").unwrap()..html.find("</pre>").unwrap()];
        let pre = &pre[pre.find('>').unwrap() + 1..];
        let rows: Vec<String> = (0..24)
            .map(|y| (0..80).map(|x| buffer[(x, y)].symbol()).collect())
            .collect();
        assert_eq!(unhtml(pre).lines().collect::<Vec<_>>(), rows);
        // The header's name, cyan and bold as Role::Title; in mono, bold without colour.
        let title = if color {
            "<span style=\"color:#00cdcd;font-weight:bold;\"> mmapscope </span>"
        } else {
            "<span style=\"font-weight:bold;\"> mmapscope </span>"
        };
        assert!(html.contains(title), "{color}: {}", &pre[..400]);
        // In mono the only colours are the reversed cursor's: the page's own two, swapped.
        let mono = pre
            .replace("color:#1c1c1c;background:#d0d0d0;", "")
            .replace("color:#d0d0d0;background:#1c1c1c;", "");
        assert_eq!(
            mono.contains("color:"),
            color,
            "colour only when the screen has it"
        );
    }
}

#[test]
fn the_address_space_is_drawn_in_the_views_order_up_to_its_bound() {
    let mut m = model("/tmp/f", 1, (120, 40), true);
    m.space.vmas = (0..600u64)
        .map(|i| VmaSummary {
            line: MapsLine {
                start: 0x1000 * (i + 1),
                end: 0x1000 * (i + 2),
                perms: "r--p".into(),
                offset: 0,
                dev: 0,
                inode: 0,
                path: format!("/lib/l{i}.so"),
            },
            kind: VmaKind::Library,
            rss: Some(PS / 2),
            mem: None,
            label: None,
        })
        .collect();
    m.space.view.order = (0..600).rev().collect();
    let (bytes, holds) =
        draw(&m, &export(&["svg", "space", "s"]), &Canvas::default()).expect("drawn");
    assert_eq!(holds, "the address space, 500 of 600 VMAs");
    let text = String::from_utf8(bytes).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("XML");
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.is_element())
        .filter_map(|n| n.text())
        .filter(|t| t.starts_with("library · "))
        .collect();
    assert_eq!(names.len(), 500);
    assert_eq!(names[0], "library · /lib/l599.so", "the view's order");
    assert!(text.contains("… and 100 more VMAs"));
    // Half of each VMA resident: its coloured bar is half its grey one.
    let row = doc.descendants().find(|n| n.has_tag_name("g")).unwrap();
    let widths: Vec<u64> = row
        .children()
        .filter(|c| c.has_tag_name("rect"))
        .map(|c| c.attribute("width").unwrap().parse().unwrap())
        .collect();
    assert_eq!(widths.len(), 2);
    assert_eq!(widths[1] * 2, widths[0]);
    // The screen is not drawn as SVG, nor the page map as HTML.
    let mut wrong = export(&["html", "x"]);
    wrong.what = Some(ExportWhat::PageMap);
    assert!(draw(&m, &wrong, &Canvas::default()).is_err());
}

/// Runs `script` (absolute paths) on `file` with `--write`; one JSON value per line.
fn batch(dir: &Path, file: &Path, script: &str) -> Vec<Value> {
    let script = common::script(dir, script);
    let out = common::run(mmapscope(&[
        "batch".as_ref(),
        "--write".as_ref(),
        file.as_os_str(),
        script.as_os_str(),
    ]));
    common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn the_page_map_svg_shows_what_the_kernel_says_of_a_real_file() {
    let tmp = common::temp_dir();
    let file = common::clean_file(tmp.path(), 8);
    let out = tmp.path().join("map.svg");
    let lines = batch(
        tmp.path(),
        &file,
        &format!("write 0x2000 41\nexport svg map {}\n", out.display()),
    );
    assert_eq!(lines[1]["ok"], true, "{}", lines[1]);
    let text = std::fs::read_to_string(&out).expect("written");
    assert_eq!(lines[1]["result"]["bytes"], text.len() as u64);
    let doc = roxmltree::Document::parse(&text).expect("XML");
    let classes = cell_classes(&doc);
    assert_eq!(classes.len(), 8, "a cell a page");
    // The one page written is dirty (clean_file makes single-page folios); no other is.
    for (page, class) in classes.iter().enumerate() {
        assert_eq!(class == "dirty", page == 2, "page {page}: {class}");
    }
}

#[test]
fn a_1_tib_sparse_file_gives_4096_cells_of_65536_pages() {
    let tmp = common::temp_dir();
    let file = tmp.path().join("huge.bin");
    std::fs::File::create(&file)
        .and_then(|f| f.set_len(1 << 40))
        .expect("a sparse file");
    let out = tmp.path().join("huge.svg");
    let lines = batch(
        tmp.path(),
        &file,
        &format!("export svg {}\n", out.display()),
    );
    assert_eq!(lines[0]["ok"], true, "{}", lines[0]);
    assert_eq!(
        lines[0]["result"]["holds"],
        "the page map, 4,096 cells of 65,536 pages (64 a row)"
    );
    let text = std::fs::read_to_string(&out).expect("written");
    let doc = roxmltree::Document::parse(&text).expect("XML");
    let classes = cell_classes(&doc);
    assert_eq!(classes.len(), 4096);
    assert!(
        classes.iter().all(|c| c == "cold"),
        "nothing of it is in memory"
    );
}

#[test]
fn an_export_writes_only_a_new_file_or_one_it_may_replace() {
    let tmp = common::temp_dir();
    let file = common::clean_file(tmp.path(), 2);
    let old = tmp.path().join("old.svg");
    std::fs::write(&old, "keep").unwrap();
    let fifo = tmp.path().join("fifo");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .expect("mkfifo");
    let script = format!(
        "export svg {old}\nexport html {fifo} overwrite\nexport svg {data} overwrite\n\
         export svg space {old} overwrite\n",
        old = old.display(),
        fifo = fifo.display(),
        data = file.display(),
    );
    let lines = batch(tmp.path(), &file, &script);
    let errno = |v: &Value| v["error"].as_str().unwrap_or("").to_string();
    assert!(errno(&lines[0]).starts_with("EEXIST"), "{}", lines[0]);
    assert!(errno(&lines[0]).contains("add `overwrite`"));
    assert!(errno(&lines[1]).starts_with("EINVAL"), "{}", lines[1]);
    assert!(errno(&lines[2]).starts_with("EPERM"), "{}", lines[2]);
    assert!(errno(&lines[2]).contains("never writes a mapped file"));
    // The mapped file is as it was: pages of dots.
    let data = std::fs::read(&file).unwrap();
    assert!(data.iter().all(|&b| b == b'.'), "the mapped file changed");
    assert_eq!(lines[3]["ok"], true, "{}", lines[3]);
    let text = std::fs::read_to_string(&old).unwrap();
    roxmltree::Document::parse(&text).expect("the replaced file is the SVG");
    assert!(text.contains("address space"));
}

/// `C` in the grid, then `words` typed at its prompt.
fn c_then(m: &mut Model, words: &str) {
    use mmapscope::action::{Action, GridAction, PromptEdit};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let ctx = mmapscope::input::KeyContext::of_model(m);
    let c = KeyEvent::new(KeyCode::Char('C'), KeyModifiers::SHIFT);
    let action = mmapscope::input::map_key(ctx, c).expect("C is a key of the grid");
    mmapscope::update::update(m, action);
    for ch in words.chars() {
        mmapscope::update::update(m, Action::Grid(GridAction::Prompt(PromptEdit::Insert(ch))));
    }
}

#[test]
fn c_asks_what_and_the_file_and_enter_asks_for_the_export() {
    use mmapscope::action::{Action, Command, GridAction, Op, PromptEdit};
    let mut m = model("/tmp/demo.txt", 4, (80, 24), false);
    c_then(&mut m, "svg space /tmp/s.svg overwrite");
    let commands =
        mmapscope::update::update(&mut m, Action::Grid(GridAction::Prompt(PromptEdit::Submit)));
    let op = commands
        .into_iter()
        .find_map(|c| match c {
            Command::Exec { op, .. } => Some(op),
            _ => None,
        })
        .expect("an operation");
    let Op::Export(e) = op else {
        panic!("not an export: {op:?}")
    };
    assert_eq!(e.what, Some(ExportWhat::Space));
    assert!(e.overwrite);
    assert_eq!(e.path, Path::new("/tmp/s.svg"));
}

fn prompt_screen(size: (u16, u16)) -> String {
    let mut m = model("/tmp/demo.txt", 4, size, false);
    c_then(&mut m, "svg map /tmp/slide.svg");
    let mut t = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
    t.draw(|f| mmapscope::ui::render(&m, f)).unwrap();
    format!("{}", t.backend())
}

#[test]
fn export_prompt_80x24() {
    insta::assert_snapshot!(prompt_screen((80, 24)));
}

#[test]
fn export_prompt_120x40() {
    insta::assert_snapshot!(prompt_screen((120, 40)));
}

/// The pages of `[start, end)` present in `pid`'s page tables (its pagemap, bit 63).
fn present_pages(pid: u32, start: u64, end: u64) -> Vec<bool> {
    use std::os::unix::fs::FileExt as _;
    let f = std::fs::File::open(format!("/proc/{pid}/pagemap")).expect("open pagemap");
    let mut buf = vec![0u8; ((end - start) / PS * 8) as usize];
    f.read_exact_at(&mut buf, start / PS * 8)
        .expect("read pagemap");
    buf.chunks(8)
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")) & (1 << 63) != 0)
        .collect()
}

#[test]
fn with_pid_the_map_is_the_childs_vma_and_nothing_is_faulted_in() {
    use mmapscope::action::{Action, Op};
    use mmapscope::session::Session;
    mmapscope::session::set_painter(draw);
    let tmp = common::temp_dir();
    let file = common::clean_file(tmp.path(), 64);
    let writer = common::Writer::start(&file, 6);
    let name = file.to_str().expect("utf-8");
    let (start, end) = common::vma_range(writer.pid, name);
    let before = present_pages(writer.pid, start, end);
    let mut session =
        Session::attach(writer.pid, Some(name), false, false, (120, 40)).expect("attach");
    let map = tmp.path().join("child.svg");
    let space = tmp.path().join("space.svg");
    for (what, out) in [("map", &map), ("space", &space)] {
        let op = Op::Export(export(&["svg", what, out.to_str().unwrap()]));
        let outcomes = session.act(Action::Do(op));
        assert!(
            outcomes[0].result.is_ok(),
            "{what}: {:?}",
            outcomes[0].result
        );
    }
    assert_eq!(
        present_pages(writer.pid, start, end),
        before,
        "nothing faulted in"
    );
    let text = std::fs::read_to_string(&map).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("XML");
    let classes = cell_classes(&doc);
    assert_eq!(classes.len(), 64);
    for page in &writer.pages {
        let class = &classes[*page as usize];
        assert!(
            class == "dirty" || class == "present",
            "page {page} written: {class}"
        );
    }
    for (page, present) in before.iter().enumerate() {
        let drawn = matches!(classes[page].as_str(), "dirty" | "present" | "cow");
        assert_eq!(drawn, *present, "page {page}: {}", classes[page]);
    }
    let text = std::fs::read_to_string(&space).unwrap();
    roxmltree::Document::parse(&text).expect("XML");
    assert!(
        text.contains(&format!("file · {name}")),
        "the child's file mapping is drawn"
    );
    assert!(text.contains(&format!("pid {}", writer.pid)));
}

/// `diff`'s JSON for a mapping of 8 pages: pages 1-2 became dirty and present, page 4 stopped
/// being resident, page 6's bytes changed; a new VMA with a control byte in its name.
fn fabricated_diff() -> Value {
    serde_json::json!({
        "mark": {"address": "0x7f3a1c000000", "pages": 8, "clock": "10:21:03", "age_ms": 12000},
        "summary": {
            "became": {"present": 2, "resident": 0, "dirty": 2, "cow": 0, "exclusive": 0},
            "stopped": {"present": 0, "resident": 1, "dirty": 0, "cow": 0, "exclusive": 0},
            "bytes_changed_pages": 1
        },
        "pages": [
            {"first": 1, "count": 2, "changed": ["+present", "+dirty"],
             "became": ["present", "dirty"], "stopped": []},
            {"first": 4, "count": 1, "changed": ["-resident"], "became": [],
             "stopped": ["resident"]},
            {"first": 6, "count": 1, "changed": ["bytes"], "became": [], "stopped": [],
             "bytes_changed": 3}
        ],
        "vmas": [
            {"change": "new", "path": "/x/\u{1}new<", "then": null,
             "now": {"start": "0x1000", "end": "0x3000"},
             "rss_delta": 8192, "pss_delta": 4096, "swap_delta": 0},
            {"change": "gone", "path": "[stack:9]", "then": {"start": "0x5000", "end": "0x6000"},
             "now": null, "rss_delta": -4096, "pss_delta": null, "swap_delta": 0}
        ]
    })
}

#[test]
fn the_diff_svg_draws_each_cell_by_what_changed_and_lists_the_vmas() {
    let m = model("/tmp/f.bin", 8, (120, 40), true);
    let canvas = Canvas {
        diff: Some(fabricated_diff()),
        ..Canvas::default()
    };
    let (bytes, holds) = draw(&m, &export(&["svg", "diff", "d.svg"]), &canvas).expect("drawn");
    assert_eq!(holds, "the diff, 4 of 8 cells changed, 2 VMAs changed");
    let text = String::from_utf8(bytes).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("XML");
    assert_eq!(
        cell_classes(&doc),
        [
            "same", "became", "became", "same", "stopped", "same", "bytes", "same"
        ]
    );
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.is_element())
        .filter_map(|n| n.text())
        .collect();
    assert!(texts.contains(&"pages 1-1: +dirty +present"), "{texts:?}");
    assert!(
        texts.contains(&"/x/\\x01new<"),
        "the name escaped: {texts:?}"
    );
    assert!(texts.contains(&"+8K") && texts.contains(&"-4K") && texts.contains(&"?"));
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("mmapscope · since the mark at 10:21:03 (12 s ago)"))
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("became: present 2  resident 0  dirty 2"))
    );
    // Gained and lost states are told apart by colour as on screen, and by letter on paper.
    assert_ne!(fill_of(&text, "became"), fill_of(&text, "stopped"));
    let letters: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("l"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(&letters[..4], ["+", "+", "-", "b"]);
}

#[test]
fn the_diff_svg_of_a_real_write_is_what_diff_says() {
    let tmp = common::temp_dir();
    let file = common::clean_file(tmp.path(), 8);
    let out = tmp.path().join("diff.svg");
    let none = tmp.path().join("none.svg");
    let lines = batch(
        tmp.path(),
        &file,
        &format!(
            "export svg diff {none}\nmark\nwrite 0x2000 41\nexport svg {out}\ndiff\n",
            none = none.display(),
            out = out.display()
        ),
    );
    assert!(
        lines[0]["error"].as_str().unwrap_or("").contains("no mark"),
        "{}",
        lines[0]
    );
    assert!(!none.exists(), "nothing written without a mark");
    assert_eq!(lines[3]["ok"], true, "{}", lines[3]);
    assert_eq!(
        lines[3]["result"]["call"],
        format!("export svg diff to {}", out.display())
    );
    let text = std::fs::read_to_string(&out).expect("written");
    let doc = roxmltree::Document::parse(&text).expect("XML");
    let classes = cell_classes(&doc);
    assert_eq!(classes.len(), 8);
    // The cells that changed are exactly the pages `diff` lists, and page 2 is among them.
    let mut listed = [false; 8];
    for run in lines[4]["result"]["pages"].as_array().expect("pages") {
        let first = run["first"].as_u64().unwrap();
        for p in first..first + run["count"].as_u64().unwrap() {
            listed[p as usize] = true;
        }
    }
    assert!(listed[2], "{}", lines[4]);
    for (page, class) in classes.iter().enumerate() {
        assert_eq!(class != "same", listed[page], "page {page}: {class}");
    }
}
