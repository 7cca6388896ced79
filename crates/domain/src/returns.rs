//! Returns over a period — time-weighted (TWR), money-weighted (MWR, an XIRR) and the simple
//! return on invested capital — and the periods they are asked for (1D, WTD, MTD, YTD, 1Y, 3Y,
//! 5Y, Max and a custom range). Pure arithmetic over values the caller supplies: a portfolio, one
//! holding or all of a user's portfolios alike.
//!
//! # Inputs
//!
//! - **Valuations** ([`Valuation`]): the market value at the *close* of a day, in the base
//!   currency, after every flow of that day; dates strictly increasing, values never negative.
//!   A day without a valuation (a weekend, a holiday) carries the last one forward.
//! - **Flows** ([`CashFlow`]): money crossing the portfolio's boundary, **seen from the
//!   portfolio: positive is a contribution (a deposit), negative a withdrawal**. A portfolio that
//!   tracks cash gives its deposits and withdrawals (interest, dividends and trades stay inside
//!   it). One that does not gives its trades through [`flows_from_trades`]: a BUY is a
//!   contribution of its cost including fees, a SELL a withdrawal of its proceeds net of fees, a
//!   DIVIDEND a withdrawal (it is paid out of the portfolio, so it counts as return without being
//!   in any later value), a FEE a contribution (money paid in from outside and spent), a SPLIT no
//!   flow.
//!
//! # Conventions
//!
//! - **Timing: money is at work for the whole of every day it spends in the portfolio.** A
//!   contribution counts from the *start* of its day (it earns that day's move), a withdrawal until
//!   the *end* of its day (it earned that day's move before it left). A day's growth factor is
//!   `(close value + withdrawals) / (previous close + contributions)`. One time for both would
//!   break on ordinary days: flows from trades happen during the day at the trade price while the
//!   close values the day's position, so with every flow at the start of the day the sale of a
//!   whole position leaves a base of (previous close − proceeds) — a day of −100 %, or no base at
//!   all — and with every flow at the end of the day the first purchase of a new portfolio meets a
//!   base of 0. Contributions first and withdrawals last keep the base the money actually exposed
//!   to the day, and both days exact. The money-weighted return uses the same timing: a
//!   contribution on day `d` is dated at the start of `d`, a withdrawal at the end of `d` (the
//!   start of `d + 1`). Flows between two valuations a few days apart (a weekend) belong to the
//!   sub-period ending at the later valuation, contributions at its start and withdrawals at its
//!   end: the TWR is exact when the close before each contribution and the close of each
//!   withdrawal's day are valued, which a daily series (every calendar day, prices carried over
//!   holidays) always does.
//! - **Ranges** ([`DateRange`]) are of whole days `[from, to]`: the start value is the close of the
//!   day before `from`, the end value the close of `to`, and flows dated `from..=to` count. A range
//!   is `to − from + 1` days long.
//! - **Day count**: Actual/365, as spreadsheet XIRR: an exponent's year is 365 days, leap or not.
//! - **Annualisation**: only for a range longer than one calendar year (the date one year before
//!   `to` is after the day before `from`), as `(1 + r)^(365 / days) − 1`. A 1Y range (from the
//!   same date a year earlier) never is, even across a 29 February; 3Y and 5Y always are. A shorter
//!   range reports the return of the period only: annualising a day or a month magnifies noise.
//! - **Rounding**: a rate is a fraction (`0.05` is 5 %) rounded to [`RATE_PLACES`] = 8 places
//!   (10⁻⁶ of a percentage point; `round_dp`, ties to even). Money sums are exact decimals.
//! - **Precision**: TWR, the simple return and annualisation are decimal arithmetic (sums exact,
//!   quotients and products to `Decimal`'s 28 significant digits; a power with a fractional
//!   exponent is `rust_decimal`'s, good to more than 20). Only the MWR solver works in `f64` —
//!   about 15 significant digits, ample for 8 places — and its result is returned as a `Decimal`
//!   rounded to 8 places; it may differ from an exact rate by one unit of the 8th place.
//!
//! # When a return does not exist
//!
//! Every function returns a [`ReturnsError`] rather than a number it cannot stand behind: nothing
//! invested in the range, value appearing from nothing, a flow after the last valuation of the
//! range (that valuation cannot include it), or — for the MWR — no rate that makes the flows'
//! present value zero. Nothing panics and the solver always terminates.

