//! Ticker symbols.

use crate::money::Currency;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A ticker symbol: 1 to 10 characters, upper-case ASCII letters and digits, with `.` or `-` as
/// class separators inside (e.g. `BRK.B`, `BF-B`). Parsing upper-cases, so `brk.b` is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("a symbol is 1 to 10 characters")]
    Length,
    #[error("a symbol holds letters and digits, with . or - between them")]
    Characters,
}

impl Symbol {
    pub const MAX_LEN: usize = 10;

    pub fn parse(text: &str) -> Result<Self, SymbolError> {
        let text = text.trim();
        if text.is_empty() || text.len() > Self::MAX_LEN {
            return Err(SymbolError::Length);
        }
        let upper = text.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        let separator = |b: u8| b == b'.' || b == b'-';
        let valid = bytes.iter().all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || separator(b))
            && !separator(bytes[0])
            && !separator(bytes[bytes.len() - 1])
            && !bytes.windows(2).any(|w| separator(w[0]) && separator(w[1]));
        if !valid {
            return Err(SymbolError::Characters);
        }
        Ok(Symbol(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of a portfolio's cash ledger in `currency`: `$USD`. Deposits, withdrawals and
    /// interest are stored as that ledger's transactions; the `$` is outside the ticker grammar,
    /// so it never names a security and no input can spell it.
    pub fn cash(currency: Currency) -> Symbol {
        Symbol(format!("${currency}"))
    }

    /// The currency of a cash ledger's key (`None` for a ticker).
    pub fn cash_currency(&self) -> Option<Currency> {
        self.0.strip_prefix('$').and_then(|code| Currency::parse_supported(code).ok())
    }

    /// A ticker, or a cash ledger's key, as stored (never for input: input names no cash ledger).
    pub fn parse_stored(text: &str) -> Result<Self, SymbolError> {
        match text.strip_prefix('$') {
            Some(code) => Currency::parse_supported(code).map(Symbol::cash).map_err(|_| SymbolError::Characters),
            None => Symbol::parse(text),
        }
    }
}

impl TryFrom<String> for Symbol {
    type Error = SymbolError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Symbol::parse(&value)
    }
}

impl From<Symbol> for String {
    fn from(symbol: Symbol) -> Self {
        symbol.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_tickers_and_normalises_case() {
        for t in ["AAPL", "BRK.B", "BF-B", "A", "GOOGL", "3M1"] {
            assert_eq!(Symbol::parse(t).unwrap().as_str(), t);
        }
        assert_eq!(Symbol::parse(" brk.b ").unwrap().as_str(), "BRK.B");
    }

    #[test]
    fn rejects_what_cannot_be_a_ticker() {
        assert_eq!(Symbol::parse(""), Err(SymbolError::Length));
        assert_eq!(Symbol::parse("ABCDEFGHIJK"), Err(SymbolError::Length));
        for bad in [".A", "A.", "A..B", "A B", "A$", "É", "A/B"] {
            assert_eq!(Symbol::parse(bad), Err(SymbolError::Characters), "{bad}");
        }
    }

    #[test]
    fn cash_ledgers_have_keys_no_input_can_spell() {
        let cash = Symbol::cash(Currency::EUR);
        assert_eq!((cash.as_str(), cash.cash_currency()), ("$EUR", Some(Currency::EUR)));
        assert_eq!(Symbol::parse_stored("$EUR"), Ok(cash));
        assert_eq!(Symbol::parse("$EUR"), Err(SymbolError::Characters));
        assert_eq!(Symbol::parse_stored("$XAU"), Err(SymbolError::Characters));
        assert_eq!(Symbol::parse_stored("aapl").map(|s| s.cash_currency()), Ok(None));
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<Symbol>("\"msft\"").is_ok());
        assert!(serde_json::from_str::<Symbol>("\"m s\"").is_err());
    }
}
