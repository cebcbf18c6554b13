//! The operations on a mapping, as data: what `sys::ops::carry` carries out, whether they come from
//! a key, a script line or a lesson step. (The screen's actions wrap them; the kernel side
//! knows nothing of keys.)

use crate::sys::map::request::{MapMode, Prot};

/// What part of the mapping an msync or madvise covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Page(u64),
}

/// msync(2) flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    Sync,
    Async,
    Invalidate,
}

impl SyncKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sync => "MS_SYNC",
            Self::Async => "MS_ASYNC",
            Self::Invalidate => "MS_INVALIDATE",
        }
    }
}

/// madvise(2) advice offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MAdvice {
    WillNeed,
    DontNeed,
    Cold,
    PageOut,
    Sequential,
    Random,
    Normal,
    /// MADV_HUGEPAGE: transparent huge pages welcome here.
    HugePage,
    /// MADV_NOHUGEPAGE: none here.
    NoHugePage,
    /// MADV_COLLAPSE (Linux >= 6.1): make huge pages of this range now.
    Collapse,
}

impl MAdvice {
    pub const ALL: [MAdvice; 10] = [
        Self::WillNeed,
        Self::DontNeed,
        Self::Cold,
        Self::PageOut,
        Self::Sequential,
        Self::Random,
        Self::Normal,
        Self::HugePage,
        Self::NoHugePage,
        Self::Collapse,
    ];

    /// The script word (`willneed`).
    pub fn word(self) -> &'static str {
        match self {
            Self::WillNeed => "willneed",
            Self::DontNeed => "dontneed",
            Self::Cold => "cold",
            Self::PageOut => "pageout",
            Self::Sequential => "sequential",
            Self::Random => "random",
            Self::Normal => "normal",
            Self::HugePage => "hugepage",
            Self::NoHugePage => "nohugepage",
            Self::Collapse => "collapse",
        }
    }

    /// The kernel's name (`MADV_WILLNEED`).
    pub fn name(self) -> &'static str {
        match self {
            Self::WillNeed => "MADV_WILLNEED",
            Self::DontNeed => "MADV_DONTNEED",
            Self::Cold => "MADV_COLD",
            Self::PageOut => "MADV_PAGEOUT",
            Self::Sequential => "MADV_SEQUENTIAL",
            Self::Random => "MADV_RANDOM",
            Self::Normal => "MADV_NORMAL",
            Self::HugePage => "MADV_HUGEPAGE",
            Self::NoHugePage => "MADV_NOHUGEPAGE",
            Self::Collapse => "MADV_COLLAPSE",
        }
    }
}

/// posix_fadvise(2) advice offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FAdvice {
    DontNeed,
    WillNeed,
    Random,
}

impl FAdvice {
    pub fn word(self) -> &'static str {
        match self {
            Self::DontNeed => "dontneed",
            Self::WillNeed => "willneed",
            Self::Random => "random",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::DontNeed => "POSIX_FADV_DONTNEED",
            Self::WillNeed => "POSIX_FADV_WILLNEED",
            Self::Random => "POSIX_FADV_RANDOM",
        }
    }
}

/// What a kernel-changing action does, the same from a key and from a script line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Write bytes at a mapping offset.
    Write {
        offset: u64,
        bytes: Vec<u8>,
    },
    /// Read bytes (scripts: `read`).
    Read {
        offset: u64,
        len: u64,
    },
    Undo,
    Redo,
    /// Remap with this sharing mode.
    Mode(MapMode),
    Msync(SyncKind, Scope),
    Protect(Prot),
    Advise(MAdvice, Scope),
    Fadvise(FAdvice),
    /// Read one byte of a page and count the faults.
    Touch(u64),
    /// Cut or extend the file from another process.
    Truncate(u64),
    /// Call the code at this mapping offset in a forked child, with two arguments.
    Exec {
        offset: u64,
        args: (u64, u64),
    },
    /// Start a peer process writing a counter at this mapping offset (`None`: the cursor).
    PeerStart(Option<u64>),
    PeerStop,
    /// Take this many bytes from the global allocator.
    Alloc(u64),
    /// Free the newest allocation.
    Free,
    /// Fork the keeper: a child that keeps every mapping and waits for orders.
    Fork,
    /// The child writes bytes into its copy of the mapping.
    ChildWrite {
        offset: u64,
        bytes: Vec<u8>,
    },
    /// The child reads bytes of its copy of the mapping.
    ChildRead {
        offset: u64,
        len: u64,
    },
    /// The child exits (and is reaped).
    ChildExit,
    /// The child's accessed bits are cleared (`clear_refs` 1): from then on its smaps
    /// `Referenced` counts what it touches (the working-set method; `--track-access` does it for
    /// `--pid` at a mark).
    ChildTrack,
    /// The child's smaps `Referenced` and `Rss` of its copy of the mapping.
    ChildTouched,
    /// mlock(2).
    Lock(Scope),
    /// munlock(2).
    Unlock(Scope),
    /// mremap(2) to this many bytes (MREMAP_MAYMOVE).
    Resize(u64),
    /// mremap(2) to this address (MREMAP_MAYMOVE|MREMAP_FIXED).
    Move(u64),
    /// With `--also`: the grid (and every operation) takes the other mapping of the file.
    Swap,
    /// Write the bytes of the present pages of a range to a new file (`dump`).
    Dump(Dump),
    /// Write a picture of what is shown to a new file (`export`): the page map, the address
    /// space or the diff as SVG, the screen as HTML.
    Export(Export),
}

