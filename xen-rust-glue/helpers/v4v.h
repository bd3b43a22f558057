/*
 * xen-rust-glue: C helpers for the V4V crate (CONFIG_RUST_V4V). Included by helpers.h.
 */
#ifndef OXX_V4V_H
#define OXX_V4V_H

#include <xen/types.h>

struct domain;

#pragma GCC visibility push(default)

/*
 * Look guest frame gfn of d up: it must be ordinary writable RAM owned by d (p2m_ram_rw,
 * get_page_and_type(page, d, PGT_writable_page): as Argo's find_ring_mfn). 0 and *mfn set,
 * or -EINVAL (not RAM of d) / -EAGAIN / -ENOENT. The page keeps a general and a
 * writable-type reference until oxx_v4v_put_ring_page(*mfn). No mapping is made.
 */
int oxx_v4v_get_ring_page(struct domain *d, uint64_t gfn, uint64_t *mfn);
/* Drop both references oxx_v4v_get_ring_page took. */
void oxx_v4v_put_ring_page(uint64_t mfn);
/* map_domain_page(mfn): a mapping for the current operation only (unmap before leaving). */
void *oxx_v4v_map_page(uint64_t mfn);
/* unmap_domain_page(va). */
void oxx_v4v_unmap_page(void *va);
/* Whether map_domain_page() is Xen's direct map (no CONFIG_ARCH_MAP_DOMAIN_PAGE): its
 * addresses may then be kept for as long as the page is referenced. */
bool oxx_v4v_direct_map(void);
/* send_guest_global_virq(d, VIRQ_V4V). */
void oxx_v4v_raise_virq(struct domain *d);
/* XSM (the Argo hooks): may d register a ring for partner (NULL: any domain)? 0 or -errno. */
int oxx_v4v_xsm_register(const struct domain *d, const struct domain *partner);
/* XSM (the Argo hook): may d use V4V at all? 0 or -errno. */
int oxx_v4v_xsm_enable(const struct domain *d);
/* opt_v4v_mac_permissive ("v4v-mac=permissive", patches/0022). */
bool oxx_v4v_mac_permissive(void);
/* XSM (the Argo hook): may d send to t? 0 or -errno. */
int oxx_v4v_xsm_send(const struct domain *d, const struct domain *t);
/* &d->v4v, the Rust-owned per-domain state. */
void **oxx_domain_v4v_slot(struct domain *d);
/* d->is_dying != DOMDYING_alive */
bool oxx_domain_is_dying(const struct domain *d);

#pragma GCC visibility pop

#endif /* OXX_V4V_H */
