//! The notifications inbox in the app table, with an exact unread count read in O(1).
//!
//! Keys (one partition per user, so an account's deletion empties it with one Query):
//! - notification: `pk = INBOX#<user>`, `sk = N#<notification id>` — `kind`, `title`, `body`,
//!   `link`, `createdAt`, `read`; `ttl` only once read (read + 30 days): an unread notification
//!   never expires, so the count never counts what TTL removed;
//! - counter: `pk = INBOX#<user>`, `sk = COUNT` — `unread`.
//!
//! Every change of a notification's read state writes the counter in the same
//! TransactWriteItems, conditioned on the state it changes (`attribute_not_exists` for a new one,
//! `read = false` to mark it read or delete it unread), so concurrent deliveries, reads and
//! deletes can never make the count drift: a lost race cancels the whole transaction.

use crate::attr::{n, s, text};
use crate::clients::AwsClients;
use crate::error::{StorageError, dynamodb_error};
use crate::query::{Item, get_item};
use crate::schema::{PK, SK, TTL};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use bourse_domain::UserId;
use bourse_domain::inbox::{NotificationId, NotificationKind, READ_RETENTION_SECONDS};

/// A notification as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// An API path the notification is about (e.g. `/v1/jobs/<id>`).
    pub link: Option<String>,
    pub created_at: String,
    pub read: bool,
}

pub fn inbox_pk(user: &UserId) -> String {
    format!("INBOX#{user}")
}

fn sort_key(id: &NotificationId) -> String {
    format!("N#{id}")
}

const COUNT_SK: &str = "COUNT";

fn corrupt(key: &str, reason: impl ToString) -> StorageError {
    StorageError::Corrupt { key: key.to_owned(), reason: reason.to_string() }
}

fn notification_from(item: &Item) -> Result<Notification, StorageError> {
    let key = text(item, SK).unwrap_or_default();
    let id = key.strip_prefix("N#").and_then(|id| NotificationId::parse(id).ok()).ok_or_else(|| corrupt(key, "not a notification"))?;
    Ok(Notification {
        id,
        kind: text(item, "kind").and_then(NotificationKind::parse).ok_or_else(|| corrupt(key, "kind"))?,
        title: text(item, "title").unwrap_or_default().to_owned(),
        body: text(item, "body").unwrap_or_default().to_owned(),
        link: text(item, "link").map(str::to_owned),
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
        read: matches!(item.get("read"), Some(AttributeValue::Bool(true))),
    })
}

/// The counter's update by `delta` unread notifications.
fn count_by(table: &str, user: &UserId, delta: i64) -> Result<TransactWriteItem, StorageError> {
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(inbox_pk(user)))
        .key(SK, s(COUNT_SK))
        .update_expression("ADD unread :delta")
        .expression_attribute_values(":delta", n(delta))
        .build()
        .map_err(|e| corrupt(COUNT_SK, e))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

async fn transact(clients: &AwsClients, items: Vec<TransactWriteItem>) -> Result<bool, StorageError> {
    crate::error::applied(clients.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await)
}

/// Delivers `notification` (unread) to `user`. 1 TransactWriteItems (Put if absent + the counter,
/// ≈ 4 WCU). `false` when a notification with its id is there already (a second delivery).
pub async fn deliver(clients: &AwsClients, table: &str, user: &UserId, notification: &Notification) -> Result<bool, StorageError> {
    let mut put = Put::builder()
        .table_name(table)
        .item(PK, s(inbox_pk(user)))
        .item(SK, s(sort_key(&notification.id)))
        .item("kind", s(notification.kind.as_str()))
        .item("title", s(notification.title.clone()))
        .item("body", s(notification.body.clone()))
        .item("createdAt", s(notification.created_at.clone()))
        .item("read", AttributeValue::Bool(false))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK);
    if let Some(link) = &notification.link {
        put = put.item("link", s(link.clone()));
    }
    let put = TransactWriteItem::builder().put(put.build().map_err(|e| corrupt("notification", e))?).build();
    transact(clients, vec![put, count_by(table, user, 1)?]).await
}

/// The unread count. 1 GetItem, strongly consistent (1 RCU).
pub async fn unread_count(clients: &AwsClients, table: &str, user: &UserId) -> Result<u64, StorageError> {
    let item = get_item(clients, table, inbox_pk(user), COUNT_SK, true).await?;
    Ok(match item.as_ref().and_then(|i| i.get("unread")) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().map_err(|e| corrupt(COUNT_SK, e))?.max(0) as u64,
        _ => 0,
    })
}

/// One notification (`None` when it is not the user's). 1 GetItem, strongly consistent.
pub async fn get_notification(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &NotificationId,
) -> Result<Option<Notification>, StorageError> {
    get_item(clients, table, inbox_pk(user), sort_key(id), true).await?.as_ref().map(notification_from).transpose()
}

/// Requests a page may read before answering with what it found and a cursor.
const MAX_PAGES: usize = 10;

