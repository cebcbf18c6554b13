//! One handle on a process, opened once: when mmapscope attaches to it (`--pid`, `inspect
//! --pid`), or first explores a VMA of its own. It holds `/proc/PID` as a directory, its
//! `mem`, `maps`, `pagemap` and `smaps` files, and a pidfd. Those files hold the process's
//! memory (its mm) as it was when they were opened: once the process exits or calls exec,
//! reads through them come back empty (or ESRCH) instead of reaching a new process that got
//! the same pid, or the new program image (measured on Linux 6.18; `tests/it/attach.rs` checks it).
//! The pidfd tells the two apart: readable once the process has exited; still quiet after
//! an exec. Every read and every write into that process goes through here: its bytes, its
//! maps (PROCMAP_QUERY where the kernel has it), pagemap, smaps (read again from offset 0
//! through the same descriptor) and the files its VMAs map (opened through the directory,
//! never blocking, classified on the descriptor). A write lands only where the process itself
//! could write, and all of it or nothing. Reading smaps off the screen's path, at a pace, is
//! `paced`'s.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt as _;
use std::sync::OnceLock;

use rustix::fs::{FileType, Mode, OFlags};

use crate::sys::error::SysError;
use crate::sys::map::request::{FileKind, is_dev_zero};
use crate::sys::proc::maps::{self, MapsFile, MapsLine, Pid, SmapsParser, Vma};
use crate::sys::proc::process::{self, ProcessInfo};

/// How a process stopped being the one the handle was opened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// It has exited (its pidfd is readable): a process with the same pid is another one.
    Exited,
    /// It called exec: same process, new memory; the handle's files see none of it.
    Execed,
}

impl Gone {
    /// The words the header shows.
    pub fn header(self) -> &'static str {
        match self {
            Self::Exited => "exited",
            Self::Execed => "called exec: Enter reopens it",
        }
    }
}

/// `/proc/PID/...` opened relative to `dir`: never blocking, never a controlling terminal,
/// closed on exec.
fn open_in(dir: &OwnedFd, name: &str, write: bool) -> std::io::Result<File> {
    let mode = if write { OFlags::RDWR } else { OFlags::RDONLY };
    rustix::fs::openat(
        dir,
        name,
        mode | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map(File::from)
    .map_err(std::io::Error::from)
}

/// Whether `pidfd` is readable now: its process has exited (pidfd_open(2)).
fn exited(pidfd: &OwnedFd) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&zero)).is_ok_and(|n| n > 0)
}

/// A whole /proc file read from offset 0 with pread (a seq_file file regenerates its text).
fn read_whole(file: &File) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0u64;
    maps::feed_lines(
        |buf| {
            let n = file.read_at(buf, at)?;
            at += n as u64;
            Ok(n)
        },
        |line| {
            out.extend_from_slice(line);
            out.push(b'\n');
            true
        },
    )?;
    Ok(out)
}

/// Why pidfd_open(pid) failed, in words: no such process, or a thread's id.
fn pidfd_refusal(pid: u32, e: rustix::io::Errno) -> SysError {
    let status = std::fs::read(format!("/proc/{pid}/status")).unwrap_or_default();
    match process::status_tgid(&status) {
        // EINVAL before Linux 6.9, ENOENT since (PIDFD_THREAD would take a thread).
        Some(tgid) if tgid != pid => SysError::new(
            libc::EINVAL,
            format!("--pid {pid}"),
            format!("{pid} is a thread of process {tgid}: give --pid {tgid}"),
        ),
        _ if e == rustix::io::Errno::SRCH => process::no_such_process(pid),
        _ => SysError::from_rustix(e, format!("pidfd_open({pid})")),
    }
}

/// The files of one process, opened once. See the module's words.
#[derive(Debug)]
pub struct ProcessHandle {
    info: ProcessInfo,
    myself: bool,
    /// `/proc/PID` as a directory: names opened through it are this process's, never those
    /// of a new process with the same pid.
    dir: OwnedFd,
    pidfd: OwnedFd,
    /// `/proc/PID/mem`, read-write when writing was allowed; its open checks ptrace attach
    /// access, so it may be refused where maps was not (the reason kept, in words).
    mem: Result<File, SysError>,
    writable: bool,
    maps: MapsFile,
    pagemap: File,
    smaps: File,
    gone: OnceLock<Gone>,
}

