//! Per-page kernel state on the real kernel, real files on the real filesystem (not tmpfs unless
//! the test is about tmpfs): dirty per folio from cachestat and kpageflags, msync cleaning,
//! copy-on-write, residency after fadvise against util-linux fincore, and what a non-root user
//! sees.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use mmapscope::sys::probe::{PageState, Prober};
use mmapscope::sys::procmaps;
use mmapscope::sys::region::{MapMode, MapRequest, Region, Source};
use rustix::mm::MsyncFlags;
use serde_json::Value;

mod common;
use common::*;

fn ps() -> u64 {
    page_size()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// A file of `pages` pages written one page per write(2) and synced: 4 KiB folios, clean.
fn file_in_page_writes(dir: &Path, name: &str, pages: u64) -> PathBuf {
    let path = dir.join(name);
    let mut f = File::create(&path).unwrap();
    for i in 0..pages {
        f.write_all(&vec![b'a' + (i % 26) as u8; ps() as usize])
            .unwrap();
    }
    f.sync_all().unwrap();
    path
}

fn map(path: &Path, mode: MapMode) -> Region {
    Region::open(&MapRequest {
        source: Source::File(path.to_path_buf()),
        mode,
        offset: 0,
        len: None,
        prot: None,
        write: true,
    })
    .unwrap()
}

fn states(prober: &Prober, region: &Region) -> Vec<PageState> {
    let probes = prober.probe(region, 0, region.pages());
    prober.decode(region, &region.geometry().unwrap(), 0, &probes)
}

fn dirty(states: &[PageState]) -> Vec<Option<bool>> {
    states.iter().map(|s| s.dirty).collect()
}

#[test]
fn a_shared_write_dirties_its_folio_and_msync_cleans_it() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 8);
    let region = map(&path, MapMode::Shared);
    let prober = Prober::new();
    let mut all = vec![0u8; 8 * ps() as usize];
    region.read(0, &mut all).unwrap();
    assert_eq!(dirty(&states(&prober, &region)), vec![Some(false); 8]);

    region.write(3 * ps() + 7, b"!").unwrap();
    let after = states(&prober, &region);
    let mut want = vec![Some(false); 8];
    want[3] = Some(true);
    // The file was written a page at a time and synced: every folio here is one page.
    assert_eq!(dirty(&after), want, "only page 3 (its folio) is dirty");
    if prober.kpageflags_readable() {
        assert_eq!(after[3].folio_pages, Some(1));
        let names = mmapscope::sys::probe::kflag_names(after[3].kflags.unwrap());
        assert!(
            names.contains(&"DIRTY".to_string()),
            "kpageflags agrees: {names:?}"
        );
        let clean_names = mmapscope::sys::probe::kflag_names(after[2].kflags.unwrap());
        assert!(
            !clean_names.contains(&"DIRTY".to_string()),
            "{clean_names:?}"
        );
    } else {
        eprintln!("SKIPPED kpageflags cross-check: not root");
    }

    region.msync(0, region.pages(), MsyncFlags::SYNC).unwrap();
    assert_eq!(
        dirty(&states(&prober, &region)),
        vec![Some(false); 8],
        "msync cleaned it"
    );
    let mut b = [0u8; 1];
    File::open(&path)
        .unwrap()
        .read_exact_at(&mut b, 3 * ps() + 7)
        .unwrap();
    assert_eq!(b[0], b'!');
}

