//! The event loop of the TUI: probe -> draw -> poll (until the next refresh) -> map_key ->
//! update -> carry out commands. Single thread. The terminal is restored on every way out:
//! normal quit, error (guard's Drop), panic (ratatui's hook), SIGTERM/SIGHUP/SIGINT (flags
//! polled by the loop).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ratatui::crossterm::event::{self, Event};

use crate::action::{Action, Command};
use crate::keymap::{KeyContext, map_key};
use crate::model::Model;
use crate::sys::exec;
use crate::sys::probe::Prober;
use crate::sys::region::Region;
use crate::sys::snapshot::{self, View};
use crate::update::{apply_outcome, update};

/// The longest the loop sleeps, so that signals are noticed promptly whatever `--refresh` is.
const MAX_POLL: Duration = Duration::from_millis(100);

/// Restores the terminal when dropped, whichever way `run` ends.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Errors here have nowhere to go: the terminal is what failed.
        let _ = ratatui::try_restore();
    }
}

/// `HH:MM:SS` of the wall clock (UTC).
pub fn clock_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Registers SIGTERM, SIGHUP and SIGINT to set a flag instead of killing us mid-draw.
///
/// # Errors
/// The signal handler could not be installed.
pub fn quit_flag() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(flag)
}

/// The initial model: a first snapshot of page 0, then one of the real view.
pub fn initial_model(region: &Region, prober: &Prober, size: (u16, u16), refresh_ms: u64) -> Model {
    let first = snapshot::take(
        region,
        prober,
        View {
            first_page: 0,
            page_count: 1,
            byte_start: 0,
            byte_len: 0,
            minimap_cells: 1,
        },
    );
    let mut model = Model::new(first, size);
    model.refresh_ms = refresh_ms;
    model.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    model.clock = clock_now();
    let snap = snapshot::take(region, prober, model.view());
    model.apply_snapshot(snap, 0);
    // The first probe saw nothing mapped yet; its change is not news.
    model.deltas = Default::default();
    model
}

/// Runs the explorer on `region` until the user quits or a signal arrives.
///
/// # Errors
/// Terminal I/O failures.
pub fn run(region: &mut Region, refresh_ms: u64, intro: &[String]) -> color_eyre::Result<String> {
    let quit = quit_flag()?;
    let prober = Prober::new();
    let _guard = TerminalGuard;
    let mut terminal = ratatui::try_init()?;
    let size = terminal.size()?;
    let mut model = initial_model(region, &prober, (size.width, size.height), refresh_ms);
    for line in intro {
        model.log(line.clone());
    }
    let start = Instant::now();
    let refresh = Duration::from_millis(refresh_ms);
    let mut last_probe = Instant::now();
    let mut stale = false;
    loop {
        if quit.load(Ordering::Relaxed) || model.quit {
            break;
        }
        // A resize that arrived before crossterm listened for SIGWINCH is caught here.
        let size = terminal.size()?;
        if (size.width, size.height) != model.size {
            update(&mut model, Action::Resize(size.width, size.height));
            stale = true;
        }
        if stale || last_probe.elapsed() >= refresh {
            model.clock = clock_now();
            let snap = snapshot::take(region, &prober, model.view());
            let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            model.apply_snapshot(snap, now_ms);
            last_probe = Instant::now();
            stale = false;
        }
        terminal.draw(|frame| crate::ui::render(&model, frame))?;
        let wait = refresh.saturating_sub(last_probe.elapsed()).min(MAX_POLL);
        if !event::poll(wait)? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(key) => {
                map_key(KeyContext::of(model.focus, &model.overlay, model.edit), key)
            }
            Event::Resize(cols, rows) => Some(Action::Resize(cols, rows)),
            _ => None,
        };
        if let Some(action) = action {
            for command in update(&mut model, action) {
                match command {
                    // Carried out by the probe below, which every action gets.
                    Command::Refresh => {}
                    Command::Exec { op, history } => {
                        let outcome = exec::execute(region, &prober, op, history);
                        apply_outcome(&mut model, &outcome);
                    }
                }
            }
            // Whatever moved, the next frame shows the kernel's state of what is now visible.
            stale = true;
        }
    }
    Ok(farewell(&model))
}

/// What to say on leaving about edits not yet msynced.
pub fn farewell(model: &Model) -> String {
    match (model.snap.mode, model.edits.len()) {
        (_, 0) => String::new(),
        (crate::sys::region::MapMode::Shared, n) => format!(
            "{n} edited byte(s) not msynced: they are in the page cache already, and the kernel \
             writes them back to the file anyway"
        ),
        (crate::sys::region::MapMode::Private, n) => {
            format!("{n} private edited byte(s) discarded: MAP_PRIVATE writes never reach the file")
        }
    }
}
