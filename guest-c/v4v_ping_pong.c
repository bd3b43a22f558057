/* SPDX-License-Identifier: MIT */
/*
 * test=c-v4v-ping-pong role=ping|pong peer=D n=N: V4V ping-pong from C, against
 * include/v4v.h only, with a Rust guest running test=v4v-ping-pong (the other role) as peer.
 *
 * The wire protocol is that test's (crates/guest-tests/src/v4v/traffic.rs): both sides own a
 * 1 KiB ring on port 100 whose partner is the peer; round trip i carries 1 + (i * 53) % 300
 * payload bytes (so messages wrap at the end of the ring often), made by `fill` (seq, sender
 * domid, stream 0, then a pattern); ping sends with protocol i, pong answers with
 * i ^ 0x5a5a. Each side checks every header field and byte it receives and notifies after
 * each message.
 *
 * Every receive goes through v4v_copy_out: a peek (NULL, NULL, NULL, 0, 0) for the length,
 * on odd rounds a non-consuming copy of the first 8 bytes (rx_ptr must not move), then the
 * copy that consumes. This guest polls its ring (yielding the pCPU between looks) instead of
 * taking VIRQ_V4V: the header is what is under test, not an interrupt controller.
 */
#include "rt.h"
#include "../include/v4v.h"

#define PING_PORT 100
#define RING_LEN  1024
#define WAIT_MS   20000   /* longest wait for one message (TCG on a loaded host) */
#define PEER_MS   30000   /* how long the peer may take to register its ring */

/* The ring: header + ring[] in one page of our own (guest frame = address >> 12). */
static uint8_t ring_page[4096] __attribute__((aligned(4096)));
static struct {
    v4v_pfn_list_t hdr;
    uint64_t pages[1];
} pfn_list __attribute__((aligned(64)));

static int64_t v4v_op(uint64_t cmd, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    return hypercall(__HYPERVISOR_v4v_op, cmd, a1, a2, a3, a4);
}

static uint8_t pattern(uint32_t seq, uint16_t dom, uint32_t stream, uint32_t i)
{
    return (uint8_t)(((seq * 31U) ^ ((uint32_t)dom * 97U) ^ (stream * 13U)) + i * 7U);
}

static void fill(uint8_t *buf, uint32_t len, uint32_t seq, uint16_t dom)
{
    uint32_t i;

    for (i = 0; i < len; i++)
        buf[i] = pattern(seq, dom, 0, i);
    if (len >= 8) {
        for (i = 0; i < 4; i++)
            buf[i] = (uint8_t)(seq >> (8 * i));
        buf[4] = (uint8_t)dom;
        buf[5] = (uint8_t)(dom >> 8);
        buf[6] = buf[7] = 0;
    }
}

/* The first offset where buf differs from fill(len, seq, dom), or -1. */
static int64_t verify(const uint8_t *buf, uint32_t len, uint32_t seq, uint16_t dom)
{
    uint8_t want[512];
    uint32_t i;

    fill(want, len, seq, dom);
    for (i = 0; i < len; i++)
        if (buf[i] != want[i])
            return i;
    return -1;
}

static uint32_t ping_len(uint32_t i)
{
    return 1 + (i * 53) % 300;
}

static void fail_at(const char *what, uint32_t i, int64_t got, int64_t want)
{
    put_str("round ");
    put_u64(i);
    put_str(": ");
    put_str(what);
    put_str(": got ");
    put_i64(got);
    put_str(", expected ");
    put_i64(want);
    put_str("\n");
    failure(what);
}

/* V4VOP_send, retried while the peer has no ring yet (ECONNREFUSED) or it is full (EAGAIN). */
static int64_t send_msg(uint16_t peer, const uint8_t *buf, uint32_t len, uint32_t proto)
{
    v4v_send_addr_t a = {
        .src = { .port = PING_PORT, .domain = 0, .pad = 0 },
        .dst = { .port = PING_PORT, .domain = peer, .pad = 0 },
    };
    uint64_t start = now_ms();
    int64_t r;

    for (;;) {
        r = v4v_op(V4VOP_send, (uint64_t)&a, (uint64_t)buf, len, proto);
        if (r == -XEN_ECONNREFUSED && now_ms() - start < PEER_MS)
            yield();
        else if (r == -XEN_EAGAIN && now_ms() - start < WAIT_MS)
            yield();
        else
            return r;
    }
}

