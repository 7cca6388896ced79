//! Observability shared by every function, with no AWS types:
//! - JSON logs through `tracing` (one line per event, request id carried by the request span);
//! - a cold-start marker (the first request a process serves);
//! - per-request counters (DynamoDB requests by operation, cache hits and misses) kept in a task-local
//!   scope so concurrent requests never mix, and readable by tests to assert request budgets;
//! - CloudWatch Embedded Metric Format lines.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Installs the JSON log subscriber once. Level from `RUST_LOG`: one of `error`, `warn`, `info`,
/// `debug`, `trace`, `off` (default and fallback `info`). A plain level rather than per-module
/// directives: the directive parser brings a regex engine, which is a fifth of a package.
pub fn init_logging(service: &'static str) {
    let level = log_level(std::env::var("RUST_LOG").ok().as_deref());
    let installed = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // Lambda stamps every line; a second clock read per line buys nothing.
        .try_init()
        .is_ok();
    if installed {
        tracing::info!(service, "init");
    }
}

/// The level `RUST_LOG` names; `info` when unset or not a level.
fn log_level(value: Option<&str>) -> tracing_subscriber::filter::LevelFilter {
    value.map(str::trim).filter(|v| !v.is_empty()).and_then(|v| v.parse().ok()).unwrap_or(tracing_subscriber::filter::LevelFilter::INFO)
}

static SERVED_ONE: AtomicBool = AtomicBool::new(false);

/// True for the first request this process serves, false afterwards.
pub fn take_cold_start() -> bool {
    !SERVED_ONE.swap(true, Ordering::Relaxed)
}

/// Counters of one request (or of one measured block in a test or benchmark).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestCounters {
    /// DynamoDB operations in the order they were sent, e.g. `["Query", "BatchGetItem"]`.
    pub dynamodb_operations: Vec<String>,
    /// SQS operations in the order they were sent.
    pub sqs_operations: Vec<String>,
    /// KMS operations in the order they were sent (the assistant's key envelopes).
    pub kms_operations: Vec<String>,
    pub cache_hits: u32,
    pub cache_misses: u32,
    pub cache_errors: u32,
    /// DynamoDB capacity units consumed, in thousandths, as DynamoDB reported them; counted only
    /// while [`measure_capacity`] is on (benchmarks), since asking for them changes the requests.
    pub dynamodb_capacity_milli: u64,
}

impl RequestCounters {
    pub fn dynamodb_requests(&self) -> usize {
        self.dynamodb_operations.len()
    }
}

tokio::task_local! {
    static COUNTERS: Mutex<RequestCounters>;
}

/// Runs `work` with fresh counters and returns its output with what it counted. Scopes nest: an
/// enclosing measurement (a test, a benchmark) also receives what an inner one counted.
pub async fn measured<F: Future>(work: F) -> (F::Output, RequestCounters) {
    let (out, counters) = COUNTERS
        .scope(Mutex::new(RequestCounters::default()), async {
            let out = work.await;
            let counters = COUNTERS.with(|c| c.lock().map(|c| c.clone()).unwrap_or_default());
            (out, counters)
        })
        .await;
    record(|outer| {
        outer.dynamodb_operations.extend(counters.dynamodb_operations.iter().cloned());
        outer.sqs_operations.extend(counters.sqs_operations.iter().cloned());
        outer.kms_operations.extend(counters.kms_operations.iter().cloned());
        outer.cache_hits += counters.cache_hits;
        outer.cache_misses += counters.cache_misses;
        outer.cache_errors += counters.cache_errors;
        outer.dynamodb_capacity_milli += counters.dynamodb_capacity_milli;
    });
    (out, counters)
}

fn record(update: impl FnOnce(&mut RequestCounters)) {
    // Outside a measured scope (e.g. start-up) there is nothing to count into.
    let _ = COUNTERS.try_with(|c| {
        if let Ok(mut c) = c.lock() {
            update(&mut c);
        }
    });
}

pub fn record_dynamodb(operation: &str) {
    record(|c| c.dynamodb_operations.push(operation.to_owned()));
}

static MEASURE_CAPACITY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns on asking DynamoDB for the capacity each request consumes (`ReturnConsumedCapacity`),
/// for benchmarks. Off by default: functions never pay for it.
pub fn measure_capacity(on: bool) {
    MEASURE_CAPACITY.store(on, Ordering::Relaxed);
}

pub fn capacity_measured() -> bool {
    MEASURE_CAPACITY.load(Ordering::Relaxed)
}

/// Capacity units one DynamoDB response reported.
pub fn record_dynamodb_capacity(units: f64) {
    record(|c| c.dynamodb_capacity_milli += (units * 1000.0).round() as u64);
}

pub fn record_sqs(operation: &str) {
    record(|c| c.sqs_operations.push(operation.to_owned()));
}

/// Counts one KMS request (`GenerateDataKey`, `Decrypt`).
pub fn record_kms(operation: &str) {
    record(|c| c.kms_operations.push(operation.to_owned()));
}

/// Outcome of one cache read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
    /// The cache did not answer in time or failed; the caller fell back to the system of record.
    Error,
}

