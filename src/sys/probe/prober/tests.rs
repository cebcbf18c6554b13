//! The prober's tests, on real mappings of temp files and anonymous memory.

use super::*;
use std::ops::ControlFlow;

use crate::geometry::PageGeom;
use crate::sys::map::region::CacheStat;
use crate::sys::probe::scan::*;

fn geom() -> PageGeom {
    PageGeom {
        valid_bytes: 4096,
        padding_bytes: 0,
        beyond_eof: false,
    }
}

fn ctx(mode: MapMode, file_mapping: bool) -> DecodeCtx {
    DecodeCtx {
        mode,
        file_mapping,
        soft_dirty: false,
        always_dirty: false,
    }
}

fn probe(resident: bool, pagemap: u64) -> PageProbe {
    PageProbe {
        resident: Some(resident),
        pagemap: Some(pagemap),
        ..PageProbe::default()
    }
}

#[test]
fn pagemap_bits_decode() {
    let p = probe(true, PM_PRESENT | PM_FILE | PM_EXCLUSIVE | 0x1234);
    assert_eq!(p.present(), Some(true));
    assert_eq!(p.file_backed(), Some(true));
    assert_eq!(p.exclusive(), Some(true));
    assert_eq!(p.swapped(), Some(false));
    assert_eq!(p.pfn(), Some(0x1234));
    assert_eq!(probe(true, PM_PRESENT).pfn(), None);
}

#[test]
fn cow_is_private_present_and_not_file() {
    let copy = probe(true, PM_PRESENT);
    let file = probe(true, PM_PRESENT | PM_FILE);
    let private = ctx(MapMode::Private, true);
    assert_eq!(
        PageState::decode(geom(), copy, private).place.cow,
        Some(true)
    );
    assert_eq!(
        PageState::decode(geom(), file, private).place.cow,
        Some(false)
    );
    assert_eq!(
        PageState::decode(geom(), copy, ctx(MapMode::Shared, true))
            .place
            .cow,
        Some(false)
    );
    // Anonymous memory is never a copy of a file page.
    assert_eq!(
        PageState::decode(geom(), copy, ctx(MapMode::Private, false))
            .place
            .cow,
        Some(false)
    );
}

#[test]
fn dirty_comes_from_kpageflags_then_cachestat_and_never_for_anon() {
    let mut p = probe(true, PM_PRESENT | PM_FILE | 7);
    p.cache = Some(CacheStat {
        nr_cache: 1,
        ..CacheStat::default()
    });
    let shared = ctx(MapMode::Shared, true);
    assert_eq!(
        PageState::decode(geom(), p, shared).writes.dirty,
        Some(false)
    );
    p.kflags = Some(KPF_DIRTY);
    assert_eq!(
        PageState::decode(geom(), p, shared).writes.dirty,
        Some(true),
        "the folio's own flag wins"
    );
    // tmpfs without kpageflags: cached means dirty, whatever the dirty tag says.
    p.kflags = None;
    let tmpfs = DecodeCtx {
        always_dirty: true,
        ..shared
    };
    assert_eq!(PageState::decode(geom(), p, tmpfs).writes.dirty, Some(true));
    assert_eq!(
        PageState::decode(geom(), p, ctx(MapMode::Shared, false))
            .writes
            .dirty,
        None
    );
    // A private copy's kpageflags describe the anonymous copy, not the file's page.
    let mut copy = probe(true, PM_PRESENT | 9);
    copy.kflags = Some(KPF_DIRTY);
    assert_eq!(
        PageState::decode(geom(), copy, ctx(MapMode::Private, true))
            .writes
            .dirty,
        None
    );
}

#[test]
fn soft_dirty_only_when_supported() {
    let p = probe(true, PM_PRESENT | PM_SOFT_DIRTY);
    assert_eq!(
        PageState::decode(geom(), p, ctx(MapMode::Shared, true))
            .writes
            .soft_dirty,
        None
    );
    let supported = DecodeCtx {
        soft_dirty: true,
        ..ctx(MapMode::Shared, true)
    };
    assert_eq!(
        PageState::decode(geom(), p, supported).writes.soft_dirty,
        Some(true)
    );
}

