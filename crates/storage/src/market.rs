//! Market data in the market table.
//!
//! Keys:
//! - stock profile: `pk = STOCK#<symbol>`, `sk = PROFILE`; on `gsi1`,
//!   `gsi1pk = SECTOR#<GICS sector or Unknown>`, `gsi1sk = <market cap, 20 digits>#<symbol>`, so a
//!   Query in descending order lists a sector by market cap (unknown caps last);
//! - price history: `pk = STOCK#<symbol>`, `sk = HISTORY#<year>`, one item per symbol and year
//!   holding that year's closes (≈ 4 KB), so any range is one Query over ≤ a few items;
//! - universe snapshot: `pk = UNIVERSE#<version>`, `sk = CHUNK#<n>`, gzip'd JSON of every stock in
//!   chunks under 300 KB, so a function loads the whole universe with one Query;
//! - universe version: `pk = UNIVERSE`, `sk = VERSION`, bumped (conditionally) whenever a new
//!   snapshot is published; caches revalidate against it.

use crate::attr::{n, s, text};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::{Item, Partition, SortKeys, get_item, query_all};
use crate::retry::Attempts;
use crate::schema::{PK, SK, TTL, market};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::Symbol;
use bourse_domain::backoff::LEASE_HELD;
use bourse_domain::history::PricePoint;
use bourse_domain::stock::{Metric, Stock};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::str::FromStr;
use time::Date;

/// Uncompressed JSON per snapshot chunk; compressed it stays far below the 400 KB item limit.
const CHUNK_BYTES: usize = 1_500_000;
/// How long a superseded snapshot stays readable for functions still loading it.
const OLD_SNAPSHOT_SECONDS: u64 = 3600;

pub fn stock_pk(symbol: &str) -> String {
    format!("STOCK#{symbol}")
}

/// The sort key that orders a sector by market cap: integer dollars, zero-padded.
pub fn market_cap_sort_key(market_cap: Option<Decimal>, symbol: &str) -> String {
    let dollars = market_cap.map(|c| c.trunc().max(Decimal::ZERO).to_string()).unwrap_or_default();
    format!("{dollars:0>20}#{symbol}")
}

fn stock_item(stock: &Stock) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::new();
    let symbol = stock.symbol.as_str();
    item.insert(PK.to_owned(), s(stock_pk(symbol)));
    item.insert(SK.to_owned(), s("PROFILE"));
    item.insert("symbol".into(), s(symbol));
    item.insert("name".into(), s(stock.name.clone()));
    for (name, value) in [("sector", &stock.sector), ("subIndustry", &stock.sub_industry), ("enrichedAt", &stock.enriched_at)] {
        if let Some(value) = value {
            item.insert(name.into(), s(value.clone()));
        }
    }
    // Exact decimal strings as DynamoDB numbers: no binary floating point on the way.
    for metric in Metric::ALL {
        if let Some(value) = stock.metric(metric) {
            item.insert(metric.info().name.into(), AttributeValue::N(value.normalize().to_string()));
        }
    }
    item.insert("historyGenerated".into(), AttributeValue::Bool(stock.history_generated));
    let sector = stock.sector.as_deref().unwrap_or("Unknown");
    item.insert(market::GSI1_PK.into(), s(format!("SECTOR#{sector}")));
    item.insert(market::GSI1_SK.into(), s(market_cap_sort_key(stock.metric(Metric::MarketCap), symbol)));
    item
}

/// Writes items with BatchWriteItem: ⌈N/25⌉ requests, plus one per round of unprocessed items.
async fn batch_put(clients: &AwsClients, table: &str, items: Vec<HashMap<String, AttributeValue>>) -> Result<(), StorageError> {
    crate::batch::write_all(clients, table, items.into_iter().map(crate::batch::Write::Put).collect()).await
}

/// Writes stock profiles: ⌈N/25⌉ BatchWriteItem (1 WCU per item under 1 KB).
pub async fn put_stocks(clients: &AwsClients, table: &str, stocks: &[Stock]) -> Result<(), StorageError> {
    batch_put(clients, table, stocks.iter().map(stock_item).collect()).await
}

/// Writes a symbol's daily closes, one item per calendar year (`generated` labels development
/// data). ⌈years/25⌉ BatchWriteItem, ≈ 4 WCU per year.
pub async fn put_history(
    clients: &AwsClients,
    table: &str,
    symbol: &str,
    points: &[PricePoint],
    generated: bool,
) -> Result<(), StorageError> {
    batch_put(clients, table, history_items(symbol, points, generated)).await
}

