//! The assistant's records as the API shows them — threads, messages, saved keys (their last four
//! characters only) and preferences — shared by the assistant's routes and the account export
//! (`GET /v1/me/export`), so both answer the same documented shapes (`openapi.yaml`:
//! `AssistantThread`, `AssistantMessage`, `AssistantKey`, `AssistantPreferences`).

use bourse_domain::assistant::preferences::{Language, ModelId, Preferences, ProviderChoice, RiskProfile, Temperature};
use bourse_domain::ids::AssistantKeyId;
use bourse_storage::assistant::{KeyRecord, MessageRecord, PreferencesRecord, ThreadRecord, ToolCallRecord};
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

/// The stored preferences with their defaults filled in (a value no longer valid reads as the default).
pub fn preferences_of(record: Option<PreferencesRecord>) -> Preferences {
    let Some(record) = record else { return Preferences::default() };
    Preferences {
        provider: match record.provider.as_deref().and_then(|p| p.strip_prefix("key:")).and_then(|id| AssistantKeyId::parse(id).ok()) {
            Some(id) => ProviderChoice::OwnKey(id),
            None => ProviderChoice::Bourse,
        },
        model: record.model.as_deref().and_then(ModelId::parse),
        temperature: record.temperature.and_then(Temperature::from_hundredths).unwrap_or_default(),
        language: record.language.as_deref().and_then(Language::parse).unwrap_or_default(),
        risk_profile: record.risk_profile.as_deref().and_then(RiskProfile::parse).unwrap_or_default(),
    }
}

pub fn preferences_view(p: &Preferences) -> PreferencesView {
    let (provider, key_id) = match &p.provider {
        ProviderChoice::Bourse => ("bourse", None),
        ProviderChoice::OwnKey(id) => ("own_key", Some(id.to_string())),
    };
    PreferencesView {
        provider: provider.into(),
        key_id,
        model: p.model.as_ref().map(|m| m.as_str().to_owned()),
        temperature: f64::from(p.temperature.hundredths()) / 100.0,
        language: p.language.code().into(),
        risk_profile: p.risk_profile.as_str().into(),
    }
}
