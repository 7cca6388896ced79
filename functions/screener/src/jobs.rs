//! The jobs API: `POST /v1/jobs` records an enrichment job and queues one message per symbol
//! (⌈N/10⌉ SendMessageBatch), answering 202 with the job id before anything is fetched;
//! `GET /v1/jobs/{id}` shows its state, counts and per-symbol errors. Jobs belong to their
//! creator: anyone else gets 404, as for an unknown id.

use crate::views::{JobQueued, JobSymbolError, JobView};
use bourse_domain::Symbol;
use bourse_domain::jobs::JobKind;
use bourse_domain::jobs::{JobId, JobRequest, JobScope};
use bourse_http::{ApiError, ApiRequest, FieldError, Reply};
use bourse_runtime::{Platform, storage_problem};

/// Records and queues a job; `universe` gives the symbols of `universe: true`.
pub async fn create(
    platform: &Platform,
    request: &ApiRequest,
    universe: impl AsyncFnOnce() -> Result<Vec<Symbol>, ApiError>,
) -> Result<Reply, ApiError> {
    request.only_query(&[])?;
    let principal = request.principal()?;
    let body: JobRequest = request.json()?;
    let scope = body.validate().map_err(|errors| ApiError::Validation(errors.into_iter().map(|(f, r)| FieldError::new(f, r)).collect()))?;
    let plan = bourse_domain::plan::Plan::parse(&principal.plan);
    let (kind, symbols) = match scope {
        JobScope::Symbols(symbols) if symbols.len() > plan.max_job_symbols() => {
            return Err(ApiError::Forbidden(format!(
                "the {} plan enriches at most {} symbols per job; the pro plan up to {}",
                plan.as_str(),
                plan.max_job_symbols(),
                bourse_domain::plan::Plan::Pro.max_job_symbols()
            )));
        }
        JobScope::Symbols(symbols) => (JobKind::Symbols, symbols),
        JobScope::Universe if !plan.may_refresh_universe() => {
            return Err(ApiError::Forbidden(format!(
                "refreshing the whole universe needs the pro plan; the {} plan names its symbols",
                plan.as_str()
            )));
        }
        JobScope::Universe => (JobKind::Universe, universe().await?),
    };
    let (owner, symbols) = (&principal.user_id, symbols.as_slice());
    bourse_runtime::idempotency::idempotent(platform, request, owner, |attempt| async move {
        let job =
            bourse_runtime::jobs::start_enrichment_job(platform, bourse_runtime::jobs::job_id(&attempt), owner, kind, symbols).await?;
        let (id, created_at) = (job.id, job.created_at);
        let links = bourse_http::Links::to(format!("/v1/jobs/{id}"));
        let body = JobQueued { job_id: id.as_str().to_owned(), kind, state: "queued", total: symbols.len(), created_at, links };
        Ok((http::StatusCode::ACCEPTED, body))
    })
    .await
}

/// A job of the caller's.
pub async fn get(platform: &Platform, request: &ApiRequest) -> Result<Reply, ApiError> {
    request.only_query(&[])?;
    let principal = request.principal()?;
    let not_found = || ApiError::NotFound("no such job".into());
    let id = JobId::parse(request.param("id")?).map_err(|_| not_found())?;
    let table = platform.config.require_app_table().map_err(|e| ApiError::Internal(e.to_string()))?;
    let (job, errors) =
        bourse_storage::jobs::job_with_errors(&platform.aws, table, &id).await.map_err(storage_problem)?.ok_or_else(not_found)?;
    if !job.owner.is(&principal.user_id) {
        return Err(not_found());
    }
    let p = job.progress;
    let errors = errors.into_iter().map(|e| JobSymbolError { symbol: e.symbol, error: e.error.unwrap_or_default() }).collect();
    Reply::ok(&JobView {
        job_id: job.id.as_str().to_owned(),
        kind: job.kind,
        state: p.state(job.enqueue_failed),
        total: p.total,
        done: p.done,
        failed: p.failed,
        percent: p.percent(),
        errors,
        created_at: job.created_at,
        updated_at: job.updated_at,
        completed_at: job.completed_at,
    })
}
