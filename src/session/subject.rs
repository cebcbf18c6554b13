//! What a session looks at (`Subject`: the mapping we made, a VMA of our own process, or a
//! VMA of the process `--pid` attached to) and how it follows it: exploring another VMA and
//! back, a VMA that grows, shrinks, moves or goes, a process that exits or calls exec (and
//! is reopened after exec on Enter).

use std::sync::Arc;

use crate::action::{Action, Event, Op, SpaceAction};
use crate::model::Looking;
use crate::sys::SysError;
use crate::sys::attach::foreign::{VmaFate, VmaView};
use crate::sys::attach::handle::{Gone, ProcessHandle};
use crate::sys::map::range::Mapped;
use crate::sys::map::region::Region;
use crate::sys::ops::gate;
use crate::sys::proc::maps::MapsLine;
use crate::sys::proc::process::{self, ProcessInfo};
use crate::update::update;

use super::Session;

/// What the session looks at.
#[expect(
    clippy::large_enum_variant,
    reason = "one per session, held in place: boxing the mapping saves nothing"
)]
pub(super) enum Subject {
    /// The mapping we made, or a VMA of our own process explored instead of it.
    Ours {
        region: Region,
        explored: Option<Explored>,
        /// The pages written since the mark (`super::track`).
        track: super::track::Tracking,
    },
    /// Another process (`--pid`) and the VMA of it shown.
    Other {
        attached: Attached,
        explored: Explored,
    },
    /// A recording replayed (`mmapscope replay FILE`): a frame of it, nothing live.
    Recorded(Box<super::replayed::Replayed>),
}

/// The process `--pid` names, by the handle opened on it once.
pub(super) struct Attached {
    pub(super) handle: Arc<ProcessHandle>,
    /// `--write`: writes go through its `mem` (each confirmed in the TUI), only where it may
    /// write itself.
    pub(super) write: bool,
    /// `--track-access`: clear its accessed bits at each mark (the consent the gate needs).
    pub(super) track_access: bool,
}

/// A VMA being explored, followed as the process changes it.
pub(super) struct Explored {
    pub(super) view: VmaView,
    /// Why it is no longer followed (the process exited, the VMA was unmapped).
    pub(super) ended: Option<String>,
}

impl Subject {
    /// What is shown: the VMA explored, else the mapping we made.
    pub(super) fn mapped(&self) -> &dyn Mapped {
        match self {
            Self::Ours {
                explored: Some(e), ..
            } => &e.view,
            Self::Ours { region, .. } => region,
            Self::Other { explored, .. } => &explored.view,
            Self::Recorded(r) => r.still(),
        }
    }

    /// The mapping we made, if the session made one.
    pub(super) fn region(&self) -> Option<&Region> {
        match self {
            Self::Ours { region, .. } => Some(region),
            Self::Other { .. } | Self::Recorded(_) => None,
        }
    }

    /// The VMA explored, if any.
    pub(super) fn explored_mut(&mut self) -> Option<&mut Explored> {
        match self {
            Self::Ours { explored, .. } => explored.as_mut(),
            Self::Other { explored, .. } => Some(explored),
            Self::Recorded(_) => None,
        }
    }

    /// The handle on the process attached to (`--pid`), if it is another process.
    pub(super) fn attached(&self) -> Option<&Arc<ProcessHandle>> {
        match self {
            Self::Ours { .. } | Self::Recorded(_) => None,
            Self::Other { attached, .. } => Some(&attached.handle),
        }
    }
}

/// How the model is told what it shows.
pub(super) fn looking_at(info: &ProcessInfo, view: &VmaView, other: bool, back: bool) -> Looking {
    Looking {
        pid: info.pid,
        process: format!("pid {} {}", info.pid, crate::text::sanitize(&info.comm)),
        other,
        vma: crate::text::sanitize(
            &crate::sys::attach::foreign::vma_name(view.line()).to_string_lossy(),
        ),
        start: view.line().start,
        via: view.bytes_via().to_string(),
        back,
        ended: None,
        reopen: false,
    }
}

/// The address a `--vma` spec gives (`0x7f..`), if it is one.
pub(super) fn spec_address(spec: &str) -> Option<u64> {
    let spec = spec.trim();
    let hex = spec
        .strip_prefix("0x")
        .or_else(|| spec.strip_prefix("0X"))?;
    u64::from_str_radix(hex, 16).ok()
}

