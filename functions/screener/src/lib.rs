//! The screener function: stock universe, search, batch lookup, presets, custom screens, market signals and the jobs API.
//!
//! Routing is declared once in [`ROUTES`]; [`Screener`] answers each route.

use bourse_http::{ApiError, ApiRequest, Handler, HttpApp, Reply, Route};
use bourse_runtime::{Dependency, Platform};

pub const SERVICE: &str = "screener";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every route this function answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenerRoute {
    Health,
}

pub static ROUTES: &[Route<ScreenerRoute>] = &[Route::get("/v1/screener/health", ScreenerRoute::Health)];

/// What the health endpoint checks.
const DEPENDENCIES: &[Dependency] = &[Dependency::MarketTable, Dependency::AppTable, Dependency::EnrichQueue, Dependency::Cache];

pub struct Screener {
    platform: Platform,
}

impl Handler<ScreenerRoute> for Screener {
    async fn handle(&self, route: ScreenerRoute, _request: ApiRequest) -> Result<Reply, ApiError> {
        match route {
            ScreenerRoute::Health => self.platform.health(VERSION, DEPENDENCIES).await,
        }
    }
}

/// The function, ready to serve.
pub fn app(platform: Platform) -> HttpApp<ScreenerRoute, Screener> {
    HttpApp::new(platform.http_settings(VERSION), ROUTES, Screener { platform })
}
