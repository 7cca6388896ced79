//! Login sessions: refresh-token families in the app table.
//!
//! Keys:
//! - family: `pk = FAMILY#<familyId>`, `sk = FAMILY` — userId, plan, `current` (hash of the one
//!   live refresh token), `revoked`, `expiresAt` (login + 30 days, absolute), `createdAt`,
//!   `lastUsedAt`, `userAgent`, `source` (the approximate address), `ttl`; on `gsi1`:
//!   `gsi1pk = SESSIONS#<userId>`, `gsi1sk = <createdAt, 10 digits>#<familyId>` (a user's
//!   sessions, oldest first);
//! - refresh token: `pk = REFRESH#<sha256 of the token>`, `sk = REFRESH` — familyId, userId,
//!   `used`, `expiresAt`, `familyCreatedAt`, `ttl`. The token itself is never stored.
//!
//! Rotation is one TransactWriteItems: mark the presented token used (condition: not used yet),
//! put the new one (condition: new key), move the family's `current` and `lastUsedAt`
//! (condition: `current` is the presented token, not revoked, not expired, not idle). Two
//! concurrent refreshes with one token: exactly one transaction commits.

use crate::attr::{n, put_if_absent, s, text};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::{Item, Partition, SortKeys, get_item, query_all};
use crate::schema::{PK, SK, TTL, app};
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
    /// When its family started (0 for tokens stored before this was recorded).
    pub family_created_at: i64,
}

fn refresh_item(token_hash: &str, record: &RefreshRecord) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), s(refresh_pk(token_hash))),
        (SK.to_owned(), s("REFRESH")),
        ("familyId".to_owned(), s(&record.family_id)),
        ("userId".to_owned(), s(&record.user_id)),
        ("plan".to_owned(), s(&record.plan)),
        ("used".to_owned(), AttributeValue::Bool(false)),
        ("expiresAt".to_owned(), n(record.expires_at)),
        ("familyCreatedAt".to_owned(), n(record.family_created_at)),
        (TTL.to_owned(), n(record.expires_at + 86_400)),
        // Found by the owner index when the account is deleted: the key is only a hash.
        (app::GSI3_PK.to_owned(), s(app::owner_pk(&record.user_id))),
        (app::GSI3_SK.to_owned(), s(refresh_pk(token_hash))),
    ])
}

/// The partition of a user's sessions on `gsi1`.
fn sessions_of(user_id: &UserId) -> String {
    format!("SESSIONS#{user_id}")
}

/// Longest user agent kept with a session.
pub const MAX_USER_AGENT_CHARS: usize = 200;

/// A login session as its owner sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub family_id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    pub user_agent: Option<String>,
    /// The approximate source address (a /24 or /48 network), never the exact one.
    pub source: Option<String>,
}

/// A session to start at login.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub family_id: &'a str,
    pub user_id: &'a UserId,
    pub plan: &'a str,
    pub token_hash: &'a str,
    pub now: i64,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
    pub source: Option<&'a str>,
}

/// Starts a family at login with its first refresh token. 1 TransactWriteItems of 2 Puts (4 WCU).
pub async fn start_family(clients: &AwsClients, table: &str, session: &NewSession<'_>) -> Result<(), StorageError> {
    let NewSession { family_id, user_id, plan, token_hash, now, expires_at, user_agent, source } = *session;
    let mut family = HashMap::from([
        (PK.to_owned(), s(family_pk(family_id))),
        (SK.to_owned(), s("FAMILY")),
        ("userId".to_owned(), s(user_id)),
        ("plan".to_owned(), s(plan)),
        ("current".to_owned(), s(token_hash)),
        ("revoked".to_owned(), AttributeValue::Bool(false)),
        ("expiresAt".to_owned(), n(expires_at)),
        ("createdAt".to_owned(), n(now)),
        ("lastUsedAt".to_owned(), n(now)),
        (app::GSI1_PK.to_owned(), s(sessions_of(user_id))),
        (app::GSI1_SK.to_owned(), s(format!("{now:010}#{family_id}"))),
        (TTL.to_owned(), n(expires_at + 86_400)),
    ]);
    if let Some(agent) = user_agent.filter(|a| !a.is_empty()) {
        family.insert("userAgent".to_owned(), s(agent.chars().take(MAX_USER_AGENT_CHARS).collect::<String>()));
    }
    if let Some(source) = source {
        family.insert("source".to_owned(), s(source));
    }
    let first = RefreshRecord {
        family_id: family_id.to_owned(),
        user_id: user_id.clone(),
        plan: plan.to_owned(),
        used: false,
        expires_at,
        family_created_at: now,
    };
    clients
        .dynamodb
        .transact_write_items()
        .transact_items(put_if_absent(table, family)?)
        .transact_items(put_if_absent(table, refresh_item(token_hash, &first))?)
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

fn number(item: &Item, key: &str, name: &str) -> Result<i64, StorageError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|e| corrupt(key, e)),
        None => Ok(0),
        Some(_) => Err(corrupt(key, format!("{name} is not a number"))),
    }
}

