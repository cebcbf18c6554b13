//! The lab through the batch interface of the real binary (one code path with the keys):
//! copy-on-write after fork with the keeper child, an address of choice (--addr, --fixed),
//! mremap, mlock and RLIMIT_MEMLOCK, transparent and hugetlb huge pages, and where malloc's
//! blocks land. Every claim is an `expect` line or a check of the JSON lines; the fork tests
//! also check that no process of ours is left.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

fn lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `mmapscope batch ARGS SCRIPT` in a session of its own (setsid, when installed), so that
/// every process it starts can be found afterwards. Returns the output, the JSON lines and
/// the session id (`None` without setsid).
fn batch(dir: &Path, args: &[&str], text: &str) -> (Output, Vec<Value>, Option<u32>) {
    let script = script(dir, text);
    let mut all: Vec<&OsStr> = vec!["batch".as_ref()];
    all.extend(args.iter().map(OsStr::new));
    all.push(script.as_os_str());
    let (out, sid) = match tool("setsid") {
        Some(setsid) => {
            let mut cmd = Command::new(setsid);
            cmd.arg(BIN).args(&all).current_dir("/");
            let (out, pid) = run_with_pid(cmd);
            (out, Some(pid))
        }
        None => (run(mmapscope(&all)), None),
    };
    let l = lines(&out);
    (out, l, sid)
}

/// Expects exit 0 and every line ok (but for failures an `expect error` claims).
fn all_ok(out: &Output, lines: &[Value]) {
    for (i, l) in lines.iter().enumerate() {
        let claimed = lines
            .get(i + 1)
            .is_some_and(|n| n["cmd"] == "expect error" && n["ok"] == true);
        assert!(l["ok"] == true || claimed, "{l}\n{}", text(&out.stderr));
    }
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn line<'a>(lines: &'a [Value], cmd: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["cmd"] == cmd)
        .unwrap_or_else(|| panic!("no line `{cmd}`: {lines:#?}"))
}

fn none_left(sid: Option<u32>, what: &str) {
    match sid {
        Some(sid) => assert_none_left(sid, what),
        None => skip(
            what,
            "setsid(1) is not installed: cannot look for leftovers",
        ),
    }
}

#[test]
fn after_fork_a_private_page_read_by_both_is_shared_until_the_parent_writes() {
    let dir = temp_dir();
    let file = fixture(dir.path());
    let (out, lines, sid) = batch(
        dir.path(),
        &["--private", file.to_str().unwrap()],
        "read 0x1000 4\n\
         fork\n\
         child read 0x1000 4\n\
         expect result hex == \"42424242\"\n\
         expect page 1 exclusive == false\n\
         expect page 1 shared_with_child == true\n\
         expect page 1 cow == false\n\
         write 0x1000 5a\n\
         expect page 1 cow == true\n\
         expect page 1 exclusive == true\n\
         expect page 1 shared_with_child == false\n\
         child read 0x1000 4\n\
         expect result hex == \"42424242\"\n\
         read 0x1000 4\n\
         expect result hex == \"5a424242\"\n\
         expect file 0x1000 == 42\n\
         child exit\n\
         expect page 1 shared_with_child == null\n",
    );
    all_ok(&out, &lines);
    let fork = line(&lines, "fork");
    let pid = fork["result"]["pid"].as_u64().expect("the child's pid");
    assert!(pid > 0);
    let notes = fork["result"]["notes"].to_string();
    assert!(notes.contains("keeps every mapping"), "{fork}");
    let write = line(&lines, "write 0x1000 5a");
    assert!(
        write["result"]["notes"]
            .to_string()
            .contains("copy-on-write after fork: page 1 was shared with the child"),
        "{write}"
    );
    let exit = line(&lines, "child exit");
    assert_eq!(exit["result"]["how"], "exited with status 0", "{exit}");
    none_left(sid, "after_fork_a_private_page_read_by_both");
}