/// `dump`: which bytes, to which file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub what: DumpWhat,
    /// The file to write, as given (relative to the current directory).
    pub path: std::path::PathBuf,
    /// Replace the file if it exists (`overwrite`); without it an existing file is refused.
    pub overwrite: bool,
    /// Fault the range in first (`fault`: MADV_POPULATE_READ, the mapping mmapscope made
    /// only), so that pages not in memory are dumped too.
    pub fault: bool,
    /// What is at `path`, looked at by the session just before the write gate decides;
    /// `None` until then (the gate refuses a dump whose file nobody looked at).
    pub found: Option<Found>,
}

/// The bytes a dump takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpWhat {
    /// `len` bytes from mapping offset `offset`.
    Range { offset: u64, len: u64 },
    /// One page.
    Page(u64),
    /// The whole mapping (or VMA) shown.
    Vma,
}

/// What a dump's path names before the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Nothing: the dump creates it.
    Nothing,
    /// An existing file (followed through symlinks): its identity, whether it is a regular
    /// file, and whether the process shown (or mmapscope itself) maps it.
    File {
        dev: u64,
        ino: u64,
        regular: bool,
        mapped: bool,
    },
}

impl Dump {
    /// A dump from its words, as a script line and the `D` prompt give them:
    /// `vma FILE`, `page N FILE` or `OFFSET LEN FILE`, each with `overwrite` after FILE to
    /// replace an existing file and `fault` to fault the range in first.
    ///
    /// # Errors
    /// A sentence with the usage.
    pub fn parse(words: &[&str]) -> Result<Self, String> {
        use crate::geometry::parse_size;
        const USAGE: &str = "usage: dump vma FILE | dump page N FILE | dump OFFSET LEN FILE \
                             (then `overwrite` to replace an existing FILE, `fault` to fault \
                             the pages in first)";
        // Trailing `overwrite` and `fault`, in any order, after at least two words (`dump
        // vma fault` writes a file named fault).
        let (mut words, mut overwrite, mut fault) = (words, false, false);
        while let [rest @ .., last] = words
            && rest.len() >= 2
            && ((*last == "overwrite" && !overwrite) || (*last == "fault" && !fault))
        {
            overwrite |= *last == "overwrite";
            fault |= *last == "fault";
            words = rest;
        }
        let (what, path) = match words {
            ["vma", file] => (DumpWhat::Vma, file),
            ["page", n, file] => (DumpWhat::Page(parse_size(n)?), file),
            [offset, len, file] => (
                DumpWhat::Range {
                    offset: parse_size(offset)?,
                    len: parse_size(len)?,
                },
                file,
            ),
            _ => return Err(USAGE.into()),
        };
        if path.is_empty() {
            return Err(USAGE.into());
        }
        Ok(Self {
            what,
            path: std::path::PathBuf::from(path),
            overwrite,
            fault,
            found: None,
        })
    }

    /// The dump as the log names it: `dump page 3 to out.bin`.
    pub fn name(&self) -> String {
        let what = match self.what {
            DumpWhat::Range { offset, len } => format!("0x{offset:x} +{len}"),
            DumpWhat::Page(n) => format!("page {n}"),
            DumpWhat::Vma => "vma".into(),
        };
        format!(
            "dump {what} to {}{}",
            crate::text::echo(&self.path.to_string_lossy()),
            if self.fault { " (faulting in)" } else { "" }
        )
    }
}

