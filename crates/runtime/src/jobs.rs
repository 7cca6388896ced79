//! Starting an enrichment job from a request (the jobs API, the CSV import): record it, queue one
//! message per symbol, mark it queued — one code path, so every job is tracked the same way.

use crate::{Platform, storage_problem};
use bourse_domain::jobs::{JobId, JobKind, JobOwner};
use bourse_domain::{Symbol, UserId};
use bourse_http::ApiError;
use bourse_storage::jobs::JobRecord;

/// The job id of a request's attempt: derived from its Idempotency-Key when it has one (so a
/// retry finds the job its first attempt created), random otherwise.
pub fn job_id(attempt: &crate::idempotency::Attempt) -> JobId {
    job_id_from(&bourse_domain::text::unhex(&attempt.id("job", 0)).unwrap_or_default())
}

/// The job id derived from `parts` (SHA-256): the same parts, the same job.
pub fn job_id_of(parts: &[&str]) -> JobId {
    use sha2::Digest;
    job_id_from(&sha2::Sha256::digest(parts.join("\n").as_bytes()))
}

/// The job id of the first 12 of `bytes` (zeros where fewer).
fn job_id_from(bytes: &[u8]) -> JobId {
    let mut id = [0u8; 12];
    let n = bytes.len().min(12);
    id[..n].copy_from_slice(&bytes[..n]);
    JobId::from_random(id)
}

/// Records job `id` of `owner` over `symbols` and queues it: 1 TransactWriteItems, ⌈N/10⌉
/// SendMessageBatch, 1 UpdateItem. When the job exists already (an earlier attempt of the same
/// keyed request) it is answered as it is, and queued again if that attempt did not finish
/// queuing (symbols already counted cost their consumers one GetItem each). A queue failure marks
/// the job failed and answers 503 (the client may retry).
pub async fn start_enrichment_job(
    platform: &Platform,
    id: JobId,
    owner: &UserId,
    kind: JobKind,
    symbols: &[Symbol],
) -> Result<JobRecord, ApiError> {
    let internal = |e: bourse_config::ConfigError| ApiError::Internal(e.to_string());
    let table = platform.config.require_app_table().map_err(internal)?;
    let queue = platform.config.require_enrich_queue_url().map_err(internal)?;
    let now = platform.clock.now_utc();
    let created_at = bourse_domain::text::rfc3339(now);
    let mut job = JobRecord::new(id, JobOwner::User(owner.clone()), kind, symbols.len(), &created_at);
    match bourse_storage::jobs::create_job(&platform.aws, table, &job, symbols, now.unix_timestamp() as u64).await {
        Ok(()) => {}
        Err(bourse_storage::StorageError::Conflict(_)) => {
            let existing = bourse_storage::jobs::get_job(&platform.aws, table, &job.id).await.map_err(storage_problem)?;
            let existing = existing.filter(|j| j.owner.is(owner)).ok_or_else(|| ApiError::Conflict("a job with this id exists".into()))?;
            if existing.enqueued && !existing.enqueue_failed {
                return Ok(existing);
            }
            job = existing;
        }
        Err(err) => return Err(storage_problem(err)),
    }
    if let Err(err) = bourse_storage::jobs::enqueue_symbols(&platform.aws, queue, &job.id, symbols).await {
        tracing::warn!(job = %job.id, error = %err, "job could not be queued completely");
        let _ = bourse_storage::jobs::mark_enqueue_failed(&platform.aws, table, &job.id, &created_at).await;
        return Err(ApiError::Unavailable("the job could not be queued; retry shortly".into()));
    }
    bourse_storage::jobs::mark_enqueued(&platform.aws, table, &job.id, &created_at).await.map_err(storage_problem)?;
    job.enqueued = true;
    Ok(job)
}
