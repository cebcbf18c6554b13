//! The command line of `shared/design.md`: the interactive explorer, `inspect`, and the mapping
//! options they share, with the size syntax (`4096`, `0x1000`, `4k`, `1M`, `1T`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use crate::geometry::parse_size;
pub use crate::options::{AttachArgs, DEFAULT_REFRESH_MS, MapArgs, ThemeChoice, parse_prot};

/// mmapscope: see what mmap(2) really does, page by page.
#[derive(Debug, Parser)]
#[command(
    name = "mmapscope",
    version,
    about = "An interactive explorer of mmap(2): pages, bytes and live kernel state in one view",
    args_conflicts_with_subcommands = true,
    after_help = "Without FILE, a demo file is created in a fresh temporary directory and opened.\n\
                  Sizes and offsets accept decimal, 0x hex and the suffixes k, M, G, T (powers of 1024)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub map: MapArgs,
    #[command(flatten)]
    pub attach: AttachArgs,
    /// Live refresh interval of the TUI in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_REFRESH_MS, value_parser = parse_refresh)]
    pub refresh: u64,
    /// Colours: high-contrast for projectors, mono without colour (also set by NO_COLOR).
    #[arg(long, value_name = "THEME", value_enum, default_value_t)]
    pub theme: ThemeChoice,
    /// The file to map (regular file or /dev/zero).
    pub file: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Map FILE, probe every page, print the report (a text table, or JSON with --json).
    Inspect {
        #[command(flatten)]
        map: MapArgs,
        #[command(flatten)]
        attach: AttachArgs,
        /// Print the JSON report (schema mmapscope/1).
        #[arg(long)]
        json: bool,
        /// Fault in the pages that are already resident (under MADV_RANDOM: no readahead, no
        /// disk I/O), so that pagemap and kpageflags describe them (present, PFN, folio sizes,
        /// kpageflags); they are released again afterwards. Default: nothing is faulted in,
        /// and present/page-table fields describe only pages that were already mapped.
        #[arg(long)]
        fault_in: bool,
        /// Accepted for compatibility: not faulting in is the default now.
        #[arg(long, hide = true)]
        no_touch: bool,
        /// The file to map (with --anon, no file is needed).
        file: Option<PathBuf>,
    },
    /// Run a script of actions on FILE, one JSON line per command (stdin when SCRIPT is absent
    /// or "-"). Exit status 1 when a command fails unexpectedly or an expect fails.
    Batch {
        #[command(flatten)]
        map: MapArgs,
        /// The file to map (with --anon there is no FILE: the first argument is the SCRIPT).
        file: Option<PathBuf>,
        /// The script; stdin when absent or "-".
        script: Option<PathBuf>,
    },
    /// Guided classroom walkthroughs; without NAME, list them.
    Lesson {
        /// A shipped lesson (see the list).
        name: Option<String>,
        /// Play a lesson file of your own instead.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Run it headless: print each step, exit 1 if an expect fails.
        #[arg(long)]
        check: bool,
        /// Play a lesson file that maps a named file or runs code without asking first (a
        /// lesson is a program: see what it touches by playing it without --trust).
        #[arg(long)]
        trust: bool,
        /// Colours: high-contrast for projectors, mono without colour.
        #[arg(long, value_name = "THEME", value_enum, default_value_t)]
        theme: ThemeChoice,
        /// Live refresh interval in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = DEFAULT_REFRESH_MS, value_parser = parse_refresh)]
        refresh: u64,
    },
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output.
    Man,
    /// A peer process writing a counter into a file (behind `peer start`).
    #[command(hide = true)]
    InternalPeer {
        path: PathBuf,
        #[arg(value_parser = parse_size)]
        file_offset: u64,
    },
    /// Resize a file from a separate process (behind the `truncate` action).
    #[command(hide = true)]
    InternalTruncate {
        path: PathBuf,
        #[arg(value_parser = parse_size)]
        size: u64,
    },
    /// A program to debug: maps FILE shared and dirties a random page of it every PERIOD
    /// ms, and grows its heap by a small block each time (the "debug a process" walkthrough
    /// and the tests of --pid attach to it). Prints its pid; runs until killed.
    #[command(hide = true, name = "demo-writer")]
    DemoWriter {
        file: PathBuf,
        /// Milliseconds between two writes.
        #[arg(long, default_value_t = 200, value_parser = parse_refresh)]
        period: u64,
        /// Stop writing after this many (0: never), print `done` and wait, unchanged, until
        /// standard input closes.
        #[arg(long, default_value_t = 0)]
        writes: u64,
    },
}

fn parse_refresh(text: &str) -> Result<u64, String> {
    let ms = parse_size(text)?;
    if ms == 0 {
        return Err("the refresh interval must be at least 1 ms".into());
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_shapes() {
        let cli = Cli::try_parse_from(["mmapscope", "--private", "--len", "8k", "f.txt"]).unwrap();
        assert!(cli.command.is_none());
        assert!(cli.map.private);
        assert_eq!(cli.map.len, Some(8192));
        assert_eq!(cli.refresh, 250);
        let cli =
            Cli::try_parse_from(["mmapscope", "inspect", "--json", "--offset", "0x1000", "f"])
                .unwrap();
        match cli.command {
            Some(Command::Inspect {
                json, map, file, ..
            }) => {
                assert!(json);
                assert_eq!(map.offset, Some(4096));
                assert_eq!(file.unwrap().to_str(), Some("f"));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["mmapscope", "--refresh", "0"]).is_err());
        assert!(Cli::try_parse_from(["mmapscope", "--prot", "q", "f"]).is_err());
    }
}
