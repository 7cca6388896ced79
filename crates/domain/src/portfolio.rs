//! Portfolio maths: holdings derived from transactions with the average-cost method, and the
//! valuation, allocation and rule-based analysis of a portfolio.
//!
//! Rules (all exact decimals):
//! - BUY q @ p with fees f: quantity += q; cost basis += q·p + f.
//! - SELL q @ p with fees f: refused when q > quantity; the cost removed is cost basis · q / quantity
//!   (all of it when selling everything); realised P&L += (q·p − f) − cost removed.
//! - DIVIDEND a: dividends += a (income, part of the total return, not of the cost basis).
//! - FEE f (a charge on the position): fees += f; realised P&L −= f.
//! - SPLIT n:d: quantity ·= n/d; the cost basis is unchanged, so the average cost scales by d/n.
//! - DEPOSIT, WITHDRAWAL, INTEREST: cash, not a position; they belong to a cash ledger
//!   ([`Symbol::cash`]) and change no holding (their effect is on the cash balance: `crate::cash`).
//!
//! Every step is checked arithmetic within the documented [`bounds`]: a transaction that would
//! take a holding outside them is refused (the API answers 422), so no input can overflow a
//! `Decimal` here or later (valuation, snapshots).

use crate::money::{Amount, Quantity};
use crate::symbol::Symbol;
use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trade {
    Buy {
        quantity: Quantity,
        price: Amount,
        fees: Amount,
    },
    Sell {
        quantity: Quantity,
        price: Amount,
        fees: Amount,
    },
    Dividend {
        amount: Amount,
    },
    Fee {
        amount: Amount,
    },
    /// `numerator` new shares for every `denominator` old ones (2:1 doubles the quantity).
    Split {
        numerator: u32,
        denominator: u32,
    },
    /// Money paid into the portfolio's cash from outside.
    Deposit {
        amount: Amount,
    },
    /// Money taken out of the portfolio's cash.
    Withdrawal {
        amount: Amount,
    },
    /// Interest paid on the portfolio's cash (income, like a dividend).
    Interest {
        amount: Amount,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortfolioError {
    #[error("cannot sell {wanted} shares of {symbol}: {held} held")]
    InsufficientQuantity { symbol: String, wanted: Decimal, held: Decimal },
    #[error("a split ratio needs two positive whole numbers")]
    BadSplit,
    #[error("{0}")]
    OutOfBounds(Bound),
}

/// Which documented bound a transaction would cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Bound {
    #[error("the shares held would exceed {} (at most 10^12 after splits)", bounds::MAX_QUANTITY)]
    Quantity,
    #[error("the trade's value (quantity × price) would exceed {}", bounds::MAX_VALUE)]
    TradeValue,
    #[error("the position's cost basis, fees, dividends or realised P&L would exceed {} in magnitude", bounds::MAX_VALUE)]
    PositionValue,
}

/// The bounds of a holding. Chosen so that the largest product the average-cost method forms
/// (cost basis × quantity sold ≤ 10^15 · 10^12) stays 50 times inside `Decimal`'s range
/// (≈ 7.9 · 10^28), far above any real retail position.
pub mod bounds {
    /// Shares held in one position, after any number of splits.
    pub const MAX_QUANTITY: i64 = 1_000_000_000_000;
    /// One trade's value (quantity × price), and the magnitude of a position's cost basis, fees,
    /// dividends and realised P&L.
    pub const MAX_VALUE: i64 = 1_000_000_000_000_000;
    /// The largest market price per share used in a valuation (the dearest listed share trades
    /// below 10^6).
    pub const MAX_PRICE: i64 = 1_000_000_000;
}

fn within(value: Option<Decimal>, limit: i64, bound: Bound) -> Result<Decimal, PortfolioError> {
    match value {
        Some(v) if v.abs() <= Decimal::from(limit) => Ok(v),
        _ => Err(PortfolioError::OutOfBounds(bound)),
    }
}

fn quantity(value: Option<Decimal>) -> Result<Decimal, PortfolioError> {
    within(value, bounds::MAX_QUANTITY, Bound::Quantity)
}

fn money(value: Option<Decimal>) -> Result<Decimal, PortfolioError> {
    within(value, bounds::MAX_VALUE, Bound::PositionValue)
}

fn trade_value(quantity: Quantity, price: Amount) -> Result<Decimal, PortfolioError> {
    within(quantity.value().checked_mul(price.value()), bounds::MAX_VALUE, Bound::TradeValue)
}

/// A position, as derived from its transactions in trade order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    pub symbol: Symbol,
    pub quantity: Decimal,
    /// Total cost of the shares still held, fees included.
    pub cost_basis: Decimal,
    pub realised_pnl: Decimal,
    pub dividends: Decimal,
    pub fees: Decimal,
}

