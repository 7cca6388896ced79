//! Login sessions against DynamoDB Local and Redis: listing, ending one or all, logout with the
//! refresh token alone, the idle timeout, the plan re-read on refresh, and the race of one refresh
//! token presented twice at once.

mod auth_support;

use auth_support::*;
use base64::Engine;
use bourse_domain::ManualClock;
use bourse_integration_tests::{json_body, platform};
use lambda_http::{Body, Response};
use std::sync::Arc;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(now()))
}

/// Logs in `email` with a user agent of its own: (access token, refresh token).
async fn login_as(app: &AuthApp, email: &str, agent: &str, ip: &str) -> (String, String) {
    let request =
        with_headers(event("POST", "/v1/auth/login", "", Some(&credentials(email, PASSWORD)), None, ip), &[("user-agent", agent)]);
    let response = app.serve(request).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");
    (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
}

async fn sessions_of(app: &AuthApp, access: &str) -> Vec<serde_json::Value> {
    let response = app.serve(event("GET", "/v1/auth/sessions", "", None, Some(access), &random_ip())).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert!(body.get("next_cursor").is_none());
    body["items"].as_array().unwrap().clone()
}

async fn delete(app: &AuthApp, path: &str, access: &str) -> Response<Body> {
    app.serve(event("DELETE", path, "", None, Some(access), &random_ip())).await
}

fn claims(access: &str) -> serde_json::Value {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap()).unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[tokio::test]
async fn sessions_are_listed_and_end_one_at_a_time_or_all_at_once() {
    let clock = clock();
    let app = app_with_clock(Arc::clone(&clock)).await;
    let email = format!("{}@example.com", unique("sessions"));
    assert_eq!(register(&app, &email).await.status(), 202);
    let (laptop, laptop_refresh) = login_as(&app, &email, "Laptop/1.0", "203.0.113.77").await;
    clock.advance(1);
    let (phone, phone_refresh) = login_as(&app, &email, "Phone/2.0", "2001:db8:abcd:12::1").await;

    // Both are listed, newest first, each with its network (never the address) and agent.
    let listed = sessions_of(&app, &laptop).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let agents: Vec<&str> = listed.iter().map(|s| s["user_agent"].as_str().unwrap()).collect();
    assert_eq!(agents, ["Phone/2.0", "Laptop/1.0"]);
    assert_eq!(listed[1]["approximate_source"], "203.0.113.0/24");
    assert_eq!(listed[0]["approximate_source"], "2001:db8:abcd::/48");
    let current: Vec<bool> = listed.iter().map(|s| s["current"].as_bool().unwrap()).collect();
    assert_eq!(current, [false, true], "the laptop asked");
    assert_eq!(listed[1]["id"], claims(&laptop)["sid"]);

    // Another user cannot end (or even find) the phone's session.
    let (_, stranger, _) = signed_in(&app).await;
    let phone_id = listed[0]["id"].as_str().unwrap().to_owned();
    assert_problem(&delete(&app, &format!("/v1/auth/sessions/{phone_id}"), &stranger).await, 404);
    assert_problem(&delete(&app, "/v1/auth/sessions/not-a-session", &laptop).await, 404);
    assert_eq!(me(&app, &phone).await.status(), 200);

    // The laptop ends the phone's session: its access and refresh tokens stop at once.
    assert_eq!(delete(&app, &format!("/v1/auth/sessions/{phone_id}"), &laptop).await.status(), 204);
    assert_problem(&me(&app, &phone).await, 401);
    assert_problem(&refresh(&app, &phone_refresh).await, 401);
    let left = sessions_of(&app, &laptop).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);

    // Log out everywhere: the laptop too.
    assert_eq!(delete(&app, "/v1/auth/sessions", &laptop).await.status(), 204);
    assert_problem(&me(&app, &laptop).await, 401);
    assert_problem(&refresh(&app, &laptop_refresh).await, 401);
    // A new login afterwards is a new session, and works.
    let (again, _) = login_as(&app, &email, "Laptop/1.0", "203.0.113.77").await;
    assert_eq!(me(&app, &again).await.status(), 200);
    assert_eq!(sessions_of(&app, &again).await.len(), 1);
}

#[tokio::test]
async fn logout_with_the_refresh_token_alone_ends_the_session() {
    let app = app_with_clock(clock()).await;
    let (_, access, refresh_token) = signed_in(&app).await;
    let body = serde_json::json!({"refresh_token": refresh_token}).to_string();
    let out = app.serve(event("POST", "/v1/auth/logout", "", Some(&body), None, &random_ip())).await;
    assert_eq!(out.status(), 204);
    assert_problem(&me(&app, &access).await, 401);
    assert_problem(&refresh(&app, &refresh_token).await, 401);
    // Neither a token nor a body: 401 with a plain challenge; an unknown refresh token: 401.
    assert_problem(&app.serve(event("POST", "/v1/auth/logout", "", None, None, &random_ip())).await, 401);
    let unknown = serde_json::json!({"refresh_token": "A".repeat(43)}).to_string();
    assert_problem(&app.serve(event("POST", "/v1/auth/logout", "", Some(&unknown), None, &random_ip())).await, 401);
    let malformed = serde_json::json!({"refresh_token": "short"}).to_string();
    assert_problem(&app.serve(event("POST", "/v1/auth/logout", "", Some(&malformed), None, &random_ip())).await, 400);
}