/// `export`: which picture, in which format, to which file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub format: ExportFormat,
    /// What the picture shows; `None` until the session chooses from what is on screen (the
    /// address-space view when it is open, else the diff when there is a mark of what is
    /// shown, else the page map).
    pub what: Option<ExportWhat>,
    /// The file to write, as given (relative to the current directory).
    pub path: std::path::PathBuf,
    /// Replace the file if it exists (`overwrite`); without it an existing file is refused.
    pub overwrite: bool,
    /// What is at `path`, looked at by the session just before the write gate decides.
    pub found: Option<Found>,
    /// The document, drawn from the model before the gate decides (the kernel side never
    /// draws), and a few words of what it holds for the log (`64x16 cells of 4 pages`).
    pub drawn: Option<(Vec<u8>, String)>,
}

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Svg,
    Html,
}

/// The pictures `export` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportWhat {
    /// The whole mapping (or VMA) by page state, as the page map (`P`) shows it.
    PageMap,
    /// The process's VMAs with their Rss, as the address-space view (`A`) shows them.
    Space,
    /// What changed since the mark, as `diff` says it.
    Diff,
    /// The whole screen, with its colours (HTML only).
    Screen,
}

impl ExportWhat {
    /// Its word in scripts and in the log.
    pub fn word(self) -> &'static str {
        match self {
            Self::PageMap => "map",
            Self::Space => "space",
            Self::Diff => "diff",
            Self::Screen => "screen",
        }
    }
}

impl Export {
    /// An export from its words, as a script line and the `C` prompt give them:
    /// `svg [map|space|diff] FILE` or `html FILE`, with `overwrite` after FILE to replace an
    /// existing file.
    ///
    /// # Errors
    /// A sentence with the usage.
    pub fn parse(words: &[&str]) -> Result<Self, String> {
        const USAGE: &str = "usage: export svg [map|space|diff] FILE | export html FILE (then \
                             `overwrite` to replace an existing FILE)";
        let (words, overwrite) = match words {
            [rest @ .., "overwrite"] if rest.len() >= 2 => (rest, true),
            _ => (words, false),
        };
        let (format, what, path) = match words {
            ["svg", "map", file] => (ExportFormat::Svg, Some(ExportWhat::PageMap), file),
            ["svg", "space", file] => (ExportFormat::Svg, Some(ExportWhat::Space), file),
            ["svg", "diff", file] => (ExportFormat::Svg, Some(ExportWhat::Diff), file),
            ["svg", file] => (ExportFormat::Svg, None, file),
            ["html", file] => (ExportFormat::Html, Some(ExportWhat::Screen), file),
            _ => return Err(USAGE.into()),
        };
        if path.is_empty() {
            return Err(USAGE.into());
        }
        Ok(Self {
            format,
            what,
            path: std::path::PathBuf::from(path),
            overwrite,
            found: None,
            drawn: None,
        })
    }

    /// The export as the log names it: `export svg map to out.svg`.
    pub fn name(&self) -> String {
        let format = match self.format {
            ExportFormat::Svg => "svg",
            ExportFormat::Html => "html",
        };
        let what = self.what.map_or("", |w| w.word());
        let sep = if what.is_empty() { "" } else { " " };
        format!(
            "export {format}{sep}{what} to {}",
            crate::text::echo(&self.path.to_string_lossy())
        )
    }
}

impl Scope {
    /// As the log writes a range: ` [all]`, ` [page 3]`.
    fn words(self) -> String {
        match self {
            Self::All => " [all]".into(),
            Self::Page(n) => format!(" [page {n}]"),
        }
    }
}

