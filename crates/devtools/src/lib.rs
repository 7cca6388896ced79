//! Developer tooling behind the `bourse-dev` command (see `dev/README.md`).

pub mod alertsbench;
pub mod assistantbench;
pub mod benchsupport;
pub mod enrichbench;
pub mod enumerationbench;
pub mod initbench;
pub mod ops;
pub mod poller;
pub mod portfoliobench;
pub mod resources;
pub mod returnsbench;
pub mod runtime_api;
pub mod screenerbench;
pub mod stack;
pub mod template;
