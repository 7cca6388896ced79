//! The universe by sector: how many stocks each sector has, their median P/E and their total
//! market cap — what `GET /v1/sectors` answers.

use crate::journal::median;
use crate::stock::{Metric, Stock};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One sector's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectorStats {
    /// The sector's name; stocks without one are grouped as `Unknown`.
    pub sector: String,
    pub count: usize,
    /// The median P/E of the sector's stocks that have one.
    pub median_pe: Option<Decimal>,
    /// The total market cap of the sector's stocks that have one…
    pub total_market_cap: Decimal,
    /// …and how many those are.
    pub with_market_cap: usize,
}

/// Every sector of `stocks`, by name.
pub fn sector_stats(stocks: &[Stock]) -> Vec<SectorStats> {
    let mut groups: BTreeMap<&str, Vec<&Stock>> = BTreeMap::new();
    for stock in stocks {
        groups.entry(stock.sector.as_deref().unwrap_or("Unknown")).or_default().push(stock);
    }
    groups
        .into_iter()
        .map(|(sector, members)| {
            let mut pes: Vec<Decimal> = members.iter().filter_map(|s| s.metric(Metric::Pe)).collect();
            pes.sort();
            let caps: Vec<Decimal> = members.iter().filter_map(|s| s.metric(Metric::MarketCap)).collect();
            SectorStats {
                sector: sector.to_owned(),
                count: members.len(),
                median_pe: median(&pes),
                total_market_cap: caps.iter().sum::<Decimal>().normalize(),
                with_market_cap: caps.len(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::Symbol;

    fn stock(symbol: &str, sector: Option<&str>, pe: Option<&str>, cap: Option<&str>) -> Stock {
        let mut stock = Stock::new(Symbol::parse(symbol).unwrap(), symbol.into());
        stock.sector = sector.map(str::to_owned);
        stock.set(Metric::Pe, pe.map(|v| v.parse().unwrap()));
        stock.set(Metric::MarketCap, cap.map(|v| v.parse().unwrap()));
        stock
    }

    #[test]
    fn sectors_have_counts_median_pe_and_total_market_cap() {
        let stocks = [
            stock("A", Some("Tech"), Some("10"), Some("100")),
            stock("B", Some("Tech"), Some("30"), None),
            stock("C", Some("Tech"), None, Some("50.5")),
            stock("D", Some("Energy"), Some("7"), Some("20")),
            stock("E", None, None, None),
        ];
        let stats = sector_stats(&stocks);
        let names: Vec<&str> = stats.iter().map(|s| s.sector.as_str()).collect();
        assert_eq!(names, ["Energy", "Tech", "Unknown"]);
        let tech = &stats[1];
        assert_eq!((tech.count, tech.median_pe, tech.with_market_cap), (3, Some(Decimal::from(20)), 2));
        assert_eq!(tech.total_market_cap, "150.5".parse::<Decimal>().unwrap());
        assert_eq!(
            stats[2],
            SectorStats { sector: "Unknown".into(), count: 1, median_pe: None, total_market_cap: Decimal::ZERO, with_market_cap: 0 }
        );
    }
}