fn session_from(item: &Item) -> Result<SessionRecord, StorageError> {
    let key = text(item, PK).unwrap_or_default();
    Ok(SessionRecord {
        family_id: key.strip_prefix("FAMILY#").ok_or_else(|| corrupt(key, "not a family"))?.to_owned(),
        created_at: number(item, key, "createdAt")?,
        last_used_at: number(item, key, "lastUsedAt")?,
        expires_at: number(item, key, "expiresAt")?,
        revoked: !matches!(item.get("revoked"), Some(AttributeValue::Bool(false))),
        user_agent: text(item, "userAgent").map(str::to_owned),
        source: text(item, "source").map(str::to_owned),
    })
}

/// A user's sessions (revoked and expired ones included, until their items expire), oldest
/// first. 1 Query per 1 MB on `gsi1`: `gsi1pk = SESSIONS#<user>` (eventually consistent: a
/// login of the last second may be missing).
pub async fn list_sessions(clients: &AwsClients, table: &str, user_id: &UserId) -> Result<Vec<SessionRecord>, StorageError> {
    let key = sessions_of(user_id);
    let partition = Partition::on_index(table, app::GSI1, app::GSI1_PK, app::GSI1_SK, &key);
    query_all(clients, partition, SortKeys::All, None).await?.iter().map(session_from).collect()
}

/// One session of `user_id` (`None` when it does not exist or is someone else's). 1 GetItem,
/// strongly consistent (1 RCU).
pub async fn get_session(
    clients: &AwsClients,
    table: &str,
    user_id: &UserId,
    family_id: &str,
) -> Result<Option<SessionRecord>, StorageError> {
    let Some(item) = get_item(clients, table, family_pk(family_id), "FAMILY", true).await? else { return Ok(None) };
    if text(&item, "userId") != Some(user_id.as_str()) {
        return Ok(None);
    }
    session_from(&item).map(Some)
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
        family_created_at: number(&item, &key, "familyCreatedAt")?,
    }))
}

/// Outcome of a rotation.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotated {
    Done,
    /// A condition failed: the token was used meanwhile, or the family was revoked or expired.
    Refused,
}

/// Rotates `old_hash` → `new_hash` in `record`'s family, which must have been used since
/// `idle_cutoff` (an idle family is refused). The new token carries `record`'s plan (the caller
/// re-reads it) and keeps the family's absolute expiry. 1 TransactWriteItems (Update + Put +
/// Update, 6 WCU).
pub async fn rotate(
    clients: &AwsClients,
    table: &str,
    old_hash: &str,
    new_hash: &str,
    record: &RefreshRecord,
    now: i64,
    idle_cutoff: i64,
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
        .update_expression("SET #current = :new, #last = :now, #plan = :plan")
        .condition_expression(
            "#current = :old AND #revoked = :false AND #expires > :now AND (attribute_not_exists(#last) OR #last > :idle)",
        )
        .expression_attribute_names("#current", "current")
        .expression_attribute_names("#revoked", "revoked")
        .expression_attribute_names("#expires", "expiresAt")
        .expression_attribute_names("#last", "lastUsedAt")
        .expression_attribute_names("#plan", "plan")
        .expression_attribute_values(":new", s(new_hash))
        .expression_attribute_values(":old", s(old_hash))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":idle", n(idle_cutoff))
        .expression_attribute_values(":plan", s(&record.plan))
        .build()
        .map_err(|e| corrupt("family", e))?;
    let result = clients
        .dynamodb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(mark_used).build())
        .transact_items(put_if_absent(table, refresh_item(new_hash, record))?)
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
