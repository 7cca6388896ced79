//! One answer: the provider chosen (the user's key, Bourse's provider, or the fallback), the tool
//! loop over the caller's own data, the metering of every model call, and the two messages kept.
//!
//! The loop: the model is sent the system prompt, the thread's recent messages and the question,
//! with the tools; each tool call it makes is parsed like API input ([`Tool::parse`]) and run as
//! the API read it is, in-process, with the caller's own bearer token — so a tool sees exactly
//! what the caller may see, and another user's portfolio id is "not found" there as everywhere.
//! Results go back fenced as data; after [`MAX_TOOL_ROUNDS`] rounds the model is asked once more
//! without tools, so an answer always ends. A provider that fails or times out, no provider, or a
//! spent budget (when the request allows it) gives the rule-based fallback, labelled.

use crate::vault::Vault;
use bourse_domain::assistant::cost::{Budgets, PriceTable, month_key};
use bourse_domain::assistant::envelope::ProviderKey;
use bourse_domain::assistant::fallback::{FallbackReason, PortfolioBrief, fallback_answer};
use bourse_domain::assistant::preferences::Preferences;
use bourse_domain::assistant::prompt::{MAX_CALLS_PER_ROUND, MAX_TOOL_ROUNDS, fence_tool_error, fence_tool_result, system_prompt};
use bourse_domain::assistant::tools::Tool;
use bourse_domain::assistant::{ChatReply, ChatRequest, ChatTurn, TokenUsage};
use bourse_domain::text::rfc3339;
use bourse_domain::{Plan, UserId};
use bourse_http::event::{InProcessRequest, api_gateway_event};
use bourse_http::{ApiError, HttpApp};
use bourse_providers::chat::{Bedrock, ChatError, DeltaSink, OpenAiCompatible};
use bourse_runtime::secrets::InstanceSecret;
use bourse_runtime::{Platform, storage_problem};
use bourse_storage::assistant::{self as store, MessageRecord, ModelCall, ThreadRecord, ToolCallRecord};
use portfolio_fn::{PortfolioReads, PortfolioRoute};
use rust_decimal::Decimal;
use screener_fn::{ScreenerReads, ScreenerRoute};
use std::time::Duration;

/// The thread's latest messages sent with each question.
pub const HISTORY_MESSAGES: i32 = 20;
/// The most output tokens one model call may write.
pub const MAX_OUTPUT_TOKENS: u32 = 1024;
/// The most portfolios the fallback describes.
pub const FALLBACK_PORTFOLIOS: usize = 5;
/// The longest tool arguments kept with an answer.
const MAX_KEPT_ARGUMENTS: usize = 500;

/// Bourse's own provider.
pub enum BourseProvider {
    None,
    Bedrock { client: Bedrock, model: String },
    OpenAi { client: Box<OpenAiCompatible>, key: Option<InstanceSecret<ProviderKey>>, model: String },
}

impl BourseProvider {
    pub fn label(&self) -> &'static str {
        match self {
            BourseProvider::None => "none",
            BourseProvider::Bedrock { .. } => "bedrock",
            BourseProvider::OpenAi { .. } => "openai",
        }
    }

    pub fn model(&self) -> &str {
        match self {
            BourseProvider::None => "",
            BourseProvider::Bedrock { model, .. } | BourseProvider::OpenAi { model, .. } => model,
        }
    }
}

/// Everything an answer needs, built once per instance.
pub struct Engine {
    pub platform: Platform,
    pub table: String,
    pub portfolio: HttpApp<PortfolioRoute, PortfolioReads>,
    pub screener: HttpApp<ScreenerRoute, ScreenerReads>,
    pub bourse: BourseProvider,
    /// The endpoints users may bring a key for: name → client.
    pub own_key_endpoints: Vec<(String, OpenAiCompatible)>,
    pub prices: PriceTable,
    pub budgets: Budgets,
    pub call_timeout: Duration,
    pub vault: Vault,
}

/// Which model answers this question, decided before anything streams.
pub enum Answerer {
    Fallback(FallbackReason),
    Model { client: ModelClient, provider: String, model: String, billed: bool },
}

pub enum ModelClient {
    Bedrock(Bedrock),
    OpenAi(Box<OpenAiCompatible>, ProviderKey),
}

impl ModelClient {
    async fn complete(&self, request: &ChatRequest, deltas: Option<&DeltaSink>, timeout: Duration) -> Result<ChatReply, ChatError> {
        match self {
            ModelClient::Bedrock(client) => client.complete(request, deltas, timeout).await,
            ModelClient::OpenAi(client, key) => client.complete(key.expose(), request, deltas, timeout).await,
        }
    }
}

