//! The JSON answers of the portfolio function, one type per schema of `openapi.yaml`. Amounts are
//! exact decimal strings; members are snake_case; a nullable member is always present (`null`),
//! an optional one is absent when it has no value.

use crate::dec;
use bourse_domain::portfolio::{Holding, Weight};
use bourse_domain::{PortfolioId, TransactionId};
use bourse_http::Links;
use bourse_storage::market::Quote;
use bourse_storage::portfolios::{PortfolioRecord, TransactionRecord};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `Portfolio`.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioView {
    pub id: PortfolioId,
    pub name: String,
    /// The base currency.
    pub currency: String,
    pub created_at: String,
    pub track_cash: bool,
    /// The tax-lot method used unless a request names another.
    pub lot_method: &'static str,
}

impl From<&PortfolioRecord> for PortfolioView {
    fn from(p: &PortfolioRecord) -> Self {
        PortfolioView {
            id: p.id.clone(),
            name: p.name.clone(),
            currency: p.currency.as_str().to_owned(),
            created_at: p.created_at.clone(),
            track_cash: p.track_cash,
            lot_method: p.lot_method.code(),
        }
    }
}

/// The cash of one currency, in the summary of a portfolio that tracks cash.
#[derive(Debug, Clone, Serialize)]
pub struct CashView {
    pub currency: String,
    pub balance: String,
    /// Deposits − withdrawals.
    pub net_contributions: String,
}

impl From<&bourse_domain::cash::CashBalance> for CashView {
    fn from(b: &bourse_domain::cash::CashBalance) -> Self {
        CashView { currency: b.currency.to_string(), balance: dec(b.balance), net_contributions: dec(b.net_contributions) }
    }
}

/// `Transaction`: the documented members only, whatever else the stored item holds.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionView {
    pub id: TransactionId,
    /// Absent for the cash kinds (DEPOSIT, WITHDRAWAL, INTEREST).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub trade_date: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fees: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<String>,
    pub currency: String,
    /// The import layout, for imported transactions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The lots a SELL names (specific identification).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lots: Vec<LotPickView>,
}

/// `LotPick`: a lot a SELL names and the shares it takes of it.
#[derive(Debug, Clone, Serialize)]
pub struct LotPickView {
    pub lot_id: String,
    pub quantity: String,
}

impl From<&TransactionRecord> for TransactionView {
    fn from(t: &TransactionRecord) -> Self {
        let terms = t.trade.terms();
        let term = |name: &str| terms.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        TransactionView {
            id: t.id.clone(),
            symbol: t.symbol.cash_currency().is_none().then(|| t.symbol.as_str().to_owned()),
            trade_date: t.trade_date().to_owned(),
            kind: t.trade.kind().to_owned(),
            quantity: term("quantity"),
            price: term("price"),
            fees: term("fees"),
            amount: term("amount"),
            ratio: term("ratio"),
            currency: t.currency.to_string(),
            source: t.source.clone(),
            lots: t.lots.iter().map(|p| LotPickView { lot_id: p.lot.as_str().to_owned(), quantity: dec(p.quantity) }).collect(),
        }
    }
}

/// `Holding`, priced with its quote when there is one.
#[derive(Debug, Clone, Serialize)]
pub struct HoldingView {
    pub symbol: String,
    pub quantity: String,
    pub average_cost: Option<String>,
    pub cost_basis: String,
    pub realised_pnl: String,
    pub dividends: String,
    pub fees: String,
    pub price: Option<String>,
    pub market_value: Option<String>,
    pub unrealised_pnl: Option<String>,
    pub day_change: Option<String>,
    pub sector: Option<String>,
}

