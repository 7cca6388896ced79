//! One exchange with a chat model, in the provider-neutral shape every client translates from
//! and to (Bedrock's Converse, OpenAI-compatible chat completions): the conversation so far, the
//! tools the model may call, and the reply with its token counts.

use serde::{Deserialize, Serialize};

/// Who wrote a turn of the conversation sent to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    User,
    Assistant,
    /// A tool's result, answering the assistant turn's call with the same id.
    Tool,
}

/// A tool call the model asked for: `arguments` is the JSON object it wrote (unvalidated: the
/// caller parses it like API input before anything runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call; the result carries it back.
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
}

/// One turn sent to a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatTurn {
    pub role: ChatRole,
    /// The text (for a tool turn: the tool's result, JSON).
    pub content: String,
    /// What an assistant turn asked to run (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool turn: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatTurn {
    pub fn user(content: impl Into<String>) -> Self {
        ChatTurn { role: ChatRole::User, content: content.into(), tool_calls: vec![], tool_call_id: None }
    }

    pub fn assistant(content: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        ChatTurn { role: ChatRole::Assistant, content: content.into(), tool_calls, tool_call_id: None }
    }

    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        ChatTurn { role: ChatRole::Tool, content: content.into(), tool_calls: vec![], tool_call_id: Some(call_id.into()) }
    }
}

/// A tool the model may call: its name, what it does, and its arguments as a JSON Schema object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: serde_json::Value,
}

/// Everything one model call needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    /// The system prompt (sent as the provider's system field, never as a user turn).
    pub system: String,
    pub turns: Vec<ChatTurn>,
    pub tools: Vec<ToolSpec>,
    /// 0 to 1.
    pub temperature: f32,
    pub max_output_tokens: u32,
}

/// Tokens one call consumed, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl TokenUsage {
    pub fn plus(self, other: TokenUsage) -> TokenUsage {
        TokenUsage { input_tokens: self.input_tokens + other.input_tokens, output_tokens: self.output_tokens + other.output_tokens }
    }
}

/// Why a model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A complete answer.
    EndTurn,
    /// It wants tools run (the reply's `tool_calls`).
    ToolUse,
    /// It hit `max_output_tokens`.
    MaxTokens,
    /// The provider's content filter stopped it.
    ContentFiltered,
}

/// A model's reply to one call.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: TokenUsage,
    pub stop: StopReason,
}
