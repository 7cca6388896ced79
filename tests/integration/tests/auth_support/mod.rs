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
    assert_eq!(register(app, &email).await.status(), 202);
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

/// Sends what is on the mail queue, as the consumer's event-source mapping would: receives every
/// message there (other tests' too: they are sent, not lost), hands them to the consumer, and
/// deletes those it processed.
pub async fn deliver_mail() {
    let p = platform("enrich-consumer");
    let queue = std::env::var("MAIL_QUEUE_URL").expect("MAIL_QUEUE_URL");
    let consumer = enrich_consumer_fn::Consumer::new(p.clone()).await.expect("consumer starts");
    loop {
        let received = p.aws.sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(0).send().await.unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return;
        }
        let records: Vec<aws_lambda_events::sqs::SqsMessage> = messages
            .iter()
            .map(|m| {
                let mut record = aws_lambda_events::sqs::SqsMessage::default();
                record.message_id = m.message_id.clone();
                record.receipt_handle = m.receipt_handle.clone();
                record.body = m.body.clone();
                record
            })
            .collect();
        let mut batch = aws_lambda_events::sqs::SqsEvent::default();
        batch.records = records;
        let answer = consumer.consume(batch).await;
        let failed: Vec<&str> = answer.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert!(failed.is_empty(), "mail messages failed: {failed:?}");
        for m in &messages {
            p.aws.sqs.delete_message().queue_url(&queue).set_receipt_handle(m.receipt_handle.clone()).send().await.unwrap();
        }
    }
}

/// The e-mails the SES stand-in holds for `to`, oldest first: (subject, text).
pub async fn inbox(to: &str) -> Vec<(String, String)> {
    let ses = std::env::var("AWS_ENDPOINT_URL_SESV2").expect("AWS_ENDPOINT_URL_SESV2");
    let client = bourse_providers::http_client::HttpClient::new(None).unwrap();
    let response = client.get(&format!("{ses}/_ministack/ses/messages"), std::time::Duration::from_secs(5)).await.unwrap();
    assert_eq!(response.status, 200);
    let all: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    let mut found: Vec<(f64, String, String)> = all["messages"]
        .as_object()
        .into_iter()
        .flat_map(|accounts| accounts.values())
        .flat_map(|list| list.as_array().cloned().unwrap_or_default())
        .filter(|m| m["To"].as_array().is_some_and(|to_list| to_list.iter().any(|t| t == to)))
        .map(|m| {
            (
                m["Timestamp"].as_f64().unwrap_or(0.0),
                m["Subject"].as_str().unwrap_or("").to_owned(),
                m["BodyText"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    found.into_iter().map(|(_, subject, text)| (subject, text)).collect()
}

/// The mails to `to` once one satisfies `wanted`: delivers what is queued and reads the inbox
/// until then, for at most 20 s (another test may be sending a batch that holds this mail).
pub async fn wait_for_mail(to: &str, wanted: impl Fn(&(String, String)) -> bool) -> Vec<(String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        deliver_mail().await;
        let mails = inbox(to).await;
        if mails.iter().any(&wanted) {
            return mails;
        }
        assert!(std::time::Instant::now() < deadline, "the expected mail to {to} never came: {mails:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The token of the last link to `path` (`verify-email`, `reset-password`) mailed to `to`.
pub async fn mailed_token(to: &str, path: &str) -> String {
    let needle = format!("/{path}?token=");
    let mails = wait_for_mail(to, |(_, text)| text.contains(&needle)).await;
    let text = mails.iter().rev().map(|(_, text)| text).find(|t| t.contains(&needle)).expect("waited for it");
    let start = text.find(&needle).unwrap() + needle.len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}