/// The history items of a symbol: one per calendar year.
fn history_items(symbol: &str, points: &[PricePoint], generated: bool) -> Vec<HashMap<String, AttributeValue>> {
    let mut by_year: Vec<(i32, String)> = Vec::new();
    for point in points {
        let entry = format!("{}:{}", point.date, point.close.normalize());
        match by_year.last_mut() {
            Some((year, text)) if *year == point.date.year() => {
                text.push(';');
                text.push_str(&entry);
            }
            _ => by_year.push((point.date.year(), entry)),
        }
    }
    by_year
        .into_iter()
        .map(|(year, text)| {
            HashMap::from([
                (PK.to_owned(), s(stock_pk(symbol))),
                (SK.to_owned(), s(format!("HISTORY#{year}"))),
                ("points".to_owned(), s(text)),
                ("generated".to_owned(), AttributeValue::Bool(generated)),
            ])
        })
        .collect()
}

/// A symbol's closes from `from` to `to` (inclusive), oldest first, and whether any is generated.
/// 1 Query: `pk = STOCK#<symbol> AND sk BETWEEN HISTORY#<from year> AND HISTORY#<to year>`
/// (≈ 1 RCU per year, eventually consistent).
pub async fn query_history(
    clients: &AwsClients,
    table: &str,
    symbol: &str,
    from: Date,
    to: Date,
) -> Result<(Vec<PricePoint>, bool), StorageError> {
    let (from_key, to_key) = (format!("HISTORY#{}", from.year()), format!("HISTORY#{}", to.year()));
    let items = query_all(clients, Partition::of(table, &stock_pk(symbol)), SortKeys::Between(&from_key, &to_key), None).await?;
    let mut points = Vec::new();
    let mut generated = false;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    for item in items {
        generated |= matches!(item.get("generated"), Some(AttributeValue::Bool(true)));
        let Some(AttributeValue::S(text)) = item.get("points") else { continue };
        for entry in text.split(';') {
            let corrupt = || StorageError::Corrupt { key: stock_pk(symbol), reason: format!("history entry {entry:?}") };
            let (date, close) = entry.split_once(':').ok_or_else(corrupt)?;
            let date = Date::parse(date, &format).map_err(|_| corrupt())?;
            if date >= from && date <= to {
                points.push(PricePoint { date, close: Decimal::from_str(close).map_err(|_| corrupt())? });
            }
        }
    }
    Ok((points, generated))
}

/// The current universe version (0 when none was published). 1 GetItem, strongly consistent (1 RCU).
pub async fn universe_version(clients: &AwsClients, table: &str) -> Result<u64, StorageError> {
    let found = get_item(clients, table, "UNIVERSE", "VERSION", true).await?;
    match found.as_ref().and_then(|i| i.get("version")) {
        None => Ok(0),
        Some(AttributeValue::N(n)) => {
            n.parse().map_err(|_| StorageError::Corrupt { key: "UNIVERSE".into(), reason: format!("version {n}") })
        }
        Some(_) => Err(StorageError::Corrupt { key: "UNIVERSE".into(), reason: "version is not a number".into() }),
    }
}

/// How long a publisher holds the publishing lease (a crashed publisher blocks others this long).
const PUBLISH_LEASE_SECONDS: u64 = 30;

/// An UpdateItem of the universe's version item, with the names of its version (`#v`) and publish
/// lease (`#p` token, `#pu` until); the caller adds the expressions and sends it.
fn update_universe_version(clients: &AwsClients, table: &str) -> UpdateItemFluentBuilder {
    clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s("UNIVERSE"))
        .key(SK, s("VERSION"))
        .expression_attribute_names("#v", "version")
        .expression_attribute_names("#p", "publishing")
        .expression_attribute_names("#pu", "publishingUntil")
}

