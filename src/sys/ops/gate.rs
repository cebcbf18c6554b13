//! The one write gate. Everything that can change a file the user named or another process
//! (a typed edit, undo and redo, the other mapping of `--also` after `swap`, `mode`,
//! `protect`, `truncate`, the peer, the fork child's write, a menu, a script's or a lesson's
//! line) is an `Op` that `sys::ops::carry` carries out only with a `Permit`, and only
//! `Gate::check` makes one. The gate knows the target (the file by the descriptor we hold,
//! the process by its handle, both described by `Facts`) and the consent given: `--write`
//! (or `--prot` with `w`), a question the user answered yes, or a `protect rw` line in a
//! script. A lesson's risk list walks its lines through the same `reach` and `Gate::check`
//! (`lesson::risks`), so the list cannot disagree with what playing the lesson does.
//!
//! The rules, in one place:
//! - a store into a MAP_SHARED mapping of a named file, `truncate`, the peer (it always maps
//!   MAP_SHARED and writes its counter) and the fork child's store into its MAP_SHARED copy
//!   change the file; so does `protect` with `w` on a shared mapping of it, which lets every
//!   later store through;
//! - a MAP_PRIVATE mapping, anonymous memory and /dev/zero change no file;
//! - a write into another process changes that process: it needs `--write`, a process whose
//!   handle still answers, and (from a key) a yes to a question naming the pid, the address
//!   and the bytes, each time (undo and redo are writes too);
//! - mmapscope never writes into its own process outside the mappings it made;
//! - clearing another process's accessed bits (`clear_refs`) changes its reclaim order: only
//!   with `--track-access` (`clear_refs_refusal`).
//!
//! Without consent a key asks (the answer, yes, is the consent for the file from then on); a
//! script line is refused with how to allow it, except `protect rw` itself, which is the
//! consent a script gives.

use crate::sys::error::SysError;
use crate::sys::map::request::{MapMode, Prot};
use crate::sys::ops::op::Op;

/// How writing the named file was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// `--write`, or `--prot` with `w`, on the command line (or a lesson's `# options:`), or
    /// a file mmapscope created (the demo, a lesson's fresh copy).
    Flag,
    /// The user answered yes to a question.
    Question,
    /// A `protect rw` (or `rwx`) line in a script or lesson.
    ProtectLine,
}

/// Where an operation came from: a key may be asked about; a script line (batch, a lesson
/// step) cannot be, and is refused instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Key,
    Script,
}

/// What backs a mapping we made, as far as writing is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    /// Anonymous memory or /dev/zero: no file's bytes are behind the pages.
    Memory,
    /// A file with a page cache (a regular file or a block device): a store into a shared
    /// mapping of it is a write to it. `shown`: its path for questions and refusals,
    /// sanitized; `writable`: we have write permission on it.
    File { shown: String, writable: bool },
}

/// What an operation acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// A mapping mmapscope made.
    Mapping {
        backing: Backing,
        mode: MapMode,
        prot: Prot,
        /// The fork child's copy of the mapping, and its mode at the fork (it keeps that
        /// mapping whatever ours becomes): `None` without a child.
        child_mode: Option<MapMode>,
    },
    /// A VMA of our own process that mmapscope did not make (the heap, a library).
    OwnVma,
    /// A VMA of another process.
    Process {
        pid: u32,
        /// `pid 4242 python3`, sanitized.
        name: String,
        /// Its path or `[heap]`, sanitized.
        vma: String,
        /// The VMA's start address.
        start: u64,
        /// `--write` was given.
        write: bool,
        /// Whether the write at hand could land now (`VmaView::check_write`): the process is
        /// still the one attached to (not exited, no exec since), and every byte lies in a
        /// VMA it may write itself. Why not, as the refusal to give.
        lands: Result<(), SysError>,
    },
    /// A recording replayed (`mmapscope replay FILE`): nothing of it is live to change.
    Recording,
}

/// Why every operation is refused in a replay.
pub const RECORDING_READ_ONLY: &str =
    "a recording is read-only: it shows what was seen then, and nothing live is changed from it";

