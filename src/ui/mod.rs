//! Drawing: `render(&Model, &mut Frame)`, pure. It never calls the kernel: everything it shows
//! comes from the model's last snapshot.

pub mod also;
pub mod explain;
pub mod export;
pub mod help;
pub mod hex_grid;
pub mod menu;
pub mod minimap;
pub mod mouse;
pub mod page_map;
pub mod picker;
pub mod side_panel;
pub mod space;
pub mod theme;
pub mod typed;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::model::{Focus, LessonPane, Model, Overlay, PaneText};
use crate::sys::probe::snapshot::Backing;
use crate::text::{human, sanitize, thousands};

use self::theme::{Role, Theme};
use crate::layout::{MIN_COLS, MIN_ROWS};

/// Draws the whole screen.
pub fn render(model: &Model, frame: &mut Frame) {
    let theme = Theme {
        color: model.settings.color,
        high_contrast: model.settings.high_contrast,
    };
    let area = frame.area();
    let layout = model.layout();
    if layout.too_small {
        let msg = format!(
            "mmapscope needs a terminal of at least {MIN_COLS}x{MIN_ROWS}; this one is {}x{}. \
             Enlarge it, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(msg)
                .wrap(Wrap { trim: true })
                .style(theme.style(Role::Warning)),
            area,
        );
        return;
    }
    frame.render_widget(Paragraph::new(header(model, theme)), layout.header);
    minimap::render(model, frame, layout.minimap, theme);
    let side = |frame: &mut Frame, area: Rect| {
        if model.screen.explain {
            explain::render(model, frame, area, theme);
        } else if let Some(also_snap) = model
            .lab
            .also
            .as_deref()
            .filter(|_| model.space.looking.is_none())
        {
            also::render(model, also_snap, frame, area, theme);
        } else {
            side_panel::render(model, frame, area, theme);
        }
    };
    match layout.panel {
        Some(panel) => {
            hex_grid::render(model, frame, layout.grid, theme);
            side(frame, panel);
        }
        // Too narrow for both: Tab (or the explain pane) shows the panel in the grid's place.
        None if model.screen.focus == Focus::Panel || model.screen.explain => {
            side(frame, layout.grid)
        }
        None => hex_grid::render(model, frame, layout.grid, theme),
    }
    if let Some(area) = layout.inspector {
        typed::inspector(model, frame, area, theme);
    }
    match &model.lesson {
        Some(pane) => render_lesson(model, pane, frame, layout.log, theme),
        None => render_log(model, frame, layout.log, theme),
    }
    frame.render_widget(Paragraph::new(keys_line(model, theme)), layout.keys);
    match &model.screen.overlay {
        Overlay::Help => help::render(frame, area, theme, model.screen.help_scroll),
        Overlay::Menu {
            kind,
            selected,
            all,
        } => menu::render_menu(
            frame,
            area,
            theme,
            (*kind, *selected, *all, model.doc.cursor / model.page_size()),
        ),
        Overlay::Confirm {
            question,
            default_yes,
            ..
        } => menu::render_confirm(frame, area, theme, question, *default_yes),
        Overlay::Space { selected } => space::render(model, frame, area, theme, *selected),
        Overlay::PageMap { .. } => page_map::render(model, frame, theme),
        Overlay::None | Overlay::Goto(_) | Overlay::Find(_) | Overlay::Ask { .. } => {}
    }
}

/// `1 page`, `4 pages`, `1,024 pages`.
pub fn pages_word(n: u64) -> String {
    format!("{} {}", thousands(n), if n == 1 { "page" } else { "pages" })
}

/// The file's display name: its last path component, with control characters escaped (again:
/// escaping is idempotent, and the screen must never depend on every producer having done it).
fn display_name(backing: &Backing) -> String {
    match backing {
        Backing::Anon => "[anonymous]".into(),
        Backing::File { path, .. } => sanitize(path.rsplit('/').next().unwrap_or(path)),
    }
}

