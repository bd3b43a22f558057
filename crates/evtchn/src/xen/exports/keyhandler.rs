//! The 'e' debug key: every domain's channels, as C's `dump_evtchn_info` prints them.

use crate::ops::{Channel, Domain, State};
use xen_rust_glue::evtchn::Dom;
use xen_rust_glue::printk;

fn dump_domain(dom: Dom) {
    dom.print_poll_mask();
    let _l = dom.event_read_lock();
    let mut port = 1;
    while let Some(c) = Domain::chan(dom, port) {
        let st = Channel::state(c);
        if st != State::Free {
            printk!("    {:4} [{}/{}/", port, dom.c_is_pending(c) as u8, dom.c_is_masked(c) as u8);
            dom.c_print_state(c);
            printk!("]: s={} n={} x={}", st.ecs(), c.notify_vcpu(), c.xen_consumer());
            match st {
                State::Unbound { remote } => printk!(" d={}", remote),
                State::Interdomain { remote, remote_port } => {
                    printk!(" d={} p={}", Domain::id(remote), remote_port)
                }
                State::Pirq { irq } => printk!(" p={} i=-1", irq),
                State::Virq { virq } => printk!(" v={}", virq),
                _ => {}
            }
            dom.print_security_label(c);
            printk!("\n");
        }
        port += 1;
    }
}

/// The 'e' key handler (registered by common/rust-glue.c).
#[unsafe(no_mangle)]
pub extern "C" fn xen_rust_evtchn_dump(key: u8) {
    printk!("'{}' pressed -> dumping event-channel info\n", key as char);
    xen_rust_glue::domain::for_each_domain(|d| dump_domain(d.dom()));
}
