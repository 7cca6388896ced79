//! `POST /v1/portfolios/{id}/import`: a broker statement (CSV) into transactions.
//!
//! 1. The file is decoded and parsed ([`bourse_domain::import`]); a file refused as a whole or
//!    any row in error answers 422 with every problem (row, column, reason), and nothing is
//!    written.
//! 2. A file already imported (same SHA-256) answers its first result again, adding nothing.
//! 3. Planning: per symbol, the holding and (if it has transactions) its ledger are read; rows
//!    whose transaction id (from the row's fingerprint) is already there are duplicates; the rest
//!    must derive a valid holding after every write step, or the file is refused (422), still
//!    with nothing written.
//! 4. Writing: per symbol, up to 99 transactions and the holding per TransactWriteItems, under
//!    the same optimistic concurrency as single transactions. An interrupted import is resumed by
//!    uploading the file again: rows already written are duplicates.
//! 5. Symbols the market data does not know are recorded with the import and queued for
//!    enrichment as a `csv-import` job.

use crate::ledger::{ChangeError, derive};
use crate::wire::{EnrichmentJob, ImportResult, SkippedRow, SymbolImport};
use crate::{Portfolio, ledger_seq, now, rfc3339};
use bourse_domain::import::{self, FileRejection, ImportRow, Layout, ParsedImport};
use bourse_domain::transaction::TxField;
use bourse_domain::{PortfolioId, Symbol, UserId};
use bourse_http::{ApiError, ApiRequest, FieldError, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::StorageError;
use bourse_storage::portfolios::{self as store, ImportRecord, MAX_LEDGER_CHANGE, TransactionRecord, VersionedHolding};
use bourse_storage::retry::{Attempts, unless_raced};
use futures_util::{StreamExt, stream};
use http::StatusCode;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Symbols planned or written concurrently by one import.
const SYMBOLS_AT_ONCE: usize = 8;
/// Reads of a holding and its ledger before giving up when the holding keeps moving meanwhile.
const LEDGER_READ_ATTEMPTS: u32 = 11;

/// Largest file accepted: Schwab's largest export (10,000 rows) is about 1 MB.
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;

/// Media types a CSV upload arrives with (browsers send Excel's for `.csv` on Windows).
const CSV_TYPES: &[&str] = &["text/csv", "application/csv", "text/plain", "text/comma-separated-values", "application/vnd.ms-excel"];

/// One symbol's part of an import, ready to write.
struct SymbolPlan {
    symbol: Symbol,
    current: VersionedHolding,
    /// New transactions in ledger order, with their rows.
    new: Vec<(usize, TransactionRecord)>,
    duplicates: usize,
}

fn rejected(rejection: FileRejection) -> ApiError {
    ApiError::Unprocessable { detail: rejection.to_string(), errors: vec![FieldError::new("body", rejection.to_string())] }
}

fn row_errors(errors: Vec<FieldError>) -> ApiError {
    let rows = errors.iter().filter_map(|e| e.row).collect::<std::collections::BTreeSet<_>>().len();
    ApiError::Unprocessable { detail: format!("{rows} row(s) of the file are invalid; nothing was imported"), errors }
}

/// The charset of a CSV upload, or 415 for another media type.
fn csv_charset(request: &ApiRequest) -> Result<Option<String>, ApiError> {
    let content_type = request.header("content-type").unwrap_or("");
    let mut parts = content_type.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if !CSV_TYPES.contains(&mime.as_str()) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "expected Content-Type text/csv, got {:?}",
            content_type.chars().take(100).collect::<String>()
        )));
    }
    Ok(parts.filter_map(|p| p.split_once('=')).find(|(k, _)| k.trim().eq_ignore_ascii_case("charset")).map(|(_, v)| v.trim().to_owned()))
}

