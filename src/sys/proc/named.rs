//! A process by name (`--pid sleep`): the processes whose command name (`/proc/PID/comm`,
//! which the kernel cuts to 15 bytes) or whose program (the last part of `argv[0]`) is that
//! name, ourselves and kernel threads left out. Read from /proc only: nothing of them is
//! touched.

use crate::sys::error::SysError;

/// A process whose name matched, with what a person needs to tell it from the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub pid: u32,
    /// Its user's name (`/etc/passwd`), or the uid's number.
    pub user: String,
    /// Its command line, arguments joined by blanks, control bytes escaped.
    pub cmdline: String,
    /// Resident memory (`VmRSS`) in bytes.
    pub rss: u64,
}

/// What `--pid` names: a process by its number, or the one process of that name.
///
/// # Errors
/// A name no process has; a name several have, listing them (pid, user, RSS, command line),
/// one a line, so that the user can give the pid.
pub fn resolve(spec: &str) -> Result<u32, SysError> {
    if let Ok(pid) = spec.parse::<u32>() {
        return Ok(pid);
    }
    let shown = crate::text::echo(spec);
    match named(spec).as_slice() {
        [] => Err(SysError::new(
            libc::ESRCH,
            format!("--pid {shown}"),
            "no process has this name (its command name or program); `ps -e` lists them, and \
             a pid works too",
        )),
        [one] => Ok(one.pid),
        several => Err(SysError::new(
            libc::EINVAL,
            format!("--pid {shown}"),
            format!(
                "{} processes have this name: give one pid\n{}",
                several.len(),
                table(several)
            ),
        )),
    }
}

/// The processes named `name`, by pid.
pub fn named(name: &str) -> Vec<Named> {
    listed(|comm, argv| matches(name, comm, argv))
}

/// Every process but ourselves and kernel threads, by pid (the picker's list).
pub fn all() -> Vec<Named> {
    listed(|_, _| true)
}

/// The processes `keep` takes (given `comm` and the NUL-separated `argv`), by pid.
fn listed(keep: impl Fn(&[u8], &[u8]) -> bool) -> Vec<Named> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&pid| pid != me)
        .collect();
    pids.sort_unstable();
    let users = users();
    pids.into_iter()
        .filter_map(|pid| {
            // A process that exits while we read is simply not listed.
            let comm = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
            let argv = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            // Kernel threads have no command line.
            (!argv.is_empty() && keep(&comm, &argv)).then_some(())?;
            let status = std::fs::read(format!("/proc/{pid}/status")).ok()?;
            Some(describe(pid, &argv, &status, &users))
        })
        .collect()
}

/// Whether `name` is the command name (`comm`, as the kernel cut it) or the last part of the
/// program in `argv` (NUL-separated, as /proc/PID/cmdline gives it).
fn matches(name: &str, comm: &[u8], argv: &[u8]) -> bool {
    let name = name.as_bytes();
    if name.is_empty() {
        return false;
    }
    let comm = comm.strip_suffix(b"\n").unwrap_or(comm);
    // The kernel keeps 15 bytes of the name (TASK_COMM_LEN 16 with the NUL).
    let cut = &name[..name.len().min(15)];
    let program = argv.split(|&b| b == 0).next().unwrap_or_default();
    let base = program.rsplit(|&b| b == b'/').next().unwrap_or_default();
    comm == cut || base == name
}

/// A matched process as shown in the list.
fn describe(pid: u32, argv: &[u8], status: &[u8], users: &[(u32, String)]) -> Named {
    let text = String::from_utf8_lossy(status);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    let uid: Option<u32> = field("Uid:")
        .split_whitespace()
        .next()
        .and_then(|u| u.parse().ok());
    let user = match uid {
        Some(uid) => users
            .iter()
            .find(|(u, _)| *u == uid)
            .map_or_else(|| uid.to_string(), |(_, n)| n.clone()),
        None => "?".into(),
    };
    let rss_kb: u64 = field("VmRSS:")
        .split_whitespace()
        .next()
        .and_then(|k| k.parse().ok())
        .unwrap_or(0);
    let args: Vec<String> = argv
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Named {
        pid,
        user,
        cmdline: crate::text::echo(&args.join(" ")),
        rss: rss_kb * 1024,
    }
}

/// User names by uid, from `/etc/passwd` (empty when it cannot be read).
fn users() -> Vec<(u32, String)> {
    let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

/// The matches as a table: pid, user, RSS, command line.
fn table(list: &[Named]) -> String {
    let mut out = format!("{:>8}  {:<10} {:>10}  COMMAND", "PID", "USER", "RSS");
    for n in list {
        out += &format!(
            "\n{:>8}  {:<10} {:>10}  {}",
            n.pid,
            crate::text::echo_within(&n.user, 10),
            crate::text::human(n.rss),
            crate::text::echo_within(&n.cmdline, 60)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_matches_the_command_name_cut_or_the_program() {
        assert!(matches("sleep", b"sleep\n", b"/usr/bin/sleep\x0060\x00"));
        assert!(matches("sleep", b"other\n", b"/usr/bin/sleep\x0060\x00"));
        // The kernel keeps 15 bytes of a longer name.
        assert!(matches(
            "a-very-long-program-name",
            b"a-very-long-pro\n",
            b"python3\x00x\x00"
        ));
        assert!(!matches("slee", b"sleep\n", b"/usr/bin/sleep\x00"));
        assert!(!matches("bin", b"sleep\n", b"/usr/bin/sleep\x00"));
        assert!(!matches("", b"\n", b"\x00"));
    }

    #[test]
    fn a_number_is_a_pid_and_an_unknown_name_says_so() {
        assert_eq!(resolve("1234").ok(), Some(1234));
        let e = resolve("no-process-is-named-this").expect_err("no such name");
        assert_eq!(e.errno, libc::ESRCH);
        assert!(e.to_string().contains("no process has this name"), "{e}");
    }

    #[test]
    fn the_list_shows_pid_user_rss_and_the_command_line() {
        let users = vec![(0, "root".to_string())];
        let n = describe(
            42,
            b"/bin/sleep\x00100\x00",
            b"Name:\tsleep\nUid:\t0\t0\t0\t0\nVmRSS:\t    1024 kB\n",
            &users,
        );
        assert_eq!(
            n,
            Named {
                pid: 42,
                user: "root".into(),
                cmdline: "/bin/sleep 100".into(),
                rss: 1024 * 1024
            }
        );
        let t = table(&[n]);
        assert!(t.contains("42  root"), "{t}");
        assert!(t.contains("1.0 MiB") || t.contains("1 MiB"), "{t}");
        assert!(t.ends_with("/bin/sleep 100"), "{t}");
    }
}
