//! The `event_channel_op` hypercall, Hubris-shaped: decode `cmd`, copy the argument in, one
//! function per op returning `Result` (the operations of [`crate::ops`], the FIFO set-up of
//! `xen::fifo`), copy out, map the errno once.

use crate::abi::{self, Cmd};
use crate::ops::{self, Channel, Env, State};
use crate::xen::{Progress, XenEnv, fifo};
use core::ffi::{c_int, c_long};
use xen_rust_glue::Errno;
use xen_rust_glue::errno::to_ret;
use xen_rust_glue::evtchn as glue;
use xen_rust_glue::guest::{GuestHandleVoid, read_arg, write_arg};

/// `long do_event_channel_op(int cmd, XEN_GUEST_HANDLE_PARAM(void) arg)`.
#[unsafe(no_mangle)]
pub extern "C" fn do_event_channel_op(cmd: c_int, arg: GuestHandleVoid) -> c_long {
    to_ret(Cmd::decode(cmd).ok_or(Errno::ENOSYS).and_then(|cmd| dispatch(cmd, arg.p))) as c_long
}

/// One arm per operation; copy-in failures are `EFAULT` before anything happens, copy-out
/// failures `EFAULT` after (as C: "cleaning up here would be a mess").
fn dispatch(cmd: Cmd, arg: u64) -> Result<i64, Errno> {
    let env = XenEnv;
    match cmd {
        Cmd::AllocUnbound => {
            let mut a: abi::AllocUnbound = read_arg(arg)?;
            a.port = ops::alloc_unbound(&env, a.dom, a.remote_dom, 0)?;
            write_arg(arg, &a)?;
        }
        Cmd::BindInterdomain => {
            let mut a: abi::BindInterdomain = read_arg(arg)?;
            a.local_port =
                ops::bind_interdomain(&env, env.current(), a.remote_dom, a.remote_port, 0)?;
            write_arg(arg, &a)?;
        }
        Cmd::BindVirq => {
            let mut a: abi::BindVirq = read_arg(arg)?;
            a.port = ops::bind_virq(&env, a.virq, a.vcpu, 0)?;
            write_arg(arg, &a)?;
        }
        Cmd::BindIpi => {
            let mut a: abi::BindIpi = read_arg(arg)?;
            a.port = ops::bind_ipi(&env, a.vcpu)?;
            write_arg(arg, &a)?;
        }
        Cmd::BindPirq => {
            let a: abi::BindPirq = read_arg(arg)?;
            bind_pirq(&env, a.pirq)?;
        }
        Cmd::Close => {
            let a: abi::PortArg = read_arg(arg)?;
            ops::close(&env, env.current(), a.port, true)?;
        }
        Cmd::Send => {
            let a: abi::PortArg = read_arg(arg)?;
            ops::send(&env, env.current(), a.port)?;
        }
        Cmd::Status => {
            let mut a: abi::Status = read_arg(arg)?;
            let s = ops::status(&env, a.dom, a.port)?;
            s.apply(&mut a);
            write_arg(arg, &a)?;
        }
        Cmd::BindVcpu => {
            let a: abi::BindVcpu = read_arg(arg)?;
            ops::bind_vcpu(&env, a.port, a.vcpu)?;
        }
        Cmd::Unmask => {
            let a: abi::PortArg = read_arg(arg)?;
            ops::unmask(&env, a.port)?;
        }
        Cmd::Reset { resuming } => {
            let a: abi::Reset = read_arg(arg)?;
            let d = env.lookup(a.dom).ok_or(Errno::ESRCH)?;
            env.xsm_reset(*d)?;
            let r = ops::reset(&env, *d, resuming);
            drop(d);
            match r {
                Ok(Progress::Done) => {}
                Ok(Progress::Preempted) => return Ok(glue::reset_continuation(arg)),
                Err(e) => return Err(e),
            }
        }
        Cmd::InitControl => {
            let mut a: abi::InitControl = read_arg(arg)?;
            a.link_bits = abi::EVTCHN_FIFO_LINK_BITS;
            fifo::init_control(env.current(), a.control_gfn, a.offset, a.vcpu)?;
            write_arg(arg, &a)?;
        }
        Cmd::ExpandArray => {
            let a: abi::ExpandArray = read_arg(arg)?;
            fifo::expand_array(env.current(), a.array_gfn)?;
        }
        Cmd::SetPriority => {
            let a: abi::SetPriority = read_arg(arg)?;
            ops::set_priority(&env, a.port, a.priority)?;
        }
    }
    Ok(0)
}

/// `evtchn_bind_pirq()` on Arm: `EINVAL` above `d->nr_pirqs`; otherwise a port is taken and
/// `pirq_get_info()` fails (Arm's alloc_pirq_struct() returns NULL), so `ENOMEM`, and the port
/// is given back — exactly C's path on Arm.
fn bind_pirq(env: &XenEnv, pirq: u32) -> Result<(), Errno> {
    let d = env.current();
    if pirq >= d.nr_pirqs() {
        return Err(Errno::EINVAL);
    }
    let _l = d.event_lock();
    let port = ops::get_free_port(d)?;
    let info = d.pirq_info_exists(pirq);
    // Undo the allocation: the channel is still free (C: check_free_port()).
    if let Some(c) = d.chan(port)
        && Channel::state(c) == State::Free
    {
        d.set_active(d.active().wrapping_sub(1));
    }
    if info { Err(Errno::ENOSYS) } else { Err(Errno::ENOMEM) }
}
