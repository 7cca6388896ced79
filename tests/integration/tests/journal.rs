//! The signals journal against DynamoDB Local and Redis, with real tokens from the auth function.
//! Statistics are checked against a recomputation from the signals the API lists, done here
//! independently of the domain crate's roll-up.

mod auth_support;

use auth_support::{AuthApp, app_with_clock, event, random_ip, signed_in, with_headers};
use bourse_domain::ManualClock;
use bourse_integration_tests::{json_body, platform};
use lambda_http::{Body, Response};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

type PortfolioApp = bourse_http::HttpApp<portfolio_fn::PortfolioRoute, portfolio_fn::Portfolio>;

const SIGNALS: &str = "/v1/journal/signals";
const STATS: &str = "/v1/journal/stats";

struct Journal {
    app: PortfolioApp,
    token: String,
}

impl Journal {
    async fn send(&self, method: &str, path: &str, query: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Response<Body> {
        let body = body.map(|b| b.to_string());
        let request = event(method, path, query, body.as_deref(), Some(&self.token), &random_ip());
        self.app.serve(with_headers(request, headers)).await
    }

    /// Sends and asserts the status; answers the JSON body.
    async fn expect(&self, status: u16, method: &str, path: &str, query: &str, body: Option<Value>) -> Value {
        let response = self.send(method, path, query, body, &[]).await;
        let doc = json_body(&response);
        assert_eq!(response.status(), status, "{method} {path}?{query}: {doc}");
        doc
    }

    async fn create(&self, signal: Value) -> Value {
        self.expect(201, "POST", SIGNALS, "", Some(signal)).await
    }

    async fn bulk(&self, signals: Vec<Value>) -> Vec<Value> {
        let doc = self.expect(201, "POST", &format!("{SIGNALS}/bulk"), "", Some(json!({"signals": signals}))).await;
        doc["items"].as_array().unwrap().clone()
    }

    async fn close(&self, id: &str, exit: &str) -> Value {
        self.expect(200, "POST", &format!("{SIGNALS}/{id}/close"), "", Some(json!({"exit_price": exit}))).await
    }

    async fn stats(&self) -> Value {
        self.expect(200, "GET", STATS, "", None).await
    }

    /// Every signal the list answers for `query`, following cursors with pages of `page`;
    /// asserts no id comes twice.
    async fn list_all(&self, query: &str, page: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = format!("limit={page}");
            if !query.is_empty() {
                q = format!("{query}&{q}");
            }
            if let Some(c) = &cursor {
                q = format!("{q}&cursor={c}");
            }
            let doc = self.expect(200, "GET", SIGNALS, &q, None).await;
            let items = doc["items"].as_array().unwrap();
            assert!(items.len() <= page, "{doc}");
            out.extend(items.iter().cloned());
            match doc["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let ids: HashSet<&str> = out.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), out.len(), "no signal twice across pages of {query}");
        out
    }
}

async fn auth() -> AuthApp {
    app_with_clock(Arc::new(ManualClock::new(auth_support::now()))).await
}

async fn journal(auth: &AuthApp) -> Journal {
    let (_, token, _) = signed_in(auth).await;
    Journal { app: portfolio_fn::app(platform("portfolio")).unwrap(), token }
}

fn signal(symbol: &str, direction: &str, entry: &str, confidence: u32) -> Value {
    json!({"symbol": symbol, "direction": direction, "entry_price": entry, "confidence": confidence})
}

fn ids(signals: &[Value]) -> Vec<String> {
    signals.iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

/// Newest first: ids sort by creation time.
fn newest_first(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by(|a, b| b.cmp(a));
    ids
}

/// A tiny deterministic generator (xorshift64), so a failing sequence can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn d(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap_or_else(|| panic!("a decimal string: {value}"))).unwrap()
}

fn text(value: Decimal) -> Value {
    json!(value.normalize().to_string())
}

fn round4(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
}

/// What the statistics of `signals` must be, computed here from the listed signals.
fn recompute(signals: &[&Value]) -> Value {
    let open = signals.iter().filter(|s| s["status"] == "OPEN").count();
    let mut returns: Vec<Decimal> = signals.iter().filter(|s| s["status"] == "CLOSED").map(|s| d(&s["return_pct"])).collect();
    returns.sort();
    let n = returns.len();
    let wins = returns.iter().filter(|r| **r > Decimal::ZERO).count();
    let losses = returns.iter().filter(|r| **r < Decimal::ZERO).count();
    let sum: Decimal = returns.iter().sum();
    let median = match n {
        0 => Value::Null,
        _ if n % 2 == 1 => text(returns[n / 2]),
        _ => text((returns[n / 2 - 1] + returns[n / 2]) / Decimal::from(2)),
    };
    let per_closed = |x: Decimal| if n == 0 { Value::Null } else { text(round4(x / Decimal::from(n))) };
    json!({
        "total": signals.len(),
        "by_status": {"OPEN": open, "CLOSED": n},
        "closed": {
            "count": n, "wins": wins, "losses": losses, "breakeven": n - wins - losses,
            "win_rate": per_closed(Decimal::from(wins)),
            "average_return_pct": per_closed(sum),
            "median_return_pct": median,
        },
    })
}

fn expected_stats(signals: &[Value]) -> Value {
    let all: Vec<&Value> = signals.iter().collect();
    let mut by_symbol: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for s in signals {
        by_symbol.entry(s["symbol"].as_str().unwrap()).or_default().push(s);
    }
    let mut doc = recompute(&all);
    doc["by_symbol"] = by_symbol
        .iter()
        .map(|(symbol, list)| {
            let mut entry = recompute(list);
            entry["symbol"] = json!(symbol);
            entry
        })
        .collect::<Vec<_>>()
        .into();
    doc
}

/// A closed signal's return and outcome, recomputed from its prices.
fn assert_return(s: &Value) {
    let (entry, exit) = (d(&s["entry_price"]), d(&s["exit_price"]));
    let gain = if s["direction"] == "LONG" { exit - entry } else { entry - exit };
    let want = round4(gain / entry * Decimal::from(100));
    assert_eq!(d(&s["return_pct"]), want, "{s}");
    let outcome = if want > Decimal::ZERO {
        "WIN"
    } else if want < Decimal::ZERO {
        "LOSS"
    } else {
        "BREAKEVEN"
    };
    assert_eq!(s["outcome"], outcome, "{s}");
}

#[tokio::test]
async fn statistics_equal_a_recomputation_after_150_random_writes() {
    let auth = auth().await;
    let c = journal(&auth).await;
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let symbols = ["AAPL", "MSFT", "NVDA", "XOM", "BRK.B"];
    let price = |rng: &mut XorShift| format!("{}.{:02}", 1 + rng.below(400), rng.below(100));
    let new_signal = |rng: &mut XorShift| {
        let direction = if rng.below(2) == 0 { "LONG" } else { "SHORT" };
        let symbol = *rng.pick(&symbols);
        signal(symbol, direction, &price(rng), rng.below(101) as u32)
    };
    // (id, entry price) of the open signals, and every live id.
    let mut open: Vec<(String, String)> = Vec::new();
    let mut live: Vec<String> = Vec::new();
    let mut counts = [0usize; 4];
    for _ in 0..150 {
        match rng.below(100) {
            0..30 => {
                let created = c.create(new_signal(&mut rng)).await;
                open.push((created["id"].as_str().unwrap().to_owned(), created["entry_price"].as_str().unwrap().to_owned()));
                live.push(created["id"].as_str().unwrap().to_owned());
                counts[0] += 1;
            }
            30..40 => {
                let batch: Vec<Value> = (0..2 + rng.below(7)).map(|_| new_signal(&mut rng)).collect();
                for created in c.bulk(batch).await {
                    open.push((created["id"].as_str().unwrap().to_owned(), created["entry_price"].as_str().unwrap().to_owned()));
                    live.push(created["id"].as_str().unwrap().to_owned());
                }
                counts[1] += 1;
            }
            40..75 if !open.is_empty() => {
                let (id, entry) = open.swap_remove(rng.below(open.len() as u64) as usize);
                // One close in five at the entry price: breakeven.
                let exit = if rng.below(5) == 0 { entry } else { price(&mut rng) };
                let closed = c.close(&id, &exit).await;
                assert_eq!(closed["status"], "CLOSED");
                assert_return(&closed);
                counts[2] += 1;
            }
            _ if !live.is_empty() => {
                let id = live.swap_remove(rng.below(live.len() as u64) as usize);
                open.retain(|(o, _)| *o != id);
                c.expect(204, "DELETE", &format!("{SIGNALS}/{id}"), "", None).await;
                counts[3] += 1;
            }
            _ => {}
        }
    }
    assert!(counts.iter().all(|n| *n > 5), "every kind of write ran: {counts:?}");
    let listed = c.list_all("", 17).await;
    let mut want_ids = live.clone();
    want_ids.sort();
    let mut got_ids = ids(&listed);
    got_ids.sort();
    assert_eq!(got_ids, want_ids, "the list holds exactly the live signals");
    for s in listed.iter().filter(|s| s["status"] == "CLOSED") {
        assert_return(s);
    }
    let want = expected_stats(&listed);
    assert!(want["closed"]["count"].as_u64().unwrap() > 10 && want["by_status"]["OPEN"].as_u64().unwrap() > 5, "{want}");
    assert_eq!(c.stats().await, want);
}

#[tokio::test]
async fn concurrent_creates_and_closes_of_one_symbol_lose_no_update() {
    let auth = auth().await;
    let c = journal(&auth).await;
    let creates = (0..20).map(|i| Box::pin(c.send("POST", SIGNALS, "", Some(signal("TSLA", "LONG", "100", i)), &[])));
    let mut created = Vec::new();
    for response in futures_util::future::join_all(creates).await {
        assert_eq!(response.status(), 201, "{}", json_body(&response));
        created.push(json_body(&response)["id"].as_str().unwrap().to_owned());
    }
    let stats = c.stats().await;
    assert_eq!((stats["total"].as_u64(), stats["by_status"]["OPEN"].as_u64()), (Some(20), Some(20)), "{stats}");
    // 10 wins, 6 losses, 4 breakeven, all at once.
    let exits: Vec<&str> = created
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if i < 10 {
                "110"
            } else if i < 16 {
                "95"
            } else {
                "100"
            }
        })
        .collect();
    let paths: Vec<String> = created.iter().map(|id| format!("{SIGNALS}/{id}/close")).collect();
    let closes = paths.iter().zip(&exits).map(|(path, exit)| Box::pin(c.send("POST", path, "", Some(json!({"exit_price": exit})), &[])));
    for response in futures_util::future::join_all(closes).await {
        assert_eq!(response.status(), 200, "{}", json_body(&response));
    }
    let stats = c.stats().await;
    let tsla = &stats["by_symbol"][0];
    assert_eq!(tsla["symbol"], "TSLA");
    assert_eq!(tsla["by_status"], json!({"OPEN": 0, "CLOSED": 20}), "{stats}");
    assert_eq!(
        (tsla["closed"]["wins"].as_u64(), tsla["closed"]["losses"].as_u64(), tsla["closed"]["breakeven"].as_u64()),
        (Some(10), Some(6), Some(4))
    );
    // (10·10 − 6·5) / 20 = 3.5; sorted: 6 × −5, 4 × 0, 10 × 10 → median (0 + 10) / 2 = 5.
    assert_eq!(tsla["closed"]["average_return_pct"], "3.5");
    assert_eq!(tsla["closed"]["median_return_pct"], "5");
    assert_eq!(tsla["closed"]["win_rate"], "0.5");
    assert_eq!(stats, expected_stats(&c.list_all("", 100).await));
}

