//! Returns against cases worked by hand (in the comments), a solver written here, and properties.

use super::*;
use crate::import::property::{Rng, check};
use crate::money::{Amount, Quantity};
use std::str::FromStr;
use std::time::Duration as Budget;
use time::macros::date;

const SEEDS: &[u64] = &[0x7E7C_2026_0001, 0x51];

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn value(date: Date, value: &str) -> Valuation {
    Valuation { date, value: d(value) }
}

fn flow(date: Date, amount: &str) -> CashFlow {
    CashFlow { date, amount: d(amount) }
}

fn range(from: Date, to: Date) -> DateRange {
    DateRange::new(from, to).unwrap()
}

fn buy(quantity: &str, price: &str) -> Trade {
    Trade::Buy { quantity: Quantity::parse(quantity).unwrap(), price: Amount::parse(price).unwrap(), fees: Amount::ZERO }
}

fn sell(quantity: &str, price: &str) -> Trade {
    Trade::Sell { quantity: Quantity::parse(quantity).unwrap(), price: Amount::parse(price).unwrap(), fees: Amount::ZERO }
}

fn dividend(amount: &str) -> Trade {
    Trade::Dividend { amount: Amount::parse(amount).unwrap() }
}

fn to_f64(x: Decimal) -> f64 {
    x.to_f64().unwrap()
}