/// Publishes `stocks` as the next universe version and returns it. First takes a short lease on
/// the version item (UpdateItem `SET publishing = :token` if the version is still `:current` and
/// no unexpired lease is held), so two publishers never write chunks of the same version; then
/// writes the snapshot chunks (1 PutItem each) under the next version, then moves the version
/// (UpdateItem `SET version = :next REMOVE publishing` if `publishing = :token`). A publisher
/// that loses either step gets `Conflict` (see [`republish_with`] for merging and retrying). The
/// superseded snapshot expires an hour later (1 UpdateItem per chunk).
pub async fn publish_universe(clients: &AwsClients, table: &str, stocks: &[Stock], now_epoch: u64) -> Result<u64, StorageError> {
    let current = universe_version(clients, table).await?;
    let next = current + 1;
    let chunks = encode_chunks(stocks)?;
    let token = publish_token();
    let mut lease = update_universe_version(clients, table)
        .update_expression("SET #p = :token, #pu = :until")
        .expression_attribute_values(":token", s(token.clone()))
        .expression_attribute_values(":until", AttributeValue::N((now_epoch + PUBLISH_LEASE_SECONDS).to_string()))
        .expression_attribute_values(":now", AttributeValue::N(now_epoch.to_string()));
    let free = "(attribute_not_exists(#pu) OR #pu < :now)";
    lease = if current == 0 {
        lease
            .condition_expression(format!("(attribute_not_exists(#v) OR #v = :zero) AND {free}"))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
    } else {
        lease
            .condition_expression(format!("#v = :current AND {free}"))
            .expression_attribute_values(":current", AttributeValue::N(current.to_string()))
    };
    lease.send().await.map_err(dynamodb_error)?;
    for (i, chunk) in chunks.iter().enumerate() {
        clients
            .dynamodb
            .put_item()
            .table_name(table)
            .item(PK, s(format!("UNIVERSE#{next}")))
            .item(SK, s(format!("CHUNK#{i:04}")))
            .item("data", AttributeValue::B(Blob::new(chunk.clone())))
            .item("count", AttributeValue::N(chunks.len().to_string()))
            .send()
            .await
            .map_err(dynamodb_error)?;
    }
    let update = update_universe_version(clients, table)
        .update_expression("SET #v = :next, #n = :count REMOVE #p, #pu")
        .expression_attribute_names("#n", "stocks")
        .expression_attribute_values(":next", AttributeValue::N(next.to_string()))
        .expression_attribute_values(":count", AttributeValue::N(stocks.len().to_string()))
        .expression_attribute_values(":token", s(token))
        .condition_expression("#p = :token");
    update.send().await.map_err(dynamodb_error)?;
    if current > 0 {
        expire_snapshot(clients, table, current, now_epoch + OLD_SNAPSHOT_SECONDS).await?;
    }
    Ok(next)
}

/// A token unique to this publish attempt (process, time, counter).
fn publish_token() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

async fn expire_snapshot(clients: &AwsClients, table: &str, version: u64, at_epoch: u64) -> Result<(), StorageError> {
    let keys = query_all(clients, Partition::of(table, &format!("UNIVERSE#{version}")), SortKeys::All, Some("pk, sk")).await?;
    for item in keys {
        clients
            .dynamodb
            .update_item()
            .table_name(table)
            .key(PK, item.get(PK).cloned().unwrap_or_else(|| s("")))
            .key(SK, item.get(SK).cloned().unwrap_or_else(|| s("")))
            .update_expression("SET #ttl = :at")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":at", AttributeValue::N(at_epoch.to_string()))
            .send()
            .await
            .map_err(dynamodb_error)?;
    }
    Ok(())
}

/// Loads the universe of `version`: 1 Query on `pk = UNIVERSE#<version>` (more pages only past
/// 1 MB of compressed data, i.e. tens of thousands of stocks).
pub async fn load_universe(clients: &AwsClients, table: &str, version: u64) -> Result<Vec<Stock>, StorageError> {
    let key = format!("UNIVERSE#{version}");
    let mut stocks = Vec::new();
    for item in query_all(clients, Partition::of(table, &key), SortKeys::All, None).await? {
        let Some(AttributeValue::B(blob)) = item.get("data") else {
            return Err(StorageError::Corrupt { key, reason: "chunk without data".into() });
        };
        stocks.extend(decode_chunk(blob.as_ref()).map_err(|e| StorageError::Corrupt { key: key.clone(), reason: e.to_string() })?);
    }
    Ok(stocks)
}

