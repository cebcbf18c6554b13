# ret42: return 42.  extern "C" fn(u64, u64) -> u64, System V AMD64 ABI.
# Assembled bytes (ret42.bin): b8 2a 00 00 00 c3
    .intel_syntax noprefix
    mov eax, 42        # b8 2a 00 00 00   (writing eax zero-extends into rax)
    ret                # c3
