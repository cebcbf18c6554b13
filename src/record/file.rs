//! The recording file: the header, then one block per frame, each written with one write so
//! that a recorder killed between two frames leaves whole blocks, and one killed during a write
//! leaves a short last block that the reader drops (and says so).
//!
//! ```text
//! file   := MAGIC schema:u32 header_len:u32 header:JSON header_check:u32 block*
//! block  := "FR" kind:u8 flags:u8 time_ms:u64 len:u32 raw_len:u32 check:u32 payload[len]
//! ```
//! Integers little-endian; checks are FNV-1a 32 (of the header's JSON; of a block's first 20
//! bytes); kind 1 = keyframe, 2 = delta; flags bit 0 = the state changed since the frame
//! before; the payload is a zstd frame (with its checksum) of the delta's JSON, `raw_len` bytes
//! once decompressed.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::wire::Delta;
use super::{Frame, Header, MAGIC, RecordError, SCHEMA};

/// Bytes of a block's fixed header.
const BLOCK_HEAD: usize = 24;
const KIND_KEY: u8 = 1;
const KIND_DELTA: u8 = 2;
const FLAG_CHANGED: u8 = 1;
/// The largest header JSON read (a header is a few hundred bytes; a damaged length must not
/// make us allocate gigabytes).
const HEADER_MAX: u32 = 1 << 20;
/// The largest decompressed frame read (a frame of 30,000 VMAs is a few MiB).
const RAW_MAX: u32 = 1 << 30;

/// Writes a recording: the header at `create`, then a block per `push`.
#[derive(Debug)]
pub struct Writer {
    file: File,
    path: String,
    header: Header,
    /// The last frame pushed (the base of the next delta), events left out.
    last: Frame,
    frames: u64,
    /// Bytes written so far.
    written: u64,
}

impl Writer {
    /// Creates the file at `path` and writes `header` (its `schema` set to `SCHEMA`). An
    /// existing file is refused unless `overwrite`; the caller has already asked the write gate
    /// (a file mapped by us or by the process recorded is never written).
    ///
    /// # Errors
    /// The file exists (without `overwrite`), or cannot be created or written.
    pub fn create(path: &Path, mut header: Header, overwrite: bool) -> Result<Self, RecordError> {
        let shown = path.display().to_string();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true);
        if overwrite {
            opts.create(true).truncate(true);
        } else {
            opts.create_new(true);
        }
        let file = opts
            .open(path)
            .map_err(|e| RecordError::io(&e, format!("create {shown}")))?;
        header.schema = SCHEMA;
        header.keyframe_every = header.keyframe_every.max(1);
        let json = serde_json::to_vec(&header).map_err(|e| RecordError::Io {
            errno: libc::EINVAL,
            context: format!("write {shown}"),
            message: e.to_string(),
        })?;
        let mut head = Vec::with_capacity(json.len() + 20);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&SCHEMA.to_le_bytes());
        head.extend_from_slice(&len32(json.len()).to_le_bytes());
        head.extend_from_slice(&json);
        head.extend_from_slice(&fnv(&json).to_le_bytes());
        let mut writer = Self {
            file,
            path: shown,
            header,
            last: Frame::default(),
            frames: 0,
            written: 0,
        };
        writer.write(&head)?;
        Ok(writer)
    }

    /// Appends `frame` (its `time_ms` not before the last frame's): a keyframe every
    /// `keyframe_every` frames, else what changed since the last frame.
    ///
    /// # Errors
    /// A failed write.
    pub fn push(&mut self, frame: &Frame) -> Result<(), RecordError> {
        let key = self
            .frames
            .is_multiple_of(u64::from(self.header.keyframe_every));
        let delta = Delta::between(&self.last, frame);
        let changed = self.frames > 0 && delta.changes_state();
        let delta = if key {
            Delta::between(&Frame::default(), frame)
        } else {
            delta
        };
        let context = || format!("write {}", self.path);
        let (payload, json_len) = delta.encode().map_err(|e| RecordError::io(&e, context()))?;
        let mut block = Vec::with_capacity(BLOCK_HEAD + payload.len());
        block.extend_from_slice(b"FR");
        block.push(if key { KIND_KEY } else { KIND_DELTA });
        block.push(if changed { FLAG_CHANGED } else { 0 });
        block.extend_from_slice(&frame.time_ms.to_le_bytes());
        block.extend_from_slice(&len32(payload.len()).to_le_bytes());
        block.extend_from_slice(&len32(json_len).to_le_bytes());
        let check = fnv(&block);
        block.extend_from_slice(&check.to_le_bytes());
        block.extend_from_slice(&payload);
        self.write(&block)?;
        self.last = Frame {
            events: Vec::new(),
            ..frame.clone()
        };
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes written so far (header included).
    pub fn bytes(&self) -> u64 {
        self.written
    }

    /// The header written.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Flushes the file to the kernel (every block is already written whole) and closes it.
    ///
    /// # Errors
    /// A failed flush.
    pub fn finish(mut self) -> Result<u64, RecordError> {
        self.file
            .flush()
            .map_err(|e| RecordError::io(&e, format!("write {}", self.path)))?;
        Ok(self.frames)
    }

    /// One write of `bytes` (a whole block): a recorder killed between two writes leaves whole
    /// blocks.
    fn write(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        self.file
            .write_all(bytes)
            .map_err(|e| RecordError::io(&e, format!("write {}", self.path)))?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

/// A recording opened for reading: its header and the index of its frames (read from the block
/// headers alone; payloads are read when a frame is asked for).
#[derive(Debug)]
pub struct Recording {
    file: File,
    path: String,
    header: Header,
    index: Vec<Entry>,
    cut_short: Option<CutShort>,
}

/// Where a recording cut short ends: the recorder was killed during a write (or the file was
/// truncated), and the bytes after the last whole frame are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutShort {
    /// The byte where the partial block starts.
    pub offset: u64,
    /// Its bytes present (a whole block needs more).
    pub partial_bytes: u64,
}

/// One frame in the index.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The payload's offset in the file.
    at: u64,
    len: u32,
    raw_len: u32,
    time_ms: u64,
    /// The keyframe this frame is decoded from (itself for a keyframe).
    key: usize,
    changed: bool,
}

