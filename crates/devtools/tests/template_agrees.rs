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
    // The assistant's streaming twin serves the same routes behind its function URL, not the gateway.
    let functions: [(&str, Vec<(String, &str)>); 5] = [
        ("AuthFunction", auth_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("PortfolioFunction", portfolio_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("ScreenerFunction", screener_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("OpsFunction", ops_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
        ("AssistantFunction", assistant_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path)).collect()),
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
        let inline_secret = name == "JWT_SIGNING_KEY"
            || name == "WEBHOOK_KEY"
            || (name.starts_with("PROVIDER_API_KEY_") && !name.starts_with("PROVIDER_API_KEY_SECRET_"));
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
    vec![auth_fn::SERVICE, portfolio_fn::SERVICE, screener_fn::SERVICE, ops_fn::SERVICE, assistant_fn::SERVICE]
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

// ---------------------------------------------------------------------------------------------
// Least privilege: which function may touch which partition-key prefix of the App table, and
// what each function's network lets it reach.
// ---------------------------------------------------------------------------------------------

/// The DynamoDB actions that read, write or delete items by key (a transaction's items are
/// authorised as these): on the App table each must carry the prefixes it may touch.
const ITEM_READS: &[&str] = &["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"];
const ITEM_WRITES: &[&str] = &["dynamodb:PutItem", "dynamodb:UpdateItem"];
const ITEM_DELETES: &[&str] = &["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];

/// The functions, by logical id, with the short names the docs use.
const FUNCTIONS: &[(&str, &str)] = &[
    ("AuthFunction", "auth"),
    ("PortfolioFunction", "portfolio"),
    ("ScreenerFunction", "screener"),
    ("EnrichConsumerFunction", "enrich-consumer"),
    ("OpsFunction", "ops"),
    ("AssistantFunction", "assistant"),
    ("AssistantStreamFunction", "assistant"),
];
/// The functions that serve bearer requests (in the order of `FUNCTIONS`).
const HTTP_FUNCTIONS: &[&str] = &["AuthFunction", "PortfolioFunction", "ScreenerFunction", "OpsFunction", ASSISTANT, ASSISTANT_STREAM];
/// The HTTP functions without a way out of the VPC.
const ISOLATED_FUNCTIONS: &[&str] = &["AuthFunction", "PortfolioFunction", "ScreenerFunction", "OpsFunction"];
const CONSUMER: &str = "EnrichConsumerFunction";
/// The assistant's two functions (HTTP API and function URL): the same code, the same grants.
const ASSISTANT: &str = "AssistantFunction";
const ASSISTANT_STREAM: &str = "AssistantStreamFunction";
/// The functions whose subnets route through the NAT gateway, with HTTPS out: the consumer
/// (market-data providers, SES, webhooks) and the assistant (Bedrock, KMS, model providers).
const NAT_FUNCTIONS: &[&str] = &[CONSUMER, ASSISTANT, ASSISTANT_STREAM];

fn item_actions() -> impl Iterator<Item = &'static str> {
    ITEM_READS.iter().chain(ITEM_WRITES).chain(ITEM_DELETES).copied()
}

/// IAM's `StringLike`: `*` any run of characters, `?` one; case-sensitive.
fn like(pattern: &str, value: &str) -> bool {
    fn matches(p: &[u8], v: &[u8]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some(b'*'), _) => matches(&p[1..], v) || (!v.is_empty() && matches(p, &v[1..])),
            (Some(b'?'), Some(_)) => matches(&p[1..], &v[1..]),
            (Some(x), Some(y)) if x == y => matches(&p[1..], &v[1..]),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), value.as_bytes())
}

fn one_or_many(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Sequence(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    }
}

/// What an ARN-valued property names, as `!Sub` text: `!GetAtt X.Arn` is `${X.Arn}`.
fn resource_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Tagged(t) if t.tag == "GetAtt" || t.tag == "Ref" => format!("${{{}}}", t.value.as_str().unwrap_or("?")),
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str().map(str::to_owned).unwrap_or_else(|| format!("{:?}", t.value)),
        other => format!("{other:?}"),
    }
}

/// Whether a policy resource covers the App table's items, and which of its indexes (`*`: any).
fn app_resource(value: &Value) -> (bool, Option<String>) {
    let text = resource_text(value);
    if text == "*" {
        return (true, Some("*".into()));
    }
    for anchor in ["${AppTable.Arn}", "${AppTable}"] {
        if let Some(at) = text.find(anchor) {
            let rest = &text[at + anchor.len()..];
            return match rest.strip_prefix("/index/") {
                _ if rest.is_empty() => (true, None),
                Some(index) if !index.contains('*') => (false, Some(index.to_owned())),
                Some(_) => (false, Some("*".into())),
                None => (true, Some("*".into())),
            };
        }
    }
    // Named some other way (a table name or a wildcard ARN): it counts as everything.
    if text.contains("AppTable") || text.contains("-app") || text.contains("table/*") {
        return (true, Some("*".into()));
    }
    (false, None)
}

/// One Allow statement of a function's policies that covers the App table.
#[derive(Debug)]
struct AppGrant {
    function: String,
    sid: String,
    actions: Vec<String>,
    table: bool,
    indexes: Vec<String>,
    /// The `dynamodb:LeadingKeys` values, when the statement conditions on them.
    leading_keys: Option<Vec<String>>,
    /// The condition operators that name `dynamodb:LeadingKeys`.
    key_operators: Vec<String>,
}

impl AppGrant {
    fn allows(&self, action: &str) -> bool {
        self.actions.iter().any(|a| grants(a, action))
    }

    /// Whether this statement lets `action` touch the item(s) under partition key `key`.
    fn allows_key(&self, action: &str, key: &str) -> bool {
        self.table && self.allows(action) && self.leading_keys.as_ref().is_none_or(|keys| keys.iter().any(|p| like(p, key)))
    }
}

