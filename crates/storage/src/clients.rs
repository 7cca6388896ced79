//! SDK clients, built once per process in `main`.
//!
//! Cold start matters: `aws_config::load_from_env` walks provider chains (profile files, SSO, IMDS)
//! that a Lambda never needs. On Lambda the credentials are in the standard environment variables,
//! so the clients are configured directly from [`bourse_config::AwsConfig`] and those variables.
//! Every attempt is counted into the per-request telemetry, which is how tests assert request
//! budgets and the absence of Scan.
//!
//! All clients share one HTTP client. The SDK's default one reads the system's whole certificate
//! directory (hundreds of files) when it is built, once per client: that was most of our cold
//! start. Ours loads a single CA bundle file ([`CaBundle`]: `SSL_CERT_FILE`, or the system
//! bundle — the same one the cache's TLS trusts), and when every endpoint is plain `http://`
//! (the local stand-ins) it needs no TLS at all.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;
use bourse_config::{AwsConfig, CaBundle, ConfigError};
use std::time::Duration;

/// The AWS clients a function uses. Cheap to clone (the SDK clients are reference-counted).
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Read at init only (secrets are fetched once per instance).
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// The per-call SQS configuration of a ReceiveMessage that waits up to `wait_seconds` (≤ 20).
pub fn long_poll(wait_seconds: i32) -> aws_sdk_sqs::config::Builder {
    let wait = Duration::from_secs(u64::try_from(wait_seconds.clamp(0, 20)).unwrap_or(20));
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(wait + Duration::from_secs(5))
        .operation_timeout(wait + Duration::from_secs(15))
        .build();
    aws_sdk_sqs::config::Builder::default().timeout_config(timeouts)
}

/// Builds the clients. No I/O happens here: connections open on first use.
pub fn build_clients(config: &AwsConfig, ca_bundle: &CaBundle) -> Result<AwsClients, ConfigError> {
    build_clients_from(config, ca_bundle, |name| std::env::var(name).ok())
}

/// As [`build_clients`], with the credential variables read through `var` (tests).
pub fn build_clients_from(
    config: &AwsConfig,
    ca_bundle: &CaBundle,
    var: impl Fn(&str) -> Option<String>,
) -> Result<AwsClients, ConfigError> {
    let credentials = credentials(&var)?;
    let region = Region::new(config.region.clone());
    // Short timeouts: a request path never waits seconds on a dependency. DynamoDB answers in
    // single-digit milliseconds; three attempts with backoff absorb throttling bursts.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(2000))
        .operation_timeout(Duration::from_millis(5000))
        .build();
    let retry = RetryConfig::standard().with_max_attempts(3);
    let http_client = http_client(config, ca_bundle);

    let mut dynamodb = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(region.clone())
        .credentials_provider(credentials.clone())
        .http_client(http_client.clone())
        .timeout_config(timeouts.clone())
        .retry_config(retry.clone())
        .interceptor(CountRequests { service: Service::DynamoDb });
    if let Some(endpoint) = &config.dynamodb_endpoint {
        dynamodb = dynamodb.endpoint_url(endpoint.as_str());
    }
    // The functions only send to SQS (SendMessageBatch, ChangeMessageVisibility), which answers
    // in milliseconds: 3 s per attempt and 8 s per operation keep a stuck queue inside an HTTP
    // function's 10 s. A long poll (the local poller) raises them per call (`long_poll`).
    let sqs_timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(3000))
        .operation_timeout(Duration::from_millis(8000))
        .build();
    let mut sqs = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(region.clone())
        .credentials_provider(credentials.clone())
        .http_client(http_client.clone())
        .timeout_config(sqs_timeouts)
        .retry_config(retry.clone())
        .interceptor(CountRequests { service: Service::Sqs });
    if let Some(endpoint) = &config.sqs_endpoint {
        sqs = sqs.endpoint_url(endpoint.as_str());
    }
    let mut secrets = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(region)
        .credentials_provider(credentials)
        .http_client(http_client)
        .timeout_config(timeouts)
        .retry_config(retry);
    if let Some(endpoint) = &config.secrets_endpoint {
        secrets = secrets.endpoint_url(endpoint.as_str());
    }
    Ok(AwsClients {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
        secrets: aws_sdk_secretsmanager::Client::from_conf(secrets.build()),
    })
}

/// The SES v2 client of the function that sends e-mail (the consumer): built apart from
/// [`AwsClients`], so the functions that never send mail do not build it.
pub fn build_mail_client(config: &AwsConfig, ca_bundle: &CaBundle) -> Result<aws_sdk_sesv2::Client, ConfigError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(5000))
        .operation_timeout(Duration::from_millis(15000))
        .build();
    let mut ses = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(credentials(&|name: &str| std::env::var(name).ok())?)
        .http_client(http_client(config, ca_bundle))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(endpoint) = &config.ses_endpoint {
        ses = ses.endpoint_url(endpoint.as_str());
    }
    Ok(aws_sdk_sesv2::Client::from_conf(ses.build()))
}

/// The assistant's KMS client (its saved keys' envelopes): built apart from [`AwsClients`], so
/// only the assistant builds it. Every request is counted (`bourse_telemetry::record_kms`).
pub fn build_kms_client(config: &AwsConfig, ca_bundle: &CaBundle) -> Result<aws_sdk_kms::Client, ConfigError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(2000))
        .operation_timeout(Duration::from_millis(5000))
        .build();
    let mut kms = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(credentials(&|name: &str| std::env::var(name).ok())?)
        .http_client(http_client(config, ca_bundle))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .interceptor(CountRequests { service: Service::Kms });
    if let Some(endpoint) = &config.kms_endpoint {
        kms = kms.endpoint_url(endpoint.as_str());
    }
    Ok(aws_sdk_kms::Client::from_conf(kms.build()))
}