impl Holding {
    /// The holding with its amounts (cost, realised P&L, dividends, fees) in another currency,
    /// `rate` units of it per unit of the holding's; the quantity is unchanged.
    pub fn converted(&self, rate: Decimal) -> Holding {
        Holding {
            symbol: self.symbol.clone(),
            quantity: self.quantity,
            cost_basis: self.cost_basis * rate,
            realised_pnl: self.realised_pnl * rate,
            dividends: self.dividends * rate,
            fees: self.fees * rate,
        }
    }

    pub fn new(symbol: Symbol) -> Self {
        Holding {
            symbol,
            quantity: Decimal::ZERO,
            cost_basis: Decimal::ZERO,
            realised_pnl: Decimal::ZERO,
            dividends: Decimal::ZERO,
            fees: Decimal::ZERO,
        }
    }

    /// Average cost per share held (`None` when nothing is held).
    pub fn average_cost(&self) -> Option<Decimal> {
        (!self.quantity.is_zero()).then(|| (self.cost_basis / self.quantity).round_dp(8).normalize())
    }

    /// Applies one transaction; on error the holding is unchanged.
    pub fn apply(&mut self, trade: &Trade) -> Result<(), PortfolioError> {
        let mut next = self.clone();
        match *trade {
            Trade::Buy { quantity: q, price, fees } => {
                let value = trade_value(q, price)?;
                next.quantity = quantity(next.quantity.checked_add(q.value()))?;
                next.cost_basis = money(next.cost_basis.checked_add(value).and_then(|c| c.checked_add(fees.value())))?;
                next.fees = money(next.fees.checked_add(fees.value()))?;
            }
            Trade::Sell { quantity: q, price, fees } => {
                let (q, value) = (q.value(), trade_value(q, price)?);
                if q > next.quantity {
                    return Err(PortfolioError::InsufficientQuantity { symbol: next.symbol.to_string(), wanted: q, held: next.quantity });
                }
                // The cost leaving with the shares, to 8 places (money never carries more); what
                // stays is the exact remainder, so cost in = cost out + cost held, always.
                let removed = if q == next.quantity {
                    next.cost_basis
                } else {
                    money(next.cost_basis.checked_mul(q).and_then(|c| c.checked_div(next.quantity)))?.round_dp(Amount::MAX_SCALE)
                };
                let gain = value.checked_sub(fees.value()).and_then(|v| v.checked_sub(removed));
                next.realised_pnl = money(gain.and_then(|g| next.realised_pnl.checked_add(g)))?;
                next.cost_basis = money(next.cost_basis.checked_sub(removed))?;
                next.quantity = quantity(next.quantity.checked_sub(q))?;
                next.fees = money(next.fees.checked_add(fees.value()))?;
                if next.quantity.is_zero() {
                    next.cost_basis = Decimal::ZERO;
                }
            }
            Trade::Dividend { amount } => next.dividends = money(next.dividends.checked_add(amount.value()))?,
            Trade::Fee { amount } => {
                next.fees = money(next.fees.checked_add(amount.value()))?;
                next.realised_pnl = money(next.realised_pnl.checked_sub(amount.value()))?;
            }
            Trade::Split { numerator, denominator } => {
                if numerator == 0 || denominator == 0 {
                    return Err(PortfolioError::BadSplit);
                }
                let split = next.quantity.checked_mul(Decimal::from(numerator)).and_then(|q| q.checked_div(Decimal::from(denominator)));
                next.quantity = quantity(split)?;
            }
            Trade::Deposit { .. } | Trade::Withdrawal { .. } | Trade::Interest { .. } => {}
        }
        next.quantity = next.quantity.normalize();
        next.cost_basis = next.cost_basis.normalize();
        next.realised_pnl = next.realised_pnl.normalize();
        *self = next;
        Ok(())
    }

