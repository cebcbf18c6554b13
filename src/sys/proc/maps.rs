//! Our own address space as the kernel describes it: `/proc/self/maps` (every mapping, for the
//! side panel) and `/proc/self/smaps` (the counters of the VMA holding our mapping), parsed from
//! bytes: a path in these files may hold any bytes (a file named `n\xff`, a binary in such a
//! directory), and one such path must not hide every other line. Our VMA is found by address,
//! never by line count: an anonymous private mapping may merge with a neighbour, and an
//! mprotect of part of a mapping splits it.

use crate::sys::error::SysError;

/// One line of /proc/self/maps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapsLine {
    pub start: u64,
    pub end: u64,
    /// `rw-s` style.
    pub perms: String,
    pub offset: u64,
    /// The file's device (`major:minor` in maps; 0 for anonymous memory).
    pub dev: u64,
    pub inode: u64,
    /// The path or pseudo-path (`[heap]`, `[stack]`, empty for anonymous), as the kernel wrote
    /// it: escape it (`text::sanitize`) before display.
    pub path: String,
}

impl MapsLine {
    /// A line of memory with no file (offset, device and inode 0): the tests' fabricated maps.
    #[cfg(test)]
    pub(crate) fn sample(start: u64, end: u64, perms: &str, path: &str) -> Self {
        Self {
            start,
            end,
            perms: perms.into(),
            path: path.into(),
            ..Self::default()
        }
    }
}

/// The smaps counters of one VMA (bytes) with its maps line; serialized as the report's
/// `vma` (addresses in hex, Size left out: the mapping says it), its parts flattened in the
/// order docs/json.md documents.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Vma {
    #[serde(flatten)]
    pub head: VmaHead,
    #[serde(flatten)]
    pub memory: MemoryCounters,
    #[serde(flatten)]
    pub huge: HugeCounters,
    /// Two-letter VmFlags names, as in smaps (`rd wr sh mr mw me ms`).
    pub vm_flags: Vec<String>,
}

/// What opens a VMA in smaps: where it is, its permissions and what it maps.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct VmaHead {
    #[serde(serialize_with = "crate::text::json::addr")]
    pub start: u64,
    #[serde(serialize_with = "crate::text::json::addr")]
    pub end: u64,
    pub perms: String,
    pub path: String,
}

/// The VMA's memory in bytes, as smaps counts it: its size, how much is in memory and how it
/// is shared, swapped or locked.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct MemoryCounters {
    #[serde(skip)]
    pub size: u64,
    pub rss: u64,
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub anonymous: u64,
    pub referenced: u64,
    pub swap: u64,
    pub locked: u64,
}

/// The VMA's huge pages, as smaps counts them (bytes), and whether it may get more.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct HugeCounters {
    /// Anonymous memory mapped by transparent huge pages (PMD-mapped).
    pub anon_huge_pages: u64,
    /// Shmem (MAP_SHARED anonymous, tmpfs) mapped by huge pages.
    pub shmem_pmd_mapped: u64,
    /// File pages mapped by huge pages (large folios mapped at the PMD level).
    pub file_pmd_mapped: u64,
    /// 1 when the VMA may get transparent huge pages now (`THPeligible`), else 0.
    pub thp_eligible: u64,
}

/// The smaps counters shown with their changes, in display order (Documentation/filesystems/
/// proc.rst, "smaps").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SmapsField {
    Size,
    Rss,
    Pss,
    SharedClean,
    SharedDirty,
    PrivateClean,
    PrivateDirty,
    Anonymous,
    Referenced,
    Swap,
    Locked,
    AnonHugePages,
    ShmemPmdMapped,
    FilePmdMapped,
    /// Not a size: 0 or 1.
    ThpEligible,
}

impl SmapsField {
    /// Every counter, in display order.
    pub const ALL: [SmapsField; 15] = [
        Self::Size,
        Self::Rss,
        Self::Pss,
        Self::SharedClean,
        Self::SharedDirty,
        Self::PrivateClean,
        Self::PrivateDirty,
        Self::Anonymous,
        Self::Referenced,
        Self::Swap,
        Self::Locked,
        Self::AnonHugePages,
        Self::ShmemPmdMapped,
        Self::FilePmdMapped,
        Self::ThpEligible,
    ];

