//! Page geometry of a mapping: which pages hold file data, which page ends in zero padding after
//! end of file, and which pages lie wholly beyond it. Pure arithmetic on (page size, offset,
//! length, file size now), so it is recomputed on every refresh from a fresh fstat. Also the
//! size syntax every offset and size is written in (`4096`, `0x1000`, `4k`, `1M`, `1T`).

/// The shape of a mapping against its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub page_size: u64,
    /// File offset of the first mapped byte (page-aligned).
    pub offset: u64,
    /// Requested length in bytes (the kernel maps `pages() * page_size`).
    pub len: u64,
    /// File size now; `None` when there is no end of file (private anonymous memory, devices).
    /// For shared anonymous memory, the size of its shmem object (fixed at mmap).
    pub file_size: Option<u64>,
}

/// What one page of the mapping holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PageGeom {
    /// Bytes of the page backed by the file (all of it for anonymous memory).
    pub valid_bytes: u64,
    /// Zero padding after end of file in the last partial page.
    pub padding_bytes: u64,
    /// The page starts at or after end of file: touching it would raise SIGBUS.
    pub beyond_eof: bool,
}

/// What one byte of the mapping is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteKind {
    Data,
    /// After end of file, inside the last page: reads as zero, writes never reach the file.
    Padding,
    /// In a page wholly beyond end of file.
    BeyondEof,
}

/// What the part of a file that grew was seen to hold: the words of a growth note come from
/// this, not from what a growth usually is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grown {
    /// Our own ftruncate grew it: the new part is a hole.
    Hole,
    /// Every new byte on screen reads as zero: a hole, or zeros written (the bytes cannot
    /// tell which).
    Zeros,
    /// A new byte on screen is not zero: written by another process (write(2) or a store).
    Data,
    /// None of the new bytes was read (off screen, or not in memory): nothing more is known.
    Unseen,
}

impl Grown {
    /// What `bytes` (the new part's bytes that were read, `None` where not) say it holds.
    pub fn of(bytes: impl IntoIterator<Item = Option<u8>>) -> Self {
        let mut seen = false;
        for b in bytes.into_iter().flatten() {
            if b != 0 {
                return Self::Data;
            }
            seen = true;
        }
        if seen { Self::Zeros } else { Self::Unseen }
    }

    fn words(self) -> &'static str {
        match self {
            Self::Hole => " (a hole that reads as zeros)",
            Self::Zeros => {
                "; the new bytes on screen read as zeros (a hole, or zeros written: the bytes \
                 cannot tell)"
            }
            Self::Data => "; the new bytes on screen hold data another process wrote",
            Self::Unseen => "",
        }
    }
}

/// A run of consecutive pages with the same geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeomRun {
    pub first: u64,
    pub count: u64,
    pub geom: PageGeom,
}

impl Geometry {
    /// Number of pages the kernel maps.
    pub fn pages(&self) -> u64 {
        self.len.div_ceil(self.page_size)
    }

    /// Bytes the kernel maps (whole pages).
    pub fn map_bytes(&self) -> u64 {
        self.pages() * self.page_size
    }

    /// Mapping bytes that are backed by file data (up to end of file, or all of them).
    pub fn data_bytes(&self) -> u64 {
        match self.file_size {
            None => self.map_bytes(),
            Some(size) => size.saturating_sub(self.offset).min(self.map_bytes()),
        }
    }

    /// The page holding mapping offset `off`.
    pub fn page_of(&self, off: u64) -> u64 {
        off / self.page_size
    }

    /// File offset of mapping offset `off`.
    pub fn file_offset(&self, off: u64) -> u64 {
        self.offset + off
    }

    /// The geometry of page `index`.
    pub fn page(&self, index: u64) -> PageGeom {
        let ps = self.page_size;
        let start = index * ps;
        let data = self.data_bytes();
        if self.file_size.is_none() {
            return PageGeom {
                valid_bytes: ps,
                padding_bytes: 0,
                beyond_eof: false,
            };
        }
        if start >= data {
            return PageGeom {
                valid_bytes: 0,
                padding_bytes: 0,
                beyond_eof: true,
            };
        }
        let valid = (data - start).min(ps);
        PageGeom {
            valid_bytes: valid,
            padding_bytes: ps - valid,
            beyond_eof: false,
        }
    }

