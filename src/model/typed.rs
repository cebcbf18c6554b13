//! Typed views of the bytes (`T`, `view WORD`): which type the grid shows them as, in which
//! byte order, and the pure reading of values: one element from bytes, its text in a cell,
//! the inspector's line of every type, a u64 named as a pointer into the process's VMAs
//! (binary search over the maps the session last read: drawing never asks the kernel), and
//! the printable runs of a page for the strings view.

use crate::sys::proc::elf::SectionIndex;
use crate::sys::proc::maps::MapsLine;

/// How the grid shows the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewKind {
    #[default]
    Bytes,
    U16,
    U32,
    U64,
    I64,
    F32,
    F64,
    /// Each byte as a character, with C escapes for the others (`od -c`).
    Text,
    /// The printable runs (4 or more) of the page under the cursor, one a row.
    Strings,
    /// The machine code from the cursor, one instruction a row.
    Code,
}

impl ViewKind {
    /// Every kind, in `T`'s order.
    pub const ALL: [ViewKind; 10] = [
        Self::Bytes,
        Self::U16,
        Self::U32,
        Self::U64,
        Self::I64,
        Self::F32,
        Self::F64,
        Self::Text,
        Self::Strings,
        Self::Code,
    ];

    /// The script word (and the grid's title).
    pub fn word(self) -> &'static str {
        match self {
            Self::Bytes => "bytes",
            Self::U16 => "u16",
            Self::U32 => "u32",
            Self::U64 => "u64",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
            Self::Text => "text",
            Self::Strings => "strings",
            Self::Code => "code",
        }
    }

    /// The kind a script word names.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.word() == word)
    }

    /// The next kind in `T`'s cycle.
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|&k| k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// Bytes per element: the cursor moves and aligns by it (1 for bytes, text, strings and
    /// code, which move otherwise).
    pub fn size(self) -> u64 {
        match self {
            Self::U16 => 2,
            Self::U32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
            Self::Bytes | Self::Text | Self::Strings | Self::Code => 1,
        }
    }

    /// A view of numbers laid out in cells like the hex bytes (same bytes a row).
    pub fn numeric(self) -> bool {
        self.size() > 1
    }
}

/// The typed view's state: the kind, the byte order, the inspector in the bytes view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Typed {
    pub kind: ViewKind,
    /// Values read in the other byte order than the machine's (`E`).
    pub swapped: bool,
    /// The inspector line in the bytes view too (`I`; every other view shows it).
    pub inspector: bool,
    /// The byte the cursor was on before a typed view aligned it to its element, and that
    /// aligned place: a view of single bytes (code, text) goes back to the byte while the
    /// cursor has not moved, so that a followed return address disassembles from itself.
    pub unaligned: Option<(u64, u64)>,
}

impl Typed {
    /// Whether values are read big-endian.
    pub fn big_endian(self) -> bool {
        cfg!(target_endian = "big") != self.swapped
    }

    /// The byte order's name, as the screen says it.
    pub fn order(self) -> &'static str {
        if self.big_endian() { "BE" } else { "LE" }
    }

    /// Whether the inspector line is drawn.
    pub fn shows_inspector(self) -> bool {
        self.inspector || self.kind != ViewKind::Bytes
    }
}

