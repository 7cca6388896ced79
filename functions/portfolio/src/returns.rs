//! Returns and the value history, rebuilt from the ledger × the daily closes
//! (`bourse_domain::performance`, `bourse_domain::returns`):
//!
//! - `GET /v1/portfolios/{id}/returns?period=YTD` (or `from`/`to`; `benchmark=sp500`): time-weighted,
//!   money-weighted and simple returns of the portfolio and of each holding, and the S&P 500 over
//!   the same period and flows, in the portfolio's base currency with the price and FX effects
//!   apart (`bourse_domain::fx::decomposed_returns`). Without tracked cash, the flows are the
//!   trades themselves: a purchase brings money in, a sale or a dividend takes it out; with
//!   tracked cash, only deposits and withdrawals are flows and the value includes the cash. Cost on
//!   a cache miss: 1 GetItem + 1 Query per MB of transactions + 1 Query of closes per symbol traded
//!   up to the range's end (≈ 1 RCU per year each, 16 in flight), + 1 Query for the benchmark, + 1
//!   Query of rates per currency other than USD among the base and the transactions' (≈ 3 RCU per
//!   year each).
//! - `GET /v1/portfolios/returns`: the same across all of the caller's portfolios, converted to
//!   one currency (`currency`, default USD): 1 Query of the portfolios + per portfolio (at most
//!   [`MAX_COMBINED_PORTFOLIOS`]) 1 Query per MB of transactions + 1 Query of closes per distinct
//!   symbol (+ 1 for the benchmark) + the rates as above.
//! - `GET /v1/portfolios/{id}/history`: the daily snapshots (value, cost, realised P&L, dividends)
//!   of every day of the range, from the first transaction on, rebuilt at once for a back-dated
//!   import, valued in the base currency (with the cash of a portfolio that tracks it); with
//!   `benchmark=sp500`, the same money in the index each day. Same cost as returns.
//!
//! Answers for one portfolio are cached per portfolio generation (`Portfolio::generational_view`):
//! any write to the portfolio moves it to a new generation, so a cached answer is never served
//! after a transaction changed it; with the cache down, computed every time.

use crate::wire::{
    AllReturnsView, BenchmarkView, EffectView, HistoryPoint, HoldingReturnsView, PeriodReturnsView, PortfolioReturnsRow, RateView,
    ReturnsFigures,
};
use crate::{Portfolio, dec, portfolio_id};
use bourse_domain::fx::{FxRates, decomposed_returns};
use bourse_domain::history::PricePoint;
use bourse_domain::money::Currency;
use bourse_domain::performance::{
    BENCHMARK_NAME, BENCHMARK_SYMBOL, benchmark_returns, benchmark_symbol, daily_history, holding_returns, linking_days, same_money,
    values_on,
};
use bourse_domain::returns::{CashFlow, DateRange, Period, PeriodError, PeriodReturns, Rate, period_returns};
use bourse_domain::text::parse_date;
use bourse_domain::valuation::{LedgerTrade, Valuer, flows};
use bourse_domain::{PortfolioId, Symbol, UserId};
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::portfolios::{self as store, TransactionRecord};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeSet, HashMap};
use time::{Date, Duration};

/// Daily closes read at once.
const HISTORY_READS_IN_FLIGHT: usize = 16;
/// Portfolios `GET /v1/portfolios/returns` combines at most (its request count grows with them).
pub const MAX_COMBINED_PORTFOLIOS: usize = 20;
/// Closes are read from this long before a range: the last close before it carries into it.
const CARRY_DAYS: i64 = 7;
/// FX rates are read from this long before a range (rates skip weekends and holidays too).
const RATE_CARRY_DAYS: i64 = 10;

/// A ledger in trade order, each transaction with its date.
type Dated = Vec<(Date, TransactionRecord)>;

fn ledger(dated: &[(Date, TransactionRecord)]) -> Vec<LedgerTrade<'_>> {
    dated.iter().map(|(date, t)| LedgerTrade { date: *date, symbol: &t.symbol, trade: &t.trade, currency: t.currency }).collect()
}

/// The index's levels in `base` (SPY closes are in USD), on the days a rate is known.
fn levels_in(levels: &[PricePoint], rates: &FxRates, base: Currency) -> Vec<PricePoint> {
    levels
        .iter()
        .filter_map(|p| rates.rate(Currency::USD, base, p.date).map(|rate| PricePoint { date: p.date, close: p.close * rate }))
        .collect()
}

