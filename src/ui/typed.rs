//! The grid's other views (`T`): rows of typed values in the hex rows' columns (a u64 that
//! points into a VMA marked `→` and named in the text column), text with escapes, the
//! printable runs of the page under the cursor, the machine code from the cursor; and the
//! inspector: the value under the cursor in every type, and what it points to. Pure: values
//! come from the bytes the last refresh read, pointers from the maps it read.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::geometry::ByteKind;
use crate::model::values::{cell, inspect, unsigned};
use crate::model::{Model, ViewKind};
use crate::text::byte_char;

use super::theme::{Role, Theme};

/// What stands in a cell whose bytes were not all read, as the hex grid says it: `~` beyond
/// end of file, `.` left unread (looking changes nothing), `?` a copy that failed.
fn missing(model: &Model, at: u64) -> (char, Role) {
    let ps = model.page_size();
    if model.snap.shape.geometry.byte_kind(at) == ByteKind::BeyondEof {
        ('~', Role::BeyondEof)
    } else if model.snap.probed.bytes.unread.contains(&(at / ps)) {
        ('.', Role::Dim)
    } else {
        ('?', Role::Unreadable)
    }
}

/// One row of a typed or text view: the offset, the elements in the hex columns, then the
/// text column (in u64 and i64: the name of the row's first pointer, where there is one).
pub fn row(model: &Model, off: u64, theme: Theme, data_role: Role) -> Line<'static> {
    let t = model.screen.typed;
    let kind = t.kind;
    let s = kind.size();
    let bpr = model.bytes_per_row();
    let digits = usize::from(model.offset_digits());
    let mut spans = Vec::with_capacity(2 * bpr as usize / s as usize + 4);
    spans.push(Span::styled(
        format!("{:0digits$x}  ", model.label_base() + off),
        theme.style(Role::Dim),
    ));
    let width = 3 * s as usize - 1;
    let cursor = model.doc.cursor - model.doc.cursor % s;
    let mut named = None;
    for at in (off..off + bpr).step_by(s as usize) {
        let bytes = model.bytes_at(at, s);
        let (mut text, mut role) = if bytes.len() as u64 == s {
            (cell(kind, &bytes, t.big_endian(), width), data_role)
        } else {
            let (c, role) = missing(model, at + bytes.len() as u64);
            (c.to_string().repeat(width.min(2 * s as usize)), role)
        };
        if matches!(kind, ViewKind::U64 | ViewKind::I64) && bytes.len() == 8 {
            let v = unsigned(&bytes, t.big_endian());
            if let Some(p) = model.name_pointer(v) {
                text = format!("→{text}");
                role = Role::Key;
                named.get_or_insert(p);
            }
        }
        if (at..at + s).any(|o| model.edited(o)) {
            role = Role::Edited;
        }
        let mut style = theme.style(role);
        if at == cursor {
            style = style.patch(theme.style(Role::Cursor));
        }
        spans.push(Span::styled(format!("{text:>width$}"), style));
        let end = at + s - off;
        spans.push(Span::raw(if end.is_multiple_of(8) && end < bpr {
            "  "
        } else {
            " "
        }));
    }
    spans.push(Span::raw(" "));
    let room = bpr as usize;
    let text: String = match named {
        Some(p) => crate::text::echo_within(&p.label(), room),
        None => (off..off + bpr)
            .map(|o| model.snap.probed.bytes.get(o).map_or(' ', byte_char))
            .collect(),
    };
    spans.push(Span::styled(text, theme.style(Role::Dim)));
    Line::from(spans)
}

/// The code view's lines: an instruction a row from the cursor (its address in the row
/// labels' coordinates, its bytes, the instruction, where a jump goes).
pub fn code(model: &Model, width: u16, rows: u64, theme: Theme) -> Vec<Line<'static>> {
    if let Some(why) = crate::model::values::unsupported() {
        return vec![Line::styled(why, theme.style(Role::Warning))];
    }
    let insns = model.code_rows(rows);
    if insns.is_empty() {
        return vec![not_read(model, theme)];
    }
    let digits = usize::from(model.offset_digits());
    let avail = usize::from(width).saturating_sub(digits + 2);
    // Bytes shown a row: as many as leave the instruction its room.
    let shown = if avail >= 64 { 10 } else { 5 };
    insns
        .iter()
        .map(|i| {
            let mut hex: Vec<String> = i
                .bytes
                .iter()
                .take(shown)
                .map(|b| format!("{b:02x}"))
                .collect();
            if i.bytes.len() > shown {
                hex.push("…".into());
            }
            let hex = format!("{:<w$}", hex.join(" "), w = 3 * shown + 1);
            let mut text = i.text.clone();
            if let Some(p) = i.goes_to().and_then(|t| model.name_pointer(t)) {
                text = format!("{text} {}", p.label());
            }
            let role = if i.offset == model.doc.cursor {
                Role::Cursor
            } else {
                Role::Normal
            };
            let room = avail.saturating_sub(hex.chars().count() + 1);
            Line::from(vec![
                Span::styled(
                    format!("{:0digits$x}  ", model.label_base() + i.offset),
                    theme.style(Role::Dim),
                ),
                Span::styled(hex, theme.style(Role::Dim)),
                Span::raw(" "),
                Span::styled(crate::text::echo_within(&text, room), theme.style(role)),
            ])
        })
        .collect()
}