    /// What the byte at mapping offset `off` is.
    pub fn byte_kind(&self, off: u64) -> ByteKind {
        let data = self.data_bytes();
        if off < data {
            ByteKind::Data
        } else if self.page_of(off) < data.div_ceil(self.page_size) {
            ByteKind::Padding
        } else {
            ByteKind::BeyondEof
        }
    }

    /// What a change of the file's size from `old` to `new` bytes means for this mapping:
    /// which pages changed side of the end of file, in sentences for the log. They do not say
    /// that the file grew or shrank: the caller's sentence does, with its own frame (another
    /// process's change seen by a refresh, or our own truncate). `grown` says what the grown
    /// part was seen to hold (only growth reads it).
    pub fn size_change(&self, old: u64, new: u64, grown: Grown) -> Vec<String> {
        let data_pages = |size: u64| {
            let g = Geometry {
                file_size: Some(size),
                ..*self
            };
            g.data_bytes().div_ceil(g.page_size)
        };
        let (before, after) = (data_pages(old), data_pages(new));
        let pages = |lo: u64, hi: u64| {
            if hi - lo == 1 {
                format!("page {lo}")
            } else {
                format!("pages {lo}-{}", hi - 1)
            }
        };
        let mut notes = Vec::new();
        match new.cmp(&old) {
            std::cmp::Ordering::Less => {
                if after < before {
                    notes.push(format!(
                        "{} now beyond EOF: a load there would raise SIGBUS; mmapscope only reports \
                         {}",
                        if before - after == 1 {
                            format!("{} is", pages(after, before))
                        } else {
                            format!("{} are", pages(after, before))
                        },
                        if before - after == 1 { "it" } else { "them" }
                    ));
                } else {
                    notes.push(
                        "its end moved inside its last page: no mapped page changed side".into(),
                    );
                }
            }
            std::cmp::Ordering::Greater => {
                let what = if after > before {
                    format!(
                        "{} now hold{} data",
                        pages(before, after),
                        if after - before == 1 { "s" } else { "" }
                    )
                } else {
                    "its end moved inside its last page".to_string()
                };
                notes.push(format!("{what}{}", grown.words()));
            }
            std::cmp::Ordering::Equal => notes.push("the size did not change".into()),
        }
        notes
    }

    /// The mapping offsets of the bytes a growth of the file from `old` to `new` bytes
    /// brought inside end of file (empty when it shrank, or when they lie outside the mapping).
    pub fn grown_bytes(&self, old: u64, new: u64) -> std::ops::Range<u64> {
        let at = |size: u64| size.saturating_sub(self.offset).min(self.map_bytes());
        at(old)..at(new).max(at(old))
    }

    /// The pages as at most three runs: full pages, one page with padding, pages beyond EOF.
    pub fn runs(&self) -> Vec<GeomRun> {
        let pages = self.pages();
        let full = self.data_bytes() / self.page_size;
        let mut runs = Vec::with_capacity(3);
        let mut push = |first: u64, count: u64| {
            if count > 0 {
                runs.push(GeomRun {
                    first,
                    count,
                    geom: self.page(first),
                });
            }
        };
        push(0, full.min(pages));
        let mut next = full.min(pages);
        if next < pages && !self.page(next).beyond_eof {
            push(next, 1);
            next += 1;
        }
        push(next, pages - next);
        runs
    }
}

/// Parses a size or offset: decimal or `0x` hex, with an optional suffix `k`, `M`, `G`, `T`
/// (powers of 1024, either case).
///
/// # Errors
/// A sentence naming what is wrong.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty size".into());
    }
    let (digits, shift) = match t.as_bytes()[t.len() - 1] {
        b'k' | b'K' => (&t[..t.len() - 1], 10),
        b'm' | b'M' => (&t[..t.len() - 1], 20),
        b'g' | b'G' => (&t[..t.len() - 1], 30),
        b't' | b'T' => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let digits = digits.replace('_', "");
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16)
    } else {
        digits.parse::<u64>()
    }
    .map_err(|_| {
        format!(
            "'{}' is not a size: use decimal, 0x hex, and optionally k, M, G or T",
            crate::text::echo(text)
        )
    })?;
    value
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("'{}' is too large", crate::text::echo(text)))
}