use crate::portfolio::Trade;
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use time::{Date, Duration, Month};

/// Decimal places of every rate (a fraction: `0.05` is 5 %).
pub const RATE_PLACES: u32 = 8;

/// The market value of what is held at the close of `date`, in the base currency, after every flow
/// of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valuation {
    pub date: Date,
    pub value: Decimal,
}

/// Money crossing the portfolio's boundary on `date`, seen from the portfolio: positive is a
/// contribution, negative a withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashFlow {
    pub date: Date,
    pub amount: Decimal,
}

/// The flow of one trade for a portfolio that does not track cash, seen from the portfolio (see the
/// module's documentation): BUY `+(q·p + fees)`, SELL `−(q·p − fees)`, DIVIDEND `−amount`, FEE
/// `+amount`, SPLIT and the cash kinds none. Exact: quantities and prices are at most 10¹² each.
pub fn trade_flow(trade: &Trade) -> Option<Decimal> {
    match *trade {
        Trade::Buy { quantity, price, fees } => Some(quantity.value() * price.value() + fees.value()),
        Trade::Sell { quantity, price, fees } => Some(fees.value() - quantity.value() * price.value()),
        Trade::Dividend { amount } => Some(-amount.value()),
        Trade::Fee { amount } => Some(amount.value()),
        Trade::Split { .. } | Trade::Deposit { .. } | Trade::Withdrawal { .. } | Trade::Interest { .. } => None,
    }
}

/// [`trade_flow`] of each dated trade, in the order given (splits give none).
pub fn flows_from_trades<'a>(trades: impl IntoIterator<Item = (Date, &'a Trade)>) -> Vec<CashFlow> {
    trades.into_iter().filter_map(|(date, trade)| trade_flow(trade).map(|amount| CashFlow { date, amount })).collect()
}

/// Why a return could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReturnsError {
    #[error("valuations must be in strictly increasing date order: {0} is not after the one before it")]
    Unordered(Date),
    #[error("the value on {0} is negative")]
    NegativeValue(Date),
    #[error("the flow on {0} is after the last valuation of the range, which cannot include it")]
    FlowAfterLastValuation(Date),
    #[error("nothing was invested in the range")]
    NothingInvested,
    #[error("value appears on {0} with nothing invested before it")]
    ValueFromNothing(Date),
    #[error("the flows are all paid in or all paid out, so no rate makes them worth zero")]
    OneSign,
    #[error("no rate makes the flows' net present value zero")]
    NoRoot,
    #[error("the rate is too large to represent")]
    OutOfRange,
}

/// A return over a range: `cumulative` over the whole range, and `annualised` when the range is
/// longer than a year (see the module's conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub cumulative: Decimal,
    pub annualised: Option<Decimal>,
}

/// Why a period could not be resolved to a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("the range ends before it starts")]
    Reversed,
    #[error("the range ends after today")]
    Future,
    #[error("the range ends before the first day of the history")]
    NoHistory,
}

/// Whole days `[from, to]`, `from <= to` (see the module's conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    from: Date,
    to: Date,
}

impl DateRange {
    pub fn new(from: Date, to: Date) -> Result<Self, PeriodError> {
        if from <= to { Ok(DateRange { from, to }) } else { Err(PeriodError::Reversed) }
    }

    /// The first day whose performance counts.
    pub fn from(&self) -> Date {
        self.from
    }

    /// The last day whose performance counts.
    pub fn to(&self) -> Date {
        self.to
    }

    /// `to − from + 1`.
    pub fn days(&self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }

    /// The day whose close is the start value: the day before `from`.
    pub fn start(&self) -> Date {
        self.from.previous_day().unwrap_or(self.from)
    }

