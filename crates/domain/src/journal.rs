//! The signals journal: a user's trading signals, the return of a closed one, and the statistics
//! kept per symbol and rolled up across symbols.
//!
//! Rules (all exact decimals):
//! - a signal is opened LONG or SHORT at an entry price (> 0) with a confidence from 0 to 100;
//! - closing it at an exit price gives `returnPct`: LONG (exit − entry) / entry × 100, SHORT
//!   (entry − exit) / entry × 100, rounded to 4 decimal places (midpoint away from zero). The
//!   rounded value is what is stored and summed, so statistics are reproducible from the signals;
//! - the outcome is WIN (> 0), LOSS (< 0) or BREAKEVEN (= 0);
//! - statistics are kept per symbol ([`SymbolStats`]): counts by status and outcome, the sum of
//!   returns and the sorted list of returns (for an exact median). Every write applies or reverts
//!   one [`Contribution`]; reverting what was applied gives back the same statistics;
//! - [`MAX_CLOSED_PER_SYMBOL`] bounds the list so the stored statistics item stays well under
//!   DynamoDB's 400 KB item limit.

use crate::money::{Amount, MoneyError};
use crate::symbol::Symbol;
use rust_decimal::{Decimal, RoundingStrategy};
use std::ops::Range;

/// Closed signals one symbol may have. A stored return takes ≈ 5 bytes typically and at most ≈ 17
/// (27 significant digits, since prices are ≤ 10^12 with ≤ 8 places) in the statistics item, so
/// 20,000 of them stay under ≈ 340 KB of DynamoDB's 400 KB per item.
pub const MAX_CLOSED_PER_SYMBOL: u64 = 20_000;
/// Longest `source`, in characters.
pub const MAX_SOURCE_CHARS: usize = 64;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Decimal places of a return, a win rate and an average.
pub const RETURN_DP: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("one of LONG, SHORT")]
    Direction,
    #[error("one of OPEN, CLOSED")]
    Status,
    #[error("a whole number from 0 to 100")]
    Confidence,
    #[error("{0}")]
    Price(MoneyError),
    #[error("must be greater than zero")]
    ZeroPrice,
    #[error("1 to {MAX_SOURCE_CHARS} printable characters")]
    Source,
    #[error("at most {MAX_NOTE_CHARS} characters, no control characters other than line breaks and tabs")]
    Note,
    #[error("not a signal id")]
    Id,
    #[error("the return does not fit a decimal")]
    Overflow,
    #[error(
        "{symbol} already has {MAX_CLOSED_PER_SYMBOL} closed signals, the most the statistics hold; delete closed signals of {symbol} before closing more"
    )]
    TooManyClosed { symbol: String },
    #[error("the statistics do not count this signal")]
    NotCounted,
}

/// Which way a signal bets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Long,
    Short,
}

impl Direction {
    pub fn parse(text: &str) -> Result<Self, JournalError> {
        match text {
            "LONG" => Ok(Direction::Long),
            "SHORT" => Ok(Direction::Short),
            _ => Err(JournalError::Direction),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Long => "LONG",
            Direction::Short => "SHORT",
        }
    }
}

/// Whether a signal is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn parse(text: &str) -> Result<Self, JournalError> {
        match text {
            "OPEN" => Ok(Status::Open),
            "CLOSED" => Ok(Status::Closed),
            _ => Err(JournalError::Status),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "OPEN",
            Status::Closed => "CLOSED",
        }
    }
}

/// How a closed signal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Win,
    Loss,
    Breakeven,
}

impl Outcome {
    pub fn of(return_pct: Decimal) -> Self {
        if return_pct > Decimal::ZERO {
            Outcome::Win
        } else if return_pct < Decimal::ZERO {
            Outcome::Loss
        } else {
            Outcome::Breakeven
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Win => "WIN",
            Outcome::Loss => "LOSS",
            Outcome::Breakeven => "BREAKEVEN",
        }
    }
}

