# add: return a + b.  extern "C" fn(u64, u64) -> u64, System V AMD64 ABI (a in rdi, b in rsi).
# Assembled bytes (add.bin): 48 8d 04 37 c3
    .intel_syntax noprefix
    lea rax, [rdi + rsi]   # 48 8d 04 37
    ret                    # c3
