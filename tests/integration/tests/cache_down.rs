//! With the real Redis stopped, every function keeps serving and health reports the cache down.
//! Alone in its own test binary because it stops the shared test Redis (and restarts it).

use bourse_integration_tests::{ensure_resources, json_body, platform, request, require_stack, stop_redis};

#[tokio::test]
async fn functions_keep_serving_with_redis_stopped() {
    require_stack();
    ensure_resources().await;
    let apps_up = screener_fn::app(platform("screener")).unwrap();
    assert_eq!(json_body(&apps_up.serve(request("screener/health.json")).await)["dependencies"]["cache"]["status"], "up");

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
        assert_eq!(body["dependencies"]["appTable"]["status"], "up", "{service}: {body}");
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
}
