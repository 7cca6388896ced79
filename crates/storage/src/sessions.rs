//! Login sessions: refresh-token families in the app table.
//!
//! Keys:
//! - family: `pk = FAMILY#<familyId>`, `sk = FAMILY` — userId, plan, `current` (hash of the one
//!   live refresh token), `revoked`, `expiresAt` (login + 30 days, absolute), `ttl`;
//! - refresh token: `pk = REFRESH#<sha256 of the token>`, `sk = REFRESH` — familyId, userId,
//!   `used`, `expiresAt`, `ttl`. The token itself is never stored.
//!
//! Rotation is one TransactWriteItems: mark the presented token used (condition: not used yet),
//! put the new one (condition: new key), move the family's `current` (condition: `current` is the
//! presented token, not revoked, not expired). Two concurrent refreshes with one token: exactly
//! one transaction commits.

use crate::attr::{n, put_if_absent, s};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::get_item;
use crate::schema::{PK, SK, TTL};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use bourse_domain::UserId;
use std::collections::HashMap;

pub fn family_pk(family_id: &str) -> String {
    format!("FAMILY#{family_id}")
}

pub fn refresh_pk(token_hash: &str) -> String {
    format!("REFRESH#{token_hash}")
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt { key: key.to_owned(), reason: e.to_string() }
}

/// A stored refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub family_id: String,
    pub user_id: UserId,
    pub plan: String,
    pub used: bool,
    pub expires_at: i64,
}

fn refresh_item(token_hash: &str, family_id: &str, user_id: &UserId, plan: &str, expires_at: i64) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), s(refresh_pk(token_hash))),
        (SK.to_owned(), s("REFRESH")),
        ("familyId".to_owned(), s(family_id)),
        ("userId".to_owned(), s(user_id)),
        ("plan".to_owned(), s(plan)),
        ("used".to_owned(), AttributeValue::Bool(false)),
        ("expiresAt".to_owned(), n(expires_at)),
        (TTL.to_owned(), n(expires_at + 86_400)),
    ])
}

/// Starts a family at login with its first refresh token. 1 TransactWriteItems of 2 Puts (4 WCU).
pub async fn start_family(
    clients: &AwsClients,
    table: &str,
    family_id: &str,
    user_id: &UserId,
    plan: &str,
    token_hash: &str,
    expires_at: i64,
) -> Result<(), StorageError> {
    let family = HashMap::from([
        (PK.to_owned(), s(family_pk(family_id))),
        (SK.to_owned(), s("FAMILY")),
        ("userId".to_owned(), s(user_id)),
        ("plan".to_owned(), s(plan)),
        ("current".to_owned(), s(token_hash)),
        ("revoked".to_owned(), AttributeValue::Bool(false)),
        ("expiresAt".to_owned(), n(expires_at)),
        (TTL.to_owned(), n(expires_at + 86_400)),
    ]);
    clients
        .dynamodb
        .transact_write_items()
        .transact_items(put_if_absent(table, family)?)
        .transact_items(put_if_absent(table, refresh_item(token_hash, family_id, user_id, plan, expires_at))?)
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// The record of a presented refresh token. 1 GetItem, strongly consistent (1 RCU).
pub async fn refresh_record(clients: &AwsClients, table: &str, token_hash: &str) -> Result<Option<RefreshRecord>, StorageError> {
    let key = refresh_pk(token_hash);
    let Some(item) = get_item(clients, table, &key, "REFRESH", true).await? else { return Ok(None) };
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(corrupt(&key, format!("{name} missing"))),
    };
    Ok(Some(RefreshRecord {
        family_id: text("familyId")?,
        user_id: UserId::parse(&text("userId")?).map_err(|e| corrupt(&key, e))?,
        plan: text("plan")?,
        used: matches!(item.get("used"), Some(AttributeValue::Bool(true))),
        expires_at: match item.get("expiresAt") {
            Some(AttributeValue::N(v)) => v.parse().map_err(|e| corrupt(&key, e))?,
            _ => return Err(corrupt(&key, "expiresAt missing")),
        },
    }))
}