#[test]
fn folios_inside_a_window_are_measured_without_lookups() {
    let (h, t) = (KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL);
    // A 4-page folio, a plain page, a 2-page folio, then the window ends inside a folio
    // (its tails reach the end) after a window that began with tails of an earlier one.
    let words = [t, t, h, t, t, t, 0, h, t, 0, h, t];
    let sizes = folio_sizes_in(&words);
    assert_eq!(
        sizes,
        [
            None,
            None,
            Some(4),
            Some(4),
            Some(4),
            Some(4),
            Some(1),
            Some(2),
            Some(2),
            Some(1),
            None,
            None
        ]
    );
    assert_eq!(folio_sizes_in(&[]), Vec::<Option<u64>>::new());
}

#[test]
fn run_flags_leave_out_head_and_tail() {
    let (h, t) = (KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL);
    let lru = 1 << 5;
    assert_eq!(run_kflags(h | lru), run_kflags(t | lru));
    assert_eq!(run_kflags(h | lru), lru);
    assert!(!kflag_names(run_kflags(h | t | KPF_DIRTY)).contains(&"COMPOUND_HEAD".to_string()));
}

#[test]
fn overlapping_ranges_are_found_by_bisection() {
    let r = |first, end| PteRange {
        first,
        end,
        not_cache: false,
    };
    let ranges = vec![r(0, 2), r(5, 9), r(20, 21)];
    let got: Vec<_> = overlapping(&ranges, 1, 6)
        .map(|p| (p.first, p.end))
        .collect();
    assert_eq!(got, vec![(0, 2), (5, 9)]);
    assert_eq!(overlapping(&ranges, 9, 20).count(), 0);
    assert_eq!(overlapping(&ranges, 20, 100).count(), 1);
    let mut merged = Vec::new();
    push_pte(&mut merged, 0, 2, false);
    push_pte(&mut merged, 2, 4, false);
    push_pte(&mut merged, 4, 5, true);
    push_pte(&mut merged, 7, 7, true);
    assert_eq!(
        merged,
        vec![
            r(0, 4),
            PteRange {
                first: 4,
                end: 5,
                not_cache: true
            }
        ]
    );
}

#[test]
fn kflag_names_by_bit() {
    assert_eq!(
        kflag_names(KPF_DIRTY | (1 << 3) | (1 << 11)),
        vec!["UPTODATE", "DIRTY", "MMAP"]
    );
    assert!(kflag_names(0).is_empty());
}

#[test]
fn runs_merge_equal_neighbours_only_and_stop_when_asked() {
    let a = PageState::decode(geom(), PageProbe::default(), ctx(MapMode::Shared, true));
    let mut b = a;
    b.place.resident = Some(true);
    let mut runs = Vec::new();
    let mut sink = |run: StateRun| {
        runs.push(run);
        ControlFlow::Continue(())
    };
    let mut rb = RunSink {
        last: None,
        sink: &mut sink,
        stopped: false,
    };
    rb.push(0, 2, a);
    rb.push(2, 3, a);
    rb.push(5, 1, b);
    rb.push(6, 0, a);
    rb.push(7, 1, b); // not contiguous with the previous run: a new run
    rb.finish();
    let shape: Vec<_> = runs.iter().map(|r| (r.first, r.count)).collect();
    assert_eq!(shape, vec![(0, 5), (5, 1), (7, 1)]);

    let mut handed = 0;
    let mut stop = |_: StateRun| {
        handed += 1;
        ControlFlow::Break(())
    };
    let mut rb = RunSink {
        last: None,
        sink: &mut stop,
        stopped: false,
    };
    rb.push(0, 1, a);
    rb.push(1, 1, b);
    assert!(rb.stopped, "the sink said stop");
    rb.push(2, 1, a);
    rb.finish();
    assert_eq!(handed, 1, "nothing is handed on after a stop");
}
