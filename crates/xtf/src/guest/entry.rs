//! From Xen's jump to Rust: the arm64 Image header, the boot code and the exception vectors.
//!
//! Xen (like any arm64 Linux boot loader) loads the Image at the start of the domain's first
//! RAM bank plus `text_offset` (0 here) and enters at its first byte at EL1h, MMU and caches
//! off, interrupts masked, x0 = the DTB's address. It has cleaned what it copied to the point
//! of coherency, so the image reads the same with caches on or off. A dom0less domU's first
//! bank is GUEST_RAM0_BASE, the link address; dom0 is direct-mapped, so its first bank is
//! wherever Xen found host RAM for it: the image is linked position-independent (`-pie`,
//! relocation model `pie`) and relocates itself.
//!
//! The boot code, before any Rust (which needs a stack, a zeroed .bss and, for atomics and
//! unaligned accesses, Normal memory):
//! 1. keeps x0 in x19;
//! 2. points VBAR_EL1 at the vectors, so a fault from here on is reported;
//! 3. turns on the MMU and both caches with the identity map of [`super::mmu`] (the table is
//!    in .rodata: Xen wrote it, nothing to clean);
//! 4. applies the image's R_AARCH64_RELATIVE relocations for the distance between where it
//!    runs and GUEST_RAM0_BASE (a no-op in a domU; R_AARCH64_NONE entries, which ld leaves
//!    behind, are skipped; any other type halts: the linker makes none);
//! 5. sets SP to the boot stack and zeroes .bss (the stacks live there: nothing is on them
//!    yet), with the caches on so no stale line can shadow the zeroes;
//! 6. calls `xtf_guest_entry(dtb)`.
//!
//! IRQs taken at EL1h (vector 5) go to `xtf_irq_entry`, which saves the registers the Rust
//! ABI lets a call clobber (x0–x18, x29, x30) plus ELR/SPSR on the interrupted stack, calls
//! [`super::irq`]'s `xtf_irq_dispatch`, restores them and returns with `eret`. (The guest is
//! built soft-float: Rust code never touches the FP/SIMD registers, so they need no saving.)
//!
//! Every other vector reports: `xtf_exception(index, ESR_EL1, ELR_EL1, FAR_EL1, SPSR_EL1,
//! SP)` runs on the vCPU's own exception stack (the faulting SP may be the problem) and never
//! returns.
//!
//! Secondary vCPUs (PSCI CPU_ON, see [`super::smp`]) enter at `xtf_secondary_start` with the
//! MMU off and x0 = their index: the same vectors and MMU set-up (the tables are shared), then
//! their own stack and `xtf_secondary_entry(index)`. TPIDR_EL1 holds each vCPU's index (0 on
//! the boot vCPU): it picks the exception stack and is what `smp::this_cpu` reads.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, Ordering};

use super::{console, mmu, report};
use crate::arm;
use crate::platform::MAX_CPUS;
use crate::println;

/// Boot stack size.
const STACK_SIZE: usize = 64 * 1024;
/// Stack of each secondary vCPU.
const SECONDARY_STACK_SIZE: usize = 32 * 1024;
/// Stack for the exception report, one per vCPU.
const EXCEPTION_STACK_SIZE: usize = 16 * 1024;
/// Where guest.ld links the image (GUEST_RAM0_BASE): the relocation delta is measured from it.
const LINK_BASE: u64 = 0x4000_0000;
/// ELF relocation type of every dynamic relocation a `-pie` link of the image has.
const R_AARCH64_RELATIVE: u64 = 1027;
/// Bytes xtf_irq_entry saves: x0–x18, x29, x30, ELR_EL1, SPSR_EL1 (23 words, 16-aligned).
const IRQ_FRAME_SIZE: usize = 24 * 8;

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

    /* Vectors, then the MMU and caches on with the identity map (clobbers x1, x2). */
    .macro  xtf_vectors_and_mmu
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
    .endm

