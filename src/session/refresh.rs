//! The session's refresh: what the observer read (the pages on screen, the VMA followed, the
//! address space, the page map, the second mapping of `--also`) goes to the model, and the
//! peer and the child that ended on their own are reaped and told.

use crate::action::Event;
use crate::sys::SysError;
use crate::sys::attach::foreign::VmaFate;
use crate::sys::probe::snapshot::View;
use crate::update::update;

use super::Session;
use super::observer::NO_CHUNKS;
use super::subject::Subject;

impl Session {
    /// The peer and the child that ended on their own since the last look, reaped and logged;
    /// a script also keeps the log line for the JSON of the line it ended during (`ended`).
    fn reap_ended(&mut self) {
        let mut news = Vec::new();
        if let Some((pid, how)) = self.lab.reap_peer() {
            tracing::info!(pid, %how, "the peer ended");
            news.push(Event::PeerEnded { pid, how });
        }
        if let Some((pid, how)) = self.lab.reap_child() {
            tracing::info!(pid, %how, "the forked child ended");
            news.push(Event::ChildEnded { pid, how });
        }
        for event in news {
            update(&mut self.model, event);
            if !self.observer.interactive() {
                self.ended
                    .extend(self.model.log.lines.last().map(|l| l.text.clone()));
            }
        }
    }

    /// What ended on its own (the peer, the child) since the last call, in the log's words: a
    /// script's line tells it in its JSON (`LineResult::events`). Empty when interactive.
    pub(super) fn ended_news(&mut self) -> Vec<String> {
        self.reap_ended();
        std::mem::take(&mut self.ended)
    }

    /// Probes the kernel into the model. Interactive: the visible pages and bytes. Scripted: the
    /// mapping's shape (address, mode, protection, file size) without reading a byte, since in a
    /// script nobody is looking and a read would change page state. An explored VMA is
    /// followed: grown, shrunk, moved away; once it or its process is gone, the last state
    /// stays.
    pub fn refresh(&mut self) {
        // A replay draws from the frame shown: nothing live is looked at.
        if !self.refresh_recorded() {
            self.refresh_live();
        }
    }

    fn refresh_live(&mut self) {
        let view = self.observer.view(&self.model);
        self.reap_ended();
        // The prober compares our pages with the child's, while there is one; and reading
        // bytes must not split the pages we share with it.
        self.observer.follow_child(self.lab.child_spec());
        if let Subject::Ours { region, .. } = &mut self.subject {
            region.read_without_pinning(self.lab.keeper.is_some());
        }
        let space = matches!(
            self.model.screen.overlay,
            crate::model::Overlay::Space { .. }
        );
        if space {
            self.probe_space();
        }
        if self
            .subject
            .explored_mut()
            .is_some_and(|e| e.ended.is_some())
            || self.process_gone()
        {
            return;
        }
        // The VMA explored, asked of the kernel by PROCMAP_QUERY (cheap: one VMA).
        let fate = self.subject.explored_mut().and_then(|e| e.view.fate_now());
        // The rows of the grid, for the second mapping's pane (its minimap is not drawn).
        let rows = View {
            minimap: NO_CHUNKS,
            ..view
        };
        let mut snap = self.observer.snapshot(self.subject.mapped(), view);
        if let Some(e) = self.subject.explored_mut() {
            let changed = fate.as_ref().is_some_and(|f| *f != VmaFate::Same);
            // The address-space view covers the counters: they are not read for it.
            let (handle, line) = (e.view.handle(), e.view.line());
            let observer = &mut self.observer;
            observer.vma_readings(handle, line, changed, !space, &self.model, &mut snap);
        }
        self.name_sections(&mut snap);
        if matches!(self.subject, Subject::Ours { explored: None, .. }) {
            snap.write_allowed = self.gate.file_writable();
        }
        // Where the kernel has no PROCMAP_QUERY (before 6.11), the maps text says how the
        // VMA fares; a snapshot of a VMA gone is not shown (the last state stays).
        let fate = fate.or_else(|| {
            let maps = snap.readings.maps.as_ref().ok()?;
            Some(self.subject.explored_mut()?.view.fate(maps))
        });
        // A VMA not found may be a process that went meanwhile: that is said instead.
        if !matches!(fate, Some(VmaFate::Same)) && self.process_gone() {
            return;
        }
        let now = snap.readings.maps.as_ref().ok().map(|m| m.as_slice());
        if !self.follow(fate, now) {
            // Moved (not ended): shown again from its new place.
            if self
                .subject
                .explored_mut()
                .is_some_and(|e| e.ended.is_none())
            {
                self.refresh();
            }
            return;
        }
        let now_ms = self.observer.now_ms();
        update(
            &mut self.model,
            Event::Probed {
                snap: Box::new(snap),
                now_ms,
                clock: crate::text::clock_now(),
                fresh: false,
            },
        );
        self.after_probe();
        self.probe_also(rows);
    }