/// The VMA `spec` names in `maps` of process `pid` (an address inside it, a path or a name);
/// without one, its heap, else its first VMA.
pub(super) fn first_vma(
    pid: u32,
    maps: &[MapsLine],
    spec: Option<&str>,
) -> Result<MapsLine, SysError> {
    let line = match spec {
        Some(spec) => process::resolve_vma(maps, spec)
            .map_err(|why| SysError::new(libc::ENOENT, "--vma", why))?,
        None => maps
            .iter()
            .find(|l| l.path == "[heap]")
            .or_else(|| maps.first())
            .ok_or_else(|| {
                SysError::new(
                    libc::ESRCH,
                    format!("--pid {pid}"),
                    "the process has no memory mappings (it has exited, or is a kernel thread)",
                )
            })?,
    };
    Ok(line.clone())
}

/// Where the VMA of `old`, gone from `now`, went: a mapping of the same file (device and
/// inode) covering the same file offsets (mremap that moved it, munmap + mmap elsewhere), or,
/// for anonymous memory, the one VMA of its size, permissions and name that is in `now` and
/// was not in `before` (the last maps read), said as inferred (`true`).
fn moved_to(
    old: &MapsLine,
    now: &[MapsLine],
    before: Option<&[MapsLine]>,
) -> Result<(MapsLine, bool), &'static str> {
    let len = old.end - old.start;
    if old.inode != 0 {
        let covers = |l: &&MapsLine| {
            (l.dev, l.inode) == (old.dev, old.inode)
                && l.offset <= old.offset
                && l.offset + (l.end - l.start) >= old.offset + len
        };
        let mut found = now.iter().filter(covers);
        let first = found
            .next()
            .ok_or("no mapping of its file covers the same file offsets now")?;
        // Several: the one with the same permissions, else the first.
        let same = std::iter::once(first)
            .chain(found)
            .find(|l| l.perms == old.perms)
            .unwrap_or(first);
        return Ok((same.clone(), false));
    }
    let before = before.ok_or("anonymous memory, and no earlier maps to tell a new VMA by")?;
    let known = |l: &MapsLine| before.iter().any(|b| (b.start, b.end) == (l.start, l.end));
    let mut fresh = now.iter().filter(|l| {
        l.inode == 0
            && l.end - l.start == len
            && l.perms == old.perms
            && l.path == old.path
            && !known(l)
    });
    match (fresh.next(), fresh.next()) {
        (Some(one), None) => Ok((one.clone(), true)),
        (None, _) => Err("no new anonymous VMA of its size, permissions and name appeared"),
        (Some(_), Some(_)) => Err(
            "several new anonymous VMAs of its size and permissions appeared: \
             which one it became cannot be told",
        ),
    }
}

/// The log's line when a VMA followed changed size or place.
fn changed_note(old: &MapsLine, new: &MapsLine) -> String {
    let (a, b) = (old.end - old.start, new.end - new.start);
    format!(
        "the VMA {} now 0x{:x}-0x{:x} ({} -> {})",
        match a.cmp(&b) {
            std::cmp::Ordering::Less => "grew:",
            std::cmp::Ordering::Greater => "shrank:",
            std::cmp::Ordering::Equal => "changed:",
        },
        new.start,
        new.end,
        crate::text::human(a),
        crate::text::human(b)
    )
}

impl Session {
    /// After exec (Enter on `called exec`): a new handle on the same process, its new
    /// program shown from its heap (the address-space view opened, interactive). Only while
    /// the process attached to has not exited: then no other process can hold its pid.
    pub(super) fn reattach(&mut self) {
        let Subject::Other { attached, explored } = &mut self.subject else {
            return;
        };
        let old = Arc::clone(&attached.handle);
        if old.status() != Some(Gone::Execed) {
            return;
        }
        let pid = old.pid();
        let opened = ProcessHandle::open(pid, attached.write).and_then(|h| {
            if old.status() == Some(Gone::Execed) {
                Ok(Arc::new(h))
            } else {
                Err(old.gone_error(format!("reopen pid {pid}")))
            }
        });
        let new = opened.and_then(|h| {
            let line = first_vma(pid, &h.maps()?, None)?;
            let prober = self.observer.own_prober().for_handle(&h)?;
            Ok((h, line, prober))
        });
        let (handle, line, prober) = match new {
            Ok(n) => n,
            Err(e) => {
                update(
                    &mut self.model,
                    Event::Note(format!("reopening pid {pid}: {e}")),
                );
                return;
            }
        };
        let view = VmaView::open(&handle, &line, attached.write);
        let looking = looking_at(handle.info(), &view, true, false);
        update(
            &mut self.model,
            Event::Note(format!(
                "pid {pid} reopened after exec: {}, a new handle on its new memory",
                crate::text::sanitize(&handle.info().comm)
            )),
        );
        *explored = Explored { view, ended: None };
        attached.handle = handle;
        self.observer.reattached(prober);
        update(&mut self.model, Event::Looking(Some(looking)));
        if self.observer.interactive() {
            // Probed first: the view opens on the VMA shown, the new program's heap.
            self.refresh();
            update(&mut self.model, Action::Space(SpaceAction::Open));
        }
    }

