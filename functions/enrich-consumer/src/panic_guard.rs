//! A panic fails only the messages it stops, not the whole batch.
//!
//! The functions are built with `panic = "abort"` (as cargo-lambda builds them; unwinding would
//! cost every binary ~8 % and take `auth` over its 5 MB package budget), so a panic cannot be
//! caught per message. Without this guard a panic would end the invocation, and SQS would redeliver
//! the whole batch, counting a receive against every message in it: a poison message would drag its
//! batch-mates towards the DLQ.
//!
//! Instead, the consumer tells the guard which batch it is working on and which messages have
//! succeeded. A panic hook, which runs before the process aborts, answers the invocation itself
//! through the Lambda Runtime API with a partial batch response that lists only the messages not
//! yet succeeded (the panicking one and any still in flight), then aborts. Lambda records the
//! answer, deletes the succeeded messages, and starts a fresh process for the next invocation.
//!
//! The hook aborts whatever the panic strategy, so a test build (which unwinds) behaves exactly as
//! the release build does.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long the hook waits on the Runtime API (it is local to the execution environment).
const RUNTIME_API_TIMEOUT: Duration = Duration::from_secs(2);

/// The batch in progress, shared with the panic hook.
#[derive(Debug, Default)]
pub struct PanicGuard {
    /// `host:port` of the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`).
    runtime_api: String,
    batch: Mutex<Option<Batch>>,
}

#[derive(Debug)]
struct Batch {
    request_id: String,
    /// Messages not yet succeeded: on a panic, exactly these are reported as failed.
    unfinished: BTreeSet<String>,
}

impl PanicGuard {
    /// Installs the hook (after the existing one, which logs the panic) when running under the
    /// Lambda Runtime API; `None` elsewhere (local pollers, tests of the handler).
    pub fn install_from_env() -> Option<Arc<PanicGuard>> {
        let runtime_api = std::env::var("AWS_LAMBDA_RUNTIME_API").ok().filter(|api| !api.is_empty())?;
        Some(Self::install(runtime_api))
    }

    /// Installs the hook for the Runtime API at `runtime_api` (`host:port`).
    pub fn install(runtime_api: String) -> Arc<PanicGuard> {
        let guard = Arc::new(PanicGuard { runtime_api, batch: Mutex::new(None) });
        let hooked = Arc::clone(&guard);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            hooked.answer_for_unfinished();
            std::process::abort();
        }));
        guard
    }

    /// Starts a batch: every message is unfinished until [`PanicGuard::succeeded`]. The batch ends
    /// when the returned token is dropped.
    pub fn begin<'g, 'm>(&'g self, request_id: &str, message_ids: impl IntoIterator<Item = &'m str>) -> BatchToken<'g> {
        let unfinished = message_ids.into_iter().map(str::to_owned).collect();
        *self.lock() = Some(Batch { request_id: request_id.to_owned(), unfinished });
        BatchToken { guard: self }
    }

    /// Marks a message done: a later panic does not report it.
    pub fn succeeded(&self, message_id: &str) {
        if let Some(batch) = self.lock().as_mut() {
            batch.unfinished.remove(message_id);
        }
    }

    /// The messages of the batch in progress not yet succeeded.
    pub fn unfinished(&self) -> Vec<String> {
        self.lock().as_ref().map(|batch| batch.unfinished.iter().cloned().collect()).unwrap_or_default()
    }

    /// The partial batch response a panic would send now, if a batch is in progress.
    pub fn pending_answer(&self) -> Option<(String, String)> {
        let batch = self.lock();
        let batch = batch.as_ref()?;
        let mut answer = SqsBatchResponse::default();
        for id in &batch.unfinished {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.clone();
            answer.batch_item_failures.push(failure);
        }
        Some((batch.request_id.clone(), serde_json::to_string(&answer).unwrap_or_default()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Batch>> {
        // A panic while the lock is held must not stop the hook from reading the batch.
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Posts the partial batch response to the Runtime API. Best effort: if it cannot be sent, the
    /// invocation fails as a whole, which is what would happen without the guard.
    fn answer_for_unfinished(&self) {
        let Some((request_id, body)) = self.pending_answer() else { return };
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        match post(&self.runtime_api, &path, &body) {
            Ok(status) => eprintln!("panic: answered invocation {request_id} with the unfinished messages as failed ({status}): {body}"),
            Err(err) => eprintln!("panic: could not answer invocation {request_id}: {err}"),
        }
    }
}

/// Ends the batch when dropped (after the answer was returned to the runtime).
pub struct BatchToken<'a> {
    guard: &'a PanicGuard,
}

impl Drop for BatchToken<'_> {
    fn drop(&mut self) {
        *self.guard.lock() = None;
    }
}

/// A minimal blocking HTTP/1.1 POST: the hook runs on a panicking thread, where the async client
/// cannot be driven. Returns the response's status line.
fn post(host: &str, path: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(RUNTIME_API_TIMEOUT))?;
    stream.set_write_timeout(Some(RUNTIME_API_TIMEOUT))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    let _ = stream.take(4096).read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_lists_exactly_the_unfinished_messages_of_the_batch_in_progress() {
        let guard = PanicGuard { runtime_api: "127.0.0.1:9".into(), batch: Mutex::new(None) };
        assert_eq!(guard.pending_answer(), None, "no batch, nothing to answer");
        {
            let _batch = guard.begin("request-1", ["a", "b", "c"]);
            guard.succeeded("b");
            guard.succeeded("not-in-the-batch");
            let (request, body) = guard.pending_answer().unwrap();
            assert_eq!(request, "request-1");
            assert_eq!(body, r#"{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"c"}]}"#);
        }
        assert_eq!(guard.pending_answer(), None, "the batch ended with its token");
    }
}
