//! The signals journal in the app table. Keys include the owner, so another user's signal id can
//! never address an item (not found, never forbidden):
//! - signal: `pk = J#<user>`, `sk = SIG#<id>` (ids sort by creation time); on `gsi1`
//!   `gsi1pk = J#<user>#SYM#<symbol>`, `gsi1sk = <id>` (by symbol); on `gsi2`
//!   `gsi2pk = J#<user>#ST#<status>`, `gsi2sk = <id>` (by status; closing moves it);
//! - statistics, one item per symbol: `pk = J#<user>`, `sk = STATS#<symbol>` with counts, the sum
//!   and the sorted list of returns, and a `version` for optimistic concurrency.
//!
//! Every create, close and delete is one TransactWriteItems of the signal write (conditioned) and
//! the statistics item(s) (`version = :expected`, or `attribute_not_exists` when new). A lost race
//! fails with [`StorageError::Conflict`]; the caller re-reads and retries.
//!
//! Cost: the statistics item is rewritten whole by each write, 1 WCU per KB (×2 inside a
//! transaction), so a symbol with thousands of closed signals makes its writes dearer; the
//! per-symbol bound in `bourse_domain::journal` keeps the item under DynamoDB's 400 KB.

use crate::attr::{self, corrupt, decimal as n, s};
use crate::batch::build_error;
use crate::clients::AwsClients;
use crate::error::{StorageError, dynamodb_error};
use crate::query::{Item, Partition, SortKeys, get_item, query_all};
use crate::schema::{PK, SK, app};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use bourse_domain::Symbol;
use bourse_domain::UserId;
use bourse_domain::journal::{Confidence, Direction, Outcome, SignalId, Status, SymbolStats};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// A signal as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalRecord {
    pub id: SignalId,
    pub symbol: Symbol,
    pub direction: Direction,
    pub entry_price: Decimal,
    pub target_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub confidence: Confidence,
    pub source: Option<String>,
    pub note: Option<String>,
    /// RFC 3339, UTC.
    pub opened_at: String,
    pub created_at: String,
    pub close: Option<Closing>,
}

/// How a closed signal closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub exit_price: Decimal,
    pub closed_at: String,
    pub note: Option<String>,
    pub return_pct: Decimal,
    pub outcome: Outcome,
}

impl SignalRecord {
    pub fn status(&self) -> Status {
        if self.close.is_some() { Status::Closed } else { Status::Open }
    }
}

/// A symbol's statistics with the version they were read at (0 = not stored yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionedStats {
    pub stats: SymbolStats,
    pub version: u64,
}

/// Which signals a list asks for.
#[derive(Debug, Clone, Default)]
pub struct SignalFilter {
    pub status: Option<Status>,
    pub symbol: Option<Symbol>,
    pub min_confidence: Option<Confidence>,
}

pub fn journal_pk(user: &UserId) -> String {
    format!("J#{user}")
}

fn signal_sk(id: &SignalId) -> String {
    format!("SIG#{id}")
}

fn stats_sk(symbol: &Symbol) -> String {
    format!("STATS#{symbol}")
}

fn by_symbol_key(user: &UserId, symbol: &Symbol) -> String {
    format!("J#{user}#SYM#{symbol}")
}

fn by_status_key(user: &UserId, status: Status) -> String {
    format!("J#{user}#ST#{}", status.as_str())
}

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, StorageError> {
    attr::text(item, name).ok_or_else(|| corrupt(item, name))
}

fn optional_text(item: &Item, name: &str) -> Option<String> {
    attr::text(item, name).map(str::to_owned)
}

fn number(value: Option<&AttributeValue>) -> Option<Decimal> {
    match value {
        Some(AttributeValue::N(v)) => Decimal::from_str(v).ok(),
        _ => None,
    }
}

fn decimal(item: &Item, name: &str) -> Result<Decimal, StorageError> {
    number(item.get(name)).ok_or_else(|| corrupt(item, name))
}

