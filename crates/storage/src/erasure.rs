//! Erasing an account: every item of a user in the App table, found through designed keys and the
//! owner index, never a Scan. (The Market table holds no user data.)
//!
//! Where a user's items are:
//! - `USER#<user>`: the profile and the portfolio items;
//! - `P#<user>#<portfolio>` per portfolio: holdings, transactions, snapshots, imported files;
//! - `J#<user>`: journal signals and statistics; `USAGE#<user>`: the usage meter;
//!   `INBOX#<user>`: notifications and their unread count; `ALERT#<user>`: alerts (their index
//!   entries on `gsi1` go with them); `CHAT#<user>`: the assistant's threads, messages,
//!   preferences and saved keys; saved screens live under `USER#<user>`;
//! - `EMAIL#<email>`: the sign-in claim (deleted when the deletion begins, only if still the user's);
//! - `gsi1 SESSIONS#<user>`: the session families (`FAMILY#<sid>`);
//! - `gsi3 OWNER#<user>` (keys only): refresh tokens, verification and reset tokens, idempotency
//!   records, and jobs (each job's partition `JOB#<id>` with its symbols and outcomes);
//! - `LOGINLIMIT#ACCOUNT#<sha-256 of the email>` and `LOGINLIMIT#FAILURES#<…>`: sign-in limits.
//!
//! Each step reads the keys of those partitions in that order until it holds about
//! [`STEP_ITEMS`] keys, deletes them (BatchWriteItem of 25), and says whether anything is left;
//! the caller (the consumer) sends the next step through the queue. Deletes are idempotent, so a
//! redelivered step only repeats work. The profile and the portfolio items go last: the profile
//! is the mark that the erasure is not finished.

use crate::batch::{Write, write_all};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::query::Item;
use crate::schema::{PK, SK, app};
use bourse_domain::{Email, UserId};

/// About how many items one step deletes (≈ 80 BatchWriteItem, a few seconds): a step reads
/// keys only while it holds fewer (a job's partition, ≤ 1 outcome per symbol, and the profile's
/// partition are read whole).
pub const STEP_ITEMS: usize = 2_000;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasureStep {
    pub deleted: usize,
    /// Nothing of the user was left when the step began collecting its last partition.
    pub finished: bool,
}

/// Only the key of an item (what a delete request takes).
fn key_of(item: &Item) -> Option<Item> {
    let pk = item.get(PK)?.clone();
    let sk = item.get(SK)?.clone();
    Some(Item::from([(PK.to_owned(), pk), (SK.to_owned(), sk)]))
}

/// Up to `max` base-table keys of a partition of the table (`index` `None`, read strongly
/// consistent) or of an index: 1 Query per page (`Limit` = what is still wanted, keys only).
async fn keys_of(clients: &AwsClients, table: &str, index: Option<(&str, &str)>, key: &str, max: usize) -> Result<Vec<Item>, StorageError> {
    let (index_name, key_name) = match index {
        Some((name, pk)) => (Some(name.to_owned()), pk),
        None => (None, PK),
    };
    let mut keys = Vec::new();
    let mut start: Option<Item> = None;
    while keys.len() < max {
        let wanted = i32::try_from(max - keys.len()).unwrap_or(i32::MAX);
        let output = clients
            .dynamodb
            .query()
            .table_name(table)
            .set_index_name(index_name.clone())
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", key_name)
            .expression_attribute_values(":k", aws_sdk_dynamodb::types::AttributeValue::S(key.to_owned()))
            .projection_expression("pk, sk")
            .consistent_read(index_name.is_none())
            .limit(wanted)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(crate::error::dynamodb_error)?;
        keys.extend(output.items.unwrap_or_default().iter().filter_map(key_of));
        start = output.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    Ok(keys)
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// Deletes up to about [`STEP_ITEMS`] items of `user` (whose address is `email`). Cost: the
/// Queries above (1 per partition per MB) + ⌈deleted/25⌉ BatchWriteItem (1 WCU per item per KB).
/// `finished` when every partition was read and emptied in this step.
pub async fn erase_step(clients: &AwsClients, table: &str, user: &UserId, email: &Email) -> Result<ErasureStep, StorageError> {
    let mut doomed: Vec<Item> = Vec::new();
    let room = |doomed: &Vec<Item>| STEP_ITEMS.saturating_sub(doomed.len());

    // The profile and the portfolio items (at most a few hundred): read whole, deleted last.
    let user_partition = keys_of(clients, table, None, &crate::accounts::user_pk(user), usize::MAX).await?;
    for item in &user_partition {
        if let Some(id) = text(item, SK).as_deref().and_then(|sk| sk.strip_prefix("PORTFOLIO#")) {
            let keys = keys_of(clients, table, None, &format!("P#{user}#{id}"), room(&doomed)).await?;
            doomed.extend(keys);
        }
    }
    for pk in [
        crate::journal::journal_pk(user),
        crate::usage::usage_pk(user),
        crate::inbox::inbox_pk(user),
        crate::alerts::alerts_pk(user),
        crate::assistant::chat_pk(user),
    ] {
        let keys = keys_of(clients, table, None, &pk, room(&doomed)).await?;
        doomed.extend(keys);
    }
    let owned = keys_of(clients, table, Some((app::GSI3, app::GSI3_PK)), &app::owner_pk(user), room(&doomed)).await?;
    for item in owned {
        match text(&item, PK) {
            // A job's partition holds its symbols and outcomes besides the header, which goes
            // last (it is what the owner index finds).
            Some(pk) if pk.starts_with("JOB#") => {
                let mut job = keys_of(clients, table, None, &pk, usize::MAX).await?;
                job.retain(|k| text(k, SK).as_deref() != Some("JOB"));
                doomed.extend(job);
                doomed.push(item);
            }
            _ => doomed.push(item),
        }
    }
    let sessions = format!("SESSIONS#{user}");
    let keys = keys_of(clients, table, Some((app::GSI1, app::GSI1_PK)), &sessions, room(&doomed)).await?;
    doomed.extend(keys);
    for pk in crate::login_limits::partitions_of(&crate::login_limits::account_key(email)) {
        let keys = keys_of(clients, table, None, &pk, room(&doomed)).await?;
        doomed.extend(keys);
    }
    // Last, once everything else is gone: the portfolio items and the profile.
    let finished = room(&doomed) > 0;
    if finished {
        doomed.extend(user_partition);
    }
    let deleted = doomed.len();
    write_all(clients, table, doomed.into_iter().map(Write::Delete).collect()).await?;
    Ok(ErasureStep { deleted, finished })
}
