//! Pictures to take away (`export`): the page map and the address-space view as SVG, for
//! slides and handouts, and the screen as HTML with its colours. Drawn from the model and from
//! the cells the session read for the picture (`PageMapData`): this never calls the kernel. The
//! colours are the theme's (`Theme::style`), so a picture matches the screen, and every state
//! is also a letter or a word, so it reads in grey on paper. Every name the kernel or the user
//! gave (a file name, a maps path) is escaped twice: control characters as `\xNN`
//! (`text::sanitize`; XML 1.0 allows no C0 control at all, not even as `&#1;`), then `&<>"'`.

mod diff;

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

use crate::model::{Model, PageMapData};
use crate::session::{Canvas, MAP_COLS};
use crate::sys::ops::op::{Export, ExportFormat, ExportWhat};
use crate::sys::probe::chunks::Bucket;
use crate::sys::probe::snapshot::Backing;
use crate::sys::proc::process::VmaKind;
use crate::text::{human, sanitize, thousands};

use super::theme::{Role, Theme};

/// Most VMAs drawn in the address space's picture (in the view's order); a slide holds far
/// fewer, and a 30,000-VMA process would give a 10 MB file nobody can read.
pub const SPACE_ROWS: usize = 500;

/// Side of a page-map cell, and height of a line of text, in SVG user units (pixels).
const CELL: u64 = 14;
const LINE: u64 = 18;
/// Left margin (row labels of the page map, addresses of the space).
const LEFT: u64 = 96;

/// The palette of pictures: the colour theme's, whatever the terminal's (a slide has colour).
const THEME: Theme = Theme {
    color: true,
    high_contrast: false,
};

/// What `export` writes for `export` (its `what` chosen by the session, `canvas` what it read
/// for it): the document and a few words of what it holds, for the log.
///
/// # Errors
/// A picture the format does not draw (the screen as SVG, the page map as HTML).
pub fn draw(model: &Model, export: &Export, canvas: &Canvas) -> Result<(Vec<u8>, String), String> {
    let what = export.what.unwrap_or(ExportWhat::PageMap);
    let (text, holds) = match (export.format, what) {
        (ExportFormat::Svg, ExportWhat::PageMap) => page_map_svg(model, &canvas.cells),
        (ExportFormat::Svg, ExportWhat::Space) => space_svg(model),
        (ExportFormat::Svg, ExportWhat::Diff) => match &canvas.diff {
            Some(diff) => diff::diff_svg(model, diff),
            None => return Err("nothing to compare: no diff was read".into()),
        },
        (ExportFormat::Html, ExportWhat::Screen) => html_screen(model),
        (ExportFormat::Svg, ExportWhat::Screen) | (ExportFormat::Html, _) => {
            return Err(format!(
                "{} is not drawn as {}: export svg map|space FILE, or export html FILE \
                 (the screen)",
                what.word(),
                if export.format == ExportFormat::Svg {
                    "SVG"
                } else {
                    "HTML"
                }
            ));
        }
    };
    Ok((text.into_bytes(), holds))
}

