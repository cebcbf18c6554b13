//! An absolute address anywhere in the process shown (`:`, `goto`, `--vma ADDR`, a followed
//! pointer, the jump list): its VMA found through the process's handle (`sys::attach::locate`:
//! PROCMAP_QUERY, else the maps text) and opened the way exploring from the address-space view
//! opens one, so Backspace and the write gate work as they do there; a gap is said with what
//! is on either side.

use crate::action::Event;
use crate::sys::attach::locate::{Located, locate};
use crate::sys::map::range::Mapped;
use crate::update::update;

use super::Session;

/// Whether `addr` is in what `shown` maps.
fn holds(shown: &dyn Mapped, addr: u64) -> bool {
    addr >= shown.addr() && addr - shown.addr() < shown.map_bytes()
}

impl Session {
    /// Opens the VMA holding `addr` with the cursor there (the model is told by
    /// `Event::Arrived`), or tells the model the gap it is in (`Event::Gap`).
    pub(super) fn goto_address(&mut self, addr: u64) {
        if self.goto_recorded(addr) {
            return;
        }
        let started = std::time::Instant::now();
        let found = self
            .observer
            .handle(self.subject.attached())
            .and_then(|h| locate(&h, addr));
        let (found, via) = match found {
            Ok(f) => f,
            Err(e) => {
                update(
                    &mut self.model,
                    Event::Note(format!("goto: 0x{addr:x}: {e}")),
                );
                return;
            }
        };
        tracing::info!(
            addr = format_args!("{addr:#x}"),
            ?via,
            us = started.elapsed().as_micros(),
            "located an address"
        );
        match found {
            Located::Gap { before, after } => {
                update(
                    &mut self.model,
                    Event::Gap {
                        addr,
                        before,
                        after,
                    },
                );
            }
            Located::Inside(line) => {
                if !holds(self.subject.mapped(), addr) {
                    // The bytes first: the VMA's smaps counters follow from the reader.
                    self.observer.no_wait(line.start, line.end);
                    // Ours again when the line is our mapping; an error is said by explore.
                    self.explore(&line);
                }
                let shown = self.subject.mapped();
                if holds(shown, addr) {
                    let base = shown.addr();
                    update(&mut self.model, Event::Arrived { addr, base });
                    // The VMA's shape comes with this probe; the caller's refresh then reads
                    // the rows around the cursor.
                    self.refresh();
                } else {
                    let at = format!("0x{:x}-0x{:x}", line.start, line.end);
                    update(
                        &mut self.model,
                        Event::Note(format!(
                            "goto: 0x{addr:x} is in the VMA {at}, which could not be opened \
                             (said above)"
                        )),
                    );
                }
            }
        }
    }
}
