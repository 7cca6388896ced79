//! The operator's function: cache statistics, clearing a prefix and warming, under `/v1/admin/`.
//!
//! **Who may call.** Every route answers 404 — the same problem as a path that does not exist —
//! unless the request carries a valid access token with the `admin` claim (an account's role,
//! written only by `bourse-ops admin grant`; no route can set it). A missing, invalid, revoked or
//! ordinary token is 404, never 401 or 403. Operators are not metered against a plan's quota.
//!
//! **What it costs.** Statistics: one `INFO` and a `SCAN` walk of the keyspace (⌈keys / 1000⌉
//! commands, at most [`MAX_SCAN_KEYS`] keys). Clearing: a `SCAN MATCH` walk and one `UNLINK` per
//! page (see `bourse_cache::ops` for when clearing is still needed at all). Warming: the universe
//! (1 cache GET or GetItem + 1 Query) and every public screener read the cache holds, run through
//! the screener's own handlers in-process (1 cache GET, + 1 SET when missing, each).

pub mod wire;
#[cfg(test)]
mod wire_tests;

use bourse_domain::screener::PRESETS;
use bourse_domain::stock::TextField;
use bourse_http::{ApiError, ApiRequest, Authenticator, Handler, HttpApp, Page, Principal, Reply, Route};
use bourse_runtime::{Platform, StartupError};
use screener_fn::universe::UniverseCache;
use screener_fn::{Screener, ScreenerRoute};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Instant;

pub const SERVICE: &str = "ops";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The most keys one statistics walk counts (then `scan_complete` is false).
pub const MAX_SCAN_KEYS: u64 = 1_000_000;
/// Keys are counted by their first two `:`-separated parts (`bourse:screener:`, `auth:session:`).
pub const PREFIX_DEPTH: usize = 2;
/// The longest prefix `clear` takes.
pub const MAX_PREFIX_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpsRoute {
    CacheStats,
    CacheClear,
    CacheWarm,
}

/// Public at the pipeline (no 401 and no metering): the handler admits admins and answers 404 to
/// everyone else.
pub static ROUTES: &[Route<OpsRoute>] = &[
    Route::get("/v1/admin/cache/stats", OpsRoute::CacheStats),
    Route::post("/v1/admin/cache/clear", OpsRoute::CacheClear),
    Route::post("/v1/admin/cache/warm", OpsRoute::CacheWarm),
];

pub struct Ops {
    platform: Platform,
    authenticator: Arc<dyn Authenticator>,
    market_table: String,
    universe: UniverseCache,
    /// The screener, served in-process: warming runs its handlers.
    screener: HttpApp<ScreenerRoute, Screener>,
}

impl Ops {
    pub fn new(platform: Platform) -> Result<Self, StartupError> {
        let authenticator = platform.access_control()?.authenticator;
        let market_table = platform.config.require_market_table()?.to_owned();
        // Its reads are the warm-up's, not traffic: no metric lines.
        let screener = screener_fn::app(platform.clone())?.without_metrics();
        Ok(Ops { platform, authenticator, market_table, universe: UniverseCache::default(), screener })
    }

    /// The caller, when it holds the admin role; the not-found problem otherwise.
    async fn admin(&self, request: &ApiRequest) -> Result<Principal, ApiError> {
        let not_found = || ApiError::NotFound(format!("no resource at {}", request.path));
        let token = bourse_http::auth::bearer_token(&request.headers).map_err(|_| not_found())?;
        let principal = match self.authenticator.authenticate(token).await {
            Ok(principal) => principal,
            // A dependency outage is said as such (retry); every refusal looks like no route.
            Err(err @ ApiError::Unavailable(_)) => return Err(err),
            Err(_) => return Err(not_found()),
        };
        if !principal.admin {
            tracing::info!(user = %principal.user_id, route = %request.route, "admin route refused to a caller without the role");
            return Err(not_found());
        }
        tracing::info!(user = %principal.user_id, route = %request.route, "admin route");
        Ok(principal)
    }

    fn cache(&self) -> Result<&bourse_cache::Cache, ApiError> {
        self.platform.cache.as_deref().ok_or_else(|| ApiError::Unavailable("no cache is configured (CACHE_URL)".into()))
    }

    pub async fn stats(&self) -> Result<wire::CacheStats, ApiError> {
        let cache = self.cache()?;
        let server = cache.server_stats().await.map_err(cache_problem)?;
        let counts = cache.count_by_prefix(PREFIX_DEPTH, MAX_SCAN_KEYS).await.map_err(cache_problem)?;
        Ok(wire::CacheStats {
            server: wire::ServerStats {
                hit_ratio: server.hit_ratio(),
                engine_version: server.engine_version,
                uptime_seconds: server.uptime_seconds,
                connected_clients: server.connected_clients,
                used_memory_bytes: server.used_memory_bytes,
                maxmemory_bytes: server.maxmemory_bytes,
                keyspace_hits: server.keyspace_hits,
                keyspace_misses: server.keyspace_misses,
                evicted_keys: server.evicted_keys,
                expired_keys: server.expired_keys,
                keys: server.keys,
            },
            prefixes: Page::all(counts.counts.into_iter().map(|(prefix, keys)| wire::PrefixCount { prefix, keys }).collect()),
            scanned_keys: counts.scanned,
            scan_complete: counts.complete,
        })
    }

