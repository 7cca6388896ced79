//! The enrichment pipeline end to end against DynamoDB Local, Redis and the SQS stand-in, with
//! both real provider clients pointed at local stubs (127.0.0.1, ephemeral ports):
//! POST a job → messages consumed through the queue → job completed with exact counts → stock
//! detail shows the new data → a cached screener answer reflects it; a redelivered batch changes
//! nothing; a poison message reaches the DLQ while the others complete; provider failures fall
//! back and never crash a batch.

mod auth_support;

use auth_support::{event, random_ip, signed_in};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use bourse_domain::ManualClock;
use bourse_domain::jobs::{JobId, JobProgress};
use bourse_integration_tests::{ensure_resources, json_body, platform, repo_root};
use bourse_providers::http_client::HttpClient;
use bourse_providers::stub::{StubConfig, StubFormat, StubServer, series};
use bourse_providers::{Provider, RateLimiter};
use bourse_runtime::Platform;
use enrich_consumer_fn::Consumer;
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A stack of this test alone: its own tables and queues (created from `template.yaml` under a
/// random stack name, 1 s visibility timeout, the template's redrive policy), its own Redis
/// database, and the bundled universe published in its market table (profiles only). So no
/// other test's messages, universe versions or cached answers mix in. Returns (platform, DLQ URL).
async fn isolated_stack(redis_db: u8) -> (Platform, String) {
    let stack = bourse_devtools::stack::isolated_stack(&platform("enrich-consumer"), &repo_root(), "e2e", redis_db, Some(1)).await.unwrap();
    (stack.platform, stack.queue_urls["EnrichDLQ"].clone())
}

/// Both real clients against stubs whose prices are 1000 above anything in the seed data.
async fn stub_providers() -> (Vec<StubServer>, Vec<Arc<dyn Provider>>, StubConfig) {
    let mut config = StubConfig::new(StubFormat::YahooChart);
    config.price_bump = Decimal::from(1000);
    let yahoo = StubServer::start(config.clone()).await.unwrap();
    let av = StubServer::start(StubConfig { format: StubFormat::AlphaVantage, ..config.clone() }).await.unwrap();
    let http = HttpClient::new(None).unwrap();
    let providers: Vec<Arc<dyn Provider>> = vec![
        Arc::new(bourse_providers::yahoo::YahooChart::new(http.clone(), yahoo.base_url.clone()).with_timeout(Duration::from_millis(800))),
        Arc::new(
            bourse_providers::alpha_vantage::AlphaVantage::new(http, av.base_url.clone(), "test-key".into())
                .with_timeout(Duration::from_millis(800)),
        ),
    ];
    (vec![yahoo, av], providers, config)
}

fn consumer(platform: &Platform, providers: Vec<Arc<dyn Provider>>) -> Consumer {
    let limits = vec![("yahoo-chart".to_owned(), 200), ("alpha-vantage".to_owned(), 200)];
    let limiter = Arc::new(RateLimiter::new(platform.cache.clone(), &limits, 5));
    Consumer::with_providers(platform.clone(), providers, limiter).unwrap()
}

/// What the local event-source mapping does: receive up to 10, invoke, delete what succeeded.
/// Returns the batch it invoked (empty when the queue was empty).
async fn poll_once(platform: &Platform, consumer: &Consumer, queue: &str) -> SqsEvent {
    bourse_devtools::poller::deliver_once(&platform.aws.sqs, consumer, queue).await.unwrap()
}

async fn dlq_bodies(platform: &Platform, dlq: &str) -> Vec<String> {
    let received = platform.aws.sqs.receive_message().queue_url(dlq).max_number_of_messages(10).wait_time_seconds(0).send().await.unwrap();
    received.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect()
}

fn price_of(body: &serde_json::Value) -> Decimal {
    let text = body
        .pointer("/metrics/price")
        .or_else(|| body.get("price"))
        .map(|v| v.to_string().trim_matches('"').to_owned())
        .unwrap_or_default();
    text.parse().unwrap_or_else(|_| panic!("no price in {body}"))
}

#[tokio::test]
async fn a_job_goes_through_the_queue_and_the_screener_serves_its_data() {
    ensure_resources().await;
    let (platform, dlq) = isolated_stack(2).await;
    let queue = platform.config.enrich_queue_url.clone().unwrap();
    let scheduled = platform.config.scheduled_queue_url.clone().unwrap();
    let (_stubs, providers, stub_config) = stub_providers().await;
    let consumer = consumer(&platform, providers);
    let auth = auth_fn::app(platform.clone().with_clock(Arc::new(ManualClock::new(auth_support::now())))).unwrap();
    let (_, token, _) = signed_in(&auth).await;
    let (_, other_token, _) = signed_in(&auth).await;
    let screener = screener_fn::app(platform.clone()).unwrap();
    let ip = random_ip();

    let market = platform.config.require_market_table().unwrap();
    let version_before = bourse_storage::market::universe_version(&platform.aws, market).await.unwrap();
    // A cached answer from before the job.
    let before = screener.serve(event("GET", "/v1/stocks/AAPL", "", None, None, &ip)).await;
    assert_eq!(before.status(), 200);
    let old_price = price_of(&json_body(&before));

    // Without a token: 401. Bad bodies: 400.
    assert_eq!(screener.serve(event("POST", "/v1/jobs", "", Some(r#"{"symbols":["AAPL"]}"#), None, &ip)).await.status(), 401);
    assert_eq!(screener.serve(event("POST", "/v1/jobs", "", Some(r#"{"symbols":[]}"#), Some(&token), &ip)).await.status(), 400);

    let symbols = r#"{"symbols":["AAPL","MSFT","BRK.B","JNJ","XOM","ZZNONE"]}"#;
    let started = Instant::now();
    let created = screener.serve(event("POST", "/v1/jobs", "", Some(symbols), Some(&token), &ip)).await;
    let body = json_body(&created);
    assert_eq!(created.status(), 202, "{body}");
    assert!(started.elapsed() < Duration::from_secs(2), "202 before any fetching");
    let job_id = body["job_id"].as_str().unwrap().to_owned();
    assert_eq!((body["state"].as_str(), body["total"].as_u64()), (Some("queued"), Some(6)));
    assert_eq!(created.headers()["location"], format!("/v1/jobs/{job_id}"));

    // Somebody else's job, or an id that is not one: 404.
    let path = format!("/v1/jobs/{job_id}");
    assert_eq!(screener.serve(event("GET", &path, "", None, Some(&other_token), &ip)).await.status(), 404);
    assert_eq!(screener.serve(event("GET", "/v1/jobs/nope", "", None, Some(&token), &ip)).await.status(), 404);

    // A poison message in the same queue.
    platform.aws.sqs.send_message().queue_url(&queue).message_body(r#"{"kind":"enrich","jobId":"x"}"#).send().await.unwrap();

    // The local event-source mapping until the job is done and the poison message dead-lettered.
    let mut batches = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut dead = Vec::new();
    loop {
        let batch = poll_once(&platform, &consumer, &queue).await;
        if !batch.records.is_empty() {
            batches.push(batch);
        }
        // The scheduled work's own queue: the coalesced universe publish arrives there.
        poll_once(&platform, &consumer, &scheduled).await;
        dead.extend(dlq_bodies(&platform, &dlq).await);
        let state = json_body(&screener.serve(event("GET", &path, "", None, Some(&token), &ip)).await);
        // Done when the job completed, the poison message is dead, and the coalesced publish of
        // the job's stocks (a message delayed by the publish interval) has run.
        let published = bourse_storage::market::universe_version(&platform.aws, market).await.unwrap() > version_before;
        if state["state"] != "queued" && state["state"] != "running" && !state["completed_at"].is_null() && !dead.is_empty() && published {
            break;
        }
        assert!(Instant::now() < deadline, "job not done within 60 s: {state}, dead letters {dead:?}");
    }
    assert_eq!(dead, [r#"{"kind":"enrich","jobId":"x"}"#], "the poison message, and only it, reached the DLQ");
    assert!(started.elapsed() < Duration::from_secs(30), "done within seconds: {:?}", started.elapsed());

    let response = screener.serve(event("GET", &path, "", None, Some(&token), &ip)).await;
    let job = json_body(&response);
    assert_eq!(response.status(), 200, "{job}");
    assert_eq!(job["state"], "completed-with-errors");
    assert_eq!(
        (job["total"].as_u64(), job["done"].as_u64(), job["failed"].as_u64(), job["percent"].as_u64()),
        (Some(6), Some(5), Some(1), Some(100))
    );
    assert_eq!(job["errors"][0]["symbol"], "ZZNONE");
    assert!(job["errors"][0]["error"].as_str().unwrap().contains("unknown symbol"));
    assert_eq!(response.headers()["cache-control"], "no-store");

    // The stock detail (a cached route) shows the stub's price, not the seed's.
    let (_, closes) = series(&stub_config, "AAPL");
    let fresh = *closes.last().unwrap();
    assert_ne!(fresh, old_price);
    let detail = json_body(&screener.serve(event("GET", "/v1/stocks/AAPL", "", None, None, &ip)).await);
    assert_eq!(price_of(&detail), fresh, "{detail}");
    let (_, brk) = series(&stub_config, "BRK-B"); // the providers spell it with a dash
    assert_eq!(price_of(&json_body(&screener.serve(event("GET", "/v1/stocks/BRK.B", "", None, None, &ip)).await)), *brk.last().unwrap());
    let history = json_body(&screener.serve(event("GET", "/v1/stocks/AAPL/history", "", None, None, &ip)).await);
    assert_eq!(history["generated"], false, "observed history replaces the generated one");

    assert_eq!(
        bourse_storage::market::universe_version(&platform.aws, market).await.unwrap(),
        version_before + 1,
        "one publish for the job"
    );
    // The day's signals found in each symbol's history are stored, and served as market events.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let mut expected: Vec<(String, String)> = Vec::new();
    for (symbol, remote) in [("AAPL", "AAPL"), ("MSFT", "MSFT"), ("BRK.B", "BRK-B"), ("JNJ", "JNJ"), ("XOM", "XOM")] {
        let (_, closes) = series(&stub_config, remote);
        expected
            .extend(bourse_domain::signals::history_signals(&closes).into_iter().map(|s| (symbol.to_owned(), s.kind.name().to_owned())));
    }
    expected.sort();
    assert!(!expected.is_empty(), "the stub histories hold some signal today");
    let mut stored: Vec<(String, String)> = bourse_storage::market::market_signals_of_day(&platform.aws, market, &today)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.symbol, s.kind))
        .collect();
    stored.sort();
    assert_eq!(stored, expected);
    let served = json_body(&screener.serve(event("GET", "/v1/signals/market", "", None, None, &ip)).await);
    let mut events: Vec<(String, String)> = served["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["symbol"].as_str().unwrap().to_owned(), e["kind"].as_str().unwrap().to_owned()))
        .collect();
    events.sort();
    assert_eq!(events, expected);

    // Redelivery of every batch: nothing changes, nothing counts twice.
    let app_table = platform.config.require_app_table().unwrap();
    let version = bourse_storage::market::universe_version(&platform.aws, market).await.unwrap();
    let stock_before = bourse_storage::market::get_stocks(&platform.aws, market, &["AAPL".into()]).await.unwrap();
    for batch in batches {
        let poison_only = consumer.consume(batch.clone()).await.batch_item_failures.into_iter().all(|f| {
            batch
                .records
                .iter()
                .any(|r| r.message_id.as_deref() == Some(f.item_identifier.as_str()) && r.body.as_deref().unwrap_or("").contains("\"x\""))
        });
        assert!(poison_only, "only the poison message fails again");
    }
    let id = JobId::parse(&job_id).unwrap();
    let again = bourse_storage::jobs::get_job(&platform.aws, app_table, &id).await.unwrap().unwrap();
    assert_eq!(again.progress, JobProgress { total: 6, done: 5, failed: 1 });
    assert_eq!(bourse_storage::market::universe_version(&platform.aws, market).await.unwrap(), version, "no republish");
    assert_eq!(bourse_storage::market::get_stocks(&platform.aws, market, &["AAPL".into()]).await.unwrap(), stock_before, "no rewrite");
}

#[tokio::test]
async fn provider_failures_fall_back_and_never_crash_the_batch() {
    ensure_resources().await;
    let (platform, _) = isolated_stack(4).await;
    let (stubs, mut providers, _) = stub_providers().await;
    // The chart provider is down (nothing listens there): every symbol falls back to the other.
    providers[0] = Arc::new(bourse_providers::yahoo::YahooChart::new(HttpClient::new(None).unwrap(), "http://127.0.0.1:9".into()));
    let consumer = consumer(&platform, providers);
    let table = platform.config.require_app_table().unwrap();
    let id = JobId::parse(&format!("j{}", &bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()[..24])).unwrap();
    let symbols = ["MMM", "ZZTRUNC", "ZZBAD", "ZZNONE", "ZZFAIL"];
    let job = bourse_integration_tests::enqueued_job(id.clone(), symbols.len(), "now");
    let parsed: Vec<bourse_domain::Symbol> = symbols.iter().map(|s| bourse_domain::Symbol::parse(s).unwrap()).collect();
    bourse_storage::jobs::create_job(&platform.aws, table, &job, &parsed, auth_support::now() as u64).await.unwrap();
    let batch = |receives: u32| {
        let mut batch = SqsEvent::default();
        for (i, symbol) in symbols.iter().enumerate() {
            let mut record = SqsMessage::default();
            record.message_id = Some(format!("m{i}"));
            record.body = Some(format!(r#"{{"kind":"enrich","jobId":"{id}","symbol":"{symbol}"}}"#));
            record.attributes.insert("ApproximateReceiveCount".into(), receives.to_string());
            batch.records.push(record);
        }
        batch
    };
    // First delivery: MMM is enriched from the fallback; the others failed transiently somewhere
    // (even ZZNONE: the provider that is down might know it) and go back to SQS.
    let failed: Vec<String> = consumer.consume(batch(1)).await.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
    assert_eq!(failed, ["m1", "m2", "m3", "m4"]);
    let progress = bourse_storage::jobs::get_job(&platform.aws, table, &id).await.unwrap().unwrap().progress;
    assert_eq!(progress, JobProgress { total: 5, done: 1, failed: 0 });
    // Their last allowed delivery: recorded as failed with the reasons, the job completes.
    assert!(consumer.consume(batch(3)).await.batch_item_failures.is_empty());
    let (job, errors) = bourse_storage::jobs::job_with_errors(&platform.aws, table, &id).await.unwrap().unwrap();
    assert_eq!(job.progress, JobProgress { total: 5, done: 1, failed: 4 });
    assert!(job.completed_at.is_some());
    let reasons: Vec<_> = errors.iter().map(|e| format!("{} {}", e.symbol, e.error.as_deref().unwrap_or(""))).collect();
    assert!(reasons.iter().any(|r| r.starts_with("ZZFAIL") && r.contains("HTTP 503")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("ZZTRUNC") && r.contains("malformed")), "{reasons:?}");
    let mmm =
        bourse_storage::market::get_stocks(&platform.aws, platform.config.require_market_table().unwrap(), &["MMM".into()]).await.unwrap();
    assert!(mmm[0].enriched_at.is_some() && !mmm[0].history_generated);
    assert!(stubs[1].stats.requests() > 0);
}

/// Two consumer instances (each with its own limiter object, like two Lambda instances) with
/// unequal work (25 and 5 symbols) share one provider limit of 10/s through Redis; the stub
/// provider enforces the limit itself (burst 2) and counts the 429s it had to send. Shared, the 30
/// requests go at the common 10/s, so the busy instance is done in about 3 s — which only a
/// shared budget allows — and the budget's key is in Redis. Then with Redis unreachable: each
/// instance falls back to 80 % of the limit ÷ the maximum concurrency of 2 (4/s), so together
/// they still keep the limit, and the busy one's 25 requests take about 6 s.
#[tokio::test]
async fn two_consumers_sharing_a_rate_limit_never_exceed_it_together() {
    ensure_resources().await;
    let (platform, _) = isolated_stack(3).await;
    let table = platform.config.require_app_table().unwrap().to_owned();
    let read = |name: &str| std::fs::read_to_string(repo_root().join("data").join(name)).unwrap();
    let records = bourse_domain::universe::load_universe(&read("sp500-constituents.csv"), &read("sp500-financials.csv")).unwrap();
    for (round, cache) in [("shared", platform.cache.clone()), ("redis down", Some(Arc::new(dead_cache())))] {
        let mut config = StubConfig::new(StubFormat::YahooChart);
        config.rate_per_second = Some(10);
        config.latency = Duration::from_millis(20);
        let stub = StubServer::start(config).await.unwrap();
        let make = || {
            let provider: Arc<dyn Provider> = Arc::new(
                bourse_providers::yahoo::YahooChart::new(HttpClient::new(None).unwrap(), stub.base_url.clone())
                    .with_timeout(Duration::from_secs(2)),
            );
            let limiter = Arc::new(RateLimiter::new(cache.clone(), &[("yahoo-chart".to_owned(), 10)], 2));
            Consumer::with_providers(platform.clone(), vec![provider], limiter).unwrap()
        };
        let (first, second) = (make(), make());
        let id = JobId::parse(&format!("j{}", &bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()[..24])).unwrap();
        let symbols: Vec<String> = records.iter().take(30).map(|r| r.symbol.to_string()).collect();
        let job = bourse_integration_tests::enqueued_job(id.clone(), symbols.len(), "now");
        let parsed: Vec<bourse_domain::Symbol> = symbols.iter().map(|s| bourse_domain::Symbol::parse(s).unwrap()).collect();
        bourse_storage::jobs::create_job(&platform.aws, &table, &job, &parsed, auth_support::now() as u64).await.unwrap();
        let batch = |part: &[String]| {
            let mut batch = SqsEvent::default();
            for symbol in part {
                let mut record = SqsMessage::default();
                record.message_id = Some(symbol.clone());
                record.body = Some(format!(r#"{{"kind":"enrich","jobId":"{id}","symbol":"{symbol}"}}"#));
                batch.records.push(record);
            }
            batch
        };
        let started = Instant::now();
        if let Some(cache) = &cache {
            let _ = cache.delete(&[format!("{}yahoo-chart", bourse_providers::limiter::KEY_PREFIX)]).await;
        }
        let (a, b) = tokio::join!(first.consume(batch(&symbols[..25])), second.consume(batch(&symbols[25..])));
        let elapsed = started.elapsed();
        assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty(), "{round}");
        let arrivals = {
            let mut a = stub.stats.arrivals.lock().unwrap().clone();
            a.sort();
            a.iter().map(|t| t.duration_since(a[0]).as_millis()).collect::<Vec<_>>()
        };
        assert_eq!(stub.stats.throttled(), 0, "{round}: the provider never had to refuse us; arrivals (ms) {arrivals:?}");
        assert_eq!(stub.stats.requests(), 30, "{round}");
        assert!(
            stub.stats.max_in_window(Duration::from_secs(1)) <= 11,
            "{round}: {} in one second",
            stub.stats.max_in_window(Duration::from_secs(1))
        );
        if round == "shared" {
            assert!(elapsed >= Duration::from_millis(2500), "{round}: 30 requests at 10/s take ≥ 2.9 s, took {elapsed:?}");
            assert!(elapsed < Duration::from_millis(4500), "{round}: the busy instance used the idle one's share, took {elapsed:?}");
            let key = format!("{}yahoo-chart", bourse_providers::limiter::KEY_PREFIX);
            assert!(platform.cache.as_ref().unwrap().get(&key).await.is_some(), "{round}: the shared budget is in Redis under {key}");
        } else {
            assert!(elapsed >= Duration::from_millis(5500), "{round}: 25 requests at 4/s take ≥ 6 s, took {elapsed:?}");
        }
        let progress = bourse_storage::jobs::get_job(&platform.aws, &table, &id).await.unwrap().unwrap().progress;
        assert_eq!(progress, JobProgress { total: 30, done: 30, failed: 0 }, "{round}");
    }
}

/// A cache on a port nothing listens on: every command fails at once.
fn dead_cache() -> bourse_cache::Cache {
    let url = bourse_config::CacheUrl::parse("CACHE_URL", "rediss://127.0.0.1:1").unwrap();
    let timeouts = bourse_config::CacheTimeouts {
        connect: Duration::from_millis(50),
        handshake: Duration::from_millis(200),
        command: Duration::from_millis(50),
    };
    bourse_cache::Cache::new(&url, timeouts, bourse_cache::CacheTrust::default())
}

/// The daily FX refresh through both real clients and their stubs: every supported currency is
/// asked for; the ones a provider answers are stored with their dates; a rate limit on both
/// providers (SEK), a failing upstream (NOK) and an unknown pair (DKK) store nothing and fail
/// nothing.
#[tokio::test]
async fn the_fx_refresh_stores_what_the_providers_answer_and_survives_their_failures() {
    ensure_resources().await;
    let platform = platform("enrich-consumer");
    let (_stubs, providers, config) = stub_providers().await;
    let consumer = consumer(&platform, providers);
    assert_eq!(consumer.refresh_fx().await.unwrap(), 9, "12 currencies less SEK, NOK and DKK");
    let market = platform.config.require_market_table().unwrap().to_owned();
    let since = config.today - time::Duration::days(30);
    let read = |code: &str| {
        let (platform, market) = (&platform, &market);
        let currency = bourse_domain::money::Currency::parse(code).unwrap();
        async move { bourse_storage::fx::rates_between(&platform.aws, market, currency, since, config.today).await.unwrap() }
    };
    let expected = bourse_domain::fx::generated(bourse_domain::money::Currency::EUR, since, config.today);
    assert_eq!(read("EUR").await, expected, "the chart API's rates, stored day by day");
    assert!(!read("JPY").await.is_empty());
}