/// Every statement of every function's inline policies, `!If` branches included.
fn function_statements(template: &Template) -> Vec<(String, Value)> {
    fn collect(function: &str, statement: &Value, out: &mut Vec<(String, Value)>) {
        match statement {
            Value::Tagged(t) if t.tag == "If" => {
                t.value.as_sequence().into_iter().flatten().skip(1).for_each(|branch| collect(function, branch, out))
            }
            Value::Mapping(m) if m.contains_key("Fn::If") => {
                m["Fn::If"].as_sequence().into_iter().flatten().skip(1).for_each(|branch| collect(function, branch, out))
            }
            Value::Mapping(_) => out.push((function.to_owned(), statement.clone())),
            _ => {} // !Ref AWS::NoValue
        }
    }
    let mut out = Vec::new();
    let resources = template.at(&["Resources"]).and_then(Value::as_mapping).unwrap();
    for (id, resource) in resources {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap();
        let properties = resource.get("Properties").unwrap();
        assert!(properties.get("Role").is_none(), "{id} brings its own Role: its permissions would not be these policies");
        for policy in properties.get("Policies").and_then(Value::as_sequence).into_iter().flatten() {
            let statements = policy.get("Statement").and_then(Value::as_sequence);
            assert!(
                statements.is_some(),
                "{id}: every policy is an inline document (a named or managed policy is not checked): {policy:?}"
            );
            statements.into_iter().flatten().for_each(|s| collect(id, s, &mut out));
        }
    }
    out
}

fn app_grants(template: &Template) -> Vec<AppGrant> {
    let mut grants_found = Vec::new();
    for (function, statement) in function_statements(template) {
        assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none(), "{function}: {statement:?}");
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let (mut table, mut indexes) = (false, Vec::new());
        for resource in one_or_many(statement.get("Resource")) {
            let (t, index) = app_resource(&resource);
            table |= t;
            indexes.extend(index);
        }
        if !table && indexes.is_empty() {
            continue;
        }
        let actions: Vec<String> = one_or_many(statement.get("Action")).iter().filter_map(|a| a.as_str().map(str::to_owned)).collect();
        let (mut leading_keys, mut key_operators) = (None, Vec::new());
        for (operator, keys) in statement.get("Condition").and_then(Value::as_mapping).into_iter().flatten() {
            for (key, values) in keys.as_mapping().into_iter().flatten() {
                if key.as_str().is_some_and(|k| k.eq_ignore_ascii_case("dynamodb:LeadingKeys")) {
                    key_operators.push(operator.as_str().unwrap_or_default().to_owned());
                    leading_keys = Some(strings(Some(values)).into_iter().chain(values.as_str().map(str::to_owned)).collect::<Vec<_>>());
                }
            }
        }
        let sid = statement.get("Sid").and_then(Value::as_str).unwrap_or("(no Sid)").to_owned();
        grants_found.push(AppGrant { function, sid, actions, table, indexes, leading_keys, key_operators });
    }
    grants_found
}

/// Whether `function` may use `action` on the App-table item(s) under partition key `key`.
fn may(grants_found: &[AppGrant], function: &str, action: &str, key: &str) -> bool {
    grants_found.iter().any(|g| g.function == function && g.allows_key(action, key))
}

/// The functions that may use any of `actions` on partition key `key`.
fn who_may(grants_found: &[AppGrant], actions: &[&str], key: &str) -> Vec<&'static str> {
    FUNCTIONS.iter().filter(|(id, _)| actions.iter().any(|action| may(grants_found, id, action, key))).map(|(id, _)| *id).collect()
}

#[test]
fn the_key_pattern_matcher_is_iam_string_like() {
    assert!(like("USER#*", "USER#0123"));
    assert!(like("USER#*", "USER#"));
    assert!(like("HEALTH", "HEALTH"));
    assert!(!like("HEALTH", "HEALTHY"));
    assert!(!like("USER#*", "user#0123"), "case-sensitive");
    assert!(!like("P#*", "PING#1"));
    assert!(!like("J#*", "JOB#1"));
    assert!(like("*", "EMAIL#a@b"));
    assert!(like("U?ER#*", "USER#1"));
}

#[test]
fn every_app_table_item_action_is_limited_to_named_partition_key_prefixes() {
    let template = template();
    let found = app_grants(&template);
    assert!(found.len() >= 10, "the App-table statements were read: {found:?}");
    let well_formed = |p: &str| {
        let word = p.strip_suffix("#*").unwrap_or(p);
        !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase())
    };
    for grant in &found {
        let who = format!("{} {}", grant.function, grant.sid);
        let item_level: Vec<&str> = item_actions().chain(["dynamodb:Scan"]).filter(|a| grant.allows(a)).collect();
        if grant.table && !item_level.is_empty() {
            assert_eq!(
                grant.key_operators,
                ["ForAllValues:StringLike"],
                "{who}: {item_level:?} need ForAllValues:StringLike on dynamodb:LeadingKeys"
            );
            let keys = grant.leading_keys.as_ref().unwrap();
            assert!(!keys.is_empty(), "{who}: no prefix named");
            for pattern in keys {
                assert!(well_formed(pattern), "{who}: {pattern:?} is neither a prefix PREFIX#* nor a fixed key");
            }
        }
        for index in &grant.indexes {
            for action in &grant.actions {
                assert!(action.eq_ignore_ascii_case("dynamodb:Query"), "{who}: index {index} is read-only (Query), not {action}");
            }
            assert_ne!(index, "*", "{who}: the indexes are named one by one");
        }
    }
    for (function, _) in FUNCTIONS {
        assert!(found.iter().any(|g| g.function == *function && g.table), "{function} has no App-table statement: read the template again");
    }
}

