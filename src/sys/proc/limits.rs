//! The limits and settings the lab's operations run into, read from the kernel, with pure
//! parsers (tested on fixed text): RLIMIT_MEMLOCK and what is locked already (`VmLck`),
//! CAP_IPC_LOCK (which lifts the limit), the hugetlb pool (`/proc/meminfo`) and the
//! transparent huge page settings (`/sys/kernel/mm/transparent_hugepage`).
//!
//! And the one bound on what an operation may commit at once (`judge`, `admit`): every path
//! that populates, locks or grows memory (MAP_POPULATE, MAP_LOCKED, mlock, mremap of a locked
//! mapping, malloc's address space) asks it first, with the numbers of what it is about to
//! commit. More than a quarter of `MemAvailable` is refused unless forced (`--force`, a
//! `force` line, a confirmed question); more than RLIMIT_AS or RLIMIT_MEMLOCK allow is refused
//! always, since the kernel would refuse it anyway.

use crate::sys::error::SysError;

/// CAP_IPC_LOCK's bit (include/uapi/linux/capability.h): lock memory without RLIMIT_MEMLOCK.
const CAP_IPC_LOCK: u32 = 14;

/// What limits mlock(2) for this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Memlock {
    /// RLIMIT_MEMLOCK's soft limit in bytes (`ulimit -l` in KiB); `None`: unlimited.
    pub(crate) limit: Option<u64>,
    /// Bytes locked by this process already (`VmLck` in /proc/self/status).
    pub(crate) locked: Option<u64>,
    /// CAP_IPC_LOCK (root has it): the limit does not apply.
    pub(crate) exempt: bool,
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
pub(crate) fn has_ipc_lock(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << CAP_IPC_LOCK) != 0)
}

/// RLIMIT_MEMLOCK, VmLck and CAP_IPC_LOCK for this process now.
pub(crate) fn memlock() -> Memlock {
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
pub(crate) fn memlock_why(m: &Memlock, asked: u64, file: bool) -> String {
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

/// What an operation is about to commit at once, in bytes: what the bound is judged on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Commit {
    /// Memory faulted in (or pinned, when it is in memory already) now: MAP_POPULATE,
    /// MAP_LOCKED, mlock, the new part of a locked mapping grown by mremap.
    pub(crate) memory: u64,
    /// Bytes newly locked: what RLIMIT_MEMLOCK counts (mm->locked_vm).
    pub(crate) locked: u64,
    /// Address space added: what RLIMIT_AS counts (VmSize).
    pub(crate) address_space: u64,
}

/// What the machine and this process's limits allow, read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// `MemAvailable` in /proc/meminfo: the kernel's estimate of what can be allocated
    /// without swapping (`None`: unreadable, and then not bounded).
    pub(crate) mem_available: Option<u64>,
    /// `MemTotal` + `SwapTotal`: all the memory the machine has (`None`: unreadable).
    pub(crate) mem_total: Option<u64>,
    pub(crate) memlock: Memlock,
    /// RLIMIT_AS's soft limit (`ulimit -v`); `None`: unlimited.
    pub(crate) as_limit: Option<u64>,
    /// This process's address space now (`VmSize` in /proc/self/status).
    pub(crate) vm_size: Option<u64>,
}

impl Budget {
    /// The budget now: /proc/meminfo, /proc/self/status and the two rlimits.
    pub(crate) fn now() -> Self {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let memlock = Memlock {
            limit: rustix::process::getrlimit(rustix::process::Resource::Memlock).current,
            locked: field(&status, "VmLck"),
            exempt: has_ipc_lock(&status),
        };
        Self {
            mem_available: field(&meminfo, "MemAvailable"),
            mem_total: field(&meminfo, "MemTotal")
                .map(|t| t + field(&meminfo, "SwapTotal").unwrap_or(0)),
            memlock,
            as_limit: rustix::process::getrlimit(rustix::process::Resource::As).current,
            vm_size: field(&status, "VmSize"),
        }
    }
}

