//! The screener function: the stock universe, search, batch lookup, sectors, presets, custom
//! screens, market signals, and the jobs API ([`jobs`]: bearer routes).
//!
//! Reads are served from the universe held in memory (see [`universe`]); public GETs are also
//! cached in Redis under the universe version (so a new version invalidates them all) with
//! per-route TTLs, and carry `ETag`/`Cache-Control`. Routing is declared once in [`ROUTES`].

pub mod jobs;
pub use bourse_runtime::universe;
pub mod views;
#[cfg(test)]
mod wire_tests;

use bourse_domain::Symbol;
use bourse_domain::screener::{Cursor, PRESETS, SortSpec, page, parse_filter, preset};
use bourse_domain::signals::stock_signals;
use bourse_domain::stock::{Metric, Stock, TextField};
use bourse_http::Page;
use bourse_http::{ApiError, ApiRequest, FieldError, Handler, HttpApp, Reply, Route};
use bourse_runtime::{Dependency, Platform, StartupError, storage_problem};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;
use universe::{Universe, UniverseCache};

pub const SERVICE: &str = "screener";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every route this function answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenerRoute {
    Health,
    ListStocks,
    Search,
    Batch,
    Detail,
    History,
    Sectors,
    Fields,
    Presets,
    PresetResults,
    Query,
    MarketSignals,
    CreateJob,
    GetJob,
}

pub static ROUTES: &[Route<ScreenerRoute>] = &[
    Route::get("/v1/screener/health", ScreenerRoute::Health),
    Route::get("/v1/stocks", ScreenerRoute::ListStocks),
    Route::get("/v1/stocks/search", ScreenerRoute::Search),
    Route::post("/v1/stocks/batch", ScreenerRoute::Batch),
    Route::get("/v1/stocks/{symbol}", ScreenerRoute::Detail),
    Route::get("/v1/stocks/{symbol}/history", ScreenerRoute::History),
    Route::get("/v1/sectors", ScreenerRoute::Sectors),
    Route::get("/v1/screener/fields", ScreenerRoute::Fields),
    Route::get("/v1/screener/presets", ScreenerRoute::Presets),
    Route::get("/v1/screener/presets/{name}", ScreenerRoute::PresetResults),
    Route::post("/v1/screener/query", ScreenerRoute::Query),
    Route::get("/v1/signals/market", ScreenerRoute::MarketSignals),
    Route::bearer_post("/v1/jobs", ScreenerRoute::CreateJob),
    Route::bearer_get("/v1/jobs/{id}", ScreenerRoute::GetJob),
];

/// What the health endpoint checks.
const DEPENDENCIES: &[Dependency] = &[Dependency::MarketTable, Dependency::AppTable, Dependency::EnrichQueue, Dependency::Cache];

/// Cache lifetimes (HTTP `max-age` and Redis TTL alike).
pub const PRESET_TTL: Duration = Duration::from_secs(3600);
pub const LIST_TTL: Duration = Duration::from_secs(300);
pub const DETAIL_TTL: Duration = Duration::from_secs(900);
/// Prefix of the cached answers. Its `w2` is the wire format's generation: answers cached in an
/// earlier format (camelCase) are never served after a deploy that changes it.
pub const CACHE_PREFIX: &str = "bourse:screener:w2";

/// Most items per page, symbols per batch, search results.
pub const MAX_LIMIT: usize = 100;
pub const MAX_BATCH: usize = 100;
/// Longest history range one request may ask for.
pub const MAX_HISTORY_DAYS: i64 = 5 * 366;

pub struct Screener {
    platform: Platform,
    market_table: String,
    universe: UniverseCache,
}

impl Screener {
    pub fn new(platform: Platform) -> Result<Self, StartupError> {
        let market_table = platform.config.require_market_table()?.to_owned();
        Ok(Screener { platform, market_table, universe: UniverseCache::default() })
    }

