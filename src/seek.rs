//! Searches that run across ticks of the event loop: the next page in a state (`: dirty`) and
//! bytes (`/ 7f 45 4c 46`), over the whole of any `Mapped` (our mapping, or a VMA explored in
//! any process), a chunk of pages at a time within a time budget, so that the screen stays live
//! and Esc can stop them.
//!
//! Neither faults anything in. A state search only probes (`Prober::probe`: mincore, pagemap,
//! cachestat, kpageflags). A byte search reads only pages resident in our own mapping (no disk
//! I/O; from the page cache without mapping them where the mapping is shared, else with
//! `Mapped::read`, a copy that never raises a signal), or present in a VMA not ours (a read
//! elsewhere would fault the page in, changing what we look at); `/!` reads every page of our
//! own mapping that holds file data, faulting it in. Pages beyond end of file are never
//! read.
//!
//! In a shared mapping of a page-cache file every page that is resident, present or dirty is in
//! the file's page cache, so one cachestat over a range with none cached clears the whole
//! range at once: ranges cleared this way grow (up to `SKIP_MAX` pages), and a sparse 1 TiB
//! file is crossed in a few hundred calls.

use std::time::{Duration, Instant};

use crate::find::{Ending, Finished, Matcher, PATTERN_MAX, Query, Request, StateQuery, StateWord};
use crate::geometry::Geometry;
use crate::sys::mapped::Mapped;
use crate::sys::probe::{PM_PRESENT, Prober};
use crate::sys::region::MapMode;

/// Pages probed at once by a state search.
pub const STATE_CHUNK: u64 = 4096;
/// Pages read at once by a byte search (1 MiB of 4 KiB pages).
pub const BYTE_CHUNK: u64 = 256;
/// The most pages one cachestat clears at once.
pub const SKIP_MAX: u64 = 1 << 20;

/// What a step of a search came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Still looking: `done` pages of `total`.
    Running {
        done: u64,
        total: u64,
    },
    Done(Finished),
}

/// One chunk's result.
enum Next {
    More,
    End(Ending),
}

/// What both kinds of search share: the mapping's shape, the direction, the counters.
struct Walk {
    geometry: Geometry,
    forward: bool,
    /// cachestat can clear ranges (a shared mapping of a page-cache file).
    cache_filter: bool,
    /// Pages the next chunk covers.
    chunk: u64,
    done: u64,
    skipped: u64,
    bytes: u64,
}

impl Walk {
    fn page_size(&self) -> u64 {
        self.geometry.page_size
    }

    /// Whether cachestat says pages `[first, first + n)` hold nothing of the file's page cache
    /// (with `dirty`: nothing dirty): nothing there can be resident, present or dirty.
    fn cleared(&self, mapped: &dyn Mapped, first: u64, n: u64, dirty: bool) -> bool {
        if !self.cache_filter {
            return false;
        }
        let ps = self.page_size();
        mapped
            .cachestat(mapped.offset() + first * ps, n * ps)
            .is_ok_and(|st| st.nr_cache == 0 || (dirty && st.nr_dirty == 0))
    }

    /// After a range cleared by cachestat: a larger one next.
    fn grow(&mut self) {
        self.chunk = (self.chunk * 4).min(SKIP_MAX);
    }

    /// Pages of `[first, end)` holding file data (not beyond end of file).
    fn data_pages(&self, first: u64, end: u64) -> u64 {
        match self.geometry.file_size {
            None => end - first,
            Some(_) => {
                let data = self.geometry.data_bytes().div_ceil(self.page_size());
                end.min(data).saturating_sub(first)
            }
        }
    }
}

/// The next page in a state, walked from `start` (the page after or before the cursor's),
/// wrapping once.
struct StateScan {
    q: StateQuery,
    start: u64,
    /// Pages walked so far.
    i: u64,
    /// Pages probed at once.
    base: u64,
}

impl StateScan {
    fn page_at(&self, i: u64, pages: u64, forward: bool) -> u64 {
        if forward {
            (self.start + i) % pages
        } else {
            (self.start + pages - i % pages) % pages
        }
    }

