//! A byte search (`/`): the bytes of the pages it may read, walked in two legs around the
//! cursor a chunk at a time, with matches across chunk boundaries carried over. Which pages it
//! reads is said in `search::job`'s opening paragraph: never one that is not in memory, unless
//! `/!` asks.

use std::cell::OnceCell;

use super::{BYTE_CHUNK, ENTRY_SKIP_MAX, Entries, Gone, Next, Walk};
use crate::search::query::{Ending, Matcher, PATTERN_MAX};
use crate::sys::map::range::Mapped;
use crate::sys::probe::look::{self, Facts, How};
use crate::sys::probe::prober::Prober;

/// Which pages a byte search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Readable {
    /// In memory: our own mapping (the page cache, our copies, anonymous memory in it).
    Resident,
    /// Present in the page tables (pagemap): a VMA not ours.
    Present,
    /// Every page holding file data (`/!`, our own mapping): faults pages in.
    All,
}

/// Bytes, walked in two legs: after the cursor to the end, then from the start up to it
/// (backward: before the cursor down to the start, then from the end down to it).
/// The answers of the calls that tell which pages of a chunk are in memory: mincore's bytes,
/// pagemap's words, cachestat's page flags.
#[derive(Default)]
struct Said {
    core: Vec<u8>,
    words: Vec<u64>,
    cached: Vec<bool>,
}

pub(super) struct ByteScan {
    matcher: Matcher,
    pub(super) readable: Readable,
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
    /// Per page of the chunk: how it is read, if at all (`look::how`).
    hows: Vec<How>,
    /// What the kernel said of each page of the chunk, allocated once.
    said: Said,
    /// Whether swap could hold pages (read once, for shared anonymous memory).
    swap: OnceCell<bool>,
}

