//! Daily FX rates and conversion to a portfolio's base currency.
//!
//! Rates are stored and fetched against USD only: one series per supported currency
//! ([`Currency::SUPPORTED`]), a [`RatePoint`] being the USD price of one unit of the currency at
//! that day's close (the providers' `EURUSD=X` / `FX_DAILY from EUR to USD`). Any other pair is a
//! cross through USD: `EUR→GBP = (USD per EUR) / (USD per GBP)`, exact decimal division.
//!
//! A day without a rate (a weekend, a holiday, today before the close) takes the last rate before
//! it; a day before a series starts takes its first rate (as a position without price history is
//! valued at its trade price). A currency with no series at all has no rate: callers check
//! [`FxRates::missing`] first and refuse to answer rather than value it at 0 or 1.
//!
//! The offline provider's rates are [`generated`]: deterministic, plausible levels with a small
//! oscillation, labelled `generated` wherever they are stored, never to be taken for market data.

use crate::Symbol;
use crate::history::PricePoint;
use crate::money::Currency;
use crate::returns::{DateRange, PeriodReturns, ReturnsError, period_returns};
use crate::valuation::{LedgerTrade, Valuer, flows};
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::Date;

/// The USD price of one unit of a currency at a day's close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatePoint {
    pub date: Date,
    pub rate: Decimal,
}

/// The provider-neutral name of a currency's series: `EURUSD` (units of USD per 1 EUR).
pub fn pair(currency: Currency) -> String {
    format!("{currency}USD")
}

/// Rate series per currency, each against USD, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FxRates {
    usd_per: HashMap<Currency, Vec<RatePoint>>,
}

impl FxRates {
    /// Adds (or replaces) the series of `currency`; `points` in any order.
    pub fn insert(&mut self, currency: Currency, mut points: Vec<RatePoint>) {
        points.sort_by_key(|p| p.date);
        points.retain(|p| p.rate > Decimal::ZERO);
        self.usd_per.insert(currency, points);
    }

    fn usd_per(&self, currency: Currency, date: Date) -> Option<Decimal> {
        if currency == Currency::USD {
            return Some(Decimal::ONE);
        }
        let points = self.usd_per.get(&currency).filter(|p| !p.is_empty())?;
        let after = points.partition_point(|p| p.date <= date);
        Some(points[after.saturating_sub(1)].rate)
    }

    /// Units of `to` per unit of `from` on `date` (see the module's rules); `None` when either has
    /// no series.
    pub fn rate(&self, from: Currency, to: Currency, date: Date) -> Option<Decimal> {
        if from == to {
            return Some(Decimal::ONE);
        }
        self.usd_per(from, date)?.checked_div(self.usd_per(to, date)?)
    }

    /// The first of `currencies` (or `base`) that cannot be converted to `base`: no series.
    /// (Nothing is missing when every currency is the base.)
    pub fn missing(&self, currencies: impl IntoIterator<Item = Currency>, base: Currency) -> Option<Currency> {
        let others: Vec<Currency> = currencies.into_iter().filter(|c| *c != base).collect();
        if others.is_empty() {
            return None;
        }
        std::iter::once(base).chain(others).find(|c| self.usd_per(*c, Date::MIN).is_none())
    }
}

/// The level a generated series oscillates around: roughly the currency's USD value, so local
/// figures look plausible.
fn generated_level(currency: Currency) -> Decimal {
    let (mantissa, scale) = match currency.as_str() {
        "EUR" => (108, 2),
        "GBP" => (127, 2),
        "JPY" => (67, 4),
        "CHF" => (112, 2),
        "CAD" => (74, 2),
        "AUD" => (66, 2),
        "NZD" => (61, 2),
        "HKD" => (128, 3),
        "SGD" => (74, 2),
        "SEK" => (95, 3),
        "NOK" => (93, 3),
        "DKK" => (145, 3),
        _ => (1, 0),
    };
    Decimal::new(mantissa, scale)
}