fn encode_chunks(stocks: &[Stock]) -> Result<Vec<Vec<u8>>, StorageError> {
    let corrupt = |e: std::io::Error| StorageError::Corrupt { key: "UNIVERSE".into(), reason: e.to_string() };
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    for stock in stocks {
        let line = serde_json::to_vec(stock).map_err(|e| StorageError::Corrupt { key: stock.symbol.to_string(), reason: e.to_string() })?;
        if !current.is_empty() && current.len() + line.len() > CHUNK_BYTES {
            chunks.push(std::mem::take(&mut current));
        }
        current.extend_from_slice(&line);
        current.push(b'\n');
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
        .into_iter()
        .map(|raw| {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            encoder.write_all(&raw).map_err(corrupt)?;
            encoder.finish().map_err(corrupt)
        })
        .collect()
}

/// Why a stored chunk of the universe cannot be read.
#[derive(Debug, thiserror::Error)]
enum ChunkError {
    #[error("not gzip-compressed UTF-8: {0}")]
    Compression(#[from] std::io::Error),
    #[error("a line is not a stock: {0}")]
    Stock(#[from] serde_json::Error),
}

fn decode_chunk(bytes: &[u8]) -> Result<Vec<Stock>, ChunkError> {
    let mut raw = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut raw)?;
    Ok(raw.lines().filter(|l| !l.is_empty()).map(serde_json::from_str).collect::<Result<_, _>>()?)
}

/// How long a day's market signals are kept.
const SIGNAL_DAYS: u64 = 30;

/// A market signal of a day, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketSignal {
    pub symbol: String,
    pub kind: String,
    pub detail: String,
}

fn signal_items(date: &str, signals: &[MarketSignal], expires_at: u64) -> Vec<HashMap<String, AttributeValue>> {
    signals
        .iter()
        .map(|signal| {
            HashMap::from([
                (PK.to_owned(), s(format!("SIGNALS#{date}"))),
                (SK.to_owned(), s(format!("{}#{}", signal.kind, signal.symbol))),
                ("symbol".to_owned(), s(signal.symbol.clone())),
                ("kind".to_owned(), s(signal.kind.clone())),
                ("detail".to_owned(), s(signal.detail.clone())),
                (TTL.to_owned(), AttributeValue::N(expires_at.to_string())),
            ])
        })
        .collect()
}

/// Writes everything one enrichment produced for a symbol in one go: the profile
/// (`STOCK#<symbol>`/`PROFILE`), the history (`HISTORY#<year>` items) and the day's market signals
/// (`pk = SIGNALS#<date>`, `sk = <kind>#<symbol>`, kept 30 days). One BatchWriteItem for up to 25
/// items (a profile, ≤ 3 years of history and ≤ 4 signals fit), retrying unprocessed items with
/// backoff. Idempotent: the same keys get the same items, so a redelivery rewrites them unchanged.
pub async fn put_enrichment(
    clients: &AwsClients,
    table: &str,
    stock: &Stock,
    history: &[PricePoint],
    signals: &[MarketSignal],
    date: &str,
    now_epoch: u64,
) -> Result<(), StorageError> {
    let mut items = vec![stock_item(stock)];
    if !history.is_empty() {
        items.extend(history_items(stock.symbol.as_str(), history, stock.history_generated));
    }
    items.extend(signal_items(date, signals, now_epoch + SIGNAL_DAYS * 86_400));
    batch_put(clients, table, items).await
}

/// The market signals stored for `date` (`YYYY-MM-DD`). 1 Query on `pk = SIGNALS#<date>`
/// (a few hundred small items: ≈ 1 RCU per 4 KB read).
pub async fn market_signals_of_day(clients: &AwsClients, table: &str, date: &str) -> Result<Vec<MarketSignal>, StorageError> {
    let key = format!("SIGNALS#{date}");
    let items = query_all(clients, Partition::of(table, &key), SortKeys::All, None).await?;
    let text = |item: &HashMap<String, AttributeValue>, name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    };
    Ok(items.iter().map(|i| MarketSignal { symbol: text(i, "symbol"), kind: text(i, "kind"), detail: text(i, "detail") }).collect())
}

/// Reads a stock profile item back (the inverse of the profile written by `put_stocks`).
pub fn stock_from_item(item: &HashMap<String, AttributeValue>) -> Result<Stock, StorageError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let symbol = text("symbol").unwrap_or_default();
    let corrupt = |reason: String| StorageError::Corrupt { key: stock_pk(&symbol), reason };
    let parsed = bourse_domain::Symbol::parse(&symbol).map_err(|e| corrupt(e.to_string()))?;
    let mut stock = Stock::new(parsed, text("name").unwrap_or_default());
    stock.sector = text("sector");
    stock.sub_industry = text("subIndustry");
    stock.enriched_at = text("enrichedAt");
    stock.history_generated = matches!(item.get("historyGenerated"), Some(AttributeValue::Bool(true)));
    for metric in Metric::ALL {
        if let Some(AttributeValue::N(n)) = item.get(metric.info().name) {
            stock.set(
                metric,
                Some(
                    Decimal::from_str(n)
                        .or_else(|_| Decimal::from_scientific(n))
                        .map_err(|_| corrupt(format!("{} = {n}", metric.info().name)))?,
                ),
            );
        }
    }
    Ok(stock)
}

