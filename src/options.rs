//! The mapping options every command shares (`--private`, `--offset`, `--len`, `--prot`,
//! `--write`, `--anon`, and the lab's `--addr`, `--fixed`, `--populate`, `--locked`, `--huge`,
//! `--force`), as clap arguments: the command line uses them, and so does a lesson's `# options:` line.
//! They become a `MapRequest`.

use clap::Args;

use crate::geometry::parse_size;
use crate::sys::{MapMode, MapRequest, Placement, Prot, map::request::Source};
use std::path::PathBuf;

/// Mapping options shared by every command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct MapArgs {
    /// MAP_PRIVATE (copy-on-write). Default is MAP_SHARED.
    #[arg(long)]
    pub private: bool,
    /// File offset of the mapping; a multiple of the page size.
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub offset: Option<u64>,
    /// Mapping length (default: from offset to end of file). May reach past EOF.
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub len: Option<u64>,
    /// Protection: r (default for a shared mapping of a FILE you name), rw, rx, rwx, none.
    #[arg(long, value_name = "P", value_parser = parse_prot)]
    pub prot: Option<Prot>,
    /// Map the named FILE writable: stores into a MAP_SHARED mapping write the file. Without
    /// it a file you name opens read-only (the explorer asks at the first edit).
    #[arg(long, short = 'w')]
    pub write: bool,
    /// Map anonymous memory of SIZE bytes instead of a file.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, conflicts_with = "offset")]
    pub anon: Option<u64>,
    /// Where and how the lab places the mapping (`--addr`, `--fixed`, `--populate`,
    /// `--locked`, `--huge`, `--force`).
    #[command(flatten)]
    pub place: PlacementArgs,
    /// Map the same FILE a second time, MAP_PRIVATE or MAP_SHARED, shown beside the first:
    /// a shared write shows through, a private copy diverges (`o` swaps them).
    #[arg(long, value_name = "MODE", value_enum, conflicts_with = "anon")]
    pub also: Option<AlsoMode>,
}

/// The lab's placement options: the address asked for and the flags that fault, lock or pick
/// the pages at once (`Placement`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct PlacementArgs {
    /// Ask for this address (a hint: the kernel may place the mapping elsewhere, and says so).
    #[arg(long, value_name = "ADDR", value_parser = parse_size)]
    pub addr: Option<u64>,
    /// With --addr: MAP_FIXED_NOREPLACE, there or not at all (EEXIST names what is there).
    #[arg(long, requires = "addr")]
    pub fixed: bool,
    /// MAP_POPULATE: fault every page in at once (a file is read ahead).
    #[arg(long)]
    pub populate: bool,
    /// MAP_LOCKED: lock the pages in RAM at once (RLIMIT_MEMLOCK applies, not to root).
    #[arg(long)]
    pub locked: bool,
    /// With --anon: MAP_HUGETLB, pages from the hugetlb pool (refused when it has none free).
    #[arg(long, requires = "anon")]
    pub huge: bool,
    /// Populate, lock or grow memory by more than a quarter of MemAvailable anyway (--populate,
    /// --locked, lock, resize of a locked mapping); without it that is refused, with the numbers.
    /// Never past the rlimits, nor past MemTotal + SwapTotal.
    #[arg(long)]
    pub force: bool,
}

impl MapArgs {
    /// The mapping request for these options and an optional file.
    ///
    /// # Errors
    /// A message when neither a file nor `--anon` is given, or both are.
    pub fn request(&self, file: Option<PathBuf>) -> Result<MapRequest, String> {
        let source = match (file, self.anon) {
            (Some(_), Some(_)) => return Err("give either FILE or --anon SIZE, not both".into()),
            (Some(path), None) => Source::File(path),
            (None, Some(size)) => Source::Anon(size),
            (None, None) => return Err("give a FILE to map, or --anon SIZE".into()),
        };
        Ok(MapRequest {
            source,
            mode: if self.private {
                MapMode::Private
            } else {
                MapMode::Shared
            },
            offset: self.offset.unwrap_or(0),
            len: self.len,
            prot: self.prot,
            write: self.write,
            place: Placement {
                addr: self.place.addr,
                fixed: self.place.fixed,
                populate: self.place.populate,
                locked: self.place.locked,
                huge: self.place.huge,
                force: self.place.force,
            },
        })
    }
}

