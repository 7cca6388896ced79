//! A user's own provider key: parsed (never printed), and sealed at rest under a data key that
//! KMS generated and holds encrypted (envelope encryption; the KMS calls are the caller's). The
//! plain data key lives only for one seal or open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// A provider API key: 8 to 256 printable ASCII characters without spaces. `Debug` and
/// `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderKey(String);

impl std::fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProviderKey(…{})", self.last4())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("a key is 8 to 256 printable ASCII characters without spaces")]
    BadKey,
    #[error("a data key must be 32 bytes")]
    BadDataKey,
    #[error("a sealed key did not open (another data key, another owner, or altered)")]
    Open,
}

impl ProviderKey {
    pub fn parse(text: &str) -> Result<Self, EnvelopeError> {
        let text = text.trim();
        if (8..=256).contains(&text.len()) && text.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            Ok(ProviderKey(text.to_owned()))
        } else {
            Err(EnvelopeError::BadKey)
        }
    }

    /// The only part ever shown: its last four characters.
    pub fn last4(&self) -> String {
        self.0[self.0.len() - 4..].to_owned()
    }

    /// The key itself, for the one request that sends it to its provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn cipher(data_key: &[u8]) -> Result<LessSafeKey, EnvelopeError> {
    let key = UnboundKey::new(&AES_256_GCM, data_key).map_err(|_| EnvelopeError::BadDataKey)?;
    Ok(LessSafeKey::new(key))
}

/// `hex(nonce ‖ ciphertext ‖ tag)` of `key` under `data_key`, bound to `owner` (the user and the
/// key's id: a sealed key copied to another item does not open).
pub fn seal(data_key: &[u8], nonce: [u8; NONCE_LEN], owner: &str, key: &ProviderKey) -> Result<String, EnvelopeError> {
    let mut data = key.0.as_bytes().to_vec();
    cipher(data_key)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(owner.as_bytes()), &mut data)
        .map_err(|_| EnvelopeError::Open)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    Ok(crate::text::hex(&out))
}

pub fn open(data_key: &[u8], owner: &str, sealed: &str) -> Result<ProviderKey, EnvelopeError> {
    let bytes = crate::text::unhex(sealed).filter(|b| b.len() > NONCE_LEN).ok_or(EnvelopeError::Open)?;
    let (nonce, data) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| EnvelopeError::Open)?;
    let mut data = data.to_vec();
    let plain = cipher(data_key)?.open_in_place(nonce, Aad::from(owner.as_bytes()), &mut data).map_err(|_| EnvelopeError::Open)?;
    ProviderKey::parse(std::str::from_utf8(plain).map_err(|_| EnvelopeError::Open)?).map_err(|_| EnvelopeError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_data_key_and_owner() {
        let key = ProviderKey::parse("sk-test-1234567890abcd").unwrap();
        let data_key = [7u8; 32];
        let sealed = seal(&data_key, [1; 12], "u1:k1", &key).unwrap();
        assert!(!sealed.contains("1234567890"));
        assert_eq!(open(&data_key, "u1:k1", &sealed).unwrap(), key);
        assert_eq!(open(&data_key, "u2:k1", &sealed), Err(EnvelopeError::Open));
        assert_eq!(open(&[8u8; 32], "u1:k1", &sealed), Err(EnvelopeError::Open));
        assert_eq!(key.last4(), "abcd");
        assert!(!format!("{key:?}").contains("1234567890"));
        assert!(ProviderKey::parse("short").is_err() && ProviderKey::parse("has a space in it").is_err());
    }
}
