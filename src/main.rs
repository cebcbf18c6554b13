//! The `mmapscope` binary: parses the command line, opens the mapping, and dispatches to the
//! explorer or `inspect`. The only place that turns errors into exit codes: 0 success, 2 bad
//! usage or a file that could not be opened or mapped (one line on stderr: what, the errno
//! name, what to do; no backtrace).
#![deny(unsafe_code)]

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use mmapscope::action::Event;
use mmapscope::cli::{AttachArgs, Cli, Command, MapArgs, RecordArgs, ThemeChoice};
use mmapscope::session::DEFAULT_SIZE;
use mmapscope::session::{Runner, Session};
use mmapscope::sys::contain::exit::OnSignal;
use mmapscope::sys::probe::prober::Prober;
use mmapscope::sys::{Region, SysError};

/// Writes `bytes` to standard output; a reader that went away (`| head`) is no error.
fn print_out(bytes: &[u8]) -> ExitCode {
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            fail(SysError::from_io(&e, "write to standard output"))
        }
        _ => ExitCode::SUCCESS,
    }
}

/// Exit status 2 with `msg` on standard error. Whatever it echoes, no control character
/// reaches the terminal and no line runs past `text::LINE_MAX` characters (each value is cut
/// shorter where it is echoed, with `text::echo`).
fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!(
        "mmapscope: {}",
        mmapscope::text::clean_lines(&msg.to_string())
    );
    ExitCode::from(2)
}

/// The command line, or clap's usage error printed with the values it echoes escaped and cut
/// (clap would write them raw: an argument holding ESC or BEL would drive the terminal).
fn parse_cli() -> Result<Cli, ExitCode> {
    use clap::error::{ContextValue, ErrorKind};
    let err = match Cli::try_parse() {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    // The same error, rendered without styles: plain text holding the values as given.
    let plain = <Cli as clap::CommandFactory>::command()
        .styles(clap::builder::Styles::plain())
        .try_get_matches()
        .err();
    let mut text = plain
        .as_ref()
        .map_or_else(|| err.to_string(), |e| e.render().ansi().to_string());
    for (_, value) in err.context() {
        let values = match value {
            ContextValue::String(v) => std::slice::from_ref(v),
            ContextValue::Strings(v) => v.as_slice(),
            _ => &[],
        };
        for v in values.iter().filter(|v| !v.is_empty()) {
            text = text.replace(v.as_str(), &mmapscope::text::echo(v));
        }
    }
    eprint!("{}", mmapscope::text::clean_lines(&text));
    Err(ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2)))
}

/// Maps `file` (or anonymous memory) as `map` says. `created`: mmapscope made the file (the
/// demo), so writing it needs no consent.
fn open(
    map: &MapArgs,
    file: Option<std::path::PathBuf>,
    created: bool,
) -> Result<Region, ExitCode> {
    let mut request = map.request(file).map_err(fail)?;
    request.write |= created;
    Region::open(&request).map_err(|e: SysError| fail(e))
}

/// Sends the `tracing` events of the library to `path` (appended, plain text), when a log was
/// asked for with `--log FILE` or `MMAPSCOPE_LOG=FILE`; nothing is written otherwise.
/// A log is never the file mmapscope maps or reads a script from: appending to it would
/// change that file around the write gate.
fn start_log(
    path: Option<std::path::PathBuf>,
    inputs: &[&std::path::Path],
) -> Result<(), ExitCode> {
    use std::os::unix::fs::MetadataExt as _;
    let Some(path) = path.or_else(|| std::env::var_os("MMAPSCOPE_LOG").map(Into::into)) else {
        return Ok(());
    };
    let id = |p: &std::path::Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    if let Some(log) = id(&path)
        && inputs.iter().any(|p| id(p) == Some(log))
    {
        return Err(fail(format!(
            "the log {} is the file mmapscope would map or read: give another path for --log",
            mmapscope::text::echo(&path.to_string_lossy())
        )));
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| {
            fail(format!(
                "cannot write the log {}: {e}",
                mmapscope::text::echo(&path.to_string_lossy())
            ))
        })?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .init();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        args = ?std::env::args().skip(1).map(|a| mmapscope::text::echo(&a)).collect::<Vec<_>>(),
        "mmapscope started"
    );
    Ok(())
}

