//! The signals journal: create (one or up to 100), list, read, close and delete a user's trading
//! signals, and their statistics.
//!
//! Every write is one TransactWriteItems of the signal and its symbol's statistics item,
//! conditioned on the statistics' `version`; a lost race re-reads and retries with jittered
//! backoff. The rules (validation, returns, statistics) are in `bourse_domain::journal`; the access
//! patterns in `bourse_storage::journal`.

use super::{Portfolio, WRITE_ATTEMPTS, dec, now, rfc3339};
use crate::wire::{JournalCounts, JournalStats, SignalView, SymbolCounts};
use bourse_domain::journal::{
    self as rules, Confidence, Contribution, Direction, JournalError, Outcome, Price, SignalId, Status, SymbolStats,
};
use bourse_domain::{Symbol, UserId};
use bourse_http::{ApiError, ApiRequest, FieldError, Reply};
use bourse_http::{Links, Page};
use bourse_runtime::storage_problem;
use bourse_storage::journal::{self as store, Closing, SignalFilter, SignalRecord, VersionedStats};
use bourse_storage::retry::{Attempts, unless_raced};
use http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;

/// Signals one bulk request may create.
pub const MAX_BULK: usize = 100;
/// Items one TransactWriteItems may hold (signals and statistics items together).
const MAX_TRANSACTION_ITEMS: usize = 100;
/// Bytes a bulk transaction may carry, under DynamoDB's 4 MB per transaction.
const MAX_TRANSACTION_BYTES: usize = 3_500_000;
/// A generous upper bound of one signal item's size (a 500-character note is most of it).
const SIGNAL_BYTES: usize = 3_000;

/// A signal as posted. Prices are strings so no binary floating point touches them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSignal {
    pub symbol: String,
    pub direction: String,
    pub entry_price: String,
    pub target_price: Option<String>,
    pub stop_price: Option<String>,
    pub confidence: i64,
    pub source: Option<String>,
    pub note: Option<String>,
    pub opened_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSignals {
    pub signals: Vec<NewSignal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    pub exit_price: String,
    pub closed_at: Option<String>,
    pub note: Option<String>,
}

fn field(path: &str, name: &str, err: impl ToString) -> FieldError {
    FieldError::new(format!("{path}.{name}"), err.to_string())
}

/// An RFC 3339 time in UTC, not after `now`.
fn utc_time(path: &str, name: &str, raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, FieldError> {
    let at = bourse_domain::text::parse_rfc3339(raw).map_err(|e| field(path, name, e))?;
    if !at.offset().is_utc() {
        return Err(field(path, name, "must be in UTC (Z or +00:00)"));
    }
    if at > now {
        return Err(field(path, name, "must not be in the future"));
    }
    Ok(at)
}

/// Collects field errors: `Some(value)` on success, else records the error.
fn check<T, E: ToString>(errors: &mut Vec<FieldError>, path: &str, name: &str, result: Result<T, E>) -> Option<T> {
    result.map_err(|e| errors.push(field(path, name, e))).ok()
}

impl NewSignal {
    /// The signal to store, or every field error named under `path` (`body`, `body.signals[3]`).
    fn parse(&self, path: &str, id: SignalId, now: OffsetDateTime) -> Result<SignalRecord, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let symbol = check(e, path, "symbol", Symbol::parse(&self.symbol));
        let direction = check(e, path, "direction", Direction::parse(&self.direction));
        let entry = check(e, path, "entry_price", Price::parse(&self.entry_price));
        let target = self.target_price.as_deref().map(|p| check(e, path, "target_price", Price::parse(p)));
        let stop = self.stop_price.as_deref().map(|p| check(e, path, "stop_price", Price::parse(p)));
        let confidence = check(e, path, "confidence", Confidence::new(self.confidence));
        let source = self.source.as_deref().map(|s| check(e, path, "source", rules::source(s)));
        let note = self.note.as_deref().map(|n| check(e, path, "note", rules::note(n)));
        let opened_at = match self.opened_at.as_deref() {
            None => Some(now),
            Some(raw) => utc_time(path, "opened_at", raw, now).map_err(|err| e.push(err)).ok(),
        };
        match (symbol, direction, entry, confidence, opened_at) {
            (Some(symbol), Some(direction), Some(entry), Some(confidence), Some(opened_at)) if errors.is_empty() => Ok(SignalRecord {
                id,
                symbol,
                direction,
                entry_price: entry.value(),
                target_price: target.flatten().map(Price::value),
                stop_price: stop.flatten().map(Price::value),
                confidence,
                source: source.flatten(),
                note: note.flatten().flatten(),
                opened_at: rfc3339(opened_at),
                created_at: rfc3339(now),
                close: None,
            }),
            _ => Err(errors),
        }
    }
}

