//! `GET /v1/portfolios/{id}/returns?period=YTD` (or `from`/`to`): time-weighted, money-weighted
//! and simple returns over a period, from daily values rebuilt from the whole ledger and the daily
//! closes (`bourse_domain::valuation`, `bourse_domain::returns`), in the portfolio's base
//! currency. Without tracked cash, the flows are the trades themselves: a purchase brings money in,
//! a sale or a dividend takes it out; with tracked cash, only deposits and withdrawals are flows
//! and the value includes the cash. The price and FX effects are the returns at constant and at
//! daily FX rates (`bourse_domain::fx::decomposed_returns`).
//! Cost: 1 GetItem + 1 Query per MB of transactions + 1 Query of closes per symbol held in the
//! period (≈ 1 RCU per year each), sent 16 at a time + 1 Query of rates per currency other than
//! USD among the base and the transactions' (≈ 3 RCU per year each).

use crate::wire::{EffectView, PeriodReturnsView, RateView};
use crate::{Portfolio, portfolio_id};
use bourse_domain::UserId;
use bourse_domain::fx::{FxRates, decomposed_returns};
use bourse_domain::money::Currency;
use bourse_domain::returns::{DateRange, Period, PeriodError};
use bourse_domain::text::parse_date;
use bourse_domain::valuation::{LedgerTrade, Valuer};
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::portfolios as store;
use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeSet, HashMap};
use time::Duration;

/// Daily closes read at once.
const HISTORY_READS_IN_FLIGHT: usize = 16;

