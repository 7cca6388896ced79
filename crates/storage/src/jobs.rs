//! Enrichment jobs in the app table, and sending their messages to the queue.
//!
//! Keys (partition `pk = JOB#<id>`):
//! - `sk = JOB`, the job's small header and counters: owner, kind, `total`, `done`, `failed`,
//!   `createdAt`, `updatedAt`, optionally `enqueuedAt`, `enqueueFailed`, `completedAt`; while open
//!   it is in the sparse index of open jobs (`gsi1pk = JOBS#OPEN`, `gsi1sk = <createdAt>#<id>`),
//!   which the sweep reads. Each outcome rewrites only this item (≈ 200 bytes: 1 WCU), whatever
//!   the job's size;
//! - `sk = SYMBOLS#<nnnn>`: the job's symbols, in chunks of [`SYMBOLS_PER_CHUNK`], written once;
//! - `sk = SYMBOL#<symbol>`, one outcome per symbol: `ok`, `error`, `quality`. Its conditional
//!   creation is what makes a symbol count once, however often its message is delivered.
//!
//! Everything has `ttl` = creation + 30 days.

use crate::attr::{n, s};
use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::query::{Partition, SortKeys, get_item, query_all};
use crate::retry::Attempts;
use crate::schema::{PK, SK, TTL, app};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use bourse_domain::Symbol;
use bourse_domain::jobs::{JobId, JobProgress};
use bourse_domain::jobs::{JobKind, JobOwner};
use bourse_domain::messages::QueueMessage;
use std::collections::HashMap;

/// How long a job and its outcomes are kept.
pub const JOB_TTL_SECONDS: u64 = 30 * 86_400;
/// Symbols per `SYMBOLS#` item (≈ 12 KB).
pub const SYMBOLS_PER_CHUNK: usize = 1_500;
/// The index partition of open jobs.
const OPEN_JOBS: &str = "JOBS#OPEN";
/// How often recording an outcome is retried when it loses a race for the job's counters
/// (`TransactionConflict`) before the message is left to SQS.
const CONFLICT_RETRIES: u32 = 12;

fn job_pk(id: &JobId) -> String {
    format!("JOB#{id}")
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: JobId,
    /// The user who created it (`system` for the scheduled refresh).
    pub owner: JobOwner,
    /// `symbols`, `universe`, `scheduled-refresh` or `csv-import`.
    pub kind: JobKind,
    pub progress: JobProgress,
    pub created_at: String,
    pub updated_at: String,
    pub enqueue_failed: bool,
    /// Every message was sent.
    pub enqueued: bool,
    pub completed_at: Option<String>,
}

impl JobRecord {
    /// A new job over `total` symbols, nothing done and nothing sent yet, created at `now`
    /// (RFC 3339).
    pub fn new(id: JobId, owner: JobOwner, kind: JobKind, total: usize, now: &str) -> Self {
        JobRecord {
            id,
            owner,
            kind,
            progress: JobProgress { total: total as u64, done: 0, failed: 0 },
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            enqueue_failed: false,
            enqueued: false,
            completed_at: None,
        }
    }
}

/// One symbol's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolOutcome {
    pub symbol: String,
    pub ok: bool,
    pub error: Option<String>,
}

/// Records a new job over `symbols` (state queued): 1 TransactWriteItems of the header (if `pk`
/// does not exist) and ⌈N/1,500⌉ symbol chunks (≈ 1 WCU per KB: 10 KB for 1,000 symbols). An
/// existing id answers `Conflict`.
pub async fn create_job(
    clients: &AwsClients,
    table: &str,
    job: &JobRecord,
    symbols: &[Symbol],
    now_epoch: u64,
) -> Result<(), StorageError> {
    let pk = job_pk(&job.id);
    let build = crate::batch::build_error(&pk);
    let expires = n(now_epoch + JOB_TTL_SECONDS);
    let mut header = Put::builder()
        .table_name(table)
        .item(PK, s(job_pk(&job.id)))
        .item(SK, s("JOB"))
        .item("owner", s(job.owner.as_str()))
        .item("kind", s(job.kind.as_str()))
        .item("total", n(job.progress.total))
        .item("done", n(0))
        .item("failed", n(0))
        .item("createdAt", s(job.created_at.clone()))
        .item("updatedAt", s(job.created_at.clone()))
        .item(app::GSI1_PK, s(OPEN_JOBS))
        .item(app::GSI1_SK, s(format!("{}#{}", job.created_at, job.id)))
        .item(TTL, expires.clone())
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK);
    if let JobOwner::User(user) = &job.owner {
        // A user's job is found by the owner index when the account is deleted.
        header = header.item(app::GSI3_PK, s(app::owner_pk(user))).item(app::GSI3_SK, s(pk.clone()));
    }
    let header = header.build().map_err(&build)?;
    let mut items = vec![TransactWriteItem::builder().put(header).build()];
    for (i, chunk) in symbols.chunks(SYMBOLS_PER_CHUNK).enumerate() {
        let put = Put::builder()
            .table_name(table)
            .item(PK, s(job_pk(&job.id)))
            .item(SK, s(format!("SYMBOLS#{i:04}")))
            .item("symbols", AttributeValue::L(chunk.iter().map(|x| s(x.as_str())).collect()))
            .item(TTL, expires.clone())
            .build()
            .map_err(&build)?;
        items.push(TransactWriteItem::builder().put(put).build());
    }
    clients.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await.map(|_| ()).map_err(dynamodb_error)
}