/// What an operation would change beyond mmapscope's own memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Nothing that is not ours: our private copies, anonymous memory, a read, a probe.
    Ours,
    /// The named file.
    File(FileChange),
    /// Another process's memory: `len` bytes at `addr`.
    Process { addr: u64, len: u64 },
    /// Never done: why.
    Never(&'static str),
}

/// How an operation changes the named file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    /// A store through our shared mapping (an edit, undo, redo, a snippet).
    Store,
    /// The fork child's store into its shared copy.
    ChildStore,
    /// ftruncate from a helper process.
    Truncate,
    /// The peer process writes its counter.
    Peer,
    /// mprotect with PROT_WRITE: from then on every store reaches the file.
    MakeWritable,
}

impl FileChange {
    /// What the change does to the file at `path`, for questions and refusals.
    fn words(self, path: &str) -> String {
        match self {
            Self::Store => format!(
                "Writes go straight to {path}: a store into a MAP_SHARED page is a write to the \
                 file, with no save step"
            ),
            Self::ChildStore => format!(
                "The fork child's copy of the mapping is MAP_SHARED: its store writes {path} \
                 itself"
            ),
            Self::Truncate => format!("truncate changes the size of {path}"),
            Self::Peer => format!(
                "The peer maps {path} MAP_SHARED and writes its counter into it a few times a \
                 second"
            ),
            Self::MakeWritable => format!(
                "With PROT_WRITE every store into this MAP_SHARED mapping writes {path} itself, \
                 with no save step"
            ),
        }
    }
}

/// What an operation would change, given what it acts on. Pure: the session asks it of the
/// live mappings, `lesson::risks` of a lesson's lines.
pub fn reach(op: &Op, shown: &Shown) -> Reach {
    match shown {
        // Every operation acts on a live mapping or process; a recording's frames are what was
        // seen then, and an operation through them would reach whatever lives there now.
        // A picture of what is on screen is drawn from the model alone, into a new file.
        Shown::Recording => match op {
            Op::Export(_) => Reach::Ours,
            _ => Reach::Never(RECORDING_READ_ONLY),
        },
        Shown::OwnVma => match op {
            Op::Write { .. } => Reach::Never(
                "mmapscope never writes into its own process outside the mapping it made: that \
                 memory belongs to the program itself (Backspace returns to that mapping)",
            ),
            _ => Reach::Ours,
        },
        Shown::Process { start, .. } => match op {
            Op::Write { offset, bytes } => Reach::Process {
                addr: start.saturating_add(*offset),
                len: bytes.len() as u64,
            },
            _ => Reach::Ours,
        },
        Shown::Mapping {
            backing,
            mode,
            child_mode,
            ..
        } => {
            if matches!(backing, Backing::Memory) {
                return Reach::Ours;
            }
            let shared = *mode == MapMode::Shared;
            let change = match op {
                Op::Write { .. } if shared => FileChange::Store,
                Op::ChildWrite { .. } if *child_mode == Some(MapMode::Shared) => {
                    FileChange::ChildStore
                }
                Op::Truncate(_) => FileChange::Truncate,
                Op::PeerStart(_) => FileChange::Peer,
                Op::Protect(Prot { write: true, .. }) if shared => FileChange::MakeWritable,
                _ => return Reach::Ours,
            };
            Reach::File(change)
        }
    }
}

/// The right to carry out one operation, made only by `Gate::check`. `sys::ops::carry` takes it in
/// place of the operation, so no path reaches the kernel around the gate.
#[derive(Debug)]
pub struct Permit {
    op: Op,
    file_writable: bool,
}

impl Permit {
    /// The operation it allows.
    pub fn op(&self) -> &Op {
        &self.op
    }

    /// Whether writing the named file is allowed (a shared mapping of it may be PROT_WRITE;
    /// a remap to MAP_SHARED keeps PROT_WRITE only then).
    pub(crate) fn file_writable(&self) -> bool {
        self.file_writable
    }