/// Generated (not market) rates of `currency` for the weekdays of `[from, to]`: its level times
/// a triangle wave of ±2 % over 120 days, phase-shifted per currency, to 8 places. Deterministic:
/// the same day always has the same rate.
pub fn generated(currency: Currency, from: Date, to: Date) -> Vec<RatePoint> {
    let level = generated_level(currency);
    let phase = currency.as_str().bytes().map(i64::from).sum::<i64>();
    let mut points = Vec::new();
    let mut day = from;
    while day <= to {
        if !matches!(day.weekday(), time::Weekday::Saturday | time::Weekday::Sunday) {
            let t = (i64::from(day.to_julian_day()) + phase).rem_euclid(120);
            let wave = if t < 60 { t - 30 } else { 90 - t }; // −30..=30
            let rate = level * (Decimal::ONE + Decimal::new(wave, 2) / Decimal::from(15));
            points.push(RatePoint { date: day, rate: rate.round_dp(8).normalize() });
        }
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    points
}

/// A range's returns in the base currency and their price and FX effects (the decomposition is
/// documented in `crate::valuation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decomposed {
    /// At each day's rates: what the investor got in the base currency.
    pub total: PeriodReturns,
    /// At the rates of the start valuation's day, held constant: prices alone.
    pub constant_fx: PeriodReturns,
}

impl Decomposed {
    /// The FX effect on the time-weighted return: total − constant-FX cumulative TWR.
    pub fn twr_fx_effect(&self) -> Option<Decimal> {
        Some(self.total.twr?.cumulative - self.constant_fx.twr?.cumulative)
    }

    /// The FX effect on the gain: total gain − constant-FX gain.
    pub fn gain_fx_effect(&self) -> Decimal {
        self.total.gain - self.constant_fx.gain
    }
}

