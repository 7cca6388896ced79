//! The generic cell rate algorithm (GCRA) with reservations: the arithmetic of the per-provider
//! rate limits, with time passed in (milliseconds), so it is tested without clocks or sleeps.
//!
//! State is one number, the theoretical arrival time (TAT) of the next request. A request at
//! `now` may start at `max(now, TAT - tolerance)`; reserving moves TAT to `max(TAT, now) +
//! interval`. A caller therefore learns *how long to wait* and waits exactly that once (no polling);
//! when that wait is longer than it can afford, nothing is reserved and it is told when to retry.
//! The same arithmetic runs atomically inside Redis (a Lua script in `bourse-providers`) so that
//! every consumer instance shares one TAT per provider; `LocalGcra` is the per-instance fallback.

/// A rate: `per_second` requests per second with a burst of `burst` back-to-back requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Microseconds between requests at the sustained rate.
    pub interval_us: i64,
    /// How far ahead of its theoretical time a request may go: `(burst − 1) × interval`.
    pub tolerance_us: i64,
}

impl Rate {
    /// `per_second` > 0 and `burst` ≥ 1 (a burst of 1 spaces every request by the interval).
    pub fn new(per_second: f64, burst: u32) -> Rate {
        let per_second = if per_second.is_finite() && per_second > 0.0 { per_second } else { 1.0 };
        let interval_us = ((1_000_000.0 / per_second).ceil() as i64).max(1);
        Rate { interval_us, tolerance_us: interval_us * i64::from(burst.max(1) - 1) }
    }

    /// The same limit divided among `shares` independent instances (the fallback when the shared
    /// state is unreachable): each gets 80 % of `per_second / shares` and no burst. The 20 %
    /// headroom absorbs what uncoordinated instances cannot avoid: their slots are not phased
    /// against each other and their timers fire late by varying amounts.
    pub fn divided(self, shares: u32) -> Rate {
        Rate { interval_us: self.interval_us * i64::from(shares.max(1)) * 5 / 4, tolerance_us: 0 }
    }
}

/// The outcome of asking for one request slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved: start the request after `wait_us` (0 = now). `tat_us` is the new state.
    Granted { wait_us: i64, tat_us: i64 },
    /// Not reserved, the wait would have been `wait_us` (more than the caller could afford).
    Deferred { wait_us: i64 },
}

/// Asks for one slot at `now_us` given the stored `tat_us` (0 when none), accepting a wait of at
/// most `max_wait_us`.
pub fn reserve(rate: Rate, tat_us: i64, now_us: i64, max_wait_us: i64) -> Reservation {
    let tat = tat_us.max(now_us);
    let start = (tat - rate.tolerance_us).max(now_us);
    let wait_us = start - now_us;
    if wait_us > max_wait_us {
        return Reservation::Deferred { wait_us };
    }
    Reservation::Granted { wait_us, tat_us: tat + rate.interval_us }
}

/// A GCRA held in this process: the fallback when Redis is down.
#[derive(Debug)]
pub struct LocalGcra {
    rate: Rate,
    tat_us: std::sync::Mutex<i64>,
}

impl LocalGcra {
    pub fn new(rate: Rate) -> Self {
        LocalGcra { rate, tat_us: std::sync::Mutex::new(0) }
    }

    pub fn reserve(&self, now_us: i64, max_wait_us: i64) -> Reservation {
        let mut tat = self.tat_us.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let outcome = reserve(self.rate, *tat, now_us, max_wait_us);
        if let Reservation::Granted { tat_us, .. } = outcome {
            *tat = tat_us;
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1000;

    #[test]
    fn twenty_per_second_spaces_requests_fifty_ms_apart() {
        let rate = Rate::new(20.0, 1);
        assert_eq!(rate.interval_us, 50 * MS);
        let mut tat = 0;
        let mut starts = Vec::new();
        for _ in 0..5 {
            // Five callers arriving at the same instant (t = 1 s) learn staggered waits.
            let Reservation::Granted { wait_us, tat_us } = reserve(rate, tat, 1000 * MS, i64::MAX) else { panic!() };
            starts.push(1000 * MS + wait_us);
            tat = tat_us;
        }
        assert_eq!(starts, [1000 * MS, 1050 * MS, 1100 * MS, 1150 * MS, 1200 * MS]);
        // After a quiet period the state does not bank credit beyond the burst.
        assert_eq!(reserve(rate, tat, 5000 * MS, 0), Reservation::Granted { wait_us: 0, tat_us: 5050 * MS });
    }

    #[test]
    fn a_burst_may_go_at_once_then_the_rate_applies() {
        let rate = Rate::new(10.0, 3); // 100 ms interval, 200 ms tolerance
        let mut tat = 0;
        let mut waits = Vec::new();
        for _ in 0..5 {
            let Reservation::Granted { wait_us, tat_us } = reserve(rate, tat, 0, i64::MAX) else { panic!() };
            waits.push(wait_us / MS);
            tat = tat_us;
        }
        assert_eq!(waits, [0, 0, 0, 100, 200]);
    }

    #[test]
    fn a_wait_longer_than_affordable_reserves_nothing() {
        let rate = Rate::new(1.0, 1);
        let Reservation::Granted { tat_us, .. } = reserve(rate, 0, 0, 0) else { panic!() };
        assert_eq!(reserve(rate, tat_us, 0, 500 * MS), Reservation::Deferred { wait_us: 1000 * MS });
        // The state is unchanged by a deferral, so the next caller is not pushed back.
        assert_eq!(reserve(rate, tat_us, 1000 * MS, 0), Reservation::Granted { wait_us: 0, tat_us: 2000 * MS });
    }

    #[test]
    fn the_fallback_divides_the_limit_among_instances() {
        // 20/s over 10 instances: 2/s each, minus 20 % headroom: one request per 625 ms.
        let rate = Rate::new(20.0, 4).divided(10);
        assert_eq!(rate, Rate { interval_us: 625 * MS, tolerance_us: 0 });
        let local = LocalGcra::new(rate);
        assert!(matches!(local.reserve(0, 0), Reservation::Granted { wait_us: 0, .. }));
        assert_eq!(local.reserve(0, 0), Reservation::Deferred { wait_us: 625 * MS });
        assert!(matches!(local.reserve(0, 625 * MS), Reservation::Granted { wait_us: 625_000, .. }));
        assert_eq!(Rate::new(0.0, 0), Rate::new(1.0, 1), "nonsense rates fall back to 1/s");
    }
}