impl Recording {
    /// Opens the recording at `path`: reads its header and the fixed headers of its blocks.
    ///
    /// # Errors
    /// Not a recording (wrong magic), a newer schema version (named), a damaged header or block
    /// header (the byte named), or a file that cannot be read.
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| RecordError::io(&e, format!("open {shown}")))?;
        let size = file
            .metadata()
            .map_err(|e| RecordError::io(&e, format!("stat {shown}")))?
            .len();
        let (header, mut at) = read_header(&file, &shown, size)?;
        let mut index: Vec<Entry> = Vec::new();
        let mut cut_short = None;
        while at < size {
            match read_block_head(&file, &shown, at, size, &index)? {
                Some(entry) => {
                    at = entry.at + u64::from(entry.len);
                    index.push(entry);
                }
                None => {
                    cut_short = Some(CutShort {
                        offset: at,
                        partial_bytes: size - at,
                    });
                    break;
                }
            }
        }
        Ok(Self {
            file,
            path: shown,
            header,
            index,
            cut_short,
        })
    }

    /// What was recorded, and how.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The number of whole frames.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// No frame at all (a recorder killed before its first frame).
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Frame `n`'s time, milliseconds since the start; `None` past the end.
    pub fn time_ms(&self, n: usize) -> Option<u64> {
        self.index.get(n).map(|e| e.time_ms)
    }

    /// The last frame at or before `ms` milliseconds since the start (the first frame for a
    /// time before it); `None` for an empty recording.
    pub fn frame_at(&self, ms: u64) -> Option<usize> {
        let after = self.index.partition_point(|e| e.time_ms <= ms);
        (!self.index.is_empty()).then(|| after.saturating_sub(1))
    }

    /// The first frame after `n` whose state differs from the frame before it.
    pub fn next_change(&self, n: usize) -> Option<usize> {
        (n.saturating_add(1)..self.index.len()).find(|&i| self.index[i].changed)
    }

    /// The last frame before `n` whose state differs from the frame before it.
    pub fn prev_change(&self, n: usize) -> Option<usize> {
        (0..n.min(self.index.len()))
            .rev()
            .find(|&i| self.index[i].changed)
    }

    /// Whether frame `n`'s state differs from frame `n - 1`'s (false for frame 0).
    pub fn changed(&self, n: usize) -> bool {
        self.index.get(n).is_some_and(|e| e.changed)
    }

    /// Set when the file ends in a partial block: the frames before it are whole.
    pub fn cut_short(&self) -> Option<CutShort> {
        self.cut_short
    }

    /// Where frame `n`'s block starts in the file (tests damage it).
    #[cfg(test)]
    pub(super) fn index_offset(&self, n: usize) -> u64 {
        self.index[n].at - BLOCK_HEAD as u64
    }

    /// Where frame `n`'s payload starts in the file.
    #[cfg(test)]
    pub(super) fn payload_offset(&self, n: usize) -> u64 {
        self.index[n].at
    }

    /// Frame `n`, whole: its keyframe with the deltas up to `n` applied.
    ///
    /// # Errors
    /// No frame `n`, a payload that does not decode (damaged after it was written: the frame
    /// and byte named), or a failed read.
    pub fn frame(&self, n: usize) -> Result<Frame, RecordError> {
        let entry = self.index.get(n).ok_or(RecordError::NoFrame {
            frame: n,
            len: self.index.len(),
        })?;
        let mut frame = Frame::default();
        for (i, e) in self.index[entry.key..=n].iter().enumerate() {
            let mut payload = vec![0u8; e.len as usize];
            self.file
                .read_exact_at(&mut payload, e.at)
                .map_err(|err| RecordError::io(&err, format!("read {}", self.path)))?;
            let corrupt = |what: String| RecordError::Corrupt {
                path: self.path.clone(),
                offset: e.at,
                what: format!("frame {}: {what}", entry.key + i),
            };
            Delta::decode(&payload, e.raw_len as usize)
                .map_err(corrupt)?
                .apply(&mut frame)
                .map_err(corrupt)?;
        }
        frame.time_ms = entry.time_ms;
        Ok(frame)
    }
}

