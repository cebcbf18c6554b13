//! Text for people: escaping anything that could reach the terminal as a control sequence (file
//! names, /proc paths, file bytes), cutting what a user gave to a length a line can hold, and
//! number formats (`12,388 B`, `16 kB`, `0x7f3a1c000000`).

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
}
