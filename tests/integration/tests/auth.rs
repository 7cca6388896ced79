//! The auth function against DynamoDB Local and Redis: registration races, token attacks,
//! refresh rotation and reuse, logout across functions, brute-force limits, quotas, bad input.

mod auth_support;

use auth_support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bourse_domain::ManualClock;
use bourse_integration_tests::{json_body, platform};
use bourse_tokens::{AccessClaims, TokenSigner};
use std::sync::Arc;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(now()))
}

/// Both answer 202 (registration never tells who has an account); one account exists, with the
/// first password, and the other registration's owner notice goes to the same address.
#[tokio::test]
async fn two_registrations_of_one_email_at_once_make_one_account() {
    let app = app_with_clock(clock()).await;
    let email = format!("{}@example.com", unique("race"));
    let upper = email.to_uppercase();
    let (a, b) = tokio::join!(register(&app, &email), register(&app, &upper));
    assert_eq!([a.status().as_u16(), b.status().as_u16()], [202, 202]);
    assert_eq!(json_body(&a), json_body(&b));
    assert_eq!(login(&app, &email, PASSWORD, &random_ip()).await.status(), 200);
    wait_for_mail(&email, |(s, _)| s.contains("tried to sign up")).await;
    let mails = wait_for_mail(&email, |(s, _)| s.contains("Confirm")).await;
    let subjects: Vec<String> = mails.into_iter().map(|(subject, _)| subject).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("Confirm")) && subjects.iter().any(|s| s.contains("tried to sign up")), "{subjects:?}");
}

