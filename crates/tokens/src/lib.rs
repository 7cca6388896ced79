//! Access and refresh tokens, with no AWS types.
//!
//! **Access tokens** are JWTs signed with Ed25519 (`alg: EdDSA`). Only the auth function holds the
//! private key ([`TokenSigner`]); every function verifies with the public keys from configuration
//! ([`TokenVerifier`]), selected by the header's `kid` so that keys can rotate (a current and a
//! previous key are both accepted). Verification pins the algorithm, requires the header
//! `typ: at+jwt` (RFC 9068), checks `iss`, `aud`, `exp`, `nbf` against an injected clock with a
//! small leeway, and refuses a lifetime above [`MAX_ACCESS_TTL_SECONDS`]. `jsonwebtoken` ≥ 10.3 is
//! used (earlier versions skipped string-typed `exp`/`nbf`); the claims here are typed integers,
//! so a string-typed time is a decoding error anyway.
//!
//! **Refresh tokens** are opaque: 256 random bits, base64url; only their SHA-256 is stored.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bourse_domain::random::{OsRandom, Random, RandomUnavailable};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// Issuer of every access token.
pub const ISSUER: &str = "bourse-auth";
/// Audience of every access token.
pub const AUDIENCE: &str = "bourse-api";
/// The header `typ` of access tokens (RFC 9068), so that no other JWT can stand in for one.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Lifetime of an access token (≤ 15 minutes).
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
/// The longest lifetime a verifier accepts.
pub const MAX_ACCESS_TTL_SECONDS: i64 = 15 * 60;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 30;
/// Absolute lifetime of a refresh-token family (30 days from login).
pub const REFRESH_FAMILY_TTL_SECONDS: i64 = 30 * 24 * 60 * 60;
/// A login session not refreshed for this long ends, whatever is left of its 30 days (an idle
/// timeout besides the absolute one: a device left signed in does not stay signed in).
pub const SESSION_IDLE_SECONDS: i64 = 7 * 24 * 60 * 60;
/// Live sessions one account may hold at once: a sign-in past it ends the least recently used
/// (a person has a handful of devices; an unbounded number would hide a leaked password).
pub const MAX_SESSIONS_PER_ACCOUNT: usize = 20;

/// Why keys could not be loaded. Never includes key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("JWT_PUBLIC_KEYS must be a JSON object of key id to public key: {0}")]
    PublicKeysMalformed(String),
    #[error("public key {kid:?} is not an Ed25519 public key (PEM, or base64 of the 32 raw bytes)")]
    PublicKey { kid: String },
    #[error("JWT_SIGNING_KEY is not an Ed25519 private key (PKCS#8 PEM, or base64 of PKCS#8 DER)")]
    SigningKey,
    #[error("JWT_SIGNING_KID {0:?} is not among JWT_PUBLIC_KEYS, so no function could verify its tokens")]
    SigningKidUnknown(String),
    #[error("key id must be 1-64 characters of [A-Za-z0-9._-]")]
    BadKid,
    #[error("no public key configured")]
    NoKeys,
}

/// Why a token was refused. All of these are answered with the same 401; the variant is logged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token or header")]
    Malformed,
    #[error("header typ is not at+jwt")]
    WrongType,
    #[error("algorithm is not EdDSA")]
    WrongAlgorithm,
    #[error("no kid, or a kid this function does not know")]
    UnknownKey,
    #[error("signature, issuer, audience or claims are invalid: {0}")]
    Invalid(String),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token lifetime exceeds the maximum")]
    LifetimeTooLong,
    #[error("signing failed: {0}")]
    Signing(String),
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Token id (random), for logs and auditing.
    pub jti: String,
    /// The refresh-token family (login session) this token belongs to; logout revokes it.
    pub sid: String,
    /// The user's plan when the token was issued.
    pub plan: String,
    /// The operator role: set only when the account carries it (an operator command writes it;
    /// no route can), absent otherwise. Admin routes answer 404 to every token without it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub admin: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn check_kid(kid: &str) -> Result<(), KeyError> {
    let ok = !kid.is_empty() && kid.len() <= 64 && kid.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(KeyError::BadKid) }
}

/// Signs access tokens. Held only by the auth function. `Debug` never shows the key.
pub struct TokenSigner {
    kid: String,
    key: EncodingKey,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// From a PKCS#8 private key, as PEM or as base64 of the DER. The key is checked by signing
    /// once, so a wrong key fails at start-up, not on the first login.
    pub fn new(kid: &str, private_key: &str) -> Result<Self, KeyError> {
        check_kid(kid)?;
        let text = private_key.trim();
        let key = if text.starts_with("-----BEGIN") {
            EncodingKey::from_ed_pem(text.as_bytes()).map_err(|_| KeyError::SigningKey)?
        } else {
            let der = STANDARD.decode(text).map_err(|_| KeyError::SigningKey)?;
            EncodingKey::from_ed_der(&der)
        };
        let signer = TokenSigner { kid: kid.to_owned(), key };
        jsonwebtoken::encode(&signer.header(), &serde_json::json!({}), &signer.key).map_err(|_| KeyError::SigningKey)?;
        Ok(signer)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header
    }

