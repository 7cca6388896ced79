//! Starting an enrichment job from a request (the jobs API, the CSV import): record it, queue one
//! message per symbol, mark it queued — one code path, so every job is tracked the same way.

use crate::{Platform, storage_problem};
use bourse_domain::Symbol;
use bourse_domain::jobs::JobId;
use bourse_http::ApiError;
use bourse_storage::jobs::JobRecord;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A fresh random job id.
pub fn new_job_id() -> JobId {
    let hex = bourse_http::random_id();
    let mut bytes = [0u8; 12];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap_or(0);
    }
    JobId::from_random(bytes)
}

/// Records a job of `owner` over `symbols` and queues it: 1 PutItem, ⌈N/10⌉ SendMessageBatch,
/// 1 UpdateItem. A queue failure marks the job failed and answers 503 (the client may retry).
pub async fn start_enrichment_job(platform: &Platform, owner: &str, kind: &str, symbols: &[Symbol]) -> Result<JobRecord, ApiError> {
    let internal = |e: bourse_config::ConfigError| ApiError::Internal(e.to_string());
    let table = platform.config.require_app_table().map_err(internal)?;
    let queue = platform.config.require_enrich_queue_url().map_err(internal)?;
    let now = OffsetDateTime::now_utc();
    let created_at = now.format(&Rfc3339).unwrap_or_default();
    let mut job = JobRecord::new(new_job_id(), owner, kind, symbols.iter().map(Symbol::to_string).collect(), &created_at);
    bourse_storage::jobs::create_job(&platform.aws, table, &job, now.unix_timestamp() as u64).await.map_err(storage_problem)?;
    if let Err(err) = bourse_storage::jobs::enqueue_symbols(&platform.aws, queue, &job.id, symbols).await {
        tracing::warn!(job = %job.id, error = %err, "job could not be queued completely");
        let _ = bourse_storage::jobs::mark_enqueue_failed(&platform.aws, table, &job.id, &created_at).await;
        return Err(ApiError::Unavailable("the job could not be queued; retry shortly".into()));
    }
    bourse_storage::jobs::mark_enqueued(&platform.aws, table, &job.id, &created_at).await.map_err(storage_problem)?;
    job.enqueued = true;
    Ok(job)
}