/* Round i's message from the peer, taken out with v4v_copy_out and checked. 0 if good. */
static int receive(v4v_ring_t *r, uint16_t peer, uint32_t i, uint32_t proto)
{
    uint32_t len = ping_len(i), got_proto = 0, rx;
    v4v_addr_t from = { 0, 0, 0 };
    uint8_t buf[512];
    uint64_t start = now_ms();
    int64_t n, off;

    /* Peek until a message is there. */
    while ((n = v4v_copy_out(r, 0, 0, 0, 0, 0)) == V4V_COPY_OUT_EMPTY) {
        if (now_ms() - start > WAIT_MS) {
            fail_at("no message in time (v4v_copy_out peek)", i, n, len);
            return -1;
        }
        yield();
    }
    if (n != (int64_t)len) {
        fail_at("peeked payload length", i, n, len);
        return -1;
    }
    rx = r->rx_ptr;
    if (i & 1) {
        /* The start of the message without consuming it: t = 8 of len bytes. */
        for (off = 0; off < 8; off++)
            buf[off] = 0xee;
        n = v4v_copy_out(r, &from, &got_proto, buf, 8, 0);
        if (n != (int64_t)len || r->rx_ptr != rx) {
            fail_at("non-consuming copy (length)", i, n, len);
            return -1;
        }
        if (len >= 8 && (buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24) != i) {
            fail_at("non-consuming copy (sequence number)", i, buf[0], i);
            return -1;
        }
        if (len < 8 && buf[len] != 0xee) {
            fail_at("non-consuming copy wrote past the payload", i, buf[len], 0xee);
            return -1;
        }
    }
    n = v4v_copy_out(r, &from, &got_proto, buf, sizeof(buf), 1);
    if (n != (int64_t)len) {
        fail_at("payload length", i, n, len);
        return -1;
    }
    if (r->rx_ptr != (rx + V4V_ROUNDUP(sizeof(v4v_ring_message_header_t) + len)) % RING_LEN) {
        fail_at("rx_ptr after consuming", i, r->rx_ptr,
                (rx + V4V_ROUNDUP(sizeof(v4v_ring_message_header_t) + len)) % RING_LEN);
        return -1;
    }
    if (from.domain != peer || from.port != PING_PORT || from.pad != 0) {
        fail_at("source domain", i, from.domain, peer);
        fail_at("source port", i, from.port, PING_PORT);
        return -1;
    }
    if (got_proto != proto) {
        fail_at("protocol", i, got_proto, proto);
        return -1;
    }
    off = verify(buf, len, i, peer);
    if (off >= 0) {
        fail_at("payload byte differs at offset", i, off, -1);
        return -1;
    }
    /* Tell Xen we made room: a sender waiting on EAGAIN gets VIRQ_V4V. */
    n = v4v_op(V4VOP_notify, 0, 0, 0, 0);
    if (n) {
        fail_at("V4VOP_notify(NULL)", i, n, 0);
        return -1;
    }
    return 0;
}

static void ping_pong(void)
{
    v4v_ring_t *r = (v4v_ring_t *)ring_page;
    int ping = arg_is(arg("role"), "ping");
    uint16_t peer = (uint16_t)arg_u64("peer", 0), me;
    uint32_t n = (uint32_t)arg_u64("n", 100), i;
    uint8_t buf[512];
    int64_t ret;

    if (!peer || (!ping && !arg_is(arg("role"), "pong"))) {
        error("needs role=ping|pong peer=DOMID");
        return;
    }
    r->magic = V4V_RING_MAGIC;
    r->id.addr.port = PING_PORT;
    r->id.addr.domain = 0;
    r->id.partner = peer;
    r->len = RING_LEN;
    r->rx_ptr = 0;
    r->tx_ptr = 0;
    pfn_list.hdr.magic = V4V_PFN_LIST_MAGIC;
    pfn_list.hdr.npage = 1;
    pfn_list.pages[0] = (uint64_t)ring_page >> 12;
    ret = v4v_op(V4VOP_register_ring, (uint64_t)r, (uint64_t)&pfn_list, 0, 0);
    if (ret) {
        fail_at("V4VOP_register_ring", 0, ret, 0);
        return;
    }
    /* Xen wrote our domid into the ring id: the sender id of our payloads. */
    me = r->id.addr.domain;
    /*
     * Only the pinger's ring must be empty now: the pinger's peer sends nothing until
     * pinged, while the ponger's peer may already have sent its first ping.
     */
    if (ping && v4v_copy_out(r, 0, 0, 0, 0, 0) != V4V_COPY_OUT_EMPTY) {
        failure("a new ring is not empty");
        return;
    }
    for (i = 0; i < n; i++) {
        if (ping) {
            fill(buf, ping_len(i), i, me);
            ret = send_msg(peer, buf, ping_len(i), i);
            if (ret != (int64_t)ping_len(i)) {
                fail_at("V4VOP_send (ping)", i, ret, ping_len(i));
                return;
            }
        }
        if (receive(r, peer, i, ping ? i ^ 0x5a5a : i))
            return;
        if (!ping) {
            fill(buf, ping_len(i), i, me);
            ret = send_msg(peer, buf, ping_len(i), i ^ 0x5a5a);
            if (ret != (int64_t)ping_len(i)) {
                fail_at("V4VOP_send (pong)", i, ret, ping_len(i));
                return;
            }
        }
    }
    ret = v4v_copy_out(r, 0, 0, 0, 0, 0);
    if (ret != V4V_COPY_OUT_EMPTY) {
        fail_at("ring not empty after the last message", n, ret, V4V_COPY_OUT_EMPTY);
        return;
    }
    put_str("v4v (C) ");
    put_u64(n);
    put_str(" round trips, domid ");
    put_u64(me);
    put_str("\n");
    success();
}

void run_test(const char *name);
void run_test(const char *name)
{
    if (arg_is(name, "c-v4v-ping-pong"))
        ping_pong();
    else
        error("unknown test= (this image has: c-v4v-ping-pong)");
}
