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
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
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
    let mut held: BTreeMap<&Symbol, Decimal> = BTreeMap::new();
    let mut price: HashMap<&Symbol, Decimal> = HashMap::new();
    let mut next_close: HashMap<&Symbol, usize> = HashMap::new();
    let mut pending = trades.iter().peekable();
    let mut values = Vec::new();
    let mut day = from;
    // Trades before the range only move quantities (and the fallback price).
    while let Some(t) = pending.next_if(|t| t.date < from) {
        apply(&mut held, &mut price, t);
    }
    loop {
        while let Some(t) = pending.next_if(|t| t.date == day) {
            apply(&mut held, &mut price, t);
        }
        for symbol in held.keys() {
            let Some(points) = closes.get(*symbol) else { continue };
            let at = next_close.entry(symbol).or_insert(0);
            while let Some(point) = points.get(*at).filter(|p| p.date <= day) {
                price.insert(symbol, point.close);
                *at += 1;
            }
        }
        let value: Decimal = held.iter().map(|(symbol, quantity)| *quantity * price.get(symbol).copied().unwrap_or_default()).sum();
        values.push(Valuation { date: day, value });
        match day.next_day() {
            Some(next) if next <= to => day = next,
            _ => return values,
        }
    }
}

fn apply<'a>(held: &mut BTreeMap<&'a Symbol, Decimal>, price: &mut HashMap<&'a Symbol, Decimal>, t: &LedgerTrade<'a>) {
    let quantity = held.entry(t.symbol).or_default();
    match t.trade {
        Trade::Buy { quantity: q, price: p, .. } => {
            *quantity += q.value();
            price.entry(t.symbol).or_insert(p.value());
        }
        Trade::Sell { quantity: q, price: p, .. } => {
            *quantity -= q.value();
            price.entry(t.symbol).or_insert(p.value());
        }
        Trade::Split { numerator, denominator } if *denominator != 0 => {
            *quantity = *quantity * Decimal::from(*numerator) / Decimal::from(*denominator);
            // The last close before the split is per old share: scale it until the next close.
            if let Some(p) = price.get_mut(t.symbol) {
                *p = *p * Decimal::from(*denominator) / Decimal::from(*numerator);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
