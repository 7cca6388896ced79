//! Alerts benchmark: the consumer's evaluation of a refresh. `alerts` alerts are seeded over
//! `symbols` symbols of their own (one "below" alert per symbol that a price under its level
//! crosses, the rest "above" levels it does not reach), then every symbol is evaluated as a
//! changed one, `concurrency` at a time, as the enrichment does after writing a symbol. Prints the
//! alerts evaluated per second and the DynamoDB requests per changed symbol and per fired alert,
//! counted by the per-request telemetry (as the integration test asserts them); then the latency of
//! reading the inbox those alerts filled (first page, unread count).

use crate::benchsupport::{elapsed_ms, median, percentile};
use crate::resources::DynError;
use bourse_domain::alerts::{AlertRule, Observation};
use bourse_domain::{AlertId, Symbol, UserId};
use bourse_runtime::Platform;
use bourse_storage::alerts::AlertRecord;
use enrich_consumer_fn::Consumer;
use futures_util::StreamExt;
use rust_decimal::Decimal;
use std::time::Instant;

pub struct Settings {
    pub alerts: usize,
    pub symbols: usize,
    pub concurrency: usize,
}

fn random_bytes() -> Result<[u8; 16], DynError> {
    Ok(bourse_domain::random::bytes(&bourse_domain::random::OsRandom)?)
}

pub async fn run(settings: Settings) -> Result<(), DynError> {
    let platform = Platform::from_env("enrich-consumer")?;
    let app = platform.config.require_app_table()?.to_owned();
    let consumer = Consumer::new(platform.clone()).await?;
    let run = bourse_domain::random::hex_id(&bourse_domain::random::OsRandom)?[..5].to_ascii_uppercase();
    let symbols: Vec<Symbol> = (0..settings.symbols).map(|i| Symbol::parse(&format!("B{run}{i:04}"))).collect::<Result<_, _>>()?;
    let per_symbol = settings.alerts.div_ceil(settings.symbols.max(1));
    let users: Vec<UserId> = (0..200).map(|_| random_bytes().map(UserId::from_random)).collect::<Result<_, _>>()?;
    let mut alerts = Vec::with_capacity(settings.alerts);
    for (s, symbol) in symbols.iter().enumerate() {
        for k in 0..per_symbol.min(settings.alerts - alerts.len()) {
            let rule = if k == 0 {
                AlertRule::PriceBelow { symbol: symbol.clone(), price: Decimal::from(20) }
            } else {
                AlertRule::PriceAbove { symbol: symbol.clone(), price: Decimal::from(100 + k) }
            };
            alerts.push(AlertRecord {
                user: users[(s + k) % users.len()].clone(),
                id: AlertId::from_random(random_bytes()?),
                rule,
                armed: true,
                crossings: 0,
                pending: None,
                matches: Default::default(),
                last_fired_at: None,
                created_at: "2026-12-01T00:00:00Z".into(),
            });
        }
    }
    let seeding = Instant::now();
    bourse_storage::alerts::put_alerts_unchecked(&platform.aws, &app, &alerts).await?;
    println!("seeded {} alerts over {} symbols in {:.1} s", alerts.len(), symbols.len(), seeding.elapsed().as_secs_f64());

    let seen = Observation { price: Some(Decimal::new(195, 1)), change_pct: Some(Decimal::new(-5, 1)), signals: vec![] };
    let started = Instant::now();
    let (outcomes, counted) = bourse_telemetry::measured(async {
        futures_util::stream::iter(&symbols)
            .map(|symbol| consumer.evaluate_symbol_alerts(symbol, &seen, None))
            .buffer_unordered(settings.concurrency.max(1))
            .collect::<Vec<_>>()
            .await
    })
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let (mut evaluated, mut fired) = (0usize, 0usize);
    for outcome in outcomes {
        let done = outcome.map_err(|e| e.to_string())?;
        evaluated += done.evaluated;
        fired += done.fired;
    }
    let count = |op: &str| counted.dynamodb_operations.iter().filter(|o| o.as_str() == op).count();
    // Each fired alert's notification reads its user's delivery settings (1 Query): the rest of
    // the Queries are the symbols' alert pages.
    let queries = count("Query");
    let page_queries = queries.saturating_sub(fired);
    let requests = counted.dynamodb_requests();
    println!("evaluated {evaluated} alerts of {} changed symbols in {seconds:.2} s ({} concurrently)", symbols.len(), settings.concurrency);
    println!("alerts evaluated per second: {:.0}", evaluated as f64 / seconds);
    println!("fired: {fired}");
    println!(
        "DynamoDB requests: {requests} ({queries} Query, {} UpdateItem, {} TransactWriteItems)",
        count("UpdateItem"),
        count("TransactWriteItems")
    );
    println!("DynamoDB requests per changed symbol (reading its alerts): {:.2}", page_queries as f64 / symbols.len().max(1) as f64);
    println!("DynamoDB requests per fired alert: {:.2}", (requests - page_queries) as f64 / fired.max(1) as f64);

    // Reading the inbox the fired alerts filled: each user's first page and unread count, one
    // user after another (the storage calls the routes make, without the HTTP pipeline).
    let (mut page_ms, mut count_ms) = (Vec::new(), Vec::new());
    for user in &users {
        let started = Instant::now();
        bourse_storage::inbox::list(&platform.aws, &app, user, 20, None, false).await?;
        page_ms.push(elapsed_ms(started));
        let started = Instant::now();
        bourse_storage::inbox::unread_count(&platform.aws, &app, user).await?;
        count_ms.push(elapsed_ms(started));
    }
    println!(
        "inbox read latency over {} users: first page of 20 median {:.2} ms, p99 {:.2} ms; unread count median {:.2} ms, p99 {:.2} ms",
        users.len(),
        median(page_ms.clone()),
        percentile(page_ms, 0.99),
        median(count_ms.clone()),
        percentile(count_ms, 0.99)
    );
    Ok(())
}
