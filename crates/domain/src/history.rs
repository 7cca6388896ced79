//! Daily price history and the metrics derived from it.
//!
//! The reference data is a snapshot without history, so development and tests use a generated,
//! deterministic history (labelled `generated`) that ends at the snapshot's price on `as_of`.

use crate::indicators::{generate_closes, rsi, sma, total_return, volatility};
use crate::stock::{Metric, Stock};
use crate::universe::StockRecord;
use rust_decimal::Decimal;
use time::{Date, Duration, Weekday};

/// Trading days generated per stock: a bit more than a year, so the 200-day average and the
/// one-year return exist.
pub const GENERATED_DAYS: usize = 260;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricePoint {
    pub date: Date,
    pub close: Decimal,
}

/// The `n` weekdays ending at `end` (or the weekday before it), oldest first.
pub fn trading_days(end: Date, n: usize) -> Vec<Date> {
    let mut days = Vec::with_capacity(n);
    let mut day = end;
    while days.len() < n {
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            days.push(day);
        }
        day -= Duration::days(1);
    }
    days.reverse();
    days
}

/// Sets every metric that comes from the closes (oldest first) and the price.
pub fn derive_metrics(stock: &mut Stock, closes: &[Decimal]) {
    let last = closes.last().copied();
    let previous = closes.len().checked_sub(2).and_then(|i| closes.get(i)).copied();
    let change = last.zip(previous).map(|(l, p)| l - p);
    stock.set(Metric::Change, change);
    stock.set(Metric::ChangePct, change.zip(previous).filter(|(_, p)| !p.is_zero()).map(|(c, p)| (c / p).round_dp(6).normalize()));
    stock.set(Metric::Sma50, sma(closes, 50));
    stock.set(Metric::Sma200, sma(closes, 200));
    stock.set(Metric::Rsi14, rsi(closes, 14));
    stock.set(Metric::Volatility30d, volatility(closes, 30));
    stock.set(Metric::Return1y, if closes.len() >= 252 { total_return(&closes[closes.len() - 252..]) } else { None });
    let pct_from_high = stock
        .metric(Metric::Price)
        .zip(stock.metric(Metric::Week52High))
        .filter(|(_, h)| !h.is_zero())
        .map(|(p, h)| (p / h - Decimal::ONE).round_dp(6).normalize());
    stock.set(Metric::PctFrom52wHigh, pct_from_high);
}

