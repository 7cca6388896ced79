//! Bearer-token access for every HTTP function: the [`bourse_http::Authenticator`] (signature and
//! claims by `bourse-tokens`, then the session revocation check) and the
//! [`bourse_http::UsageMeter`] (one atomic count per request against the plan's daily quota).
//!
//! **Revocation check, per request:** one cache GET of `auth:session:<sid>`:
//! - `revoked` → 401; `active` → accepted (0 DynamoDB requests);
//! - a miss → 1 strongly consistent GetItem of the family (`sessions::family_active`), and the
//!   answer is cached (`active` for [`ACTIVE_CACHE_SECONDS`], `revoked` for the access-token
//!   lifetime);
//! - the cache down (error or open breaker) → the same GetItem, nothing cached.
//!
//! Logout writes DynamoDB first (the system of record), then overwrites the cache key with
//! `revoked`, so every function refuses the session's access tokens from the next request on. If
//! the cache cannot be written at logout, a stale `active` entry lives at most
//! [`ACTIVE_CACHE_SECONDS`]: that is the bound on a revocation's delay.

use crate::Platform;
use bourse_cache::Cache;
use bourse_domain::clock::{Clock, next_utc_midnight, utc_date};
use bourse_domain::plan::{Plan, QuotaState};
use bourse_http::{AccessControl, ApiError, Authenticator, Principal, RateLimit, UsageMeter};
use bourse_storage::AwsClients;
use bourse_storage::usage::Counted;
use bourse_tokens::TokenVerifier;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// How long a session's `active` state is cached: the longest a revocation can go unseen when
/// the cache could not be updated at logout.
pub const ACTIVE_CACHE_SECONDS: u64 = 60;

fn session_key(session_id: &str) -> String {
    format!("auth:session:{session_id}")
}

/// Session state, read through the cache.
#[derive(Clone, Debug)]
pub struct Sessions {
    aws: AwsClients,
    cache: Option<Arc<Cache>>,
    table: String,
}

impl Sessions {
    pub fn new(platform: &Platform) -> Result<Self, bourse_config::ConfigError> {
        Ok(Sessions { aws: platform.aws.clone(), cache: platform.cache.clone(), table: platform.config.require_app_table()?.to_owned() })
    }

    /// Whether the session may still be used (see the module docs for the cost).
    pub async fn is_active(&self, session_id: &str, now: i64) -> Result<bool, ApiError> {
        let key = session_key(session_id);
        if let Some(cache) = &self.cache {
            match cache.get(&key).await.as_deref() {
                Some(b"revoked") => return Ok(false),
                Some(b"active") => return Ok(true),
                _ => {}
            }
        }
        let active =
            bourse_storage::sessions::family_active(&self.aws, &self.table, session_id, now).await.map_err(crate::storage_problem)?;
        if let Some(cache) = &self.cache {
            if active {
                // NX: a logout that cached "revoked" after this read must win over it.
                cache.set_if_absent(&key, b"active", Duration::from_secs(ACTIVE_CACHE_SECONDS)).await;
            } else {
                cache.set(&key, b"revoked", Duration::from_secs(bourse_tokens::MAX_ACCESS_TTL_SECONDS as u64 + 60)).await;
            }
        }
        Ok(active)
    }

    /// Marks a revoked session in the cache (after the DynamoDB write), for the longest life of
    /// its access tokens. A failure is logged: the `active` entry then expires within
    /// [`ACTIVE_CACHE_SECONDS`].
    pub async fn cache_revoked(&self, session_id: &str) {
        if let Some(cache) = &self.cache {
            let ttl = Duration::from_secs(bourse_tokens::MAX_ACCESS_TTL_SECONDS as u64 + 60);
            cache.set(&session_key(session_id), b"revoked", ttl).await;
        }
    }
}

/// Verifies bearer tokens with the public keys, then checks the session.
#[derive(Debug)]
pub struct TokenAuthenticator {
    verifier: TokenVerifier,
    sessions: Sessions,
    clock: Arc<dyn Clock>,
}

impl Authenticator for TokenAuthenticator {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, ApiError>> {
        Box::pin(async move {
            let now = self.clock.now();
            let claims = self.verifier.verify(token, now).map_err(|err| {
                tracing::info!(reason = %err, "access token refused");
                ApiError::InvalidToken("the access token is invalid, expired or revoked".into())
            })?;
            // Signed by us, so always a user id; anything else is refused like a bad signature.
            let user_id = bourse_domain::UserId::parse(&claims.sub).map_err(|_| {
                tracing::warn!("access token whose subject is not a user id");
                ApiError::InvalidToken("the access token is invalid, expired or revoked".into())
            })?;
            if !self.sessions.is_active(&claims.sid, now).await? {
                tracing::info!(session = %claims.sid, "access token of a revoked session");
                return Err(ApiError::InvalidToken("the access token is invalid, expired or revoked".into()));
            }
            Ok(Principal {
                user_id,
                plan: claims.plan,
                session_id: claims.sid,
                token_id: claims.jti,
                expires_at: claims.exp,
                admin: claims.admin,
            })
        })
    }
}

/// Counts each authenticated request per user, UTC day and route (1 UpdateItem).
#[derive(Debug)]
pub struct DynamoUsageMeter {
    aws: AwsClients,
    table: String,
    clock: Arc<dyn Clock>,
}

impl UsageMeter for DynamoUsageMeter {
    fn record<'a>(&'a self, principal: &'a Principal, route: &'a str) -> BoxFuture<'a, Result<RateLimit, ApiError>> {
        Box::pin(async move {
            let now = self.clock.now();
            let plan = Plan::parse(&principal.plan);
            let day_start = next_utc_midnight(now) - bourse_domain::clock::DAY;
            let counted = bourse_storage::usage::count_request(
                &self.aws,
                &self.table,
                &principal.user_id,
                &utc_date(now),
                day_start,
                route,
                plan.daily_quota(),
            )
            .await
            .map_err(crate::storage_problem)?;
            let (used, exceeded) = match counted {
                Counted::Ok { total } => (total, false),
                Counted::OverQuota => (plan.daily_quota(), true),
            };
            let state = QuotaState::new(plan, used, now);
            Ok(RateLimit { limit: state.limit, remaining: state.remaining(), reset_seconds: state.reset_in(now), exceeded })
        })
    }
}

impl Platform {
    /// Bearer access for this function: verification with `JWT_PUBLIC_KEYS`, the revocation
    /// check and usage metering. Fails at start-up when the keys are missing or malformed.
    pub fn access_control(&self) -> Result<AccessControl, crate::StartupError> {
        let verifier = TokenVerifier::from_json(self.config.require_jwt_public_keys()?)?;
        let sessions = Sessions::new(self)?;
        let table = self.config.require_app_table()?.to_owned();
        Ok(AccessControl {
            authenticator: Arc::new(TokenAuthenticator { verifier, sessions, clock: Arc::clone(&self.clock) }),
            meter: Arc::new(DynamoUsageMeter { aws: self.aws.clone(), table, clock: Arc::clone(&self.clock) }),
        })
    }
}
