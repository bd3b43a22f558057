//! Locks over Xen's `spinlock_t` and `rwlock_t` that own the data they guard.
//!
//! The only way to reach the `T` inside a [`SpinLock<T>`] is the guard returned by
//! [`SpinLock::lock`]; the guard unlocks on drop. So a field guarded by a lock cannot be
//! touched without holding it, which C can only state in a comment.
//!
//! ```ignore
//! struct Port { state: SpinLock<State> }
//! let mut st = port.state.lock();
//! st.pending = true;           // through the guard
//! drop(st);                    // spin_unlock()
//! ```
//!
//! Every guard here is built in one place only: a private, `unsafe` constructor (`taken`),
//! called right after the C lock call that took the lock, inside the branch where it
//! succeeded. A guard's `Drop` unlocks, so a guard that exists without its lock would unlock
//! a lock this CPU does not hold (a trylock that built its guard eagerly with `then_some` did
//! exactly that: docs/architecture.md, "Rules for guards and Drop").
//!
//! The C calls are behind two small traits, [`RawSpinLock`] and [`RawRwLock`], implemented
//! for Xen's `spinlock_t` / `rwlock_t` (every call `#[inline(always)]` into the `oxx_*`
//! helper: the same code as before the traits) and, in host tests, for a fake that counts
//! lock and unlock calls and refuses an unlock it did not hand out.

#[cfg(xen)]
use crate::bindings as b;
use core::cell::UnsafeCell;
use core::ffi::c_ulong;
use core::mem::MaybeUninit;

/// The C calls behind [`SpinLock`]: one implementation per kind of C spinlock object.
///
/// # Safety
/// An implementation is a lock on the object `l` points to: `lock`/`lock_irqsave` return only
/// once this CPU holds it exclusively; `unlock`/`unlock_irqrestore` release a hold this CPU
/// took (with the flags `lock_irqsave` returned); `init` writes an unlocked lock; a bitwise
/// copy of an initialised, unlocked lock is an initialised, unlocked lock (plain data, no
/// self-pointers), which [`SpinLock::new`] and [`SpinLock::init_in_place`] rely on.
pub unsafe trait RawSpinLock {
    /// # Safety (all methods)
    /// `l` points to a lock object of this type, initialised (except for `init`) and alive
    /// for the call; unlocks only release holds the caller took.
    unsafe fn init(l: *mut Self);
    unsafe fn lock(l: *mut Self);
    unsafe fn unlock(l: *mut Self);
    unsafe fn lock_irqsave(l: *mut Self) -> c_ulong;
    unsafe fn unlock_irqrestore(l: *mut Self, flags: c_ulong);
    unsafe fn is_locked(l: *mut Self) -> bool;
}

/// The C calls behind [`RwLock`] and the [`raw`] guards.
///
/// # Safety
/// As [`RawSpinLock`], for a readers-writer lock: a read hold excludes writers, a write hold
/// excludes everyone; `read_trylock` returns `true` exactly when it took a read hold (and
/// then only).
pub unsafe trait RawRwLock {
    /// # Safety (all methods)
    /// As [`RawSpinLock::init`] and the rest.
    unsafe fn init(l: *mut Self);
    unsafe fn read_lock(l: *mut Self);
    unsafe fn read_trylock(l: *mut Self) -> bool;
    unsafe fn read_unlock(l: *mut Self);
    unsafe fn read_lock_irqsave(l: *mut Self) -> c_ulong;
    unsafe fn read_unlock_irqrestore(l: *mut Self, flags: c_ulong);
    unsafe fn write_lock(l: *mut Self);
    unsafe fn write_unlock(l: *mut Self);
    unsafe fn write_lock_irqsave(l: *mut Self) -> c_ulong;
    unsafe fn write_unlock_irqrestore(l: *mut Self, flags: c_ulong);
    unsafe fn is_locked(l: *mut Self) -> bool;
    unsafe fn is_write_locked(l: *mut Self) -> bool;
}

/// The spinlock object the types here use unless told otherwise: Xen's `spinlock_t` in
/// Xen's build, the counting fake in host tests.
#[cfg(xen)]
pub type SpinWord = b::spinlock_t;
#[cfg(all(test, not(xen)))]
pub type SpinWord = fake::FakeSpin;
/// The rwlock object: Xen's `rwlock_t`, or the counting fake in host tests.
#[cfg(xen)]
pub type RwWord = b::rwlock_t;
#[cfg(all(test, not(xen)))]
pub type RwWord = fake::FakeRw;

