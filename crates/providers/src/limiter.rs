//! Per-provider rate limits shared by every consumer instance: GCRA (`bourse_domain::gcra`) run
//! atomically in Redis by a Lua script, one key per provider (`bourse:ratelimit:<provider>`), on
//! Redis's own clock (`TIME`), so concurrent instances on different machines draw from one budget.
//! A caller learns how long to wait and waits exactly that (one timer); when the wait is longer
//! than it can afford, nothing is reserved and the message goes back to SQS.
//!
//! With Redis down (error, timeout or open breaker), each instance falls back to a local GCRA
//! allowing 80 % of the provider's rate divided by the event-source mapping's maximum
//! concurrency, so the instances together still stay under the provider's limit.

use bourse_cache::Cache;
use bourse_domain::gcra::{LocalGcra, Rate, Reservation};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// GCRA with reservation, atomically. KEYS[1] = the provider's key; ARGV = interval µs,
/// tolerance µs, longest affordable wait µs. Returns {1, wait µs} when reserved, {0, wait µs}
/// when the wait would be longer than affordable (nothing reserved). Mirrors
/// `bourse_domain::gcra::reserve`.
pub const GCRA_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local start = tat - tolerance
if start < now then start = now end
local wait = start - now
if wait > max_wait then return {0, wait} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1000)
return {1, wait}
"#;

/// Key prefix of the shared limiter state.
pub const KEY_PREFIX: &str = "bourse:ratelimit:";

struct Limit {
    shared: Rate,
    local: LocalGcra,
}

pub struct RateLimiter {
    cache: Option<Arc<Cache>>,
    limits: HashMap<String, Limit>,
    origin: Instant,
}

impl RateLimiter {
    /// `limits`: (provider, requests per second). Burst 1: requests are spaced evenly, which is
    /// what providers' per-second limits enforce.
    pub fn new(cache: Option<Arc<Cache>>, limits: &[(String, u32)], max_concurrency: u32) -> Self {
        let limits = limits
            .iter()
            .map(|(name, per_second)| {
                let shared = Rate::new(f64::from(*per_second), 1);
                (name.clone(), Limit { shared, local: LocalGcra::new(shared.divided(max_concurrency)) })
            })
            .collect();
        RateLimiter { cache, limits, origin: Instant::now() }
    }

    /// Reserves one request of `provider`: `Ok(wait)` to wait before sending, or `Err(wait)` when
    /// the wait would exceed `affordable` (nothing reserved). Providers without a limit go at once.
    pub async fn reserve(&self, provider: &str, affordable: Duration) -> Result<Duration, Duration> {
        let Some(limit) = self.limits.get(provider) else { return Ok(Duration::ZERO) };
        let max_wait_us = affordable.as_micros().min(i64::MAX as u128) as i64;
        if let Some(cache) = &self.cache {
            let key = format!("{KEY_PREFIX}{provider}");
            match cache.eval_integers(GCRA_SCRIPT, &[&key], &[limit.shared.interval_us, limit.shared.tolerance_us, max_wait_us]).await {
                Ok(answer) if answer.len() == 2 => {
                    let wait = Duration::from_micros(answer[1].max(0) as u64);
                    return if answer[0] == 1 { Ok(wait) } else { Err(wait) };
                }
                Ok(other) => tracing::warn!(?other, "rate-limit script answered unexpectedly; using the local limit"),
                Err(err) => tracing::warn!(error = %err, provider, "shared rate limit unavailable; using the conservative local limit"),
            }
        }
        let now_us = self.origin.elapsed().as_micros() as i64;
        match limit.local.reserve(now_us, max_wait_us) {
            Reservation::Granted { wait_us, .. } => Ok(Duration::from_micros(wait_us as u64)),
            Reservation::Deferred { wait_us } => Err(Duration::from_micros(wait_us as u64)),
        }
    }
}