/// Reads and checks the file's header; returns it and the offset of the first block.
fn read_header(file: &File, path: &str, size: u64) -> Result<(Header, u64), RecordError> {
    let mut fixed = [0u8; 16];
    let short = fixed.len() as u64 > size;
    if short || file.read_exact_at(&mut fixed, 0).is_err() || &fixed[..8] != MAGIC {
        return Err(RecordError::NotARecording { path: path.into() });
    }
    let schema = u32_at(&fixed, 8);
    if schema > SCHEMA {
        return Err(RecordError::NewerSchema {
            path: path.into(),
            found: schema,
            supported: SCHEMA,
        });
    }
    let corrupt = |what: &str| RecordError::Corrupt {
        path: path.into(),
        offset: 12,
        what: what.into(),
    };
    let len = u32_at(&fixed, 12);
    if schema == 0 || len > HEADER_MAX || 16 + u64::from(len) + 4 > size {
        return Err(corrupt("the header's version or length does not hold"));
    }
    let mut json = vec![0u8; len as usize + 4];
    file.read_exact_at(&mut json, 16)
        .map_err(|e| RecordError::io(&e, format!("read {path}")))?;
    let check = u32_at(&json, len as usize);
    json.truncate(len as usize);
    if fnv(&json) != check {
        return Err(corrupt("the header's checksum does not match"));
    }
    let header: Header = serde_json::from_slice(&json)
        .map_err(|e| corrupt(&format!("the header does not parse ({e})")))?;
    Ok((header, 16 + u64::from(len) + 4))
}

/// Reads the block header at `at`: `None` for a partial block at the end of the file.
fn read_block_head(
    file: &File,
    path: &str,
    at: u64,
    size: u64,
    index: &[Entry],
) -> Result<Option<Entry>, RecordError> {
    if size - at < BLOCK_HEAD as u64 {
        return Ok(None);
    }
    let mut head = [0u8; BLOCK_HEAD];
    file.read_exact_at(&mut head, at)
        .map_err(|e| RecordError::io(&e, format!("read {path}")))?;
    let corrupt = |what: &str| RecordError::Corrupt {
        path: path.into(),
        offset: at,
        what: format!("frame {}: {what}", index.len()),
    };
    if &head[..2] != b"FR" || fnv(&head[..20]) != u32_at(&head, 20) {
        return Err(corrupt("its block header's checksum does not match"));
    }
    let kind = head[2];
    let time_ms = u64::from_le_bytes(head[4..12].try_into().expect("8 bytes"));
    let (len, raw_len) = (u32_at(&head, 12), u32_at(&head, 16));
    let key = match (kind, index.last()) {
        (KIND_KEY, _) => index.len(),
        (KIND_DELTA, Some(last)) => last.key,
        (KIND_DELTA, None) => return Err(corrupt("the first frame is not a keyframe")),
        _ => return Err(corrupt(&format!("unknown block kind {kind}"))),
    };
    if raw_len > RAW_MAX {
        return Err(corrupt("its decoded length is past any frame's"));
    }
    if index.last().is_some_and(|l| l.time_ms > time_ms) {
        return Err(corrupt("its time is before the frame before it"));
    }
    let payload_at = at + BLOCK_HEAD as u64;
    if size - payload_at < u64::from(len) {
        return Ok(None);
    }
    Ok(Some(Entry {
        at: payload_at,
        len,
        raw_len,
        time_ms,
        key,
        changed: head[3] & FLAG_CHANGED != 0,
    }))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// A length as the file stores it (frames and headers are far below 4 GiB: `RAW_MAX`).
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// FNV-1a, 32 bits: catches a flipped byte in a block header.
fn fnv(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
