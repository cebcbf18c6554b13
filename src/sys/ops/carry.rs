//! Carries out an `Op` against the kernel and says what happened (`execute`: the one entry for
//! every operation, handing each to `on_mapping` or `on_lab`; `execute_on_view` for a VMA we
//! did not make; `swapped` when the shown mapping changes), and starts mapped code in a child
//! that the explorer polls (`start`, `Running`). What comes back is an `Outcome`: the system call
//! with its arguments, the result or errno with one sentence, the time it took, the page faults
//! it cost, the smaps counters it moved, and the before/after page states that tell what it did.

use std::time::{Duration, Instant};

use crate::sys::ops::op::Op;

use crate::sys::contain::children::{CALL_TIMEOUT, CodeChild};
use crate::sys::error::SysError;
use crate::sys::lab::experiments::Lab;
use crate::sys::map::region::{Region, fault_counts};
use crate::sys::map::request::Prot;
use crate::sys::ops::gate::Permit;
use crate::sys::ops::notes;
use crate::sys::probe::prober::Prober;
use crate::sys::proc::maps::SmapsField;

use crate::sys::ops::on_lab::*;
use crate::sys::ops::on_mapping::*;
use crate::sys::ops::outcome::*;

/// Carries out the operation `permit` allows (the write gate made it: `sys::ops::gate`) on `region`
/// (and `lab`, for the experiments that keep state).
pub fn execute(region: &mut Region, prober: &Prober, lab: &mut Lab, permit: Permit) -> Outcome {
    let vma_before = our_vma(region);
    let faults_before = fault_counts();
    let start = Instant::now();
    let mut notes = Vec::new();
    let (call, result) = run(region, prober, lab, &permit, &mut notes);
    let op = permit.into_op();
    let elapsed = start.elapsed();
    let faults_after = fault_counts();
    let vma_after = our_vma(region);
    if matches!(
        op,
        Op::Mode(_) | Op::Truncate(_) | Op::PeerStart(_) | Op::Fadvise(_)
    ) && let Some(note) = region.path_note()
    {
        notes.push(note);
    }
    let smaps_delta = delta(vma_before.as_ref(), vma_after.as_ref());
    if let (Op::Resize(_), Ok(_)) = (&op, &result)
        && let Some((_, grew)) = smaps_delta
            .iter()
            .find(|(f, d)| *f == SmapsField::Locked && *d > 0)
    {
        notes.push(format!(
            "the mapping is locked (VmFlags lo): mremap locked its new part too, faulting it in \
             at once (Locked +{})",
            crate::text::human(grew.unsigned_abs())
        ));
    }
    let child_related = matches!(
        op,
        Op::Fork | Op::ChildExit | Op::ChildRead { .. } | Op::ChildWrite { .. }
    ) || (matches!(op, Op::Write { .. }) && lab.keeper.is_some());
    if result.is_ok() && child_related {
        notes.extend(notes::smaps_moved_by_child(&smaps_delta));
    }
    Outcome {
        op,
        result,
        elapsed,
        faults: (
            faults_after.0.saturating_sub(faults_before.0),
            faults_after.1.saturating_sub(faults_before.1),
        ),
        smaps_delta,
        call,
        notes,
    }
}

/// `swap`, done by the session (it holds both mappings of `--also`): the outcome naming the
/// mapping now shown.
pub fn swapped(shown: &Region, other: &Region) -> Outcome {
    let (addr, mode) = (shown.addr(), shown.mode());
    Outcome {
        op: Op::Swap,
        result: Ok(Done::Swapped { addr, mode }),
        elapsed: Duration::ZERO,
        faults: (0, 0),
        smaps_delta: Vec::new(),
        call: format!(
            "swap: the grid shows the {} mapping at 0x{addr:x} (the {} one at 0x{:x} beside it)",
            mode.flag_name(),
            other.mode().flag_name(),
            other.addr()
        ),
        notes: vec![
            "keys and script lines now act on this mapping; o (or `swap`) switches back".into(),
        ],
    }
}

