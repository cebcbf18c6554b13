//! What the finding keys look for, as plain data, and the matching itself (pure, no kernel):
//! the page states `:` takes (`: dirty`, `: !resident`), the byte patterns `/` takes (hex
//! `/ 7f 45 4c 46` or text `/"needle"`, `/!` to read pages that are not resident too), the
//! request a search starts from and the way it ends. The byte matcher is memchr's `memmem`
//! (SIMD prefilter, Two-Way fallback: linear time in the worst case), both directions.

use memchr::memmem;

use crate::sys::probe::state::PageState;

/// A page state `:` can look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateWord {
    Dirty,
    Cow,
    Resident,
    Present,
    Exclusive,
    /// Wholly beyond end of file (from the geometry: nothing is probed).
    Beyond,
}

impl StateWord {
    pub const ALL: [Self; 6] = [
        Self::Dirty,
        Self::Cow,
        Self::Resident,
        Self::Present,
        Self::Exclusive,
        Self::Beyond,
    ];

    /// The word as typed and shown.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dirty => "dirty",
            Self::Cow => "cow",
            Self::Resident => "resident",
            Self::Present => "present",
            Self::Exclusive => "exclusive",
            Self::Beyond => "beyond",
        }
    }

    /// What the kernel said about `state` for this word; `None` where no source answers.
    pub fn of(self, state: &PageState) -> Option<bool> {
        match self {
            Self::Dirty => state.writes.dirty,
            Self::Cow => state.place.cow,
            Self::Resident => state.place.resident,
            Self::Present => state.place.present,
            Self::Exclusive => state.place.exclusive,
            Self::Beyond => Some(state.geom.beyond_eof),
        }
    }

    /// The word for `text` (`beyond-eof` and `beyond eof` are `beyond` too).
    fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_lowercase();
        let t = match t.as_str() {
            "beyond-eof" | "beyond eof" | "beyond_eof" => "beyond",
            other => other,
        };
        Self::ALL.into_iter().find(|w| w.name() == t)
    }
}

/// `: WORD` or `: !WORD`: the next page whose state is (or is not) WORD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateQuery {
    pub word: StateWord,
    pub negated: bool,
}

impl StateQuery {
    /// `dirty`, `!resident`, `! cow`; `None` when `text` is no state word.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let (negated, rest) = match t.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        StateWord::parse(rest).map(|word| Self { word, negated })
    }

    /// Whether a page in `state` is one this query looks for. A page no source answers for
    /// matches neither WORD nor !WORD; a page beyond end of file (no data) matches only
    /// `beyond`, never a negated word: `: !resident` finds cold pages of the file.
    pub fn matches(self, state: &PageState) -> bool {
        if self.negated && state.geom.beyond_eof && self.word != StateWord::Beyond {
            return false;
        }
        self.word.of(state) == Some(!self.negated)
    }

    /// In words: `dirty`, `not resident`.
    pub fn words(self) -> String {
        format!(
            "{}{}",
            if self.negated { "not " } else { "" },
            self.word.name()
        )
    }

    /// `dirty`, `!resident`.
    pub fn label(self) -> String {
        format!(
            "{}{}",
            if self.negated { "!" } else { "" },
            self.word.name()
        )
    }
}

/// Bytes `/` looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub bytes: Vec<u8>,
    /// `/!`: read pages that are not resident too (faulting them in, perhaps from disk).
    pub fault_in: bool,
    /// Typed as `"text"` (shown back that way).
    pub text: bool,
}

/// Longest pattern `/` takes, in bytes.
pub const PATTERN_MAX: usize = 256;

impl Pattern {
    /// Parses what follows `/`: hex bytes (`7f 45 4c 46`, `7f454c46`, as `text::hex_bytes` reads
    /// them, a lone digit refused) or `"text"` with the escapes of `text::unquote`; a leading `!`
    /// faults pages in.
    ///
    /// # Errors
    /// A sentence saying what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (fault_in, t) = match t.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, t),
        };
        let (bytes, is_text) = match t.strip_prefix('"') {
            Some(rest) => match crate::text::unquote(rest, crate::text::Escapes::Bytes)? {
                (bytes, after) if after.trim().is_empty() => (bytes, true),
                _ => return Err("text after the closing quote".into()),
            },
            None => {
                let bytes = crate::text::hex_bytes(t, crate::text::LoneDigit::Refused)
                    .map_err(|e| format!("{e}, or \"text\""))?;
                (bytes, false)
            }
        };
        if bytes.is_empty() {
            return Err(
                "nothing to find: give hex bytes (/ 7f 45 4c 46) or text (/\"needle\")".into(),
            );
        }
        if bytes.len() > PATTERN_MAX {
            return Err(format!("a pattern is at most {PATTERN_MAX} bytes"));
        }
        Ok(Self {
            bytes,
            fault_in,
            text: is_text,
        })
    }

    /// The pattern as typed: `"needle"` or `7f 45 4c 46`, with `!` when it faults pages in.
    pub fn label(&self) -> String {
        let body = if self.text {
            let mut s = String::from("\"");
            for &b in &self.bytes {
                match b {
                    b'"' => s.push_str("\\\""),
                    b'\\' => s.push_str("\\\\"),
                    0x20..=0x7e => s.push(char::from(b)),
                    _ => s.push_str(&format!("\\x{b:02x}")),
                }
            }
            s.push('"');
            s
        } else {
            self.bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!("{}{body}", if self.fault_in { "!" } else { "" })
    }
}

