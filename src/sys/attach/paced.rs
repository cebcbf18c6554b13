//! Reading /proc off the screen's path, at a pace its cost allows: `Pace` spaces each kind of
//! read by what it was measured to cost, and `SmapsReader` reads smaps on a thread of its own
//! and hands back the answer when it is ready.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sys::attach::handle::*;
use crate::sys::error::SysError;
use crate::sys::proc::maps::{MapsLine, Vma};

/// When a /proc read may run again: not before `min` after the last one ended, nor before
/// `factor` times what the last one cost (a read of 97 ms with factor 100 waits 9.7 s: such
/// reads then take 1% of a core at most).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    /// When the last read ended, and what it cost.
    last: Option<(Instant, Duration)>,
}

impl Pace {
    /// Records a read that started at `started` and ends now; returns what it cost.
    pub fn record(&mut self, started: Instant) -> Duration {
        let took = started.elapsed();
        self.last = Some((Instant::now(), took));
        took
    }

    /// Records a read that ended at `ended` and cost `took`.
    pub fn record_at(&mut self, ended: Instant, took: Duration) {
        self.last = Some((ended, took));
    }

    /// Whether a read may run now.
    pub fn due(&self, min: Duration, factor: u32) -> bool {
        self.last
            .is_none_or(|(ended, took)| ended.elapsed() >= min.max(took * factor))
    }

    /// How long since the last read ended.
    pub fn age(&self) -> Option<Duration> {
        self.last.map(|(ended, _)| ended.elapsed())
    }
}

/// What a `SmapsReader` is asked: whose smaps, and which VMAs.
#[derive(Debug, Clone)]
pub struct SmapsAsk {
    pub handle: Arc<ProcessHandle>,
    pub want: SmapsWant,
}

/// Which VMAs' smaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmapsWant {
    /// The VMAs overlapping `[start, end)` (the one explored): the read stops after them.
    Range { start: u64, end: u64 },
    /// Every VMA, with its maps line (the address-space view).
    All,
}

impl PartialEq for SmapsAsk {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.handle, &other.handle) && self.want == other.want
    }
}

/// A reader's answer: what was asked, what smaps said, when the read ended and its cost.
#[derive(Debug)]
pub struct SmapsAnswer {
    pub ask: SmapsAsk,
    pub read: Result<(Vec<Vma>, Vec<MapsLine>), SysError>,
    pub ended: Instant,
    pub took: Duration,
}

impl SmapsAsk {
    fn run(self) -> SmapsAnswer {
        let started = Instant::now();
        let read = match self.want {
            SmapsWant::Range { start, end } => {
                self.handle.vmas(start, end).map(|v| (v, Vec::new()))
            }
            SmapsWant::All => self.handle.space(),
        };
        SmapsAnswer {
            ask: self,
            read,
            ended: Instant::now(),
            took: started.elapsed(),
        }
    }
}

/// smaps read on a thread of its own: in a process with thousands of VMAs, or with a VMA of
/// gigabytes resident, one read costs the kernel tens of milliseconds of page-table walking,
/// which the screen's refresh must not wait for. `ask` never blocks; `answers` takes what
/// has come; the thread ends when the reader is dropped. Of the asks waiting, only the newest
/// of each kind (a range, everything) is read.
#[derive(Debug)]
pub struct SmapsReader {
    asks: Option<std::sync::mpsc::Sender<SmapsAsk>>,
    answers: std::sync::mpsc::Receiver<SmapsAnswer>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Asks sent and not answered yet.
    pending: Vec<SmapsAsk>,
}

impl Default for SmapsReader {
    fn default() -> Self {
        Self::new()
    }
}

impl SmapsReader {
    pub(crate) fn new() -> Self {
        let (asks, asked) = std::sync::mpsc::channel::<SmapsAsk>();
        let (answer, answers) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("smaps".into())
            .spawn(move || {
                while let Ok(first) = asked.recv() {
                    let mut newest: Vec<SmapsAsk> = vec![first];
                    while let Ok(more) = asked.try_recv() {
                        newest.retain(|a| {
                            std::mem::discriminant(&a.want) != std::mem::discriminant(&more.want)
                        });
                        newest.push(more);
                    }
                    for ask in newest {
                        if answer.send(ask.run()).is_err() {
                            return;
                        }
                    }
                }
            })
            .ok();
        Self {
            asks: Some(asks),
            answers,
            thread,
            pending: Vec::new(),
        }
    }

    /// Asks for `ask` unless the same is being read; never blocks.
    pub fn ask(&mut self, ask: &SmapsAsk) {
        if self.pending.contains(ask) {
            return;
        }
        if let Some(tx) = &self.asks
            && tx.send(ask.clone()).is_ok()
        {
            self.pending.push(ask.clone());
        }
    }

    /// Whether `ask` is being read.
    pub(crate) fn asked(&self, ask: &SmapsAsk) -> bool {
        self.pending.contains(ask)
    }

    fn took(&mut self, a: &SmapsAnswer) {
        if let Some(i) = self.pending.iter().position(|p| *p == a.ask) {
            self.pending.swap_remove(i);
        }
    }

    /// The answers since the last call, oldest first.
    pub fn answers(&mut self) -> Vec<SmapsAnswer> {
        let mut out = Vec::new();
        while let Ok(a) = self.answers.try_recv() {
            self.took(&a);
            out.push(a);
        }
        out
    }

    /// Waits up to `timeout` for the answer to `ask` (a first screen), returning it with
    /// the others that came meanwhile.
    pub fn wait_for(&mut self, ask: &SmapsAsk, timeout: Duration) -> Vec<SmapsAnswer> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while self.asked(ask) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(a) = self.answers.recv_timeout(left) else {
                break;
            };
            self.took(&a);
            out.push(a);
        }
        out.extend(self.answers());
        out
    }
}

impl Drop for SmapsReader {
    fn drop(&mut self) {
        // Closing the channel ends the thread after the read under way.
        drop(self.asks.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_waits_for_the_larger_of_the_period_and_the_cost() {
        let mut p = Pace::default();
        assert!(p.due(Duration::from_secs(1), 100), "never read: due");
        p.record_at(Instant::now(), Duration::from_millis(1));
        assert!(
            !p.due(Duration::from_millis(50), 100),
            "100 ms of cost-wait"
        );
        p.record_at(
            Instant::now() - Duration::from_millis(150),
            Duration::from_millis(1),
        );
        assert!(p.due(Duration::from_millis(50), 100));
        p.record_at(
            Instant::now() - Duration::from_secs(5),
            Duration::from_millis(97),
        );
        assert!(
            !p.due(Duration::from_millis(250), 100),
            "9.7 s after a 97 ms read"
        );
        assert!(p.age().is_some_and(|a| a >= Duration::from_secs(5)));
    }
}
