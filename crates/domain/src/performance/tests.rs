//! The replay against the snapshot writer's arithmetic, sparse valuations against daily ones, and
//! the benchmark against cases worked by hand.

use super::*;
use crate::import::property::{Rng, check};
use crate::money::{Amount, Quantity};
use crate::portfolio::daily_snapshot;
use crate::returns::flows_from_trades;
use std::str::FromStr;
use std::time::Duration as Budget;
use time::macros::date;
use time::{Duration, Weekday};

const SEEDS: &[u64] = &[0xB0_2026_1202, 0x14B];

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn sym(text: &str) -> Symbol {
    Symbol::parse(text).unwrap()
}

fn buy(quantity: &str, price: &str, fees: &str) -> Trade {
    Trade::Buy { quantity: Quantity::parse(quantity).unwrap(), price: Amount::parse(price).unwrap(), fees: Amount::parse(fees).unwrap() }
}

fn sell(quantity: &str, price: &str, fees: &str) -> Trade {
    Trade::Sell { quantity: Quantity::parse(quantity).unwrap(), price: Amount::parse(price).unwrap(), fees: Amount::parse(fees).unwrap() }
}

fn points(list: &[(Date, &str)]) -> Vec<PricePoint> {
    list.iter().map(|(date, close)| PricePoint { date: *date, close: d(close) }).collect()
}

fn weekday(day: Date) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// A random ledger over a few symbols (weekday trades, sells never beyond what is held, splits,
/// dividends and fees) and a close for every weekday from before its first trade.
type Book = (Vec<(Date, Symbol, Trade)>, HashMap<Symbol, Vec<PricePoint>>);

fn random_book(rng: &mut Rng, start: Date, days: i64) -> Book {
    let symbols: Vec<Symbol> = ["AAA", "BBB", "CCC", "DDD"][..rng.range(1, 4) as usize].iter().map(|s| sym(s)).collect();
    let mut closes = HashMap::new();
    for s in &symbols {
        let mut price = rng.range(500, 50_000);
        let series = (-7..=days)
            .map(|k| start + Duration::days(k))
            .filter(|day| weekday(*day))
            .map(|date| {
                price = (price + rng.range(-price / 20, price / 20)).max(1);
                PricePoint { date, close: Decimal::new(price, 2) }
            })
            .collect();
        closes.insert(s.clone(), series);
    }
    let mut held: HashMap<Symbol, i64> = HashMap::new();
    let mut trades = Vec::new();
    for k in 0..=days {
        let date = start + Duration::days(k);
        if !weekday(date) || !rng.one_in(3) {
            continue;
        }
        let s = rng.pick(&symbols).clone();
        let q = held.entry(s.clone()).or_default();
        let price = Amount::parse(&format!("{}.{:02}", rng.range(1, 500), rng.range(0, 99))).unwrap();
        let fees = Amount::parse(&format!("{}", rng.range(0, 5))).unwrap();
        let trade = match rng.range(0, 9) {
            0..=3 => {
                let n = rng.range(1, 100);
                *q += n;
                Trade::Buy { quantity: Quantity::parse(&n.to_string()).unwrap(), price, fees }
            }
            4..=5 if *q > 0 => {
                let n = rng.range(1, *q);
                *q -= n;
                Trade::Sell { quantity: Quantity::parse(&n.to_string()).unwrap(), price, fees }
            }
            6 => Trade::Dividend { amount: price },
            7 => Trade::Fee { amount: fees },
            8 if *q > 0 => {
                *q *= 2;
                Trade::Split { numerator: 2, denominator: 1 }
            }
            _ => continue,
        };
        trades.push((date, s, trade));
    }
    (trades, closes)
}

fn ledger(trades: &[(Date, Symbol, Trade)]) -> Vec<LedgerTrade<'_>> {
    trades.iter().map(|(date, symbol, trade)| LedgerTrade { date: *date, symbol, trade, currency: Currency::USD }).collect()
}

