//! The screener: a small filter language over the stock metrics, presets written in it, and
//! sorting with keyset pagination. Everything runs in memory over `&[Stock]`.
//!
//! Grammar (keywords case-insensitive):
//! ```text
//! expr       := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := metric op (number | metric)
//!             | metric "between" number "and" number
//!             | metric "in" "(" number ("," number)* ")"
//!             | text ("=" | "!=") string
//!             | text "in" "(" string ("," string)* ")"
//! op         := "<" | "<=" | ">" | ">=" | "=" | "!="
//! number     := -?digits[.digits][e±digits] with an optional suffix: % (÷100), K, M, B, T (×10³…10¹²)
//!               (exactly as written: one that needs more than 28 decimal places or significant
//!               digits is refused, never rounded)
//! string     := '...' or "..."
//! ```
//! A comparison with a missing value is *unknown*, and unknown is never a match: `not`, `and` and
//! `or` follow three-valued (Kleene) logic, so `not (pe > 10)` does not match a stock without P/E.
//!
//! A filter prints (`Display`) to text that parses back to the same tree within the same limits:
//! parentheses only where needed, compact once the readable form would pass [`MAX_LEN`].

mod eval;
mod parse;
mod presets;
mod query;

pub use eval::Truth;
pub use parse::{CmpOp, Comparison, Expr, FilterError, MAX_CLAUSES, MAX_DEPTH, MAX_LEN, Operand, TextOp, parse_filter};
pub use presets::{PRESETS, Preset, preset};
pub use query::{Cursor, CursorError, Page, SortKey, SortSpec, page};

#[cfg(test)]
mod fuzz;
