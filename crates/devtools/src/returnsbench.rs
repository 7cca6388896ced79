//! Returns benchmark: the value history rebuilt from the ledger and the returns (with per-holding
//! returns and the benchmark) of portfolios of 10, 100 and 500 holdings over 1, 5 and 10 years of
//! daily closes. For each: the median in-process handler time through the whole HTTP pipeline with
//! the cache entry absent (read from DynamoDB and computed) and cached, the DynamoDB requests and
//! consumed capacity of a computed call, and the median time of the computation alone (the
//! domain functions on the closes already read: what the function spends besides its reads).
//!
//! The symbols `RB0001`… get 10 years of generated daily closes (every weekday) written for the
//! run; each portfolio buys its holdings on the first day of the period and buys again every
//! quarter, so the flows are spread over the whole range.

use crate::benchsupport::{elapsed_ms, event, median};
use crate::portfoliobench::{access_token, summarise, user_of};
use crate::resources::DynError;
use bourse_domain::history::PricePoint;
use bourse_domain::money::Currency;
use bourse_domain::performance::{BENCHMARK_SYMBOL, daily_history, holding_returns};
use bourse_domain::returns::DateRange;
use bourse_domain::valuation::{LedgerTrade, Valuer};
use bourse_domain::{PortfolioId, Symbol};
use bourse_runtime::Platform;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;
use time::{Date, Duration, Weekday};

type App = bourse_http::HttpApp<portfolio_fn::PortfolioRoute, portfolio_fn::Portfolio>;

const HOLDINGS: [usize; 3] = [10, 100, 500];
const YEARS: [i64; 3] = [1, 5, 10];

fn body(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null)
}

fn symbol(i: usize) -> Symbol {
    Symbol::parse(&format!("RB{:04}", i + 1)).expect("a bench symbol")
}

/// Ten years of weekday closes ending `today`: a deterministic random walk per symbol.
fn closes(i: usize, today: Date) -> Vec<PricePoint> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64).wrapping_mul(0x0100_0000_01B3);
    let mut cents: i64 = 5_000 + (i as i64 * 137) % 20_000;
    let mut day = today - Duration::days(10 * 366);
    let mut out = Vec::with_capacity(2_700);
    while day <= today {
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let step = (state % 401) as i64 - 199; // −1.99 % … +2.01 %, drifting up
            cents = (cents + cents * step / 10_000).max(100);
            out.push(PricePoint { date: day, close: Decimal::new(cents, 2) });
        }
        day = day.next_day().expect("a date");
    }
    out
}

/// The CSV of a portfolio of `holdings` symbols from `first`: each bought on the first day and then
/// every quarter (fewer, evenly spaced rounds where the import's row limit needs it).
fn ledger_csv(holdings: usize, first: Date, today: Date) -> String {
    let days = (today - first).whole_days();
    let rounds = ((days / 91) as usize + 1).min(bourse_domain::import::MAX_ROWS / holdings).max(1);
    let mut csv = String::from("date,type,symbol,quantity,price,fees\n");
    for round in 0..rounds {
        let mut day = first + Duration::days(days * round as i64 / rounds as i64);
        while matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            day = day.previous_day().expect("a date");
        }
        for i in 0..holdings {
            csv.push_str(&format!("{},BUY,{},1,100,0\n", day.max(first), symbol(i)));
        }
    }
    csv
}

