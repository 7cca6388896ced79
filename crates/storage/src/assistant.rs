//! The assistant's items. A user's threads, messages, preferences and saved provider keys live in
//! one partition, `pk = CHAT#<user>`, so an account's erasure removes them with one Query walk:
//! - thread: `sk = T#<thread id>` — `title`, `createdAt`, `updatedAt`, `messages` (the count,
//!   which numbers the next message and guards concurrent appends), `ttl`;
//! - message: `sk = M#<thread id>#<seq, 6 digits>` — `role`, `content`, `toolCalls` (JSON),
//!   `mode` (`model`|`fallback`), `provider`, `model`, `inputTokens`, `outputTokens`, `cost`,
//!   `createdAt`, `ttl`;
//! - preferences: `sk = PREFS`; a saved key: `sk = KEY#<key id>` — `endpoint`, `label`, `last4`,
//!   `dataKey` (the KMS-encrypted data key, base64), `sealed` (the provider key under that data
//!   key, AES-256-GCM, hex), `createdAt`; their number: `sk = KEYS` — `count`, the condition of
//!   the limit.
//!
//! Thread ids start with their creation time, so a descending Query lists newest first. Retention
//! is by TTL per plan: each write sets `ttl` = now + the plan's retention.
//!
//! Model usage is metered beside the request meter in `USAGE#<user>`: `sk = AI#<date>` (calls,
//! tokens and cost, in total and per `<provider>/<model>`) and `sk = AIMONTH#<YYYY-MM>` (the
//! month's cost on Bourse's provider, which the budget reads); the operator's daily spend is
//! `pk = AISPEND#ALL, sk = <date>`.

use crate::attr::{decimal, n, s, text};
use crate::batch::{Write, write_all};
use crate::clients::AwsClients;
use crate::error::{StorageError, applied, dynamodb_error};
use crate::query::{Item, Partition, SortKeys, delete_existing, get_item, query_all};
use crate::schema::{PK, SK, TTL};
use crate::usage::usage_pk;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use bourse_domain::UserId;
use bourse_domain::ids::{AssistantKeyId, ThreadId};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

pub fn chat_pk(user: &UserId) -> String {
    format!("CHAT#{user}")
}

const THREAD: &str = "T#";
const PREFS_SK: &str = "PREFS";
const KEY: &str = "KEY#";
const OPERATOR_SPEND_PK: &str = "AISPEND#ALL";
/// How long a day's model usage is kept (as the request meter's).
const USAGE_KEEP_SECONDS: i64 = 100 * 86_400;

fn thread_sk(id: &ThreadId) -> String {
    format!("{THREAD}{id}")
}

fn messages_prefix(id: &ThreadId) -> String {
    format!("M#{id}#")
}

fn message_sk(id: &ThreadId, seq: u32) -> String {
    format!("M#{id}#{seq:06}")
}

fn corrupt(key: &str, reason: impl ToString) -> StorageError {
    StorageError::Corrupt { key: key.to_owned(), reason: reason.to_string() }
}

fn number<T: std::str::FromStr + Default>(item: &Item, name: &str) -> T {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or_default(),
        _ => T::default(),
    }
}

fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StorageError> {
    result.map_err(|e| corrupt("assistant", e))
}

/// A thread as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRecord {
    pub id: ThreadId,
    pub title: String,
    pub created_at: String,
    pub updated_at: String,
    pub messages: u32,
}

fn thread_from(item: &Item) -> Result<ThreadRecord, StorageError> {
    let key = text(item, SK).unwrap_or_default();
    let id = key.strip_prefix(THREAD).and_then(|id| ThreadId::parse(id).ok()).ok_or_else(|| corrupt(key, "not a thread"))?;
    Ok(ThreadRecord {
        id,
        title: text(item, "title").unwrap_or_default().to_owned(),
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
        updated_at: text(item, "updatedAt").unwrap_or_default().to_owned(),
        messages: number(item, "messages"),
    })
}

