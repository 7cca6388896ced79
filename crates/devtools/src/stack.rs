//! A throwaway stack on the local stand-ins, for tests and benchmarks that must not share state:
//! its own tables and queues (created from the template under a fresh name), its own Redis
//! database, and the bundled universe seeded into it.

use crate::resources::DynError;
use bourse_runtime::Platform;
use std::collections::HashMap;
use std::path::Path;

/// An isolated stack: the platform wired to it, and its queue URLs by logical id.
pub struct IsolatedStack {
    /// The stack name: tables `<name>-app`, `<name>-market`, queues `<name>-enrich*`.
    pub name: String,
    pub platform: Platform,
    pub queue_urls: HashMap<String, String>,
    /// The seeded universe's symbols.
    pub symbols: Vec<bourse_domain::Symbol>,
}

/// Creates stack `<prefix><random>` from `<repo>/template.yaml` next to `base`'s, with Redis
/// database `redis_db` (its universe version key cleared) and the universe from `<repo>/data`.
/// `queue_visibility` overrides the queues' visibility timeout in seconds (tests of redelivery).
pub async fn isolated_stack(
    base: &Platform,
    repo: &Path,
    prefix: &str,
    redis_db: u8,
    queue_visibility: Option<u64>,
) -> Result<IsolatedStack, DynError> {
    let stack = format!("{prefix}{}", &bourse_domain::random::hex_id(&bourse_domain::random::OsRandom).unwrap()[..8]);
    let template = crate::template::Template::load(&repo.join("template.yaml"), &stack)?;
    let queue_urls = crate::resources::create_all(&base.aws, &template, queue_visibility).await?;
    let mut config = (*base.config).clone();
    config.app_table = Some(format!("{stack}-app"));
    config.market_table = Some(format!("{stack}-market"));
    config.enrich_queue_url = Some(queue_urls.get("EnrichQueue").ok_or("template has no EnrichQueue")?.clone());
    config.scheduled_queue_url = Some(queue_urls.get("ScheduledQueue").ok_or("template has no ScheduledQueue")?.clone());
    config.cache_url = Some(config.cache_url.as_ref().ok_or("CACHE_URL is not set")?.with_db(i64::from(redis_db)));
    let platform = Platform::new(config)?;
    let cache = platform.cache.as_ref().ok_or("no cache")?;
    cache.delete(&[bourse_cache::UNIVERSE_VERSION_KEY.to_owned()]).await?;

    let read = |name: &str| std::fs::read_to_string(repo.join("data").join(name)).map_err(|e| format!("data/{name}: {e}"));
    let records = bourse_domain::universe::load_universe(&read("sp500-constituents.csv")?, &read("sp500-financials.csv")?)?;
    let now = time::OffsetDateTime::now_utc();
    let stocks: Vec<_> = records.iter().map(|r| bourse_domain::history::stock_from_record(r, now.date()).0).collect();
    let market = platform.config.require_market_table()?;
    bourse_storage::market::put_stocks(&platform.aws, market, &stocks).await?;
    bourse_storage::market::publish_universe(&platform.aws, market, &stocks, now.unix_timestamp() as u64).await?;
    let symbols = stocks.into_iter().map(|s| s.symbol).collect();
    Ok(IsolatedStack { name: stack, platform, queue_urls, symbols })
}