fn count(item: &Item, name: &str) -> Result<u64, StorageError> {
    decimal(item, name)?.try_into().map_err(|_| corrupt(item, name))
}

fn signal_from(item: &Item) -> Result<SignalRecord, StorageError> {
    let close = match text(item, "status")? {
        "OPEN" => None,
        "CLOSED" => Some(Closing {
            exit_price: decimal(item, "exitPrice")?,
            closed_at: text(item, "closedAt")?.to_owned(),
            note: optional_text(item, "closeNote"),
            return_pct: decimal(item, "returnPct")?,
            outcome: Outcome::of(decimal(item, "returnPct")?),
        }),
        _ => return Err(corrupt(item, "status")),
    };
    let confidence = count(item, "confidence")?;
    Ok(SignalRecord {
        id: SignalId::parse(text(item, "id")?).map_err(|_| corrupt(item, "id"))?,
        symbol: Symbol::parse(text(item, "symbol")?).map_err(|_| corrupt(item, "symbol"))?,
        direction: Direction::parse(text(item, "direction")?).map_err(|_| corrupt(item, "direction"))?,
        entry_price: decimal(item, "entryPrice")?,
        target_price: number(item.get("targetPrice")),
        stop_price: number(item.get("stopPrice")),
        confidence: i64::try_from(confidence).ok().and_then(|c| Confidence::new(c).ok()).ok_or_else(|| corrupt(item, "confidence"))?,
        source: optional_text(item, "source"),
        note: optional_text(item, "note"),
        opened_at: text(item, "openedAt")?.to_owned(),
        created_at: text(item, "createdAt")?.to_owned(),
        close,
    })
}

fn stats_from(item: &Item) -> Result<VersionedStats, StorageError> {
    let returns = match item.get("returns") {
        Some(AttributeValue::L(values)) => {
            values.iter().map(|v| number(Some(v)).ok_or_else(|| corrupt(item, "returns"))).collect::<Result<Vec<_>, _>>()?
        }
        _ => return Err(corrupt(item, "returns")),
    };
    Ok(VersionedStats {
        stats: SymbolStats {
            open: count(item, "open")?,
            closed: count(item, "closed")?,
            wins: count(item, "wins")?,
            losses: count(item, "losses")?,
            breakeven: count(item, "breakeven")?,
            sum_returns: decimal(item, "sumReturns")?,
            returns,
        },
        version: count(item, "version")?,
    })
}

/// One signal, strongly consistent (the base of a close or delete, and `GET`). 1 GetItem
/// `pk = J#<user>, sk = SIG#<id>` (1 RCU).
pub async fn get_signal(clients: &AwsClients, table: &str, user: &UserId, id: &SignalId) -> Result<Option<SignalRecord>, StorageError> {
    get_item(clients, table, journal_pk(user), signal_sk(id), true).await?.as_ref().map(signal_from).transpose()
}

/// One symbol's statistics, strongly consistent (the base of a write). 1 GetItem
/// `pk = J#<user>, sk = STATS#<symbol>` (1 RCU per 4 KB).
pub async fn get_stats(clients: &AwsClients, table: &str, user: &UserId, symbol: &Symbol) -> Result<VersionedStats, StorageError> {
    Ok(get_item(clients, table, journal_pk(user), stats_sk(symbol), true).await?.as_ref().map(stats_from).transpose()?.unwrap_or_default())
}

/// Several symbols' statistics, strongly consistent (the base of a bulk create). 1 BatchGetItem
/// per 100 symbols, unprocessed keys retried; a symbol without an item gets empty statistics.
pub async fn get_stats_of(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    symbols: &[Symbol],
) -> Result<HashMap<Symbol, VersionedStats>, StorageError> {
    let pk = journal_pk(user);
    let mut out: HashMap<Symbol, VersionedStats> = symbols.iter().map(|s| (s.clone(), VersionedStats::default())).collect();
    let keys = out.keys().map(|sym| HashMap::from([(PK.to_owned(), s(pk.clone())), (SK.to_owned(), s(stats_sk(sym)))])).collect();
    for item in &crate::batch::get_all(clients, table, keys, None, true).await? {
        let symbol = Symbol::parse(text(item, "symbol")?).map_err(|_| corrupt(item, "symbol"))?;
        out.insert(symbol, stats_from(item)?);
    }
    Ok(out)
}

