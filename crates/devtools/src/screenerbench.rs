//! Screener benchmark: handler time of warm custom screens over the reference universe and over
//! a synthetic universe of 10,000 stocks (clearly labelled `SYN…`), search, cached vs uncached
//! reads, and DynamoDB requests per route. Runs against the local stand-ins.

use crate::resources::DynError;
use bourse_domain::Symbol;
use bourse_domain::stock::{Metric, Stock};
use bourse_runtime::Platform;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn event(method: &str, path: &str, query: &str, body: Option<Value>) -> lambda_http::Request {
    crate::benchsupport::event(method, path, query, body.map(|b| b.to_string()), &[])
}

type App = bourse_http::HttpApp<screener_fn::ScreenerRoute, screener_fn::Screener>;

fn new_app() -> Result<App, DynError> {
    Ok(screener_fn::app(Platform::from_env("screener")?)?)
}

/// Median handler time (ms) of `runs` requests made by `make`, after one warm-up.
async fn median_ms(app: &App, runs: usize, make: impl Fn() -> lambda_http::Request) -> f64 {
    app.serve(make()).await;
    let mut samples: Vec<f64> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let response = app.serve(make()).await;
        samples.push(crate::benchsupport::elapsed_ms(started));
        assert!(response.status().is_success(), "bench request failed: {}", response.status());
    }
    crate::benchsupport::median(samples)
}

/// `count` synthetic stocks derived from the real ones (metrics scaled by a deterministic factor).
pub fn synthetic(real: &[Stock], count: usize) -> Vec<Stock> {
    (0..count)
        .map(|i| {
            let base = &real[i % real.len()];
            let mut stock = base.clone();
            stock.symbol = Symbol::parse(&format!("SYN{i:05}")).expect("synthetic symbol");
            stock.name = format!("Synthetic {} {i}", base.name);
            let factor = Decimal::new(80 + (i as i64 * 37) % 41, 2); // 0.80 .. 1.20
            for metric in Metric::ALL {
                if let Some(v) = base.metric(metric) {
                    stock.set(metric, Some((v * factor).round_dp(4)));
                }
            }
            stock
        })
        .collect()
}

pub async fn run(runs: usize) -> Result<(), DynError> {
    let platform = Platform::from_env("bench")?;
    let table = platform.config.require_market_table()?.to_owned();
    let version = bourse_storage::market::universe_version(&platform.aws, &table).await?;
    let real = bourse_storage::market::load_universe(&platform.aws, &table, version).await?;
    let screen = || {
        event(
            "POST",
            "/v1/screener/query",
            "",
            Some(
                json!({"filter": "pe > 0 and pe < 25 and dividend_yield >= 2% and price > sma_200", "sort": "dividend_yield", "limit": 50}),
            ),
        )
    };

    println!("screener benchmark ({runs} runs per figure, medians; handler time in-process incl. the HTTP pipeline)");
    let app = new_app()?;
    let real_ms = median_ms(&app, runs, screen).await;
    let search_ms = median_ms(&app, runs, || event("GET", "/v1/stocks/search", "q=mic", None)).await;
    println!("custom screen, {} stocks: {real_ms:.3} ms", real.len());
    println!("search \"mic\", {} stocks: {search_ms:.3} ms (cache-aside on; a hit after the first)", real.len());

    // DynamoDB requests per route, warm instance.
    println!("DynamoDB requests per route (warm instance):");
    let routes: Vec<(&str, lambda_http::Request)> = vec![
        ("GET /v1/stocks", event("GET", "/v1/stocks", "limit=50", None)),
        ("GET /v1/stocks/search", event("GET", "/v1/stocks/search", "q=app", None)),
        (
            "POST /v1/stocks/batch (100)",
            event(
                "POST",
                "/v1/stocks/batch",
                "",
                Some(json!({"symbols": real.iter().take(100).map(|s| s.symbol.to_string()).collect::<Vec<_>>()})),
            ),
        ),
        ("GET /v1/stocks/{symbol}", event("GET", "/v1/stocks/MSFT", "", None)),
        ("GET /v1/stocks/{symbol}/history", event("GET", "/v1/stocks/MSFT/history", "from=2026-01-01&to=2026-03-31", None)),
        ("GET /v1/sectors", event("GET", "/v1/sectors", "", None)),
        ("GET /v1/screener/presets/{name}", event("GET", "/v1/screener/presets/momentum", "", None)),
        ("POST /v1/screener/query", screen()),
        ("GET /v1/signals/market", event("GET", "/v1/signals/market", "", None)),
    ];
    for (name, request) in routes {
        let (_, counted) = bourse_telemetry::measured(app.serve(request)).await;
        println!(
            "  {name:<34} {} DynamoDB ({:?}), cache hits {} misses {}",
            counted.dynamodb_requests(),
            counted.dynamodb_operations,
            counted.cache_hits,
            counted.cache_misses
        );
    }

    // Cached vs uncached: a fresh instance (cold universe) answering a list from DynamoDB, against
    // a fresh instance answering the same list from the cache.
    let list = || event("GET", "/v1/stocks", "sort=pe&order=asc&limit=100", None);
    let mut uncached = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..runs.min(50) {
        let fresh = new_app()?;
        if let Some(cache) = &fresh.handler().platform().cache {
            let _ = cache.delete(&[format!("{}:u{version}:/v1/stocks?limit=100&order=asc&sort=pe", screener_fn::CACHE_PREFIX)]).await;
        }
        let started = Instant::now();
        fresh.serve(list()).await;
        uncached.push(started.elapsed().as_secs_f64() * 1000.0);
        let fresh = new_app()?;
        let started = Instant::now();
        fresh.serve(list()).await;
        cached.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    uncached.sort_by(f64::total_cmp);
    cached.sort_by(f64::total_cmp);
    let (u, c) = (uncached[uncached.len() / 2], cached[cached.len() / 2]);
    println!("cold instance, list of 100: uncached {u:.3} ms (universe from DynamoDB), cached {c:.3} ms (Redis) = {:.1}x", u / c);

    // 10,000 stocks: publish a synthetic universe, measure, then restore the real one.
    let synthetic = synthetic(&real, 10_000);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let published = bourse_storage::market::publish_universe(&platform.aws, &table, &synthetic, now).await?;
    if let Some(cache) = &platform.cache {
        cache.set(bourse_cache::UNIVERSE_VERSION_KEY, published.to_string().as_bytes(), Duration::from_secs(60)).await;
    }
    let app = new_app()?;
    let big_ms = median_ms(&app, runs, screen).await;
    let big_search = median_ms(&app, runs, || event("GET", "/v1/stocks/search", "q=syn", None)).await;
    println!("custom screen, {} stocks: {big_ms:.3} ms (aim < 5 ms)", synthetic.len());
    println!("search \"syn\", {} stocks: {big_search:.3} ms", synthetic.len());
    let restored = bourse_storage::market::publish_universe(&platform.aws, &table, &real, now).await?;
    if let Some(cache) = &platform.cache {
        cache.set(bourse_cache::UNIVERSE_VERSION_KEY, restored.to_string().as_bytes(), Duration::from_secs(60)).await;
    }
    Ok(())
}
