//! Secrets, read from Secrets Manager once per instance (at init): never from environment
//! variables, which `GetFunctionConfiguration` shows in clear.

use crate::AwsClients;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use bourse_config::{Secret, SecretSource};

/// Why a secret could not be had. The message names the secret, never its value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("secret {secret_id} could not be read ({code}): {message}")]
    Unreadable { secret_id: String, code: String, message: String },
    #[error("secret {secret_id} has no SecretString that is a JSON object with a non-empty string under {json_key:?}")]
    Shape { secret_id: String, json_key: &'static str },
}

/// The value `source` names. `Inline` costs nothing; `SecretsManager` is one `GetSecretValue`
/// (the SDK's three attempts, bounded by its 5 s operation timeout) whose `SecretString` is a
/// JSON object holding the value under `json_key`.
pub async fn resolve(clients: &AwsClients, source: &SecretSource) -> Result<Secret, SecretError> {
    let (secret_id, json_key) = match source {
        SecretSource::Inline(value) => return Ok(value.clone()),
        SecretSource::SecretsManager { secret_id, json_key } => (secret_id, *json_key),
    };
    let output = clients.secrets.get_secret_value().secret_id(secret_id).send().await.map_err(|err| SecretError::Unreadable {
        secret_id: secret_id.clone(),
        code: err.code().unwrap_or("unavailable").to_owned(),
        message: err.message().map_or_else(|| err.to_string(), str::to_owned),
    })?;
    let shape = || SecretError::Shape { secret_id: secret_id.clone(), json_key };
    let text = output.secret_string().ok_or_else(shape)?;
    value_of(text, json_key).map(Secret::new).ok_or_else(shape)
}

/// The non-empty string under `json_key` of a JSON object.
fn value_of(text: &str, json_key: &str) -> Option<String> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    object.get(json_key)?.as_str().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::value_of;

    #[test]
    fn the_value_is_a_non_empty_string_under_its_key() {
        assert_eq!(value_of(r#"{"privateKey": " MC4C "}"#, "privateKey").as_deref(), Some("MC4C"));
        for bad in [r#"{"privateKey": ""}"#, r#"{"other": "x"}"#, r#"{"privateKey": 1}"#, "MC4C", "[]"] {
            assert_eq!(value_of(bad, "privateKey"), None, "{bad}");
        }
    }
}
