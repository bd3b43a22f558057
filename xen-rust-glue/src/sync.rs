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

use crate::bindings as b;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};

/// `T` guarded by a Xen spinlock.
pub struct SpinLock<T> {
    lock: UnsafeCell<b::spinlock_t>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reachable through a guard, and Xen's spinlock gives mutual
// exclusion between pCPUs, so sharing the lock is as safe as sending T.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock moves T with it; an unlocked spinlock_t holds no pointers.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub fn new(data: T) -> Self {
        let mut l = MaybeUninit::<b::spinlock_t>::uninit();
        // SAFETY: spin_lock_init writes a whole SPIN_LOCK_UNLOCKED value into `l`.
        unsafe { b::oxx_spin_lock_init(l.as_mut_ptr()) };
        // INVARIANT: the lock is initialised and unlocked; an unlocked spinlock_t is plain data
        // (no self-pointers), so moving it into Self is what C's `*l = SPIN_LOCK_UNLOCKED` does.
        // SAFETY: initialised just above.
        Self { lock: UnsafeCell::new(unsafe { l.assume_init() }), data: UnsafeCell::new(data) }
    }

    /// Initialise, in place, the locks of `n` `SpinLock<T>`s spaced `stride` bytes apart that
    /// live in zeroed memory (C: `spin_lock_init(&q[i].lock)` for each of an xzalloc'd
    /// array), without building each on the stack and copying it in. Spin_lock_init runs once;
    /// the other locks get a copy of its SPIN_LOCK_UNLOCKED value (plain data, as in new()).
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
        // SAFETY: spin_lock_init writes a whole SPIN_LOCK_UNLOCKED value through lock0.
        unsafe { b::oxx_spin_lock_init(lock0) };
        for k in 1..n {
            // SAFETY: the caller guarantees `first + k * stride` is another such SpinLock<T>,
            // distinct from the first; copying an unlocked spinlock_t is an assignment of
            // SPIN_LOCK_UNLOCKED.
            unsafe {
                let other = first.byte_add(k * stride);
                let lock = UnsafeCell::raw_get(core::ptr::addr_of!((*other).lock));
                lock.write(lock0.read());
            }
        }
    }

    /// `spin_lock()`.
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        // SAFETY: the lock was initialised in new() and lives as long as &self.
        unsafe { b::oxx_spin_lock(self.lock.get()) };
        SpinLockGuard { owner: self, irq_flags: None }
    }

    /// `spin_lock_irqsave()`: for data also touched from interrupt context.
    pub fn lock_irqsave(&self) -> SpinLockGuard<'_, T> {
        // SAFETY: as in lock().
        let flags = unsafe { b::oxx_spin_lock_irqsave(self.lock.get()) };
        SpinLockGuard { owner: self, irq_flags: Some(flags) }
    }

    /// `spin_is_locked()`: by anyone. For assertions and the self-test only.
    pub fn is_locked(&self) -> bool {
        // SAFETY: reading the lock word of an initialised lock.
        unsafe { b::oxx_spin_is_locked(self.lock.get()) }
    }
}

/// Holds a [`SpinLock`]; gives `&mut T`; unlocks on drop.
pub struct SpinLockGuard<'a, T> {
    owner: &'a SpinLock<T>,
    irq_flags: Option<core::ffi::c_ulong>,
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no one else reaches the data.
        unsafe { &*self.owner.data.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in deref(); &mut self makes this the only reference through this guard.
        unsafe { &mut *self.owner.data.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        match self.irq_flags {
            // SAFETY: this guard took the lock with irqsave and releases it exactly once.
            Some(f) => unsafe { b::oxx_spin_unlock_irqrestore(self.owner.lock.get(), f) },
            // SAFETY: this guard took the lock and releases it exactly once.
            None => unsafe { b::oxx_spin_unlock(self.owner.lock.get()) },
        }
    }
}

/// `T` guarded by a Xen rwlock: many readers or one writer.
pub struct RwLock<T> {
    lock: UnsafeCell<b::rwlock_t>,
    data: UnsafeCell<T>,
}

// SAFETY: readers get &T only (T: Sync), the writer gets &mut T under exclusion (T: Send).
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}
// SAFETY: an unlocked rwlock_t holds no pointers.
unsafe impl<T: Send> Send for RwLock<T> {}

impl<T> RwLock<T> {
    pub fn new(data: T) -> Self {
        let mut l = MaybeUninit::<b::rwlock_t>::uninit();
        // SAFETY: rwlock_init writes a whole RW_LOCK_UNLOCKED value into `l`.
        unsafe { b::oxx_rwlock_init(l.as_mut_ptr()) };
        // SAFETY: initialised just above; unlocked rwlock_t is plain data.
        Self { lock: UnsafeCell::new(unsafe { l.assume_init() }), data: UnsafeCell::new(data) }
    }

    pub fn read(&self) -> ReadGuard<'_, T> {
        // SAFETY: initialised lock, alive for &self.
        unsafe { b::oxx_read_lock(self.lock.get()) };
        ReadGuard { owner: self }
    }

    pub fn write(&self) -> WriteGuard<'_, T> {
        // SAFETY: initialised lock, alive for &self.
        unsafe { b::oxx_write_lock(self.lock.get()) };
        WriteGuard { owner: self }
    }

    /// `rw_is_locked()`: held by anyone, read or write. For assertions and the self-test.
    pub fn is_locked(&self) -> bool {
        // SAFETY: reading the lock word of an initialised lock.
        unsafe { b::oxx_rw_is_locked(self.lock.get()) }
    }

    /// `rw_is_write_locked()`.
    pub fn is_write_locked(&self) -> bool {
        // SAFETY: as above.
        unsafe { b::oxx_rw_is_write_locked(self.lock.get()) }
    }
}