    /// The name smaps gives it (`Private_Dirty`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Size => "Size",
            Self::Rss => "Rss",
            Self::Pss => "Pss",
            Self::SharedClean => "Shared_Clean",
            Self::SharedDirty => "Shared_Dirty",
            Self::PrivateClean => "Private_Clean",
            Self::PrivateDirty => "Private_Dirty",
            Self::Anonymous => "Anonymous",
            Self::Referenced => "Referenced",
            Self::Swap => "Swap",
            Self::Locked => "Locked",
            Self::AnonHugePages => "AnonHugePages",
            Self::ShmemPmdMapped => "ShmemPmdMapped",
            Self::FilePmdMapped => "FilePmdMapped",
            Self::ThpEligible => "THPeligible",
        }
    }

    /// Whether the counter is a size in bytes (shown in kB); `THPeligible` is a flag.
    pub fn is_size(self) -> bool {
        self != Self::ThpEligible
    }

    /// The counter named `name` in smaps, if it is one of ours.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name().as_bytes() == name)
    }

    /// Its position in `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its value in `vma`, in bytes.
    pub fn of(self, vma: &Vma) -> u64 {
        match self {
            Self::Size => vma.memory.size,
            Self::Rss => vma.memory.rss,
            Self::Pss => vma.memory.pss,
            Self::SharedClean => vma.memory.shared_clean,
            Self::SharedDirty => vma.memory.shared_dirty,
            Self::PrivateClean => vma.memory.private_clean,
            Self::PrivateDirty => vma.memory.private_dirty,
            Self::Anonymous => vma.memory.anonymous,
            Self::Referenced => vma.memory.referenced,
            Self::Swap => vma.memory.swap,
            Self::Locked => vma.memory.locked,
            Self::AnonHugePages => vma.huge.anon_huge_pages,
            Self::ShmemPmdMapped => vma.huge.shmem_pmd_mapped,
            Self::FilePmdMapped => vma.huge.file_pmd_mapped,
            Self::ThpEligible => vma.huge.thp_eligible,
        }
    }

    fn slot(self, vma: &mut Vma) -> &mut u64 {
        match self {
            Self::Size => &mut vma.memory.size,
            Self::Rss => &mut vma.memory.rss,
            Self::Pss => &mut vma.memory.pss,
            Self::SharedClean => &mut vma.memory.shared_clean,
            Self::SharedDirty => &mut vma.memory.shared_dirty,
            Self::PrivateClean => &mut vma.memory.private_clean,
            Self::PrivateDirty => &mut vma.memory.private_dirty,
            Self::Anonymous => &mut vma.memory.anonymous,
            Self::Referenced => &mut vma.memory.referenced,
            Self::Swap => &mut vma.memory.swap,
            Self::Locked => &mut vma.memory.locked,
            Self::AnonHugePages => &mut vma.huge.anon_huge_pages,
            Self::ShmemPmdMapped => &mut vma.huge.shmem_pmd_mapped,
            Self::FilePmdMapped => &mut vma.huge.file_pmd_mapped,
            Self::ThpEligible => &mut vma.huge.thp_eligible,
        }
    }
}