#[test]
fn after_fork_anonymous_pages_halve_pss_and_split_on_the_childs_write() {
    let dir = temp_dir();
    let (out, lines, sid) = batch(
        dir.path(),
        &["--anon", "16k", "--private"],
        "write 0 41\n\
         write 0x1000 42\n\
         fork\n\
         expect result present == 2\n\
         expect result shared_with_child == 2\n\
         expect result smaps_delta.Pss == -4096\n\
         expect vma pss == 4096\n\
         child write 0x1000 63\n\
         expect result old == \"42\"\n\
         expect result shared_before == true\n\
         expect result shared_after == false\n\
         expect page 1 exclusive == true\n\
         expect page 0 shared_with_child == true\n\
         read 0x1000 1\n\
         expect result hex == \"42\"\n\
         child read 0x1000 1\n\
         expect result hex == \"63\"\n",
    );
    all_ok(&out, &lines);
    let fork = line(&lines, "fork");
    assert!(
        fork["result"]["notes"]
            .to_string()
            .contains("a page mapped by two processes counts half"),
        "the log says why Pss moved: {fork}"
    );
    // Batch ends without `child exit`: the child is reaped on the way out.
    none_left(sid, "after_fork_anonymous_pages_halve_pss");
}

#[test]
fn a_childs_write_to_a_shared_mapping_shows_through_and_reading_never_splits_a_page() {
    let dir = temp_dir();
    let file = fixture(dir.path());
    let (out, lines, sid) = batch(
        dir.path(),
        &["--write", file.to_str().unwrap()],
        "fork\n\
         child write 0x2000 7a\n\
         read 0x2000 1\n\
         expect result hex == \"7a\"\n\
         expect file 0x2000 == 7a\n\
         expect page 2 shared_with_child == true\n",
    );
    all_ok(&out, &lines);
    none_left(sid, "a_childs_write_to_a_shared_mapping");

    // A page shared copy-on-write stays shared however often we read it (process_vm_readv
    // would have copied it: reads go through /proc/self/mem while a child shares pages).
    let (out, lines, _) = batch(
        dir.path(),
        &["--anon", "8k", "--private"],
        "write 0 41\nfork\nread 0 1\nread 0 1\nchild read 0 1\nexpect page 0 shared_with_child == true\nexpect page 0 exclusive == false\n",
    );
    all_ok(&out, &lines);
}

#[test]
fn a_childs_write_to_shared_anonymous_memory_is_said_to_reach_the_parent() {
    // Page 0 is in neither page table when the child writes: the store goes to the shmem
    // object both map, and our read finds the child's bytes. Page 1 is mapped by us first:
    // the note reads our bytes back. Mapped afresh (`mode`), ours no longer sees the child.
    let dir = temp_dir();
    let (out, lines, sid) = batch(
        dir.path(),
        &["--anon", "8k"],
        "fork\nchild write 0 41 42\nread 0 2\nexpect result hex == \"4142\"\n\
         write 0x1000 01\nchild read 0x1000 1\nexpect result hex == \"01\"\n\
         child write 0x1000 43\nmode private\nmode shared\nchild write 0x10 44\nread 0x10 1\n\
         expect result hex == \"00\"\n",
    );
    all_ok(&out, &lines);
    none_left(sid, "a_childs_write_to_shared_anonymous_memory");
    let notes = |l: &Value| l["result"]["notes"].to_string();
    let first = notes(line(&lines, "child write 0 41 42"));
    assert!(
        first.contains("went to the object both map") && !first.contains("its own page"),
        "{first}"
    );
    let ours = notes(line(&lines, "write 0x1000 01"));
    assert!(
        ours.contains("the object the child maps too") && !ours.contains("your own page"),
        "{ours}"
    );
    let read_back = notes(line(&lines, "child write 0x1000 43"));
    assert!(read_back.contains("you read 43 there too"), "{read_back}");
    let afresh = notes(line(&lines, "child write 0x10 44"));
    assert!(afresh.contains("does not see it"), "{afresh}");
}

#[test]
fn orders_without_a_child_are_refused_and_a_second_fork_too() {
    let dir = temp_dir();
    let (out, lines, sid) = batch(
        dir.path(),
        &["--anon", "8k"],
        "child read 0 1\nexpect error\nfork\nfork\nexpect error\nchild read 0x2000 1\nexpect error\nchild exit\nchild exit\nexpect error\n",
    );
    all_ok(&out, &lines);
    assert!(
        lines[0]["error"].as_str().unwrap().starts_with("ESRCH"),
        "{}",
        lines[0]
    );
    assert!(
        line(&lines, "child read 0x2000 1")["error"]
            .as_str()
            .unwrap()
            .contains("as it was at the fork")
    );
    none_left(sid, "orders_without_a_child");
}