    /// Replays transactions (in trade order) from nothing.
    pub fn derive<'a>(symbol: Symbol, trades: impl IntoIterator<Item = &'a Trade>) -> Result<Self, PortfolioError> {
        let mut holding = Holding::new(symbol);
        for trade in trades {
            holding.apply(trade)?;
        }
        Ok(holding)
    }

    /// Market value and unrealised P&L at `price`. A price outside `0..=`[`bounds::MAX_PRICE`]
    /// (nonsense from a provider) leaves the position unpriced, so a value is at most 10^21 and
    /// sums over any portfolio stay far inside `Decimal`'s range.
    pub fn valuation(&self, price: Option<Decimal>) -> (Option<Decimal>, Option<Decimal>) {
        let sane = |p: &Decimal| !p.is_sign_negative() && *p <= Decimal::from(bounds::MAX_PRICE);
        let value = price.filter(sane).and_then(|p| p.checked_mul(self.quantity)).map(|v| v.normalize());
        (value, value.and_then(|v| v.checked_sub(self.cost_basis)).map(|v| v.normalize()))
    }
}

/// Thresholds of the rule-based analysis, documented with the findings they produce.
pub mod thresholds {
    use rust_decimal::Decimal;
    /// A single position above this share of the portfolio is a concentration risk.
    pub fn max_position_weight() -> Decimal {
        Decimal::new(20, 2)
    }
    /// A sector above this share is a concentration risk.
    pub fn max_sector_weight() -> Decimal {
        Decimal::new(40, 2)
    }
    /// Herfindahl–Hirschman index of sector weights above this is "highly concentrated" (the
    /// antitrust convention: 0.25 on a 0–1 scale).
    pub fn max_sector_hhi() -> Decimal {
        Decimal::new(25, 2)
    }
    /// Fees above this share of the cost basis are a drag worth flagging.
    pub fn max_fee_drag() -> Decimal {
        Decimal::new(1, 2)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Weight {
    pub name: String,
    pub value: Decimal,
    pub weight: Decimal,
}

/// The analysis endpoint's answer (its members are the JSON members: snake_case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub largest_position: Option<Weight>,
    pub sector_weights: Vec<Weight>,
    /// Σ wᵢ² over sector weights, 0–1.
    pub sector_hhi: Decimal,
    /// 0–100: 100 · (1 − HHI of position weights), so many equal positions score high.
    pub diversification_score: Decimal,
    /// Fees paid / cost basis of the positions (fees included).
    pub fee_drag: Decimal,
    pub findings: Vec<String>,
}

/// One valued position for allocation and analysis.
#[derive(Debug, Clone)]
pub struct Valued<'a> {
    pub holding: &'a Holding,
    pub sector: Option<&'a str>,
    pub value: Decimal,
}

