//! The enrichment consumer. One Lambda, two triggers:
//! - an SQS batch from the enrichment queue: every message is processed concurrently and only the
//!   failed ones are reported back (`batchItemFailures`), so SQS redelivers just those and a poison
//!   message reaches the DLQ after `maxReceiveCount` while the rest of its batch completes;
//! - the EventBridge schedule's payload (`{"kind":"scheduled-refresh"}`): a refresh job of the
//!   whole universe, fanned out through the queue.
//!
//! One `enrich` message = one symbol of one job:
//! 1. if the job already has an outcome for the symbol (a redelivery), nothing is fetched or
//!    written again — only the completion check below runs;
//! 2. every provider is queried in parallel (`bourse_providers::fetch_best`: shared rate limits,
//!    retries with backoff and jitter while the invocation's time allows, fallback, data-quality
//!    choice);
//! 3. the stock profile, its history and the day's market signals are written in one
//!    BatchWriteItem; the outcome is recorded and counted once (a conditional transaction);
//! 4. the message that completes the job republishes the universe snapshot with the job's stocks
//!    (a new universe version; the cached version key is overwritten so every cache refreshes).
//!
//! Failures: a transient provider failure leaves the message to SQS (redelivered after the
//! visibility timeout) until its [`FINAL_ATTEMPT`]th receive, which records the symbol as failed;
//! an unknown symbol is recorded as failed at once; when the shared rate limit's wait is longer
//! than the time left, the message's visibility is set to that wait and it is reported failed.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use bourse_domain::Symbol;
use bourse_domain::jobs::{JobId, JobKind, JobOwner};
use bourse_domain::market_data::apply;
use bourse_domain::messages::{QueueMessage, ScheduledTask};
use bourse_domain::money::Currency;
use bourse_domain::portfolio::{DailySnapshot, daily_snapshot};
use bourse_domain::signals::history_signals;
use bourse_domain::stock::Stock;
use bourse_domain::text::rfc3339;
use bourse_domain::{PortfolioId, UserId};
use bourse_providers::{FetchOutcome, Provider, RateLimiter, RequestContext, fetch_best};
use bourse_runtime::{Platform, StartupError};
use bourse_storage::jobs::{JobRecord, Recorded};
use bourse_storage::market::MarketSignal;
use bourse_storage::{AwsClients, StorageError};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub mod alerts;
pub mod fanout;
pub mod notify;
pub mod panic_guard;

use panic_guard::PanicGuard;

pub const SERVICE: &str = "enrich-consumer";
/// The receive on which a symbol whose providers keep failing is recorded as failed (below the
/// queue's `maxReceiveCount` of 5, so it is counted rather than lost to the DLQ).
pub const FINAL_ATTEMPT: u32 = 3;
/// Kept free at the end of an invocation for the writes after the last provider answer.
pub const WRITE_MARGIN: Duration = Duration::from_secs(3);
/// The time budget when the invocation has no deadline (tests, benchmarks).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);
/// How long the published universe version is cached (as the screener does).
const VERSION_TTL: Duration = Duration::from_secs(60);

