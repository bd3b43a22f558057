/*
 * xen-rust-glue C helpers: one-line wrappers over Xen macros and static inlines, so Rust
 * never re-implements them. Built with Xen's own CFLAGS (Makefile.rust passes XEN_CFLAGS).
 */
#include "helpers.h"

/* ---- printk ---- */
void oxx_printk_str(const char *s, unsigned long len)
{
    printk("%.*s", (int)len, s);
}

void noreturn oxx_panic_str(const char *s, unsigned long len)
{
    panic("%.*s", (int)len, s);
}

/* ---- spinlocks ---- */
void oxx_spin_lock_init(spinlock_t *l) { spin_lock_init(l); }
void oxx_spin_lock(spinlock_t *l) { spin_lock(l); }
void oxx_spin_unlock(spinlock_t *l) { spin_unlock(l); }
unsigned long oxx_spin_lock_irqsave(spinlock_t *l)
{
    unsigned long flags;

    spin_lock_irqsave(l, flags);
    return flags;
}
void oxx_spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
    spin_unlock_irqrestore(l, flags);
}
bool oxx_spin_is_locked(spinlock_t *l) { return spin_is_locked(l); }

/* ---- rwlocks ---- */
void oxx_rwlock_init(rwlock_t *l) { rwlock_init(l); }
void oxx_read_lock(rwlock_t *l) { read_lock(l); }
void oxx_read_unlock(rwlock_t *l) { read_unlock(l); }
void oxx_write_lock(rwlock_t *l) { write_lock(l); }
void oxx_write_unlock(rwlock_t *l) { write_unlock(l); }
bool oxx_rw_is_locked(rwlock_t *l) { return rw_is_locked(l); }
bool oxx_rw_is_write_locked(rwlock_t *l) { return rw_is_write_locked(l); }

/* ---- guest access ---- */
unsigned long oxx_copy_from_guest(void *to, uint64_t from, unsigned int len)
{
    return raw_copy_from_guest(to, (const void *)(uintptr_t)from, len);
}
unsigned long oxx_copy_to_guest(uint64_t to, const void *from, unsigned int len)
{
    return raw_copy_to_guest((void *)(uintptr_t)to, from, len);
}

/* ---- domains ---- */
struct domain *oxx_current_domain(void) { return current->domain; }
struct vcpu *oxx_current_vcpu(void) { return current; }
struct domain *oxx_rcu_lock_domain_by_id(domid_t id) { return rcu_lock_domain_by_id(id); }
void oxx_rcu_unlock_domain(struct domain *d) { rcu_unlock_domain(d); }
bool oxx_get_domain(struct domain *d) { return get_domain(d); }
void oxx_put_domain(struct domain *d) { put_domain(d); }
domid_t oxx_domain_id(const struct domain *d) { return d->domain_id; }

/* ---- vCPUs ---- */
void oxx_vcpu_kick(struct vcpu *v) { vcpu_kick(v); }

/* ---- page mapping ---- */
void *oxx_map_domain_page(unsigned long mfn) { return map_domain_page(_mfn(mfn)); }
void oxx_unmap_domain_page(const void *va) { unmap_domain_page(va); }
