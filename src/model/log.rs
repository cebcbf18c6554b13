//! The event log: its lines, and the clock of the last refresh that stamps them.

use super::Model;

/// Most log lines kept.
pub const LOG_KEEP: usize = 500;

/// The event log, and the clock of the last refresh that stamps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    pub lines: Vec<LogLine>,
    /// Wall-clock time of the last refresh, `HH:MM:SS`, stamped on log lines.
    pub clock: String,
    /// Time of the last snapshot in ms since the app started (deltas fade with it).
    pub now_ms: u64,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            lines: Vec::new(),
            clock: String::from("00:00:00"),
            now_ms: 0,
        }
    }
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Wall-clock time, `HH:MM:SS`.
    pub time: String,
    pub text: String,
    /// Bytes changed by another process: how many times in a row (one line, counting, so
    /// that a peer writing all the time does not flood the log).
    pub foreign_seen: Option<u64>,
}

impl Log {
    /// Appends a line stamped with the clock of the last refresh: escaped and cut to
    /// `text::LINE_MAX` characters, whatever it echoes (each value is cut shorter where it is
    /// echoed, with `text::echo`).
    pub fn add(&mut self, text: impl Into<String>) {
        self.lines.push(LogLine {
            time: self.clock.clone(),
            text: crate::text::clean_lines(&text.into()),
            foreign_seen: None,
        });
        if self.lines.len() > LOG_KEEP {
            self.lines.drain(..self.lines.len() - LOG_KEEP);
        }
    }
}

impl Model {
    /// Appends a log line (`Log::add`).
    pub fn log(&mut self, text: impl Into<String>) {
        self.log.add(text);
    }
}
