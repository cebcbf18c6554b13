//! The frames as the file holds them: a delta (what changed since the frame before, or since
//! nothing for a keyframe) in JSON, compressed with zstd. These mirror types are the schema
//! (docs/recording.md), kept apart from the program's own types so that a change of those does
//! not change the file; the conversions are lossless.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Event, Frame, RecordedFile, RecordedMapping};
use crate::geometry::PageGeom;
use crate::sys::probe::state::{FolioState, PageState, Place, Sources, StateRun, Writes};
use crate::sys::proc::maps::{HugeCounters, MapsLine, MemoryCounters, Vma, VmaHead};
use crate::text::{LoneDigit, hex_bytes, json::hex_string};

/// What changed between two frames: entries gone (by address) and entries new or changed
/// (whole), for each keyed list of the frame; and the events of the later frame. A keyframe is
/// the delta from the empty frame.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Delta {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    maps_gone: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    maps: Vec<WireMaps>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    smaps_gone: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    smaps: Vec<WireSmaps>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mappings_gone: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mappings: Vec<WireMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bytes_gone: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bytes: Vec<WireBytes>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WireMaps {
    start: u64,
    end: u64,
    perms: String,
    offset: u64,
    dev: u64,
    inode: u64,
    path: String,
}

/// smaps counters in `SmapsField::ALL` order (Size first), with the VMA's head and VmFlags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WireSmaps {
    start: u64,
    end: u64,
    perms: String,
    path: String,
    counters: [u64; 15],
    vm_flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WireMapping {
    addr: u64,
    len: u64,
    offset: u64,
    mode: String,
    prot: String,
    file: Option<WireFile>,
    sources: [String; 6],
    runs: Vec<WireRun>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WireFile {
    path: String,
    size: Option<u64>,
    writable: bool,
}

/// A run: pages `first..first+count` and their state, fields as in `inspect`'s runs (kflags as
/// the raw word).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WireRun {
    first: u64,
    count: u64,
    valid_bytes: u64,
    padding_bytes: u64,
    beyond_eof: bool,
    /// resident, present, swapped, file_backed, exclusive, shared_with_child, cow.
    place: [Option<bool>; 7],
    /// dirty, writeback, soft_dirty.
    writes: [Option<bool>; 3],
    edited: bool,
    /// folio_pages, mapcount.
    folio: [Option<u64>; 2],
    thp: Option<bool>,
    kflags: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WireBytes {
    addr: u64,
    /// Hex, two digits a byte.
    hex: String,
}

impl Delta {
    /// What turns `old` into `new` (`old` empty: a keyframe).
    pub(super) fn between(old: &Frame, new: &Frame) -> Self {
        let (maps_gone, maps) = keyed(&old.maps, &new.maps, |l| l.start, wire_maps);
        let (smaps_gone, smaps) = keyed(&old.smaps, &new.smaps, |v| v.head.start, wire_smaps);
        let (mappings_gone, mappings) =
            keyed(&old.mappings, &new.mappings, |m| m.addr, wire_mapping);
        let old_bytes: Vec<(u64, &Vec<u8>)> = old.bytes.iter().map(|(a, b)| (*a, b)).collect();
        let new_bytes: Vec<(u64, &Vec<u8>)> = new.bytes.iter().map(|(a, b)| (*a, b)).collect();
        let (bytes_gone, bytes) = keyed(
            &old_bytes,
            &new_bytes,
            |p| p.0,
            |p| WireBytes {
                addr: p.0,
                hex: hex_string(p.1),
            },
        );
        Self {
            maps_gone,
            maps,
            smaps_gone,
            smaps,
            mappings_gone,
            mappings,
            bytes_gone,
            bytes,
            events: new.events.clone(),
        }
    }

    /// Whether the state changed (anything but events).
    pub(super) fn changes_state(&self) -> bool {
        !(self.maps_gone.is_empty()
            && self.maps.is_empty()
            && self.smaps_gone.is_empty()
            && self.smaps.is_empty()
            && self.mappings_gone.is_empty()
            && self.mappings.is_empty()
            && self.bytes_gone.is_empty()
            && self.bytes.is_empty())
    }

    /// Applies the delta to `frame` (the frame before, or the empty frame for a keyframe);
    /// events are replaced, not added up.
    ///
    /// # Errors
    /// A sentence when the bytes of a page are not hex.
    pub(super) fn apply(self, frame: &mut Frame) -> Result<(), String> {
        apply_keyed(
            &mut frame.maps,
            self.maps_gone,
            self.maps,
            |l| l.start,
            maps_line,
        );
        apply_keyed(
            &mut frame.smaps,
            self.smaps_gone,
            self.smaps,
            |v| v.head.start,
            vma,
        );
        apply_keyed(
            &mut frame.mappings,
            self.mappings_gone,
            self.mappings,
            |m| m.addr,
            mapping,
        );
        for addr in self.bytes_gone {
            frame.bytes.remove(&addr);
        }
        for page in self.bytes {
            let data = hex_bytes(&page.hex, LoneDigit::Refused)
                .map_err(|why| format!("the bytes of page 0x{:x}: {why}", page.addr))?;
            frame.bytes.insert(page.addr, data);
        }
        frame.events = self.events;
        Ok(())
    }

    /// The delta as compressed JSON (a zstd frame with its checksum), and the JSON's length.
    pub(super) fn encode(&self) -> std::io::Result<(Vec<u8>, usize)> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let mut enc = zstd::bulk::Compressor::new(3)?;
        enc.include_checksum(true)?;
        Ok((enc.compress(&json)?, json.len()))
    }

    /// Decodes a payload written by `encode`; `bound` caps its decompressed size.
    ///
    /// # Errors
    /// A sentence saying what does not hold (checksum, JSON).
    pub(super) fn decode(payload: &[u8], bound: usize) -> Result<Self, String> {
        let json = zstd::bulk::decompress(payload, bound)
            .map_err(|e| format!("its compressed data does not decode ({e})"))?;
        serde_json::from_slice(&json).map_err(|e| format!("its frame does not parse ({e})"))
    }
}