/// `docs/table-design.md`, "Who may touch which prefix": (prefix, read, written, deleted) and
/// (index, queried by), the functions by their short names.
#[allow(clippy::type_complexity)]
fn prefix_table() -> (Vec<(String, Vec<String>, Vec<String>, Vec<String>)>, Vec<(String, Vec<String>)>) {
    let doc = repo_file("docs/table-design.md");
    let section =
        doc.split("## Who may touch which prefix").nth(1).expect("docs/table-design.md has the section").split("\n## ").next().unwrap();
    let names = |cell: &str| -> Vec<String> {
        let mut names: Vec<String> =
            cell.split(',').map(|n| n.trim().trim_matches('`').to_owned()).filter(|n| !n.is_empty() && n != "—").collect();
        names.sort();
        names
    };
    let (mut prefixes, mut indexes) = (Vec::new(), Vec::new());
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        let key = cells[0].trim_matches('`').to_owned();
        match cells.len() {
            5 => prefixes.push((key, names(cells[2]), names(cells[3]), names(cells[4]))),
            2 => indexes.push((key, names(cells[1]))),
            n => panic!("{line}: {n} columns"),
        }
    }
    (prefixes, indexes)
}

#[test]
fn the_prefix_table_in_the_docs_is_what_the_template_grants() {
    let found = app_grants(&template());
    let short = |id: &str| FUNCTIONS.iter().find(|(f, _)| *f == id).map(|(_, s)| (*s).to_owned()).unwrap();
    let mut granted: std::collections::BTreeMap<String, [Vec<String>; 3]> = Default::default();
    let mut queried: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for grant in &found {
        for index in &grant.indexes {
            queried.entry(index.clone()).or_default().push(short(&grant.function));
        }
        let Some(keys) = grant.leading_keys.as_ref().filter(|_| grant.table) else { continue };
        for pattern in keys {
            let prefix = pattern.strip_suffix('*').unwrap_or(pattern).to_owned();
            let columns = granted.entry(prefix).or_default();
            for (column, actions) in [ITEM_READS, ITEM_WRITES, ITEM_DELETES].iter().enumerate() {
                if actions.iter().any(|a| grant.allows(a)) {
                    columns[column].push(short(&grant.function));
                }
            }
        }
    }
    let tidy = |mut v: Vec<String>| {
        v.sort();
        v.dedup();
        v
    };
    let (doc_prefixes, doc_indexes) = prefix_table();
    assert!(doc_prefixes.len() >= 10, "the docs' table was read: {doc_prefixes:?}");
    for (prefix, read, written, deleted) in &doc_prefixes {
        let columns = granted.remove(prefix).unwrap_or_else(|| panic!("docs/table-design.md lists {prefix}, which no function may touch"));
        let [r, w, d] = columns.map(tidy);
        assert_eq!(
            (&r, &w, &d),
            (read, written, deleted),
            "{prefix}: (read, written, deleted) in the template and in docs/table-design.md"
        );
    }
    assert!(granted.is_empty(), "prefixes granted but missing from docs/table-design.md: {:?}", granted.keys().collect::<Vec<_>>());
    for (index, by) in doc_indexes {
        assert_eq!(tidy(queried.remove(&index).unwrap_or_default()), by, "index {index}");
    }
    assert!(queried.is_empty(), "indexes queried but missing from docs/table-design.md: {queried:?}");
}

#[test]
fn only_auth_writes_credentials_and_sessions_and_the_screener_and_ops_see_no_account_data() {
    let found = app_grants(&template());
    let all: Vec<&str> = item_actions().collect();
    let (auth, portfolio, consumer) = ("AuthFunction", "PortfolioFunction", CONSUMER);
    // The password hash lives under EMAIL#: auth alone reads, writes or deletes it (an account's
    // deletion releases the address in auth; the consumer's erasure never touches it).
    assert_eq!(who_may(&found, &all, "EMAIL#ada@example.com"), [auth], "who may touch EMAIL#");
    // Refresh tokens, single-use tokens and sign-in limits: auth's, and the account deletion's.
    for key in ["REFRESH#ab12", "VERIFY#ab12", "RESET#ab12", "LOGINLIMIT#ACCOUNT#ab12"] {
        assert_eq!(who_may(&found, &all, key), [auth, consumer], "who may touch {key}");
        assert_eq!(who_may(&found, ITEM_WRITES, key), [auth], "who may put or update {key}");
    }
    // A session is started, rotated and revoked by auth alone; every bearer function reads it.
    assert_eq!(who_may(&found, ITEM_WRITES, "FAMILY#f1"), [auth], "who may write FAMILY#");
    assert_eq!(who_may(&found, ITEM_READS, "FAMILY#f1"), HTTP_FUNCTIONS, "the revocation check reads FAMILY#");
    // The profile (and its role) is written by auth; the portfolio items share its partition.
    assert_eq!(who_may(&found, ITEM_WRITES, "USER#0123"), [auth, portfolio], "who may write USER#");
    // The screener: jobs, Idempotency-Key records, its meter, the revocation check; no user data.
    for key in [
        "EMAIL#a@b.c",
        "USER#0123",
        "P#0123#4567",
        "J#0123",
        "INBOX#0123",
        "ALERT#0123",
        "REFRESH#ab",
        "VERIFY#ab",
        "RESET#ab",
        "LOGINLIMIT#x",
        "MAILSENT#m",
    ] {
        assert!(!all.iter().any(|a| may(&found, "ScreenerFunction", a, key)), "the screener may touch {key}");
    }
    for action in ITEM_WRITES.iter().chain(ITEM_DELETES) {
        assert!(!may(&found, "ScreenerFunction", action, "FAMILY#f1"), "the screener may {action} FAMILY#");
    }
    // ops: the revocation check, nothing else.
    for action in &all {
        for key in ["FAMILY#f1", "EMAIL#a@b.c", "USER#0123", "USAGE#0123", "JOB#j", "HEALTH", "P#0123#4567"] {
            let allowed = *action == "dynamodb:GetItem" && key.starts_with("FAMILY#");
            assert_eq!(may(&found, "OpsFunction", action, key), allowed, "ops {action} {key}");
        }
    }
    // Only the consumer records e-mails sent and diagnostics.
    for key in ["MAILSENT#m", "PING#p", "SCHEDULE#refresh"] {
        assert_eq!(who_may(&found, ITEM_WRITES, key), [consumer], "who may write {key}");
    }
    // The assistant: its own partition, the meters and the operator's spend; everything else of
    // the user's it only reads (its tools run the portfolio's reads), and no credentials at all.
    let assistant = [ASSISTANT, ASSISTANT_STREAM];
    assert_eq!(who_may(&found, ITEM_WRITES, "CHAT#0123"), assistant, "who may write CHAT#");
    assert_eq!(who_may(&found, ITEM_DELETES, "CHAT#0123"), [consumer, ASSISTANT, ASSISTANT_STREAM], "who may delete CHAT#");
    // The account export (portfolio) reads the assistant's partition, and only reads it.
    assert_eq!(who_may(&found, ITEM_READS, "CHAT#0123"), [portfolio, consumer, ASSISTANT, ASSISTANT_STREAM], "who may read CHAT#");
    assert_eq!(who_may(&found, &all, "AISPEND#ALL"), assistant, "who may touch AISPEND#");
    for function in assistant {
        for key in ["USER#0123", "P#0123#4567", "J#0123", "INBOX#0123", "ALERT#0123", "JOB#j", "IDEMP#0123#k", "FAMILY#f1", "HEALTH"] {
            for action in ITEM_WRITES.iter().chain(ITEM_DELETES) {
                assert!(!may(&found, function, action, key), "{function} may {action} {key}");
            }
        }
        for key in ["EMAIL#a@b.c", "REFRESH#ab", "VERIFY#ab", "RESET#ab", "LOGINLIMIT#x", "MAILSENT#m", "INBOX#0123", "ALERT#0123"] {
            assert!(!all.iter().any(|a| may(&found, function, a, key)), "{function} may touch {key}");
        }
    }
    // A key no code builds is no one's.
    assert!(who_may(&found, &all, "ADMIN#x").is_empty() && who_may(&found, &all, "").is_empty());
}

