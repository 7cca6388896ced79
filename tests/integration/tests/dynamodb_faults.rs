//! DynamoDB's partial answers and throttling, injected by a proxy in front of DynamoDB Local:
//! neither may turn into a wrong answer, a cached wrong answer, or a 5xx other than a 503 that
//! says when to retry.

mod auth_support;
mod portfolio_support;

use bourse_domain::ManualClock;
use bourse_integration_tests::faults::{DynamoFaults, Fault};
use bourse_integration_tests::json_body;
use portfolio_support::{Client, auth, client, new_portfolio};
use serde_json::json;
use std::sync::Arc;

/// A signed-in user with a portfolio, and the same user's portfolio function with its DynamoDB
/// requests going through a fault proxy, on a clock the test moves.
struct Setup {
    proxy: DynamoFaults,
    direct: Client,
    id: String,
    c: Client,
    clock: Arc<ManualClock>,
}

async fn setup() -> Setup {
    let proxy = DynamoFaults::in_front_of_the_stand_in().await;
    let direct = client(&auth().await).await;
    let id = new_portfolio(&direct).await;
    let clock = Arc::new(ManualClock::new(auth_support::now()));
    let platform = proxy.platform("portfolio").with_clock(clock.clone());
    let c = Client { app: portfolio_fn::app(platform).unwrap(), token: direct.token.clone() };
    Setup { proxy, direct, id, c, clock }
}

/// Quotes a throttled partition leaves unprocessed after every retry are an error (503 with
/// `Retry-After`), never positions shown unpriced — and the failure is not cached: the next read
/// has the prices.
#[tokio::test]
async fn quotes_left_unprocessed_answer_503_and_nothing_unpriced_is_cached() {
    let Setup { proxy, direct, id, c, .. } = setup().await;
    let buy = json!({"type": "BUY", "symbol": "MSFT", "trade_date": "2026-01-15", "quantity": "2", "price": "100", "fees": "0"});
    assert_eq!(direct.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(buy)).await.status(), 201);
    for view in ["holdings", "summary"] {
        let sent_before = proxy.count("BatchGetItem");
        proxy.arm("BatchGetItem", Fault::AllKeysUnprocessed, 100);
        let response = c.call("GET", &format!("/v1/portfolios/{id}/{view}"), None).await;
        let body = json_body(&response);
        assert_eq!(response.status(), 503, "{view}: {body}");
        assert!(response.headers().contains_key("retry-after"), "{view}: a 503 says when to retry");
        let sent = proxy.count("BatchGetItem");
        assert_eq!(
            sent - sent_before,
            1 + bourse_storage::batch::MAX_RETRIES as usize,
            "{view}: the first request and every retry of what was left"
        );
        // Throttling over: the next read is priced, so the failure was not cached.
        proxy.disarm();
        let response = c.call("GET", &format!("/v1/portfolios/{id}/{view}"), None).await;
        assert_eq!(response.status(), 200);
        let body = json_body(&response);
        let priced = if view == "holdings" { body["items"][0]["price"].is_string() } else { body["unpriced_symbols"] == json!([]) };
        assert!(priced, "{view} after the fault: {body}");
    }
}

