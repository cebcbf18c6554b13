//! The limits and settings the lab's operations run into, read from the kernel, with pure
//! parsers (tested on fixed text): RLIMIT_MEMLOCK and what is locked already (`VmLck`),
//! CAP_IPC_LOCK (which lifts the limit), the hugetlb pool (`/proc/meminfo`) and the
//! transparent huge page settings (`/sys/kernel/mm/transparent_hugepage`).

use super::error::SysError;

/// CAP_IPC_LOCK's bit (include/uapi/linux/capability.h): lock memory without RLIMIT_MEMLOCK.
const CAP_IPC_LOCK: u32 = 14;

/// What limits mlock(2) for this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Memlock {
    /// RLIMIT_MEMLOCK's soft limit in bytes (`ulimit -l` in KiB); `None`: unlimited.
    pub limit: Option<u64>,
    /// Bytes locked by this process already (`VmLck` in /proc/self/status).
    pub locked: Option<u64>,
    /// CAP_IPC_LOCK (root has it): the limit does not apply.
    pub exempt: bool,
}

/// The value of a `Key:   N kB` line of a /proc status or meminfo text, in bytes (numbers
/// without a unit as they are).
pub fn field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let mut words = rest.split_whitespace();
        let n: u64 = words.next()?.parse().ok()?;
        Some(if words.next() == Some("kB") {
            n * 1024
        } else {
            n
        })
    })
}

/// Whether the `CapEff:` mask of a /proc status text holds CAP_IPC_LOCK.
pub fn has_ipc_lock(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << CAP_IPC_LOCK) != 0)
}

/// RLIMIT_MEMLOCK, VmLck and CAP_IPC_LOCK for this process now.
pub fn memlock() -> Memlock {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Memlock).current;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    Memlock {
        limit,
        locked: field(&status, "VmLck"),
        exempt: has_ipc_lock(&status),
    }
}

/// Why locking `asked` more bytes was refused (ENOMEM, EPERM or EAGAIN from mlock or
/// MAP_LOCKED), in one sentence from the limit, what is locked already and the capability.
pub fn memlock_why(m: &Memlock, asked: u64, file: bool) -> String {
    let kib = |b: u64| format!("{} KiB", crate::text::thousands(b / 1024));
    let limit = m.limit.map_or_else(|| "unlimited".to_string(), &kib);
    let locked = m
        .locked
        .map_or_else(|| "an unknown amount".to_string(), &kib);
    if m.exempt {
        return format!(
            "this process has CAP_IPC_LOCK (root), so RLIMIT_MEMLOCK ({limit}) does not apply: the \
            kernel could not lock {} (memory short, or pages that cannot be faulted in, such as \
            pages beyond end of file)",
            kib(asked)
        );
    }
    format!(
        "RLIMIT_MEMLOCK is {limit} (ulimit -l) and {locked} is locked already: locking {} more \
         would pass it{}; lock fewer pages (lock page N), raise the limit (ulimit -l, \
         /etc/security/limits.conf), or run as root (CAP_IPC_LOCK is not limited)",
        kib(asked),
        if file {
            " (and pages beyond end of file cannot be locked at all)"
        } else {
            ""
        }
    )
}

/// The hugetlb pool as /proc/meminfo says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HugetlbPool {
    pub total: u64,
    pub free: u64,
    /// `Hugepagesize` in bytes.
    pub page_size: u64,
}

/// The hugetlb pool from a /proc/meminfo text.
pub fn parse_hugetlb(meminfo: &str) -> Option<HugetlbPool> {
    Some(HugetlbPool {
        total: field(meminfo, "HugePages_Total")?,
        free: field(meminfo, "HugePages_Free")?,
        page_size: field(meminfo, "Hugepagesize")?,
    })
}

/// Whether swap may hold pages now: `SwapTotal` in /proc/meminfo above 0 (unreadable: yes).
pub fn swap_configured() -> bool {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| field(&t, "SwapTotal"))
        .is_none_or(|n| n > 0)
}

/// The hugetlb pool now.
///
/// # Errors
/// /proc/meminfo unreadable, or without the hugetlb lines (a kernel without CONFIG_HUGETLBFS).
pub fn hugetlb_pool() -> Result<HugetlbPool, SysError> {
    let text = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| SysError::from_io(&e, "read /proc/meminfo"))?;
    parse_hugetlb(&text).ok_or_else(|| {
        SysError::new(
            libc::ENOSYS,
            "hugetlb",
            "/proc/meminfo has no HugePages_ lines: this kernel has no hugetlb pages",
        )
    })
}

/// The chosen word of a sysfs setting (`always [madvise] never` -> `madvise`).
pub fn chosen(setting: &str) -> Option<&str> {
    let start = setting.find('[')? + 1;
    let end = start + setting[start..].find(']')?;
    Some(&setting[start..end])
}

/// A transparent huge page setting (`enabled`, `defrag`), or `None` without THP.
pub fn thp(name: &str) -> Option<String> {
    let text =
        std::fs::read_to_string(format!("/sys/kernel/mm/transparent_hugepage/{name}")).ok()?;
    chosen(&text).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tmmapscope\nVmLck:\t      16 kB\nVmPin:\t       0 kB\n\
CapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";

    #[test]
    fn status_fields_and_capabilities() {
        assert_eq!(field(STATUS, "VmLck"), Some(16384));
        assert_eq!(field(STATUS, "VmLk"), None);
        assert!(has_ipc_lock(STATUS));
        assert!(!has_ipc_lock("CapEff:\t0000000000000000\n"));
        assert!(!has_ipc_lock("no caps here"));
    }

    #[test]
    fn meminfo_and_sysfs_settings() {
        let meminfo = "MemTotal: 100 kB\nHugePages_Total:       0\nHugePages_Free:        0\n\
Hugepagesize:       2048 kB\n";
        assert_eq!(
            parse_hugetlb(meminfo),
            Some(HugetlbPool {
                total: 0,
                free: 0,
                page_size: 2 << 20
            })
        );
        assert_eq!(parse_hugetlb("MemTotal: 1 kB\n"), None);
        assert_eq!(chosen("always [madvise] never\n"), Some("madvise"));
        assert_eq!(chosen("nothing chosen"), None);
    }

    #[test]
    fn memlock_refusals_name_the_limit_or_the_capability() {
        let user = Memlock {
            limit: Some(8 << 20),
            locked: Some(16 << 10),
            exempt: false,
        };
        let why = memlock_why(&user, 16 << 20, false);
        assert!(why.contains("8,192 KiB (ulimit -l)"), "{why}");
        assert!(why.contains("16 KiB is locked already"), "{why}");
        assert!(why.contains("16,384 KiB more"), "{why}");
        let root = Memlock {
            exempt: true,
            ..user
        };
        assert!(memlock_why(&root, 4096, true).contains("CAP_IPC_LOCK (root)"));
        assert!(memlock_why(&user, 4096, true).contains("beyond end of file"));
        assert!(!why.contains("beyond end of file"), "{why}");
    }

    #[test]
    fn this_process_has_a_memlock_answer() {
        let m = memlock();
        assert!(m.locked.is_some(), "VmLck is in /proc/self/status: {m:?}");
        assert_eq!(m.exempt, rustix::process::geteuid().is_root());
    }
}