/// Another process to explore instead of a mapping of our own.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AttachArgs {
    /// Explore process PID: its address space, any VMA's pages and bytes (read-only unless
    /// --write; then each write asks first). A name instead of a number (`--pid sleep`)
    /// takes the one process of that name, and lists them when several have it.
    #[arg(long, value_name = "PID|NAME")]
    pub pid: Option<String>,
    /// With --pid: the VMA to open: an address inside it (0x7f..: the cursor on it), a path
    /// or a name (libc.so.6, [heap], [stack]); inspect also takes `all` (its default). Without
    /// it the explorer opens on the address-space view.
    #[arg(long, value_name = "SPEC", requires = "pid")]
    pub vma: Option<String>,
    /// With --pid: at each mark (b), clear the process's accessed bits (/proc/PID/clear_refs),
    /// so that each VMA's Referenced counts the bytes it touched since. This changes the order
    /// in which the kernel reclaims its pages, hence opt-in.
    #[arg(long, requires = "pid")]
    pub track_access: bool,
}

/// Parses a protection: `none`, `r`, `rw`, `rx`, `rwx` (or the `rw-` form of /proc/self/maps).
///
/// # Errors
/// A sentence listing the accepted values.
pub fn parse_prot(text: &str) -> Result<Prot, String> {
    Prot::parse(text).ok_or_else(|| {
        format!(
            "'{}' is not a protection: use none, r, rw, rx or rwx",
            crate::text::echo(text)
        )
    })
}

/// The sharing mode of the `--also` mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlsoMode {
    Private,
    Shared,
}

impl AlsoMode {
    pub fn mode(self) -> MapMode {
        match self {
            Self::Private => MapMode::Private,
            Self::Shared => MapMode::Shared,
        }
    }
}

/// The colours: `--theme default|high-contrast|mono`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ThemeChoice {
    #[default]
    Default,
    /// Bright and bold, nothing dimmed: for projectors.
    HighContrast,
    /// No colour: states told by words, letters and attributes.
    Mono,
}

impl ThemeChoice {
    /// (colour, high contrast) for this choice; `no_color` (the NO_COLOR convention) turns
    /// colour off whatever the choice.
    pub fn colors(self, no_color: bool) -> (bool, bool) {
        (!no_color && self != Self::Mono, self == Self::HighContrast)
    }
}

/// Whether NO_COLOR asks for no colour (set and not empty: no-color.org).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The live refresh interval of the explorer when `--refresh` is not given, in ms.
pub const DEFAULT_REFRESH_MS: u64 = 250;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prots() {
        assert_eq!(parse_prot("rw").unwrap().letters(), "rw-");
        assert_eq!(parse_prot("r-x").unwrap().letters(), "r-x");
        assert_eq!(parse_prot("none").unwrap().letters(), "---");
        assert!(parse_prot("w").is_err());
        assert!(parse_prot("x").is_err());
    }

    #[test]
    fn placement_options_need_their_partners() {
        use clap::Parser as _;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            map: MapArgs,
        }
        let cli =
            Cli::try_parse_from(["x", "--addr", "0x200000000000", "--fixed", "--locked"]).unwrap();
        let place = cli.map.request(Some("f".into())).unwrap().place;
        assert_eq!(place.addr, Some(0x2000_0000_0000));
        assert!(place.fixed && place.locked && !place.populate && !place.huge);
        assert!(
            Cli::try_parse_from(["x", "--fixed"]).is_err(),
            "--fixed needs --addr"
        );
        assert!(
            Cli::try_parse_from(["x", "--huge"]).is_err(),
            "--huge needs --anon"
        );
        assert!(Cli::try_parse_from(["x", "--anon", "2M", "--huge"]).is_ok());
    }

    #[test]
    fn request_needs_exactly_one_source() {
        let args = MapArgs::default();
        assert!(args.request(None).is_err());
        let anon = MapArgs {
            anon: Some(4096),
            ..MapArgs::default()
        };
        assert!(anon.request(Some("f".into())).is_err());
        assert!(matches!(
            anon.request(None).unwrap().source,
            Source::Anon(4096)
        ));
    }
}