/// What a request asked for, parsed before anything is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    Named(Period),
    Custom { from: Option<Date>, to: Option<Date> },
}

impl Selection {
    /// The part of a cache key that names this selection.
    fn key(&self) -> String {
        match self {
            Selection::Named(period) => period.code().to_owned(),
            Selection::Custom { from, to } => {
                format!("{}..{}", from.map(|d| d.to_string()).unwrap_or_default(), to.map(|d| d.to_string()).unwrap_or_default())
            }
        }
    }

    fn label(&self) -> String {
        match self {
            Selection::Named(period) => period.code().to_owned(),
            Selection::Custom { .. } => "CUSTOM".to_owned(),
        }
    }

    /// The range on `today` of a history starting on `first`.
    fn resolve(self, today: Date, first: Date) -> Result<DateRange, ApiError> {
        let before_first = || ApiError::unprocessable("query.to", "the range ends before the first transaction");
        let period = match self {
            Selection::Named(period) => period,
            Selection::Custom { from, to } => {
                let to = to.unwrap_or(today);
                if from.is_none() && to < first {
                    return Err(before_first());
                }
                Period::Custom(
                    DateRange::new(from.unwrap_or(first), to).map_err(|_| ApiError::field("query.from", "must not be after to"))?,
                )
            }
        };
        period.resolve(today, first).map_err(|e| match e {
            PeriodError::Reversed => ApiError::field("query.from", e.to_string()),
            PeriodError::Future => ApiError::field("query.to", "must not be after today"),
            PeriodError::NoHistory => before_first(),
        })
    }
}

/// A named `period` (default YTD), or `from`/`to` (a custom range).
fn selection(request: &ApiRequest) -> Result<Selection, ApiError> {
    let (from, to) = (request.date("from")?, request.date("to")?);
    match (request.query("period")?, from, to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ApiError::field("query.period", "give a period or a from/to range, not both")),
        (Some(code), None, None) => Period::parse(code)
            .map(Selection::Named)
            .ok_or_else(|| ApiError::field("query.period", "must be one of 1D, WTD, MTD, YTD, 1Y, 3Y, 5Y, MAX")),
        (None, None, None) => Ok(Selection::Named(Period::YearToDate)),
        (None, from, to) => Ok(Selection::Custom { from, to }),
    }
}

/// `benchmark=sp500` (the only benchmark), or none.
pub(crate) fn benchmark(request: &ApiRequest) -> Result<bool, ApiError> {
    match request.query("benchmark")? {
        None => Ok(false),
        Some(name) if name.eq_ignore_ascii_case(BENCHMARK_NAME) => Ok(true),
        Some(_) => Err(ApiError::field("query.benchmark", format!("must be {BENCHMARK_NAME}"))),
    }
}

fn rate(r: Option<Rate>) -> Option<RateView> {
    r.map(|r| RateView { cumulative: dec(r.cumulative), annualised: r.annualised.map(dec) })
}

fn figures(r: &PeriodReturns) -> ReturnsFigures {
    ReturnsFigures {
        start_value: dec(r.start_value),
        end_value: dec(r.end_value),
        contributions: dec(r.contributions),
        withdrawals: dec(r.withdrawals),
        gain: dec(r.gain),
        time_weighted: rate(r.twr),
        money_weighted: rate(r.mwr),
        simple: rate(r.simple),
    }
}