/// One line of the maps format, parsed from bytes: `start-end perms offset dev inode path`.
/// The path is everything after the inode (it may hold spaces, and any bytes at all: it is
/// decoded lossily, never refused).
fn parse_maps_line(line: &[u8]) -> Option<MapsLine> {
    let mut rest = line;
    let mut field = || {
        let start = rest.iter().position(|b| *b != b' ')?;
        let trimmed = &rest[start..];
        let end = trimmed
            .iter()
            .position(|b| *b == b' ')
            .unwrap_or(trimmed.len());
        let (word, tail) = trimmed.split_at(end);
        rest = tail;
        Some(word)
    };
    let range = field()?;
    let perms = field()?;
    let offset = field()?;
    let dev = field()?;
    let inode = field()?;
    let hex = |w: &[u8]| u64::from_str_radix(std::str::from_utf8(w).ok()?, 16).ok();
    let dash = range.iter().position(|b| *b == b'-')?;
    let start = hex(&range[..dash])?;
    let end = hex(&range[dash + 1..])?;
    let path_start = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    Some(MapsLine {
        start,
        end,
        perms: String::from_utf8_lossy(perms).into_owned(),
        offset: hex(offset)?,
        dev: {
            let text = std::str::from_utf8(dev).ok()?;
            let (major, minor) = text.split_once(':')?;
            rustix::fs::makedev(
                u32::from_str_radix(major, 16).ok()?,
                u32::from_str_radix(minor, 16).ok()?,
            )
        },
        inode: std::str::from_utf8(inode).ok()?.parse().ok()?,
        path: String::from_utf8_lossy(&rest[path_start..]).into_owned(),
    })
}

/// Whether a line of smaps starts a new VMA (a maps line: it opens with a hex address) rather
/// than giving a counter (`Rss:  4 kB`, `VmFlags: rd wr`).
fn is_vma_header(line: &[u8]) -> bool {
    line.first()
        .is_some_and(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Sets the counter `key` of `vma` from its smaps value (`4 kB`, or a bare number), parsed
/// from the bytes without an allocation: the address-space view reads the smaps of every VMA,
/// 750,000 lines for 30,000 VMAs.
fn set_counter(vma: &mut Vma, key: &[u8], value: &[u8]) {
    if key == b"VmFlags" {
        let text = String::from_utf8_lossy(value);
        vma.vm_flags = text.split_whitespace().map(str::to_string).collect();
        return;
    }
    let Some(field) = SmapsField::from_name(key) else {
        return;
    };
    let value = value.trim_ascii();
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return;
    }
    let n = value[..digits].iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    *field.slot(vma) = if value[digits..].trim_ascii() == b"kB" {
        n.saturating_mul(1024)
    } else {
        n
    };
}

/// The VMAs of an smaps text that overlap `[start, end)`, with their counters. Other VMAs
/// are skipped without parsing their counters.
#[cfg(test)]
pub(crate) fn parse_smaps(text: &[u8], start: u64, end: u64) -> Vec<Vma> {
    let mut parser = SmapsParser::new(start, end);
    for line in text.split(|b| *b == b'\n') {
        if !parser.feed(line) {
            break;
        }
    }
    parser.finish()
}

/// smaps parsed line by line, for a range of addresses: VMAs outside it are skipped, and
/// once a VMA starts at or past its end nothing more is wanted (the kernel then need not
/// walk the page tables of the VMAs after it). `with_lines` keeps each VMA's maps line too
/// (smaps opens every VMA with it): the address-space view needs no separate maps read.
#[derive(Debug)]
pub(crate) struct SmapsParser {
    start: u64,
    end: u64,
    out: Vec<Vma>,
    current: Option<Vma>,
    /// The maps line of each VMA in `out`, in the same order, when asked for.
    lines: Option<Vec<MapsLine>>,
}

impl SmapsParser {
    /// A parser keeping the VMAs that overlap `[start, end)`.
    pub(crate) fn new(start: u64, end: u64) -> Self {
        Self {
            start,
            end,
            out: Vec::new(),
            current: None,
            lines: None,
        }
    }

    /// As `new`, keeping each VMA's maps line as well (`finish_with_lines`).
    pub(crate) fn with_lines(start: u64, end: u64) -> Self {
        Self {
            lines: Some(Vec::new()),
            ..Self::new(start, end)
        }
    }

    /// Takes one line (without its newline); returns whether later lines are still wanted.
    pub(crate) fn feed(&mut self, line: &[u8]) -> bool {
        if is_vma_header(line) {
            self.out.extend(self.current.take());
            let Some(m) = parse_maps_line(line) else {
                return true;
            };
            if m.start >= self.end {
                return false;
            }
            if m.end <= self.start {
                return true;
            }
            self.current = Some(Vma {
                head: VmaHead {
                    start: m.start,
                    end: m.end,
                    perms: m.perms.clone(),
                    path: m.path.clone(),
                },
                ..Vma::default()
            });
            if let Some(lines) = self.lines.as_mut() {
                lines.push(m);
            }
        } else if let Some(vma) = self.current.as_mut()
            && let Some(colon) = line.iter().position(|b| *b == b':')
        {
            set_counter(vma, &line[..colon], &line[colon + 1..]);
        }
        true
    }

    /// The VMAs read.
    pub(crate) fn finish(mut self) -> Vec<Vma> {
        self.out.extend(self.current.take());
        self.out
    }

    /// The VMAs read with their maps lines (empty lines unless made `with_lines`).
    pub(crate) fn finish_with_lines(mut self) -> (Vec<Vma>, Vec<MapsLine>) {
        let lines = self.lines.take().unwrap_or_default();
        (self.finish(), lines)
    }
}

/// Hands `feed` the lines of a /proc text, read in 64 KiB pieces with `read`, until `feed`
/// wants no more or the text ends (a line cut between two reads is joined first).
///
/// # Errors
/// The read's failure.
pub(crate) fn feed_lines(
    mut read: impl FnMut(&mut [u8]) -> std::io::Result<usize>,
    mut feed: impl FnMut(&[u8]) -> bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = read(&mut buf)?;
        if n == 0 {
            break;
        }
        let mut rest = &buf[..n];
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let wanted = if carry.is_empty() {
                feed(&rest[..nl])
            } else {
                carry.extend_from_slice(&rest[..nl]);
                let w = feed(&carry);
                carry.clear();
                w
            };
            if !wanted {
                return Ok(());
            }
            rest = &rest[nl + 1..];
        }
        carry.extend_from_slice(rest);
    }
    if !carry.is_empty() {
        feed(&carry);
    }
    Ok(())
}

