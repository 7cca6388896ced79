//! Enrichment jobs at scale and under faults, against DynamoDB Local: outcomes recorded at the
//! same moment each count exactly once (a lost race for the job's counters is retried, never a
//! failed message), the item every outcome rewrites stays small whatever the job's size, and a
//! job whose messages were lost is swept to completion.

mod auth_support;

use bourse_domain::Symbol;
use bourse_domain::jobs::JobId;
use bourse_integration_tests::{enqueued_job, ensure_resources, platform, repo_root};
use bourse_providers::RateLimiter;
use bourse_runtime::Platform;
use bourse_storage::jobs::{self, Recorded};
use enrich_consumer_fn::Consumer;
use std::sync::Arc;

async fn isolated(redis_db: u8) -> Platform {
    ensure_resources().await;
    bourse_devtools::stack::isolated_stack(&platform("enrich-consumer"), &repo_root(), "jobs", redis_db, Some(1)).await.unwrap().platform
}

fn new_id() -> JobId {
    JobId::parse(&format!("j{}", &bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()[..24])).unwrap()
}

/// `n` distinct valid symbols (`AAAA`, `AAAB`, …).
fn symbols(n: usize) -> Vec<Symbol> {
    (0..n)
        .map(|i| {
            let letters: String = (0..4).rev().map(|d| char::from(b'A' + ((i / 26usize.pow(d)) % 26) as u8)).collect();
            Symbol::parse(&letters).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn outcomes_recorded_at_once_are_each_counted_once_and_the_header_stays_small() {
    let platform = isolated(5).await;
    let (aws, table) = (&platform.aws, platform.config.require_app_table().unwrap());
    let id = new_id();
    let all = symbols(3000);
    let job = enqueued_job(id.clone(), all.len(), "2026-12-01T00:00:00Z");
    jobs::create_job(aws, table, &job, &all, auth_support::now() as u64).await.unwrap();
    assert_eq!(jobs::job_symbols(aws, table, &id).await.unwrap(), all, "every symbol kept, in order, across chunks");

    // 300 outcomes at once (the consumers of a batch do this), then all of them again (a redelivery).
    let id = &id;
    let record = |symbol: Symbol, ok: bool| async move {
        let outcome = if ok { Ok(90) } else { Err("provider said no") };
        jobs::record_outcome(aws, table, id, &symbol, outcome, "2026-12-01T00:00:01Z", auth_support::now() as u64).await
    };
    let first = futures_util::future::join_all(all[..300].iter().enumerate().map(|(i, s)| record(s.clone(), i % 3 != 0))).await;
    assert!(first.iter().all(|r| matches!(r, Ok(Recorded::Counted))), "{:?}", first.iter().find(|r| !matches!(r, Ok(Recorded::Counted))));
    let again = futures_util::future::join_all(all[..300].iter().map(|s| record(s.clone(), true))).await;
    assert!(again.iter().all(|r| matches!(r, Ok(Recorded::AlreadyCounted))));
    let header = jobs::get_job(aws, table, id).await.unwrap().unwrap();
    assert_eq!((header.progress.done, header.progress.failed, header.progress.total), (200, 100, 3000));

    // What each outcome rewrites is the header: small, whatever the job's size.
    let item = aws
        .dynamodb
        .get_item()
        .table_name(table)
        .key("pk", attr(&format!("JOB#{id}")))
        .key("sk", attr("JOB"))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let bytes: usize =
        item.iter().map(|(k, v)| k.len() + v.as_s().map(String::len).or_else(|_| v.as_n().map(String::len)).unwrap_or(8)).sum();
    assert!(bytes < 512, "the job header is {bytes} bytes");
    assert!(!item.contains_key("symbols"));
}

/// Outcomes of one job racing for its counters lose with `TransactionConflict`; the loser tries
/// again and is counted — the race never fails the message (which would send it towards the DLQ).
#[tokio::test]
async fn a_lost_race_for_the_counters_is_retried_not_failed() {
    let platform = isolated(7).await;
    let table = platform.config.require_app_table().unwrap().to_owned();
    let proxy = bourse_integration_tests::faults::DynamoFaults::in_front_of_the_stand_in().await;
    let through = proxy.route(&platform);
    let id = new_id();
    let three = symbols(3);
    let job = enqueued_job(id.clone(), 3, "2026-12-01T00:00:00Z");
    jobs::create_job(&through.aws, &table, &job, &three, auth_support::now() as u64).await.unwrap();
    proxy.arm("TransactWriteItems", bourse_integration_tests::faults::Fault::TransactionConflict, 4);
    let recorded = jobs::record_outcome(&through.aws, &table, &id, &three[0], Ok(90), "2026-12-01T00:00:01Z", auth_support::now() as u64)
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::Counted);
    assert_eq!(proxy.injected(), 4, "four lost races, then counted");
    assert_eq!(jobs::get_job(&platform.aws, &table, &id).await.unwrap().unwrap().progress.done, 1);
}

fn attr(text: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(text.to_owned())
}

#[tokio::test]
async fn a_stalled_job_is_swept_to_completion_and_a_moving_one_is_left_alone() {
    let platform = isolated(6).await;
    let (aws, table) = (&platform.aws, platform.config.require_app_table().unwrap().to_owned());
    let limiter = Arc::new(RateLimiter::new(platform.cache.clone(), &[], 1));
    let consumer = Consumer::with_providers(platform.clone(), vec![], limiter).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let at = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    // Five universe symbols; three got an outcome, two messages were lost (dead-lettered).
    let five: Vec<Symbol> = ["MMM", "AOS", "ABT", "ABBV", "ACN"].iter().map(|s| Symbol::parse(s).unwrap()).collect();
    let stalled = new_id();
    let job = enqueued_job(stalled.clone(), 5, &at(now));
    jobs::create_job(aws, &table, &job, &five, now.unix_timestamp() as u64).await.unwrap();
    jobs::mark_enqueued(aws, &table, &stalled, &at(now)).await.unwrap();
    for symbol in &five[..3] {
        jobs::record_outcome(aws, &table, &stalled, symbol, Ok(90), &at(now), now.unix_timestamp() as u64).await.unwrap();
    }
    // Not yet stalled: nothing happens.
    assert_eq!(consumer.sweep_stalled_jobs(now + time::Duration::minutes(30)).await.unwrap(), 0);
    assert!(jobs::get_job(aws, &table, &stalled).await.unwrap().unwrap().completed_at.is_none());
    // Two hours without progress: swept.
    let later = now + time::Duration::hours(2);
    let moving = new_id();
    let recent = enqueued_job(moving.clone(), 2, &at(now));
    jobs::create_job(aws, &table, &recent, &five[..2], now.unix_timestamp() as u64).await.unwrap();
    jobs::record_outcome(aws, &table, &moving, &five[0], Ok(90), &at(later), later.unix_timestamp() as u64).await.unwrap();
    assert_eq!(consumer.sweep_stalled_jobs(later).await.unwrap(), 1, "only the stalled job");
    let (done, errors) = jobs::job_with_errors(aws, &table, &stalled).await.unwrap().unwrap();
    assert_eq!((done.progress.done, done.progress.failed), (3, 2));
    assert!(done.completed_at.is_some());
    let mut failed: Vec<String> = errors.iter().map(|e| e.symbol.clone()).collect();
    failed.sort();
    assert_eq!(failed, vec!["ABBV", "ACN"]);
    assert!(errors.iter().all(|e| e.error.as_deref().unwrap_or_default().contains("dead-lettered")));
    assert!(
        jobs::get_job(aws, &table, &moving).await.unwrap().unwrap().completed_at.is_none(),
        "the job that moved within the hour is left alone"
    );
    // Completed jobs leave the open-jobs index: a second sweep finds nothing to do.
    assert_eq!(consumer.sweep_stalled_jobs(later).await.unwrap(), 0);
}

/// Jobs completing within the publish interval reach the universe in one publish, not one each;
/// a symbol new to the universe joins only with data a provider really knows (quality ≥ 60).
#[tokio::test]
async fn jobs_completing_together_publish_the_universe_once_and_only_known_symbols_join() {
    use bourse_domain::stock::{Metric, Stock};
    let platform = isolated(9).await;
    let (aws, app, market) = (
        &platform.aws,
        platform.config.require_app_table().unwrap().to_owned(),
        platform.config.require_market_table().unwrap().to_owned(),
    );
    // The publish is scheduled work: it goes to the scheduled queue.
    let queue = platform.config.scheduled_queue_url.clone().unwrap();
    let limiter = Arc::new(RateLimiter::new(platform.cache.clone(), &[], 1));
    let consumer = Consumer::with_providers(platform.clone(), vec![], limiter).unwrap();
    let mut known = Stock::new(Symbol::parse("ZZNEW").unwrap(), "A new listing".into());
    known.set(Metric::DataQuality, Some(rust_decimal::Decimal::from(85)));
    let mut unknown = Stock::new(Symbol::parse("ZZLOW").unwrap(), "ZZLOW".into());
    unknown.set(Metric::DataQuality, Some(rust_decimal::Decimal::from(20)));
    bourse_storage::market::put_stocks(aws, &market, &[known, unknown]).await.unwrap();
    let before = bourse_storage::market::universe_version(aws, &market).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let at = now.format(&time::format_description::well_known::Rfc3339).unwrap();
    for name in ["MMM", "AOS", "ABT", "ABBV", "ZZNEW", "ZZLOW"] {
        let symbol = Symbol::parse(name).unwrap();
        let id = new_id();
        let job = enqueued_job(id.clone(), 1, &at);
        jobs::create_job(aws, &app, &job, std::slice::from_ref(&symbol), now.unix_timestamp() as u64).await.unwrap();
        jobs::record_outcome(aws, &app, &id, &symbol, Ok(90), &at, now.unix_timestamp() as u64).await.unwrap();
        // The symbol's message arrives (again): the job completes.
        let mut message = aws_lambda_events::sqs::SqsMessage::default();
        message.message_id = Some(format!("m-{name}"));
        message.body = Some(serde_json::json!({"kind": "enrich", "jobId": id.as_str(), "symbol": name}).to_string());
        let mut batch = aws_lambda_events::sqs::SqsEvent::default();
        batch.records = vec![message];
        assert!(consumer.consume(batch).await.batch_item_failures.is_empty());
        assert!(jobs::get_job(aws, &app, &id).await.unwrap().unwrap().completed_at.is_some());
    }
    assert_eq!(
        bourse_storage::market::universe_version(aws, &market).await.unwrap(),
        before,
        "nothing published yet: the publish waits for the interval"
    );
    // The one publish message (delayed by the interval) is all the queue holds.
    let mut bodies = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while bodies.is_empty() && std::time::Instant::now() < deadline {
        let received = aws.sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
        for m in received.messages.unwrap_or_default() {
            aws.sqs.delete_message().queue_url(&queue).receipt_handle(m.receipt_handle.unwrap()).send().await.unwrap();
            bodies.push(m.body.unwrap());
        }
    }
    assert_eq!(bodies, vec![r#"{"kind":"publish-universe"}"#.to_owned()], "one publish for six jobs");
    let mut message = aws_lambda_events::sqs::SqsMessage::default();
    message.message_id = Some("publish".into());
    message.body = Some(bodies[0].clone());
    let mut batch = aws_lambda_events::sqs::SqsEvent::default();
    batch.records = vec![message];
    assert!(consumer.consume(batch).await.batch_item_failures.is_empty());
    let after = bourse_storage::market::universe_version(aws, &market).await.unwrap();
    assert_eq!(after, before + 1, "one new version");
    let universe: Vec<String> =
        bourse_storage::market::load_universe(aws, &market, after).await.unwrap().into_iter().map(|s| s.symbol.to_string()).collect();
    assert!(universe.contains(&"ZZNEW".to_owned()), "a symbol a provider knows well joins");
    assert!(!universe.contains(&"ZZLOW".to_owned()), "a symbol it barely knows does not");
    assert!(bourse_storage::market::pending_publish(aws, &market).await.unwrap().is_empty());
    let received = aws.sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(2).send().await.unwrap();
    assert!(received.messages.unwrap_or_default().is_empty(), "nothing left pending, so no further publish is scheduled");
}

/// A message whose provider budget has no room before the invocation must end is deferred: it is
/// reported failed (so SQS keeps it), hidden for the wait (ChangeMessageVisibility), and nothing of
/// it is recorded; the messages that had room are done.
#[tokio::test]
async fn a_rate_limited_message_is_deferred_and_reported_failed() {
    use bourse_providers::stub::{StubConfig, StubFormat, StubServer};
    let platform = isolated(13).await;
    let (aws, app) = (&platform.aws, platform.config.require_app_table().unwrap().to_owned());
    let queue = platform.config.require_enrich_queue_url().unwrap().to_owned();
    let stub = StubServer::start(StubConfig::new(StubFormat::YahooChart)).await.unwrap();
    let provider: Arc<dyn bourse_providers::Provider> = Arc::new(bourse_providers::yahoo::YahooChart::new(
        bourse_providers::http_client::HttpClient::new(None).unwrap(),
        stub.base_url.clone(),
    ));
    // One request a second, and an invocation with about 1.5 s of provider time left: the first
    // message or two go at once, the rest would have to wait longer than that.
    let limiter = Arc::new(RateLimiter::new(platform.cache.clone(), &[("yahoo-chart".to_owned(), 1)], 1));
    let _ = platform.cache.as_ref().unwrap().delete(&[format!("{}yahoo-chart", bourse_providers::limiter::KEY_PREFIX)]).await;
    let consumer = Consumer::with_providers(platform.clone(), vec![provider], limiter).unwrap();
    let four: Vec<Symbol> = ["MMM", "AOS", "ABT", "ABBV"].iter().map(|s| Symbol::parse(s).unwrap()).collect();
    let id = new_id();
    let job = enqueued_job(id.clone(), 4, "2026-12-01T00:00:00Z");
    jobs::create_job(aws, &app, &job, &four, auth_support::now() as u64).await.unwrap();
    jobs::enqueue_symbols(aws, &queue, &id, &four).await.unwrap();
    let mut messages = Vec::new();
    while messages.len() < 4 {
        let received = aws
            .sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(30)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        messages.extend(received.messages.unwrap_or_default());
    }
    let batch = bourse_devtools::poller::sqs_event(&messages);
    let deadline = std::time::Instant::now() + enrich_consumer_fn::WRITE_MARGIN + std::time::Duration::from_millis(1500);
    let response = consumer.consume_until(batch, deadline).await;
    let deferred = response.batch_item_failures.len();
    assert!((1..4).contains(&deferred), "some messages had room, the rest were deferred: {deferred} failed");
    let progress = jobs::get_job(aws, &app, &id).await.unwrap().unwrap().progress;
    assert_eq!((progress.done + progress.failed) as usize, 4 - deferred, "only the messages that ran were counted");
    assert_eq!(stub.stats.requests() as usize, 4 - deferred, "a deferred message sends no request");
    // Hidden for the wait: they are not delivered again right away.
    let again = aws
        .sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert!(again.messages.unwrap_or_default().is_empty(), "the deferred messages are hidden, not back at once");
}

/// A message that keeps failing reaches the dead-letter queue after exactly maxReceiveCount (5)
/// receives, not before.
#[tokio::test]
async fn a_message_reaches_the_dlq_after_exactly_five_receives() {
    ensure_resources().await;
    let stack = bourse_devtools::stack::isolated_stack(&platform("enrich-consumer"), &repo_root(), "dlq", 14, Some(1)).await.unwrap();
    let (sqs, queue, dlq) = (&stack.platform.aws.sqs, stack.queue_urls["EnrichQueue"].clone(), stack.queue_urls["EnrichDLQ"].clone());
    sqs.send_message().queue_url(&queue).message_body(r#"{"kind":"enrich","jobId":"x"}"#).send().await.unwrap();
    let mut receives = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let received = sqs.receive_message().queue_url(&queue).max_number_of_messages(1).wait_time_seconds(2).send().await.unwrap();
        match received.messages.unwrap_or_default().pop() {
            Some(_) => receives += 1, // not deleted: it fails, and returns after the 1 s visibility
            None => {
                let dead = sqs.receive_message().queue_url(&dlq).max_number_of_messages(1).wait_time_seconds(0).send().await.unwrap();
                if dead.messages.unwrap_or_default().pop().is_some() {
                    break;
                }
            }
        }
        assert!(std::time::Instant::now() < deadline, "not dead-lettered after {receives} receives");
    }
    assert_eq!(receives, 5, "maxReceiveCount");
}
