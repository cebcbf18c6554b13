//! The event loop of the TUI: probe -> draw -> poll (until the next refresh) -> map_key ->
//! the session (update -> sys::ops::carry -> apply_outcome -> probe). The terminal is restored on
//! every way out: normal quit, error (guard's Drop), panic (ratatui's hook), SIGTERM/SIGHUP/
//! SIGINT/SIGQUIT (a flag polled by the loop, and `sys::contain::exit`'s watchdog when the terminal itself has gone
//! away). SIGTSTP and Ctrl-z give the terminal back before stopping (when a job-control shell
//! can continue us); SIGCONT takes it again and redraws. Code run by `x` runs in a child the
//! loop polls, so the screen stays live; no way out leaves that child, what it forked, or the
//! peer running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::layout::{Rect, Size};
use ratatui::prelude::CrosstermBackend;
use ratatui::{DefaultTerminal, Terminal, TerminalOptions, Viewport};

use crate::action::{Action, Event as News, LessonAction};
use crate::input::{KeyContext, map_key};
use crate::model::Model;
use crate::session::{Runner, Session};
use crate::sys::contain::exit::{self, OnSignal};

/// The longest the loop sleeps, so that signals are noticed promptly whatever `--refresh` is.
const MAX_POLL: Duration = Duration::from_millis(100);
/// The longest the loop sleeps while a child runs code, so that its end shows promptly.
const CHILD_POLL: Duration = Duration::from_millis(20);

/// The largest screen drawn, in cells. ratatui keeps two buffers of every cell it draws (40 B
/// a cell each) and lists the cells that changed to send a frame (16 B a cell): 96 B a cell
/// at a full redraw, 960 MB for a 5000x2000 terminal. A terminal larger than this shows the
/// screen in its top left corner (it is already wider than the widest layout, and a grid of
/// 400 rows shows 12 KiB at once); nothing of mmapscope's own grows with the terminal.
const MAX_COLS: u16 = 640;
const MAX_ROWS: u16 = 400;

/// The part of a terminal of `size` that is drawn: all of it, up to `MAX_COLS` x `MAX_ROWS`.
fn drawn_area(size: Size) -> Rect {
    Rect::new(0, 0, size.width.min(MAX_COLS), size.height.min(MAX_ROWS))
}

/// A terminal that draws exactly `area`, with buffers of that size.
fn terminal_for(area: Rect) -> std::io::Result<DefaultTerminal> {
    Terminal::with_options(
        CrosstermBackend::new(std::io::stdout()),
        TerminalOptions {
            viewport: Viewport::Fixed(area),
        },
    )
}

/// Follows a terminal now of `size`: when the area drawn changes, a new terminal with buffers
/// of the new size (ratatui's own resize keeps the largest buffers it ever had, so memory
/// would stay at the largest size seen), the old buffers freed and the allocator's free
/// memory given back to the system, the screen cleared for a full redraw, and the model told.
/// Returns whether anything changed.
fn fit(terminal: &mut DefaultTerminal, session: &mut Session, size: Size) -> std::io::Result<bool> {
    let area = drawn_area(size);
    if terminal.get_frame().area() == area && session.model.screen.size == (area.width, area.height)
    {
        return Ok(false);
    }
    // The old terminal's Drop shows the cursor; the next draw hides it again.
    *terminal = terminal_for(area)?;
    crate::sys::raw::trim_heap();
    execute!(std::io::stdout(), terminal::Clear(terminal::ClearType::All))?;
    session.act(News::Resize(area.width, area.height));
    Ok(true)
}

/// Mouse reports on: clicks and the wheel (`CSI ? 1000 h`, no motion: moving the mouse costs
/// nothing) in the SGR encoding (`CSI ? 1006 h`: any column, unambiguous).
const MOUSE_ON: &[u8] = b"\x1b[?1000h\x1b[?1006h";
/// Mouse reports off, every mode a terminal may have been left in (crossterm's
/// DisableMouseCapture turns off the same ones).
const MOUSE_OFF: &[u8] = b"\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l";

/// Turns the terminal's mouse reports on or off.
fn mouse(on: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(if on { MOUSE_ON } else { MOUSE_OFF })?;
    out.flush()
}

