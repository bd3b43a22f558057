//! The guest command line (`/chosen/bootargs`): whitespace-separated `key=value` and bare
//! `flag` words. No quoting. When a key appears more than once the last one wins, as in Linux.

/// The words of `cmdline`.
pub fn words(cmdline: &str) -> impl Iterator<Item = &str> {
    cmdline.split_ascii_whitespace()
}

/// The value of the last `key=value` word, if any (`key=` gives `Some("")`).
pub fn value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    words(cmdline)
        .filter_map(|w| w.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .last()
}

/// Whether the bare word `flag` is present.
pub fn flag(cmdline: &str, flag: &str) -> bool {
    words(cmdline).any(|w| w == flag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let c = "  test=hello  port=10\tverbose test2=x key= ";
        assert_eq!(value(c, "test"), Some("hello"));
        assert_eq!(value(c, "port"), Some("10"));
        assert_eq!(value(c, "test2"), Some("x"));
        assert_eq!(value(c, "key"), Some(""));
        assert_eq!(value(c, "verbose"), None);
        assert_eq!(value(c, "tes"), None);
        assert_eq!(value("", "test"), None);
    }

    #[test]
    fn last_wins() {
        assert_eq!(value("test=a test=b", "test"), Some("b"));
    }

    #[test]
    fn value_may_hold_equals() {
        assert_eq!(value("opt=a=b", "opt"), Some("a=b"));
    }

    #[test]
    fn flags() {
        assert!(flag("a verbose b=1", "verbose"));
        assert!(!flag("a verbose=1", "verbose"));
        assert!(!flag("", "verbose"));
    }
}
