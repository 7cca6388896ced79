//! Dividends: what a portfolio received (by month and by year), its trailing-twelve-month income
//! and yields, the income projected for the next twelve months and a calendar of the payments
//! expected, from each holding's ledger. Exact decimals throughout.
//!
//! # Rules
//!
//! - **Received**: every DIVIDEND transaction, on its trade date (the pay date as entered), summed
//!   by calendar month and year, sold-off holdings included.
//! - **Trailing twelve months (TTM)**: the DIVIDENDs dated after the same calendar day a year
//!   before `today` (29 February's is 28 February), up to `today`. A quarterly payer therefore
//!   shows four payments, never five.
//! - **TTM yield** = TTM dividends / current value (quantity × price); **yield on cost** = TTM
//!   dividends / cost basis (the holding's, average cost, fees included). Per holding, and in total
//!   over the holdings held now: the total's yield counts only holdings that are priced (value)
//!   or have a cost basis (yield on cost); dividends of holdings sold off count in the TTM income
//!   but in neither yield. Yields are fractions (0.03 = 3 %) to 6 places; absent when the
//!   denominator is unknown or zero.
//! - **Per share**: a payment's amount over the shares held just before it in ledger order, in
//!   today's shares (divided by the ratio of every SPLIT after it). A payment received with no
//!   shares held cannot be attributed to shares and counts in received and TTM only.
//! - **Projected income (next 12 months)**, per holding held now ([`Basis`]):
//!   - `trailing`: TTM dividends per share × shares held now (a holding bought within the year
//!     projects only the payments it has seen so far: the rule never invents a payment);
//!   - `stopped`: the holding had dividends, but none in the TTM: projected 0;
//!   - `yield`: no dividend recorded ever: the universe's `dividend_yield` × current value, marked
//!     as such since it is the market's figure, not the holding's history;
//!   - `none`: no history and no yield or price known: nothing projected.
//!
//!   Amounts are rounded to cents.
//! - **Calendar**: a holding held now with a `trailing` basis and at least two payment dates has a
//!   cadence from the median gap between its last (up to five) payment dates: ≤ 45 days monthly,
//!   ≤ 135 quarterly, ≤ 270 semi-annual, ≤ 456 annual, anything longer irregular (no calendar).
//!   Expected dates are the last payment date plus whole cadence steps (in calendar months, the day
//!   clamped to the month's length), those after `today` up to a year ahead: a quarterly payer
//!   projects the next four dates. Each expected payment is the latest payment per share × shares
//!   held now, to cents.

use crate::portfolio::{Holding, Trade};
use crate::symbol::Symbol;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use time::{Date, Month};

/// Places of a per-share amount.
const PER_SHARE_PLACES: u32 = 8;
/// Places of a yield (a fraction).
const YIELD_PLACES: u32 = 6;
/// Places of a projected amount (cents).
const MONEY_PLACES: u32 = 2;

/// One holding's input: its ledger in trade order, and what the market knows of it now.
#[derive(Debug, Clone)]
pub struct HoldingInput<'a> {
    pub symbol: Symbol,
    /// Trade date and trade, in trade order.
    pub ledger: &'a [(Date, Trade)],
    pub price: Option<Decimal>,
    /// The universe's annual dividend / price (a fraction).
    pub dividend_yield: Option<Decimal>,
}

/// How a holding's next twelve months of dividends are projected (see the module's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Trailing,
    Stopped,
    Yield,
    None,
}

impl Basis {
    pub fn code(self) -> &'static str {
        match self {
            Basis::Trailing => "trailing",
            Basis::Stopped => "stopped",
            Basis::Yield => "yield",
            Basis::None => "none",
        }
    }
}

/// How often a holding pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    Monthly,
    Quarterly,
    SemiAnnual,
    Annual,
    Irregular,
}

impl Cadence {
    pub fn code(self) -> &'static str {
        match self {
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
            Cadence::SemiAnnual => "semi_annual",
            Cadence::Annual => "annual",
            Cadence::Irregular => "irregular",
        }
    }

    /// Months between payments (`None`: irregular).
    fn months(self) -> Option<u32> {
        match self {
            Cadence::Monthly => Some(1),
            Cadence::Quarterly => Some(3),
            Cadence::SemiAnnual => Some(6),
            Cadence::Annual => Some(12),
            Cadence::Irregular => None,
        }
    }

    /// The cadence of a median gap between payments, in days.
    fn of_gap(days: i64) -> Cadence {
        match days {
            ..=45 => Cadence::Monthly,
            46..=135 => Cadence::Quarterly,
            136..=270 => Cadence::SemiAnnual,
            271..=456 => Cadence::Annual,
            _ => Cadence::Irregular,
        }
    }
}