/// A question ready to answer: checked, its thread read, its answerer chosen.
pub struct Prepared {
    pub user: UserId,
    pub plan: Plan,
    pub authorization: String,
    pub request_id: String,
    pub thread: ThreadRecord,
    pub question: String,
    pub history: Vec<MessageRecord>,
    pub preferences: Preferences,
    pub answerer: Answerer,
}

/// What an answer came to, before it is kept.
pub struct Outcome {
    pub text: String,
    pub fallback: Option<FallbackReason>,
    pub tool_calls: Vec<ToolCallRecord>,
    pub usage: TokenUsage,
    pub cost: Decimal,
    pub calls: u32,
    pub provider: Option<String>,
    pub model: Option<String>,
}

impl Engine {
    /// The answerer for Bourse's provider: its client, or the fallback when none is configured or
    /// (with `allow_fallback`) the budget is spent; a spent budget otherwise is 429 until it resets.
    pub async fn bourse_answerer(&self, user: &UserId, plan: Plan, allow_fallback: bool) -> Result<Answerer, ApiError> {
        let client = match &self.bourse {
            BourseProvider::None => return Ok(Answerer::Fallback(FallbackReason::NoProvider)),
            BourseProvider::Bedrock { client, .. } => ModelClient::Bedrock(client.clone()),
            BourseProvider::OpenAi { client, key, .. } => {
                let key = match key {
                    Some(secret) => match secret.get().await {
                        Ok(key) => (*key).clone(),
                        Err(_) => return Ok(Answerer::Fallback(FallbackReason::ProviderFailed)),
                    },
                    None => ProviderKey::parse("no-key-configured").map_err(|e| ApiError::Internal(e.to_string()))?,
                };
                ModelClient::OpenAi(client.clone(), key)
            }
        };
        let now = self.platform.clock.now_utc();
        let (month, today) = (month_key(now.date()), now.date().to_string());
        let (spent_month, spent_today) =
            store::spend(&self.platform.aws, &self.table, user, &month, &today).await.map_err(storage_problem)?;
        if let Err(spent) = self.budgets.check(plan, spent_month, spent_today, now) {
            if allow_fallback {
                return Ok(Answerer::Fallback(FallbackReason::BudgetSpent));
            }
            let resets = spent.resets_at.midnight().assume_utc();
            let wait = (resets - now).whole_seconds().max(1) as u64;
            let detail = match spent.scope {
                bourse_domain::assistant::cost::BudgetScope::UserMonthly => {
                    format!("this month's AI budget of {} USD is spent; it resets at {}", self.budgets.monthly(plan), rfc3339(resets))
                }
                bourse_domain::assistant::cost::BudgetScope::OperatorDaily => {
                    format!("the assistant's daily AI budget is spent; it resets at {}", rfc3339(resets))
                }
            };
            return Err(ApiError::TooManyRequests {
                detail: format!("{detail}. Send \"allow_fallback\": true for a rule-based answer meanwhile."),
                retry_after: Duration::from_secs(wait),
            });
        }
        Ok(Answerer::Model { client, provider: self.bourse.label().to_owned(), model: self.bourse.model().to_owned(), billed: true })
    }

    /// Answers `prepared` and keeps the question and the answer in its thread. With `deltas`,
    /// the answer's text is also sent there as it is written.
    pub async fn answer(&self, prepared: Prepared, deltas: Option<DeltaSink>) -> Result<crate::wire::AnswerView, ApiError> {
        let outcome = match &prepared.answerer {
            Answerer::Fallback(reason) => self.fallback(&prepared, *reason).await,
            Answerer::Model { client, provider, model, billed } => {
                self.with_model(&prepared, client, provider, model, *billed, deltas.as_ref()).await?
            }
        };
        if outcome.fallback.is_some()
            && let Some(sink) = &deltas
        {
            let _ = sink.send(outcome.text.clone());
        }
        self.keep(prepared, outcome).await
    }

