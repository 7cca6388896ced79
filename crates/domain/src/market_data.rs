//! What a market-data provider answers for one symbol, how good that answer is (a data-quality
//! score), how the answers of several providers are merged into one, and how the result updates
//! a [`Stock`]. Pure: the providers' HTTP lives in `bourse-providers`.

use crate::history::{PricePoint, derive_metrics};
use crate::stock::{Metric, Stock};
use crate::symbol::Symbol;
use rust_decimal::Decimal;
use time::Date;

/// Trading days in a year: the window of the 52-week range and of a full history.
pub const YEAR_OF_TRADING_DAYS: usize = 252;

/// One provider's answer for one symbol. Every field may be missing; `history` is oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MarketData {
    pub symbol: Option<Symbol>,
    /// Which provider answered (`yahoo-chart`, `alpha-vantage`, `offline`, or several joined by `+`
    /// after a merge).
    pub source: String,
    /// The trading day of `price`.
    pub as_of: Option<Date>,
    pub price: Option<Decimal>,
    pub market_cap: Option<Decimal>,
    pub pe: Option<Decimal>,
    pub eps: Option<Decimal>,
    pub dividend_yield: Option<Decimal>,
    pub week52_high: Option<Decimal>,
    pub week52_low: Option<Decimal>,
    pub history: Vec<PricePoint>,
    /// True when the history is generated (the offline provider), not observed.
    pub generated: bool,
}

impl MarketData {
    fn scalars_mut(&mut self) -> [&mut Option<Decimal>; 7] {
        [
            &mut self.price,
            &mut self.market_cap,
            &mut self.pe,
            &mut self.eps,
            &mut self.dividend_yield,
            &mut self.week52_high,
            &mut self.week52_low,
        ]
    }

    fn scalars(&self) -> [Option<Decimal>; 7] {
        [self.price, self.market_cap, self.pe, self.eps, self.dividend_yield, self.week52_high, self.week52_low]
    }

    /// True when the history is usable: strictly increasing dates and positive closes.
    pub fn history_is_sane(&self) -> bool {
        self.history.windows(2).all(|w| w[0].date < w[1].date) && self.history.iter().all(|p| p.close > Decimal::ZERO)
    }
}

/// The data quality a symbol new to the universe needs to join it: a price and most of a year of
/// history, or a price with fundamentals. A symbol the providers barely know (a bare quote) never
/// enters the public universe.
pub const MIN_QUALITY_TO_JOIN: u8 = 60;

/// Whether a stock not yet in the universe may join it (see [`MIN_QUALITY_TO_JOIN`]).
pub fn may_join_universe(stock: &crate::stock::Stock) -> bool {
    stock.metric(crate::stock::Metric::DataQuality).is_some_and(|q| q >= Decimal::from(MIN_QUALITY_TO_JOIN))
}

/// A data-quality score from 0 to 100 for an answer, on `today`:
/// - 30 for a positive price;
/// - up to 30 for the history, in proportion to a year of trading days (0 if it is not sane);
/// - 5 for each of market cap, P/E, EPS, dividend yield, 52-week high and low (30);
/// - 10 when the price is at most 5 days old;
/// - minus 15 when the price and the last close disagree by more than 10 %;
/// - minus 20 for generated history (observed data always wins over generated data).
pub fn quality_score(data: &MarketData, today: Date) -> u8 {
    let mut score: i64 = 0;
    if data.price.is_some_and(|p| p > Decimal::ZERO) {
        score += 30;
    }
    if data.history_is_sane() {
        score += (data.history.len().min(YEAR_OF_TRADING_DAYS) * 30 / YEAR_OF_TRADING_DAYS) as i64;
    }
    score += 5 * data.scalars()[1..].iter().filter(|v| v.is_some()).count() as i64;
    if data.as_of.is_some_and(|d| d <= today && (today - d).whole_days() <= 5) {
        score += 10;
    }
    if let (Some(price), Some(last)) = (data.price, data.history.last().map(|p| p.close))
        && last > Decimal::ZERO
        && ((price - last) / last).abs() > Decimal::new(1, 1)
    {
        score -= 15;
    }
    if data.generated {
        score -= 20;
    }
    score.clamp(0, 100) as u8
}

