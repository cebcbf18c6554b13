//! Out of the screen, as a user drives it in a terminal: `y` puts the
//! cursor's address, and `16y` sixteen bytes as hex, on the clipboard with OSC 52 (the emulated
//! terminal records it); `dump` writes present pages' bytes to a file exactly as the kernel
//! has them; a mouse click (an xterm SGR report sent into the pty) moves the cursor.

use std::path::Path;

use mmapscope::action::{Action, Op};
use mmapscope::session::Session;
use mmapscope::sys::ops::op::Dump;
use mmapscope::sys::ops::outcome::Done;

use crate::common::pty::{Term, text_file};
use crate::common::{self, Writer, clean_file, mmapscope};

/// The mapping's start address, from the header's `0xSTART-0xEND`.
fn mapping_start(screen: &str) -> u64 {
    let header = screen.lines().next().expect("a header");
    let range = header
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.contains('-'))
        .expect("the header shows the address range");
    let start = range.split('-').next().expect("start");
    u64::from_str_radix(start.trim_start_matches("0x"), 16).expect("hex")
}

#[test]
fn y_copies_the_address_and_a_count_the_bytes_with_osc_52() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = tmp.path().join("copy.txt");
    let bytes = text_file(&file, b"copy me, please\n");
    let mut term = Term::spawn(&[file.as_os_str()], &[], 120, 40);
    term.wait_for_all(&["page 0", "cursor 0x0 "]);
    let start = mapping_start(&term.contents());
    term.send("ll");
    term.wait_for_all(&["cursor 0x2 "]);
    // The clipboard is sent before the screen that logs it is drawn.
    term.send("y");
    term.wait_for_all(&["to the clipboard: the address of offset 0x2"]);
    let address = mmapscope::text::base64(format!("0x{:x}", start + 2).as_bytes());
    assert_eq!(term.clipboard(), std::slice::from_ref(&address));
    term.send("16y");
    term.wait_for_all(&["copied 16 byte(s)"]);
    let hex: Vec<String> = bytes[2..18].iter().map(|b| format!("{b:02x}")).collect();
    let sixteen = mmapscope::text::base64(hex.join(" ").as_bytes());
    assert_eq!(term.clipboard(), [address, sixteen]);
    term.quit_cleanly();
}

/// The pages of `[start, end)` present in `pid`'s page tables (its pagemap, bit 63).
fn present_pages(pid: u32, start: u64, end: u64) -> Vec<bool> {
    use std::os::unix::fs::FileExt as _;
    let ps = common::page_size();
    let f = std::fs::File::open(format!("/proc/{pid}/pagemap")).expect("open pagemap");
    let n = ((end - start) / ps) as usize;
    let mut buf = vec![0u8; n * 8];
    f.read_exact_at(&mut buf, start / ps * 8)
        .expect("read pagemap");
    buf.chunks(8)
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")) & (1 << 63) != 0)
        .collect()
}

/// Dumps the VMA `name` of the writer child through a session attached to it, and checks the
/// file page by page against the child's own memory: every present page holds exactly the
/// bytes `/proc/PID/mem` gives; every other page is a hole (zeros) named in `absent`, and was
/// not faulted in (still not present after the dump).
fn dump_agrees_with_proc_mem(writer: &Writer, name: &str, out: &Path) {
    use std::os::unix::fs::FileExt as _;
    let ps = common::page_size();
    let (start, end) = common::vma_range(writer.pid, name);
    let before = present_pages(writer.pid, start, end);
    let mut session =
        Session::attach(writer.pid, Some(name), false, false, (120, 40)).expect("attach");
    let words = ["vma", out.to_str().expect("utf-8")];
    let op = Op::Dump(Dump::parse(&words).expect("dump words"));
    let outcomes = session.act(Action::Do(op));
    let done = match outcomes.as_slice() {
        [o] => o.result.clone().expect("the dump succeeds"),
        other => panic!("one outcome: {other:?}"),
    };
    let Done::Dumped { len, absent, .. } = done else {
        panic!("a dump's result: {done:?}");
    };
    assert_eq!(len, end - start, "the whole VMA");
    let after = present_pages(writer.pid, start, end);
    assert_eq!(before, after, "the dump faulted nothing in");
    let dumped = std::fs::read(out).expect("read the dump");
    assert_eq!(dumped.len() as u64, end - start);
    let mem = std::fs::File::open(format!("/proc/{}/mem", writer.pid)).expect("open mem");
    let is_absent = |p: u64| absent.iter().any(|&(a, b)| (a..=b).contains(&p));
    let mut present = 0;
    for (p, &here) in after.iter().enumerate() {
        let p = p as u64;
        let got = &dumped[(p * ps) as usize..((p + 1) * ps) as usize];
        if here {
            present += 1;
            let mut want = vec![0u8; ps as usize];
            mem.read_exact_at(&mut want, start + p * ps)
                .expect("read a present page of /proc/PID/mem");
            assert!(
                got == want.as_slice(),
                "{name} page {p}: the bytes of /proc/PID/mem"
            );
            assert!(!is_absent(p), "{name} page {p} is not listed as absent");
        } else {
            assert!(
                is_absent(p),
                "{name} page {p} (not present) is listed: {absent:?}"
            );
            assert!(got.iter().all(|&b| b == 0), "{name} page {p} is a hole");
        }
    }
    assert!(present > 0, "{name}: some page was present to compare");
}