#[tokio::test]
async fn another_users_signal_is_not_found_and_never_counted() {
    let auth = auth().await;
    let (alice, mallory) = (journal(&auth).await, journal(&auth).await);
    let id = alice.create(signal("AMD", "SHORT", "120.5", 80)).await["id"].as_str().unwrap().to_owned();
    let path = format!("{SIGNALS}/{id}");
    mallory.expect(404, "GET", &path, "", None).await;
    mallory.expect(404, "POST", &format!("{path}/close"), "", Some(json!({"exit_price": "100"}))).await;
    mallory.expect(404, "DELETE", &path, "", None).await;
    assert!(mallory.expect(200, "GET", SIGNALS, "", None).await["items"].as_array().unwrap().is_empty());
    assert!(mallory.expect(200, "GET", SIGNALS, "symbol=AMD", None).await["items"].as_array().unwrap().is_empty());
    assert_eq!(mallory.stats().await["total"], 0);
    let mine = alice.expect(200, "GET", &path, "", None).await;
    assert_eq!(mine["status"], "OPEN", "nothing of Mallory's attempts landed");
    assert_eq!(alice.stats().await["by_symbol"][0]["by_status"]["OPEN"], 1);
    // A malformed id is no signal at all, and never reaches a key.
    for bad in ["x", "..%2F..", "1795642200000-0123456789AB", "1795642200000-0123456789ab0"] {
        alice.expect(404, "GET", &format!("{SIGNALS}/{bad}"), "", None).await;
    }
}

