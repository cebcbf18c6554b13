//! Searches that run across ticks of the event loop: the next page in a state (`: dirty`) and
//! bytes (`/ 7f 45 4c 46`), over the whole of any `Mapped` (our mapping, or a VMA explored in
//! any process), a chunk of pages at a time within a time budget, so that the screen stays live
//! and Esc can stop them.
//!
//! Neither faults anything in. A state search only probes (`Prober::probe`: mincore, pagemap,
//! cachestat, kpageflags). A byte search reads only pages in memory, as the grid reads them
//! (`sys::probe::look`): in our own mapping the file's page-cache pages through a window on the page
//! cache (no readahead, nothing left mapped; cachestat says which are cached), our private
//! copies and anonymous memory through the mapping (`Mapped::read`, a copy that never raises a
//! signal); in a VMA not ours present pages only (a read elsewhere would fault the page in,
//! changing what we look at). `/!` reads every page of our own mapping that holds file data,
//! faulting it in. Pages beyond end of file are never read.
//!
//! In a shared mapping of a page-cache file every page that is resident, present or dirty is in
//! the file's page cache, so one cachestat over a range with none cached clears the whole
//! range at once: ranges cleared this way grow (up to `SKIP_MAX` pages), and a sparse 1 TiB
//! file is crossed in a few hundred calls. Where a page without a page-table entry cannot be
//! what is looked for (`: present`, `: cow`, `: exclusive` anywhere; `: resident` and `: dirty`
//! in private anonymous memory; bytes of pages that may be read only where present), one
//! PAGEMAP_SCAN ioctl finds the runs of pages that have one in a window (growing up to
//! `ENTRY_SKIP_MAX` pages while they are empty): untouched space costs a walk of empty page
//! tables, and 64 TiB of untouched private anonymous memory is crossed in a few calls.
//!
//! A search of another process's VMA ends, saying so, once the process has exited (PAGEMAP_SCAN
//! says ESRCH, its pagemap reads as empty).

use std::time::{Duration, Instant};

use crate::geometry::Geometry;
use crate::search::query::{Ending, Finished, Matcher, Query, Request, StateQuery, StateWord};
use crate::sys::map::range::Mapped;
use crate::sys::map::request::MapMode;

use crate::sys::probe::prober::Prober;
use crate::sys::proc::maps::Pid;

mod bytes;

use bytes::{ByteScan, Readable};

/// Pages probed at once by a state search.
pub const STATE_CHUNK: u64 = 4096;
/// Pages read at once by a byte search (1 MiB of 4 KiB pages).
pub const BYTE_CHUNK: u64 = 256;
/// The most pages one cachestat clears at once.
pub const SKIP_MAX: u64 = 1 << 20;
/// The most pages one PAGEMAP_SCAN looks at for page-table entries (16 TiB of 4 KiB pages:
/// a walk of empty page tables costs microseconds; a full one is bounded by memory).
pub const ENTRY_SKIP_MAX: u64 = 1 << 32;
/// What a search of a VMA whose process has gone says.
pub const EXITED: &str = "the process has exited";

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

/// Where the pages with a page-table entry are in a window, for a walk that may skip the
/// others (`Walk::entries`).
enum Entries {
    /// The walk cannot tell (no PAGEMAP_SCAN, or it may not skip): probe page by page.
    Unknown,
    /// No page of the window has one.
    None,
    /// The first run of pages that have one (backward: the last), `[first, end)`.
    Run(u64, u64),
    /// Backward, the kernel stopped at this page (too many runs for one call): look at the
    /// window's part above it first.
    Short(u64),
    /// The process has exited.
    Exited,
}

/// What both kinds of search share: the mapping's shape, the direction, the counters.
struct Walk {
    geometry: Geometry,
    forward: bool,
    /// cachestat can clear ranges (a shared mapping of a page-cache file).
    cache_filter: bool,
    /// cachestat says which pages are in the page cache (a page-cache file, Linux >= 6.5, that
    /// we may write or own).
    cached_known: bool,
    /// Our mapping of a page-cache file where neither cachestat nor mincore can say which
    /// pages are cached (a file we may not write): only the pages we map are known in memory.
    cache_unknown: bool,
    /// Pages without a page-table entry hold nothing this search looks for: windows are
    /// skipped by PAGEMAP_SCAN (cleared when the ioctl does not answer).
    entry_filter: bool,
    /// The runs of pages with an entry that PAGEMAP_SCAN found in the last window.
    runs: Vec<(u64, u64)>,
    /// Pages the next chunk covers.
    chunk: u64,
    done: u64,
    /// Pages of `done` passed in bulk: cachestat found nothing cached, or PAGEMAP_SCAN no
    /// page-table entry.
    cleared: u64,
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

    /// `n` pages passed in bulk.
    fn pass(&mut self, n: u64) {
        self.done += n;
        self.cleared += n;
    }

    /// After a range cleared by cachestat: a larger one next.
    fn grow(&mut self) {
        self.grow_to(SKIP_MAX);
    }

