//! Drawing: `render(&Model, &mut Frame)`, pure. It never calls the kernel: everything it shows
//! comes from the model's last snapshot.

pub mod also;
pub mod explain;
pub mod help;
pub mod hex_grid;
pub mod menu;
pub mod minimap;
pub mod page_map;
pub mod side_panel;
pub mod space;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::model::{Focus, LessonPane, Model, Overlay};
use crate::sys::snapshot::Backing;
use crate::text::{human, sanitize, thousands};

use self::theme::{Role, Theme};
use crate::layout::{MIN_COLS, MIN_ROWS};

/// Draws the whole screen.
pub fn render(model: &Model, frame: &mut Frame) {
    let theme = Theme {
        color: model.color,
        high_contrast: model.high_contrast,
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
        if model.explain {
            explain::render(model, frame, area, theme);
        } else if let Some(also_snap) = model.also.as_deref().filter(|_| model.looking.is_none()) {
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
        None if model.focus == Focus::Panel || model.explain => side(frame, layout.grid),
        None => hex_grid::render(model, frame, layout.grid, theme),
    }
    match &model.lesson {
        Some(pane) => render_lesson(model, pane, frame, layout.log, theme),
        None => render_log(model, frame, layout.log, theme),
    }
    frame.render_widget(Paragraph::new(keys_line(model, theme)), layout.keys);
    match &model.overlay {
        Overlay::Help => help::render(frame, area, theme, model.help_scroll),
        Overlay::Menu {
            kind,
            selected,
            all,
        } => menu::render_menu(
            frame,
            area,
            theme,
            (*kind, *selected, *all, model.cursor / model.page_size()),
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

/// The file's display name: its last path component, with control characters escaped (again:
/// escaping is idempotent, and the screen must never depend on every producer having done it).
fn display_name(backing: &Backing) -> String {
    match backing {
        Backing::Anon => "[anonymous]".into(),
        Backing::File { path, .. } => sanitize(path.rsplit('/').next().unwrap_or(path)),
    }
}

fn header(model: &Model, theme: Theme) -> Line<'static> {
    let snap = &model.snap;
    let g = &snap.geometry;
    let size = match (&snap.backing, g.file_size) {
        (Backing::Anon, _) => format!("{} B anonymous", thousands(g.len)),
        (_, Some(size)) => format!("{} B", thousands(size)),
        (Backing::File { regular: true, .. }, None) => "size n/a".into(),
        (_, None) => "device".into(),
    };
    let mut spans = vec![Span::styled(" mmapscope ", theme.style(Role::Title))];
    if let Some(l) = &model.looking {
        spans.push(Span::styled(
            format!(" {} ", sanitize(&l.process)),
            theme.style(Role::Focused),
        ));
        if let Some(why) = &l.ended {
            spans.push(Span::styled(
                format!("{} (last state) ", sanitize(why)),
                theme.style(Role::Warning),
            ));
        }
    }
    let name = match (&model.looking, &snap.backing) {
        (Some(l), Backing::Anon) => sanitize(&l.vma),
        (_, backing) => display_name(backing),
    };
    spans.extend([
        Span::raw(" "),
        Span::styled(name, theme.style(Role::Key)),
        Span::raw(format!("  {size}  ")),
        Span::styled(
            format!("{} {}", snap.mode.flag_name(), snap.prot.letters()),
            theme.style(Role::Focused),
        ),
        Span::raw(format!(
            "  0x{:x}-0x{:x}  {} pages of {}",
            snap.addr,
            snap.end_addr(),
            thousands(g.pages()),
            human(g.page_size)
        )),
    ]);
    if g.offset > 0 {
        spans.push(Span::raw(format!("  from offset 0x{:x}", g.offset)));
    }
    if let Some(pid) = model.child {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            format!("fork: child pid {pid}"),
            theme.style(Role::Cow),
        ));
    }
    Line::from(spans)
}

/// The narration pane of a lesson: the step's words (wrapped), what its lines did, and the
/// newest log line at the bottom.
fn render_lesson(model: &Model, pane: &LessonPane, frame: &mut Frame, area: Rect, theme: Theme) {
    let title = format!(
        " lesson {} · step {}/{} · → or Space: next · ←: back ",
        sanitize(&pane.name),
        pane.step,
        pane.total
    );
    let block = Block::bordered().title(Span::styled(title, theme.style(Role::Focused)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::styled(sanitize(&pane.say), theme.style(Role::Title))];
    for r in &pane.results {
        let (mark, role) = match (r.ok, r.expected_error) {
            (true, true) => ("✓ refused, as it should be:", Role::Resident),
            (true, false) => ("✓", Role::Resident),
            (false, _) => ("✗", Role::Warning),
        };
        let mut spans = vec![
            Span::styled(format!("{mark} "), theme.style(role)),
            Span::raw(sanitize(&r.text)),
        ];
        if !r.detail.is_empty() {
            spans.push(Span::styled(
                format!("  {}", sanitize(&r.detail)),
                theme.style(Role::Dim),
            ));
        }
        lines.push(Line::from(spans));
    }
    let [body, last] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Min(1),
        ratatui::layout::Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
    if let Some(l) = model.log.last() {
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!("log: {} ", l.time), theme.style(Role::Dim)),
                Span::raw(sanitize(&l.text)),
            ])),
            last,
        );
    }
}

