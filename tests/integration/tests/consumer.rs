//! The enrichment consumer against DynamoDB Local: partial batch failures and the scheduled trigger.

use aws_lambda_events::sqs::SqsEvent;
use bourse_integration_tests::{ensure_resources, event, platform};
use enrich_consumer_fn::Consumer;

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
    assert_eq!(failed, [poison_id.clone()]);
    let table = platform.config.require_app_table().unwrap();
    let first = bourse_storage::diagnostics::ping_received_at(&platform.aws, table, &id).await.unwrap();
    assert!(first.is_some(), "the good message was recorded");

    // Redelivery of the whole batch: same outcome, still one record.
    let again = consumer.consume(batch).await;
    assert_eq!(again.batch_item_failures.len(), 1);
    assert!(bourse_storage::diagnostics::ping_received_at(&platform.aws, table, &id).await.unwrap().is_some());
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
