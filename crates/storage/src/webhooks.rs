//! Where a user's notifications go besides the inbox: webhook endpoints, the delivery
//! preferences, and the state of each webhook delivery. All in the user's inbox partition
//! (`pk = INBOX#<user>`), so the consumer reads everything a notification needs in one Query and
//! an account's erasure removes it with the inbox:
//! - endpoint: `sk = SET#HOOK#<webhook id>` — `url`, `sealedSecret` (the signing secret,
//!   AES-256-GCM, see `bourse_domain::webhook::SealKey`), `createdAt`, `status`
//!   (`active`|`disabled`), `failures` (failed deliveries in a row), `disabledAt`;
//! - their number: `sk = SET#HOOKS` — `hooks`, kept with each create and delete in one
//!   transaction, so the per-user limit holds under concurrent creates;
//! - preferences: `sk = SET#PREFS` — `email`;
//! - one delivery of one event to one endpoint: `sk = ATTEMPT#<event id>#<webhook id>` —
//!   `attempt` (the last attempt recorded), `delivered`, `lastStatus`, `ttl` (4 days, as long as
//!   SQS keeps a message by default).

use crate::attr::{n, s, text};
use crate::clients::AwsClients;
use crate::error::{StorageError, applied, dynamodb_error};
use crate::inbox::inbox_pk;
use crate::query::{Item, Partition, SortKeys, get_item, query_all};
use crate::schema::{PK, SK, TTL};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update};
use bourse_domain::UserId;
use bourse_domain::WebhookId;
use bourse_domain::webhook::DeliveryPreferences;

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub url: String,
    /// The signing secret, sealed: never logged, never answered.
    pub sealed_secret: String,
    pub created_at: String,
    pub active: bool,
    /// Deliveries that failed (after all their attempts) since the last one that succeeded.
    pub failures: u32,
    pub disabled_at: Option<String>,
}

/// What a notification's delivery needs to know about a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliverySettings {
    pub webhooks: Vec<WebhookRecord>,
    pub preferences: DeliveryPreferences,
}

const SETTINGS: &str = "SET#";
const HOOK: &str = "SET#HOOK#";
const COUNT_SK: &str = "SET#HOOKS";
const PREFS_SK: &str = "SET#PREFS";
/// How long a delivery's state is kept.
const ATTEMPT_RECORD_SECONDS: i64 = 4 * 24 * 60 * 60;

fn hook_sk(id: &WebhookId) -> String {
    format!("{HOOK}{id}")
}

fn attempt_sk(event_id: &str, webhook: &WebhookId) -> String {
    format!("ATTEMPT#{event_id}#{webhook}")
}

fn corrupt(key: &str, reason: impl ToString) -> StorageError {
    StorageError::Corrupt { key: key.to_owned(), reason: reason.to_string() }
}

fn number(item: &Item, name: &str) -> u32 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32,
        _ => 0,
    }
}

fn webhook_from(item: &Item) -> Result<WebhookRecord, StorageError> {
    let key = text(item, SK).unwrap_or_default();
    let id = key.strip_prefix(HOOK).and_then(|id| WebhookId::parse(id).ok()).ok_or_else(|| corrupt(key, "not a webhook"))?;
    Ok(WebhookRecord {
        id,
        url: text(item, "url").ok_or_else(|| corrupt(key, "url"))?.to_owned(),
        sealed_secret: text(item, "sealedSecret").ok_or_else(|| corrupt(key, "sealedSecret"))?.to_owned(),
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
        active: text(item, "status") == Some("active"),
        failures: number(item, "failures"),
        disabled_at: text(item, "disabledAt").map(str::to_owned),
    })
}

