//! Time, injected: code that depends on "now" takes a [`Clock`], so expiry, quota reset and
//! lock-out windows are tested by moving a [`ManualClock`], never by sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as Unix epoch seconds (UTC).
pub trait Clock: std::fmt::Debug + Send + Sync {
    fn now(&self) -> i64;

    /// The current time as Unix epoch milliseconds.
    fn now_ms(&self) -> i64 {
        self.now().saturating_mul(1000)
    }

    /// The current time as a UTC date-time, to the millisecond.
    fn now_utc(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.now_ms()) * 1_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }

    fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }
}

/// A clock tests set and advance.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(epoch_seconds: i64) -> Self {
        ManualClock(AtomicI64::new(epoch_seconds))
    }

    pub fn set(&self, epoch_seconds: i64) {
        self.0.store(epoch_seconds, Ordering::SeqCst);
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// `epoch` as a UTC date-time (the epoch itself for seconds beyond the year 9999, which no clock
/// of ours reaches).
fn at(epoch: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(epoch).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// The UTC calendar day of `epoch` as `YYYY-MM-DD`.
pub fn utc_date(epoch: i64) -> String {
    at(epoch).date().to_string()
}

/// The epoch second at which the UTC day containing `epoch` ends (next midnight).
pub fn next_utc_midnight(epoch: i64) -> i64 {
    (epoch.div_euclid(DAY) + 1) * DAY
}

/// `epoch` as RFC 3339 UTC, e.g. `2026-11-25T21:30:00Z` ([`crate::text::rfc3339`]).
pub fn rfc3339(epoch: i64) -> String {
    crate::text::rfc3339(at(epoch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_midnight_is_the_next_day() {
        let t = 1_795_642_200; // 2026-11-25T21:30:00Z
        assert_eq!(utc_date(t), "2026-11-25");
        assert_eq!(rfc3339(t), "2026-11-25T21:30:00Z");
        assert_eq!(utc_date(next_utc_midnight(t)), "2026-11-26");
        assert_eq!(next_utc_midnight(t) - t, 2 * 3600 + 30 * 60);
    }

    /// Milliseconds and seconds of one clock agree (the idempotency lease reads one, the rest of
    /// the platform the other).
    #[test]
    fn both_clocks_give_milliseconds_that_agree_with_their_seconds() {
        let system = SystemClock;
        let (seconds, millis) = (system.now(), system.now_ms());
        assert!(millis / 1000 - seconds <= 1 && millis / 1000 >= seconds, "{seconds} s vs {millis} ms");
        let manual = ManualClock::new(1_795_642_200);
        manual.advance(61);
        assert_eq!(manual.now_ms(), (1_795_642_200 + 61) * 1000);
        assert_eq!(manual.now_utc().unix_timestamp(), 1_795_642_200 + 61);
        assert!((system.now_utc().unix_timestamp() - system.now()).abs() <= 1);
    }
}