/// Every line of a maps text (unparsable lines are skipped).
pub(crate) fn parse_maps(text: &[u8]) -> Vec<MapsLine> {
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(parse_maps_line)
        .collect()
}

fn read_proc(path: &str) -> Result<Vec<u8>, SysError> {
    std::fs::read(path).map_err(|e| SysError::from_io(&e, format!("read {path}")))
}

/// Which process's /proc: ourselves, or another by pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pid {
    #[default]
    Myself,
    Other(u32),
}

impl Pid {
    /// `/proc/self/NAME` or `/proc/PID/NAME`.
    pub(crate) fn proc_path(self, name: &str) -> String {
        match self {
            Self::Myself => format!("/proc/self/{name}"),
            Self::Other(pid) => format!("/proc/{pid}/{name}"),
        }
    }
}

/// Every line of `/proc/self/maps`.
///
/// # Errors
/// /proc unreadable.
pub fn read_maps() -> Result<Vec<MapsLine>, SysError> {
    read_maps_of(Pid::Myself)
}

/// Every line of a process's maps.
///
/// # Errors
/// /proc unreadable (no such process, no permission).
pub fn read_maps_of(pid: Pid) -> Result<Vec<MapsLine>, SysError> {
    Ok(parse_maps(&read_proc(&pid.proc_path("maps"))?))
}

/// The smaps entries of every VMA overlapping `[start, end)`, in address order.
///
/// # Errors
/// /proc unreadable.
pub fn read_vmas(start: u64, end: u64) -> Result<Vec<Vma>, SysError> {
    read_vmas_of(Pid::Myself, start, end)
}

/// A process's smaps entries of every VMA overlapping `[start, end)`, in address order,
/// opened by path (our own process; another's goes through its `handle::ProcessHandle`).
///
/// # Errors
/// /proc unreadable (no such process, no permission).
pub fn read_vmas_of(pid: Pid, start: u64, end: u64) -> Result<Vec<Vma>, SysError> {
    use std::io::Read as _;
    let path = pid.proc_path("smaps");
    let fail = |e: std::io::Error| SysError::from_io(&e, format!("read {path}"));
    let mut file = std::fs::File::open(&path).map_err(fail)?;
    let mut parser = SmapsParser::new(start, end);
    feed_lines(|buf| file.read(buf), |line| parser.feed(line)).map_err(fail)?;
    Ok(parser.finish())
}