    /// Whether cachestat may clear ranges for this query: only a page that is in the page
    /// cache can be resident, present, exclusive or dirty there.
    fn filterable(&self) -> bool {
        !self.q.negated
            && matches!(
                self.q.word,
                StateWord::Dirty | StateWord::Resident | StateWord::Present | StateWord::Exclusive
            )
    }

    fn advance(&mut self, w: &mut Walk, mapped: &dyn Mapped, prober: &Prober) -> Next {
        let pages = w.geometry.pages();
        if self.i >= pages {
            return Next::End(Ending::NotFound);
        }
        let p = self.page_at(self.i, pages, w.forward);
        let room = if w.forward { pages - p } else { p + 1 };
        let n = w.chunk.min(pages - self.i).min(room);
        let lo = if w.forward { p } else { p + 1 - n };
        let dirty = self.q.word == StateWord::Dirty && !mapped.always_dirty();
        if self.filterable() && w.cleared(mapped, lo, n, dirty) {
            self.i += n;
            w.done += n;
            w.grow();
            return Next::More;
        }
        if n > self.base {
            w.chunk = self.base;
            return Next::More;
        }
        let hit = self.find_in(w, mapped, prober, lo, n);
        self.i += n;
        w.done += n;
        match hit {
            Some(page) => Next::End(Ending::Found {
                offset: page * w.page_size(),
                len: w.page_size(),
                wrapped: if w.forward {
                    page < self.start
                } else {
                    page > self.start
                },
            }),
            None => Next::More,
        }
    }

    /// The first page of `[lo, lo + n)` in the walk's direction that matches.
    fn find_in(
        &self,
        w: &Walk,
        mapped: &dyn Mapped,
        prober: &Prober,
        lo: u64,
        n: u64,
    ) -> Option<u64> {
        let q = self.q;
        if q.word == StateWord::Beyond {
            // The geometry says it: nothing to probe.
            let hit = |p: &u64| w.geometry.page(*p).beyond_eof != q.negated;
            return if w.forward {
                (lo..lo + n).find(hit)
            } else {
                (lo..lo + n).rev().find(hit)
            };
        }
        let probes = prober.probe(mapped, lo, n);
        let states = prober.decode(mapped, &w.geometry, lo, &probes);
        let k = if w.forward {
            states.iter().position(|s| q.matches(s))
        } else {
            states.iter().rposition(|s| q.matches(s))
        };
        k.map(|k| lo + k as u64)
    }
}

/// Which pages a byte search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readable {
    /// Resident (mincore): our own mapping.
    Resident,
    /// Present in the page tables (pagemap): a VMA not ours.
    Present,
    /// Every page holding file data (`/!`, our own mapping): faults pages in.
    All,
}

/// Reads `buf.len()` bytes at `a` (pages `readable` says may be read) without changing what
/// they are: resident pages of a shared file mapping of ours come from the page cache (pread,
/// no page mapped), the rest through the mapping (a resident page is mapped in, no disk I/O;
/// a MAP_PRIVATE page may be our own copy, which only the mapping holds). Returns how many.
fn read_quietly(mapped: &dyn Mapped, readable: Readable, a: u64, buf: &mut [u8]) -> usize {
    let mut got = 0;
    if readable == Readable::Resident && mapped.mode() == MapMode::Shared {
        got = mapped.read_page_cache(a, buf).unwrap_or(0);
    }
    if got < buf.len() {
        got += mapped.read(a + got as u64, &mut buf[got..]).unwrap_or(0);
    }
    got
}

/// Bytes, walked in two legs: after the cursor to the end, then from the start up to it
/// (backward: before the cursor down to the start, then from the end down to it).
struct ByteScan {
    matcher: Matcher,
    readable: Readable,
    legs: [(u64, u64); 2],
    leg: usize,
    /// Forward: the next byte to look at; backward: the end of what is still to look at.
    pos: u64,
    /// The bytes of the previous run next to `carry_at` (its last `len - 1`, or backward its
    /// first), for matches across the boundary.
    carry: Vec<u8>,
    carry_at: u64,
    /// Read buffer, allocated once: a chunk and a carry.
    buf: Vec<u8>,
    /// Per page of the chunk: read it.
    ok: Vec<bool>,
    core: Vec<u8>,
    words: Vec<u64>,
}