/// Restores the terminal when dropped, whichever way `run` ends.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Errors here have nowhere to go: the terminal is what failed. try_restore leaves the
        // alternate screen but does not show the cursor: the Terminal's Drop does, unless it
        // never ran; once more costs nothing. Mouse reports go off whether or not they were on.
        let _ = mouse(false);
        let _ = execute!(std::io::stdout(), event::PopKeyboardEnhancementFlags);
        let _ = ratatui::try_restore();
        let _ = execute!(std::io::stdout(), cursor::Show);
    }
}

/// Asks the terminal to tell Ctrl-i from Tab (the kitty keyboard protocol's first flag,
/// which crossterm reads); a terminal that does not know it ignores the request, and its
/// Ctrl-i stays Tab (Ctrl-n goes forward in the jump list everywhere).
fn tell_keys_apart() -> std::io::Result<()> {
    execute!(
        std::io::stdout(),
        event::PushKeyboardEnhancementFlags(
            event::KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES
        )
    )
}

/// Job control: SIGTSTP asks us to stop (we give the terminal back first), SIGCONT says we
/// were continued (the terminal is ours to take again, and to redraw).
struct JobSignals {
    stop: Arc<AtomicBool>,
    cont: Arc<AtomicBool>,
}

impl JobSignals {
    fn register() -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let cont = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGTSTP, Arc::clone(&stop))?;
        signal_hook::flag::register(signal_hook::consts::SIGCONT, Arc::clone(&cont))?;
        Ok(Self { stop, cont })
    }
}

/// Ctrl-z: in raw mode the terminal sends it as a key, not as SIGTSTP.
fn is_suspend_key(key: &KeyEvent) -> bool {
    key.kind == KeyEventKind::Press
        && key.code == KeyCode::Char('z')
        && key.modifiers.contains(KeyModifiers::CONTROL)
}

/// Whether a stop can end: a job-control parent (a shell in our session, in another process
/// group) will `fg` us. Otherwise (started by a terminal emulator or by setsid: the process
/// group is "orphaned") nothing would continue us, and the kernel itself discards a
/// terminal's SIGTSTP to such a group (kernel/signal.c, is_current_pgrp_orphaned).
///
/// Read from /proc, not with getsid(2)/getpgid(2) through rustix: in a PID namespace whose
/// session leader is outside it (a container, CI) those return 0, which rustix's `Pid` panics on.
fn job_control_parent() -> bool {
    use crate::sys::proc::process::stat_ids;
    let Some(ours) = stat_ids("self") else {
        return false;
    };
    if ours.ppid <= 0 || ours.session <= 0 {
        return false;
    }
    match stat_ids(&ours.ppid.to_string()) {
        Some(parent) => parent.session == ours.session && parent.pgrp != ours.pgrp,
        None => false,
    }
}

/// Ctrl-z or SIGTSTP: suspends when a shell can bring us back, else says why not.
fn suspend_or_say(
    terminal: &mut DefaultTerminal,
    session: &mut Session,
    jobs: &JobSignals,
) -> std::io::Result<()> {
    if job_control_parent() {
        suspend(terminal, session.model.settings.mouse)?;
        // The SIGCONT that woke us is handled: resume has run.
        jobs.cont.store(false, Ordering::Relaxed);
    } else {
        session.act(News::Note(
            "not suspended: no job-control shell started mmapscope, so nothing could continue \
             it (q quits)"
                .into(),
        ));
    }
    Ok(())
}

/// Gives the terminal back (cursor shown, raw mode off, main screen), stops this process as
/// SIGTSTP's default action would have, and once continued takes the terminal again.
fn suspend(terminal: &mut DefaultTerminal, with_mouse: bool) -> std::io::Result<()> {
    terminal.show_cursor()?;
    mouse(false)?;
    execute!(std::io::stdout(), event::PopKeyboardEnhancementFlags)?;
    ratatui::try_restore()?;
    signal_hook::low_level::raise(signal_hook::consts::SIGSTOP)?;
    resume(terminal, with_mouse)
}

