//! The mapping options every command shares (`--private`, `--offset`, `--len`, `--prot`,
//! `--write`, `--anon`), as clap arguments: the command line uses them, and so does a lesson's
//! `# options:` line. They become a `MapRequest`.

use clap::Args;

use crate::geometry::parse_size;
use crate::sys::{MapMode, MapRequest, Prot, region::Source};
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
            place: Default::default(),
        })
    }
}

/// Parses a protection: `none`, `r`, `rw`, `rx`, `rwx` (or the `rw-` form of /proc/self/maps).
///
/// # Errors
/// A sentence listing the accepted values.
pub fn parse_prot(text: &str) -> Result<Prot, String> {
    Prot::parse(text)
        .ok_or_else(|| format!("'{text}' is not a protection: use none, r, rw, rx or rwx"))
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
