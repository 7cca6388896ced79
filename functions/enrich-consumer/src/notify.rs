//! Telling a user something: every notification goes through [`Consumer::notify`], which stores it
//! in the inbox (once: its id is the key) and queues its delivery to each active webhook endpoint
//! of the user and, when the user asked for it, by e-mail. The deliveries are queued again when a
//! producer's message comes again and finds the notification already stored: the earlier try may
//! have stopped between the two writes, and each delivery drops its own copies (an attempt's
//! recorded state, the e-mail's id), so a retry tells nothing twice and loses nothing.
//!
//! A webhook delivery is one `deliver-webhook` message per attempt, on the account queue:
//! 1. the endpoint is read (deleted or disabled → dropped) and the delivery's state: an attempt
//!    already recorded is not posted again (a redelivered message);
//! 2. the URL is vetted again, its name resolved now and every address checked, and the request
//!    goes to exactly the address checked (`bourse_runtime::webhooks::pinned_address`,
//!    `bourse_providers::http_client::post_pinned`): https in production, no redirect followed,
//!    [`webhook::ATTEMPT_TIMEOUT_SECONDS`] at most, signed (`Bourse-Signature`);
//! 3. the outcome is recorded with a condition (`attempt < n`), so of two copies of one attempt
//!    only one continues: a 2xx ends the delivery and resets the endpoint's failures in a row;
//!    anything else sends the next attempt, delayed by [`webhook::retry_delay`], until
//!    [`webhook::ATTEMPTS`]; the last failed attempt counts a failed delivery, and the
//!    [`webhook::DISABLE_AFTER_FAILED_DELIVERIES`]th in a row disables the endpoint and tells the
//!    user (inbox, and e-mail if on).
//!
//! Cost: a notification 1 TransactWriteItems + 1 Query (settings), + 1 GetItem (the address)
//! when e-mail is on, + 1 SendMessageBatch when there is anything to deliver. An attempt: 2
//! GetItem + 1 UpdateItem + the POST (+ 1 SendMessage for a retry).

use crate::{Consumer, MessageError, MissingSetting};
use bourse_domain::inbox::{NotificationId, NotificationKind};
use bourse_domain::messages::QueueMessage;
use bourse_domain::webhook::{self, EventData, SIGNATURE_HEADER, WebhookEvent, WebhookSecret, WebhookUrl};
use bourse_domain::{PortfolioId, UserId, WebhookId};
use bourse_providers::http_client::{PinnedPost, post_pinned};
use bourse_runtime::webhooks::{SystemResolver, pinned_address};
use bourse_storage::inbox::Notification;
use bourse_storage::webhooks::WebhookRecord;
use std::time::Duration;

/// The event a notification becomes on the wire.
pub fn event_of(notification: &Notification) -> WebhookEvent {
    WebhookEvent {
        id: WebhookEvent::id_of(notification.id.as_str()),
        kind: notification.kind.as_str().to_owned(),
        created: notification.created_at.clone(),
        data: EventData {
            id: notification.id.to_string(),
            kind: notification.kind.as_str().to_owned(),
            title: notification.title.clone(),
            body: notification.body.clone(),
            link: notification.link.clone(),
            created_at: notification.created_at.clone(),
        },
    }
}

impl Consumer {
    /// Stores `notification` in `user`'s inbox and queues its deliveries (each active webhook;
    /// e-mail when the user turned it on and the address is verified). `true` when newly stored.
    pub async fn notify(&self, user: &UserId, notification: &Notification) -> Result<bool, MessageError> {
        let (aws, app) = (&self.platform.aws, self.app_table.as_str());
        let stored = bourse_storage::inbox::deliver(aws, app, user, notification).await?;
        let settings = bourse_storage::webhooks::settings(aws, app, user).await?;
        let event = event_of(notification);
        let mut messages: Vec<QueueMessage> = settings
            .webhooks
            .iter()
            .filter(|hook| hook.active)
            .map(|hook| QueueMessage::DeliverWebhook { user: user.clone(), webhook: hook.id.clone(), attempt: 1, event: event.clone() })
            .collect();
        if settings.preferences.email
            && let Some(profile) = bourse_storage::accounts::profile(aws, app, user).await?
            && profile.email_verified
            && profile.deleting_since.is_none()
        {
            let mail = bourse_domain::mail::Mail::Notification {
                to: profile.email,
                title: notification.title.clone(),
                body: notification.body.clone(),
            };
            messages.push(QueueMessage::SendMail { id: bourse_domain::mail::notification_mail_id(user, notification.id.as_str()), mail });
        }
        if !messages.is_empty() {
            bourse_storage::queue::send_messages(aws, self.account_queue()?, &messages, None).await?;
        }
        Ok(stored)
    }

