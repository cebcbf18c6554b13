//! The classroom experiments that need state beyond the mapping: a peer process that maps the
//! same file and writes a counter into it (shared memory between processes), the keeper (a
//! forked child that keeps the mapping: copy-on-write after fork), buffers taken from the
//! global allocator (to see malloc use mmap or the heap, and what can be said of glibc's
//! sliding mmap threshold), and the machine-code snippets of the exec demo.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::sys::contain::children::{ChildSpec, Keeper};
use crate::sys::error::SysError;
use crate::sys::map::region::Region;
use crate::sys::map::request::{MapMode, MapRequest, Source};
use crate::sys::proc::maps;

/// Bytes of the peer's counter: eight ASCII digits, readable in the text column.
pub(crate) const COUNTER_LEN: u64 = 8;
/// How often the peer writes its counter.
pub(crate) const PEER_PERIOD: Duration = Duration::from_millis(150);
/// Address space an `alloc` must leave free for the rest of the program.
const HEADROOM: usize = 8 << 20;
/// The environment variable that gives the peer its parent's pid.
const PARENT_ENV: &str = "MMAPSCOPE_PARENT_PID";

/// A machine-code snippet for this machine: (name, bytes).
pub fn snippet(name: &str) -> Result<&'static [u8], SysError> {
    #[cfg(target_arch = "x86_64")]
    let table: &[(&str, &[u8])] = &[
        (
            "ret42",
            include_bytes!("../../../assets/exec/x86_64/ret42.bin"),
        ),
        ("add", include_bytes!("../../../assets/exec/x86_64/add.bin")),
    ];
    #[cfg(target_arch = "aarch64")]
    let table: &[(&str, &[u8])] = &[
        (
            "ret42",
            include_bytes!("../../../assets/exec/aarch64/ret42.bin"),
        ),
        (
            "add",
            include_bytes!("../../../assets/exec/aarch64/add.bin"),
        ),
    ];
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let table: &[(&str, &[u8])] = &[];
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .ok_or_else(|| {
            SysError::new(
                libc::ENOENT,
                format!("snippet {name}"),
                format!(
                    "no snippet `{name}` for {} (there are: ret42, add; for x86_64 and aarch64)",
                    std::env::consts::ARCH
                ),
            )
        })
}

/// A running peer process.
#[derive(Debug)]
pub struct Peer {
    child: Child,
    /// File offset of its counter.
    pub(crate) file_offset: u64,
}

impl Peer {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How it ended, once it has: the exit status or signal in words, and the last line it
    /// wrote on its standard error (why it gave up: a write refused past end of file, ...).
    /// `None` while it runs.
    fn ended(&mut self) -> Option<String> {
        use std::io::Read as _;
        use std::os::unix::process::ExitStatusExt as _;
        let status = self.child.try_wait().ok()??;
        let mut how = match (status.code(), status.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => format!(
                "killed by {}",
                crate::sys::contain::children::signal_name(sig)
            ),
            (None, None) => status.to_string(),
        };
        // It has exited: its end of the pipe is closed, so this read ends.
        let mut text = String::new();
        if let Some(err) = self.child.stderr.as_mut() {
            let _ = err.take(64 * 1024).read_to_string(&mut text);
        }
        if let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) {
            let last = last.trim().trim_start_matches("mmapscope: ");
            how.push_str(&format!(" ({})", crate::text::echo(last)));
        }
        Some(how)
    }

    /// Stops and reaps the peer.
    pub(crate) fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        crate::sys::contain::exit::untrack_peer(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.end();
    }
}

/// A block taken with `alloc`: the buffer (empty, its capacity the block) and where it landed.
#[derive(Debug)]
pub(crate) struct Block {
    buf: Vec<u8>,
    landed: Landing,
}

/// State of the experiments, owned next to the mapping.
#[derive(Debug, Default)]
pub struct Lab {
    pub peer: Option<Peer>,
    /// The forked child keeping the mapping (`fork`, `F`).
    pub keeper: Option<Keeper>,
    /// Blocks from the global allocator, newest last.
    pub(crate) allocations: Vec<Block>,
    /// What the allocations said of glibc's mmap threshold.
    pub(crate) threshold: Threshold,
    /// The mmapscope binary that runs helper processes (peer, truncate); `None`: this one.
    pub helper: Option<PathBuf>,
    /// The last peer that ended on its own: its pid and how (`reap_peer`), until another
    /// starts, so that `peer stop` can say it had ended.
    pub(crate) peer_ended: Option<(u32, String)>,
}

