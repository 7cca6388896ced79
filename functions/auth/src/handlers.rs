//! One method per route. Input is parsed into domain newtypes first; storage is reached only
//! through `bourse_storage`'s named access patterns.

use crate::{Auth, AuthError};
use bourse_domain::account::{PasswordError, approximate_source};
use bourse_domain::clock::{DAY, rfc3339, utc_date};
use bourse_domain::login_throttle::{
    ACCOUNT_SLOWDOWN_FAILURES, ACCOUNT_WINDOW_SECONDS, AddressLimit, AttemptDecision, account_window, address_window, slowed_down,
};
use bourse_domain::mail::{Mail, RESET_TOKEN_SECONDS, VERIFY_TOKEN_SECONDS};
use bourse_domain::messages::QueueMessage;
use bourse_domain::password_hash::{hash_password, verify_or_burn};
use bourse_domain::plan::{MAX_USAGE_RANGE_DAYS, Plan, QuotaState};
use bourse_domain::{Email, Password, UserId};
use bourse_http::{ApiError, ApiRequest, FieldError, Reply};
use bourse_runtime::random_problem;
use bourse_storage::accounts::{self, NewAccount, Registered, TokenOwner, TokenPurpose};
use bourse_storage::login_limits::{PairKey, account_key};
use bourse_storage::sessions::{self, NewSession, Rotated};
use bourse_storage::{login_limits, usage};
use bourse_tokens::{
    MAX_SESSIONS_PER_ACCOUNT, REFRESH_FAMILY_TTL_SECONDS, SESSION_IDLE_SECONDS, TokenSigner, looks_like_refresh_token, new_refresh_token,
    refresh_token_hash,
};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    token: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

/// `Accepted`: the answer of register and password-reset requests, the same whether or not the
/// address has an account.
#[derive(Serialize)]
pub(crate) struct Accepted {
    pub(crate) status: &'static str,
    pub(crate) detail: &'static str,
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
    pub(crate) email_verified: bool,
    pub(crate) plan: &'a str,
    pub(crate) created_at: &'a str,
}

/// `Session`: one of the caller's login sessions.
#[derive(Serialize)]
pub(crate) struct SessionView {
    pub(crate) id: String,
    pub(crate) created_at: String,
    pub(crate) last_used_at: String,
    pub(crate) expires_at: String,
    pub(crate) user_agent: Option<String>,
    /// The network signed in from (a /24 or /48), never the address.
    pub(crate) approximate_source: Option<String>,
    /// Whether this is the session of the token that asked.
    pub(crate) current: bool,
}

impl SessionView {
    pub(crate) fn new(s: sessions::SessionRecord, current_id: &str) -> Self {
        SessionView {
            current: s.family_id == current_id,
            id: s.family_id,
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            expires_at: rfc3339(s.expires_at),
            user_agent: s.user_agent,
            approximate_source: s.source,
        }
    }
}

/// The answer of `GET /v1/usage`.
#[derive(Serialize)]
pub(crate) struct Usage<'a> {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) plan: Plan,
    pub(crate) days: Vec<UsageDay<'a>>,
    pub(crate) today: Quota,
    /// The assistant's model calls over the same days, and this month's spend against the budget.
    pub(crate) ai: AiUsage,
}

/// Model calls, tokens and cost (USD, decimal text): per day and per provider/model.
#[derive(Serialize)]
pub(crate) struct AiUsage {
    pub(crate) month: String,
    /// Spent this month on Bourse's provider (what the budget counts; own keys are not billed).
    pub(crate) month_cost_usd: String,
    pub(crate) monthly_budget_usd: String,
    pub(crate) days: Vec<AiDay>,
}

#[derive(Serialize)]
pub(crate) struct AiDay {
    pub(crate) date: String,
    pub(crate) calls: u64,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) cost_usd: String,
    pub(crate) models: Vec<AiModel>,
}