    async fn with_model(
        &self,
        prepared: &Prepared,
        client: &ModelClient,
        provider: &str,
        model: &str,
        billed: bool,
        deltas: Option<&DeltaSink>,
    ) -> Result<Outcome, ApiError> {
        let today = self.platform.clock.now_utc().date().to_string();
        let mut turns: Vec<ChatTurn> = prepared
            .history
            .iter()
            .filter(|m| !m.content.is_empty())
            .map(|m| if m.role == "user" { ChatTurn::user(m.content.clone()) } else { ChatTurn::assistant(m.content.clone(), vec![]) })
            .collect();
        turns.push(ChatTurn::user(prepared.question.clone()));
        let mut outcome = Outcome {
            text: String::new(),
            fallback: None,
            tool_calls: vec![],
            usage: TokenUsage::default(),
            cost: Decimal::ZERO,
            calls: 0,
            provider: Some(provider.to_owned()),
            model: Some(model.to_owned()),
        };
        for round in 0..=MAX_TOOL_ROUNDS {
            let request = ChatRequest {
                model: model.to_owned(),
                system: system_prompt(&prepared.preferences, &today),
                turns: turns.clone(),
                // The last round has no tools: the model must answer with what it has.
                tools: if round < MAX_TOOL_ROUNDS { Tool::specs() } else { vec![] },
                temperature: prepared.preferences.temperature.as_f32(),
                max_output_tokens: MAX_OUTPUT_TOKENS,
            };
            let reply = match client.complete(&request, deltas, self.call_timeout).await {
                Ok(reply) => reply,
                Err(err) => {
                    tracing::warn!(error = %err, kind = err.kind(), provider, model, round, "the model did not answer; the fallback answers");
                    let reason = if err == ChatError::Timeout { FallbackReason::Timeout } else { FallbackReason::ProviderFailed };
                    let mut fallback = self.fallback(prepared, reason).await;
                    fallback.usage = outcome.usage;
                    fallback.cost = outcome.cost;
                    fallback.calls = outcome.calls;
                    fallback.tool_calls = outcome.tool_calls;
                    return Ok(fallback);
                }
            };
            outcome.calls += 1;
            outcome.usage = outcome.usage.plus(reply.usage);
            let cost = self.prices.cost(provider, model, reply.usage);
            outcome.cost += cost;
            self.meter(&prepared.user, provider, model, reply.usage, cost, billed).await;
            outcome.text.push_str(&reply.text);
            if reply.tool_calls.is_empty() || round == MAX_TOOL_ROUNDS {
                break;
            }
            turns.push(ChatTurn::assistant(reply.text.clone(), reply.tool_calls.clone()));
            for (i, call) in reply.tool_calls.iter().enumerate() {
                let (result, outcome_label) = if i >= MAX_CALLS_PER_ROUND {
                    (fence_tool_error(&call.name, "too many tool calls in one round; ask again with fewer"), "refused")
                } else {
                    match Tool::parse(call) {
                        Err(refusal) => (fence_tool_error(&call.name, &refusal.to_string()), "refused"),
                        Ok(tool) => match self.run_tool(&prepared.authorization, &prepared.request_id, &tool).await {
                            Ok(json) => (fence_tool_result(tool.name(), &json), "ok"),
                            Err(reason) => (fence_tool_error(tool.name(), &reason), "failed"),
                        },
                    }
                };
                outcome.tool_calls.push(ToolCallRecord {
                    name: call.name.chars().take(64).collect(),
                    arguments: call.arguments.to_string().chars().take(MAX_KEPT_ARGUMENTS).collect(),
                    outcome: outcome_label.to_owned(),
                });
                turns.push(ChatTurn::tool(call.id.clone(), result));
            }
        }
        Ok(outcome)
    }

    /// Meters one model call. A failed write is logged, not answered: the user has the answer,
    /// and the next budget check reads what was kept.
    async fn meter(&self, user: &UserId, provider: &str, model: &str, usage: TokenUsage, cost: Decimal, billed: bool) {
        let now = self.platform.clock.now_utc();
        let date = now.date();
        let call = ModelCall {
            date: &date.to_string(),
            month: &month_key(date),
            day_start: date.midnight().assume_utc().unix_timestamp(),
            provider,
            model,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cost,
            billed,
        };
        if let Err(err) = store::record_model_call(&self.platform.aws, &self.table, user, &call).await {
            tracing::error!(error = %err, provider, model, "a model call could not be metered");
        }
    }

