//! Carrying out the lab's operations that involve another process or the allocator: `fork`
//! and the keeper's `child` reads and writes (and what they share with us), the peer, `alloc`
//! and `free`, and the words of a call of mapped code.

use crate::sys::ops::op::Op;

use crate::sys::attach::handle::ProcessHandle;
use crate::sys::contain::children::{CodeChild, Reaped};
use crate::sys::error::SysError;
use crate::sys::lab::experiments::Lab;
use crate::sys::map::region::Region;
use crate::sys::map::request::{MapMode, Prot};
use crate::sys::ops::{gate, notes};
use crate::sys::probe::prober::Prober;
use crate::sys::probe::state::PM_PRESENT;
use crate::sys::track::access;

use crate::sys::ops::on_mapping::*;
use crate::sys::ops::outcome::*;

/// The experiments with processes and the allocator: code in a child, the peer, malloc, and
/// the keeper.
pub(crate) fn run_lab(
    region: &mut Region,
    prober: &Prober,
    lab: &mut Lab,
    op: &Op,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    match op {
        Op::Exec { offset, args } => {
            let prot = region.prot();
            let result = region
                .spawn_code(*offset, *args)
                .and_then(CodeChild::wait)
                .map(|reaped| called(*offset, prot, reaped, notes));
            (exec_call(region.addr(), *offset, *args), result)
        }
        Op::PeerStart(at) => peer_start(region, lab, at.unwrap_or(0), notes),
        Op::PeerStop => {
            // A peer that ended on its own is not stopped by us: `no_peer` says how it ended.
            let _ = lab.reap_peer();
            let result = lab
                .stop_peer()
                .map(|pid| Done::PeerStopped { pid })
                .ok_or_else(|| lab.no_peer());
            ("peer stop".into(), result)
        }
        Op::Alloc(size) => {
            let result = lab.alloc(*size).map(|a| {
                notes.push(notes::allocated(&a));
                notes.push(notes::threshold(&a.threshold));
                Done::Allocated(a)
            });
            (format!("malloc({size})"), result)
        }
        Op::Free => free(lab, notes),
        Op::Fork => ("fork()".into(), fork(region, prober, lab, notes)),
        // The session swaps when there is a second mapping; here there is none.
        Op::Swap => (
            "swap".into(),
            Err(SysError::new(
                libc::EINVAL,
                "swap",
                "there is no second mapping to swap with: start with --also private|shared \
                 (a second mapping of the same file, shown beside the first)",
            )),
        ),
        Op::ChildWrite { offset, bytes } => (
            format!("child: write 0x{offset:x} <- {}", hex(bytes)),
            child_write(region, prober, lab, *offset, bytes, notes),
        ),
        Op::ChildRead { offset, len } => (
            format!("child: read 0x{offset:x} +{len}"),
            child_read(region, prober, lab, *offset, *len, notes),
        ),
        Op::ChildExit => child_exit(lab, notes),
        Op::ChildTrack => (
            "child: write 1 to /proc/PID/clear_refs".into(),
            child_track(lab, notes),
        ),
        Op::ChildTouched => (
            "child: read Referenced in /proc/PID/smaps".into(),
            child_touched(region, lab, notes),
        ),
        other => (
            other.name(),
            Err(SysError::new(libc::EINVAL, "exec", "not an experiment")),
        ),
    }
}

/// `free`: the last block `alloc` made, and where it went back to.
fn free(lab: &mut Lab, notes: &mut Vec<String>) -> (String, Result<Done, SysError>) {
    let result = lab
        .free()
        .map(|(addr, size, landed)| {
            notes.push(notes::freed(size, landed));
            notes.push(notes::threshold(&lab.threshold));
            Done::Freed {
                addr,
                size,
                landed: landed.word(),
                threshold: lab.threshold.clone(),
            }
        })
        .ok_or_else(|| SysError::new(libc::EINVAL, "free", "nothing allocated to free"));
    let call = match &result {
        Ok(Done::Freed { addr, .. }) => format!("free(0x{addr:x})"),
        _ => "free".into(),
    };
    (call, result)
}

/// `child exit`: the keeper ends and is reaped.
fn child_exit(lab: &mut Lab, notes: &mut Vec<String>) -> (String, Result<Done, SysError>) {
    let result = lab.end_child().map(|(pid, how)| {
        notes.push(format!(
            "pid {pid} {how}: its page tables are gone, so the pages it shared are ours alone \
             again"
        ));
        Done::ChildExited { pid, how }
    });
    ("child exit".into(), result)
}

/// Whether our page `page` is shared with the keeper now; `None` without a keeper, or when a
/// pagemap could not be read.
fn shared_with_child(region: &Region, prober: &Prober, lab: &Lab, page: u64) -> Option<bool> {
    let keeper = lab.keeper.as_ref()?;
    let child = crate::sys::probe::prober::child_words(
        keeper.pagemap().ok()?,
        keeper.spec(),
        region.page_size(),
        page,
        1,
    )?;
    let mut ours = Vec::new();
    prober.pagemap_words(region, page, 1, &mut ours).ok()?;
    Some(crate::sys::probe::state::shared_pages(ours[0], child[0]))
}

