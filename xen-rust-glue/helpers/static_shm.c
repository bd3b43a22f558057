/*
 * xen-rust-glue helpers for crates/static-shm: one-line wrappers (see static_shm.h).
 * Built only with CONFIG_RUST_STATIC_SHM (static shared memory needs CONFIG_STATIC_SHM).
 */
#include <xen/device_tree.h>
#include <xen/event.h>
#include <xen/libfdt/libfdt.h>
#include <xen/mm.h>
#include <xen/sched.h>
#include <xen/string.h>
#include <asm/kernel.h>
#include <asm/p2m.h>
#include <asm/setup.h>

#include "static_shm.h"

#ifdef CONFIG_RUST_STATIC_SHM

/* ---- host device tree and bootinfo ---- */
const void *oxx_host_fdt(unsigned long *size)
{
    *size = device_tree_flattened ? fdt_totalsize(device_tree_flattened) : 0;
    return device_tree_flattened;
}

bool oxx_bootinfo_ram(unsigned int i, uint64_t *base, uint64_t *size)
{
    if ( i >= bootinfo.mem.nr_banks )
        return false;
    *base = bootinfo.mem.bank[i].start;
    *size = bootinfo.mem.bank[i].size;
    return true;
}

bool oxx_bootinfo_avoid(unsigned int i, uint64_t *base, uint64_t *size, unsigned int *kind)
{
    const struct meminfo *r = &bootinfo.reserved_mem;

    if ( i < bootinfo.modules.nr_mods )
    {
        const struct bootmodule *m = &bootinfo.modules.module[i];

        *base = m->start;
        *size = m->size;
        *kind = m->kind == BOOTMOD_XEN ? 0 : m->kind == BOOTMOD_FDT ? 1 : 2;
        return true;
    }
    i -= bootinfo.modules.nr_mods;
    if ( i >= r->nr_banks )
        return false;
    *base = r->bank[i].start;
    /* A static shared region itself (it carries an id): size 0, nothing to avoid. */
    *size = r->bank[i].shm_id[0] ? 0 : r->bank[i].size;
    *kind = r->bank[i].type == MEMBANK_STATIC_DOMAIN ? 3 : 4;
    return true;
}

int oxx_bootinfo_add_shm_bank(uint64_t start, uint64_t size, const char *id,
                              unsigned long id_len, unsigned int nr_borrowers)
{
    struct meminfo *mem = &bootinfo.reserved_mem;
    struct membank *b;

    if ( mem->nr_banks >= NR_MEM_BANKS || id_len >= MAX_SHM_ID_LENGTH )
        return -ENOSPC;
    b = &mem->bank[mem->nr_banks];
    memset(b->shm_id, 0, sizeof(b->shm_id));
    memcpy(b->shm_id, id, id_len);
    b->start = start;
    b->size = size;
    b->type = MEMBANK_STATIC_DOMAIN;
    b->nr_shm_borrowers = nr_borrowers;
    mem->nr_banks++;
    return 0;
}

int oxx_dt_used_by(const char *path, unsigned long path_len)
{
    char buf[128];
    const struct dt_device_node *n;

    if ( path_len >= sizeof(buf) )
        return -1;
    memcpy(buf, path, path_len);
    buf[path_len] = '\0';
    n = dt_find_node_by_path(buf);
    return n ? n->used_by : -1;
}

/* ---- static event channels ---- */
int oxx_evtchn_alloc_unbound(domid_t dom, uint32_t port, domid_t remote_dom)
{
    struct evtchn_alloc_unbound a = { .dom = dom, .remote_dom = remote_dom };

    return evtchn_alloc_unbound(&a, port);
}

int oxx_evtchn_bind_interdomain(domid_t dom, uint32_t port, domid_t remote_dom,
                                uint32_t remote_port)
{
    struct evtchn_bind_interdomain b = {
        .remote_dom = remote_dom, .remote_port = remote_port };
    struct domain *d = get_domain_by_id(dom);
    int rc;

    if ( !d )
        return -ESRCH;
    rc = evtchn_bind_interdomain(&b, d, port);
    put_domain(d);
    return rc;
}

