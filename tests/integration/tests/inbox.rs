//! The notifications inbox against DynamoDB Local: a finished job tells its owner once, however
//! often its last message is delivered; the unread count stays exact under concurrent
//! deliveries, reads and deletes (compared with a count of the unread notifications themselves);
//! pages follow each other; nobody else sees, marks or deletes a user's notifications.

mod auth_support;
mod portfolio_support;

use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::UserId;
use bourse_domain::inbox::{NotificationId, NotificationKind};
use bourse_integration_tests::{enqueued_job, json_body, platform, user_of};
use bourse_storage::inbox::{self, Notification};
use portfolio_support::{auth, client, client_on, new_portfolio};
use serde_json::Value;

fn table() -> String {
    std::env::var("APP_TABLE").expect("APP_TABLE")
}

fn note(n: i64) -> Notification {
    Notification {
        id: NotificationId::new(1_795_642_200_000 + n, &format!("{n:012x}")).unwrap(),
        kind: NotificationKind::JobCompleted,
        title: format!("note {n}"),
        body: "body".into(),
        link: None,
        created_at: "2026-11-25T21:30:00Z".into(),
        read: false,
    }
}

/// The unread notifications counted one by one (what the counter must equal).
async fn unread_items(user: &UserId) -> usize {
    let p = platform("portfolio");
    let mut count = 0;
    let mut start = None;
    loop {
        let output = p
            .aws
            .dynamodb
            .query()
            .table_name(table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :n)")
            .filter_expression("#read = :false")
            .expression_attribute_names("#read", "read")
            .expression_attribute_values(":pk", AttributeValue::S(inbox::inbox_pk(user)))
            .expression_attribute_values(":n", AttributeValue::S("N#".into()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        count += output.count as usize;
        start = output.last_evaluated_key;
        if start.is_none() {
            return count;
        }
    }
}

#[tokio::test]
async fn the_unread_count_stays_exact_under_concurrent_changes() {
    let auth = auth().await;
    let c = client(&auth).await;
    let user = user_of(&c.token);
    let p = platform("portfolio");
    let (aws, table) = (&p.aws, table());
    // 30 deliveries at once, one of them twice: 30 notifications.
    let notes: Vec<Notification> = (0..31).map(|i| note(i.min(29))).collect();
    let deliveries = notes.iter().map(|n| inbox::deliver(aws, &table, &user, n));
    let delivered = futures_util::future::join_all(deliveries).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(delivered, 30, "a second delivery of one id stores nothing");
    assert_eq!(inbox::unread_count(aws, &table, &user).await.unwrap(), 30);

    // Pages, newest first, with the count.
    let first = json_body(&c.call_with("GET", "/v1/inbox", "limit=12", None, &[]).await);
    assert_eq!(first["unread"], 30);
    let mut ids: Vec<String> = first["items"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids[0], note(29).id.as_str(), "newest first");
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(next) = cursor {
        let page = json_body(&c.call_with("GET", "/v1/inbox", &format!("limit=12&cursor={next}"), None, &[]).await);
        ids.extend(page["items"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    ids.dedup();
    assert_eq!(ids.len(), 30);

    // At once: 0–9 marked read (each twice), 8–12 deleted (8 and 9 while being marked), then 5 new.
    let mut requests: Vec<(&str, String)> = Vec::new();
    for i in 0..10 {
        for _ in 0..2 {
            requests.push(("POST", format!("/v1/inbox/{}/read", note(i).id)));
        }
    }
    for i in 8..13 {
        requests.push(("DELETE", format!("/v1/inbox/{}", note(i).id)));
    }
    let work = requests.iter().map(|(method, path)| c.call(method, path, None));
    let statuses: Vec<u16> = futures_util::future::join_all(work).await.iter().map(|r| r.status().as_u16()).collect();
    for ((method, path), status) in requests.iter().zip(&statuses) {
        // Marking 8 or 9 read may come after their deletion: then there is nothing to mark (404).
        let raced = *method == "POST" && (path.contains(note(8).id.as_str()) || path.contains(note(9).id.as_str()));
        assert!(*status == 204 || (raced && *status == 404), "{method} {path}: {status}");
    }
    let newer: Vec<Notification> = (30..35).map(note).collect();
    let more = newer.iter().map(|n| inbox::deliver(aws, &table, &user, n));
    futures_util::future::join_all(more).await.into_iter().for_each(|r| assert!(r.unwrap()));
    let counted = json_body(&c.call("GET", "/v1/inbox/unread-count", None).await)["unread"].as_u64().unwrap();
    assert_eq!(counted as usize, unread_items(&user).await, "the counter equals the unread notifications");
    assert_eq!(counted, 30 - 10 - 3 + 5, "0–9 read or deleted, 10–12 deleted, 5 new");

    // Someone else can do nothing with them.
    let other = client(&auth).await;
    assert_eq!(other.call("POST", &format!("/v1/inbox/{}/read", note(20).id), None).await.status(), 404);
    assert_eq!(other.call("DELETE", &format!("/v1/inbox/{}", note(20).id), None).await.status(), 404);
    assert_eq!(json_body(&other.call("GET", "/v1/inbox", None).await)["items"], serde_json::json!([]));

    // Read all: the count and the items agree at zero.
    let marked = json_body(&c.call("POST", "/v1/inbox/read-all", None).await);
    assert_eq!(marked["marked"], counted);
    assert_eq!(json_body(&c.call("GET", "/v1/inbox/unread-count", None).await)["unread"], 0);
    assert_eq!(unread_items(&user).await, 0);
    let unread_page = json_body(&c.call_with("GET", "/v1/inbox", "unread=true", None, &[]).await);
    assert_eq!(unread_page["items"], serde_json::json!([]));
    for (query, field) in [("unread=maybe", "query.unread"), ("cursor=zz", "query.cursor"), ("limit=0", "query.limit")] {
        let response = c.call_with("GET", "/v1/inbox", query, None, &[]).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(json_body(&response)["errors"][0]["field"], field);
    }
}

#[tokio::test]
async fn a_finished_job_tells_its_owner_once() {
    let p = platform("enrich-consumer");
    let consumer = enrich_consumer_fn::Consumer::new(p.clone()).await.unwrap();
    let id = bourse_domain::jobs::JobId::from_random(bourse_domain::random::bytes(&bourse_domain::random::OsRandom).unwrap());
    let now = bourse_domain::text::rfc3339(time::OffsetDateTime::now_utc());
    let job = enqueued_job(id.clone(), 1, &now);
    let bourse_domain::jobs::JobOwner::User(owner) = job.owner.clone() else { unreachable!() };
    let symbols = [bourse_domain::Symbol::parse("MMM").unwrap()];
    bourse_storage::jobs::create_job(&p.aws, &table(), &job, &symbols, time::OffsetDateTime::now_utc().unix_timestamp() as u64)
        .await
        .unwrap();
    let message = || {
        let mut record = aws_lambda_events::sqs::SqsMessage::default();
        record.message_id = Some(format!("m-{}", bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()));
        record.body = Some(format!(r#"{{"kind":"enrich","jobId":"{id}","symbol":"MMM"}}"#));
        let mut batch = aws_lambda_events::sqs::SqsEvent::default();
        batch.records = vec![record];
        batch
    };
    // The message that completes the job, then a redelivery of it.
    for _ in 0..2 {
        assert!(consumer.consume(message()).await.batch_item_failures.is_empty());
    }
    let (notes, _) = inbox::list(&p.aws, &table(), &owner, 10, None, false).await.unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].link.as_deref(), Some(format!("/v1/jobs/{id}").as_str()));
    assert_eq!(notes[0].body, "1 symbol enriched.");
    assert_eq!(inbox::unread_count(&p.aws, &table(), &owner).await.unwrap(), 1);
}

#[tokio::test]
async fn a_finished_import_tells_its_owner_once() {
    // The portfolio function on a queue of this test's own, so the message it sends is ours.
    let p = platform("portfolio");
    let queue_name = format!("bourse-import-note-{}", bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap());
    let queue = p.aws.sqs.create_queue().queue_name(queue_name).send().await.unwrap().queue_url.unwrap();
    let config = bourse_config::Config { enrich_queue_url: Some(queue.clone()), ..(*p.config).clone() };
    let p = bourse_runtime::Platform { config: std::sync::Arc::new(config), ..p };
    let auth = auth().await;
    let c = client_on(&auth, p.clone()).await;
    let user = user_of(&c.token);
    let id = new_portfolio(&c).await;
    let csv = b"date,type,symbol,quantity,price\n2026-01-02,BUY,AAPL,2,150\n2026-01-05,BUY,MSFT,1,400\n";
    let first = c.upload(&id, "text/csv", csv).await;
    assert_eq!(first.status(), 200, "{}", json_body(&first));
    // The same file again adds nothing and tells nothing.
    assert_eq!(c.upload(&id, "text/csv", csv).await.status(), 200);

    let got = p.aws.sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
    let bodies: Vec<String> = got.messages.unwrap_or_default().into_iter().map(|m| m.body.unwrap()).collect();
    assert_eq!(bodies.len(), 1, "one message, for the first upload only: {bodies:?}");
    let message: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        (message["kind"].as_str(), message["added"].as_u64(), message["portfolio"].as_str()),
        (Some("import-finished"), Some(2), Some(id.as_str()))
    );

    // The consumer tells the owner once, however often the message comes.
    let consumer = enrich_consumer_fn::Consumer::new(platform("enrich-consumer")).await.unwrap();
    for _ in 0..2 {
        let mut record = aws_lambda_events::sqs::SqsMessage::default();
        record.message_id = Some("m-import".into());
        record.body = Some(bodies[0].clone());
        let mut batch = aws_lambda_events::sqs::SqsEvent::default();
        batch.records = vec![record];
        assert!(consumer.consume(batch).await.batch_item_failures.is_empty());
    }
    let page = c.call("GET", "/v1/inbox", None).await;
    let items = json_body(&page)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!((items[0]["kind"].as_str(), items[0]["title"].as_str()), (Some("import-finished"), Some("Your import finished")));
    assert_eq!(items[0]["body"].as_str(), Some("2 transactions added to Core."));
    assert_eq!(items[0]["link"].as_str(), Some(format!("/v1/portfolios/{id}/transactions").as_str()));
    assert_eq!(inbox::unread_count(&platform("portfolio").aws, &table(), &user).await.unwrap(), 1);
    p.aws.sqs.delete_queue().queue_url(&queue).send().await.unwrap();
}