/// Merges the answers of several providers: the best-scoring answer wins (ties: the earlier
/// provider in `answers`), and fields it lacks are filled from the others in score order. The
/// history is the winner's unless it is unusable, then the longest sane one. Returns the merged
/// answer and its score (computed again after merging).
pub fn merge(answers: Vec<MarketData>, today: Date) -> Option<(MarketData, u8)> {
    let mut scored: Vec<(u8, usize, MarketData)> = answers.into_iter().enumerate().map(|(i, a)| (quality_score(&a, today), i, a)).collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut iter = scored.into_iter();
    let (_, _, mut best) = iter.next()?;
    let mut sources = vec![best.source.clone()];
    for (_, _, other) in iter {
        let mut used = false;
        let values = other.scalars();
        for (slot, value) in best.scalars_mut().into_iter().zip(values) {
            if slot.is_none() && value.is_some() {
                *slot = value;
                used = true;
            }
        }
        if (!best.history_is_sane() || best.history.is_empty()) && other.history_is_sane() && other.history.len() > best.history.len() {
            best.history = other.history;
            best.generated = other.generated;
            used = true;
        }
        if best.as_of.is_none() && other.as_of.is_some() {
            best.as_of = other.as_of;
        }
        if used {
            sources.push(other.source);
        }
    }
    best.source = sources.join("+");
    let score = quality_score(&best, today);
    Some((best, score))
}

