//! One symbol from every provider at once: each provider is retried on transient failures with
//! the domain's backoff ([`PROVIDER`]: exponential, jittered) or the provider's `Retry-After`, only while the deadline
//! leaves room for another request; the answers are merged by data quality
//! (`bourse_domain::market_data::merge`). A provider that fails is simply left out (fallback).

use crate::{Provider, ProviderError, RequestContext};
use bourse_domain::Symbol;
use bourse_domain::backoff::PROVIDER;
use bourse_domain::market_data::{MarketData, merge};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Attempts per provider within one invocation.
pub const MAX_ATTEMPTS: u32 = 4;

/// The outcome for one symbol.
#[derive(Debug)]
pub enum FetchOutcome {
    /// The merged answer (boxed: it is far larger than the other outcomes), its quality score
    /// and the providers that failed.
    Found { data: Box<MarketData>, quality: u8, failures: Vec<(String, ProviderError)> },
    /// Every provider said the symbol does not exist: permanent.
    Unknown,
    /// The shared rate limit leaves no room before the deadline: retry through SQS after this.
    Deferred(Duration),
    /// Every provider failed transiently (after the retries time allowed).
    Failed(Vec<(String, ProviderError)>),
}

/// Queries every provider in parallel; see the module docs.
pub async fn fetch_best(providers: &[Arc<dyn Provider>], symbol: &Symbol, context: &RequestContext, today: time::Date) -> FetchOutcome {
    let attempts = providers.iter().map(|p| with_retries(p.as_ref(), symbol, context));
    let results = futures_util::future::join_all(attempts).await;
    let mut answers = Vec::new();
    let mut failures = Vec::new();
    for (provider, result) in providers.iter().zip(results) {
        match result {
            Ok(data) => answers.push(data),
            Err(err) => failures.push((provider.name().to_owned(), err)),
        }
    }
    if let Some((data, quality)) = merge(answers, today) {
        return FetchOutcome::Found { data: Box::new(data), quality, failures };
    }
    if !failures.is_empty() && failures.iter().all(|(_, e)| *e == ProviderError::UnknownSymbol) {
        return FetchOutcome::Unknown;
    }
    if let Some(wait) = failures.iter().filter_map(|(_, e)| if let ProviderError::Deferred(w) = e { Some(*w) } else { None }).min() {
        return FetchOutcome::Deferred(wait);
    }
    FetchOutcome::Failed(failures)
}

async fn with_retries(provider: &dyn Provider, symbol: &Symbol, context: &RequestContext) -> Result<MarketData, ProviderError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match provider.fetch(symbol, context).await {
            Ok(data) => return Ok(data),
            Err(err) => err,
        };
        if !err.is_transient() || attempt >= MAX_ATTEMPTS {
            return Err(err);
        }
        let pause = match &err {
            ProviderError::RateLimited { retry_after: Some(after) } => *after,
            _ => PROVIDER.delay_now(attempt - 1),
        };
        if Instant::now() + pause + provider.request_timeout() > context.deadline {
            tracing::info!(provider = provider.name(), symbol = %symbol, error = %err, "no time left for another attempt");
            return Err(err);
        }
        tracing::debug!(provider = provider.name(), symbol = %symbol, error = %err, ?pause, attempt, "retrying");
        tokio::time::sleep(pause).await;
    }
}
