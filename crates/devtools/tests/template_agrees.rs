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
            Some(name) => {
                table.indexes.iter().find(|i| i.name == *name).unwrap_or_else(|| panic!("{logical_id} has no index {name}")).keys.clone()
            }
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
    let functions: [(&str, Vec<(String, &str)>); 4] = [
        ("AuthFunction", auth_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("PortfolioFunction", portfolio_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("ScreenerFunction", screener_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("OpsFunction", ops_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
    ];
    for (function, routes) in functions {
        for (method, path) in routes {
            // The most specific gateway route wins, so it must belong to this function.
            let covering: Vec<_> =
                api.iter().filter(|r| (r.method == "ANY" || r.method == method) && gateway_path_covers(&r.path, path)).collect();
            let best = covering
                .iter()
                .max_by_key(|r| (r.path.matches('/').count(), !r.path.contains('{'), r.method != "ANY"))
                .unwrap_or_else(|| panic!("{method} {path} is not routed by the gateway"));
            assert_eq!(best.function, function, "{method} {path} is routed to {}", best.function);
        }
    }
}

/// Whether the IAM action pattern `pattern` (with `*` and `?` wildcards, case-insensitive) grants
/// `action`.
fn grants(pattern: &str, action: &str) -> bool {
    fn matches(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => matches(&p[1..], a) || (!a.is_empty() && matches(p, &a[1..])),
            (Some(b'?'), Some(_)) => matches(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => matches(&p[1..], &a[1..]),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), action.as_bytes())
}

/// Every IAM action string anywhere in the template (under `Action` or `NotAction`), and every
/// SAM policy template used by name.
fn actions_and_policy_templates(value: &Value, actions: &mut Vec<String>, templates: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (key, inner) in map {
                match key.as_str() {
                    Some("Action" | "NotAction") => {
                        actions.extend(inner.as_str().map(str::to_owned));
                        actions.extend(strings(Some(inner)));
                    }
                    Some("Policies") => {
                        for policy in inner.as_sequence().into_iter().flatten() {
                            templates.extend(policy.as_str().map(str::to_owned));
                            templates.extend(
                                policy.as_mapping().into_iter().flat_map(|m| m.keys()).filter_map(|k| k.as_str().map(str::to_owned)),
                            );
                        }
                    }
                    _ => {}
                }
                actions_and_policy_templates(inner, actions, templates);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| actions_and_policy_templates(v, actions, templates)),
        Value::Tagged(tagged) => actions_and_policy_templates(&tagged.value, actions, templates),
        _ => {}
    }
}

#[test]
fn the_action_matcher_sees_wildcards() {
    for pattern in ["dynamodb:Scan", "dynamodb:*", "dynamodb:Sc*", "DynamoDB:scan", "*", "dynamodb:?can", "*:Scan"] {
        assert!(grants(pattern, "dynamodb:Scan"), "{pattern}");
    }
    for pattern in ["dynamodb:Query", "dynamodb:S", "dynamodb:Scans", "sqs:*", "dynamodb:Q*"] {
        assert!(!grants(pattern, "dynamodb:Scan"), "{pattern}");
    }
}

#[test]
fn no_function_may_scan_and_the_queue_fits_the_consumer() {
    let template = template();
    let (mut actions, mut policy_templates) = (Vec::new(), Vec::new());
    actions_and_policy_templates(template.at(&[]).unwrap(), &mut actions, &mut policy_templates);
    assert!(actions.len() > 10, "the policies were read: {actions:?}");
    let scanning: Vec<&String> = actions.iter().filter(|a| grants(a, "dynamodb:Scan")).collect();
    assert!(scanning.is_empty(), "no IAM policy may grant Scan, not even by a wildcard: {scanning:?}");
    // SAM's DynamoDB policy templates grant Scan.
    let broad: Vec<&String> = policy_templates.iter().filter(|t| t.starts_with("DynamoDB") && !t.starts_with("DynamoDBStream")).collect();
    assert!(broad.is_empty(), "SAM DynamoDB policy templates grant Scan: {broad:?}");
    let consumer_timeout = template.at(&["Resources", "EnrichConsumerFunction", "Properties", "Timeout"]).and_then(Value::as_u64).unwrap();
    let queues = template.queues().unwrap();
    for (name, dead_letters) in [("EnrichQueue", "EnrichDLQ"), ("ScheduledQueue", "ScheduledDLQ"), ("MailQueue", "MailDLQ")] {
        let queue = queues.iter().find(|q| q.logical_id == name).unwrap();
        assert!(queue.visibility_timeout.unwrap() >= 6 * consumer_timeout, "{name}");
        let (dlq, max_receive) = queue.redrive.clone().unwrap();
        assert_eq!(dlq, dead_letters);
        // As documented: a poison message reaches the DLQ on its 5th receive, after the consumer's
        // last provider attempt (which records the symbol failed rather than losing it).
        assert_eq!(max_receive, 5, "README: poison messages reach the DLQ after 5 receives");
        assert!(u64::from(enrich_consumer_fn::FINAL_ATTEMPT) < max_receive);
    }
    let sqs_event = template
        .at(&["Resources", "EnrichConsumerFunction", "Properties", "Events"])
        .and_then(Value::as_mapping)
        .unwrap()
        .values()
        .filter(|e| e.get("Type").and_then(Value::as_str) == Some("SQS"))
        .collect::<Vec<_>>();
    assert_eq!(sqs_event.len(), 3, "one event source per queue");
    for event in sqs_event {
        assert_eq!(strings(event.get("Properties").and_then(|p| p.get("FunctionResponseTypes"))), ["ReportBatchItemFailures"]);
    }
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

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `CACHE_URL` values set anywhere a stack is configured: ElastiCache requires TLS, and every
/// local and test profile runs Redis with TLS, so each must be `rediss://`.
#[test]
fn every_cache_url_the_template_or_the_scripts_set_is_rediss() {
    let mut found = Vec::new();
    let template = repo_file("template.yaml");
    for line in template.lines().filter(|l| l.trim_start().starts_with("CACHE_URL:")) {
        found.push((
            "template.yaml".to_owned(),
            line.split_once(':').unwrap().1.trim().trim_start_matches("!Sub").trim().trim_matches('"').to_owned(),
        ));
    }
    let dev = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dev");
    let mut scripts: Vec<_> =
        std::fs::read_dir(&dev).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "sh")).collect();
    scripts.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/run"));
    for script in scripts {
        let text = std::fs::read_to_string(&script).unwrap_or_default();
        for (at, _) in text.match_indices("CACHE_URL=") {
            let value: String = text[at + "CACHE_URL=".len()..].chars().take_while(|c| !c.is_whitespace()).collect();
            found.push((script.display().to_string(), value.trim_matches(['"', '\'']).to_owned()));
        }
    }
    assert!(found.iter().any(|(file, _)| file == "template.yaml"), "the template sets CACHE_URL");
    assert!(found.iter().any(|(file, _)| file.ends_with("env.sh")), "the profiles set CACHE_URL");
    for (file, value) in &found {
        assert!(value.starts_with("rediss://"), "{file} sets CACHE_URL={value}: the cache is reached over TLS");
    }
}

/// One row of `docs/capacity.md`: route key (or "default"), expected rate, limit, burst.
fn capacity_table() -> Vec<(String, u64, u64, u64)> {
    let doc = repo_file("docs/capacity.md");
    doc.lines()
        .filter(|l| l.starts_with("| `") || l.starts_with("| default"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let route = if cells[0].starts_with("default") { "default".to_owned() } else { cells[0].trim_matches('`').to_owned() };
            let number = |i: usize| cells[i].parse::<u64>().unwrap_or_else(|_| panic!("{line}: column {i} is not a number"));
            (route, number(2), number(3), number(4))
        })
        .collect()
}

#[test]
fn gateway_throttles_come_from_the_capacity_table() {
    let template = template();
    let table = capacity_table();
    assert_eq!(table.iter().map(|r| r.1).sum::<u64>(), 10_000, "expected rates add up to the target of 10,000 requests/s");
    let settings = |v: &Value| {
        (v.get("ThrottlingRateLimit").and_then(Value::as_u64).unwrap(), v.get("ThrottlingBurstLimit").and_then(Value::as_u64).unwrap())
    };
    let default = template.at(&["Resources", "HttpApi", "Properties", "DefaultRouteSettings"]).map(settings).expect("DefaultRouteSettings");
    let routes = template.at(&["Resources", "HttpApi", "Properties", "RouteSettings"]).and_then(Value::as_mapping).expect("RouteSettings");
    let gateway: Vec<String> = template.api_routes().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    for (route, expected, rate, burst) in &table {
        let configured = if route == "default" {
            default
        } else {
            assert!(gateway.contains(route), "{route} in docs/capacity.md is not a gateway route");
            assert!(rate > expected, "{route}: the limit {rate}/s leaves no head room over {expected}/s");
            routes.get(route.as_str()).map(settings).unwrap_or_else(|| panic!("{route} has no RouteSettings in template.yaml"))
        };
        assert_eq!(configured, (*rate, *burst), "{route}: template.yaml and docs/capacity.md disagree");
        assert!(burst <= rate || route == "default", "{route}: burst above the rate");
    }
    for route in &gateway {
        assert!(table.iter().any(|r| &r.0 == route), "gateway route {route} is missing from docs/capacity.md");
    }
    assert_eq!(routes.len(), table.len() - 1, "RouteSettings names a route docs/capacity.md does not");
    for cheap_to_abuse in ["POST /v1/auth/register", "POST /v1/auth/login"] {
        let (_, _, rate, _) = table.iter().find(|r| r.0 == cheap_to_abuse).unwrap();
        assert!(*rate <= 50, "{cheap_to_abuse} keeps a low limit");
    }
}

#[test]
fn secrets_are_read_at_init_never_placed_in_environment_variables() {
    let text = repo_file("template.yaml");
    assert!(!text.contains("resolve:secretsmanager"), "a dynamic reference would put the secret's value into an environment variable");
    for line in text.lines().map(str::trim) {
        let name = line.split(':').next().unwrap_or_default();
        let inline_secret =
            name == "JWT_SIGNING_KEY" || (name.starts_with("PROVIDER_API_KEY_") && !name.starts_with("PROVIDER_API_KEY_SECRET_"));
        assert!(!inline_secret, "template.yaml sets {name}: secrets are read from Secrets Manager (…_SECRET names the secret)");
    }
    let template = template();
    let auth = template.at(&["Resources", "AuthFunction", "Properties"]).unwrap();
    assert!(auth.get("Environment").and_then(|e| e.get("Variables")).and_then(|v| v.get("JWT_SIGNING_KEY_SECRET")).is_some());
    let statements = auth
        .get("Policies")
        .and_then(Value::as_sequence)
        .unwrap()
        .iter()
        .flat_map(|p| p.get("Statement").and_then(Value::as_sequence).cloned().unwrap_or_default());
    let read: Vec<Value> =
        statements.filter(|s| s.get("Action").and_then(Value::as_str) == Some("secretsmanager:GetSecretValue")).collect();
    assert_eq!(read.len(), 1, "auth may read its signing key");
    assert!(format!("{:?}", read[0].get("Resource")).contains("JwtSigningKeySecret"), "scoped to the signing key's secret, not *");
}

#[test]
fn no_required_parameter_has_an_empty_default() {
    let template = template();
    let parameters = template.at(&["Parameters"]).and_then(Value::as_mapping).unwrap();
    assert!(
        parameters.get("JwtPublicKeys").unwrap().get("Default").is_none(),
        "JwtPublicKeys is required: the deploy fails without it, not the functions' init"
    );
    for (name, parameter) in parameters {
        if parameter.get("Default").and_then(Value::as_str) == Some("") {
            let description = parameter.get("Description").and_then(Value::as_str).unwrap_or_default();
            assert!(description.starts_with("Optional"), "{name:?} defaults to empty but is not described as optional");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Operations (#17): every alarm and dashboard metric is one the code or the stack's services emit.
// ---------------------------------------------------------------------------------------------

/// The metrics each AWS namespace the template watches publishes (from the services' metric
/// references), for the dimensions used here.
const AWS_METRICS: &[(&str, &[&str])] = &[
    ("AWS/ApiGateway", &["4xx", "5xx", "Count", "Latency", "IntegrationLatency", "DataProcessed"]),
    ("AWS/Lambda", &["Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions", "UnreservedConcurrentExecutions"]),
    (
        "AWS/SQS",
        &[
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateAgeOfOldestMessage",
            "NumberOfMessagesSent",
            "NumberOfMessagesReceived",
            "NumberOfMessagesDeleted",
        ],
    ),
    (
        "AWS/DynamoDB",
        &["ReadThrottleEvents", "WriteThrottleEvents", "ThrottledRequests", "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"],
    ),
    (
        "AWS/ElastiCache",
        &["EngineCPUUtilization", "CPUUtilization", "Evictions", "CurrConnections", "NewConnections", "DatabaseMemoryUsagePercentage"],
    ),
];

/// The services whose HTTP pipeline emits the request metrics (their `Service` dimension).
fn emitting_services() -> Vec<&'static str> {
    vec![auth_fn::SERVICE, portfolio_fn::SERVICE, screener_fn::SERVICE, ops_fn::SERVICE]
}

/// The resources a dimension value names: `!Ref X`, `!GetAtt X.Attr`, `!Sub "...${X}..."`.
fn referenced_resources(value: &Value) -> Vec<String> {
    match value {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(|s| vec![s.to_owned()]).unwrap_or_default(),
        Value::Tagged(t) if t.tag == "GetAtt" => {
            t.value.as_str().map(|s| vec![s.split('.').next().unwrap().to_owned()]).unwrap_or_default()
        }
        Value::Tagged(t) if t.tag == "Sub" => sub_references(t.value.as_str().unwrap_or_default()),
        _ => Vec::new(),
    }
}

/// The `${X}` and `${X.Attr}` of a `!Sub` text, without pseudo parameters.
fn sub_references(text: &str) -> Vec<String> {
    text.match_indices("${")
        .filter_map(|(at, _)| text[at + 2..].split_once('}').map(|(name, _)| name.split('.').next().unwrap().to_owned()))
        .filter(|name| !name.starts_with("AWS::"))
        .collect()
}

/// (namespace, metric, dimensions) of an alarm: its single metric or each `MetricStat`; and the
/// ids and expressions of its metric math.
#[allow(clippy::type_complexity)]
fn alarm_metrics(props: &Value) -> (Vec<(String, String, Vec<(String, Value)>)>, Vec<String>, Vec<String>) {
    let dims = |metric: &Value| -> Vec<(String, Value)> {
        metric
            .get("Dimensions")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|d| (d.get("Name").and_then(Value::as_str).unwrap().to_owned(), d.get("Value").unwrap().clone()))
            .collect()
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (mut metrics, mut ids, mut expressions) = (Vec::new(), Vec::new(), Vec::new());
    if props.get("MetricName").is_some() {
        metrics.push((text(props, "Namespace"), text(props, "MetricName"), dims(props)));
    }
    for entry in props.get("Metrics").and_then(Value::as_sequence).into_iter().flatten() {
        ids.push(text(entry, "Id"));
        if let Some(metric) = entry.get("MetricStat").and_then(|m| m.get("Metric")) {
            metrics.push((text(metric, "Namespace"), text(metric, "MetricName"), dims(metric)));
        }
        if let Some(expression) = entry.get("Expression").and_then(Value::as_str) {
            expressions.push(expression.to_owned());
        }
    }
    (metrics, ids, expressions)
}

#[test]
fn every_alarm_watches_a_metric_that_is_emitted() {
    let template = template();
    let resources = template.at(&["Resources"]).and_then(Value::as_mapping).unwrap();
    let alarms: Vec<(&str, &Value)> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::CloudWatch::Alarm"))
        .map(|(id, r)| (id.as_str().unwrap(), r.get("Properties").unwrap()))
        .collect();
    assert!(alarms.len() >= 18, "the alarms were read: {}", alarms.len());
    let bourse_metrics: Vec<&str> = bourse_telemetry::REQUEST_METRICS.iter().map(|(name, _)| *name).collect();
    for (id, props) in &alarms {
        let (metrics, ids, expressions) = alarm_metrics(props);
        assert!(!metrics.is_empty(), "{id} watches no metric");
        for (namespace, metric, dimensions) in metrics {
            if namespace == bourse_telemetry::NAMESPACE {
                assert!(bourse_metrics.contains(&metric.as_str()), "{id}: Bourse/{metric} is not emitted (REQUEST_METRICS)");
                let names: Vec<&str> = dimensions.iter().map(|(n, _)| n.as_str()).collect();
                assert!(bourse_telemetry::REQUEST_DIMENSIONS.contains(&names.as_slice()), "{id}: dimensions {names:?} are not emitted");
                for (name, value) in &dimensions {
                    if name == "Service" {
                        let service = value.as_str().unwrap_or_default();
                        assert!(emitting_services().contains(&service), "{id}: no HTTP function is named {service:?}");
                    }
                }
            } else {
                let known = AWS_METRICS.iter().find(|(ns, _)| *ns == namespace).unwrap_or_else(|| panic!("{id}: namespace {namespace}"));
                assert!(known.1.contains(&metric.as_str()), "{id}: {namespace} publishes no {metric}");
                for (name, value) in &dimensions {
                    let targets = referenced_resources(value);
                    assert!(!targets.is_empty(), "{id}: dimension {name} names no resource of the stack");
                    for target in targets {
                        assert!(resources.contains_key(target.as_str()), "{id}: dimension {name} names {target}, not in the template");
                    }
                }
            }
        }
        for expression in expressions {
            let words: Vec<&str> = expression.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').filter(|w| !w.is_empty()).collect();
            for word in words.iter().filter(|w| w.chars().next().unwrap().is_ascii_lowercase()) {
                assert!(ids.iter().any(|i| i == word), "{id}: expression {expression:?} uses {word}, which is not a metric id");
            }
        }
    }
}

#[test]
fn the_dashboard_shows_emitted_metrics_of_this_stack_and_the_runbook_covers_every_alarm() {
    let template = template();
    let resources = template.at(&["Resources"]).and_then(Value::as_mapping).unwrap();
    let body = match template.at(&["Resources", "Dashboard", "Properties", "DashboardBody"]) {
        Some(Value::Tagged(t)) if t.tag == "Sub" => t.value.as_str().unwrap().to_owned(),
        other => panic!("DashboardBody is a !Sub text: {other:?}"),
    };
    for target in sub_references(&body) {
        assert!(resources.contains_key(target.as_str()), "the dashboard names {target}, not in the template");
    }
    let dashboard: serde_json::Value = serde_json::from_str(&body.replace("${", "{")).expect("the dashboard body is JSON");
    let bourse_metrics: Vec<&str> = bourse_telemetry::REQUEST_METRICS.iter().map(|(name, _)| *name).collect();
    let mut searched = 0;
    for widget in dashboard["widgets"].as_array().unwrap() {
        for line in widget["properties"]["metrics"].as_array().into_iter().flatten() {
            let line = line.as_array().unwrap();
            if let Some(expression) = line[0].get("expression").and_then(|e| e.as_str()) {
                for (at, _) in expression.match_indices("SEARCH('{") {
                    let rest = &expression[at + "SEARCH('{".len()..];
                    let (schema, rest) = rest.split_once('}').unwrap();
                    let parts: Vec<&str> = schema.split(',').collect();
                    assert_eq!(parts[0], bourse_telemetry::NAMESPACE, "{expression}");
                    assert!(bourse_telemetry::REQUEST_DIMENSIONS.contains(&&parts[1..]), "{expression}: dimensions");
                    let metric = rest.split("MetricName=\"").nth(1).unwrap().split('"').next().unwrap();
                    assert!(bourse_metrics.contains(&metric), "{expression}: {metric} is not emitted");
                    searched += 1;
                }
            } else {
                let (namespace, metric) = (line[0].as_str().unwrap(), line[1].as_str().unwrap());
                let known = AWS_METRICS.iter().find(|(ns, _)| *ns == namespace).unwrap_or_else(|| panic!("namespace {namespace}"));
                assert!(known.1.contains(&metric), "{namespace} publishes no {metric}");
            }
        }
    }
    assert!(searched >= 8, "the Bourse metrics were read: {searched}");
    let runbook = repo_file("docs/runbook.md");
    for (id, _) in resources.iter().filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::CloudWatch::Alarm")) {
        let id = id.as_str().unwrap();
        assert!(runbook.contains(&format!("### `{id}`")), "docs/runbook.md has no section for {id}");
    }
}