/// The job's symbols, in the order given. 1 Query `pk = JOB#<id> AND begins_with(sk, SYMBOLS#)`,
/// strongly consistent (≈ 1 RCU per 4 KB: 3 RCU for 1,000 symbols).
pub async fn job_symbols(clients: &AwsClients, table: &str, id: &JobId) -> Result<Vec<Symbol>, StorageError> {
    let pk = job_pk(id);
    let mut symbols = Vec::new();
    for item in query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith("SYMBOLS#"), None).await? {
        let Some(AttributeValue::L(list)) = item.get("symbols") else {
            return Err(StorageError::Corrupt { key: pk, reason: "symbols".into() });
        };
        for value in list {
            let symbol = value
                .as_s()
                .ok()
                .and_then(|t| Symbol::parse(t).ok())
                .ok_or_else(|| StorageError::Corrupt { key: pk.clone(), reason: "a symbol".into() })?;
            symbols.push(symbol);
        }
    }
    Ok(symbols)
}

/// Open jobs created before `created_before` (RFC 3339), oldest first: 1 Query on the sparse
/// index of open jobs (`gsi1pk = JOBS#OPEN AND gsi1sk < <created_before>`), at most `limit`.
pub async fn open_jobs_before(clients: &AwsClients, table: &str, created_before: &str, limit: i32) -> Result<Vec<JobId>, StorageError> {
    let output = clients
        .dynamodb
        .query()
        .table_name(table)
        .index_name(app::GSI1)
        .key_condition_expression("#pk = :open AND #sk < :before")
        .expression_attribute_names("#pk", app::GSI1_PK)
        .expression_attribute_names("#sk", app::GSI1_SK)
        .expression_attribute_values(":open", s(OPEN_JOBS))
        .expression_attribute_values(":before", s(created_before))
        .limit(limit)
        .send()
        .await
        .map_err(dynamodb_error)?;
    Ok(output
        .items
        .unwrap_or_default()
        .iter()
        .filter_map(|item| crate::attr::text(item, app::GSI1_SK).and_then(|k| k.rsplit('#').next()).and_then(|id| JobId::parse(id).ok()))
        .collect())
}

/// The symbols of the job that have an outcome. 1 Query `pk = JOB#<id> AND begins_with(sk,
/// SYMBOL#)`, strongly consistent, keys only (≈ 1 RCU per 4 KB).
pub async fn symbols_with_outcome(
    clients: &AwsClients,
    table: &str,
    id: &JobId,
) -> Result<std::collections::HashSet<String>, StorageError> {
    let pk = job_pk(id);
    let items = query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::BeginsWith("SYMBOL#"), Some("sk")).await?;
    Ok(items.iter().filter_map(|i| crate::attr::text(i, SK)).map(|sk| sk["SYMBOL#".len()..].to_owned()).collect())
}

