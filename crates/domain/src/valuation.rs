//! A portfolio's daily values rebuilt from its ledger and the daily closes of its symbols, so a
//! back-dated import has its whole history at once (snapshots are only a cache of this).
//!
//! Each day's value is Σ quantity held at the day's end × the symbol's price that day: its close,
//! or the last close before it (weekends, holidays, gaps), or — before the first close known — the
//! price of its latest trade (a position bought before its history starts is worth what was paid).
//!
//! **Currencies.** A close is taken to be in the currency of the symbol's latest transaction (a
//! holding is traded in one currency); each position and each cash balance is converted to the
//! base currency at the rates of the day (`crate::fx`), or — for the *price effect* — at the rates
//! of one fixed day ([`Valuer::rates_of`]).
//!
//! **FX effect.** The returns route values the range twice: at each day's rates (the return in the
//! base currency) and at the rates of the start valuation's day, held constant (flows converted at
//! that day's rates too). The second is the return of prices alone; the FX effect is the first
//! minus the second (for the TWR and for the gain). A holding in the base currency has no FX effect;
//! one whose price is flat has only FX effect.
//!
//! **Cash.** A portfolio that tracks cash adds its cash balance per currency (the cash legs of
//! every transaction so far, `crate::cash`) to each day's value, and its external flows are its
//! deposits and withdrawals only ([`flows`]); without, the flows are its trades
//! (`crate::returns::trade_flow`).

use crate::Symbol;
use crate::fx::FxRates;
use crate::money::Currency;
use crate::portfolio::Trade;
use crate::returns::{CashFlow, trade_flow};
use rust_decimal::Decimal;
use time::Date;

/// One transaction of the ledger, in trade order.
#[derive(Debug, Clone, Copy)]
pub struct LedgerTrade<'a> {
    pub date: Date,
    pub symbol: &'a Symbol,
    pub trade: &'a Trade,
    /// The currency of the trade (and of the symbol's closes).
    pub currency: Currency,
}

/// How a day's positions and cash become one value in the base currency.
#[derive(Debug, Clone, Copy)]
pub struct Valuer<'a> {
    pub base: Currency,
    pub rates: &'a FxRates,
    /// `None`: each day at its own rates; `Some(day)`: every day at `day`'s rates (constant FX).
    pub rates_of: Option<Date>,
    /// Whether the portfolio tracks cash: its balances count in the value and only deposits and
    /// withdrawals are flows.
    pub cash: bool,
}

impl Valuer<'_> {
    /// Units of the base currency per unit of `currency` on `day` (0 for a currency without rates:
    /// callers check `FxRates::missing` before valuing).
    pub fn rate(&self, currency: Currency, day: Date) -> Decimal {
        self.rates.rate(currency, self.base, self.rates_of.unwrap_or(day)).unwrap_or_default()
    }
}