/// A size as `parse_size` reads it, short: `64T`, `1G`, `12k`, else plain decimal.
pub fn size_word(n: u64) -> String {
    for (shift, unit) in [(40, 'T'), (30, 'G'), (20, 'M'), (10, 'k')] {
        if n != 0 && n.trailing_zeros() >= shift {
            return format!("{}{unit}", n >> shift);
        }
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("4096", Some(4096)),
            ("0x1000", Some(4096)),
            ("0X1f00", Some(7936)),
            ("4k", Some(4096)),
            ("4K", Some(4096)),
            ("1M", Some(1 << 20)),
            ("2G", Some(2 << 30)),
            ("1T", Some(1 << 40)),
            ("0x10k", Some(16 << 10)),
            ("1_000", Some(1000)),
            (" 12 ", Some(12)),
            ("", None),
            ("k", None),
            ("-1", None),
            ("12x", None),
            ("0x", None),
            ("16777216T", None),
            ("1.5M", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text).ok(), *want, "parse_size({text:?})");
        }
    }

    #[test]
    fn size_words_read_back_as_the_same_size() {
        for (n, word) in [
            (64 << 40, "64T"),
            (1 << 30, "1G"),
            (3 << 20, "3M"),
            (12 << 10, "12k"),
            (12388, "12388"),
            (0, "0"),
            (1 << 62, "4194304T"),
        ] {
            assert_eq!(size_word(n), word);
            assert_eq!(parse_size(word), Ok(n), "{word}");
        }
    }

    fn file(offset: u64, len: u64, size: u64) -> Geometry {
        Geometry {
            page_size: 4096,
            offset,
            len,
            file_size: Some(size),
        }
    }

    #[test]
    fn three_pages_plus_100_bytes() {
        let g = file(0, 12388, 12388);
        assert_eq!(g.pages(), 4);
        assert_eq!(g.map_bytes(), 16384);
        assert_eq!(g.page(2).valid_bytes, 4096);
        assert_eq!(
            g.page(3),
            PageGeom {
                valid_bytes: 100,
                padding_bytes: 3996,
                beyond_eof: false
            }
        );
        assert_eq!(g.byte_kind(12387), ByteKind::Data);
        assert_eq!(g.byte_kind(12388), ByteKind::Padding);
        assert_eq!(g.byte_kind(16383), ByteKind::Padding);
        let runs = g.runs();
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].first, runs[0].count), (0, 3));
        assert_eq!((runs[1].first, runs[1].count), (3, 1));
    }

    #[test]
    fn len_past_eof_gives_beyond_pages() {
        let g = file(0, 6 * 4096, 12388);
        assert_eq!(g.pages(), 6);
        assert!(g.page(4).beyond_eof && g.page(5).beyond_eof);
        assert_eq!(g.byte_kind(4 * 4096), ByteKind::BeyondEof);
        let runs: Vec<_> = g.runs().iter().map(|r| (r.first, r.count)).collect();
        assert_eq!(runs, vec![(0, 3), (3, 1), (4, 2)]);
        assert_eq!(g.runs().iter().map(|r| r.count).sum::<u64>(), 6);
    }

    #[test]
    fn page_aligned_file_has_no_padding() {
        let g = file(0, 3 * 4096, 8192);
        assert_eq!(g.page(1).padding_bytes, 0);
        assert!(g.page(2).beyond_eof);
        assert_eq!(g.byte_kind(8192), ByteKind::BeyondEof);
    }

    #[test]
    fn offset_mapping_counts_from_the_offset() {
        let g = file(8192, 8192, 12388);
        assert_eq!(g.data_bytes(), 4196);
        assert_eq!(g.page(0).valid_bytes, 4096);
        assert_eq!(g.page(1).valid_bytes, 100);
        assert_eq!(g.file_offset(10), 8202);
    }

    #[test]
    fn empty_file_and_offset_past_eof_are_all_beyond() {
        let g = file(0, 4096, 0);
        assert!(g.page(0).beyond_eof);
        assert_eq!(g.byte_kind(0), ByteKind::BeyondEof);
        let g = file(16384, 4096, 12388);
        assert!(g.page(0).beyond_eof);
        assert_eq!(g.runs().len(), 1);
    }

    #[test]
    fn shrinking_file_moves_eof() {
        let mut g = file(0, 12288, 12288);
        assert!(!g.page(2).beyond_eof);
        g.file_size = Some(4096);
        assert!(g.page(1).beyond_eof && g.page(2).beyond_eof);
        g.file_size = Some(5000);
        assert_eq!(g.page(1).valid_bytes, 904);
    }

    #[test]
    fn size_changes_name_the_pages_that_changed_side() {
        let g = file(0, 4 * 4096, 12388);
        assert_eq!(
            g.size_change(12388, 0, Grown::Unseen),
            [
                "pages 0-3 are now beyond EOF: a load there would raise SIGBUS; mmapscope only reports them"
            ]
        );
        assert_eq!(
            g.size_change(12388, 5000, Grown::Unseen),
            [
                "pages 2-3 are now beyond EOF: a load there would raise SIGBUS; mmapscope only reports them"
            ]
        );
        assert_eq!(
            g.size_change(5, 12388, Grown::Hole),
            ["pages 1-3 now hold data (a hole that reads as zeros)"]
        );
        assert!(g.size_change(12300, 12388, Grown::Hole)[0].contains("inside its last page"));
        assert!(!g.size_change(12388, 12389, Grown::Unseen)[0].contains("beyond EOF"));
    }

    /// A file another process appended to is not called a hole: the words follow the bytes
    /// seen (data, zeros, or none read).
    #[test]
    fn growth_words_follow_the_bytes_seen() {
        let g = file(0, 16 * 4096, 12388);
        let grew = |grown| g.size_change(12388, 12388 + 8192, grown)[0].clone();
        let data = grew(Grown::of([Some(0), Some(b'x'), None]));
        assert_eq!(
            data,
            "pages 4-5 now hold data; the new bytes on screen hold data another process wrote"
        );
        assert!(!data.contains("hole"));
        let zeros = grew(Grown::of([Some(0), None, Some(0)]));
        assert!(
            zeros.contains("read as zeros (a hole, or zeros written"),
            "{zeros}"
        );
        assert_eq!(grew(Grown::of([None, None])), "pages 4-5 now hold data");
        assert_eq!(Grown::of([]), Grown::Unseen);
        let inside = g.size_change(12300, 12388, Grown::of([Some(7)]))[0].clone();
        assert_eq!(
            inside,
            "its end moved inside its last page; the new bytes on screen hold data another \
             process wrote"
        );
    }

    #[test]
    fn grown_bytes_are_mapping_offsets_inside_the_mapping() {
        // A mapping of 4 pages from file offset 0x1000.
        let g = file(0x1000, 4 * 4096, 0x2000);
        assert_eq!(g.grown_bytes(0x2000, 0x2800), 0x1000..0x1800);
        assert_eq!(g.grown_bytes(0x800, 0x1800), 0..0x800);
        assert_eq!(g.grown_bytes(0x2000, 0x100000), 0x1000..0x4000);
        assert!(g.grown_bytes(0x2000, 0x1000).is_empty());
    }

    #[test]
    fn anonymous_memory_has_no_eof() {
        let g = Geometry {
            page_size: 4096,
            offset: 0,
            len: 10000,
            file_size: None,
        };
        assert_eq!(g.pages(), 3);
        assert_eq!(g.page(2).valid_bytes, 4096);
        assert_eq!(g.byte_kind(12000), ByteKind::Data);
        assert_eq!(g.runs().len(), 1);
    }

    #[test]
    fn len_shorter_than_file_stays_data() {
        // --len 100 of a big file: the kernel maps one whole page, all of it file data.
        let g = file(0, 100, 1 << 20);
        assert_eq!(g.pages(), 1);
        assert_eq!(g.page(0).valid_bytes, 4096);
        assert_eq!(g.byte_kind(4000), ByteKind::Data);
    }
}