/// Stores a new thread. 1 PutItem if absent (1 WCU).
pub async fn create_thread(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    thread: &ThreadRecord,
    ttl: i64,
) -> Result<bool, StorageError> {
    let put = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item(PK, s(chat_pk(user)))
        .item(SK, s(thread_sk(&thread.id)))
        .item("title", s(thread.title.clone()))
        .item("createdAt", s(thread.created_at.clone()))
        .item("updatedAt", s(thread.updated_at.clone()))
        .item("messages", n(thread.messages))
        .item(TTL, n(ttl))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .send()
        .await;
    applied(put)
}

/// One thread of the user's (someone else's id is simply absent). 1 GetItem, strongly consistent.
pub async fn get_thread(clients: &AwsClients, table: &str, user: &UserId, id: &ThreadId) -> Result<Option<ThreadRecord>, StorageError> {
    get_item(clients, table, chat_pk(user), thread_sk(id), true).await?.as_ref().map(thread_from).transpose()
}

/// A page of the user's threads, newest first, after `after` (the last id of the previous page).
/// 1 Query `pk = CHAT#<user> AND begins_with(sk, "T#")`, descending, `Limit` = `limit`. Returns
/// the threads and whether more may follow.
pub async fn list_threads(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    after: Option<&ThreadId>,
    limit: i32,
) -> Result<(Vec<ThreadRecord>, bool), StorageError> {
    let pk = chat_pk(user);
    let start = after.map(|id| Item::from([(PK.to_owned(), s(pk.clone())), (SK.to_owned(), s(thread_sk(id)))]));
    let output = clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#sk", SK)
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":prefix", s(THREAD))
        .scan_index_forward(false)
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(dynamodb_error)?;
    let threads = output.items.unwrap_or_default().iter().map(thread_from).collect::<Result<Vec<_>, _>>()?;
    Ok((threads, output.last_evaluated_key.is_some()))
}

/// Renames a thread (`false`: no such thread). 1 UpdateItem if it exists (1 WCU).
pub async fn rename_thread(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &ThreadId,
    title: &str,
    now: &str,
) -> Result<bool, StorageError> {
    let update = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(chat_pk(user)))
        .key(SK, s(thread_sk(id)))
        .update_expression("SET title = :title, updatedAt = :now")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":title", s(title))
        .expression_attribute_values(":now", s(now))
        .send()
        .await;
    applied(update)
}

/// Deletes a thread and its messages (`false`: no such thread). 1 Query of the messages' keys
/// (`begins_with(sk, "M#<id>#")`, a page per MB) + ⌈messages/25⌉ BatchWriteItem + 1 DeleteItem.
pub async fn delete_thread(clients: &AwsClients, table: &str, user: &UserId, id: &ThreadId) -> Result<bool, StorageError> {
    let pk = chat_pk(user);
    let prefix = messages_prefix(id);
    let keys = query_all(clients, Partition::of(table, &pk), SortKeys::BeginsWith(&prefix), Some("pk, sk")).await?;
    write_all(clients, table, keys.into_iter().map(Write::Delete).collect()).await?;
    delete_existing(clients, table, pk, thread_sk(id)).await
}

/// A thread or a message, as the account export walks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatRecord {
    Thread(ThreadRecord),
    Message { thread: ThreadId, message: MessageRecord },
}

/// Where a walk of the user's messages and threads stands (what a page ended on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatPosition {
    /// After this message.
    Message { thread: ThreadId, seq: u32 },
    /// After every message, before the first thread.
    Threads,
    /// After this thread.
    Thread(ThreadId),
}

impl ChatPosition {
    /// The sort key the walk goes on after.
    fn sk(&self) -> String {
        match self {
            ChatPosition::Message { thread, seq } => message_sk(thread, *seq),
            ChatPosition::Threads => PREFS_SK.to_owned(),
            ChatPosition::Thread(id) => thread_sk(id),
        }
    }

    /// The position of the item at `sk` (the walk's last read item); `None` for an item it never reads.
    fn of(sk: &str) -> Option<ChatPosition> {
        if let Some(id) = sk.strip_prefix(THREAD) {
            return ThreadId::parse(id).ok().map(ChatPosition::Thread);
        }
        if sk == PREFS_SK {
            return Some(ChatPosition::Threads);
        }
        let (thread, seq) = sk.strip_prefix("M#")?.split_once('#')?;
        Some(ChatPosition::Message { thread: ThreadId::parse(thread).ok()?, seq: seq.parse().ok()? })
    }
}

