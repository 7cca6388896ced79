//! A portfolio's cash (`track_cash`): the rules of the cash kinds on every write path, and the
//! balances the summary shows. The arithmetic is `bourse_domain::cash`.

use crate::Portfolio;
use bourse_domain::cash::{CashBalance, balances, check_withdrawals};
use bourse_domain::money::Currency;
use bourse_domain::portfolio::Trade;
use bourse_domain::{PortfolioId, UserId};
use bourse_http::{ApiError, FieldError};
use bourse_runtime::storage_problem;
use bourse_storage::portfolios::{self as store, PortfolioRecord};

/// Whether a trade moves cash only (DEPOSIT, WITHDRAWAL, INTEREST).
pub fn is_cash_kind(trade: &Trade) -> bool {
    matches!(trade, Trade::Deposit { .. } | Trade::Withdrawal { .. } | Trade::Interest { .. })
}

/// The error of a cash kind in a portfolio that does not track cash.
pub fn untracked(portfolio: &PortfolioRecord) -> String {
    format!("portfolio {} does not track cash: set track_cash to true first", portfolio.id)
}

impl Portfolio {
    /// Refuses `added` when it withdraws more cash than the portfolio holds in that currency, the
    /// whole ledger included. Reads the ledger (1 Query per MB of transactions, strongly
    /// consistent) only when `added` holds a withdrawal. Withdrawals are serialised among
    /// themselves by their cash ledger's version; a trade written at the same moment on another
    /// holding is not seen (the check is the balance as read).
    pub(crate) async fn check_withdrawals(
        &self,
        user: &UserId,
        id: &PortfolioId,
        added: &[(Currency, &Trade)],
        field: FieldError,
    ) -> Result<(), ApiError> {
        if !added.iter().any(|(_, t)| matches!(t, Trade::Withdrawal { .. })) {
            return Ok(());
        }
        let ledger = store::all_transactions(&self.platform.aws, &self.app_table, user, id).await.map_err(storage_problem)?;
        check_withdrawals(ledger.iter().map(|r| (r.currency, &r.trade)), added)
            .map_err(|e| ApiError::Unprocessable { detail: e.to_string(), errors: vec![FieldError { reason: e.to_string(), ..field }] })
    }

    /// The cash per currency of a portfolio that tracks cash (none otherwise).
    /// 1 Query per MB of transactions, strongly consistent, when it does.
    pub(crate) async fn cash(&self, user: &UserId, portfolio: &PortfolioRecord) -> Result<Vec<CashBalance>, ApiError> {
        if !portfolio.track_cash {
            return Ok(Vec::new());
        }
        let ledger = store::all_transactions(&self.platform.aws, &self.app_table, user, &portfolio.id).await.map_err(storage_problem)?;
        Ok(balances(ledger.iter().map(|r| (r.currency, &r.trade))))
    }
}
