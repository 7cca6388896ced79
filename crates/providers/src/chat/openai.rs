//! A client of any OpenAI-compatible chat-completions endpoint (`POST {base}/chat/completions`):
//! the hosted API with a user's own key, or a self-hosted model server speaking the same format.
//!
//! The key is an argument of each call, never a field: a user's own key is decrypted only for the
//! call that uses it, and nothing here can print it (it is sent as a sensitive header, and a
//! provider message quoting it is redacted before it becomes an error). Streaming uses the
//! server-sent events of `"stream": true`, with the usage asked for in a last chunk
//! (`stream_options.include_usage`), so a streamed call is billed like a plain one.

use super::{ChatError, DeltaSink, PartialCalls, parse_arguments, stop_with_tools, truncated};
use crate::http_client::{HttpClient, StreamingResponse};
use bourse_domain::assistant::{ChatReply, ChatRequest, ChatRole, ChatTurn, StopReason, TokenUsage, ToolCall};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// A chat-completions endpoint. Cheap to clone (the HTTP client's pool is shared).
#[derive(Clone)]
pub struct OpenAiCompatible {
    http: HttpClient,
    url: String,
}

impl std::fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatible").field("url", &self.url).finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    /// `base_url` like `https://api.openai.com/v1` or `http://127.0.0.1:PORT/v1`: requests go
    /// to `{base_url}/chat/completions`.
    pub fn new(http: &HttpClient, base_url: &str) -> Result<Self, ChatError> {
        let base = base_url.trim_end_matches('/');
        let uri: http::Uri = base.parse().map_err(|e| ChatError::Transport(format!("bad base URL: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ChatError::Transport("bad base URL: an http or https URL is needed".into()));
        }
        Ok(OpenAiCompatible { http: http.clone(), url: format!("{base}/chat/completions") })
    }

    /// One call with `api_key` (sent as `Authorization: Bearer`). With `deltas`, the reply
    /// streams and every text delta is sent there as it arrives. The whole exchange is bounded
    /// by `timeout`.
    pub async fn complete(
        &self,
        api_key: &str,
        request: &ChatRequest,
        deltas: Option<&DeltaSink>,
        timeout: Duration,
    ) -> Result<ChatReply, ChatError> {
        let body =
            serde_json::to_vec(&request_body(request, deltas.is_some())).map_err(|e| ChatError::Transport(format!("request body: {e}")))?;
        let bearer = format!("Bearer {api_key}");
        let headers =
            [("authorization", bearer.as_str()), ("accept", if deltas.is_some() { "text/event-stream" } else { "application/json" })];
        let exchange = async {
            let response = self.http.post_json(&self.url, &headers, body.into()).await?;
            match deltas {
                Some(sink) if (200..300).contains(&response.status) => read_stream(response, sink).await,
                _ => {
                    let status = response.status;
                    let retry_after = response.retry_after;
                    let body = response.collect().await?;
                    match status {
                        200..=299 => parse_completion(&body),
                        _ => Err(status_error(status, retry_after, &body)),
                    }
                }
            }
        };
        let result = tokio::time::timeout(timeout, exchange).await.map_err(|_| ChatError::Timeout)?;
        result.map_err(|err| redacted(err, api_key))
    }
}

/// The request body: the system prompt as the first `system` message, then the turns, the
/// tools (when any), the sampling settings, and for a streamed call the usage chunk asked for.
fn request_body(request: &ChatRequest, stream: bool) -> Value {
    let mut messages = Vec::with_capacity(request.turns.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    messages.extend(request.turns.iter().map(message));
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        // f32 → f64 would send 0.20000000298…: rounded to what was meant.
        "temperature": (f64::from(request.temperature) * 1000.0).round() / 1000.0,
        "max_tokens": request.max_output_tokens,
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({"type": "function", "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters}})
            })
            .collect();
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn message(turn: &ChatTurn) -> Value {
    match turn.role {
        ChatRole::User => json!({"role": "user", "content": turn.content}),
        ChatRole::Tool => {
            json!({"role": "tool", "tool_call_id": turn.tool_call_id.as_deref().unwrap_or_default(), "content": turn.content})
        }
        ChatRole::Assistant if turn.tool_calls.is_empty() => json!({"role": "assistant", "content": turn.content}),
        ChatRole::Assistant => {
            let calls: Vec<Value> = turn
                .tool_calls
                .iter()
                .map(|call| {
                    // Arguments kept as text (they were not JSON) go back as the model wrote them.
                    let arguments = match &call.arguments {
                        Value::String(raw) => raw.clone(),
                        other => other.to_string(),
                    };
                    json!({"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}})
                })
                .collect();
            let content = if turn.content.is_empty() { Value::Null } else { Value::String(turn.content.clone()) };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
    }
}

fn stop_reason(finish: Option<&str>) -> StopReason {
    match finish {
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some("content_filter") => StopReason::ContentFiltered,
        _ => StopReason::EndTurn,
    }
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl Usage {
    fn tokens(&self) -> TokenUsage {
        TokenUsage { input_tokens: self.prompt_tokens.unwrap_or(0), output_tokens: self.completion_tokens.unwrap_or(0) }
    }
}

#[derive(Deserialize)]
struct FunctionCall {
    #[serde(default)]
    name: Option<String>,
    /// A JSON string (the API), or already an object (some compatible servers).
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    index: Option<i64>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionCall>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    delta: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    /// An error reported inside a 200 (mid-stream).
    #[serde(default)]
    error: Option<Value>,
}

fn parse_completion(body: &[u8]) -> Result<ChatReply, ChatError> {
    let completion: Completion = serde_json::from_slice(body).map_err(|e| ChatError::Malformed(format!("completion: {e}")))?;
    if let Some(error) = &completion.error {
        return Err(ChatError::Refused(truncated(&error_message(error))));
    }
    let choice = completion.choices.into_iter().next().ok_or_else(|| ChatError::Malformed("completion without a choice".into()))?;
    let message = choice.message.unwrap_or_default();
    let tool_calls: Vec<ToolCall> = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, call)| {
            let function = call.function.unwrap_or(FunctionCall { name: None, arguments: None });
            ToolCall {
                id: call.id.filter(|id| !id.is_empty()).unwrap_or_else(|| format!("call_{index}")),
                name: function.name.unwrap_or_default(),
                arguments: match function.arguments {
                    Some(Value::String(raw)) => parse_arguments(&raw),
                    Some(Value::Null) | None => parse_arguments(""),
                    Some(other) => other,
                },
            }
        })
        .collect();
    let stop = stop_with_tools(stop_reason(choice.finish_reason.as_deref()), &tool_calls);
    Ok(ChatReply {
        text: message.content.unwrap_or_default(),
        tool_calls,
        usage: completion.usage.as_ref().map(Usage::tokens).unwrap_or_default(),
        stop,
    })
}

/// What a streamed reply has said so far.
#[derive(Default)]
struct StreamState {
    text: String,
    calls: PartialCalls,
    finish: Option<String>,
    usage: TokenUsage,
    done: bool,
}

impl StreamState {
    /// One event's data: a chunk, or `[DONE]`.
    fn event(&mut self, data: &str, sink: &DeltaSink) -> Result<(), ChatError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Completion = serde_json::from_str(data).map_err(|e| ChatError::Malformed(format!("stream chunk: {e}")))?;
        if let Some(error) = &chunk.error {
            tracing::warn!(message = %truncated(&error_message(error)), "the model's stream reported an error");
            return Err(ChatError::Server(500));
        }
        if let Some(usage) = &chunk.usage {
            self.usage = usage.tokens();
        }
        for choice in chunk.choices {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    self.text.push_str(&text);
                    // A receiver gone away still lets the reply be read to its end (and billed).
                    let _ = sink.send(text);
                }
                for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                    let index = call.index.unwrap_or(position as i64);
                    let (name, arguments) = match call.function {
                        Some(FunctionCall { name, arguments }) => (name, arguments),
                        None => (None, None),
                    };
                    let arguments = match arguments {
                        Some(Value::String(piece)) => Some(piece),
                        Some(Value::Null) | None => None,
                        Some(other) => Some(other.to_string()),
                    };
                    self.calls.add(index, call.id.as_deref(), name.as_deref(), arguments.as_deref());
                }
            }
            if let Some(finish) = choice.finish_reason {
                self.finish = Some(finish);
            }
        }
        Ok(())
    }

    fn reply(self) -> Result<ChatReply, ChatError> {
        if !self.done && self.finish.is_none() {
            return Err(ChatError::Malformed("the stream ended before the reply did".into()));
        }
        let tool_calls = self.calls.finish();
        let stop = stop_with_tools(stop_reason(self.finish.as_deref()), &tool_calls);
        Ok(ChatReply { text: self.text, tool_calls, usage: self.usage, stop })
    }
}

/// Reads server-sent events line by line (`data:` lines, an empty line ending each event) until
/// `[DONE]` or the end of the body.
async fn read_stream(mut response: StreamingResponse, sink: &DeltaSink) -> Result<ChatReply, ChatError> {
    let mut state = StreamState::default();
    let mut pending: Vec<u8> = Vec::new();
    let mut data = String::new();
    loop {
        let chunk = response.chunk().await?;
        let ended = chunk.is_none();
        match chunk {
            Some(bytes) => pending.extend_from_slice(&bytes),
            None if !pending.is_empty() => pending.push(b'\n'),
            None => {}
        }
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = std::str::from_utf8(&line).map_err(|_| ChatError::Malformed("stream is not UTF-8".into()))?;
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !data.is_empty() {
                    state.event(&data, sink)?;
                    data.clear();
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
            // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing we use.
            if state.done {
                return state.reply();
            }
        }
        if ended {
            if !data.is_empty() {
                state.event(&data, sink)?;
            }
            return state.reply();
        }
    }
}

/// A provider's error message: `{"error": {"message": …}}`, `{"error": "…"}` or `{"message": …}`.
fn error_message(value: &Value) -> String {
    let text = value
        .pointer("/error/message")
        .or_else(|| value.get("message"))
        .or_else(|| value.get("error"))
        .or_else(|| value.pointer("/detail"))
        .unwrap_or(value);
    match text {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn status_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ChatError {
    match status {
        401 | 403 => ChatError::Unauthorized,
        429 => ChatError::RateLimited { retry_after },
        400..=499 => {
            let message = serde_json::from_slice::<Value>(body)
                .map(|v| error_message(&v))
                .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
            ChatError::Refused(truncated(&format!("HTTP {status}: {}", message.trim())))
        }
        500..=599 => ChatError::Server(status),
        other => ChatError::Malformed(format!("unexpected HTTP {other}")),
    }
}

/// `err` without `api_key`, should a provider have quoted it back.
fn redacted(err: ChatError, api_key: &str) -> ChatError {
    let clean =
        |message: String| if api_key.len() >= 4 && message.contains(api_key) { message.replace(api_key, "[redacted]") } else { message };
    match err {
        ChatError::Refused(m) => ChatError::Refused(clean(m)),
        ChatError::Transport(m) => ChatError::Transport(clean(m)),
        ChatError::Malformed(m) => ChatError::Malformed(clean(m)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        assert_eq!(stop_reason(Some("stop")), StopReason::EndTurn);
        assert_eq!(stop_reason(Some("tool_calls")), StopReason::ToolUse);
        assert_eq!(stop_reason(Some("length")), StopReason::MaxTokens);
        assert_eq!(stop_reason(Some("content_filter")), StopReason::ContentFiltered);
        assert_eq!(stop_reason(None), StopReason::EndTurn);
    }

    #[test]
    fn a_completion_without_usage_counts_zero() {
        let reply = parse_completion(br#"{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}"#).unwrap();
        assert_eq!((reply.text.as_str(), reply.usage, reply.stop), ("hi", TokenUsage::default(), StopReason::EndTurn));
        assert!(matches!(parse_completion(br#"{"choices":[]}"#), Err(ChatError::Malformed(_))));
        assert!(matches!(parse_completion(b"<html>"), Err(ChatError::Malformed(_))));
    }

    #[test]
    fn errors_are_mapped_and_never_quote_the_key() {
        let body = br#"{"error":{"message":"model sk-secret-123 does not exist","type":"invalid_request_error"}}"#;
        let err = redacted(status_error(404, None, body), "sk-secret-123");
        assert_eq!(err, ChatError::Refused("HTTP 404: model [redacted] does not exist".into()));
        assert_eq!(status_error(403, None, body), ChatError::Unauthorized);
        assert_eq!(status_error(502, None, b""), ChatError::Server(502));
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "x".repeat(1000));
        assert!(matches!(status_error(400, None, long.as_bytes()), ChatError::Refused(m) if m.chars().count() <= 201));
    }
}
