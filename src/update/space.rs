//! The address-space view and exploring: open it, take the session's reading, move the
//! selection, explore a VMA (from the view or the maps panel), come back; and what changes when
//! the session shows another VMA.

use crate::action::{Command, PromptEdit, SpaceAction};
use crate::model::{Document, Looking, Minimap, Model, Overlay, Seen};
use crate::sys::proc::maps::MapsLine;

/// Routes an address-space action: open the view, move the selection, explore a VMA (from
/// the view or the maps panel), come back.
pub(super) fn update(model: &mut Model, action: SpaceAction) -> Vec<Command> {
    match action {
        SpaceAction::Open => {
            // The session reads the address space at once; until then nothing is selected
            // and the first reading selects the VMA shown.
            model.space.vmas.clear();
            model.space.view.typing = false;
            model.space.view.filter.clear();
            model.screen.overlay = Overlay::Space {
                selected: usize::MAX,
            };
        }
        SpaceAction::Move(delta) => {
            if let Overlay::Space { selected } = &mut model.screen.overlay {
                // Through the VMAs in the order shown.
                let order = &model.space.view.order;
                let at = order.iter().position(|i| i == selected).unwrap_or(0);
                let max = order.len().saturating_sub(1);
                let next = i64::try_from(at)
                    .unwrap_or(0)
                    .saturating_add(delta)
                    .clamp(0, i64::try_from(max).unwrap_or(0));
                if let Some(i) = order.get(usize::try_from(next).unwrap_or(0)) {
                    *selected = *i;
                }
            }
        }
        SpaceAction::FilterStart => model.space.view.typing = true,
        SpaceAction::Filter(edit) => filter(model, edit),
        SpaceAction::SortNext => {
            let v = &mut model.space.view;
            v.sort = v.sort.next();
            v.reverse = false;
            arrange(model);
        }
        SpaceAction::SortReverse => {
            model.space.view.reverse = !model.space.view.reverse;
            arrange(model);
        }
        SpaceAction::Explore => {
            if let Overlay::Space { selected } = model.screen.overlay {
                model.screen.overlay = Overlay::None;
                if let Some(v) = model.space.vmas.get(selected) {
                    return vec![Command::Explore(v.line.clone())];
                }
            }
        }
        SpaceAction::ExplorePanelLine => {
            let line = model.snap.readings.maps.as_ref().ok().and_then(|m| {
                let i = usize::from(model.screen.panel_scroll).min(m.len().saturating_sub(1));
                m.get(i).cloned()
            });
            if let Some(line) = line {
                return vec![Command::Explore(line)];
            }
        }
        SpaceAction::Back if model.space.looking.as_ref().is_some_and(|l| l.back) => {
            return vec![Command::ExploreBack];
        }
        SpaceAction::Click(index) => match model.screen.overlay {
            Overlay::Space { selected } if selected == index => {
                return update(model, SpaceAction::Explore);
            }
            Overlay::Space { ref mut selected } if model.space.view.order.contains(&index) => {
                *selected = index;
            }
            _ => {}
        },
        SpaceAction::Back => {
            model.log(if model.space.looking.is_some() {
                "Backspace returns to the mapping mmapscope made: there is none here (--pid)"
            } else {
                "Backspace returns from a VMA explored with Enter (maps panel) or A; this is our \
                 own mapping already"
            });
        }
    }
    Vec::new()
}

/// A key while the filter is typed: the view follows each one.
fn filter(model: &mut Model, edit: PromptEdit) {
    let v = &mut model.space.view;
    match edit {
        PromptEdit::Insert(c) if !c.is_control() && v.filter.chars().count() < 64 => {
            v.filter.push(c);
        }
        PromptEdit::Insert(_) => return,
        PromptEdit::Backspace => {
            v.filter.pop();
        }
        PromptEdit::Submit => {
            v.typing = false;
            if let Some(said) = v.said.clone() {
                model.log(said);
            }
            return;
        }
        PromptEdit::Cancel => {
            v.typing = false;
            v.filter.clear();
        }
    }
    arrange(model);
}

