//! The command line: the interactive explorer, `inspect`, and the mapping
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
    /// Pick the process to explore from a list (pid, user, RSS, command line): type to
    /// filter, Tab sorts by RSS or pid, Enter attaches as --pid PID does.
    #[arg(long, conflicts_with_all = ["pid", "file"])]
    pub pick: bool,
    /// Live refresh interval of the TUI in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_REFRESH_MS, value_parser = parse_refresh)]
    pub refresh: u64,
    /// Leave the mouse to the terminal (its own selection and scrolling). By default clicks
    /// move the cursor and pick pages, cells and VMAs, and the wheel scrolls.
    #[arg(long)]
    pub no_mouse: bool,
    /// Colours: high-contrast for projectors, mono without colour (also set by NO_COLOR).
    #[arg(long, value_name = "THEME", value_enum, default_value_t)]
    pub theme: ThemeChoice,
    /// Append a log of what mmapscope does (each operation, its call, result and time; each
    /// question and refusal; children started and ended) to FILE, for a TUI that cannot print
    /// while it runs. Also MMAPSCOPE_LOG=FILE.
    #[arg(long, value_name = "FILE", global = true)]
    pub log: Option<PathBuf>,
    #[command(flatten)]
    pub rec: RecordArgs,
    /// The file to map (regular file or /dev/zero).
    pub file: Option<PathBuf>,
}

/// `--record OUT`: the session written to a recording as it goes (docs/recording.md).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RecordArgs {
    /// Record the session to OUT (a new file): a frame at the start, then at most every
    /// --record-interval as the screen refreshes or a script line runs, and one at the end;
    /// `mmapscope replay OUT --json` prints a frame.
    #[arg(long, value_name = "OUT")]
    pub record: Option<PathBuf>,
    /// The least time between two frames of --record: 1s, 200ms (a number alone is seconds).
    #[arg(long, value_name = "TIME", default_value = "1s", value_parser = parse_duration)]
    pub record_interval: std::time::Duration,
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
        /// With --pid and every VMA: read kpageflags and kpagecount for each present page too
        /// (root only: folio sizes, map counts, dirty anonymous pages), as one VMA (--vma)
        /// always does; they cost a read per cluster of physical pages.
        #[arg(long, requires = "pid")]
        page_flags: bool,
        /// The file to map (with --anon, no file is needed).
        file: Option<PathBuf>,
    },
    /// Run a script of actions on FILE, one JSON line per command (stdin when SCRIPT is absent
    /// or "-"). Exit status 1 when a command fails unexpectedly or an expect fails.
    Batch {
        #[command(flatten)]
        map: MapArgs,
        #[command(flatten)]
        rec: RecordArgs,
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
        /// Leave the mouse to the terminal (its own selection and scrolling).
        #[arg(long)]
        no_mouse: bool,
        #[command(flatten)]
        rec: RecordArgs,
    },
    /// Record FILE, anonymous memory (--anon SIZE) or a process (--pid PID [--vma SPEC|all])
    /// to OUT: a frame of its maps, smaps counters, page states and the bytes of pages whose
    /// state changed, at most every --interval (nothing faulted in). Ctrl-C or SIGTERM ends it
    /// with a whole file; `mmapscope replay OUT` plays it (docs/recording.md: the format).
    Record {
        #[command(flatten)]
        map: MapArgs,
        #[command(flatten)]
        attach: AttachArgs,
        /// Time between two frames: 1s, 500ms, 2m (a number alone is seconds).
        #[arg(long, value_name = "TIME", default_value = "1s", value_parser = parse_duration)]
        interval: std::time::Duration,
        /// Stop after this long (default: until Ctrl-C, SIGTERM, or the process ends).
        #[arg(long, value_name = "TIME", value_parser = parse_duration)]
        duration: Option<std::time::Duration>,
        /// The recording to write (a new file: see --overwrite).
        #[arg(short = 'o', long = "out", value_name = "OUT")]
        out: PathBuf,
        /// Replace OUT if it exists (never a file mapped by mmapscope or by the process).
        #[arg(long)]
        overwrite: bool,
        /// The file to record (with --anon or --pid, none).
        file: Option<PathBuf>,
    },
    /// Play a recording: with --json, print frame N (or the frame at a time) as the JSON
    /// `inspect` printed then.
    Replay {
        /// The recording (`mmapscope record -o FILE`).
        file: PathBuf,
        /// Print the frame as inspect's JSON report.
        #[arg(long)]
        json: bool,
        /// The frame to print, from 0 (default: the last).
        #[arg(long, value_name = "N", conflicts_with = "at")]
        frame: Option<usize>,
        /// The frame at this many seconds since the start (the last one at or before it).
        #[arg(long, value_name = "SECONDS")]
        at: Option<f64>,
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

/// The manual page (roff): clap's sections for the command line, then the explorer's keys
/// (`keys::manual_lines`, and each other context's key line) and the page states
/// (`legend::STATES`), from the tables the help overlay and the screen use.
///
/// # Errors
/// Rendering clap's sections failed (a write into memory: not expected).
pub fn manual_page() -> std::io::Result<Vec<u8>> {
    let mut text = Vec::new();
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut text)?;
    let clap_part = String::from_utf8_lossy(&text).into_owned();
    let ours = keys_and_states();
    // Before VERSION, where a reader looks for what the program does.
    let page = match clap_part.find("\n.SH VERSION") {
        Some(at) => format!("{}\n{ours}{}", &clap_part[..at], &clap_part[at + 1..]),
        None => format!("{clap_part}{ours}"),
    };
    Ok(page.into_bytes())
}

