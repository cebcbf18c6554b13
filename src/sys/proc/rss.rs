//! What a process's resident memory is made of: the totals of its VMAs' smaps counters by
//! kind (program, heap, anonymous, stacks, libraries, files, shmem, the kernel's pages) and by
//! backing (file, anonymous, shmem), which add up to what `/proc/PID/smaps_rollup` says; each
//! thread's stack, found from its stack pointer (`/proc/PID/task/TID/syscall`, readable with
//! ptrace access while the thread is blocked); and glibc's malloc arenas, recognised by their
//! shape (inferred, and said so).

use std::os::fd::{AsFd, BorrowedFd};

use crate::sys::error::SysError;
use crate::sys::proc::maps::{SmapsParser, Vma};
use crate::sys::proc::process::{Backing, VmaKind, VmaSummary, backing_of};

/// Rss by kind of VMA (bytes). Our own mapping, a guard and the `---p` rest of a reservation
/// count by what backs them; an arena counts as heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ByKind {
    pub program: u64,
    pub heap: u64,
    pub anon: u64,
    pub stack: u64,
    pub thread_stack: u64,
    pub library: u64,
    pub file: u64,
    pub shmem: u64,
    pub kernel: u64,
}

/// Rss by what backs it (bytes): anonymous is smaps' `Anonymous` (private copies in file
/// mappings too); the rest of a VMA's Rss is its file's pages, or shmem's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ByBacking {
    pub file: u64,
    pub anon: u64,
    pub shmem: u64,
}

/// The totals of every VMA (bytes), as `inspect --pid --json` writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Totals {
    pub rss: u64,
    pub pss: u64,
    /// `Private_Clean + Private_Dirty`: the USS.
    pub private: u64,
    pub shared: u64,
    pub swap: u64,
    pub anon_huge: u64,
    pub by_kind: ByKind,
    pub by_backing: ByBacking,
    /// VMAs whose counters were added (smaps gave them).
    #[serde(skip)]
    pub counted: usize,
}

impl ByKind {
    fn slot(&mut self, kind: VmaKind, backing: Backing) -> &mut u64 {
        match (kind, backing) {
            (VmaKind::Program, _) => &mut self.program,
            (VmaKind::Heap | VmaKind::Arena, _) => &mut self.heap,
            (VmaKind::Stack, _) => &mut self.stack,
            (VmaKind::ThreadStack, _) => &mut self.thread_stack,
            (VmaKind::Library, _) => &mut self.library,
            (VmaKind::Kernel, _) => &mut self.kernel,
            (VmaKind::Shmem, _) | (VmaKind::Ours | VmaKind::Guard, Backing::Shmem) => {
                &mut self.shmem
            }
            (VmaKind::File, _) | (VmaKind::Ours | VmaKind::Guard, Backing::File) => &mut self.file,
            (VmaKind::Anonymous, _) | (VmaKind::Ours | VmaKind::Guard, Backing::Anon) => {
                &mut self.anon
            }
        }
    }

    /// Its figures with their names, in the order of the JSON.
    pub fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("program", self.program),
            ("heap", self.heap),
            ("anon", self.anon),
            ("stack", self.stack),
            ("thread stacks", self.thread_stack),
            ("libraries", self.library),
            ("files", self.file),
            ("shmem", self.shmem),
            ("kernel", self.kernel),
        ]
    }
}

/// The totals of `vmas` (those smaps gave counters for).
pub fn totals(vmas: &[VmaSummary]) -> Totals {
    let mut t = Totals::default();
    for v in vmas {
        let Some(m) = v.mem else { continue };
        t.counted += 1;
        t.rss += m.rss;
        t.pss += m.pss;
        t.private += m.private;
        t.shared += m.shared;
        t.swap += m.swap;
        t.anon_huge += m.anon_huge;
        let backing = backing_of(&v.line);
        *t.by_kind.slot(v.kind, backing) += m.rss;
        // Anonymous pages wherever they are (a private copy in a file mapping too), as the
        // kernel counts them; the rest by what backs the VMA.
        let anon = m.anonymous.min(m.rss);
        t.by_backing.anon += anon;
        let rest = m.rss - anon;
        match backing {
            Backing::File => t.by_backing.file += rest,
            Backing::Shmem => t.by_backing.shmem += rest,
            Backing::Anon => t.by_backing.anon += rest,
        }
    }
    t
}

/// smaps_rollup's text, parsed: one entry with the sums the kernel made.
///
/// # Errors
/// EINVAL when the text holds no entry.
pub fn parse_rollup(text: &[u8]) -> Result<Vma, SysError> {
    let mut parser = SmapsParser::new(0, u64::MAX);
    for line in text.split(|b| *b == b'\n') {
        parser.feed(line);
    }
    parser.finish().into_iter().next().ok_or_else(|| {
        SysError::new(
            libc::EINVAL,
            "read smaps_rollup",
            "it held no entry: the process has no memory (it exited, or is a kernel thread)",
        )
    })
}

