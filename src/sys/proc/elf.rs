//! The sections of the ELF files a process maps (`.text`, `.rodata`, `.data`, ...), so that a
//! pointer into a library is named `→ libc.so.6 .text+0x2a1c0` rather than by the VMA's
//! permissions. The caller opens each file (through the process's handle: `map_files/`, the
//! very file the process maps, else its path once device and inode match); only the ELF header, the
//! section header table and the section names are read, and only when `cachestat(2)` says
//! every page holding them is in the page cache already: reading them must not bring pages of
//! the library in (RWF_NOWAIT does not prevent that on this kernel: see `map::region`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::sync::Arc;

use crate::sys::proc::maps::MapsLine;
use crate::sys::raw::syscalls::cachestat;

/// One section that occupies bytes of the file (`SHF_ALLOC`, not `SHT_NOBITS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// Where its bytes are in the file, and how many.
    pub offset: u64,
    pub size: u64,
}

/// The sections of every ELF file of a process's maps that could be read, by (device,
/// inode). A file missing here is not ELF, or its headers were not cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionIndex {
    files: HashMap<(u64, u64), Arc<Vec<Section>>>,
}

impl SectionIndex {
    /// The section of the file mapped by `line` that holds the byte at `addr` (inside
    /// `line`), with the offset of `addr` in it.
    pub fn section_at(&self, line: &MapsLine, addr: u64) -> Option<(&str, u64)> {
        let sections = self.files.get(&(line.dev, line.inode))?;
        let file_off = line.offset.checked_add(addr.checked_sub(line.start)?)?;
        sections
            .iter()
            .find(|s| s.offset <= file_off && file_off - s.offset < s.size)
            .map(|s| (s.name.as_str(), file_off - s.offset))
    }

    /// How many files have sections here.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// No file has sections here.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// The section index of a process, kept between refreshes: a file is read once (by device and
/// inode), and an index is rebuilt only when the maps change.
#[derive(Debug, Default)]
pub struct SectionCache {
    /// What each file gave: its sections, or `None` (not ELF). A file whose headers were not
    /// cached, or that could not be opened, is asked again when the maps change.
    read: HashMap<(u64, u64), Option<Arc<Vec<Section>>>>,
    /// The maps the last index was built from, and that index.
    last: Option<(Arc<Vec<MapsLine>>, Arc<SectionIndex>)>,
}

/// At most this many files are read for one index (a process maps a few hundred at most;
/// the rest wait for the next change of the maps).
const FILES_PER_INDEX: usize = 512;

impl SectionCache {
    /// The index for `maps`: the last one when the maps are the same reading, else built
    /// from the files already read and those not read yet, each opened by `open`.
    pub fn index(
        &mut self,
        maps: &Arc<Vec<MapsLine>>,
        open: impl Fn(&MapsLine) -> Option<File>,
    ) -> Arc<SectionIndex> {
        if let Some((m, index)) = &self.last
            && Arc::ptr_eq(m, maps)
        {
            return Arc::clone(index);
        }
        let mut index = SectionIndex::default();
        let mut opened = 0;
        for line in maps
            .iter()
            .filter(|l| l.inode != 0 && l.path.starts_with('/'))
        {
            let key = (line.dev, line.inode);
            if index.files.contains_key(&key) {
                continue;
            }
            if let Entry::Vacant(slot) = self.read.entry(key)
                && opened < FILES_PER_INDEX
            {
                opened += 1;
                match open(line).map(|f| sections(&f)) {
                    Some(Ok(s)) => drop(slot.insert(Some(Arc::new(s)))),
                    Some(Err(Unread::NotElf)) => drop(slot.insert(None)),
                    Some(Err(Unread::NotCached)) | None => {}
                }
            }
            if let Some(Some(s)) = self.read.get(&key) {
                index.files.insert(key, Arc::clone(s));
            }
        }
        let index = Arc::new(index);
        self.last = Some((Arc::clone(maps), Arc::clone(&index)));
        index
    }
}

/// Why a file has no sections here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unread {
    /// Not an ELF64 file, or one whose headers do not hold together.
    NotElf,
    /// A page of its headers is not in the page cache (or cachestat cannot say, or the read
    /// failed): reading it would bring it in.
    NotCached,
}

/// Reads `len` bytes at `off` of `file` only if every page of them is cached.
fn cached_read(file: &File, off: u64, len: u64) -> Result<Vec<u8>, Unread> {
    const PS: u64 = 4096;
    let first = off / PS * PS;
    let end = off.checked_add(len).ok_or(Unread::NotElf)?.div_ceil(PS) * PS;
    let st = cachestat(file, first, end - first).map_err(|_| Unread::NotCached)?;
    if st.nr_cache < (end - first) / PS {
        return Err(Unread::NotCached);
    }
    let mut buf = vec![0; usize::try_from(len).map_err(|_| Unread::NotElf)?];
    // A file shorter than its headers say is not an ELF file.
    file.read_exact_at(&mut buf, off)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Unread::NotElf,
            _ => Unread::NotCached,
        })?;
    Ok(buf)
}