/// Every symbol's statistics of a user. 1 Query `pk = J#<user> AND begins_with(sk, STATS#)` (one
/// page up to 1 MB; further pages followed).
pub async fn all_stats(clients: &AwsClients, table: &str, user: &UserId) -> Result<Vec<(Symbol, SymbolStats)>, StorageError> {
    let pk = journal_pk(user);
    query_all(clients, Partition::of(table, &pk), SortKeys::BeginsWith("STATS#"), None)
        .await?
        .iter()
        .map(|item| Ok((Symbol::parse(text(item, "symbol")?).map_err(|_| corrupt(item, "symbol"))?, stats_from(item)?.stats)))
        .collect()
}

/// The statistics item written whole, `version = :expected` (or absent when `expected` is 0).
fn stats_write(table: &str, user: &UserId, symbol: &Symbol, next: &SymbolStats, expected: u64) -> Result<TransactWriteItem, StorageError> {
    let pk = journal_pk(user);
    let put = Put::builder()
        .table_name(table)
        .item(PK, s(pk.clone()))
        .item(SK, s(stats_sk(symbol)))
        .item("symbol", s(symbol.as_str()))
        .item("open", AttributeValue::N(next.open.to_string()))
        .item("closed", AttributeValue::N(next.closed.to_string()))
        .item("wins", AttributeValue::N(next.wins.to_string()))
        .item("losses", AttributeValue::N(next.losses.to_string()))
        .item("breakeven", AttributeValue::N(next.breakeven.to_string()))
        .item("sumReturns", n(next.sum_returns))
        .item("returns", AttributeValue::L(next.returns.iter().map(|r| n(*r)).collect()))
        .item("version", AttributeValue::N((expected + 1).to_string()))
        .expression_attribute_names("#v", "version");
    let put = if expected == 0 {
        put.condition_expression("attribute_not_exists(#v)")
    } else {
        put.condition_expression("#v = :expected").expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
    };
    Ok(TransactWriteItem::builder().put(put.build().map_err(build_error(&pk))?).build())
}

/// Statistics to write with a transaction: (symbol, next statistics, version read).
pub type StatsUpdate<'a> = (&'a Symbol, &'a SymbolStats, u64);

async fn transact(clients: &AwsClients, items: Vec<TransactWriteItem>) -> Result<(), StorageError> {
    clients.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await.map(|_| ()).map_err(dynamodb_error)
}