/// `s` for XML text or an attribute: control characters as `\xNN`, then the five entities.
pub fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in sanitize(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not characters in XML 1.0 either (and not controls to `sanitize`).
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// A colour as CSS: the xterm palette for the sixteen named ones (what most terminals show).
pub fn css(color: Color) -> Option<String> {
    let hex = match color {
        Color::Reset => return None,
        Color::Black => "#000000",
        Color::Red => "#cd0000",
        Color::Green => "#00a000",
        Color::Yellow => "#cdcd00",
        Color::Blue => "#0000ee",
        Color::Magenta => "#cd00cd",
        Color::Cyan => "#00cdcd",
        Color::Gray => "#e5e5e5",
        Color::DarkGray => "#7f7f7f",
        Color::LightRed => "#ff0000",
        Color::LightGreen => "#00ff00",
        Color::LightYellow => "#ffff00",
        Color::LightBlue => "#5c5cff",
        Color::LightMagenta => "#ff00ff",
        Color::LightCyan => "#00ffff",
        Color::White => "#ffffff",
        Color::Rgb(r, g, b) => return Some(format!("#{r:02x}{g:02x}{b:02x}")),
        Color::Indexed(i) => return Some(indexed(i)),
    };
    Some(hex.into())
}

/// xterm's 256-colour palette: 16 named, a 6x6x6 cube, 24 greys.
fn indexed(i: u8) -> String {
    const NAMED: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    match i {
        0..=15 => css(NAMED[usize::from(i)]).unwrap_or_default(),
        16..=231 => {
            let n = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            let (r, g, b) = (level(n / 36), level(n / 6 % 6), level(n % 6));
            format!("#{r:02x}{g:02x}{b:02x}")
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

/// The fill of a role in pictures: its background where it has one (a cell drawn reversed),
/// else its colour, grey if none; mmapscope's own mapping, black on cyan on screen, in orange
/// here (a bar has no letters to set it apart from a library's).
fn fill(role: Role) -> String {
    if role == Role::OurMapping {
        return "#ff8700".into();
    }
    let style = THEME.style(role);
    style
        .bg
        .or(style.fg)
        .and_then(css)
        .unwrap_or_else(|| "#bdbdbd".into())
}

/// The page map's cell classes: letter, class, legend word and role, as the page map draws
/// them (`minimap::cell`).
const CLASSES: [(char, &str, &str, Role); 7] = [
    ('~', "beyond", "beyond EOF", Role::BeyondEof),
    ('C', "cow", "copy-on-write", Role::Cow),
    ('D', "dirty", "dirty", Role::Dirty),
    (
        'P',
        "present",
        "present (in our page tables)",
        Role::Present,
    ),
    (
        'R',
        "resident",
        "resident (page cache only)",
        Role::Resident,
    ),
    ('·', "cold", "not in memory", Role::NotResident),
    ('?', "unknown", "unknown at this size", Role::Dim),
];

/// The class of a cell's letter.
fn class_of(letter: char) -> (&'static str, Role) {
    CLASSES
        .iter()
        .find(|c| c.0 == letter)
        .map_or(("unknown", Role::Dim), |c| (c.1, c.3))
}

/// The mapping's name as the header gives it: the file's last component, `[anonymous]`, or the
/// VMA explored.
fn subject_name(model: &Model) -> String {
    match (&model.space.looking, &model.snap.shape.backing) {
        (Some(l), _) => format!("{} {}", l.process, l.vma),
        (None, Backing::Anon) => "[anonymous]".into(),
        (None, Backing::File { path, .. }) => path.rsplit('/').next().unwrap_or(path).into(),
    }
}

/// `<svg …>` with a white background, a `<style>` of the classes given, and a title line.
fn svg_open(out: &mut String, width: u64, height: u64, style: &str, title: &str) {
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans Mono, Menlo, monospace\" \
         font-size=\"12\">\n<title>{title}</title>\n<style>\n{style}</style>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n\
         <text x=\"12\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{title}</text>\n"
    );
}

/// The whole mapping as cells of pages, by state: `cells` is what the session read (every cell
/// of the mapping, `MAP_COLS` a row), with a legend, the counts and each cell's own counts as
/// its tooltip.
fn page_map_svg(model: &Model, cells: &PageMapData) -> (String, String) {
    let per = cells.per_cell.max(1);
    let n = cells.buckets.len() as u64;
    let rows = n.div_ceil(MAP_COLS).max(1);
    let top = 48;
    let legend_y = top + rows * CELL + 24;
    let (width, height) = (
        LEFT + MAP_COLS * CELL + 24,
        legend_y + LEGEND_ROWS * LINE + 12,
    );
    let mut style = String::new();
    for (_, class, _, role) in CLASSES {
        // Not in memory and unknown read as blanks on paper: light grey, white outlined.
        let paint = match role {
            Role::NotResident => "#e8e8e8".into(),
            Role::Dim => "#ffffff; stroke: #999999".into(),
            _ => fill(role),
        };
        let _ = writeln!(style, ".{class} {{ fill: {paint}; }}");
    }
    style.push_str("text.l { font-size: 9px; text-anchor: middle; fill: #000000; }\n");
    let title = xml_text(&format!(
        "mmapscope · page map · {} · {} of {} · a cell is {}",
        subject_name(model),
        crate::ui::pages_word(model.pages()),
        human(model.page_size()),
        crate::ui::pages_word(per),
    ));
    let mut out = String::new();
    let width = width_for(width, &title);
    svg_open(&mut out, width, height, &style, &title);
    row_labels(&mut out, rows, cells.first, per, top);
    let always_dirty = model.snap.always_dirty;
    for (i, b) in cells.buckets.iter().enumerate() {
        cell_svg(&mut out, i as u64, b, always_dirty, top);
    }
    let total = sum(&cells.buckets);
    legend_svg(&mut out, legend_y, &total);
    out.push_str("</svg>\n");
    let holds = format!(
        "the page map, {} cells of {} ({MAP_COLS} a row)",
        thousands(n),
        crate::ui::pages_word(per)
    );
    (out, holds)
}

/// Each row's first page, right-aligned left of the cells, under the word `page`.
fn row_labels(out: &mut String, rows: u64, first: u64, per: u64, top: u64) {
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\">page</text>",
        LEFT - 6,
        top - 4
    );
    for row in 0..rows {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\">{}</text>",
            LEFT - 6,
            top + row * CELL + 11,
            thousands(first + row * MAP_COLS * per)
        );
    }
}

/// One cell: its rectangle in its state's class, its letter, its counts as a tooltip.
fn cell_svg(out: &mut String, i: u64, b: &Bucket, always_dirty: bool, top: u64) {
    let (letter, _) = super::minimap::cell(b, always_dirty);
    let (class, _) = class_of(letter);
    let (x, y) = (LEFT + (i % MAP_COLS) * CELL, top + (i / MAP_COLS) * CELL);
    let n = |v: Option<u64>| v.map_or_else(|| "?".into(), thousands);
    let last = b.first + b.pages.max(1) - 1;
    let _ = write!(
        out,
        "<g class=\"{class}\"><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{w}\" \
         stroke=\"#ffffff\"><title>pages {}-{}: resident {} present {} dirty {} cow {} \
         beyond {}</title></rect>",
        thousands(b.first),
        thousands(last),
        n(b.resident),
        n(b.present),
        n(b.dirty),
        n(b.cow),
        thousands(b.beyond_eof),
        w = CELL,
    );
    if letter != '·' {
        let _ = write!(
            out,
            "<text class=\"l\" x=\"{}\" y=\"{}\">{letter}</text>",
            x + CELL / 2,
            y + CELL - 4
        );
    }
    out.push_str("</g>\n");
}

/// The buckets added up (a count any of them lacks is `None`).
fn sum(buckets: &[Bucket]) -> Bucket {
    let mut total = Bucket::EMPTY;
    for b in buckets {
        total.add_counts(b);
        total.pages += b.pages;
        total.beyond_eof += b.beyond_eof;
    }
    total
}

/// One legend entry at `(x, y)` (the text's baseline): the class's swatch with its letter, and
/// the word beside it. The page map's and the diff's legends share it.
fn swatch(out: &mut String, (x, y): (u64, u64), class: &str, letter: char, word: &str) {
    let _ = writeln!(
        out,
        "<g class=\"{class}\"><rect x=\"{x}\" y=\"{}\" width=\"{CELL}\" height=\"{CELL}\"/>\
         <text class=\"l\" x=\"{}\" y=\"{}\">{}</text></g>\
         <text x=\"{}\" y=\"{y}\">{}</text>",
        y - 11,
        x + CELL / 2,
        y - 1,
        xml_text(&letter.to_string()),
        x + CELL + 6,
        xml_text(word),
    );
}

/// The legend (each class's swatch, letter and word, four a row) and the counts over the
/// whole mapping, from `y` on (`LEGEND_ROWS` lines).
fn legend_svg(out: &mut String, y: u64, total: &Bucket) {
    for (i, (letter, class, word, _)) in CLASSES.iter().enumerate() {
        let (x, y) = (12 + (i as u64 % 4) * 250, y + (i as u64 / 4) * LINE);
        let letter = if *letter == '·' { ' ' } else { *letter };
        swatch(out, (x, y), class, letter, word);
    }
    let n = |v: Option<u64>| v.map_or_else(|| "?".into(), thousands);
    let _ = writeln!(
        out,
        "<text x=\"12\" y=\"{}\">all {}: resident {}  present {}  dirty {}  cow {}  beyond EOF \
         {}</text>",
        y + 2 * LINE + 6,
        crate::ui::pages_word(total.pages),
        n(total.resident),
        n(total.present),
        n(total.dirty),
        n(total.cow),
        thousands(total.beyond_eof),
    );
}

/// Lines the legend and the counts take.
const LEGEND_ROWS: u64 = 3;

/// Width of a picture: `least`, or more where the title (16 px, about 10 px a character)
/// needs it.
fn width_for(least: u64, title: &str) -> u64 {
    least.max(24 + 10 * title.chars().count() as u64)
}

/// The VMAs of the address space in the view's order (its filter too), up to `SPACE_ROWS`:
/// address, permissions, size, Rss, a bar of the size (log-scaled as the view's) filled as far
/// as it is resident, in its kind's colour, and the name with its kind.
fn space_svg(model: &Model) -> (String, String) {
    let space = &model.space;
    // The view's order once it has one; before the view was opened, every VMA by address.
    let order: Vec<usize> = match (space.view.order.is_empty(), space.view.filter.is_empty()) {
        (false, _) => space.view.order.clone(),
        (true, true) => (0..space.vmas.len()).collect(),
        (true, false) => Vec::new(),
    };
    let shown = order.len().min(SPACE_ROWS);
    let largest = space
        .vmas
        .iter()
        .map(|v| v.line.end - v.line.start)
        .max()
        .unwrap_or(1);
    let top = 72;
    let height = top + (shown as u64 + 2 + KIND_ROWS) * LINE + 12;
    let title = xml_text(&format!(
        "mmapscope · address space · {} · sorted by {}{}",
        space.title,
        space.view.sort.title(),
        if space.view.filter.is_empty() {
            String::new()
        } else {
            format!(" · filter \"{}\"", space.view.filter)
        }
    ));
    let mut out = String::new();
    let width = width_for(SPACE_NAME_X + 560, &title);
    svg_open(
        &mut out,
        width,
        height,
        ".rest { fill: #e0e0e0; }\n",
        &title,
    );
    let heads = [
        (12, "start", "address"),
        (SPACE_PERM_X, "start", "perm"),
        (SPACE_SIZE_X, "end", "size"),
        (SPACE_RSS_X, "end", "Rss"),
        (SPACE_BAR_X, "start", "bar"),
        (SPACE_NAME_X, "start", "kind · name"),
    ];
    for (x, anchor, word) in heads {
        let _ = writeln!(
            out,
            "<text x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\" font-weight=\"bold\">{word}</text>",
            top - 18
        );
    }
    for (row, &i) in order.iter().take(shown).enumerate() {
        let Some(v) = space.vmas.get(i) else { continue };
        let y = top + row as u64 * LINE;
        vma_svg(&mut out, v, largest, y);
    }
    if order.len() > shown {
        let _ = writeln!(
            out,
            "<text x=\"12\" y=\"{}\">… and {} more VMAs (filter the view, /, to draw them)</text>",
            top + shown as u64 * LINE + 14,
            thousands((order.len() - shown) as u64)
        );
    }
    kinds_svg(&mut out, top + (shown as u64 + 2) * LINE);
    out.push_str("</svg>\n");
    let holds = format!(
        "the address space, {} of {} VMAs",
        thousands(shown as u64),
        thousands(space.vmas.len() as u64)
    );
    (out, holds)
}

/// The kinds' colours, five a row, and what a bar means.
const KINDS: [(VmaKind, &str); 10] = [
    (VmaKind::Program, "program"),
    (VmaKind::Library, "library"),
    (VmaKind::Heap, "heap, malloc arena"),
    (VmaKind::Stack, "stack, thread stack"),
    (VmaKind::Anonymous, "anonymous"),
    (VmaKind::Shmem, "shared memory"),
    (VmaKind::File, "file"),
    (VmaKind::Ours, "mmapscope's mapping"),
    (VmaKind::Kernel, "kernel (vdso…)"),
    (VmaKind::Guard, "guard, reserved"),
];
/// Lines the kinds' legend takes.
const KIND_ROWS: u64 = 3;

/// The legend of the address space's picture, from `y` on.
fn kinds_svg(out: &mut String, y: u64) {
    let _ = writeln!(
        out,
        "<text x=\"12\" y=\"{y}\">a bar is the VMA's size (log scale, as the view's), \
         coloured as far as it is resident (Rss), grey beyond</text>"
    );
    for (i, (kind, word)) in KINDS.iter().enumerate() {
        let (x, y) = (12 + (i as u64 % 5) * 200, y + (1 + i as u64 / 5) * LINE);
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"{CELL}\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{y}\">{}</text>",
            y - 10,
            fill(super::space::kind_role(*kind)),
            x + CELL + 6,
            xml_text(word),
        );
    }
}