/// Takes the terminal back after a stop: raw mode (set afresh: the shell may have reset the
/// terminal while we were stopped), the alternate screen, and a full redraw on the next draw
/// (whatever ran meanwhile drew over the screen, and ratatui only sends what changed).
fn resume(terminal: &mut DefaultTerminal, with_mouse: bool) -> std::io::Result<()> {
    let _ = terminal::disable_raw_mode();
    terminal::enable_raw_mode()?;
    execute!(std::io::stdout(), terminal::EnterAlternateScreen)?;
    if with_mouse {
        mouse(true)?;
    }
    tell_keys_apart()?;
    terminal.clear()
}

/// Restores the terminal from the watchdog thread. The stuck main thread may hold the stdout
/// lock (a write to a terminal that stopped reading), so the bytes go straight to fd 1:
/// `CSI < u` pops the keyboard flags, `CSI ? 1049 l` leaves the alternate screen and `CSI ? 25
/// h` shows the cursor (crossterm's PopKeyboardEnhancementFlags, LeaveAlternateScreen and
/// cursor::Show; ratatui::try_restore writes only the second). On a
/// thread of its own, given half a second: a terminal that takes nothing must not keep us.
fn restore_without_stdout_lock() {
    use std::os::fd::AsFd as _;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = terminal::disable_raw_mode();
        let _ = rustix::io::write(std::io::stdout().as_fd(), MOUSE_OFF);
        let _ = rustix::io::write(std::io::stdout().as_fd(), b"\x1b[<u\x1b[?1049l\x1b[?25h");
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(Duration::from_millis(500));
}

/// What happened while the loop waited, other than keys: a stop or continue signal, the end of
/// a child's code, a slice of a running search, a resize crossterm did not report. Returns
/// whether the model changed.
fn catch_up(
    terminal: &mut DefaultTerminal,
    session: &mut Session,
    jobs: &JobSignals,
) -> std::io::Result<bool> {
    let mut changed = false;
    if jobs.stop.swap(false, Ordering::Relaxed) {
        suspend_or_say(terminal, session, jobs)?;
        changed = true;
    }
    if jobs.cont.swap(false, Ordering::Relaxed) {
        // Stopped by someone else (SIGSTOP) and continued.
        resume(terminal, session.model.settings.mouse)?;
        changed = true;
    }
    changed |= session.poll_child().is_some();
    // A search works a slice per turn of the loop; the screen is drawn between slices.
    if session.search_running() {
        session.poll_search();
        changed = true;
    }
    // A resize that arrived before crossterm listened for SIGWINCH is caught here.
    let size = terminal.size()?;
    changed |= fit(terminal, session, size)?;
    Ok(changed)
}

/// Runs the explorer on `session` (and `lecture`, when playing a lesson: its lines run
/// through a script runner over the session, keys through the session) until the user quits
/// or a signal arrives. Returns what to say on leaving.
///
/// # Errors
/// Terminal I/O failures.
pub fn run(
    session: Session,
    intro: &[String],
    lecture: Option<&crate::session::lecture::Lecture>,
) -> color_eyre::Result<String> {
    // SIGTERM, SIGHUP, SIGINT and SIGQUIT set a flag instead of killing us mid-draw (SIGQUIT's
    // default would dump core and leave the terminal raw, on the alternate screen); dropped
    // when `run` ends, whichever way, which stands the watchdog down.
    let exit = exit::install(OnSignal::Quit {
        last: restore_without_stdout_lock,
    })?;
    let jobs = JobSignals::register()?;
    let _guard = TerminalGuard;
    // As ratatui::try_init, with the area drawn bounded (`MAX_COLS` x `MAX_ROWS`).
    let (cols, rows) = terminal::size()?;
    let area = drawn_area(Size::new(cols, rows));
    let mut terminal = ratatui::try_init_with_options(TerminalOptions {
        viewport: Viewport::Fixed(area),
    })?;
    execute!(std::io::stdout(), terminal::EnterAlternateScreen)?;
    if session.model.settings.mouse {
        mouse(true)?;
    }
    tell_keys_apart()?;
    tracing::info!(cols, rows, drawn = ?(area.width, area.height), "explorer started");
    let mut runner = Runner::new(session);
    runner.session.act(News::Resize(area.width, area.height));
    for line in intro {
        runner.session.act(News::Note(line.clone()));
    }
    if let Some(l) = lecture {
        crate::session::lecture::start(&mut runner, &l.lesson);
    }
    let refresh = Duration::from_millis(runner.session.model.settings.refresh_ms);
    let mut last_probe = Instant::now();
    // The model changed since the last draw. The screen is a function of the model, so a
    // wake-up that changed nothing (the poll's timeout, kept short for signals) draws nothing.
    let mut stale = true;
    loop {
        if exit.quit_asked() || runner.session.model.screen.quit {
            break;
        }
        stale |= catch_up(&mut terminal, &mut runner.session, &jobs)?;
        if last_probe.elapsed() >= refresh {
            let start = Instant::now();
            runner.session.refresh();
            runner.session.record_tick(None);
            tracing::debug!(us = start.elapsed().as_micros(), "refresh");
            last_probe = Instant::now();
            stale = true;
        }
        if std::mem::take(&mut stale) {
            terminal.draw(|frame| crate::ui::render(&runner.session.model, frame))?;
        }
        let wait = refresh.saturating_sub(last_probe.elapsed()).min(MAX_POLL);
        if !event::poll(poll_time(&runner.session, wait))? {
            continue;
        }
        stale = true;
        for action in read_actions(&mut terminal, &mut runner.session, &jobs)? {
            runner = dispatch(runner, action, lecture);
        }
        if let Some(text) = runner.session.model.screen.copy.outbox.take() {
            send_clipboard(&text)?;
        }
        last_probe = Instant::now();
    }
    tracing::info!("explorer ended");
    Ok(goodbye(&mut runner.session))
}