impl ByteScan {
    fn new(matcher: Matcher, readable: Readable, legs: [(u64, u64); 2], w: &Walk) -> Self {
        let cap = usize::try_from(BYTE_CHUNK * w.page_size()).unwrap_or(1 << 20) + PATTERN_MAX;
        Self {
            pos: if w.forward { legs[0].0 } else { legs[0].1 },
            matcher,
            readable,
            legs,
            leg: 0,
            carry: Vec::with_capacity(PATTERN_MAX),
            carry_at: u64::MAX,
            buf: vec![0; cap],
            ok: Vec::new(),
            core: Vec::new(),
            words: Vec::new(),
        }
    }

    fn advance(&mut self, w: &mut Walk, mapped: &dyn Mapped, prober: &Prober) -> Next {
        let ps = w.page_size();
        let Some(&(lo, hi)) = self.legs.get(self.leg) else {
            return Next::End(Ending::NotFound);
        };
        let (from, to) = if w.forward {
            (self.pos, hi)
        } else {
            (lo, self.pos)
        };
        if from >= to {
            self.leg += 1;
            self.carry.clear();
            self.carry_at = u64::MAX;
            if let Some(&(l, h)) = self.legs.get(self.leg) {
                self.pos = if w.forward { l } else { h };
            }
            return Next::More;
        }
        let (pa, pb) = if w.forward {
            let pa = from / ps;
            (pa, (pa + w.chunk).min(to.div_ceil(ps)))
        } else {
            let pb = to.div_ceil(ps);
            (pb.saturating_sub(w.chunk).max(from / ps), pb)
        };
        let (blo, bhi) = ((pa * ps).max(from), (pb * ps).min(to));
        let n = pb - pa;
        if self.readable != Readable::All && w.cleared(mapped, pa, n, false) {
            w.skipped += w.data_pages(pa, pb);
            w.grow();
        } else if n > BYTE_CHUNK {
            w.chunk = BYTE_CHUNK;
            return Next::More;
        } else {
            self.mark(w, mapped, prober, pa, n);
            if let Some(off) = self.scan_runs(w, mapped, pa, blo, bhi) {
                return Next::End(Ending::Found {
                    offset: off,
                    len: self.matcher.len() as u64,
                    wrapped: self.leg == 1,
                });
            }
        }
        w.done += n;
        self.pos = if w.forward { bhi } else { blo };
        Next::More
    }

    /// Which pages of `[pa, pa + n)` to read, into `ok`; counts the others holding data as
    /// skipped.
    fn mark(&mut self, w: &mut Walk, mapped: &dyn Mapped, prober: &Prober, pa: u64, n: u64) {
        let data = |p: u64| !w.geometry.page(p).beyond_eof;
        self.ok.clear();
        match self.readable {
            Readable::All => self.ok.extend((pa..pa + n).map(data)),
            Readable::Resident => {
                let got = mapped.mincore(pa, n, &mut self.core).is_ok();
                let core = &self.core;
                self.ok
                    .extend((0..n).map(|k| got && core[k as usize] & 1 != 0 && data(pa + k)));
            }
            Readable::Present => {
                let got = prober.pagemap_words(mapped, pa, n, &mut self.words).is_ok();
                let words = &self.words;
                self.ok.extend(
                    (0..n).map(|k| got && words[k as usize] & PM_PRESENT != 0 && data(pa + k)),
                );
            }
        }
        let unread = (0..n)
            .filter(|&k| !self.ok[k as usize] && data(pa + k))
            .count();
        w.skipped += unread as u64;
    }