impl ProcessHandle {
    /// Opens process `pid`: its pidfd first, then its files, then checks it still lives (a
    /// pid reused in between would show as an exit of the process the pidfd holds).
    /// `write`: `mem` is opened read-write, for `--write`.
    ///
    /// # Errors
    /// No such process (ESRCH), a thread's id (EINVAL, naming its process), or no permission
    /// to read its maps, smaps or pagemap (the reason in words: another user, ptrace_scope).
    pub fn open(pid: u32, write: bool) -> Result<Self, SysError> {
        let raw = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| process::no_such_process(pid))?;
        // The pidfd first: a pid reused after it is taken shows as that process's exit.
        let pidfd = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty())
            .map_err(|e| pidfd_refusal(pid, e))?;
        let dir = rustix::fs::open(
            format!("/proc/{pid}").as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|_| process::no_such_process(pid))?;
        let status = open_in(&dir, "status", false)
            .and_then(|f| read_whole(&f))
            .map_err(|_| process::no_such_process(pid))?;
        let info = process::parse_status(pid, &status);
        // Neither a zombie nor a kernel thread has a memory of its own: maps reads empty and
        // pagemap will not open (ESRCH, fs/proc/task_mmu.c: no mm); say which it is.
        if let Some(e) = process::memoryless(&info, &status) {
            return Err(e);
        }
        let refused = |what: &str, e: std::io::Error| process::refusal(&info, what, &e);
        let maps = open_in(&dir, "maps", false).map_err(|e| refused("maps", e))?;
        let smaps = open_in(&dir, "smaps", false).map_err(|e| refused("smaps", e))?;
        let pagemap = open_in(&dir, "pagemap", false).map_err(|e| refused("pagemap", e))?;
        let mem = open_in(&dir, "mem", write).map_err(|e| refused("memory", e));
        if exited(&pidfd) {
            return Err(SysError::new(
                libc::ESRCH,
                format!("--pid {pid}"),
                "the process has exited (a zombie keeps its pid until its parent reaps it)",
            ));
        }
        Ok(Self {
            myself: pid == std::process::id(),
            writable: write && mem.is_ok(),
            info,
            dir,
            pidfd,
            mem,
            maps: MapsFile::from_maps(maps),
            pagemap,
            smaps,
            gone: OnceLock::new(),
        })
    }

    /// Our own process, to explore a VMA of ours: read-only (mmapscope never writes into its
    /// own memory outside the mapping it made).
    ///
    /// # Errors
    /// /proc unreadable.
    pub fn myself() -> Result<Self, SysError> {
        Self::open(std::process::id(), false)
    }

    /// Who the process is (as it was at open).
    pub fn info(&self) -> &ProcessInfo {
        &self.info
    }

    /// Its pid number.
    pub fn pid(&self) -> u32 {
        self.info.pid
    }

    /// Which /proc it is: ours or another's.
    pub(crate) fn which(&self) -> Pid {
        if self.myself {
            Pid::Myself
        } else {
            Pid::Other(self.info.pid)
        }
    }

    /// Why its bytes cannot be read, when `mem` could not be opened.
    pub fn mem_refusal(&self) -> Option<&SysError> {
        self.mem.as_ref().err()
    }

    /// `mem` was opened for writing (`--write`, another process).
    pub(crate) fn writable(&self) -> bool {
        self.writable && !self.myself
    }

    /// Whether the process is gone from under the handle, asked now: its pidfd (exited), and
    /// whether its memory as opened still answers (else: exec).
    pub fn status(&self) -> Option<Gone> {
        if let Some(g) = self.gone.get() {
            return Some(*g);
        }
        if exited(&self.pidfd) {
            return Some(self.mark(Gone::Exited));
        }
        // Only ESRCH (or an empty text) says the memory is gone; another failure says nothing.
        let answers = match self.maps.query(0, true) {
            Ok(_) => true,
            Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => {
                // No PROCMAP_QUERY (Linux < 6.11): the first byte of the maps text.
                match self.maps.file().read_at(&mut [0u8; 1], 0) {
                    Ok(n) => n > 0,
                    Err(e) => e.raw_os_error() != Some(libc::ESRCH),
                }
            }
            Err(e) => e.raw_os_error() != Some(libc::ESRCH),
        };
        if answers {
            None
        } else {
            Some(self.memory_gone())
        }
    }

    /// The handle's memory stopped answering: exited, or exec. The pidfd says exited; else,
    /// if the process still has memory through a fresh open of its directory's maps (or
    /// refuses us it, as after exec of a setuid program), it called exec; an empty one is a
    /// process on its way out.
    fn memory_gone(&self) -> Gone {
        if let Some(g) = self.gone.get() {
            return *g;
        }
        let execed = match open_in(&self.dir, "maps", false) {
            Ok(f) => f.read_at(&mut [0u8; 1], 0).is_ok_and(|n| n > 0),
            Err(e) => e.raw_os_error() == Some(libc::EACCES),
        };
        // Checked last: a process that exits after the maps read above is said to have exited.
        if exited(&self.pidfd) || !execed {
            self.mark(Gone::Exited)
        } else {
            self.mark(Gone::Execed)
        }
    }

    fn mark(&self, g: Gone) -> Gone {
        *self.gone.get_or_init(|| g)
    }

    /// Once gone, how (without asking the kernel again).
    pub fn gone(&self) -> Option<Gone> {
        self.gone.get().copied()
    }

    /// The refusal of anything done after the process went: `ctx`, and what happened.
    pub fn gone_error(&self, ctx: impl Into<String>) -> SysError {
        let pid = self.info.pid;
        match self.gone().unwrap_or_else(|| self.memory_gone()) {
            Gone::Exited => SysError::new(
                libc::ESRCH,
                ctx,
                format!(
                    "pid {pid} has exited: a process with the same pid now is another one, and \
                     mmapscope never reads or writes it"
                ),
            ),
            Gone::Execed => SysError::new(
                libc::ESRCH,
                ctx,
                format!(
                    "pid {pid} called exec: the memory mmapscope attached to is gone; the new \
                     program is not written (Enter reopens it)"
                ),
            ),
        }
    }

    /// Copies bytes at address `addr` into `buf` through `mem`; returns how many.
    ///
    /// # Errors
    /// EFAULT where nothing can be read (unmapped, beyond end of file); ESRCH once the
    /// process has exited or called exec; `mem` refused at open.
    pub(crate) fn read(&self, addr: u64, buf: &mut [u8]) -> Result<usize, SysError> {
        let ctx = || format!("read at 0x{addr:x}");
        let mem = self.mem.as_ref().map_err(Clone::clone)?;
        match mem.read_at(buf, addr) {
            // mem_rw: 0 bytes when the mm it holds has no users left (exit, exec).
            Ok(0) if !buf.is_empty() => Err(self.gone_error(ctx())),
            Ok(n) => Ok(n),
            Err(e) => Err(match e.raw_os_error() {
                // /proc/PID/mem says EIO where process_vm_readv says EFAULT.
                Some(libc::EFAULT | libc::EIO) => SysError::new(
                    libc::EFAULT,
                    ctx(),
                    "the page cannot be read: no PROT_READ, beyond end of file, or unmapped \
                     meanwhile (a load would have raised a signal)",
                ),
                _ => SysError::from_io(&e, ctx()),
            }),
        }
    }

    /// The VMA covering `addr` (with `next`: or the first after it), by PROCMAP_QUERY.
    ///
    /// # Errors
    /// ENOTTY before Linux 6.11; ESRCH once the process exited or called exec.
    pub(crate) fn query(&self, addr: u64, next: bool) -> Result<Option<MapsLine>, SysError> {
        let q = maps::query_line_with(&self.maps, addr, next);
        if q.as_ref().is_err_and(|e| e.errno == libc::ESRCH) {
            return Err(self.gone_error(format!("ioctl(PROCMAP_QUERY, 0x{addr:x})")));
        }
        q
    }

    /// Every line of its maps, read through the handle (none once it exited or called exec).
    ///
    /// # Errors
    /// ESRCH once it has exited and been reaped; the read's failure.
    pub fn maps(&self) -> Result<Vec<MapsLine>, SysError> {
        // Empty once its memory is gone, as for a kernel thread (`status` tells which).
        read_whole(self.maps.file())
            .map(|text| maps::parse_maps(&text))
            .map_err(|e| self.read_error(&e, "maps"))
    }

    fn read_error(&self, e: &std::io::Error, what: &str) -> SysError {
        if e.raw_os_error() == Some(libc::ESRCH) {
            self.gone_error(format!("read /proc/{}/{what}", self.info.pid))
        } else {
            SysError::from_io(e, format!("read /proc/{}/{what}", self.info.pid))
        }
    }

    /// Its smaps from offset 0 through the handle, fed to `parser` until it wants no more
    /// (the kernel then walks no VMA after the last one wanted).
    fn feed_smaps(&self, parser: &mut SmapsParser) -> Result<(), SysError> {
        let mut at = 0u64;
        let mut any = false;
        maps::feed_lines(
            |buf| {
                let n = self.smaps.read_at(buf, at)?;
                at += n as u64;
                Ok(n)
            },
            |line| {
                any = true;
                parser.feed(line)
            },
        )
        .map_err(|e| self.read_error(&e, "smaps"))?;
        if any {
            Ok(())
        } else {
            Err(self.gone_error(format!("read /proc/{}/smaps", self.info.pid)))
        }
    }

    /// The smaps entries of every VMA overlapping `[start, end)`, in address order.
    ///
    /// # Errors
    /// ESRCH once it exited or called exec; the read's failure.
    pub fn vmas(&self, start: u64, end: u64) -> Result<Vec<Vma>, SysError> {
        let mut parser = SmapsParser::new(start, end);
        self.feed_smaps(&mut parser)?;
        Ok(parser.finish())
    }

    /// Every VMA with its maps line, from one read of smaps (the address-space view).
    ///
    /// # Errors
    /// As `vmas`.
    pub(crate) fn space(&self) -> Result<(Vec<Vma>, Vec<MapsLine>), SysError> {
        let mut parser = SmapsParser::with_lines(0, u64::MAX);
        self.feed_smaps(&mut parser)?;
        Ok(parser.finish_with_lines())
    }
}

