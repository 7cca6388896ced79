//! Storage for Bourse: DynamoDB tables and the SQS enrichment queue.
//!
//! - [`clients`] builds the SDK clients once, from [`bourse_config::Config`], cheaply (no provider
//!   chains, no IMDS), and counts every request into the per-request telemetry counters.
//! - [`schema`] names the keys and indexes; `template.yaml` defines the same, and a test checks
//!   that the two agree.
//! - Access patterns live in their own modules, one named function each, documenting its key
//!   condition and request cost (see `docs/table-design.md`).

mod attr;
pub mod batch;
pub mod clients;
pub mod error;
pub mod health;
pub mod retry;
pub mod schema;
pub mod secrets;

pub use clients::{AwsClients, build_clients};
pub use error::StorageError;
pub mod accounts;
pub mod alerts;
pub mod assistant;
pub mod diagnostics;
pub mod erasure;
pub mod fx;
pub mod idempotency;
pub mod inbox;
pub mod jobs;
pub mod journal;
pub mod login_limits;
pub mod mail;
pub mod market;
pub mod portfolios;
pub mod query;
pub mod queue;
pub mod roles;
pub mod screens;
pub mod sessions;
pub mod usage;
pub mod watchlists;
pub mod webhooks;
