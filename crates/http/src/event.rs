//! API Gateway (HTTP API, payload 2.0) events built in-process: how one function runs another's
//! reads through that function's own pipeline, exactly as a client's request would enter it (the
//! operator's cache warm-up; the assistant's tools, with the caller's own token).

use serde_json::{Map, Value, json};

/// One request to build: method, path, query, extra headers and an optional JSON body.
#[derive(Debug, Clone, Copy)]
pub struct InProcessRequest<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<&'a str>,
    pub user_agent: &'a str,
}

/// The event's JSON text, for `lambda_http::request::from_str`.
pub fn api_gateway_event(request: InProcessRequest<'_>) -> String {
    let raw_query: Vec<String> = request.query.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect();
    let parameters: Map<String, Value> = request.query.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
    let mut headers: Map<String, Value> = Map::new();
    headers.insert("accept".into(), "application/json".into());
    headers.insert("user-agent".into(), request.user_agent.into());
    if request.body.is_some() {
        headers.insert("content-type".into(), "application/json".into());
    }
    for (name, value) in request.headers {
        headers.insert(name.to_ascii_lowercase(), (*value).into());
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": raw_query.join("&"),
        "headers": headers,
        "queryStringParameters": parameters,
        "requestContext": {
            "accountId": "", "apiId": "", "domainName": "localhost", "domainPrefix": "",
            "http": {"method": request.method, "path": request.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": request.user_agent},
            "requestId": request.request_id, "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0
        },
        "body": request.body,
        "isBase64Encoded": false
    })
    .to_string()
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