impl Portfolio {
    pub(crate) async fn returns(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["period", "from", "to"])?;
        let id = portfolio_id(request)?;
        let portfolio = self.owned(user, &id).await?;
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let mut records = store::all_transactions(aws, table, user, &id).await.map_err(storage_problem)?;
        records.sort_by(|a, b| a.ledger_position().cmp(&b.ledger_position()));
        let dated = records
            .iter()
            .map(|t| parse_date(t.trade_date()).map(|date| (date, t)).map_err(|e| ApiError::Internal(format!("stored trade date: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let today = crate::now().date();
        let Some(first) = dated.first().map(|(date, _)| *date) else {
            return Err(ApiError::unprocessable("query.period", "the portfolio has no transactions yet: there is no return to compute"));
        };
        let range = self.range(request, today, first)?;
        // The symbols held at some point up to the range's end, with their closes from a week before it.
        let symbols: BTreeSet<bourse_domain::Symbol> = dated
            .iter()
            .filter(|(date, t)| *date <= range.to() && t.symbol.cash_currency().is_none())
            .map(|(_, t)| t.symbol.clone())
            .collect();
        let currencies: BTreeSet<Currency> = dated.iter().filter(|(date, _)| *date <= range.to()).map(|(_, t)| t.currency).collect();
        let since = range.start() - Duration::days(7);
        let market = self.market_table.as_str();
        let closes: HashMap<bourse_domain::Symbol, Vec<bourse_domain::history::PricePoint>> = futures_util::stream::iter(symbols)
            .map(|symbol: bourse_domain::Symbol| async move {
                let (points, _) = bourse_storage::market::query_history(aws, market, symbol.as_str(), since, range.to()).await?;
                Ok::<_, bourse_storage::StorageError>((symbol, points))
            })
            .buffer_unordered(HISTORY_READS_IN_FLIGHT)
            .try_collect()
            .await
            .map_err(storage_problem)?;
        let rates = self.rates(portfolio.currency, &currencies, range).await?;
        let trades: Vec<LedgerTrade> =
            dated.iter().map(|(date, t)| LedgerTrade { date: *date, symbol: &t.symbol, trade: &t.trade, currency: t.currency }).collect();
        let valuer = Valuer { base: portfolio.currency, rates: &rates, rates_of: None, cash: portfolio.track_cash };
        let split =
            decomposed_returns(&trades, &closes, &valuer, range).map_err(|e| ApiError::unprocessable("query.period", e.to_string()))?;
        let (result, prices) = (&split.total, &split.constant_fx);
        let rate = |r: Option<bourse_domain::returns::Rate>| {
            r.map(|r| RateView { cumulative: crate::dec(r.cumulative), annualised: r.annualised.map(crate::dec) })
        };
        Reply::ok(&PeriodReturnsView {
            period: request.query("period")?.map_or("CUSTOM".to_owned(), |p| p.to_ascii_uppercase()),
            from: range.from().to_string(),
            to: range.to().to_string(),
            start_value: crate::dec(result.start_value),
            end_value: crate::dec(result.end_value),
            contributions: crate::dec(result.contributions),
            withdrawals: crate::dec(result.withdrawals),
            gain: crate::dec(result.gain),
            time_weighted: rate(result.twr),
            money_weighted: rate(result.mwr),
            simple: rate(result.simple),
            currency: portfolio.currency.to_string(),
            price_effect: EffectView { time_weighted: prices.twr.map(|r| crate::dec(r.cumulative)), gain: crate::dec(prices.gain) },
            fx_effect: EffectView { time_weighted: split.twr_fx_effect().map(crate::dec), gain: crate::dec(split.gain_fx_effect()) },
        })
    }

    /// The FX rates converting `currencies` to `base` over `range` (from ten days before its start
    /// valuation, so the last rate before it is known): 1 Query per currency other than USD, 16 at
    /// a time. 422 when a currency has no rates at all yet (the daily refresh fetches them).
    async fn rates(&self, base: Currency, currencies: &BTreeSet<Currency>, range: DateRange) -> Result<FxRates, ApiError> {
        let (aws, market) = (&self.platform.aws, self.market_table.as_str());
        let since = range.start() - Duration::days(10);
        let needed: BTreeSet<Currency> = currencies.iter().copied().chain([base]).filter(|c| *c != Currency::USD).collect();
        let series: Vec<(Currency, Vec<bourse_domain::fx::RatePoint>)> = futures_util::stream::iter(needed)
            .map(|currency| async move {
                let points = bourse_storage::fx::rates_between(aws, market, currency, since, range.to()).await?;
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
        match rates.missing(currencies.iter().copied(), base) {
            Some(currency) => Err(ApiError::unprocessable(
                "query.period",
                format!("no {currency} exchange rates are known for this range yet: the daily refresh fetches them"),
            )),
            None => Ok(rates),
        }
    }

    /// The range asked for: a named `period` (default YTD), or `from`/`to` (a custom range).
    fn range(&self, request: &ApiRequest, today: time::Date, first: time::Date) -> Result<DateRange, ApiError> {
        let (from, to) = (request.date("from")?, request.date("to")?);
        let period = match (request.query("period")?, from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ApiError::field("query.period", "give a period or a from/to range, not both"));
            }
            (Some(code), None, None) => {
                Period::parse(code).ok_or_else(|| ApiError::field("query.period", "must be one of 1D, WTD, MTD, YTD, 1Y, 3Y, 5Y, MAX"))?
            }
            (None, None, None) => Period::YearToDate,
            (None, from, to) => {
                let to = to.unwrap_or(today);
                if from.is_none() && to < first {
                    return Err(ApiError::unprocessable("query.to", "the range ends before the portfolio's first transaction"));
                }
                let range = DateRange::new(from.unwrap_or(first), to).map_err(|_| ApiError::field("query.from", "must not be after to"))?;
                Period::Custom(range)
            }
        };
        period.resolve(today, first).map_err(|e| match e {
            PeriodError::Reversed => ApiError::field("query.from", e.to_string()),
            PeriodError::Future => ApiError::field("query.to", "must not be after today"),
            PeriodError::NoHistory => ApiError::unprocessable("query.to", "the range ends before the portfolio's first transaction"),
        })
    }
}