/// Throttling that outlasts the SDK's retries is a 503 with `Retry-After`, and the request
/// succeeds once the throttling stops.
#[tokio::test]
async fn throttling_answers_503_with_retry_after_then_recovers() {
    let Setup { proxy, id, c, .. } = setup().await;
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

/// A commit whose response is lost on the way back is retried by the SDK: the retry must neither
/// fail its condition (409 while the write exists) nor write a second transaction.
#[tokio::test]
async fn a_commit_whose_response_is_lost_is_neither_doubled_nor_reported_failed() {
    let Setup { proxy, direct, id, c, .. } = setup().await;
    let path = format!("/v1/portfolios/{id}/transactions");
    let buy = json!({"type": "BUY", "symbol": "AAPL", "trade_date": "2026-01-15", "quantity": "1", "price": "100", "fees": "0"});
    proxy.arm("TransactWriteItems", Fault::DropResponseAfterCommit, 1);
    let response = c.call_with("POST", &path, "", Some(buy.clone()), &[("idempotency-key", "lost-1")]).await;
    assert_eq!(proxy.injected(), 1);
    assert_eq!(response.status(), 201, "{}", json_body(&response));
    assert_eq!(direct.holding(&id, "AAPL").await["quantity"], "1");
    assert_eq!(direct.transaction_count(&id).await, 1);
}

/// When every attempt's response is lost the request fails (503) although the write committed;
/// the client's retry with the same Idempotency-Key finds the write instead of doubling it.
#[tokio::test]
async fn a_retry_after_a_failure_that_had_committed_finds_the_write_instead_of_doubling_it() {
    let Setup { proxy, direct, id, c, .. } = setup().await;
    let path = format!("/v1/portfolios/{id}/transactions");
    let buy = json!({"type": "BUY", "symbol": "AAPL", "trade_date": "2026-01-15", "quantity": "1", "price": "100", "fees": "0"});
    proxy.arm("TransactWriteItems", Fault::DropResponseAfterCommit, 3);
    let failed = c.call_with("POST", &path, "", Some(buy.clone()), &[("idempotency-key", "lost-2")]).await;
    assert_eq!(failed.status(), 503, "{}", json_body(&failed));
    assert_eq!(direct.transaction_count(&id).await, 1, "the first attempt committed");
    let retried = c.call_with("POST", &path, "", Some(buy.clone()), &[("idempotency-key", "lost-2")]).await;
    let body = json_body(&retried);
    assert_eq!(retried.status(), 201, "{body}");
    assert_eq!(direct.holding(&id, "AAPL").await["quantity"], "1", "not bought twice");
    assert_eq!(direct.transaction_count(&id).await, 1);
    let again = c.call_with("POST", &path, "", Some(buy), &[("idempotency-key", "lost-2")]).await;
    assert_eq!(json_body(&again), body, "then replayed");
}

/// A request that died holding its key (its work failed, and so did releasing the key) blocks
/// the key only for the lease: 409 "in progress" until it ends, then the same request runs.
#[tokio::test]
async fn a_key_left_pending_by_a_dead_request_is_in_progress_until_its_lease_ends() {
    let Setup { proxy, direct, id, c, clock } = setup().await;
    let path = format!("/v1/portfolios/{id}/transactions");
    let buy = json!({"type": "BUY", "symbol": "AAPL", "trade_date": "2026-01-15", "quantity": "1", "price": "100", "fees": "0"});
    let key = [("idempotency-key", "dead-1")];
    proxy.arm("TransactWriteItems", Fault::Throttle, 3);
    // The first UpdateItem counts the request (usage metering); the next is the key's release.
    proxy.arm_after("UpdateItem", 1, Fault::Throttle, 3);
    assert_eq!(c.call_with("POST", &path, "", Some(buy.clone()), &key).await.status(), 503);
    assert_eq!(proxy.injected(), 6, "the commit and the release both failed");
    let blocked = c.call_with("POST", &path, "", Some(buy.clone()), &key).await;
    assert_eq!(blocked.status(), 409, "{}", json_body(&blocked));
    clock.advance(bourse_storage::idempotency::LEASE_SECONDS - 1);
    assert_eq!(c.call_with("POST", &path, "", Some(buy.clone()), &key).await.status(), 409, "the lease holds to its end");
    clock.advance(2);
    let done = c.call_with("POST", &path, "", Some(buy.clone()), &key).await;
    assert_eq!(done.status(), 201, "{}", json_body(&done));
    assert_eq!(direct.transaction_count(&id).await, 1);
}

/// Work that committed is answered as done even when its answer cannot be stored under the key;
/// a retry once the lease has ended finds the write (same derived id) instead of doubling it.
#[tokio::test]
async fn a_committed_request_whose_answer_cannot_be_stored_is_still_done_once() {
    let Setup { proxy, direct, id, c, clock } = setup().await;
    let path = format!("/v1/portfolios/{id}/transactions");
    let buy = json!({"type": "BUY", "symbol": "AAPL", "trade_date": "2026-01-15", "quantity": "1", "price": "100", "fees": "0"});
    let key = [("idempotency-key", "complete-fails-1")];
    // The first UpdateItem counts the request (usage metering); the next stores the answer.
    proxy.arm_after("UpdateItem", 1, Fault::Throttle, 3);
    let first = c.call_with("POST", &path, "", Some(buy.clone()), &key).await;
    let first = (first.status(), json_body(&first));
    assert_eq!(first.0, 201, "{}", first.1);
    assert_eq!(proxy.injected(), 3);
    clock.advance(bourse_storage::idempotency::LEASE_SECONDS + 1);
    let retried = c.call_with("POST", &path, "", Some(buy), &key).await;
    let body = json_body(&retried);
    assert_eq!(retried.status(), 201, "{body}");
    assert_eq!(body["transaction"]["id"], first.1["transaction"]["id"], "the same transaction");
    assert_eq!(direct.holding(&id, "AAPL").await["quantity"], "1");
    assert_eq!(direct.transaction_count(&id).await, 1);
}

/// A keyed portfolio creation whose answers (the key's claim, then the portfolio's put) are lost
/// after they committed creates one portfolio and answers it.
#[tokio::test]
async fn a_created_portfolio_whose_answer_was_lost_exists_once() {
    let Setup { proxy, direct, c, .. } = setup().await;
    proxy.arm("PutItem", Fault::DropResponseAfterCommit, 2);
    let created = c
        .call_with("POST", "/v1/portfolios", "", Some(json!({"name": "Lost", "currency": "USD"})), &[("idempotency-key", "create-lost-1")])
        .await;
    let body = json_body(&created);
    assert_eq!(created.status(), 201, "{body}");
    assert_eq!(proxy.injected(), 2);
    let list = json_body(&direct.call("GET", "/v1/portfolios", None).await);
    let lost: Vec<&serde_json::Value> = list["items"].as_array().unwrap().iter().filter(|p| p["name"] == "Lost").collect();
    assert_eq!(lost.len(), 1, "{list}");
    assert_eq!(lost[0]["id"], body["id"]);
}

/// A keyed bulk of signals written in two atomic chunks, whose second chunk fails: the retry with
/// the same key finds the first chunk (same derived ids) and writes only the second.
#[tokio::test]
async fn a_keyed_bulk_whose_later_chunk_failed_is_finished_by_its_retry_without_doubles() {
    let Setup { proxy, direct, c, .. } = setup().await;
    // 100 signals over 10 symbols: 110 items, so two transactions.
    let signals: Vec<_> = (0..100)
        .map(|i| json!({"symbol": format!("SYM{}", i % 10), "direction": "LONG", "entry_price": "10", "confidence": 50, "opened_at": "2026-01-05T14:30:00Z"}))
        .collect();
    let bulk = json!({"signals": signals});
    let key = [("idempotency-key", "bulk-chunk-fails-1")];
    proxy.arm_after("TransactWriteItems", 1, Fault::Throttle, 3);
    let failed = c.call_with("POST", "/v1/journal/signals/bulk", "", Some(bulk.clone()), &key).await;
    assert_eq!(failed.status(), 503, "{}", json_body(&failed));
    assert_eq!(proxy.injected(), 3);
    let stats = json_body(&direct.call("GET", "/v1/journal/stats", None).await);
    let written = stats["total"].as_u64().unwrap();
    assert!(written > 0 && written < 100, "the first chunk only: {stats}");
    let retried = c.call_with("POST", "/v1/journal/signals/bulk", "", Some(bulk), &key).await;
    let body = json_body(&retried);
    assert_eq!(retried.status(), 201, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 100);
    let stats = json_body(&direct.call("GET", "/v1/journal/stats", None).await);
    assert_eq!(stats["total"], 100, "{stats}");
    let listed = json_body(&direct.call_with("GET", "/v1/journal/signals", "limit=100", None, &[]).await);
    let ids: std::collections::HashSet<_> =
        listed["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 100, "no signal twice");
    if let Some(cursor) = listed["next_cursor"].as_str() {
        let rest = json_body(&direct.call_with("GET", "/v1/journal/signals", &format!("limit=100&cursor={cursor}"), None, &[]).await);
        assert_eq!(rest["items"], json!([]), "and no 101st");
    }
}
