//! Deleting an account, end to end on the stand-ins: the auth function releases the address and
//! queues the erasure, the consumer erases in steps through the account queue, and afterwards a
//! Query by every key of the user — each partition its items live in, and each index partition
//! that names it — finds nothing. Another user's data is untouched.

mod auth_support;
mod portfolio_support;

use auth_support::*;
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::{Email, ManualClock, UserId};
use bourse_integration_tests::{json_body, platform};
use bourse_storage::schema::app;
use lambda_http::{Body, Response};
use portfolio_support::{Client, new_portfolio};
use serde_json::json;
use std::sync::Arc;

async fn app() -> AuthApp {
    app_with_clock(Arc::new(ManualClock::new(now()))).await
}

fn table() -> String {
    std::env::var("APP_TABLE").expect("APP_TABLE")
}

async fn call(app: &AuthApp, method: &str, path: &str, body: Option<serde_json::Value>, token: Option<&str>) -> Response<Body> {
    let body = body.map(|b| b.to_string());
    app.serve(event(method, path, "", body.as_deref(), token, &random_ip())).await
}

/// How many items a Query of `pk` (or of an index partition) finds, strongly consistent where it
/// can be.
async fn count(pk: &str, index: Option<(&str, &str)>) -> usize {
    let p = platform("auth");
    let (name, key) = match index {
        Some((name, key)) => (Some(name.to_owned()), key),
        None => (None, "pk"),
    };
    let output = p
        .aws
        .dynamodb
        .query()
        .table_name(table())
        .set_index_name(name.clone())
        .key_condition_expression("#k = :k")
        .expression_attribute_names("#k", key)
        .expression_attribute_values(":k", AttributeValue::S(pk.to_owned()))
        .consistent_read(name.is_none())
        .send()
        .await
        .unwrap();
    output.count as usize
}

/// Every partition of the user's items, with how many items each holds now.
async fn footprint(
    user: &str,
    email: &str,
    portfolio: &str,
    job: &str,
    token_hashes: &[String],
    idempotency_key: &str,
) -> Vec<(String, usize)> {
    let account = bourse_storage::login_limits::account_key(&Email::parse(email).unwrap());
    let mut keys: Vec<(String, Option<(&str, &str)>)> = vec![
        (format!("USER#{user}"), None),
        (format!("EMAIL#{email}"), None),
        (format!("P#{user}#{portfolio}"), None),
        (format!("J#{user}"), None),
        (format!("USAGE#{user}"), None),
        (format!("INBOX#{user}"), None),
        (format!("ALERT#{user}"), None),
        (format!("IDEMP#{user}#{idempotency_key}"), None),
        (format!("JOB#{job}"), None),
        (format!("LOGINLIMIT#ACCOUNT#{account}"), None),
        (format!("LOGINLIMIT#FAILURES#{account}"), None),
        (format!("SESSIONS#{user}"), Some((app::GSI1, app::GSI1_PK))),
        (format!("OWNER#{user}"), Some((app::GSI3, app::GSI3_PK))),
    ];
    for hash in token_hashes {
        keys.push((format!("REFRESH#{hash}"), None));
        keys.push((format!("RESET#{hash}"), None));
    }
    let mut counted = Vec::new();
    for (key, index) in keys {
        let n = count(&key, index).await;
        counted.push((key, n));
    }
    counted
}