/// One holding's dividends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldingDividends {
    pub symbol: Symbol,
    /// Shares held now.
    pub quantity: Decimal,
    pub value: Option<Decimal>,
    pub cost_basis: Decimal,
    /// Everything received, ever.
    pub received: Decimal,
    pub ttm_income: Decimal,
    /// TTM dividends per share, in today's shares.
    pub ttm_per_share: Decimal,
    pub ttm_yield: Option<Decimal>,
    pub yield_on_cost: Option<Decimal>,
    pub projected_income: Decimal,
    pub basis: Basis,
    /// Known from two payment dates or more.
    pub cadence: Option<Cadence>,
}

/// An expected payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedPayment {
    pub date: Date,
    pub symbol: Symbol,
    /// The latest payment per share, in today's shares.
    pub per_share: Decimal,
    pub amount: Decimal,
}

/// A portfolio's dividends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DividendReport {
    /// The first day of the TTM window.
    pub ttm_since: Date,
    /// `(year, month)` → received, oldest first.
    pub by_month: Vec<((i32, Month), Decimal)>,
    pub by_year: Vec<(i32, Decimal)>,
    pub holdings: Vec<HoldingDividends>,
    pub ttm_income: Decimal,
    /// Over the holdings held now and priced.
    pub ttm_yield: Option<Decimal>,
    pub yield_on_cost: Option<Decimal>,
    pub projected_income: Decimal,
    /// In date order, then symbol.
    pub calendar: Vec<ExpectedPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DividendError {
    #[error("{0}'s ledger cannot be followed: {1}")]
    Ledger(Symbol, crate::portfolio::PortfolioError),
}

/// `date` plus `months` calendar months, the day clamped to the month's length.
pub fn add_months(date: Date, months: u32) -> Date {
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months as i32;
    let (year, month) = (index.div_euclid(12), Month::try_from((index.rem_euclid(12) + 1) as u8).unwrap_or(Month::January));
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(date)
}

/// The first day of the TTM window ending `today`: the day after the same calendar day a year
/// before.
pub fn ttm_since(today: Date) -> Date {
    let year = today.year() - 1;
    let day = today.day().min(today.month().length(year));
    Date::from_calendar_date(year, today.month(), day).map_or(today, |d| d.next_day().unwrap_or(d))
}

/// A payment, as the engine keeps it.
struct Payment {
    date: Date,
    amount: Decimal,
    /// In today's shares; `None` when no shares were held.
    per_share: Option<Decimal>,
}

fn ratio(a: Decimal, b: Decimal, places: u32) -> Option<Decimal> {
    (!b.is_zero()).then(|| a.checked_div(b)).flatten().map(|r| r.round_dp(places).normalize())
}

/// One holding's payments and the holding after its whole ledger.
fn follow(input: &HoldingInput<'_>) -> Result<(Holding, Vec<Payment>), DividendError> {
    let mut holding = Holding::new(input.symbol.clone());
    let mut payments = Vec::new();
    // The split factor from each payment to today: every later split multiplies it.
    let mut factors: Vec<Decimal> = Vec::new();
    for (date, trade) in input.ledger {
        if let Trade::Dividend { amount } = trade {
            let held = holding.quantity;
            payments.push(Payment { date: *date, amount: amount.value(), per_share: (!held.is_zero()).then(|| amount.value() / held) });
            factors.push(Decimal::ONE);
        }
        if let Trade::Split { numerator, denominator } = trade {
            let step = Decimal::from(*numerator) / Decimal::from(*denominator);
            factors.iter_mut().for_each(|f| *f *= step);
        }
        holding.apply(trade).map_err(|e| DividendError::Ledger(input.symbol.clone(), e))?;
    }
    for (payment, factor) in payments.iter_mut().zip(factors) {
        payment.per_share = payment.per_share.map(|p| (p / factor).round_dp(PER_SHARE_PLACES));
    }
    Ok((holding, payments))
}

/// The cadence of payment dates (sorted), from the median gap between the last five or fewer.
fn cadence(dates: &[Date]) -> Option<Cadence> {
    let recent = &dates[dates.len().saturating_sub(5)..];
    let mut gaps: Vec<i64> = recent.windows(2).map(|w| (w[1] - w[0]).whole_days()).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    // The lower median of an even count: a late payment does not make a payer less frequent.
    Some(Cadence::of_gap(gaps[(gaps.len() - 1) / 2]))
}

