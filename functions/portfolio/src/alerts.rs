//! Alerts: `/v1/alerts` and `/v1/alerts/{id}`. The rules are `bourse_domain::alerts`, the item
//! `bourse_storage::alerts` (one per alert, indexed by the symbol or as a screen alert); the
//! enrichment consumer evaluates them. Each route costs a bounded number of requests: create 1
//! Query (the plan's limit) + 1 GetItem + 1 PutItem (+ the screen's GetItem and the universe in
//! memory for a screen alert), list 1 Query, get 1 GetItem, replace 1 GetItem + 1 PutItem, delete
//! 1 DeleteItem.

use crate::screens::limit_reached;
use crate::wire::AlertView;
use crate::{Portfolio, rfc3339};
use bourse_domain::alerts::{AlertError, AlertRule, RawAlert, max_alerts};
use bourse_domain::saved_screen::matches;
use bourse_domain::{AlertId, Plan, Symbol, UserId};
use bourse_http::{ApiError, ApiRequest, Page, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::alerts::{self as store, AlertRecord};
use http::StatusCode;
use std::collections::BTreeSet;

fn problem(err: AlertError) -> ApiError {
    ApiError::field(format!("body.{}", err.field), err.reason)
}

fn alert_id(request: &ApiRequest) -> Result<AlertId, ApiError> {
    AlertId::parse(request.param("id")?).map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such alert".into())
}

impl Portfolio {
    /// The rule of the body, checked against what exists: a symbol the universe knows (1
    /// BatchGetItem), a screen of the caller's (1 GetItem). A screen alert starts from the screen's
    /// current matches over the universe in memory, so it reports changes from now on.
    async fn rule_of(&self, request: &ApiRequest, user: &UserId) -> Result<(AlertRule, BTreeSet<Symbol>), ApiError> {
        let raw: RawAlert = request.json()?;
        let rule = raw.parse().map_err(problem)?;
        let matched = match &rule {
            AlertRule::Screen { screen, .. } => {
                let screen = match self.owned_screen(user, screen).await {
                    Err(ApiError::NotFound(_)) => return Err(ApiError::unprocessable("body.screen_id", "no such screen")),
                    found => found?,
                };
                let universe = self.universe.get(&self.platform, &self.market_table).await?;
                matches(&screen.definition.filter, &universe.stocks)
            }
            _ => BTreeSet::new(),
        };
        if let Some(symbol) = rule.symbol() {
            self.known(std::slice::from_ref(symbol), |_| "body.symbol".to_owned()).await?;
        }
        Ok((rule, matched))
    }

    /// `POST /v1/alerts {kind, …}` → 201 (Idempotency-Key honoured); 422 with the limit past the
    /// plan's number of alerts.
    pub(crate) async fn create_alert(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let plan = Plan::parse(&request.principal()?.plan);
        let (rule, matched) = self.rule_of(request, user).await?;
        self.idempotent(request, user, |attempt| async move {
            let (aws, table) = (&self.platform.aws, self.app_table.as_str());
            let id = AlertId::from_random(attempt.id_bytes("alert", 0));
            if let Some(created) = store::get_alert(aws, table, user, &id).await.map_err(storage_problem)? {
                return Ok((StatusCode::CREATED, AlertView::from(&created)));
            }
            let limit = max_alerts(plan);
            if store::list_alerts(aws, table, user).await.map_err(storage_problem)?.len() >= limit {
                return Err(limit_reached("alerts", limit, plan));
            }
            let record = AlertRecord {
                user: user.clone(),
                id,
                rule,
                armed: true,
                crossings: 0,
                pending: None,
                matches: matched,
                last_fired_at: None,
                created_at: rfc3339(attempt.started),
            };
            if !store::put_alert(aws, table, &record, true).await.map_err(storage_problem)? {
                return Err(ApiError::Conflict("the alert was created meanwhile; retry".into()));
            }
            Ok((StatusCode::CREATED, AlertView::from(&record)))
        })
        .await
    }

    /// `GET /v1/alerts` → every alert of the caller with its state (1 Query).
    pub(crate) async fn list_alerts(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let alerts = store::list_alerts(&self.platform.aws, &self.app_table, user).await.map_err(storage_problem)?;
        Reply::ok(&Page::all(alerts.iter().map(AlertView::from).collect()))
    }

    async fn owned_alert(&self, user: &UserId, id: &AlertId) -> Result<AlertRecord, ApiError> {
        store::get_alert(&self.platform.aws, &self.app_table, user, id).await.map_err(storage_problem)?.ok_or_else(not_found)
    }

    /// `GET /v1/alerts/{id}` → the alert (1 GetItem).
    pub(crate) async fn get_alert(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let alert = self.owned_alert(user, &alert_id(request)?).await?;
        Reply::ok(&AlertView::from(&alert))
    }

    /// `PUT /v1/alerts/{id} {kind, …}` → 200: the rule replaced, armed again (its count of firings
    /// kept, so the next crossing's notification is a new one).
    pub(crate) async fn replace_alert(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = alert_id(request)?;
        let current = self.owned_alert(user, &id).await?;
        let (rule, matched) = self.rule_of(request, user).await?;
        let record = AlertRecord { rule, matches: matched, armed: true, pending: None, ..current };
        if !store::put_alert(&self.platform.aws, &self.app_table, &record, false).await.map_err(storage_problem)? {
            return Err(not_found());
        }
        Reply::ok(&AlertView::from(&record))
    }

    /// `DELETE /v1/alerts/{id}` → 204.
    pub(crate) async fn delete_alert(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = alert_id(request)?;
        if !store::delete_alert(&self.platform.aws, &self.app_table, user, &id).await.map_err(storage_problem)? {
            return Err(not_found());
        }
        Ok(Reply::no_content())
    }
}