/// The test's own XIRR, independent of the module's solver: the net present value at an annual
/// rate `r`, Actual/365 from the earliest date, and plain bisection on [−99 %, 1000 %].
fn bisect(flows: &[(Date, f64)]) -> Option<f64> {
    let t0 = flows.iter().map(|f| f.0).min()?;
    let npv = |r: f64| flows.iter().map(|(date, a)| a / (1.0 + r).powf((*date - t0).whole_days() as f64 / 365.0)).sum::<f64>();
    let (mut lo, mut hi) = (-0.99, 10.0);
    if npv(lo).signum() == npv(hi).signum() {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if npv(mid).signum() == npv(lo).signum() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// `a` and `b` differ by at most one unit of the 8th place (a rate from the `f64` solver against
/// an exact one, each rounded on its own).
fn close(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() <= Decimal::new(1, RATE_PLACES)
}

// ---- the CFA example ----------------------------------------------------------------------

/// The classic two-period example of the CFA curriculum, with its "one year" periods laid on two
/// common years (2025 and 2026, 730 days) and its flows from trades of a portfolio that does not
/// track cash:
///
/// - 2025-01-01: BUY 1 share @ 100; close 100.
/// - 2025-12-31: close 120; DIVIDEND 2 (paid out).
/// - 2026-01-01: BUY 1 share @ 120; close 240 (2 × 120).
/// - 2026-12-31: DIVIDEND 4 (2 per share); SELL 2 @ 130; close 0.
///
/// Flows seen from the portfolio: +100, −2, +120, −4 and −260.
fn cfa() -> (Vec<Valuation>, Vec<CashFlow>, DateRange) {
    let trades = [
        (date!(2025 - 01 - 01), buy("1", "100")),
        (date!(2025 - 12 - 31), dividend("2")),
        (date!(2026 - 01 - 01), buy("1", "120")),
        (date!(2026 - 12 - 31), dividend("4")),
        (date!(2026 - 12 - 31), sell("2", "130")),
    ];
    let flows = flows_from_trades(trades.iter().map(|(date, trade)| (*date, trade)));
    let valuations = vec![
        value(date!(2025 - 01 - 01), "100"),
        value(date!(2025 - 12 - 31), "120"),
        value(date!(2026 - 01 - 01), "240"),
        value(date!(2026 - 12 - 31), "0"),
    ];
    (valuations, flows, range(date!(2025 - 01 - 01), date!(2026 - 12 - 31)))
}

#[test]
fn flows_from_trades_follow_the_documented_signs() {
    let (_, flows, _) = cfa();
    let amounts: Vec<Decimal> = flows.iter().map(|f| f.amount).collect();
    assert_eq!(amounts, [d("100"), d("-2"), d("120"), d("-4"), d("-260")]);
    let with_fees =
        Trade::Buy { quantity: Quantity::parse("3").unwrap(), price: Amount::parse("10").unwrap(), fees: Amount::parse("1.5").unwrap() };
    assert_eq!(trade_flow(&with_fees), Some(d("31.5")), "a BUY brings in its cost and its fees");
    let sale =
        Trade::Sell { quantity: Quantity::parse("3").unwrap(), price: Amount::parse("10").unwrap(), fees: Amount::parse("1.5").unwrap() };
    assert_eq!(trade_flow(&sale), Some(d("-28.5")), "a SELL takes out its proceeds net of fees");
    assert_eq!(trade_flow(&Trade::Fee { amount: Amount::parse("2").unwrap() }), Some(d("2")));
    assert_eq!(trade_flow(&Trade::Split { numerator: 2, denominator: 1 }), None);
}

#[test]
fn cfa_example_time_weighted_by_hand() {
    // Sub-periods, each (close + withdrawals) / (previous close + contributions):
    //   to 2025-01-01: (100 + 0) / (0 + 100)   = 1      (the purchase is at work from the start of its day)
    //   to 2025-12-31: (120 + 2) / (100 + 0)   = 1.22   (the dividend leaves at the end of its day)
    //   to 2026-01-01: (240 + 0) / (120 + 120) = 1
    //   to 2026-12-31: (0 + 264) / (240 + 0)   = 1.1
    // TWR = 1.22 × 1.1 − 1 = 0.342. The range is 730 days, longer than a year: annualised
    // 1.342^(365/730) − 1 = √1.342 − 1 = 0.1584472366… (the curriculum's 15.84 %).
    let (valuations, flows, range) = cfa();
    let twr = time_weighted(&valuations, &flows, range).unwrap();
    assert_eq!(twr, Rate { cumulative: d("0.342"), annualised: Some(d("0.15844724")) });
    let series = time_weighted_series(&valuations, &flows, range).unwrap();
    let cumulative: Vec<Decimal> = series.iter().map(|p| p.cumulative).collect();
    assert_eq!(cumulative, [d("0"), d("0.22"), d("0.22"), d("0.342")]);
}

#[test]
fn cfa_example_money_weighted_by_hand() {
    // The investor's flows: −100 at the start of 2025-01-01 (t = 0); +2 at the end of 2025-12-31
    // and −120 at the start of 2026-01-01, both at t = 365 days = 1 year; +264 at the end of
    // 2026-12-31 (t = 2 years). 100 + 118 / x = 264 / x², x = 1 + r:
    //   100x² + 118x − 264 = 0  →  x = (−118 + √(118² + 4·100·264)) / 200 = (−118 + √119524) / 200
    //   = 1.1386121600… → r = 13.861216 % a year (the curriculum's 13.86 %); over the two years
    //   x² − 1 = 0.2964376510…
    let root = (-118.0 + (118.0f64 * 118.0 + 4.0 * 100.0 * 264.0).sqrt()) / 200.0;
    assert!((root - 1.138_612_16).abs() < 1e-8);
    let (valuations, flows, range) = cfa();
    let mwr = money_weighted(&valuations, &flows, range).unwrap();
    assert_eq!(mwr, Rate { cumulative: d("0.29643765"), annualised: Some(d("0.13861216")) });
    assert!(close(mwr.annualised.unwrap(), Decimal::from_f64(root - 1.0).unwrap().round_dp(8)));
    // The same flows through the spreadsheet-style XIRR, and through the bisection written here.
    let investor = [
        (date!(2025 - 01 - 01), d("-100")),
        (date!(2026 - 01 - 01), d("2")),
        (date!(2026 - 01 - 01), d("-120")),
        (date!(2027 - 01 - 01), d("264")),
    ];
    assert_eq!(xirr(&investor).unwrap(), d("0.13861216"));
    let bisected = bisect(&investor.map(|(date, a)| (date, to_f64(a)))).unwrap();
    assert!((bisected - (root - 1.0)).abs() < 1e-12);
}

#[test]
fn cfa_example_simple_return_and_the_period_figures() {
    // Gain = end − start − (contributions − withdrawals) = 0 − 0 − (220 − 266) = 46 on
    // 0 + 220 invested: 46 / 220 = 0.2090909090… ; annualised √(266 / 220) − 1 = 0.0995866992…
    let (valuations, flows, range) = cfa();
    let simple = simple_return(&valuations, &flows, range).unwrap();
    assert_eq!(simple, Rate { cumulative: d("0.20909091"), annualised: Some(d("0.09958670")) });
    let all = period_returns(&valuations, &flows, range).unwrap();
    assert_eq!(
        (all.start_value, all.end_value, all.contributions, all.withdrawals, all.gain),
        (d("0"), d("0"), d("220"), d("266"), d("46"))
    );
    assert_eq!(
        (all.twr, all.mwr, all.simple),
        (Some(d_rate("0.342", "0.15844724")), Some(d_rate("0.29643765", "0.13861216")), Some(simple))
    );
}

fn d_rate(cumulative: &str, annualised: &str) -> Rate {
    Rate { cumulative: d(cumulative), annualised: Some(d(annualised)) }
}

// ---- daily linking ------------------------------------------------------------------------

#[test]
fn a_week_of_daily_linking_with_a_deposit_a_withdrawal_and_a_holiday() {
    // A portfolio that tracks cash; the market moves +2 %, −1 %, +3 %, then +0.5 % over a holiday
    // (Thursday has no valuation). Friday 2026-02-27 closes at 100,000.
    //   Mon 03-02: deposit 20,000 (start of day): (100,000 + 20,000) × 1.02 = 122,400
    //   Tue 03-03: 122,400 × 0.99 = 121,176
    //   Wed 03-04: 121,176 × 1.03 = 124,811.28, then 10,000 withdrawn (end of day) = 114,811.28
    //   Fri 03-06: 114,811.28 × 1.005 = 115,385.3364
    // Daily factors: 122,400 / 120,000 = 1.02; 121,176 / 122,400 = 0.99;
    // (114,811.28 + 10,000) / 121,176 = 1.03; 115,385.3364 / 114,811.28 = 1.005.
    // TWR = 1.02 × 0.99 × 1.03 × 1.005 − 1 = 1.0098 × 1.03 × 1.005 − 1 = 1.040094 × 1.005 − 1
    //     = 0.04529447 (4.529447 %), whatever the sizes of the deposit and the withdrawal.
    let valuations = [
        value(date!(2026 - 02 - 27), "100000"),
        value(date!(2026 - 03 - 02), "122400"),
        value(date!(2026 - 03 - 03), "121176"),
        value(date!(2026 - 03 - 04), "114811.28"),
        value(date!(2026 - 03 - 06), "115385.3364"),
    ];
    let flows = [flow(date!(2026 - 03 - 02), "20000"), flow(date!(2026 - 03 - 04), "-10000")];
    let week = Period::WeekToDate.resolve(date!(2026 - 03 - 06), date!(2026 - 01 - 02)).unwrap();
    assert_eq!((week.from(), week.to(), week.days()), (date!(2026 - 03 - 02), date!(2026 - 03 - 06), 5));
    let twr = time_weighted(&valuations, &flows, week).unwrap();
    assert_eq!(twr, Rate { cumulative: d("0.04529447"), annualised: None });
    let series = time_weighted_series(&valuations, &flows, week).unwrap();
    let cumulative: Vec<(Date, Decimal)> = series.iter().map(|p| (p.date, p.cumulative)).collect();
    assert_eq!(
        cumulative,
        [
            (date!(2026 - 03 - 02), d("0.02")),
            (date!(2026 - 03 - 03), d("0.0098")),
            (date!(2026 - 03 - 04), d("0.040094")),
            (date!(2026 - 03 - 06), d("0.04529447")),
        ]
    );
    // The simple return: gain 115,385.3364 − 100,000 − (20,000 − 10,000) = 5,385.3364 on
    // 120,000 invested = 0.04487780333… (lower: the deposit missed none of the rise, but the
    // denominator counts it for the whole week).
    assert_eq!(simple_return(&valuations, &flows, week).unwrap().cumulative, d("0.04487780"));
}

#[test]
fn the_timing_makes_a_first_purchase_and_a_whole_sale_exact() {
    // Day 1: a new portfolio buys 10 shares @ 100 (+1,000) and they close at 105: 1,050 / 1,000
    // = +5 %. Day 2: all 10 sold @ 110 (−1,100), close 0: (0 + 1,100) / 1,050 = +4.7619… %.
    // Both days together: 1,100 / 1,000 = +10 % — the shares' own rise from 100 to 110.
    let valuations = [value(date!(2026 - 05 - 04), "1050"), value(date!(2026 - 05 - 05), "0")];
    let flows = [flow(date!(2026 - 05 - 04), "1000"), flow(date!(2026 - 05 - 05), "-1100")];
    let one = |from, to| time_weighted(&valuations, &flows, range(from, to)).unwrap().cumulative;
    assert_eq!(one(date!(2026 - 05 - 04), date!(2026 - 05 - 04)), d("0.05"));
    assert_eq!(one(date!(2026 - 05 - 05), date!(2026 - 05 - 05)), d("0.04761905"));
    assert_eq!(one(date!(2026 - 05 - 04), date!(2026 - 05 - 05)), d("0.1"));
    // The MWR of the two days: −1,000 at the start of day 1, +1,100 at the end of day 2 — 10 %.
    let mwr = money_weighted(&valuations, &flows, range(date!(2026 - 05 - 04), date!(2026 - 05 - 05))).unwrap();
    assert_eq!(mwr, Rate { cumulative: d("0.1"), annualised: None });
}

// ---- XIRR -----------------------------------------------------------------------------------

#[test]
fn xirr_matches_a_bisection_written_here() {
    let flows = [
        (date!(2024 - 01 - 15), d("-5000")),
        (date!(2024 - 04 - 02), d("-2500")),
        (date!(2024 - 09 - 30), d("1200")),
        (date!(2025 - 02 - 14), d("-750.50")),
        (date!(2025 - 08 - 01), d("3100.25")),
        (date!(2026 - 03 - 03), d("5400")),
    ];
    let ours = xirr(&flows).unwrap();
    let theirs = bisect(&flows.map(|(date, a)| (date, to_f64(a)))).unwrap();
    assert!(close(ours, Decimal::from_f64(theirs).unwrap().round_dp(8)), "{ours} vs {theirs}");
    assert!((to_f64(ours) - 0.106_632_07).abs() < 1e-8);
    // A spreadsheet's documented example: −10,000 on 2008-01-01, then 2,750, 4,250, 3,250 and
    // 2,750 received; its XIRR is 0.373362535.
    let sheet = [
        (date!(2008 - 01 - 01), d("-10000")),
        (date!(2008 - 03 - 01), d("2750")),
        (date!(2008 - 10 - 30), d("4250")),
        (date!(2009 - 02 - 15), d("3250")),
        (date!(2009 - 04 - 01), d("2750")),
    ];
    assert_eq!(xirr(&sheet).unwrap(), d("0.37336253"));
}

#[test]
fn money_weighted_matches_a_bisection_on_the_dated_flows() {
    // A portfolio through 2025 with flows on both sides of mid-year; the test dates the investor's
    // flows by the documented timing itself and bisects.
    let valuations = [
        value(date!(2024 - 12 - 31), "10000"),
        value(date!(2025 - 03 - 14), "13650"),
        value(date!(2025 - 07 - 01), "12100.40"),
        value(date!(2025 - 10 - 20), "11020"),
        value(date!(2025 - 12 - 31), "11875.25"),
    ];
    let flows = [flow(date!(2025 - 03 - 14), "3000"), flow(date!(2025 - 07 - 01), "-1500"), flow(date!(2025 - 10 - 20), "-700")];
    let year = range(date!(2025 - 01 - 01), date!(2025 - 12 - 31));
    let investor = [
        (date!(2025 - 01 - 01), -10000.0), // the start value, at the start of the range
        (date!(2025 - 03 - 14), -3000.0),  // a contribution, at the start of its day
        (date!(2025 - 07 - 02), 1500.0),   // a withdrawal, at the end of its day
        (date!(2025 - 10 - 21), 700.0),
        (date!(2026 - 01 - 01), 11875.25), // the end value, at the close of the last day
    ];
    let annual = bisect(&investor).unwrap();
    let mwr = money_weighted(&valuations, &flows, year).unwrap();
    assert_eq!(mwr.annualised, None, "a year is not annualised");
    // 365 days: the range's return is the annual rate itself.
    assert!(close(mwr.cumulative, Decimal::from_f64(annual).unwrap().round_dp(8)), "{mwr:?} vs {annual}");
}

#[test]
fn xirr_says_when_there_is_no_rate() {
    let years = |flows: [(i32, &str); 3]| flows.map(|(y, a)| (Date::from_calendar_date(y, Month::January, 1).unwrap(), d(a)));
    // 100 received, 300 paid, 250 received: NPV = 100 − 300x + 250x², whose discriminant
    // 300² − 4·100·250 < 0: positive at every rate.
    assert_eq!(xirr(&years([(2025, "100"), (2026, "-300"), (2027, "250")])), Err(ReturnsError::NoRoot));
    // −100, +230, −132: (x − 1/1.1)(x − 1/1.2) = 0 — 10 % and 20 %; the one nearest to 0 %.
    assert_eq!(xirr(&years([(2025, "-100"), (2026, "230"), (2027, "-132")])), Ok(d("0.1")));
    assert_eq!(xirr(&[(date!(2025 - 01 - 01), d("-1")), (date!(2026 - 01 - 01), d("-2"))]), Err(ReturnsError::OneSign));
    assert_eq!(xirr(&[]), Err(ReturnsError::OneSign));
    assert_eq!(xirr(&[(date!(2025 - 01 - 01), d("-1")), (date!(2025 - 01 - 01), d("2"))]), Err(ReturnsError::NoRoot));
    // Doubling in a day is 2^365 − 1 a year: beyond a Decimal.
    assert_eq!(xirr(&[(date!(2025 - 01 - 01), d("-1")), (date!(2025 - 01 - 02), d("2"))]), Err(ReturnsError::OutOfRange));
    // Losing everything but a cent in a year: −99.99 %, found near the bottom of the search.
    assert_eq!(xirr(&[(date!(2025 - 01 - 01), d("-100")), (date!(2026 - 01 - 01), d("0.01"))]), Ok(d("-0.9999")));
}

// ---- TWR = MWR = simple without flows -------------------------------------------------------

#[test]
fn without_flows_twr_mwr_and_simple_return_agree() {
    // Daily closes for three years (a deterministic walk), no flows. Every method reduces to
    // end / start − 1 over the range, and to (end / start)^(365 / days) − 1 once it is longer than a
    // year. TWR and the simple return are exact decimals; the MWR comes from the f64 solver and
    // may differ by one unit of the 8th place.
    let mut rng = Rng::new(2026);
    let start = date!(2023 - 01 - 01);
    let mut close_value = d("25000");
    let valuations: Vec<Valuation> = (0..1100)
        .map(|i| {
            close_value = (close_value * Decimal::new(rng.range(9_700, 10_310), 4)).round_dp(2);
            Valuation { date: start + Duration::days(i), value: close_value }
        })
        .collect();
    let today = valuations.last().unwrap().date;
    let value_at = |date: Date| valuations.iter().find(|v| v.date == date).unwrap().value;
    for period in Period::NAMED {
        let range = period.resolve(today, start).unwrap();
        if range.from() == start {
            // Max starts on the first valuation, with nothing before it: value from nothing.
            assert_eq!(time_weighted(&valuations, &[], range), Err(ReturnsError::ValueFromNothing(start)));
            continue;
        }
        let all = period_returns(&valuations, &[], range).unwrap();
        let (twr, mwr, simple) = (all.twr.unwrap(), all.mwr.unwrap(), all.simple.unwrap());
        let start_value = value_at(range.start());
        let growth = value_at(today) / start_value;
        assert_eq!(twr, simple, "{period:?}");
        assert_eq!(twr.cumulative, (growth - Decimal::ONE).round_dp(8), "{period:?}");
        assert!(close(mwr.cumulative, twr.cumulative), "{period:?}: {mwr:?} vs {twr:?}");
        assert_eq!(twr.annualised.is_some(), matches!(period, Period::ThreeYears | Period::FiveYears), "{period:?}");
        assert_eq!(mwr.annualised.is_some(), twr.annualised.is_some());
        if let (Some(t), Some(m)) = (twr.annualised, mwr.annualised) {
            let by_hand = to_f64(growth).powf(365.0 / range.days() as f64) - 1.0;
            assert!((to_f64(t) - by_hand).abs() < 1e-8, "{period:?}");
            assert!(close(t, m), "{period:?}");
        }
    }
}

#[test]
fn twr_of_a_fund_traded_at_its_own_prices_is_its_price_return_whatever_the_flows() {
    // A portfolio holding units of one fund: contributions buy units at the previous close (they
    // are at work from the start of the day), withdrawals sell units at the day's close (at work
    // until its end). Whatever their sizes and dates, the TWR is the price's own return, as long
    // as the closes those trades happen at are valued.
    check("twr_is_the_price_return", SEEDS, 400, Budget::from_secs(3), |rng| {
        let start = date!(2024 - 01 - 01);
        let days = rng.range(1, 500) as usize;
        // Which days contribute and which withdraw, drawn first so that holidays can be placed.
        let contributes: Vec<bool> = (0..=days + 1).map(|day| day > 0 && rng.one_in(4)).collect();
        let withdraws: Vec<bool> = (0..=days).map(|day| day > 0 && rng.one_in(4)).collect();
        let first_price = Decimal::new(rng.range(1_000, 100_000), 2);
        let (mut price, mut units) = (first_price, Decimal::from(rng.range(1, 1000)));
        let mut valuations = vec![Valuation { date: start, value: units * price }];
        let mut flows = Vec::new();
        for day in 1..=days {
            let date = start + Duration::days(day as i64);
            if contributes[day] {
                let amount = Decimal::new(rng.range(1, 10_000_000), 2);
                units += amount / price;
                flows.push(CashFlow { date, amount });
            }
            price = (price * Decimal::new(rng.range(900, 1100), 3)).round_dp(4);
            if withdraws[day] {
                let amount = (units * price * Decimal::new(rng.range(1, 90), 2)).round_dp(2);
                units -= amount / price;
                flows.push(CashFlow { date, amount: -amount });
            }
            // A day may have no valuation (a holiday) when the exactness needs none: no withdrawal
            // that day (it leaves at the close) and no contribution the next (it buys at this close).
            if day < days && !withdraws[day] && !contributes[day + 1] && rng.one_in(5) {
                continue;
            }
            valuations.push(Valuation { date, value: units * price });
        }
        let range = range(start + Duration::days(1), start + Duration::days(days as i64));
        let twr = time_weighted(&valuations, &flows, range).unwrap();
        let expected = (price / first_price - Decimal::ONE).round_dp(8);
        assert!(close(twr.cumulative, expected), "{twr:?} vs {expected}");
    });
}

#[test]
fn xirr_agrees_with_bisection_on_random_flows() {
    // Payments in, then receipts: one change of sign, so exactly one rate.
    check("xirr_agrees_with_bisection", SEEDS, 300, Budget::from_secs(3), |rng| {
        let mut date = date!(2020 - 01 - 01);
        let (count, mut flows) = (rng.range(2, 12), Vec::new());
        let paid = rng.range(1, count - 1);
        for i in 0..count {
            let amount = Decimal::new(rng.range(100_000, 1_000_000), 2);
            flows.push((date, if i < paid { -amount } else { amount }));
            date += Duration::days(rng.range(30, 400));
        }
        let theirs = bisect(&flows.iter().map(|(date, a)| (*date, to_f64(*a))).collect::<Vec<_>>());
        match (xirr(&flows), theirs) {
            (Ok(ours), Some(theirs)) => {
                assert!(close(ours, Decimal::from_f64(theirs).unwrap().round_dp(8)), "{ours} vs {theirs}: {flows:?}")
            }
            // Beyond the bisection's interval: ours must then be outside it too, or beyond reach.
            (Ok(ours), None) => assert!(ours >= d("10") || ours <= d("-0.99"), "{ours}: {flows:?}"),
            (Err(_), None) => {}
            (Err(e), Some(theirs)) => panic!("{e} where bisection finds {theirs}: {flows:?}"),
        }
    });
}

// ---- what has no return -------------------------------------------------------------------

#[test]
fn inputs_without_a_return_are_refused_with_a_reason() {
    let day = date!(2026 - 04 - 01);
    let one = range(day, day);
    assert_eq!(time_weighted(&[], &[], one), Err(ReturnsError::NothingInvested));
    assert_eq!(simple_return(&[], &[], one), Err(ReturnsError::NothingInvested));
    assert_eq!(money_weighted(&[], &[], one), Err(ReturnsError::NothingInvested));
    assert_eq!(time_weighted(&[value(day, "5")], &[], one), Err(ReturnsError::ValueFromNothing(day)));
    assert_eq!(time_weighted(&[value(day, "-5")], &[], one), Err(ReturnsError::NegativeValue(day)));
    assert_eq!(time_weighted(&[value(day, "5"), value(day, "6")], &[], one), Err(ReturnsError::Unordered(day)));
    // A deposit the day after the last valuation: no valuation includes it.
    let later = range(day, date!(2026 - 04 - 02));
    assert_eq!(
        time_weighted(&[value(day, "5")], &[flow(day, "5"), flow(date!(2026 - 04 - 02), "1")], later),
        Err(ReturnsError::FlowAfterLastValuation(date!(2026 - 04 - 02)))
    );
    // Everything lost: −100 % by every method.
    let lost = [value(day, "0")];
    let all = period_returns(&lost, &[flow(day, "100")], one).unwrap();
    let minus_one = Some(Rate { cumulative: -Decimal::ONE, annualised: None });
    assert_eq!((all.twr, all.mwr, all.simple), (minus_one, minus_one, minus_one));
    // Nothing held before or after a range: carried-forward values and no flows give 0 %.
    let flat = [value(date!(2026 - 03 - 31), "100")];
    assert_eq!(time_weighted(&flat, &[], one).unwrap().cumulative, Decimal::ZERO);
}

// ---- periods --------------------------------------------------------------------------------

#[test]
fn periods_resolve_on_a_leap_day() {
    // Tuesday 2028-02-29, a history since 2020.
    let (today, first) = (date!(2028 - 02 - 29), date!(2020 - 01 - 01));
    let resolved = |p: Period| {
        let r = p.resolve(today, first).unwrap();
        (r.from(), r.to(), r.days(), r.longer_than_a_year())
    };
    assert_eq!(resolved(Period::OneDay), (today, today, 1, false));
    assert_eq!(resolved(Period::WeekToDate), (date!(2028 - 02 - 28), today, 2, false));
    assert_eq!(resolved(Period::MonthToDate), (date!(2028 - 02 - 01), today, 29, false));
    assert_eq!(resolved(Period::YearToDate), (date!(2028 - 01 - 01), today, 60, false));
    // One year back from the 29th is the 28th: 1Y is 366 days here, and still not annualised.
    assert_eq!(resolved(Period::OneYear), (date!(2027 - 03 - 01), today, 366, false));
    assert_eq!(resolved(Period::ThreeYears), (date!(2025 - 03 - 01), today, 1096, true));
    assert_eq!(resolved(Period::FiveYears), (date!(2023 - 03 - 01), today, 1827, true));
    assert_eq!(resolved(Period::Max), (first, today, 2982, true));
    // A younger history clamps every start to its first day.
    let young = Period::FiveYears.resolve(today, date!(2027 - 06 - 15)).unwrap();
    assert_eq!((young.from(), young.longer_than_a_year()), (date!(2027 - 06 - 15), false));
    // A Monday's week to date is the day itself; a Sunday's, the week since Monday.
    assert_eq!(Period::WeekToDate.resolve(date!(2026 - 03 - 02), first).unwrap().days(), 1);
    assert_eq!(Period::WeekToDate.resolve(date!(2026 - 03 - 08), first).unwrap().from(), date!(2026 - 03 - 02));
}

#[test]
fn custom_ranges_and_their_refusals() {
    let (today, first) = (date!(2026 - 06 - 30), date!(2024 - 01 - 10));
    let custom = |from, to| DateRange::new(from, to).and_then(|r| Period::Custom(r).resolve(today, first));
    assert_eq!(custom(date!(2025 - 01 - 01), date!(2025 - 12 - 31)).unwrap().days(), 365);
    assert_eq!(custom(date!(2020 - 01 - 01), date!(2024 - 02 - 01)).unwrap().from(), first);
    assert_eq!(custom(date!(2025 - 02 - 01), date!(2025 - 01 - 01)), Err(PeriodError::Reversed));
    assert_eq!(custom(date!(2026 - 06 - 01), date!(2026 - 07 - 01)), Err(PeriodError::Future));
    assert_eq!(custom(date!(2020 - 01 - 01), date!(2023 - 12 - 31)), Err(PeriodError::NoHistory));
    assert_eq!(Period::OneDay.resolve(today, date!(2026 - 07 - 01)), Err(PeriodError::NoHistory));
    // A calendar year is never annualised, leap or not; a day more is.
    assert!(!range(date!(2024 - 01 - 01), date!(2024 - 12 - 31)).longer_than_a_year());
    assert!(range(date!(2024 - 01 - 01), date!(2025 - 01 - 01)).longer_than_a_year());
    for p in Period::NAMED {
        assert_eq!(Period::parse(&p.code().to_lowercase()), Some(p));
    }
    assert_eq!(Period::parse("2Y"), None);
    assert_eq!(first_date(&[value(date!(2025 - 01 - 02), "1")], &[flow(date!(2025 - 01 - 01), "1")]), Some(date!(2025 - 01 - 01)));
}