/// One page of the user's messages (every thread's, `M#…`) and then threads (`T#…`), in sort-key
/// order, after `after`: the account export's walk. 1 Query `pk = CHAT#<user> AND sk >= "M#"` (or
/// `sk >` the position's key), `Limit` = `limit`, eventually consistent. The preferences item
/// between the two is read and left out (the export shows the preferences apart). Returns the
/// records and, when the partition may hold more, where the next page starts.
pub async fn chat_records_page(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    after: Option<&ChatPosition>,
    limit: i32,
) -> Result<(Vec<ChatRecord>, Option<ChatPosition>), StorageError> {
    let query = clients
        .dynamodb
        .query()
        .table_name(table)
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#sk", SK)
        .expression_attribute_values(":pk", s(chat_pk(user)))
        .limit(limit);
    let query = match after {
        Some(after) => query.key_condition_expression("#pk = :pk AND #sk > :after").expression_attribute_values(":after", s(after.sk())),
        None => query.key_condition_expression("#pk = :pk AND #sk >= :first").expression_attribute_values(":first", s("M#")),
    };
    let output = query.send().await.map_err(dynamodb_error)?;
    let next = match output.last_evaluated_key.as_ref().and_then(|key| text(key, SK)) {
        Some(sk) => Some(ChatPosition::of(sk).ok_or_else(|| corrupt(sk, "not an item of the export's walk"))?),
        None => None,
    };
    let mut records = Vec::new();
    for item in output.items.unwrap_or_default() {
        let sk = text(&item, SK).unwrap_or_default();
        if sk.starts_with(THREAD) {
            records.push(ChatRecord::Thread(thread_from(&item)?));
        } else if let Some(ChatPosition::Message { thread, .. }) = ChatPosition::of(sk) {
            records.push(ChatRecord::Message { thread, message: message_from(&item)? });
        }
    }
    Ok((records, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_position_is_the_key_it_was_read_from() {
        let thread = ThreadId::parse(&"ab".repeat(16)).unwrap();
        for position in [ChatPosition::Message { thread: thread.clone(), seq: 42 }, ChatPosition::Threads, ChatPosition::Thread(thread)] {
            assert_eq!(ChatPosition::of(&position.sk()), Some(position));
        }
        for sk in ["KEYS", "KEY#x", "M#nothex#000001", "T#short", "M#abababababababababababababababab#x"] {
            assert_eq!(ChatPosition::of(sk), None, "{sk}");
        }
    }
}

/// One tool call an answer made, as kept with the answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolCallRecord {
    pub name: String,
    /// The arguments the model wrote (JSON text, capped).
    pub arguments: String,
    /// `ok`, `refused` (invalid arguments) or `failed` (the read answered an error, e.g. 404).
    pub outcome: String,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub seq: u32,
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    pub tool_calls: Vec<ToolCallRecord>,
    /// For answers: `model` or `fallback`.
    pub mode: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Option<Decimal>,
    pub created_at: String,
}

impl MessageRecord {
    /// A user's question: no tools, tokens or cost (those are its answer's).
    pub fn question(seq: u32, content: String, created_at: String) -> Self {
        MessageRecord {
            seq,
            role: "user".into(),
            content,
            tool_calls: vec![],
            mode: None,
            provider: None,
            model: None,
            input_tokens: 0,
            output_tokens: 0,
            cost: None,
            created_at,
        }
    }
}

fn message_from(item: &Item) -> Result<MessageRecord, StorageError> {
    let key = text(item, SK).unwrap_or_default();
    let seq = key.rsplit('#').next().and_then(|s| s.parse().ok()).ok_or_else(|| corrupt(key, "not a message"))?;
    let tool_calls = match text(item, "toolCalls") {
        Some(json) => serde_json::from_str(json).map_err(|e| corrupt(key, e))?,
        None => vec![],
    };
    let optional = |name: &str| text(item, name).map(str::to_owned);
    Ok(MessageRecord {
        seq,
        role: text(item, "role").ok_or_else(|| corrupt(key, "role"))?.to_owned(),
        content: text(item, "content").unwrap_or_default().to_owned(),
        tool_calls,
        mode: optional("mode"),
        provider: optional("provider"),
        model: optional("model"),
        input_tokens: number(item, "inputTokens"),
        output_tokens: number(item, "outputTokens"),
        cost: match item.get("cost") {
            Some(AttributeValue::N(v)) => v.parse().ok(),
            _ => None,
        },
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
    })
}

/// The last `last` messages of a thread, oldest first. 1 Query
/// `begins_with(sk, "M#<id>#")`, descending, `Limit` = `last`, strongly consistent.
pub async fn recent_messages(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    id: &ThreadId,
    last: i32,
) -> Result<Vec<MessageRecord>, StorageError> {
    let output = clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#sk", SK)
        .expression_attribute_values(":pk", s(chat_pk(user)))
        .expression_attribute_values(":prefix", s(messages_prefix(id)))
        .scan_index_forward(false)
        .consistent_read(true)
        .limit(last)
        .send()
        .await
        .map_err(dynamodb_error)?;
    let mut messages = output.items.unwrap_or_default().iter().map(message_from).collect::<Result<Vec<_>, _>>()?;
    messages.reverse();
    Ok(messages)
}

/// Appends `messages` (numbered from the thread's count as read, `expected`) and moves the
/// thread's count and time — only if no other append came first (`false`: re-read and retry, or
/// report the conflict). 1 TransactWriteItems: the thread's Update (`messages = :expected`) and
/// one Put per message (≈ 2 WCU each, more for long answers).
pub async fn append_messages(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    thread: &ThreadId,
    expected: u32,
    messages: &[MessageRecord],
    ttl: i64,
) -> Result<bool, StorageError> {
    let pk = chat_pk(user);
    // The thread's time is its last message's.
    let updated_at = messages.last().map(|m| m.created_at.clone()).unwrap_or_default();
    let update = build(
        Update::builder()
            .table_name(table)
            .key(PK, s(pk.clone()))
            .key(SK, s(thread_sk(thread)))
            .update_expression("SET messages = :next, updatedAt = :now, #ttl = :ttl")
            .condition_expression("messages = :expected")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":next", n(expected + messages.len() as u32))
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_values(":now", s(updated_at))
            .expression_attribute_values(":ttl", n(ttl))
            .build(),
    )?;
    let mut items = vec![TransactWriteItem::builder().update(update).build()];
    for message in messages {
        let mut put = Put::builder()
            .table_name(table)
            .item(PK, s(pk.clone()))
            .item(SK, s(message_sk(thread, message.seq)))
            .item("role", s(message.role.clone()))
            .item("content", s(message.content.clone()))
            .item("createdAt", s(message.created_at.clone()))
            .item("inputTokens", n(message.input_tokens))
            .item("outputTokens", n(message.output_tokens))
            .item(TTL, n(ttl))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        if !message.tool_calls.is_empty() {
            put = put.item("toolCalls", s(serde_json::to_string(&message.tool_calls).map_err(|e| corrupt("toolCalls", e))?));
        }
        for (name, value) in [("mode", &message.mode), ("provider", &message.provider), ("model", &message.model)] {
            if let Some(value) = value {
                put = put.item(name, s(value.clone()));
            }
        }
        if let Some(cost) = message.cost {
            put = put.item("cost", decimal(cost));
        }
        items.push(TransactWriteItem::builder().put(build(put.build())?).build());
    }
    applied(clients.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await)
}

