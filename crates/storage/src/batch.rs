//! The two batch helpers every access pattern uses. DynamoDB may answer a batch only in part
//! (`UnprocessedKeys` / `UnprocessedItems`, when a partition is throttled); what is left is sent
//! again with backoff, and what is still left after [`MAX_RETRIES`] rounds is an error
//! (`Throttled`, answered 503 with `Retry-After`), never a silently shorter answer.

use crate::clients::AwsClients;
use crate::error::{StorageError, dynamodb_error};
use crate::query::Item;
use crate::retry::pause;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use bourse_domain::backoff::THROTTLED;

/// Keys per BatchGetItem (DynamoDB's limit).
pub const GET_LIMIT: usize = 100;
/// Requests per BatchWriteItem (DynamoDB's limit).
pub const WRITE_LIMIT: usize = 25;
/// Rounds of resending what a batch left unprocessed before giving up: at most 2.5 s of backoff
/// in all ([`THROTTLED`]), well inside an HTTP function's 10 s.
pub const MAX_RETRIES: u32 = 5;

/// A request the SDK could not build, named by the key or table it was for.
pub(crate) fn build_error(key: &str) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> StorageError + '_ {
    move |e| StorageError::Corrupt { key: key.to_owned(), reason: e.to_string() }
}

/// Every item of `keys` that exists: ⌈N/100⌉ BatchGetItem sent concurrently, plus one per round of
/// unprocessed keys. Eventually consistent reads cost 0.5 RCU per 4 KB item, consistent ones 1.
/// Items come back in no particular order.
pub async fn get_all(
    clients: &AwsClients,
    table: &str,
    keys: Vec<Item>,
    projection: Option<&str>,
    consistent: bool,
) -> Result<Vec<Item>, StorageError> {
    let requests = keys.chunks(GET_LIMIT).map(|chunk| {
        KeysAndAttributes::builder()
            .set_keys(Some(chunk.to_vec()))
            .set_projection_expression(projection.map(str::to_owned))
            .consistent_read(consistent)
            .build()
            .map_err(build_error(table))
    });
    let chunks = requests.collect::<Result<Vec<_>, _>>()?.into_iter().map(|request| get_chunk(clients, table, request));
    Ok(futures_util::future::try_join_all(chunks).await?.into_iter().flatten().collect())
}

/// One BatchGetItem of at most [`GET_LIMIT`] keys, resent for what it leaves unprocessed.
async fn get_chunk(clients: &AwsClients, table: &str, mut pending: KeysAndAttributes) -> Result<Vec<Item>, StorageError> {
    let mut found = Vec::with_capacity(pending.keys.len());
    for round in 0..=MAX_RETRIES {
        if round > 0 {
            pause(&THROTTLED, round - 1).await;
        }
        let output = clients.dynamodb.batch_get_item().request_items(table, pending).send().await.map_err(dynamodb_error)?;
        found.extend(output.responses.and_then(|mut r| r.remove(table)).unwrap_or_default());
        match output.unprocessed_keys.and_then(|mut u| u.remove(table)).filter(|rest| !rest.keys.is_empty()) {
            Some(rest) => pending = rest,
            None => return Ok(found),
        }
    }
    Err(StorageError::Throttled {
        service: "dynamodb",
        message: format!("a BatchGetItem on {table} left keys unprocessed after {MAX_RETRIES} retries"),
    })
}

/// One write of a batch.
pub enum Write {
    Put(Item),
    Delete(Item),
}

/// Writes everything: ⌈N/25⌉ BatchWriteItem in order, plus one per round of unprocessed items.
/// 1 WCU per KB of each item written or deleted.
pub async fn write_all(clients: &AwsClients, table: &str, writes: Vec<Write>) -> Result<(), StorageError> {
    let mut writes = writes.into_iter().peekable();
    while writes.peek().is_some() {
        let mut pending = Vec::with_capacity(WRITE_LIMIT);
        for write in writes.by_ref().take(WRITE_LIMIT) {
            pending.push(match write {
                Write::Put(item) => WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(build_error(table))?)
                    .build(),
                Write::Delete(key) => WriteRequest::builder()
                    .delete_request(DeleteRequest::builder().set_key(Some(key)).build().map_err(build_error(table))?)
                    .build(),
            });
        }
        let mut round = 0;
        loop {
            let output = clients.dynamodb.batch_write_item().request_items(table, pending).send().await.map_err(dynamodb_error)?;
            pending = output.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            round += 1;
            if round > MAX_RETRIES {
                return Err(StorageError::Throttled {
                    service: "dynamodb",
                    message: format!("{} writes to {table} still unprocessed after {MAX_RETRIES} retries", pending.len()),
                });
            }
            pause(&THROTTLED, round - 1).await;
        }
    }
    Ok(())
}
