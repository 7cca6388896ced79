//! `GET /v1/portfolios/{id}/dividends`: dividends received by month and year, trailing-twelve-month
//! income and yields, the next twelve months projected and the expected payments, per holding and
//! in total (rules in `bourse_domain::dividends`). 1 GetItem (the portfolio) + 1 Query per MB of
//! transactions + ⌈N/100⌉ BatchGetItem of quotes (price and the universe's dividend yield).

use crate::wire::DividendsView;
use crate::{Portfolio, portfolio_id};
use bourse_domain::dividends::{self, HoldingInput};
use bourse_domain::portfolio::Trade;
use bourse_domain::text::parse_date;
use bourse_domain::{Symbol, UserId};
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::market::quotes;
use bourse_storage::portfolios as store;
use time::Date;

impl Portfolio {
    pub(crate) async fn dividends(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let id = portfolio_id(request)?;
        self.owned(user, &id).await?;
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let records = store::all_transactions(aws, table, user, &id).await.map_err(storage_problem)?;
        let ledgers = records
            .chunk_by(|a, b| a.symbol == b.symbol)
            .map(|ledger| {
                let trades = ledger
                    .iter()
                    .map(|t| Ok((parse_date(t.trade_date()).map_err(|e| ApiError::Internal(format!("stored trade date: {e}")))?, t.trade)))
                    .collect::<Result<Vec<(Date, Trade)>, ApiError>>()?;
                Ok((ledger[0].symbol.clone(), trades))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let symbols: Vec<Symbol> = ledgers.iter().map(|(s, _)| s.clone()).collect();
        let quotes = quotes(aws, &self.market_table, &symbols).await.map_err(storage_problem)?;
        let inputs: Vec<HoldingInput> = ledgers
            .iter()
            .map(|(symbol, ledger)| {
                let quote = quotes.get(symbol.as_str());
                HoldingInput {
                    symbol: symbol.clone(),
                    ledger,
                    price: quote.and_then(|q| q.price),
                    dividend_yield: quote.and_then(|q| q.dividend_yield),
                }
            })
            .collect();
        let now = self.platform.clock.now_utc();
        // Every write derives the holding from the same trades, so a ledger that cannot be
        // followed is stored data at fault: a conflict on the holding, never a 5xx.
        let report = dividends::dividends(&inputs, now.date()).map_err(|e| ApiError::Conflict(e.to_string()))?;
        Reply::ok(&DividendsView::new(&report, crate::rfc3339(now)))
    }
}
