//! How long to wait before retrying: the one backoff policy of Bourse, with a preset per kind of
//! retry. Exponential with "equal jitter": retry `n` waits between half and all of
//! `min(cap, base × 2ⁿ)`, so colliding writers spread out and the total wait stays bounded.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's wait.
    pub base: Duration,
    /// The largest ceiling.
    pub cap: Duration,
}

/// Between attempts of an optimistic read-modify-write that another writer raced: 5, 10, 20 …
/// ms, at most 200.
pub const RACED: Backoff = Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(200) };
/// Before resending what DynamoDB left unprocessed (throttling): 100, 200, 400 … ms, at most 1 s.
pub const THROTTLED: Backoff = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(1) };
/// While another writer holds a lease (e.g. the universe publisher's 30 s one): 100, 200, then
/// 400–800 ms.
pub const LEASE_HELD: Backoff = Backoff { base: Duration::from_millis(200), cap: Duration::from_millis(800) };
/// Between attempts of a market-data provider that failed transiently: 100 ms … 2 s.
pub const PROVIDER: Backoff = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(2) };

impl Backoff {
    /// The ceiling of retry `attempt` (0 = the first retry).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.base.saturating_mul(1u32 << attempt.min(16)).min(self.cap)
    }

    /// The wait before retry `attempt`, `random` choosing within [ceiling / 2, ceiling].
    pub fn delay(&self, attempt: u32, random: u64) -> Duration {
        let ceiling = self.ceiling(attempt).as_micros() as u64;
        let half = ceiling / 2;
        Duration::from_micros(half + random % (ceiling - half + 1))
    }

    /// The wait before retry `attempt`, jittered by the OS generator. Jitter needs no secrecy:
    /// should the generator fail, the wait is the ceiling.
    pub fn delay_now(&self, attempt: u32) -> Duration {
        match crate::random::bytes::<8>(&crate::random::OsRandom) {
            Ok(bytes) => self.delay(attempt, u64::from_le_bytes(bytes)),
            Err(_) => self.ceiling(attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_stay_between_half_and_all_of_the_ceiling() {
        assert_eq!(THROTTLED.ceiling(0), Duration::from_millis(100));
        assert_eq!(THROTTLED.ceiling(3), Duration::from_millis(800));
        assert_eq!(THROTTLED.ceiling(4), Duration::from_secs(1));
        assert_eq!(THROTTLED.ceiling(u32::MAX), Duration::from_secs(1));
        for attempt in 0..20 {
            let ceiling = RACED.ceiling(attempt);
            for random in [0, 1, 7, 999, u64::MAX] {
                let wait = RACED.delay(attempt, random);
                assert!(wait >= ceiling / 2 && wait <= ceiling, "{wait:?} for retry {attempt}");
            }
        }
        assert_eq!(PROVIDER.delay(0, 0), Duration::from_millis(50));
        assert_eq!(PROVIDER.delay(0, 50_000), Duration::from_millis(100));
        let samples: std::collections::HashSet<_> = (0..20).map(|_| PROVIDER.delay_now(5)).collect();
        assert!(samples.len() > 1, "jittered");
    }
}
