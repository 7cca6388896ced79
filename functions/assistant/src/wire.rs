//! The assistant's answers (documented in `openapi.yaml`, tag `assistant`; checked by
//! `wire_tests.rs`).

use bourse_storage::assistant::{KeyRecord, MessageRecord, ThreadRecord, ToolCallRecord};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ThreadView {
    pub id: String,
    pub title: String,
    pub created_at: String,
    pub updated_at: String,
    pub message_count: u32,
}

impl From<&ThreadRecord> for ThreadView {
    fn from(t: &ThreadRecord) -> Self {
        ThreadView {
            id: t.id.to_string(),
            title: t.title.clone(),
            created_at: t.created_at.clone(),
            updated_at: t.updated_at.clone(),
            message_count: t.messages,
        }
    }
}

/// `GET /v1/assistant/threads/{id}`: the thread and its latest messages, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadDetail {
    #[serde(flatten)]
    pub thread: ThreadView,
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolCallView {
    pub name: String,
    /// The arguments the model wrote (JSON text).
    pub arguments: String,
    /// `ok`, `refused` (invalid arguments, never run) or `failed` (the read answered an error).
    pub outcome: String,
}

impl From<&ToolCallRecord> for ToolCallView {
    fn from(c: &ToolCallRecord) -> Self {
        ToolCallView { name: c.name.clone(), arguments: c.arguments.clone(), outcome: c.outcome.clone() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    pub seq: u32,
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    pub tool_calls: Vec<ToolCallView>,
    /// Answers only: `model` or `fallback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// USD, decimal text (answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<String>,
    pub created_at: String,
}

impl From<&MessageRecord> for MessageView {
    fn from(m: &MessageRecord) -> Self {
        MessageView {
            seq: m.seq,
            role: m.role.clone(),
            content: m.content.clone(),
            tool_calls: m.tool_calls.iter().map(ToolCallView::from).collect(),
            mode: m.mode.clone(),
            provider: m.provider.clone(),
            model: m.model.clone(),
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            cost_usd: m.cost.map(|c| c.normalize().to_string()),
            created_at: m.created_at.clone(),
        }
    }
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

#[derive(Debug, Clone, Serialize)]
pub struct PreferencesView {
    /// `bourse` (Bourse's provider) or `own_key`.
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub temperature: f64,
    pub language: String,
    pub risk_profile: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: String,
    /// The endpoint the key is for (one of the deployment's, `GET /v1/assistant/endpoints`).
    pub endpoint: String,
    pub label: String,
    /// The key's last four characters: all of it that is ever shown.
    pub last4: String,
    pub created_at: String,
}

impl From<&KeyRecord> for KeyView {
    fn from(k: &KeyRecord) -> Self {
        KeyView {
            id: k.id.to_string(),
            endpoint: k.endpoint.clone(),
            label: k.label.clone(),
            last4: k.last4.clone(),
            created_at: k.created_at.clone(),
        }
    }
}

/// `GET /v1/assistant/endpoints`: where a user's own key may be used, and Bourse's provider.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointsView {
    /// `bedrock`, `openai` or `none` (answers are the fallback).
    pub bourse_provider: String,
    pub bourse_model: String,
    pub own_key_endpoints: Vec<String>,
}
