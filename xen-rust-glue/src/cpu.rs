//! Inline Rust versions of the arm64 Xen macros on the hot path of every event channel
//! hypercall: `current`, `array_index_nospec()`, `domain_vcpu()` and `test_bit()`.
//!
//! Why not the `oxx_*` C helpers: Rust cannot inline across the language boundary, and each
//! helper call costs a call, a frame and a return around two to four instructions of work
//! (docs/performance.md has the measurements). Each function below is the same instruction sequence as the C
//! macro it names (arch/arm/include/asm/{current,percpu}.h, asm/arm64/system.h,
//! xen/sched.h), kept small enough to check against it by eye.

use crate::bindings as b;

unsafe extern "C" {
    /// `DEFINE_PER_CPU(struct vcpu *, curr_vcpu)` (arch/arm/domain.c): CPU 0's copy; CPU
    /// n's copy is at this address plus `__per_cpu_offset[n]`, which Xen keeps in TPIDR_EL2.
    static per_cpu__curr_vcpu: *mut b::vcpu;
    /// `DEFINE_PER_CPU(unsigned int, guest_safe_atomic_max)` (arch/arm/guest_atomics.c).
    static per_cpu__guest_safe_atomic_max: core::ffi::c_uint;
    /// arch/arm/arm64/lib/bitops.c: false if `max_try` attempts did not complete the op.
    fn set_bit_timeout(
        nr: core::ffi::c_int,
        p: *mut core::ffi::c_void,
        max_try: core::ffi::c_uint,
    ) -> bool;
    fn clear_bit_timeout(
        nr: core::ffi::c_int,
        p: *mut core::ffi::c_void,
        max_try: core::ffi::c_uint,
    ) -> bool;
    fn test_and_set_bit_timeout(
        nr: core::ffi::c_int,
        p: *mut core::ffi::c_void,
        oldbit: *mut core::ffi::c_int,
        max_try: core::ffi::c_uint,
    ) -> bool;
}

/// `this_cpu(var)` for CPU 0's copy at `var0`: this CPU's copy.
///
/// # Safety
/// `var0` is the address of a `DEFINE_PER_CPU` variable of type `T`, which this CPU has
/// initialised.
#[inline(always)]
unsafe fn this_cpu<T: Copy>(var0: *const T) -> T {
    let offset: usize;
    // SAFETY: reads TPIDR_EL2, which Xen sets to this CPU's per-CPU offset at start of day
    // and never changes (asm/percpu.h: this_cpu() uses the same register); no memory access.
    unsafe {
        core::arch::asm!("mrs {}, tpidr_el2", out(reg) offset,
                         options(nomem, nostack, preserves_flags))
    };
    // SAFETY: var0 + the offset is this CPU's slot (RELOC_HIDE in this_cpu()), initialised
    // by the caller's guarantee; a plain aligned read as C's.
    unsafe { *((var0 as usize).wrapping_add(offset) as *const T) }
}

/// `current` (`this_cpu(curr_vcpu)`): the vCPU this pCPU runs, whose hypercall we serve.
#[inline(always)]
pub fn current_vcpu() -> *mut b::vcpu {
    // SAFETY: curr_vcpu is a per-CPU `struct vcpu *`, written before any guest runs.
    unsafe { this_cpu(core::ptr::addr_of!(per_cpu__curr_vcpu)) }
}

/// asm/guest_atomics.h's `guest_test_and_set_bit(d, nr, p)`: bounded attempts first
/// (XSA-295); when a guest keeps the word busy past them, the C helper pauses the domain and
/// completes the operation, as C does.
///
/// # Safety
/// `d` is a live domain and `p` points to guest-shared memory with more than `nr` bits,
/// mapped for as long as the call lasts.
#[inline(always)]
pub unsafe fn guest_test_and_set_bit(
    d: *mut b::domain,
    nr: u32,
    p: *mut core::ffi::c_void,
) -> bool {
    let mut old: core::ffi::c_int = 0;
    // SAFETY: the caller's guarantees; guest_safe_atomic_max is a per-CPU unsigned int set
    // at CPU bring-up.
    unsafe {
        let max = this_cpu(core::ptr::addr_of!(per_cpu__guest_safe_atomic_max));
        if test_and_set_bit_timeout(nr as _, p, &mut old, max) {
            return old != 0;
        }
        b::oxx_guest_test_and_set_bit(d, nr, p)
    }
}

/// `current->domain`.
#[inline(always)]
pub fn current_domain() -> *mut b::domain {
    // SAFETY: `current` is a live vCPU while it runs (see current_vcpu()); `domain` is set at
    // vCPU creation and never changes.
    unsafe { (*current_vcpu()).domain }
}

/// `array_index_nospec(idx, size)`: `idx` if `idx < size`, else 0, also under speculation
/// (arm64's array_index_mask_nospec: cmp; sbc; csdb).
#[inline(always)]
pub fn array_index_nospec(idx: usize, size: usize) -> usize {
    let mask: usize;
    // SAFETY: register-only arithmetic and a speculation barrier; no memory access.
    unsafe {
        core::arch::asm!(
            "cmp {idx}, {size}",
            "sbc {mask}, xzr, xzr",
            "csdb",
            idx = in(reg) idx, size = in(reg) size, mask = out(reg) mask,
            options(nomem, nostack),
        )
    };
    idx & mask
}

