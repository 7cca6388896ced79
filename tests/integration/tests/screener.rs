//! The screener against DynamoDB Local and Redis, on the universe seeded from `data/` by
//! `dev/test.sh` (`bourse-dev seed`). Expected answers are computed here, independently of the
//! screener's own filter code.
// The screener's whole request future is nested inside `all_pages`: its layout needs more than
// the default query depth in a clean build.
#![recursion_limit = "256"]

use bourse_integration_tests::{ensure_resources, json_body, platform, repo_root};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

fn event(method: &str, path: &str, query: &str, body: Option<Value>, headers: Value) -> lambda_http::Request {
    let mut all = json!({"host": "api.test", "content-type": "application/json"});
    for (k, v) in headers.as_object().unwrap() {
        all[k] = v.clone();
    }
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query, "headers": all,
        "requestContext": {"accountId": "1", "apiId": "a", "domainName": "api.test", "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.1", "userAgent": "t"},
            "requestId": "it", "routeKey": "$default", "stage": "$default", "time": "25/Nov/2026:21:30:00 +0000", "timeEpoch": 0},
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn app() -> bourse_http::HttpApp<screener_fn::ScreenerRoute, screener_fn::Screener> {
    screener_fn::app(platform("screener")).unwrap()
}

/// Every page of a paginated GET, following `next_cursor`.
async fn all_pages(app: &bourse_http::HttpApp<screener_fn::ScreenerRoute, screener_fn::Screener>, path: &str, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_owned(),
        };
        let response = app.serve(event("GET", path, &q, None, json!({}))).await;
        let body = json_body(&response);
        assert_eq!(response.status(), 200, "{body}");
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

fn symbols(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["symbol"].as_str().unwrap().to_owned()).collect()
}

/// The reference CSVs read here with the `csv` crate alone: symbol → column → value.
fn reference() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in ["sp500-constituents.csv", "sp500-financials.csv"] {
        let mut reader = csv::Reader::from_path(repo_root().join("data").join(file)).unwrap();
        let headers = reader.headers().unwrap().clone();
        for row in reader.records() {
            let row = row.unwrap();
            let symbol = row.get(0).unwrap().trim().to_owned();
            let entry = out.entry(symbol).or_default();
            for (h, v) in headers.iter().zip(row.iter()) {
                if !v.trim().is_empty() {
                    entry.insert(format!("{file}:{h}"), v.trim().to_owned());
                }
            }
        }
    }
    out
}

fn num(row: &BTreeMap<String, String>, column: &str) -> Option<Decimal> {
    row.get(&format!("sp500-financials.csv:{column}")).map(|v| Decimal::from_str(v).or_else(|_| Decimal::from_scientific(v)).unwrap())
}

#[tokio::test]
async fn csv_presets_equal_an_independent_computation_over_the_reference_data() {
    ensure_resources().await;
    let app = app();
    let data = reference();
    let d = |s: &str| Decimal::from_str(s).unwrap();
    type Rule = Box<dyn Fn(&BTreeMap<String, String>) -> bool>;
    let rules: Vec<(&str, Rule)> = vec![
        (
            "value",
            Box::new(
                move |r| matches!((num(r, "Price/Earnings"), num(r, "Price/Book")), (Some(pe), Some(pb)) if pe > Decimal::ZERO && pe < d("15") && pb < d("3")),
            ),
        ),
        (
            "growth",
            Box::new(
                move |r| matches!((num(r, "Earnings/Share"), num(r, "Price/Earnings"), num(r, "Price/Sales")), (Some(e), Some(pe), Some(ps)) if e > Decimal::ZERO && pe > d("25") && ps > d("5")),
            ),
        ),
        (
            "dividend",
            Box::new(
                move |r| matches!((num(r, "Dividend Yield"), num(r, "Price/Earnings")), (Some(y), Some(pe)) if y >= d("0.03") && pe > Decimal::ZERO && pe < d("25")),
            ),
        ),
        ("large-cap", Box::new(move |r| num(r, "Market Cap").is_some_and(|c| c >= d("10000000000")))),
        (
            "near-52-week-high",
            Box::new(
                move |r| matches!((num(r, "Price"), num(r, "52 Week High")), (Some(p), Some(h)) if !h.is_zero() && (p / h - Decimal::ONE).round_dp(6) >= d("-0.05")),
            ),
        ),
    ];
    for (name, rule) in rules {
        let expected: BTreeSet<String> = data.iter().filter(|(_, row)| rule(row)).map(|(s, _)| s.clone()).collect();
        let got = symbols(&all_pages(&app, &format!("/v1/screener/presets/{name}"), "limit=100").await);
        let got_set: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(got.len(), got_set.len(), "{name}: a stock appeared twice");
        assert!(!expected.is_empty(), "{name} selects something in the reference data");
        assert_eq!(got_set, expected, "preset {name}");
    }
}

