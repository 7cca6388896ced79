//! The assistant's rules: the provider-neutral chat exchange, the tools over a user's own data
//! (their arguments parsed like API input, their results capped and fenced as data), the price
//! table and budgets, and the rule-based fallback answer.

pub mod chat;

pub use chat::{ChatReply, ChatRequest, ChatRole, ChatTurn, StopReason, TokenUsage, ToolCall, ToolSpec};
pub mod cost;
pub mod envelope;
pub mod fallback;
pub mod preferences;
pub mod prompt;
pub mod tools;
