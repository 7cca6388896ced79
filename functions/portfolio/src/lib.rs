//! The portfolio function: portfolios, transactions, holdings, summary and analysis, and the
//! signals journal (`journal.rs`).
//!
//! Routing is declared once in [`ROUTES`]; [`Portfolio`] answers each route. Every route but
//! health needs a bearer token, and every key includes the caller's user id, so another user's
//! portfolio id is simply not found (404). Domain failures map to responses in [`problem`].

mod alerts;
mod cash;
mod dividends;
mod export;
mod exports;
mod import;
mod inbox;
mod input;
mod journal;
mod ledger;
mod lots;
mod picks;
mod returns;
mod screens;
mod table;
mod watchlists;
mod webhooks;
pub mod wire;
#[cfg(test)]
mod wire_tests;

use bourse_domain::money::Currency;
use bourse_domain::portfolio::{Bound, Holding, PortfolioError, Valued, allocation, analyse};
use bourse_domain::{PortfolioId, Symbol, TransactionId, UserId};
use bourse_http::{ApiError, ApiRequest, Handler, HttpApp, Reply, Route};
use bourse_runtime::idempotency::Attempt;
use bourse_runtime::{Dependency, Platform, StartupError, storage_problem};
use bourse_storage::StorageError;
use bourse_storage::market::{Quote, quotes};
use bourse_storage::portfolios::{self as store, PortfolioRecord, TransactionRecord};
use http::StatusCode;
use ledger::ChangeError;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use wire::{AddedTransaction, HoldingView, Mover, PortfolioView, TransactionView};

pub const SERVICE: &str = "portfolio";
/// Largest CSV file `POST /v1/portfolios/{id}/import` takes.
pub const MAX_IMPORT_BYTES: usize = import::MAX_IMPORT_BYTES;
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every route this function answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortfolioRoute {
    Health,
    Create,
    List,
    Get,
    Rename,
    Delete,
    AddTransaction,
    ListTransactions,
    DeleteTransaction,
    Holdings,
    Summary,
    History,
    Analysis,
    Import,
    JournalCreate,
    JournalBulk,
    JournalList,
    JournalGet,
    JournalClose,
    JournalDelete,
    JournalStats,
    Export,
    WatchlistCreate,
    WatchlistList,
    WatchlistGet,
    WatchlistChange,
    WatchlistDelete,
    WatchlistAdd,
    WatchlistRemove,
    Inbox,
    InboxUnreadCount,
    InboxMarkRead,
    InboxMarkAllRead,
    InboxDelete,
    Lots,
    Returns,
    Dividends,
    ExportTransactions,
    ExportHoldings,
    ExportGains,
    WebhookCreate,
    WebhookList,
    WebhookDelete,
    WebhookTest,
    PreferencesGet,
    PreferencesPut,
    ScreenCreate,
    ScreenList,
    ScreenGet,
    ScreenChange,
    ScreenDelete,
    ScreenResults,
    AlertCreate,
    AlertList,
    AlertGet,
    AlertReplace,
    AlertDelete,
    AllReturns,
}