#[test]
fn a_batch_killed_while_a_child_keeps_the_mapping_leaves_nothing() {
    let test = "a_batch_killed_while_a_child_keeps_the_mapping_leaves_nothing";
    let Some(setsid) = tool("setsid") else {
        return skip(test, "setsid(1) is not installed");
    };
    for signal in [rustix::process::Signal::TERM, rustix::process::Signal::KILL] {
        let dir = temp_dir();
        let script = script(dir.path(), "fork\nsleep 30000\n");
        let mut child = Command::new(&setsid)
            .arg(BIN)
            .args(["batch", "--anon", "4k"])
            .arg(&script)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let sid = child.id();
        wait_for_session(sid, "mmapscope and its keeper", |live| live.len() >= 2);
        let pid = rustix::process::Pid::from_raw(i32::try_from(sid).unwrap()).unwrap();
        rustix::process::kill_process(pid, signal).expect("kill");
        child.wait().expect("wait");
        // SIGTERM: the handler kills the keeper; SIGKILL: PR_SET_PDEATHSIG does.
        assert_none_left(sid, &format!("{test} ({signal:?})"));
    }
}

#[test]
fn fixed_at_an_occupied_address_exits_2_naming_what_is_there() {
    let test = "fixed_at_an_occupied_address_exits_2_naming_what_is_there";
    let Some(setarch) = tool("setarch") else {
        return skip(test, "setarch(8) (util-linux) is not installed");
    };
    if std::env::consts::ARCH != "x86_64" {
        return skip(
            test,
            "the stack's place without ASLR is known here for x86_64 only",
        );
    }
    // Without address-space randomization (setarch -R) the stack's top page is at
    // 0x7fffffffe000 (STACK_TOP, arch/x86/include/asm/processor.h): certainly occupied.
    let mut cmd = Command::new(setarch);
    cmd.args(["x86_64", "-R", BIN, "inspect", "--anon", "4k"])
        .args(["--addr", "0x7fffffffe000", "--fixed"])
        .current_dir("/");
    let out = run(cmd);
    let msg = fails_cleanly(&out, Some("EEXIST"), &["MAP_FIXED_NOREPLACE", "[stack]"]);
    assert!(msg.contains("0x7fffffffe000"), "{msg}");

    // A free address is honoured, as a hint and with --fixed.
    let addr = "0x300000000000";
    for fixed in [false, true] {
        let mut args = vec!["inspect", "--json", "--anon", "4k", "--addr", addr];
        if fixed {
            args.push("--fixed");
        }
        let report = json_ok(&run(mmapscope(&args)));
        assert_eq!(report["mapping"]["addr"], addr, "fixed {fixed}");
    }
    let out = run(mmapscope(&["inspect", "--anon", "4k", "--addr", "0x1001"]));
    fails_cleanly(&out, Some("EINVAL"), &["page size"]);
}

#[test]
fn resize_grows_the_mapping_and_the_new_pages_read_correctly() {
    let dir = temp_dir();
    let file = fixture(dir.path());
    let (out, lines, _) = batch(
        dir.path(),
        &["--len", "8k", file.to_str().unwrap()],
        "expect mapping pages == 2\n\
         resize 0x3064\n\
         expect result new_len == 0x3064\n\
         expect mapping len == 0x3064\n\
         expect mapping pages == 4\n\
         read 0x2000 2\n\
         expect result hex == \"4343\"\n\
         read 0x3062 4\n\
         expect result hex == \"7a7a0000\"\n\
         resize 24k\n\
         expect page 5 beyond_eof == true\n\
         read 0x5000 1\n\
         expect error\n\
         resize 4k\n\
         expect mapping pages == 1\n\
         read 0 1\n\
         expect result hex == \"41\"\n",
    );
    all_ok(&out, &lines);
    let grown = line(&lines, "resize 24k");
    assert!(
        grown["result"]["notes"]
            .to_string()
            .contains("pages 4-5 are beyond the end of the file now"),
        "{grown}"
    );
    // Anonymous memory: the pages come along when it moves; new pages are zero.
    let (out, lines, _) = batch(
        dir.path(),
        &["--anon", "8k", "--private"],
        "write 0 41\nresize 1M\nread 0 1\nexpect result hex == \"41\"\nread 0xff000 1\nexpect result hex == \"00\"\nmove 0x310000000000\nexpect mapping addr == \"0x310000000000\"\nexpect result present_after >= 1\nread 0 1\nexpect result hex == \"41\"\nmove 0x310000000000\nexpect error\n",
    );
    all_ok(&out, &lines);
    let refused = lines
        .iter()
        .rev()
        .find(|l| l["cmd"] == "move 0x310000000000")
        .unwrap();
    let err = refused["error"].as_str().unwrap();
    assert!(
        err.starts_with("EEXIST") && err.contains("MAP_FIXED_NOREPLACE"),
        "{err}"
    );
}

