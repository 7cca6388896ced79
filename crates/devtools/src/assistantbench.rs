//! Assistant benchmark: one question answered through the whole HTTP pipeline, in process, by the
//! local OpenAI-compatible stub as the model, on the non-streaming route and on the streamed one.
//! For the stream: the time to its first byte (the first event leaving the function) and to its
//! first word of text, and the total; for the non-streaming route, the total. Twice: with a model
//! that answers at once (what the function itself costs: reading the thread, the budget, metering
//! and storing the exchange) and with one that writes a word every `pace` (where streaming pays).

use crate::benchsupport::{elapsed_ms, event, median};
use crate::portfoliobench::access_token;
use crate::resources::DynError;
use bourse_config::{AssistantProvider, Config, EndpointUrl};
use bourse_http::StreamingBody;
use bourse_providers::chat::stub::{ChatStub, StubReply};
use bourse_runtime::Platform;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

type App = bourse_http::HttpApp<assistant_fn::AssistantRoute, assistant_fn::Assistant>;

/// A 60-word answer: about what a short reply of a chat model holds.
fn answer_text() -> String {
    let words = "Your portfolio holds eleven positions; the largest weighs eighteen percent and technology is \
                 forty percent of the value. Over the year it returned nine percent against eleven for the index, \
                 mostly because cash sat idle in spring. This is information about your own data, not personalised \
                 advice: consider whether the concentration matches the risk you want to carry over time.";
    words.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Sample {
    first_byte: f64,
    first_text: f64,
    total: f64,
}

/// Serves the streamed route and reads the whole stream.
async fn streamed(app: &App, path: &str, body: &str, bearer: &str) -> Result<Sample, DynError> {
    let started = Instant::now();
    let response = app.serve_streaming(event("POST", path, "", Some(body.to_owned()), &[("authorization", bearer)])).await;
    if response.status() != 200 {
        return Err(format!("stream: {}", response.status()).into());
    }
    let StreamingBody::Events(mut chunks) = response.into_body() else { return Err("the stream route answered whole".into()) };
    let (mut first_byte, mut first_text, mut text) = (None, None, String::new());
    while let Some(chunk) = chunks.recv().await {
        first_byte.get_or_insert_with(|| elapsed_ms(started));
        if chunk.starts_with("event: delta") {
            first_text.get_or_insert_with(|| elapsed_ms(started));
        }
        text.push_str(&chunk);
    }
    if !text.contains("event: done") || !text.contains("\"mode\":\"model\"") {
        return Err(format!("the stream did not end with a model answer: {}", &text[text.len().saturating_sub(300)..]).into());
    }
    Ok(Sample { first_byte: first_byte.unwrap_or(f64::NAN), first_text: first_text.unwrap_or(f64::NAN), total: elapsed_ms(started) })
}

async fn whole(app: &App, path: &str, body: &str, bearer: &str) -> Result<f64, DynError> {
    let started = Instant::now();
    let response = app.serve(event("POST", path, "", Some(body.to_owned()), &[("authorization", bearer)])).await;
    let total = elapsed_ms(started);
    let answer: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    if response.status() != 200 || answer["mode"] != "model" {
        return Err(format!("ask: {} {answer}", response.status()).into());
    }
    Ok(total)
}

pub async fn run(runs: usize, pace_ms: u64) -> Result<(), DynError> {
    let text = answer_text();
    let words = text.split(' ').count();
    println!("assistant: one question, a {words}-word answer from the local stub model, {runs} runs each (median ms)");
    println!("{:<22} {:>12} {:>12} {:>10} {:>14}", "model pace", "stream 1st B", "1st word", "stream", "non-streaming");
    for pace in [Duration::ZERO, Duration::from_millis(pace_ms)] {
        let reply = || StubReply::Paced(pace, Box::new(StubReply::text(&text, 900, words as u64 + 20)));
        let stub = ChatStub::start((0..2 * (runs + 1)).map(|_| reply()).collect())?;
        let mut config = Config::from_env("assistant")?;
        config.assistant.provider =
            AssistantProvider::OpenAi { base_url: EndpointUrl::parse("ASSISTANT_OPENAI_URL", &stub.base_url())?, api_key: None };
        // A budget the runs cannot spend: the benchmark measures answers, not the 429.
        config.assistant.budget_free_usd = Some("1000".into());
        config.assistant.daily_cap_usd = Some("100000".into());
        let app: App = assistant_fn::app(Platform::new(config)?)?;
        let bearer = format!("Bearer {}", access_token().await?);
        let created = app
            .serve(event("POST", "/v1/assistant/threads", "", Some(json!({"title": "Bench"}).to_string()), &[("authorization", &bearer)]))
            .await;
        let thread: Value = serde_json::from_slice(created.body().as_ref())?;
        let thread = thread["id"].as_str().ok_or_else(|| format!("thread: {}", created.status()))?.to_owned();
        let path = format!("/v1/assistant/threads/{thread}/messages");
        let stream_path = format!("{path}/stream");
        let body = json!({"content": "How is my portfolio doing?"}).to_string();
        // One of each first: connections and the thread's first read are not what is measured.
        whole(&app, &path, &body, &bearer).await?;
        streamed(&app, &stream_path, &body, &bearer).await?;
        let (mut first_bytes, mut first_texts, mut totals, mut wholes) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            let sample = streamed(&app, &stream_path, &body, &bearer).await?;
            first_bytes.push(sample.first_byte);
            first_texts.push(sample.first_text);
            totals.push(sample.total);
            wholes.push(whole(&app, &path, &body, &bearer).await?);
        }
        println!(
            "{:<22} {:>12.1} {:>12.1} {:>10.1} {:>14.1}",
            if pace.is_zero() { "at once".to_owned() } else { format!("{} ms a word", pace.as_millis()) },
            median(first_bytes),
            median(first_texts),
            median(totals),
            median(wholes)
        );
    }
    Ok(())
}
