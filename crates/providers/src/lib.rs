//! Market-data providers for the enrichment consumer.
//!
//! - [`Provider`]: one trait; an answer is a [`MarketData`] (the domain's type, scored and merged
//!   there);
//! - [`yahoo::YahooChart`] and [`alpha_vantage::AlphaVantage`]: HTTP clients of two public APIs'
//!   JSON formats, configured by base URL (and API key);
//! - [`offline::Offline`]: the bundled reference data with generated, labelled history, so the
//!   local stack and the tests never need the internet;
//! - [`limiter::RateLimiter`]: per-provider limits shared by every consumer instance (GCRA in
//!   Redis), with a conservative per-instance fallback;
//! - [`Provider::fetch_fx`] and [`fetch_fx_first`]: daily FX rates against USD (`EURUSD=X` on the
//!   chart API, `FX_DAILY` on Alpha Vantage, generated offline), for the daily refresh;
//! - [`fetch::fetch_best`]: every provider in parallel, retries with backoff and jitter inside a
//!   deadline, and the best merged answer;
//! - [`stub`]: local HTTP servers replaying both providers' formats and failure modes (tests and
//!   benchmarks only; they bind 127.0.0.1 on an ephemeral port);
//! - [`chat`]: the assistant's chat-model clients (Bedrock, OpenAI-compatible endpoints) behind
//!   one error type, and a local OpenAI-compatible stub.

pub mod alpha_vantage;
pub mod chat;
pub mod fetch;
pub mod http_client;
pub mod limiter;
pub mod offline;
pub mod stub;
pub mod yahoo;

use bourse_domain::Symbol;
use bourse_domain::fx::RatePoint;
use bourse_domain::market_data::MarketData;
use bourse_domain::money::Currency;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use fetch::{FetchOutcome, fetch_best};
pub use limiter::RateLimiter;

/// Why a provider gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider does not know the symbol: permanent, never retried.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// The provider refused for rate (HTTP 429, or its own "note" body), with its `Retry-After`.
    #[error("rate limited by the provider (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx from the provider.
    #[error("provider error: HTTP {0}")]
    Server(u16),
    /// No complete answer within the request timeout.
    #[error("timed out")]
    Timeout,
    /// Connection refused, reset, TLS failure.
    #[error("transport: {0}")]
    Transport(String),
    /// The body was not the documented format (malformed or truncated JSON, missing fields, an
    /// unexpected status).
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// Our own rate limit would make us wait longer than the time left: retry later through SQS.
    #[error("deferred: the shared rate limit allows the next request in {0:?}")]
    Deferred(Duration),
}

impl ProviderError {
    /// Worth another attempt soon (within this invocation, if time allows).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Server(_)
                | ProviderError::Timeout
                | ProviderError::Transport(_)
                | ProviderError::Malformed(_)
        )
    }
}

/// What a provider needs per request: the limiter and the invocation's deadline.
#[derive(Clone)]
pub struct RequestContext {
    pub limiter: Arc<RateLimiter>,
    pub deadline: Instant,
}

impl RequestContext {
    /// Takes one slot of `provider`'s rate limit, waiting for it (one timer) when the wait still
    /// leaves `request_timeout` before the deadline; otherwise [`ProviderError::Deferred`].
    pub async fn permit(&self, provider: &str, request_timeout: Duration) -> Result<(), ProviderError> {
        let affordable = self.deadline.saturating_duration_since(Instant::now()).saturating_sub(request_timeout);
        let wait = self.limiter.reserve(provider, affordable).await.map_err(ProviderError::Deferred)?;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

/// A source of market data for one symbol, and of daily FX rates.
pub trait Provider: Send + Sync {
    /// The provider's name (`yahoo-chart`, `alpha-vantage`, `offline`): also its rate-limit key.
    fn name(&self) -> &str;
    /// The longest one HTTP request may take.
    fn request_timeout(&self) -> Duration;
    fn fetch<'a>(&'a self, symbol: &'a Symbol, context: &'a RequestContext) -> BoxFuture<'a, Result<MarketData, ProviderError>>;
    /// The recent daily rates of `currency` against USD (USD per unit, `bourse_domain::fx`),
    /// oldest first; [`ProviderError::UnknownSymbol`] for a currency the provider does not quote.
    fn fetch_fx<'a>(&'a self, currency: Currency, context: &'a RequestContext) -> BoxFuture<'a, Result<FxSeries, ProviderError>>;
}

/// Decimal places of a fetched FX rate.
pub const FX_PLACES: u32 = 10;

/// A provider's daily rates of one currency against USD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxSeries {
    /// The provider's name: stored with every rate.
    pub source: String,
    /// Generated rates (the offline provider), never market data.
    pub generated: bool,
    pub points: Vec<RatePoint>,
}

