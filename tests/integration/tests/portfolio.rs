//! The portfolio function against DynamoDB Local and Redis, with real tokens from the auth function.

mod auth_support;
mod portfolio_support;

use auth_support::{event, random_ip};
use bourse_integration_tests::{json_body, platform, repo_root};
use portfolio_support::{auth, client, new_portfolio};
use serde_json::{Value, json};

fn buy(symbol: &str, quantity: &str, price: &str, fees: &str) -> Value {
    json!({"type": "BUY", "symbol": symbol, "trade_date": "2026-01-15", "quantity": quantity, "price": price, "fees": fees})
}

#[tokio::test]
async fn another_users_ids_answer_404_everywhere() {
    let auth = auth().await;
    let (alice, mallory) = (client(&auth).await, client(&auth).await);
    let id = new_portfolio(&alice).await;
    let tx = json_body(&alice.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(buy("AAPL", "1", "100", "0"))).await);
    let tx_id = tx["transaction"]["id"].as_str().unwrap().to_owned();
    let attempts = [
        ("GET", format!("/v1/portfolios/{id}"), None),
        ("PATCH", format!("/v1/portfolios/{id}"), Some(json!({"name": "mine"}))),
        ("DELETE", format!("/v1/portfolios/{id}"), None),
        ("POST", format!("/v1/portfolios/{id}/transactions"), Some(buy("AAPL", "1", "1", "0"))),
        ("GET", format!("/v1/portfolios/{id}/transactions"), None),
        ("DELETE", format!("/v1/portfolios/{id}/transactions/{tx_id}"), None),
        ("GET", format!("/v1/portfolios/{id}/holdings"), None),
        ("GET", format!("/v1/portfolios/{id}/summary"), None),
        ("GET", format!("/v1/portfolios/{id}/analysis"), None),
    ];
    for (method, path, body) in attempts {
        let response = mallory.call(method, &path, body).await;
        assert_eq!(response.status(), 404, "{method} {path}: {}", json_body(&response));
    }
    let mine = json_body(&alice.call("GET", &format!("/v1/portfolios/{id}/holdings"), None).await);
    assert_eq!(mine["items"][0]["quantity"], "1", "nothing of Mallory's attempts landed");
    assert!(json_body(&mallory.call("GET", "/v1/portfolios", None).await)["items"].as_array().unwrap().is_empty());
}

/// Ids the service never mints (too long for a DynamoDB key, wrong alphabet) name nothing: 404,
/// never the 503 "busy, retry" a refused key used to become.
#[tokio::test]
async fn ids_the_service_never_mints_answer_404_not_503() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let long = "a".repeat(2000);
    let paths = [
        ("GET", format!("/v1/portfolios/{long}"), None),
        ("PATCH", format!("/v1/portfolios/{long}"), Some(json!({"name": "x"}))),
        ("DELETE", format!("/v1/portfolios/{long}"), None),
        ("GET", format!("/v1/portfolios/{long}/transactions"), None),
        ("POST", format!("/v1/portfolios/{long}/transactions"), Some(buy("MSFT", "1", "1", "0"))),
        ("GET", format!("/v1/portfolios/{long}/summary"), None),
        ("GET", format!("/v1/portfolios/{}/holdings", id.to_uppercase()), None),
        ("DELETE", format!("/v1/portfolios/{id}/transactions/2026-01-15-{long}"), None),
        ("DELETE", format!("/v1/portfolios/{id}/transactions/2026-01-15-ABCDEF0123456789"), None),
    ];
    for (method, path, body) in paths {
        let response = c.call(method, &path, body).await;
        assert_eq!(response.status(), 404, "{method} {}…: {}", &path[..path.len().min(60)], json_body(&response));
    }
}

/// A request the store refuses as invalid (here a partition key over DynamoDB's 2 KB limit) is a typed
/// `Invalid` error, which the one mapping answers 500, never 503.
#[tokio::test]
async fn a_request_dynamodb_refuses_as_invalid_is_never_reported_busy() {
    bourse_integration_tests::ensure_resources().await;
    let platform = platform("portfolio");
    let table = platform.config.require_app_table().unwrap();
    let user = bourse_integration_tests::random_user_id();
    let key = "a".repeat(3000);
    let err = bourse_storage::idempotency::begin(&platform.aws, table, &user, &key, "h", "claim", 1_796_000_000_000).await.unwrap_err();
    assert!(matches!(err, bourse_storage::StorageError::Invalid { .. }), "{err}");
    let problem = bourse_runtime::storage_problem(err);
    assert!(matches!(problem, bourse_http::ApiError::Internal(_)), "{problem:?}");
}

/// An item over DynamoDB's 400 KB is a typed `TooLarge` error answered 422 with its reason, never
/// 503; an Idempotency-Key's stored answer is compressed, so a large answer still replays.
#[tokio::test]
async fn an_item_over_400_kb_is_422_with_a_reason_and_large_answers_still_replay() {
    bourse_integration_tests::ensure_resources().await;
    let platform = platform("portfolio");
    let table = platform.config.require_app_table().unwrap();
    let user = bourse_integration_tests::random_user_id();
    let idem = |key: &'static str, hash: &'static str| {
        bourse_storage::idempotency::begin(&platform.aws, table, &user, key, hash, "claim", 1_796_000_000_000)
    };
    // 1 MB of hex noise (a hash chain) gzips to about half: over the limit even compressed.
    let mut noise = String::new();
    let mut digest = [0u8; 32];
    while noise.len() < 1_000_000 {
        use sha2::Digest;
        digest = sha2::Sha256::digest(digest).into();
        noise.extend(digest.iter().map(|b| format!("{b:02x}")));
    }
    idem("big", "h").await.unwrap();
    let err = bourse_storage::idempotency::complete(&platform.aws, table, &user, "big", 200, &noise).await.unwrap_err();
    assert!(matches!(err, bourse_storage::StorageError::TooLarge { .. }), "{err}");
    let problem = bourse_runtime::storage_problem(err);
    assert_eq!(problem.status(), 422, "{problem:?}");
    // 1 MB of JSON (a big report) is stored compressed and replayed exactly.
    let report = serde_json::to_string(&vec![json!({"row": 1, "status": "imported", "symbol": "MSFT"}); 20_000]).unwrap();
    assert!(report.len() > 800_000);
    idem("report", "h").await.unwrap();
    bourse_storage::idempotency::complete(&platform.aws, table, &user, "report", 201, &report).await.unwrap();
    match idem("report", "h").await.unwrap() {
        bourse_storage::idempotency::NextAction::Replay { status, body } => assert_eq!((status, body == report), (201, true)),
        other => panic!("expected a replay, got {other:?}"),
    }
}

