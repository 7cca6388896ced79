//! A portfolio's exports, each as JSON (the default) or CSV (`format=csv`) with the same records
//! and fields in the same order (`table::CsvRecord`):
//!
//! - `GET …/export/transactions`: its transactions, newest first, in pages of
//!   [`PAGE_RECORDS`](crate::export::PAGE_RECORDS) (`next_cursor`, or a `Link: …; rel="next"` header
//!   in CSV). 1 GetItem + 1 Query per page.
//! - `GET …/export/holdings`: its holdings priced at the latest quotes. 1 GetItem + 1 Query +
//!   ⌈N/100⌉ BatchGetItem.
//! - `GET …/export/gains?year=&method=&wash_sales=`: the realised-gains report, one row per lot a
//!   sale drew on (tax year, short or long term, wash sale flagged), and the totals by year, from
//!   the same lot books as `…/lots`. 1 GetItem + 1 Query per MB of transactions.

use crate::lots::{lot_choice, wash_sales_code, year_views};
use crate::table::{self, CsvRecord, Format};
use crate::wire::{DisposalView, GainRow, GainsExport, HoldingView, TransactionView};
use crate::{Portfolio, portfolio_id};
use bourse_domain::lots::Disposal;
use bourse_domain::{PortfolioId, TransactionId, UserId};
use bourse_http::{ApiError, ApiRequest, Page, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::portfolios::{self as store, TransactionRange};

impl CsvRecord for GainRow {
    const HEADER: &'static [&'static str] = &[
        "symbol",
        "tax_year",
        "sale_id",
        "lot_id",
        "acquired",
        "disposed",
        "quantity",
        "proceeds",
        "cost_basis",
        "gain",
        "term",
        "disallowed_loss",
        "reportable_gain",
        "wash_sale",
    ];

    fn cells(&self) -> Vec<String> {
        let d = &self.disposal;
        vec![
            self.symbol.clone(),
            self.tax_year.to_string(),
            d.sale_id.clone(),
            d.lot_id.clone(),
            d.acquired.clone(),
            d.disposed.clone(),
            d.quantity.clone(),
            d.proceeds.clone(),
            d.cost_basis.clone(),
            d.gain.clone(),
            d.term.to_owned(),
            d.disallowed_loss.clone().unwrap_or_default(),
            d.reportable_gain.clone(),
            self.wash_sale.to_string(),
        ]
    }
}

fn csv_of<R: CsvRecord>(rows: &[R], header: bool) -> Result<Vec<u8>, ApiError> {
    table::csv_document(header.then_some(R::HEADER), rows.iter().map(CsvRecord::cells))
}

fn filename(id: &PortfolioId, what: &str) -> String {
    format!("bourse-{id}-{what}.csv")
}

impl Portfolio {
    pub(crate) async fn export_transactions(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["format", "cursor"])?;
        let id = portfolio_id(request)?;
        let format = Format::of(request)?;
        let after = match request.query("cursor")? {
            None => None,
            Some(raw) => Some(
                bourse_http::cursor::decode(raw)
                    .and_then(|tx| TransactionId::parse(&tx).ok())
                    .ok_or_else(|| ApiError::field("query.cursor", "not a cursor of this export"))?,
            ),
        };
        self.owned(user, &id).await?;
        let range =
            TransactionRange { from: "0000-01-01", to: "9999-12-31", limit: crate::export::PAGE_RECORDS as i32, after: after.as_ref() };
        let (records, more) =
            store::list_transactions(&self.platform.aws, &self.app_table, user, &id, range).await.map_err(storage_problem)?;
        let rows: Vec<TransactionView> = records.iter().map(TransactionView::from).collect();
        let next_cursor = more.map(|last| bourse_http::cursor::encode(last.id.as_str()));
        match format {
            Format::Json => Reply::ok(&Page::new(rows, next_cursor)),
            Format::Csv => {
                let next = next_cursor.map(|c| format!("/v1/portfolios/{id}/export/transactions?format=csv&cursor={c}"));
                table::csv_reply(csv_of(&rows, after.is_none())?, &filename(&id, "transactions"), next)
            }
        }
    }

    pub(crate) async fn export_holdings(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["format"])?;
        let id = portfolio_id(request)?;
        let format = Format::of(request)?;
        self.owned(user, &id).await?;
        let (holdings, quotes) = self.priced_holdings(user, &id).await?;
        let rows: Vec<HoldingView> = holdings.iter().map(|h| HoldingView::new(h, quotes.get(h.symbol.as_str()))).collect();
        match format {
            Format::Json => {
                Reply::ok(&crate::wire::Holdings { page: Page::all(rows), as_of: crate::rfc3339(self.platform.clock.now_utc()) })
            }
            Format::Csv => table::csv_reply(csv_of(&rows, true)?, &filename(&id, "holdings"), None),
        }
    }

    pub(crate) async fn export_gains(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["format", "year", "method", "wash_sales"])?;
        let id = portfolio_id(request)?;
        let format = Format::of(request)?;
        let choice = lot_choice(request)?;
        let year = match request.query("year")? {
            None => None,
            Some(raw) => Some(
                raw.parse::<i32>()
                    .ok()
                    .filter(|y| (1900..=9999).contains(y))
                    .ok_or_else(|| ApiError::field("query.year", "a year from 1900 to 9999"))?,
            ),
        };
        let (rules, books) = self.lot_books(user, &id, choice).await?;
        let in_year = |d: &Disposal| year.is_none_or(|y| d.disposed.year() == y);
        let disposals: Vec<(&str, &Disposal)> = books
            .iter()
            .flat_map(|(symbol, book)| book.disposals.iter().filter(|d| in_year(d)).map(move |d| (symbol.as_str(), d)))
            .collect();
        let rows: Vec<GainRow> = disposals
            .iter()
            .map(|(symbol, d)| GainRow {
                symbol: (*symbol).to_owned(),
                tax_year: d.disposed.year(),
                disposal: DisposalView::from(*d),
                wash_sale: d.wash_sale.is_some(),
            })
            .collect();
        match format {
            Format::Json => {
                let all: Vec<Disposal> = disposals.iter().map(|(_, d)| (*d).clone()).collect();
                Reply::ok(&GainsExport {
                    method: rules.method.code(),
                    wash_sales: wash_sales_code(rules.wash_sales),
                    year,
                    page: Page::all(rows),
                    gains_by_year: year_views(&all),
                })
            }
            Format::Csv => table::csv_reply(csv_of(&rows, true)?, &filename(&id, "gains"), None),
        }
    }
}
