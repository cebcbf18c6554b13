//! The session's observer: every reader of the kernel's view of what is shown, and their
//! pacing. It owns the probers (of our own process, and of the one `--pid` attached to), the
//! paced /proc readings (`watch`: smaps counters, the maps text, the address space), the
//! handle on our own process, and the pacing of the minimap and the page map. It reads and
//! returns what it read (a snapshot, or the news for `update`); it never changes the model,
//! the mapping or the process it looks at.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::action::Event;
use crate::model::Model;
use crate::sys::SysError;
use crate::sys::attach::handle::ProcessHandle;
use crate::sys::map::range::Mapped;
use crate::sys::probe::chunks::ChunkAsk;
use crate::sys::probe::prober::Prober;
use crate::sys::probe::snapshot::{self, Snapshot, View};
use crate::sys::proc::maps::MapsLine;
use crate::update::update;

use super::watch::Watch;

/// No minimap chunk probed.
pub(super) const NO_CHUNKS: ChunkAsk = ChunkAsk {
    order: Vec::new(),
    at_least: 0,
    urgent: 0,
    urgent_budget: Duration::ZERO,
    budget: Duration::ZERO,
    whole_first: false,
};

/// A view of nothing: the mapping's shape is taken, no page probed, no byte read.
const SHAPE_ONLY: View = View {
    first_page: 0,
    page_count: 0,
    byte_start: 0,
    byte_len: 0,
    minimap: NO_CHUNKS,
};

/// The readers of what a session shows, and when each may read again. See the module's words.
pub(super) struct Observer {
    /// Probes of our own process.
    prober: Prober,
    /// Probes of the process attached to (`--pid`), through its handle.
    other: Option<Prober>,
    /// smaps and maps of the process explored and the address-space view, read through its
    /// handle at a pace their cost allows.
    watch: Watch,
    /// A handle on our own process, once one of its VMAs is explored or its address space
    /// shown.
    own: Option<Arc<ProcessHandle>>,
    /// When the minimap last spent its budget on chunks nothing changed: once per refresh
    /// interval, however many refreshes keys bring.
    minimap_spent: Option<Instant>,
    /// The page map's next cell to read again.
    page_map_next: usize,
    /// Refreshes read the bytes on screen (the TUI); a script reads none.
    interactive: bool,
    /// The session's start: the model's clock counts from it.
    start: Instant,
    /// The sections of the ELF files mapped, for naming pointers (`→ libc.so.6 .text`).
    sections: crate::sys::proc::elf::SectionCache,
}

/// The initial model: a first snapshot of page 0, then one of the real view (with one
/// refresh's budget of minimap chunks: the first screen does not wait for the whole minimap).
pub fn initial_model(region: &dyn Mapped, prober: &Prober, size: (u16, u16)) -> Model {
    let first = snapshot::take(
        region,
        prober,
        View {
            first_page: 0,
            page_count: 1,
            byte_start: 0,
            byte_len: 0,
            minimap: NO_CHUNKS,
        },
    );
    let mut model = Model::new(first, size);
    let snap = snapshot::take(region, prober, model.view());
    update(
        &mut model,
        Event::Probed {
            snap: Box::new(snap),
            now_ms: 0,
            clock: crate::text::clock_now(),
            // The first probe saw nothing mapped yet; its change is not news.
            fresh: true,
        },
    );
    model
}

/// The model a session starts with: interactive, the visible pages; scripted, the shape only.
pub(super) fn first_model(
    shown: &dyn Mapped,
    prober: &Prober,
    interactive: bool,
    size: (u16, u16),
) -> Model {
    if interactive {
        return initial_model(shown, prober, size);
    }
    let snap = snapshot::take(shown, prober, SHAPE_ONLY);
    let mut m = Model::new(snap.clone(), size);
    update(
        &mut m,
        Event::Probed {
            snap: Box::new(snap),
            now_ms: 0,
            clock: crate::text::clock_now(),
            fresh: true,
        },
    );
    m
}

impl Observer {
    /// The readers of a session that starts now: `prober` of our own process, `other` of the
    /// process attached to.
    pub(super) fn new(prober: Prober, other: Option<Prober>, interactive: bool) -> Self {
        Self {
            prober,
            other,
            watch: Watch::default(),
            own: None,
            minimap_spent: interactive.then(Instant::now),
            page_map_next: 0,
            interactive,
            start: Instant::now(),
            sections: Default::default(),
        }
    }

