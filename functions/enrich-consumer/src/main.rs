//! Lambda entry point: read config, build clients once, consume.

use enrich_consumer_fn::panic_guard::PanicGuard;
use enrich_consumer_fn::{Consumer, SERVICE};
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    bourse_telemetry::init_logging(SERVICE);
    let platform = bourse_runtime::Platform::from_env(SERVICE)?;
    let consumer = Arc::new(Consumer::new(platform).await?.with_panic_guard(PanicGuard::install_from_env()));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let consumer = Arc::clone(&consumer);
        async move { consumer.handle(event).await }
    }))
    .await
}