fn new_id(now: OffsetDateTime, hex: &str) -> Result<SignalId, ApiError> {
    let millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    SignalId::new(millis, hex).map_err(|e| ApiError::Internal(e.to_string()))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no signal {}", id.chars().take(40).collect::<String>()))
}

/// The path's signal id; a malformed one names no signal (404), and never reaches a key.
fn path_id(request: &ApiRequest) -> Result<SignalId, ApiError> {
    let raw = request.param("signalId")?;
    SignalId::parse(raw).map_err(|_| not_found(raw))
}

/// The one mapping of journal rule failures on a write to responses.
fn problem(err: JournalError) -> ApiError {
    match err {
        JournalError::TooManyClosed { .. } => ApiError::unprocessable("path.signalId", err.to_string()),
        JournalError::NotCounted => ApiError::Internal("the journal statistics do not count a stored signal".into()),
        other => ApiError::Unprocessable { detail: other.to_string(), errors: vec![] },
    }
}

fn contribution(signal: &SignalRecord) -> Contribution {
    match &signal.close {
        None => Contribution::Open,
        Some(c) => Contribution::Closed(c.return_pct),
    }
}

/// Cursors are opaque to clients: the id to continue after.
fn encode_cursor(id: &SignalId) -> String {
    bourse_http::cursor::encode(id.as_str())
}

fn decode_cursor(raw: &str) -> Result<SignalId, ApiError> {
    bourse_http::cursor::decode(raw)
        .and_then(|text| SignalId::parse(&text).ok())
        .ok_or_else(|| ApiError::field("query.cursor", "not a cursor of this list"))
}

pub fn signal_view(s: &SignalRecord) -> SignalView {
    let close = s.close.as_ref();
    SignalView {
        id: s.id.as_str().to_owned(),
        symbol: s.symbol.as_str().to_owned(),
        direction: s.direction.as_str(),
        entry_price: dec(s.entry_price),
        target_price: s.target_price.map(dec),
        stop_price: s.stop_price.map(dec),
        confidence: s.confidence.value(),
        source: s.source.clone(),
        note: s.note.clone(),
        opened_at: s.opened_at.clone(),
        created_at: s.created_at.clone(),
        status: s.status().as_str(),
        exit_price: close.map(|c| dec(c.exit_price)),
        closed_at: close.map(|c| c.closed_at.clone()),
        close_note: close.and_then(|c| c.note.clone()),
        return_pct: close.map(|c| dec(c.return_pct)),
        outcome: close.map(|c| c.outcome.as_str()),
        links: Links::to(format!("/v1/journal/signals/{}", s.id)),
    }
}

/// Bytes the statistics item of `stats` takes at most (≤ 17 per stored return).
fn stats_bytes(stats: Option<&VersionedStats>) -> usize {
    512 + stats.map_or(0, |s| s.stats.returns.len() * 17)
}

impl Portfolio {
    pub(crate) async fn create_signal(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let body: NewSignal = request.json()?;
        let now = now();
        let hex = bourse_domain::random::hex_id(&*self.platform.random).map_err(bourse_runtime::random_problem)?;
        body.parse("body", new_id(now, &hex)?, now).map_err(ApiError::Validation)?;
        self.idempotent(request, user, |attempt| async move {
            // Parsed again with the attempt's id and time: the same on every attempt of a keyed
            // request, so a retry finds what an earlier attempt wrote.
            let signal =
                body.parse("body", new_id(attempt.started, &attempt.id("signal", 0))?, attempt.started).map_err(ApiError::Validation)?;
            self.store_new_signals(user, std::slice::from_ref(&signal)).await?;
            Ok((StatusCode::CREATED, signal_view(&signal)))
        })
        .await
    }

