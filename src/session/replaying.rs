//! The session's side of a replay (`mmapscope replay FILE`): opening one, showing the frame
//! the timeline names, the refresh that draws from it (the clock moves it while playing), and
//! the places where a live session would ask the kernel and a replay asks the frame instead (a
//! search, an address, the mark and its compare, `diff`, an export's picture). The frame's
//! plain data and the views built from it are `replayed::Replayed`'s.

use std::path::Path;

use crate::action::Event;
use crate::model::Model;
use crate::record::RecordError;
use crate::search::query::Request;
use crate::sys::attach::locate::Located;
use crate::sys::map::range::Mapped;
use crate::sys::probe::snapshot::View;

use super::Session;
use super::observer::Observer;
use super::replayed::Replayed;
use super::subject::Subject;

impl Session {
    /// A session on the recording at `path` (`mmapscope replay FILE`), on its first frame, its
    /// model sized for a `size` terminal.
    ///
    /// # Errors
    /// The recording's own: not one, damaged, a newer schema, I/O.
    pub fn replay(path: &Path, size: (u16, u16)) -> Result<Self, RecordError> {
        let replayed = Replayed::open(path)?;
        let timeline = replayed.timeline();
        let view = View {
            first_page: 0,
            page_count: 0,
            ..View::default()
        };
        let snap = replayed.snapshot(&view);
        let mut model = Model::new(snap, size);
        model.log.clock = crate::text::clock_now();
        let looking = replayed.looking();
        if let Some(why) = &timeline.cut_short {
            model.log(format!(
                "{}: {why}",
                crate::text::sanitize(&path.to_string_lossy())
            ));
        }
        model.log(format!(
            "{}: {} frames over {} s; , . step, < > changes, Space plays; a recording is \
             read-only",
            replayed.title(),
            timeline.len(),
            timeline.seconds(timeline.duration_ms())
        ));
        model.time.replay = Some(timeline);
        let observer = Observer::new(crate::sys::probe::prober::Prober::new(), None, true);
        let mut session = Self::with(Subject::Recorded(Box::new(replayed)), observer, model);
        if looking.is_some() {
            crate::update::update(&mut session.model, Event::Looking(looking));
        }
        session.refresh();
        Ok(session)
    }

    /// Shows frame `n` of the recording replayed (the timeline is on it already).
    pub(super) fn show_frame(&mut self, n: usize) {
        let Subject::Recorded(r) = &mut self.subject else {
            return;
        };
        if let Err(e) = r.show(n) {
            crate::update::update(&mut self.model, Event::Note(format!("frame {n}: {e}")));
            return;
        }
        // What the session did before this frame (a lesson's step, a script's line), as the
        // log said it then.
        for said in r.events() {
            crate::update::update(&mut self.model, Event::Note(format!("frame {n}: {said}")));
        }
        let looking = r.looking();
        if looking.is_some() {
            crate::update::update(&mut self.model, Event::Looking(looking));
        }
    }

    /// The refresh of a replay: the clock moves the frame while playing, then the rows on
    /// screen, the address-space view and the page map are drawn from the frame shown.
    /// Returns false when the session is not a replay.
    pub(super) fn refresh_recorded(&mut self) -> bool {
        if !matches!(self.subject, Subject::Recorded(_)) {
            return false;
        }
        let now_ms = self.observer.now_ms();
        for command in crate::update::update(&mut self.model, Event::ReplayClock { now_ms }) {
            if let crate::action::Command::ShowFrame(n) = command {
                self.show_frame(n);
            }
        }
        let view = self.observer.view(&self.model);
        let Subject::Recorded(r) = &mut self.subject else {
            return true;
        };
        let snap = r.snapshot(&view);
        let space = matches!(
            self.model.screen.overlay,
            crate::model::Overlay::Space { .. }
        );
        let mut news = vec![Event::Probed {
            snap: Box::new(snap),
            now_ms,
            clock: crate::text::clock_now(),
            fresh: false,
        }];
        news.extend(space.then(|| r.space(&self.model, now_ms)).flatten());
        news.extend(r.page_map(&self.model));
        for event in news {
            crate::update::update(&mut self.model, event);
        }
        if self.model.time.mark.is_some() {
            self.compare_states();
        }
        true
    }

