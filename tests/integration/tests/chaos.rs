//! The fault-injection suite: real journeys (sign up, a portfolio, buys, signals, an enrichment
//! job) run by several users at once while the platform fails under them — DynamoDB down for
//! seconds (every connection dropped, through the fault proxy), Redis stopped and restarted, the
//! consumer killed in the middle of batches, the market-data provider answering 429 and 5xx
//! storms, and every SQS message delivered twice. Clients behave as the API asks: they retry a
//! 503, a 429 and a 409 "in progress" with the same Idempotency-Key.
//!
//! Afterwards: every acknowledged write is present exactly once, every holding equals its
//! transactions, every job completes, no answer was a 5xx other than 503, and nothing panicked.
//! Bounded (a few seconds of faults, loopback only) and run in CI with the other tests.

mod auth_support;

use auth_support::{event, random_ip, signed_in, with_headers};
use bourse_domain::ManualClock;
use bourse_domain::jobs::JobId;
use bourse_integration_tests::faults::DynamoFaults;
use bourse_integration_tests::{ensure_resources, json_body, platform, repo_root, stop_redis};
use bourse_providers::stub::{StubConfig, StubFormat, StubServer};
use bourse_providers::{Provider, RateLimiter};
use enrich_consumer_fn::Consumer;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const USERS: usize = 6;
const BUYS: usize = 10;
const SIGNALS: usize = 3;

#[derive(Default)]
struct Tally {
    requests: AtomicUsize,
    unavailable: AtomicUsize,
    in_progress: AtomicUsize,
    throttled: AtomicUsize,
    /// 5xx other than 503: must stay 0.
    server_errors: AtomicUsize,
}

type App<R, H> = bourse_http::HttpApp<R, H>;

