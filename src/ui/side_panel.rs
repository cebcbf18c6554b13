//! The side panel: `/proc/self/maps` (our mapping marked with `▶` and highlighted, scrollable
//! with Tab focus) above the `smaps` counters of our VMA with their recent changes (the
//! transparent huge page counters among them).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::model::{Focus, Model, SmapsField};
use crate::sys::proc::maps::MapsLine;
use crate::text::{delta_kb, human, kb, sanitize};

use super::theme::{Role, Theme};

/// The counters the smaps block shows: all, but the huge-page mapping counters only when they
/// are not 0 (or just changed), so that a mapping without huge pages keeps its room for maps.
/// `THPeligible` is always there: whether the VMA may get huge pages at all. The ones a lesson
/// step names (`# fields:`) come first, then those that just changed, so that a short panel
/// (80x24) still shows what the narration points at.
pub fn shown_fields(model: &Model) -> Vec<SmapsField> {
    let vma = model.snap.readings.vma.as_ref();
    let named: &[SmapsField] = model.lesson.as_ref().map_or(&[], |p| &p.fields);
    let mut fields: Vec<SmapsField> = SmapsField::ALL
        .into_iter()
        .filter(|f| {
            !matches!(
                f,
                SmapsField::AnonHugePages | SmapsField::ShmemPmdMapped | SmapsField::FilePmdMapped
            ) || vma.is_some_and(|v| f.of(v) > 0)
                || model.delta(*f).is_some()
                || named.contains(f)
        })
        .collect();
    // A stable sort: within each group the smaps order stays.
    fields.sort_by_key(|f| {
        if let Some(i) = named.iter().position(|n| n == f) {
            (0, i)
        } else if model.lesson.is_some() && model.delta(*f).is_some() {
            (1, 0)
        } else {
            (2, 0)
        }
    });
    fields
}

/// Draws the panel into `area`: the smaps block gets the lines it needs (the maps block
/// keeps at least one line of its own, ours).
pub fn render(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    // Borders, path, the counters, VmFlags (wrapped).
    let flags = vm_flags(model, area.width.saturating_sub(2)).len() as u16;
    let smaps_height = 2 + 1 + shown_fields(model).len() as u16 + flags;
    let least_maps = if model.lesson.is_some() { 3 } else { 5 };
    let smaps_h = smaps_height.min(area.height.saturating_sub(least_maps));
    let [maps_area, smaps_area] =
        Split::vertical([Constraint::Min(3), Constraint::Length(smaps_h)]).areas(area);
    render_maps(model, frame, maps_area, theme);
    render_smaps(model, frame, smaps_area, theme);
}

fn overlaps_ours(model: &Model, line: &MapsLine) -> bool {
    line.start < model.snap.end_addr() && line.end > model.snap.shape.addr
}

/// The first line shown: the user's scroll when the panel has focus, else our mapping centred.
pub fn scroll(model: &Model, lines: &[MapsLine], height: u16) -> usize {
    if model.screen.focus == Focus::Panel {
        return usize::from(model.screen.panel_scroll).min(lines.len().saturating_sub(1));
    }
    let ours = lines
        .iter()
        .position(|l| overlaps_ours(model, l))
        .unwrap_or(0);
    ours.saturating_sub(usize::from(height) / 2)
        .min(lines.len().saturating_sub(usize::from(height)))
}

