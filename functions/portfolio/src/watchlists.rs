//! Watchlists: `/v1/watchlists` and `/v1/watchlists/{id}[/symbols[/{symbol}]]`. The rules are
//! `bourse_domain::watchlist`, the item `bourse_storage::watchlists`; a list is read with its
//! quotes in 1 GetItem + ⌈N/100⌉ BatchGetItem, as holdings are.

use crate::wire::{QuotedSymbol, WatchlistDetail, WatchlistView};
use crate::{Portfolio, WRITE_ATTEMPTS, rfc3339};
use bourse_domain::watchlist::{self as rules, WatchlistError, WatchlistLimits};
use bourse_domain::{Plan, Symbol, UserId, WatchlistId};
use bourse_http::{ApiError, ApiRequest, FieldError, Page, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::market::quotes;
use bourse_storage::retry::Attempts;
use bourse_storage::watchlists::{self as store, WatchlistRecord};
use http::StatusCode;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWatchlist {
    name: String,
    #[serde(default)]
    symbols: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WatchlistChange {
    name: Option<String>,
    symbols: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddSymbol {
    symbol: String,
}

/// The one mapping of watchlist rule failures to responses (`field` names the list's place in
/// the body: `body.symbols` or `body.symbol`).
fn problem(err: WatchlistError, field: &str) -> ApiError {
    match &err {
        WatchlistError::Name => ApiError::field("body.name", err.to_string()),
        WatchlistError::Symbol { index } | WatchlistError::Duplicate { index, .. } => {
            ApiError::field(format!("{field}[{index}]"), err.to_string())
        }
        WatchlistError::TooManySymbols { .. } => ApiError::unprocessable(field, err.to_string()),
    }
}

fn watchlist_id(request: &ApiRequest) -> Result<WatchlistId, ApiError> {
    WatchlistId::parse(request.param("id")?).map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such watchlist".into())
}

fn limits(request: &ApiRequest) -> Result<WatchlistLimits, ApiError> {
    Ok(rules::limits(Plan::parse(&request.principal()?.plan)))
}

impl Portfolio {
    /// Refuses symbols the universe does not know (422 on `field(i)`, the i-th symbol's place in
    /// the body): 1 BatchGetItem per 100.
    pub(crate) async fn known(&self, symbols: &[Symbol], field: impl Fn(usize) -> String) -> Result<(), ApiError> {
        let found = quotes(&self.platform.aws, &self.market_table, symbols).await.map_err(storage_problem)?;
        let unknown: Vec<FieldError> = symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| !found.contains_key(s.as_str()))
            .map(|(i, s)| FieldError::new(field(i), format!("{s} is not a known symbol")))
            .collect();
        if unknown.is_empty() { Ok(()) } else { Err(ApiError::Unprocessable { detail: "unknown symbols".into(), errors: unknown }) }
    }

    /// `POST /v1/watchlists {name, symbols?}` → 201 (Idempotency-Key honoured).
    pub(crate) async fn create_watchlist(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let body: NewWatchlist = request.json()?;
        let limits = limits(request)?;
        let name = rules::name(&body.name).map_err(|e| problem(e, "body.symbols"))?;
        let symbols = rules::symbols(&body.symbols, limits.symbols).map_err(|e| problem(e, "body.symbols"))?;
        self.known(&symbols, |i| format!("body.symbols[{i}]")).await?;
        self.idempotent(request, user, |attempt| async move {
            let (aws, table) = (&self.platform.aws, self.app_table.as_str());
            let id = WatchlistId::from_random(attempt.id_bytes("watchlist", 0));
            if let Some(created) = store::get_watchlist(aws, table, user, &id).await.map_err(storage_problem)? {
                // An earlier attempt of this keyed request created it (its answer was lost).
                return Ok((StatusCode::CREATED, WatchlistView::from(&created)));
            }
            let existing = store::list_watchlists(aws, table, user).await.map_err(storage_problem)?;
            if existing.len() >= limits.lists {
                return Err(ApiError::unprocessable("body", format!("at most {} watchlists on this plan", limits.lists)));
            }
            let now = rfc3339(attempt.started);
            let record = WatchlistRecord { id, name, symbols, created_at: now.clone(), updated_at: now, version: 1 };
            if !store::put_watchlist(aws, table, user, &record, 0).await.map_err(storage_problem)? {
                return Err(ApiError::Conflict("the watchlist was created meanwhile; retry".into()));
            }
            Ok((StatusCode::CREATED, WatchlistView::from(&record)))
        })
        .await
    }

    /// `GET /v1/watchlists` → every list of the caller (names and symbols, no quotes).
    pub(crate) async fn list_watchlists(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let lists = store::list_watchlists(&self.platform.aws, &self.app_table, user).await.map_err(storage_problem)?;
        Reply::ok(&Page::all(lists.iter().map(WatchlistView::from).collect()))
    }

    /// `GET /v1/watchlists/{id}` → the list with a quote per symbol, in the list's order. 1 GetItem
    /// + ⌈N/100⌉ BatchGetItem.
    pub(crate) async fn get_watchlist(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let id = watchlist_id(request)?;
        let list =
            store::get_watchlist(&self.platform.aws, &self.app_table, user, &id).await.map_err(storage_problem)?.ok_or_else(not_found)?;
        let found = quotes(&self.platform.aws, &self.market_table, &list.symbols).await.map_err(storage_problem)?;
        let items = list.symbols.iter().map(|s| QuotedSymbol::new(s, found.get(s.as_str()))).collect();
        Reply::ok(&WatchlistDetail { list: WatchlistView::from(&list), items })
    }

    /// `PATCH /v1/watchlists/{id} {name?, symbols?}` → 200: renamed and/or the whole list replaced
    /// (a new order included).
    pub(crate) async fn change_watchlist(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = watchlist_id(request)?;
        let body: WatchlistChange = request.json()?;
        let limits = limits(request)?;
        let name = body.name.as_deref().map(rules::name).transpose().map_err(|e| problem(e, "body.symbols"))?;
        let symbols =
            body.symbols.as_deref().map(|s| rules::symbols(s, limits.symbols)).transpose().map_err(|e| problem(e, "body.symbols"))?;
        if let Some(symbols) = &symbols {
            self.known(symbols, |i| format!("body.symbols[{i}]")).await?;
        }
        self.rewrite(user, &id, |list| {
            Ok(Some(WatchlistRecord {
                name: name.clone().unwrap_or_else(|| list.name.clone()),
                symbols: symbols.clone().unwrap_or_else(|| list.symbols.clone()),
                ..list.clone()
            }))
        })
        .await
        .and_then(|list| Reply::ok(&WatchlistView::from(&list)))
    }

    /// `POST /v1/watchlists/{id}/symbols {symbol}` → 200 with the list; adding a symbol already
    /// there changes nothing.
    pub(crate) async fn add_to_watchlist(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = watchlist_id(request)?;
        let body: AddSymbol = request.json()?;
        let limits = limits(request)?;
        let symbol = Symbol::parse(&body.symbol).map_err(|e| ApiError::field("body.symbol", e.to_string()))?;
        self.known(std::slice::from_ref(&symbol), |_| "body.symbol".to_owned()).await?;
        self.rewrite(user, &id, |list| {
            let next = rules::add(&list.symbols, symbol.clone(), limits.symbols).map_err(|e| problem(e, "body.symbol"))?;
            Ok(next.map(|symbols| WatchlistRecord { symbols, ..list.clone() }))
        })
        .await
        .and_then(|list| Reply::ok(&WatchlistView::from(&list)))
    }

    /// `DELETE /v1/watchlists/{id}/symbols/{symbol}` → 204; 404 when the symbol is not listed.
    pub(crate) async fn remove_from_watchlist(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = watchlist_id(request)?;
        let symbol =
            Symbol::parse(request.param("symbol")?).map_err(|_| ApiError::NotFound("the symbol is not on the watchlist".into()))?;
        self.rewrite(user, &id, |list| match rules::remove(&list.symbols, &symbol) {
            Some(symbols) => Ok(Some(WatchlistRecord { symbols, ..list.clone() })),
            None => Err(ApiError::NotFound("the symbol is not on the watchlist".into())),
        })
        .await?;
        Ok(Reply::no_content())
    }

    /// `DELETE /v1/watchlists/{id}` → 204.
    pub(crate) async fn delete_watchlist(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = watchlist_id(request)?;
        if !store::delete_watchlist(&self.platform.aws, &self.app_table, user, &id).await.map_err(storage_problem)? {
            return Err(not_found());
        }
        Ok(Reply::no_content())
    }

    /// Reads the list, applies `change` (`None`: nothing to write) and writes it back if no other
    /// change came first, retrying a lost race with jittered pauses; answers the list as stored.
    async fn rewrite(
        &self,
        user: &UserId,
        id: &WatchlistId,
        change: impl Fn(&WatchlistRecord) -> Result<Option<WatchlistRecord>, ApiError>,
    ) -> Result<WatchlistRecord, ApiError> {
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let mut attempts = Attempts::new(WRITE_ATTEMPTS);
        while attempts.next().await {
            let list = store::get_watchlist(aws, table, user, id).await.map_err(storage_problem)?.ok_or_else(not_found)?;
            let Some(next) = change(&list)? else { return Ok(list) };
            let next = WatchlistRecord { version: list.version + 1, updated_at: rfc3339(crate::now()), ..next };
            if store::put_watchlist(aws, table, user, &next, list.version).await.map_err(storage_problem)? {
                return Ok(next);
            }
        }
        Err(ApiError::Conflict("the watchlist is being changed by other requests; retry".into()))
    }
}
