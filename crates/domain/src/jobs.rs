//! Enrichment jobs: what a client may ask for, the job's state machine and its progress
//! arithmetic. A job is split into one queue message per symbol; each symbol's outcome is counted
//! exactly once (the storage layer guarantees it), and the state follows from the counts alone.

use crate::symbol::Symbol;
use serde::{Deserialize, Serialize};

/// Most symbols one explicit job may name (the whole universe is asked for with `universe: true`).
pub const MAX_JOB_SYMBOLS: usize = 1000;
/// Messages per `SendMessageBatch` call (the SQS limit).
pub const SEND_BATCH: usize = 10;

/// What started a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// `POST /v1/jobs` naming its symbols.
    Symbols,
    /// `POST /v1/jobs` with `universe: true`.
    Universe,
    /// A CSV import that met symbols the universe does not know.
    CsvImport,
    /// The daily refresh of the whole universe.
    ScheduledRefresh,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [JobKind::Symbols, JobKind::Universe, JobKind::CsvImport, JobKind::ScheduledRefresh];

    /// The kind's name, as stored and answered.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Symbols => "symbols",
            JobKind::Universe => "universe",
            JobKind::CsvImport => "csv-import",
            JobKind::ScheduledRefresh => "scheduled-refresh",
        }
    }

    pub fn parse(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job's id: `j` + 24 lower-case hex digits (random), or a scheduled refresh's
/// `refresh-YYYY-MM-DD`. Parsed before it becomes part of a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

/// Text that is not a job id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a job id")]
pub struct InvalidJobId(pub String);

impl JobId {
    pub fn parse(text: &str) -> Result<Self, InvalidJobId> {
        let random = text.strip_prefix('j').is_some_and(|hex| crate::text::is_lower_hex(hex, 24));
        let scheduled = text.strip_prefix("refresh-").is_some_and(|date| date.len() == 10 && crate::text::parse_date(date).is_ok());
        if random || scheduled { Ok(JobId(text.to_owned())) } else { Err(InvalidJobId(text.to_owned())) }
    }

    /// A new random id from 12 random bytes.
    pub fn from_random(bytes: [u8; 12]) -> Self {
        JobId(format!("j{}", crate::text::hex(&bytes)))
    }

    /// The id of the scheduled refresh of `date` (`YYYY-MM-DD`): one per day, so a repeated
    /// trigger finds the job it already created.
    pub fn scheduled(date: &str) -> Result<Self, InvalidJobId> {
        Self::parse(&format!("refresh-{date}"))
    }
}

crate::ids::text_id!(@base JobId);

impl TryFrom<String> for JobId {
    type Error = InvalidJobId;
    fn try_from(value: String) -> Result<Self, InvalidJobId> {
        JobId::parse(&value)
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> String {
        id.0
    }
}

/// Who started a job: a user, who alone may see it, or the daily schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOwner {
    User(crate::UserId),
    Schedule,
}

impl JobOwner {
    /// As stored: the user's id, or `system` (which is never a user id).
    pub fn as_str(&self) -> &str {
        match self {
            JobOwner::User(user) => user.as_str(),
            JobOwner::Schedule => "system",
        }
    }

    pub fn parse(text: &str) -> Option<JobOwner> {
        if text == "system" { Some(JobOwner::Schedule) } else { crate::UserId::parse(text).ok().map(JobOwner::User) }
    }

    /// Whether `user` started the job.
    pub fn is(&self, user: &crate::UserId) -> bool {
        matches!(self, JobOwner::User(owner) if owner == user)
    }
}

/// What `POST /v1/jobs` accepts: explicit symbols, or the whole universe.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    #[serde(default)]
    pub symbols: Option<Vec<String>>,
    #[serde(default)]
    pub universe: Option<bool>,
}

/// A validated job request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobScope {
    Symbols(Vec<Symbol>),
    Universe,
}

/// A field error of a job request: (field path, reason).
pub type JobRequestError = (String, String);

impl JobRequest {
    /// Exactly one of `symbols` (1 to [`MAX_JOB_SYMBOLS`] valid symbols; duplicates are merged,
    /// first occurrence kept) or `universe: true`.
    pub fn validate(self) -> Result<JobScope, Vec<JobRequestError>> {
        match (self.symbols, self.universe) {
            (Some(_), Some(true)) => Err(vec![("body".into(), "give either symbols or universe: true, not both".into())]),
            (None, Some(true)) => Ok(JobScope::Universe),
            (None, _) => Err(vec![("body.symbols".into(), "give symbols, or universe: true".into())]),
            (Some(raw), _) => {
                if raw.is_empty() || raw.len() > MAX_JOB_SYMBOLS {
                    return Err(vec![("body.symbols".into(), format!("give 1 to {MAX_JOB_SYMBOLS} symbols"))]);
                }
                let mut symbols: Vec<Symbol> = Vec::with_capacity(raw.len());
                let mut errors = Vec::new();
                for (i, text) in raw.iter().enumerate() {
                    match Symbol::parse(text) {
                        Ok(symbol) if symbols.contains(&symbol) => {}
                        Ok(symbol) => symbols.push(symbol),
                        Err(e) => errors.push((format!("body.symbols[{i}]"), e.to_string())),
                    }
                }
                if errors.is_empty() { Ok(JobScope::Symbols(symbols)) } else { Err(errors) }
            }
        }
    }
}