// SAFETY: the oxx_* helpers are spin_lock_init/spin_lock/spin_unlock/... on the spinlock_t
// they are given: Xen's own spinlock, which is plain data when unlocked.
#[cfg(xen)]
unsafe impl RawSpinLock for b::spinlock_t {
    #[inline(always)]
    unsafe fn init(l: *mut Self) {
        // SAFETY: the trait's contract (a writable lock object).
        unsafe { b::oxx_spin_lock_init(l) }
    }
    #[inline(always)]
    unsafe fn lock(l: *mut Self) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_spin_lock(l) }
    }
    #[inline(always)]
    unsafe fn unlock(l: *mut Self) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_spin_unlock(l) }
    }
    #[inline(always)]
    unsafe fn lock_irqsave(l: *mut Self) -> c_ulong {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_spin_lock_irqsave(l) }
    }
    #[inline(always)]
    unsafe fn unlock_irqrestore(l: *mut Self, flags: c_ulong) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_spin_unlock_irqrestore(l, flags) }
    }
    #[inline(always)]
    unsafe fn is_locked(l: *mut Self) -> bool {
        // SAFETY: the trait's contract; reads the lock word only.
        unsafe { b::oxx_spin_is_locked(l) }
    }
}

// SAFETY: the oxx_* helpers are rwlock_init/read_lock/read_trylock/... on the rwlock_t they
// are given: Xen's own rwlock (read_trylock returns true iff it took a read hold).
#[cfg(xen)]
unsafe impl RawRwLock for b::rwlock_t {
    #[inline(always)]
    unsafe fn init(l: *mut Self) {
        // SAFETY: the trait's contract (a writable lock object).
        unsafe { b::oxx_rwlock_init(l) }
    }
    #[inline(always)]
    unsafe fn read_lock(l: *mut Self) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_read_lock(l) }
    }
    #[inline(always)]
    unsafe fn read_trylock(l: *mut Self) -> bool {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_read_trylock(l) }
    }
    #[inline(always)]
    unsafe fn read_unlock(l: *mut Self) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_read_unlock(l) }
    }
    #[inline(always)]
    unsafe fn read_lock_irqsave(l: *mut Self) -> c_ulong {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_read_lock_irqsave(l) }
    }
    #[inline(always)]
    unsafe fn read_unlock_irqrestore(l: *mut Self, flags: c_ulong) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_read_unlock_irqrestore(l, flags) }
    }
    #[inline(always)]
    unsafe fn write_lock(l: *mut Self) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_write_lock(l) }
    }
    #[inline(always)]
    unsafe fn write_unlock(l: *mut Self) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_write_unlock(l) }
    }
    #[inline(always)]
    unsafe fn write_lock_irqsave(l: *mut Self) -> c_ulong {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_write_lock_irqsave(l) }
    }
    #[inline(always)]
    unsafe fn write_unlock_irqrestore(l: *mut Self, flags: c_ulong) {
        // SAFETY: the trait's contract.
        unsafe { b::oxx_write_unlock_irqrestore(l, flags) }
    }
    #[inline(always)]
    unsafe fn is_locked(l: *mut Self) -> bool {
        // SAFETY: the trait's contract; reads the lock word only.
        unsafe { b::oxx_rw_is_locked(l) }
    }
    #[inline(always)]
    unsafe fn is_write_locked(l: *mut Self) -> bool {
        // SAFETY: the trait's contract; reads the lock word only.
        unsafe { b::oxx_rw_is_write_locked(l) }
    }
}

/// `T` guarded by a Xen spinlock.
pub struct SpinLock<T, L: RawSpinLock = SpinWord> {
    lock: UnsafeCell<L>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reachable through a guard, and the lock gives mutual exclusion
// between CPUs, so sharing the lock is as safe as sending T.
unsafe impl<T: Send, L: RawSpinLock> Sync for SpinLock<T, L> {}
// SAFETY: moving the lock moves T with it; an unlocked lock holds no pointers (RawSpinLock).
unsafe impl<T: Send, L: RawSpinLock> Send for SpinLock<T, L> {}

// `new` is on this build's lock object only: a type parameter's default does not take part in
// inference, so a generic `new` would need `SpinLock::<T, _>` spelt out at every call.
impl<T> SpinLock<T> {
    pub fn new(data: T) -> Self {
        let mut l = MaybeUninit::<SpinWord>::uninit();
        // SAFETY: init writes a whole unlocked lock into `l`.
        unsafe { SpinWord::init(l.as_mut_ptr()) };
        // INVARIANT: the lock is initialised and unlocked; an unlocked lock is plain data (no
        // self-pointers), so moving it into Self is what C's `*l = SPIN_LOCK_UNLOCKED` does.
        // SAFETY: initialised just above.
        Self { lock: UnsafeCell::new(unsafe { l.assume_init() }), data: UnsafeCell::new(data) }
    }
}

impl<T, L: RawSpinLock> SpinLock<T, L> {
    /// Initialise, in place, the locks of `n` `SpinLock<T>`s spaced `stride` bytes apart that
    /// live in zeroed memory (C: `spin_lock_init(&q[i].lock)` for each of an xzalloc'd
    /// array), without building each on the stack and copying it in. The lock's init runs
    /// once; the other locks get a copy of its unlocked value (plain data, as in new()).
    ///
    /// # Safety
    /// `first` points to writable memory for a `SpinLock<T>` whose data is already a valid T
    /// (e.g. zeroed memory for a T where zero is valid), and so does `first + k * stride` for
    /// every k < n; nothing else refers to those locks yet.
    pub unsafe fn init_in_place(first: *mut Self, stride: usize, n: usize) {
        if n == 0 {
            return;
        }
        // SAFETY: the caller gives writable memory for `first`; raw_get makes no reference.
        let lock0 = unsafe { UnsafeCell::raw_get(core::ptr::addr_of!((*first).lock)) };
        // SAFETY: init writes a whole unlocked lock through lock0.
        unsafe { L::init(lock0) };
        for k in 1..n {
            // SAFETY: the caller guarantees `first + k * stride` is another such SpinLock<T>,
            // distinct from the first; copying an unlocked lock is an assignment of the
            // unlocked value (RawSpinLock's contract).
            unsafe {
                let other = first.byte_add(k * stride);
                let lock = UnsafeCell::raw_get(core::ptr::addr_of!((*other).lock));
                lock.write(lock0.read());
            }
        }
    }

