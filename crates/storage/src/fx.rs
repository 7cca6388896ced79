//! Daily FX rates in the market table, one partition per currency against USD:
//! `pk = FX#<currency>USD` (e.g. `FX#EURUSD`), `sk = <YYYY-MM-DD>`, attributes `rate` (USD per
//! one unit, exact decimal), `source` (the provider's name) and `generated` (the offline
//! provider's labelled, non-market rates). Written by the enrichment consumer's daily refresh,
//! read by the portfolio function's returns; a day's item is overwritten by a later fetch of it.

use crate::attr::{corrupt, decimal, s, text};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::query::{Partition, SortKeys, query_all};
use crate::schema::{PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::fx::{RatePoint, pair};
use bourse_domain::money::Currency;
use bourse_domain::text::parse_date;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use time::Date;

/// The partition of a currency's rates: `FX#EURUSD`.
pub fn fx_pk(currency: Currency) -> String {
    format!("FX#{}", pair(currency))
}

/// Where a series came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSource<'a> {
    /// The provider's name (`yahoo-chart`, `alpha-vantage`, `offline`).
    pub name: &'a str,
    /// Generated rates (the offline provider), never market data.
    pub generated: bool,
}

/// Stores `currency`'s daily rates against USD, one item per day. ⌈N/25⌉ BatchWriteItem, 1 WCU
/// per item (≈ 80 bytes each): a daily refresh of 12 currencies over the last 10 days ≈ 120 WCU.
pub async fn put_rates(
    clients: &AwsClients,
    table: &str,
    currency: Currency,
    points: &[RatePoint],
    source: RateSource<'_>,
) -> Result<(), StorageError> {
    let pk = fx_pk(currency);
    let writes = points
        .iter()
        .map(|p| {
            crate::batch::Write::Put(HashMap::from([
                (PK.to_owned(), s(pk.clone())),
                (SK.to_owned(), s(p.date.to_string())),
                ("rate".to_owned(), decimal(p.rate)),
                ("source".to_owned(), s(source.name)),
                ("generated".to_owned(), AttributeValue::Bool(source.generated)),
            ]))
        })
        .collect();
    crate::batch::write_all(clients, table, writes).await
}

/// `currency`'s latest rate against USD dated on or before `on`, if any. 1 Query, newest first,
/// `Limit` 1: `pk = FX#<currency>USD AND sk <= <on>` (0.5 RCU).
pub async fn latest_rate(clients: &AwsClients, table: &str, currency: Currency, on: Date) -> Result<Option<RatePoint>, StorageError> {
    let found = clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk AND #sk <= :on")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#sk", SK)
        .expression_attribute_values(":pk", AttributeValue::S(fx_pk(currency)))
        .expression_attribute_values(":on", AttributeValue::S(on.to_string()))
        .scan_index_forward(false)
        .limit(1)
        .send()
        .await
        .map_err(crate::error::dynamodb_error)?;
    found.items.unwrap_or_default().first().map(rate_point).transpose()
}

fn rate_point(item: &crate::query::Item) -> Result<RatePoint, StorageError> {
    let date = text(item, SK).and_then(|d| parse_date(d).ok()).ok_or_else(|| corrupt(item, SK))?;
    let rate = match item.get("rate") {
        Some(AttributeValue::N(v)) => Decimal::from_str(v).map_err(|_| corrupt(item, "rate"))?,
        _ => return Err(corrupt(item, "rate")),
    };
    Ok(RatePoint { date, rate })
}

/// `currency`'s rates against USD from `from` to `to` (inclusive), oldest first.
/// 1 Query per MB: `pk = FX#<currency>USD AND sk BETWEEN <from> AND <to>`, eventually consistent
/// (≈ 250 items of ≈ 80 bytes a year: ≈ 3 RCU per year).
pub async fn rates_between(
    clients: &AwsClients,
    table: &str,
    currency: Currency,
    from: Date,
    to: Date,
) -> Result<Vec<RatePoint>, StorageError> {
    let pk = fx_pk(currency);
    let (from, to) = (from.to_string(), to.to_string());
    query_all(clients, Partition::of(table, &pk), SortKeys::Between(&from, &to), None).await?.iter().map(rate_point).collect()
}