/// One thread of a process and where its stack pointer was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSp {
    pub tid: u32,
    /// Its name (`/proc/PID/task/TID/comm`).
    pub comm: String,
    /// Its stack pointer, or why it could not be read.
    pub sp: Result<u64, String>,
}

/// The stack pointer in a `/proc/PID/task/TID/syscall` text (proc(5): the syscall number and
/// its six arguments, then the stack pointer and the program counter; `-1 SP PC` when blocked
/// outside a system call; `running` while it runs).
///
/// # Errors
/// A sentence: the thread was running, or the text is not that.
pub fn parse_syscall_sp(text: &str) -> Result<u64, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.first() == Some(&"running") {
        return Err(
            "it was running (the kernel says where a thread's stack is only while it \
                    is blocked)"
                .into(),
        );
    }
    let sp = words
        .len()
        .checked_sub(2)
        .and_then(|i| words.get(i))
        .ok_or_else(|| format!("unexpected syscall text `{}`", crate::text::echo(text)))?;
    u64::from_str_radix(sp.trim_start_matches("0x"), 16)
        .map_err(|_| format!("unexpected syscall text `{}`", crate::text::echo(text)))
}

fn read_at(dir: BorrowedFd<'_>, name: &str) -> std::io::Result<String> {
    use std::io::Read as _;
    let fd = rustix::fs::openat(
        dir,
        name,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let mut text = String::new();
    std::fs::File::from(fd).read_to_string(&mut text)?;
    Ok(text)
}

/// Every thread of the process whose `/proc/PID` directory is `dir`, with its stack pointer
/// where the kernel gives it (EACCES without ptrace access; `running` while it runs).
///
/// # Errors
/// The task directory could not be listed (the process exited).
pub fn thread_sps(dir: impl AsFd) -> Result<Vec<ThreadSp>, SysError> {
    let fail = |e: rustix::io::Errno| SysError::from_rustix(e, "list /proc/PID/task");
    let task = rustix::fs::openat(
        dir.as_fd(),
        "task",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(fail)?;
    let mut out = Vec::new();
    for entry in rustix::fs::Dir::read_from(&task).map_err(fail)? {
        let Ok(entry) = entry else { continue };
        let Some(tid) = entry.file_name().to_str().ok().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let comm = read_at(task.as_fd(), &format!("{tid}/comm"))
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default();
        let sp = read_at(task.as_fd(), &format!("{tid}/syscall"))
            .map_err(|e| format!("{tid}/syscall: {e}"))
            .and_then(|t| parse_syscall_sp(&t));
        out.push(ThreadSp { tid, comm, sp });
    }
    out.sort_by_key(|t| t.tid);
    Ok(out)
}

/// Names the anonymous VMAs that hold a thread's stack pointer (the first thread's is
/// `[stack]`); returns what could not be placed, in words (`None`: every thread was).
pub fn label_threads(vmas: &mut [VmaSummary], threads: &[ThreadSp], pid: u32) -> Option<String> {
    let mut unplaced = Vec::new();
    for t in threads {
        // The first thread's stack is `[stack]` (maps says so): its pointer is not needed.
        if t.tid == pid {
            continue;
        }
        let sp = match &t.sp {
            Ok(sp) => *sp,
            Err(why) => {
                unplaced.push(format!("thread {}: {why}", t.tid));
                continue;
            }
        };
        let i = vmas.partition_point(|v| v.line.end <= sp);
        let Some(v) = vmas.get_mut(i).filter(|v| v.line.start <= sp) else {
            unplaced.push(format!("thread {}: its stack pointer is in no VMA", t.tid));
            continue;
        };
        if v.kind == VmaKind::Stack {
            continue;
        }
        if matches!(v.kind, VmaKind::Anonymous | VmaKind::ThreadStack) {
            v.kind = VmaKind::ThreadStack;
            v.label = Some(format!(
                "stack of thread {} ({})",
                t.tid,
                crate::text::sanitize(&t.comm)
            ));
        }
    }
    (!unplaced.is_empty()).then(|| {
        let n = unplaced.len();
        let first = unplaced.swap_remove(0);
        format!(
            "{n} thread stack{} not found ({first}{})",
            if n == 1 { "" } else { "s" },
            if n > 1 { ", ..." } else { "" }
        )
    })
}

/// glibc's HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX (malloc/arena.c).
const ARENA: u64 = 64 << 20;

/// Names glibc malloc arenas, inferred from their shape (malloc/arena.c, new_heap): a
/// reservation of 64 MiB aligned to 64 MiB, its used part `rw-p` and the rest `---p`, both
/// anonymous.
pub fn label_arenas(vmas: &mut [VmaSummary]) {
    let anon = |v: &VmaSummary| v.line.path.is_empty() && v.line.inode == 0;
    for i in 0..vmas.len() {
        let v = &vmas[i];
        if !(anon(v) && v.line.perms == "rw-p" && v.line.start.is_multiple_of(ARENA)) {
            continue;
        }
        let rest = vmas
            .get(i + 1)
            .filter(|n| anon(n) && n.line.perms == "---p" && n.line.start == v.line.end);
        let end = rest.map_or(v.line.end, |n| n.line.end);
        if end - v.line.start != ARENA {
            continue;
        }
        let parts = if rest.is_some() { 2 } else { 1 };
        for (j, what) in ["in use", "reserved"].iter().enumerate().take(parts) {
            let w = &mut vmas[i + j];
            w.kind = VmaKind::Arena;
            w.label = Some(format!(
                "glibc malloc arena, {what} (inferred: 64 MiB-aligned rw-p + ---p)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::proc::maps::MapsLine;
    use crate::sys::proc::process::VmaMemory;

    fn vma(start: u64, end: u64, perms: &str, path: &str, rss: u64, anon: u64) -> VmaSummary {
        let line = MapsLine {
            start,
            end,
            perms: perms.into(),
            offset: 0,
            dev: if path.starts_with('/') { 0x801 } else { 0 },
            inode: u64::from(path.starts_with('/')),
            path: path.into(),
        };
        let mem = VmaMemory {
            rss,
            pss: rss / 2,
            private: rss / 2,
            shared: rss - rss / 2,
            anonymous: anon,
            ..VmaMemory::default()
        };
        VmaSummary {
            kind: crate::sys::proc::process::kind_of(&line, "/bin/x", None),
            line,
            rss: Some(rss),
            mem: Some(mem),
            label: None,
        }
    }

    #[test]
    fn totals_split_by_kind_and_backing_and_add_up() {
        let vmas = vec![
            vma(0x1000, 0x3000, "r-xp", "/bin/x", 8192, 0),
            vma(0x3000, 0x4000, "rw-p", "/bin/x", 4096, 4096),
            vma(0x5000, 0x9000, "rw-p", "[heap]", 8192, 8192),
            vma(0x10000, 0x20000, "rw-s", "/dev/zero (deleted)", 12288, 0),
            vma(0x30000, 0x31000, "r-xp", "[vdso]", 4096, 0),
        ];
        let t = totals(&vmas);
        assert_eq!(t.rss, 36864);
        assert_eq!(t.by_kind.program, 12288);
        assert_eq!(
            (t.by_kind.heap, t.by_kind.shmem, t.by_kind.kernel),
            (8192, 12288, 4096)
        );
        assert_eq!(
            (t.by_backing.file, t.by_backing.anon, t.by_backing.shmem),
            (12288, 12288, 12288)
        );
        let kinds: u64 = t.by_kind.named().iter().map(|(_, n)| n).sum();
        assert_eq!(kinds, t.rss);
        assert_eq!(t.private + t.shared, t.rss);
    }

    #[test]
    fn a_threads_stack_pointer_comes_from_its_syscall_file() {
        assert_eq!(
            parse_syscall_sp("202 0x7f 0x80 0x0 0x0 0x0 0x0 0x7ffc1000 0x7f5500\n"),
            Ok(0x7ffc_1000)
        );
        assert_eq!(parse_syscall_sp("-1 0x7ffc2000 0x4011\n"), Ok(0x7ffc_2000));
        assert!(
            parse_syscall_sp("running\n")
                .unwrap_err()
                .contains("running")
        );
        assert!(parse_syscall_sp("").is_err());
    }

    #[test]
    fn thread_stacks_and_arenas_are_named() {
        let mut vmas = vec![
            vma(0x7f00_0000_0000, 0x7f00_0210_0000, "rw-p", "", 4096, 4096),
            vma(0x7f00_0210_0000, 0x7f00_0400_0000, "---p", "", 0, 0),
            vma(0x7f10_0000_0000, 0x7f10_0080_0000, "rw-p", "", 4096, 4096),
            vma(
                0x7ffc_0000_0000,
                0x7ffc_0002_1000,
                "rw-p",
                "[stack]",
                4096,
                4096,
            ),
        ];
        label_arenas(&mut vmas);
        assert_eq!(
            (vmas[0].kind, vmas[1].kind),
            (VmaKind::Arena, VmaKind::Arena)
        );
        assert!(vmas[0].label.as_deref().unwrap().contains("inferred"));
        assert_eq!(vmas[2].kind, VmaKind::Anonymous, "not 64 MiB-aligned");
        let threads = [
            ThreadSp {
                tid: 7,
                comm: "main".into(),
                sp: Ok(0x7ffc_0001_0000),
            },
            ThreadSp {
                tid: 8,
                comm: "worker".into(),
                sp: Ok(0x7f10_0070_0000),
            },
            ThreadSp {
                tid: 9,
                comm: "busy".into(),
                sp: Err("it was running".into()),
            },
        ];
        let note = label_threads(&mut vmas, &threads, 7).unwrap();
        assert_eq!(vmas[2].kind, VmaKind::ThreadStack);
        assert_eq!(vmas[2].label.as_deref(), Some("stack of thread 8 (worker)"));
        assert_eq!(vmas[3].kind, VmaKind::Stack);
        assert!(
            note.contains("1 thread stack not found (thread 9: it was running"),
            "{note}"
        );
    }
}