/// glibc's largest dynamic mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX, mallopt(3)):
/// a freed mmapped block larger than this does not raise it.
pub(crate) const THRESHOLD_MAX: u64 = 32 << 20;
/// glibc's mmap threshold at start (mallopt(3) M_MMAP_THRESHOLD).
pub(crate) const THRESHOLD_START: u64 = 128 << 10;

/// What can be said of glibc's mmap threshold. glibc keeps it to itself (no call returns it,
/// mallinfo2 included), and every allocation in the process moves it, ours and mmapscope's
/// own (a freed mmapped buffer raises it), so it is inferred, never read: from where blocks
/// landed (a block that grew the heap was below it; one that malloc mmapped was not) and from
/// glibc's documented rule (mallopt(3): freeing an mmapped block up to 32 MiB raises the
/// threshold to that block's size).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Threshold {
    /// It is at least this (bytes, as glibc compares chunk sizes).
    pub at_least: Option<u64>,
    /// It was at most this when a block of this chunk size was mmapped (a later free of an
    /// mmapped block, anyone's, may have raised it since).
    pub at_most: Option<u64>,
    /// Set by the environment (MALLOC_MMAP_THRESHOLD_, or glibc.malloc.mmap_threshold in
    /// GLIBC_TUNABLES): then it never slides.
    pub fixed_by: Option<String>,
}

/// glibc's chunk size for a request of `n` bytes on 64-bit (malloc/malloc.c request2size:
/// 8 bytes of header, 16-byte alignment, 32 at least): what it compares with the threshold.
pub(crate) fn chunk_size(n: u64) -> u64 {
    ((n + 8 + 15) & !15).max(32)
}

/// The size of the mapping glibc makes for an mmapped chunk of a request of `n` bytes
/// (malloc/malloc.c sysmalloc_mmap: chunk size plus 8, rounded up to pages).
pub(crate) fn mmapped_size(n: u64, page_size: u64) -> u64 {
    (chunk_size(n) + 8).div_ceil(page_size) * page_size
}

impl Default for Threshold {
    /// Nothing seen yet; the environment read.
    fn default() -> Self {
        Self::from_env()
    }
}

impl Threshold {
    /// Nothing seen yet, and the environment's fixing of the threshold, if any.
    pub(crate) fn from_env() -> Self {
        let fixed_by = std::env::var("MALLOC_MMAP_THRESHOLD_")
            .ok()
            .map(|v| format!("MALLOC_MMAP_THRESHOLD_={v}"))
            .or_else(|| {
                std::env::var("GLIBC_TUNABLES")
                    .ok()
                    .filter(|t| t.contains("glibc.malloc.mmap_threshold"))
                    .map(|t| format!("GLIBC_TUNABLES={t}"))
            });
        Self {
            at_least: None,
            at_most: None,
            fixed_by,
        }
    }

    /// Takes in where a block of `n` bytes landed.
    pub(crate) fn landed(&mut self, n: u64, landed: Landing) {
        let nb = chunk_size(n);
        match landed {
            // sysmalloc grew the heap with brk: it mmaps requests at or above the threshold.
            Landing::HeapGrew(_) => self.at_least = Some(self.at_least.unwrap_or(0).max(nb + 1)),
            // Above 32 MiB every block is mmapped: that says nothing of the threshold.
            Landing::NewMapping if nb > THRESHOLD_MAX => {}
            Landing::NewMapping => {
                self.at_most = Some(self.at_most.map_or(nb, |m| m.min(nb)));
                if self.at_least.is_some_and(|l| l > nb) {
                    // It cannot be both: something else moved it (only down: mallopt).
                    self.at_least = None;
                }
            }
            // From free space glibc had already: says nothing of the threshold.
            Landing::Heap | Landing::Existing | Landing::Unknown => {}
        }
    }

    /// Takes in the free of a block of `n` bytes that had landed `landed`.
    pub(crate) fn freed(&mut self, n: u64, landed: Landing, page_size: u64) {
        if landed != Landing::NewMapping || self.fixed_by.is_some() {
            return;
        }
        let size = mmapped_size(n, page_size);
        if size <= THRESHOLD_MAX {
            self.at_least = Some(self.at_least.unwrap_or(0).max(size));
            if self.at_most.is_some_and(|m| m < size) {
                self.at_most = None;
            }
        }
    }
}

