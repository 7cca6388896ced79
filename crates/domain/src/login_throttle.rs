//! Brute-force limits on login, as pure arithmetic over stored state (the storage crate keeps the
//! state in DynamoDB, so the limits hold whether or not the cache is up).
//!
//! - **Per account and source address** (keyed by the normalised email and the address, whether
//!   or not the account exists): every attempt is counted *before* the password is checked (so
//!   concurrent guesses cannot slip past the limit) and a success clears the count. The 5th
//!   attempt within a streak locks that pair for 15 minutes; each further attempt after a
//!   lock-out doubles it (30 min, 1 h, …, capped at 24 h). A streak ends after 15 minutes without
//!   attempts while under the limit, or 24 hours after the last lock-out ended. A stranger failing
//!   from one address therefore locks out only that address, never the owner.
//! - **Per account, across addresses**: failed sign-ins are counted in 15-minute windows; from the
//!   [`ACCOUNT_SLOWDOWN_FAILURES`]th on, an address that has failed on the account in its current
//!   streak waits for the window's end (a guesser spreading over many addresses gets one try per
//!   fresh address), while an address without failures — the owner's usual one — still signs in.
//!   The owner is told by e-mail once per window.
//! - **Per source address**: at most 30 attempts per minute (fixed one-minute windows).

/// Attempts allowed per account before the first lock-out.
pub const ACCOUNT_MAX_ATTEMPTS: u32 = 5;
/// Quiet time that ends a streak under the limit, and the first lock-out's length.
pub const ACCOUNT_WINDOW_SECONDS: i64 = 15 * 60;
/// The longest lock-out.
pub const ACCOUNT_MAX_LOCK_SECONDS: i64 = 24 * 60 * 60;
/// Attempts allowed per source address per minute.
pub const ADDRESS_MAX_ATTEMPTS_PER_MINUTE: u64 = 30;
/// Failed sign-ins to one account, across addresses, within a window, from which addresses that
/// have failed on it are slowed down (and the owner is told).
pub const ACCOUNT_SLOWDOWN_FAILURES: u64 = 10;

/// The account-wide window containing `now` (its index) and the seconds until it ends.
pub fn account_window(now: i64) -> (i64, i64) {
    let index = now.div_euclid(ACCOUNT_WINDOW_SECONDS);
    (index, (index + 1) * ACCOUNT_WINDOW_SECONDS - now)
}

/// Whether an attempt from an address whose streak on the account is `pair` must wait, with the
/// account's failures in the current window at `failures`: only a failing address of an account
/// under attack waits; a clean address never does.
pub fn slowed_down(failures: u64, pair: &AccountThrottle, now: i64) -> bool {
    failures >= ACCOUNT_SLOWDOWN_FAILURES && pair.attempts > 0 && now - pair.last_attempt < ACCOUNT_WINDOW_SECONDS
}

/// What a source address is limited in, per minute: each costs an argon2id hash, and
/// registration and reset requests also an e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressLimit {
    Login,
    Register,
    PasswordReset,
}

impl AddressLimit {
    /// The name its counters are stored under.
    pub fn name(self) -> &'static str {
        match self {
            AddressLimit::Login => "ADDRESS",
            AddressLimit::Register => "REGISTER",
            AddressLimit::PasswordReset => "RESET",
        }
    }

    /// Requests allowed per address per minute.
    pub fn per_minute(self) -> u64 {
        match self {
            AddressLimit::Login => ADDRESS_MAX_ATTEMPTS_PER_MINUTE,
            AddressLimit::Register | AddressLimit::PasswordReset => 5,
        }
    }
}

/// What is stored per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountThrottle {
    /// Attempts in the current streak.
    pub attempts: u32,
    /// When the last attempt was made (epoch seconds).
    pub last_attempt: i64,
    /// Until when the account refuses attempts (epoch seconds, 0 when not locked).
    pub locked_until: i64,
}

/// The outcome of asking to make one more attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptDecision {
    /// Go ahead; store `next` (conditionally on the state read, so concurrent attempts serialise).
    Allowed { next: AccountThrottle },
    /// Refused until `retry_after` seconds from now.
    Locked { retry_after: i64 },
}

