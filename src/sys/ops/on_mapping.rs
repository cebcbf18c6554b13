//! Carrying out the operations on the mapping itself and its file: write, touch, read, msync,
//! madvise, fadvise, mprotect, remap in another mode, mremap, mlock, truncate; each measured
//! before and after, and refused in words where it cannot be done.

use rustix::mm::{Advice, MsyncFlags};

use crate::geometry::ByteKind;
use crate::sys::ops::op::{FAdvice, MAdvice, Scope, SyncKind};

use crate::sys::error::SysError;
use crate::sys::lab::experiments::Lab;
use crate::sys::map::region::{Region, fault_counts};
use crate::sys::map::request::{MapMode, Prot, Target};
use crate::sys::ops::notes;
use crate::sys::probe::prober::Prober;

use crate::sys::ops::outcome::*;

/// `lock` / `unlock`: mlock or munlock of a scope; the limits in the result.
pub(crate) fn lock(
    region: &Region,
    on: bool,
    scope: Scope,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let result = scope_pages(region, scope).and_then(|(first, count)| {
        if on {
            region.lock(first, count)?;
        } else {
            region.unlock(first, count)?;
        }
        let memlock = crate::sys::proc::limits::memlock();
        notes.push(notes::locked(on, count, memlock.exempt));
        Ok(Done::Locked {
            locked: on,
            first,
            pages: count,
            memlock,
        })
    });
    let call = range_call_plain(region, if on { "mlock" } else { "munlock" }, scope);
    (with_rc(call, &result), result)
}

/// `mlock(0x7f.., 16384) [all]`: a call on a range of the mapping without flags.
fn range_call_plain(region: &Region, name: &str, scope: Scope) -> String {
    super::outcome::range_call_with(region, name, None, scope)
}

/// What an mremap asks for: a new length (may move), or a new address (same length).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reshape {
    Len(u64),
    To(u64),
}

/// `resize` / `move`: mremap, and what came along.
pub(crate) fn mremap(
    region: &mut Region,
    prober: &Prober,
    how: Reshape,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let (old_addr, old_len) = (region.addr(), region.len());
    let old_bytes = region.map_bytes();
    let present_before = prober.present_count(region).unwrap_or(0);
    let (call, result) = match how {
        Reshape::Len(len) => (
            format!("mremap(0x{old_addr:x}, {old_bytes}, {len}, MREMAP_MAYMOVE)"),
            region.resize(len),
        ),
        Reshape::To(to) => (
            format!(
                "mremap(0x{old_addr:x}, {old_bytes}, {old_bytes}, MREMAP_MAYMOVE|MREMAP_FIXED, 0x{to:x})"
            ),
            region.move_to(to),
        ),
    };
    let result = result.map(|()| {
        let present_after = prober.present_count(region).unwrap_or(0);
        // Grown past the shmem object made at mmap (shared anonymous memory, /dev/zero).
        let shmem = region.shmem_end().is_some_and(|end| region.pages() > end);
        notes.extend(notes::remapped(
            (old_addr, region.addr()),
            (old_len, region.len()),
            (present_before, present_after),
            shmem,
        ));
        if let Ok(g) = region.geometry()
            && g.file_size.is_some()
            && region.len() > old_len
        {
            let first = g.data_bytes().div_ceil(g.page_size).min(g.pages());
            let beyond = g.pages() - first;
            if beyond > 0 {
                let span = match beyond {
                    1 => format!("page {first} is"),
                    _ => format!("pages {first}-{} are", first + beyond - 1),
                };
                notes.push(if shmem {
                    format!("{span} beyond the end of the shmem object now (never read)")
                } else {
                    format!(
                        "{span} beyond the end of the file now (never read: a load there would \
                         raise SIGBUS)"
                    )
                });
            }
        }
        Done::Resized {
            old_addr,
            new_addr: region.addr(),
            old_len,
            new_len: region.len(),
            moved: old_addr != region.addr(),
            present_before,
            present_after,
        }
    });
    let call = match &result {
        Ok(Done::Resized { new_addr, .. }) => format!("{call} = 0x{new_addr:x}"),
        Ok(_) => call,
        Err(e) => refused_call(call, e),
    };
    (call, result)
}