/// The top line: what is mapped, how, where and how many pages. Where it does not fit, the
/// address range goes first, then the file offset, then the page size: the page count, which
/// lessons ask the class to read, stays; the name is cut (with `…`) last.
fn header(model: &Model, theme: Theme) -> Line<'static> {
    let snap = &model.snap;
    let g = &snap.shape.geometry;
    let size = match (&snap.shape.backing, g.file_size) {
        // The name says `[anonymous]` already; a VMA explored is named by its own name.
        (Backing::Anon, _) if model.space.looking.is_none() => format!("{} B", thousands(g.len)),
        (Backing::Anon, _) => format!("{} B anonymous", thousands(g.len)),
        (_, Some(size)) => format!("{} B", thousands(size)),
        (Backing::File { regular: true, .. }, None) => "size n/a".into(),
        (_, None) => "device".into(),
    };
    // (span, the order it is left out in when the line is too long: 0 never).
    let mut parts: Vec<(Span<'static>, u8)> =
        vec![(Span::styled(" mmapscope ", theme.style(Role::Title)), 0)];
    if let Some(l) = &model.space.looking {
        parts.push((
            Span::styled(
                format!(" {} ", sanitize(&l.process)),
                theme.style(Role::Focused),
            ),
            0,
        ));
        if let Some(why) = &l.ended {
            parts.push((
                Span::styled(
                    format!("{} (last state) ", sanitize(why)),
                    theme.style(Role::Warning),
                ),
                0,
            ));
        }
    }
    let name = match (&model.space.looking, &snap.shape.backing) {
        (Some(l), Backing::Anon) => sanitize(&l.vma),
        (_, backing) => display_name(backing),
    };
    let pages = g.pages();
    parts.extend([
        (Span::raw(" "), 0),
        (Span::styled(name, theme.style(Role::Key)), NAME),
        (Span::raw(format!("  {size}  ")), 0),
        (
            Span::styled(
                format!(
                    "{} {}",
                    snap.shape.mode.flag_name(),
                    snap.shape.prot.letters()
                ),
                theme.style(Role::Focused),
            ),
            0,
        ),
        (
            Span::raw(format!("  0x{:x}-0x{:x}", snap.shape.addr, snap.end_addr())),
            RANGE,
        ),
        (Span::raw(format!("  {}", pages_word(pages))), 0),
        (Span::raw(format!(" of {}", human(g.page_size))), PAGE_SIZE),
    ]);
    if g.offset > 0 {
        parts.push((Span::raw(format!("  from offset 0x{:x}", g.offset)), OFFSET));
    }
    if let Some(pid) = model.lab.child {
        parts.push((Span::raw("  "), 0));
        parts.push((
            Span::styled(format!("fork: child pid {pid}"), theme.style(Role::Cow)),
            0,
        ));
    }
    fit_header(parts, usize::from(model.screen.size.0))
}

/// The header's parts that give way when it is too long (0: those that never do).
const RANGE: u8 = 1;
const OFFSET: u8 = 2;
const PAGE_SIZE: u8 = 3;
/// The name: never left out, cut (with `…`) when nothing else is left to give way.
const NAME: u8 = u8::MAX;

