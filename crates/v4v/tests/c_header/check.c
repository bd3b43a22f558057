/* SPDX-License-Identifier: MIT */
/*
 * Host check of include/v4v.h, driven by crates/v4v/tests/c_header.rs.
 *
 *   check layout     prints "name value" for every size, offset and constant the header
 *                    defines, for the Rust test to compare with crates/v4v/src/abi.rs
 *   check read T     reads a ring (64-byte header + ring[]) from stdin and takes every
 *                    message out with v4v_copy_out: a peek, then a copy of at most T bytes
 *                    that consumes it; prints what each call returned and the final rx_ptr
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "v4v.h"

#define SIZE(t) printf("sizeof %s %zu\n", #t, sizeof(t))
#define OFF(t, f) printf("offsetof %s.%s %zu\n", #t, #f, offsetof(t, f))
#define CONST(c) printf("const %s %llu\n", #c, (unsigned long long)(c))

static int layout(void)
{
    SIZE(v4v_addr_t);
    OFF(v4v_addr_t, port);
    OFF(v4v_addr_t, domain);
    OFF(v4v_addr_t, pad);
    SIZE(v4v_ring_id_t);
    OFF(v4v_ring_id_t, addr);
    OFF(v4v_ring_id_t, partner);
    OFF(v4v_ring_id_t, pad);
    SIZE(v4v_send_addr_t);
    OFF(v4v_send_addr_t, src);
    OFF(v4v_send_addr_t, dst);
    SIZE(v4v_ring_t);
    OFF(v4v_ring_t, magic);
    OFF(v4v_ring_t, id);
    OFF(v4v_ring_t, len);
    OFF(v4v_ring_t, rx_ptr);
    OFF(v4v_ring_t, tx_ptr);
    OFF(v4v_ring_t, reserved);
    OFF(v4v_ring_t, ring);
    SIZE(v4v_pfn_list_t);
    OFF(v4v_pfn_list_t, magic);
    OFF(v4v_pfn_list_t, npage);
    OFF(v4v_pfn_list_t, pad);
    OFF(v4v_pfn_list_t, reserved);
    OFF(v4v_pfn_list_t, pages);
    SIZE(v4v_ring_message_header_t);
    OFF(v4v_ring_message_header_t, len);
    OFF(v4v_ring_message_header_t, source);
    OFF(v4v_ring_message_header_t, protocol);
    OFF(v4v_ring_message_header_t, data);
    SIZE(v4v_iov_t);
    OFF(v4v_iov_t, iov_base);
    OFF(v4v_iov_t, iov_len);
    SIZE(v4v_ring_data_ent_t);
    OFF(v4v_ring_data_ent_t, ring);
    OFF(v4v_ring_data_ent_t, flags);
    OFF(v4v_ring_data_ent_t, pad);
    OFF(v4v_ring_data_ent_t, space_required);
    OFF(v4v_ring_data_ent_t, max_message_size);
    OFF(v4v_ring_data_ent_t, pad2);
    SIZE(v4v_ring_data_t);
    OFF(v4v_ring_data_t, magic);
    OFF(v4v_ring_data_t, nent);
    OFF(v4v_ring_data_t, pad);
    OFF(v4v_ring_data_t, reserved);
    OFF(v4v_ring_data_t, data);
    CONST(__HYPERVISOR_v4v_op);
    CONST(VIRQ_V4V);
    CONST(V4VOP_register_ring);
    CONST(V4VOP_unregister_ring);
    CONST(V4VOP_send);
    CONST(V4VOP_notify);
    CONST(V4VOP_sendv);
    CONST(V4V_DOMID_ANY);
    CONST(V4V_RING_MAGIC);
    CONST(V4V_PFN_LIST_MAGIC);
    CONST(V4V_RING_DATA_MAGIC);
    CONST(V4V_MSG_ALIGN);
    CONST(V4V_MIN_RING_SIZE);
    CONST(V4V_MAX_RING_SIZE);
    CONST(V4V_MAX_MSG);
    CONST(V4V_MAXIOV);
    CONST(V4V_MAX_NOTIFY_ENT);
    CONST(V4V_MAX_RINGS_PER_DOMAIN);
    CONST(V4V_PAGE_SIZE);
    CONST(V4V_RING_DATA_F_EMPTY);
    CONST(V4V_RING_DATA_F_EXISTS);
    CONST(V4V_RING_DATA_F_PENDING);
    CONST(V4V_RING_DATA_F_SUFFICIENT);
    /* V4V_ROUNDUP over every 32-bit value class that matters, and on a 64-bit operand. */
    for (uint32_t p = 0; p <= 80; p++)
        printf("roundup %u %u\n", p, V4V_ROUNDUP(p));
    printf("roundup64 %llu\n", (unsigned long long)V4V_ROUNDUP((uint64_t)0x100000001ULL));
    return 0;
}

static int read_ring(uint64_t t)
{
    static uint8_t mem[64 + (1U << 20)] __attribute__((aligned(16)));
    size_t n = fread(mem, 1, sizeof(mem), stdin);
    v4v_ring_t *r = (v4v_ring_t *)mem;
    static uint8_t buf[1U << 20];
    int64_t peek, got;
    uint32_t msgs = 0;

    if (n < sizeof(v4v_ring_t) || n != sizeof(v4v_ring_t) + r->len) {
        fprintf(stderr, "ring image of %zu bytes\n", n);
        return 2;
    }
    /* A ring holds at most len / 16 messages: more means rx_ptr did not move on. */
    for (;; msgs++) {
        v4v_addr_t from = { 0xeeeeeeeeU, 0xeeee, 0xeeee };
        uint32_t proto = 0xeeeeeeeeU;
        uint32_t rx_before = r->rx_ptr;

        peek = v4v_copy_out(r, NULL, NULL, NULL, 0, 0);
        printf("peek %lld rx %u\n", (long long)peek, r->rx_ptr);
        if (peek < 0 || r->rx_ptr != rx_before || msgs > r->len / V4V_MSG_ALIGN)
            break;
        memset(buf, 0xa5, sizeof(buf));
        got = v4v_copy_out(r, &from, &proto, buf, t, 1);
        printf("msg %lld port %u domain %u pad %u proto %u data ", (long long)got, from.port,
               from.domain, from.pad, proto);
        for (uint64_t i = 0; i < (t < (uint64_t)got ? t : (uint64_t)got); i++)
            printf("%02x", buf[i]);
        /* Nothing past min(t, payload) may be written. */
        printf(" after %02x rx %u\n", buf[t < (uint64_t)got ? t : (uint64_t)got], r->rx_ptr);
        if (got < 0)
            break;
    }
    printf("end rx %u tx %u\n", r->rx_ptr, r->tx_ptr);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "layout"))
        return layout();
    if (argc == 3 && !strcmp(argv[1], "read"))
        return read_ring(strtoull(argv[2], NULL, 0));
    fprintf(stderr, "usage: check layout | check read T\n");
    return 2;
}
