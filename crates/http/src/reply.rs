//! What a handler answers: status, JSON body, caching policy and extra headers. The pipeline turns
//! it into the HTTP response (ETag, 304, compression, security headers).

use crate::problem::ApiError;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use std::time::Duration;

/// How clients and shared caches may keep a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// Private or changing data: `Cache-Control: no-store`. The default.
    NoStore,
    /// Public market data: `Cache-Control: public, max-age=N` with an `ETag`, and `If-None-Match`
    /// answered with 304.
    Public { max_age: Duration },
}

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";

/// The chunks of a server-sent-events answer as they are produced (each one or more whole
/// `event:`/`data:` blocks). The producer ends the stream by dropping its sender.
pub type EventStream = tokio::sync::mpsc::Receiver<String>;
const CSV: &str = "text/csv; charset=utf-8";

#[derive(Debug)]
pub struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: &'static str,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) cache: CachePolicy,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// A server-sent-events body: streamed by a streaming function, collected by a buffered one.
    pub(crate) stream: Option<EventStream>,
}

impl Reply {
    /// A JSON answer with the given status.
    pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value).map_err(|e| ApiError::Internal(format!("serialising the response: {e}")))?;
        Ok(Reply { status, content_type: JSON, body: Some(body), cache: CachePolicy::NoStore, headers: Vec::new(), stream: None })
    }

    /// An already serialised JSON body (e.g. from the cache).
    pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Self {
        Reply { status, content_type: JSON, body: Some(body), cache: CachePolicy::NoStore, headers: Vec::new(), stream: None }
    }

    pub fn ok<T: Serialize + ?Sized>(value: &T) -> Result<Self, ApiError> {
        Self::json(StatusCode::OK, value)
    }

    pub fn created<T: Serialize + ?Sized>(value: &T, location: &str) -> Result<Self, ApiError> {
        Self::json(StatusCode::CREATED, value)?.header(http::header::LOCATION, location)
    }

    pub fn accepted<T: Serialize + ?Sized>(value: &T) -> Result<Self, ApiError> {
        Self::json(StatusCode::ACCEPTED, value)
    }

    /// A CSV document (`text/csv; charset=utf-8`), offered for download as `filename`.
    pub fn csv(body: Vec<u8>, filename: &str) -> Result<Self, ApiError> {
        let reply = Reply {
            status: StatusCode::OK,
            content_type: CSV,
            body: Some(body),
            cache: CachePolicy::NoStore,
            headers: Vec::new(),
            stream: None,
        };
        reply.header(http::header::CONTENT_DISPOSITION, &format!("attachment; filename=\"{filename}\""))
    }

    /// A `text/event-stream` answer whose chunks arrive on `stream` (never compressed or cached).
    pub fn event_stream(stream: EventStream) -> Self {
        Reply {
            status: StatusCode::OK,
            content_type: EVENT_STREAM,
            body: None,
            cache: CachePolicy::NoStore,
            headers: Vec::new(),
            stream: Some(stream),
        }
    }

    pub fn no_content() -> Self {
        Reply {
            status: StatusCode::NO_CONTENT,
            content_type: JSON,
            body: None,
            cache: CachePolicy::NoStore,
            headers: Vec::new(),
            stream: None,
        }
    }

    /// Marks the answer cacheable by anyone for `max_age`.
    pub fn public(mut self, max_age: Duration) -> Self {
        self.cache = CachePolicy::Public { max_age };
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Result<Self, ApiError> {
        let value = HeaderValue::from_str(value).map_err(|_| ApiError::Internal(format!("header {name} is not valid")))?;
        self.headers.push((name, value));
        Ok(self)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// A weak validator over the uncompressed body: equal bodies give equal tags whatever encoding the
/// client negotiates, which is exactly weak comparison's meaning.
pub fn weak_etag(body: &[u8]) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body);
    format!("W/\"{}\"", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// RFC 9110 `If-None-Match` with weak comparison: `*` or any listed tag equal to `etag` once the
/// `W/` prefixes are ignored.
pub fn if_none_match_hits(header: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    header.split(',').any(|candidate| {
        let candidate = candidate.trim();
        candidate == "*" || opaque(candidate) == ours
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_stable_and_content_sensitive() {
        assert_eq!(weak_etag(b"abc"), weak_etag(b"abc"));
        assert_ne!(weak_etag(b"abc"), weak_etag(b"abd"));
        assert!(weak_etag(b"").starts_with("W/\""));
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        let tag = weak_etag(b"x");
        let strong = tag.trim_start_matches("W/");
        assert!(if_none_match_hits(&tag, &tag));
        assert!(if_none_match_hits(strong, &tag));
        assert!(if_none_match_hits(&format!("\"other\", {tag}"), &tag));
        assert!(if_none_match_hits("*", &tag));
        assert!(!if_none_match_hits("\"other\"", &tag));
    }
}
