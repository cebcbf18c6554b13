//! One refresh's worth of kernel truth, as plain data: the geometry (fresh fstat), the state of
//! the visible pages (probed first), the visible bytes (copied after), /proc/self/maps and the
//! smaps of our VMA. The model keeps the last one; screen tests fabricate one.

use std::sync::Arc;

use crate::geometry::Geometry;

use crate::sys::map::range::Mapped;
use crate::sys::map::request::{MapMode, Prot};
use crate::sys::probe::chunks::{ChunkAsk, ChunkSlice, Chunks};
use crate::sys::probe::look::{self, Facts, How};
use crate::sys::probe::prober::Prober;
use crate::sys::probe::state::{PageProbe, PageState, Sources};
use crate::sys::proc::maps::{self, MapsLine, Vma};

/// What backs the mapping, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    Anon,
    File {
        /// Absolute path (escape it before display).
        path: String,
        writable: bool,
        /// False for devices such as /dev/zero; true for a file not opened (its size is
        /// then unknown, not a device's).
        regular: bool,
    },
}

/// The bytes of the visible rows: `None` where the copy failed (the page cannot be read) or
/// where the page was left unread on purpose (`unread`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewBytes {
    /// Mapping offset of `data[0]`.
    pub start: u64,
    pub data: Vec<Option<u8>>,
    /// Pages whose bytes were not read because reading them would change what is shown: not
    /// present in another process, not in memory at all in ours (disk I/O or a swap-in).
    pub unread: Vec<u64>,
}

impl ViewBytes {
    /// The byte at mapping offset `off`, if it was read.
    pub fn get(&self, off: u64) -> Option<u8> {
        let i = usize::try_from(off.checked_sub(self.start)?).ok()?;
        self.data.get(i).copied().flatten()
    }
}

/// The state of one visible page with the raw answers behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisiblePage {
    pub index: u64,
    pub state: PageState,
    pub probe: PageProbe,
}

/// Everything drawn about the mapping at one refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub shape: Shape,
    pub probed: Probed,
    pub readings: Readings,
    pub sources: Sources,
    /// The file is on tmpfs: its page-cache pages are always dirty.
    pub always_dirty: bool,
    pub notes: RefreshNotes,
    /// Stores into a shared mapping may reach the file: the write gate has the consent (the
    /// session stamps it; another process's VMA: `--write`).
    pub write_allowed: bool,
    /// Not the mapping we made: bytes are read only from present pages.
    pub foreign: bool,
}

/// The mapping's shape: what backs it, how it is mapped, where, and its geometry (fresh
/// fstat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub backing: Backing,
    pub mode: MapMode,
    pub prot: Prot,
    pub addr: u64,
    pub geometry: Geometry,
}

/// What this refresh probed: the visible pages and bytes, and chunks for the minimap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub pages: Vec<VisiblePage>,
    pub bytes: ViewBytes,
    /// The chunks of the mapping probed at this refresh, for the minimap (which keeps what
    /// earlier refreshes found for the others).
    pub minimap: ChunkSlice,
}

/// What /proc says of the address space: the maps and our VMA's smaps counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readings {
    /// The process's maps, shared: another process's is read again only when its cost
    /// allows, and a refresh in between hands on the same lines (30,000 of them, in a big
    /// process) without copying them.
    pub maps: Result<Arc<Vec<MapsLine>>, String>,
    /// Our VMA's counters, added up when the mapping spans several VMAs.
    pub vma: Option<Vma>,
    /// How many VMAs our mapping spans now.
    pub vma_count: usize,
    /// How old `vma` was when this snapshot was taken, in ms (another process's smaps is
    /// read at a pace its cost allows, not at every refresh); 0 for one read just now.
    pub vma_age_ms: u64,
    /// `vma` is being read and was not waited for (a jump shows the bytes first).
    pub vma_pending: bool,
    /// The sections of the ELF files of `maps`, read while a typed view or the inspector
    /// names pointers (empty otherwise).
    pub sections: Arc<crate::sys::proc::elf::SectionIndex>,
}

/// What this refresh has to say beyond the pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshNotes {
    /// A failure of this refresh that is not about one page (fstat, /proc).
    pub problem: Option<String>,
    /// What the path given at open names now, when not our file any more (the log says).
    pub path_note: Option<String>,
}

impl Snapshot {
    /// A snapshot of a mapping with nothing probed yet: no pages, bytes, /proc lines or VMA.
    /// The shape the model starts from in tests and fabricated screens.
    pub fn empty(
        backing: Backing,
        mode: MapMode,
        prot: Prot,
        addr: u64,
        geometry: Geometry,
    ) -> Self {
        Self {
            shape: Shape {
                backing,
                mode,
                prot,
                addr,
                geometry,
            },
            probed: Probed {
                pages: Vec::new(),
                bytes: ViewBytes::default(),
                minimap: ChunkSlice {
                    layout: Chunks::of(geometry.pages()),
                    probed: Vec::new(),
                },
            },
            readings: Readings {
                maps: Ok(Arc::default()),
                vma: None,
                vma_count: 0,
                vma_age_ms: 0,
                vma_pending: false,
                sections: Arc::default(),
            },
            sources: Sources::default(),
            always_dirty: false,
            notes: RefreshNotes::default(),
            write_allowed: true,
            foreign: false,
        }
    }

    /// The visible page `index`, if probed.
    pub fn page(&self, index: u64) -> Option<&VisiblePage> {
        self.probed.pages.iter().find(|p| p.index == index)
    }

