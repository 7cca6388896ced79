//! Sorting and keyset pagination over the in-memory universe.
//!
//! Order: by the sort metric (ascending or descending), ties broken by symbol ascending; stocks
//! without a value for the metric always come last, whatever the direction, in symbol order. A
//! cursor names the last item of a page by its sort key, so the next page starts strictly after
//! it: every matching stock is visited exactly once even if the universe changes between pages.

use crate::stock::{Metric, Stock};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Metric(Metric),
    Symbol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortSpec {
    pub key: SortKey,
    pub descending: bool,
}

/// Why a sort was refused; each names the parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SortError {
    /// `sort` names no sortable field.
    #[error("cannot sort by {0:?}: use symbol or a numeric field")]
    Sort(String),
    /// `order` is neither `asc` nor `desc`.
    #[error("order must be asc or desc, not {0:?}")]
    Order(String),
}

impl SortError {
    /// The parameter at fault: `sort` or `order`.
    pub fn parameter(&self) -> &'static str {
        match self {
            SortError::Sort(_) => "sort",
            SortError::Order(_) => "order",
        }
    }
}

impl SortSpec {
    /// `sort` is `symbol` or a metric name; `order` is `asc` or `desc`.
    pub fn parse(sort: &str, order: &str) -> Result<Self, SortError> {
        let key = if sort == "symbol" {
            SortKey::Symbol
        } else {
            SortKey::Metric(Metric::parse(sort).ok_or_else(|| SortError::Sort(sort.to_owned()))?)
        };
        let descending = match order {
            "asc" => false,
            "desc" => true,
            other => return Err(SortError::Order(other.to_owned())),
        };
        Ok(SortSpec { key, descending })
    }

    pub fn name(&self) -> &'static str {
        match self.key {
            SortKey::Symbol => "symbol",
            SortKey::Metric(m) => m.info().name,
        }
    }

    fn value(&self, stock: &Stock) -> Option<Decimal> {
        match self.key {
            SortKey::Metric(m) => stock.metric(m),
            SortKey::Symbol => None,
        }
    }

    fn compare_keys(&self, a: (Option<Decimal>, &str), b: (Option<Decimal>, &str)) -> Ordering {
        if self.key == SortKey::Symbol {
            let by_symbol = a.1.cmp(b.1);
            return if self.descending { by_symbol.reverse() } else { by_symbol };
        }
        match (a.0, b.0) {
            (Some(x), Some(y)) => {
                let by_value = if self.descending { y.cmp(&x) } else { x.cmp(&y) };
                by_value.then_with(|| a.1.cmp(b.1))
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a.1.cmp(b.1),
        }
    }

    /// Sorts in place in this order.
    pub fn sort(&self, stocks: &mut [&Stock]) {
        stocks.sort_by(|a, b| self.compare_keys((self.value(a), a.symbol.as_str()), (self.value(b), b.symbol.as_str())));
    }
}

/// Where the next page starts: the sort it belongs to and the last item's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    sort: String,
    descending: bool,
    value: Option<Decimal>,
    symbol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is malformed")]
    Malformed,
    #[error("the cursor belongs to another sort order")]
    OtherSort,
}

impl Cursor {
    /// Opaque, URL-safe text (hex of `sort|order|value|symbol`).
    pub fn encode(&self) -> String {
        let value = self.value.map(|v| v.normalize().to_string()).unwrap_or_default();
        let plain = format!("{}|{}|{}|{}", self.sort, if self.descending { "d" } else { "a" }, value, self.symbol);
        crate::text::hex(plain.as_bytes())
    }

    pub fn decode(text: &str, sort: &SortSpec) -> Result<Self, CursorError> {
        if !text.len().is_multiple_of(2) || text.len() > 400 {
            return Err(CursorError::Malformed);
        }
        let bytes = crate::text::unhex(text).ok_or(CursorError::Malformed)?;
        let plain = String::from_utf8(bytes).map_err(|_| CursorError::Malformed)?;
        let parts: Vec<&str> = plain.split('|').collect();
        let [name, order, value, symbol] = parts.as_slice() else { return Err(CursorError::Malformed) };
        let value = if value.is_empty() { None } else { Some(Decimal::from_str(value).map_err(|_| CursorError::Malformed)?) };
        let descending = match *order {
            "d" => true,
            "a" => false,
            _ => return Err(CursorError::Malformed),
        };
        if *name != sort.name() || descending != sort.descending {
            return Err(CursorError::OtherSort);
        }
        Ok(Cursor { sort: (*name).to_owned(), descending, value, symbol: (*symbol).to_owned() })
    }
}