/// The prompts that take the log's place (`:`, `/`, an operation's arguments); whether one
/// was drawn.
fn render_prompt(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) -> bool {
    if let Overlay::Ask { ask, text } = &model.overlay {
        // The prompt on the first line, the newest log line (a refusal of what was typed)
        // under it when there is room.
        let mut lines = vec![Line::from(vec![
            Span::styled(format!(" {}", ask.title()), theme.style(Role::Key)),
            Span::raw(sanitize(text)),
            Span::styled("█", theme.style(Role::Dim)),
        ])];
        if area.height > 1
            && let Some(l) = model.log.last()
        {
            lines.push(Line::styled(
                format!(" log: {} {}", l.time, sanitize(&l.text)),
                theme.style(Role::Dim),
            ));
        }
        frame.render_widget(Paragraph::new(lines), area);
        return true;
    }
    let label = match &model.overlay {
        Overlay::Goto(text) => Some((
            " goto (offset or p N) or a state (dirty, !resident): ",
            text,
        )),
        Overlay::Find(text) => Some((" find (hex 7f 45, \"text\"; ! faults pages in): ", text)),
        _ => None,
    };
    if let Some((label, text)) = label {
        let line = Line::from(vec![
            Span::styled(label, theme.style(Role::Key)),
            Span::raw(sanitize(text)),
            Span::styled("█", theme.style(Role::Dim)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return true;
    }
    false
}

/// The running search's line: what it looks for, how far it got (pages done of all), and
/// that Esc stops it, within `width` columns: a long pattern is cut first (to no less than
/// 12 columns), then the pages done are left out.
fn progress_line(s: &crate::find::Searching, width: usize) -> String {
    let pct = (u128::from(s.done) * 100)
        .checked_div(u128::from(s.total))
        .unwrap_or(0);
    let counts = [
        format!(
            "{pct}% ({} of {} pages)",
            thousands(s.done),
            thousands(s.total)
        ),
        format!("{pct}% of {} pages", thousands(s.total)),
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
    if let Some(s) = &model.searching {
        lines.push(Line::styled(
            progress_line(s, usize::from(area.width)),
            theme.style(Role::Focused),
        ));
    }
    if let Some(problem) = &model.snap.problem {
        lines.push(Line::styled(
            format!(" {problem}"),
            theme.style(Role::Warning),
        ));
    }
    // The newest line at the bottom, `log_scroll` lines back in time.
    let end = model
        .log
        .len()
        .saturating_sub(usize::from(model.log_scroll));
    let start = end.saturating_sub(rows - lines.len().min(rows));
    let focused = model.focus == Focus::Log;
    for (i, l) in model.log[start..end].iter().enumerate() {
        let label = if i == 0 && focused {
            format!(" log ({}/{}): ", end, model.log.len())
        } else {
            " log: ".to_string()
        };
        lines.push(Line::from(vec![
            Span::styled(
                label,
                theme.style(if focused { Role::Focused } else { Role::Dim }),
            ),
            Span::styled(format!("{} ", l.time), theme.style(Role::Dim)),
            Span::raw(sanitize(&l.text)),
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
    let ctx = crate::keymap::KeyContext::of(
        model.focus,
        &Overlay::None,
        model.edit,
        model.lesson.is_some(),
    );
    let keys = crate::keys::hints(ctx);
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in keys {
        spans.push(Span::styled(k, theme.style(Role::Key)));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Line::from(spans)
}