    /// After a window cleared: a larger one next, up to `max` pages.
    fn grow_to(&mut self, max: u64) {
        self.chunk = (self.chunk * 4).min(max.max(self.chunk));
    }

    /// The pages with a page-table entry in `[lo, hi)`, where the walk may skip the others.
    fn entries(&mut self, mapped: &dyn Mapped, prober: &Prober, lo: u64, hi: u64) -> Entries {
        if !self.entry_filter {
            return Entries::Unknown;
        }
        self.runs.clear();
        let reached = match prober.entry_runs(mapped, lo, hi, &mut self.runs) {
            Ok(reached) => reached,
            Err(e) if e.errno == libc::ESRCH => return Entries::Exited,
            Err(_) => {
                self.entry_filter = false;
                return Entries::Unknown;
            }
        };
        let run = if self.forward {
            // The runs found are whole even when the kernel stopped short.
            self.runs.first()
        } else if reached < hi {
            return if reached > lo {
                Entries::Short(reached)
            } else {
                Entries::Unknown
            };
        } else {
            self.runs.last()
        };
        match run {
            Some(&(a, b)) => Entries::Run(a, b),
            None if reached >= hi => Entries::None,
            None => Entries::Unknown,
        }
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

    /// Whether a page without a page-table entry can never be what this query looks for:
    /// present, cow and exclusive pages have one; in private anonymous memory (no file, no
    /// page cache behind it) resident pages do too, and no page is ever dirty.
    fn needs_entry(&self, mapped: &dyn Mapped) -> bool {
        let anon_private = !mapped.page_cache_file() && mapped.mode() == MapMode::Private;
        !self.q.negated
            && match self.q.word {
                StateWord::Present | StateWord::Cow | StateWord::Exclusive => true,
                StateWord::Resident => anon_private,
                // Only a page-cache page has a dirty state.
                StateWord::Dirty => !mapped.page_cache_file(),
                StateWord::Beyond => false,
            }
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
            w.pass(n);
            w.grow();
            return Next::More;
        }
        match w.entries(mapped, prober, lo, lo + n) {
            Entries::Exited => return Next::End(Ending::Stopped),
            Entries::None => {
                self.i += n;
                w.pass(n);
                w.grow_to(ENTRY_SKIP_MAX);
                return Next::More;
            }
            Entries::Short(reached) => {
                w.chunk = lo + n - reached;
                return Next::More;
            }
            Entries::Run(a, b) => {
                // The pages between the walk's place and the run have no entry: passed.
                let holes = if w.forward { a - p } else { p + 1 - b };
                self.i += holes;
                w.pass(holes);
                w.chunk = self.base;
                let m = (b - a).min(self.base);
                let first = if w.forward { a } else { b - m };
                return self.probe_run(w, mapped, prober, first, m);
            }
            Entries::Unknown => {}
        }
        if n > self.base {
            w.chunk = self.base;
            return Next::More;
        }
        self.probe_run(w, mapped, prober, lo, n)
    }

    /// Probes pages `[lo, lo + n)`, the next ones of the walk, for a match.
    fn probe_run(
        &mut self,
        w: &mut Walk,
        mapped: &dyn Mapped,
        prober: &Prober,
        lo: u64,
        n: u64,
    ) -> Next {
        let hit = self.find_in(w, mapped, prober, lo, n);
        self.i += n;
        w.done += n;
        match hit {
            Err(Gone) => Next::End(Ending::Stopped),
            Ok(Some(page)) => Next::End(Ending::Found {
                offset: page * w.page_size(),
                len: w.page_size(),
                wrapped: if w.forward {
                    page < self.start
                } else {
                    page > self.start
                },
            }),
            Ok(None) => Next::More,
        }
    }

    /// The first page of `[lo, lo + n)` in the walk's direction that matches; `Gone` when
    /// the process whose pages they are has exited.
    fn find_in(
        &self,
        w: &Walk,
        mapped: &dyn Mapped,
        prober: &Prober,
        lo: u64,
        n: u64,
    ) -> Result<Option<u64>, Gone> {
        let q = self.q;
        if q.word == StateWord::Beyond {
            // The geometry says it, nothing is probed: the pages from the first one past the
            // file's data on are beyond end of file (anonymous memory has none).
            let eof = w.geometry.data_bytes().div_ceil(w.page_size());
            let (a, b) = if q.negated {
                (lo, (lo + n).min(eof))
            } else {
                (lo.max(eof), lo + n)
            };
            return Ok((a < b).then_some(if w.forward { a } else { b - 1 }));
        }
        let probes = prober.probe(mapped, lo, n);
        if probes.first().is_some_and(|p| p.pagemap.is_none()) && exited(mapped, prober, lo) {
            return Err(Gone);
        }
        let states = prober.decode(mapped, &w.geometry, lo, &probes);
        let k = if w.forward {
            states.iter().position(|s| q.matches(s))
        } else {
            states.iter().rposition(|s| q.matches(s))
        };
        Ok(k.map(|k| lo + k as u64))
    }
}