pub struct Page<'a> {
    pub items: Vec<&'a Stock>,
    /// `None` on the last page.
    pub next: Option<Cursor>,
}

/// One page of `matching` (any order) after `cursor`, at most `limit` items.
pub fn page<'a>(mut matching: Vec<&'a Stock>, sort: &SortSpec, cursor: Option<&Cursor>, limit: usize) -> Page<'a> {
    sort.sort(&mut matching);
    let start = match cursor {
        None => 0,
        Some(c) => {
            matching.partition_point(|s| sort.compare_keys((sort.value(s), s.symbol.as_str()), (c.value, &c.symbol)) != Ordering::Greater)
        }
    };
    let end = (start + limit).min(matching.len());
    let items: Vec<&Stock> = matching[start..end].to_vec();
    let next = (end < matching.len()).then(|| {
        let last = items.last().copied().unwrap_or(matching[end - 1]);
        Cursor { sort: sort.name().to_owned(), descending: sort.descending, value: sort.value(last), symbol: last.symbol.to_string() }
    });
    Page { items, next }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::Symbol;

    fn stock(symbol: &str, pe: Option<i64>) -> Stock {
        let mut s = Stock::new(Symbol::parse(symbol).unwrap(), symbol.into());
        s.set(Metric::Pe, pe.map(Decimal::from));
        s
    }

    fn walk(stocks: &[Stock], sort: SortSpec, limit: usize) -> Vec<String> {
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = page(stocks.iter().collect(), &sort, cursor.as_ref(), limit);
            seen.extend(page.items.iter().map(|s| s.symbol.to_string()));
            match page.next {
                Some(next) => cursor = Some(Cursor::decode(&next.encode(), &sort).unwrap()),
                None => return seen,
            }
        }
    }

    #[test]
    fn missing_values_come_last_in_both_directions_and_pages_cover_everything_once() {
        let stocks =
            vec![stock("B", Some(10)), stock("A", Some(10)), stock("C", None), stock("D", Some(5)), stock("E", None), stock("F", Some(20))];
        let asc = SortSpec::parse("pe", "asc").unwrap();
        let desc = SortSpec::parse("pe", "desc").unwrap();
        for limit in 1..=7 {
            assert_eq!(walk(&stocks, asc, limit), ["D", "A", "B", "F", "C", "E"], "limit {limit}");
            assert_eq!(walk(&stocks, desc, limit), ["F", "A", "B", "D", "C", "E"], "limit {limit}");
        }
        let by_symbol = SortSpec::parse("symbol", "desc").unwrap();
        assert_eq!(walk(&stocks, by_symbol, 4), ["F", "E", "D", "C", "B", "A"]);
    }

    #[test]
    fn cursors_are_checked() {
        let asc = SortSpec::parse("pe", "asc").unwrap();
        let desc = SortSpec::parse("pe", "desc").unwrap();
        let cursor = Cursor { sort: "pe".into(), descending: false, value: Some(Decimal::from(3)), symbol: "A".into() };
        assert_eq!(Cursor::decode(&cursor.encode(), &asc).unwrap(), cursor);
        assert_eq!(Cursor::decode(&cursor.encode(), &desc), Err(CursorError::OtherSort));
        for bad in ["zz", "abc", "7c7c7c", ""] {
            assert!(Cursor::decode(bad, &asc).is_err(), "{bad}");
        }
        assert_eq!(SortSpec::parse("name", "asc").unwrap_err().parameter(), "sort");
        assert_eq!(SortSpec::parse("pe", "up").unwrap_err().parameter(), "order");
        assert_eq!(SortSpec::parse("pe", "up").unwrap_err().to_string(), "order must be asc or desc, not \"up\"");
    }
}
