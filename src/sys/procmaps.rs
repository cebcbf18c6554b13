//! Our own address space as the kernel describes it: `/proc/self/maps` (every mapping, for the
//! side panel) and `/proc/self/smaps` (the counters of the VMA holding our mapping), read with the
//! procfs crate. Our VMA is found by address, never by line count: an anonymous private mapping
//! may merge with a neighbour, and an mprotect of part of a mapping splits it.

use procfs::process::{MMPermissions, MMapPath, MemoryMap, Process};

use super::error::SysError;

/// One line of /proc/self/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsLine {
    pub start: u64,
    pub end: u64,
    /// `rw-s` style.
    pub perms: String,
    pub offset: u64,
    pub inode: u64,
    /// The path or pseudo-path (`[heap]`, `[stack]`, empty for anonymous), as the kernel wrote
    /// it: escape it (`text::sanitize`) before display.
    pub path: String,
}

/// The smaps counters of one VMA (bytes) with its maps line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub path: String,
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
    /// Two-letter VmFlags names, as in smaps (`rd wr sh mr mw me ms`).
    pub vm_flags: Vec<String>,
}

/// The smaps counters shown with deltas, in display order.
pub const SMAPS_FIELDS: [&str; 11] = [
    "Size",
    "Rss",
    "Pss",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Anonymous",
    "Referenced",
    "Swap",
    "Locked",
];

/// A counter's value by its smaps name.
pub fn smaps_value(vma: &Vma, field: &str) -> u64 {
    match field {
        "Size" => vma.size,
        "Rss" => vma.rss,
        "Pss" => vma.pss,
        "Shared_Clean" => vma.shared_clean,
        "Shared_Dirty" => vma.shared_dirty,
        "Private_Clean" => vma.private_clean,
        "Private_Dirty" => vma.private_dirty,
        "Anonymous" => vma.anonymous,
        "Referenced" => vma.referenced,
        "Swap" => vma.swap,
        "Locked" => vma.locked,
        _ => 0,
    }
}

fn perms_string(p: MMPermissions) -> String {
    let bit = |flag, c| if p.contains(flag) { c } else { '-' };
    let share = if p.contains(MMPermissions::SHARED) {
        's'
    } else {
        'p'
    };
    [
        bit(MMPermissions::READ, 'r'),
        bit(MMPermissions::WRITE, 'w'),
        bit(MMPermissions::EXECUTE, 'x'),
        share,
    ]
    .iter()
    .collect()
}

fn path_string(p: &MMapPath) -> String {
    match p {
        MMapPath::Path(path) => path.to_string_lossy().into_owned(),
        MMapPath::Heap => "[heap]".into(),
        MMapPath::Stack => "[stack]".into(),
        MMapPath::TStack(tid) => format!("[stack:{tid}]"),
        MMapPath::Vdso => "[vdso]".into(),
        MMapPath::Vvar => "[vvar]".into(),
        MMapPath::Vsyscall => "[vsyscall]".into(),
        MMapPath::Rollup => "[rollup]".into(),
        MMapPath::Anonymous => String::new(),
        MMapPath::Vsys(key) => format!("/SYSV{key:08x}"),
        MMapPath::Other(s) => format!("[{s}]"),
    }
}

fn maps_line(m: &MemoryMap) -> MapsLine {
    MapsLine {
        start: m.address.0,
        end: m.address.1,
        perms: perms_string(m.perms),
        offset: m.offset,
        inode: m.inode,
        path: path_string(&m.pathname),
    }
}

fn myself() -> Result<Process, SysError> {
    Process::myself().map_err(|e| SysError::new(libc::EIO, "open /proc/self", e.to_string()))
}

/// Every line of `/proc/self/maps`.
///
/// # Errors
/// /proc unreadable or unparsable.
pub fn read_maps() -> Result<Vec<MapsLine>, SysError> {
    let maps = myself()?
        .maps()
        .map_err(|e| SysError::new(libc::EIO, "read /proc/self/maps", e.to_string()))?;
    Ok(maps.iter().map(maps_line).collect())
}

