//! Another process (or ourselves) as the kernel describes it: who it is (`/proc/PID/status`),
//! why we may not look (ptrace access mode, Yama's `ptrace_scope`, another user, not root),
//! which of its VMAs a `--vma` SPEC names, and what kind each VMA is (heap, stack, library,
//! our own mapping...) for the address-space view.

use crate::sys::error::SysError;
use crate::sys::proc::maps::{MapsLine, Vma};

/// Who a process is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    /// Its command name (`/proc/PID/status` Name, as the kernel keeps it: up to 15 bytes).
    pub comm: String,
    /// Real user id.
    pub(crate) uid: u32,
    /// Its permitted capabilities (`CapPrm`, a bit per capability; 0 when not shown).
    pub(crate) cap_permitted: u64,
}

/// Reads who `pid` is.
///
/// # Errors
/// ESRCH when there is no such process.
#[cfg(test)]
pub(crate) fn describe(pid: u32) -> Result<ProcessInfo, SysError> {
    let status = std::fs::read(format!("/proc/{pid}/status")).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            no_such_process(pid)
        } else {
            SysError::from_io(&e, format!("read /proc/{pid}/status"))
        }
    })?;
    Ok(parse_status(pid, &status))
}

/// The refusal for a pid that names no process.
pub(crate) fn no_such_process(pid: u32) -> SysError {
    SysError::new(
        libc::ESRCH,
        format!("--pid {pid}"),
        "there is no such process (it may have exited); `ps` lists the running ones",
    )
}

/// A field of a `/proc/PID/status` text (`Name:`), trimmed.
fn status_field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(str::trim)
        .unwrap_or_default()
        .to_string()
}

/// Who process `pid` is, from the text of its `/proc/PID/status`.
pub(crate) fn parse_status(pid: u32, status: &[u8]) -> ProcessInfo {
    let text = String::from_utf8_lossy(status);
    ProcessInfo {
        pid,
        comm: status_field(&text, "Name:"),
        uid: status_field(&text, "Uid:")
            .split_whitespace()
            .next()
            .and_then(|u| u.parse().ok())
            .unwrap_or(u32::MAX),
        cap_permitted: cap_field(&text, "CapPrm:"),
    }
}

/// A capability set of a `/proc/PID/status` text (`CapEff:`), as its bits; 0 when absent.
fn cap_field(text: &str, name: &str) -> u64 {
    u64::from_str_radix(&status_field(text, name), 16).unwrap_or(0)
}

/// Capability names by bit (include/uapi/linux/capability.h).
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The names of the capabilities set in `bits` (`cap 41` and up by number).
fn cap_names(bits: u64) -> Vec<String> {
    (0..64)
        .filter(|b| bits & (1 << b) != 0)
        .map(|b| {
            CAP_NAMES
                .get(b)
                .map_or_else(|| format!("cap {b}"), |n| (*n).to_string())
        })
        .collect()
}

/// Why root was refused ptrace access to `info`, from our capabilities and its (measured in
/// /proc/self/status and at open): without CAP_SYS_PTRACE, the capability rules apply to us as
/// to anyone; with it they allow any process (kernel/ptrace.c, __ptrace_may_access;
/// security/commoncap.c, cap_ptrace_access_check), so the refusal came from a security
/// module or policy beyond them. Capabilities it holds outside our bounding set are named:
/// nothing started from here can gain them.
fn root_refusal(info: &ProcessInfo, who: &str) -> String {
    let ours = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let (effective, bounding) = (cap_field(&ours, "CapEff:"), cap_field(&ours, "CapBnd:"));
    const PTRACE: u64 = 1 << 19;
    let beyond = info.cap_permitted & !bounding;
    let more = if beyond == 0 {
        String::new()
    } else {
        format!(
            "; pid {} holds capabilities outside this process's bounding set ({}), which \
             nothing started from here can gain",
            info.pid,
            cap_names(beyond).join(", ")
        )
    };
    if effective & PTRACE == 0 {
        format!(
            "the kernel refused ptrace access to {who}: this process runs as root but without \
             CAP_SYS_PTRACE, so the capability rules bind it as any user (the target may be \
             undumpable, or more privileged){more}; give it CAP_SYS_PTRACE"
        )
    } else {
        format!(
            "the kernel refused ptrace access to {who} though this process runs as root with \
             CAP_SYS_PTRACE, which the capability rules accept for any process of its user \
             namespace: a security module or policy protects it, or it lives in a user \
             namespace above ours{more}; it cannot be looked into from here"
        )
    }
}