pub static ROUTES: &[Route<PortfolioRoute>] = &[
    Route::get("/v1/portfolio/health", PortfolioRoute::Health),
    Route::bearer_post("/v1/portfolios", PortfolioRoute::Create),
    Route::bearer_get("/v1/portfolios", PortfolioRoute::List),
    // Before `/v1/portfolios/{id}`: the first route that matches answers.
    Route::bearer_get("/v1/portfolios/returns", PortfolioRoute::AllReturns),
    Route::bearer_get("/v1/portfolios/{id}", PortfolioRoute::Get),
    Route::bearer_patch("/v1/portfolios/{id}", PortfolioRoute::Rename),
    Route::bearer_delete("/v1/portfolios/{id}", PortfolioRoute::Delete),
    Route::bearer_post("/v1/portfolios/{id}/transactions", PortfolioRoute::AddTransaction),
    Route::bearer_get("/v1/portfolios/{id}/transactions", PortfolioRoute::ListTransactions),
    Route::bearer_delete("/v1/portfolios/{id}/transactions/{txId}", PortfolioRoute::DeleteTransaction),
    Route::bearer_get("/v1/portfolios/{id}/holdings", PortfolioRoute::Holdings),
    Route::bearer_get("/v1/portfolios/{id}/summary", PortfolioRoute::Summary),
    Route::bearer_get("/v1/portfolios/{id}/history", PortfolioRoute::History),
    Route::bearer_get("/v1/portfolios/{id}/analysis", PortfolioRoute::Analysis),
    Route::bearer_get("/v1/portfolios/{id}/lots", PortfolioRoute::Lots),
    Route::bearer_get("/v1/portfolios/{id}/returns", PortfolioRoute::Returns),
    Route::bearer_get("/v1/portfolios/{id}/dividends", PortfolioRoute::Dividends),
    Route::bearer_get("/v1/portfolios/{id}/export/transactions", PortfolioRoute::ExportTransactions),
    Route::bearer_get("/v1/portfolios/{id}/export/holdings", PortfolioRoute::ExportHoldings),
    Route::bearer_get("/v1/portfolios/{id}/export/gains", PortfolioRoute::ExportGains),
    Route::bearer_post("/v1/portfolios/{id}/import", PortfolioRoute::Import).with_body_limit(import::MAX_IMPORT_BYTES),
    Route::bearer_post("/v1/journal/signals", PortfolioRoute::JournalCreate),
    Route::bearer_get("/v1/journal/signals", PortfolioRoute::JournalList),
    Route::bearer_post("/v1/journal/signals/bulk", PortfolioRoute::JournalBulk),
    Route::bearer_get("/v1/journal/signals/{signalId}", PortfolioRoute::JournalGet),
    Route::bearer_delete("/v1/journal/signals/{signalId}", PortfolioRoute::JournalDelete),
    Route::bearer_post("/v1/journal/signals/{signalId}/close", PortfolioRoute::JournalClose),
    Route::bearer_get("/v1/journal/stats", PortfolioRoute::JournalStats),
    // The account's data export: the portfolio function holds most of it.
    Route::bearer_get("/v1/me/export", PortfolioRoute::Export),
    Route::bearer_post("/v1/watchlists", PortfolioRoute::WatchlistCreate),
    Route::bearer_get("/v1/watchlists", PortfolioRoute::WatchlistList),
    Route::bearer_get("/v1/watchlists/{id}", PortfolioRoute::WatchlistGet),
    Route::bearer_patch("/v1/watchlists/{id}", PortfolioRoute::WatchlistChange),
    Route::bearer_delete("/v1/watchlists/{id}", PortfolioRoute::WatchlistDelete),
    Route::bearer_post("/v1/watchlists/{id}/symbols", PortfolioRoute::WatchlistAdd),
    Route::bearer_delete("/v1/watchlists/{id}/symbols/{symbol}", PortfolioRoute::WatchlistRemove),
    Route::bearer_get("/v1/inbox", PortfolioRoute::Inbox),
    Route::bearer_get("/v1/inbox/unread-count", PortfolioRoute::InboxUnreadCount),
    Route::bearer_post("/v1/inbox/read-all", PortfolioRoute::InboxMarkAllRead),
    Route::bearer_post("/v1/inbox/{id}/read", PortfolioRoute::InboxMarkRead),
    Route::bearer_delete("/v1/inbox/{id}", PortfolioRoute::InboxDelete),
    Route::bearer_post("/v1/webhooks", PortfolioRoute::WebhookCreate),
    Route::bearer_get("/v1/webhooks", PortfolioRoute::WebhookList),
    Route::bearer_delete("/v1/webhooks/{id}", PortfolioRoute::WebhookDelete),
    Route::bearer_post("/v1/webhooks/{id}/test", PortfolioRoute::WebhookTest),
    Route::bearer_get("/v1/notifications/preferences", PortfolioRoute::PreferencesGet),
    Route::bearer_put("/v1/notifications/preferences", PortfolioRoute::PreferencesPut),
    Route::bearer_post("/v1/screens", PortfolioRoute::ScreenCreate),
    Route::bearer_get("/v1/screens", PortfolioRoute::ScreenList),
    Route::bearer_get("/v1/screens/{id}", PortfolioRoute::ScreenGet),
    Route::bearer_patch("/v1/screens/{id}", PortfolioRoute::ScreenChange),
    Route::bearer_delete("/v1/screens/{id}", PortfolioRoute::ScreenDelete),
    Route::bearer_get("/v1/screens/{id}/results", PortfolioRoute::ScreenResults),
    Route::bearer_post("/v1/alerts", PortfolioRoute::AlertCreate),
    Route::bearer_get("/v1/alerts", PortfolioRoute::AlertList),
    Route::bearer_get("/v1/alerts/{id}", PortfolioRoute::AlertGet),
    Route::bearer_put("/v1/alerts/{id}", PortfolioRoute::AlertReplace),
    Route::bearer_delete("/v1/alerts/{id}", PortfolioRoute::AlertDelete),
];

/// What the health endpoint checks.
const DEPENDENCIES: &[Dependency] = &[Dependency::AppTable, Dependency::MarketTable, Dependency::EnrichQueue, Dependency::Cache];

/// A cached summary or holdings list lives this long; every write to the portfolio deletes it.
pub const VIEW_TTL: Duration = Duration::from_secs(60);
/// Read-modify-write attempts (a holding, a symbol's journal statistics) before answering 409.
pub(crate) const WRITE_ATTEMPTS: u32 = 30;
/// Longest history range one request may ask for: ten years.
pub const MAX_HISTORY_DAYS: i64 = 10 * 366;
/// A cached answer computed from the ledger and the closes (returns, history) lives this long: a
/// write moves the portfolio to a new generation at once, and the closes change once a day.
pub const COMPUTED_VIEW_TTL: Duration = Duration::from_secs(300);

