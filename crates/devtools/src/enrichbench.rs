//! `bourse-dev enrich-bench`: refresh of the whole universe through the queue against a local stub
//! provider with a rate limit and a latency, compared with the bound N / R.
//!
//! Against the stand-ins of the active profile (`bourse_profile test` or `dev`), but in a stack of
//! its own: tables and queues created from `template.yaml` under a random stack name, a Redis
//! database of its own (so the shared rate-limit key and the universe version of the real stack
//! are untouched). The universe's profiles are published there, a job of every symbol is queued
//! (⌈N/10⌉ SendMessageBatch), and `concurrency` local pollers — the event-source mapping's
//! maximum concurrency — receive batches of 10, run the consumer and delete what succeeded,
//! until the job is complete. The stub (Yahoo chart format, 127.0.0.1, ephemeral port) enforces
//! its limit itself (burst 2) and counts the 429s it had to answer.

use crate::resources::DynError;
use bourse_domain::jobs::JobId;
use bourse_providers::http_client::HttpClient;
use bourse_providers::stub::{StubConfig, StubFormat, StubServer};
use bourse_providers::{Provider, RateLimiter};
use bourse_runtime::Platform;
use enrich_consumer_fn::Consumer;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Settings {
    pub rate_per_second: u32,
    pub latency: Duration,
    pub concurrency: usize,
    pub redis_db: u8,
}

pub async fn run(settings: Settings) -> Result<(), DynError> {
    let base = Platform::from_env("enrich-bench")?;
    let stack = crate::stack::isolated_stack(&base, Path::new("."), "bench", settings.redis_db, None).await?;
    let (name, platform) = (stack.name, stack.platform);
    let queue = stack.queue_urls.get("EnrichQueue").ok_or("template has no EnrichQueue")?.clone();
    let cache = platform.cache.clone().ok_or("no cache")?;
    cache.delete(&[format!("{}yahoo-chart", bourse_providers::limiter::KEY_PREFIX)]).await?;
    let app = platform.config.require_app_table()?.to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;

    let mut stub_config = StubConfig::new(StubFormat::YahooChart);
    stub_config.rate_per_second = Some(settings.rate_per_second);
    stub_config.latency = settings.latency;
    let stub = StubServer::start(stub_config).await?;
    let provider: Arc<dyn Provider> = Arc::new(bourse_providers::yahoo::YahooChart::new(HttpClient::new(None)?, stub.base_url.clone()));
    let limiter = Arc::new(RateLimiter::new(
        Some(cache.clone()),
        &[("yahoo-chart".to_owned(), settings.rate_per_second)],
        settings.concurrency as u32,
    ));
    let consumers: Vec<Consumer> = (0..settings.concurrency)
        .map(|_| Consumer::with_providers(platform.clone(), vec![provider.clone()], limiter.clone()))
        .collect::<Result<_, _>>()?;

    let symbols = stack.symbols;
    let id = JobId::parse(&format!("j{}", &bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()[..24]))?;
    let job = bourse_storage::jobs::JobRecord::new(
        id.clone(),
        bourse_domain::jobs::JobOwner::Schedule,
        bourse_domain::jobs::JobKind::Universe,
        symbols.len(),
        "bench",
    );
    bourse_storage::jobs::create_job(&platform.aws, &app, &job, &symbols, now).await?;
    println!(
        "enrich-bench: {} symbols, stub provider {} req/s (burst 2) with {} ms latency, {} concurrent consumers, shared GCRA in Redis",
        symbols.len(),
        settings.rate_per_second,
        settings.latency.as_millis(),
        settings.concurrency
    );
    let started = Instant::now();
    bourse_storage::jobs::enqueue_symbols(&platform.aws, &queue, &id, &symbols).await?;
    let enqueued = started.elapsed();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pollers = consumers.iter().map(|consumer| poll_until(&platform, consumer, &queue, &done));
    let watcher = async {
        let outcome: Result<_, DynError> = loop {
            match bourse_storage::jobs::get_job(&platform.aws, &app, &id).await {
                Ok(Some(job)) if job.completed_at.is_some() => break Ok(job),
                Ok(_) => {}
                Err(err) => break Err(format!("reading the job failed (stand-ins stopped?): {err}").into()),
            }
            if started.elapsed() > Duration::from_secs(600) {
                break Err("the job did not complete within 600 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        outcome
    };
    let (job, _) = tokio::join!(watcher, futures_util::future::join_all(pollers));
    let job = job?;
    let wall = started.elapsed().as_secs_f64();
    let bound = symbols.len() as f64 / f64::from(settings.rate_per_second);
    let requests = stub.stats.requests();
    println!("job enqueued in {:.3} s ({} SendMessageBatch calls)", enqueued.as_secs_f64(), symbols.len().div_ceil(10));
    println!(
        "wall time {wall:.2} s; bound N/R = {} / {} = {bound:.2} s; ratio {:.3}x (aim <= 1.1x)",
        symbols.len(),
        settings.rate_per_second,
        wall / bound
    );
    println!(
        "provider requests {requests}, 429s {} (aim 0); achieved {:.2} req/s = {:.1} % of the limit",
        stub.stats.throttled(),
        requests as f64 / wall,
        100.0 * requests as f64 / wall / f64::from(settings.rate_per_second)
    );
    println!("job: done {}, failed {}, total {}", job.progress.done, job.progress.failed, job.progress.total);
    println!("(tables {name}-app/{name}-market and queues {name}-enrich* are left in the local stand-ins; they vanish with them)");
    Ok(())
}

async fn poll_until(platform: &Platform, consumer: &Consumer, queue: &str, done: &std::sync::atomic::AtomicBool) {
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        if let Err(err) = crate::poller::deliver_once(&platform.aws.sqs, consumer, queue).await {
            // A stand-in restarting must not turn into a hot loop.
            eprintln!("delivery failed: {err}");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
