//! The admin routes' answers (documented in `openapi.yaml`, tag `ops`; checked by `wire_tests.rs`).

use bourse_http::Page;
use serde::Serialize;

/// `GET /v1/admin/cache/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStats {
    pub server: ServerStats,
    /// Keys by prefix (their first two `:`-separated parts), from one SCAN walk.
    pub prefixes: Page<PrefixCount>,
    pub scanned_keys: u64,
    /// False when the walk stopped at its limit before the end of the keyspace.
    pub scan_complete: bool,
}

/// What the server's `INFO` says: every function's traffic since the server started.
#[derive(Debug, Clone, Serialize)]
pub struct ServerStats {
    pub engine_version: String,
    pub uptime_seconds: u64,
    pub connected_clients: u64,
    pub used_memory_bytes: u64,
    pub maxmemory_bytes: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// hits ÷ (hits + misses); absent before any read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hit_ratio: Option<f64>,
    pub evicted_keys: u64,
    pub expired_keys: u64,
    pub keys: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrefixCount {
    pub prefix: String,
    pub keys: u64,
}

/// `POST /v1/admin/cache/clear`.
#[derive(Debug, Clone, Serialize)]
pub struct Cleared {
    pub prefix: String,
    pub deleted: u64,
}

/// `POST /v1/admin/cache/warm`.
#[derive(Debug, Clone, Serialize)]
pub struct Warmed {
    /// The published universe version the entries were computed at (now also the cached version).
    pub universe_version: u64,
    pub stocks: usize,
    /// Public reads run through the screener's handlers.
    pub requests: usize,
    /// Entries computed and stored (they were missing or stale).
    pub computed: u64,
    /// Entries that were already cached.
    pub already_cached: u64,
    /// Reads that did not answer 200 (named in the log).
    pub failed: usize,
    pub took_ms: u64,
}
