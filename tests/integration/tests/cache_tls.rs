//! The cache over TLS, as deployed: the test profile's Redis speaks only TLS, with a certificate
//! from a throwaway CA that `CACHE_CA_FILE` names (dev/tls-material.sh).

use bourse_cache::{Cache, CacheError, CacheTrust};
use bourse_config::{CaBundle, CacheTimeouts, Config};
use bourse_integration_tests::{platform, repo_root, require_stack};
use std::path::PathBuf;
use std::time::Duration;

/// A handshake on a loaded 2-core machine running debug builds can take a while; the point of
/// these tests is what is refused, not how fast.
const TIMEOUTS: CacheTimeouts =
    CacheTimeouts { connect: Duration::from_secs(2), handshake: Duration::from_secs(5), command: Duration::from_secs(2) };

fn profile_config() -> Config {
    platform("cache-tls-tests").config.as_ref().clone()
}

/// A certificate authority of its own, which never signed the Redis certificate.
fn other_ca() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bourse-other-ca-{}", std::process::id()));
    let status =
        std::process::Command::new("bash").arg(repo_root().join("dev/tls-material.sh")).arg(&dir).status().expect("tls-material.sh runs");
    assert!(status.success());
    dir.join("ca.pem")
}

#[tokio::test]
async fn a_rediss_url_round_trips_a_value() {
    require_stack();
    let config = profile_config();
    let url = config.cache_url.clone().expect("the test profile sets CACHE_URL");
    assert!(url.tls(), "the test profile's cache is reached over TLS, like ElastiCache: {url:?}");
    let cache = Cache::from_config(&config).expect("a cache is configured");
    let key = format!("tls-round-trip:{}", std::process::id());
    cache.set(&key, b"over TLS", Duration::from_secs(30)).await;
    assert_eq!(cache.get(&key).await.as_deref(), Some(&b"over TLS"[..]));
    cache.delete(std::slice::from_ref(&key)).await.expect("delete over TLS");
    assert_eq!(cache.get(&key).await, None);
    cache.ping().await.expect("PING over TLS");
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    require_stack();
    let config = profile_config();
    let url = config.cache_url.clone().unwrap();
    // Trusting only another CA (of the same name, as a forged one would be): the server's
    // certificate does not verify.
    let trust = CacheTrust { bundle: CaBundle::new(Some(other_ca().display().to_string())), extra_ca_file: None };
    let cache = Cache::new(&url, TIMEOUTS, trust);
    let err = cache.ping().await.expect_err("a certificate from an untrusted CA must be refused");
    assert!(matches!(&err, CacheError::Tls(reason) if reason.contains("invalid peer certificate")), "{err}");
    assert_eq!(cache.get("anything").await, None, "a refused cache is a miss, never an error to the caller");
    let _ = std::fs::remove_dir_all(other_ca().parent().unwrap());
}

#[tokio::test]
async fn plain_text_is_not_spoken_by_the_tls_cache() {
    require_stack();
    let config = profile_config();
    let url = config.cache_url.clone().unwrap();
    let plain = bourse_config::CacheUrl::parse("CACHE_URL", &format!("redis://{}:{}", url.host(), url.port())).unwrap();
    let cache = Cache::new(&plain, TIMEOUTS, CacheTrust::default());
    assert!(cache.ping().await.is_err(), "a plain-text client gets no answer from a TLS-only Redis");
}