    /// `spin_lock()`.
    pub fn lock(&self) -> SpinLockGuard<'_, T, L> {
        // SAFETY: the lock was initialised in new() and lives as long as &self.
        unsafe { L::lock(self.lock.get()) };
        // SAFETY: taken just above, by this CPU, without irqsave.
        unsafe { SpinLockGuard::taken(self, None) }
    }

    /// `spin_lock_irqsave()`: for data also touched from interrupt context.
    pub fn lock_irqsave(&self) -> SpinLockGuard<'_, T, L> {
        // SAFETY: as in lock().
        let flags = unsafe { L::lock_irqsave(self.lock.get()) };
        // SAFETY: taken just above, by this CPU, with these flags.
        unsafe { SpinLockGuard::taken(self, Some(flags)) }
    }

    /// `spin_is_locked()`: by anyone. For assertions and the self-test only.
    pub fn is_locked(&self) -> bool {
        // SAFETY: reading the lock word of an initialised lock.
        unsafe { L::is_locked(self.lock.get()) }
    }
}

/// `T` guarded by a Xen rwlock: many readers or one writer.
pub struct RwLock<T, L: RawRwLock = RwWord> {
    lock: UnsafeCell<L>,
    data: UnsafeCell<T>,
}

// SAFETY: readers get &T only (T: Sync), the writer gets &mut T under exclusion (T: Send).
unsafe impl<T: Send + Sync, L: RawRwLock> Sync for RwLock<T, L> {}
// SAFETY: an unlocked lock holds no pointers (RawRwLock).
unsafe impl<T: Send, L: RawRwLock> Send for RwLock<T, L> {}

impl<T> RwLock<T> {
    pub fn new(data: T) -> Self {
        let mut l = MaybeUninit::<RwWord>::uninit();
        // SAFETY: init writes a whole unlocked lock into `l`.
        unsafe { RwWord::init(l.as_mut_ptr()) };
        // SAFETY: initialised just above; an unlocked lock is plain data.
        Self { lock: UnsafeCell::new(unsafe { l.assume_init() }), data: UnsafeCell::new(data) }
    }
}

impl<T, L: RawRwLock> RwLock<T, L> {
    pub fn read(&self) -> ReadGuard<'_, T, L> {
        // SAFETY: initialised lock, alive for &self.
        unsafe { L::read_lock(self.lock.get()) };
        // SAFETY: one read hold taken just above, by this CPU.
        unsafe { ReadGuard::taken(self) }
    }

    pub fn write(&self) -> WriteGuard<'_, T, L> {
        // SAFETY: initialised lock, alive for &self.
        unsafe { L::write_lock(self.lock.get()) };
        // SAFETY: the write hold taken just above, by this CPU.
        unsafe { WriteGuard::taken(self) }
    }

    /// `rw_is_locked()`: held by anyone, read or write. For assertions and the self-test.
    pub fn is_locked(&self) -> bool {
        // SAFETY: reading the lock word of an initialised lock.
        unsafe { L::is_locked(self.lock.get()) }
    }

    /// `rw_is_write_locked()`.
    pub fn is_write_locked(&self) -> bool {
        // SAFETY: as above.
        unsafe { L::is_write_locked(self.lock.get()) }
    }
}

pub use held::{ReadGuard, SpinLockGuard, WriteGuard};

/// The guards of the owning locks. Their fields are private to this module, so the only way
/// to make one is its `taken` constructor, whose contract is that the lock was just taken.
mod held {
    use super::{RawRwLock, RawSpinLock, RwLock, SpinLock};
    use core::ffi::c_ulong;
    use core::ops::{Deref, DerefMut};