fn main() -> ExitCode {
    // `export` draws with the screen's code; the session, below the screen, is handed it.
    mmapscope::session::set_painter(mmapscope::ui::export::draw);
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if let Err(code) = start_log(cli.log.clone(), &inputs(&cli)) {
        return code;
    }
    let look = Look {
        theme: cli.theme,
        mouse: !cli.no_mouse,
    };
    if let Some(Command::Inspect { attach, .. } | Command::Record { attach, .. }) = &cli.command
        && attach.track_access
    {
        return fail(
            "--track-access clears the accessed bits at a mark (b in the explorer); inspect and \
             record set no mark",
        );
    }
    match cli.command {
        Some(command) => subcommand(command),
        None => match cli.attach.pid {
            Some(_) if cli.file.is_some() || cli.map.anon.is_some() => {
                fail("--pid explores a running process: give no FILE or --anon with it")
            }
            None if cli.pick && cli.map.anon.is_some() => {
                fail("--pick explores a running process: give no --anon with it")
            }
            None if cli.pick => attach(
                "",
                None,
                (cli.map.write, false),
                (cli.refresh, look),
                &cli.rec,
            ),
            Some(spec) => attach(
                &spec,
                cli.attach.vma.as_deref(),
                (cli.map.write, cli.attach.track_access),
                (cli.refresh, look),
                &cli.rec,
            ),
            None => explore(&cli.map, cli.file, cli.refresh, look, &cli.rec),
        },
    }
}

/// The files a run reads (mapped, or a script): `--log` may not name one of them.
fn inputs(cli: &Cli) -> Vec<&std::path::Path> {
    match &cli.command {
        Some(Command::Inspect { file, .. }) => file.iter().map(|f| f.as_path()).collect(),
        Some(Command::Batch { file, script, .. }) => {
            file.iter().chain(script).map(|f| f.as_path()).collect()
        }
        Some(Command::Lesson { file, .. }) => file.iter().map(|f| f.as_path()).collect(),
        Some(Command::Record { file, .. }) => file.iter().map(|f| f.as_path()).collect(),
        Some(Command::Replay { file, .. }) => vec![file.as_path()],
        _ => cli.file.iter().map(|f| f.as_path()).collect(),
    }
}

/// A subcommand: inspect, batch, lesson, the ones that print and exit, and the children we
/// start ourselves.
fn subcommand(command: Command) -> ExitCode {
    match command {
        command @ Command::Inspect {
            attach: AttachArgs { pid: Some(_), .. },
            ..
        } => inspect_pid(command),
        Command::Inspect {
            map,
            attach: _,
            json,
            fault_in,
            no_touch: _,
            page_flags: _,
            file,
        } => inspect(&map, file, json, fault_in),
        Command::Batch {
            map,
            rec,
            file,
            script,
        } => batch(&map, file, script, &rec),
        Command::Lesson {
            name,
            file,
            check,
            trust,
            theme,
            refresh,
            no_mouse,
            rec,
        } => lesson(
            name.as_deref(),
            file.as_deref(),
            (check, trust),
            (
                Look {
                    theme,
                    mouse: !no_mouse,
                },
                refresh,
            ),
            &rec,
        ),
        command @ (Command::Record { .. } | Command::Replay { .. }) => recording(command),
        Command::Completions { shell } => completions(shell),
        Command::Man => manual(),
        Command::InternalPeer { path, file_offset } => exit_with(
            mmapscope::sys::lab::experiments::run_peer(&path, file_offset),
        ),
        Command::DemoWriter {
            file,
            period,
            writes,
        } => exit_with(mmapscope::sys::lab::experiments::run_demo_writer(
            &file, period, writes,
        )),
        Command::InternalTruncate { path, size } => {
            exit_with(mmapscope::sys::ops::on_mapping::truncate_file(&path, size))
        }
    }
}

