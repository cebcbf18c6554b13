//! The hex grid: a header line per page with its kernel states in words, then rows of offset,
//! hex bytes and text. Padding after end of file is dimmed and marked, pages beyond end of file
//! show `~~` (never read), bytes that could not be copied show `??`, and bytes left unread so
//! that looking changes nothing show `..`: a page of ours not in memory at all (reading it
//! would be disk I/O), a page of a VMA we did not map that is not present there.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::geometry::ByteKind;
use crate::model::{Focus, Model, ViewKind};
use crate::sys::probe::snapshot::VisiblePage;
use crate::text::{byte_char, thousands};

use super::theme::{Role, Theme};

/// Draws the grid block into `area`.
pub fn render(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    let cursor_page = model.doc.cursor / model.page_size();
    // The cursor page's states in letters, so they stay in view when its header scrolls away.
    let mut letters: Vec<String> = state_words(model, cursor_page)
        .into_iter()
        .map(|w| w.short)
        .collect();
    // The cursor in the row labels' coordinates (file offsets, or addresses after `v`), the
    // ones `:` takes.
    let at = model.label_base() + model.doc.cursor;
    // Whole states only: those that do not fit on the border become `…`.
    let view = super::typed::title(model).map_or_else(String::new, |v| format!(" {v} ·"));
    let title_of = |letters: &[String]| {
        format!(
            "{view} cursor 0x{at:x} (page {cursor_page}: {}) ",
            letters.join(" ")
        )
    };
    let room = usize::from(area.width.saturating_sub(2));
    let mut cut = false;
    while title_of(&letters).chars().count() > room && letters.pop().is_some() {
        cut = true;
    }
    if cut {
        letters.push("…".into());
    }
    let title = title_of(&letters);
    let title_role = if model.screen.focus == Focus::Grid {
        Role::Focused
    } else {
        Role::Title
    };
    let mut block = Block::bordered().title(Span::styled(title, theme.style(title_role)));
    if let Some(line) = mark_line(model, room) {
        block = block.title_bottom(Span::styled(line, theme.style(Role::Became)));
    }
    let inner = block.inner(area);
    let h = u64::from(inner.height);
    let kind = model.screen.typed.kind;
    let lines: Vec<Line> = match kind {
        ViewKind::Code => super::typed::code(model, inner.width, h, theme),
        ViewKind::Strings => super::typed::strings(model, inner.width, h, theme),
        _ => (model.doc.top..(model.doc.top + h).min(model.total_lines()))
            .map(|line| match model.line_content(line) {
                (page, None) => page_header(model, page, inner.width, theme),
                (_, Some(off)) if kind == ViewKind::Bytes => row(model, off, theme),
                (page, Some(off)) => super::typed::row(model, off, theme, page_role(model, page)),
            })
            .collect(),
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The mark line on the grid's bottom border: its age, the pages changed since it, and how to
/// re-mark or drop it; the longest form that fits `room` columns. `None` without a mark.
fn mark_line(model: &Model, room: usize) -> Option<String> {
    let mark = model.time.mark.as_deref()?;
    // In a replay the mark is a frame: its age on the wall clock says nothing of the recording.
    let (age, ago) = match model.time.replay.as_ref().and_then(|r| Some((r, r.mark?))) {
        Some((r, m)) => (
            format!("frame {m}"),
            format!("on frame {m} ({} s)", r.seconds(r.time_of(m))),
        ),
        None => {
            let age = mark.age(model.log.now_ms);
            (age.clone(), format!("{age} ago"))
        }
    };
    if !mark.is_of(model.snap.shape.addr) {
        return Some(format!(
            " mark {ago} is of another mapping · b marks this one "
        ));
    }
    let changed: u64 = model.time.changes.iter().map(|c| c.count).sum();
    let pages = super::pages_word(changed);
    // Pages whose bytes changed with no change of state (the state compare cannot see them).
    let (bytes, b) = match model.time.bytes_only() {
        0 => (String::new(), String::new()),
        n => (
            format!(", {} bytes only", super::pages_word(n)),
            format!(", {n} bytes-only"),
        ),
    };
    [
        format!(" mark set {ago} · {pages} changed state{bytes} · b re-marks · : unmark drops "),
        format!(" mark {ago} · {pages} changed{bytes} · b re-mark · :unmark "),
        format!(" mark {age} · {changed} changed state{b} · :unmark "),
        format!(" mark {age} · {changed} changed{b} "),
        format!(" mark {age} "),
    ]
    .into_iter()
    .find(|l| l.chars().count() <= room)
}

/// One state of a page as shown in its header: the word, the letter form used when the line is
/// too narrow for words (the help legend explains the letters), and the style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateWord {
    pub long: String,
    pub short: String,
    pub role: Role,
}

fn word(long: impl Into<String>, short: impl Into<String>, role: Role) -> StateWord {
    StateWord {
        long: long.into(),
        short: short.into(),
        role,
    }
}

/// The states of page `page`, in the order the header shows them.
/// The words for what the kernel says of a probed page, in the header's order.
fn kernel_words(model: &Model, state: &crate::sys::probe::state::PageState) -> Vec<StateWord> {
    let mut words = Vec::new();
    // Since Linux 5.2, mincore on a file we may not write reports only the pages we
    // map ourselves, not the page cache: say so instead of "resident".
    let restricted = matches!(
        model.snap.shape.backing,
        crate::sys::probe::snapshot::Backing::File {
            writable: false,
            ..
        }
    );
    words.push(match (state.place.resident, restricted) {
        (Some(true), false) => word("resident", "R", Role::Resident),
        (Some(true), true) => word("mapped by us", "R", Role::Resident),
        (Some(false), false) => word("not resident", "-r", Role::NotResident),
        (Some(false), true) => word("not mapped by us", "-r", Role::NotResident),
        (None, _) => word("resident n/a", "r?", Role::Dim),
    });
    words.push(match state.place.present {
        Some(true) => word("present", "P", Role::Present),
        Some(false) => word("not present", "-p", Role::NotResident),
        None => word("present n/a", "p?", Role::Dim),
    });
    if state.place.cow == Some(true) {
        words.push(word("cow (private copy)", "C", Role::Cow));
    }
    // Dirty is the file's page-cache page; over a private copy, say whose state it is.
    let copy = state.place.cow == Some(true);
    match state.writes.dirty {
        Some(_) if model.snap.always_dirty => {
            words.push(word("tmpfs: always dirty", "tmpfs", Role::Dim));
        }
        Some(true) if copy => words.push(word("file's page: dirty", "D", Role::Dirty)),
        Some(false) if copy => {
            words.push(word("file's page: clean", "-d", Role::Resident));
        }
        Some(true) => words.push(word("dirty", "D", Role::Dirty)),
        Some(false) => words.push(word("clean", "-d", Role::Resident)),
        None => {}
    }
    if state.writes.writeback == Some(true) {
        words.push(word("writeback", "W", Role::Warning));
    }
    if state.writes.soft_dirty == Some(true) {
        words.push(word("soft-dirty", "s", Role::Dirty));
    }
    if let Some(n) = state.folio.folio_pages.filter(|&n| n > 1) {
        words.push(word(
            format!("folio of {n} pages"),
            format!("f{n}"),
            Role::Dim,
        ));
    }
    if state.place.swapped == Some(true) {
        words.push(word("swapped", "S", Role::Warning));
    }
    words.extend(lab_words(state));
    words
}

/// The lab's words for a page: huge page, how many map it, and whether the forked child
/// still shares it.
fn lab_words(state: &crate::sys::probe::state::PageState) -> Vec<StateWord> {
    let mut words = Vec::new();
    if state.folio.thp == Some(true) {
        words.push(word("huge page (PMD)", "H", Role::Present));
    }
    if let Some(n) = state.folio.mapcount.filter(|&n| n > 1) {
        words.push(word(
            format!("mapped {n} times"),
            format!("m{n}"),
            Role::Dim,
        ));
    }
    match (state.place.shared_with_child, state.place.present) {
        (Some(true), _) => words.push(word("shared with child", "K", Role::Cow)),
        (Some(false), Some(true)) => {
            words.push(word("not shared with child", "-k", Role::Resident));
        }
        _ => {}
    }
    words
}

pub fn state_words(model: &Model, page: u64) -> Vec<StateWord> {
    let geom = model.snap.shape.geometry.page(page);
    if geom.beyond_eof {
        return vec![word(
            "beyond EOF · SIGBUS if touched · never read",
            "beyond EOF",
            Role::BeyondEof,
        )];
    }
    let mut words = Vec::new();
    let replay = model.time.replay.is_some();
    match model.snap.page(page) {
        None if replay => words.push(word("state not recorded", "not recorded", Role::Dim)),
        None => words.push(word("not probed", "?", Role::Dim)),
        Some(VisiblePage { state, .. }) => words.extend(kernel_words(model, state)),
    }
    // A recording keeps the bytes of some pages only (those shown, or changed, up to its bound).
    if replay && model.snap.probed.bytes.unread.contains(&page) {
        words.push(word("bytes not recorded", "no bytes", Role::Dim));
    }
    words.extend(since_mark(model, page));
    if !model.snap.shape.prot.read {
        words.push(word("no read access: not read", "no access", Role::Warning));
    }
    if geom.padding_bytes > 0 {
        words.push(word(
            format!(
                "{} B data + {} B padding",
                thousands(geom.valid_bytes),
                thousands(geom.padding_bytes)
            ),
            format!("{} B pad", thousands(geom.padding_bytes)),
            Role::Padding,
        ));
    }
    words
}

/// The letter of a followed state in the narrow header (`+D`, `-R`).
fn letter(w: crate::model::time::Word) -> char {
    use crate::model::time::Word;
    match w {
        Word::Present => 'P',
        Word::Resident => 'R',
        Word::Dirty => 'D',
        Word::Cow => 'C',
        Word::Exclusive => 'E',
        Word::Written => 'W',
    }
}

/// How many of the bytes of `page` on screen differ from the mark's copy of them.
fn bytes_changed_shown(model: &Model, kept: &[u8], page: u64) -> usize {
    let ps = model.page_size();
    let bytes = &model.snap.probed.bytes;
    let lo = (page * ps).max(bytes.start);
    let hi = ((page + 1) * ps).min(bytes.start + bytes.data.len() as u64);
    (lo..hi)
        .filter(|&at| {
            let then = usize::try_from(at - page * ps)
                .ok()
                .and_then(|i| kept.get(i));
            matches!((then, bytes.get(at)), (Some(a), Some(b)) if *a != b)
        })
        .count()
}

/// What changed in page `page` since the mark, in words: `+dirty`, `-resident (evicted)`,
/// `bytes changed`; or that its bytes were beyond the mark's bound. `None` without a mark of
/// what is shown, or when nothing changed.
fn since_mark(model: &Model, page: u64) -> Vec<StateWord> {
    use crate::model::time::{Flags, Word, compare_page};
    let Some(mark) = model.time.mark_of(model.snap.shape.addr) else {
        return Vec::new();
    };
    let now = model.snap.page(page).map(|p| Flags::of(&p.state));
    let then = mark.flags(page);
    let mut c = compare_page(then, now, None, &[]);
    // Written is no page state: the tracker's set says it (`Time::written`), where exact.
    if model.time.written.as_ref().and_then(|w| w.page(page)) == Some(true) {
        c.became = c.became.with(Word::Written);
    }
    let mut words = Vec::new();
    for w in c.became.iter() {
        words.push(word(
            format!("+{}", w.name()),
            format!("+{}", letter(w)),
            Role::Became,
        ));
    }
    for w in c.stopped.iter() {
        let long = if w == Word::Resident {
            "-resident (evicted)".to_string()
        } else {
            format!("-{}", w.name())
        };
        words.push(word(long, format!("-{}", letter(w)), Role::Stopped));
    }
    match mark.bytes_of(page) {
        Some(kept) => {
            let n = bytes_changed_shown(model, kept, page);
            if n > 0 {
                words.push(word(
                    format!("{} B changed since mark", thousands(n as u64)),
                    format!("Δ{n}"),
                    Role::Changed,
                ));
            }
        }
        None if then.is_some_and(|f| {
            f.is(Word::Resident) == Some(true) || f.is(Word::Present) == Some(true)
        }) =>
        {
            words.push(word(
                "bytes beyond the mark's bound: state only",
                "Δ?",
                Role::Dim,
            ));
        }
        None => {}
    }
    words
}

fn page_header(model: &Model, page: u64, width: u16, theme: Theme) -> Line<'static> {
    let ps = model.page_size();
    let kind = if model.screen.show_vaddr {
        "addr"
    } else {
        "offset"
    };
    let place = format!("{kind} 0x{:x}", model.label_base() + page * ps);
    let words = state_words(model, page);
    let long_head = format!("page {page} · {place}");
    let long_len: usize = words
        .iter()
        .map(|w| Span::raw(w.long.as_str()).width() + 3)
        .sum();
    let short = Span::raw(long_head.as_str()).width() + long_len > usize::from(width);
    let mut spans = Vec::new();
    if short {
        // Narrow: the letters of the legend, one space apart.
        let addr = place.rsplit(' ').next().unwrap_or_default().to_string();
        spans.push(Span::styled(
            format!("page {page} · {addr} ·"),
            theme.style(Role::Title),
        ));
        for w in words {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(w.short, theme.style(w.role)));
        }
    } else {
        spans.push(Span::styled(long_head, theme.style(Role::Title)));
        for w in words {
            spans.push(Span::styled(" · ", theme.style(Role::Dim)));
            spans.push(Span::styled(w.long, theme.style(w.role)));
        }
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let fill = usize::from(width).saturating_sub(used + 1);
    if fill > 0 {
        spans.push(Span::styled(
            format!(" {}", "─".repeat(fill)),
            theme.style(Role::Dim),
        ));
    }
    Line::from(spans)
}