#[test]
fn every_key_the_code_builds_is_granted_to_the_functions_that_use_it() {
    use bourse_storage::{accounts, journal, portfolios, schema, sessions, usage};
    let found = app_grants(&template());
    let user = bourse_domain::UserId::parse("0123456789abcdef0123456789abcdef").unwrap();
    let portfolio = bourse_domain::PortfolioId::parse("fedcba9876543210fedcba9876543210").unwrap();
    let (email, profile, family, refresh, meter) = (
        accounts::email_pk("ada@example.com"),
        accounts::user_pk(&user),
        sessions::family_pk("f1"),
        sessions::refresh_pk("ab12"),
        usage::usage_pk(&user),
    );
    let (holdings, signals) = (portfolios::portfolio_pk(&user, &portfolio), journal::journal_pk(&user));
    let alerts = bourse_storage::alerts::alerts_pk(&user);
    let (get, query, batch_get, put, update, delete, batch_write) = (
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    );
    let mut expected: Vec<(&str, &str, &str)> = Vec::new();
    for function in HTTP_FUNCTIONS {
        expected.push((function, get, &family)); // the revocation check of every bearer request
    }
    for function in ["AuthFunction", "PortfolioFunction", "ScreenerFunction", ASSISTANT, ASSISTANT_STREAM] {
        expected.extend([(function, update, meter.as_str()), (function, get, schema::HEALTH_KEY)]);
    }
    // The assistant (bourse_storage::assistant): its partition, the model usage beside the meter,
    // the operator's spend, and what its tools read through the portfolio's pipeline.
    let chat = bourse_storage::assistant::chat_pk(&user);
    for function in [ASSISTANT, ASSISTANT_STREAM] {
        for action in [get, query, put, update, delete, batch_write] {
            expected.push((function, action, chat.as_str()));
        }
        expected.extend([
            (function, get, meter.as_str()), // the month's spend (AIMONTH#)
            (function, get, "AISPEND#ALL"),  // the operator's day
            (function, update, "AISPEND#ALL"),
            (function, query, profile.as_str()), // list_portfolios
            (function, get, profile.as_str()),
            (function, query, holdings.as_str()), // holdings, transactions (summary, returns)
            (function, query, signals.as_str()),  // the journal's statistics
        ]);
    }
    expected.extend([
        ("AuthFunction", get, email.as_str()),
        ("AuthFunction", put, &email),
        ("AuthFunction", update, &email),
        ("AuthFunction", put, &profile),
        ("AuthFunction", get, &profile),
        ("AuthFunction", update, &profile),
        ("AuthFunction", put, &family),
        ("AuthFunction", update, &family),
        ("AuthFunction", put, &refresh),
        ("AuthFunction", get, &refresh),
        ("AuthFunction", update, &refresh),
        ("AuthFunction", query, &meter),
        ("AuthFunction", delete, &email), // an account's deletion releases the address
        ("AuthFunction", put, "VERIFY#ab12"),
        ("AuthFunction", delete, "VERIFY#ab12"),
        ("AuthFunction", put, "RESET#ab12"),
        ("AuthFunction", delete, "RESET#ab12"),
        ("AuthFunction", update, "LOGINLIMIT#ADDRESS#192.0.2.0"),
        ("AuthFunction", get, "LOGINLIMIT#ACCOUNT#ab12"),
        ("AuthFunction", put, "LOGINLIMIT#ACCOUNT#ab12"),
        ("AuthFunction", delete, "LOGINLIMIT#ACCOUNT#ab12"),
        ("PortfolioFunction", query, &profile),
        ("PortfolioFunction", get, &profile),
        ("PortfolioFunction", put, &profile),
        ("PortfolioFunction", update, &profile),
        ("PortfolioFunction", delete, &profile),
        ("PortfolioFunction", get, &holdings),
        ("PortfolioFunction", query, &holdings),
        ("PortfolioFunction", put, &holdings),
        ("PortfolioFunction", update, &holdings),
        ("PortfolioFunction", delete, &holdings),
        ("PortfolioFunction", batch_write, &holdings),
        ("PortfolioFunction", get, &signals),
        ("PortfolioFunction", batch_get, &signals),
        ("PortfolioFunction", query, &signals),
        ("PortfolioFunction", put, &signals),
        ("PortfolioFunction", update, &signals),
        ("PortfolioFunction", delete, &signals),
        ("PortfolioFunction", query, &meter),     // the account's data export
        ("PortfolioFunction", get, "INBOX#0123"), // the notifications inbox
        ("PortfolioFunction", query, "INBOX#0123"),
        ("PortfolioFunction", put, "INBOX#0123"),
        ("PortfolioFunction", update, "INBOX#0123"),
        ("PortfolioFunction", delete, "INBOX#0123"),
        (CONSUMER, put, "INBOX#0123"), // a completed job's or a fired alert's notification
        (CONSUMER, update, "INBOX#0123"),
        ("PortfolioFunction", get, alerts.as_str()), // alerts
        ("PortfolioFunction", query, &alerts),
        ("PortfolioFunction", put, &alerts),
        ("PortfolioFunction", delete, &alerts),
        (CONSUMER, update, &alerts),     // an alert's state
        (CONSUMER, batch_get, &profile), // the saved screens of screen alerts
        ("ScreenerFunction", query, "JOB#j1"),
        ("ScreenerFunction", get, "JOB#j1"),
        ("ScreenerFunction", put, "JOB#j1"),
        ("ScreenerFunction", update, "JOB#j1"),
        (CONSUMER, get, "JOB#j1"),
        (CONSUMER, query, "JOB#j1"),
        (CONSUMER, put, "JOB#j1"),
        (CONSUMER, update, "JOB#j1"),
        (CONSUMER, query, &holdings),
        (CONSUMER, put, &holdings),
        (CONSUMER, get, "MAILSENT#m1"),
        (CONSUMER, put, "MAILSENT#m1"),
        (CONSUMER, put, "PING#p1"),
        (CONSUMER, put, "SCHEDULE#refresh"),
    ]);
    for function in ["PortfolioFunction", "ScreenerFunction"] {
        expected.extend([(function, put, "IDEMP#0123#k"), (function, get, "IDEMP#0123#k"), (function, update, "IDEMP#0123#k")]);
    }
    // An account's erasure (bourse_storage::erasure): the keys of the user's partitions are read
    // with Query, the rest come from the owner and sessions indexes; every item goes in a
    // BatchWriteItem.
    for key in [
        profile.as_str(),
        &holdings,
        &signals,
        &meter,
        "INBOX#0123",
        &alerts,
        &chat,
        "JOB#j1",
        "LOGINLIMIT#ACCOUNT#ab12",
        "LOGINLIMIT#FAILURES#ab12",
    ] {
        expected.extend([(CONSUMER, query, key), (CONSUMER, batch_write, key)]);
    }
    for key in ["IDEMP#0123#k", family.as_str(), &refresh, "VERIFY#ab12", "RESET#ab12"] {
        expected.push((CONSUMER, batch_write, key));
    }
    for (function, action, key) in expected {
        assert!(may(&found, function, action, key), "{function} may not {action} {key}, which its code does");
    }
    let index_queries =
        [("AuthFunction", "gsi1"), ("PortfolioFunction", "gsi1"), ("PortfolioFunction", "gsi2"), (CONSUMER, "gsi1"), (CONSUMER, "gsi3")];
    for (function, index) in index_queries {
        assert!(
            found.iter().any(|g| g.function == function && g.indexes.contains(&index.to_owned()) && g.allows(query)),
            "{function} may not Query {index}"
        );
    }
}