    /// Reads the runs of pages marked in `ok` (bytes `[blo, bhi)` of them), in the walk's
    /// order; the offset of the first match.
    fn scan_runs(
        &mut self,
        w: &mut Walk,
        mapped: &dyn Mapped,
        pa: u64,
        blo: u64,
        bhi: u64,
    ) -> Option<u64> {
        let ps = w.page_size();
        let mut runs = Vec::new();
        let mut k = 0;
        while k < self.ok.len() {
            let start = k;
            while k < self.ok.len() && self.ok[k] == self.ok[start] {
                k += 1;
            }
            if self.ok[start] {
                runs.push((start as u64, k as u64));
            }
        }
        if !w.forward {
            runs.reverse();
        }
        for (ra, rb) in runs {
            let (a, b) = (((pa + ra) * ps).max(blo), ((pa + rb) * ps).min(bhi));
            if a >= b {
                continue;
            }
            let hit = if w.forward {
                self.scan_forward(w, mapped, a, b)
            } else {
                self.scan_backward(w, mapped, a, b)
            };
            if hit.is_some() {
                return hit;
            }
        }
        None
    }

    /// Bytes `[a, b)` after the carry when it ends at `a`: the first match.
    fn scan_forward(&mut self, w: &mut Walk, mapped: &dyn Mapped, a: u64, b: u64) -> Option<u64> {
        let c = if self.carry_at == a {
            self.carry.len()
        } else {
            0
        };
        self.buf[..c].copy_from_slice(&self.carry[..c]);
        let len = usize::try_from(b - a).unwrap_or(0).min(self.buf.len() - c);
        let got = read_quietly(mapped, self.readable, a, &mut self.buf[c..c + len]);
        w.bytes += got as u64;
        let hay = &self.buf[..c + got];
        let base = a - c as u64;
        if let Some(i) = self.matcher.find(hay) {
            return Some(base + i as u64);
        }
        let keep = (self.matcher.len() - 1).min(hay.len());
        self.carry.clear();
        self.carry.extend_from_slice(&hay[hay.len() - keep..]);
        self.carry_at = base + hay.len() as u64;
        None
    }

    /// Bytes `[a, b)` before the carry when it starts at `b`: the last match.
    fn scan_backward(&mut self, w: &mut Walk, mapped: &dyn Mapped, a: u64, b: u64) -> Option<u64> {
        let len = usize::try_from(b - a)
            .unwrap_or(0)
            .min(self.buf.len() - PATTERN_MAX);
        let got = read_quietly(mapped, self.readable, a, &mut self.buf[..len]);
        w.bytes += got as u64;
        let mut end = got;
        if got == len && self.carry_at == b {
            let c = self.carry.len();
            self.buf[got..got + c].copy_from_slice(&self.carry);
            end += c;
        }
        if let Some(i) = self.matcher.rfind(&self.buf[..end]) {
            return Some(a + i as u64);
        }
        let keep = (self.matcher.len() - 1).min(got);
        self.carry.clear();
        self.carry.extend_from_slice(&self.buf[..keep]);
        self.carry_at = a;
        None
    }
}

enum Kind {
    State(StateScan),
    Bytes(Box<ByteScan>),
}

/// A search over a mapping, advanced by `step`.
pub struct Job {
    req: Request,
    walk: Walk,
    kind: Kind,
    /// Time spent in `step` (not waiting between ticks).
    worked: Duration,
    note: Option<String>,
}