/// Columns of the address space's picture (x of each column's left, or right for figures).
const SPACE_PERM_X: u64 = 140;
const SPACE_SIZE_X: u64 = 220;
const SPACE_RSS_X: u64 = 270;
const SPACE_BAR_X: u64 = 284;
/// A bar's unit: the view's longest bar is 16 columns.
const SPACE_BAR_UNIT: u64 = 12;
const SPACE_NAME_X: u64 = SPACE_BAR_X + 16 * SPACE_BAR_UNIT + 12;

/// One VMA's line of the address space's picture: each column its own `<text>`, so that no
/// renderer's spacing moves one over another.
fn vma_svg(out: &mut String, v: &crate::sys::proc::process::VmaSummary, largest: u64, y: u64) {
    let size = v.line.end - v.line.start;
    let len = super::space::bar_len(size, largest) * SPACE_BAR_UNIT;
    let solid = match v.rss {
        Some(rss) if size > 0 => {
            u64::try_from(u128::from(len) * u128::from(rss.min(size)) / u128::from(size))
                .unwrap_or(len)
        }
        _ => 0,
    };
    let rss = v.rss.map_or_else(|| "?".into(), super::space::short);
    let name = [
        v.kind.word(),
        v.line.path.as_str(),
        v.label.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .filter(|w| !w.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    let _ = writeln!(
        out,
        "<g><title>0x{:x}-0x{:x} {} Rss {rss}</title>\
         <text x=\"12\" y=\"{y}\">{:x}</text>\
         <text x=\"{SPACE_PERM_X}\" y=\"{y}\">{}</text>\
         <text x=\"{SPACE_SIZE_X}\" y=\"{y}\" text-anchor=\"end\">{}</text>\
         <text x=\"{SPACE_RSS_X}\" y=\"{y}\" text-anchor=\"end\">{rss}</text>\
         <rect x=\"{SPACE_BAR_X}\" y=\"{}\" width=\"{len}\" height=\"12\" class=\"rest\"/>\
         <rect x=\"{SPACE_BAR_X}\" y=\"{}\" width=\"{solid}\" height=\"12\" fill=\"{}\"/>\
         <text x=\"{SPACE_NAME_X}\" y=\"{y}\">{}</text></g>",
        v.line.start,
        v.line.end,
        human(size),
        v.line.start,
        xml_text(&v.line.perms),
        super::space::short(size),
        y - 10,
        y - 10,
        fill(super::space::kind_role(v.kind)),
        xml_text(&name),
    );
}

/// The screen as the terminal shows it now, as HTML: `ui::render` into a buffer of the
/// terminal's size, each run of cells of one style a `<span>` with its colours.
fn html_screen(model: &Model) -> (String, String) {
    let (w, h) = model.screen.size;
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h))
        .expect("a test backend always opens");
    let _ = terminal.draw(|frame| super::render(model, frame));
    let buffer = terminal.backend().buffer().clone();
    let title = xml_text(&format!("mmapscope · {}", subject_name(model)));
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"background:#1c1c1c\">\n<pre style=\"font-family:'DejaVu Sans Mono',\
         Menlo,monospace;font-size:14px;line-height:1.2;color:#d0d0d0;background:#1c1c1c;\
         display:inline-block;padding:8px\">"
    );
    for y in 0..h {
        html_row(&mut out, &buffer, y);
        out.push('\n');
    }
    out.push_str("</pre>\n</body></html>\n");
    (out, format!("the screen, {w}x{h} cells"))
}

