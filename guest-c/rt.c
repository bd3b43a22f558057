/* SPDX-License-Identifier: MIT */
/* The C guest's runtime: see rt.h. */
#include "rt.h"

#define HYPERVISOR_console_io 18
#define HYPERVISOR_sched_op   29
#define CONSOLEIO_write       0
#define SCHEDOP_yield         0
#define SCHEDOP_shutdown      2
#define SHUTDOWN_poweroff     0

int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                  uint64_t a4)
{
    /* A debug Xen clobbers x0-x4 and x16 on return: all are in/out. */
    register uint64_t x0 __asm__("x0") = a0;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;
    register uint64_t x4 __asm__("x4") = a4;
    register uint64_t x16 __asm__("x16") = nr;

    __asm__ volatile("hvc #0xEA1"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x16)
                     :
                     : "memory");
    return (int64_t)x0;
}

/* GCC may call these even in freestanding code (struct copies, loops it recognises). */
void *memcpy(void *d, const void *s, unsigned long n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;

    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, unsigned long n)
{
    uint8_t *dp = d;

    while (n--)
        *dp++ = (uint8_t)c;
    return d;
}

/* ---- console ---- */

static char line[128];
static unsigned int line_len;

static void flush(void)
{
    if (line_len)
        hypercall(HYPERVISOR_console_io, CONSOLEIO_write, line_len, (uint64_t)line, 0, 0);
    line_len = 0;
}

static void put_char(char c)
{
    line[line_len++] = c;
    if (c == '\n' || line_len == sizeof(line))
        flush();
}

void put_str(const char *s)
{
    while (*s)
        put_char(*s++);
}

void put_u64(uint64_t v)
{
    char b[20];
    int i = 0;

    do {
        b[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i)
        put_char(b[--i]);
}

void put_i64(int64_t v)
{
    if (v < 0) {
        put_char('-');
        put_u64(-(uint64_t)v);
    } else {
        put_u64((uint64_t)v);
    }
}

void put_hex(uint64_t v)
{
    int s;

    put_str("0x");
    for (s = 60; s > 0 && !(v >> s); s -= 4)
        ;
    for (; s >= 0; s -= 4)
        put_char("0123456789abcdef"[(v >> s) & 0xf]);
}

/* ---- time ---- */

uint64_t now_ms(void)
{
    uint64_t cnt, frq;

    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(cnt));
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
    return frq ? cnt / (frq / 1000) : 0;
}

void yield(void)
{
    hypercall(HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
}

/* ---- the command line: /chosen/bootargs of the DTB ---- */

static const char *bootargs = "";

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Walks the flattened tree's structure block for /chosen's bootargs (a bounded walk: a
 * malformed tree ends it, leaving the command line empty). */
static void find_bootargs(const uint8_t *fdt)
{
    uint32_t total, off, end, strings, depth = 0, in_chosen = 0; /* inside /chosen */

    if (be32(fdt) != 0xd00dfeed)
        return;
    total = be32(fdt + 4);
    off = be32(fdt + 8);
    strings = be32(fdt + 12);
    end = off + be32(fdt + 36);
    if (end > total || strings > total)
        return;
    while (off + 4 <= end) {
        uint32_t tok = be32(fdt + off);

        off += 4;
        if (tok == 1) {                                  /* FDT_BEGIN_NODE, name */
            const char *name = (const char *)fdt + off;
            uint32_t n = 0;

            while (off + n < end && name[n])
                n++;
            depth++;
            if (depth == 2 && str_eq(name, "chosen"))
                in_chosen = 1;
            off = (off + n + 1 + 3) & ~3U;
        } else if (tok == 2) {                           /* FDT_END_NODE */
            if (depth == 2)
                in_chosen = 0;
            if (depth)
                depth--;
        } else if (tok == 3) {                           /* FDT_PROP len nameoff value */
            uint32_t len = be32(fdt + off), nameoff = be32(fdt + off + 4);

            if (len > end || off + 8 + len > end || nameoff >= total - strings)
                return;
            if (in_chosen && depth == 2 && str_eq((const char *)fdt + strings + nameoff, "bootargs") &&
                len && fdt[off + 8 + len - 1] == 0) {
                bootargs = (const char *)fdt + off + 8;
                return;
            }
            off = (off + 8 + len + 3) & ~3U;
        } else if (tok == 4) {                           /* FDT_NOP */
        } else {                                         /* FDT_END or junk */
            return;
        }
    }
}

const char *arg(const char *key)
{
    const char *p = bootargs;

    while (*p) {
        const char *k = key, *q = p;

        while (*k && *q == *k)
            k++, q++;
        if (!*k && *q == '=')
            return q + 1;
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    return 0;
}

uint64_t arg_u64(const char *key, uint64_t def)
{
    const char *a = arg(key);
    uint64_t v = 0;

    if (!a || *a < '0' || *a > '9')
        return def;
    while (*a >= '0' && *a <= '9')
        v = v * 10 + (uint64_t)(*a++ - '0');
    return v;
}

int arg_is(const char *a, const char *w)
{
    if (!a)
        return 0;
    while (*w && *a == *w)
        a++, w++;
    return !*w && (!*a || *a == ' ');
}

/* ---- results ---- */

enum status { RUNNING, SUCCESS, ERROR, FAILURE };
static enum status status;

static void record(enum status s)
{
    if (s > status)
        status = s;
}

void failure(const char *what)
{
    put_str("Failure: ");
    put_str(what);
    put_str("\n");
    record(FAILURE);
}

void error(const char *what)
{
    put_str("Error: ");
    put_str(what);
    put_str("\n");
    record(ERROR);
}

void success(void)
{
    record(SUCCESS);
}

_Noreturn void finish(void)
{
    static const char *const names[] = { "ERROR", "SUCCESS", "ERROR", "FAILURE" };
    uint32_t reason = SHUTDOWN_poweroff;

    if (status == RUNNING)
        error("the test ended without reporting a result");
    put_str("Test result: ");
    put_str(names[status]);
    put_str("\n");
    hypercall(HYPERVISOR_sched_op, SCHEDOP_shutdown, (uint64_t)&reason, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

/* ---- entry ---- */

void c_exception(uint64_t index, uint64_t esr, uint64_t elr, uint64_t far);
void c_main(const uint8_t *dtb);
void run_test(const char *name);

void c_exception(uint64_t index, uint64_t esr, uint64_t elr, uint64_t far)
{
    put_str("Unexpected exception: vector ");
    put_u64(index);
    put_str(" ESR_EL1 ");
    put_hex(esr);
    put_str(" ELR_EL1 ");
    put_hex(elr);
    put_str(" FAR_EL1 ");
    put_hex(far);
    put_str("\n");
    error("unexpected exception");
    finish();
}

void c_main(const uint8_t *dtb)
{
    find_bootargs(dtb);
    put_str("C guest: ");
    put_str(bootargs);
    put_str("\n");
    run_test(arg("test"));
    finish();
}
