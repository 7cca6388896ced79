//! The Query helpers: every item of a partition (optionally a sort-key range, an index, a
//! projection), following pages, each page one Query request of up to 1 MB read; one page of a
//! `gsi1` partition after a position (the alerts of a symbol, the active-portfolio shards); the
//! GetItem and the conditional delete of one item. The lists a client pages through with a cursor
//! (transactions, signals, open jobs) send their own single-page Query with `Limit` and a start key.

use crate::attr::s;
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::schema::{PK, SK, app};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// Which sort keys of the partition to read.
#[derive(Debug, Clone, Copy)]
pub enum SortKeys<'a> {
    All,
    BeginsWith(&'a str),
    Between(&'a str, &'a str),
}

/// A partition to read: the base table's `pk`/`sk`, or an index's key attributes.
#[derive(Debug, Clone, Copy)]
pub struct Partition<'a> {
    pub table: &'a str,
    pub index: Option<(&'a str, &'a str, &'a str)>,
    pub key: &'a str,
    /// Strongly consistent reads (base table only; twice the RCU).
    pub consistent: bool,
}

impl<'a> Partition<'a> {
    pub fn of(table: &'a str, key: &'a str) -> Self {
        Partition { table, index: None, key, consistent: false }
    }

    /// The same partition, read strongly consistent.
    pub fn consistent(self) -> Self {
        Partition { consistent: true, ..self }
    }

    /// A partition of index `name` whose hash and range keys are `pk` and `sk`.
    pub fn on_index(table: &'a str, name: &'a str, pk: &'a str, sk: &'a str, key: &'a str) -> Self {
        Partition { table, index: Some((name, pk, sk)), key, consistent: false }
    }
}

/// The item at (`pk`, `sk`) of the base table, if any: 1 GetItem — strongly consistent (1 RCU
/// per 4 KB) when `consistent`, else eventually consistent (0.5 RCU).
pub async fn get_item(
    clients: &AwsClients,
    table: &str,
    pk: impl Into<String>,
    sk: impl Into<String>,
    consistent: bool,
) -> Result<Option<Item>, StorageError> {
    let output = clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .consistent_read(consistent)
        .send()
        .await
        .map_err(dynamodb_error)?;
    Ok(output.item)
}

/// Deletes the item at (`pk`, `sk`) of the base table if it exists: `false` when it did not.
/// 1 DeleteItem with `attribute_exists(pk)` (1 WCU per KB deleted).
pub async fn delete_existing(
    clients: &AwsClients,
    table: &str,
    pk: impl Into<String>,
    sk: impl Into<String>,
) -> Result<bool, StorageError> {
    let deleted = clients
        .dynamodb
        .delete_item()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .send()
        .await;
    crate::error::applied(deleted)
}

/// One page of the `gsi1` partition `key` after the index position `after` (a `gsi1sk`):
/// 1 Query, `gsi1pk = <key> [AND gsi1sk > <after>]`, `Limit` = `limit`, eventually consistent
/// (as every index read); `keys_only` projects `gsi1sk` alone. Returns the items and, when the
/// partition may hold more, the `gsi1sk` of the last one (where the next page starts).
pub async fn gsi1_page(
    clients: &AwsClients,
    table: &str,
    key: &str,
    after: Option<&str>,
    limit: i32,
    keys_only: bool,
) -> Result<(Vec<Item>, Option<String>), StorageError> {
    let mut query = clients
        .dynamodb
        .query()
        .table_name(table)
        .index_name(app::GSI1)
        .expression_attribute_names("#pk", app::GSI1_PK)
        .expression_attribute_values(":pk", s(key))
        .limit(limit);
    if keys_only || after.is_some() {
        // Named only when used: DynamoDB refuses an unused name.
        query = query.expression_attribute_names("#sk", app::GSI1_SK);
    }
    if keys_only {
        query = query.projection_expression("#sk");
    }
    query = match after {
        Some(after) => query.key_condition_expression("#pk = :pk AND #sk > :after").expression_attribute_values(":after", s(after)),
        None => query.key_condition_expression("#pk = :pk"),
    };
    let output = query.send().await.map_err(dynamodb_error)?;
    let items = output.items.unwrap_or_default();
    let next = match output.last_evaluated_key {
        Some(_) => items.last().and_then(|item| crate::attr::text(item, app::GSI1_SK)).map(str::to_owned),
        None => None,
    };
    Ok((items, next))
}

/// Every item of `partition` in ascending sort-key order.
pub async fn query_all(
    clients: &AwsClients,
    partition: Partition<'_>,
    sort_keys: SortKeys<'_>,
    projection: Option<&str>,
) -> Result<Vec<Item>, StorageError> {
    let (index, pk_name, sk_name) = match partition.index {
        Some((name, pk, sk)) => (Some(name.to_owned()), pk, sk),
        None => (None, PK, SK),
    };
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let mut query = clients
            .dynamodb
            .query()
            .table_name(partition.table)
            .set_index_name(index.clone())
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", AttributeValue::S(partition.key.to_owned()))
            .set_exclusive_start_key(start)
            .consistent_read(partition.consistent)
            .set_projection_expression(projection.map(str::to_owned));
        query = match sort_keys {
            SortKeys::All => query.key_condition_expression("#pk = :pk"),
            SortKeys::BeginsWith(prefix) => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":prefix", s(prefix)),
            SortKeys::Between(from, to) => query
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(to)),
        };
        let output = query.send().await.map_err(dynamodb_error)?;
        items.extend(output.items.unwrap_or_default());
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}
