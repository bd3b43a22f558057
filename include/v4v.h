/* SPDX-License-Identifier: MIT */
/*
 * v4v.h: guest ABI of the V4V hypercall (Xen with CONFIG_RUST_V4V, arm64).
 *
 * Hand-written from crates/v4v/src/abi.rs, whose const assertions check every size and
 * offset given here (a host test, crates/v4v/tests/c_header.rs, compiles this header and
 * compares them); docs/v4v.md explains each operation, each error and how V4V differs
 * from Argo. Standalone: needs only <stdint.h>, and GCC or Clang for the ring accessors
 * (v4v_copy_out uses their __atomic builtins for the barriers the ring protocol needs).
 *
 * Calling convention: hvc #0xEA1, x16 = __HYPERVISOR_v4v_op, x0 = cmd, x1..x4 = args,
 * result in x0 (>= 0 or -errno). Pointers are guest virtual addresses of the calling vCPU.
 */
#ifndef __XEN_PUBLIC_V4V_H__
#define __XEN_PUBLIC_V4V_H__

#include <stdint.h>

#define __HYPERVISOR_v4v_op        43
#define VIRQ_V4V                   14   /* global VIRQ: bind with EVTCHNOP_bind_virq, vCPU 0 */

/* cmd (x0) and its arguments (x1, x2, x3, x4); unused arguments must be 0 */
#define V4VOP_register_ring        1    /* v4v_ring_t *r, v4v_pfn_list_t *pl, 0, 0 */
#define V4VOP_unregister_ring      2    /* v4v_ring_t *r, 0, 0, 0 */
#define V4VOP_send                 3    /* v4v_send_addr_t *a, void *buf, u32 len, u32 proto */
#define V4VOP_notify               4    /* v4v_ring_data_t *rd (or NULL), 0, 0, 0 */
#define V4VOP_sendv                5    /* v4v_send_addr_t *a, v4v_iov_t *iov, u32 niov, u32 proto */

#define V4V_DOMID_ANY              0x7ff4U   /* = DOMID_INVALID, as XEN_ARGO_DOMID_ANY */
#define V4V_RING_MAGIC             0xa822f72bb0b9d8ccULL
#define V4V_PFN_LIST_MAGIC         0x91dd6159045b302dULL
#define V4V_RING_DATA_MAGIC        0x4ce4d30fbc82e92aULL

#define V4V_MSG_ALIGN              16U              /* message granularity */
/* The RFC's V4V_ROUNDUP: a length rounded up to the message granularity (a message of p
 * payload bytes takes V4V_ROUNDUP(sizeof(v4v_ring_message_header_t) + p) ring bytes).
 * The RFC's own definition: the int mask -16 converts to any unsigned type of a. */
#define V4V_ROUNDUP(a)             (((a) + 0xf) & ~0xf)
#define V4V_MIN_RING_SIZE          32U              /* ring.len bounds (multiple of 16) */
#define V4V_MAX_RING_SIZE          (16U << 20)
#define V4V_MAX_MSG                (V4V_MAX_RING_SIZE - 64U) /* payload of one send */
#define V4V_MAXIOV                 8U
#define V4V_MAX_NOTIFY_ENT         64U
#define V4V_MAX_RINGS_PER_DOMAIN   128U
#define V4V_PAGE_SIZE              4096U

typedef struct v4v_addr {
    uint32_t port;
    uint16_t domain;
    uint16_t pad;                   /* must be 0 */
} v4v_addr_t;                       /* 8 bytes */

typedef struct v4v_ring_id {
    v4v_addr_t addr;                /* addr.domain: Xen writes the owner's domid */
    uint16_t partner;               /* a domid or V4V_DOMID_ANY */
    uint16_t pad;                   /* must be 0 */
} v4v_ring_id_t;                    /* 12 bytes */

typedef struct v4v_send_addr {
    v4v_addr_t src;                 /* src.domain ignored: Xen uses the caller's */
    v4v_addr_t dst;
} v4v_send_addr_t;                  /* 16 bytes */

typedef struct v4v_ring {
    uint64_t magic;                 /* V4V_RING_MAGIC */
    v4v_ring_id_t id;
    uint32_t len;                   /* bytes of ring[] */
    uint32_t rx_ptr;                /* receiver: next byte to read */
    uint32_t tx_ptr;                /* Xen: next byte to write */
    uint64_t reserved[4];
    uint8_t ring[];                 /* offset 64 */
} v4v_ring_t;