/// `read OFFSET LEN`: the bytes, copied without a load that could fault (`Mapped::read`).
pub(crate) fn read(
    region: &dyn crate::sys::map::range::Mapped,
    offset: u64,
    len: u64,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let result = usize::try_from(len)
        .ok()
        .filter(|&n| n <= 1 << 20)
        .ok_or_else(|| SysError::new(libc::EINVAL, "read", "read at most 1 MiB at a time"))
        .and_then(|n| {
            let mut bytes = vec![0u8; n];
            let got = region.read(offset, &mut bytes)?;
            bytes.truncate(got);
            notes.extend(notes::short_read(got, n));
            Ok(Done::Read { offset, bytes })
        });
    (format!("read 0x{offset:x} +{len}"), result)
}

/// `mode shared|private`: mmap again with the other sharing mode; a shared mapping of the
/// named file is writable only when the gate says writing it is allowed (`writable`).
pub(crate) fn remap(
    region: &mut Region,
    prober: &Prober,
    mode: MapMode,
    writable: bool,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let (old_prot, was, old_addr) = (region.prot(), region.mode(), region.addr());
    let copies = private_copies(region, prober, 0, region.pages());
    let call = format!(
        "mmap({}, {}) again",
        mode.flag_name(),
        prot_flags(region.remap_prot(mode, writable))
    );
    let result = region.remap(mode, writable).map(|()| Done::Remapped {
        old_addr,
        new_addr: region.addr(),
        mode,
    });
    if result.is_ok() {
        notes.push(notes::remap(!region.page_cache_file(), was, mode, copies));
        notes.extend(notes::remap_prot(old_prot, region.prot(), region.mode()));
    }
    (call, result)
}

/// `msync`: dirty pages before and after, and the padding writeback may re-zero.
pub(crate) fn msync(
    region: &Region,
    prober: &Prober,
    kind: SyncKind,
    scope: Scope,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let flags = match kind {
        SyncKind::Sync => MsyncFlags::SYNC,
        SyncKind::Async => MsyncFlags::ASYNC,
        SyncKind::Invalidate => MsyncFlags::INVALIDATE,
    };
    let result = scope_pages(region, scope).and_then(|(first, count)| {
        let dirty_before = dirty_pages(region, first, count);
        let padding_before = padding_bytes(region, prober, first, count);
        region.msync(first, count, flags)?;
        let dirty_after = dirty_pages(region, first, count);
        let padding_after = padding_bytes(region, prober, first, count);
        let rezeroed = padding_before
            .iter()
            .zip(&padding_after)
            .filter(|(b, a)| b != a)
            .count() as u64;
        notes.extend(notes::msync(
            kind,
            region.mode(),
            region.always_dirty(),
            (dirty_before, dirty_after),
            rezeroed,
        ));
        Ok(Done::Synced {
            kind,
            first,
            count,
            dirty_before,
            dirty_after,
        })
    });
    let call = range_call(region, "msync", kind.name(), scope);
    (with_rc(call, &result), result)
}

/// `protect`: PROT_WRITE on a shared mapping of the named file only with the gate's consent
/// (`writable`; a script's `protect rw` line is that consent, a key asks first); the
/// descriptor is then reopened read-write where it was not.
pub(crate) fn protect(
    region: &mut Region,
    prot: Prot,
    writable: bool,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let named_shared = region.page_cache_file() && region.mode() == MapMode::Shared;
    let allowed = match (prot.write && named_shared, writable) {
        (false, _) => Ok(None),
        (true, true) => region.allow_write(),
        (true, false) => Err(SysError::new(
            libc::EACCES,
            "mprotect",
            "writing this file was not allowed: PROT_WRITE on its MAP_SHARED mapping would let \
             every store write the file",
        )),
    };
    let result = allowed.and_then(|note| {
        notes.extend(note);
        region.mprotect(prot).map(|()| Done::Protected {})
    });
    if result.is_ok() {
        notes.extend(notes::protected(prot));
    }
    let call = format!(
        "mprotect(0x{:x}, {}, {})",
        region.addr(),
        region.map_bytes(),
        prot_flags(prot)
    );
    (with_rc(call, &result), result)
}

