//! Cold-initialisation benchmark: spawns each release binary against a local Lambda Runtime API
//! endpoint served here, and measures
//! - init: process spawn → its first `GET /runtime/invocation/next` (what Lambda bills as Init);
//! - first invocation: event delivered → response posted (so work moved from init into the first
//!   request shows up instead of disappearing);
//!
//! next to a hello-world `lambda_runtime` binary measured in the same rounds. Rounds interleave the
//! binaries so machine noise hits all alike.

use crate::resources::DynError;
use crate::runtime_api::{Call, RuntimeApi};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Subject {
    pub name: String,
    pub binary: PathBuf,
    /// The event of the first invocation.
    pub event: String,
}

pub struct Measurement {
    pub init: Vec<Duration>,
    pub first_invoke: Vec<Duration>,
    pub errors: usize,
}

/// Runs `rounds` cold starts of every subject.
pub fn run(subjects: &[Subject], rounds: usize) -> Result<Vec<Measurement>, DynError> {
    let mut results: Vec<Measurement> =
        subjects.iter().map(|_| Measurement { init: Vec::new(), first_invoke: Vec::new(), errors: 0 }).collect();
    for _ in 0..rounds {
        for (subject, result) in subjects.iter().zip(results.iter_mut()) {
            match cold_start(subject)? {
                Some((init, first)) => {
                    result.init.push(init);
                    result.first_invoke.push(first);
                }
                None => result.errors += 1,
            }
        }
    }
    Ok(results)
}

/// One cold start; `None` when the function reported an error.
fn cold_start(subject: &Subject) -> Result<Option<(Duration, Duration)>, DynError> {
    let api = RuntimeApi::start(subject.event.clone(), "bench-1")?;
    let address = api.address;

    let started = Instant::now();
    let mut child = Command::new(&subject.binary)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &subject.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let deadline = Duration::from_secs(10);
    let outcome = (|| {
        let Call::Next(next_at) = api.calls.recv_timeout(deadline)? else {
            return Ok::<_, DynError>(None);
        };
        match api.calls.recv_timeout(deadline)? {
            Call::Response { at, .. } => Ok(Some((next_at - started, at - next_at))),
            Call::Error { .. } | Call::Next(_) => Ok(None),
        }
    })();
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

/// Median, min and max in milliseconds.
pub fn summary(samples: &[Duration]) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let mid = ms.len() / 2;
    let median = if ms.len().is_multiple_of(2) { (ms[mid - 1] + ms[mid]) / 2.0 } else { ms[mid] };
    (median, ms[0], ms[ms.len() - 1])
}

/// Raw size and the size of the deflated binary (what a Lambda zip holds) in bytes.
pub fn sizes(binary: &std::path::Path) -> Result<(u64, u64), DynError> {
    let bytes = std::fs::read(binary)?;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&bytes)?;
    let zipped = encoder.finish()?.len() as u64;
    Ok((bytes.len() as u64, zipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_median_min_max() {
        let d = |ms| Duration::from_millis(ms);
        assert_eq!(summary(&[d(3), d(1), d(2)]), (2.0, 1.0, 3.0));
        assert_eq!(summary(&[d(4), d(1), d(2), d(3)]), (2.5, 1.0, 4.0));
    }
}
