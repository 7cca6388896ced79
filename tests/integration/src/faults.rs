//! A fault-injecting proxy in front of DynamoDB Local: the real engine answers everything, except
//! the operations a test arms a fault for. Faults are what DynamoDB and the network really do:
//! a batch answered only in part (`UnprocessedKeys`), throttling, and a response lost after the
//! write was committed (the commit happened; the caller only sees a failure and retries).
//!
//! HTTP/1.1 only, one upstream connection per request; loopback only.

use bourse_runtime::Platform;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// BatchGetItem: every key comes back in `UnprocessedKeys` (nothing is read).
    AllKeysUnprocessed,
    /// `ProvisionedThroughputExceededException` (400), nothing is executed.
    Throttle,
    /// The request is executed by DynamoDB Local, then the connection is closed without an
    /// answer: the caller cannot tell a commit from a failure.
    DropResponseAfterCommit,
    /// TransactWriteItems: cancelled because another transaction was writing one of its items
    /// (`TransactionConflict` on its last item), nothing is executed.
    TransactionConflict,
}

#[derive(Debug)]
struct Armed {
    /// The `X-Amz-Target` operation, e.g. `TransactWriteItems`.
    operation: &'static str,
    fault: Fault,
    /// Matching requests still let through before the fault applies.
    skip: u32,
    remaining: u32,
}

#[derive(Default)]
struct State {
    /// While set, every connection is dropped unanswered: DynamoDB is down.
    down: std::sync::atomic::AtomicBool,
    armed: Mutex<Vec<Armed>>,
    /// Operations seen, in order (name only).
    seen: Mutex<Vec<String>>,
    injected: AtomicU64,
}

pub struct DynamoFaults {
    pub endpoint: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DynamoFaults {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DynamoFaults {
    /// A proxy on an ephemeral loopback port in front of `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> DynamoFaults {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fault proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let state = Arc::new(State::default());
        let (shared, upstream_addr) = (state.clone(), upstream.to_owned());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, upstream) = (shared.clone(), upstream_addr.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &upstream, &state).await;
                });
            }
        });
        DynamoFaults { endpoint, state, task }
    }

    /// A proxy in front of the test profile's DynamoDB Local.
    pub async fn in_front_of_the_stand_in() -> DynamoFaults {
        let platform = crate::platform("fault-proxy");
        let url = platform.config.aws.dynamodb_endpoint.as_ref().expect("the test profile sets a DynamoDB endpoint").as_str().to_owned();
        let upstream = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        DynamoFaults::start(&upstream).await
    }

    /// Applies `fault` to the next `times` requests of `operation`.
    pub fn arm(&self, operation: &'static str, fault: Fault, times: u32) {
        self.arm_after(operation, 0, fault, times);
    }

    /// Lets `skip` requests of `operation` through, then applies `fault` to the next `times`.
    pub fn arm_after(&self, operation: &'static str, skip: u32, fault: Fault, times: u32) {
        self.state.armed.lock().expect("fault list").push(Armed { operation, fault, skip, remaining: times });
    }

    /// Takes DynamoDB down (every request's connection dropped unanswered) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// Stops every fault still armed.
    pub fn disarm(&self) {
        self.state.armed.lock().expect("fault list").clear();
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> u64 {
        self.state.injected.load(Ordering::SeqCst)
    }

    /// How many requests of `operation` reached the proxy.
    pub fn count(&self, operation: &str) -> usize {
        self.state.seen.lock().expect("seen list").iter().filter(|o| *o == operation).count()
    }

    /// A platform for `service` whose DynamoDB requests go through this proxy.
    pub fn platform(&self, service: &'static str) -> Platform {
        self.route(&crate::platform(service))
    }

    /// `base` (its tables, queues, cache) with its DynamoDB requests going through this proxy.
    pub fn route(&self, base: &Platform) -> Platform {
        let mut config = (*base.config).clone();
        config.aws.dynamodb_endpoint =
            Some(bourse_config::EndpointUrl::parse("AWS_ENDPOINT_URL_DYNAMODB", &self.endpoint).expect("proxy endpoint"));
        Platform::new(config).expect("platform through the proxy")
    }
}