    /// End address (exclusive) of what the kernel maps.
    pub fn end_addr(&self) -> u64 {
        self.shape.addr + self.shape.geometry.map_bytes()
    }
}

/// Which part of the mapping is on screen, and which chunks of it the minimap wants probed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    pub first_page: u64,
    pub page_count: u64,
    /// Mapping offset and length of the visible bytes.
    pub byte_start: u64,
    pub byte_len: u64,
    /// Chunks for the minimap, and how long to spend on them.
    pub minimap: ChunkAsk,
}

/// Takes a snapshot: fstat, probe the visible pages and the minimap's chunks, then copy the
/// visible bytes of pages that hold file data and are readable; pages beyond end of file are
/// never touched.
pub fn take(region: &dyn Mapped, prober: &Prober, view: View) -> Snapshot {
    let mut problem = None;
    let geometry = region.geometry().unwrap_or_else(|e| {
        problem = Some(e.to_string());
        Geometry {
            page_size: region.page_size(),
            offset: region.offset(),
            len: region.len(),
            file_size: Some(0),
        }
    });
    let pages_total = geometry.pages();
    let first = view.first_page.min(pages_total);
    let count = view.page_count.min(pages_total - first);
    let probes = prober.probe(region, first, count);
    let states = prober.decode(region, &geometry, first, &probes);
    let pages: Vec<VisiblePage> = probes
        .into_iter()
        .zip(states)
        .enumerate()
        .map(|(i, (probe, state))| VisiblePage {
            index: first + i as u64,
            state,
            probe,
        })
        .collect();
    let minimap = prober.chunks(region, &geometry, &view.minimap);
    let bytes = copy_visible(region, &geometry, &view, &pages);
    let readings = readings(region, &mut problem);
    Snapshot {
        shape: Shape {
            backing: backing(region),
            mode: region.mode(),
            prot: region.prot(),
            addr: region.addr(),
            geometry,
        },
        probed: Probed {
            pages,
            bytes,
            minimap,
        },
        readings,
        sources: prober.sources(region),
        always_dirty: region.always_dirty(),
        notes: RefreshNotes {
            problem,
            path_note: region.path_note(),
        },
        write_allowed: region.write_allowed(),
        foreign: !region.ours(),
    }
}

/// What backs the mapping, as the snapshot names it.
fn backing(region: &dyn Mapped) -> Backing {
    match region.file_path() {
        None => Backing::Anon,
        Some(path) => Backing::File {
            path: path.to_string_lossy().into_owned(),
            writable: region.may_write(),
            // A file that could not be opened (another process's, deleted) is not known to be
            // a device.
            regular: region.file_kind().is_none_or(|k| k.has_size()),
        },
    }
}

/// Our process's maps and our VMA's counters, read now; a failure of smaps goes to `problem`.
/// A VMA not ours gets both from the session instead: the maps read in full at most once a
/// second (its VMA looked up by PROCMAP_QUERY in between), the counters from its smaps reader,
/// off the screen's path (in a process with thousands of VMAs, smaps up to a late one costs
/// milliseconds).
fn readings(region: &dyn Mapped, problem: &mut Option<String>) -> Readings {
    if !region.ours() {
        return Readings {
            maps: Ok(Arc::default()),
            vma: None,
            vma_count: 0,
            vma_age_ms: 0,
            vma_pending: false,
            sections: Arc::default(),
        };
    }
    let maps = maps::read_maps_of(region.pid())
        .map(Arc::new)
        .map_err(|e| e.to_string());
    let (vma, vma_count) = match region.vmas(region.addr(), region.addr() + region.map_bytes()) {
        Ok(vmas) => (maps::total(&vmas), vmas.len()),
        Err(e) => {
            problem.get_or_insert(e.to_string());
            (None, 0)
        }
    };
    Readings {
        maps,
        vma,
        vma_count,
        vma_age_ms: 0,
        vma_pending: false,
        sections: Arc::default(),
    }
}

/// Copies the visible bytes page by page without changing what the page states say, each
/// page as `look::how` says: pages beyond EOF and unreadable protections are skipped, pages of
/// the page cache are read through a window on it, pages nowhere in memory not at all.
fn copy_visible(
    region: &dyn Mapped,
    geometry: &Geometry,
    view: &View,
    pages: &[VisiblePage],
) -> ViewBytes {
    let end = (view.byte_start + view.byte_len).min(geometry.map_bytes());
    let start = view.byte_start.min(end);
    let mut bytes = ViewBytes {
        start,
        data: vec![None; usize::try_from(end - start).unwrap_or(0)],
        unread: Vec::new(),
    };
    if !region.prot().read {
        return bytes;
    }
    let ps = geometry.page_size;
    let swap = std::cell::OnceCell::new();
    let mut at = start;
    while at < end {
        let index = at / ps;
        let chunk_end = ((index + 1) * ps).min(end);
        let facts = pages
            .iter()
            .find(|p| p.index == index)
            .map(|p| Facts::of(&p.probe));
        let how = look::how(region, geometry, index, facts.as_ref(), &swap);
        if how == How::Unread {
            bytes.unread.push(index);
        }
        let mut buf = vec![0u8; (chunk_end - at) as usize];
        if let Some(n) = look::read(region, how, at, &mut buf) {
            let base = (at - start) as usize;
            for (i, b) in buf[..n].iter().enumerate() {
                bytes.data[base + i] = Some(*b);
            }
        }
        at = chunk_end;
    }
    bytes
}
