//! The local stand-in for Lambda's SQS event-source mapping: long-polls the queue, invokes the
//! consumer with an SQS event of the real shape, then deletes what succeeded. Messages the consumer
//! reports in `batchItemFailures` (or all of them, if the invocation fails) are left to reappear
//! after the visibility timeout, and reach the DLQ after `maxReceiveCount`, as on AWS.

use crate::resources::DynError;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use bourse_storage::AwsClients;
use std::collections::HashSet;

pub struct Poller {
    pub clients: AwsClients,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    /// The consumer's invoke endpoint (`.../2015-03-31/functions/<name>/invocations`).
    pub invoke_url: String,
    pub batch_size: i32,
}

/// What one poll did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PollOutcome {
    pub received: usize,
    pub deleted: usize,
    pub failed: usize,
}

impl Poller {
    /// Polls until the process is stopped.
    pub async fn run(&self) -> Result<(), DynError> {
        println!("polling {} for {}", self.queue_url, self.invoke_url);
        loop {
            match self.poll_once(5).await {
                Ok(outcome) if outcome.received > 0 => {
                    println!("batch: received {} deleted {} failed {}", outcome.received, outcome.deleted, outcome.failed)
                }
                Ok(_) => {}
                Err(err) => {
                    eprintln!("poll failed: {err}");
                    // A stand-in restarting must not turn into a hot loop.
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// One receive → invoke → delete cycle, waiting up to `wait_seconds` for messages.
    pub async fn poll_once(&self, wait_seconds: i32) -> Result<PollOutcome, DynError> {
        let received = self
            .clients
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .customize()
            .config_override(bourse_storage::clients::long_poll(wait_seconds))
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(PollOutcome::default());
        }
        let records: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, serde_json::Value> =
                    m.attributes.iter().flatten().map(|(k, v)| (k.as_str().to_owned(), serde_json::Value::String(v.clone()))).collect();
                serde_json::json!({
                    "messageId": m.message_id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body,
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": self.region,
                })
            })
            .collect();
        let event = serde_json::json!({ "Records": records }).to_string();
        let failed: Option<HashSet<String>> = match invoke(&self.invoke_url, event).await {
            Ok(response) => parse_failures(&response),
            Err(err) => {
                eprintln!("invocation failed, the whole batch will be redelivered: {err}");
                None
            }
        };
        let Some(failed) = failed else {
            return Ok(PollOutcome { received: messages.len(), deleted: 0, failed: messages.len() });
        };
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.message_id.as_ref().is_some_and(|id| failed.contains(id)))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder().id(i.to_string()).set_receipt_handle(m.receipt_handle.clone()).build().ok()
            })
            .collect();
        let deleted = entries.len();
        if !entries.is_empty() {
            self.clients.sqs.delete_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await?;
        }
        Ok(PollOutcome { received: messages.len(), deleted, failed: messages.len() - deleted })
    }
}

/// `None` when the answer is a function error (everything is redelivered).
/// Received SQS messages as the SQS event Lambda would deliver them (for in-process consumers:
/// benchmarks and tests).
/// The event-source mapping in process, one round: receive up to 10 messages from `queue`
/// (waiting up to a second), hand them to `consumer` as one batch, delete those it did not report
/// as failed. Returns the batch it handed over (empty when the queue was empty).
pub async fn deliver_once(
    sqs: &aws_sdk_sqs::Client,
    consumer: &enrich_consumer_fn::Consumer,
    queue: &str,
) -> Result<aws_lambda_events::sqs::SqsEvent, DynError> {
    let received = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    let batch = sqs_event(&messages);
    if batch.records.is_empty() {
        return Ok(batch);
    }
    let response = consumer.consume(batch.clone()).await;
    let failed: HashSet<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
    for m in messages.iter().filter(|m| !m.message_id.as_ref().is_some_and(|id| failed.contains(id))) {
        sqs.delete_message().queue_url(queue).set_receipt_handle(m.receipt_handle.clone()).send().await?;
    }
    Ok(batch)
}

/// The SQS event Lambda would deliver for `messages`.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> aws_lambda_events::sqs::SqsEvent {
    let mut batch = aws_lambda_events::sqs::SqsEvent::default();
    for m in messages {
        let mut record = aws_lambda_events::sqs::SqsMessage::default();
        record.message_id = m.message_id.clone();
        record.receipt_handle = m.receipt_handle.clone();
        record.body = m.body.clone();
        record.attributes = m.attributes.iter().flatten().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect();
        batch.records.push(record);
    }
    batch
}

fn parse_failures(response: &str) -> Option<HashSet<String>> {
    let value: serde_json::Value = serde_json::from_str(response).ok()?;
    if value.get("errorType").is_some() || value.get("errorMessage").is_some() {
        eprintln!("consumer returned an error: {response}");
        return None;
    }
    let failures = value.get("batchItemFailures").and_then(|f| f.as_array()).cloned().unwrap_or_default();
    Some(failures.iter().filter_map(|f| f.get("itemIdentifier")?.as_str().map(str::to_owned)).collect())
}

/// POSTs the event to the invoke endpoint (blocking client on a worker thread).
pub async fn invoke(url: &str, event: String) -> Result<String, DynError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> Result<String, DynError> {
        let mut response = ureq::post(&url).header("content-type", "application/json").send(event.as_bytes())?;
        let function_error = response.headers().get("x-amz-function-error").is_some();
        let body = response.body_mut().read_to_string()?;
        if function_error {
            return Err(format!("function error: {body}").into());
        }
        Ok(body)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_read_from_the_batch_response() {
        let ids = parse_failures(r#"{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b"}]}"#).unwrap();
        assert_eq!(ids, HashSet::from(["a".to_string(), "b".to_string()]));
        assert_eq!(parse_failures(r#"{"batchItemFailures":[]}"#).unwrap().len(), 0);
        assert!(parse_failures(r#"{"errorType":"X","errorMessage":"boom"}"#).is_none());
        assert!(parse_failures("not json").is_none());
    }
}
