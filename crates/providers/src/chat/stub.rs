//! A local stand-in for an OpenAI-compatible chat model, for tests and benchmarks only: a tiny
//! HTTP/1.1 server bound to 127.0.0.1 on an ephemeral port that answers
//! `POST /v1/chat/completions` from a script, so the assistant's loop (tool calls, streaming,
//! failures, timeouts) can be exercised without a network or a model.
//!
//! Replies are served in script order, one per request; once the script is exhausted every
//! request gets `"(stub) done"` (10 tokens in, 5 out). A streamed request (`"stream": true`) gets
//! real server-sent events over a chunked body, as the hosted API sends them: the text in several
//! deltas (one per word), each tool call's arguments in at least two fragments, a last chunk with
//! the finish reason, the usage chunk when `stream_options.include_usage` asks for it, then
//! `data: [DONE]`. Connections are kept alive between requests.
//!
//! Every request body and `Authorization` header is kept for assertions: the stub never checks a
//! key (a [`StubReply::Status`] of 401 plays a refused one).

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StubReply {
    /// A complete text answer (finish reason `stop`).
    Text { text: String, input_tokens: u64, output_tokens: u64 },
    /// Tool calls (finish reason `tool_calls`): names and arguments. Arguments given as a JSON
    /// string are sent as that raw text (to play a model writing arguments that are not JSON).
    ToolCalls { calls: Vec<(String, Value)>, input_tokens: u64, output_tokens: u64 },
    /// This HTTP status with an OpenAI-style error body (`Retry-After: 1` with a 429).
    Status(u16),
    /// Waits, then answers (for timeout tests).
    Delay(Duration, Box<StubReply>),
    /// Answers at a model's pace: a streamed text sends one word per interval; an answer not
    /// streamed waits that long per word first (for the streaming benchmark).
    Paced(Duration, Box<StubReply>),
}

impl StubReply {
    /// A text answer.
    pub fn text(text: &str, input_tokens: u64, output_tokens: u64) -> Self {
        StubReply::Text { text: text.to_owned(), input_tokens, output_tokens }
    }
}

#[derive(Default)]
struct Seen {
    requests: Vec<Value>,
    authorizations: Vec<String>,
}

struct State {
    script: Mutex<VecDeque<StubReply>>,
    seen: Mutex<Seen>,
}

/// The running stub; stopped when dropped (or by [`ChatStub::stop`]).
pub struct ChatStub {
    address: std::net::SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ChatStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ChatStub {
    /// Starts a stub on 127.0.0.1 with an ephemeral port, answering `script` in order. Must be
    /// called within a Tokio runtime (the server runs on it).
    pub fn start(script: Vec<StubReply>) -> std::io::Result<ChatStub> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let state = Arc::new(State { script: Mutex::new(script.into()), seen: Mutex::new(Seen::default()) });
        let shared = state.clone();
        let task = runtime.spawn(async move {
            // Connections live in the set: stopping the stub (aborting this task) drops them all.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                let state = shared.clone();
                connections.spawn(async move {
                    let _ = serve(stream, &state).await;
                });
            }
        });
        Ok(ChatStub { address, state, task })
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL of an OpenAI-compatible client.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Every request body received, in order (a body that was not JSON as a string).
    pub fn requests(&self) -> Vec<Value> {
        self.state.seen.lock().map(|s| s.requests.clone()).unwrap_or_default()
    }

    /// The `Authorization` header of every request, in order (empty when there was none).
    pub fn authorizations(&self) -> Vec<String> {
        self.state.seen.lock().map(|s| s.authorizations.clone()).unwrap_or_default()
    }

