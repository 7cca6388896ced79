//! JSON shapes of the screener's answers, one type per schema of `openapi.yaml`. Numbers are exact
//! decimal strings; field names are the catalogue's (`GET /v1/screener/fields`), the same the
//! filter language uses.

use bourse_domain::jobs::JobKind;
use bourse_domain::signals::{Signal, stock_signals};
use bourse_domain::stock::{Metric, MetricInfo, Stock};
use bourse_http::{Links, Page};
use serde::Serialize;
use std::collections::BTreeMap;

fn decimal_text(value: Option<rust_decimal::Decimal>) -> Option<String> {
    value.map(|v| v.normalize().to_string())
}

/// `StockSummary`: a stock with every metric of the catalogue; missing ones are `null`.
#[derive(Debug, Clone, Serialize)]
pub struct StockSummary {
    pub symbol: String,
    pub name: String,
    pub sector: Option<String>,
    pub sub_industry: Option<String>,
    /// One member per metric of [`Metric::ALL`], named as the catalogue names it.
    #[serde(flatten)]
    pub metrics: BTreeMap<&'static str, Option<String>>,
    pub enriched_at: Option<String>,
    pub history_generated: bool,
}

pub fn stock_summary(stock: &Stock) -> StockSummary {
    StockSummary {
        symbol: stock.symbol.as_str().to_owned(),
        name: stock.name.clone(),
        sector: stock.sector.clone(),
        sub_industry: stock.sub_industry.clone(),
        metrics: Metric::ALL.iter().map(|&metric| (metric.info().name, decimal_text(stock.metric(metric)))).collect(),
        enriched_at: stock.enriched_at.clone(),
        history_generated: stock.history_generated,
    }
}

/// `StockDetail`: the summary plus the 52-week range and the stock's signals.
#[derive(Debug, Clone, Serialize)]
pub struct StockDetail {
    #[serde(flatten)]
    pub summary: StockSummary,
    pub week52_range: Week52Range,
    pub signals: Vec<Signal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Week52Range {
    pub low: Option<String>,
    pub high: Option<String>,
    pub pct_from_high: Option<String>,
}

pub fn stock_detail(stock: &Stock) -> StockDetail {
    let range = |m: Metric| decimal_text(stock.metric(m));
    StockDetail {
        summary: stock_summary(stock),
        week52_range: Week52Range {
            low: range(Metric::Week52Low),
            high: range(Metric::Week52High),
            pct_from_high: range(Metric::PctFrom52wHigh),
        },
        signals: stock_signals(stock),
    }
}

/// `StockPage`, and what a preset's or a custom screen's page adds to it.
#[derive(Debug, Clone, Serialize)]
pub struct StockPage {
    #[serde(flatten)]
    pub page: Page<StockSummary>,
    pub total: usize,
    pub sort: &'static str,
    pub order: &'static str,
    pub universe_version: u64,
    /// The preset whose results these are (`GET /v1/screener/presets/{name}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<PresetRef>,
    /// The filter as understood (`POST /v1/screener/query`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PresetRef {
    pub name: &'static str,
    pub filter: &'static str,
}

/// The answer of `GET /v1/stocks/search`.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub query: String,
    #[serde(flatten)]
    pub page: Page<StockSummary>,
    pub universe_version: u64,
}

/// The answer of `POST /v1/stocks/batch`.
#[derive(Debug, Clone, Serialize)]
pub struct BatchResults {
    #[serde(flatten)]
    pub page: Page<StockSummary>,
    pub unknown: Vec<String>,
    pub universe_version: u64,
}

/// The answer of `GET /v1/stocks/{symbol}/history`.
#[derive(Debug, Clone, Serialize)]
pub struct PriceHistory {
    pub symbol: String,
    pub from: String,
    pub to: String,
    pub generated: bool,
    pub points: Vec<ClosePoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClosePoint {
    pub date: String,
    pub close: String,
}

/// One sector of `GET /v1/sectors`.
#[derive(Debug, Clone, Serialize)]
pub struct SectorStats {
    pub sector: String,
    pub count: usize,
    pub median_pe: Option<String>,
    pub total_market_cap: String,
    pub with_market_cap: usize,
}

/// The answer of `GET /v1/sectors`.
#[derive(Debug, Clone, Serialize)]
pub struct Sectors {
    #[serde(flatten)]
    pub page: Page<SectorStats>,
    pub universe_version: u64,
}

/// One preset of `GET /v1/screener/presets`.
#[derive(Debug, Clone, Serialize)]
pub struct PresetView {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub filter: &'static str,
    pub sort: &'static str,
    pub order: &'static str,
}

/// The answer of `GET /v1/screener/fields`: the filter language's catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct FieldCatalogue {
    pub numeric: Vec<MetricInfo>,
    pub text: Vec<&'static str>,
    pub operators: &'static [&'static str],
    pub logic: &'static [&'static str],
    pub number_suffixes: BTreeMap<&'static str, &'static str>,
    pub missing_values: &'static str,
    pub limits: FilterLimits,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterLimits {
    pub length: usize,
    pub comparisons: usize,
    pub depth: usize,
}

/// A signal of `GET /v1/signals/market` from a stock's current metrics.
#[derive(Debug, Clone, Serialize)]
pub struct MarketSignal {
    pub symbol: String,
    #[serde(flatten)]
    pub signal: Signal,
}

/// An event of the day found in the price history by the enrichment consumer.
#[derive(Debug, Clone, Serialize)]
pub struct MarketEvent {
    pub symbol: String,
    pub kind: String,
    pub detail: String,
    pub date: String,
}

/// The answer of `GET /v1/signals/market`.
#[derive(Debug, Clone, Serialize)]
pub struct MarketSignals {
    #[serde(flatten)]
    pub page: Page<MarketSignal>,
    pub events: Vec<MarketEvent>,
    pub universe_version: u64,
}

/// The answer of `POST /v1/jobs` (202).
#[derive(Debug, Clone, Serialize)]
pub struct JobQueued {
    pub job_id: String,
    pub kind: JobKind,
    pub state: &'static str,
    pub total: usize,
    pub created_at: String,
    pub links: Links,
}

/// The answer of `GET /v1/jobs/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub job_id: String,
    pub kind: JobKind,
    pub state: bourse_domain::jobs::JobState,
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    pub percent: u64,
    pub errors: Vec<JobSymbolError>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobSymbolError {
    pub symbol: String,
    pub error: String,
}
