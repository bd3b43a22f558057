//! From Xen's jump to Rust: the arm64 Image header, the boot code and the exception vectors.
//!
//! Xen (like any arm64 Linux boot loader) loads the Image at the start of the domain's first
//! RAM bank plus `text_offset` (0 here) and enters at its first byte at EL1h, MMU and caches
//! off, interrupts masked, x0 = the DTB's address. It has cleaned what it copied to the point
//! of coherency, so the image reads the same with caches on or off.
//!
//! The boot code, before any Rust (which needs a stack, a zeroed .bss and, for atomics and
//! unaligned accesses, Normal memory):
//! 1. keeps x0 in x19;
//! 2. points VBAR_EL1 at the vectors, so a fault from here on is reported;
//! 3. turns on the MMU and both caches with the identity map of [`super::mmu`] (the table is
//!    in .rodata: Xen wrote it, nothing to clean);
//! 4. sets SP to the boot stack and zeroes .bss (the stacks live there: nothing is on them
//!    yet), with the caches on so no stale line can shadow the zeroes;
//! 5. calls `xtf_guest_entry(dtb)`.
//!
//! Every vector reports: `xtf_exception(index, ESR_EL1, ELR_EL1, FAR_EL1, SPSR_EL1, SP)`
//! runs on its own stack (the faulting SP may be the problem) and never returns.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, Ordering};

use super::{console, mmu, report};
use crate::arm;
use crate::println;

/// Boot stack size.
const STACK_SIZE: usize = 64 * 1024;
/// Stack for the exception report.
const EXCEPTION_STACK_SIZE: usize = 16 * 1024;

global_asm!(
    r#"
    .section .text.xtf_head, "ax"
    .global _start
    .type _start, %function
_start:
    /* arm64 Image header (Linux Documentation/arch/arm64/booting.rst). */
    b       xtf_boot                /* code0 */
    nop                             /* code1 */
    .quad   0                       /* text_offset: load at the start of RAM */
    .quad   __xtf_image_size        /* image_size: file + .bss (from guest.ld) */
    .quad   {image_flags}           /* flags: little endian, 4K pages */
    .quad   0, 0, 0                 /* res2-res4 */
    .ascii  "ARM\x64"               /* magic, offset 0x38 */
    .long   0                       /* res5 (PE header offset: none) */

xtf_boot:
    mov     x19, x0

    adrp    x1, xtf_vectors
    add     x1, x1, :lo12:xtf_vectors
    msr     vbar_el1, x1
    isb

    ldr     x1, ={mair}
    msr     mair_el1, x1
    ldr     x1, ={tcr}
    msr     tcr_el1, x1
    adrp    x1, xtf_l1_table
    msr     ttbr0_el1, x1
    isb
    tlbi    vmalle1
    ic      iallu
    dsb     nsh
    isb
    mrs     x1, sctlr_el1
    ldr     x2, ={sctlr_set}
    orr     x1, x1, x2
    bic     x1, x1, #{sctlr_clear}
    msr     sctlr_el1, x1
    isb

    adrp    x1, xtf_boot_stack_top
    add     x1, x1, :lo12:xtf_boot_stack_top
    mov     sp, x1

    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
    mov     x0, x19
    mov     x29, xzr
    mov     x30, xzr
    bl      xtf_guest_entry
3:  wfi
    b       3b

    /* 16 entries of 0x80 bytes: index in x0, then the common path. */
    .section .text.xtf_vectors, "ax"
    .balign 2048
xtf_vectors:
    .irp    index, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 128
    mov     x0, #\index
    b       xtf_vector_common
    .endr

xtf_vector_common:
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    mrs     x4, spsr_el1
    mov     x5, sp
    adrp    x6, xtf_exception_stack_top
    add     x6, x6, :lo12:xtf_exception_stack_top
    mov     sp, x6
    mov     x29, xzr
    mov     x30, xzr
    bl      xtf_exception
4:  wfi
    b       4b

    /* Level 1 table for TTBR0_EL1 (see mmu.rs). */
    .section .rodata.xtf_l1_table, "a"
    .balign 4096
xtf_l1_table:
    .quad   {l1_device}
    .quad   {l1_ram}
    .quad   0
    .quad   0

    .section .bss.xtf_stacks, "aw", %nobits
    .balign 16
    .space  {stack_size}
xtf_boot_stack_top:
    .space  {exception_stack_size}
xtf_exception_stack_top:
"#,
    image_flags = const 0b0010u64,
    mair = const mmu::MAIR,
    tcr = const mmu::TCR,
    sctlr_set = const mmu::SCTLR_SET,
    sctlr_clear = const mmu::SCTLR_CLEAR,
    l1_device = const mmu::L1_DEVICE,
    l1_ram = const mmu::L1_RAM,
    stack_size = const STACK_SIZE,
    exception_stack_size = const EXCEPTION_STACK_SIZE,
);

/// Reports an exception nobody expected and ends the test as ERROR.
///
/// Called from `xtf_vector_common` only, on the exception stack, with the vector's index and
/// the syndrome registers.
// SAFETY: the one definition of this symbol; its signature is what xtf_vector_common calls.
#[unsafe(no_mangle)]
extern "C" fn xtf_exception(index: u64, esr: u64, elr: u64, far: u64, spsr: u64, sp: u64) -> ! {
    // Plain load and store, no exclusives: they work even if the MMU never came on.
    static DEPTH: AtomicU32 = AtomicU32::new(0);
    let depth = DEPTH.load(Ordering::Relaxed);
    DEPTH.store(depth.saturating_add(1), Ordering::Relaxed);
    match depth {
        0 => {}
        1 => {
            // Faulted while reporting a fault: no formatting, just the verdict.
            console::write_bytes(b"Nested exception while reporting one\nTest result: ERROR\n");
            report::power_off();
        }
        _ => report::halt(),
    }
    let ec = arm::esr_ec(esr);
    println!("Unexpected exception: {} (vector {index})", arm::vector_name(index));
    println!("  ESR_EL1 {esr:#018x}: EC {ec:#04x} {}", arm::ec_name(ec));
    if let Some(fsc) = arm::abort_status(esr) {
        let access = if (esr >> 6) & 1 == 1 { "write" } else { "read" };
        println!("  {fsc} on {access}");
    }
    println!("  ELR_EL1 {elr:#018x}  FAR_EL1 {far:#018x}");
    println!("  SPSR_EL1 {spsr:#018x}  SP {sp:#018x}");
    report::error(format_args!(
        "unexpected exception, ESR_EL1={esr:#x} ELR_EL1={elr:#x} FAR_EL1={far:#x}"
    ));
    report::exit()
}
