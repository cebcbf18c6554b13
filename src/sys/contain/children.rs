//! The processes we start, and how none of them outlives us. A code child (`exec`, `x`) runs
//! mapped bytes that may loop, crash or fork: `CodeChild` owns its deadline (this process's
//! clock, not the child's `alarm`, which a parent's ignored or blocked SIGALRM would pass on),
//! kills its whole process group at the deadline and after every end (a snippet's forked
//! grandchildren outlive it otherwise), reads its result without ever blocking, and reaps it.
//! Each registers its group in `exit`'s registry while it runs, for the exits that skip
//! destructors (the TUI's watchdog, a fatal signal in batch mode).
//!
//! The keeper (`fork`, `F`) is a forked copy of this process that keeps every mapping and
//! waits for orders (`Keeper`): it reads and writes its own copy of our mapping, so that
//! copy-on-write after fork can be shown. It dies with us (PR_SET_PDEATHSIG, `exit`'s
//! registry, and `Keeper`'s Drop), answers within a deadline or is
//! killed, and is reaped on `child exit`, on quit and on every other way out.
//!
//! What this cannot reach: a descendant that leaves the process group (setsid, setpgid) before
//! the group kill. If it spins, the hard RLIMIT_CPU every descendant inherits (3 s) ends it;
//! if it sleeps, it lives on until it exits. A cgroup would hold it, but needs privileges and a
//! writable cgroup tree we cannot count on.

use std::os::fd::{AsFd as _, OwnedFd};
use std::time::{Duration, Instant};

use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitOptions};

use crate::sys::error::SysError;
use crate::sys::proc::process::stat_ids;

/// How long mapped code may run before its process group is killed.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// In a result's JSON: `{"returned": 42}`, `{"signal": "SIGSEGV"}`, `{"timed_out": true,
/// "signal": "SIGKILL"}` or `{"exit_status": 3}`.
impl serde::Serialize for ChildEnd {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(None)?;
        match self {
            Self::Returned(v) => m.serialize_entry("returned", v)?,
            Self::Signal(sig) => m.serialize_entry("signal", &signal_name(*sig))?,
            Self::TimedOut => {
                m.serialize_entry("timed_out", &true)?;
                m.serialize_entry("signal", &signal_name(libc::SIGKILL))?;
            }
            Self::Exited(code) => m.serialize_entry("exit_status", code)?,
        }
        m.end()
    }
}

/// How code run by `Region::spawn_code` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    /// The function returned this value (rax / x0).
    Returned(u64),
    /// A signal killed the child (SIGSEGV without PROT_EXEC, SIGBUS past EOF, SIGILL for
    /// garbage; SIGALRM only when this process could not keep the deadline, being stopped).
    Signal(i32),
    /// It ran past `children::CALL_TIMEOUT`: this process killed it and its process group
    /// with SIGKILL.
    TimedOut,
    /// The child exited without reporting a value (the code called exit itself).
    Exited(i32),
}

/// The name of a signal number (`SIGSEGV`).
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGALRM => "SIGALRM".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGTRAP => "SIGTRAP".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// How a code child ended, and what ended with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reaped {
    pub(crate) end: ChildEnd,
    /// Other processes of its group (forked by the code) still alive at its end: killed.
    pub(crate) group_killed: usize,
}

/// A forked child running mapped code, until it is reaped. Dropping it kills its process
/// group and reaps it.
#[derive(Debug)]
pub(crate) struct CodeChild {
    pid: Pid,
    /// Read end of the result pipe, non-blocking.
    reader: OwnedFd,
    /// Readable when the child has ended (Linux >= 5.3); without it, short sleeps.
    pidfd: Option<OwnedFd>,
    started: Instant,
    reaped: bool,
}

impl CodeChild {
    /// Takes charge of `pid`, just forked and not yet reaped, whose result comes on `reader`.
    pub(crate) fn adopt(pid: Pid, reader: OwnedFd) -> Self {
        // The child makes the same call: whichever runs first, the group exists before
        // anyone signals it (setpgid(2), the classic job-control race).
        let _ = rustix::process::setpgid(Some(pid), Some(pid));
        let me = pid.as_raw_nonzero().get();
        crate::sys::contain::exit::track_group(me);
        let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty()).ok();
        Self {
            pid,
            reader,
            pidfd,
            started: Instant::now(),
            reaped: false,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get().cast_unsigned()
    }

