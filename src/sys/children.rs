//! The processes we start, and how none of them outlives us. A code child (`exec`, `x`) runs
//! mapped bytes that may loop, crash or fork: `CodeChild` owns its deadline (this process's
//! clock, not the child's `alarm`, which a parent's ignored or blocked SIGALRM would pass on),
//! kills its whole process group at the deadline and after every end (a snippet's forked
//! grandchildren outlive it otherwise), reads its result without ever blocking, and reaps it.
//! For the exits that skip destructors (the TUI's watchdog, a fatal signal in batch mode),
//! `kill_leftovers` kills the running code child's group and the peer.
//!
//! What this cannot reach: a descendant that leaves the process group (setsid, setpgid) before
//! the group kill. If it spins, the hard RLIMIT_CPU every descendant inherits (3 s) ends it;
//! if it sleeps, it lives on until it exits. A cgroup would hold it, but needs privileges and a
//! writable cgroup tree we cannot count on.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitOptions};

use super::error::SysError;

/// How long mapped code may run before its process group is killed.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The process groups of the code children still running (0: a free slot). More children
/// than slots at once (only in-process tests run several sessions) go untracked.
static CODE_GROUPS: [AtomicI32; 8] = [const { AtomicI32::new(0) }; 8];
/// The peer process (0: none).
static PEER: AtomicI32 = AtomicI32::new(0);

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

/// In batch mode, where nothing else handles them: SIGTERM, SIGINT, SIGHUP and SIGQUIT still
/// end the process as by default, but first kill the code child's process group and the peer.
/// (A code child gets SIGKILL from PR_SET_PDEATHSIG anyway; what it forked does not.)
///
/// # Errors
/// A handler could not be installed.
pub fn kill_children_on_fatal_signals() -> std::io::Result<()> {
    super::raw::kill_on_fatal_signals(&CODE_GROUPS, &PEER)
}

/// Kills the running code child's process group and the peer with SIGKILL. Async-signal-safe
/// (atomic loads and kill(2)), for the exits that skip destructors.
pub fn kill_leftovers() {
    for slot in &CODE_GROUPS {
        if let Some(pgid) = Pid::from_raw(slot.load(Ordering::SeqCst)) {
            let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
        }
    }
    if let Some(pid) = Pid::from_raw(PEER.load(Ordering::SeqCst)) {
        let _ = rustix::process::kill_process(pid, Signal::KILL);
    }
}

/// Records the peer's pid for `kill_leftovers`.
pub fn track_peer(pid: u32) {
    PEER.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}

/// Forgets the peer: called before it is reaped, so that its pid, once free, is never killed.
pub fn untrack_peer(pid: u32) {
    let pid = i32::try_from(pid).unwrap_or(0);
    let _ = PEER.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
}

/// How a code child ended, and what ended with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    pub end: ChildEnd,
    /// Other processes of its group (forked by the code) still alive at its end: killed.
    pub group_killed: usize,
}

/// A forked child running mapped code, until it is reaped. Dropping it kills its process
/// group and reaps it.
#[derive(Debug)]
pub struct CodeChild {
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
    pub(super) fn adopt(pid: Pid, reader: OwnedFd) -> Self {
        // The child makes the same call: whichever runs first, the group exists before
        // anyone signals it (setpgid(2), the classic job-control race).
        let _ = rustix::process::setpgid(Some(pid), Some(pid));
        let me = pid.as_raw_nonzero().get();
        let _ = CODE_GROUPS.iter().find(|slot| {
            slot.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty()).ok();
        Self {
            pid,
            reader,
            pidfd,
            started: Instant::now(),
            reaped: false,
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get().cast_unsigned()
    }

    /// When it was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Without blocking: `Some` once the child has ended, or when the deadline has passed (it
    /// is then killed, with its group); `None` while it runs.
    ///
    /// # Errors
    /// waitid/waitpid failures.
    pub fn try_end(&mut self) -> Result<Option<Reaped>, SysError> {
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
    pub fn wait(mut self) -> Result<Reaped, SysError> {
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
        for slot in &CODE_GROUPS {
            let _ = slot.compare_exchange(me, 0, Ordering::SeqCst, Ordering::SeqCst);
        }
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

/// (state, process group) of `pid`. The command name may hold spaces and parentheses, so the
/// fields are read after the last `)`.
fn stat_state_and_group(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_group_lists_us() {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let pgid = rustix::process::getpgid(None)
            .unwrap()
            .as_raw_nonzero()
            .get();
        assert!(group_members(pgid).contains(&me));
        assert_eq!(stat_state_and_group(me).map(|(_, g)| g), Some(pgid));
    }
}
