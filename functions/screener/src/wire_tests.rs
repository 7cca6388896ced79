//! Every answer of the screener function (public market data and the jobs API) against its schema
//! in `openapi.yaml` (closed objects: an undocumented member fails, as does a missing required one
//! or a wrong type).

use crate::views::*;
use crate::{field_catalogue, sector_stats, stock_page};
use bourse_domain::Symbol;
use bourse_domain::jobs::JobState;
use bourse_domain::screener::{PRESETS, SortSpec};
use bourse_domain::signals::{Signal, SignalKind};
use bourse_domain::stock::{Metric, Stock};
use bourse_http::schema_check::OpenApi;
use bourse_http::{Links, Page};
use serde::Serialize;
use serde_json::Value;

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

fn stock(symbol: &str, cap: &str, known: bool) -> Stock {
    let mut stock = Stock::new(Symbol::parse(symbol).unwrap(), format!("{symbol} Inc."));
    if known {
        stock.sector = Some("Information Technology".into());
        stock.sub_industry = Some("Software".into());
        stock.enriched_at = Some("2026-11-25T21:30:00Z".into());
        for metric in Metric::ALL {
            stock.set(metric, Some("12.5".parse().unwrap()));
        }
        stock.set(Metric::Price, Some("120".parse().unwrap()));
        stock.set(Metric::Week52High, Some("120".parse().unwrap()));
        stock.set(Metric::Rsi14, Some("85".parse().unwrap()));
    }
    stock.set(Metric::MarketCap, Some(cap.parse().unwrap()));
    stock
}

fn samples() -> Vec<(&'static str, u16, Value)> {
    let stocks = [stock("MSFT", "3000000000000", true), stock("NEWCO", "1000", false)];
    let matching: Vec<&Stock> = stocks.iter().collect();
    let sort = SortSpec::parse("market_cap", "desc").unwrap();
    let first = stock_page(7, matching.clone(), &sort, None, 1);
    assert!(first.page.next_cursor.is_some());
    let last = stock_page(7, matching.clone(), &sort, None, 10);
    let mut preset = last.clone();
    preset.preset = Some(PresetRef { name: PRESETS[0].name, filter: PRESETS[0].filter });
    let mut query = first.clone();
    query.filter = Some("market_cap > 1000".into());
    let summaries: Vec<StockSummary> = stocks.iter().map(stock_summary).collect();
    let presets = Page::all(
        PRESETS
            .iter()
            .map(|p| PresetView {
                name: p.name,
                title: p.title,
                description: p.description,
                filter: p.filter,
                sort: p.sort.name(),
                order: "desc",
            })
            .collect(),
    );
    let signal = Signal { kind: SignalKind::GoldenCross, detail: "the 50-day average crossed above the 200-day one".into() };
    let market = MarketSignals {
        page: Page::all(vec![MarketSignal { symbol: "MSFT".into(), signal: signal.clone() }]),
        events: vec![MarketEvent {
            symbol: "MSFT".into(),
            kind: "golden-cross".into(),
            detail: signal.detail.clone(),
            date: "2026-11-25".into(),
        }],
        universe_version: 7,
    };
    let job = JobView {
        job_id: "j0123456789abcdef01234567".into(),
        kind: bourse_domain::jobs::JobKind::CsvImport,
        state: JobState::CompletedWithErrors,
        total: 2,
        done: 1,
        failed: 1,
        percent: 100,
        errors: vec![JobSymbolError { symbol: "NEWCO".into(), error: "unknown to the provider".into() }],
        created_at: "2026-11-25T21:30:00Z".into(),
        updated_at: "2026-11-25T21:31:00Z".into(),
        completed_at: Some("2026-11-25T21:31:00Z".into()),
    };
    let mut running = job.clone();
    running.state = JobState::Running;
    running.completed_at = None;
    vec![
        ("listStocks", 200, json(&first)),
        ("listStocks", 200, json(&last)),
        ("searchStocks", 200, json(&SearchResults { query: "ms".into(), page: Page::all(summaries.clone()), universe_version: 7 })),
        ("batchStocks", 200, json(&BatchResults { page: Page::all(summaries), unknown: vec!["ZZZZ".into()], universe_version: 7 })),
        ("stockDetail", 200, json(&stock_detail(&stocks[0]))),
        ("stockDetail", 200, json(&stock_detail(&stocks[1]))),
        (
            "stockHistory",
            200,
            json(&PriceHistory {
                symbol: "MSFT".into(),
                from: "2026-01-01".into(),
                to: "2026-01-02".into(),
                generated: true,
                points: vec![ClosePoint { date: "2026-01-02".into(), close: "412.5".into() }],
            }),
        ),
        ("sectors", 200, json(&Sectors { page: Page::all(sector_stats(&stocks)), universe_version: 7 })),
        ("screenerFields", 200, json(&field_catalogue())),
        ("screenerPresets", 200, json(&presets)),
        ("screenerPresetResults", 200, json(&preset)),
        ("screenerQuery", 200, json(&query)),
        ("marketSignals", 200, json(&market)),
        (
            "createJob",
            202,
            json(&JobQueued {
                job_id: "j0123456789abcdef01234567".into(),
                kind: bourse_domain::jobs::JobKind::Symbols,
                state: "queued",
                total: 2,
                created_at: "2026-11-25T21:30:00Z".into(),
                links: Links::to("/v1/jobs/j0123456789abcdef01234567"),
            }),
        ),
        ("getJob", 200, json(&job)),
        ("getJob", 200, json(&running)),
    ]
}

#[test]
fn every_answer_matches_its_schema() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples(&samples());
}

#[test]
fn every_documented_answer_has_a_sample() {
    OpenApi::of_workspace(env!("CARGO_MANIFEST_DIR")).assert_samples_cover(&["screener"], &samples());
}

#[test]
fn a_stock_has_every_metric_of_the_catalogue() {
    let summary = json(&stock_summary(&stock("MSFT", "1", false)));
    for metric in Metric::ALL {
        assert!(summary.get(metric.info().name).is_some(), "{}", metric.info().name);
    }
}
