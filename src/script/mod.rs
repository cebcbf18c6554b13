//! The batch and lesson language: one command a line, `#` starts a
//! comment. Parsing only: each line becomes the same `Op` a key would give, or a step of the
//! script itself (`snapshot`, `sleep`, `say`, `expect`). Errors name the line and the problem.

use std::fmt;

use crate::action::{FAdvice, MAdvice, Op, Scope, SyncKind};
use crate::geometry::parse_size;
use crate::sys::map::request::{MapMode, Prot};
use crate::text::{Escapes, LoneDigit, echo, hex_bytes, unquote};

/// What one script line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Do(Op),
    Snapshot,
    Sleep(u64),
    Say(String),
    Expect(Expect),
    /// Shows a value without checking it: for states the kernel changes on its own time
    /// (writeback cleans a dirty page whenever it likes), which a lesson must not expect.
    Show(ExpectPath),
    /// `view WORD`: the grid shows the bytes as this type (the line gives the values at the
    /// cursor in every type).
    View(crate::model::ViewKind),
    /// `goto PLACE`: the cursor to an offset, a page, a state or an address anywhere in the
    /// process (the `:` prompt's words).
    Goto(crate::action::GotoTarget),
    /// `mark` / `unmark`: set the baseline (again), or drop it.
    Time(crate::action::TimeAction),
    /// `diff`: what changed since the mark, as JSON.
    Diff,
}

/// A check of the kernel's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The previous command failed.
    Error,
    Check {
        path: ExpectPath,
        cmp: Cmp,
        value: Value,
    },
}

/// What `expect` looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectPath {
    /// A field of the page's run in the report (`page 0 cow`).
    Page(u64, String),
    /// A field of the report's `vma`, `summary`, `mapping`, `file` or `sources` object, or of
    /// the previous command's `result` (dots reach inside: `faults.minor`).
    Object(String, String),
    /// The byte on disk at this file offset, read with pread.
    File(u64),
}

impl fmt::Display for ExpectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Page(n, field) => write!(f, "page {n} {field}"),
            Self::Object(obj, field) => write!(f, "{obj} {field}"),
            Self::File(off) => write!(f, "file 0x{off:x}"),
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// A list holds the value (`vma vm_flags has lo`), or a text contains it.
    Has,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Has => "has",
        }
    }
}

/// A value to compare with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Null,
    Num(u64),
    /// A negative number (`-4096`: a counter that fell).
    Int(i64),
    Str(String),
    /// Another value of the report or result, read when the line runs (`vma rss`).
    Path(Box<ExpectPath>),
}

impl Value {
    /// As JSON, for comparison with the report (`Null` for a path: resolve it first).
    pub fn json(&self) -> serde_json::Value {
        match self {
            Self::Path(_) => serde_json::Value::Null,
            Self::Bool(b) => serde_json::Value::Bool(*b),
            Self::Null => serde_json::Value::Null,
            Self::Num(n) => serde_json::Value::from(*n),
            Self::Int(n) => serde_json::Value::from(*n),
            Self::Str(s) => serde_json::Value::String(s.clone()),
        }
    }
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the script.
    pub number: usize,
    /// The line as written, without comment and surrounding blanks.
    pub text: String,
    pub step: Step,
    /// Written after the word `force`: the line may populate, lock or grow memory beyond the
    /// bound (more than a quarter of MemAvailable) that would refuse it otherwise.
    pub force: bool,
}

/// A line that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub number: usize,
    pub text: String,
    pub problem: String,
}

impl fmt::Display for ParseError {
    /// The line as written is echoed escaped and cut (`text::echo`): it may hold anything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}: {}",
            self.number,
            echo(&self.text),
            crate::text::clean_lines(&self.problem)
        )
    }
}

/// The commands, for error messages.
pub const COMMANDS: &str = "write, write-text, write-snippet, read, mode, msync, protect, advise, \
                            fadvise, touch, undo, redo, truncate, exec, peer, alloc, free, fork, \
                            child, lock, unlock, resize, move, dump, snapshot, sleep, say, expect, \
                            show, view";

