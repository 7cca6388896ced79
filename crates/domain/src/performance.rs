//! A portfolio's history rebuilt from its ledger × the daily closes of its symbols, the returns of
//! each holding, and the comparison with a benchmark index ("the same money in the index").
//!
//! # The replay
//!
//! [`Replay`] applies the ledger's trades in trade order to one [`Holding`] per symbol (the very
//! arithmetic that maintains the stored holdings, so cost, realised P&L and dividends agree with
//! them to the unit) and moves a cursor through each symbol's closes. A day's value is Σ quantity
//! held × the symbol's price that day: its close, or the last close before it (weekends, holidays,
//! gaps), or — before the first close known — the price of its latest trade (a position bought
//! before its history starts is worth what was paid; those are counted in
//! [`DailySnapshot::unpriced_positions`]). A split scales a carried price until the next close.
//! A trade the holding refuses (a corrupt ledger: the write path never stores one) is skipped.
//!
//! Values are in the [`Valuer`]'s base currency: each position at the rate of its symbol's
//! currency (that of its latest trade) on the day, or on the valuer's fixed day for the price
//! effect (`crate::valuation` states the rules); a portfolio that tracks cash adds its balance per
//! currency (the cash legs of every trade so far, `crate::cash`). Cash ledgers (`$EUR`) hold no
//! position. Cost, realised P&L and dividends are summed as the trades state them (not converted).
//!
//! The state is plain vectors indexed by symbol (no map lookups per day) and a day's value is
//! recomputed only when a trade or a close changed it (or, with positions or cash in another
//! currency than the base at daily rates, every day), so 10 years × 500 holdings is a few
//! million additions and multiplications, not a map per day.
//!
//! # Sparse valuations
//!
//! A time-weighted return links daily growth factors, and between two flows those factors
//! telescope (`V₂/V₁ · V₃/V₂ = V₃/V₁`). So [`linking_days`] — the range's start and end, and for
//! every flow the day before it and its day — are all the valuations that [`crate::returns`] needs
//! for the exact daily-linked TWR, the MWR and the simple return. Returns over 10 years value a
//! portfolio on those days only.
//!
//! # The benchmark
//!
//! The S&P 500 is followed through one symbol, [`BENCHMARK_SYMBOL`] (SPY, an ETF that tracks it
//! and that every provider quotes; its closes are price returns, dividends not reinvested). "The
//! same money in the index" buys index units with the portfolio's start value and each
//! contribution and sells units for each withdrawal, with the timing of [`crate::returns`]: a
//! contribution at the start of its day (the previous close), a withdrawal at the end of its day
//! (that day's close). Its value on a day is units × that day's level.

use crate::Symbol;
use crate::history::PricePoint;
use crate::money::Currency;
use crate::portfolio::{DailySnapshot, Holding, Trade, bounds};
use crate::returns::{CashFlow, DateRange, PeriodReturns, Rate, Valuation, period_returns};
use crate::valuation::{LedgerTrade, Valuer};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use time::Date;

/// The symbol whose closes stand for the S&P 500 (`?benchmark=sp500`).
pub const BENCHMARK_SYMBOL: &str = "SPY";
/// [`BENCHMARK_SYMBOL`] as a symbol.
pub fn benchmark_symbol() -> Symbol {
    // A constant that parses (the tests check it): never the error branch.
    Symbol::parse(BENCHMARK_SYMBOL).unwrap_or_else(|_| unreachable!("{BENCHMARK_SYMBOL} is a symbol"))
}

/// The name of the benchmark on the wire.
pub const BENCHMARK_NAME: &str = "sp500";

/// A ledger replayed day by day over the closes of its symbols (see the module's documentation).
pub struct Replay<'a> {
    trades: &'a [LedgerTrade<'a>],
    valuer: Valuer<'a>,
    /// Whether a day's value moves with the day's FX rates alone.
    rates_move: bool,
    /// Each symbol's currency: that of its latest trade.
    currency: Vec<Currency>,
    /// The cash per currency (the cash legs so far); counted only when the valuer tracks cash.
    cash: BTreeMap<Currency, Decimal>,
    next_trade: usize,
    index: HashMap<&'a Symbol, usize>,
    holdings: Vec<Holding>,
    closes: Vec<&'a [PricePoint]>,
    cursor: Vec<usize>,
    price: Vec<Option<Decimal>>,
    /// Whether `price` came from a close (otherwise from a trade).
    closed: Vec<bool>,
    /// Symbols with a quantity held, by index.
    held: Vec<usize>,
    cost: Decimal,
    realised: Decimal,
    dividends: Decimal,
    last: Option<DailySnapshot>,
    /// The last day advanced to (the day whose rates value the snapshot).
    day: Option<Date>,
}

