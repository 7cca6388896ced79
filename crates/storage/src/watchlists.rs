//! Watchlists in the app table: `pk = USER#<user>`, `sk = WATCHLIST#<id>` — `name`, `symbols`
//! (a list, in the user's order), `createdAt`, `updatedAt` and a `version` for optimistic
//! concurrency. A list is one small item (200 symbols ≈ 2 KB), so a change rewrites it whole,
//! conditioned on the version read; the user's key is in the key, so another user's id is simply
//! not found. An account's deletion empties the `USER#` partition, watchlists included.

use crate::attr::{corrupt, n, s, text};
use crate::clients::AwsClients;
use crate::error::{StorageError, applied};
use crate::query::{Item, Partition, SortKeys, get_item, query_all};
use crate::schema::{PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::{Symbol, UserId, WatchlistId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistRecord {
    pub id: WatchlistId,
    pub name: String,
    pub symbols: Vec<Symbol>,
    pub created_at: String,
    pub updated_at: String,
    /// 1 for a new list, one more with each change.
    pub version: u64,
}

fn sort_key(id: &WatchlistId) -> String {
    format!("WATCHLIST#{id}")
}

fn watchlist_from(item: &Item) -> Result<WatchlistRecord, StorageError> {
    let sk = text(item, SK).ok_or_else(|| corrupt(item, SK))?;
    let symbols = match item.get("symbols") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| v.as_s().ok().and_then(|s| Symbol::parse(s).ok()).ok_or_else(|| corrupt(item, "symbols")))
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(corrupt(item, "symbols")),
    };
    Ok(WatchlistRecord {
        id: sk.strip_prefix("WATCHLIST#").and_then(|id| WatchlistId::parse(id).ok()).ok_or_else(|| corrupt(item, SK))?,
        name: text(item, "name").ok_or_else(|| corrupt(item, "name"))?.to_owned(),
        symbols,
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
        updated_at: text(item, "updatedAt").unwrap_or_default().to_owned(),
        version: match item.get("version") {
            Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(item, "version"))?,
            _ => return Err(corrupt(item, "version")),
        },
    })
}

/// Writes `record` whole: a new list if `expected_version` is 0 (`attribute_not_exists`), else
/// only if the stored version is still `expected_version`. 1 PutItem (1 WCU per KB). `false`
/// when the condition failed (the id exists, or another change came first).
pub async fn put_watchlist(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    record: &WatchlistRecord,
    expected_version: u64,
) -> Result<bool, StorageError> {
    let put = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(format!("USER#{user}")))
        .item(SK, s(sort_key(&record.id)))
        .item("name", s(record.name.clone()))
        .item("symbols", AttributeValue::L(record.symbols.iter().map(|x| s(x.as_str())).collect()))
        .item("createdAt", s(record.created_at.clone()))
        .item("updatedAt", s(record.updated_at.clone()))
        .item("version", n(record.version))
        .expression_attribute_names("#pk", PK);
    let put = if expected_version == 0 {
        put.condition_expression("attribute_not_exists(#pk)")
    } else {
        put.condition_expression("attribute_exists(#pk) AND version = :expected")
            .expression_attribute_values(":expected", n(expected_version))
    };
    applied(put.send().await)
}

/// A user's watchlists, in id order. 1 Query `pk = USER#<user> AND begins_with(sk, WATCHLIST#)`,
/// strongly consistent (a list just created or changed is seen).
pub async fn list_watchlists(clients: &AwsClients, table: &str, user: &UserId) -> Result<Vec<WatchlistRecord>, StorageError> {
    let pk = format!("USER#{user}");
    let items = query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith("WATCHLIST#"), None).await?;
    items.iter().map(watchlist_from).collect()
}

/// One watchlist of a user (`None` when it does not exist or is someone else's). 1 GetItem,
/// strongly consistent (1 RCU).
pub async fn get_watchlist(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &WatchlistId,
) -> Result<Option<WatchlistRecord>, StorageError> {
    let found = get_item(clients, table, format!("USER#{user}"), sort_key(id), true).await?;
    found.as_ref().map(watchlist_from).transpose()
}

/// Deletes a watchlist; `false` when it did not exist. 1 DeleteItem with `attribute_exists(pk)`.
pub async fn delete_watchlist(clients: &AwsClients, table: &str, user: &UserId, id: &WatchlistId) -> Result<bool, StorageError> {
    crate::query::delete_existing(clients, table, format!("USER#{user}"), sort_key(id)).await
}
