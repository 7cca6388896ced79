//! Plans and their daily quotas of authenticated requests, counted per UTC day.

use crate::clock::next_utc_midnight;
use serde::Serialize;

/// A subscription plan. Unknown names (e.g. from an old token) fall back to the smallest plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
}

impl Plan {
    pub fn parse(name: &str) -> Plan {
        match name {
            "pro" => Plan::Pro,
            _ => Plan::Free,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
        }
    }

    /// Most symbols one enrichment job of this plan may name (each costs provider requests).
    pub fn max_job_symbols(self) -> usize {
        match self {
            Plan::Free => 25,
            Plan::Pro => crate::jobs::MAX_JOB_SYMBOLS,
        }
    }

    /// Whether the plan may refresh the whole universe (`universe: true`: ≈ 500 provider requests
    /// shared by every user, so not for free accounts).
    pub fn may_refresh_universe(self) -> bool {
        matches!(self, Plan::Pro)
    }

    /// Authenticated requests allowed per UTC day.
    pub fn daily_quota(self) -> u64 {
        match self {
            Plan::Free => 1_000,
            Plan::Pro => 50_000,
        }
    }
}

/// Where a user stands against today's quota, for the `RateLimit-*` headers and `GET /v1/usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaState {
    pub limit: u64,
    pub used: u64,
    /// Epoch second of the next UTC midnight, when the count starts again.
    pub resets_at: i64,
}

impl QuotaState {
    pub fn new(plan: Plan, used: u64, now: i64) -> Self {
        QuotaState { limit: plan.daily_quota(), used, resets_at: next_utc_midnight(now) }
    }

    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    pub fn exhausted(&self) -> bool {
        self.used >= self.limit
    }

    /// Seconds until the reset, at least 1.
    pub fn reset_in(&self, now: i64) -> u64 {
        (self.resets_at - now).max(1) as u64
    }
}

/// The longest range `GET /v1/usage` answers, in days (inclusive of both ends).
pub const MAX_USAGE_RANGE_DAYS: i64 = 90;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_counts_down_and_resets_at_utc_midnight() {
        let now = 1_795_642_200; // 21:30 UTC
        let state = QuotaState::new(Plan::Free, 999, now);
        assert_eq!(state.remaining(), 1);
        assert!(!state.exhausted());
        let full = QuotaState::new(Plan::Free, 1_000, now);
        assert!(full.exhausted());
        assert_eq!(full.remaining(), 0);
        assert_eq!(full.reset_in(now), 9_000);
        // A name from an old or forged token never grants more than the smallest plan.
        for (name, plan) in [("pro", Plan::Pro), ("free", Plan::Free), ("enterprise?", Plan::Free), ("PRO", Plan::Free), ("", Plan::Free)] {
            assert_eq!(Plan::parse(name), plan, "{name:?}");
            assert_eq!(Plan::parse(plan.as_str()), plan);
        }
    }
}