    /// Tells `user` an import into `portfolio` finished (`[added, duplicates, skipped]`). The
    /// notification's id derives from the import's time and file, so a redelivery tells once; a
    /// portfolio deleted since is told of no more. 1 GetItem + [`Consumer::notify`].
    pub(crate) async fn notify_import(
        &self,
        user: &UserId,
        portfolio: &PortfolioId,
        file: &str,
        at: &str,
        [added, duplicates, skipped]: [u64; 3],
    ) -> Result<(), MessageError> {
        let (aws, app) = (&self.platform.aws, self.app_table.as_str());
        let Some(record) = bourse_storage::portfolios::get_portfolio(aws, app, user, portfolio).await? else {
            tracing::info!(portfolio = %portfolio, "the imported portfolio was deleted: nothing to tell");
            return Ok(());
        };
        let millis = bourse_domain::text::parse_rfc3339(at).map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64).unwrap_or(0);
        let id =
            NotificationId::new(millis, file).map_err(|e| MessageError::Transient(format!("notification id of import {file}: {e}")))?;
        let (title, body) = bourse_domain::inbox::import_finished(&record.name, added, duplicates, skipped);
        let notification = Notification {
            id,
            kind: NotificationKind::ImportFinished,
            title,
            body,
            link: Some(format!("/v1/portfolios/{portfolio}/transactions")),
            created_at: at.to_owned(),
            read: false,
        };
        self.notify(user, &notification).await?;
        Ok(())
    }

    /// The account queue (`MAIL_QUEUE_URL`): e-mails, erasures and webhook attempts.
    fn account_queue(&self) -> Result<&str, MissingSetting> {
        self.platform.config.mail_queue_url.as_deref().ok_or(MissingSetting("MAIL_QUEUE_URL"))
    }

    /// One attempt of one webhook delivery (see the module's description).
    pub(crate) async fn deliver_webhook(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        attempt: u32,
        event: &WebhookEvent,
    ) -> Result<(), MessageError> {
        let (aws, app) = (&self.platform.aws, self.app_table.as_str());
        let Some(hook) = bourse_storage::webhooks::get(aws, app, user, webhook).await? else {
            tracing::info!(webhook = %webhook, event = %event.id, "the endpoint was deleted: delivery dropped");
            return Ok(());
        };
        if !hook.active {
            tracing::info!(webhook = %webhook, event = %event.id, "the endpoint is disabled: delivery dropped");
            return Ok(());
        }
        if let Some(state) = bourse_storage::webhooks::attempt_state(aws, app, user, &event.id, webhook).await? {
            if state.delivered || state.attempt > attempt {
                return Ok(());
            }
            if state.attempt == attempt {
                // This attempt failed and was recorded, but the message came again: its next
                // attempt may not have been sent. Send it (a copy loses at `record_attempt`); a
                // last attempt was counted already and is not counted twice.
                return match webhook::retry_delay(attempt + 1) {
                    Some(delay) => self.retry(user, webhook, attempt + 1, event, delay).await,
                    None => Ok(()),
                };
            }
        }
        let outcome = match self.signing_secret(user, &hook).await? {
            Ok(secret) => self.post(&secret, &hook, event).await,
            Err(reason) => Err(reason),
        };
        let delivered = matches!(outcome, Ok(200..=299));
        let status = outcome.as_ref().ok().copied();
        let now = self.platform.clock.now();
        if !bourse_storage::webhooks::record_attempt(aws, app, user, &event.id, webhook, attempt, delivered, status, now).await? {
            tracing::info!(webhook = %webhook, event = %event.id, attempt, "attempt recorded by another delivery of it");
            return Ok(());
        }
        match &outcome {
            Ok(status) => tracing::info!(webhook = %webhook, event = %event.id, attempt, status, delivered, "webhook attempt"),
            Err(reason) => tracing::warn!(webhook = %webhook, event = %event.id, attempt, reason = %reason, "webhook attempt failed"),
        }
        if delivered {
            bourse_storage::webhooks::delivery_succeeded(aws, app, user, webhook).await?;
            return Ok(());
        }
        match webhook::retry_delay(attempt + 1) {
            Some(delay) => self.retry(user, webhook, attempt + 1, event, delay).await,
            None => self.delivery_failed(user, &hook).await,
        }
    }

    async fn retry(&self, user: &UserId, webhook: &WebhookId, attempt: u32, event: &WebhookEvent, delay: i32) -> Result<(), MessageError> {
        let message = QueueMessage::DeliverWebhook { user: user.clone(), webhook: webhook.clone(), attempt, event: event.clone() };
        bourse_storage::queue::send_messages(&self.platform.aws, self.account_queue()?, &[message], Some(delay)).await?;
        Ok(())
    }

    /// Counts a failed delivery; the one that disables the endpoint tells the user.
    async fn delivery_failed(&self, user: &UserId, hook: &WebhookRecord) -> Result<(), MessageError> {
        let (aws, app) = (&self.platform.aws, self.app_table.as_str());
        let now = self.platform.clock.now_utc();
        let now_text = bourse_domain::text::rfc3339(now);
        let max = webhook::DISABLE_AFTER_FAILED_DELIVERIES;
        let Some(failures) = bourse_storage::webhooks::delivery_failed(aws, app, user, &hook.id, max, &now_text).await? else {
            return Ok(());
        };
        tracing::warn!(webhook = %hook.id, failures, "webhook endpoint disabled after failed deliveries in a row");
        let (title, body) = bourse_domain::inbox::webhook_disabled(&hook.url, failures);
        let id = NotificationId::new(self.platform.clock.now_ms(), &hook.id.as_str()[..12])
            .map_err(|e| MessageError::Transient(format!("notification id of webhook {}: {e}", hook.id)))?;
        let notice = Notification {
            id,
            kind: NotificationKind::WebhookDisabled,
            title,
            body,
            link: Some("/v1/webhooks".to_owned()),
            created_at: now_text,
            read: false,
        };
        self.notify(user, &notice).await?;
        Ok(())
    }

    /// Signs and POSTs `event` to `hook`: the receiver's status, or why there was none (the
    /// reason names no secret).
    async fn post(&self, secret: &WebhookSecret, hook: &WebhookRecord, event: &WebhookEvent) -> Result<u16, String> {
        let url = WebhookUrl::parse(&hook.url, self.webhooks.reach).map_err(|e| format!("URL refused: {e}"))?;
        let address = pinned_address(&url, self.webhooks.reach, &SystemResolver).await.map_err(|e| format!("URL refused: {e}"))?;
        let body = serde_json::to_vec(event).map_err(|e| format!("event not serialisable: {e}"))?;
        let signature = webhook::signature_header(secret, self.platform.clock.now(), &body);
        let headers = [(SIGNATURE_HEADER, signature), ("Bourse-Event-Id", event.id.clone())];
        let post = PinnedPost { address, host: url.host(), https: url.is_https(), path: url.path(), headers: &headers, body: body.into() };
        post_pinned(&self.webhooks.tls, post, Duration::from_secs(webhook::ATTEMPT_TIMEOUT_SECONDS)).await.map_err(|e| e.to_string())
    }

    /// The endpoint's signing secret. A deployment without the sealing key, or a key not read
    /// yet, leaves the message to SQS (not the endpoint's fault); a secret that does not open is
    /// a failed attempt.
    async fn signing_secret(&self, user: &UserId, hook: &WebhookRecord) -> Result<Result<WebhookSecret, String>, MessageError> {
        let keys = self.webhooks.seal_key.as_ref().ok_or(MissingSetting("WEBHOOK_KEY_SECRET"))?;
        let key = keys.get().await.map_err(|e| MessageError::Transient(format!("the webhook sealing key is unavailable: {e}")))?;
        Ok(key.open(&hook.sealed_secret, user, &hook.id).map_err(|e| e.to_string()))
    }
}