/// `advise`: residency and private copies before and after.
pub(crate) fn advise(
    region: &Region,
    prober: &Prober,
    advice: MAdvice,
    scope: Scope,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let result = scope_pages(region, scope).and_then(|(first, count)| {
        let resident_before = resident_pages(region, first, count);
        let copies_before = private_copies(region, prober, first, count);
        let thp_before = thp_counters(region);
        if advice == MAdvice::Collapse {
            region.collapse(first, count)?;
        } else {
            region.madvise(first, count, madvice(advice))?;
        }
        let resident_after = resident_pages(region, first, count);
        let copies_after = private_copies(region, prober, first, count);
        if matches!(
            advice,
            MAdvice::HugePage | MAdvice::NoHugePage | MAdvice::Collapse
        ) {
            let after = thp_counters(region);
            notes.extend(notes::thp_advised(
                advice,
                (thp_before.0, after.0),
                (thp_before.1, after.1),
            ));
        } else {
            notes.extend(notes::advised(
                advice,
                region.page_cache_file(),
                cacheable_pages(region, first, count),
                (resident_before, resident_after),
                (copies_before, copies_after),
            ));
        }
        Ok(Done::Advised {
            first,
            count,
            resident_before,
            resident_after,
            copies_before,
            copies_after,
        })
    });
    let call = range_call(region, "madvise", advice.name(), scope);
    (with_rc(call, &result), result)
}

/// `fadvise`: residency before and after; what kept pages cached when nothing was evicted.
pub(crate) fn fadvise(
    region: &Region,
    prober: &Prober,
    advice: FAdvice,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let pages = region.pages();
    let before = resident_pages(region, 0, pages);
    let result = region.fadvise(fadvice(advice)).map(|()| {
        let after = resident_pages(region, 0, pages);
        let context = match (before, after) {
            (Some(b), Some(a)) if notes::fadvise_needs_context(advice, b, a) => Some((
                present_pages(prober, region, 0, pages.min(1 << 20)).len() as u64,
                dirty_pages(region, 0, pages).is_some_and(|d| d > 0),
            )),
            _ => None,
        };
        let cacheable = cacheable_pages(region, 0, pages);
        notes.extend(notes::fadvised(advice, cacheable, (before, after), context));
        Done::Advised {
            first: 0,
            count: pages,
            resident_before: before,
            resident_after: after,
            copies_before: None,
            copies_after: None,
        }
    });
    let call = format!(
        "posix_fadvise(fd, {}, {}, {})",
        region.offset(),
        region.map_bytes(),
        advice.name()
    );
    (with_rc(call, &result), result)
}

fn prot_flags(p: crate::sys::map::request::Prot) -> String {
    let mut parts = Vec::new();
    if p.read {
        parts.push("PROT_READ");
    }
    if p.write {
        parts.push("PROT_WRITE");
    }
    if p.exec {
        parts.push("PROT_EXEC");
    }
    if parts.is_empty() {
        "PROT_NONE".into()
    } else {
        parts.join("|")
    }
}

fn madvice(a: MAdvice) -> Advice {
    match a {
        MAdvice::WillNeed => Advice::WillNeed,
        MAdvice::DontNeed => Advice::LinuxDontNeed,
        MAdvice::Cold => Advice::LinuxCold,
        MAdvice::PageOut => Advice::LinuxPageOut,
        MAdvice::Sequential => Advice::Sequential,
        MAdvice::Random => Advice::Random,
        MAdvice::Normal => Advice::Normal,
        MAdvice::HugePage => Advice::LinuxHugepage,
        MAdvice::NoHugePage => Advice::LinuxNoHugepage,
        // Not a rustix advice: `advise` calls Region::collapse instead.
        MAdvice::Collapse => Advice::Normal,
    }
}

