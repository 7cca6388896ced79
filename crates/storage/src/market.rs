//! Market data in the market table: stock profiles and the universe version.
//!
//! Keys:
//! - stock profile: `pk = STOCK#<symbol>`, `sk = PROFILE`; on `gsi1`,
//!   `gsi1pk = SECTOR#<GICS sector or Unknown>`, `gsi1sk = <market cap, 20 digits>#<symbol>`, so a
//!   Query in descending order lists a sector by market cap (unknown caps last);
//! - universe version: `pk = UNIVERSE`, `sk = VERSION`, a counter bumped whenever the universe
//!   changes, so caches can revalidate with one read.

use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::schema::{PK, SK, market};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use bourse_domain::universe::StockRecord;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// DynamoDB's limit of items per BatchWriteItem.
const BATCH_WRITE_LIMIT: usize = 25;
/// How often unprocessed items are sent again before giving up.
const MAX_BATCH_RETRIES: u32 = 8;

pub fn stock_pk(symbol: &str) -> String {
    format!("STOCK#{symbol}")
}

/// The sort key that orders a sector by market cap: integer dollars, zero-padded.
pub fn market_cap_sort_key(market_cap: Option<Decimal>, symbol: &str) -> String {
    let dollars = market_cap.map(|c| c.trunc().max(Decimal::ZERO).to_string()).unwrap_or_default();
    format!("{dollars:0>20}#{symbol}")
}

fn stock_item(stock: &StockRecord) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::new();
    let symbol = stock.symbol.as_str();
    item.insert(PK.to_owned(), AttributeValue::S(stock_pk(symbol)));
    item.insert(SK.to_owned(), AttributeValue::S("PROFILE".into()));
    item.insert("symbol".into(), AttributeValue::S(symbol.to_owned()));
    item.insert("name".into(), AttributeValue::S(stock.name.clone()));
    let texts = [("sector", &stock.sector), ("subIndustry", &stock.sub_industry), ("headquarters", &stock.headquarters)];
    for (name, value) in texts {
        if let Some(value) = value {
            item.insert(name.into(), AttributeValue::S(value.clone()));
        }
    }
    // Numbers as DynamoDB numbers: exact decimal strings, no binary floating point on the way.
    let numbers = [
        ("price", stock.price),
        ("pe", stock.price_to_earnings),
        ("dividendYield", stock.dividend_yield),
        ("eps", stock.earnings_per_share),
        ("week52Low", stock.week52_low),
        ("week52High", stock.week52_high),
        ("marketCap", stock.market_cap),
        ("ebitda", stock.ebitda),
        ("priceToSales", stock.price_to_sales),
        ("priceToBook", stock.price_to_book),
    ];
    for (name, value) in numbers {
        if let Some(value) = value {
            item.insert(name.into(), AttributeValue::N(value.normalize().to_string()));
        }
    }
    item.insert("dataQuality".into(), AttributeValue::N(stock.data_quality().to_string()));
    item.insert("source".into(), AttributeValue::S("reference-data".into()));
    let sector = stock.sector.as_deref().unwrap_or("Unknown");
    item.insert(market::GSI1_PK.into(), AttributeValue::S(format!("SECTOR#{sector}")));
    item.insert(market::GSI1_SK.into(), AttributeValue::S(market_cap_sort_key(stock.market_cap, symbol)));
    item
}

/// Writes stock profiles: ⌈N/25⌉ BatchWriteItem requests (1 WCU per item under 1 KB), plus one
/// more per round of unprocessed items, which are retried with backoff.
pub async fn put_stocks(clients: &AwsClients, table: &str, stocks: &[StockRecord]) -> Result<(), StorageError> {
    for chunk in stocks.chunks(BATCH_WRITE_LIMIT) {
        let mut pending: Vec<WriteRequest> = chunk
            .iter()
            .map(|s| {
                let put = PutRequest::builder().set_item(Some(stock_item(s))).build().map_err(|e| StorageError::Corrupt {
                    key: s.symbol.to_string(),
                    reason: e.to_string(),
                })?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, StorageError>>()?;
        let mut attempt = 0;
        while !pending.is_empty() {
            let output = clients
                .dynamodb
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| StorageError::from_sdk("dynamodb", e))?;
            pending = output.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            attempt += 1;
            if attempt > MAX_BATCH_RETRIES {
                return Err(StorageError::Throttled {
                    service: "dynamodb",
                    message: format!("{} items still unprocessed after {MAX_BATCH_RETRIES} retries", pending.len()),
                });
            }
            backoff(attempt).await;
        }
    }
    Ok(())
}

/// Bumps the universe version. 1 UpdateItem (ADD), 1 WCU; returns the new version.
pub async fn bump_universe_version(clients: &AwsClients, table: &str) -> Result<u64, StorageError> {
    let output = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, AttributeValue::S("UNIVERSE".into()))
        .key(SK, AttributeValue::S("VERSION".into()))
        .update_expression("ADD #v :one")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|e| StorageError::from_sdk("dynamodb", e))?;
    match output.attributes.as_ref().and_then(|a| a.get("version")) {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| StorageError::Corrupt { key: "UNIVERSE".into(), reason: format!("version {n}") }),
        _ => Err(StorageError::Corrupt { key: "UNIVERSE".into(), reason: "no version returned".into() }),
    }
}

/// Exponential backoff for unprocessed batch items: 50 ms, 100 ms, … capped at 2 s.
async fn backoff(attempt: u32) {
    let millis = (50u64 << attempt.min(6)).min(2000);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn market_cap_keys_sort_as_numbers() {
        let small = market_cap_sort_key(Some(Decimal::from(9_000_000u64)), "A");
        let big = market_cap_sort_key(Some(Decimal::from_str("92293693440.7").unwrap()), "B");
        let unknown = market_cap_sort_key(None, "C");
        assert!(unknown < small && small < big, "{unknown} {small} {big}");
        assert_eq!(big, "00000000092293693440#B");
    }
}
