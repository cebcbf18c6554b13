//! Out of the screen (issue 18, item 7), as a user drives it in a terminal: `y` puts the
//! cursor's address, and `16y` sixteen bytes as hex, on the clipboard with OSC 52 (the emulated
//! terminal records it); `dump` writes present pages' bytes to a file exactly as the kernel
//! has them; a mouse click (an xterm SGR report sent into the pty) moves the cursor.

use crate::common::pty::{Term, text_file};

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
    assert_eq!(term.clipboard(), [address.clone()]);
    term.send("16y");
    term.wait_for_all(&["copied 16 byte(s)"]);
    let hex: Vec<String> = bytes[2..18].iter().map(|b| format!("{b:02x}")).collect();
    let sixteen = mmapscope::text::base64(hex.join(" ").as_bytes());
    assert_eq!(term.clipboard(), [address, sixteen]);
    term.quit_cleanly();
}
