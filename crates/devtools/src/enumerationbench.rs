//! Enumeration timing: how long registration, a password-reset request and a failed sign-in take
//! for an address with an account and for one without. An observer who could tell them apart by
//! time would learn who has an account, so each pair should be as close as the noise allows.
//! Runs in-process through the whole HTTP pipeline against the stand-ins, the two kinds of
//! address interleaved, each request from its own source address (so no per-address limit
//! applies); prints medians, 90th percentiles and the gap.

use crate::benchsupport::{elapsed_ms, event_from, median, percentile};
use crate::resources::DynError;
use bourse_runtime::Platform;
use serde_json::json;
use std::time::Instant;

const PASSWORD: &str = "tangerine-Orbit-47-quietly";

fn fresh(prefix: &str) -> Result<String, DynError> {
    Ok(format!("{prefix}-{}@example.com", &bourse_domain::random::hex_id(&bourse_domain::random::OsRandom)?[..16]))
}

/// A benchmark-range source address of its own for request `n` (198.18.0.0/15).
fn address(n: usize) -> String {
    format!("198.{}.{}.{}", 18 + (n >> 16) % 2, (n >> 8) % 256, n % 256)
}

pub async fn run(runs: usize) -> Result<(), DynError> {
    let auth = auth_fn::app(Platform::from_env("auth")?)?;
    let known = fresh("bench-known")?;
    let registered = auth
        .serve(event_from(
            &address(0),
            "POST",
            "/v1/auth/register",
            "",
            Some(json!({"email": known, "password": PASSWORD}).to_string()),
            &[],
        ))
        .await;
    if registered.status() != 202 {
        return Err(format!("register: {}", registered.status()).into());
    }
    println!("enumeration timing ({runs} runs per figure; in-process handler time incl. the HTTP pipeline; release build)");
    println!(
        "{:<24} {:>8} {:>14} {:>14} {:>10} {:>10} {:>9}",
        "request", "status", "known median", "unknown median", "known p90", "unknown p90", "gap"
    );
    let mut n = 1;
    for (name, path) in [
        ("register", "/v1/auth/register"),
        ("password-reset request", "/v1/auth/password-reset"),
        ("sign-in, wrong password", "/v1/auth/login"),
    ] {
        let body = |email: &str| match path {
            "/v1/auth/password-reset" => json!({"email": email}).to_string(),
            "/v1/auth/login" => json!({"email": email, "password": "a-wrong-password-here"}).to_string(),
            _ => json!({"email": email, "password": PASSWORD}).to_string(),
        };
        let (mut known_ms, mut unknown_ms, mut statuses) = (Vec::new(), Vec::new(), std::collections::BTreeSet::new());
        // One of each untimed first (warm-up), then interleaved.
        for i in 0..=runs {
            for is_known in [i % 2 == 0, i % 2 != 0] {
                let email = if is_known { known.clone() } else { fresh("bench-nobody")? };
                n += 1;
                let started = Instant::now();
                let response = auth.serve(event_from(&address(n), "POST", path, "", Some(body(&email)), &[])).await;
                let ms = elapsed_ms(started);
                statuses.insert(response.status().as_u16());
                if i > 0 {
                    if is_known { known_ms.push(ms) } else { unknown_ms.push(ms) }
                }
            }
        }
        let (km, um) = (median(known_ms.clone()), median(unknown_ms.clone()));
        let status = statuses.iter().map(u16::to_string).collect::<Vec<_>>().join("/");
        println!(
            "{name:<24} {status:>8} {km:>11.1} ms {um:>11.1} ms {:>7.1} ms {:>7.1} ms {:>+6.1} ms",
            percentile(known_ms, 0.9),
            percentile(unknown_ms, 0.9),
            km - um
        );
    }
    println!("(one status per request kind means known and unknown addresses were answered alike)");
    Ok(())
}