    /// The operation, given back.
    pub fn into_op(self) -> Op {
        self.op
    }
}

/// What the gate says of one operation.
#[derive(Debug)]
pub enum Verdict {
    /// Go ahead.
    Go(Permit),
    /// Ask the user first (a key): the question, and the protection to set before a store
    /// into a read-only shared mapping once the answer is yes.
    Ask {
        question: String,
        protect_first: Option<Prot>,
    },
    /// Refused: why, and how to allow it.
    Refuse(SysError),
}

/// The consent given, and the one function that decides.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    file: Option<Consent>,
}

impl Gate {
    /// A gate with the consent given when the file was opened (`None`: not yet).
    pub fn new(file: Option<Consent>) -> Self {
        Self { file }
    }

    /// How writing the named file was allowed, if it was.
    #[cfg(test)]
    pub(crate) fn file_consent(&self) -> Option<Consent> {
        self.file
    }

    /// Whether the named file may be written.
    pub fn file_writable(&self) -> bool {
        self.file.is_some()
    }

    /// Decides whether `op`, acting on `shown`, may go ahead. `confirmed`: the user has just
    /// answered yes to this very operation's question (a key's operation only). A yes, and a
    /// script's `protect rw`, are remembered as the file's consent.
    pub fn check(&mut self, op: &Op, shown: &Shown, origin: Origin, confirmed: bool) -> Verdict {
        // Before a dump's own rules: a recording's bytes are not dumped from a live mapping.
        if let Reach::Never(why) = reach(op, shown) {
            return Verdict::Refuse(SysError::new(libc::EPERM, ctx(op), why));
        }
        let own_file = match op {
            Op::Dump(dump) => Some(dump_refusal(dump)),
            Op::Export(export) => Some(export_refusal(export)),
            _ => None,
        };
        if let Some(refusal) = own_file {
            return match refusal {
                Some(err) => Verdict::Refuse(err),
                None => self.go(op),
            };
        }
        let confirmed = confirmed && origin == Origin::Key;
        match reach(op, shown) {
            Reach::Ours => self.go(op),
            Reach::Never(why) => Verdict::Refuse(SysError::new(libc::EPERM, ctx(op), why)),
            Reach::File(change) => self.file_change(op, shown, change, origin, confirmed),
            Reach::Process { addr, len } => {
                let Shown::Process {
                    name,
                    vma,
                    write,
                    lands,
                    ..
                } = shown
                else {
                    return Verdict::Refuse(SysError::new(libc::EPERM, ctx(op), "no process"));
                };
                // No one can be asked in a script (scripts do not attach; tests do): `--write`
                // is the consent there.
                let asked = confirmed || origin == Origin::Script;
                process_write(op, (addr, len), (name, vma), (*write, lands), asked, self)
            }
        }
    }

    fn go(&self, op: &Op) -> Verdict {
        Verdict::Go(Permit {
            op: op.clone(),
            file_writable: self.file.is_some(),
        })
    }

    fn file_change(
        &mut self,
        op: &Op,
        shown: &Shown,
        change: FileChange,
        origin: Origin,
        confirmed: bool,
    ) -> Verdict {
        if self.file.is_some() {
            return self.go(op);
        }
        let Shown::Mapping {
            backing:
                Backing::File {
                    shown: path,
                    writable,
                },
            prot,
            ..
        } = shown
        else {
            return self.go(op);
        };
        let what = change.words(path);
        if !writable {
            return Verdict::Refuse(SysError::new(
                libc::EACCES,
                ctx(op),
                format!(
                    "{what}; it is not writable for us: --private (or m) gives a writable \
                     copy-on-write mapping whose stores never reach the file"
                ),
            ));
        }
        match origin {
            Origin::Script if change == FileChange::MakeWritable => {
                self.file = Some(Consent::ProtectLine);
                self.go(op)
            }
            Origin::Script => Verdict::Refuse(SysError::new(
                libc::EACCES,
                ctx(op),
                format!(
                    "{what}; writing it was not allowed: start with --write, or put a \
                     `protect rw` line before this one (nothing was changed)"
                ),
            )),
            Origin::Key if confirmed => {
                self.file = Some(Consent::Question);
                self.go(op)
            }
            Origin::Key => {
                let protect_first = (change == FileChange::Store && !prot.write).then_some(Prot {
                    read: true,
                    write: true,
                    exec: prot.exec,
                });
                Verdict::Ask {
                    question: format!(
                        "{what}. Allow writing it{}? y/N",
                        if protect_first.is_some() {
                            " (mprotect to rw)"
                        } else {
                            ""
                        }
                    ),
                    protect_first,
                }
            }
        }
    }
}