/// The returns over `range` of `trades` valued with `closes` by `valuer` (whose `rates_of` is
/// ignored), at each day's rates and at the start's rates held constant.
pub fn decomposed_returns(
    trades: &[LedgerTrade<'_>],
    closes: &HashMap<Symbol, Vec<PricePoint>>,
    valuer: &Valuer<'_>,
    range: DateRange,
) -> Result<Decomposed, ReturnsError> {
    // Valued on the linking days only (`crate::performance::linking_days`): exact for every
    // return and a fraction of the days.
    let returns = |valuer: &Valuer<'_>| {
        let flows = flows(trades, valuer, range.from(), range.to());
        let values = crate::performance::values_on(trades, closes, valuer, &crate::performance::linking_days(range, &flows));
        period_returns(&values, &flows, range)
    };
    let total = returns(&Valuer { rates_of: None, ..*valuer })?;
    // Everything in the base currency: no rate matters, the constant-rate valuation is the same.
    let constant_fx = if trades.iter().all(|t| t.currency == valuer.base) {
        total.clone()
    } else {
        returns(&Valuer { rates_of: Some(range.start()), ..*valuer })?
    };
    Ok(Decomposed { total, constant_fx })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse_date;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn gbp() -> Currency {
        Currency::parse("GBP").unwrap()
    }

    #[test]
    fn rates_carry_over_gaps_cross_through_usd_and_are_missing_without_a_series() {
        let mut rates = FxRates::default();
        rates.insert(
            Currency::EUR,
            vec![RatePoint { date: d("2026-01-06"), rate: dec("1.2") }, RatePoint { date: d("2026-01-02"), rate: dec("1.1") }],
        );
        rates.insert(gbp(), vec![RatePoint { date: d("2026-01-02"), rate: dec("1.25") }]);
        assert_eq!(rates.rate(Currency::EUR, Currency::USD, d("2026-01-05")), Some(dec("1.1")), "the weekend carries Friday's rate");
        assert_eq!(rates.rate(Currency::EUR, Currency::USD, d("2026-01-06")), Some(dec("1.2")));
        assert_eq!(rates.rate(Currency::EUR, Currency::USD, d("2025-12-01")), Some(dec("1.1")), "before the series: its first rate");
        assert_eq!(rates.rate(Currency::USD, Currency::EUR, d("2026-01-06")), Some(Decimal::ONE / dec("1.2")));
        assert_eq!(rates.rate(Currency::EUR, gbp(), d("2026-01-06")), Some(dec("0.96")));
        assert_eq!(rates.rate(gbp(), gbp(), d("2026-01-06")), Some(Decimal::ONE));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(rates.rate(jpy, Currency::USD, d("2026-01-06")), None);
        assert_eq!(rates.missing([Currency::EUR, Currency::USD, jpy], Currency::USD), Some(jpy));
        assert_eq!(rates.missing([Currency::EUR], gbp()), None);
        assert_eq!(rates.missing([Currency::USD], jpy), Some(jpy), "the base itself needs a series to convert anything");
    }

    #[test]
    fn generated_rates_are_deterministic_weekday_only_and_near_their_level() {
        let (from, to) = (d("2026-01-01"), d("2026-03-31"));
        let points = generated(Currency::EUR, from, to);
        assert_eq!(points, generated(Currency::EUR, from, to));
        assert!(points.iter().all(|p| !matches!(p.date.weekday(), time::Weekday::Saturday | time::Weekday::Sunday)));
        assert_eq!(points.len(), 64);
        let (low, high) = (dec("1.08") * dec("0.98"), dec("1.08") * dec("1.02"));
        assert!(points.iter().all(|p| p.rate >= low && p.rate <= high), "{points:?}");
        assert!(points.windows(2).any(|w| w[0].rate != w[1].rate), "the rates move");
        assert_eq!(pair(Currency::EUR), "EURUSD");
    }

    #[test]
    fn a_eur_holding_with_a_flat_price_in_a_usd_portfolio_shows_only_fx_effect() {
        let sap = Symbol::parse("SAP").unwrap();
        let buy = crate::portfolio::Trade::Buy {
            quantity: crate::money::Quantity::parse("10").unwrap(),
            price: crate::money::Amount::parse("100").unwrap(),
            fees: crate::money::Amount::ZERO,
        };
        let trades = [LedgerTrade { date: d("2026-01-05"), symbol: &sap, trade: &buy, currency: Currency::EUR }];
        // The price never moves (100 EUR); the euro gains 10 % against the dollar.
        let closes = HashMap::from([(
            sap.clone(),
            ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"].map(|day| PricePoint { date: d(day), close: dec("100") }).to_vec(),
        )]);
        let mut rates = FxRates::default();
        rates.insert(
            Currency::EUR,
            vec![
                RatePoint { date: d("2026-01-05"), rate: dec("1.10") },
                RatePoint { date: d("2026-01-07"), rate: dec("1.155") },
                RatePoint { date: d("2026-01-08"), rate: dec("1.21") },
            ],
        );
        let valuer = Valuer { base: Currency::USD, rates: &rates, rates_of: None, cash: false };
        let range = DateRange::new(d("2026-01-06"), d("2026-01-08")).unwrap();
        let split = decomposed_returns(&trades, &closes, &valuer, range).unwrap();
        assert_eq!((split.total.start_value, split.total.end_value), (dec("1100"), dec("1210")));
        assert_eq!(split.total.twr.unwrap().cumulative, dec("0.1"));
        assert_eq!((split.constant_fx.start_value, split.constant_fx.end_value), (dec("1100"), dec("1100")));
        assert_eq!(split.constant_fx.twr.unwrap().cumulative, Decimal::ZERO, "no price effect");
        assert_eq!(split.twr_fx_effect(), Some(dec("0.1")));
        assert_eq!((split.total.gain, split.gain_fx_effect()), (dec("110"), dec("110")));

        // The same holding in a EUR portfolio: no FX at all, and nothing gained.
        let in_euros = decomposed_returns(&trades, &closes, &Valuer { base: Currency::EUR, ..valuer }, range).unwrap();
        assert_eq!((in_euros.total.twr.unwrap().cumulative, in_euros.twr_fx_effect()), (Decimal::ZERO, Some(Decimal::ZERO)));
    }
}
