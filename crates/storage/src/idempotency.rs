//! Idempotency records for retried POSTs (`Idempotency-Key`): `pk = IDEMP#<user>#<key>`,
//! `sk = IDEMP`, holding a hash of the request, its state and, once done, the stored response;
//! `ttl` = 24 h, also checked on read because TTL deletion is lazy.
//!
//! A `pending` claim holds a lease (`leaseUntil`): a request that crashed or timed out blocks its
//! key only until the lease ends, then the next request with the same key and body reclaims it.
//! The claim keeps the time the key was first claimed (`startedAt`), so every attempt derives the
//! same ids from it and finds what an earlier attempt had already written.

use crate::attr::s;
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::get_item;
use crate::schema::{PK, SK, TTL, app};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::UserId;

/// Answers longer than this are stored gzip-compressed (`bodyGz`), so that a large answer (an
/// import's report, a bulk's items) still fits the 400 KB item and can be replayed.
pub const COMPRESS_ABOVE_BYTES: usize = 16 * 1024;

/// How long a key is remembered.
pub const RETENTION_SECONDS: i64 = 24 * 60 * 60;
/// How long a pending claim blocks its key: longer than any function's timeout (29 s), so a
/// request still running is never reclaimed under it.
pub const LEASE_SECONDS: i64 = 60;

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextAction {
    /// First time, the old record expired, or an earlier attempt's lease ended: process it, then
    /// [`complete`]. `started_ms` is when the key was first claimed (epoch milliseconds).
    Process { started_ms: i64 },
    /// Done before with the same request: answer this stored response.
    Replay { status: u16, body: String },
    /// Another request with this key is being processed right now.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

/// The partition of `user`'s record of `idempotency_key`.
fn record_pk(user: &UserId, idempotency_key: &str) -> String {
    format!("IDEMP#{user}#{idempotency_key}")
}

/// The sort key of every idempotency record.
const RECORD_SK: &str = "IDEMP";

/// An UpdateItem of the record in partition `pk`, with `#state` naming its state; the caller adds
/// the expressions and sends it.
fn update_record(clients: &AwsClients, table: &str, pk: String) -> UpdateItemFluentBuilder {
    clients.dynamodb.update_item().table_name(table).key(PK, s(pk)).key(SK, s(RECORD_SK)).expression_attribute_names("#state", "state")
}

/// Claims the key: 1 conditional PutItem (`attribute_not_exists(pk) OR ttl < now`), and on a
/// taken key 1 GetItem (strongly consistent) to decide between replay, in-progress, mismatch and
/// reclaiming an ended lease (then 1 conditional UpdateItem: only one reclaimer wins).
/// `claim_id` is unique to this call: when the SDK retries the claim after losing its answer, the
/// claim it finds is its own and is processed, not refused as in progress.
pub async fn begin(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    idempotency_key: &str,
    request_hash: &str,
    claim_id: &str,
    now_ms: i64,
) -> Result<NextAction, StorageError> {
    let now = now_ms.div_euclid(1000);
    let pk = record_pk(user, idempotency_key);
    let claimed = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(pk.clone()))
        .item(SK, s(RECORD_SK))
        .item("requestHash", AttributeValue::S(request_hash.to_owned()))
        .item("state", AttributeValue::S("pending".into()))
        .item("startedAt", AttributeValue::N(now_ms.to_string()))
        .item("claimId", AttributeValue::S(claim_id.to_owned()))
        .item("leaseUntil", AttributeValue::N((now + LEASE_SECONDS).to_string()))
        .item(TTL, AttributeValue::N((now + RETENTION_SECONDS).to_string()))
        .item(app::GSI3_PK, s(app::owner_pk(user)))
        .item(app::GSI3_SK, s(pk.clone()))
        .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#ttl", TTL)
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .send()
        .await;
    match claimed {
        Ok(_) => return Ok(NextAction::Process { started_ms: now_ms }),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
        Err(e) => return Err(StorageError::from_sdk("dynamodb", e)),
    }
    let existing = get_item(clients, table, pk.clone(), RECORD_SK, true).await?.unwrap_or_default();
    let text = |name: &str| match existing.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    };
    let number = |name: &str| match existing.get(name) {
        Some(AttributeValue::N(n)) => n.parse::<i64>().ok(),
        _ => None,
    };
    if text("requestHash") != request_hash {
        return Ok(NextAction::Mismatch);
    }
    if text("state") == "done" {
        let status = number("status").and_then(|s| u16::try_from(s).ok()).unwrap_or(200);
        let body = match existing.get("bodyGz") {
            Some(AttributeValue::B(gz)) => {
                gunzip(gz.as_ref()).ok_or_else(|| StorageError::Corrupt { key: pk.clone(), reason: "bodyGz".into() })?
            }
            _ => text("body"),
        };
        return Ok(NextAction::Replay { status, body });
    }
    let lease = number("leaseUntil").unwrap_or(0);
    if text("claimId") == claim_id {
        return Ok(NextAction::Process { started_ms: number("startedAt").unwrap_or(now_ms) });
    }
    if lease >= now {
        return Ok(NextAction::InProgress);
    }
    // The lease ended: the attempt holding it crashed, timed out or failed. Take it over, unless
    // another request just did (the lease we saw is no longer there).
    let reclaimed = update_record(clients, table, pk)
        .update_expression("SET #lease = :next, claimId = :claim")
        .condition_expression("#state = :pending AND #lease = :seen")
        .expression_attribute_names("#lease", "leaseUntil")
        .expression_attribute_values(":next", AttributeValue::N((now + LEASE_SECONDS).to_string()))
        .expression_attribute_values(":claim", AttributeValue::S(claim_id.to_owned()))
        .expression_attribute_values(":seen", AttributeValue::N(lease.to_string()))
        .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        .send()
        .await;
    match reclaimed {
        Ok(_) => Ok(NextAction::Process { started_ms: number("startedAt").unwrap_or(now_ms) }),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(NextAction::InProgress),
        Err(e) => Err(StorageError::from_sdk("dynamodb", e)),
    }
}

