//! Technical signals of a stock, derived from its current metrics (which come from its price
//! history): new 52-week high or low, moving-average trend, RSI extremes.

use crate::indicators::{rsi, sma};
use crate::market_data::YEAR_OF_TRADING_DAYS;
use crate::stock::{Metric, Stock};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignalKind {
    New52WeekHigh,
    New52WeekLow,
    /// 50-day average above the 200-day one with the price above both.
    Uptrend,
    /// 50-day average below the 200-day one with the price below both.
    Downtrend,
    RsiOverbought,
    RsiOversold,
    /// The 50-day average crossed above the 200-day one today (it was at or below it yesterday).
    GoldenCross,
    /// The 50-day average crossed below the 200-day one today (it was at or above it yesterday).
    DeathCross,
}

impl SignalKind {
    /// The wire name (also part of the stored market-signal key).
    pub fn name(self) -> &'static str {
        match self {
            SignalKind::New52WeekHigh => "new52-week-high",
            SignalKind::New52WeekLow => "new52-week-low",
            SignalKind::Uptrend => "uptrend",
            SignalKind::Downtrend => "downtrend",
            SignalKind::RsiOverbought => "rsi-overbought",
            SignalKind::RsiOversold => "rsi-oversold",
            SignalKind::GoldenCross => "golden-cross",
            SignalKind::DeathCross => "death-cross",
        }
    }

    pub const ALL: [SignalKind; 8] = [
        SignalKind::New52WeekHigh,
        SignalKind::New52WeekLow,
        SignalKind::Uptrend,
        SignalKind::Downtrend,
        SignalKind::RsiOverbought,
        SignalKind::RsiOversold,
        SignalKind::GoldenCross,
        SignalKind::DeathCross,
    ];

    pub fn parse(name: &str) -> Option<SignalKind> {
        SignalKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    pub kind: SignalKind,
    pub detail: String,
}

/// RSI at or above this is overbought; at or below 100 − this, oversold.
pub const RSI_EXTREME: i64 = 70;

pub fn stock_signals(stock: &Stock) -> Vec<Signal> {
    let m = |metric| stock.metric(metric);
    let mut out = Vec::new();
    if let (Some(price), Some(high)) = (m(Metric::Price), m(Metric::Week52High))
        && price >= high
    {
        out.push(Signal { kind: SignalKind::New52WeekHigh, detail: format!("price {price} at or above the 52-week high {high}") });
    }
    if let (Some(price), Some(low)) = (m(Metric::Price), m(Metric::Week52Low))
        && price <= low
    {
        out.push(Signal { kind: SignalKind::New52WeekLow, detail: format!("price {price} at or below the 52-week low {low}") });
    }
    if let (Some(price), Some(fast), Some(slow)) = (m(Metric::Price), m(Metric::Sma50), m(Metric::Sma200)) {
        if fast > slow && price > fast {
            out.push(Signal { kind: SignalKind::Uptrend, detail: format!("price {price} > 50-day {fast} > 200-day {slow}") });
        } else if fast < slow && price < fast {
            out.push(Signal { kind: SignalKind::Downtrend, detail: format!("price {price} < 50-day {fast} < 200-day {slow}") });
        }
    }
    if let Some(rsi) = m(Metric::Rsi14) {
        if rsi >= Decimal::from(RSI_EXTREME) {
            out.push(Signal { kind: SignalKind::RsiOverbought, detail: format!("RSI-14 {rsi} ≥ {RSI_EXTREME}") });
        } else if rsi <= Decimal::from(100 - RSI_EXTREME) {
            out.push(Signal { kind: SignalKind::RsiOversold, detail: format!("RSI-14 {rsi} ≤ {}", 100 - RSI_EXTREME) });
        }
    }
    out
}

