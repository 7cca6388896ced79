//! Bourse's domain: values that cannot hold bad data, and the rules over them. No AWS types, no
//! I/O: everything here is unit-tested directly.

pub mod messages;
pub mod symbol;
pub mod universe;

pub use symbol::{Symbol, SymbolError};
