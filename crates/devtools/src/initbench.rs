//! Cold-initialisation benchmark: spawns each release binary against a local Lambda Runtime API
//! endpoint served here, and measures
//! - init: process spawn → its first `GET /runtime/invocation/next` (what Lambda bills as Init);
//! - first invocation: event delivered → response posted (so work moved from init into the first
//!   request shows up instead of disappearing);
//!
//! next to a hello-world `lambda_runtime` binary measured in the same rounds. Rounds interleave the
//! binaries so machine noise hits all alike.

use crate::resources::DynError;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Subject {
    pub name: String,
    pub binary: PathBuf,
    /// The event of the first invocation.
    pub event: String,
}

#[derive(Debug, Clone, Copy)]
enum Signal {
    Next(Instant),
    Response(Instant),
    Error,
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
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let (signals, received) = mpsc::channel();
    let event = subject.event.clone();
    std::thread::spawn(move || serve_runtime_api(listener, event, signals));

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
        let Signal::Next(next_at) = received.recv_timeout(deadline)? else {
            return Ok::<_, DynError>(None);
        };
        match received.recv_timeout(deadline)? {
            Signal::Response(done) => Ok(Some((next_at - started, done - next_at))),
            Signal::Error | Signal::Next(_) => Ok(None),
        }
    })();
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

/// A minimal Runtime API: the first `next` gets the event, later ones are held open until the
/// process is killed; responses and errors are acknowledged and signalled.
fn serve_runtime_api(listener: TcpListener, event: String, signals: mpsc::Sender<Signal>) {
    let delivered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let (event, signals, delivered) = (event.clone(), signals.clone(), delivered.clone());
        std::thread::spawn(move || {
            let _ = serve_connection(stream, &event, &signals, &delivered);
        });
    }
}

fn serve_connection(
    stream: TcpStream,
    event: &str,
    signals: &mpsc::Sender<Signal>,
    delivered: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        let path = request_line.split_whitespace().nth(1).unwrap_or_default();
        if path.ends_with("/invocation/next") {
            let now = Instant::now();
            if delivered.swap(true, std::sync::atomic::Ordering::SeqCst) {
                // Second `next`: hold it; the process is about to be killed.
                std::thread::sleep(Duration::from_secs(30));
                return Ok(());
            }
            let _ = signals.send(Signal::Next(now));
            let deadline =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() + 30_000).unwrap_or_default();
            write!(
                writer,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: bench-1\r\nlambda-runtime-deadline-ms: {deadline}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\nlambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\ncontent-length: {}\r\n\r\n{event}",
                event.len()
            )?;
        } else {
            let signal = if path.ends_with("/response") { Signal::Response(Instant::now()) } else { Signal::Error };
            let _ = signals.send(signal);
            write!(writer, "HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{{\"status\":\"OK\"}}")?;
        }
        writer.flush()?;
    }
}

/// Median, min and max in milliseconds.
pub fn summary(samples: &[Duration]) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let mid = ms.len() / 2;
    let median = if ms.len() % 2 == 0 { (ms[mid - 1] + ms[mid]) / 2.0 } else { ms[mid] };
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
