//! A portfolio's cash, for portfolios that track it (`track_cash`): a balance per currency and
//! the net contributions (deposits − withdrawals).
//!
//! Every transaction has a *cash leg* in its own currency, seen from the cash account:
//! BUY `−(q·p + fees)`, SELL `+(q·p − fees)`, DIVIDEND `+amount`, INTEREST `+amount`, FEE
//! `−amount`, DEPOSIT `+amount`, WITHDRAWAL `−amount`, SPLIT none. The balance of a currency is
//! the sum of its legs; there is no conversion between cash balances (an FX trade is a
//! WITHDRAWAL in one currency and a DEPOSIT in the other).
//!
//! Rules: a balance may go negative through trades (a SELL is never refused for cash, nor a BUY:
//! the deposit that paid for it may simply not be recorded yet), but a WITHDRAWAL is refused when
//! it exceeds the balance of its currency over the whole ledger, later trades included
//! ([`check_withdrawals`]): money that is not there cannot leave.

use crate::money::Currency;
use crate::portfolio::Trade;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The cash leg of a trade in its currency (see the module's documentation).
pub fn cash_leg(trade: &Trade) -> Option<Decimal> {
    match *trade {
        Trade::Buy { quantity, price, fees } => Some(-(quantity.value() * price.value() + fees.value())),
        Trade::Sell { quantity, price, fees } => Some(quantity.value() * price.value() - fees.value()),
        Trade::Dividend { amount } | Trade::Interest { amount } | Trade::Deposit { amount } => Some(amount.value()),
        Trade::Fee { amount } | Trade::Withdrawal { amount } => Some(-amount.value()),
        Trade::Split { .. } => None,
    }
}

/// Money crossing the boundary of a portfolio that tracks cash, seen from the portfolio: a
/// DEPOSIT `+amount`, a WITHDRAWAL `−amount`; nothing else (trades, income and fees stay inside).
pub fn external_flow(trade: &Trade) -> Option<Decimal> {
    match *trade {
        Trade::Deposit { amount } => Some(amount.value()),
        Trade::Withdrawal { amount } => Some(-amount.value()),
        _ => None,
    }
}

/// The cash of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashBalance {
    pub currency: Currency,
    /// Σ of every cash leg.
    pub balance: Decimal,
    /// Deposits − withdrawals.
    pub net_contributions: Decimal,
}

/// The balance and net contributions per currency of the `(currency, trade)` given, in currency
/// order; a currency appears once any of its trades has a cash leg.
pub fn balances<'a>(trades: impl IntoIterator<Item = (Currency, &'a Trade)>) -> Vec<CashBalance> {
    let mut by_currency: BTreeMap<Currency, CashBalance> = BTreeMap::new();
    for (currency, trade) in trades {
        let Some(leg) = cash_leg(trade) else { continue };
        let entry =
            by_currency.entry(currency).or_insert(CashBalance { currency, balance: Decimal::ZERO, net_contributions: Decimal::ZERO });
        entry.balance += leg;
        entry.net_contributions += external_flow(trade).unwrap_or_default();
    }
    by_currency
        .into_values()
        .map(|b| CashBalance { balance: b.balance.normalize(), net_contributions: b.net_contributions.normalize(), ..b })
        .collect()
}

/// Withdrawals the cash cannot pay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the withdrawal exceeds the {currency} cash balance by {shortfall} {currency}")]
pub struct InsufficientCash {
    pub currency: Currency,
    pub shortfall: Decimal,
}

/// Whether `added` can join a ledger of `trades`: refused when a currency in which `added`
/// withdraws would end with a negative balance (see the module's rules).
pub fn check_withdrawals<'a>(
    trades: impl IntoIterator<Item = (Currency, &'a Trade)>,
    added: &[(Currency, &'a Trade)],
) -> Result<(), InsufficientCash> {
    let withdrawn: Vec<Currency> = added.iter().filter(|(_, t)| matches!(t, Trade::Withdrawal { .. })).map(|(c, _)| *c).collect();
    if withdrawn.is_empty() {
        return Ok(());
    }
    match balances(trades.into_iter().chain(added.iter().copied()))
        .into_iter()
        .find(|b| withdrawn.contains(&b.currency) && b.balance < Decimal::ZERO)
    {
        Some(short) => Err(InsufficientCash { currency: short.currency, shortfall: -short.balance }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Amount, Quantity};

    fn a(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn every_kind_has_its_documented_cash_leg_and_only_deposits_and_withdrawals_are_external() {
        let buy = Trade::Buy { quantity: Quantity::parse("10").unwrap(), price: a("100"), fees: a("1") };
        let sell = Trade::Sell { quantity: Quantity::parse("4").unwrap(), price: a("120"), fees: a("1") };
        let cases = [
            (buy, Some(d("-1001")), None),
            (sell, Some(d("479")), None),
            (Trade::Dividend { amount: a("5") }, Some(d("5")), None),
            (Trade::Interest { amount: a("2") }, Some(d("2")), None),
            (Trade::Fee { amount: a("3") }, Some(d("-3")), None),
            (Trade::Deposit { amount: a("2000") }, Some(d("2000")), Some(d("2000"))),
            (Trade::Withdrawal { amount: a("500") }, Some(d("-500")), Some(d("-500"))),
            (Trade::Split { numerator: 2, denominator: 1 }, None, None),
        ];
        for (trade, leg, flow) in cases {
            assert_eq!((cash_leg(&trade), external_flow(&trade)), (leg, flow), "{trade:?}");
        }
    }

    #[test]
    fn balances_are_per_currency_and_a_withdrawal_beyond_the_balance_is_refused() {
        let eur = Currency::EUR;
        let trades = [
            (Currency::USD, Trade::Deposit { amount: a("1000") }),
            (Currency::USD, Trade::Buy { quantity: Quantity::parse("5").unwrap(), price: a("150"), fees: a("0.5") }),
            (eur, Trade::Deposit { amount: a("300") }),
            (eur, Trade::Withdrawal { amount: a("100") }),
            (eur, Trade::Interest { amount: a("1.25") }),
        ];
        let got = balances(trades.iter().map(|(c, t)| (*c, t)));
        assert_eq!(
            got,
            vec![
                CashBalance { currency: eur, balance: d("201.25"), net_contributions: d("200") },
                CashBalance { currency: Currency::USD, balance: d("249.5"), net_contributions: d("1000") },
            ]
        );
        let ledger = || trades.iter().map(|(c, t)| (*c, t));
        let (all, too_much) = (Trade::Withdrawal { amount: a("201.25") }, Trade::Withdrawal { amount: a("201.26") });
        assert_eq!(check_withdrawals(ledger(), &[(eur, &all)]), Ok(()));
        assert_eq!(check_withdrawals(ledger(), &[(eur, &too_much)]), Err(InsufficientCash { currency: eur, shortfall: d("0.01") }));
        // A deposit in the same batch pays for it; cash of another currency does not.
        let more = Trade::Deposit { amount: a("1") };
        assert_eq!(check_withdrawals(ledger(), &[(eur, &more), (eur, &too_much)]), Ok(()));
        let (gbp, cent) = (Currency::SUPPORTED[2], Trade::Withdrawal { amount: a("0.01") });
        assert!(check_withdrawals(ledger(), &[(gbp, &cent)]).is_err());
        // A buy may overdraw (the deposit may not be recorded yet): only withdrawals are checked.
        let buy = Trade::Buy { quantity: Quantity::parse("100").unwrap(), price: a("100"), fees: a("0") };
        assert_eq!(check_withdrawals(ledger(), &[(eur, &buy)]), Ok(()));
    }
}