impl ProcessHandle {
    /// Its threads and their stack pointers (`sys::proc::rss::thread_sps`), through its
    /// `/proc/PID` directory.
    ///
    /// # Errors
    /// Its task directory could not be listed (it exited).
    pub fn thread_sps(&self) -> Result<Vec<crate::sys::proc::rss::ThreadSp>, SysError> {
        crate::sys::proc::rss::thread_sps(&self.dir)
    }

    /// `vmas` (its VMAs) with glibc's arenas (inferred) and its threads' stacks named; and
    /// what could not be found, in words.
    pub fn labelled(
        &self,
        mut vmas: Vec<crate::sys::proc::process::VmaSummary>,
    ) -> (Vec<crate::sys::proc::process::VmaSummary>, Option<String>) {
        use crate::sys::proc::rss;
        rss::label_arenas(&mut vmas);
        let note = match self.thread_sps() {
            Ok(threads) => rss::label_threads(&mut vmas, &threads, self.pid()),
            Err(e) => Some(format!("thread stacks not found: {e}")),
        };
        (vmas, note)
    }

    /// Its `smaps_rollup`: the kernel's sums over every VMA, read now.
    ///
    /// # Errors
    /// ESRCH once it exited or called exec; the read's failure.
    pub fn rollup(&self) -> Result<Vma, SysError> {
        let file = open_in(&self.dir, "smaps_rollup", false)
            .map_err(|e| self.read_error(&e, "smaps_rollup"))?;
        let text = read_whole(&file).map_err(|e| self.read_error(&e, "smaps_rollup"))?;
        crate::sys::proc::rss::parse_rollup(&text)
            .map_err(|_| self.gone_error(format!("read /proc/{}/smaps_rollup", self.info.pid)))
    }

