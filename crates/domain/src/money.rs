//! Money, currencies and quantities: exact decimals only, never binary floating point.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("a currency is three letters, such as USD")]
    Currency,
    #[error("{0} is not a supported currency: one of USD, EUR, GBP, JPY, CHF, CAD, AUD, NZD, HKD, SGD, SEK, NOK, DKK")]
    Unsupported(String),
    #[error("not a decimal number")]
    NotANumber,
    #[error("must be greater than zero")]
    NotPositive,
    #[error("must not be negative")]
    Negative,
    #[error("has more than {0} decimal places")]
    TooPrecise(u32),
    #[error("is too large")]
    TooLarge,
}

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");

    /// The currencies Bourse holds daily rates for (each against USD, fetched by every daily
    /// refresh: see `crate::fx`), so the only ones a portfolio or a transaction may be in: the
    /// majors of the retail brokers it imports from. A fixed list, not the currencies in use,
    /// because the refresh then needs no read of anyone's data to know what to fetch, and 12 rate
    /// series cost 12 requests a day.
    pub const SUPPORTED: [Currency; 13] = [
        Currency(*b"USD"),
        Currency(*b"EUR"),
        Currency(*b"GBP"),
        Currency(*b"JPY"),
        Currency(*b"CHF"),
        Currency(*b"CAD"),
        Currency(*b"AUD"),
        Currency(*b"NZD"),
        Currency(*b"HKD"),
        Currency(*b"SGD"),
        Currency(*b"SEK"),
        Currency(*b"NOK"),
        Currency(*b"DKK"),
    ];

    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let upper = text.trim().to_ascii_uppercase();
        let bytes: [u8; 3] = upper.as_bytes().try_into().map_err(|_| MoneyError::Currency)?;
        if bytes.iter().all(u8::is_ascii_uppercase) { Ok(Currency(bytes)) } else { Err(MoneyError::Currency) }
    }

    /// A code of [`Currency::SUPPORTED`] (any other ISO 4217 code is refused: no rates for it).
    pub fn parse_supported(text: &str) -> Result<Self, MoneyError> {
        let currency = Currency::parse(text)?;
        if Currency::SUPPORTED.contains(&currency) { Ok(currency) } else { Err(MoneyError::Unsupported(currency.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Largest magnitude accepted for an amount or quantity (a trillion): keeps sums far from
/// `Decimal`'s limits.
const LIMIT: i64 = 1_000_000_000_000;

fn parse_decimal(text: &str, max_scale: u32) -> Result<Decimal, MoneyError> {
    // Plain decimal notation only: `-12.5`, never `1e3`, `NaN` or `+inf`.
    let text = text.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    if !plain {
        return Err(MoneyError::NotANumber);
    }
    // Count the places as written: `Decimal` rounds text beyond 28 digits, which would turn
    // `0.000…01` into 0 or `1.000…01` into 1 before the scale check could see it.
    let written_places = digits.split_once('.').map_or(0, |(_, fraction)| fraction.trim_end_matches('0').len());
    if written_places > max_scale as usize {
        return Err(MoneyError::TooPrecise(max_scale));
    }
    let value = Decimal::from_str(text).map_err(|_| MoneyError::NotANumber)?;
    if value.abs() > Decimal::from(LIMIT) {
        return Err(MoneyError::TooLarge);
    }
    if value.normalize().scale() > max_scale {
        return Err(MoneyError::TooPrecise(max_scale));
    }
    Ok(value.normalize())
}

/// A non-negative amount of money with at most 8 decimal places (prices of fractional shares and
/// crypto-style quotes need more than cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(Decimal);

impl Amount {
    pub const MAX_SCALE: u32 = 8;
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let value = parse_decimal(text, Self::MAX_SCALE)?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        Ok(Amount(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

/// A strictly positive number of shares, at most 8 decimal places (fractional shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(Decimal);

impl Quantity {
    pub const MAX_SCALE: u32 = 8;

    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let value = parse_decimal(text, Self::MAX_SCALE)?;
        if value <= Decimal::ZERO {
            return Err(MoneyError::NotPositive);
        }
        Ok(Quantity(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_refuses_bad_money() {
        assert_eq!(Amount::parse("12.50").unwrap().value(), Decimal::from_str("12.5").unwrap());
        assert_eq!(Amount::parse("0").unwrap(), Amount::ZERO);
        assert_eq!(Amount::parse("-1"), Err(MoneyError::Negative));
        assert_eq!(Amount::parse("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(Amount::parse("NaN"), Err(MoneyError::NotANumber));
        assert_eq!(Amount::parse("0.000000001"), Err(MoneyError::TooPrecise(8)));
        // More places than a Decimal holds are refused, not rounded into range first.
        assert_eq!(Amount::parse("1.00000000000000000000000000001"), Err(MoneyError::TooPrecise(8)));
        assert_eq!(Quantity::parse(&format!("0.{}1", "0".repeat(30))), Err(MoneyError::TooPrecise(8)));
        assert_eq!(Amount::parse("1.50000000000000000000000000000000").unwrap().value(), Decimal::from_str("1.5").unwrap());
        assert_eq!(Amount::parse("10000000000000"), Err(MoneyError::TooLarge));
        assert_eq!(Quantity::parse("0"), Err(MoneyError::NotPositive));
        assert_eq!(Quantity::parse("0.5").unwrap().value(), Decimal::from_str("0.5").unwrap());
    }

    #[test]
    fn currencies_are_three_letters() {
        assert_eq!(Currency::parse("usd").unwrap(), Currency::USD);
        for bad in ["US", "USDT", "U$D", ""] {
            assert_eq!(Currency::parse(bad), Err(MoneyError::Currency), "{bad}");
        }
        assert_eq!(Currency::parse_supported("eur"), Ok(Currency::EUR));
        assert_eq!(Currency::parse_supported("XAU"), Err(MoneyError::Unsupported("XAU".into())));
    }
}
