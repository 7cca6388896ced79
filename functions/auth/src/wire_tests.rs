//! Every answer of the auth function against its schema in `openapi.yaml` (closed objects: an
//! undocumented member fails, as does a missing required one or a wrong type).

use crate::handlers::{Accepted, AiDay, AiModel, AiUsage, Profile, Quota, SessionView, TokenPair, Usage, UsageDay};
use bourse_domain::UserId;
use bourse_domain::plan::Plan;
use bourse_http::schema_check::OpenApi;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

fn value(answer: &impl Serialize) -> Value {
    serde_json::to_value(answer).unwrap()
}

fn samples() -> Vec<(&'static str, u16, Value)> {
    let profile = Profile {
        user_id: &UserId::parse(&"0".repeat(32)).unwrap(),
        email: "ada@example.com",
        email_verified: false,
        plan: "free",
        created_at: "2026-11-25T21:30:00Z",
    };
    let pair = TokenPair {
        token_type: "Bearer",
        access_token: "eyJ.eyJ.sig".into(),
        expires_in: 900,
        refresh_token: "A".repeat(43),
        refresh_expires_at: "2026-12-25T21:30:00Z".into(),
    };
    let routes: BTreeMap<String, u64> = [("GET /v1/me".to_owned(), 3), ("GET /v1/usage".to_owned(), 1)].into();
    let usage = Usage {
        from: "2026-11-19".into(),
        to: "2026-11-25".into(),
        plan: Plan::Pro,
        days: vec![UsageDay { date: "2026-11-25", total: 4, routes: &routes }],
        today: Quota { date: "2026-11-25".into(), limit: 50_000, used: 4, remaining: 49_996, resets_at: "2026-11-26T00:00:00Z".into() },
        ai: AiUsage {
            month: "2026-11".into(),
            month_cost_usd: "0.000063".into(),
            monthly_budget_usd: "5".into(),
            days: vec![AiDay {
                date: "2026-11-25".into(),
                calls: 2,
                input_tokens: 1660,
                output_tokens: 105,
                cost_usd: "0.000063".into(),
                models: vec![AiModel {
                    model: "bedrock/amazon.nova-micro-v1:0".into(),
                    calls: 2,
                    input_tokens: 1660,
                    output_tokens: 105,
                    cost_usd: "0.000063".into(),
                }],
            }],
        },
    };
    let session = SessionView::new(
        bourse_storage::sessions::SessionRecord {
            family_id: "A".repeat(22),
            created_at: 1_764_000_000,
            last_used_at: 1_764_100_000,
            expires_at: 1_766_592_000,
            revoked: false,
            user_agent: Some("Mozilla/5.0".into()),
            source: Some("203.0.113.0/24".into()),
        },
        &"A".repeat(22),
    );
    let accepted = Accepted { status: "accepted", detail: "check your inbox" };
    vec![
        ("listSessions", 200, value(&bourse_http::Page::all(vec![session]))),
        ("register", 202, value(&accepted)),
        ("requestPasswordReset", 202, value(&accepted)),
        ("deleteAccount", 202, value(&accepted)),
        ("me", 200, value(&profile)),
        ("login", 200, value(&pair)),
        ("refresh", 200, value(&pair)),
        ("usage", 200, value(&usage)),
    ]
}

#[test]
fn every_answer_matches_its_schema() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples(&samples());
}

#[test]
fn every_documented_answer_has_a_sample() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples_cover(&["auth"], &samples());
}