/// The preferences as stored (every field optional: defaults apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreferencesRecord {
    /// `bourse` or `key:<key id>`.
    pub provider: Option<String>,
    pub model: Option<String>,
    /// Hundredths.
    pub temperature: Option<u8>,
    pub language: Option<String>,
    pub risk_profile: Option<String>,
}

/// The user's preferences (`None`: never set). 1 GetItem, strongly consistent.
pub async fn preferences(clients: &AwsClients, table: &str, user: &UserId) -> Result<Option<PreferencesRecord>, StorageError> {
    let Some(item) = get_item(clients, table, chat_pk(user), PREFS_SK, true).await? else { return Ok(None) };
    let optional = |name: &str| text(&item, name).map(str::to_owned);
    Ok(Some(PreferencesRecord {
        provider: optional("provider"),
        model: optional("model"),
        temperature: match item.get("temperature") {
            Some(AttributeValue::N(v)) => v.parse().ok(),
            _ => None,
        },
        language: optional("language"),
        risk_profile: optional("riskProfile"),
    }))
}

/// Replaces the preferences. 1 PutItem (1 WCU).
pub async fn put_preferences(clients: &AwsClients, table: &str, user: &UserId, prefs: &PreferencesRecord) -> Result<(), StorageError> {
    let mut put = clients.dynamodb.put_item().table_name(table).item(PK, s(chat_pk(user))).item(SK, s(PREFS_SK));
    for (name, value) in
        [("provider", &prefs.provider), ("model", &prefs.model), ("language", &prefs.language), ("riskProfile", &prefs.risk_profile)]
    {
        if let Some(value) = value {
            put = put.item(name, s(value.clone()));
        }
    }
    if let Some(temperature) = prefs.temperature {
        put = put.item("temperature", n(temperature));
    }
    put.send().await.map(|_| ()).map_err(dynamodb_error)
}

