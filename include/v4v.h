/* SPDX-License-Identifier: MIT */
/*
 * v4v.h: guest ABI of the V4V hypercall (Xen with CONFIG_RUST_V4V, arm64).
 *
 * Hand-written from crates/v4v/src/abi.rs, whose const assertions check every size and
 * offset given here; docs/v4v.md explains each operation, each error and how V4V differs
 * from Argo. Standalone: needs only <stdint.h>.
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

#define V4V_ROUNDUP                16U              /* message granularity */
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

#endif /* __XEN_PUBLIC_V4V_H__ */