#[test]
fn a_file_written_in_one_go_is_one_large_folio_dirtied_whole() {
    let dir = temp_dir();
    let path = dir.path().join("one-write");
    let mut f = File::create(&path).unwrap();
    f.write_all(&vec![b'x'; 16 * ps() as usize]).unwrap();
    f.sync_all().unwrap();
    let region = map(&path, MapMode::Shared);
    let prober = Prober::new();
    let mut all = vec![0u8; 16 * ps() as usize];
    region.read(0, &mut all).unwrap();
    let folio = states(&prober, &region)[0].folio_pages;
    region.write(0, b"y").unwrap();
    let after = states(&prober, &region);
    // The folio size is the kernel's choice; what must hold is that dirty covers exactly it.
    let dirty_pages = after.iter().filter(|s| s.dirty == Some(true)).count() as u64;
    match folio {
        Some(n) => {
            assert_eq!(dirty_pages, n, "dirty is per folio ({n} pages)");
            eprintln!("one 16-page write(2) gave a folio of {n} pages");
        }
        None => {
            eprintln!("SKIPPED folio size check: kpageflags needs root");
            assert!(dirty_pages >= 1);
        }
    }
    assert!(
        after[..dirty_pages as usize]
            .iter()
            .all(|s| s.dirty == Some(true))
    );
}

#[test]
fn a_private_write_is_a_copy_of_that_page_only() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 4);
    let region = map(&path, MapMode::Private);
    let prober = Prober::new();
    let mut all = vec![0u8; 4 * ps() as usize];
    region.read(0, &mut all).unwrap();
    let vma = |r: &Region| {
        procmaps::total(&procmaps::read_vmas(r.addr(), r.addr() + r.map_bytes()).unwrap()).unwrap()
    };
    let before = vma(&region);
    region.write(2 * ps(), b"#").unwrap();
    let cow: Vec<_> = states(&prober, &region).iter().map(|s| s.cow).collect();
    assert_eq!(cow, vec![Some(false), Some(false), Some(true), Some(false)]);
    let after = vma(&region);
    assert_eq!(
        after.anonymous - before.anonymous,
        ps(),
        "smaps Anonymous grew by one page"
    );
    let mut b = [0u8; 1];
    File::open(&path)
        .unwrap()
        .read_exact_at(&mut b, 2 * ps())
        .unwrap();
    assert_eq!(b[0], b'c', "the file is unchanged");
    // The file's page-cache page at that offset is still clean: the write went to the copy.
    assert_eq!(states(&prober, &region)[2].dirty, Some(false));
}

fn inspect(path: &Path, extra: &[&str]) -> Value {
    let mut args: Vec<&std::ffi::OsStr> = vec!["inspect".as_ref(), "--json".as_ref()];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    args.push(path.as_os_str());
    json_ok(&run(mmapscope(&args)))
}

fn resident_pages(report: &Value) -> u64 {
    report["summary"]["resident"].as_u64().unwrap()
}