pub struct ReadGuard<'a, T> {
    owner: &'a RwLock<T>,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock excludes writers; readers only get shared references.
        unsafe { &*self.owner.data.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds one read lock and releases it once.
        unsafe { b::oxx_read_unlock(self.owner.lock.get()) }
    }
}

pub struct WriteGuard<'a, T> {
    owner: &'a RwLock<T>,
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock excludes everyone else.
        unsafe { &*self.owner.data.get() }
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock excludes everyone else.
        unsafe { &mut *self.owner.data.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the write lock and releases it once.
        unsafe { b::oxx_write_unlock(self.owner.lock.get()) }
    }
}

/// Guards over a lock that C owns: a `spinlock_t` / `rwlock_t` field inside a C structure
/// (`d->event_lock`, `chn->lock`, `v->virq_lock`), which Rust cannot wrap in a
/// [`SpinLock<T>`]/[`RwLock<T>`] because the guarded data is C's too. Each guard unlocks once,
/// on drop, the way it locked (irqsave or not).
pub mod raw {
    use crate::bindings as b;
    use core::ffi::c_ulong;

    // The plain guards are one pointer wide, so that moving them (returned from a lock
    // helper, in a tuple from lock_pair) costs a register, not a memcpy; the irqsave variants
    // carry the saved flags in their own types.

    /// Holds `read_lock(l)`.
    pub struct ReadGuard {
        l: *mut b::rwlock_t,
    }

    /// Holds `read_lock_irqsave(l)`.
    pub struct ReadGuardIrq {
        l: *mut b::rwlock_t,
        flags: c_ulong,
    }

    /// Holds `write_lock(l)`.
    pub struct WriteGuard {
        l: *mut b::rwlock_t,
    }

    /// Holds `write_lock_irqsave(l)`.
    pub struct WriteGuardIrq {
        l: *mut b::rwlock_t,
        flags: c_ulong,
    }

    impl ReadGuard {
        /// # Safety
        /// `l` points to an initialised `rwlock_t` that outlives the guard.
        #[inline(always)]
        pub unsafe fn lock(l: *mut b::rwlock_t) -> Self {
            // SAFETY: guaranteed by the caller.
            unsafe { b::oxx_read_lock(l) };
            Self { l }
        }

        /// `read_trylock()`: `None` if a writer holds it.
        ///
        /// # Safety
        /// As [`ReadGuard::lock`].
        #[inline(always)]
        pub unsafe fn try_lock(l: *mut b::rwlock_t) -> Option<Self> {
            // SAFETY: guaranteed by the caller.
            unsafe { b::oxx_read_trylock(l) }.then_some(Self { l })
        }

        /// # Safety
        /// As [`ReadGuard::lock`].
        #[inline(always)]
        pub unsafe fn lock_irqsave(l: *mut b::rwlock_t) -> ReadGuardIrq {
            // SAFETY: guaranteed by the caller.
            let flags = unsafe { b::oxx_read_lock_irqsave(l) };
            ReadGuardIrq { l, flags }
        }
    }

    impl Drop for ReadGuard {
        #[inline(always)]
        fn drop(&mut self) {
            // SAFETY: this guard took the read lock and releases it once.
            unsafe { b::oxx_read_unlock(self.l) }
        }
    }

    impl Drop for ReadGuardIrq {
        #[inline(always)]
        fn drop(&mut self) {
            // SAFETY: this guard took the read lock (irqsave) and releases it once.
            unsafe { b::oxx_read_unlock_irqrestore(self.l, self.flags) }
        }
    }

    impl WriteGuard {
        /// # Safety
        /// `l` points to an initialised `rwlock_t` that outlives the guard.
        #[inline(always)]
        pub unsafe fn lock(l: *mut b::rwlock_t) -> Self {
            // SAFETY: guaranteed by the caller.
            unsafe { b::oxx_write_lock(l) };
            Self { l }
        }

        /// # Safety
        /// As [`WriteGuard::lock`].
        #[inline(always)]
        pub unsafe fn lock_irqsave(l: *mut b::rwlock_t) -> WriteGuardIrq {
            // SAFETY: guaranteed by the caller.
            let flags = unsafe { b::oxx_write_lock_irqsave(l) };
            WriteGuardIrq { l, flags }
        }
    }

    impl Drop for WriteGuard {
        #[inline(always)]
        fn drop(&mut self) {
            // SAFETY: this guard took the write lock and releases it once.
            unsafe { b::oxx_write_unlock(self.l) }
        }
    }

    impl Drop for WriteGuardIrq {
        #[inline(always)]
        fn drop(&mut self) {
            // SAFETY: this guard took the write lock (irqsave) and releases it once.
            unsafe { b::oxx_write_unlock_irqrestore(self.l, self.flags) }
        }
    }
}

/// Interrupts off on this CPU until dropped (`local_irq_save` / `local_irq_restore`): for
/// taking several locks that interrupt handlers also take, as C's first `spin_lock_irqsave`
/// does. Declare it before the lock guards so it is restored after they are released.
pub struct IrqSave(core::ffi::c_ulong);

impl IrqSave {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        // SAFETY: saves and masks the local interrupt state; no memory is touched.
        IrqSave(unsafe { b::oxx_local_irq_save() })
    }
}

impl Drop for IrqSave {
    fn drop(&mut self) {
        // SAFETY: restores exactly the state saved by new(), once.
        unsafe { b::oxx_local_irq_restore(self.0) }
    }
}
