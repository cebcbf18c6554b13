//! What the benches that time whole runs share (included as `mod common;`; a folder, so Cargo
//! does not take it for a bench of its own).

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