/// `inspect --pid`: another process's report (nothing of it faulted in).
fn inspect_pid(command: Command) -> ExitCode {
    let Command::Inspect {
        map,
        attach: AttachArgs {
            pid: Some(pid),
            vma,
            ..
        },
        json,
        fault_in,
        page_flags,
        file,
        ..
    } = command
    else {
        unreachable!("only inspect --pid comes here")
    };
    if file.is_some() || map.anon.is_some() || fault_in {
        return fail(
            "--pid inspects a running process: give no FILE, --anon or --fault-in with it \
             (nothing of another process is faulted in)",
        );
    }
    match mmapscope::sys::proc::named::resolve(&pid) {
        Ok(pid) => inspect_process(pid, vma.as_deref(), json, page_flags),
        Err(e) => fail(e),
    }
}

/// `record` and `replay`.
fn recording(command: Command) -> ExitCode {
    match command {
        Command::Record {
            map,
            attach,
            interval,
            duration,
            out,
            overwrite,
            file,
        } => record(&map, &attach, file, (interval, duration), (&out, overwrite)),
        Command::Replay {
            file,
            json: false,
            frame,
            at,
            theme,
            no_mouse,
        } => replay_explorer(
            &file,
            (frame, at),
            Look {
                theme,
                mouse: !no_mouse,
            },
        ),
        Command::Replay {
            file,
            json: true,
            frame,
            at,
            ..
        } => replay(&file, frame, at),
        _ => unreachable!("only record and replay come here"),
    }
}

/// `record`: what to record (a file, anonymous memory, a process), then a frame every
/// interval until the duration, a quit signal, or the end of the process.
fn record(
    map: &MapArgs,
    attach: &AttachArgs,
    file: Option<std::path::PathBuf>,
    (interval, duration): (std::time::Duration, Option<std::time::Duration>),
    (out, overwrite): (&std::path::Path, bool),
) -> ExitCode {
    use mmapscope::session::recorder::{Recorder, Source};
    // What is recorded, held here; each frame reads it through a `Source`.
    let (mut region, mut handle) = (None, None);
    match &attach.pid {
        Some(_) if file.is_some() || map.anon.is_some() => {
            return fail("--pid records a running process: give no FILE or --anon with it");
        }
        Some(named) => {
            let pid = match mmapscope::sys::proc::named::resolve(named) {
                Ok(pid) => pid,
                Err(e) => return fail(e),
            };
            match mmapscope::sys::attach::handle::ProcessHandle::open(pid, false) {
                Ok(h) => handle = Some(std::sync::Arc::new(h)),
                Err(e) => return fail(e),
            }
        }
        None if file.is_none() && map.anon.is_none() => {
            return fail("record what? give a FILE, --anon SIZE or --pid PID");
        }
        None => match open(map, file, false) {
            Ok(r) => region = Some(r),
            Err(code) => return code,
        },
    }
    let source = match (&region, &handle) {
        (Some(r), _) => Source::Ours(r),
        (None, Some(handle)) => Source::Process {
            handle,
            vma: attach.vma.clone().filter(|v| v != "all"),
        },
        (None, None) => unreachable!("a region or a handle was opened above"),
    };
    let quit = match mmapscope::sys::contain::exit::install(
        mmapscope::sys::contain::exit::OnSignal::Quit { last: || {} },
    ) {
        Ok(q) => q,
        Err(e) => return fail(SysError::from_io(&e, "install signal handlers")),
    };
    let mut recorder = match Recorder::start(&source, out, overwrite, interval, "record") {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let ended =
        mmapscope::session::recorder::run(&mut recorder, &source, duration, &|| quit.quit_asked());
    let (frames, bytes) = recorder.written();
    let finished = recorder.finish();
    let out_shown = mmapscope::text::echo(&out.to_string_lossy());
    match (ended, finished) {
        (Ok(why), Ok(_)) => {
            eprintln!(
                "mmapscope: recorded {frames} frames ({}) to {out_shown}: {why}",
                mmapscope::text::human(bytes)
            );
            ExitCode::SUCCESS
        }
        (Err(e), _) | (_, Err(e)) => fail(format!(
            "{e} (the recording {out_shown} holds the {frames} frames written before)"
        )),
    }
}

/// `replay FILE`: the explorer on the recording, on frame N (`--frame`), the frame at a time
/// (`--at`) or its first.
fn replay_explorer(
    file: &std::path::Path,
    start: (Option<usize>, Option<f64>),
    look: Look,
) -> ExitCode {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return fail(
            "replay needs a terminal; without one, `replay FILE --json --frame N` prints a frame",
        );
    }
    let settings = configure(mmapscope::options::DEFAULT_REFRESH_MS, look);
    left(mmapscope::app::replay(file, start, settings))
}

