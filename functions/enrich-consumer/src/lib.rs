//! The enrichment consumer. One Lambda, two triggers:
//! - an SQS batch from the enrichment queue: every message is processed concurrently and only the
//!   failed ones are reported back (`batchItemFailures`), so SQS redelivers just those and a poison
//!   message reaches the DLQ after `maxReceiveCount` while the rest of its batch completes;
//! - the EventBridge schedule's payload (`{"kind":"scheduled-refresh"}`).

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use bourse_domain::messages::{QueueMessage, ScheduledTask};
use bourse_runtime::{Platform, StartupError};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const SERVICE: &str = "enrich-consumer";

/// Why an invocation failed as a whole (the trigger retries it).
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("event is neither an SQS batch nor a scheduled task: {0}")]
    UnknownEvent(String),
    #[error(transparent)]
    Storage(#[from] bourse_storage::StorageError),
}

impl From<ConsumerError> for lambda_runtime::Diagnostic {
    fn from(err: ConsumerError) -> Self {
        let kind = match err {
            ConsumerError::UnknownEvent(_) => "UnknownEvent",
            ConsumerError::Storage(_) => "StorageError",
        };
        lambda_runtime::Diagnostic { error_type: kind.into(), error_message: err.to_string() }
    }
}

/// Why one message failed; it is reported so that only it is redelivered.
#[derive(Debug, thiserror::Error)]
enum MessageError {
    #[error("poison message: {0}")]
    Poison(String),
    #[error(transparent)]
    Storage(#[from] bourse_storage::StorageError),
}

pub struct Consumer {
    platform: Platform,
    app_table: String,
}

impl Consumer {
    pub fn new(platform: Platform) -> Result<Self, StartupError> {
        let app_table = platform.config.require_app_table()?.to_owned();
        Ok(Consumer { platform, app_table })
    }

    /// Dispatches on the event's shape.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, ConsumerError> {
        let payload = event.payload;
        if payload.get("Records").is_some() {
            let batch: SqsEvent = serde_json::from_value(payload).map_err(|e| ConsumerError::UnknownEvent(e.to_string()))?;
            let response = self.consume(batch).await;
            return serde_json::to_value(response).map_err(|e| ConsumerError::UnknownEvent(e.to_string()));
        }
        // A classic EventBridge rule delivers its own envelope; a schedule with an Input delivers
        // the input itself. Both mean the daily refresh.
        let task = if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
            ScheduledTask::ScheduledRefresh
        } else {
            serde_json::from_value(payload).map_err(|e| ConsumerError::UnknownEvent(e.to_string()))?
        };
        self.run_scheduled(task).await?;
        Ok(serde_json::json!({"status": "done"}))
    }

    /// Processes a batch concurrently; returns the ids of the messages that failed.
    pub async fn consume(&self, batch: SqsEvent) -> SqsBatchResponse {
        let total = batch.records.len();
        let outcomes = futures_util::future::join_all(batch.records.iter().map(|m| self.process(m))).await;
        let mut response = SqsBatchResponse::default();
        for (message, outcome) in batch.records.iter().zip(outcomes) {
            if let Err(err) = outcome {
                let id = message.message_id.clone().unwrap_or_default();
                tracing::warn!(message_id = %id, error = %err, "message failed; SQS will redeliver it");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        tracing::info!(total, failed = response.batch_item_failures.len(), "batch consumed");
        response
    }

    async fn process(&self, message: &SqsMessage) -> Result<(), MessageError> {
        let body = message.body.as_deref().unwrap_or_default();
        match QueueMessage::parse(body).map_err(MessageError::Poison)? {
            QueueMessage::Ping { id } => {
                let now = OffsetDateTime::now_utc();
                bourse_storage::diagnostics::record_ping(&self.platform.aws, &self.app_table, &id, &rfc3339(now), now.unix_timestamp() as u64)
                    .await?;
                Ok(())
            }
        }
    }

    async fn run_scheduled(&self, task: ScheduledTask) -> Result<(), ConsumerError> {
        let now = OffsetDateTime::now_utc();
        let name = match task {
            ScheduledTask::ScheduledRefresh => "scheduled-refresh",
        };
        let date = now.date().to_string();
        bourse_storage::diagnostics::record_scheduled_run(&self.platform.aws, &self.app_table, name, &date, &rfc3339(now), now.unix_timestamp() as u64)
            .await?;
        tracing::info!(task = name, date, "scheduled task recorded");
        Ok(())
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}
