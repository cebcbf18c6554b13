//! Helpers shared by the tests that run the real binary: a deadline on every run, JSON and
//! error checks, and running as user nobody when the tests run as root.

pub mod pty;

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any one run of the binary may take.
pub const DEADLINE: Duration = Duration::from_secs(10);
/// The uid and gid of user nobody.
pub const NOBODY: u32 = 65534;

pub const BIN: &str = env!("CARGO_BIN_EXE_mmapscope");

/// A temporary directory under the target directory (a real file system, not tmpfs).
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// 3 pages of 'A', 'B', 'C' and 100 bytes of 'z', written a page at a time and synced.
pub fn fixture(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    let path = dir.join("f.txt");
    let mut f = std::fs::File::create(&path).expect("create the fixture");
    for c in [b'A', b'B', b'C'] {
        f.write_all(&vec![c; page_size() as usize])
            .expect("write the fixture");
    }
    f.write_all(&[b'z'; 100]).expect("write the fixture");
    f.sync_all().expect("sync the fixture");
    path
}

/// `Err(why)` where the forking machine-code snippets cannot run: they are x86_64 code.
pub fn forking_snippet_runs() -> Result<(), String> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(()),
        arch => Err(format!(
            "the forking snippet is x86_64 code; this is {arch}"
        )),
    }
}

/// `text` as `script.txt` in `dir`.
pub fn script(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("script.txt");
    std::fs::write(&path, text).expect("write script");
    path
}

pub fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The binary with `args`, run from `/`, with a backtrace asked for so that a panic would show.
pub fn mmapscope<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir("/")
        .env("RUST_BACKTRACE", "1")
        .env_remove("NO_COLOR");
    cmd
}

/// Runs `cmd` with stdin from /dev/null and stdout/stderr captured; kills it and fails the test
/// when it takes longer than `DEADLINE` (a FIFO must not make the tool hang).
pub fn run(cmd: Command) -> Output {
    run_with_pid(cmd).0
}

/// Runs `cmd` with `input` on its stdin, and waits for all it printed.
pub fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// As `run`, and returns the pid the process had (the session id, when `cmd` is `setsid ...`).
/// Fails too when the output pipes stay open after it exited: something it started holds them.
pub fn run_with_pid(mut cmd: Command) -> (Output, u32) {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {shown}: {e}"));
    let pid = child.id();
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
        rx
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let collect = |rx: std::sync::mpsc::Receiver<Vec<u8>>, name: &str| {
        rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
            panic!(
                "{shown} exited ({status:?}) but its {name} stayed open for {DEADLINE:?}: a \
                 process it started still holds it: {:?}",
                live_in_session(pid)
            )
        })
    };
    let output = Output {
        status,
        stdout: collect(out, "stdout"),
        stderr: collect(err, "stderr"),
    };
    (output, pid)
}

/// A process as /proc/PID/stat shows it (proc_pid_stat(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    /// The command line, NULs as spaces.
    pub cmdline: String,
}

/// Every process now (not threads), zombies included.
pub fn processes() -> Vec<Proc> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // It may have gone since the listing.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: fields resume after the last ')'.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        all.push(Proc {
            pid,
            state: f.first().and_then(|s| s.chars().next()).unwrap_or('?'),
            ppid: num(1),
            pgrp: num(2),
            session: num(3),
            cmdline,
        });
    }
    all
}

/// Live (not zombie: a zombie runs nothing, only waits for its reaper) processes of session
/// `sid`. A process started with setsid (or in a pty) has its own session, which its children
/// and theirs keep through setpgid and after their parent dies: the test's way to find every
/// process the run left, orphans included.
pub fn live_in_session(sid: u32) -> Vec<Proc> {
    processes()
        .into_iter()
        .filter(|p| p.session == sid && p.state != 'Z' && p.state != 'X')
        .collect()
}

/// Live processes descended from `pid` (children, theirs, ...), as the parent links stand now:
/// an orphan has left the tree (its parent is init or a subreaper); `live_in_session` finds it.
pub fn live_descendants(pid: u32) -> Vec<Proc> {
    let all = processes();
    let mut found: Vec<Proc> = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for p in all.iter().filter(|p| p.ppid == parent) {
            parents.push(p.pid);
            if p.state != 'Z' && p.state != 'X' {
                found.push(p.clone());
            }
        }
    }
    found
}