#[tokio::test]
async fn pagination_visits_every_stock_once_with_missing_values_last() {
    ensure_resources().await;
    let app = app();
    let universe = reference().len();
    for order in ["asc", "desc"] {
        let items = all_pages(&app, "/v1/stocks", &format!("sort=pe&order={order}&limit=37")).await;
        let list = symbols(&items);
        let unique: BTreeSet<_> = list.iter().collect();
        assert_eq!(list.len(), universe, "{order}: every stock once");
        assert_eq!(unique.len(), universe);
        let pes: Vec<Option<Decimal>> = items.iter().map(|i| i["pe"].as_str().map(|v| Decimal::from_str(v).unwrap())).collect();
        let first_missing = pes.iter().position(Option::is_none).unwrap();
        assert!(pes[first_missing..].iter().all(Option::is_none), "missing P/E last ({order})");
        let known: Vec<Decimal> = pes[..first_missing].iter().map(|p| p.unwrap()).collect();
        let mut sorted = known.clone();
        sorted.sort();
        if order == "desc" {
            sorted.reverse();
        }
        assert_eq!(known, sorted, "{order}");
    }
}

#[tokio::test]
async fn warm_reads_are_served_from_memory_and_the_cache_without_dynamodb() {
    ensure_resources().await;
    let app = app();
    let symbols: Vec<String> = reference().keys().take(100).cloned().collect();
    let batch = || event("POST", "/v1/stocks/batch", "", Some(json!({"symbols": symbols})), json!({}));
    let screen =
        || event("POST", "/v1/screener/query", "", Some(json!({"filter": "market_cap > 100B and pe < 40", "limit": 100})), json!({}));
    // Warm up: the universe is loaded once (1 GetItem of the version at most, 1 Query).
    assert_eq!(app.serve(batch()).await.status(), 200);
    let (response, counted) = bourse_telemetry::measured(app.serve(batch())).await;
    let body = json_body(&response);
    assert_eq!(body["items"].as_array().unwrap().len() + body["unknown"].as_array().unwrap().len(), 100);
    assert_eq!(counted.dynamodb_requests(), 0, "batch of 100 from memory: {counted:?}");
    let (response, counted) = bourse_telemetry::measured(app.serve(screen())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(counted.dynamodb_requests(), 0, "custom screen from memory: {counted:?}");
    // A cached public read: the second identical GET is answered from the response entry itself
    // (proven by replacing what the entry holds: the answer is the replacement) with no DynamoDB.
    let get = || event("GET", "/v1/sectors", "", None, json!({}));
    let fresh = json_body(&app.serve(get()).await);
    let platform = platform("screener");
    let version = bourse_storage::market::universe_version(&platform.aws, platform.config.require_market_table().unwrap()).await.unwrap();
    let key = format!("{}:u{version}:/v1/sectors?", screener_fn::CACHE_PREFIX);
    let cache = platform.cache.clone().unwrap();
    assert!(cache.get(&key).await.is_some(), "the first GET stored its answer under {key}");
    cache.delete(std::slice::from_ref(&key)).await.unwrap();
    let marker = json!({"served": "from the cache entry"});
    cache
        .get_or_compute(&key, std::time::Duration::from_secs(60), || async { Ok::<_, ()>(marker.to_string().into_bytes()) })
        .await
        .unwrap();
    let (response, counted) = bourse_telemetry::measured(app.serve(get())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(&response), marker, "the answer is the cache entry's, not a fresh render ({fresh})");
    assert_eq!(counted.dynamodb_requests(), 0);
    cache.delete(&[key]).await.unwrap();
}

#[tokio::test]
async fn no_route_ever_scans() {
    ensure_resources().await;
    let app = app();
    let requests = [
        event("GET", "/v1/stocks", "limit=5", None, json!({})),
        event("GET", "/v1/stocks/search", "q=micro", None, json!({})),
        event("GET", "/v1/stocks/MSFT", "", None, json!({})),
        event("GET", "/v1/stocks/MSFT/history", "from=2026-01-01", None, json!({})),
        event("GET", "/v1/sectors", "", None, json!({})),
        event("GET", "/v1/screener/presets/value", "", None, json!({})),
        event("GET", "/v1/signals/market", "", None, json!({})),
        event("POST", "/v1/screener/query", "", Some(json!({"filter": "rsi_14 < 40"})), json!({})),
    ];
    for request in requests {
        let (response, counted) = bourse_telemetry::measured(app.serve(request)).await;
        assert_eq!(response.status(), 200, "{}", json_body(&response));
        assert!(!counted.dynamodb_operations.iter().any(|op| op == "Scan"), "{counted:?}");
        assert!(counted.dynamodb_requests() <= 2, "{counted:?}");
    }
}

#[tokio::test]
async fn a_matching_etag_answers_304() {
    ensure_resources().await;
    let app = app();
    let first = app.serve(event("GET", "/v1/stocks/AAPL", "", None, json!({}))).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=900");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app.serve(event("GET", "/v1/stocks/AAPL", "", None, json!({"if-none-match": etag}))).await;
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn bad_input_of_every_shape_is_a_4xx_problem() {
    ensure_resources().await;
    let app = app();
    let cases = [
        event("POST", "/v1/screener/query", "", Some(json!({"filter": "pe <"})), json!({})),
        event("POST", "/v1/screener/query", "", Some(json!({"filter": "x".repeat(5000)})), json!({})),
        event("POST", "/v1/screener/query", "", Some(json!({"filter": "pe > 1", "limit": 0})), json!({})),
        event("POST", "/v1/screener/query", "", Some(json!({"filter": "pe > 1", "cursor": "zz"})), json!({})),
        event("POST", "/v1/screener/query", "", Some(json!({"filter": "pe > 1", "sort": "name"})), json!({})),
        event("POST", "/v1/screener/query", "", Some(json!({"filter": 5})), json!({})),
        event("POST", "/v1/stocks/batch", "", Some(json!({"symbols": vec!["A"; 101]})), json!({})),
        event("POST", "/v1/stocks/batch", "", Some(json!({"symbols": []})), json!({})),
        event("GET", "/v1/stocks", "limit=abc", None, json!({})),
        event("GET", "/v1/stocks", "sort=nope", None, json!({})),
        event("GET", "/v1/stocks", "colour=red", None, json!({})),
        event("GET", "/v1/stocks/search", "q=", None, json!({})),
        event("GET", "/v1/stocks/%24%24/history", "", None, json!({})),
        event("GET", "/v1/stocks/MMM/history", "from=2026-05-01&to=2026-01-01", None, json!({})),
        event("GET", "/v1/stocks/NOPE", "", None, json!({})),
    ];
    for request in cases {
        let response = app.serve(request).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{status}: {}", json_body(&response));
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    let malformed =
        json_body(&app.serve(event("POST", "/v1/screener/query", "", Some(json!({"filter": "pe < 15 and foo > 3"})), json!({}))).await);
    assert_eq!(malformed["errors"][0]["field"], "body.filter");
    assert!(malformed["errors"][0]["reason"].as_str().unwrap().starts_with("at position 12"), "{malformed}");
}

#[tokio::test]
async fn history_presets_equal_an_independent_evaluation_of_the_served_metrics() {
    ensure_resources().await;
    let app = app();
    let all = all_pages(&app, "/v1/stocks", "limit=100&sort=symbol&order=asc").await;
    let d = |s: &str| Decimal::from_str(s).unwrap();
    let v = |item: &Value, field: &str| item[field].as_str().map(|x| Decimal::from_str(x).unwrap());
    type Rule = Box<dyn Fn(&Value) -> bool>;
    let rules: Vec<(&str, Rule)> = vec![
        (
            "momentum",
            Box::new(
                move |s| matches!((v(s, "price"), v(s, "sma_50"), v(s, "sma_200"), v(s, "rsi_14")), (Some(p), Some(f), Some(l), Some(r)) if p > f && f > l && r < d("70")),
            ),
        ),
        ("low-volatility", Box::new(move |s| v(s, "volatility_30d").is_some_and(|x| x < d("0.2")))),
        ("oversold", Box::new(move |s| v(s, "rsi_14").is_some_and(|x| x <= d("30")))),
        (
            "quality",
            Box::new(move |s| {
                matches!((v(s, "ebitda"), v(s, "eps"), v(s, "pe"), v(s, "price_to_book"), v(s, "data_quality")),
                (Some(e), Some(eps), Some(pe), Some(pb), Some(q)) if e > Decimal::ZERO && eps > Decimal::ZERO && pe >= Decimal::ZERO && pe <= d("30") && pb < d("10") && q >= d("90"))
            }),
        ),
    ];
    for (name, rule) in rules {
        let expected: BTreeSet<String> = all.iter().filter(|s| rule(s)).map(|s| s["symbol"].as_str().unwrap().to_owned()).collect();
        let got: BTreeSet<String> =
            symbols(&all_pages(&app, &format!("/v1/screener/presets/{name}"), "limit=100").await).into_iter().collect();
        assert!(!expected.is_empty(), "{name} selects something");
        assert_eq!(got, expected, "preset {name}");
    }
}

/// The sample event `screener/query.json` answers exactly what an independent reading of the
/// bundled data gives: the stocks with 0 < P/E < 15 and a dividend yield of at least 3 %, by
/// dividend yield descending (ties by symbol), the first 10, and how many match in all.
#[tokio::test]
async fn the_sample_query_answers_an_independent_computation() {
    ensure_resources().await;
    let mut reader = csv::Reader::from_path(repo_root().join("data/sp500-financials.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (symbol, pe, yield_) = (column("Symbol"), column("Price/Earnings"), column("Dividend Yield"));
    let mut matching: Vec<(Decimal, String)> = reader
        .records()
        .map(Result::unwrap)
        .filter_map(|r| {
            let pe = Decimal::from_str(r.get(pe)?.trim()).ok()?;
            let dy = Decimal::from_str(r.get(yield_)?.trim()).ok()?;
            (pe > Decimal::ZERO && pe < Decimal::from(15) && dy >= Decimal::from_str("0.03").unwrap())
                .then(|| (dy, r.get(symbol).unwrap().to_owned()))
        })
        .collect();
    matching.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let response = app().serve(bourse_integration_tests::request("screener/query.json")).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");
    let symbols: Vec<String> = body["items"].as_array().unwrap().iter().map(|s| s["symbol"].as_str().unwrap().to_owned()).collect();
    let expected: Vec<String> = matching.iter().take(10).map(|(_, s)| s.clone()).collect();
    assert_eq!(symbols, expected);
    assert_eq!(body["total"].as_u64(), Some(matching.len() as u64), "{body}");
}

/// Paging while the universe changes (a new version published between pages, moving one stock's
/// sort value and adding a symbol): the keyset cursor still visits every stock that existed
/// throughout exactly once, in order. On a stack of its own, so no other test sees the change.
#[tokio::test]
async fn paging_while_the_universe_changes_visits_every_stock_once() {
    use bourse_domain::stock::{Metric, Stock};
    ensure_resources().await;
    let stack = bourse_devtools::stack::isolated_stack(&platform("screener"), &repo_root(), "page", 15, None).await.unwrap();
    let p = stack.platform.clone();
    let market = p.config.require_market_table().unwrap().to_owned();
    let app = screener_fn::app(p.clone()).unwrap();
    let before: Vec<String> = symbols(&all_pages(&app, "/v1/stocks", "sort=symbol&order=asc&limit=100").await);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut page = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("sort=symbol&order=asc&limit=100&cursor={c}"),
            None => "sort=symbol&order=asc&limit=100".to_owned(),
        };
        let body = json_body(&app.serve(event("GET", "/v1/stocks", &q, None, json!({}))).await);
        seen.extend(symbols(body["items"].as_array().unwrap()));
        page += 1;
        if page == 2 {
            // A new version: a new symbol sorting before the cursor and one after it.
            let version = bourse_storage::market::universe_version(&p.aws, &market).await.unwrap();
            let mut stocks = bourse_storage::market::load_universe(&p.aws, &market, version).await.unwrap();
            for name in ["AAAA", "ZZZZZ"] {
                let mut added = Stock::new(bourse_domain::Symbol::parse(name).unwrap(), name.into());
                added.set(Metric::Price, Some(Decimal::ONE));
                stocks.push(added);
            }
            bourse_storage::market::publish_universe(&p.aws, &market, &stocks, time::OffsetDateTime::now_utc().unix_timestamp() as u64)
                .await
                .unwrap();
            p.cache.as_ref().unwrap().delete(&[bourse_cache::UNIVERSE_VERSION_KEY.to_owned()]).await.unwrap();
            tokio::time::sleep(screener_fn::universe::REVALIDATE_EVERY).await;
        }
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no stock twice");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "in order");
    assert!(before.iter().all(|s| unique.contains(s)), "every stock that existed throughout is visited");
    assert!(
        seen.contains(&"ZZZZZ".to_owned()) && !seen.contains(&"AAAA".to_owned()),
        "a new stock after the cursor is seen, one before it is not"
    );
}

/// Dates on the history routes are plain four-digit years from 1900: a signed or tiny year is 400,
/// never a crash in date arithmetic or a 500 from the store.
#[tokio::test]
async fn history_dates_out_of_shape_or_range_are_400() {
    ensure_resources().await;
    let app = app();
    for (query, field) in [
        ("to=-9999-01-01", "query.to"),
        ("to=-0001-01-01", "query.to"),
        ("from=0000-01-01", "query.from"),
        ("to=%2B2026-11-30", "query.to"),
    ] {
        let response = app.serve(event("GET", "/v1/stocks/AAPL/history", query, None, json!({}))).await;
        let body = json_body(&response);
        assert_eq!(response.status(), 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    let ok = app.serve(event("GET", "/v1/stocks/AAPL/history", "from=1900-01-01&to=1900-06-01", None, json!({}))).await;
    assert_eq!(ok.status(), 200, "{}", json_body(&ok));
}