/// Our present pages, and how many of them the keeper maps too (`None`: unknown, or a
/// mapping too large to walk here).
fn count_shared(region: &Region, prober: &Prober, lab: &Lab) -> (Option<u64>, Option<u64>) {
    const WINDOW: u64 = 1 << 14;
    let pages = region.pages();
    let keeper = lab.keeper.as_ref();
    let (mut present, mut shared) = (0, Some(0));
    if pages > 1 << 20 {
        return (None, None);
    }
    let mut at = 0;
    let mut ours = Vec::new();
    while at < pages {
        let n = WINDOW.min(pages - at);
        if prober.pagemap_words(region, at, n, &mut ours).is_err() {
            return (None, None);
        }
        let theirs = keeper.and_then(|k| {
            crate::sys::probe::prober::child_words(
                k.pagemap().ok()?,
                k.spec(),
                region.page_size(),
                at,
                n,
            )
        });
        present += ours.iter().filter(|w| *w & PM_PRESENT != 0).count() as u64;
        shared = match (shared, theirs) {
            (Some(s), Some(t)) => Some(
                s + ours
                    .iter()
                    .zip(&t)
                    .filter(|(o, c)| crate::sys::probe::state::shared_pages(**o, **c))
                    .count() as u64,
            ),
            _ => None,
        };
        at += n;
    }
    (Some(present), shared)
}

/// `fork`: the keeper, and what it shares with us at once.
fn fork(
    region: &Region,
    prober: &Prober,
    lab: &mut Lab,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let pid = lab.fork(region)?.pid();
    let (present, shared) = count_shared(region, prober, lab);
    notes.extend(notes::forked(
        pid,
        region.mode(),
        present.unwrap_or(0),
        shared.filter(|_| present.is_some()),
    ));
    Ok(Done::Forked {
        pid,
        present,
        shared_with_child: shared,
    })
}

/// A write of ours: as before, and when a child keeps the mapping, whether it split a page
/// the two shared.
pub(crate) fn write_after_fork(
    region: &Region,
    (prober, lab): (&Prober, &Lab),
    offset: u64,
    bytes: &[u8],
    (writable, notes): (bool, &mut Vec<String>),
) -> Result<Done, SysError> {
    let page = offset / region.page_size();
    let before = shared_with_child(region, prober, lab, page);
    let done = write(region, offset, bytes, writable, notes)?;
    let after = shared_with_child(region, prober, lab, page);
    let spec = lab
        .keeper
        .as_ref()
        .map(crate::sys::contain::children::Keeper::spec);
    if region.mode() == MapMode::Shared && spec.is_some_and(|c| c.shared && c.same_object) {
        // The page may be in neither page table yet: the store went to the object both map.
        notes.push(format!(
            "MAP_SHARED: your write went to the object the child maps too: page {page} of its \
             copy holds your bytes"
        ));
    } else {
        notes.extend(notes::split(page, region.mode(), (before, after), false));
    }
    Ok(done)
}

/// `child write`: the keeper stores into its copy; what that did to the page we shared.
fn child_write(
    region: &Region,
    prober: &Prober,
    lab: &mut Lab,
    offset: u64,
    bytes: &[u8],
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let page = offset / region.page_size();
    refuse_beyond_eof(&region.geometry()?, offset, bytes.len(), "child write")?;
    let before = shared_with_child(region, prober, lab, page);
    let keeper = lab.child()?;
    let (pid, spec) = (keeper.pid(), keeper.spec());
    let old = keeper.write(offset, bytes)?;
    let after = shared_with_child(region, prober, lab, page);
    if spec.shared {
        notes.push(child_shared_write(
            region,
            prober,
            spec.same_object,
            offset,
            bytes,
        ));
    } else {
        notes.extend(notes::split(page, MapMode::Private, (before, after), true));
    }
    Ok(Done::ChildWrote {
        pid,
        offset,
        old,
        new: bytes.to_vec(),
        shared_before: before,
        shared_after: after,
    })
}