/// Where a job stands, derived from its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Recorded and queued; no symbol finished yet.
    Queued,
    /// Some symbols finished, others are pending.
    Running,
    /// Every symbol was enriched.
    Completed,
    /// Every symbol finished, some with an error (listed per symbol).
    CompletedWithErrors,
    /// Every symbol failed, or the job could not be queued at all.
    Failed,
}

/// The counters of a job. `done + failed ≤ total` always holds for counts that each symbol
/// contributes once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct JobProgress {
    pub total: u64,
    pub done: u64,
    pub failed: u64,
}

impl JobProgress {
    pub fn finished(&self) -> u64 {
        self.done + self.failed
    }

    /// True once every symbol has an outcome.
    pub fn is_complete(&self) -> bool {
        self.finished() >= self.total
    }

    /// The state; `enqueue_failed` marks a job whose messages could not all be sent.
    pub fn state(&self, enqueue_failed: bool) -> JobState {
        if enqueue_failed && !self.is_complete() {
            return JobState::Failed;
        }
        match (self.finished(), self.is_complete()) {
            (0, false) => JobState::Queued,
            (_, false) => JobState::Running,
            _ if self.total > 0 && self.done == 0 => JobState::Failed,
            _ if self.failed > 0 => JobState::CompletedWithErrors,
            _ => JobState::Completed,
        }
    }

    /// Share finished, in whole percent (100 for an empty job).
    pub fn percent(&self) -> u64 {
        (self.finished() * 100).checked_div(self.total).map_or(100, |p| p.min(100))
    }
}

/// How the symbols of a job split into `SendMessageBatch` calls: ⌈n / 10⌉ calls.
pub fn send_batches<T>(items: &[T]) -> std::slice::Chunks<'_, T> {
    items.chunks(SEND_BATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Result<JobScope, Vec<JobRequestError>> {
        serde_json::from_str::<JobRequest>(json).unwrap().validate()
    }

    #[test]
    fn job_ids_are_parsed_strictly() {
        let id = JobId::from_random([0xab; 12]);
        assert_eq!(id.as_str(), "jabababababababababababab");
        assert_eq!(JobId::parse(id.as_str()).unwrap(), id);
        assert_eq!(JobId::scheduled("2026-11-25").unwrap().as_str(), "refresh-2026-11-25");
        for bad in
            ["", "j123", "JABABABABABABABABABABABAB", "jzzzzzzzzzzzzzzzzzzzzzzzz", "refresh-2026-1125", "../etc", "refresh-2026-11-25x"]
        {
            assert!(JobId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_name_symbols_or_the_universe() {
        assert_eq!(request(r#"{"universe":true}"#).unwrap(), JobScope::Universe);
        let JobScope::Symbols(symbols) = request(r#"{"symbols":["AAPL","msft","AAPL"]}"#).unwrap() else { panic!() };
        assert_eq!(symbols.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["AAPL", "MSFT"]);
        assert!(request(r#"{}"#).is_err());
        assert!(request(r#"{"symbols":[]}"#).is_err());
        assert!(request(r#"{"symbols":["A"],"universe":true}"#).is_err());
        let errors = request(r#"{"symbols":["A","not a symbol!"]}"#).unwrap_err();
        assert_eq!(errors[0].0, "body.symbols[1]");
        let many = format!(r#"{{"symbols":[{}]}}"#, vec!["\"A\""; MAX_JOB_SYMBOLS + 1].join(","));
        assert!(request(&many).is_err());
        assert!(serde_json::from_str::<JobRequest>(r#"{"symbols":["A"],"x":1}"#).is_err());
    }

    #[test]
    fn the_state_follows_from_the_counts() {
        let p = |total, done, failed| JobProgress { total, done, failed };
        assert_eq!(p(3, 0, 0).state(false), JobState::Queued);
        assert_eq!(p(3, 1, 0).state(false), JobState::Running);
        assert_eq!(p(3, 0, 1).state(false), JobState::Running);
        assert_eq!(p(3, 3, 0).state(false), JobState::Completed);
        assert_eq!(p(3, 2, 1).state(false), JobState::CompletedWithErrors);
        assert_eq!(p(3, 0, 3).state(false), JobState::Failed);
        assert_eq!(p(3, 1, 0).state(true), JobState::Failed);
        assert_eq!(p(3, 1, 0).percent(), 33);
        assert_eq!(p(0, 0, 0).state(false), JobState::Completed);
        assert_eq!(serde_json::to_string(&JobState::CompletedWithErrors).unwrap(), "\"completed-with-errors\"");
    }

    #[test]
    fn messages_go_out_ten_per_call() {
        let symbols: Vec<u32> = (0..503).collect();
        let calls: Vec<usize> = send_batches(&symbols).map(<[u32]>::len).collect();
        assert_eq!(calls.len(), 51);
        assert_eq!(calls.last(), Some(&3));
    }

    #[test]
    fn job_kinds_read_back_what_they_write() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::from(kind.as_str()));
        }
        assert_eq!(JobKind::parse("Universe"), None);
    }
}