/// The dividends of a portfolio's holdings as of `today`.
pub fn dividends(inputs: &[HoldingInput<'_>], today: Date) -> Result<DividendReport, DividendError> {
    let since = ttm_since(today);
    let mut by_month: BTreeMap<(i32, Month), Decimal> = BTreeMap::new();
    let mut holdings = Vec::with_capacity(inputs.len());
    let mut calendar = Vec::new();
    for input in inputs {
        let (holding, payments) = follow(input)?;
        for p in &payments {
            *by_month.entry((p.date.year(), p.date.month())).or_default() += p.amount;
        }
        let ttm: Vec<&Payment> = payments.iter().filter(|p| p.date >= since && p.date <= today).collect();
        let ttm_income: Decimal = ttm.iter().map(|p| p.amount).sum();
        let ttm_per_share: Decimal = ttm.iter().filter_map(|p| p.per_share).sum();
        let held = !holding.quantity.is_zero();
        let value = input.price.filter(|_| held).map(|price| price * holding.quantity);
        let basis = match (held, payments.is_empty(), ttm.is_empty()) {
            (false, _, _) => Basis::None,
            (true, false, false) => Basis::Trailing,
            (true, false, true) => Basis::Stopped,
            (true, true, _) if value.is_some() && input.dividend_yield.is_some() => Basis::Yield,
            (true, true, _) => Basis::None,
        };
        let projected_income = match basis {
            Basis::Trailing => ttm_per_share * holding.quantity,
            Basis::Yield => value.unwrap_or_default() * input.dividend_yield.unwrap_or_default(),
            Basis::Stopped | Basis::None => Decimal::ZERO,
        }
        .round_dp(MONEY_PLACES)
        .normalize();
        let dates: Vec<Date> = payments.iter().map(|p| p.date).collect();
        let cadence = cadence(&dates);
        if let (Basis::Trailing, Some(months), Some(last)) = (basis, cadence.and_then(Cadence::months), payments.last()) {
            let per_share = payments.iter().rev().find_map(|p| p.per_share).unwrap_or_default();
            let horizon = add_months(today, 12);
            calendar.extend((1..=12 / months + 1).map(|k| add_months(last.date, k * months)).filter(|d| *d > today && *d <= horizon).map(
                |date| ExpectedPayment {
                    date,
                    symbol: input.symbol.clone(),
                    per_share: per_share.normalize(),
                    amount: (per_share * holding.quantity).round_dp(MONEY_PLACES).normalize(),
                },
            ));
        }
        holdings.push(HoldingDividends {
            symbol: input.symbol.clone(),
            quantity: holding.quantity.normalize(),
            value: value.map(|v| v.normalize()),
            cost_basis: holding.cost_basis.normalize(),
            received: payments.iter().map(|p| p.amount).sum::<Decimal>().normalize(),
            ttm_income: ttm_income.normalize(),
            ttm_per_share: ttm_per_share.normalize(),
            ttm_yield: value.and_then(|v| ratio(ttm_income, v, YIELD_PLACES)),
            yield_on_cost: if held { ratio(ttm_income, holding.cost_basis, YIELD_PLACES) } else { None },
            projected_income,
            basis,
            cadence,
        });
    }
    calendar.sort_by(|a, b| (a.date, a.symbol.as_str()).cmp(&(b.date, b.symbol.as_str())));
    let mut by_year: BTreeMap<i32, Decimal> = BTreeMap::new();
    for ((year, _), amount) in &by_month {
        *by_year.entry(*year).or_default() += amount;
    }
    let held: Vec<&HoldingDividends> = holdings.iter().filter(|h| !h.quantity.is_zero()).collect();
    let priced: Vec<&&HoldingDividends> = held.iter().filter(|h| h.value.is_some()).collect();
    let ttm_yield = ratio(priced.iter().map(|h| h.ttm_income).sum(), priced.iter().filter_map(|h| h.value).sum(), YIELD_PLACES);
    let yield_on_cost = ratio(held.iter().map(|h| h.ttm_income).sum(), held.iter().map(|h| h.cost_basis).sum(), YIELD_PLACES);
    Ok(DividendReport {
        ttm_since: since,
        by_month: by_month.into_iter().map(|(k, v)| (k, v.normalize())).collect(),
        by_year: by_year.into_iter().map(|(k, v)| (k, v.normalize())).collect(),
        ttm_income: holdings.iter().map(|h| h.ttm_income).sum::<Decimal>().normalize(),
        ttm_yield,
        yield_on_cost,
        projected_income: holdings.iter().map(|h| h.projected_income).sum::<Decimal>().normalize(),
        holdings,
        calendar,
    })
}

#[cfg(test)]
mod tests;