pub struct Portfolio {
    platform: Platform,
    app_table: String,
    market_table: String,
    /// The key that seals webhook signing secrets (`WEBHOOK_KEY_SECRET`), fetched once.
    seal_key: Option<bourse_runtime::secrets::InstanceSecret<bourse_domain::webhook::SealKey>>,
    /// The published universe, for running saved screens (held as the screener holds it).
    universe: bourse_runtime::universe::UniverseCache,
}

/// The one mapping of portfolio failures to responses.
fn problem(err: PortfolioError) -> ApiError {
    match err {
        PortfolioError::InsufficientQuantity { .. } => ApiError::unprocessable("body.quantity", err.to_string()),
        PortfolioError::BadSplit => ApiError::field("body.ratio", err.to_string()),
        PortfolioError::OutOfBounds(bound) => {
            let field = match bound {
                Bound::Quantity => "body.quantity",
                Bound::TradeValue => "body.price",
                Bound::PositionValue => "body",
            };
            ApiError::unprocessable(field, err.to_string())
        }
    }
}

fn not_found(id: &PortfolioId) -> ApiError {
    ApiError::NotFound(format!("no portfolio {id}"))
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

use bourse_domain::text::rfc3339;

/// Cache key of a portfolio's cached `view` (`summary`, `holdings`); private data, so it names
/// the user. The braces are a hash tag: a portfolio's views and their guard share one slot.
pub fn cache_key(user: &UserId, portfolio: &PortfolioId, view: &str) -> String {
    format!("bourse:portfolio:{{{user}:{portfolio}}}:{view}")
}

/// The generation every write to the portfolio bumps: a view computed before a write is never
/// stored after it (`Cache::get_or_compute_guarded`).
pub fn cache_guard(user: &UserId, portfolio: &PortfolioId) -> String {
    cache_key(user, portfolio, "generation")
}

/// The cached views of a portfolio; every write deletes them all.
pub const CACHED_VIEWS: [&str; 2] = ["summary", "holdings"];

fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

impl Portfolio {
    pub fn new(platform: Platform) -> Result<Self, StartupError> {
        let seal_key = bourse_runtime::webhooks::seal_key(&platform);
        Self::with_seal_key(platform, seal_key)
    }

    fn with_seal_key(
        platform: Platform,
        seal_key: Option<bourse_runtime::secrets::InstanceSecret<bourse_domain::webhook::SealKey>>,
    ) -> Result<Self, StartupError> {
        Ok(Portfolio {
            app_table: platform.config.require_app_table()?.to_owned(),
            market_table: platform.config.require_market_table()?.to_owned(),
            seal_key,
            platform,
            universe: bourse_runtime::universe::UniverseCache::default(),
        })
    }

    async fn owned(&self, user: &UserId, id: &PortfolioId) -> Result<PortfolioRecord, ApiError> {
        store::get_portfolio(&self.platform.aws, &self.app_table, user, id).await.map_err(storage_problem)?.ok_or_else(|| not_found(id))
    }

    async fn invalidate(&self, user: &UserId, portfolio: &PortfolioId) {
        if let Some(cache) = &self.platform.cache
            && let Err(err) =
                cache.invalidate_guarded(&cache_guard(user, portfolio), &CACHED_VIEWS.map(|view| cache_key(user, portfolio, view))).await
        {
            tracing::warn!(error = %err, "cache invalidation failed; the TTL bounds staleness");
        }
    }

    async fn idempotent<F, Fut, T: Serialize>(&self, request: &ApiRequest, user: &UserId, work: F) -> Result<Reply, ApiError>
    where
        F: FnOnce(Attempt) -> Fut,
        Fut: Future<Output = Result<(StatusCode, T), ApiError>>,
    {
        bourse_runtime::idempotency::idempotent(&self.platform, request, user, work).await
    }

    async fn create(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let body: input::NewPortfolio = request.json()?;
        let name = input::portfolio_name(&body.name)?;
        let currency = input::currency(body.currency.as_deref())?;
        let track_cash = body.track_cash.unwrap_or(false);
        let lot_method = body.lot_method.as_deref().map(input::lot_method).transpose()?.unwrap_or(bourse_domain::lots::LotMethod::Fifo);
        self.idempotent(request, user, |attempt| async move {
            let record = PortfolioRecord {
                id: PortfolioId::from_random(attempt.id_bytes("portfolio", 0)),
                name,
                currency,
                created_at: rfc3339(attempt.started),
                track_cash,
                lot_method,
            };
            match store::create_portfolio(&self.platform.aws, &self.app_table, user, &record).await {
                Ok(()) => Ok((StatusCode::CREATED, PortfolioView::from(&record))),
                // An earlier attempt of this keyed request created it (its answer was lost).
                Err(StorageError::Conflict(_)) => {
                    let created =
                        store::get_portfolio(&self.platform.aws, &self.app_table, user, &record.id).await.map_err(storage_problem)?;
                    let created =
                        created.ok_or_else(|| ApiError::Conflict("the portfolio this request created was deleted since".into()))?;
                    Ok((StatusCode::CREATED, PortfolioView::from(&created)))
                }
                Err(err) => Err(storage_problem(err)),
            }
        })
        .await
    }

    /// Adds a transaction and updates its holding in one transaction, retrying on a concurrent
    /// writer (optimistic concurrency on the holding's version).
    async fn add_transaction(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = &portfolio_id(request)?;
        let body: bourse_domain::transaction::RawTransaction = request.json()?;
        let portfolio = self.owned(user, id).await?;
        let parsed = input::transaction(body, portfolio.currency, now().date())?;
        if cash::is_cash_kind(&parsed.trade) && !portfolio.track_cash {
            return Err(ApiError::unprocessable("body.type", cash::untracked(&portfolio)));
        }
        let reply = self
            .idempotent(request, user, |attempt| async move {
                let field = bourse_http::FieldError::new("body.amount", "");
                self.check_withdrawals(user, id, &[(parsed.currency, &parsed.trade)], field).await?;
                // Id and order from the attempt: the same on every attempt of a keyed request.
                let random = attempt.id_bytes("transaction", 0);
                let record = TransactionRecord {
                    id: TransactionId::from_random(parsed.trade_date, std::array::from_fn(|i| random[i])),
                    symbol: parsed.symbol.clone(),
                    seq: ledger_seq(attempt.started, 0),
                    trade: parsed.trade,
                    currency: parsed.currency,
                    source: None,
                    lots: parsed.lots.clone(),
                };
                self.check_picks(user, id, picks::Change::Add(&record)).await?;
                let holding = match self.change_ledger(user, id, &parsed.symbol, std::slice::from_ref(&record), &[], None).await {
                    Ok(stored) => stored.holding,
                    Err(ChangeError::Underivable { error, .. }) => return Err(problem(error)),
                    Err(ChangeError::Api(err)) => return Err(err),
                };
                let added = AddedTransaction { transaction: TransactionView::from(&record), holding: HoldingView::new(&holding, None) };
                Ok((StatusCode::CREATED, added))
            })
            .await?;
        self.invalidate(user, id).await;
        Ok(reply)
    }

    async fn delete_transaction(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = &portfolio_id(request)?;
        let tx_id = transaction_id(request)?;
        let (aws, table) = (&self.platform.aws, &self.app_table);
        let record = store::get_transaction(aws, table, user, id, &tx_id)
            .await
            .map_err(storage_problem)?
            .ok_or_else(|| ApiError::NotFound(format!("no transaction {tx_id}")))?;
        self.check_picks(user, id, picks::Change::Remove(&record)).await?;
        match self.change_ledger(user, id, &record.symbol, &[], std::slice::from_ref(&record), None).await {
            Ok(_) => {}
            // Removing a BUY that later SELLs depend on would leave a negative position.
            Err(ChangeError::Underivable { error, .. }) => {
                return Err(ApiError::Unprocessable {
                    detail: format!("deleting this transaction would break later ones: {error}"),
                    errors: vec![],
                });
            }
            Err(ChangeError::Api(err)) => return Err(err),
        }
        self.invalidate(user, id).await;
        Ok(Reply::no_content())
    }

    async fn list_transactions(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["from", "to", "limit", "cursor"])?;
        let id = &portfolio_id(request)?;
        self.owned(user, id).await?;
        let date = |name: &str, default: &str| -> Result<String, ApiError> {
            Ok(request.date(name)?.map_or_else(|| default.to_owned(), |d| d.to_string()))
        };
        let (from, to) = (date("from", "0000-01-01")?, date("to", "9999-12-31")?);
        if from > to {
            return Err(ApiError::field("query.from", "must not be after to"));
        }
        let limit = request.limit(50, 100)? as i32;
        // The cursor is the id of the last transaction listed: one the service mints, dated within
        // the range asked for (a page of one range never continues another).
        let after = match request.query("cursor")? {
            None => None,
            Some(raw) => {
                let bad = || ApiError::field("query.cursor", "not a cursor of this list and range");
                let tx = bourse_http::cursor::decode(raw).and_then(|id| TransactionId::parse(&id).ok()).ok_or_else(bad)?;
                if tx.trade_date() < from.as_str() || tx.trade_date() > to.as_str() {
                    return Err(bad());
                }
                Some(tx)
            }
        };
        let range = store::TransactionRange { from: &from, to: &to, limit, after: after.as_ref() };
        let (items, next) =
            store::list_transactions(&self.platform.aws, &self.app_table, user, id, range).await.map_err(storage_problem)?;
        let next = next.map(|last| bourse_http::cursor::encode(last.id.as_str()));
        Reply::ok(&bourse_http::Page::new(items.iter().map(TransactionView::from).collect(), next))
    }

    /// Holdings joined with quotes: 1 Query + ⌈N/100⌉ BatchGetItem.
    async fn priced_holdings(&self, user: &UserId, id: &PortfolioId) -> Result<(Vec<Holding>, HashMap<String, Quote>), ApiError> {
        let holdings: Vec<Holding> = store::list_holdings(&self.platform.aws, &self.app_table, user, id)
            .await
            .map_err(storage_problem)?
            .into_iter()
            .filter(|h| !h.quantity.is_zero() || !h.realised_pnl.is_zero() || !h.dividends.is_zero())
            .collect();
        let symbols: Vec<Symbol> = holdings.iter().map(|h| h.symbol.clone()).collect();
        let quotes = quotes(&self.platform.aws, &self.market_table, &symbols).await.map_err(storage_problem)?;
        Ok((holdings, quotes))
    }

    /// The holdings and quotes of `portfolio` in its base currency: each holding in another
    /// currency at today's rate of it (its amounts, its price and day's change); the symbols of
    /// holdings whose currency has no rate yet come apart and are left out of the figures.
    /// 1 Query + ⌈N/100⌉ BatchGetItem, + 1 Query (the latest rate, 0.5 RCU) per currency other
    /// than USD among the holdings' and the base, only when a holding is in another currency than
    /// the base.
    async fn holdings_in_base(
        &self,
        user: &UserId,
        portfolio: &PortfolioRecord,
    ) -> Result<(Vec<Holding>, HashMap<String, Quote>, Vec<String>), ApiError> {
        let positions: Vec<(Holding, Option<Currency>)> = store::list_positions(&self.platform.aws, &self.app_table, user, &portfolio.id)
            .await
            .map_err(storage_problem)?
            .into_iter()
            .filter(|(h, _)| !h.quantity.is_zero() || !h.realised_pnl.is_zero() || !h.dividends.is_zero())
            .collect();
        let symbols: Vec<Symbol> = positions.iter().map(|(h, _)| h.symbol.clone()).collect();
        let mut quotes = quotes(&self.platform.aws, &self.market_table, &symbols).await.map_err(storage_problem)?;
        let base = portfolio.currency;
        let foreign: BTreeSet<Currency> = positions.iter().filter_map(|(_, c)| c.filter(|c| *c != base)).collect();
        if foreign.is_empty() {
            return Ok((positions.into_iter().map(|(h, _)| h).collect(), quotes, Vec::new()));
        }
        // Today's rate of each: the latest stored (1 Query each, newest first, Limit 1).
        let today = now().date();
        let needed: BTreeSet<Currency> = foreign.iter().copied().chain([base]).filter(|c| *c != Currency::USD).collect();
        let (aws, market) = (&self.platform.aws, self.market_table.as_str());
        let latest: Vec<(Currency, Option<bourse_domain::fx::RatePoint>)> = futures_util::future::try_join_all(
            needed
                .into_iter()
                .map(|currency| async move { bourse_storage::fx::latest_rate(aws, market, currency, today).await.map(|r| (currency, r)) }),
        )
        .await
        .map_err(storage_problem)?;
        let mut rates = bourse_domain::fx::FxRates::default();
        for (currency, point) in latest {
            rates.insert(currency, point.into_iter().collect());
        }
        let (mut holdings, mut unconverted) = (Vec::with_capacity(positions.len()), Vec::new());
        for (holding, currency) in positions {
            let Some(currency) = currency.filter(|c| *c != base) else {
                holdings.push(holding);
                continue;
            };
            match rates.rate(currency, base, today) {
                Some(rate) => {
                    if let Some(quote) = quotes.get_mut(holding.symbol.as_str()) {
                        quote.price = quote.price.map(|p| p * rate);
                        quote.change = quote.change.map(|c| c * rate);
                    }
                    holdings.push(holding.converted(rate));
                }
                None => {
                    quotes.remove(holding.symbol.as_str());
                    unconverted.push(holding.symbol.as_str().to_owned());
                }
            }
        }
        Ok((holdings, quotes, unconverted))
    }

    /// Cache-aside for a portfolio view: the cached body, or `compute` stored for [`VIEW_TTL`]
    /// unless a write bumped the portfolio's guard meanwhile. `compute` reads strongly consistent,
    /// so what it stores never predates a write it follows. With the cache down, computed every
    /// time.
    async fn cached_view<F, Fut, T: Serialize>(&self, user: &UserId, id: &PortfolioId, view: &str, compute: F) -> Result<Reply, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let bytes = || async { serde_json::to_vec(&compute().await?).map_err(|e| ApiError::Internal(e.to_string())) };
        let body = match &self.platform.cache {
            Some(cache) => cache.get_or_compute_guarded(&cache_key(user, id, view), &cache_guard(user, id), VIEW_TTL, bytes).await?,
            None => bytes().await?,
        };
        Ok(Reply::json_bytes(StatusCode::OK, body))
    }

    /// Cache-aside for an answer with many variants (a period, a range): stored under the
    /// portfolio's current generation, so a write — which bumps it — leaves every variant behind at
    /// once without naming them (they expire after [`COMPUTED_VIEW_TTL`]). With the cache down or
    /// its generation unreadable, computed every time.
    async fn generational_view<F, Fut, T: Serialize>(
        &self,
        user: &UserId,
        id: &PortfolioId,
        view: &str,
        compute: F,
    ) -> Result<Reply, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let bytes = || async { serde_json::to_vec(&compute().await?).map_err(|e| ApiError::Internal(e.to_string())) };
        let guard = cache_guard(user, id);
        let generation = match &self.platform.cache {
            Some(cache) => cache.generation(&guard).await.ok().map(|generation| (cache, generation)),
            None => None,
        };
        let body = match generation {
            Some((cache, generation)) => {
                let key = cache_key(user, id, &format!("{view}@{generation}"));
                cache.get_or_compute_guarded(&key, &guard, COMPUTED_VIEW_TTL, bytes).await?
            }
            None => bytes().await?,
        };
        Ok(Reply::json_bytes(StatusCode::OK, body))
    }

    async fn holdings(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let id = &portfolio_id(request)?;
        self.cached_view(user, id, "holdings", || async {
            // The holdings Query itself proves ownership (keys include the user); an empty answer
            // for an unknown id would leak nothing, but answer 404 like every other route.
            let (holdings, quotes) = self.priced_holdings(user, id).await?;
            if holdings.is_empty() {
                self.owned(user, id).await?;
            }
            let items = holdings.iter().map(|h| HoldingView::new(h, quotes.get(h.symbol.as_str()))).collect();
            Ok(wire::Holdings { page: bourse_http::Page::all(items), as_of: rfc3339(now()) })
        })
        .await
    }

    async fn summary(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let id = &portfolio_id(request)?;
        self.cached_view(user, id, "summary", || async {
            let portfolio = self.owned(user, id).await?;
            let (holdings, quotes, unconverted) = self.holdings_in_base(user, &portfolio).await?;
            let cash = self.cash(user, &portfolio).await?;
            let mut summary = summary(&portfolio, &holdings, &quotes, &cash);
            summary.unpriced_symbols.extend(unconverted);
            Ok(summary)
        })
        .await
    }

    async fn analysis(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let id = &portfolio_id(request)?;
        let portfolio = self.owned(user, id).await?;
        let (holdings, quotes, _) = self.holdings_in_base(user, &portfolio).await?;
        let positions = valued(&holdings, &quotes);
        Reply::ok(&analyse(&positions))
    }
}