    /// The clients this instance was built with (benchmarks and tests).
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    async fn universe(&self) -> Result<std::sync::Arc<Universe>, ApiError> {
        self.universe.get(&self.platform, &self.market_table).await
    }

    /// Cache-aside for a public GET: the key holds the universe version, so publishing a new
    /// universe invalidates every cached answer at once.
    async fn cached<F, Fut, T: Serialize>(&self, request: &ApiRequest, ttl: Duration, compute: F) -> Result<Reply, ApiError>
    where
        F: FnOnce(u64) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let version = self.universe.published_version(&self.platform, &self.market_table).await?;
        let render =
            || async move { compute(version).await.and_then(|v| serde_json::to_vec(&v).map_err(|e| ApiError::Internal(e.to_string()))) };
        let body = match &self.platform.cache {
            Some(cache) => {
                let key = format!("{CACHE_PREFIX}:u{version}:{}", canonical(request));
                cache.get_or_compute(&key, ttl, render).await?
            }
            None => render().await?,
        };
        Ok(Reply::json_bytes(StatusCode::OK, body).public(ttl))
    }

    async fn list(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&["sector", "sort", "order", "limit", "cursor"])?;
        let sort = sort_spec(request, "market_cap", "desc")?;
        let limit = request.limit(50, MAX_LIMIT)?;
        let cursor = cursor(request, &sort)?;
        let sector = request.query("sector")?.map(str::to_owned);
        self.cached(request, LIST_TTL, |version| async move {
            let universe = self.universe.at_version(&self.platform, &self.market_table, version).await?;
            let matching: Vec<&Stock> = universe
                .stocks
                .iter()
                .filter(|s| sector.as_deref().is_none_or(|want| s.text(TextField::Sector).unwrap_or("Unknown").eq_ignore_ascii_case(want)))
                .collect();
            Ok(stock_page(universe.version, matching, &sort, cursor.as_ref(), limit))
        })
        .await
    }

    async fn search(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&["q", "limit"])?;
        let q = request.query("q")?.map(str::trim).unwrap_or_default().to_owned();
        if q.is_empty() || q.chars().count() > 32 {
            return Err(ApiError::field("query.q", "a search text of 1 to 32 characters is required"));
        }
        let limit = request.limit(10, MAX_LIMIT)?;
        self.cached(request, LIST_TTL, |version| async move {
            let universe = self.universe.at_version(&self.platform, &self.market_table, version).await?;
            let items = universe.search(&q, limit).into_iter().map(views::stock_summary).collect();
            Ok(views::SearchResults { query: q, page: Page::all(items), universe_version: universe.version })
        })
        .await
    }

    async fn batch(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Batch {
            symbols: Vec<String>,
        }
        let batch: Batch = request.json()?;
        if batch.symbols.is_empty() || batch.symbols.len() > MAX_BATCH {
            return Err(ApiError::field("body.symbols", format!("give 1 to {MAX_BATCH} symbols")));
        }
        let mut symbols = Vec::with_capacity(batch.symbols.len());
        let mut errors = Vec::new();
        for (i, raw) in batch.symbols.iter().enumerate() {
            match Symbol::parse(raw) {
                Ok(symbol) => symbols.push(symbol),
                Err(e) => errors.push(FieldError::new(format!("body.symbols[{i}]"), e.to_string())),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let universe = self.universe().await?;
        let mut items = Vec::new();
        let mut unknown = Vec::new();
        for symbol in symbols {
            match universe.get(symbol.as_str()) {
                Some(stock) => items.push(views::stock_summary(stock)),
                None => unknown.push(symbol.to_string()),
            }
        }
        Reply::ok(&views::BatchResults { page: Page::all(items), unknown, universe_version: universe.version })
    }

    async fn detail(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let symbol = path_symbol(request)?;
        self.cached(request, DETAIL_TTL, |version| async move {
            let universe = self.universe.at_version(&self.platform, &self.market_table, version).await?;
            let stock = universe.get(symbol.as_str()).ok_or_else(|| ApiError::NotFound(format!("no stock {symbol}")))?;
            Ok(views::stock_detail(stock))
        })
        .await
    }

    async fn history(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&["from", "to"])?;
        let symbol = path_symbol(request)?;
        let today = time::OffsetDateTime::now_utc().date();
        let to = request.date("to")?.unwrap_or(today);
        let from = request.date("from")?.unwrap_or(to - time::Duration::days(365));
        if from > to {
            return Err(ApiError::field("query.from", "must not be after to"));
        }
        if (to - from).whole_days() > MAX_HISTORY_DAYS {
            return Err(ApiError::field("query.from", format!("a range is at most {MAX_HISTORY_DAYS} days")));
        }
        let (aws, table) = (&self.platform.aws, &self.market_table);
        self.cached(request, DETAIL_TTL, |_| async move {
            let (points, generated) =
                bourse_storage::market::query_history(aws, table, symbol.as_str(), from, to).await.map_err(storage_problem)?;
            let points =
                points.iter().map(|p| views::ClosePoint { date: p.date.to_string(), close: p.close.normalize().to_string() }).collect();
            Ok(views::PriceHistory { symbol: symbol.as_str().to_owned(), from: from.to_string(), to: to.to_string(), generated, points })
        })
        .await
    }

    async fn sectors(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        self.cached(request, LIST_TTL, |version| async move {
            let universe = self.universe.at_version(&self.platform, &self.market_table, version).await?;
            Ok(views::Sectors { page: Page::all(sector_stats(&universe.stocks)), universe_version: universe.version })
        })
        .await
    }

    async fn presets(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let items = PRESETS
            .iter()
            .map(|p| views::PresetView {
                name: p.name,
                title: p.title,
                description: p.description,
                filter: p.filter,
                sort: p.sort.name(),
                order: order_name(&p.sort),
            })
            .collect();
        Ok(Reply::ok(&Page::all(items))?.public(PRESET_TTL))
    }

    async fn preset_results(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&["limit", "cursor"])?;
        let name = request.param("name")?;
        let preset = preset(name).ok_or_else(|| ApiError::NotFound(format!("no preset {name:?}; see /v1/screener/presets")))?;
        let filter = parse_filter(preset.filter).map_err(|e| ApiError::Internal(format!("preset {name}: {e}")))?;
        let limit = request.limit(50, MAX_LIMIT)?;
        let cursor = cursor(request, &preset.sort)?;
        self.cached(request, PRESET_TTL, |version| async move {
            let universe = self.universe.at_version(&self.platform, &self.market_table, version).await?;
            let matching: Vec<&Stock> = universe.stocks.iter().filter(|s| filter.matches(s)).collect();
            let mut out = stock_page(universe.version, matching, &preset.sort, cursor.as_ref(), limit);
            out.preset = Some(views::PresetRef { name: preset.name, filter: preset.filter });
            Ok(out)
        })
        .await
    }

    async fn query(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Query {
            filter: String,
            sort: Option<String>,
            order: Option<String>,
            limit: Option<usize>,
            cursor: Option<String>,
        }
        let query: Query = request.json()?;
        let filter = parse_filter(&query.filter).map_err(|e| ApiError::field("body.filter", e.to_string()))?;
        let sort = SortSpec::parse(query.sort.as_deref().unwrap_or("market_cap"), query.order.as_deref().unwrap_or("desc"))
            .map_err(|e| ApiError::field("body.sort", e.to_string()))?;
        let limit = bourse_http::request::page_limit("body.limit", query.limit, 50, MAX_LIMIT)?;
        let cursor = query
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(c, &sort).map_err(|e| ApiError::field("body.cursor", e.to_string())))
            .transpose()?;
        let universe = self.universe().await?;
        let matching: Vec<&Stock> = universe.stocks.iter().filter(|s| filter.matches(s)).collect();
        let mut out = stock_page(universe.version, matching, &sort, cursor.as_ref(), limit);
        out.filter = Some(filter.to_string());
        Reply::ok(&out)
    }

    async fn market_signals(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        self.cached(request, LIST_TTL, |version| async move {
            let universe = self.universe.at_version(&self.platform, &self.market_table, version).await?;
            let items = universe
                .stocks
                .iter()
                .flat_map(|s| {
                    stock_signals(s).into_iter().map(move |signal| views::MarketSignal { symbol: s.symbol.as_str().to_owned(), signal })
                })
                .collect();
            // The day's events found in the history by the enrichment consumer (crosses, new
            // highs/lows): 1 Query, answered from the cache like the rest.
            let today = time::OffsetDateTime::now_utc().date().to_string();
            let stored = bourse_storage::market::market_signals_of_day(&self.platform.aws, &self.market_table, &today)
                .await
                .map_err(storage_problem)?;
            let events = stored
                .into_iter()
                .map(|s| views::MarketEvent { symbol: s.symbol, kind: s.kind, detail: s.detail, date: today.clone() })
                .collect();
            Ok(views::MarketSignals { page: Page::all(items), events, universe_version: universe.version })
        })
        .await
    }
}

