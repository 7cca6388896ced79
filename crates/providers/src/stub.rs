//! Local stand-ins for the providers, for tests and benchmarks only: a tiny HTTP/1.1 server bound
//! to 127.0.0.1 on an ephemeral port that replays the Yahoo-chart or Alpha-Vantage JSON format
//! with deterministic data, an optional latency, an optional server-side rate limit (GCRA, burst
//! 2, answering 429 with `Retry-After` when exceeded, and counting those), and failure modes
//! chosen by symbol:
//!
//! | symbol | answer |
//! | --- | --- |
//! | `ZZRATE` | 429 with `Retry-After: 1` on the symbol's first request, then normal |
//! | `ZZFAIL` | 503 every time |
//! | `ZZSLOW` | never answers within any sane timeout (30 s) |
//! | `ZZTRUNC` | 200 with the JSON cut in half |
//! | `ZZBAD` | 200 with an HTML page |
//! | `ZZNONE` | the provider's unknown-symbol answer |
//!
//! Every other symbol gets a price derived from its name (plus `price_bump`), a history of
//! `history_days` trading days ending `today`, and fundamentals.
//!
//! FX rates (`/v8/finance/chart/EURUSD=X`, `function=FX_DAILY&from_symbol=EUR&to_symbol=USD`)
//! are the generated series of `bourse_domain::fx::generated` over the 30 days to `today`, in
//! each provider's format, with failure modes chosen by currency:
//!
//! | currency | answer |
//! | --- | --- |
//! | `SEK` | rate limited on the currency's first request (429 with `Retry-After: 1`; Alpha Vantage's 200 `{"Note": …}`), then normal |
//! | `NOK` | 503 every time |
//! | `DKK` | the provider's unknown-symbol answer |

use bourse_domain::gcra::{LocalGcra, Rate, Reservation};
use bourse_domain::history::trading_days;
use bourse_domain::indicators::generate_closes;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StubFormat {
    YahooChart,
    AlphaVantage,
}

#[derive(Debug, Clone)]
pub struct StubConfig {
    pub format: StubFormat,
    pub latency: Duration,
    /// Server-side limit in requests per second (burst 2); `None` = unlimited.
    pub rate_per_second: Option<u32>,
    /// Added to every generated price, so a test can tell fresh data from the seed's.
    pub price_bump: Decimal,
    pub history_days: usize,
    pub today: time::Date,
    /// The API key Alpha Vantage requests must carry.
    pub api_key: String,
    /// Every n-th request is answered 503 (a storm of upstream failures); `None` = never.
    pub fail_every: Option<u64>,
}

impl StubConfig {
    pub fn new(format: StubFormat) -> Self {
        StubConfig {
            format,
            latency: Duration::ZERO,
            rate_per_second: None,
            price_bump: Decimal::ZERO,
            history_days: 300,
            today: time::OffsetDateTime::now_utc().date(),
            api_key: "test-key".into(),
            fail_every: None,
        }
    }
}

/// What the stub saw.
#[derive(Debug, Default)]
pub struct StubStats {
    pub requests: AtomicU64,
    /// Requests refused by the server-side rate limit (429s Bourse caused).
    pub throttled: AtomicU64,
    /// Arrival time of every request.
    pub arrivals: Mutex<Vec<Instant>>,
}

impl StubStats {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::SeqCst)
    }

    /// The most requests that arrived within any window of `window` (sliding over arrivals).
    pub fn max_in_window(&self, window: Duration) -> usize {
        let mut arrivals = self.arrivals.lock().map(|a| a.clone()).unwrap_or_default();
        arrivals.sort();
        let mut best = 0;
        let mut start = 0;
        for end in 0..arrivals.len() {
            while arrivals[end].duration_since(arrivals[start]) >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }
}

pub struct StubServer {
    pub base_url: String,
    pub stats: Arc<StubStats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    config: StubConfig,
    stats: Arc<StubStats>,
    limit: Option<LocalGcra>,
    origin: Instant,
    rate_limited_once: Mutex<HashSet<String>>,
}

impl StubServer {
    /// Starts a stub on 127.0.0.1 with an ephemeral port.
    pub async fn start(config: StubConfig) -> std::io::Result<StubServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(StubStats::default());
        let limit = config.rate_per_second.map(|r| LocalGcra::new(Rate::new(f64::from(r), 2)));
        let state =
            Arc::new(State { config, stats: stats.clone(), limit, origin: Instant::now(), rate_limited_once: Mutex::new(HashSet::new()) });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &state).await;
                });
            }
        });
        Ok(StubServer { base_url, stats, task })
    }
}