/// Orders and filters the VMAs as the view says; the selection follows an address typed, or
/// stays on its VMA while it is shown, else goes to the first shown.
fn arrange(model: &mut Model) {
    let hit = model.space.view.arrange(&model.space.vmas);
    if let Overlay::Space { selected } = &mut model.screen.overlay {
        let order = &model.space.view.order;
        if let Some(i) = hit {
            *selected = i;
        } else if !order.contains(selected) {
            *selected = order.first().copied().unwrap_or(0);
        }
    }
}

/// The address space as the session read it: the first reading selects the VMA shown; later
/// ones keep the VMA selected (by its start) where it is still there.
pub(super) fn probed(
    model: &mut Model,
    vmas: Vec<crate::sys::proc::process::VmaSummary>,
    title: String,
    read_ms: u64,
    note: Option<String>,
) {
    if let Overlay::Space { selected } = &mut model.screen.overlay {
        let first = *selected == usize::MAX;
        let here = if first {
            model.snap.shape.addr
        } else {
            model
                .space
                .vmas
                .get(*selected)
                .map_or(u64::MAX, |v| v.line.start)
        };
        *selected = vmas
            .iter()
            .position(|v| (v.line.start..v.line.end).contains(&here))
            .unwrap_or(if first {
                0
            } else {
                (*selected).min(vmas.len().saturating_sub(1))
            });
    }
    model.space.totals = crate::sys::proc::rss::totals(&vmas);
    model.space.vmas = vmas;
    model.space.title = title;
    model.space.read_ms = read_ms;
    model.space.note = note;
    arrange(model);
}

/// The session shows another VMA (or ours again): our mapping's place and edits are kept
/// aside while away, bytes seen before are forgotten (a new mapping changes nothing).
pub(super) fn look(model: &mut Model, looking: Option<Looking>) {
    // Followed, the same VMA keeps its place; one that had ended and is shown again (a
    // process reopened after exec) is another.
    let same_vma = match (&model.space.looking, &looking) {
        (Some(a), Some(b)) => {
            (a.pid, a.start, &a.vma) == (b.pid, b.start, &b.vma)
                && (a.ended.is_none() || b.ended.is_some())
        }
        _ => false,
    };
    if let Some(l) = &looking
        && same_vma
    {
        // The same VMA followed: only its end (exit, unmapped) is news.
        if l.ended.is_some()
            && model
                .space
                .looking
                .as_ref()
                .is_some_and(|o| o.ended.is_none())
        {
            model.log(format!(
                "{}: {}; the last state stays on screen{}",
                l.process,
                l.ended.clone().unwrap_or_default(),
                if l.other {
                    "; writes are refused from now on"
                } else {
                    ""
                }
            ));
        }
        model.space.looking = looking;
        return;
    }
    // Another VMA shown: the place left goes on the jump list (unless a jump is on its way,
    // which records its own; nor on attach, nor from a VMA whose process or mapping ended).
    let attach = model.space.looking.is_none() && looking.as_ref().is_some_and(|l| !l.back);
    let ended = model
        .space
        .looking
        .as_ref()
        .is_some_and(|l| l.ended.is_some());
    if !attach && !ended && model.space.jumps.pending.is_none() {
        let left = super::jumps::here(model);
        model.space.jumps.record(left, crate::model::Travel::Jump);
    }
    // What the refreshes saw (the minimap too, unless the first VMA is shown on attach) was
    // about the one left.
    let minimap = if model.space.looking.is_some() || looking.as_ref().is_some_and(|l| l.back) {
        Minimap::default()
    } else {
        std::mem::take(&mut model.seen.minimap)
    };
    model.seen = Seen {
        minimap,
        ..Seen::default()
    };
    // Our document is kept aside while away and comes back whole; another VMA starts afresh.
    match (&model.space.looking, &looking) {
        (None, Some(l)) if !l.back => {}
        (None, Some(_)) => {
            model.space.away = Some(Box::new(std::mem::take(&mut model.doc)));
        }
        (Some(_), None) => {
            if let Some(ours) = model.space.away.take() {
                model.doc = *ours;
            }
        }
        (Some(_), Some(_)) => model.doc = Document::default(),
        (None, None) => {}
    }
    model.screen.edit = None;
    model.snap.probed.bytes = Default::default();
    model.snap.readings.vma = None;
    model.log(looking_words(looking.as_ref()));
    model.space.looking = looking;
}

