//! Saved screens: a user's filter (the screener's language, [`crate::screener`]) with a name, a
//! sort and the columns to show, within the limits of the user's plan; and the match set of a
//! screen, whose changes screen alerts report.

use crate::Symbol;
use crate::plan::Plan;
use crate::screener::{Expr, SortSpec, parse_filter};
use crate::stock::{Metric, Stock};
use std::collections::BTreeSet;

/// Saved screens per user: free 5, pro 50.
pub fn max_screens(plan: Plan) -> usize {
    match plan {
        Plan::Free => 5,
        Plan::Pro => 50,
    }
}

/// Why a screen was refused; each names the member at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    #[error("1 to {} printable characters", crate::watchlist::MAX_NAME_CHARS)]
    Name,
    #[error("{0}")]
    Filter(String),
    #[error("{0}")]
    Sort(String),
    #[error("{name:?} is not a field (see /v1/screener/fields)")]
    Column { index: usize, name: String },
    #[error("{name} is listed twice")]
    DuplicateColumn { index: usize, name: String },
}

impl ScreenError {
    /// The member at fault, as a path into the request body.
    pub fn field(&self) -> String {
        match self {
            ScreenError::Name => "body.name".into(),
            ScreenError::Filter(_) => "body.filter".into(),
            ScreenError::Sort(_) => "body.sort".into(),
            ScreenError::Column { index, .. } | ScreenError::DuplicateColumn { index, .. } => format!("body.columns[{index}]"),
        }
    }
}

/// A valid screen definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenDefinition {
    pub name: String,
    pub filter: Expr,
    pub sort: SortSpec,
    pub columns: Vec<Metric>,
}

/// The columns shown when none are given.
pub const DEFAULT_COLUMNS: [Metric; 4] = [Metric::Price, Metric::ChangePct, Metric::MarketCap, Metric::Pe];

impl ScreenDefinition {
    /// Parses every member: the name as a watchlist's, the filter in the screener's language,
    /// `sort`/`order` as the screener's query takes them (default market cap, descending), the
    /// columns as metric names without repeats (default [`DEFAULT_COLUMNS`]).
    pub fn parse(
        name: &str,
        filter: &str,
        sort: Option<&str>,
        order: Option<&str>,
        columns: Option<&[String]>,
    ) -> Result<Self, ScreenError> {
        let name = crate::watchlist::name(name).map_err(|_| ScreenError::Name)?;
        let filter = parse_filter(filter).map_err(|e| ScreenError::Filter(e.to_string()))?;
        let sort = SortSpec::parse(sort.unwrap_or("market_cap"), order.unwrap_or("desc")).map_err(|e| ScreenError::Sort(e.to_string()))?;
        let columns = match columns {
            None => DEFAULT_COLUMNS.to_vec(),
            Some(raw) => {
                let mut out: Vec<Metric> = Vec::with_capacity(raw.len());
                for (index, text) in raw.iter().enumerate() {
                    let metric = Metric::parse(text).ok_or_else(|| ScreenError::Column { index, name: text.clone() })?;
                    if out.contains(&metric) {
                        return Err(ScreenError::DuplicateColumn { index, name: text.clone() });
                    }
                    out.push(metric);
                }
                out
            }
        };
        Ok(ScreenDefinition { name, filter, sort, columns })
    }
}

/// The symbols of `stocks` that match `filter`.
pub fn matches<'a>(filter: &Expr, stocks: impl IntoIterator<Item = &'a Stock>) -> BTreeSet<Symbol> {
    stocks.into_iter().filter(|s| filter.matches(s)).map(|s| s.symbol.clone()).collect()
}

/// How a match set changed, each list in symbol order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchChange {
    pub gained: Vec<Symbol>,
    pub lost: Vec<Symbol>,
}

impl MatchChange {
    pub fn is_empty(&self) -> bool {
        self.gained.is_empty() && self.lost.is_empty()
    }
}

/// What `new` gained and lost against `old`.
pub fn diff(old: &BTreeSet<Symbol>, new: &BTreeSet<Symbol>) -> MatchChange {
    MatchChange { gained: new.difference(old).cloned().collect(), lost: old.difference(new).cloned().collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn stock(symbol: &str, pe: i64) -> Stock {
        let mut s = Stock::new(Symbol::parse(symbol).unwrap(), symbol.to_owned());
        s.set(Metric::Pe, Some(Decimal::from(pe)));
        s
    }

    #[test]
    fn definitions_parse_each_member_and_name_the_one_at_fault() {
        let columns: Vec<String> = vec!["price".into(), "pe".into()];
        let screen = ScreenDefinition::parse(" Cheap ", "pe < 15", Some("pe"), Some("asc"), Some(&columns)).unwrap();
        assert_eq!(screen.name, "Cheap");
        assert_eq!(screen.columns, vec![Metric::Price, Metric::Pe]);
        assert!(!screen.sort.descending);
        let default = ScreenDefinition::parse("x", "pe < 15", None, None, None).unwrap();
        assert_eq!(default.columns, DEFAULT_COLUMNS.to_vec());
        assert!(default.sort.descending);
        let field = |r: Result<ScreenDefinition, ScreenError>| r.unwrap_err().field();
        assert_eq!(field(ScreenDefinition::parse("", "pe < 15", None, None, None)), "body.name");
        assert_eq!(field(ScreenDefinition::parse("x", "pe <", None, None, None)), "body.filter");
        assert_eq!(field(ScreenDefinition::parse("x", "pe < 1", Some("nope"), None, None)), "body.sort");
        let bad: Vec<String> = vec!["price".into(), "colour".into()];
        assert_eq!(field(ScreenDefinition::parse("x", "pe < 1", None, None, Some(&bad))), "body.columns[1]");
        let twice: Vec<String> = vec!["pe".into(), "pe".into()];
        assert_eq!(field(ScreenDefinition::parse("x", "pe < 1", None, None, Some(&twice))), "body.columns[1]");
    }

    #[test]
    fn match_sets_diff_into_gains_and_losses() {
        let filter = parse_filter("pe < 15").unwrap();
        let before = matches(&filter, &[stock("A", 10), stock("B", 20), stock("C", 12)]);
        let after = matches(&filter, &[stock("A", 10), stock("B", 14), stock("C", 30)]);
        let change = diff(&before, &after);
        assert_eq!(change.gained, vec![Symbol::parse("B").unwrap()]);
        assert_eq!(change.lost, vec![Symbol::parse("C").unwrap()]);
        assert!(diff(&after, &after).is_empty());
    }
}