#[tokio::test]
async fn every_token_attack_is_refused_with_401() {
    let clock = clock();
    let app = app_with_clock(Arc::clone(&clock)).await;
    let (_, access, _) = signed_in(&app).await;
    assert_eq!(me(&app, &access).await.status(), 200);
    let t = clock.now_for_tests();
    let good: AccessClaims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let signer = TokenSigner::new(&std::env::var("JWT_SIGNING_KID").unwrap(), &bourse_integration_tests::signing_key_pem()).unwrap();
    let (other_key, _) = bourse_tokens::generate_keypair().unwrap();
    let b64 = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let kid = std::env::var("JWT_SIGNING_KID").unwrap();
    let payload = access.split('.').nth(1).unwrap().to_owned();
    let public_raw = {
        let keys: serde_json::Value = serde_json::from_str(&std::env::var("JWT_PUBLIC_KEYS").unwrap()).unwrap();
        base64::engine::general_purpose::STANDARD.decode(keys[&kid].as_str().unwrap()).unwrap()
    };
    let hs256 = {
        let header = b64(serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}));
        use sha2_free_hmac::hmac_sha256;
        let mac = hmac_sha256(&public_raw, format!("{header}.{payload}").as_bytes());
        format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac))
    };
    let tampered = {
        let mut claims = serde_json::to_value(&good).unwrap();
        claims["plan"] = serde_json::json!("pro");
        let parts: Vec<&str> = access.split('.').collect();
        format!("{}.{}.{}", parts[0], b64(claims), parts[2])
    };
    let retyped = {
        let parts: Vec<&str> = access.split('.').collect();
        format!("{}.{}.{}", b64(serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid})), parts[1], parts[2])
    };
    let attacks = [
        ("alg none", format!("{}.{payload}.", b64(serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": kid})))),
        ("HS256 with the public key", hs256),
        ("expired", signer.sign(&AccessClaims { iat: t - 3600, nbf: t - 3600, exp: t - 2700, ..good.clone() }).unwrap()),
        ("nbf in the future", signer.sign(&AccessClaims { iat: t, nbf: t + 600, exp: t + 900, ..good.clone() }).unwrap()),
        ("wrong iss", signer.sign(&AccessClaims { iss: "evil".into(), ..good.clone() }).unwrap()),
        ("wrong aud", signer.sign(&AccessClaims { aud: "other-api".into(), ..good.clone() }).unwrap()),
        ("wrong typ", retyped),
        ("tampered payload", tampered),
        ("unknown signing key", TokenSigner::new(&kid, &other_key).unwrap().sign(&good).unwrap()),
        ("unknown kid", TokenSigner::new("nobody", &other_key).unwrap().sign(&good).unwrap()),
        ("garbage", "not-a-token".to_owned()),
    ];
    for (name, token) in attacks {
        let response = me(&app, &token).await;
        assert_eq!(response.status(), 401, "{name}: {}", json_body(&response));
        assert_problem(&response, 401);
    }
    let missing = app.serve(event("GET", "/v1/me", "", None, None, &random_ip())).await;
    assert_problem(&missing, 401);
}

/// A tiny HMAC-SHA256 for forging the algorithm-confusion token (the attacker's side).
mod sha2_free_hmac {
    pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::digest([ipad.as_slice(), message].concat());
        Sha256::digest([opad.as_slice(), inner.as_slice()].concat()).to_vec()
    }
}

trait NowForTests {
    fn now_for_tests(&self) -> i64;
}

impl NowForTests for ManualClock {
    fn now_for_tests(&self) -> i64 {
        bourse_domain::Clock::now(self)
    }
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_the_whole_family() {
    let app = app_with_clock(clock()).await;
    let (_, _, first) = signed_in(&app).await;
    let rotated = refresh(&app, &first).await;
    assert_eq!(rotated.status(), 200);
    let rotated = json_body(&rotated);
    let newest = rotated["refresh_token"].as_str().unwrap();
    let newest_access = rotated["access_token"].as_str().unwrap();
    assert_eq!(me(&app, newest_access).await.status(), 200);
    assert_problem(&refresh(&app, &first).await, 401); // reuse: the family is revoked
    assert_problem(&refresh(&app, newest).await, 401); // the newest refresh token died with it
    assert_problem(&me(&app, newest_access).await, 401); // and so did its access token
}

#[tokio::test]
async fn logout_makes_the_access_token_fail_on_another_function() {
    let app = app_with_clock(clock()).await;
    // Another function: the real portfolio function (public keys only, its own process state).
    let other_platform = platform("portfolio");
    assert!(other_platform.config.jwt_public_keys.is_some());
    let other = portfolio_fn::app(other_platform).unwrap();
    let (_, access, refresh_token) = signed_in(&app).await;
    let probe = || other.serve(event("GET", "/v1/portfolios", "", None, Some(&access), &random_ip()));
    let before = probe().await;
    assert_eq!(before.status(), 200, "{}", json_body(&before));
    assert_eq!(before.headers()["ratelimit-limit"], "1000");
    let out = app.serve(event("POST", "/v1/auth/logout", "", None, Some(&access), &random_ip())).await;
    assert_eq!(out.status(), 204);
    assert_problem(&probe().await, 401);
    assert_problem(&me(&app, &access).await, 401);
    assert_problem(&refresh(&app, &refresh_token).await, 401);
}

/// The documented bound when the logout cannot write its "revoked" entry to the cache (the auth
/// function's cache is unreachable): another function that cached "active" keeps accepting the
/// token only while that entry lives — at most ACTIVE_CACHE_SECONDS — and refuses it as soon as
/// the entry is gone (DynamoDB says revoked).
#[tokio::test]
async fn a_logout_that_cannot_reach_the_cache_is_bounded_by_the_active_entrys_life() {
    let mut config = (*platform("auth").config).clone();
    config.cache_url = Some(bourse_config::CacheUrl::parse("CACHE_URL", "rediss://127.0.0.1:1").unwrap());
    let auth = auth_fn::app(bourse_runtime::Platform::new(config).unwrap().with_clock(clock())).expect("auth starts");
    let other_platform = platform("portfolio");
    let cache = other_platform.cache.clone().unwrap();
    let other = portfolio_fn::app(other_platform).unwrap();
    let (_, access, _) = signed_in(&auth).await;
    let probe = || other.serve(event("GET", "/v1/portfolios", "", None, Some(&access), &random_ip()));
    assert_eq!(probe().await.status(), 200, "the other function caches the session as active");
    let claims: bourse_tokens::AccessClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let key = format!("auth:session:{}", claims.sid);
    let ttl = cache.eval_integers("return {redis.call('PTTL', KEYS[1])}", &[&key], &[]).await.unwrap()[0];
    assert!(
        ttl > 0 && ttl <= 1000 * bourse_runtime::access::ACTIVE_CACHE_SECONDS as i64,
        "the active entry lives at most the bound: {ttl} ms"
    );
    assert_eq!(
        auth.serve(event("POST", "/v1/auth/logout", "", None, Some(&access), &random_ip())).await.status(),
        204,
        "the logout itself succeeds"
    );
    assert_eq!(probe().await.status(), 200, "within the bound, the cached active entry still answers");
    // The entry's life ends (deleted here rather than waited for): DynamoDB's "revoked" rules.
    cache.delete(std::slice::from_ref(&key)).await.unwrap();
    assert_problem(&probe().await, 401);
    assert_eq!(cache.get(&key).await.as_deref(), Some(&b"revoked"[..]), "and the revocation is cached from then on");
}

/// The lock-out denial of service, refused: a stranger failing five times from one address locks
/// out that address (429 with `Retry-After`, even with the right password), while the owner signing
/// in from another address is not held up at all.
#[tokio::test]
async fn failed_logins_lock_out_the_failing_address_not_the_owner() {
    let app = app_with_clock(clock()).await;
    let email = format!("{}@example.com", unique("brute"));
    assert_eq!(register(&app, &email).await.status(), 202);
    let attacker = random_ip();
    for _ in 0..5 {
        assert_problem(&login(&app, &email, "wrong-password-guess", &attacker).await, 401);
    }
    let locked = login(&app, &email, PASSWORD, &attacker).await;
    assert_problem(&locked, 429);
    let retry: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 800 && retry <= 900, "{retry}");
    let owner = login(&app, &email, PASSWORD, &random_ip()).await;
    assert_eq!(owner.status(), 200, "the owner's own address signs in: {}", json_body(&owner));
    // An unknown email gets the same 401 as a wrong password.
    let unknown = login(&app, &format!("{}@example.com", unique("nobody")), PASSWORD, &random_ip()).await;
    assert_problem(&unknown, 401);
    assert_eq!(json_body(&unknown)["detail"], "wrong email or password");
}

/// Through the API, on a clock the test moves: the lock-out ends when it says it does (the right
/// password works again after it, not before), and a wrong guess right after a lock-out locks the
/// account again for twice as long.
#[tokio::test]
async fn a_lockout_expires_when_it_says_and_a_guess_after_it_doubles_the_next() {
    let clock = clock();
    let app = app_with_clock(Arc::clone(&clock)).await;
    let email = format!("{}@example.com", unique("lock"));
    assert_eq!(register(&app, &email).await.status(), 202);
    let ip = random_ip();
    for _ in 0..5 {
        assert_problem(&login(&app, &email, "wrong-password-guess", &ip).await, 401);
    }
    let locked = login(&app, &email, PASSWORD, &ip).await;
    assert_problem(&locked, 429);
    let first: i64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(first, 15 * 60, "the 5th failure locks for 15 minutes");
    clock.advance(first - 1);
    assert_problem(&login(&app, &email, PASSWORD, &ip).await, 429);
    clock.advance(1);
    // The lock is over: one more wrong guess, within the streak, locks again, for 30 minutes.
    assert_problem(&login(&app, &email, "wrong-password-guess", &ip).await, 401);
    let again = login(&app, &email, PASSWORD, &ip).await;
    assert_problem(&again, 429);
    let second: i64 = again.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(second, 2 * first, "the next lock-out doubles");
    clock.advance(second);
    let back = login(&app, &email, PASSWORD, &ip).await;
    assert_eq!(back.status(), 200, "the right password works once the lock-out is over: {}", json_body(&back));
    // A success clears the streak: the next single failure is just a 401.
    assert_problem(&login(&app, &email, "wrong-password-guess", &ip).await, 401);
    assert_eq!(login(&app, &email, PASSWORD, &ip).await.status(), 200);
}

/// A guesser spreading over many addresses: once the account has 10 failures in a window, an
/// address that has failed on it waits for the window's end, a fresh address with the right
/// password still signs in, and the owner is told by e-mail.
#[tokio::test]
async fn an_account_under_attack_slows_failing_addresses_and_tells_its_owner() {
    let app = app_with_clock(clock()).await;
    let email = format!("{}@example.com", unique("spread"));
    assert_eq!(register(&app, &email).await.status(), 202);
    let attackers = [random_ip(), random_ip(), random_ip()];
    for (ip, tries) in attackers.iter().zip([4, 4, 2]) {
        for _ in 0..tries {
            assert_problem(&login(&app, &email, "wrong-password-guess", ip).await, 401);
        }
    }
    let slowed = login(&app, &email, PASSWORD, &attackers[0]).await;
    assert_problem(&slowed, 429);
    let retry: u64 = slowed.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    assert_eq!(login(&app, &email, PASSWORD, &random_ip()).await.status(), 200, "a clean address signs in");
    wait_for_mail(&email, |(subject, _)| subject.contains("Repeated failed sign-ins")).await;
}

#[tokio::test]
async fn failed_logins_are_limited_per_source_address() {
    let app = app_with_clock(clock()).await;
    let ip = random_ip();
    for i in 0..30 {
        let response = login(&app, &format!("{}@example.com", unique(&format!("addr{i}"))), PASSWORD, &ip).await;
        assert_problem(&response, 401);
    }
    let limited = login(&app, &format!("{}@example.com", unique("addr")), PASSWORD, &ip).await;
    assert_problem(&limited, 429);
    assert!(limited.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn an_exhausted_quota_answers_429_and_resets_the_next_utc_day() {
    let clock = clock();
    let app = app_with_clock(Arc::clone(&clock)).await;
    let (_, access, _) = signed_in(&app).await;
    let first = me(&app, &access).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["ratelimit-remaining"], "999");
    // Use up the day's quota directly in the table (as 1000 earlier requests would have).
    let user: AccessClaims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let p = platform("auth");
    let today = bourse_domain::clock::utc_date(bourse_domain::Clock::now(clock.as_ref()));
    p.aws
        .dynamodb
        .update_item()
        .table_name(p.config.require_app_table().unwrap())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("USAGE#{}", user.sub)))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(today))
        .update_expression("SET #t = :n")
        .expression_attribute_names("#t", "total")
        .expression_attribute_values(":n", aws_sdk_dynamodb::types::AttributeValue::N("1000".into()))
        .send()
        .await
        .unwrap();
    let over = me(&app, &access).await;
    assert_problem(&over, 429);
    assert_eq!(over.headers()["ratelimit-remaining"], "0");
    assert!(over.headers().contains_key("retry-after"));
    // Next UTC day (the token is re-issued: access tokens live 15 minutes).
    let midnight = bourse_domain::clock::next_utc_midnight(bourse_domain::Clock::now(clock.as_ref()));
    clock.set(midnight + 1);
    let signer = TokenSigner::new(&std::env::var("JWT_SIGNING_KID").unwrap(), &bourse_integration_tests::signing_key_pem()).unwrap();
    let (tomorrow_token, _) = signer.issue(&user.sub, &user.sid, "free", midnight + 1).unwrap();
    let next_day = me(&app, &tomorrow_token).await;
    assert_eq!(next_day.status(), 200, "{}", json_body(&next_day));
    assert_eq!(next_day.headers()["ratelimit-remaining"], "999");
    let usage = app.serve(event("GET", "/v1/usage", "", None, Some(&tomorrow_token), &random_ip())).await;
    let body = json_body(&usage);
    assert_eq!(usage.status(), 200, "{body}");
    assert_eq!(body["today"]["used"], 2);
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{body}");
    assert_eq!(days[1]["routes"]["GET /v1/me"], 1);
    assert_eq!(days[1]["routes"]["GET /v1/usage"], 1);
}