/// The VMA explored moved from `old` to `new` (mremap, or unmapped and mapped again): the
/// cursor stays on the same byte of the file (or offset of anonymous memory), the log says
/// where it went and how that is known.
pub(super) fn moved(model: &mut Model, old: &MapsLine, new: &MapsLine, inferred: bool) {
    let off = if old.inode == 0 {
        model.doc.cursor
    } else {
        (old.offset + model.doc.cursor).saturating_sub(new.offset)
    };
    model.doc.cursor = off;
    let h = model.layout().grid_rows();
    // Scrolled by the next probe, which brings the new place's shape.
    model.doc.top = model.line_of(off).saturating_sub(h / 3);
    if let Some(l) = &mut model.space.looking {
        l.start = new.start;
    }
    let how = if inferred {
        format!(
            "inferred: the only new anonymous {} VMA of {}",
            new.perms,
            crate::text::human(new.end - new.start)
        )
    } else {
        format!(
            "the same file, inode {}, its offsets 0x{:x}-0x{:x} mapped there",
            new.inode,
            new.offset,
            new.offset + (new.end - new.start)
        )
    };
    model.log(format!(
        "the VMA moved: 0x{:x}-0x{:x} -> 0x{:x}-0x{:x} ({how}); followed",
        old.start, old.end, new.start, new.end
    ));
}