/// The user's endpoints and preferences. 1 Query of `INBOX#<user>`, `begins_with(sk, "SET#")`,
/// strongly consistent (at most 2 + [`bourse_domain::webhook::MAX_WEBHOOKS`] small items: 1 RCU).
pub async fn settings(clients: &AwsClients, table: &str, user: &UserId) -> Result<DeliverySettings, StorageError> {
    let pk = inbox_pk(user);
    let items = query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith(SETTINGS), None).await?;
    let mut settings = DeliverySettings::default();
    for item in &items {
        match text(item, SK) {
            Some(PREFS_SK) => settings.preferences.email = matches!(item.get("email"), Some(AttributeValue::Bool(true))),
            Some(sk) if sk.starts_with(HOOK) => settings.webhooks.push(webhook_from(item)?),
            _ => {}
        }
    }
    Ok(settings)
}

/// One endpoint. 1 GetItem, strongly consistent.
pub async fn get(clients: &AwsClients, table: &str, user: &UserId, id: &WebhookId) -> Result<Option<WebhookRecord>, StorageError> {
    get_item(clients, table, inbox_pk(user), hook_sk(id), true).await?.as_ref().map(webhook_from).transpose()
}

/// The counter's update by `delta`, conditioned (when adding) on room under `max`.
fn count_by(table: &str, user: &UserId, delta: i64, max: Option<u32>) -> Result<TransactWriteItem, StorageError> {
    let mut update = Update::builder()
        .table_name(table)
        .key(PK, s(inbox_pk(user)))
        .key(SK, s(COUNT_SK))
        .update_expression("ADD hooks :delta")
        .expression_attribute_values(":delta", n(delta));
    if let Some(max) = max {
        update = update.condition_expression("attribute_not_exists(hooks) OR hooks < :max").expression_attribute_values(":max", n(max));
    }
    Ok(TransactWriteItem::builder().update(update.build().map_err(|e| corrupt(COUNT_SK, e))?).build())
}

/// Stores a new active endpoint unless the user has `max` already (`false`). 1
/// TransactWriteItems (the counter + 1 under `max`, the endpoint if absent; ≈ 4 WCU).
pub async fn create(clients: &AwsClients, table: &str, user: &UserId, hook: &WebhookRecord, max: u32) -> Result<bool, StorageError> {
    let put = Put::builder()
        .table_name(table)
        .item(PK, s(inbox_pk(user)))
        .item(SK, s(hook_sk(&hook.id)))
        .item("url", s(hook.url.clone()))
        .item("sealedSecret", s(hook.sealed_secret.clone()))
        .item("createdAt", s(hook.created_at.clone()))
        .item("status", s("active"))
        .item("failures", n(0))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|e| corrupt("webhook", e))?;
    let items = vec![count_by(table, user, 1, Some(max))?, TransactWriteItem::builder().put(put).build()];
    applied(clients.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await)
}

/// Deletes an endpoint (`false`: there was none). 1 TransactWriteItems (the endpoint if it
/// exists, the counter − 1).
pub async fn delete(clients: &AwsClients, table: &str, user: &UserId, id: &WebhookId) -> Result<bool, StorageError> {
    let delete = Delete::builder()
        .table_name(table)
        .key(PK, s(inbox_pk(user)))
        .key(SK, s(hook_sk(id)))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|e| corrupt("webhook", e))?;
    let items = vec![TransactWriteItem::builder().delete(delete).build(), count_by(table, user, -1, None)?];
    applied(clients.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await)
}

