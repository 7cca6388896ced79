//! Accounts in the app table.
//!
//! Keys:
//! - user: `pk = USER#<userId>`, `sk = PROFILE` — email, plan, createdAt, `sessionsValidAfter`
//!   (epoch seconds: sessions started at or before it are over — "log out everywhere"),
//!   `emailVerified`;
//! - single-use tokens (e-mail verification, password reset): `pk = <VERIFY|RESET>#<sha-256 of
//!   the token>`, `sk = TOKEN` — userId, email, `expiresAt`, `ttl`. Only the hash is stored; a
//!   token is spent by deleting its item (conditional, returning it), so it works once.
//! - email claim: `pk = EMAIL#<normalised email>`, `sk = EMAIL` — userId, passwordHash, plan.
//!   Its key *is* the uniqueness constraint: registration puts both items in one transaction,
//!   each conditional on `attribute_not_exists(pk)`, so two registrations of one email cannot
//!   both succeed (no read-then-write).

use crate::attr::{put_if_absent, s};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::get_item;
use crate::schema::{PK, SK, app};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
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
    pub email_verified: bool,
    /// The owner asked for the account's deletion (epoch seconds); the erasure is under way.
    pub deleting_since: Option<i64>,
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
        email_verified: matches!(item.get("emailVerified"), Some(AttributeValue::Bool(true))),
        deleting_since: match item.get(DELETING) {
            Some(AttributeValue::N(v)) => v.parse().ok(),
            _ => None,
        },
    }))
}

/// What a refresh re-reads: the current plan, the operator role and when the user last ended
/// every session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    pub plan: String,
    /// Sessions started at or before this (epoch seconds) are over; 0 when never set.
    pub sessions_valid_after: i64,
    /// The account holds the operator role (`crate::roles`).
    pub admin: bool,
}

/// An UpdateItem of the user's profile item; the caller adds the expressions and sends it.
pub(crate) fn update_profile(clients: &AwsClients, table: &str, user_id: &UserId) -> UpdateItemFluentBuilder {
    clients.dynamodb.update_item().table_name(table).key(PK, s(user_pk(user_id))).key(SK, s("PROFILE"))
}

/// The session policy of a user (`None` when the account does not exist). 1 GetItem of three
/// attributes, strongly consistent (1 RCU): a "log out everywhere" or a role change is seen by
/// the next refresh.
pub async fn session_policy(clients: &AwsClients, table: &str, user_id: &UserId) -> Result<Option<SessionPolicy>, StorageError> {
    let key = user_pk(user_id);
    let output = clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key(PK, s(&key))
        .key(SK, s("PROFILE"))
        .projection_expression("#plan, #after, #role, #deleting")
        .expression_attribute_names("#deleting", DELETING)
        .expression_attribute_names("#plan", "plan")
        .expression_attribute_names("#after", "sessionsValidAfter")
        .expression_attribute_names("#role", "role")
        .consistent_read(true)
        .send()
        .await
        .map_err(dynamodb_error)?;
    // An account being deleted has no sessions left to refresh.
    let Some(item) = output.item.filter(|item| !item.contains_key(DELETING)) else { return Ok(None) };
    let sessions_valid_after = match item.get("sessionsValidAfter") {
        Some(AttributeValue::N(v)) => {
            v.parse().map_err(|_| StorageError::Corrupt { key: key.clone(), reason: "sessionsValidAfter".into() })?
        }
        _ => 0,
    };
    let admin = matches!(item.get("role"), Some(AttributeValue::S(role)) if role == crate::roles::ADMIN);
    Ok(Some(SessionPolicy { plan: text(&item, "plan", &key)?, sessions_valid_after, admin }))
}

/// Ends every session of the user started at or before `now`: sets `sessionsValidAfter`, which
/// every refresh checks (the sessions' own items are revoked by the caller as well, so their
/// access tokens stop at once). 1 UpdateItem (1 WCU); never moves the mark backwards.
pub async fn end_sessions_before(clients: &AwsClients, table: &str, user_id: &UserId, now: i64) -> Result<(), StorageError> {
    let result = update_profile(clients, table, user_id)
        .update_expression("SET #after = :now")
        .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#after) OR #after < :now)")
        .expression_attribute_names("#after", "sessionsValidAfter")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .send()
        .await;
    match result.map_err(dynamodb_error) {
        Ok(_) | Err(StorageError::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// The profile attribute that marks an account whose deletion has begun.
const DELETING: &str = "deletingSince";

/// Begins deleting an account: in 1 TransactWriteItems (4 WCU), deletes the e-mail claim (its
/// password hash: nobody signs in any more, and the address is free again) if it still belongs to
/// `user_id`, and marks the profile `deletingSince = now` (no refresh succeeds from then on). The
/// rest of the user's items are erased by the queue (`crate::erasure`). `false` when the claim is
/// no longer the user's or the profile is gone (a deletion already began).
pub async fn begin_deletion(clients: &AwsClients, table: &str, user_id: &UserId, email: &str, now: i64) -> Result<bool, StorageError> {
    use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
    let corrupt = |e: aws_sdk_dynamodb::error::BuildError| StorageError::Corrupt { key: user_pk(user_id), reason: e.to_string() };
    let release_email = Delete::builder()
        .table_name(table)
        .key(PK, s(email_pk(email)))
        .key(SK, s("EMAIL"))
        .condition_expression("userId = :user")
        .expression_attribute_values(":user", s(user_id))
        .build()
        .map_err(corrupt)?;
    let mark_profile = Update::builder()
        .table_name(table)
        .key(PK, s(user_pk(user_id)))
        .key(SK, s("PROFILE"))
        .update_expression("SET #deleting = :now")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#deleting", DELETING)
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .build()
        .map_err(corrupt)?;
    let result = clients
        .dynamodb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().delete(release_email).build())
        .transact_items(TransactWriteItem::builder().update(mark_profile).build())
        .send()
        .await;
    crate::error::applied(result)
}

/// What a single-use account token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    PasswordReset,
}

impl TokenPurpose {
    fn prefix(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "VERIFY",
            TokenPurpose::PasswordReset => "RESET",
        }
    }
}