/// Reads one HTTP/1.1 message (head + `Content-Length` or chunked body) from `stream`; `None` at
/// EOF. A chunked body is returned decoded.
async fn read_message(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    if header(&head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        buffer.drain(..head_end);
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(at) = buffer.windows(2).position(|w| w == b"\r\n") {
                    break at;
                }
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(None);
                }
                buffer.extend_from_slice(&chunk[..n]);
            };
            let size_text = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).map_err(std::io::Error::other)?;
            while buffer.len() < line_end + 2 + size + 2 {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(None);
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            body.extend_from_slice(&buffer[line_end + 2..line_end + 2 + size]);
            buffer.drain(..line_end + 2 + size + 2);
            if size == 0 {
                let head =
                    head.lines().filter(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding")).collect::<Vec<_>>().join("\r\n");
                return Ok(Some((head, body)));
            }
        }
    }
    let length = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[head_end..head_end + length].to_vec();
    buffer.drain(..head_end + length);
    Ok(Some((head, body)))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

async fn serve(mut client: TcpStream, upstream: &str, state: &State) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    while let Some((head, body)) = read_message(&mut client, &mut buffer).await? {
        if state.down.load(Ordering::SeqCst) {
            state.injected.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        let operation = header(&head, "x-amz-target").and_then(|t| t.rsplit('.').next()).unwrap_or_default().to_owned();
        state.seen.lock().expect("seen list").push(operation.clone());
        let fault = {
            let mut armed = state.armed.lock().expect("fault list");
            let found = armed.iter_mut().find(|a| a.operation == operation && a.remaining > 0).and_then(|a| {
                if a.skip > 0 {
                    a.skip -= 1;
                    return None;
                }
                a.remaining -= 1;
                Some(a.fault)
            });
            armed.retain(|a| a.remaining > 0);
            found
        };
        if fault.is_some() {
            state.injected.fetch_add(1, Ordering::SeqCst);
        }
        let (status, answer) = match fault {
            Some(Fault::AllKeysUnprocessed) => {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                (200, json!({"Responses": {}, "UnprocessedKeys": request["RequestItems"]}).to_string().into_bytes())
            }
            Some(Fault::Throttle) => (
                400,
                json!({"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "message": "injected: the request rate is too high"})
                    .to_string()
                    .into_bytes(),
            ),
            Some(Fault::TransactionConflict) => {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let items = request["TransactItems"].as_array().map_or(1, Vec::len);
                let mut reasons: Vec<Value> = vec![json!({"Code": "None"}); items.saturating_sub(1)];
                reasons.push(json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}));
                let answer = json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
                    "CancellationReasons": reasons,
                });
                (400, answer.to_string().into_bytes())
            }
            Some(Fault::DropResponseAfterCommit) => {
                forward(upstream, &head, &body).await?;
                // The write is committed; the caller hears nothing.
                return Ok(());
            }
            None => forward(upstream, &head, &body).await?,
        };
        let reason = if status == 200 { "OK" } else { "Bad Request" };
        let reply =
            format!("HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n", answer.len());
        client.write_all(reply.as_bytes()).await?;
        client.write_all(&answer).await?;
    }
    Ok(())
}

/// Sends the request to DynamoDB Local and returns its status and body.
async fn forward(upstream: &str, head: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut connection = TcpStream::connect(upstream).await?;
    connection.write_all(head.as_bytes()).await?;
    connection.write_all(body).await?;
    let mut buffer = Vec::new();
    let (head, body) =
        read_message(&mut connection, &mut buffer).await?.ok_or_else(|| std::io::Error::other("DynamoDB Local closed the connection"))?;
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(500);
    Ok((status, body))
}