/// One row of the buffer: runs of one style as spans (unstyled runs as bare text).
fn html_row(out: &mut String, buffer: &Buffer, y: u16) {
    let mut run = String::new();
    let mut style: Option<Style> = None;
    // Cells hidden under the wide character before (ratatui leaves a blank there).
    let mut hidden = 0;
    for x in 0..buffer.area.width {
        if hidden > 0 {
            hidden -= 1;
            continue;
        }
        let cell = &buffer[(x, y)];
        let symbol = cell.symbol();
        hidden = ratatui::text::Span::raw(symbol).width().saturating_sub(1);
        let s = cell.style();
        if style.is_some_and(|now| now != s) {
            span(out, style.take().unwrap_or_default(), &run);
            run.clear();
        }
        style = Some(s);
        run.push_str(symbol);
    }
    span(out, style.unwrap_or_default(), &run);
}

/// `text` in `style`: colours (reversed where asked), bold, dim, italic, underlined.
fn span(out: &mut String, style: Style, text: &str) {
    if text.is_empty() {
        return;
    }
    let mods = style.add_modifier;
    let (mut fg, mut bg) = (style.fg.and_then(css), style.bg.and_then(css));
    if mods.contains(Modifier::REVERSED) {
        (fg, bg) = (
            Some(bg.unwrap_or_else(|| "#1c1c1c".into())),
            Some(fg.unwrap_or_else(|| "#d0d0d0".into())),
        );
    }
    let mut css_text = String::new();
    if let Some(fg) = fg {
        let _ = write!(css_text, "color:{fg};");
    }
    if let Some(bg) = bg {
        let _ = write!(css_text, "background:{bg};");
    }
    for (m, decl) in [
        (Modifier::BOLD, "font-weight:bold;"),
        (Modifier::DIM, "opacity:0.6;"),
        (Modifier::ITALIC, "font-style:italic;"),
        (Modifier::UNDERLINED, "text-decoration:underline;"),
    ] {
        if mods.contains(m) {
            css_text.push_str(decl);
        }
    }
    let text = xml_text(text);
    if css_text.is_empty() {
        out.push_str(&text);
    } else {
        let _ = write!(out, "<span style=\"{css_text}\">{text}</span>");
    }
}