    /// Holds a [`SpinLock`]; gives `&mut T`; unlocks on drop.
    pub struct SpinLockGuard<'a, T, L: RawSpinLock = super::SpinWord> {
        owner: &'a SpinLock<T, L>,
        irq_flags: Option<c_ulong>,
    }

    impl<'a, T, L: RawSpinLock> SpinLockGuard<'a, T, L> {
        /// # Safety
        /// This CPU has just taken `owner`'s lock (with irqsave, returning `irq_flags`, when
        /// that is `Some`) and hands the hold to the guard: call it only where that lock call
        /// has succeeded, never before it.
        #[inline(always)]
        pub(super) unsafe fn taken(owner: &'a SpinLock<T, L>, irq_flags: Option<c_ulong>) -> Self {
            Self { owner, irq_flags }
        }
    }

    impl<T, L: RawSpinLock> Deref for SpinLockGuard<'_, T, L> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard holds the lock, so no one else reaches the data.
            unsafe { &*self.owner.data.get() }
        }
    }

    impl<T, L: RawSpinLock> DerefMut for SpinLockGuard<'_, T, L> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in deref(); &mut self makes this the only reference through this guard.
            unsafe { &mut *self.owner.data.get() }
        }
    }

    impl<T, L: RawSpinLock> Drop for SpinLockGuard<'_, T, L> {
        fn drop(&mut self) {
            match self.irq_flags {
                // SAFETY: this guard took the lock with irqsave and releases it exactly once.
                Some(f) => unsafe { L::unlock_irqrestore(self.owner.lock.get(), f) },
                // SAFETY: this guard took the lock and releases it exactly once.
                None => unsafe { L::unlock(self.owner.lock.get()) },
            }
        }
    }

    /// Holds a read lock of a [`RwLock`]; gives `&T`; unlocks on drop.
    pub struct ReadGuard<'a, T, L: RawRwLock = super::RwWord> {
        owner: &'a RwLock<T, L>,
    }

    impl<'a, T, L: RawRwLock> ReadGuard<'a, T, L> {
        /// # Safety
        /// This CPU has just taken one read hold of `owner`'s lock: call it only where that
        /// lock call has succeeded.
        #[inline(always)]
        pub(super) unsafe fn taken(owner: &'a RwLock<T, L>) -> Self {
            Self { owner }
        }
    }

    impl<T, L: RawRwLock> Deref for ReadGuard<'_, T, L> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: a read lock excludes writers; readers only get shared references.
            unsafe { &*self.owner.data.get() }
        }
    }

    impl<T, L: RawRwLock> Drop for ReadGuard<'_, T, L> {
        fn drop(&mut self) {
            // SAFETY: this guard holds one read lock and releases it once.
            unsafe { L::read_unlock(self.owner.lock.get()) }
        }
    }

    /// Holds the write lock of a [`RwLock`]; gives `&mut T`; unlocks on drop.
    pub struct WriteGuard<'a, T, L: RawRwLock = super::RwWord> {
        owner: &'a RwLock<T, L>,
    }

    impl<'a, T, L: RawRwLock> WriteGuard<'a, T, L> {
        /// # Safety
        /// This CPU has just taken the write lock of `owner`: call it only where that lock
        /// call has succeeded.
        #[inline(always)]
        pub(super) unsafe fn taken(owner: &'a RwLock<T, L>) -> Self {
            Self { owner }
        }
    }

    impl<T, L: RawRwLock> Deref for WriteGuard<'_, T, L> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the write lock excludes everyone else.
            unsafe { &*self.owner.data.get() }
        }
    }

    impl<T, L: RawRwLock> DerefMut for WriteGuard<'_, T, L> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: the write lock excludes everyone else.
            unsafe { &mut *self.owner.data.get() }
        }
    }

    impl<T, L: RawRwLock> Drop for WriteGuard<'_, T, L> {
        fn drop(&mut self) {
            // SAFETY: this guard holds the write lock and releases it once.
            unsafe { L::write_unlock(self.owner.lock.get()) }
        }
    }
}

/// Guards over a lock that C owns: a `rwlock_t` field inside a C structure (`d->event_lock`,
/// `chn->lock`, `v->virq_lock`), which Rust cannot wrap in a [`RwLock<T>`] because the guarded
/// data is C's too. Each guard unlocks once, on drop, the way it locked (irqsave or not).
///
/// The lock functions are the only constructors, and each builds its guard after (for
/// [`ReadGuard::try_lock`]: only when) the lock call succeeded.
pub mod raw {
    use super::{RawRwLock, RwWord};
    pub use guards::{ReadGuard, ReadGuardIrq, WriteGuard, WriteGuardIrq};

    // The plain guards are one pointer wide, so that moving them (returned from a lock
    // helper, in a tuple from lock_pair) costs a register, not a memcpy; the irqsave variants
    // carry the saved flags in their own types.

    /// The guard types, with fields private to this module: only `taken` builds them.
    mod guards {
        use super::{RawRwLock, RwWord};
        use core::ffi::c_ulong;