#[tokio::test]
async fn deleting_an_account_leaves_nothing_of_the_user_and_nothing_else_is_touched() {
    let auth = app().await;
    let (email, access, first_refresh) = signed_in(&auth).await;
    let user = json_body(&me(&auth, &access).await)["user_id"].as_str().unwrap().to_owned();
    let portfolio_app = || portfolio_fn::app(platform("portfolio")).unwrap();

    // Someone else, whose data must survive.
    let (_, other_access, _) = signed_in(&auth).await;
    let other = Client { app: portfolio_app(), token: other_access };
    let other_portfolio = new_portfolio(&other).await;

    // The user's data, through the API: a portfolio (with an Idempotency-Key), a trade, an import
    // with an unknown symbol (an imported file and a job), a journal signal; a wrong password (sign-in
    // limits), a refresh (a second refresh token), a password reset request (a reset token), and
    // the usage every bearer request meters.
    let c = Client { app: portfolio_app(), token: access.clone() };
    let idempotency_key = unique("idem");
    let created = c
        .call_with(
            "POST",
            "/v1/portfolios",
            "",
            Some(json!({"name": "Doomed", "currency": "usd"})),
            &[("idempotency-key", &idempotency_key)],
        )
        .await;
    assert_eq!(created.status(), 201);
    let portfolio = json_body(&created)["id"].as_str().unwrap().to_owned();
    let trade = json!({"type": "BUY", "symbol": "AAPL", "trade_date": "2026-01-15", "quantity": "2", "price": "180", "fees": "0"});
    assert_eq!(c.call("POST", &format!("/v1/portfolios/{portfolio}/transactions"), Some(trade)).await.status(), 201);
    let csv = b"date,type,symbol,quantity,price,fees,amount,ratio,currency\n2026-02-02,BUY,ZZZZ,1,10,0,,,USD\n";
    let imported = json_body(&c.upload(&portfolio, "text/csv", csv).await);
    let job = imported["enrichment_job"]["job_id"].as_str().expect("the unknown symbol queued a job").to_owned();
    let signal = json!({"symbol": "MSFT", "direction": "LONG", "entry_price": "400", "confidence": 70});
    assert_eq!(c.call("POST", "/v1/journal/signals", Some(signal)).await.status(), 201);
    // Delivery settings: a webhook endpoint (with its count) and the preferences, in the inbox's partition.
    assert_eq!(c.call("POST", "/v1/webhooks", Some(json!({"url": "http://127.0.0.1:9/hook"}))).await.status(), 201);
    assert_eq!(c.call("PUT", "/v1/notifications/preferences", Some(json!({"email": true}))).await.status(), 200);
    // A saved screen (under USER#) and alerts (ALERT#, indexed by symbol and as a screen alert).
    let screen = json_body(&c.call("POST", "/v1/screens", Some(json!({"name": "Big", "filter": "market_cap > 100B"}))).await);
    let screen_alert = json!({"kind": "screen", "screen_id": screen["id"]});
    assert_eq!(c.call("POST", "/v1/alerts", Some(screen_alert)).await.status(), 201);
    let price_alert = json!({"kind": "price-above", "symbol": "MSFT", "price": "1000"});
    assert_eq!(c.call("POST", "/v1/alerts", Some(price_alert)).await.status(), 201);
    assert_eq!(login(&auth, &email, "wrong-password-entirely", &random_ip()).await.status(), 401);
    let refreshed = json_body(&refresh(&auth, &first_refresh).await);
    let second_refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    let reset = call(&auth, "POST", "/v1/auth/password-reset", Some(json!({"email": email})), None).await;
    assert_eq!(reset.status(), 202);
    let reset_token = mailed_token(&email, "reset-password").await;
    let hashes: Vec<String> =
        [&first_refresh, &second_refresh, &reset_token].iter().map(|t| bourse_tokens::refresh_token_hash(t)).collect();

    // A notification in the inbox (what a finished job leaves).
    let note = bourse_storage::inbox::Notification {
        id: bourse_domain::inbox::NotificationId::new(1_795_642_200_000, "0123456789ab").unwrap(),
        kind: bourse_domain::inbox::NotificationKind::JobCompleted,
        title: "done".into(),
        body: "1 symbol enriched.".into(),
        link: None,
        created_at: "2026-11-25T21:30:00Z".into(),
        read: false,
    };
    let owner = UserId::parse(&user).unwrap();
    assert!(bourse_storage::inbox::deliver(&platform("auth").aws, &table(), &owner, &note).await.unwrap());

    let before = footprint(&user, &email, &portfolio, &job, &hashes, &idempotency_key).await;
    for key in
        ["USER#", "EMAIL#", "P#", "J#", "USAGE#", "INBOX#", "ALERT#", "IDEMP#", "JOB#", "LOGINLIMIT#FAILURES#", "SESSIONS#", "OWNER#"]
    {
        assert!(before.iter().any(|(k, n)| k.starts_with(key) && *n > 0), "the user has no {key} item to delete: {before:?}");
    }
    let held = |prefix: &str| before.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, n)| n).sum::<usize>();
    assert_eq!((held("REFRESH#"), held("RESET#")), (2, 1), "two refresh tokens and a reset token: {before:?}");
    assert_eq!(held("INBOX#"), 5, "a notification, the unread count, an endpoint, the endpoints' count, the preferences: {before:?}");

    // Re-authentication: the password is asked, and a wrong one changes nothing.
    let wrong = call(&auth, "DELETE", "/v1/me", Some(json!({"password": "not-the-password-at-all"})), Some(&access)).await;
    assert_problem(&wrong, 403);
    assert_problem(&call(&auth, "DELETE", "/v1/me", None, Some(&access)).await, 400);
    assert_eq!(me(&auth, &access).await.status(), 200);

    let deleted = call(&auth, "DELETE", "/v1/me", Some(json!({"password": PASSWORD})), Some(&access)).await;
    assert_eq!(deleted.status(), 202, "{}", json_body(&deleted));
    // At once: signed out everywhere, and the address signs in no more.
    assert_problem(&me(&auth, &access).await, 401);
    assert_problem(&refresh(&auth, &second_refresh).await, 401);
    assert_problem(&login(&auth, &email, PASSWORD, &random_ip()).await, 401);

    // The erasure runs through the account queue; its last step mails the owner.
    wait_for_mail(&email, |(subject, _)| subject.contains("was deleted")).await;
    let after = footprint(&user, &email, &portfolio, &job, &hashes, &idempotency_key).await;
    let left: Vec<&(String, usize)> = after.iter().filter(|(_, n)| *n > 0).collect();
    assert!(left.is_empty(), "items of the deleted user remain: {left:?}");

    // The other user's portfolio is intact, and the address may register again.
    assert_eq!(other.call("GET", &format!("/v1/portfolios/{other_portfolio}"), None).await.status(), 200);
    assert_eq!(register(&auth, &email).await.status(), 202);
}