/// A confidence from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Confidence(u8);

impl Confidence {
    pub fn new(value: i64) -> Result<Self, JournalError> {
        u8::try_from(value).ok().filter(|v| *v <= 100).map(Confidence).ok_or(JournalError::Confidence)
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

/// A strictly positive price: a decimal string, at most 8 decimal places, at most a trillion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(Decimal);

impl Price {
    pub fn parse(text: &str) -> Result<Self, JournalError> {
        let amount = Amount::parse(text).map_err(JournalError::Price)?;
        if amount.value().is_zero() {
            return Err(JournalError::ZeroPrice);
        }
        Ok(Price(amount.value()))
    }

    /// A stored price (already parsed once): only positivity is checked again.
    pub fn new(value: Decimal) -> Result<Self, JournalError> {
        if value > Decimal::ZERO { Ok(Price(value)) } else { Err(JournalError::ZeroPrice) }
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

/// Where a signal came from, e.g. `rsi-oversold`: 1 to 64 printable characters after trimming.
pub fn source(text: &str) -> Result<String, JournalError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_SOURCE_CHARS || trimmed.chars().any(char::is_control) {
        return Err(JournalError::Source);
    }
    Ok(trimmed.to_owned())
}

/// A free-text note: at most 500 characters, line breaks and tabs allowed; empty means none.
pub fn note(text: &str) -> Result<Option<String>, JournalError> {
    if text.chars().count() > MAX_NOTE_CHARS || text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(JournalError::Note);
    }
    Ok((!text.trim().is_empty()).then(|| text.to_owned()))
}

/// A signal id: 13-digit epoch milliseconds of its creation, `-`, 12 lower-case hex digits. Ids
/// sort by creation time, so "newest first" is descending id order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignalId(String);

impl SignalId {
    /// A new id at `epoch_millis` with the first 12 hex digits of `random_hex`.
    pub fn new(epoch_millis: i64, random_hex: &str) -> Result<Self, JournalError> {
        crate::text::time_ordered_id(epoch_millis, random_hex).map(SignalId).ok_or(JournalError::Id)
    }

    pub fn parse(text: &str) -> Result<Self, JournalError> {
        if crate::text::is_time_ordered_id(text) { Ok(SignalId(text.to_owned())) } else { Err(JournalError::Id) }
    }
}

crate::ids::text_id!(SignalId);

fn round(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(RETURN_DP, RoundingStrategy::MidpointAwayFromZero).normalize()
}

/// The return of a closed signal in percent, rounded to 4 decimal places.
pub fn return_pct(direction: Direction, entry: Price, exit: Price) -> Result<Decimal, JournalError> {
    let gain = match direction {
        Direction::Long => exit.0 - entry.0,
        Direction::Short => entry.0 - exit.0,
    };
    let ratio = gain.checked_div(entry.0).ok_or(JournalError::Overflow)?;
    ratio.checked_mul(Decimal::ONE_HUNDRED).map(round).ok_or(JournalError::Overflow)
}

/// What one signal adds to its symbol's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contribution {
    Open,
    Closed(Decimal),
}

/// One symbol's statistics, as stored (per user and symbol) and changed by every write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SymbolStats {
    pub open: u64,
    pub closed: u64,
    pub wins: u64,
    pub losses: u64,
    pub breakeven: u64,
    pub sum_returns: Decimal,
    /// Returns of the closed signals, ascending.
    pub returns: Vec<Decimal>,
}

impl SymbolStats {
    pub fn total(&self) -> u64 {
        self.open + self.closed
    }