impl Lab {
    /// The binary to start helper processes from.
    ///
    /// # Errors
    /// Our own executable could not be found.
    pub(crate) fn helper_binary(&self) -> Result<PathBuf, SysError> {
        match &self.helper {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe().map_err(|e| SysError::from_io(&e, "find our binary")),
        }
    }
}

/// Where a block landed, judged from /proc/self/maps before and after the allocation (never
/// assumed from its size: glibc's mmap threshold slides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// Its address was not mapped before, and is not the heap: malloc called mmap.
    NewMapping,
    /// In `[heap]`, which grew (brk) by this many bytes to hold it.
    HeapGrew(u64),
    /// In `[heap]`, in space brk had given before.
    Heap,
    /// Inside a mapping that existed before (an earlier mmap'd block's neighbour, an arena).
    Existing,
    /// Not found in /proc/self/maps.
    Unknown,
}

impl Landing {
    /// The word in the JSON result.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::NewMapping => "mmap",
            Self::HeapGrew(_) => "heap_grew",
            Self::Heap => "heap",
            Self::Existing => "existing",
            Self::Unknown => "unknown",
        }
    }
}

/// What an allocation looks like in /proc/self/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocated {
    pub(crate) addr: u64,
    pub(crate) size: u64,
    /// The maps line holding it (after the allocation).
    pub mapping: Option<maps::MapsLine>,
    /// Where it landed.
    pub landed: Landing,
    /// What is known of glibc's mmap threshold after it.
    pub threshold: Threshold,
}

/// In a result's JSON: the address, size, where it landed (and the two booleans of old), the
/// maps line holding it, and what is known of glibc's mmap threshold now.
impl serde::Serialize for Allocated {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("addr", &format!("0x{:x}", self.addr))?;
        m.serialize_entry("size", &self.size)?;
        m.serialize_entry("new_mapping", &self.new_mapping())?;
        m.serialize_entry("in_heap", &self.in_heap())?;
        m.serialize_entry("landed", self.landed.word())?;
        let line = self.mapping.as_ref().map(|l| {
            format!("{:x}-{:x} {} {}", l.start, l.end, l.perms, l.path)
                .trim_end()
                .to_string()
        });
        m.serialize_entry("mapping", &line)?;
        m.serialize_entry("threshold", &self.threshold)?;
        m.end()
    }
}

impl Allocated {
    /// malloc made a new mapping for it (with mmap).
    pub fn new_mapping(&self) -> bool {
        self.landed == Landing::NewMapping
    }

    /// It is in `[heap]`.
    pub(crate) fn in_heap(&self) -> bool {
        matches!(self.landed, Landing::Heap | Landing::HeapGrew(_))
    }
}

/// Where the block of `size` bytes at `addr` landed, from the maps lines before and after
/// allocating it. A block that starts in the heap's old top and ends past it grew the heap too.
pub(crate) fn landing(
    before: &[maps::MapsLine],
    after: &[maps::MapsLine],
    addr: u64,
    size: u64,
) -> Landing {
    let Some(line) = after.iter().find(|l| (l.start..l.end).contains(&addr)) else {
        return Landing::Unknown;
    };
    let heap_end =
        |lines: &[maps::MapsLine]| lines.iter().find(|l| l.path == "[heap]").map(|l| l.end);
    let was_mapped = before.iter().any(|l| (l.start..l.end).contains(&addr));
    let old_end = heap_end(before).unwrap_or(line.start);
    let grew = heap_end(after).unwrap_or(0).saturating_sub(old_end);
    match (line.path == "[heap]", was_mapped) {
        (true, false) => Landing::HeapGrew(grew),
        (true, true) if grew > 0 && addr.saturating_add(size) > old_end => Landing::HeapGrew(grew),
        (true, true) => Landing::Heap,
        (false, false) => Landing::NewMapping,
        (false, true) => Landing::Existing,
    }
}