/// Stock profiles by symbol: ⌈N/100⌉ BatchGetItem (0.5 RCU per profile, eventually consistent),
/// plus one request per round of unprocessed keys. Unknown symbols are simply absent.
pub async fn get_stocks(clients: &AwsClients, table: &str, symbols: &[String]) -> Result<Vec<Stock>, StorageError> {
    let keys = symbols.iter().map(|symbol| HashMap::from([(PK.to_owned(), s(stock_pk(symbol))), (SK.to_owned(), s("PROFILE"))])).collect();
    crate::batch::get_all(clients, table, keys, None, false).await?.iter().map(stock_from_item).collect()
}

/// Publishes a new universe version in which `updated` replace the stocks of the same symbol;
/// a symbol not in the universe yet joins it only if `admit` accepts it (the caller's check that
/// a provider knows it). 1 GetItem (version) + 1 Query (the current snapshot) + the cost of
/// [`publish_universe`]. Two publishers racing: the loser re-reads the winner's snapshot and
/// applies its stocks on top (retrying for longer than the publishing lease), so neither update is
/// lost.
pub async fn republish_with(
    clients: &AwsClients,
    table: &str,
    updated: &[Stock],
    admit: impl Fn(&Stock) -> bool,
    now_epoch: u64,
) -> Result<u64, StorageError> {
    let mut attempts = Attempts::with(&LEASE_HELD, PUBLISH_ATTEMPTS);
    while attempts.next().await {
        let version = universe_version(clients, table).await?;
        let mut stocks = if version == 0 { Vec::new() } else { load_universe(clients, table, version).await? };
        let index: HashMap<String, usize> = stocks.iter().enumerate().map(|(i, s)| (s.symbol.to_string(), i)).collect();
        for stock in updated {
            match index.get(stock.symbol.as_str()) {
                Some(i) => stocks[*i] = stock.clone(),
                None if admit(stock) => stocks.push(stock.clone()),
                None => tracing::info!(symbol = %stock.symbol, "not admitted to the universe"),
            }
        }
        match publish_universe(clients, table, &stocks, now_epoch).await {
            Ok(next) => return Ok(next),
            Err(StorageError::Conflict(message)) => {
                tracing::info!(attempt = attempts.made(), message, "another publisher holds the lease or won; merging onto its snapshot");
            }
            Err(err) => return Err(err),
        }
    }
    Err(StorageError::Conflict(format!("the universe stayed locked by other publishers for {PUBLISH_ATTEMPTS} attempts")))
}

/// Attempts of [`republish_with`] while another publisher holds the lease: with [`LEASE_HELD`]
/// pauses, at least 31 s in all, longer than the publishing lease.
const PUBLISH_ATTEMPTS: u32 = 80;