#[test]
fn dump_writes_exactly_the_bytes_of_a_childs_present_pages() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = clean_file(dir.path(), 64);
    let writer = Writer::start(&file, 6);
    dump_agrees_with_proc_mem(
        &writer,
        file.to_str().expect("utf-8"),
        &dir.path().join("file.dump"),
    );
    dump_agrees_with_proc_mem(&writer, "[heap]", &dir.path().join("heap.dump"));
    // Faulting pages in is never done in another process.
    let mut session =
        Session::attach(writer.pid, Some("[heap]"), false, false, (120, 40)).expect("attach");
    let out = dir.path().join("fault.dump");
    let words = ["vma", out.to_str().expect("utf-8"), "fault"];
    let outcomes = session.act(Action::Do(Op::Dump(Dump::parse(&words).expect("words"))));
    let err = outcomes[0].result.clone().expect_err("refused");
    assert_eq!(err.errno, libc::EPERM, "{err}");
    assert!(!out.exists(), "nothing written");
}

/// A file mapping whose pages were dropped from the page cache: a dump leaves them as holes
/// (it reads nothing from disk), and with `fault` it faults them in and writes the file's bytes.
#[test]
fn dump_with_fault_brings_pages_in_and_without_it_leaves_holes() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = dir.path().join("cold.bin");
    let bytes: Vec<u8> = (0..64 * 4096u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).expect("write");
    let f = std::fs::File::open(&file).expect("open");
    f.sync_all().expect("fsync");
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
    let (cold, warm) = (dir.path().join("cold.dump"), dir.path().join("warm.dump"));
    let script = format!(
        "dump vma {}
dump vma {} fault
",
        cold.display(),
        warm.display()
    );
    let run = common::run_with_stdin(
        mmapscope(&["batch", "--private", file.to_str().expect("utf-8")]),
        &script,
    );
    assert!(run.status.success(), "{}", common::text(&run.stderr));
    let lines: Vec<serde_json::Value> = common::text(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    // Without fault: each page is the file's bytes, or a hole named in `absent`.
    let ps = common::page_size() as usize;
    let absent: Vec<(u64, u64)> =
        serde_json::from_value(lines[0]["result"]["absent"].clone()).expect("runs");
    let dumped = std::fs::read(&cold).expect("read");
    for (p, page) in dumped.chunks(ps).enumerate() {
        if absent.iter().any(|&(a, b)| (a..=b).contains(&(p as u64))) {
            assert!(page.iter().all(|&b| b == 0), "page {p} is a hole");
        } else {
            assert_eq!(page, &bytes[p * ps..(p + 1) * ps], "page {p}");
        }
    }
    // With fault: the whole file, nothing absent.
    assert_eq!(lines[1]["result"]["absent"], serde_json::json!([]));
    assert_eq!(std::fs::read(&warm).expect("read"), bytes);
}

