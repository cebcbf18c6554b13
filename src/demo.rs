//! The demo file: created in a fresh temporary directory from
//! `assets/demo.txt`, 3 pages + 100 bytes long (so the last page shows padding), readable text,
//! each page opening with a line that names it.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::PathBuf;

use crate::sys::SysError;

const TEXT: &str = include_str!("../assets/demo.txt");

/// The demo file's bytes for a page size of `page_size`.
pub fn contents(page_size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 * page_size + 100);
    for page in 0..3 {
        let start = out.len();
        let head = format!("=== demo page {page} - file offset 0x{start:x} ===\n");
        out.extend_from_slice(head.as_bytes());
        let body = TEXT.as_bytes();
        let room = page_size - head.len() - 1;
        out.extend(body.iter().cycle().take(room));
        out.push(b'\n');
    }
    let mut tail =
        b"=== page 3: the file ends 100 bytes into this page; the rest is zero padding ==="
            .to_vec();
    tail.resize(99, b'=');
    tail.push(b'\n');
    out.extend_from_slice(&tail);
    out
}

/// Creates the demo file in a new private directory under the system temporary directory,
/// removed when the returned guard is dropped.
///
/// # Errors
/// The directory or the file could not be created.
pub fn create() -> Result<(TempDir, PathBuf), SysError> {
    let dir = TempDir::new()?;
    let path = dir.path().join("demo.txt");
    write_to(&path)?;
    Ok((dir, path))
}

/// A fresh private directory of ours (`fresh_dir`), removed with everything in it when
/// dropped; every other way out removes it too (`sys::contain::exit` tracks it).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes the directory.
    ///
    /// # Errors
    /// It could not be created.
    pub fn new() -> Result<Self, SysError> {
        let dir = fresh_dir()?;
        crate::sys::contain::exit::track_dir(dir.clone());
        Ok(Self(dir))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
        crate::sys::contain::exit::untrack_dir(&self.0);
    }
}

/// Writes (or rewrites) the demo contents to `path`, a page at a time so that the page cache
/// holds it in single-page folios (dirty state then follows single pages), and syncs it so it
/// starts clean.
///
/// # Errors
/// The file could not be written.
pub fn write_to(path: &std::path::Path) -> Result<(), SysError> {
    let shown = crate::text::sanitize(&path.to_string_lossy());
    let ps = crate::sys::map::request::page_size() as usize;
    let mut f =
        fs::File::create(path).map_err(|e| SysError::from_io(&e, format!("create {shown}")))?;
    for chunk in contents(ps).chunks(ps) {
        f.write_all(chunk)
            .map_err(|e| SysError::from_io(&e, format!("write {shown}")))?;
    }
    f.sync_all()
        .map_err(|e| SysError::from_io(&e, format!("fsync {shown}")))
}

/// A fresh private directory under the system temporary directory.
///
/// # Errors
/// It could not be created.
pub fn fresh_dir() -> Result<std::path::PathBuf, SysError> {
    let base = std::env::temp_dir();
    sweep_stale(&base);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = base.join(format!("mmapscope-demo-{}-{nanos:x}", std::process::id()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| SysError::from_io(&e, format!("mkdir {}", dir.display())))?;
    Ok(dir)
}

/// Removes the demo directories of earlier runs that could not remove their own: a run
/// killed with SIGKILL (or by a power cut) runs no handler. Only what is surely ours and
/// surely dead goes: a directory named as `fresh_dir` names them, owned by our user, whose
/// process no longer exists (a pid that was reused by another process keeps it), holding only
/// regular files.
fn sweep_stale(base: &std::path::Path) {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    let me = std::process::id();
    let uid = rustix::process::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("mmapscope-demo-"))
            .and_then(|rest| rest.split_once('-'))
            .filter(|(_, tag)| !tag.is_empty() && tag.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let ours = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == uid);
        let dead = pid != me && !std::path::Path::new("/proc").join(pid.to_string()).exists();
        let only_files = fs::read_dir(&path).is_ok_and(|files| {
            files
                .flatten()
                .all(|f| f.file_type().is_ok_and(|t| t.is_file()))
        });
        if ours && dead && only_files {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_pages_and_100_bytes_of_text() {
        for ps in [4096usize, 16384] {
            let c = contents(ps);
            assert_eq!(c.len(), 3 * ps + 100);
            assert!(
                c.iter()
                    .all(|&b| b == b'\n' || (0x20..0x7f).contains(&b) || b >= 0x80)
            );
            for page in 0..3 {
                assert!(c[page * ps..].starts_with(format!("=== demo page {page}").as_bytes()));
            }
            assert!(c[3 * ps..].starts_with(b"=== page 3"));
        }
    }
}
