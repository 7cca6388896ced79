//! Request bodies, parsed into domain values (parse, don't validate): a handler never sees a bad
//! amount, symbol, date or currency.

use bourse_domain::Symbol;
use bourse_domain::money::{Amount, Currency, Quantity};
use bourse_domain::portfolio::Trade;
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
    raw.map(|c| Currency::parse(c).map_err(|e| ApiError::field("body.currency", e.to_string()))).transpose().map(|c| c.unwrap_or(Currency::USD))
}

/// A transaction as posted. Amounts are strings so no binary floating point touches them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewTransaction {
    #[serde(rename = "type")]
    pub kind: String,
    pub symbol: String,
    pub trade_date: String,
    pub quantity: Option<String>,
    pub price: Option<String>,
    pub fees: Option<String>,
    pub amount: Option<String>,
    /// For SPLIT: "new:old", e.g. "2:1".
    pub ratio: Option<String>,
    pub currency: Option<String>,
}

/// A validated transaction.
pub struct ParsedTransaction {
    pub symbol: Symbol,
    pub trade_date: Date,
    pub trade: Trade,
    pub currency: Currency,
    /// The fields stored with the transaction, as text.
    pub fields: Vec<(String, String)>,
}

pub fn parse_date(field: &str, raw: &str) -> Result<Date, FieldError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw.trim(), &format).map_err(|_| FieldError::new(field, "expected a date as YYYY-MM-DD"))
}

impl NewTransaction {
    pub fn parse(&self, today: Date) -> Result<ParsedTransaction, ApiError> {
        let mut errors = Vec::new();
        let symbol = Symbol::parse(&self.symbol).map_err(|e| errors.push(FieldError::new("body.symbol", e.to_string()))).ok();
        let trade_date = parse_date("body.tradeDate", &self.trade_date).map_err(|e| errors.push(e)).ok();
        if trade_date.is_some_and(|d| d > today) {
            errors.push(FieldError::new("body.tradeDate", "must not be in the future"));
        }
        let currency = currency(self.currency.as_deref()).map_err(|e| errors.push(FieldError::new("body.currency", e.to_string()))).ok();
        let mut need = |name: &str, value: &Option<String>| -> Option<String> {
            match value {
                Some(v) => Some(v.clone()),
                None => {
                    errors.push(FieldError::new(format!("body.{name}"), "is required for this type"));
                    None
                }
            }
        };
        let kind = self.kind.trim().to_ascii_uppercase();
        let (quantity, price, amount, ratio) = match kind.as_str() {
            "BUY" | "SELL" => (need("quantity", &self.quantity), need("price", &self.price), None, None),
            "DIVIDEND" | "FEE" => (None, None, need("amount", &self.amount), None),
            "SPLIT" => (None, None, None, need("ratio", &self.ratio)),
            _ => {
                errors.push(FieldError::new("body.type", "one of BUY, SELL, DIVIDEND, FEE, SPLIT"));
                (None, None, None, None)
            }
        };
        let mut fields = vec![("kind".to_owned(), kind.clone())];
        let quantity = quantity.and_then(|q| Quantity::parse(&q).map_err(|e| errors.push(FieldError::new("body.quantity", e.to_string()))).ok());
        let price = price.and_then(|p| Amount::parse(&p).map_err(|e| errors.push(FieldError::new("body.price", e.to_string()))).ok());
        let amount = amount.and_then(|a| Amount::parse(&a).map_err(|e| errors.push(FieldError::new("body.amount", e.to_string()))).ok());
        let fees = match &self.fees {
            None => Some(Amount::ZERO),
            Some(f) => Amount::parse(f).map_err(|e| errors.push(FieldError::new("body.fees", e.to_string()))).ok(),
        };
        let split = ratio.and_then(|r| {
            let parsed = r.split_once(':').and_then(|(a, b)| Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?)));
            match parsed {
                Some((a, b)) if a > 0 && b > 0 && a <= 1000 && b <= 1000 => Some((a, b)),
                _ => {
                    errors.push(FieldError::new("body.ratio", "two whole numbers from 1 to 1000 as new:old, e.g. 2:1"));
                    None
                }
            }
        });
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let trade = match (kind.as_str(), quantity, price, amount, split, fees) {
            ("BUY", Some(quantity), Some(price), _, _, Some(fees)) => Trade::Buy { quantity, price, fees },
            ("SELL", Some(quantity), Some(price), _, _, Some(fees)) => Trade::Sell { quantity, price, fees },
            ("DIVIDEND", _, _, Some(amount), _, _) => Trade::Dividend { amount },
            ("FEE", _, _, Some(amount), _, _) => Trade::Fee { amount },
            ("SPLIT", _, _, _, Some((numerator, denominator)), _) => Trade::Split { numerator, denominator },
            _ => return Err(ApiError::Internal("transaction parsing left a gap".into())),
        };
        for (name, value) in [("quantity", quantity.map(|q| q.value())), ("price", price.map(|p| p.value())), ("amount", amount.map(|a| a.value())), ("fees", fees.map(|f| f.value()))] {
            if let Some(value) = value.filter(|_| !matches!(trade, Trade::Split { .. })) {
                fields.push((name.to_owned(), value.normalize().to_string()));
            }
        }
        if let Some((a, b)) = split {
            fields.push(("ratio".to_owned(), format!("{a}:{b}")));
        }
        let currency = currency.unwrap_or(bourse_domain::money::Currency::USD);
        fields.push(("currency".to_owned(), currency.to_string()));
        Ok(ParsedTransaction { symbol: symbol.expect("checked"), trade_date: trade_date.expect("checked"), trade, currency, fields })
    }
}

/// Rebuilds a stored transaction's trade (for re-deriving a holding).
pub fn stored_trade(fields: &[(String, String)]) -> Option<Trade> {
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let fees = get("fees").map(Amount::parse).transpose().ok()?.unwrap_or(Amount::ZERO);
    Some(match get("kind")? {
        "BUY" => Trade::Buy { quantity: Quantity::parse(get("quantity")?).ok()?, price: Amount::parse(get("price")?).ok()?, fees },
        "SELL" => Trade::Sell { quantity: Quantity::parse(get("quantity")?).ok()?, price: Amount::parse(get("price")?).ok()?, fees },
        "DIVIDEND" => Trade::Dividend { amount: Amount::parse(get("amount")?).ok()? },
        "FEE" => Trade::Fee { amount: Amount::parse(get("amount")?).ok()? },
        "SPLIT" => {
            let (a, b) = get("ratio")?.split_once(':')?;
            Trade::Split { numerator: a.parse().ok()?, denominator: b.parse().ok()? }
        }
        _ => return None,
    })
}