    /// Whether returns over this range are annualised: the date one calendar year before `to` is
    /// after [`DateRange::start`].
    pub fn longer_than_a_year(&self) -> bool {
        years_before(self.to, 1) > self.start()
    }

    fn contains(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }
}

/// The same month and day `years` earlier; 29 February becomes the 28th in a common year.
fn years_before(date: Date, years: i32) -> Date {
    let year = date.year() - years;
    let day = date.day().min(date.month().length(year));
    Date::from_calendar_date(year, date.month(), day).unwrap_or(Date::MIN)
}

/// The periods a return is asked for. Named periods end today; each starts at the latest of its
/// own start and the first day of the history (a portfolio younger than the period reports what
/// it has).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// Today only: from the previous close to today's.
    OneDay,
    /// From Monday of this week (weeks start on Monday).
    WeekToDate,
    /// From the first of this month.
    MonthToDate,
    /// From 1 January of this year.
    YearToDate,
    /// From the day after the same date one year earlier (29 February: the 28th).
    OneYear,
    /// From the day after the same date three years earlier.
    ThreeYears,
    /// From the day after the same date five years earlier.
    FiveYears,
    /// From the first day of the history.
    Max,
    /// Any range ending today or before.
    Custom(DateRange),
}

impl Period {
    /// Every named period, shortest first.
    pub const NAMED: [Period; 8] = [
        Period::OneDay,
        Period::WeekToDate,
        Period::MonthToDate,
        Period::YearToDate,
        Period::OneYear,
        Period::ThreeYears,
        Period::FiveYears,
        Period::Max,
    ];

    /// `1D`, `WTD`, `MTD`, `YTD`, `1Y`, `3Y`, `5Y`, `MAX`, or `CUSTOM`.
    pub fn code(&self) -> &'static str {
        match self {
            Period::OneDay => "1D",
            Period::WeekToDate => "WTD",
            Period::MonthToDate => "MTD",
            Period::YearToDate => "YTD",
            Period::OneYear => "1Y",
            Period::ThreeYears => "3Y",
            Period::FiveYears => "5Y",
            Period::Max => "MAX",
            Period::Custom(_) => "CUSTOM",
        }
    }

    /// A named period by its code, in any case (`1d`, `ytd`, `Max`); a custom range is built with
    /// [`DateRange::new`].
    pub fn parse(code: &str) -> Option<Period> {
        let code = code.trim();
        Period::NAMED.into_iter().find(|p| p.code().eq_ignore_ascii_case(code))
    }

    /// The range of this period on `today` (a UTC date), for a history that starts on `first`
    /// (its first valuation or flow; see [`first_date`]). The start is clamped to `first`.
    pub fn resolve(self, today: Date, first: Date) -> Result<DateRange, PeriodError> {
        let after = |date: Date| date.next_day().unwrap_or(date);
        let (from, to) = match self {
            Period::OneDay => (today, today),
            Period::WeekToDate => (today - Duration::days(i64::from(today.weekday().number_days_from_monday())), today),
            Period::MonthToDate => (today.replace_day(1).unwrap_or(today), today),
            Period::YearToDate => (Date::from_calendar_date(today.year(), Month::January, 1).unwrap_or(today), today),
            Period::OneYear => (after(years_before(today, 1)), today),
            Period::ThreeYears => (after(years_before(today, 3)), today),
            Period::FiveYears => (after(years_before(today, 5)), today),
            Period::Max => (first, today),
            Period::Custom(range) => (range.from, range.to),
        };
        if to > today {
            return Err(PeriodError::Future);
        }
        if to < first {
            return Err(PeriodError::NoHistory);
        }
        DateRange::new(from.max(first), to)
    }
}

/// The first day of a history: its earliest valuation or flow.
pub fn first_date(valuations: &[Valuation], flows: &[CashFlow]) -> Option<Date> {
    valuations.iter().map(|v| v.date).chain(flows.iter().map(|f| f.date)).min()
}

/// One valuation date of a range and the range's time-weighted return up to its close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwrPoint {
    pub date: Date,
    pub cumulative: Decimal,
}