/// Why process `info` has no memory to look at, from the text of its `/proc/PID/status`:
/// it has exited (a zombie: `State: Z`, or `X` while it is being reaped), or it is a kernel
/// thread (`Kthread: 1`; before that field, Linux 6.x, a live task without `VmSize:`).
/// `None` for a process with a memory.
pub(crate) fn memoryless(info: &ProcessInfo, status: &[u8]) -> Option<SysError> {
    let text = String::from_utf8_lossy(status);
    let state = status_field(&text, "State:");
    let kthread = match status_field(&text, "Kthread:").as_str() {
        "" => !text.lines().any(|l| l.starts_with("VmSize:")),
        flag => flag == "1",
    };
    let who = format!("pid {} ({})", info.pid, crate::text::sanitize(&info.comm));
    if state.starts_with('Z') || state.starts_with('X') {
        Some(SysError::new(
            libc::ESRCH,
            format!("--pid {}", info.pid),
            format!(
                "{who} has exited (State {}): a zombie keeps its pid, and nothing of its \
                 memory, until its parent reaps it",
                state.split_whitespace().next().unwrap_or_default()
            ),
        ))
    } else if kthread {
        Some(SysError::new(
            libc::EINVAL,
            format!("--pid {}", info.pid),
            format!(
                "{who} is a kernel thread: it runs in the kernel's memory and has no address \
                 space of its own (no maps, no pagemap) to look at"
            ),
        ))
    } else {
        None
    }
}

/// The thread group (process) of a `/proc/PID/status` text: `Tgid`, which differs from the
/// pid for a thread other than the process's first.
pub(crate) fn status_tgid(status: &[u8]) -> Option<u32> {
    status_field(&String::from_utf8_lossy(status), "Tgid:")
        .parse()
        .ok()
}

