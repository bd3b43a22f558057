//! Decoding arm64 exception syndromes for humans (ESR_EL1, the vector taken).

use core::fmt;

/// The exception class, ESR_ELx bits [31:26].
pub const fn esr_ec(esr: u64) -> u8 {
    ((esr >> 26) & 0x3f) as u8
}

/// A name for exception class `ec` (Arm ARM D17.2.37, the ones a guest meets).
pub const fn ec_name(ec: u8) -> &'static str {
    match ec {
        0x00 => "unknown reason",
        0x01 => "WFI/WFE trapped",
        0x07 => "FP/SIMD access trapped",
        0x0e => "illegal execution state",
        0x15 => "SVC from AArch64",
        0x16 => "HVC from AArch64",
        0x17 => "SMC from AArch64",
        0x18 => "MSR/MRS/system instruction trapped",
        0x20 => "instruction abort from lower EL",
        0x21 => "instruction abort from same EL",
        0x22 => "PC alignment fault",
        0x24 => "data abort from lower EL",
        0x25 => "data abort from same EL",
        0x26 => "SP alignment fault",
        0x2f => "SError",
        0x30 | 0x31 => "breakpoint",
        0x32 | 0x33 => "software step",
        0x34 | 0x35 => "watchpoint",
        0x3c => "BRK instruction",
        _ => "other",
    }
}

/// For instruction and data aborts: what the fault status code (ISS bits [5:0]) says.
pub fn abort_status(esr: u64) -> Option<AbortStatus> {
    matches!(esr_ec(esr), 0x20 | 0x21 | 0x24 | 0x25).then_some(AbortStatus((esr & 0x3f) as u8))
}

/// An instruction/data fault status code (IFSC/DFSC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbortStatus(pub u8);

impl fmt::Display for AbortStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = self.0 & 3;
        match self.0 {
            0x00..=0x03 => write!(f, "address size fault, level {level}"),
            0x04..=0x07 => write!(f, "translation fault, level {level}"),
            0x08..=0x0b => write!(f, "access flag fault, level {level}"),
            0x0c..=0x0f => write!(f, "permission fault, level {level}"),
            0x10 => f.write_str("synchronous external abort"),
            0x21 => f.write_str("alignment fault"),
            0x30 => f.write_str("TLB conflict abort"),
            s => write!(f, "fault status {s:#04x}"),
        }
    }
}

/// Which of the 16 vector entries was taken, from its index (offset / 0x80).
pub const fn vector_name(index: u64) -> &'static str {
    match index {
        0 => "synchronous, current EL with SP_EL0",
        1 => "IRQ, current EL with SP_EL0",
        2 => "FIQ, current EL with SP_EL0",
        3 => "SError, current EL with SP_EL0",
        4 => "synchronous, current EL with SP_ELx",
        5 => "IRQ, current EL with SP_ELx",
        6 => "FIQ, current EL with SP_ELx",
        7 => "SError, current EL with SP_ELx",
        8 => "synchronous, lower EL AArch64",
        9 => "IRQ, lower EL AArch64",
        10 => "FIQ, lower EL AArch64",
        11 => "SError, lower EL AArch64",
        12 => "synchronous, lower EL AArch32",
        13 => "IRQ, lower EL AArch32",
        14 => "FIQ, lower EL AArch32",
        15 => "SError, lower EL AArch32",
        _ => "unknown vector",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_abort_translation_fault() {
        // EC 0x25, IL, DFSC 0b000101: translation fault at level 1.
        let esr = (0x25 << 26) | (1 << 25) | 0x05;
        assert_eq!(esr_ec(esr), 0x25);
        assert_eq!(ec_name(esr_ec(esr)), "data abort from same EL");
        assert_eq!(abort_status(esr).unwrap().to_string(), "translation fault, level 1");
    }

    #[test]
    fn non_aborts_have_no_status() {
        assert_eq!(abort_status(0x16 << 26), None);
        assert_eq!(ec_name(0x16), "HVC from AArch64");
        assert_eq!(ec_name(0x3f), "other");
    }

    #[test]
    fn vectors() {
        assert_eq!(vector_name(4), "synchronous, current EL with SP_ELx");
        assert_eq!(vector_name(16), "unknown vector");
    }
}
