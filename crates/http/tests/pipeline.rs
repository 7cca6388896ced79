//! The shared pipeline driven through `lambda_http`'s own event parsing, on API Gateway v2, v1
//! (REST) and function-URL payloads.

use bourse_http::{ApiError, ApiRequest, Cors, Handler, HttpApp, HttpSettings, Reply, Route};
use lambda_http::{Body, Response};
use serde::Deserialize;
use std::io::Read;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
enum R {
    Item,
    Create,
    Big,
    Boom,
}

static ROUTES: &[Route<R>] = &[
    Route::get("/v1/items/{id}", R::Item),
    Route::post("/v1/items", R::Create),
    Route::get("/v1/big", R::Big),
    Route::get("/v1/boom", R::Boom),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    name: String,
}

struct TestHandler;

impl Handler<R> for TestHandler {
    async fn handle(&self, route: R, request: ApiRequest) -> Result<Reply, ApiError> {
        match route {
            R::Item => {
                let id = request.param("id")?;
                Ok(Reply::ok(&serde_json::json!({"id": id}))?.public(Duration::from_secs(300)))
            }
            R::Create => {
                let item: NewItem = request.json()?;
                Reply::created(&serde_json::json!({"name": item.name}), "/v1/items/1")
            }
            R::Big => Reply::ok(&vec!["a fairly repetitive line of market data"; 200]),
            R::Boom => Err(ApiError::Internal("secret table name bourse-app".into())),
        }
    }
}

fn app() -> HttpApp<R, TestHandler> {
    let settings =
        HttpSettings { service: "test", version: "0.0.0", cors: Cors::new(vec!["https://app.example".into()]), max_body_bytes: 64 };
    HttpApp::new(settings, ROUTES, TestHandler)
}

fn v2_event(method: &str, path: &str, headers: serde_json::Value, body: Option<&str>) -> String {
    let mut all = serde_json::json!({"host": "api.example"});
    for (k, v) in headers.as_object().unwrap() {
        all[k] = v.clone();
    }
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example", "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "test"},
            "requestId": "gw-req-1", "routeKey": "$default", "stage": "$default",
            "time": "25/Nov/2026:21:30:00 +0000", "timeEpoch": 1795642200000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

async fn send(event: &str) -> Response<Body> {
    let request = lambda_http::request::from_str(event).expect("event parses");
    app().serve(request).await
}

fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        Body::Empty => String::new(),
        _ => String::new(),
    }
}

fn problem(response: &Response<Body>) -> serde_json::Value {
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    serde_json::from_str(&body_text(response)).unwrap()
}

