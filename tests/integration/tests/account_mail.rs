//! The account flows that go through e-mail, end to end on the stand-ins: the auth function
//! queues each message, the consumer sends it through the SES stand-in, and the tests read it
//! there. Registration and reset never tell who has an account.

mod auth_support;

use auth_support::*;
use bourse_domain::ManualClock;
use bourse_integration_tests::json_body;
use lambda_http::{Body, Response};
use std::sync::Arc;

async fn app() -> AuthApp {
    app_with_clock(Arc::new(ManualClock::new(now()))).await
}

async fn post(app: &AuthApp, path: &str, body: serde_json::Value, token: Option<&str>) -> Response<Body> {
    app.serve(event("POST", path, "", Some(&body.to_string()), token, &random_ip())).await
}

async fn verified(app: &AuthApp, access: &str) -> bool {
    json_body(&me(app, access).await)["email_verified"].as_bool().unwrap()
}

#[tokio::test]
async fn a_new_address_is_verified_once_with_the_mailed_token() {
    let app = app().await;
    let (email, access, _) = signed_in(&app).await;
    assert!(!verified(&app, &access).await, "an unverified account may sign in");
    let token = mailed_token(&email, "verify-email").await;
    assert_problem(&post(&app, "/v1/auth/verify-email", serde_json::json!({"token": "A".repeat(43)}), None).await, 400);
    assert_eq!(post(&app, "/v1/auth/verify-email", serde_json::json!({"token": token}), None).await.status(), 204);
    assert!(verified(&app, &access).await);
    let again = post(&app, "/v1/auth/verify-email", serde_json::json!({"token": token}), None).await;
    assert_problem(&again, 400);
    assert_eq!(json_body(&again)["errors"][0]["field"], "body.token");
}

/// Same status and body whether or not the address has an account, for registration and for a
/// reset request; the owner of a taken address is told instead, and an unknown address gets
/// nothing.
#[tokio::test]
async fn registration_and_reset_answer_alike_for_known_and_unknown_addresses() {
    let app = app().await;
    let (known, _, _) = signed_in(&app).await;
    let unknown = format!("{}@example.com", unique("nobody"));
    let again = register(&app, &known).await;
    let fresh = register(&app, &unknown).await;
    assert_eq!((again.status().as_u16(), fresh.status().as_u16()), (202, 202));
    assert_eq!(json_body(&again), json_body(&fresh));
    let reset_known = post(&app, "/v1/auth/password-reset", serde_json::json!({"email": known}), None).await;
    let nobody = format!("{}@example.com", unique("ghost"));
    let reset_unknown = post(&app, "/v1/auth/password-reset", serde_json::json!({"email": nobody}), None).await;
    assert_eq!((reset_known.status().as_u16(), reset_unknown.status().as_u16()), (202, 202));
    assert_eq!(json_body(&reset_known), json_body(&reset_unknown));
    wait_for_mail(&known, |(s, _)| s.contains("tried to sign up")).await;
    wait_for_mail(&known, |(s, _)| s.contains("Reset")).await;
    wait_for_mail(&unknown, |(s, _)| s.contains("Confirm")).await;
    // Every request was queued before these mails were sent: a mail to the address without an
    // account would have been sent with them.
    assert!(inbox(&nobody).await.is_empty(), "no mail to an address without an account");
}