/// The process whose pages a search looked at has exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gone;

/// Whether the process of `mapped` has exited: its pagemap says so (ESRCH, or read as empty).
/// Never for our own process.
fn exited(mapped: &dyn Mapped, prober: &Prober, page: u64) -> bool {
    let mut word = Vec::new();
    mapped.pid() != Pid::Myself
        && prober
            .pagemap_words(mapped, page, 1, &mut word)
            .is_err_and(|e| e.errno == libc::ESRCH)
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
    /// Why it stopped before its end (the process exited, the VMA was unmapped).
    stop: Option<String>,
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
        let cached_known = mapped.page_cache_file() && Prober::cachestat_support(mapped).is_ok();
        let mut walk = Walk {
            geometry,
            forward: req.forward,
            cache_filter: cached_known && mapped.mode() == MapMode::Shared,
            cached_known,
            cache_unknown: mapped.ours()
                && mapped.page_cache_file()
                && !cached_known
                && !mapped.may_write(),
            entry_filter: false,
            runs: Vec::new(),
            chunk: STATE_CHUNK,
            done: 0,
            cleared: 0,
            skipped: 0,
            bytes: 0,
        };
        let mut note = None;
        let kind = match &req.query {
            Query::State(q) => {
                let scan = state_scan(*q, &req, &geometry, &mut walk);
                walk.entry_filter = scan.needs_entry(mapped);
                Kind::State(scan)
            }
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
                // Only pages with a page-table entry are read: where present, resident in
                // private anonymous memory (no page cache holds its pages), or mapped by us in
                // a file whose cached pages no call tells.
                walk.entry_filter = readable == Readable::Present
                    || (readable == Readable::Resident
                        && (walk.cache_unknown
                            || (!mapped.page_cache_file() && mapped.mode() == MapMode::Private)));
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
            stop: None,
        }
    }

    /// The `Request`'s id.
    pub fn id(&self) -> u64 {
        self.req.id
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
                if ending == Ending::Stopped {
                    self.stop.get_or_insert_with(|| EXITED.to_string());
                }
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

    /// How it ends when what it searched is gone (`why`: the process has exited, the VMA was
    /// unmapped).
    pub fn stopped(&mut self, why: &str) -> Finished {
        self.stop = Some(why.to_string());
        self.finish(Ending::Stopped)
    }

    fn finish(&self, ending: Ending) -> Finished {
        let w = &self.walk;
        let stop = self.stop.iter().filter(|_| ending == Ending::Stopped);
        let mut notes: Vec<String> = stop.chain(&self.note).cloned().collect();
        if let Kind::Bytes(b) = &self.kind
            && w.skipped > 0
        {
            let n = crate::text::thousands(w.skipped);
            notes.push(match b.readable {
                Readable::Resident if w.cache_unknown => format!(
                    "{n} pages not mapped by us were not read (which pages of a file we may not \
                     write are cached, the kernel does not tell; /! reads them, faulting them in)"
                ),
                Readable::Resident => {
                    format!(
                        "{n} pages not resident were not read (/! reads them, faulting them in)"
                    )
                }
                _ => format!("{n} pages not present were not read (a read would fault them in)"),
            });
        }
        Finished {
            id: self.req.id,
            query: self.req.query.clone(),
            forward: self.req.forward,
            ending,
            examined: w.done,
            cleared: w.cleared,
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
        u64::MAX
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::query::StateQuery;
    use crate::sys::map::region::Region;
    use crate::sys::map::request::MapRequest;

    fn job(id: u64, word: &str, region: &Region) -> Job {
        let req = Request {
            id,
            query: Query::State(StateQuery::parse(word).unwrap()),
            from: 0,
            forward: true,
        };
        Job::new(req, region)
    }

    /// Every way a search ends carries the id of the request that started it: the model
    /// tells the running search's news from a replaced one's by it.
    #[test]
    fn a_job_ends_with_its_own_id_however_it_ends() {
        let ps = crate::sys::map::request::page_size();
        let region = Region::open(&MapRequest::anon(64 * ps, MapMode::Private)).unwrap();
        let prober = Prober::new();
        region.write(9 * ps, b"x").unwrap();
        let mut found = job(3, "present", &region);
        assert_eq!(found.id(), 3);
        let Step::Done(f) = found.step(&region, &prober, Duration::from_secs(5)) else {
            panic!("64 pages take one step");
        };
        let page_9 = Ending::Found {
            offset: 9 * ps,
            len: ps,
            wrapped: false,
        };
        assert_eq!((f.id, f.ending), (3, page_9));
        let f = job(4, "cow", &region).cancelled();
        assert_eq!((f.id, f.ending), (4, Ending::Cancelled));
        let f = job(5, "dirty", &region).stopped("the VMA was unmapped");
        assert_eq!((f.id, f.ending), (5, Ending::Stopped));
        assert_eq!(f.sentence(ps), ": dirty: the VMA was unmapped");
    }
}
