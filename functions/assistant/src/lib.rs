//! The assistant: chat threads over the user's own data. Routes and their handler; the answer
//! itself (provider, tool loop, metering, fallback) is `engine.rs`, saved keys' envelopes
//! `vault.rs`. Two binaries serve the same routes: `assistant` behind the HTTP API (answers whole;
//! the stream route's events arrive at once) and `assistant-stream` behind a function URL in
//! `RESPONSE_STREAM` mode (the events arrive as the model writes).
//!
//! **What it costs.** Threads: 1 request each (Query, GetItem, PutItem, UpdateItem; a delete
//! 1 Query + ⌈messages/25⌉ BatchWriteItem + 1 DeleteItem). A question: 1 GetItem (thread) +
//! 1 Query (recent messages) + 1 GetItem (preferences) [+ 1 GetItem (key) + 1 KMS Decrypt with
//! the user's key | + 2 GetItem (spend) with Bourse's], then per model call 1 TransactWriteItems
//! (metering), per tool call the read it is (its own request budget, metered as the user's
//! request), and 1 TransactWriteItems keeping the two messages.

pub mod engine;
pub mod vault;
pub mod wire;
#[cfg(test)]
mod wire_tests;

use bourse_config::AssistantProvider;
use bourse_domain::assistant::cost::{Budgets, PriceTable};
use bourse_domain::assistant::envelope::ProviderKey;
use bourse_domain::assistant::preferences::{Language, ModelId, Preferences, ProviderChoice, RiskProfile, Temperature};
use bourse_domain::ids::{AssistantKeyId, ThreadId};
use bourse_domain::text::rfc3339;
use bourse_domain::{Plan, UserId};
use bourse_http::{ApiError, ApiRequest, Handler, HttpApp, Page, Reply, Route};
use bourse_providers::chat::{Bedrock, OpenAiCompatible};
use bourse_runtime::assistant::{preferences_of, preferences_view};
use bourse_runtime::secrets::InstanceSecret;
use bourse_runtime::{Dependency, Platform, StartupError, random_problem, storage_problem};
use bourse_storage::assistant::{self as store, KeyRecord, PreferencesRecord, ThreadRecord};
use engine::{Answerer, BourseProvider, Engine, ModelClient, Prepared};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use wire::*;

pub const SERVICE: &str = "assistant";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const DEPENDENCIES: &[Dependency] = &[Dependency::AppTable, Dependency::Cache];

/// The longest question.
pub const MAX_QUESTION_CHARS: usize = 4_000;
/// The longest thread title.
pub const MAX_TITLE_CHARS: usize = 100;
/// The most saved keys per user.
pub const MAX_KEYS: u32 = 5;
/// The most messages `GET …/threads/{id}` returns (the latest).
pub const THREAD_MESSAGES: i32 = 100;
pub const DEFAULT_TITLE: &str = "New conversation";

