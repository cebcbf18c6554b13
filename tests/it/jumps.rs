//! Addresses anywhere in a process and the jump list, against a real child (a python3 program
//! using ctypes, so that it maps and remaps exactly what a test needs): `:` with an address in
//! another VMA opens it there and shows the child's bytes (compared with /proc/PID/mem),
//! Ctrl-o and Ctrl-i (Ctrl-n) come back and go again, a gap is said with its neighbours, and a
//! VMA the child moves (mremap that grows it elsewhere, munmap + mmap of the same file, an
//! anonymous mremap) is followed, the cursor on the same byte. Skipped (said) without python3.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use mmapscope::action::{Action, GotoTarget, GridAction};
use mmapscope::session::Session;

use crate::common::{self, page_size, skip};

/// The child: maps 4 pages of the file shared (touched, so present) and 4 anonymous pages
/// (filled with `A`, a marker at 0x123), prints both addresses, and at each line on stdin
/// does the next move of its mode, printing the new address.
const CHILD: &str = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL: it dies with the test
vp, sz = ctypes.c_void_p, ctypes.c_size_t
libc.mmap.restype = vp
libc.mmap.argtypes = [vp, sz, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mremap.restype = vp
libc.mremap.argtypes = [vp, sz, sz, ctypes.c_int, vp]
libc.munmap.argtypes = [vp, sz]
PS = os.sysconf("SC_PAGE_SIZE")
path, mode = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR)
f = libc.mmap(None, 4 * PS, 3, 1, fd, 0)
a = libc.mmap(None, 4 * PS, 3, 0x22, -1, 0)
ctypes.memset(a, 0x41, 4 * PS)
ctypes.memmove(a + 0x123, b"mmapscope-jump", 14)
for i in range(4):
    ctypes.c_char.from_address(f + i * PS).value  # fault the file's pages in, reading
# Room to move into, PROT_NONE (never a candidate: other permissions).
room = libc.mmap(None, 64 * PS, 0, 0x22, -1, 0)
print(hex(f), hex(a), flush=True)
sys.stdin.readline()
if mode == "grow":
    to = libc.mremap(f, 4 * PS, 8 * PS, 3, room + 16 * PS)
elif mode == "remap":
    libc.munmap(f, 4 * PS)
    to = libc.mmap(room + 16 * PS, 8 * PS, 3, 0x11, fd, 0)
elif mode == "anon":
    to = libc.mremap(a, 4 * PS, 4 * PS, 3, room + 16 * PS)
elif mode == "gone":
    libc.munmap(f, 4 * PS)
    to = 1
else:
    to = 0
print(hex(to or 0), flush=True)
sys.stdin.readline()
"#;

struct Child2 {
    child: Child,
    stdin: ChildStdin,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    pid: u32,
}

impl Child2 {
    fn next_line(&mut self) -> Vec<u64> {
        let line = self.lines.next().expect("a line").expect("utf-8");
        line.split_whitespace()
            .map(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).expect("hex"))
            .collect()
    }

    /// Asks for the next move; returns the address it printed.
    fn step(&mut self) -> u64 {
        self.stdin.write_all(b"\n").expect("tell the child");
        self.stdin.flush().expect("flush");
        self.next_line()[0]
    }
}

impl Drop for Child2 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child on `file` in `mode` (`grow`, `remap`, `anon`, `stay`), with its file and
/// anonymous addresses; `None` (said) without python3.
fn start(dir: &Path, file: &Path, mode: &str, test: &str) -> Option<(Child2, u64, u64)> {
    let Some(python) = common::tool("python3") else {
        skip(test, "no python3 to run the child that maps and remaps");
        return None;
    };
    let script = dir.join("child.py");
    std::fs::write(&script, CHILD).expect("write the child");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(file)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let pid = child.id();
    let stdin = child.stdin.take().expect("stdin");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut c = Child2 {
        child,
        stdin,
        lines,
        pid,
    };
    let first = c.next_line();
    Some((c, first[0], first[1]))
}

/// A file of 8 pages, page `i` filled with `b'a' + i`.
fn file(dir: &Path) -> std::path::PathBuf {
    let ps = page_size() as usize;
    let path = dir.join("jumps.bin");
    let data: Vec<u8> = (0..8u8).flat_map(|i| vec![b'a' + i; ps]).collect();
    std::fs::write(&path, data).expect("write");
    path
}

fn mem(pid: u32, addr: u64, len: usize) -> Vec<u8> {
    let f = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open mem");
    let mut b = vec![0u8; len];
    f.read_exact_at(&mut b, addr).expect("read mem");
    b
}

fn shown(s: &Session, off: u64, len: u64) -> Vec<Option<u8>> {
    (off..off + len)
        .map(|o| s.model.snap.probed.bytes.get(o))
        .collect()
}

