//! With the real Redis stopped, every function keeps serving and health reports the cache down.
//! Alone in its own test binary because it stops the shared test Redis (and restarts it).

use bourse_integration_tests::{ensure_resources, json_body, platform, request, require_stack, stop_redis};

#[tokio::test]
async fn functions_keep_serving_with_redis_stopped() {
    require_stack();
    ensure_resources().await;
    let apps_up = screener_fn::app(platform("screener")).unwrap();
    assert_eq!(json_body(&apps_up.serve(request("screener/health.json")).await)["dependencies"]["cache"]["status"], "up");
    // The cache and DynamoDB agree on the universe version, and the screener holds that universe.
    let screener_platform = platform("screener");
    screener_platform.cache.as_ref().unwrap().delete(&[bourse_cache::UNIVERSE_VERSION_KEY.to_owned()]).await.unwrap();
    let sectors = || lambda_http::request::from_str(&bourse_integration_tests::event("screener/list-stocks.json")).unwrap();
    assert_eq!(apps_up.serve(sectors()).await.status(), 200);

    let _redis = stop_redis();
    for (service, response) in [
        ("auth", auth_fn::app(platform("auth")).expect("auth starts").serve(request("auth/health.json")).await),
        ("portfolio", portfolio_fn::app(platform("portfolio")).unwrap().serve(request("portfolio/health.json")).await),
        ("screener", apps_up.serve(request("screener/health.json")).await),
    ] {
        let body = json_body(&response);
        assert_eq!(response.status(), 200, "{service}: {body}");
        assert_eq!(body["status"], "degraded", "{service}: {body}");
        assert_eq!(body["dependencies"]["cache"]["status"], "down", "{service}: {body}");
        assert_eq!(body["dependencies"]["app_table"]["status"], "up", "{service}: {body}");
    }

    // Screener reads answer correctly from DynamoDB and memory: a fresh instance (nothing in
    // memory) lists the universe and runs a screen.
    let fresh = screener_fn::app(platform("screener")).unwrap();
    let list = fresh.serve(request("screener/list-stocks.json")).await;
    let body = json_body(&list);
    assert_eq!(list.status(), 200, "{body}");
    assert!(body["items"].as_array().unwrap().iter().all(|s| s["sector"] == "Energy"));
    assert!(!body["items"].as_array().unwrap().is_empty());
    let screen = fresh.serve(request("screener/query.json")).await;
    assert_eq!(screen.status(), 200, "{}", json_body(&screen));
    let detail = fresh.serve(request("screener/detail.json")).await;
    assert_eq!(json_body(&detail)["symbol"], "MMM");

    // The universe version is read at most once a second per instance, however many requests:
    // with the cache down each read is a GetItem, so a burst of GETs costs at most one GetItem per
    // second it lasts, and nothing else from DynamoDB.
    tokio::time::sleep(screener_fn::universe::REVALIDATE_EVERY).await;
    let started = std::time::Instant::now();
    let (statuses, counted) = bourse_telemetry::measured(async {
        let mut statuses = Vec::new();
        for _ in 0..50 {
            statuses.push(apps_up.serve(sectors()).await.status().as_u16());
        }
        statuses
    })
    .await;
    let seconds = started.elapsed().as_secs() as usize + 1;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(
        counted.dynamodb_requests() >= 1 && counted.dynamodb_requests() <= seconds,
        "{} DynamoDB requests in {seconds} s: {counted:?}",
        counted.dynamodb_requests()
    );
    assert!(counted.dynamodb_operations.iter().all(|o| o == "GetItem"), "{counted:?}");
}