/// The returns of a ledger over `range` valued by `valuer` (daily rates), its holdings' and, given
/// the index's levels in the base currency, the benchmark's.
fn report(
    ledger: &[LedgerTrade<'_>],
    closes: &HashMap<Symbol, Vec<PricePoint>>,
    valuer: &Valuer<'_>,
    range: DateRange,
    levels: Option<&[PricePoint]>,
    period: String,
) -> Result<PeriodReturnsView, ApiError> {
    let split = decomposed_returns(ledger, closes, valuer, range).map_err(|e| ApiError::unprocessable("query.period", e.to_string()))?;
    let (result, prices) = (&split.total, &split.constant_fx);
    let holdings = holding_returns(ledger, closes, valuer, range)
        .iter()
        .map(|h| HoldingReturnsView { symbol: h.symbol.to_string(), figures: figures(&h.returns) })
        .collect();
    let benchmark = levels.map(|levels| {
        let b = benchmark_returns(levels, result, &flows(ledger, valuer, range.from(), range.to()));
        BenchmarkView {
            name: BENCHMARK_NAME.into(),
            symbol: BENCHMARK_SYMBOL.into(),
            index_return: rate(b.index),
            same_money_end_value: b.same_money.as_ref().map(|s| dec(s.end_value)),
            same_money_gain: b.same_money.as_ref().map(|s| dec(s.gain)),
            same_money_money_weighted: rate(b.same_money.as_ref().and_then(|s| s.mwr)),
            excess_time_weighted: rate(b.excess_time_weighted),
            excess_money_weighted: rate(b.excess_money_weighted),
        }
    });
    Ok(PeriodReturnsView {
        period,
        from: range.from().to_string(),
        to: range.to().to_string(),
        figures: figures(result),
        currency: valuer.base.to_string(),
        price_effect: EffectView { time_weighted: prices.twr.map(|r| dec(r.cumulative)), gain: dec(prices.gain) },
        fx_effect: EffectView { time_weighted: split.twr_fx_effect().map(dec), gain: dec(split.gain_fx_effect()) },
        benchmark,
        holdings,
    })
}

/// A ledger's returns over `range` (valued by `valuer`) from its values on the linking days only;
/// `None` when it has nothing in the range (no start value, no flow).
fn portfolio_returns(
    ledger: &[LedgerTrade<'_>],
    closes: &HashMap<Symbol, Vec<PricePoint>>,
    valuer: &Valuer<'_>,
    range: DateRange,
) -> Option<PeriodReturns> {
    let flows: Vec<CashFlow> = flows(ledger, valuer, range.from(), range.to());
    let values = values_on(ledger, closes, valuer, &linking_days(range, &flows));
    period_returns(&values, &flows, range).ok().filter(|r| !r.start_value.is_zero() || !flows.is_empty())
}

impl Portfolio {
    /// A portfolio's transactions in trade order, each with its date. 1 Query per MB.
    async fn dated_ledger(&self, user: &UserId, id: &PortfolioId) -> Result<Dated, ApiError> {
        let mut records = store::all_transactions(&self.platform.aws, &self.app_table, user, id).await.map_err(storage_problem)?;
        records.sort_by(|a, b| a.ledger_position().cmp(&b.ledger_position()));
        records
            .into_iter()
            .map(|t| parse_date(t.trade_date()).map(|date| (date, t)).map_err(|e| ApiError::Internal(format!("stored trade date: {e}"))))
            .collect()
    }

    /// The closes of `symbols` from [`CARRY_DAYS`] before `from` to `to`: 1 Query each,
    /// [`HISTORY_READS_IN_FLIGHT`] at a time.
    async fn closes(&self, symbols: BTreeSet<Symbol>, from: Date, to: Date) -> Result<HashMap<Symbol, Vec<PricePoint>>, ApiError> {
        let (aws, market) = (&self.platform.aws, self.market_table.as_str());
        let since = from - Duration::days(CARRY_DAYS);
        futures_util::stream::iter(symbols)
            .map(|symbol: Symbol| async move {
                let (points, _) = bourse_storage::market::query_history(aws, market, symbol.as_str(), since, to).await?;
                Ok::<_, bourse_storage::StorageError>((symbol, points))
            })
            .buffer_unordered(HISTORY_READS_IN_FLIGHT)
            .try_collect()
            .await
            .map_err(storage_problem)
    }

    /// The closes of every symbol of `ledger` traded up to `to`, and of the benchmark if asked.
    async fn ledger_closes(
        &self,
        ledger: &[LedgerTrade<'_>],
        from: Date,
        to: Date,
        with_benchmark: bool,
    ) -> Result<(HashMap<Symbol, Vec<PricePoint>>, Option<Vec<PricePoint>>), ApiError> {
        let mut symbols: BTreeSet<Symbol> =
            ledger.iter().filter(|t| t.date <= to && t.symbol.cash_currency().is_none()).map(|t| t.symbol.clone()).collect();
        let index = benchmark_symbol();
        let held_index = symbols.contains(&index);
        if with_benchmark {
            symbols.insert(index.clone());
        }
        let mut closes = self.closes(symbols, from, to).await?;
        let levels = match (with_benchmark, held_index) {
            (false, _) => None,
            (true, true) => closes.get(&index).cloned(),
            (true, false) => closes.remove(&index),
        };
        Ok((closes, levels))
    }

    /// The FX rates converting the currencies of `ledger`'s trades up to `to` (and USD, for the
    /// benchmark's levels) to `base` from [`RATE_CARRY_DAYS`] before `from`: 1 Query per currency
    /// other than USD, [`HISTORY_READS_IN_FLIGHT`] at a time. 422 when a currency has no rates at
    /// all yet (the daily refresh fetches them).
    async fn rates(&self, base: Currency, ledger: &[LedgerTrade<'_>], from: Date, to: Date) -> Result<FxRates, ApiError> {
        let currencies: BTreeSet<Currency> = ledger.iter().filter(|t| t.date <= to).map(|t| t.currency).collect();
        let (aws, market) = (&self.platform.aws, self.market_table.as_str());
        let since = from - Duration::days(RATE_CARRY_DAYS);
        let needed: BTreeSet<Currency> = currencies.iter().copied().chain([base]).filter(|c| *c != Currency::USD).collect();
        let series: Vec<(Currency, Vec<bourse_domain::fx::RatePoint>)> = futures_util::stream::iter(needed)
            .map(|currency| async move {
                let points = bourse_storage::fx::rates_between(aws, market, currency, since, to).await?;
                Ok::<_, bourse_storage::StorageError>((currency, points))
            })
            .buffer_unordered(HISTORY_READS_IN_FLIGHT)
            .try_collect()
            .await
            .map_err(storage_problem)?;
        let mut rates = FxRates::default();
        for (currency, points) in series {
            rates.insert(currency, points);
        }
        match rates.missing(currencies.iter().copied().chain([Currency::USD]), base) {
            Some(currency) => Err(ApiError::unprocessable(
                "query.period",
                format!("no {currency} exchange rates are known for this range yet: the daily refresh fetches them"),
            )),
            None => Ok(rates),
        }
    }

    pub(crate) async fn returns(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["period", "from", "to", "benchmark"])?;
        let id = portfolio_id(request)?;
        let (selection, with_benchmark) = (selection(request)?, benchmark(request)?);
        let today = crate::now().date();
        let view = format!("returns:{today}:{}:{with_benchmark}", selection.key());
        self.generational_view(user, &id, &view, || async {
            let portfolio = self.owned(user, &id).await?;
            let dated = self.dated_ledger(user, &id).await?;
            let Some(first) = dated.first().map(|(date, _)| *date) else {
                return Err(ApiError::unprocessable(
                    "query.period",
                    "the portfolio has no transactions yet: there is no return to compute",
                ));
            };
            let range = selection.resolve(today, first)?;
            let ledger = ledger(&dated);
            let (closes, levels) = self.ledger_closes(&ledger, range.start(), range.to(), with_benchmark).await?;
            let rates = self.rates(portfolio.currency, &ledger, range.start(), range.to()).await?;
            let valuer = Valuer { base: portfolio.currency, rates: &rates, rates_of: None, cash: portfolio.track_cash };
            let levels = levels.map(|l| levels_in(&l, &rates, portfolio.currency));
            report(&ledger, &closes, &valuer, range, levels.as_deref(), selection.label())
        })
        .await
    }

    /// `GET /v1/portfolios/returns`: every portfolio of the caller combined, as one ledger, and
    /// each on its own, all converted to `currency` (default USD). The combined ledger counts cash
    /// when every portfolio tracks it (its flows are then deposits and withdrawals); each portfolio
    /// follows its own setting.
    pub(crate) async fn all_returns(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["period", "from", "to", "benchmark", "currency"])?;
        let (selection, with_benchmark) = (selection(request)?, benchmark(request)?);
        let currency = match request.query("currency")? {
            None => Currency::USD,
            Some(code) => Currency::parse(code).map_err(|e| ApiError::field("query.currency", e.to_string()))?,
        };
        let today = crate::now().date();
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let portfolios = store::list_portfolios(aws, table, user).await.map_err(storage_problem)?;
        if portfolios.len() > MAX_COMBINED_PORTFOLIOS {
            return Err(ApiError::unprocessable(
                "query.period",
                format!("more than {MAX_COMBINED_PORTFOLIOS} portfolios: ask for each portfolio's returns"),
            ));
        }
        let mut ledgers: Vec<Dated> = Vec::with_capacity(portfolios.len());
        for p in &portfolios {
            ledgers.push(self.dated_ledger(user, &p.id).await?);
        }
        // One ledger of them all, in trade order (a stable sort keeps each portfolio's own order, so
        // no sale ever exceeds the shares the portfolios hold together).
        let mut combined: Vec<LedgerTrade> = ledgers.iter().flat_map(|d| ledger(d)).collect();
        combined.sort_by_key(|t| t.date);
        let Some(first) = combined.first().map(|t| t.date) else {
            return Err(ApiError::unprocessable("query.period", "no portfolio has transactions yet: there is no return to compute"));
        };
        let range = selection.resolve(today, first)?;
        let (closes, levels) = self.ledger_closes(&combined, range.start(), range.to(), with_benchmark).await?;
        let rates = self.rates(currency, &combined, range.start(), range.to()).await?;
        let every_tracks_cash = portfolios.iter().all(|p| p.track_cash);
        let valuer = Valuer { base: currency, rates: &rates, rates_of: None, cash: every_tracks_cash };
        let levels = levels.map(|l| levels_in(&l, &rates, currency));
        let combined_view = report(&combined, &closes, &valuer, range, levels.as_deref(), selection.label())?;
        let rows = portfolios
            .iter()
            .zip(&ledgers)
            .map(|(p, dated)| {
                let own = ledger(dated);
                let own_valuer = Valuer { cash: p.track_cash, ..valuer };
                let returns = portfolio_returns(&own, &closes, &own_valuer, range).map(|result| figures(&result));
                PortfolioReturnsRow { portfolio_id: p.id.to_string(), name: p.name.clone(), returns }
            })
            .collect();
        Reply::ok(&AllReturnsView { combined: combined_view, portfolios: rows })
    }

    /// `GET /v1/portfolios/{id}/history`: every day of `from..=to` (default the last 90 days, at most
    /// [`crate::MAX_HISTORY_DAYS`]) from the first transaction on, rebuilt from the ledger.
    pub(crate) async fn history(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["from", "to", "benchmark"])?;
        let id = portfolio_id(request)?;
        let with_benchmark = benchmark(request)?;
        let today = crate::now().date();
        let to = request.date("to")?.unwrap_or(today);
        let from = request.date("from")?.unwrap_or(to - Duration::days(90));
        if from > to {
            return Err(ApiError::field("query.from", "must not be after to"));
        }
        if (to - from).whole_days() > crate::MAX_HISTORY_DAYS {
            return Err(ApiError::field("query.from", format!("a range is at most {} days", crate::MAX_HISTORY_DAYS)));
        }
        let view = format!("history:{from}:{to}:{with_benchmark}");
        self.generational_view(user, &id, &view, || async {
            let portfolio = self.owned(user, &id).await?;
            let dated = self.dated_ledger(user, &id).await?;
            let ledger = ledger(&dated);
            let points = match dated.first().map(|(date, _)| *date) {
                Some(first) if first <= to => {
                    // The day before the first point is its base: the same money in the index starts from it.
                    let start = from.max(first).previous_day().unwrap_or(first);
                    let (closes, levels) = self.ledger_closes(&ledger, start, to, with_benchmark).await?;
                    let rates = self.rates(portfolio.currency, &ledger, start, to).await?;
                    let valuer = Valuer { base: portfolio.currency, rates: &rates, rates_of: None, cash: portfolio.track_cash };
                    let days = daily_history(&ledger, &closes, &valuer, start, to);
                    let line = levels.map(|levels| {
                        let levels = levels_in(&levels, &rates, portfolio.currency);
                        let flows = start.next_day().map(|after| flows(&ledger, &valuer, after, to)).unwrap_or_default();
                        let dates: Vec<Date> = days.iter().map(|(date, _)| *date).collect();
                        same_money(&levels, days[0].1.value, &flows, &dates)
                    });
                    days.iter()
                        .enumerate()
                        .skip(1)
                        .map(|(i, (date, s))| HistoryPoint {
                            date: date.to_string(),
                            value: dec(s.value),
                            cost: dec(s.cost),
                            realised_pnl: dec(s.realised_pnl),
                            dividends: dec(s.dividends),
                            unpriced_positions: s.unpriced_positions,
                            benchmark_value: line.as_ref().map(|l| l.as_ref().map(|values| dec(values[i].value))),
                        })
                        .collect()
                }
                _ => Vec::new(),
            };
            Ok(crate::wire::History { from: from.to_string(), to: to.to_string(), points })
        })
        .await
    }
}