    /// When it was started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// Without blocking: `Some` once the child has ended, or when the deadline has passed (it
    /// is then killed, with its group); `None` while it runs.
    ///
    /// # Errors
    /// waitid/waitpid failures.
    pub(crate) fn try_end(&mut self) -> Result<Option<Reaped>, SysError> {
        if self.reaped {
            return Err(SysError::new(
                libc::ECHILD,
                "exec",
                "the child was reaped already",
            ));
        }
        // WNOWAIT: look without reaping, so that the pid (our group's id) stays ours until the
        // group has been killed.
        let ended = rustix::process::waitid(
            WaitId::Pid(self.pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
        )
        .map_err(|e| SysError::from_rustix(e, "waitid"))?
        .is_some();
        if ended {
            return self.finish(false).map(Some);
        }
        if self.started.elapsed() >= CALL_TIMEOUT {
            return self.finish(true).map(Some);
        }
        Ok(None)
    }

    /// Blocks until the child ends or the deadline passes (then it is killed, with its group).
    ///
    /// # Errors
    /// waitid/waitpid failures.
    pub(crate) fn wait(mut self) -> Result<Reaped, SysError> {
        loop {
            if let Some(reaped) = self.try_end()? {
                return Ok(reaped);
            }
            let left = CALL_TIMEOUT.saturating_sub(self.started.elapsed());
            match &self.pidfd {
                Some(fd) => {
                    let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
                    let timeout = rustix::event::Timespec {
                        tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                        tv_nsec: i64::from(left.subsec_nanos()),
                    };
                    // EINTR or a spurious wake: the loop looks again.
                    let _ = rustix::event::poll(&mut fds, Some(&timeout));
                }
                None => std::thread::sleep(left.min(Duration::from_millis(5))),
            }
        }
    }

    /// Kills the group (after a normal end too: what the code forked may live on), reaps the
    /// child and reads its result.
    fn finish(&mut self, timed_out: bool) -> Result<Reaped, SysError> {
        let me = self.pid.as_raw_nonzero().get();
        // Until the child is reaped, its pid is our group's id and cannot name anyone else's.
        let group_killed = group_members(me).iter().filter(|&&p| p != me).count();
        let _ = rustix::process::kill_process_group(self.pid, Signal::KILL);
        // The child itself too, should it not have made its group yet.
        let _ = rustix::process::kill_process(self.pid, Signal::KILL);
        crate::sys::contain::exit::untrack_group(me);
        let status = loop {
            match rustix::process::waitpid(Some(self.pid), WaitOptions::empty()) {
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    self.reaped = true;
                    return Err(SysError::from_rustix(e, "waitpid"));
                }
                Ok(None) => {}
                Ok(Some((_, status))) => break status,
            }
        };
        self.reaped = true;
        let mut value = [0u8; 8];
        let got = rustix::io::read(&self.reader, &mut value).unwrap_or(0);
        let end = match status.terminating_signal() {
            Some(sig) if timed_out && sig == libc::SIGKILL => ChildEnd::TimedOut,
            Some(sig) => ChildEnd::Signal(sig),
            None if got == value.len() => ChildEnd::Returned(u64::from_le_bytes(value)),
            None => ChildEnd::Exited(status.exit_status().unwrap_or(0)),
        };
        Ok(Reaped { end, group_killed })
    }
}

impl Drop for CodeChild {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.finish(true);
        }
    }
}

/// How long the keeper may take to answer an order, or to exit when told, before it is killed.
pub(crate) const KEEPER_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the keeper's copy of our mapping lies, as it was at the fork: its pid, the address
/// (in the keeper) and the pages. A later remap or mremap of ours does not reach the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildSpec {
    pub(crate) pid: u32,
    pub(crate) addr: u64,
    pub(crate) pages: u64,
    /// Our mapping is still the object the child copied (false once we mapped anonymous
    /// memory afresh: then nothing of it can be shared with the child).
    pub(crate) same_object: bool,
    /// The child's copy is a MAP_SHARED mapping (as ours was at the fork; it keeps it
    /// whatever ours becomes): its stores reach the object behind it, a file's too.
    pub shared: bool,
}

