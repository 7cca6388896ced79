//! Request bodies, parsed into domain values (parse, don't validate): a handler never sees a bad
//! amount, symbol, date or currency.

use bourse_domain::money::Currency;
use bourse_domain::transaction::{ParsedTransaction, RawTransaction};
use bourse_http::{ApiError, FieldError};
use serde::Deserialize;
use time::Date;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPortfolio {
    pub name: String,
    /// The base currency (default USD).
    pub currency: Option<String>,
    /// Whether the portfolio tracks cash (default off: today's behaviour, trades are the flows).
    pub track_cash: Option<bool>,
    /// The tax-lot method of its lots and realised gains (default FIFO).
    pub lot_method: Option<String>,
}

/// `PATCH /v1/portfolios/{id}`: a new name, cash tracking on or off and/or another lot method
/// (the base currency cannot change: every stored figure is in it).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioPatch {
    pub name: Option<String>,
    pub track_cash: Option<bool>,
    pub lot_method: Option<String>,
}

/// A portfolio's lot method: FIFO, LIFO, SPECIFIC or AVERAGE (any case).
pub fn lot_method(raw: &str) -> Result<bourse_domain::lots::LotMethod, ApiError> {
    bourse_domain::lots::LotMethod::parse(raw).ok_or_else(|| ApiError::field("body.lot_method", "must be FIFO, LIFO, SPECIFIC or AVERAGE"))
}

/// A portfolio name: 1 to 100 characters after trimming, no control characters.
pub fn portfolio_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::field("body.name", "1 to 100 printable characters"));
    }
    Ok(name.to_owned())
}

/// A base currency: one of [`Currency::SUPPORTED`] (default USD).
pub fn currency(raw: Option<&str>) -> Result<Currency, ApiError> {
    raw.map(|c| Currency::parse_supported(c).map_err(|e| ApiError::field("body.currency", e.to_string())))
        .transpose()
        .map(|c| c.unwrap_or(Currency::USD))
}

/// A posted transaction (in `base` unless it names a currency), or every invalid field as
/// `body.<field>`.
pub fn transaction(body: RawTransaction, base: Currency, today: Date) -> Result<ParsedTransaction, ApiError> {
    body.in_currency_by_default(base).parse(today).map_err(|errors| {
        ApiError::Validation(errors.into_iter().map(|e| FieldError::new(format!("body.{}", e.path()), e.reason)).collect())
    })
}