#[tokio::test]
async fn every_response_carries_security_headers_and_the_gateway_request_id() {
    let response = send(&v2_event("GET", "/v1/items/7", serde_json::json!({}), None)).await;
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["x-request-id"], "gw-req-1");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn public_reads_have_an_etag_and_answer_304() {
    let response = send(&v2_event("GET", "/v1/items/7", serde_json::json!({}), None)).await;
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let again = send(&v2_event("GET", "/v1/items/7", serde_json::json!({"if-none-match": etag}), None)).await;
    assert_eq!(again.status(), 304);
    assert!(matches!(again.body(), Body::Empty));
    assert_eq!(again.headers()["etag"], etag.as_str());
    let other = send(&v2_event("GET", "/v1/items/8", serde_json::json!({"if-none-match": etag}), None)).await;
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn private_answers_are_not_stored() {
    let response =
        send(&v2_event("POST", "/v1/items", serde_json::json!({"content-type": "application/json"}), Some(r#"{"name":"x"}"#))).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["location"], "/v1/items/1");
    assert!(response.headers().get("etag").is_none());
}

#[tokio::test]
async fn bad_bodies_are_4xx_problems_naming_the_fault() {
    let json = serde_json::json!({"content-type": "application/json"});
    let malformed = send(&v2_event("POST", "/v1/items", json.clone(), Some(r#"{"name":"#))).await;
    assert_eq!(malformed.status(), 400);
    assert_eq!(problem(&malformed)["type"], "urn:bourse:problem:malformed-json");

    let unknown = send(&v2_event("POST", "/v1/items", json.clone(), Some(r#"{"name":"x","admin":true}"#))).await;
    assert_eq!(unknown.status(), 400);
    let doc = problem(&unknown);
    assert_eq!(doc["errors"][0]["field"], "body.admin");
    assert!(doc["errors"][0]["reason"].as_str().unwrap().contains("admin"));
    assert_eq!(doc["request_id"], "gw-req-1");

    let wrong_type = send(&v2_event("POST", "/v1/items", json.clone(), Some(r#"{"name":5}"#))).await;
    assert_eq!(problem(&wrong_type)["errors"][0]["field"], "body.name");

    let too_big = send(&v2_event("POST", "/v1/items", json, Some(&format!(r#"{{"name":"{}"}}"#, "x".repeat(100))))).await;
    assert_eq!(too_big.status(), 413);
    assert_eq!(problem(&too_big)["type"], "urn:bourse:problem:payload-too-large");

    let form = send(&v2_event("POST", "/v1/items", serde_json::json!({"content-type": "text/plain"}), Some("name=x"))).await;
    assert_eq!(form.status(), 415);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let missing = send(&v2_event("GET", "/v1/nothing", serde_json::json!({}), None)).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(problem(&missing)["type"], "urn:bourse:problem:not-found");
    let wrong = send(&v2_event("DELETE", "/v1/items", serde_json::json!({}), None)).await;
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "POST");
}

#[tokio::test]
async fn internal_errors_hide_their_cause() {
    let response = send(&v2_event("GET", "/v1/boom", serde_json::json!({}), None)).await;
    assert_eq!(response.status(), 500);
    assert!(!body_text(&response).contains("bourse-app"));
    assert_eq!(problem(&response)["request_id"], "gw-req-1");
}

#[tokio::test]
async fn large_answers_are_compressed_when_accepted() {
    let plain = send(&v2_event("GET", "/v1/big", serde_json::json!({}), None)).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = body_text(&plain).len();
    assert!(plain_len > 1024);

    let gzip = send(&v2_event("GET", "/v1/big", serde_json::json!({"accept-encoding": "gzip"}), None)).await;
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let Body::Binary(bytes) = gzip.body() else { panic!("compressed body must be binary") };
    let mut out = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut out).unwrap();
    assert_eq!(out.len(), plain_len);

    let br = send(&v2_event("GET", "/v1/big", serde_json::json!({"accept-encoding": "gzip, br"}), None)).await;
    assert_eq!(br.headers()["content-encoding"], "br");
    let small = send(&v2_event("GET", "/v1/items/1", serde_json::json!({"accept-encoding": "gzip"}), None)).await;
    assert!(small.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn cors_preflight_and_simple_requests_follow_the_allow_list() {
    let preflight = send(&v2_event(
        "OPTIONS",
        "/v1/items",
        serde_json::json!({"origin": "https://app.example", "access-control-request-method": "POST"}),
        None,
    ))
    .await;
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example");
    assert!(preflight.headers()["access-control-allow-headers"].to_str().unwrap().contains("idempotency-key"));

    let foreign = send(&v2_event(
        "OPTIONS",
        "/v1/items",
        serde_json::json!({"origin": "https://evil.example", "access-control-request-method": "POST"}),
        None,
    ))
    .await;
    assert!(foreign.headers().get("access-control-allow-origin").is_none());

    let simple = send(&v2_event("GET", "/v1/items/1", serde_json::json!({"origin": "https://app.example"}), None)).await;
    assert_eq!(simple.headers()["access-control-allow-origin"], "https://app.example");
    assert!(simple.headers()["access-control-expose-headers"].to_str().unwrap().contains("etag"));
}

#[tokio::test]
async fn rest_api_v1_payloads_are_served_too() {
    let event = serde_json::json!({
        "resource": "/v1/items/{id}",
        "path": "/v1/items/42",
        "httpMethod": "GET",
        "headers": {"Host": "api.example"},
        "multiValueHeaders": {"Host": ["api.example"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": {"id": "42"},
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012", "apiId": "rest", "resourceId": "r1", "stage": "prod",
            "requestId": "rest-req-1", "httpMethod": "GET", "path": "/prod/v1/items/42", "resourcePath": "/v1/items/{id}",
            "identity": {"sourceIp": "198.51.100.9"}, "protocol": "HTTP/1.1", "requestTimeEpoch": 1795642200000u64
        },
        "body": null,
        "isBase64Encoded": false
    });
    let response = send(&event.to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "rest-req-1");
    assert_eq!(body_text(&response), r#"{"id":"42"}"#);
}
