//! Saved screens: `/v1/screens` and `/v1/screens/{id}[/results]`. A screen is the user's (stored
//! under `USER#<user>`, `bourse_storage::screens`); running it reads the published universe this
//! instance holds in memory (`bourse_runtime::universe`: revalidated at most once a second, loaded
//! by one Query when the version moved), so a run costs 1 GetItem (the screen) + the scope's read:
//! nothing for the universe, 1 GetItem (the portfolio) + 1 Query (its holdings) for a portfolio,
//! 1 GetItem for a watchlist.

use crate::wire::{ScreenResults, ScreenRow, ScreenView};
use crate::{Portfolio, rfc3339};
use bourse_domain::saved_screen::{ScreenDefinition, ScreenError, max_screens};
use bourse_domain::screener::{Cursor, page};
use bourse_domain::stock::Stock;
use bourse_domain::{Plan, PortfolioId, ScreenId, Symbol, UserId, WatchlistId};
use bourse_http::{ApiError, ApiRequest, Page, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::screens::{self as store, ScreenRecord};
use http::StatusCode;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewScreen {
    name: String,
    filter: String,
    sort: Option<String>,
    order: Option<String>,
    columns: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScreenChange {
    name: Option<String>,
    filter: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    columns: Option<Vec<String>>,
}

fn problem(err: ScreenError) -> ApiError {
    ApiError::field(err.field(), err.to_string())
}

pub(crate) fn screen_id(request: &ApiRequest) -> Result<ScreenId, ApiError> {
    ScreenId::parse(request.param("id")?).map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such screen".into())
}

/// The plan's limit, as a 422 naming it.
pub(crate) fn limit_reached(what: &str, limit: usize, plan: Plan) -> ApiError {
    ApiError::unprocessable("body", format!("at most {limit} {what} on the {} plan (limit: {limit})", plan.as_str()))
}

impl Portfolio {
    /// `POST /v1/screens {name, filter, sort?, order?, columns?}` → 201 (Idempotency-Key honoured).
    pub(crate) async fn create_screen(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let body: NewScreen = request.json()?;
        let plan = Plan::parse(&request.principal()?.plan);
        let definition =
            ScreenDefinition::parse(&body.name, &body.filter, body.sort.as_deref(), body.order.as_deref(), body.columns.as_deref())
                .map_err(problem)?;
        self.idempotent(request, user, |attempt| async move {
            let (aws, table) = (&self.platform.aws, self.app_table.as_str());
            let id = ScreenId::from_random(attempt.id_bytes("screen", 0));
            if let Some(created) = store::get_screen(aws, table, user, &id).await.map_err(storage_problem)? {
                return Ok((StatusCode::CREATED, ScreenView::from(&created)));
            }
            let limit = max_screens(plan);
            if store::list_screens(aws, table, user).await.map_err(storage_problem)?.len() >= limit {
                return Err(limit_reached("saved screens", limit, plan));
            }
            let now = rfc3339(attempt.started);
            let record = ScreenRecord { id, definition, created_at: now.clone(), updated_at: now };
            if !store::put_screen(aws, table, user, &record, true).await.map_err(storage_problem)? {
                return Err(ApiError::Conflict("the screen was created meanwhile; retry".into()));
            }
            Ok((StatusCode::CREATED, ScreenView::from(&record)))
        })
        .await
    }

    /// `GET /v1/screens` → every saved screen of the caller (1 Query).
    pub(crate) async fn list_screens(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let screens = store::list_screens(&self.platform.aws, &self.app_table, user).await.map_err(storage_problem)?;
        Reply::ok(&Page::all(screens.iter().map(ScreenView::from).collect()))
    }

    pub(crate) async fn owned_screen(&self, user: &UserId, id: &ScreenId) -> Result<ScreenRecord, ApiError> {
        store::get_screen(&self.platform.aws, &self.app_table, user, id).await.map_err(storage_problem)?.ok_or_else(not_found)
    }

    /// `GET /v1/screens/{id}` → the definition (1 GetItem).
    pub(crate) async fn get_screen(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let screen = self.owned_screen(user, &screen_id(request)?).await?;
        Reply::ok(&ScreenView::from(&screen))
    }

    /// `PATCH /v1/screens/{id} {name?, filter?, sort?, order?, columns?}` → 200: the members given
    /// replace the stored ones (1 GetItem + 1 PutItem; the last change wins).
    pub(crate) async fn change_screen(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = screen_id(request)?;
        let body: ScreenChange = request.json()?;
        let screen = self.owned_screen(user, &id).await?;
        let d = &screen.definition;
        let filter = body.filter.unwrap_or_else(|| d.filter.to_string());
        let sort = body.sort.unwrap_or_else(|| d.sort.name().to_owned());
        let order = body.order.unwrap_or_else(|| (if d.sort.descending { "desc" } else { "asc" }).to_owned());
        let columns = body.columns.unwrap_or_else(|| d.columns.iter().map(|m| m.info().name.to_owned()).collect());
        let name = body.name.unwrap_or_else(|| d.name.clone());
        let definition = ScreenDefinition::parse(&name, &filter, Some(&sort), Some(&order), Some(&columns)).map_err(problem)?;
        let record = ScreenRecord { definition, updated_at: rfc3339(crate::now()), ..screen };
        if !store::put_screen(&self.platform.aws, &self.app_table, user, &record, false).await.map_err(storage_problem)? {
            return Err(not_found());
        }
        Reply::ok(&ScreenView::from(&record))
    }

    /// `DELETE /v1/screens/{id}` → 204 (its alerts stay, and stop firing: their screen is gone).
    pub(crate) async fn delete_screen(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = screen_id(request)?;
        if !store::delete_screen(&self.platform.aws, &self.app_table, user, &id).await.map_err(storage_problem)? {
            return Err(not_found());
        }
        Ok(Reply::no_content())
    }

    /// `GET /v1/screens/{id}/results?portfolio_id=|watchlist_id=&limit&cursor` → a page of the
    /// screen's matches in its sort order: over the universe, or over one of the caller's
    /// portfolios (its holdings) or watchlists.
    pub(crate) async fn screen_results(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["portfolio_id", "watchlist_id", "limit", "cursor"])?;
        let screen = self.owned_screen(user, &screen_id(request)?).await?;
        let limit = request.limit(50, 100)?;
        let sort = &screen.definition.sort;
        let cursor = request
            .query("cursor")?
            .map(|c| Cursor::decode(c, sort).map_err(|e| ApiError::field("query.cursor", e.to_string())))
            .transpose()?;
        let (scope, symbols) = match (request.query("portfolio_id")?, request.query("watchlist_id")?) {
            (Some(_), Some(_)) => return Err(ApiError::field("query.watchlist_id", "give portfolio_id or watchlist_id, not both")),
            (Some(raw), None) => {
                let id = PortfolioId::parse(raw).map_err(|_| ApiError::NotFound(format!("no portfolio {raw}")))?;
                self.owned(user, &id).await?;
                let holdings = bourse_storage::portfolios::list_holdings(&self.platform.aws, &self.app_table, user, &id)
                    .await
                    .map_err(storage_problem)?;
                ("portfolio", Some(holdings.into_iter().filter(|h| !h.quantity.is_zero()).map(|h| h.symbol).collect::<Vec<_>>()))
            }
            (None, Some(raw)) => {
                let id = WatchlistId::parse(raw).map_err(|_| ApiError::NotFound("no such watchlist".into()))?;
                let list = bourse_storage::watchlists::get_watchlist(&self.platform.aws, &self.app_table, user, &id)
                    .await
                    .map_err(storage_problem)?
                    .ok_or_else(|| ApiError::NotFound("no such watchlist".into()))?;
                ("watchlist", Some(list.symbols))
            }
            (None, None) => ("universe", None),
        };
        let universe = self.universe.get(&self.platform, &self.market_table).await?;
        let (stocks, unknown): (Vec<&Stock>, Vec<Symbol>) = match symbols {
            None => (universe.stocks.iter().collect(), Vec::new()),
            Some(symbols) => {
                let mut found = Vec::new();
                let mut unknown = Vec::new();
                for symbol in symbols {
                    match universe.get(symbol.as_str()) {
                        Some(stock) => found.push(stock),
                        None => unknown.push(symbol),
                    }
                }
                (found, unknown)
            }
        };
        let matching: Vec<&Stock> = stocks.into_iter().filter(|s| screen.definition.filter.matches(s)).collect();
        let total = matching.len();
        let found = page(matching, sort, cursor.as_ref(), limit);
        let rows = found.items.iter().map(|s| ScreenRow::new(s, &screen.definition.columns)).collect();
        Reply::ok(&ScreenResults {
            screen: ScreenView::from(&screen),
            scope,
            total,
            universe_version: universe.version,
            unknown: unknown.iter().map(|s| s.to_string()).collect(),
            page: Page::new(rows, found.next.map(|c| c.encode())),
        })
    }
}
