//! Drawing: `render(&Model, &mut Frame)`, pure. It never calls the kernel: everything it shows
//! comes from the model's last snapshot.

pub mod explain;
pub mod help;
pub mod hex_grid;
pub mod layout;
pub mod minimap;
pub mod side_panel;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::model::{Focus, Model, Overlay};
use crate::sys::snapshot::Backing;
use crate::text::{human, sanitize, thousands};

use self::layout::{MIN_COLS, MIN_ROWS};
use self::theme::{Role, Theme};

/// Draws the whole screen.
pub fn render(model: &Model, frame: &mut Frame) {
    let theme = Theme { color: model.color };
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
    frame.render_widget(Paragraph::new(log_line(model, theme)), layout.log);
    frame.render_widget(Paragraph::new(keys_line(theme)), layout.keys);
    if model.overlay == Overlay::Help {
        help::render(frame, area, theme);
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
        (_, None) => "device".into(),
    };
    let mut spans = vec![
        Span::styled(" mmapscope ", theme.style(Role::Title)),
        Span::raw(" "),
        Span::styled(display_name(&snap.backing), theme.style(Role::Key)),
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
    ];
    if g.offset > 0 {
        spans.push(Span::raw(format!("  from offset 0x{:x}", g.offset)));
    }
    Line::from(spans)
}

fn log_line(model: &Model, theme: Theme) -> Line<'static> {
    if let Overlay::Goto(text) = &model.overlay {
        return Line::from(vec![
            Span::styled(" goto (offset or p N): ", theme.style(Role::Key)),
            Span::raw(crate::text::sanitize(text)),
            Span::styled("█", theme.style(Role::Dim)),
        ]);
    }
    if let Some(problem) = &model.snap.problem {
        return Line::styled(format!(" {problem}"), theme.style(Role::Warning));
    }
    match model.log.last() {
        Some(l) => Line::from(vec![
            Span::styled(" log: ", theme.style(Role::Dim)),
            Span::styled(format!("{} ", l.time), theme.style(Role::Dim)),
            Span::raw(l.text.clone()),
        ]),
        None => Line::styled(" log: (empty)", theme.style(Role::Dim)),
    }
}

fn keys_line(theme: Theme) -> Line<'static> {
    let keys = [
        ("←↑↓→", "move"),
        ("[ ]", "page"),
        (":", "goto"),
        ("v", "offsets"),
        ("e", "explain"),
        ("Tab", "panel"),
        ("r", "refresh"),
        ("?", "help"),
        ("q", "quit"),
    ];
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in keys {
        spans.push(Span::styled(k, theme.style(Role::Key)));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Line::from(spans)
}
