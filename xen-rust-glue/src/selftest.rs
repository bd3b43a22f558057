//! Boot-time self-test of the glue, run from a Xen initcall when CONFIG_RUST=y.
//!
//! Each check exercises one wrapper against the real Xen primitive it wraps. On success it
//! prints `rust: glue self-test passed (N checks)`; on failure it names the check and returns
//! -EIO (Xen's initcall runner then reports it, and the boot log shows which check failed).

use crate::bindings as b;
use crate::domain::DomainRef;
use crate::errno::Errno;
use crate::fmt::LineBuffer;
use crate::guest::GuestRange;
use crate::printk;
use crate::sync::{RwLock, SpinLock, raw};
use core::mem::MaybeUninit;

struct Checks {
    run: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, name: &str, ok: bool) {
        self.run += 1;
        if !ok {
            self.failed += 1;
            printk!("{}rust: glue self-test: check '{}' FAILED\n", crate::print::XENLOG_ERR, name);
        }
    }
}

fn run() -> Checks {
    let mut c = Checks { run: 0, failed: 0 };

    // printk's fixed-buffer formatting, including truncation.
    let line = LineBuffer::<12>::format(format_args!("{}-{:#x}", "evtchn", 255));
    c.check("format", line.as_bytes() == b"evtchn-0xff");
    let long = LineBuffer::<4>::format(format_args!("{}", 123456));
    c.check("format truncation", long.as_bytes() == b"1..." && long.is_truncated());

    // Spinlock round trip: locked while the guard lives, unlocked after, data updated.
    let lock = SpinLock::new(41u32);
    c.check("spinlock starts unlocked", !lock.is_locked());
    {
        let mut g = lock.lock();
        *g += 1;
        c.check("spinlock held by guard", lock.is_locked());
    }
    c.check("spinlock released on drop", !lock.is_locked() && *lock.lock() == 42);
    {
        let mut g = lock.lock_irqsave();
        *g += 1;
    }
    c.check("spinlock irqsave round trip", !lock.is_locked() && *lock.lock() == 43);

    // Rwlock: two readers at once, then a writer.
    let rw = RwLock::new(7u64);
    {
        let r1 = rw.read();
        let r2 = rw.read();
        c.check(
            "rwlock shared readers",
            *r1 + *r2 == 14 && rw.is_locked() && !rw.is_write_locked(),
        );
    }
    {
        let mut w = rw.write();
        *w = 9;
        c.check("rwlock writer exclusive", rw.is_write_locked());
    }
    c.check("rwlock released", !rw.is_locked() && *rw.read() == 9);

    // Raw guards over a C-owned rwlock: each unlocks exactly what it took, so the lock word
    // and the preempt count come back to where they were. (A read-trylock that fails needs a
    // writer on another CPU, which boot cannot stage: Xen's rwlock lets the write owner take
    // read holds. That case is a host test over a counting fake lock, in sync.rs.)
    let mut word = MaybeUninit::<b::rwlock_t>::uninit();
    let l = word.as_mut_ptr();
    // SAFETY: rwlock_init writes an unlocked rwlock into `word`, which outlives every guard.
    unsafe { b::oxx_rwlock_init(l) };
    // SAFETY: reads this CPU's preempt count.
    let preempt = || unsafe { b::oxx_preempt_count() };
    // SAFETY (both): `l` is initialised and outlives the guards; reading its lock word only.
    let locked = |l| unsafe { b::oxx_rw_is_locked(l) };
    let write_locked = |l| unsafe { b::oxx_rw_is_write_locked(l) };
    let before = preempt();
    {
        // SAFETY: as above.
        let r = unsafe { raw::ReadGuard::try_lock(l) };
        c.check("raw read trylock of a free lock", r.is_some() && locked(l) && !write_locked(l));
    }
    c.check("raw read guard released once", !locked(l) && preempt() == before);
    {
        // SAFETY: as above.
        let w = unsafe { raw::WriteGuard::lock(l) };
        {
            // SAFETY: as above.
            let r = unsafe { raw::ReadGuard::try_lock(l) };
            c.check("raw read trylock by the write owner", r.is_some());
        }
        c.check("the owner's read hold released, the write hold kept", write_locked(l));
        drop(w);
    }
    c.check("raw write guard released once", !locked(l) && preempt() == before);

    // Guest handle validation: wrap, misalignment and size limits rejected; valid accepted.
    c.check(
        "guest range rejects wrap",
        GuestRange::<u64>::new(u64::MAX - 7, 2).err() == Some(Errno::EFAULT),
    );
    c.check(
        "guest range rejects misalignment",
        GuestRange::<u32>::new(0x4000_0002, 1).err() == Some(Errno::EFAULT),
    );
    c.check(
        "guest range rejects 4 GiB",
        GuestRange::<u8>::new(0, 1 << 32).err() == Some(Errno::EINVAL),
    );
    c.check(
        "guest range accepts valid",
        GuestRange::<u32>::new(0x4000_0000, 16).map(|r| r.byte_len()) == Ok(64),
    );

    // Domain lookup: at initcall time no guest domain exists yet, and the lookup must say so
    // with C's errno rather than hand out a reference.
    c.check("domain lookup of absent domid", DomainRef::lookup(1).err() == Some(Errno::ESRCH));
    c.check("current is the idle domain", crate::domain::current_domain_id() == 0x7FFF);

    c
}

/// Called once from Xen's initcall `rust_glue_init()` (patches/0001). Returns 0 or -EIO.
#[unsafe(no_mangle)]
pub extern "C" fn xen_rust_glue_selftest() -> core::ffi::c_int {
    let c = run();
    if c.failed == 0 {
        printk!("rust: glue self-test passed ({} checks)\n", c.run);
        0
    } else {
        printk!(
            "{}rust: glue self-test FAILED ({} of {} checks)\n",
            crate::print::XENLOG_ERR,
            c.failed,
            c.run
        );
        Errno::EIO.to_ret() as core::ffi::c_int
    }
}
