//! A user's assistant preferences: which provider answers (Bourse's own, or one of the user's
//! keys), the model, the temperature, the answer language and the stated risk profile.

use serde::{Deserialize, Serialize};

/// The longest model id accepted.
pub const MAX_MODEL_CHARS: usize = 128;

/// Who answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProviderChoice {
    /// Bourse's provider (Amazon Bedrock as deployed), paid by Bourse within the plan's budget.
    #[default]
    Bourse,
    /// One of the user's own keys (by id), at the endpoint it was saved for.
    OwnKey(AssistantKeyId),
}

pub use crate::ids::AssistantKeyId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskProfile {
    Conservative,
    #[default]
    Balanced,
    Growth,
    Aggressive,
}

impl RiskProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskProfile::Conservative => "conservative",
            RiskProfile::Balanced => "balanced",
            RiskProfile::Growth => "growth",
            RiskProfile::Aggressive => "aggressive",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [RiskProfile::Conservative, RiskProfile::Balanced, RiskProfile::Growth, RiskProfile::Aggressive]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

/// The answer languages offered (ISO 639-1 codes).
pub const LANGUAGES: [(&str, &str); 10] = [
    ("en", "English"),
    ("fr", "French"),
    ("de", "German"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("nl", "Dutch"),
    ("ja", "Japanese"),
    ("zh", "Chinese"),
    ("ko", "Korean"),
];

/// An answer language: one of [`LANGUAGES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Language(usize);

impl Language {
    pub fn parse(code: &str) -> Option<Self> {
        LANGUAGES.iter().position(|(c, _)| c.eq_ignore_ascii_case(code.trim())).map(Language)
    }

    pub fn code(self) -> &'static str {
        LANGUAGES[self.0].0
    }

    pub fn name(self) -> &'static str {
        LANGUAGES[self.0].1
    }
}

/// A model id: 1 to [`MAX_MODEL_CHARS`] of letters, digits and `. _ : / -`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelId(String);

impl ModelId {
    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text.len() <= MAX_MODEL_CHARS
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'));
        ok.then(|| ModelId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A temperature from 0 to 1 in hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Temperature(u8);

impl Default for Temperature {
    fn default() -> Self {
        Temperature(20)
    }
}

impl Temperature {
    pub fn from_f64(value: f64) -> Option<Self> {
        (value.is_finite() && (0.0..=1.0).contains(&value)).then(|| Temperature((value * 100.0).round() as u8))
    }

    pub fn from_hundredths(value: u8) -> Option<Self> {
        (value <= 100).then_some(Temperature(value))
    }

    pub fn hundredths(self) -> u8 {
        self.0
    }

    pub fn as_f32(self) -> f32 {
        f32::from(self.0) / 100.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preferences {
    pub provider: ProviderChoice,
    /// `None`: the provider's configured default model.
    pub model: Option<ModelId>,
    pub temperature: Temperature,
    pub language: Language,
    pub risk_profile: RiskProfile,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_only_when_valid() {
        assert_eq!(Language::parse("FR").map(Language::name), Some("French"));
        assert!(Language::parse("xx").is_none());
        assert_eq!(RiskProfile::parse("growth"), Some(RiskProfile::Growth));
        assert!(RiskProfile::parse("yolo").is_none());
        assert!(ModelId::parse("amazon.nova-micro-v1:0").is_some());
        assert!(ModelId::parse("gpt 4").is_none() && ModelId::parse("").is_none() && ModelId::parse(&"m".repeat(129)).is_none());
        assert_eq!(Temperature::from_f64(0.7).map(Temperature::hundredths), Some(70));
        assert!(Temperature::from_f64(1.5).is_none() && Temperature::from_f64(f64::NAN).is_none());
    }
}
