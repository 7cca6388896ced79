//! The enrichment consumer against DynamoDB Local: partial batch failures and the scheduled trigger.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use bourse_devtools::runtime_api::{Call, RuntimeApi};
use bourse_domain::messages::QueueMessage;
use bourse_integration_tests::{ensure_resources, event, platform};
use enrich_consumer_fn::Consumer;
use std::os::unix::process::ExitStatusExt;

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[tokio::test]
async fn a_poison_message_fails_alone_and_the_rest_of_the_batch_completes() {
    ensure_resources().await;
    let platform = platform("enrich-consumer");
    let consumer = Consumer::new(platform.clone()).await.unwrap();
    let id = unique("ping");
    let mut batch: SqsEvent = serde_json::from_str(&event("enrich-consumer/sqs-batch.json")).unwrap();
    batch.records[0].body = Some(format!(r#"{{"kind":"ping","id":"{id}"}}"#));
    let poison_id = batch.records[1].message_id.clone().unwrap();

    let response = consumer.consume(batch.clone()).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, std::slice::from_ref(&poison_id));
    let table = platform.config.require_app_table().unwrap();
    let first = bourse_storage::diagnostics::ping_received_at(&platform.aws, table, &id).await.unwrap();
    assert!(first.is_some(), "the good message was recorded");

    // Redelivery of the whole batch, later: same outcome, and the record is still the first
    // delivery's (a second write would have moved its time).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = consumer.consume(batch).await;
    assert_eq!(again.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect::<Vec<_>>(), [poison_id]);
    assert_eq!(bourse_storage::diagnostics::ping_received_at(&platform.aws, table, &id).await.unwrap(), first);
}

/// A panic cannot be caught (release builds abort), but it still fails only its own message: the
/// consumer's real binary wiring, run by the Lambda runtime against a local Runtime API, answers
/// the invocation with the panicking message as the only failure, then aborts; the messages that
/// succeeded before it keep their effects and are not redelivered.
#[tokio::test]
async fn a_panic_in_one_message_fails_only_that_message_and_ends_the_process() {
    ensure_resources().await;
    let platform = platform("enrich-consumer");
    let pings = [unique("panic-ping-a"), unique("panic-ping-b")];
    let enrich = QueueMessage::Enrich {
        job_id: bourse_domain::jobs::JobId::from_random(*b"panic-test-1"),
        symbol: bourse_domain::Symbol::parse("AAPL").unwrap(),
    };
    let bodies = [
        serde_json::to_string(&QueueMessage::Ping { id: pings[0].clone() }).unwrap(),
        serde_json::to_string(&enrich).unwrap(),
        serde_json::to_string(&QueueMessage::Ping { id: pings[1].clone() }).unwrap(),
    ];
    let mut batch = SqsEvent::default();
    for (n, body) in bodies.iter().enumerate() {
        let mut message = SqsMessage::default();
        message.message_id = Some(format!("message-{n}"));
        message.body = Some(body.clone());
        batch.records.push(message);
    }

    let api = RuntimeApi::start(serde_json::to_string(&batch).unwrap(), "invocation-with-a-panic").unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_panicking-consumer"))
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "enrich-consumer")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.signal(), Some(6), "the process aborted (SIGABRT) after the panic: {stderr}");
    assert!(stderr.contains("provider bug while parsing AAPL"), "the panic was logged: {stderr}");

    let calls: Vec<Call> = api.calls.try_iter().collect();
    assert!(matches!(calls.first(), Some(Call::Next(_))), "{calls:?}");
    let answers: Vec<_> = calls.iter().filter(|c| !matches!(c, Call::Next(_))).collect();
    let [Call::Response { request_id, body, .. }] = answers.as_slice() else { panic!("one answer, and no error: {calls:?}") };
    assert_eq!(request_id, "invocation-with-a-panic");
    let answer: SqsBatchResponse = serde_json::from_str(body).unwrap();
    let failed: Vec<_> = answer.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["message-1"], "only the panicking message is redelivered");

    let table = platform.config.require_app_table().unwrap();
    for ping in &pings {
        let received = bourse_storage::diagnostics::ping_received_at(&platform.aws, table, ping).await.unwrap();
        assert!(received.is_some(), "{ping} was processed before the panic");
    }
}