fn render_maps(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    let focused = model.screen.focus == Focus::Panel;
    let title_role = if focused { Role::Focused } else { Role::Title };
    let count = model.snap.readings.maps.as_ref().map_or(0, |m| m.len());
    let whose = model
        .space
        .looking
        .as_ref()
        .filter(|l| l.other)
        .map_or_else(|| "self".to_string(), |l| l.pid.to_string());
    let hint = if focused {
        " · Enter explores the top line"
    } else {
        ""
    };
    let block = Block::bordered().title(Span::styled(
        format!(" /proc/{whose}/maps ({count}){hint} "),
        theme.style(title_role),
    ));
    let inner = block.inner(area);
    let lines: Vec<Line> = match &model.snap.readings.maps {
        Err(e) => vec![Line::styled(e.clone(), theme.style(Role::Unreadable))],
        Ok(maps) => {
            let wide = inner.width >= 64;
            let first = scroll(model, maps, inner.height);
            maps.iter()
                .skip(first)
                .take(usize::from(inner.height))
                .enumerate()
                .map(|(row, l)| {
                    let ours = overlaps_ours(model, l);
                    let path = sanitize(&l.path);
                    let text = if wide {
                        format!("{:x}-{:x} {} {path}", l.start, l.end, l.perms)
                    } else {
                        let name = path.rsplit('/').next().unwrap_or("");
                        format!(
                            "{:012x} {} {:>7} {}",
                            l.start,
                            l.perms,
                            human(l.end - l.start),
                            name
                        )
                    };
                    // A name cut by the panel's edge says so.
                    let text = super::cut(&text, usize::from(inner.width.saturating_sub(1)), "…");
                    let (mark, role) = if ours {
                        ("▶", Role::OurMapping)
                    } else {
                        (" ", Role::Normal)
                    };
                    // Focused, the top line is the one Enter explores.
                    let mut style = theme.style(role);
                    if focused && row == 0 {
                        style = style.patch(theme.style(Role::Cursor));
                    }
                    Line::from(vec![
                        Span::styled(mark, theme.style(Role::Focused)),
                        Span::styled(text, style),
                    ])
                })
                .collect()
        }
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_smaps(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    let snap = &model.snap;
    let what = if model.space.looking.is_some() {
        "this VMA"
    } else {
        "our mapping"
    };
    // A private anonymous mapping may merge with a like neighbour into one VMA: smaps then
    // counts the neighbour's pages too, and the title says so. The VMA ends where the last
    // page does, not where the requested length does (the demo's 12,388 B are 4 pages).
    let shape = &snap.shape;
    let merged = model.space.looking.is_none()
        && snap.readings.vma.as_ref().is_some_and(|v| {
            v.head.start < shape.addr
                || v.head.end > shape.addr.saturating_add(shape.geometry.map_bytes())
        });
    let count = match snap.readings.vma_count {
        0 | 1 => String::new(),
        n => format!(" ({n} VMAs)"),
    };
    let whose = if merged {
        ": our mapping + neighbour".to_string()
    } else {
        format!(" of {what}{count}")
    };
    let title = format!(
        " smaps{whose}{} ",
        age_note(snap.readings.vma_age_ms, model.settings.refresh_ms, "")
    );
    let block = Block::bordered().title(Span::styled(title, theme.style(Role::Title)));
    let Some(vma) = &snap.readings.vma else {
        let msg = no_counters(snap, what);
        frame.render_widget(
            Paragraph::new(msg).block(block).wrap(Wrap { trim: false }),
            area,
        );
        return;
    };
    let path = if vma.head.path.is_empty() {
        "[anonymous]".to_string()
    } else {
        tail(
            &sanitize(&vma.head.path),
            usize::from(area.width.saturating_sub(7)),
        )
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", vma.head.perms), theme.style(Role::Title)),
        Span::raw(path),
    ])];
    let width = usize::from(area.width.saturating_sub(2));
    let flags = vm_flags(model, area.width.saturating_sub(2));
    let counters = counter_lines(model, vma, width, theme);
    // A short block keeps VmFlags (narrations point at its flags) and the first counters
    // (those the step names, then those that changed): the path goes first (the maps
    // block's ▶ line names the mapping and its permissions too), then the last counters.
    let rows = usize::from(area.height.saturating_sub(2));
    if 1 + counters.len() + flags.len() > rows {
        lines.clear();
    }
    let room = rows.saturating_sub(lines.len() + flags.len()).max(1);
    lines.extend(counters.into_iter().take(room));
    for (i, l) in flags.into_iter().enumerate() {
        let (head, rest) = if i == 0 {
            l.split_at(l.find(' ').map_or(l.len(), |k| k + 1))
        } else {
            ("", l.as_str())
        };
        lines.push(Line::from(vec![
            Span::raw(head.to_string()),
            Span::styled(rest.to_string(), theme.style(Role::Dim)),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The counters' lines, `Private_Dirty      4 kB (+4 kB)`, within `width` columns, in
/// aligned columns: narrower, the changes lose their unit, then the columns their padding
/// (to the longest name and value shown), and what still does not fit is cut with `…`.
fn counter_lines(
    model: &Model,
    vma: &crate::sys::proc::maps::Vma,
    width: usize,
    theme: Theme,
) -> Vec<Line<'static>> {
    // (name, value, change with its unit, change without)
    type Row = (&'static str, String, String, String);
    let rows: Vec<Row> = shown_fields(model)
        .into_iter()
        .map(|field| {
            let value = field.of(vma);
            let shown = if field.is_size() {
                kb(value)
            } else {
                value.to_string()
            };
            let (full, bare) = match model.delta(field) {
                None => (String::new(), String::new()),
                Some((before, now)) if field.is_size() => {
                    let d = delta_kb(now, before);
                    let bare = d.trim_end_matches(" kB").to_string();
                    (format!(" ({d})"), format!(" ({bare})"))
                }
                Some((before, _)) => {
                    let was = format!(" (was {before})");
                    (was.clone(), was)
                }
            };
            (field.name(), shown, full, bare)
        })
        .collect();
    let len = |s: &str| s.chars().count();
    let longest = |f: &dyn Fn(&Row) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let (name_w, value_w) = (longest(&|r| len(r.0)), longest(&|r| len(&r.1)));
    let fits = |nw: usize, vw: usize, bare: bool| {
        rows.iter()
            .all(|r| nw + vw + len(if bare { &r.3 } else { &r.2 }) <= width)
    };
    let (nw, vw, bare) = [
        (14, 10, false),
        (14, 10, true),
        (name_w + 1, value_w, false),
    ]
    .into_iter()
    .find(|&(nw, vw, bare)| fits(nw, vw, bare))
    .unwrap_or((name_w + 1, value_w, true));
    rows.into_iter()
        .map(|(name, value, full, short)| {
            let head = super::cut(&format!("{name:<nw$}{value:>vw$}"), width, "…");
            let change = if bare { short } else { full };
            let tail = super::cut(&change, width.saturating_sub(len(&head)), "…");
            Line::from(vec![
                Span::raw(head),
                Span::styled(tail, theme.style(Role::Warning)),
            ])
        })
        .collect()
}

/// Why the smaps block has no counters for `what`: the refresh's problem, a read not waited
/// for (after a jump), or no VMA there.
fn no_counters(snap: &crate::sys::probe::snapshot::Snapshot, what: &str) -> String {
    snap.notes.problem.clone().unwrap_or_else(|| {
        if snap.readings.vma_pending {
            format!("{what}: its smaps is being read (a jump shows the bytes first)")
        } else {
            format!("{what} is not in smaps (unmapped?)")
        }
    })
}

/// The `VmFlags` line of the smaps block, wrapped to `width` (a lesson may point at its last
/// flag, `lo`).
fn vm_flags(model: &Model, width: u16) -> Vec<String> {
    let Some(vma) = &model.snap.readings.vma else {
        return vec![String::new()];
    };
    let text = format!("VmFlags {}", vma.vm_flags.join(" "));
    crate::layout::wrap(&text, usize::from(width).max(1))
        .into_iter()
        .map(|(_, l)| l)
        .collect()
}

/// How old a reading is, in words, when it is older than two refresh intervals (and a
/// second): ` · smaps 3 s ago` (`what`: `smaps `); another process's smaps is read at a pace
/// its cost allows, so what is shown may be seconds old. Empty when it is fresh.
pub fn age_note(age_ms: u64, refresh_ms: u64, what: &str) -> String {
    if age_ms <= (2 * refresh_ms).max(1000) {
        return String::new();
    }
    let s = age_ms / 1000;
    if s < 120 {
        format!(" · {what}{s} s ago")
    } else {
        format!(" · {what}{} min ago", s / 60)
    }
}

/// The end of `text` in at most `max` characters, with `…` where the start was cut.
pub fn tail(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max || max == 0 {
        return text.to_string();
    }
    let keep: String = text.chars().skip(n - (max - 1)).collect();
    format!("…{keep}")
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("/tmp/abc/demo.txt", 40), "/tmp/abc/demo.txt");
        assert_eq!(tail("/tmp/abc/demo.txt", 9), "…demo.txt");
    }
}
