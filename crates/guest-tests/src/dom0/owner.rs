//! dom0 destroys the explicit owner of a static shared memory region (4.17 binding,
//! `role = "owner"`) while a borrower maps it, then the borrower. Expectations are C 4.17.5's
//! (docs/static-shm.md, "Lifecycle"):
//! - destroydomain of the owner returns and gives back its own memory, but the region's pages
//!   stay allocated to it: set-up took one page reference per borrower, which the borrowers'
//!   foreign mappings stand for. The owner stays in the domain list, dying, holding exactly
//!   the region's pages;
//! - the borrower keeps its mapping: it still reads what the owner wrote and can write;
//! - destroying the borrower drops those references (its P2M teardown puts one page reference
//!   per foreign mapping): its own pages come back, the region's pages leave the owner, and
//!   both domains leave the domain list. Xen 4.17.5 does so only for a region the borrower
//!   maps with 4 KiB pages: its `p2m_free_entry()` puts nothing for a superpage, so a region
//!   mapped as a 2 MiB block keeps its references and the owner for ever, on both builds
//!   (destroy-shm-owner.cfg records it; destroy-shm-owner-4k.cfg is the 4 KiB case).
//!
//! Command lines: dom0 `owner=D borrower=D shm_pages=N` (N: the region's size in pages);
//! owner: the `dom0-victim` body (`ring=none survivor=D shm=GPA`: marks the memory, waits);
//! borrower `shm=GPA` (where it maps the region).

use core::sync::atomic::Ordering;

use xtf::abi::control::dominf;
use xtf::abi::{DOMID_SELF, DomId, evtchnstat};
use xtf::guest::{control, evtchn as ev, report};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};

use super::destroy::{SENT_MARK_PORT, VICTIM_MARK, domid_arg, hex_arg, shm_word};
use super::evtchn::{expect_ok, wait_gone};
use super::{DOM0, connect, open_control, status, wait_event, wait_for};

/// The borrower's third port: allocated once it has checked the memory after the owner died.
const CHECKED_MARK_PORT: u32 = SENT_MARK_PORT + 1;

/// Waits until `domid` has `port` unbound for dom0 (a domU's "I am there" mark).
fn wait_mark(domid: DomId, port: u32, seconds: u64) -> bool {
    wait_for(seconds, || match status(domid, port) {
        Ok(st) if st.status == evtchnstat::UNBOUND && st.remote_dom() == DOM0 => Some(()),
        _ => None,
    })
    .is_some()
}

fn free_pages() -> Option<u64> {
    expect_ok("physinfo", control::physinfo()).map(|p| p.free_pages)
}

