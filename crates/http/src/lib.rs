//! HTTP conventions shared by every Bourse HTTP function. A function declares a route table and a
//! [`Handler`]; [`HttpApp`] does the rest (see `app.rs` for the order of the pipeline).

mod app;
pub mod auth;
pub mod cors;
pub mod cursor;
pub mod encoding;
pub mod event;
pub mod health;
mod page;
pub mod problem;
pub mod reply;
pub mod request;
pub mod router;
#[cfg(any(test, feature = "schema-check"))]
pub mod schema_check;

pub use app::{Handler, HttpApp, HttpSettings, StreamingBody};
pub use auth::{Access, AccessControl, Authenticator, Principal, RateLimit, UsageMeter};
pub use cors::Cors;
pub use health::{DependencyCheck, health_reply};
pub use page::{Links, Page};
pub use problem::{ApiError, FieldError};
pub use reply::{CachePolicy, EventStream, Reply};
pub use request::ApiRequest;
pub use router::Route;
