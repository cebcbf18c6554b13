//! The VMA that holds an address of a process, or the gap it falls in and the VMAs on either
//! side, asked through the process's handle (its `maps` opened at attach, so a pid reused
//! meanwhile cannot redirect the answer). PROCMAP_QUERY (Linux >= 6.11) answers one VMA per
//! ioctl; it has no "previous VMA" query, so the VMA before a gap is found by bisecting for
//! the gap's start (about 48 ioctls for a 48-bit address space). Older kernels: the maps text
//! is read once and bisected.

use crate::sys::attach::handle::ProcessHandle;
use crate::sys::error::SysError;
use crate::sys::proc::maps::MapsLine;

/// Where an address is in a process's address space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// The VMA that holds it.
    Inside(MapsLine),
    /// In no VMA: the nearest below (ending at or before it) and above (starting after it).
    Gap {
        before: Option<MapsLine>,
        after: Option<MapsLine>,
    },
}

/// How the answer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The PROCMAP_QUERY ioctl, one VMA at a time.
    Query,
    /// The whole `/proc/PID/maps` text (no PROCMAP_QUERY in this kernel).
    Scan,
}

/// The VMA of `addr` in the process of `handle` (or the gap around it).
///
/// # Errors
/// ESRCH once the process exited or called exec; a read's failure.
pub fn locate(handle: &ProcessHandle, addr: u64) -> Result<(Located, Via), SysError> {
    match by_query(handle, addr) {
        Ok(found) => Ok((found, Via::Query)),
        // ENOTTY: an ioctl the kernel does not know (before 6.11).
        Err(e) if e.errno == libc::ENOTTY || e.errno == libc::EINVAL => {
            Ok((by_scan(handle, addr)?, Via::Scan))
        }
        Err(e) => Err(e),
    }
}

/// As `locate`, always reading the whole maps text (what a kernel without PROCMAP_QUERY
/// costs; the benchmark compares both).
///
/// # Errors
/// As `locate`.
pub fn locate_by_scan(handle: &ProcessHandle, addr: u64) -> Result<Located, SysError> {
    by_scan(handle, addr)
}

/// Where `addr` is among `maps` (sorted by address, as the kernel writes them).
pub fn locate_in(maps: &[MapsLine], addr: u64) -> Located {
    let i = maps.partition_point(|l| l.end <= addr);
    match maps.get(i) {
        Some(l) if l.start <= addr => Located::Inside(l.clone()),
        after => Located::Gap {
            before: i.checked_sub(1).and_then(|b| maps.get(b)).cloned(),
            after: after.cloned(),
        },
    }
}

fn by_scan(handle: &ProcessHandle, addr: u64) -> Result<Located, SysError> {
    let mut maps = handle.maps()?;
    // maps writes [vsyscall] (x86_64's kernel gate page, in no mm's tree) where PROCMAP_QUERY
    // sees nothing: both ways answer alike without it.
    maps.retain(|l| l.path != "[vsyscall]");
    Ok(locate_in(&maps, addr))
}

fn by_query(handle: &ProcessHandle, addr: u64) -> Result<Located, SysError> {
    let after = handle.query(addr, true)?;
    if let Some(l) = after.as_ref().filter(|l| l.start <= addr) {
        return Ok(Located::Inside(l.clone()));
    }
    let after_start = after.as_ref().map(|l| l.start);
    // The gap's start: the lowest `x` whose covering-or-next VMA is still `after`. Below it
    // the answer is the VMA before the gap (or one further down); the predicate is monotone.
    let (mut lo, mut hi) = (0u64, addr);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let at = handle.query(mid, true)?.map(|l| l.start);
        if at == after_start {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let before = match lo.checked_sub(1) {
        Some(last) => handle.query(last, false)?,
        None => None,
    };
    Ok(Located::Gap { before, after })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(start: u64, end: u64) -> MapsLine {
        MapsLine::sample(start, end, "rw-p", "")
    }

    #[test]
    fn an_address_is_inside_a_vma_or_between_two() {
        let maps = [line(0x1000, 0x3000), line(0x5000, 0x6000)];
        assert_eq!(locate_in(&maps, 0x1000), Located::Inside(maps[0].clone()));
        assert_eq!(locate_in(&maps, 0x2fff), Located::Inside(maps[0].clone()));
        assert_eq!(
            locate_in(&maps, 0x3000),
            Located::Gap {
                before: Some(maps[0].clone()),
                after: Some(maps[1].clone())
            }
        );
        assert_eq!(
            locate_in(&maps, 0x10),
            Located::Gap {
                before: None,
                after: Some(maps[0].clone())
            }
        );
        assert_eq!(
            locate_in(&maps, 0x6000),
            Located::Gap {
                before: Some(maps[1].clone()),
                after: None
            }
        );
    }

    /// The ioctl's answers (bisected for the gap) agree with the maps text's, for ourselves:
    /// inside every VMA, and in the gaps between them.
    #[test]
    fn the_query_and_the_scan_agree_on_our_own_address_space() {
        let me = ProcessHandle::myself().unwrap();
        let maps = me.maps().unwrap();
        let (_, via) = locate(&me, maps[0].start).unwrap();
        if via == Via::Scan {
            eprintln!("SKIPPED the_query_and_the_scan_agree...: no PROCMAP_QUERY in this kernel");
            return;
        }
        let mut probes = vec![0, 0x10, u64::MAX >> 1];
        for w in maps.windows(2) {
            probes.extend([
                w[0].start,
                w[0].end - 1,
                w[0].end,
                w[1].start.saturating_sub(1),
            ]);
        }
        // Our own maps move between two reads (the allocator): compare against a fresh read.
        // Other test threads map and unmap meanwhile: a disagreement is asked again.
        for addr in probes {
            let agree = (0..5).any(|_| {
                let (by_query, _) = locate(&me, addr).unwrap();
                by_query == locate_by_scan(&me, addr).unwrap()
            });
            assert!(agree, "0x{addr:x}: {:?}", locate(&me, addr));
        }
    }
}