/// Yama's `kernel.yama.ptrace_scope`, when the kernel has Yama (0: classic, 1: restricted to
/// descendants, 2: admin only, 3: no attach).
pub(crate) fn ptrace_scope() -> Option<u8> {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Why reading `what` of process `info` was refused, in words: the kernel checks ptrace
/// access when they are opened: PTRACE_MODE_READ for maps, smaps and pagemap,
/// PTRACE_MODE_ATTACH for mem.
pub(crate) fn refusal(info: &ProcessInfo, what: &str, err: &std::io::Error) -> SysError {
    let me = rustix::process::getuid().as_raw();
    let root = rustix::process::geteuid().is_root();
    let why = if err.raw_os_error() != Some(libc::EACCES) && err.raw_os_error() != Some(libc::EPERM)
    {
        return SysError::from_io(err, format!("read {what} of pid {}", info.pid));
    } else if !root && info.uid != me {
        format!(
            "pid {} ({}) belongs to user {}, not to you (uid {me}): only root may look into \
             another user's process; run mmapscope as that user, or as root",
            info.pid,
            crate::text::sanitize(&info.comm),
            info.uid
        )
    } else if let Some(scope @ 1..) = ptrace_scope().filter(|_| !root) {
        format!(
            "Yama's ptrace_scope is {scope} (/proc/sys/kernel/yama/ptrace_scope): only {} may \
             read another process's memory; ask an administrator, or run as root",
            if scope == 1 {
                "a parent (or a process the target allowed with PR_SET_PTRACER)"
            } else {
                "root"
            }
        )
    } else if root {
        root_refusal(
            info,
            &format!("pid {} ({})", info.pid, crate::text::sanitize(&info.comm)),
        )
    } else {
        format!(
            "the kernel refused ptrace access to pid {} ({}): it may be setuid, or undumpable \
             (prctl PR_SET_DUMPABLE 0); run as root",
            info.pid,
            crate::text::sanitize(&info.comm)
        )
    };
    SysError::new(
        err.raw_os_error().unwrap_or(libc::EACCES),
        format!("read {what} of pid {}", info.pid),
        why,
    )
}

/// The kind of a VMA, for colours and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmaKind {
    /// The mapping mmapscope made (only in our own process).
    Ours,
    Heap,
    Stack,
    /// vdso, vvar, vsyscall: the kernel's own pages.
    Kernel,
    /// A shared library (`*.so`, `*.so.N`).
    Library,
    /// The program's own executable.
    Program,
    /// Another file.
    File,
    /// Anonymous memory (malloc's mmaps, thread stacks, JIT...).
    Anonymous,
    /// No access (`---p`): a guard page or reserved address space.
    Guard,
    /// Shared memory: a tmpfs or shm file mapped, `MAP_SHARED|MAP_ANONYMOUS`, memfd, SysV.
    Shmem,
    /// Anonymous memory holding a thread's stack pointer (`/proc/PID/task/TID/syscall`).
    ThreadStack,
    /// A glibc malloc arena: 64 MiB-aligned `rw-p` with the `---p` rest of its 64 MiB
    /// reservation (inferred from that shape).
    Arena,
}

impl VmaKind {
    /// One word for it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Heap => "heap",
            Self::Stack => "stack",
            Self::Kernel => "kernel",
            Self::Library => "library",
            Self::Program => "program",
            Self::File => "file",
            Self::Anonymous => "anon",
            Self::Guard => "guard",
            Self::Shmem => "shmem",
            Self::ThreadStack => "thread",
            Self::Arena => "arena",
        }
    }

    /// Its name in JSON (`inspect --pid`'s `kind`; docs/json.md lists them).
    pub fn json_word(self) -> &'static str {
        match self {
            Self::ThreadStack => "thread_stack",
            Self::Anonymous => "anon",
            other => other.word(),
        }
    }

    /// Every kind, in the legend's order.
    pub const ALL: [VmaKind; 12] = [
        Self::Ours,
        Self::Program,
        Self::Heap,
        Self::Arena,
        Self::Anonymous,
        Self::Library,
        Self::File,
        Self::Shmem,
        Self::Stack,
        Self::ThreadStack,
        Self::Kernel,
        Self::Guard,
    ];
}

/// What backs a VMA's resident pages, as the kernel splits Pss in smaps_rollup
/// (`Pss_Anon`, `Pss_File`, `Pss_Shmem`; the kernel's own pages, vdso, count as file there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    File,
    Anon,
    Shmem,
}

/// Whether `line` maps shared memory: `MAP_SHARED|MAP_ANONYMOUS` and shared `/dev/zero`
/// (`/dev/zero (deleted)`), a POSIX shm object (`/dev/shm/`), a memfd (`/memfd:`), SysV
/// shm (`/SYSV`), or a shared mapping of a file on a filesystem without a device (major 0:
/// tmpfs here; judged from maps, not by statfs of each file).
pub fn is_shmem(line: &MapsLine) -> bool {
    let p = line.path.as_str();
    p.starts_with("/dev/shm/")
        || p.starts_with("/memfd:")
        || p.starts_with("/SYSV")
        || p.starts_with("/dev/zero") && line.perms.ends_with('s')
        || (line.perms.ends_with('s')
            && line.inode != 0
            && p.starts_with('/')
            && rustix::fs::major(line.dev) == 0)
}