/// `dump`, on the mapping or VMA shown (read as the grid reads it, with `prober`, the one of
/// its process): the bytes of its present pages to a new file.
pub fn dump(
    mapped: &dyn crate::sys::map::range::Mapped,
    prober: &Prober,
    permit: Permit,
) -> Outcome {
    let op = permit.into_op();
    let start = Instant::now();
    let (call, result) = match &op {
        Op::Dump(d) => (d.name(), crate::sys::ops::dump::dump(mapped, prober, d)),
        Op::Export(e) => (e.name(), crate::sys::ops::dump::export(e)),
        other => (
            other.name(),
            Err(SysError::new(libc::EINVAL, other.name(), "not a dump")),
        ),
    };
    let notes = match &result {
        Ok(done @ Done::Dumped { .. }) => crate::sys::ops::dump::notes(done, mapped.ours()),
        Ok(Done::Exported { bytes, holds, .. }) => vec![format!(
            "{} written: {holds}",
            crate::sys::ops::notes::plural(*bytes, "byte")
        )],
        Ok(_) => Vec::new(),
        Err(_) => Vec::new(),
    };
    Outcome {
        op,
        result,
        elapsed: start.elapsed(),
        faults: (0, 0),
        smaps_delta: Vec::new(),
        call,
        notes,
    }
}

/// An operation on a VMA explored rather than made by us: reads and writes go through the
/// process's handle (its `/proc/PID/mem`, opened once; writes only with `--write` and the
/// gate's permit, only where the process may write, all or nothing, never into ourselves);
/// every other operation belongs to the mapping we made.
pub fn execute_on_view(view: &crate::sys::attach::foreign::VmaView, permit: Permit) -> Outcome {
    use crate::sys::map::range::Mapped as _;
    let op = permit.into_op();
    let start = Instant::now();
    let mut notes = Vec::new();
    let (call, result) = match &op {
        Op::Write { offset, bytes } => {
            // Through the process's handle: only where it may write itself, all or nothing.
            let call = format!(
                "pwrite(/proc/{}/mem, 0x{:x}, {})",
                view.pid_number(),
                view.addr().saturating_add(*offset),
                hex(bytes)
            );
            let result = view.write(*offset, bytes).map(|old| Done::Wrote {
                offset: *offset,
                old,
                new: bytes.clone(),
                padding: 0,
            });
            (call, result)
        }
        Op::Read { offset, len } => read(view, *offset, *len, &mut notes),
        Op::Undo | Op::Redo => (op.name(), Ok(Done::Nothing {})),
        other => (
            other.name(),
            Err(SysError::new(
                libc::EPERM,
                other.name(),
                format!(
                    "this VMA (pid {}, 0x{:x}) is only looked at: msync, mprotect, madvise, \
                     remapping, touching and the lab act on the mapping mmapscope made",
                    view.pid_number(),
                    view.addr()
                ),
            )),
        ),
    };
    Outcome {
        op,
        result,
        elapsed: start.elapsed(),
        faults: (0, 0),
        smaps_delta: Vec::new(),
        call,
        notes,
    }
}

fn run(
    region: &mut Region,
    prober: &Prober,
    lab: &mut Lab,
    permit: &Permit,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    let writable = permit.file_writable();
    match permit.op() {
        Op::Write { offset, bytes } => (
            format!("write 0x{offset:x} <- {}", hex(bytes)),
            write_after_fork(region, (prober, lab), *offset, bytes, (writable, notes)),
        ),
        Op::Read { offset, len } => read(region, *offset, *len, notes),
        op @ (Op::Undo | Op::Redo) => (op.name(), Ok(Done::Nothing {})),
        Op::Mode(mode) => {
            let anon = !region.page_cache_file();
            let out = remap(region, prober, *mode, writable, notes);
            if out.1.is_ok()
                && let Some(pid) = lab.mapping_replaced(anon)
            {
                notes.push(format!(
                    "pid {pid} keeps the mapping as it was at the fork: {}",
                    if anon {
                        "this new anonymous memory is ours alone"
                    } else {
                        "the file's page-cache pages are still the same for both"
                    }
                ));
            }
            out
        }
        Op::Msync(kind, scope) => msync(region, prober, *kind, *scope, notes),
        Op::Protect(prot) => protect(region, *prot, writable, notes),
        Op::Advise(advice, scope) => advise(region, prober, *advice, *scope, notes),
        Op::Fadvise(advice) => fadvise(region, prober, *advice, notes),
        Op::Touch(page) => touch_op(region, prober, *page, notes),
        Op::Truncate(size) => (
            format!("ftruncate(file, {size}) from another process"),
            truncate(region, lab, *size, notes),
        ),
        Op::Lock(scope) => lock(region, true, *scope, notes),
        Op::Unlock(scope) => lock(region, false, *scope, notes),
        Op::Resize(len) => mremap(region, prober, Reshape::Len(*len), notes),
        Op::Move(addr) => mremap(region, prober, Reshape::To(*addr), notes),
        op => run_lab(region, prober, lab, op, notes),
    }
}

