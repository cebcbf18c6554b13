//! The explain pane (`e`): for the page under the cursor, every source's raw answer (mincore
//! byte, pagemap word and its bits, cachestat counts, kpageflags names, the smaps VMA it falls
//! in) and one plain sentence per state: what it means and what would change it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::model::Model;
use crate::sys::probe::snapshot::Snapshot;
use crate::sys::probe::state::{
    PM_EXCLUSIVE, PM_FILE, PM_PFN_MASK, PM_PRESENT, PM_SOFT_DIRTY, PM_SWAPPED, kflag_names,
};
use crate::sys::probe::state::{PageProbe, PageState};
use crate::text::{kb, thousands};

use super::theme::{Role, Theme};

fn bit(word: u64, mask: u64) -> u8 {
    u8::from(word & mask != 0)
}

/// The pane's lines, each with its role: headings are titles, raw answers normal, the
/// sentences dim. One part per source, in the order they are asked.
pub fn lines(model: &Model) -> Vec<(String, Role)> {
    let snap = &model.snap;
    let ps = model.page_size();
    let page = model.doc.cursor / ps;
    let mut out = vec![(
        format!(
            "page {page} · file offset 0x{:x} · addr 0x{:x}",
            snap.shape.geometry.offset + page * ps,
            snap.shape.addr + page * ps
        ),
        Role::Title,
    )];
    out.extend(geometry(snap.shape.geometry.page(page)));
    let Some(vp) = snap.page(page) else {
        out.push(("not probed yet".into(), Role::Dim));
        return out;
    };
    out.extend(bytes_shown(snap, page, &vp.probe));
    out.extend(mincore(snap, &vp.probe));
    out.extend(pagemap(snap, &vp.probe, &vp.state));
    out.extend(cachestat(snap, &vp.probe));
    out.extend(kpageflags(snap, &vp.probe));
    out.extend(lab(model.lab.child, &vp.probe, &vp.state));
    out.extend(smaps(snap));
    out
}

/// How the page's bytes on screen were obtained when it is not in our page tables: looking
/// maps nothing, so they came from the page cache, are the zeros an untouched page reads as,
/// or were not read at all.
fn bytes_shown(snap: &Snapshot, page: u64, p: &PageProbe) -> Vec<(String, Role)> {
    let text = if snap.probed.bytes.unread.contains(&page) {
        if snap.foreign {
            "bytes `..`: not read, the page is not present in that process (a read would fault \
             it in there)"
        } else {
            "bytes `..`: not read, the page is not in memory (a read would be disk I/O or a \
             swap-in); t touches it"
        }
    } else if !snap.foreign
        && p.present() == Some(false)
        && !snap.shape.geometry.page(page).beyond_eof
    {
        "bytes: read without mapping the page (from the page cache, through a one-page window \
         for the last page's padding, or the zeros an untouched anonymous page reads as): \
         looking leaves it not present"
    } else {
        return Vec::new();
    };
    vec![(text.into(), Role::Dim)]
}

/// The lab's sources: the map count, PMD mapping, and the forked child's pagemap word.
fn lab(child: Option<u32>, p: &PageProbe, s: &PageState) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    let mut say = |text: String, role: Role| out.push((text, role));
    if let Some(n) = p.mapcount {
        say(format!("kpagecount: {n}"), Role::Normal);
        say(
            "  page tables mapping this physical page now (ours, a forked child's, any other              process's)."
                .into(),
            Role::Dim,
        );
    }
    if p.huge == Some(true) {
        say(
            "PAGEMAP_SCAN: PAGE_IS_HUGE: the page is part of a PMD-mapped huge page (2 MiB, one              page-table entry for 512 pages)"
                .into(),
            Role::Present,
        );
    }
    match (child, p.child) {
        (Some(pid), Some(w)) => {
            say(format!("child pid {pid} pagemap: 0x{w:016x}"), Role::Normal);
            let why = match s.place.shared_with_child {
                Some(true) => {
                    "  shared with the child: one physical page in both page tables (equal PFNs                      as root; without root, both file pages, or both anonymous and neither                      exclusively mapped, bit 56). A write by either side copies it when the                      mapping is MAP_PRIVATE."
                }
                _ => {
                    "  not shared with the child: one of us does not map it, or each has its own                      copy (the first write after fork made it)."
                }
            };
            say(why.into(), Role::Dim);
        }
        (Some(pid), None) => say(
            format!("child pid {pid}: its pagemap could not be read"),
            Role::Dim,
        ),
        (None, _) => {}
    }
    out
}

/// The page against the end of file.
fn geometry(geom: crate::geometry::PageGeom) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    let mut say = |text: String, role: Role| out.push((text, role));
    if geom.beyond_eof {
        say(
            "geometry: wholly beyond end of file".into(),
            Role::BeyondEof,
        );
        say(
            "  No file data backs this page: a load or store here raises SIGBUS. mmapscope never \
             touches it; growing the file (ftruncate, write) would make it valid."
                .into(),
            Role::Dim,
        );
    } else if geom.padding_bytes > 0 {
        say(
            format!(
                "geometry: {} B of file data, then {} B of padding",
                thousands(geom.valid_bytes),
                thousands(geom.padding_bytes)
            ),
            Role::Padding,
        );
        say(
            "  The kernel maps whole pages: past end of file the page reads as zero, and writes \
             there never reach the file."
                .into(),
            Role::Dim,
        );
    } else {
        say(
            format!("geometry: {} B of data", thousands(geom.valid_bytes)),
            Role::Normal,
        );
    }
    out
}