/// What a search looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    State(StateQuery),
    Bytes(Pattern),
}

impl Query {
    /// As typed: `: dirty`, `/ 7f 45`, `/"needle"`.
    pub fn label(&self) -> String {
        match self {
            Self::State(q) => format!(": {}", q.label()),
            Self::Bytes(p) if p.text => format!("/{}", p.label()),
            Self::Bytes(p) => format!("/ {}", p.label()),
        }
    }
}

/// A search to start: what, from which mapping offset (the cursor), which way. Forward
/// looks after the cursor first and wraps once to the start; backward looks before it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Which search this is (the model counts them): its progress and its end carry it, so
    /// that news of a search already replaced can never be taken for the running one's.
    pub id: u64,
    pub query: Query,
    pub from: u64,
    pub forward: bool,
}

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// At mapping offset `offset`, `len` bytes (a page for a state); `wrapped`: found after
    /// going round the end (or the start, backward).
    Found {
        offset: u64,
        len: u64,
        wrapped: bool,
    },
    NotFound,
    /// Esc, or the view changed under it.
    Cancelled,
    /// There is nothing left to search: the process whose VMA it was has exited, or the VMA
    /// was unmapped (the `Finished`'s note says which).
    Stopped,
}

/// A search that ended, with what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The `Request`'s id.
    pub id: u64,
    pub query: Query,
    pub forward: bool,
    pub ending: Ending,
    /// Pages looked at (probed, or whose bytes were read, or cleared in bulk).
    pub examined: u64,
    /// Pages of `examined` passed in bulk, without a probe or a read of their own: cachestat
    /// found nothing of them cached, or PAGEMAP_SCAN no page-table entry for them.
    pub cleared: u64,
    /// Pages not read: not resident (or not present, in a mapping not ours).
    pub skipped: u64,
    /// Bytes read.
    pub bytes: u64,
    pub elapsed_us: u64,
    /// Something to say about how it searched (a limit that applied); for `Stopped`, why.
    pub note: Option<String>,
}

impl Finished {
    /// The log's line: where it landed (or that nothing matched), what it cost, what it
    /// skipped.
    pub fn sentence(&self, page_size: u64) -> String {
        let label = self.query.label();
        let page_size = page_size.max(1);
        let what = match (&self.query, self.ending) {
            (Query::State(q), Ending::Found { offset, .. }) => {
                format!("page {} is {}", offset / page_size, q.words())
            }
            (Query::Bytes(_), Ending::Found { offset, .. }) => {
                format!("found at 0x{offset:x} (page {})", offset / page_size)
            }
            (Query::State(q), Ending::NotFound) => format!("no page is {}", q.words()),
            (Query::Bytes(_), Ending::NotFound) => "not found".to_string(),
            (_, Ending::Cancelled) => "cancelled".to_string(),
            (_, Ending::Stopped) => self.note.clone().unwrap_or_else(|| "stopped".into()),
        };
        let wrapped = match self.ending {
            Ending::Found { wrapped: true, .. } if self.forward => " (wrapped past the end)",
            Ending::Found { wrapped: true, .. } => " (wrapped past the start)",
            _ => "",
        };
        let mut line = format!("{label}: {what}{wrapped}");
        // A search stopped before it looked at anything has no cost to tell.
        if self.ending != Ending::Stopped || self.examined > 0 {
            line.push_str(" · ");
            line.push_str(&self.cost());
        }
        if let Some(note) = self
            .note
            .as_ref()
            .filter(|_| self.ending != Ending::Stopped)
        {
            line.push_str(" · ");
            line.push_str(note);
        }
        line
    }