/// Up to 8 bytes as an unsigned number in byte order `big`.
pub fn unsigned(bytes: &[u8], big: bool) -> u64 {
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    if big {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

/// The text of one element of `kind` (its `size()` bytes, all read), at most `width` chars.
pub fn cell(kind: ViewKind, bytes: &[u8], big: bool, width: usize) -> String {
    let v = unsigned(bytes, big);
    let text = match kind {
        ViewKind::U16 => format!("{v:04x}"),
        ViewKind::U32 => format!("{v:08x}"),
        ViewKind::U64 => format!("{v:016x}"),
        ViewKind::I64 => format!("{}", v.cast_signed()),
        ViewKind::F32 => float(f32::from_bits(low32(v)), width),
        ViewKind::F64 => float(f64::from_bits(v), width),
        ViewKind::Bytes | ViewKind::Text | ViewKind::Strings | ViewKind::Code => {
            return bytes.iter().map(|&b| char_cell(b)).collect();
        }
    };
    if text.chars().count() > width {
        // An i64 too long for a u16-sized cell never happens (cells grow with the size); this
        // keeps a cell in its column whatever the value.
        format!("{}…", &text[..width.saturating_sub(1)])
    } else {
        text
    }
}

fn low32(v: u64) -> u32 {
    u32::try_from(v & 0xffff_ffff).unwrap_or(0)
}

/// A float in at most `width` characters: its shortest exact text when it fits, else
/// scientific with as many digits as fit.
pub fn float<F: std::fmt::Display + std::fmt::LowerExp>(f: F, width: usize) -> String {
    let plain = format!("{f}");
    if plain.len() <= width {
        return plain;
    }
    let shortest = format!("{f:e}");
    if shortest.len() <= width {
        return shortest;
    }
    // "d." and an exponent ("e5" to "e-308") take 4 characters or more: start where the
    // mantissa's digits can fit rather than trying all 17.
    for digits in (0..=width.saturating_sub(4).min(16)).rev() {
        let s = format!("{f:.digits$e}");
        if s.len() <= width {
            return s;
        }
    }
    format!("{f:e}")
}

/// One byte as the text view shows it: the character, or its C escape, or hex.
pub fn char_cell(b: u8) -> String {
    match b {
        0 => "\\0".into(),
        b'\n' => "\\n".into(),
        b'\t' => "\\t".into(),
        b'\r' => "\\r".into(),
        0x20..=0x7e => (b as char).to_string(),
        _ => format!("{b:02x}"),
    }
}

/// Where a pointer points: the VMA holding it and the offset in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: u64,
    /// The VMA's name: the file's name, `[heap]`, `[stack]`, or `anon`.
    pub name: String,
    pub perms: String,
    /// Bytes from the VMA's start.
    pub offset: u64,
    /// The ELF section of the file that holds it, and the offset in that section, where the
    /// file's section headers could be read.
    pub section: Option<(String, u64)>,
}

impl Target {
    /// `→ [heap]+0x1230`, `→ libc.so.6 .text+0x2a1c0` (the section and the offset in it),
    /// `→ libc.so.6 r-xp+0x2a1c0` where the sections are not known (the VMA's permissions,
    /// since a file maps several VMAs, and the offset in the VMA).
    pub fn label(&self) -> String {
        if let Some((section, off)) = &self.section {
            format!("→ {} {section}+0x{off:x}", self.name)
        } else if self.name.starts_with('[') {
            format!("→ {}+0x{:x}", self.name, self.offset)
        } else {
            format!("→ {} {}+0x{:x}", self.name, self.perms, self.offset)
        }
    }
}

/// The VMA of `maps` (sorted by address, as the kernel writes them) that holds `addr`, if
/// any: a binary search, so naming every u64 on screen costs a few comparisons each.
pub fn pointer(maps: &[MapsLine], sections: &SectionIndex, addr: u64) -> Option<Target> {
    let i = maps.partition_point(|l| l.end <= addr);
    let l = maps.get(i).filter(|l| l.start <= addr && addr < l.end)?;
    let name = if l.path.is_empty() {
        "anon".to_string()
    } else if l.path.starts_with('[') {
        l.path.clone()
    } else {
        let base = l.path.rsplit('/').next().unwrap_or(&l.path);
        crate::text::sanitize(base)
    };
    Some(Target {
        addr,
        name,
        perms: l.perms.clone(),
        offset: addr - l.start,
        section: sections
            .section_at(l, addr)
            .map(|(name, off)| (name.to_string(), off)),
    })
}

/// The value under the cursor in every type, as the inspector shows them: (label, text).
/// `bytes` are those read from the cursor on (up to 8; fewer at the end of what was read).
pub fn inspect(bytes: &[u8], big: bool) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(&b) = bytes.first() {
        out.push((
            "u8",
            format!("0x{b:02x} {b} '{}'", crate::text::byte_char(b)),
        ));
    }
    if let Some(s) = bytes.get(..2) {
        let v = unsigned(s, big);
        out.push(("u16", format!("{v:#x} {v}")));
    }
    if let Some(s) = bytes.get(..4) {
        let v = unsigned(s, big);
        let f = f32::from_bits(low32(v));
        out.push(("u32", format!("{v:#x} {v}")));
        out.push(("i32", format!("{}", low32(v).cast_signed())));
        out.push(("f32", float(f, 14)));
    }
    if let Some(s) = bytes.get(..8) {
        let v = unsigned(s, big);
        out.push(("u64", format!("{v:#x}")));
        out.push(("i64", format!("{}", v.cast_signed())));
        out.push(("f64", float(f64::from_bits(v), 16)));
    }
    out
}