xtf_boot:
    mov     x19, x0
    msr     tpidr_el1, xzr
    xtf_vectors_and_mmu

    /* Self-relocation: x3 = where _start runs - where it was linked. Every entry of
     * .rela.dyn (Elf64_Rela: offset, info, addend) must be R_AARCH64_RELATIVE,
     * *(offset + x3) = addend + x3, or R_AARCH64_NONE (info 0), skipped. */
    adrp    x1, _start
    add     x1, x1, :lo12:_start
    ldr     x2, ={link_base}
    sub     x3, x1, x2
    adrp    x4, __rela_start
    add     x4, x4, :lo12:__rela_start
    adrp    x5, __rela_end
    add     x5, x5, :lo12:__rela_end
7:  cmp     x4, x5
    b.hs    8f
    ldp     x6, x7, [x4], #16
    ldr     x8, [x4], #8
    cbz     x7, 7b                  /* R_AARCH64_NONE (ld leaves some): nothing to do */
    cmp     x7, #{r_aarch64_relative}
    b.ne    9f
    add     x6, x6, x3
    add     x8, x8, x3
    str     x8, [x6]
    b       7b
9:  wfi                             /* a relocation we cannot apply: stop here */
    b       9b
8:

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
    .if     \index == 5
    b       xtf_irq_entry           /* IRQ, current EL with SP_ELx */
    .else
    mov     x0, #\index
    b       xtf_vector_common
    .endif
    .endr

xtf_vector_common:
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    mrs     x4, spsr_el1
    mov     x5, sp
    /* This vCPU's exception stack: base + (index + 1) * size (index clamped). */
    mrs     x6, tpidr_el1
    cmp     x6, #{max_cpus}
    csel    x6, x6, xzr, lo
    add     x6, x6, #1
    mov     x7, #{exception_stack_size}
    adrp    x8, xtf_exception_stacks
    add     x8, x8, :lo12:xtf_exception_stacks
    madd    x6, x6, x7, x8
    mov     sp, x6
    mov     x29, xzr
    mov     x30, xzr
    bl      xtf_exception
4:  wfi
    b       4b

xtf_irq_entry:
    sub     sp, sp, #{irq_frame}
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x29, [sp, #144]
    mrs     x0, elr_el1
    mrs     x1, spsr_el1
    stp     x30, x0, [sp, #160]
    str     x1, [sp, #176]
    bl      xtf_irq_dispatch
    ldr     x1, [sp, #176]
    ldp     x30, x0, [sp, #160]
    msr     spsr_el1, x1
    msr     elr_el1, x0
    ldp     x18, x29, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{irq_frame}
    eret

    /* A secondary vCPU (PSCI CPU_ON): x0 = its index, MMU off, IRQs masked. */
    .section .text.xtf_secondary, "ax"
    .global xtf_secondary_start
    .type xtf_secondary_start, %function
xtf_secondary_start:
    mov     x19, x0
    /* Only indexes 1..MAX_CPUS have a stack. */
    cbz     x19, 6f
    cmp     x19, #{max_cpus}
    b.hs    6f
    msr     tpidr_el1, x19
    xtf_vectors_and_mmu
    /* Stack top of vCPU i: xtf_secondary_stacks + i * size (slot i - 1). */
    mov     x1, #{secondary_stack_size}
    adrp    x2, xtf_secondary_stacks
    add     x2, x2, :lo12:xtf_secondary_stacks
    madd    x1, x19, x1, x2
    mov     sp, x1
    mov     x0, x19
    mov     x29, xzr
    mov     x30, xzr
    bl      xtf_secondary_entry
6:  wfi
    b       6b

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
xtf_exception_stacks:
    .space  {exception_stack_size} * {max_cpus}
xtf_secondary_stacks:
    .space  {secondary_stack_size} * ({max_cpus} - 1)
"#,
    image_flags = const 0b0010u64,
    link_base = const LINK_BASE,
    r_aarch64_relative = const R_AARCH64_RELATIVE,
    mair = const mmu::MAIR,
    tcr = const mmu::TCR,
    sctlr_set = const mmu::SCTLR_SET,
    sctlr_clear = const mmu::SCTLR_CLEAR,
    l1_device = const mmu::L1_DEVICE,
    l1_ram = const mmu::L1_RAM,
    stack_size = const STACK_SIZE,
    exception_stack_size = const EXCEPTION_STACK_SIZE,
    secondary_stack_size = const SECONDARY_STACK_SIZE,
    max_cpus = const MAX_CPUS,
    irq_frame = const IRQ_FRAME_SIZE,
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