/// What mincore(2) said.
fn mincore(snap: &Snapshot, p: &PageProbe) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    let mut say = |text: String, role: Role| out.push((text, role));
    match p.resident {
        Some(r) => {
            say(format!("mincore: 0x{:02x}", u8::from(r)), Role::Normal);
            say(
                if r {
                    "  resident: the page's data is in RAM (the page cache for a file). \
                     fadvise(DONTNEED) of a clean page nobody maps, or memory pressure, evicts it."
                } else {
                    "  not resident: the data is only on disk (or nowhere yet); the next access \
                     is a major fault that reads it in."
                }
                .into(),
                Role::Dim,
            );
        }
        None => say(
            format!("mincore: n/a ({})", snap.sources.mincore),
            Role::Dim,
        ),
    }

    out
}

/// The pagemap word, its bits, and copy-on-write.
fn pagemap(snap: &Snapshot, p: &PageProbe, s: &PageState) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    let mut say = |text: String, role: Role| out.push((text, role));
    match p.pagemap {
        Some(w) => {
            say(format!("pagemap: 0x{w:016x}"), Role::Normal);
            let pfn = w & PM_PFN_MASK;
            say(
                format!(
                    "  present {} · swapped {} · file {} · exclusive {} · soft-dirty {} · pfn {}",
                    bit(w, PM_PRESENT),
                    bit(w, PM_SWAPPED),
                    bit(w, PM_FILE),
                    bit(w, PM_EXCLUSIVE),
                    if s.writes.soft_dirty.is_some() {
                        bit(w, PM_SOFT_DIRTY).to_string()
                    } else {
                        "n/a".into()
                    },
                    if pfn != 0 {
                        format!("0x{pfn:x}")
                    } else if w & PM_PRESENT != 0 {
                        "hidden (needs root)".into()
                    } else {
                        "-".into()
                    }
                ),
                Role::Normal,
            );
            say(
                if w & PM_PRESENT != 0 {
                    "  present: our page table maps it, so an access costs no fault. \
                     madvise(DONTNEED) or munmap would remove the entry."
                } else {
                    "  not present: our page table has no entry; the first access faults it in \
                     (minor if resident, major if not)."
                }
                .into(),
                Role::Dim,
            );
        }
        None => say(
            format!("pagemap: n/a ({})", snap.sources.pagemap),
            Role::Dim,
        ),
    }
    if s.place.cow == Some(true) {
        say(
            "  cow: this MAP_PRIVATE page was written, so we hold a private anonymous copy \
             (pagemap bit 61 is 0). The file does not see it; madvise(DONTNEED) throws it away."
                .into(),
            Role::Cow,
        );
    }

    out
}

/// What cachestat(2) said of the file's page.
fn cachestat(snap: &Snapshot, p: &PageProbe) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    let mut say = |text: String, role: Role| out.push((text, role));
    match p.cache {
        Some(c) => {
            say(
                format!(
                    "cachestat: cache {} · dirty {} · writeback {} · evicted {} · recently evicted {}",
                    c.nr_cache, c.nr_dirty, c.nr_writeback, c.nr_evicted, c.nr_recently_evicted
                ),
                Role::Normal,
            );
            let sentence = if snap.always_dirty {
                "  tmpfs: its pages live only in memory and always count as dirty; msync never \
                 cleans them."
            } else if c.nr_dirty > 0 {
                "  dirty: modified in the page cache, not yet written to disk; msync(MS_SYNC) \
                 or the kernel's writeback will clean it."
            } else {
                "  clean: the page cache matches the disk; a store through a shared mapping \
                 would dirty it (the whole folio)."
            };
            say(sentence.into(), Role::Dim);
        }
        None => say(format!("cachestat: {}", snap.sources.cachestat), Role::Dim),
    }

    out
}

/// The page frame's flags and its folio.
fn kpageflags(snap: &Snapshot, p: &PageProbe) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    let mut say = |text: String, role: Role| out.push((text, role));
    match p.kflags {
        Some(k) => {
            say(
                format!("kpageflags: {}", kflag_names(k).join(" ")),
                Role::Normal,
            );
            if let Some(n) = p.folio_pages {
                say(
                    format!(
                        "  folio of {n} page{}: the kernel tracks dirty and LRU state for the \
                         folio as a whole.",
                        if n == 1 { "" } else { "s" }
                    ),
                    Role::Dim,
                );
            }
        }
        None => say(
            format!("kpageflags: {}", snap.sources.kpageflags),
            Role::Dim,
        ),
    }

    out
}

/// The VMA the page falls in.
fn smaps(snap: &Snapshot) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    let mut say = |text: String, role: Role| out.push((text, role));
    if let Some(v) = &snap.readings.vma {
        say(
            format!(
                "smaps: {:x}-{:x} {} · Rss {} · Private_Dirty {} · Anonymous {}",
                v.head.start,
                v.head.end,
                v.head.perms,
                kb(v.memory.rss),
                kb(v.memory.private_dirty),
                kb(v.memory.anonymous)
            ),
            Role::Normal,
        );
    }
    out
}

/// Draws the pane into `area`.
pub fn render(model: &Model, frame: &mut Frame, area: Rect, theme: Theme) {
    let text: Vec<Line> = lines(model)
        .into_iter()
        .map(|(t, role)| Line::from(Span::styled(t, theme.style(role))))
        .collect();
    let block = Block::bordered().title(Span::styled(
        " explain: the kernel's answers (e closes) ",
        theme.style(Role::Focused),
    ));
    frame.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
        area,
    );
}
