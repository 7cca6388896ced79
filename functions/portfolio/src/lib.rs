//! The portfolio function: portfolios, transactions, holdings, summary, history, analysis, CSV import and the signals journal.
//!
//! Routing is declared once in [`ROUTES`]; [`Portfolio`] answers each route.

use bourse_http::{ApiError, ApiRequest, Handler, HttpApp, Reply, Route};
use bourse_runtime::{Dependency, Platform};

pub const SERVICE: &str = "portfolio";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every route this function answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortfolioRoute {
    Health,
}

pub static ROUTES: &[Route<PortfolioRoute>] = &[Route::get("/v1/portfolio/health", PortfolioRoute::Health)];

/// What the health endpoint checks.
const DEPENDENCIES: &[Dependency] = &[Dependency::AppTable, Dependency::MarketTable, Dependency::EnrichQueue, Dependency::Cache];

pub struct Portfolio {
    platform: Platform,
}

impl Handler<PortfolioRoute> for Portfolio {
    async fn handle(&self, route: PortfolioRoute, _request: ApiRequest) -> Result<Reply, ApiError> {
        match route {
            PortfolioRoute::Health => self.platform.health(VERSION, DEPENDENCIES).await,
        }
    }
}

/// The function, ready to serve.
pub fn app(platform: Platform) -> HttpApp<PortfolioRoute, Portfolio> {
    HttpApp::new(platform.http_settings(VERSION), ROUTES, Portfolio { platform })
}