// -- network ----------------------------------------------------------------------------------

/// The resource a `!Ref X`, `!GetAtt X.Attr` (or their long forms) names.
fn target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
        Value::Tagged(t) if t.tag == "GetAtt" => t.value.as_str().map(|s| s.split('.').next().unwrap().to_owned()),
        Value::Mapping(m) if m.contains_key("Ref") => m["Ref"].as_str().map(str::to_owned),
        Value::Mapping(m) if m.contains_key("Fn::GetAtt") => {
            m["Fn::GetAtt"].as_sequence().and_then(|s| s.first()).and_then(Value::as_str).map(str::to_owned)
        }
        _ => None,
    }
}

fn resources_of_type<'a>(template: &'a Template, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
    template
        .at(&["Resources"])
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(id, r)| (id.as_str().unwrap(), r.get("Properties").unwrap_or(&Value::Null)))
}

/// A security group rule: protocol, ports and where to (or from).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rule {
    protocol: String,
    ports: (i64, i64),
    /// `cidr:<block>`, `sg:<logical id>` or `pl:<what the prefix list id references>`.
    peer: String,
}

fn rule(value: &Value) -> Rule {
    let port = |k: &str| value.get(k).and_then(Value::as_i64).unwrap_or(-1);
    let peer = if let Some(cidr) = value.get("CidrIp").or(value.get("CidrIpv6")).and_then(Value::as_str) {
        format!("cidr:{cidr}")
    } else if let Some(group) = value.get("DestinationSecurityGroupId").or(value.get("SourceSecurityGroupId")) {
        format!("sg:{}", target(group).unwrap_or_else(|| format!("{group:?}")))
    } else if let Some(list) = value.get("DestinationPrefixListId").or(value.get("SourcePrefixListId")) {
        format!("pl:{}", target(list).unwrap_or_else(|| format!("{list:?}")))
    } else {
        format!("unknown:{value:?}")
    };
    let protocol = match value.get("IpProtocol") {
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.as_str().unwrap_or_default().to_owned(),
        None => String::new(),
    };
    Rule { protocol, ports: (port("FromPort"), port("ToPort")), peer }
}

/// A group's rules in one direction: inline, and the rule resources that name it.
fn group_rules(template: &Template, group: &str, inline: &str, kind: &str) -> Vec<Rule> {
    let properties = template.at(&["Resources", group, "Properties"]).unwrap();
    let mut rules: Vec<Rule> = one_or_many(properties.get(inline)).iter().map(rule).collect();
    rules.extend(
        resources_of_type(template, kind)
            .filter(|(_, p)| p.get("GroupId").and_then(target).as_deref() == Some(group))
            .map(|(_, p)| rule(p)),
    );
    rules.sort();
    rules
}

