//! The account's data export (`GET /v1/me/export`), end to end on the stand-ins: every record of
//! the caller comes back exactly once across the pages, in JSON and in CSV, and nothing of
//! anyone else does.

mod auth_support;
mod portfolio_support;

use auth_support::*;
use bourse_integration_tests::json_body;
use portfolio_support::{Client, auth, new_portfolio};
use serde_json::{Value, json};
use std::collections::HashSet;

const EXPORT: &str = "/v1/me/export";

async fn signed_in_client(auth: &AuthApp) -> (String, Client) {
    let (email, token, _) = signed_in(auth).await;
    (email, Client { app: portfolio_fn::app(bourse_integration_tests::platform("portfolio")).unwrap(), token })
}

/// A CSV of `rows` distinct purchases of one symbol.
fn purchases(rows: usize) -> Vec<u8> {
    let mut csv = String::from("date,type,symbol,quantity,price,fees,amount,ratio,currency\n");
    for i in 0..rows {
        csv.push_str(&format!("2025-{:02}-{:02},BUY,AAPL,1,{}.{:02},0,,,USD\n", 1 + i % 12, 1 + i % 28, 100 + i / 100, i % 100));
    }
    csv.into_bytes()
}

/// The assistant with no model configured (its answers are the labelled fallback).
fn assistant() -> bourse_http::HttpApp<assistant_fn::AssistantRoute, assistant_fn::Assistant> {
    let mut config = bourse_config::Config::from_env("assistant").expect("test environment");
    config.assistant.provider = bourse_config::AssistantProvider::None;
    assistant_fn::app(bourse_runtime::Platform::new(config).unwrap()).unwrap()
}