fn job_from_item(id: &JobId, item: &HashMap<String, AttributeValue>) -> Result<JobRecord, StorageError> {
    let corrupt = |reason: &str| StorageError::Corrupt { key: job_pk(id), reason: reason.to_owned() };
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let number = |name: &str| match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<u64>().map_err(|_| corrupt(name)),
        None => Ok(0),
        Some(_) => Err(corrupt(name)),
    };
    Ok(JobRecord {
        id: id.clone(),
        owner: text("owner").as_deref().and_then(JobOwner::parse).ok_or_else(|| corrupt("owner"))?,
        kind: text("kind").as_deref().and_then(JobKind::parse).ok_or_else(|| corrupt("kind"))?,
        progress: JobProgress { total: number("total")?, done: number("done")?, failed: number("failed")? },
        created_at: text("createdAt").unwrap_or_default(),
        updated_at: text("updatedAt").unwrap_or_default(),
        enqueue_failed: matches!(item.get("enqueueFailed"), Some(AttributeValue::Bool(true))),
        enqueued: item.contains_key("enqueuedAt"),
        completed_at: text("completedAt"),
    })
}

/// The job and its failed symbols (`GET /v1/jobs/{id}`). 1 Query on `pk = JOB#<id>`, strongly
/// consistent (one page up to 1 MB: ≈ 1 RCU per 4 KB; a 503-symbol job reads ≈ 40 KB, 10 RCU).
/// `None` when there is no such job.
pub async fn job_with_errors(
    clients: &AwsClients,
    table: &str,
    id: &JobId,
) -> Result<Option<(JobRecord, Vec<SymbolOutcome>)>, StorageError> {
    let mut job = None;
    let mut errors = Vec::new();
    let pk = job_pk(id);
    for item in query_all(clients, Partition::of(table, &pk).consistent(), SortKeys::All, None).await? {
        match item.get(SK) {
            Some(AttributeValue::S(sk)) if sk == "JOB" => job = Some(job_from_item(id, &item)?),
            Some(AttributeValue::S(sk)) if sk.starts_with("SYMBOL#") => {
                if matches!(item.get("ok"), Some(AttributeValue::Bool(false))) {
                    let error = match item.get("error") {
                        Some(AttributeValue::S(e)) => Some(e.clone()),
                        _ => None,
                    };
                    errors.push(SymbolOutcome { symbol: sk["SYMBOL#".len()..].to_owned(), ok: false, error });
                }
            }
            _ => {}
        }
    }
    Ok(job.map(|j| (j, errors)))
}

/// The job's header alone. 1 GetItem, strongly consistent (1 RCU: the header is ≈ 200 bytes).
pub async fn get_job(clients: &AwsClients, table: &str, id: &JobId) -> Result<Option<JobRecord>, StorageError> {
    let found = get_item(clients, table, job_pk(id), "JOB", true).await?;
    found.as_ref().map(|item| job_from_item(id, item)).transpose()
}

/// Whether the symbol already has an outcome in the job (a redelivered message). 1 GetItem,
/// strongly consistent (1 RCU: an outcome item is tiny).
pub async fn outcome_exists(clients: &AwsClients, table: &str, id: &JobId, symbol: &Symbol) -> Result<bool, StorageError> {
    let found = get_item(clients, table, job_pk(id), format!("SYMBOL#{symbol}"), true).await?;
    Ok(found.is_some())
}

/// Whether an outcome was counted by this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First outcome of this symbol for this job: counted.
    Counted,
    /// The symbol already had an outcome (a redelivered message): nothing changed.
    AlreadyCounted,
    /// No such job (expired or never created): nothing to count.
    NoSuchJob,
}

