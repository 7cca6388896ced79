//! `GET /v1/portfolios/{id}/lots?method=FIFO|LIFO|AVERAGE&wash_sales=us|off`: every holding's
//! open tax lots, every sale's disposals (which lots it drew on, gain, short or long term, wash
//! sales) and the realised gains by year — computed from the portfolio's whole ledger by
//! `bourse_domain::lots`. 1 GetItem (the portfolio) + 1 Query per MB of transactions.

use crate::wire::{DisposalView, HoldingLots, LotsReport, OpenLotView, TermGainsView, YearGainsView};
use crate::{Portfolio, portfolio_id};
use bourse_domain::UserId;
use bourse_domain::lots::{self, LedgerEntry, LotError, LotMethod, LotRules, WashSaleRule};
use bourse_domain::text::parse_date;
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::portfolios as store;

impl Portfolio {
    pub(crate) async fn lots(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["method", "wash_sales"])?;
        let id = portfolio_id(request)?;
        let method = match request.query("method")? {
            None => LotMethod::Fifo,
            Some(code) => match LotMethod::parse(code) {
                // Specific identification needs each sale's lot picks, which sales do not record yet.
                Some(LotMethod::Specific) | None => return Err(ApiError::field("query.method", "must be FIFO, LIFO or AVERAGE")),
                Some(method) => method,
            },
        };
        let wash_sales = match request.query("wash_sales")? {
            None | Some("us") => WashSaleRule::Us,
            Some("off") => WashSaleRule::Off,
            Some(_) => return Err(ApiError::field("query.wash_sales", "must be us or off")),
        };
        self.owned(user, &id).await?;
        let records = store::all_transactions(&self.platform.aws, &self.app_table, user, &id).await.map_err(storage_problem)?;
        let rules = LotRules { method, wash_sales };
        let mut holdings = Vec::new();
        let mut all_disposals = Vec::new();
        // Cash ledgers (`$<currency>`) hold no lots.
        for ledger in records.chunk_by(|a, b| a.symbol == b.symbol).filter(|l| l[0].symbol.cash_currency().is_none()) {
            let symbol = ledger[0].symbol.as_str().to_owned();
            let entries = ledger
                .iter()
                .map(|t| {
                    let date = parse_date(t.trade_date()).map_err(|e| ApiError::Internal(format!("stored trade date: {e}")))?;
                    Ok(LedgerEntry { id: t.id.clone(), date, trade: t.trade, picks: Vec::new() })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            let book = lots::tax_lots(&entries, rules).map_err(|e| problem(&symbol, e))?;
            all_disposals.extend(book.disposals.iter().cloned());
            holdings.push(HoldingLots {
                open_lots: book.open.iter().map(OpenLotView::from).collect(),
                fees: crate::dec(book.fees),
                disposals: book.disposals.iter().map(DisposalView::from).collect(),
                symbol,
            });
        }
        let gains_by_year = lots::gains_by_year(&all_disposals)
            .iter()
            .map(|y| YearGainsView {
                year: y.year,
                short_term: TermGainsView::from(&y.short_term),
                long_term: TermGainsView::from(&y.long_term),
            })
            .collect();
        Reply::ok(&LotsReport {
            method: method.code(),
            wash_sales: if wash_sales == WashSaleRule::Us { "us" } else { "off" },
            holdings,
            gains_by_year,
        })
    }
}

/// A ledger the lot engine cannot follow is stored data at fault (every write checks quantities),
/// so it is reported as a conflict on the holding, never a 5xx.
fn problem(symbol: &str, err: LotError) -> ApiError {
    ApiError::Conflict(format!("the ledger of {symbol} cannot be split into lots: {err}"))
}