/// Each function's security groups and subnets (logical ids).
fn function_network(template: &Template, function: &str) -> (Vec<String>, Vec<String>) {
    let vpc = template.at(&["Resources", function, "Properties", "VpcConfig"]).unwrap_or_else(|| panic!("{function} has no VpcConfig"));
    let ids =
        |key: &str| one_or_many(vpc.get(key)).iter().map(|v| target(v).unwrap_or_else(|| panic!("{function} {key}: {v:?}"))).collect();
    (ids("SecurityGroupIds"), ids("SubnetIds"))
}

#[test]
fn every_function_has_its_own_security_group_and_only_the_consumer_and_the_assistant_reach_the_internet() {
    let template = template();
    assert!(template.at(&["Globals", "Function", "VpcConfig"]).is_none(), "a global VpcConfig would add its groups to every function's");
    let mut own_groups = Vec::new();
    for (function, _) in FUNCTIONS {
        let (groups, _) = function_network(&template, function);
        assert_eq!(groups.len(), 1, "{function}: one security group of its own, {groups:?}");
        let group = groups[0].clone();
        assert_eq!(template.at(&["Resources", &group, "Type"]).and_then(Value::as_str), Some("AWS::EC2::SecurityGroup"), "{group}");
        assert!(!own_groups.contains(&group), "{function} shares {group} with another function");
        // Without inline egress, EC2 gives a group its default allow-all egress rule.
        let inline = one_or_many(template.at(&["Resources", &group, "Properties", "SecurityGroupEgress"]));
        assert!(!inline.is_empty(), "{group} declares no inline egress: EC2 would add allow-all");
        own_groups.push(group);
    }
    let group_of = |function: &str| function_network(&template, function).0.remove(0);
    let internet = |r: &Rule| r.peer.starts_with("cidr:") && r.peer != "cidr:127.0.0.1/32";
    let (cache, endpoints, dynamodb) = ("sg:CacheSecurityGroup", "sg:VpcEndpointSecurityGroup", "pl:DynamoDbPrefixListId");
    let tcp = |port: i64, peer: &str| Rule { protocol: "tcp".into(), ports: (port, port), peer: peer.into() };
    for (id, _) in resources_of_type(&template, "AWS::EC2::SecurityGroup") {
        let egress = group_rules(&template, id, "SecurityGroupEgress", "AWS::EC2::SecurityGroupEgress");
        let open: Vec<&Rule> = egress.iter().filter(|r| internet(r)).collect();
        if NAT_FUNCTIONS.iter().any(|f| id == group_of(f)) {
            assert_eq!(open, [&tcp(443, "cidr:0.0.0.0/0")], "{id}: HTTPS out (providers, SES, Bedrock, KMS), nothing else to the internet");
        } else {
            assert!(open.is_empty(), "{id} has egress out of the VPC: {open:?}");
        }
    }
    for function in ISOLATED_FUNCTIONS {
        let group = group_of(function);
        let egress = group_rules(&template, &group, "SecurityGroupEgress", "AWS::EC2::SecurityGroupEgress");
        for r in &egress {
            assert!([tcp(6379, cache), tcp(443, endpoints), tcp(443, dynamodb)].contains(r), "{function}: egress {r:?}");
        }
        assert!(egress.contains(&tcp(6379, cache)) && egress.contains(&tcp(443, dynamodb)), "{function} reaches the cache and DynamoDB");
    }
    for function in [ASSISTANT, ASSISTANT_STREAM] {
        let group = group_of(function);
        let egress = group_rules(&template, &group, "SecurityGroupEgress", "AWS::EC2::SecurityGroupEgress");
        assert_eq!(egress, [tcp(443, "cidr:0.0.0.0/0"), tcp(6379, cache)], "{function}: the cache and HTTPS, nothing else");
    }
    // The cache and the endpoints take connections from the functions' groups, by name.
    let ingress_sources = |group: &str, port: i64| {
        let rules = group_rules(&template, group, "SecurityGroupIngress", "AWS::EC2::SecurityGroupIngress");
        for r in &rules {
            assert!(r.protocol == "tcp" && r.ports == (port, port) && r.peer.starts_with("sg:"), "{group}: ingress {r:?}");
        }
        let mut sources: Vec<String> = rules.iter().map(|r| r.peer["sg:".len()..].to_owned()).collect();
        sources.sort();
        sources
    };
    let mut all = own_groups.clone();
    all.sort();
    assert_eq!(ingress_sources("CacheSecurityGroup", 6379), all, "the cache: from each function's group");
    let mut reaching_endpoints: Vec<String> = own_groups
        .iter()
        .filter(|g| {
            let egress = group_rules(&template, g, "SecurityGroupEgress", "AWS::EC2::SecurityGroupEgress");
            egress.contains(&tcp(443, endpoints)) || egress.contains(&tcp(443, "cidr:0.0.0.0/0"))
        })
        .cloned()
        .collect();
    reaching_endpoints.sort();
    assert_eq!(ingress_sources("VpcEndpointSecurityGroup", 443), reaching_endpoints, "the endpoints: from each group that sends to them");
    for function in ["AuthFunction", "PortfolioFunction", "ScreenerFunction"] {
        assert!(reaching_endpoints.contains(&group_of(function)), "{function} calls SQS or Secrets Manager");
    }
}

