//! Saved screens and alerts against DynamoDB Local with the seeded universe: the routes (a screen
//! run over the universe, a portfolio's holdings and a watchlist; alerts of each kind), plan
//! limits, bad input, another user's ids; the consumer's evaluation — an alert fires once per
//! crossing, re-arms when its condition clears, and a redelivered evaluation changes nothing; a
//! crossing recorded but not yet told is told once; saved-screen alerts report gained and lost
//! matches; and a refresh of 500 symbols carrying 10,000 alerts reads one Query per changed
//! symbol (counted), never more.

mod auth_support;
mod portfolio_support;

use bourse_domain::alerts::{AlertRule, Observation};
use bourse_domain::inbox::NotificationKind;
use bourse_domain::{AlertId, Symbol, UserId};
use bourse_integration_tests::{json_body, platform, random_user_id, user_of};
use bourse_storage::alerts::{self as store, AlertRecord};
use enrich_consumer_fn::Consumer;
use portfolio_support::{auth, client, new_portfolio};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::str::FromStr;

fn table() -> String {
    std::env::var("APP_TABLE").expect("APP_TABLE")
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

async fn consumer() -> Consumer {
    Consumer::new(platform("enrich-consumer")).await.unwrap()
}

/// Symbols no other test uses: the index partition `ALERTSYM#<symbol>` holds this test's alerts only.
fn fresh_symbols(n: usize) -> Vec<Symbol> {
    let run = bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()[..5].to_ascii_uppercase();
    (0..n).map(|i| Symbol::parse(&format!("Q{run}{i:03}")).unwrap()).collect()
}

fn alert(user: &UserId, rule: AlertRule) -> AlertRecord {
    AlertRecord {
        user: user.clone(),
        id: AlertId::from_random(bourse_domain::random::bytes(&bourse_domain::random::OsRandom).unwrap()),
        rule,
        armed: true,
        crossings: 0,
        pending: None,
        matches: BTreeSet::new(),
        last_fired_at: None,
        created_at: "2026-12-01T00:00:00Z".into(),
    }
}

fn price(p: &str) -> Observation {
    Observation { price: Some(d(p)), change_pct: Some(d("0.5")), signals: vec![] }
}

async fn inbox_of(user: &UserId) -> Vec<bourse_storage::inbox::Notification> {
    let p = platform("portfolio");
    bourse_storage::inbox::list(&p.aws, &table(), user, 100, None, false).await.unwrap().0
}

async fn stored(a: &AlertRecord) -> AlertRecord {
    let p = platform("portfolio");
    store::get_alert(&p.aws, &table(), &a.user, &a.id).await.unwrap().unwrap()
}

#[tokio::test]
async fn screens_and_alerts_live_their_whole_life_and_belong_to_their_owner() {
    let auth = auth().await;
    let c = client(&auth).await;
    let created = c.call("POST", "/v1/screens", Some(json!({"name": " Two ", "filter": "symbol in ('AAPL', 'MSFT')", "sort": "symbol", "order": "asc", "columns": ["price", "pe"]}))).await;
    assert_eq!(created.status(), 201, "{}", json_body(&created));
    let screen = json_body(&created);
    assert_eq!((screen["name"].as_str(), screen["columns"].clone()), (Some("Two"), json!(["price", "pe"])));
    let id = screen["id"].as_str().unwrap().to_owned();
    let one = format!("/v1/screens/{id}");

    // Over the universe, from memory: the screen's GetItem and the meter only, once warm.
    let results_path = format!("{one}/results");
    let results = async |query: &str| c.call_with("GET", &results_path, query, None, &[]).await;
    assert_eq!(results("").await.status(), 200);
    let (run, counted) = bourse_telemetry::measured(results("")).await;
    let body = json_body(&run);
    assert_eq!(run.status(), 200, "{body}");
    let symbols = |b: &Value| b["items"].as_array().unwrap().iter().map(|i| i["symbol"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(symbols(&body), ["AAPL", "MSFT"]);
    assert_eq!((body["scope"].as_str(), body["total"].as_u64()), (Some("universe"), Some(2)));
    assert!(body["items"][0]["values"]["price"].is_string(), "{body}");
    // The screen (GetItem) and the meter (UpdateItem); the universe comes from memory (at most a
    // GetItem of its version, when the once-a-second revalidation finds the cache cold).
    let ops = &counted.dynamodb_operations;
    assert!(!ops.iter().any(|o| o == "Query" || o == "BatchGetItem"), "{ops:?}");
    assert!(ops.iter().filter(|o| *o == "GetItem").count() <= 2 && ops.len() <= 3, "{ops:?}");
    let first = json_body(&results("limit=1").await);
    assert_eq!(symbols(&first), ["AAPL"]);
    let next = json_body(&results(&format!("limit=1&cursor={}", first["next_cursor"].as_str().unwrap())).await);
    assert_eq!((symbols(&next), next.get("next_cursor")), (vec!["MSFT".to_owned()], None));

    // Over a portfolio's holdings and a watchlist's symbols.
    let portfolio = new_portfolio(&c).await;
    for symbol in ["AAPL", "NVDA"] {
        let tx = json!({"type": "BUY", "symbol": symbol, "trade_date": "2026-01-05", "quantity": "1", "price": "100"});
        assert_eq!(c.call("POST", &format!("/v1/portfolios/{portfolio}/transactions"), Some(tx)).await.status(), 201);
    }
    let held = json_body(&results(&format!("portfolio_id={portfolio}")).await);
    assert_eq!((symbols(&held), held["scope"].as_str()), (vec!["AAPL".to_owned()], Some("portfolio")));
    let list = json_body(&c.call("POST", "/v1/watchlists", Some(json!({"name": "w", "symbols": ["NVDA", "MSFT"]}))).await);
    let watched = json_body(&results(&format!("watchlist_id={}", list["id"].as_str().unwrap())).await);
    assert_eq!((symbols(&watched), watched["scope"].as_str()), (vec!["MSFT".to_owned()], Some("watchlist")));
    let both = results(&format!("portfolio_id={portfolio}&watchlist_id={}", list["id"].as_str().unwrap())).await;
    assert_eq!(both.status(), 400);

    // Change it: a new filter, the rest kept.
    let changed = c.call("PATCH", &one, Some(json!({"filter": "symbol = 'NVDA'"}))).await;
    assert_eq!(changed.status(), 200, "{}", json_body(&changed));
    assert_eq!(json_body(&changed)["columns"], json!(["price", "pe"]));
    assert_eq!(symbols(&json_body(&results(&format!("portfolio_id={portfolio}")).await)), ["NVDA"]);

    // Alerts of every kind.
    let kinds = [
        json!({"kind": "price-above", "symbol": "AAPL", "price": "500"}),
        json!({"kind": "price-below", "symbol": "aapl", "price": "50.25"}),
        json!({"kind": "day-move", "symbol": "MSFT", "percent": "4"}),
        json!({"kind": "signal", "symbol": "MSFT", "signal": "golden-cross"}),
        json!({"kind": "screen", "screen_id": id, "on": "gained"}),
    ];
    let mut alerts = Vec::new();
    for body in &kinds {
        let created = c.call("POST", "/v1/alerts", Some(body.clone())).await;
        assert_eq!(created.status(), 201, "{body}: {}", json_body(&created));
        let view = json_body(&created);
        assert_eq!(
            (view["kind"].clone(), view["armed"].as_bool(), view["fired_count"].as_u64()),
            (body["kind"].clone(), Some(true), Some(0))
        );
        alerts.push(view["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(json_body(&c.call("GET", "/v1/alerts", None).await)["items"].as_array().unwrap().len(), kinds.len());
    let first_alert = format!("/v1/alerts/{}", alerts[0]);
    assert_eq!(json_body(&c.call("GET", &first_alert, None).await)["price"], "500");
    let replaced = c.call("PUT", &first_alert, Some(json!({"kind": "price-below", "symbol": "AAPL", "price": "10"}))).await;
    assert_eq!(replaced.status(), 200, "{}", json_body(&replaced));
    assert_eq!(json_body(&replaced)["kind"], "price-below");

    // The export holds them.
    let export = json_body(&c.call("GET", "/v1/me/export", None).await);
    assert_eq!(export["screens"].as_array().unwrap().len(), 1);
    assert_eq!(export["alerts"].as_array().unwrap().len(), kinds.len());

    // Someone else sees none of it, under any route.
    let other = client(&auth).await;
    for (method, path, body) in [
        ("GET", one.clone(), None),
        ("GET", format!("{one}/results"), None),
        ("PATCH", one.clone(), Some(json!({"name": "mine"}))),
        ("DELETE", one.clone(), None),
        ("GET", first_alert.clone(), None),
        ("PUT", first_alert.clone(), Some(json!({"kind": "price-above", "symbol": "AAPL", "price": "1"}))),
        ("DELETE", first_alert.clone(), None),
    ] {
        assert_eq!(other.call(method, &path, body).await.status(), 404, "{method} {path}");
    }
    let theirs = other.call("POST", "/v1/alerts", Some(json!({"kind": "screen", "screen_id": id}))).await;
    assert_eq!(theirs.status(), 422, "another user's screen is not one to watch");
    assert_eq!(json_body(&theirs)["errors"][0]["field"], "body.screen_id");

    assert_eq!(c.call("DELETE", &first_alert, None).await.status(), 204);
    assert_eq!(c.call("GET", &first_alert, None).await.status(), 404);
    assert_eq!(c.call("DELETE", &one, None).await.status(), 204);
    assert_eq!(c.call("GET", &format!("{one}/results"), None).await.status(), 404);
}

#[tokio::test]
async fn bad_input_is_a_4xx_on_the_field_at_fault_and_plan_limits_hold() {
    let auth = auth().await;
    let c = client(&auth).await;
    for (path, body, status, field) in [
        ("/v1/screens", json!({"name": "x", "filter": "pe <"}), 400, "body.filter"),
        ("/v1/screens", json!({"name": "", "filter": "pe < 1"}), 400, "body.name"),
        ("/v1/screens", json!({"name": "x", "filter": "pe < 1", "columns": ["pe", "colour"]}), 400, "body.columns[1]"),
        ("/v1/screens", json!({"name": "x", "filter": "pe < 1", "sort": "colour"}), 400, "body.sort"),
        ("/v1/alerts", json!({"kind": "price-above", "symbol": "AAPL"}), 400, "body.price"),
        ("/v1/alerts", json!({"kind": "price-above", "symbol": "AAPL", "price": "-1"}), 400, "body.price"),
        ("/v1/alerts", json!({"kind": "day-move", "symbol": "AAPL", "percent": "2", "price": "1"}), 400, "body.price"),
        ("/v1/alerts", json!({"kind": "signal", "symbol": "AAPL", "signal": "moon"}), 400, "body.signal"),
        ("/v1/alerts", json!({"kind": "weather", "symbol": "AAPL"}), 400, "body.kind"),
        ("/v1/alerts", json!({"kind": "price-above", "symbol": "ZZZZZZ", "price": "1"}), 422, "body.symbol"),
        ("/v1/alerts", json!({"kind": "screen", "screen_id": "0".repeat(32)}), 422, "body.screen_id"),
    ] {
        let response = c.call("POST", path, Some(body.clone())).await;
        assert_eq!(response.status(), status, "{body}: {}", json_body(&response));
        assert_eq!(json_body(&response)["errors"][0]["field"], field, "{body}");
    }
    let unknown = c.call("POST", "/v1/alerts", Some(json!({"kind": "price-above", "symbol": "AAPL", "price": "1", "extra": 1}))).await;
    assert_eq!(unknown.status(), 400);
    for path in ["/v1/screens/not-an-id", "/v1/alerts/not-an-id", "/v1/screens/not-an-id/results"] {
        assert_eq!(c.call("GET", path, None).await.status(), 404, "{path}");
    }

    let plan = bourse_domain::Plan::Free;
    let screens = bourse_domain::saved_screen::max_screens(plan);
    for i in 0..screens {
        let created = c.call("POST", "/v1/screens", Some(json!({"name": format!("s{i}"), "filter": "pe < 15"}))).await;
        assert_eq!(created.status(), 201);
    }
    let over = c.call("POST", "/v1/screens", Some(json!({"name": "too many", "filter": "pe < 15"}))).await;
    assert_eq!(over.status(), 422);
    assert!(json_body(&over)["errors"][0]["reason"].as_str().unwrap().contains(&format!("limit: {screens}")), "{}", json_body(&over));
    let alerts = bourse_domain::alerts::max_alerts(plan);
    for i in 0..alerts {
        let created =
            c.call("POST", "/v1/alerts", Some(json!({"kind": "price-above", "symbol": "AAPL", "price": format!("{}", 1000 + i)}))).await;
        assert_eq!(created.status(), 201, "{}", json_body(&created));
    }
    let over = c.call("POST", "/v1/alerts", Some(json!({"kind": "price-below", "symbol": "AAPL", "price": "1"}))).await;
    assert_eq!(over.status(), 422);
    assert!(json_body(&over)["errors"][0]["reason"].as_str().unwrap().contains(&format!("limit: {alerts}")), "{}", json_body(&over));
}

#[tokio::test]
async fn an_alert_fires_once_per_crossing_rearms_when_it_clears_and_redelivery_changes_nothing() {
    let p = platform("enrich-consumer");
    let consumer = consumer().await;
    let symbol = fresh_symbols(1).remove(0);
    let user = random_user_id();
    let above = alert(&user, AlertRule::PriceAbove { symbol: symbol.clone(), price: d("100") });
    store::put_alerts_unchecked(&p.aws, &table(), std::slice::from_ref(&above)).await.unwrap();

    // Below: nothing. Above: fires; the same evaluation delivered again (an SQS redelivery of the
    // message) finds the crossing recorded and fires nothing.
    let message = |seen: &Observation| {
        let body = serde_json::to_string(&bourse_domain::messages::QueueMessage::EvaluateAlerts {
            symbol: symbol.clone(),
            seen: seen.clone(),
            after: None,
        })
        .unwrap();
        let mut record = aws_lambda_events::sqs::SqsMessage::default();
        record.message_id = Some(format!("m-{}", bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()));
        record.body = Some(body);
        let mut batch = aws_lambda_events::sqs::SqsEvent::default();
        batch.records = vec![record];
        batch
    };
    assert_eq!(consumer.evaluate_symbol_alerts(&symbol, &price("99"), None).await.unwrap().fired, 0);
    assert!(inbox_of(&user).await.is_empty());
    for _ in 0..3 {
        assert!(consumer.consume(message(&price("101"))).await.batch_item_failures.is_empty());
    }
    let notes = inbox_of(&user).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!((notes[0].kind, notes[0].link.clone()), (NotificationKind::AlertFired, Some(format!("/v1/alerts/{}", above.id))));
    assert!(notes[0].body.contains("101"), "{}", notes[0].body);
    let state = stored(&above).await;
    assert_eq!((state.armed, state.crossings, state.pending.is_none()), (false, 1, true));

    // Still above: nothing. Below: re-armed (no notification). Above again: a second crossing.
    assert_eq!(consumer.evaluate_symbol_alerts(&symbol, &price("120"), None).await.unwrap().fired, 0);
    let cleared = consumer.evaluate_symbol_alerts(&symbol, &price("95"), None).await.unwrap();
    assert_eq!((cleared.fired, cleared.rearmed), (0, 1));
    assert!(stored(&above).await.armed);
    assert_eq!(inbox_of(&user).await.len(), 1);
    assert_eq!(consumer.evaluate_symbol_alerts(&symbol, &price("100"), None).await.unwrap().fired, 1);
    let notes = inbox_of(&user).await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_ne!(notes[0].id, notes[1].id);
    assert_eq!(stored(&above).await.crossings, 2);
    assert_eq!(bourse_storage::inbox::unread_count(&p.aws, &table(), &user).await.unwrap(), 2);
    // Unknown data changes nothing.
    let unknown = Observation::default();
    let none = consumer.evaluate_symbol_alerts(&symbol, &unknown, None).await.unwrap();
    assert_eq!((none.evaluated, none.fired, none.rearmed), (1, 0, 0));
}

#[tokio::test]
async fn a_crossing_recorded_but_not_told_is_told_once_by_the_next_evaluation() {
    let p = platform("enrich-consumer");
    let consumer = consumer().await;
    let symbol = fresh_symbols(1).remove(0);
    let user = random_user_id();
    let below = alert(&user, AlertRule::PriceBelow { symbol: symbol.clone(), price: d("10") });
    store::put_alerts_unchecked(&p.aws, &table(), std::slice::from_ref(&below)).await.unwrap();
    // An evaluation that recorded the crossing and stopped before telling (its invocation died).
    let pending = store::Pending { crossing: 1, at_millis: 1_795_642_200_000, title: "t".into(), body: "b".into() };
    assert!(store::record_fired(&p.aws, &table(), &below, &pending, "2026-11-25T21:30:00Z", None).await.unwrap());
    assert!(!store::record_fired(&p.aws, &table(), &below, &pending, "2026-11-25T21:30:00Z", None).await.unwrap(), "recorded once");
    assert!(inbox_of(&user).await.is_empty());
    for _ in 0..2 {
        let done = consumer.evaluate_symbol_alerts(&symbol, &price("5"), None).await.unwrap();
        assert_eq!(done.fired, 0, "the crossing was already recorded");
    }
    let notes = inbox_of(&user).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!((notes[0].title.as_str(), notes[0].id.as_str().starts_with("1795642200000-")), ("t", true));
    let state = stored(&below).await;
    assert_eq!((state.crossings, state.pending, state.armed), (1, None, false));
}

#[tokio::test]
async fn saved_screen_alerts_report_gained_and_lost_matches_once() {
    let auth = auth().await;
    let c = client(&auth).await;
    let user = user_of(&c.token);
    let p = platform("enrich-consumer");
    let app_table = table();
    let consumer = consumer().await;
    let version = bourse_storage::market::universe_version(&p.aws, &std::env::var("MARKET_TABLE").unwrap()).await.unwrap();
    let screen = json_body(&c.call("POST", "/v1/screens", Some(json!({"name": "Pair", "filter": "symbol in ('AAPL', 'MSFT')"}))).await);
    let screen_id = screen["id"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for on in ["gained", "lost", "any"] {
        let created = json_body(&c.call("POST", "/v1/alerts", Some(json!({"kind": "screen", "screen_id": screen_id, "on": on}))).await);
        ids.push(AlertId::parse(created["id"].as_str().unwrap()).unwrap());
    }
    let records: Vec<AlertRecord> = futures_util::future::join_all(ids.iter().map(|id| store::get_alert(&p.aws, &app_table, &user, id)))
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let now: BTreeSet<Symbol> = ["AAPL", "MSFT"].iter().map(|s| Symbol::parse(s).unwrap()).collect();
    assert_eq!(records[0].matches, now, "an alert starts from the screen's matches when it was made");

    // Every page of screen alerts (other tests' too: only this user's inbox is looked at).
    let consumer = &consumer;
    let evaluate_all = move || async move {
        let mut after: Option<String> = None;
        loop {
            let done = consumer.evaluate_screen_alerts(version, after.as_deref()).await.unwrap();
            match done.next {
                Some(next) => after = Some(next),
                None => return,
            }
        }
    };
    // Nothing changed: nothing fires.
    evaluate_all().await;
    assert!(inbox_of(&user).await.is_empty());

    // As if the last universe had matched AAPL and NVDA: MSFT is gained, NVDA lost.
    let before: BTreeSet<Symbol> = ["AAPL", "NVDA"].iter().map(|s| Symbol::parse(s).unwrap()).collect();
    let rewound: Vec<AlertRecord> = records.iter().map(|r| AlertRecord { matches: before.clone(), ..r.clone() }).collect();
    store::put_alerts_unchecked(&p.aws, &table(), &rewound).await.unwrap();
    evaluate_all().await;
    evaluate_all().await; // redelivered: the new match set is stored, nothing fires again
    let notes = inbox_of(&user).await;
    assert_eq!(notes.len(), 3, "gained, lost and any each fired once: {notes:?}");
    assert!(notes.iter().all(|n| n.body == "New matches: MSFT. No longer matching: NVDA."), "{notes:?}");
    for id in &ids {
        let state = store::get_alert(&p.aws, &table(), &user, id).await.unwrap().unwrap();
        assert_eq!((state.matches.clone(), state.crossings), (now.clone(), 1));
    }

    // Only a loss: the "gained" alert stores the new set without firing; the others fire.
    let only_loss: BTreeSet<Symbol> = ["AAPL", "MSFT", "NVDA"].iter().map(|s| Symbol::parse(s).unwrap()).collect();
    let current: Vec<AlertRecord> = futures_util::future::join_all(ids.iter().map(|id| store::get_alert(&p.aws, &app_table, &user, id)))
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let rewound: Vec<AlertRecord> = current.iter().map(|r| AlertRecord { matches: only_loss.clone(), ..r.clone() }).collect();
    store::put_alerts_unchecked(&p.aws, &table(), &rewound).await.unwrap();
    evaluate_all().await;
    let notes = inbox_of(&user).await;
    assert_eq!(notes.len(), 5, "{notes:?}");
    let gained = store::get_alert(&p.aws, &table(), &user, &ids[0]).await.unwrap().unwrap();
    assert_eq!((gained.crossings, gained.matches), (1, now.clone()));
    assert_eq!(store::get_alert(&p.aws, &table(), &user, &ids[1]).await.unwrap().unwrap().crossings, 2);
}

#[tokio::test]
async fn a_refresh_of_500_symbols_with_10000_alerts_reads_one_query_per_changed_symbol() {
    let p = platform("enrich-consumer");
    let consumer = consumer().await;
    let symbols = fresh_symbols(500);
    // 20 alerts per symbol, over 200 users: 19 "above" 101..119 and one "below 20", so a price
    // under 20 crosses exactly one alert of each symbol.
    let users: Vec<UserId> = (0..200).map(|_| random_user_id()).collect();
    let mut alerts = Vec::with_capacity(10_000);
    for (s, symbol) in symbols.iter().enumerate() {
        for k in 1..=20 {
            let user = &users[(s * 20 + k) % users.len()];
            let rule = if k == 20 {
                AlertRule::PriceBelow { symbol: symbol.clone(), price: d("20") }
            } else {
                AlertRule::PriceAbove { symbol: symbol.clone(), price: Decimal::from(k) + d("100") }
            };
            alerts.push(alert(user, rule));
        }
    }
    store::put_alerts_unchecked(&p.aws, &table(), &alerts).await.unwrap();
    assert_eq!(alerts.len(), 10_000);

    // The refresh: every symbol's new data against its old; half of them moved. Only those are
    // evaluated, each with one Query (all its 20 alerts fit one page).
    let mut fired = 0;
    let (evaluated, total) = bourse_telemetry::measured(async {
        let mut evaluated = 0;
        for (i, symbol) in symbols.iter().enumerate() {
            let mut before = bourse_domain::stock::Stock::new(symbol.clone(), symbol.to_string());
            before.set(bourse_domain::stock::Metric::Price, Some(d("19.5")));
            let mut after = before.clone();
            if i % 2 == 0 {
                after.set(bourse_domain::stock::Metric::Price, Some(d("19.4")));
            }
            let (seen, changed) = enrich_consumer_fn::alerts::observation(&before, &after, &[]);
            if !changed {
                continue;
            }
            let (done, counted) = bourse_telemetry::measured(consumer.evaluate_symbol_alerts(symbol, &seen, None)).await;
            let done = done.unwrap();
            assert_eq!((done.evaluated, done.next.clone()), (20, None), "{symbol}");
            let count = |op: &str| counted.dynamodb_operations.iter().filter(|o| o.as_str() == op).count();
            assert_eq!(done.fired, 1, "{symbol}");
            // One Query for the symbol's alerts; per fired alert: the crossing recorded, the
            // notification, its user's delivery settings (a Query of the inbox partition: no
            // webhook, e-mail off, so nothing is queued) and the pending mark cleared.
            assert_eq!(
                (count("Query"), count("UpdateItem"), count("TransactWriteItems")),
                (2, 2, 1),
                "{symbol}: {:?}",
                counted.dynamodb_operations
            );
            assert_eq!(counted.dynamodb_requests(), 5, "{symbol}: {:?}", counted.dynamodb_operations);
            fired += done.fired;
            evaluated += done.evaluated;
        }
        evaluated
    })
    .await;
    assert_eq!(evaluated, 5_000, "the 250 changed symbols' alerts, and no other");
    let count = |op: &str| total.dynamodb_operations.iter().filter(|o| o.as_str() == op).count();
    assert_eq!((count("Query"), count("UpdateItem"), count("TransactWriteItems")), (500, 500, 250));
    assert_eq!(total.dynamodb_requests(), 1_250, "5 requests per changed symbol with one crossing, nothing else");
    assert_eq!(fired, 250);

    // A symbol with more alerts than a page: one Query per page of 100, continued after the last.
    let crowded = fresh_symbols(1).remove(0);
    let many: Vec<AlertRecord> =
        (0..150).map(|i| alert(&users[i % users.len()], AlertRule::PriceAbove { symbol: crowded.clone(), price: d("1000") })).collect();
    store::put_alerts_unchecked(&p.aws, &table(), &many).await.unwrap();
    let (first, counted) = bourse_telemetry::measured(consumer.evaluate_symbol_alerts(&crowded, &price("1"), None)).await;
    let first = first.unwrap();
    assert_eq!((first.evaluated, counted.dynamodb_operations.clone()), (100, vec!["Query".to_owned()]));
    let after = first.next.expect("a second page");
    let (second, counted) = bourse_telemetry::measured(consumer.evaluate_symbol_alerts(&crowded, &price("1"), Some(&after))).await;
    let second = second.unwrap();
    assert_eq!((second.evaluated, second.next, counted.dynamodb_operations.clone()), (50, None, vec!["Query".to_owned()]));
}