    /// `4,096 pages probed in 3.1 ms`, `1 GiB read in 812 ms (1.3 GB/s)`.
    fn cost(&self) -> String {
        let us = self.elapsed_us;
        let time = if us < 1000 {
            format!("{us} µs")
        } else if us < 10_000 {
            format!("{}.{} ms", us / 1000, us % 1000 / 100)
        } else {
            format!("{} ms", crate::text::thousands(us / 1000))
        };
        let n = |count: u64| {
            let s = if count == 1 { "" } else { "s" };
            format!("{} page{s}", crate::text::thousands(count))
        };
        match self.query {
            Query::State(_) if self.cleared == 0 => {
                format!("{} probed in {time}", n(self.examined))
            }
            Query::State(_) if self.cleared >= self.examined => {
                format!("{} cleared in bulk in {time}", n(self.examined))
            }
            Query::State(_) => format!(
                "{} probed, {} cleared in bulk, in {time}",
                n(self.examined - self.cleared),
                crate::text::thousands(self.cleared)
            ),
            Query::Bytes(_) => {
                // Bytes per microsecond are MB/s; a thousand of them GB/s.
                let mb_s = self.bytes.checked_div(us.max(1)).unwrap_or(0);
                format!(
                    "{} read in {time} ({}.{} GB/s)",
                    crate::text::human(self.bytes),
                    mb_s / 1000,
                    mb_s % 1000 / 100
                )
            }
        }
    }
}

/// A search running across ticks, for the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Searching {
    /// The `Request`'s id: only news carrying it is about this search.
    pub id: u64,
    pub label: String,
    /// The cursor when it started: a cursor moved since then stays where the user put it.
    pub from: u64,
    /// Pages done of `total`.
    pub done: u64,
    pub total: u64,
}

/// Finds a byte string in buffers, forward or backward.
#[derive(Debug, Clone)]
pub struct Matcher {
    forward: memmem::Finder<'static>,
    backward: memmem::FinderRev<'static>,
}

impl Matcher {
    pub fn new(needle: &[u8]) -> Self {
        Self {
            forward: memmem::Finder::new(needle).into_owned(),
            backward: memmem::FinderRev::new(needle).into_owned(),
        }
    }