/// The scheduled refresh, on a stack of its own: the day's job over the whole published universe,
/// one enrich message per symbol (and the benchmark's, SPY) on the queue, and the 16 snapshot-shard
/// messages held back.
#[tokio::test]
async fn the_scheduled_refresh_creates_the_days_job_and_fans_it_out() {
    ensure_resources().await;
    let stack =
        bourse_devtools::stack::isolated_stack(&platform("enrich-consumer"), &bourse_integration_tests::repo_root(), "sched", 12, Some(30))
            .await
            .unwrap();
    let p = &stack.platform;
    // Scheduled work goes to its own queue, never to the users' EnrichQueue.
    let (app, market, queue) =
        (p.config.require_app_table().unwrap(), p.config.require_market_table().unwrap(), stack.queue_urls["ScheduledQueue"].clone());
    let consumer = Consumer::new(p.clone()).await.unwrap();
    let out = consumer
        .handle(lambda_runtime::LambdaEvent::new(serde_json::json!({"kind": "scheduled-refresh"}), Default::default()))
        .await
        .unwrap();
    assert_eq!(out, serde_json::json!({"status": "done"}));
    let universe =
        bourse_storage::market::load_universe(&p.aws, market, bourse_storage::market::universe_version(&p.aws, market).await.unwrap())
            .await
            .unwrap();
    let date = time::OffsetDateTime::now_utc().date().to_string();
    let id = bourse_domain::jobs::JobId::scheduled(&date).unwrap();
    let job = bourse_storage::jobs::get_job(&p.aws, app, &id).await.unwrap().expect("the day's job");
    assert_eq!(
        (job.kind.as_str(), job.owner.as_str(), job.progress.total as usize, job.enqueued),
        ("scheduled-refresh", "system", universe.len() + 1, true),
        "the universe and the benchmark symbol"
    );
    // Every symbol's message, once, for that job.
    let mut symbols = std::collections::BTreeSet::new();
    loop {
        let received = p.aws.sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            match bourse_domain::messages::QueueMessage::parse(m.body.as_deref().unwrap()).unwrap() {
                bourse_domain::messages::QueueMessage::Enrich { job_id, symbol } => {
                    assert_eq!(job_id, id);
                    assert!(symbols.insert(symbol.to_string()), "{symbol} twice");
                }
                other => panic!("only enrich messages are visible at once, got {other:?}"),
            }
        }
    }
    let expected: std::collections::BTreeSet<String> =
        universe.iter().map(|s| s.symbol.to_string()).chain([bourse_domain::performance::BENCHMARK_SYMBOL.to_owned()]).collect();
    assert_eq!(symbols, expected);
    // The snapshot fan-out waits for the refresh: one delayed message per shard.
    let attributes = p
        .aws
        .sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let delayed =
        attributes.attributes.unwrap_or_default().get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed).cloned();
    assert_eq!(delayed.as_deref(), Some("16"), "one snapshot-shard message per shard, held back");
    // A repeated trigger finds the day's job and sends nothing again.
    consumer.handle(lambda_runtime::LambdaEvent::new(serde_json::json!({"kind": "scheduled-refresh"}), Default::default())).await.unwrap();
    let received = p.aws.sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
    assert!(received.messages.unwrap_or_default().is_empty(), "nothing sent twice");
    let users = p
        .aws
        .sqs
        .receive_message()
        .queue_url(&stack.queue_urls["EnrichQueue"])
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    assert!(users.messages.unwrap_or_default().is_empty(), "nothing of the refresh on the users' queue");
}

#[tokio::test]
async fn both_shapes_of_the_scheduled_trigger_are_accepted_and_others_refused() {
    ensure_resources().await;
    let consumer = Consumer::new(platform("enrich-consumer")).await.unwrap();
    for sample in ["enrich-consumer/scheduled-refresh.json", "enrich-consumer/eventbridge-scheduled-event.json"] {
        let payload: serde_json::Value = serde_json::from_str(&event(sample)).unwrap();
        let out = consumer.handle(lambda_runtime::LambdaEvent::new(payload, Default::default())).await.unwrap();
        assert_eq!(out["status"], "done", "{sample}");
    }
    let unknown = consumer.handle(lambda_runtime::LambdaEvent::new(serde_json::json!({"kind": "nonsense"}), Default::default())).await;
    assert!(unknown.is_err());
}
