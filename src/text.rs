//! Text for people: escaping anything that could reach the terminal as a control sequence (file
//! names, /proc paths, file bytes), cutting what a user gave to a length a line can hold,
//! number formats (`12,388 B`, `16 kB`, `0x7f3a1c000000`), and the one reading of bytes people
//! type: hex words (`7f 45 4c46`) and quoted text with escapes (`"a\tb\x00"`).

use std::fmt::Write as _;

/// Escapes control characters (C0, DEL, C1) and bidirectional overrides as `\xNN` / `\u{NNNN}`,
/// so that a file name can never drive the terminal.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        escape_into(c, &mut out);
    }
    out
}

/// Appends `c`, escaped when it could drive the terminal; returns how many characters that took.
fn escape_into(c: char, out: &mut String) -> usize {
    let code = u32::from(c);
    if c.is_control() && code < 0x100 {
        let _ = write!(out, "\\x{code:02x}");
        4
    } else if c.is_control() || matches!(code, 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069)
    {
        let _ = write!(out, "\\u{{{code:04x}}}");
        8
    } else {
        out.push(c);
        1
    }
}

/// The most characters of a user-given value that an error or a log line echoes.
pub const ECHO_MAX: usize = 200;

/// A user-given value (an argument, a path, a script line, a pattern, text typed at a prompt) as
/// an error or a log line echoes it: escaped as `sanitize` does and cut to `ECHO_MAX`
/// characters, the cut marked with `…`. A 100 KB argument gives a line that still fits a
/// screen, and nothing in it drives the terminal.
pub fn echo(s: &str) -> String {
    echo_within(s, ECHO_MAX)
}

/// The most characters of one line of a message leaving the program (`clean_lines`): a net
/// under `echo`, which cuts each value where it is echoed.
pub const LINE_MAX: usize = 1000;

/// A message as it may reach the terminal: each line escaped as `sanitize` does and cut to
/// `LINE_MAX` characters (the line breaks kept).
pub fn clean_lines(s: &str) -> String {
    s.split('\n')
        .map(|line| echo_within(line, LINE_MAX))
        .collect::<Vec<_>>()
        .join("\n")
}

/// As `echo`, cut to `max` characters (the `…` included; at least the marker).
pub fn echo_within(s: &str, max: usize) -> String {
    let mut out = String::new();
    // (bytes, characters) of `out` after each character of `s`, to cut back to.
    let mut ends: Vec<(usize, usize)> = Vec::new();
    let mut count = 0;
    for c in s.chars() {
        count += escape_into(c, &mut out);
        ends.push((out.len(), count));
        if count > max {
            // Cut back to leave room for the marker.
            let keep = ends
                .iter()
                .rev()
                .find(|&&(_, n)| n < max)
                .map_or(0, |&(b, _)| b);
            out.truncate(keep);
            out.push('…');
            return out;
        }
    }
    out
}

/// The character shown for a byte in the text column: printable ASCII as itself, anything else `.`.
pub fn byte_char(b: u8) -> char {
    if (0x20..0x7f).contains(&b) {
        b as char
    } else {
        '.'
    }
}

/// An integer with thousands separators: `12388` -> `12,388`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count in the units of /proc/self/smaps: `16384` -> `16 kB`, large values in MB/GB.
pub fn kb(bytes: u64) -> String {
    let k = bytes / 1024;
    if k < 100_000 {
        format!("{} kB", thousands(k))
    } else if k < 100_000 * 1024 {
        format!("{} MB", thousands(k / 1024))
    } else {
        format!("{} GB", thousands(k / (1024 * 1024)))
    }
}