/// Splits a line into words up to a `#` comment; `"..."` is one word, with the escapes of
/// `text::unquote` as text (`\x00` to `\x7f`: a quoted word is text, `write` takes the bytes).
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    // A `#` outside quotes starts a comment; inside quotes it is text.
    while !rest.is_empty() && !rest.starts_with('#') {
        if let Some(quoted) = rest.strip_prefix('"') {
            let (bytes, after) = unquote(quoted, Escapes::Text)?;
            let word = String::from_utf8(bytes).expect("typed UTF-8 and ASCII escapes are UTF-8");
            out.push(format!("\"{word}"));
            rest = after.trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    Ok(out)
}

/// The line up to a `#` that starts a comment (one outside quotes; `\"` inside quotes does
/// not end them).
fn without_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// The text of a quoted word (marked by a leading `"` from `words`).
fn quoted(word: &str) -> Option<&str> {
    word.strip_prefix('"')
}

fn number(word: Option<&String>, what: &str) -> Result<u64, String> {
    let w = word.ok_or_else(|| format!("missing {what}"))?;
    parse_size(w).map_err(|e| format!("{what}: {e}"))
}

fn scope(rest: &[String]) -> Result<Scope, String> {
    match rest {
        [] => Ok(Scope::All),
        [a] if a == "all" => Ok(Scope::All),
        [p, n] if p == "page" => Ok(Scope::Page(number(Some(n), "page number")?)),
        _ => Err(format!(
            "expected `all` or `page N`, got `{}`",
            echo(&rest.join(" "))
        )),
    }
}

/// The bytes of `write` and `child write`: hex words, as `text::hex_bytes` reads them (`a` is 0a).
fn hex_words(words: &[String]) -> Result<Vec<u8>, String> {
    let out = hex_bytes(&words.join(" "), LoneDigit::Byte)?;
    if out.is_empty() {
        return Err("nothing to write: give hex bytes, e.g. write 0x10 41 42 ff".into());
    }
    Ok(out)
}

fn value(word: &str) -> Value {
    if let Some(text) = quoted(word) {
        return Value::Str(text.to_string());
    }
    match word {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        w => match w.strip_prefix('-').map(parse_size) {
            Some(Ok(n)) => {
                i64::try_from(n).map_or_else(|_| Value::Str(w.to_string()), |n| Value::Int(-n))
            }
            Some(Err(_)) => Value::Str(w.to_string()),
            None => parse_size(w).map_or_else(|_| Value::Str(w.to_string()), Value::Num),
        },
    }
}

fn cmp(word: &str) -> Result<Cmp, String> {
    Ok(match word {
        "==" => Cmp::Eq,
        "!=" => Cmp::Ne,
        "<" => Cmp::Lt,
        "<=" => Cmp::Le,
        ">" => Cmp::Gt,
        ">=" => Cmp::Ge,
        "has" => Cmp::Has,
        w => {
            return Err(format!(
                "`{}` is not a comparison: use == != < <= > >= has",
                echo(w)
            ));
        }
    })
}

/// The objects of the report (and `result`) that `expect` and `show` can name.
const OBJECTS: [&str; 6] = ["vma", "summary", "mapping", "file", "sources", "result"];

/// The VALUE of an expect: one word (a literal), or another path (`vma rss`, `page 2 dirty`).
fn expect_value(words: &[String]) -> Result<Value, String> {
    match words {
        [v] => Ok(value(v)),
        [obj, field] if OBJECTS.contains(&obj.as_str()) => Ok(Value::Path(Box::new(
            ExpectPath::Object(obj.clone(), field.clone()),
        ))),
        [p, n, field] if p == "page" => Ok(Value::Path(Box::new(ExpectPath::Page(
            number(Some(n), "page number")?,
            field.clone(),
        )))),
        _ => Err(format!(
            "`{}` is not a value: a number, true, false, null, a \"string\", or another field \
             such as `vma rss`",
            echo(&words.join(" "))
        )),
    }
}

fn expect(rest: &[String]) -> Result<Expect, String> {
    const USAGE: &str = "expect error | expect page N FIELD OP VALUE | expect vma|summary|mapping|file|sources|result FIELD OP VALUE | expect file OFFSET OP BYTE (OP: == != < <= > >= has; VALUE: a literal, or another field such as `vma rss`)";
    match rest {
        [e] if e == "error" => Ok(Expect::Error),
        [p, n, field, op, v @ ..] if p == "page" && !v.is_empty() => Ok(Expect::Check {
            path: ExpectPath::Page(number(Some(n), "page number")?, field.clone()),
            cmp: cmp(op)?,
            value: expect_value(v)?,
        }),
        [f, off, op, v] if f == "file" && parse_size(off).is_ok() => {
            let byte = match hex_bytes(v, LoneDigit::Byte).as_deref() {
                Ok(&[b]) => b,
                _ => return Err(format!("`{}` is not a byte in hex (e.g. 41)", echo(v))),
            };
            Ok(Expect::Check {
                path: ExpectPath::File(number(Some(off), "file offset")?),
                cmp: cmp(op)?,
                value: Value::Num(u64::from(byte)),
            })
        }
        [obj, field, op, v @ ..] if OBJECTS.contains(&obj.as_str()) && !v.is_empty() => {
            Ok(Expect::Check {
                path: ExpectPath::Object(obj.clone(), field.clone()),
                cmp: cmp(op)?,
                value: expect_value(v)?,
            })
        }
        _ => Err(format!("usage: {USAGE}")),
    }
}

/// `show page N FIELD | show vma|summary|mapping|file|sources|result FIELD | show file OFFSET`.
fn show(rest: &[String]) -> Result<ExpectPath, String> {
    const USAGE: &str =
        "show page N FIELD | show vma|summary|mapping|file|sources|result FIELD | show file OFFSET";
    match rest {
        [p, n, field] if p == "page" => Ok(ExpectPath::Page(
            number(Some(n), "page number")?,
            field.clone(),
        )),
        [f, off] if f == "file" && parse_size(off).is_ok() => {
            Ok(ExpectPath::File(number(Some(off), "file offset")?))
        }
        [obj, field] if OBJECTS.contains(&obj.as_str()) => {
            Ok(ExpectPath::Object(obj.clone(), field.clone()))
        }
        _ => Err(format!("usage: {USAGE}")),
    }
}

/// Parses one line (without its number). `Ok(None)` for blank and comment lines.
///
/// # Errors
/// A sentence naming the problem.
pub fn parse_step(line: &str) -> Result<Option<Step>, String> {
    let w = words(line)?;
    let Some((cmd, rest)) = w.split_first() else {
        return Ok(None);
    };
    let step = match cmd.as_str() {
        "snapshot" if rest.is_empty() => Step::Snapshot,
        "mark" if rest.is_empty() => Step::Time(crate::action::TimeAction::Mark),
        "unmark" if rest.is_empty() => Step::Time(crate::action::TimeAction::Unmark),
        "diff" if rest.is_empty() => Step::Diff,
        "sleep" => {
            let ms = number(rest.first(), "milliseconds")?;
            if ms > MAX_SLEEP_MS {
                return Err(format!(
                    "sleep {ms}: at most {MAX_SLEEP_MS} ms (a minute) per line"
                ));
            }
            Step::Sleep(ms)
        }
        "say" => Step::Say(
            rest.first()
                .and_then(|t| quoted(t))
                .ok_or("usage: say \"text\"")?
                .to_string(),
        ),
        "expect" => Step::Expect(expect(rest)?),
        "show" => Step::Show(show(rest)?),
        "view" => Step::View(
            match rest {
                [w] => crate::model::ViewKind::parse(w),
                _ => None,
            }
            .ok_or("usage: view bytes|u16|u32|u64|i64|f32|f64|text|strings|code")?,
        ),
        "goto" if !rest.is_empty() => Step::Goto(crate::update::parse_goto(&rest.join(" "))?),
        "goto" => return Err("usage: goto OFFSET | @ADDR | p N | STATE".into()),
        _ => parse_op(cmd, rest)?,
    };
    Ok(Some(step))
}

/// The operation a command names, with its arguments.
fn parse_op(cmd: &str, rest: &[String]) -> Result<Step, String> {
    Ok(match cmd {
        "write" => Step::Do(Op::Write {
            offset: number(rest.first(), "offset")?,
            bytes: hex_words(&rest[1.min(rest.len())..])?,
        }),
        "write-text" => {
            let text = rest
                .get(1)
                .and_then(|t| quoted(t))
                .ok_or("usage: write-text OFFSET \"text\"")?;
            if text.is_empty() {
                return Err("nothing to write".into());
            }
            Step::Do(Op::Write {
                offset: number(rest.first(), "offset")?,
                bytes: text.as_bytes().to_vec(),
            })
        }
        "read" => Step::Do(Op::Read {
            offset: number(rest.first(), "offset")?,
            len: number(rest.get(1), "length")?,
        }),
        "mode" => Step::Do(Op::Mode(match rest {
            [m] if m == "shared" => MapMode::Shared,
            [m] if m == "private" => MapMode::Private,
            _ => return Err("usage: mode shared|private".into()),
        })),
        "msync" => {
            let kind = match rest.first().map(String::as_str) {
                Some("sync") => SyncKind::Sync,
                Some("async") => SyncKind::Async,
                Some("invalidate") => SyncKind::Invalidate,
                _ => return Err("usage: msync sync|async|invalidate [all | page N]".into()),
            };
            Step::Do(Op::Msync(kind, scope(&rest[1..])?))
        }
        "protect" => Step::Do(Op::Protect(
            rest.first()
                .and_then(|p| Prot::parse(p))
                .filter(|_| rest.len() == 1)
                .ok_or("usage: protect none|r|rw|rx|rwx")?,
        )),
        "advise" => {
            let advice = MAdvice::ALL
                .into_iter()
                .find(|a| rest.first().is_some_and(|w| w == a.word()))
                .ok_or("usage: advise willneed|dontneed|cold|pageout|sequential|random|normal|hugepage|nohugepage|collapse [all | page N]")?;
            Step::Do(Op::Advise(advice, scope(&rest[1..])?))
        }
        "fadvise" => Step::Do(Op::Fadvise(match rest {
            [a] if a == "dontneed" => FAdvice::DontNeed,
            [a] if a == "willneed" => FAdvice::WillNeed,
            [a] if a == "random" => FAdvice::Random,
            _ => return Err("usage: fadvise dontneed|willneed|random".into()),
        })),
        "touch" => match rest {
            [p, n] if p == "page" => Step::Do(Op::Touch(number(Some(n), "page number")?)),
            _ => return Err("usage: touch page N".into()),
        },
        "dump" => {
            // A quoted word (a path with blanks) comes with its opening quote.
            let words: Vec<&str> = rest
                .iter()
                .map(|w| w.strip_prefix('"').unwrap_or(w))
                .collect();
            Step::Do(Op::Dump(crate::sys::ops::op::Dump::parse(&words)?))
        }
        "export" => {
            let words: Vec<&str> = rest
                .iter()
                .map(|w| w.strip_prefix('"').unwrap_or(w))
                .collect();
            Step::Do(Op::Export(crate::sys::ops::op::Export::parse(&words)?))
        }
        "undo" if rest.is_empty() => Step::Do(Op::Undo),
        "redo" if rest.is_empty() => Step::Do(Op::Redo),
        _ => parse_lab(cmd, rest)?,
    })
}

/// The experiments beyond the mapping's own calls: another process, code, the allocator.
fn parse_lab(cmd: &str, rest: &[String]) -> Result<Step, String> {
    Ok(match cmd {
        "truncate" => Step::Do(Op::Truncate(number(rest.first(), "size")?)),
        "exec" => {
            let offset = number(rest.first(), "offset")?;
            let args = match &rest[1.min(rest.len())..] {
                [] => (0, 0),
                [a, b] => (
                    number(Some(a), "first argument")?,
                    number(Some(b), "second argument")?,
                ),
                _ => return Err("usage: exec OFFSET [A B]".into()),
            };
            Step::Do(Op::Exec { offset, args })
        }
        "write-snippet" => match rest {
            [off, name] => Step::Do(Op::Write {
                offset: number(Some(off), "offset")?,
                bytes: crate::sys::lab::experiments::snippet(name)
                    .map_err(|e| e.explanation)?
                    .to_vec(),
            }),
            _ => return Err("usage: write-snippet OFFSET ret42|add".into()),
        },
        "peer" => match rest {
            [s] if s == "start" => Step::Do(Op::PeerStart(None)),
            [s, off] if s == "start" => Step::Do(Op::PeerStart(Some(number(Some(off), "offset")?))),
            [s] if s == "stop" => Step::Do(Op::PeerStop),
            _ => return Err("usage: peer start [OFFSET] | peer stop".into()),
        },
        "alloc" => Step::Do(Op::Alloc(number(rest.first(), "size")?)),
        "free" if rest.is_empty() => Step::Do(Op::Free),
        "fork" if rest.is_empty() => Step::Do(Op::Fork),
        "swap" if rest.is_empty() => Step::Do(Op::Swap),
        "child" => child(rest)?,
        _ => parse_layout(cmd, rest)?,
    })
}

/// `child write OFFSET HEX... | child read OFFSET LEN | child exit`: orders for the keeper.
fn child(rest: &[String]) -> Result<Step, String> {
    const USAGE: &str = "usage: child write OFFSET HEXBYTES... | child read OFFSET LEN | child exit \
                         | child track | child touched";
    let Some((verb, args)) = rest.split_first() else {
        return Err(USAGE.into());
    };
    Ok(Step::Do(match verb.as_str() {
        "write" => Op::ChildWrite {
            offset: number(args.first(), "offset")?,
            bytes: hex_words(&args[1.min(args.len())..])?,
        },
        "read" if args.len() == 2 => Op::ChildRead {
            offset: number(args.first(), "offset")?,
            len: number(args.get(1), "length")?,
        },
        "exit" if args.is_empty() => Op::ChildExit,
        "track" if args.is_empty() => Op::ChildTrack,
        "touched" if args.is_empty() => Op::ChildTouched,
        _ => return Err(USAGE.into()),
    }))
}

/// The calls that change where the mapping lies or whether it may be paged out: mlock,
/// munlock, mremap.
fn parse_layout(cmd: &str, rest: &[String]) -> Result<Step, String> {
    Ok(Step::Do(match cmd {
        "lock" => Op::Lock(scope(rest).map_err(|e| format!("lock [all | page N]: {e}"))?),
        "unlock" => Op::Unlock(scope(rest).map_err(|e| format!("unlock [all | page N]: {e}"))?),
        "resize" if rest.len() == 1 => Op::Resize(number(rest.first(), "size")?),
        "move" if rest.len() == 1 => Op::Move(number(rest.first(), "address")?),
        "resize" => return Err("usage: resize SIZE".into()),
        "move" => return Err("usage: move ADDR".into()),
        other => {
            return Err(format!(
                "unknown command `{}` (known: {COMMANDS})",
                echo(other)
            ));
        }
    }))
}

/// The longest `sleep` a line may ask for, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 60_000;
/// The longest line a script may have, in bytes.
pub const MAX_LINE: usize = 64 << 10;
/// The largest script, in bytes.
pub const MAX_SCRIPT: usize = 64 << 20;

/// Reads a script from `input`, refusing (with a sentence) what cannot be one: a line longer
/// than `MAX_LINE` (`/dev/zero` has no newline at all), more than `MAX_SCRIPT` bytes, or text
/// that is not UTF-8. Memory stays bounded whatever `input` is.
///
/// # Errors
/// The sentence, or the read error.
pub fn read_capped(input: impl std::io::Read) -> Result<String, String> {
    read_capped_at(input, MAX_LINE, MAX_SCRIPT)
}

fn read_capped_at(
    input: impl std::io::Read,
    max_line: usize,
    max_script: usize,
) -> Result<String, String> {
    use std::io::BufRead as _;
    let mut reader = std::io::BufReader::new(input.take(max_script as u64 + 1));
    let mut out = Vec::new();
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let n = std::io::Read::take(&mut reader, max_line as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        number += 1;
        let content = line.strip_suffix(b"\n").unwrap_or(&line);
        if content.len() > max_line {
            return Err(format!(
                "line {number} is longer than {} KiB: this is not a script",
                max_line >> 10
            ));
        }
        out.extend_from_slice(&line);
        if out.len() > max_script {
            return Err(format!(
                "the script is larger than {} MiB",
                max_script >> 20
            ));
        }
    }
    String::from_utf8(out).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("the script is not UTF-8 text (a bad byte at offset {at})")
    })
}