/// What is being asked, in the words a refusal uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Asked<'a> {
    /// The call, as the error's context: `mlock [all]`, `mmap MAP_POPULATE`.
    pub(crate) call: &'a str,
    /// What it does to memory, after "would": `lock`, `fault in`, `lock and fault in`.
    pub(crate) verb: &'a str,
    /// How to ask for it anyway: the script line (`lock all`: "force lock all"), or `None`
    /// for the mapping the command line asks for (`--force`).
    pub(crate) line: Option<&'a str>,
}

/// Where a forcible refusal's explanation says how to force it (see `without_hint`).
const HINT: &str = "; to do it anyway";

/// A forcible refusal's explanation without how to force it: for the explorer's question,
/// which asks instead.
pub fn without_hint(explanation: &str) -> &str {
    explanation.split(HINT).next().unwrap_or(explanation)
}

/// How to go ahead anyway, for a refusal that may be forced (it starts with `HINT`).
fn how_to_force(asked: &Asked) -> String {
    match asked.line {
        Some(line) => format!(
            "{HINT}, write `force {line}` (a script or lesson line), answer y in the \
             explorer, or start mmapscope with --force"
        ),
        None => format!("{HINT}, add --force"),
    }
}

/// The one bound on committing memory, judged on given numbers (pure: tested with any).
/// In order: RLIMIT_AS, RLIMIT_MEMLOCK (unless CAP_IPC_LOCK exempts), which the kernel
/// enforces itself, so forcing cannot help and the refusal says how to raise them; more than
/// the machine's memory and swap, which nothing can hold; then a quarter of `MemAvailable`,
/// which `force` lifts.
///
/// # Errors
/// ENOMEM (EPERM for a memlock limit of 0, as mlock(2) says) naming what was asked, the limit
/// or MemAvailable and its quarter, and what to do. Only the MemAvailable refusal is
/// `forcible`.
pub(crate) fn judge(asked: &Asked, c: Commit, b: &Budget, force: bool) -> Result<(), SysError> {
    address_space(asked, c, b)?;
    locked(asked, c, b)?;
    machine(asked, c, b)?;
    if force {
        return Ok(());
    }
    available(asked, c, b)
}

/// RLIMIT_AS, which the kernel enforces itself.
fn address_space(asked: &Asked, c: Commit, b: &Budget) -> Result<(), SysError> {
    let h = crate::text::human;
    if c.address_space > 0
        && let Some(limit) = b.as_limit
    {
        let used = b.vm_size.unwrap_or(0);
        if used.saturating_add(c.address_space) > limit {
            return Err(SysError::new(
                libc::ENOMEM,
                asked.call,
                format!(
                    "RLIMIT_AS is {} (ulimit -v) and this process uses {} of address space \
                     already (VmSize): {} more would pass it, and the kernel would refuse; \
                     --force cannot lift it: ask for less, or raise the limit (ulimit -v)",
                    h(limit),
                    h(used),
                    h(c.address_space)
                ),
            ));
        }
    }
    Ok(())
}

/// RLIMIT_MEMLOCK unless CAP_IPC_LOCK exempts, which the kernel enforces itself.
fn locked(asked: &Asked, c: Commit, b: &Budget) -> Result<(), SysError> {
    let m = b.memlock;
    if c.locked > 0
        && !m.exempt
        && let Some(limit) = m.limit
        && m.locked.unwrap_or(0).saturating_add(c.locked) > limit
    {
        return Err(SysError::new(
            if limit == 0 {
                libc::EPERM
            } else {
                libc::ENOMEM
            },
            asked.call,
            format!(
                "{} (the kernel would refuse; --force cannot lift it)",
                memlock_why(&m, c.locked, false)
            ),
        ));
    }
    Ok(())
}

/// More than the machine holds cannot succeed: forced, it would starve the machine until
/// the OOM killer ended us (seen: all 24 GiB of a machine for a minute).
fn machine(asked: &Asked, c: Commit, b: &Budget) -> Result<(), SysError> {
    let h = crate::text::human;
    if let Some(total) = b.mem_total
        && c.memory > total
    {
        return Err(SysError::new(
            libc::ENOMEM,
            asked.call,
            format!(
                "it would {} {} at once, more than this machine's memory and swap together \
                 ({}: MemTotal + SwapTotal): it cannot be held, and trying would starve the \
                 machine until the OOM killer ended mmapscope; --force cannot lift this",
                asked.verb,
                h(c.memory),
                h(total)
            ),
        ));
    }
    Ok(())
}

