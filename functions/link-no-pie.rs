//! Build script shared by every function (and the hello-world baseline): links the binaries as
//! position-dependent executables on Linux. A PIE must have ~400 KB of pointers relocated
//! by the loader at every start, which was most of our cold-start time left (measured with
//! `dev/bench-init.sh`). Only binaries: libraries and proc macros are unaffected.
//!
//! x86_64 and aarch64 (Lambda arm64): the aarch64 link goes through cargo-lambda's zig linker,
//! which accepts `-no-pie` and gives a position-dependent executable that runs
//! (`dev/build-arm64.sh` starts every arm64 bootstrap under qemu to check).
fn main() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && matches!(var("CARGO_CFG_TARGET_ARCH").as_str(), "x86_64" | "aarch64")
    {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