#[tokio::test]
async fn a_session_not_refreshed_for_a_week_ends() {
    let clock = clock();
    let app = app_with_clock(Arc::clone(&clock)).await;
    let (_, _, mut token) = signed_in(&app).await;
    // Used every six days, it lives on.
    for _ in 0..3 {
        clock.advance(6 * 86_400);
        let rotated = refresh(&app, &token).await;
        assert_eq!(rotated.status(), 200, "{}", json_body(&rotated));
        token = json_body(&rotated)["refresh_token"].as_str().unwrap().to_owned();
    }
    // Then a week and a second without a refresh: over.
    clock.advance(bourse_tokens::SESSION_IDLE_SECONDS + 1);
    assert_problem(&refresh(&app, &token).await, 401);
}

#[tokio::test]
async fn a_refresh_carries_the_current_plan() {
    let app = app_with_clock(clock()).await;
    let (_, access, refresh_token) = signed_in(&app).await;
    assert_eq!(claims(&access)["plan"], "free");
    let user = claims(&access)["sub"].as_str().unwrap().to_owned();
    // An operator moves the account to pro (the profile item is the plan's source of truth).
    let p = platform("auth");
    p.aws
        .dynamodb
        .update_item()
        .table_name(p.config.require_app_table().unwrap())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{user}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("PROFILE".into()))
        .update_expression("SET #plan = :pro")
        .expression_attribute_names("#plan", "plan")
        .expression_attribute_values(":pro", aws_sdk_dynamodb::types::AttributeValue::S("pro".into()))
        .send()
        .await
        .unwrap();
    let rotated = refresh(&app, &refresh_token).await;
    assert_eq!(rotated.status(), 200);
    assert_eq!(claims(json_body(&rotated)["access_token"].as_str().unwrap())["plan"], "pro");
}

/// One refresh token presented twice at the same moment: one answer wins, and the loser ends the
/// family, so the winner's new tokens stop too (one of the two presenters stole the token).
#[tokio::test]
async fn two_concurrent_refreshes_with_one_token_end_the_family() {
    let app = app_with_clock(clock()).await;
    for _ in 0..3 {
        let (_, _, token) = signed_in(&app).await;
        let (a, b) = tokio::join!(refresh(&app, &token), refresh(&app, &token));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 401]);
        let winner = json_body(if a.status() == 200 { &a } else { &b });
        assert_problem(&me(&app, winner["access_token"].as_str().unwrap()).await, 401);
        assert_problem(&refresh(&app, winner["refresh_token"].as_str().unwrap()).await, 401);
    }
}

/// An account holds at most `MAX_SESSIONS_PER_ACCOUNT` live sessions: a sign-in past it ends the
/// least recently used one, and only that one.
#[tokio::test]
async fn a_sign_in_past_the_session_cap_ends_the_least_recently_used_session() {
    let clock = clock();
    let app = app_with_clock(Arc::clone(&clock)).await;
    let (email, _, first_refresh) = signed_in(&app).await;
    let mut latest = String::new();
    for i in 1..bourse_tokens::MAX_SESSIONS_PER_ACCOUNT {
        clock.advance(1);
        latest = login_as(&app, &email, &format!("device {i}"), &random_ip()).await.0;
    }
    // Using the first session makes the second the least recently used.
    clock.advance(1);
    let used = refresh(&app, &first_refresh).await;
    assert_eq!(used.status(), 200);
    let first_access_now = json_body(&used)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(sessions_of(&app, &latest).await.len(), bourse_tokens::MAX_SESSIONS_PER_ACCOUNT);
    clock.advance(1);
    let newest = login_as(&app, &email, "one device too many", &random_ip()).await.0;
    let live = sessions_of(&app, &newest).await;
    assert_eq!(live.len(), bourse_tokens::MAX_SESSIONS_PER_ACCOUNT, "still at the cap");
    let agents: Vec<&str> = live.iter().filter_map(|s| s["user_agent"].as_str()).collect();
    assert!(!agents.contains(&"device 1"), "the least recently used session ended: {agents:?}");
    assert!(agents.contains(&"device 2") && agents.contains(&"one device too many"), "{agents:?}");
    assert_eq!(me(&app, &first_access_now).await.status(), 200, "the refreshed first session lives on");
}

/// However often it is refreshed, a session ends 30 days after its sign-in.
#[tokio::test]
async fn a_session_used_every_day_still_ends_thirty_days_after_sign_in() {
    let clock = clock();
    let app = app_with_clock(Arc::clone(&clock)).await;
    let (_, _, mut token) = signed_in(&app).await;
    let mut elapsed = 0;
    while elapsed + 5 * 86_400 < bourse_tokens::REFRESH_FAMILY_TTL_SECONDS {
        clock.advance(5 * 86_400);
        elapsed += 5 * 86_400;
        let rotated = refresh(&app, &token).await;
        assert_eq!(rotated.status(), 200, "day {}: {}", elapsed / 86_400, json_body(&rotated));
        token = json_body(&rotated)["refresh_token"].as_str().unwrap().to_owned();
    }
    clock.advance(bourse_tokens::REFRESH_FAMILY_TTL_SECONDS - elapsed);
    assert_problem(&refresh(&app, &token).await, 401);
}