/// What backs `line`: shmem, a file (the kernel's own pages too), or anonymous memory.
pub fn backing_of(line: &MapsLine) -> Backing {
    if is_shmem(line) {
        Backing::Shmem
    } else if line.path.starts_with('/')
        || (line.path.starts_with('[')
            && !line.path.starts_with("[heap")
            && !line.path.starts_with("[stack")
            && !line.path.starts_with("[anon"))
    {
        Backing::File
    } else {
        Backing::Anon
    }
}

/// The kind of `line` in a process whose executable is `exe` (`ours`: the range of the
/// mapping mmapscope made, in our own process).
pub fn kind_of(line: &MapsLine, exe: &str, ours: Option<(u64, u64)>) -> VmaKind {
    let path = line.path.as_str();
    if ours.is_some_and(|(s, e)| line.start < e && line.end > s) {
        VmaKind::Ours
    } else if path == "[heap]" {
        VmaKind::Heap
    } else if path.starts_with("[stack") {
        VmaKind::Stack
    } else if matches!(path, "[vdso]" | "[vvar]" | "[vsyscall]" | "[vvar_vclock]") {
        VmaKind::Kernel
    } else if line.perms.starts_with("---") {
        VmaKind::Guard
    } else if is_shmem(line) {
        VmaKind::Shmem
    } else if path.is_empty() {
        VmaKind::Anonymous
    } else if !exe.is_empty() && path == exe {
        VmaKind::Program
    } else if is_library(path) {
        VmaKind::Library
    } else {
        VmaKind::File
    }
}

fn is_library(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with(".so") || name.contains(".so.")
}

/// One VMA of the address-space view: its maps line, its kind, its Rss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmaSummary {
    pub line: MapsLine,
    pub kind: VmaKind,
    /// Resident bytes (smaps Rss); `None` where smaps could not say.
    pub rss: Option<u64>,
    /// Its smaps counters in the view's columns; `None` where smaps could not say.
    pub mem: Option<VmaMemory>,
    /// What it is beyond its kind, when found: `stack of thread 4243 (python3)`, `glibc
    /// malloc arena (inferred)`.
    pub label: Option<String>,
}

/// A VMA's memory in the address-space view's columns (bytes, from its smaps counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VmaMemory {
    pub rss: u64,
    pub pss: u64,
    /// Pages mapped by this process alone (`Private_Clean + Private_Dirty`): its USS.
    pub private: u64,
    /// Pages other processes map too (`Shared_Clean + Shared_Dirty`).
    pub shared: u64,
    pub swap: u64,
    /// Anonymous pages (`Anonymous`): what is not file or shmem of its Rss.
    pub anonymous: u64,
    /// Transparent huge pages mapped (`AnonHugePages`).
    pub anon_huge: u64,
    /// Every PMD-mapped huge page: anonymous, shmem and file.
    pub huge: u64,
    /// Pages accessed since their accessed bits were last cleared (`Referenced`): with
    /// `--track-access`, what the process touched since the mark.
    pub referenced: u64,
}

impl VmaMemory {
    /// The columns of one VMA's smaps counters.
    pub fn of(v: &Vma) -> Self {
        let m = &v.memory;
        Self {
            rss: m.rss,
            pss: m.pss,
            private: m.private_clean + m.private_dirty,
            shared: m.shared_clean + m.shared_dirty,
            swap: m.swap,
            anonymous: m.anonymous,
            anon_huge: v.huge.anon_huge_pages,
            huge: v.huge.anon_huge_pages + v.huge.shmem_pmd_mapped + v.huge.file_pmd_mapped,
            referenced: m.referenced,
        }
    }
}

