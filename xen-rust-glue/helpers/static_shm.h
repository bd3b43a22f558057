/*
 * xen-rust-glue helpers for crates/static-shm (CONFIG_RUST_STATIC_SHM): the host device tree,
 * bootinfo, static event channel and static shared memory primitives, and the libfdt
 * sequential-write calls for the guest's /reserved-memory nodes.
 *
 * Only plain types and struct domain cross this line; the C side includes the rest.
 */
#ifndef OXX_STATIC_SHM_H
#define OXX_STATIC_SHM_H

#include <xen/types.h>

#pragma GCC visibility push(default)

struct domain;

/* The host device tree Xen booted with (device_tree_flattened) and its totalsize. */
const void *oxx_host_fdt(unsigned long *size);

/* bootinfo: RAM bank i (false past the last), and the regions a shared region must avoid
 * (boot modules, reserved memory that is not a static shared region) with a kind:
 * 0 Xen image, 1 device tree, 2 other boot module, 3 static memory, 4 reserved memory
 * (size 0: a static shared region, nothing to avoid). Entry i, false past the last. */
bool oxx_bootinfo_ram(unsigned int i, uint64_t *base, uint64_t *size);
bool oxx_bootinfo_avoid(unsigned int i, uint64_t *base, uint64_t *size, unsigned int *kind);
/* Reserve a static shared region in bootinfo.reserved_mem (as bootfdt.c's process_shm_node).
 * id is id_len bytes, no NUL. 0 or -ENOSPC. */
int oxx_bootinfo_add_shm_bank(uint64_t start, uint64_t size, const char *id,
                              unsigned long id_len, unsigned int nr_borrowers);

/* The domain built from the device tree node at path (dt_device_node.used_by), or -1. */
int oxx_dt_used_by(const char *path, unsigned long path_len);

/* event_channel.c's static-channel entry points; -errno on failure. */
int oxx_evtchn_alloc_unbound(domid_t dom, uint32_t port, domid_t remote_dom);
int oxx_evtchn_bind_interdomain(domid_t dom, uint32_t port, domid_t remote_dom,
                                uint32_t remote_port);

/* Static shared memory primitives (domain_build.c's, one line each). */
struct domain *oxx_dom_io(void);
bool oxx_page_owner_is_dom_io(uint64_t maddr);
/* dom_shared (DOMID_SHARED): the design draft's default owner, created by our Xen patch. */
struct domain *oxx_dom_shared(void);
bool oxx_page_owner_is_dom_shared(uint64_t maddr);
bool oxx_mfn_valid(uint64_t mfn);
int oxx_domain_add_max_pages(struct domain *d, unsigned long nr);
void oxx_domain_sub_max_pages(struct domain *d, unsigned long nr);
int oxx_acquire_domstatic_pages(struct domain *d, uint64_t mfn, unsigned long nr);
int oxx_guest_physmap_add_pages(struct domain *d, uint64_t gfn, uint64_t mfn,
                                unsigned long nr);
bool oxx_get_page_nr(uint64_t mfn, struct domain *d, unsigned long nr);
void oxx_put_page_nr(uint64_t mfn, unsigned long nr);
int oxx_map_regions_foreign_rw(struct domain *d, uint64_t gfn, unsigned long nr,
                               uint64_t mfn);

/* kernel_info.shm_mem (void *: struct kernel_info / struct meminfo). */
int oxx_kinfo_add_shm_bank(void *kinfo, uint64_t start, uint64_t size, const char *id,
                           unsigned long id_len);
bool oxx_meminfo_bank(const void *mem, unsigned int i, uint64_t *start, uint64_t *size,
                      const char **id);

/* libfdt sequential write (the guest device tree). */
int oxx_fdt_begin_node(void *fdt, const char *name);
int oxx_fdt_property(void *fdt, const char *name, const void *val, unsigned int len);
int oxx_fdt_property_u64(void *fdt, const char *name, uint64_t val);
int oxx_fdt_end_node(void *fdt);

#pragma GCC visibility pop

#endif /* OXX_STATIC_SHM_H */
