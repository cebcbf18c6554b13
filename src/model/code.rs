//! The code view's decoding: machine code from the cursor, one instruction a row (x86_64 with
//! iced-x86's decoder and Intel formatter; other machines are told it is unsupported). Pure:
//! it decodes the bytes the last refresh read, and the cursor's moves use the same lengths.

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insn {
    /// Mapping offset of its first byte.
    pub offset: u64,
    pub bytes: Vec<u8>,
    /// The instruction in Intel syntax, or `(bad)` for bytes that decode to none.
    pub text: String,
    /// A near jump's or call's target address, which Enter follows.
    pub target: Option<u64>,
    /// The address a RIP-relative memory operand reads or writes (a GOT slot, a global),
    /// which Enter goes to when there is no jump.
    pub memory: Option<u64>,
}

impl Insn {
    /// Where Enter goes from this instruction: the jump's target, else the memory it names.
    pub fn goes_to(&self) -> Option<u64> {
        self.target.or(self.memory)
    }
}

/// Longest x86 instruction, in bytes: a row never needs more.
pub const MAX_INSN: u64 = 15;

/// What the code view says on a machine it cannot decode.
pub fn unsupported() -> Option<String> {
    (!cfg!(target_arch = "x86_64")).then(|| {
        format!(
            "code view: disassembly is x86_64 only; this machine is {}",
            std::env::consts::ARCH
        )
    })
}

/// Decodes up to `rows` instructions from `bytes` (read from mapping offset `offset`, at
/// virtual address `ip`); stops at the first byte not read. Empty on machines other than
/// x86_64 (`unsupported` says why).
#[cfg(target_arch = "x86_64")]
pub fn decode(bytes: &[u8], offset: u64, ip: u64, rows: usize) -> Vec<Insn> {
    use iced_x86::{Decoder, DecoderError, DecoderOptions, Formatter, Instruction, IntelFormatter};
    let mut decoder = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut out = Vec::with_capacity(rows);
    let mut insn = Instruction::default();
    while out.len() < rows && decoder.can_decode() {
        let at = decoder.position();
        decoder.decode_out(&mut insn);
        let len = if insn.is_invalid() {
            1
        } else {
            insn.len().max(1)
        };
        let mut text = String::new();
        let memory = (!insn.is_invalid() && insn.is_ip_rel_memory_operand())
            .then(|| insn.ip_rel_memory_address());
        let target = if insn.is_invalid() {
            // Too few bytes read for a whole instruction also decodes as invalid: say which.
            text.push_str(if decoder.last_error() == DecoderError::NoMoreBytes {
                "(cut: the rest is not read)"
            } else {
                "(bad)"
            });
            None
        } else {
            formatter.format(&insn, &mut text);
            is_branch(&insn).then(|| insn.near_branch_target())
        };
        out.push(Insn {
            offset: offset + at as u64,
            bytes: bytes[at..(at + len).min(bytes.len())].to_vec(),
            text,
            target,
            memory,
        });
        if insn.is_invalid() {
            // One byte at a time past a bad one, as objdump does.
            let _ = decoder.set_position(at + 1);
            decoder.set_ip(ip + at as u64 + 1);
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
fn is_branch(insn: &iced_x86::Instruction) -> bool {
    use iced_x86::OpKind;
    matches!(
        insn.op0_kind(),
        OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
    )
}

/// Decodes nothing on a machine other than x86_64 (`unsupported` says so).
#[cfg(not(target_arch = "x86_64"))]
pub fn decode(_bytes: &[u8], _offset: u64, _ip: u64, _rows: usize) -> Vec<Insn> {
    Vec::new()
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_snippets_decode_as_written() {
        // ret42: mov eax, 42; ret. add: lea eax, [rdi+rsi]; ret (src/sys/lab).
        let ret42 = crate::sys::lab::experiments::snippet("ret42").expect("ships");
        let rows = decode(ret42, 0x100, 0x7000_0100, 8);
        let texts: Vec<_> = rows.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts[..2], ["mov eax,2Ah", "ret"]);
        assert_eq!(rows[1].offset, 0x105);
        let add = crate::sys::lab::experiments::snippet("add").expect("ships");
        let rows = decode(add, 0, 0x1000, 8);
        assert!(rows.last().is_some_and(|i| i.text == "ret"), "{rows:?}");
        assert_eq!(unsupported(), None);
    }

    #[test]
    fn branches_carry_their_target_and_bad_bytes_step_by_one() {
        // call rel32 +0x10 from 0x1000 (5 bytes): target 0x1015; then 0x06 (invalid in 64-bit).
        let code = [0xe8, 0x10, 0, 0, 0, 0x06, 0x90, 0x90, 0x90];
        let rows = decode(&code, 0, 0x1000, 3);
        assert_eq!(rows[0].target, Some(0x1015));
        assert_eq!(rows[1].text, "(bad)");
        assert_eq!(rows[1].bytes, [0x06]);
        assert_eq!(rows[2].offset, 6);
        assert_eq!(rows[2].text, "nop");
        assert_eq!(rows[2].target, None);
        // jmp [rip+0x10] at 0x2000 (6 bytes): it reads the slot at 0x2016.
        let rows = decode(&[0xff, 0x25, 0x10, 0, 0, 0], 0, 0x2000, 1);
        assert_eq!((rows[0].target, rows[0].memory), (None, Some(0x2016)));
        assert_eq!(rows[0].goes_to(), Some(0x2016));
        // A call whose last bytes were not read is cut, not bad.
        let rows = decode(&code[..3], 0, 0x1000, 3);
        assert_eq!(rows[0].text, "(cut: the rest is not read)");
    }
}