    /// An access token for `sub` in session `sid`, valid from `now` for [`ACCESS_TTL_SECONDS`].
    pub fn issue(&self, sub: &str, sid: &str, plan: &str, now: i64) -> Result<(String, AccessClaims), TokenError> {
        self.issue_with_role(sub, sid, plan, false, now)
    }

    /// [`TokenSigner::issue`], with the operator role when `admin` (the account's role).
    pub fn issue_with_role(&self, sub: &str, sid: &str, plan: &str, admin: bool, now: i64) -> Result<(String, AccessClaims), TokenError> {
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: sub.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TTL_SECONDS,
            // The token id needs no injected source: it is never compared with anything.
            jti: random_token(&OsRandom, 16).map_err(|e| TokenError::Signing(e.to_string()))?,
            sid: sid.to_owned(),
            plan: plan.to_owned(),
            admin,
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// Signs arbitrary access claims (tests use this to build expired or future tokens).
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&self.header(), claims, &self.key).map_err(|e| TokenError::Signing(e.to_string()))
    }
}

/// Verifies access tokens with the configured public keys.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<_> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("TokenVerifier").field("kids", &kids).finish()
    }
}

impl TokenVerifier {
    /// From `JWT_PUBLIC_KEYS`: a JSON object `{"kid": "<public key>", ...}`, each key as PEM
    /// (SubjectPublicKeyInfo) or base64/base64url of the 32 raw bytes.
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        let map: HashMap<String, String> = serde_json::from_str(json).map_err(|e| KeyError::PublicKeysMalformed(e.to_string()))?;
        let mut keys = HashMap::new();
        for (kid, text) in map {
            check_kid(&kid)?;
            let key = parse_public_key(&text).ok_or_else(|| KeyError::PublicKey { kid: kid.clone() })?;
            keys.insert(kid, key);
        }
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // Times are checked below against the injected clock (the library would read the system
        // clock); the claims are typed integers, so they are always present and numeric.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Ok(TokenVerifier { keys, validation })
    }

    pub fn knows(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Verifies `token` at `now` and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::WrongAlgorithm);
        }
        if header.typ.as_deref().map(str::to_ascii_lowercase).as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(TokenError::WrongType);
        }
        let key = header.kid.as_deref().and_then(|kid| self.keys.get(kid)).ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)
            .map_err(|e| TokenError::Invalid(e.kind().to_string_lossy()))?;
        let claims = data.claims;
        if now >= claims.exp + LEEWAY_SECONDS {
            return Err(TokenError::Expired);
        }
        if now + LEEWAY_SECONDS < claims.nbf || now + LEEWAY_SECONDS < claims.iat {
            return Err(TokenError::NotYetValid);
        }
        if claims.exp - claims.nbf > MAX_ACCESS_TTL_SECONDS || claims.exp - claims.iat > MAX_ACCESS_TTL_SECONDS {
            return Err(TokenError::LifetimeTooLong);
        }
        Ok(claims)
    }
}

trait KindText {
    fn to_string_lossy(&self) -> String;
}

impl KindText for jsonwebtoken::errors::ErrorKind {
    fn to_string_lossy(&self) -> String {
        format!("{self:?}").chars().take(80).collect()
    }
}

fn parse_public_key(text: &str) -> Option<DecodingKey> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return DecodingKey::from_ed_pem(text.as_bytes()).ok();
    }
    let raw = STANDARD.decode(text).or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))).ok()?;
    (raw.len() == 32).then(|| DecodingKey::from_ed_der(&raw))
}

/// A fresh Ed25519 key pair: (PKCS#8 DER private key as base64, raw public key as base64).
/// For `bourse-dev keygen` and tests; production keys are made by the operator and kept in
/// Secrets Manager.
pub fn generate_keypair() -> Result<(String, String), KeyError> {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::SigningKey)?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyError::SigningKey)?;
    Ok((STANDARD.encode(pkcs8.as_ref()), STANDARD.encode(pair.public_key().as_ref())))
}

/// `bytes` random bytes from `random` as base64url (no padding).
pub fn random_token(random: &dyn Random, bytes: usize) -> Result<String, RandomUnavailable> {
    let mut buf = vec![0u8; bytes];
    random.fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(&buf))
}

/// An opaque single-use token (refresh, e-mail verification, password reset): 256 random bits,
/// 43 base64url characters.
pub fn new_refresh_token(random: &dyn Random) -> Result<String, RandomUnavailable> {
    random_token(random, 32)
}

/// What is stored for an opaque token: its SHA-256 in base64url. The token has 256 bits of
/// entropy, so a fast hash is enough (no dictionary to attack).
pub fn refresh_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn is_base64url(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True when `token` has the shape of a refresh token (43 base64url characters).
pub fn looks_like_refresh_token(token: &str) -> bool {
    is_base64url(token, 43)
}

/// A new session (refresh-token family) id: 128 random bits, 22 base64url characters; the
/// access tokens of the session carry it as `sid`.
pub fn new_family_id(random: &dyn Random) -> Result<String, RandomUnavailable> {
    random_token(random, 16)
}

/// True when `id` has the shape of a session id (what [`new_family_id`] makes).
pub fn looks_like_family_id(id: &str) -> bool {
    is_base64url(id, 22)
}

#[cfg(test)]
mod tests;