        /// Holds `read_lock(l)`.
        pub struct ReadGuard<L: RawRwLock = RwWord> {
            l: *mut L,
        }

        /// Holds `read_lock_irqsave(l)`.
        pub struct ReadGuardIrq<L: RawRwLock = RwWord> {
            l: *mut L,
            flags: c_ulong,
        }

        /// Holds `write_lock(l)`.
        pub struct WriteGuard<L: RawRwLock = RwWord> {
            l: *mut L,
        }

        /// Holds `write_lock_irqsave(l)`.
        pub struct WriteGuardIrq<L: RawRwLock = RwWord> {
            l: *mut L,
            flags: c_ulong,
        }

        impl<L: RawRwLock> ReadGuard<L> {
            /// # Safety
            /// This CPU has just taken one read hold of `l`, which outlives the guard: call it
            /// only where that lock call has succeeded (for a trylock: in its `true` branch).
            #[inline(always)]
            pub(in super::super) unsafe fn taken(l: *mut L) -> Self {
                Self { l }
            }
        }

        impl<L: RawRwLock> ReadGuardIrq<L> {
            /// # Safety
            /// As [`ReadGuard::taken`], the hold taken with irqsave, which returned `flags`.
            #[inline(always)]
            pub(in super::super) unsafe fn taken(l: *mut L, flags: c_ulong) -> Self {
                Self { l, flags }
            }
        }

        impl<L: RawRwLock> WriteGuard<L> {
            /// # Safety
            /// This CPU has just taken the write lock `l`, which outlives the guard.
            #[inline(always)]
            pub(in super::super) unsafe fn taken(l: *mut L) -> Self {
                Self { l }
            }
        }

        impl<L: RawRwLock> WriteGuardIrq<L> {
            /// # Safety
            /// As [`WriteGuard::taken`], with irqsave, which returned `flags`.
            #[inline(always)]
            pub(in super::super) unsafe fn taken(l: *mut L, flags: c_ulong) -> Self {
                Self { l, flags }
            }
        }

        impl<L: RawRwLock> Drop for ReadGuard<L> {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: this guard holds one read lock (taken()'s contract), released once.
                unsafe { L::read_unlock(self.l) }
            }
        }

        impl<L: RawRwLock> Drop for ReadGuardIrq<L> {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: this guard holds one read lock (irqsave), released once.
                unsafe { L::read_unlock_irqrestore(self.l, self.flags) }
            }
        }

        impl<L: RawRwLock> Drop for WriteGuard<L> {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: this guard holds the write lock, released once.
                unsafe { L::write_unlock(self.l) }
            }
        }

        impl<L: RawRwLock> Drop for WriteGuardIrq<L> {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: this guard holds the write lock (irqsave), released once.
                unsafe { L::write_unlock_irqrestore(self.l, self.flags) }
            }
        }
    }

    impl<L: RawRwLock> ReadGuard<L> {
        /// `read_lock(l)`.
        ///
        /// # Safety
        /// `l` points to an initialised lock that outlives the guard.
        #[inline(always)]
        pub unsafe fn lock(l: *mut L) -> Self {
            // SAFETY: guaranteed by the caller.
            unsafe { L::read_lock(l) };
            // SAFETY: one read hold taken just above.
            unsafe { Self::taken(l) }
        }

        /// `read_trylock(l)`: `None` if a writer holds it.
        ///
        /// # Safety
        /// As [`ReadGuard::lock`].
        #[inline(always)]
        pub unsafe fn try_lock(l: *mut L) -> Option<Self> {
            // SAFETY: guaranteed by the caller.
            if unsafe { L::read_trylock(l) } {
                // SAFETY: the trylock succeeded: one read hold is ours. Only in this branch:
                // a guard built when it failed would read_unlock a lock we do not hold.
                Some(unsafe { Self::taken(l) })
            } else {
                None
            }
        }

        /// `read_lock_irqsave(l)`.
        ///
        /// # Safety
        /// As [`ReadGuard::lock`].
        #[inline(always)]
        pub unsafe fn lock_irqsave(l: *mut L) -> ReadGuardIrq<L> {
            // SAFETY: guaranteed by the caller.
            let flags = unsafe { L::read_lock_irqsave(l) };
            // SAFETY: one read hold taken just above, with these flags.
            unsafe { ReadGuardIrq::taken(l, flags) }
        }
    }

    impl<L: RawRwLock> WriteGuard<L> {
        /// `write_lock(l)`.
        ///
        /// # Safety
        /// `l` points to an initialised lock that outlives the guard.
        #[inline(always)]
        pub unsafe fn lock(l: *mut L) -> Self {
            // SAFETY: guaranteed by the caller.
            unsafe { L::write_lock(l) };
            // SAFETY: the write hold taken just above.
            unsafe { Self::taken(l) }
        }

        /// `write_lock_irqsave(l)`.
        ///
        /// # Safety
        /// As [`WriteGuard::lock`].
        #[inline(always)]
        pub unsafe fn lock_irqsave(l: *mut L) -> WriteGuardIrq<L> {
            // SAFETY: guaranteed by the caller.
            let flags = unsafe { L::write_lock_irqsave(l) };
            // SAFETY: the write hold taken just above, with these flags.
            unsafe { WriteGuardIrq::taken(l, flags) }
        }
    }
}

