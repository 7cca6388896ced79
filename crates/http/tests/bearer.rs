//! Bearer routes in the pipeline with a fake authenticator and meter: 401 with
//! `WWW-Authenticate`, the principal reaches the handler, `RateLimit-*` headers, 429 over quota.

use bourse_http::{
    AccessControl, ApiError, ApiRequest, Authenticator, Cors, Handler, HttpApp, HttpSettings, Principal, RateLimit, Reply, Route,
    UsageMeter,
};
use futures_util::future::BoxFuture;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
enum R {
    Open,
    Mine,
}

static ROUTES: &[Route<R>] = &[Route::get("/v1/open", R::Open), Route::bearer_get("/v1/mine", R::Mine)];

struct H;

impl Handler<R> for H {
    async fn handle(&self, route: R, request: ApiRequest) -> Result<Reply, ApiError> {
        match route {
            R::Open => Reply::ok(&serde_json::json!({"principal": request.principal.is_some()})),
            R::Mine => Reply::ok(&serde_json::json!({"user": request.principal()?.user_id})),
        }
    }
}

struct FakeAuth;

/// The user a fake token stands for: one per token.
fn user_of(token: &str) -> bourse_domain::UserId {
    bourse_domain::UserId::parse(&format!("{:032x}", token.len())).unwrap()
}

impl Authenticator for FakeAuth {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, ApiError>> {
        Box::pin(async move {
            match token {
                "good" | "broke" => Ok(Principal {
                    user_id: user_of(token),
                    plan: "free".into(),
                    session_id: "s".into(),
                    token_id: "t".into(),
                    expires_at: 0,
                    admin: false,
                }),
                _ => Err(ApiError::InvalidToken("bad token".into())),
            }
        })
    }
}

struct FakeMeter;

impl UsageMeter for FakeMeter {
    fn record<'a>(&'a self, principal: &'a Principal, route: &'a str) -> BoxFuture<'a, Result<RateLimit, ApiError>> {
        assert_eq!(route, "GET /v1/mine");
        let exceeded = principal.user_id == user_of("broke");
        Box::pin(async move { Ok(RateLimit { limit: 10, remaining: if exceeded { 0 } else { 9 }, reset_seconds: 60, exceeded }) })
    }
}

fn app(with_access: bool) -> HttpApp<R, H> {
    let settings = HttpSettings { service: "t", version: "0", cors: Cors::new(vec![]), max_body_bytes: 1024 };
    let app = HttpApp::new(settings, ROUTES, H);
    if with_access { app.with_access(AccessControl { authenticator: Arc::new(FakeAuth), meter: Arc::new(FakeMeter) }) } else { app }
}

fn get(path: &str, token: Option<&str>) -> lambda_http::Request {
    let mut headers = serde_json::json!({"host": "x"});
    if let Some(t) = token {
        headers["authorization"] = serde_json::json!(format!("Bearer {t}"));
    }
    let event = serde_json::json!({
        "version": "2.0", "routeKey": format!("GET {path}"), "rawPath": path, "rawQueryString": "", "headers": headers,
        "requestContext": {"accountId": "1", "apiId": "a", "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "t"},
            "requestId": "r1", "routeKey": format!("GET {path}"), "stage": "$default", "time": "25/Nov/2026:21:30:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[tokio::test]
async fn bearer_routes_need_a_valid_token_and_are_metered() {
    let app = app(true);
    assert_eq!(app.serve(get("/v1/open", None)).await.status(), 200);
    // RFC 6750 §3.1: no token, a challenge without an error; a bad one, `error="invalid_token"`.
    for (token, challenge) in [(None, "Bearer realm=\"bourse\""), (Some("bad"), "Bearer realm=\"bourse\", error=\"invalid_token\"")] {
        let refused = app.serve(get("/v1/mine", token)).await;
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["www-authenticate"], challenge);
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
        assert!(!refused.headers().contains_key("ratelimit-limit"));
    }
    let ok = app.serve(get("/v1/mine", Some("good"))).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["ratelimit-limit"], "10");
    assert_eq!(ok.headers()["ratelimit-remaining"], "9");
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let over = app.serve(get("/v1/mine", Some("broke"))).await;
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["retry-after"], "60");
    assert_eq!(over.headers()["ratelimit-remaining"], "0");
}

#[tokio::test]
async fn a_bearer_route_without_an_authenticator_fails_closed() {
    assert_eq!(app(false).serve(get("/v1/mine", Some("good"))).await.status(), 401);
}
