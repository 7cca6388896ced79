//! Developer tooling behind the `bourse-dev` command (see `dev/README.md`).

pub mod enrichbench;
pub mod initbench;
pub mod poller;
pub mod resources;
pub mod screenerbench;
pub mod template;
