//! Command-line values a test cannot run without: missing or malformed, the test ends with
//! ERROR (the config is wrong, not Xen). The optional ones are [`Env::arg`](crate::Env::arg),
//! [`Env::arg_u32`](crate::Env::arg_u32) and friends.

use core::str::FromStr;

use super::report;
use crate::abi::DomId;
use crate::registry::Env;
use crate::xtf_error;

impl Env<'_> {
    /// `key=value` parsed as a `T`, or the end of the test (ERROR naming the key).
    pub fn need<T: FromStr>(&self, key: &str) -> T {
        match self.arg_parse(key) {
            Some(v) => v,
            None => {
                xtf_error!(
                    "this test needs {key}=<value> on its command line (got {:?})",
                    self.arg(key)
                );
                report::exit()
            }
        }
    }

    /// `peer=D`, the other domain's domid, or the end of the test (ERROR).
    pub fn need_peer(&self) -> DomId {
        self.need("peer")
    }
}