/// A stable seed per symbol (FNV-1a), so every run generates the same history.
fn seed(symbol: &str) -> u64 {
    symbol.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The screener's stock for a reference record, with generated history when the price is known.
pub fn stock_from_record(record: &StockRecord, as_of: Date) -> (Stock, Vec<PricePoint>) {
    let mut stock = Stock::new(record.symbol.clone(), record.name.clone());
    stock.sector = record.sector.clone();
    stock.sub_industry = record.sub_industry.clone();
    let set = |stock: &mut Stock, metric, value| stock.set(metric, value);
    set(&mut stock, Metric::Price, record.price);
    set(&mut stock, Metric::MarketCap, record.market_cap);
    set(&mut stock, Metric::Pe, record.price_to_earnings);
    set(&mut stock, Metric::DividendYield, record.dividend_yield);
    set(&mut stock, Metric::Eps, record.earnings_per_share);
    set(&mut stock, Metric::Week52Low, record.week52_low);
    set(&mut stock, Metric::Week52High, record.week52_high);
    set(&mut stock, Metric::PriceToSales, record.price_to_sales);
    set(&mut stock, Metric::PriceToBook, record.price_to_book);
    set(&mut stock, Metric::Ebitda, record.ebitda);
    set(&mut stock, Metric::DataQuality, Some(Decimal::from(record.data_quality())));
    let Some(price) = record.price else { return (stock, Vec::new()) };
    let closes = generate_closes(seed(record.symbol.as_str()), GENERATED_DAYS, price, record.week52_low, record.week52_high);
    derive_metrics(&mut stock, &closes);
    stock.history_generated = true;
    let points = trading_days(as_of, closes.len()).into_iter().zip(closes).map(|(date, close)| PricePoint { date, close }).collect();
    (stock, points)
}

/// The level the generated benchmark index ends at on `as_of` (SPY traded near it in 2026).
pub const BENCHMARK_BASE: i64 = 600;

/// A cap-weighted index of the records' generated histories, the offline stand-in for the S&P 500
/// benchmark (the reference data has no index series): on each day, Σ capᵢ · closeᵢ(day) /
/// closeᵢ(as_of) over every record with a market cap and a history, scaled to end at
/// [`BENCHMARK_BASE`] — the index of the constituents' closes, weighted by their market caps on
/// `as_of`, as the S&P 500 is (float adjustments aside). Rounded to 4 places.
pub fn benchmark_history(records: &[StockRecord], as_of: Date) -> Vec<PricePoint> {
    let mut sums: Vec<Decimal> = vec![Decimal::ZERO; GENERATED_DAYS];
    let mut total = Decimal::ZERO;
    // In symbol order: the same sums to the last digit whatever order the records come in.
    let mut sorted: Vec<&StockRecord> = records.iter().collect();
    sorted.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    for record in sorted {
        let Some(cap) = record.market_cap.filter(|c| *c > Decimal::ZERO) else { continue };
        let (_, history) = stock_from_record(record, as_of);
        let Some(last) = history.last().map(|p| p.close).filter(|c| !c.is_zero()) else { continue };
        if history.len() != GENERATED_DAYS {
            continue;
        }
        // Weights in billions keep the sums well inside a Decimal's 28 digits.
        let weight = cap / Decimal::from(1_000_000_000);
        for (sum, point) in sums.iter_mut().zip(&history) {
            *sum += weight * point.close / last;
        }
        total += weight;
    }
    if total.is_zero() {
        return Vec::new();
    }
    let base = Decimal::from(BENCHMARK_BASE);
    trading_days(as_of, GENERATED_DAYS)
        .into_iter()
        .zip(sums)
        .map(|(date, sum)| PricePoint { date, close: (sum / total * base).round_dp(4) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::Symbol;
    use std::str::FromStr;
    use time::macros::date;

    #[test]
    fn trading_days_skip_weekends() {
        let days = trading_days(date!(2026 - 11 - 29), 3); // a Sunday
        assert_eq!(days, vec![date!(2026 - 11 - 25), date!(2026 - 11 - 26), date!(2026 - 11 - 27)]);
    }

    #[test]
    fn derived_metrics_by_hand() {
        let mut stock = Stock::new(Symbol::parse("X").unwrap(), "X".into());
        stock.set(Metric::Price, Some(Decimal::from(95)));
        stock.set(Metric::Week52High, Some(Decimal::from(100)));
        let closes: Vec<Decimal> = [90, 100, 95].iter().map(|v| Decimal::from(*v)).collect();
        derive_metrics(&mut stock, &closes);
        assert_eq!(stock.metric(Metric::Change), Some(Decimal::from(-5)));
        assert_eq!(stock.metric(Metric::ChangePct), Some(Decimal::from_str("-0.05").unwrap()));
        assert_eq!(stock.metric(Metric::PctFrom52wHigh), Some(Decimal::from_str("-0.05").unwrap()));
        assert_eq!(stock.metric(Metric::Sma50), None, "too little history");
    }

    #[test]
    fn records_become_stocks_with_labelled_history() {
        let universe = crate::universe::load_universe(
            include_str!("../../../data/sp500-constituents.csv"),
            include_str!("../../../data/sp500-financials.csv"),
        )
        .unwrap();
        let mmm = universe.iter().find(|r| r.symbol.as_str() == "MMM").unwrap();
        let (stock, history) = stock_from_record(mmm, date!(2026 - 11 - 25));
        assert!(stock.history_generated);
        assert_eq!(history.len(), GENERATED_DAYS);
        assert_eq!(history.last().unwrap().close, mmm.price.unwrap());
        assert_eq!(history.last().unwrap().date, date!(2026 - 11 - 25));
        assert!(stock.metric(Metric::Sma200).is_some() && stock.metric(Metric::Rsi14).is_some());
        let no_price = universe.iter().find(|r| r.price.is_none()).unwrap();
        let (stock, history) = stock_from_record(no_price, date!(2026 - 11 - 25));
        assert!(history.is_empty() && !stock.history_generated && stock.metric(Metric::Sma50).is_none());
    }

    #[test]
    fn the_benchmark_is_the_cap_weighted_mean_of_the_constituents_moves() {
        let record = |symbol: &str, cap: i64| {
            let mut record = StockRecord::new(Symbol::parse(symbol).unwrap(), symbol.into());
            record.price = Some(Decimal::from(100));
            record.market_cap = Some(Decimal::from(cap) * Decimal::from(1_000_000_000));
            record
        };
        let as_of = date!(2026 - 12 - 02);
        let (a, b) = (record("AAA", 3), record("BBB", 1));
        let index = benchmark_history(&[a.clone(), b.clone()], as_of);
        let (_, ha) = stock_from_record(&a, as_of);
        let (_, hb) = stock_from_record(&b, as_of);
        assert_eq!(index.len(), GENERATED_DAYS);
        assert_eq!(index.last().unwrap().close, Decimal::from(BENCHMARK_BASE));
        for i in [0, 100, 200] {
            let expected = (Decimal::from(3) * ha[i].close / ha[GENERATED_DAYS - 1].close + hb[i].close / hb[GENERATED_DAYS - 1].close)
                / Decimal::from(4)
                * Decimal::from(BENCHMARK_BASE);
            assert_eq!(index[i].close, expected.round_dp(4), "day {i}");
            assert_eq!(index[i].date, ha[i].date);
        }
    }
}
