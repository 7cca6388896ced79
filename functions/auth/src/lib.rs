//! The auth function: accounts, tokens, profile and usage read-out.
//!
//! Routing is declared once in [`ROUTES`]; [`Auth`] answers each route.

use bourse_http::{ApiError, ApiRequest, Handler, HttpApp, Reply, Route};
use bourse_runtime::{Dependency, Platform};

pub const SERVICE: &str = "auth";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every route this function answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRoute {
    Health,
}

pub static ROUTES: &[Route<AuthRoute>] = &[Route::get("/v1/auth/health", AuthRoute::Health)];

/// What the health endpoint checks.
const DEPENDENCIES: &[Dependency] = &[Dependency::AppTable, Dependency::Cache];

pub struct Auth {
    platform: Platform,
}

impl Handler<AuthRoute> for Auth {
    async fn handle(&self, route: AuthRoute, _request: ApiRequest) -> Result<Reply, ApiError> {
        match route {
            AuthRoute::Health => self.platform.health(VERSION, DEPENDENCIES).await,
        }
    }
}

/// The function, ready to serve.
pub fn app(platform: Platform) -> HttpApp<AuthRoute, Auth> {
    HttpApp::new(platform.http_settings(VERSION), ROUTES, Auth { platform })
}
