//! The tests a guest image carries, and choosing one from the command line.
//!
//! A test is declared next to its body with [`register_test!`](crate::register_test): the
//! macro places a [`Test`] in the `xtf_tests` link section, which the guest linker script
//! (guest.ld) keeps and brackets with `__xtf_tests_start` / `__xtf_tests_end`; the runner reads
//! that array as the image's table ([`crate::guest::registered`]). `test=NAME` in the domain's
//! bootargs picks one. Two tests cannot share a name: each registration also defines the
//! symbol `xtf_test.NAME`, so a second one fails the build, and [`select`] refuses a table
//! with a repeated name at boot. The same symbols let a host check list an image's tests
//! (ci/guest-tests-all-run). Selection is plain logic on strings, unit-tested here on the host.

use core::fmt;
use core::str::FromStr;

use crate::abi::DomId;
use crate::cmdline;
use crate::fdt::Fdt;

/// What a test sees of its environment.
pub struct Env<'a> {
    /// The selected test's name.
    pub name: &'a str,
    /// `/chosen/bootargs`, or "" if there is none.
    pub bootargs: &'a str,
    /// The device tree Xen built for this domain, if it could be read.
    pub fdt: Option<Fdt<'a>>,
}

impl<'a> Env<'a> {
    /// The value of `key=value` on the command line (see [`cmdline::value`]).
    pub fn arg(&self, key: &str) -> Option<&'a str> {
        cmdline::value(self.bootargs, key)
    }

    /// Whether the bare word `flag` is on the command line.
    pub fn flag(&self, flag: &str) -> bool {
        cmdline::flag(self.bootargs, flag)
    }

    /// `key=value` parsed as a `T` (decimal for numbers); `None` if the key is missing or its
    /// value does not parse.
    pub fn arg_parse<T: FromStr>(&self, key: &str) -> Option<T> {
        self.arg(key).and_then(|v| v.parse().ok())
    }

    /// `key=N` as a `u32`.
    pub fn arg_u32(&self, key: &str) -> Option<u32> {
        self.arg_parse(key)
    }

    /// `key=N` as a `u64`.
    pub fn arg_u64(&self, key: &str) -> Option<u64> {
        self.arg_parse(key)
    }

    /// `peer=D`: the other domain's domid in a two-domain test (domU n of a config is domid
    /// n + 1). In a guest, `Env::need_peer` ends the test when it is missing.
    pub fn peer(&self) -> Option<DomId> {
        self.arg_parse("peer")
    }
}

/// The body of a test: reports through `xtf_success!` and friends and returns (or panics, or
/// takes an exception: both end as ERROR).
pub type TestFn = fn(&Env<'_>);

/// One entry of a guest's test table (made by [`register_test!`](crate::register_test)).
#[derive(Clone, Copy)]
pub struct Test {
    /// What `test=` names. Unique within a table.
    pub name: &'static str,
    /// One line on what it checks (the guest prints it after the banner).
    pub about: &'static str,
    pub run: TestFn,
}

impl Test {
    pub const fn new(name: &'static str, about: &'static str, run: TestFn) -> Self {
        Self { name, about, run }
    }
}

impl fmt::Debug for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Test").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Why no test was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectError<'a> {
    /// No `test=` on the command line.
    Missing,
    /// `test=NAME` names no test in the table.
    Unknown(&'a str),
    /// The table itself is broken: two tests share this name.
    Duplicate(&'static str),
}

impl fmt::Display for SelectError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::Missing => f.write_str("no test=NAME in the domain's bootargs"),
            SelectError::Unknown(n) => write!(f, "unknown test '{n}'"),
            SelectError::Duplicate(n) => write!(f, "test table has '{n}' twice"),
        }
    }
}

/// The test that `test=NAME` in `bootargs` names.
pub fn select<'t, 'c>(tests: &'t [Test], bootargs: &'c str) -> Result<&'t Test, SelectError<'c>> {
    if let Some(dup) = duplicate(tests) {
        return Err(SelectError::Duplicate(dup));
    }
    let name = cmdline::value(bootargs, "test").ok_or(SelectError::Missing)?;
    tests.iter().find(|t| t.name == name).ok_or(SelectError::Unknown(name))
}

/// A name that appears twice in `tests`, if any.
pub fn duplicate(tests: &[Test]) -> Option<&'static str> {
    tests
        .iter()
        .enumerate()
        .find_map(|(i, t)| tests[i + 1..].iter().any(|u| u.name == t.name).then_some(t.name))
}

/// Displays the names in a table: `hello, selftest-fail, ...`.
pub struct Names<'t>(pub &'t [Test]);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(t.name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nop(_: &Env<'_>) {}

    const TABLE: &[Test] = &[
        Test::new("hello", "greets", nop),
        Test::new("selftest-fail", "fails", nop),
        Test::new("selftest-skip", "skips", nop),
    ];

    #[test]
    fn picks_by_name() {
        assert_eq!(select(TABLE, "test=hello").unwrap().name, "hello");
        assert_eq!(select(TABLE, "x=1 test=selftest-skip y").unwrap().name, "selftest-skip");
    }

    #[test]
    fn missing_and_unknown() {
        assert_eq!(select(TABLE, "").unwrap_err(), SelectError::Missing);
        assert_eq!(select(TABLE, "console=hvc0").unwrap_err(), SelectError::Missing);
        assert_eq!(select(TABLE, "test=nope").unwrap_err(), SelectError::Unknown("nope"));
        assert_eq!(select(TABLE, "test=").unwrap_err(), SelectError::Unknown(""));
        // Names match whole, not by prefix.
        assert_eq!(select(TABLE, "test=hell").unwrap_err(), SelectError::Unknown("hell"));
    }

    #[test]
    fn duplicates_are_refused() {
        let t = [Test::new("a", "", nop), Test::new("b", "", nop), Test::new("a", "", nop)];
        assert_eq!(select(&t, "test=b").unwrap_err(), SelectError::Duplicate("a"));
        assert_eq!(duplicate(TABLE), None);
    }

    #[test]
    fn names_list() {
        assert_eq!(Names(TABLE).to_string(), "hello, selftest-fail, selftest-skip");
        assert_eq!(Names(&[]).to_string(), "");
        assert_eq!(SelectError::Unknown("x").to_string(), "unknown test 'x'");
    }

    #[test]
    fn env_args() {
        let env = Env { name: "hello", bootargs: "test=hello port=7 fast", fdt: None };
        assert_eq!(env.arg("port"), Some("7"));
        assert!(env.flag("fast"));
        assert!(!env.flag("slow"));
    }
}