fn valued<'a>(holdings: &'a [Holding], quotes: &'a HashMap<String, Quote>) -> Vec<Valued<'a>> {
    holdings
        .iter()
        .filter_map(|h| {
            let quote = quotes.get(h.symbol.as_str())?;
            let value = h.valuation(quote.price).0?;
            (value > Decimal::ZERO).then_some(Valued { holding: h, sector: quote.sector.as_deref(), value })
        })
        .collect()
}

fn summary(
    portfolio: &PortfolioRecord,
    holdings: &[Holding],
    quotes: &HashMap<String, Quote>,
    cash: &[bourse_domain::cash::CashBalance],
) -> wire::Summary {
    let positions = valued(holdings, quotes);
    let (by_position, by_sector) = allocation(&positions);
    let value: Decimal = positions.iter().map(|p| p.value).sum();
    let cost: Decimal = holdings.iter().map(|h| h.cost_basis).sum();
    let realised: Decimal = holdings.iter().map(|h| h.realised_pnl).sum();
    let dividends: Decimal = holdings.iter().map(|h| h.dividends).sum();
    let priced_cost: Decimal = positions.iter().map(|p| p.holding.cost_basis).sum();
    let day_change: Decimal = holdings.iter().filter_map(|h| Some(quotes.get(h.symbol.as_str())?.change? * h.quantity)).sum();
    let mut movers: Vec<(&Holding, Decimal)> =
        holdings.iter().filter_map(|h| Some((h, quotes.get(h.symbol.as_str())?.change_pct?))).collect();
    movers.sort_by(|a, b| b.1.abs().cmp(&a.1.abs()).then_with(|| a.0.symbol.cmp(&b.0.symbol)));
    let unpriced = holdings
        .iter()
        .filter(|h| !h.quantity.is_zero() && quotes.get(h.symbol.as_str()).and_then(|q| q.price).is_none())
        .map(|h| h.symbol.as_str().to_owned())
        .collect();
    wire::Summary {
        portfolio: PortfolioView::from(portfolio),
        value: dec(value),
        cost: dec(cost),
        unrealised_pnl: dec(value - priced_cost),
        realised_pnl: dec(realised),
        dividends: dec(dividends),
        day_change: dec(day_change),
        allocation_by_position: by_position,
        allocation_by_sector: by_sector,
        top_movers: movers.iter().take(5).map(|(h, pct)| Mover { symbol: h.symbol.as_str().to_owned(), change_pct: dec(*pct) }).collect(),
        unpriced_symbols: unpriced,
        cash: cash.iter().map(wire::CashView::from).collect(),
        as_of: rfc3339(now()),
    }
}