/// A write into another process: `--write`, a write that can land (the process still the
/// one attached to, a VMA it may write), and (from a key) a yes each time (`asked`: there was
/// one, or no one can be asked). A write that could not land is refused, not asked about.
fn process_write(
    op: &Op,
    (addr, len): (u64, u64),
    (name, vma): (&str, &str),
    (write, lands): (bool, &Result<(), SysError>),
    asked: bool,
    gate: &Gate,
) -> Verdict {
    if !write {
        return Verdict::Refuse(SysError::new(
            libc::EACCES,
            ctx(op),
            "exploring another process is read-only: start with --write to write into it \
             (each write is asked first)",
        ));
    }
    if let Err(why) = lands {
        let mut why = why.clone();
        why.explanation = format!("{}; nothing was written (0 bytes landed)", why.explanation);
        return Verdict::Refuse(why);
    }
    if asked {
        return gate.go(op);
    }
    let bytes = match op {
        Op::Write { bytes, .. } => crate::text::json::hex_string(bytes),
        _ => String::new(),
    };
    Verdict::Ask {
        question: format!(
            "Write {bytes} ({}) at 0x{addr:x} into {name} ({vma})? Its memory changes at once. \
             y/N",
            crate::sys::ops::notes::plural(len, "byte")
        ),
        protect_first: None,
    }
}

/// Why a dump may not write its file, if it may not: a dump writes a new regular file, or
/// replaces one when asked (`overwrite`), and never writes a file mapped by the process shown
/// or by mmapscope (the file looked at, a library): it reads the bytes it writes through that
/// very mapping, and `--write` is consent to store into the mapping, not to replace the file.
/// The read never changes the file either way: it goes through the one reader (`look`).
pub fn dump_refusal(dump: &crate::sys::ops::op::Dump) -> Option<SysError> {
    new_file_refusal(
        &dump.path,
        dump.found,
        dump.overwrite,
        &dump.name(),
        "a dump",
    )
}

/// Why an export may not write its file, if it may not: the rule of a dump (`dump_refusal`),
/// since a picture replacing a mapped file would change what is shown as surely as a dump.
pub fn export_refusal(export: &crate::sys::ops::op::Export) -> Option<SysError> {
    new_file_refusal(
        &export.path,
        export.found,
        export.overwrite,
        &export.name(),
        "an export",
    )
}

/// The rule of a file we write of our own (`dump`, `export`): a new regular file, or an
/// existing one when asked (`overwrite`), never a file mapped by the process shown or by
/// mmapscope, and never one nobody looked at just before (`found`). `who` names the writer in
/// the sentence: `a dump`.
fn new_file_refusal(
    path: &std::path::Path,
    found: Option<crate::sys::ops::op::Found>,
    overwrite: bool,
    ctx: &str,
    who: &str,
) -> Option<SysError> {
    use crate::sys::ops::op::Found;
    let path = crate::text::echo(&path.to_string_lossy());
    let (errno, why) = match found {
        // The session looks just before asking: a write nobody looked at does not go.
        None => (
            libc::EINVAL,
            format!("{path} was not looked at before {who}: nothing written"),
        ),
        Some(Found::Nothing) => return None,
        Some(Found::File { mapped: true, .. }) => (
            libc::EPERM,
            format!(
                "{path} is mapped by the process shown (or by mmapscope): {who} never writes a \
                 mapped file; give another path"
            ),
        ),
        Some(Found::File { regular: false, .. }) => (
            libc::EINVAL,
            format!("{path} is not a regular file: {who} writes a regular file of its own"),
        ),
        Some(Found::File { .. }) if !overwrite => (
            libc::EEXIST,
            format!(
                "{path} exists: {who} writes a new file; add `overwrite` after the file name to \
                 replace it"
            ),
        ),
        Some(Found::File { .. }) => return None,
    };
    Some(SysError::new(errno, ctx, why))
}

