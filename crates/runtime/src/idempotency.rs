//! `Idempotency-Key` for POSTs, written once for every function: the same key with the same
//! request answers the stored response with no second effect; the same key with another request
//! is 422; a request still in progress with that key is 409 (the NextAction pattern of
//! `bourse_storage::idempotency`).

use crate::{Platform, storage_problem};
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_storage::idempotency::{self, NextAction};
use http::StatusCode;
use serde_json::Value;

/// Runs `work` under the request's `Idempotency-Key` (if it has one) for `user`. A created
/// resource whose body names its URL in `links.self` also gets a `Location` header.
pub async fn idempotent<F, Fut>(platform: &Platform, request: &ApiRequest, user: &str, work: F) -> Result<Reply, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let Some(key) = request.header("idempotency-key").map(str::to_owned) else {
        let (status, body) = work().await?;
        return respond(status, body.to_string(), false);
    };
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field("header.idempotency-key", "1 to 128 visible ASCII characters"));
    }
    let table = platform.config.require_app_table().map_err(|e| ApiError::Internal(e.to_string()))?;
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest([request.route.as_bytes(), b"\n", request.path.as_bytes(), b"\n", request.body()].concat())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let aws = &platform.aws;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match idempotency::begin(aws, table, user, &key, &hash, now).await.map_err(storage_problem)? {
        NextAction::Replay { status, body } => respond(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body, true),
        NextAction::Mismatch => Err(ApiError::Unprocessable { detail: "this Idempotency-Key was used with a different request".into(), errors: vec![] }),
        NextAction::InProgress => Err(ApiError::Conflict("a request with this Idempotency-Key is still being processed".into())),
        NextAction::Process => match work().await {
            Ok((status, body)) => {
                let text = body.to_string();
                idempotency::complete(aws, table, user, &key, status.as_u16(), &text).await.map_err(storage_problem)?;
                respond(status, text, false)
            }
            Err(err) => {
                let _ = idempotency::release(aws, table, user, &key).await;
                Err(err)
            }
        },
    }
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