/// A transaction's place among those of the same trade date: when it was recorded (epoch
/// milliseconds), then its row in an imported file.
fn ledger_seq(at: time::OffsetDateTime, row: usize) -> String {
    format!("{:013}{row:05}", at.unix_timestamp_nanos() / 1_000_000)
}

impl Handler<PortfolioRoute> for Portfolio {
    async fn handle(&self, route: PortfolioRoute, request: ApiRequest) -> Result<Reply, ApiError> {
        let (aws, table) = (&self.platform.aws, &self.app_table);
        let user = || request.principal().map(|p| p.user_id.clone());
        match route {
            PortfolioRoute::Health => self.platform.health(VERSION, DEPENDENCIES).await,
            PortfolioRoute::Create => self.create(&request, &user()?).await,
            PortfolioRoute::List => self.list(&request, &user()?).await,
            PortfolioRoute::Get => Reply::ok(&PortfolioView::from(&self.owned(&user()?, &portfolio_id(&request)?).await?)),
            PortfolioRoute::Rename => {
                let body: input::PortfolioPatch = request.json()?;
                let name = body.name.as_deref().map(input::portfolio_name).transpose()?;
                let lot_method = body.lot_method.as_deref().map(input::lot_method).transpose()?;
                if name.is_none() && body.track_cash.is_none() && lot_method.is_none() {
                    return Err(ApiError::field("body", "give a name, track_cash, lot_method or several"));
                }
                let (user, id) = (user()?, portfolio_id(&request)?);
                let change = store::PortfolioChange { name: name.as_deref(), track_cash: body.track_cash, lot_method };
                if !store::change_portfolio(aws, table, &user, &id, change).await.map_err(storage_problem)? {
                    return Err(not_found(&id));
                }
                self.invalidate(&user, &id).await;
                Reply::ok(&PortfolioView::from(&self.owned(&user, &id).await?))
            }
            PortfolioRoute::Delete => {
                let (user, id) = (user()?, portfolio_id(&request)?);
                if !store::delete_portfolio(aws, table, &user, &id).await.map_err(storage_problem)? {
                    return Err(not_found(&id));
                }
                self.invalidate(&user, &id).await;
                Ok(Reply::no_content())
            }
            PortfolioRoute::AddTransaction => self.add_transaction(&request, &user()?).await,
            PortfolioRoute::ListTransactions => self.list_transactions(&request, &user()?).await,
            PortfolioRoute::DeleteTransaction => self.delete_transaction(&request, &user()?).await,
            PortfolioRoute::Holdings => self.holdings(&request, &user()?).await,
            PortfolioRoute::Summary => self.summary(&request, &user()?).await,
            PortfolioRoute::History => self.history(&request, &user()?).await,
            PortfolioRoute::Analysis => self.analysis(&request, &user()?).await,
            PortfolioRoute::Import => self.import(&request, &user()?).await,
            PortfolioRoute::JournalCreate => self.create_signal(&request, &user()?).await,
            PortfolioRoute::JournalBulk => self.create_signals(&request, &user()?).await,
            PortfolioRoute::JournalList => self.list_signals(&request, &user()?).await,
            PortfolioRoute::JournalGet => self.get_signal(&request, &user()?).await,
            PortfolioRoute::JournalClose => self.close_signal(&request, &user()?).await,
            PortfolioRoute::JournalDelete => self.delete_signal(&request, &user()?).await,
            PortfolioRoute::JournalStats => self.journal_stats(&request, &user()?).await,
            PortfolioRoute::Export => self.export(&request, &user()?).await,
            PortfolioRoute::WatchlistCreate => self.create_watchlist(&request, &user()?).await,
            PortfolioRoute::WatchlistList => self.list_watchlists(&request, &user()?).await,
            PortfolioRoute::WatchlistGet => self.get_watchlist(&request, &user()?).await,
            PortfolioRoute::WatchlistChange => self.change_watchlist(&request, &user()?).await,
            PortfolioRoute::WatchlistDelete => self.delete_watchlist(&request, &user()?).await,
            PortfolioRoute::WatchlistAdd => self.add_to_watchlist(&request, &user()?).await,
            PortfolioRoute::WatchlistRemove => self.remove_from_watchlist(&request, &user()?).await,
            PortfolioRoute::ScreenCreate => self.create_screen(&request, &user()?).await,
            PortfolioRoute::ScreenList => self.list_screens(&request, &user()?).await,
            PortfolioRoute::ScreenGet => self.get_screen(&request, &user()?).await,
            PortfolioRoute::ScreenChange => self.change_screen(&request, &user()?).await,
            PortfolioRoute::ScreenDelete => self.delete_screen(&request, &user()?).await,
            PortfolioRoute::ScreenResults => self.screen_results(&request, &user()?).await,
            PortfolioRoute::AlertCreate => self.create_alert(&request, &user()?).await,
            PortfolioRoute::AlertList => self.list_alerts(&request, &user()?).await,
            PortfolioRoute::AlertGet => self.get_alert(&request, &user()?).await,
            PortfolioRoute::AlertReplace => self.replace_alert(&request, &user()?).await,
            PortfolioRoute::AlertDelete => self.delete_alert(&request, &user()?).await,
            PortfolioRoute::Lots => self.lots(&request, &user()?).await,
            PortfolioRoute::Returns => self.returns(&request, &user()?).await,
            PortfolioRoute::Dividends => self.dividends(&request, &user()?).await,
            PortfolioRoute::ExportTransactions => self.export_transactions(&request, &user()?).await,
            PortfolioRoute::ExportHoldings => self.export_holdings(&request, &user()?).await,
            PortfolioRoute::ExportGains => self.export_gains(&request, &user()?).await,
            PortfolioRoute::AllReturns => self.all_returns(&request, &user()?).await,
            PortfolioRoute::Inbox => self.inbox(&request, &user()?).await,
            PortfolioRoute::InboxUnreadCount => self.unread_count(&request, &user()?).await,
            PortfolioRoute::InboxMarkRead => self.mark_read(&request, &user()?).await,
            PortfolioRoute::InboxMarkAllRead => self.mark_all_read(&request, &user()?).await,
            PortfolioRoute::InboxDelete => self.delete_notification(&request, &user()?).await,
            PortfolioRoute::WebhookCreate => self.create_webhook(&request, &user()?).await,
            PortfolioRoute::WebhookList => self.list_webhooks(&request, &user()?).await,
            PortfolioRoute::WebhookDelete => self.delete_webhook(&request, &user()?).await,
            PortfolioRoute::WebhookTest => self.test_webhook(&request, &user()?).await,
            PortfolioRoute::PreferencesGet => self.preferences(&request, &user()?).await,
            PortfolioRoute::PreferencesPut => self.set_preferences(&request, &user()?).await,
        }
    }
}

