//! DynamoDB's partial answers and throttling, injected by a proxy in front of DynamoDB Local:
//! neither may turn into a wrong answer, a cached wrong answer, or a 5xx other than a 503 that
//! says when to retry.

mod auth_support;
mod portfolio_support;

use bourse_integration_tests::faults::{DynamoFaults, Fault};
use bourse_integration_tests::json_body;
use portfolio_support::{Client, auth, client, new_portfolio};
use serde_json::json;

/// The same user's portfolio function, with its DynamoDB requests going through `proxy`.
fn through(proxy: &DynamoFaults, c: &Client) -> Client {
    Client { app: portfolio_fn::app(proxy.platform("portfolio")).unwrap(), token: c.token.clone() }
}

/// Quotes a throttled partition leaves unprocessed after every retry are an error (503 with
/// `Retry-After`), never positions shown unpriced — and the failure is not cached: the next read
/// has the prices.
#[tokio::test]
async fn quotes_left_unprocessed_answer_503_and_nothing_unpriced_is_cached() {
    let proxy = DynamoFaults::in_front_of_the_stand_in().await;
    let auth = auth().await;
    let direct = client(&auth).await;
    let id = new_portfolio(&direct).await;
    let buy = json!({"type": "BUY", "symbol": "MSFT", "tradeDate": "2026-01-15", "quantity": "2", "price": "100", "fees": "0"});
    assert_eq!(direct.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(buy)).await.status(), 201);
    let c = through(&proxy, &direct);
    for view in ["holdings", "summary"] {
        let sent_before = proxy.count("BatchGetItem");
        proxy.arm("BatchGetItem", Fault::AllKeysUnprocessed, 100);
        let response = c.call("GET", &format!("/v1/portfolios/{id}/{view}"), None).await;
        let body = json_body(&response);
        assert_eq!(response.status(), 503, "{view}: {body}");
        assert!(response.headers().contains_key("retry-after"), "{view}: a 503 says when to retry");
        let sent = proxy.count("BatchGetItem");
        assert_eq!(sent - sent_before, 1 + bourse_storage::batch::MAX_RETRIES as usize, "{view}: the first request and every retry of what was left");
        // Throttling over: the next read is priced, so the failure was not cached.
        proxy.disarm();
        let response = c.call("GET", &format!("/v1/portfolios/{id}/{view}"), None).await;
        assert_eq!(response.status(), 200);
        let body = json_body(&response);
        let priced = if view == "holdings" { body["items"][0]["price"].is_string() } else { body["unpricedSymbols"] == json!([]) };
        assert!(priced, "{view} after the fault: {body}");
    }
}

/// Throttling that outlasts the SDK's retries is a 503 with `Retry-After`, and the request
/// succeeds once the throttling stops.
#[tokio::test]
async fn throttling_answers_503_with_retry_after_then_recovers() {
    let proxy = DynamoFaults::in_front_of_the_stand_in().await;
    let auth = auth().await;
    let direct = client(&auth).await;
    let id = new_portfolio(&direct).await;
    let c = through(&proxy, &direct);
    proxy.arm("GetItem", Fault::Throttle, 3);
    let response = c.call("GET", &format!("/v1/portfolios/{id}"), None).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 503, "{body}");
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(body["type"], "urn:bourse:problem:unavailable", "{body}");
    assert_eq!(proxy.injected(), 3, "the SDK tried 3 times");
    let response = c.call("GET", &format!("/v1/portfolios/{id}"), None).await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
}