/// A printable run of a page: its mapping offset and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub offset: u64,
    pub text: String,
}

/// Shortest run the strings view lists (as `strings(1)`).
pub const MIN_RUN: usize = 4;

/// The printable ASCII runs (tab included) of at least `MIN_RUN` bytes in `bytes`, which
/// start at mapping offset `start`; `None` bytes (not read) end a run.
pub fn runs(bytes: &[Option<u8>], start: u64) -> Vec<Run> {
    let mut out = Vec::new();
    let mut cur: Option<(u64, String)> = None;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            Some(b) if (0x20..0x7f).contains(b) || *b == b'\t' => {
                let c = if *b == b'\t' { ' ' } else { char::from(*b) };
                cur.get_or_insert_with(|| (start + i as u64, String::new()))
                    .1
                    .push(c);
            }
            _ => push_run(&mut out, cur.take()),
        }
    }
    push_run(&mut out, cur);
    out
}

fn push_run(out: &mut Vec<Run>, run: Option<(u64, String)>) {
    if let Some((offset, text)) = run.filter(|(_, t)| t.len() >= MIN_RUN) {
        out.push(Run { offset, text });
    }
}

impl super::Model {
    /// The bytes the last refresh read from mapping offset `off` on: up to `n`, stopping at
    /// the first one not read.
    pub fn bytes_at(&self, off: u64, n: u64) -> Vec<u8> {
        (off..off.saturating_add(n))
            .map_while(|o| self.snap.probed.bytes.get(o))
            .collect()
    }

    /// The pointer the u64 at `off` holds, if the 8 bytes were read and it points into a VMA
    /// of the process shown (its maps as the session last read them).
    pub fn pointer_at(&self, off: u64) -> Option<Target> {
        let bytes = self.bytes_at(off, 8);
        (bytes.len() == 8)
            .then(|| unsigned(&bytes, self.screen.typed.big_endian()))
            .and_then(|v| self.name_pointer(v))
    }

    /// `v` as a pointer into a VMA of the process shown (its maps and sections as the session
    /// last read them), if it is one.
    pub fn name_pointer(&self, v: u64) -> Option<Target> {
        let r = &self.snap.readings;
        pointer(r.maps.as_ref().ok()?, &r.sections, v)
    }

    /// The instructions from the cursor, as many as `rows` (the code view's rows).
    pub fn code_rows(&self, rows: u64) -> Vec<super::code::Insn> {
        let c = self.doc.cursor;
        let bytes = self.bytes_at(c, rows.saturating_mul(super::code::MAX_INSN));
        let rows = usize::try_from(rows).unwrap_or(usize::MAX);
        super::code::decode(&bytes, c, self.snap.shape.addr + c, rows)
    }