/// The external flows of the trades dated within `[from, to]`, in the base currency at the
/// valuer's rates of each flow's day: deposits and withdrawals when cash is tracked
/// (`crate::cash::external_flow`), else every trade (`crate::returns::trade_flow`).
pub fn flows(trades: &[LedgerTrade<'_>], valuer: &Valuer<'_>, from: Date, to: Date) -> Vec<CashFlow> {
    let flow = if valuer.cash { crate::cash::external_flow } else { trade_flow };
    trades
        .iter()
        .filter(|t| t.date >= from && t.date <= to)
        .filter_map(|t| flow(t.trade).map(|amount| CashFlow { date: t.date, amount: amount * valuer.rate(t.currency, t.date) }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::PricePoint;
    use crate::returns::Valuation;
    use std::collections::HashMap;

    /// Each day's value of the replay (`crate::performance::daily_history`).
    fn daily_values(
        trades: &[LedgerTrade<'_>],
        closes: &HashMap<Symbol, Vec<PricePoint>>,
        valuer: &Valuer<'_>,
        from: Date,
        to: Date,
    ) -> Vec<Valuation> {
        crate::performance::daily_history(trades, closes, valuer, from, to)
            .into_iter()
            .map(|(date, s)| Valuation { date, value: s.value })
            .collect()
    }
    use crate::text::parse_date;
    use crate::transaction::RawTransaction;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    fn trade(kind: &str, quantity: &str, price: &str) -> Trade {
        let raw = RawTransaction {
            kind: kind.into(),
            symbol: "AAPL".into(),
            trade_date: "2026-01-05".into(),
            quantity: Some(quantity.into()),
            price: Some(price.into()),
            fees: Some("0".into()),
            ..Default::default()
        };
        raw.parse(d("2026-12-31")).unwrap().trade
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn in_usd(rates: &FxRates, cash: bool) -> Valuer<'_> {
        Valuer { base: Currency::USD, rates, rates_of: None, cash }
    }

    /// A hand-worked case with tracked cash. 5 Jan: deposit 1,000 and buy 10 × 100 (value 1,000,
    /// cash 0); 6 Jan: close 110 (1,100); 7 Jan: deposit 900 (1,100 + 900 = 2,000); 8 Jan: close
    /// 99 and a dividend of 10 (990 + 910 = 1,900). Only the deposits are flows, so the daily
    /// factors are 1,000 / (0 + 1,000) = 1, 1,100 / 1,000 = 1.1, 2,000 / (1,100 + 900) = 1 and
    /// 1,900 / 2,000 = 0.95: TWR = 1.1 × 0.95 − 1 = 4.5 %; the gain is 1,900 − 1,900 = 0.
    #[test]
    fn with_cash_tracked_deposits_and_withdrawals_are_the_only_flows_and_cash_is_valued() {
        let aapl = Symbol::parse("AAPL").unwrap();
        let cash = Symbol::cash(Currency::USD);
        let amount = |a: &str| crate::money::Amount::parse(a).unwrap();
        let (first, second) = (Trade::Deposit { amount: amount("1000") }, Trade::Deposit { amount: amount("900") });
        let buy = trade("BUY", "10", "100");
        let dividend = Trade::Dividend { amount: amount("10") };
        let usd = Currency::USD;
        let trades = [
            LedgerTrade { date: d("2026-01-05"), symbol: &cash, trade: &first, currency: usd },
            LedgerTrade { date: d("2026-01-05"), symbol: &aapl, trade: &buy, currency: usd },
            LedgerTrade { date: d("2026-01-07"), symbol: &cash, trade: &second, currency: usd },
            LedgerTrade { date: d("2026-01-08"), symbol: &aapl, trade: &dividend, currency: usd },
        ];
        let closes = HashMap::from([(
            aapl.clone(),
            vec![
                PricePoint { date: d("2026-01-05"), close: dec("100") },
                PricePoint { date: d("2026-01-06"), close: dec("110") },
                PricePoint { date: d("2026-01-08"), close: dec("99") },
            ],
        )]);
        let rates = FxRates::default();
        let valuer = in_usd(&rates, true);
        let range = crate::returns::DateRange::new(d("2026-01-05"), d("2026-01-08")).unwrap();
        let values = daily_values(&trades, &closes, &valuer, range.start(), range.to());
        assert_eq!(values.iter().map(|v| v.value).collect::<Vec<_>>(), [dec("0"), dec("1000"), dec("1100"), dec("2000"), dec("1900")]);
        let flows = flows(&trades, &valuer, range.from(), range.to());
        assert_eq!(
            flows,
            [CashFlow { date: d("2026-01-05"), amount: dec("1000") }, CashFlow { date: d("2026-01-07"), amount: dec("900") }]
        );
        let result = crate::returns::period_returns(&values, &flows, range).unwrap();
        assert_eq!((result.twr.unwrap().cumulative, result.gain), (dec("0.045"), dec("0")));

        // Without tracked cash the same ledger's flows are the trades (the buy in, the dividend
        // out) and the deposits are ignored.
        let untracked = in_usd(&rates, false);
        let trade_flows = super::flows(&trades, &untracked, range.from(), range.to());
        assert_eq!(
            trade_flows,
            [CashFlow { date: d("2026-01-05"), amount: dec("1000") }, CashFlow { date: d("2026-01-08"), amount: dec("-10") }]
        );
    }

    #[test]
    fn values_follow_quantities_and_carry_the_last_close_over_gaps() {
        let aapl = Symbol::parse("AAPL").unwrap();
        let buy = trade("BUY", "10", "100");
        let sell = trade("SELL", "4", "120");
        let trades = [
            LedgerTrade { date: d("2026-01-05"), symbol: &aapl, trade: &buy, currency: Currency::USD },
            LedgerTrade { date: d("2026-01-07"), symbol: &aapl, trade: &sell, currency: Currency::USD },
        ];
        let closes = HashMap::from([(
            aapl.clone(),
            vec![
                PricePoint { date: d("2026-01-02"), close: dec("95") },
                PricePoint { date: d("2026-01-06"), close: dec("110") },
                PricePoint { date: d("2026-01-07"), close: dec("121") },
            ],
        )]);
        let values = daily_values(&trades, &closes, &in_usd(&FxRates::default(), false), d("2026-01-04"), d("2026-01-09"));
        let got: Vec<(String, Decimal)> = values.iter().map(|v| (v.date.to_string(), v.value)).collect();
        assert_eq!(
            got,
            vec![
                ("2026-01-04".into(), dec("0")),    // nothing held yet
                ("2026-01-05".into(), dec("950")),  // 10 × the last close (95, of the 2nd)
                ("2026-01-06".into(), dec("1100")), // 10 × 110
                ("2026-01-07".into(), dec("726")),  // 6 × 121
                ("2026-01-08".into(), dec("726")),  // no close: carried
                ("2026-01-09".into(), dec("726")),
            ]
        );
    }

    #[test]
    fn a_position_without_history_is_worth_its_trade_price_and_a_split_keeps_the_value() {
        let newco = Symbol::parse("NEWCO").unwrap();
        let buy = trade("BUY", "10", "20");
        let split = Trade::Split { numerator: 2, denominator: 1 };
        let trades = [
            LedgerTrade { date: d("2026-03-02"), symbol: &newco, trade: &buy, currency: Currency::USD },
            LedgerTrade { date: d("2026-03-03"), symbol: &newco, trade: &split, currency: Currency::USD },
        ];
        let values = daily_values(&trades, &HashMap::new(), &in_usd(&FxRates::default(), false), d("2026-03-02"), d("2026-03-03"));
        assert_eq!(values.iter().map(|v| v.value).collect::<Vec<_>>(), vec![dec("200"), dec("200")]);
    }
}
