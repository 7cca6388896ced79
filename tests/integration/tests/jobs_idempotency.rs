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
    assert_eq!(json_body(&first)["job_id"], json_body(&second)["job_id"], "one job, not two");
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(first.headers()["location"], second.headers()["location"]);
    assert_eq!(post(r#"{"symbols":["AAPL"]}"#).await.status(), 422, "same key, other body");
}

/// The same signed-in user's token with `plan` in its claims (the plan is set on the account by
/// billing; here the test signs it with the profile's key).
fn with_plan(token: &str, plan: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: bourse_tokens::AccessClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    claims.plan = plan.to_owned();
    let signer =
        bourse_tokens::TokenSigner::new(&std::env::var("JWT_SIGNING_KID").unwrap(), &bourse_integration_tests::signing_key_pem()).unwrap();
    signer.sign(&claims).unwrap()
}

/// Jobs cost provider requests shared by everyone: a free account names up to 25 symbols and may
/// not refresh the whole universe (403 naming the plan that may); a pro account may.
#[tokio::test]
async fn job_sizes_and_universe_refreshes_follow_the_plan() {
    let auth = app_with_clock(Arc::new(ManualClock::new(auth_support::now()))).await;
    let (_, free, _) = signed_in(&auth).await;
    let pro = with_plan(&free, "pro");
    let screener = screener_fn::app(platform("screener")).unwrap();
    let post = |token: &str, body: String| screener.serve(event("POST", "/v1/jobs", "", Some(&body), Some(token), &random_ip()));
    let universe = post(&free, r#"{"universe":true}"#.into()).await;
    let problem = json_body(&universe);
    assert_eq!(universe.status(), 403, "{problem}");
    assert_eq!(problem["type"], "urn:bourse:problem:forbidden");
    assert!(problem["detail"].as_str().unwrap().contains("pro plan"), "{problem}");
    let names = |n: usize| {
        serde_json::json!({"symbols": bourse_domain::universe::load_universe(
        &std::fs::read_to_string(bourse_integration_tests::repo_root().join("data/sp500-constituents.csv")).unwrap(),
        &std::fs::read_to_string(bourse_integration_tests::repo_root().join("data/sp500-financials.csv")).unwrap()).unwrap()
        .iter().take(n).map(|r| r.symbol.to_string()).collect::<Vec<_>>()})
        .to_string()
    };
    assert_eq!(post(&free, names(25)).await.status(), 202, "25 symbols: the free plan's most");
    assert_eq!(post(&free, names(26)).await.status(), 403);
    assert_eq!(post(&pro, names(26)).await.status(), 202);
    let refresh = post(&pro, r#"{"universe":true}"#.into()).await;
    let body = json_body(&refresh);
    assert_eq!(refresh.status(), 202, "{body}");
    // A universe job covers every published stock, once.
    let p = platform("screener");
    let market = p.config.require_market_table().unwrap();
    let universe =
        bourse_storage::market::load_universe(&p.aws, market, bourse_storage::market::universe_version(&p.aws, market).await.unwrap())
            .await
            .unwrap();
    assert_eq!(body["kind"], "universe");
    assert_eq!(body["total"].as_u64(), Some(universe.len() as u64));
    let id = bourse_domain::jobs::JobId::parse(body["job_id"].as_str().unwrap()).unwrap();
    let symbols = bourse_storage::jobs::job_symbols(&p.aws, p.config.require_app_table().unwrap(), &id).await.unwrap();
    let expected: Vec<_> = universe.iter().map(|s| s.symbol.clone()).collect();
    assert_eq!(symbols, expected);
}
