//! Recordings: timestamped frames of what mmapscope saw (maps lines, smaps counters, per-page
//! state runs, page bytes, the events of a session), written to a file and read back. Data and
//! file I/O only: the session layer decides what goes into a frame, the replay draws it.
//!
//! The file (docs/recording.md says it field by field): a header (magic, schema version, what
//! was recorded), then one block per frame. Every `keyframe_every`-th frame is whole; the others
//! hold what changed since the frame before (a frame is the state, so a delta removes and
//! replaces entries by address). Each block's payload is JSON compressed with zstd (its own
//! checksum on); each block's fixed header carries its time, kind, whether the state changed and
//! a checksum of itself, so opening reads only block headers (the index) and decoding frame N
//! reads one keyframe and the deltas after it. A recorder killed mid-write leaves a partial last
//! block: the reader keeps every whole frame before it and says so (`Recording::cut_short`).

mod file;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use file::{CutShort, Recording, Writer};

use crate::sys::probe::state::{Sources, StateRun};
use crate::sys::proc::maps::{MapsLine, Vma};

/// The schema version this build writes and the newest it reads.
pub const SCHEMA: u32 = 1;

/// The first bytes of a recording.
pub const MAGIC: &[u8; 8] = b"MMSCOPE\x1a";

/// The most page bytes one frame records (1 MiB: 256 pages of 4 KiB). Bytes cost the most
/// space, and a page beyond the bound is still recorded by its state runs; the header says the
/// bound in force.
pub const BYTES_BOUND: u64 = 1 << 20;

/// A keyframe every this many frames: decoding frame N reads at most this many blocks.
pub const KEYFRAME_EVERY: u32 = 32;

/// What a recording holds, written once at its start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// The schema version of the frames (`SCHEMA` when written by this build).
    pub schema: u32,
    /// The program that wrote it (`mmapscope 0.1.0`).
    pub tool: String,
    /// What was recorded.
    pub subject: Subject,
    /// What recorded it: `record`, `explorer`, `batch FILE`, `lesson NAME`.
    pub session: String,
    /// The page size of the recorded machine, in bytes.
    pub page_size: u64,
    /// The time asked between frames, in milliseconds (frames are at most this often).
    pub interval_ms: u64,
    /// When the first frame's clock started, in milliseconds since the Unix epoch.
    pub start_unix_ms: u64,
    /// A whole frame every this many frames (the others are deltas).
    pub keyframe_every: u32,
    /// The most page bytes one frame records (see `BYTES_BOUND`).
    pub bytes_bound: u64,
}

/// The recorded subject, as the command line named it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Subject {
    /// A file we mapped (`record FILE`).
    File {
        /// The path as given, made absolute.
        path: String,
        /// Its size at the start, in bytes (`None` for a device).
        size: Option<u64>,
    },
    /// Anonymous memory we mapped (`record --anon SIZE`).
    Anon {
        /// Its length in bytes.
        len: u64,
    },
    /// Another process (`record --pid PID`).
    Process {
        pid: u32,
        /// `/proc/PID/comm` at the start.
        comm: String,
        /// `/proc/PID/cmdline` at the start, one argument a string.
        cmdline: Vec<String>,
        /// The VMAs whose pages are recorded (`--vma SPEC`, or `all`).
        vma: String,
    },
}

/// One moment of the recording, whole: what `Recording::frame` gives back. Plain data, each list
/// in address order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// Milliseconds since the recording's start (`Header::start_unix_ms`).
    pub time_ms: u64,
    /// Every maps line of the process (of ours, for a file or anonymous memory).
    pub maps: Vec<MapsLine>,
    /// The smaps counters of the VMAs read (every VMA with `--vma all`, else the recorded ones).
    pub smaps: Vec<Vma>,
    /// The recorded mappings with their pages' state.
    pub mappings: Vec<RecordedMapping>,
    /// Bytes of recorded pages, by the page's address; a page is here while its last recorded
    /// bytes still hold (it is dropped when its mapping goes or the page leaves memory).
    pub bytes: BTreeMap<u64, Vec<u8>>,
    /// What the session did since the frame before (lesson steps, script lines).
    pub events: Vec<Event>,
}

/// A mapping whose pages are recorded: what `inspect` says before its pages, and the pages as
/// runs of equal state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedMapping {
    /// The address of its first page.
    pub addr: u64,
    /// Its length in bytes.
    pub len: u64,
    /// The file offset of its first byte (0 for anonymous memory).
    pub offset: u64,
    /// `shared` or `private`.
    pub mode: String,
    /// `rw-` style.
    pub prot: String,
    /// The file mapped, if any.
    pub file: Option<RecordedFile>,
    /// How each source of page state answered for it.
    pub sources: Sources,
    /// Its pages as runs of equal state, `first` counted from `addr`.
    pub runs: Vec<StateRun>,
}

/// The file behind a recorded mapping, as `inspect` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFile {
    /// The path (escape it before display).
    pub path: String,
    /// Its size in bytes (`None` for a device, or a shmem object).
    pub size: Option<u64>,
    /// The mapping may write it.
    pub writable: bool,
}

/// Something the session did between two frames.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// The step's title, the script line, or the note, as shown.
    pub text: String,
}

/// What kind of thing an `Event` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A lesson step was shown.
    Step,
    /// A script line ran (batch, or a lesson's).
    Line,
    /// Anything else the session said (a refusal, the end of the process).
    Note,
}

/// Why a recording could not be written or read: what happened, with the file's offset or the
/// frame where it did, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The file system refused (errno and what we were doing).
    #[error("{context}: {message}")]
    Io {
        errno: i32,
        context: String,
        message: String,
    },
    /// The file does not start with the recording magic.
    #[error("{path}: not an mmapscope recording (it does not start with the recording magic)")]
    NotARecording { path: String },
    /// Written by a newer mmapscope.
    #[error(
        "{path}: recording schema version {found} is newer than this mmapscope reads (up to {supported}): replay it with a newer mmapscope"
    )]
    NewerSchema {
        path: String,
        found: u32,
        supported: u32,
    },
    /// A checksum or a structure does not hold: the file was damaged after it was written.
    #[error("{path}: damaged at byte {offset}: {what}")]
    Corrupt {
        path: String,
        offset: u64,
        what: String,
    },
    /// A frame number past the end.
    #[error("no frame {frame}: the recording has {len} frames")]
    NoFrame { frame: usize, len: usize },
}

impl RecordError {
    /// An I/O error while doing `context` (`write /tmp/run.mmrec`).
    pub fn io(err: &std::io::Error, context: impl Into<String>) -> Self {
        Self::Io {
            errno: err.raw_os_error().unwrap_or(libc::EIO),
            context: context.into(),
            message: err.to_string(),
        }
    }
}