/// The rest of a line that starts with the word `force`.
fn after_force(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("force")?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(rest)
}

/// A line, and whether `force` came before it: only before the lines that can commit memory
/// beyond the bound (`lock`, `resize`, `mode` of a `--populate` or `--locked` mapping), so
/// that nobody reads it as leave to write a file.
///
/// # Errors
/// A sentence naming the problem.
pub fn parse_line(line: &str) -> Result<Option<(bool, Step)>, String> {
    let Some(rest) = after_force(line) else {
        return Ok(parse_step(line)?.map(|s| (false, s)));
    };
    match parse_step(rest)? {
        Some(step @ Step::Do(Op::Lock(_) | Op::Resize(_) | Op::Mode(_))) => Ok(Some((true, step))),
        None => Err("force goes before a line: force lock all, force resize 1G".into()),
        Some(_) => Err(
            "force lifts only the memory bound of lock, resize and mode (of a \
             --populate or --locked mapping): it means nothing before this line"
                .into(),
        ),
    }
}

/// Parses a whole script.
///
/// # Errors
/// Every line that could not be parsed.
pub fn parse(script: &str) -> Result<Vec<Line>, Vec<ParseError>> {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in script.lines().enumerate() {
        let text = without_comment(raw).trim().to_string();
        match parse_line(raw) {
            Ok(Some((force, step))) => lines.push(Line {
                number: i + 1,
                text,
                step,
                force,
            }),
            Ok(None) => {}
            Err(problem) => errors.push(ParseError {
                number: i + 1,
                text,
                problem,
            }),
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

pub mod lesson;

#[cfg(test)]
mod tests;