    /// A descriptor of its pagemap (the same open file: the same memory), for a prober.
    ///
    /// # Errors
    /// dup failed.
    pub(crate) fn pagemap(&self) -> Result<File, SysError> {
        self.pagemap
            .try_clone()
            .map_err(|e| SysError::from_io(&e, "dup pagemap"))
    }

    /// The program's executable path as maps writes it (for the kinds of VMAs).
    pub fn exe(&self) -> String {
        rustix::fs::readlinkat(&self.dir, "exe", Vec::new())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Its command line (`/proc/PID/cmdline` through the handle), one argument a string (bytes
    /// that are not UTF-8 replaced); empty for a kernel thread or once it is gone.
    pub fn cmdline(&self) -> Vec<String> {
        let mut bytes = Vec::new();
        let read = open_in(&self.dir, "cmdline", false)
            .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut bytes));
        if read.is_err() {
            return Vec::new();
        }
        bytes
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// Whether `len` bytes at `addr` lie wholly in VMAs the process may write (`w` in their
    /// permissions), asked through the handle's maps: a write through `mem` uses FOLL_FORCE
    /// and would go into a read-only page too, so nothing is written elsewhere.
    ///
    /// # Errors
    /// EACCES naming the VMA that is not writable; EFAULT for a hole; ESRCH once gone.
    pub(crate) fn check_write(&self, addr: u64, len: u64) -> Result<(), SysError> {
        let ctx = || format!("write {len} B at 0x{addr:x} into pid {}", self.info.pid);
        let end = addr
            .checked_add(len)
            .ok_or_else(|| SysError::new(libc::EINVAL, ctx(), "the range wraps around"))?;
        let mut lines = None;
        let mut at = addr;
        while at < end {
            let vma = match self.query(at, false) {
                Err(e) if e.errno == libc::ENOTTY => {
                    let all = lines.get_or_insert(self.maps()?);
                    all.iter()
                        .find(|l: &&MapsLine| (l.start..l.end).contains(&at))
                        .cloned()
                }
                other => other?,
            };
            let Some(vma) = vma else {
                return Err(SysError::new(
                    libc::EFAULT,
                    ctx(),
                    format!("nothing is mapped at 0x{at:x}: the process could not store there"),
                ));
            };
            if vma.perms.as_bytes().get(1) != Some(&b'w') {
                return Err(SysError::new(
                    libc::EACCES,
                    ctx(),
                    format!(
                        "0x{:x}-0x{:x} is {} in the process: it could not store there itself, so \
                         mmapscope does not either (a write through /proc/PID/mem would force it)",
                        vma.start, vma.end, vma.perms
                    ),
                ));
            }
            at = vma.end;
        }
        Ok(())
    }

    /// Writes `data` at `addr` through `mem`, all or nothing: only after `check_write`, with
    /// the bytes that were there read first (returned); a write cut short puts back what
    /// landed.
    ///
    /// # Errors
    /// EACCES when not opened for writing or not writable there; ESRCH once gone; the
    /// kernel's refusal. The sentence says how many bytes landed: 0, unless putting back
    /// failed too.
    pub(crate) fn write(&self, addr: u64, data: &[u8]) -> Result<Vec<u8>, SysError> {
        let ctx = || {
            format!(
                "write {} B at 0x{addr:x} into pid {}",
                data.len(),
                self.info.pid
            )
        };
        let nothing = |mut e: SysError| {
            e.explanation = format!("{}; nothing was written (0 bytes landed)", e.explanation);
            e
        };
        if !self.writable() {
            return Err(nothing(SysError::new(
                libc::EACCES,
                ctx(),
                "the process was opened read-only",
            )));
        }
        if self.status().is_some() {
            return Err(nothing(self.gone_error(ctx())));
        }
        self.check_write(addr, data.len() as u64).map_err(nothing)?;
        let mut old = vec![0u8; data.len()];
        let got = self.read(addr, &mut old).map_err(nothing)?;
        if got < old.len() {
            return Err(nothing(SysError::new(
                libc::EFAULT,
                ctx(),
                format!("only {got} of {} bytes there can be read back", data.len()),
            )));
        }
        let mem = self.mem.as_ref().map_err(|e| nothing(e.clone()))?;
        let landed = match mem.write_at(data, addr) {
            Ok(n) if n == data.len() => return Ok(old),
            Ok(n) => n,
            Err(e) => return Err(nothing(SysError::from_io(&e, ctx()))),
        };
        Err(self.put_back(addr, &old[..landed], data.len(), ctx()))
    }

    /// After a write cut short at `old.len()` of `asked` bytes: the bytes that were there put
    /// back, and the error saying so.
    fn put_back(&self, addr: u64, old: &[u8], asked: usize, ctx: String) -> SysError {
        let restored = self
            .mem
            .as_ref()
            .is_ok_and(|m| m.write_at(old, addr).is_ok_and(|n| n == old.len()));
        let landed = if restored { 0 } else { old.len() };
        SysError::new(
            libc::EFAULT,
            ctx,
            format!(
                "only {} of {asked} bytes could be written ({}); {landed} bytes landed",
                old.len(),
                if restored {
                    "they were put back"
                } else {
                    "putting them back failed"
                }
            ),
        )
    }

    /// The file a VMA maps, for cachestat and its size: through `map_files/` (any file, a
    /// deleted one too; root only), else its path once device and inode match the maps line.
    /// Each is looked at before it is opened (a FIFO, a socket or a device other than
    /// /dev/zero is never opened), opened without blocking, and classified again on the
    /// descriptor.
    ///
    /// # Errors
    /// A sentence saying why there is no file to ask.
    pub(crate) fn open_mapped(&self, line: &MapsLine) -> Result<(File, FileKind), String> {
        let via = format!("map_files/{:x}-{:x}", line.start, line.end);
        let first = match open_checked(Some(&self.dir), &via, line) {
            Ok(found) => return Ok(found),
            Err(why) => why,
        };
        let path = line.path.trim_end_matches(" (deleted)");
        open_checked(None, path, line).map_err(|why| {
            format!(
                "neither /proc/{}/{via} ({first}) nor the path ({why}) gives the file",
                self.info.pid
            )
        })
    }
}

/// What kind of mappable file `st` describes, or why mmapscope does not open it.
fn kind_of(st: &rustix::fs::Stat) -> Result<FileKind, String> {
    let rdev = st.st_rdev;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Ok(FileKind::Regular),
        FileType::BlockDevice => Ok(FileKind::Block),
        FileType::CharacterDevice if is_dev_zero(rdev) => Ok(FileKind::Zero),
        FileType::CharacterDevice => Err(format!(
            "a character device ({}:{}), which mmapscope does not open: opening one can have \
             side effects",
            rustix::fs::major(rdev),
            rustix::fs::minor(rdev)
        )),
        FileType::Fifo => Err("a FIFO, not the file mapped".into()),
        FileType::Socket => Err("a socket, not the file mapped".into()),
        FileType::Directory => Err("a directory, not the file mapped".into()),
        _ => Err("not a file that can be mapped".into()),
    }
}

