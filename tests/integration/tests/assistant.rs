//! The assistant end to end against the stand-ins, with a local OpenAI-compatible stub as the
//! model (scripted replies and tool calls): the tool loop runs the caller's own reads and refuses
//! another user's portfolio; the stream carries the same text as the non-streaming route; cost is
//! the stub's tokens × the price table; a spent budget is 429, then the fallback; a timeout gives
//! the fallback; an own key is sealed under KMS, decrypted only for a call, and never appears in
//! a response, a stored item or a log line.

mod auth_support;
mod portfolio_support;

use assistant_fn::{Assistant, AssistantRoute};
use auth_support::{AuthApp, event, random_ip, signed_in};
use bourse_config::{AssistantProvider, Config, EndpointUrl};
use bourse_domain::assistant::TokenUsage;
use bourse_domain::assistant::cost::PriceTable;
use bourse_http::{HttpApp, StreamingBody};
use bourse_integration_tests::{json_body, platform, user_of};
use bourse_providers::chat::stub::{ChatStub, StubReply};
use bourse_runtime::Platform;
use portfolio_support::auth;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const PRICES: &str = r#"{"openai/*": {"input_per_million": "0.15", "output_per_million": "0.6"}, "stub/*": {"input_per_million": "1.5", "output_per_million": "6"}, "bedrock/*": {"input_per_million": "0.035", "output_per_million": "0.14"}}"#;

type App = HttpApp<AssistantRoute, Assistant>;

fn table() -> String {
    std::env::var("APP_TABLE").expect("APP_TABLE")
}

/// Every log line of this test process, for the key-leak check.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || LogWriter(Arc::clone(&sink)))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An assistant whose own provider is the stub (`openai`), with these settings changed.
fn assistant(stub: &ChatStub, change: impl FnOnce(&mut Config)) -> App {
    captured_logs();
    let mut config = Config::from_env("assistant").expect("test environment");
    config.assistant.provider =
        AssistantProvider::OpenAi { base_url: EndpointUrl::parse("ASSISTANT_OPENAI_URL", &stub.base_url()).unwrap(), api_key: None };
    config.assistant.model = "gpt-4o-mini".into();
    config.assistant.prices = PRICES.into();
    config.assistant.byo_endpoints = vec![("stub".into(), EndpointUrl::parse("ASSISTANT_BYO_ENDPOINTS", &stub.base_url()).unwrap())];
    change(&mut config);
    assistant_fn::app(Platform::new(config).unwrap()).unwrap()
}