/// The words said on the way out: the farewell, and with `--record` what the recording holds
/// (its last frame written now).
fn goodbye(session: &mut Session) -> String {
    let bye = farewell(&session.model);
    let recorded = match session.stop_recording() {
        None => return bye,
        Some(Ok(said)) => said,
        Some(Err(e)) => format!("the recording stopped early: {e}"),
    };
    if bye.is_empty() {
        recorded
    } else {
        format!("{bye}\nmmapscope: {recorded}")
    }
}

/// How often the picker reads the process list again.
const PICK_REREAD: Duration = Duration::from_secs(2);

/// The process picker (`--pick`, or `--pid NAME` with no or several matches): lists every
/// process (`named::all`, read again every two seconds), filtered on `filter` as typed, until
/// the user chooses one (its pid) or gives up (`None`). Colours as `color` and `high_contrast`.
///
/// # Errors
/// Terminal I/O failures.
pub fn pick(
    filter: &str,
    note: Option<String>,
    (color, high_contrast): (bool, bool),
    with_mouse: bool,
) -> color_eyre::Result<Option<u32>> {
    use crate::model::{Picked, Picker};
    use crate::sys::proc::named;
    let exit = exit::install(OnSignal::Quit {
        last: restore_without_stdout_lock,
    })?;
    let _guard = TerminalGuard;
    let mut terminal = ratatui::try_init()?;
    execute!(std::io::stdout(), terminal::EnterAlternateScreen)?;
    if with_mouse {
        mouse(true)?;
    }
    let theme = crate::ui::theme::Theme {
        color,
        high_contrast,
    };
    let mut picker = Picker::new(named::all(), filter, note);
    let mut read = Instant::now();
    // Drawn only when something changed: a key, a new reading, a new size.
    let mut stale = true;
    while picker.chosen.is_none() && !exit.quit_asked() {
        let size = terminal.size()?;
        stale |= picker.size != (size.width, size.height);
        picker.size = (size.width, size.height);
        if read.elapsed() >= PICK_REREAD {
            let before = picker.clone();
            picker.replace(named::all());
            stale |= picker != before;
            read = Instant::now();
        }
        if std::mem::take(&mut stale) {
            terminal.draw(|frame| crate::ui::picker::render(&picker, frame, theme))?;
        }
        if !event::poll(MAX_POLL)? {
            continue;
        }
        stale = true;
        let action = match event::read()? {
            Event::Key(key) => map_key(KeyContext::Picker, key),
            Event::Mouse(ev) => crate::ui::picker::mouse(&picker, ev),
            _ => None,
        };
        match action {
            Some(Action::Picker(a)) => crate::update::picker::update(&mut picker, a),
            Some(Action::Ask(_)) => picker.chosen = Some(Picked::Nothing),
            _ => {}
        }
    }
    Ok(match picker.chosen {
        Some(Picked::Pid(pid)) => Some(pid),
        _ => None,
    })
}