/// The colour of a page's data bytes: its most notable state (the header says it in words).
fn page_role(model: &Model, page: u64) -> Role {
    let Some(p) = model.snap.page(page) else {
        return Role::Normal;
    };
    let s = p.state;
    if s.place.cow == Some(true) {
        Role::Cow
    } else if s.writes.dirty == Some(true) && !model.snap.always_dirty {
        Role::Dirty
    } else if s.place.resident == Some(false) {
        Role::NotResident
    } else {
        Role::Normal
    }
}

/// "00" to "ff" back to back: byte `b`'s two digits are `HEX_DIGITS[2b..2b + 2]`, borrowed,
/// so a row of the grid allocates no string per byte.
static HEX_DIGITS: [u8; 512] = {
    let digits = b"0123456789abcdef";
    let mut t = [0u8; 512];
    let mut b = 0;
    while b < 256 {
        t[2 * b] = digits[b >> 4];
        t[2 * b + 1] = digits[b & 15];
        b += 1;
    }
    t
};

/// The two hex digits of `b`, as a borrowed string.
fn hex_of(b: u8) -> &'static str {
    let i = 2 * usize::from(b);
    std::str::from_utf8(&HEX_DIGITS[i..i + 2]).unwrap_or("??")
}

/// A byte's role over its page's: another process's change, our edit, a byte search's
/// match, a change since the mark (`kept`: the mark's copy of its page), in that order.
fn byte_role(model: &Model, at: u64, kept: Option<&[u8]>, role: Role) -> Role {
    if model.seen.foreign.contains_key(&at) {
        return Role::Foreign;
    }
    if model.edited(at) {
        return Role::Edited;
    }
    if model
        .search
        .found
        .is_some_and(|(o, n)| (o..o + n).contains(&at))
    {
        return Role::Found;
    }
    let ps = model.page_size();
    let i = usize::try_from(at % ps).unwrap_or(usize::MAX);
    match (kept.and_then(|k| k.get(i)), model.snap.probed.bytes.get(at)) {
        (Some(then), Some(now)) if *then != now => Role::Changed,
        _ => role,
    }
}