/// The sections of an ELF64 file.
///
/// # Errors
/// It is not one, or its headers are not all cached.
pub fn sections(file: &File) -> Result<Vec<Section>, Unread> {
    let head = cached_read(file, 0, 64)?;
    if head.get(..4) != Some(b"\x7fELF".as_slice()) || head[4] != 2 {
        return Err(Unread::NotElf);
    }
    let big = match head[5] {
        1 => false,
        2 => true,
        _ => return Err(Unread::NotElf),
    };
    parse(file, &head, big).ok_or(Unread::NotElf)?
}

/// The section headers after the ELF header `head`: `None` when they do not hold together.
fn parse(file: &File, head: &[u8], big: bool) -> Option<Result<Vec<Section>, Unread>> {
    let n16 = |b: &[u8], at: usize| field(b, at, 2, big);
    let shoff = field(head, 0x28, 8, big)?;
    let (entsize, count, names_at) = (n16(head, 0x3a)?, n16(head, 0x3c)?, n16(head, 0x3e)?);
    if entsize < 64 || count == 0 || count > 4096 || names_at >= count {
        return None;
    }
    let table = match cached_read(file, shoff, entsize * count) {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    };
    let header = |i: u64| table.get(usize::try_from(i * entsize).ok()?..)?.get(..64);
    let names_hdr = header(names_at)?;
    let (names_off, names_len) = (field(names_hdr, 24, 8, big)?, field(names_hdr, 32, 8, big)?);
    let names = match cached_read(file, names_off, names_len.min(1 << 20)) {
        Ok(n) => n,
        Err(e) => return Some(Err(e)),
    };
    let mut out = Vec::new();
    for i in 0..count {
        let h = header(i)?;
        let (name, kind, flags) = (
            field(h, 0, 4, big)?,
            field(h, 4, 4, big)?,
            field(h, 8, 8, big)?,
        );
        const SHT_NOBITS: u64 = 8;
        const SHF_ALLOC: u64 = 2;
        if kind == SHT_NOBITS || flags & SHF_ALLOC == 0 {
            continue;
        }
        let name = names.get(usize::try_from(name).ok()?..).unwrap_or_default();
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        out.push(Section {
            name: crate::text::sanitize(&String::from_utf8_lossy(name)),
            offset: field(h, 24, 8, big)?,
            size: field(h, 32, 8, big)?,
        });
    }
    Some(Ok(out))
}

/// The unsigned number of `len` bytes at `at` of `b`, in the file's byte order.
fn field(b: &[u8], at: usize, len: usize, big: bool) -> Option<u64> {
    let s = b.get(at..at.checked_add(len)?)?;
    let fold = |v: u64, &x: &u8| (v << 8) | u64::from(x);
    Some(if big {
        s.iter().fold(0, fold)
    } else {
        s.iter().rev().fold(0, fold)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our own executable is ELF and was just read in to run us: its `.text` is found, and
    /// an address in our r-xp VMA is named by the section that holds it.
    #[test]
    fn our_own_code_is_in_text() {
        let exe = File::open("/proc/self/exe").expect("our executable");
        let secs = sections(&exe).expect("our executable's section headers are cached");
        assert!(
            secs.iter().any(|s| s.name == ".text" && s.size > 0),
            "{secs:?}"
        );
        let maps = Arc::new(
            crate::sys::proc::maps::read_maps_of(crate::sys::proc::maps::Pid::Myself)
                .expect("maps"),
        );
        let here = our_own_code_is_in_text as *const () as u64;
        let line = maps
            .iter()
            .find(|l| l.start <= here && here < l.end)
            .expect("our code is mapped");
        let mut cache = SectionCache::default();
        let open = |l: &MapsLine| File::open(&l.path).ok();
        let index = cache.index(&maps, open);
        assert!(!index.is_empty());
        let (name, off) = index.section_at(line, here).expect("a section");
        assert_eq!(name, ".text");
        assert!(secs.iter().any(|s| s.name == ".text" && off < s.size));
        assert!(
            Arc::ptr_eq(&index, &cache.index(&maps, open)),
            "same maps, same index"
        );
    }

    #[test]
    fn a_file_that_is_not_elf_has_no_sections() {
        let dir = std::env::temp_dir().join(format!("mmapscope-elf-{}", std::process::id()));
        std::fs::write(&dir, b"#!/bin/sh\necho not elf\n").expect("write");
        let f = File::open(&dir).expect("open");
        assert_eq!(sections(&f), Err(Unread::NotElf));
        std::fs::remove_file(&dir).expect("remove");
    }

    #[test]
    fn fields_read_in_either_byte_order() {
        let b = [0x01, 0x02, 0x03, 0x04];
        assert_eq!(field(&b, 0, 2, false), Some(0x0201));
        assert_eq!(field(&b, 0, 2, true), Some(0x0102));
        assert_eq!(field(&b, 2, 4, true), None, "past the end");
    }
}