/* ---- static shared memory ---- */
struct domain *oxx_dom_io(void) { return dom_io; }

static bool page_owner_is(uint64_t maddr, const struct domain *owner)
{
    struct page_info *page = maddr_to_page(maddr);
    struct domain *d = page_get_owner_and_reference(page);

    if ( d == NULL )
        return false;
    put_page(page);
    return d == owner;
}

bool oxx_page_owner_is_dom_io(uint64_t maddr) { return page_owner_is(maddr, dom_io); }

struct domain *oxx_dom_shared(void) { return dom_shared; }

bool oxx_page_owner_is_dom_shared(uint64_t maddr)
{
    return dom_shared && page_owner_is(maddr, dom_shared);
}

bool oxx_mfn_valid(uint64_t mfn) { return mfn_valid(_mfn(mfn)); }

int oxx_domain_add_max_pages(struct domain *d, unsigned long nr)
{
    if ( (UINT_MAX - d->max_pages) < nr )
        return -ENOMEM;
    d->max_pages += nr;
    return 0;
}

void oxx_domain_sub_max_pages(struct domain *d, unsigned long nr) { d->max_pages -= nr; }

int oxx_acquire_domstatic_pages(struct domain *d, uint64_t mfn, unsigned long nr)
{
    return acquire_domstatic_pages(d, _mfn(mfn), nr, 0);
}

int oxx_guest_physmap_add_pages(struct domain *d, uint64_t gfn, uint64_t mfn,
                                unsigned long nr)
{
    return guest_physmap_add_pages(d, _gfn(gfn), _mfn(mfn), nr);
}

bool oxx_get_page_nr(uint64_t mfn, struct domain *d, unsigned long nr)
{
    return get_page_nr(mfn_to_page(_mfn(mfn)), d, nr);
}

void oxx_put_page_nr(uint64_t mfn, unsigned long nr)
{
    put_page_nr(mfn_to_page(_mfn(mfn)), nr);
}

int oxx_map_regions_foreign_rw(struct domain *d, uint64_t gfn, unsigned long nr,
                               uint64_t mfn)
{
    return map_regions_p2mt(d, _gfn(gfn), nr, _mfn(mfn), p2m_map_foreign_rw);
}

int oxx_kinfo_add_shm_bank(void *kinfo, uint64_t start, uint64_t size, const char *id,
                           unsigned long id_len)
{
    struct meminfo *m = &((struct kernel_info *)kinfo)->shm_mem;
    struct membank *b;

    if ( m->nr_banks >= NR_MEM_BANKS || id_len >= MAX_SHM_ID_LENGTH )
        return -ENOMEM;
    b = &m->bank[m->nr_banks];
    memset(b->shm_id, 0, sizeof(b->shm_id));
    memcpy(b->shm_id, id, id_len);
    b->start = start;
    b->size = size;
    m->nr_banks++;
    return 0;
}

bool oxx_meminfo_bank(const void *mem, unsigned int i, uint64_t *start, uint64_t *size,
                      const char **id)
{
    const struct meminfo *m = mem;

    if ( i >= m->nr_banks )
        return false;
    *start = m->bank[i].start;
    *size = m->bank[i].size;
    *id = m->bank[i].shm_id;
    return true;
}

/* ---- libfdt sequential write ---- */
int oxx_fdt_begin_node(void *fdt, const char *name) { return fdt_begin_node(fdt, name); }
int oxx_fdt_property(void *fdt, const char *name, const void *val, unsigned int len)
{
    return fdt_property(fdt, name, val, len);
}
int oxx_fdt_property_u64(void *fdt, const char *name, uint64_t val)
{
    return fdt_property_u64(fdt, name, val);
}
int oxx_fdt_end_node(void *fdt) { return fdt_end_node(fdt); }

#endif /* CONFIG_RUST_STATIC_SHM */