/// Interrupts off on this CPU until dropped (`local_irq_save` / `local_irq_restore`): for
/// taking several locks that interrupt handlers also take, as C's first `spin_lock_irqsave`
/// does. Declare it before the lock guards so it is restored after they are released.
#[cfg(xen)]
pub struct IrqSave(core::ffi::c_ulong);

#[cfg(xen)]
impl IrqSave {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        // SAFETY: saves and masks the local interrupt state; no memory is touched.
        IrqSave(unsafe { b::oxx_local_irq_save() })
    }
}

#[cfg(xen)]
impl Drop for IrqSave {
    fn drop(&mut self) {
        // SAFETY: restores exactly the state saved by new(), once.
        unsafe { b::oxx_local_irq_restore(self.0) }
    }
}

/// Fake lock objects for host tests: single-threaded, they count every call, know who holds
/// them, and panic on an unlock of a hold that was never taken (what Xen's real lock would
/// silently corrupt), on a lock that would deadlock, and on flags that do not match.
#[cfg(test)]
pub mod fake {
    use super::{RawRwLock, RawSpinLock};
    use core::cell::Cell;
    use core::ffi::c_ulong;

    /// Calls made on one fake lock.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Calls {
        pub lock: u32,
        pub unlock: u32,
        pub trylock_ok: u32,
        pub trylock_failed: u32,
    }

    /// A fake `spinlock_t`.
    #[derive(Default)]
    pub struct FakeSpin {
        pub held: Cell<bool>,
        pub irq_token: Cell<Option<c_ulong>>,
        pub calls: Cell<Calls>,
    }

    /// A fake `rwlock_t`.
    #[derive(Default)]
    pub struct FakeRw {
        pub readers: Cell<u32>,
        pub writer: Cell<bool>,
        /// Flags tokens handed out by the irqsave calls and not yet given back.
        pub irq_tokens: Cell<u32>,
        pub read: Cell<Calls>,
        pub write: Cell<Calls>,
    }

    fn bump(c: &Cell<Calls>, f: impl FnOnce(&mut Calls)) {
        let mut v = c.get();
        f(&mut v);
        c.set(v);
    }

    /// A flags value that identifies its lock and the nesting of the irqsave.
    fn token<T>(l: *const T, n: u32) -> c_ulong {
        (l as usize as c_ulong) ^ c_ulong::from(n)
    }

    // SAFETY: single-threaded host tests only; the fake enforces the lock discipline with
    // panics instead of blocking, and is plain data when unlocked.
    unsafe impl RawSpinLock for FakeSpin {
        unsafe fn init(l: *mut Self) {
            // SAFETY: the caller's writable lock object.
            unsafe { l.write(FakeSpin::default()) }
        }
        unsafe fn lock(l: *mut Self) {
            // SAFETY: the caller's initialised lock object.
            let l = unsafe { &*l };
            assert!(!l.held.get(), "fake spinlock: lock of a held lock would deadlock");
            l.held.set(true);
            bump(&l.calls, |c| c.lock += 1);
        }
        unsafe fn unlock(l: *mut Self) {
            // SAFETY: as lock().
            let l = unsafe { &*l };
            assert!(l.held.get(), "fake spinlock: unlock of a lock not held");
            assert!(l.irq_token.get().is_none(), "fake spinlock: unlock of an irqsave hold");
            l.held.set(false);
            bump(&l.calls, |c| c.unlock += 1);
        }
        unsafe fn lock_irqsave(l: *mut Self) -> c_ulong {
            // SAFETY: as lock().
            unsafe { Self::lock(l) };
            let t = token(l, 1);
            // SAFETY: as lock().
            unsafe { &*l }.irq_token.set(Some(t));
            t
        }
        unsafe fn unlock_irqrestore(l: *mut Self, flags: c_ulong) {
            // SAFETY: as lock().
            let r = unsafe { &*l };
            assert_eq!(r.irq_token.take(), Some(flags), "fake spinlock: irqrestore flags");
            // SAFETY: as lock().
            unsafe { Self::unlock(l) }
        }
        unsafe fn is_locked(l: *mut Self) -> bool {
            // SAFETY: as lock().
            unsafe { &*l }.held.get()
        }
    }

    // SAFETY: as FakeSpin.
    unsafe impl RawRwLock for FakeRw {
        unsafe fn init(l: *mut Self) {
            // SAFETY: the caller's writable lock object.
            unsafe { l.write(FakeRw::default()) }
        }
        unsafe fn read_lock(l: *mut Self) {
            // SAFETY: the caller's initialised lock object.
            let l = unsafe { &*l };
            assert!(!l.writer.get(), "fake rwlock: read_lock while write-locked would deadlock");
            l.readers.set(l.readers.get() + 1);
            bump(&l.read, |c| c.lock += 1);
        }
        unsafe fn read_trylock(l: *mut Self) -> bool {
            // SAFETY: as read_lock().
            let l = unsafe { &*l };
            if l.writer.get() {
                bump(&l.read, |c| c.trylock_failed += 1);
                return false;
            }
            l.readers.set(l.readers.get() + 1);
            bump(&l.read, |c| c.trylock_ok += 1);
            true
        }
        unsafe fn read_unlock(l: *mut Self) {
            // SAFETY: as read_lock().
            let l = unsafe { &*l };
            assert!(l.readers.get() > 0, "fake rwlock: read_unlock of a lock not read-locked");
            l.readers.set(l.readers.get() - 1);
            bump(&l.read, |c| c.unlock += 1);
        }
        unsafe fn read_lock_irqsave(l: *mut Self) -> c_ulong {
            // SAFETY: as read_lock().
            unsafe { Self::read_lock(l) };
            // SAFETY: as read_lock().
            let r = unsafe { &*l };
            r.irq_tokens.set(r.irq_tokens.get() + 1);
            token(l, 1)
        }
        unsafe fn read_unlock_irqrestore(l: *mut Self, flags: c_ulong) {
            // SAFETY: as read_lock().
            let r = unsafe { &*l };
            assert_eq!(flags, token(l, 1), "fake rwlock: irqrestore flags");
            assert!(r.irq_tokens.get() > 0, "fake rwlock: irqrestore without irqsave");
            r.irq_tokens.set(r.irq_tokens.get() - 1);
            // SAFETY: as read_lock().
            unsafe { Self::read_unlock(l) }
        }
        unsafe fn write_lock(l: *mut Self) {
            // SAFETY: as read_lock().
            let l = unsafe { &*l };
            assert!(
                !l.writer.get() && l.readers.get() == 0,
                "fake rwlock: write_lock of a held lock would deadlock"
            );
            l.writer.set(true);
            bump(&l.write, |c| c.lock += 1);
        }
        unsafe fn write_unlock(l: *mut Self) {
            // SAFETY: as read_lock().
            let l = unsafe { &*l };
            assert!(l.writer.get(), "fake rwlock: write_unlock of a lock not write-locked");
            l.writer.set(false);
            bump(&l.write, |c| c.unlock += 1);
        }
        unsafe fn write_lock_irqsave(l: *mut Self) -> c_ulong {
            // SAFETY: as read_lock().
            unsafe { Self::write_lock(l) };
            // SAFETY: as read_lock().
            let r = unsafe { &*l };
            r.irq_tokens.set(r.irq_tokens.get() + 1);
            token(l, 2)
        }
        unsafe fn write_unlock_irqrestore(l: *mut Self, flags: c_ulong) {
            // SAFETY: as read_lock().
            let r = unsafe { &*l };
            assert_eq!(flags, token(l, 2), "fake rwlock: irqrestore flags");
            assert!(r.irq_tokens.get() > 0, "fake rwlock: irqrestore without irqsave");
            r.irq_tokens.set(r.irq_tokens.get() - 1);
            // SAFETY: as read_lock().
            unsafe { Self::write_unlock(l) }
        }
        unsafe fn is_locked(l: *mut Self) -> bool {
            // SAFETY: as read_lock().
            let l = unsafe { &*l };
            l.writer.get() || l.readers.get() > 0
        }
        unsafe fn is_write_locked(l: *mut Self) -> bool {
            // SAFETY: as read_lock().
            unsafe { &*l }.writer.get()
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every guard type over the counting fakes: each lock call is matched by exactly one
    //! unlock, made by the guard's drop, and a failed trylock makes no guard and no unlock.

    use super::fake::{Calls, FakeRw, FakeSpin};
    use super::{RawRwLock, RwLock, SpinLock, raw};

    fn calls(lock: u32, unlock: u32, trylock_ok: u32, trylock_failed: u32) -> Calls {
        Calls { lock, unlock, trylock_ok, trylock_failed }
    }

    /// A fake rwlock as C owns one (a field of a C structure): a raw pointer to it.
    fn c_lock() -> Box<FakeRw> {
        let mut l = Box::new(FakeRw::default());
        // SAFETY: a writable lock object.
        unsafe { FakeRw::init(&mut *l) };
        l
    }

    #[test]
    fn failed_read_trylock_makes_no_guard_and_no_unlock() {
        let mut l = c_lock();
        let p: *mut FakeRw = &mut *l;
        // SAFETY: p is an initialised fake lock that outlives every guard below.
        let w = unsafe { raw::WriteGuard::lock(p) };
        // SAFETY: as above.
        let r = unsafe { raw::ReadGuard::try_lock(p) };
        assert!(r.is_none(), "read_trylock succeeded under a writer");
        drop(r);
        assert_eq!(l.read.get(), calls(0, 0, 0, 1), "a failed trylock must not unlock");
        assert_eq!(l.readers.get(), 0);
        assert!(l.writer.get(), "the writer's hold must be untouched");
        drop(w);
        assert_eq!(l.write.get(), calls(1, 1, 0, 0));
        assert!(!l.writer.get());
    }

    #[test]
    fn read_trylock_that_succeeds_unlocks_once_on_drop() {
        let mut l = c_lock();
        let p: *mut FakeRw = &mut *l;
        // SAFETY: p is an initialised fake lock that outlives the guards.
        let g = unsafe { raw::ReadGuard::try_lock(p) }.expect("trylock of a free lock");
        assert_eq!((l.readers.get(), l.read.get()), (1, calls(0, 0, 1, 0)));
        // A second reader at once, as C allows.
        // SAFETY: as above.
        let g2 = unsafe { raw::ReadGuard::lock(p) };
        assert_eq!(l.readers.get(), 2);
        drop(g);
        drop(g2);
        assert_eq!((l.readers.get(), l.read.get()), (0, calls(1, 2, 1, 0)));
    }

    #[test]
    fn raw_guards_unlock_the_way_they_locked() {
        let mut l = c_lock();
        let p: *mut FakeRw = &mut *l;
        // SAFETY: p is an initialised fake lock that outlives the guards.
        unsafe {
            drop(raw::WriteGuard::lock(p));
            drop(raw::WriteGuard::lock_irqsave(p));
            drop(raw::ReadGuard::lock_irqsave(p));
            drop(raw::ReadGuard::lock(p));
        }
        assert_eq!(l.write.get(), calls(2, 2, 0, 0));
        assert_eq!(l.read.get(), calls(2, 2, 0, 0));
        assert_eq!((l.readers.get(), l.writer.get(), l.irq_tokens.get()), (0, false, 0));
    }

    #[test]
    fn spinlock_guards_unlock_once() {
        let s: SpinLock<u32, FakeSpin> = SpinLock::new(1);
        {
            let mut g = s.lock();
            *g += 1;
            assert!(s.is_locked());
        }
        {
            let mut g = s.lock_irqsave();
            *g += 1;
        }
        assert!(!s.is_locked());
        assert_eq!(*s.lock(), 3);
        // SAFETY: reading the fake's counters; no guard is alive.
        let c = unsafe { &*s.lock.get() }.calls.get();
        assert_eq!(c, calls(3, 3, 0, 0));
    }

    #[test]
    fn spinlock_init_in_place_copies_an_unlocked_lock() {
        #[repr(C)]
        struct Q {
            tail: SpinLock<u32, FakeSpin>,
        }
        let mut qs: Vec<core::mem::MaybeUninit<Q>> =
            (0..3).map(|_| core::mem::MaybeUninit::zeroed()).collect();
        let first = qs.as_mut_ptr().cast::<Q>();
        // SAFETY: three zeroed Qs (zero is a valid u32 and FakeSpin's fields are rewritten
        // by init/copy), size_of::<Q>() apart.
        unsafe {
            SpinLock::init_in_place(core::ptr::addr_of_mut!((*first).tail), size_of::<Q>(), 3)
        };
        for q in &qs {
            // SAFETY: initialised just above.
            let q = unsafe { q.assume_init_ref() };
            drop(q.tail.lock());
            assert!(!q.tail.is_locked());
        }
    }

    #[test]
    fn rwlock_guards_unlock_once() {
        let rw: RwLock<u64, FakeRw> = RwLock::new(7);
        {
            let a = rw.read();
            let b = rw.read();
            assert_eq!(*a + *b, 14);
            assert!(rw.is_locked() && !rw.is_write_locked());
        }
        *rw.write() = 9;
        assert!(!rw.is_locked());
        assert_eq!(*rw.read(), 9);
        // SAFETY: reading the fake's counters; no guard is alive.
        let l = unsafe { &*rw.lock.get() };
        assert_eq!((l.read.get(), l.write.get()), (calls(3, 3, 0, 0), calls(1, 1, 0, 0)));
    }

    #[test]
    #[should_panic(expected = "read_unlock of a lock not read-locked")]
    fn the_fake_catches_an_unlock_without_a_hold() {
        let mut l = c_lock();
        let p: *mut FakeRw = &mut *l;
        // SAFETY: p is an initialised fake lock; this is the misuse the fake must catch.
        let w = unsafe { raw::WriteGuard::lock(p) };
        // What a trylock that builds its guard eagerly does when the lock is write-held.
        // SAFETY: p is a live fake; the hold is deliberately missing.
        drop(unsafe { raw::ReadGuard::taken(p) });
        drop(w);
    }
}