/// Symbols waiting for the next coalesced publish: `pk = UNIVERSE, sk = PENDING`, a string set
/// `symbols` and `scheduledAt` while a publish message is on its way.
fn pending_key() -> [(&'static str, AttributeValue); 2] {
    [(PK, s("UNIVERSE")), (SK, s("PENDING"))]
}

/// Adds symbols to the next publish: 1 UpdateItem `ADD symbols :set SET scheduledAt =
/// if_not_exists(scheduledAt, :now)`. True when this call scheduled it (no publish was on its way):
/// the caller then sends the one publish message.
pub async fn add_pending_publish(clients: &AwsClients, table: &str, symbols: &[String], now_epoch: u64) -> Result<bool, StorageError> {
    if symbols.is_empty() {
        return Ok(false);
    }
    let [(pk_name, pk), (sk_name, sk)] = pending_key();
    let output = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(pk_name, pk)
        .key(sk_name, sk)
        .update_expression("ADD symbols :symbols SET scheduledAt = if_not_exists(scheduledAt, :now)")
        .expression_attribute_values(":symbols", AttributeValue::Ss(symbols.to_vec()))
        .expression_attribute_values(":now", n(now_epoch))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
        .send()
        .await
        .map_err(dynamodb_error)?;
    Ok(!output.attributes.unwrap_or_default().contains_key("scheduledAt"))
}

/// The symbols waiting for a publish. 1 GetItem, strongly consistent.
pub async fn pending_publish(clients: &AwsClients, table: &str) -> Result<Vec<String>, StorageError> {
    let item = get_item(clients, table, "UNIVERSE", "PENDING", true).await?;
    Ok(match item.as_ref().and_then(|i| i.get("symbols")) {
        Some(AttributeValue::Ss(symbols)) => symbols.clone(),
        _ => Vec::new(),
    })
}

/// After a publish of `published`: removes them from the pending set and ends the schedule, then —
/// when symbols were added meanwhile — schedules the next publish. 1 UpdateItem (`DELETE symbols
/// :published REMOVE scheduledAt`), plus 1 conditional UpdateItem when some remain. True when
/// this call scheduled the next publish (the caller sends its message).
pub async fn finish_pending_publish(clients: &AwsClients, table: &str, published: &[String], now_epoch: u64) -> Result<bool, StorageError> {
    let [(pk_name, pk), (sk_name, sk)] = pending_key();
    let mut update = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(pk_name, pk.clone())
        .key(sk_name, sk.clone())
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
    update = if published.is_empty() {
        update.update_expression("REMOVE scheduledAt")
    } else {
        update
            .update_expression("DELETE symbols :published REMOVE scheduledAt")
            .expression_attribute_values(":published", AttributeValue::Ss(published.to_vec()))
    };
    let after = update.send().await.map_err(dynamodb_error)?.attributes.unwrap_or_default();
    if !matches!(after.get("symbols"), Some(AttributeValue::Ss(rest)) if !rest.is_empty()) {
        return Ok(false);
    }
    let scheduled = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(pk_name, pk)
        .key(sk_name, sk)
        .update_expression("SET scheduledAt = :now")
        .condition_expression("attribute_not_exists(scheduledAt)")
        .expression_attribute_values(":now", n(now_epoch))
        .send()
        .await;
    crate::error::applied(scheduled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bourse_domain::Symbol;

    #[test]
    fn market_cap_keys_sort_as_numbers() {
        let small = market_cap_sort_key(Some(Decimal::from(9_000_000u64)), "A");
        let big = market_cap_sort_key(Some(Decimal::from_str("92293693440.7").unwrap()), "B");
        let unknown = market_cap_sort_key(None, "C");
        assert!(unknown < small && small < big, "{unknown} {small} {big}");
        assert_eq!(big, "00000000092293693440#B");
    }

    #[test]
    fn snapshot_chunks_round_trip() {
        let mut stock = Stock::new(Symbol::parse("BRK.B").unwrap(), "Berkshire".into());
        stock.set(Metric::Price, Some(Decimal::from_str("412.07").unwrap()));
        let stocks = vec![stock; 3];
        let chunks = encode_chunks(&stocks).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(decode_chunk(&chunks[0]).unwrap(), stocks);
        assert_eq!(encode_chunks(&[]).unwrap().len(), 1);
    }
}

/// Latest quotes (price, change, sector, dividend yield) for any number of symbols from the market table:
/// ⌈N/100⌉ BatchGetItem sent concurrently (0.5 RCU per stock), unprocessed keys retried — never
/// one read per symbol. Keys still unprocessed after the retries are an error (503, nothing
/// cached), never positions shown unpriced.
pub async fn quotes(clients: &AwsClients, market_table: &str, symbols: &[Symbol]) -> Result<HashMap<String, Quote>, StorageError> {
    let keys =
        symbols.iter().map(|sym| HashMap::from([(PK.to_owned(), s(format!("STOCK#{sym}"))), (SK.to_owned(), s("PROFILE"))])).collect();
    let items =
        crate::batch::get_all(clients, market_table, keys, Some("symbol, price, change, change_pct, sector, dividend_yield"), false)
            .await?;
    let number = |item: &Item, name: &str| match item.get(name) {
        Some(AttributeValue::N(v)) => Decimal::from_str(v).ok(),
        _ => None,
    };
    Ok(items
        .iter()
        .map(|item| {
            let quote = Quote {
                price: number(item, "price"),
                change: number(item, "change"),
                change_pct: number(item, "change_pct"),
                sector: text(item, "sector").map(str::to_owned),
                dividend_yield: number(item, "dividend_yield"),
            };
            (text(item, "symbol").unwrap_or_default().to_owned(), quote)
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quote {
    pub price: Option<Decimal>,
    pub change: Option<Decimal>,
    pub change_pct: Option<Decimal>,
    pub sector: Option<String>,
    /// The universe's annual dividend / price (a fraction), for projecting dividends.
    pub dividend_yield: Option<Decimal>,
}