typedef struct v4v_pfn_list {
    uint64_t magic;                 /* V4V_PFN_LIST_MAGIC */
    uint32_t npage;                 /* == ceil((64 + len) / 4096) */
    uint32_t pad;                   /* must be 0 */
    uint64_t reserved[3];
    uint64_t pages[];               /* offset 40: guest frame numbers (IPA >> 12) */
} v4v_pfn_list_t;

typedef struct v4v_ring_message_header {
    uint32_t len;                   /* 16 + payload bytes */
    v4v_addr_t source;              /* sender's domid and src.port */
    uint32_t protocol;
    uint8_t data[];                 /* offset 16; the message takes ROUNDUP16(len) bytes */
} v4v_ring_message_header_t;

typedef struct v4v_iov {
    uint64_t iov_base;
    uint64_t iov_len;
} v4v_iov_t;                        /* 16 bytes */

#define V4V_RING_DATA_F_EMPTY      (1U << 0) /* ring is empty */
#define V4V_RING_DATA_F_EXISTS     (1U << 1) /* a ring the caller may send to exists */
#define V4V_RING_DATA_F_PENDING    (1U << 2) /* space_required not free; VIRQ_V4V when it is */
#define V4V_RING_DATA_F_SUFFICIENT (1U << 3) /* space_required free now */

typedef struct v4v_ring_data_ent {
    v4v_addr_t ring;                /* in: the destination (domain, port) */
    uint16_t flags;                 /* out: V4V_RING_DATA_F_* */
    uint16_t pad;
    uint32_t space_required;        /* in: payload bytes wanted */
    uint32_t max_message_size;      /* out: largest payload the ring can ever take */
    uint32_t pad2;
} v4v_ring_data_ent_t;              /* 24 bytes */