    /// Stops the server and closes its connections (the requests seen stay readable).
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Longest request head or body accepted.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Serves the requests of one connection, kept alive until the client closes it.
async fn serve(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut buffer: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 || buffer.len() > MAX_REQUEST_BYTES {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default().to_owned();
        let mut length = 0usize;
        let mut authorization = String::new();
        let mut close = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "authorization" => value.clone_into(&mut authorization),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        if length > MAX_REQUEST_BYTES {
            return respond_json(&mut stream, 413, &json!({"error": {"message": "request too large"}}), true).await;
        }
        while buffer.len() < head_end + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        if method != "POST" || path != "/v1/chat/completions" {
            respond_json(&mut stream, 404, &error_body(404), close).await?;
        } else {
            let request = serde_json::from_slice::<Value>(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
            let number = match state.seen.lock() {
                Ok(mut seen) => {
                    seen.requests.push(request.clone());
                    seen.authorizations.push(authorization);
                    seen.requests.len()
                }
                Err(_) => 0,
            };
            let reply = state.script.lock().ok().and_then(|mut s| s.pop_front()).unwrap_or_else(|| StubReply::text("(stub) done", 10, 5));
            answer(&mut stream, &request, number, reply, close).await?;
        }
        if close {
            return stream.shutdown().await;
        }
    }
}

/// The reply without its timing wrappers (a delay is waited out here), and the pace per word.
async fn timed(mut reply: StubReply) -> (StubReply, Duration) {
    let mut pace = Duration::ZERO;
    loop {
        reply = match reply {
            StubReply::Delay(wait, inner) => {
                tokio::time::sleep(wait).await;
                *inner
            }
            StubReply::Paced(every, inner) => {
                pace = every;
                *inner
            }
            other => return (other, pace),
        };
    }
}

async fn answer(stream: &mut TcpStream, request: &Value, number: usize, reply: StubReply, close: bool) -> std::io::Result<()> {
    let (reply, pace) = timed(reply).await;
    let model = request.get("model").and_then(Value::as_str).unwrap_or("stub-model").to_owned();
    let streamed = request.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage = request.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
    let (text, calls, input_tokens, output_tokens) = match reply {
        StubReply::Status(status) => return respond_json(stream, status, &error_body(status), close).await,
        StubReply::Delay(..) | StubReply::Paced(..) => return Ok(()), // unwrapped above
        StubReply::Text { text, input_tokens, output_tokens } => (text, vec![], input_tokens, output_tokens),
        StubReply::ToolCalls { calls, input_tokens, output_tokens } => (String::new(), calls, input_tokens, output_tokens),
    };
    let id = format!("chatcmpl-stub-{number}");
    let calls: Vec<(String, String, String)> = calls
        .into_iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            let arguments = match arguments {
                Value::String(raw) => raw,
                other => other.to_string(),
            };
            (format!("call_{number}_{i}"), name, arguments)
        })
        .collect();
    let finish = if calls.is_empty() { "stop" } else { "tool_calls" };
    let usage = json!({"prompt_tokens": input_tokens, "completion_tokens": output_tokens, "total_tokens": input_tokens + output_tokens});
    if !streamed {
        if !pace.is_zero() {
            tokio::time::sleep(pace * words(&text).len() as u32).await;
        }
        let tool_calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, arguments)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}))
            .collect();
        let mut message =
            json!({"role": "assistant", "content": if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { json!(text) }});
        if !tool_calls.is_empty() {
            message["tool_calls"] = json!(tool_calls);
        }
        let body = json!({
            "id": id, "object": "chat.completion", "created": 1_700_000_000, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        });
        return respond_json(stream, 200, &body, close).await;
    }

    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n{}\r\n",
        if close { "Connection: close\r\n" } else { "" }
    );
    stream.write_all(head.as_bytes()).await?;
    let chunk = |delta: Value, finish: Option<&str>| {
        let mut chunk = json!({
            "id": id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    };
    send_event(stream, &chunk(json!({"role": "assistant", "content": ""}), None).to_string()).await?;
    for (i, word) in words(&text).into_iter().enumerate() {
        // (A zero sleep would still wait for the timer's next millisecond tick.)
        if i > 0 && !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
        send_event(stream, &chunk(json!({"content": word}), None).to_string()).await?;
    }
    for (index, (call_id, name, arguments)) in calls.iter().enumerate() {
        let first =
            json!({"tool_calls": [{"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]});
        send_event(stream, &chunk(first, None).to_string()).await?;
        for piece in fragments(arguments) {
            send_event(stream, &chunk(json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}), None).to_string())
                .await?;
        }
    }
    send_event(stream, &chunk(json!({}), Some(finish)).to_string()).await?;
    if include_usage {
        let last =
            json!({"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model, "choices": [], "usage": usage});
        send_event(stream, &last.to_string()).await?;
    }
    send_event(stream, "[DONE]").await?;
    stream.write_all(b"0\r\n\r\n").await?;
    stream.flush().await
}

/// `text` in deltas of one word each, the spaces kept (so they concatenate back to `text`).
fn words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == ' ' && i > start {
            pieces.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// `arguments` in three fragments (at least two; cut on character boundaries).
fn fragments(arguments: &str) -> Vec<&str> {
    let chars: Vec<usize> = arguments.char_indices().map(|(i, _)| i).collect();
    if chars.len() < 2 {
        return vec![arguments, ""];
    }
    let cuts = [0, chars[chars.len() / 3].max(chars[1]), chars[2 * chars.len() / 3].max(chars[1]), arguments.len()];
    cuts.windows(2).map(|w| &arguments[w[0]..w[1].max(w[0])]).filter(|piece| !piece.is_empty()).collect()
}

/// One server-sent event, as one chunk of the chunked body.
async fn send_event(stream: &mut TcpStream, data: &str) -> std::io::Result<()> {
    let event = format!("data: {data}\n\n");
    stream.write_all(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes()).await?;
    stream.flush().await
}

fn error_body(status: u16) -> Value {
    let (kind, message) = match status {
        401 => ("invalid_api_key", "Incorrect API key provided."),
        403 => ("permission_denied", "You are not allowed to sample from this model."),
        404 => ("not_found", "The model does not exist or you do not have access to it."),
        429 => ("rate_limit_exceeded", "Rate limit reached for requests."),
        400..=499 => ("invalid_request_error", "The request was refused."),
        _ => ("server_error", "The server had an error while processing your request."),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": kind}})
}

async fn respond_json(stream: &mut TcpStream, status: u16, body: &Value, close: bool) -> std::io::Result<()> {
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let retry = if status == 429 { "Retry-After: 1\r\n" } else { "" };
    let connection = if close { "Connection: close\r\n" } else { "" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{retry}{connection}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_arguments_are_split_into_pieces_that_concatenate_back() {
        assert_eq!(words("Hello dear world"), ["Hello", " dear", " world"]);
        assert_eq!(words("  two  spaces").concat(), "  two  spaces");
        assert!(words("").is_empty());
        for arguments in [r#"{"symbol":"AAPL"}"#, "{}", "x", "éàü", ""] {
            let pieces = fragments(arguments);
            assert!(pieces.len() >= 2 || arguments.chars().count() < 2, "{arguments}: {pieces:?}");
            assert_eq!(pieces.concat(), arguments);
        }
        assert!(fragments("{}").len() >= 2);
    }
}