/// A saved provider key as stored: never its plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: AssistantKeyId,
    pub endpoint: String,
    pub label: String,
    pub last4: String,
    /// The data key, encrypted by KMS (base64 of its ciphertext blob).
    pub data_key: String,
    /// The provider key sealed under the data key.
    pub sealed: String,
    pub created_at: String,
}

fn key_from(item: &Item) -> Result<KeyRecord, StorageError> {
    let sk = text(item, SK).unwrap_or_default();
    let id = sk.strip_prefix(KEY).and_then(|id| AssistantKeyId::parse(id).ok()).ok_or_else(|| corrupt(sk, "not a key"))?;
    let field = |name: &str| text(item, name).map(str::to_owned).ok_or_else(|| corrupt(sk, name));
    Ok(KeyRecord {
        id,
        endpoint: field("endpoint")?,
        label: field("label")?,
        last4: field("last4")?,
        data_key: field("dataKey")?,
        sealed: field("sealed")?,
        created_at: text(item, "createdAt").unwrap_or_default().to_owned(),
    })
}

/// The user's saved keys. 1 Query `begins_with(sk, "KEY#")`, strongly consistent.
pub async fn list_keys(clients: &AwsClients, table: &str, user: &UserId) -> Result<Vec<KeyRecord>, StorageError> {
    let pk = chat_pk(user);
    query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith(KEY), None).await?.iter().map(key_from).collect()
}

/// One saved key. 1 GetItem, strongly consistent.
pub async fn get_key(clients: &AwsClients, table: &str, user: &UserId, id: &AssistantKeyId) -> Result<Option<KeyRecord>, StorageError> {
    get_item(clients, table, chat_pk(user), format!("{KEY}{id}"), true).await?.as_ref().map(key_from).transpose()
}

/// The item counting a user's saved keys (`count`), the condition that keeps them within the limit.
const KEY_COUNT: &str = "KEYS";

/// What saving a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySaved {
    Saved,
    /// The user already has the most keys allowed.
    Full,
    /// A key with this id exists (a random id met another: the caller makes a new one).
    IdTaken,
}

/// Saves a key if the user has fewer than `max`: 1 TransactWriteItems of the count's Update (`ADD
/// count 1` while below `max`) and the key's Put (if absent), ≈ 4 WCU. Two saves at once cannot
/// both pass the limit, as a count read before the write would let them; a transaction conflict
/// is retried.
pub async fn put_key(clients: &AwsClients, table: &str, user: &UserId, key: &KeyRecord, max: u32) -> Result<KeySaved, StorageError> {
    let pk = chat_pk(user);
    let count = Update::builder()
        .table_name(table)
        .key(PK, s(&pk))
        .key(SK, s(KEY_COUNT))
        .update_expression("ADD #count :one")
        .condition_expression("attribute_not_exists(#count) OR #count < :max")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":max", n(max))
        .build()
        .map_err(|e| corrupt(&pk, e))?;
    let put = Put::builder()
        .table_name(table)
        .item(PK, s(&pk))
        .item(SK, s(format!("{KEY}{}", key.id)))
        .item("endpoint", s(key.endpoint.clone()))
        .item("label", s(key.label.clone()))
        .item("last4", s(key.last4.clone()))
        .item("dataKey", s(key.data_key.clone()))
        .item("sealed", s(key.sealed.clone()))
        .item("createdAt", s(key.created_at.clone()))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|e| corrupt(&pk, e))?;
    let items = [TransactWriteItem::builder().update(count).build(), TransactWriteItem::builder().put(put).build()];
    match counted_write(clients, &items).await? {
        None => Ok(KeySaved::Saved),
        Some(0) => Ok(KeySaved::Full),
        Some(_) => Ok(KeySaved::IdTaken),
    }
}