impl Job {
    /// A search of `mapped` as `req` asks.
    pub fn new(req: Request, mapped: &dyn Mapped) -> Self {
        let geometry = mapped.geometry().unwrap_or(Geometry {
            page_size: mapped.page_size(),
            offset: mapped.offset(),
            len: mapped.len(),
            // An unreadable size: nothing is read (as a snapshot does).
            file_size: Some(0),
        });
        let mut walk = Walk {
            geometry,
            forward: req.forward,
            cache_filter: mapped.page_cache_file()
                && mapped.mode() == MapMode::Shared
                && Prober::cachestat_support(mapped).is_ok(),
            chunk: STATE_CHUNK,
            done: 0,
            skipped: 0,
            bytes: 0,
        };
        let mut note = None;
        let kind = match &req.query {
            Query::State(q) => Kind::State(state_scan(*q, &req, &geometry, &mut walk)),
            Query::Bytes(p) => {
                let readable = match (mapped.ours(), p.fault_in) {
                    (true, true) => Readable::All,
                    (true, false) => Readable::Resident,
                    (false, fault_in) => {
                        if fault_in {
                            note = Some(
                                "/! faults pages in only in our own mapping: this VMA's pages \
                                 are read where present"
                                    .to_string(),
                            );
                        }
                        Readable::Present
                    }
                };
                let legs = if mapped.prot().read {
                    legs(&req, geometry.map_bytes(), p.bytes.len() as u64)
                } else {
                    note = Some("the mapping has no PROT_READ: nothing can be read".into());
                    [(0, 0); 2]
                };
                walk.chunk = BYTE_CHUNK;
                let matcher = Matcher::new(&p.bytes);
                Kind::Bytes(Box::new(ByteScan::new(matcher, readable, legs, &walk)))
            }
        };
        Self {
            req,
            walk,
            kind,
            worked: Duration::ZERO,
            note,
        }
    }

    /// Works for about `budget`: until a match, the end, or the time is up.
    pub fn step(&mut self, mapped: &dyn Mapped, prober: &Prober, budget: Duration) -> Step {
        let t0 = Instant::now();
        let ending = loop {
            let next = match &mut self.kind {
                Kind::State(s) => s.advance(&mut self.walk, mapped, prober),
                Kind::Bytes(b) => b.advance(&mut self.walk, mapped, prober),
            };
            if let Next::End(ending) = next {
                break ending;
            }
            if t0.elapsed() >= budget {
                self.worked += t0.elapsed();
                return Step::Running {
                    done: self.walk.done.min(self.total()),
                    total: self.total(),
                };
            }
        };
        self.worked += t0.elapsed();
        Step::Done(self.finish(ending))
    }

    /// Pages of the mapping.
    pub fn total(&self) -> u64 {
        self.walk.geometry.pages()
    }

    /// How it ends when stopped now.
    pub fn cancelled(self) -> Finished {
        self.finish(Ending::Cancelled)
    }

    fn finish(&self, ending: Ending) -> Finished {
        let w = &self.walk;
        let mut notes: Vec<String> = self.note.iter().cloned().collect();
        if let Kind::Bytes(b) = &self.kind
            && w.skipped > 0
        {
            let n = crate::text::thousands(w.skipped);
            notes.push(match b.readable {
                Readable::Resident => {
                    format!(
                        "{n} pages not resident were not read (/! reads them, faulting them in)"
                    )
                }
                _ => format!("{n} pages not present were not read (a read would fault them in)"),
            });
        }
        Finished {
            query: self.req.query.clone(),
            forward: self.req.forward,
            ending,
            examined: w.done,
            skipped: w.skipped,
            bytes: w.bytes,
            elapsed_us: u64::try_from(self.worked.as_micros()).unwrap_or(u64::MAX),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        }
    }
}

/// A state search starts on the page after the cursor's (before it, backward).
fn state_scan(q: StateQuery, req: &Request, g: &Geometry, walk: &mut Walk) -> StateScan {
    let pages = g.pages().max(1);
    let cur = (req.from / g.page_size).min(pages - 1);
    let base = if q.word == StateWord::Beyond {
        SKIP_MAX
    } else {
        STATE_CHUNK
    };
    walk.chunk = base;
    StateScan {
        q,
        start: if req.forward {
            (cur + 1) % pages
        } else {
            (cur + pages - 1) % pages
        },
        i: 0,
        base,
    }
}

/// The two legs of a byte search of a pattern `len` bytes long in `end` bytes: forward, the
/// matches starting after the cursor, then those up to it; backward, those before it, then
/// those from it on.
fn legs(req: &Request, end: u64, len: u64) -> [(u64, u64); 2] {
    let from = req.from.min(end);
    if req.forward {
        [((from + 1).min(end), end), (0, (from + len).min(end))]
    } else {
        [(0, (from + len - 1).min(end)), (from, end)]
    }
}
