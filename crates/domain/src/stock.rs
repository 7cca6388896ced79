//! A stock as the screener sees it: identity, sector, and numeric metrics indexed by [`Metric`], so
//! a compiled filter reads a metric with one array index. Every metric is an exact decimal and may
//! be missing; a missing value is never zero.

use crate::symbol::Symbol;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Every numeric field of a stock, in catalogue order. The wire name is the snake_case form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Price,
    Change,
    ChangePct,
    MarketCap,
    Pe,
    DividendYield,
    Eps,
    Week52Low,
    Week52High,
    PctFrom52wHigh,
    PriceToSales,
    PriceToBook,
    Ebitda,
    Sma50,
    Sma200,
    Rsi14,
    Volatility30d,
    Return1y,
    DataQuality,
}

/// What a metric is, for the published catalogue (`GET /v1/screener/fields`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MetricInfo {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
}

impl Metric {
    pub const ALL: [Metric; 19] = [
        Metric::Price,
        Metric::Change,
        Metric::ChangePct,
        Metric::MarketCap,
        Metric::Pe,
        Metric::DividendYield,
        Metric::Eps,
        Metric::Week52Low,
        Metric::Week52High,
        Metric::PctFrom52wHigh,
        Metric::PriceToSales,
        Metric::PriceToBook,
        Metric::Ebitda,
        Metric::Sma50,
        Metric::Sma200,
        Metric::Rsi14,
        Metric::Volatility30d,
        Metric::Return1y,
        Metric::DataQuality,
    ];
    pub const COUNT: usize = Self::ALL.len();

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn info(self) -> MetricInfo {
        let (name, unit, description) = match self {
            Metric::Price => ("price", "USD", "last price"),
            Metric::Change => ("change", "USD", "change from the previous close"),
            Metric::ChangePct => ("change_pct", "fraction", "change from the previous close, 0.01 = 1 %"),
            Metric::MarketCap => ("market_cap", "USD", "market capitalisation"),
            Metric::Pe => ("pe", "ratio", "price / earnings (trailing)"),
            Metric::DividendYield => ("dividend_yield", "fraction", "annual dividend / price, 0.03 = 3 %"),
            Metric::Eps => ("eps", "USD", "earnings per share (trailing)"),
            Metric::Week52Low => ("week52_low", "USD", "lowest price of the last 52 weeks"),
            Metric::Week52High => ("week52_high", "USD", "highest price of the last 52 weeks"),
            Metric::PctFrom52wHigh => ("pct_from_52w_high", "fraction", "price / 52-week high - 1 (0 at the high, negative below)"),
            Metric::PriceToSales => ("price_to_sales", "ratio", "price / sales"),
            Metric::PriceToBook => ("price_to_book", "ratio", "price / book value"),
            Metric::Ebitda => ("ebitda", "USD", "earnings before interest, taxes, depreciation and amortisation"),
            Metric::Sma50 => ("sma_50", "USD", "50-day simple moving average of closes"),
            Metric::Sma200 => ("sma_200", "USD", "200-day simple moving average of closes"),
            Metric::Rsi14 => ("rsi_14", "0-100", "14-day relative strength index (Wilder)"),
            Metric::Volatility30d => ("volatility_30d", "fraction", "annualised standard deviation of the last 30 daily returns"),
            Metric::Return1y => ("return_1y", "fraction", "price change over the history's last year"),
            Metric::DataQuality => ("data_quality", "0-100", "share of the screener's fields that are known"),
        };
        MetricInfo { name, unit, description }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.info().name == name)
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.info().name)
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Metric::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown field {name:?}")))
    }
}

/// Text fields a filter can compare with `=`, `!=` and `in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    Symbol,
    Sector,
    SubIndustry,
}

impl TextField {
    pub const ALL: [TextField; 3] = [TextField::Symbol, TextField::Sector, TextField::SubIndustry];

    pub fn name(self) -> &'static str {
        match self {
            TextField::Symbol => "symbol",
            TextField::Sector => "sector",
            TextField::SubIndustry => "sub_industry",
        }
    }

    pub fn parse(name: &str) -> Option<TextField> {
        TextField::ALL.into_iter().find(|f| f.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stock {
    pub symbol: Symbol,
    pub name: String,
    pub sector: Option<String>,
    pub sub_industry: Option<String>,
    /// Indexed by [`Metric::index`].
    pub metrics: Vec<Option<Decimal>>,
    /// When market data was last refreshed (UTC, ISO 8601), if ever.
    pub enriched_at: Option<String>,
    /// True when the price history (and what is derived from it) is generated, not observed.
    pub history_generated: bool,
}

impl Stock {
    pub fn new(symbol: Symbol, name: String) -> Self {
        Stock {
            symbol,
            name,
            sector: None,
            sub_industry: None,
            metrics: vec![None; Metric::COUNT],
            enriched_at: None,
            history_generated: false,
        }
    }

    pub fn metric(&self, metric: Metric) -> Option<Decimal> {
        self.metrics.get(metric.index()).copied().flatten()
    }

    pub fn set(&mut self, metric: Metric, value: Option<Decimal>) {
        if self.metrics.len() < Metric::COUNT {
            self.metrics.resize(Metric::COUNT, None);
        }
        self.metrics[metric.index()] = value;
    }

    pub fn text(&self, field: TextField) -> Option<&str> {
        match field {
            TextField::Symbol => Some(self.symbol.as_str()),
            TextField::Sector => self.sector.as_deref(),
            TextField::SubIndustry => self.sub_industry.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_in_index_order_and_names_round_trip() {
        for (i, metric) in Metric::ALL.into_iter().enumerate() {
            assert_eq!(metric.index(), i);
            assert_eq!(Metric::parse(metric.info().name), Some(metric));
            let wire = serde_json::to_string(&metric).unwrap();
            assert_eq!(wire, format!("\"{}\"", metric.info().name));
        }
        assert_eq!(Metric::parse("nope"), None);
    }
}