    /// 1 to 100 signals, validated all together before anything is written.
    pub(crate) async fn create_signals(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let body: NewSignals = request.json()?;
        if body.signals.is_empty() || body.signals.len() > MAX_BULK {
            return Err(ApiError::field("body.signals", format!("1 to {MAX_BULK} signals")));
        }
        let parse_all = |at: OffsetDateTime, id: &dyn Fn(usize) -> String| -> Result<Vec<SignalRecord>, ApiError> {
            let mut signals = Vec::with_capacity(body.signals.len());
            let mut errors = Vec::new();
            for (i, entry) in body.signals.iter().enumerate() {
                match entry.parse(&format!("body.signals[{i}]"), new_id(at, &id(i))?, at) {
                    Ok(signal) => signals.push(signal),
                    Err(mut e) => errors.append(&mut e),
                }
            }
            if errors.is_empty() { Ok(signals) } else { Err(ApiError::Validation(errors)) }
        };
        // Validation only: these ids are thrown away.
        parse_all(now(), &|_| "0".repeat(32))?;
        self.idempotent(request, user, |attempt| async move {
            // The ids derive from the Idempotency-Key: a retry after a failed later chunk finds
            // the chunks already written and writes only the rest.
            let signals = parse_all(attempt.started, &|i| attempt.id("signal", i))?;
            self.store_new_signals(user, &signals).await?;
            Ok((StatusCode::CREATED, Page::all(signals.iter().map(signal_view).collect())))
        })
        .await
    }

    /// Writes new signals with their statistics: 1 BatchGetItem (statistics, strongly consistent)
    /// and one TransactWriteItems per chunk of ≤ 100 items (signals + statistics items), each
    /// chunk atomic; a chunk that loses a race re-reads its statistics and retries.
    async fn store_new_signals(&self, user: &UserId, signals: &[SignalRecord]) -> Result<(), ApiError> {
        let (aws, table) = (&self.platform.aws, &self.app_table);
        let symbols: Vec<Symbol> = signals.iter().map(|s| s.symbol.clone()).collect();
        let mut current = store::get_stats_of(aws, table, user, &symbols).await.map_err(storage_problem)?;
        let chunks =
            rules::plan_chunks(&symbols, MAX_TRANSACTION_ITEMS, MAX_TRANSACTION_BYTES, SIGNAL_BYTES, |s| stats_bytes(current.get(s)));
        for chunk in chunks {
            let part = &signals[chunk.clone()];
            let mut written = false;
            let mut attempts = Attempts::new(WRITE_ATTEMPTS);
            while attempts.next().await {
                let mut next: Vec<(Symbol, SymbolStats, u64)> = Vec::new();
                for signal in part {
                    let at = match next.iter().position(|(s, _, _)| *s == signal.symbol) {
                        Some(at) => at,
                        None => {
                            let read = current.get(&signal.symbol).cloned().unwrap_or_default();
                            next.push((signal.symbol.clone(), read.stats, read.version));
                            next.len() - 1
                        }
                    };
                    next[at].1.add(&signal.symbol, Contribution::Open).map_err(problem)?;
                }
                let updates: Vec<store::StatsUpdate<'_>> = next.iter().map(|(s, stats, v)| (s, stats, *v)).collect();
                match unless_raced(store::create_signals(aws, table, user, part, &updates).await) {
                    Ok(Some(())) => {
                        // What was written is the base of the next chunk (same symbols, new versions).
                        current.extend(next.into_iter().map(|(s, stats, v)| (s, VersionedStats { stats, version: v + 1 })));
                        written = true;
                        break;
                    }
                    Ok(None) => {
                        // Chunks are atomic: when its first signal exists, an earlier attempt of
                        // this request wrote the chunk and only its answer was lost.
                        if store::get_signal(aws, table, user, &part[0].id).await.map_err(storage_problem)?.is_some() {
                            written = true;
                            break;
                        }
                        let chunk_symbols: Vec<Symbol> = next.iter().map(|(s, _, _)| s.clone()).collect();
                        current.extend(store::get_stats_of(aws, table, user, &chunk_symbols).await.map_err(storage_problem)?);
                    }
                    Err(err) => return Err(storage_problem(err)),
                }
            }
            if !written {
                return Err(busy());
            }
        }
        Ok(())
    }