/// Everything the three methods report over one range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodReturns {
    pub range: DateRange,
    /// The close of the day before the range (0 when there is none).
    pub start_value: Decimal,
    /// The close of the range's last valuation (the start value when the range has none).
    pub end_value: Decimal,
    /// The sum of the range's positive flows.
    pub contributions: Decimal,
    /// The sum of the range's negative flows, as a positive amount.
    pub withdrawals: Decimal,
    /// `end_value − start_value − (contributions − withdrawals)`: what the market made.
    pub gain: Decimal,
    /// `None` where [`time_weighted`] says why not.
    pub twr: Option<Rate>,
    /// `None` where [`money_weighted`] says why not.
    pub mwr: Option<Rate>,
    /// `None` where [`simple_return`] says why not.
    pub simple: Option<Rate>,
}

/// One sub-period: from the previous valuation's close to `date`'s.
struct Step {
    date: Date,
    value: Decimal,
    contributions: Decimal,
    withdrawals: Decimal,
}

/// A range's values and flows, checked once for all three methods.
struct Window {
    range: DateRange,
    start_value: Decimal,
    end_value: Decimal,
    steps: Vec<Step>,
    /// The range's non-zero flows, by date.
    flows: Vec<CashFlow>,
    contributions: Decimal,
    withdrawals: Decimal,
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, ReturnsError> {
    a.checked_add(b).ok_or(ReturnsError::OutOfRange)
}

impl Window {
    fn new(valuations: &[Valuation], flows: &[CashFlow], range: DateRange) -> Result<Window, ReturnsError> {
        for (i, v) in valuations.iter().enumerate() {
            if v.value.is_sign_negative() && !v.value.is_zero() {
                return Err(ReturnsError::NegativeValue(v.date));
            }
            if i > 0 && valuations[i - 1].date >= v.date {
                return Err(ReturnsError::Unordered(v.date));
            }
        }
        let before = valuations.partition_point(|v| v.date <= range.start());
        let start_value = before.checked_sub(1).map_or(Decimal::ZERO, |i| valuations[i].value);
        let in_range = &valuations[before..valuations.partition_point(|v| v.date <= range.to)];
        let mut flows: Vec<CashFlow> = flows.iter().filter(|f| range.contains(f.date) && !f.amount.is_zero()).copied().collect();
        flows.sort_by_key(|f| f.date);
        if let Some(late) = flows.iter().find(|f| in_range.last().is_none_or(|v| f.date > v.date)) {
            return Err(ReturnsError::FlowAfterLastValuation(late.date));
        }
        let (mut steps, mut next) = (Vec::with_capacity(in_range.len()), 0);
        let (mut contributions, mut withdrawals) = (Decimal::ZERO, Decimal::ZERO);
        for v in in_range {
            let mut step = Step { date: v.date, value: v.value, contributions: Decimal::ZERO, withdrawals: Decimal::ZERO };
            while let Some(flow) = flows.get(next).filter(|f| f.date <= v.date) {
                if flow.amount.is_sign_positive() {
                    step.contributions = add(step.contributions, flow.amount)?;
                } else {
                    step.withdrawals = add(step.withdrawals, -flow.amount)?;
                }
                next += 1;
            }
            contributions = add(contributions, step.contributions)?;
            withdrawals = add(withdrawals, step.withdrawals)?;
            steps.push(step);
        }
        let end_value = in_range.last().map_or(start_value, |v| v.value);
        Ok(Window { range, start_value, end_value, steps, flows, contributions, withdrawals })
    }

    /// The growth factor of each sub-period chained, with the series of cumulative returns.
    fn linked(&self) -> Result<(Decimal, Vec<TwrPoint>), ReturnsError> {
        let (mut growth, mut previous) = (Decimal::ONE, self.start_value);
        let mut invested = !self.start_value.is_zero();
        let mut points = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let base = add(previous, step.contributions)?;
            let end = add(step.value, step.withdrawals)?;
            if base.is_zero() {
                if !end.is_zero() {
                    return Err(ReturnsError::ValueFromNothing(step.date));
                }
            } else {
                invested = true;
                growth = end.checked_div(base).and_then(|f| growth.checked_mul(f)).ok_or(ReturnsError::OutOfRange)?;
            }
            points.push(TwrPoint { date: step.date, cumulative: (growth - Decimal::ONE).round_dp(RATE_PLACES) });
            previous = step.value;
        }
        if invested { Ok((growth, points)) } else { Err(ReturnsError::NothingInvested) }
    }

