//! One method per route. Input is parsed into domain newtypes first; storage is reached only
//! through `bourse_storage`'s named access patterns.

use crate::{Auth, AuthError};
use bourse_domain::account::PasswordError;
use bourse_domain::clock::{DAY, rfc3339, utc_date};
use bourse_domain::login_throttle::{ADDRESS_MAX_ATTEMPTS_PER_MINUTE, AttemptDecision, address_window};
use bourse_domain::password_hash::{hash_password, verify_or_burn};
use bourse_domain::plan::{MAX_USAGE_RANGE_DAYS, Plan, QuotaState};
use bourse_domain::{Email, Password, UserId};
use bourse_http::{ApiError, ApiRequest, FieldError, Reply};
use bourse_runtime::random_problem;
use bourse_storage::accounts::{self, NewAccount, Registered};
use bourse_storage::sessions::{self, Rotated};
use bourse_storage::{login_limits, usage};
use bourse_tokens::{REFRESH_FAMILY_TTL_SECONDS, TokenSigner, looks_like_refresh_token, new_refresh_token, refresh_token_hash};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

/// `TokenPair`: the answer of login and refresh.
#[derive(Serialize)]
pub(crate) struct TokenPair {
    pub(crate) token_type: &'static str,
    pub(crate) access_token: String,
    pub(crate) expires_in: i64,
    pub(crate) refresh_token: String,
    pub(crate) refresh_expires_at: String,
}

/// `Profile`: the answer of register and `GET /v1/me`.
#[derive(Serialize)]
pub(crate) struct Profile<'a> {
    pub(crate) user_id: &'a UserId,
    pub(crate) email: &'a str,
    pub(crate) plan: &'a str,
    pub(crate) created_at: &'a str,
}

/// The answer of `GET /v1/usage`.
#[derive(Serialize)]
pub(crate) struct Usage<'a> {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) plan: Plan,
    pub(crate) days: Vec<UsageDay<'a>>,
    pub(crate) today: Quota,
}

/// One day's counts, per route (`METHOD /template`).
#[derive(Serialize)]
pub(crate) struct UsageDay<'a> {
    pub(crate) date: &'a str,
    pub(crate) total: u64,
    pub(crate) routes: &'a std::collections::BTreeMap<String, u64>,
}

/// Today's quota.
#[derive(Serialize)]
pub(crate) struct Quota {
    pub(crate) date: String,
    pub(crate) limit: u64,
    pub(crate) used: u64,
    pub(crate) remaining: u64,
    pub(crate) resets_at: String,
}

fn password_problem(err: PasswordError) -> ApiError {
    ApiError::field("body.password", err.to_string())
}

impl Auth {
    fn now(&self) -> i64 {
        self.platform.clock.now()
    }

    fn random_bytes<const N: usize>(&self) -> Result<[u8; N], ApiError> {
        bourse_domain::random::bytes(&*self.platform.random).map_err(random_problem)
    }

    /// `POST /v1/auth/register` → 201 with the profile; 409 when the email is taken.
    pub(crate) async fn register(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let body: Credentials = request.json()?;
        let email = Email::parse(&body.email).map_err(|e| ApiError::field("body.email", e.to_string()))?;
        let password = Password::new_for_account(&body.password, &[email.as_str()]).map_err(password_problem)?;
        let hash = hash_password(&password, self.random_bytes()?).map_err(|e| ApiError::Internal(e.to_string()))?;
        let user_id = UserId::from_random(self.random_bytes()?);
        let now = self.now();
        let created_at = rfc3339(now);
        let account = NewAccount {
            user_id: &user_id,
            email: email.as_str(),
            password_hash: &hash,
            plan: Plan::Free.as_str(),
            created_at: &created_at,
        };
        match accounts::create_account(&self.platform.aws, &self.table, &account).await.map_err(AuthError::from)? {
            Registered::Created => Reply::created(
                &Profile { user_id: &user_id, email: email.as_str(), plan: Plan::Free.as_str(), created_at: &created_at },
                "/v1/me",
            ),
            Registered::EmailTaken => Err(AuthError::EmailTaken.into()),
        }
    }