/// Values in USD of a USD ledger, cash not tracked.
fn usd() -> Valuer<'static> {
    static NO_RATES: std::sync::LazyLock<crate::fx::FxRates> = std::sync::LazyLock::new(Default::default);
    Valuer { base: Currency::USD, rates: &NO_RATES, rates_of: None, cash: false }
}

#[test]
fn the_rebuilt_history_equals_the_snapshots_the_writer_takes_where_both_exist() {
    // The writer values the stored holdings (the ledger up to the day) at each symbol's latest
    // quote: on a day, the last close on or before it.
    check("history_equals_snapshots", SEEDS, 200, Budget::from_secs(4), |rng| {
        let start = date!(2025 - 03 - 03);
        let days = rng.range(5, 120);
        let (trades, closes) = random_book(rng, start, days);
        let book = ledger(&trades);
        let (from, to) = (start - Duration::days(2), start + Duration::days(days));
        for (day, rebuilt) in daily_history(&book, &closes, &usd(), from, to) {
            let mut holdings: Vec<Holding> = Vec::new();
            for (_, symbol, trade) in trades.iter().filter(|t| t.0 <= day) {
                match holdings.iter_mut().find(|h| &h.symbol == symbol) {
                    Some(h) => h.apply(trade).unwrap(),
                    None => holdings.push(Holding::derive(symbol.clone(), [trade]).unwrap()),
                }
            }
            let quote = |s: &Symbol| level_on(&closes[s], day);
            assert_eq!(rebuilt, daily_snapshot(&holdings, quote), "{day}");
        }
    });
}

#[test]
fn sparse_valuations_give_the_daily_linked_returns() {
    check("sparse_equals_daily", SEEDS, 150, Budget::from_secs(4), |rng| {
        let start = date!(2024 - 01 - 01);
        let days = rng.range(10, 400);
        let (trades, closes) = random_book(rng, start, days);
        let book = ledger(&trades);
        let from = start + Duration::days(rng.range(0, days / 2));
        let range = DateRange::new(from, start + Duration::days(days)).unwrap();
        let flows = flows_from_trades(book.iter().filter(|t| t.date >= range.from()).map(|t| (t.date, t.trade)));
        let daily: Vec<Valuation> = daily_history(&book, &closes, &usd(), range.start(), range.to())
            .into_iter()
            .map(|(date, s)| Valuation { date, value: s.value })
            .collect();
        let sparse = values_on(&book, &closes, &usd(), &linking_days(range, &flows));
        assert!(sparse.len() <= daily.len());
        let (a, b) = (period_returns(&daily, &flows, range).unwrap(), period_returns(&sparse, &flows, range).unwrap());
        assert_eq!((a.start_value, a.end_value, a.gain, a.simple, a.mwr), (b.start_value, b.end_value, b.gain, b.simple, b.mwr));
        // Linked in a different grouping: equal to the 8th place up to the last digit's rounding.
        match (a.twr, b.twr) {
            (Some(x), Some(y)) => assert!((x.cumulative - y.cumulative).abs() <= d("0.00000001"), "{x:?} {y:?}"),
            (x, y) => assert_eq!(x, y),
        }
    });
}