/// A dump never writes a file mapped by what it looks at: without --write, and even with
/// `overwrite`, a dump naming the mapped file (directly or through a symlink) is refused by the
/// write gate and the file stays byte for byte as it was; an existing file is replaced only
/// with `overwrite`.
#[test]
fn dump_never_writes_the_mapped_file_and_replaces_a_file_only_when_asked() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let file = clean_file(dir.path(), 4);
    let before = std::fs::read(&file).expect("read");
    let link = dir.path().join("link.bin");
    std::os::unix::fs::symlink(&file, &link).expect("symlink");
    let other = dir.path().join("other.bin");
    std::fs::write(&other, b"keep me").expect("write");
    let (f, l, o) = (file.display(), link.display(), other.display());
    let script = format!(
        "write 0 41\nexpect error\ndump vma {f}\nexpect error\ndump vma {f} overwrite\n\
         expect error\ndump page 0 {l} overwrite\nexpect error\ndump vma {o}\nexpect error\n\
         dump 0 4 {o} overwrite\n"
    );
    let out = common::run_with_stdin(mmapscope(&["batch", f.to_string().as_str()]), &script);
    let lines: Vec<serde_json::Value> = common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let errors: Vec<&str> = lines.iter().filter_map(|l| l["error"].as_str()).collect();
    assert_eq!(errors.len(), 5, "{lines:#?}");
    assert!(
        errors[0].starts_with("EACCES"),
        "the store without --write: {}",
        errors[0]
    );
    for e in &errors[1..4] {
        assert!(e.starts_with("EPERM") && e.contains("mapped"), "{e}");
    }
    assert!(errors[4].starts_with("EEXIST"), "{}", errors[4]);
    assert_eq!(
        std::fs::read(&file).expect("read"),
        before,
        "the mapped file is unchanged"
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_eq!(
        std::fs::read(&other).expect("read"),
        b"....",
        "replaced when asked"
    );
}

/// An xterm SGR mouse report (1-based column and row): a press then its release; the wheel
/// (buttons 64 and up) is a press alone, as terminals send it.
fn sgr(button: u8, col: u16, row: u16) -> String {
    let press = format!("\x1b[<{button};{col};{row}M");
    if button >= 64 {
        press
    } else {
        format!("{press}\x1b[<{button};{col};{row}m")
    }
}

/// A click on a byte's hex digits, on a byte's character, the wheel, and a click on a minimap
/// cell, sent into the pty as a terminal reports them, move the cursor where the screen shows
/// it; `--no-mouse` leaves the reports off (and the mouse to the terminal).
#[test]
fn a_mouse_click_in_the_pty_moves_the_cursor() {
    use mmapscope::layout::{Layout, RowColumns};
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = tmp.path().join("mouse.txt");
    text_file(&file, b"click me\n");
    let (cols, rows) = (120, 40);
    let mut term = Term::spawn(&[file.as_os_str()], &[], cols, rows);
    term.wait_for_all(&["page 0", "cursor 0x0 "]);
    term.wait_for_screen("mouse reports on, clicks and the wheel", |s| {
        s.mouse_protocol_mode() == vt100::MouseProtocolMode::PressRelease
            && s.mouse_protocol_encoding() == vt100::MouseProtocolEncoding::Sgr
    });
    // The grid's rows as the program lays them out: a border, then page 0's header, then its
    // rows (the offsets column is 8 digits for this small file).
    let layout = Layout::compute(cols, rows, 8);
    let row = RowColumns {
        bpr: layout.bytes_per_row,
        digits: 8,
    };
    let (x0, y0) = (layout.grid.x + 1, layout.grid.y + 1);
    // Row 1 of page 0 holds bytes bpr..2*bpr; its byte 3, by its hex digits.
    term.send(&sgr(0, x0 + row.hex(3) + 1, y0 + 2 + 1));
    let want = format!("cursor 0x{:x} ", layout.bytes_per_row + 3);
    term.wait_for_all(&[&want]);
    // Byte 5 of the same row, by its character.
    term.send(&sgr(0, x0 + row.text(5) + 1, y0 + 2 + 1));
    let at = layout.bytes_per_row + 5;
    term.wait_for_all(&[&format!("cursor 0x{at:x} ")]);
    // One notch of the wheel down: three rows.
    term.send(&sgr(65, x0 + 20, y0 + 6));
    let at = at + 3 * layout.bytes_per_row;
    term.wait_for_all(&[&format!("cursor 0x{at:x} ")]);
    // The minimap's third cell (one a page here): page 2.
    let ps = common::page_size();
    term.send(&sgr(
        0,
        layout.minimap.x + 7 + 1 + 2 + 1,
        layout.minimap.y + 1,
    ));
    term.wait_for_all(&[&format!("cursor 0x{:x} (page 2", 2 * ps)]);
    term.quit_cleanly();
    term.wait_for_screen("mouse reports off after quitting", |s| {
        s.mouse_protocol_mode() == vt100::MouseProtocolMode::None
    });

    // --no-mouse: no reports asked; a click changes nothing.
    let mut term = Term::spawn(&["--no-mouse".as_ref(), file.as_os_str()], &[], cols, rows);
    term.wait_for_all(&["page 0", "cursor 0x0 "]);
    term.wait_for_screen("no mouse reports", |s| {
        s.mouse_protocol_mode() == vt100::MouseProtocolMode::None
    });
    term.quit_cleanly();
}