/// The address-space view's VMAs from one read of smaps: its maps lines and its counters,
/// both in address order, matched in one pass (a counter whose VMA is not among the lines,
/// or a line without counters, is left out or without Rss: never searched for). `exe`: the
/// program's path as maps writes it; `ours`: the range of the mapping mmapscope made, in our
/// own process.
pub fn summaries(
    lines: Vec<MapsLine>,
    vmas: &[Vma],
    exe: &str,
    ours: Option<(u64, u64)>,
) -> Vec<VmaSummary> {
    let mut counters = vmas.iter().peekable();
    lines
        .into_iter()
        .map(|line| {
            while counters.next_if(|v| v.head.start < line.start).is_some() {}
            let mem = counters
                .next_if(|v| v.head.start == line.start && v.head.end == line.end)
                .map(VmaMemory::of);
            VmaSummary {
                kind: kind_of(&line, exe, ours),
                line,
                rss: mem.map(|m| m.rss),
                mem,
                label: None,
            }
        })
        .collect()
}

/// Why no VMA holds `addr`: the gap it is in, with the VMAs below and above it.
fn gap_words(addr: u64, before: Option<&MapsLine>, after: Option<&MapsLine>) -> String {
    let side = |l: Option<&MapsLine>| {
        l.map_or_else(
            || "nothing".to_string(),
            |l| {
                let name = if l.path.is_empty() {
                    "[anonymous]"
                } else {
                    l.path.as_str()
                };
                format!("{} 0x{:x}-0x{:x}", crate::text::echo(name), l.start, l.end)
            },
        )
    };
    format!(
        "no VMA holds 0x{addr:x}: it is in a gap of the address space, below it {}, above it {}",
        side(before),
        side(after)
    )
}

/// The VMA a `--vma` SPEC names among `maps`: an address inside it (`0x7f..`), or a path or a
/// name (`libc.so.6`, `[heap]`, `[stack]`: the first VMA whose path is it or ends with
/// `/name`, preferring one that can be read).
///
/// # Errors
/// A sentence: nothing matches (with the names there are), or the spec is empty.
pub fn resolve_vma<'m>(maps: &'m [MapsLine], spec: &str) -> Result<&'m MapsLine, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("--vma needs an address (0x7f..), a path or a name ([heap], libc.so.6)".into());
    }
    if let Some(hex) = spec.strip_prefix("0x").or_else(|| spec.strip_prefix("0X")) {
        let addr = u64::from_str_radix(hex, 16).map_err(|_| {
            format!(
                "`{}` is not an address: use 0x and hex digits",
                crate::text::echo(spec)
            )
        })?;
        let i = maps.partition_point(|l| l.end <= addr);
        return match maps.get(i) {
            Some(l) if l.start <= addr => Ok(l),
            after => Err(gap_words(
                addr,
                i.checked_sub(1).and_then(|b| maps.get(b)),
                after,
            )),
        };
    }
    let matches = |l: &&MapsLine| {
        l.path == spec || l.path.rsplit('/').next().is_some_and(|name| name == spec)
    };
    maps.iter()
        .filter(matches)
        .find(|l| l.perms.starts_with('r'))
        .or_else(|| maps.iter().find(matches))
        .ok_or_else(|| {
            let mut names: Vec<&str> = maps
                .iter()
                .map(|l| l.path.rsplit('/').next().unwrap_or(&l.path))
                .filter(|n| !n.is_empty())
                .collect();
            names.dedup();
            names.truncate(12);
            format!(
                "no VMA is `{}`; there are: {}",
                crate::text::echo(spec),
                crate::text::echo(&names.join(", "))
            )
        })
}

/// The identity fields of /proc/PID/stat (proc_pid_stat(5)), read as the kernel writes them:
/// 0 is a valid value here (a parent, group or session outside our PID namespace reads as 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatIds {
    pub(crate) state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
}

