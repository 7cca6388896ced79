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
    pub currency: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub name: String,
}

/// A portfolio name: 1 to 100 characters after trimming, no control characters.
pub fn portfolio_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::field("body.name", "1 to 100 printable characters"));
    }
    Ok(name.to_owned())
}

pub fn currency(raw: Option<&str>) -> Result<Currency, ApiError> {
    raw.map(|c| Currency::parse(c).map_err(|e| ApiError::field("body.currency", e.to_string())))
        .transpose()
        .map(|c| c.unwrap_or(Currency::USD))
}

/// A posted transaction, or every invalid field as `body.<field>`.
pub fn transaction(body: &RawTransaction, today: Date) -> Result<ParsedTransaction, ApiError> {
    body.parse(today).map_err(|errors| {
        ApiError::Validation(errors.into_iter().map(|e| FieldError::new(format!("body.{}", e.path()), e.reason)).collect())
    })
}
