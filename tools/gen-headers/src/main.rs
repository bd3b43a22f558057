//! `gen-headers CONFIG CRATE DIR`: what `cbindgen --quiet --config CONFIG --crate CRATE DIR`
//! prints, from the cbindgen library pinned in Cargo.toml. ci/gen-headers runs it.
//!
//! Built with the workspace's host tests, this shares their syn/serde/proc-macro2 builds,
//! where a `cargo install cbindgen` on a fresh machine compiled its own copy of each (minutes
//! on two cores). Debian 12's cbindgen (0.24) cannot parse edition-2024 attributes.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, name, dir] = args.as_slice() else {
        eprintln!("usage: gen-headers CONFIG CRATE DIR");
        return ExitCode::from(2);
    };
    let config = match cbindgen::Config::from_file(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gen-headers: {config}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cbindgen::Builder::new()
        .with_config(config)
        .with_crate_and_name(PathBuf::from(dir), name)
        .generate()
    {
        Ok(bindings) => {
            bindings.write(std::io::stdout());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-headers: {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
