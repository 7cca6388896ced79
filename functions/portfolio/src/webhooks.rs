//! Webhook endpoints and delivery preferences: `/v1/webhooks` (register, list),
//! `/v1/webhooks/{id}` (delete), `/v1/webhooks/{id}/test` (queue a signed test event) and
//! `/v1/notifications/preferences` (e-mail on or off). The consumer delivers
//! (`enrich-consumer/src/notify.rs`); the rules are `bourse_domain::webhook`, the items
//! `bourse_storage::webhooks`.
//!
//! A URL is vetted here, at registration (its name resolved and every address checked), and
//! again before every delivery attempt. The signing secret is answered once, by the create, and
//! stored sealed under the key from Secrets Manager; no other answer and no log line holds it.
//! Creating is not keyed by `Idempotency-Key`: a replay would have to keep the secret in clear.

use crate::Portfolio;
use crate::wire::{CreatedWebhook, PreferencesView, TestQueued, WebhookView};
use bourse_domain::messages::QueueMessage;
use bourse_domain::random::bytes;
use bourse_domain::webhook::{DeliveryPreferences, MAX_WEBHOOKS, Refusal, WebhookEvent, WebhookSecret, WebhookUrl};
use bourse_domain::{UserId, WebhookId};
use bourse_http::{ApiError, ApiRequest, Page, Reply};
use bourse_runtime::webhooks::{SystemResolver, pinned_address};
use bourse_runtime::{random_problem, storage_problem};
use bourse_storage::webhooks::{self as store, WebhookRecord};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
}

fn webhook_id(request: &ApiRequest) -> Result<WebhookId, ApiError> {
    WebhookId::parse(request.param("id")?).map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such webhook endpoint".into())
}

/// A URL's syntax is a bad field (400); an address it may not reach is a refusal of a well-formed
/// value (422).
fn refused(err: Refusal) -> ApiError {
    match err {
        Refusal::Shape | Refusal::NotHttps | Refusal::Host | Refusal::Port => ApiError::field("body.url", err.to_string()),
        Refusal::NoAddress | Refusal::Address { .. } | Refusal::NotLoopback(_) => ApiError::unprocessable("body.url", err.to_string()),
    }
}

impl Portfolio {
    /// `POST /v1/webhooks {url}` → 201 with the signing secret (shown this once). The URL's
    /// addresses are resolved and vetted; at most [`MAX_WEBHOOKS`] per user (422 beyond). 1
    /// TransactWriteItems.
    pub(crate) async fn create_webhook(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let body: NewWebhook = request.json()?;
        let reach = bourse_runtime::webhooks::reach(&self.platform);
        let url = WebhookUrl::parse(body.url.trim(), reach).map_err(refused)?;
        pinned_address(&url, reach, &SystemResolver).await.map_err(refused)?;
        let keys = self.seal_key.as_ref().ok_or_else(|| ApiError::Unavailable("webhooks are not configured here".into()))?;
        let key = keys.get().await.map_err(|e| ApiError::Unavailable(format!("the webhook key is unavailable: {e}")))?;
        let random = &*self.platform.random;
        let id = WebhookId::from_random(bytes(random).map_err(random_problem)?);
        let secret = WebhookSecret::from_random(bytes(random).map_err(random_problem)?);
        let sealed = key
            .seal(&secret, user, &id, bytes(random).map_err(random_problem)?)
            .map_err(|e| ApiError::Internal(format!("sealing a webhook secret: {e}")))?;
        let record = WebhookRecord {
            id,
            url: url.as_str().to_owned(),
            sealed_secret: sealed,
            created_at: crate::rfc3339(crate::now()),
            active: true,
            failures: 0,
            disabled_at: None,
        };
        if !store::create(&self.platform.aws, &self.app_table, user, &record, MAX_WEBHOOKS).await.map_err(storage_problem)? {
            return Err(ApiError::unprocessable("body.url", format!("at most {MAX_WEBHOOKS} webhook endpoints per account")));
        }
        let created = CreatedWebhook { endpoint: WebhookView::from(&record), secret: secret.expose().to_owned() };
        Reply::json(http::StatusCode::CREATED, &created)
    }

    /// `GET /v1/webhooks` → the caller's endpoints (never their secrets). 1 Query.
    pub(crate) async fn list_webhooks(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let settings = store::settings(&self.platform.aws, &self.app_table, user).await.map_err(storage_problem)?;
        Reply::ok(&Page::all(settings.webhooks.iter().map(WebhookView::from).collect()))
    }

    /// `DELETE /v1/webhooks/{id}` → 204; deliveries in flight to it are dropped.
    pub(crate) async fn delete_webhook(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = webhook_id(request)?;
        if store::delete(&self.platform.aws, &self.app_table, user, &id).await.map_err(storage_problem)? {
            Ok(Reply::no_content())
        } else {
            Err(not_found())
        }
    }

    /// `POST /v1/webhooks/{id}/test` → 202 `{event_id}`: a signed `webhook-test` event is queued
    /// for the endpoint, delivered and retried like any other. 1 GetItem + 1 SendMessageBatch.
    pub(crate) async fn test_webhook(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let id = webhook_id(request)?;
        let hook = store::get(&self.platform.aws, &self.app_table, user, &id).await.map_err(storage_problem)?.ok_or_else(not_found)?;
        if !hook.active {
            return Err(ApiError::Conflict("the endpoint is disabled; delete it and register it again".into()));
        }
        let hex = bourse_domain::random::hex_id(&*self.platform.random).map_err(random_problem)?;
        let event = WebhookEvent::test(&hex, &crate::rfc3339(crate::now()));
        let queued = TestQueued { event_id: event.id.clone() };
        let queue = self.platform.config.require_enrich_queue_url().map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let message = QueueMessage::DeliverWebhook { user: user.clone(), webhook: id, attempt: 1, event };
        bourse_storage::queue::send_messages(&self.platform.aws, queue, &[message], None).await.map_err(storage_problem)?;
        Reply::accepted(&queued)
    }

    /// `GET /v1/notifications/preferences` → `{email}`. 1 GetItem.
    pub(crate) async fn preferences(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let preferences = store::preferences(&self.platform.aws, &self.app_table, user).await.map_err(storage_problem)?;
        Reply::ok(&PreferencesView::from(preferences))
    }

    /// `PUT /v1/notifications/preferences {email}` → 200 `{email}`. 1 PutItem.
    pub(crate) async fn set_preferences(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let preferences: DeliveryPreferences = request.json()?;
        store::put_preferences(&self.platform.aws, &self.app_table, user, &preferences).await.map_err(storage_problem)?;
        Reply::ok(&PreferencesView::from(preferences))
    }
}