#[tokio::test]
async fn malformed_input_to_every_endpoint_is_a_4xx_problem() {
    let app = app_with_clock(clock()).await;
    let (_, access, _) = signed_in(&app).await;
    let long_password = "Aa1!".repeat(40);
    let bodies = [
        "",
        "{",
        "[]",
        "null",
        "42",
        r#"{"email": 1, "password": "x"}"#,
        r#"{"email": "a@example.com"}"#,
        r#"{"email": "a@example.com", "password": "tangerine-Orbit-47-quietly", "admin": true}"#,
        r#"{"email": "not-an-email", "password": "tangerine-Orbit-47-quietly"}"#,
        r#"{"refresh_token": "short"}"#,
        r#"{"refresh_token": null}"#,
    ];
    let mut cases: Vec<(&str, &str, String, Option<String>)> = Vec::new();
    for path in ["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh"] {
        for body in bodies {
            cases.push(("POST", path, String::new(), Some(body.to_owned())));
        }
    }
    cases.push(("POST", "/v1/auth/register", String::new(), Some(credentials("weak@example.com", "password123"))));
    cases.push(("POST", "/v1/auth/register", String::new(), Some(credentials("long@example.com", &long_password))));
    cases.push(("POST", "/v1/auth/login", String::new(), Some(credentials("long@example.com", &long_password))));
    for query in ["from=yesterday", "from=2026-01-01&to=2026-12-31", "to=2026-01-01&from=2026-02-01", "bogus=1", "from=2026-02-30"] {
        cases.push(("GET", "/v1/usage", query.to_owned(), None));
    }
    cases.push(("GET", "/v1/me", "x=1".to_owned(), None));
    for (method, path, query, body) in cases {
        let token = if path.starts_with("/v1/auth/") { None } else { Some(access.as_str()) };
        let response = app.serve(event(method, path, &query, body.as_deref(), token, &random_ip())).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}?{query} {body:?}: {status} {}", json_body(&response));
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{path} {body:?}");
    }
    // The long password is refused with 400 on register, not silently cut.
    let response =
        app.serve(event("POST", "/v1/auth/register", "", Some(&credentials("long@example.com", &long_password)), None, &random_ip())).await;
    assert_eq!(response.status(), 400);
    assert!(json_body(&response)["detail"].as_str().unwrap().contains("at most 128"));
}