/// Deletes a saved key (`false`: none): 1 TransactWriteItems of the key's Delete (if it exists)
/// and the count's Update (`ADD count -1`), ≈ 4 WCU.
pub async fn delete_key(clients: &AwsClients, table: &str, user: &UserId, id: &AssistantKeyId) -> Result<bool, StorageError> {
    let pk = chat_pk(user);
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(table)
        .key(PK, s(&pk))
        .key(SK, s(format!("{KEY}{id}")))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|e| corrupt(&pk, e))?;
    let count = Update::builder()
        .table_name(table)
        .key(PK, s(&pk))
        .key(SK, s(KEY_COUNT))
        .update_expression("ADD #count :minus")
        .condition_expression("#count > :zero")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":minus", n(-1))
        .expression_attribute_values(":zero", n(0))
        .build()
        .map_err(|e| corrupt(&pk, e))?;
    let items = [TransactWriteItem::builder().delete(delete).build(), TransactWriteItem::builder().update(count).build()];
    Ok(counted_write(clients, &items).await?.is_none())
}

/// Runs a transaction of a few conditional writes, retrying transaction conflicts: `None` when it
/// applied, else the index of the first write whose condition failed.
async fn counted_write(clients: &AwsClients, items: &[TransactWriteItem]) -> Result<Option<usize>, StorageError> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    let mut attempts = crate::retry::Attempts::new(6);
    while attempts.next().await {
        let err = match clients.dynamodb.transact_write_items().set_transact_items(Some(items.to_vec())).send().await {
            Ok(_) => return Ok(None),
            Err(err) => err,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = err.as_service_error() {
            let reasons = cancel.cancellation_reasons();
            if let Some(failed) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                return Ok(Some(failed));
            }
            if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                continue;
            }
        }
        return Err(StorageError::from_sdk("dynamodb", err));
    }
    Err(StorageError::Conflict(format!("a transaction raced {} times", attempts.made())))
}

/// One model call to meter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCall<'a> {
    /// `YYYY-MM-DD` and `YYYY-MM` (UTC) of the call.
    pub date: &'a str,
    pub month: &'a str,
    /// Epoch second of the day's start (the usage item's `ttl` counts from it).
    pub day_start: i64,
    pub provider: &'a str,
    pub model: &'a str,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Decimal,
    /// Paid by Bourse (counted against the user's budget and the operator's cap), not a user's key.
    pub billed: bool,
}

