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
void oxx_vcpu_mark_events_pending(struct vcpu *v) { vcpu_mark_events_pending(v); }
void oxx_vcpu_unblock(struct vcpu *v) { vcpu_unblock(v); }

/* ---- page mapping ---- */
void *oxx_map_domain_page(unsigned long mfn) { return map_domain_page(_mfn(mfn)); }
void oxx_unmap_domain_page(const void *va) { unmap_domain_page(va); }

/* ---- rwlock variants ---- */
unsigned long oxx_read_lock_irqsave(rwlock_t *l)
{
    unsigned long flags;

    read_lock_irqsave(l, flags);
    return flags;
}
void oxx_read_unlock_irqrestore(rwlock_t *l, unsigned long flags)
{
    read_unlock_irqrestore(l, flags);
}
unsigned long oxx_write_lock_irqsave(rwlock_t *l)
{
    unsigned long flags;

    write_lock_irqsave(l, flags);
    return flags;
}
void oxx_write_unlock_irqrestore(rwlock_t *l, unsigned long flags)
{
    write_unlock_irqrestore(l, flags);
}
bool oxx_read_trylock(rwlock_t *l) { return read_trylock(l); }
unsigned long oxx_local_irq_save(void)
{
    unsigned long flags;

    local_irq_save(flags);
    return flags;
}
void oxx_local_irq_restore(unsigned long flags) { local_irq_restore(flags); }
unsigned int oxx_preempt_count(void) { return preempt_count(); }

/* ---- more domain / vCPU ---- */
struct domain *oxx_rcu_lock_domain_by_any_id(domid_t id) { return rcu_lock_domain_by_any_id(id); }
void oxx_rcu_lock_domain(struct domain *d) { rcu_lock_domain(d); }
struct vcpu *oxx_domain_vcpu(const struct domain *d, unsigned int id) { return domain_vcpu(d, id); }
bool oxx_hypercall_preempt_check(void) { return hypercall_preempt_check(); }
struct domain *oxx_hardware_domain(void) { return hardware_domain; }
long oxx_evtchn_reset_continuation(uint64_t arg)
{
    XEN_GUEST_HANDLE_PARAM(void) h = guest_handle_from_ptr((void *)(uintptr_t)arg, void);

    return hypercall_create_continuation(__HYPERVISOR_event_channel_op, "ih",
                                         EVTCHNOP_reset_cont, h);
}
void oxx_default_xen_notification(struct vcpu *v, unsigned int port)
{
    if ( test_and_clear_bit(_VPF_blocked_in_xen, &v->pause_flags) )
        vcpu_wake(v);
}

/* ---- speculation ---- */
unsigned long oxx_array_index_nospec(unsigned long idx, unsigned long size)
{
    return array_index_nospec(idx, size);
}

/* ---- bitmaps ---- */
bool oxx_bitmap_empty(const unsigned long *map, unsigned int bits) { return bitmap_empty(map, bits); }
unsigned int oxx_find_next_bit(const unsigned long *map, unsigned int bits, unsigned int from)
{
    return find_next_bit(map, bits, from);
}
bool oxx_test_and_clear_bit(unsigned int nr, unsigned long *map) { return test_and_clear_bit(nr, map); }
bool oxx_test_bit(unsigned int nr, const unsigned long *map) { return test_bit(nr, map); }

/* ---- xmalloc ---- */
void *oxx_xzalloc_bytes(unsigned long size, unsigned long align) { return _xzalloc(size, align); }
void oxx_xfree(void *p) { xfree(p); }

/* ---- XSM ---- */
int oxx_xsm_evtchn_unbound(struct domain *d, struct evtchn *chn, domid_t id2)
{
    return xsm_evtchn_unbound(XSM_TARGET, d, chn, id2);
}
int oxx_xsm_evtchn_interdomain(struct domain *d1, struct evtchn *chn1,
                               struct domain *d2, struct evtchn *chn2)
{
    return xsm_evtchn_interdomain(XSM_HOOK, d1, chn1, d2, chn2);
}
void oxx_xsm_evtchn_close_post(struct evtchn *chn) { xsm_evtchn_close_post(chn); }
int oxx_xsm_evtchn_send(struct domain *d, struct evtchn *chn) { return xsm_evtchn_send(XSM_HOOK, d, chn); }
int oxx_xsm_evtchn_status(struct domain *d, struct evtchn *chn) { return xsm_evtchn_status(XSM_TARGET, d, chn); }
int oxx_xsm_evtchn_reset(struct domain *d1, struct domain *d2) { return xsm_evtchn_reset(XSM_TARGET, d1, d2); }
int oxx_xsm_alloc_security_evtchns(struct evtchn *chn, unsigned int nr)
{
    return xsm_alloc_security_evtchns(chn, nr);
}
void oxx_xsm_free_security_evtchns(struct evtchn *chn, unsigned int nr)
{
    xsm_free_security_evtchns(chn, nr);
}
char *oxx_xsm_show_security_evtchn(struct domain *d, const struct evtchn *chn)
{
    return xsm_show_security_evtchn(d, chn);
}