/// The header's parts within `width`: the page size goes first, then the address range
/// becomes its start (`at 0x7f..`), then the file offset goes, then the address; the name is
/// cut last.
fn fit_header(mut parts: Vec<(Span<'static>, u8)>, width: usize) -> Line<'static> {
    let len = |parts: &[(Span, u8)]| parts.iter().map(|(s, _)| s.width()).sum::<usize>();
    for step in 0..4 {
        if len(&parts) <= width {
            break;
        }
        match step {
            0 => parts.retain(|(_, r)| *r != PAGE_SIZE),
            1 => {
                for (span, rank) in &mut parts {
                    if *rank == RANGE {
                        let start = span.content.trim().split('-').next().unwrap_or("");
                        span.content = format!("  at {start}").into();
                    }
                }
            }
            2 => parts.retain(|(_, r)| *r != OFFSET),
            _ => parts.retain(|(_, r)| *r != RANGE),
        }
    }
    let over = len(&parts).saturating_sub(width);
    if over > 0 {
        let at = parts.iter().position(|(_, r)| *r == NAME).unwrap_or(0);
        let name = &mut parts[at].0;
        let keep = name.width().saturating_sub(over).max(1);
        name.content = side_panel::tail(&name.content, keep).into();
    }
    Line::from(parts.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
}

/// The narration pane of a lesson: the step's words (wrapped), what its lines did, and the
/// newest log line at the bottom. What does not fit scrolls (J / K), and the bottom border
/// says which lines are shown; with the log focused (Tab) the log takes the results' place.
fn render_lesson(model: &Model, pane: &LessonPane, frame: &mut Frame, area: Rect, theme: Theme) {
    let log_focused = model.screen.focus == Focus::Log;
    let title = format!(
        " lesson {} · step {}/{} · → or Space: next · ←: back ",
        sanitize(&pane.name),
        pane.step,
        pane.total
    );
    let body = model.lesson_body();
    let (visible, scrolled) = model.lesson_visible();
    let mut block = Block::bordered().title(Span::styled(title, theme.style(Role::Focused)));
    if log_focused {
        block = block.title_bottom(
            Line::styled(" log: ↑↓ scroll · Tab back ", theme.style(Role::Focused)).right_aligned(),
        );
    } else if let Some((first, last, of)) = scrolled {
        block = block.title_bottom(
            Line::styled(
                format!(" lines {first}-{last} of {of} · J K scroll "),
                theme.style(Role::Warning),
            )
            .right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    if log_focused {
        let say: Vec<Line> = body
            .iter()
            .filter(|(part, _)| *part == PaneText::Say)
            .map(|(_, l)| Line::styled(l.clone(), theme.style(Role::Title)))
            .collect();
        let say_h = u16::try_from(say.len())
            .unwrap_or(u16::MAX)
            .min(inner.height.saturating_sub(1));
        let [top, rest] = ratatui::layout::Layout::vertical([
            ratatui::layout::Constraint::Length(say_h),
            ratatui::layout::Constraint::Min(1),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(say), top);
        frame.render_widget(Paragraph::new(log_tail(model, rest, theme)), rest);
        return;
    }
    let lines: Vec<Line> = visible
        .iter()
        .map(|(part, text)| pane_line(pane, *part, text, theme))
        .collect();
    let [body_area, last] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Min(1),
        ratatui::layout::Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines), body_area);
    // A prompt (`:`, `/`, an operation's arguments) takes the log line's place.
    if render_prompt(model, frame, last, theme) {
        return;
    }
    if let Some(l) = model.log.lines.last() {
        let stamp = format!("log: {} ", l.time);
        let room = width.saturating_sub(stamp.chars().count());
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(stamp, theme.style(Role::Dim)),
                Span::raw(cut(&sanitize(&l.text), room, "…")),
            ])),
            last,
        );
    }
}

/// One line of the pane's body, styled: the narration bright, a result's mark in its colour
/// and its detail dim.
fn pane_line(pane: &LessonPane, part: PaneText, text: &str, theme: Theme) -> Line<'static> {
    let PaneText::Result {
        index,
        from,
        detail,
    } = part
    else {
        return Line::styled(text.to_string(), theme.style(Role::Title));
    };
    let Some(r) = pane.results.get(index) else {
        return Line::raw(text.to_string());
    };
    let role = match (r.ok, r.expected_error) {
        (true, _) => Role::Resident,
        (false, _) => Role::Warning,
    };
    let mark_end = r.mark().chars().count();
    let chars: Vec<char> = text.chars().collect();
    let at = |k: usize| k.saturating_sub(from).min(chars.len());
    let piece = |a: usize, b: usize| chars[a..b.max(a)].iter().collect::<String>();
    let (m, d) = (at(mark_end), at(detail).max(at(mark_end)));
    Line::from(vec![
        Span::styled(piece(0, m), theme.style(role)),
        Span::raw(piece(m, d)),
        Span::styled(piece(d, chars.len()), theme.style(Role::Dim)),
    ])
}

