//! A panic ends the test as ERROR with the panic message.

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

use super::{console, report};
use crate::println;
use crate::status::Status;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    static PANICKING: AtomicBool = AtomicBool::new(false);
    // One vCPU: a plain load and store is enough, and needs no exclusives.
    if PANICKING.load(Ordering::Relaxed) {
        // Panicked while reporting a panic: no formatting, just the verdict.
        console::write_bytes(b"PANIC while panicking\nTest result: ERROR\n");
        report::power_off();
    }
    PANICKING.store(true, Ordering::Relaxed);
    println!("PANIC: {info}");
    report::error(format_args!("panic (status before it: {})", report::status()));
    // ERROR was recorded above; a FAILURE reported earlier still wins, as it should.
    debug_assert!(report::status() >= Status::Error);
    report::exit()
}