/// The picker as drawn from a fabricated list (fixed pids, users, sizes and command lines).
fn picker(size: (u16, u16)) -> mmapscope::model::Picker {
    use mmapscope::sys::proc::named::Named;
    let named = |pid, user: &str, rss, cmdline: &str| Named {
        pid,
        user: user.into(),
        cmdline: cmdline.into(),
        rss,
    };
    let mut p = mmapscope::model::Picker::new(
        vec![
            named(812, "root", 9 << 20, "/usr/sbin/sshd -D"),
            named(
                4242,
                "ana",
                54 << 20,
                "python3 -c import mmap, threading; worker()",
            ),
            named(4243, "ana", 1_740_800, "sleep 100"),
            named(5120, "ana", 7_130_000, "sqlite3 /home/ana/db/t.db"),
            named(
                6001,
                "postgres",
                148 << 20,
                "postgres: checkpointer a very long command line that does not fit in eighty \
                 columns at all",
            ),
            named(7000, "ana", 1_740_800, "sleep 200"),
        ],
        "",
        Some("2 processes are named sleep: pick one".into()),
    );
    p.size = size;
    p
}

fn draw_picker(p: &mmapscope::model::Picker) -> ratatui::Terminal<ratatui::backend::TestBackend> {
    let mut t =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(p.size.0, p.size.1)).unwrap();
    let theme = mmapscope::ui::theme::Theme {
        color: false,
        high_contrast: false,
    };
    t.draw(|f| mmapscope::ui::picker::render(p, f, theme))
        .unwrap();
    t
}

#[test]
fn picker_80x24() {
    let mut p = picker((80, 24));
    p.selected = 1;
    insta::assert_snapshot!(draw_picker(&p).backend());
}

#[test]
fn picker_filtered_by_pid_120x40() {
    let mut p = picker((120, 40));
    for c in "ana".chars() {
        mmapscope::update::picker::update(&mut p, mmapscope::action::PickerAction::Type(c));
    }
    mmapscope::update::picker::update(&mut p, mmapscope::action::PickerAction::ToggleSort);
    insta::assert_snapshot!(draw_picker(&p).backend());
}

/// SIGTERM gives the terminal back with mouse reports off: the terminal's own selection works
/// again.
#[test]
fn sigterm_turns_mouse_reports_off() {
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let file = tmp.path().join("mouse.txt");
    text_file(&file, b"sigterm\n");
    let mut term = Term::spawn(&[file.as_os_str()], &[], 100, 30);
    term.wait_for_all(&["page 0"]);
    term.wait_for_screen("mouse reports on", |s| {
        s.mouse_protocol_mode() != vt100::MouseProtocolMode::None
    });
    term.signal(rustix::process::Signal::TERM);
    let status = term.wait_exit();
    assert!(status.success(), "{status:?}");
    term.wait_for_screen("mouse reports off after SIGTERM", |s| {
        s.mouse_protocol_mode() == vt100::MouseProtocolMode::None
    });
    assert!(!term.alternate_screen());
}

/// A dump of sparse anonymous memory writes the pages touched and leaves the rest as holes
/// (untouched private anonymous memory is zeros): the file reads back as the memory.
#[test]
fn a_dump_of_sparse_anonymous_memory_is_its_touched_pages_and_holes() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let out = dir.path().join("anon.dump");
    let script = format!(
        "write 0x10 41 42\nwrite 0x20000000 43\ndump vma {}\n",
        out.display()
    );
    let run = common::run_with_stdin(mmapscope(&["batch", "--anon", "1G", "--private"]), &script);
    assert!(run.status.success(), "{}", common::text(&run.stderr));
    let last: serde_json::Value = common::text(&run.stdout)
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .expect("a line");
    let ps = common::page_size();
    let pages = (1u64 << 30) / ps;
    let r = &last["result"];
    assert_eq!(r["len"], 1u64 << 30);
    assert_eq!(r["pages_written"], 2);
    assert_eq!(r["written"], 2 * ps);
    assert_eq!(r["zero_pages"], pages - 2);
    assert_eq!(r["absent"], serde_json::json!([]));
    let f = std::fs::File::open(&out).expect("the dump");
    assert_eq!(f.metadata().expect("stat").len(), 1 << 30);
    let at = |off: u64, n: usize| {
        use std::os::unix::fs::FileExt as _;
        let mut b = vec![0u8; n];
        f.read_exact_at(&mut b, off).expect("read");
        b
    };
    assert_eq!(at(0x10, 3), [0x41, 0x42, 0]);
    assert_eq!(at(0x2000_0000, 2), [0x43, 0]);
    assert_eq!(at(0x1000_0000, 4), [0; 4], "a hole reads as zeros");
}