    /// `b` in a replay: a mark of the frame shown (returns false when the session is not a
    /// replay). From then on each frame shown is compared with it.
    pub(super) fn mark_recorded(&mut self) -> bool {
        let Subject::Recorded(r) = &self.subject else {
            return false;
        };
        let mark = r.mark(self.observer.now_ms());
        // The written set: none in a recording, and the model says why.
        self.read_written();
        crate::update::update(&mut self.model, Event::Marked(Box::new(mark)));
        true
    }

    /// With a mark in a replay: the frame shown's page states, for the compare (returns false
    /// when the session is not a replay).
    pub(super) fn compare_recorded(&mut self) -> bool {
        let Subject::Recorded(r) = &self.subject else {
            return false;
        };
        let marked = self.model.time.mark.as_ref();
        let runs = if marked.is_some_and(|m| m.is_of(r.still().addr())) {
            r.flag_runs()
        } else {
            Vec::new()
        };
        crate::update::update(&mut self.model, Event::Compared(runs));
        true
    }

    /// `diff` (and the diff's picture) in a replay: the frame shown's states, bytes of `pages`
    /// and VMAs. `None` when the session is not a replay.
    pub(super) fn recorded_now(&self, pages: &[u64]) -> Option<super::marking::Now> {
        let Subject::Recorded(r) = &self.subject else {
            return None;
        };
        let ps = r.still().page_size().max(1);
        let base = r.still().addr();
        let bytes = pages
            .iter()
            .map(|&p| (p, r.frame.bytes.get(&(base + p * ps)).cloned()))
            .collect();
        Some((r.flag_runs(), bytes, Some(r.mark_vmas())))
    }

    /// `export svg map` in a replay: every cell of the VMA shown, from the frame's runs (as
    /// the live picture's, at most 64 x 64 cells). `None` when the session is not a replay.
    pub(super) fn recorded_cells(&self) -> Option<crate::model::PageMapData> {
        let Subject::Recorded(r) = &self.subject else {
            return None;
        };
        Some(r.cells(super::export::cell_pages(r.still().pages())))
    }

    /// `export svg space` in a replay: the frame's VMAs for the picture (returns false when the
    /// session is not a replay).
    pub(super) fn space_recorded(&mut self) -> bool {
        let Subject::Recorded(r) = &mut self.subject else {
            return false;
        };
        r.space_sent = None;
        let now_ms = self.observer.now_ms();
        if let Some(news) = r.space(&self.model, now_ms) {
            crate::update::update(&mut self.model, news);
        }
        true
    }

    /// `:` and `/` in a replay: the search runs over the frame at once. Returns false when the
    /// session is not a replay.
    pub(super) fn search_recorded(&mut self, req: &Request) -> bool {
        let Subject::Recorded(r) = &self.subject else {
            return false;
        };
        let finished = r.find(req);
        crate::update::update(&mut self.model, Event::SearchEnded(Box::new(finished)));
        true
    }

    /// An address in a replay: the VMA of the frame that holds it, opened there, or the gap.
    /// Returns false when the session is not a replay.
    pub(super) fn goto_recorded(&mut self, addr: u64) -> bool {
        let Subject::Recorded(r) = &self.subject else {
            return false;
        };
        match r.locate(addr) {
            Located::Inside(line) => {
                if line.start != r.still().addr() {
                    self.explore(&line);
                }
                let base = line.start;
                crate::update::update(&mut self.model, Event::Arrived { addr, base });
                self.refresh();
            }
            Located::Gap { before, after } => {
                crate::update::update(
                    &mut self.model,
                    Event::Gap {
                        addr,
                        before,
                        after,
                    },
                );
            }
        }
        true
    }
}