/// The signing key is read from Secrets Manager (the stand-in's), as deployed. While it cannot
/// be read, login answers 503 (before anything is written); once the secret exists the same
/// instance fetches it again and signs in.
#[tokio::test]
async fn login_waits_for_the_signing_key_from_secrets_manager_and_retries_a_failed_read() {
    bourse_integration_tests::ensure_resources().await;
    let secret_id = unique("bourse/test-signing-key");
    let mut config = platform("auth").config.as_ref().clone();
    let kid = config.jwt_signing_kid.clone().unwrap();
    config.jwt_signing_key = Some(bourse_config::SecretSource::SecretsManager { secret_id: secret_id.clone(), json_key: "privateKey" });
    let platform = bourse_runtime::Platform::new(config).unwrap();
    let aws = platform.aws.clone();
    let app = auth_fn::app(platform).expect("auth starts without the key: it is fetched in the background");

    let email = format!("{}@example.com", unique("secret"));
    assert_eq!(register(&app, &email).await.status(), 202, "registering needs no signing key");
    let ip = random_ip();
    let refused = login(&app, &email, PASSWORD, &ip).await;
    assert_problem(&refused, 503);

    bourse_devtools::resources::put_secret(&aws, &secret_id, "privateKey", &bourse_integration_tests::signing_key_pem()).await.unwrap();
    let response = login(&app, &email, PASSWORD, &ip).await;
    let body = json_body(&response);
    assert_eq!(response.status(), 200, "{body}");
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body["access_token"].as_str().unwrap().split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!(header["kid"], kid.as_str());
    assert_eq!(me(&app, body["access_token"].as_str().unwrap()).await.status(), 200);
}
