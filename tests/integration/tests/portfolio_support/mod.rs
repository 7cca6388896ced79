//! A signed-in client of the portfolio function, shared by the portfolio and import tests.
#![allow(dead_code)] // each test crate uses its own part

use crate::auth_support::{self, AuthApp, app_with_clock, event, random_ip, signed_in, with_headers};
use bourse_domain::ManualClock;
use bourse_integration_tests::{json_body, platform};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use std::sync::Arc;

pub type PortfolioApp = bourse_http::HttpApp<portfolio_fn::PortfolioRoute, portfolio_fn::Portfolio>;

pub struct Client {
    pub app: PortfolioApp,
    pub token: String,
}

impl Client {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Response<Body> {
        self.call_with(method, path, "", body, &[]).await
    }

    pub async fn call_with(&self, method: &str, path: &str, query: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Response<Body> {
        let body = body.map(|b| b.to_string());
        let request = event(method, path, query, body.as_deref(), Some(&self.token), &random_ip());
        self.app.serve(with_headers(request, headers)).await
    }

    /// `POST …/import` of raw bytes with this `Content-Type`.
    pub async fn upload(&self, portfolio: &str, content_type: &str, file: &[u8]) -> Response<Body> {
        let mut request = event("POST", &format!("/v1/portfolios/{portfolio}/import"), "", None, Some(&self.token), &random_ip());
        request.headers_mut().insert("content-type", content_type.parse().unwrap());
        *request.body_mut() = Body::Binary(file.to_vec());
        self.app.serve(request).await
    }

    pub async fn holdings(&self, portfolio: &str) -> Vec<Value> {
        let response = self.call("GET", &format!("/v1/portfolios/{portfolio}/holdings"), None).await;
        assert_eq!(response.status(), 200);
        json_body(&response)["items"].as_array().unwrap().clone()
    }

    pub async fn holding(&self, portfolio: &str, symbol: &str) -> Value {
        self.holdings(portfolio).await.into_iter().find(|h| h["symbol"] == symbol).unwrap_or_else(|| panic!("no holding of {symbol}"))
    }

    /// How many transactions the portfolio lists, following every page.
    pub async fn transaction_count(&self, portfolio: &str) -> usize {
        let mut count = 0;
        let mut cursor: Option<String> = None;
        loop {
            let query = cursor.as_ref().map(|c| format!("limit=100&cursor={c}")).unwrap_or_else(|| "limit=100".into());
            let body = json_body(&self.call_with("GET", &format!("/v1/portfolios/{portfolio}/transactions"), &query, None, &[]).await);
            count += body["items"].as_array().unwrap().len();
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return count,
            }
        }
    }
}

pub async fn auth() -> AuthApp {
    app_with_clock(Arc::new(ManualClock::new(auth_support::now()))).await
}

pub async fn client(auth: &AuthApp) -> Client {
    client_on(auth, platform("portfolio")).await
}

/// A signed-in user's client of a portfolio function built on `platform` (e.g. with a queue of
/// the test's own).
#[allow(dead_code)] // not every test binary builds its own platform
pub async fn client_on(auth: &AuthApp, platform: bourse_runtime::Platform) -> Client {
    let (_, token, _) = signed_in(auth).await;
    Client { app: portfolio_fn::app(platform).unwrap(), token }
}

pub async fn new_portfolio(c: &Client) -> String {
    let created = c.call("POST", "/v1/portfolios", Some(json!({"name": "Core", "currency": "usd"}))).await;
    let body = json_body(&created);
    assert_eq!(created.status(), 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}