#[tokio::test]
async fn transactions_drive_holdings_with_exact_decimal_maths() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let path = format!("/v1/portfolios/{id}/transactions");
    for body in [
        buy("MSFT", "10", "100", "1"),
        buy("MSFT", "10", "120", "1"),
        json!({"type": "SELL", "symbol": "MSFT", "trade_date": "2026-02-01", "quantity": "5", "price": "130", "fees": "1"}),
        json!({"type": "SPLIT", "symbol": "MSFT", "trade_date": "2026-03-01", "ratio": "2:1"}),
        json!({"type": "DIVIDEND", "symbol": "MSFT", "trade_date": "2026-03-15", "amount": "12.34"}),
    ] {
        let response = c.call("POST", &path, Some(body)).await;
        assert_eq!(response.status(), 201, "{}", json_body(&response));
    }
    let holding = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/holdings"), None).await)["items"][0].clone();
    assert_eq!(holding["quantity"], "30");
    assert_eq!(holding["cost_basis"], "1651.5");
    assert_eq!(holding["realised_pnl"], "98.5");
    assert_eq!(holding["average_cost"], "55.05");
    assert_eq!(holding["dividends"], "12.34");
    assert!(holding["price"].is_string(), "quote joined from the market table: {holding}");

    let oversell = c
        .call("POST", &path, Some(json!({"type": "SELL", "symbol": "MSFT", "trade_date": "2026-04-01", "quantity": "31", "price": "1"})))
        .await;
    assert_eq!(oversell.status(), 422);
    for bad in [
        json!({"type": "BUY", "symbol": "MSFT", "trade_date": "2026-04-01", "quantity": "1", "price": "1", "currency": "XAU"}),
        json!({"type": "BUY", "symbol": "MSFT", "trade_date": "2026-04-01", "quantity": "1e3", "price": "1"}),
        json!({"type": "BUY", "symbol": "MSFT", "trade_date": "2999-01-01", "quantity": "1", "price": "1"}),
        json!({"type": "BUY", "symbol": "M S", "trade_date": "2026-04-01", "quantity": "1", "price": "1"}),
        json!({"type": "SPLIT", "symbol": "MSFT", "trade_date": "2026-04-01", "ratio": "0:1"}),
        json!({"type": "GIFT", "symbol": "MSFT", "trade_date": "2026-04-01"}),
        json!({"type": "BUY", "symbol": "MSFT", "trade_date": "2026-04-01", "quantity": 1, "price": "1"}),
    ] {
        let response = c.call("POST", &path, Some(bad.clone())).await;
        assert_eq!(response.status(), 400, "{bad}: {}", json_body(&response));
    }

    // Deleting the sell re-derives the holding from the remaining transactions.
    let list = json_body(&c.call("GET", &path, None).await);
    let sell = list["items"].as_array().unwrap().iter().find(|t| t["type"] == "SELL").unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(c.call("DELETE", &format!("{path}/{sell}"), None).await.status(), 204);
    let holding = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/holdings"), None).await)["items"][0].clone();
    assert_eq!(holding["quantity"], "40");
    assert_eq!(holding["realised_pnl"], "0");
}

/// Amounts that would take the books past the documented bounds answer 422 naming the field,
/// never a panic; the holding keeps its last good state and the daily snapshot still writes.
#[tokio::test]
async fn trades_beyond_the_documented_bounds_answer_422_and_the_books_stay_whole() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let path = format!("/v1/portfolios/{id}/transactions");
    let refused = |response: &lambda_http::Response<lambda_http::Body>, field: &str| {
        let body = json_body(response);
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    };
    refused(&c.call("POST", &path, Some(buy("MSFT", "1000000000000", "100000", "0"))).await, "body.price");
    assert_eq!(c.call("POST", &path, Some(buy("MSFT", "1000000000000", "1000", "0"))).await.status(), 201, "exactly at the bounds");
    let sell =
        json!({"type": "SELL", "symbol": "MSFT", "trade_date": "2026-02-01", "quantity": "999999999999", "price": "1000", "fees": "0"});
    assert_eq!(c.call("POST", &path, Some(sell)).await.status(), 201, "a partial sale of a maximal position");
    for _ in 0..4 {
        let split = json!({"type": "SPLIT", "symbol": "MSFT", "trade_date": "2026-03-01", "ratio": "1000:1"});
        assert_eq!(c.call("POST", &path, Some(split)).await.status(), 201);
    }
    let split = json!({"type": "SPLIT", "symbol": "MSFT", "trade_date": "2026-03-01", "ratio": "1000:1"});
    refused(&c.call("POST", &path, Some(split)).await, "body.quantity");
    let holding = c.holding(&id, "MSFT").await;
    assert_eq!(holding["quantity"], "1000000000000", "1 share after four 1000:1 splits: {holding}");
    assert_eq!(holding["cost_basis"], "1000");
    let user = bourse_domain::UserId::parse(
        json_body(&auth.serve(event("GET", "/v1/me", "", None, Some(&c.token), &random_ip())).await)["user_id"].as_str().unwrap(),
    )
    .unwrap();
    let p = platform("portfolio");
    let (app, market) = (p.config.require_app_table().unwrap(), p.config.require_market_table().unwrap());
    let portfolio = bourse_domain::PortfolioId::parse(&id).unwrap();
    let snapshot = enrich_consumer_fn::write_daily_snapshot(&p.aws, app, market, &user, &portfolio, "2026-03-02").await.unwrap();
    assert_eq!(snapshot.cost, rust_decimal::Decimal::from(1000));
}

