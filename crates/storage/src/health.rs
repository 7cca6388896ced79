//! Dependency probes for the health endpoints: the cheapest data-plane request that proves the
//! function can reach the resource with its own permissions.

use crate::clients::AwsClients;
use crate::error::StorageError;
use crate::error::dynamodb_error;
use crate::schema::{HEALTH_KEY, PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;

/// One GetItem of the fixed health key in `table` (0.5 RCU, eventually consistent).
pub async fn probe_table(clients: &AwsClients, table: &str) -> Result<(), StorageError> {
    clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key(PK, AttributeValue::S(HEALTH_KEY.into()))
        .key(SK, AttributeValue::S(HEALTH_KEY.into()))
        .projection_expression("#pk")
        .expression_attribute_names("#pk", PK)
        .send()
        .await
        .map(|_| ())
        .map_err(dynamodb_error)
}

/// One GetQueueAttributes of the queue depth.
pub async fn probe_queue(clients: &AwsClients, queue_url: &str) -> Result<(), StorageError> {
    clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StorageError::from_sdk("sqs", e))
}