impl Handler<ScreenerRoute> for Screener {
    async fn handle(&self, route: ScreenerRoute, request: ApiRequest) -> Result<Reply, ApiError> {
        match route {
            ScreenerRoute::Health => self.platform.health(VERSION, DEPENDENCIES).await,
            ScreenerRoute::ListStocks => self.list(&request).await,
            ScreenerRoute::Search => self.search(&request).await,
            ScreenerRoute::Batch => self.batch(&request).await,
            ScreenerRoute::Detail => self.detail(&request).await,
            ScreenerRoute::History => self.history(&request).await,
            ScreenerRoute::Sectors => self.sectors(&request).await,
            ScreenerRoute::Fields => fields(&request),
            ScreenerRoute::Presets => self.presets(&request).await,
            ScreenerRoute::PresetResults => self.preset_results(&request).await,
            ScreenerRoute::Query => self.query(&request).await,
            ScreenerRoute::MarketSignals => self.market_signals(&request).await,
            // Boxed: their futures (SDK calls) are large, and every route's future is as large as
            // the largest one; boxing keeps the read routes' futures small.
            ScreenerRoute::CreateJob => {
                Box::pin(jobs::create(&self.platform, &request, async || {
                    Ok(self.universe().await?.stocks.iter().map(|s| s.symbol.clone()).collect())
                }))
                .await
            }
            ScreenerRoute::GetJob => Box::pin(jobs::get(&self.platform, &request)).await,
        }
    }
}

