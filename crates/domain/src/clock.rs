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

/// The UTC calendar day of `epoch` as `YYYY-MM-DD`.
pub fn utc_date(epoch: i64) -> String {
    let (y, m, d) = civil_from_days(epoch.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The epoch second at which the UTC day containing `epoch` ends (next midnight).
pub fn next_utc_midnight(epoch: i64) -> i64 {
    (epoch.div_euclid(DAY) + 1) * DAY
}

/// Parses `YYYY-MM-DD` into the epoch second of that day's UTC midnight.
pub fn parse_utc_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let y: i64 = text[0..4].parse().ok()?;
    let m: u32 = text[5..7].parse().ok()?;
    let d: u32 = text[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) * DAY)
}

/// `epoch` as RFC 3339 UTC, e.g. `2026-11-25T21:30:00Z`.
pub fn rfc3339(epoch: i64) -> String {
    let secs = epoch.rem_euclid(DAY);
    format!("{}T{:02}:{:02}:{:02}Z", utc_date(epoch), secs / 3600, (secs % 3600) / 60, secs % 60)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian, exact for all i64 days in range).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
        assert_eq!(parse_utc_date("2026-11-25"), Some(t - t % DAY));
        assert_eq!(utc_date(parse_utc_date("2024-02-29").unwrap()), "2024-02-29");
        for bad in ["2025-02-29", "2026-13-01", "2026-1-01", "tomorrow", "2026-11-25T00"] {
            assert_eq!(parse_utc_date(bad), None, "{bad}");
        }
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