/// Transactions page newest first within `from`..`to`, behind opaque cursors: a cursor is checked
/// (minted shape, inside the range asked for) and anything else is 400, never a store error.
#[tokio::test]
async fn transactions_page_by_date_range_with_checked_opaque_cursors() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let path = format!("/v1/portfolios/{id}/transactions");
    for day in 1..=9 {
        let buy =
            json!({"type": "BUY", "symbol": "MSFT", "trade_date": format!("2026-03-0{day}"), "quantity": "1", "price": "10", "fees": "0"});
        assert_eq!(c.call("POST", &path, Some(buy)).await.status(), 201);
    }
    let page = |query: String| {
        let c = &c;
        let path = path.clone();
        async move {
            let response = c.call_with("GET", &path, &query, None, &[]).await;
            (response.status().as_u16(), json_body(&response))
        }
    };
    let mut dates = Vec::new();
    let mut query = "from=2026-03-02&to=2026-03-08&limit=3".to_owned();
    loop {
        let (status, body) = page(query.clone()).await;
        assert_eq!(status, 200, "{body}");
        dates.extend(body["items"].as_array().unwrap().iter().map(|t| t["trade_date"].as_str().unwrap().to_owned()));
        let Some(next) = body["next_cursor"].as_str() else { break };
        assert!(!next.contains("TX#") && !next.contains(&id), "opaque: {next}");
        query = format!("from=2026-03-02&to=2026-03-08&limit=3&cursor={next}");
    }
    let expected: Vec<String> = (2..=8).rev().map(|d| format!("2026-03-0{d}")).collect();
    assert_eq!(dates, expected, "the range, newest first, each once");

    let (status, reversed) = page("from=2026-03-08&to=2026-03-02".into()).await;
    assert_eq!((status, reversed["errors"][0]["field"].as_str()), (400, Some("query.from")), "{reversed}");
    for (query, field) in [("to=-0001-01-01", "query.to"), ("from=1899-12-31", "query.from"), ("to=%2B2026-01-01", "query.to")] {
        let (status, body) = page(query.into()).await;
        assert_eq!((status, body["errors"][0]["field"].as_str()), (400, Some(field)), "{query}: {body}");
    }
    let (_, first) = page("from=2026-03-02&to=2026-03-08&limit=3".into()).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    for bad in [
        format!("from=2026-03-07&to=2026-03-08&cursor={cursor}"), // a cursor (2026-03-06) outside this range
        "cursor=TX%232026-03-05%232026-03-05-0000000000000000".to_owned(), // a raw sort key
        format!("cursor={}", hex("2026-03-05-ZZZZ")),
        format!("cursor={}", hex(&"9".repeat(2000))),
        "cursor=zz".to_owned(),
    ] {
        let (status, body) = page(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["errors"][0]["field"], "query.cursor", "{body}");
    }
}

/// The summary against values computed by hand from quotes the test controls: value, cost,
/// unrealised P&L (priced positions only), day change, allocation by position and sector, top
/// movers by absolute change, and the unpriced position named.
#[tokio::test]
async fn the_summary_matches_a_hand_computation() {
    use bourse_domain::stock::{Metric, Stock};
    let auth = auth().await;
    let c = client(&auth).await;
    let p = platform("portfolio");
    let market = p.config.require_market_table().unwrap();
    let quote = |symbol: &str, price: Option<&str>, change: &str, pct: &str, sector: &str| {
        let mut stock = Stock::new(bourse_domain::Symbol::parse(symbol).unwrap(), symbol.into());
        stock.sector = Some(sector.into());
        stock.set(Metric::Price, price.map(|v| rust_decimal::Decimal::from_str_exact(v).unwrap()));
        stock.set(Metric::Change, Some(rust_decimal::Decimal::from_str_exact(change).unwrap()));
        stock.set(Metric::ChangePct, Some(rust_decimal::Decimal::from_str_exact(pct).unwrap()));
        stock
    };
    let stocks = [
        quote("ZQA", Some("50"), "1", "0.02", "Energy"),
        quote("ZQB", Some("20"), "-0.5", "-0.025", "Utilities"),
        quote("ZQC", None, "0", "0", "Energy"),
    ];
    bourse_storage::market::put_stocks(&p.aws, market, &stocks).await.unwrap();
    let id = new_portfolio(&c).await;
    let path = format!("/v1/portfolios/{id}/transactions");
    for (symbol, quantity, price, fees) in [("ZQA", "10", "40", "1"), ("ZQB", "5", "30", "0"), ("ZQC", "2", "10", "0")] {
        assert_eq!(c.call("POST", &path, Some(buy(symbol, quantity, price, fees))).await.status(), 201);
    }
    let summary = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/summary"), None).await);
    // value = 10 × 50 + 5 × 20 = 600; cost = 401 + 150 + 20 = 571; unrealised = 600 − (401 + 150) = 49;
    // day change = 10 × 1 + 5 × (−0.5) = 7.5.
    let field = |name: &str| summary[name].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        (field("value"), field("cost"), field("unrealised_pnl"), field("day_change")),
        ("600".into(), "571".into(), "49".into(), "7.5".into()),
        "{summary}"
    );
    assert_eq!(
        summary["allocation_by_position"],
        json!([{"name": "ZQA", "value": "500", "weight": "0.833333"}, {"name": "ZQB", "value": "100", "weight": "0.166667"}])
    );
    assert_eq!(
        summary["allocation_by_sector"],
        json!([{"name": "Energy", "value": "500", "weight": "0.833333"}, {"name": "Utilities", "value": "100", "weight": "0.166667"}])
    );
    // |−2.5 %| > |2 %| > |0 %|
    assert_eq!(
        summary["top_movers"],
        json!([{"symbol": "ZQB", "change_pct": "-0.025"}, {"symbol": "ZQA", "change_pct": "0.02"}, {"symbol": "ZQC", "change_pct": "0"}])
    );
    assert_eq!(summary["unpriced_symbols"], json!(["ZQC"]));
}

