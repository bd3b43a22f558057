/* SPDX-License-Identifier: MIT */
/*
 * Entry of the C guest. Xen enters the arm64 Image at its first byte at EL1h, MMU and caches
 * off, interrupts masked, x0 = the DTB. Before any C runs we: keep x0; point VBAR_EL1 at
 * vectors that report any exception; turn on the MMU and caches with an identity map (C
 * needs Normal memory for its loads and stores to be coherent with Xen's writes into the V4V
 * ring, and for the atomics of v4v_copy_out); set SP; zero .bss; call c_main(dtb).
 *
 * Identity map, one level-1 table of 1 GiB blocks (the same as crates/xtf/src/guest/mmu.rs):
 * [0, 1 GiB) Device-nGnRnE (the GIC, UART), [1 GiB, 2 GiB) Normal write-back (guest RAM).
 */
#define MAIR        (0xff << 8)                 /* attr0 Device-nGnRnE, attr1 Normal WB */
#define TCR         (32 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23)) /* 4 GiB, WB, ISH, no TTBR1 */
#define SCTLR_SET   ((1 << 0) | (1 << 2) | (1 << 12)) /* M, C, I */
#define SCTLR_CLEAR (1 << 1)                    /* A: unaligned accesses allowed */
#define L1_DEVICE   (1 | (0 << 2) | (1 << 10) | (1 << 53) | (1 << 54)) /* block, attr0, AF, PXN, UXN */
#define L1_RAM      (0x40000000 | 1 | (1 << 2) | (1 << 10) | (3 << 8)) /* block, attr1, AF, ISH */
#define STACK_SIZE  (64 * 1024)

    .section .text.head, "ax"
    .global _start
_start:
    b       boot                    /* code0 */
    nop                             /* code1 */
    .quad   0                       /* text_offset */
    .quad   __image_size            /* image_size: file + .bss */
    .quad   2                       /* flags: little endian, 4K pages */
    .quad   0, 0, 0
    .ascii  "ARM\x64"               /* magic, offset 0x38 */
    .long   0

boot:
    mov     x19, x0
    adrp    x1, vectors
    add     x1, x1, :lo12:vectors
    msr     vbar_el1, x1
    isb
    ldr     x1, =MAIR
    msr     mair_el1, x1
    ldr     x1, =TCR
    msr     tcr_el1, x1
    adrp    x1, l1_table
    msr     ttbr0_el1, x1
    isb
    tlbi    vmalle1
    ic      iallu
    dsb     nsh
    isb
    mrs     x1, sctlr_el1
    ldr     x2, =SCTLR_SET
    orr     x1, x1, x2
    bic     x1, x1, #SCTLR_CLEAR
    msr     sctlr_el1, x1
    isb

    adrp    x1, stack_top
    add     x1, x1, :lo12:stack_top
    mov     sp, x1
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:  mov     x0, x19
    mov     x29, xzr
    mov     x30, xzr
    bl      c_main
3:  wfi
    b       3b

    /* 16 vectors: c_exception(index, ESR, ELR, FAR) on the exception stack; never returns. */
    .section .text.vectors, "ax"
    .balign 2048
vectors:
    .irp    index, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 128
    mov     x0, #\index
    b       vector_common
    .endr
vector_common:
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    adrp    x4, exception_stack_top
    add     x4, x4, :lo12:exception_stack_top
    mov     sp, x4
    bl      c_exception
4:  wfi
    b       4b

    .section .rodata.l1_table, "a"
    .balign 4096
l1_table:
    .quad   L1_DEVICE
    .quad   L1_RAM
    .quad   0
    .quad   0

    .section .bss.stacks, "aw", %nobits
    .balign 16
    .space  STACK_SIZE
stack_top:
    .space  16 * 1024
exception_stack_top:
