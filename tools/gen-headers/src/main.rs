//! `gen-headers [--check]`: writes `include/xen-rust.h` (see the library), or with `--check`
//! fails, showing the first difference, when the checked-in header is not what it would write.
//! `ci/gen-headers` runs it.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(a) => {
            eprintln!("usage: gen-headers [--check] (unknown argument {a:?})");
            return ExitCode::from(2);
        }
    };
    let root = gen_headers::workspace_root();
    let header = root.join(gen_headers::HEADER);
    let want = match gen_headers::generate(&root) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("gen-headers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let have = std::fs::read_to_string(&header).unwrap_or_default();
    if check {
        if have == want {
            return ExitCode::SUCCESS;
        }
        if let Some((i, (h, w))) =
            have.lines().zip(want.lines()).enumerate().find(|(_, (h, w))| h != w)
        {
            eprintln!("{}:{}: is  {h:?}\n{:width$}  want {w:?}", header.display(), i + 1, "",
                      width = header.display().to_string().len() + 4);
        } else {
            eprintln!("{}: differs in length from what gen-headers writes", header.display());
        }
        eprintln!("{} is out of date: run ci/gen-headers and commit it", gen_headers::HEADER);
        return ExitCode::FAILURE;
    }
    if have != want {
        if let Err(e) = std::fs::write(&header, &want) {
            eprintln!("gen-headers: {}: {e}", header.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
