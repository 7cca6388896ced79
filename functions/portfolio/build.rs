//! Links the binaries as position-dependent executables on Linux: a PIE must have ~400 KB of
//! pointers relocated by the loader at every start, which was most of our cold-start time left
//! (measured with `dev/bench-init.sh`). Only binaries: libraries and proc macros are unaffected.
fn main() {
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if linux_gnu {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
