//! A client of the Yahoo Finance chart API's JSON format.
//!
//! Endpoint: `GET {base}/v8/finance/chart/{symbol}?range=2y&interval=1d` (class separators are
//! dashes there: `BRK.B` → `BRK-B`). One request per symbol. Fields used:
//! - `chart.result[0].meta`: `regularMarketPrice` (price), `regularMarketTime` (epoch seconds of
//!   the price), `fiftyTwoWeekHigh`, `fiftyTwoWeekLow`;
//! - `chart.result[0].timestamp[]` (epoch seconds) with `indicators.quote[0].close[]` (nullable:
//!   missing days are skipped) → daily closes;
//! - errors: HTTP 404 with `chart.error.code = "Not Found"` → unknown symbol; 429 (with
//!   `Retry-After`) → rate limited; 5xx → server error; anything else unparsable → malformed.
//!
//! FX: the same endpoint for the pair's symbol, `GET {base}/v8/finance/chart/EURUSD=X?range=1mo&interval=1d`
//! (USD per EUR); its daily closes are the rates.

use crate::http_client::{HttpClient, common_status, json};
use crate::{FX_PLACES, FxSeries, Provider, ProviderError, RequestContext, decimal, decimal_places};
use bourse_domain::Symbol;
use bourse_domain::fx::RatePoint;
use bourse_domain::history::PricePoint;
use bourse_domain::market_data::MarketData;
use bourse_domain::money::Currency;
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::time::Duration;

pub const NAME: &str = "yahoo-chart";

pub struct YahooChart {
    http: HttpClient,
    base: String,
    timeout: Duration,
}

impl YahooChart {
    pub fn new(http: HttpClient, base: String) -> Self {
        YahooChart { http, base, timeout: Duration::from_secs(4) }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Provider for YahooChart {
    fn name(&self) -> &str {
        NAME
    }

    fn request_timeout(&self) -> Duration {
        self.timeout
    }

    fn fetch<'a>(&'a self, symbol: &'a Symbol, context: &'a RequestContext) -> BoxFuture<'a, Result<MarketData, ProviderError>> {
        Box::pin(async move {
            context.permit(NAME, self.timeout).await?;
            let remote = crate::remote_symbol(symbol);
            let url = format!("{}/v8/finance/chart/{remote}?range=2y&interval=1d", self.base);
            let response = self.http.get(&url, self.timeout).await?;
            common_status(&response)?;
            let body = json(&response)?;
            parse_chart(symbol, response.status, &body)
        })
    }

    fn fetch_fx<'a>(&'a self, currency: Currency, context: &'a RequestContext) -> BoxFuture<'a, Result<FxSeries, ProviderError>> {
        Box::pin(async move {
            context.permit(NAME, self.timeout).await?;
            let url = format!("{}/v8/finance/chart/{}=X?range=1mo&interval=1d", self.base, bourse_domain::fx::pair(currency));
            let response = self.http.get(&url, self.timeout).await?;
            common_status(&response)?;
            let body = json(&response)?;
            Ok(FxSeries { source: NAME.into(), generated: false, points: parse_fx_chart(response.status, &body)? })
        })
    }
}

/// Parses a chart answer (any status: the error shape comes with 404).
pub fn parse_chart(symbol: &Symbol, status: u16, body: &Value) -> Result<MarketData, ProviderError> {
    let (meta, history) = chart_closes(status, body, 4)?;
    let as_of = meta
        .get("regularMarketTime")
        .and_then(Value::as_i64)
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(|t| t.date())
        .or_else(|| history.last().map(|p| p.date));
    let price = meta.get("regularMarketPrice").and_then(decimal);
    if price.is_none() && history.is_empty() {
        return Err(ProviderError::Malformed("neither a price nor closes".into()));
    }
    Ok(MarketData {
        symbol: Some(symbol.clone()),
        source: NAME.into(),
        as_of,
        price,
        week52_high: meta.get("fiftyTwoWeekHigh").and_then(decimal),
        week52_low: meta.get("fiftyTwoWeekLow").and_then(decimal),
        history,
        ..Default::default()
    })
}

/// Parses the chart answer of an FX pair (`EURUSD=X`): its daily closes are the rates, to
/// [`crate::FX_PLACES`].
pub fn parse_fx_chart(status: u16, body: &Value) -> Result<Vec<RatePoint>, ProviderError> {
    let (_, closes) = chart_closes(status, body, FX_PLACES)?;
    if closes.is_empty() {
        return Err(ProviderError::Malformed("no rates".into()));
    }
    Ok(closes.into_iter().map(|p| RatePoint { date: p.date, rate: p.close }).collect())
}

/// The `meta` and the daily closes (to `places`) of a chart answer, or its error.
fn chart_closes(status: u16, body: &Value, places: u32) -> Result<(&Value, Vec<PricePoint>), ProviderError> {
    let chart = body.get("chart").ok_or_else(|| ProviderError::Malformed("no chart".into()))?;
    if let Some(error) = chart.get("error").filter(|e| !e.is_null()) {
        let code = error.get("code").and_then(Value::as_str).unwrap_or_default();
        return Err(if code == "Not Found" || status == 404 {
            ProviderError::UnknownSymbol
        } else {
            ProviderError::Malformed(format!("chart error {code}"))
        });
    }
    if status != 200 {
        return Err(ProviderError::Malformed(format!("HTTP {status}")));
    }
    let result = chart.get("result").and_then(|r| r.get(0)).ok_or(ProviderError::UnknownSymbol)?;
    let meta = result.get("meta").ok_or_else(|| ProviderError::Malformed("no meta".into()))?;
    let timestamps = result.get("timestamp").and_then(Value::as_array).cloned().unwrap_or_default();
    let closes = result.pointer("/indicators/quote/0/close").and_then(Value::as_array).cloned().unwrap_or_default();
    if timestamps.len() != closes.len() {
        return Err(ProviderError::Malformed(format!("{} timestamps for {} closes", timestamps.len(), closes.len())));
    }
    let mut history: Vec<PricePoint> = Vec::with_capacity(closes.len());
    for (ts, close) in timestamps.iter().zip(&closes) {
        let (Some(ts), Some(close)) = (ts.as_i64(), decimal_places(close, places)) else { continue };
        let date = time::OffsetDateTime::from_unix_timestamp(ts).map_err(|e| ProviderError::Malformed(e.to_string()))?.date();
        match history.last_mut() {
            Some(last) if last.date == date => last.close = close,
            _ => history.push(PricePoint { date, close }),
        }
    }
    Ok((meta, history))
}