/// `domain_vcpu(d, id)`: vCPU `id` of `d`, or NULL.
///
/// # Safety
/// `d` is a live domain.
#[inline(always)]
pub unsafe fn domain_vcpu(d: *const b::domain, id: u32) -> *mut b::vcpu {
    // SAFETY: the caller's live domain; d->vcpu has max_vcpus entries, set before the domain
    // is reachable; the index is clamped under speculation as C does.
    unsafe {
        let n = (*d).max_vcpus;
        if id >= n {
            return core::ptr::null_mut();
        }
        *(*d).vcpu.add(array_index_nospec(id as usize, n as usize))
    }
}

/// `test_bit(nr, map)` on a bitmap others change concurrently (a volatile word read, as C's).
///
/// # Safety
/// `map` has more than `nr` bits.
#[inline(always)]
pub unsafe fn test_bit(nr: u32, map: *const u64) -> bool {
    // SAFETY: the caller's bound; an aligned u64 read.
    let w = unsafe { map.add((nr / 64) as usize).read_volatile() };
    (w >> (nr % 64)) & 1 != 0
}

/// `bitmap_empty(map, bits)`.
///
/// # Safety
/// `map` has at least `bits` bits (rounded up to whole words).
#[inline(always)]
pub unsafe fn bitmap_empty(map: *const u64, bits: u32) -> bool {
    let words = bits.div_ceil(64);
    for i in 0..words {
        // SAFETY: i < words, inside the caller's bitmap.
        let mut w = unsafe { map.add(i as usize).read_volatile() };
        if i + 1 == words && bits % 64 != 0 {
            w &= (1u64 << (bits % 64)) - 1;
        }
        if w != 0 {
            return false;
        }
    }
    true
}

/// asm/guest_atomics.h's `guest_set_bit(d, nr, p)` (bounded first, as
/// [`guest_test_and_set_bit`]).
///
/// # Safety
/// As [`guest_test_and_set_bit`].
#[inline(always)]
pub unsafe fn guest_set_bit(d: *mut b::domain, nr: u32, p: *mut core::ffi::c_void) {
    // SAFETY: as guest_test_and_set_bit().
    unsafe {
        let max = this_cpu(core::ptr::addr_of!(per_cpu__guest_safe_atomic_max));
        if !set_bit_timeout(nr as _, p, max) {
            b::oxx_guest_set_bit(d, nr, p);
        }
    }
}

/// asm/guest_atomics.h's `guest_clear_bit(d, nr, p)`.
///
/// # Safety
/// As [`guest_test_and_set_bit`].
#[inline(always)]
pub unsafe fn guest_clear_bit(d: *mut b::domain, nr: u32, p: *mut core::ffi::c_void) {
    // SAFETY: as guest_test_and_set_bit().
    unsafe {
        let max = this_cpu(core::ptr::addr_of!(per_cpu__guest_safe_atomic_max));
        if !clear_bit_timeout(nr as _, p, max) {
            b::oxx_guest_clear_bit(d, nr, p);
        }
    }
}

/// Xen's arm64 `cmpxchg(p, old, new)` on 32 bits: full barriers around an exclusive
/// load/compare/store loop (asm/arm64/cmpxchg.h, __cmpxchg_mb); returns the value seen.
///
/// # Safety
/// `p` is a valid, 4-byte aligned u32 for the duration of the call.
#[inline(always)]
pub unsafe fn cmpxchg32(p: *mut u32, old: u32, new: u32) -> u32 {
    let seen: u32;
    // SAFETY: the caller's pointer; the asm only touches *p, atomically.
    unsafe {
        core::arch::asm!(
            "dmb ish",
            "2:",
            "ldxr {seen:w}, [{p}]",
            "cmp {seen:w}, {old:w}",
            "b.ne 3f",
            "stxr {fail:w}, {new:w}, [{p}]",
            "cbnz {fail:w}, 2b",
            "3:",
            "dmb ish",
            p = in(reg) p, old = in(reg) old, new = in(reg) new,
            seen = out(reg) seen, fail = out(reg) _,
            options(nostack),
        )
    };
    seen
}

/// C's `read_atomic()` of a `u16` that another CPU may store to without a lock (e.g.
/// `chn->notify_vcpu_id`, moved by EVTCHNOP_bind_vcpu under the event lock only): one
/// single-copy-atomic load, no ordering (C's is a volatile access).
///
/// # Safety
/// `p` is a valid, 2-byte aligned `u16` for the call, and every Rust access to it that may
/// race is atomic (this function or [`write_atomic_u16`]).
#[inline(always)]
pub unsafe fn read_atomic_u16(p: *const u16) -> u16 {
    // SAFETY: the caller's pointer, aligned, only accessed atomically while others may race.
    unsafe { core::sync::atomic::AtomicU16::from_ptr(p.cast_mut()) }
        .load(core::sync::atomic::Ordering::Relaxed)
}

/// C's `write_atomic()` of such a `u16`: one single-copy-atomic store.
///
/// # Safety
/// As [`read_atomic_u16`].
#[inline(always)]
pub unsafe fn write_atomic_u16(p: *mut u16, v: u16) {
    // SAFETY: as read_atomic_u16().
    unsafe { core::sync::atomic::AtomicU16::from_ptr(p) }
        .store(v, core::sync::atomic::Ordering::Relaxed)
}
