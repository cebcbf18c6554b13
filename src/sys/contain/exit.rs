//! What must be cleaned up on any way out, in one registry, and the one function that makes
//! every way out clean it. The registry holds the process groups of the code children still
//! running, the peer's pid and the keeper's pid (atomics: a thread that ends the process reads
//! them without waiting on any lock), and the temporary directories we made and have not
//! removed yet. Destructors clean up on a normal end (`CodeChild`, `Keeper` and the peer's
//! Drop, `demo::TempDir`'s); `clean_up` is for the exits that skip destructors.
//!
//! `install` is called once by each front end: the explorer (`app::run`, the TUI and lessons
//! played in it) with `OnSignal::Quit`, batch and `lesson --check` with `OnSignal::End`. Either
//! way SIGTERM, SIGINT, SIGHUP and SIGQUIT leave no child of ours running (PR_SET_PDEATHSIG
//! reaches a code child, not what it forked, nor the peer) and no directory of ours behind.
//! SIGKILL runs nothing: the next run's `demo::fresh_dir` sweeps what a killed run left.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{Pid, Signal};

/// The process groups of the code children still running (0: a free slot). More children
/// than slots at once (only in-process tests run several sessions) go untracked.
static CODE_GROUPS: [AtomicI32; 8] = [const { AtomicI32::new(0) }; 8];
/// The peer process (0: none).
static PEER: AtomicI32 = AtomicI32::new(0);
/// The keeper (0: none).
static KEEPER: AtomicI32 = AtomicI32::new(0);
/// Directories we made and have not removed yet.
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The four signals that end a run.
const ENDING: [i32; 4] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
];

