//! The enrichment consumer exactly as its `main` wires it (panic guard, Lambda runtime), but with
//! one provider that panics — a stand-in for a bug in a provider's parser. `consumer_panic.rs`
//! runs it against a local Runtime API. The provider panics only once every other message of
//! the batch has succeeded, so the test's expectation does not depend on timing.

use bourse_domain::Symbol;
use bourse_domain::market_data::MarketData;
use bourse_domain::money::Currency;
use bourse_providers::{FxSeries, Provider, ProviderError, RateLimiter, RequestContext};
use enrich_consumer_fn::Consumer;
use enrich_consumer_fn::panic_guard::PanicGuard;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

struct PanicsLast {
    guard: Arc<PanicGuard>,
}

impl Provider for PanicsLast {
    fn name(&self) -> &str {
        "panics-last"
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn fetch<'a>(&'a self, symbol: &'a Symbol, _: &'a RequestContext) -> BoxFuture<'a, Result<MarketData, ProviderError>> {
        Box::pin(async move {
            // Waits for a state, not for time: the rest of the batch has succeeded.
            while self.guard.unfinished().len() > 1 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            panic!("provider bug while parsing {symbol}");
        })
    }

    fn fetch_fx<'a>(&'a self, _: Currency, _: &'a RequestContext) -> BoxFuture<'a, Result<FxSeries, ProviderError>> {
        Box::pin(async { Err(ProviderError::UnknownSymbol) })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    bourse_telemetry::init_logging("enrich-consumer");
    let guard = PanicGuard::install_from_env().ok_or("AWS_LAMBDA_RUNTIME_API is not set")?;
    let platform = bourse_runtime::Platform::from_env("enrich-consumer")?;
    let limiter = Arc::new(RateLimiter::new(platform.cache.clone(), &[("panics-last".to_owned(), 100)], 5));
    let provider: Arc<dyn Provider> = Arc::new(PanicsLast { guard: Arc::clone(&guard) });
    let consumer = Arc::new(Consumer::with_providers(platform, vec![provider], limiter)?.with_panic_guard(Some(guard)));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let consumer = Arc::clone(&consumer);
        async move { consumer.handle(event).await }
    }))
    .await
}