/// The keeper: a forked child that keeps every mapping of ours and serves orders (read or
/// write its own copy of the mapping, exit) over two pipes. Dropping it kills and reaps it.
#[derive(Debug)]
pub struct Keeper {
    pid: Pid,
    /// Write end of the order pipe (closing it ends the child).
    orders: OwnedFd,
    /// Read end of the answer pipe.
    answers: OwnedFd,
    spec: ChildSpec,
    /// Its /proc/PID/pagemap, opened at the fork (same user: no privilege needed).
    pagemap: Result<crate::sys::raw::Pagemap, SysError>,
    reaped: bool,
}

/// How a process ended, in words: `exited with status 0`, `killed by SIGKILL`.
fn how_it_ended(status: rustix::process::WaitStatus) -> String {
    match (status.exit_status(), status.terminating_signal()) {
        (_, Some(sig)) => format!("killed by {}", signal_name(sig)),
        (Some(code), None) => format!("exited with status {code}"),
        (None, None) => "ended".into(),
    }
}

impl Keeper {
    /// Takes charge of `pid`, just forked by `raw::Mapping::fork_keeper`, with our ends of its
    /// pipes; `addr`, `pages` and `shared` describe its copy of the mapping.
    pub(crate) fn adopt(
        pid: Pid,
        (orders, answers): (OwnedFd, OwnedFd),
        (addr, pages): (u64, u64),
        shared: bool,
    ) -> Self {
        let raw = pid.as_raw_nonzero().get();
        crate::sys::contain::exit::track_keeper(raw);
        let pagemap = crate::sys::raw::Pagemap::of(raw.cast_unsigned())
            .map_err(|e| SysError::from_io(&e, format!("open /proc/{raw}/pagemap")));
        Self {
            pid,
            orders,
            answers,
            spec: ChildSpec {
                pid: raw.cast_unsigned(),
                addr,
                pages,
                same_object: true,
                shared,
            },
            pagemap,
            reaped: false,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.spec.pid
    }

    /// Its copy of the mapping.
    pub(crate) fn spec(&self) -> ChildSpec {
        self.spec
    }

    /// Our mapping was replaced by one the child never saw (anonymous memory mapped afresh):
    /// nothing of ours is shared with it any more.
    pub(crate) fn detach(&mut self) {
        self.spec.same_object = false;
    }

    /// Its pagemap, or why it could not be opened.
    ///
    /// # Errors
    /// The open's failure.
    pub(crate) fn pagemap(&self) -> Result<&crate::sys::raw::Pagemap, &SysError> {
        self.pagemap.as_ref()
    }

    fn check(&self, off: u64, len: usize, what: &str) -> Result<(), SysError> {
        let bytes = self.spec.pages * rustix::param::page_size() as u64;
        if len == 0 || len > crate::sys::raw::KEEPER_DATA {
            return Err(SysError::new(
                libc::EINVAL,
                format!("child {what}"),
                format!("give 1 to {} bytes at a time", crate::sys::raw::KEEPER_DATA),
            ));
        }
        if off.checked_add(len as u64).is_none_or(|end| end > bytes) {
            return Err(SysError::new(
                libc::EINVAL,
                format!("child {what} at 0x{off:x}"),
                format!(
                    "the child's copy of the mapping is 0x{bytes:x} bytes (as it was at the fork)"
                ),
            ));
        }
        Ok(())
    }

    /// Sends one order and waits (up to `KEEPER_TIMEOUT`) for its answer: (result, old-bytes
    /// result, data). A child that does not answer in time is killed.
    fn ask(
        &mut self,
        kind: u64,
        off: u64,
        data: &[u8],
        len: usize,
    ) -> Result<(i64, i64, Vec<u8>), SysError> {
        use crate::sys::raw::{ANSWER_LEN, ORDER_LEN};
        if self.reaped {
            return Err(SysError::new(libc::ESRCH, "child", "the child has ended"));
        }
        let mut order = vec![0u8; ORDER_LEN];
        order[..8].copy_from_slice(&kind.to_le_bytes());
        order[8..16].copy_from_slice(&off.to_le_bytes());
        order[16..24].copy_from_slice(&(len as u64).to_le_bytes());
        order[24..24 + data.len()].copy_from_slice(data);
        let gone = |e: rustix::io::Errno| {
            SysError::new(
                e.raw_os_error(),
                "child",
                "the child is gone (its order pipe is closed)",
            )
        };
        let mut put = 0;
        while put < order.len() {
            match rustix::io::write(&self.orders, &order[put..]) {
                Ok(n) => put += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(gone(e)),
            }
        }
        let mut answer = vec![0u8; ANSWER_LEN];
        let deadline = Instant::now() + KEEPER_TIMEOUT;
        let mut got = 0;
        while got < answer.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let _ = rustix::process::kill_process(self.pid, Signal::KILL);
                return Err(SysError::new(
                    libc::ETIMEDOUT,
                    "child",
                    format!(
                        "the child did not answer within {} s: killed",
                        KEEPER_TIMEOUT.as_secs()
                    ),
                ));
            }
            let mut fds = [rustix::event::PollFd::new(
                &self.answers,
                rustix::event::PollFlags::IN,
            )];
            let timeout = rustix::event::Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            // EINTR or a spurious wake: the loop looks again.
            if rustix::event::poll(&mut fds, Some(&timeout)).unwrap_or(0) == 0 {
                continue;
            }
            match rustix::io::read(self.answers.as_fd(), &mut answer[got..]) {
                Ok(0) => return Err(gone(rustix::io::Errno::PIPE)),
                Ok(n) => got += n,
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(e) => return Err(gone(e)),
            }
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&answer[i * 8..i * 8 + 8]);
            i64::from_le_bytes(w)
        };
        Ok((word(0), word(1), answer[16..16 + len].to_vec()))
    }

    /// The error for a failed access in the child's copy.
    fn refused(errno: i32, what: &str, off: u64) -> SysError {
        let why = match errno {
            libc::EFAULT | libc::EIO => {
                "the child's page cannot be accessed: beyond end of file, cut off by a truncate, \
                or its protection forbids it (in the child a load or store there would raise \
                SIGBUS or SIGSEGV; process_vm_readv/writev refused instead)"
            }
            _ => crate::sys::error::errno_sentence(errno),
        };
        SysError::new(errno, format!("child {what} at 0x{off:x}"), why)
    }

    /// The child reads `len` bytes of its copy of the mapping at offset `off`.
    ///
    /// # Errors
    /// Outside its copy, a page it cannot read (EFAULT), or the child gone or silent.
    pub fn read(&mut self, off: u64, len: usize) -> Result<Vec<u8>, SysError> {
        self.check(off, len, "read")?;
        let (done, _, data) = self.ask(crate::sys::raw::ORDER_READ, off, &[], len)?;
        match usize::try_from(done) {
            Ok(n) => Ok(data[..n.min(len)].to_vec()),
            Err(_) => Err(Self::refused(
                i32::try_from(-done).unwrap_or(libc::EIO),
                "read",
                off,
            )),
        }
    }

    /// The child writes `data` into its copy of the mapping at offset `off`, as a store
    /// would (copy-on-write in a private mapping). Returns the bytes that were there.
    ///
    /// # Errors
    /// Outside its copy, a page it cannot write (EFAULT), or the child gone or silent.
    pub fn write(&mut self, off: u64, data: &[u8]) -> Result<Vec<u8>, SysError> {
        self.check(off, data.len(), "write")?;
        let (done, old, before) = self.ask(crate::sys::raw::ORDER_WRITE, off, data, data.len())?;
        match usize::try_from(done) {
            Ok(n) if n == data.len() => Ok(if old == done {
                before
            } else {
                vec![0; data.len()]
            }),
            Ok(n) => Err(self.undo_short_write(off, n, (old, &before), data.len())),
            Err(_) => Err(Self::refused(
                i32::try_from(-done).unwrap_or(libc::EIO),
                "write",
                off,
            )),
        }
    }

    /// A write that stopped after `n` of `len` bytes (a page cut off by a truncate between
    /// the check and the store): all or nothing, so the `n` bytes that landed are put back
    /// from what the child read there first (`old` bytes of `before`). The error says how
    /// many bytes stayed (0, unless putting them back failed too).
    fn undo_short_write(
        &mut self,
        off: u64,
        n: usize,
        (old, before): (i64, &[u8]),
        len: usize,
    ) -> SysError {
        let restored = n == 0
            || (usize::try_from(old).is_ok_and(|o| o >= n)
                && matches!(self.ask(crate::sys::raw::ORDER_WRITE, off, &before[..n], n),
                    Ok((d, ..)) if usize::try_from(d) == Ok(n)));
        let landed = if restored { 0 } else { n };
        SysError::new(
            libc::EFAULT,
            format!("child write at 0x{off:x}"),
            format!(
                "only {n} of {len} bytes could be stored (the rest lies beyond end of file or \
                 on a page that cannot be written), so nothing was written: {landed} bytes \
                 landed{}",
                if restored {
                    ""
                } else {
                    " (they could not be put back)"
                }
            ),
        )
    }

    /// Tells the child to exit, waits for it (killing it after `KEEPER_TIMEOUT`) and reaps it.
    /// Returns how it ended.
    ///
    /// # Errors
    /// waitpid's failure.
    pub fn exit(mut self) -> Result<String, SysError> {
        let mut order = vec![0u8; crate::sys::raw::ORDER_LEN];
        order[..8].copy_from_slice(&crate::sys::raw::ORDER_EXIT.to_le_bytes());
        // A child already gone cannot read it; the wait below says how it ended.
        let _ = rustix::io::write(&self.orders, &order);
        let start = Instant::now();
        while !self.has_ended() && start.elapsed() < KEEPER_TIMEOUT {
            std::thread::sleep(Duration::from_millis(2));
        }
        self.reap()
    }

    /// Whether the child has ended (without reaping it: its pid stays ours).
    fn has_ended(&self) -> bool {
        !self.reaped
            && rustix::process::waitid(
                WaitId::Pid(self.pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
            )
            .is_ok_and(|s| s.is_some())
    }

    /// If the child has ended on its own (killed from outside): reaps it and says how.
    pub(crate) fn ended(&mut self) -> Option<String> {
        if !self.has_ended() {
            return None;
        }
        self.reap().ok()
    }

    /// Forgets the pid in `exit`'s registry, kills the child (if it still runs) and reaps it.
    fn reap(&mut self) -> Result<String, SysError> {
        let me = self.pid.as_raw_nonzero().get();
        // Forgotten first: once reaped, the pid may name someone else.
        crate::sys::contain::exit::untrack_keeper(me);
        let _ = rustix::process::kill_process(self.pid, Signal::KILL);
        self.reaped = true;
        loop {
            match rustix::process::waitpid(Some(self.pid), WaitOptions::empty()) {
                Err(rustix::io::Errno::INTR) | Ok(None) => {}
                Err(e) => return Err(SysError::from_rustix(e, "waitpid")),
                Ok(Some((_, status))) => return Ok(how_it_ended(status)),
            }
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.reap();
        }
    }
}

/// The live (not zombie) processes in process group `pgid`, from field 5 of /proc/PID/stat
/// (proc_pid_stat(5)).
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat_state_and_group(pid).is_some_and(|(s, g)| g == pgid && s != 'Z'))
        .collect()
}

/// (state, process group) of `pid`.
fn stat_state_and_group(pid: i32) -> Option<(char, i32)> {
    let ids = stat_ids(&pid.to_string())?;
    Some((ids.state, ids.pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_group_lists_us() {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        // Read from /proc: rustix's getpgid panics on a group outside our PID namespace (0).
        let ids = stat_ids("self").unwrap();
        assert!(matches!(ids.state, 'R' | 'S'), "{ids:?}");
        assert_eq!(ids.ppid, std::os::unix::process::parent_id() as i32);
        if ids.pgrp > 0 {
            assert!(group_members(ids.pgrp).contains(&me));
        }
        assert_eq!(stat_state_and_group(me).map(|(_, g)| g), Some(ids.pgrp));
    }
}