fn fadvice(a: FAdvice) -> rustix::fs::Advice {
    match a {
        FAdvice::DontNeed => rustix::fs::Advice::DontNeed,
        FAdvice::WillNeed => rustix::fs::Advice::WillNeed,
        FAdvice::Random => rustix::fs::Advice::Random,
    }
}

pub(crate) fn write(
    region: &Region,
    offset: u64,
    bytes: &[u8],
    writable: bool,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let geometry = region.geometry()?;
    let end = offset
        .checked_add(bytes.len() as u64)
        .filter(|&e| e <= region.map_bytes())
        .ok_or_else(|| {
            SysError::new(
                libc::EINVAL,
                format!("write at 0x{offset:x}"),
                format!("the mapping ends at 0x{:x}", region.map_bytes()),
            )
        })?;
    refuse_beyond_eof(&geometry, offset, bytes.len(), "write")?;
    let prot = region.prot();
    if !prot.write {
        let why = notes::write_refusal(
            matches!(region.target(), Target::File { .. }),
            region.mode() == MapMode::Shared,
            region.may_write(),
            writable,
        );
        return Err(SysError::new(
            libc::EACCES,
            format!("write at 0x{offset:x} ({})", prot.letters()),
            why,
        ));
    }
    let mut old = vec![0u8; bytes.len()];
    // With PROT_WRITE but without PROT_READ (not offered, but possible via the kernel's rules)
    // the old bytes are unknown: the undo record then restores zeros. Say so.
    if region.read(offset, &mut old).ok() != Some(bytes.len()) {
        notes.push("the old bytes could not be read: undo would write zeros".into());
        old.fill(0);
    }
    let n = region.write(offset, bytes)?;
    if n < bytes.len() {
        // All or nothing: the bytes that landed before the dead page are put back.
        let restored = n == 0 || region.write(offset, &old[..n]).ok() == Some(n);
        return Err(SysError::new(
            libc::EFAULT,
            format!("write at 0x{offset:x}"),
            format!(
                "only {n} of {} bytes could be stored (the rest lies on a page cut off \
                 meanwhile), so nothing was written: {} bytes landed{}",
                bytes.len(),
                if restored { 0 } else { n },
                if restored {
                    ""
                } else {
                    " (they could not be put back)"
                }
            ),
        ));
    }
    let padding = (offset..end)
        .filter(|&o| geometry.byte_kind(o) == ByteKind::Padding)
        .count() as u64;
    notes.extend(notes::wrote(
        padding,
        region.mode() == MapMode::Private && region.page_cache_file(),
    ));
    Ok(Done::Wrote {
        offset,
        old,
        new: bytes.to_vec(),
        padding,
    })
}