/// [`StatIds`] of `pid` (a number, or `self`). The command name may hold spaces and
/// parentheses, so the fields are read after the last `)`.
pub fn stat_ids(pid: &str) -> Option<StatIds> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some(StatIds {
        state,
        ppid,
        pgrp,
        session,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::proc::maps::{MemoryCounters, VmaHead};

    #[test]
    fn capabilities_are_read_from_status_and_named_by_bit() {
        let info = parse_status(
            1,
            b"Name:\tinit\nUid:\t0\t0\t0\t0\nCapPrm:\t000001ffffffffff\n",
        );
        assert_eq!(info.cap_permitted, 0x1ff_ffff_ffff);
        assert_eq!(
            cap_names(info.cap_permitted & !0x1ff_feff_ffff),
            ["CAP_SYS_RESOURCE"]
        );
        assert_eq!(cap_names(1 << 19 | 1), ["CAP_CHOWN", "CAP_SYS_PTRACE"]);
        assert_eq!(cap_names(1 << 45), ["cap 45"]);
        assert_eq!(parse_status(2, b"Name:\tx\n").cap_permitted, 0);
    }

    #[test]
    fn a_zombie_and_a_kernel_thread_say_what_they_are_and_a_process_nothing() {
        let status = |body: &str| format!("Name:\tx\nUmask:\t0022\n{body}Uid:\t0\t0\t0\t0\n");
        let said = |body: &str| {
            let text = status(body);
            let info = parse_status(7, text.as_bytes());
            memoryless(&info, text.as_bytes()).map(|e| (e.errno, e.explanation))
        };
        let zombie = said("State:\tZ (zombie)\nKthread:\t0\n").expect("a zombie");
        assert_eq!(zombie.0, libc::ESRCH);
        assert!(
            zombie.1.contains("pid 7 (x) has exited (State Z)"),
            "{}",
            zombie.1
        );
        let kthread = said("State:\tS (sleeping)\nKthread:\t1\n").expect("a kernel thread");
        assert!(kthread.1.contains("is a kernel thread"), "{}", kthread.1);
        // Before the Kthread field: a live task without VmSize has no memory of its own.
        assert!(said("State:\tI (idle)\n").is_some_and(|e| e.1.contains("kernel thread")));
        assert!(said("State:\tS (sleeping)\nVmSize:\t 1000 kB\n").is_none());
        assert!(said("State:\tR (running)\nKthread:\t0\n").is_none());
    }

    fn line(start: u64, end: u64, perms: &str, path: &str) -> MapsLine {
        MapsLine::sample(start, end, perms, path)
    }

    fn maps() -> Vec<MapsLine> {
        vec![
            line(0x1000, 0x2000, "r--p", "/usr/bin/python3.11"),
            line(0x2000, 0x3000, "r-xp", "/usr/bin/python3.11"),
            line(0x5000, 0x9000, "rw-p", "[heap]"),
            line(0x7000_0000, 0x7000_1000, "---p", "/usr/lib/libc.so.6"),
            line(0x7000_1000, 0x7000_9000, "r--p", "/usr/lib/libc.so.6"),
            line(0x7100_0000, 0x7100_4000, "rw-s", "/tmp/data.bin"),
            line(0x7200_0000, 0x7200_1000, "rw-p", ""),
            line(0x7ffd_0000, 0x7ffd_2000, "rw-p", "[stack]"),
            line(0x7ffd_3000, 0x7ffd_5000, "r-xp", "[vdso]"),
        ]
    }

    #[test]
    fn a_spec_is_an_address_a_path_or_a_name() {
        let m = maps();
        assert_eq!(resolve_vma(&m, "[heap]").unwrap().start, 0x5000);
        assert_eq!(resolve_vma(&m, "0x5fff").unwrap().start, 0x5000);
        assert_eq!(
            resolve_vma(&m, "libc.so.6").unwrap().start,
            0x7000_1000,
            "a readable one first"
        );
        assert_eq!(resolve_vma(&m, "/tmp/data.bin").unwrap().start, 0x7100_0000);
        assert!(resolve_vma(&m, "0x4000").unwrap_err().contains("gap"));
        assert_eq!(
            resolve_vma(&m, "0x4000").unwrap_err(),
            "no VMA holds 0x4000: it is in a gap of the address space, below it \
             /usr/bin/python3.11 0x2000-0x3000, above it [heap] 0x5000-0x9000"
        );
        assert!(
            resolve_vma(&m, "0x10")
                .unwrap_err()
                .contains("below it nothing, above it /usr/bin/python3.11 0x1000-0x2000")
        );
        let err = resolve_vma(&m, "nope").unwrap_err();
        assert!(
            err.contains("there are") && err.contains("libc.so.6"),
            "{err}"
        );
        assert!(resolve_vma(&m, "0xzz").is_err());
        assert!(resolve_vma(&m, "  ").is_err());
    }

    #[test]
    fn kinds_for_the_address_space_view() {
        let m = maps();
        let exe = "/usr/bin/python3.11";
        let kinds: Vec<&str> = m
            .iter()
            .map(|l| kind_of(l, exe, Some((0x7100_0000, 0x7100_4000))).word())
            .collect();
        assert_eq!(
            kinds,
            [
                "program", "program", "heap", "guard", "library", "ours", "anon", "stack", "kernel"
            ]
        );
        assert_eq!(kind_of(&m[5], exe, None), VmaKind::File);
    }

    #[test]
    fn summaries_match_lines_and_counters_in_one_pass() {
        let m = maps();
        let vma = |l: &MapsLine, rss: u64| Vma {
            head: VmaHead {
                start: l.start,
                end: l.end,
                ..VmaHead::default()
            },
            memory: MemoryCounters {
                rss,
                ..MemoryCounters::default()
            },
            ..Vma::default()
        };
        // Counters for every other line, one for a VMA not among the lines, one whose end
        // differs (split since): only exact ranges give an Rss.
        let mut vmas: Vec<Vma> = m.iter().step_by(2).map(|l| vma(l, l.start)).collect();
        vmas.insert(1, vma(&line(0x3000, 0x4000, "r--p", ""), 1));
        let mut split = vma(&m[7], 7);
        split.head.end = m[7].end + 0x1000;
        vmas.push(split);
        vmas.sort_by_key(|v| v.head.start);
        let s = summaries(m.clone(), &vmas, "/usr/bin/python3.11", None);
        assert_eq!(s.len(), m.len());
        for (i, v) in s.iter().enumerate() {
            let want = (i % 2 == 0).then_some(m[i].start);
            assert_eq!(v.rss, want, "line {i}");
            assert_eq!(v.line, m[i]);
        }
        assert_eq!(s[0].kind, VmaKind::Program);
    }

    #[test]
    fn status_text_says_who_and_which_process() {
        let text = b"Name:\tsleep\nUmask:\t0022\nState:\tS\nTgid:\t41\nPid:\t42\nUid:\t1000\t1000\t1000\t1000\n";
        let info = parse_status(42, text);
        assert_eq!((info.comm.as_str(), info.uid), ("sleep", 1000));
        assert_eq!(status_tgid(text), Some(41));
    }

    #[test]
    fn we_can_describe_ourselves() {
        let me = describe(std::process::id()).unwrap();
        assert!(!me.comm.is_empty());
        assert_eq!(me.uid, rustix::process::getuid().as_raw());
        assert_eq!(describe(u32::MAX - 1).unwrap_err().errno, libc::ESRCH);
    }

    #[test]
    fn stat_ids_read_past_a_command_name_with_parentheses_and_spaces() {
        let tmp = tempfile::TempDir::new().unwrap();
        let exe = tmp.path().join("a) b (c");
        std::fs::copy("/bin/sleep", &exe).unwrap();
        let mut child = std::process::Command::new(&exe).arg("5").spawn().unwrap();
        let ids = stat_ids(&child.id().to_string());
        let _ = child.kill();
        let _ = child.wait();
        let ids = ids.unwrap();
        assert_eq!(ids.ppid, std::process::id() as i32);
        assert_eq!(ids.session, stat_ids("self").unwrap().session);
    }
}