/// `text` in at most `width` characters: cut, with `marker` at the end, when longer.
pub(crate) fn cut(text: &str, width: usize, marker: &str) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let m = marker.chars().count().min(width);
    let keep: String = text.chars().take(width - m).collect();
    format!("{keep}{}", marker.chars().take(m).collect::<String>())
}

/// The newest log lines, wrapped to `area`, the newest at the bottom, `log_scroll` lines
/// back in time.
fn log_tail(model: &Model, area: Rect, theme: Theme) -> Vec<Line<'static>> {
    let rows = usize::from(area.height);
    let end = model
        .log
        .lines
        .len()
        .saturating_sub(usize::from(model.screen.log_scroll));
    let mut lines: Vec<Line> = Vec::new();
    for l in model.log.lines[..end].iter().rev() {
        let text = format!("{} {}", l.time, sanitize(&l.text));
        let wrapped = crate::layout::wrap(&text, usize::from(area.width));
        // Whole entries only, but for the newest: a part of an older one says too little.
        if !lines.is_empty() && lines.len() + wrapped.len() > rows {
            break;
        }
        for (_, w) in wrapped.into_iter().rev() {
            lines.push(Line::styled(w, theme.style(Role::Normal)));
        }
    }
    // The newest at the bottom: blank lines above when the entries leave room.
    lines.extend(std::iter::repeat_n(
        Line::raw(""),
        rows.saturating_sub(lines.len()),
    ));
    lines.reverse();
    let skip = lines.len().saturating_sub(rows);
    lines.split_off(skip)
}

