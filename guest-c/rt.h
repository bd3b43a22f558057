/* SPDX-License-Identifier: MIT */
/*
 * The C guest's runtime: hypercalls, the Xen console, time, the command line, results.
 * Tests report like the Rust guests (crates/xtf): `Failure: ...` / `Error: ...` lines, then
 * one `Test result: SUCCESS|FAILURE|ERROR` and a power-off.
 */
#ifndef GUEST_C_RT_H
#define GUEST_C_RT_H

#include <stdint.h>

/* hvc #0xEA1, x16 = nr, x0..x4 = arguments; returns x0 (-errno on failure). */
int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                  uint64_t a4);

/* Xen errnos the tests look for (xen/include/public/errno.h). */
#define XEN_EAGAIN       11
#define XEN_ECONNREFUSED 111

/* Console output (CONSOLEIO_write), line-buffered: Xen prefixes each line with (dN). */
void put_str(const char *s);
void put_u64(uint64_t v);
void put_i64(int64_t v);
void put_hex(uint64_t v);

/* Milliseconds since boot (CNTVCT_EL0 / CNTFRQ_EL0). */
uint64_t now_ms(void);
/* SCHEDOP_yield: gives the pCPU to other vCPUs while polling. */
void yield(void);

/* The value of `key=` in the bootargs (NULL if absent), up to the next space. */
const char *arg(const char *key);
/* arg(key) as a decimal number; `def` if absent or not a number. */
uint64_t arg_u64(const char *key, uint64_t def);
/* Whether the argument `a` (as returned by arg) is the word `w`. */
int arg_is(const char *a, const char *w);

/* Reports (first failure wins, as xtf's worst status) and ends the test. */
void failure(const char *what);
void error(const char *what);
void success(void);
_Noreturn void finish(void);

#endif