/// A large account takes several steps, each bounded; the queue carries the erasure to the end.
#[tokio::test]
async fn a_large_account_is_erased_in_bounded_steps() {
    let p = platform("auth");
    let user: UserId = bourse_integration_tests::random_user_id();
    let email = Email::parse(&format!("{}@example.com", unique("large"))).unwrap();
    // 1.6 steps' worth of usage items and a profile.
    let items = bourse_storage::erasure::STEP_ITEMS * 8 / 5;
    let writes: Vec<bourse_storage::batch::Write> = (0..items)
        .map(|i| {
            bourse_storage::batch::Write::Put(std::collections::HashMap::from([
                ("pk".to_owned(), AttributeValue::S(format!("USAGE#{user}"))),
                ("sk".to_owned(), AttributeValue::S(format!("9999-{i:06}"))),
            ]))
        })
        .collect();
    bourse_storage::batch::write_all(&p.aws, &table(), writes).await.unwrap();
    bourse_storage::accounts::create_account(
        &p.aws,
        &table(),
        &bourse_storage::accounts::NewAccount {
            user_id: &user,
            email: email.as_str(),
            password_hash: "not-a-hash",
            plan: "free",
            created_at: "2026-12-01T00:00:00Z",
        },
    )
    .await
    .unwrap();
    assert!(bourse_storage::accounts::begin_deletion(&p.aws, &table(), &user, email.as_str(), now()).await.unwrap());

    let first = bourse_storage::erasure::erase_step(&p.aws, &table(), &user, &email).await.unwrap();
    assert!(!first.finished && first.deleted >= bourse_storage::erasure::STEP_ITEMS, "{first:?}");
    assert!(count(&format!("USER#{user}"), None).await == 1, "the profile goes last");
    assert!(count(&format!("USAGE#{user}"), None).await > 0);

    // The consumer carries it on: the rest, then the final pass, then the goodbye.
    let message =
        bourse_domain::messages::QueueMessage::EraseAccount { user: user.clone(), email: email.as_str().to_owned(), final_pass: false };
    let queue = std::env::var("MAIL_QUEUE_URL").unwrap();
    bourse_storage::queue::send_messages(&p.aws, &queue, &[message], None).await.unwrap();
    wait_for_mail(email.as_str(), |(subject, _)| subject.contains("was deleted")).await;
    assert_eq!(count(&format!("USAGE#{user}"), None).await, 0);
    assert_eq!(count(&format!("USER#{user}"), None).await, 0);
    assert_eq!(count(&format!("EMAIL#{email}"), None).await, 0, "the claim went when the deletion began");
}
