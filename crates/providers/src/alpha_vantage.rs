//! A client of the Alpha Vantage API's JSON format (API key required).
//!
//! Two requests per symbol, each counted against the rate limit:
//! - `GET {base}/query?function=TIME_SERIES_DAILY&symbol={symbol}&outputsize=full&apikey={key}`:
//!   `"Meta Data"."3. Last Refreshed"` (the day of the price) and `"Time Series (Daily)"`, a map
//!   of `YYYY-MM-DD` → `{"4. close": "…"}` → daily closes, the last one being the price;
//! - `GET {base}/query?function=OVERVIEW&symbol={symbol}&apikey={key}`: `MarketCapitalization`,
//!   `PERatio`, `EPS`, `DividendYield`, `52WeekHigh`, `52WeekLow` (strings; `"None"` or `"-"`
//!   when unknown). An empty object means no fundamentals; its failure only loses them.
//!
//! FX: `GET {base}/query?function=FX_DAILY&from_symbol=EUR&to_symbol=USD&apikey={key}`:
//! `"Time Series FX (Daily)"`, a map of `YYYY-MM-DD` → `{"4. close": "…"}` (USD per EUR).
//!
//! Errors: `{"Error Message": …}` → unknown symbol (or currency); `{"Note": …}` or `{"Information": …}` (how the
//! API reports a rate limit, with HTTP 200) or HTTP 429 → rate limited; 5xx → server error.

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

pub const NAME: &str = "alpha-vantage";

pub struct AlphaVantage {
    http: HttpClient,
    base: String,
    key: String,
    timeout: Duration,
}

impl AlphaVantage {
    pub fn new(http: HttpClient, base: String, key: String) -> Self {
        AlphaVantage { http, base, key, timeout: Duration::from_secs(4) }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// One request of `function` with the query `parameters` (`&name=value…`).
    async fn query(&self, function: &str, parameters: &str, context: &RequestContext) -> Result<Value, ProviderError> {
        context.permit(NAME, self.timeout).await?;
        let url = format!("{}/query?function={function}{parameters}&apikey={}", self.base, self.key);
        let response = self.http.get(&url, self.timeout).await?;
        common_status(&response)?;
        if response.status != 200 {
            return Err(ProviderError::Malformed(format!("HTTP {}", response.status)));
        }
        let body = json(&response)?;
        if body.get("Note").is_some() || body.get("Information").is_some() {
            return Err(ProviderError::RateLimited { retry_after: None });
        }
        if body.get("Error Message").is_some() {
            return Err(ProviderError::UnknownSymbol);
        }
        Ok(body)
    }
}

impl Provider for AlphaVantage {
    fn name(&self) -> &str {
        NAME
    }

    fn request_timeout(&self) -> Duration {
        self.timeout
    }

    fn fetch<'a>(&'a self, symbol: &'a Symbol, context: &'a RequestContext) -> BoxFuture<'a, Result<MarketData, ProviderError>> {
        Box::pin(async move {
            let remote = crate::remote_symbol(symbol);
            let series = self.query("TIME_SERIES_DAILY", &format!("&symbol={remote}&outputsize=full"), context).await?;
            let mut data = parse_daily(symbol, &series)?;
            match self.query("OVERVIEW", &format!("&symbol={remote}"), context).await {
                Ok(overview) => add_overview(&mut data, &overview),
                Err(err @ ProviderError::Deferred(_)) => return Err(err),
                Err(err) => {
                    tracing::info!(symbol = %symbol, error = %err, "alpha-vantage overview unavailable; fundamentals left to other providers")
                }
            }
            Ok(data)
        })
    }

    fn fetch_fx<'a>(&'a self, currency: Currency, context: &'a RequestContext) -> BoxFuture<'a, Result<FxSeries, ProviderError>> {
        Box::pin(async move {
            let body = self.query("FX_DAILY", &format!("&from_symbol={currency}&to_symbol=USD"), context).await?;
            Ok(FxSeries { source: NAME.into(), generated: false, points: parse_fx_daily(&body)? })
        })
    }
}

/// Parses `FX_DAILY`: the daily closes are the rates.
pub fn parse_fx_daily(body: &Value) -> Result<Vec<RatePoint>, ProviderError> {
    let series = body
        .get("Time Series FX (Daily)")
        .and_then(Value::as_object)
        .ok_or_else(|| ProviderError::Malformed("no \"Time Series FX (Daily)\"".into()))?;
    let mut points = Vec::with_capacity(series.len());
    for (day, values) in series {
        let date = bourse_domain::text::parse_date(day).map_err(|e| ProviderError::Malformed(format!("date {day:?}: {e}")))?;
        let Some(rate) = values.get("4. close").and_then(|v| decimal_places(v, FX_PLACES)).filter(|r| *r > rust_decimal::Decimal::ZERO)
        else {
            continue;
        };
        points.push(RatePoint { date, rate });
    }
    points.sort_by_key(|p| p.date);
    if points.is_empty() {
        return Err(ProviderError::Malformed("no rates".into()));
    }
    Ok(points)
}

/// Parses `TIME_SERIES_DAILY`.
pub fn parse_daily(symbol: &Symbol, body: &Value) -> Result<MarketData, ProviderError> {
    let series = body
        .get("Time Series (Daily)")
        .and_then(Value::as_object)
        .ok_or_else(|| ProviderError::Malformed("no \"Time Series (Daily)\"".into()))?;
    let mut history = Vec::with_capacity(series.len());
    for (day, values) in series {
        let date = bourse_domain::text::parse_date(day).map_err(|e| ProviderError::Malformed(format!("date {day:?}: {e}")))?;
        let Some(close) = values.get("4. close").and_then(decimal) else { continue };
        history.push(PricePoint { date, close });
    }
    history.sort_by_key(|p| p.date);
    let last = history.last().ok_or(ProviderError::UnknownSymbol)?;
    Ok(MarketData {
        symbol: Some(symbol.clone()),
        source: NAME.into(),
        as_of: Some(last.date),
        price: Some(last.close),
        history,
        ..Default::default()
    })
}

/// Adds `OVERVIEW`'s fundamentals.
pub fn add_overview(data: &mut MarketData, body: &Value) {
    let field = |name: &str| body.get(name).and_then(decimal);
    data.market_cap = field("MarketCapitalization");
    data.pe = field("PERatio");
    data.eps = field("EPS");
    data.dividend_yield = field("DividendYield");
    data.week52_high = field("52WeekHigh");
    data.week52_low = field("52WeekLow");
}