/// Why there is nothing to show at the cursor: its page was left unread, or not read yet.
fn not_read(model: &Model, theme: Theme) -> Line<'static> {
    let page = model.doc.cursor / model.page_size();
    let why = if model.snap.probed.bytes.unread.contains(&page) {
        "the bytes at the cursor are left unread: their page is not present (reading it \
         would fault it in, and looking changes nothing)"
    } else {
        "the bytes at the cursor are not read (beyond end of file, or not yet probed)"
    };
    Line::styled(why, theme.style(Role::Dim))
}

/// The strings view's lines: the page's runs, the one at the cursor selected and in view.
pub fn strings(model: &Model, width: u16, rows: u64, theme: Theme) -> Vec<Line<'static>> {
    let ps = model.page_size();
    let page = model.doc.cursor / ps;
    let runs = model.page_runs();
    let unread = (page * ps..(page + 1) * ps)
        .filter(|&o| model.snap.probed.bytes.get(o).is_none())
        .count();
    let mut head = format!(
        "page {page}: {} runs of {}+ printable bytes",
        runs.len(),
        crate::model::MIN_RUN
    );
    if unread > 0 {
        head.push_str(&format!(" ({unread} B not read)"));
    }
    let mut lines = vec![Line::styled(head, theme.style(Role::Title))];
    let c = model.doc.cursor;
    let selected = runs
        .iter()
        .rposition(|r| r.offset <= c)
        .filter(|&i| c < runs[i].offset + runs[i].text.len() as u64);
    let room = usize::try_from(rows.saturating_sub(1)).unwrap_or(0).max(1);
    let first = selected.map_or(0, |i| (i + 1).saturating_sub(room));
    let digits = usize::from(model.offset_digits());
    let text_room = usize::from(width).saturating_sub(digits + 4);
    for (i, r) in runs.iter().enumerate().skip(first).take(room) {
        let style = if Some(i) == selected {
            theme.style(Role::Cursor)
        } else {
            theme.style(Role::Normal)
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:0digits$x}  ", model.label_base() + r.offset),
                theme.style(Role::Dim),
            ),
            Span::styled(crate::text::echo_within(&r.text, text_room), style),
        ]));
    }
    lines
}

/// The grid block's title word for the view: `u64 LE`, `code`, ... (`None` for bytes).
pub fn title(model: &Model) -> Option<String> {
    let t = model.screen.typed;
    match t.kind {
        ViewKind::Bytes => None,
        k if k.numeric() => Some(format!("{} {}", k.word(), t.order())),
        k => Some(k.word().to_string()),
    }
}

/// Draws the inspector: the value at the cursor in every type, packed into its lines in
/// reading order (what does not fit is cut, and says so with `…`), and where a u64 points.
pub fn inspector(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    let t = model.screen.typed;
    let c = model.doc.cursor;
    let bytes = model.bytes_at(c, 8);
    let mut segments: Vec<(String, String, Role)> = vec![(
        format!("0x{:x}", model.label_base() + c),
        t.order().to_string(),
        Role::Title,
    )];
    for (label, value) in inspect(&bytes, t.big_endian()) {
        segments.push((label.to_string(), value, Role::Normal));
        if label == "u64"
            && let Some(p) = model.pointer_at(c)
        {
            segments.push((String::new(), p.label(), Role::Key));
        }
    }
    if bytes.len() < 8 {
        let (ch, _) = missing(model, c + bytes.len() as u64);
        let why = match ch {
            '~' => "beyond end of file",
            '.' => "left unread: page not present",
            _ => "not read",
        };
        segments.push((
            String::new(),
            format!("(bytes from +{}: {why})", bytes.len()),
            Role::Dim,
        ));
    }
    let width = usize::from(area.width);
    let rows = usize::from(area.height);
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0usize;
    for (label, value, role) in segments {
        let len = label.chars().count() + usize::from(!label.is_empty()) + value.chars().count();
        let gap = if used == 0 { 1 } else { 2 };
        if used + gap + len > width {
            if lines.len() == rows {
                if let Some(l) = lines.last_mut() {
                    l.push(Span::raw("…"));
                }
                break;
            }
            lines.push(Vec::new());
            used = 0;
        }
        let line = lines.last_mut().expect("one line at least");
        line.push(Span::raw(if used == 0 { " " } else { "  " }));
        if !label.is_empty() {
            line.push(Span::styled(format!("{label} "), theme.style(Role::Dim)));
        }
        line.push(Span::styled(value, theme.style(role)));
        used += if used == 0 { 1 } else { 2 } + len;
    }
    let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(text), area);
}