    /// Follows the explored VMA by its `fate` (`None`: no answer this time): reopened where
    /// it changed or moved (`now`: the maps just read, to find where), ended where it is gone.
    /// Returns whether this refresh's snapshot is shown (not when the VMA moved: it was read
    /// at the old place).
    pub(super) fn follow(&mut self, fate: Option<VmaFate>, now: Option<&[MapsLine]>) -> bool {
        let before = self.model.snap.readings.maps.clone().ok();
        let Some(e) = self.subject.explored_mut() else {
            return true;
        };
        let (ended, note) = match fate {
            None | Some(VmaFate::Same) => (None, None),
            Some(VmaFate::Gone) => {
                let old = e.view.line().clone();
                let found = match now {
                    Some(now) => moved_to(&old, now, before.as_deref().map(Vec::as_slice)),
                    None => Err("the maps could not be read to look for it"),
                };
                match found {
                    Ok((line, inferred)) => {
                        e.view = VmaView::open(e.view.handle(), &line, e.view.write_allowed());
                        update(
                            &mut self.model,
                            Event::VmaMoved {
                                old,
                                new: line,
                                inferred,
                            },
                        );
                        return false;
                    }
                    Err(why) => (
                        Some("the VMA was unmapped".to_string()),
                        Some(format!(
                            "the VMA 0x{:x}-0x{:x} was unmapped and is not followed: {why}",
                            old.start, old.end
                        )),
                    ),
                }
            }
            Some(VmaFate::Changed(line)) => {
                let old = e.view.line().clone();
                e.view = VmaView::open(e.view.handle(), &line, e.view.write_allowed());
                (None, Some(changed_note(&old, &line)))
            }
        };
        e.ended.clone_from(&ended);
        if let Some(note) = note {
            update(&mut self.model, Event::Note(note));
        }
        match ended {
            Some(why) => {
                self.end_looking(why, false);
                false
            }
            None => true,
        }
    }

    /// The header and the log say why the view stopped following (once: the model logs the
    /// change); `reopen`: Enter reopens the process (after exec).
    fn end_looking(&mut self, why: String, reopen: bool) {
        if let Some(mut looking) = self.model.space.looking.clone() {
            looking.ended = Some(why);
            looking.reopen = reopen;
            update(&mut self.model, Event::Looking(Some(looking)));
        }
    }

    /// Whether the process of the VMA explored is gone from under its handle: exited, or
    /// called exec. Then the view stops (the last state stays), the header says which, and
    /// the handle refuses every write from then on.
    pub(super) fn process_gone(&mut self) -> bool {
        let Some(e) = self.subject.explored_mut() else {
            return false;
        };
        let Some(gone) = e.view.handle().status() else {
            return false;
        };
        let why = gone.header().to_string();
        e.ended = Some(why.clone());
        self.end_looking(why, gone == Gone::Execed);
        true
    }

