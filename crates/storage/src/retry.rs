//! Retrying, written once: the pause between attempts (the domain's [`Backoff`] policy, slept
//! here) and the attempts of an optimistic read-modify-write that another writer may race.

use crate::StorageError;
use bourse_domain::backoff::{Backoff, RACED};

/// Sleeps before retry `attempt` (0 = the first retry) under `policy`.
pub async fn pause(policy: &Backoff, attempt: u32) {
    tokio::time::sleep(policy.delay_now(attempt)).await;
}

/// The attempts of an optimistic read-modify-write:
///
/// ```text
/// let mut attempts = Attempts::new(WRITE_ATTEMPTS);
/// while attempts.next().await {
///     // read, decide, write conditionally; on a lost race `continue`, otherwise return
/// }
/// // every attempt was raced: "busy, retry"
/// ```
///
/// The body runs at most `limit` times, with a jittered pause before every run after the first.
#[derive(Debug)]
pub struct Attempts {
    policy: &'static Backoff,
    limit: u32,
    made: u32,
}

impl Attempts {
    /// Attempts with [`RACED`] pauses.
    pub fn new(limit: u32) -> Self {
        Self::with(&RACED, limit)
    }

    /// Attempts with other pauses (e.g. while a lease is held).
    pub fn with(policy: &'static Backoff, limit: u32) -> Self {
        Attempts { policy, limit, made: 0 }
    }

    /// Starts the next attempt (pausing first unless it is the first): false when none is left.
    pub async fn next(&mut self) -> bool {
        if self.made >= self.limit {
            return false;
        }
        if self.made > 0 {
            pause(self.policy, self.made - 1).await;
        }
        self.made += 1;
        true
    }

    /// The attempts started so far.
    pub fn made(&self) -> u32 {
        self.made
    }
}

/// A conditional write's result with a lost race ([`StorageError::Conflict`]) as `Ok(None)`.
pub fn unless_raced<T>(result: Result<T, StorageError>) -> Result<Option<T>, StorageError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StorageError::Conflict(_)) => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_body_runs_at_most_the_limit_and_stops_when_done() {
        let mut attempts = Attempts::new(5);
        let mut runs = 0;
        while attempts.next().await {
            runs += 1;
            if runs == 3 {
                break;
            }
        }
        assert_eq!((runs, attempts.made()), (3, 3));

        let mut attempts = Attempts::new(4);
        let mut runs = 0;
        while attempts.next().await {
            runs += 1;
        }
        assert_eq!(runs, 4, "every attempt raced: the loop ends after the limit");
        assert!(!attempts.next().await, "and stays ended");
        assert!(matches!(unless_raced::<()>(Err(StorageError::Conflict("raced".into()))), Ok(None)));
        assert!(matches!(unless_raced(Ok(1)), Ok(Some(1))));
    }
}
