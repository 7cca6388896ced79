//! The assistant's answers (documented in `openapi.yaml`, tag `assistant`; checked by
//! `wire_tests.rs`).

pub use bourse_runtime::assistant::{KeyView, MessageView, PreferencesView, ThreadView, ToolCallView};
use serde::Serialize;

/// `GET /v1/assistant/threads/{id}`: the thread and its latest messages, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadDetail {
    #[serde(flatten)]
    pub thread: ThreadView,
    pub messages: Vec<MessageView>,
}

/// `POST /v1/assistant/threads/{id}/messages` (and the `done` event of the stream).
#[derive(Debug, Clone, Serialize)]
pub struct AnswerView {
    pub thread_id: String,
    /// `model`, or `fallback` (the rule-based analysis answered; `fallback_reason` says why).
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    pub question: MessageView,
    pub answer: MessageView,
    /// Model calls this answer made (tool rounds included).
    pub model_calls: u32,
}

/// `GET /v1/assistant/endpoints`: where a user's own key may be used, and Bourse's provider.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointsView {
    /// `bedrock`, `openai` or `none` (answers are the fallback).
    pub bourse_provider: String,
    pub bourse_model: String,
    pub own_key_endpoints: Vec<String>,
}
