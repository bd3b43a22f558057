/*
 * xen-rust-glue: the C helpers that Rust calls, and the Xen headers bindgen reads.
 *
 * Every Xen macro or static inline that Rust needs gets a one-line wrapper here with the
 * prefix oxx_. Nothing else in the Rust tree calls Xen C directly, except real (exported)
 * Xen functions that bindgen sees in the headers included below.
 */
#ifndef OXX_HELPERS_H
#define OXX_HELPERS_H

#include <xen/types.h>
#include <xen/errno.h>
#include <xen/lib.h>
#include <xen/spinlock.h>
#include <xen/rwlock.h>
#include <xen/sched.h>
#include <xen/event.h>
#include <xen/guest_access.h>
#include <xen/domain_page.h>
#include <public/xen.h>
#include <public/event_channel.h>
#include <xen/hypercall.h>
#include <xen/irq.h>
#include <xen/xmalloc.h>
#include <xsm/xsm.h>
#include <asm/guest_atomics.h>
#include <xen/mm.h>
#include <xen/paging.h>

/*
 * Xen's config.h sets `#pragma GCC visibility push(hidden)`; bindgen skips hidden functions
 * (it assumes they cannot be linked). Xen is one static link, so default visibility for the
 * helpers changes nothing in the binary.
 */
#pragma GCC visibility push(default)

/* printk.c: print len bytes of s (no NUL needed); panic with such a message. */
void oxx_printk_str(const char *s, unsigned long len);
void noreturn oxx_panic_str(const char *s, unsigned long len);

/* spinlock.h */
void oxx_spin_lock_init(spinlock_t *l);
void oxx_spin_lock(spinlock_t *l);
void oxx_spin_unlock(spinlock_t *l);
unsigned long oxx_spin_lock_irqsave(spinlock_t *l);
void oxx_spin_unlock_irqrestore(spinlock_t *l, unsigned long flags);
bool oxx_spin_is_locked(spinlock_t *l);

/* rwlock.h (all static inlines) */
void oxx_rwlock_init(rwlock_t *l);
void oxx_read_lock(rwlock_t *l);
void oxx_read_unlock(rwlock_t *l);
void oxx_write_lock(rwlock_t *l);
void oxx_write_unlock(rwlock_t *l);
bool oxx_rw_is_locked(rwlock_t *l);
bool oxx_rw_is_write_locked(rwlock_t *l);

/* guest_access.h: guest virtual address of the current vCPU; returns bytes NOT copied. */
unsigned long oxx_copy_from_guest(void *to, uint64_t from, unsigned int len);
unsigned long oxx_copy_to_guest(uint64_t to, const void *from, unsigned int len);

/* sched.h: domain references */
struct domain *oxx_current_domain(void);
struct vcpu *oxx_current_vcpu(void);
struct domain *oxx_rcu_lock_domain_by_id(domid_t id);
void oxx_rcu_unlock_domain(struct domain *d);
bool oxx_get_domain(struct domain *d);
void oxx_put_domain(struct domain *d);
domid_t oxx_domain_id(const struct domain *d);

/* event.h / vcpu */
void oxx_vcpu_kick(struct vcpu *v);
void oxx_vcpu_mark_events_pending(struct vcpu *v);
void oxx_vcpu_unblock(struct vcpu *v);

/* domain_page.h */
void *oxx_map_domain_page(unsigned long mfn);
void oxx_unmap_domain_page(const void *va);

/* rwlock.h: irq-saving and try variants (v->virq_lock, chn->lock in VIRQ delivery) */
unsigned long oxx_read_lock_irqsave(rwlock_t *l);
void oxx_read_unlock_irqrestore(rwlock_t *l, unsigned long flags);
unsigned long oxx_write_lock_irqsave(rwlock_t *l);
void oxx_write_unlock_irqrestore(rwlock_t *l, unsigned long flags);
bool oxx_read_trylock(rwlock_t *l);
unsigned long oxx_local_irq_save(void);
void oxx_local_irq_restore(unsigned long flags);
/* preempt.h: for the self-test of the lock guards (a lock taken or released changes it) */
unsigned int oxx_preempt_count(void);

/* sched.h: more domain and vCPU helpers */
struct domain *oxx_rcu_lock_domain_by_any_id(domid_t id);
void oxx_rcu_lock_domain(struct domain *d);
struct vcpu *oxx_domain_vcpu(const struct domain *d, unsigned int vcpu_id);
bool oxx_hypercall_preempt_check(void);
struct domain *oxx_hardware_domain(void);
/* the EVTCHNOP_reset_cont continuation of event_channel_op(cmd, arg) */
long oxx_evtchn_reset_continuation(uint64_t arg);
/* default notification of a Xen-attached channel: wake v if blocked in Xen */
void oxx_default_xen_notification(struct vcpu *v, unsigned int port);

