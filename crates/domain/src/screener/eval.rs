//! Evaluation in three-valued logic: a comparison with a missing value is unknown, and only a
//! definite `True` selects a stock.

use super::parse::{CmpOp, Comparison, Expr, Operand, TextOp};
use crate::stock::Stock;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn from(value: bool) -> Self {
        if value { Truth::True } else { Truth::False }
    }

    fn not(self) -> Self {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

fn compare(left: Decimal, op: CmpOp, right: Decimal) -> bool {
    match op {
        CmpOp::Lt => left < right,
        CmpOp::Le => left <= right,
        CmpOp::Gt => left > right,
        CmpOp::Ge => left >= right,
        CmpOp::Eq => left == right,
        CmpOp::Ne => left != right,
    }
}

impl Comparison {
    pub fn truth(&self, stock: &Stock) -> Truth {
        match self {
            Comparison::Compare { metric, op, rhs } => {
                let right = match rhs {
                    Operand::Value(v) => Some(*v),
                    Operand::Metric(m) => stock.metric(*m),
                };
                match (stock.metric(*metric), right) {
                    (Some(l), Some(r)) => Truth::from(compare(l, *op, r)),
                    _ => Truth::Unknown,
                }
            }
            Comparison::Between { metric, low, high } => match stock.metric(*metric) {
                Some(v) => Truth::from(*low <= v && v <= *high),
                None => Truth::Unknown,
            },
            Comparison::In { metric, values } => match stock.metric(*metric) {
                Some(v) => Truth::from(values.contains(&v)),
                None => Truth::Unknown,
            },
            Comparison::Text { field, op, value } => match stock.text(*field) {
                Some(text) => Truth::from(text.eq_ignore_ascii_case(value) == (*op == TextOp::Eq)),
                None => Truth::Unknown,
            },
            Comparison::TextIn { field, values } => match stock.text(*field) {
                Some(text) => Truth::from(values.iter().any(|v| v.eq_ignore_ascii_case(text))),
                None => Truth::Unknown,
            },
        }
    }
}

impl Expr {
    pub fn truth(&self, stock: &Stock) -> Truth {
        match self {
            Expr::Cmp(c) => c.truth(stock),
            Expr::Not(inner) => inner.truth(stock).not(),
            Expr::And(parts) => {
                let mut result = Truth::True;
                for part in parts {
                    match part.truth(stock) {
                        Truth::False => return Truth::False,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                result
            }
            Expr::Or(parts) => {
                let mut result = Truth::False;
                for part in parts {
                    match part.truth(stock) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                result
            }
        }
    }

    /// Only a definite true selects.
    pub fn matches(&self, stock: &Stock) -> bool {
        self.truth(stock) == Truth::True
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_filter;
    use super::*;
    use crate::stock::Metric;
    use crate::symbol::Symbol;

    fn stock(pe: Option<i64>, price: i64, sector: Option<&str>) -> Stock {
        let mut s = Stock::new(Symbol::parse("TEST").unwrap(), "Test".into());
        s.set(Metric::Pe, pe.map(Decimal::from));
        s.set(Metric::Price, Some(Decimal::from(price)));
        s.set(Metric::Sma200, Some(Decimal::from(100)));
        s.sector = sector.map(str::to_owned);
        s
    }

    fn matches(filter: &str, s: &Stock) -> bool {
        parse_filter(filter).unwrap().matches(s)
    }

    #[test]
    fn missing_values_never_satisfy_a_comparison_even_negated() {
        let no_pe = stock(None, 50, Some("Energy"));
        for f in ["pe > 10", "pe <= 10", "pe != 10", "not pe > 10", "pe between 0 and 100", "pe in (1)", "not (pe < 0 or pe >= 0)"] {
            assert!(!matches(f, &no_pe), "{f}");
        }
        assert!(matches("pe > 10 or price < 60", &no_pe), "unknown or true is true");
        assert!(!matches("pe > 10 and price < 60", &no_pe));
        let no_sector = stock(Some(5), 50, None);
        assert!(!matches("sector != 'Energy'", &no_sector));
    }

    #[test]
    fn comparisons_of_fields_and_text() {
        let s = stock(Some(12), 150, Some("Energy"));
        assert!(matches("price > sma_200", &s));
        assert!(!matches("price < sma_200", &s));
        assert!(matches("sector = 'energy' and pe between 12 and 12", &s));
        assert!(matches("sector in ('Utilities', 'Energy')", &s));
        assert!(matches("not sector in ('Utilities')", &s));
        assert!(matches("pe in (11, 12)", &s));
        assert!(!matches("price > sma_50", &s), "sma_50 is missing");
    }
}