    fn time_weighted(&self) -> Result<Rate, ReturnsError> {
        rate(self.range, self.linked()?.0)
    }

    fn simple(&self) -> Result<Rate, ReturnsError> {
        let invested = add(self.start_value, self.contributions)?;
        if invested.is_zero() {
            return Err(ReturnsError::NothingInvested);
        }
        let growth = add(self.end_value, self.withdrawals)?.checked_div(invested).ok_or(ReturnsError::OutOfRange)?;
        rate(self.range, growth)
    }

    fn gain(&self) -> Result<Decimal, ReturnsError> {
        let net = self.contributions - self.withdrawals;
        self.end_value.checked_sub(self.start_value).and_then(|g| g.checked_sub(net)).ok_or(ReturnsError::OutOfRange)
    }

    fn money_weighted(&self) -> Result<Rate, ReturnsError> {
        // The investor's flows, dated by the timing convention, at τ = days since the range's
        // start instant ÷ the range's days (so τ runs over [0, 1]): the start value and every
        // contribution are paid in (negative), every withdrawal and the end value received.
        let days = self.range.days() as f64;
        let to_f64 = |d: Decimal| d.to_f64().filter(|x| x.is_finite()).ok_or(ReturnsError::OutOfRange);
        let mut points = Vec::with_capacity(self.flows.len() + 2);
        points.push((0.0, -to_f64(self.start_value)?));
        for flow in &self.flows {
            // Days from the range's start instant: a contribution at the start of its day, a
            // withdrawal at its end.
            let offset = (flow.date - self.range.from).whole_days() + i64::from(flow.amount.is_sign_negative());
            points.push((offset as f64 / days, -to_f64(flow.amount)?));
        }
        points.push((1.0, to_f64(self.end_value)?));
        if !points.iter().any(|p| p.1 < 0.0) {
            return Err(ReturnsError::NothingInvested);
        }
        if !points.iter().any(|p| p.1 > 0.0) {
            // Money went in and nothing ever came back: everything was lost.
            return Ok(Rate { cumulative: -Decimal::ONE, annualised: self.range.longer_than_a_year().then(|| -Decimal::ONE) });
        }
        let g = solve_growth(&points).ok_or(ReturnsError::NoRoot)?;
        let annualised = if self.range.longer_than_a_year() { Some(from_f64((g * 365.0 / days).exp_m1())?) } else { None };
        Ok(Rate { cumulative: from_f64(g.exp_m1())?, annualised })
    }
}

/// A rate from an `f64`, rounded to [`RATE_PLACES`].
fn from_f64(x: f64) -> Result<Decimal, ReturnsError> {
    Decimal::from_f64(x).map(|d| d.round_dp(RATE_PLACES)).ok_or(ReturnsError::OutOfRange)
}

/// The [`Rate`] of a growth factor over `range`.
fn rate(range: DateRange, growth: Decimal) -> Result<Rate, ReturnsError> {
    let cumulative = (growth - Decimal::ONE).round_dp(RATE_PLACES);
    let annualised = if !range.longer_than_a_year() {
        None
    } else if growth.is_zero() {
        Some(-Decimal::ONE)
    } else {
        // A rate, not an amount: computed in f64 (exp and ln to ~15 significant digits, far
        // beyond the 8 places kept), as the XIRR solver is — a decimal power series per
        // annualised figure is what dominated the returns of a portfolio of hundreds of holdings.
        let growth = growth.to_f64().filter(|g| *g > 0.0 && g.is_finite()).ok_or(ReturnsError::OutOfRange)?;
        Some(from_f64((growth.ln() * 365.0 / range.days() as f64).exp_m1())?)
    };
    Ok(Rate { cumulative, annualised })
}