/// The owner's own rename and delete: renamed everywhere it is shown; deleted with everything in
/// it (transactions, holdings), after which its id names nothing.
#[tokio::test]
async fn the_owner_renames_and_deletes_a_portfolio() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    assert_eq!(c.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(buy("MSFT", "1", "10", "0"))).await.status(), 201);
    json_body(&c.call("GET", &format!("/v1/portfolios/{id}/summary"), None).await); // cached
    let renamed = c.call("PATCH", &format!("/v1/portfolios/{id}"), Some(json!({"name": "Retirement"}))).await;
    assert_eq!(renamed.status(), 200, "{}", json_body(&renamed));
    assert_eq!(json_body(&c.call("GET", &format!("/v1/portfolios/{id}"), None).await)["name"], "Retirement");
    assert_eq!(
        json_body(&c.call("GET", &format!("/v1/portfolios/{id}/summary"), None).await)["portfolio"]["name"],
        "Retirement",
        "the cached summary follows"
    );
    let listed = json_body(&c.call("GET", "/v1/portfolios", None).await);
    assert!(listed["items"].as_array().unwrap().iter().any(|p| p["id"] == id.as_str() && p["name"] == "Retirement"), "{listed}");
    assert_eq!(c.call("PATCH", &format!("/v1/portfolios/{id}"), Some(json!({"name": ""}))).await.status(), 400);
    assert_eq!(c.call("DELETE", &format!("/v1/portfolios/{id}"), None).await.status(), 204);
    for path in [format!("/v1/portfolios/{id}"), format!("/v1/portfolios/{id}/holdings"), format!("/v1/portfolios/{id}/transactions")] {
        assert_eq!(c.call("GET", &path, None).await.status(), 404, "{path}");
    }
    assert_eq!(c.call("DELETE", &format!("/v1/portfolios/{id}"), None).await.status(), 404);
    let p = platform("portfolio");
    let user = bourse_domain::UserId::parse(
        json_body(&auth.serve(event("GET", "/v1/me", "", None, Some(&c.token), &random_ip())).await)["user_id"].as_str().unwrap(),
    )
    .unwrap();
    let portfolio = bourse_domain::PortfolioId::parse(&id).unwrap();
    let left = bourse_storage::portfolios::list_holdings(&p.aws, p.config.require_app_table().unwrap(), &user, &portfolio).await.unwrap();
    assert!(left.is_empty(), "nothing of it is left in the table");
}

/// On a real function: a body over the default limit is 413 before anything else, and CORS
/// follows CORS_ALLOWED_ORIGINS (an allowed origin gets its preflight; another gets none).
#[tokio::test]
async fn the_default_body_limit_and_cors_hold_on_a_real_function() {
    let auth = auth().await;
    let c0 = client(&auth).await;
    let mut config = (*platform("portfolio").config).clone();
    config.cors_allowed_origins = vec!["https://app.example.com".into()];
    let app = portfolio_fn::app(bourse_runtime::Platform::new(config.clone()).unwrap()).unwrap();
    let c = portfolio_support::Client { app, token: c0.token.clone() };
    let huge = json!({"name": "x".repeat(config.max_body_bytes + 1), "currency": "USD"});
    let response = c.call("POST", "/v1/portfolios", Some(huge)).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 413, "{body}");
    assert_eq!(body["type"], "urn:bourse:problem:payload-too-large");
    let preflight = |origin: &str| {
        let request = event("OPTIONS", "/v1/portfolios", "", None, None, &random_ip());
        auth_support::with_headers(
            request,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization,content-type"),
            ],
        )
    };
    let allowed = c.app.serve(preflight("https://app.example.com")).await;
    assert_eq!(allowed.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()), Some("https://app.example.com"));
    let other = c.app.serve(preflight("https://evil.example.net")).await;
    assert!(other.headers().get("access-control-allow-origin").is_none(), "another origin gets no CORS grant");
    let get = auth_support::with_headers(
        event("GET", "/v1/portfolios", "", None, Some(&c.token), &random_ip()),
        &[("origin", "https://app.example.com")],
    );
    let response = c.app.serve(get).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()), Some("https://app.example.com"));
}

#[tokio::test]
async fn fifty_concurrent_buys_of_one_share_make_exactly_fifty() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let path = format!("/v1/portfolios/{id}/transactions");
    let calls = (0..50).map(|_| Box::pin(c.call("POST", &path, Some(buy("NVDA", "1", "10", "0")))));
    let responses = futures_util::future::join_all(calls).await;
    for response in &responses {
        assert_eq!(response.status(), 201, "{}", json_body(response));
    }
    let holding = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/holdings"), None).await)["items"][0].clone();
    assert_eq!(holding["quantity"], "50");
    assert_eq!(holding["cost_basis"], "500");
}

#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_has_no_second_effect() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let path = format!("/v1/portfolios/{id}/transactions");
    let key = [("idempotency-key", "order-7f3a")];
    let first = c.call_with("POST", &path, "", Some(buy("AMZN", "2", "50", "0")), &key).await;
    let second = c.call_with("POST", &path, "", Some(buy("AMZN", "2", "50", "0")), &key).await;
    assert_eq!(first.status(), 201);
    assert_eq!(second.status(), 201);
    assert_eq!(json_body(&first), json_body(&second));
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let other = c.call_with("POST", &path, "", Some(buy("AMZN", "3", "50", "0")), &key).await;
    assert_eq!(other.status(), 422);
    let holding = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/holdings"), None).await)["items"][0].clone();
    assert_eq!(holding["quantity"], "2");
    // A key that is not visible ASCII is refused, never silently ignored (which would let the
    // retry create a second portfolio).
    let mut request =
        event("POST", "/v1/portfolios", "", Some(&json!({"name": "Twice?", "currency": "USD"}).to_string()), Some(&c.token), &random_ip());
    request.headers_mut().insert("idempotency-key", http::HeaderValue::from_bytes("café".as_bytes()).unwrap());
    let refused = c.app.serve(request).await;
    let problem = json_body(&refused);
    assert_eq!(refused.status(), 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "header.idempotency-key");
}