/// A new assistant thread of `token`'s user with `questions` asked in it; its id.
async fn thread_with(
    assistant: &bourse_http::HttpApp<assistant_fn::AssistantRoute, assistant_fn::Assistant>,
    token: &str,
    questions: usize,
) -> String {
    let created =
        assistant.serve(event("POST", "/v1/assistant/threads", "", Some(r#"{"title":"Export me"}"#), Some(token), &random_ip())).await;
    assert_eq!(created.status(), 201);
    let thread = json_body(&created)["id"].as_str().unwrap().to_owned();
    for i in 0..questions {
        let body = json!({"content": format!("Question {i}: how is my portfolio?")}).to_string();
        let path = format!("/v1/assistant/threads/{thread}/messages");
        let answered = assistant.serve(event("POST", &path, "", Some(&body), Some(token), &random_ip())).await;
        assert_eq!(answered.status(), 200, "{}", json_body(&answered));
    }
    thread
}

/// Every JSON page, following `next_cursor`.
async fn json_pages(c: &Client) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut query = String::new();
    loop {
        let response = c.call_with("GET", EXPORT, &query, None, &[]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let page = json_body(&response);
        let next = page["next_cursor"].as_str().map(str::to_owned);
        pages.push(page);
        match next {
            Some(cursor) => query = format!("cursor={cursor}"),
            None => return pages,
        }
        assert!(pages.len() < 50, "the export never ends");
    }
}

#[tokio::test]
async fn the_export_holds_every_record_of_the_caller_once_in_json_and_csv() {
    let auth = auth().await;
    let (email, c) = signed_in_client(&auth).await;
    let (_, other) = signed_in_client(&auth).await;
    let others = new_portfolio(&other).await;
    let trade = json!({"type": "BUY", "symbol": "MSFT", "trade_date": "2026-01-15", "quantity": "1", "price": "400", "fees": "0"});
    assert_eq!(other.call("POST", &format!("/v1/portfolios/{others}/transactions"), Some(trade.clone())).await.status(), 201);

    // Two portfolios (one named like a spreadsheet formula), 1,200 imported trades and 3 more,
    // two journal signals: more than one page.
    let big = new_portfolio(&c).await;
    let imported = json_body(&c.upload(&big, "text/csv", &purchases(1_200)).await);
    assert_eq!(imported["added"], 1_200, "{imported}");
    let created = c.call("POST", "/v1/portfolios", Some(json!({"name": "=HYPERLINK(\"x\")", "currency": "usd"}))).await;
    assert_eq!(created.status(), 201);
    let small = json_body(&created)["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(c.call("POST", &format!("/v1/portfolios/{small}/transactions"), Some(trade.clone())).await.status(), 201);
    }
    for symbol in ["AAPL", "NVDA"] {
        let signal = json!({"symbol": symbol, "direction": "LONG", "entry_price": "100", "confidence": 60});
        assert_eq!(c.call("POST", "/v1/journal/signals", Some(signal)).await.status(), 201);
    }
    // Two assistant threads (two questions in one, none in the other), and someone else's.
    let assistant = assistant();
    let asked = thread_with(&assistant, &c.token, 2).await;
    let empty = thread_with(&assistant, &c.token, 0).await;
    let theirs = thread_with(&assistant, &other.token, 1).await;

    let pages = json_pages(&c).await;
    assert!(pages.len() >= 2, "1,205 records take more than one page of 1,000");
    assert_eq!(pages[0]["format"], "bourse-export-1");
    assert_eq!(pages[0]["profile"]["email"], email.as_str());
    assert!(!pages[0]["sessions"].as_array().unwrap().is_empty());
    assert!(!pages[0]["usage"].as_array().unwrap().is_empty(), "the requests above were metered");
    assert_eq!(pages[0]["portfolios"].as_array().unwrap().len(), 2);
    for page in &pages[1..] {
        assert!(page.get("profile").is_none() && page["portfolios"].as_array().unwrap().is_empty());
    }
    let transactions: Vec<&Value> = pages.iter().flat_map(|p| p["transactions"].as_array().unwrap()).collect();
    let ids: HashSet<&str> = transactions.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!((transactions.len(), ids.len()), (1_203, 1_203), "each transaction exactly once");
    let in_small = transactions.iter().filter(|t| t["portfolio_id"] == small.as_str()).count();
    assert_eq!(in_small, 3);
    assert!(transactions.iter().all(|t| t["portfolio_id"] == small.as_str() || t["portfolio_id"] == big.as_str()), "nobody else's");
    let signals: Vec<&Value> = pages.iter().flat_map(|p| p["signals"].as_array().unwrap()).collect();
    assert_eq!(signals.len(), 2);
    // The assistant: preferences and keys on the first page, every thread and message once.
    assert_eq!(pages[0]["assistant_preferences"]["provider"], "bourse");
    assert!(pages[0]["assistant_keys"].as_array().unwrap().is_empty());
    let threads: HashSet<&str> =
        pages.iter().flat_map(|p| p["assistant_threads"].as_array().unwrap()).map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(threads, HashSet::from([asked.as_str(), empty.as_str()]), "the caller's threads, not {theirs}");
    let messages: Vec<&Value> = pages.iter().flat_map(|p| p["assistant_messages"].as_array().unwrap()).collect();
    assert_eq!(messages.len(), 4, "two questions and their answers");
    assert!(messages.iter().all(|m| m["thread_id"] == asked.as_str()));
    let roles: Vec<(&str, u64)> = messages.iter().map(|m| (m["role"].as_str().unwrap(), m["seq"].as_u64().unwrap())).collect();
    assert_eq!(roles, [("user", 0), ("assistant", 1), ("user", 2), ("assistant", 3)]);
    assert_eq!(messages[1]["mode"], "fallback");

    // CSV: the same transactions, the header once, pages linked, the formula defused.
    let mut rows = Vec::new();
    let mut query = "format=csv".to_owned();
    let mut pages = 0;
    loop {
        let response = c.call_with("GET", EXPORT, &query, None, &[]).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = match response.body() {
            lambda_http::Body::Text(t) => t.clone(),
            lambda_http::Body::Binary(b) => String::from_utf8(b.clone()).unwrap(),
            lambda_http::Body::Empty => String::new(),
            _ => panic!("unexpected body"),
        };
        let mut reader = csv::ReaderBuilder::new().has_headers(pages == 0).from_reader(text.as_bytes());
        if pages == 0 {
            assert_eq!(reader.headers().unwrap().get(0), Some("portfolio_id"));
        }
        rows.extend(reader.records().map(|r| r.unwrap()));
        pages += 1;
        let Some(link) = response.headers().get("link") else { break };
        let link = link.to_str().unwrap();
        let cursor = link.split("cursor=").nth(1).unwrap().split('>').next().unwrap();
        query = format!("format=csv&cursor={cursor}");
        assert!(pages < 50);
    }
    assert!(pages >= 2);
    assert_eq!(rows.len(), 1_203);
    let csv_ids: HashSet<String> = rows.iter().map(|r| r[2].to_owned()).collect();
    assert_eq!(csv_ids.len(), 1_203);
    assert!(rows.iter().filter(|r| &r[0] == small.as_str()).all(|r| r[1].starts_with("'=")), "a formula-like name is defused");

    // Bad input is a 400 on the field at fault.
    for (query, field) in [("format=xml", "query.format"), ("cursor=zz", "query.cursor"), ("cursor=00", "query.cursor")] {
        let response = c.call_with("GET", EXPORT, query, None, &[]).await;
        assert_problem(&response, 400);
        assert_eq!(json_body(&response)["errors"][0]["field"], field, "{query}");
    }
}