#[test]
fn the_http_functions_subnets_have_no_route_out_of_the_vpc() {
    let template = template();
    let route_table_of = |subnet: &str| {
        let tables: Vec<String> = resources_of_type(&template, "AWS::EC2::SubnetRouteTableAssociation")
            .filter(|(_, p)| p.get("SubnetId").and_then(target).as_deref() == Some(subnet))
            .map(|(_, p)| p.get("RouteTableId").and_then(target).unwrap())
            .collect();
        assert_eq!(tables.len(), 1, "{subnet}: one explicit route table");
        tables[0].clone()
    };
    let routes_of = |table: &str| -> Vec<&Value> {
        resources_of_type(&template, "AWS::EC2::Route")
            .filter(|(_, p)| p.get("RouteTableId").and_then(target).as_deref() == Some(table))
            .map(|(_, p)| p)
            .collect()
    };
    let dynamodb_route_tables: Vec<String> = resources_of_type(&template, "AWS::EC2::VPCEndpoint")
        .filter(|(_, p)| resource_text(p.get("ServiceName").unwrap()).ends_with(".dynamodb"))
        .flat_map(|(_, p)| one_or_many(p.get("RouteTableIds")).iter().filter_map(target).collect::<Vec<_>>())
        .collect();
    for function in ISOLATED_FUNCTIONS {
        let (_, subnets) = function_network(&template, function);
        assert!(subnets.len() >= 2, "{function}: two AZs");
        for subnet in subnets {
            assert_eq!(template.at(&["Resources", &subnet, "Type"]).and_then(Value::as_str), Some("AWS::EC2::Subnet"));
            let public = template.at(&["Resources", &subnet, "Properties", "MapPublicIpOnLaunch"]).and_then(Value::as_bool);
            assert_ne!(public, Some(true), "{subnet}");
            let table = route_table_of(&subnet);
            let routes = routes_of(&table);
            assert!(
                routes.is_empty(),
                "{function}'s subnet {subnet} ({table}) has routes besides the VPC's and the endpoint's: {routes:?}"
            );
            assert!(dynamodb_route_tables.contains(&table), "{function}'s {table} has no route to the DynamoDB gateway endpoint");
        }
    }
    for function in NAT_FUNCTIONS {
        let (_, subnets) = function_network(&template, function);
        assert!(subnets.len() >= 2, "{function}: two AZs");
        for subnet in subnets {
            let table = route_table_of(&subnet);
            assert!(
                routes_of(&table).iter().any(|r| r.get("NatGatewayId").is_some()),
                "{function}'s {subnet} routes through the NAT gateway"
            );
            assert!(dynamodb_route_tables.contains(&table), "{function}'s {table} has no route to the DynamoDB gateway endpoint");
        }
    }
    // The AWS services the HTTP functions call have interface endpoints their group may reach.
    for service in [".sqs", ".secretsmanager"] {
        let endpoint = resources_of_type(&template, "AWS::EC2::VPCEndpoint")
            .find(|(_, p)| resource_text(p.get("ServiceName").unwrap()).ends_with(service))
            .unwrap_or_else(|| panic!("no interface endpoint for {service}"));
        let groups: Vec<String> = one_or_many(endpoint.1.get("SecurityGroupIds")).iter().filter_map(target).collect();
        assert_eq!(groups, ["VpcEndpointSecurityGroup"], "{service}");
        assert_eq!(endpoint.1.get("PrivateDnsEnabled").and_then(Value::as_bool), Some(true), "{service}: the SDK's default host");
    }
}

// -- CORS in production -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum RuleValue {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

/// Evaluates a `Rules` expression the way CloudFormation does, with the parameters given.
fn evaluate(node: &Value, parameters: &std::collections::HashMap<&str, RuleValue>) -> RuleValue {
    let (function, args) = match node {
        Value::String(s) => return RuleValue::Text(s.clone()),
        Value::Tagged(t) if t.tag == "Ref" => {
            let name = t.value.as_str().unwrap();
            return parameters.get(name).cloned().unwrap_or_else(|| panic!("the rule refers to {name}, not given"));
        }
        Value::Tagged(t) => (format!("Fn::{}", t.tag.to_string().trim_start_matches('!')), t.value.clone()),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().unwrap();
            if k.as_str() == Some("Ref") {
                return parameters[v.as_str().unwrap()].clone();
            }
            (k.as_str().unwrap().to_owned(), v.clone())
        }
        other => panic!("not a rule expression: {other:?}"),
    };
    let args: Vec<RuleValue> = args.as_sequence().unwrap().iter().map(|a| evaluate(a, parameters)).collect();
    let boolean = |v: &RuleValue| match v {
        RuleValue::Bool(b) => *b,
        other => panic!("{function}: {other:?} is not true or false"),
    };
    let list = |v: &RuleValue| match v {
        RuleValue::List(l) => l.clone(),
        other => panic!("{function}: {other:?} is not a list"),
    };
    let text = |v: &RuleValue| match v {
        RuleValue::Text(t) => t.clone(),
        other => panic!("{function}: {other:?} is not a string"),
    };
    RuleValue::Bool(match function.as_str() {
        "Fn::Equals" => args[0] == args[1],
        "Fn::Not" => !boolean(&args[0]),
        "Fn::And" => args.iter().all(boolean),
        "Fn::Or" => args.iter().any(boolean),
        "Fn::Contains" => list(&args[0]).contains(&text(&args[1])),
        "Fn::EachMemberEquals" => list(&args[0]).iter().all(|m| *m == text(&args[1])),
        "Fn::EachMemberIn" => list(&args[0]).iter().all(|m| list(&args[1]).contains(m)),
        other => panic!("{other} in a rule: this evaluator does not know it"),
    })
}

/// Whether CloudFormation takes `origins` for the stage: every origin matches the parameter's
/// AllowedPattern (each member of a list; an empty value is one empty member), and every rule
/// whose condition holds has all its assertions true.
fn deploy_accepts(template: &Template, stage: &str, origins: &str) -> bool {
    let parameter = template.at(&["Parameters", "AllowedOrigins"]).unwrap();
    let pattern = parameter.get("AllowedPattern").and_then(Value::as_str).expect("AllowedOrigins has an AllowedPattern");
    let pattern = regex_lite::Regex::new(&format!("^(?:{pattern})$")).unwrap();
    let members: Vec<String> = origins.split(',').map(str::to_owned).collect();
    if !members.iter().all(|m| pattern.is_match(m)) {
        return false;
    }
    let parameters =
        std::collections::HashMap::from([("Stage", RuleValue::Text(stage.into())), ("AllowedOrigins", RuleValue::List(members))]);
    template.at(&["Rules"]).and_then(Value::as_mapping).into_iter().flatten().all(|(_, rule)| {
        let applies = rule.get("RuleCondition").is_none_or(|c| evaluate(c, &parameters) == RuleValue::Bool(true));
        !applies
            || one_or_many(rule.get("Assertions")).iter().all(|a| evaluate(a.get("Assert").unwrap(), &parameters) == RuleValue::Bool(true))
    })
}