    /// The printable runs of the page under the cursor, from the bytes the last refresh read
    /// (the whole page while the strings view is open).
    pub fn page_runs(&self) -> Vec<Run> {
        let ps = self.page_size();
        let start = self.doc.cursor / ps * ps;
        let end = (start + ps).min(self.snap.shape.geometry.map_bytes());
        let bytes: Vec<Option<u8>> = (start..end)
            .map(|o| self.snap.probed.bytes.get(o))
            .collect();
        runs(&bytes, start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(start: u64, end: u64, perms: &str, path: &str) -> MapsLine {
        MapsLine::sample(start, end, perms, path)
    }

    #[test]
    fn the_cycle_visits_every_kind_once_and_words_parse_back() {
        let mut k = ViewKind::Bytes;
        let mut seen = vec![k];
        for _ in 1..ViewKind::ALL.len() {
            k = k.next();
            assert!(!seen.contains(&k), "{k:?} twice");
            seen.push(k);
        }
        assert_eq!(k.next(), ViewKind::Bytes);
        for k in ViewKind::ALL {
            assert_eq!(ViewKind::parse(k.word()), Some(k));
        }
        assert_eq!(ViewKind::parse("u128"), None);
    }

    #[test]
    fn values_read_in_either_byte_order() {
        let b = [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe];
        assert_eq!(unsigned(&b[..2], false), 0x3210);
        assert_eq!(unsigned(&b[..2], true), 0x1032);
        assert_eq!(unsigned(&b, false), 0xfedc_ba98_7654_3210);
        assert_eq!(cell(ViewKind::U32, &b[..4], false, 11), "76543210");
        assert_eq!(cell(ViewKind::U64, &b, true, 23), "1032547698badcfe");
        assert_eq!(cell(ViewKind::I64, &(-5i64).to_le_bytes(), false, 23), "-5");
        assert_eq!(cell(ViewKind::F32, &1.5f32.to_le_bytes(), false, 11), "1.5");
        assert_eq!(
            cell(ViewKind::F64, &std::f64::consts::PI.to_be_bytes(), true, 23),
            "3.141592653589793"
        );
        let tiny = cell(ViewKind::F32, &1.234_567e-30f32.to_le_bytes(), false, 11);
        assert!(tiny.len() <= 11 && tiny.contains("e-30"), "{tiny}");
        assert_eq!(cell(ViewKind::Text, b"a\n\0\x90", false, 0), "a\\n\\090");
        let t = Typed::default();
        assert_eq!(t.big_endian(), cfg!(target_endian = "big"));
        let s = Typed { swapped: true, ..t };
        assert_ne!(s.big_endian(), t.big_endian());
        assert!(!t.shows_inspector());
    }

    #[test]
    fn pointers_are_named_by_the_vma_that_holds_them_and_only_then() {
        let maps = [
            line(
                0x1000,
                0x3000,
                "r-xp",
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
            ),
            line(0x5000, 0x9000, "rw-p", "[heap]"),
            line(0x9000, 0xa000, "rw-p", ""),
        ];
        assert_eq!(
            pointer(&maps, &SectionIndex::default(), 0x6230)
                .map(|t| t.label())
                .as_deref(),
            Some("→ [heap]+0x1230")
        );
        assert_eq!(
            pointer(&maps, &SectionIndex::default(), 0x1000)
                .map(|t| t.label())
                .as_deref(),
            Some("→ libc.so.6 r-xp+0x0")
        );
        assert_eq!(
            pointer(&maps, &SectionIndex::default(), 0x9fff).map(|t| t.name),
            Some("anon".into())
        );
        for gap in [0, 0xfff, 0x3000, 0x4fff, 0xa000, u64::MAX] {
            assert_eq!(
                pointer(&maps, &SectionIndex::default(), gap),
                None,
                "0x{gap:x}"
            );
        }
    }

    #[test]
    fn the_inspector_shows_what_the_bytes_allow() {
        let all = inspect(&0x4142_4344_4546_4748u64.to_le_bytes(), false);
        let labels: Vec<_> = all.iter().map(|(l, _)| *l).collect();
        assert_eq!(
            labels,
            ["u8", "u16", "u32", "i32", "f32", "u64", "i64", "f64"]
        );
        assert_eq!(all[0].1, "0x48 72 'H'");
        assert_eq!(all[5].1, "0x4142434445464748");
        assert_eq!(all[1].1, "0x4748 18248");
        assert_eq!(inspect(&1.0e-41f32.to_le_bytes(), false)[4].1, "1e-41");
        assert_eq!(inspect(&[1, 2, 3], false).len(), 2, "u8 and u16 only");
    }

    #[test]
    fn runs_of_four_printable_bytes_or_more_with_their_offsets() {
        let mut page: Vec<Option<u8>> = b"\0abc\0hello world\x01\x02GNU\0libc.so.6"
            .iter()
            .map(|&b| Some(b))
            .collect();
        page.push(None);
        page.extend(b"tail".iter().map(|&b| Some(b)));
        let r = runs(&page, 0x100);
        assert_eq!(
            r,
            vec![
                Run {
                    offset: 0x105,
                    text: "hello world".into()
                },
                Run {
                    offset: 0x116,
                    text: "libc.so.6".into()
                },
                Run {
                    offset: 0x120,
                    text: "tail".into()
                },
            ]
        );
    }
}