impl Lab {
    /// Starts a peer writing a counter at mapping offset `offset` of `region`'s file (the
    /// write gate has allowed writing the file: `sys::ops::gate`, `FileChange::Peer`).
    ///
    /// # Errors
    /// No file (anonymous memory), the counter would not fit in the file, a peer runs already,
    /// or the process could not be started.
    pub(crate) fn start_peer(&mut self, region: &Region, offset: u64) -> Result<&Peer, SysError> {
        if self.peer.is_some() {
            return Err(SysError::new(
                libc::EBUSY,
                "peer start",
                "a peer is running already: peer stop first",
            ));
        }
        // The peer opens /proc/PID/fd/N: the very file we hold, not whatever the path names.
        let path = region
            .fd_path()
            .filter(|_| region.page_cache_file())
            .ok_or_else(|| {
                SysError::new(
                    libc::EINVAL,
                    "peer start",
                    "a peer maps the same file; anonymous memory and /dev/zero have none to share",
                )
            })?;
        let end = offset.checked_add(COUNTER_LEN);
        if end.is_none_or(|e| e > region.map_bytes()) {
            return Err(SysError::new(
                libc::EINVAL,
                "peer start",
                format!(
                    "offset 0x{offset:x}: the counter ({COUNTER_LEN} bytes) must lie inside the \
                     mapping (0x{:x} bytes)",
                    region.map_bytes()
                ),
            ));
        }
        let file_offset = region.offset() + offset;
        let size = region.file_size_now()?.unwrap_or(0);
        if file_offset + COUNTER_LEN > size {
            return Err(SysError::new(
                libc::EINVAL,
                "peer start",
                format!(
                    "the counter ({COUNTER_LEN} bytes at file offset {file_offset}) must lie inside \
                     the file ({size} B)"
                ),
            ));
        }
        let exe = self.helper_binary()?;
        let child = Command::new(exe)
            .env(PARENT_ENV, std::process::id().to_string())
            .arg("internal-peer")
            .arg(path)
            .arg(file_offset.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // One line at most, read once it has exited (`Peer::ended`): why it gave up.
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SysError::from_io(&e, "start the peer"))?;
        let mut peer = Peer { child, file_offset };
        // A peer that cannot map or write the file exits at once: say so instead of waiting
        // for a counter that never comes.
        std::thread::sleep(Duration::from_millis(50));
        if let Some(how) = peer.ended() {
            return Err(SysError::new(
                libc::ECHILD,
                "peer start",
                format!("the peer process ended at once: {how}"),
            ));
        }
        crate::sys::contain::exit::track_peer(peer.pid());
        self.peer_ended = None;
        Ok(self.peer.insert(peer))
    }

    /// The peer, if it has ended on its own (killed, or its file went away): reaped and
    /// forgotten (`peer_ended` keeps it); returns its pid and how it ended, in words.
    pub fn reap_peer(&mut self) -> Option<(u32, String)> {
        let how = self.peer.as_mut()?.ended()?;
        let pid = self.peer.take()?.pid();
        crate::sys::contain::exit::untrack_peer(pid);
        self.peer_ended = Some((pid, how.clone()));
        Some((pid, how))
    }

    /// Why `peer stop` has nothing to stop: no peer ever ran since the last stop, or the last
    /// one had ended on its own (reaped now if it just did), and how.
    pub(crate) fn no_peer(&mut self) -> SysError {
        let _ = self.reap_peer();
        let why = match &self.peer_ended {
            Some((pid, how)) => format!("the peer (pid {pid}) had already ended on its own: {how}"),
            None => "no peer is running".into(),
        };
        SysError::new(libc::ESRCH, "peer stop", why)
    }

    /// Stops the peer, if any; returns its pid.
    pub(crate) fn stop_peer(&mut self) -> Option<u32> {
        let peer = self.peer.take()?;
        let pid = peer.pid();
        peer.stop();
        Some(pid)
    }