/* nospec.h: clamp a guest-controlled index under speculation (0 if idx >= size) */
unsigned long oxx_array_index_nospec(unsigned long idx, unsigned long size);

/* bitops on Xen-owned bitmaps (d->poll_mask) */
bool oxx_bitmap_empty(const unsigned long *map, unsigned int bits);
unsigned int oxx_find_next_bit(const unsigned long *map, unsigned int bits, unsigned int from);
bool oxx_test_and_clear_bit(unsigned int nr, unsigned long *map);
bool oxx_test_bit(unsigned int nr, const unsigned long *map);

/* xmalloc.h */
void *oxx_xzalloc_bytes(unsigned long size, unsigned long align);
void oxx_xfree(void *p);

/* xsm.h (static inlines dispatching to the XSM module; default action as event_channel.c) */
int oxx_xsm_evtchn_unbound(struct domain *d, struct evtchn *chn, domid_t id2);
int oxx_xsm_evtchn_interdomain(struct domain *d1, struct evtchn *chn1,
                               struct domain *d2, struct evtchn *chn2);
void oxx_xsm_evtchn_close_post(struct evtchn *chn);
int oxx_xsm_evtchn_send(struct domain *d, struct evtchn *chn);
int oxx_xsm_evtchn_status(struct domain *d, struct evtchn *chn);
int oxx_xsm_evtchn_reset(struct domain *d1, struct domain *d2);
int oxx_xsm_alloc_security_evtchns(struct evtchn *chn, unsigned int nr);
void oxx_xsm_free_security_evtchns(struct evtchn *chn, unsigned int nr);
char *oxx_xsm_show_security_evtchn(struct domain *d, const struct evtchn *chn);

/* 2-level ABI bits in the guest's shared_info / vcpu_info (asm/guest_atomics.h, bounded) */
bool oxx_evtchn_2l_test_and_set_pending(struct domain *d, unsigned int port);
void oxx_evtchn_2l_clear_pending(struct domain *d, unsigned int port);
bool oxx_evtchn_2l_test_mask(const struct domain *d, unsigned int port);
bool oxx_evtchn_2l_test_and_clear_mask(struct domain *d, unsigned int port);
bool oxx_evtchn_2l_test_and_set_sel(struct vcpu *v, unsigned int word);
bool oxx_evtchn_2l_test_sel(const struct vcpu *v, unsigned int word);
unsigned int oxx_bits_per_evtchn_word(const struct domain *d);

/* event.h / event_channel.h port-op inlines (evtchn_usable() check, then the ABI's op) */
void oxx_evtchn_port_init(struct domain *d, struct evtchn *chn);
void oxx_evtchn_port_set_pending(struct domain *d, unsigned int vcpu_id, struct evtchn *chn);
void oxx_evtchn_port_clear_pending(struct domain *d, struct evtchn *chn);
void oxx_evtchn_port_unmask(struct domain *d, struct evtchn *chn);
bool oxx_evtchn_is_busy(const struct domain *d, const struct evtchn *chn);
int oxx_evtchn_port_set_priority(struct domain *d, struct evtchn *chn, unsigned int prio);
bool oxx_evtchn_is_pending(const struct domain *d, const struct evtchn *chn);
bool oxx_evtchn_is_masked(const struct domain *d, const struct evtchn *chn);
void oxx_evtchn_port_print_state(struct domain *d, const struct evtchn *chn);

/* FIFO ABI: guest pages mapped globally (event_fifo.c's map_guest_page), bounded guest
 * atomics on 32-bit event words, cmpxchg on a mapped word */
int oxx_map_guest_page(struct domain *d, uint64_t gfn, void **virt);
void oxx_unmap_guest_page(void *virt);
bool oxx_guest_test_and_set_bit(struct domain *d, unsigned int nr, void *p);
bool oxx_guest_test_bit(struct domain *d, unsigned int nr, const void *p);
void oxx_guest_set_bit(struct domain *d, unsigned int nr, void *p);
void oxx_guest_clear_bit(struct domain *d, unsigned int nr, void *p);
uint32_t oxx_cmpxchg32(uint32_t *p, uint32_t old, uint32_t new);

/* pirqs (arm: none can be bound; kept for the C paths' shape) */
#ifdef OXX_XEN_PIRQ /* the tree has PIRQs (build/tree.rs) */
struct pirq *oxx_pirq_get_info(struct domain *d, int pirq);
void oxx_pirq_set_affinity_of_vcpu(struct domain *d, int pirq, const struct vcpu *v);
#endif

/* the 'e' key dump */
void oxx_printk_poll_mask(const struct domain *d);
bool oxx_for_each_domain(bool (*fn)(struct domain *d, void *ctx), void *ctx);

#pragma GCC visibility pop

/* Topic files. */
#include "static_shm.h"
#include "v4v.h"

#endif /* OXX_HELPERS_H */
