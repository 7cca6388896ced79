//! A portfolio's daily values rebuilt from its ledger and the daily closes of its symbols, so a
//! back-dated import has its whole history at once (snapshots are only a cache of this).
//!
//! Each day's value is Σ quantity held at the day's end × the symbol's price that day: its close,
//! or the last close before it (weekends, holidays, gaps), or — before the first close known — the
//! price of its latest trade (a position bought before its history starts is worth what was paid).

use crate::Symbol;
use crate::history::PricePoint;
use crate::portfolio::Trade;
use crate::returns::Valuation;
use std::collections::HashMap;
use time::Date;

/// One transaction of the ledger, in trade order.
#[derive(Debug, Clone, Copy)]
pub struct LedgerTrade<'a> {
    pub date: Date,
    pub symbol: &'a Symbol,
    pub trade: &'a Trade,
}

/// The values of every day from `from` to `to` (inclusive), applying every trade of `trades`
/// (in trade order; those before `from` set the quantities held at its start). Days before the
/// first trade are worth 0. `closes` per symbol, oldest first, need cover only `[from − a week,
/// to]`: the last close before `from` carries into it.
pub fn daily_values(trades: &[LedgerTrade<'_>], closes: &HashMap<Symbol, Vec<PricePoint>>, from: Date, to: Date) -> Vec<Valuation> {
    // One replay of the ledger serves the history, the returns and this.
    crate::performance::daily_history(trades, closes, from, to).into_iter().map(|(date, s)| Valuation { date, value: s.value }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse_date;
    use crate::transaction::RawTransaction;
    use rust_decimal::Decimal;

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

    #[test]
    fn values_follow_quantities_and_carry_the_last_close_over_gaps() {
        let aapl = Symbol::parse("AAPL").unwrap();
        let buy = trade("BUY", "10", "100");
        let sell = trade("SELL", "4", "120");
        let trades = [
            LedgerTrade { date: d("2026-01-05"), symbol: &aapl, trade: &buy },
            LedgerTrade { date: d("2026-01-07"), symbol: &aapl, trade: &sell },
        ];
        let closes = HashMap::from([(
            aapl.clone(),
            vec![
                PricePoint { date: d("2026-01-02"), close: dec("95") },
                PricePoint { date: d("2026-01-06"), close: dec("110") },
                PricePoint { date: d("2026-01-07"), close: dec("121") },
            ],
        )]);
        let values = daily_values(&trades, &closes, d("2026-01-04"), d("2026-01-09"));
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
            LedgerTrade { date: d("2026-03-02"), symbol: &newco, trade: &buy },
            LedgerTrade { date: d("2026-03-03"), symbol: &newco, trade: &split },
        ];
        let values = daily_values(&trades, &HashMap::new(), d("2026-03-02"), d("2026-03-03"));
        assert_eq!(values.iter().map(|v| v.value).collect::<Vec<_>>(), vec![dec("200"), dec("200")]);
    }
}