#[test]
fn production_refuses_an_empty_or_loopback_cors_origin() {
    let template = template();
    let default = template.at(&["Parameters", "AllowedOrigins", "Default"]).and_then(Value::as_str).unwrap();
    for stage in ["dev", "staging"] {
        assert!(deploy_accepts(&template, stage, default), "{stage} keeps the default {default}");
        assert!(deploy_accepts(&template, stage, "http://127.0.0.1:5173,https://dev.example.com"), "{stage}: a local web app");
    }
    assert!(!deploy_accepts(&template, "prod", default), "prod refuses the default {default}");
    for origins in [
        "",
        "http://localhost:3000",
        "http://127.0.0.1:3000",
        "http://localhost:5173",
        "http://127.0.0.1:5173",
        "http://localhost",
        "http://localhost:8080",
        "https://localhost",
        "https://localhost:3000",
        "http://127.0.0.1:23000",
        "https://127.0.0.1",
        "http://[::1]:3000",
        "http://app.example.com",
        "https://app.example.com,http://localhost:3000",
        "https://app.example.com,",
    ] {
        assert!(!deploy_accepts(&template, "prod", origins), "prod takes AllowedOrigins={origins:?}");
    }
    assert!(deploy_accepts(&template, "prod", "https://app.example.com"));
    assert!(deploy_accepts(&template, "prod", "https://app.example.com,https://www.example.com:8443"));
}

// -- the assistant ----------------------------------------------------------------------------

#[test]
fn the_assistant_streams_behind_a_function_url_with_the_apis_cors_and_seals_keys_under_its_own_kms_key() {
    let template = template();
    let stream = template.at(&["Resources", ASSISTANT_STREAM, "Properties"]).unwrap();
    assert!(stream.get("Events").is_none(), "the streaming twin has no gateway route: its function URL serves it");
    let url = stream.get("FunctionUrlConfig").expect("a function URL");
    assert_eq!(url.get("AuthType").and_then(Value::as_str), Some("NONE"), "the handler verifies the bearer token");
    assert_eq!(url.get("InvokeMode").and_then(Value::as_str), Some("RESPONSE_STREAM"));
    let (cors, api) = (url.get("Cors").unwrap(), template.at(&["Resources", "HttpApi", "Properties", "CorsConfiguration"]).unwrap());
    for key in ["AllowOrigins", "AllowHeaders", "ExposeHeaders", "MaxAge", "AllowCredentials"] {
        if key == "ExposeHeaders" {
            let exposed = strings(cors.get(key));
            assert!(strings(api.get(key)).iter().filter(|h| *h != "link").all(|h| exposed.contains(h)), "{key}");
        } else {
            assert_eq!(cors.get(key), api.get(key), "the function URL's {key} is the HTTP API's");
        }
    }
    let methods: Vec<String> = strings(api.get("AllowMethods")).into_iter().filter(|m| m != "OPTIONS").collect();
    assert_eq!(strings(cors.get("AllowMethods")), methods, "the HTTP API's methods (a function URL answers preflights itself)");
    // The local stack names the key by the template's alias before `bourse-dev resources` makes it.
    let keys = template.kms_keys().unwrap();
    assert_eq!(
        keys.iter().map(|k| (k.logical_id.as_str(), k.alias.as_str())).collect::<Vec<_>>(),
        [("AssistantKey", "alias/bourse-assistant")]
    );
    assert!(repo_file("dev/env.sh").contains("ASSISTANT_KMS_KEY_ID=\"alias/bourse-assistant\""), "the profiles name the template's key");
    let key = template.at(&["Resources", "AssistantKey"]).unwrap();
    assert_eq!(key.get("Type").and_then(Value::as_str), Some("AWS::KMS::Key"));
    assert_eq!(key.get("DeletionPolicy").and_then(Value::as_str), Some("Retain"), "saved keys outlive a stack deletion with the table");
    assert_eq!(key.get("Properties").and_then(|p| p.get("EnableKeyRotation")).and_then(Value::as_bool), Some(true));
    for function in [ASSISTANT, ASSISTANT_STREAM] {
        let properties = template.at(&["Resources", function, "Properties"]).unwrap();
        let variables = properties.get("Environment").and_then(|e| e.get("Variables")).unwrap();
        assert_eq!(variables.get("ASSISTANT_KMS_KEY_ID").and_then(target).as_deref(), Some("AssistantKey"), "{function}");
        assert_eq!(variables.get("ASSISTANT_PROVIDER").and_then(Value::as_str), Some("bedrock"), "{function}");
        let model = variables.get("ASSISTANT_MODEL").and_then(Value::as_str).unwrap();
        let statements: Vec<(String, Value)> = function_statements(&template).into_iter().filter(|(f, _)| f == function).collect();
        let granted = |action: &str| -> Vec<String> {
            statements
                .iter()
                .filter(|(_, s)| one_or_many(s.get("Action")).iter().any(|a| a.as_str().is_some_and(|a| grants(a, action))))
                .flat_map(|(_, s)| one_or_many(s.get("Resource")).iter().map(resource_text).collect::<Vec<_>>())
                .collect()
        };
        for action in ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"] {
            assert_eq!(
                granted(action),
                [format!("arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{model}")],
                "{function} {action}"
            );
        }
        for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
            assert_eq!(granted(action), ["${AssistantKey.Arn}"], "{function} {action}: its own key only");
        }
        assert!(granted("kms:Encrypt").is_empty() && granted("kms:CreateGrant").is_empty(), "{function}: no other KMS action");
    }
}
