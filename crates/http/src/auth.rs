//! Per-route access and the hooks the pipeline calls before a bearer route's handler.
//!
//! The http crate knows nothing of keys or storage: an [`Authenticator`] (token verification plus
//! the revocation check) and a [`UsageMeter`] (one atomic count per request, with the plan's daily
//! quota) are injected by `bourse-runtime`. A bearer route without a valid token answers 401 with
//! `WWW-Authenticate: Bearer`; over quota answers 429 with `Retry-After` and `RateLimit-*`.

use crate::problem::ApiError;
use futures_util::future::BoxFuture;
use http::{HeaderName, HeaderValue};
use std::sync::Arc;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, register, login, refresh, public market data).
    Public,
    /// A valid access token; the request is metered against the caller's plan.
    Bearer,
}

/// The authenticated caller, handed to the handler on bearer routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: bourse_domain::UserId,
    pub plan: String,
    /// The login session (refresh-token family) the token belongs to.
    pub session_id: String,
    /// The access token's id (`jti`).
    pub token_id: String,
    /// When the access token expires (epoch seconds).
    pub expires_at: i64,
    /// The token carries the operator role (the `admin` claim). False for every ordinary caller.
    pub admin: bool,
}

/// Verifies a bearer token: signature, claims, and that its session was not revoked.
pub trait Authenticator: Send + Sync + 'static {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, ApiError>>;
}

/// Where a caller stands against its quota after this request was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the quota resets.
    pub reset_seconds: u64,
    /// True when the request was refused (not counted) because the quota is used up.
    pub exceeded: bool,
}

impl RateLimit {
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        [("ratelimit-limit", self.limit), ("ratelimit-remaining", self.remaining), ("ratelimit-reset", self.reset_seconds)]
            .into_iter()
            .map(|(name, value)| (HeaderName::from_static(name), HeaderValue::from(value)))
            .collect()
    }
}

/// Counts one request of `principal` on `route` (the route template, e.g. `GET /v1/me`).
pub trait UsageMeter: Send + Sync + 'static {
    fn record<'a>(&'a self, principal: &'a Principal, route: &'a str) -> BoxFuture<'a, Result<RateLimit, ApiError>>;
}

/// What the pipeline needs to serve bearer routes.
#[derive(Clone)]
pub struct AccessControl {
    pub authenticator: Arc<dyn Authenticator>,
    pub meter: Arc<dyn UsageMeter>,
}

impl std::fmt::Debug for AccessControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessControl")
    }
}

/// The bearer token of `Authorization: Bearer <token>` (scheme case-insensitive, one header).
pub fn bearer_token(headers: &http::HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let missing = || ApiError::Unauthorized("a bearer token is required".into());
    let value = values.next().ok_or_else(missing)?;
    if values.next().is_some() {
        return Err(ApiError::Unauthorized("send one Authorization header".into()));
    }
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let mut headers = http::HeaderMap::new();
        assert!(bearer_token(&headers).is_err());
        headers.insert("authorization", HeaderValue::from_static("bearer abc.def.ghi"));
        assert_eq!(bearer_token(&headers).unwrap(), "abc.def.ghi");
        headers.insert("authorization", HeaderValue::from_static("Basic dXNlcjpwdw=="));
        assert!(bearer_token(&headers).is_err());
        headers.insert("authorization", HeaderValue::from_static("Bearer "));
        assert!(bearer_token(&headers).is_err());
        headers.insert("authorization", HeaderValue::from_static("Bearer a"));
        headers.append("authorization", HeaderValue::from_static("Bearer b"));
        assert!(bearer_token(&headers).is_err());
    }
}
