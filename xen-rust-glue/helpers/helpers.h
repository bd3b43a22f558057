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

/* domain_page.h */
void *oxx_map_domain_page(unsigned long mfn);
void oxx_unmap_domain_page(const void *va);

#pragma GCC visibility pop

/* Topic files. */
#include "static_shm.h"

#endif /* OXX_HELPERS_H */