#[tokio::test]
async fn filters_and_cursor_pages_return_exactly_the_matching_signals_newest_first() {
    let auth = auth().await;
    let c = journal(&auth).await;
    let mut all = Vec::new();
    // Three batches so creation times differ; confidence 0, 10, … 110 capped at 100.
    for batch in 0..3u32 {
        let signals: Vec<Value> =
            (0..6u32).map(|i| signal(["KO", "PEP", "MCD"][(i % 3) as usize], "LONG", "50", ((batch * 6 + i) * 6).min(100))).collect();
        all.extend(c.bulk(signals).await);
    }
    let mut closed = HashSet::new();
    for s in all.iter().step_by(3).chain(all.iter().skip(1).step_by(4)) {
        let id = s["id"].as_str().unwrap();
        if closed.insert(id.to_owned()) {
            c.close(id, "55").await;
        }
    }
    let matching = |pred: &dyn Fn(&Value, bool) -> bool| {
        newest_first(
            all.iter()
                .filter(|s| pred(s, closed.contains(s["id"].as_str().unwrap())))
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect(),
        )
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("", matching(&|_, _| true)),
        ("status=OPEN", matching(&|_, is_closed| !is_closed)),
        ("status=CLOSED", matching(&|_, is_closed| is_closed)),
        ("symbol=PEP", matching(&|s, _| s["symbol"] == "PEP")),
        ("min_confidence=50", matching(&|s, _| s["confidence"].as_u64().unwrap() >= 50)),
        (
            "symbol=KO&status=CLOSED&min_confidence=30",
            matching(&|s, is_closed| s["symbol"] == "KO" && is_closed && s["confidence"].as_u64().unwrap() >= 30),
        ),
        ("status=OPEN&min_confidence=40", matching(&|s, is_closed| !is_closed && s["confidence"].as_u64().unwrap() >= 40)),
        ("symbol=ZZZ", vec![]),
    ];
    for (query, want) in cases {
        assert!(query.contains("ZZZ") || !want.is_empty(), "{query} tests something");
        for page in [2, 5, 100] {
            let got = ids(&c.list_all(query, page).await);
            assert_eq!(got, want, "{query} in pages of {page}");
        }
    }
    for (query, field) in [
        ("sort=id", "query.sort"),
        ("limit=0", "query.limit"),
        ("limit=101", "query.limit"),
        ("status=open", "query.status"),
        ("min_confidence=101", "query.min_confidence"),
        ("symbol=A%20B", "query.symbol"),
        ("cursor=zz", "query.cursor"),
    ] {
        let doc = c.expect(400, "GET", SIGNALS, query, None).await;
        assert_eq!(doc["errors"][0]["field"], field, "{query}: {doc}");
    }
}