/// The day's technical events in a close series (oldest first, today last), as the enrichment
/// consumer stores them as market signals:
/// - golden / death cross: the sign of SMA-50 − SMA-200 changed between yesterday's series (all
///   but the last close) and today's (needs 201 closes);
/// - new 52-week high / low: today's close is strictly above / below every other close of the
///   last year (252 trading days; needs at least 2 closes);
/// - RSI-14 at or beyond the extremes (70 / 30).
pub fn history_signals(closes: &[Decimal]) -> Vec<Signal> {
    let mut out = Vec::new();
    let Some((&today, before)) = closes.split_last() else { return out };
    let gap = |series: &[Decimal]| sma(series, 50).zip(sma(series, 200)).map(|(fast, slow)| (fast - slow, fast, slow));
    if let (Some((yesterday, ..)), Some((now, fast, slow))) = (gap(before), gap(closes)) {
        if yesterday <= Decimal::ZERO && now > Decimal::ZERO {
            out.push(Signal { kind: SignalKind::GoldenCross, detail: format!("50-day {fast} crossed above 200-day {slow}") });
        } else if yesterday >= Decimal::ZERO && now < Decimal::ZERO {
            out.push(Signal { kind: SignalKind::DeathCross, detail: format!("50-day {fast} crossed below 200-day {slow}") });
        }
    }
    let window = &before[before.len().saturating_sub(YEAR_OF_TRADING_DAYS - 1)..];
    if let (Some(high), Some(low)) = (window.iter().max(), window.iter().min()) {
        if today > *high {
            out.push(Signal { kind: SignalKind::New52WeekHigh, detail: format!("close {today} above the 52-week high {high}") });
        } else if today < *low {
            out.push(Signal { kind: SignalKind::New52WeekLow, detail: format!("close {today} below the 52-week low {low}") });
        }
    }
    if let Some(value) = rsi(closes, 14) {
        if value >= Decimal::from(RSI_EXTREME) {
            out.push(Signal { kind: SignalKind::RsiOverbought, detail: format!("RSI-14 {value} ≥ {RSI_EXTREME}") });
        } else if value <= Decimal::from(100 - RSI_EXTREME) {
            out.push(Signal { kind: SignalKind::RsiOversold, detail: format!("RSI-14 {value} ≤ {}", 100 - RSI_EXTREME) });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::Symbol;

    fn kinds(closes: &[i64]) -> Vec<SignalKind> {
        let closes: Vec<Decimal> = closes.iter().map(|c| Decimal::from(*c)).collect();
        history_signals(&closes).into_iter().map(|s| s.kind).collect()
    }

    #[test]
    fn a_cross_is_a_change_of_sign_between_yesterday_and_today() {
        // 150 days at 100 then 50 days at 90: yesterday SMA-50 = 90 < SMA-200 = 97.5 (199 closes
        // give no SMA-200, so start with 201). Build: 151 × 100, 49 × 90, then today's close.
        let mut closes = vec![100i64; 151];
        closes.extend(vec![90; 49]);
        // Yesterday (200 closes): SMA-50 = (1×100 + 49×90)/50 = 90.2, SMA-200 = (151×100 + 49×90)/200 = 97.55.
        // Today 600: SMA-50 = (49×90 + 600)/50 = 100.2; SMA-200 = (150×100 + 49×90 + 600)/200 = 100.05.
        let mut cross = closes.clone();
        cross.push(600);
        assert!(kinds(&cross).contains(&SignalKind::GoldenCross), "{:?}", kinds(&cross));
        // Today 500: SMA-50 = 98.2 < SMA-200 = 99.55: still below, no cross.
        let mut below = closes.clone();
        below.push(500);
        assert!(!kinds(&below).iter().any(|k| matches!(k, SignalKind::GoldenCross | SignalKind::DeathCross)));
        // Already above on both days: no cross either (a trend is not a cross).
        let mut rising: Vec<i64> = (1..=201).collect();
        assert!(!kinds(&rising).contains(&SignalKind::GoldenCross));
        // Mirror image: yesterday SMA-50 = (100 + 49×101)/50 = 100.98 > SMA-200 = 100.245; today 1:
        // SMA-50 = 99.0 < SMA-200 = 99.75 — a death cross.
        let mut closes = vec![100i64; 151];
        closes.extend(vec![101; 49]);
        closes.push(1);
        assert!(kinds(&closes).contains(&SignalKind::DeathCross), "{:?}", kinds(&closes));
        rising.truncate(150);
        assert!(!kinds(&rising).iter().any(|k| matches!(k, SignalKind::GoldenCross | SignalKind::DeathCross)), "too short");
    }

    #[test]
    fn new_highs_lows_and_rsi_extremes_from_history() {
        // Strictly rising: a new high and RSI 100 (overbought).
        assert_eq!(kinds(&(1..=20).collect::<Vec<_>>()), [SignalKind::New52WeekHigh, SignalKind::RsiOverbought]);
        // Strictly falling: a new low and RSI 0 (oversold).
        assert_eq!(kinds(&(1..=20).rev().collect::<Vec<_>>()), [SignalKind::New52WeekLow, SignalKind::RsiOversold]);
        // Equal to the old high is not a new high; only the last 252 closes count.
        assert!(kinds(&[5, 3, 5]).is_empty());
        let mut old_peak = vec![1000i64];
        old_peak.extend(vec![10; 251]);
        old_peak.push(11);
        assert!(kinds(&old_peak).contains(&SignalKind::New52WeekHigh));
        assert!(kinds(&[]).is_empty() && kinds(&[7]).is_empty());
        // Alternating +2/−1 (RSI 66.67 by hand in the indicators tests): no extreme.
        let mut zigzag = vec![100i64];
        for i in 0..14 {
            let last = *zigzag.last().unwrap();
            zigzag.push(if i % 2 == 0 { last + 2 } else { last - 1 });
        }
        assert!(!kinds(&zigzag).iter().any(|k| matches!(k, SignalKind::RsiOverbought | SignalKind::RsiOversold)));
        for kind in SignalKind::ALL {
            assert_eq!(SignalKind::parse(kind.name()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{}\"", kind.name()));
        }
    }

    #[test]
    fn signals_by_hand() {
        let mut s = Stock::new(Symbol::parse("X").unwrap(), "X".into());
        for (metric, value) in [
            (Metric::Price, 120),
            (Metric::Week52High, 120),
            (Metric::Week52Low, 80),
            (Metric::Sma50, 110),
            (Metric::Sma200, 100),
            (Metric::Rsi14, 75),
        ] {
            s.set(metric, Some(Decimal::from(value)));
        }
        let kinds: Vec<_> = stock_signals(&s).into_iter().map(|x| x.kind).collect();
        assert_eq!(kinds, [SignalKind::New52WeekHigh, SignalKind::Uptrend, SignalKind::RsiOverbought]);
        s.set(Metric::Rsi14, Some(Decimal::from(30)));
        s.set(Metric::Price, Some(Decimal::from(90)));
        let kinds: Vec<_> = stock_signals(&s).into_iter().map(|x| x.kind).collect();
        assert_eq!(kinds, [SignalKind::RsiOversold]);
        assert!(stock_signals(&Stock::new(Symbol::parse("Y").unwrap(), "Y".into())).is_empty());
    }
}