    /// Takes `size` bytes from the global allocator and says where they landed. The bytes are
    /// not touched (as calloc leaves a fresh mmapped block): only malloc's choice is observed,
    /// and a block larger than memory costs nothing until written.
    ///
    /// # Errors
    /// ENOMEM when malloc refuses (RLIMIT_AS, overcommit); /proc unreadable.
    pub(crate) fn alloc(&mut self, size: u64) -> Result<Allocated, SysError> {
        let n = usize::try_from(size)
            .ok()
            .filter(|&n| n > 0 && n <= 1 << 34)
            .ok_or_else(|| {
                SysError::new(libc::EINVAL, "alloc", "give a size from 1 B to 16 GiB")
            })?;
        // The block is never touched, so it commits no memory; RLIMIT_AS still counts it.
        let asked = crate::sys::proc::limits::Asked {
            call: &format!("malloc({n})"),
            verb: "take",
            line: None,
        };
        let commit = crate::sys::proc::limits::Commit {
            address_space: size,
            ..Default::default()
        };
        crate::sys::proc::limits::admit(&asked, commit, false)?;
        let before = maps::read_maps()?;
        // Fallible: an infallible allocation aborts the whole process when malloc says no.
        let mut buf = Vec::<u8>::new();
        buf.try_reserve_exact(n).map_err(|_| {
            SysError::new(
                libc::ENOMEM,
                format!("malloc({n})"),
                "the address-space limit (RLIMIT_AS) or overcommit refused it; nothing was allocated",
            )
        })?;
        // What is left must still run us (reading /proc, the JSON, the screen): a block that
        // leaves less than `HEADROOM` is given back, lest the next small allocation abort.
        // Asked of the kernel with an anonymous mmap (RLIMIT_AS and overcommit both judge it),
        // not of malloc, whose thresholds would slide and change where the next block lands.
        // (The probe is unmapped again at once.)
        if memmap2::MmapOptions::new()
            .len(HEADROOM)
            .map_anon()
            .is_err()
        {
            return Err(SysError::new(
                libc::ENOMEM,
                format!("malloc({n})"),
                format!(
                    "it would leave less than {} MiB of address space for mmapscope itself \
                     (RLIMIT_AS or overcommit); nothing was allocated",
                    HEADROOM >> 20
                ),
            ));
        }
        let addr = buf.as_ptr() as u64;
        let after = maps::read_maps()?;
        let landed = landing(&before, &after, addr, size);
        self.allocations.push(Block { buf, landed });
        self.threshold.landed(size, landed);
        Ok(Allocated {
            addr,
            size,
            mapping: after
                .iter()
                .find(|l| (l.start..l.end).contains(&addr))
                .cloned(),
            landed,
            threshold: self.threshold.clone(),
        })
    }

    /// Frees the newest allocation; returns its address, size and where it had landed.
    pub(crate) fn free(&mut self) -> Option<(u64, u64, Landing)> {
        let block = self.allocations.pop()?;
        let (addr, size) = (block.buf.as_ptr() as u64, block.buf.capacity() as u64);
        drop(block.buf);
        self.threshold
            .freed(size, block.landed, crate::sys::map::request::page_size());
        Some((addr, size, block.landed))
    }

    /// Forks the keeper for `region` (see `children::Keeper`).
    ///
    /// # Errors
    /// EBUSY when a child keeps the mapping already; fork's refusal.
    pub(crate) fn fork(&mut self, region: &Region) -> Result<&Keeper, SysError> {
        if let Some(k) = &self.keeper {
            return Err(SysError::new(
                libc::EBUSY,
                "fork",
                format!(
                    "pid {} keeps the mapping already: child exit first (F in the explorer)",
                    k.pid()
                ),
            ));
        }
        let keeper = region.fork_keeper()?;
        Ok(self.keeper.insert(keeper))
    }

    /// The keeper, to give it an order.
    ///
    /// # Errors
    /// ESRCH when there is none.
    pub(crate) fn child(&mut self) -> Result<&mut Keeper, SysError> {
        self.keeper.as_mut().ok_or_else(|| {
            SysError::new(
                libc::ESRCH,
                "child",
                "no child keeps the mapping: fork first (`fork`, F in the explorer)",
            )
        })
    }

    /// Our mapping was mapped afresh (`mode`): for anonymous memory the keeper's copy is no
    /// longer the same object. Returns the keeper's pid, if there is one.
    pub(crate) fn mapping_replaced(&mut self, anon: bool) -> Option<u32> {
        let keeper = self.keeper.as_mut()?;
        if anon {
            keeper.detach();
        }
        Some(keeper.pid())
    }

    /// Where the keeper's copy of the mapping lies, if there is a keeper.
    pub fn child_spec(&self) -> Option<ChildSpec> {
        self.keeper.as_ref().map(Keeper::spec)
    }

    /// Tells the keeper to exit and reaps it; returns its pid and how it ended.
    ///
    /// # Errors
    /// ESRCH when there is none; waitpid's failure.
    pub(crate) fn end_child(&mut self) -> Result<(u32, String), SysError> {
        let keeper = self.keeper.take().ok_or_else(|| {
            SysError::new(libc::ESRCH, "child exit", "no child keeps the mapping")
        })?;
        let pid = keeper.pid();
        keeper.exit().map(|how| (pid, how))
    }

