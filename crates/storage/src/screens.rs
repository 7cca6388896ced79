//! Saved screens in the app table: `pk = USER#<user>`, `sk = SCREEN#<id>` — `name`, `filter` (the
//! canonical text of the parsed filter), `sort`, `order`, `columns`, `createdAt`, `updatedAt`. A
//! screen is one small item (a filter is at most `screener::MAX_LEN` characters); the user is in
//! the key, so another user's id is simply not found, and an account's deletion empties the
//! `USER#` partition, screens included.

use crate::attr::{corrupt, s, text};
use crate::batch::get_all;
use crate::clients::AwsClients;
use crate::error::{StorageError, applied};
use crate::query::{Item, Partition, SortKeys, get_item, query_all};
use crate::schema::{PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::saved_screen::ScreenDefinition;
use bourse_domain::{ScreenId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenRecord {
    pub id: ScreenId,
    pub definition: ScreenDefinition,
    pub created_at: String,
    pub updated_at: String,
}

fn user_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

fn sort_key(id: &ScreenId) -> String {
    format!("SCREEN#{id}")
}

fn screen_from(item: &Item) -> Result<ScreenRecord, StorageError> {
    let sk = text(item, SK).ok_or_else(|| corrupt(item, SK))?;
    let columns: Vec<String> = match item.get("columns") {
        Some(AttributeValue::L(list)) => {
            list.iter().map(|v| v.as_s().cloned().map_err(|_| corrupt(item, "columns"))).collect::<Result<_, _>>()?
        }
        _ => return Err(corrupt(item, "columns")),
    };
    let field = |name: &str| text(item, name).ok_or_else(|| corrupt(item, name));
    let definition = ScreenDefinition::parse(field("name")?, field("filter")?, Some(field("sort")?), Some(field("order")?), Some(&columns))
        .map_err(|e| corrupt(item, &e.field()))?;
    Ok(ScreenRecord {
        id: sk.strip_prefix("SCREEN#").and_then(|id| ScreenId::parse(id).ok()).ok_or_else(|| corrupt(item, SK))?,
        definition,
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
        updated_at: text(item, "updatedAt").unwrap_or_default().to_owned(),
    })
}

/// Writes `record` whole: a new screen when `new` (`attribute_not_exists`), else a replacement of
/// an existing one (`attribute_exists`; the last change wins). 1 PutItem, 1 WCU. `false` when the
/// condition failed.
pub async fn put_screen(clients: &AwsClients, table: &str, user: &UserId, record: &ScreenRecord, new: bool) -> Result<bool, StorageError> {
    let d = &record.definition;
    let put = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(user_pk(user)))
        .item(SK, s(sort_key(&record.id)))
        .item("name", s(d.name.clone()))
        .item("filter", s(d.filter.to_string()))
        .item("sort", s(d.sort.name()))
        .item("order", s(if d.sort.descending { "desc" } else { "asc" }))
        .item("columns", AttributeValue::L(d.columns.iter().map(|m| s(m.info().name)).collect()))
        .item("createdAt", s(record.created_at.clone()))
        .item("updatedAt", s(record.updated_at.clone()))
        .expression_attribute_names("#pk", PK)
        .condition_expression(if new { "attribute_not_exists(#pk)" } else { "attribute_exists(#pk)" });
    applied(put.send().await)
}

/// A user's saved screens, in id order. 1 Query `pk = USER#<user> AND begins_with(sk, SCREEN#)`,
/// strongly consistent.
pub async fn list_screens(clients: &AwsClients, table: &str, user: &UserId) -> Result<Vec<ScreenRecord>, StorageError> {
    let pk = user_pk(user);
    let items = query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith("SCREEN#"), None).await?;
    items.iter().map(screen_from).collect()
}

/// One saved screen of a user (`None` when it does not exist or is someone else's). 1 GetItem,
/// strongly consistent (1 RCU).
pub async fn get_screen(clients: &AwsClients, table: &str, user: &UserId, id: &ScreenId) -> Result<Option<ScreenRecord>, StorageError> {
    let found = get_item(clients, table, user_pk(user), sort_key(id), true).await?;
    found.as_ref().map(screen_from).transpose()
}

/// The screens of `keys` that exist, with their owner (screen alerts' evaluation):
/// ⌈N/100⌉ BatchGetItem, eventually consistent (0.5 RCU per screen).
pub async fn get_screens(
    clients: &AwsClients,
    table: &str,
    keys: &[(UserId, ScreenId)],
) -> Result<Vec<(UserId, ScreenRecord)>, StorageError> {
    let requested: Vec<Item> =
        keys.iter().map(|(user, id)| Item::from([(PK.to_owned(), s(user_pk(user))), (SK.to_owned(), s(sort_key(id)))])).collect();
    let found = get_all(clients, table, requested, None, false).await?;
    found
        .iter()
        .map(|item| {
            let owner = text(item, PK).and_then(|pk| pk.strip_prefix("USER#")).and_then(|u| UserId::parse(u).ok());
            Ok((owner.ok_or_else(|| corrupt(item, PK))?, screen_from(item)?))
        })
        .collect()
}

/// Deletes a saved screen; `false` when it did not exist. 1 DeleteItem with `attribute_exists(pk)`.
pub async fn delete_screen(clients: &AwsClients, table: &str, user: &UserId, id: &ScreenId) -> Result<bool, StorageError> {
    crate::query::delete_existing(clients, table, user_pk(user), sort_key(id)).await
}
