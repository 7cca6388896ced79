//! A minimal Lambda Runtime API on 127.0.0.1, for running a function's real binary locally (the
//! init benchmark, the consumer's panic test): the first `GET …/invocation/next` gets the event,
//! later ones are held open until the process ends; every response or error post is acknowledged
//! and reported with its body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the function did, in order.
#[derive(Debug, Clone)]
pub enum Call {
    /// It asked for work (the first time: the event was delivered).
    Next(Instant),
    /// It answered the invocation with `body`.
    Response { at: Instant, request_id: String, body: String },
    /// It reported an invocation or init error.
    Error { path: String, body: String },
}

pub struct RuntimeApi {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: SocketAddr,
    pub calls: mpsc::Receiver<Call>,
}

impl RuntimeApi {
    /// Serves one invocation of `event` as `request_id`.
    pub fn start(event: String, request_id: &str) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let (sender, calls) = mpsc::channel();
        let request_id = request_id.to_owned();
        std::thread::spawn(move || {
            let delivered = Arc::new(AtomicBool::new(false));
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (event, request_id, sender, delivered) = (event.clone(), request_id.clone(), sender.clone(), delivered.clone());
                std::thread::spawn(move || {
                    let _ = serve_connection(stream, &event, &request_id, &sender, &delivered);
                });
            }
        });
        Ok(RuntimeApi { address, calls })
    }
}

fn serve_connection(
    stream: TcpStream,
    event: &str,
    request_id: &str,
    calls: &mpsc::Sender<Call>,
    delivered: &AtomicBool,
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
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        let body = String::from_utf8_lossy(&body).into_owned();
        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        if path.ends_with("/invocation/next") {
            let now = Instant::now();
            if delivered.swap(true, Ordering::SeqCst) {
                // Later `next`s: hold the connection; the process is about to end.
                std::thread::sleep(Duration::from_secs(30));
                return Ok(());
            }
            let _ = calls.send(Call::Next(now));
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() + 30_000).unwrap_or_default();
            write!(
                writer,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {request_id}\r\nlambda-runtime-deadline-ms: {deadline}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:local\r\nlambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\ncontent-length: {}\r\n\r\n{event}",
                event.len()
            )?;
        } else {
            let call = match path.strip_suffix("/response").and_then(|p| p.rsplit('/').next()) {
                Some(id) => Call::Response { at: Instant::now(), request_id: id.to_owned(), body },
                None => Call::Error { path: path.clone(), body },
            };
            let _ = calls.send(call);
            write!(writer, "HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{{\"status\":\"OK\"}}")?;
        }
        writer.flush()?;
    }
}