    /// The prober of the process shown: the one attached to, else our own.
    pub(super) fn prober(&self) -> &Prober {
        self.other.as_ref().unwrap_or(&self.prober)
    }

    /// The prober of our own process.
    pub(super) fn own_prober(&self) -> &Prober {
        &self.prober
    }

    /// Whether refreshes read the bytes on screen (the TUI), not the mapping's shape only.
    pub(super) fn interactive(&self) -> bool {
        self.interactive
    }

    /// Whether kpageflags and PFNs can be read (root).
    pub(super) fn kpageflags_readable(&self) -> bool {
        self.prober.kpageflags_readable()
    }

    /// The process attached to is another memory now (it called exec): its new prober, and
    /// every reading of the old one forgotten.
    pub(super) fn reattached(&mut self, prober: Prober) {
        self.other = Some(prober);
        self.watch.forget();
    }

    /// Takes `maps` of the process of `handle`, read since `started`, as the last reading.
    pub(super) fn seed_maps(
        &mut self,
        handle: &Arc<ProcessHandle>,
        maps: Vec<MapsLine>,
        started: Instant,
    ) {
        self.watch.seed_maps(handle, maps, started);
    }

    /// The prober compares our pages with the fork child's, while there is one.
    pub(super) fn follow_child(&mut self, child: Option<crate::sys::contain::children::ChildSpec>) {
        self.prober.follow_child(child);
    }

    /// The model's clock: milliseconds since the session started.
    pub(super) fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// What a refresh reads. Interactive: the visible pages and bytes, paced. Scripted: the
    /// mapping's shape (address, mode, protection, file size) without reading a byte, since in
    /// a script nobody is looking and a read would change page state.
    pub(super) fn view(&mut self, model: &Model) -> View {
        if self.interactive {
            self.paced(model.view(), model.settings.refresh_ms)
        } else if model.screen.typed.kind != crate::model::ViewKind::Bytes {
            // A script's `view WORD` gives the values at the cursor: their bytes are read
            // (pages in memory only, as the screen's), with no minimap.
            View {
                minimap: NO_CHUNKS,
                ..model.view()
            }
        } else {
            SHAPE_ONLY
        }
    }

    /// `view` with the minimap's budget for unchanged chunks taken away when it was spent less
    /// than half a refresh interval ago (it still probes what we changed, the cursor's chunk
    /// and the stalest one). Holding a key down refreshes many times an interval; idling, once.
    fn paced(&mut self, mut view: View, refresh_ms: u64) -> View {
        let interval = Duration::from_millis(refresh_ms);
        if self
            .minimap_spent
            .is_some_and(|at| at.elapsed() < interval / 2)
        {
            view.minimap.budget = Duration::ZERO;
        } else {
            self.minimap_spent = Some(Instant::now());
        }
        view
    }

    /// A snapshot of `view` of `shown` (of the process shown, by its prober).
    pub(super) fn snapshot(&self, shown: &dyn Mapped, view: View) -> Snapshot {
        snapshot::take(shown, self.prober(), view)
    }

    /// Fills `snap` with what /proc says of the VMA of `line` explored in the process of
    /// `handle`: the maps text (read at once when `changed`: the VMA is not as it was) and,
    /// when `counters`, its smaps counters (not while the address-space view covers them).
    pub(super) fn vma_readings(
        &mut self,
        handle: &Arc<ProcessHandle>,
        line: &MapsLine,
        changed: bool,
        counters: bool,
        model: &Model,
        snap: &mut Snapshot,
    ) {
        snap.readings.maps = self.watch.maps(handle, changed);
        let refresh = Duration::from_millis(model.settings.refresh_ms);
        self.watch.counters(handle, line, refresh, counters, snap);
    }

    /// While pointers are named (a typed view or the inspector), the sections of the ELF
    /// files of `snap`'s maps (of the process `attached` to, else ours), each file read once
    /// and opened through the process's handle.
    pub(super) fn name_sections(
        &mut self,
        attached: Option<&Arc<ProcessHandle>>,
        model: &Model,
        snap: &mut Snapshot,
    ) {
        if !model.screen.typed.shows_inspector() {
            return;
        }
        let (Ok(maps), Ok(handle)) = (&snap.readings.maps, self.handle(attached)) else {
            return;
        };
        let open = |line: &MapsLine| handle.open_mapped(line).ok().map(|(f, _)| f);
        snap.readings.sections = self.sections.index(maps, open);
    }