    /// Runs one tool as the API read it is, with the caller's token: the JSON answer, or why not.
    pub async fn run_tool(&self, authorization: &str, request_id: &str, tool: &Tool) -> Result<String, String> {
        let read = tool.read();
        let query: Vec<(String, String)> = read.query.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        let event = api_gateway_event(InProcessRequest {
            request_id: &format!("{request_id}-tool"),
            method: read.method,
            path: &read.path,
            query: &query,
            headers: &[("authorization", authorization)],
            body: read.body.as_deref(),
            user_agent: "bourse-assistant",
        });
        let request = lambda_http::request::from_str(&event).map_err(|e| format!("the tool's request could not be built: {e}"))?;
        let response = if read.path.starts_with("/v1/stocks") || read.path.starts_with("/v1/screener") {
            self.screener.serve(request).await
        } else {
            self.portfolio.serve(request).await
        };
        let status = response.status();
        let body = match response.body() {
            lambda_http::Body::Text(text) => text.clone(),
            lambda_http::Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        if status.is_success() {
            return Ok(body);
        }
        let detail = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|problem| problem.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
            .unwrap_or_default();
        Err(format!("HTTP {}: {detail}", status.as_u16()))
    }

    /// The rule-based answer: the user's portfolios' summaries and analyses (the same reads the
    /// tools make, with the caller's token).
    async fn fallback(&self, prepared: &Prepared, reason: FallbackReason) -> Outcome {
        let mut briefs = Vec::new();
        if let Ok(list) = self.run_tool(&prepared.authorization, &prepared.request_id, &Tool::ListPortfolios).await {
            let list: serde_json::Value = serde_json::from_str(&list).unwrap_or_default();
            let items = list["items"].as_array().cloned().unwrap_or_default();
            for item in items.iter().take(FALLBACK_PORTFOLIOS) {
                let Some(id) = item["id"].as_str().and_then(|id| bourse_domain::PortfolioId::parse(id).ok()) else { continue };
                let (summary_tool, analysis_tool) =
                    (Tool::PortfolioSummary { portfolio_id: id.clone() }, Tool::Analysis { portfolio_id: id });
                let (summary, analysis) = tokio::join!(
                    self.run_tool(&prepared.authorization, &prepared.request_id, &summary_tool),
                    self.run_tool(&prepared.authorization, &prepared.request_id, &analysis_tool),
                );
                let json = |r: Result<String, String>| -> serde_json::Value {
                    r.ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
                };
                let (summary, analysis) = (json(summary), json(analysis));
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("n/a").to_owned();
                briefs.push(PortfolioBrief {
                    name: text(&item["name"]),
                    currency: text(&item["currency"]),
                    value: text(&summary["value"]),
                    unrealised_pnl: text(&summary["unrealised_pnl"]),
                    day_change: text(&summary["day_change"]),
                    largest_position: analysis["largest_position"]["name"]
                        .as_str()
                        .map(|name| (name.to_owned(), text(&analysis["largest_position"]["weight"]))),
                    diversification_score: text(&analysis["diversification_score"]),
                    findings: analysis["findings"]
                        .as_array()
                        .map(|f| f.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default(),
                });
            }
        }
        Outcome {
            text: fallback_answer(reason, &briefs),
            fallback: Some(reason),
            tool_calls: vec![],
            usage: TokenUsage::default(),
            cost: Decimal::ZERO,
            calls: 0,
            provider: None,
            model: None,
        }
    }

    /// Keeps the question and the answer as the thread's next two messages; a concurrent append
    /// to the same thread renumbers and tries again (3 attempts).
    async fn keep(&self, prepared: Prepared, outcome: Outcome) -> Result<crate::wire::AnswerView, ApiError> {
        let now = self.platform.clock.now_utc();
        let created_at = rfc3339(now);
        let ttl = now.unix_timestamp() + crate::retention_seconds(prepared.plan);
        let mut expected = prepared.thread.messages;
        for _ in 0..3 {
            let question = MessageRecord::question(expected, prepared.question.clone(), created_at.clone());
            let answer = MessageRecord {
                seq: expected + 1,
                role: "assistant".into(),
                content: outcome.text.clone(),
                tool_calls: outcome.tool_calls.clone(),
                mode: Some(if outcome.fallback.is_some() { "fallback" } else { "model" }.into()),
                provider: outcome.provider.clone(),
                model: outcome.model.clone(),
                input_tokens: outcome.usage.input_tokens,
                output_tokens: outcome.usage.output_tokens,
                cost: Some(outcome.cost),
                created_at: created_at.clone(),
            };
            let messages = [question, answer];
            let kept =
                store::append_messages(&self.platform.aws, &self.table, &prepared.user, &prepared.thread.id, expected, &messages, ttl)
                    .await
                    .map_err(storage_problem)?;
            if kept {
                let [question, answer] = messages;
                return Ok(crate::wire::AnswerView {
                    thread_id: prepared.thread.id.to_string(),
                    mode: answer.mode.clone().unwrap_or_default(),
                    fallback_reason: outcome.fallback.map(|r| r.as_str().to_owned()),
                    question: (&question).into(),
                    answer: (&answer).into(),
                    model_calls: outcome.calls,
                });
            }
            match store::get_thread(&self.platform.aws, &self.table, &prepared.user, &prepared.thread.id).await.map_err(storage_problem)? {
                Some(thread) => expected = thread.messages,
                None => return Err(ApiError::NotFound("the thread was deleted while the answer was written".into())),
            }
        }
        Err(ApiError::Conflict("the thread changed while the answer was written; ask again".into()))
    }
}