/// Where a store by the child into its MAP_SHARED copy went: to the object behind it (the
/// file's page cache, or the shmem object of shared anonymous memory), whether or not either
/// page table maps the page yet. What we see of it is measured where that disturbs nothing:
/// our bytes are read back only from a page our page tables map already (a read of any other
/// would fault it in).
fn child_shared_write(
    region: &Region,
    prober: &Prober,
    same_object: bool,
    offset: u64,
    bytes: &[u8],
) -> String {
    let page = offset / region.page_size();
    if !same_object {
        return format!(
            "the child's MAP_SHARED write went to the object it was forked with; yours was \
             mapped afresh since, so page {page} of yours does not see it"
        );
    }
    if region.mode() == MapMode::Private {
        return format!(
            "the child's MAP_SHARED write went to the file; yours is MAP_PRIVATE now: page \
             {page} shows it only while you hold no private copy of it"
        );
    }
    let mut words = Vec::new();
    let present = prober.pagemap_words(region, page, 1, &mut words).is_ok()
        && words.first().is_some_and(|w| w & PM_PRESENT != 0);
    let mut ours = vec![0u8; bytes.len()];
    let seen = if present {
        region.read(offset, &mut ours).ok() == Some(bytes.len())
    } else {
        false
    };
    match (present, seen && ours == bytes) {
        (true, true) => format!(
            "MAP_SHARED: the child's write went to the one page both map: you read {} there \
             too",
            hex(&ours)
        ),
        (true, false) => format!(
            "MAP_SHARED: the child wrote into the page both map, yet your read there gives {}",
            if seen { hex(&ours) } else { "nothing".into() }
        ),
        (false, _) => format!(
            "MAP_SHARED: the child's write went to the object both map; page {page} is not in \
             your page tables yet, and your next read maps that page, with the child's bytes"
        ),
    }
}

/// `child read`: the keeper's bytes (its page may fault in, and be shared with us then).
fn child_read(
    region: &Region,
    prober: &Prober,
    lab: &mut Lab,
    offset: u64,
    len: u64,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let page = offset / region.page_size();
    let before = shared_with_child(region, prober, lab, page);
    let keeper = lab.child()?;
    let pid = keeper.pid();
    let n = usize::try_from(len).unwrap_or(usize::MAX);
    let bytes = keeper.read(offset, n)?;
    notes.push(format!("the child sees {}", hex(&bytes)));
    let after = shared_with_child(region, prober, lab, page);
    if before == Some(false) && after == Some(true) {
        notes.push(format!(
            "the child's read mapped page {page} into its page tables: it shares our page now"
        ));
    }
    notes.extend(notes::short_read(bytes.len(), n));
    Ok(Done::ChildRead {
        pid,
        offset,
        bytes,
        shared_after: after,
    })
}

/// The keeper's handle: our own unreaped child, so its pid cannot be another process's.
fn child_handle(lab: &mut Lab) -> Result<ProcessHandle, SysError> {
    let pid = lab.child()?.pid();
    ProcessHandle::open(pid, false)
}

/// `child track`: clears the child's accessed bits, through the write gate (the line naming
/// the lab's own child is the consent `--track-access` is for another process).
fn child_track(lab: &mut Lab, notes: &mut Vec<String>) -> Result<Done, SysError> {
    let handle = child_handle(lab)?;
    if let Some(refused) = gate::clear_refs_refusal(true, Some(handle.pid()), handle.status()) {
        return Err(refused);
    }
    access::clear(&handle)?;
    let per_page = access::per_page().words();
    notes.push(format!(
        "the child's accessed bits are cleared: its Referenced counts what it touches from now on \
         ({per_page})"
    ));
    Ok(Done::ChildTracked {
        pid: handle.pid(),
        per_page,
    })
}

/// `child touched`: the child's `Referenced` and `Rss` over its copy of the mapping.
fn child_touched(
    region: &Region,
    lab: &mut Lab,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let handle = child_handle(lab)?;
    let vmas = handle.vmas(region.addr(), region.addr() + region.map_bytes())?;
    let referenced = vmas.iter().map(|v| v.memory.referenced).sum();
    let rss = vmas.iter().map(|v| v.memory.rss).sum();
    notes.push(format!(
        "the child touched {} of its {} resident in the mapping since `child track` (Referenced: \
         a lower bound)",
        crate::text::human(referenced),
        crate::text::human(rss)
    ));
    Ok(Done::ChildTouched {
        pid: handle.pid(),
        referenced,
        rss,
    })
}

/// `peer start`: a second process writing a counter into the file.
fn peer_start(
    region: &Region,
    lab: &mut Lab,
    offset: u64,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let result = lab.start_peer(region, offset).map(|peer| {
        notes.extend(notes::peer_started(
            peer.pid(),
            crate::sys::lab::experiments::PEER_PERIOD.as_millis(),
            region.mode() == MapMode::Private,
        ));
        Done::PeerStarted {
            pid: peer.pid(),
            file_offset: peer.file_offset,
        }
    });
    (format!("peer start at 0x{offset:x}"), result)
}

/// `call 0x7f..(1, 2) in a forked child`.
pub(crate) fn exec_call(addr: u64, offset: u64, args: (u64, u64)) -> String {
    format!(
        "call 0x{:x}({}, {}) in a forked child",
        addr + offset,
        args.0,
        args.1
    )
}

/// The `Done` of a code child's end, and notes saying how it ended. `prot`: the mapping's
/// protection when the child was forked.
pub(crate) fn called(offset: u64, prot: Prot, reaped: Reaped, notes: &mut Vec<String>) -> Done {
    notes.extend(notes::called(reaped.end, prot, reaped.group_killed));
    Done::Called {
        offset,
        end: reaped.end,
    }
}