#[tokio::test]
async fn bulk_is_all_or_nothing_and_costs_a_read_and_one_transaction_per_hundred_items() {
    let auth = auth().await;
    let c = journal(&auth).await;
    let symbols = ["AAPL", "MSFT", "NVDA", "XOM", "JPM"];
    let hundred: Vec<Value> = (0..100).map(|i| signal(symbols[i % 5], "LONG", "10", 50)).collect();
    let (response, counted) =
        bourse_telemetry::measured(c.send("POST", &format!("{SIGNALS}/bulk"), "", Some(json!({"signals": hundred})), &[])).await;
    assert_eq!(response.status(), 201, "{}", json_body(&response));
    assert_eq!(json_body(&response)["items"].as_array().unwrap().len(), 100);
    let count = |ops: &[String], op: &str| ops.iter().filter(|o| *o == op).count();
    let ops = &counted.dynamodb_operations;
    // 95 signals + 5 statistics items, then 5 + 5: two transactions; one read of the statistics.
    assert_eq!((count(ops, "BatchGetItem"), count(ops, "TransactWriteItems"), count(ops, "Scan")), (1, 2, 0), "{ops:?}");

    let (stats, counted) = bourse_telemetry::measured(c.send("GET", STATS, "", None, &[])).await;
    let ops = &counted.dynamodb_operations;
    assert_eq!((count(ops, "Query"), count(ops, "Scan")), (1, 0), "{ops:?}");
    let stats = json_body(&stats);
    assert_eq!(stats["total"], 100);
    assert_eq!(stats["by_symbol"].as_array().unwrap().iter().map(|s| s["total"].as_u64().unwrap()).collect::<Vec<_>>(), [20; 5]);

    let too_many: Vec<Value> = (0..101).map(|_| signal("AAPL", "LONG", "10", 50)).collect();
    let doc = c.expect(400, "POST", &format!("{SIGNALS}/bulk"), "", Some(json!({"signals": too_many}))).await;
    assert_eq!(doc["errors"][0]["field"], "body.signals");
    c.expect(400, "POST", &format!("{SIGNALS}/bulk"), "", Some(json!({"signals": []}))).await;
    let mut one_bad: Vec<Value> = (0..10).map(|_| signal("AAPL", "LONG", "10", 50)).collect();
    one_bad[3]["confidence"] = json!(101);
    one_bad[7]["entry_price"] = json!("0");
    let doc = c.expect(400, "POST", &format!("{SIGNALS}/bulk"), "", Some(json!({"signals": one_bad}))).await;
    let fields: Vec<&str> = doc["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["body.signals[3].confidence", "body.signals[7].entry_price"], "{doc}");
    let mut wrong_type: Vec<Value> = (0..5).map(|_| signal("AAPL", "LONG", "10", 50)).collect();
    wrong_type[2]["confidence"] = json!("high");
    let doc = c.expect(400, "POST", &format!("{SIGNALS}/bulk"), "", Some(json!({"signals": wrong_type}))).await;
    assert_eq!(doc["errors"][0]["field"], "body.signals[2].confidence", "{doc}");
    assert_eq!(c.stats().await["total"], 100, "nothing of a refused bulk was written");
    assert_eq!(c.list_all("", 100).await.len(), 100);
}

#[tokio::test]
async fn closing_twice_is_a_conflict_and_a_replayed_key_creates_once() {
    let auth = auth().await;
    let c = journal(&auth).await;
    let key = [("idempotency-key", "signal-7f3a")];
    let body = json!({"symbol": "nflx", "direction": "SHORT", "entry_price": "400.00", "target_price": "350", "stop_price": "420.5",
        "confidence": 70, "source": "rsi-overbought", "note": "earnings run-up", "opened_at": "2026-01-05T14:30:00Z"});
    let first = c.send("POST", SIGNALS, "", Some(body.clone()), &key).await;
    let second = c.send("POST", SIGNALS, "", Some(body.clone()), &key).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (201, 201));
    assert_eq!(json_body(&first), json_body(&second));
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let created = json_body(&first);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(first.headers()["location"], format!("{SIGNALS}/{id}"));
    assert_eq!(
        (created["symbol"].as_str(), created["entry_price"].as_str(), created["stop_price"].as_str()),
        (Some("NFLX"), Some("400"), Some("420.5"))
    );
    assert_eq!(created["opened_at"], "2026-01-05T14:30:00Z");
    assert_eq!(c.list_all("", 100).await.len(), 1, "the replay created nothing");

    let close = format!("{SIGNALS}/{id}/close");
    let bad = [
        json!({"exit_price": "380", "closed_at": "2026-01-01T00:00:00Z"}),
        json!({"exit_price": "380", "closed_at": "2999-01-01T00:00:00Z"}),
        json!({"exit_price": "380", "closed_at": "yesterday"}),
        json!({"exit_price": "-1"}),
        json!({"exit_price": 380}),
        json!({"exit_price": "380", "extra": true}),
    ];
    for body in bad {
        let response = c.send("POST", &close, "", Some(body.clone()), &[]).await;
        assert_eq!(response.status(), 400, "{body}: {}", json_body(&response));
    }
    let closed = c
        .expect(200, "POST", &close, "", Some(json!({"exit_price": "380", "closed_at": "2026-02-01T15:00:00Z", "note": "took profit"})))
        .await;
    // SHORT from 400 to 380: (400 − 380) / 400 × 100 = 5.
    assert_eq!(
        (closed["return_pct"].as_str(), closed["outcome"].as_str(), closed["close_note"].as_str()),
        (Some("5"), Some("WIN"), Some("took profit"))
    );
    let again = c.send("POST", &close, "", Some(json!({"exit_price": "390"})), &[]).await;
    assert_eq!(again.status(), 409, "{}", json_body(&again));
    assert_eq!(c.expect(200, "GET", &format!("{SIGNALS}/{id}"), "", None).await, closed);
    let stats = c.stats().await;
    assert_eq!(stats["closed"]["count"], 1);
    assert_eq!(stats["closed"]["average_return_pct"], "5");

    // Deleting removes its contribution in the same transaction.
    c.expect(204, "DELETE", &format!("{SIGNALS}/{id}"), "", None).await;
    c.expect(404, "DELETE", &format!("{SIGNALS}/{id}"), "", None).await;
    let stats = c.stats().await;
    assert_eq!(
        (stats["total"].as_u64(), &stats["closed"]["median_return_pct"], stats["by_symbol"].as_array().map(Vec::len)),
        (Some(0), &Value::Null, Some(0)),
        "{stats}"
    );
}

