//! Brute-force state for login, in DynamoDB (the system of record), so the limits hold whether or
//! not the cache is up. The arithmetic is `bourse_domain::login_throttle`.
//!
//! Keys:
//! - per account and address: `pk = LOGINLIMIT#ACCOUNT#<sha-256 of the normalised email>`,
//!   `sk = <sha-256 of the email and the address>` — `attempts`, `lastAttempt`, `lockedUntil`,
//!   `ttl`. Keyed by hashes, so no email of a non-account is stored; the account's hash leads,
//!   so deleting an account finds every address's state with one Query. Written with a condition on the state read
//!   (optimistic concurrency): concurrent attempts of one pair serialise, none is uncounted.
//! - per account, failures across addresses: `pk = LOGINLIMIT#FAILURES#<sha-256 of the email>`,
//!   `sk = <15-minute window>` — `failures` (one `ADD` each, never a conditional write, so a flood
//!   of failures cannot make the owner's attempt conflict), `ttl` = the window's end + 15 min.
//! - per source address and purpose: `pk = LOGINLIMIT#<ADDRESS|REGISTER|RESET>#<ip>`,
//!   `sk = <epoch minute>` — `attempts`, `ttl` = the minute + 2 minutes; counted with one `ADD`.

use crate::attr::n;
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::get_item;
use crate::schema::{PK, SK, TTL};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use bourse_domain::Email;
use bourse_domain::login_throttle::{AccountThrottle, AddressLimit};
use bourse_domain::text::hex;
use sha2::{Digest, Sha256};

/// The hash that names an account's sign-in state: SHA-256 of the normalised email, hex.
pub fn account_key(email: &Email) -> String {
    hex(&Sha256::digest(email.as_str().as_bytes()))
}

/// Names the sign-in state of one account from one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairKey {
    /// [`account_key`] of the email.
    account: String,
    /// SHA-256 of the email and the address, hex.
    pair: String,
}

impl PairKey {
    pub fn new(email: &Email, address: &str) -> Self {
        PairKey { account: account_key(email), pair: hex(&Sha256::digest(format!("{}\n{address}", email.as_str()).as_bytes())) }
    }
}

fn account_pk(account_key: &str) -> String {
    format!("LOGINLIMIT#ACCOUNT#{account_key}")
}

/// The partitions that hold an account's sign-in state (every address's, and the failures):
/// what deleting the account empties.
pub fn partitions_of(account_key: &str) -> [String; 2] {
    [account_pk(account_key), failures_pk(account_key)]
}

/// The stored state of an account (default when none). 1 GetItem, strongly consistent (1 RCU).
pub async fn account_state(clients: &AwsClients, table: &str, key: &PairKey) -> Result<Option<AccountThrottle>, StorageError> {
    let Some(item) = get_item(clients, table, account_pk(&key.account), key.pair.as_str(), true).await? else { return Ok(None) };
    let number = |name: &str| match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    Ok(Some(AccountThrottle {
        attempts: u32::try_from(number("attempts")).unwrap_or(u32::MAX),
        last_attempt: number("lastAttempt"),
        locked_until: number("lockedUntil"),
    }))
}

/// Stores `next` if the state is still `previous` (none: the item must not exist).
/// 1 PutItem (1 WCU). `false` when another attempt changed it first.
pub async fn record_account_attempt(
    clients: &AwsClients,
    table: &str,
    key: &PairKey,
    previous: Option<AccountThrottle>,
    next: AccountThrottle,
) -> Result<bool, StorageError> {
    let expires = next.locked_until.max(next.last_attempt) + 2 * 86_400;
    let mut put = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, AttributeValue::S(account_pk(&key.account)))
        .item(SK, AttributeValue::S(key.pair.clone()))
        .item("attempts", n(i64::from(next.attempts)))
        .item("lastAttempt", n(next.last_attempt))
        .item("lockedUntil", n(next.locked_until))
        .item(TTL, n(expires));
    put = match previous {
        None => put.condition_expression("attribute_not_exists(#pk)").expression_attribute_names("#pk", PK),
        Some(prev) => put
            .condition_expression("attempts = :a AND lastAttempt = :l AND lockedUntil = :u")
            .expression_attribute_values(":a", n(i64::from(prev.attempts)))
            .expression_attribute_values(":l", n(prev.last_attempt))
            .expression_attribute_values(":u", n(prev.locked_until)),
    };
    crate::error::applied(put.send().await)
}

/// Clears an account's state after a successful login. 1 DeleteItem (1 WCU).
pub async fn clear_account(clients: &AwsClients, table: &str, key: &PairKey) -> Result<(), StorageError> {
    clients
        .dynamodb
        .delete_item()
        .table_name(table)
        .key(PK, AttributeValue::S(account_pk(&key.account)))
        .key(SK, AttributeValue::S(key.pair.clone()))
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// Counts one `limit` request from `address` in epoch minute `minute`; returns the minute's count
/// including it. 1 UpdateItem (1 WCU).
pub async fn count_address_attempt(
    clients: &AwsClients,
    table: &str,
    limit: AddressLimit,
    address: &str,
    minute: i64,
) -> Result<u64, StorageError> {
    let key = format!("LOGINLIMIT#{}#{address}", limit.name());
    let output = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, AttributeValue::S(key.clone()))
        .key(SK, AttributeValue::S(minute.to_string()))
        .update_expression("ADD attempts :one SET #ttl = :ttl")
        .expression_attribute_names("#ttl", TTL)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":ttl", n((minute + 2) * 60))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(dynamodb_error)?;
    match output.attributes.as_ref().and_then(|a| a.get("attempts")) {
        Some(AttributeValue::N(v)) => Ok(v.parse().unwrap_or(u64::MAX)),
        _ => Err(StorageError::Corrupt { key, reason: "attempts not returned".into() }),
    }
}

fn failures_pk(account_key: &str) -> String {
    format!("LOGINLIMIT#FAILURES#{account_key}")
}

/// Failed sign-ins to the account in window `window` (0 when none). 1 GetItem, strongly
/// consistent (1 RCU).
pub async fn account_failures(clients: &AwsClients, table: &str, account_key: &str, window: i64) -> Result<u64, StorageError> {
    let item = get_item(clients, table, failures_pk(account_key), window.to_string(), true).await?;
    Ok(match item.as_ref().and_then(|i| i.get("failures")) {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(u64::MAX),
        _ => 0,
    })
}

/// Counts one failed sign-in to the account in window `window` (of `window_seconds`); returns the
/// window's count including it. 1 UpdateItem (1 WCU), unconditional.
pub async fn count_account_failure(
    clients: &AwsClients,
    table: &str,
    account_key: &str,
    window: i64,
    window_seconds: i64,
) -> Result<u64, StorageError> {
    let key = failures_pk(account_key);
    let output = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, AttributeValue::S(key.clone()))
        .key(SK, AttributeValue::S(window.to_string()))
        .update_expression("ADD failures :one SET #ttl = :ttl")
        .expression_attribute_names("#ttl", TTL)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":ttl", n((window + 2) * window_seconds))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(dynamodb_error)?;
    match output.attributes.as_ref().and_then(|a| a.get("failures")) {
        Some(AttributeValue::N(v)) => Ok(v.parse().unwrap_or(u64::MAX)),
        _ => Err(StorageError::Corrupt { key, reason: "failures not returned".into() }),
    }
}
