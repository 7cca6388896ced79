//! Users' own provider keys at rest: envelope encryption under the deployment's KMS key. Saving
//! asks KMS for a fresh data key (1 `GenerateDataKey`), seals the provider key with it and keeps
//! only the data key's encrypted form; using a key asks KMS to decrypt that data key (1
//! `Decrypt`) for the one model call. Both calls carry an encryption context naming the user and
//! the key's id, so an envelope copied to another user's item does not open. Listing keys,
//! reading preferences and answering with Bourse's provider never call KMS.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bourse_domain::UserId;
use bourse_domain::assistant::envelope::{self, ProviderKey};
use bourse_domain::ids::AssistantKeyId;
use bourse_storage::assistant::KeyRecord;

/// Why a key could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no KMS key is configured (ASSISTANT_KMS_KEY_ID)")]
    NotConfigured,
    #[error("KMS {operation} failed: {message}")]
    Kms { operation: &'static str, message: String },
    #[error(transparent)]
    Envelope(#[from] envelope::EnvelopeError),
    #[error("no random bytes")]
    Random,
}

#[derive(Clone, Debug)]
pub struct Vault {
    kms: Option<(aws_sdk_kms::Client, String)>,
}

fn owner(user: &UserId, key: &AssistantKeyId) -> String {
    format!("bourse-assistant-key:{user}:{key}")
}

fn kms_error<E, R>(operation: &'static str) -> impl Fn(aws_sdk_kms::error::SdkError<E, R>) -> VaultError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    move |err| {
        let message = match err.as_service_error() {
            Some(service) => format!("{}: {}", service.code().unwrap_or("error"), service.message().unwrap_or_default()),
            None => format!("{err:?}").chars().take(200).collect(),
        };
        VaultError::Kms { operation, message }
    }
}

impl Vault {
    pub fn new(kms: Option<(aws_sdk_kms::Client, String)>) -> Self {
        Vault { kms }
    }

    pub fn configured(&self) -> bool {
        self.kms.is_some()
    }

    fn kms(&self) -> Result<&(aws_sdk_kms::Client, String), VaultError> {
        self.kms.as_ref().ok_or(VaultError::NotConfigured)
    }

    /// Seals `key` for `user` as key `id`: (the encrypted data key, base64; the sealed key, hex).
    pub async fn seal(
        &self,
        user: &UserId,
        id: &AssistantKeyId,
        key: &ProviderKey,
        nonce: [u8; 12],
    ) -> Result<(String, String), VaultError> {
        let (client, key_id) = self.kms()?;
        let generated = client
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context("user", user.as_str())
            .encryption_context("key", id.as_str())
            .send()
            .await
            .map_err(kms_error("GenerateDataKey"))?;
        let plain = generated.plaintext.ok_or(VaultError::Kms { operation: "GenerateDataKey", message: "no plaintext".into() })?;
        let blob = generated.ciphertext_blob.ok_or(VaultError::Kms { operation: "GenerateDataKey", message: "no ciphertext".into() })?;
        let sealed = envelope::seal(plain.as_ref(), nonce, &owner(user, id), key)?;
        Ok((STANDARD.encode(blob.as_ref()), sealed))
    }

    /// Opens a saved key for one call.
    pub async fn open(&self, user: &UserId, record: &KeyRecord) -> Result<ProviderKey, VaultError> {
        let (client, _) = self.kms()?;
        let blob = STANDARD.decode(&record.data_key).map_err(|_| VaultError::Envelope(envelope::EnvelopeError::Open))?;
        let decrypted = client
            .decrypt()
            .ciphertext_blob(Blob::new(blob))
            .encryption_context("user", user.as_str())
            .encryption_context("key", record.id.as_str())
            .send()
            .await
            .map_err(kms_error("Decrypt"))?;
        let plain = decrypted.plaintext.ok_or(VaultError::Kms { operation: "Decrypt", message: "no plaintext".into() })?;
        Ok(envelope::open(plain.as_ref(), &owner(user, &record.id), &record.sealed)?)
    }
}
