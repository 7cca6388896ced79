//! Changes to a holding's ledger (its transactions), shared by single transactions, deletes and
//! imports: one conditional TransactWriteItems per change, re-read and retried when another
//! writer got there first, so concurrent writers never lose an update.

use crate::{Portfolio, WRITE_ATTEMPTS};
use bourse_domain::portfolio::{Holding, PortfolioError};
use bourse_domain::{PortfolioId, Symbol, TransactionId, UserId};
use bourse_http::ApiError;
use bourse_runtime::storage_problem;
use bourse_storage::portfolios::{self as store, LedgerChange, TransactionRecord, VersionedHolding};
use bourse_storage::retry::{Attempts, unless_raced};

/// Why a ledger cannot be derived: the record at fault and the error applying it gave.
#[derive(Debug)]
pub struct Underivable<'a> {
    pub record: &'a TransactionRecord,
    pub error: PortfolioError,
}

/// The holding `records` produce, applied in ledger order (trade date, then order recorded).
pub fn derive<'a>(symbol: &Symbol, mut records: Vec<&'a TransactionRecord>) -> Result<Holding, Underivable<'a>> {
    records.sort_by(|a, b| a.ledger_position().cmp(&b.ledger_position()));
    let mut holding = Holding::new(symbol.clone());
    for record in records {
        holding.apply(&record.trade).map_err(|error| Underivable { record, error })?;
    }
    Ok(holding)
}

/// What a ledger change refused.
pub enum ChangeError {
    /// The change would leave the ledger underivable (e.g. a sale of more than is held then).
    Underivable {
        transaction_id: TransactionId,
        error: PortfolioError,
    },
    Api(ApiError),
}

impl From<ApiError> for ChangeError {
    fn from(err: ApiError) -> Self {
        ChangeError::Api(err)
    }
}

impl Portfolio {
    /// Adds and removes transactions of one holding and stores the holding they produce. `known`
    /// is the holding as last read or written (saves the first read). Transactions appended after
    /// the latest trade date are applied on top; anything else re-derives the holding from its
    /// ledger. Additions already in the ledger (a concurrent duplicate import) are left out.
    /// Returns the holding as stored.
    pub(crate) async fn change_ledger(
        &self,
        user: &UserId,
        portfolio: &PortfolioId,
        symbol: &Symbol,
        added: &[TransactionRecord],
        removed: &[TransactionRecord],
        mut known: Option<VersionedHolding>,
    ) -> Result<VersionedHolding, ChangeError> {
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        // After a lost race the ledger is read: an addition already there (written by an earlier
        // attempt whose answer was lost) is then found, instead of failing every retry.
        let mut check_ledger = false;
        let mut attempts = Attempts::new(WRITE_ATTEMPTS);
        while attempts.next().await {
            let current = match known.take() {
                Some(holding) => holding,
                None => store::get_holding(aws, table, user, portfolio, symbol).await.map_err(storage_problem)?,
            };
            let appends = !check_ledger && removed.is_empty() && added.iter().all(|r| r.trade_date() >= current.latest_trade_date.as_str());
            let (adding, next) = if appends {
                let mut next = current.holding.clone();
                for record in added {
                    next.apply(&record.trade).map_err(|error| ChangeError::Underivable { transaction_id: record.id.clone(), error })?;
                }
                (added.to_vec(), next)
            } else {
                let Some(ledger) = unless_raced(store::ledger(aws, table, user, portfolio, &current).await).map_err(storage_problem)?
                else {
                    continue;
                };
                let adding: Vec<TransactionRecord> = added.iter().filter(|a| !ledger.iter().any(|r| r.id == a.id)).cloned().collect();
                let kept = ledger.iter().filter(|r| !removed.iter().any(|x| x.id == r.id));
                if adding.is_empty() && removed.is_empty() {
                    return Ok(current);
                }
                let next = derive(symbol, kept.chain(&adding).collect())
                    .map_err(|u| ChangeError::Underivable { transaction_id: u.record.id.clone(), error: u.error })?;
                (adding, next)
            };
            match unless_raced(
                store::write_ledger_change(
                    aws,
                    table,
                    user,
                    portfolio,
                    LedgerChange { added: &adding, removed, current: &current, next: &next },
                )
                .await,
            ) {
                Ok(Some(after)) => return Ok(after),
                Ok(None) => check_ledger = true,
                Err(err) => return Err(storage_problem(err).into()),
            }
        }
        Err(ApiError::Conflict("the holding is being changed by many requests at once; retry".into()).into())
    }
}