/// Outcome of a rotation.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotated {
    Done,
    /// A condition failed: the token was used meanwhile, or the family was revoked or expired.
    Refused,
}

/// Rotates `old_hash` → `new_hash` in `record`'s family. 1 TransactWriteItems (Update + Put +
/// Update, 6 WCU). The new token keeps the family's absolute expiry.
pub async fn rotate(
    clients: &AwsClients,
    table: &str,
    old_hash: &str,
    new_hash: &str,
    record: &RefreshRecord,
    now: i64,
) -> Result<Rotated, StorageError> {
    let mark_used = Update::builder()
        .table_name(table)
        .key(PK, s(refresh_pk(old_hash)))
        .key(SK, s("REFRESH"))
        .update_expression("SET #used = :true, usedAt = :now")
        .condition_expression("#used = :false")
        .expression_attribute_names("#used", "used")
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(|e| corrupt("refresh", e))?;
    let move_family = Update::builder()
        .table_name(table)
        .key(PK, s(family_pk(&record.family_id)))
        .key(SK, s("FAMILY"))
        .update_expression("SET #current = :new")
        .condition_expression("#current = :old AND #revoked = :false AND #expires > :now")
        .expression_attribute_names("#current", "current")
        .expression_attribute_names("#revoked", "revoked")
        .expression_attribute_names("#expires", "expiresAt")
        .expression_attribute_values(":new", s(new_hash))
        .expression_attribute_values(":old", s(old_hash))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(|e| corrupt("family", e))?;
    let result = clients
        .dynamodb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(mark_used).build())
        .transact_items(put_if_absent(table, refresh_item(new_hash, &record.family_id, &record.user_id, &record.plan, record.expires_at))?)
        .transact_items(TransactWriteItem::builder().update(move_family).build())
        .send()
        .await;
    match result.map_err(dynamodb_error) {
        Ok(_) => Ok(Rotated::Done),
        Err(StorageError::Conflict(_)) => Ok(Rotated::Refused),
        Err(other) => Err(other),
    }
}

/// Revokes a family (logout, or reuse of a used refresh token). 1 UpdateItem (1 WCU),
/// idempotent; a family that does not exist is left alone.
pub async fn revoke_family(clients: &AwsClients, table: &str, family_id: &str, now: i64) -> Result<(), StorageError> {
    let result = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(family_pk(family_id)))
        .key(SK, s("FAMILY"))
        .update_expression("SET #revoked = :true, revokedAt = if_not_exists(revokedAt, :now)")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#revoked", "revoked")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":now", n(now))
        .send()
        .await;
    match result.map_err(dynamodb_error) {
        Ok(_) | Err(StorageError::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Whether a family may still be used at `now`: exists, not revoked, not past its absolute
/// expiry. 1 GetItem of two attributes, strongly consistent (1 RCU). The revocation check's
/// fallback when the cache is down, and its source on a cache miss.
pub async fn family_active(clients: &AwsClients, table: &str, family_id: &str, now: i64) -> Result<bool, StorageError> {
    let key = family_pk(family_id);
    let output = clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key(PK, s(&key))
        .key(SK, s("FAMILY"))
        .projection_expression("#revoked, #expires")
        .expression_attribute_names("#revoked", "revoked")
        .expression_attribute_names("#expires", "expiresAt")
        .consistent_read(true)
        .send()
        .await
        .map_err(dynamodb_error)?;
    let Some(item) = output.item else { return Ok(false) };
    let revoked = !matches!(item.get("revoked"), Some(AttributeValue::Bool(false)));
    let expires_at: i64 = match item.get("expiresAt") {
        Some(AttributeValue::N(v)) => v.parse().map_err(|e| corrupt(&key, e))?,
        _ => return Err(corrupt(&key, "expiresAt missing")),
    };
    Ok(!revoked && now < expires_at)
}