fn said(s: &Session) -> String {
    common::last_log(s)
}

#[test]
fn an_address_in_another_vma_opens_it_there_and_the_jump_list_comes_back() {
    let dir = common::temp_dir();
    let path = file(dir.path());
    let test = "an_address_in_another_vma_opens_it_there...";
    let Some((child, f, a)) = start(dir.path(), &path, "stay", test) else {
        return;
    };
    // `--vma ADDR`: the file's VMA, the cursor on that address (not on its first byte).
    let spec = format!("0x{:x}", f + 0x1010);
    let mut s = Session::attach(child.pid, Some(&spec), false, true, (120, 40)).expect("attach");
    assert_eq!(s.model.snap.shape.addr, f);
    assert_eq!(s.model.doc.cursor, 0x1010, "{}", said(&s));
    assert_eq!(s.model.snap.probed.bytes.get(0x1010), Some(b'b'));

    // `:` with a number that is no file offset here: an address in the anonymous VMA.
    s.act(Action::Grid(GridAction::Goto(GotoTarget::Offset(
        a + 0x123,
    ))));
    let looking = s.model.space.looking.clone().expect("looking");
    assert_eq!(looking.vma, "[anonymous]", "{}", said(&s));
    assert_eq!(s.model.snap.shape.addr, a);
    assert_eq!(s.model.doc.cursor, 0x123);
    let want: Vec<Option<u8>> = mem(child.pid, a + 0x123, 14)
        .into_iter()
        .map(Some)
        .collect();
    assert_eq!(
        shown(&s, 0x123, 14),
        want,
        "the child's bytes, as /proc/PID/mem has them"
    );
    assert_eq!(want[0], Some(b'm'));
    assert!(said(&s).contains("offset 0x123"), "{}", said(&s));

    // Ctrl-o: back to the file's VMA, on the byte left.
    s.act(Action::Grid(GridAction::JumpBack));
    assert_eq!(s.model.snap.shape.addr, f, "{}", said(&s));
    assert_eq!(s.model.doc.cursor, 0x1010);
    assert_eq!(s.model.snap.probed.bytes.get(0x1010), Some(b'b'));
    // Ctrl-i / Ctrl-n: forward again.
    s.act(Action::Grid(GridAction::JumpForward));
    assert_eq!(s.model.snap.shape.addr, a, "{}", said(&s));
    assert_eq!(s.model.doc.cursor, 0x123);

    // `@` forces an address; a gap says what is on either side and moves nothing.
    s.act(Action::Grid(GridAction::Goto(GotoTarget::Address(0x10))));
    assert!(said(&s).contains("0x10 is in no VMA"), "{}", said(&s));
    assert!(
        said(&s).contains("below it nothing, above it"),
        "{}",
        said(&s)
    );
    assert_eq!(s.model.snap.shape.addr, a);
    s.act(Action::Grid(GridAction::JumpBack));
    assert_eq!(s.model.snap.shape.addr, f, "the gap recorded no jump");
}

/// Follows the child's move of `mode`; returns the session and the new address.
fn follow(mode: &str, test: &str) -> Option<(Session, Child2, u64, u64, u64)> {
    let dir = common::temp_dir();
    let path = file(dir.path());
    let (mut child, f, a) = start(dir.path(), &path, mode, test)?;
    let at = if mode == "anon" { a } else { f };
    let spec = format!("0x{:x}", at + 0x1010);
    let mut s = Session::attach(child.pid, Some(&spec), false, true, (120, 40)).expect("attach");
    s.refresh();
    let to = child.step();
    assert_ne!(to, 0);
    assert_ne!(to, at, "the child moved it");
    s.refresh();
    Some((s, child, at, to, f))
}

fn assert_followed(s: &Session, from: u64, to: u64, how: &str) {
    let looking = s.model.space.looking.clone().expect("looking");
    assert!(looking.ended.is_none(), "{looking:?}: {}", said(s));
    assert_eq!(s.model.snap.shape.addr, to, "{}", said(s));
    let moved = s
        .model
        .log
        .lines
        .iter()
        .find(|l| l.text.starts_with("the VMA moved"))
        .map(|l| l.text.clone())
        .expect("the log says it moved");
    assert!(moved.contains(&format!("0x{from:x}-")), "{moved}");
    assert!(moved.contains(&format!("-> 0x{to:x}-")), "{moved}");
    assert!(moved.contains(how), "{moved}");
    assert_eq!(s.model.doc.cursor, 0x1010, "the same byte");
}