#[test]
fn lock_moves_locked_by_the_locked_size() {
    let dir = temp_dir();
    let (out, lines, _) = batch(
        dir.path(),
        &["--anon", "64k", "--private"],
        "expect vma locked == 0\n\
         lock page 2\n\
         expect result smaps_delta.Locked == 4096\n\
         expect vma locked == 4096\n\
         lock\n\
         expect vma locked == 65536\n\
         expect summary present == 16\n\
         unlock page 2\n\
         expect result smaps_delta.Locked == -4096\n\
         unlock\n\
         expect vma locked == 0\n",
    );
    all_ok(&out, &lines);
    let locked = line(&lines, "lock");
    assert_eq!(
        locked["result"]["memlock"]["exempt"],
        is_root(),
        "CAP_IPC_LOCK goes with root: {locked}"
    );
    // --locked: MAP_LOCKED at mmap time.
    let report = json_ok(&run(mmapscope(&[
        "inspect", "--json", "--anon", "16k", "--locked",
    ])));
    assert_eq!(report["vma"]["locked"], 16384, "{report}");
    assert!(report["vma"]["vm_flags"].to_string().contains("\"lo\""));
}

#[test]
fn resize_of_a_mapping_split_by_a_lock_names_the_vmas_not_end_of_file() {
    // mlock of page 0 splits the VMA in two; mremap cannot grow across a VMA boundary
    // (EFAULT). munlock merges them back, and the same resize then goes through.
    let dir = temp_dir();
    for mode in [&["--private"][..], &[]] {
        let mut args = vec!["--anon", "16k"];
        args.extend(mode);
        let (out, lines, _) = batch(
            dir.path(),
            &args,
            "lock page 0\nresize 32k\nexpect error\nexpect mapping len == 16k\n\
             unlock all\nresize 32k\nexpect mapping len == 32k\n",
        );
        all_ok(&out, &lines);
        let err = line(&lines, "resize 32k")["error"].as_str().unwrap();
        assert!(err.starts_with("EFAULT"), "{err}");
        for w in [
            "2 VMAs",
            "page 0 rw-",
            "locked",
            "pages 1-3",
            "`unlock all`",
        ] {
            assert!(err.contains(w), "{w:?} in {err}");
        }
        assert!(!err.contains("end of file"), "{err}");
    }
}

#[test]
fn resize_to_an_impossible_size_says_it_is_impossible_not_to_give_a_smaller_len() {
    let dir = temp_dir();
    let (out, lines, _) = batch(
        dir.path(),
        &["--anon", "16k"],
        "resize 0xffffffffffffffff\nexpect error\nresize 0x2000000000000000\nexpect error\n\
         expect mapping len == 16k\n",
    );
    all_ok(&out, &lines);
    for cmd in ["resize 0xffffffffffffffff", "resize 0x2000000000000000"] {
        let err = line(&lines, cmd)["error"].as_str().unwrap();
        assert!(err.starts_with("ENOMEM: resize: a size of"), "{err}");
        assert!(err.contains("is impossible"), "{err}");
        assert!(!err.contains("--len"), "{err}");
    }
}

#[test]
fn below_mmap_min_addr_an_unprivileged_move_and_fixed_name_the_sysctl() {
    const TEST: &str = "below_mmap_min_addr_an_unprivileged_move_and_fixed_name_the_sysctl";
    let min: u64 = match std::fs::read_to_string("/proc/sys/vm/mmap_min_addr") {
        Ok(text) => text.trim().parse().expect("a number"),
        Err(e) => return skip(TEST, &format!("/proc/sys/vm/mmap_min_addr: {e}")),
    };
    if min == 0 {
        return skip(
            TEST,
            "vm.mmap_min_addr is 0 here: page zero may be mapped by anyone",
        );
    }
    let batch_as = |args: &[&str], script: &str| -> Result<Vec<Value>, String> {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let cmd = as_unprivileged(&args)?;
        Ok(lines(&run_with_stdin(cmd, script)))
    };
    let l = match batch_as(&["batch", "--anon", "16k", "-"], "move 0\nexpect error\n") {
        Ok(l) => l,
        Err(why) => return skip(TEST, &why),
    };
    assert_eq!(l[1]["ok"], true, "{l:#?}");
    let err = l[0]["error"].as_str().unwrap();
    let words = format!("below vm.mmap_min_addr ({min}, 0x{min:x}");
    assert!(err.starts_with("EPERM") && err.contains(&words), "{err}");
    assert!(!err.contains("immutable file"), "{err}");
    let fixed = as_unprivileged(&[
        "inspect".as_ref(),
        "--anon".as_ref(),
        "16k".as_ref(),
        "--addr".as_ref(),
        "0".as_ref(),
        "--fixed".as_ref(),
    ])
    .map(run)
    .expect("as above");
    fails_cleanly(&fixed, Some("EPERM"), &[&words, "CAP_SYS_RAWIO"]);
    // Root has CAP_SYS_RAWIO: the same move goes through.
    if is_root() {
        let dir = temp_dir();
        let (out, lines, _) = batch(dir.path(), &["--anon", "16k"], "move 0\n");
        all_ok(&out, &lines);
    }
}

