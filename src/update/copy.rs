//! `y`: copies the address under the cursor, or with a count (`16y`) that many bytes from the
//! cursor as hex, to the terminal's clipboard. The text waits in the model (`Copy::outbox`)
//! for the terminal loop to send with OSC 52; the log says what was copied. Bytes come from
//! the last snapshot, as the grid shows them: a byte not read (its page not present, or off
//! screen) is not made up.

use crate::model::Model;

/// The most bytes one `y` copies: a screenful of the widest grid.
pub(super) const COPY_MAX: u64 = 4096;

/// A digit typed before a command: the count grows (`1`, `16`), up to `COPY_MAX`.
pub(super) fn count(model: &mut Model, digit: u8) {
    let now = model.screen.copy.count.unwrap_or(0);
    let next = now.saturating_mul(10).saturating_add(u64::from(digit));
    model.screen.copy.count = (next > 0).then_some(next.min(COPY_MAX));
}

/// `y`: the address, or the counted bytes, to the clipboard.
pub(super) fn copy(model: &mut Model) {
    let cursor = model.doc.cursor;
    let addr = model.snap.shape.addr.saturating_add(cursor);
    let Some(n) = model.screen.copy.count.take() else {
        let text = format!("0x{addr:x}");
        model.log(format!(
            "copied {text} to the clipboard: the address of offset 0x{cursor:x} (OSC 52; the \
             terminal may refuse it)"
        ));
        model.screen.copy.outbox = Some(text);
        return;
    };
    let end = cursor
        .saturating_add(n)
        .min(model.snap.shape.geometry.map_bytes());
    let bytes: Vec<Option<u8>> = (cursor..end)
        .map(|off| model.snap.probed.bytes.get(off))
        .collect();
    // Up to the first byte not read: a copy with holes would not say where they are.
    let read: Vec<u8> = bytes.iter().map_while(|b| *b).collect();
    if read.is_empty() {
        model.log(format!(
            "nothing copied: the byte at 0x{addr:x} was not read (its page is not present, or it \
             is not on screen)"
        ));
        return;
    }
    let text = read
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let short = if (read.len() as u64) < n {
        format!(" ({n} asked: the bytes after those were not read, or the mapping ends)")
    } else {
        String::new()
    };
    model.log(format!(
        "copied {} byte(s) at 0x{addr:x} as hex to the clipboard{short} (OSC 52; the terminal \
         may refuse it)",
        read.len()
    ));
    model.screen.copy.outbox = Some(text);
}

#[cfg(test)]
mod tests {
    use crate::update::testing::*;

    /// A one-page model whose first bytes are `bytes` (the rest not read).
    fn model_with_bytes(bytes: &[u8]) -> Model {
        let mut m = model(1, (100, 30));
        probed(&mut m, bytes, None, 1);
        m
    }

    #[test]
    fn y_copies_the_address_and_a_count_copies_bytes_as_hex() {
        let mut m = model_with_bytes(b"hello, world");
        update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
        update(&mut m, Action::Grid(GridAction::Copy));
        let addr = m.snap.shape.addr + 1;
        assert_eq!(m.screen.copy.outbox.take(), Some(format!("0x{addr:x}")));
        assert!(
            last_log(&m).contains("address of offset 0x1"),
            "{}",
            last_log(&m)
        );
        update(&mut m, Action::Grid(GridAction::Count(1)));
        update(&mut m, Action::Grid(GridAction::Count(1)));
        update(&mut m, Action::Grid(GridAction::Copy));
        assert_eq!(
            m.screen.copy.outbox.take().as_deref(),
            Some("65 6c 6c 6f 2c 20 77 6f 72 6c 64")
        );
        assert!(
            last_log(&m).contains("copied 11 byte(s)"),
            "{}",
            last_log(&m)
        );
        assert_eq!(m.screen.copy.count, None, "the count is used up");
    }

    #[test]
    fn another_key_drops_the_count_and_unread_bytes_are_not_made_up() {
        let mut m = model_with_bytes(b"abcd");
        update(&mut m, Action::Grid(GridAction::Count(2)));
        update(&mut m, Action::Grid(GridAction::Move(Motion::Right)));
        assert_eq!(m.screen.copy.count, None);
        // 9 asked, past the 4 bytes read: the 3 from the cursor, and it says so.
        update(&mut m, Action::Grid(GridAction::Count(9)));
        update(&mut m, Action::Grid(GridAction::Copy));
        assert_eq!(m.screen.copy.outbox.as_deref(), Some("62 63 64"));
        assert!(last_log(&m).contains("9 asked"), "{}", last_log(&m));
    }
}
