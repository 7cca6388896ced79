//! Idempotency records for retried POSTs (`Idempotency-Key`): `pk = IDEMP#<user>#<key>`,
//! `sk = IDEMP`, holding a hash of the request, its state and, once done, the stored response;
//! `ttl` = 24 h, also checked on read because TTL deletion is lazy.

use crate::error::dynamodb_error;
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::schema::{PK, SK, TTL};
use aws_sdk_dynamodb::types::AttributeValue;

/// How long a key is remembered.
pub const RETENTION_SECONDS: i64 = 24 * 60 * 60;

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextAction {
    /// First time (or the old record expired): process it, then [`complete`].
    Process,
    /// Done before with the same request: answer this stored response.
    Replay { status: u16, body: String },
    /// Another request with this key is being processed right now.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

fn key(user: &str, idempotency_key: &str) -> [(&'static str, AttributeValue); 2] {
    [(PK, AttributeValue::S(format!("IDEMP#{user}#{idempotency_key}"))), (SK, AttributeValue::S("IDEMP".into()))]
}

/// Claims the key: 1 conditional PutItem (`attribute_not_exists(pk) OR ttl < now`), and on a
/// taken key 1 GetItem (strongly consistent) to decide between replay, in-progress and mismatch.
pub async fn begin(clients: &AwsClients, table: &str, user: &str, idempotency_key: &str, request_hash: &str, now: i64) -> Result<NextAction, StorageError> {
    let [(pk_name, pk), (sk_name, sk)] = key(user, idempotency_key);
    let claimed = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(pk_name, pk.clone())
        .item(sk_name, sk.clone())
        .item("requestHash", AttributeValue::S(request_hash.to_owned()))
        .item("state", AttributeValue::S("pending".into()))
        .item(TTL, AttributeValue::N((now + RETENTION_SECONDS).to_string()))
        .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#ttl", TTL)
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .send()
        .await;
    match claimed {
        Ok(_) => return Ok(NextAction::Process),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
        Err(e) => return Err(StorageError::from_sdk("dynamodb", e)),
    }
    let existing = clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key(pk_name, pk)
        .key(sk_name, sk)
        .consistent_read(true)
        .send()
        .await
        .map_err(dynamodb_error)?
        .item
        .unwrap_or_default();
    let text = |name: &str| match existing.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    };
    if text("requestHash") != request_hash {
        return Ok(NextAction::Mismatch);
    }
    if text("state") != "done" {
        return Ok(NextAction::InProgress);
    }
    let status = match existing.get("status") {
        Some(AttributeValue::N(n)) => n.parse().unwrap_or(200),
        _ => 200,
    };
    Ok(NextAction::Replay { status, body: text("body") })
}

/// Stores the response of a processed request. 1 UpdateItem.
pub async fn complete(clients: &AwsClients, table: &str, user: &str, idempotency_key: &str, status: u16, body: &str) -> Result<(), StorageError> {
    let [(pk_name, pk), (sk_name, sk)] = key(user, idempotency_key);
    clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(pk_name, pk)
        .key(sk_name, sk)
        .update_expression("SET #state = :done, #status = :status, #body = :body")
        .expression_attribute_names("#state", "state")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#body", "body")
        .expression_attribute_values(":done", AttributeValue::S("done".into()))
        .expression_attribute_values(":status", AttributeValue::N(status.to_string()))
        .expression_attribute_values(":body", AttributeValue::S(body.to_owned()))
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// Forgets a claim whose processing failed, so the client can retry with the same key. 1 DeleteItem.
pub async fn release(clients: &AwsClients, table: &str, user: &str, idempotency_key: &str) -> Result<(), StorageError> {
    let [(pk_name, pk), (sk_name, sk)] = key(user, idempotency_key);
    clients
        .dynamodb
        .delete_item()
        .table_name(table)
        .key(pk_name, pk)
        .key(sk_name, sk)
        .condition_expression("#state = :pending")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        .send()
        .await
        .map(|_| ())
        .or_else(|e| if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) { Ok(()) } else { Err(StorageError::from_sdk("dynamodb", e)) })
}