/// The entries of `old` gone from `new` (their keys), and those of `new` new or changed (as
/// wire entries). Both lists are in key order.
fn keyed<T: PartialEq, W>(
    old: &[T],
    new: &[T],
    key: impl Fn(&T) -> u64,
    wire: impl Fn(&T) -> W,
) -> (Vec<u64>, Vec<W>) {
    let before: BTreeMap<u64, &T> = old.iter().map(|t| (key(t), t)).collect();
    let after: BTreeMap<u64, &T> = new.iter().map(|t| (key(t), t)).collect();
    let gone = before
        .keys()
        .filter(|k| !after.contains_key(k))
        .copied()
        .collect();
    let set = after
        .iter()
        .filter(|(k, t)| before.get(k) != Some(t))
        .map(|(_, t)| wire(t))
        .collect();
    (gone, set)
}

/// Removes the entries keyed `gone`, puts in `set` (replacing an entry of the same key), and
/// keeps `list` in key order (it is in key order already): a binary search each, so a delta of
/// k entries costs k searches, not a rebuild of the list.
fn apply_keyed<T, W>(
    list: &mut Vec<T>,
    gone: Vec<u64>,
    set: Vec<W>,
    key: impl Fn(&T) -> u64,
    from_wire: impl Fn(W) -> T,
) {
    for k in gone {
        if let Ok(i) = list.binary_search_by_key(&k, &key) {
            list.remove(i);
        }
    }
    for w in set {
        let t = from_wire(w);
        match list.binary_search_by_key(&key(&t), &key) {
            Ok(i) => list[i] = t,
            Err(i) => list.insert(i, t),
        }
    }
}

fn wire_maps(l: &MapsLine) -> WireMaps {
    WireMaps {
        start: l.start,
        end: l.end,
        perms: l.perms.clone(),
        offset: l.offset,
        dev: l.dev,
        inode: l.inode,
        path: l.path.clone(),
    }
}

fn maps_line(w: WireMaps) -> MapsLine {
    MapsLine {
        start: w.start,
        end: w.end,
        perms: w.perms,
        offset: w.offset,
        dev: w.dev,
        inode: w.inode,
        path: w.path,
    }
}

