//! Pipeline diagnostics in the app table: proof that a queue message or a scheduled trigger reached
//! the consumer. Keys: `pk = PING#<id>`, `sk = PING`; `pk = SCHEDULE#<task>`, `sk = <UTC date>`.

use crate::attr::{n, s};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::get_item;
use crate::schema::{PK, SK, TTL};
use aws_sdk_dynamodb::types::AttributeValue;

const DAY_SECONDS: u64 = 24 * 60 * 60;

/// Records a ping's first delivery. 1 conditional PutItem (1 WCU); a redelivery finds it and changes nothing.
pub async fn record_ping(clients: &AwsClients, table: &str, id: &str, received_at: &str, now_epoch: u64) -> Result<(), StorageError> {
    let put = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(format!("PING#{id}")))
        .item(SK, s("PING"))
        .item("receivedAt", s(received_at))
        .item(TTL, n(now_epoch + DAY_SECONDS))
        // The first delivery is the one recorded: a redelivery changes nothing.
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .send()
        .await;
    match put.map_err(dynamodb_error) {
        Ok(_) | Err(StorageError::Conflict(_)) => Ok(()),
        Err(err) => Err(err),
    }
}

/// When a ping was received, if it was. 1 GetItem, strongly consistent (1 RCU).
pub async fn ping_received_at(clients: &AwsClients, table: &str, id: &str) -> Result<Option<String>, StorageError> {
    let found = get_item(clients, table, format!("PING#{id}"), "PING", true).await?;
    Ok(found.and_then(|item| match item.get("receivedAt") {
        Some(AttributeValue::S(at)) => Some(at.clone()),
        _ => None,
    }))
}

/// Records that a scheduled task ran on `date` (UTC, `YYYY-MM-DD`). 1 PutItem; one item per task
/// and day, kept 90 days.
pub async fn record_scheduled_run(
    clients: &AwsClients,
    table: &str,
    task: &str,
    date: &str,
    started_at: &str,
    now_epoch: u64,
) -> Result<(), StorageError> {
    clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(format!("SCHEDULE#{task}")))
        .item(SK, s(date))
        .item("startedAt", s(started_at))
        .item(TTL, n(now_epoch + 90 * DAY_SECONDS))
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}