impl HoldingView {
    pub fn new(h: &Holding, quote: Option<&Quote>) -> Self {
        let price = quote.and_then(|q| q.price);
        let (value, unrealised) = h.valuation(price);
        HoldingView {
            symbol: h.symbol.as_str().to_owned(),
            quantity: dec(h.quantity),
            average_cost: h.average_cost().map(dec),
            cost_basis: dec(h.cost_basis),
            realised_pnl: dec(h.realised_pnl),
            dividends: dec(h.dividends),
            fees: dec(h.fees),
            price: price.map(dec),
            market_value: value.map(dec),
            unrealised_pnl: unrealised.map(dec),
            day_change: quote.and_then(|q| q.change).map(|c| dec(c * h.quantity)),
            sector: quote.and_then(|q| q.sector.clone()),
        }
    }
}

/// The answer of `POST …/transactions`.
#[derive(Debug, Clone, Serialize)]
pub struct AddedTransaction {
    pub transaction: TransactionView,
    pub holding: HoldingView,
}

/// The answer of `GET …/holdings`: every holding (one page), priced at `as_of`.
#[derive(Debug, Clone, Serialize)]
pub struct Holdings {
    #[serde(flatten)]
    pub page: bourse_http::Page<HoldingView>,
    pub as_of: String,
}

/// The answer of `GET …/summary`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub portfolio: PortfolioView,
    pub value: String,
    pub cost: String,
    pub unrealised_pnl: String,
    pub realised_pnl: String,
    pub dividends: String,
    pub day_change: String,
    pub allocation_by_position: Vec<Weight>,
    pub allocation_by_sector: Vec<Weight>,
    pub top_movers: Vec<Mover>,
    pub unpriced_symbols: Vec<String>,
    /// The cash per currency of a portfolio that tracks cash (empty otherwise).
    pub cash: Vec<CashView>,
    pub as_of: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mover {
    pub symbol: String,
    pub change_pct: String,
}

/// The answer of `GET …/history`.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub from: String,
    pub to: String,
    pub points: Vec<HistoryPoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryPoint {
    pub date: String,
    pub value: String,
    pub cost: String,
    pub realised_pnl: String,
    pub dividends: String,
    pub unpriced_positions: u32,
    /// With `benchmark=sp500` only: the same money in the index (null where its history stops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benchmark_value: Option<Option<String>>,
}

/// The answer of `POST …/import`. Stored with the import (camelCase inside the stored item, as
/// it always was: see [`ImportResult::to_stored`]) and answered again for the same file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportResult {
    pub layout: String,
    pub file_sha256: String,
    pub imported_at: String,
    pub rows: usize,
    pub added: usize,
    pub duplicates: usize,
    pub skipped: Vec<SkippedRow>,
    pub symbols: Vec<SymbolImport>,
    pub unknown_symbols: Vec<String>,
    /// The `csv-import` job of the unknown symbols, why it could not be queued, or null.
    pub enrichment_job: Option<EnrichmentJob>,
    pub duplicate_file: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkippedRow {
    pub row: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SymbolImport {
    pub symbol: String,
    pub added: usize,
    pub duplicates: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnrichmentJob {
    Queued { job_id: String, state: String, links: Links },
    NotQueued { error: String },
}

impl ImportResult {
    /// The text stored with the import: the members in camelCase, as imports have always been
    /// stored (stored items keep their names; only the API speaks snake_case).
    pub fn to_stored(&self) -> Result<String, serde_json::Error> {
        Ok(rename_keys(serde_json::to_value(self)?, camel).to_string())
    }

    /// A stored result, whichever casing it was stored in.
    pub fn from_stored(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_value(rename_keys(serde_json::from_str(text)?, snake))
    }
}

fn rename_keys(value: serde_json::Value, rename: fn(&str) -> String) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(members) => Value::Object(members.into_iter().map(|(k, v)| (rename(&k), rename_keys(v, rename))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| rename_keys(v, rename)).collect()),
        other => other,
    }
}

fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `Signal`: a journal entry, open or closed.
#[derive(Debug, Clone, Serialize)]
pub struct SignalView {
    pub id: String,
    pub symbol: String,
    pub direction: &'static str,
    pub entry_price: String,
    pub target_price: Option<String>,
    pub stop_price: Option<String>,
    pub confidence: u8,
    pub source: Option<String>,
    pub note: Option<String>,
    pub opened_at: String,
    pub created_at: String,
    pub status: &'static str,
    pub exit_price: Option<String>,
    pub closed_at: Option<String>,
    pub close_note: Option<String>,
    pub return_pct: Option<String>,
    pub outcome: Option<&'static str>,
    pub links: Links,
}