impl Portfolio {
    /// `GET /v1/portfolios`: the caller's portfolios. 1 Query.
    async fn list(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let items = store::list_portfolios(&self.platform.aws, &self.app_table, user).await.map_err(storage_problem)?;
        Reply::ok(&bourse_http::Page::all(items.iter().map(PortfolioView::from).collect()))
    }
}

/// The portfolio's reads alone, for the assistant's tools (run in-process with the caller's
/// token): the same routes, pipeline and handlers, but only the list, summary, holdings, returns,
/// analysis and journal statistics answer; every other route is 404. A binary that links this
/// rather than [`app`] leaves the writes, imports and exports out (a smaller package).
pub struct PortfolioReads(Portfolio);

impl Handler<PortfolioRoute> for PortfolioReads {
    async fn handle(&self, route: PortfolioRoute, request: ApiRequest) -> Result<Reply, ApiError> {
        let user = || request.principal().map(|p| p.user_id.clone());
        let portfolio = &self.0;
        match route {
            PortfolioRoute::List => portfolio.list(&request, &user()?).await,
            PortfolioRoute::Summary => portfolio.summary(&request, &user()?).await,
            PortfolioRoute::Holdings => portfolio.holdings(&request, &user()?).await,
            PortfolioRoute::Returns => portfolio.returns(&request, &user()?).await,
            PortfolioRoute::Analysis => portfolio.analysis(&request, &user()?).await,
            PortfolioRoute::JournalStats => portfolio.journal_stats(&request, &user()?).await,
            other => Err(ApiError::NotFound(format!("{other:?} is not one of the reads served here"))),
        }
    }
}