    pub(crate) async fn get_signal(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let id = path_id(request)?;
        let signal = store::get_signal(&self.platform.aws, &self.app_table, user, &id)
            .await
            .map_err(storage_problem)?
            .ok_or_else(|| not_found(id.as_str()))?;
        Reply::ok(&signal_view(&signal))
    }

    /// Closes an open signal: per attempt 1 GetItem (signal) + 1 GetItem (statistics) + 1
    /// TransactWriteItems. A signal no longer open is 409; a moved statistics version retries.
    pub(crate) async fn close_signal(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = path_id(request)?;
        let body: CloseRequest = request.json()?;
        let now = now();
        let mut errors = Vec::new();
        let exit = check(&mut errors, "body", "exit_price", Price::parse(&body.exit_price));
        let closed_at = match body.closed_at.as_deref() {
            None => Some(None),
            Some(raw) => utc_time("body", "closed_at", raw, now).map_err(|e| errors.push(e)).ok().map(Some),
        };
        let note = body.note.as_deref().and_then(|n| check(&mut errors, "body", "note", rules::note(n))).flatten();
        let (Some(exit), Some(closed_at)) = (exit, closed_at) else {
            return Err(ApiError::Validation(errors));
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        self.idempotent(request, user, |run| async move {
            let (aws, table) = (&self.platform.aws, &self.app_table);
            let closed_at = closed_at.unwrap_or(run.started);
            let mut attempts = Attempts::new(WRITE_ATTEMPTS);
            while attempts.next().await {
                let mut signal =
                    store::get_signal(aws, table, user, &id).await.map_err(storage_problem)?.ok_or_else(|| not_found(id.as_str()))?;
                if let Some(closed) = &signal.close {
                    // Closed exactly as asked: an earlier attempt of this request did it.
                    if run.is_keyed() && closed.exit_price == exit.value() && closed.closed_at == rfc3339(closed_at) {
                        return Ok((StatusCode::OK, signal_view(&signal)));
                    }
                    return Err(ApiError::Conflict(format!("signal {id} is already closed")));
                }
                let opened_at = bourse_domain::text::parse_rfc3339(&signal.opened_at)
                    .map_err(|e| ApiError::Internal(format!("stored openedAt of {id}: {e}")))?;
                if closed_at < opened_at {
                    return Err(ApiError::field(
                        "body.closed_at",
                        format!("must not be before the signal's opened_at ({})", signal.opened_at),
                    ));
                }
                let entry = Price::new(signal.entry_price).map_err(|e| ApiError::Internal(format!("stored entryPrice of {id}: {e}")))?;
                let return_pct = rules::return_pct(signal.direction, entry, exit).map_err(problem)?;
                let current = store::get_stats(aws, table, user, &signal.symbol).await.map_err(storage_problem)?;
                let mut next = current.stats.clone();
                next.close(&signal.symbol, return_pct).map_err(problem)?;
                let closing = Closing {
                    exit_price: exit.value(),
                    closed_at: rfc3339(closed_at),
                    note: note.clone(),
                    return_pct,
                    outcome: Outcome::of(return_pct),
                };
                // A lost race: the signal closed meanwhile (409 on the re-read) or the statistics moved.
                let closed =
                    unless_raced(store::close_signal(aws, table, user, &id, &closing, (&signal.symbol, &next, current.version)).await)
                        .map_err(storage_problem)?;
                if closed.is_some() {
                    signal.close = Some(closing);
                    return Ok((StatusCode::OK, signal_view(&signal)));
                }
            }
            Err(busy())
        })
        .await
    }

    /// Deletes a signal and its contribution to the statistics: per attempt 1 GetItem (signal) +
    /// 1 GetItem (statistics) + 1 TransactWriteItems.
    pub(crate) async fn delete_signal(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = path_id(request)?;
        let (aws, table) = (&self.platform.aws, &self.app_table);
        let mut attempts = Attempts::new(WRITE_ATTEMPTS);
        while attempts.next().await {
            let signal = store::get_signal(aws, table, user, &id).await.map_err(storage_problem)?.ok_or_else(|| not_found(id.as_str()))?;
            let current = store::get_stats(aws, table, user, &signal.symbol).await.map_err(storage_problem)?;
            let mut next = current.stats.clone();
            next.remove(contribution(&signal)).map_err(problem)?;
            let deleted =
                unless_raced(store::delete_signal(aws, table, user, &id, signal.status(), (&signal.symbol, &next, current.version)).await)
                    .map_err(storage_problem)?;
            if deleted.is_some() {
                return Ok(Reply::no_content());
            }
        }
        Err(busy())
    }

    /// Newest first, filtered by status, symbol and minimum confidence, with an opaque cursor.
    pub(crate) async fn list_signals(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["status", "symbol", "min_confidence", "limit", "cursor"])?;
        let mut errors = Vec::new();
        let mut filter = SignalFilter::default();
        if let Some(raw) = request.query("status")? {
            filter.status = check(&mut errors, "query", "status", Status::parse(raw));
        }
        if let Some(raw) = request.query("symbol")? {
            filter.symbol = check(&mut errors, "query", "symbol", Symbol::parse(raw));
        }
        if let Some(raw) = request.query("min_confidence")? {
            filter.min_confidence = check(
                &mut errors,
                "query",
                "min_confidence",
                raw.parse::<i64>().map_err(|_| JournalError::Confidence).and_then(Confidence::new),
            );
        }
        let limit = match request.limit(50, 100) {
            Ok(limit) => limit,
            Err(ApiError::Validation(found)) => {
                errors.extend(found);
                50
            }
            Err(other) => return Err(other),
        };
        let after = match request.query("cursor")? {
            None => None,
            Some(raw) => decode_cursor(raw).map_err(|_| errors.push(FieldError::new("query.cursor", "not a cursor of this list"))).ok(),
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let (items, next) = store::list_signals(&self.platform.aws, &self.app_table, user, &filter, limit, after.as_ref())
            .await
            .map_err(storage_problem)?;
        Reply::ok(&Page::new(items.iter().map(signal_view).collect(), next.as_ref().map(encode_cursor)))
    }

    /// The statistics of every symbol rolled up: 1 Query of the user's statistics items.
    pub(crate) async fn journal_stats(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let per_symbol = store::all_stats(&self.platform.aws, &self.app_table, user).await.map_err(storage_problem)?;
        let (all, by_symbol) = rules::roll_up(&per_symbol);
        Reply::ok(&JournalStats {
            all: JournalCounts::from(&all),
            by_symbol: by_symbol
                .iter()
                .map(|(symbol, summary)| SymbolCounts { symbol: symbol.as_str().to_owned(), counts: JournalCounts::from(summary) })
                .collect(),
        })
    }
}

fn busy() -> ApiError {
    ApiError::Conflict("the journal statistics are being changed by many requests at once; retry".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let id = SignalId::parse("1795642200000-0123456789ab").unwrap();
        assert_eq!(decode_cursor(&encode_cursor(&id)).unwrap(), id);
        for bad in ["", "zz", "abc", &"00".repeat(26), &encode_cursor(&id)[2..]] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_bad_field_of_a_signal_is_named_under_its_path() {
        let now = bourse_domain::text::parse_rfc3339("2026-11-25T21:30:00Z").unwrap();
        let id = SignalId::parse("1795642200000-0123456789ab").unwrap();
        let bad = NewSignal {
            symbol: "A B".into(),
            direction: "UP".into(),
            entry_price: "0".into(),
            target_price: Some("x".into()),
            stop_price: None,
            confidence: 101,
            source: Some(String::new()),
            note: None,
            opened_at: Some("2026-11-26T00:00:00Z".into()),
        };
        let errors = bad.parse("body.signals[3]", id.clone(), now).err().unwrap();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "body.signals[3].symbol",
                "body.signals[3].direction",
                "body.signals[3].entry_price",
                "body.signals[3].target_price",
                "body.signals[3].confidence",
                "body.signals[3].source",
                "body.signals[3].opened_at"
            ]
        );
        let not_utc = NewSignal {
            symbol: "AAPL".into(),
            direction: "LONG".into(),
            entry_price: "1".into(),
            target_price: None,
            stop_price: None,
            confidence: 5,
            source: None,
            note: None,
            opened_at: Some("2026-11-25T20:00:00+01:00".into()),
        };
        assert_eq!(not_utc.parse("body", id, now).err().unwrap()[0].field, "body.opened_at");
    }
}