#[test]
fn over_rlimit_memlock_an_unprivileged_lock_is_refused_and_root_is_not_limited() {
    let test = "over_rlimit_memlock_an_unprivileged_lock_is_refused_and_root_is_not_limited";
    let limit = rustix::process::getrlimit(rustix::process::Resource::Memlock).current;
    let Some(limit) = limit.filter(|l| *l < 64 << 20) else {
        return skip(test, "RLIMIT_MEMLOCK is unlimited or above 64 MiB here");
    };
    let size = format!("{}", (limit + (1 << 20)).div_ceil(4096) * 4096);
    let args: Vec<&OsStr> = vec![
        "batch".as_ref(),
        "--anon".as_ref(),
        size.as_ref(),
        "--private".as_ref(),
        "-".as_ref(),
    ];
    let nobody = match as_unprivileged(&args) {
        Ok(c) if is_root() => Some(c),
        Ok(_) => None,
        Err(why) => return skip(test, &why),
    };
    let mut cmd = nobody.unwrap_or_else(|| mmapscope(&args));
    let child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut child = child;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"lock\nexpect error\n")
        .unwrap();
    let out = child.wait_with_output().expect("wait");
    let l = lines(&out);
    let err = l[0]["error"].as_str().unwrap_or_default();
    assert!(
        err.starts_with("ENOMEM") || err.starts_with("EPERM"),
        "{l:#?}"
    );
    assert!(
        err.contains("RLIMIT_MEMLOCK") && err.contains("ulimit -l"),
        "{err}"
    );
    assert!(
        err.contains("CAP_IPC_LOCK"),
        "says root would not be limited: {err}"
    );
    if is_root() {
        let (out, lines, _) = batch(
            temp_dir().path(),
            &["--anon", &size, "--private"],
            "lock\nunlock\n",
        );
        all_ok(&out, &lines);
        assert!(
            lines[0]["result"]["notes"]
                .to_string()
                .contains("CAP_IPC_LOCK"),
            "{}",
            lines[0]
        );
    } else {
        skip(test, "not root: the unlimited root side is not checked");
    }
}

/// THP `enabled` (`always [madvise] never` -> `madvise`), or `None` without THP.
fn thp_enabled() -> Option<String> {
    let t = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let start = t.find('[')? + 1;
    Some(t[start..start + t[start..].find(']')?].to_string())
}