/// `touch page N`, with the call as in C.
fn touch_op(
    region: &Region,
    prober: &Prober,
    page: u64,
    notes: &mut Vec<String>,
) -> (String, Result<Done, SysError>) {
    // Checked: the page number comes from the user and may be anything.
    let at = page
        .checked_mul(region.page_size())
        .and_then(|off| off.checked_add(region.addr()));
    let call = match at {
        Some(at) => format!("touch page {page} (read 1 byte at 0x{at:x})"),
        None => format!("touch page {page}"),
    };
    (call, touch(region, prober, page, notes))
}

/// An `exec` whose child still runs: the TUI keeps it and polls it on every tick, so the
/// screen stays live; its outcome comes when the child ends or is killed at the deadline.
/// Dropping it kills the child and its process group.
#[derive(Debug)]
pub struct Running {
    child: CodeChild,
    op: Op,
    call: String,
    offset: u64,
    /// The protection when the child was forked.
    prot: Prot,
    /// Faults and smaps changes of the fork itself, measured around it.
    faults: (u64, u64),
    smaps_delta: Vec<(SmapsField, i64)>,
}

/// What `start` did: the outcome, or a child still running.
#[derive(Debug)]
pub enum Started {
    Done(Outcome),
    Running(Running),
}

/// As `execute`, but an `exec` returns at once with its child still running.
pub fn start(region: &mut Region, prober: &Prober, lab: &mut Lab, permit: Permit) -> Started {
    let Op::Exec { offset, args } = *permit.op() else {
        return Started::Done(execute(region, prober, lab, permit));
    };
    let op = permit.into_op();
    let vma_before = our_vma(region);
    let faults_before = fault_counts();
    let start = Instant::now();
    let spawned = region.spawn_code(offset, args);
    let faults_after = fault_counts();
    let faults = (
        faults_after.0.saturating_sub(faults_before.0),
        faults_after.1.saturating_sub(faults_before.1),
    );
    let smaps_delta = delta(vma_before.as_ref(), our_vma(region).as_ref());
    let call = exec_call(region.addr(), offset, args);
    match spawned {
        Ok(child) => Started::Running(Running {
            child,
            op,
            call,
            offset,
            prot: region.prot(),
            faults,
            smaps_delta,
        }),
        Err(e) => Started::Done(Outcome {
            op,
            result: Err(e),
            elapsed: start.elapsed(),
            faults,
            smaps_delta,
            call,
            notes: Vec::new(),
        }),
    }
}

impl Running {
    pub(crate) fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The log line while it runs.
    pub fn running_line(&self) -> String {
        format!(
            "{}: running as pid {} (killed after {} s)",
            self.call,
            self.pid(),
            CALL_TIMEOUT.as_secs()
        )
    }

    /// Without blocking: the outcome once the child has ended, or has been killed at its
    /// deadline; `None` while it runs.
    pub fn poll(&mut self) -> Option<Outcome> {
        let result = match self.child.try_end() {
            Ok(None) => return None,
            Ok(Some(reaped)) => Ok(reaped),
            Err(e) => Err(e),
        };
        let mut notes = Vec::new();
        let result = result.map(|r| called(self.offset, self.prot, r, &mut notes));
        Some(Outcome {
            op: self.op.clone(),
            result,
            elapsed: self.child.started().elapsed(),
            faults: self.faults,
            smaps_delta: self.smaps_delta.clone(),
            call: self.call.clone(),
            notes,
        })
    }

    /// The refusal of another operation that needs the child slot while this one runs.
    pub fn refuse(&self, op: Op) -> Outcome {
        Outcome {
            call: match &op {
                Op::Exec { offset, args } => format!("call +0x{offset:x}({}, {})", args.0, args.1),
                other => other.name(),
            },
            op,
            result: Err(SysError::new(
                libc::EBUSY,
                "exec",
                format!(
                    "pid {} still runs the previous call; it ends or is killed within {} s",
                    self.pid(),
                    CALL_TIMEOUT.as_secs()
                ),
            )),
            elapsed: Duration::ZERO,
            faults: (0, 0),
            smaps_delta: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The outcome of an operation the write gate refused: nothing was called.
pub fn refused(op: Op, err: SysError) -> Outcome {
    Outcome {
        call: "refused by the write gate".into(),
        op,
        result: Err(err),
        elapsed: Duration::ZERO,
        faults: (0, 0),
        smaps_delta: Vec::new(),
        notes: Vec::new(),
    }
}