impl Portfolio {
    pub(crate) async fn import(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let id = crate::portfolio_id(request)?;
        let charset = csv_charset(request)?;
        let portfolio = self.owned(user, &id).await?;
        let text = import::decode(request.body(), charset.as_deref()).map_err(rejected)?;
        let parsed = import::parse(&text, now().date(), portfolio.currency).map_err(rejected)?;
        let mut errors: Vec<FieldError> =
            parsed.errors.iter().map(|e| FieldError::cell(e.row, e.column.clone(), e.reason.clone())).collect();
        if !portfolio.track_cash {
            let type_column = parsed.layout.column_name(TxField::Type);
            let cash_rows = parsed.rows.iter().filter(|r| crate::cash::is_cash_kind(&r.transaction.trade));
            errors.extend(cash_rows.map(|r| FieldError::cell(r.row, type_column, crate::cash::untracked(&portfolio))));
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.row);
            return Err(row_errors(errors));
        }
        let file_sha256 = bourse_domain::text::hex(&Sha256::digest(request.body()));
        let reply = self.idempotent(request, user, |_| self.import_parsed(user, &id, parsed, file_sha256)).await?;
        self.invalidate(user, &id).await;
        Ok(reply)
    }

    async fn import_parsed(
        &self,
        user: &UserId,
        id: &PortfolioId,
        parsed: ParsedImport,
        file_sha256: String,
    ) -> Result<(StatusCode, ImportResult), ApiError> {
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        if let Some(earlier) = store::get_import(aws, table, user, id, &file_sha256).await.map_err(storage_problem)? {
            let mut result = ImportResult::from_stored(&earlier.result)
                .map_err(|e| ApiError::Internal(format!("the stored result of import {file_sha256} is unreadable: {e}")))?;
            result.duplicate_file = true;
            result.duplicates += result.added;
            result.added = 0;
            return Ok((StatusCode::OK, result));
        }
        let started = now();
        let mut by_symbol: BTreeMap<&Symbol, Vec<&ImportRow>> = BTreeMap::new();
        for row in &parsed.rows {
            by_symbol.entry(&row.transaction.symbol).or_default().push(row);
        }
        // Symbols are independent holdings: plan them, then write them, a few at a time.
        // (Futures collected first: async fns only run when polled, and a stream holding no
        // closure keeps the handler's future Send.)
        let planning: Vec<_> =
            by_symbol.iter().map(|(symbol, rows)| self.plan_symbol(user, id, symbol, rows, parsed.layout, started)).collect();
        let planned: Vec<_> = stream::iter(planning).buffered(SYMBOLS_AT_ONCE).collect().await;
        let mut plans = Vec::with_capacity(planned.len());
        let mut errors = Vec::new();
        for plan in planned {
            match plan? {
                Ok(plan) => plans.push(plan),
                Err(mut found) => errors.append(&mut found),
            }
        }
        if !errors.is_empty() {
            return Err(row_errors(errors));
        }
        let added: Vec<_> = plans.iter().flat_map(|p| p.new.iter().map(|(_, r)| (r.currency, &r.trade))).collect();
        self.check_withdrawals(user, id, &added, FieldError::new("body", "")).await?;
        let writing: Vec<_> = plans.iter().map(|plan| self.write_plan(user, id, plan)).collect();
        let written: Vec<Result<usize, ApiError>> = stream::iter(writing).buffer_unordered(SYMBOLS_AT_ONCE).collect().await;
        let mut added = 0;
        for result in written {
            added += result?;
        }

        // Cash ledgers (`$<currency>`) are no market symbol.
        let symbols: Vec<Symbol> = by_symbol.keys().filter(|s| s.cash_currency().is_none()).map(|s| (*s).clone()).collect();
        let known_symbols = bourse_storage::market::quotes(aws, &self.market_table, &symbols).await.map_err(storage_problem)?;
        let unknown: Vec<Symbol> = symbols.into_iter().filter(|s| !known_symbols.contains_key(s.as_str())).collect();
        let job = if unknown.is_empty() {
            None
        } else {
            // The import itself is durable by now: a queue failure is reported, not fatal.
            // One job per user and file: an upload retried after a failure finds it.
            let id = bourse_runtime::jobs::job_id_of(&[user.as_str(), "csv-import", &file_sha256]);
            match bourse_runtime::jobs::start_enrichment_job(&self.platform, id, user, bourse_domain::jobs::JobKind::CsvImport, &unknown)
                .await
            {
                Ok(job) => Some(EnrichmentJob::Queued {
                    job_id: job.id.as_str().to_owned(),
                    state: "queued".into(),
                    links: bourse_http::Links::to(format!("/v1/jobs/{}", job.id)),
                }),
                Err(err) => {
                    tracing::warn!(error = %err, "enrichment of imported symbols could not be queued");
                    Some(EnrichmentJob::NotQueued {
                        error: "the enrichment of unknown symbols could not be queued; they will be refreshed by the next scheduled refresh once known"
                            .into(),
                    })
                }
            }
        };
        let imported_at = rfc3339(now());
        let result = ImportResult {
            layout: parsed.layout.name().to_owned(),
            file_sha256: file_sha256.clone(),
            imported_at: imported_at.clone(),
            rows: parsed.rows.len() + parsed.skipped.len(),
            added,
            duplicates: plans.iter().map(|p| p.duplicates).sum::<usize>(),
            skipped: parsed.skipped.iter().map(|s| SkippedRow { row: s.row, reason: s.reason.clone() }).collect(),
            symbols: plans
                .iter()
                .map(|p| SymbolImport { symbol: p.symbol.as_str().to_owned(), added: p.new.len(), duplicates: p.duplicates })
                .collect(),
            unknown_symbols: unknown.iter().map(|s| s.as_str().to_owned()).collect(),
            enrichment_job: job,
            duplicate_file: false,
        };
        let stored = result.to_stored().map_err(|e| ApiError::Internal(e.to_string()))?;
        let record = ImportRecord { file_sha256, imported_at, result: stored };
        store::put_import(aws, table, user, id, &record).await.map_err(storage_problem)?;
        self.tell_import_finished(user, id, &record.file_sha256, &result).await;
        Ok((StatusCode::OK, result))
    }

    /// Queues the import's notification (the consumer's `notify`: the inbox, the user's webhooks,
    /// e-mail if on). 1 SendMessage. The import is stored by now and the answer tells the same:
    /// a queue failure is logged, not fatal.
    async fn tell_import_finished(&self, user: &UserId, id: &PortfolioId, file_sha256: &str, result: &ImportResult) {
        let message = bourse_domain::messages::QueueMessage::ImportFinished {
            user: user.clone(),
            portfolio: id.clone(),
            file: file_sha256.to_owned(),
            at: result.imported_at.clone(),
            added: result.added as u64,
            duplicates: result.duplicates as u64,
            skipped: result.skipped.len() as u64,
        };
        let sent = match self.platform.config.require_enrich_queue_url() {
            Ok(queue) => bourse_storage::queue::send_messages(&self.platform.aws, queue, &[message], None).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = sent {
            tracing::warn!(portfolio = %id, error, "the import's notification could not be queued");
        }
    }

    /// Writes one symbol's new transactions in steps of [`MAX_LEDGER_CHANGE`]; returns how many.
    async fn write_plan(&self, user: &UserId, id: &PortfolioId, plan: &SymbolPlan) -> Result<usize, ApiError> {
        let mut known = Some(plan.current.clone());
        let mut added = 0;
        for chunk in plan.new.chunks(MAX_LEDGER_CHANGE) {
            let records: Vec<TransactionRecord> = chunk.iter().map(|(_, r)| r.clone()).collect();
            match self.change_ledger(user, id, &plan.symbol, &records, &[], known.take()).await {
                Ok(stored) => known = Some(stored),
                Err(ChangeError::Underivable { transaction_id, error }) => {
                    let row = chunk.iter().find(|(_, r)| r.id == transaction_id).map_or(chunk[0].0, |(row, _)| *row);
                    return Err(ApiError::Conflict(format!(
                        "the holding of {} changed during the import and row {row} no longer fits it ({error}); upload the file again to finish: rows already imported are skipped",
                        plan.symbol
                    )));
                }
                Err(ChangeError::Api(err)) => return Err(err),
            }
            added += records.len();
        }
        Ok(added)
    }

    /// Reads one symbol's holding (and its ledger when it has one), leaves out rows already
    /// imported, and checks that the holding derives after every write step. 1 GetItem, plus
    /// 1 Query when the holding has transactions.
    async fn plan_symbol(
        &self,
        user: &UserId,
        id: &PortfolioId,
        symbol: &Symbol,
        rows: &[&ImportRow],
        layout: Layout,
        started: time::OffsetDateTime,
    ) -> Result<Result<SymbolPlan, Vec<FieldError>>, ApiError> {
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let mut attempts = Attempts::new(LEDGER_READ_ATTEMPTS);
        let (current, ledger) = loop {
            if !attempts.next().await {
                return Err(storage_problem(StorageError::Conflict(format!("the ledger of {symbol} kept changing while it was read"))));
            }
            let current = store::get_holding(aws, table, user, id, symbol).await.map_err(storage_problem)?;
            if current.version == 0 {
                break (current, Vec::new());
            }
            // A lost race: the holding moved on while its ledger was read.
            if let Some(ledger) = unless_raced(store::ledger(aws, table, user, id, &current).await).map_err(storage_problem)? {
                break (current, ledger);
            }
        };
        let mut new = Vec::new();
        for row in rows {
            let id = row.transaction_id().map_err(|e| ApiError::Internal(format!("row {}: {e}", row.row)))?;
            if ledger.iter().any(|r| r.id == id) {
                continue;
            }
            let record = TransactionRecord {
                id,
                symbol: symbol.clone(),
                seq: ledger_seq(started, row.row),
                trade: row.transaction.trade,
                currency: row.transaction.currency,
                source: Some(layout.name().into()),
                lots: Vec::new(),
            };
            new.push((row.row, record));
        }
        new.sort_by(|a, b| a.1.ledger_position().cmp(&b.1.ledger_position()));
        let duplicates = rows.len() - new.len();
        // Every write step must leave a valid holding: the whole file, and each prefix of it
        // that a step of at most MAX_LEDGER_CHANGE rows stops at.
        let steps = (1..=new.len().div_ceil(MAX_LEDGER_CHANGE)).map(|k| (k * MAX_LEDGER_CHANGE).min(new.len()));
        for end in steps {
            let records = ledger.iter().chain(new[..end].iter().map(|(_, r)| r)).collect();
            if let Err(fault) = derive(symbol, records) {
                let row = new.iter().find(|(_, r)| r.id == fault.record.id).map(|(row, _)| *row);
                let reason = match row {
                    Some(_) => fault.error.to_string(),
                    None => format!(
                        "with this file's earlier rows, the existing transaction of {} on {} no longer fits: {}",
                        symbol,
                        fault.record.trade_date(),
                        fault.error
                    ),
                };
                return Ok(Err(vec![FieldError::cell(row.unwrap_or(new[0].0), layout.column_name(TxField::Quantity), reason)]));
            }
        }
        Ok(Ok(SymbolPlan { symbol: symbol.clone(), current, new, duplicates }))
    }
}