    /// The keeper, if it has ended on its own (killed from outside): reaped and forgotten;
    /// returns its pid and how it ended.
    pub fn reap_child(&mut self) -> Option<(u32, String)> {
        let how = self.keeper.as_mut()?.ended()?;
        let pid = self.keeper.take()?.pid();
        Some((pid, how))
    }
}

/// The body of `mmapscope demo-writer FILE`, a program to debug with `--pid`: it maps FILE
/// MAP_SHARED, then every `period_ms` writes one byte (`*`) into a pseudo-random page of it
/// (dirtying that page) and grows its heap with a 16 KiB block it fills (so Rss grows), and
/// prints one line per write (`write page N`) after a first line with its pid. It stops after
/// `writes` writes (0: never), or when killed.
///
/// # Errors
/// FILE cannot be mapped writable, or a write fails.
pub fn run_demo_writer(path: &Path, period_ms: u64, writes: u64) -> Result<(), SysError> {
    use std::io::Write as _;
    let region = Region::open(&MapRequest {
        source: Source::File(PathBuf::from(path)),
        mode: MapMode::Shared,
        offset: 0,
        len: None,
        prot: Some(crate::sys::map::request::Prot::RW),
        write: true,
        place: Default::default(),
    })?;
    let data_pages = region.geometry()?.data_bytes().div_ceil(region.page_size());
    if data_pages == 0 {
        return Err(SysError::new(
            libc::EINVAL,
            "demo-writer",
            "the file is empty: give it some pages to dirty",
        ));
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "pid {}", std::process::id());
    let _ = out.flush();
    let mut heap: Vec<Vec<u8>> = Vec::new();
    // A linear congruential generator (Knuth's MMIX constants): no crate, reproducible.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut n = 0;
    while writes == 0 || n < writes {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let page = (seed >> 33) % data_pages;
        region.write(page * region.page_size(), b"*")?;
        heap.push(vec![n as u8; 16 << 10]);
        let _ = writeln!(out, "write page {page}");
        let _ = out.flush();
        n += 1;
        std::thread::sleep(Duration::from_millis(period_ms));
    }
    // Done writing: stay alive, unchanged, until standard input closes (a test, or Ctrl-D).
    let _ = writeln!(out, "done");
    let _ = out.flush();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    std::hint::black_box(&heap);
    Ok(())
}

