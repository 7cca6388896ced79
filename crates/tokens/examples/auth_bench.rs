//! Auth benchmark: login latency (dominated by one argon2id verification at the production
//! parameters) and access-token verification cost per request. Prints medians of repeated runs.
//! Run with `bash dev/bench-auth.sh` (release build).

use bourse_domain::Password;
use bourse_domain::password_hash::{hash_password, verify_password};
use bourse_tokens::{TokenSigner, TokenVerifier, generate_keypair};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(15);
    let password = Password::presented("tangerine-Orbit-47-quietly").unwrap();
    let hash = hash_password(&password, [9; 16]).unwrap();
    let logins: Vec<f64> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            assert!(verify_password(&password, &hash));
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let (private, public) = generate_keypair().unwrap();
    let signer = TokenSigner::new("k1", &private).unwrap();
    let verifier = TokenVerifier::from_json(&format!(r#"{{"k1": "{public}"}}"#)).unwrap();
    let now = 1_795_642_200;
    let (token, _) = signer.issue("0123456789abcdef0123456789abcdef", "session", "free", now).unwrap();
    let per_batch = 2_000;
    let verifications: Vec<f64> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..per_batch {
                std::hint::black_box(verifier.verify(std::hint::black_box(&token), now).unwrap());
            }
            started.elapsed().as_secs_f64() * 1e6 / per_batch as f64
        })
        .collect();
    let signs: Vec<f64> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..200 {
                std::hint::black_box(signer.issue("u", "s", "free", now).unwrap());
            }
            started.elapsed().as_secs_f64() * 1e6 / 200.0
        })
        .collect();
    println!("argon2id m=19456 KiB t=2 p=1, {rounds} runs");
    println!("login (argon2id verify), median: {:.1} ms", median(logins));
    println!("access-token verification (EdDSA + claims), median: {:.1} us/request", median(verifications));
    println!("access-token issue (EdDSA sign), median: {:.1} us", median(signs));
}