#[test]
fn a_file_mapping_grown_elsewhere_with_mremap_is_followed() {
    let Some((s, child, from, to, _)) = follow("grow", "a_file_mapping_grown_elsewhere...") else {
        return;
    };
    assert_followed(&s, from, to, "the same file");
    assert_eq!(s.model.snap.shape.geometry.len, 8 * page_size(), "grown");
    // mremap moved the page tables: the page is present there, and shown.
    assert_eq!(s.model.snap.probed.bytes.get(0x1010), Some(b'b'));
    assert_eq!(mem(child.pid, to + 0x1010, 1), vec![b'b']);
}

#[test]
fn a_file_unmapped_and_mapped_again_elsewhere_is_followed() {
    let Some((s, _child, from, to, _)) = follow("remap", "a_file_unmapped_and_mapped...") else {
        return;
    };
    assert_followed(&s, from, to, "the same file");
}

#[test]
fn an_anonymous_vma_moved_by_mremap_is_followed_as_inferred() {
    let Some((s, child, from, to, _)) = follow("anon", "an_anonymous_vma_moved...") else {
        return;
    };
    assert_followed(&s, from, to, "inferred");
    assert_eq!(s.model.snap.probed.bytes.get(0x1010), Some(b'A'));
    assert_eq!(mem(child.pid, to + 0x123, 14), b"mmapscope-jump".to_vec());
}

#[test]
fn a_file_mapping_unmapped_for_good_is_not_followed_and_says_why() {
    let Some((s, _child, from, _, _)) = follow("gone", "a_file_mapping_unmapped_for_good...")
    else {
        return;
    };
    let looking = s.model.space.looking.clone().expect("looking");
    assert_eq!(looking.ended.as_deref(), Some("the VMA was unmapped"));
    assert_eq!(s.model.snap.shape.addr, from, "the last state stays");
    let log: Vec<&str> = s.model.log.lines.iter().map(|l| l.text.as_str()).collect();
    assert!(
        log.iter()
            .any(|l| l.contains("is not followed: no mapping of its file covers")),
        "{log:?}"
    );
}

/// The real binary in a pty: Ctrl-o (0x0f) goes back, Ctrl-n (0x0e) forward, and Ctrl-i as the
/// kitty keyboard protocol sends it (`CSI 105;5 u`, which a terminal that tells it from Tab
/// sends once mmapscope asks) forward too; a plain Tab still moves the focus.
#[test]
fn ctrl_o_and_ctrl_n_walk_the_jump_list_in_a_terminal() {
    let dir = common::temp_dir();
    let path = file(dir.path());
    let mut term = crate::common::pty::Term::spawn(&[path.as_os_str()], &[], 120, 40);
    term.wait_for_all(&["page 0", "cursor 0x0 "]);
    let ps = page_size();
    let page = |n: u64| format!("cursor 0x{:x} (page {n}:", n * ps);
    term.send(":");
    term.wait_for_all(&["goto (offset, @address, p N)"]);
    term.send("p 2\r");
    term.wait_for_all(&[&page(2)]);
    term.send(":");
    term.wait_for_all(&["goto (offset, @address, p N)"]);
    term.send("p 5\r");
    term.wait_for_all(&[&page(5)]);
    term.send("\x0f");
    term.wait_for_all(&[&page(2), "jump back to"]);
    term.send("\x0f");
    term.wait_for_all(&["cursor 0x0 "]);
    term.send("\x0e");
    term.wait_for_all(&[&page(2), "jump forward to"]);
    term.send("\x1b[105;5u");
    term.wait_for_all(&[&page(5)]);
    term.quit_cleanly();
}

/// The script word: `goto` moves the cursor as `:` does and says where (JSON), an address in a
/// gap is the line's error, claimed by `expect error`.
#[test]
fn the_goto_script_word_says_where_it_went_and_a_gap_is_an_error() {
    let out = common::run_with_stdin(
        common::mmapscope(&["batch", "--anon", "16k", "-"]),
        "goto p 2\ngoto 0x10\ngoto @0x10\nexpect error\n",
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let lines: Vec<serde_json::Value> = common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines[0]["result"]["offset"], 2 * page_size());
    assert_eq!(lines[0]["result"]["said"], "goto page 2");
    assert_eq!(lines[1]["result"]["offset"], 0x10);
    let addr = lines[1]["result"]["address"].as_str().expect("hex");
    let base = u64::from_str_radix(addr.trim_start_matches("0x"), 16).expect("hex") - 0x10;
    assert_eq!(lines[2]["ok"], false);
    let err = lines[2]["error"].as_str().expect("error");
    assert!(err.contains("0x10 is in no VMA"), "{err}");
    assert!(err.contains("below it nothing"), "{err}");
    assert!(base > 0x10);
    assert_eq!(lines[3]["ok"], true);
}