impl<'a> Replay<'a> {
    /// A replay of `trades` (in trade order) over `closes` (per symbol, oldest first), valued by
    /// `valuer`.
    pub fn new(trades: &'a [LedgerTrade<'a>], closes: &'a HashMap<Symbol, Vec<PricePoint>>, valuer: Valuer<'a>) -> Self {
        let mut index = HashMap::new();
        let mut holdings = Vec::new();
        let mut series = Vec::new();
        let mut currency = Vec::new();
        for t in trades.iter().filter(|t| t.symbol.cash_currency().is_none()) {
            index.entry(t.symbol).or_insert_with(|| {
                holdings.push(Holding::new(t.symbol.clone()));
                series.push(closes.get(t.symbol).map_or(&[][..], Vec::as_slice));
                currency.push(t.currency);
                holdings.len() - 1
            });
        }
        let n = holdings.len();
        let rates_move = valuer.rates_of.is_none() && trades.iter().any(|t| t.currency != valuer.base);
        Replay {
            trades,
            valuer,
            rates_move,
            currency,
            cash: BTreeMap::new(),
            next_trade: 0,
            index,
            holdings,
            closes: series,
            cursor: vec![0; n],
            price: vec![None; n],
            closed: vec![false; n],
            held: Vec::new(),
            cost: Decimal::ZERO,
            realised: Decimal::ZERO,
            dividends: Decimal::ZERO,
            last: None,
            day: None,
        }
    }

    /// Moves symbol `i`'s cursor past every close dated `through(date)` and its price to the
    /// last sane one of them; whether the price moved. A galloping search: a step of a day
    /// touches a close or two, a jump over years a few dozen (valuing a return's linking days of a
    /// long history does not walk every close).
    fn catch_up(&mut self, i: usize, through: impl Fn(Date) -> bool) -> bool {
        let (points, start) = (self.closes[i], self.cursor[i]);
        let mut step = 1;
        while start + step <= points.len() && through(points[start + step - 1].date) {
            step *= 2;
        }
        // Every close before `start + step / 2` passes; none from `start + step` on does.
        let (low, high) = (start + step / 2, (start + step).min(points.len()));
        let end = low + points[low..high].partition_point(|p| through(p.date));
        self.cursor[i] = end;
        // A price beyond the bounds (nonsense from a provider) is not a price.
        let max = Decimal::from(bounds::MAX_PRICE);
        match points[start..end].iter().rev().find(|p| !p.close.is_sign_negative() && p.close <= max) {
            Some(point) => {
                self.price[i] = Some(point.close);
                self.closed[i] = true;
                true
            }
            None => false,
        }
    }

    /// Applies every trade dated up to `day` and every close up to `day`.
    pub fn advance(&mut self, day: Date) {
        let (mut changed, trades) = (false, self.trades);
        while let Some(t) = trades.get(self.next_trade).filter(|t| t.date <= day) {
            self.next_trade += 1;
            if let Some(leg) = crate::cash::cash_leg(t.trade) {
                *self.cash.entry(t.currency).or_default() += leg;
                changed |= self.valuer.cash;
            }
            let Some(&i) = self.index.get(t.symbol) else { continue };
            self.currency[i] = t.currency;
            // The trade comes before its day's close: closes of earlier days first.
            self.catch_up(i, |d| d < t.date);
            let before = self.holdings[i].clone();
            if self.holdings[i].apply(t.trade).is_err() {
                continue;
            }
            changed = true;
            let after = &self.holdings[i];
            self.cost += after.cost_basis - before.cost_basis;
            self.realised += after.realised_pnl - before.realised_pnl;
            self.dividends += after.dividends - before.dividends;
            match *t.trade {
                Trade::Buy { price, .. } | Trade::Sell { price, .. } if !self.closed[i] => self.price[i] = Some(price.value()),
                Trade::Split { numerator, denominator } => {
                    // The carried price is per old share until the next close.
                    if let Some(p) = &mut self.price[i] {
                        *p = *p * Decimal::from(denominator) / Decimal::from(numerator);
                    }
                }
                _ => {}
            }
            let holds = !after.quantity.is_zero();
            match self.held.iter().position(|&h| h == i) {
                Some(at) if !holds => {
                    self.held.swap_remove(at);
                }
                None if holds => self.held.push(i),
                _ => {}
            }
        }
        let held = std::mem::take(&mut self.held);
        for &i in &held {
            changed |= self.catch_up(i, |d| d <= day);
        }
        self.held = held;
        if changed || self.rates_move {
            self.last = None;
        }
        self.day = Some(day);
    }

    /// The snapshot at the close of the last day advanced to.
    pub fn snapshot(&mut self) -> DailySnapshot {
        if let Some(last) = &self.last {
            return last.clone();
        }
        let (mut value, mut unpriced) = (Decimal::ZERO, 0);
        let day = self.day.unwrap_or(Date::MIN);
        let rate = |currency: Currency| if currency == self.valuer.base { Decimal::ONE } else { self.valuer.rate(currency, day) };
        for &i in &self.held {
            if let Some(price) = self.price[i] {
                value += price * self.holdings[i].quantity * rate(self.currency[i]);
            }
            if !self.closed[i] {
                unpriced += 1;
            }
        }
        if self.valuer.cash {
            value += self.cash.iter().map(|(currency, balance)| *balance * rate(*currency)).sum::<Decimal>();
        }
        let snapshot = DailySnapshot {
            value: value.normalize(),
            cost: self.cost.normalize(),
            realised_pnl: self.realised.normalize(),
            dividends: self.dividends.normalize(),
            unpriced_positions: unpriced,
        };
        self.last = Some(snapshot.clone());
        snapshot
    }
}