    /// `POST /v1/auth/login` → 200 with an access and a refresh token; 401 for an unknown email
    /// or a wrong password alike; 429 with `Retry-After` past the brute-force limits.
    pub(crate) async fn login(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let body: Credentials = request.json()?;
        let email = Email::parse(&body.email).map_err(|e| ApiError::field("body.email", e.to_string()))?;
        let password = Password::presented(&body.password).map_err(password_problem)?;
        let now = self.now();
        // The key first: with it unavailable nothing is written and the client may retry.
        let signer = self.signer().await?;
        self.admit_attempt(request, &email, now).await?;
        let stored = accounts::credentials_by_email(&self.platform.aws, &self.table, email.as_str()).await.map_err(AuthError::from)?;
        let matches = verify_or_burn(&password, stored.as_ref().map(|c| c.password_hash.as_str()));
        let Some(account) = stored.filter(|_| matches) else {
            return Err(AuthError::BadCredentials.into());
        };
        // Read before anything is written: a failure here leaves no session behind.
        let admin = self.operator_role(&account.user_id).await?;
        login_limits::clear_account(&self.platform.aws, &self.table, &account_key(&email)).await.map_err(AuthError::from)?;
        let random = &*self.platform.random;
        let family_id = bourse_tokens::random_token(random, 16).map_err(random_problem)?;
        let refresh = new_refresh_token(random).map_err(random_problem)?;
        let expires_at = now + REFRESH_FAMILY_TTL_SECONDS;
        sessions::start_family(
            &self.platform.aws,
            &self.table,
            &family_id,
            &account.user_id,
            &account.plan,
            &refresh_token_hash(&refresh),
            expires_at,
        )
        .await
        .map_err(AuthError::from)?;
        token_pair(&signer, &account.user_id, &family_id, &account.plan, admin, refresh, expires_at, now)
    }

    /// Whether tokens issued to `user_id` carry the operator role (`bourse_storage::roles`: an
    /// attribute only an operator command writes). 1 GetItem per login or refresh.
    async fn operator_role(&self, user_id: &UserId) -> Result<bool, ApiError> {
        Ok(bourse_storage::roles::is_admin(&self.platform.aws, &self.table, user_id).await.map_err(AuthError::from)?)
    }

    /// Counts the attempt against the address and the account before any password work; refuses
    /// past either limit.
    async fn admit_attempt(&self, request: &ApiRequest, email: &Email, now: i64) -> Result<(), ApiError> {
        let aws = &self.platform.aws;
        let address = request.source_ip.as_deref().unwrap_or("unknown");
        let (minute, rest_of_minute) = address_window(now);
        let from_address = login_limits::count_address_attempt(aws, &self.table, address, minute).await.map_err(AuthError::from)?;
        if from_address > ADDRESS_MAX_ATTEMPTS_PER_MINUTE {
            return Err(AuthError::Throttled { retry_after: Duration::from_secs(rest_of_minute as u64) }.into());
        }
        let key = account_key(email);
        let previous = login_limits::account_state(aws, &self.table, &key).await.map_err(AuthError::from)?;
        match previous.unwrap_or_default().attempt(now) {
            AttemptDecision::Locked { retry_after } => {
                Err(AuthError::Throttled { retry_after: Duration::from_secs(retry_after as u64) }.into())
            }
            AttemptDecision::Allowed { next } => {
                if login_limits::record_account_attempt(aws, &self.table, &key, previous, next).await.map_err(AuthError::from)? {
                    Ok(())
                } else {
                    // Another attempt on this account is in flight: one at a time.
                    Err(AuthError::Throttled { retry_after: Duration::from_secs(1) }.into())
                }
            }
        }
    }

    /// The signing key, fetched from Secrets Manager once per instance (see `InstanceSecret`).
    async fn signer(&self) -> Result<Arc<TokenSigner>, ApiError> {
        self.signer.get().await.map_err(|_| ApiError::Unavailable("signing in is unavailable for a moment; retry shortly".into()))
    }

