//! Lessons under writeback at any moment: `sync(2)` in a loop while every shipped lesson is
//! checked. A test binary of its own, because the loop cleans every dirty page of the machine:
//! in the one crate of the other tests (`tests/it`) it would make theirs clean under them.
//! Cargo runs test binaries one after another, so nothing else of ours runs meanwhile.

use mmapscope::script::lesson::BUILTIN;

// Only some of the shared helpers are used here.
#[allow(dead_code)]
#[path = "it/common/mod.rs"]
mod common;
use common::{check_passes, mmapscope};

/// Runs `sync` in a loop until dropped: writeback at any moment, as on a busy machine.
struct SyncLoop {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u32>>,
}

impl SyncLoop {
    fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                rustix::fs::sync();
                n += 1;
            }
            n
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the loop; returns how many syncs it ran.
    fn stop(mut self) -> u32 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .map_or(0, |t| t.join().expect("sync loop"))
    }
}

/// A failed lesson must not leave the loop running.
impl Drop for SyncLoop {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn every_shipped_lesson_passes_while_another_process_syncs_in_a_loop() {
    // Lessons must not depend on timing the kernel does not promise: a dirty page may be
    // written back at any moment (issue: the ipc lesson failed under `while true; do sync;
    // done`). Twice each, with writeback as frequent as it gets.
    let syncs = SyncLoop::start();
    for round in 0..2 {
        for (name, _) in BUILTIN {
            check_passes(
                mmapscope(&["lesson", name, "--check"]),
                name,
                &format!("ourselves during a sync loop (round {round})"),
            );
        }
    }
    let n = syncs.stop();
    assert!(n > 10, "the sync loop ran only {n} times");
}
