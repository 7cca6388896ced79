//! Watchlists: a user's named, ordered lists of symbols, within the limits of the user's plan.
//! The rules live here (names, order, duplicates, limits); storage keeps a list as one item.

use crate::Symbol;
use crate::plan::Plan;

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// What a plan allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchlistLimits {
    /// Watchlists per user.
    pub lists: usize,
    /// Symbols per watchlist.
    pub symbols: usize,
}

/// The limits of `plan`: free 10 lists of 50 symbols, pro 50 lists of 200 (a list is read with
/// its quotes in ⌈N/100⌉ batch reads, so 200 costs two).
pub fn limits(plan: Plan) -> WatchlistLimits {
    match plan {
        Plan::Free => WatchlistLimits { lists: 10, symbols: 50 },
        Plan::Pro => WatchlistLimits { lists: 50, symbols: 200 },
    }
}

/// Why a watchlist change was refused; `index` is the position of the offending symbol in the
/// list given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchlistError {
    #[error("1 to {MAX_NAME_CHARS} printable characters")]
    Name,
    #[error("not a symbol")]
    Symbol { index: usize },
    #[error("{symbol} is listed twice")]
    Duplicate { index: usize, symbol: Symbol },
    #[error("a watchlist holds at most {max} symbols on this plan")]
    TooManySymbols { max: usize },
}

/// A watchlist's name: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control characters.
pub fn name(raw: &str) -> Result<String, WatchlistError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(WatchlistError::Name);
    }
    Ok(name.to_owned())
}

/// A list of symbols in the order given: each must parse, none may repeat, at most `max`.
pub fn symbols(raw: &[String], max: usize) -> Result<Vec<Symbol>, WatchlistError> {
    if raw.len() > max {
        return Err(WatchlistError::TooManySymbols { max });
    }
    let mut list: Vec<Symbol> = Vec::with_capacity(raw.len());
    for (index, text) in raw.iter().enumerate() {
        let symbol = Symbol::parse(text).map_err(|_| WatchlistError::Symbol { index })?;
        if list.contains(&symbol) {
            return Err(WatchlistError::Duplicate { index, symbol });
        }
        list.push(symbol);
    }
    Ok(list)
}

/// `list` with `symbol` at the end; unchanged (`None`) when it is already there, so adding twice
/// is harmless.
pub fn add(list: &[Symbol], symbol: Symbol, max: usize) -> Result<Option<Vec<Symbol>>, WatchlistError> {
    if list.contains(&symbol) {
        return Ok(None);
    }
    if list.len() >= max {
        return Err(WatchlistError::TooManySymbols { max });
    }
    let mut next = list.to_vec();
    next.push(symbol);
    Ok(Some(next))
}

/// `list` without `symbol`; `None` when it was not there.
pub fn remove(list: &[Symbol], symbol: &Symbol) -> Option<Vec<Symbol>> {
    let position = list.iter().position(|s| s == symbol)?;
    let mut next = list.to_vec();
    next.remove(position);
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  Tech  ").unwrap(), "Tech");
        assert_eq!(name(""), Err(WatchlistError::Name));
        assert_eq!(name("   "), Err(WatchlistError::Name));
        assert_eq!(name(&"é".repeat(MAX_NAME_CHARS)).unwrap().chars().count(), MAX_NAME_CHARS);
        assert_eq!(name(&"a".repeat(MAX_NAME_CHARS + 1)), Err(WatchlistError::Name));
        assert_eq!(name("a\u{7}b"), Err(WatchlistError::Name));
    }

    #[test]
    fn lists_keep_their_order_and_refuse_repeats_bad_symbols_and_excess() {
        let raw: Vec<String> = ["MSFT", "aapl", "BRK.B"].map(String::from).to_vec();
        assert_eq!(symbols(&raw, 3).unwrap(), vec![sym("MSFT"), sym("AAPL"), sym("BRK.B")]);
        assert_eq!(symbols(&raw, 2), Err(WatchlistError::TooManySymbols { max: 2 }));
        let repeated: Vec<String> = ["MSFT", "AAPL", "msft"].map(String::from).to_vec();
        assert_eq!(symbols(&repeated, 10), Err(WatchlistError::Duplicate { index: 2, symbol: sym("MSFT") }));
        let bad: Vec<String> = ["MSFT", "not a symbol"].map(String::from).to_vec();
        assert_eq!(symbols(&bad, 10), Err(WatchlistError::Symbol { index: 1 }));
    }

    #[test]
    fn adding_is_idempotent_and_bounded_removing_reports_absence() {
        let list = vec![sym("MSFT")];
        assert_eq!(add(&list, sym("AAPL"), 2).unwrap(), Some(vec![sym("MSFT"), sym("AAPL")]));
        assert_eq!(add(&list, sym("MSFT"), 1).unwrap(), None, "already there: unchanged, even at the limit");
        assert_eq!(add(&list, sym("AAPL"), 1), Err(WatchlistError::TooManySymbols { max: 1 }));
        assert_eq!(remove(&list, &sym("MSFT")), Some(vec![]));
        assert_eq!(remove(&list, &sym("AAPL")), None);
    }

    #[test]
    fn plans_differ_in_size() {
        assert!(limits(Plan::Pro).lists > limits(Plan::Free).lists);
        assert!(limits(Plan::Pro).symbols > limits(Plan::Free).symbols);
    }
}
