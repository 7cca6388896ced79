//! Technical signals of a stock, derived from its current metrics (which come from its price
//! history): new 52-week high or low, moving-average trend, RSI extremes.

use crate::stock::{Metric, Stock};
use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    if let (Some(price), Some(high)) = (m(Metric::Price), m(Metric::Week52High)) {
        if price >= high {
            out.push(Signal { kind: SignalKind::New52WeekHigh, detail: format!("price {price} at or above the 52-week high {high}") });
        }
    }
    if let (Some(price), Some(low)) = (m(Metric::Price), m(Metric::Week52Low)) {
        if price <= low {
            out.push(Signal { kind: SignalKind::New52WeekLow, detail: format!("price {price} at or below the 52-week low {low}") });
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::Symbol;

    #[test]
    fn signals_by_hand() {
        let mut s = Stock::new(Symbol::parse("X").unwrap(), "X".into());
        for (metric, value) in [(Metric::Price, 120), (Metric::Week52High, 120), (Metric::Week52Low, 80), (Metric::Sma50, 110), (Metric::Sma200, 100), (Metric::Rsi14, 75)] {
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
