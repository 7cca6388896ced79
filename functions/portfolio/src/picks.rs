//! Specific-lot identification on the write path: a SELL that names lots (`lots` of its body) is
//! checked against its holding's ledger before it is recorded — each named lot must be a BUY of
//! the holding still open on the sale's day with the shares named — and a delete that would leave
//! a recorded sale naming a lot that no longer holds its shares is refused. The check is
//! `bourse_domain::lots::tax_lots` under specific identification over the ledger as it would be.
//! Cost: 1 GetItem (the holding) + 1 Query on `gsi1` (its ledger), again if the index lags.
//! A concurrent write between the check and the record is not seen (the lots report then answers
//! 409 for the holding); the check is advisory against such races, exact otherwise.

use crate::{Portfolio, WRITE_ATTEMPTS};
use bourse_domain::lots::{self, LotError, LotMethod, LotRules, WashSaleRule};
use bourse_domain::{PortfolioId, UserId};
use bourse_http::{ApiError, FieldError};
use bourse_runtime::storage_problem;
use bourse_storage::portfolios::{self as store, TransactionRecord};
use bourse_storage::retry::{Attempts, unless_raced};

/// How a ledger is to change.
pub(crate) enum Change<'a> {
    Add(&'a TransactionRecord),
    Remove(&'a TransactionRecord),
}

impl Portfolio {
    /// Refuses a change that leaves named lots that cannot be followed: an added SELL's own
    /// picks as field errors (`body.lots[i].lot_id`, `body.lots[i].quantity`), anything else as
    /// 422 naming the sale it would break. A holding whose ledger names no lots (and an added
    /// transaction naming none) is not read.
    pub(crate) async fn check_picks(&self, user: &UserId, portfolio: &PortfolioId, change: Change<'_>) -> Result<(), ApiError> {
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let symbol = match &change {
            Change::Add(record) if record.lots.is_empty() => return Ok(()),
            Change::Add(record) | Change::Remove(record) => &record.symbol,
        };
        let mut attempts = Attempts::new(WRITE_ATTEMPTS);
        while attempts.next().await {
            let holding = store::get_holding(aws, table, user, portfolio, symbol).await.map_err(storage_problem)?;
            let Some(mut ledger) = unless_raced(store::ledger(aws, table, user, portfolio, &holding).await).map_err(storage_problem)?
            else {
                continue;
            };
            match change {
                Change::Add(record) => ledger.push(record.clone()),
                Change::Remove(record) => ledger.retain(|r| r.id != record.id),
            }
            if ledger.iter().all(|r| r.lots.is_empty()) {
                return Ok(());
            }
            ledger.sort_by(|a, b| a.ledger_position().cmp(&b.ledger_position()));
            let rules = LotRules { method: LotMethod::Specific, wash_sales: WashSaleRule::Off };
            return match lots::tax_lots(&crate::lots::ledger_entries(&ledger)?, rules) {
                Ok(_) => Ok(()),
                Err(err) => Err(refusal(&change, err)),
            };
        }
        Err(ApiError::Conflict("the holding is being changed by many requests at once; retry".into()))
    }
}

/// The answer to a change the lots refuse.
fn refusal(change: &Change<'_>, err: LotError) -> ApiError {
    let reason = err.to_string();
    if let Change::Add(record) = change {
        let index = |lot: &lots::LotId| record.lots.iter().position(|p| &p.lot == lot).unwrap_or(0);
        let field = match &err {
            LotError::UnknownLot { sale, lot } if *sale == record.id => Some(format!("body.lots[{}].lot_id", index(lot))),
            LotError::LotOverdrawn { sale, lot, .. } if *sale == record.id => Some(format!("body.lots[{}].quantity", index(lot))),
            LotError::InsufficientQuantity { sale, .. } if *sale == record.id => Some("body.quantity".to_owned()),
            LotError::EmptyPick { sale, .. } | LotError::PicksMismatch { sale, .. } if *sale == record.id => Some("body.lots".to_owned()),
            _ => None,
        };
        if let Some(field) = field {
            return ApiError::Unprocessable { detail: reason.clone(), errors: vec![FieldError::new(field, reason)] };
        }
    }
    ApiError::Unprocessable { detail: format!("this change would break the lots a recorded sale names: {reason}"), errors: vec![] }
}
