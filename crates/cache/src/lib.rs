//! The cache (ElastiCache, Redis protocol). Never the system of record: every read may miss, and
//! every failure is swallowed into a miss so callers fall back to DynamoDB.
//!
//! A dead or slow cache must cost milliseconds, not seconds: the connect, the (TLS and Redis)
//! handshake and every command are bounded by their own timeouts, and after a failure a circuit
//! breaker skips the cache entirely for [`BREAKER_COOLDOWN`] before one request tries it again.
//! The connection is opened on first use and shared (multiplexed) by concurrent requests.

mod connect;
pub mod ops;

pub use connect::CacheTrust;

use bourse_config::{CacheTimeouts, CacheUrl, Config};
use bourse_telemetry::{CacheOutcome, record_cache};
use connect::Connector;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The published universe version (written by the publisher, read by every screener instance).
pub const UNIVERSE_VERSION_KEY: &str = "bourse:universe:version";

/// How long the cache is skipped after it failed.
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache {step} took longer than {millis} ms")]
    Timeout { step: &'static str, millis: u128 },
    #[error("cache connect failed: {0}")]
    Connect(std::io::Error),
    #[error("cache TLS failed: {0}")]
    Tls(String),
    #[error("cache skipped for a moment after a failure")]
    CircuitOpen,
    #[error("cache failed: {0}")]
    Redis(#[from] redis::RedisError),
}

pub struct Cache {
    connector: Connector,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    skip_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("timeouts", &self.connector.timeouts()).finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache at `url`; does not connect (no I/O until the first command).
    pub fn new(url: &CacheUrl, timeouts: CacheTimeouts, trust: CacheTrust) -> Self {
        Cache {
            connector: Connector::new(url.clone(), timeouts, trust),
            connection: tokio::sync::Mutex::new(None),
            skip_until: Mutex::new(None),
        }
    }

    /// The cache the configuration names (`CACHE_URL`, its timeouts and trust), or `None` when
    /// `CACHE_URL` is unset.
    pub fn from_config(config: &Config) -> Option<Self> {
        let trust = CacheTrust { bundle: config.ca_bundle.clone(), extra_ca_file: config.cache_ca_file.clone() };
        config.cache_url.as_ref().map(|url| Cache::new(url, config.cache_timeouts, trust))
    }

    /// The value at `key`, or `None` on a miss or any failure (counted as hit, miss or error).
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let result: Result<Option<Vec<u8>>, CacheError> = self.run(|mut c| async move { c.get(key).await }).await;
        match result {
            Ok(Some(value)) => {
                record_cache(CacheOutcome::Hit);
                Some(value)
            }
            Ok(None) => {
                record_cache(CacheOutcome::Miss);
                None
            }
            Err(err) => {
                record_cache(CacheOutcome::Error);
                tracing::warn!(error = %err, key, "cache read failed; serving from the system of record");
                None
            }
        }
    }

    /// Stores `value` for `ttl`; failures are logged and otherwise ignored.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) {
        let seconds = ttl.as_secs().max(1);
        let result: Result<(), CacheError> = self.run(|mut c| async move { c.set_ex(key, value, seconds).await }).await;
        if let Err(err) = result {
            tracing::warn!(error = %err, key, "cache write failed");
        }
    }

    /// Deletes keys (invalidation). Returns the failure so a writer can decide what to do; the
    /// TTL bounds staleness when it cannot reach the cache.
    pub async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.run(|mut c| async move { c.del(keys).await }).await
    }

    /// Cache-aside with stampede protection. A fresh value is served as is. A stale one (past
    /// `ttl` but within its grace period of another `ttl`) is recomputed by exactly one caller,
    /// the one that wins a short `SET NX` lock, while the others keep serving the stale value. A
    /// missing value is computed by the caller. With the cache down, every call computes.
    pub async fn get_or_compute<E, Fut>(&self, key: &str, ttl: Duration, compute: impl FnOnce() -> Fut) -> Result<Vec<u8>, E>
    where
        Fut: Future<Output = Result<Vec<u8>, E>>,
    {
        let now = epoch_millis();
        if let Some(envelope) = self.get(key).await
            && let Some((fresh_until, payload)) = open_envelope(&envelope)
        {
            if fresh_until > now {
                return Ok(payload.to_vec());
            }
            if !self.try_lock(key).await {
                return Ok(payload.to_vec());
            }
        }
        let value = compute().await?;
        let envelope = seal_envelope(now + ttl.as_millis() as u64, &value);
        self.set(key, &envelope, ttl * 2).await;
        let _ = self.delete(&[lock_key(key)]).await;
        Ok(value)
    }

    /// [`Cache::get_or_compute`] for an entry whose writers invalidate it with
    /// [`Cache::invalidate_guarded`]. The guard (a generation counter every write bumps) is read
    /// with the entry, in one MGET, before computing; the computed value is stored only if the
    /// guard is unchanged (one EVAL, atomic). So a reader that computed before a write — or read
    /// what the write replaced — can never put the old value back after the write's invalidation.
    /// `key` and `guard` must share a hash tag (`{…}`) so the script touches one slot.
    pub async fn get_or_compute_guarded<E, Fut>(
        &self,
        key: &str,
        guard: &str,
        ttl: Duration,
        compute: impl FnOnce() -> Fut,
    ) -> Result<Vec<u8>, E>
    where
        Fut: Future<Output = Result<Vec<u8>, E>>,
    {
        let now = epoch_millis();
        let read: Result<(Option<Vec<u8>>, Option<String>), CacheError> =
            self.run(|mut c| async move { redis::cmd("MGET").arg(key).arg(guard).query_async(&mut c).await }).await;
        let generation = match read {
            Ok((entry, generation)) => {
                record_cache(if entry.is_some() { CacheOutcome::Hit } else { CacheOutcome::Miss });
                if let Some((fresh_until, payload)) = entry.as_deref().and_then(open_envelope)
                    && (fresh_until > now || !self.try_lock(key).await)
                {
                    return Ok(payload.to_vec());
                }
                Some(generation.unwrap_or_default())
            }
            Err(err) => {
                record_cache(CacheOutcome::Error);
                tracing::warn!(error = %err, key, "cache read failed; serving from the system of record");
                None
            }
        };
        let value = compute().await?;
        // Nothing is stored when the guard could not be read: the write it might have missed is
        // unknown.
        if let Some(generation) = generation {
            let envelope = seal_envelope(now + ttl.as_millis() as u64, &value);
            let stored: Result<i64, CacheError> = self
                .run(|mut c| async move {
                    redis::cmd("EVAL")
                        .arg(SET_IF_GENERATION)
                        .arg(2)
                        .arg(key)
                        .arg(guard)
                        .arg(&envelope)
                        .arg((ttl * 2).as_millis() as u64)
                        .arg(&generation)
                        .query_async(&mut c)
                        .await
                })
                .await;
            match stored {
                Ok(0) => tracing::info!(key, "a write invalidated the entry while it was computed; not stored"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, key, "cache write failed"),
            }
            let _ = self.delete(&[lock_key(key)]).await;
        }
        Ok(value)
    }

    /// The generation a guard of [`Cache::invalidate_guarded`] holds ("" before its first bump),
    /// or the failure: a caller keying entries by generation must not mistake an unreachable
    /// cache for a guard never bumped.
    pub async fn generation(&self, guard: &str) -> Result<String, CacheError> {
        let read: Result<Option<String>, CacheError> =
            self.run(|mut c| async move { redis::cmd("GET").arg(guard).query_async(&mut c).await }).await;
        read.map(Option::unwrap_or_default)
    }

    /// Invalidates entries read with [`Cache::get_or_compute_guarded`]: bumps their guard and
    /// deletes them, atomically (one EVAL). The guard lives [`GUARD_TTL`], far longer than any
    /// entry or computation.
    pub async fn invalidate_guarded(&self, guard: &str, keys: &[String]) -> Result<(), CacheError> {
        self.run(|mut c| async move {
            let mut command = redis::cmd("EVAL");
            command.arg(BUMP_AND_DELETE).arg(1 + keys.len()).arg(guard).arg(keys).arg(GUARD_TTL.as_millis() as u64);
            command.query_async::<i64>(&mut c).await.map(|_| ())
        })
        .await
    }

    /// Stores `value` only when `key` holds nothing (`SET NX`): for an entry that a concurrent
    /// writer's value must win over (a stale "active" never overwrites "revoked").
    pub async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) {
        let millis = ttl.as_millis().max(1) as u64;
        let result: Result<Option<String>, CacheError> = self
            .run(|mut c| async move { redis::cmd("SET").arg(key).arg(value).arg("NX").arg("PX").arg(millis).query_async(&mut c).await })
            .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, key, "cache write failed");
        }
    }

    /// A short lock so one caller refreshes a stale key. False when another holds it or the cache
    /// failed (then the stale value is served).
    async fn try_lock(&self, key: &str) -> bool {
        let lock = lock_key(key);
        let acquired: Result<Option<String>, CacheError> = self
            .run(|mut c| async move { redis::cmd("SET").arg(&lock).arg(1).arg("NX").arg("PX").arg(LOCK_MILLIS).query_async(&mut c).await })
            .await;
        matches!(acquired, Ok(Some(_)))
    }

    /// Runs a Lua script with `EVAL` (atomic in Redis) and returns its array of integers. Bounded
    /// by the timeout and the breaker like every command; the caller decides what a failure means
    /// (the rate limiter falls back to a local limit).
    pub async fn eval_integers(&self, script: &str, keys: &[&str], args: &[i64]) -> Result<Vec<i64>, CacheError> {
        self.run(|mut c| async move {
            let mut command = redis::cmd("EVAL");
            command.arg(script).arg(keys.len()).arg(keys).arg(args);
            command.query_async(&mut c).await
        })
        .await
    }

    /// A PING that ignores the breaker: the health endpoint wants the truth now.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut connection = self.connect().await?;
        let pong: Result<String, CacheError> = self.bounded(async { redis::cmd("PING").query_async(&mut connection).await }).await;
        if pong.is_err() {
            self.trip().await;
        }
        pong.map(|_| ())
    }

    async fn run<T, F, Fut>(&self, command: F) -> Result<T, CacheError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.breaker_open() {
            return Err(CacheError::CircuitOpen);
        }
        let connection = self.connect().await?;
        let result = self.bounded(command(connection)).await;
        if result.is_err() {
            self.trip().await;
        }
        result
    }

    async fn connect(&self) -> Result<MultiplexedConnection, CacheError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connected = self.connector.connect().await;
        match connected {
            Ok(connection) => {
                *slot = Some(connection.clone());
                Ok(connection)
            }
            Err(err) => {
                drop(slot);
                self.trip().await;
                Err(err)
            }
        }
    }

    async fn bounded<T>(&self, work: impl Future<Output = redis::RedisResult<T>>) -> Result<T, CacheError> {
        let limit = self.connector.timeouts().command;
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result.map_err(CacheError::from),
            Err(_) => Err(CacheError::Timeout { step: "command", millis: limit.as_millis() }),
        }
    }

    fn breaker_open(&self) -> bool {
        let mut skip = self.skip_until.lock().unwrap_or_else(|p| p.into_inner());
        match *skip {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                *skip = None;
                false
            }
            None => false,
        }
    }

    /// Opens the breaker and drops the connection so the next try reconnects.
    async fn trip(&self) {
        *self.skip_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + BREAKER_COOLDOWN);
        *self.connection.lock().await = None;
    }
}