fn gzip(text: &str) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(text.as_bytes()).ok()?;
    encoder.finish().ok()
}

fn gunzip(bytes: &[u8]) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).ok()?;
    Some(text)
}

/// Stores the response of a processed request (compressed above [`COMPRESS_ABOVE_BYTES`]).
/// 1 UpdateItem; an answer that does not fit even compressed is [`StorageError::TooLarge`].
pub async fn complete(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    idempotency_key: &str,
    status: u16,
    body: &str,
) -> Result<(), StorageError> {
    let pk = record_pk(user, idempotency_key);
    let (field, value) = match (body.len() > COMPRESS_ABOVE_BYTES).then(|| gzip(body)).flatten() {
        Some(gz) => ("bodyGz", AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(gz))),
        None => ("body", AttributeValue::S(body.to_owned())),
    };
    update_record(clients, table, pk)
        .update_expression("SET #state = :done, #status = :status, #body = :body")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#body", field)
        .expression_attribute_values(":done", AttributeValue::S("done".into()))
        .expression_attribute_values(":status", AttributeValue::N(status.to_string()))
        .expression_attribute_values(":body", value)
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// Ends the lease of a claim whose processing failed, so the client can retry with the same key
/// and body at once (and the retry, starting from the same `startedAt`, finds whatever the failed
/// attempt had written). The claim itself stays: another body under this key is still a mismatch.
/// 1 UpdateItem.
pub async fn release(clients: &AwsClients, table: &str, user: &UserId, idempotency_key: &str) -> Result<(), StorageError> {
    let pk = record_pk(user, idempotency_key);
    update_record(clients, table, pk)
        .update_expression("SET #lease = :ended")
        .condition_expression("#state = :pending")
        .expression_attribute_names("#lease", "leaseUntil")
        .expression_attribute_values(":ended", AttributeValue::N("0".into()))
        .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        .send()
        .await
        .map(|_| ())
        .or_else(|e| {
            if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) {
                Ok(())
            } else {
                Err(StorageError::from_sdk("dynamodb", e))
            }
        })
}