    /// After a probe: the page map's cells, and with a mark the pages written since it and the
    /// whole mapping's states again for what changed since it.
    fn after_probe(&mut self) {
        // The written set first: the compare folds it in; a mark dropped stops it.
        if self.model.time.mark.is_none() {
            self.untrack_if_tracking();
        } else {
            self.read_written();
        }
        if self.model.time.mark.is_some() {
            self.compare_states();
        }
        if let Some(news) = self.observer.page_map(&self.model, self.subject.mapped()) {
            update(&mut self.model, news);
        }
    }

    /// While pointers are named, the sections of the files mapped by the process shown.
    fn name_sections(&mut self, snap: &mut crate::sys::probe::snapshot::Snapshot) {
        let handle = self.subject.explored_mut().map(|e| e.view.handle());
        (self.observer).name_sections(handle, &self.model, snap);
    }

    /// The address space of the process shown, for its view: every VMA with its Rss, from
    /// one read of smaps (read again when its cost allows; the view says how old).
    pub(super) fn probe_space(&mut self) {
        let ours = self
            .subject
            .region()
            .map(|region| (region.addr(), region.addr() + region.map_bytes()));
        let attached = self.subject.attached();
        if let Some(news) = self.observer.space(attached, ours, &self.model) {
            update(&mut self.model, news);
        }
    }

    /// `--also`: adds a second mapping of our file, in `mode`, shown beside the first.
    ///
    /// # Errors
    /// No file of ours (anonymous memory, `--pid`), or the mmap's refusal.
    pub fn add_also(&mut self, mode: crate::sys::MapMode) -> Result<(), SysError> {
        let Subject::Ours { region, .. } = &self.subject else {
            return Err(SysError::new(
                libc::EINVAL,
                "--also",
                "a second mapping is made of a file we map, not of another process",
            ));
        };
        let also = region.also(mode, self.gate.file_writable())?;
        update(
            &mut self.model,
            Event::Note(format!(
                "--also: the same file mapped again, {} at 0x{:x}, shown beside the grid; o \
                 (or `swap`) makes it the one the grid shows and keys act on",
                mode.flag_name(),
                also.addr()
            )),
        );
        self.also = Some(also);
        self.refresh();
        Ok(())
    }

    /// The second mapping's snapshot, of the `rows` of the grid, for the pane beside it.
    fn probe_also(&mut self, rows: View) {
        let snap = match (&self.also, &self.subject) {
            (Some(also), Subject::Ours { explored: None, .. }) => {
                let mut snap =
                    crate::sys::probe::snapshot::take(also, self.observer.own_prober(), rows);
                snap.write_allowed = self.gate.file_writable();
                Some(Box::new(snap))
            }
            _ => None,
        };
        if snap.is_some() || self.model.lab.also.is_some() {
            update(&mut self.model, Event::AlsoProbed(snap));
        }
    }
}
