//! Dividends against a portfolio worked by hand (in the comments): a payer with a split in
//! between, a holding sold off, a payer that stopped, and one with no history (the universe's
//! yield).

use super::*;
use crate::money::{Amount, Quantity};
use std::str::FromStr;
use time::macros::date;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn buy(q: &str, p: &str) -> Trade {
    Trade::Buy { quantity: Quantity::parse(q).unwrap(), price: Amount::parse(p).unwrap(), fees: Amount::ZERO }
}

fn sell(q: &str, p: &str) -> Trade {
    Trade::Sell { quantity: Quantity::parse(q).unwrap(), price: Amount::parse(p).unwrap(), fees: Amount::ZERO }
}

fn div(amount: &str) -> Trade {
    Trade::Dividend { amount: Amount::parse(amount).unwrap() }
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

const TODAY: Date = date!(2026 - 06 - 30);

/// XX: BUY 100 @ 50 (cost 5,000); 50 paid every quarter on the 15th; a 2:1 split on 2025-11-01
/// (200 shares). TTM (2025-07-01 … 2026-06-30): Sep, Dec, Mar, Jun = 200. Per share in today's
/// shares: Sep 50/100 = 0.50 before the split = 0.25 now; the others 50/200 = 0.25: 1.00 a year,
/// × 200 shares = 200 projected. Price 30: value 6,000, yield 200/6,000 = 0.033333; on cost
/// 200/5,000 = 0.04. Last gaps 92, 91, 90, 92 days: quarterly; next dates 2026-09-15,
/// 2026-12-15, 2027-03-15, 2027-06-15, each 0.25 × 200 = 50.
fn split_payer() -> Vec<(Date, Trade)> {
    vec![
        (date!(2025 - 01 - 10), buy("100", "50")),
        (date!(2025 - 03 - 15), div("50")),
        (date!(2025 - 06 - 15), div("50")),
        (date!(2025 - 09 - 15), div("50")),
        (date!(2025 - 11 - 01), Trade::Split { numerator: 2, denominator: 1 }),
        (date!(2025 - 12 - 15), div("50")),
        (date!(2026 - 03 - 15), div("50")),
        (date!(2026 - 06 - 15), div("50")),
    ]
}

/// YY: 10 bought, 5 + 5 received (both in the TTM), all sold: TTM income 10, nothing projected, no
/// yields.
fn sold_off() -> Vec<(Date, Trade)> {
    vec![
        (date!(2025 - 02 - 01), buy("10", "100")),
        (date!(2025 - 08 - 01), div("5")),
        (date!(2026 - 02 - 01), div("5")),
        (date!(2026 - 03 - 01), sell("10", "120")),
    ]
}

/// ZZ: 20 @ 10 (cost 200), paid 2 in April and July 2024, nothing since: stopped, 0 projected.
fn stopped() -> Vec<(Date, Trade)> {
    vec![(date!(2024 - 01 - 05), buy("20", "10")), (date!(2024 - 04 - 01), div("2")), (date!(2024 - 07 - 01), div("2"))]
}

/// WW: 10 @ 40 (cost 400), no dividend yet; price 50, universe yield 0.02: 500 × 0.02 = 10.
fn no_history() -> Vec<(Date, Trade)> {
    vec![(date!(2026 - 05 - 01), buy("10", "40"))]
}

fn report() -> DividendReport {
    let (x, y, z, w) = (split_payer(), sold_off(), stopped(), no_history());
    let input = |s: &str, ledger, price: &str, dy: Option<&str>| HoldingInput {
        symbol: sym(s),
        ledger,
        price: Some(d(price)),
        dividend_yield: dy.map(d),
    };
    let inputs = [
        input("XX", &x, "30", Some("0.09")),
        input("YY", &y, "120", None),
        input("ZZ", &z, "12", Some("0.05")),
        input("WW", &w, "50", Some("0.02")),
    ];
    dividends(&inputs, TODAY).unwrap()
}

#[test]
fn a_split_between_payments_keeps_the_per_share_income_in_todays_shares() {
    let r = report();
    let x = &r.holdings[0];
    assert_eq!((x.quantity, x.received, x.ttm_income, x.ttm_per_share), (d("200"), d("300"), d("200"), d("1")));
    assert_eq!((x.value, x.cost_basis), (Some(d("6000")), d("5000")));
    assert_eq!((x.ttm_yield, x.yield_on_cost), (Some(d("0.033333")), Some(d("0.04"))));
    assert_eq!((x.projected_income, x.basis, x.cadence), (d("200"), Basis::Trailing, Some(Cadence::Quarterly)));
    let dates: Vec<Date> = r.calendar.iter().map(|p| p.date).collect();
    assert_eq!(dates, [date!(2026 - 09 - 15), date!(2026 - 12 - 15), date!(2027 - 03 - 15), date!(2027 - 06 - 15)]);
    assert!(r.calendar.iter().all(|p| p.symbol == sym("XX") && p.per_share == d("0.25") && p.amount == d("50")));
}

#[test]
fn a_holding_sold_off_counts_in_income_but_projects_nothing() {
    let y = &report().holdings[1];
    assert_eq!((y.quantity, y.ttm_income, y.projected_income, y.basis), (d("0"), d("10"), d("0"), Basis::None));
    assert_eq!((y.value, y.ttm_yield, y.yield_on_cost), (None, None, None));
}

#[test]
fn a_payer_that_stopped_projects_zero_and_no_dates() {
    let r = report();
    let z = &r.holdings[2];
    assert_eq!((z.received, z.ttm_income, z.projected_income, z.basis), (d("4"), d("0"), d("0"), Basis::Stopped));
    assert_eq!(z.ttm_yield, Some(d("0")));
    assert!(r.calendar.iter().all(|p| p.symbol != sym("ZZ")));
}

#[test]
fn no_history_falls_back_to_the_universe_yield() {
    let w = &report().holdings[3];
    assert_eq!((w.projected_income, w.basis, w.cadence), (d("10"), Basis::Yield, None));
}

#[test]
fn totals_by_month_and_year_add_up() {
    let r = report();
    // 2024: ZZ 2 + 2; 2025: XX Mar, Jun, Sep, Dec 50 each + YY Aug 5; 2026: XX Mar, Jun + YY Feb 5.
    assert_eq!(r.by_year, [(2024, d("4")), (2025, d("205")), (2026, d("105"))]);
    let months: Vec<String> = r.by_month.iter().map(|((y, m), a)| format!("{y}-{:02} {a}", u8::from(*m))).collect();
    assert_eq!(
        months,
        [
            "2024-04 2",
            "2024-07 2",
            "2025-03 50",
            "2025-06 50",
            "2025-08 5",
            "2025-09 50",
            "2025-12 50",
            "2026-02 5",
            "2026-03 50",
            "2026-06 50"
        ]
    );
    assert_eq!((r.ttm_since, r.ttm_income, r.projected_income), (date!(2025 - 07 - 01), d("210"), d("210")));
    // Held and priced: XX 6,000 (200 TTM), ZZ 240, WW 500: 200 / 6,740 = 0.0296735…; on cost
    // 200 / (5,000 + 200 + 400) = 0.0357142…; YY (sold) in neither.
    assert_eq!((r.ttm_yield, r.yield_on_cost), (Some(d("0.029674")), Some(d("0.035714"))));
}

#[test]
fn the_window_and_month_steps_follow_the_calendar() {
    assert_eq!(ttm_since(date!(2028 - 02 - 29)), date!(2027 - 03 - 01));
    assert_eq!(add_months(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 28));
    assert_eq!(add_months(date!(2026 - 11 - 30), 3), date!(2027 - 02 - 28));
    // A payment on the window's first day counts; the day before does not.
    let ledger = [(date!(2025 - 06 - 01), buy("1", "1")), (date!(2025 - 06 - 30), div("1")), (date!(2025 - 07 - 01), div("2"))];
    let r = dividends(&[HoldingInput { symbol: sym("AB"), ledger: &ledger, price: None, dividend_yield: None }], TODAY).unwrap();
    assert_eq!(r.ttm_income, d("2"));
    // Monthly gaps give a monthly payer with twelve dates ahead.
    let monthly: Vec<(Date, Trade)> = std::iter::once((date!(2026 - 01 - 01), buy("10", "1")))
        .chain((1..=5).map(|m| (add_months(date!(2026 - 01 - 10), m), div("1"))))
        .collect();
    let r = dividends(&[HoldingInput { symbol: sym("MO"), ledger: &monthly, price: None, dividend_yield: None }], TODAY).unwrap();
    assert_eq!(r.holdings[0].cadence, Some(Cadence::Monthly));
    assert_eq!(r.calendar.len(), 12);
    assert_eq!(r.calendar[0].date, date!(2026 - 07 - 10));
}