/// How the explorer ended: what to say on leaving (success), or its error.
fn left(result: color_eyre::Result<String>) -> ExitCode {
    match result {
        Ok(note) => {
            if !note.is_empty() {
                eprintln!("mmapscope: {note}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `replay --json`: one frame of a recording as the JSON `inspect` printed then.
fn replay(file: &std::path::Path, frame: Option<usize>, at: Option<f64>) -> ExitCode {
    use mmapscope::session::recorder::sys_error;
    let rec = match mmapscope::record::Recording::open(file) {
        Ok(r) => r,
        Err(e) => return fail(sys_error(e)),
    };
    if let Some(cut) = rec.cut_short() {
        eprintln!(
            "mmapscope: note: the recording ends in a partial frame at byte {} (its recorder \
             was stopped mid-write): its {} whole frames are read",
            cut.offset,
            rec.len()
        );
    }
    let last = rec.len().checked_sub(1);
    let n = match (frame, at) {
        (Some(n), _) => Some(n),
        (None, Some(secs)) if secs.is_finite() && secs >= 0.0 => {
            rec.frame_at((secs * 1000.0) as u64)
        }
        (None, Some(_)) => return fail("--at takes a number of seconds, 0 or more"),
        (None, None) => last,
    };
    let Some(n) = n else {
        return fail("the recording holds no whole frame");
    };
    let text = rec
        .frame(n)
        .map(|f| mmapscope::report::replayed_json(rec.header(), &f));
    match text {
        Ok(text) => print_out(text.as_bytes()),
        Err(e) => fail(sys_error(e)),
    }
}

/// `--record OUT`: the session recorded from now on.
fn start_recording(session: &mut Session, rec: &RecordArgs, what: &str) -> Result<(), ExitCode> {
    match &rec.record {
        Some(out) => session.record(out, rec.record_interval, what).map_err(fail),
        None => Ok(()),
    }
}

/// Ends the session's recording, if any, and says what it wrote on stderr.
fn said_recording(session: &mut Session) {
    match session.stop_recording() {
        Some(Ok(said)) => eprintln!("mmapscope: {said}"),
        Some(Err(e)) => eprintln!("mmapscope: the recording stopped early: {e}"),
        None => {}
    }
}

/// Exit status 0, or 2 with the error's line.
fn exit_with(result: Result<(), SysError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mmapscope", &mut text);
    print_out(&text)
}

fn manual() -> ExitCode {
    match mmapscope::cli::manual_page() {
        Ok(text) => print_out(&text),
        Err(e) => fail(SysError::from_io(&e, "render the manual page")),
    }
}

fn batch(
    map: &MapArgs,
    file: Option<std::path::PathBuf>,
    script: Option<std::path::PathBuf>,
    rec: &RecordArgs,
) -> ExitCode {
    // With --anon there is no FILE: the one positional argument is the script.
    let (file, script) = match (map.anon, file, script) {
        (Some(_), Some(first), None) => (None, Some(first)),
        (_, file, script) => (file, script),
    };
    let text = match script.as_deref() {
        None => mmapscope::script::read_capped(std::io::stdin()),
        Some(p) if p.as_os_str() == "-" => mmapscope::script::read_capped(std::io::stdin()),
        Some(p) => match std::fs::File::open(p) {
            Ok(f) => mmapscope::script::read_capped(f),
            Err(e) => Err(SysError::from_io(
                &e,
                format!("open {}", mmapscope::text::echo(&p.to_string_lossy())),
            )
            .to_string()),
        },
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => return fail(format!("read the script: {e}")),
    };
    let lines = match mmapscope::script::parse(&text) {
        Ok(lines) => lines,
        Err(errors) => {
            for e in &errors {
                eprintln!(
                    "mmapscope: script {}",
                    mmapscope::text::clean_lines(&e.to_string())
                );
            }
            return ExitCode::from(2);
        }
    };
    let region = match open(map, file, false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    for note in region.notes() {
        eprintln!("mmapscope: note: {note}");
    }
    if let Err(e) = mmapscope::sys::contain::exit::install(OnSignal::End) {
        return fail(SysError::from_io(&e, "install signal handlers"));
    }
    let mut session = Session::new(region, false, DEFAULT_SIZE);
    if let Some(also) = map.also
        && let Err(e) = session.add_also(also.mode())
    {
        return fail(e);
    }
    if let Err(code) = start_recording(&mut session, rec, "batch") {
        return code;
    }
    let mut runner = Runner::new(session);
    let ran = runner.run(&lines, &mut std::io::stdout().lock());
    said_recording(&mut runner.session);
    match ran {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        // A closed pipe: the reader went away; the run still counts by what it did.
        Err(_) => ExitCode::from(u8::from(runner.finish())),
    }
}

fn inspect(map: &MapArgs, file: Option<std::path::PathBuf>, json: bool, touch: bool) -> ExitCode {
    let region = match open(map, file, false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    for note in region.notes() {
        eprintln!("mmapscope: note: {note}");
    }
    let prober = Prober::new();
    let stream = match mmapscope::report::Stream::new(&region, &prober, touch) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // The report goes out while the mapping is scanned: memory stays flat however many runs.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let written = if json {
        stream.write_json(&mut out)
    } else {
        stream.write_text(&mut out)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn inspect_process(pid: u32, spec: Option<&str>, json: bool, page_flags: bool) -> ExitCode {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    match mmapscope::report::inspect_process(pid, spec, json, page_flags, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.errno == libc::EPIPE => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// The explorer on another process (`--pid`).
/// `(write, track_access)`: `--write`, `--track-access`.
fn attach(
    named: &str,
    spec: Option<&str>,
    (write, track_access): (bool, bool),
    (refresh_ms, look): (u64, Look),
    rec: &RecordArgs,
) -> ExitCode {
    use std::io::IsTerminal as _;
    let terminal = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let pid = match pid_or_pick(named, terminal, look) {
        Ok(Some(pid)) => pid,
        Ok(None) => {
            eprintln!("mmapscope: no process picked");
            return ExitCode::SUCCESS;
        }
        Err(code) => return code,
    };
    if !terminal {
        return fail(format!(
            "the explorer needs a terminal; for a report without one, use `mmapscope inspect \
             --pid {pid}`"
        ));
    }
    let mut session = match Session::attach(pid, spec, write, true, DEFAULT_SIZE) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if let Err(e) = session.set_track_access(track_access) {
        return fail(e);
    }
    if let Err(e) = color_eyre::install() {
        return fail(e);
    }
    session.act(configure(refresh_ms, look));
    if let Err(code) = start_recording(&mut session, rec, "explorer") {
        return code;
    }
    let intro = vec![if write {
        format!(
            "attached to pid {pid}: writes go through its /proc/PID/mem, only where it may write, \
             each asked first"
        )
    } else {
        format!(
            "attached to pid {pid}, read-only: bytes of present pages, page tables from its pagemap"
        )
    }];
    left(mmapscope::app::run(session, &intro, None))
}

/// The pid `--pid` names; in a terminal, the picker when a name matches no process or
/// several (filtered on the name), and always for `--pick` (an empty `named`). `None`: the
/// user picked nothing. Without a terminal a name must match exactly one process.
fn pid_or_pick(named: &str, terminal: bool, look: Look) -> Result<Option<u32>, ExitCode> {
    use mmapscope::sys::proc::named as names;
    let refused = match (named, names::resolve(named)) {
        ("", _) => None,
        (_, Ok(pid)) => return Ok(Some(pid)),
        (_, Err(e)) => Some(e),
    };
    let note = match refused {
        Some(e) if !terminal || named.parse::<u32>().is_ok() => return Err(fail(e)),
        Some(_) => Some(match names::named(named).len() {
            0 => format!(
                "no process is named {}: every process is listed, filtered on the name",
                mmapscope::text::echo(named)
            ),
            n => format!(
                "{n} processes are named {}: pick one",
                mmapscope::text::echo(named)
            ),
        }),
        None if !terminal => {
            return Err(fail(
                "--pick needs a terminal; without one, --pid NAME lists the processes of a name",
            ));
        }
        None => None,
    };
    mmapscope::app::pick(
        named,
        note,
        look.theme.colors(mmapscope::options::no_color_env()),
        look.mouse,
    )
    .map_err(fail)
}

/// The explorer's settings, as news for the model: the refresh interval, and colours from `--theme`
/// and NO_COLOR (read here, once).
fn configure(refresh_ms: u64, look: Look) -> Event {
    let (color, high_contrast) = look.theme.colors(mmapscope::options::no_color_env());
    Event::Configure {
        refresh_ms,
        color,
        high_contrast,
        mouse: look.mouse,
    }
}

/// How the explorer looks and listens: `--theme`, and the mouse unless `--no-mouse`.
#[derive(Debug, Clone, Copy)]
struct Look {
    theme: ThemeChoice,
    mouse: bool,
}

/// Whether a lesson from a file may run: shipped lessons and lessons that touch nothing but
/// their own fresh file may; others need `--trust`, or a yes on the terminal.
fn lesson_allowed(
    lesson: &mmapscope::script::lesson::Lesson,
    check: bool,
    trust: bool,
) -> Result<(), String> {
    let risks = mmapscope::script::lesson::risks(lesson);
    if trust || risks.is_empty() {
        return Ok(());
    }
    let list = risks
        .iter()
        .map(|r| format!("  - {r}"))
        .collect::<Vec<_>>()
        .join("\n");
    let what = format!(
        "the lesson {} is a program that does more than use its own fresh file:\n{list}",
        mmapscope::text::echo(&lesson.name)
    );
    use std::io::IsTerminal as _;
    if check || !std::io::stdin().is_terminal() {
        return Err(format!("{what}\nrun it with --trust if you trust it"));
    }
    eprint!("mmapscope: {what}\nPlay it? y/N ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err("not played".into())
    }
}

fn lesson(
    name: Option<&str>,
    file: Option<&std::path::Path>,
    (check, trust): (bool, bool),
    (look, refresh_ms): (Look, u64),
    rec: &RecordArgs,
) -> ExitCode {
    if name.is_none() && file.is_none() {
        print!("{}", mmapscope::script::lesson::listing());
        return ExitCode::SUCCESS;
    }
    let lesson = match mmapscope::script::lesson::load(name, file) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    if file.is_some()
        && let Err(e) = lesson_allowed(&lesson, check, trust)
    {
        return fail(e);
    }
    if check {
        if let Err(e) = mmapscope::sys::contain::exit::install(OnSignal::End) {
            return fail(SysError::from_io(&e, "install signal handlers"));
        }
        let record = rec.record.as_deref().map(|out| (out, rec.record_interval));
        let out = &mut std::io::stdout().lock();
        return match mmapscope::session::lecture::check(&lesson, out, record) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => fail(e),
        };
    }
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return fail("a lesson plays in a terminal; without one, use --check");
    }
    let dir = match mmapscope::demo::TempDir::new() {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let region = match mmapscope::script::lesson::request(&lesson, dir.path())
        .and_then(|req| Region::open(&req).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut session = Session::new(region, true, DEFAULT_SIZE);
    session.act(configure(refresh_ms, look));
    if let Err(code) = start_recording(&mut session, rec, &format!("lesson {}", lesson.name)) {
        return code;
    }
    let intro = vec![format!("lesson {}: {}", lesson.name, lesson.title)];
    let lecture = mmapscope::session::lecture::Lecture { lesson, dir };
    let result = mmapscope::app::run(session, &intro, Some(&lecture));
    drop(lecture);
    left(result)
}

/// The explorer's first log lines: the mapping made, the notes of opening it, why a file
/// opens read-only, and last (the line on screen) the demo file's path.
fn intro_lines(region: &Region, demo: Option<String>) -> Vec<String> {
    let mut intro = vec![format!(
        "mmap {} {} at 0x{:x}: {} pages",
        region.mode().flag_name(),
        region.prot().letters(),
        region.addr(),
        mmapscope::text::thousands(region.pages())
    )];
    intro.extend(region.notes().iter().cloned());
    if region.mode() == mmapscope::sys::MapMode::Shared {
        intro.extend(mmapscope::sys::ops::notes::opened_shared(
            region.page_cache_file(),
            region.prot(),
            !region.consented_at_open() && region.may_write(),
        ));
    }
    intro.extend(demo);
    intro
}

fn explore(
    map: &MapArgs,
    file: Option<std::path::PathBuf>,
    refresh_ms: u64,
    look: Look,
    rec: &RecordArgs,
) -> ExitCode {
    use std::io::IsTerminal as _;
    // Before anything is created or mapped: without a terminal there is nothing to show.
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return fail(
            "the explorer needs a terminal; for a report without one, use `mmapscope inspect FILE`",
        );
    }
    let mut demo_dir = None;
    let file = match (file, map.anon) {
        (None, None) => match mmapscope::demo::create() {
            Ok((dir, path)) => {
                demo_dir = Some(dir);
                Some(path)
            }
            Err(e) => return fail(e),
        },
        (file, _) => file,
    };
    let demo = demo_dir.as_ref().zip(file.as_ref()).map(|(_, path)| {
        format!(
            "demo file created: {} (removed when mmapscope ends)",
            mmapscope::text::sanitize(&path.to_string_lossy())
        )
    });
    let region = match open(map, file, demo.is_some()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let intro = intro_lines(&region, demo);
    if let Err(e) = color_eyre::install() {
        return fail(e);
    }
    let mut session = Session::new(region, true, DEFAULT_SIZE);
    if let Some(also) = map.also
        && let Err(e) = session.add_also(also.mode())
    {
        return fail(e);
    }
    session.act(configure(refresh_ms, look));
    if let Err(code) = start_recording(&mut session, rec, "explorer") {
        return code;
    }
    let result = mmapscope::app::run(session, &intro, None);
    if let Some(dir) = demo_dir {
        eprintln!(
            "mmapscope: removed the demo file and its directory {}",
            mmapscope::text::sanitize(&dir.path().to_string_lossy())
        );
    }
    left(result)
}
