//! Usage metering in the app table: one item per user and UTC day.
//!
//! Key: `pk = USAGE#<userId>`, `sk = <YYYY-MM-DD>`; attributes `total` and one counter per route
//! template, named `r:<METHOD> <template>` (e.g. `r:GET /v1/me`); `ttl` = the day + 100 days.
//! Counting is one UpdateItem (`ADD`) conditional on `total < limit`, so the count and the quota
//! check are one atomic write: concurrent requests never lose a count or overshoot the quota.

use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::{Partition, SortKeys, query_all};
use crate::schema::{PK, SK, TTL};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use bourse_domain::UserId;
use std::collections::BTreeMap;

pub fn usage_pk(user_id: &UserId) -> String {
    format!("USAGE#{user_id}")
}

/// How long a day's usage is kept.
const KEEP_SECONDS: i64 = 100 * 86_400;

/// Outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Counted; `total` is the day's count including this request.
    Ok { total: u64 },
    /// Refused: the day's total had reached the limit. Nothing was counted.
    OverQuota,
}

/// Counts one request on `route` for `user_id` on `date`, unless the day's total has reached
/// `limit`. 1 UpdateItem (1 WCU).
pub async fn count_request(
    clients: &AwsClients,
    table: &str,
    user_id: &UserId,
    date: &str,
    day_start: i64,
    route: &str,
    limit: u64,
) -> Result<Counted, StorageError> {
    let result = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, AttributeValue::S(usage_pk(user_id)))
        .key(SK, AttributeValue::S(date.to_owned()))
        .update_expression("ADD #total :one, #route :one SET #ttl = :ttl")
        .condition_expression("attribute_not_exists(#total) OR #total < :limit")
        .expression_attribute_names("#total", "total")
        .expression_attribute_names("#route", format!("r:{route}"))
        .expression_attribute_names("#ttl", TTL)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
        .expression_attribute_values(":ttl", AttributeValue::N((day_start + KEEP_SECONDS).to_string()))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await;
    match result.map_err(dynamodb_error) {
        Ok(output) => {
            let total = match output.attributes.as_ref().and_then(|a| a.get("total")) {
                Some(AttributeValue::N(v)) => v.parse().unwrap_or(u64::MAX),
                _ => return Err(StorageError::Corrupt { key: usage_pk(user_id), reason: "total not returned".into() }),
            };
            Ok(Counted::Ok { total })
        }
        Err(StorageError::Conflict(_)) => Ok(Counted::OverQuota),
        Err(other) => Err(other),
    }
}

/// One day of usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayUsage {
    pub date: String,
    pub total: u64,
    pub routes: BTreeMap<String, u64>,
}

/// Usage of `user_id` from `from` to `to` (inclusive, `YYYY-MM-DD`). 1 Query
/// `pk = USAGE#<user> AND sk BETWEEN :from AND :to` (≤ 90 items, one page unless a day holds
/// hundreds of routes; further pages are followed), eventually consistent.
pub async fn usage_between(
    clients: &AwsClients,
    table: &str,
    user_id: &UserId,
    from: &str,
    to: &str,
) -> Result<Vec<DayUsage>, StorageError> {
    let pk = usage_pk(user_id);
    let mut days = Vec::new();
    for item in query_all(clients, Partition::of(table, &pk), SortKeys::Between(from, to), None).await? {
        let date = match item.get(SK) {
            Some(AttributeValue::S(d)) => d.clone(),
            _ => continue,
        };
        let number = |v: &AttributeValue| match v {
            AttributeValue::N(n) => n.parse::<u64>().ok(),
            _ => None,
        };
        let total = item.get("total").and_then(number).unwrap_or(0);
        let routes = item.iter().filter_map(|(name, value)| Some((name.strip_prefix("r:")?.to_owned(), number(value)?))).collect();
        days.push(DayUsage { date, total, routes });
    }
    Ok(days)
}