    /// Explores the VMA of `line` of the process shown: ours again when it is our mapping.
    pub(super) fn explore(&mut self, line: &MapsLine) {
        tracing::info!(
            start = format_args!("{:#x}", line.start),
            end = format_args!("{:#x}", line.end),
            perms = %line.perms,
            "explore a VMA"
        );
        // Offsets found in one mapping mean nothing in another.
        self.cancel_search();
        if let Subject::Recorded(r) = &mut self.subject {
            r.explore(line.start);
            let looking = r.looking();
            update(&mut self.model, Event::Looking(looking));
            return;
        }
        if let Subject::Ours { region, .. } = &self.subject
            && line.start < region.addr() + region.map_bytes()
            && line.end > region.addr()
        {
            self.explore_back();
            return;
        }
        let handle = match self.observer.handle(self.subject.attached()) {
            Ok(h) => h,
            Err(e) => {
                update(&mut self.model, Event::Note(e.to_string()));
                return;
            }
        };
        let (other, write) = match &self.subject {
            // A recording's VMAs were shown above; none is opened live.
            Subject::Ours { .. } | Subject::Recorded(_) => (false, false),
            Subject::Other { attached, .. } => (true, attached.write),
        };
        let view = VmaView::open(&handle, line, write);
        let looking = looking_at(handle.info(), &view, other, !other);
        match &mut self.subject {
            Subject::Ours { explored, .. } => *explored = Some(Explored { view, ended: None }),
            Subject::Other { explored, .. } => *explored = Explored { view, ended: None },
            Subject::Recorded(_) => return,
        }
        update(&mut self.model, Event::Looking(Some(looking)));
    }

    /// Back to the mapping we made.
    pub(super) fn explore_back(&mut self) {
        self.cancel_search();
        if let Subject::Recorded(r) = &mut self.subject {
            r.explore_back();
            let looking = r.looking();
            update(&mut self.model, Event::Looking(looking));
            return;
        }
        if let Subject::Ours { explored, .. } = &mut self.subject
            && explored.take().is_some()
        {
            update(&mut self.model, Event::Looking(None));
        }
    }

    /// A dump or an export with what its path names filled in (`found`), for the write gate:
    /// the file, if one is there, and whether the process shown or mmapscope maps it (by device
    /// and inode, from both maps). Any other operation as it is.
    pub(super) fn look_before_dump(&self, op: Op) -> Op {
        let path = match &op {
            Op::Dump(dump) => dump.path.clone(),
            Op::Export(export) => export.path.clone(),
            _ => return op,
        };
        let ours = crate::sys::proc::maps::read_maps().unwrap_or_default();
        let theirs = match self.subject.attached() {
            Some(handle) => handle.maps().unwrap_or_default(),
            None => Vec::new(),
        };
        let mapped: Vec<(u64, u64)> = ours
            .iter()
            .chain(&theirs)
            .filter(|l| l.inode != 0)
            .map(|l| (l.dev, l.inode))
            .collect();
        let found = Some(crate::sys::ops::dump::look_at(&path, &mapped));
        match op {
            Op::Dump(mut dump) => {
                dump.found = found;
                Op::Dump(dump)
            }
            Op::Export(mut export) => {
                export.found = found;
                Op::Export(export)
            }
            other => other,
        }
    }

    /// What the write gate needs to know of what is shown, for `op`: the mapping we made (its
    /// file, mode and protection, the fork child's copy), a VMA of our own, or another
    /// process's (and whether a write there could land now).
    pub(super) fn gate_facts(&self, op: &Op) -> gate::Shown {
        match &self.subject {
            Subject::Recorded(_) => gate::Shown::Recording,
            Subject::Ours {
                explored: Some(_), ..
            } => gate::Shown::OwnVma,
            Subject::Ours { region, .. } => gate::Shown::Mapping {
                backing: match region.path().filter(|_| region.page_cache_file()) {
                    Some(path) => gate::Backing::File {
                        shown: crate::text::sanitize(&path.to_string_lossy()),
                        writable: region.may_write(),
                    },
                    None => gate::Backing::Memory,
                },
                mode: region.mode(),
                prot: region.prot(),
                child_mode: self.lab.child_spec().map(|c| {
                    if c.shared {
                        crate::sys::MapMode::Shared
                    } else {
                        crate::sys::MapMode::Private
                    }
                }),
            },
            Subject::Other { attached, explored } => {
                let info = attached.handle.info();
                let view = &explored.view;
                let lands = match (op, &explored.ended) {
                    (_, Some(why)) => Err(SysError::new(
                        libc::ESRCH,
                        "write",
                        format!("{why}: nothing is written there any more"),
                    )),
                    (Op::Write { offset, bytes }, None) => {
                        view.check_write(*offset, bytes.len() as u64)
                    }
                    _ => Ok(()),
                };
                gate::Shown::Process {
                    pid: info.pid,
                    name: format!("pid {} {}", info.pid, crate::text::sanitize(&info.comm)),
                    vma: crate::text::sanitize(
                        &crate::sys::attach::foreign::vma_name(view.line()).to_string_lossy(),
                    ),
                    start: view.line().start,
                    write: attached.write,
                    lands,
                }
            }
        }
    }
}