/// EFAULT when any of `len` bytes at `offset` lies on a page beyond end of file: a store
/// there would raise SIGBUS, so nothing is written (not even the bytes before it).
pub(crate) fn refuse_beyond_eof(
    geometry: &crate::geometry::Geometry,
    offset: u64,
    len: usize,
    what: &str,
) -> Result<(), SysError> {
    let end = offset.saturating_add(len as u64);
    if let Some(o) = (offset..end).find(|&o| geometry.byte_kind(o) == ByteKind::BeyondEof) {
        return Err(SysError::new(
            libc::EFAULT,
            format!("{what} at 0x{offset:x}"),
            format!(
                "byte 0x{o:x} lies on a page beyond end of file: a store there would raise \
                 SIGBUS, so nothing was written (0 bytes landed)"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn touch(
    region: &Region,
    prober: &Prober,
    page: u64,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    let pages = region.pages();
    if page >= pages {
        return Err(SysError::new(
            libc::EINVAL,
            format!("touch page {page}"),
            format!("the mapping has pages 0 to {}", pages - 1),
        ));
    }
    // A window around the page shows fault-around (up to 16 pages each side).
    let lo = page.saturating_sub(16);
    let n = (page + 17).min(pages) - lo;
    let present_before = present_pages(prober, region, lo, n);
    let resident_before = resident_pages(region, 0, pages);
    let page_was_resident = resident_pages(region, page, 1) == Some(1);
    let (min0, maj0) = fault_counts();
    let mut b = [0u8; 1];
    let read = region.read(page * region.page_size(), &mut b);
    let (min1, maj1) = fault_counts();
    read.map_err(|mut e| {
        e.explanation = format!(
            "{} (a plain load here would have killed a naive program)",
            e.explanation
        );
        e
    })?;
    let present_after = present_pages(prober, region, lo, n);
    let newly_present: Vec<u64> = present_after
        .into_iter()
        .filter(|p| !present_before.contains(p))
        .collect();
    let resident_after = resident_pages(region, 0, pages);
    let (minor, major) = (min1 - min0, maj1 - maj0);
    let others_present = newly_present.iter().filter(|&&p| p != page).count() as u64;
    // Pages other than the touched one that came into the cache: readahead.
    let readahead = match (resident_before, resident_after) {
        (Some(b), Some(a)) => a
            .saturating_sub(b)
            .saturating_sub(u64::from(!page_was_resident)),
        _ => 0,
    };
    notes.extend(notes::touched(
        (minor, major),
        others_present,
        page_was_resident,
        readahead,
    ));
    Ok(Done::Touched {
        page,
        minor,
        major,
        newly_present,
        resident_before,
        resident_after,
    })
}

pub(crate) fn truncate(
    region: &Region,
    lab: &Lab,
    size: u64,
    notes: &mut Vec<String>,
) -> Result<Done, SysError> {
    // The helper opens /proc/PID/fd/N: the very file we hold, whatever its path names now.
    // (Writing the file was allowed: the gate gave the permit.)
    let Some(fd_path) = region.fd_path().filter(|_| region.page_cache_file()) else {
        return Err(SysError::new(
            libc::EINVAL,
            "truncate",
            "only a file has a size to change; anonymous memory and /dev/zero have none",
        ));
    };
    let old_size = region
        .file_size_now()?
        .ok_or_else(|| SysError::new(libc::EINVAL, "truncate", "this file has no size"))?;
    if region.file_kind() == Some(crate::sys::map::request::FileKind::Block) {
        return Err(SysError::new(
            libc::EINVAL,
            "truncate",
            "a block device's size is the device's: it cannot be truncated",
        ));
    }
    let exe = lab.helper_binary()?;
    let status = std::process::Command::new(exe)
        .arg("internal-truncate")
        .arg(&fd_path)
        .arg(size.to_string())
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| SysError::from_io(&e, "spawn the truncating process"))?;
    if !status.success() {
        return Err(SysError::new(
            libc::EIO,
            "truncate",
            format!("the truncating process failed ({status}); see its message above"),
        ));
    }
    let new_size = region.file_size_now()?.unwrap_or(size);
    let change = region
        .geometry()?
        .size_change(old_size, new_size, crate::geometry::Grown::Hole)
        .join("; ");
    notes.push(match new_size.cmp(&old_size) {
        std::cmp::Ordering::Less => format!("the file shrank: {change}"),
        std::cmp::Ordering::Greater => format!("the file grew: {change}"),
        std::cmp::Ordering::Equal => change,
    });
    Ok(Done::Truncated { old_size, new_size })
}

/// Cuts or extends `path` to `size` bytes: the body of the helper process behind `truncate`.
///
/// # Errors
/// The file could not be opened for writing or resized.
pub fn truncate_file(path: &std::path::Path, size: u64) -> Result<(), SysError> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(size))
        .map_err(|e| {
            SysError::from_io(
                &e,
                format!(
                    "ftruncate {}",
                    crate::text::sanitize(&path.to_string_lossy())
                ),
            )
        })
}