/// Replaces the user's preferences. 1 PutItem (1 WCU).
pub async fn put_preferences(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    preferences: &DeliveryPreferences,
) -> Result<(), StorageError> {
    clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(inbox_pk(user)))
        .item(SK, s(PREFS_SK))
        .item("email", AttributeValue::Bool(preferences.email))
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// The user's preferences (defaults when never set). 1 GetItem, strongly consistent.
pub async fn preferences(clients: &AwsClients, table: &str, user: &UserId) -> Result<DeliveryPreferences, StorageError> {
    let item = get_item(clients, table, inbox_pk(user), PREFS_SK, true).await?;
    Ok(DeliveryPreferences { email: matches!(item.as_ref().and_then(|i| i.get("email")), Some(AttributeValue::Bool(true))) })
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptState {
    /// The last attempt whose outcome was recorded.
    pub attempt: u32,
    pub delivered: bool,
}

/// The delivery of `event_id` to `webhook` so far (`None`: no attempt recorded). 1 GetItem,
/// strongly consistent.
pub async fn attempt_state(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    event_id: &str,
    webhook: &WebhookId,
) -> Result<Option<AttemptState>, StorageError> {
    let item = get_item(clients, table, inbox_pk(user), attempt_sk(event_id, webhook), true).await?;
    Ok(item.map(|item| AttemptState {
        attempt: number(&item, "attempt"),
        delivered: matches!(item.get("delivered"), Some(AttributeValue::Bool(true))),
    }))
}

/// Records attempt `attempt`'s outcome (`status`: the receiver's answer, if any), unless this
/// attempt or a later one was recorded already (`false`: a redelivered attempt lost to the
/// first). 1 UpdateItem conditioned on `attempt < :n` (1 WCU).
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    event_id: &str,
    webhook: &WebhookId,
    attempt: u32,
    delivered: bool,
    status: Option<u16>,
    now: i64,
) -> Result<bool, StorageError> {
    let expression = match status {
        Some(_) => "SET attempt = :n, delivered = :d, #ttl = :ttl, lastStatus = :status",
        None => "SET attempt = :n, delivered = :d, #ttl = :ttl REMOVE lastStatus",
    };
    let mut update = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(inbox_pk(user)))
        .key(SK, s(attempt_sk(event_id, webhook)))
        .update_expression(expression)
        .condition_expression("attribute_not_exists(attempt) OR attempt < :n")
        .expression_attribute_names("#ttl", TTL)
        .expression_attribute_values(":n", n(attempt))
        .expression_attribute_values(":d", AttributeValue::Bool(delivered))
        .expression_attribute_values(":ttl", n(now + ATTEMPT_RECORD_SECONDS));
    if let Some(status) = status {
        update = update.expression_attribute_values(":status", n(status));
    }
    applied(update.send().await)
}

/// A delivery succeeded: the endpoint's failures in a row start again from 0. 1 UpdateItem (none
/// if the endpoint was deleted meanwhile).
pub async fn delivery_succeeded(clients: &AwsClients, table: &str, user: &UserId, id: &WebhookId) -> Result<(), StorageError> {
    let result = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(inbox_pk(user)))
        .key(SK, s(hook_sk(id)))
        .update_expression("SET failures = :zero")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":zero", n(0))
        .send()
        .await;
    applied(result).map(|_| ())
}

/// A delivery failed after all its attempts: counts it, and disables the endpoint when that makes
/// `max` in a row. Returns the failures in a row when this call disabled it (so exactly one
/// caller tells the user). 1 UpdateItem (ADD, on an active endpoint), + 1 conditional UpdateItem
/// at the threshold.
pub async fn delivery_failed(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &WebhookId,
    max: u32,
    now: &str,
) -> Result<Option<u32>, StorageError> {
    let counted = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(inbox_pk(user)))
        .key(SK, s(hook_sk(id)))
        .update_expression("ADD failures :one")
        .condition_expression("attribute_exists(#pk) AND #status = :active")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":active", s("active"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await;
    let failures = match counted {
        Ok(output) => output.attributes.as_ref().map(|a| number(a, "failures")).unwrap_or(0),
        Err(err) => {
            return match dynamodb_error(err) {
                StorageError::Conflict(_) => Ok(None), // deleted or disabled already
                other => Err(other),
            };
        }
    };
    if failures < max {
        return Ok(None);
    }
    let disabled = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(inbox_pk(user)))
        .key(SK, s(hook_sk(id)))
        .update_expression("SET #status = :disabled, disabledAt = :now")
        .condition_expression("#status = :active AND failures >= :max")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":disabled", s("disabled"))
        .expression_attribute_values(":active", s("active"))
        .expression_attribute_values(":max", n(max))
        .expression_attribute_values(":now", s(now))
        .send()
        .await;
    Ok(applied(disabled)?.then_some(failures))
}
