//! Waiting between optimistic-concurrency retries, written once for every read-modify-write loop
//! (portfolio holdings, journal statistics).

use std::time::Duration;

/// Jittered exponential backoff between optimistic-concurrency retries: 5, 10, 20 … ms (max 200),
/// plus up to as much again at random so colliding writers spread out.
pub async fn backoff(attempt: u32) {
    let base = (5u64 << attempt.min(5)).min(200);
    let jitter = u64::from_str_radix(&bourse_http::random_id()[..4], 16).unwrap_or(0) % base;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}