/// A size with a binary unit: `4096` -> `4 KiB`, `12388` -> `12.1 KiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut unit = 0;
    let mut whole = bytes;
    while whole >= 1024 && unit + 1 < UNITS.len() {
        whole /= 1024;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} B");
    }
    let scale = 1u64 << (10 * unit);
    if bytes.is_multiple_of(scale) {
        format!("{} {}", bytes / scale, UNITS[unit])
    } else {
        // One decimal, computed in integers to stay exact for large values.
        let tenths = (u128::from(bytes) * 10 / u128::from(scale)) as u64;
        format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
    }
}

/// A signed delta in kB for the smaps panel: `+4`, `-8`, or empty for no change.
pub fn delta_kb(now: u64, before: u64) -> String {
    if now == before {
        String::new()
    } else if now > before {
        format!("+{}", thousands((now - before) / 1024))
    } else {
        format!("-{}", thousands((before - now) / 1024))
    }
}

/// `HH:MM:SS` of the wall clock (UTC).
pub fn clock_now() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
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

/// Serializers for the JSON of reports and results: bytes as hex text, addresses as `0x` hex.
pub mod json {
    /// Bytes as one hex string (`4142ff`).
    pub fn hex_string(bytes: &[u8]) -> String {
        use std::fmt::Write as _;
        bytes
            .iter()
            .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }

    /// Serializes bytes as one hex string.
    ///
    /// # Errors
    /// The serializer's.
    pub fn hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex_string(bytes))
    }

    /// Serializes an address as `0x` hex.
    ///
    /// # Errors
    /// The serializer's.
    pub fn addr<S: serde::Serializer>(addr: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{addr:x}"))
    }
}

/// Whether a word of one hex digit is a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoneDigit {
    /// `a` is 0a: scripts and the child-write prompt have always taken it.
    Byte,
    /// Refused: `/` used to join digits across spaces (`/7 f` was 7f), so reading `7` as 07
    /// would quietly change what an old pattern finds; refusing it never does.
    Refused,
}

/// Hex bytes as `/`, a script's `write` and `child write`, `expect file` and the child-write
/// prompt all read them: words apart by white space, each an optional `0x` and then pairs of hex
/// digits (`7f 45 4c46`, `0x4142 ff`), or one digit alone as `lone` says. Blank text gives no
/// bytes; the caller says whether that is allowed.
///
/// # Errors
/// A sentence naming the first word that is not pairs of hex digits.
pub fn hex_bytes(text: &str, lone: LoneDigit) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let digits = word
            .strip_prefix("0x")
            .or_else(|| word.strip_prefix("0X"))
            .unwrap_or(word);
        if lone == LoneDigit::Byte && digits.len() == 1 && all_hex(digits) {
            out.push(hex_byte(digits));
            continue;
        }
        if digits.is_empty() || !digits.len().is_multiple_of(2) || !all_hex(digits) {
            return Err(format!(
                "`{}` is not hex bytes (two digits each: 41 42 ff)",
                echo(word)
            ));
        }
        for i in (0..digits.len()).step_by(2) {
            out.push(hex_byte(&digits[i..i + 2]));
        }
    }
    Ok(out)
}

/// Only hex digits (from_str_radix alone would also take a leading `+`).
fn all_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The byte one or two hex digits spell (checked with `all_hex` by the caller).
fn hex_byte(digits: &str) -> u8 {
    u8::from_str_radix(digits, 16).expect("one or two hex digits, checked by the caller")
}

/// What a `\xNN` escape in quoted text may stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escapes {
    /// Any byte: `/"..."` looks for bytes.
    Bytes,
    /// ASCII only (`\x00` to `\x7f`): a script's quoted word is text (`say`, file names).
    Text,
}

/// Quoted text from just after its opening `"` up to the closing one, with the escapes `\n`
/// `\t` `\r` `\0` `\"` `\\` `\xNN`: its bytes (UTF-8 for what was typed as is) and what follows
/// the closing quote.
///
/// # Errors
/// A sentence: the quote not closed, an unknown escape, or a `\x` that is not two hex digits (or,
/// with `Escapes::Text`, above `\x7f`).
pub fn unquote(text: &str, escapes: Escapes) -> Result<(Vec<u8>, &str), String> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Ok((out, chars.as_str())),
            '\\' => out.push(escape(&mut chars, escapes)?),
            c => out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes()),
        }
    }
    Err("a quoted text is not closed with \"".into())
}