/// Pages in the page cache according to util-linux fincore, or `None` when it is missing.
fn fincore_pages(path: &Path) -> Option<u64> {
    let out = std::process::Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "PAGES"])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn fadvise_dontneed_drops_a_clean_unmapped_file_and_a_read_brings_it_back() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "cold", 32);
    let f = File::open(&path).unwrap();
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    let report = inspect(&path, &[]);
    assert_eq!(resident_pages(&report), 0, "{report:#}");
    assert_eq!(report["summary"]["present"].as_u64(), Some(0));
    if let Some(n) = fincore_pages(&path) {
        assert_eq!(n, 0, "fincore agrees");
    } else {
        eprintln!("SKIPPED fincore comparison: fincore (util-linux) is not installed");
    }

    // Read 4 pages with read(2), under POSIX_FADV_RANDOM so no readahead adds more.
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::Random).unwrap();
    let mut buf = vec![0u8; 4 * ps() as usize];
    (&f).read_exact(&mut buf).unwrap();
    let report = inspect(&path, &[]);
    let resident = resident_pages(&report);
    assert!(
        resident >= 4,
        "the pages read are resident again: {resident}"
    );
    let per_page: Vec<bool> = report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            std::iter::repeat_n(
                r["resident"].as_bool().unwrap(),
                r["count"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert!(per_page[..4].iter().all(|&r| r), "{per_page:?}");
    match fincore_pages(&path) {
        Some(n) => assert_eq!(n, resident, "inspect and fincore count the same pages"),
        None => eprintln!("SKIPPED fincore comparison: fincore (util-linux) is not installed"),
    }
    // Neither inspect (which faults nothing in) nor inspect --fault-in (which faults in only
    // what is resident, under MADV_RANDOM) makes anything new resident.
    assert_eq!(resident_pages(&inspect(&path, &[])), resident);
    assert_eq!(resident_pages(&inspect(&path, &["--fault-in"])), resident);
}

#[test]
fn inspect_fills_every_page_field_and_counts_dirty_pages() {
    let dir = temp_dir();
    let path = file_in_page_writes(dir.path(), "f", 4);
    // Dirty two pages through write(2) so the report must see them without our help.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(b"D", 0).unwrap();
    f.write_all_at(b"D", 2 * ps()).unwrap();
    // --fault-in: folio sizes and kpageflags need the pages in our page tables.
    let report = inspect(&path, &["--fault-in"]);
    assert_eq!(report["summary"]["dirty"].as_u64(), Some(2), "{report:#}");
    assert_eq!(report["sources"]["cachestat"], "ok");
    let root = is_root();
    for run in report["pages"].as_array().unwrap() {
        for field in [
            "resident",
            "present",
            "dirty",
            "writeback",
            "cow",
            "file_backed",
        ] {
            assert!(run[field].is_boolean(), "{field} in {run}");
        }
        if root {
            assert!(run["folio_pages"].is_u64(), "{run}");
            assert!(run["kflags"].is_array(), "{run}");
        }
    }
    if root {
        assert_eq!(report["sources"]["kpageflags"], "ok");
        assert_eq!(report["sources"]["pfn"], "ok");
    }
    // soft-dirty is detected for real; here the kernel lacks it, elsewhere it may work.
    let sd = report["sources"]["soft_dirty"].as_str().unwrap();
    assert!(sd == "ok" || sd.contains("unsupported"), "{sd}");
    if sd != "ok" {
        assert!(report["pages"][0]["soft_dirty"].is_null());
    }
    f.sync_all().unwrap();
    assert_eq!(inspect(&path, &[])["summary"]["dirty"].as_u64(), Some(0));
}

#[test]
fn without_root_pfn_and_kpageflags_are_null_and_dirty_still_comes_from_cachestat() {
    let dir = match temp_for_nobody() {
        Ok(d) => d,
        Err(why) => return skip("without_root", &why),
    };
    let path = file_in_page_writes(dir.path(), "f", 4);
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(b"D", ps()).unwrap();
    let args = ["inspect".as_ref(), "--json".as_ref(), path.as_os_str()];
    let cmd = match as_unprivileged(&args) {
        Ok(c) => c,
        Err(why) => return skip("without_root", &why),
    };
    let report = json_ok(&run(cmd));
    let sources = &report["sources"];
    assert!(
        sources["pfn"].as_str().unwrap().contains("needs"),
        "{sources}"
    );
    assert!(
        sources["kpageflags"].as_str().unwrap().contains("root"),
        "{sources}"
    );
    assert_eq!(sources["cachestat"], "ok");
    for run in report["pages"].as_array().unwrap() {
        assert!(
            run["kflags"].is_null() && run["folio_pages"].is_null(),
            "{run}"
        );
    }
    assert_eq!(report["summary"]["dirty"].as_u64(), Some(1), "{report:#}");
}

#[test]
fn tmpfs_pages_are_always_dirty_and_say_so() {
    let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
        return skip("tmpfs", "/dev/shm is not available");
    };
    let path = dir.path().join("shm");
    std::fs::write(&path, vec![1u8; 2 * ps() as usize]).unwrap();
    let region = map(&path, MapMode::Shared);
    if !region.always_dirty() {
        return skip("tmpfs", "/dev/shm is not tmpfs here");
    }
    region.msync(0, 2, MsyncFlags::SYNC).unwrap();
    let prober = Prober::new();
    assert_eq!(
        dirty(&states(&prober, &region)),
        vec![Some(true); 2],
        "msync does not clean tmpfs"
    );
    assert!(prober.sources(&region).cachestat.contains("tmpfs"));
}