/// The snapshot of every day from `from` to `to` (inclusive): trades before `from` set its
/// starting quantities; `closes` need cover only a week before `from` onwards.
pub fn daily_history(
    trades: &[LedgerTrade<'_>],
    closes: &HashMap<Symbol, Vec<PricePoint>>,
    valuer: &Valuer<'_>,
    from: Date,
    to: Date,
) -> Vec<(Date, DailySnapshot)> {
    let mut replay = Replay::new(trades, closes, *valuer);
    let mut out = Vec::with_capacity(usize::try_from((to - from).whole_days() + 1).unwrap_or(0));
    let mut day = from;
    while day <= to {
        replay.advance(day);
        out.push((day, replay.snapshot()));
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

/// The values on `days` (increasing) only: what a return needs (see [`linking_days`]).
pub fn values_on(
    trades: &[LedgerTrade<'_>],
    closes: &HashMap<Symbol, Vec<PricePoint>>,
    valuer: &Valuer<'_>,
    days: &[Date],
) -> Vec<Valuation> {
    let mut replay = Replay::new(trades, closes, *valuer);
    days.iter()
        .map(|&date| {
            replay.advance(date);
            Valuation { date, value: replay.snapshot().value }
        })
        .collect()
}

/// The days a return over `range` must be valued on for exact daily linking: the range's start
/// (the close before it) and end, and for every flow in the range the day before it and its day.
pub fn linking_days(range: DateRange, flows: &[CashFlow]) -> Vec<Date> {
    let mut days = BTreeSet::from([range.start(), range.to()]);
    for flow in flows.iter().filter(|f| f.date >= range.from() && f.date <= range.to()) {
        days.insert(flow.date);
        days.insert(flow.date.previous_day().unwrap_or(flow.date).max(range.start()));
    }
    days.into_iter().collect()
}

/// The returns of one holding over a range: its flows are its own trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldingReturns {
    pub symbol: Symbol,
    pub returns: PeriodReturns,
}

/// The returns of every holding held at some time in `range` (a start value or a flow in it),
/// by symbol, in `valuer`'s base currency. A holding's flows are its own trades (cash is not
/// tracked per holding). Each holding is valued on its own [`linking_days`] only.
pub fn holding_returns(
    trades: &[LedgerTrade<'_>],
    closes: &HashMap<Symbol, Vec<PricePoint>>,
    valuer: &Valuer<'_>,
    range: DateRange,
) -> Vec<HoldingReturns> {
    let own_valuer = Valuer { cash: false, ..*valuer };
    let mut by_symbol: Vec<(&Symbol, Vec<LedgerTrade<'_>>)> = Vec::new();
    let mut index: HashMap<&Symbol, usize> = HashMap::new();
    for t in trades.iter().filter(|t| t.date <= range.to() && t.symbol.cash_currency().is_none()) {
        let at = *index.entry(t.symbol).or_insert_with(|| {
            by_symbol.push((t.symbol, Vec::new()));
            by_symbol.len() - 1
        });
        by_symbol[at].1.push(*t);
    }
    by_symbol.sort_by(|a, b| a.0.cmp(b.0));
    by_symbol
        .into_iter()
        .filter_map(|(symbol, own)| {
            let flows = crate::valuation::flows(&own, &own_valuer, range.from(), range.to());
            let values = values_on(&own, closes, &own_valuer, &linking_days(range, &flows));
            let returns = period_returns(&values, &flows, range).ok()?;
            let active = !returns.start_value.is_zero() || !flows.is_empty();
            active.then(|| HoldingReturns { symbol: symbol.clone(), returns })
        })
        .collect()
}

/// The level of an index on `day`: its last close on or before it.
pub fn level_on(levels: &[PricePoint], day: Date) -> Option<Decimal> {
    let at = levels.partition_point(|p| p.date <= day);
    at.checked_sub(1).map(|i| levels[i].close).filter(|l| *l > Decimal::ZERO)
}

/// "The same money in the index" on each of `days` (increasing, the first being the start):
/// `start_value` buys units at the first day's level, each contribution at the level of the day
/// before it, each withdrawal sells at its day's level. `None` when the index has no level for a
/// day it needs (its history starts later).
pub fn same_money(levels: &[PricePoint], start_value: Decimal, flows: &[CashFlow], days: &[Date]) -> Option<Vec<Valuation>> {
    let first = *days.first()?;
    let mut units = if start_value.is_zero() { Decimal::ZERO } else { start_value / level_on(levels, first)? };
    let mut flows = flows.iter().filter(|f| f.date > first && !f.amount.is_zero()).peekable();
    let mut out = Vec::with_capacity(days.len());
    for &day in days {
        while let Some(flow) = flows.next_if(|f| f.date <= day) {
            let at = if flow.amount.is_sign_positive() { flow.date.previous_day()? } else { flow.date };
            units += flow.amount / level_on(levels, at)?;
        }
        out.push(Valuation { date: day, value: (units * level_on(levels, day)?).round_dp(8) });
    }
    Some(out)
}

/// The benchmark over a range next to the portfolio's returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchmarkReturns {
    /// The index's own return (price return, no flows).
    pub index: Option<Rate>,
    /// The same money in the index: its end value, gain and money-weighted return.
    pub same_money: Option<PeriodReturns>,
    /// Portfolio TWR − index return.
    pub excess_time_weighted: Option<Rate>,
    /// Portfolio MWR − the same money's MWR.
    pub excess_money_weighted: Option<Rate>,
}

fn excess(a: Option<Rate>, b: Option<Rate>) -> Option<Rate> {
    let (a, b) = (a?, b?);
    Some(Rate { cumulative: a.cumulative - b.cumulative, annualised: a.annualised.zip(b.annualised).map(|(x, y)| x - y) })
}

/// The benchmark's figures for a portfolio whose `returns` over their range came from `flows`.
pub fn benchmark_returns(levels: &[PricePoint], returns: &PeriodReturns, flows: &[CashFlow]) -> BenchmarkReturns {
    let range = returns.range;
    let index = level_on(levels, range.start()).zip(level_on(levels, range.to())).and_then(|(start, end)| {
        let values = [Valuation { date: range.start(), value: start }, Valuation { date: range.to(), value: end }];
        period_returns(&values, &[], range).ok()?.twr
    });
    let same = same_money(levels, returns.start_value, flows, &linking_days(range, flows))
        .and_then(|values| period_returns(&values, flows, range).ok());
    BenchmarkReturns {
        index,
        excess_time_weighted: excess(returns.twr, index),
        excess_money_weighted: excess(returns.mwr, same.as_ref().and_then(|s| s.mwr)),
        same_money: same,
    }
}

#[cfg(test)]
mod tests;
