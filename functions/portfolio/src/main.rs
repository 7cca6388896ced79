//! Lambda entry point: read config, build clients once, serve.
// The request pipeline over every route is one deeply nested future; its layout needs more
// query depth than the default 128.
#![recursion_limit = "256"]

use portfolio_fn::{SERVICE, app};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bourse_telemetry::init_logging(SERVICE);
    let platform = bourse_runtime::Platform::from_env(SERVICE)?;
    app(platform)?.run().await
}
