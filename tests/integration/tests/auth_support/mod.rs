//! Helpers shared by the auth test binaries: requests built in code, a fresh account per test.
#![allow(dead_code)]

use bourse_domain::ManualClock;
use bourse_integration_tests::{ensure_resources, json_body, platform};
use lambda_http::{Body, Request, Response};
use std::sync::Arc;

pub type AuthApp = bourse_http::HttpApp<auth_fn::AuthRoute, auth_fn::Auth>;

pub const PASSWORD: &str = "tangerine-Orbit-47-quietly";

pub async fn app_with_clock(clock: Arc<ManualClock>) -> AuthApp {
    ensure_resources().await;
    auth_fn::app(platform("auth").with_clock(clock)).expect("auth starts")
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        bourse_tokens::random_token(&bourse_domain::random::OsRandom, 8).unwrap().to_lowercase().replace(['-', '_'], "x")
    )
}

/// A random documentation-range address, so tests do not share the per-address limit.
pub fn random_ip() -> String {
    let r = bourse_tokens::random_token(&bourse_domain::random::OsRandom, 3).unwrap();
    let b = r.as_bytes();
    format!("198.51.{}.{}", b[0] % 250, b[1] % 250)
}

/// An API Gateway v2 event.
pub fn event(method: &str, path: &str, query: &str, body: Option<&str>, token: Option<&str>, ip: &str) -> Request {
    let mut headers = serde_json::json!({"content-type": "application/json", "host": "api.bourse.example"});
    if let Some(token) = token {
        headers["authorization"] = serde_json::json!(format!("Bearer {token}"));
    }
    let mut query_map = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query_map.insert(k.to_owned(), serde_json::json!(v));
    }
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "queryStringParameters": query_map,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bourse1", "domainName": "api.bourse.example",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": ip, "userAgent": "test"},
            "requestId": format!("test-{}", bourse_tokens::random_token(&bourse_domain::random::OsRandom, 6).unwrap()),
            "routeKey": format!("{method} {path}"), "stage": "$default",
            "time": "25/Nov/2026:21:30:00 +0000", "timeEpoch": 1795642200000i64
        },
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("event parses")
}

/// The request with these headers added (e.g. `idempotency-key`).
pub fn with_headers(mut request: Request, headers: &[(&str, &str)]) -> Request {
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"), value.parse().expect("a header value"));
    }
    request
}

pub fn credentials(email: &str, password: &str) -> String {
    serde_json::json!({"email": email, "password": password}).to_string()
}

pub async fn register(app: &AuthApp, email: &str) -> Response<Body> {
    app.serve(event("POST", "/v1/auth/register", "", Some(&credentials(email, PASSWORD)), None, &random_ip())).await
}

pub async fn login(app: &AuthApp, email: &str, password: &str, ip: &str) -> Response<Body> {
    app.serve(event("POST", "/v1/auth/login", "", Some(&credentials(email, password)), None, ip)).await
}

/// Registers a fresh account and logs in: (email, access token, refresh token).
pub async fn signed_in(app: &AuthApp) -> (String, String, String) {
    let email = format!("{}@example.com", unique("user"));
    assert_eq!(register(app, &email).await.status(), 201);
    let response = login(app, &email, PASSWORD, &random_ip()).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");
    (email, body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
}

pub async fn me(app: &AuthApp, token: &str) -> Response<Body> {
    app.serve(event("GET", "/v1/me", "", None, Some(token), &random_ip())).await
}

pub async fn refresh(app: &AuthApp, token: &str) -> Response<Body> {
    let body = serde_json::json!({"refresh_token": token}).to_string();
    app.serve(event("POST", "/v1/auth/refresh", "", Some(&body), None, &random_ip())).await
}

pub fn assert_problem(response: &Response<Body>, status: u16) {
    assert_eq!(response.status(), status, "{}", json_body(response));
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    if status == 401 {
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    }
}
