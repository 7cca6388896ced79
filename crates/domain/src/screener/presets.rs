//! Presets: named screens written in the filter language, so their criteria are documented by
//! the same text that runs them (published by `GET /v1/screener/presets`).

use super::query::{SortKey, SortSpec};
use crate::stock::Metric;

#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub filter: &'static str,
    pub sort: SortSpec,
}

const fn by(metric: Metric, descending: bool) -> SortSpec {
    SortSpec { key: SortKey::Metric(metric), descending }
}

pub static PRESETS: &[Preset] = &[
    Preset {
        name: "value",
        title: "Value",
        description: "Profitable companies priced cheaply against earnings and book value.",
        filter: "pe > 0 and pe < 15 and price_to_book < 3",
        sort: by(Metric::Pe, false),
    },
    Preset {
        name: "growth",
        title: "Growth",
        description: "Profitable companies the market prices for growth: high P/E and price/sales.",
        filter: "eps > 0 and pe > 25 and price_to_sales > 5",
        sort: by(Metric::PriceToSales, true),
    },
    Preset {
        name: "dividend",
        title: "Dividend",
        description: "Yield of 3 % or more from companies whose earnings can carry it (P/E between 0 and 25).",
        filter: "dividend_yield >= 3% and pe > 0 and pe < 25",
        sort: by(Metric::DividendYield, true),
    },
    Preset {
        name: "momentum",
        title: "Momentum",
        description: "Uptrend: price above the 50-day average, 50-day above 200-day, not overbought (RSI below 70).",
        filter: "price > sma_50 and sma_50 > sma_200 and rsi_14 < 70",
        sort: by(Metric::Return1y, true),
    },
    Preset {
        name: "quality",
        title: "Quality",
        description: "Positive EBITDA and earnings at a sane valuation, with complete data.",
        filter: "ebitda > 0 and eps > 0 and pe between 0 and 30 and price_to_book < 10 and data_quality >= 90",
        sort: by(Metric::MarketCap, true),
    },
    Preset {
        name: "low-volatility",
        title: "Low volatility",
        description: "Annualised 30-day volatility below 20 %.",
        filter: "volatility_30d < 20%",
        sort: by(Metric::Volatility30d, false),
    },
    Preset {
        name: "large-cap",
        title: "Large cap",
        description: "Market capitalisation of 10 billion USD or more.",
        filter: "market_cap >= 10B",
        sort: by(Metric::MarketCap, true),
    },
    Preset {
        name: "near-52-week-high",
        title: "Near the 52-week high",
        description: "Within 5 % of the 52-week high.",
        filter: "pct_from_52w_high >= -5%",
        sort: by(Metric::PctFrom52wHigh, true),
    },
    Preset {
        name: "oversold",
        title: "Oversold",
        description: "RSI-14 at or below 30.",
        filter: "rsi_14 <= 30",
        sort: by(Metric::Rsi14, false),
    },
];

pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses() {
        for p in PRESETS {
            super::super::parse_filter(p.filter).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
        assert!(preset("value").is_some() && preset("nope").is_none());
    }
}