    pub fn len(&self) -> usize {
        self.forward.needle().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first match in `hay`.
    pub fn find(&self, hay: &[u8]) -> Option<usize> {
        self.forward.find(hay)
    }

    /// The last match in `hay`.
    pub fn rfind(&self, hay: &[u8]) -> Option<usize> {
        self.backward.rfind(hay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::PageGeom;
    use crate::sys::probe::state::{FolioState, Place, Writes};

    fn state() -> PageState {
        PageState {
            geom: PageGeom {
                valid_bytes: 4096,
                padding_bytes: 0,
                beyond_eof: false,
            },
            place: Place {
                resident: Some(true),
                present: Some(false),
                swapped: Some(false),
                file_backed: Some(true),
                exclusive: None,
                cow: Some(false),
                shared_with_child: None,
            },
            writes: Writes {
                dirty: Some(true),
                writeback: Some(false),
                soft_dirty: None,
                edited: false,
            },
            folio: FolioState {
                folio_pages: None,
                kflags: None,
                mapcount: None,
                thp: None,
            },
        }
    }

    #[test]
    fn state_words_parse_with_and_without_bang() {
        let q = |w, negated| Some(StateQuery { word: w, negated });
        assert_eq!(StateQuery::parse("dirty"), q(StateWord::Dirty, false));
        assert_eq!(
            StateQuery::parse(" !resident "),
            q(StateWord::Resident, true)
        );
        assert_eq!(StateQuery::parse("! COW"), q(StateWord::Cow, true));
        assert_eq!(StateQuery::parse("beyond-eof"), q(StateWord::Beyond, false));
        for w in StateWord::ALL {
            assert_eq!(StateQuery::parse(w.name()), q(w, false));
            assert_eq!(StateQuery::parse(&format!("!{}", w.name())), q(w, true));
        }
        assert_eq!(StateQuery::parse("p 3"), None);
        assert_eq!(StateQuery::parse("dirt"), None);
        assert_eq!(StateQuery::parse("!"), None);
        assert_eq!(StateQuery::parse("!!dirty"), None);
        assert_eq!(q(StateWord::Resident, true).unwrap().label(), "!resident");
        assert_eq!(
            q(StateWord::Resident, true).unwrap().words(),
            "not resident"
        );
    }

    #[test]
    fn a_query_matches_only_what_a_source_said() {
        let s = state();
        let q = |t: &str| StateQuery::parse(t).unwrap();
        assert!(q("dirty").matches(&s));
        assert!(!q("!dirty").matches(&s));
        assert!(q("!present").matches(&s));
        assert!(
            !q("exclusive").matches(&s) && !q("!exclusive").matches(&s),
            "unknown"
        );
        assert!(q("!beyond").matches(&s) && !q("beyond").matches(&s));
        let beyond = PageState {
            geom: PageGeom {
                valid_bytes: 0,
                padding_bytes: 0,
                beyond_eof: true,
            },
            place: Place {
                resident: Some(false),
                ..s.place
            },
            writes: Writes {
                dirty: Some(false),
                ..s.writes
            },
            ..s
        };
        assert!(q("beyond").matches(&beyond));
        assert!(
            !q("!resident").matches(&beyond) && !q("!dirty").matches(&beyond),
            "no data: not a cold page of the file"
        );
    }

    #[test]
    fn patterns_parse_hex_and_text() {
        let p = Pattern::parse(" 7f 45 4c46 ").unwrap();
        assert_eq!(p.bytes, b"\x7fELF");
        assert!(!p.fault_in && !p.text);
        assert_eq!(p.label(), "7f 45 4c 46");
        let p = Pattern::parse(r#""needle""#).unwrap();
        assert_eq!((p.bytes.as_slice(), p.text), (&b"needle"[..], true));
        let p = Pattern::parse(r#"!"a\"b\\c\x00\n""#).unwrap();
        assert_eq!(p.bytes, b"a\"b\\c\0\n");
        assert!(p.fault_in);
        assert_eq!(p.label(), r#"!"a\"b\\c\x00\x0a""#);
        assert_eq!(Pattern::parse("! ff").unwrap().bytes, [0xff]);
        assert_eq!(Pattern::parse(r#""é""#).unwrap().bytes, "é".as_bytes());
        for bad in [
            "", "!", "7", "7g", "zz", r#""open"#, r#""""#, r#""a" b"#, r#""\q""#, r#""\x4""#,
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Pattern::parse(&"41".repeat(PATTERN_MAX + 1)).is_err());
    }

    #[test]
    fn queries_are_labelled_as_typed() {
        let bytes = Query::Bytes(Pattern::parse("7f 45").unwrap());
        assert_eq!(bytes.label(), "/ 7f 45");
        let text = Query::Bytes(Pattern::parse("\"hi\"").unwrap());
        assert_eq!(text.label(), "/\"hi\"");
        let state = Query::State(StateQuery::parse("!cow").unwrap());
        assert_eq!(state.label(), ": !cow");
    }

    #[test]
    fn the_log_line_says_where_and_what_it_cost() {
        let f = Finished {
            id: 1,
            query: Query::State(StateQuery::parse("dirty").unwrap()),
            forward: true,
            ending: Ending::Found {
                offset: 7 * 4096,
                len: 4096,
                wrapped: true,
            },
            examined: 4096,
            cleared: 0,
            skipped: 0,
            bytes: 0,
            elapsed_us: 3150,
            note: None,
        };
        assert_eq!(
            f.sentence(4096),
            ": dirty: page 7 is dirty (wrapped past the end) · 4,096 pages probed in 3.1 ms"
        );
        let f = Finished {
            query: Query::Bytes(Pattern::parse("\"ab\"").unwrap()),
            ending: Ending::NotFound,
            bytes: 1 << 30,
            elapsed_us: 800_000,
            note: Some("12 pages not resident were skipped".into()),
            forward: false,
            ..f
        };
        assert_eq!(
            f.sentence(4096),
            "/\"ab\": not found · 1 GiB read in 800 ms (1.3 GB/s) · 12 pages not resident were \
             skipped"
        );
        let f = Finished {
            query: Query::State(StateQuery::parse("cow").unwrap()),
            ending: Ending::Stopped,
            examined: 8192,
            elapsed_us: 1500,
            note: Some("the process has exited".into()),
            ..f
        };
        assert_eq!(
            f.sentence(4096),
            ": cow: the process has exited · 8,192 pages probed in 1.5 ms"
        );
        let f = Finished {
            ending: Ending::NotFound,
            examined: 1 << 34,
            cleared: (1 << 34) - 4096,
            elapsed_us: 45,
            note: None,
            ..f
        };
        assert_eq!(
            f.sentence(4096),
            ": cow: no page is cow · 4,096 pages probed, 17,179,865,088 cleared in bulk, in 45 µs"
        );
        let f = Finished {
            cleared: (1 << 34) - 1,
            ..f
        };
        assert!(
            f.sentence(4096)
                .ends_with("1 page probed, 17,179,869,183 cleared in bulk, in 45 µs")
        );
        let f = Finished {
            cleared: 1 << 34,
            ..f
        };
        assert!(
            f.sentence(4096)
                .ends_with("17,179,869,184 pages cleared in bulk in 45 µs")
        );
    }

    #[test]
    fn the_matcher_finds_first_and_last() {
        let m = Matcher::new(b"ab");
        assert_eq!(m.len(), 2);
        assert_eq!(m.find(b"xxabyyab"), Some(2));
        assert_eq!(m.rfind(b"xxabyyab"), Some(6));
        assert_eq!(m.find(b"a"), None);
    }
}
