/*
 * xen-rust-glue: C helpers for the V4V crate (see v4v.h). Built with CONFIG_RUST_V4V only;
 * otherwise an empty object.
 */
#include "helpers.h"

#ifdef CONFIG_RUST_V4V
#include <xen/p2m-common.h>

int oxx_v4v_get_ring_page(struct domain *d, uint64_t gfn, uint64_t *mfn)
{
    struct page_info *page;
    p2m_type_t p2mt;
    int ret;

    ret = check_get_page_from_gfn(d, _gfn(gfn), false, &p2mt, &page);
    if ( ret )
        return ret;

    if ( !mfn_valid(page_to_mfn(page)) || p2mt != p2m_ram_rw ||
         !get_page_and_type(page, d, PGT_writable_page) )
    {
        put_page(page);
        return -EINVAL;
    }
    /* Keep the references get_page_and_type took; drop the lookup's. */
    put_page(page);

    *mfn = mfn_x(page_to_mfn(page));
    return 0;
}

void oxx_v4v_put_ring_page(uint64_t mfn)
{
    put_page_and_type(mfn_to_page(_mfn(mfn)));
}

void *oxx_v4v_map_page(uint64_t mfn)
{
    return map_domain_page(_mfn(mfn));
}

void oxx_v4v_unmap_page(void *va)
{
    unmap_domain_page(va);
}

bool oxx_v4v_direct_map(void)
{
    /* Without it, map_domain_page() is the direct map: nothing to unmap or run out of. */
    return !IS_ENABLED(CONFIG_ARCH_MAP_DOMAIN_PAGE);
}

void oxx_v4v_raise_virq(struct domain *d)
{
    send_guest_global_virq(d, VIRQ_V4V);
}

int oxx_v4v_xsm_register(const struct domain *d, const struct domain *partner)
{
    return partner ? xsm_argo_register_single_source(d, partner)
                   : xsm_argo_register_any_source(d);
}

int oxx_v4v_xsm_enable(const struct domain *d)
{
    return xsm_argo_enable(d);
}

bool oxx_v4v_mac_permissive(void)
{
    return opt_v4v_mac_permissive;
}

int oxx_v4v_xsm_send(const struct domain *d, const struct domain *t)
{
    return xsm_argo_send(d, t);
}

void **oxx_domain_v4v_slot(struct domain *d)
{
    return &d->v4v;
}

bool oxx_domain_is_dying(const struct domain *d)
{
    return d->is_dying != DOMDYING_alive;
}
#endif /* CONFIG_RUST_V4V */