    /// `POST /v1/auth/refresh` → a new pair; the presented token is spent. A spent token presented
    /// again revokes its whole family.
    pub(crate) async fn refresh(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let body: RefreshBody = request.json()?;
        if !looks_like_refresh_token(&body.refresh_token) {
            return Err(ApiError::field("body.refresh_token", "is not a refresh token"));
        }
        let now = self.now();
        let signer = self.signer().await?;
        let aws = &self.platform.aws;
        let old_hash = refresh_token_hash(&body.refresh_token);
        let Some(record) = sessions::refresh_record(aws, &self.table, &old_hash).await.map_err(AuthError::from)? else {
            return Err(AuthError::BadRefreshToken.into());
        };
        if record.used {
            tracing::warn!(session = %record.family_id, "a used refresh token was presented again: revoking its family");
            sessions::revoke_family(aws, &self.table, &record.family_id, now).await.map_err(AuthError::from)?;
            self.sessions.cache_revoked(&record.family_id).await;
            return Err(AuthError::BadRefreshToken.into());
        }
        if now >= record.expires_at {
            return Err(AuthError::BadRefreshToken.into());
        }
        // Read before the rotation spends the presented token: a failure here leaves it usable.
        let admin = self.operator_role(&record.user_id).await?;
        let new_token = new_refresh_token(&*self.platform.random).map_err(random_problem)?;
        match sessions::rotate(aws, &self.table, &old_hash, &refresh_token_hash(&new_token), &record, now).await.map_err(AuthError::from)? {
            Rotated::Done => {
                token_pair(&signer, &record.user_id, &record.family_id, &record.plan, admin, new_token, record.expires_at, now)
            }
            // Lost a race with a concurrent refresh of the same token, or the family was revoked.
            Rotated::Refused => Err(AuthError::BadRefreshToken.into()),
        }
    }

    /// `POST /v1/auth/logout` → 204; the session's refresh and access tokens stop working.
    pub(crate) async fn logout(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let principal = request.principal()?;
        sessions::revoke_family(&self.platform.aws, &self.table, &principal.session_id, self.now()).await.map_err(AuthError::from)?;
        self.sessions.cache_revoked(&principal.session_id).await;
        Ok(Reply::no_content())
    }

    /// `GET /v1/me` → the caller's profile.
    pub(crate) async fn me(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let principal = request.principal()?;
        let profile = accounts::profile(&self.platform.aws, &self.table, &principal.user_id)
            .await
            .map_err(AuthError::from)?
            .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
        Reply::ok(&Profile { user_id: &profile.user_id, email: &profile.email, plan: &profile.plan, created_at: &profile.created_at })
    }

    /// `GET /v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD` (defaults: the last 7 days; at most 90) →
    /// per-day, per-route counts and today's quota.
    pub(crate) async fn usage(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&["from", "to"])?;
        let principal = request.principal()?;
        let now = self.now();
        let today = now - now.rem_euclid(DAY);
        let date = |name: &str, default: i64| -> Result<i64, ApiError> {
            Ok(request.date(name)?.map_or(default, |d| d.midnight().assume_utc().unix_timestamp()))
        };
        let to = date("to", today)?;
        let from = date("from", to - 6 * DAY)?;
        let mut errors = Vec::new();
        if from > to {
            errors.push(FieldError::new("query.from", "must not be after `to`"));
        } else if (to - from) / DAY + 1 > MAX_USAGE_RANGE_DAYS {
            errors.push(FieldError::new("query.to", format!("the range may cover at most {MAX_USAGE_RANGE_DAYS} days")));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let days = usage::usage_between(&self.platform.aws, &self.table, &principal.user_id, &utc_date(from), &utc_date(to))
            .await
            .map_err(AuthError::from)?;
        let today_date = utc_date(now);
        let used_today = days.iter().find(|d| d.date == today_date).map(|d| d.total).unwrap_or(0);
        let plan = Plan::parse(&principal.plan);
        let quota = QuotaState::new(plan, used_today, now);
        Reply::ok(&Usage {
            from: utc_date(from),
            to: utc_date(to),
            plan,
            days: days.iter().map(|d| UsageDay { date: &d.date, total: d.total, routes: &d.routes }).collect(),
            today: Quota {
                date: today_date,
                limit: quota.limit,
                used: quota.used,
                remaining: quota.remaining(),
                resets_at: rfc3339(quota.resets_at),
            },
        })
    }
}

/// The per-account limiter key: SHA-256 of the normalised email, hex.
fn account_key(email: &Email) -> String {
    use sha2::{Digest, Sha256};
    bourse_domain::text::hex(&Sha256::digest(email.as_str().as_bytes()))
}

// The pair's parts are each a plain value the caller holds; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
fn token_pair(
    signer: &TokenSigner,
    user_id: &UserId,
    family_id: &str,
    plan: &str,
    admin: bool,
    refresh: String,
    refresh_expires: i64,
    now: i64,
) -> Result<Reply, ApiError> {
    let (access, claims) =
        signer.issue_with_role(user_id.as_str(), family_id, plan, admin, now).map_err(|e| ApiError::Internal(e.to_string()))?;
    Reply::ok(&TokenPair {
        token_type: "Bearer",
        access_token: access,
        expires_in: claims.exp - now,
        refresh_token: refresh,
        refresh_expires_at: rfc3339(refresh_expires),
    })
}
