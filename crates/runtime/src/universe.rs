//! The whole universe held in memory by a warm function, revalidated against the universe
//! version: at most once per [`REVALIDATE_EVERY`] one cache read (one GetItem when the cache is
//! down or cold), and a reload (one Query of the snapshot) only when the version moved. A screen
//! over the universe then costs no DynamoDB request.

use crate::{Platform, storage_problem};
use bourse_domain::stock::{Metric, Stock};
use bourse_http::ApiError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REVALIDATE_EVERY: Duration = Duration::from_secs(1);
use bourse_cache::UNIVERSE_VERSION_KEY as VERSION_KEY;
/// How long the cached version may be trusted; the publisher also writes it.
const VERSION_TTL: Duration = Duration::from_secs(60);

pub struct Universe {
    pub version: u64,
    pub stocks: Vec<Stock>,
    by_symbol: HashMap<String, usize>,
    /// (lower-case token, stock index, is the symbol), sorted by token: prefix search by binary search.
    tokens: Vec<(String, usize, bool)>,
}

impl Universe {
    pub fn new(version: u64, stocks: Vec<Stock>) -> Self {
        let by_symbol = stocks.iter().enumerate().map(|(i, s)| (s.symbol.to_string(), i)).collect();
        let mut tokens = Vec::new();
        for (i, stock) in stocks.iter().enumerate() {
            tokens.push((stock.symbol.as_str().to_ascii_lowercase(), i, true));
            for word in stock.name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                tokens.push((word.to_lowercase(), i, false));
            }
        }
        tokens.sort();
        tokens.dedup();
        Universe { version, stocks, by_symbol, tokens }
    }

    pub fn get(&self, symbol: &str) -> Option<&Stock> {
        self.by_symbol.get(symbol).map(|i| &self.stocks[*i])
    }

    /// Ranked prefix search: exact symbol, then symbol prefix, then a name word's prefix; ties by
    /// market cap, largest first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Stock> {
        let q = query.trim().to_lowercase();
        let start = self.tokens.partition_point(|(t, _, _)| t.as_str() < q.as_str());
        let mut best: HashMap<usize, u8> = HashMap::new();
        for (token, index, is_symbol) in self.tokens[start..].iter().take_while(|(t, _, _)| t.starts_with(&q)) {
            let rank = match (is_symbol, token == &q) {
                (true, true) => 0,
                (true, false) => 1,
                (false, _) => 2,
            };
            best.entry(*index).and_modify(|r| *r = (*r).min(rank)).or_insert(rank);
        }
        let mut hits: Vec<(u8, &Stock)> = best.into_iter().map(|(i, r)| (r, &self.stocks[i])).collect();
        hits.sort_by(|(ra, a), (rb, b)| {
            ra.cmp(rb).then_with(|| b.metric(Metric::MarketCap).cmp(&a.metric(Metric::MarketCap))).then_with(|| a.symbol.cmp(&b.symbol))
        });
        hits.into_iter().take(limit).map(|(_, s)| s).collect()
    }
}

#[derive(Default)]
pub struct UniverseCache {
    current: tokio::sync::RwLock<Option<Arc<Universe>>>,
    /// The published version as last read, and when: read again at most once per
    /// [`REVALIDATE_EVERY`], whatever the number of requests.
    version_read: Mutex<Option<(Instant, u64)>>,
    /// One reload at a time per instance (stampede protection for the snapshot Query).
    loading: tokio::sync::Mutex<()>,
}

impl UniverseCache {
    /// The published version, read at most once per [`REVALIDATE_EVERY`] per instance (cache
    /// first, DynamoDB when the cache misses or is down); in between, the version last read.
    pub async fn published_version(&self, platform: &Platform, table: &str) -> Result<u64, ApiError> {
        let recent = self.version_read.lock().ok().and_then(|r| r.filter(|(at, _)| at.elapsed() < REVALIDATE_EVERY).map(|(_, v)| v));
        if let Some(version) = recent {
            return Ok(version);
        }
        let version = self.read_published_version(platform, table).await?;
        if let Ok(mut read) = self.version_read.lock() {
            *read = Some((Instant::now(), version));
        }
        Ok(version)
    }

    async fn read_published_version(&self, platform: &Platform, table: &str) -> Result<u64, ApiError> {
        if let Some(cache) = &platform.cache
            && let Some(bytes) = cache.get(VERSION_KEY).await
            && let Some(version) = std::str::from_utf8(&bytes).ok().and_then(|t| t.parse().ok())
        {
            return Ok(version);
        }
        let version = bourse_storage::market::universe_version(&platform.aws, table).await.map_err(storage_problem)?;
        if let Some(cache) = &platform.cache {
            cache.set(VERSION_KEY, version.to_string().as_bytes(), VERSION_TTL).await;
        }
        Ok(version)
    }

    /// The universe, revalidated at most once per [`REVALIDATE_EVERY`] (the version read is
    /// remembered that long).
    pub async fn get(&self, platform: &Platform, table: &str) -> Result<Arc<Universe>, ApiError> {
        let version = self.published_version(platform, table).await?;
        self.at_version(platform, table, version).await
    }

    /// The universe at `version` (loading it if this instance holds another one).
    pub async fn at_version(&self, platform: &Platform, table: &str, version: u64) -> Result<Arc<Universe>, ApiError> {
        if let Some(universe) = self.current.read().await.clone().filter(|u| u.version == version) {
            return Ok(universe);
        }
        let _loading = self.loading.lock().await;
        if let Some(universe) = self.current.read().await.clone().filter(|u| u.version == version) {
            return Ok(universe);
        }
        if version == 0 {
            return Err(ApiError::Unavailable("the stock universe has not been published yet".into()));
        }
        let stocks = bourse_storage::market::load_universe(&platform.aws, table, version).await.map_err(storage_problem)?;
        tracing::info!(version, stocks = stocks.len(), "universe loaded");
        let universe = Arc::new(Universe::new(version, stocks));
        *self.current.write().await = Some(universe.clone());
        Ok(universe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bourse_domain::Symbol;
    use rust_decimal::Decimal;

    fn stock(symbol: &str, name: &str, cap: i64) -> Stock {
        let mut s = Stock::new(Symbol::parse(symbol).unwrap(), name.into());
        s.set(Metric::MarketCap, Some(Decimal::from(cap)));
        s
    }

    #[test]
    fn search_ranks_exact_symbol_then_symbol_prefix_then_name_words() {
        let u = Universe::new(
            1,
            vec![
                stock("APA", "APA Corporation", 10),
                stock("AAPL", "Apple Inc.", 3000),
                stock("APD", "Air Products", 50),
                stock("XYZ", "Apartment Income", 5),
            ],
        );
        let symbols = |q| u.search(q, 10).iter().map(|s| s.symbol.to_string()).collect::<Vec<_>>();
        assert_eq!(symbols("apa"), ["APA", "XYZ"]);
        assert_eq!(symbols("AP"), ["APD", "APA", "AAPL", "XYZ"]);
        assert_eq!(symbols("products"), ["APD"]);
        assert!(symbols("zzz").is_empty());
        assert_eq!(u.search("a", 2).len(), 2);
    }
}