/// A quarter of `MemAvailable`, the one bound `--force` lifts.
fn available(asked: &Asked, c: Commit, b: &Budget) -> Result<(), SysError> {
    let h = crate::text::human;
    if let Some(avail) = b.mem_available
        && c.memory > avail / 4
    {
        // Sizes that round alike (4.0 GiB against 4 GiB) are given to the byte.
        let (asked_size, quarter) = if read_alike(&h(c.memory), &h(avail / 4)) {
            (
                format!("{} B", crate::text::thousands(c.memory)),
                format!("{} B", crate::text::thousands(avail / 4)),
            )
        } else {
            (h(c.memory), h(avail / 4))
        };
        return Err(SysError::forcible(
            libc::ENOMEM,
            asked.call,
            format!(
                "it would {} {asked_size} at once, more than a quarter of MemAvailable ({} now \
                 in /proc/meminfo; a quarter is {quarter}): that could starve the whole \
                 machine{}",
                asked.verb,
                h(avail),
                how_to_force(asked)
            ),
        ));
    }
    Ok(())
}

/// Whether two sizes as `text::human` writes them read as the same number of the same unit
/// (`4.0 GiB` and `4 GiB`).
fn read_alike(a: &str, b: &str) -> bool {
    let split = |s: &str| {
        let (n, unit) = s.split_once(' ')?;
        Some((n.parse::<f64>().ok()?, unit.to_string()))
    };
    a == b || split(a).zip(split(b)).is_some_and(|(x, y)| x == y)
}

/// `judge` against the budget read now.
///
/// # Errors
/// As `judge`.
pub(crate) fn admit(asked: &Asked, c: Commit, force: bool) -> Result<(), SysError> {
    if c == Commit::default() {
        return Ok(());
    }
    judge(asked, c, &Budget::now(), force)
}

/// The hugetlb pool as /proc/meminfo says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HugetlbPool {
    pub(crate) total: u64,
    pub(crate) free: u64,
    /// `Hugepagesize` in bytes.
    pub(crate) page_size: u64,
}