fn wire_smaps(v: &Vma) -> WireSmaps {
    let (m, h) = (&v.memory, &v.huge);
    WireSmaps {
        start: v.head.start,
        end: v.head.end,
        perms: v.head.perms.clone(),
        path: v.head.path.clone(),
        counters: [
            m.size,
            m.rss,
            m.pss,
            m.shared_clean,
            m.shared_dirty,
            m.private_clean,
            m.private_dirty,
            m.anonymous,
            m.referenced,
            m.swap,
            m.locked,
            h.anon_huge_pages,
            h.shmem_pmd_mapped,
            h.file_pmd_mapped,
            h.thp_eligible,
        ],
        vm_flags: v.vm_flags.clone(),
    }
}

fn vma(w: WireSmaps) -> Vma {
    let [
        size,
        rss,
        pss,
        shared_clean,
        shared_dirty,
        private_clean,
        private_dirty,
        anonymous,
        referenced,
        swap,
        locked,
        anon_huge_pages,
        shmem_pmd_mapped,
        file_pmd_mapped,
        thp_eligible,
    ] = w.counters;
    Vma {
        head: VmaHead {
            start: w.start,
            end: w.end,
            perms: w.perms,
            path: w.path,
        },
        memory: MemoryCounters {
            size,
            rss,
            pss,
            shared_clean,
            shared_dirty,
            private_clean,
            private_dirty,
            anonymous,
            referenced,
            swap,
            locked,
        },
        huge: HugeCounters {
            anon_huge_pages,
            shmem_pmd_mapped,
            file_pmd_mapped,
            thp_eligible,
        },
        vm_flags: w.vm_flags,
    }
}

fn wire_mapping(m: &RecordedMapping) -> WireMapping {
    let s = &m.sources;
    WireMapping {
        addr: m.addr,
        len: m.len,
        offset: m.offset,
        mode: m.mode.clone(),
        prot: m.prot.clone(),
        file: m.file.as_ref().map(|f| WireFile {
            path: f.path.clone(),
            size: f.size,
            writable: f.writable,
        }),
        sources: [
            s.mincore.clone(),
            s.pagemap.clone(),
            s.pfn.clone(),
            s.kpageflags.clone(),
            s.cachestat.clone(),
            s.soft_dirty.clone(),
        ],
        runs: m.runs.iter().map(wire_run).collect(),
    }
}

fn mapping(w: WireMapping) -> RecordedMapping {
    let [mincore, pagemap, pfn, kpageflags, cachestat, soft_dirty] = w.sources;
    RecordedMapping {
        addr: w.addr,
        len: w.len,
        offset: w.offset,
        mode: w.mode,
        prot: w.prot,
        file: w.file.map(|f| RecordedFile {
            path: f.path,
            size: f.size,
            writable: f.writable,
        }),
        sources: Sources {
            mincore,
            pagemap,
            pfn,
            kpageflags,
            cachestat,
            soft_dirty,
        },
        runs: w.runs.into_iter().map(run).collect(),
    }
}

fn wire_run(r: &StateRun) -> WireRun {
    let (g, p, w, f) = (r.state.geom, r.state.place, r.state.writes, r.state.folio);
    WireRun {
        first: r.first,
        count: r.count,
        valid_bytes: g.valid_bytes,
        padding_bytes: g.padding_bytes,
        beyond_eof: g.beyond_eof,
        place: [
            p.resident,
            p.present,
            p.swapped,
            p.file_backed,
            p.exclusive,
            p.shared_with_child,
            p.cow,
        ],
        writes: [w.dirty, w.writeback, w.soft_dirty],
        edited: w.edited,
        folio: [f.folio_pages, f.mapcount],
        thp: f.thp,
        kflags: f.kflags,
    }
}

fn run(w: WireRun) -> StateRun {
    let [
        resident,
        present,
        swapped,
        file_backed,
        exclusive,
        shared_with_child,
        cow,
    ] = w.place;
    let [dirty, writeback, soft_dirty] = w.writes;
    let [folio_pages, mapcount] = w.folio;
    StateRun {
        first: w.first,
        count: w.count,
        state: PageState {
            geom: PageGeom {
                valid_bytes: w.valid_bytes,
                padding_bytes: w.padding_bytes,
                beyond_eof: w.beyond_eof,
            },
            place: Place {
                resident,
                present,
                swapped,
                file_backed,
                exclusive,
                shared_with_child,
                cow,
            },
            writes: Writes {
                dirty,
                writeback,
                soft_dirty,
                edited: w.edited,
            },
            folio: FolioState {
                folio_pages,
                mapcount,
                thp: w.thp,
                kflags: w.kflags,
            },
        },
    }
}
