//! What the benches that time whole runs share (included as `mod common;`; a folder, so Cargo
//! does not take it for a bench of its own). Not every bench uses every helper.
#![allow(dead_code)]

use std::io::Write as _;

use mmapscope::sys::map::region::Region;
use mmapscope::sys::map::request::{MapMode, MapRequest, Prot};

/// The median of `samples` (sorted in place), by value or through a borrow.
pub fn median(mut samples: impl AsMut<[f64]>) -> f64 {
    let s = samples.as_mut();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The body of a target of `n` VMAs (30,000 in the benches): two pages each, alternately
/// read-only and read-write (neighbours never merge), the first page of each read-write one
/// written; then it says `ready` and waits until its standard input closes.
pub fn many(n: u64) {
    let mut keep = Vec::new();
    for i in 0..n {
        let rw = i % 2 == 0;
        let region = Region::open(&MapRequest {
            prot: Some(if rw { Prot::RW } else { Prot::R }),
            ..MapRequest::anon(2 * 4096, MapMode::Private)
        })
        .expect("map anonymous");
        if rw {
            region.write(0, &[1]).expect("write");
        }
        keep.push(region);
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    drop(keep);
}