fn stats_writes(table: &str, user: &UserId, stats: &[StatsUpdate<'_>]) -> Result<Vec<TransactWriteItem>, StorageError> {
    stats.iter().map(|(symbol, next, expected)| stats_write(table, user, symbol, next, *expected)).collect()
}

/// Creates signals (open) with their symbols' statistics in one TransactWriteItems: each signal a
/// Put `attribute_not_exists(pk)`, each statistics item conditioned on its version. The caller
/// keeps signals + statistics items ≤ 100 (DynamoDB's limit per transaction).
pub async fn create_signals(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    signals: &[SignalRecord],
    stats: &[StatsUpdate<'_>],
) -> Result<(), StorageError> {
    let pk = journal_pk(user);
    let mut items = Vec::with_capacity(signals.len() + stats.len());
    for signal in signals {
        let mut put = Put::builder()
            .table_name(table)
            .item(PK, s(pk.clone()))
            .item(SK, s(signal_sk(&signal.id)))
            .item(app::GSI1_PK, s(by_symbol_key(user, &signal.symbol)))
            .item(app::GSI1_SK, s(signal.id.as_str()))
            .item(app::GSI2_PK, s(by_status_key(user, Status::Open)))
            .item(app::GSI2_SK, s(signal.id.as_str()))
            .item("id", s(signal.id.as_str()))
            .item("symbol", s(signal.symbol.as_str()))
            .item("direction", s(signal.direction.as_str()))
            .item("entryPrice", n(signal.entry_price))
            .item("confidence", AttributeValue::N(signal.confidence.value().to_string()))
            .item("openedAt", s(signal.opened_at.clone()))
            .item("createdAt", s(signal.created_at.clone()))
            .item("status", s(Status::Open.as_str()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        for (name, value) in [("targetPrice", signal.target_price), ("stopPrice", signal.stop_price)] {
            if let Some(value) = value {
                put = put.item(name, n(value));
            }
        }
        for (name, value) in [("source", &signal.source), ("note", &signal.note)] {
            if let Some(value) = value {
                put = put.item(name, s(value.clone()));
            }
        }
        items.push(TransactWriteItem::builder().put(put.build().map_err(build_error(&pk))?).build());
    }
    items.extend(stats_writes(table, user, stats)?);
    transact(clients, items).await
}

/// Closes a signal and updates its symbol's statistics in one TransactWriteItems: Update of the
/// signal `SET status = CLOSED, gsi2pk = …#ST#CLOSED, exitPrice, closedAt, returnPct, outcome`
/// if `status = OPEN`, and the statistics `version = :expected` (2 items, ≈ 4 WCU + 2 per KB of
/// statistics).
pub async fn close_signal(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &SignalId,
    closing: &Closing,
    stats: StatsUpdate<'_>,
) -> Result<(), StorageError> {
    let pk = journal_pk(user);
    let set = "SET #status = :closed, #g2 = :g2, exitPrice = :exit, closedAt = :at, returnPct = :r, outcome = :o";
    let mut update = Update::builder()
        .table_name(table)
        .key(PK, s(pk.clone()))
        .key(SK, s(signal_sk(id)))
        .update_expression(if closing.note.is_some() { format!("{set}, closeNote = :note") } else { set.to_owned() })
        .condition_expression("#status = :open")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#g2", app::GSI2_PK)
        .expression_attribute_values(":closed", s(Status::Closed.as_str()))
        .expression_attribute_values(":open", s(Status::Open.as_str()))
        .expression_attribute_values(":g2", s(by_status_key(user, Status::Closed)))
        .expression_attribute_values(":exit", n(closing.exit_price))
        .expression_attribute_values(":at", s(closing.closed_at.clone()))
        .expression_attribute_values(":r", n(closing.return_pct))
        .expression_attribute_values(":o", s(closing.outcome.as_str()));
    if let Some(note) = &closing.note {
        update = update.expression_attribute_values(":note", s(note.clone()));
    }
    let mut items = vec![TransactWriteItem::builder().update(update.build().map_err(build_error(&pk))?).build()];
    items.extend(stats_writes(table, user, &[stats])?);
    transact(clients, items).await
}

/// Deletes a signal and removes it from its symbol's statistics in one TransactWriteItems: Delete
/// if `attribute_exists(pk) AND status = :as_read` (a signal closed meanwhile is not deleted as
/// open), and the statistics `version = :expected`.
pub async fn delete_signal(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &SignalId,
    status: Status,
    stats: StatsUpdate<'_>,
) -> Result<(), StorageError> {
    let pk = journal_pk(user);
    let delete = Delete::builder()
        .table_name(table)
        .key(PK, s(pk.clone()))
        .key(SK, s(signal_sk(id)))
        .condition_expression("attribute_exists(#pk) AND #status = :status")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", s(status.as_str()))
        .build()
        .map_err(build_error(&pk))?;
    let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
    items.extend(stats_writes(table, user, &[stats])?);
    transact(clients, items).await
}

/// Pages a list may read before answering with what it found and a cursor (bounds the work of a
/// request whose filters match little).
pub const MAX_LIST_PAGES: usize = 10;

/// A page of signals, newest first, after the signal `after` (exclusive). Served by one index:
/// symbol given → `gsi1` `gsi1pk = J#<user>#SYM#<symbol>` (status as a FilterExpression); else
/// status given → `gsi2` `gsi2pk = J#<user>#ST#<status>`; else the base table
/// `pk = J#<user> AND begins_with(sk, SIG#)`; `minConfidence` is always a FilterExpression.
/// Queries descend with `Limit = limit` and are followed until `limit` signals or the end, at most
/// [`MAX_LIST_PAGES`] requests. A filter costs the reads of the items it skips (1 RCU per 8 KB,
/// eventually consistent). Answers the signals and the id to continue after, if there may be more.
pub async fn list_signals(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    filter: &SignalFilter,
    limit: usize,
    after: Option<&SignalId>,
) -> Result<(Vec<SignalRecord>, Option<SignalId>), StorageError> {
    let pk = journal_pk(user);
    let (index, hash_name, range_name, hash) = match (&filter.symbol, filter.status) {
        (Some(symbol), _) => (Some(app::GSI1), app::GSI1_PK, app::GSI1_SK, by_symbol_key(user, symbol)),
        (None, Some(status)) => (Some(app::GSI2), app::GSI2_PK, app::GSI2_SK, by_status_key(user, status)),
        (None, None) => (None, PK, SK, pk.clone()),
    };
    let mut filters = Vec::new();
    let mut values: HashMap<String, AttributeValue> = HashMap::from([(":h".to_owned(), s(hash.clone()))]);
    let mut names: HashMap<String, String> = HashMap::from([("#h".to_owned(), hash_name.to_owned())]);
    if let (Some(status), Some(_)) = (filter.status, &filter.symbol) {
        filters.push("#status = :status");
        names.insert("#status".into(), "status".into());
        values.insert(":status".into(), s(status.as_str()));
    }
    if let Some(min) = filter.min_confidence {
        filters.push("confidence >= :min");
        values.insert(":min".into(), AttributeValue::N(min.value().to_string()));
    }
    let key_condition = if index.is_none() {
        names.insert("#r".into(), range_name.to_owned());
        values.insert(":prefix".into(), s("SIG#"));
        "#h = :h AND begins_with(#r, :prefix)"
    } else {
        "#h = :h"
    };
    // The start key of an index names the table's keys too; both follow from the id.
    let start_key = |id: &SignalId| -> Item {
        let mut key = HashMap::from([(PK.to_owned(), s(pk.clone())), (SK.to_owned(), s(signal_sk(id)))]);
        if index.is_some() {
            key.insert(hash_name.to_owned(), s(hash.clone()));
            key.insert(range_name.to_owned(), s(id.as_str()));
        }
        key
    };
    let mut found = Vec::new();
    let mut start = after.map(&start_key);
    for _ in 0..MAX_LIST_PAGES {
        let output = clients
            .dynamodb
            .query()
            .table_name(table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression(key_condition)
            .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
            .set_expression_attribute_names(Some(names.clone()))
            .set_expression_attribute_values(Some(values.clone()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(100))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(dynamodb_error)?;
        let items = output.items.unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            found.push(signal_from(item)?);
            if found.len() == limit {
                let more = i + 1 < items.len() || output.last_evaluated_key.is_some();
                let next = more.then(|| found[limit - 1].id.clone());
                return Ok((found, next));
            }
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok((found, None));
        }
    }
    // Out of pages: continue after the last item read (matched or not).
    let next = start.as_ref().and_then(|key| match key.get(range_name) {
        Some(AttributeValue::S(v)) => SignalId::parse(v.trim_start_matches("SIG#")).ok(),
        _ => None,
    });
    Ok((found, next))
}