/// Updates `stock` with an answer: known fields replace the stored ones (unknown fields keep their
/// previous value), the 52-week range is recomputed from a year of history when there is one, and
/// every metric derived from closes is recomputed. `quality` becomes the `data_quality` metric.
pub fn apply(stock: &mut Stock, data: &MarketData, quality: u8, enriched_at: &str) {
    let mut closes: Vec<Decimal> = if data.history_is_sane() { data.history.iter().map(|p| p.close).collect() } else { Vec::new() };
    let price = data.price.or_else(|| closes.last().copied());
    if let (Some(price), Some(last)) = (price, closes.last().copied())
        && price != last
        && data.as_of.zip(data.history.last()).is_some_and(|(d, p)| d > p.date)
    {
        closes.push(price);
    }
    let pairs = [
        (Metric::Price, price),
        (Metric::MarketCap, data.market_cap),
        (Metric::Pe, data.pe),
        (Metric::Eps, data.eps),
        (Metric::DividendYield, data.dividend_yield),
        (Metric::Week52High, data.week52_high),
        (Metric::Week52Low, data.week52_low),
    ];
    for (metric, value) in pairs {
        if value.is_some() {
            stock.set(metric, value);
        }
    }
    if closes.len() >= YEAR_OF_TRADING_DAYS {
        let year = &closes[closes.len() - YEAR_OF_TRADING_DAYS..];
        stock.set(Metric::Week52High, year.iter().max().copied());
        stock.set(Metric::Week52Low, year.iter().min().copied());
    }
    if !closes.is_empty() {
        derive_metrics(stock, &closes);
        stock.history_generated = data.generated;
    }
    stock.set(Metric::DataQuality, Some(Decimal::from(quality)));
    stock.enriched_at = Some(enriched_at.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::trading_days;
    use std::str::FromStr;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn history(closes: &[i64]) -> Vec<PricePoint> {
        trading_days(TODAY, closes.len()).into_iter().zip(closes).map(|(date, c)| PricePoint { date, close: Decimal::from(*c) }).collect()
    }

    fn full(source: &str) -> MarketData {
        MarketData {
            source: source.into(),
            as_of: Some(TODAY),
            price: Some(d("100")),
            market_cap: Some(d("1e9")),
            pe: Some(d("20")),
            eps: Some(d("5")),
            dividend_yield: Some(d("0.01")),
            week52_high: Some(d("120")),
            week52_low: Some(d("80")),
            history: history(&vec![100; YEAR_OF_TRADING_DAYS]),
            ..Default::default()
        }
    }

    #[test]
    fn scores_by_hand() {
        assert_eq!(quality_score(&full("a"), TODAY), 100);
        assert_eq!(quality_score(&MarketData::default(), TODAY), 0);
        // Price only, fresh: 30 + 10.
        let quote = MarketData { price: Some(d("5")), as_of: Some(TODAY), ..Default::default() };
        assert_eq!(quality_score(&quote, TODAY), 40);
        // Stale (6 days) and half a year of history: 30 + 15 + 30.
        let stale = MarketData { as_of: Some(date!(2026 - 11 - 19)), history: history(&vec![100; 126]), ..full("a") };
        assert_eq!(quality_score(&stale, TODAY), 75);
        // Price 20 % away from the last close: −15; generated: −20.
        assert_eq!(quality_score(&MarketData { price: Some(d("120")), ..full("a") }, TODAY), 85);
        assert_eq!(quality_score(&MarketData { generated: true, ..full("a") }, TODAY), 80);
        // Dates out of order make the history worthless.
        let mut shuffled = full("a");
        shuffled.history.swap(0, 1);
        assert_eq!(quality_score(&shuffled, TODAY), 70);
    }

    #[test]
    fn the_best_answer_wins_and_gaps_are_filled_from_the_others() {
        let quote_only = MarketData { source: "quote".into(), price: Some(d("101")), as_of: Some(TODAY), ..Default::default() };
        let no_fundamentals = MarketData { source: "chart".into(), market_cap: None, pe: None, ..full("chart") };
        let (merged, score) = merge(vec![quote_only.clone(), no_fundamentals.clone()], TODAY).unwrap();
        assert_eq!(merged.source, "chart");
        assert_eq!(merged.price, Some(d("100")), "the winner's price is kept");
        assert_eq!(merged.pe, None);
        assert_eq!(score, 90);
        let fundamentals = MarketData { source: "overview".into(), pe: Some(d("25")), market_cap: Some(d("2e9")), ..Default::default() };
        let (merged, score) = merge(vec![fundamentals, no_fundamentals, quote_only], TODAY).unwrap();
        assert_eq!(merged.source, "chart+overview");
        assert_eq!((merged.pe, merged.market_cap), (Some(d("25")), Some(d("2e9"))));
        assert_eq!(score, 100);
        assert!(merge(Vec::new(), TODAY).is_none());
        // Equal scores: the earlier provider wins.
        assert_eq!(merge(vec![full("first"), full("second")], TODAY).unwrap().0.source, "first");
    }

    #[test]
    fn applying_an_answer_recomputes_the_derived_metrics() {
        let mut stock = Stock::new(Symbol::parse("X").unwrap(), "X".into());
        stock.set(Metric::Ebitda, Some(d("7")));
        let mut closes = vec![100i64; YEAR_OF_TRADING_DAYS - 2];
        closes.extend([150, 90]);
        let data = MarketData { price: Some(d("90")), history: history(&closes), market_cap: None, ..full("a") };
        apply(&mut stock, &data, 93, "2026-11-25T21:00:00Z");
        assert_eq!(stock.metric(Metric::Price), Some(d("90")));
        assert_eq!(stock.metric(Metric::Week52High), Some(d("150")), "from the history, not the provider's 120");
        assert_eq!(stock.metric(Metric::Week52Low), Some(d("90")));
        assert_eq!(stock.metric(Metric::Change), Some(d("-60")));
        assert_eq!(stock.metric(Metric::Ebitda), Some(d("7")), "unknown fields keep their value");
        assert_eq!(stock.metric(Metric::DataQuality), Some(d("93")));
        assert_eq!(stock.metric(Metric::Sma50), Some(d("100.8")));
        assert!(!stock.history_generated);
        assert_eq!(stock.enriched_at.as_deref(), Some("2026-11-25T21:00:00Z"));
    }

    #[test]
    fn only_stocks_a_provider_knows_well_may_join_the_universe() {
        let mut stock = Stock::new(Symbol::parse("ZZ").unwrap(), "ZZ".into());
        assert!(!may_join_universe(&stock), "no quality at all");
        for (quality, joins) in [(59, false), (60, true), (100, true)] {
            stock.set(Metric::DataQuality, Some(Decimal::from(quality)));
            assert_eq!(may_join_universe(&stock), joins, "quality {quality}");
        }
        // A bare quote (a price, nothing else) is not enough; a full answer is.
        let quote = MarketData { price: Some(Decimal::from(5)), as_of: Some(TODAY), ..Default::default() };
        assert!(quality_score(&quote, TODAY) < MIN_QUALITY_TO_JOIN);
        assert!(quality_score(&full("a"), TODAY) >= MIN_QUALITY_TO_JOIN);
    }
}