/// Fails unless session `sid` has no live process within a second (time for SIGKILL to land):
/// nothing the run started (peer, code child, what the code forked) outlives it.
pub fn assert_none_left(sid: u32, what: &str) {
    let start = Instant::now();
    loop {
        let left = live_in_session(sid);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{what}: processes of ours are still alive: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (up to `DEADLINE`) until `cond` holds for the live processes of session `sid`.
pub fn wait_for_session(sid: u32, what: &str, cond: impl Fn(&[Proc]) -> bool) -> Vec<Proc> {
    let start = Instant::now();
    loop {
        let live = live_in_session(sid);
        if cond(&live) {
            return live;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}; session {sid}: {live:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The path of the program `name` (setsid, prlimit, python3) on PATH or in the usual places.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Expects exit 0 and a JSON report on stdout.
pub fn json_ok(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "exit status {:?}; stderr: {}",
        out.status,
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Expects exit 2, nothing on stdout, and exactly one line on stderr without any trace of a
/// panic, naming `errno` when given and containing each of `words`. Returns that line.
pub fn fails_cleanly(out: &Output, errno: Option<&str>, words: &[&str]) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit status {:?}; stderr: {err}",
        out.status
    );
    assert!(
        out.stdout.is_empty(),
        "stdout should be empty, got: {}",
        text(&out.stdout)
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one message line on stderr, got:\n{err}");
    let lower = err.to_lowercase();
    for bad in ["panicked", "backtrace", "rust_backtrace"] {
        assert!(!lower.contains(bad), "stderr mentions {bad:?}:\n{err}");
    }
    assert!(
        lines[0].starts_with("mmapscope: "),
        "the message names the tool: {err}"
    );
    if let Some(errno) = errno {
        assert!(err.contains(errno), "the message names {errno}: {err}");
    }
    for w in words {
        assert!(err.contains(w), "the message contains {w:?}: {err}");
    }
    lines[0].to_string()
}

/// One entry per page of the mapping: the run that describes it. Checks that the runs cover
/// every page exactly once, in order.
pub fn expand_runs(report: &Value) -> Vec<&Value> {
    let pages = report["mapping"]["pages"].as_u64().expect("mapping.pages");
    let runs = report["pages"].as_array().expect("pages is a list of runs");
    let mut next = 0;
    let mut per_page = Vec::new();
    for run in runs {
        let first = run["first"].as_u64().expect("run.first");
        let count = run["count"].as_u64().expect("run.count");
        assert_eq!(first, next, "runs are consecutive: {runs:#?}");
        assert!(count > 0, "a run covers at least one page: {run}");
        for _ in 0..count {
            per_page.push(run);
        }
        next = first + count;
    }
    assert_eq!(next, pages, "the runs cover all {pages} pages");
    per_page
}

/// Why user nobody could not reach `path` (every directory above it must be searchable by
/// others), or `None` when it can.
pub fn unreachable_by_others(path: &Path) -> Option<String> {
    for dir in path.ancestors().skip(1) {
        let mode = std::fs::metadata(dir).ok()?.permissions().mode();
        if mode & 0o001 == 0 {
            return Some(format!("{} is mode {:o}", dir.display(), mode & 0o7777));
        }
    }
    None
}

/// A temporary directory of mode 0755 that user nobody can reach: under /var/tmp, else the
/// system temp dir, else the crate's target tmp dir.
pub fn temp_for_nobody() -> Result<tempfile::TempDir, String> {
    let candidates = [
        PathBuf::from("/var/tmp"),
        std::env::temp_dir(),
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    ];
    let mut why = Vec::new();
    for base in candidates {
        let Ok(dir) = tempfile::TempDir::new_in(&base) else {
            why.push(format!("cannot create a dir in {}", base.display()));
            continue;
        };
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod 0755 temp dir");
        match unreachable_by_others(&dir.path().join("x")) {
            None => return Ok(dir),
            Some(reason) => why.push(reason),
        }
    }
    Err(why.join("; "))
}

/// The binary run as user nobody when we are root (setpriv), or as ourselves otherwise, in a
/// temp dir nobody can reach. `Err` says why the check cannot run here.
pub fn as_unprivileged(args: &[&std::ffi::OsStr]) -> Result<Command, String> {
    if !is_root() {
        return Ok(mmapscope(args));
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or("running as root and setpriv(1) is not installed (util-linux)")?;
    let bin = binary_for_nobody()?;
    let mut cmd = Command::new(setpriv);
    cmd.arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(bin)
        .args(args)
        .current_dir("/")
        .env("RUST_BACKTRACE", "1");
    Ok(cmd)
}

/// The binary where user nobody can run it: itself when every directory above it is
/// searchable by others, else a copy (mode 0755) in a temporary directory nobody can reach,
/// made once per test process. (A checkout under a private directory, as CI's may be, would
/// otherwise keep every unprivileged check from running.)
pub fn binary_for_nobody() -> Result<PathBuf, String> {
    static COPY: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    if unreachable_by_others(Path::new(BIN)).is_none() {
        return Ok(PathBuf::from(BIN));
    }
    COPY.get_or_init(|| {
        let dir = temp_for_nobody()?;
        let copy = dir.path().join("mmapscope");
        std::fs::copy(BIN, &copy).map_err(|e| format!("copy the binary for nobody: {e}"))?;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod the copy: {e}"))?;
        // Kept for the life of the test process: other tests may be running it.
        std::mem::forget(dir);
        Ok(copy)
    })
    .clone()
}

pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}

/// A running `mmapscope demo-writer`, killed and reaped when dropped.
pub struct Writer {
    child: std::process::Child,
    pub pid: u32,
    /// The pages it wrote, in order.
    pub pages: Vec<u64>,
}

impl Writer {
    /// Starts a writer on `file` that makes `writes` writes, 1 ms apart, then waits; returns
    /// once it has said `done`.
    pub fn start(file: &Path, writes: u32) -> Self {
        let mut child = Command::new(BIN)
            .arg("demo-writer")
            .arg(file)
            .args(["--period", "1", "--writes", &writes.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn demo-writer");
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(out)) {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut pages = Vec::new();
        loop {
            let line = rx
                .recv_timeout(DEADLINE)
                .expect("demo-writer says `done` in time");
            if line == "done" {
                break;
            }
            if let Some(p) = line.strip_prefix("write page ") {
                pages.push(p.parse().expect("a page number"));
            }
        }
        Self { child, pid, pages }
    }

    /// Ends it (closing its stdin) and reaps it.
    pub fn end(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file of `pages` pages on a real file system, written back (clean) before the test, one
/// page per write(2) so that its page-cache folios are single pages (dirty is per folio: one
/// store into a large folio makes all its pages dirty).
pub fn clean_file(dir: &Path, pages: u64) -> PathBuf {
    let path = dir.join("data.bin");
    let mut f = std::fs::File::create(&path).expect("create");
    for _ in 0..pages {
        std::io::Write::write_all(&mut f, &vec![b'.'; page_size() as usize]).expect("write");
    }
    f.sync_all().expect("fsync");
    path
}

/// A proptest configuration for a generated-script test: `MMAPSCOPE_PROPTEST_CASES` cases
/// (else `default_cases`), no regression file in the tree, and a seed of our own when
/// `PROPTEST_RNG_SEED` gives none, so that a failure can say how to replay it. Returns the
/// configuration, the number of cases and the seed.
pub fn proptest_config(default_cases: u32) -> (proptest::test_runner::Config, u32, u64) {
    use proptest::test_runner::{Config, RngSeed};
    let cases = std::env::var("MMAPSCOPE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let mut config = Config {
        failure_persistence: None,
        ..Config::with_cases(cases)
    };
    let seed = match config.rng_seed {
        RngSeed::Fixed(seed) => seed,
        RngSeed::Random => {
            use std::hash::{BuildHasher as _, Hasher as _};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        }
    };
    config.rng_seed = RngSeed::Fixed(seed);
    (config, cases, seed)
}

/// Types `text` into the prompt `open` opens (`:` or `/`), submits it, runs the search to its
/// end; returns the log's last line.
pub fn search(
    s: &mut mmapscope::session::Session,
    open: mmapscope::action::Action,
    text: &str,
) -> String {
    use mmapscope::action::{Action, GridAction, PromptEdit};
    s.act(open);
    for c in text.chars() {
        s.act(Action::Grid(GridAction::Prompt(PromptEdit::Insert(c))));
    }
    s.act(Action::Grid(GridAction::Prompt(PromptEdit::Submit)));
    s.finish_search();
    last_log(s)
}

/// The session's last log line.
pub fn last_log(s: &mmapscope::session::Session) -> String {
    s.model
        .log
        .lines
        .last()
        .map(|l| l.text.clone())
        .unwrap_or_default()
}

/// Runs `cmd`, and fails with everything it printed unless it exited 0.
pub fn check_passes(cmd: Command, name: &str, who: &str) -> String {
    let out: Output = run(cmd);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "lesson {name} --check as {who} exited with {:?}\n--- stdout:\n{stdout}\n--- stderr:\n{}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        stdout.contains("lesson checked: every expect held"),
        "lesson {name} as {who}: no success line\n{stdout}"
    );
    stdout
}

/// The range of the VMA of `pid` whose maps line ends with `name`.
pub fn vma_range(pid: u32, name: &str) -> (u64, u64) {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let line = maps
        .lines()
        .find(|l| l.ends_with(name))
        .unwrap_or_else(|| panic!("{name} in the maps:\n{maps}"));
    let (a, b) = line
        .split_whitespace()
        .next()
        .and_then(|r| r.split_once('-'))
        .expect("a-b");
    (
        u64::from_str_radix(a, 16).expect("hex"),
        u64::from_str_radix(b, 16).expect("hex"),
    )
}