/// Sends a request until it is answered for good, as a well-behaved client does: the same
/// request (same Idempotency-Key) again after a 503, a 429 or a 409 "in progress". Returns the
/// final status and body.
async fn until_answered<R, H>(
    app: &App<R, H>,
    tally: &Tally,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: &str,
    key: Option<&str>,
) -> (u16, Value)
where
    R: Copy + Send + Sync + std::fmt::Debug + 'static,
    H: bourse_http::Handler<R>,
{
    for _ in 0..200 {
        let text = body.map(Value::to_string);
        let mut request = event(method, path, "", text.as_deref(), Some(token), &random_ip());
        if let Some(key) = key {
            request = with_headers(request, &[("idempotency-key", key)]);
        }
        tally.requests.fetch_add(1, Ordering::SeqCst);
        let response = app.serve(request).await;
        let status = response.status().as_u16();
        let json = json_body(&response);
        match status {
            503 => tally.unavailable.fetch_add(1, Ordering::SeqCst),
            429 => tally.throttled.fetch_add(1, Ordering::SeqCst),
            409 if json["detail"].as_str().is_some_and(|d| d.contains("still being processed")) => {
                tally.in_progress.fetch_add(1, Ordering::SeqCst)
            }
            500..=599 => {
                tally.server_errors.fetch_add(1, Ordering::SeqCst);
                panic!("{method} {path}: {status} {json}");
            }
            _ => return (status, json),
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    panic!("{method} {path} was never answered");
}

struct Journey {
    token: String,
    portfolio: String,
    /// Acknowledged transactions: id → (symbol, price).
    buys: BTreeMap<String, (String, Decimal)>,
    signals: HashSet<String>,
    job: JobId,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_under_faults_lose_nothing_and_double_nothing() {
    ensure_resources().await;
    let stack = bourse_devtools::stack::isolated_stack(&platform("enrich-consumer"), &repo_root(), "chaos", 11, Some(1)).await.unwrap();
    let direct = stack.platform.clone();
    let queue = stack.queue_urls["EnrichQueue"].clone();
    let proxy = DynamoFaults::in_front_of_the_stand_in().await;
    let through = proxy.route(&direct);
    let clock = Arc::new(ManualClock::new(auth_support::now()));
    let auth = auth_fn::app(through.clone().with_clock(clock.clone())).unwrap();
    let portfolios = portfolio_fn::app(through.clone()).unwrap();
    let screener = screener_fn::app(through.clone()).unwrap();

    // A provider that rate-limits below what the consumers ask for (429s) and fails every 7th
    // request (a 5xx storm).
    let mut stub_config = StubConfig::new(StubFormat::YahooChart);
    stub_config.rate_per_second = Some(8);
    stub_config.fail_every = Some(7);
    let stub = StubServer::start(stub_config).await.unwrap();
    let provider: Arc<dyn Provider> = Arc::new(
        bourse_providers::yahoo::YahooChart::new(bourse_providers::http_client::HttpClient::new(None).unwrap(), stub.base_url.clone())
            .with_timeout(Duration::from_secs(2)),
    );
    let limiter = Arc::new(RateLimiter::new(through.cache.clone(), &[("yahoo-chart".to_owned(), 50)], 2));
    let consumer = Arc::new(Consumer::with_providers(through.clone(), vec![provider], limiter).unwrap());

    // Sign-ups first (the journeys' clients), then everything else under faults.
    let mut tokens = Vec::new();
    for _ in 0..USERS {
        tokens.push(signed_in(&auth).await.1);
    }
    let universe: Vec<String> = bourse_storage::market::load_universe(
        &direct.aws,
        direct.config.require_market_table().unwrap(),
        bourse_storage::market::universe_version(&direct.aws, direct.config.require_market_table().unwrap()).await.unwrap(),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|s| s.symbol.to_string())
    .collect();

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (deliveries, kills) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));

    // The event-source mapping, hostile: every batch delivered twice at once, and every third
    // batch's consumer killed before it finishes (its messages come back after the 1 s visibility).
    let poller = {
        let (consumer, direct, queue, stop, deliveries, kills) =
            (consumer.clone(), direct.clone(), queue.clone(), stop.clone(), deliveries.clone(), kills.clone());
        async move {
            let mut round = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let received = direct
                    .aws
                    .sqs
                    .receive_message()
                    .queue_url(&queue)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                    .send()
                    .await;
                let Ok(received) = received else { continue };
                let messages = received.messages.unwrap_or_default();
                if messages.is_empty() {
                    continue;
                }
                round += 1;
                let batch = bourse_devtools::poller::sqs_event(&messages);
                if round.is_multiple_of(3) {
                    // Killed: the invocation stops wherever it is after 15 ms; nothing is deleted.
                    if tokio::time::timeout(Duration::from_millis(15), consumer.consume(batch)).await.is_err() {
                        kills.fetch_add(1, Ordering::SeqCst);
                    }
                    continue;
                }
                let (a, b) = futures_util::join!(consumer.consume(batch.clone()), consumer.consume(batch.clone()));
                deliveries.fetch_add(2 * batch.records.len(), Ordering::SeqCst);
                let failed: HashSet<String> =
                    a.batch_item_failures.iter().chain(&b.batch_item_failures).map(|f| f.item_identifier.clone()).collect();
                for m in &messages {
                    if !failed.contains(m.message_id.as_deref().unwrap_or_default()) {
                        let _ = direct
                            .aws
                            .sqs
                            .delete_message()
                            .queue_url(&queue)
                            .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                            .send()
                            .await;
                    }
                }
            }
        }
    };

    // The faults, on a schedule, while the journeys run.
    let faults = {
        let proxy_down = Arc::new(proxy);
        let p = proxy_down.clone();
        let handle = tokio::spawn(async move {
            let mut log = Vec::new();
            tokio::time::sleep(Duration::from_millis(300)).await;
            p.set_down(true);
            log.push("DynamoDB down 2 s");
            tokio::time::sleep(Duration::from_secs(2)).await;
            p.set_down(false);
            tokio::time::sleep(Duration::from_millis(500)).await;
            {
                let _redis = tokio::task::spawn_blocking(stop_redis).await.unwrap();
                log.push("Redis stopped 2 s, then restarted");
                tokio::time::sleep(Duration::from_secs(2)).await;
                tokio::task::spawn_blocking(move || drop(_redis)).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            p.set_down(true);
            log.push("DynamoDB down 1 s");
            tokio::time::sleep(Duration::from_secs(1)).await;
            p.set_down(false);
            log
        });
        (handle, proxy_down)
    };

    // The journeys, then waiting for every job, while the poller runs.
    let started = Instant::now();
    let app_table = direct.config.require_app_table().unwrap().to_owned();
    let work = async {
        let journeys = futures_util::future::join_all(tokens.iter().enumerate().map(|(u, token)| {
        let (portfolios, screener, tally, universe) = (&portfolios, &screener, tally.clone(), &universe);
        async move {
            let tag = format!("chaos-{u}-{}", &bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()[..8]);
            let (status, created) =
                until_answered(portfolios, &tally, "POST", "/v1/portfolios", Some(&json!({"name": "Chaos", "currency": "USD"})), token, Some(&format!("{tag}-p"))).await;
            assert_eq!(status, 201, "{created}");
            let portfolio = created["id"].as_str().unwrap().to_owned();
            let mut buys = BTreeMap::new();
            for i in 0..BUYS {
                let symbol = if i % 2 == 0 { "MSFT" } else { "AAPL" };
                let price = Decimal::from(10 + i as i64);
                let body = json!({"type": "BUY", "symbol": symbol, "trade_date": "2026-01-15", "quantity": "1", "price": price.to_string(), "fees": "0"});
                let (status, answer) = until_answered(portfolios, &tally, "POST", &format!("/v1/portfolios/{portfolio}/transactions"), Some(&body), token, Some(&format!("{tag}-b{i}"))).await;
                assert_eq!(status, 201, "{answer}");
                buys.insert(answer["transaction"]["id"].as_str().unwrap().to_owned(), (symbol.to_owned(), price));
            }
            let mut signals = HashSet::new();
            for i in 0..SIGNALS {
                let body = json!({"symbol": "NVDA", "direction": "LONG", "entry_price": "100", "confidence": 50 + i});
                let (status, answer) = until_answered(portfolios, &tally, "POST", "/v1/journal/signals", Some(&body), token, Some(&format!("{tag}-s{i}"))).await;
                assert_eq!(status, 201, "{answer}");
                signals.insert(answer["id"].as_str().unwrap().to_owned());
            }
            let symbols: Vec<&String> = universe.iter().skip(3 * u).take(3).collect();
            let (status, answer) = until_answered(screener, &tally, "POST", "/v1/jobs", Some(&json!({"symbols": symbols})), token, Some(&format!("{tag}-j"))).await;
            assert_eq!(status, 202, "{answer}");
            Journey { token: token.clone(), portfolio, buys, signals, job: JobId::parse(answer["job_id"].as_str().unwrap()).unwrap() }
        }
    }))
    .await;
        let journeys_took = started.elapsed();

        // Every job completes (the poller keeps delivering twice and killing; faults are over).
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let mut open = 0;
            for j in &journeys {
                let job = bourse_storage::jobs::get_job(&direct.aws, &app_table, &j.job).await.unwrap().unwrap();
                if job.completed_at.is_none() {
                    open += 1;
                }
            }
            if open == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{open} jobs still open after the faults");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        stop.store(true, Ordering::SeqCst);
        (journeys, journeys_took)
    };
    let ((journeys, journeys_took), ()) = tokio::join!(work, poller);
    let (fault_log, proxy) = (faults.0.await.unwrap(), faults.1);

    // Checks, read directly (no proxy).
    let check = portfolio_fn::app(direct.clone()).unwrap();
    let (mut writes, mut holdings_checked) = (0, 0);
    for j in &journeys {
        let listed = json_body(
            &check
                .serve(event(
                    "GET",
                    &format!("/v1/portfolios/{}/transactions", j.portfolio),
                    "limit=100",
                    None,
                    Some(&j.token),
                    &random_ip(),
                ))
                .await,
        );
        let ids: Vec<String> = listed["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect();
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "a transaction listed twice");
        let acknowledged: HashSet<&String> = j.buys.keys().collect();
        assert_eq!(unique, acknowledged, "every acknowledged buy exactly once, nothing else");
        writes += ids.len();
        let holdings = json_body(
            &check.serve(event("GET", &format!("/v1/portfolios/{}/holdings", j.portfolio), "", None, Some(&j.token), &random_ip())).await,
        );
        for holding in holdings["items"].as_array().unwrap() {
            let symbol = holding["symbol"].as_str().unwrap();
            let mine: Vec<&Decimal> = j.buys.values().filter(|(s, _)| s == symbol).map(|(_, p)| p).collect();
            assert_eq!(
                Decimal::from_str(holding["quantity"].as_str().unwrap()).unwrap(),
                Decimal::from(mine.len()),
                "{symbol}: quantity = its buys"
            );
            assert_eq!(
                Decimal::from_str(holding["cost_basis"].as_str().unwrap()).unwrap(),
                mine.into_iter().sum::<Decimal>(),
                "{symbol}: cost = its buys"
            );
            holdings_checked += 1;
        }
        let signals = json_body(&check.serve(event("GET", "/v1/journal/signals", "limit=100", None, Some(&j.token), &random_ip())).await);
        let listed: HashSet<String> = signals["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(listed, j.signals, "every acknowledged signal exactly once");
        writes += listed.len() + 1;
        let job = bourse_storage::jobs::get_job(&direct.aws, &app_table, &j.job).await.unwrap().unwrap();
        assert_eq!(job.progress.done + job.progress.failed, job.progress.total, "each symbol counted once");
    }
    assert_eq!(tally.server_errors.load(Ordering::SeqCst), 0);
    println!(
        "chaos: {USERS} journeys in {journeys_took:?}; faults: {}; {} DynamoDB requests dropped; consumer killed {} times, {} deliveries (each twice), provider {} requests ({} throttled); {} requests, {} answered 503, {} 429, {} 409 in progress, 0 other 5xx; {writes} writes and {holdings_checked} holdings checked: 0 lost, 0 doubled",
        fault_log.join(", "),
        proxy.injected(),
        kills.load(Ordering::SeqCst),
        deliveries.load(Ordering::SeqCst),
        stub.stats.requests(),
        stub.stats.throttled(),
        tally.requests.load(Ordering::SeqCst),
        tally.unavailable.load(Ordering::SeqCst),
        tally.throttled.load(Ordering::SeqCst),
        tally.in_progress.load(Ordering::SeqCst),
    );
}
