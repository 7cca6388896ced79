//! Chat-model clients for the assistant, behind the domain's provider-neutral exchange
//! ([`ChatRequest`] in, [`ChatReply`] out):
//!
//! - [`OpenAiCompatible`]: any OpenAI-compatible chat-completions endpoint (the hosted API, or a
//!   self-hosted model server), over the crate's own HTTP client. The API key is passed per call,
//!   not kept: a user's own key is decrypted only for the call that uses it;
//! - [`Bedrock`]: Amazon Bedrock Runtime's Converse and ConverseStream, over the AWS SDK;
//! - [`stub::ChatStub`]: a local OpenAI-compatible server replaying a script (tests and
//!   benchmarks only).
//!
//! Both clients stream when given a [`DeltaSink`] (every text delta is sent as it arrives, so a
//! reply can be shown while it is written) and answer the same complete [`ChatReply`] either way:
//! its text is the concatenation of the deltas. Every failure is one [`ChatError`], the same
//! whichever provider answered, so the caller decides once what to retry, refuse or fall back
//! from. The whole exchange, a streamed body included, is bounded by the caller's timeout.

pub mod bedrock;
pub mod openai;
pub mod stub;

pub use bedrock::Bedrock;
pub use openai::OpenAiCompatible;

use bourse_domain::assistant::{StopReason, ToolCall};
use std::collections::BTreeMap;
use std::time::Duration;

/// Where text deltas go while a reply streams (`None` = non-streaming call). A closed receiver is
/// not an error: the reply is still read to its end (its usage is billed all the same).
pub type DeltaSink = tokio::sync::mpsc::UnboundedSender<String>;

/// Why a model gave no reply. Never carries an API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// The whole call exceeded its deadline.
    #[error("the model did not answer in time")]
    Timeout,
    /// The provider refused the credentials (401/403: a bad or revoked key, or no access).
    #[error("the provider refused the credentials")]
    Unauthorized,
    /// The provider's rate limit or quota, with its `Retry-After` when it gave one.
    #[error("rate limited by the provider (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// The provider refused the request itself (unknown model, input too long, ...): retrying
    /// the same cannot help. The provider's message, truncated.
    #[error("the provider refused the request: {0}")]
    Refused(String),
    /// The provider failed (5xx, or its service exceptions).
    #[error("provider error: HTTP {0}")]
    Server(u16),
    /// Connection refused, reset, TLS failure.
    #[error("transport: {0}")]
    Transport(String),
    /// A reply we cannot parse.
    #[error("malformed reply: {0}")]
    Malformed(String),
}

impl ChatError {
    /// A short label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ChatError::Timeout => "timeout",
            ChatError::Unauthorized => "unauthorized",
            ChatError::RateLimited { .. } => "rate_limited",
            ChatError::Refused(_) => "refused",
            ChatError::Server(_) => "server",
            ChatError::Transport(_) => "transport",
            ChatError::Malformed(_) => "malformed",
        }
    }
}

impl From<crate::ProviderError> for ChatError {
    fn from(err: crate::ProviderError) -> Self {
        use crate::ProviderError as P;
        match err {
            P::Timeout => ChatError::Timeout,
            P::RateLimited { retry_after } => ChatError::RateLimited { retry_after },
            P::Server(status) => ChatError::Server(status),
            P::Malformed(message) => ChatError::Malformed(message),
            P::Transport(message) => ChatError::Transport(message),
            other => ChatError::Transport(other.to_string()),
        }
    }
}

/// Longest provider message kept in an error.
const MESSAGE_CHARS: usize = 200;

/// `message` cut to [`MESSAGE_CHARS`] characters (on a character boundary).
fn truncated(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_owned(),
    }
}

/// A tool call's arguments as the model wrote them: the JSON it wrote, or the text itself as a
/// JSON string when it is not JSON (the caller validates the arguments and refuses those). No
/// arguments at all (a tool without parameters, streamed with no fragment) are `{}`.
fn parse_arguments(raw: &str) -> serde_json::Value {
    if raw.trim().is_empty() {
        return serde_json::Value::Object(serde_json::Map::new());
    }
    serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.to_owned()))
}

/// A tool call being assembled from streamed fragments.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Tool calls streamed in fragments, by the provider's index, assembled in index order.
#[derive(Debug, Default)]
struct PartialCalls(BTreeMap<i64, PartialCall>);

impl PartialCalls {
    /// Adds one fragment: the id and name arrive once (the first ones are kept), the arguments
    /// in pieces.
    fn add(&mut self, index: i64, id: Option<&str>, name: Option<&str>, arguments: Option<&str>) {
        let call = self.0.entry(index).or_default();
        if let Some(id) = id.filter(|id| !id.is_empty() && call.id.is_empty()) {
            id.clone_into(&mut call.id);
        }
        if let Some(name) = name.filter(|name| !name.is_empty() && call.name.is_empty()) {
            name.clone_into(&mut call.name);
        }
        if let Some(arguments) = arguments {
            call.arguments.push_str(arguments);
        }
    }

    fn finish(self) -> Vec<ToolCall> {
        self.0
            .into_iter()
            .map(|(index, call)| ToolCall {
                id: if call.id.is_empty() { format!("call_{index}") } else { call.id },
                name: call.name,
                arguments: parse_arguments(&call.arguments),
            })
            .collect()
    }
}

/// A reply that asks for tools wants them run, whatever stop reason the server gave (some
/// compatible servers say `stop`).
fn stop_with_tools(stop: StopReason, tool_calls: &[ToolCall]) -> StopReason {
    if stop == StopReason::EndTurn && !tool_calls.is_empty() { StopReason::ToolUse } else { stop }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_truncated_on_a_character_boundary() {
        assert_eq!(truncated("short"), "short");
        let long = "é".repeat(300);
        let cut = truncated(&long);
        assert_eq!(cut.chars().count(), MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn arguments_that_are_not_json_are_kept_as_a_string() {
        assert_eq!(parse_arguments(r#"{"a":1}"#), serde_json::json!({"a": 1}));
        assert_eq!(parse_arguments("{\"a\":"), serde_json::json!("{\"a\":"));
        assert_eq!(parse_arguments(" "), serde_json::json!({}));
    }

    #[test]
    fn fragments_are_assembled_by_index() {
        let mut calls = PartialCalls::default();
        calls.add(1, Some("b"), Some("second"), Some(""));
        calls.add(0, Some("a"), Some("first"), Some("{\"x\""));
        calls.add(0, None, None, Some(":1}"));
        calls.add(1, None, None, Some("{}"));
        let calls = calls.finish();
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].id.as_str(), calls[0].name.as_str()), ("a", "first"));
        assert_eq!(calls[0].arguments, serde_json::json!({"x": 1}));
        assert_eq!(calls[1].arguments, serde_json::json!({}));
        let kinds: Vec<_> = [ChatError::Timeout, ChatError::RateLimited { retry_after: None }].iter().map(ChatError::kind).collect();
        assert_eq!(kinds, ["timeout", "rate_limited"]);
    }
}