/// The time-weighted return over `range`: each sub-period's growth factor `(close + withdrawals) /
/// (previous close + contributions)` chained, minus one. A sub-period with nothing at work (a base
/// of 0) is skipped when nothing comes out of it either, and refused when value appears from
/// nothing.
pub fn time_weighted(valuations: &[Valuation], flows: &[CashFlow], range: DateRange) -> Result<Rate, ReturnsError> {
    Window::new(valuations, flows, range)?.time_weighted()
}

/// The time-weighted return from the start of `range` to each valuation in it (for a chart).
pub fn time_weighted_series(valuations: &[Valuation], flows: &[CashFlow], range: DateRange) -> Result<Vec<TwrPoint>, ReturnsError> {
    Ok(Window::new(valuations, flows, range)?.linked()?.1)
}

/// The money-weighted return over `range`: the rate at which the investor's flows — the start
/// value and the contributions paid in, the withdrawals and the end value received, dated by the
/// timing convention — have a net present value of zero (an XIRR over the range). `cumulative` is
/// that rate compounded over the range's days, `annualised` the rate itself (for ranges longer than
/// a year).
///
/// No rate: [`ReturnsError::NoRoot`] when the present value never crosses zero for period growth
/// factors between e⁻³⁰ and e³⁰ (it can happen when flows change sign more than once). When several
/// rates exist (flows changing sign more than once), the one nearest to 0 % is returned. Money paid
/// in with nothing ever coming back is −100 %; nothing paid in is [`ReturnsError::NothingInvested`].
pub fn money_weighted(valuations: &[Valuation], flows: &[CashFlow], range: DateRange) -> Result<Rate, ReturnsError> {
    Window::new(valuations, flows, range)?.money_weighted()
}

/// The simple return on invested capital over `range`:
/// `(end value − start value − (contributions − withdrawals)) / (start value + contributions)`,
/// that is the market's gain over all the money put at work, however long it was there. Nothing
/// invested is [`ReturnsError::NothingInvested`].
pub fn simple_return(valuations: &[Valuation], flows: &[CashFlow], range: DateRange) -> Result<Rate, ReturnsError> {
    Window::new(valuations, flows, range)?.simple()
}

/// All three returns over `range` and the figures behind them. An error means bad input (values
/// out of order or negative, a flow after the range's last valuation); a method that has no answer
/// for good input is `None` (call it alone for the reason).
pub fn period_returns(valuations: &[Valuation], flows: &[CashFlow], range: DateRange) -> Result<PeriodReturns, ReturnsError> {
    let window = Window::new(valuations, flows, range)?;
    Ok(PeriodReturns {
        range,
        start_value: window.start_value,
        end_value: window.end_value,
        contributions: window.contributions,
        withdrawals: window.withdrawals,
        gain: window.gain()?,
        twr: window.time_weighted().ok(),
        mwr: window.money_weighted().ok(),
        simple: window.simple().ok(),
    })
}

/// The annual internal rate of return of dated flows seen from the investor (as spreadsheet
/// XIRR: negative is paid in, positive received), with Actual/365 from the earliest date; rounded
/// to [`RATE_PLACES`]. Errors: [`ReturnsError::OneSign`] when the flows are not both paid and
/// received, [`ReturnsError::NoRoot`] when every flow is on one day or no rate makes them worth
/// zero, [`ReturnsError::OutOfRange`] when the annual rate is beyond a `Decimal` (a large gain over
/// a few days). Several rates: the one nearest to 0 %.
pub fn xirr(flows: &[(Date, Decimal)]) -> Result<Decimal, ReturnsError> {
    let flows: Vec<&(Date, Decimal)> = flows.iter().filter(|f| !f.1.is_zero()).collect();
    if !(flows.iter().any(|f| f.1.is_sign_negative()) && flows.iter().any(|f| f.1.is_sign_positive())) {
        return Err(ReturnsError::OneSign);
    }
    let first = flows.iter().map(|f| f.0).min().ok_or(ReturnsError::OneSign)?;
    let last = flows.iter().map(|f| f.0).max().ok_or(ReturnsError::OneSign)?;
    let span = (last - first).whole_days() as f64;
    if span == 0.0 {
        return Err(ReturnsError::NoRoot);
    }
    let mut points = Vec::with_capacity(flows.len());
    for (date, amount) in flows {
        let amount = amount.to_f64().filter(|x| x.is_finite()).ok_or(ReturnsError::OutOfRange)?;
        points.push(((*date - first).whole_days() as f64 / span, amount));
    }
    let g = solve_growth(&points).ok_or(ReturnsError::NoRoot)?;
    from_f64((g * 365.0 / span).exp_m1())
}