/// The peer process's body: map the page holding `file_offset` of `path` MAP_SHARED and write
/// an eight-digit counter there every `PEER_PERIOD`, until the parent goes away or SIGTERM.
///
/// # Errors
/// The file could not be mapped or written.
pub fn run_peer(path: &Path, file_offset: u64) -> Result<(), SysError> {
    // Die with the parent, whatever way it ends (a crash included).
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    let parent = rustix::process::getppid();
    // A parent that died before the line above took effect sends nothing: getppid then names
    // whoever adopted us, not the pid the parent gave us.
    let expected = std::env::var(PARENT_ENV)
        .ok()
        .and_then(|p| p.parse::<i32>().ok());
    if expected.is_some() && parent.map(|p| p.as_raw_nonzero().get()) != expected {
        return Ok(());
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))
            .map_err(|e| SysError::from_io(&e, "signal handler"))?;
    }
    let ps = crate::sys::map::request::page_size();
    let page_start = file_offset - file_offset % ps;
    let region = Region::open(&MapRequest {
        source: Source::File(PathBuf::from(path)),
        mode: MapMode::Shared,
        offset: page_start,
        len: Some(ps * 2),
        prot: Some(crate::sys::map::request::Prot::RW),
        write: true,
        place: Default::default(),
    })?;
    let at = file_offset - page_start;
    let mut n: u64 = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) && rustix::process::getppid() == parent {
        n += 1;
        let text = format!("{:08}", n % 100_000_000);
        if let Err(e) = region.write(at, text.as_bytes()) {
            // Cut short under it (a truncate): say so, rather than a bare EFAULT.
            return Err(match region.file_size_now() {
                Ok(Some(size)) if size < file_offset + COUNTER_LEN => SysError::new(
                    e.errno,
                    format!("peer write at file offset {file_offset}"),
                    format!(
                        "the file is {size} B now: the counter's bytes lie past its end, where \
                         a store would raise SIGBUS, so the peer stops"
                    ),
                ),
                _ => e,
            });
        }
        std::thread::sleep(PEER_PERIOD);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(start: u64, end: u64, path: &str) -> maps::MapsLine {
        maps::MapsLine::sample(start, end, "rw-p", path)
    }

    #[test]
    fn where_a_block_landed_is_judged_from_maps_before_and_after() {
        let heap = |end| line(0x1000, end, "[heap]");
        let before = [heap(0x5000), line(0x7000_0000, 0x7000_4000, "")];
        // The heap grew to hold it: brk, however large the block (the old note said mmap).
        let after = [heap(0x9_5000), line(0x7000_0000, 0x7000_4000, "")];
        assert_eq!(
            landing(&before, &after, 0x6000, 0x1000),
            Landing::HeapGrew(0x9_0000)
        );
        // Starting in the old top of the heap and ending past it: the heap grew for it too.
        assert_eq!(
            landing(&before, &after, 0x4000, 0x8_0000),
            Landing::HeapGrew(0x9_0000)
        );
        assert_eq!(landing(&before, &after, 0x2000, 0x100), Landing::Heap);
        assert_eq!(landing(&before, &before, 0x2000, 0x100), Landing::Heap);
        // A new anonymous range, even one merged with its neighbour into a larger line.
        let after = [heap(0x5000), line(0x6f00_0000, 0x7000_4000, "")];
        assert_eq!(
            landing(&before, &after, 0x6f00_0010, 0x100),
            Landing::NewMapping
        );
        assert_eq!(
            landing(&before, &before, 0x7000_1000, 0x100),
            Landing::Existing
        );
        assert_eq!(landing(&before, &before, 0x10, 1), Landing::Unknown);
    }

    #[test]
    fn the_threshold_is_bounded_by_landings_and_raised_by_frees_of_mmapped_blocks() {
        let mut t = Threshold {
            fixed_by: None,
            ..Threshold::default()
        };
        t.landed(100 << 10, Landing::HeapGrew(4096));
        assert_eq!(t.at_least, Some(chunk_size(100 << 10) + 1));
        t.landed(1 << 20, Landing::NewMapping);
        assert_eq!(t.at_most, Some(chunk_size(1 << 20)));
        t.landed(10, Landing::Heap);
        assert_eq!(t.at_least, Some(chunk_size(100 << 10) + 1), "no news");
        // Freeing the 1 MiB block raises it to that block's mapping (1 MiB + a page).
        t.freed(1 << 20, Landing::NewMapping, 4096);
        assert_eq!(t.at_least, Some((1 << 20) + 4096));
        assert_eq!(t.at_most, None, "the old upper bound is gone");
        // Blocks above 32 MiB do not move it; heap blocks neither.
        t.freed(64 << 20, Landing::NewMapping, 4096);
        t.freed(1 << 10, Landing::Heap, 4096);
        assert_eq!(t.at_least, Some((1 << 20) + 4096));
        t.landed(64 << 20, Landing::NewMapping);
        assert_eq!(t.at_most, None, "a block above 32 MiB bounds nothing");
        assert_eq!(chunk_size(1), 32);
        assert_eq!(mmapped_size(200 << 10, 4096), 204_800 + 4096);
    }

    #[test]
    fn snippets_exist_for_this_machine_or_say_why_not() {
        match std::env::consts::ARCH {
            "x86_64" => assert_eq!(snippet("ret42").unwrap(), &[0xb8, 0x2a, 0, 0, 0, 0xc3]),
            "aarch64" => assert_eq!(snippet("ret42").unwrap().len(), 8),
            _ => assert!(snippet("ret42").is_err()),
        }
        let err = snippet("nope").unwrap_err();
        assert!(err.explanation.contains("ret42, add"), "{err}");
    }

    #[test]
    fn a_large_allocation_is_its_own_mapping_and_goes_away_when_freed() {
        let mut lab = Lab::default();
        // Above glibc's largest dynamic mmap threshold (32 MiB), so always mmap.
        let a = lab.alloc(64 << 20).unwrap();
        assert!(a.new_mapping(), "{a:?}");
        let line = a.mapping.clone().unwrap();
        let (start, end) = (line.start, line.end);
        assert!(end - start >= 64 << 20);
        assert_eq!(line.perms, "rw-p");
        assert_eq!(line.path, "");
        assert_eq!(lab.free(), Some((a.addr, 64 << 20, Landing::NewMapping)));
        let maps = maps::read_maps().unwrap();
        assert!(
            !maps.iter().any(|l| l.start == start && l.end == end),
            "the mapping went away with free"
        );
        assert_eq!(lab.free(), None);
    }
}
