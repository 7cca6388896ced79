//! Secrets read from Secrets Manager once per instance, without lengthening init.
//!
//! The fetch starts during init, in the background, so its round trip overlaps the runtime's
//! wait for the first event instead of adding to the cold start; the first request that needs
//! the secret awaits the fetch already under way. A failed fetch is logged and retried by the
//! next request that needs the secret; a fetched one is kept for the life of the instance.

use crate::Platform;
use bourse_config::{Secret, SecretSource};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::OnceCell;

type Load<T> = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<T, String>> + Send>> + Send + Sync>;

/// A value made from a secret (a signing key, an API key), fetched once per instance.
pub struct InstanceSecret<T> {
    cell: Arc<OnceCell<Arc<T>>>,
    load: Load<T>,
}

impl<T> Clone for InstanceSecret<T> {
    fn clone(&self) -> Self {
        InstanceSecret { cell: Arc::clone(&self.cell), load: Arc::clone(&self.load) }
    }
}

impl<T: Send + Sync + 'static> InstanceSecret<T> {
    /// Starts fetching `source` now (when called inside a runtime) and turns it into a `T` with
    /// `make` (which also checks it: a malformed key is reported, not kept).
    pub fn prefetch(platform: &Platform, source: SecretSource, make: impl Fn(Secret) -> Result<T, String> + Send + Sync + 'static) -> Self {
        let aws = platform.aws.clone();
        let make = Arc::new(make);
        let load: Load<T> = Arc::new(move || {
            let (aws, source, make) = (aws.clone(), source.clone(), Arc::clone(&make));
            Box::pin(async move {
                let secret = bourse_storage::secrets::resolve(&aws, &source).await.map_err(|e| e.to_string())?;
                make(secret)
            })
        });
        let secret = InstanceSecret { cell: Arc::new(OnceCell::new()), load };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let early = secret.clone();
            runtime.spawn(async move {
                let _ = early.get().await;
            });
        }
        secret
    }

    /// The value, fetching it if no fetch succeeded yet (concurrent callers share one fetch).
    pub async fn get(&self) -> Result<Arc<T>, String> {
        let result = self.cell.get_or_try_init(|| async { (self.load)().await.map(Arc::new) }).await;
        if let Err(err) = &result {
            tracing::error!(error = %err, "a secret could not be read; the next request that needs it tries again");
        }
        result.cloned()
    }
}