fn row(model: &Model, off: u64, theme: Theme) -> Line<'static> {
    let bpr = model.bytes_per_row();
    let digits = usize::from(model.offset_digits());
    let shown = model.label_base() + off;
    let mut spans = Vec::with_capacity(2 * bpr as usize + 8);
    spans.push(Span::styled(
        format!("{shown:0digits$x}  "),
        theme.style(Role::Dim),
    ));
    // The text column in runs of one style (one string a run, not one a byte).
    let mut text: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_style = None;
    let data_role = page_role(model, off / model.page_size());
    // The mark's copy of this page, to highlight the bytes changed since it.
    let ps = model.page_size();
    let kept = model
        .time
        .mark_of(model.snap.shape.addr)
        .and_then(|m| m.bytes_of(off / ps));
    // Bytes left unread so that looking changes nothing: not in memory (ours), not present
    // (another process's).
    let unread = model
        .snap
        .probed
        .bytes
        .unread
        .contains(&(off / model.page_size()));
    for i in 0..bpr {
        let at = off + i;
        let kind = model.snap.shape.geometry.byte_kind(at);
        let (hex, ch, mut role): (std::borrow::Cow<'static, str>, char, Role) =
            match (kind, model.snap.probed.bytes.get(at)) {
                (ByteKind::BeyondEof, _) => ("~~".into(), ' ', Role::BeyondEof),
                (_, None) if unread => ("..".into(), ' ', Role::Dim),
                (_, None) => ("??".into(), ' ', Role::Unreadable),
                (ByteKind::Padding, Some(b)) => (hex_of(b).into(), byte_char(b), Role::Padding),
                (ByteKind::Data, Some(b)) => (hex_of(b).into(), byte_char(b), data_role),
            };
        role = byte_role(model, at, kept, role);
        let mut style = theme.style(role);
        let mut hex = hex;
        if at == model.doc.cursor {
            style = style.patch(theme.style(Role::Cursor));
            // A typed high nibble waits for its low one: show it in place.
            if let Some(n) = model.screen.edit.and_then(|e| e.pending) {
                hex = format!("{n:x}_").into();
            }
        }
        spans.push(Span::styled(hex, style));
        spans.push(Span::raw(if i % 8 == 7 && i + 1 < bpr {
            "  "
        } else {
            " "
        }));
        if run_style != Some(style) && !run.is_empty() {
            text.push(Span::styled(
                std::mem::take(&mut run),
                run_style.unwrap_or_default(),
            ));
        }
        run_style = Some(style);
        run.push(ch);
    }
    if !run.is_empty() {
        text.push(Span::styled(run, run_style.unwrap_or_default()));
    }
    spans.push(Span::raw(" "));
    spans.extend(text);
    Line::from(spans)
}
