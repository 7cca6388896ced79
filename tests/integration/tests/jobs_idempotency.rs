//! A retried `POST /v1/jobs` with the same Idempotency-Key creates one job, not two.

mod auth_support;

use auth_support::{app_with_clock, event, random_ip, signed_in};
use bourse_domain::ManualClock;
use bourse_integration_tests::{json_body, platform};
use std::sync::Arc;

#[tokio::test]
async fn a_retried_job_post_is_answered_from_the_first_one() {
    let auth = app_with_clock(Arc::new(ManualClock::new(auth_support::now()))).await;
    let (_, token, _) = signed_in(&auth).await;
    let screener = screener_fn::app(platform("screener")).unwrap();
    let post = |body: &str| {
        let mut request = event("POST", "/v1/jobs", "", Some(body), Some(&token), &random_ip());
        request.headers_mut().insert("idempotency-key", "refresh-msft-1".parse().unwrap());
        screener.serve(request)
    };
    let first = post(r#"{"symbols":["MSFT"]}"#).await;
    let second = post(r#"{"symbols":["MSFT"]}"#).await;
    assert_eq!(first.status(), 202, "{}", json_body(&first));
    assert_eq!(second.status(), 202);
    assert_eq!(json_body(&first)["jobId"], json_body(&second)["jobId"], "one job, not two");
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(first.headers()["location"], second.headers()["location"]);
    assert_eq!(post(r#"{"symbols":["AAPL"]}"#).await.status(), 422, "same key, other body");
}
