//! Reads the DTB, chooses the test named by `test=` in the bootargs, runs it, ends the guest.
//! The table is what [`register_test!`](crate::register_test) placed in `.xtf_tests`.

use core::fmt;
use core::mem::{align_of, size_of};

use super::report;
use crate::fdt::{Fdt, FdtError};
use crate::registry::{self, Env, Names, Test};
use crate::{println, xtf_error};

/// GUEST_RAM0 as the identity map covers it (see [`super::mmu`]): the DTB must lie inside.
const RAM_MAP: core::ops::Range<usize> = 0x4000_0000..0x8000_0000;
/// Larger trees are refused (Xen's domU trees are a few KiB).
const MAX_DTB_SIZE: usize = 1 << 20;

/// Why the DTB could not be read.
enum DtbProblem {
    NotInRam,
    Malformed(FdtError),
}

impl fmt::Display for DtbProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtbProblem::NotInRam => f.write_str("x0 at entry holds no address in guest RAM"),
            DtbProblem::Malformed(e) => write!(f, "the DTB at x0 is malformed: {e}"),
        }
    }
}

/// The DTB Xen passed, if it is there and well formed.
fn read_dtb(dtb: usize) -> Result<Fdt<'static>, DtbProblem> {
    if !RAM_MAP.contains(&dtb) {
        return Err(DtbProblem::NotInRam);
    }
    let max_len = MAX_DTB_SIZE.min(RAM_MAP.end - dtb);
    // SAFETY: x0 holds the DTB Xen placed in our RAM (boot protocol), checked to lie in the
    // identity-mapped RAM block; from_raw reads at most max_len bytes of it, all in the block;
    // nothing in the guest writes the DTB (it lies above the image and its .bss).
    unsafe { Fdt::from_raw(dtb as *const u8, max_len) }.map_err(DtbProblem::Malformed)
}

unsafe extern "C" {
    /// Bounds of the `.xtf_tests` array (guest.ld); only their addresses are used.
    static __xtf_tests_start: u8;
    static __xtf_tests_end: u8;
}

/// Every test the image registered, in link order; `None` if the linker left the section in
/// a shape that is not a whole array of [`Test`] (a broken linker script).
pub fn registered() -> Option<&'static [Test]> {
    let start = (&raw const __xtf_tests_start) as usize;
    let end = (&raw const __xtf_tests_end) as usize;
    let bytes = end.checked_sub(start)?;
    if start % align_of::<Test>() != 0 || bytes % size_of::<Test>() != 0 {
        return None;
    }
    let n = bytes / size_of::<Test>();
    // guest.ld keeps every input `.xtf_tests` section between the two symbols, and only
    // `register_test!` writes that section, each time one `static Test` (all of one type, so
    // of one size and alignment; checked above that the span is a whole, aligned number of
    // them). Statics live for the whole run and nothing writes them.
    // SAFETY: by the above, `start..end` holds `n` initialised `Test`s nothing writes.
    let tests = unsafe { core::slice::from_raw_parts(start as *const Test, n) };
    Some(tests)
}

/// Called once by xtf's entry code, on the boot stack with the MMU on, with the DTB address
/// Xen passed in x0: runs the test that the bootargs name and ends the guest.
// SAFETY: the entry code in entry.rs calls this symbol with this signature; nothing else
// defines it.
#[unsafe(no_mangle)]
extern "C" fn xtf_guest_entry(dtb: usize) -> ! {
    run(dtb)
}

fn run(dtb: usize) -> ! {
    let fdt = read_dtb(dtb);
    let bootargs = fdt.as_ref().ok().and_then(|f| f.bootargs()).unwrap_or("");
    let Some(tests) = registered() else {
        println!("--- Xen Test Framework (oxidised) --- test: (none)");
        xtf_error!("the .xtf_tests section is not an array of tests: check guest.ld");
        report::exit()
    };
    match registry::select(tests, bootargs) {
        Ok(test) => {
            println!("--- Xen Test Framework (oxidised) --- test: {}", test.name);
            println!("{}", test.about);
            let env = Env { name: test.name, bootargs, fdt: fdt.ok() };
            (test.run)(&env);
        }
        Err(e) => {
            println!("--- Xen Test Framework (oxidised) --- test: (none)");
            if let Err(problem) = fdt {
                println!("{problem} (x0 was {dtb:#x})");
            }
            xtf_error!("{e} (bootargs \"{bootargs}\"); known tests: {}", Names(tests));
        }
    }
    report::exit()
}
