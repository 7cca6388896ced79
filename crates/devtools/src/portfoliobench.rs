//! Portfolio benchmark: `summary` and `holdings` of portfolios with 10, 100 and 500 positions —
//! median handler time with the cache entry absent (computed from DynamoDB) and present (served
//! from Redis), and the DynamoDB requests and consumed capacity of each call. Runs in-process
//! through the whole HTTP pipeline (token check and usage meter included) against the stand-ins.

use crate::benchsupport::{elapsed_ms, event, median};
use crate::resources::DynError;
use bourse_runtime::Platform;
use serde_json::{Value, json};
use std::time::Instant;

type App = bourse_http::HttpApp<portfolio_fn::PortfolioRoute, portfolio_fn::Portfolio>;

fn body(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null)
}

/// A fresh account's access token, through the auth function.
pub(crate) async fn access_token() -> Result<String, DynError> {
    let auth = auth_fn::app(Platform::from_env("auth")?)?;
    let email = format!("bench-{}@example.com", &bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()[..12]);
    let credentials = json!({"email": email, "password": "tangerine-Orbit-47-quietly"}).to_string();
    let registered = auth.serve(event("POST", "/v1/auth/register", "", Some(credentials.clone()), &[])).await;
    if registered.status() != 202 {
        return Err(format!("register: {}", registered.status()).into());
    }
    let login = auth.serve(event("POST", "/v1/auth/login", "", Some(credentials), &[])).await;
    body(&login)["access_token"].as_str().map(str::to_owned).ok_or_else(|| format!("login: {}", login.status()).into())
}

pub async fn run(runs: usize) -> Result<(), DynError> {
    bourse_telemetry::measure_capacity(true);
    let platform = Platform::from_env("portfolio")?;
    let market = platform.config.require_market_table()?.to_owned();
    let version = bourse_storage::market::universe_version(&platform.aws, &market).await?;
    let symbols: Vec<String> =
        bourse_storage::market::load_universe(&platform.aws, &market, version).await?.iter().map(|s| s.symbol.to_string()).collect();
    let token = access_token().await?;
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let app: App = portfolio_fn::app(Platform::from_env("portfolio")?)?;
    let cache = platform.cache.as_ref().ok_or("the benchmark needs the cache (CACHE_URL)")?;
    // The caller's id, for the cache keys.
    let user = user_of(&token)?;

    println!(
        "portfolio benchmark ({runs} runs per figure, medians; in-process handler time incl. the HTTP pipeline, token check and usage meter)"
    );
    println!(
        "{:>9}  {:<9} {:>12} {:>10}  {:<58} {:>8}",
        "positions", "route", "cache absent", "cached", "DynamoDB requests (cache absent)", "capacity"
    );
    for positions in [10usize, 100, 500] {
        let created =
            app.serve(event("POST", "/v1/portfolios", "", Some(json!({"name": format!("bench {positions}")}).to_string()), &auth)).await;
        let id = bourse_domain::PortfolioId::parse(body(&created)["id"].as_str().ok_or("create portfolio")?)?;
        let mut csv = String::from("date,type,symbol,quantity,price,fees\n");
        for symbol in symbols.iter().cycle().take(positions) {
            csv.push_str(&format!("2026-01-05,BUY,{symbol},10,100,1\n"));
        }
        let mut upload = event("POST", &format!("/v1/portfolios/{id}/import"), "", Some(csv), &auth);
        upload.headers_mut().insert("content-type", http::HeaderValue::from_static("text/csv"));
        let imported = app.serve(upload).await;
        if body(&imported)["added"].as_u64() != Some(positions as u64) {
            return Err(format!("import of {positions} positions: {} {}", imported.status(), body(&imported)).into());
        }
        for view in ["summary", "holdings"] {
            let path = format!("/v1/portfolios/{id}/{view}");
            let key = portfolio_fn::cache_key(&user, &id, view);
            let (mut absent, mut cached) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
            let mut counted = None;
            for _ in 0..runs {
                cache.delete(std::slice::from_ref(&key)).await?;
                let started = Instant::now();
                let (response, counters) = bourse_telemetry::measured(app.serve(event("GET", &path, "", None, &auth))).await;
                absent.push(elapsed_ms(started));
                if response.status() != 200 {
                    return Err(format!("{path}: {}", response.status()).into());
                }
                counted.get_or_insert(counters);
                let started = Instant::now();
                app.serve(event("GET", &path, "", None, &auth)).await;
                cached.push(elapsed_ms(started));
            }
            let (_, hit) = bourse_telemetry::measured(app.serve(event("GET", &path, "", None, &auth))).await;
            let miss = counted.unwrap_or_default();
            let ops = summarise(&miss.dynamodb_operations);
            println!(
                "{positions:>9}  {view:<9} {:>9.3} ms {:>7.3} ms  {ops:<58} {:>5.1} CU   cached: {} ({:.1} CU)",
                median(absent),
                median(cached),
                miss.dynamodb_capacity_milli as f64 / 1000.0,
                summarise(&hit.dynamodb_operations),
                hit.dynamodb_capacity_milli as f64 / 1000.0,
            );
        }
    }
    println!("(every call also meters usage: 1 UpdateItem, 1 CU, included above)");

    // The largest import: 10,000 rows over 500 symbols (20 trades each) into an empty portfolio.
    let created = app.serve(event("POST", "/v1/portfolios", "", Some(json!({"name": "bench import"}).to_string()), &auth)).await;
    let id = body(&created)["id"].as_str().ok_or("create portfolio")?.to_owned();
    let rows = bourse_domain::import::MAX_ROWS;
    let mut csv = String::from("date,type,symbol,quantity,price,fees\n");
    for (i, symbol) in symbols.iter().cycle().take(500).cycle().take(rows).enumerate() {
        csv.push_str(&format!("2026-01-{:02},BUY,{symbol},1,{},0\n", 1 + (i / 500) % 28, 100 + i % 50));
    }
    let bytes = csv.len();
    let mut upload = event("POST", &format!("/v1/portfolios/{id}/import"), "", Some(csv), &auth);
    upload.headers_mut().insert("content-type", http::HeaderValue::from_static("text/csv"));
    let started = Instant::now();
    let (imported, counted) = bourse_telemetry::measured(app.serve(upload)).await;
    let took = elapsed_ms(started);
    println!(
        "import of {rows} rows ({} KB, 500 symbols, empty portfolio): {took:.0} ms, added {}, {}, {:.0} CU",
        bytes / 1024,
        body(&imported)["added"],
        summarise(&counted.dynamodb_operations),
        counted.dynamodb_capacity_milli as f64 / 1000.0
    );
    Ok(())
}

/// `Query ×1, BatchGetItem ×5, UpdateItem ×1` in order of first use.
pub(crate) fn summarise(operations: &[String]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for op in operations {
        match counts.iter_mut().find(|(name, _)| name == op) {
            Some((_, n)) => *n += 1,
            None => counts.push((op, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(name, n)| format!("{name} ×{n}")).collect();
    format!("{} = {}", parts.join(", "), operations.len())
}

/// The `sub` claim of an access token (read only to name the cache keys; the function verifies it).
pub(crate) fn user_of(token: &str) -> Result<bourse_domain::UserId, DynError> {
    use base64::Engine;
    let payload = token.split('.').nth(1).ok_or("token shape")?;
    let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?)?;
    Ok(bourse_domain::UserId::parse(claims["sub"].as_str().ok_or("token without sub")?)?)
}
