//! `GET /v1/<service>/health`: version and the state of each dependency, each probed concurrently
//! with a short timeout. A critical dependency down answers 503; a non-critical one (the cache)
//! down answers 200 with `status: degraded`, because the function still serves from DynamoDB.
//! The answer is public, so it says only up or down per dependency: why a probe failed and how
//! long it took go to the logs.

use crate::problem::ApiError;
use crate::reply::Reply;
use http::StatusCode;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

pub type Probe = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

pub struct DependencyCheck {
    pub name: &'static str,
    /// Whether the function can serve without it.
    pub critical: bool,
    pub probe: Probe,
}

impl DependencyCheck {
    pub fn critical(name: &'static str, probe: impl Future<Output = Result<(), String>> + Send + 'static) -> Self {
        DependencyCheck { name, critical: true, probe: Box::pin(probe) }
    }

    pub fn optional(name: &'static str, probe: impl Future<Output = Result<(), String>> + Send + 'static) -> Self {
        DependencyCheck { name, critical: false, probe: Box::pin(probe) }
    }
}

/// Probes every dependency at once and builds the health answer.
pub async fn health_reply(service: &str, version: &str, checks: Vec<DependencyCheck>, timeout: Duration) -> Result<Reply, ApiError> {
    let probes = checks.into_iter().map(|check| async move {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(timeout, check.probe).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        };
        (check.name, check.critical, outcome, started.elapsed())
    });
    let results = futures_util::future::join_all(probes).await;
    let mut dependencies = BTreeMap::new();
    let mut status = "ok";
    let mut critical_down = false;
    for (name, critical, outcome, elapsed) in results {
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        let state = match outcome {
            Ok(()) => "up",
            Err(error) => {
                tracing::warn!(dependency = name, critical, latency_ms, %error, "health probe failed");
                status = "degraded";
                critical_down |= critical;
                "down"
            }
        };
        dependencies.insert(name, DependencyState { status: state, critical });
    }
    if critical_down {
        status = "down";
    }
    let body = Health { service, version, status, dependencies };
    let code = if critical_down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    Reply::json(code, &body)
}

/// The health answer (`Health` in the OpenAPI document).
#[derive(Serialize)]
pub struct Health<'a> {
    pub service: &'a str,
    pub version: &'a str,
    /// `ok`, `degraded` (an optional dependency is down) or `down` (a critical one is).
    pub status: &'static str,
    pub dependencies: BTreeMap<&'static str, DependencyState>,
}

#[derive(Serialize)]
pub struct DependencyState {
    /// `up` or `down`.
    pub status: &'static str,
    pub critical: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(reply: &Reply) -> serde_json::Value {
        serde_json::from_slice(reply.body.as_deref().unwrap()).unwrap()
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn cache_down_is_degraded_but_ok() {
        let reply = health_reply(
            "screener",
            "1.0.0",
            vec![
                DependencyCheck::critical("dynamodb", async { Ok(()) }),
                DependencyCheck::optional("cache", async { Err("connection refused".to_string()) }),
            ],
            Duration::from_millis(100),
        )
        .await
        .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        let doc = body(&reply);
        assert_eq!(doc["status"], "degraded");
        assert_eq!(doc["dependencies"]["cache"]["status"], "down");
        assert_eq!(doc["dependencies"]["dynamodb"]["status"], "up");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_hung_critical_dependency_times_out_as_503() {
        let reply =
            health_reply("auth", "1.0.0", vec![DependencyCheck::critical("dynamodb", std::future::pending())], Duration::from_millis(100))
                .await
                .unwrap();
        assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
        // Public: up or down only, never the reason.
        assert_eq!(body(&reply)["dependencies"]["dynamodb"], serde_json::json!({"status": "down", "critical": true}));
    }
}