#[tokio::test]
async fn a_password_reset_sets_the_password_once_and_ends_every_session() {
    let app = app().await;
    let (email, access, refresh_token) = signed_in(&app).await;
    assert_eq!(post(&app, "/v1/auth/password-reset", serde_json::json!({"email": email}), None).await.status(), 202);
    let token = mailed_token(&email, "reset-password").await;
    // A weak password is refused before the token is spent.
    let weak = post(&app, "/v1/auth/password-reset/confirm", serde_json::json!({"token": token, "password": "password"}), None).await;
    assert_problem(&weak, 400);
    let new_password = "Marmalade-Comet-93-slowly";
    let done = post(&app, "/v1/auth/password-reset/confirm", serde_json::json!({"token": token, "password": new_password}), None).await;
    assert_eq!(done.status(), 204, "{}", json_body(&done));
    assert_problem(&me(&app, &access).await, 401);
    assert_problem(&refresh(&app, &refresh_token).await, 401);
    assert_problem(&login(&app, &email, PASSWORD, &random_ip()).await, 401);
    let signed = login(&app, &email, new_password, &random_ip()).await;
    assert_eq!(signed.status(), 200);
    assert!(verified(&app, json_body(&signed)["access_token"].as_str().unwrap()).await, "the link reached the address");
    let reused =
        post(&app, "/v1/auth/password-reset/confirm", serde_json::json!({"token": token, "password": "Another-Long-Pass-44"}), None).await;
    assert_problem(&reused, 400);
    wait_for_mail(&email, |(s, _)| s.contains("password was changed")).await;
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_session() {
    let app = app().await;
    let (email, access, refresh_token) = signed_in(&app).await;
    let new_password = "Lighthouse-Pepper-28-gently";
    let wrong = post(
        &app,
        "/v1/auth/password",
        serde_json::json!({"current_password": "not-it-at-all", "new_password": new_password}),
        Some(&access),
    )
    .await;
    assert_problem(&wrong, 403);
    let weak =
        post(&app, "/v1/auth/password", serde_json::json!({"current_password": PASSWORD, "new_password": "12345678"}), Some(&access)).await;
    assert_problem(&weak, 400);
    assert_eq!(json_body(&weak)["errors"][0]["field"], "body.new_password");
    let changed =
        post(&app, "/v1/auth/password", serde_json::json!({"current_password": PASSWORD, "new_password": new_password}), Some(&access))
            .await;
    assert_eq!(changed.status(), 204, "{}", json_body(&changed));
    assert_problem(&me(&app, &access).await, 401);
    assert_problem(&refresh(&app, &refresh_token).await, 401);
    assert_eq!(login(&app, &email, new_password, &random_ip()).await.status(), 200);
    wait_for_mail(&email, |(s, _)| s.contains("password was changed")).await;
}

#[tokio::test]
async fn registrations_from_one_address_are_limited_per_minute() {
    let app = app().await;
    let ip = random_ip();
    let limit = bourse_domain::login_throttle::AddressLimit::Register.per_minute() as usize;
    let mut statuses = Vec::new();
    for _ in 0..=limit {
        let email = format!("{}@example.com", unique("burst"));
        let response = app.serve(event("POST", "/v1/auth/register", "", Some(&credentials(&email, PASSWORD)), None, &ip)).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(statuses.iter().filter(|s| **s == 202).count(), limit, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

/// What an observer learns from an answer: its status, its body without the per-request members,
/// and the requests it cost (a proxy for its time: the same requests in the same order, with the
/// same password work on both paths; `dev/bench-enumeration.sh` measures the times).
async fn observed(app: &AuthApp, path: &str, body: serde_json::Value) -> (u16, serde_json::Value, Vec<String>, Vec<String>) {
    let (response, counted) = bourse_telemetry::measured(post(app, path, body, None)).await;
    let mut shown = json_body(&response);
    if let Some(members) = shown.as_object_mut() {
        members.remove("request_id");
        members.remove("instance");
    }
    (response.status().as_u16(), shown, counted.dynamodb_operations, counted.sqs_operations)
}

/// Registration, a reset request and a failed sign-in answer the same and send the same requests
/// whether or not the address has an account.
#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer_for_the_same_work() {
    let app = app().await;
    let (known, _, _) = signed_in(&app).await;
    let unknown = || format!("{}@example.com", unique("stranger"));
    let cases = [
        (
            "/v1/auth/register",
            serde_json::json!({"email": known, "password": PASSWORD}),
            serde_json::json!({"email": unknown(), "password": PASSWORD}),
        ),
        ("/v1/auth/password-reset", serde_json::json!({"email": known}), serde_json::json!({"email": unknown()})),
        (
            "/v1/auth/login",
            serde_json::json!({"email": known, "password": "a-wrong-password-here"}),
            serde_json::json!({"email": unknown(), "password": "a-wrong-password-here"}),
        ),
    ];
    for (path, for_known, for_unknown) in cases {
        let known_answer = observed(&app, path, for_known).await;
        let unknown_answer = observed(&app, path, for_unknown).await;
        assert!(known_answer.2.len() >= 2, "{path}: the requests were counted: {known_answer:?}");
        assert_eq!(known_answer, unknown_answer, "{path}: an observer could tell the addresses apart");
    }
}