typedef struct v4v_ring_data {
    uint64_t magic;                 /* V4V_RING_DATA_MAGIC */
    uint32_t nent;                  /* <= V4V_MAX_NOTIFY_ENT */
    uint32_t pad;                   /* must be 0 */
    uint64_t reserved[2];
    v4v_ring_data_ent_t data[];     /* offset 32 */
} v4v_ring_data_t;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define V4V_ABI_CHECK(x) _Static_assert(x, #x)
V4V_ABI_CHECK(sizeof(v4v_addr_t) == 8);
V4V_ABI_CHECK(sizeof(v4v_ring_id_t) == 12);
V4V_ABI_CHECK(sizeof(v4v_send_addr_t) == 16);
V4V_ABI_CHECK(sizeof(v4v_ring_t) == 64);
V4V_ABI_CHECK(sizeof(v4v_pfn_list_t) == 40);
V4V_ABI_CHECK(sizeof(v4v_ring_message_header_t) == 16);
V4V_ABI_CHECK(sizeof(v4v_iov_t) == 16);
V4V_ABI_CHECK(sizeof(v4v_ring_data_ent_t) == 24);
V4V_ABI_CHECK(sizeof(v4v_ring_data_t) == 32);
#undef V4V_ABI_CHECK
#endif

/*
 * Receiving: the RFC's v4v_copy_out.
 *
 * Ring protocol (docs/v4v.md, "Rings"): Xen writes a message's bytes at tx_ptr, then
 * publishes the new tx_ptr with a release store. The receiver reads tx_ptr with an acquire
 * load (so every byte before it is visible), copies the message out, and publishes the new
 * rx_ptr with a release store (so Xen, which reads rx_ptr to find free space, cannot
 * overwrite bytes still being read). rx_ptr == tx_ptr is an empty ring. A message starts at
 * a multiple of 16 and takes V4V_ROUNDUP(16 + payload) bytes; its 16-byte header never wraps,
 * its payload may run on from the end of ring[] to ring[0].
 *
 * The ring must have one reader at a time (callers serialise v4v_copy_out on one ring).
 */

#define V4V_COPY_OUT_EMPTY   (-1)   /* no message: rx_ptr == tx_ptr (the RFC's -1) */
#define V4V_COPY_OUT_CORRUPT (-2)   /* rx_ptr/tx_ptr/len or the message header inconsistent */

/* Copies `n` ring bytes from data offset `off` (< len) to `dst`, wrapping at `len`. */
static inline void v4v_ring_read_bytes(const v4v_ring_t *r, uint32_t len, uint32_t off,
                                       uint8_t *dst, uint32_t n)
{
    const volatile uint8_t *src = r->ring;
    uint32_t i;

    for (i = 0; i < n; i++) {
        dst[i] = src[off];
        if (++off == len)
            off = 0;
    }
}

/*
 * v4v_copy_out(r, from, protocol, buf, t, consume): the next message of ring r.
 *
 * Copies at most t bytes of its payload into buf (none if buf is NULL), its source address
 * into *from and its protocol into *protocol (each if not NULL), and, if consume is non-zero,
 * removes it from the ring (advances rx_ptr past it). Returns the message's full payload
 * length (the bytes given to send/sendv), whatever t was; so v4v_copy_out(r, NULL, NULL,
 * NULL, 0, 0) peeks at the next message's length and v4v_copy_out(r, NULL, NULL, NULL, 0, 1)
 * drops the next message. Returns V4V_COPY_OUT_EMPTY (-1) if there is no message and
 * V4V_COPY_OUT_CORRUPT (-2) if the ring's pointers or the message header make no sense (a
 * pointer not 16-aligned or not below len, a header length below 16 or running past
 * tx_ptr); then nothing is copied and rx_ptr is left alone.
 *
 * The RFC writes the return type ssize_t and t size_t; they are int64_t and uint64_t here so
 * that the header needs only <stdint.h> (the same types on LP64 targets such as arm64).
 */
static inline int64_t v4v_copy_out(v4v_ring_t *r, v4v_addr_t *from, uint32_t *protocol,
                                   void *buf, uint64_t t, int consume)
{
    const uint32_t len = r->len;
    /* Acquire: the message bytes Xen wrote before this tx_ptr are visible below. */
    const uint32_t tx = __atomic_load_n(&r->tx_ptr, __ATOMIC_ACQUIRE);
    const uint32_t rx = __atomic_load_n(&r->rx_ptr, __ATOMIC_RELAXED);
    uint8_t hb[sizeof(v4v_ring_message_header_t)];
    uint32_t used, mlen, payload, copy;

    if (len < 2U * V4V_MSG_ALIGN || len % V4V_MSG_ALIGN || rx >= len || tx >= len ||
        rx % V4V_MSG_ALIGN || tx % V4V_MSG_ALIGN)
        return V4V_COPY_OUT_CORRUPT;
    if (rx == tx)
        return V4V_COPY_OUT_EMPTY;
    used = tx > rx ? tx - rx : len - rx + tx;

    /* One read of the header (rx and len are multiples of 16: it never wraps). */
    v4v_ring_read_bytes(r, len, rx, hb, sizeof(hb));
    mlen = (uint32_t)hb[0] | (uint32_t)hb[1] << 8 | (uint32_t)hb[2] << 16 |
           (uint32_t)hb[3] << 24;
    /* mlen <= used < len <= 16 MiB: V4V_ROUNDUP(mlen) cannot overflow. */
    if (mlen < sizeof(hb) || mlen > used || V4V_ROUNDUP(mlen) > used)
        return V4V_COPY_OUT_CORRUPT;
    payload = mlen - (uint32_t)sizeof(hb);

    if (from) {
        from->port = (uint32_t)hb[4] | (uint32_t)hb[5] << 8 | (uint32_t)hb[6] << 16 |
                     (uint32_t)hb[7] << 24;
        from->domain = (uint16_t)(hb[8] | hb[9] << 8);
        from->pad = (uint16_t)(hb[10] | hb[11] << 8);
    }
    if (protocol)
        *protocol = (uint32_t)hb[12] | (uint32_t)hb[13] << 8 | (uint32_t)hb[14] << 16 |
                    (uint32_t)hb[15] << 24;
    if (buf) {
        copy = t < payload ? (uint32_t)t : payload;
        v4v_ring_read_bytes(r, len, (rx + (uint32_t)sizeof(hb)) % len, (uint8_t *)buf, copy);
    }
    if (consume) {
        uint32_t next = rx + V4V_ROUNDUP(mlen);   /* <= rx + used < 2 * len */

        if (next >= len)
            next -= len;
        /* Release: every read of the message above happens before Xen may reuse its bytes. */
        __atomic_store_n(&r->rx_ptr, next, __ATOMIC_RELEASE);
    }
    return payload;
}

#endif /* __XEN_PUBLIC_V4V_H__ */