/// The account a spent token was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub user_id: UserId,
    pub email: String,
}

/// Stores a single-use token (its hash) for `owner` until `expires_at`. 1 PutItem (1 WCU).
/// `owner` is `None` for a decoy (a reset asked for an address without an account costs the
/// same as one with).
pub async fn put_account_token(
    clients: &AwsClients,
    table: &str,
    purpose: TokenPurpose,
    token_hash: &str,
    owner: Option<&TokenOwner>,
    expires_at: i64,
) -> Result<(), StorageError> {
    let mut put = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(format!("{}#{token_hash}", purpose.prefix())))
        .item(SK, s("TOKEN"))
        .item("expiresAt", AttributeValue::N(expires_at.to_string()))
        .item(crate::schema::TTL, AttributeValue::N((expires_at + 3600).to_string()));
    if let Some(owner) = owner {
        // The owner index finds it when the account is deleted: the key is only a hash.
        put = put
            .item("userId", s(&owner.user_id))
            .item("email", s(owner.email.as_str()))
            .item(app::GSI3_PK, s(app::owner_pk(&owner.user_id)))
            .item(app::GSI3_SK, s(format!("{}#{token_hash}", purpose.prefix())));
    }
    put.send().await.map(|_| ()).map_err(dynamodb_error)
}

/// Spends a token: deletes its item if it exists and has not expired at `now`, and returns whose
/// it was (`None` for an unknown, expired, spent or decoy token). 1 DeleteItem (1 WCU), so two
/// presentations of one token cannot both succeed.
pub async fn take_account_token(
    clients: &AwsClients,
    table: &str,
    purpose: TokenPurpose,
    token_hash: &str,
    now: i64,
) -> Result<Option<TokenOwner>, StorageError> {
    let key = format!("{}#{token_hash}", purpose.prefix());
    let result = clients
        .dynamodb
        .delete_item()
        .table_name(table)
        .key(PK, s(&key))
        .key(SK, s("TOKEN"))
        .condition_expression("#expires > :now")
        .expression_attribute_names("#expires", "expiresAt")
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await;
    let item = match result.map_err(dynamodb_error) {
        Ok(output) => output.attributes.unwrap_or_default(),
        Err(StorageError::Conflict(_)) => return Ok(None),
        Err(other) => return Err(other),
    };
    let (Some(AttributeValue::S(user)), Some(AttributeValue::S(email))) = (item.get("userId"), item.get("email")) else { return Ok(None) };
    let user_id = UserId::parse(user).map_err(|e| StorageError::Corrupt { key: key.clone(), reason: format!("userId: {e}") })?;
    Ok(Some(TokenOwner { user_id, email: email.clone() }))
}

/// Marks the account's address as verified. 1 UpdateItem (1 WCU), idempotent.
pub async fn mark_email_verified(clients: &AwsClients, table: &str, user_id: &UserId) -> Result<(), StorageError> {
    let result = update_profile(clients, table, user_id)
        .update_expression("SET emailVerified = :true")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .send()
        .await;
    match result.map_err(dynamodb_error) {
        Ok(_) | Err(StorageError::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Replaces the password hash of the account with `email`, if it still belongs to `user_id`.
/// 1 UpdateItem (1 WCU); `false` when the account is gone.
pub async fn set_password_hash(clients: &AwsClients, table: &str, email: &str, user_id: &UserId, hash: &str) -> Result<bool, StorageError> {
    let result = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(email_pk(email)))
        .key(SK, s("EMAIL"))
        .update_expression("SET passwordHash = :hash")
        .condition_expression("userId = :user")
        .expression_attribute_values(":hash", s(hash))
        .expression_attribute_values(":user", s(user_id))
        .send()
        .await;
    crate::error::applied(result)
}
