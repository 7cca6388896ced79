//! Every token attack is refused; a good token passes; keys rotate by `kid`.

use super::*;

const NOW: i64 = 1_795_642_200;

struct Keys {
    signer: TokenSigner,
    verifier: TokenVerifier,
    public_b64: String,
}

fn keys() -> Keys {
    let (private, public) = generate_keypair().unwrap();
    let signer = TokenSigner::new("k1", &private).unwrap();
    let verifier = TokenVerifier::from_json(&format!(r#"{{"k1": "{public}"}}"#)).unwrap();
    Keys { signer, verifier, public_b64: public }
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: "u1".into(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + ACCESS_TTL_SECONDS,
        jti: "j".into(),
        sid: "s".into(),
        plan: "free".into(),
        admin: false,
    }
}

#[test]
fn the_admin_claim_is_absent_unless_the_role_is_given_and_survives_verification() {
    let k = keys();
    let (plain, claims) = k.signer.issue("u1", "fam1", "free", NOW).unwrap();
    assert!(!claims.admin);
    let payload = |token: &str| -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
    };
    assert!(payload(&plain).get("admin").is_none(), "no admin member on an ordinary token");
    assert!(!k.verifier.verify(&plain, NOW).unwrap().admin);
    let (admin, _) = k.signer.issue_with_role("u1", "fam1", "free", true, NOW).unwrap();
    assert_eq!(payload(&admin)["admin"], serde_json::json!(true));
    assert!(k.verifier.verify(&admin, NOW).unwrap().admin);
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[test]
fn a_fresh_token_verifies_with_its_claims() {
    let k = keys();
    let (token, issued) = k.signer.issue("u1", "fam1", "pro", NOW).unwrap();
    let claims = k.verifier.verify(&token, NOW + 60).unwrap();
    assert_eq!(claims, issued);
    assert_eq!(claims.exp - claims.iat, 900);
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!((header.alg, header.kid.as_deref(), header.typ.as_deref()), (Algorithm::EdDSA, Some("k1"), Some("at+jwt")));
}

#[test]
fn alg_none_is_refused() {
    let k = keys();
    let unsigned = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": "k1"})),
        b64(&serde_json::to_value(claims()).unwrap())
    );
    assert_eq!(k.verifier.verify(&unsigned, NOW), Err(TokenError::Malformed));
    let signed = k.signer.sign(&claims()).unwrap();
    let stripped =
        format!("{}.{}.", b64(&serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": "k1"})), signed.split('.').nth(1).unwrap());
    assert!(k.verifier.verify(&stripped, NOW).is_err());
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let k = keys();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    header.typ = Some("at+jwt".into());
    for secret in [STANDARD.decode(&k.public_b64).unwrap(), k.public_b64.as_bytes().to_vec()] {
        let forged = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&secret)).unwrap();
        assert_eq!(k.verifier.verify(&forged, NOW), Err(TokenError::WrongAlgorithm));
    }
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused() {
    let k = keys();
    let token = k.signer.sign(&claims()).unwrap();
    assert_eq!(k.verifier.verify(&token, NOW + ACCESS_TTL_SECONDS + LEEWAY_SECONDS), Err(TokenError::Expired));
    let future = AccessClaims { nbf: NOW + 600, iat: NOW, exp: NOW + 900, ..claims() };
    assert_eq!(k.verifier.verify(&k.signer.sign(&future).unwrap(), NOW), Err(TokenError::NotYetValid));
    let long = AccessClaims { exp: NOW + 24 * 3600, ..claims() };
    assert_eq!(k.verifier.verify(&k.signer.sign(&long).unwrap(), NOW), Err(TokenError::LifetimeTooLong));
}

#[test]
fn wrong_issuer_audience_or_type_is_refused() {
    let k = keys();
    let wrong_iss = AccessClaims { iss: "someone-else".into(), ..claims() };
    assert!(matches!(k.verifier.verify(&k.signer.sign(&wrong_iss).unwrap(), NOW), Err(TokenError::Invalid(_))));
    let wrong_aud = AccessClaims { aud: "another-api".into(), ..claims() };
    assert!(matches!(k.verifier.verify(&k.signer.sign(&wrong_aud).unwrap(), NOW), Err(TokenError::Invalid(_))));
    // A correctly signed JWT of another type (e.g. an ID token) cannot stand in for an access token.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    header.typ = Some("JWT".into());
    let other = jsonwebtoken::encode(&header, &claims(), &k.signer.key).unwrap();
    assert_eq!(k.verifier.verify(&other, NOW), Err(TokenError::WrongType));
    header.typ = None;
    let untyped = jsonwebtoken::encode(&header, &claims(), &k.signer.key).unwrap();
    assert_eq!(k.verifier.verify(&untyped, NOW), Err(TokenError::WrongType));
}

#[test]
fn a_tampered_payload_is_refused() {
    let k = keys();
    let token = k.signer.sign(&claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let upgraded = AccessClaims { plan: "pro".into(), sub: "admin".into(), ..claims() };
    let tampered = format!("{}.{}.{}", parts[0], b64(&serde_json::to_value(upgraded).unwrap()), parts[2]);
    assert!(matches!(k.verifier.verify(&tampered, NOW), Err(TokenError::Invalid(_))));
    // String-typed times are not accepted in place of numbers.
    let mut stringly = serde_json::to_value(claims()).unwrap();
    stringly["exp"] = serde_json::json!("9999999999");
    let forged = format!("{}.{}.{}", parts[0], b64(&stringly), parts[2]);
    assert!(k.verifier.verify(&forged, NOW).is_err());
}

#[test]
fn a_signature_by_an_unknown_key_or_an_unknown_kid_is_refused() {
    let k = keys();
    let (other_private, _) = generate_keypair().unwrap();
    let impostor = TokenSigner::new("k1", &other_private).unwrap();
    assert!(matches!(k.verifier.verify(&impostor.sign(&claims()).unwrap(), NOW), Err(TokenError::Invalid(_))));
    let stranger = TokenSigner::new("k9", &other_private).unwrap();
    assert_eq!(k.verifier.verify(&stranger.sign(&claims()).unwrap(), NOW), Err(TokenError::UnknownKey));
    for junk in ["", "abc", "a.b.c", "a.b", &"x".repeat(5000)] {
        assert!(k.verifier.verify(junk, NOW).is_err(), "{junk}");
    }
}

#[test]
fn keys_rotate_by_kid() {
    let (old_private, old_public) = generate_keypair().unwrap();
    let (new_private, new_public) = generate_keypair().unwrap();
    let verifier = TokenVerifier::from_json(&format!(r#"{{"2026-10": "{old_public}", "2026-11": "{new_public}"}}"#)).unwrap();
    for (kid, private) in [("2026-10", &old_private), ("2026-11", &new_private)] {
        let token = TokenSigner::new(kid, private).unwrap().sign(&claims()).unwrap();
        assert!(verifier.verify(&token, NOW).is_ok(), "{kid}");
    }
    // The same public key can be given as PEM.
    let raw = STANDARD.decode(&new_public).unwrap();
    let mut spki = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    spki.extend_from_slice(&raw);
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(&spki));
    let verifier = TokenVerifier::from_json(&serde_json::json!({ "2026-11": pem }).to_string()).unwrap();
    assert!(verifier.verify(&TokenSigner::new("2026-11", &new_private).unwrap().sign(&claims()).unwrap(), NOW).is_ok());
}

#[test]
fn bad_key_configuration_is_named_without_key_material() {
    assert!(matches!(TokenVerifier::from_json("not json"), Err(KeyError::PublicKeysMalformed(_))));
    assert_eq!(TokenVerifier::from_json("{}").unwrap_err(), KeyError::NoKeys);
    assert_eq!(TokenVerifier::from_json(r#"{"k1": "c2hvcnQ="}"#).unwrap_err(), KeyError::PublicKey { kid: "k1".into() });
    assert_eq!(TokenVerifier::from_json(r#"{"bad kid": "x"}"#).unwrap_err(), KeyError::BadKid);
    assert_eq!(TokenSigner::new("k1", "bm90IGEga2V5").unwrap_err(), KeyError::SigningKey);
    let (private, _) = generate_keypair().unwrap();
    let signer = TokenSigner::new("k1", &private).unwrap();
    assert!(!format!("{signer:?}").contains(&private[..20]));
}

#[test]
fn refresh_tokens_are_256_bits_and_stored_hashed() {
    let token = new_refresh_token(&bourse_domain::random::OsRandom).unwrap();
    assert!(looks_like_refresh_token(&token));
    assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
    assert_ne!(new_refresh_token(&bourse_domain::random::OsRandom).unwrap(), token);
    let hash = refresh_token_hash(&token);
    assert_ne!(hash, token);
    assert_eq!(hash, refresh_token_hash(&token));
}