impl Op {
    /// The operation as the log and the lesson pane name it where no call was made (a
    /// refusal before the call): the C call or the script's words, never a Rust debug string.
    pub fn name(&self) -> String {
        match self {
            Self::Write { offset, .. } => format!("write at 0x{offset:x}"),
            Self::Read { offset, len } => format!("read 0x{offset:x} +{len}"),
            Self::Undo => "undo".into(),
            Self::Redo => "redo".into(),
            Self::Mode(m) => format!("remap {}", m.flag_name()),
            Self::Msync(k, s) => format!("msync({}){}", k.name(), s.words()),
            Self::Protect(p) => format!("mprotect({})", p.letters()),
            Self::Advise(a, s) => format!("madvise({}){}", a.name(), s.words()),
            Self::Fadvise(a) => format!("posix_fadvise({})", a.name()),
            Self::Touch(page) => format!("touch page {page}"),
            Self::Truncate(size) => format!("truncate to {size} B"),
            Self::Exec { offset, args } => format!("call +0x{offset:x}({}, {})", args.0, args.1),
            Self::PeerStart(_) => "peer start".into(),
            Self::PeerStop => "peer stop".into(),
            Self::Alloc(n) => format!("malloc({n})"),
            Self::Free => "free".into(),
            Self::Fork => "fork".into(),
            Self::ChildWrite { offset, .. } => format!("child write at 0x{offset:x}"),
            Self::ChildRead { offset, len } => format!("child read 0x{offset:x} +{len}"),
            Self::ChildExit => "child exit".into(),
            Self::ChildTrack => "child track".into(),
            Self::ChildTouched => "child touched".into(),
            Self::Lock(s) => format!("mlock{}", s.words()),
            Self::Unlock(s) => format!("munlock{}", s.words()),
            Self::Resize(n) => format!("mremap to {n} B"),
            Self::Move(addr) => format!("mremap to 0x{addr:x}"),
            Self::Swap => "swap".into(),
            Self::Dump(d) => d.name(),
            Self::Export(e) => e.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refusals of operations on a VMA only looked at named them `msync(sync, all)`,
    /// `advise(dontneed, page(1))`: Rust's debug form, lowercased.
    #[test]
    fn ops_are_named_as_c_or_the_script_writes_them() {
        assert_eq!(
            Op::Msync(SyncKind::Invalidate, Scope::All).name(),
            "msync(MS_INVALIDATE) [all]"
        );
        assert_eq!(
            Op::Advise(MAdvice::DontNeed, Scope::Page(1)).name(),
            "madvise(MADV_DONTNEED) [page 1]"
        );
        assert_eq!(
            Op::Fadvise(FAdvice::WillNeed).name(),
            "posix_fadvise(POSIX_FADV_WILLNEED)"
        );
        assert_eq!(Op::Mode(MapMode::Shared).name(), "remap MAP_SHARED");
        assert_eq!(Op::Undo.name(), "undo");
        assert_eq!(Op::Lock(Scope::All).name(), "mlock [all]");
        assert_eq!(Op::Resize(8192).name(), "mremap to 8192 B");
        assert_eq!(Op::Touch(2).name(), "touch page 2");
    }

    #[test]
    fn dump_words_name_a_range_a_page_or_the_vma_then_the_file() {
        let d = Dump::parse(&["0x10", "4k", "out.bin"]).expect("a range");
        assert_eq!(
            d.what,
            DumpWhat::Range {
                offset: 16,
                len: 4096
            }
        );
        assert!(!d.overwrite && d.found.is_none());
        let d = Dump::parse(&["page", "3", "out.bin", "overwrite"]).expect("a page");
        assert_eq!((d.what, d.overwrite), (DumpWhat::Page(3), true));
        // A file named `overwrite` is a file.
        let d = Dump::parse(&["vma", "overwrite"]).expect("the vma");
        assert_eq!((d.what, d.overwrite), (DumpWhat::Vma, false));
        assert_eq!(d.name(), "dump vma to overwrite");
        let d = Dump::parse(&["vma", "f", "fault", "overwrite"]).expect("both");
        assert!(d.fault && d.overwrite && d.path == std::path::Path::new("f"));
        assert!(
            Dump::parse(&["vma", "f", "fault", "fault"]).is_err(),
            "once each"
        );
        assert!(Dump::parse(&["vma"]).is_err());
        assert!(Dump::parse(&["page", "x", "f"]).is_err());
        assert!(Dump::parse(&[]).is_err());
    }

    #[test]
    fn export_words_name_the_picture_the_format_and_the_file() {
        let e = Export::parse(&["svg", "map", "m.svg"]).expect("a map");
        assert_eq!(
            (e.format, e.what, e.overwrite),
            (ExportFormat::Svg, Some(ExportWhat::PageMap), false)
        );
        let e = Export::parse(&["svg", "s.svg", "overwrite"]).expect("what is shown");
        assert_eq!((e.what, e.overwrite), (None, true));
        let e = Export::parse(&["html", "overwrite"]).expect("a file named overwrite");
        assert_eq!(e.path, std::path::PathBuf::from("overwrite"));
        assert_eq!(e.what, Some(ExportWhat::Screen));
        assert_eq!(e.name(), "export html screen to overwrite");
        assert!(Export::parse(&["svg"]).is_err());
        assert!(Export::parse(&["png", "x.png"]).is_err());
        assert!(Export::parse(&["html", "screen", "x.html"]).is_err());
    }
}