/// How long a guard (generation counter) lives after its last bump.
pub const GUARD_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// KEYS: entry, guard. ARGV: envelope, TTL in ms, the generation read before computing ("" when
/// there was none). Stores the entry only if the guard still holds that generation.
const SET_IF_GENERATION: &str = r"
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1";

/// KEYS: guard, then the entries. ARGV: the guard's TTL in ms. Bumps the guard, deletes the entries.
const BUMP_AND_DELETE: &str = r"
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return 1";

/// How long a refresh lock lives if its holder dies before releasing it.
const LOCK_MILLIS: u64 = 10_000;

fn lock_key(key: &str) -> String {
    format!("{key}:refresh-lock")
}

fn epoch_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// `fresh until` (epoch ms, big-endian) followed by the payload.
fn seal_envelope(fresh_until: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&fresh_until.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn open_envelope(envelope: &[u8]) -> Option<(u64, &[u8])> {
    let (head, payload) = envelope.split_at_checked(8)?;
    Some((u64::from_be_bytes(head.try_into().ok()?), payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port nothing listens on: connect is refused at once.
    fn dead_cache() -> Cache {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = CacheUrl::parse("CACHE_URL", &format!("rediss://127.0.0.1:{port}")).unwrap();
        Cache::new(&url, TIMEOUTS, CacheTrust::default())
    }

    const TIMEOUTS: CacheTimeouts =
        CacheTimeouts { connect: Duration::from_millis(50), handshake: Duration::from_millis(200), command: Duration::from_millis(50) };

    /// A server that accepts TCP connections and never answers: the handshake must time out.
    #[tokio::test(flavor = "current_thread")]
    async fn a_silent_server_costs_the_handshake_timeout_not_more() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        for scheme in ["rediss", "redis"] {
            let url = CacheUrl::parse("CACHE_URL", &format!("{scheme}://127.0.0.1:{port}")).unwrap();
            let cache = Cache::new(&url, TIMEOUTS, CacheTrust::default());
            let started = Instant::now();
            let err = cache.ping().await.unwrap_err();
            assert!(matches!(err, CacheError::Timeout { step: "handshake", .. }), "{scheme}: {err}");
            assert!(started.elapsed() < Duration::from_millis(1000), "{scheme}: took {:?}", started.elapsed());
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unreadable_ca_file_is_named() {
        let url = CacheUrl::parse("CACHE_URL", "rediss://127.0.0.1:1").unwrap();
        let trust = CacheTrust { extra_ca_file: Some("/nonexistent/ca.pem".into()), ..CacheTrust::default() };
        let err = connect::Connector::new(url, TIMEOUTS, trust).tls_error_for_tests();
        assert!(err.contains("CACHE_CA_FILE /nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn envelopes_round_trip() {
        let sealed = seal_envelope(42, b"payload");
        assert_eq!(open_envelope(&sealed), Some((42, &b"payload"[..])));
        assert_eq!(open_envelope(b"short"), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn with_the_cache_down_every_call_computes() {
        let cache = dead_cache();
        for _ in 0..2 {
            let value: Result<Vec<u8>, ()> = cache.get_or_compute("k", Duration::from_secs(5), || async { Ok(b"v".to_vec()) }).await;
            assert_eq!(value.unwrap(), b"v");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_dead_cache_is_a_miss_and_then_skipped() {
        let cache = dead_cache();
        let ((first, second), counted) = bourse_telemetry::measured(async {
            let first = cache.get("k").await;
            let started = Instant::now();
            let second = cache.get("k").await;
            assert!(started.elapsed() < Duration::from_millis(5), "breaker should skip the cache");
            (first, second)
        })
        .await;
        assert_eq!((first, second), (None, None));
        assert_eq!(counted.cache_errors, 2);
        assert!(matches!(cache.delete(&["k".into()]).await, Err(CacheError::CircuitOpen)));
        assert!(cache.ping().await.is_err());
    }
}
