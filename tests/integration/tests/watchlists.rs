//! Watchlists against DynamoDB Local with the seeded universe: create, read with quotes in a
//! known request budget, change, reorder, add and remove symbols, plan limits, bad input, another
//! user's ids, and concurrent additions that all land.

mod auth_support;
mod portfolio_support;

use bourse_integration_tests::json_body;
use portfolio_support::{auth, client};
use serde_json::{Value, json};

const LISTS: &str = "/v1/watchlists";

fn symbols(list: &Value) -> Vec<&str> {
    list["symbols"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_watchlist_lives_its_whole_life_in_order_and_with_quotes() {
    let auth = auth().await;
    let c = client(&auth).await;
    let created = c.call("POST", LISTS, Some(json!({"name": " Tech ", "symbols": ["msft", "AAPL"]}))).await;
    assert_eq!(created.status(), 201, "{}", json_body(&created));
    let list = json_body(&created);
    assert_eq!((list["name"].as_str(), symbols(&list)), (Some("Tech"), vec!["MSFT", "AAPL"]));
    let id = list["id"].as_str().unwrap().to_owned();
    let one = format!("{LISTS}/{id}");

    // Read with quotes: 1 GetItem + 1 BatchGetItem (+ the usage meter's UpdateItem).
    let (read, counted) = bourse_telemetry::measured(c.call("GET", &one, None)).await;
    assert_eq!(read.status(), 200);
    let detail = json_body(&read);
    let items = detail["items"].as_array().unwrap();
    assert_eq!(items.iter().map(|i| i["symbol"].as_str().unwrap()).collect::<Vec<_>>(), ["MSFT", "AAPL"]);
    assert!(items.iter().all(|i| i["price"].is_string()), "seeded symbols are priced: {detail}");
    let mut ops = counted.dynamodb_operations.clone();
    ops.sort();
    assert_eq!(ops, ["BatchGetItem", "GetItem", "UpdateItem"], "{:?}", counted.dynamodb_operations);

    // Add (twice: once only), remove, reorder, rename.
    for _ in 0..2 {
        let added = c.call("POST", &format!("{one}/symbols"), Some(json!({"symbol": "NVDA"}))).await;
        assert_eq!(added.status(), 200);
        assert_eq!(symbols(&json_body(&added)), ["MSFT", "AAPL", "NVDA"]);
    }
    assert_eq!(c.call("DELETE", &format!("{one}/symbols/AAPL"), None).await.status(), 204);
    assert_eq!(c.call("DELETE", &format!("{one}/symbols/AAPL"), None).await.status(), 404);
    let changed = c.call("PATCH", &one, Some(json!({"name": "AI", "symbols": ["NVDA", "MSFT"]}))).await;
    assert_eq!(changed.status(), 200);
    let changed = json_body(&changed);
    assert_eq!((changed["name"].as_str(), symbols(&changed)), (Some("AI"), vec!["NVDA", "MSFT"]));
    let listed = json_body(&c.call("GET", LISTS, None).await);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(symbols(&listed["items"][0]), ["NVDA", "MSFT"]);

    // Someone else sees none of it, under any route.
    let other = client(&auth).await;
    for (method, path, body) in [
        ("GET", one.clone(), None),
        ("PATCH", one.clone(), Some(json!({"name": "mine"}))),
        ("POST", format!("{one}/symbols"), Some(json!({"symbol": "AAPL"}))),
        ("DELETE", format!("{one}/symbols/NVDA"), None),
        ("DELETE", one.clone(), None),
    ] {
        assert_eq!(other.call(method, &path, body).await.status(), 404, "{method} {path}");
    }
    assert_eq!(c.call("DELETE", &one, None).await.status(), 204);
    assert_eq!(c.call("GET", &one, None).await.status(), 404);
}

#[tokio::test]
async fn bad_input_is_a_4xx_on_the_field_at_fault_and_plan_limits_hold() {
    let auth = auth().await;
    let c = client(&auth).await;
    for (body, status, field) in [
        (json!({"name": ""}), 400, "body.name"),
        (json!({"name": "x", "symbols": ["MSFT", "msft"]}), 400, "body.symbols[1]"),
        (json!({"name": "x", "symbols": ["MSFT", "not a symbol"]}), 400, "body.symbols[1]"),
        (json!({"name": "x", "symbols": ["MSFT", "ZZZZZZ"]}), 422, "body.symbols[1]"),
        (json!({"name": "x", "symbols": vec!["A"; 51]}), 422, "body.symbols"),
    ] {
        let response = c.call("POST", LISTS, Some(body.clone())).await;
        assert_eq!(response.status(), status, "{body}: {}", json_body(&response));
        assert_eq!(json_body(&response)["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(c.call("GET", &format!("{LISTS}/not-an-id"), None).await.status(), 404);
    let free = bourse_domain::watchlist::limits(bourse_domain::Plan::Free);
    for i in 0..free.lists {
        assert_eq!(c.call("POST", LISTS, Some(json!({"name": format!("list {i}")}))).await.status(), 201);
    }
    let over = c.call("POST", LISTS, Some(json!({"name": "one too many"}))).await;
    assert_eq!(over.status(), 422, "{}", json_body(&over));
}

#[tokio::test]
async fn concurrent_additions_all_land() {
    let auth = auth().await;
    let c = client(&auth).await;
    let id = json_body(&c.call("POST", LISTS, Some(json!({"name": "Busy"}))).await)["id"].as_str().unwrap().to_owned();
    let path = format!("{LISTS}/{id}/symbols");
    let wanted = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META"];
    let adds = wanted.iter().map(|s| c.call("POST", &path, Some(json!({"symbol": s}))));
    for response in futures_util::future::join_all(adds).await {
        assert_eq!(response.status(), 200, "{}", json_body(&response));
    }
    let list = json_body(&c.call("GET", &format!("{LISTS}/{id}"), None).await);
    let mut held = symbols(&list);
    held.sort();
    let mut expected = wanted.to_vec();
    expected.sort();
    assert_eq!(held, expected, "every concurrent addition was kept");
}
