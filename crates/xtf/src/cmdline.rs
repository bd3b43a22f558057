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

/// A number in a value: hexadecimal with `0x`, else decimal (addresses and sizes inside
/// composite values such as `shm=GPA:SIZE:ID`).
pub fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
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
    fn numbers() {
        assert_eq!(number("0x50000000"), Some(0x5000_0000));
        assert_eq!(number("4096"), Some(4096));
        assert_eq!(number("0x"), None);
        assert_eq!(number("0x1g"), None);
        assert_eq!(number("-1"), None);
        assert_eq!(number(""), None);
    }

    #[test]
    fn flags() {
        assert!(flag("a verbose b=1", "verbose"));
        assert!(!flag("a verbose=1", "verbose"));
        assert!(!flag("", "verbose"));
    }
}