/// Puts `text` on the terminal's clipboard: OSC 52 (`ESC ] 52 ; c ; BASE64 BEL`), which
/// xterm, kitty, iTerm2, WezTerm, foot and tmux (`set-clipboard on`) take; a terminal that
/// does not ignores it.
fn send_clipboard(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "\x1b]52;c;{}\x07",
        crate::text::base64(text.as_bytes())
    )?;
    out.flush()
}

/// How long to wait for a key: until the next refresh, shorter while a child runs, not at all
/// while a search has work to do.
fn poll_time(session: &Session, until_refresh: Duration) -> Duration {
    if session.search_running() {
        Duration::ZERO
    } else if session.child_running() {
        until_refresh.min(CHILD_POLL)
    } else {
        until_refresh
    }
}

/// The next terminal event as actions: a key through the key map in the model's context, a
/// mouse event placed on what is drawn (`ui::mouse`); a suspend key and a resize are handled
/// here.
fn read_actions(
    terminal: &mut DefaultTerminal,
    session: &mut Session,
    jobs: &JobSignals,
) -> color_eyre::Result<Vec<Action>> {
    let m = &session.model;
    let key = match event::read()? {
        Event::Mouse(ev) => return Ok(crate::ui::mouse::actions(m, ev)),
        other => other,
    };
    Ok(match key {
        Event::Key(key) if is_suspend_key(&key) => {
            suspend_or_say(terminal, session, jobs)?;
            None
        }
        Event::Key(key) => map_key(KeyContext::of_model(m), key),
        Event::Resize(cols, rows) => {
            fit(terminal, session, Size::new(cols, rows))?;
            None
        }
        _ => None,
    }
    .into_iter()
    .collect())
}

/// Carries out an action: a lesson's next and back through its lecture, any other through
/// the session. Back replays the lesson on a fresh runner, which replaces this one.
fn dispatch(
    mut runner: Runner,
    action: Action,
    lecture: Option<&crate::session::lecture::Lecture>,
) -> Runner {
    match (action, lecture) {
        (Action::Lesson(LessonAction::Next), Some(l)) => {
            crate::session::lecture::next(&mut runner, &l.lesson);
        }
        (Action::Lesson(LessonAction::Back), Some(l)) => {
            if let Some(mut r) = crate::session::lecture::back(&runner, l) {
                let why = "back a step: the lesson replayed on a fresh copy of its file";
                r.session.carry_recording(&mut runner.session, why);
                return r;
            }
        }
        (action, _) => {
            runner.session.act_live(action);
        }
    }
    runner
}

/// What to say on leaving about edits not yet msynced.
pub fn farewell(model: &Model) -> String {
    match (model.snap.shape.mode, model.doc.edits.len()) {
        (_, 0) => String::new(),
        (crate::sys::map::request::MapMode::Shared, n) => format!(
            "{n} edited byte(s) not msynced: they are in the page cache already, and the kernel \
             writes them back to the file anyway"
        ),
        (crate::sys::map::request::MapMode::Private, n) => {
            format!("{n} private edited byte(s) discarded: MAP_PRIVATE writes never reach the file")
        }
    }
}

/// `mmapscope replay FILE`: the explorer on the recording (`settings`: the explorer's look), on
/// frame N or the frame at a time (`start`: `--frame`, `--at`) or its first. Returns what to
/// say on leaving.
///
/// # Errors
/// The recording cannot be opened (not one, damaged, a newer schema), or terminal I/O.
pub fn replay(
    file: &std::path::Path,
    (frame, at): (Option<usize>, Option<f64>),
    settings: News,
) -> color_eyre::Result<String> {
    let mut session = Session::replay(file, crate::session::DEFAULT_SIZE)
        .map_err(crate::session::recorder::sys_error)?;
    color_eyre::install()?;
    session.act(settings);
    if let Some(a) = crate::update::replay::start_at(frame, at) {
        session.act(Action::Replay(a));
    }
    run(session, &[], None)
}
