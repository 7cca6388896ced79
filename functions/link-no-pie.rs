//! Build script shared by every function (and the hello-world baseline): links the binaries as
//! position-dependent executables on x86_64 Linux. A PIE must have ~400 KB of pointers relocated
//! by the loader at every start, which was most of our cold-start time left (measured with
//! `dev/bench-init.sh`). Only binaries: libraries and proc macros are unaffected.
//!
//! Limited to x86_64: the aarch64 (Lambda arm64) link goes through cargo-lambda's zig linker,
//! where `-no-pie` could not be verified here (no aarch64 standard library can be installed on
//! this build machine), so arm64 builds keep the default PIE.
fn main() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" && var("CARGO_CFG_TARGET_ARCH") == "x86_64" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