/// The hugetlb pool from a /proc/meminfo text.
pub(crate) fn parse_hugetlb(meminfo: &str) -> Option<HugetlbPool> {
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
pub(crate) fn hugetlb_pool() -> Result<HugetlbPool, SysError> {
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
pub(crate) fn chosen(setting: &str) -> Option<&str> {
    let start = setting.find('[')? + 1;
    let end = start + setting[start..].find(']')?;
    Some(&setting[start..end])
}

/// A transparent huge page setting (`enabled`, `defrag`), or `None` without THP.
pub(crate) fn thp(name: &str) -> Option<String> {
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

    const GIB: u64 = 1 << 30;

    fn budget(avail: u64) -> Budget {
        Budget {
            mem_available: Some(avail),
            mem_total: Some(64 * GIB),
            memlock: Memlock {
                limit: Some(8 << 20),
                locked: Some(0),
                exempt: true,
            },
            as_limit: None,
            vm_size: Some(GIB),
        }
    }

    const LOCK_ALL: Asked = Asked {
        call: "mlock [all]",
        verb: "lock",
        line: Some("lock all"),
    };

    fn memory(bytes: u64) -> Commit {
        Commit {
            memory: bytes,
            locked: bytes,
            address_space: 0,
        }
    }

    #[test]
    fn a_quarter_of_mem_available_is_the_bound_and_force_lifts_it() {
        let b = budget(16 * GIB);
        assert_eq!(judge(&LOCK_ALL, memory(4 * GIB), &b, false), Ok(()));
        let e = judge(&LOCK_ALL, memory(4 * GIB + 4096), &b, false).unwrap_err();
        assert!(e.forcible);
        assert_eq!(e.errno, libc::ENOMEM);
        assert_eq!(e.context, "mlock [all]");
        for words in [
            "lock 4,294,971,392 B at once",
            "MemAvailable (16 GiB now",
            "a quarter is 4,294,967,296 B",
            "`force lock all`",
            "--force",
        ] {
            assert!(e.explanation.contains(words), "{words}: {e}");
        }
        assert!(!without_hint(&e.explanation).contains("force"), "{e}");
        assert_eq!(judge(&LOCK_ALL, memory(4 * GIB + 4096), &b, true), Ok(()));
        let open = Asked {
            line: None,
            ..LOCK_ALL
        };
        let e = judge(&open, memory(32 * GIB), &b, false).unwrap_err();
        assert!(e.explanation.ends_with("add --force"), "{e}");
        // More than the machine holds (64 GiB here): not even forced.
        assert_eq!(judge(&open, memory(64 * GIB), &b, true), Ok(()));
        let e = judge(&open, memory(64 << 40), &b, true).unwrap_err();
        assert!(!e.forcible, "{e}");
        for words in [
            "64 TiB at once",
            "memory and swap together (64 GiB",
            "cannot lift",
        ] {
            assert!(e.explanation.contains(words), "{words}: {e}");
        }
        // Nothing committed, nothing judged; MemAvailable unknown, nothing bounded by it.
        assert_eq!(
            judge(&LOCK_ALL, Commit::default(), &budget(0), false),
            Ok(())
        );
        let unknown = Budget {
            mem_available: None,
            mem_total: None,
            ..b
        };
        assert_eq!(judge(&LOCK_ALL, memory(64 << 40), &unknown, false), Ok(()));
    }

    #[test]
    fn rlimits_refuse_whatever_the_force_and_say_how_to_raise_them() {
        let user = Budget {
            memlock: Memlock {
                limit: Some(8 << 20),
                locked: Some(4 << 20),
                exempt: false,
            },
            ..budget(16 * GIB)
        };
        assert_eq!(judge(&LOCK_ALL, memory(4 << 20), &user, false), Ok(()));
        let e = judge(&LOCK_ALL, memory((4 << 20) + 4096), &user, true).unwrap_err();
        assert!(!e.forcible && e.errno == libc::ENOMEM, "{e}");
        for words in [
            "RLIMIT_MEMLOCK is 8,192 KiB",
            "4,096 KiB is locked",
            "ulimit -l",
        ] {
            assert!(e.explanation.contains(words), "{words}: {e}");
        }
        let none = Budget {
            memlock: Memlock {
                limit: Some(0),
                ..user.memlock
            },
            ..user
        };
        assert_eq!(
            judge(&LOCK_ALL, memory(4096), &none, false)
                .unwrap_err()
                .errno,
            libc::EPERM
        );
        let capped = Budget {
            as_limit: Some(2 * GIB),
            ..budget(16 * GIB)
        };
        let grow = |n| Commit {
            address_space: n,
            ..Commit::default()
        };
        assert_eq!(judge(&LOCK_ALL, grow(GIB), &capped, false), Ok(()));
        let e = judge(&LOCK_ALL, grow(GIB + 4096), &capped, true).unwrap_err();
        assert!(!e.forcible, "{e}");
        for words in ["RLIMIT_AS is 2 GiB", "uses 1 GiB", "ulimit -v"] {
            assert!(e.explanation.contains(words), "{words}: {e}");
        }
    }

    #[test]
    fn the_budget_now_has_mem_available_and_this_process_size() {
        let b = Budget::now();
        assert!(b.mem_available.is_some_and(|m| m > 0), "{b:?}");
        assert!(b.mem_total >= b.mem_available, "{b:?}");
        assert!(b.vm_size.is_some_and(|v| v > 0), "{b:?}");
    }

    #[test]
    fn this_process_has_a_memlock_answer() {
        let m = memlock();
        assert!(m.locked.is_some(), "VmLck is in /proc/self/status: {m:?}");
        assert_eq!(m.exempt, rustix::process::geteuid().is_root());
    }
}