async fn call(app: &App, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let response = app.serve(event(method, path, "", body.as_deref(), Some(token), &random_ip())).await;
    let status = response.status().as_u16();
    let text = match response.body() {
        lambda_http::Body::Text(t) => t.clone(),
        _ => String::new(),
    };
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn new_thread(app: &App, token: &str) -> String {
    let (status, thread) = call(app, token, "POST", "/v1/assistant/threads", Some(json!({"title": "Questions"}))).await;
    assert_eq!(status, 201, "{thread}");
    thread["id"].as_str().unwrap().to_owned()
}

async fn portfolio_of(auth: &AuthApp, name: &str) -> (String, String) {
    let (_, token, _) = signed_in(auth).await;
    let portfolio = portfolio_fn::app(platform("portfolio")).unwrap();
    let created = portfolio
        .serve(event("POST", "/v1/portfolios", "", Some(&json!({"name": name, "currency": "usd"}).to_string()), Some(&token), &random_ip()))
        .await;
    let body = json_body(&created);
    assert_eq!(created.status(), 201, "{body}");
    (token, body["id"].as_str().unwrap().to_owned())
}

fn cost(usages: &[TokenUsage], provider: &str) -> Decimal {
    let table = PriceTable::parse(PRICES).unwrap();
    usages.iter().map(|u| table.cost(provider, "gpt-4o-mini", *u)).sum()
}

#[tokio::test]
async fn the_tool_loop_reads_the_callers_data_refuses_another_users_and_costs_tokens_times_prices() {
    let auth = auth().await;
    let (token, mine) = portfolio_of(&auth, "Retirement core").await;
    let (_, theirs) = portfolio_of(&auth, "Someone else's secret fund").await;
    let stub = ChatStub::start(vec![
        StubReply::ToolCalls {
            calls: vec![
                ("portfolio_summary".into(), json!({"portfolio_id": mine})),
                ("holdings".into(), json!({"portfolio_id": theirs})),
                ("delete_portfolio".into(), json!({"portfolio_id": mine})),
                ("stock_detail".into(), json!({"symbol": "AAPL; DROP TABLE"})),
            ],
            input_tokens: 410,
            output_tokens: 60,
        },
        StubReply::Text { text: "Your portfolio Retirement core is empty so far.".into(), input_tokens: 1250, output_tokens: 45 },
    ])
    .unwrap();
    let app = assistant(&stub, |_| {});
    let thread = new_thread(&app, &token).await;
    let (status, answer) = call(
        &app,
        &token,
        "POST",
        &format!("/v1/assistant/threads/{thread}/messages"),
        Some(json!({"content": "How is my portfolio doing?"})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["mode"], "model");
    assert_eq!(answer["model_calls"], 2);
    assert_eq!(answer["answer"]["content"], "Your portfolio Retirement core is empty so far.");
    let outcomes: Vec<&str> = answer["answer"]["tool_calls"].as_array().unwrap().iter().map(|c| c["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["ok", "failed", "refused", "refused"]);

    // What the model saw: its own portfolio's summary; for the other user's, not found — never its data.
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["messages"][0]["role"], "system");
    assert!(requests[0]["messages"][0]["content"].as_str().unwrap().contains("not personalised investment advice"));
    let tool_results: Vec<&str> = requests[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(tool_results.len(), 4);
    assert!(tool_results[0].contains("Retirement core"), "{}", tool_results[0]);
    assert!(tool_results[1].contains("HTTP 404"), "{tool_results:?}");
    assert!(tool_results[2].contains("no tool named"), "{}", tool_results[2]);
    for request in &requests {
        assert!(!request.to_string().contains("Someone else's secret fund"), "another user's data reached the model");
    }

    // Cost = the stub's tokens × the price table, computed here independently; metered the same.
    let usages = [TokenUsage { input_tokens: 410, output_tokens: 60 }, TokenUsage { input_tokens: 1250, output_tokens: 45 }];
    let expected = cost(&usages, "openai");
    assert_eq!(answer["answer"]["cost_usd"].as_str().unwrap().parse::<Decimal>().unwrap(), expected);
    assert_eq!(answer["answer"]["input_tokens"], 1660);
    assert_eq!(answer["answer"]["output_tokens"], 105);
    let platform = platform("assistant");
    let today = platform.clock.now_utc().date();
    let month = bourse_domain::assistant::cost::month_key(today);
    let (days, month_cost) =
        bourse_storage::assistant::model_usage(&platform.aws, &table(), &user_of(&token), &today.to_string(), &today.to_string(), &month)
            .await
            .unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!((days[0].calls, days[0].input_tokens, days[0].output_tokens, days[0].cost), (2, 1660, 105, expected));
    assert_eq!(days[0].by_model["openai/gpt-4o-mini"].cost, expected);
    assert_eq!(month_cost, expected);

    // The thread keeps both messages, and another user cannot read it.
    let (status, detail) = call(&app, &token, "GET", &format!("/v1/assistant/threads/{thread}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["message_count"], 2);
    assert_eq!(detail["messages"][1]["tool_calls"].as_array().unwrap().len(), 4);
    let (_, stranger, _) = signed_in(&auth).await;
    let (status, _) = call(&app, &stranger, "GET", &format!("/v1/assistant/threads/{thread}"), None).await;
    assert_eq!(status, 404);
}

/// The SSE events of a streamed answer, in order: (event, data).
async fn stream_events(app: &App, token: &str, thread: &str, question: &str) -> Vec<(String, Value)> {
    let body = json!({"content": question}).to_string();
    let request = event("POST", &format!("/v1/assistant/threads/{thread}/messages/stream"), "", Some(&body), Some(token), &random_ip());
    let response = app.serve_streaming(request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let StreamingBody::Events(mut chunks) = response.into_body() else { panic!("not an event stream") };
    let mut text = String::new();
    while let Some(chunk) = chunks.recv().await {
        text.push_str(&chunk);
    }
    text.split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: ")).unwrap().to_owned();
            let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn the_stream_carries_the_same_text_as_the_non_streaming_route() {
    let auth = auth().await;
    let (token, _) = portfolio_of(&auth, "Core").await;
    let text = "Diversification spreads risk across sectors; your largest position sets the tone.";
    let stub = ChatStub::start(vec![
        StubReply::Text { text: text.into(), input_tokens: 300, output_tokens: 20 },
        StubReply::Text { text: text.into(), input_tokens: 300, output_tokens: 20 },
    ])
    .unwrap();
    let app = assistant(&stub, |_| {});
    let thread = new_thread(&app, &token).await;
    let (status, whole) = call(
        &app,
        &token,
        "POST",
        &format!("/v1/assistant/threads/{thread}/messages"),
        Some(json!({"content": "Explain diversification"})),
    )
    .await;
    assert_eq!(status, 200, "{whole}");
    let events = stream_events(&app, &token, &thread, "Explain diversification").await;
    let deltas: Vec<&str> = events.iter().filter(|(name, _)| name == "delta").map(|(_, d)| d["text"].as_str().unwrap()).collect();
    assert!(deltas.len() >= 2, "the answer arrived in one piece: {deltas:?}");
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done");
    assert_eq!(deltas.concat(), whole["answer"]["content"].as_str().unwrap());
    assert_eq!(done["answer"]["content"], whole["answer"]["content"]);
    assert_eq!(done["answer"]["seq"], 3, "the streamed answer is kept as the thread's fourth message");
    assert_eq!(stub.requests()[1]["stream"], true);
}

/// Bourse's deployed provider: Bedrock's Converse and ConverseStream, on the emulator (which
/// answers deterministically): a model answer, metered at its reported tokens × the price table,
/// and the stream carries the same text as the whole answer to the same question.
#[tokio::test]
async fn bedrock_converse_and_converse_stream_answer_through_the_emulator() {
    let auth = auth().await;
    let (token, _) = portfolio_of(&auth, "Core").await;
    let stub = ChatStub::start(vec![]).unwrap();
    let model = "amazon.nova-micro-v1:0";
    let app = assistant(&stub, |c| {
        c.assistant.provider = AssistantProvider::Bedrock;
        c.assistant.model = model.into();
    });
    let question = "What is a diversified portfolio?";
    let thread = new_thread(&app, &token).await;
    let (status, whole) =
        call(&app, &token, "POST", &format!("/v1/assistant/threads/{thread}/messages"), Some(json!({"content": question}))).await;
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["mode"], "model", "{whole}");
    let answer = &whole["answer"];
    assert_eq!((answer["provider"].as_str(), answer["model"].as_str()), (Some("bedrock"), Some(model)));
    let text = answer["content"].as_str().unwrap();
    assert!(!text.is_empty());
    let usage =
        TokenUsage { input_tokens: answer["input_tokens"].as_u64().unwrap(), output_tokens: answer["output_tokens"].as_u64().unwrap() };
    assert!(usage.input_tokens > 0 && usage.output_tokens > 0, "the emulator reports usage: {answer}");
    let table = PriceTable::parse(PRICES).unwrap();
    assert_eq!(answer["cost_usd"].as_str().unwrap().parse::<Decimal>().unwrap(), table.cost("bedrock", model, usage));
    assert!(stub.requests().is_empty(), "Bedrock answered, not the OpenAI-compatible stub");

    // The same question in a fresh thread, streamed: the same deterministic text, in pieces.
    let fresh = new_thread(&app, &token).await;
    let events = stream_events(&app, &token, &fresh, question).await;
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done", "{events:?}");
    let deltas: String = events.iter().filter(|(name, _)| name == "delta").map(|(_, d)| d["text"].as_str().unwrap()).collect();
    assert_eq!(deltas, done["answer"]["content"].as_str().unwrap());
    assert_eq!(deltas, text);
}

#[tokio::test]
async fn a_spent_budget_is_429_until_it_resets_and_then_the_fallback_answers() {
    let auth = auth().await;
    let (token, _) = portfolio_of(&auth, "Core").await;
    let stub = ChatStub::start(vec![StubReply::Text { text: "First answer.".into(), input_tokens: 1000, output_tokens: 1000 }]).unwrap();
    // Free plan budget: 0.0001 USD; the first call costs 1000 × 0.15 + 1000 × 0.6 per million = 0.00075.
    let app = assistant(&stub, |c| c.assistant.budget_free_usd = Some("0.0001".into()));
    let thread = new_thread(&app, &token).await;
    let path = format!("/v1/assistant/threads/{thread}/messages");
    let (status, first) = call(&app, &token, "POST", &path, Some(json!({"content": "Hello"}))).await;
    assert_eq!((status, first["mode"].as_str()), (200, Some("model")), "{first}");

    let response = app.serve(event("POST", &path, "", Some(&json!({"content": "Again"}).to_string()), Some(&token), &random_ip())).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=31 * 86_400).contains(&retry_after), "{retry_after}");
    let problem = json_body(&response);
    assert!(problem["detail"].as_str().unwrap().contains("allow_fallback"), "{problem}");

    let (status, fallback) = call(&app, &token, "POST", &path, Some(json!({"content": "Again", "allow_fallback": true}))).await;
    assert_eq!(status, 200, "{fallback}");
    assert_eq!(fallback["mode"], "fallback");
    assert_eq!(fallback["fallback_reason"], "budget_spent");
    let content = fallback["answer"]["content"].as_str().unwrap();
    assert!(content.starts_with("Fallback mode: this month's AI budget is spent"), "{content}");
    assert!(content.contains("Core: value"), "the fallback describes the user's portfolio: {content}");
    assert_eq!(stub.requests().len(), 1, "no model call after the budget was spent");
}

#[tokio::test]
async fn a_provider_that_times_out_or_fails_gives_the_labelled_fallback() {
    let auth = auth().await;
    let (token, _) = portfolio_of(&auth, "Core").await;
    let stub = ChatStub::start(vec![
        StubReply::Delay(Duration::from_secs(3), Box::new(StubReply::Text { text: "late".into(), input_tokens: 1, output_tokens: 1 })),
        StubReply::Status(500),
    ])
    .unwrap();
    let app = assistant(&stub, |c| c.assistant.call_timeout = Duration::from_millis(300));
    let thread = new_thread(&app, &token).await;
    let path = format!("/v1/assistant/threads/{thread}/messages");
    let started = std::time::Instant::now();
    let (status, answer) = call(&app, &token, "POST", &path, Some(json!({"content": "How am I doing?"}))).await;
    assert_eq!(status, 200, "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3), "the timeout did not bound the call");
    assert_eq!((answer["mode"].as_str(), answer["fallback_reason"].as_str()), (Some("fallback"), Some("timeout")));
    assert!(answer["answer"]["content"].as_str().unwrap().starts_with("Fallback mode: the AI provider took too long"));
    let (_, failed) = call(&app, &token, "POST", &path, Some(json!({"content": "And now?"}))).await;
    assert_eq!((failed["mode"].as_str(), failed["fallback_reason"].as_str()), (Some("fallback"), Some("provider_failed")), "{failed}");

    // No provider at all: the fallback, said as such.
    let none = assistant(&stub, |c| c.assistant.provider = AssistantProvider::None);
    let (_, answer) = call(&none, &token, "POST", &path, Some(json!({"content": "Anyone there?"}))).await;
    assert_eq!(answer["fallback_reason"], "no_provider", "{answer}");
}

/// An assistant whose saved keys are sealed under a new key of the KMS stand-in.
async fn assistant_with_kms(stub: &ChatStub) -> App {
    let kms_endpoint = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").expect("the stand-in's endpoint");
    let mut aws = Config::from_env("assistant").unwrap().aws;
    aws.kms_endpoint = Some(EndpointUrl::parse("AWS_ENDPOINT_URL_KMS", &kms_endpoint).unwrap());
    let kms = bourse_storage::clients::build_kms_client(&aws, &bourse_config::CaBundle::default()).unwrap();
    let key_id = kms.create_key().description("assistant test").send().await.unwrap().key_metadata.unwrap().key_id;
    assistant(stub, |c| {
        c.aws.kms_endpoint = aws.kms_endpoint.clone();
        c.assistant.kms_key_id = Some(key_id.clone());
    })
}

#[tokio::test]
async fn an_own_key_is_sealed_under_kms_opened_only_for_a_call_and_never_shown_or_logged() {
    let auth = auth().await;
    let (token, _) = portfolio_of(&auth, "Core").await;
    let secret_key = "sk-own-SECRETVALUE-0123456789-wxyz";
    let stub =
        ChatStub::start(vec![StubReply::Text { text: "Answered with your key.".into(), input_tokens: 200, output_tokens: 10 }]).unwrap();
    let app = assistant_with_kms(&stub).await;
    let kms_calls = |counters: &bourse_telemetry::RequestCounters| counters.kms_operations.clone();

    let (saved, counted) = bourse_telemetry::measured(call(
        &app,
        &token,
        "POST",
        "/v1/assistant/keys",
        Some(json!({"endpoint": "stub", "api_key": secret_key})),
    ))
    .await;
    assert_eq!(saved.0, 201, "{}", saved.1);
    assert_eq!(saved.1["last4"], "wxyz");
    assert_eq!(kms_calls(&counted), ["GenerateDataKey"]);
    let key = saved.1["id"].as_str().unwrap().to_owned();

    let (listed, counted) = bourse_telemetry::measured(call(&app, &token, "GET", "/v1/assistant/keys", None)).await;
    assert_eq!(listed.1["items"][0]["last4"], "wxyz");
    let (prefs, counted_prefs) = bourse_telemetry::measured(call(
        &app,
        &token,
        "PUT",
        "/v1/assistant/preferences",
        Some(json!({"provider": "own_key", "key_id": key, "model": "gpt-4o-mini", "language": "fr", "risk_profile": "growth"})),
    ))
    .await;
    assert_eq!(prefs.0, 200, "{}", prefs.1);
    assert!(kms_calls(&counted).is_empty() && kms_calls(&counted_prefs).is_empty(), "KMS was called without a model call");

    let thread = new_thread(&app, &token).await;
    let (answer, counted) = bourse_telemetry::measured(call(
        &app,
        &token,
        "POST",
        &format!("/v1/assistant/threads/{thread}/messages"),
        Some(json!({"content": "Hi"})),
    ))
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["answer"]["provider"], "stub");
    assert_eq!(kms_calls(&counted), ["Decrypt"], "the key is decrypted once, for the call");
    assert_eq!(stub.authorizations(), [format!("Bearer {secret_key}")]);
    assert!(stub.requests()[0]["messages"][0]["content"].as_str().unwrap().contains("French"));
    // An own key's calls are priced for the user but never billed to the budget.
    let expected = cost(&[TokenUsage { input_tokens: 200, output_tokens: 10 }], "stub");
    assert_eq!(answer.1["answer"]["cost_usd"].as_str().unwrap().parse::<Decimal>().unwrap(), expected);

    // Nowhere else: not in any answer, not in the stored items, not in a log line.
    for body in [&saved.1, &listed.1, &prefs.1, &answer.1] {
        assert!(!body.to_string().contains("SECRETVALUE"), "{body}");
    }
    let platform = platform("assistant");
    let stored = platform
        .aws
        .dynamodb
        .query()
        .table_name(table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("CHAT#{}", user_of(&token))))
        .send()
        .await
        .unwrap();
    assert!(!format!("{:?}", stored.items()).contains("SECRETVALUE"));
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(!logs.is_empty(), "no log line was captured");
    assert!(!logs.contains("SECRETVALUE"), "the key reached a log line");

    // Deleting the key: gone from the list; a question then falls back (the key is never guessed).
    let (status, _) = call(&app, &token, "DELETE", &format!("/v1/assistant/keys/{key}"), None).await;
    assert_eq!(status, 204);
    let (_, after) =
        call(&app, &token, "POST", &format!("/v1/assistant/threads/{thread}/messages"), Some(json!({"content": "Still there?"}))).await;
    assert_eq!(after["fallback_reason"], "provider_failed", "{after}");
}

#[tokio::test]
async fn saves_at_once_cannot_pass_the_key_limit_and_a_deletion_frees_a_place() {
    let auth = auth().await;
    let (token, _) = portfolio_of(&auth, "Core").await;
    let stub = ChatStub::start(vec![]).unwrap();
    let app = assistant_with_kms(&stub).await;
    let save = |i: usize| {
        let (app, token) = (&app, &token);
        async move {
            call(app, token, "POST", "/v1/assistant/keys", Some(json!({"endpoint": "stub", "api_key": format!("sk-limit-test-{i:04}")})))
                .await
        }
    };
    let attempts = 8;
    let answers = futures_util::future::join_all((0..attempts).map(save)).await;
    let saved: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 201).map(|(_, body)| body).collect();
    assert_eq!(saved.len(), assistant_fn::MAX_KEYS as usize, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 422, "{body}");
        assert_eq!(body["errors"][0]["field"], "body.api_key", "{body}");
    }
    let (_, listed) = call(&app, &token, "GET", "/v1/assistant/keys", None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), assistant_fn::MAX_KEYS as usize);

    let first = saved[0]["id"].as_str().unwrap();
    assert_eq!(call(&app, &token, "DELETE", &format!("/v1/assistant/keys/{first}"), None).await.0, 204);
    assert_eq!(call(&app, &token, "DELETE", &format!("/v1/assistant/keys/{first}"), None).await.0, 404);
    assert_eq!(save(100).await.0, 201, "a deletion frees a place");
    assert_eq!(save(101).await.0, 422, "and only one");
}

#[tokio::test]
async fn threads_are_listed_newest_first_renamed_and_deleted_with_their_messages() {
    let auth = auth().await;
    let (token, _) = portfolio_of(&auth, "Core").await;
    let stub = ChatStub::start(vec![]).unwrap();
    let app = assistant(&stub, |_| {});
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(new_thread(&app, &token).await);
        tokio::time::sleep(Duration::from_millis(2)).await; // distinct creation milliseconds, so the order is defined
    }
    let page = json_body(&app.serve(event("GET", "/v1/assistant/threads", "limit=2", None, Some(&token), &random_ip())).await);
    let first: Vec<&str> = page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(first, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let response =
        app.serve(event("GET", "/v1/assistant/threads", &format!("limit=2&cursor={cursor}"), None, Some(&token), &random_ip())).await;
    let rest = json_body(&response);
    assert_eq!(rest["items"][0]["id"], ids[0].as_str());

    let (status, renamed) =
        call(&app, &token, "PATCH", &format!("/v1/assistant/threads/{}", ids[0]), Some(json!({"title": "Taxes"}))).await;
    assert_eq!((status, renamed["title"].as_str()), (200, Some("Taxes")));
    let (status, _) =
        call(&app, &token, "POST", &format!("/v1/assistant/threads/{}/messages", ids[0]), Some(json!({"content": "Hi"}))).await;
    assert_eq!(status, 200);
    let (status, _) = call(&app, &token, "DELETE", &format!("/v1/assistant/threads/{}", ids[0]), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, &token, "GET", &format!("/v1/assistant/threads/{}", ids[0]), None).await;
    assert_eq!(status, 404);
    let platform = platform("assistant");
    let left = bourse_storage::assistant::recent_messages(
        &platform.aws,
        &table(),
        &user_of(&token),
        &bourse_domain::ids::ThreadId::parse(&ids[0]).unwrap(),
        10,
    )
    .await
    .unwrap();
    assert!(left.is_empty(), "the thread's messages outlived it");

    // Bad input is a 4xx naming the field.
    for (method, path, body, field) in [
        ("POST", format!("/v1/assistant/threads/{}/messages", ids[1]), json!({"content": ""}), "body.content"),
        ("POST", format!("/v1/assistant/threads/{}/messages", ids[1]), json!({"content": "x".repeat(4001)}), "body.content"),
        ("PATCH", format!("/v1/assistant/threads/{}", ids[1]), json!({"title": "  "}), "body.title"),
        ("PUT", "/v1/assistant/preferences".to_owned(), json!({"provider": "bourse", "temperature": 3}), "body.temperature"),
        ("PUT", "/v1/assistant/preferences".to_owned(), json!({"provider": "gpt"}), "body.provider"),
        ("POST", "/v1/assistant/keys".to_owned(), json!({"endpoint": "elsewhere", "api_key": "sk-123456789"}), "body.endpoint"),
    ] {
        let (status, problem) = call(&app, &token, method, &path, Some(body)).await;
        assert_eq!(status, 400, "{method} {path}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, _) = call(&app, &token, "GET", "/v1/assistant/threads/not-a-thread", None).await;
    assert_eq!(status, 404);
}