/// A page of notifications, newest first, after `after` (exclusive); only unread ones when
/// `unread_only` (a FilterExpression: it costs the reads of the read ones it skips). 1 Query per
/// page of `Limit = limit`, followed until `limit` notifications, the end, or 10 requests.
pub async fn list(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    limit: usize,
    after: Option<&NotificationId>,
    unread_only: bool,
) -> Result<(Vec<Notification>, Option<NotificationId>), StorageError> {
    let pk = inbox_pk(user);
    let mut found = Vec::new();
    let mut start: Option<Item> = after.map(|id| Item::from([(PK.to_owned(), s(pk.clone())), (SK.to_owned(), s(sort_key(id)))]));
    for _ in 0..MAX_PAGES {
        let mut query = clients
            .dynamodb
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :n)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":n", s("N#"))
            .scan_index_forward(false)
            .limit(i32::try_from(limit - found.len()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        if unread_only {
            query = query
                .filter_expression("#read = :false")
                .expression_attribute_names("#read", "read")
                .expression_attribute_values(":false", AttributeValue::Bool(false));
        }
        let output = query.send().await.map_err(dynamodb_error)?;
        for item in output.items.unwrap_or_default() {
            found.push(notification_from(&item)?);
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok((found, None));
        }
        if found.len() >= limit {
            break;
        }
    }
    // More may follow: continue after the last key read (a filtered page may have found none).
    let next =
        start.as_ref().and_then(|key| text(key, SK)).and_then(|sk| sk.strip_prefix("N#")).and_then(|id| NotificationId::parse(id).ok());
    Ok((found, next))
}

/// What marking or deleting found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Done,
    /// Already read (marking), so nothing changed.
    Unchanged,
    NotFound,
}

/// Attempts before a change that keeps losing races gives up (each lost race means the state
/// moved, or another change of the inbox held its counter at the same moment: re-reading after a
/// jittered pause settles it).
const ATTEMPTS: u32 = 12;

/// Marks a notification read (and lets it expire [`READ_RETENTION_SECONDS`] later). Per attempt
/// 1 GetItem + 1 TransactWriteItems (the item `read = false` → true, the counter −1).
pub async fn mark_read(clients: &AwsClients, table: &str, user: &UserId, id: &NotificationId, now: i64) -> Result<Changed, StorageError> {
    let mut attempts = crate::retry::Attempts::new(ATTEMPTS);
    while attempts.next().await {
        let Some(found) = get_notification(clients, table, user, id).await? else { return Ok(Changed::NotFound) };
        if found.read {
            return Ok(Changed::Unchanged);
        }
        if transact(clients, vec![mark_read_item(table, user, id, now)?, count_by(table, user, -1)?]).await? {
            return Ok(Changed::Done);
        }
    }
    Err(StorageError::Conflict("the notification kept changing".into()))
}

fn mark_read_item(table: &str, user: &UserId, id: &NotificationId, now: i64) -> Result<TransactWriteItem, StorageError> {
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(inbox_pk(user)))
        .key(SK, s(sort_key(id)))
        .update_expression("SET #read = :true, #ttl = :ttl")
        .condition_expression("#read = :false")
        .expression_attribute_names("#read", "read")
        .expression_attribute_names("#ttl", TTL)
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":ttl", n(now + READ_RETENTION_SECONDS))
        .build()
        .map_err(|e| corrupt("notification", e))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Notifications marked read per transaction (≤ 100 items with the counter).
const MARK_CHUNK: usize = 99;

/// Marks every unread notification read; returns how many. Per chunk of up to 99: the unread
/// ones listed (Query, unread only) + 1 TransactWriteItems of their updates and the counter − k;
/// a chunk that loses a race to another change is listed again.
pub async fn mark_all_read(clients: &AwsClients, table: &str, user: &UserId, now: i64) -> Result<u64, StorageError> {
    let mut marked = 0;
    let mut attempts = crate::retry::Attempts::new(ATTEMPTS);
    while attempts.next().await {
        let (unread, _) = list(clients, table, user, MARK_CHUNK, None, true).await?;
        if unread.is_empty() {
            return Ok(marked);
        }
        let mut items = unread.iter().map(|n| mark_read_item(table, user, &n.id, now)).collect::<Result<Vec<_>, _>>()?;
        items.push(count_by(table, user, -(unread.len() as i64))?);
        if transact(clients, items).await? {
            marked += unread.len() as u64;
            // A chunk done is progress, not a lost race: the next one starts without a pause.
            attempts = crate::retry::Attempts::new(ATTEMPTS);
        }
    }
    Err(StorageError::Conflict("the inbox kept changing".into()))
}

/// Deletes a notification (the counter −1 if it was unread). Per attempt 1 GetItem + 1
/// TransactWriteItems conditioned on the read state seen.
pub async fn delete(clients: &AwsClients, table: &str, user: &UserId, id: &NotificationId) -> Result<Changed, StorageError> {
    let mut attempts = crate::retry::Attempts::new(ATTEMPTS);
    while attempts.next().await {
        let Some(found) = get_notification(clients, table, user, id).await? else { return Ok(Changed::NotFound) };
        let delete = Delete::builder()
            .table_name(table)
            .key(PK, s(inbox_pk(user)))
            .key(SK, s(sort_key(id)))
            .condition_expression("#read = :seen")
            .expression_attribute_names("#read", "read")
            .expression_attribute_values(":seen", AttributeValue::Bool(found.read))
            .build()
            .map_err(|e| corrupt("notification", e))?;
        let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
        if !found.read {
            items.push(count_by(table, user, -1)?);
        }
        if transact(clients, items).await? {
            return Ok(Changed::Done);
        }
    }
    Err(StorageError::Conflict("the notification kept changing".into()))
}