async fn serve(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buffer.len() > 16 * 1024 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let arrived = Instant::now();
    let number = state.stats.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if let Ok(mut arrivals) = state.stats.arrivals.lock() {
        arrivals.push(arrived);
    }
    let text = String::from_utf8_lossy(&buffer);
    let target = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let over_limit = state
        .limit
        .as_ref()
        .is_some_and(|l| matches!(l.reserve(arrived.duration_since(state.origin).as_micros() as i64, 0), Reservation::Deferred { .. }));
    let storm = state.config.fail_every.is_some_and(|n| n > 0 && number.is_multiple_of(n));
    let (status, extra, body) = if storm {
        (503, "", b"{\"message\":\"upstream unavailable (storm)\"}".to_vec())
    } else if over_limit {
        state.stats.throttled.fetch_add(1, Ordering::SeqCst);
        (429, "Retry-After: 1\r\n", br#"{"error":"too many requests"}"#.to_vec())
    } else {
        if !state.config.latency.is_zero() {
            tokio::time::sleep(state.config.latency).await;
        }
        answer(state, &target).await
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    target.split_once('?')?.1.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

async fn answer(state: &State, target: &str) -> (u16, &'static str, Vec<u8>) {
    let (format, config) = (state.config.format, &state.config);
    let fx = match format {
        StubFormat::YahooChart => {
            target.strip_prefix("/v8/finance/chart/").and_then(|rest| rest.split('?').next()).and_then(|s| s.strip_suffix("USD=X"))
        }
        StubFormat::AlphaVantage => query_param(target, "from_symbol").filter(|_| query_param(target, "function") == Some("FX_DAILY")),
    };
    if let Some(code) = fx {
        return fx_answer(state, target, code);
    }
    let symbol = match format {
        StubFormat::YahooChart => target.strip_prefix("/v8/finance/chart/").and_then(|rest| rest.split('?').next()).unwrap_or_default(),
        StubFormat::AlphaVantage => query_param(target, "symbol").unwrap_or_default(),
    }
    .to_owned();
    match symbol.as_str() {
        "ZZRATE" => {
            let first = state.rate_limited_once.lock().map(|mut s| s.insert(symbol.clone())).unwrap_or(false);
            if first {
                return (429, "Retry-After: 1\r\n", br#"{"error":"slow down"}"#.to_vec());
            }
        }
        "ZZFAIL" => return (503, "", b"{\"message\":\"upstream unavailable\"}".to_vec()),
        "ZZSLOW" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        "ZZBAD" => return (200, "", b"<html><body>Service maintenance</body></html>".to_vec()),
        _ => {}
    }
    let body = match format {
        StubFormat::YahooChart => yahoo_body(config, &symbol),
        StubFormat::AlphaVantage => {
            if query_param(target, "apikey") != Some(config.api_key.as_str()) {
                (200, json!({"Error Message": "the parameter apikey is invalid or missing"}))
            } else {
                alpha_vantage_body(config, &symbol, query_param(target, "function").unwrap_or_default())
            }
        }
    };
    let mut bytes = serde_json::to_vec(&body.1).unwrap_or_default();
    if symbol == "ZZTRUNC" {
        bytes.truncate(bytes.len() / 2);
    }
    (body.0, "", bytes)
}

/// An FX answer in the stub's format (see the module's table of failure modes).
fn fx_answer(state: &State, target: &str, code: &str) -> (u16, &'static str, Vec<u8>) {
    let yahoo = state.config.format == StubFormat::YahooChart;
    let body = |value: Value| serde_json::to_vec(&value).unwrap_or_default();
    if !yahoo && query_param(target, "apikey") != Some(state.config.api_key.as_str()) {
        return (200, "", body(json!({"Error Message": "the parameter apikey is invalid or missing"})));
    }
    let currency = bourse_domain::money::Currency::parse_supported(code).ok().filter(|_| code != "DKK" && code != "USD");
    match (code, currency) {
        ("SEK", _) if state.rate_limited_once.lock().map(|mut s| s.insert(format!("FX#{code}"))).unwrap_or(false) => {
            if yahoo {
                (429, "Retry-After: 1\r\n", body(json!({"error": "slow down"})))
            } else {
                let note = "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day.";
                (200, "", body(json!({"Note": note})))
            }
        }
        ("NOK", _) => (503, "", body(json!({"message": "upstream unavailable"}))),
        (_, None) if yahoo => (
            404,
            "",
            body(
                json!({"chart": {"result": null, "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}}),
            ),
        ),
        (_, None) => (200, "", body(json!({"Error Message": "Invalid API call. Please retry or visit the documentation for FX_DAILY."}))),
        (_, Some(currency)) => {
            let today = state.config.today;
            let points = bourse_domain::fx::generated(currency, today - time::Duration::days(30), today);
            (200, "", body(if yahoo { yahoo_fx_body(code, &points) } else { alpha_vantage_fx_body(code, &points) }))
        }
    }
}

fn yahoo_fx_body(code: &str, points: &[bourse_domain::fx::RatePoint]) -> Value {
    let stamp = |d: &time::Date| d.midnight().assume_utc().unix_timestamp();
    let last = points.last().map(|p| p.rate).unwrap_or_default();
    json!({"chart": {"result": [{
        "meta": {"currency": "USD", "symbol": format!("{code}USD=X"), "exchangeName": "CCY", "instrumentType": "CURRENCY",
                 "regularMarketPrice": number(last), "regularMarketTime": points.last().map(|p| stamp(&p.date)),
                 "dataGranularity": "1d", "range": "1mo"},
        "timestamp": points.iter().map(|p| stamp(&p.date)).collect::<Vec<_>>(),
        "indicators": {"quote": [{"close": points.iter().map(|p| number(p.rate)).collect::<Vec<_>>()}]}
    }], "error": null}})
}

fn alpha_vantage_fx_body(code: &str, points: &[bourse_domain::fx::RatePoint]) -> Value {
    let mut days = serde_json::Map::new();
    for point in points.iter().rev() {
        let r = point.rate.to_string();
        days.insert(point.date.to_string(), json!({"1. open": r, "2. high": r, "3. low": r, "4. close": r}));
    }
    json!({
        "Meta Data": {"1. Information": "Forex Daily Prices (open, high, low, close)", "2. From Symbol": code, "3. To Symbol": "USD",
                      "4. Output Size": "Compact", "5. Last Refreshed": points.last().map(|p| p.date.to_string()), "6. Time Zone": "UTC"},
        "Time Series FX (Daily)": days
    })
}

/// The deterministic series of a symbol: (dates, closes), the last close being the price.
pub fn series(config: &StubConfig, symbol: &str) -> (Vec<time::Date>, Vec<Decimal>) {
    let seed = symbol.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let price = Decimal::from(50 + (seed % 400) as i64) + Decimal::new((seed % 100) as i64, 2) + config.price_bump;
    let closes = generate_closes(seed, config.history_days, price, None, None);
    (trading_days(config.today, closes.len()), closes)
}

fn number(value: Decimal) -> Value {
    json!(value.to_string().parse::<f64>().unwrap_or_default())
}

fn yahoo_body(config: &StubConfig, symbol: &str) -> (u16, Value) {
    if symbol == "ZZNONE" {
        return (
            404,
            json!({"chart": {"result": null, "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}}),
        );
    }
    let (dates, closes) = series(config, symbol);
    let stamp = |d: &time::Date| d.with_hms(14, 30, 0).map(|t| t.assume_utc().unix_timestamp()).unwrap_or_default();
    let timestamps: Vec<i64> = dates.iter().map(stamp).collect();
    let year = &closes[closes.len().saturating_sub(252)..];
    (
        200,
        json!({"chart": {"result": [{
            "meta": {
                "currency": "USD", "symbol": symbol, "exchangeName": "NMS", "instrumentType": "EQUITY",
                "regularMarketPrice": number(*closes.last().unwrap_or(&Decimal::ZERO)),
                "regularMarketTime": timestamps.last().map(|t| t + 23_400),
                "fiftyTwoWeekHigh": number(*year.iter().max().unwrap_or(&Decimal::ZERO)),
                "fiftyTwoWeekLow": number(*year.iter().min().unwrap_or(&Decimal::ZERO)),
                "chartPreviousClose": number(closes[0]), "dataGranularity": "1d", "range": "2y"
            },
            "timestamp": timestamps,
            "indicators": {"quote": [{"close": closes.iter().map(|c| number(*c)).collect::<Vec<_>>()}]}
        }], "error": null}}),
    )
}

fn alpha_vantage_body(config: &StubConfig, symbol: &str, function: &str) -> (u16, Value) {
    let unknown = symbol == "ZZNONE";
    match function {
        "TIME_SERIES_DAILY" if unknown => {
            (200, json!({"Error Message": "Invalid API call. Please retry or visit the documentation for TIME_SERIES_DAILY."}))
        }
        "TIME_SERIES_DAILY" => {
            let (dates, closes) = series(config, symbol);
            let mut days = serde_json::Map::new();
            for (date, close) in dates.iter().zip(&closes).rev() {
                let c = close.to_string();
                days.insert(date.to_string(), json!({"1. open": c, "2. high": c, "3. low": c, "4. close": c, "5. volume": "1000000"}));
            }
            (
                200,
                json!({
                    "Meta Data": {"1. Information": "Daily Prices (open, high, low, close) and Volumes", "2. Symbol": symbol,
                                  "3. Last Refreshed": dates.last().map(|d| d.to_string()), "4. Output Size": "Full size", "5. Time Zone": "US/Eastern"},
                    "Time Series (Daily)": days
                }),
            )
        }
        "OVERVIEW" if unknown => (200, json!({})),
        "OVERVIEW" => {
            let (_, closes) = series(config, symbol);
            let price = *closes.last().unwrap_or(&Decimal::ONE);
            (
                200,
                json!({
                    "Symbol": symbol, "AssetType": "Common Stock", "Name": format!("{symbol} Inc"),
                    "MarketCapitalization": (price * Decimal::from(1_000_000_000u64)).trunc().to_string(),
                    "PERatio": "21.5", "EPS": (price / Decimal::from(21)).round_dp(2).to_string(), "DividendYield": "0.0123",
                    "52WeekHigh": closes.iter().max().map(|d| d.to_string()), "52WeekLow": closes.iter().min().map(|d| d.to_string())
                }),
            )
        }
        _ => (200, json!({"Error Message": "This API function does not exist."})),
    }
}