pub fn record_cache(outcome: CacheOutcome) {
    record(|c| match outcome {
        CacheOutcome::Hit => c.cache_hits += 1,
        CacheOutcome::Miss => c.cache_misses += 1,
        CacheOutcome::Error => c.cache_errors += 1,
    });
}

/// The CloudWatch namespace of every metric the functions emit.
pub const NAMESPACE: &str = "Bourse";
/// The metrics of each request's EMF line (name, unit): what dashboards and alarms on the
/// `Bourse` namespace may use (`crates/devtools/tests/template_agrees.rs` checks the template).
pub const REQUEST_METRICS: &[(&str, &str)] = &[
    ("Latency", "Milliseconds"),
    ("DynamoDbRequests", "Count"),
    ("CacheHit", "Count"),
    ("CacheMiss", "Count"),
    ("CacheError", "Count"),
    ("ServerError", "Count"),
    ("ColdStart", "Count"),
];
/// The dimension sets each request's metrics are published under.
pub const REQUEST_DIMENSIONS: &[&[&str]] = &[&["Service", "Route"], &["Service"]];

/// One request's metric line in CloudWatch Embedded Metric Format.
#[derive(Debug, Clone)]
pub struct RequestMetrics<'a> {
    pub service: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub cold_start: bool,
    pub counters: &'a RequestCounters,
}

impl RequestMetrics<'_> {
    /// The EMF document: metrics are dimensioned by service and route; status and the request's
    /// counters ride along as properties so Logs Insights can slice by them.
    pub fn to_emf(&self, request_id: &str) -> serde_json::Value {
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        let error = u32::from(self.status >= 500);
        serde_json::json!({
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": REQUEST_DIMENSIONS,
                    "Metrics": REQUEST_METRICS.iter().map(|(name, unit)| serde_json::json!({"Name": name, "Unit": unit})).collect::<Vec<_>>()
                }]
            },
            "Service": self.service,
            "Route": self.route,
            "Latency": self.latency.as_secs_f64() * 1000.0,
            "DynamoDbRequests": self.counters.dynamodb_requests(),
            "CacheHit": self.counters.cache_hits,
            "CacheMiss": self.counters.cache_misses,
            "CacheError": self.counters.cache_errors,
            "ServerError": error,
            "ColdStart": u32::from(self.cold_start),
            "status": self.status,
            "requestId": request_id,
            "dynamodbOperations": self.counters.dynamodb_operations,
        })
    }

    /// Writes the EMF line to stdout, where Lambda's log agent picks it up.
    pub fn emit(&self, request_id: &str) {
        println!("{}", self.to_emf(request_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_level_is_a_plain_level_and_info_otherwise() {
        use tracing_subscriber::filter::LevelFilter;
        assert_eq!(log_level(Some("debug")), LevelFilter::DEBUG);
        assert_eq!(log_level(Some(" WARN ")), LevelFilter::WARN);
        assert_eq!(log_level(Some("off")), LevelFilter::OFF);
        for fallback in [None, Some(""), Some("bourse=debug"), Some("loud")] {
            assert_eq!(log_level(fallback), LevelFilter::INFO, "{fallback:?}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn counters_are_scoped_to_the_measured_block() {
        record_dynamodb("GetItem"); // outside any scope: dropped, not a panic
        let ((), counted) = measured(async {
            record_dynamodb("Query");
            record_dynamodb("BatchGetItem");
            record_cache(CacheOutcome::Miss);
        })
        .await;
        assert_eq!(counted.dynamodb_operations, vec!["Query", "BatchGetItem"]);
        assert_eq!(counted.cache_misses, 1);
        let ((), empty) = measured(async {}).await;
        assert_eq!(empty, RequestCounters::default());
        let (((), inner), outer) = measured(measured(async { record_dynamodb("GetItem") })).await;
        assert_eq!(inner, outer, "the enclosing scope sees what the inner one counted");
    }

    #[test]
    fn emf_line_declares_every_metric_it_carries() {
        let counters = RequestCounters { dynamodb_operations: vec!["GetItem".into()], cache_hits: 2, ..Default::default() };
        let metrics = RequestMetrics {
            service: "screener",
            route: "GET /v1/stocks",
            status: 200,
            latency: Duration::from_micros(1500),
            cold_start: true,
            counters: &counters,
        };
        let doc = metrics.to_emf("req-1");
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap();
        for metric in declared {
            let name = metric["Name"].as_str().unwrap();
            assert!(doc[name].is_number(), "{name} declared but not set");
        }
        assert_eq!(declared.len(), REQUEST_METRICS.len(), "the line declares exactly REQUEST_METRICS");
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Service", "Route"], ["Service"]]));
        assert_eq!(doc["DynamoDbRequests"], 1);
        assert_eq!(doc["Latency"], 1.5);
        assert_eq!(doc["ColdStart"], 1);
    }

    #[test]
    fn only_the_first_call_is_a_cold_start() {
        // Process-global; this is the only test touching it.
        assert!(take_cold_start());
        assert!(!take_cold_start());
    }
}
