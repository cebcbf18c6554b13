// add: return a + b.  extern "C" fn(u64, u64) -> u64, AAPCS64 (a in x0, b in x1).
// Assembled bytes (add.bin, little-endian words): 00 00 01 8b c0 03 5f d6
    add x0, x0, x1     // 8b010000
    ret                // d65f03c0