fn weights(groups: Vec<(String, Decimal)>, total: Decimal) -> Vec<Weight> {
    let mut out: Vec<Weight> = groups
        .into_iter()
        .map(|(name, value)| Weight { name, value: value.normalize(), weight: (value / total).round_dp(6).normalize() })
        .collect();
    out.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Allocation by position and by sector (unknown sectors grouped as `Unknown`).
pub fn allocation(positions: &[Valued]) -> (Vec<Weight>, Vec<Weight>) {
    let total: Decimal = positions.iter().map(|p| p.value).sum();
    if total <= Decimal::ZERO {
        return (Vec::new(), Vec::new());
    }
    let by_position = weights(positions.iter().map(|p| (p.holding.symbol.to_string(), p.value)).collect(), total);
    let mut sectors: std::collections::BTreeMap<String, Decimal> = std::collections::BTreeMap::new();
    for p in positions {
        *sectors.entry(p.sector.unwrap_or("Unknown").to_owned()).or_default() += p.value;
    }
    (by_position, weights(sectors.into_iter().collect(), total))
}

/// The rule-based analysis; every finding names the threshold it crossed.
pub fn analyse(positions: &[Valued]) -> Analysis {
    let (by_position, by_sector) = allocation(positions);
    let hhi = |ws: &[Weight]| ws.iter().map(|w| w.weight * w.weight).sum::<Decimal>().round_dp(6).normalize();
    let sector_hhi = hhi(&by_sector);
    let position_hhi = hhi(&by_position);
    let diversification_score =
        if by_position.is_empty() { Decimal::ZERO } else { ((Decimal::ONE - position_hhi) * Decimal::ONE_HUNDRED).round_dp(1).normalize() };
    // Buy fees are part of the cost basis: the drag is fees over the money invested.
    let cost: Decimal = positions.iter().map(|p| p.holding.cost_basis).sum();
    let fees: Decimal = positions.iter().map(|p| p.holding.fees).sum();
    let fee_drag = if cost > Decimal::ZERO { (fees / cost).round_dp(6).normalize() } else { Decimal::ZERO };
    let pct = |d: Decimal| format!("{}%", (d * Decimal::ONE_HUNDRED).round_dp(1).normalize());
    let mut findings = Vec::new();
    if by_position.is_empty() {
        findings.push("The portfolio holds nothing with a known price yet.".to_owned());
    }
    if let Some(top) = by_position.first().filter(|w| w.weight > thresholds::max_position_weight()) {
        findings.push(format!(
            "{} is {} of the portfolio, above the {} guideline for a single position.",
            top.name,
            pct(top.weight),
            pct(thresholds::max_position_weight())
        ));
    }
    for sector in by_sector.iter().filter(|w| w.weight > thresholds::max_sector_weight()) {
        findings.push(format!(
            "{} is {} of the portfolio, above the {} sector guideline.",
            sector.name,
            pct(sector.weight),
            pct(thresholds::max_sector_weight())
        ));
    }
    if sector_hhi > thresholds::max_sector_hhi() {
        findings.push(format!("Sector concentration (HHI {sector_hhi}) is above {}: highly concentrated.", thresholds::max_sector_hhi()));
    }
    if fee_drag > thresholds::max_fee_drag() {
        findings.push(format!("Fees are {} of the money invested, above {}.", pct(fee_drag), pct(thresholds::max_fee_drag())));
    }
    if findings.is_empty() {
        findings.push("No position, sector or fee level crosses a guideline.".to_owned());
    }
    Analysis {
        largest_position: by_position.first().cloned(),
        sector_weights: by_sector,
        sector_hhi,
        diversification_score,
        fee_drag,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn buy(q: &str, p: &str, f: &str) -> Trade {
        Trade::Buy { quantity: Quantity::parse(q).unwrap(), price: Amount::parse(p).unwrap(), fees: Amount::parse(f).unwrap() }
    }
    fn sell(q: &str, p: &str, f: &str) -> Trade {
        Trade::Sell { quantity: Quantity::parse(q).unwrap(), price: Amount::parse(p).unwrap(), fees: Amount::parse(f).unwrap() }
    }
    fn sym() -> Symbol {
        Symbol::parse("AAPL").unwrap()
    }

    #[test]
    fn a_huge_buy_then_a_partial_sell_is_refused_by_bound_not_by_a_panic() {
        // 10^12 shares at 10^5: a value of 10^17, beyond the 10^15 bound; the holding is unchanged.
        let mut h = Holding::new(sym());
        assert_eq!(h.apply(&buy("1000000000000", "100000", "0")), Err(PortfolioError::OutOfBounds(Bound::TradeValue)));
        assert_eq!(h, Holding::new(sym()));
        // At the bounds exactly (10^12 shares for 10^15), a partial sell works and keeps the books.
        h.apply(&buy("1000000000000", "1000", "0")).unwrap();
        h.apply(&sell("333333333333.33333333", "1000", "0")).unwrap();
        assert_eq!(h.quantity, d("666666666666.66666667"));
        assert_eq!(h.cost_basis, d("666666666666666.66667"));
        assert_eq!(h.realised_pnl, d("0"));
        // One more share would cross the quantity bound.
        assert_eq!(h.apply(&buy("333333333334", "0.00000001", "0")), Err(PortfolioError::OutOfBounds(Bound::Quantity)));
    }

    #[test]
    fn splits_beyond_the_quantity_bound_are_refused_and_change_nothing() {
        let split = Trade::Split { numerator: 1000, denominator: 1 };
        let mut h = Holding::derive(sym(), &[buy("1", "10", "0"), split, split, split, split]).unwrap();
        assert_eq!(h.quantity, d("1000000000000"));
        let before = h.clone();
        assert_eq!(h.apply(&split), Err(PortfolioError::OutOfBounds(Bound::Quantity)));
        assert_eq!(h, before);
        // The largest ratio on the smallest holding: u32::MAX:1 on 10^-8 shares is fine.
        let tiny = Holding::derive(sym(), &[buy("0.00000001", "1", "0"), Trade::Split { numerator: u32::MAX, denominator: 1 }]).unwrap();
        assert_eq!(tiny.quantity, d("42.94967295"));
    }

    #[test]
    fn money_bounds_hold_for_fees_dividends_and_losses() {
        let big = "1000000000000"; // 10^12, the most one amount may be
        let mut h = Holding::new(sym());
        for _ in 0..1000 {
            h.apply(&Trade::Dividend { amount: Amount::parse(big).unwrap() }).unwrap();
        }
        assert_eq!(h.dividends, d("1000000000000000"));
        assert_eq!(
            h.apply(&Trade::Dividend { amount: Amount::parse("0.01").unwrap() }),
            Err(PortfolioError::OutOfBounds(Bound::PositionValue))
        );
        let mut h = Holding::new(sym());
        for _ in 0..1000 {
            h.apply(&Trade::Fee { amount: Amount::parse(big).unwrap() }).unwrap();
        }
        assert_eq!(h.realised_pnl, d("-1000000000000000"));
        assert_eq!(h.apply(&Trade::Fee { amount: Amount::parse("1").unwrap() }), Err(PortfolioError::OutOfBounds(Bound::PositionValue)));
    }

    #[test]
    fn a_nonsense_price_leaves_a_position_unpriced() {
        let h = Holding::derive(sym(), &[buy("1000000000000", "1", "0")]).unwrap();
        assert_eq!(h.valuation(Some(Decimal::MAX)), (None, None));
        assert_eq!(h.valuation(Some(d("-1"))), (None, None));
        assert_eq!(h.valuation(Some(d("1000000000"))).0, Some(d("1000000000000000000000")));
        let snapshot = daily_snapshot(&[h.clone(), h], |_| Some(Decimal::MAX));
        assert_eq!(snapshot.unpriced_positions, 2);
    }

    #[test]
    fn partial_sell_and_split_by_hand() {
        // Buy 10 @ 100 (+1 fee) and 10 @ 120 (+1): 20 shares, cost 2202, average 110.1.
        // Sell 5 @ 130 (−1): removed 2202·5/20 = 550.5; realised = 650 − 1 − 550.5 = 98.5.
        // Split 2:1: 30 shares, cost 1651.5, average 55.05.
        let h = Holding::derive(
            sym(),
            &[buy("10", "100", "1"), buy("10", "120", "1"), sell("5", "130", "1"), Trade::Split { numerator: 2, denominator: 1 }],
        )
        .unwrap();
        assert_eq!(h.quantity, d("30"));
        assert_eq!(h.cost_basis, d("1651.5"));
        assert_eq!(h.realised_pnl, d("98.5"));
        assert_eq!(h.average_cost(), Some(d("55.05")));
        assert_eq!(h.fees, d("3"));
        assert_eq!(h.valuation(Some(d("60"))), (Some(d("1800")), Some(d("148.5"))));
    }

    #[test]
    fn the_cost_of_a_partial_sale_is_kept_to_8_places_and_nothing_is_lost() {
        // 3 shares for 100: selling 1 removes 33.33333333 (not 33.333…, 28 digits); 66.66666667 stays.
        let h = Holding::derive(sym(), &[buy("3", "33.33333333", "0.00000001"), sell("1", "40", "0")]).unwrap();
        assert_eq!(h.cost_basis, d("66.66666667"));
        assert_eq!(h.realised_pnl, d("6.66666667"));
        let h = Holding::derive(sym(), &[buy("3", "33.33333333", "0.00000001"), sell("1", "40", "0"), sell("2", "40", "0")]).unwrap();
        assert_eq!(h.realised_pnl, d("20"), "proceeds 120 − cost 100, to the last unit");
    }

    #[test]
    fn overselling_is_refused_and_changes_nothing() {
        let mut h = Holding::derive(sym(), &[buy("1", "10", "0")]).unwrap();
        let before = h.clone();
        assert!(matches!(h.apply(&sell("2", "10", "0")), Err(PortfolioError::InsufficientQuantity { .. })));
        assert_eq!(h, before);
        assert_eq!(h.apply(&Trade::Split { numerator: 0, denominator: 1 }), Err(PortfolioError::BadSplit));
    }

    #[test]
    fn buying_then_selling_everything_realises_proceeds_minus_cost_minus_fees() {
        // A deterministic sweep over many buy/sell sequences (a property test without a crate).
        let mut seed: u64 = 7;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..500 {
            let mut trades = Vec::new();
            let (mut qty, mut cost, mut fees) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
            for _ in 0..(1 + next(6)) {
                let (q, p, f) =
                    (Decimal::from(1 + next(50)), Decimal::new(100 + next(100_000) as i64, 2), Decimal::new(next(500) as i64, 2));
                trades.push(buy(&q.to_string(), &p.to_string(), &f.to_string()));
                qty += q;
                cost += q * p;
                fees += f;
            }
            let (sp, sf) = (Decimal::new(100 + next(100_000) as i64, 2), Decimal::new(next(500) as i64, 2));
            trades.push(sell(&qty.to_string(), &sp.to_string(), &sf.to_string()));
            let h = Holding::derive(sym(), &trades).unwrap();
            assert_eq!(h.quantity, Decimal::ZERO);
            assert_eq!(h.cost_basis, Decimal::ZERO);
            assert_eq!(h.realised_pnl, (qty * sp - cost - fees - sf).normalize());
        }
    }

    #[test]
    fn analysis_flags_concentration_with_its_thresholds() {
        let a = Holding::derive(Symbol::parse("A").unwrap(), &[buy("10", "80", "0")]).unwrap();
        let b = Holding::derive(Symbol::parse("B").unwrap(), &[buy("10", "20", "5")]).unwrap();
        let positions =
            [Valued { holding: &a, sector: Some("Energy"), value: d("800") }, Valued { holding: &b, sector: None, value: d("200") }];
        let analysis = analyse(&positions);
        assert_eq!(analysis.largest_position.as_ref().unwrap().weight, d("0.8"));
        assert_eq!(analysis.sector_hhi, d("0.68")); // 0.8² + 0.2²
        assert_eq!(analysis.diversification_score, d("32"));
        assert_eq!(analysis.sector_weights[1].name, "Unknown");
        assert!(analysis.findings.iter().any(|f| f.contains("A is 80%")));
        assert!(analysis.findings.iter().any(|f| f.contains("Energy is 80%")));
        assert_eq!(analysis.fee_drag, d("0.004975")); // 5 / (800 + 205)
        assert!(analyse(&[]).findings[0].contains("nothing"));
    }
}

/// A portfolio's value at the close of one day (the history endpoint's points).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DailySnapshot {
    pub value: Decimal,
    pub cost: Decimal,
    pub realised_pnl: Decimal,
    pub dividends: Decimal,
    /// Positions without a known price are not in `value`; they are counted here.
    pub unpriced_positions: u32,
}

/// The snapshot writer's arithmetic: holdings valued at `price_of` each symbol.
pub fn daily_snapshot(holdings: &[Holding], price_of: impl Fn(&Symbol) -> Option<Decimal>) -> DailySnapshot {
    let mut snapshot = DailySnapshot {
        value: Decimal::ZERO,
        cost: Decimal::ZERO,
        realised_pnl: Decimal::ZERO,
        dividends: Decimal::ZERO,
        unpriced_positions: 0,
    };
    for h in holdings {
        snapshot.cost += h.cost_basis;
        snapshot.realised_pnl += h.realised_pnl;
        snapshot.dividends += h.dividends;
        match h.valuation(price_of(&h.symbol)).0 {
            Some(value) => snapshot.value += value,
            None if !h.quantity.is_zero() => snapshot.unpriced_positions += 1,
            None => {}
        }
    }
    snapshot.value = snapshot.value.normalize();
    snapshot.cost = snapshot.cost.normalize();
    snapshot.realised_pnl = snapshot.realised_pnl.normalize();
    snapshot.dividends = snapshot.dividends.normalize();
    snapshot
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn snapshot_by_hand() {
        let mut a = Holding::new(Symbol::parse("A").unwrap());
        a.apply(&Trade::Buy {
            quantity: Quantity::parse("3").unwrap(),
            price: Amount::parse("10").unwrap(),
            fees: Amount::parse("1").unwrap(),
        })
        .unwrap();
        let mut b = Holding::new(Symbol::parse("B").unwrap());
        b.apply(&Trade::Buy { quantity: Quantity::parse("1").unwrap(), price: Amount::parse("5").unwrap(), fees: Amount::ZERO }).unwrap();
        b.apply(&Trade::Dividend { amount: Amount::parse("0.5").unwrap() }).unwrap();
        let snapshot = daily_snapshot(&[a, b], |s| (s.as_str() == "A").then(|| Decimal::from_str("12.5").unwrap()));
        assert_eq!(snapshot.value, Decimal::from_str("37.5").unwrap());
        assert_eq!(snapshot.cost, Decimal::from(36));
        assert_eq!(snapshot.dividends, Decimal::from_str("0.5").unwrap());
        assert_eq!(snapshot.unpriced_positions, 1);
    }
}
