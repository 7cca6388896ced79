//! Brute-force limits hold with Redis stopped: their state is in DynamoDB. Alone in its own test
//! binary because it stops the shared test Redis (and restarts it).

mod auth_support;

use auth_support::*;
use bourse_domain::ManualClock;
use bourse_integration_tests::{require_stack, stop_redis};
use std::sync::Arc;

#[tokio::test]
async fn login_limits_hold_with_redis_stopped() {
    require_stack();
    let app = app_with_clock(Arc::new(ManualClock::new(now()))).await;
    let email = format!("{}@example.com", unique("down"));
    assert_eq!(register(&app, &email).await.status(), 202);
    let _redis = stop_redis();
    let attacker = random_ip();
    for _ in 0..5 {
        assert_problem(&login(&app, &email, "wrong-password-guess", &attacker).await, 401);
    }
    let locked = login(&app, &email, PASSWORD, &attacker).await;
    assert_problem(&locked, 429);
    assert!(locked.headers().contains_key("retry-after"));
    let ip = random_ip();
    for i in 0..30 {
        assert_problem(&login(&app, &format!("{}@example.com", unique(&format!("d{i}"))), PASSWORD, &ip).await, 401);
    }
    assert_problem(&login(&app, &format!("{}@example.com", unique("d")), PASSWORD, &ip).await, 429);
    // Tokens still verify and are metered: the revocation check falls back to DynamoDB.
    let other = format!("{}@example.com", unique("down-ok"));
    assert_eq!(register(&app, &other).await.status(), 202);
    let response = login(&app, &other, PASSWORD, &random_ip()).await;
    assert_eq!(response.status(), 200, "{}", bourse_integration_tests::json_body(&response));
    let token = bourse_integration_tests::json_body(&response)["access_token"].as_str().unwrap().to_owned();
    let profile = me(&app, &token).await;
    assert_eq!(profile.status(), 200, "{}", bourse_integration_tests::json_body(&profile));
}
