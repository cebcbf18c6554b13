//! The session's jobs that outlive a keypress: a search that runs across ticks (`job::Job`),
//! and code that `exec` keeps running in a child while the screen stays live
//! (`carry::Running`). Each is stepped or polled by the TUI's loop, and its news goes to the
//! model like any other.

use std::time::Duration;

use crate::action::{Event, History};
use crate::search::job;
use crate::search::query::Request;
use crate::sys::attach::handle::Gone;
use crate::sys::ops::outcome::Outcome;
use crate::update::{apply_outcome, update};

use super::{Session, log_outcome};

/// How long a search works per keypress or tick before the screen is drawn again.
pub const SEARCH_SLICE: Duration = Duration::from_millis(25);

impl Session {
    /// Starts a search (ending one still running: its end carries its own id, so the model
    /// takes it for news of the old search, not the new one) and works on it for a slice at
    /// once, so that a small mapping answers within the keypress and a large one shows its
    /// progress from the first slice.
    pub(super) fn start_search(&mut self, req: Request) {
        self.cancel_search();
        if self.search_recorded(&req) {
            return;
        }
        let (shown, _) = self.shown();
        self.finding = Some(job::Job::new(req, shown));
        self.step_search(SEARCH_SLICE);
    }

    /// Works on the search for about `budget`; returns whether it still runs. A search of a
    /// VMA no longer followed (its process exited, it was unmapped) ends, saying why.
    fn step_search(&mut self, budget: Duration) -> bool {
        let Some(mut job) = self.finding.take() else {
            return false;
        };
        // Why the VMA is no longer followed, in the search's words: the handle says whether
        // the process went; else the reason as it is (the VMA was unmapped).
        let why = self.subject.explored_mut().and_then(|e| {
            let ended = e.ended.as_deref()?;
            Some(match e.view.handle().gone() {
                Some(Gone::Exited) => job::EXITED.to_string(),
                Some(Gone::Execed) => "the process called exec".to_string(),
                None => ended.to_string(),
            })
        });
        let step = match why {
            Some(why) => job::Step::Done(job.stopped(&why)),
            None => {
                let (shown, prober) = self.shown();
                job.step(shown, prober, budget)
            }
        };
        match step {
            job::Step::Running { done, total } => {
                let id = job.id();
                update(&mut self.model, Event::SearchProgress { id, done, total });
                self.finding = Some(job);
                true
            }
            job::Step::Done(finished) => {
                update(&mut self.model, Event::SearchEnded(Box::new(finished)));
                false
            }
        }
    }

    /// Stops the search running, and says so.
    pub(super) fn cancel_search(&mut self) {
        if let Some(job) = self.finding.take() {
            update(
                &mut self.model,
                Event::SearchEnded(Box::new(job.cancelled())),
            );
        }
    }

    /// Whether a search still runs (the TUI's loop then calls `poll_search` without waiting).
    pub fn search_running(&self) -> bool {
        self.finding.is_some()
    }

    /// Works on the running search for a slice; once it ends, its result is in the model and
    /// the screen's view is probed again. Returns whether it still runs.
    pub fn poll_search(&mut self) -> bool {
        if self.finding.is_none() {
            return false;
        }
        let running = self.step_search(SEARCH_SLICE);
        if !running {
            self.refresh();
        }
        running
    }

    /// Runs the search to its end (scripts and tests).
    pub fn finish_search(&mut self) {
        while self.poll_search() {}
    }

    /// Whether code started by `act_live` still runs in its child.
    pub fn child_running(&self) -> bool {
        self.running.is_some()
    }

    /// Without blocking: once the child started by `act_live` has ended (or has been killed at
    /// its deadline), applies its outcome and returns it.
    pub fn poll_child(&mut self) -> Option<Outcome> {
        let outcome = self.running.as_mut()?.poll()?;
        self.running = None;
        log_outcome(&outcome);
        apply_outcome(&mut self.model, &outcome, History::Record);
        self.refresh();
        Some(outcome)
    }
}