#[derive(Serialize)]
pub(crate) struct AiModel {
    /// `<provider>/<model>`, e.g. `bedrock/amazon.nova-micro-v1:0`.
    pub(crate) model: String,
    pub(crate) calls: u64,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) cost_usd: String,
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

    /// `POST /v1/auth/register` → 202 whether or not the address has an account, so registration
    /// never tells who has one: a new account gets a verification e-mail, an existing owner a
    /// "someone tried to register" notice. Both paths hash the password and write once more than
    /// the account itself (a decoy token for an existing address), so they take comparable time.
    pub(crate) async fn register(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let body: Credentials = request.json()?;
        let email = Email::parse(&body.email).map_err(|e| ApiError::field("body.email", e.to_string()))?;
        let password = Password::new_for_account(&body.password, &[email.as_str()]).map_err(password_problem)?;
        let now = self.now();
        self.admit_from_address(request, AddressLimit::Register, now).await?;
        let hash = hash_password(&password, self.random_bytes()?).map_err(|e| ApiError::Internal(e.to_string()))?;
        let user_id = UserId::from_random(self.random_bytes()?);
        let created_at = rfc3339(now);
        let account = NewAccount {
            user_id: &user_id,
            email: email.as_str(),
            password_hash: &hash,
            plan: Plan::Free.as_str(),
            created_at: &created_at,
        };
        let token = new_refresh_token(&*self.platform.random).map_err(random_problem)?;
        let expires_at = now + VERIFY_TOKEN_SECONDS;
        let (aws, table) = (&self.platform.aws, self.table.as_str());
        let mail = match accounts::create_account(aws, table, &account).await.map_err(AuthError::from)? {
            Registered::Created => {
                let owner = TokenOwner { user_id: user_id.clone(), email: email.as_str().to_owned() };
                accounts::put_account_token(aws, table, TokenPurpose::VerifyEmail, &refresh_token_hash(&token), Some(&owner), expires_at)
                    .await
                    .map_err(AuthError::from)?;
                Mail::VerifyEmail { to: email.as_str().to_owned(), token }
            }
            Registered::EmailTaken => {
                accounts::put_account_token(aws, table, TokenPurpose::VerifyEmail, &refresh_token_hash(&token), None, expires_at)
                    .await
                    .map_err(AuthError::from)?;
                Mail::RegisteredAgain { to: email.as_str().to_owned() }
            }
        };
        self.send_mail(mail).await?;
        Reply::accepted(&Accepted { status: "accepted", detail: "check your inbox: a message tells you how to go on" })
    }

    /// Queues an e-mail (the consumer sends it).
    async fn send_mail(&self, mail: Mail) -> Result<(), ApiError> {
        let id = bourse_domain::random::hex_id(&*self.platform.random).map_err(random_problem)?;
        bourse_storage::mail::enqueue(&self.platform.aws, &self.mail_queue_url, &id, mail).await.map_err(AuthError::from)?;
        Ok(())
    }

    /// Counts a request of `limit` from the caller's address; refuses past the per-minute limit.
    async fn admit_from_address(&self, request: &ApiRequest, limit: AddressLimit, now: i64) -> Result<(), ApiError> {
        let address = request.source_ip.as_deref().unwrap_or("unknown");
        let (minute, rest_of_minute) = address_window(now);
        let count =
            login_limits::count_address_attempt(&self.platform.aws, &self.table, limit, address, minute).await.map_err(AuthError::from)?;
        if count > limit.per_minute() {
            return Err(AuthError::Throttled { retry_after: Duration::from_secs(rest_of_minute as u64) }.into());
        }
        Ok(())
    }

    /// `POST /v1/auth/verify-email` `{token}` → 204: the address is confirmed. The token works
    /// once, for 24 hours.
    pub(crate) async fn verify_email(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let body: TokenBody = request.json()?;
        let owner = self.spend_token(TokenPurpose::VerifyEmail, &body.token).await?;
        accounts::mark_email_verified(&self.platform.aws, &self.table, &owner.user_id).await.map_err(AuthError::from)?;
        Ok(Reply::no_content())
    }

    /// The account a single-use token was issued for; a 400 on `body.token` for anything that is
    /// not a live token of this purpose.
    async fn spend_token(&self, purpose: TokenPurpose, token: &str) -> Result<TokenOwner, ApiError> {
        let refused = || ApiError::field("body.token", "is not a valid token: it may have expired or been used already");
        if !looks_like_refresh_token(token) {
            return Err(refused());
        }
        accounts::take_account_token(&self.platform.aws, &self.table, purpose, &refresh_token_hash(token), self.now())
            .await
            .map_err(AuthError::from)?
            .ok_or_else(refused)
    }

    /// `POST /v1/auth/password-reset` `{email}` → 202 whether or not the address has an account;
    /// an account's address gets a single-use link valid 30 minutes. For an unknown address a
    /// decoy token is stored and a decoy message queued, so both send the same requests and take
    /// comparable time (`tests/account_mail.rs` compares them; `dev/bench-enumeration.sh` times them).
    pub(crate) async fn request_password_reset(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let body: EmailBody = request.json()?;
        let email = Email::parse(&body.email).map_err(|e| ApiError::field("body.email", e.to_string()))?;
        let now = self.now();
        self.admit_from_address(request, AddressLimit::PasswordReset, now).await?;
        let (aws, table) = (&self.platform.aws, self.table.as_str());
        let account = accounts::credentials_by_email(aws, table, email.as_str()).await.map_err(AuthError::from)?;
        let token = new_refresh_token(&*self.platform.random).map_err(random_problem)?;
        let owner = account.map(|a| TokenOwner { user_id: a.user_id, email: email.as_str().to_owned() });
        accounts::put_account_token(
            aws,
            table,
            TokenPurpose::PasswordReset,
            &refresh_token_hash(&token),
            owner.as_ref(),
            now + RESET_TOKEN_SECONDS,
        )
        .await
        .map_err(AuthError::from)?;
        if owner.is_some() {
            self.send_mail(Mail::PasswordReset { to: email.as_str().to_owned(), token }).await?;
        } else {
            // The same queue write as a real mail: the answer's timing tells nothing either.
            bourse_storage::queue::send_messages(&self.platform.aws, &self.mail_queue_url, &[QueueMessage::Decoy], None)
                .await
                .map_err(AuthError::from)?;
        }
        Reply::accepted(&Accepted {
            status: "accepted",
            detail: "if an account has this address, a message with a reset link is on its way",
        })
    }

    /// `POST /v1/auth/password-reset/confirm` `{token, password}` → 204: the new password is set,
    /// the address counts as verified (the link reached it), every session ends, the sign-in
    /// limit of the account is cleared, and the owner is told.
    pub(crate) async fn confirm_password_reset(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let body: ResetBody = request.json()?;
        // The new password is checked before the token is spent: a weak one costs no new e-mail.
        if !looks_like_refresh_token(&body.token) {
            return Err(ApiError::field("body.token", "is not a valid token: it may have expired or been used already"));
        }
        let checked = Password::new_for_account(&body.password, &[]).map_err(password_problem)?;
        let owner = self.spend_token(TokenPurpose::PasswordReset, &body.token).await?;
        let email = Email::parse(&owner.email).map_err(|e| ApiError::Internal(e.to_string()))?;
        let password = Password::new_for_account(checked.expose(), &[email.as_str()]).map_err(password_problem)?;
        self.replace_password(&owner.user_id, &email, &password).await?;
        let (aws, table) = (&self.platform.aws, self.table.as_str());
        accounts::mark_email_verified(aws, table, &owner.user_id).await.map_err(AuthError::from)?;
        login_limits::clear_account(aws, table, &pair_key(&email, request)).await.map_err(AuthError::from)?;
        Ok(Reply::no_content())
    }

    /// `POST /v1/auth/password` `{current_password, new_password}` (bearer) → 204: the password is
    /// changed, every session ends (this one too: sign in again), and the owner is told. A wrong
    /// current password is 403 and counts against the account's sign-in limit.
    pub(crate) async fn change_password(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let body: ChangePasswordBody = request.json()?;
        let principal = request.principal()?;
        let (aws, table, now) = (&self.platform.aws, self.table.as_str(), self.now());
        let profile = accounts::profile(aws, table, &principal.user_id)
            .await
            .map_err(AuthError::from)?
            .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
        let email = Email::parse(&profile.email).map_err(|e| ApiError::Internal(e.to_string()))?;
        let current = Password::presented(&body.current_password).map_err(|e| ApiError::field("body.current_password", e.to_string()))?;
        let new = Password::new_for_account(&body.new_password, &[email.as_str()])
            .map_err(|e| ApiError::field("body.new_password", e.to_string()))?;
        self.reauthenticate(request, &principal.user_id, &email, &current, now).await?;
        self.replace_password(&principal.user_id, &email, &new).await?;
        Ok(Reply::no_content())
    }

    /// Checks the password of a signed-in user once more before a grave change (a new password,
    /// the account's deletion): under the sign-in limits, and a wrong one counts against them (403,
    /// since the caller is authenticated but not allowed this); a right one clears this address's
    /// limit.
    async fn reauthenticate(
        &self,
        request: &ApiRequest,
        user: &UserId,
        email: &Email,
        password: &Password,
        now: i64,
    ) -> Result<(), ApiError> {
        let (aws, table) = (&self.platform.aws, self.table.as_str());
        self.admit_attempt(request, email, now).await?;
        let stored = accounts::credentials_by_email(aws, table, email.as_str()).await.map_err(AuthError::from)?;
        let stored = stored.filter(|c| &c.user_id == user);
        if !verify_or_burn(password, stored.as_ref().map(|c| c.password_hash.as_str())) {
            self.count_failure(email, true, now).await?;
            return Err(ApiError::Forbidden("the password is wrong".into()));
        }
        login_limits::clear_account(aws, table, &pair_key(email, request)).await.map_err(AuthError::from)?;
        Ok(())
    }

    /// Stores a new password, ends every session of the user and tells the owner.
    async fn replace_password(&self, user: &UserId, email: &Email, password: &Password) -> Result<(), ApiError> {
        let hash = hash_password(password, self.random_bytes()?).map_err(|e| ApiError::Internal(e.to_string()))?;
        if !accounts::set_password_hash(&self.platform.aws, &self.table, email.as_str(), user, &hash).await.map_err(AuthError::from)? {
            return Err(ApiError::NotFound("no such user".into()));
        }
        self.end_every_session(user).await?;
        self.send_mail(Mail::PasswordChanged { to: email.as_str().to_owned() }).await
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
        if !matches {
            self.count_failure(&email, stored.is_some(), now).await?;
        }
        let Some(account) = stored.filter(|_| matches) else {
            return Err(AuthError::BadCredentials.into());
        };
        // Read before anything is written: a failure here leaves no session behind.
        let admin = self.operator_role(&account.user_id).await?;
        self.make_room_for_a_session(&account.user_id, now).await?;
        login_limits::clear_account(&self.platform.aws, &self.table, &pair_key(&email, request)).await.map_err(AuthError::from)?;
        let random = &*self.platform.random;
        let family_id = bourse_tokens::new_family_id(random).map_err(random_problem)?;
        let refresh = new_refresh_token(random).map_err(random_problem)?;
        let expires_at = now + REFRESH_FAMILY_TTL_SECONDS;
        let token_hash = refresh_token_hash(&refresh);
        let source = request.source_ip.as_deref().and_then(approximate_source);
        let session = NewSession {
            family_id: &family_id,
            user_id: &account.user_id,
            plan: &account.plan,
            token_hash: &token_hash,
            now,
            expires_at,
            user_agent: request.header("user-agent"),
            source: source.as_deref(),
        };
        sessions::start_family(&self.platform.aws, &self.table, &session).await.map_err(AuthError::from)?;
        token_pair(&signer, &account.user_id, &family_id, &account.plan, admin, refresh, expires_at, now)
    }

    /// Keeps an account under [`MAX_SESSIONS_PER_ACCOUNT`] live sessions before a sign-in adds
    /// one, ending the least recently used. 1 Query (`gsi1`), + 1 UpdateItem per session ended.
    async fn make_room_for_a_session(&self, user: &UserId, now: i64) -> Result<(), ApiError> {
        let mut live: Vec<sessions::SessionRecord> = sessions::list_sessions(&self.platform.aws, &self.table, user)
            .await
            .map_err(AuthError::from)?
            .into_iter()
            .filter(|s| is_live(s, now))
            .collect();
        if live.len() >= MAX_SESSIONS_PER_ACCOUNT {
            live.sort_by_key(|s| s.last_used_at);
            for oldest in &live[..=live.len() - MAX_SESSIONS_PER_ACCOUNT] {
                self.end_session(&oldest.family_id, now).await?;
            }
        }
        Ok(())
    }

    /// Whether tokens issued to `user_id` carry the operator role (`bourse_storage::roles`: an
    /// attribute only an operator command writes). 1 GetItem per login; a refresh reads it with the
    /// session policy (`accounts::session_policy`).
    async fn operator_role(&self, user_id: &UserId) -> Result<bool, ApiError> {
        Ok(bourse_storage::roles::is_admin(&self.platform.aws, &self.table, user_id).await.map_err(AuthError::from)?)
    }

    /// Counts the attempt against the address, and against the account from this address, before
    /// any password work; refuses past either limit, and refuses an address that has been failing
    /// on an account under attack until the account's window ends (see
    /// `bourse_domain::login_throttle`: a clean address still signs in).
    async fn admit_attempt(&self, request: &ApiRequest, email: &Email, now: i64) -> Result<(), ApiError> {
        let aws = &self.platform.aws;
        self.admit_from_address(request, AddressLimit::Login, now).await?;
        let key = pair_key(email, request);
        let previous = login_limits::account_state(aws, &self.table, &key).await.map_err(AuthError::from)?;
        let (window, rest_of_window) = account_window(now);
        let failures = login_limits::account_failures(aws, &self.table, &account_key(email), window).await.map_err(AuthError::from)?;
        if slowed_down(failures, &previous.unwrap_or_default(), now) {
            return Err(AuthError::Throttled { retry_after: Duration::from_secs(rest_of_window as u64) }.into());
        }
        match previous.unwrap_or_default().attempt(now) {
            AttemptDecision::Locked { retry_after } => {
                Err(AuthError::Throttled { retry_after: Duration::from_secs(retry_after as u64) }.into())
            }
            AttemptDecision::Allowed { next } => {
                if login_limits::record_account_attempt(aws, &self.table, &key, previous, next).await.map_err(AuthError::from)? {
                    Ok(())
                } else {
                    // Another attempt on this account from this address is in flight: one at a time.
                    Err(AuthError::Throttled { retry_after: Duration::from_secs(1) }.into())
                }
            }
        }
    }

    /// Counts a failed sign-in to the account (across addresses); the failure that puts an existing
    /// account under attack tells its owner, once per window.
    async fn count_failure(&self, email: &Email, account_exists: bool, now: i64) -> Result<(), ApiError> {
        let (window, _) = account_window(now);
        let failures =
            login_limits::count_account_failure(&self.platform.aws, &self.table, &account_key(email), window, ACCOUNT_WINDOW_SECONDS)
                .await
                .map_err(AuthError::from)?;
        if account_exists && failures == ACCOUNT_SLOWDOWN_FAILURES {
            self.send_mail(Mail::SignInsThrottled { to: email.as_str().to_owned() }).await?;
        }
        Ok(())
    }

    /// The signing key, fetched from Secrets Manager once per instance (see `InstanceSecret`).
    async fn signer(&self) -> Result<Arc<TokenSigner>, ApiError> {
        self.signer.get().await.map_err(|_| ApiError::Unavailable("signing in is unavailable for a moment; retry shortly".into()))
    }

    /// Revokes a session in DynamoDB, then marks it revoked in the cache (its access tokens are
    /// refused from now on, not only when they expire).
    async fn end_session(&self, family_id: &str, now: i64) -> Result<(), ApiError> {
        sessions::revoke_family(&self.platform.aws, &self.table, family_id, now).await.map_err(AuthError::from)?;
        self.sessions.cache_revoked(family_id).await;
        Ok(())
    }

    /// `POST /v1/auth/refresh` → a new pair; the presented token is spent. A spent token presented
    /// again revokes its whole family, and so does losing a race against another refresh with the
    /// same token (both were presented: one of them was stolen). The plan is re-read, so a plan
    /// change reaches the next access token; a session idle for [`SESSION_IDLE_SECONDS`] or ended
    /// by "log out everywhere" (or a password change) is refused.
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
            self.end_session(&record.family_id, now).await?;
            return Err(AuthError::BadRefreshToken.into());
        }
        if now >= record.expires_at {
            return Err(AuthError::BadRefreshToken.into());
        }
        let policy = accounts::session_policy(aws, &self.table, &record.user_id).await.map_err(AuthError::from)?;
        let Some(policy) = policy.filter(|p| record.family_created_at > p.sessions_valid_after) else {
            // The account is gone, or every session started before a "log out everywhere".
            self.end_session(&record.family_id, now).await?;
            return Err(AuthError::BadRefreshToken.into());
        };
        let admin = policy.admin;
        let record = sessions::RefreshRecord { plan: policy.plan, ..record };
        let new_token = new_refresh_token(&*self.platform.random).map_err(random_problem)?;
        let new_hash = refresh_token_hash(&new_token);
        let idle_cutoff = now - SESSION_IDLE_SECONDS;
        match sessions::rotate(aws, &self.table, &old_hash, &new_hash, &record, now, idle_cutoff).await.map_err(AuthError::from)? {
            Rotated::Done => {
                token_pair(&signer, &record.user_id, &record.family_id, &record.plan, admin, new_token, record.expires_at, now)
            }
            Rotated::Refused => {
                // Lost a race with another refresh of the same token (then the token is spent now:
                // reuse, so the family ends), or the family was revoked, expired or idle.
                let spent = sessions::refresh_record(aws, &self.table, &old_hash).await.map_err(AuthError::from)?.is_some_and(|r| r.used);
                if spent {
                    tracing::warn!(session = %record.family_id, "one refresh token presented twice at once: revoking its family");
                    self.end_session(&record.family_id, now).await?;
                }
                Err(AuthError::BadRefreshToken.into())
            }
        }
    }

    /// `POST /v1/auth/logout` → 204; the session's refresh and access tokens stop working. The
    /// session is named by the body's refresh token (enough on its own: a client whose access
    /// token expired can still log out) or else by the bearer token.
    pub(crate) async fn logout(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let now = self.now();
        let family_id = if request.body().iter().all(u8::is_ascii_whitespace) {
            let token = bourse_http::auth::bearer_token(&request.headers)?;
            self.authenticator.authenticate(token).await?.session_id
        } else {
            let body: RefreshBody = request.json()?;
            if !looks_like_refresh_token(&body.refresh_token) {
                return Err(ApiError::field("body.refresh_token", "is not a refresh token"));
            }
            let record = sessions::refresh_record(&self.platform.aws, &self.table, &refresh_token_hash(&body.refresh_token))
                .await
                .map_err(AuthError::from)?;
            record.ok_or(AuthError::BadRefreshToken)?.family_id
        };
        self.end_session(&family_id, now).await?;
        Ok(Reply::no_content())
    }

    /// `GET /v1/auth/sessions` → the caller's live sessions, newest first, the current one marked.
    pub(crate) async fn list_sessions(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let principal = request.principal()?;
        let now = self.now();
        let mut live: Vec<SessionView> = sessions::list_sessions(&self.platform.aws, &self.table, &principal.user_id)
            .await
            .map_err(AuthError::from)?
            .into_iter()
            .filter(|s| is_live(s, now))
            .map(|s| SessionView::new(s, &principal.session_id))
            .collect();
        live.reverse();
        Reply::ok(&bourse_http::Page::all(live))
    }

    /// `DELETE /v1/auth/sessions/{id}` → 204; 404 for a session that is not the caller's.
    pub(crate) async fn revoke_session(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let principal = request.principal()?;
        let id = request.param("id")?;
        let not_found = || ApiError::NotFound("no such session".into());
        if !bourse_tokens::looks_like_family_id(id) {
            return Err(not_found());
        }
        sessions::get_session(&self.platform.aws, &self.table, &principal.user_id, id)
            .await
            .map_err(AuthError::from)?
            .ok_or_else(not_found)?;
        self.end_session(id, self.now()).await?;
        Ok(Reply::no_content())
    }

    /// `DELETE /v1/auth/sessions` → 204: log out everywhere, this session included.
    pub(crate) async fn revoke_all_sessions(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let principal = request.principal()?;
        self.end_every_session(&principal.user_id).await?;
        Ok(Reply::no_content())
    }

    /// Ends every session of `user`: the mark every refresh checks first (so a session the index
    /// has not shown yet cannot refresh), then each listed session (so access tokens stop now).
    pub(crate) async fn end_every_session(&self, user: &UserId) -> Result<(), ApiError> {
        let (aws, now) = (&self.platform.aws, self.now());
        accounts::end_sessions_before(aws, &self.table, user, now).await.map_err(AuthError::from)?;
        for session in sessions::list_sessions(aws, &self.table, user).await.map_err(AuthError::from)? {
            if !session.revoked {
                self.end_session(&session.family_id, now).await?;
            }
        }
        Ok(())
    }

    /// `GET /v1/me` → the caller's profile.
    pub(crate) async fn me(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let principal = request.principal()?;
        let profile = accounts::profile(&self.platform.aws, &self.table, &principal.user_id)
            .await
            .map_err(AuthError::from)?
            .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
        Reply::ok(&Profile {
            user_id: &profile.user_id,
            email: &profile.email,
            email_verified: profile.email_verified,
            plan: &profile.plan,
            created_at: &profile.created_at,
        })
    }

    /// `DELETE /v1/me` `{password}` (bearer) → 202: the account is being deleted. The password is
    /// asked again (a stolen access token alone cannot delete an account; a wrong one is 403 and
    /// counts against the sign-in limit). At once the address is released (nobody signs in any
    /// more), every session ends, and the erasure of every item of the user is queued; the owner
    /// gets an e-mail once it is done. Asked again while the erasure runs (say, after a failure
    /// to queue it), the erasure is queued again without the password: the account has none left.
    pub(crate) async fn delete_account(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let principal = request.principal()?;
        let (aws, table, now) = (&self.platform.aws, self.table.as_str(), self.now());
        let gone = || ApiError::NotFound("no such user".into());
        let profile = accounts::profile(aws, table, &principal.user_id).await.map_err(AuthError::from)?.ok_or_else(gone)?;
        let email = Email::parse(&profile.email).map_err(|e| ApiError::Internal(e.to_string()))?;
        if profile.deleting_since.is_none() {
            let body: PasswordBody = request.json()?;
            let password = Password::presented(&body.password).map_err(password_problem)?;
            self.reauthenticate(request, &principal.user_id, &email, &password, now).await?;
            if !accounts::begin_deletion(aws, table, &principal.user_id, email.as_str(), now).await.map_err(AuthError::from)? {
                return Err(gone());
            }
        }
        let erase = QueueMessage::EraseAccount { user: principal.user_id.clone(), email: email.as_str().to_owned(), final_pass: false };
        bourse_storage::queue::send_messages(aws, &self.mail_queue_url, &[erase], None).await.map_err(AuthError::from)?;
        self.end_every_session(&principal.user_id).await?;
        Reply::accepted(&Accepted {
            status: "accepted",
            detail: "your account is being deleted: you have been signed out, and an e-mail confirms when every item of your data is gone",
        })
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
        let month = bourse_domain::assistant::cost::month_key(
            time::OffsetDateTime::from_unix_timestamp(now).map_err(|e| ApiError::Internal(e.to_string()))?.date(),
        );
        let (ai_days, month_cost) = bourse_storage::assistant::model_usage(
            &self.platform.aws,
            &self.table,
            &principal.user_id,
            &utc_date(from),
            &utc_date(to),
            &month,
        )
        .await
        .map_err(AuthError::from)?;
        let settings = &self.platform.config.assistant;
        let budgets = bourse_domain::assistant::cost::Budgets::configured(
            settings.budget_free_usd.as_deref(),
            settings.budget_pro_usd.as_deref(),
            settings.daily_cap_usd.as_deref(),
        )
        .unwrap_or_default();
        let usd = |d: rust_decimal::Decimal| d.normalize().to_string();
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
            ai: AiUsage {
                monthly_budget_usd: usd(budgets.monthly(plan)),
                month,
                month_cost_usd: usd(month_cost),
                days: ai_days
                    .into_iter()
                    .map(|d| AiDay {
                        date: d.date,
                        calls: d.calls,
                        input_tokens: d.input_tokens,
                        output_tokens: d.output_tokens,
                        cost_usd: usd(d.cost),
                        models: d
                            .by_model
                            .into_iter()
                            .map(|(model, u)| AiModel {
                                model,
                                calls: u.calls,
                                input_tokens: u.input_tokens,
                                output_tokens: u.output_tokens,
                                cost_usd: usd(u.cost),
                            })
                            .collect(),
                    })
                    .collect(),
            },
        })
    }
}

/// Whether a session can still be used at `now`: not ended, expired or idle too long.
fn is_live(session: &sessions::SessionRecord, now: i64) -> bool {
    !session.revoked && now < session.expires_at && session.last_used_at > now - SESSION_IDLE_SECONDS
}

/// The limiter key of the account and the caller's address.
fn pair_key(email: &Email, request: &ApiRequest) -> PairKey {
    PairKey::new(email, request.source_ip.as_deref().unwrap_or("unknown"))
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