/// `JournalCounts`.
#[derive(Debug, Clone, Serialize)]
pub struct JournalCounts {
    pub total: u64,
    pub by_status: ByStatus,
    pub closed: ClosedCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct ByStatus {
    #[serde(rename = "OPEN")]
    pub open: u64,
    #[serde(rename = "CLOSED")]
    pub closed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClosedCounts {
    pub count: u64,
    pub wins: u64,
    pub losses: u64,
    pub breakeven: u64,
    pub win_rate: Option<String>,
    pub average_return_pct: Option<String>,
    pub median_return_pct: Option<String>,
}

impl From<&bourse_domain::journal::Summary> for JournalCounts {
    fn from(s: &bourse_domain::journal::Summary) -> Self {
        let opt = |v: Option<Decimal>| v.map(dec);
        JournalCounts {
            total: s.total,
            by_status: ByStatus { open: s.open, closed: s.closed },
            closed: ClosedCounts {
                count: s.closed,
                wins: s.wins,
                losses: s.losses,
                breakeven: s.breakeven,
                win_rate: opt(s.win_rate),
                average_return_pct: opt(s.average_return_pct),
                median_return_pct: opt(s.median_return_pct),
            },
        }
    }
}

/// `JournalStats`: the counts over every signal, and per symbol.
#[derive(Debug, Clone, Serialize)]
pub struct JournalStats {
    #[serde(flatten)]
    pub all: JournalCounts,
    pub by_symbol: Vec<SymbolCounts>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SymbolCounts {
    pub symbol: String,
    #[serde(flatten)]
    pub counts: JournalCounts,
}

/// `Watchlist`: a list's name and symbols, in the user's order.
#[derive(Debug, Clone, Serialize)]
pub struct WatchlistView {
    pub id: bourse_domain::WatchlistId,
    pub name: String,
    pub symbols: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&bourse_storage::watchlists::WatchlistRecord> for WatchlistView {
    fn from(w: &bourse_storage::watchlists::WatchlistRecord) -> Self {
        WatchlistView {
            id: w.id.clone(),
            name: w.name.clone(),
            symbols: w.symbols.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: w.created_at.clone(),
            updated_at: w.updated_at.clone(),
        }
    }
}

/// `WatchlistDetail`: the list with a quote per symbol.
#[derive(Debug, Clone, Serialize)]
pub struct WatchlistDetail {
    #[serde(flatten)]
    pub list: WatchlistView,
    pub items: Vec<QuotedSymbol>,
}

/// `QuotedSymbol`: a symbol with its latest quote (nulls when the data has none).
#[derive(Debug, Clone, Serialize)]
pub struct QuotedSymbol {
    pub symbol: String,
    pub price: Option<String>,
    pub change: Option<String>,
    pub change_pct: Option<String>,
    pub sector: Option<String>,
}

impl QuotedSymbol {
    pub fn new(symbol: &bourse_domain::Symbol, quote: Option<&Quote>) -> Self {
        QuotedSymbol {
            symbol: symbol.as_str().to_owned(),
            price: quote.and_then(|q| q.price).map(dec),
            change: quote.and_then(|q| q.change).map(dec),
            change_pct: quote.and_then(|q| q.change_pct).map(dec),
            sector: quote.and_then(|q| q.sector.clone()),
        }
    }
}

/// `Notification`.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: String,
    pub read: bool,
}

impl From<&bourse_storage::inbox::Notification> for NotificationView {
    fn from(n: &bourse_storage::inbox::Notification) -> Self {
        NotificationView {
            id: n.id.as_str().to_owned(),
            kind: n.kind.as_str(),
            title: n.title.clone(),
            body: n.body.clone(),
            link: n.link.clone(),
            created_at: n.created_at.clone(),
            read: n.read,
        }
    }
}

/// `InboxPage`: a page of notifications and the unread count.
#[derive(Debug, Clone, Serialize)]
pub struct InboxPage {
    pub items: Vec<NotificationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub unread: u64,
}

/// `{unread}`.
#[derive(Debug, Clone, Serialize)]
pub struct UnreadCount {
    pub unread: u64,
}

/// `{marked}`: how many were marked read.
#[derive(Debug, Clone, Serialize)]
pub struct MarkedRead {
    pub marked: u64,
}

/// `LotsReport`: tax lots and realised gains of a portfolio under one method.
#[derive(Debug, Clone, Serialize)]
pub struct LotsReport {
    pub method: &'static str,
    pub wash_sales: &'static str,
    pub holdings: Vec<HoldingLots>,
    pub gains_by_year: Vec<YearGainsView>,
}

/// One holding's open lots, its sales' disposals and its lot-less fees.
#[derive(Debug, Clone, Serialize)]
pub struct HoldingLots {
    pub symbol: String,
    pub open_lots: Vec<OpenLotView>,
    pub disposals: Vec<DisposalView>,
    pub fees: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenLotView {
    /// The id of the BUY that opened it.
    pub lot_id: String,
    pub acquired: String,
    pub quantity: String,
    pub cost_basis: String,
    pub unit_cost: String,
    pub wash_adjustment: String,
}

impl From<&bourse_domain::lots::OpenLot> for OpenLotView {
    fn from(l: &bourse_domain::lots::OpenLot) -> Self {
        OpenLotView {
            lot_id: l.id.as_str().to_owned(),
            acquired: l.acquired.to_string(),
            quantity: dec(l.quantity),
            cost_basis: dec(l.cost_basis),
            unit_cost: dec(l.unit_cost()),
            wash_adjustment: dec(l.wash_adjustment),
        }
    }
}

/// One sale's draw on one lot.
#[derive(Debug, Clone, Serialize)]
pub struct DisposalView {
    pub sale_id: String,
    pub lot_id: String,
    pub acquired: String,
    pub disposed: String,
    pub quantity: String,
    pub proceeds: String,
    pub cost_basis: String,
    pub gain: String,
    /// `short` or `long` (held more than a year).
    pub term: &'static str,
    /// The loss a wash sale disallows now (added to the replacement lot's cost), if any.
    pub disallowed_loss: Option<String>,
    pub reportable_gain: String,
}

impl From<&bourse_domain::lots::Disposal> for DisposalView {
    fn from(d: &bourse_domain::lots::Disposal) -> Self {
        DisposalView {
            sale_id: d.sale.as_str().to_owned(),
            lot_id: d.lot.as_str().to_owned(),
            acquired: d.acquired.to_string(),
            disposed: d.disposed.to_string(),
            quantity: dec(d.quantity),
            proceeds: dec(d.proceeds),
            cost_basis: dec(d.cost_basis),
            gain: dec(d.gain),
            term: match d.term {
                bourse_domain::lots::HoldingTerm::Short => "short",
                bourse_domain::lots::HoldingTerm::Long => "long",
            },
            disallowed_loss: d.wash_sale.as_ref().map(|w| dec(w.disallowed_loss)),
            reportable_gain: dec(d.reportable_gain()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct YearGainsView {
    pub year: i32,
    pub short_term: TermGainsView,
    pub long_term: TermGainsView,
}

#[derive(Debug, Clone, Serialize)]
pub struct TermGainsView {
    pub disposals: u32,
    pub proceeds: String,
    pub cost_basis: String,
    pub gain: String,
    pub disallowed_loss: String,
    pub reportable_gain: String,
}

impl From<&bourse_domain::lots::TermGains> for TermGainsView {
    fn from(g: &bourse_domain::lots::TermGains) -> Self {
        TermGainsView {
            disposals: g.disposals,
            proceeds: dec(g.proceeds),
            cost_basis: dec(g.cost_basis),
            gain: dec(g.gain),
            disallowed_loss: dec(g.disallowed_loss),
            reportable_gain: dec(g.reportable_gain),
        }
    }
}

/// The figures of a return over a range (`ReturnsFigures` members, flattened into each answer).
#[derive(Debug, Clone, Serialize)]
pub struct ReturnsFigures {
    pub start_value: String,
    pub end_value: String,
    pub contributions: String,
    pub withdrawals: String,
    pub gain: String,
    pub time_weighted: Option<RateView>,
    pub money_weighted: Option<RateView>,
    pub simple: Option<RateView>,
}

/// One effect of a return's decomposition: on the cumulative time-weighted return (when there
/// is one) and on the gain.
#[derive(Debug, Clone, Serialize)]
pub struct EffectView {
    pub time_weighted: Option<String>,
    pub gain: String,
}

/// `PeriodReturns`.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodReturnsView {
    pub period: String,
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub figures: ReturnsFigures,
    /// The base currency every figure is in (the holdings' too).
    pub currency: String,
    /// The returns at the FX rates of the start valuation's day, held constant: prices alone.
    pub price_effect: EffectView,
    /// What the moves of FX rates added: the total minus the price effect.
    pub fx_effect: EffectView,
    /// With `benchmark=sp500` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<BenchmarkView>,
    pub holdings: Vec<HoldingReturnsView>,
}

/// One holding's returns: its flows are its own trades.
#[derive(Debug, Clone, Serialize)]
pub struct HoldingReturnsView {
    pub symbol: String,
    #[serde(flatten)]
    pub figures: ReturnsFigures,
}

/// The S&P 500 over the same range and flows; a figure the index's history cannot give is null.
#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkView {
    pub name: String,
    pub symbol: String,
    pub index_return: Option<RateView>,
    pub same_money_end_value: Option<String>,
    pub same_money_gain: Option<String>,
    pub same_money_money_weighted: Option<RateView>,
    pub excess_time_weighted: Option<RateView>,
    pub excess_money_weighted: Option<RateView>,
}

/// `AllReturns`: every portfolio of the caller, combined and each on its own, all in one currency
/// (the combined view's `currency`).
#[derive(Debug, Clone, Serialize)]
pub struct AllReturnsView {
    #[serde(flatten)]
    pub combined: PeriodReturnsView,
    pub portfolios: Vec<PortfolioReturnsRow>,
}

/// One portfolio's figures in [`AllReturnsView`], in its currency; `returns` is null when it has
/// nothing in the range.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioReturnsRow {
    pub portfolio_id: String,
    pub name: String,
    pub returns: Option<ReturnsFigures>,
}

/// A return as a fraction (0.05 = 5%), annualised when the period is longer than a year.
#[derive(Debug, Clone, Serialize)]
pub struct RateView {
    pub cumulative: String,
    pub annualised: Option<String>,
}

/// `Dividends`: a portfolio's dividends (rules in `bourse_domain::dividends`).
#[derive(Debug, Clone, Serialize)]
pub struct DividendsView {
    pub as_of: String,
    /// The first day of the trailing twelve months.
    pub ttm_since: String,
    pub ttm_income: String,
    pub ttm_yield: Option<String>,
    pub yield_on_cost: Option<String>,
    pub projected_income_12m: String,
    pub by_year: Vec<DividendYearView>,
    pub by_month: Vec<DividendMonthView>,
    pub holdings: Vec<HoldingDividendsView>,
    pub calendar: Vec<ExpectedPaymentView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DividendYearView {
    pub year: i32,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DividendMonthView {
    /// `YYYY-MM`.
    pub month: String,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldingDividendsView {
    pub symbol: String,
    pub quantity: String,
    pub market_value: Option<String>,
    pub cost_basis: String,
    pub received: String,
    pub ttm_income: String,
    pub ttm_per_share: String,
    pub ttm_yield: Option<String>,
    pub yield_on_cost: Option<String>,
    pub projected_income_12m: String,
    /// `trailing`, `stopped`, `yield` or `none`.
    pub projection_basis: &'static str,
    pub cadence: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpectedPaymentView {
    pub date: String,
    pub symbol: String,
    pub per_share: String,
    pub amount: String,
}

impl DividendsView {
    pub fn new(r: &bourse_domain::dividends::DividendReport, as_of: String) -> Self {
        let opt = |d: Option<Decimal>| d.map(dec);
        DividendsView {
            as_of,
            ttm_since: r.ttm_since.to_string(),
            ttm_income: dec(r.ttm_income),
            ttm_yield: opt(r.ttm_yield),
            yield_on_cost: opt(r.yield_on_cost),
            projected_income_12m: dec(r.projected_income),
            by_year: r.by_year.iter().map(|(year, amount)| DividendYearView { year: *year, amount: dec(*amount) }).collect(),
            by_month: r
                .by_month
                .iter()
                .map(|((year, month), amount)| DividendMonthView {
                    month: format!("{year:04}-{:02}", u8::from(*month)),
                    amount: dec(*amount),
                })
                .collect(),
            holdings: r
                .holdings
                .iter()
                .map(|h| HoldingDividendsView {
                    symbol: h.symbol.as_str().to_owned(),
                    quantity: dec(h.quantity),
                    market_value: opt(h.value),
                    cost_basis: dec(h.cost_basis),
                    received: dec(h.received),
                    ttm_income: dec(h.ttm_income),
                    ttm_per_share: dec(h.ttm_per_share),
                    ttm_yield: opt(h.ttm_yield),
                    yield_on_cost: opt(h.yield_on_cost),
                    projected_income_12m: dec(h.projected_income),
                    projection_basis: h.basis.code(),
                    cadence: h.cadence.map(|c| c.code()),
                })
                .collect(),
            calendar: r
                .calendar
                .iter()
                .map(|p| ExpectedPaymentView {
                    date: p.date.to_string(),
                    symbol: p.symbol.as_str().to_owned(),
                    per_share: dec(p.per_share),
                    amount: dec(p.amount),
                })
                .collect(),
        }
    }
}

/// `GainsExport`: the realised-gains report as rows, one per lot a sale drew on.
#[derive(Debug, Clone, Serialize)]
pub struct GainsExport {
    pub method: &'static str,
    pub wash_sales: &'static str,
    /// The tax year asked for (`?year=`), or every year.
    pub year: Option<i32>,
    #[serde(flatten)]
    pub page: bourse_http::Page<GainRow>,
    pub gains_by_year: Vec<YearGainsView>,
}

/// `GainRow`: a disposal with its holding and tax year.
#[derive(Debug, Clone, Serialize)]
pub struct GainRow {
    pub symbol: String,
    pub tax_year: i32,
    #[serde(flatten)]
    pub disposal: DisposalView,
    /// Whether the wash-sale rule disallows part of its loss now.
    pub wash_sale: bool,
}

/// `Webhook`: an endpoint as answered (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// `active`, or `disabled` after repeated failed deliveries.
    pub status: &'static str,
    pub created_at: String,
    /// Failed deliveries in a row (each after all its attempts).
    pub failures: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
}

impl From<&bourse_storage::webhooks::WebhookRecord> for WebhookView {
    fn from(r: &bourse_storage::webhooks::WebhookRecord) -> Self {
        WebhookView {
            id: r.id.to_string(),
            url: r.url.clone(),
            status: if r.active { "active" } else { "disabled" },
            created_at: r.created_at.clone(),
            failures: r.failures,
            disabled_at: r.disabled_at.clone(),
        }
    }
}

/// `CreatedWebhook`: the endpoint and its signing secret, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub endpoint: WebhookView,
    pub secret: String,
}

/// `{event_id}` of a queued test event.
#[derive(Debug, Clone, Serialize)]
pub struct TestQueued {
    pub event_id: String,
}

/// `NotificationPreferences`.
#[derive(Debug, Clone, Serialize)]
pub struct PreferencesView {
    pub email: bool,
}

impl From<bourse_domain::webhook::DeliveryPreferences> for PreferencesView {
    fn from(p: bourse_domain::webhook::DeliveryPreferences) -> Self {
        PreferencesView { email: p.email }
    }
}

/// `SavedScreen`: a user's screen definition (the filter as the service prints it back).
#[derive(Debug, Clone, Serialize)]
pub struct ScreenView {
    pub id: bourse_domain::ScreenId,
    pub name: String,
    pub filter: String,
    pub sort: &'static str,
    pub order: &'static str,
    pub columns: Vec<&'static str>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&bourse_storage::screens::ScreenRecord> for ScreenView {
    fn from(s: &bourse_storage::screens::ScreenRecord) -> Self {
        let d = &s.definition;
        ScreenView {
            id: s.id.clone(),
            name: d.name.clone(),
            filter: d.filter.to_string(),
            sort: d.sort.name(),
            order: if d.sort.descending { "desc" } else { "asc" },
            columns: d.columns.iter().map(|m| m.info().name).collect(),
            created_at: s.created_at.clone(),
            updated_at: s.updated_at.clone(),
        }
    }
}

/// `ScreenRow`: one matching stock with the screen's columns (`null` where the data has none).
#[derive(Debug, Clone, Serialize)]
pub struct ScreenRow {
    pub symbol: String,
    pub name: String,
    pub sector: Option<String>,
    pub values: std::collections::BTreeMap<&'static str, Option<String>>,
}

impl ScreenRow {
    pub fn new(stock: &bourse_domain::stock::Stock, columns: &[bourse_domain::stock::Metric]) -> Self {
        ScreenRow {
            symbol: stock.symbol.to_string(),
            name: stock.name.clone(),
            sector: stock.sector.clone(),
            values: columns.iter().map(|m| (m.info().name, stock.metric(*m).map(dec))).collect(),
        }
    }
}

/// `ScreenResults`: a page of a saved screen's matches over its scope.
#[derive(Debug, Clone, Serialize)]
pub struct ScreenResults {
    pub screen: ScreenView,
    /// `universe`, `portfolio` or `watchlist`.
    pub scope: &'static str,
    /// How many stocks of the scope match (all pages).
    pub total: usize,
    pub universe_version: u64,
    /// Symbols of the scope the universe does not hold (never matched).
    pub unknown: Vec<String>,
    #[serde(flatten)]
    pub page: bourse_http::Page<ScreenRow>,
}

/// `Alert`: an alert's rule and state.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: bourse_domain::AlertId,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_id: Option<bourse_domain::ScreenId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<&'static str>,
    /// Fires at the next crossing (false after firing, until the condition clears).
    pub armed: bool,
    /// How many times it fired.
    pub fired_count: u64,
    pub last_fired_at: Option<String>,
    pub created_at: String,
}

impl From<&bourse_storage::alerts::AlertRecord> for AlertView {
    fn from(a: &bourse_storage::alerts::AlertRecord) -> Self {
        use bourse_domain::alerts::AlertRule;
        let mut view = AlertView {
            id: a.id.clone(),
            kind: a.rule.kind().as_str(),
            symbol: a.rule.symbol().map(|s| s.to_string()),
            price: None,
            percent: None,
            signal: None,
            screen_id: None,
            on: None,
            armed: a.armed,
            fired_count: a.crossings,
            last_fired_at: a.last_fired_at.clone(),
            created_at: a.created_at.clone(),
        };
        match &a.rule {
            AlertRule::PriceAbove { price, .. } | AlertRule::PriceBelow { price, .. } => view.price = Some(dec(*price)),
            AlertRule::DayMove { percent, .. } => view.percent = Some(dec(*percent)),
            AlertRule::Signal { signal, .. } => view.signal = Some(signal.name()),
            AlertRule::Screen { screen, on } => {
                view.screen_id = Some(screen.clone());
                view.on = Some(on.as_str());
            }
        }
        view
    }
}
