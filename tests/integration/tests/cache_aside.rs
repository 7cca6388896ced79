//! Cache-aside against the real Redis, with a slow reader and a writer interleaved
//! deterministically (the reader's computation waits on a signal the test gives): what a write
//! replaced is never put back, a stale "active" never overwrites "revoked", and a stale entry is
//! refreshed by one caller while the others are served it.

use bourse_cache::Cache;
use bourse_integration_tests::platform;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;

fn cache() -> Arc<Cache> {
    platform("cache-aside-tests").cache.clone().expect("the test profile sets CACHE_URL")
}

fn unique(name: &str) -> (String, String) {
    let tag = bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap();
    (format!("test:{{{tag}}}:{name}"), format!("test:{{{tag}}}:generation"))
}

/// A reader computes from the data before a write; the write invalidates while the reader is
/// still computing; the reader finishes. The next read must compute again and see the write.
#[tokio::test]
async fn a_slow_reader_never_puts_back_what_a_write_replaced() {
    let cache = cache();
    let (key, guard) = unique("summary");
    let ttl = Duration::from_secs(60);
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let (finish_tx, finish_rx) = oneshot::channel::<()>();
    let reader = {
        let (cache, key, guard) = (cache.clone(), key.clone(), guard.clone());
        tokio::spawn(async move {
            cache
                .get_or_compute_guarded(&key, &guard, ttl, || async move {
                    // Read the data (the old value), then stall until the write has happened.
                    let old = b"before the write".to_vec();
                    started_tx.send(()).unwrap();
                    finish_rx.await.unwrap();
                    Ok::<_, ()>(old)
                })
                .await
        })
    };
    started_rx.await.unwrap();
    // The writer: the data changes, then the entry is invalidated.
    cache.invalidate_guarded(&guard, std::slice::from_ref(&key)).await.unwrap();
    finish_tx.send(()).unwrap();
    assert_eq!(reader.await.unwrap().unwrap(), b"before the write", "the slow reader answers what it read");
    let computed = AtomicU32::new(0);
    let next = cache
        .get_or_compute_guarded(&key, &guard, ttl, || async {
            computed.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(b"after the write".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(next, b"after the write", "the next read reflects the write");
    assert_eq!(computed.load(Ordering::SeqCst), 1, "it was not served from the cache");
    // And what it computed (after the write) is cached.
    let again = cache.get_or_compute_guarded(&key, &guard, ttl, || async { Ok::<_, ()>(b"unused".to_vec()) }).await.unwrap();
    assert_eq!(again, b"after the write");
}

/// Without a write in between, a computed entry is stored and served (the guard does not turn
/// every read into a miss).
#[tokio::test]
async fn without_a_write_the_computed_entry_is_served() {
    let cache = cache();
    let (key, guard) = unique("holdings");
    let computed = AtomicU32::new(0);
    for _ in 0..3 {
        let value = cache
            .get_or_compute_guarded(&key, &guard, Duration::from_secs(60), || async {
                computed.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(b"v".to_vec())
            })
            .await
            .unwrap();
        assert_eq!(value, b"v");
    }
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    // A write bumps the guard: the same holds after it.
    cache.invalidate_guarded(&guard, std::slice::from_ref(&key)).await.unwrap();
    for _ in 0..2 {
        cache
            .get_or_compute_guarded(&key, &guard, Duration::from_secs(60), || async {
                computed.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(b"w".to_vec())
            })
            .await
            .unwrap();
    }
    assert_eq!(computed.load(Ordering::SeqCst), 2);
}

/// A session check that read "active" before a logout caches it only if nothing is cached: the
/// logout's "revoked" stays.
#[tokio::test]
async fn a_stale_active_never_overwrites_revoked() {
    let cache = cache();
    let (key, _) = unique("session");
    cache.set(&key, b"revoked", Duration::from_secs(60)).await;
    cache.set_if_absent(&key, b"active", Duration::from_secs(60)).await;
    assert_eq!(cache.get(&key).await.as_deref(), Some(&b"revoked"[..]));
    let (empty, _) = unique("session");
    cache.set_if_absent(&empty, b"active", Duration::from_secs(60)).await;
    assert_eq!(cache.get(&empty).await.as_deref(), Some(&b"active"[..]));
}

/// A stale entry (past its TTL, within its grace) is refreshed by exactly one caller, under the
/// lock, while a concurrent caller is served the stale value without computing.
#[tokio::test]
async fn a_stale_entry_is_served_while_one_caller_refreshes_it() {
    let cache = cache();
    let (key, guard) = unique("stale");
    let ttl = Duration::from_secs(1);
    cache.get_or_compute_guarded(&key, &guard, ttl, || async { Ok::<_, ()>(b"old".to_vec()) }).await.unwrap();
    // Past the fresh period (1 s) and within the grace (another 1 s): wait on the clock the entry
    // is stamped with, not on a guess.
    let fresh_until = std::time::SystemTime::now() + ttl + Duration::from_millis(50);
    while std::time::SystemTime::now() < fresh_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let (finish_tx, finish_rx) = oneshot::channel::<()>();
    let refresher = {
        let (cache, key, guard) = (cache.clone(), key.clone(), guard.clone());
        tokio::spawn(async move {
            cache
                .get_or_compute_guarded(&key, &guard, ttl, || async move {
                    started_tx.send(()).unwrap();
                    finish_rx.await.unwrap();
                    Ok::<_, ()>(b"new".to_vec())
                })
                .await
        })
    };
    started_rx.await.unwrap();
    let computed = AtomicU32::new(0);
    let served = cache
        .get_or_compute_guarded(&key, &guard, ttl, || async {
            computed.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(b"second refresh".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(served, b"old", "served stale while another caller refreshes");
    assert_eq!(computed.load(Ordering::SeqCst), 0);
    finish_tx.send(()).unwrap();
    assert_eq!(refresher.await.unwrap().unwrap(), b"new");
    let after = cache.get_or_compute_guarded(&key, &guard, ttl, || async { Ok::<_, ()>(b"unused".to_vec()) }).await.unwrap();
    assert_eq!(after, b"new");
}