/// The KEYS and PAGE STATES sections.
fn keys_and_states() -> String {
    use crate::keys::{KeyContext, hints, manual_lines};
    let mut out = String::from(".SH KEYS\n");
    out += &roff_line(
        "In the explorer (and in a lesson, which adds its own keys); `?` shows them on screen.",
    );
    for (keys, what) in manual_lines() {
        out += &format!(
            ".TP\n{}{}",
            roff_line(&format!("`{keys}`")),
            roff_line(what)
        );
    }
    for (title, ctx) in [
        ("Edit mode (i)", KeyContext::Edit { text: false }),
        ("The event log (Tab, Tab)", KeyContext::Log),
        ("The address-space view (A)", KeyContext::Space),
        ("Its filter (/ in the view)", KeyContext::SpaceFilter),
        ("The page map (P)", KeyContext::PageMap),
    ] {
        out += &format!(".SS {}", roff_line(title));
        let line: Vec<String> = hints(ctx)
            .iter()
            .map(|(k, w)| format!("`{k}` {w}"))
            .collect();
        out += &roff_line(&line.join(", "));
    }
    out += ".SH \"PAGE STATES\"\n";
    out += &roff_line(
        "Each page's header says what the kernel says of the page now, in words, or in the \
         letters when the line is too narrow; every state is also a colour. Numbers the \
         screen fills in are written N here.",
    );
    for s in crate::legend::STATES {
        out += &format!(
            ".TP\n{}{}",
            roff_line(s.words),
            roff_line(&format!("{}. Source: {}.", s.meaning, s.source))
        );
    }
    out
}

/// One line of roff text from Markdown-ish text: `code` in bold, backslashes escaped, and a
/// leading `.` or `'` kept from being read as a request.
fn roff_line(text: &str) -> String {
    let mut out = String::from("\\&");
    let mut bold = false;
    for c in text.chars() {
        match c {
            '`' => {
                out += if bold { "\\fR" } else { "\\fB" };
                bold = !bold;
            }
            '\\' => out += "\\e",
            '-' => out += "\\-",
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    if bold {
        out += "\\fR";
    }
    out.push('\n');
    out
}

fn parse_refresh(text: &str) -> Result<u64, String> {
    let ms = parse_size(text)?;
    if ms == 0 {
        return Err("the refresh interval must be at least 1 ms".into());
    }
    Ok(ms)
}

/// A time: a number and a unit, `ms`, `s`, `m` or `h` (`1s`, `500ms`, `2m`; `1.5s`); a number
/// alone is seconds. Zero is refused.
///
/// # Errors
/// A sentence with the accepted forms.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    let secs = number.parse::<f64>().map(|n| n * scale);
    match secs {
        Ok(s) if (0.001..1e9).contains(&s) => Ok(std::time::Duration::from_secs_f64(s)),
        _ => Err(format!(
            "'{}' is not a time of at least 1 ms: use 1s, 500ms, 2m or 1h",
            crate::text::echo(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_units() {
        use std::time::Duration;
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["", "0", "0ms", "1x", "s", "-1s", "1e3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

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
