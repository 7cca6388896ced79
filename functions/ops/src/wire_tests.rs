//! Every answer of the ops function against its schema in `openapi.yaml` (tag `ops`).

use crate::wire::*;
use bourse_http::Page;
use bourse_http::schema_check::OpenApi;
use serde::Serialize;
use serde_json::Value;

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

fn samples() -> Vec<(&'static str, u16, Value)> {
    let server = ServerStats {
        engine_version: "8.0.1".into(),
        uptime_seconds: 3600,
        connected_clients: 12,
        used_memory_bytes: 2_097_152,
        maxmemory_bytes: 0,
        keyspace_hits: 900,
        keyspace_misses: 100,
        hit_ratio: Some(0.9),
        evicted_keys: 0,
        expired_keys: 40,
        keys: 560,
    };
    let fresh = ServerStats { keyspace_hits: 0, keyspace_misses: 0, hit_ratio: None, ..server.clone() };
    let stats = CacheStats {
        server,
        prefixes: Page::all(vec![
            PrefixCount { prefix: "bourse:screener:".into(), keys: 550 },
            PrefixCount { prefix: "auth:session:".into(), keys: 10 },
        ]),
        scanned_keys: 560,
        scan_complete: true,
    };
    let empty = CacheStats { server: fresh, prefixes: Page::all(vec![]), scanned_keys: 0, scan_complete: true };
    vec![
        ("adminCacheStats", 200, json(&stats)),
        ("adminCacheStats", 200, json(&empty)),
        ("adminCacheClear", 200, json(&Cleared { prefix: "bourse:screener:".into(), deleted: 550 })),
        (
            "adminCacheWarm",
            200,
            json(&Warmed { universe_version: 7, stocks: 541, requests: 574, computed: 570, already_cached: 4, failed: 0, took_ms: 1900 }),
        ),
    ]
}

#[test]
fn every_answer_matches_its_schema() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples(&samples());
}

#[test]
fn every_documented_answer_has_a_sample() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples_cover(&["ops"], &samples());
}