/// The solver's search interval for `g`, the log of the growth factor over τ ∈ [0, 1]: growth
/// factors from e⁻³⁰ to e³⁰ (about 10⁻¹³ to 10¹³), beyond any real portfolio's range.
const G_LIMIT: f64 = 30.0;
/// The scan's first step away from 0; each next step doubles.
const SCAN_STEP: f64 = 0.01;
/// Newton and bisection stop when a step or the bracket is this small (relative).
const TOLERANCE: f64 = 1e-14;
/// A hard cap: bisection alone halves a bracket of 30 to 10⁻¹⁴ in under 60 steps.
const MAX_ITERATIONS: usize = 200;

/// The `g` that makes `Σ aᵢ·e^(−g·τᵢ)` zero for points `(τᵢ, aᵢ)` with `τᵢ ∈ [0, 1]`, or `None`.
///
/// Working in `g = ln(growth over the whole range)` rather than in an annual rate keeps every
/// exponent within ±30, so no term overflows however short or long the range. The search scans
/// outward from `g = 0` (0 %), alternately up and down, with doubling steps to ±30, and takes the
/// first interval where the value changes sign — the root nearest to 0 % when there are several.
/// Within it, Newton's method, falling back to bisection whenever Newton would leave the shrinking
/// interval; at most [`MAX_ITERATIONS`] steps, so it always ends. A root where the value only
/// touches zero without crossing it is not found (`None`).
fn solve_growth(points: &[(f64, f64)]) -> Option<f64> {
    let scale = points.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    if !(scale > 0.0 && scale.is_finite()) {
        return None;
    }
    // The value and its derivative in g, in units of the largest flow.
    let npv = |g: f64| {
        points.iter().fold((0.0, 0.0), |(value, slope), &(tau, amount)| {
            let term = amount / scale * (-g * tau).exp();
            (value + term, slope - tau * term)
        })
    };
    let at_zero = npv(0.0).0;
    if at_zero == 0.0 {
        return Some(0.0);
    }
    let (mut up, mut down) = ((0.0, at_zero), (0.0, at_zero));
    let mut bracket = None;
    let mut step = SCAN_STEP;
    'scan: loop {
        let reach = step.min(G_LIMIT);
        for side in [1.0, -1.0] {
            let g = side * reach;
            let value = npv(g).0;
            if value == 0.0 {
                return Some(g);
            }
            let last = if side > 0.0 { &mut up } else { &mut down };
            if value.signum() != last.1.signum() {
                bracket = Some(if side > 0.0 { (last.0, last.1, g) } else { (g, value, last.0) });
                break 'scan;
            }
            *last = (g, value);
        }
        if reach >= G_LIMIT {
            break;
        }
        step *= 2.0;
    }
    let (mut lo, mut value_lo, mut hi) = bracket?;
    let mut g = 0.5 * (lo + hi);
    for _ in 0..MAX_ITERATIONS {
        let (value, slope) = npv(g);
        if value == 0.0 {
            return Some(g);
        }
        if value.signum() == value_lo.signum() {
            (lo, value_lo) = (g, value);
        } else {
            hi = g;
        }
        let newton = g - value / slope;
        let next = if newton.is_finite() && newton > lo && newton < hi { newton } else { 0.5 * (lo + hi) };
        if (next - g).abs() <= TOLERANCE * (1.0 + g.abs()) || hi - lo <= TOLERANCE {
            return Some(next);
        }
        g = next;
    }
    Some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests;