/// A model of 4 anonymous pages at a fixed address, every byte read, for screens.
fn fixed_model(size: (u16, u16)) -> mmapscope::model::Model {
    use mmapscope::geometry::Geometry;
    use mmapscope::sys::map::request::{MapMode, Prot};
    use mmapscope::sys::probe::snapshot::{Backing, Snapshot, ViewBytes};
    let geometry = Geometry {
        page_size: 4096,
        offset: 0,
        len: 4 * 4096,
        file_size: None,
    };
    let mut snap = Snapshot::empty(
        Backing::Anon,
        MapMode::Private,
        Prot::RW,
        0x7f3a_1c00_0000,
        geometry,
    );
    snap.probed.bytes = ViewBytes {
        start: 0,
        data: (0..4 * 4096u64)
            .map(|i| Some(b"copy and dump "[(i % 14) as usize]))
            .collect(),
        unread: Vec::new(),
    };
    // /proc as it would read: our VMA alone, 4 KiB of it resident.
    let head = mmapscope::sys::proc::maps::VmaHead {
        start: 0x7f3a_1c00_0000,
        end: 0x7f3a_1c00_4000,
        perms: "rw-p".into(),
        path: String::new(),
    };
    snap.readings.maps = Ok(std::sync::Arc::new(vec![
        mmapscope::sys::proc::maps::MapsLine {
            start: head.start,
            end: head.end,
            perms: head.perms.clone(),
            offset: 0,
            dev: 0,
            inode: 0,
            path: String::new(),
        },
    ]));
    let mut vma = mmapscope::sys::proc::maps::Vma {
        head,
        ..Default::default()
    };
    vma.memory.size = 4 * 4096;
    vma.memory.rss = 4096;
    vma.memory.pss = 4096;
    vma.memory.private_dirty = 4096;
    vma.memory.anonymous = 4096;
    snap.readings.vma = Some(vma);
    snap.readings.vma_count = 1;
    let mut m = mmapscope::model::Model::new(snap, size);
    m.log.clock = "10:21:03".into();
    m.settings.color = false;
    m
}

fn draw_model(m: &mmapscope::model::Model) -> ratatui::Terminal<ratatui::backend::TestBackend> {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(
        m.screen.size.0,
        m.screen.size.1,
    ))
    .unwrap();
    t.draw(|f| mmapscope::ui::render(m, f)).unwrap();
    t
}

/// `16y` logged, then `D` with its words typed.
fn copied_then_dump_prompt(size: (u16, u16)) -> mmapscope::model::Model {
    use mmapscope::action::{Ask, AskAction, GridAction, PromptEdit};
    let mut m = fixed_model(size);
    let act = |m: &mut mmapscope::model::Model, a: Action| {
        mmapscope::update::update(m, a);
    };
    act(&mut m, Action::Grid(GridAction::Count(1)));
    act(&mut m, Action::Grid(GridAction::Count(6)));
    act(&mut m, Action::Grid(GridAction::Copy));
    act(&mut m, Action::Ask(AskAction::OpenAsk(Ask::Dump)));
    for c in "page 2 /tmp/page2.bin".chars() {
        act(
            &mut m,
            Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))),
        );
    }
    m
}

#[test]
fn copy_logged_and_dump_prompt_80x24() {
    insta::assert_snapshot!(draw_model(&copied_then_dump_prompt((80, 24))).backend());
}

#[test]
fn copy_logged_and_dump_prompt_120x40() {
    insta::assert_snapshot!(draw_model(&copied_then_dump_prompt((120, 40))).backend());
}