/// A counter of /proc/vmstat.
fn vmstat(name: &str) -> u64 {
    std::fs::read_to_string("/proc/vmstat")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn advise_hugepage_then_touching_gives_anon_huge_pages_or_says_why_not() {
    let test = "advise_hugepage_then_touching_gives_anon_huge_pages_or_says_why_not";
    match thp_enabled().as_deref() {
        None => return skip(test, "this kernel has no transparent huge pages"),
        Some("never") => return skip(test, "transparent huge pages are `never` here"),
        Some(_) => {}
    }
    let fallback = vmstat("thp_fault_fallback");
    let dir = temp_dir();
    let (out, lines, _) = batch(
        dir.path(),
        &["--anon", "4M", "--private"],
        "advise hugepage\n\
         expect vma thp_eligible == 1\n\
         write 0x200000 41\n\
         show vma anon_huge_pages\n\
         show page 512 thp\n\
         advise nohugepage\n\
         expect vma thp_eligible == 0\n",
    );
    all_ok(&out, &lines);
    let huge = line(&lines, "show vma anon_huge_pages")["result"]["value"]
        .as_u64()
        .unwrap();
    if huge == 0 {
        let fell_back = vmstat("thp_fault_fallback") - fallback;
        assert!(
            fell_back > 0,
            "no huge page, and the kernel did not count a THP fallback either: {lines:#?}"
        );
        return skip(
            test,
            &format!(
                "the kernel refused the huge page: /proc/vmstat thp_fault_fallback +{fell_back} \
                 (no free 2 MiB block at that moment)"
            ),
        );
    }
    assert_eq!(huge % (2 << 20), 0, "whole huge pages: {huge}");
    assert_eq!(line(&lines, "show page 512 thp")["result"]["value"], true);
}

#[test]
fn huge_is_refused_without_a_hugetlb_pool_and_pmd_mapped_with_one() {
    let test = "huge_is_refused_without_a_hugetlb_pool_and_pmd_mapped_with_one";
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let free = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("HugePages_Free:"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    let out = run(mmapscope(&["inspect", "--anon", "2M", "--huge"]));
    match free {
        Some(0) => {
            fails_cleanly(
                &out,
                Some("ENOMEM"),
                &["HugePages_Free 0", "vm.nr_hugepages", "advise hugepage"],
            );
        }
        // A pool with room for the mapping (an administrator set vm.nr_hugepages): the pages
        // come from it, PMD-mapped, and the VMA says `ht`.
        Some(n) if n >= 2 => {
            let dir = temp_dir();
            let (out, lines, _) = batch(
                dir.path(),
                &["--anon", "4M", "--private", "--huge"],
                "write 0x0 41\n\
                 write 0x200000 42\n\
                 read 0x200000 1\n\
                 show page 0 thp\n\
                 show page 1023 thp\n\
                 show vma vm_flags\n",
            );
            assert_eq!(out.status.code(), Some(0), "{lines:#?}");
            assert_eq!(line(&lines, "read 0x200000 1")["result"]["hex"], "42");
            assert_eq!(line(&lines, "show page 0 thp")["result"]["value"], true);
            assert_eq!(line(&lines, "show page 1023 thp")["result"]["value"], true);
            let flags = &line(&lines, "show vma vm_flags")["result"]["value"];
            assert!(
                flags
                    .as_array()
                    .is_some_and(|f| f.iter().any(|v| v == "ht")),
                "a hugetlb VMA: {flags}"
            );
            skip(
                test,
                &format!("HugePages_Free is {n}: the refusal of an empty pool was not tried"),
            );
        }
        Some(n) => skip(
            test,
            &format!("HugePages_Free is {n}: neither empty nor enough for 4 MiB"),
        ),
        None => skip(test, "this kernel has no hugetlb pages"),
    }
    let out = run(mmapscope(&["inspect", "--huge", "/dev/zero"]));
    assert_eq!(out.status.code(), Some(2), "--huge needs --anon");
}

#[test]
fn alloc_100_lands_in_the_heap_and_64m_in_a_new_mapping() {
    let dir = temp_dir();
    let (out, lines, _) = batch(
        dir.path(),
        &["--anon", "4k"],
        "alloc 100\n\
         expect result in_heap == true\n\
         alloc 64M\n\
         expect result new_mapping == true\n\
         expect result landed == \"mmap\"\n\
         free\n\
         expect result landed == \"mmap\"\n\
         alloc 20M\n\
         free\n\
         alloc 10M\n\
         expect result in_heap == true\n\
         expect result threshold.at_least > 10M\n",
    );
    all_ok(&out, &lines);
    let small = line(&lines, "alloc 100");
    assert!(
        small["result"]["mapping"]
            .as_str()
            .unwrap()
            .ends_with("[heap]"),
        "{small}"
    );
    let notes = small["result"]["notes"].to_string();
    assert!(notes.contains("mmap threshold"), "{small}");
    assert!(
        notes.contains("inferred") || notes.contains("not observed yet"),
        "never claimed as read: {small}"
    );
}

#[test]
fn populate_faults_every_page_in_at_mmap() {
    let start = Instant::now();
    let report = json_ok(&run(mmapscope(&[
        "inspect",
        "--json",
        "--anon",
        "64k",
        "--private",
        "--populate",
    ])));
    assert_eq!(report["summary"]["present"], 16, "{report}");
    let report = json_ok(&run(mmapscope(&[
        "inspect",
        "--json",
        "--anon",
        "64k",
        "--private",
    ])));
    assert_eq!(report["summary"]["present"], 0, "{report}");
    assert!(start.elapsed() < Duration::from_secs(10));
}
