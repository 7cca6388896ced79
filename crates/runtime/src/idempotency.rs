//! `Idempotency-Key` for POSTs, written once for every function: the same key with the same
//! request answers the stored response with no second effect; the same key with another request
//! is 422; a request still in progress with that key is 409 (the NextAction pattern of
//! `bourse_storage::idempotency`).
//!
//! The work runs as an [`Attempt`]: the ids it mints derive from the user and the key, and its
//! time is when the key was first claimed, so an attempt after a failure (a lost response, a
//! crash, a failed `complete`) mints the same ids and finds what had been written, rather than
//! writing it twice.

use crate::{Platform, random_problem, storage_problem};
use bourse_domain::UserId;
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_storage::idempotency::{self, NextAction};
use http::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;

/// One attempt at a request's work.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When the request was first made: now, or when its Idempotency-Key was first claimed.
    pub started: OffsetDateTime,
    /// What the request's ids derive from: SHA-256 of the user and the Idempotency-Key, or 256
    /// random bits without a key.
    seed: [u8; 32],
    keyed: bool,
}

impl Attempt {
    /// An attempt of a request without an Idempotency-Key: random ids, now.
    pub fn unkeyed(platform: &Platform) -> Result<Self, ApiError> {
        let seed = bourse_domain::random::bytes(&*platform.random).map_err(random_problem)?;
        Ok(Attempt { started: platform.clock.now_utc(), seed, keyed: false })
    }

    /// Whether the request has an Idempotency-Key (so an earlier attempt may have written).
    pub fn is_keyed(&self) -> bool {
        self.keyed
    }

    /// The id (32 lowercase hex) of the `n`th `kind` of thing this request creates: the same on
    /// every attempt of a keyed request, random otherwise.
    pub fn id(&self, kind: &str, n: usize) -> String {
        bourse_domain::text::hex(&self.id_bytes(kind, n))
    }

    /// [`Attempt::id`] as bytes, for the ids that are made from 16 random bytes.
    pub fn id_bytes(&self, kind: &str, n: usize) -> [u8; 16] {
        use sha2::Digest;
        let digest = sha2::Sha256::digest([&self.seed[..], kind.as_bytes(), b"\n", n.to_string().as_bytes()].concat());
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes
    }
}

/// Runs `work` under the request's `Idempotency-Key` (if it has one) for `user`. A created
/// resource whose body names its URL in `links.self` also gets a `Location` header.
pub async fn idempotent<F, Fut, T>(platform: &Platform, request: &ApiRequest, user: &UserId, work: F) -> Result<Reply, ApiError>
where
    F: FnOnce(Attempt) -> Fut,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>>,
    T: serde::Serialize,
{
    if request.has_header("idempotency-key") && request.header("idempotency-key").is_none() {
        return Err(ApiError::field("header.idempotency-key", "1 to 128 visible ASCII characters"));
    }
    let Some(key) = request.header("idempotency-key").map(str::to_owned) else {
        let (status, body) = work(Attempt::unkeyed(platform)?).await?;
        return respond(status, to_text(&body)?, false);
    };
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field("header.idempotency-key", "1 to 128 visible ASCII characters"));
    }
    let table = platform.config.require_app_table().map_err(|e| ApiError::Internal(e.to_string()))?;
    use sha2::Digest;
    let hash = bourse_domain::text::hex(&sha2::Sha256::digest(
        [request.route.as_bytes(), b"\n", request.path.as_bytes(), b"\n", request.body()].concat(),
    ));
    let aws = &platform.aws;
    // The platform's clock, so tests can move past a lease without waiting for it.
    let now_ms = platform.clock.now_ms();
    let claim = bourse_domain::random::hex_id(&*platform.random).map_err(random_problem)?;
    match idempotency::begin(aws, table, user, &key, &hash, &claim, now_ms).await.map_err(storage_problem)? {
        NextAction::Replay { status, body } => respond(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body, true),
        NextAction::Mismatch => {
            Err(ApiError::Unprocessable { detail: "this Idempotency-Key was used with a different request".into(), errors: vec![] })
        }
        NextAction::InProgress => Err(ApiError::Conflict("a request with this Idempotency-Key is still being processed".into())),
        NextAction::Process { started_ms } => {
            let started =
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(started_ms) * 1_000_000).unwrap_or_else(|_| platform.clock.now_utc());
            let seed: [u8; 32] = sha2::Sha256::digest([user.as_str().as_bytes(), b"\n", key.as_bytes()].concat()).into();
            match work(Attempt { started, seed, keyed: true }).await {
                Ok((status, body)) => {
                    let text = to_text(&body)?;
                    // The work is committed: answer it even when the response cannot be stored.
                    // The key then stays pending until its lease ends, and a retry after that
                    // finds the work by its derived ids.
                    if let Err(err) = idempotency::complete(aws, table, user, &key, status.as_u16(), &text).await {
                        tracing::error!(error = %err, "the response of a committed request could not be stored under its Idempotency-Key");
                    }
                    respond(status, text, false)
                }
                Err(err) => {
                    if let Err(release) = idempotency::release(aws, table, user, &key).await {
                        tracing::warn!(error = %release, "a failed request's Idempotency-Key stays leased until its lease ends");
                    }
                    Err(err)
                }
            }
        }
    }
}

fn to_text<T: serde::Serialize>(body: &T) -> Result<String, ApiError> {
    serde_json::to_string(body).map_err(|e| ApiError::Internal(format!("serialising the response: {e}")))
}

fn respond(status: StatusCode, body: String, replayed: bool) -> Result<Reply, ApiError> {
    let location = serde_json::from_str::<Value>(&body).ok().and_then(|v| v["links"]["self"].as_str().map(str::to_owned));
    let mut reply = Reply::json_bytes(status, body.into_bytes());
    if let Some(location) = location.filter(|_| status == StatusCode::CREATED || status == StatusCode::ACCEPTED) {
        reply = reply.header(http::header::LOCATION, &location)?;
    }
    if replayed {
        reply = reply.header(http::HeaderName::from_static("idempotent-replayed"), "true")?;
    }
    Ok(reply)
}