/// The assistant's Bedrock Runtime client. Model calls are slow (seconds), so its timeouts are
/// the caller's: each call is bounded by `ASSISTANT_TIMEOUT_MS`; no SDK retry (a retried model
/// call is paid twice, and the fallback answers instead).
pub fn build_bedrock_client(config: &AwsConfig, ca_bundle: &CaBundle) -> Result<aws_sdk_bedrockruntime::Client, ConfigError> {
    let timeouts = TimeoutConfig::builder().connect_timeout(Duration::from_millis(2000)).build();
    let mut bedrock = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(credentials(&|name: &str| std::env::var(name).ok())?)
        .http_client(http_client(config, ca_bundle))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::disabled());
    if let Some(endpoint) = &config.bedrock_endpoint {
        bedrock = bedrock.endpoint_url(endpoint.as_str());
    }
    Ok(aws_sdk_bedrockruntime::Client::from_conf(bedrock.build()))
}

/// One HTTP client for every SDK client; see the module docs for why.
fn http_client(config: &AwsConfig, ca_bundle: &CaBundle) -> SharedHttpClient {
    let endpoints = [&config.dynamodb_endpoint, &config.sqs_endpoint, &config.secrets_endpoint];
    // (The KMS and Bedrock endpoints of the assistant follow the same rule as these three: all
    // plain http locally, all https when deployed.)
    let all_plain_http = endpoints.iter().all(|e| e.as_ref().is_some_and(|url| url.as_str().starts_with("http://")));
    if all_plain_http {
        return aws_smithy_http_client::Builder::new().build_http();
    }
    let trust = match ca_bundle.pem() {
        Some(pem) => TrustStore::empty().with_native_roots(false).with_pem_certificate(pem.to_vec()),
        // No known bundle: let the platform's certificate discovery find one.
        None => TrustStore::default(),
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(err) => {
            tracing::warn!(error = %err, "custom trust store refused; using the platform's roots");
            builder.build_https()
        }
    }
}

/// Static credentials from the standard variables, which is what the Lambda runtime provides for the
/// lifetime of the execution environment.
fn credentials(var: &impl Fn(&str) -> Option<String>) -> Result<SharedCredentialsProvider, ConfigError> {
    let key = var("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty()).ok_or(ConfigError::Missing("AWS_ACCESS_KEY_ID"))?;
    let secret = var("AWS_SECRET_ACCESS_KEY").filter(|v| !v.is_empty()).ok_or(ConfigError::Missing("AWS_SECRET_ACCESS_KEY"))?;
    let token = var("AWS_SESSION_TOKEN").filter(|v| !v.is_empty());
    Ok(SharedCredentialsProvider::new(Credentials::new(key, secret, token, None, "environment")))
}

#[derive(Debug, Clone, Copy)]
enum Service {
    DynamoDb,
    Sqs,
    Kms,
}

/// Counts every transmitted attempt (retries included: each is a billed request).
#[derive(Debug)]
struct CountRequests {
    service: Service,
}

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(Metadata::name).unwrap_or("unknown");
        match self.service {
            Service::DynamoDb => bourse_telemetry::record_dynamodb(operation),
            Service::Sqs => bourse_telemetry::record_sqs(operation),
            Service::Kms => bourse_telemetry::record_kms(operation),
        }
        Ok(())
    }

    /// With capacity measuring on (benchmarks), ask DynamoDB to report consumed capacity.
    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !matches!(self.service, Service::DynamoDb) || !bourse_telemetry::capacity_measured() {
            return Ok(());
        }
        let request = context.request_mut();
        let Some(mut body) = request.body().bytes().and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok()) else {
            return Ok(());
        };
        let Some(fields) = body.as_object_mut() else { return Ok(()) };
        fields.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
        let bytes = serde_json::to_vec(&body)?;
        request.headers_mut().insert("content-length", bytes.len().to_string());
        *request.body_mut() = aws_smithy_types::body::SdkBody::from(bytes);
        Ok(())
    }

    /// Records the `ConsumedCapacity` a response reports (an object, or a list per table).
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !matches!(self.service, Service::DynamoDb) || !bourse_telemetry::capacity_measured() {
            return Ok(());
        }
        let Some(body) = context.response().body().bytes().and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok()) else {
            return Ok(());
        };
        let units = |c: &serde_json::Value| c["CapacityUnits"].as_f64().unwrap_or(0.0);
        let total = match &body["ConsumedCapacity"] {
            serde_json::Value::Array(list) => list.iter().map(units).sum(),
            single => units(single),
        };
        bourse_telemetry::record_dynamodb_capacity(total);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_credentials_are_named() {
        let aws = AwsConfig {
            region: "us-east-1".into(),
            dynamodb_endpoint: None,
            sqs_endpoint: None,
            secrets_endpoint: None,
            ses_endpoint: None,
            kms_endpoint: None,
            bedrock_endpoint: None,
        };
        let ca = CaBundle::default();
        let err = build_clients_from(&aws, &ca, |_| None).unwrap_err();
        assert_eq!(err, ConfigError::Missing("AWS_ACCESS_KEY_ID"));
        let err = build_clients_from(&aws, &ca, |n| (n == "AWS_ACCESS_KEY_ID").then(|| "k".to_string())).unwrap_err();
        assert_eq!(err, ConfigError::Missing("AWS_SECRET_ACCESS_KEY"));
    }
}
