//! Shared set-up of the integration tests: the stand-ins are started by `dev/test.sh`
//! (`bourse_profile test`), which exports their endpoints; these helpers read them.

use bourse_runtime::Platform;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Fails loudly when the stand-ins' environment is missing: these tests never skip.
pub fn require_stack() {
    assert_eq!(
        std::env::var("BOURSE_PROFILE").as_deref(),
        Ok("test"),
        "integration tests run against the stand-ins: use `bash dev/test.sh` (it starts and stops them)"
    );
}

/// A new random user id, for items a test writes without going through the API.
pub fn random_user_id() -> bourse_domain::UserId {
    bourse_domain::UserId::parse(&bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()).unwrap()
}

/// A symbols job of a new random user over `total` symbols, marked enqueued, created at `created_at`:
/// what the jobs API would have recorded, for tests that drive the store or the consumer directly.
pub fn enqueued_job(id: bourse_domain::jobs::JobId, total: usize, created_at: &str) -> bourse_storage::jobs::JobRecord {
    let owner = bourse_domain::jobs::JobOwner::User(random_user_id());
    bourse_storage::jobs::JobRecord {
        enqueued: true,
        ..bourse_storage::jobs::JobRecord::new(id, owner, bourse_domain::jobs::JobKind::Symbols, total, created_at)
    }
}

/// The user an access token was issued to (its `sub` claim, read without verifying).
pub fn user_of(token: &str) -> bourse_domain::UserId {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims");
    bourse_domain::UserId::parse(claims["sub"].as_str().expect("sub")).expect("a user id")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A platform for `service` configured from the test profile's environment.
pub fn platform(service: &'static str) -> Platform {
    require_stack();
    Platform::from_env(service).expect("test environment is complete")
}

/// The test profile's signing key (PEM), which `dev/test.sh` stored as the Secrets Manager secret
/// the auth function reads: tests sign tokens with it directly.
pub fn signing_key_pem() -> String {
    require_stack();
    let run_dir = std::env::var("BOURSE_RUN_DIR").expect("BOURSE_RUN_DIR is set by the test profile");
    std::fs::read_to_string(PathBuf::from(run_dir).join("jwt/signing.pem")).expect("the test profile's signing key")
}

/// Creates the template's resources once per test process (idempotent).
pub async fn ensure_resources() {
    static DONE: OnceLock<()> = OnceLock::new();
    if DONE.get().is_some() {
        return;
    }
    let template = bourse_devtools::template::Template::load(&repo_root().join("template.yaml"), "bourse").unwrap();
    let platform = platform("integration-tests");
    bourse_devtools::resources::create_all(&platform.aws, &template, None).await.expect("resources created");
    let _ = DONE.set(());
}

/// Reads a sample event from `events/`.
pub fn event(path: &str) -> String {
    std::fs::read_to_string(repo_root().join("events").join(path)).unwrap_or_else(|e| panic!("events/{path}: {e}"))
}

/// Parses an HTTP sample event into a request.
pub fn request(path: &str) -> lambda_http::Request {
    lambda_http::request::from_str(&event(path)).expect("sample event parses")
}

/// The JSON body of a response (gunzipped when the pipeline compressed it).
pub fn json_body(response: &lambda_http::Response<lambda_http::Body>) -> serde_json::Value {
    let bytes: Vec<u8> = match response.body() {
        lambda_http::Body::Text(text) => text.as_bytes().to_vec(),
        lambda_http::Body::Binary(bytes) => bytes.clone(),
        _ => return serde_json::Value::Null,
    };
    let gzip = response.headers().get("content-encoding").is_some_and(|v| v == "gzip");
    let bytes = if gzip {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).expect("gzip body");
        out
    } else {
        bytes
    };
    serde_json::from_slice(&bytes).expect("JSON body")
}

fn redis_standin(action: &str) {
    let status = std::process::Command::new("bash")
        .arg(repo_root().join("dev/standins.sh"))
        .args([action, "redis", "test"])
        .status()
        .expect("standins.sh runs");
    assert!(status.success(), "standins.sh {action} redis test failed");
}

/// Redis of the test profile, stopped until this guard drops (even when an assertion fails).
pub struct RedisStopped(());

/// Stops the test profile's Redis; it starts again when the returned guard drops.
pub fn stop_redis() -> RedisStopped {
    redis_standin("stop-one");
    RedisStopped(())
}

impl Drop for RedisStopped {
    fn drop(&mut self) {
        redis_standin("start-one");
    }
}
pub mod faults;