/// dom0: destroys the owner while the borrower maps the region, checks the zombie owner,
/// lets the borrower check the memory, destroys the borrower, and checks both are gone.
pub fn destroy_owner(env: &Env<'_>) {
    let (Some(owner), Some(borrower), Some(shm_pages)) = (
        domid_arg(env, "owner"),
        domid_arg(env, "borrower"),
        env.arg("shm_pages").and_then(|v| v.parse::<u64>().ok()),
    ) else {
        return xtf_error!("needs owner=D borrower=D shm_pages=N");
    };
    if let Err(why) = connect(owner, 60) {
        return xtf_error!("owner d{owner}: {why}");
    }
    let bport = match connect(borrower, 60) {
        Ok(p) => p,
        Err(why) => return xtf_error!("borrower d{borrower}: {why}"),
    };
    if !wait_mark(borrower, SENT_MARK_PORT, 60) {
        return xtf_failure!("the borrower never saw the owner's mark");
    }
    let Some(oinfo) = expect_ok("getdomaininfo(owner)", control::getdomaininfo(owner)) else {
        return;
    };
    let Some(before) = free_pages() else { return };
    if expect_ok("destroydomain(owner)", control::destroy(owner)).is_none() {
        return;
    }
    let Some(after) = free_pages() else { return };
    let back = after.wrapping_sub(before);
    println!(
        "owner d{owner} destroyed: free pages {before} -> {after} (+{back}); it had {} with \
         the region's {shm_pages}",
        oinfo.tot_pages
    );
    if after < before + oinfo.tot_pages.saturating_sub(shm_pages) {
        xtf_failure!(
            "only {back} pages came back, the owner had {} besides the region",
            oinfo.tot_pages - shm_pages
        );
    }
    // The borrower's references keep the region's pages, hence the owner, alive.
    match control::getdomaininfo(owner) {
        Ok(i) if i.domain == owner && i.flags & dominf::DYING != 0 && i.tot_pages == shm_pages => {
            println!("owner d{owner} listed, dying, holding {} pages", i.tot_pages);
        }
        other => xtf_failure!(
            "owner d{owner} after destroydomain: {other:?}, want listed, dying, {shm_pages} pages"
        ),
    }
    if let Err(e) = ev::send(bport) {
        return xtf_failure!("signalling the borrower: {e:?}");
    }
    if !wait_mark(borrower, CHECKED_MARK_PORT, 60) {
        return xtf_failure!("the borrower never finished checking the memory");
    }
    let Some(binfo) = expect_ok("getdomaininfo(borrower)", control::getdomaininfo(borrower)) else {
        return;
    };
    let Some(before) = free_pages() else { return };
    if expect_ok("destroydomain(borrower)", control::destroy(borrower)).is_none() {
        return;
    }
    let Some(after) = free_pages() else { return };
    println!(
        "borrower d{borrower} destroyed: free pages {before} -> {after} (+{}); it had {}",
        after.wrapping_sub(before),
        binfo.tot_pages
    );
    if after < before + binfo.tot_pages {
        xtf_failure!("the borrower's {} pages did not all come back", binfo.tot_pages);
    }
    // The last borrower mapping gone, the region's pages leave the owner and its last
    // reference goes with them.
    if wait_gone(owner) && wait_gone(borrower) {
        xtf_success!("owner d{owner} outlived by its borrower d{borrower}; both gone");
    }
}

/// The borrower: waits for the owner's mark, tells dom0, and once dom0 has destroyed the owner
/// checks that the memory still holds the mark and keeps what it writes.
pub fn shm_borrower(env: &Env<'_>) {
    let Some(gpa) = hex_arg(env, "shm") else {
        return xtf_error!("needs shm=GPA");
    };
    let ctl = match open_control() {
        Ok(p) => p,
        Err(e) => return xtf_error!("control port: {e:?}"),
    };
    let w = shm_word(gpa);
    if wait_for(60, || (w.load(Ordering::Acquire) == VICTIM_MARK).then_some(())).is_none() {
        return xtf_failure!("the owner's mark never appeared in the shared memory");
    }
    match ev::alloc_unbound(DOMID_SELF, DOM0) {
        Ok(p) if p == SENT_MARK_PORT => {}
        other => return xtf_error!("mark port: {other:?}, want {SENT_MARK_PORT}"),
    }
    if !wait_event(ctl, 90) {
        return xtf_failure!("dom0 never said the owner is destroyed");
    }
    if w.load(Ordering::Acquire) != VICTIM_MARK {
        xtf_failure!("the owner's mark is gone from the shared memory after its destroy");
    }
    w.store(!VICTIM_MARK, Ordering::Release);
    if w.load(Ordering::Acquire) != !VICTIM_MARK {
        xtf_failure!("the shared memory does not keep what we write");
    }
    // Report before the mark: dom0 destroys us as soon as it sees it.
    xtf_success!("the region outlived its owner; waiting to be destroyed");
    report::result_now();
    if let Err(e) = ev::alloc_unbound(DOMID_SELF, DOM0) {
        // Too late for our result: dom0 reports the missing mark.
        println!("checked mark port: {e:?}");
    }
    report::halt()
}

xtf::register_test!(
    "dom0-destroy-owner",
    "dom0: destroys a static shm owner, then its borrower (owner=D borrower=D shm_pages=N)",
    destroy_owner
);
xtf::register_test!(
    "dom0-shm-borrower",
    "domU: borrows a static shm region whose owner dom0 destroys; checks it after (shm=GPA)",
    shm_borrower
);