/// What the log says when the session shows `looking` (or our mapping again).
fn looking_words(looking: Option<&Looking>) -> String {
    match looking {
        Some(l) => format!(
            "exploring {} of {}: {}; {} returns",
            l.vma,
            l.process,
            if l.other {
                format!(
                    "bytes through {} (present pages only), pages from its pagemap",
                    l.via
                )
            } else {
                "bytes of present pages only (a read elsewhere would fault them in)".to_string()
            },
            // With --pid there is no mapping of ours to go back to; the jump list has the
            // place left.
            if l.back { "Backspace" } else { "Ctrl-o" }
        ),
        None => "back to our mapping".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::action::{PromptEdit, SpaceAction};
    use crate::sys::proc::maps::MapsLine;
    use crate::sys::proc::process::{VmaMemory, VmaSummary, kind_of};

    fn space(m: &mut Model) {
        let vma = |start: u64, end: u64, path: &str, rss: u64| {
            let line = MapsLine {
                start,
                end,
                perms: "rw-p".into(),
                offset: 0,
                dev: 0,
                inode: 0,
                path: path.into(),
            };
            VmaSummary {
                kind: kind_of(&line, "/bin/x", None),
                line,
                rss: Some(rss),
                mem: Some(VmaMemory {
                    rss,
                    pss: rss,
                    private: rss,
                    anonymous: rss,
                    ..VmaMemory::default()
                }),
                label: None,
            }
        };
        update(m, Action::Space(SpaceAction::Open));
        update(
            m,
            Event::SpaceProbed {
                vmas: vec![
                    vma(0x1000, 0x3000, "[heap]", 4096),
                    vma(0x5000, 0x9000, "", 16384),
                    vma(0xa000, 0xb000, "[stack]", 8192),
                ],
                title: "pid 1 x".into(),
                read_ms: 0,
                note: None,
            },
        );
    }

    fn selected(m: &Model) -> usize {
        match m.screen.overlay {
            Overlay::Space { selected } => selected,
            _ => usize::MAX,
        }
    }

    #[test]
    fn the_view_sorts_by_a_column_and_back_and_moves_in_that_order() {
        let mut m = model(4, (120, 40));
        space(&mut m);
        assert_eq!(m.space.view.order, [0, 1, 2]);
        assert_eq!(m.space.totals.rss, 28672);
        update(&mut m, Action::Space(SpaceAction::SortNext));
        assert_eq!(m.space.view.order, [1, 2, 0], "Rss, largest first");
        update(&mut m, Action::Space(SpaceAction::Move(i64::MIN)));
        assert_eq!(selected(&m), 1, "the first shown is the largest");
        update(&mut m, Action::Space(SpaceAction::Move(1)));
        assert_eq!(selected(&m), 2);
        update(&mut m, Action::Space(SpaceAction::SortReverse));
        assert_eq!(m.space.view.order, [0, 2, 1]);
        assert_eq!(selected(&m), 2, "the selection stays on its VMA");
    }

    #[test]
    fn the_filter_keeps_names_and_kinds_and_an_address_selects_its_vma() {
        let mut m = model(4, (120, 40));
        space(&mut m);
        let typed = |m: &mut Model, text: &str| {
            update(m, Action::Space(SpaceAction::FilterStart));
            for c in text.chars() {
                update(m, Action::Space(SpaceAction::Filter(PromptEdit::Insert(c))));
            }
        };
        typed(&mut m, "stack");
        assert!(m.space.view.typing);
        assert_eq!(m.space.view.order, [2]);
        assert_eq!(selected(&m), 2);
        update(
            &mut m,
            Action::Space(SpaceAction::Filter(PromptEdit::Cancel)),
        );
        assert_eq!((m.space.view.order.len(), m.space.view.typing), (3, false));
        typed(&mut m, "anon");
        assert_eq!(m.space.view.order, [1], "by kind");
        update(
            &mut m,
            Action::Space(SpaceAction::Filter(PromptEdit::Cancel)),
        );
        typed(&mut m, "0x5100");
        assert_eq!(selected(&m), 1);
        assert_eq!(m.space.view.order.len(), 3, "an address filters nothing");
        assert!(
            m.space
                .view
                .said
                .as_deref()
                .unwrap()
                .contains("is in [anonymous] (+0x100)"),
            "{:?}",
            m.space.view.said
        );
        for _ in 0..4 {
            update(
                &mut m,
                Action::Space(SpaceAction::Filter(PromptEdit::Backspace)),
            );
        }
        typed(&mut m, "4000");
        let said = m.space.view.said.clone().unwrap();
        assert!(
            said.contains(
                "0x4000 is in a gap: after [heap] (ends 0x3000), before [anonymous] (starts 0x5000)"
            ),
            "{said}"
        );
        update(
            &mut m,
            Action::Space(SpaceAction::Filter(PromptEdit::Submit)),
        );
        assert!(!m.space.view.typing);
        assert!(logged(&m).last().unwrap().contains("is in a gap"));
    }

    #[test]
    fn the_minimap_forgets_what_it_knew_when_another_vma_is_shown() {
        use crate::sys::probe::chunks::{Bucket, ChunkSlice};
        let mut m = model(16, (120, 40));
        let known = |m: &Model| {
            m.seen
                .minimap
                .chunks
                .iter()
                .filter(|c| c.bucket.is_some())
                .count()
        };
        let probed = (0..16)
            .map(|first| {
                let b = Bucket {
                    first,
                    pages: 1,
                    ..Bucket::default()
                };
                (first, b)
            })
            .collect();
        let slice = ChunkSlice {
            layout: m.seen.minimap.layout,
            probed,
        };
        m.seen.minimap.merge(&slice, 0);
        assert_eq!(known(&m), 16);
        let heap = Looking {
            pid: 1,
            process: "pid 1 mmapscope".into(),
            other: false,
            vma: "[heap]".into(),
            via: "/proc/PID/mem".into(),
            start: 0x1000,
            back: true,
            ended: None,
            reopen: false,
        };
        update(&mut m, Event::Looking(Some(heap.clone())));
        assert_eq!(
            known(&m),
            0,
            "the heap is another VMA, even of the same length"
        );
        m.seen.minimap.merge(&slice, 0);
        // The same VMA followed (it ended): still what it was.
        let ended = Looking {
            ended: Some("the VMA was unmapped".into()),
            ..heap
        };
        update(&mut m, Event::Looking(Some(ended)));
        assert_eq!(known(&m), 16);
        update(&mut m, Event::Looking(None));
        assert_eq!(known(&m), 0, "back to our mapping");
    }

    #[test]
    fn the_log_names_the_key_that_returns_backspace_to_ours_ctrl_o_with_pid() {
        let ours = Looking {
            vma: "[heap]".into(),
            back: true,
            ..Looking::default()
        };
        assert!(super::looking_words(Some(&ours)).ends_with("; Backspace returns"));
        let theirs = Looking {
            other: true,
            back: false,
            ..ours
        };
        let words = super::looking_words(Some(&theirs));
        assert!(words.ends_with("; Ctrl-o returns"), "{words}");
    }

    /// Exploring a VMA of our own process (ld.so) and coming back: another mapping, not a
    /// file that grew or shrank.
    #[test]
    fn exploring_another_vma_and_back_compares_no_sizes() {
        let mut m = file_model(4, 12388);
        probed(&mut m, b"demo", Some(12388), 10);
        let looking = Looking {
            pid: 1,
            process: "pid 1 mmapscope".into(),
            other: false,
            vma: "/usr/lib/ld-linux-x86-64.so.2".into(),
            via: "process_vm_readv".into(),
            start: 0x7f00_1000_0000,
            back: true,
            ended: None,
            reopen: false,
        };
        update(&mut m, Event::Looking(Some(looking)));
        let mut ld = m.snap.clone();
        ld.shape.addr = 0x7f00_1000_0000;
        ld.shape.backing = Backing::File {
            path: "/usr/lib/ld-linux-x86-64.so.2".into(),
            writable: false,
            regular: true,
        };
        ld.shape.geometry.file_size = Some(215_000);
        let demo = m.snap.clone();
        for snap in [ld, demo] {
            update(
                &mut m,
                Event::Probed {
                    snap: Box::new(snap),
                    now_ms: 20,
                    clock: "00:00:02".into(),
                    fresh: false,
                },
            );
        }
        update(&mut m, Event::Looking(None));
        let log = logged(&m);
        assert!(
            !log.iter()
                .any(|l| l.contains("grew") || l.contains("shrank")),
            "{log:?}"
        );
    }

    #[test]
    fn back_from_a_small_vma_to_a_place_deep_in_ours_probes_inside_the_snapshot_shown() {
        // Page 6 of 8 of ours, then a one-page VMA explored, then Backspace: our place comes
        // back before our snapshot does, so the next probe is asked with our place over the
        // small VMA's snapshot (it overflowed: `last_page - first_page` in `Model::view`).
        let mut m = model(8, (80, 24));
        update(&mut m, Action::Grid(GridAction::Goto(GotoTarget::Page(6))));
        let ours = m.doc.clone();
        assert!(ours.top > 0);
        let looking = Looking {
            pid: 1,
            process: "pid 1 mmapscope".into(),
            vma: "[vdso]".into(),
            start: 0x7fff_0000_0000,
            back: true,
            ..Looking::default()
        };
        update(&mut m, Event::Looking(Some(looking)));
        let mut small = m.snap.clone();
        small.shape.addr = 0x7fff_0000_0000;
        small.shape.geometry.len = PS;
        update(
            &mut m,
            Event::Probed {
                snap: Box::new(small),
                now_ms: 20,
                clock: "00:00:02".into(),
                fresh: false,
            },
        );
        assert_eq!((m.doc.cursor, m.doc.top), (0, 0));
        update(&mut m, Event::Looking(None));
        assert_eq!(m.doc, ours, "our document comes back whole");
        let v = m.view();
        assert_eq!((v.first_page, v.page_count), (0, 1), "{v:?}");
        assert!(v.byte_start + v.byte_len <= PS, "{v:?}");
    }
}
