//! Typed views against a real process: a python3 child plants pointers in an anonymous page
//! (one to a block it mallocs, one to libc's `getpid`) and strings and code beside them; a
//! session attached to it shows the bytes `/proc/PID/mem` gives, names each pointer by the VMA
//! its `/proc/PID/maps` puts it in (read here on our own), follows one on Enter, and reads its
//! code at getpid; the real binary in a pty and in a batch script shows the same views.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::process::{Child, Command, Stdio};

use mmapscope::action::{Action, EditAction, GotoTarget, GridAction, TypedAction, ViewKind};
use mmapscope::session::Session;

use crate::common::{skip, tool};

/// The child, killed and reaped when dropped (it would otherwise wait on its stdin).
struct Planter {
    child: Child,
    /// Where its page is, the block it malloc'd, libc's getpid.
    page: u64,
    heap: u64,
    code: u64,
}

impl Drop for Planter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PLANT: &str = r#"
import ctypes, mmap, sys
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
block = libc.malloc(64)
code = ctypes.cast(libc.getpid, ctypes.c_void_p).value
libc.getpid()  # its page is then present in our page tables, where mmapscope reads code
m = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
page = ctypes.addressof((ctypes.c_char * 4096).from_buffer(m))
m[0:8] = block.to_bytes(8, "little")
m[8:16] = code.to_bytes(8, "little")
m[16:40] = b"planted by python3\0\0\0\0\0\0"
print(hex(page), hex(block), hex(code), flush=True)
sys.stdin.read()
"#;

fn plant(python: &std::path::Path) -> Planter {
    let mut child = Command::new(python)
        .args(["-c", PLANT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("python3 says where");
    let n: Vec<u64> = line
        .split_whitespace()
        .map(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).expect("hex"))
        .collect();
    Planter {
        child,
        page: n[0],
        heap: n[1],
        code: n[2],
    }
}

/// The name mmapscope should give `addr` in process `pid`, from its maps read here: the
/// path's last part (or `[heap]`, or `anon`), the permissions for a file, the offset.
fn expected_name(pid: u32, addr: u64) -> String {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let range = f.next().unwrap();
        let perms = f.next().unwrap();
        let path = f.nth(3).unwrap_or("");
        let (a, b) = range.split_once('-').unwrap();
        let (a, b) = (
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        );
        if (a..b).contains(&addr) {
            let off = addr - a;
            return match path {
                "" => format!("→ anon {perms}+0x{off:x}"),
                p if p.starts_with('[') => format!("→ {p}+0x{off:x}"),
                p => format!("→ {} {perms}+0x{off:x}", p.rsplit('/').next().unwrap()),
            };
        }
    }
    panic!("0x{addr:x} is in no VMA of {pid}");
}

/// The file `addr` is mapped from in `pid`, and the offset of `addr` in that file.
fn file_of(pid: u32, addr: u64) -> (String, u64) {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (a, b) = f[0].split_once('-').unwrap();
        let (a, b) = (
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        );
        if (a..b).contains(&addr) {
            let off = u64::from_str_radix(f[2], 16).unwrap();
            return (f[5].to_string(), off + addr - a);
        }
    }
    panic!("0x{addr:x} is in no VMA of {pid}");
}

/// The allocated section of `path` (as binutils' `readelf -SW` lists them) holding the byte
/// at `file_off`, and the offset in it.
fn readelf_section(readelf: &std::path::Path, path: &str, file_off: u64) -> (String, u64) {
    let out = Command::new(readelf)
        .args(["-SW", path])
        .output()
        .expect("readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let Some((_, rest)) = line.split_once("] ") else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // Name Type Address Off Size ES Flg ...
        if f.len() < 7 || f[1] == "NOBITS" || !f[6].contains('A') {
            continue;
        }
        let (off, size) = (
            u64::from_str_radix(f[3], 16).unwrap(),
            u64::from_str_radix(f[4], 16).unwrap(),
        );
        if off <= file_off && file_off < off + size {
            return (f[0].to_string(), file_off - off);
        }
    }
    panic!("no section of {path} holds 0x{file_off:x}:\n{text}");
}

