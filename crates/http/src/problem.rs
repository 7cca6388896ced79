//! RFC 9457 problem details: every error a function returns becomes `application/problem+json`
//! with a stable `type`, a human `detail`, field errors for validation failures and the request id.
//! Internal causes are logged, never sent.

use http::StatusCode;
use serde::Serialize;
use std::time::Duration;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Base of every problem `type`: stable identifiers, documented in the README.
const TYPE_BASE: &str = "urn:bourse:problem:";

/// One invalid input: where it is (a JSON pointer-like path, a query parameter or a header) and why.
/// In an uploaded file, also the row (the file's line number) and the column as the file names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into(), row: None, column: None }
    }

    /// A cell of an uploaded file: `field` is `body`.
    pub fn cell(row: usize, column: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: "body".into(), reason: reason.into(), row: Some(row), column: Some(column.into()) }
    }
}

/// An RFC 9457 problem document; `request_id` and `errors` are its extension members.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    instance: &'a str,
    request_id: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

/// Every way a request can fail, as seen by the client. Handlers map their domain and storage
/// errors into this in one place per function.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// A bearer token was presented but is invalid, expired or revoked: 401 with RFC 6750's
    /// `error="invalid_token"` (a client refreshes once and retries); a missing token is
    /// [`ApiError::Unauthorized`], whose challenge names no error.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// Authenticated, but the user's plan does not allow this (the detail says which plan does).
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<http::Method> },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("unprocessable: {detail}")]
    Unprocessable { detail: String, errors: Vec<FieldError> },
    #[error("too many requests: {detail}")]
    TooManyRequests { detail: String, retry_after: Duration },
    #[error("dependency unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure: the cause is logged with the request id, the client sees a
    /// generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 400: the field is malformed.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, reason)])
    }

    /// 422: the field is well formed but the request cannot be carried out with it.
    pub fn unprocessable(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        ApiError::Unprocessable { detail: reason.clone(), errors: vec![FieldError::new(field, reason)] }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized(_) | ApiError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable slug of the problem `type`.
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation",
            ApiError::MalformedJson(_) => "malformed-json",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Unauthorized(_) | ApiError::InvalidToken(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::Unprocessable { .. } => "unprocessable",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        self.status().canonical_reason().unwrap_or("Error")
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(errors) if errors.len() == 1 => {
                format!("{}: {}", errors[0].field, errors[0].reason)
            }
            ApiError::Validation(errors) => format!("{} fields are invalid", errors.len()),
            ApiError::MalformedJson(detail)
            | ApiError::UnsupportedMediaType(detail)
            | ApiError::Unauthorized(detail)
            | ApiError::InvalidToken(detail)
            | ApiError::Forbidden(detail)
            | ApiError::NotFound(detail)
            | ApiError::Conflict(detail)
            | ApiError::Unavailable(detail) => detail.clone(),
            ApiError::Unprocessable { detail, .. } | ApiError::TooManyRequests { detail, .. } => detail.clone(),
            ApiError::MethodNotAllowed { allow } => {
                let allow: Vec<&str> = allow.iter().map(http::Method::as_str).collect();
                format!("this resource allows {}", allow.join(", "))
            }
            ApiError::PayloadTooLarge { limit } => format!("the body is larger than the limit of {limit} bytes"),
            ApiError::Internal(_) => "an unexpected error occurred; quote the request id when reporting it".into(),
        }
    }

    fn field_errors(&self) -> &[FieldError] {
        match self {
            ApiError::Validation(errors) | ApiError::Unprocessable { errors, .. } => errors,
            _ => &[],
        }
    }

    /// The problem document for this error.
    pub fn to_problem(&self, request_id: &str, instance: &str) -> serde_json::Value {
        let doc = Problem {
            kind: format!("{TYPE_BASE}{}", self.slug()),
            title: self.title(),
            status: self.status().as_u16(),
            detail: self.detail(),
            instance,
            request_id,
            errors: self.field_errors(),
        };
        serde_json::to_value(doc).unwrap_or_default()
    }

    /// Headers the status calls for (`Allow`, `Retry-After`).
    pub fn headers(&self) -> Vec<(http::HeaderName, String)> {
        match self {
            ApiError::MethodNotAllowed { allow } => {
                let allow: Vec<&str> = allow.iter().map(http::Method::as_str).collect();
                vec![(http::header::ALLOW, allow.join(", "))]
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                vec![(http::header::RETRY_AFTER, retry_after.as_secs().max(1).to_string())]
            }
            ApiError::Unavailable(_) => vec![(http::header::RETRY_AFTER, "1".into())],
            ApiError::Unauthorized(_) => vec![(http::header::WWW_AUTHENTICATE, "Bearer realm=\"bourse\"".into())],
            ApiError::InvalidToken(_) => vec![(http::header::WWW_AUTHENTICATE, "Bearer realm=\"bourse\", error=\"invalid_token\"".into())],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_lists_fields_and_request_id() {
        let err = ApiError::field("/symbols/3", "not a ticker symbol");
        let doc = err.to_problem("req-9", "/v1/stocks/batch");
        assert_eq!(doc["type"], "urn:bourse:problem:validation");
        assert_eq!(doc["status"], 400);
        assert_eq!(doc["request_id"], "req-9");
        assert!(doc.get("requestId").is_none());
        assert_eq!(doc["errors"][0]["field"], "/symbols/3");
        assert_eq!(doc["detail"], "/symbols/3: not a ticker symbol");
    }

    #[test]
    fn internal_problem_hides_the_cause() {
        let doc = ApiError::Internal("connection reset by dynamodb-table-x".into()).to_problem("r", "/");
        assert_eq!(doc["status"], 500);
        assert!(!doc.to_string().contains("dynamodb-table-x"));
        assert!(doc.get("errors").is_none());
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        let err = ApiError::TooManyRequests { detail: "slow down".into(), retry_after: Duration::from_millis(200) };
        assert_eq!(err.headers(), vec![(http::header::RETRY_AFTER, "1".to_string())]);
    }
}