/* ---- 2-level ABI bits ---- */
bool oxx_evtchn_2l_test_and_set_pending(struct domain *d, unsigned int port)
{
    return guest_test_and_set_bit(d, port, &shared_info(d, evtchn_pending));
}
void oxx_evtchn_2l_clear_pending(struct domain *d, unsigned int port)
{
    guest_clear_bit(d, port, &shared_info(d, evtchn_pending));
}
bool oxx_evtchn_2l_test_mask(const struct domain *d, unsigned int port)
{
    return guest_test_bit(d, port, &shared_info(d, evtchn_mask));
}
bool oxx_evtchn_2l_test_and_clear_mask(struct domain *d, unsigned int port)
{
    return guest_test_and_clear_bit(d, port, &shared_info(d, evtchn_mask));
}
bool oxx_evtchn_2l_test_and_set_sel(struct vcpu *v, unsigned int word)
{
    return guest_test_and_set_bit(v->domain, word, &vcpu_info(v, evtchn_pending_sel));
}
bool oxx_evtchn_2l_test_sel(const struct vcpu *v, unsigned int word)
{
    return test_bit(word, &vcpu_info(v, evtchn_pending_sel));
}
unsigned int oxx_bits_per_evtchn_word(const struct domain *d) { return BITS_PER_EVTCHN_WORD(d); }

/* ---- pirqs (OXX_XEN_PIRQ: the tree has them, build/tree.rs) ---- */
#ifdef OXX_XEN_PIRQ
struct pirq *oxx_pirq_get_info(struct domain *d, int pirq) { return pirq_get_info(d, pirq); }
void oxx_pirq_set_affinity_of_vcpu(struct domain *d, int pirq, const struct vcpu *v)
{
    pirq_set_affinity(d, pirq, cpumask_of(v->processor));
}
#endif

/* ---- 'e' key ---- */
void oxx_printk_poll_mask(const struct domain *d)
{
    printk("Event channel information for domain %d:\n"
           "Polling vCPUs: {%*pbl}\n"
           "    port [p/m/s]\n", d->domain_id, d->max_vcpus, d->poll_mask);
}
bool oxx_for_each_domain(bool (*fn)(struct domain *d, void *ctx), void *ctx)
{
    struct domain *d;
    bool ok = true;

    rcu_read_lock(&domlist_read_lock);
    for_each_domain ( d )
        if ( !fn(d, ctx) )
        {
            ok = false;
            break;
        }
    rcu_read_unlock(&domlist_read_lock);
    return ok;
}

/* ---- port-op inlines ---- */
void oxx_evtchn_port_init(struct domain *d, struct evtchn *chn) { evtchn_port_init(d, chn); }
void oxx_evtchn_port_set_pending(struct domain *d, unsigned int vcpu_id, struct evtchn *chn)
{
    evtchn_port_set_pending(d, vcpu_id, chn);
}
void oxx_evtchn_port_clear_pending(struct domain *d, struct evtchn *chn)
{
    evtchn_port_clear_pending(d, chn);
}
/* common/event_channel.h's evtchn_port_unmask() (a private header of the C we replace) */
void oxx_evtchn_port_unmask(struct domain *d, struct evtchn *chn)
{
    if ( evtchn_usable(chn) )
        d->evtchn_port_ops->unmask(d, chn);
}
/* common/event_channel.h's evtchn_is_busy() */
bool oxx_evtchn_is_busy(const struct domain *d, const struct evtchn *chn)
{
    return d->evtchn_port_ops->is_busy && d->evtchn_port_ops->is_busy(d, chn);
}
/* common/event_channel.h's evtchn_port_set_priority() */
int oxx_evtchn_port_set_priority(struct domain *d, struct evtchn *chn, unsigned int prio)
{
    if ( !d->evtchn_port_ops->set_priority )
        return -ENOSYS;
    if ( !evtchn_usable(chn) )
        return -EACCES;
    return d->evtchn_port_ops->set_priority(d, chn, prio);
}
bool oxx_evtchn_is_pending(const struct domain *d, const struct evtchn *chn)
{
    return evtchn_is_pending(d, chn);
}
bool oxx_evtchn_is_masked(const struct domain *d, const struct evtchn *chn)
{
    return evtchn_is_masked(d, chn);
}
void oxx_evtchn_port_print_state(struct domain *d, const struct evtchn *chn)
{
    d->evtchn_port_ops->print_state(d, chn);
}

/* ---- FIFO ABI ---- */
/* event_fifo.c's map_guest_page() */
int oxx_map_guest_page(struct domain *d, uint64_t gfn, void **virt)
{
    struct page_info *p;

    p = get_page_from_gfn(d, gfn, NULL, P2M_ALLOC);
    if ( !p )
        return -EINVAL;

    if ( !get_page_type(p, PGT_writable_page) )
    {
        put_page(p);
        return -EINVAL;
    }

    *virt = __map_domain_page_global(p);
    if ( !*virt )
    {
        put_page_and_type(p);
        return -ENOMEM;
    }
    return 0;
}
/* event_fifo.c's unmap_guest_page() */
void oxx_unmap_guest_page(void *virt)
{
    struct page_info *page;

    if ( !virt )
        return;

    virt = (void *)((unsigned long)virt & PAGE_MASK);
    page = mfn_to_page(domain_page_map_to_mfn(virt));

    unmap_domain_page_global(virt);
    put_page_and_type(page);
}
bool oxx_guest_test_and_set_bit(struct domain *d, unsigned int nr, void *p)
{
    return guest_test_and_set_bit(d, nr, p);
}
bool oxx_guest_test_bit(struct domain *d, unsigned int nr, const void *p)
{
    /* 32-bit words, as Arm's bitops use: 4.22's test_bit() refuses narrower operands. */
    return guest_test_bit(d, nr, (const uint32_t *)p);
}
void oxx_guest_set_bit(struct domain *d, unsigned int nr, void *p) { guest_set_bit(d, nr, p); }
void oxx_guest_clear_bit(struct domain *d, unsigned int nr, void *p) { guest_clear_bit(d, nr, p); }
uint32_t oxx_cmpxchg32(uint32_t *p, uint32_t old, uint32_t new) { return cmpxchg(p, old, new); }