/// The byte an escape stands for, its backslash already read.
fn escape(chars: &mut std::str::Chars<'_>, escapes: Escapes) -> Result<u8, String> {
    Ok(match chars.next() {
        Some('n') => b'\n',
        Some('t') => b'\t',
        Some('r') => b'\r',
        Some('0') => 0,
        Some('"') => b'"',
        Some('\\') => b'\\',
        Some('x') => {
            let hex: String = chars.take(2).collect();
            if hex.len() != 2 || !all_hex(&hex) {
                return Err(format!("\\x{} is not a byte: \\x00 to \\xff", echo(&hex)));
            }
            let byte = hex_byte(&hex);
            if escapes == Escapes::Text && !byte.is_ascii() {
                return Err("\\x escapes above \\x7f are not text; use write".into());
            }
            byte
        }
        other => {
            return Err(format!(
                "unknown escape \\{}: use \\n \\t \\r \\0 \\\" \\\\ \\xNN",
                echo(&other.map(String::from).unwrap_or_default())
            ));
        }
    })
}

/// `bytes` in base64 (RFC 4648, with padding), as OSC 52 carries clipboard text.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * k)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_controls() {
        assert_eq!(sanitize("a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(sanitize("x\ny\tz\u{7f}"), "x\\x0ay\\x09z\\x7f");
        assert_eq!(sanitize("\u{9b}"), "\\x9b");
        assert_eq!(sanitize("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(sanitize("demo.txt é"), "demo.txt é");
    }

    #[test]
    fn echo_escapes_and_cuts_with_a_marker() {
        assert_eq!(echo("[heap]"), "[heap]");
        assert_eq!(echo("\x1b[31mRED\x07"), "\\x1b[31mRED\\x07");
        let long = format!("\x1b[31m{}\x07", "A".repeat(100_000));
        let e = echo(&long);
        assert_eq!(e.chars().count(), ECHO_MAX);
        assert!(e.starts_with("\\x1b[31mAAA") && e.ends_with("A…"), "{e}");
        assert!(!e.chars().any(char::is_control));
        // Exactly at the limit: whole, no marker; one more: cut.
        assert_eq!(echo(&"b".repeat(ECHO_MAX)), "b".repeat(ECHO_MAX));
        assert_eq!(
            echo(&"b".repeat(ECHO_MAX + 1)),
            format!("{}…", "b".repeat(ECHO_MAX - 1))
        );
        // An escape is never cut in half.
        assert_eq!(echo_within("ab\x1bc", 5), "ab…");
        assert_eq!(echo_within("ab\x1b", 6), "ab\\x1b");
        assert_eq!(echo_within("é\u{202e}é", 3), "é…");
        assert_eq!(echo_within("abc", 0), "…");
    }

    #[test]
    fn clean_lines_keep_line_breaks_and_cut_each_line() {
        let text = format!("one \x07\n{}\nthree", "x".repeat(5000));
        let clean = clean_lines(&text);
        let lines: Vec<&str> = clean.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "one \\x07");
        assert_eq!(lines[1].chars().count(), LINE_MAX);
        assert_eq!(lines[2], "three");
    }

    #[test]
    fn byte_chars() {
        assert_eq!(byte_char(b'A'), 'A');
        assert_eq!(byte_char(b' '), ' ');
        assert_eq!(byte_char(0x1b), '.');
        assert_eq!(byte_char(0x7f), '.');
        assert_eq!(byte_char(0xe9), '.');
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12388), "12,388");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(kb(16384), "16 kB");
        assert_eq!(kb(1 << 30), "1,024 MB");
        assert_eq!(human(4096), "4 KiB");
        assert_eq!(human(12388), "12.0 KiB");
        assert_eq!(human(1 << 40), "1 TiB");
        assert_eq!(human(100), "100 B");
        assert_eq!(delta_kb(8192, 4096), "+4");
        assert_eq!(delta_kb(0, 4096), "-4");
        assert_eq!(delta_kb(5, 5), "");
    }

    #[test]
    fn hex_bytes_are_pairs_in_words_with_or_without_0x() {
        for lone in [LoneDigit::Byte, LoneDigit::Refused] {
            // As `/` had them: pairs apart or run together, spaces around.
            assert_eq!(hex_bytes(" 7f 45 4c46 ", lone).unwrap(), b"\x7fELF");
            // As scripts and the child-write prompt had them: `0x` before a word.
            assert_eq!(
                hex_bytes("0x4142 ff\t0XaB", lone).unwrap(),
                [0x41, 0x42, 0xff, 0xab]
            );
            // Nothing is no bytes; each caller says whether that will do.
            assert!(hex_bytes(" \t ", lone).unwrap().is_empty());
            // An odd word, a bare 0x, a doubled 0x (scripts took it), a sign (from_str_radix
            // takes `+f`; scripts took it), a quote, not hex at all.
            for bad in [
                "7f4", "0x", "0x0x41", "+f", "-1", "7g", "zz", "é1", "\"41\"", "41 +f",
            ] {
                let e = hex_bytes(bad, lone).unwrap_err();
                assert!(e.contains("is not hex bytes"), "{bad:?}: {e}");
            }
            // The word named is the one at fault, escaped and cut for the screen.
            let e = hex_bytes("41 4\x1b", lone).unwrap_err();
            assert!(e.starts_with("`4\\x1b`"), "{e}");
            assert!(hex_bytes(&"g".repeat(100_000), lone).unwrap_err().len() < 400);
        }
        // A lone digit: a byte for scripts and the prompt (`write 0 a 0 ff`)...
        assert_eq!(
            hex_bytes("a 0 0xf ff", LoneDigit::Byte).unwrap(),
            [0x0a, 0, 0x0f, 0xff]
        );
        // ...refused by `/`, where `/7 f` used to mean 7f.
        for bad in ["7", "7 f", "7f 4", "0xf"] {
            let e = hex_bytes(bad, LoneDigit::Refused).unwrap_err();
            assert!(e.contains("is not hex bytes"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn unquote_reads_the_escapes_up_to_the_closing_quote() {
        let (bytes, after) = unquote(r#"a\"b\\c\x00\n\t\r\0é #" rest"#, Escapes::Bytes).unwrap();
        assert_eq!(bytes, "a\"b\\c\0\n\t\r\0é #".as_bytes());
        assert_eq!(after, " rest");
        assert_eq!(unquote(r#"""#, Escapes::Text).unwrap(), (vec![], ""));
        assert_eq!(
            unquote(r#"\xFF\x80""#, Escapes::Bytes).unwrap().0,
            [0xff, 0x80]
        );
        assert_eq!(unquote(r#"\x7f\x41""#, Escapes::Text).unwrap().0, b"\x7fA");
        let e = unquote(r#"\x80""#, Escapes::Text).unwrap_err();
        assert!(e.contains("not text"), "{e}");
        for (bad, why) in [
            ("open", "not closed"),
            (r#"a\""#, "not closed"),
            ("\\", "unknown escape"),
            (r#"\q""#, "unknown escape"),
            (r#"\x4""#, "not a byte"),
            (r#"\x+1""#, "not a byte"),
            (r#"\xg1""#, "not a byte"),
            ("\\x4", "not a byte"),
        ] {
            let e = unquote(bad, Escapes::Bytes).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn base64_as_rfc_4648_says() {
        // RFC 4648 section 10's test vectors.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain}");
        }
    }
}