/// The smaps entries of every VMA overlapping `[start, end)`, in address order.
///
/// # Errors
/// /proc unreadable or unparsable.
pub fn read_vmas(start: u64, end: u64) -> Result<Vec<Vma>, SysError> {
    let smaps = myself()?
        .smaps()
        .map_err(|e| SysError::new(libc::EIO, "read /proc/self/smaps", e.to_string()))?;
    Ok(smaps
        .iter()
        .filter(|m| m.address.0 < end && m.address.1 > start)
        .map(|m| {
            let line = maps_line(m);
            let get = |key: &str| m.extension.map.get(key).copied().unwrap_or(0);
            Vma {
                start: line.start,
                end: line.end,
                perms: line.perms,
                path: line.path,
                size: get("Size"),
                rss: get("Rss"),
                pss: get("Pss"),
                shared_clean: get("Shared_Clean"),
                shared_dirty: get("Shared_Dirty"),
                private_clean: get("Private_Clean"),
                private_dirty: get("Private_Dirty"),
                anonymous: get("Anonymous"),
                referenced: get("Referenced"),
                swap: get("Swap"),
                locked: get("Locked"),
                vm_flags: m
                    .extension
                    .vm_flags
                    .iter_names()
                    .map(|(name, _)| name.to_ascii_lowercase())
                    .collect(),
            }
        })
        .collect())
}

/// The counters of several VMAs added up (our mapping split by mprotect, say), keeping the
/// first VMA's path and the union of the address ranges.
pub fn total(vmas: &[Vma]) -> Option<Vma> {
    let first = vmas.first()?;
    let mut sum = Vma {
        start: first.start,
        end: vmas.iter().map(|v| v.end).max().unwrap_or(first.end),
        perms: first.perms.clone(),
        path: first.path.clone(),
        vm_flags: first.vm_flags.clone(),
        ..Vma::default()
    };
    for v in vmas {
        sum.size += v.size;
        sum.rss += v.rss;
        sum.pss += v.pss;
        sum.shared_clean += v.shared_clean;
        sum.shared_dirty += v.shared_dirty;
        sum.private_clean += v.private_clean;
        sum.private_dirty += v.private_dirty;
        sum.anonymous += v.anonymous;
        sum.referenced += v.referenced;
        sum.swap += v.swap;
        sum.locked += v.locked;
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perms_render_like_proc() {
        let p = MMPermissions::READ | MMPermissions::WRITE | MMPermissions::SHARED;
        assert_eq!(perms_string(p), "rw-s");
        let p = MMPermissions::READ | MMPermissions::EXECUTE | MMPermissions::PRIVATE;
        assert_eq!(perms_string(p), "r-xp");
        assert_eq!(perms_string(MMPermissions::PRIVATE), "---p");
    }

    #[test]
    fn pseudo_paths() {
        assert_eq!(path_string(&MMapPath::Heap), "[heap]");
        assert_eq!(path_string(&MMapPath::Anonymous), "");
        // Kept as the kernel wrote it: escaping is the screen's job, the JSON keeps the bytes.
        assert_eq!(
            path_string(&MMapPath::Path("/tmp/a\x1bb".into())),
            "/tmp/a\x1bb"
        );
    }

    #[test]
    fn totals_add_up() {
        let a = Vma {
            start: 0x1000,
            end: 0x3000,
            rss: 4096,
            anonymous: 4096,
            ..Vma::default()
        };
        let b = Vma {
            start: 0x3000,
            end: 0x5000,
            rss: 8192,
            ..Vma::default()
        };
        let t = total(&[a, b]).unwrap();
        assert_eq!(
            (t.start, t.end, t.rss, t.anonymous),
            (0x1000, 0x5000, 12288, 4096)
        );
        assert!(total(&[]).is_none());
    }
}
