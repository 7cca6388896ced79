//! The queues: sending typed messages, and hiding one that must wait.

use crate::clients::AwsClients;
use crate::error::StorageError;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use bourse_domain::messages::QueueMessage;

/// Sends `messages` with SendMessageBatch, 10 per call (SQS's limit); entries SQS reports as
/// failed are sent once more. `delay_seconds` (≤ 900) holds them back. Returns how many were sent;
/// an error when some could still not be sent.
pub async fn send_messages(
    clients: &AwsClients,
    queue_url: &str,
    messages: &[QueueMessage],
    delay_seconds: Option<i32>,
) -> Result<usize, StorageError> {
    let mut sent = 0;
    for batch in messages.chunks(10) {
        let mut entries: Vec<SendMessageBatchRequestEntry> = Vec::with_capacity(batch.len());
        for (i, message) in batch.iter().enumerate() {
            let body =
                serde_json::to_string(message).map_err(|e| StorageError::Corrupt { key: "queue message".into(), reason: e.to_string() })?;
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .set_delay_seconds(delay_seconds)
                .build()
                .map_err(|e| StorageError::Corrupt { key: "queue message".into(), reason: e.to_string() })?;
            entries.push(entry);
        }
        for attempt in 0..2 {
            let output = clients
                .sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| StorageError::from_sdk("sqs", e))?;
            sent += output.successful.len();
            let failed: Vec<String> = output.failed.iter().map(|f| f.id.clone()).collect();
            entries.retain(|e| failed.contains(&e.id));
            if entries.is_empty() {
                break;
            }
            if attempt == 1 {
                return Err(StorageError::Unavailable { service: "sqs", message: format!("{} messages could not be sent", entries.len()) });
            }
        }
    }
    Ok(sent)
}

/// Hides a received message for `seconds` (≤ 12 h): 1 ChangeMessageVisibility. SQS delivers it
/// again afterwards.
pub async fn hide_message(clients: &AwsClients, queue_url: &str, receipt_handle: &str, seconds: i32) -> Result<(), StorageError> {
    clients
        .sqs
        .change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(seconds)
        .send()
        .await
        .map_err(|e| StorageError::from_sdk("sqs", e))?;
    Ok(())
}