/// Opens `name` (in `dir`, else a path) for reading if it is the file of `line`: stat first
/// (a FIFO, socket or device is never opened), then open non-blocking, then fstat the
/// descriptor (what was opened, not what the name meant a moment before) and match the
/// device and inode of the maps line.
fn open_checked(
    dir: Option<&OwnedFd>,
    name: &str,
    line: &MapsLine,
) -> Result<(File, FileKind), String> {
    let at = dir.map_or(rustix::fs::CWD, std::os::fd::AsFd::as_fd);
    let named = rustix::fs::statat(at, name, rustix::fs::AtFlags::empty())
        .map_err(|e| std::io::Error::from(e).to_string())?;
    kind_of(&named)?;
    let fd = rustix::fs::openat(
        at,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| std::io::Error::from(e).to_string())?;
    let st = rustix::fs::fstat(&fd).map_err(|e| format!("fstat: {e}"))?;
    let kind = kind_of(&st)?;
    if (st.st_dev, st.st_ino) != (line.dev, line.inode) {
        return Err(
            "it names another file than the one mapped (device and inode differ from maps)".into(),
        );
    }
    Ok((File::from(fd), kind))
}

/// What a mark with `--track-access` asks of the process (`sys::track::access`).
impl ProcessHandle {
    /// Clears the accessed bits of every page of the process (`clear_refs` 1, Documentation/
    /// admin-guide/mm/soft-dirty.rst and proc.rst): from now on smaps `Referenced` counts what
    /// it touched since. Opened through the handle's `/proc/PID` directory, never by a path a
    /// reused pid could redirect, after asking whether it exited or called exec. It changes
    /// the order in which the kernel reclaims the process's pages: only the write gate's
    /// `clear_refs_refusal` (consent: `--track-access`) lets a caller here.
    ///
    /// # Errors
    /// ESRCH once it exited or called exec; EACCES/EPERM without ptrace access.
    pub(crate) fn clear_referenced(&self) -> Result<(), SysError> {
        if self.status().is_some() {
            return Err(self.gone_error("clear_refs"));
        }
        let file = rustix::fs::openat(
            &self.dir,
            "clear_refs",
            OFlags::WRONLY | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map(File::from)
        .map_err(|e| SysError::from_rustix(e, format!("open /proc/{}/clear_refs", self.pid())))?;
        file.write_at(b"1", 0)
            .map(|_| ())
            .map_err(|e| SysError::from_io(&e, format!("write /proc/{}/clear_refs", self.pid())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_handle_reads_maps_smaps_and_bytes_and_never_writes() {
        let h = ProcessHandle::myself().expect("our own handle");
        assert_eq!(h.which(), Pid::Myself);
        assert_eq!(h.status(), None, "we live");
        let maps = h.maps().expect("maps");
        let local = [1u8, 2, 3, 4];
        let addr = local.as_ptr() as u64;
        let stack = maps
            .iter()
            .find(|l| (l.start..l.end).contains(&addr))
            .expect("our stack is mapped");
        let mut buf = [0u8; 4];
        assert_eq!(h.read(addr, &mut buf).expect("read"), 4);
        assert_eq!(buf, local);
        let vmas = h.vmas(stack.start, stack.end).expect("smaps");
        assert_eq!(vmas.len(), 1);
        assert!(vmas[0].memory.rss > 0);
        let (all, lines) = h.space().expect("space");
        assert_eq!(all.len(), lines.len());
        assert!(lines.iter().any(|l| l.start == stack.start));
        match h.query(addr, false) {
            Ok(q) => assert_eq!(q.map(|l| l.start), Some(stack.start)),
            Err(e) => assert_eq!(e.errno, libc::ENOTTY, "only before Linux 6.11: {e}"),
        }
        let err = h.write(addr, &[9]).expect_err("never into ourselves");
        assert_eq!(err.errno, libc::EACCES, "{err}");
        assert!(err.explanation.contains("0 bytes landed"), "{err}");
        assert_eq!(local, [1, 2, 3, 4]);
        std::hint::black_box(&local);
    }

    #[test]
    fn a_threads_id_names_its_process() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(rustix::thread::gettid().as_raw_nonzero().get())
                .expect("send");
            let _ = wait.recv();
        });
        let tid = u32::try_from(rx.recv().expect("tid")).expect("positive");
        let err = ProcessHandle::open(tid, false).expect_err("a thread");
        drop(done);
        t.join().expect("join");
        assert_eq!(err.errno, libc::EINVAL, "{err}");
        assert!(
            err.explanation
                .contains(&format!("thread of process {}", std::process::id())),
            "{err}"
        );
        assert_eq!(
            ProcessHandle::open(u32::MAX - 1, false)
                .expect_err("none")
                .errno,
            libc::ESRCH
        );
    }

    #[test]
    fn check_write_names_the_vma_that_is_not_writable() {
        let h = ProcessHandle::myself().expect("our own handle");
        let exe = std::fs::read_link("/proc/self/exe").expect("exe");
        let maps = h.maps().expect("maps");
        let text = maps
            .iter()
            .find(|l| std::path::Path::new(&l.path) == exe && !l.perms.contains('w'))
            .expect("a read-only VMA of our program");
        let err = h.check_write(text.start, 1).expect_err("read-only");
        assert_eq!(err.errno, libc::EACCES, "{err}");
        assert!(err.explanation.contains(&text.perms), "{err}");
        let local = [0u8; 8];
        assert!(h.check_write(local.as_ptr() as u64, 8).is_ok(), "our stack");
        assert_eq!(
            h.check_write(0, 1).expect_err("nothing").errno,
            libc::EFAULT
        );
        std::hint::black_box(&local);
    }

    #[test]
    fn a_fifo_or_a_device_is_never_opened_as_a_mapped_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("f");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        let st = rustix::fs::stat(&fifo).expect("stat");
        let line = MapsLine {
            start: 0x1000,
            end: 0x2000,
            perms: "r--s".into(),
            offset: 0,
            dev: st.st_dev,
            inode: st.st_ino,
            path: fifo.to_string_lossy().into_owned(),
        };
        // Without O_NONBLOCK this open would wait for a writer forever.
        let err = open_checked(None, &line.path, &line).expect_err("a FIFO");
        assert!(err.contains("FIFO"), "{err}");
        let tty = rustix::fs::stat("/dev/null").expect("stat");
        let null = MapsLine {
            dev: tty.st_dev,
            inode: tty.st_ino,
            path: "/dev/null".into(),
            ..line
        };
        let err = open_checked(None, "/dev/null", &null).expect_err("a character device");
        assert!(err.contains("character device (1:3)"), "{err}");
    }
}