#[tokio::test]
async fn holdings_of_250_positions_cost_one_query_and_three_batch_gets_and_a_cached_summary_none() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let mut reader = csv::Reader::from_path(repo_root().join("data/sp500-financials.csv")).unwrap();
    let symbols: Vec<String> = reader.records().take(250).map(|r| r.unwrap().get(0).unwrap().to_owned()).collect();
    let path = format!("/v1/portfolios/{id}/transactions");
    for chunk in symbols.chunks(25) {
        let calls = chunk.iter().map(|s| Box::pin(c.call("POST", &path, Some(buy(s, "1", "10", "0")))));
        for response in futures_util::future::join_all(calls).await {
            assert_eq!(response.status(), 201);
        }
    }
    let (response, counted) = bourse_telemetry::measured(c.call("GET", &format!("/v1/portfolios/{id}/holdings"), None)).await;
    assert_eq!(json_body(&response)["items"].as_array().unwrap().len(), 250);
    let count = |op: &str| counted.dynamodb_operations.iter().filter(|o| *o == op).count();
    assert_eq!((count("Query"), count("BatchGetItem"), count("Scan")), (1, 3, 0), "{counted:?}");
    // At most the session's revocation check (on a cache miss): never one read per symbol.
    assert!(count("GetItem") <= 1, "no read per symbol: {counted:?}");
    // Cached now: the same holdings again cost no DynamoDB read, only the usage meter's write.
    let (response, counted) = bourse_telemetry::measured(c.call("GET", &format!("/v1/portfolios/{id}/holdings"), None)).await;
    assert_eq!(json_body(&response)["items"].as_array().unwrap().len(), 250);
    assert_eq!(counted.dynamodb_operations, ["UpdateItem"], "{counted:?}");

    let summary = format!("/v1/portfolios/{id}/summary");
    assert_eq!(c.call("GET", &summary, None).await.status(), 200);
    let (response, counted) = bourse_telemetry::measured(c.call("GET", &summary, None)).await;
    assert_eq!(response.status(), 200);
    // Only the usage meter writes; the summary itself comes from the cache.
    assert_eq!(counted.dynamodb_operations, ["UpdateItem"], "{counted:?}");
    // A write invalidates both: the next summary and holdings are recomputed with the new position.
    assert_eq!(c.call("POST", &path, Some(buy("AAPL", "1", "10", "0"))).await.status(), 201);
    let (_, counted) = bourse_telemetry::measured(c.call("GET", &summary, None)).await;
    assert!(counted.dynamodb_operations.iter().any(|o| o == "Query"), "recomputed after the write: {counted:?}");
    let holdings = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/holdings"), None).await);
    let aapl = holdings["items"].as_array().unwrap().iter().find(|h| h["symbol"] == "AAPL").unwrap().clone();
    assert_eq!(aapl["quantity"], "2", "one from the 250, one just bought");
}

#[tokio::test]
async fn analysis_explains_concentration() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let path = format!("/v1/portfolios/{id}/transactions");
    assert_eq!(c.call("POST", &path, Some(buy("XOM", "100", "100", "5"))).await.status(), 201);
    assert_eq!(c.call("POST", &path, Some(buy("AAPL", "1", "100", "0"))).await.status(), 201);
    let analysis = json_body(&c.call("GET", &format!("/v1/portfolios/{id}/analysis"), None).await);
    assert_eq!(analysis["largest_position"]["name"], "XOM", "{analysis}");
    let findings: Vec<&str> = analysis["findings"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(findings.iter().any(|f| f.starts_with("XOM is")), "{findings:?}");
    assert!(findings.iter().any(|f| f.starts_with("Energy is")), "{findings:?}");
}

