//! Lambda entry point behind a function URL in `RESPONSE_STREAM` mode: the same routes, with
//! answers streamed as server-sent events while the model writes them.
#![recursion_limit = "256"]

use assistant_fn::{SERVICE, app};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bourse_telemetry::init_logging(SERVICE);
    let platform = bourse_runtime::Platform::from_env(SERVICE)?;
    app(platform)?.run_streaming().await
}
