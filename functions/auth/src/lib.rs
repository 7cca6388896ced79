//! The auth function: accounts, tokens, profile and usage read-out.
//!
//! Routing is declared once in [`ROUTES`]; [`Auth`] answers each route; failures of the account
//! logic are [`AuthError`]s, mapped to responses in one place ([`AuthError::into_problem`]).

mod handlers;
#[cfg(test)]
mod wire_tests;

use bourse_http::{ApiError, ApiRequest, Handler, HttpApp, Reply, Route};
use bourse_runtime::access::Sessions;
use bourse_runtime::secrets::InstanceSecret;
use bourse_runtime::{Dependency, Platform, StartupError};
use bourse_tokens::TokenSigner;
use std::time::Duration;

pub const SERVICE: &str = "auth";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every route this function answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRoute {
    Health,
    Register,
    VerifyEmail,
    RequestPasswordReset,
    ConfirmPasswordReset,
    ChangePassword,
    Login,
    Refresh,
    Logout,
    Sessions,
    RevokeSession,
    RevokeAllSessions,
    Me,
    DeleteAccount,
    Usage,
}

pub static ROUTES: &[Route<AuthRoute>] = &[
    Route::get("/v1/auth/health", AuthRoute::Health),
    Route::post("/v1/auth/register", AuthRoute::Register),
    Route::post("/v1/auth/verify-email", AuthRoute::VerifyEmail),
    Route::post("/v1/auth/password-reset", AuthRoute::RequestPasswordReset),
    Route::post("/v1/auth/password-reset/confirm", AuthRoute::ConfirmPasswordReset),
    Route::bearer_post("/v1/auth/password", AuthRoute::ChangePassword),
    Route::post("/v1/auth/login", AuthRoute::Login),
    Route::post("/v1/auth/refresh", AuthRoute::Refresh),
    // Public: a refresh token in the body is enough (see `logout`).
    Route::post("/v1/auth/logout", AuthRoute::Logout),
    Route::bearer_get("/v1/auth/sessions", AuthRoute::Sessions),
    Route::bearer_delete("/v1/auth/sessions", AuthRoute::RevokeAllSessions),
    Route::bearer_delete("/v1/auth/sessions/{id}", AuthRoute::RevokeSession),
    Route::bearer_get("/v1/me", AuthRoute::Me),
    Route::bearer_delete("/v1/me", AuthRoute::DeleteAccount),
    Route::bearer_get("/v1/usage", AuthRoute::Usage),
];

/// What the health endpoint checks.
const DEPENDENCIES: &[Dependency] = &[Dependency::AppTable, Dependency::Cache];

/// Why an account operation failed, before it becomes a response.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("email already registered")]
    EmailTaken,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("refresh token refused")]
    BadRefreshToken,
    #[error("too many attempts")]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Storage(#[from] bourse_storage::StorageError),
    #[error("{0}")]
    Internal(String),
}

impl AuthError {
    /// The one mapping of auth failures to responses.
    pub fn into_problem(self) -> ApiError {
        match self {
            AuthError::EmailTaken => ApiError::Conflict("an account with this email already exists".into()),
            AuthError::BadCredentials => ApiError::Unauthorized("wrong email or password".into()),
            AuthError::BadRefreshToken => ApiError::Unauthorized("the refresh token is invalid, expired or revoked".into()),
            AuthError::Throttled { retry_after } => {
                ApiError::TooManyRequests { detail: "too many attempts; wait before trying again".into(), retry_after }
            }
            AuthError::Storage(err) => bourse_runtime::storage_problem(err),
            AuthError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        err.into_problem()
    }
}

pub struct Auth {
    platform: Platform,
    table: String,
    signer: InstanceSecret<TokenSigner>,
    sessions: Sessions,
    /// The bearer check of the routes that take either a token or a refresh token (logout).
    authenticator: std::sync::Arc<dyn bourse_http::auth::Authenticator>,
    /// Where e-mails are queued (`MAIL_QUEUE_URL`; the consumer sends them).
    mail_queue_url: String,
}

impl Handler<AuthRoute> for Auth {
    async fn handle(&self, route: AuthRoute, request: ApiRequest) -> Result<Reply, ApiError> {
        match route {
            AuthRoute::Health => self.platform.health(VERSION, DEPENDENCIES).await,
            AuthRoute::Register => self.register(&request).await,
            AuthRoute::VerifyEmail => self.verify_email(&request).await,
            AuthRoute::RequestPasswordReset => self.request_password_reset(&request).await,
            AuthRoute::ConfirmPasswordReset => self.confirm_password_reset(&request).await,
            AuthRoute::ChangePassword => self.change_password(&request).await,
            AuthRoute::Login => self.login(&request).await,
            AuthRoute::Refresh => self.refresh(&request).await,
            AuthRoute::Logout => self.logout(&request).await,
            AuthRoute::Sessions => self.list_sessions(&request).await,
            AuthRoute::RevokeSession => self.revoke_session(&request).await,
            AuthRoute::RevokeAllSessions => self.revoke_all_sessions(&request).await,
            AuthRoute::Me => self.me(&request).await,
            AuthRoute::DeleteAccount => self.delete_account(&request).await,
            AuthRoute::Usage => self.usage(&request).await,
        }
    }
}

/// The function, ready to serve: needs `APP_TABLE`, `JWT_PUBLIC_KEYS`, `JWT_SIGNING_KID` (whose
/// public key must be among `JWT_PUBLIC_KEYS`) and the signing key (`JWT_SIGNING_KEY_SECRET`, read
/// from Secrets Manager in the background from now on; see `InstanceSecret`).
pub fn app(platform: Platform) -> Result<HttpApp<AuthRoute, Auth>, StartupError> {
    let (kid, key) = platform.config.require_jwt_signing_key()?;
    let signing_kid = kid.to_owned();
    let signer = InstanceSecret::prefetch(&platform, key.clone(), move |key| TokenSigner::new(&signing_kid, key.expose()));
    let verifier = bourse_tokens::TokenVerifier::from_json(platform.config.require_jwt_public_keys()?)?;
    if !verifier.knows(kid) {
        return Err(bourse_tokens::KeyError::SigningKidUnknown(kid.to_owned()).into());
    }
    let access = platform.access_control()?;
    let table = platform.config.require_app_table()?.to_owned();
    let sessions = Sessions::new(&platform)?;
    let settings = platform.http_settings(VERSION);
    let authenticator = std::sync::Arc::clone(&access.authenticator);
    let mail_queue_url = platform.config.require_mail_queue_url()?.to_owned();
    let auth = Auth { platform, table, signer, sessions, authenticator, mail_queue_url };
    Ok(HttpApp::new(settings, ROUTES, auth).with_access(access))
}