impl ByteScan {
    pub(super) fn new(
        matcher: Matcher,
        readable: Readable,
        legs: [(u64, u64); 2],
        w: &Walk,
    ) -> Self {
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
            hows: Vec::new(),
            said: Said::default(),
            swap: OnceCell::new(),
        }
    }

    pub(super) fn advance(&mut self, w: &mut Walk, mapped: &dyn Mapped, prober: &Prober) -> Next {
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
        match self.unreadable(w, mapped, prober, pa, pb) {
            Some(Skip::Whole) => {}
            Some(Skip::To(next)) => return next,
            None if n > BYTE_CHUNK => {
                w.chunk = BYTE_CHUNK;
                return Next::More;
            }
            None => {
                if self.mark(w, mapped, prober, pa, n).is_err() {
                    return Next::End(Ending::Stopped);
                }
                if let Some(off) = self.scan_runs(w, mapped, pa, blo, bhi) {
                    return Next::End(Ending::Found {
                        offset: off,
                        len: self.matcher.len() as u64,
                        wrapped: self.leg == 1,
                    });
                }
            }
        }
        w.done += n;
        self.pos = if w.forward { bhi } else { blo };
        Next::More
    }

    /// Whether pages of the window `[pa, pb)` can be passed without reading them: all of them
    /// (cachestat says none is cached, PAGEMAP_SCAN that none has a page-table entry, where
    /// only such pages are read), or those before the first run with an entry (backward:
    /// after the last), the walk then moved past them. `None`: read the window.
    pub(super) fn unreadable(
        &mut self,
        w: &mut Walk,
        mapped: &dyn Mapped,
        prober: &Prober,
        pa: u64,
        pb: u64,
    ) -> Option<Skip> {
        if self.readable == Readable::All {
            return None;
        }
        if w.cleared(mapped, pa, pb - pa, false) {
            w.skipped += w.data_pages(pa, pb);
            w.cleared += pb - pa;
            w.grow();
            return Some(Skip::Whole);
        }
        let ps = w.page_size();
        let (holes, pos) = match w.entries(mapped, prober, pa, pb) {
            Entries::Unknown => return None,
            Entries::Exited => return Some(Skip::To(Next::End(Ending::Stopped))),
            Entries::None => {
                w.skipped += w.data_pages(pa, pb);
                w.cleared += pb - pa;
                w.grow_to(ENTRY_SKIP_MAX);
                return Some(Skip::Whole);
            }
            Entries::Short(reached) => {
                w.chunk = pb - reached;
                return Some(Skip::To(Next::More));
            }
            Entries::Run(a, _) if w.forward && a > pa => ((pa, a), a * ps),
            Entries::Run(_, b) if !w.forward && b < pb => ((b, pb), b * ps),
            Entries::Run(..) => {
                w.chunk = BYTE_CHUNK;
                return None;
            }
        };
        w.skipped += w.data_pages(holes.0, holes.1);
        w.pass(holes.1 - holes.0);
        w.chunk = BYTE_CHUNK;
        self.pos = pos;
        Some(Skip::To(Next::More))
    }

    /// How to read each page of `[pa, pa + n)`, into `hows` (`look::how`, as the grid reads:
    /// a page-cache page through a window on the page cache, our private copy through the
    /// mapping, in a VMA not ours a present page; the zeros of untouched anonymous memory
    /// are not read); counts the others holding data as skipped. `Gone` when the process
    /// whose pages they are has exited.
    pub(super) fn mark(
        &mut self,
        w: &mut Walk,
        mapped: &dyn Mapped,
        prober: &Prober,
        pa: u64,
        n: u64,
    ) -> Result<(), Gone> {
        self.hows.clear();
        if self.readable == Readable::All {
            let how = |p: u64| match w.geometry.page(p).beyond_eof {
                true => How::Skip,
                false => How::Mapping,
            };
            self.hows.extend((pa..pa + n).map(how));
            return Ok(());
        }
        let words = match prober.pagemap_words(mapped, pa, n, &mut self.said.words) {
            Err(e) if e.errno == libc::ESRCH => return Err(Gone),
            result => result.is_ok(),
        };
        // Only our own mapping's pages are read from the page cache: cachestat says which
        // are in it (mincore, where cachestat cannot, would say all of them are for a file we
        // may not write).
        let cached = mapped.ours()
            && w.cached_known
            && look::cached_pages(mapped, pa, n, &mut self.said.cached).is_ok();
        let core = mapped.ours() && !cached && mapped.mincore(pa, n, &mut self.said.core).is_ok();
        for k in 0..n as usize {
            let facts = Facts {
                pagemap: words.then(|| self.said.words[k]),
                cached: cached.then(|| self.said.cached[k]),
                resident: core.then(|| self.said.core[k] & 1 != 0),
            };
            let how = look::how(mapped, &w.geometry, pa + k as u64, Some(&facts), &self.swap);
            // A search looks for bytes in memory: untouched anonymous memory is not read.
            self.hows.push(match how {
                How::Zeros => How::Unread,
                how => how,
            });
        }
        w.skipped += self.hows.iter().filter(|h| **h == How::Unread).count() as u64;
        Ok(())
    }

    /// Reads the runs of pages read the same way (`hows`; bytes `[blo, bhi)` of them), in the
    /// walk's order; the offset of the first match.
    pub(super) fn scan_runs(
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
        while k < self.hows.len() {
            let start = k;
            while k < self.hows.len() && self.hows[k] == self.hows[start] {
                k += 1;
            }
            if self.hows[start].reads() {
                runs.push((start as u64, k as u64, self.hows[start]));
            }
        }
        if !w.forward {
            runs.reverse();
        }
        for (ra, rb, how) in runs {
            let (a, b) = (((pa + ra) * ps).max(blo), ((pa + rb) * ps).min(bhi));
            if a >= b {
                continue;
            }
            let hit = if w.forward {
                self.scan_forward(w, mapped, how, (a, b))
            } else {
                self.scan_backward(w, mapped, how, (a, b))
            };
            if hit.is_some() {
                return hit;
            }
        }
        None
    }

    /// Bytes `[a, b)`, read `how`, after the carry when it ends at `a`: the first match.
    pub(super) fn scan_forward(
        &mut self,
        w: &mut Walk,
        mapped: &dyn Mapped,
        how: How,
        (a, b): (u64, u64),
    ) -> Option<u64> {
        let c = if self.carry_at == a {
            self.carry.len()
        } else {
            0
        };
        self.buf[..c].copy_from_slice(&self.carry[..c]);
        let len = usize::try_from(b - a).unwrap_or(0).min(self.buf.len() - c);
        let got = look::read(mapped, how, a, &mut self.buf[c..c + len]).unwrap_or(0);
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

    /// Bytes `[a, b)`, read `how`, before the carry when it starts at `b`: the last match.
    pub(super) fn scan_backward(
        &mut self,
        w: &mut Walk,
        mapped: &dyn Mapped,
        how: How,
        (a, b): (u64, u64),
    ) -> Option<u64> {
        let len = usize::try_from(b - a)
            .unwrap_or(0)
            .min(self.buf.len() - PATTERN_MAX);
        let got = look::read(mapped, how, a, &mut self.buf[..len]).unwrap_or(0);
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

/// How a byte search passes pages it need not read (`ByteScan::unreadable`).
pub(super) enum Skip {
    /// The whole window: counted as done, the walk moves past it.
    Whole,
    /// This step ends here, as `Next` says (the walk moved, or the process has exited).
    To(Next),
}