    fn outcome_count(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Win => &mut self.wins,
            Outcome::Loss => &mut self.losses,
            Outcome::Breakeven => &mut self.breakeven,
        }
    }

    /// Counts a signal. A closed one beyond [`MAX_CLOSED_PER_SYMBOL`] is refused.
    pub fn add(&mut self, symbol: &Symbol, contribution: Contribution) -> Result<(), JournalError> {
        match contribution {
            Contribution::Open => self.open += 1,
            Contribution::Closed(r) => {
                if self.closed >= MAX_CLOSED_PER_SYMBOL {
                    return Err(JournalError::TooManyClosed { symbol: symbol.to_string() });
                }
                self.closed += 1;
                *self.outcome_count(Outcome::of(r)) += 1;
                self.sum_returns += r;
                let at = self.returns.partition_point(|x| *x < r);
                self.returns.insert(at, r);
            }
        }
        Ok(())
    }

    /// Removes a counted signal; [`JournalError::NotCounted`] (and no change) when it is not.
    pub fn remove(&mut self, contribution: Contribution) -> Result<(), JournalError> {
        match contribution {
            Contribution::Open => self.open = self.open.checked_sub(1).ok_or(JournalError::NotCounted)?,
            Contribution::Closed(r) => {
                let at = self.returns.binary_search(&r).map_err(|_| JournalError::NotCounted)?;
                let outcome = *self.outcome_count(Outcome::of(r));
                if self.closed == 0 || outcome == 0 {
                    return Err(JournalError::NotCounted);
                }
                self.returns.remove(at);
                self.closed -= 1;
                *self.outcome_count(Outcome::of(r)) -= 1;
                self.sum_returns -= r;
            }
        }
        Ok(())
    }

    /// An open signal closes with return `r`: both steps or neither.
    pub fn close(&mut self, symbol: &Symbol, r: Decimal) -> Result<(), JournalError> {
        let mut next = self.clone();
        next.remove(Contribution::Open)?;
        next.add(symbol, Contribution::Closed(r))?;
        *self = next;
        Ok(())
    }
}

/// Statistics as answered: counts, and over the closed signals the win rate, average and median
/// return (`None` when nothing is closed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub total: u64,
    pub open: u64,
    pub closed: u64,
    pub wins: u64,
    pub losses: u64,
    pub breakeven: u64,
    /// wins / closed, 4 decimal places.
    pub win_rate: Option<Decimal>,
    /// Sum of returns / closed, 4 decimal places.
    pub average_return_pct: Option<Decimal>,
    /// The middle return, or the mean of the two middle ones (exact).
    pub median_return_pct: Option<Decimal>,
}

/// The median of an ascending slice: the middle value, or the mean of the two middle ones.
pub fn median(sorted: &[Decimal]) -> Option<Decimal> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(((sorted[n / 2 - 1] + sorted[n / 2]) / Decimal::TWO).normalize()),
    }
}

/// Merges ascending lists into one ascending list: a k-way merge, O(N log k) for N values in k
/// lists (one list per symbol).
pub fn merge_sorted(lists: &[&[Decimal]]) -> Vec<Decimal> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut merged = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
    // (next value, list, position in the list), smallest first.
    let mut heads: BinaryHeap<Reverse<(Decimal, usize, usize)>> =
        lists.iter().enumerate().filter_map(|(i, l)| l.first().map(|v| Reverse((*v, i, 0)))).collect();
    while let Some(Reverse((value, list, at))) = heads.pop() {
        merged.push(value);
        if let Some(next) = lists[list].get(at + 1) {
            heads.push(Reverse((*next, list, at + 1)));
        }
    }
    merged
}

fn summarise(counts: &SymbolStats, sorted_returns: &[Decimal]) -> Summary {
    let closed = Decimal::from(counts.closed);
    let of_closed = |x: Decimal| (counts.closed > 0).then(|| round(x / closed));
    Summary {
        total: counts.total(),
        open: counts.open,
        closed: counts.closed,
        wins: counts.wins,
        losses: counts.losses,
        breakeven: counts.breakeven,
        win_rate: of_closed(Decimal::from(counts.wins)),
        average_return_pct: of_closed(counts.sum_returns),
        median_return_pct: median(sorted_returns),
    }
}

