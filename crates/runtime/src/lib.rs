//! The wiring every function shares, so that each `main` stays a few lines: read the
//! configuration, build the AWS clients and the cache once, and hand them to the handler.

pub mod access;
pub mod assistant;
pub mod idempotency;
pub mod jobs;
pub mod secrets;
pub mod universe;
pub mod webhooks;

use bourse_cache::Cache;
use bourse_config::{Config, ConfigError};
use bourse_domain::clock::{Clock, SystemClock};
use bourse_domain::random::{OsRandom, Random, RandomUnavailable};
use bourse_http::{ApiError, Cors, DependencyCheck, HttpSettings, Reply};
use bourse_storage::{AwsClients, StorageError, build_clients};
use std::sync::Arc;

/// Why a function could not start. Printed once; Lambda then reports an init error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] bourse_storage::secrets::SecretError),
    #[error(transparent)]
    Keys(#[from] bourse_tokens::KeyError),
    #[error("start-up failed: {0}")]
    Init(String),
}

/// Clients and settings built once per process.
#[derive(Clone, Debug)]
pub struct Platform {
    pub config: Arc<Config>,
    pub aws: AwsClients,
    /// `None` when no cache is configured: every read goes to DynamoDB.
    pub cache: Option<Arc<Cache>>,
    /// "Now" for everything that reads the time (token expiry, quotas, login limits, record
    /// times); tests inject a manual clock.
    pub clock: Arc<dyn Clock>,
    /// Where ids and tokens get their randomness (the OS generator).
    pub random: Arc<dyn Random>,
}

impl Platform {
    /// Reads the environment and builds clients; no network I/O.
    pub fn from_env(service: &'static str) -> Result<Self, StartupError> {
        Self::new(Config::from_env(service)?)
    }

    pub fn new(config: Config) -> Result<Self, StartupError> {
        let aws = build_clients(&config.aws, &config.ca_bundle)?;
        let cache = Cache::from_config(&config).map(Arc::new);
        Ok(Platform { config: Arc::new(config), aws, cache, clock: Arc::new(SystemClock), random: Arc::new(OsRandom) })
    }

    /// The same platform with another clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn http_settings(&self, version: &'static str) -> HttpSettings {
        HttpSettings {
            service: self.config.service,
            version,
            cors: Cors::new(self.config.cors_allowed_origins.clone()),
            max_body_bytes: self.config.max_body_bytes,
        }
    }

    /// The health answer for the dependencies a function uses.
    pub async fn health(&self, version: &str, dependencies: &[Dependency]) -> Result<Reply, ApiError> {
        let mut checks = Vec::with_capacity(dependencies.len());
        for dependency in dependencies {
            checks.push(self.check(*dependency)?);
        }
        bourse_http::health_reply(self.config.service, version, checks, self.config.health_timeout).await
    }

    fn check(&self, dependency: Dependency) -> Result<DependencyCheck, ApiError> {
        let aws = self.aws.clone();
        let startup = |e: ConfigError| ApiError::Internal(e.to_string());
        Ok(match dependency {
            Dependency::AppTable | Dependency::MarketTable => {
                let (name, table) = match dependency {
                    Dependency::AppTable => ("app_table", self.config.require_app_table().map_err(startup)?),
                    _ => ("market_table", self.config.require_market_table().map_err(startup)?),
                };
                let table = table.to_owned();
                DependencyCheck::critical(name, async move {
                    bourse_storage::health::probe_table(&aws, &table).await.map_err(|e| e.to_string())
                })
            }
            Dependency::EnrichQueue => {
                let queue = self.config.require_enrich_queue_url().map_err(startup)?.to_owned();
                DependencyCheck::critical("enrich_queue", async move {
                    bourse_storage::health::probe_queue(&aws, &queue).await.map_err(|e| e.to_string())
                })
            }
            Dependency::Cache => {
                let cache = self.cache.clone();
                DependencyCheck::optional("cache", async move {
                    match cache {
                        Some(cache) => cache.ping().await.map_err(|e| e.to_string()),
                        None => Err("no cache configured (CACHE_URL unset)".into()),
                    }
                })
            }
        })
    }
}

/// A dependency a health endpoint reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    AppTable,
    MarketTable,
    EnrichQueue,
    Cache,
}

/// A random generator that fails is a server fault (500, logged), never a predictable id.
pub fn random_problem(err: RandomUnavailable) -> ApiError {
    tracing::error!(error = %err, "no random bytes");
    ApiError::Internal(err.to_string())
}

/// The one mapping of storage failures to client answers: throttling and outages are 503 with
/// `Retry-After` (the client may retry), a lost race is 409, a corrupt item or a request the
/// store refuses as invalid is a bug (500, logged loudly; never "busy, retry"); an item over the
/// store's size limit is 422 with the reason.
pub fn storage_problem(err: StorageError) -> ApiError {
    match err {
        StorageError::Throttled { .. } | StorageError::Unavailable { .. } => {
            tracing::warn!(error = %err, "storage unavailable");
            ApiError::Unavailable("the data store is busy; retry shortly".into())
        }
        StorageError::Conflict(_) => ApiError::Conflict("the resource was changed by another request; retry".into()),
        StorageError::Corrupt { .. } => ApiError::Internal(err.to_string()),
        StorageError::Invalid { .. } => {
            tracing::error!(error = %err, "the data store refused a request as invalid");
            ApiError::Internal(err.to_string())
        }
        StorageError::TooLarge { .. } => {
            tracing::warn!(error = %err, "an item over the store's size limit");
            ApiError::Unprocessable {
                detail: "the request would store more than one item may hold (400 KB); send less at once".into(),
                errors: vec![],
            }
        }
    }
}
