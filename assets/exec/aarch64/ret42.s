// ret42: return 42.  extern "C" fn(u64, u64) -> u64, AAPCS64.
// Assembled bytes (ret42.bin, little-endian words): 40 05 80 d2 c0 03 5f d6
    mov x0, #42        // d2800540
    ret                // d65f03c0
