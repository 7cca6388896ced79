//! Every HTTP function's health endpoint against the real stand-ins, with its request budget.

use bourse_integration_tests::{ensure_resources, json_body, platform, request};

#[tokio::test]
async fn every_function_reports_its_dependencies_up() {
    ensure_resources().await;
    let cases = [
        ("auth", auth_fn::app(platform("auth")).expect("auth starts").serve(request("auth/health.json")).await, vec!["app_table", "cache"]),
        (
            "portfolio",
            portfolio_fn::app(platform("portfolio")).unwrap().serve(request("portfolio/health.json")).await,
            vec!["app_table", "market_table", "enrich_queue", "cache"],
        ),
        (
            "screener",
            screener_fn::app(platform("screener")).unwrap().serve(request("screener/health.json")).await,
            vec!["market_table", "app_table", "enrich_queue", "cache"],
        ),
    ];
    for (service, response, dependencies) in cases {
        let body = json_body(&response);
        assert_eq!(response.status(), 200, "{service}: {body}");
        assert_eq!(body["service"], service);
        assert_eq!(body["status"], "ok", "{service}: {body}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        for dependency in dependencies {
            assert_eq!(body["dependencies"][dependency]["status"], "up", "{service} {dependency}: {body}");
        }
    }
}

#[tokio::test]
async fn health_costs_one_get_item_per_table_and_never_scans() {
    ensure_resources().await;
    let app = screener_fn::app(platform("screener")).unwrap();
    let (response, counted) = bourse_telemetry::measured(app.serve(request("screener/health.json"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(counted.dynamodb_operations, ["GetItem", "GetItem"], "one per table");
    let platform = platform("screener");
    let (_, counted) = bourse_telemetry::measured(platform.health(
        "test",
        &[bourse_runtime::Dependency::MarketTable, bourse_runtime::Dependency::AppTable, bourse_runtime::Dependency::EnrichQueue],
    ))
    .await;
    assert_eq!(counted.dynamodb_operations, ["GetItem", "GetItem"]);
    assert_eq!(counted.sqs_operations, ["GetQueueAttributes"]);
}

#[tokio::test]
async fn wrong_methods_and_unknown_routes_are_problems_not_errors() {
    let app = auth_fn::app(platform("auth")).expect("auth starts");
    let wrong = app.serve(request("auth/health-wrong-method.json")).await;
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET");
    let unknown = app.serve(request("auth/unknown-route.json")).await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(json_body(&unknown)["type"], "urn:bourse:problem:not-found");
}
