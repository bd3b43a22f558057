//! The checked-in C header is exactly what the exports generate: an export added, removed or
//! changed without `ci/gen-headers` fails the host tests (ci/test reports it as
//! `host cbindgen-header-current`).

#[test]
fn header_is_current() {
    let root = gen_headers::workspace_root();
    let want = gen_headers::generate(&root).expect("cbindgen failed on the exporting crates");
    let have = std::fs::read_to_string(root.join(gen_headers::HEADER)).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date: run ci/gen-headers and commit it (first difference at line {})",
        gen_headers::HEADER,
        have.lines().zip(want.lines()).position(|(h, w)| h != w).map_or(0, |i| i + 1)
    );
}