#[test]
fn history_by_hand_with_a_position_bought_before_its_first_close() {
    let (aapl, newco) = (sym("AAPL"), sym("NEWCO"));
    let trades = [
        (date!(2026 - 01 - 05), aapl.clone(), buy("10", "100", "1")),
        (date!(2026 - 01 - 06), newco.clone(), buy("5", "20", "0")),
        (date!(2026 - 01 - 07), aapl.clone(), sell("4", "120", "1")),
        (date!(2026 - 01 - 07), aapl.clone(), Trade::Dividend { amount: Amount::parse("3").unwrap() }),
    ];
    let closes = HashMap::from([(
        aapl.clone(),
        points(&[(date!(2026 - 01 - 02), "95"), (date!(2026 - 01 - 06), "110"), (date!(2026 - 01 - 07), "121")]),
    )]);
    let got = daily_history(&ledger(&trades), &closes, &usd(), date!(2026 - 01 - 04), date!(2026 - 01 - 08));
    let row = |i: usize| {
        let s = &got[i].1;
        (s.value, s.cost, s.realised_pnl, s.dividends, s.unpriced_positions)
    };
    assert_eq!(row(0), (d("0"), d("0"), d("0"), d("0"), 0)); // nothing held yet
    assert_eq!(row(1), (d("950"), d("1001"), d("0"), d("0"), 0)); // 10 × 95 (the 2nd's close); cost 1,000 + 1
    assert_eq!(row(2), (d("1200"), d("1101"), d("0"), d("0"), 1)); // 10 × 110 + 5 × 20 (NEWCO: its trade price)
    // Sold 4 of 10: cost out 1,001 × 4/10 = 400.4, proceeds 480 − 1: realised 78.6; 6 × 121 + 100.
    assert_eq!(row(3), (d("826"), d("700.6"), d("78.6"), d("3"), 1));
    assert_eq!(row(4), row(3)); // no close on the 8th: carried
}

#[test]
fn holdings_returns_follow_each_symbols_own_trades() {
    let (a, b) = (sym("AAA"), sym("BBB"));
    // AAA: 10 bought before the range, worth 10 × 100 at its start and 10 × 110 at its end: 10 %.
    // BBB: 10 bought in the range at 50 (a contribution of 500), half sold the next day at 60.
    let trades = [
        (date!(2026 - 02 - 02), a.clone(), buy("10", "100", "0")),
        (date!(2026 - 03 - 03), b.clone(), buy("10", "50", "0")),
        (date!(2026 - 03 - 04), b.clone(), sell("5", "60", "0")),
    ];
    let closes = HashMap::from([
        (a.clone(), points(&[(date!(2026 - 02 - 27), "100"), (date!(2026 - 03 - 04), "110")])),
        (b.clone(), points(&[(date!(2026 - 03 - 02), "50"), (date!(2026 - 03 - 03), "50"), (date!(2026 - 03 - 04), "60")])),
    ]);
    let range = DateRange::new(date!(2026 - 03 - 01), date!(2026 - 03 - 04)).unwrap();
    let got = holding_returns(&ledger(&trades), &closes, &usd(), range);
    assert_eq!(got.iter().map(|h| h.symbol.as_str()).collect::<Vec<_>>(), ["AAA", "BBB"]);
    let twr = |i: usize| got[i].returns.twr.unwrap().cumulative;
    assert_eq!(twr(0), d("0.1"));
    // BBB: day 3 flat (50 → 50 after buying at 50), day 4 +20 % (5 × 60 held + 300 out = 600 on 500).
    assert_eq!(twr(1), d("0.2"));
    assert_eq!((got[1].returns.contributions, got[1].returns.withdrawals, got[1].returns.end_value), (d("500"), d("300"), d("300")));
    // A holding sold before the range is not in it.
    let later = DateRange::new(date!(2026 - 03 - 05), date!(2026 - 03 - 06)).unwrap();
    let sold = [(date!(2026 - 03 - 04), b.clone(), sell("5", "60", "0"))];
    let mut all = trades.to_vec();
    all.extend(sold);
    assert_eq!(holding_returns(&ledger(&all), &closes, &usd(), later).iter().map(|h| h.symbol.as_str()).collect::<Vec<_>>(), ["AAA"]);
}

