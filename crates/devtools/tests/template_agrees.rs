//! `template.yaml` is the source of truth for tables, queues, routes and CORS; the local stack
//! creates its resources from it. These tests fail when the code and the template drift apart.

use bourse_devtools::template::{Template, gateway_path_covers};
use serde_norway::Value;
use std::path::Path;

fn template() -> Template {
    Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"), "bourse").unwrap()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_sequence).into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

#[test]
fn every_key_schema_the_code_uses_is_in_the_template() {
    let tables = template().tables().unwrap();
    for (logical_id, index, hash, range) in bourse_storage::schema::KEY_SCHEMAS {
        let table = tables.iter().find(|t| t.logical_id == *logical_id).unwrap_or_else(|| panic!("no table {logical_id}"));
        let keys = match index {
            None => table.keys.clone(),
            Some(name) => table.indexes.iter().find(|i| i.name == *name).unwrap_or_else(|| panic!("{logical_id} has no index {name}")).keys.clone(),
        };
        assert_eq!(keys.hash, *hash, "{logical_id} {index:?} hash key");
        assert_eq!(keys.range.as_deref(), Some(*range), "{logical_id} {index:?} range key");
        assert_eq!(table.ttl_attribute.as_deref(), Some(bourse_storage::schema::TTL), "{logical_id} TTL");
    }
    let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"bourse-app") && names.contains(&"bourse-market"), "{names:?}");
}

#[test]
fn the_functions_get_every_setting_the_config_reads() {
    let template = template();
    let env = template.at(&["Globals", "Function", "Environment", "Variables"]).and_then(Value::as_mapping).unwrap();
    for name in ["BOURSE_STAGE", "APP_TABLE", "MARKET_TABLE", "ENRICH_QUEUE_URL", "CACHE_URL", "CORS_ALLOWED_ORIGINS"] {
        assert!(env.contains_key(name), "Globals lacks {name}");
    }
}

#[test]
fn gateway_cors_matches_the_functions_cors() {
    let template = template();
    let cors = template.at(&["Resources", "HttpApi", "Properties", "CorsConfiguration"]).expect("HttpApi has CORS");
    assert_eq!(strings(cors.get("AllowMethods")), bourse_http::cors::ALLOW_METHODS);
    assert_eq!(strings(cors.get("AllowHeaders")), bourse_http::cors::ALLOW_HEADERS);
    assert_eq!(strings(cors.get("ExposeHeaders")), bourse_http::cors::EXPOSE_HEADERS);
    assert_eq!(cors.get("MaxAge").and_then(Value::as_u64), Some(u64::from(bourse_http::cors::MAX_AGE_SECONDS)));
    assert_eq!(cors.get("AllowCredentials").and_then(Value::as_bool), Some(false));
}

#[test]
fn every_routed_path_reaches_its_function_through_the_gateway() {
    let api = template().api_routes();
    let functions: [(&str, Vec<(String, &str)>); 3] = [
        ("AuthFunction", auth_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("PortfolioFunction", portfolio_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("ScreenerFunction", screener_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
    ];
    for (function, routes) in functions {
        for (method, path) in routes {
            // The most specific gateway route wins, so it must belong to this function.
            let covering: Vec<_> = api
                .iter()
                .filter(|r| (r.method == "ANY" || r.method == method) && gateway_path_covers(&r.path, path))
                .collect();
            let best = covering
                .iter()
                .max_by_key(|r| (r.path.matches('/').count(), !r.path.contains('{'), r.method != "ANY"))
                .unwrap_or_else(|| panic!("{method} {path} is not routed by the gateway"));
            assert_eq!(best.function, function, "{method} {path} is routed to {}", best.function);
        }
    }
}

#[test]
fn no_function_may_scan_and_the_queue_fits_the_consumer() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")).unwrap();
    assert!(!text.contains("dynamodb:Scan"), "no IAM policy may grant Scan");
    let template = template();
    let consumer_timeout = template
        .at(&["Resources", "EnrichConsumerFunction", "Properties", "Timeout"])
        .and_then(Value::as_u64)
        .unwrap();
    let queues = template.queues().unwrap();
    let queue = queues.iter().find(|q| q.logical_id == "EnrichQueue").unwrap();
    assert!(queue.visibility_timeout.unwrap() >= 6 * consumer_timeout);
    let (dlq, max_receive) = queue.redrive.clone().unwrap();
    assert_eq!(dlq, "EnrichDLQ");
    assert!(max_receive >= 5);
    let sqs_event = template
        .at(&["Resources", "EnrichConsumerFunction", "Properties", "Events"])
        .and_then(Value::as_mapping)
        .unwrap()
        .values()
        .find(|e| e.get("Type").and_then(Value::as_str) == Some("SQS"))
        .expect("consumer has an SQS event");
    assert_eq!(strings(sqs_event.get("Properties").and_then(|p| p.get("FunctionResponseTypes"))), ["ReportBatchItemFailures"]);
}

#[test]
fn gateway_paths_cover_router_paths() {
    assert!(gateway_path_covers("/v1/stocks/{proxy+}", "/v1/stocks/{symbol}/history"));
    assert!(gateway_path_covers("/v1/stocks", "/v1/stocks"));
    assert!(!gateway_path_covers("/v1/stocks", "/v1/stocks/{symbol}"));
    assert!(!gateway_path_covers("/v1/stocks/{proxy+}", "/v1/stocks"));
    assert!(gateway_path_covers("/v1/jobs/{id}", "/v1/jobs/{id}"));
    assert!(!gateway_path_covers("/v1/jobs/x", "/v1/jobs/{id}"));
}