/// How long the explorer's loop may take to honour a quit signal before the watchdog ends
/// the process, and how often the watchdog looks.
const GRACE: Duration = Duration::from_secs(1);
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Records a code child's process group (its pid) until `untrack_group`.
pub(crate) fn track_group(pgid: i32) {
    let _ = CODE_GROUPS.iter().find(|slot| {
        slot.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
}

/// Forgets a code child's process group: called before the child is reaped, so that its
/// pid, once free, is never killed.
pub(crate) fn untrack_group(pgid: i32) {
    for slot in &CODE_GROUPS {
        let _ = slot.compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Records the keeper's pid.
pub(crate) fn track_keeper(pid: i32) {
    KEEPER.store(pid, Ordering::SeqCst);
}

/// Forgets the keeper, before it is reaped.
pub(crate) fn untrack_keeper(pid: i32) {
    let _ = KEEPER.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
}

/// Records the peer's pid.
pub(crate) fn track_peer(pid: u32) {
    PEER.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}

/// Forgets the peer, before it is reaped.
pub(crate) fn untrack_peer(pid: u32) {
    let pid = i32::try_from(pid).unwrap_or(0);
    let _ = PEER.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
}

/// Records a directory of ours, removed with everything in it on any way out.
pub fn track_dir(dir: PathBuf) {
    if let Ok(mut dirs) = DIRS.lock() {
        dirs.push(dir);
    }
}

/// Forgets a directory once its owner has removed it.
pub fn untrack_dir(dir: &std::path::Path) {
    if let Ok(mut dirs) = DIRS.lock() {
        dirs.retain(|d| d != dir);
    }
}

/// The directories tracked now (for tests and the log).
#[cfg(test)]
pub(crate) fn tracked_dirs() -> Vec<PathBuf> {
    DIRS.lock().map(|d| d.clone()).unwrap_or_default()
}

/// Kills every code child's process group, the peer and the keeper with SIGKILL (atomic loads
/// and kill(2) only), then removes the directories. For the exits that skip destructors.
pub(crate) fn clean_up() {
    for slot in &CODE_GROUPS {
        if let Some(pgid) = Pid::from_raw(slot.load(Ordering::SeqCst)) {
            let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
        }
    }
    for slot in [&PEER, &KEEPER] {
        if let Some(pid) = Pid::from_raw(slot.load(Ordering::SeqCst)) {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        }
    }
    // try_lock: an exit from another thread must not wait on a lock the main thread holds.
    if let Ok(dirs) = DIRS.try_lock() {
        for d in dirs.iter() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// What SIGTERM, SIGINT, SIGHUP and SIGQUIT do.
#[derive(Debug, Clone, Copy)]
pub enum OnSignal {
    /// Headless runs (batch, `lesson --check`): clean up at once, then end by the signal as
    /// by default (the caller's shell sees "terminated", not a clean exit).
    End,
    /// The explorer: set the quit flag its loop polls, so that it quits through its
    /// destructors and restores the terminal. If the loop has not ended `GRACE` later
    /// (crossterm's poll can spin forever on a terminal that hung up), a watchdog cleans up,
    /// calls `last` (restoring the terminal as it can) and exits with status 0.
    Quit { last: fn() },
}

/// The handle `install` returns: the quit flag, and (dropped) the news that the caller's loop
/// has ended, which stands the watchdog down.
#[derive(Debug)]
pub struct Installed {
    quit: Arc<AtomicBool>,
    ended: Arc<AtomicBool>,
}

impl Installed {
    /// Whether one of the four signals has arrived (only ever set with `OnSignal::Quit`).
    pub fn quit_asked(&self) -> bool {
        self.quit.load(Ordering::Relaxed)
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        self.ended.store(true, Ordering::Relaxed);
    }
}

/// Makes SIGTERM, SIGINT, SIGHUP and SIGQUIT clean up what the registry holds, as `on` says.
///
/// # Errors
/// A signal handler could not be installed.
pub fn install(on: OnSignal) -> std::io::Result<Installed> {
    let quit = Arc::new(AtomicBool::new(false));
    let ended = Arc::new(AtomicBool::new(false));
    match on {
        OnSignal::End => end_on_signals()?,
        OnSignal::Quit { last } => {
            for sig in ENDING {
                signal_hook::flag::register(sig, Arc::clone(&quit))?;
            }
            watchdog(Arc::clone(&quit), Arc::clone(&ended), last);
        }
    }
    Ok(Installed { quit, ended })
}

/// A thread of ours waits for the four signals, cleans up (removing a directory is not
/// async-signal-safe, so not in a handler) and ends the process by the signal.
fn end_on_signals() -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(ENDING)?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            clean_up();
            // Restores the default disposition and raises the signal again: we end by it.
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

/// Ends the process if a quit signal is not honoured within `GRACE`.
fn watchdog(quit: Arc<AtomicBool>, ended: Arc<AtomicBool>, last: fn()) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(WATCH_EVERY);
            if ended.load(Ordering::Relaxed) {
                return;
            }
            if quit.load(Ordering::Relaxed) {
                std::thread::sleep(GRACE);
                if !ended.load(Ordering::Relaxed) {
                    // process::exit runs no destructor.
                    clean_up();
                    last();
                    std::process::exit(0);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    // `clean_up` itself is tested on the binary (tests/it/containment.rs): here it would kill
    // the children of the other tests running in this process.

    #[test]
    fn a_directory_is_tracked_until_untracked() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("ours");
        track_dir(dir.clone());
        assert!(tracked_dirs().contains(&dir));
        untrack_dir(&dir);
        assert!(!tracked_dirs().contains(&dir));
    }

    #[test]
    fn a_group_slot_is_taken_and_given_back() {
        // A pid no process has (above pid_max's ceiling): killing it is harmless.
        let fake = 0x3fff_fff0;
        track_group(fake);
        assert!(CODE_GROUPS.iter().any(|s| s.load(Ordering::SeqCst) == fake));
        untrack_group(fake);
        assert!(CODE_GROUPS.iter().all(|s| s.load(Ordering::SeqCst) != fake));
    }
}
