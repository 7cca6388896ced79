//! Webhooks and e-mail delivery against the stand-ins: a notification reaches a local receiver
//! on 127.0.0.1 signed as the README says (checked with Python's `hmac`, not our code); a
//! redirect is not followed; 500s are retried up to the last attempt, a redelivered attempt posts
//! nothing, and repeated failed deliveries disable the endpoint with a notice in the inbox;
//! registration refuses what the test stage may not reach; e-mail arrives at the SES stand-in.

mod auth_support;
mod portfolio_support;

use bourse_domain::inbox::{NotificationId, NotificationKind};
use bourse_domain::webhook::{ATTEMPTS, DISABLE_AFTER_FAILED_DELIVERIES, WebhookEvent};
use bourse_integration_tests::{json_body, platform, user_of};
use bourse_storage::inbox::{self, Notification};
use portfolio_support::{Client, auth, client};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn table() -> String {
    std::env::var("APP_TABLE").expect("APP_TABLE")
}

/// One request a receiver got: its headers (lower-case names) and body.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A local HTTP receiver on 127.0.0.1 answering every request with `status` (and `location`),
/// recording what it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receiver(status: u16, location: Option<String>) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hooks/bourse?team=7", listener.local_addr().unwrap().port());
    let got = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&got);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let (head_end, length) = loop {
                let n = stream.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break (None, 0);
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (Some(end + 4), length);
                }
            };
            let Some(start) = head_end else { continue };
            while data.len() < start + length {
                let n = stream.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            let head = String::from_utf8_lossy(&data[..start]).to_string();
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
                .collect();
            record.lock().unwrap().push(Received { headers, body: data[start..].to_vec() });
            let location = location.as_ref().map(|l| format!("location: {l}\r\n")).unwrap_or_default();
            let answer = format!("HTTP/1.1 {status} X\r\n{location}content-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    Receiver { url, got, task }
}

impl Receiver {
    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    fn requests(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// A consumer whose account queue is a fresh queue of this test, so the retries it schedules
/// (delayed 30 s and more) reach no other test.
async fn consumer() -> enrich_consumer_fn::Consumer {
    consumer_and_queue().await.0
}

/// A consumer whose account queue is a fresh one of this test's, and that queue's URL.
async fn consumer_and_queue() -> (enrich_consumer_fn::Consumer, String) {
    let p = platform("enrich-consumer");
    let name = format!("bourse-webhook-test-{}", bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap());
    let queue = p.aws.sqs.create_queue().queue_name(name).send().await.unwrap().queue_url.unwrap();
    let config = bourse_config::Config { mail_queue_url: Some(queue.clone()), ..(*p.config).clone() };
    let p = bourse_runtime::Platform { config: Arc::new(config), ..p };
    (enrich_consumer_fn::Consumer::new(p).await.unwrap(), queue)
}

/// Every message waiting on `queue` (bodies), taken off it.
async fn drain(queue: &str) -> Vec<String> {
    let sqs = &platform("enrich-consumer").aws.sqs;
    let mut bodies = Vec::new();
    loop {
        let got = sqs.receive_message().queue_url(queue).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        for m in messages {
            sqs.delete_message().queue_url(queue).receipt_handle(m.receipt_handle.unwrap()).send().await.unwrap();
            bodies.push(m.body.unwrap());
        }
    }
}

async fn consume(consumer: &enrich_consumer_fn::Consumer, body: &str) {
    let mut record = aws_lambda_events::sqs::SqsMessage::default();
    record.message_id = Some(format!("m-{}", bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()));
    record.body = Some(body.to_owned());
    let mut batch = aws_lambda_events::sqs::SqsEvent::default();
    batch.records = vec![record];
    let answer = consumer.consume(batch).await;
    assert!(answer.batch_item_failures.is_empty(), "the delivery message failed");
}

fn note(n: u64) -> Notification {
    let now = time::OffsetDateTime::now_utc();
    Notification {
        id: NotificationId::new(now.unix_timestamp() * 1000, &format!("{n:012x}")).unwrap(),
        kind: NotificationKind::JobCompleted,
        title: "Your enrichment job finished".into(),
        body: format!("{n} symbols enriched."),
        link: Some("/v1/jobs/j0123".into()),
        created_at: bourse_domain::text::rfc3339(now),
        read: false,
    }
}

async fn register(c: &Client, url: &str) -> Value {
    let created = c.call("POST", "/v1/webhooks", Some(json!({ "url": url }))).await;
    let body = json_body(&created);
    assert_eq!(created.status(), 201, "{body}");
    body
}

/// HMAC-SHA256 computed by Python's standard library: an implementation that shares nothing
/// with ours.
fn python_hmac(secret: &str, signed: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
            secret,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(signed).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_notification_reaches_the_endpoint_signed_once_and_redirects_are_not_followed() {
    let auth = auth().await;
    let c = client(&auth).await;
    let user = user_of(&c.token);
    let ok = receiver(204, None).await;
    let created = register(&c, &ok.url).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    // The secret is shown once: the list never holds it.
    let listed = json_body(&c.call("GET", "/v1/webhooks", None).await);
    assert_eq!(listed["items"][0]["id"], created["id"]);
    assert_eq!(listed["items"][0]["status"], "active");
    assert!(!listed.to_string().contains(&secret[6..]), "{listed}");
    let stored = bourse_storage::webhooks::settings(&platform("portfolio").aws, &table(), &user).await.unwrap();
    assert!(!stored.webhooks[0].sealed_secret.contains(&secret[6..]), "stored sealed, not in clear");

    // notify stores it and queues one delivery. A second notify of it (a producer's message that
    // came again, perhaps after stopping between the inbox and the queue) stores nothing more but
    // queues the delivery again; the copies, consumed, post it once.
    let (consumer, queue) = consumer_and_queue().await;
    let n = note(1);
    assert!(consumer.notify(&user, &n).await.unwrap());
    assert!(!consumer.notify(&user, &n).await.unwrap(), "a second notify stores nothing new");
    let event = enrich_consumer_fn::notify::event_of(&n);
    let hook: bourse_domain::WebhookId = bourse_domain::WebhookId::parse(created["id"].as_str().unwrap()).unwrap();
    let message = bourse_domain::messages::QueueMessage::DeliverWebhook { user: user.clone(), webhook: hook.clone(), attempt: 1, event };
    let body = serde_json::to_string(&message).unwrap();
    let queued = drain(&queue).await;
    assert_eq!(queued, vec![body.clone(), body.clone()], "each notify queued the same first attempt");
    for copy in &queued {
        consume(&consumer, copy).await;
    }
    consume(&consumer, &body).await; // and a redelivery of the same attempt
    assert_eq!(ok.count(), 1, "delivered once");
    let got = &ok.requests()[0];
    let header = got.header("bourse-signature").expect("signed");
    let (t, v1) = header.split_once(',').unwrap();
    let (t, v1) = (t.strip_prefix("t=").unwrap(), v1.strip_prefix("v1=").unwrap());
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(&got.body);
    assert_eq!(python_hmac(&secret, &signed), v1, "the signature verifies with the secret shown at creation");
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - t.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "t is the time of sending");
    let event: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(event["id"], format!("evt_{}", n.id));
    assert_eq!(event["type"], "job-completed");
    assert_eq!(event["data"]["title"], n.title);
    assert_eq!(got.header("bourse-event-id"), Some(format!("evt_{}", n.id).as_str()));
    assert_eq!(got.header("content-type"), Some("application/json"));

    // The test route queues a test event (to the enrichment queue, any consumer delivers it).
    let test = c.call("POST", &format!("/v1/webhooks/{hook}/test"), None).await;
    assert_eq!(test.status(), 202);
    assert!(json_body(&test)["event_id"].as_str().unwrap().starts_with("evt_test_"));

    // A receiver that redirects to another: the other never hears of it, the attempt failed.
    let target = receiver(204, None).await;
    let redirecting = receiver(302, Some(target.url.clone())).await;
    let moved = register(&c, &redirecting.url).await;
    let moved_id = bourse_domain::WebhookId::parse(moved["id"].as_str().unwrap()).unwrap();
    let event = WebhookEvent::test(&"cd".repeat(16), &bourse_domain::text::rfc3339(time::OffsetDateTime::now_utc()));
    let message = bourse_domain::messages::QueueMessage::DeliverWebhook {
        user: user.clone(),
        webhook: moved_id.clone(),
        attempt: 1,
        event: event.clone(),
    };
    consume(&consumer, &serde_json::to_string(&message).unwrap()).await;
    assert_eq!((redirecting.count(), target.count()), (1, 0), "the redirect was not followed");
    let state = bourse_storage::webhooks::attempt_state(&platform("portfolio").aws, &table(), &user, &event.id, &moved_id).await.unwrap();
    assert_eq!(state, Some(bourse_storage::webhooks::AttemptState { attempt: 1, delivered: false }));

    // Another user sees, tests and deletes none of them.
    let other = client(&auth).await;
    assert_eq!(json_body(&other.call("GET", "/v1/webhooks", None).await)["items"], json!([]));
    assert_eq!(other.call("POST", &format!("/v1/webhooks/{hook}/test"), None).await.status(), 404);
    assert_eq!(other.call("DELETE", &format!("/v1/webhooks/{hook}"), None).await.status(), 404);
    assert_eq!(c.call("DELETE", &format!("/v1/webhooks/{hook}"), None).await.status(), 204);
    assert_eq!(c.call("DELETE", &format!("/v1/webhooks/{hook}"), None).await.status(), 404);
    assert_eq!(c.call("DELETE", "/v1/webhooks/not-an-id", None).await.status(), 404);
}

#[tokio::test]
async fn failing_deliveries_are_retried_then_the_endpoint_is_disabled_with_a_notice() {
    let auth = auth().await;
    let c = client(&auth).await;
    let user = user_of(&c.token);
    let failing = receiver(500, None).await;
    let created = register(&c, &failing.url).await;
    let hook = bourse_domain::WebhookId::parse(created["id"].as_str().unwrap()).unwrap();
    let consumer = consumer().await;
    let now = bourse_domain::text::rfc3339(time::OffsetDateTime::now_utc());
    for delivery in 0..DISABLE_AFTER_FAILED_DELIVERIES {
        let event = WebhookEvent::test(&format!("{delivery:032x}"), &now);
        for attempt in 1..=ATTEMPTS {
            let message = bourse_domain::messages::QueueMessage::DeliverWebhook {
                user: user.clone(),
                webhook: hook.clone(),
                attempt,
                event: event.clone(),
            };
            consume(&consumer, &serde_json::to_string(&message).unwrap()).await;
            if attempt == 1 {
                // A redelivered attempt posts nothing more.
                consume(&consumer, &serde_json::to_string(&message).unwrap()).await;
            }
        }
        let listed = json_body(&c.call("GET", "/v1/webhooks", None).await);
        if delivery + 1 < DISABLE_AFTER_FAILED_DELIVERIES {
            assert_eq!(listed["items"][0]["status"], "active", "{listed}");
            assert_eq!(listed["items"][0]["failures"], delivery + 1);
        }
    }
    assert_eq!(failing.count() as u32, DISABLE_AFTER_FAILED_DELIVERIES * ATTEMPTS, "every attempt posted once");
    let listed = json_body(&c.call("GET", "/v1/webhooks", None).await);
    assert_eq!(listed["items"][0]["status"], "disabled", "{listed}");
    assert!(listed["items"][0]["disabled_at"].is_string());
    let (notes, _) = inbox::list(&platform("portfolio").aws, &table(), &user, 10, None, false).await.unwrap();
    let notices: Vec<&Notification> = notes.iter().filter(|n| n.kind == NotificationKind::WebhookDisabled).collect();
    assert_eq!(notices.len(), 1, "{notes:?}");
    assert!(notices[0].body.contains(&failing.url), "{}", notices[0].body);
    // A disabled endpoint gets nothing more, and cannot be tested.
    let event = WebhookEvent::test(&"ee".repeat(16), &now);
    let message = bourse_domain::messages::QueueMessage::DeliverWebhook { user: user.clone(), webhook: hook.clone(), attempt: 1, event };
    consume(&consumer, &serde_json::to_string(&message).unwrap()).await;
    assert_eq!(failing.count() as u32, DISABLE_AFTER_FAILED_DELIVERIES * ATTEMPTS);
    assert_eq!(c.call("POST", &format!("/v1/webhooks/{hook}/test"), None).await.status(), 409);
}

#[tokio::test]
async fn registration_refuses_what_this_stage_may_not_reach_and_bad_input() {
    let auth = auth().await;
    let c = client(&auth).await;
    // The test stage reaches loopback stand-ins only; the production matrix (private ranges,
    // metadata, mapped forms, rebinding) is unit-tested on the vetting itself.
    for url in [
        "http://10.0.0.1/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://0.0.0.0/x",
        "https://93.184.216.34/x",
    ] {
        let refused = c.call("POST", "/v1/webhooks", Some(json!({ "url": url }))).await;
        assert_eq!(refused.status(), 422, "{url}");
        assert_eq!(json_body(&refused)["errors"][0]["field"], "body.url", "{url}");
    }
    for (body, status) in [
        (json!({ "url": "ftp://127.0.0.1/x" }), 400),
        (json!({ "url": "http://user:pw@127.0.0.1/x" }), 400),
        (json!({ "url": "http://127.0.0.1/x#frag" }), 400),
        (json!({ "url": "127.0.0.1/x" }), 400),
        (json!({ "url": 5 }), 400),
        (json!({ "url": "http://127.0.0.1:9/x", "extra": 1 }), 400),
        (json!({}), 400),
    ] {
        assert_eq!(c.call("POST", "/v1/webhooks", Some(body.clone())).await.status(), status, "{body}");
    }
    // At most 3 endpoints.
    for port in 1..=3 {
        register(&c, &format!("http://127.0.0.1:{port}/x")).await;
    }
    let fourth = c.call("POST", "/v1/webhooks", Some(json!({ "url": "http://localhost:4/x" }))).await;
    assert_eq!(fourth.status(), 422);
    assert_eq!(json_body(&c.call("GET", "/v1/webhooks", None).await)["items"].as_array().unwrap().len(), 3);
    for (body, status) in [(json!({ "email": "yes" }), 400), (json!({}), 400), (json!({ "email": true, "sms": true }), 400)] {
        assert_eq!(c.call("PUT", "/v1/notifications/preferences", Some(body.clone())).await.status(), status, "{body}");
    }
}

#[tokio::test]
async fn a_user_who_turned_email_on_gets_each_notification_by_mail() {
    let app = auth().await;
    let (email, token, _) = auth_support::signed_in(&app).await;
    let c = Client { app: portfolio_fn::app(platform("portfolio")).unwrap(), token };
    let user = user_of(&c.token);
    assert_eq!(json_body(&c.call("GET", "/v1/notifications/preferences", None).await), json!({ "email": false }));
    let p = platform("enrich-consumer");
    let consumer = enrich_consumer_fn::Consumer::new(p.clone()).await.unwrap();
    // Off: no mail for the first notification.
    let quiet = note(11);
    assert!(consumer.notify(&user, &quiet).await.unwrap());
    let on = c.call("PUT", "/v1/notifications/preferences", Some(json!({ "email": true }))).await;
    assert_eq!((on.status().as_u16(), json_body(&on)), (200, json!({ "email": true })));
    // On, but the address is not verified yet: still none (no mail to an unproven address).
    let unverified = note(12);
    assert!(consumer.notify(&user, &unverified).await.unwrap());
    bourse_storage::accounts::mark_email_verified(&p.aws, &table(), &user).await.unwrap();
    let told = note(13);
    assert!(consumer.notify(&user, &told).await.unwrap());
    let mails = auth_support::wait_for_mail(&email, |(subject, text)| subject == &told.title && text.contains(&told.body)).await;
    let notifications: Vec<&(String, String)> = mails.iter().filter(|(s, _)| s == &told.title).collect();
    assert_eq!(notifications.len(), 1, "{mails:?}");
    assert!(notifications[0].1.contains("turn e-mail off"), "{}", notifications[0].1);
    assert!(!mails.iter().any(|(_, text)| text.contains(&quiet.body) || text.contains(&unverified.body)), "{mails:?}");
}