#[test]
fn the_same_money_in_the_index_by_hand() {
    // Index 100 on the 1st, 110 on the 2nd, 99 on the 3rd, 121 on the 4th. Start value 1,000 buys
    // 10 units (at the 1st's close). 550 contributed on the 3rd buys at the 2nd's close: 5 units.
    // 198 withdrawn on the 4th sells at the 4th's close 121: 198/121 units. End: (15 − 198/121) × 121
    // = 1,815 − 198 = 1,617.
    let levels = points(&[
        (date!(2026 - 05 - 01), "100"),
        (date!(2026 - 05 - 02), "110"),
        (date!(2026 - 05 - 03), "99"),
        (date!(2026 - 05 - 04), "121"),
    ]);
    let flows = [CashFlow { date: date!(2026 - 05 - 03), amount: d("550") }, CashFlow { date: date!(2026 - 05 - 04), amount: d("-198") }];
    let days = [date!(2026 - 05 - 01), date!(2026 - 05 - 02), date!(2026 - 05 - 03), date!(2026 - 05 - 04)];
    let line = same_money(&levels, d("1000"), &flows, &days).unwrap();
    assert_eq!(line.iter().map(|v| v.value).collect::<Vec<_>>(), [d("1000"), d("1100"), d("1485"), d("1617")]);
    // Before the index's history there is no line.
    assert_eq!(same_money(&levels, d("1000"), &[], &[date!(2026 - 04 - 30)]), None);
}

#[test]
fn a_portfolio_that_is_the_index_has_no_excess_return() {
    // Holding SPY itself with the same flows: the same money in the index is the portfolio.
    let spy = sym(BENCHMARK_SYMBOL);
    let levels = points(&[
        (date!(2026 - 05 - 01), "100"),
        (date!(2026 - 05 - 04), "110"),
        (date!(2026 - 05 - 05), "99"),
        (date!(2026 - 05 - 06), "121"),
    ]);
    let trades = [
        (date!(2026 - 05 - 01), spy.clone(), buy("10", "100", "0")),
        (date!(2026 - 05 - 05), spy.clone(), buy("5", "110", "0")),
        (date!(2026 - 05 - 06), spy.clone(), sell("2", "121", "0")),
    ];
    let closes = HashMap::from([(spy.clone(), levels.clone())]);
    let book = ledger(&trades);
    let range = DateRange::new(date!(2026 - 05 - 02), date!(2026 - 05 - 06)).unwrap();
    let flows = flows_from_trades(book.iter().filter(|t| t.date >= range.from()).map(|t| (t.date, t.trade)));
    let values = values_on(&book, &closes, &usd(), &linking_days(range, &flows));
    let returns = period_returns(&values, &flows, range).unwrap();
    let bench = benchmark_returns(&levels, &returns, &flows);
    assert_eq!(bench.index.unwrap().cumulative, d("0.21"));
    assert_eq!(returns.twr.unwrap().cumulative, d("0.21"));
    assert_eq!(bench.same_money.as_ref().unwrap().end_value, returns.end_value);
    assert_eq!(bench.excess_time_weighted.unwrap().cumulative, Decimal::ZERO);
    assert_eq!(bench.excess_money_weighted.unwrap().cumulative, Decimal::ZERO);
}

#[test]
fn linking_days_are_the_ends_and_each_flow_with_the_day_before() {
    let range = DateRange::new(date!(2026 - 01 - 10), date!(2026 - 01 - 31)).unwrap();
    let flows = [
        CashFlow { date: date!(2026 - 01 - 10), amount: d("1") },
        CashFlow { date: date!(2026 - 01 - 20), amount: d("-1") },
        CashFlow { date: date!(2026 - 02 - 01), amount: d("1") },
    ];
    assert_eq!(
        linking_days(range, &flows),
        [date!(2026 - 01 - 09), date!(2026 - 01 - 10), date!(2026 - 01 - 19), date!(2026 - 01 - 20), date!(2026 - 01 - 31)]
    );
}

#[test]
fn the_benchmark_symbol_is_a_symbol() {
    assert_eq!(benchmark_symbol().as_str(), BENCHMARK_SYMBOL);
}