/// Why clearing another process's accessed bits (`clear_refs` 1, at a mark with
/// `--track-access`) may not go, if it may not. It writes nothing into the process's memory
/// but changes the order in which the kernel reclaims its pages (pages look unused until
/// touched again), so the consent is the option itself: `track_access` is whether it was
/// given; `pid` the process shown (`None`: our own mapping, which has the exact written set
/// instead); `gone` set once the process exited or called exec.
pub fn clear_refs_refusal(
    track_access: bool,
    pid: Option<u32>,
    gone: Option<crate::sys::attach::handle::Gone>,
) -> Option<SysError> {
    let ctx = "clear_refs";
    let (errno, why) = match (pid, gone) {
        _ if !track_access => (
            libc::EPERM,
            "clearing the accessed bits changes the order in which the kernel reclaims the \
             process's pages: start with --track-access to allow it"
                .to_string(),
        ),
        (None, _) => (
            libc::EINVAL,
            "--track-access is for another process (--pid): our own mapping tracks writes exactly"
                .to_string(),
        ),
        (Some(pid), Some(g)) => (libc::ESRCH, format!("pid {pid} {}", g.header())),
        (Some(_), None) => return None,
    };
    Some(SysError::new(errno, ctx, why))
}

/// The refused call's name, as the log shows it: `write at 0x10`, `truncate`.
fn ctx(op: &Op) -> String {
    match op {
        Op::Write { offset, .. } => format!("write at 0x{offset:x}"),
        Op::ChildWrite { offset, .. } => format!("child write at 0x{offset:x}"),
        Op::Truncate(_) => "truncate".into(),
        Op::PeerStart(_) => "peer start".into(),
        Op::Protect(p) => format!("mprotect({})", p.letters()),
        other => other.name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(mode: MapMode, prot: Prot) -> Shown {
        Shown::Mapping {
            backing: Backing::File {
                shown: "/f".into(),
                writable: true,
            },
            mode,
            prot,
            child_mode: None,
        }
    }

    pub(crate) fn write() -> Op {
        Op::Write {
            offset: 0x10,
            bytes: vec![0x41],
        }
    }

    #[test]
    fn what_reaches_the_named_file() {
        let shared = named(MapMode::Shared, Prot::R);
        let private = named(MapMode::Private, Prot::RW);
        assert_eq!(reach(&write(), &shared), Reach::File(FileChange::Store));
        assert_eq!(reach(&write(), &private), Reach::Ours);
        for s in [&shared, &private] {
            assert_eq!(
                reach(&Op::Truncate(1), s),
                Reach::File(FileChange::Truncate)
            );
            assert_eq!(
                reach(&Op::PeerStart(None), s),
                Reach::File(FileChange::Peer)
            );
            assert_eq!(reach(&Op::Mode(MapMode::Shared), s), Reach::Ours);
        }
        assert_eq!(
            reach(&Op::Protect(Prot::RW), &shared),
            Reach::File(FileChange::MakeWritable)
        );
        assert_eq!(reach(&Op::Protect(Prot::RW), &private), Reach::Ours);
        let child = |mode, child_mode| Shown::Mapping {
            backing: Backing::File {
                shown: "/f".into(),
                writable: true,
            },
            mode,
            prot: Prot::RW,
            child_mode,
        };
        let cw = Op::ChildWrite {
            offset: 0,
            bytes: vec![1],
        };
        // The child keeps the mapping it was forked with, whatever ours became.
        assert_eq!(
            reach(&cw, &child(MapMode::Private, Some(MapMode::Shared))),
            Reach::File(FileChange::ChildStore)
        );
        assert_eq!(
            reach(&cw, &child(MapMode::Shared, Some(MapMode::Private))),
            Reach::Ours
        );
        let memory = Shown::Mapping {
            backing: Backing::Memory,
            mode: MapMode::Shared,
            prot: Prot::RW,
            child_mode: Some(MapMode::Shared),
        };
        for op in [write(), Op::Truncate(0), cw, Op::Protect(Prot::RW)] {
            assert_eq!(reach(&op, &memory), Reach::Ours, "{op:?}");
        }
    }

    #[test]
    fn a_script_is_refused_until_protect_rw_and_a_key_asks_once() {
        let shared = named(MapMode::Shared, Prot::R);
        let mut gate = Gate::new(None);
        let v = gate.check(&write(), &shared, Origin::Script, false);
        assert!(
            matches!(&v, Verdict::Refuse(e) if e.errno == libc::EACCES),
            "{v:?}"
        );
        // A confirmation cannot come from a script.
        let v = gate.check(&Op::Truncate(0), &shared, Origin::Script, true);
        assert!(matches!(v, Verdict::Refuse(_)));
        assert!(!gate.file_writable());
        let v = gate.check(&Op::Protect(Prot::RW), &shared, Origin::Script, false);
        assert!(matches!(&v, Verdict::Go(p) if p.file_writable()));
        assert_eq!(gate.file_consent(), Some(Consent::ProtectLine));
        assert!(matches!(
            gate.check(&write(), &shared, Origin::Script, false),
            Verdict::Go(_)
        ));

        let mut gate = Gate::new(None);
        match gate.check(&write(), &shared, Origin::Key, false) {
            Verdict::Ask {
                question,
                protect_first,
            } => {
                assert!(
                    question.contains("/f") && question.ends_with("y/N"),
                    "{question}"
                );
                assert_eq!(protect_first, Some(Prot::RW));
            }
            v => panic!("{v:?}"),
        }
        assert!(!gate.file_writable(), "asking is not consent");
        assert!(matches!(
            gate.check(&write(), &shared, Origin::Key, true),
            Verdict::Go(_)
        ));
        assert_eq!(gate.file_consent(), Some(Consent::Question));
        // From then on: the peer, a truncate, the other mapping of --also.
        assert!(matches!(
            gate.check(&Op::PeerStart(None), &shared, Origin::Key, false),
            Verdict::Go(_)
        ));
    }

    #[test]
    fn a_file_we_may_not_write_is_refused_even_when_asked() {
        let shown = Shown::Mapping {
            backing: Backing::File {
                shown: "/ro".into(),
                writable: false,
            },
            mode: MapMode::Shared,
            prot: Prot::R,
            child_mode: None,
        };
        let mut gate = Gate::new(None);
        for origin in [Origin::Key, Origin::Script] {
            let v = gate.check(&Op::Protect(Prot::RW), &shown, origin, true);
            assert!(matches!(&v, Verdict::Refuse(e) if e.explanation.contains("--private")));
        }
        assert!(!gate.file_writable());
    }

    #[test]
    fn each_write_into_another_process_is_asked_and_a_dead_one_is_refused() {
        let process = |write, lands: Result<(), SysError>| Shown::Process {
            pid: 42,
            name: "pid 42 cat".into(),
            vma: "[heap]".into(),
            start: 0x1000,
            write,
            lands,
        };
        let mut gate = Gate::new(Some(Consent::Flag));
        let v = gate.check(&write(), &process(false, Ok(())), Origin::Key, true);
        assert!(matches!(&v, Verdict::Refuse(e) if e.explanation.contains("--write")));
        for _ in 0..2 {
            match gate.check(&write(), &process(true, Ok(())), Origin::Key, false) {
                Verdict::Ask { question, .. } => {
                    assert!(question.contains("0x1010") && question.contains("pid 42"));
                    assert!(question.contains("41"), "{question}");
                }
                v => panic!("asked every time: {v:?}"),
            }
        }
        assert!(matches!(
            gate.check(&write(), &process(true, Ok(())), Origin::Key, true),
            Verdict::Go(_)
        ));
        let gone = process(
            true,
            Err(SysError::new(libc::ESRCH, "write", "pid 42 called exec")),
        );
        let v = gate.check(&write(), &gone, Origin::Key, true);
        assert!(
            matches!(&v, Verdict::Refuse(e) if e.errno == libc::ESRCH),
            "{v:?}"
        );
        let v = gate.check(&write(), &Shown::OwnVma, Origin::Key, true);
        assert!(matches!(&v, Verdict::Refuse(e) if e.errno == libc::EPERM));
    }

    use crate::sys::ops::op::Found;

    /// What the gate answers for a new file's operation (dump, export) built by `op(found,
    /// overwrite)`, step by step: not looked at, nothing there, a file, the same with
    /// `overwrite`, a fifo or device, a mapped file (errno; 0 goes, -1 asks).
    fn new_file_answers(op: &dyn Fn(Option<Found>, bool) -> Op) -> [i32; 6] {
        let shown = named(MapMode::Shared, Prot::R);
        let mut gate = Gate::new(Some(Consent::Flag));
        let mut errno =
            |found, overwrite| match gate.check(&op(found, overwrite), &shown, Origin::Key, true) {
                Verdict::Go(_) => 0,
                Verdict::Refuse(e) => e.errno,
                Verdict::Ask { .. } => -1,
            };
        let file = |regular, mapped| Found::File {
            dev: 1,
            ino: 2,
            regular,
            mapped,
        };
        [
            errno(None, false),
            errno(Some(Found::Nothing), false),
            errno(Some(file(true, false)), false),
            errno(Some(file(true, false)), true),
            errno(Some(file(false, false)), true),
            // Consent to write the file (--write, a yes) is not consent to replace it.
            errno(Some(file(true, true)), true),
        ]
    }

    #[test]
    fn a_dump_writes_a_new_file_or_one_asked_for_and_never_a_mapped_one() {
        use crate::sys::ops::op::Dump;
        let dump = |found, overwrite| {
            let mut dump = Dump::parse(&["vma", "out.bin"]).expect("words");
            dump.found = found;
            dump.overwrite = overwrite;
            Op::Dump(dump)
        };
        let [unlooked, nothing, exists, overwrite, device, mapped] = new_file_answers(&dump);
        assert_eq!(unlooked, libc::EINVAL, "not looked at");
        assert_eq!(nothing, 0);
        assert_eq!(exists, libc::EEXIST);
        assert_eq!(overwrite, 0);
        assert_eq!(device, libc::EINVAL, "a device");
        assert_eq!(mapped, libc::EPERM);
    }

    #[test]
    fn an_export_follows_the_rule_of_a_dump() {
        use crate::sys::ops::op::Export;
        let op = |found, overwrite| {
            let mut export = Export::parse(&["svg", "map", "m.svg"]).expect("words");
            export.found = found;
            export.overwrite = overwrite;
            Op::Export(export)
        };
        let [unlooked, nothing, exists, overwrite, device, _] = new_file_answers(&op);
        assert_eq!(unlooked, libc::EINVAL, "not looked at");
        assert_eq!(nothing, 0);
        assert_eq!(exists, libc::EEXIST);
        assert_eq!(overwrite, 0);
        assert_eq!(device, libc::EINVAL, "a fifo or a device");
        let shown = named(MapMode::Shared, Prot::R);
        let mut gate = Gate::new(Some(Consent::Flag));
        let export = op(
            Some(Found::File {
                dev: 1,
                ino: 2,
                regular: true,
                mapped: true,
            }),
            true,
        );
        match gate.check(&export, &shown, Origin::Key, true) {
            Verdict::Refuse(e) => {
                assert_eq!(e.errno, libc::EPERM);
                assert!(
                    e.explanation
                        .contains("an export never writes a mapped file")
                );
            }
            _ => panic!("a mapped file was not refused"),
        }
    }
}