/// How long threads and messages are kept after their last write, per plan.
pub fn retention_seconds(plan: Plan) -> i64 {
    match plan {
        Plan::Free => 90 * 86_400,
        Plan::Pro => 365 * 86_400,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssistantRoute {
    Health,
    Endpoints,
    ThreadCreate,
    ThreadList,
    ThreadGet,
    ThreadRename,
    ThreadDelete,
    Ask,
    AskStream,
    PreferencesGet,
    PreferencesPut,
    KeyList,
    KeyCreate,
    KeyDelete,
}

pub static ROUTES: &[Route<AssistantRoute>] = &[
    Route::get("/v1/assistant/health", AssistantRoute::Health),
    Route::bearer_get("/v1/assistant/endpoints", AssistantRoute::Endpoints),
    Route::bearer_post("/v1/assistant/threads", AssistantRoute::ThreadCreate),
    Route::bearer_get("/v1/assistant/threads", AssistantRoute::ThreadList),
    Route::bearer_get("/v1/assistant/threads/{id}", AssistantRoute::ThreadGet),
    Route::bearer_patch("/v1/assistant/threads/{id}", AssistantRoute::ThreadRename),
    Route::bearer_delete("/v1/assistant/threads/{id}", AssistantRoute::ThreadDelete),
    Route::bearer_post("/v1/assistant/threads/{id}/messages", AssistantRoute::Ask),
    Route::bearer_post("/v1/assistant/threads/{id}/messages/stream", AssistantRoute::AskStream),
    Route::bearer_get("/v1/assistant/preferences", AssistantRoute::PreferencesGet),
    Route::bearer_put("/v1/assistant/preferences", AssistantRoute::PreferencesPut),
    Route::bearer_get("/v1/assistant/keys", AssistantRoute::KeyList),
    Route::bearer_post("/v1/assistant/keys", AssistantRoute::KeyCreate),
    Route::bearer_delete("/v1/assistant/keys/{id}", AssistantRoute::KeyDelete),
];

pub struct Assistant {
    engine: Arc<Engine>,
}

fn thread_id(request: &ApiRequest) -> Result<ThreadId, ApiError> {
    ThreadId::parse(request.param("id")?).map_err(|_| ApiError::NotFound("no such thread".into()))
}

fn title(text: &str, field: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TITLE_CHARS || text.chars().any(char::is_control) {
        return Err(ApiError::field(field, format!("1 to {MAX_TITLE_CHARS} characters, no control characters")));
    }
    Ok(text.to_owned())
}

/// The stored preferences as the domain's (unknown stored values fall back to defaults).
/// One server-sent event: `event: <name>` and its JSON data.
fn sse(name: &str, data: &impl Serialize) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    format!("event: {name}\ndata: {json}\n\n")
}

#[derive(Serialize)]
struct Delta<'a> {
    text: &'a str,
}

impl Assistant {
    pub fn new(platform: Platform) -> Result<Self, StartupError> {
        let settings = platform.config.assistant.clone();
        let table = platform.config.require_app_table()?.to_owned();
        let http = bourse_providers::http_client::HttpClient::new(Some(&platform.config.ca_bundle))
            .map_err(|e| StartupError::Init(format!("HTTP client: {e}")))?;
        let openai = |url: &str| OpenAiCompatible::new(&http, url).map_err(|e| StartupError::Init(format!("{url}: {e}")));
        let bourse = match &settings.provider {
            AssistantProvider::None => BourseProvider::None,
            AssistantProvider::Bedrock => BourseProvider::Bedrock {
                client: Bedrock::new(bourse_storage::clients::build_bedrock_client(&platform.config.aws, &platform.config.ca_bundle)?),
                model: settings.model.clone(),
            },
            AssistantProvider::OpenAi { base_url, api_key } => BourseProvider::OpenAi {
                client: Box::new(openai(base_url.as_str())?),
                key: api_key
                    .clone()
                    .map(|source| InstanceSecret::prefetch(&platform, source, |secret| ProviderKey::parse(secret.expose()))),
                model: settings.model.clone(),
            },
        };
        let own_key_endpoints = settings
            .byo_endpoints
            .iter()
            .map(|(name, url)| Ok((name.clone(), openai(url.as_str())?)))
            .collect::<Result<Vec<_>, StartupError>>()?;
        let prices = PriceTable::parse(&settings.prices).map_err(|e| StartupError::Init(format!("ASSISTANT_PRICES: {e}")))?;
        let budgets =
            Budgets::configured(settings.budget_free_usd.as_deref(), settings.budget_pro_usd.as_deref(), settings.daily_cap_usd.as_deref())
                .map_err(StartupError::Init)?;
        let vault = vault::Vault::new(match &settings.kms_key_id {
            Some(key_id) => {
                Some((bourse_storage::clients::build_kms_client(&platform.config.aws, &platform.config.ca_bundle)?, key_id.clone()))
            }
            None => None,
        });
        // The tools' reads: the portfolio's and the screener's own pipelines, not traffic of theirs.
        let portfolio = portfolio_fn::reads_app(platform.clone())?.without_metrics();
        let screener = screener_fn::reads_app(platform.clone())?.without_metrics();
        Ok(Assistant {
            engine: Arc::new(Engine {
                platform,
                table,
                portfolio,
                screener,
                bourse,
                own_key_endpoints,
                prices,
                budgets,
                call_timeout: settings.call_timeout,
                vault,
            }),
        })
    }