/// The prompts that take the log's place (`:`, `/`, an operation's arguments); whether one
/// was drawn. Text longer than the line scrolls: its end (where one types) stays in view,
/// `…` standing for what went off to the left.
fn render_prompt(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) -> bool {
    let goto_label = if model.screen.show_vaddr {
        " goto (address, p N) or a state (dirty, !resident): "
    } else {
        " goto (offset, @address, p N) or a state (dirty, !resident): "
    };
    let (label, text) = match &model.screen.overlay {
        Overlay::Ask { ask, text } => (format!(" {}", ask.title()), text),
        Overlay::Goto(text) => (goto_label.to_string(), text),
        Overlay::Find(text) => (
            " find (hex 7f 45, \"text\"; ! faults pages in): ".to_string(),
            text,
        ),
        _ => return false,
    };
    let width = usize::from(area.width);
    // The label gives way (cut with `…`) so that a dozen typed characters always show.
    let label = cut(&label, width.saturating_sub(13).max(1), "…: ");
    let typed = sanitize(text);
    let room = width.saturating_sub(label.chars().count() + 1);
    let n = typed.chars().count();
    let shown = if n > room {
        let keep: String = typed.chars().skip(n - room.saturating_sub(1)).collect();
        format!("…{keep}")
    } else {
        typed
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(label, theme.style(Role::Key)),
        Span::raw(shown),
        Span::styled("█", theme.style(Role::Dim)),
    ])];
    // Under an operation's prompt, the newest log line (a refusal of what was typed) when
    // there is room.
    if matches!(model.screen.overlay, Overlay::Ask { .. })
        && area.height > 1
        && let Some(l) = model.log.lines.last()
    {
        lines.push(Line::styled(
            cut(
                &format!(" log: {} {}", l.time, sanitize(&l.text)),
                width,
                "…",
            ),
            theme.style(Role::Dim),
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
    true
}

/// The running search's line: what it looks for, how far it got (pages done of all), and
/// that Esc stops it, within `width` columns: a long pattern is cut first (to no less than
/// 12 columns), then the pages done are left out.
fn progress_line(s: &crate::search::query::Searching, width: usize) -> String {
    let pct = (u128::from(s.done) * 100)
        .checked_div(u128::from(s.total))
        .unwrap_or(0);
    let counts = [
        format!("{pct}% ({} of {})", thousands(s.done), pages_word(s.total)),
        format!("{pct}% of {}", pages_word(s.total)),
    ];
    let line = |label: &str, counts: &str| format!(" searching {label}: {counts} · Esc stops");
    let fixed = line("", &counts[0]).chars().count();
    let label = crate::text::echo_within(&s.label, width.saturating_sub(fixed).max(12));
    let full = line(&label, &counts[0]);
    if full.chars().count() <= width {
        full
    } else {
        line(&label, &counts[1])
    }
}

fn render_log(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    if render_prompt(model, frame, area, theme) {
        return;
    }
    let rows = usize::from(area.height);
    let mut lines: Vec<Line> = Vec::with_capacity(rows);
    if let Some(s) = &model.search.running {
        lines.push(Line::styled(
            progress_line(s, usize::from(area.width)),
            theme.style(Role::Focused),
        ));
    }
    if let Some(problem) = &model.snap.notes.problem {
        lines.push(Line::styled(
            format!(" {problem}"),
            theme.style(Role::Warning),
        ));
    }
    // The newest line at the bottom, `log_scroll` lines back in time.
    let end = model
        .log
        .lines
        .len()
        .saturating_sub(usize::from(model.screen.log_scroll));
    let start = end.saturating_sub(rows - lines.len().min(rows));
    let focused = model.screen.focus == Focus::Log;
    for (i, l) in model.log.lines[start..end].iter().enumerate() {
        let label = if i == 0 && focused {
            format!(" log ({}/{}): ", end, model.log.lines.len())
        } else {
            " log: ".to_string()
        };
        let stamp = format!("{} ", l.time);
        let text = sanitize(&l.text);
        // Unfocused, a long line is cut, and says where the rest is.
        let text = if focused {
            text
        } else {
            let room = usize::from(area.width)
                .saturating_sub(label.chars().count() + stamp.chars().count());
            cut(&text, room, "…")
        };
        lines.push(Line::from(vec![
            Span::styled(
                label,
                theme.style(if focused { Role::Focused } else { Role::Dim }),
            ),
            Span::styled(stamp, theme.style(Role::Dim)),
            Span::raw(text),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::styled(" log: (empty)", theme.style(Role::Dim)));
    }
    // Long lines wrap when the log has room (focused), else they are cut.
    let para = Paragraph::new(lines);
    let para = if focused {
        para.wrap(Wrap { trim: false })
    } else {
        para
    };
    frame.render_widget(para, area);
}

fn keys_line(model: &Model, theme: Theme) -> Line<'static> {
    // Under an overlay, the line keeps telling the keys of what lies beneath it.
    let ctx = crate::input::KeyContext::of(
        model.screen.focus,
        &Overlay::None,
        model.screen.edit,
        model.lesson.is_some(),
    );
    let keys = crate::keys::hints(ctx);
    let width = usize::from(model.screen.size.0);
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (i, (k, what)) in keys.iter().enumerate() {
        // Whole hints only: where the next one does not fit, `…` says there are more (?).
        let w = k.chars().count() + 1 + what.chars().count();
        let more = i + 1 < keys.len();
        if used + w + if more { 3 } else { 0 } > width {
            spans.push(Span::styled("…", theme.style(Role::Dim)));
            break;
        }
        spans.push(Span::styled(*k, theme.style(Role::Key)));
        spans.push(Span::raw(format!(" {what}  ")));
        used += w + 2;
    }
    Line::from(spans)
}