    pub async fn clear(&self, prefix: &str) -> Result<wire::Cleared, ApiError> {
        check_prefix(prefix)?;
        let deleted = self.cache()?.clear_prefix(prefix).await.map_err(cache_problem)?;
        tracing::info!(prefix, deleted, "cache prefix cleared");
        Ok(wire::Cleared { prefix: prefix.to_owned(), deleted })
    }

    /// Loads the published universe (which also caches its version) and runs every public read
    /// the screener caches through the screener's handlers: the default list and each sector's,
    /// sectors, the market signals, each preset's results and each stock's detail.
    pub async fn warm(&self) -> Result<wire::Warmed, ApiError> {
        let started = Instant::now();
        self.cache()?;
        let universe = self.universe.get(&self.platform, &self.market_table).await?;
        let mut reads: Vec<(String, Vec<(String, String)>)> =
            vec![("/v1/stocks".into(), vec![]), ("/v1/sectors".into(), vec![]), ("/v1/signals/market".into(), vec![])];
        let mut sectors: Vec<&str> = universe.stocks.iter().map(|s| s.text(TextField::Sector).unwrap_or("Unknown")).collect();
        sectors.sort_unstable();
        sectors.dedup();
        reads.extend(sectors.into_iter().map(|sector| ("/v1/stocks".into(), vec![("sector".into(), sector.to_owned())])));
        reads.extend(PRESETS.iter().map(|p| (format!("/v1/screener/presets/{}", p.name), vec![])));
        reads.extend(universe.stocks.iter().map(|s| (format!("/v1/stocks/{}", s.symbol), vec![])));
        let (mut computed, mut already_cached, mut failed) = (0, 0, 0);
        for (i, (path, query)) in reads.iter().enumerate() {
            let event = get_event(&format!("warm-{i}"), path, query);
            let request = lambda_http::request::from_str(&event).map_err(|e| ApiError::Internal(format!("warm request {path}: {e}")))?;
            let (response, counted) = bourse_telemetry::measured(self.screener.serve(request)).await;
            if response.status() != http::StatusCode::OK {
                tracing::warn!(path, status = response.status().as_u16(), "a warm read did not answer 200");
                failed += 1;
            } else if counted.cache_misses > 0 {
                computed += 1;
            } else {
                already_cached += 1;
            }
        }
        Ok(wire::Warmed {
            universe_version: universe.version,
            stocks: universe.stocks.len(),
            requests: reads.len(),
            computed,
            already_cached,
            failed,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// A prefix to clear: 1 to [`MAX_PREFIX_LEN`] printable ASCII characters. An empty prefix (the
/// whole cache) is refused: versioned keys make a flush unnecessary.
pub fn check_prefix(prefix: &str) -> Result<(), ApiError> {
    if prefix.is_empty() {
        return Err(ApiError::field("body.prefix", "name a prefix (e.g. bourse:screener:); the whole cache is never flushed"));
    }
    if prefix.len() > MAX_PREFIX_LEN || !prefix.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ApiError::field("body.prefix", format!("1 to {MAX_PREFIX_LEN} printable ASCII characters without spaces")));
    }
    Ok(())
}

fn cache_problem(err: bourse_cache::CacheError) -> ApiError {
    tracing::warn!(error = %err, "cache operation failed");
    ApiError::Unavailable("the cache did not answer; retry shortly".into())
}

/// A GET event for `path` and `query`: how the warm reads enter the screener's pipeline, exactly
/// as a client's would.
fn get_event(request_id: &str, path: &str, query: &[(String, String)]) -> String {
    bourse_http::event::api_gateway_event(bourse_http::event::InProcessRequest {
        request_id,
        method: "GET",
        path,
        query,
        headers: &[],
        body: None,
        user_agent: "bourse-ops-warm",
    })
}

impl Handler<OpsRoute> for Ops {
    async fn handle(&self, route: OpsRoute, request: ApiRequest) -> Result<Reply, ApiError> {
        self.admin(&request).await?;
        match route {
            OpsRoute::CacheStats => {
                request.only_query(&[])?;
                Reply::ok(&self.stats().await?)
            }
            OpsRoute::CacheClear => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Clear {
                    prefix: String,
                }
                let body: Clear = request.json()?;
                Reply::ok(&self.clear(&body.prefix).await?)
            }
            OpsRoute::CacheWarm => Box::pin(async { Reply::ok(&self.warm().await?) }).await,
        }
    }
}

/// The function, ready to serve. Needs `JWT_PUBLIC_KEYS` and `APP_TABLE` (tokens and their
/// sessions are checked) and `MARKET_TABLE` (warming).
pub fn app(platform: Platform) -> Result<HttpApp<OpsRoute, Ops>, StartupError> {
    Ok(HttpApp::new(platform.http_settings(VERSION), ROUTES, Ops::new(platform)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("bourse:screener:").is_ok());
        for bad in ["", "has space", "tab\t", &"x".repeat(MAX_PREFIX_LEN + 1), "é"] {
            assert!(matches!(check_prefix(bad), Err(ApiError::Validation(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_warm_event_parses_with_its_query() {
        let event = get_event("r1", "/v1/stocks", &[("sector".into(), "Health Care".into())]);
        let request = lambda_http::request::from_str(&event).unwrap();
        use lambda_http::RequestExt;
        assert_eq!(request.query_string_parameters_ref().and_then(|q| q.first("sector")), Some("Health Care"));
        assert_eq!(request.method(), http::Method::GET);
    }
}