    fn platform(&self) -> &Platform {
        &self.engine.platform
    }

    fn table(&self) -> &str {
        &self.engine.table
    }

    fn now(&self) -> String {
        rfc3339(self.platform().clock.now_utc())
    }

    async fn owned_thread(&self, user: &UserId, id: &ThreadId) -> Result<ThreadRecord, ApiError> {
        store::get_thread(&self.platform().aws, self.table(), user, id)
            .await
            .map_err(storage_problem)?
            .ok_or_else(|| ApiError::NotFound("no such thread".into()))
    }

    async fn create_thread(&self, request: &ApiRequest, user: &UserId, plan: Plan) -> Result<Reply, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct NewThread {
            title: Option<String>,
        }
        let body: NewThread = if request.body().is_empty() { NewThread { title: None } } else { request.json()? };
        let title = match body.title.as_deref() {
            Some(text) => title(text, "body.title")?,
            None => DEFAULT_TITLE.to_owned(),
        };
        let now = self.platform().clock.now_utc();
        let random = bourse_domain::random::bytes::<10>(&*self.platform().random).map_err(random_problem)?;
        let thread = ThreadRecord {
            id: ThreadId::new((now.unix_timestamp_nanos() / 1_000_000) as u64, random),
            title,
            created_at: rfc3339(now),
            updated_at: rfc3339(now),
            messages: 0,
        };
        let ttl = now.unix_timestamp() + retention_seconds(plan);
        if !store::create_thread(&self.platform().aws, self.table(), user, &thread, ttl).await.map_err(storage_problem)? {
            return Err(ApiError::Conflict("a thread with this id exists; retry".into()));
        }
        Reply::created(&ThreadView::from(&thread), &format!("/v1/assistant/threads/{}", thread.id))
    }

    async fn list_threads(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["limit", "cursor"])?;
        let limit = request.limit(20, 100)?;
        let after = match request.query("cursor")? {
            Some(raw) => Some(
                bourse_http::cursor::decode(raw)
                    .and_then(|id| ThreadId::parse(&id).ok())
                    .ok_or_else(|| ApiError::field("query.cursor", "not a cursor of this list"))?,
            ),
            None => None,
        };
        let (threads, more) =
            store::list_threads(&self.platform().aws, self.table(), user, after.as_ref(), limit as i32).await.map_err(storage_problem)?;
        let next = if more { threads.last().map(|t| bourse_http::cursor::encode(t.id.as_str())) } else { None };
        Reply::ok(&Page::new(threads.iter().map(ThreadView::from).collect(), next))
    }

    async fn get_thread(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let thread = self.owned_thread(user, &thread_id(request)?).await?;
        let messages =
            store::recent_messages(&self.platform().aws, self.table(), user, &thread.id, THREAD_MESSAGES).await.map_err(storage_problem)?;
        Reply::ok(&ThreadDetail { thread: ThreadView::from(&thread), messages: messages.iter().map(MessageView::from).collect() })
    }

    async fn rename_thread(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Rename {
            title: String,
        }
        let id = thread_id(request)?;
        let body: Rename = request.json()?;
        let title = title(&body.title, "body.title")?;
        if !store::rename_thread(&self.platform().aws, self.table(), user, &id, &title, &self.now()).await.map_err(storage_problem)? {
            return Err(ApiError::NotFound("no such thread".into()));
        }
        Reply::ok(&ThreadView::from(&self.owned_thread(user, &id).await?))
    }

    async fn delete_thread(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = thread_id(request)?;
        if !store::delete_thread(&self.platform().aws, self.table(), user, &id).await.map_err(storage_problem)? {
            return Err(ApiError::NotFound("no such thread".into()));
        }
        Ok(Reply::no_content())
    }

    /// Checks a question and decides who answers it; nothing is streamed before this succeeds,
    /// so every refusal is an ordinary problem answer.
    async fn prepare(&self, request: &ApiRequest) -> Result<Prepared, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Ask {
            content: String,
            #[serde(default)]
            allow_fallback: bool,
        }
        let principal = request.principal()?;
        let (user, plan) = (principal.user_id.clone(), Plan::parse(&principal.plan));
        let id = thread_id(request)?;
        let body: Ask = request.json()?;
        let question = body.content.trim().to_owned();
        if question.is_empty() || question.chars().count() > MAX_QUESTION_CHARS {
            return Err(ApiError::field("body.content", format!("1 to {MAX_QUESTION_CHARS} characters")));
        }
        let authorization = request.header("authorization").unwrap_or_default().to_owned();
        let thread = self.owned_thread(&user, &id).await?;
        let aws = &self.platform().aws;
        let (history, stored_preferences) = tokio::join!(
            store::recent_messages(aws, self.table(), &user, &id, engine::HISTORY_MESSAGES),
            store::preferences(aws, self.table(), &user),
        );
        let (history, preferences) = (history.map_err(storage_problem)?, preferences_of(stored_preferences.map_err(storage_problem)?));
        let answerer = match &preferences.provider {
            ProviderChoice::OwnKey(key_id) => self.own_key_answerer(&user, key_id, &preferences).await?,
            ProviderChoice::Bourse => self.engine.bourse_answerer(&user, plan, body.allow_fallback).await?,
        };
        Ok(Prepared { user, plan, authorization, request_id: request.request_id.clone(), thread, question, history, preferences, answerer })
    }

    /// The user's own key, opened for this one answer (1 KMS Decrypt). A key that is gone or does
    /// not open gives the fallback, said as such.
    async fn own_key_answerer(&self, user: &UserId, key_id: &AssistantKeyId, preferences: &Preferences) -> Result<Answerer, ApiError> {
        use bourse_domain::assistant::fallback::FallbackReason;
        let Some(record) = store::get_key(&self.platform().aws, self.table(), user, key_id).await.map_err(storage_problem)? else {
            return Ok(Answerer::Fallback(FallbackReason::ProviderFailed));
        };
        let Some((_, client)) = self.engine.own_key_endpoints.iter().find(|(name, _)| *name == record.endpoint) else {
            tracing::warn!(endpoint = %record.endpoint, "a saved key names an endpoint this deployment no longer offers");
            return Ok(Answerer::Fallback(FallbackReason::ProviderFailed));
        };
        let key = match self.engine.vault.open(user, &record).await {
            Ok(key) => key,
            Err(err) => {
                tracing::error!(error = %err, "a saved key could not be opened");
                return Ok(Answerer::Fallback(FallbackReason::ProviderFailed));
            }
        };
        let model = preferences.model.as_ref().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "gpt-4o-mini".to_owned());
        Ok(Answerer::Model { client: ModelClient::OpenAi(Box::new(client.clone()), key), provider: record.endpoint, model, billed: false })
    }

    async fn ask(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let prepared = self.prepare(request).await?;
        Reply::ok(&self.engine.answer(prepared, None).await?)
    }

    /// The answer as server-sent events: `delta` (`{"text"}`) as the model writes, then `done`
    /// (the same answer as the non-streaming route) or `error` (a problem document).
    async fn ask_stream(&self, request: &ApiRequest) -> Result<Reply, ApiError> {
        let prepared = self.prepare(request).await?;
        let (path, request_id) = (request.path.clone(), request.request_id.clone());
        let (events, stream) = tokio::sync::mpsc::channel::<String>(64);
        let engine = Arc::clone(&self.engine);
        tokio::spawn(async move {
            let (deltas, mut written) = tokio::sync::mpsc::unbounded_channel::<String>();
            let answer = engine.answer(prepared, Some(deltas));
            tokio::pin!(answer);
            let result = loop {
                tokio::select! {
                    Some(text) = written.recv() => {
                        let _ = events.send(sse("delta", &Delta { text: &text })).await;
                    }
                    result = &mut answer => break result,
                }
            };
            while let Ok(text) = written.try_recv() {
                let _ = events.send(sse("delta", &Delta { text: &text })).await;
            }
            let last = match result {
                Ok(answer) => sse("done", &answer),
                Err(err) => sse("error", &err.to_problem(&request_id, &path)),
            };
            let _ = events.send(last).await;
        });
        Ok(Reply::event_stream(stream))
    }

    async fn get_preferences(&self, user: &UserId) -> Result<Reply, ApiError> {
        let stored = store::preferences(&self.platform().aws, self.table(), user).await.map_err(storage_problem)?;
        Reply::ok(&preferences_view(&preferences_of(stored)))
    }

    async fn put_preferences(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Put {
            provider: String,
            key_id: Option<String>,
            model: Option<String>,
            temperature: Option<f64>,
            language: Option<String>,
            risk_profile: Option<String>,
        }
        let body: Put = request.json()?;
        let provider = match (body.provider.as_str(), body.key_id.as_deref()) {
            ("bourse", None) => ProviderChoice::Bourse,
            ("bourse", Some(_)) => return Err(ApiError::field("body.key_id", "only with provider own_key")),
            ("own_key", Some(id)) => {
                let id = AssistantKeyId::parse(id).map_err(|_| ApiError::field("body.key_id", "not a key id"))?;
                if store::get_key(&self.platform().aws, self.table(), user, &id).await.map_err(storage_problem)?.is_none() {
                    return Err(ApiError::unprocessable("body.key_id", "no saved key has this id"));
                }
                ProviderChoice::OwnKey(id)
            }
            ("own_key", None) => return Err(ApiError::field("body.key_id", "required with provider own_key")),
            _ => return Err(ApiError::field("body.provider", "bourse or own_key")),
        };
        let preferences = Preferences {
            provider,
            model: match body.model.as_deref() {
                None => None,
                Some(text) => {
                    Some(ModelId::parse(text).ok_or_else(|| ApiError::field("body.model", "1 to 128 of letters, digits and . _ : / -"))?)
                }
            },
            temperature: match body.temperature {
                None => Temperature::default(),
                Some(value) => Temperature::from_f64(value).ok_or_else(|| ApiError::field("body.temperature", "a number from 0 to 1"))?,
            },
            language: match body.language.as_deref() {
                None => Language::default(),
                Some(code) => Language::parse(code).ok_or_else(|| {
                    let codes: Vec<&str> = bourse_domain::assistant::preferences::LANGUAGES.iter().map(|(c, _)| *c).collect();
                    ApiError::field("body.language", format!("one of {}", codes.join(", ")))
                })?,
            },
            risk_profile: match body.risk_profile.as_deref() {
                None => RiskProfile::default(),
                Some(text) => RiskProfile::parse(text)
                    .ok_or_else(|| ApiError::field("body.risk_profile", "conservative, balanced, growth or aggressive"))?,
            },
        };
        let record = PreferencesRecord {
            provider: Some(match &preferences.provider {
                ProviderChoice::Bourse => "bourse".to_owned(),
                ProviderChoice::OwnKey(id) => format!("key:{id}"),
            }),
            model: preferences.model.as_ref().map(|m| m.as_str().to_owned()),
            temperature: Some(preferences.temperature.hundredths()),
            language: Some(preferences.language.code().to_owned()),
            risk_profile: Some(preferences.risk_profile.as_str().to_owned()),
        };
        store::put_preferences(&self.platform().aws, self.table(), user, &record).await.map_err(storage_problem)?;
        Reply::ok(&preferences_view(&preferences))
    }

    async fn list_keys(&self, user: &UserId) -> Result<Reply, ApiError> {
        let keys = store::list_keys(&self.platform().aws, self.table(), user).await.map_err(storage_problem)?;
        Reply::ok(&Page::all(keys.iter().map(KeyView::from).collect()))
    }

    async fn create_key(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct NewKey {
            endpoint: String,
            label: Option<String>,
            api_key: String,
        }
        let body: NewKey = request.json()?;
        if !self.engine.own_key_endpoints.iter().any(|(name, _)| *name == body.endpoint) {
            let names: Vec<&str> = self.engine.own_key_endpoints.iter().map(|(n, _)| n.as_str()).collect();
            let offered =
                if names.is_empty() { "none is offered by this deployment".to_owned() } else { format!("one of {}", names.join(", ")) };
            return Err(ApiError::field("body.endpoint", offered));
        }
        let label = match body.label.as_deref() {
            Some(text) => title(text, "body.label")?,
            None => body.endpoint.clone(),
        };
        let key = ProviderKey::parse(&body.api_key).map_err(|e| ApiError::field("body.api_key", e.to_string()))?;
        if !self.engine.vault.configured() {
            return Err(ApiError::Unavailable("saved keys need a KMS key, which this deployment has not configured".into()));
        }
        let aws = &self.platform().aws;
        let random = &*self.platform().random;
        let id = AssistantKeyId::from_random(bourse_domain::random::bytes::<16>(random).map_err(random_problem)?);
        let nonce = bourse_domain::random::bytes::<12>(random).map_err(random_problem)?;
        let (data_key, sealed) = self.engine.vault.seal(user, &id, &key, nonce).await.map_err(|err| {
            tracing::error!(error = %err, "a key could not be sealed");
            ApiError::Unavailable("the key could not be stored safely; retry shortly".into())
        })?;
        let record = KeyRecord { id, endpoint: body.endpoint, label, last4: key.last4(), data_key, sealed, created_at: self.now() };
        match store::put_key(aws, self.table(), user, &record, MAX_KEYS).await.map_err(storage_problem)? {
            store::KeySaved::Saved => {}
            store::KeySaved::Full => {
                return Err(ApiError::unprocessable("body.api_key", format!("at most {MAX_KEYS} keys; delete one first")));
            }
            store::KeySaved::IdTaken => return Err(ApiError::Conflict("a key with this id exists; retry".into())),
        }
        Reply::created(&KeyView::from(&record), &format!("/v1/assistant/keys/{}", record.id))
    }

    async fn delete_key(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = AssistantKeyId::parse(request.param("id")?).map_err(|_| ApiError::NotFound("no such key".into()))?;
        if !store::delete_key(&self.platform().aws, self.table(), user, &id).await.map_err(storage_problem)? {
            return Err(ApiError::NotFound("no such key".into()));
        }
        Ok(Reply::no_content())
    }

    fn endpoints(&self) -> Result<Reply, ApiError> {
        Reply::ok(&EndpointsView {
            bourse_provider: self.engine.bourse.label().to_owned(),
            bourse_model: self.engine.bourse.model().to_owned(),
            own_key_endpoints: self.engine.own_key_endpoints.iter().map(|(name, _)| name.clone()).collect(),
        })
    }
}