fn mem(pid: u32, addr: u64, len: usize) -> Vec<u8> {
    let mut f = std::fs::File::open(format!("/proc/{pid}/mem")).expect("mem");
    f.seek(SeekFrom::Start(addr)).expect("seek");
    let mut buf = vec![0; len];
    f.read_exact(&mut buf).expect("read mem");
    buf
}

#[test]
fn pointers_planted_by_a_child_are_named_and_followed() {
    let Some(python) = tool("python3") else {
        skip(
            "pointers_planted_by_a_child_are_named_and_followed",
            "no python3 to plant pointers",
        );
        return;
    };
    let p = plant(&python);
    let pid = p.child.id();
    // Section headers are read only where cached (reading must not bring pages in): read
    // the library whole first, as a run of the program would have.
    let (lib, _) = file_of(pid, p.code);
    std::fs::read(&lib).expect("read the library");
    let spec = format!("0x{:x}", p.page);
    let mut s = Session::attach(pid, Some(&spec), false, true, (120, 40)).expect("attach");
    s.act(Action::Typed(TypedAction::Set(ViewKind::U64)));
    // The bytes shown are the child's.
    assert_eq!(s.model.bytes_at(0, 40), mem(pid, p.page, 40));
    assert_eq!(s.model.bytes_at(0, 8), p.heap.to_ne_bytes());
    // Each pointer is named by the VMA that holds it in the child's maps.
    let heap = s.model.pointer_at(0).expect("the malloc'd block is mapped");
    assert_eq!(heap.label(), expected_name(pid, p.heap));
    let code = s.model.pointer_at(8).expect("getpid is mapped");
    let (lib, file_off) = file_of(pid, p.code);
    let libname = lib.rsplit('/').next().unwrap();
    match tool("readelf") {
        // The library was read whole before the attach (its section headers are cached):
        // the code pointer is named by its section, as binutils places it.
        Some(readelf) => {
            let (section, off) = readelf_section(&readelf, &lib, file_off);
            assert_eq!(section, ".text", "getpid is code");
            let expected = format!("→ {libname} {section}+0x{off:x}");
            assert_eq!(code.label(), expected);
        }
        None => {
            skip(
                "pointers_planted_by_a_child_are_named_and_followed (sections)",
                "no readelf to place getpid's section; the VMA's name is checked instead",
            );
            assert!(
                code.label().starts_with(&format!("→ {libname} ")),
                "{}",
                code.label()
            );
        }
    }
    // Bytes that are text are not a pointer.
    assert_eq!(s.model.pointer_at(16), None);
    // The strings view finds what was planted, at its offset.
    s.act(Action::Typed(TypedAction::Set(ViewKind::Strings)));
    let runs = s.model.page_runs();
    assert!(
        runs.iter()
            .any(|r| r.offset == 16 && r.text == "planted by python3"),
        "{runs:?}"
    );
    // Enter on the heap pointer follows it (the address goto: its VMA, or its range said).
    s.act(Action::Typed(TypedAction::Set(ViewKind::U64)));
    s.act(Action::Edit(EditAction::Start));
    let followed = format!("followed the pointer 0x{:x} {}", p.heap, heap.label());
    assert!(
        s.model.log.lines.iter().any(|l| l.text == followed),
        "{followed}: {:?}",
        s.model.log.lines
    );
    assert!(s.model.screen.edit.is_none(), "followed, not edited");

    // The code view of the child's libc, at getpid (which it called, so that its page is
    // present: mmapscope reads only present pages of another process): the bytes of each row
    // are the child's, one instruction after the other, and they decode.
    if mmapscope::model::values::unsupported().is_none() {
        let spec = format!("0x{:x}", p.code);
        let mut s = Session::attach(pid, Some(&spec), false, true, (120, 40)).expect("attach");
        let start = s.model.snap.shape.addr;
        s.act(Action::Grid(GridAction::Goto(GotoTarget::Address(p.code))));
        assert_eq!(s.model.doc.cursor, p.code - start, "the cursor on getpid");
        s.act(Action::Typed(TypedAction::Set(ViewKind::Code)));
        // Fewer than 4 rows only where the next page is not present (it is left unread).
        let rows = s.model.code_rows(4);
        assert!(!rows.is_empty(), "{rows:?}");
        let bytes: Vec<u8> = rows.iter().flat_map(|i| i.bytes.clone()).collect();
        assert_eq!(bytes, mem(pid, p.code, bytes.len()));
        assert_eq!(rows[0].offset, p.code - start);
        assert!(rows.iter().all(|i| i.text != "(bad)"), "{rows:?}");
    }
}