impl AccountThrottle {
    /// Decides on one more attempt at `now`.
    pub fn attempt(self, now: i64) -> AttemptDecision {
        if now < self.locked_until {
            return AttemptDecision::Locked { retry_after: self.locked_until - now };
        }
        let streak_over = if self.attempts < ACCOUNT_MAX_ATTEMPTS {
            now - self.last_attempt >= ACCOUNT_WINDOW_SECONDS
        } else {
            now - self.locked_until >= ACCOUNT_MAX_LOCK_SECONDS
        };
        let attempts = if streak_over { 1 } else { self.attempts.saturating_add(1) };
        let locked_until = if attempts >= ACCOUNT_MAX_ATTEMPTS { now + lock_seconds(attempts) } else { 0 };
        AttemptDecision::Allowed { next: AccountThrottle { attempts, last_attempt: now, locked_until } }
    }
}

/// The lock-out after the `attempts`-th attempt: 15 min at the 5th, doubling, at most 24 h.
pub fn lock_seconds(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(ACCOUNT_MAX_ATTEMPTS).min(16);
    (ACCOUNT_WINDOW_SECONDS << doublings).min(ACCOUNT_MAX_LOCK_SECONDS)
}

/// The per-address window containing `now` (epoch minute) and the seconds until it ends.
pub fn address_window(now: i64) -> (i64, i64) {
    let minute = now.div_euclid(60);
    (minute, (minute + 1) * 60 - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(d: AttemptDecision) -> AccountThrottle {
        match d {
            AttemptDecision::Allowed { next } => next,
            other => panic!("expected allowed, got {other:?}"),
        }
    }

    #[test]
    fn five_attempts_then_a_fifteen_minute_lock_that_grows() {
        let mut state = AccountThrottle::default();
        let t = 1_000_000;
        for i in 0..5 {
            state = allowed(state.attempt(t + i));
        }
        assert_eq!(state.attempts, 5);
        assert_eq!(state.attempt(t + 10), AttemptDecision::Locked { retry_after: 15 * 60 - 6 });
        // After the lock, the next attempt is allowed but locks for twice as long.
        let after = state.locked_until;
        state = allowed(state.attempt(after));
        assert_eq!(state.locked_until - after, 30 * 60);
        state = allowed(state.attempt(state.locked_until));
        assert_eq!(state.attempts, 7);
        assert_eq!(lock_seconds(7), 60 * 60);
        assert_eq!(lock_seconds(40), ACCOUNT_MAX_LOCK_SECONDS);
    }

    #[test]
    fn a_quiet_quarter_hour_ends_a_streak_under_the_limit() {
        let mut state = AccountThrottle::default();
        for i in 0..4 {
            state = allowed(state.attempt(i));
        }
        let state = allowed(state.attempt(3 + ACCOUNT_WINDOW_SECONDS));
        assert_eq!(state.attempts, 1);
        assert_eq!(state.locked_until, 0);
    }

    #[test]
    fn a_day_after_a_lock_out_the_streak_starts_again() {
        let locked = AccountThrottle { attempts: 9, last_attempt: 0, locked_until: 100 };
        let state = allowed(locked.attempt(100 + ACCOUNT_MAX_LOCK_SECONDS));
        assert_eq!(state.attempts, 1);
    }

    #[test]
    fn only_failing_addresses_of_an_account_under_attack_are_slowed_down() {
        let failing = AccountThrottle { attempts: 2, last_attempt: 1_000, locked_until: 0 };
        let clean = AccountThrottle::default();
        assert!(!slowed_down(ACCOUNT_SLOWDOWN_FAILURES - 1, &failing, 1_001), "not under attack yet");
        assert!(slowed_down(ACCOUNT_SLOWDOWN_FAILURES, &failing, 1_001));
        assert!(!slowed_down(1_000, &clean, 1_001), "the owner's clean address still signs in");
        assert!(!slowed_down(1_000, &failing, 1_000 + ACCOUNT_WINDOW_SECONDS), "a streak long over is clean again");
        assert_eq!(account_window(ACCOUNT_WINDOW_SECONDS * 3 + 5), (3, ACCOUNT_WINDOW_SECONDS - 5));
    }

    #[test]
    fn address_windows_are_whole_minutes() {
        assert_eq!(address_window(120), (2, 60));
        assert_eq!(address_window(179), (2, 1));
    }
}