/// Records a symbol's outcome and counts it, exactly once: one TransactWriteItems of
/// Put `pk = JOB#<id>, sk = SYMBOL#<symbol>` if it does not exist + Update of the job's header
/// `ADD done :1` (or `failed :1`), `SET updatedAt` if the job exists (2 small items, ≈ 4 WCU). A
/// redelivered message finds its outcome and cancels the transaction, so the counters move once.
/// Outcomes of one job recorded at the same moment race for the header (`TransactionConflict`):
/// the loser tries again after a jittered backoff, up to [`CONFLICT_RETRIES`] times — a race is
/// never reported as the message's failure.
pub async fn record_outcome(
    clients: &AwsClients,
    table: &str,
    id: &JobId,
    symbol: &Symbol,
    outcome: Result<u8, &str>,
    now: &str,
    now_epoch: u64,
) -> Result<Recorded, StorageError> {
    let pk = job_pk(id);
    let build = crate::batch::build_error(&pk);
    let mut put = Put::builder()
        .table_name(table)
        .item(PK, s(job_pk(id)))
        .item(SK, s(format!("SYMBOL#{symbol}")))
        .item("ok", AttributeValue::Bool(outcome.is_ok()))
        .item("at", s(now))
        .item(TTL, n(now_epoch + JOB_TTL_SECONDS))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK);
    put = match outcome {
        Ok(quality) => put.item("quality", n(u64::from(quality))),
        Err(error) => put.item("error", s(error.chars().take(300).collect::<String>())),
    };
    let counter = if outcome.is_ok() { "done" } else { "failed" };
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(job_pk(id)))
        .key(SK, s("JOB"))
        .update_expression("ADD #c :one SET #u = :now")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#c", counter)
        .expression_attribute_names("#u", "updatedAt")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", s(now))
        .build()
        .map_err(&build)?;
    let put = put.build().map_err(&build)?;
    let mut attempts = Attempts::new(CONFLICT_RETRIES + 1);
    while attempts.next().await {
        let result = clients
            .dynamodb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put.clone()).build())
            .transact_items(TransactWriteItem::builder().update(update.clone()).build())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Recorded::Counted),
            Err(err) => err,
        };
        if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancel)) =
            err.as_service_error()
        {
            let reason = |i: usize| cancel.cancellation_reasons().get(i).and_then(|r| r.code());
            if reason(0) == Some("ConditionalCheckFailed") {
                return Ok(Recorded::AlreadyCounted);
            }
            if reason(1) == Some("ConditionalCheckFailed") {
                return Ok(Recorded::NoSuchJob);
            }
            if (0..2).any(|i| reason(i) == Some("TransactionConflict")) {
                continue;
            }
        }
        return Err(StorageError::from_sdk("dynamodb", err));
    }
    Err(StorageError::Conflict(format!("the outcome of {symbol} for job {id} raced {} times", attempts.made())))
}

/// Marks the job completed, once: UpdateItem `SET completedAt` if it is not set, and takes it out
/// of the open jobs (1 WCU). True for the caller that set it.
pub async fn mark_completed(clients: &AwsClients, table: &str, id: &JobId, now: &str) -> Result<bool, StorageError> {
    let result = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(job_pk(id)))
        .key(SK, s("JOB"))
        .update_expression("SET #c = :now REMOVE #gpk, #gsk")
        .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#c)")
        .expression_attribute_names("#c", "completedAt")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#gpk", app::GSI1_PK)
        .expression_attribute_names("#gsk", app::GSI1_SK)
        .expression_attribute_values(":now", s(now))
        .send()
        .await;
    crate::error::applied(result)
}

/// Marks a job whose messages could not all be sent (its state becomes failed). 1 UpdateItem.
pub async fn mark_enqueue_failed(clients: &AwsClients, table: &str, id: &JobId, now: &str) -> Result<(), StorageError> {
    update_header(clients, table, id, "SET enqueueFailed = :t, updatedAt = :now", &[(":t", AttributeValue::Bool(true)), (":now", s(now))])
        .await
}

/// 1 UpdateItem of the job's header, unconditional.
async fn update_header(
    clients: &AwsClients,
    table: &str,
    id: &JobId,
    expression: &str,
    values: &[(&str, AttributeValue)],
) -> Result<(), StorageError> {
    let values = values.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect();
    clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(PK, s(job_pk(id)))
        .key(SK, s("JOB"))
        .update_expression(expression)
        .set_expression_attribute_values(Some(values))
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// Marks a job whose messages were all sent. 1 UpdateItem `SET enqueuedAt` (1 WCU).
pub async fn mark_enqueued(clients: &AwsClients, table: &str, id: &JobId, now: &str) -> Result<(), StorageError> {
    update_header(clients, table, id, "SET enqueuedAt = :now REMOVE enqueueFailed", &[(":now", s(now))]).await
}

/// Sends one `enrich` message per symbol: ⌈N/10⌉ SendMessageBatch calls; entries SQS reports as
/// failed are sent once more in a further batch. Returns the number sent; an error when some
/// could still not be sent (the caller marks the job failed). Used by the jobs API, the CSV
/// import and the scheduled refresh alike.
pub async fn enqueue_symbols(clients: &AwsClients, queue_url: &str, id: &JobId, symbols: &[Symbol]) -> Result<usize, StorageError> {
    let messages: Vec<QueueMessage> =
        symbols.iter().map(|symbol| QueueMessage::Enrich { job_id: id.clone(), symbol: symbol.clone() }).collect();
    crate::queue::send_messages(clients, queue_url, &messages, None).await.map_err(|e| match e {
        StorageError::Unavailable { service, message } => StorageError::Unavailable { service, message: format!("job {id}: {message}") },
        other => other,
    })
}
