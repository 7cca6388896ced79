//! Each real client against a local stub replaying its provider's format: good answers, 429 with
//! `Retry-After`, 5xx, timeouts, truncated and malformed JSON, unknown symbols; fallback between
//! providers and the data-quality choice. No network beyond 127.0.0.1.

use bourse_domain::Symbol;
use bourse_domain::money::Currency;
use bourse_domain::stock::{Metric, Stock};
use bourse_providers::alpha_vantage::AlphaVantage;
use bourse_providers::http_client::HttpClient;
use bourse_providers::offline::Offline;
use bourse_providers::stub::{StubConfig, StubFormat, StubServer};
use bourse_providers::yahoo::YahooChart;
use bourse_providers::{FetchOutcome, Provider, ProviderError, RateLimiter, RequestContext, fetch_best, fetch_fx_first};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn context(seconds: u64) -> RequestContext {
    let limits = vec![("yahoo-chart".to_owned(), 1000), ("alpha-vantage".to_owned(), 1000)];
    RequestContext { limiter: Arc::new(RateLimiter::new(None, &limits, 1)), deadline: Instant::now() + Duration::from_secs(seconds) }
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

async fn stubs() -> (StubServer, StubServer, Arc<dyn Provider>, Arc<dyn Provider>) {
    let yahoo = StubServer::start(StubConfig::new(StubFormat::YahooChart)).await.unwrap();
    let av = StubServer::start(StubConfig::new(StubFormat::AlphaVantage)).await.unwrap();
    let http = HttpClient::new(None).unwrap();
    let y: Arc<dyn Provider> = Arc::new(YahooChart::new(http.clone(), yahoo.base_url.clone()).with_timeout(Duration::from_millis(500)));
    let a: Arc<dyn Provider> =
        Arc::new(AlphaVantage::new(http, av.base_url.clone(), "test-key".into()).with_timeout(Duration::from_millis(500)));
    (yahoo, av, y, a)
}

#[tokio::test]
async fn both_clients_parse_their_providers_answers() {
    let (_ys, _as, yahoo, av) = stubs().await;
    let ctx = context(10);
    let y = yahoo.fetch(&sym("AAPL"), &ctx).await.unwrap();
    let a = av.fetch(&sym("AAPL"), &ctx).await.unwrap();
    assert_eq!(y.history.len(), 300);
    assert_eq!(a.history.len(), 300);
    assert_eq!(y.price, a.price, "both stubs derive the same series");
    assert_eq!(y.price, y.history.last().map(|p| p.close));
    assert!(y.week52_high.is_some() && y.market_cap.is_none());
    assert!(a.market_cap.is_some() && a.pe == Some(Decimal::new(215, 1)));
    assert!(y.history_is_sane() && a.history_is_sane());
    // BRK.B is asked for as BRK-B and answered under our symbol.
    assert_eq!(yahoo.fetch(&sym("BRK.B"), &ctx).await.unwrap().symbol, Some(sym("BRK.B")));
}

#[tokio::test]
async fn every_failure_mode_is_typed() {
    let (_ys, _as, yahoo, av) = stubs().await;
    let ctx = context(10);
    for provider in [&yahoo, &av] {
        let name = provider.name();
        assert_eq!(provider.fetch(&sym("ZZNONE"), &ctx).await.unwrap_err(), ProviderError::UnknownSymbol, "{name}");
        assert_eq!(provider.fetch(&sym("ZZFAIL"), &ctx).await.unwrap_err(), ProviderError::Server(503), "{name}");
        assert!(matches!(provider.fetch(&sym("ZZTRUNC"), &ctx).await.unwrap_err(), ProviderError::Malformed(_)), "{name}");
        assert!(matches!(provider.fetch(&sym("ZZBAD"), &ctx).await.unwrap_err(), ProviderError::Malformed(_)), "{name}");
        let started = Instant::now();
        assert_eq!(provider.fetch(&sym("ZZSLOW"), &ctx).await.unwrap_err(), ProviderError::Timeout, "{name}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            provider.fetch(&sym("ZZRATE"), &ctx).await.unwrap_err(),
            ProviderError::RateLimited { retry_after: Some(Duration::from_secs(1)) },
            "{name}"
        );
    }
    // A wrong API key is refused, not mistaken for data.
    let http = HttpClient::new(None).unwrap();
    let wrong = AlphaVantage::new(http, _as.base_url.clone(), "nope".into());
    assert!(wrong.fetch(&sym("AAPL"), &ctx).await.is_err());
}

#[tokio::test]
async fn retries_honour_retry_after_and_fallback_picks_the_best_answer() {
    let (ys, _as, yahoo, av) = stubs().await;
    let providers = vec![yahoo.clone(), av.clone()];
    // 429 then success: retried after Retry-After (1 s) by both providers.
    let started = Instant::now();
    let FetchOutcome::Found { data, quality, failures } = fetch_best(&providers, &sym("ZZRATE"), &context(10), today()).await else {
        panic!()
    };
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(failures.is_empty());
    assert_eq!(quality, 100, "history and fundamentals: {:?}", data.source);
    assert_eq!(data.source, "alpha-vantage", "the complete answer wins; the chart adds nothing it lacks");
    // One provider down: the other answers (fallback), and the batch goes on.
    let dead: Arc<dyn Provider> = Arc::new(YahooChart::new(HttpClient::new(None).unwrap(), "http://127.0.0.1:9".into()));
    let FetchOutcome::Found { data, failures, .. } = fetch_best(&[dead, av.clone()], &sym("MSFT"), &context(3), today()).await else {
        panic!()
    };
    assert_eq!(data.source, "alpha-vantage");
    assert_eq!(failures.len(), 1);
    // Unknown everywhere: permanent. Failing everywhere: transient, retried only while time allows.
    assert!(matches!(fetch_best(&providers, &sym("ZZNONE"), &context(5), today()).await, FetchOutcome::Unknown));
    let started = Instant::now();
    assert!(matches!(fetch_best(&providers, &sym("ZZFAIL"), &context(1), today()).await, FetchOutcome::Failed(f) if f.len() == 2));
    assert!(started.elapsed() < Duration::from_millis(1500), "no retry past the deadline");
    assert!(ys.stats.requests() > 0);
}

#[tokio::test]
async fn a_rate_limit_wait_past_the_deadline_defers_instead_of_waiting() {
    let (_ys, _as, yahoo, _) = stubs().await;
    let limits = vec![("yahoo-chart".to_owned(), 1)];
    let ctx =
        RequestContext { limiter: Arc::new(RateLimiter::new(None, &limits, 1)), deadline: Instant::now() + Duration::from_millis(900) };
    assert!(yahoo.fetch(&sym("AAPL"), &ctx).await.is_ok());
    let started = Instant::now();
    assert!(matches!(yahoo.fetch(&sym("MSFT"), &ctx).await, Err(ProviderError::Deferred(w)) if w > Duration::from_millis(500)));
    assert!(started.elapsed() < Duration::from_millis(100), "deferred at once, no sleeping");
}

#[tokio::test]
async fn the_offline_provider_serves_the_bundled_data_labelled_generated() {
    let offline = Offline::bundled();
    let ctx = context(1);
    let data = offline.fetch(&sym("MMM"), &ctx).await.unwrap();
    assert!(data.generated && data.history.len() == bourse_domain::history::GENERATED_DAYS);
    assert_eq!(offline.fetch(&sym("ZZNONE"), &ctx).await.unwrap_err(), ProviderError::UnknownSymbol);
    let mut stock = Stock::new(sym("MMM"), "3M".into());
    let score = bourse_domain::market_data::quality_score(&data, today());
    bourse_domain::market_data::apply(&mut stock, &data, score, "now");
    assert!(stock.history_generated && stock.metric(Metric::Sma200).is_some());
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

#[tokio::test]
async fn fx_rates_come_through_both_providers_formats_and_the_offline_one() {
    let (_ys, _as, yahoo, av) = stubs().await;
    let ctx = context(10);
    let today = time::OffsetDateTime::now_utc().date();
    let expected = bourse_domain::fx::generated(Currency::EUR, today - time::Duration::days(30), today);
    for provider in [&yahoo, &av] {
        let series = provider.fetch_fx(Currency::EUR, &ctx).await.unwrap();
        assert_eq!((series.source.as_str(), series.generated), (provider.name(), false));
        // The chart API's JSON numbers and Alpha Vantage's strings both give the exact rates.
        assert_eq!(series.points, expected, "{}", provider.name());
    }
    let offline = Offline::bundled().fetch_fx(Currency::EUR, &ctx).await.unwrap();
    assert_eq!((offline.source.as_str(), offline.generated, offline.points.len()), ("offline", true, expected.len()));
    assert_eq!(Offline::bundled().fetch_fx(Currency::USD, &ctx).await.unwrap_err(), ProviderError::UnknownSymbol);
}

#[tokio::test]
async fn fx_failures_are_typed_and_the_first_provider_that_answers_wins() {
    let (_ys, _as, yahoo, av) = stubs().await;
    let ctx = context(10);
    assert_eq!(
        yahoo.fetch_fx(currency("SEK"), &ctx).await.unwrap_err(),
        ProviderError::RateLimited { retry_after: Some(Duration::from_secs(1)) }
    );
    // Alpha Vantage says so with a 200 and a note.
    assert_eq!(av.fetch_fx(currency("SEK"), &ctx).await.unwrap_err(), ProviderError::RateLimited { retry_after: None });
    assert!(yahoo.fetch_fx(currency("SEK"), &ctx).await.is_ok(), "the limit was for the first request only");
    for provider in [&yahoo, &av] {
        assert_eq!(provider.fetch_fx(currency("NOK"), &ctx).await.unwrap_err(), ProviderError::Server(503), "{}", provider.name());
        assert_eq!(provider.fetch_fx(currency("DKK"), &ctx).await.unwrap_err(), ProviderError::UnknownSymbol, "{}", provider.name());
    }
    // The refresh's choice: the first provider that gives rates, or every error.
    let providers = [yahoo.clone(), av.clone()];
    assert_eq!(fetch_fx_first(&providers, Currency::EUR, &ctx).await.unwrap().source, "yahoo-chart");
    let errors = fetch_fx_first(&providers, currency("NOK"), &ctx).await.unwrap_err();
    assert_eq!(errors.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["yahoo-chart", "alpha-vantage"]);
}