/// Meters one model call: the day's counters (total and per provider/model), and when billed the
/// month's spend and the operator's day. 1 TransactWriteItems of 1 or 3 Updates (`ADD`; ≈ 2 WCU
/// each): all or nothing, so a spend is never counted without its tokens.
pub async fn record_model_call(clients: &AwsClients, table: &str, user: &UserId, call: &ModelCall<'_>) -> Result<(), StorageError> {
    let pk = usage_pk(user);
    let tag = format!("m:{}/{}", call.provider, call.model);
    let ttl = call.day_start + USAGE_KEEP_SECONDS;
    let day = build(
        Update::builder()
            .table_name(table)
            .key(PK, s(pk.clone()))
            .key(SK, s(format!("AI#{}", call.date)))
            .update_expression(
                "ADD calls :one, inputTokens :in, outputTokens :out, cost :cost, #mc :one, #mi :in, #mo :out, #mcost :cost SET #ttl = :ttl",
            )
            .expression_attribute_names("#mc", format!("{tag}:calls"))
            .expression_attribute_names("#mi", format!("{tag}:in"))
            .expression_attribute_names("#mo", format!("{tag}:out"))
            .expression_attribute_names("#mcost", format!("{tag}:cost"))
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":in", n(call.input_tokens))
            .expression_attribute_values(":out", n(call.output_tokens))
            .expression_attribute_values(":cost", decimal(call.cost))
            .expression_attribute_values(":ttl", n(ttl))
            .build(),
    )?;
    let mut items = vec![TransactWriteItem::builder().update(day).build()];
    if call.billed {
        let spend = |pk: String, sk: String, ttl: i64| {
            build(
                Update::builder()
                    .table_name(table)
                    .key(PK, s(pk))
                    .key(SK, s(sk))
                    .update_expression("ADD cost :cost SET #ttl = :ttl")
                    .expression_attribute_names("#ttl", TTL)
                    .expression_attribute_values(":cost", decimal(call.cost))
                    .expression_attribute_values(":ttl", n(ttl))
                    .build(),
            )
        };
        items.push(TransactWriteItem::builder().update(spend(pk, format!("AIMONTH#{}", call.month), ttl)?).build());
        items.push(TransactWriteItem::builder().update(spend(OPERATOR_SPEND_PK.into(), call.date.into(), ttl)?).build());
    }
    clients.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await.map(|_| ()).map_err(dynamodb_error)
}

fn cost_of(item: Option<&Item>) -> Decimal {
    match item.and_then(|i| i.get("cost")) {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// What the budget check reads: the user's spend this month and everyone's today on Bourse's
/// provider. 2 GetItem, strongly consistent (2 RCU), concurrently.
pub async fn spend(clients: &AwsClients, table: &str, user: &UserId, month: &str, date: &str) -> Result<(Decimal, Decimal), StorageError> {
    let (mine, all) = tokio::join!(
        get_item(clients, table, usage_pk(user), format!("AIMONTH#{month}"), true),
        get_item(clients, table, OPERATOR_SPEND_PK, date, true),
    );
    Ok((cost_of(mine?.as_ref()), cost_of(all?.as_ref())))
}

/// A day of model usage, in total and per `<provider>/<model>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelDay {
    pub date: String,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Decimal,
    pub by_model: BTreeMap<String, ModelUsage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelUsage {
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Decimal,
}

/// Model usage from `from` to `to` (`YYYY-MM-DD`, inclusive) and the spend of `month`. 1 Query
/// `pk = USAGE#<user> AND sk BETWEEN "AI#<from>" AND "AI#<to>"` + 1 GetItem of the month.
pub async fn model_usage(
    clients: &AwsClients,
    table: &str,
    user: &UserId,
    from: &str,
    to: &str,
    month: &str,
) -> Result<(Vec<ModelDay>, Decimal), StorageError> {
    let pk = usage_pk(user);
    let (from, to) = (format!("AI#{from}"), format!("AI#{to}"));
    let items = query_all(clients, Partition::of(table, &pk), SortKeys::Between(&from, &to), None).await?;
    let mut days = Vec::with_capacity(items.len());
    for item in &items {
        let Some(date) = text(item, SK).and_then(|sk| sk.strip_prefix("AI#")) else { continue };
        let mut day = ModelDay {
            date: date.to_owned(),
            calls: number(item, "calls"),
            input_tokens: number(item, "inputTokens"),
            output_tokens: number(item, "outputTokens"),
            cost: cost_of(Some(item)),
            by_model: BTreeMap::new(),
        };
        for (name, value) in item {
            let (Some(rest), AttributeValue::N(v)) = (name.strip_prefix("m:"), value) else { continue };
            let Some((model, field)) = rest.rsplit_once(':') else { continue };
            let usage = day.by_model.entry(model.to_owned()).or_default();
            match field {
                "calls" => usage.calls = v.parse().unwrap_or_default(),
                "in" => usage.input_tokens = v.parse().unwrap_or_default(),
                "out" => usage.output_tokens = v.parse().unwrap_or_default(),
                "cost" => usage.cost = v.parse().unwrap_or_default(),
                _ => {}
            }
        }
        days.push(day);
    }
    let month_item = get_item(clients, table, pk, format!("AIMONTH#{month}"), false).await?;
    Ok((days, cost_of(month_item.as_ref())))
}