/// The function, ready to serve. The jobs routes need bearer access (`JWT_PUBLIC_KEYS`); without
/// the keys they fail closed (401) and every public route still serves.
pub fn app(platform: Platform) -> Result<HttpApp<ScreenerRoute, Screener>, StartupError> {
    let access = match platform.config.jwt_public_keys {
        Some(_) => Some(platform.access_control()?),
        None => {
            tracing::warn!("JWT_PUBLIC_KEYS is not set: the jobs API answers 401");
            None
        }
    };
    let app = HttpApp::new(platform.http_settings(VERSION), ROUTES, Screener::new(platform)?);
    Ok(match access {
        Some(access) => app.with_access(access),
        None => app,
    })
}

/// The screener's reads the assistant's tools run in-process: a stock's detail and a screen
/// query; every other route is 404. A binary that links this rather than [`app`] leaves the rest out.
pub struct ScreenerReads(Screener);

impl Handler<ScreenerRoute> for ScreenerReads {
    async fn handle(&self, route: ScreenerRoute, request: ApiRequest) -> Result<Reply, ApiError> {
        match route {
            ScreenerRoute::Detail => self.0.detail(&request).await,
            ScreenerRoute::Query => self.0.query(&request).await,
            other => Err(ApiError::NotFound(format!("{other:?} is not one of the reads served here"))),
        }
    }
}