/// The rates of `currency` from the first provider (in order of preference) that gives them; the
/// errors of every provider tried otherwise. One attempt each: the daily refresh fetches again
/// tomorrow, and a day without a new rate carries the last one.
pub async fn fetch_fx_first(
    providers: &[Arc<dyn Provider>],
    currency: Currency,
    context: &RequestContext,
) -> Result<FxSeries, Vec<(String, ProviderError)>> {
    let mut errors = Vec::new();
    for provider in providers {
        match provider.fetch_fx(currency, context).await {
            Ok(series) if !series.points.is_empty() => return Ok(series),
            Ok(_) => errors.push((provider.name().to_owned(), ProviderError::Malformed("no rates".into()))),
            Err(err) => errors.push((provider.name().to_owned(), err)),
        }
    }
    Err(errors)
}

/// The configured providers, in order of preference, and the rate limits they share.
pub type Configured = (Vec<Arc<dyn Provider>>, Arc<RateLimiter>);

/// Why the configured providers could not be built (a deployment error, found at start-up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Tls(#[from] bourse_config::trust::TlsError),
    #[error("the API key in secret {0} must be read before the providers are built")]
    UnreadSecret(String),
    #[error("alpha-vantage needs an API key (PROVIDER_API_KEY_SECRET_ALPHA_VANTAGE)")]
    MissingApiKey,
    #[error("unknown market-data provider {0:?}")]
    UnknownProvider(String),
}

/// Builds the configured providers (in order of preference) and the rate limits they share.
pub fn from_settings(
    settings: &[bourse_config::ProviderSetting],
    ca_bundle: &bourse_config::CaBundle,
    cache: Option<Arc<bourse_cache::Cache>>,
    max_concurrency: u32,
) -> Result<Configured, SetupError> {
    let needs_tls = settings.iter().any(|s| s.base_url.as_ref().is_some_and(|u| u.as_str().starts_with("https://")));
    let http = http_client::HttpClient::new(needs_tls.then_some(ca_bundle))?;
    let mut limits = Vec::new();
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    for setting in settings {
        let base = setting.base_url.as_ref().map(|u| u.as_str().trim_end_matches('/').to_owned());
        let provider: Arc<dyn Provider> = match (setting.kind.as_str(), base) {
            ("offline", _) => Arc::new(offline::Offline::bundled()),
            ("yahoo-chart", Some(base)) => Arc::new(yahoo::YahooChart::new(http.clone(), base)),
            ("alpha-vantage", Some(base)) => {
                let key = match &setting.api_key {
                    Some(bourse_config::SecretSource::Inline(key)) => key.expose().to_owned(),
                    Some(bourse_config::SecretSource::SecretsManager { secret_id, .. }) => {
                        return Err(SetupError::UnreadSecret(secret_id.to_string()));
                    }
                    None => return Err(SetupError::MissingApiKey),
                };
                Arc::new(alpha_vantage::AlphaVantage::new(http.clone(), base, key))
            }
            (kind, _) => return Err(SetupError::UnknownProvider(kind.to_owned())),
        };
        limits.push((provider.name().to_owned(), setting.requests_per_second));
        providers.push(provider);
    }
    Ok((providers, Arc::new(RateLimiter::new(cache, &limits, max_concurrency))))
}

/// `symbol` as both HTTP providers write it: a share class with a dash (`BRK.B` → `BRK-B`).
pub(crate) fn remote_symbol(symbol: &Symbol) -> String {
    symbol.as_str().replace('.', "-")
}

/// A decimal from a JSON number or numeric string, rounded to 6 places; `None` for null,
/// "None", "-", or anything that is not a finite number.
pub(crate) fn decimal(value: &serde_json::Value) -> Option<rust_decimal::Decimal> {
    decimal_places(value, 6)
}

/// [`decimal`] to `places` (FX rates keep 10: a yen is worth less than a cent).
pub(crate) fn decimal_places(value: &serde_json::Value, places: u32) -> Option<rust_decimal::Decimal> {
    use std::str::FromStr;
    let text = match value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    rust_decimal::Decimal::from_str(&text)
        .or_else(|_| rust_decimal::Decimal::from_scientific(&text))
        .ok()
        .map(|d| d.round_dp(places).normalize())
}