#[tokio::test]
async fn request_costs_per_route() {
    let auth = auth().await;
    let c = journal(&auth).await;
    let mut costs = Vec::new();
    // One request first, so the session's revocation check is cached and no route below pays it.
    c.expect(200, "GET", STATS, "", None).await;
    let mut measure = async |name: &str, method: &str, path: String, query: &str, body: Option<Value>| {
        let (response, counted) = bourse_telemetry::measured(c.send(method, &path, query, body, &[])).await;
        assert!(response.status().is_success(), "{name}: {}", json_body(&response));
        // The usage meter's UpdateItem is not the route's.
        let mut ops = counted.dynamodb_operations.clone();
        if let Some(at) = ops.iter().position(|o| o == "UpdateItem") {
            ops.remove(at);
        }
        costs.push(format!("{name}: {ops:?}"));
        (json_body(&response), ops)
    };
    // Exactly what docs/table-design.md states for each route (no race here, so one attempt).
    let (created, ops) = measure("create", "POST", SIGNALS.into(), "", Some(signal("IBM", "LONG", "200", 60))).await;
    assert_eq!(ops, ["BatchGetItem", "TransactWriteItems"], "create: 1 BatchGetItem + 1 TransactWriteItems");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, ops) = measure("get", "GET", format!("{SIGNALS}/{id}"), "", None).await;
    assert_eq!(ops, ["GetItem"], "get: 1 GetItem");
    let (_, ops) = measure("list", "GET", SIGNALS.into(), "symbol=IBM&min_confidence=10", None).await;
    assert_eq!(ops, ["Query"], "list: 1 Query per page, one page here");
    let (_, ops) = measure("close", "POST", format!("{SIGNALS}/{id}/close"), "", Some(json!({"exit_price": "210"}))).await;
    assert_eq!(ops, ["GetItem", "GetItem", "TransactWriteItems"], "close: 2 GetItem + 1 TransactWriteItems");
    let (_, ops) = measure("stats", "GET", STATS.into(), "", None).await;
    assert_eq!(ops, ["Query"], "stats: 1 Query");
    let (_, ops) = measure("delete", "DELETE", format!("{SIGNALS}/{id}"), "", None).await;
    assert_eq!(ops, ["GetItem", "GetItem", "TransactWriteItems"], "delete: 2 GetItem + 1 TransactWriteItems");
    for ops in &costs {
        assert!(!ops.contains("Scan"), "{ops}");
    }
    eprintln!("journal request costs (besides the usage meter):\n  {}", costs.join("\n  "));
}

