//! Storage failures, typed so handlers can map them to responses in one place.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// DynamoDB or SQS throttled us after the SDK's own retries.
    #[error("throttled by {service}: {message}")]
    Throttled { service: &'static str, message: String },
    /// A condition or transaction was refused because another writer got there first.
    #[error("conflicting write: {0}")]
    Conflict(String),
    /// The service could not be reached or failed (timeouts, 5xx, dispatch failures).
    #[error("{service} unavailable: {message}")]
    Unavailable { service: &'static str, message: String },
    /// A stored item did not have the expected shape: a bug or a manual edit.
    #[error("corrupt item {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The service refused the request itself (`ValidationException`: a key over its size limit,
    /// an item over 400 KB, a malformed expression). Retrying cannot help, so this is never
    /// reported as "busy": a bug, or input that should have been refused at the edge.
    #[error("{service} refused the request: {message}")]
    Invalid { service: &'static str, message: String },
    /// An item (or a message) over the service's size limit (DynamoDB: 400 KB per item): the
    /// request asked for more than one item may hold, so retrying the same cannot help.
    #[error("{service} refused an item as too large: {message}")]
    TooLarge { service: &'static str, message: String },
}

const THROTTLING_CODES: &[&str] = &["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "Throttling"];

impl StorageError {
    /// Classifies any SDK error of `service`.
    pub fn from_sdk<E, R>(service: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().unwrap_or_default().to_owned();
        let message = match &err {
            SdkError::ServiceError(e) => format!("{code}: {}", e.err().message().unwrap_or_default()),
            other => format!("{other}"),
        };
        if THROTTLING_CODES.contains(&code.as_str()) {
            StorageError::Throttled { service, message }
        } else if code == "ConditionalCheckFailedException" || code == "TransactionCanceledException" {
            StorageError::Conflict(message)
        } else if code == "ValidationException" && message.to_ascii_lowercase().contains("item size") {
            StorageError::TooLarge { service, message }
        } else if code == "ValidationException" {
            StorageError::Invalid { service, message }
        } else {
            StorageError::Unavailable { service, message }
        }
    }
}

/// Whether a conditional DynamoDB write applied: `false` when its condition failed (or cancelled
/// the transaction it was part of), the error for anything else.
pub(crate) fn applied<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, StorageError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result.map_err(dynamodb_error) {
        Ok(_) => Ok(true),
        Err(StorageError::Conflict(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// [`StorageError::from_sdk`] for DynamoDB, the common case, as a function to pass to `map_err`.
pub(crate) fn dynamodb_error<E, R>(err: SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StorageError::from_sdk("dynamodb", err)
}
