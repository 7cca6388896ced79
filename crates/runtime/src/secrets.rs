//! Secrets read from Secrets Manager once per instance, without lengthening init.
//!
//! The fetch starts in the background right after init (once the runtime has asked for its
//! first event), so its round trip overlaps the wait for that event instead of adding to the cold
//! start; the first request that needs the secret awaits the fetch already under way, or starts
//! it. A failed fetch is logged and retried by the next request that needs the secret; a fetched
//! one is kept for the life of the instance.

use crate::Platform;
use bourse_config::{Secret, SecretSource};
use bourse_storage::AwsClients;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// How long after init the background fetch starts.
const PREFETCH_DELAY: std::time::Duration = std::time::Duration::from_millis(2);

/// Why a secret's value is not available (yet): the next request that needs it tries again.
#[derive(Debug, thiserror::Error)]
pub enum InstanceSecretError {
    /// Secrets Manager did not give the secret.
    #[error(transparent)]
    Fetch(#[from] bourse_storage::secrets::SecretError),
    /// The secret was read but is not what it should be (e.g. not a key).
    #[error("the secret is not usable: {0}")]
    Unusable(Box<dyn std::error::Error + Send + Sync>),
}

type Make<T> = dyn Fn(Secret) -> Result<T, InstanceSecretError> + Send + Sync;

/// A value made from a secret (a signing key, an API key), fetched once per instance.
pub struct InstanceSecret<T> {
    cell: Arc<OnceCell<Arc<T>>>,
    aws: AwsClients,
    source: SecretSource,
    make: Arc<Make<T>>,
}

impl<T> Clone for InstanceSecret<T> {
    fn clone(&self) -> Self {
        InstanceSecret { cell: Arc::clone(&self.cell), aws: self.aws.clone(), source: self.source.clone(), make: Arc::clone(&self.make) }
    }
}

impl<T: Send + Sync + 'static> InstanceSecret<T> {
    /// Starts fetching `source` now (when called inside a runtime) and turns it into a `T` with
    /// `make` (which also checks it: a malformed key is reported, not kept).
    pub fn prefetch<E: std::error::Error + Send + Sync + 'static>(
        platform: &Platform,
        source: SecretSource,
        make: impl Fn(Secret) -> Result<T, E> + Send + Sync + 'static,
    ) -> Self {
        let make: Arc<Make<T>> = Arc::new(move |secret| make(secret).map_err(|e| InstanceSecretError::Unusable(Box::new(e))));
        let secret = InstanceSecret { cell: Arc::new(OnceCell::new()), aws: platform.aws.clone(), source, make };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let early = secret.clone();
            runtime.spawn(async move {
                // Let the runtime send its first request for work before spending CPU on this
                // one (signing, TLS): on one thread the fetch would otherwise run first and add
                // itself to the init time. A request that needs the secret sooner fetches it itself.
                tokio::time::sleep(PREFETCH_DELAY).await;
                let _ = early.get().await;
            });
        }
        secret
    }

    /// The value, fetching it if no fetch succeeded yet (concurrent callers share one fetch).
    pub async fn get(&self) -> Result<Arc<T>, InstanceSecretError> {
        let result = self
            .cell
            .get_or_try_init(|| async {
                let secret = bourse_storage::secrets::resolve(&self.aws, &self.source).await?;
                (self.make)(secret).map(Arc::new)
            })
            .await;
        if let Err(err) = &result {
            tracing::error!(error = %err, "a secret could not be read; the next request that needs it tries again");
        }
        result.cloned()
    }
}
