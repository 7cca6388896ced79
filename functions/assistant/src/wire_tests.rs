//! Every answer of the assistant function against its schema in `openapi.yaml` (tag `assistant`):
//! a sample of each response type, built by the code the handlers use, is serialised and checked.
//! The stream route's 200 is `text/event-stream`, not JSON: its `done` event carries the same
//! answer as `askAssistant`'s 200, sampled here.

use crate::preferences_view;
use crate::wire::*;
use bourse_domain::assistant::fallback::FallbackReason;
use bourse_domain::assistant::preferences::{Language, ModelId, Preferences, ProviderChoice, RiskProfile, Temperature};
use bourse_domain::ids::{AssistantKeyId, ThreadId};
use bourse_http::Page;
use bourse_http::schema_check::OpenApi;
use bourse_storage::assistant::{KeyRecord, MessageRecord, ThreadRecord, ToolCallRecord};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

fn thread(created_ms: u64, title: &str, messages: u32) -> ThreadRecord {
    ThreadRecord {
        id: ThreadId::new(created_ms, [0xab; 10]),
        title: title.into(),
        created_at: "2026-11-25T21:30:00Z".into(),
        updated_at: "2026-11-25T21:31:05Z".into(),
        messages,
    }
}

fn question(seq: u32, content: &str) -> MessageRecord {
    MessageRecord::question(seq, content.into(), "2026-11-25T21:31:05Z".into())
}

fn answer(seq: u32) -> MessageRecord {
    MessageRecord {
        seq,
        role: "assistant".into(),
        content: "Your largest position is MSFT, at 61% of the portfolio: a single stock carries most of its risk.".into(),
        tool_calls: vec![
            ToolCallRecord { name: "list_portfolios".into(), arguments: "{}".into(), outcome: "ok".into() },
            ToolCallRecord {
                name: "analysis".into(),
                arguments: format!(r#"{{"portfolio_id":"{}"}}"#, "0".repeat(32)),
                outcome: "ok".into(),
            },
            ToolCallRecord { name: "holdings".into(), arguments: r#"{"portfolio_id":"nope"}"#.into(), outcome: "refused".into() },
        ],
        mode: Some("model".into()),
        provider: Some("bedrock".into()),
        model: Some("amazon.nova-micro-v1:0".into()),
        input_tokens: 5_210,
        output_tokens: 184,
        cost: Some(Decimal::new(2_0440, 8)),
        created_at: "2026-11-25T21:31:05Z".into(),
    }
}

fn fallback_answer(seq: u32) -> MessageRecord {
    MessageRecord {
        content: "This month's AI budget is spent, so this is the rule-based analysis of your portfolios.".into(),
        tool_calls: vec![],
        mode: Some("fallback".into()),
        provider: None,
        model: None,
        input_tokens: 0,
        output_tokens: 0,
        cost: Some(Decimal::ZERO),
        ..answer(seq)
    }
}

fn key(id: u8, endpoint: &str, label: &str) -> KeyRecord {
    KeyRecord {
        id: AssistantKeyId::from_random([id; 16]),
        endpoint: endpoint.into(),
        label: label.into(),
        last4: "x9Qz".into(),
        data_key: "AQIDAHh0ZXN0".into(),
        sealed: "00".repeat(40),
        created_at: "2026-11-25T21:30:00Z".into(),
    }
}

/// (operation, status, answer) for every JSON answer of the assistant's routes.
fn samples() -> Vec<(&'static str, u16, Value)> {
    let fresh = thread(1_795_000_000_000, crate::DEFAULT_TITLE, 0);
    let busy = thread(1_795_000_100_000, "Rebalancing ideas", 4);
    let page = Page::new(vec![ThreadView::from(&busy), ThreadView::from(&fresh)], Some(bourse_http::cursor::encode(fresh.id.as_str())));
    let last_page = Page::new(vec![ThreadView::from(&fresh)], None);
    let empty_page: Page<ThreadView> = Page::new(vec![], None);
    let detail = ThreadDetail {
        thread: ThreadView::from(&busy),
        messages: [question(0, "How diversified is my portfolio?"), answer(1), question(2, "And by sector?"), fallback_answer(3)]
            .iter()
            .map(MessageView::from)
            .collect(),
    };
    let by_model = AnswerView {
        thread_id: busy.id.to_string(),
        mode: "model".into(),
        fallback_reason: None,
        question: MessageView::from(&question(4, "How diversified is my portfolio?")),
        answer: MessageView::from(&answer(5)),
        model_calls: 2,
    };
    let by_rules = AnswerView {
        thread_id: busy.id.to_string(),
        mode: "fallback".into(),
        fallback_reason: Some(FallbackReason::BudgetSpent.as_str().into()),
        question: MessageView::from(&question(6, "And by sector?")),
        answer: MessageView::from(&fallback_answer(7)),
        model_calls: 0,
    };
    let own_key = key(0x11, "openai", "My OpenAI key");
    let defaults = preferences_view(&Preferences::default());
    let chosen = preferences_view(&Preferences {
        provider: ProviderChoice::OwnKey(own_key.id.clone()),
        model: ModelId::parse("gpt-4o-mini"),
        temperature: Temperature::from_f64(0.7).unwrap(),
        language: Language::parse("fr").unwrap(),
        risk_profile: RiskProfile::Growth,
    });
    let bourse = preferences_view(&Preferences {
        model: ModelId::parse("amazon.nova-micro-v1:0"),
        temperature: Temperature::from_f64(0.0).unwrap(),
        language: Language::parse("ja").unwrap(),
        risk_profile: RiskProfile::Conservative,
        ..Preferences::default()
    });
    let keys = Page::all(vec![KeyView::from(&own_key), KeyView::from(&key(0x22, "openai", "openai"))]);
    vec![
        (
            "assistantEndpoints",
            200,
            json(&EndpointsView {
                bourse_provider: "bedrock".into(),
                bourse_model: "amazon.nova-micro-v1:0".into(),
                own_key_endpoints: vec!["openai".into()],
            }),
        ),
        (
            "assistantEndpoints",
            200,
            json(&EndpointsView { bourse_provider: "none".into(), bourse_model: String::new(), own_key_endpoints: vec![] }),
        ),
        ("createAssistantThread", 201, json(&ThreadView::from(&fresh))),
        ("listAssistantThreads", 200, json(&page)),
        ("listAssistantThreads", 200, json(&last_page)),
        ("listAssistantThreads", 200, json(&empty_page)),
        ("getAssistantThread", 200, json(&detail)),
        ("getAssistantThread", 200, json(&ThreadDetail { thread: ThreadView::from(&fresh), messages: vec![] })),
        ("renameAssistantThread", 200, json(&ThreadView::from(&busy))),
        ("askAssistant", 200, json(&by_model)),
        ("askAssistant", 200, json(&by_rules)),
        ("getAssistantPreferences", 200, json(&defaults)),
        ("getAssistantPreferences", 200, json(&chosen)),
        ("setAssistantPreferences", 200, json(&chosen)),
        ("setAssistantPreferences", 200, json(&bourse)),
        ("listAssistantKeys", 200, json(&keys)),
        ("listAssistantKeys", 200, json(&Page::<KeyView>::all(vec![]))),
        ("createAssistantKey", 201, json(&KeyView::from(&own_key))),
    ]
}

#[test]
fn every_answer_matches_its_schema() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples(&samples());
}

#[test]
fn every_documented_answer_has_a_sample() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples_cover(&["assistant"], &samples());
}
