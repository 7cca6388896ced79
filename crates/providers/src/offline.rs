//! The offline provider: the bundled S&P 500 reference data (`data/`), with generated price
//! history ending today, labelled `generated` (the data has no history). The local stack and the
//! default configuration use it, so nothing reaches the internet. Its FX rates are generated too
//! (`bourse_domain::fx::generated`, the last 30 days), labelled `generated` where stored.

use crate::{FxSeries, Provider, ProviderError, RequestContext};
use bourse_domain::Symbol;
use bourse_domain::history::stock_from_record;
use bourse_domain::market_data::MarketData;
use bourse_domain::money::Currency;
use bourse_domain::universe::{StockRecord, load_universe};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::time::Duration;

pub const NAME: &str = "offline";

pub struct Offline {
    /// Parsed on first use: a deployed consumer configured with real providers never pays for it,
    /// and the local one pays once (~1 ms), not at every cold start.
    records: std::sync::OnceLock<HashMap<String, StockRecord>>,
}

impl Offline {
    /// The data compiled into the binary.
    pub fn bundled() -> Self {
        Offline { records: std::sync::OnceLock::new() }
    }

    fn records(&self) -> &HashMap<String, StockRecord> {
        self.records.get_or_init(|| {
            load_universe(include_str!("../../../data/sp500-constituents.csv"), include_str!("../../../data/sp500-financials.csv"))
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.symbol.to_string(), r))
                .collect()
        })
    }

    /// The answer for `symbol` on `today`. The benchmark symbol (SPY, not in the data) is the
    /// cap-weighted index of every record's generated history (`history::benchmark_history`).
    pub fn answer(&self, symbol: &Symbol, today: time::Date) -> Result<MarketData, ProviderError> {
        if symbol.as_str() == bourse_domain::performance::BENCHMARK_SYMBOL {
            let records: Vec<StockRecord> = self.records().values().cloned().collect();
            let history = bourse_domain::history::benchmark_history(&records, today);
            return Ok(MarketData {
                symbol: Some(symbol.clone()),
                source: NAME.into(),
                as_of: history.last().map(|p| p.date),
                price: history.last().map(|p| p.close),
                market_cap: None,
                pe: None,
                eps: None,
                dividend_yield: None,
                week52_high: None,
                week52_low: None,
                generated: !history.is_empty(),
                history,
            });
        }
        let record = self.records().get(symbol.as_str()).ok_or(ProviderError::UnknownSymbol)?;
        let (_, history) = stock_from_record(record, today);
        Ok(MarketData {
            symbol: Some(symbol.clone()),
            source: NAME.into(),
            as_of: history.last().map(|p| p.date),
            price: record.price,
            market_cap: record.market_cap,
            pe: record.price_to_earnings,
            eps: record.earnings_per_share,
            dividend_yield: record.dividend_yield,
            week52_high: record.week52_high,
            week52_low: record.week52_low,
            generated: !history.is_empty(),
            history,
        })
    }
}

impl Provider for Offline {
    fn name(&self) -> &str {
        NAME
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_millis(10)
    }

    fn fetch<'a>(&'a self, symbol: &'a Symbol, _context: &'a RequestContext) -> BoxFuture<'a, Result<MarketData, ProviderError>> {
        Box::pin(async move { self.answer(symbol, time::OffsetDateTime::now_utc().date()) })
    }

    fn fetch_fx<'a>(&'a self, currency: Currency, _context: &'a RequestContext) -> BoxFuture<'a, Result<FxSeries, ProviderError>> {
        Box::pin(async move { fx_answer(currency, time::OffsetDateTime::now_utc().date()) })
    }
}

/// The generated rates of `currency` for the 30 days up to `today`.
pub fn fx_answer(currency: Currency, today: time::Date) -> Result<FxSeries, ProviderError> {
    if currency == Currency::USD || !Currency::SUPPORTED.contains(&currency) {
        return Err(ProviderError::UnknownSymbol);
    }
    let points = bourse_domain::fx::generated(currency, today - time::Duration::days(30), today);
    Ok(FxSeries { source: NAME.into(), generated: true, points })
}