/// The counters of several VMAs added up (our mapping split by mprotect, say), keeping the
/// first VMA's path and perms, and the union of the address ranges and of the VmFlags.
pub fn total(vmas: &[Vma]) -> Option<Vma> {
    let first = vmas.first()?;
    let mut sum = Vma {
        head: VmaHead {
            end: vmas
                .iter()
                .map(|v| v.head.end)
                .max()
                .unwrap_or(first.head.end),
            ..first.head.clone()
        },
        vm_flags: first.vm_flags.clone(),
        ..Vma::default()
    };
    for v in vmas {
        // VmFlags the same way: the union, so a page locked alone (its own VMA, `lo`) still
        // shows `lo` for the mapping it belongs to.
        for flag in &v.vm_flags {
            if !sum.vm_flags.contains(flag) {
                sum.vm_flags.push(flag.clone());
            }
        }
        for field in SmapsField::ALL {
            let slot = field.slot(&mut sum);
            // A flag is set when any part of the mapping has it; sizes add up.
            *slot = if field.is_size() {
                *slot + field.of(v)
            } else {
                (*slot).max(field.of(v))
            };
        }
    }
    Some(sum)
}

pub(crate) use crate::sys::raw::MapsFile;

/// The maps line of the VMA covering `addr`, asked with the PROCMAP_QUERY ioctl (Linux >=
/// 6.11) on an open maps file: one VMA, without the whole text (`None`: nothing there).
///
/// # Errors
/// ENOTTY on older kernels (read the maps text instead); ESRCH once the process has exited.
#[cfg(test)]
pub(crate) fn query_line(file: &MapsFile, addr: u64) -> Result<Option<MapsLine>, SysError> {
    query_line_with(file, addr, false)
}