/// Why an invocation failed as a whole (the trigger retries it).
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("event is neither an SQS batch nor a scheduled task: {0}")]
    UnknownEvent(String),
    /// The answer to the event could not be written as JSON.
    #[error("the answer could not be serialised: {0}")]
    Answer(serde_json::Error),
    /// A setting the work needs is missing: the deployment, not the event, is at fault.
    #[error(transparent)]
    Config(#[from] MissingSetting),
    /// The day's scheduled refresh has no valid job id (a clock outside the years ids cover).
    #[error("the scheduled refresh has no job id: {0}")]
    JobId(#[from] bourse_domain::jobs::InvalidJobId),
    #[error(transparent)]
    Storage(#[from] bourse_storage::StorageError),
}

impl From<ConsumerError> for lambda_runtime::Diagnostic {
    fn from(err: ConsumerError) -> Self {
        let kind = match err {
            ConsumerError::UnknownEvent(_) => "UnknownEvent",
            ConsumerError::Answer(_) => "AnswerError",
            ConsumerError::Config(_) => "ConfigurationError",
            ConsumerError::JobId(_) => "JobIdError",
            ConsumerError::Storage(_) => "StorageError",
        };
        lambda_runtime::Diagnostic { error_type: kind.into(), error_message: err.to_string() }
    }
}

/// The answer to a scheduled task: `{"status":"done"}`, with the jobs a sweep finished.
#[derive(Debug, serde::Serialize)]
struct TaskDone {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    swept: Option<usize>,
}

/// A setting that this deployment lacks (named as in the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not set")]
pub struct MissingSetting(pub &'static str);

/// Why one message failed; it is reported so that only it is redelivered.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The body can never be processed, however often it is delivered.
    #[error("poison message: {0}")]
    Poison(#[from] bourse_domain::messages::InvalidMessage),
    /// The message is fine, the deployment lacks a setting its work needs: it is redelivered,
    /// and the dead-letter queue keeps it once the redeliveries are spent.
    #[error("configuration: {0}")]
    Config(#[from] MissingSetting),
    #[error(transparent)]
    Storage(#[from] bourse_storage::StorageError),
    #[error("providers failed, SQS will retry: {0}")]
    Transient(String),
    #[error("deferred by the shared rate limit for {0:?}")]
    Deferred(Duration),
}

pub struct Consumer {
    platform: Platform,
    app_table: String,
    market_table: String,
    queue_url: Option<String>,
    /// Where scheduled work goes (the refresh's symbols, the snapshot fan-out, the universe
    /// publish): its own queue, so user jobs cannot starve it.
    scheduled_queue_url: Option<String>,
    providers: Vec<Arc<dyn Provider>>,
    limiter: Arc<RateLimiter>,
    /// Under the Lambda Runtime API: answers for the unfinished messages if a message panics.
    panic_guard: Option<Arc<PanicGuard>>,
    /// SES and the sender, when this deployment sends e-mail (`MAIL_FROM`).
    mailer: Option<Mailer>,
    /// What webhook deliveries need (`notify.rs`).
    webhooks: WebhookDelivery,
}

/// The receivers this deployment may reach, the TLS they are reached with, the key that opens
/// their signing secrets.
struct WebhookDelivery {
    reach: bourse_domain::webhook::Reach,
    tls: Arc<rustls::ClientConfig>,
    seal_key: Option<bourse_runtime::secrets::InstanceSecret<bourse_domain::webhook::SealKey>>,
}

/// What sending e-mail needs.
struct Mailer {
    ses: aws_sdk_sesv2::Client,
    settings: bourse_config::MailSettings,
}

impl Consumer {
    /// The consumer with the configured providers (`MARKET_PROVIDERS`; default offline). Their
    /// API keys are read from Secrets Manager here, at init: one `GetSecretValue` per keyed
    /// provider (none for the default), off any user's request path.
    pub async fn new(platform: Platform) -> Result<Self, StartupError> {
        let mut settings = platform.config.market_providers.clone();
        for setting in &mut settings {
            if let Some(source) = &setting.api_key {
                let key = bourse_storage::secrets::resolve(&platform.aws, source).await?;
                setting.api_key = Some(bourse_config::SecretSource::Inline(key));
            }
        }
        let (providers, limiter) = bourse_providers::from_settings(
            &settings,
            &platform.config.ca_bundle,
            platform.cache.clone(),
            platform.config.enrich_max_concurrency,
        )
        .map_err(|e| StartupError::Init(e.to_string()))?;
        Self::with_providers(platform, providers, limiter)
    }

    /// The consumer with explicit providers (tests and benchmarks point them at local stubs).
    pub fn with_providers(platform: Platform, providers: Vec<Arc<dyn Provider>>, limiter: Arc<RateLimiter>) -> Result<Self, StartupError> {
        let app_table = platform.config.require_app_table()?.to_owned();
        let market_table = platform.config.require_market_table()?.to_owned();
        let queue_url = platform.config.enrich_queue_url.clone();
        let scheduled_queue_url = platform.config.scheduled_queue_url.clone().or_else(|| queue_url.clone());
        let mailer = match &platform.config.mail {
            Some(settings) => Some(Mailer {
                ses: bourse_storage::clients::build_mail_client(&platform.config.aws, &platform.config.ca_bundle)?,
                settings: settings.clone(),
            }),
            None => None,
        };
        let reach = bourse_runtime::webhooks::reach(&platform);
        // Public receivers are checked against the process's CA bundle; loopback stand-ins (local
        // and test stages) are plain http, so no certificate store is read there.
        let tls = match reach {
            bourse_domain::webhook::Reach::Public => bourse_config::trust::client_config(&platform.config.ca_bundle, None),
            bourse_domain::webhook::Reach::LoopbackOnly => bourse_config::trust::trusting(rustls::RootCertStore::empty()),
        }
        .map_err(|e| StartupError::Init(format!("webhook TLS: {e}")))?;
        let webhooks = WebhookDelivery { reach, tls, seal_key: bourse_runtime::webhooks::seal_key(&platform) };
        Ok(Consumer {
            platform,
            app_table,
            market_table,
            queue_url,
            scheduled_queue_url,
            providers,
            limiter,
            panic_guard: None,
            mailer,
            webhooks,
        })
    }

    /// Reports each batch's progress to `guard`, so that a panic fails only the unfinished messages.
    pub fn with_panic_guard(mut self, guard: Option<Arc<PanicGuard>>) -> Self {
        self.panic_guard = guard;
        self
    }

    /// Dispatches on the event's shape.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, ConsumerError> {
        let deadline = deadline_of(event.context.deadline);
        let payload = event.payload;
        if payload.get("Records").is_some() {
            let batch: SqsEvent = serde_json::from_value(payload).map_err(|e| ConsumerError::UnknownEvent(e.to_string()))?;
            let ids = batch.records.iter().filter_map(|m| m.message_id.as_deref());
            let _in_progress = self.panic_guard.as_deref().map(|guard| guard.begin(&event.context.request_id, ids));
            let response = self.consume_until(batch, deadline).await;
            return serde_json::to_value(response).map_err(ConsumerError::Answer);
        }
        // A classic EventBridge rule delivers its own envelope; a schedule with an Input delivers
        // the input itself. Both mean the daily refresh.
        let task = if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
            ScheduledTask::ScheduledRefresh
        } else {
            serde_json::from_value(payload).map_err(|e| ConsumerError::UnknownEvent(e.to_string()))?
        };
        let done = match task {
            ScheduledTask::ScheduledRefresh => {
                let job = self.run_scheduled().await?;
                tracing::info!(job = %job, "scheduled refresh fanned out");
                TaskDone { status: "done", swept: None }
            }
            ScheduledTask::SweepJobs => {
                TaskDone { status: "done", swept: Some(self.sweep_stalled_jobs(self.platform.clock.now_utc()).await?) }
            }
        };
        serde_json::to_value(done).map_err(ConsumerError::Answer)
    }

    /// Processes a batch with the default time budget.
    pub async fn consume(&self, batch: SqsEvent) -> SqsBatchResponse {
        self.consume_until(batch, Instant::now() + DEFAULT_BUDGET).await
    }

    /// Processes a batch concurrently, finishing provider work by `deadline` − [`WRITE_MARGIN`];
    /// returns the ids of the messages that failed.
    pub async fn consume_until(&self, batch: SqsEvent, deadline: Instant) -> SqsBatchResponse {
        let total = batch.records.len();
        let outcomes = futures_util::future::join_all(batch.records.iter().map(|message| async move {
            let outcome = self.process(message, deadline).await;
            if let (Ok(()), Some(guard), Some(id)) = (&outcome, &self.panic_guard, &message.message_id) {
                guard.succeeded(id);
            }
            outcome
        }))
        .await;
        let mut response = SqsBatchResponse::default();
        for (message, outcome) in batch.records.iter().zip(outcomes) {
            if let Err(err) = outcome {
                let id = message.message_id.clone().unwrap_or_default();
                tracing::warn!(message_id = %id, error = %err, "message failed; SQS will redeliver it");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        tracing::info!(total, failed = response.batch_item_failures.len(), "batch consumed");
        response
    }

    async fn process(&self, message: &SqsMessage, deadline: Instant) -> Result<(), MessageError> {
        let body = message.body.as_deref().unwrap_or_default();
        match QueueMessage::parse(body)? {
            QueueMessage::Ping { id } => {
                let now = self.platform.clock.now_utc();
                bourse_storage::diagnostics::record_ping(
                    &self.platform.aws,
                    &self.app_table,
                    &id,
                    &rfc3339(now),
                    now.unix_timestamp() as u64,
                )
                .await?;
                Ok(())
            }
            QueueMessage::SnapshotShard { shard, date, after } => {
                let queue_url = self.scheduled_queue()?;
                let source = fanout::IndexSource { platform: &self.platform, table: &self.app_table };
                let outbox = fanout::QueueOutbox { platform: &self.platform, queue_url };
                let step = fanout::fan_out_page(&source, &outbox, shard, &date, after.as_deref(), fanout::PAGE).await?;
                tracing::info!(
                    shard,
                    date,
                    sent = step.fanned_out,
                    more = step.continued_after.is_some(),
                    "snapshot shard page fanned out"
                );
                Ok(())
            }
            QueueMessage::PublishUniverse => self.publish_pending().await,
            QueueMessage::EvaluateAlerts { symbol, seen, after } => {
                let done = self.evaluate_symbol_alerts(&symbol, &seen, after.as_deref()).await?;
                tracing::info!(symbol = %symbol, evaluated = done.evaluated, fired = done.fired, "alerts evaluated");
                Ok(())
            }
            QueueMessage::EvaluateScreenAlerts { version, after } => {
                let done = self.evaluate_screen_alerts(version, after.as_deref()).await?;
                tracing::info!(version, evaluated = done.evaluated, fired = done.fired, "screen alerts evaluated");
                Ok(())
            }
            QueueMessage::Decoy => Ok(()),
            QueueMessage::SendMail { id, mail } => self.send_mail(&id, &mail).await,
            QueueMessage::DeliverWebhook { user, webhook, attempt, event } => self.deliver_webhook(&user, &webhook, attempt, &event).await,
            QueueMessage::ImportFinished { user, portfolio, file, at, added, duplicates, skipped } => {
                self.notify_import(&user, &portfolio, &file, &at, [added, duplicates, skipped]).await
            }
            QueueMessage::EraseAccount { user, email, final_pass } => self.erase_account(user, email, final_pass).await,
            QueueMessage::SnapshotPortfolio { user, portfolio, date } => {
                let (aws, app, market) = (&self.platform.aws, self.app_table.as_str(), self.market_table.as_str());
                write_daily_snapshot(aws, app, market, &user, &portfolio, &date).await?;
                Ok(())
            }
            QueueMessage::Enrich { job_id, symbol } => {
                let receives = message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse::<u32>().ok()).unwrap_or(1);
                let result = self.enrich(&job_id, &symbol, receives, deadline).await;
                if let Err(MessageError::Deferred(wait)) = &result {
                    self.defer(message, *wait).await;
                }
                result
            }
        }
    }

    /// Sends one queued e-mail, unless a delivery of the same message already did. 1 GetItem +
    /// 1 SES SendEmail + 1 PutItem. The message holds a token: it is never logged.
    async fn send_mail(&self, id: &str, mail: &bourse_domain::mail::Mail) -> Result<(), MessageError> {
        let mailer = self.mailer.as_ref().ok_or(MissingSetting("MAIL_FROM"))?;
        let (aws, app) = (&self.platform.aws, self.app_table.as_str());
        if bourse_storage::mail::was_sent(aws, app, id).await? {
            tracing::info!(mail = id, "already sent (redelivery)");
            return Ok(());
        }
        let message = mail.render(&mailer.settings.app_url);
        bourse_storage::mail::send(&mailer.ses, &mailer.settings.from, mail.to(), &message).await?;
        bourse_storage::mail::record_sent(aws, app, id, self.platform.clock.now()).await?;
        tracing::info!(mail = id, subject = %message.subject, "mail sent");
        Ok(())
    }

    /// One step of an account's erasure (`bourse_storage::erasure`): deletes a bounded share of
    /// the user's items and sends the next step to the account queue; once nothing is left, one
    /// delayed final pass looks again (a request in flight at the deletion may have written
    /// since), and after it the owner is told. Every step is idempotent.
    async fn erase_account(&self, user: UserId, email: String, final_pass: bool) -> Result<(), MessageError> {
        let address = bourse_domain::Email::parse(&email).map_err(|_| bourse_domain::messages::InvalidMessage::ErasureEmail)?;
        let (aws, app) = (&self.platform.aws, self.app_table.as_str());
        let step = bourse_storage::erasure::erase_step(aws, app, &user, &address).await?;
        tracing::info!(user = %user, deleted = step.deleted, finished = step.finished, final_pass, "account erasure step");
        let queue = self.platform.config.mail_queue_url.as_deref().ok_or(MissingSetting("MAIL_QUEUE_URL"))?;
        let (next, delay) = match (step.finished, final_pass) {
            (false, _) => (QueueMessage::EraseAccount { user, email, final_pass }, None),
            (true, false) => {
                let delay = self.platform.config.erasure_final_pass_delay_seconds as i32;
                (QueueMessage::EraseAccount { user, email, final_pass: true }, Some(delay))
            }
            (true, true) => {
                // A random id: a mail-sent marker named after the user would outlive the account.
                let id = bourse_domain::random::hex_id(&*self.platform.random)
                    .map_err(|e| MessageError::Transient(format!("no randomness for the mail id: {e}")))?;
                (QueueMessage::SendMail { id, mail: bourse_domain::mail::Mail::AccountDeleted { to: email } }, None)
            }
        };
        bourse_storage::queue::send_messages(aws, queue, &[next], delay).await?;
        Ok(())
    }

    async fn enrich(&self, job_id: &JobId, symbol: &Symbol, receives: u32, deadline: Instant) -> Result<(), MessageError> {
        let (aws, app, market) = (&self.platform.aws, self.app_table.as_str(), self.market_table.as_str());
        if bourse_storage::jobs::outcome_exists(aws, app, job_id, symbol).await? {
            tracing::info!(job = %job_id, symbol = %symbol, "already counted (redelivery): nothing to fetch");
            return self.complete_if_done(job_id).await;
        }
        let now = self.platform.clock.now_utc();
        let context = RequestContext { limiter: self.limiter.clone(), deadline: deadline.checked_sub(WRITE_MARGIN).unwrap_or(deadline) };
        let outcome: Result<u8, String> = match fetch_best(&self.providers, symbol, &context, now.date()).await {
            FetchOutcome::Found { data, quality, failures } => {
                for (provider, error) in &failures {
                    tracing::info!(symbol = %symbol, provider, %error, "provider failed; others answered");
                }
                let before = bourse_storage::market::get_stocks(aws, market, &[symbol.to_string()])
                    .await?
                    .pop()
                    .unwrap_or_else(|| Stock::new(symbol.clone(), symbol.to_string()));
                let mut stock = before.clone();
                apply(&mut stock, &data, quality, &rfc3339(now));
                let closes: Vec<_> = data.history.iter().map(|p| p.close).collect();
                let date = now.date().to_string();
                let found = history_signals(&closes);
                let signals: Vec<MarketSignal> = found
                    .iter()
                    .map(|s| MarketSignal { symbol: symbol.to_string(), kind: s.kind.name().to_owned(), detail: s.detail.clone() })
                    .collect();
                let history = if data.history_is_sane() { data.history.as_slice() } else { &[] };
                bourse_storage::market::put_enrichment(aws, market, &stock, history, &signals, &date, now.unix_timestamp() as u64).await?;
                // Before the outcome is recorded, so a failure here is redelivered and evaluated again.
                let (seen, changed) = alerts::observation(&before, &stock, &found);
                if changed {
                    self.evaluate_symbol_alerts(symbol, &seen, None).await?;
                }
                Ok(quality)
            }
            FetchOutcome::Unknown => Err("unknown symbol: no provider knows it".into()),
            FetchOutcome::Deferred(wait) => return Err(MessageError::Deferred(wait)),
            FetchOutcome::Failed(failures) => {
                let reasons: Vec<String> = failures.iter().map(|(p, e)| format!("{p}: {e}")).collect();
                if receives < FINAL_ATTEMPT {
                    return Err(MessageError::Transient(reasons.join("; ")));
                }
                Err(format!("providers failed on {receives} deliveries: {}", reasons.join("; ")))
            }
        };
        let recorded = bourse_storage::jobs::record_outcome(
            aws,
            app,
            job_id,
            symbol,
            outcome.as_ref().map(|q| *q).map_err(String::as_str),
            &rfc3339(now),
            now.unix_timestamp() as u64,
        )
        .await?;
        match recorded {
            Recorded::NoSuchJob => {
                tracing::warn!(job = %job_id, symbol = %symbol, "no such job (expired?); the data was written, nothing counted");
                Ok(())
            }
            Recorded::Counted | Recorded::AlreadyCounted => self.complete_if_done(job_id).await,
        }
    }

    /// When every symbol of the job has an outcome and the job is not marked completed yet: add
    /// the job's symbols to the next universe publish (coalesced: the first job completing after a
    /// publish schedules the next one, [`Config::universe_publish_interval_seconds`] later, and
    /// every job completing meanwhile rides on it), then mark the job completed. Several callers
    /// may get here for one job; adding twice is harmless, and a failure is retried by the
    /// message's redelivery.
    async fn complete_if_done(&self, job_id: &JobId) -> Result<(), MessageError> {
        let (aws, app, market) = (&self.platform.aws, self.app_table.as_str(), self.market_table.as_str());
        let Some(job) = bourse_storage::jobs::get_job(aws, app, job_id).await? else { return Ok(()) };
        if !job.progress.is_complete() || job.completed_at.is_some() {
            return Ok(());
        }
        let now = self.platform.clock.now_utc();
        if job.progress.done > 0 {
            let symbols: Vec<String> = bourse_storage::jobs::job_symbols(aws, app, job_id).await?.iter().map(Symbol::to_string).collect();
            if bourse_storage::market::add_pending_publish(aws, market, &symbols, now.unix_timestamp() as u64).await? {
                self.schedule_publish().await?;
            }
            tracing::info!(job = %job_id, symbols = symbols.len(), "job complete; its stocks join the next universe publish");
        }
        if let JobOwner::User(user) = &job.owner {
            self.notify_completion(user, &job, &rfc3339(now)).await?;
        }
        bourse_storage::jobs::mark_completed(aws, app, job_id, &rfc3339(now)).await?;
        Ok(())
    }

    /// Tells the job's owner it finished ([`Consumer::notify`]: the inbox, then its deliveries). Before the job is marked complete, so a
    /// failure leaves the message to SQS and the next delivery tells again; the notification's id
    /// derives from the job (its creation time and id), so telling twice stores one notification.
    async fn notify_completion(&self, user: &UserId, job: &JobRecord, now: &str) -> Result<(), MessageError> {
        use bourse_domain::inbox::{NotificationId, NotificationKind, job_completed};
        let created = bourse_domain::text::parse_rfc3339(&job.created_at).map(|t| t.unix_timestamp() * 1000).unwrap_or(0);
        let id = NotificationId::new(created, job.id.as_str().trim_start_matches('j'))
            .map_err(|e| MessageError::Transient(format!("notification id of job {}: {e}", job.id)))?;
        let (title, body) = job_completed(job.progress.done, job.progress.failed);
        let notification = bourse_storage::inbox::Notification {
            id,
            kind: NotificationKind::JobCompleted,
            title,
            body,
            link: Some(format!("/v1/jobs/{}", job.id)),
            created_at: now.to_owned(),
            read: false,
        };
        self.notify(user, &notification).await?;
        Ok(())
    }

    /// Sends the one publish message, delayed by the publish interval.
    async fn schedule_publish(&self) -> Result<(), MessageError> {
        let queue = self.scheduled_queue()?;
        let delay = i32::try_from(self.platform.config.universe_publish_interval_seconds).unwrap_or(900);
        bourse_storage::queue::send_messages(&self.platform.aws, queue, &[QueueMessage::PublishUniverse], Some(delay)).await?;
        Ok(())
    }

    /// The coalesced publish: every pending symbol's stock (a symbol new to the universe only if
    /// `market_data::may_join_universe`: a provider knows it well) in one new universe version,
    /// the version to the cache, the published symbols off the pending set — and the next publish
    /// scheduled if jobs completed meanwhile, then the first page of screen alerts diffed against
    /// the new universe. 1 GetItem + ⌈N/100⌉ BatchGetItem + the republish + 1–2 UpdateItem + 1
    /// Query (screen alerts; with some, + 1 Query of the snapshot + 1 BatchGetItem of their screens).
    async fn publish_pending(&self) -> Result<(), MessageError> {
        let (aws, market) = (&self.platform.aws, self.market_table.as_str());
        let now = self.platform.clock.now_utc().unix_timestamp() as u64;
        let pending = bourse_storage::market::pending_publish(aws, market).await?;
        let mut published = None;
        if !pending.is_empty() {
            let stocks = bourse_storage::market::get_stocks(aws, market, &pending).await?;
            let version =
                bourse_storage::market::republish_with(aws, market, &stocks, bourse_domain::market_data::may_join_universe, now).await?;
            if let Some(cache) = &self.platform.cache {
                cache.set(bourse_cache::UNIVERSE_VERSION_KEY, version.to_string().as_bytes(), VERSION_TTL).await;
            }
            tracing::info!(version, stocks = stocks.len(), "universe published");
            published = Some(version);
        }
        if bourse_storage::market::finish_pending_publish(aws, market, &pending, now).await? {
            self.schedule_publish().await?;
        }
        // The saved screens' matches may have changed: the first page of screen alerts is diffed
        // here, the next ones in messages of their own. A failure is only logged: each alert
        // keeps its last match set, so the next publish reports what this one missed.
        if let Some(version) = published
            && let Err(err) = self.evaluate_screen_alerts(version, None).await
        {
            tracing::warn!(version, error = %err, "screen alerts not evaluated; the next publish diffs them");
        }
        Ok(())
    }

    /// The queue scheduled work goes to (`SCHEDULED_QUEUE_URL`, else the enrichment queue's).
    fn scheduled_queue(&self) -> Result<&str, MissingSetting> {
        self.scheduled_queue_url.as_deref().ok_or(MissingSetting("SCHEDULED_QUEUE_URL"))
    }

    /// The URL of the queue `message` came from (by its source ARN's queue name).
    fn queue_of(&self, message: &SqsMessage) -> Option<&str> {
        let name = message.event_source_arn.as_deref().and_then(|arn| arn.rsplit(':').next());
        let scheduled = self.scheduled_queue_url.as_deref().filter(|url| name.is_some_and(|n| url.rsplit('/').next() == Some(n)));
        scheduled.or(self.queue_url.as_deref())
    }

    /// Hides a deferred message until the rate limit has room (the visibility change is best
    /// effort: without it SQS redelivers after the queue's visibility timeout).
    async fn defer(&self, message: &SqsMessage, wait: Duration) {
        let (Some(queue), Some(receipt)) = (self.queue_of(message), &message.receipt_handle) else { return };
        let seconds = wait.as_secs().saturating_add(1).min(43_200) as i32;
        if let Err(err) = bourse_storage::queue::hide_message(&self.platform.aws, queue, receipt, seconds).await {
            tracing::warn!(error = %err, "could not defer the message; it returns after the visibility timeout");
        }
    }

    /// The daily refresh: a job over the whole published universe and the returns' benchmark
    /// symbol, id `refresh-<date>` so a
    /// repeated trigger finds it, fanned out as one message per symbol (⌈N/10⌉ SendMessageBatch).
    /// The work itself happens in the consumers, in parallel, under the shared rate limits.
    async fn run_scheduled(&self) -> Result<JobId, ConsumerError> {
        let (aws, app, market) = (&self.platform.aws, self.app_table.as_str(), self.market_table.as_str());
        let now = self.platform.clock.now_utc();
        let name = JobKind::ScheduledRefresh.as_str();
        let date = now.date().to_string();
        bourse_storage::diagnostics::record_scheduled_run(aws, app, name, &date, &rfc3339(now), now.unix_timestamp() as u64).await?;
        let id = JobId::scheduled(&date)?;
        let version = bourse_storage::market::universe_version(aws, market).await?;
        let mut symbols: Vec<Symbol> = if version == 0 {
            Vec::new()
        } else {
            bourse_storage::market::load_universe(aws, market, version).await?.into_iter().map(|s| s.symbol).collect()
        };
        // The returns' benchmark (the S&P 500 through SPY) is no constituent: its closes are
        // refreshed with them.
        let benchmark = bourse_domain::performance::benchmark_symbol();
        if !symbols.contains(&benchmark) {
            symbols.push(benchmark);
        }
        let job = JobRecord::new(id.clone(), JobOwner::Schedule, JobKind::ScheduledRefresh, symbols.len(), &rfc3339(now));
        match bourse_storage::jobs::create_job(aws, app, &job, &symbols, now.unix_timestamp() as u64).await {
            Ok(()) => {}
            Err(bourse_storage::StorageError::Conflict(_)) => {
                // A repeated trigger: when the first one sent everything there is nothing to do;
                // otherwise send again (symbols already counted are skipped by the consumers at
                // the cost of one GetItem each).
                if bourse_storage::jobs::get_job(aws, app, &id).await?.is_none_or(|j| j.enqueued || j.completed_at.is_some()) {
                    return Ok(id);
                }
            }
            Err(err) => return Err(err.into()),
        }
        let queue = self.scheduled_queue()?;
        let sent = bourse_storage::jobs::enqueue_symbols(aws, queue, &id, &symbols).await?;
        // The day's portfolio snapshots: one message per shard of the active-portfolio index,
        // held back so the refresh has written the new quotes first. Each shard message fans out
        // again, one message per portfolio: no invocation walks every user.
        let shards: Vec<QueueMessage> = (0..bourse_storage::portfolios::ACTIVE_SHARDS)
            .map(|shard| QueueMessage::SnapshotShard { shard, date: date.clone(), after: None })
            .collect();
        bourse_storage::queue::send_messages(aws, queue, &shards, Some(SNAPSHOT_DELAY_SECONDS)).await?;
        bourse_storage::jobs::mark_enqueued(aws, app, &id, &rfc3339(now)).await?;
        tracing::info!(task = name, date, job = %id, sent, "scheduled refresh fanned out");
        self.refresh_fx().await?;
        Ok(id)
    }

    /// Fetches the recent daily rates of every supported currency against USD
    /// (`Currency::SUPPORTED`: a fixed list, so no one's data is read to learn which) from the first
    /// provider that gives them, and stores them with their date and source (`bourse_storage::fx`).
    /// 12 currencies, one provider request each while the first provider answers. A currency
    /// whose providers all fail keeps its last rates (a day without a rate carries the last one)
    /// and is fetched again by the next refresh: it is logged, never fatal. Returns how many
    /// currencies were stored.
    pub async fn refresh_fx(&self) -> Result<usize, ConsumerError> {
        let (aws, market) = (&self.platform.aws, self.market_table.as_str());
        let context = RequestContext { limiter: self.limiter.clone(), deadline: Instant::now() + FX_REFRESH_BUDGET };
        let mut stored = 0;
        for currency in Currency::SUPPORTED.into_iter().filter(|c| *c != Currency::USD) {
            match bourse_providers::fetch_fx_first(&self.providers, currency, &context).await {
                Ok(series) => {
                    let source = bourse_storage::fx::RateSource { name: &series.source, generated: series.generated };
                    bourse_storage::fx::put_rates(aws, market, currency, &series.points, source).await?;
                    stored += 1;
                }
                Err(errors) => {
                    let reasons: Vec<String> = errors.iter().map(|(provider, e)| format!("{provider}: {e}")).collect();
                    tracing::warn!(currency = %currency, errors = %reasons.join("; "), "no FX rates fetched; the last ones carry over");
                }
            }
        }
        Ok(stored)
    }
}

/// The time the daily FX refresh may spend waiting for providers' rate limits.
const FX_REFRESH_BUDGET: Duration = Duration::from_secs(60);

/// A job with no outcome recorded for this long is stalled: the sweep records its missing symbols
/// as failed and completes it. Far above a provider's rate-limit deferrals (seconds to minutes).
pub const STALL_AFTER: Duration = Duration::from_secs(3600);
/// Open jobs one sweep looks at (oldest first); the next sweep takes the rest.
const SWEEP_BATCH: i32 = 100;

impl Consumer {
    /// Finishes jobs that stopped making progress: an open job created and last updated more
    /// than [`STALL_AFTER`] ago gets every symbol without an outcome recorded as failed (each
    /// counted once, as a consumer would) and is completed. Cost per open job looked at: 1
    /// GetItem; per stalled job 2 Queries (symbols, outcomes) and one transaction per missing
    /// symbol. Returns the stalled jobs finished.
    pub async fn sweep_stalled_jobs(&self, now: OffsetDateTime) -> Result<usize, ConsumerError> {
        let (aws, app) = (&self.platform.aws, self.app_table.as_str());
        let cutoff = now - STALL_AFTER;
        let cutoff_text = rfc3339(cutoff);
        let mut swept = 0;
        for id in bourse_storage::jobs::open_jobs_before(aws, app, &cutoff_text, SWEEP_BATCH).await? {
            let Some(job) = bourse_storage::jobs::get_job(aws, app, &id).await? else { continue };
            if job.completed_at.is_some() || job.updated_at.as_str() > cutoff_text.as_str() {
                continue;
            }
            let have = bourse_storage::jobs::symbols_with_outcome(aws, app, &id).await?;
            let missing: Vec<Symbol> =
                bourse_storage::jobs::job_symbols(aws, app, &id).await?.into_iter().filter(|s| !have.contains(s.as_str())).collect();
            let reason = if job.enqueued {
                "no outcome within an hour: its message was dead-lettered or lost"
            } else {
                "never queued: the job could not be sent"
            };
            for symbol in &missing {
                bourse_storage::jobs::record_outcome(aws, app, &id, symbol, Err(reason), &rfc3339(now), now.unix_timestamp() as u64)
                    .await?;
            }
            if let Err(err) = self.complete_if_done(&id).await {
                tracing::warn!(job = %id, error = %err, "a swept job could not be completed; the next sweep tries again");
                continue;
            }
            tracing::warn!(job = %id, missing = missing.len(), "stalled job swept: missing symbols recorded as failed");
            swept += 1;
        }
        Ok(swept)
    }
}

/// How long the snapshot fan-out waits after the scheduled refresh was enqueued (the refresh of
/// the universe takes about N / rate seconds: ~30 s for 541 symbols at 20 requests/s).
pub const SNAPSHOT_DELAY_SECONDS: i32 = 300;

/// The invocation's deadline (epoch milliseconds from the Runtime API) as an `Instant`.
/// The snapshot writer: values a portfolio's holdings at the latest quotes (the domain's
/// `daily_snapshot`) and stores the day's snapshot. 1 Query (holdings) + ⌈N/100⌉ BatchGetItem
/// (quotes) + 1 PutItem.
pub async fn write_daily_snapshot(
    aws: &AwsClients,
    app_table: &str,
    market_table: &str,
    user: &UserId,
    portfolio: &PortfolioId,
    date: &str,
) -> Result<DailySnapshot, StorageError> {
    let holdings = bourse_storage::portfolios::list_holdings(aws, app_table, user, portfolio).await?;
    let symbols: Vec<Symbol> = holdings.iter().map(|h| h.symbol.clone()).collect();
    let quotes = bourse_storage::market::quotes(aws, market_table, &symbols).await?;
    let snapshot = daily_snapshot(&holdings, |symbol| quotes.get(symbol.as_str()).and_then(|q| q.price));
    bourse_storage::portfolios::put_snapshot(aws, app_table, user, portfolio, date, &snapshot).await?;
    Ok(snapshot)
}

fn deadline_of(deadline_ms: u64) -> Instant {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    if deadline_ms <= now_ms {
        return Instant::now() + DEFAULT_BUDGET;
    }
    Instant::now() + Duration::from_millis(deadline_ms - now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer on a local configuration with no queue at all (nothing here reaches the network).
    fn consumer_without_queues() -> Consumer {
        let vars = [
            ("BOURSE_STAGE", "local"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9"),
            ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9"),
            ("APP_TABLE", "app"),
            ("MARKET_TABLE", "market"),
        ];
        let config = bourse_config::Config::from_vars("enrich-consumer", vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect())
            .expect("a local configuration");
        // Credentials from a stand-in, not the process environment (tests share it).
        let credentials = |name: &str| name.starts_with("AWS_").then(|| "local".to_owned());
        let aws = bourse_storage::clients::build_clients_from(&config.aws, &config.ca_bundle, credentials).expect("clients");
        let platform = Platform {
            config: Arc::new(config),
            aws,
            cache: None,
            clock: Arc::new(bourse_domain::SystemClock),
            random: Arc::new(bourse_domain::random::OsRandom),
        };
        let limiter = Arc::new(RateLimiter::new(None, &[], 1));
        Consumer::with_providers(platform, Vec::new(), limiter).expect("a consumer")
    }

    fn message(body: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some("m1".into());
        message.body = Some(body.into());
        message
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_missing_setting_is_a_configuration_error_and_a_bad_body_is_poison() {
        let consumer = consumer_without_queues();
        let deadline = Instant::now() + DEFAULT_BUDGET;
        let shard = message(r#"{"kind":"snapshot-shard","shard":0,"date":"2026-11-25"}"#);
        match consumer.process(&shard, deadline).await {
            Err(MessageError::Config(MissingSetting(name))) => assert_eq!(name, "SCHEDULED_QUEUE_URL"),
            other => panic!("{other:?}"),
        }
        let poison = message(r#"{"kind":"snapshot-shard","shard":0,"date":"25/11/2026"}"#);
        assert!(matches!(consumer.process(&poison, deadline).await, Err(MessageError::Poison(_))));
        let diagnostic = lambda_runtime::Diagnostic::from(ConsumerError::from(MissingSetting("SCHEDULED_QUEUE_URL")));
        assert_eq!(
            (diagnostic.error_type.as_str(), diagnostic.error_message.as_str()),
            ("ConfigurationError", "SCHEDULED_QUEUE_URL is not set")
        );
    }
}