/// Through the API: a symbol whose statistics already hold the most closed signals they may
/// (20,000, planted directly — closing that many through the API would take minutes) refuses to
/// close one more with 422 naming the signal, and the signal stays open and counted as before.
#[tokio::test]
async fn closing_beyond_the_closed_signal_cap_is_422_and_changes_nothing() {
    let auth = auth().await;
    let c = journal(&auth).await;
    let created = c.create(signal("CAPX", "LONG", "10", 50)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let user = bourse_domain::UserId::parse(
        json_body(&auth.serve(event("GET", "/v1/me", "", None, Some(&c.token), &random_ip())).await)["user_id"].as_str().unwrap(),
    )
    .unwrap();
    let p = platform("portfolio");
    let table = p.config.require_app_table().unwrap();
    let symbol = bourse_domain::Symbol::parse("CAPX").unwrap();
    let current = bourse_storage::journal::get_stats(&p.aws, table, &user, &symbol).await.unwrap();
    let cap = bourse_domain::journal::MAX_CLOSED_PER_SYMBOL;
    let full = bourse_domain::journal::SymbolStats {
        open: 1,
        closed: cap,
        wins: cap,
        sum_returns: Decimal::from(cap),
        returns: vec![Decimal::ONE; cap as usize],
        ..Default::default()
    };
    bourse_storage::journal::create_signals(&p.aws, table, &user, &[], &[(&symbol, &full, current.version)]).await.unwrap();
    let refused = c.send("POST", &format!("{SIGNALS}/{id}/close"), "", Some(json!({"exit_price": "11"})), &[]).await;
    let problem = json_body(&refused);
    assert_eq!(refused.status(), 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "path.signalId", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("20000"), "{problem}");
    assert_eq!(c.expect(200, "GET", &format!("{SIGNALS}/{id}"), "", None).await["status"], "OPEN");
    let stats = bourse_storage::journal::get_stats(&p.aws, table, &user, &symbol).await.unwrap();
    assert_eq!((stats.stats.open, stats.stats.closed), (1, cap), "the statistics are as they were");
}