impl Handler<AssistantRoute> for Assistant {
    async fn handle(&self, route: AssistantRoute, request: ApiRequest) -> Result<Reply, ApiError> {
        if route == AssistantRoute::Health {
            return self.platform().health(VERSION, DEPENDENCIES).await;
        }
        let principal = request.principal()?.clone();
        let user = &principal.user_id;
        match route {
            AssistantRoute::Health => unreachable!("answered above"),
            AssistantRoute::Endpoints => self.endpoints(),
            AssistantRoute::ThreadCreate => self.create_thread(&request, user, Plan::parse(&principal.plan)).await,
            AssistantRoute::ThreadList => self.list_threads(&request, user).await,
            AssistantRoute::ThreadGet => self.get_thread(&request, user).await,
            AssistantRoute::ThreadRename => self.rename_thread(&request, user).await,
            AssistantRoute::ThreadDelete => self.delete_thread(&request, user).await,
            AssistantRoute::Ask => Box::pin(self.ask(&request)).await,
            AssistantRoute::AskStream => Box::pin(self.ask_stream(&request)).await,
            AssistantRoute::PreferencesGet => self.get_preferences(user).await,
            AssistantRoute::PreferencesPut => self.put_preferences(&request, user).await,
            AssistantRoute::KeyList => self.list_keys(user).await,
            AssistantRoute::KeyCreate => self.create_key(&request, user).await,
            AssistantRoute::KeyDelete => self.delete_key(&request, user).await,
        }
    }
}

/// The function, ready to serve. Needs `APP_TABLE`, `MARKET_TABLE` (the tools' reads) and
/// `JWT_PUBLIC_KEYS`; the provider, keys and budgets from the `ASSISTANT_*` settings.
pub fn app(platform: Platform) -> Result<HttpApp<AssistantRoute, Assistant>, StartupError> {
    let access = platform.access_control()?;
    let settings = platform.http_settings(VERSION);
    Ok(HttpApp::new(settings, ROUTES, Assistant::new(platform)?).with_access(access))
}