pub async fn run(runs: usize) -> Result<(), DynError> {
    bourse_telemetry::measure_capacity(true);
    let platform = Platform::from_env("portfolio")?;
    let market = platform.config.require_market_table()?.to_owned();
    let today = time::OffsetDateTime::now_utc().date();
    let started = Instant::now();
    let mut series: HashMap<Symbol, Vec<PricePoint>> = HashMap::new();
    let index = Symbol::parse(BENCHMARK_SYMBOL)?;
    // The benchmark's closes too: the seeded index covers a year only.
    for (i, name) in
        (0..=HOLDINGS[HOLDINGS.len() - 1]).map(|i| (i, if i == HOLDINGS[HOLDINGS.len() - 1] { index.clone() } else { symbol(i) }))
    {
        let points = closes(i, today);
        bourse_storage::market::put_history(&platform.aws, &market, name.as_str(), &points, true).await?;
        series.insert(name, points);
    }
    println!("wrote 10 years of closes for {} symbols (the benchmark's included) in {:.0} ms", series.len(), elapsed_ms(started));
    let token = access_token().await?;
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let app: App = portfolio_fn::app(Platform::from_env("portfolio")?)?;
    let cache = platform.cache.as_ref().ok_or("the benchmark needs the cache (CACHE_URL)")?;
    let user = user_of(&token)?;

    println!(
        "returns benchmark ({runs} runs per figure, medians; in-process handler time incl. the HTTP pipeline, token check and usage meter)"
    );
    println!(
        "{:>8} {:>5} {:>6}  {:<8} {:>10} {:>9} {:>9}  {:<46} {:>9}",
        "holdings", "years", "trades", "route", "computed", "cached", "compute", "DynamoDB requests (computed)", "capacity"
    );
    for holdings in HOLDINGS {
        for years in YEARS {
            let first = today - Duration::days(365 * years) + Duration::days(1);
            let created = app
                .serve(event("POST", "/v1/portfolios", "", Some(json!({"name": format!("bench {holdings}×{years}y")}).to_string()), &auth))
                .await;
            let id = PortfolioId::parse(body(&created)["id"].as_str().ok_or("create portfolio")?)?;
            let csv = ledger_csv(holdings, first, today);
            let rows = csv.lines().count() - 1;
            let mut upload = event("POST", &format!("/v1/portfolios/{id}/import"), "", Some(csv), &auth);
            upload.headers_mut().insert("content-type", http::HeaderValue::from_static("text/csv"));
            let imported = app.serve(upload).await;
            if body(&imported)["added"].as_u64() != Some(rows as u64) {
                return Err(format!("import of {rows} rows: {} {}", imported.status(), body(&imported)).into());
            }
            let compute = compute_times(&platform, &user, &id, &series, first, today, runs).await?;
            for (route, path, query) in [
                ("history", format!("/v1/portfolios/{id}/history"), format!("from={first}&to={today}")),
                ("returns", format!("/v1/portfolios/{id}/returns"), format!("from={first}&to={today}&benchmark=sp500")),
            ] {
                let (mut computed, mut cached) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
                let mut counted = None;
                for _ in 0..runs {
                    // A new generation: the cached answer is left behind, as after a write.
                    cache.invalidate_guarded(&portfolio_fn::cache_guard(&user, &id), &[]).await?;
                    let started = Instant::now();
                    let (response, counters) = bourse_telemetry::measured(app.serve(event("GET", &path, &query, None, &auth))).await;
                    computed.push(elapsed_ms(started));
                    if response.status() != 200 {
                        return Err(format!("{path}?{query}: {} {}", response.status(), body(&response)).into());
                    }
                    counted.get_or_insert(counters);
                    let started = Instant::now();
                    app.serve(event("GET", &path, &query, None, &auth)).await;
                    cached.push(elapsed_ms(started));
                }
                let miss = counted.unwrap_or_default();
                let compute_ms = if route == "history" { compute.0 } else { compute.1 };
                println!(
                    "{holdings:>8} {years:>5} {rows:>6}  {route:<8} {:>7.1} ms {:>6.2} ms {:>6.1} ms  {:<46} {:>6.1} CU",
                    median(computed),
                    median(cached),
                    compute_ms,
                    summarise(&miss.dynamodb_operations),
                    miss.dynamodb_capacity_milli as f64 / 1000.0,
                );
            }
        }
    }
    println!("(every call also meters usage: 1 UpdateItem, 1 CU, included above)");
    Ok(())
}

/// The median time of the computation alone — the history rebuilt for every day, and the returns
/// (portfolio, each holding, benchmark) — on the ledger and closes read once.
async fn compute_times(
    platform: &Platform,
    user: &bourse_domain::UserId,
    id: &PortfolioId,
    series: &HashMap<Symbol, Vec<PricePoint>>,
    first: Date,
    today: Date,
    runs: usize,
) -> Result<(f64, f64), DynError> {
    let app_table = platform.config.require_app_table()?;
    let mut records = bourse_storage::portfolios::all_transactions(&platform.aws, app_table, user, id).await?;
    records.sort_by(|a, b| a.ledger_position().cmp(&b.ledger_position()));
    let dated: Vec<(Date, _)> =
        records.iter().map(|t| Ok::<_, DynError>((bourse_domain::text::parse_date(t.trade_date())?, t))).collect::<Result<_, _>>()?;
    let ledger: Vec<LedgerTrade> =
        dated.iter().map(|(date, t)| LedgerTrade { date: *date, symbol: &t.symbol, trade: &t.trade, currency: t.currency }).collect();
    // A USD portfolio of USD trades, as the route values it (no rates to read).
    let rates = bourse_domain::fx::FxRates::default();
    let valuer = Valuer { base: Currency::USD, rates: &rates, rates_of: None, cash: false };
    let levels = series.get(&Symbol::parse(BENCHMARK_SYMBOL)?).cloned().unwrap_or_default();
    let range = DateRange::new(first, today)?;
    let (mut history, mut returns) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let started = Instant::now();
        let days = daily_history(&ledger, series, &valuer, range.start(), range.to());
        history.push(elapsed_ms(started));
        assert_eq!(days.len() as i64, range.days() + 1);
        let started = Instant::now();
        // What the route computes: the returns at daily and at constant rates, each holding's,
        // and the benchmark's.
        let split = bourse_domain::fx::decomposed_returns(&ledger, series, &valuer, range)?;
        let result = split.total;
        let flows = bourse_domain::valuation::flows(&ledger, &valuer, range.from(), range.to());
        let per_holding = holding_returns(&ledger, series, &valuer, range);
        let bench = bourse_domain::performance::benchmark_returns(&levels, &result, &flows);
        returns.push(elapsed_ms(started));
        assert!(result.twr.is_some() && !per_holding.is_empty() && bench.index.is_some());
    }
    Ok((median(history), median(returns)))
}