/// As `query_line`; with `next`, the first VMA after `addr` when none covers it.
///
/// # Errors
/// As `query_line`.
pub(crate) fn query_line_with(
    file: &MapsFile,
    addr: u64,
    next: bool,
) -> Result<Option<MapsLine>, SysError> {
    let q = file
        .query(addr, next)
        .map_err(|e| SysError::from_io(&e, "ioctl(PROCMAP_QUERY)"))?;
    Ok(q.map(|q| {
        let bit = |mask: u64, yes: char, no: char| if q.flags & mask != 0 { yes } else { no };
        MapsLine {
            start: q.start,
            end: q.end,
            perms: [
                bit(1, 'r', '-'),
                bit(2, 'w', '-'),
                bit(4, 'x', '-'),
                bit(8, 's', 'p'),
            ]
            .iter()
            .collect(),
            offset: q.offset,
            dev: rustix::fs::makedev(q.dev_major, q.dev_minor),
            inode: q.inode,
            path: String::from_utf8_lossy(&q.name).into_owned(),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &[u8] = b"55d0a0000000-55d0a0002000 r--p 00000000 08:01 1234   /usr/bin/x\n\
Size:                  8 kB\n\
Rss:                   8 kB\n\
VmFlags: rd mr mw me\n\
7f0000000000-7f0000004000 rw-s 00001000 08:01 99     /tmp/a b\xff (deleted)\n\
Size:                 16 kB\n\
Rss:                  12 kB\n\
Private_Dirty:         4 kB\n\
Anonymous:             0 kB\n\
THPeligible:    0\n\
VmFlags: rd wr sh mr mw me ms\n\
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]\n\
Rss:                 132 kB\n\
AnonHugePages:      2048 kB\n\
THPeligible:    1\n";

    #[test]
    fn maps_lines_parse_from_bytes_whatever_the_path() {
        let lines = parse_maps(SMAPS);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0].path, "/usr/bin/x");
        assert_eq!(lines[0].perms, "r--p");
        assert_eq!(lines[1].start, 0x7f00_0000_0000);
        assert_eq!(lines[1].offset, 0x1000);
        assert_eq!(lines[1].inode, 99);
        assert_eq!(lines[1].dev, rustix::fs::makedev(8, 1));
        assert_eq!(lines[1].path, "/tmp/a b\u{fffd} (deleted)");
        assert_eq!(lines[2].path, "[stack]");
        assert_eq!(parse_maps(b"7f00-7f01 ---p 0 00:00 0\n")[0].path, "");
    }

    #[test]
    fn smaps_counters_of_the_overlapping_vmas_only() {
        let vmas = parse_smaps(SMAPS, 0x7f00_0000_1000, 0x7f00_0000_2000);
        assert_eq!(vmas.len(), 1);
        let v = &vmas[0];
        assert_eq!(
            (v.memory.size, v.memory.rss, v.memory.private_dirty),
            (16384, 12288, 4096)
        );
        assert_eq!(v.huge.thp_eligible, 0);
        assert_eq!(v.vm_flags, ["rd", "wr", "sh", "mr", "mw", "me", "ms"]);
        assert_eq!(parse_smaps(SMAPS, 0, u64::MAX).len(), 3);
        assert_eq!(parse_smaps(SMAPS, 0, u64::MAX)[2].memory.rss, 132 * 1024);
        let stack = &parse_smaps(SMAPS, 0, u64::MAX)[2];
        assert_eq!(
            (stack.huge.anon_huge_pages, stack.huge.thp_eligible),
            (2 << 20, 1)
        );
    }

    #[test]
    fn totals_add_up() {
        let a = Vma {
            head: VmaHead {
                start: 0x1000,
                end: 0x3000,
                ..VmaHead::default()
            },
            memory: MemoryCounters {
                rss: 4096,
                anonymous: 4096,
                ..MemoryCounters::default()
            },
            vm_flags: vec!["rd".into(), "wr".into()],
            ..Vma::default()
        };
        let b = Vma {
            head: VmaHead {
                start: 0x3000,
                end: 0x5000,
                ..VmaHead::default()
            },
            memory: MemoryCounters {
                rss: 8192,
                ..MemoryCounters::default()
            },
            vm_flags: vec!["rd".into(), "lo".into()],
            ..Vma::default()
        };
        let t = total(&[
            Vma {
                huge: HugeCounters {
                    thp_eligible: 1,
                    ..HugeCounters::default()
                },
                ..a
            },
            b,
        ])
        .unwrap();
        assert_eq!(t.huge.thp_eligible, 1, "a flag is not added up");
        assert_eq!(
            (t.head.start, t.head.end, t.memory.rss, t.memory.anonymous),
            (0x1000, 0x5000, 12288, 4096)
        );
        assert_eq!(
            t.vm_flags,
            ["rd", "wr", "lo"],
            "VmFlags: the union, in order"
        );
        assert!(total(&[]).is_none());
    }

    #[test]
    fn procmap_query_agrees_with_the_maps_text() {
        let file = MapsFile::open("/proc/self/maps").unwrap();
        let lines = read_maps().unwrap();
        match query_line(&file, lines[0].start) {
            Err(e) if e.errno == libc::ENOTTY => {
                eprintln!("SKIPPED procmap_query...: this kernel has no PROCMAP_QUERY (< 6.11)");
                return;
            }
            other => assert!(other.is_ok(), "{other:?}"),
        }
        let mut checked = 0;
        for line in &lines {
            // [vsyscall] is not a VMA of the mm (the gate area): the ioctl does not list it.
            if line.path == "[vsyscall]" {
                continue;
            }
            // Our own allocations may have changed a line since the text was read: compare the
            // lines that are still there.
            let Some(q) = query_line(&file, line.start).unwrap() else {
                continue;
            };
            if q.start == line.start && q.end == line.end {
                assert_eq!(&q, line);
                checked += 1;
            }
        }
        assert!(checked >= lines.len() / 2, "{checked} of {}", lines.len());
        assert_eq!(query_line(&file, 0).unwrap(), None, "nothing at address 0");
    }
}