    /// The first smaps counters of the VMA `start..end` are not waited for: a jump shows the
    /// bytes at once, the counters follow.
    pub(super) fn no_wait(&mut self, start: u64, end: u64) {
        self.watch.no_wait(start, end);
    }

    /// The handle on the process shown: the one `attached` to, or our own (opened once).
    ///
    /// # Errors
    /// Our own process's /proc could not be opened.
    pub(super) fn handle(
        &mut self,
        attached: Option<&Arc<ProcessHandle>>,
    ) -> Result<Arc<ProcessHandle>, SysError> {
        if let Some(handle) = attached {
            return Ok(Arc::clone(handle));
        }
        if let Some(h) = &self.own {
            return Ok(Arc::clone(h));
        }
        let h = Arc::new(ProcessHandle::myself()?);
        self.own = Some(Arc::clone(&h));
        Ok(h)
    }

    /// The address space of the process shown (`attached`, else ours, where `ours` is the
    /// mapping we made), for its view: every VMA with its Rss, from one read of smaps (`watch`:
    /// read again when its cost allows; the view says how old). `None` when there is nothing
    /// new to tell the model.
    pub(super) fn space(
        &mut self,
        attached: Option<&Arc<ProcessHandle>>,
        ours: Option<(u64, u64)>,
        model: &Model,
    ) -> Option<Event> {
        let handle = match self.handle(attached) {
            Ok(h) => h,
            Err(e) => {
                let (vmas, read_ms) = (model.space.vmas.clone(), model.log.now_ms);
                let title = format!("pid {} · {e}", std::process::id());
                return Some(Event::SpaceProbed {
                    vmas,
                    title,
                    read_ms,
                    note: None,
                });
            }
        };
        let again = model.space.vmas.is_empty();
        let space = self.watch.space(&handle, ours, again)?;
        let info = handle.info();
        let comm = if ours.is_some() {
            format!("pid {} mmapscope (this process)", info.pid)
        } else {
            format!("pid {} {}", info.pid, info.comm)
        };
        let title = match &space.problem {
            None => format!(
                "{comm} · {} VMAs",
                crate::text::thousands(space.vmas.len() as u64)
            ),
            Some(p) => format!("{comm} · {p}"),
        };
        let since = space.read_at.saturating_duration_since(self.start);
        let read_ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
        Some(Event::SpaceProbed {
            vmas: space.vmas,
            title,
            read_ms,
            note: space.note,
        })
    }

    /// Reads the page map's cells for its window, of `shown`; `None` when no page map is
    /// open.
    pub(super) fn page_map(&mut self, model: &Model, shown: &dyn Mapped) -> Option<Event> {
        let Some(w) = model.page_map_window() else {
            self.page_map_next = 0;
            return None;
        };
        let geometry = model.snap.shape.geometry;
        let cells = usize::try_from(w.cells()).unwrap_or(usize::MAX);
        let same = model.page_map.first == w.first_page()
            && model.page_map.per_cell == w.per_cell
            && model.page_map.buckets.len() == cells;
        // A new window (or one with cells still blank) is read with a quarter of the refresh
        // interval a refresh; once whole, again a slice at a time: 1% of the interval.
        let unread = model.page_map.buckets.iter().any(|b| b.pages == 0);
        let from = if same {
            self.page_map_next % cells.max(1)
        } else {
            0
        };
        let budget = if same && !unread {
            model.settings.refresh_ms * 10
        } else {
            model.settings.refresh_ms * 250
        };
        let budget = Duration::from_micros(budget);
        let prober = self.prober();
        let started = Instant::now();
        let mut buckets = Vec::new();
        let mut at = from;
        while at < cells && (at == from || started.elapsed() < budget) {
            // A cheap window (page by page in one read) goes whole.
            let n = if w.per_cell.saturating_mul(w.cells()) <= crate::sys::probe::cells::EXACT_PAGES
            {
                cells - at
            } else {
                1
            };
            let first = w.first_page() + at as u64 * w.per_cell;
            buckets.extend(crate::sys::probe::cells::buckets(
                shown, prober, &geometry, first, w.per_cell, n as u64,
            ));
            at += n;
        }
        self.page_map_next = if at >= cells { 0 } else { at };
        let slice = crate::model::PageMapSlice {
            first: w.first_page(),
            per_cell: w.per_cell,
            cells,
            start: from,
            buckets,
        };
        Some(Event::PageMapProbed(slice))
    }
}
