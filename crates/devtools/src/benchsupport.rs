//! What the in-process benchmarks share: API Gateway v2 events built in code and medians.

use serde_json::json;
use std::time::Instant;

/// An HTTP API (v2) event; `headers` are added to `host` and a JSON content type.
pub fn event(method: &str, path: &str, query: &str, body: Option<String>, headers: &[(&str, &str)]) -> lambda_http::Request {
    event_from("127.0.0.1", method, path, query, body, headers)
}

/// [`event`] from the source address `ip`.
pub fn event_from(ip: &str, method: &str, path: &str, query: &str, body: Option<String>, headers: &[(&str, &str)]) -> lambda_http::Request {
    let mut all = json!({"host": "bench", "content-type": "application/json"});
    for (name, value) in headers {
        all[*name] = json!(value);
    }
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": all,
        "requestContext": {"accountId": "1", "apiId": "a", "domainName": "bench", "domainPrefix": "b",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": ip, "userAgent": "bench"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default", "time": "25/Nov/2026:21:30:00 +0000", "timeEpoch": 0},
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("bench event")
}

/// The median of samples (milliseconds).
pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The `p` quantile of samples (0.9 = the 90th percentile), nearest rank.
pub fn percentile(mut samples: Vec<f64>, p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(i).copied().unwrap_or(f64::NAN)
}

/// Milliseconds since `started`.
pub fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