/// The history is rebuilt from the ledger × the daily closes for every day at once, and agrees
/// with the snapshot the scheduled writer stores for today (the holdings at the latest quote).
#[tokio::test]
async fn history_is_rebuilt_from_the_ledger_and_agrees_with_the_snapshot_writer() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    assert_eq!(c.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(buy("MSFT", "2", "100", "0"))).await.status(), 201);
    let user = {
        let me = json_body(&auth.serve(event("GET", "/v1/me", "", None, Some(&c.token), &random_ip())).await);
        bourse_domain::UserId::parse(me["user_id"].as_str().expect("user id")).unwrap()
    };
    let id = bourse_domain::PortfolioId::parse(&id).unwrap();
    // The portfolio is in its shard of the active-portfolio index (the fan-out's input).
    let p = platform("portfolio");
    let (aws, app, market) = (&p.aws, p.config.require_app_table().unwrap(), p.config.require_market_table().unwrap());
    let shard: u32 = bourse_storage::portfolios::active_shard_key(&user, &id).trim_start_matches("ACTIVE#").parse().unwrap();
    assert!(bourse_storage::portfolios::active_portfolios(aws, app, shard).await.unwrap().contains(&(user.clone(), id.clone())));

    // Every day of March, each 2 × MSFT's close of the day or the last before it.
    let history = json_body(&c.call_with("GET", &format!("/v1/portfolios/{id}/history"), "from=2026-03-01&to=2026-03-31", None, &[]).await);
    let points = history["points"].as_array().unwrap();
    assert_eq!(points.len(), 31, "{history}");
    let (from, to) = (bourse_domain::text::parse_date("2026-02-20").unwrap(), bourse_domain::text::parse_date("2026-03-31").unwrap());
    let (closes, _) = bourse_storage::market::query_history(aws, market, "MSFT", from, to).await.unwrap();
    for point in points {
        let day = bourse_domain::text::parse_date(point["date"].as_str().unwrap()).unwrap();
        let close = closes.iter().rev().find(|c| c.date <= day).expect("a close before the day").close;
        let value: rust_decimal::Decimal = point["value"].as_str().unwrap().parse().unwrap();
        assert_eq!((value, point["cost"].as_str()), (close * rust_decimal::Decimal::from(2), Some("200")), "{point}");
    }
    // Nothing before the first transaction.
    let early = json_body(&c.call_with("GET", &format!("/v1/portfolios/{id}/history"), "from=2026-01-01&to=2026-01-31", None, &[]).await);
    assert_eq!(early["points"][0]["date"], "2026-01-15", "{early}");
    assert_eq!(early["points"].as_array().unwrap().len(), 17);

    // Today's snapshot, as the writer stores it, is today's rebuilt point.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let snapshot = enrich_consumer_fn::write_daily_snapshot(aws, app, market, &user, &id, &today).await.unwrap();
    let history = json_body(&c.call_with("GET", &format!("/v1/portfolios/{id}/history"), &format!("from={today}"), None, &[]).await);
    let point = &history["points"][0];
    assert_eq!(point["value"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap(), snapshot.value, "{history}");
    assert_eq!(point["cost"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap(), snapshot.cost);
    let bad = c.call_with("GET", &format!("/v1/portfolios/{id}/history"), "from=2026-04-01&to=2026-03-01", None, &[]).await;
    assert_eq!(bad.status(), 400);
    let bad = c.call_with("GET", &format!("/v1/portfolios/{id}/history"), "benchmark=nasdaq", None, &[]).await;
    assert_eq!((bad.status().as_u16(), json_body(&bad)["errors"][0]["field"].as_str()), (400, Some("query.benchmark")));
}

/// The fan-out against the real index and queue, on a stack of this test alone (its own tables
/// and queue, so no other test's messages mix in and nothing is searched for): a shard of more
/// portfolios than a page is covered page by page through continuation messages, each portfolio
/// once, and consuming a portfolio's message writes its snapshot.
#[tokio::test]
async fn the_snapshot_fan_out_covers_a_shard_page_by_page_through_the_queue() {
    bourse_integration_tests::ensure_resources().await;
    let stack = bourse_devtools::stack::isolated_stack(&platform("enrich-consumer"), &repo_root(), "fan", 8, Some(30)).await.unwrap();
    let p = &stack.platform;
    let (app, queue) = (p.config.require_app_table().unwrap(), stack.queue_urls["EnrichQueue"].clone());
    // 40 portfolios of 20 users: about 2.5 per shard; shard of the first, with a page of 1, so the
    // shard needs several continuations.
    let user = |n: usize| bourse_domain::UserId::parse(&format!("{:032x}", 0xabc0 + n)).unwrap();
    let record_id = |n: usize| bourse_domain::PortfolioId::parse(&format!("{n:032x}")).unwrap();
    for i in 0..40 {
        let record = bourse_storage::portfolios::PortfolioRecord {
            id: record_id(i),
            name: "P".into(),
            currency: bourse_domain::money::Currency::parse("USD").unwrap(),
            track_cash: false,
            lot_method: bourse_domain::lots::LotMethod::Fifo,
            created_at: "2026-12-01T00:00:00Z".into(),
        };
        bourse_storage::portfolios::create_portfolio(&p.aws, app, &user(i % 20), &record).await.unwrap();
    }
    let shard: u32 = bourse_storage::portfolios::active_shard_key(&user(0), &record_id(0)).trim_start_matches("ACTIVE#").parse().unwrap();
    let expected = bourse_storage::portfolios::active_portfolios(&p.aws, app, shard).await.unwrap();
    assert!(expected.len() >= 2, "a shard with several portfolios: {expected:?}");
    let date = "2026-05-04";
    let source = enrich_consumer_fn::fanout::IndexSource { platform: p, table: app };
    let outbox = enrich_consumer_fn::fanout::QueueOutbox { platform: p, queue_url: &queue };
    let mut after: Option<String> = None;
    let (mut fanned, mut steps) = (Vec::new(), 0);
    loop {
        let step = enrich_consumer_fn::fanout::fan_out_page(&source, &outbox, shard, date, after.as_deref(), 1).await.unwrap();
        steps += 1;
        // What the step sent is on this queue alone: receive it all.
        let mut got = Vec::new();
        while got.len() < step.fanned_out + usize::from(step.continued_after.is_some()) {
            let received =
                p.aws.sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
            for m in received.messages.unwrap_or_default() {
                p.aws.sqs.delete_message().queue_url(&queue).receipt_handle(m.receipt_handle.unwrap()).send().await.unwrap();
                got.push(bourse_domain::messages::QueueMessage::parse(m.body.as_deref().unwrap()).unwrap());
            }
        }
        let mut next = None;
        for message in got {
            match message {
                bourse_domain::messages::QueueMessage::SnapshotPortfolio { user, portfolio, .. } => fanned.push((user, portfolio)),
                bourse_domain::messages::QueueMessage::SnapshotShard { after, .. } => next = after,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(next, step.continued_after, "the continuation names the page's last position");
        match next {
            Some(position) => after = Some(position),
            None => break,
        }
    }
    fanned.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(fanned, want, "each portfolio of the shard once");
    assert_eq!(steps, expected.len() + 1, "pages of one, then an empty last page");
    // Consuming a portfolio's message writes its snapshot.
    let consumer = enrich_consumer_fn::Consumer::new(p.clone()).await.unwrap();
    let (user, portfolio) = &expected[0];
    let mut message = aws_lambda_events::sqs::SqsMessage::default();
    message.message_id = Some("m-1".into());
    message.body = Some(serde_json::json!({"kind": "snapshot-portfolio", "user": user, "portfolio": portfolio, "date": date}).to_string());
    let mut batch = aws_lambda_events::sqs::SqsEvent::default();
    batch.records = vec![message];
    assert!(consumer.consume(batch).await.batch_item_failures.is_empty());
    let written = bourse_storage::portfolios::snapshots_between(&p.aws, app, user, portfolio, date, date).await.unwrap();
    assert_eq!(written.len(), 1);
}

/// Tax lots from the ledger, worked by hand: a loss sale with a repurchase 9 days later (a US wash
/// sale), a 2:1 split, and a second sale drawn on different lots by FIFO and LIFO.
#[tokio::test]
async fn lots_and_realised_gains_follow_the_method_splits_and_wash_sales() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let trade = |kind: &str, date: &str, quantity: &str, price: &str| json!({"type": kind, "symbol": "AAPL", "trade_date": date, "quantity": quantity, "price": price, "fees": "0"});
    for body in [
        trade("BUY", "2024-01-10", "10", "100"),
        trade("SELL", "2025-03-01", "4", "90"),
        trade("BUY", "2025-03-10", "2", "85"),
        json!({"type": "SPLIT", "symbol": "AAPL", "trade_date": "2025-06-02", "ratio": "2:1"}),
        trade("SELL", "2025-07-01", "3", "60"),
    ] {
        let response = c.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(body.clone())).await;
        assert_eq!(response.status(), 201, "{body}: {}", json_body(&response));
    }
    let report = |query: &'static str| {
        let c = &c;
        let id = id.clone();
        async move {
            let response = c.call_with("GET", &format!("/v1/portfolios/{id}/lots"), query, None, &[]).await;
            assert_eq!(response.status(), 200, "{query}: {}", json_body(&response));
            json_body(&response)
        }
    };
    let fifo = report("method=FIFO").await;
    let holding = &fifo["holdings"][0];
    let sales = holding["disposals"].as_array().unwrap();
    // 4 sold at 90 from the 100 lot: −40, long term; 2 of the 4 replaced within 30 days: 20 of it
    // disallowed now and added to the new lot's cost.
    assert_eq!((sales[0]["gain"].as_str(), sales[0]["term"].as_str()), (Some("-40"), Some("long")));
    assert_eq!((sales[0]["disallowed_loss"].as_str(), sales[0]["reportable_gain"].as_str()), (Some("20"), Some("-20")));
    // After the split: 3 of the first lot's 12 at 60: proceeds 180, cost 600 × 3/12 = 150.
    assert_eq!(
        (sales[1]["gain"].as_str(), sales[1]["cost_basis"].as_str(), sales[1]["term"].as_str()),
        (Some("30"), Some("150"), Some("long"))
    );
    let open: Vec<(&str, &str)> = holding["open_lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["quantity"].as_str().unwrap(), l["cost_basis"].as_str().unwrap()))
        .collect();
    assert_eq!(open, [("9", "450"), ("4", "190")], "the replacement lot carries the disallowed 20");
    let year = &fifo["gains_by_year"][0];
    assert_eq!(
        (year["year"].as_i64(), year["long_term"]["gain"].as_str(), year["long_term"]["reportable_gain"].as_str()),
        (Some(2025), Some("-10"), Some("10"))
    );

    // LIFO draws the second sale on the newest lot: 3 of its 4 (cost 190): 142.5, short term.
    let lifo = report("method=lifo").await;
    let second = &lifo["holdings"][0]["disposals"][1];
    assert_eq!(
        (second["cost_basis"].as_str(), second["gain"].as_str(), second["term"].as_str()),
        (Some("142.5"), Some("37.5"), Some("short"))
    );

    // Without the wash-sale rule the whole loss counts now.
    let off = report("wash_sales=off").await;
    assert!(off["holdings"][0]["disposals"][0]["disallowed_loss"].is_null());
    for (query, field) in [("method=HIFO", "query.method"), ("wash_sales=eu", "query.wash_sales")] {
        let response = c.call_with("GET", &format!("/v1/portfolios/{id}/lots"), query, None, &[]).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(json_body(&response)["errors"][0]["field"], field);
    }
}

/// Returns from the history rebuilt from the ledger: a back-dated purchase of 10 AAPL at 100 has
/// its whole history at once, and with no other flow TWR = simple return = the last close × 10 /
/// 1,000 − 1, computed here from the closes read directly.
#[tokio::test]
async fn returns_are_computed_from_the_rebuilt_history_at_once() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = new_portfolio(&c).await;
    let buy = json!({"type": "BUY", "symbol": "AAPL", "trade_date": "2026-06-01", "quantity": "10", "price": "100", "fees": "0"});
    assert_eq!(c.call("POST", &format!("/v1/portfolios/{id}/transactions"), Some(buy)).await.status(), 201);
    let response = c.call_with("GET", &format!("/v1/portfolios/{id}/returns"), "from=2026-06-01&to=2026-09-30", None, &[]).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");

    let p = platform("portfolio");
    let market = std::env::var("MARKET_TABLE").unwrap();
    let (from, to) = (bourse_domain::text::parse_date("2026-05-25").unwrap(), bourse_domain::text::parse_date("2026-09-30").unwrap());
    let (closes, _) = bourse_storage::market::query_history(&p.aws, &market, "AAPL", from, to).await.unwrap();
    let last = closes.last().expect("the seeded history covers the range").close;
    let expected = (last * rust_decimal::Decimal::from(10) / rust_decimal::Decimal::from(1000) - rust_decimal::Decimal::ONE).round_dp(8);
    let rate = |name: &str| body[name]["cumulative"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!((body["start_value"].as_str(), body["contributions"].as_str()), (Some("0"), Some("1000")));
    assert_eq!(body["end_value"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap(), last * rust_decimal::Decimal::from(10));
    assert_eq!(rate("simple"), expected, "{body}");
    assert_eq!(rate("time_weighted"), expected, "{body}");
    assert!(body["time_weighted"]["annualised"].is_null(), "four months are not annualised");

    for (query, status, field) in [
        ("period=10Y", 400, "query.period"),
        ("period=YTD&from=2026-01-01", 400, "query.period"),
        ("from=2026-09-30&to=2026-06-01", 400, "query.from"),
        ("to=2026-05-01", 422, "query.to"),
    ] {
        let response = c.call_with("GET", &format!("/v1/portfolios/{id}/returns"), query, None, &[]).await;
        assert_eq!(response.status(), status, "{query}: {}", json_body(&response));
        assert_eq!(json_body(&response)["errors"][0]["field"], field, "{query}");
    }
    let empty = new_portfolio(&c).await;
    assert_eq!(c.call("GET", &format!("/v1/portfolios/{empty}/returns"), None).await.status(), 422);
}

/// Per holding, against the benchmark and across portfolios. A portfolio holding only SPY (the
/// benchmark's symbol) has no excess return; a transaction written changes the cached answer at
/// once (a new generation); the all-portfolio route combines the USD portfolios and lists others.
#[tokio::test]
async fn returns_per_holding_against_the_benchmark_and_across_portfolios() {
    let auth = auth().await;
    let c = client(&auth).await;
    let index = new_portfolio(&c).await;
    let trade = |kind: &str, symbol: &str, date: &str, quantity: &str, price: &str| json!({"type": kind, "symbol": symbol, "trade_date": date, "quantity": quantity, "price": price, "fees": "0"});
    // Bought at the previous close and sold at the day's, as the same money in the index is.
    let p = platform("portfolio");
    let market = p.config.require_market_table().unwrap().to_owned();
    let date = |s: &str| bourse_domain::text::parse_date(s).unwrap();
    let (levels, _) = bourse_storage::market::query_history(&p.aws, &market, "SPY", date("2026-05-01"), date("2026-09-30")).await.unwrap();
    assert!(!levels.is_empty(), "the seed writes the benchmark's history");
    let close = |day: &str, before: bool| {
        let day = date(day);
        levels.iter().rev().find(|l| if before { l.date < day } else { l.date <= day }).unwrap().close.to_string()
    };
    for body in [
        trade("BUY", "SPY", "2026-06-01", "10", &close("2026-06-01", true)),
        trade("BUY", "SPY", "2026-07-01", "5", &close("2026-07-01", true)),
        trade("SELL", "SPY", "2026-08-03", "3", &close("2026-08-03", false)),
    ] {
        assert_eq!(c.call("POST", &format!("/v1/portfolios/{index}/transactions"), Some(body)).await.status(), 201);
    }
    let query = "from=2026-06-15&to=2026-09-30&benchmark=sp500";
    let response = c.call_with("GET", &format!("/v1/portfolios/{index}/returns"), query, None, &[]).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");
    let number = |v: &Value| v.as_str().unwrap_or_else(|| panic!("{v} in {body}")).parse::<rust_decimal::Decimal>().unwrap();
    let last_place = rust_decimal::Decimal::new(1, 8);
    let bench = &body["benchmark"];
    assert_eq!((bench["name"].as_str(), bench["symbol"].as_str()), (Some("sp500"), Some("SPY")), "{body}");
    assert!((number(&bench["index_return"]["cumulative"]) - number(&body["time_weighted"]["cumulative"])).abs() <= last_place, "{body}");
    assert!(number(&bench["excess_time_weighted"]["cumulative"]).abs() <= last_place, "{body}");
    assert!((number(&bench["same_money_end_value"]) - number(&body["end_value"])).abs() <= last_place, "{body}");
    assert_eq!(body["holdings"].as_array().unwrap().len(), 1);
    assert_eq!(body["holdings"][0]["symbol"], "SPY");
    assert_eq!(body["holdings"][0]["time_weighted"], body["time_weighted"]);

    // A second holding: the answer (cached a moment ago) changes at once.
    assert_eq!(
        c.call("POST", &format!("/v1/portfolios/{index}/transactions"), Some(trade("BUY", "AAPL", "2026-07-01", "2", "100")))
            .await
            .status(),
        201
    );
    let after = json_body(&c.call_with("GET", &format!("/v1/portfolios/{index}/returns"), query, None, &[]).await);
    let symbols: Vec<&str> = after["holdings"].as_array().unwrap().iter().map(|h| h["symbol"].as_str().unwrap()).collect();
    assert_eq!(symbols, ["AAPL", "SPY"], "{after}");
    assert_ne!(after["contributions"], body["contributions"]);
    assert_ne!(after["benchmark"]["excess_time_weighted"], bench["excess_time_weighted"], "AAPL is not the index: {after}");

    // Across portfolios, all in USD: a second USD portfolio and an empty EUR one (a row without
    // returns).
    let other = new_portfolio(&c).await;
    assert_eq!(
        c.call("POST", &format!("/v1/portfolios/{other}/transactions"), Some(trade("BUY", "MSFT", "2026-06-20", "1", "100")))
            .await
            .status(),
        201
    );
    let euro = json_body(&c.call("POST", "/v1/portfolios", Some(json!({"name": "euro", "currency": "EUR"}))).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = c.call_with("GET", "/v1/portfolios/returns", "from=2026-06-15&to=2026-09-30", None, &[]).await;
    let all = json_body(&all);
    let rows = all["portfolios"].as_array().unwrap();
    assert_eq!((rows.len(), all["currency"].as_str()), (3, Some("USD")), "{all}");
    let euro_row = rows.iter().find(|r| r["portfolio_id"] == json!(euro)).unwrap();
    assert!(euro_row["returns"].is_null(), "{all}");
    // Contributions in the range: 5 SPY at the close before 1 July + 2 AAPL at 100 in the first,
    // 1 MSFT at 100 in the other.
    let expected = number(&json!(close("2026-07-01", true))) * rust_decimal::Decimal::from(5) + rust_decimal::Decimal::from(300);
    assert_eq!(number(&all["contributions"]), expected, "{all}");
    let per: rust_decimal::Decimal = rows.iter().filter(|r| !r["returns"].is_null()).map(|r| number(&r["returns"]["contributions"])).sum();
    assert_eq!(per, expected);
    let symbols: Vec<&str> = all["holdings"].as_array().unwrap().iter().map(|h| h["symbol"].as_str().unwrap()).collect();
    assert_eq!(symbols, ["AAPL", "MSFT", "SPY"]);
    let bad = c.call_with("GET", "/v1/portfolios/returns", "currency=dollars", None, &[]).await;
    assert_eq!((bad.status().as_u16(), json_body(&bad)["errors"][0]["field"].as_str()), (400, Some("query.currency")));
}
