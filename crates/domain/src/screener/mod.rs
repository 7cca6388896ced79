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
//! string     := '...' or "..."
//! ```
//! A comparison with a missing value is *unknown*, and unknown is never a match: `not`, `and` and
//! `or` follow three-valued (Kleene) logic, so `not (pe > 10)` does not match a stock without P/E.

mod eval;
mod parse;
mod presets;
mod query;

pub use eval::Truth;
pub use parse::{Comparison, Expr, FilterError, MAX_CLAUSES, MAX_DEPTH, MAX_LEN, Operand, TextOp, CmpOp, parse_filter};
pub use presets::{PRESETS, Preset, preset};
pub use query::{Cursor, CursorError, Page, SortKey, SortSpec, page};

#[cfg(test)]
mod fuzz {
    //! Deterministic fuzzing: random token soups and random bytes never panic the parser, and
    //! whatever parses evaluates without panicking and prints back to the same tree.
    use super::*;
    use crate::stock::{Metric, Stock};
    use crate::symbol::Symbol;
    use rust_decimal::Decimal;

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    const PIECES: &[&str] = &[
        "pe", "price", "sma_200", "market_cap", "sector", "symbol", "rsi_14", "nope", "and", "or", "not", "between", "in", "(", ")",
        ",", "<", "<=", ">", ">=", "=", "!=", "!", "15", "-3.5", "1e3", "10B", "3%", "0.", "'Energy'", "\"x\"", "'", "é", "99999999999999999999999999999999",
        "1e99999", "  ", "_", "--", "..",
    ];

    /// A random expression of the grammar (valid by construction).
    fn expression(rng: &mut Rng, depth: u32) -> String {
        let metrics = ["pe", "price", "sma_200", "market_cap", "rsi_14", "dividend_yield"];
        let numbers = ["15", "-3.5", "1e3", "10B", "3%", "0", "0.25"];
        match if depth > 3 { 0 } else { rng.next() % 6 } {
            0 | 1 => {
                let op = rng.pick(&["<", "<=", ">", ">=", "=", "!="]);
                let rhs = if rng.next() % 3 == 0 { rng.pick(&metrics) } else { rng.pick(&numbers) };
                format!("{} {op} {rhs}", rng.pick(&metrics))
            }
            2 => format!("{} between {} and {}", rng.pick(&metrics), rng.pick(&numbers), rng.pick(&numbers)),
            3 => "sector in ('Energy', \"Utilities\")".to_owned(),
            4 => format!("not ({})", expression(rng, depth + 1)),
            _ => format!("({}) {} ({})", expression(rng, depth + 1), rng.pick(&["and", "or"]), expression(rng, depth + 1)),
        }
    }

    fn stocks() -> Vec<Stock> {
        let mut full = Stock::new(Symbol::parse("FULL").unwrap(), "Full".into());
        for (i, metric) in Metric::ALL.into_iter().enumerate() {
            full.set(metric, Some(Decimal::from(i as i64 * 7 - 20)));
        }
        full.sector = Some("Energy".into());
        vec![full, Stock::new(Symbol::parse("EMPTY").unwrap(), "Empty".into())]
    }

    #[test]
    fn no_input_panics_and_what_parses_round_trips() {
        let mut rng = Rng(0x5eed);
        let stocks = stocks();
        let mut parsed = 0;
        for i in 0..20_000 {
            let text = if i % 2 == 0 {
                // Random token soup.
                let len = 1 + rng.next() % 12;
                (0..len).map(|_| rng.pick(PIECES)).collect::<Vec<_>>().join(" ")
            } else {
                // A valid expression, sometimes with one token replaced.
                let mut tokens: Vec<String> = expression(&mut rng, 0).split(' ').map(str::to_owned).collect();
                if rng.next() % 2 == 0 {
                    let at = (rng.next() % tokens.len() as u64) as usize;
                    tokens[at] = rng.pick(PIECES).to_owned();
                }
                tokens.join(" ")
            };
            if let Ok(expr) = parse_filter(&text) {
                parsed += 1;
                for stock in &stocks {
                    let _ = expr.matches(stock);
                }
                assert_eq!(parse_filter(&expr.to_string()).as_ref(), Ok(&expr), "{text}");
            }
        }
        assert!(parsed > 5_000, "the generator should also produce valid filters ({parsed})");
        for _ in 0..5_000 {
            let bytes: Vec<u8> = (0..(rng.next() % 64)).map(|_| (rng.next() % 256) as u8).collect();
            let _ = parse_filter(&String::from_utf8_lossy(&bytes));
        }
    }
}
