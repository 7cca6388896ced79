//! Accounts in the app table.
//!
//! Keys:
//! - user: `pk = USER#<userId>`, `sk = PROFILE` — email, plan, createdAt;
//! - email claim: `pk = EMAIL#<normalised email>`, `sk = EMAIL` — userId, passwordHash, plan.
//!   Its key *is* the uniqueness constraint: registration puts both items in one transaction,
//!   each conditional on `attribute_not_exists(pk)`, so two registrations of one email cannot
//!   both succeed (no read-then-write).

use crate::attr::{put_if_absent, s};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::get_item;
use crate::schema::{PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::UserId;
use std::collections::HashMap;

pub fn user_pk(user_id: &UserId) -> String {
    format!("USER#{user_id}")
}

pub fn email_pk(email: &str) -> String {
    format!("EMAIL#{email}")
}

/// A new account as stored.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub user_id: &'a UserId,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub plan: &'a str,
    pub created_at: &'a str,
}

/// What login needs, read by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: String,
    pub plan: String,
}

/// The profile, read by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub user_id: UserId,
    pub email: String,
    pub plan: String,
    pub created_at: String,
}

/// Outcome of registration.
#[derive(Debug, PartialEq, Eq)]
pub enum Registered {
    Created,
    EmailTaken,
}

/// Creates the account. 1 TransactWriteItems of 2 conditional Puts (4 WCU). A lost race or an
/// existing email is [`Registered::EmailTaken`].
pub async fn create_account(clients: &AwsClients, table: &str, account: &NewAccount<'_>) -> Result<Registered, StorageError> {
    let email_item = HashMap::from([
        (PK.to_owned(), s(email_pk(account.email))),
        (SK.to_owned(), s("EMAIL")),
        ("userId".to_owned(), s(account.user_id)),
        ("passwordHash".to_owned(), s(account.password_hash)),
        ("plan".to_owned(), s(account.plan)),
    ]);
    let user_item = HashMap::from([
        (PK.to_owned(), s(user_pk(account.user_id))),
        (SK.to_owned(), s("PROFILE")),
        ("email".to_owned(), s(account.email)),
        ("plan".to_owned(), s(account.plan)),
        ("createdAt".to_owned(), s(account.created_at)),
    ]);
    let result = clients
        .dynamodb
        .transact_write_items()
        .transact_items(put_if_absent(table, email_item)?)
        .transact_items(put_if_absent(table, user_item)?)
        .send()
        .await;
    match result.map_err(dynamodb_error) {
        Ok(_) => Ok(Registered::Created),
        Err(StorageError::Conflict(_)) => Ok(Registered::EmailTaken),
        Err(other) => Err(other),
    }
}

fn text(item: &HashMap<String, AttributeValue>, name: &str, key: &str) -> Result<String, StorageError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StorageError::Corrupt { key: key.to_owned(), reason: format!("{name} missing") }),
    }
}

/// Credentials by email. 1 GetItem, strongly consistent (1 RCU): a login right after
/// registration must see the account.
pub async fn credentials_by_email(clients: &AwsClients, table: &str, email: &str) -> Result<Option<Credentials>, StorageError> {
    let key = email_pk(email);
    let Some(item) = get_item(clients, table, &key, "EMAIL", true).await? else { return Ok(None) };
    Ok(Some(Credentials {
        user_id: UserId::parse(&text(&item, "userId", &key)?)
            .map_err(|e| StorageError::Corrupt { key: key.clone(), reason: format!("userId: {e}") })?,
        password_hash: text(&item, "passwordHash", &key)?,
        plan: text(&item, "plan", &key)?,
    }))
}

/// The profile by user id. 1 GetItem, eventually consistent (0.5 RCU).
pub async fn profile(clients: &AwsClients, table: &str, user_id: &UserId) -> Result<Option<Profile>, StorageError> {
    let key = user_pk(user_id);
    let Some(item) = get_item(clients, table, &key, "PROFILE", false).await? else { return Ok(None) };
    Ok(Some(Profile {
        user_id: user_id.to_owned(),
        email: text(&item, "email", &key)?,
        plan: text(&item, "plan", &key)?,
        created_at: text(&item, "createdAt", &key)?,
    }))
}
