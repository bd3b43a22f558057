//! static-shm's device tree reader and checker on arbitrary bytes: `Fdt::new` then `check`
//! (what Xen runs at boot on the host DTB's /chosen: static event channels and static shared
//! memory nodes). Neither may panic on any input; every refusal must format. Seeds: trees
//! compiled by dtc from fuzz/seeds/*.dts (ci/fuzz), which libFuzzer mutates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use static_shm::{Fdt, HostLayout, Limits, check};
use std::fmt::Write;

const RAM: &[(u64, u64)] = &[(0x4000_0000, 0x8000_0000)];
const RESERVED: &[(u64, u64, &str)] = &[
    (0x4020_0000, 0x20_0000, "the Xen image"),
    (0x4800_0000, 0x10_0000, "boot module (device tree)"),
];

fuzz_target!(|data: &[u8]| {
    // Xen hands the reader a 4-byte aligned blob (the FDT header demands it).
    let mut words = vec![0u32; data.len().div_ceil(4)];
    for (i, b) in data.iter().enumerate() {
        words[i / 4] |= u32::from(*b) << (8 * (i % 4));
    }
    // SAFETY: u8 has no alignment or validity requirement; the slice covers exactly the
    // initialised bytes of `words`.
    let bytes = unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), data.len()) };
    let Ok(fdt) = Fdt::new(bytes) else { return };
    let host = HostLayout { ram: RAM, reserved: RESERVED };
    let mut s = String::new();
    for max_port in [1023, 7] {
        match check(&fdt, &host, &Limits { max_port }) {
            Ok(cfg) => {
                let _ = write!(s, "{}", cfg.channels.len());
                for (shm, n) in cfg.regions() {
                    let _ = write!(s, "{} {n} {:?}", shm.id.as_str(), cfg.owner(&shm.id));
                }
                if let Some((missing, shm)) = cfg.numeric_id_gap() {
                    let _ = write!(s, "{missing} {}", shm.path);
                }
            }
            Err(errors) => {
                for e in errors.iter() {
                    let _ = write!(s, "{e}");
                }
            }
        }
    }
});