/// [`PortfolioReads`], ready to serve.
pub fn reads_app(platform: Platform) -> Result<HttpApp<PortfolioRoute, PortfolioReads>, StartupError> {
    let access = platform.access_control()?;
    let settings = platform.http_settings(VERSION);
    // No webhook sealing key: the reads never use it, so it is not fetched.
    Ok(HttpApp::new(settings, ROUTES, PortfolioReads(Portfolio::with_seal_key(platform, None)?)).with_access(access))
}

/// The function, ready to serve.
pub fn app(platform: Platform) -> Result<HttpApp<PortfolioRoute, Portfolio>, StartupError> {
    let access = platform.access_control()?;
    let settings = platform.http_settings(VERSION);
    Ok(HttpApp::new(settings, ROUTES, Portfolio::new(platform)?).with_access(access))
}

/// The `{id}` of a portfolio route. Only ids this service mints (32 lowercase hex digits) can name
/// a portfolio; anything else is 404 before it reaches a key (DynamoDB refuses a key over 1 KB,
/// which must never surface as an error of ours).
pub(crate) fn portfolio_id(request: &ApiRequest) -> Result<PortfolioId, ApiError> {
    PortfolioId::parse(request.param("id")?).map_err(|_| ApiError::NotFound("no such portfolio".into()))
}

/// The `{txId}` of a transaction route: `<YYYY-MM-DD>-<16 lowercase hex digits>`, what the API and
/// the CSV import mint; anything else is 404.
fn transaction_id(request: &ApiRequest) -> Result<TransactionId, ApiError> {
    TransactionId::parse(request.param("txId")?).map_err(|_| ApiError::NotFound("no such transaction".into()))
}
