//! `GET /v1/portfolios/{id}/lots?method=FIFO|LIFO|SPECIFIC|AVERAGE&wash_sales=us|off`: every
//! holding's open tax lots, every sale's disposals (which lots it drew on, gain, short or long
//! term, wash sales) and the realised gains by year — computed from the portfolio's whole ledger by
//! `bourse_domain::lots`. 1 GetItem (the portfolio) + 1 Query per MB of transactions. Under
//! `SPECIFIC`, a SELL sells the lots it named when it was recorded (`lots` of its body), and one
//! that named none sells FIFO. The same books feed the gains export (`exports.rs`).

use crate::wire::{DisposalView, HoldingLots, LotsReport, OpenLotView, TermGainsView, YearGainsView};
use crate::{Portfolio, portfolio_id};
use bourse_domain::lots::{self, Disposal, LedgerEntry, LotBook, LotError, LotMethod, LotRules, WashSaleRule};
use bourse_domain::text::parse_date;
use bourse_domain::{PortfolioId, UserId};
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::portfolios::{self as store, TransactionRecord};

/// The `method` and `wash_sales` parameters as asked (the method, when absent, is the portfolio's:
/// [`LotChoice::rules`]; the US rule by default).
pub(crate) fn lot_choice(request: &ApiRequest) -> Result<LotChoice, ApiError> {
    let method = match request.query("method")? {
        None => None,
        Some(code) => {
            Some(LotMethod::parse(code).ok_or_else(|| ApiError::field("query.method", "must be FIFO, LIFO, SPECIFIC or AVERAGE"))?)
        }
    };
    let wash_sales = match request.query("wash_sales")? {
        None | Some("us") => WashSaleRule::Us,
        Some("off") => WashSaleRule::Off,
        Some(_) => return Err(ApiError::field("query.wash_sales", "must be us or off")),
    };
    Ok(LotChoice { method, wash_sales })
}

/// A request's lot rules before the portfolio is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LotChoice {
    method: Option<LotMethod>,
    wash_sales: WashSaleRule,
}

impl LotChoice {
    /// The rules for `portfolio`: the method asked for, else the portfolio's own.
    pub(crate) fn rules(self, portfolio: &bourse_storage::portfolios::PortfolioRecord) -> LotRules {
        LotRules { method: self.method.unwrap_or(portfolio.lot_method), wash_sales: self.wash_sales }
    }
}

pub(crate) fn wash_sales_code(rule: WashSaleRule) -> &'static str {
    if rule == WashSaleRule::Us { "us" } else { "off" }
}

/// A holding's ledger as the lot engine takes it.
pub(crate) fn ledger_entries(ledger: &[TransactionRecord]) -> Result<Vec<LedgerEntry>, ApiError> {
    ledger
        .iter()
        .map(|t| {
            let date = parse_date(t.trade_date()).map_err(|e| ApiError::Internal(format!("stored trade date: {e}")))?;
            Ok(LedgerEntry { id: t.id.clone(), date, trade: t.trade, picks: t.lots.clone() })
        })
        .collect()
}

/// The realised gains by year of every disposal.
pub(crate) fn year_views(disposals: &[Disposal]) -> Vec<YearGainsView> {
    lots::gains_by_year(disposals)
        .iter()
        .map(|y| YearGainsView {
            year: y.year,
            short_term: TermGainsView::from(&y.short_term),
            long_term: TermGainsView::from(&y.long_term),
        })
        .collect()
}

impl Portfolio {
    /// Every holding's lot book (symbol order) under the rules `choice` and the portfolio's lot
    /// method make, after checking the portfolio is the caller's; with those rules.
    pub(crate) async fn lot_books(
        &self,
        user: &UserId,
        id: &PortfolioId,
        choice: LotChoice,
    ) -> Result<(LotRules, Vec<(String, LotBook)>), ApiError> {
        let rules = choice.rules(&self.owned(user, id).await?);
        let records = store::all_transactions(&self.platform.aws, &self.app_table, user, id).await.map_err(storage_problem)?;
        // Cash ledgers (`$<currency>`) hold no lots.
        records
            .chunk_by(|a, b| a.symbol == b.symbol)
            .filter(|ledger| ledger[0].symbol.cash_currency().is_none())
            .map(|ledger| {
                let symbol = ledger[0].symbol.as_str().to_owned();
                let book = lots::tax_lots(&ledger_entries(ledger)?, rules).map_err(|e| problem(&symbol, e))?;
                Ok((symbol, book))
            })
            .collect::<Result<_, ApiError>>()
            .map(|books| (rules, books))
    }

    pub(crate) async fn lots(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["method", "wash_sales"])?;
        let id = portfolio_id(request)?;
        let choice = lot_choice(request)?;
        let (rules, books) = self.lot_books(user, &id, choice).await?;
        let all_disposals: Vec<Disposal> = books.iter().flat_map(|(_, book)| book.disposals.iter().cloned()).collect();
        let holdings = books
            .into_iter()
            .map(|(symbol, book)| HoldingLots {
                open_lots: book.open.iter().map(OpenLotView::from).collect(),
                fees: crate::dec(book.fees),
                disposals: book.disposals.iter().map(DisposalView::from).collect(),
                symbol,
            })
            .collect();
        Reply::ok(&LotsReport {
            method: rules.method.code(),
            wash_sales: wash_sales_code(rules.wash_sales),
            holdings,
            gains_by_year: year_views(&all_disposals),
        })
    }
}

/// A ledger the lot engine cannot follow is stored data at fault (every write checks quantities
/// and named lots), so it is reported as a conflict on the holding, never a 5xx.
fn problem(symbol: &str, err: LotError) -> ApiError {
    ApiError::Conflict(format!("the ledger of {symbol} cannot be split into lots: {err}"))
}
