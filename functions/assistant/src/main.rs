//! Lambda entry point (behind the HTTP API): read config, build clients once, serve.
#![recursion_limit = "256"]

use assistant_fn::{SERVICE, app};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bourse_telemetry::init_logging(SERVICE);
    let platform = bourse_runtime::Platform::from_env(SERVICE)?;
    app(platform)?.run().await
}