impl SymbolStats {
    pub fn summary(&self) -> Summary {
        summarise(self, &self.returns)
    }
}

/// The statistics of every symbol rolled up: the overall summary (the global median is the exact
/// median of the merged per-symbol lists) and one summary per symbol that has signals, sorted by
/// symbol.
pub fn roll_up(per_symbol: &[(Symbol, SymbolStats)]) -> (Summary, Vec<(Symbol, Summary)>) {
    let mut all = SymbolStats::default();
    for (_, s) in per_symbol {
        all.open += s.open;
        all.closed += s.closed;
        all.wins += s.wins;
        all.losses += s.losses;
        all.breakeven += s.breakeven;
        all.sum_returns += s.sum_returns;
    }
    let lists: Vec<&[Decimal]> = per_symbol.iter().map(|(_, s)| s.returns.as_slice()).collect();
    let merged = merge_sorted(&lists);
    let mut symbols: Vec<(Symbol, Summary)> =
        per_symbol.iter().filter(|(_, s)| s.total() > 0).map(|(sym, s)| (sym.clone(), s.summary())).collect();
    symbols.sort_by(|a, b| a.0.cmp(&b.0));
    (summarise(&all, &merged), symbols)
}

/// Splits a batch of signals (given by symbol, in order) into consecutive chunks for
/// transactions of at most `max_items` items, where a chunk's items are its signals plus one
/// statistics item per distinct symbol in it, and its estimated size (`signal_bytes` per signal
/// plus `stats_bytes(symbol)` per distinct symbol) stays within `max_bytes`.
pub fn plan_chunks(
    symbols: &[Symbol],
    max_items: usize,
    max_bytes: usize,
    signal_bytes: usize,
    stats_bytes: impl Fn(&Symbol) -> usize,
) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut distinct, mut bytes): (usize, Vec<&Symbol>, usize) = (0, Vec::new(), 0);
    for (i, symbol) in symbols.iter().enumerate() {
        let new_symbol = !distinct.contains(&symbol);
        let added = signal_bytes + if new_symbol { stats_bytes(symbol) } else { 0 };
        let items = (i - start) + 1 + distinct.len() + usize::from(new_symbol);
        if i > start && (items > max_items || bytes + added > max_bytes) {
            chunks.push(start..i);
            (start, bytes) = (i, 0);
            distinct.clear();
        }
        if !distinct.contains(&symbol) {
            distinct.push(symbol);
            bytes += stats_bytes(symbol);
        }
        bytes += signal_bytes;
    }
    if start < symbols.len() {
        chunks.push(start..symbols.len());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn price(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    fn sym(text: &str) -> Symbol {
        Symbol::parse(text).unwrap()
    }

    #[test]
    fn returns_of_long_and_short_signals_rounded_to_four_places() {
        assert_eq!(return_pct(Direction::Long, price("100"), price("110")).unwrap(), d("10"));
        assert_eq!(return_pct(Direction::Short, price("100"), price("110")).unwrap(), d("-10"));
        assert_eq!(return_pct(Direction::Short, price("50"), price("40")).unwrap(), d("20"));
        // 1/3 of a percent: 0.33333… → 0.3333; 2/3 → 0.6667.
        assert_eq!(return_pct(Direction::Long, price("300"), price("301")).unwrap(), d("0.3333"));
        assert_eq!(return_pct(Direction::Long, price("300"), price("302")).unwrap(), d("0.6667"));
        // Midpoint away from zero: 0.00005 % → 0.0001, −0.00005 % → −0.0001.
        assert_eq!(return_pct(Direction::Long, price("200"), price("200.0001")).unwrap(), d("0.0001"));
        assert_eq!(return_pct(Direction::Short, price("200"), price("200.0001")).unwrap(), d("-0.0001"));
        assert_eq!(return_pct(Direction::Long, price("7"), price("7")).unwrap(), Decimal::ZERO);
        assert_eq!(Outcome::of(d("0.0001")), Outcome::Win);
        assert_eq!(Outcome::of(d("-0.0001")), Outcome::Loss);
        assert_eq!(Outcome::of(Decimal::ZERO), Outcome::Breakeven);
    }

    #[test]
    fn inputs_are_validated() {
        assert_eq!(Price::parse("0"), Err(JournalError::ZeroPrice));
        assert!(matches!(Price::parse("-1"), Err(JournalError::Price(_))));
        assert!(matches!(Price::parse("1e3"), Err(JournalError::Price(_))));
        assert_eq!(Confidence::new(101), Err(JournalError::Confidence));
        assert_eq!(Confidence::new(-1), Err(JournalError::Confidence));
        assert_eq!(Confidence::new(100).unwrap().value(), 100);
        assert_eq!(Direction::parse("long"), Err(JournalError::Direction));
        assert_eq!(source(" rsi-oversold ").unwrap(), "rsi-oversold");
        assert_eq!(source(""), Err(JournalError::Source));
        assert_eq!(source(&"x".repeat(65)), Err(JournalError::Source));
        assert_eq!(source("a\u{7}b"), Err(JournalError::Source));
        assert_eq!(note("line one\nline two").unwrap().as_deref(), Some("line one\nline two"));
        assert_eq!(note("").unwrap(), None);
        assert_eq!(note(&"é".repeat(501)), Err(JournalError::Note));
        assert_eq!(note(&"é".repeat(500)).unwrap().map(|n| n.chars().count()), Some(500));
    }

    #[test]
    fn ids_sort_by_creation_and_refuse_other_shapes() {
        let early = SignalId::new(1_795_642_200_000, "0123456789abcdef").unwrap();
        let late = SignalId::new(1_795_642_200_001, "000000000000").unwrap();
        assert_eq!(early.as_str(), "1795642200000-0123456789ab");
        assert!(early < late);
        assert_eq!(SignalId::parse(early.as_str()).unwrap(), early);
        for bad in [
            "",
            "1795642200000_0123456789ab",
            "17956422000é-0123456789ab",
            "1795642200000-0123456789AB",
            "179564220000-0123456789abc",
            "../../etc",
            "1795642200000-0123456789a",
        ] {
            assert_eq!(SignalId::parse(bad), Err(JournalError::Id), "{bad}");
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[d("-3")]), Some(d("-3")));
        assert_eq!(median(&[d("-3"), d("1"), d("10")]), Some(d("1")));
        // (1 + 2.0001) / 2 = 1.50005, exactly.
        assert_eq!(median(&[d("-3"), d("1"), d("2.0001"), d("10")]), Some(d("1.50005")));
        assert_eq!(
            merge_sorted(&[&[d("1"), d("4")], &[d("-2"), d("3"), d("9")], &[], &[d("1"), d("10")]]),
            vec![d("-2"), d("1"), d("1"), d("3"), d("4"), d("9"), d("10")]
        );
    }

    #[test]
    fn reverting_what_was_applied_gives_the_same_statistics() {
        let aapl = sym("AAPL");
        let mut stats = SymbolStats::default();
        for c in [Contribution::Open, Contribution::Closed(d("2.5")), Contribution::Closed(d("-1")), Contribution::Closed(d("0"))] {
            stats.add(&aapl, c).unwrap();
        }
        let before = stats.clone();
        for c in [Contribution::Open, Contribution::Closed(d("7.1234")), Contribution::Closed(d("-1"))] {
            stats.add(&aapl, c).unwrap();
            assert_ne!(stats, before);
            stats.remove(c).unwrap();
            assert_eq!(stats, before, "{c:?}");
        }
        stats.close(&aapl, d("4")).unwrap();
        assert_eq!((stats.open, stats.closed, stats.wins), (0, 4, 2));
        assert_eq!(stats.returns, vec![d("-1"), d("0"), d("2.5"), d("4")]);
        // Removing what is not counted fails and changes nothing.
        let snapshot = stats.clone();
        assert_eq!(stats.remove(Contribution::Open), Err(JournalError::NotCounted));
        assert_eq!(stats.remove(Contribution::Closed(d("99"))), Err(JournalError::NotCounted));
        assert_eq!(stats.close(&aapl, d("1")), Err(JournalError::NotCounted));
        assert_eq!(stats, snapshot);
    }

    #[test]
    fn closed_signals_per_symbol_are_bounded() {
        let x = sym("X");
        let mut stats = SymbolStats { open: 1, closed: MAX_CLOSED_PER_SYMBOL, ..SymbolStats::default() };
        assert_eq!(stats.close(&x, d("1")), Err(JournalError::TooManyClosed { symbol: "X".into() }));
        assert_eq!(stats.open, 1);
        assert!(stats.add(&x, Contribution::Open).is_ok());
    }

    #[test]
    fn roll_up_by_hand() {
        // AAPL: closed 10, -5, 0 and 1 open; MSFT: closed 3, 20; NVDA: nothing left.
        let mut aapl = SymbolStats::default();
        let mut msft = SymbolStats::default();
        for r in ["10", "-5", "0"] {
            aapl.add(&sym("AAPL"), Contribution::Closed(d(r))).unwrap();
        }
        aapl.add(&sym("AAPL"), Contribution::Open).unwrap();
        for r in ["3", "20"] {
            msft.add(&sym("MSFT"), Contribution::Closed(d(r))).unwrap();
        }
        let (all, by_symbol) = roll_up(&[(sym("MSFT"), msft), (sym("NVDA"), SymbolStats::default()), (sym("AAPL"), aapl)]);
        assert_eq!((all.total, all.open, all.closed, all.wins, all.losses, all.breakeven), (6, 1, 5, 3, 1, 1));
        assert_eq!(all.win_rate, Some(d("0.6")));
        // (10 − 5 + 0 + 3 + 20) / 5 = 5.6; sorted −5, 0, 3, 10, 20 → median 3.
        assert_eq!(all.average_return_pct, Some(d("5.6")));
        assert_eq!(all.median_return_pct, Some(d("3")));
        assert_eq!(by_symbol.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["AAPL", "MSFT"]);
        let aapl = &by_symbol[0].1;
        // 5 / 3 = 1.66666… → 1.6667; 1 / 3 → 0.3333.
        assert_eq!((aapl.average_return_pct, aapl.win_rate, aapl.median_return_pct), (Some(d("1.6667")), Some(d("0.3333")), Some(d("0"))));
        assert_eq!(by_symbol[1].1.median_return_pct, Some(d("11.5")));
        let (empty, none) = roll_up(&[]);
        assert_eq!((empty.win_rate, empty.average_return_pct, empty.median_return_pct, none.len()), (None, None, None, 0));
    }

    #[test]
    fn chunks_count_the_statistics_items_they_touch() {
        let symbols: Vec<Symbol> = (0..100).map(|i| sym(["A", "B", "C", "D", "E"][i % 5])).collect();
        let chunks = plan_chunks(&symbols, 100, usize::MAX, 1, |_| 1);
        // 95 signals + 5 statistics items fill the first transaction; 5 signals + 5 the second.
        assert_eq!(chunks, vec![0..95, 95..100]);
        let one = vec![sym("A"); 100];
        assert_eq!(plan_chunks(&one, 100, usize::MAX, 1, |_| 1), vec![0..99, 99..100]);
        // A byte budget splits earlier: 1 KB per signal, 300 KB per statistics item, 1 MB at most.
        let chunks = plan_chunks(&symbols[..10], 100, 1_000_000, 1_000, |_| 300_000);
        assert_eq!(chunks, vec![0..3, 3..6, 6..9, 9..10]);
        assert!(plan_chunks(&[], 100, 10, 1, |_| 1).is_empty());
    }
}