/// The real binary in an 80x24 pty: `T` shows the u64 view and the inspector, `X` writes the
/// ret42 snippet, and the code view disassembles it; `i` in a typed view edits bytes.
#[test]
fn in_a_terminal_t_cycles_the_views_and_code_shows_the_snippet() {
    if let Some(why) = mmapscope::model::values::unsupported() {
        skip("in_a_terminal_t_cycles_the_views", &why);
        return;
    }
    let mut term =
        crate::common::pty::Term::spawn(&["--anon".as_ref(), "8k".as_ref()], &[], 80, 24);
    term.wait_for_all(&["page 0", "[anonymous]"]);
    // X, Enter: the menu's first line writes ret42 at the cursor.
    term.send("X");
    term.wait_for_all(&["ret42"]);
    term.send("\r");
    term.wait_for_all(&["b8 2a 00 00 00 c3"]);
    term.send("TTT");
    term.wait_for_all(&["u64 LE", "0000c30000002ab8", "u64 0xc30000002ab8"]);
    // Six more: i64 f32 f64 text strings code.
    term.send("TTTTTT");
    term.wait_for_all(&["code ·", "mov eax,2Ah", "ret"]);
    term.send("i");
    term.wait_for_all(&["edit mode", "Esc leave edit mode", "┌ cursor 0x0"]);
    term.send("\x1b");
    term.wait_for("edit mode to end", |t| !t.contains("Esc leave edit mode"));
    term.quit_cleanly();
}

/// `view WORD` in a batch script: each line gives the values at the cursor as read from the
/// mapping (an anonymous one written by the lines before), the code and the strings.
#[test]
fn a_batch_view_line_gives_the_values_code_and_strings_at_the_cursor() {
    let script = "write-snippet 0 ret42\nwrite-text 64 \"hello, typed world\"\n\
                  view u64\nview code\nview strings\nview u128\n";
    let out = crate::common::run_with_stdin(
        crate::common::mmapscope(&["batch", "--anon", "8k", "-"]),
        script,
    );
    // `view u128` does not parse: nothing runs, and the line is named.
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(crate::common::text(&out.stderr).contains("line 6"));
    let script = script.replace("view u128\n", "");
    let out = crate::common::run_with_stdin(
        crate::common::mmapscope(&["batch", "--anon", "8k", "-"]),
        &script,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines: Vec<serde_json::Value> = crate::common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    // ret42's bytes b8 2a 00 00 00 c3, then zeros, read as a little-endian u64.
    let u64_line = &lines[2]["result"]["value"];
    assert_eq!(u64_line["view"], "u64");
    let want = u64::from_le_bytes([0xb8, 0x2a, 0, 0, 0, 0xc3, 0, 0]);
    assert_eq!(
        u64_line["values"]["u64"],
        format!("{want:#x}"),
        "{u64_line}"
    );
    assert_eq!(u64_line["pointer"], serde_json::Value::Null);
    if mmapscope::model::values::unsupported().is_none() {
        let code = &lines[3]["result"]["value"]["code"];
        assert_eq!(code[0]["text"], "mov eax,2Ah", "{code}");
        assert_eq!(code[1]["text"], "ret");
        assert_eq!(code[1]["offset"], "0x5");
    }
    let strings = &lines[4]["result"]["value"]["strings"];
    assert_eq!(strings[0]["offset"], "0x40", "{strings}");
    assert_eq!(strings[0]["text"], "hello, typed world");
}