/// [`ScreenerReads`], ready to serve (public routes: no bearer access needed).
pub fn reads_app(platform: Platform) -> Result<HttpApp<ScreenerRoute, ScreenerReads>, StartupError> {
    Ok(HttpApp::new(platform.http_settings(VERSION), ROUTES, ScreenerReads(Screener::new(platform)?)))
}

fn fields(request: &ApiRequest) -> Result<Reply, ApiError> {
    request.only_query(&[])?;
    Ok(Reply::ok(&field_catalogue())?.public(PRESET_TTL))
}

/// The filter language's catalogue.
pub fn field_catalogue() -> views::FieldCatalogue {
    views::FieldCatalogue {
        numeric: Metric::ALL.iter().map(|m| m.info()).collect(),
        text: TextField::ALL.iter().map(|f| f.name()).collect(),
        operators: &["<", "<=", ">", ">=", "=", "!=", "between", "in"],
        logic: &["and", "or", "not", "( )"],
        number_suffixes: [("%", "÷ 100"), ("K", "× 10³"), ("M", "× 10⁶"), ("B", "× 10⁹"), ("T", "× 10¹²")].into_iter().collect(),
        missing_values: "a comparison with a missing value is unknown; unknown never matches, also under not",
        limits: views::FilterLimits {
            length: bourse_domain::screener::MAX_LEN,
            comparisons: bourse_domain::screener::MAX_CLAUSES,
            depth: bourse_domain::screener::MAX_DEPTH,
        },
    }
}

/// The request's route and its query in a canonical order (the cache key's tail).
fn canonical(request: &ApiRequest) -> String {
    let mut params: Vec<(String, String)> = request.query_pairs();
    params.sort();
    let query: Vec<String> = params.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}?{}", request.path, query.join("&"))
}

fn order_name(sort: &SortSpec) -> &'static str {
    if sort.descending { "desc" } else { "asc" }
}

/// A page of `matching` in `sort` order after `cursor`.
pub fn stock_page(version: u64, matching: Vec<&Stock>, sort: &SortSpec, cursor: Option<&Cursor>, limit: usize) -> views::StockPage {
    let total = matching.len();
    let page = page(matching, sort, cursor, limit);
    views::StockPage {
        page: Page::new(page.items.iter().map(|s| views::stock_summary(s)).collect(), page.next.map(|c| c.encode())),
        total,
        sort: sort.name(),
        order: order_name(sort),
        universe_version: version,
        preset: None,
        filter: None,
    }
}

fn sort_spec(request: &ApiRequest, default_sort: &str, default_order: &str) -> Result<SortSpec, ApiError> {
    let sort = request.query("sort")?.unwrap_or(default_sort);
    let order = request.query("order")?.unwrap_or(default_order);
    SortSpec::parse(sort, order).map_err(|e| ApiError::field(format!("query.{}", e.parameter()), e.to_string()))
}

fn cursor(request: &ApiRequest, sort: &SortSpec) -> Result<Option<Cursor>, ApiError> {
    request.query("cursor")?.map(|c| Cursor::decode(c, sort).map_err(|e| ApiError::field("query.cursor", e.to_string()))).transpose()
}

fn path_symbol(request: &ApiRequest) -> Result<Symbol, ApiError> {
    Symbol::parse(request.param("symbol")?).map_err(|e| ApiError::field("path.symbol", e.to_string()))
}

/// Per sector (the domain's figures), as answered.
pub fn sector_stats(stocks: &[Stock]) -> Vec<views::SectorStats> {
    bourse_domain::sectors::sector_stats(stocks)
        .into_iter()
        .map(|stats| views::SectorStats {
            sector: stats.sector,
            count: stats.count,
            median_pe: stats.median_pe.map(|m| m.normalize().to_string()),
            total_market_cap: stats.total_market_cap.to_string(),
            with_market_cap: stats.with_market_cap,
        })
        .collect()
}
